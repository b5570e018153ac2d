//! The drop-in module `examples/modules/kubernetes-irsa` and the migration
//! guide `docs/guides/migrating-from-the-kubernetes-irsa-module.md`, with the
//! REAL Terraform CLI on every version the harness finds, against the sandbox
//! (moto + the fake Kubernetes API server).
//!
//! * The module applied with the variables of the old module's README
//!   example "With Webhook Customization" (only the zone ID and the kubeconfig
//!   path are the sandbox's): outputs, AWS objects, the webhook, an empty
//!   second plan, and nothing left after destroy.
//! * The guide walked for a cluster that runs the old module: the old
//!   module's objects are built in moto with that module's names (its
//!   `main.tf`, v1.0.0); the new module refuses to apply while they exist;
//!   they are deleted as the old module's `terraform destroy -target` of step
//!   2 would (the hashicorp/aws provider cannot be installed here, so boto3
//!   does what it would do); the module is applied; the IAM OIDC provider's
//!   ARN never changed, and nothing of the old module is left.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto).

use std::path::Path;
use std::time::Duration;

use irsa_acceptance::fake_apiserver::FakeApiServerConfig;
use irsa_acceptance::harness::{
    each_terraform, hcl_string, workspace_root, TerraformBinary, Workdir,
};
use irsa_acceptance::issuer_support::{
    assert_nothing_left, boto_ok, bounded, create_zone, leftovers, snapshot, zone_records,
    ACCOUNT_ID,
};
use irsa_acceptance::sandbox::{MotoConfig, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(15 * 60);
const ZONE: &str = "example.com";
/// The old module's README example.
const NAME: &str = "myapp-k8s-infra";
const ENVIRONMENT: &str = "prod";
const DOMAIN: &str = "myapp-k8s-infra-oidc.example.com";
const AWS_REGION: &str = "eu-west-1";

async fn world() -> (Sandbox, String) {
    let sandbox = Sandbox::start_with(SandboxConfig {
        moto: Some(MotoConfig::default()),
        apiserver: FakeApiServerConfig {
            issuer: format!("https://{DOMAIN}"),
            ..Default::default()
        },
    })
    .await;
    let zone_id = create_zone(&sandbox.moto.as_ref().expect("moto").endpoint, ZONE).await;
    (sandbox, zone_id)
}

/// The module copied into the work dir (a local module source must be a
/// relative path), called as the old module's README example calls it.
fn workdir(tf: &TerraformBinary, sandbox: &Sandbox, zone_id: &str) -> Workdir {
    let kubeconfig = sandbox
        .env()
        .into_iter()
        .find(|(k, _)| k == "KUBE_CONFIG_PATH")
        .map(|(_, v)| v)
        .expect("sandbox kubeconfig");
    let hcl = format!(
        r#"
module "irsa" {{
  source = "./modules/kubernetes-irsa"

  name            = "{NAME}"
  environment     = "{ENVIRONMENT}"
  oidc_domain     = "{DOMAIN}"
  route53_zone_id = "{zone_id}"
  kubeconfig_path = {kubeconfig}
  aws_region      = "{AWS_REGION}"

  # Webhook configuration
  webhook_enabled = true
  webhook_node_selector = {{
    role = "management"
  }}
  webhook_tolerations = [{{
    key      = "role"
    operator = "Equal"
    value    = "management"
    effect   = "NoSchedule"
  }}]

  # CloudFront cache tuning
  cloudfront_price_class = "PriceClass_100"
  cache_default_ttl      = 3600
  cache_max_ttl          = 86400
  cache_min_ttl          = 60

  tags = {{
    Team    = "platform"
    Project = "infrastructure"
  }}
}}

output "oidc_provider_arn" {{ value = module.irsa.oidc_provider_arn }}
output "oidc_provider_url" {{ value = module.irsa.oidc_provider_url }}
output "issuer_url"        {{ value = module.irsa.issuer_url }}
output "jwks_uri"          {{ value = module.irsa.jwks_uri }}
"#,
        kubeconfig = hcl_string(&kubeconfig),
    );
    let mut wd = Workdir::new(tf, &hcl);
    let module = workspace_root().join("examples/modules/kubernetes-irsa");
    copy_dir(&module, &wd.path().join("modules/kubernetes-irsa"));
    wd.envs(sandbox.env());
    // The module configures its own provider block; the emulator's S3 needs
    // path-style addressing, which the environment can still ask for.
    wd.env("AWS_S3_USE_PATH_STYLE", "true");
    wd
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create module dir");
    for entry in std::fs::read_dir(from).expect("read module dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy module file");
        }
    }
}

fn provider_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{DOMAIN}")
}

fn objects_of_kind(sandbox: &Sandbox, kind: &str) -> Vec<Value> {
    sandbox
        .apiserver
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect()
}

