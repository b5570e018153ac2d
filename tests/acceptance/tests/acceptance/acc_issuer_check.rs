//! Acceptance tests of `irsa_issuer_check` with the REAL Terraform CLI on
//! every version the harness finds, against the sandbox: moto (AWS), the
//! fake Kubernetes API server minting real signed tokens, and the HTTPS
//! edge serving the issuer's objects from moto's bucket under the issuer's
//! host name. The provider reaches the edge only through `HTTPS_PROXY` (a
//! CONNECT proxy on loopback) and `SSL_CERT_FILE` (the sandbox root CA), as
//! a user behind a proxy with a private CA would.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto).

use std::time::Duration;

use irsa_acceptance::edge::Edge;
use irsa_acceptance::fake_apiserver::{FakeApiServerConfig, KeyKind, TokenQuirks};
use irsa_acceptance::harness::{each_terraform, hcl_string, TfOutput, Workdir, REQUIRED_PROVIDERS};
use irsa_acceptance::issuer_support::{bounded, bucket_for, create_zone, ok, REGION};
use irsa_acceptance::sandbox::{MotoConfig, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(15 * 60);
const ZONE: &str = "h3.example.com";
const HOST: &str = "oidc.h3.example.com";
const ISSUER: &str = "https://oidc.h3.example.com";
/// The bucket the failure tests publish into (any name; the edge routes to it).
const BUCKET: &str = "preflight-docs";

const PROVIDER: &str = r#"provider "irsa" {
  region            = "eu-west-1"
  s3_use_path_style = true
}
"#;

/// Sandbox with the cluster's issuer = ISSUER (and `kind` of signing key),
/// the edge, and the service account default/my-app.
async fn world(kind: KeyKind) -> (Sandbox, Edge) {
    let sandbox = Sandbox::start_with(SandboxConfig {
        moto: Some(MotoConfig::default()),
        apiserver: FakeApiServerConfig {
            issuer: ISSUER.into(),
            signing_key: kind,
            ..Default::default()
        },
    })
    .await;
    let moto = sandbox.moto.as_ref().expect("moto");
    let edge = ok(Edge::start(&moto.endpoint, REGION).await);
    sandbox.create_service_account("default", "my-app").await;
    (sandbox, edge)
}

fn workdir(
    tf: &irsa_acceptance::harness::TerraformBinary,
    sandbox: &Sandbox,
    edge: &Edge,
    hcl: &str,
) -> Workdir {
    let mut wd = Workdir::new(tf, hcl);
    wd.envs(sandbox.env());
    wd.envs(edge.env());
    wd
}

/// No token the cluster minted may appear in anything Terraform printed.
fn assert_no_token(sandbox: &Sandbox, outputs: &[&TfOutput]) {
    let tokens = sandbox.apiserver.minted_tokens();
    assert!(!tokens.is_empty(), "the check minted no token");
    for out in outputs {
        for t in &tokens {
            // The signature part alone is enough to identify a token.
            let sig = t.rsplit('.').next().unwrap_or(t);
            assert!(
                !out.combined().contains(sig),
                "a minted token appears in `terraform {}` output",
                out.args.join(" ")
            );
        }
    }
}

fn check_by_name<'a>(checks: &'a Value, name: &str) -> &'a Value {
    checks
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {checks:#}"))
}

// ---------------------------------------------------------------------------
// The full stack: irsa_jwks -> irsa_oidc_issuer (moto) -> edge -> check
// ---------------------------------------------------------------------------

