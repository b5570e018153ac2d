//! Acceptance tests of what the `tfplugin` framework gives every resource,
//! run with the REAL Terraform CLI on every version the harness finds:
//!
//! - one duration grammar (Go's `time.ParseDuration`) on every duration
//!   attribute of every resource: `1.5h`, `1h30m`, `90s`, `300ms` accepted;
//!   `90x`, `-1h`, `1d` refused at plan, naming the attribute, with no AWS
//!   or cluster call (a counting proxy stands in for AWS, a counting stub
//!   for the API server);
//! - the loopback-proxy rule: an API server on 127.0.0.1 is reached
//!   directly when `HTTPS_PROXY` is set, as kubectl reaches it.
//!
//! Needs: `cargo build -p terraform-provider-irsa` and a Terraform.

use std::sync::Arc;

use irsa_acceptance::fault_proxy::FaultProxy;
use irsa_acceptance::harness::{each_terraform, hcl_string, TfOutput, Workdir, REQUIRED_PROVIDERS};
use irsa_acceptance::issuer_support::{IssuerHcl, TestKey};
use irsa_acceptance::sandbox::{free_port, k8s_status, Sandbox, StubApiServer, NO_AWS_ENDPOINT};

const GOOD: [&str; 4] = ["1.5h", "1h30m", "90s", "300ms"];
const BAD: [&str; 3] = ["90x", "-1h", "1d"];

/// Where a duration goes: a top-level attribute, or `timeouts { <op> }`.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Attr(&'static str),
    Timeout(&'static str),
}

impl Slot {
    fn hcl(self, value: &str) -> String {
        match self {
            // The renewal window must stay below the validity.
            Slot::Attr(a @ "certificate_validity") => {
                format!(
                    "{a} = {}\n  certificate_renew_before = \"1m\"",
                    hcl_string(value)
                )
            }
            Slot::Attr(a) => format!("{a} = {}", hcl_string(value)),
            Slot::Timeout(op) => format!("timeouts {{\n    {op} = {}\n  }}", hcl_string(value)),
        }
    }

    /// The name Terraform shows on the diagnostic's source line.
    fn shown(self) -> &'static str {
        match self {
            Slot::Attr(a) | Slot::Timeout(a) => a,
        }
    }
}

const ISSUER_SLOTS: [Slot; 4] = [
    Slot::Attr("key_retention"),
    Slot::Timeout("create"),
    Slot::Timeout("update"),
    Slot::Timeout("delete"),
];

const WEBHOOK_SLOTS: [Slot; 6] = [
    Slot::Attr("certificate_validity"),
    Slot::Attr("certificate_renew_before"),
    Slot::Attr("service_account_lookup_grace_period"),
    Slot::Timeout("create"),
    Slot::Timeout("update"),
    Slot::Timeout("delete"),
];

fn webhook_hcl(host: &str, line: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    host     = {host}
    token    = "t"
    insecure = true
  }}
}}

resource "irsa_webhook" "this" {{
  aws_region = "eu-west-1"
  {line}
}}
"#,
        host = hcl_string(host),
    )
}

/// The plan failed with an `Invalid duration` error at `slot`'s line.
fn refused_at(out: &TfOutput, slot: Slot, value: &str) -> Result<(), String> {
    let errors = out.diagnostics("Error");
    let at_line = errors.iter().any(|e| {
        e.contains("Invalid duration")
            && e.lines().any(|l| {
                l.contains(&format!("{} = \"{value}\"", slot.shown()))
                    || l.contains(&format!("{} = {}", slot.shown(), hcl_string(value)))
            })
    });
    if out.success() || !at_line {
        return Err(format!(
            "{slot:?} = {value:?}: no `Invalid duration` error at the attribute:\n{out}"
        ));
    }
    Ok(())
}

