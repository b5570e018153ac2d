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
//!   module's objects are made by the real hashicorp/aws (from the image's
//!   filesystem mirror) with that module's names and settings
//!   (`tests/acceptance/fixtures/old-kubernetes-irsa`, our HCL written from
//!   what v1.0.0 makes); the new module refuses to apply while they exist;
//!   steps 1 and 2 run in the old configuration as the guide writes them
//!   (`terraform state rm` of the IAM provider, `terraform destroy
//!   -target=module.irsa`); the module is applied; the IAM OIDC provider's
//!   ARN never changed, and nothing of the old module is left. Without the
//!   mirror this test is reported SKIPPED.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto).

use std::path::Path;
use std::time::Duration;

use irsa_acceptance::fake_apiserver::FakeApiServerConfig;
use irsa_acceptance::harness::{
    each_terraform, each_terraform_concurrently, hcl_string, workspace_root, MirroredProvider,
    TerraformBinary, Workdir,
};
use irsa_acceptance::hashicorp_aws;
use irsa_acceptance::issuer_support::{
    assert_nothing_left, bounded, create_zone, leftovers, snapshot, zone_records, ACCOUNT_ID,
};
use irsa_acceptance::sandbox::{MotoConfig, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(15 * 60);
pub(crate) const ZONE: &str = "example.com";
/// The old module's README example.
const NAME: &str = "myapp-k8s-infra";
const ENVIRONMENT: &str = "prod";
pub(crate) const DOMAIN: &str = "myapp-k8s-infra-oidc.example.com";
pub(crate) const AWS_REGION: &str = "eu-west-1";

pub(crate) async fn world() -> (Sandbox, String) {
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

pub(crate) fn copy_dir(from: &Path, to: &Path) {
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

pub(crate) fn objects_of_kind(sandbox: &Sandbox, kind: &str) -> Vec<Value> {
    sandbox
        .apiserver
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .collect()
}

/// The webhook objects the module installed (none after destroy).
pub(crate) fn webhook_deployments(sandbox: &Sandbox) -> Vec<Value> {
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

/// The old module's objects, made by the real hashicorp/aws with the old
/// module's names and settings (`fixtures/old-kubernetes-irsa`, our HCL),
/// called as the README example calls the old module.
fn old_module_config(aws: &MirroredProvider, moto: &str, zone_id: &str, jwks: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{version}"
    }}
  }}
}}

{aws_block}
{aws_us_east_1}
module "irsa" {{
  source = "./modules/old-kubernetes-irsa"

  providers = {{
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }}

  name            = "{NAME}"
  environment     = "{ENVIRONMENT}"
  oidc_domain     = "{DOMAIN}"
  route53_zone_id = "{zone_id}"
  jwks            = {jwks}
  thumbprint      = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

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
output "distribution_id" {{ value = module.irsa.distribution_id }}
output "certificate_arn" {{ value = module.irsa.certificate_arn }}
output "bucket" {{ value = module.irsa.bucket }}
"#,
        version = aws.version,
        aws_block = hashicorp_aws::provider_block(moto, AWS_REGION, None),
        aws_us_east_1 = hashicorp_aws::provider_block(moto, "us-east-1", Some("us_east_1")),
        jwks = hcl_string(jwks),
    )
}

fn provider_in<'a>(snap: &'a Value, arn: &str) -> Option<&'a Value> {
    snap["oidc_providers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["arn"] == arn))
}