fn full_stack_hcl(zone_id: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
{PROVIDER}
data "irsa_jwks" "cluster" {{
  expected_issuer = "{ISSUER}"
}}

resource "irsa_oidc_issuer" "this" {{
  name            = "h3"
  domain          = "{HOST}"
  route53_zone_id = {zone}
  jwks            = data.irsa_jwks.cluster.json
}}

data "irsa_trust_policy" "app" {{
  oidc_provider_arn = irsa_oidc_issuer.this.oidc_provider_arn
  service_accounts  = ["default/my-app"]
}}

data "irsa_issuer_check" "this" {{
  issuer_url      = irsa_oidc_issuer.this.issuer_url
  expected_jwks   = data.irsa_jwks.cluster.json
  client_ids      = ["sts.amazonaws.com"]
  service_account = "default/my-app"
  depends_on      = [irsa_oidc_issuer.this]
}}

output "ok" {{
  value = data.irsa_issuer_check.this.ok
}}
output "checks" {{
  value = data.irsa_issuer_check.this.checks
}}
output "thumbprint" {{
  value = data.irsa_issuer_check.this.thumbprint
}}
output "policy" {{
  value = jsondecode(data.irsa_trust_policy.app.json)
}}
output "arn" {{
  value = irsa_oidc_issuer.this.oidc_provider_arn
}}
"#,
        zone = hcl_string(zone_id)
    )
}

async fn full_stack(kind: KeyKind, alg: &str) {
    each_terraform(|tf| async move {
        // A fresh world per Terraform version.
        let (sandbox, edge) = world(kind).await;
        let (sandbox, edge) = (&sandbox, &edge);
        // CloudFront for the issuer's domain serves the issuer's bucket.
        edge.route(HOST, &bucket_for("h3"));
        let moto = sandbox.moto.as_ref().expect("moto");
        {
            bounded(LIMIT, "full stack", async {
                let zone_id = create_zone(&moto.endpoint, ZONE).await;
                let mut wd = workdir(&tf, sandbox, edge, &full_stack_hcl(&zone_id));
                // Terraform's own log, with the provider's debug output in it.
                let log = wd.path().join("terraform-trace.log");
                wd.env("TF_LOG", "TRACE")
                    .env("TF_LOG_PATH", log.display().to_string());
                let apply = ok(wd.apply().await);
                let out = wd.output_json().await;
                let checks = &out["checks"]["value"];
                assert_eq!(out["ok"]["value"], true, "{checks:#}");
                let names: Vec<&str> = checks
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["name"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    names,
                    [
                        "discovery",
                        "issuer",
                        "jwks_uri",
                        "jwks",
                        "signing_algorithms",
                        "expected_jwks",
                        "token",
                        "thumbprint"
                    ]
                );
                let token = check_by_name(checks, "token");
                assert!(
                    token["detail"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("({alg})")),
                    "{token}"
                );
                assert!(check_by_name(checks, "jwks")["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(
                        "via proxy {}",
                        edge.proxy_url().trim_start_matches("http://")
                    )));
                // The thumbprint is the intermediate the edge sends.
                assert_eq!(out["thumbprint"]["value"], edge.expected_thumbprint());
                // The trust policy names the provider the issuer created.
                let arn = out["arn"]["value"].as_str().unwrap();
                assert_eq!(
                    out["policy"]["value"]["Statement"][0]["Principal"]["Federated"],
                    arn
                );
                assert_eq!(
                    out["policy"]["value"]["Statement"][0]["Condition"]["StringEquals"]
                        [format!("{HOST}:sub")],
                    "system:serviceaccount:default:my-app"
                );
                // Everything went through the proxy to the edge.
                assert!(edge
                    .proxy_log()
                    .iter()
                    .any(|l| l == &format!("CONNECT {HOST}:443 -> 200")));
                let second = wd.plan_is_empty().await;
                assert_no_token(sandbox, &[&apply, &second]);
                let log_text = std::fs::read_to_string(&log).expect("TF_LOG_PATH written");
                assert!(
                    log_text.contains("irsa_issuer_check"),
                    "the log has the provider's calls"
                );
                for t in sandbox.apiserver.minted_tokens() {
                    let sig = t.rsplit('.').next().unwrap_or(&t);
                    assert!(
                        !log_text.contains(sig),
                        "a minted token appears in TF_LOG output"
                    );
                }
                ok(wd.destroy().await);
            })
            .await
        }
    })
    .await;
}

/// An RSA cluster: every check passes, end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_stack_rsa_cluster_passes_every_check() {
    full_stack(KeyKind::Rsa2048, "RS256").await;
}

/// An ES256 cluster (kube-apiserver with an ECDSA P-256 signing key):
/// every check passes, end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_stack_es256_cluster_passes_every_check() {
    full_stack(KeyKind::EcP256, "ES256").await;
}