/// A webhook's certificate validity of less than 10 minutes is refused by
/// the attribute's own minimum, not by the grammar.
fn below_the_minimum(slot: Slot, value: &str) -> bool {
    matches!(slot, Slot::Attr("certificate_validity")) && matches!(value, "90s" | "300ms")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_duration_attribute_takes_go_durations_and_refuses_others_at_plan() {
    let key = TestKey::fixture();
    let aws = Arc::new(FaultProxy::start(NO_AWS_ENDPOINT).await.expect("proxy"));
    let cluster = Arc::new(
        StubApiServer::start(|_, _| (404, k8s_status(404, "NotFound", "not found")))
            .await
            .expect("stub"),
    );
    each_terraform(|tf| {
        let (key, aws, cluster) = (key.clone(), aws.clone(), cluster.clone());
        async move {
            let label = tf.label();
            let mut failures = Vec::new();
            let aws_env = vec![
                ("AWS_ENDPOINT_URL".to_string(), aws.url()),
                ("AWS_ACCESS_KEY_ID".into(), "test".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
                ("AWS_REGION".into(), "us-east-1".into()),
                ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ];
            let issuer = |slot: Slot, value: &str| {
                let hcl = IssuerHcl::s3("durations").with(&slot.hcl(value));
                let mut wd = Workdir::new(&tf, &hcl.render());
                wd.envs(aws_env.clone());
                IssuerHcl::write_keys(&wd, &[&key]);
                wd
            };
            for slot in ISSUER_SLOTS {
                for value in GOOD {
                    if let Err(e) = issuer(slot, value).validate().await {
                        failures.push(format!(
                            "irsa_oidc_issuer {slot:?} = {value:?} refused: {e:#}"
                        ));
                    }
                }
                for value in BAD {
                    let out = issuer(slot, value).run(&["plan"]).await;
                    if let Err(e) = refused_at(&out, slot, value) {
                        failures.push(format!("irsa_oidc_issuer {e}"));
                    }
                }
            }
            for slot in WEBHOOK_SLOTS {
                for value in GOOD {
                    let wd = Workdir::new(&tf, &webhook_hcl(&cluster.url(), &slot.hcl(value)));
                    let out = wd.run(&["plan"]).await;
                    let ok = if below_the_minimum(slot, value) {
                        !out.success() && out.combined().contains("Certificate validity too short")
                    } else {
                        out.success()
                    };
                    if !ok {
                        failures.push(format!("irsa_webhook {slot:?} = {value:?}:\n{out}"));
                    }
                }
                for value in BAD {
                    let wd = Workdir::new(&tf, &webhook_hcl(&cluster.url(), &slot.hcl(value)));
                    let out = wd.run(&["plan"]).await;
                    if let Err(e) = refused_at(&out, slot, value) {
                        failures.push(format!("irsa_webhook {e}"));
                    }
                }
            }
            assert_eq!(
                aws.requests(),
                0,
                "[{label}] AWS was called:\n{}",
                aws.log_text()
            );
            assert!(
                cluster.requests().is_empty(),
                "[{label}] the cluster was called: {:?}",
                cluster.requests()
            );
            assert!(
                failures.is_empty(),
                "[{label}] {} case(s) failed:\n{}",
                failures.len(),
                failures.join("\n\n")
            );
        }
    })
    .await;
}

/// kind, k3d or an SSH tunnel put the API server on 127.0.0.1. Go's
/// clients (kubectl among them) never send such a request through
/// `HTTPS_PROXY`; neither may the provider. The proxy here is a port
/// nothing listens on: any request sent to it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_api_server_is_reached_directly_despite_https_proxy() {
    let sandbox = Arc::new(Sandbox::start_kube_only().await);
    let dead_proxy = format!("http://127.0.0.1:{}", free_port().expect("port"));
    each_terraform(|tf| {
        let (sandbox, dead_proxy) = (sandbox.clone(), dead_proxy.clone());
        async move {
            let hcl = format!(
                r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    config_path = {kubeconfig}
  }}
}}

data "irsa_jwks" "cluster" {{}}

output "kids" {{
  value = [for k in data.irsa_jwks.cluster.keys : k.kid]
}}
"#,
                kubeconfig = hcl_string(&sandbox.kubeconfig_path().display().to_string()),
            );
            let mut wd = Workdir::new(&tf, &hcl);
            wd.env("HTTPS_PROXY", &dead_proxy)
                .env("https_proxy", &dead_proxy);
            wd.apply()
                .await
                .unwrap_or_else(|e| panic!("[{}] {e:#}", wd.label()));
            let kids = wd.output_value("kids").await;
            assert!(
                kids.as_array().is_some_and(|k| !k.is_empty()),
                "[{}] no keys read: {kids}",
                wd.label()
            );
        }
    })
    .await;
}