/// The guide, walked against the old module's objects, which the real
/// hashicorp/aws makes (SKIPPED without its mirror).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_from_the_old_module_keeps_the_provider_arn() {
    let Some(aws) = hashicorp_aws::mirror_or_skip() else {
        return;
    };
    // Each version has its own sandbox, and hashicorp/aws waits a minute
    // for every CloudFront deployment: the versions run at the same time.
    each_terraform_concurrently(|tf| {
        let aws = &aws;
        async move {
            bounded(LIMIT, "migration", async {
                let (sandbox, zone_id) = world().await;
                let moto = sandbox.moto.as_ref().expect("moto");
                let label = tf.label();
                let jwks = sandbox
                    .apiserver
                    .request("GET", "/openid/v1/jwks", None, b"")
                    .await;
                let jwks = String::from_utf8_lossy(&jwks.expect("jwks").body).into_owned();

                // The cluster as the old module left it.
                let old_wd = hashicorp_aws::workdir(
                    &tf,
                    &old_module_config(aws, &moto.endpoint, &zone_id, &jwks),
                    aws,
                    moto,
                );
                copy_dir(
                    &workspace_root().join("tests/acceptance/fixtures/old-kubernetes-irsa"),
                    &old_wd.path().join("modules/old-kubernetes-irsa"),
                );
                old_wd.init().await.expect("terraform init (old module)");
                old_wd.apply().await.expect("apply (old module)");
                let old = old_wd.output_json().await;
                let arn = old["oidc_provider_arn"]["value"]
                    .as_str()
                    .expect("arn")
                    .to_string();
                assert_eq!(arn, provider_arn(), "[{label}]");
                let certificate_arn = old["certificate_arn"]["value"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                let before = snapshot(&moto.endpoint).await;
                let old_provider = provider_in(&before, &arn).expect("old provider").clone();
                assert!(
                    before["buckets"][format!("{NAME}-oidc-discovery-{ENVIRONMENT}-s3")]
                        .is_object(),
                    "[{label}] the old module's bucket: {before:#}"
                );

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
                let old_dist_domain = before["distributions"][0]["domain_name"]
                    .as_str()
                    .unwrap_or("");
                assert_eq!(
                    old_a[0]["alias"]["dns_name"]
                        .as_str()
                        .map(|s| s.trim_end_matches('.')),
                    Some(old_dist_domain),
                    "[{label}] the old A record was changed"
                );

                // Steps 1 and 2, in the old configuration, as the guide writes them.
                old_wd
                    .run_ok(&[
                        "state",
                        "rm",
                        "module.irsa.aws_iam_openid_connect_provider.k8s",
                    ])
                    .await
                    .expect("step 1: terraform state rm");
                old_wd
                    .run_ok(&["destroy", "-auto-approve", "-target=module.irsa"])
                    .await
                    .expect("step 2: terraform destroy -target=module.irsa");
                let between = snapshot(&moto.endpoint).await;
                assert_eq!(
                    provider_in(&between, &arn),
                    Some(&old_provider),
                    "[{label}] step 2 must leave the IAM provider as it was"
                );
                // Steps 3-4.
                wd.apply()
                    .await
                    .expect("apply after the old module's destroy");
                check_outputs(&wd).await;

                // Step 5, and nothing of the old module is left.
                wd.plan_is_empty().await;
                let after = snapshot(&moto.endpoint).await;
                let adopted = provider_in(&after, &arn).expect("the provider ARN must not change");
                assert_eq!(
                    adopted["client_ids"],
                    json!(["sts.amazonaws.com"]),
                    "[{label}]"
                );
                assert_eq!(
                    adopted["thumbprints"], old_provider["thumbprints"],
                    "[{label}]"
                );
                assert_eq!(adopted["tags"]["Team"], "platform", "[{label}] {adopted}");
                assert!(
                    adopted["tags"].get("Cluster").is_none(),
                    "[{label}] {adopted}"
                );
                assert_eq!(after["oidc_providers"].as_array().map(Vec::len), Some(1));
                let left = leftovers(&after).join("\n");
                for old_name in [
                    format!("bucket {NAME}-oidc-discovery-{ENVIRONMENT}-s3"),
                    format!("{NAME}-oidc-oac-{ENVIRONMENT}"),
                    format!("OIDC Discovery for {NAME}-{ENVIRONMENT}"),
                    certificate_arn.clone(),
                ] {
                    assert!(
                        !left.contains(&old_name),
                        "[{label}] {old_name} is left:\n{left}"
                    );
                }

                // After adoption the provider is the module's: destroy removes it.
                wd.destroy().await.expect("destroy");
                assert_nothing_left(&label, moto).await;
            })
            .await;
        }
    })
    .await;
}