/// The webhook objects the module installed (none after destroy).
fn webhook_deployments(sandbox: &Sandbox) -> Vec<Value> {
    objects_of_kind(sandbox, "Deployment")
        .into_iter()
        .filter(|d| {
            d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "terraform-provider-irsa"
        })
        .collect()
}

async fn check_outputs(wd: &Workdir) {
    let label = wd.label();
    let out = wd.output_json().await;
    assert_eq!(
        out["oidc_provider_arn"]["value"],
        provider_arn(),
        "[{label}] {out:#}"
    );
    assert_eq!(
        out["oidc_provider_url"]["value"], DOMAIN,
        "[{label}] {out:#}"
    );
    assert_eq!(
        out["issuer_url"]["value"],
        format!("https://{DOMAIN}"),
        "[{label}] {out:#}"
    );
    assert_eq!(
        out["jwks_uri"]["value"],
        format!("https://{DOMAIN}/openid/v1/jwks"),
        "[{label}] {out:#}"
    );
}

/// The old module's README example, applied, re-planned and destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_in_module_applies_with_the_old_readme_variables() {
    each_terraform(|tf| async move {
        bounded(LIMIT, "drop-in module", async {
            let (sandbox, zone_id) = world().await;
            let moto = sandbox.moto.as_ref().expect("moto");
            let wd = workdir(&tf, &sandbox, &zone_id);
            let label = wd.label();
            // Modules only: with dev_overrides, `init` would look the provider up.
            wd.run_ok(&["get"]).await.expect("terraform get");
            wd.apply().await.expect("apply");
            check_outputs(&wd).await;

            let snap = snapshot(&moto.endpoint).await;
            let bucket = format!("{NAME}-{ENVIRONMENT}-oidc-{ACCOUNT_ID}");
            let b = &snap["buckets"][&bucket];
            assert!(b.is_object(), "[{label}] no bucket {bucket}: {snap:#}");
            let dists = snap["distributions"].as_array().expect("distributions");
            assert_eq!(dists.len(), 1, "[{label}] {snap:#}");
            let config = &dists[0]["config"];
            assert_eq!(config["PriceClass"], "PriceClass_100", "[{label}]");
            assert_eq!(config["Aliases"]["Items"], json!([DOMAIN]), "[{label}]");
            assert_eq!(dists[0]["tags"]["Team"], "platform", "[{label}]");
            assert_eq!(dists[0]["tags"]["Project"], "infrastructure", "[{label}]");
            let providers = snap["oidc_providers"].as_array().expect("providers");
            assert_eq!(providers.len(), 1, "[{label}] {snap:#}");
            assert_eq!(providers[0]["client_ids"], json!(["sts.amazonaws.com"]));
            let types: Vec<String> = zone_records(&snap, &zone_id)
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["type"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or("")
                    )
                })
                .collect();
            for want in [format!("A {DOMAIN}."), format!("AAAA {DOMAIN}.")] {
                assert!(types.contains(&want), "[{label}] no {want} in {types:?}");
            }

            // The webhook, with the example's scheduling constraints.
            let deps = webhook_deployments(&sandbox);
            assert_eq!(deps.len(), 1, "[{label}] webhook deployments: {deps:#?}");
            let spec = &deps[0]["spec"]["template"]["spec"];
            assert_eq!(deps[0]["metadata"]["namespace"], "kube-system", "[{label}]");
            assert_eq!(
                spec["nodeSelector"],
                json!({"role": "management"}),
                "[{label}]"
            );
            let tol = spec["tolerations"].as_array().cloned().unwrap_or_default();
            assert!(
                tol.iter().any(|t| t["key"] == "role"
                    && t["operator"] == "Equal"
                    && t["value"] == "management"
                    && t["effect"] == "NoSchedule"),
                "[{label}] tolerations {tol:?}"
            );
            let args = serde_json::to_string(&spec["containers"][0]).unwrap_or_default();
            assert!(
                args.contains("--aws-default-region=eu-west-1"),
                "[{label}] {args}"
            );
            assert!(
                !objects_of_kind(&sandbox, "MutatingWebhookConfiguration").is_empty(),
                "[{label}] no MutatingWebhookConfiguration"
            );

            wd.plan_is_empty().await;
            wd.destroy().await.expect("destroy");
            assert_nothing_left(&label, moto).await;
            assert!(
                webhook_deployments(&sandbox).is_empty(),
                "[{label}] webhook left"
            );
            assert!(
                objects_of_kind(&sandbox, "MutatingWebhookConfiguration").is_empty(),
                "[{label}] MutatingWebhookConfiguration left"
            );
        })
        .await;
    })
    .await;
}