/// The `irsa_jwks` example reads `sa.pub` and `sa-next.pub` beside it: a
/// user who copies the example directory gets keys, not "no file exists".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_example_ships_the_public_keys_it_reads() {
    let dir = irsa_acceptance::harness::workspace_root().join("examples/data-sources/irsa_jwks");
    for f in ["sa.pub", "sa-next.pub"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(
            text.contains("BEGIN PUBLIC KEY") && !text.contains("PRIVATE"),
            "{f}"
        );
    }
    let dir = Arc::new(dir);
    each_terraform(|tf| {
        let dir = dir.clone();
        async move {
            let hcl = format!(
                r#"{REQUIRED_PROVIDERS}
data "irsa_jwks" "from_pem" {{
  public_keys_pem = [
    file({a}),
    file({b}),
  ]
}}

output "kids" {{
  value = [for k in data.irsa_jwks.from_pem.keys : k.kid]
}}

output "algorithms" {{
  value = data.irsa_jwks.from_pem.algorithms
}}
"#,
                a = hcl_string(&dir.join("sa.pub").display().to_string()),
                b = hcl_string(&dir.join("sa-next.pub").display().to_string()),
            );
            let wd = Workdir::new(&tf, &hcl);
            wd.apply()
                .await
                .unwrap_or_else(|e| panic!("[{}] {e:#}", wd.label()));
            assert_eq!(
                wd.output_value("kids").await.as_array().map(Vec::len),
                Some(2)
            );
            assert_eq!(
                wd.output_value("algorithms").await,
                serde_json::json!(["ES256", "RS256"])
            );
        }
    })
    .await;
}

/// An OIDC provider ARN in a partition without a default audience: the
/// error names `audience` and points at the data source; a partition that
/// does not exist is refused naming `oidc_provider_arn`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_policy_audience_and_partition_errors_name_their_attribute() {
    each_terraform(|tf| async move {
        let policy = |arn: &str| {
            format!(
                r#"{REQUIRED_PROVIDERS}
data "irsa_trust_policy" "this" {{
  oidc_provider_arn = {arn}
  service_accounts  = ["default/app"]
}}
"#,
                arn = hcl_string(arn)
            )
        };
        let wd = Workdir::new(
            &tf,
            &policy("arn:aws-iso:iam::123456789012:oidc-provider/oidc.example.com"),
        );
        let out = wd.expect_error(&["plan"], "Audience required").await;
        assert!(
            out.diagnostics("Error")
                .iter()
                .any(|e| e.contains("`audience`")
                    && e.contains("data \"irsa_trust_policy\" \"this\"")),
            "[{}] {out}",
            wd.label()
        );
        let wd = Workdir::new(
            &tf,
            &policy("arn:aws-china:iam::123456789012:oidc-provider/oidc.example.com"),
        );
        let out = wd.expect_error(&["plan"], "which does not exist").await;
        assert!(
            out.diagnostics("Error")
                .iter()
                .any(|e| e.contains("oidc_provider_arn =")),
            "[{}] the error must point at oidc_provider_arn: {out}",
            wd.label()
        );
    })
    .await;
}

/// As strict as the API server, no stricter: a request above its limit is
/// refused at plan (the API server would refuse the Deployment mid-apply,
/// after the objects before it are written), a 63-character name (a valid
/// Service name) plans; neither calls the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_rules_are_as_strict_as_the_api_server() {
    let cluster = Arc::new(
        StubApiServer::start(|_, _| (404, k8s_status(404, "NotFound", "not found")))
            .await
            .expect("stub"),
    );
    each_terraform(|tf| {
        let cluster = cluster.clone();
        async move {
            let over = r#"resources = {
    requests = { cpu = "50m", memory = "256Mi" }
    limits   = { memory = "128Mi" }
  }"#;
            let wd = Workdir::new(&tf, &webhook_hcl(&cluster.url(), over));
            let out = wd.expect_error(&["plan"], "Request above its limit").await;
            assert!(
                out.combined().contains("256Mi") && out.combined().contains("128Mi"),
                "[{}] {out}",
                wd.label()
            );
            let name = format!("w{}", "a".repeat(62));
            let wd = Workdir::new(
                &tf,
                &webhook_hcl(&cluster.url(), &format!("name = {}", hcl_string(&name))),
            );
            wd.plan().await.unwrap_or_else(|e| {
                panic!("[{}] a 63-character name must plan: {e:#}", wd.label())
            });
            assert!(cluster.requests().is_empty(), "{:?}", cluster.requests());
        }
    })
    .await;
}
