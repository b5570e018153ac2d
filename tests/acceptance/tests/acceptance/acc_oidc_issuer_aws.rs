//! Acceptance tests of `irsa_oidc_issuer` for what real AWS does and moto
//! does not on its own (issue 9, review findings of aws-issuer.md), and for
//! `adopt_existing_oidc_provider` (issue 10). Run with the REAL Terraform CLI
//! on every version the harness finds, against moto with our patches; the
//! AWS behaviours are switched on per test through the opt-in patches in
//! tests/acceptance/sandbox/moto_patches (s3_eventual_consistency.py,
//! cloudfront_eventual_consistency.py, acm_new_certificate_not_found.py),
//! each of which names the AWS behaviour it models.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto +
//! boto3 venv, Terraform 1.0.3), `openssl`.

use std::time::Duration;

use irsa::aws::{AwsClients, AwsSettings, Endpoints};
use irsa_acceptance::edge::Edge;
use irsa_acceptance::fault_proxy::FaultProxy;
use irsa_acceptance::harness::{
    each_terraform, each_terraform_concurrently, normalize_ws, TerraformBinary, TfOutput, Workdir,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, MotoConfig, MOTO_ACCESS_KEY};
use serde_json::{json, Value};

/// Upper bound for one test body on one Terraform version.
const BODY_LIMIT: Duration = Duration::from_secs(15 * 60);

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