/// What KamranBiglari/kubernetes-irsa/aws v1.0.0 makes, with its names
/// (main.tf): bucket `<name>-oidc-discovery-<env>-s3` with its public access
/// block, policy and three objects; OAC `<name>-oidc-oac-<env>`; an ACM
/// certificate in us-east-1 validated through a CNAME (TTL 60); a
/// distribution with the alias; an A alias record; the IAM OIDC provider
/// with client ID `sts.amazonaws.com`, one thumbprint and its tags. (moto has
/// no cache policies, so the distribution uses the legacy TTL fields.)
const BUILD_OLD_MODULE: &str = r#"
import json, time, uuid
name, env, domain, zone = ARGS["name"], ARGS["env"], ARGS["domain"], ARGS["zone"]
issuer = "https://" + domain
bucket = f"{name}-oidc-discovery-{env}-s3"
s3 = client("s3")
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Name", "Value": "IRSA OIDC Discovery"}]})
s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
disc = {"issuer": issuer, "jwks_uri": issuer + "/keys.json", "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss"]}
s3.put_object(Bucket=bucket, Key=".well-known/openid-configuration", Body=json.dumps(disc), ContentType="application/json")
s3.put_object(Bucket=bucket, Key="keys.json", Body=ARGS["jwks"], ContentType="application/json")
s3.put_object(Bucket=bucket, Key="index.html", Body="<html></html>", ContentType="text/html")

cf = client("cloudfront", "us-east-1")
oac = cf.create_origin_access_control(OriginAccessControlConfig={
    "Name": f"{name}-oidc-oac-{env}", "Description": "OAC for OIDC Discovery bucket",
    "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]

acm = client("acm", "us-east-1")
cert_arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS",
                                   Tags=[{"Key": "Name", "Value": "IRSA OIDC Certificate"}])["CertificateArn"]
record = None
for _ in range(50):
    opts = acm.describe_certificate(CertificateArn=cert_arn)["Certificate"].get("DomainValidationOptions", [])
    if opts and opts[0].get("ResourceRecord"):
        record = opts[0]["ResourceRecord"]
        break
    time.sleep(0.1)
r53 = client("route53", "us-east-1")
changes = [{"Action": "UPSERT", "ResourceRecordSet": {
    "Name": record["Name"], "Type": record["Type"], "TTL": 60,
    "ResourceRecords": [{"Value": record["Value"]}]}}]
r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})

dist = cf.create_distribution(DistributionConfig={
    "CallerReference": str(uuid.uuid4()),
    "Comment": f"OIDC Discovery for {name}-{env}",
    "Enabled": True,
    "DefaultRootObject": "index.html",
    "PriceClass": "PriceClass_100",
    "Aliases": {"Quantity": 1, "Items": [domain]},
    "Origins": {"Quantity": 1, "Items": [{
        "Id": "S3-OIDC", "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
        "OriginAccessControlId": oac["Id"], "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "S3-OIDC", "ViewerProtocolPolicy": "https-only",
        "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                           "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
        "Compress": True, "MinTTL": 60, "DefaultTTL": 3600, "MaxTTL": 86400,
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    "ViewerCertificate": {"ACMCertificateArn": cert_arn, "SSLSupportMethod": "sni-only",
                          "MinimumProtocolVersion": "TLSv1.2_2021"},
    "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
})["Distribution"]
policy = {"Version": "2012-10-17", "Statement": [{
    "Sid": "AllowCloudFrontOAC", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
    "Condition": {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}}]}
s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
    "Action": "UPSERT", "ResourceRecordSet": {"Name": domain, "Type": "A", "AliasTarget": {
        "HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": dist["DomainName"], "EvaluateTargetHealth": False}}}]})

iam = client("iam", "us-east-1")
arn = iam.create_open_id_connect_provider(
    Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
    Tags=[{"Key": "Name", "Value": "Kubernetes OIDC Provider"}, {"Key": "Cluster", "Value": f"{name}-{env}"}],
)["OpenIDConnectProviderArn"]
out({"provider_arn": arn, "distribution_id": dist["Id"], "bucket": bucket, "oac_id": oac["Id"],
     "certificate_arn": cert_arn, "validation_record": record})
"#;

/// Step 2 of the guide, `terraform destroy -target=module.irsa` after the
/// IAM provider left the old state: everything else the old module made is
/// deleted, in the order the aws provider would (dependents first).
const DESTROY_OLD_MODULE_BUT_PROVIDER: &str = r#"
old = ARGS["old"]
zone, domain = ARGS["zone"], ARGS["domain"]
r53 = client("route53", "us-east-1")
for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
    if r["Name"] == domain + "." and r["Type"] == "A":
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r}]})
delete_distribution(old["distribution_id"])
cf = client("cloudfront", "us-east-1")
etag = cf.get_origin_access_control(Id=old["oac_id"])["ETag"]
cf.delete_origin_access_control(Id=old["oac_id"], IfMatch=etag)
rec = old["validation_record"]
r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {
    "Name": rec["Name"], "Type": rec["Type"], "TTL": 60, "ResourceRecords": [{"Value": rec["Value"]}]}}]})