// ---------------------------------------------------------------------------
// Failures, each produced for real and caught with the right message
// ---------------------------------------------------------------------------

fn check_hcl(expected_jwks: bool, extra: &str) -> String {
    let jwks = if expected_jwks {
        "data \"irsa_jwks\" \"cluster\" {}\n"
    } else {
        ""
    };
    let expected = if expected_jwks {
        "  expected_jwks   = data.irsa_jwks.cluster.json\n"
    } else {
        ""
    };
    format!(
        r#"{REQUIRED_PROVIDERS}
{PROVIDER}
{jwks}
data "irsa_issuer_check" "this" {{
  issuer_url      = "{ISSUER}"
{expected}  client_ids      = ["sts.amazonaws.com"]
  service_account = "default/my-app"
{extra}}}

output "ok" {{
  value = data.irsa_issuer_check.this.ok
}}
output "checks" {{
  value = data.irsa_issuer_check.this.checks
}}
"#
    )
}

/// Publish the cluster's own documents (as served now) into the bucket.
async fn publish_cluster_documents(sandbox: &Sandbox, edge: &Edge) {
    let mut discovery = ok(sandbox.served_discovery().await);
    // The published issuer is ours, whatever the cluster says right now.
    discovery["issuer"] = json!(ISSUER);
    discovery["jwks_uri"] = json!(format!("{ISSUER}/openid/v1/jwks"));
    let jwks = ok(sandbox.served_jwks().await);
    ok(edge
        .publish(BUCKET, REGION, &discovery.to_string(), &jwks.to_string())
        .await);
}

async fn expect_failure(wd: &Workdir, sandbox: &Sandbox, pattern: &str) -> TfOutput {
    let out = wd.expect_error(&["plan"], pattern).await;
    out.assert_matches(r"Error: Issuer check failed");
    if !sandbox.apiserver.minted_tokens().is_empty() {
        assert_no_token(sandbox, &[&out]);
    }
    out
}