fn moto_with(env: &[(&str, &str)]) -> MotoConfig {
    MotoConfig {
        acm_validation_wait_secs: 0,
        extra_env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

async fn start(env: &[(&str, &str)]) -> Moto {
    match Moto::start_with(moto_with(env)).await {
        Ok(m) => m,
        Err(e) => panic!("starting moto: {e:#}"),
    }
}

/// A work dir for `hcl` with the key file written, AWS at `endpoint`.
fn workdir(
    tf: &TerraformBinary,
    moto: &Moto,
    endpoint: &str,
    hcl: &IssuerHcl,
    key: &TestKey,
) -> Workdir {
    let mut wd = Workdir::new(tf, &hcl.render());
    wd.envs(moto.env().into_iter().map(|(k, v)| {
        if k == "AWS_ENDPOINT_URL" {
            (k, endpoint.to_string())
        } else {
            (k, v)
        }
    }));
    IssuerHcl::write_keys(&wd, &[key]);
    wd
}

/// The output without Terraform's echo of configuration lines, so that a
/// match shows the provider said it.
fn said(out: &TfOutput, pattern: &str) -> bool {
    let re = regex::Regex::new(r"^[\s│]*\d+:\s").unwrap();
    let text = out
        .combined()
        .lines()
        .filter(|l| !re.is_match(l))
        .collect::<Vec<_>>()
        .join("\n");
    let want = regex::Regex::new(pattern).unwrap();
    want.is_match(&text) || want.is_match(&normalize_ws(&text))
}

fn s3_host(name: &str) -> String {
    format!("{}.s3.{REGION}.amazonaws.com", bucket_for(name))
}

fn provider_arn_for(host: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}")
}

/// The provider's AWS clients against moto, for calls boto3 cannot make
/// against a local endpoint (s3control puts the account in the host name).
async fn rust_clients(moto: &Moto) -> AwsClients {
    std::env::set_var("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", MOTO_ACCESS_KEY);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let e = Some(moto.endpoint.clone());
    AwsClients::build(&AwsSettings {
        region: Some(REGION.into()),
        s3_use_path_style: true,
        endpoints: Endpoints {
            s3: e.clone(),
            cloudfront: e.clone(),
            acm: e.clone(),
            route53: e.clone(),
            iam: e.clone(),
            sts: e,
        },
        ..AwsSettings::default()
    })
    .await
    .expect("clients")
}

fn buckets(snap: &Value) -> Vec<String> {
    snap["buckets"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Issue 10: adopt_existing_oidc_provider
// ---------------------------------------------------------------------------

/// An IAM OIDC provider for the issuer's URL made by someone else (another
/// module: other client IDs, a thumbprint, its own tags). Without the flag
/// the create refuses, naming the ARN and the flag, and makes nothing. With
/// `adopt_existing_oidc_provider = true` the issuer takes it over: the same
/// ARN, client IDs and tags as configured (the foreign tag removed), the
/// thumbprint left (none configured); the next plan is empty; destroy
/// deletes it with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_existing_oidc_provider_keeps_the_arn() {
    let moto = start(&[]).await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "adopt_existing_oidc_provider", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let name = "adopted";
            let host = s3_host(name);
            let arn = provider_arn_for(&host);
            let made = boto_ok(
                &ep,
                r#"out(client("iam", "us-east-1").create_open_id_connect_provider(Url="https://" + ARGS["host"], ClientIDList=["sts.amazonaws.com", "old-audience"], ThumbprintList=["a"*40], Tags=[{"Key": "owner", "Value": "old-module"}])["OpenIDConnectProviderArn"])"#,
                json!({"host": host}),
            )
            .await;
            assert_eq!(made, json!(arn), "[{label}] moto's ARN");

            // Default: refused before anything is made.
            let wd = workdir(&tf, moto, &ep, &IssuerHcl::s3(name), &key);
            let out = wd.run(&["apply", "-auto-approve", "-no-color"]).await;
            assert!(!out.success(), "[{label}] create over a foreign provider must fail:\n{out}");
            assert!(
                said(&out, "OIDC provider already exists")
                    && said(&out, &regex::escape(&arn))
                    && said(&out, "adopt_existing_oidc_provider = true"),
                "[{label}] the error must name the ARN and the flag:\n{out}"
            );
            let snap = snapshot(&ep).await;
            assert!(buckets(&snap).is_empty(), "[{label}] nothing may be made: {snap:#}");

            // Adopted.
            wd.set_config(
                &IssuerHcl::s3(name)
                    .with("adopt_existing_oidc_provider = true")
                    .with("tags = { team = \"platform\" }")
                    .render(),
            );
            ok(wd.apply().await);
            let v = values(&wd).await;
            assert_eq!(str_attr(&v, "oidc_provider_arn"), arn, "[{label}] same ARN");
            assert_eq!(v["adopt_existing_oidc_provider"], json!(true), "[{label}] {v:#}");
            let snap = snapshot(&ep).await;
            let providers = as_list(&snap["oidc_providers"]);
            assert_eq!(providers.len(), 1, "[{label}] one provider: {providers:#?}");
            let p = &providers[0];
            assert_eq!(p["arn"], json!(arn));
            assert_eq!(
                p["client_ids"],
                json!(["sts.amazonaws.com"]),
                "[{label}] client IDs follow the configuration"
            );
            assert_eq!(
                p["tags"],
                json!({"irsa:name": name, "team": "platform"}),
                "[{label}] tags follow the configuration, the foreign one removed"
            );
            assert_eq!(
                p["thumbprints"],
                json!(["a".repeat(40)]),
                "[{label}] thumbprints not configured: IAM's are left alone"
            );
            wd.plan_is_empty().await;

            // Changing the flag later changes nothing in AWS.
            wd.set_config(&IssuerHcl::s3(name).with("tags = { team = \"platform\" }").render());
            wd.plan_is_empty().await;

            // After adoption it is the issuer's: destroy deletes it.
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Finding 1: S3 hosting under Block Public Access, and the anonymous read
// ---------------------------------------------------------------------------

/// The account blocks public bucket policies (s3control): an S3-hosted
/// issuer is refused at plan and at apply, naming the setting, and nothing
/// is made. With the account's block removed the same configuration
/// applies. CloudFront hosting is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_hosting_is_refused_under_account_block_public_access() {
    let moto = start(&[]).await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "account_block_public_access", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let c = rust_clients(moto).await;
            c.s3control
                .put_public_access_block()
                .account_id(ACCOUNT_ID)
                .public_access_block_configuration(
                    aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(false)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .expect("account public access block");

            let wd = workdir(&tf, moto, &ep, &IssuerHcl::s3("blocked"), &key);
            let out = wd.run(&["plan", "-no-color"]).await;
            assert!(
                !out.success()
                    && said(&out, "The account blocks public S3 buckets")
                    && said(&out, "RestrictPublicBuckets on"),
                "[{label}] plan must refuse, naming the setting:\n{out}"
            );
            let out = wd.run(&["apply", "-auto-approve", "-no-color"]).await;
            assert!(
                !out.success()
                    && said(&out, "RestrictPublicBuckets on")
                    && said(&out, "Nothing was made"),
                "[{label}] apply must refuse:\n{out}"
            );
            let snap = snapshot(&ep).await;
            assert!(
                leftovers(&snap).is_empty(),
                "[{label}] nothing may be made: {:?}",
                leftovers(&snap)
            );

            c.s3control
                .delete_public_access_block()
                .account_id(ACCOUNT_ID)
                .send()
                .await
                .expect("delete the account's block");
            ok(wd.apply().await);
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

/// After publishing, an S3-hosted issuer's discovery document is fetched
/// anonymously over HTTPS (through the sandbox edge and its CONNECT proxy,
/// as the public internet would): the apply succeeds when the world reads it
/// (the edge saw the GET), and fails loudly, with no IAM OIDC provider made,
/// when the world gets 403 (what S3 answers under RestrictPublicBuckets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_hosting_checks_that_the_world_can_read_the_issuer() {
    let key = TestKey::fixture();
    // Mostly waiting (the provider rides out a world that cannot read yet):
    // each version with its own moto and edge, all at once.
    each_terraform_concurrently(|tf| {
        let key = key.clone();
        async move {
            let moto = &start(&[]).await;
            let edge = &Edge::start(&moto.endpoint, REGION).await.expect("edge");
            bounded(BODY_LIMIT, "world_read", async move {
                let label = tf.label();
                let ep = moto.endpoint.clone();
                moto.reset().await.expect("reset");
                edge.reset();
                for name in ["readable", "unreadable"] {
                    edge.route(&s3_host(name), &bucket_for(name));
                }

                let mut wd = workdir(&tf, moto, &ep, &IssuerHcl::s3("readable"), &key);
                wd.envs(edge.env());
                let out = ok(wd.apply().await);
                assert!(
                    !said(&out, "Could not check that the issuer is publicly readable"),
                    "[{label}] the edge answers, so no warning:\n{out}"
                );
                let host = s3_host("readable");
                assert!(
                    edge.requests()
                        .iter()
                        .any(|r| r.starts_with(&format!("{host} {DISCOVERY_PATH}"))
                            && r.ends_with("200")),
                    "[{label}] the discovery document must have been read anonymously: {:?}",
                    edge.requests()
                );
                ok(wd.destroy().await);

                edge.fail(DISCOVERY_PATH, 403);
                let mut wd = workdir(&tf, moto, &ep, &IssuerHcl::s3("unreadable"), &key);
                wd.envs(edge.env());
                let out = wd.run(&["apply", "-auto-approve", "-no-color"]).await;
                assert!(
                    !out.success()
                        && said(&out, "The issuer is not publicly readable")
                        && said(&out, "HTTP 403"),
                    "[{label}] a 403 to the world must fail the apply:\n{out}"
                );
                let snap = snapshot(&ep).await;
                assert!(
                    as_list(&snap["oidc_providers"]).is_empty(),
                    "[{label}] IAM must not trust an unreadable issuer: {snap:#}"
                );
                let state = wd.state_json().await;
                assert!(
                    resource_tainted(&state, ADDR),
                    "[{label}] the failed issuer is kept, tainted"
                );
                edge.reset();
                ok(wd.destroy().await);
                assert_nothing_left(&label, moto).await;
            })
            .await
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Findings 2, 10, 11: S3 eventual consistency
// ---------------------------------------------------------------------------

/// moto answers as S3 does while a new bucket settles: NoSuchBucket and
/// OperationAborted on the first calls after CreateBucket (finding 10),
/// AccessDenied on the public policy right after the access block was
/// relaxed (finding 2), and 404 for objects written while the first
/// enabling of versioning propagates (finding 11). The create succeeds, and
/// the refresh right after it finds both documents (they were written
/// before versioning), so the plan is empty; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_create_rides_out_bucket_eventual_consistency() {
    let moto = start(&[
        ("MOTO_S3_NEW_BUCKET_SETTLING_CALLS", "4"),
        ("MOTO_S3_POLICY_REFUSALS_AFTER_ACCESS_BLOCK", "2"),
        ("MOTO_S3_VERSIONING_PROPAGATION_SECS", "120"),
    ])
    .await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "s3_eventual_consistency", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let wd = workdir(&tf, moto, &ep, &IssuerHcl::s3("settling"), &key);
            ok(wd.apply().await);
            let v = values(&wd).await;
            assert!(!v["oidc_provider_arn"].is_null(), "[{label}] {v:#}");
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Finding 8: an interrupted create keeps the bucket it asked for
// ---------------------------------------------------------------------------

/// CreateBucket makes the bucket but answers after the create's deadline
/// (`timeouts { create = "4s" }`): the apply fails, yet the state keeps the
/// issuer (tainted) with its bucket, so destroy removes the bucket and
/// nothing is orphaned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_create_keeps_the_bucket_it_asked_for() {
    let moto = start(&[("MOTO_S3_CREATE_BUCKET_DELAY_SECS", "10")]).await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "interrupted_create", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let hcl = IssuerHcl::s3("interrupted").with("timeouts {\n    create = \"4s\"\n  }");
            let wd = workdir(&tf, moto, &ep, &hcl, &key);
            let out = wd.run(&["apply", "-auto-approve", "-no-color"]).await;
            assert!(
                !out.success(),
                "[{label}] the deadline must fail the apply:\n{out}"
            );
            // Let moto finish answering the CreateBucket.
            tokio::time::sleep(Duration::from_secs(8)).await;
            let snap = snapshot(&ep).await;
            assert_eq!(
                buckets(&snap),
                vec![bucket_for("interrupted")],
                "[{label}] moto made it"
            );
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the interrupted create must keep its state (the bucket):\n{out}"
            );
            let v = resource_values(&state, ADDR);
            assert_eq!(
                str_attr(&v, "bucket"),
                bucket_for("interrupted"),
                "[{label}] {v:#}"
            );
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Findings 3, 7, 12, 17, 19: CloudFront and ACM eventual consistency
// ---------------------------------------------------------------------------

fn is_iam(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.service.as_deref() == Some("iam")
}

fn is_get_distribution(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.service.as_deref() == Some("cloudfront")
        && r.method == "GET"
        && r.path().contains("/distribution/")
        && !r.path().ends_with("/config")
}

/// moto answers as CloudFront and ACM do around a new certificate and a
/// deleted distribution: DescribeCertificate finds the new certificate only
/// from the third call (finding 17), CreateDistribution refuses the newly
/// issued certificate twice with InvalidViewerCertificate (3), a disabled
/// and deployed distribution refuses deletion with DistributionNotDisabled
/// for 45 s (19), and a deleted distribution lingers (keeping its OAC in
/// use) for three more reads (7). The create succeeds and IAM's OIDC
/// provider is made only after the distribution reports Deployed (12); the
/// plan is empty; one destroy removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_create_and_destroy_ride_out_eventual_consistency() {
    let key = TestKey::fixture();
    // Mostly waiting (45 s of DistributionNotDisabled per destroy): each
    // version with its own moto, all at once.
    each_terraform_concurrently(|tf| {
        let key = key.clone();
        async move {
        let moto = &start(&[
            ("MOTO_ACM_NEW_CERTIFICATE_NOT_FOUND_CALLS", "2"),
            ("MOTO_CLOUDFRONT_NEW_CERTIFICATE_REFUSALS", "2"),
            ("MOTO_CLOUDFRONT_NOT_DISABLED_SECS", "45"),
            ("MOTO_CLOUDFRONT_DELETE_LINGER_POLLS", "3"),
        ])
        .await;
        bounded(BODY_LIMIT, "cloudfront_eventual_consistency", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let proxy = FaultProxy::start(&moto.endpoint).await.expect("proxy");
            let hcl = IssuerHcl::cloudfront("settling", "oidc.example.com", &zone);
            let wd = workdir(&tf, moto, &proxy.url(), &hcl, &key);
            let before = proxy.log().len();
            ok(wd.apply().await);
            let log: Vec<_> = proxy.log().into_iter().skip(before).collect();
            let last_iam = log.iter().rposition(is_iam).expect("IAM calls");
            let last_get = log
                .iter()
                .rposition(is_get_distribution)
                .expect("GetDistribution calls");
            assert!(
                last_get < last_iam,
                "[{label}] the OIDC provider must be created after the distribution is deployed:\n{}",
                log.iter().map(|r| r.line()).collect::<Vec<_>>().join("\n")
            );
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
        .await
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Finding 24: a zone that delegated the name to another zone
// ---------------------------------------------------------------------------

/// `example.com` delegates `prod.example.com` (an NS record set there), so
/// records for `oidc.prod.example.com` written into `example.com` are not
/// what the world resolves: plan refuses, naming the delegation and the
/// zone to use, and nothing is made. The same domain directly under the
/// apex (`oidc.example.com`) plans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_that_delegated_the_domain_is_refused_at_plan() {
    let moto = start(&[]).await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "delegated_zone", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            boto_ok(
                &ep,
                r#"client("route53", "us-east-1").change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "prod.example.com.", "Type": "NS", "TTL": 300, "ResourceRecords": [{"Value": "ns-1.elsewhere.example.net."}]}}]})
out(True)"#,
                json!({"zone": zone}),
            )
            .await;
            let hcl = IssuerHcl::cloudfront("delegated", "oidc.prod.example.com", &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &key);
            let out = wd.run(&["plan", "-no-color"]).await;
            assert!(
                !out.success()
                    && said(&out, "The domain is delegated to another zone")
                    && said(&out, "delegates prod.example.com")
                    && said(&out, "ns-1.elsewhere.example.net"),
                "[{label}] plan must refuse the delegated name:\n{out}"
            );
            wd.set_config(&IssuerHcl::cloudfront("delegated", "oidc.example.com", &zone).render());
            ok(wd.plan().await);
            let snap = snapshot(&ep).await;
            assert!(leftovers(&snap)
                    .iter()
                    .all(|l| l.contains("\"NS\"") && l.contains("prod.example.com")), "[{label}] {:?}", leftovers(&snap));
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Finding 20: CNAMEAlreadyExists on the SDK's retry of CreateDistribution
// ---------------------------------------------------------------------------

/// The first CreateDistribution makes the distribution but its answer is
/// lost (HTTP 500); the SDK's retry is answered CNAMEAlreadyExists (the
/// alias is now held by that very distribution). The create finds its
/// distribution by caller reference and succeeds with exactly one
/// distribution; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_distribution_answer_is_found_again() {
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let key = key.clone();
        bounded(BODY_LIMIT, "lost_create_distribution", async move {
            let label = tf.label();
            // moto's reset does not reset the patch's "first create" flag:
            // a fresh server per version keeps the fault at the first create.
            let moto = &start(&[("MOTO_CLOUDFRONT_LOSE_FIRST_CREATE", "1")]).await;
            let ep = moto.endpoint.clone();
            let zone = create_zone(&ep, "example.com").await;
            let hcl = IssuerHcl::cloudfront("lost", "oidc.example.com", &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &key);
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            let dists = as_list(&snap["distributions"]);
            assert_eq!(
                dists.len(),
                1,
                "[{label}] exactly one distribution: {dists:#?}"
            );
            let v = values(&wd).await;
            assert_eq!(
                v["distribution_id"], dists[0]["id"],
                "[{label}] the one recorded"
            );
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}