client("acm", "us-east-1").delete_certificate(CertificateArn=old["certificate_arn"])
s3 = client("s3")
s3.delete_bucket_policy(Bucket=old["bucket"])
empty_bucket(old["bucket"])
s3.delete_bucket(Bucket=old["bucket"])
out(True)
"#;

fn provider_in<'a>(snap: &'a Value, arn: &str) -> Option<&'a Value> {
    snap["oidc_providers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["arn"] == arn))
}

/// The guide, walked against the old module's objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_from_the_old_module_keeps_the_provider_arn() {
    each_terraform(|tf| async move {
        bounded(LIMIT, "migration", async {
            let (sandbox, zone_id) = world().await;
            let moto = sandbox.moto.as_ref().expect("moto");
            let label = tf.label();
            let jwks = sandbox.apiserver.request("GET", "/openid/v1/jwks", None, b"").await;
            let jwks = String::from_utf8_lossy(&jwks.expect("jwks").body).into_owned();
            let old = boto_ok(
                &moto.endpoint,
                BUILD_OLD_MODULE,
                json!({"name": NAME, "env": ENVIRONMENT, "domain": DOMAIN, "zone": zone_id, "jwks": jwks}),
            )
            .await;
            let arn = old["provider_arn"].as_str().expect("arn").to_string();
            assert_eq!(arn, provider_arn(), "[{label}]");
            let before = snapshot(&moto.endpoint).await;
            let old_provider = provider_in(&before, &arn).expect("old provider").clone();

            // Switching before step 2: refused, naming the old alias record;
            // neither that record nor the IAM provider is touched.
            let wd = workdir(&tf, &sandbox, &zone_id);
            // Modules only: with dev_overrides, `init` would look the provider up.
            wd.run_ok(&["get"]).await.expect("terraform get");
            wd.expect_error(&["apply", "-auto-approve"], DOMAIN).await;
            let during = snapshot(&moto.endpoint).await;
            assert_eq!(
                provider_in(&during, &arn),
                Some(&old_provider),
                "[{label}] the IAM provider changed while the old module still ran"
            );
            let old_a: Vec<Value> = zone_records(&during, &zone_id)
                .into_iter()
                .filter(|r| r["type"] == "A")
                .collect();
            assert_eq!(old_a.len(), 1, "[{label}] {old_a:?}");
            let old_dist_domain = before["distributions"][0]["domain_name"].as_str().unwrap_or("");
            assert_eq!(
                old_a[0]["alias"]["dns_name"].as_str().map(|s| s.trim_end_matches('.')),
                Some(old_dist_domain),
                "[{label}] the old A record was changed"
            );

            // Step 2, then steps 3-4.
            boto_ok(
                &moto.endpoint,
                DESTROY_OLD_MODULE_BUT_PROVIDER,
                json!({"old": old, "zone": zone_id, "domain": DOMAIN}),
            )
            .await;
            wd.apply().await.expect("apply after the old module's destroy");
            check_outputs(&wd).await;

            // Step 5, and nothing of the old module is left.
            wd.plan_is_empty().await;
            let after = snapshot(&moto.endpoint).await;
            let adopted = provider_in(&after, &arn).expect("the provider ARN must not change");
            assert_eq!(adopted["client_ids"], json!(["sts.amazonaws.com"]), "[{label}]");
            assert_eq!(adopted["thumbprints"], old_provider["thumbprints"], "[{label}]");
            assert_eq!(adopted["tags"]["Team"], "platform", "[{label}] {adopted}");
            assert!(adopted["tags"].get("Cluster").is_none(), "[{label}] {adopted}");
            assert_eq!(after["oidc_providers"].as_array().map(Vec::len), Some(1));
            let left = leftovers(&after).join("\n");
            for old_name in [
                format!("bucket {NAME}-oidc-discovery-{ENVIRONMENT}-s3"),
                format!("{NAME}-oidc-oac-{ENVIRONMENT}"),
                format!("OIDC Discovery for {NAME}-{ENVIRONMENT}"),
                old["certificate_arn"].as_str().unwrap_or("?").to_string(),
            ] {
                assert!(!left.contains(&old_name), "[{label}] {old_name} is left:\n{left}");
            }

            // After adoption the provider is the module's: destroy removes it.
            wd.destroy().await.expect("destroy");
            assert_nothing_left(&label, moto).await;
        })
        .await;
    })
    .await;
}