/// What the cluster gets wrong: a trailing slash in its issuer, a kid the
/// published JWKS lacks because a cache serves a stale copy, a token
/// audience other than the client ID, tokens that are expired when minted,
/// an EdDSA signing key. Each is produced in the fake cluster or the edge
/// and caught at plan with the message that says what to fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_side_failures_are_caught() {
    each_terraform(|tf| async move {
        // A fresh world per Terraform version: keys rotated here stay rotated.
        let (sandbox, edge) = world(KeyKind::Rsa2048).await;
        let (sandbox, edge) = (&sandbox, &edge);
        edge.route(HOST, BUCKET);
        {
            bounded(LIMIT, "cluster-side failures", async {
                publish_cluster_documents(sandbox, edge).await;
                let wd = workdir(&tf, sandbox, edge, &check_hcl(true, ""));
                // All good first (this also fills the edge's cache).
                let good = ok(wd.plan().await);
                good.assert_not_matches("Error");

                // 1. A trailing slash in the cluster's --service-account-issuer.
                sandbox.apiserver.set_issuer(format!("{ISSUER}/"));
                expect_failure(
                    &wd,
                    sandbox,
                    r#"token's issuer "https://oidc\.h3\.example\.com/" is not the expected issuer .*trailing slash.*--service-account-issuer=https://oidc\.h3\.example\.com "#,
                )
                .await;
                sandbox.apiserver.set_issuer(ISSUER.into());

                // 2. Wrong audience: the cluster puts another audience in tokens.
                sandbox.apiserver.set_token_quirks(TokenQuirks {
                    audience: Some("https://kubernetes.default.svc".into()),
                    ..Default::default()
                });
                expect_failure(
                    &wd,
                    sandbox,
                    r#"audience \["https://kubernetes\.default\.svc"\] does not contain "sts\.amazonaws\.com".*client_ids"#,
                )
                .await;

                // 3. Tokens that are expired when minted (the control plane's clock is 2 h behind).
                sandbox.apiserver.set_token_quirks(TokenQuirks {
                    backdate_secs: 7200,
                    ..Default::default()
                });
                expect_failure(&wd, sandbox, r"token expired at \d+ .*already expired.*clock").await;
                sandbox.apiserver.set_token_quirks(TokenQuirks::default());

                // 4. A stale cache: the cluster rotates, the bucket gets the new
                // key set, but the edge keeps serving the copy it cached.
                edge.freeze();
                let new_kid = sandbox.apiserver.rotate_key();
                publish_cluster_documents(sandbox, edge).await;
                let out = expect_failure(
                    &wd,
                    sandbox,
                    &format!(r#"expected kid\(s\) "{new_kid}" are not in the published JWKS.*invalidate the CDN cache"#),
                )
                .await;
                out.assert_matches(&format!(r#"no key with kid "{new_kid}" in the JWKS"#));
                // Once the cache is fresh, everything passes again.
                edge.reset();
                ok(wd.plan().await);

                // 5. An EdDSA signing key: published, and signing the tokens.
                sandbox.apiserver.rotate_key_kind(KeyKind::Ed25519);
                publish_cluster_documents(sandbox, edge).await;
                // irsa_jwks itself refuses the Ed25519 key, so no expected_jwks here.
                wd.set_config(&check_hcl(false, ""));
                let out = expect_failure(
                    &wd,
                    sandbox,
                    r"is an EdDSA key \(Ed25519\): STS refuses it",
                )
                .await;
                out.assert_matches(r"signs tokens with EdDSA, which STS refuses");
                out.assert_matches(r"--service-account-signing-key-file");
            })
            .await
        }
    })
    .await;
}

/// What the origin gets wrong: a document not readable (403, 404), a body
/// that is not JSON, an origin slower than STS's 5 s, and a certificate
/// that is not trusted without the CA in SSL_CERT_FILE. With
/// `fail_on_error = false` a failure only shows in `checks`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_side_failures_are_caught() {
    each_terraform(|tf| async move {
        let (sandbox, edge) = world(KeyKind::Rsa2048).await;
        let (sandbox, edge) = (&sandbox, &edge);
        edge.route(HOST, BUCKET);
        {
            bounded(LIMIT, "origin-side failures", async {
                publish_cluster_documents(sandbox, edge).await;
                let mut wd = workdir(&tf, sandbox, edge, &check_hcl(false, ""));
                ok(wd.plan().await);

                edge.fail("/openid/v1/jwks", 403);
                expect_failure(&wd, sandbox, r"/openid/v1/jwks answered HTTP 403 via proxy .*fetches it anonymously").await;
                edge.reset();

                edge.fail("/.well-known/openid-configuration", 404);
                expect_failure(&wd, sandbox, r"openid-configuration answered HTTP 404 via proxy .*apply irsa_oidc_issuer").await;
                edge.reset();

                edge.replace_body(
                    "/.well-known/openid-configuration",
                    "text/html",
                    b"<html><body>Welcome to nginx!</body></html>",
                );
                expect_failure(&wd, sandbox, r#"answered 200 \(text/html\) but the body is not JSON.*starts with "<html><body>Welcome to nginx!"#).await;
                edge.reset();

                edge.set_delay(Duration::from_millis(6000));
                expect_failure(&wd, sandbox, r"took 6\.\d\d s via proxy .*; STS allows 5\.00 s").await;
                edge.reset();

                // Without the sandbox CA, the edge's certificate is refused:
                // there is no switch that skips the check.
                wd.env_remove("SSL_CERT_FILE");
                expect_failure(&wd, sandbox, r"UnknownIssuer.*SSL_CERT_FILE").await;
                wd.envs(edge.env());

                // fail_on_error = false: the failure shows in checks only.
                edge.fail("/openid/v1/jwks", 404);
                wd.set_config(&check_hcl(false, "  fail_on_error   = false\n"));
                ok(wd.apply().await);
                let out = wd.output_json().await;
                assert_eq!(out["ok"]["value"], false);
                let jwks = check_by_name(&out["checks"]["value"], "jwks");
                assert_eq!(jwks["ok"], false);
                assert!(jwks["detail"].as_str().unwrap().contains("HTTP 404"), "{jwks}");
                assert_eq!(check_by_name(&out["checks"]["value"], "token")["ok"], false);
                edge.reset();
            })
            .await
        }
    })
    .await;
}
