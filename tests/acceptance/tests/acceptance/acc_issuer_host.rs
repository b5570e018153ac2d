//! Acceptance tests of `irsa_issuer_host` and of `irsa_oidc_issuer` with
//! `host` (issuers with a path, as EKS serves them), with the REAL
//! Terraform CLI on every version of the matrix, against moto behind the
//! fault proxy (every AWS call is seen, by service) and, for the token
//! test, the fake Kubernetes API server and the HTTPS edge.
//!
//! What each test checks is said at the test.

use std::time::Duration;

use irsa_acceptance::edge::Edge;
use irsa_acceptance::fake_apiserver::{FakeApiServerConfig, KeyKind};
use irsa_acceptance::fault_proxy::{FaultProxy, RequestInfo};
use irsa_acceptance::harness::{
    each_terraform, each_terraform_concurrently, hcl_string, TerraformBinary, TfOutput, Workdir,
    REQUIRED_PROVIDERS,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, MotoConfig, Sandbox, SandboxConfig};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(20 * 60);
const ZONE: &str = "platform.example.com";
const DOMAIN: &str = "oidc.platform.example.com";
const HOST: &str = "irsa_issuer_host.platform";

/// One issuer on the host: its resource name, `name`, optional `path`, and
/// which key file it publishes.
struct OnHost {
    name: &'static str,
    path: Option<&'static str>,
    key: usize,
}

/// A host (`hosting`: `None` for CloudFront) and `issuers` on it, with
/// their outputs.
fn hcl(zone_id: &str, hosting: Option<&str>, issuers: &[OnHost]) -> String {
    let mut s = format!("{REQUIRED_PROVIDERS}\n{PROVIDER_BLOCK}\n");
    s.push_str("resource \"irsa_issuer_host\" \"platform\" {\n  name = \"platform\"\n");
    match hosting {
        Some(h) => s.push_str(&format!("  hosting = {}\n", hcl_string(h))),
        None => s.push_str(&format!(
            "  domain          = \"{DOMAIN}\"\n  route53_zone_id = {}\n",
            hcl_string(zone_id)
        )),
    }
    s.push_str("}\n\n");
    for i in issuers {
        let local = i.name.replace('-', "_");
        s.push_str(&format!(
            "data \"irsa_jwks\" \"{local}\" {{\n  public_keys_pem = [file(\"${{path.module}}/key{}.pem\")]\n}}\n\n",
            i.key
        ));
        s.push_str(&format!(
            "resource \"irsa_oidc_issuer\" \"{local}\" {{\n  name = \"{}\"\n  host = irsa_issuer_host.platform.id\n  jwks = data.irsa_jwks.{local}.json\n",
            i.name
        ));
        if let Some(p) = i.path {
            s.push_str(&format!("  path = {}\n", hcl_string(p)));
        }
        s.push_str("}\n\n");
        for out in [
            "issuer_url",
            "jwks_uri",
            "oidc_provider_url",
            "oidc_provider_arn",
        ] {
            s.push_str(&format!(
                "output \"{local}_{out}\" {{\n  value = irsa_oidc_issuer.{local}.{out}\n}}\n"
            ));
        }
    }
    s.push_str("output \"host_url\" {\n  value = irsa_issuer_host.platform.url\n}\n");
    s
}

/// A cluster's own root module: one issuer on the host `platform`, by name.
fn cluster_hcl(name: &str, key: usize) -> String {
    format!(
        "{REQUIRED_PROVIDERS}\n{PROVIDER_BLOCK}\n\
         data \"irsa_jwks\" \"k\" {{\n  public_keys_pem = [file(\"${{path.module}}/key{key}.pem\")]\n}}\n\
         resource \"irsa_oidc_issuer\" \"this\" {{\n  name = \"{name}\"\n  host = \"platform\"\n  jwks = data.irsa_jwks.k.json\n}}\n\
         output \"issuer_url\" {{\n  value = irsa_oidc_issuer.this.issuer_url\n}}\n"
    )
}

fn workdir(
    tf: &TerraformBinary,
    proxy: &FaultProxy,
    moto: &Moto,
    config: &str,
    keys: &[TestKey],
) -> Workdir {
    let mut wd = Workdir::new(tf, config);
    wd.envs(moto.env().into_iter().map(|(k, v)| {
        if k == "AWS_ENDPOINT_URL" {
            (k, proxy.url())
        } else {
            (k, v)
        }
    }));
    for (i, k) in keys.iter().enumerate() {
        wd.write_file(&format!("key{i}.pem"), &k.pem);
    }
    wd
}

/// The writes among `calls` to CloudFront, ACM or Route 53 (a refresh of
/// the host in the same state reads them; reads are not counted).
fn site_writes(calls: &[RequestInfo]) -> Vec<String> {
    let read = |r: &RequestInfo| match r.operation() {
        Some(op) => ["Describe", "List", "Get"]
            .iter()
            .any(|p| op.starts_with(p)),
        None => r.method == "GET" || r.method == "HEAD",
    };
    calls
        .iter()
        .filter(|r| {
            (r.is_service("acm") || r.is_service("route53") || r.is_service("cloudfront"))
                && !read(r)
        })
        .map(RequestInfo::line)
        .collect()
}

fn since(proxy: &FaultProxy, seq: u64) -> Vec<RequestInfo> {
    proxy.log().into_iter().filter(|r| r.seq > seq).collect()
}

fn last_seq(proxy: &FaultProxy) -> u64 {
    proxy.log().last().map_or(0, |r| r.seq)
}

fn object_keys(snap: &Value, bucket: &str) -> Vec<String> {
    snap["buckets"][bucket]["objects"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn providers(snap: &Value) -> Vec<(String, Value)> {
    as_list(&snap["oidc_providers"])
        .into_iter()
        .map(|p| {
            (
                p["url"].as_str().unwrap_or_default().to_string(),
                p["tags"].clone(),
            )
        })
        .collect()
}

fn invalidated_paths(snap: &Value) -> Vec<String> {
    as_list(&snap["distributions"][0]["invalidations"])
        .iter()
        .flat_map(|i| as_list(&i["paths"]))
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

fn said(out: &TfOutput, pattern: &str) -> bool {
    out.matches(pattern)
}

/// CloudFront hosting, end to end on every Terraform version:
/// - a host and two issuers (the default path, and `team/prod-b`): outputs
///   and IAM OIDC providers carry the path, the documents are below it with
///   the issuer URL in the discovery document, the distribution caches no
///   403/404 (`ErrorCachingMinTTL` 0), one distribution, one certificate;
///   the plan after apply is empty;
/// - a third issuer added to the host from a cluster's own root module
///   (`host = "platform"`): no CloudFront, ACM or Route 53 write; its
///   refresh makes three requests, one per object it owns (its two
///   documents, its IAM OIDC provider);
/// - a second issuer on the same path is refused before it writes anything,
///   naming the first;
/// - a key rotation of one issuer invalidates only `/<its path>/*`;
/// - destroying one issuer leaves the host and the others' documents and
///   providers, and makes no CloudFront, ACM or Route 53 write;
/// - the host refuses to be destroyed while issuers are on it (one
///   `state rm`'d, one in the other root module), naming both and deleting
///   nothing; the first is imported back by its name with an empty plan
///   after; then everything is destroyed and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_host_with_path_issuers() {
    let keys = vec![
        TestKey::rsa(),
        TestKey::ec_p256(),
        TestKey::rsa(),
        TestKey::fixture(),
    ];
    each_terraform_concurrently(|tf| {
        let keys = keys.clone();
        async move {
            let moto = &start_moto().await;
            let proxy = &FaultProxy::start(&moto.endpoint).await.expect("proxy");
            bounded(LIMIT, "cloudfront host", async move {
                let label = tf.label();
                let ep = moto.endpoint.clone();
                let zone_id = create_zone(&ep, ZONE).await;
                let bucket = bucket_for("platform");
                let a = OnHost { name: "prod-a", path: None, key: 0 };
                let b = OnHost { name: "prod-b", path: Some("team/prod-b"), key: 1 };
                let wd = workdir(&tf, proxy, moto, &hcl(&zone_id, None, &[a, b]), &keys);
                ok(wd.apply().await);
                let out = wd.output_json().await;
                assert_eq!(out["host_url"]["value"], format!("https://{DOMAIN}"), "[{label}]");
                assert_eq!(out["prod_a_issuer_url"]["value"], format!("https://{DOMAIN}/prod-a"), "[{label}]");
                assert_eq!(out["prod_b_issuer_url"]["value"], format!("https://{DOMAIN}/team/prod-b"), "[{label}]");
                assert_eq!(out["prod_b_jwks_uri"]["value"], format!("https://{DOMAIN}/team/prod-b/openid/v1/jwks"));
                assert_eq!(out["prod_b_oidc_provider_url"]["value"], format!("{DOMAIN}/team/prod-b"));
                assert_eq!(
                    out["prod_a_oidc_provider_arn"]["value"],
                    format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{DOMAIN}/prod-a")
                );

                let snap = snapshot(&ep).await;
                assert_eq!(as_list(&snap["distributions"]).len(), 1, "[{label}] one distribution");
                assert_eq!(as_list(&snap["certificates"]).len(), 1, "[{label}] one certificate");
                let keys_in_bucket = object_keys(&snap, &bucket);
                for p in ["prod-a", "team/prod-b"] {
                    for k in [DISCOVERY_KEY, JWKS_KEY] {
                        assert!(keys_in_bucket.contains(&format!("{p}/{k}")), "[{label}] {p}/{k}: {keys_in_bucket:?}");
                    }
                }
                assert_eq!(keys_in_bucket.len(), 4, "[{label}] only the issuers' documents: {keys_in_bucket:?}");
                let disc: Value = serde_json::from_str(
                    snap["buckets"][&bucket]["objects"][format!("team/prod-b/{DISCOVERY_KEY}")]["body"].as_str().unwrap(),
                )
                .unwrap();
                assert_eq!(disc["issuer"], format!("https://{DOMAIN}/team/prod-b"));
                assert_eq!(disc["jwks_uri"], format!("https://{DOMAIN}/team/prod-b/openid/v1/jwks"));
                let urls: Vec<String> = providers(&snap).into_iter().map(|(u, _)| u).collect();
                assert_eq!(
                    sorted(&urls),
                    vec![format!("{DOMAIN}/prod-a"), format!("{DOMAIN}/team/prod-b")],
                    "[{label}]"
                );
                for (url, tags) in providers(&snap) {
                    assert_eq!(tags["irsa:host"], "platform", "[{label}] {url}");
                }
                let errors = &snap["distributions"][0]["config"]["CustomErrorResponses"];
                let items = as_list(&errors["Items"]);
                let codes: Vec<i64> = items.iter().filter_map(|e| e["ErrorCode"].as_i64()).collect();
                assert_eq!(sorted(&codes), vec![403, 404], "[{label}] {errors:#}");
                assert!(items.iter().all(|e| e["ErrorCachingMinTTL"] == 0), "[{label}] {errors:#}");
                wd.plan_is_empty().await;

                // A third cluster, in its own root module (as its team would
                // have it): no CloudFront, ACM or Route 53 write; its refresh
                // reads what it owns and nothing else: its two documents and
                // its IAM OIDC provider, one request each.
                let all = [
                    OnHost { name: "prod-a", path: None, key: 0 },
                    OnHost { name: "prod-b", path: Some("team/prod-b"), key: 1 },
                ];
                let cluster = workdir(&tf, proxy, moto, &cluster_hcl("prod-c", 2), &keys);
                let mark = last_seq(proxy);
                ok(cluster.apply().await);
                let writes = site_writes(&since(proxy, mark));
                assert!(writes.is_empty(), "[{label}] adding an issuer wrote to the host's site:\n{}", writes.join("\n"));
                assert_eq!(
                    cluster.output_value("issuer_url").await,
                    format!("https://{DOMAIN}/prod-c").as_str()
                );
                cluster.plan_is_empty().await;
                let mark = last_seq(proxy);
                ok(cluster.run_ok(&["plan", "-refresh-only"]).await);
                let reads: Vec<String> = since(proxy, mark).iter().map(RequestInfo::line).collect();
                let owned = |l: &String| {
                    l.contains("/prod-c/.well-known/openid-configuration")
                        || l.contains("/prod-c/openid/v1/jwks")
                        || l.contains("GetOpenIDConnectProvider")
                };
                assert!(reads.len() == 3 && reads.iter().all(owned), "[{label}] the refresh of an issuer on a host: {reads:#?}");

                // The same path again: refused at plan, naming the issuer there.
                let mut clash = hcl(&zone_id, None, &all);
                clash.push_str(
                    "resource \"irsa_oidc_issuer\" \"clash\" {\n  name = \"clash\"\n  host = irsa_issuer_host.platform.id\n  path = \"prod-c\"\n  jwks = data.irsa_jwks.prod_a.json\n}\n",
                );
                wd.set_config(&clash);
                let mark = last_seq(proxy);
                let out = wd.run(&["apply", "-auto-approve", "-no-color"]).await;
                assert!(!out.success() && said(&out, "Path already taken") && said(&out, "prod-c"), "[{label}] {out}");
                let puts: Vec<String> = since(proxy, mark)
                    .iter()
                    .filter(|r| r.method != "GET" && r.method != "HEAD" && r.is_service("s3"))
                    .map(RequestInfo::line)
                    .collect();
                assert!(puts.is_empty(), "[{label}] the refused issuer wrote: {puts:?}");

                // Rotation of prod-a: only /prod-a/* is invalidated.
                wd.set_config(&hcl(&zone_id, None, &all));
                wd.write_file("key0.pem", &keys[3].pem);
                let before = invalidated_paths(&snapshot(&ep).await).len();
                ok(wd.apply().await);
                let paths = invalidated_paths(&snapshot(&ep).await);
                assert_eq!(paths[before..].to_vec(), vec!["/prod-a/*".to_string()], "[{label}] {paths:?}");
                wd.plan_is_empty().await;

                // Destroy prod-b alone: the host and the others stay.
                wd.set_config(&hcl(&zone_id, None, &[OnHost { name: "prod-a", path: None, key: 0 }]));
                let mark = last_seq(proxy);
                ok(wd.apply().await);
                let writes = site_writes(&since(proxy, mark));
                assert!(writes.is_empty(), "[{label}] destroying an issuer wrote to the site:\n{}", writes.join("\n"));
                let snap = snapshot(&ep).await;
                let left = object_keys(&snap, &bucket);
                assert!(left.iter().all(|k| !k.starts_with("team/")), "[{label}] {left:?}");
                assert!(
                    !as_list(&snap["buckets"][&bucket]["versions"]).iter().any(|v| v["key"].as_str().is_some_and(|k| k.starts_with("team/"))),
                    "[{label}] every version of prod-b's documents is gone"
                );
                assert_eq!(left.len(), 4, "[{label}] prod-a's and prod-c's documents stay: {left:?}");
                let urls: Vec<String> = providers(&snap).into_iter().map(|(u, _)| u).collect();
                assert_eq!(sorted(&urls), vec![format!("{DOMAIN}/prod-a"), format!("{DOMAIN}/prod-c")]);
                assert_eq!(as_list(&snap["distributions"]).len(), 1);

                // The host refuses while prod-a is on it (no longer in state).
                ok(wd.run_ok(&["state", "rm", "irsa_oidc_issuer.prod_a"]).await);
                let out = wd.run(&["destroy", "-auto-approve", "-no-color"]).await;
                assert!(
                    !out.success()
                        && said(&out, "Issuers still on the host")
                        && said(&out, r#""prod-a" at /prod-a"#)
                        && said(&out, r#""prod-c" at /prod-c"#),
                    "[{label}] {out}"
                );
                let snap = snapshot(&ep).await;
                assert_eq!(as_list(&snap["distributions"]).len(), 1, "[{label}] nothing of the host was deleted");
                assert!(object_keys(&snap, &bucket).contains(&format!("prod-a/{JWKS_KEY}")));
                // Back: prod-a imported by its name; prod-c destroyed by its own module.
                wd.set_config(&hcl(&zone_id, None, &[OnHost { name: "prod-a", path: None, key: 0 }]));
                ok(wd.import("irsa_oidc_issuer.prod_a", "prod-a").await);
                ok(cluster.destroy().await);
                ok(wd.apply().await);
                wd.plan_is_empty().await;
                ok(wd.destroy().await);
                assert_nothing_left(&label, moto).await;
            })
            .await
        }
    })
    .await;
}

/// S3 hosting: the host's bucket is the site (`https://<bucket>.s3.<region>.amazonaws.com`);
/// its policy makes every issuer's two documents public and nothing else;
/// the host and the issuer are imported by name with an empty plan after;
/// an object the provider did not write refuses the host's destroy, naming
/// it; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_host_with_a_path_issuer() {
    let keys = vec![TestKey::fixture()];
    each_terraform(|tf| {
        let keys = keys.clone();
        async move {
            let moto = &start_moto().await;
            let proxy = &FaultProxy::start(&moto.endpoint).await.expect("proxy");
            bounded(LIMIT, "s3 host", async move {
                let label = tf.label();
                let ep = moto.endpoint.clone();
                let bucket = bucket_for("platform");
                let a = [OnHost {
                    name: "prod-a",
                    path: Some("eu/prod-a"),
                    key: 0,
                }];
                let wd = workdir(&tf, proxy, moto, &hcl("", Some("s3"), &a), &keys);
                ok(wd.apply().await);
                let site = format!("https://{bucket}.s3.{REGION}.amazonaws.com");
                assert_eq!(wd.output_value("host_url").await, site.as_str());
                assert_eq!(
                    wd.output_value("prod_a_issuer_url").await,
                    format!("{site}/eu/prod-a").as_str()
                );
                let snap = snapshot(&ep).await;
                let policy = &snap["buckets"][&bucket]["policy"];
                let public = &as_list(&policy["Statement"])[0];
                assert_eq!(
                    sorted(
                        &as_list(&public["Resource"])
                            .iter()
                            .map(|r| r.as_str().unwrap().to_string())
                            .collect::<Vec<_>>()
                    ),
                    vec![
                        format!("arn:aws:s3:::{bucket}/*/{DISCOVERY_KEY}"),
                        format!("arn:aws:s3:::{bucket}/*/{JWKS_KEY}")
                    ],
                    "[{label}] {policy:#}"
                );
                assert_eq!(snap["buckets"][&bucket]["tags"]["irsa:role"], "host");
                wd.plan_is_empty().await;

                // Import by name: no change to either resource (Terraform
                // still wants to write the outputs import does not).
                ok(wd
                    .run_ok(&["state", "rm", "irsa_oidc_issuer.prod_a", HOST])
                    .await);
                ok(wd.import("irsa_oidc_issuer.prod_a", "prod-a").await);
                ok(wd.import(HOST, "platform").await);
                let plan = ok(wd.plan().await);
                assert!(
                    !plan.matches(r"will be (created|updated|destroyed|replaced)|must be replaced"),
                    "[{label}] import must give the configuration's values:\n{plan}"
                );
                ok(wd.apply().await);
                wd.plan_is_empty().await;

                // An object the provider did not write refuses the host's
                // destroy (before the issuer's, which Terraform does first).
                boto_ok(
                    &ep,
                    "client('s3').put_object(Bucket=ARGS['b'], Key='notes.txt', Body=b'x')",
                    json!({"b": bucket}),
                )
                .await;
                let out = wd.run(&["destroy", "-auto-approve", "-no-color"]).await;
                assert!(
                    !out.success()
                        && said(&out, "Bucket holds objects this provider did not write")
                        && said(&out, "notes.txt"),
                    "[{label}] {out}"
                );
                boto_ok(
                    &ep,
                    r#"
s3 = client("s3")
v = s3.list_object_versions(Bucket=ARGS["b"], Prefix="notes.txt")
for o in v.get("Versions", []) + v.get("DeleteMarkers", []):
    s3.delete_object(Bucket=ARGS["b"], Key=o["Key"], VersionId=o["VersionId"])
"#,
                    json!({"b": bucket}),
                )
                .await;
                ok(wd.destroy().await);
                assert_nothing_left(&label, moto).await;
            })
            .await
        }
    })
    .await;
}

/// Bad input on a path issuer or a host is refused at plan, naming the
/// attribute, before any AWS call: `host` with the host's settings, bad
/// paths, `path` without `host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_host_input_is_refused_at_plan_without_aws_calls() {
    let proxy = FaultProxy::start(irsa_acceptance::sandbox::NO_AWS_ENDPOINT)
        .await
        .expect("proxy");
    let key = TestKey::fixture();
    let cases: &[(&str, &str, &str)] = &[
        (
            "host = \"platform\"\n  domain = \"oidc.example.com\"",
            "domain",
            "Conflicts with host",
        ),
        (
            "host = \"platform\"\n  hosting = \"s3\"",
            "hosting",
            "Conflicts with host",
        ),
        (
            "host = \"platform\"\n  price_class = \"PriceClass_All\"",
            "price_class",
            "Conflicts with host",
        ),
        (
            "host = \"platform\"\n  cache_ttl = { min = 0, default = 60, max = 60 }",
            "cache_ttl",
            "Conflicts with host",
        ),
        (
            "host = \"platform\"\n  route53_zone_id = \"Z0123\"",
            "route53_zone_id",
            "Conflicts with host",
        ),
        (
            "host = \"platform\"\n  path = \"/a\"",
            "path",
            "leading or trailing",
        ),
        (
            "host = \"platform\"\n  path = \"a/../b\"",
            "path",
            "are not path segments",
        ),
        (
            "host = \"platform\"\n  path = \"A\"",
            "path",
            "Invalid path",
        ),
        (
            "host = \"platform\"\n  path = \"a//b\"",
            "path",
            "Invalid path",
        ),
        (
            "host = \"platform\"\n  path = \"a.b\"",
            "path",
            "Invalid path",
        ),
        (
            "path = \"a\"\n  hosting = \"s3\"",
            "path",
            "Path without a host",
        ),
    ];
    each_terraform(|tf| {
        let proxy = &proxy;
        let key = key.clone();
        async move {
            for (body, attr, summary) in cases {
                let config = format!(
                    "{REQUIRED_PROVIDERS}\n{PROVIDER_BLOCK}\ndata \"irsa_jwks\" \"k\" {{\n  public_keys_pem = [file(\"${{path.module}}/key0.pem\")]\n}}\nresource \"irsa_oidc_issuer\" \"this\" {{\n  name = \"x\"\n  jwks = data.irsa_jwks.k.json\n  {body}\n}}\n"
                );
                let mut wd = Workdir::new(&tf, &config);
                wd.env("AWS_ENDPOINT_URL", proxy.url());
                wd.write_file("key0.pem", &key.pem);
                let before = proxy.requests();
                let out = wd.run(&["plan", "-no-color"]).await;
                assert!(!out.success(), "[{}] {body}: {out}", tf.label());
                assert!(out.matches(summary), "[{}] {body}: expected {summary:?}:\n{out}", tf.label());
                assert!(out.matches(&format!(r#"with irsa_oidc_issuer\.this,|{attr}"#)), "[{}] {out}", tf.label());
                assert_eq!(proxy.requests(), before, "[{}] {body}: no AWS call", tf.label());
            }
        }
    })
    .await;
}

/// A token minted by a cluster whose issuer has a path
/// (`--service-account-issuer=https://<host>/<path>`) verifies against what
/// the issuer published, as STS verifies it (`irsa_issuer_check`: the
/// discovery document at `<issuer>/.well-known/openid-configuration` names
/// the issuer byte for byte, the JWKS at its `jwks_uri` has the token's
/// key, `iss`/`aud`/`exp` as STS wants them), fetched over HTTPS from the
/// edge serving the host's bucket; the trust policy's condition keys are
/// `<host>/<path>:sub`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_a_path_issuer_verifies_as_sts_does() {
    each_terraform(|tf| async move {
        let issuer = format!("https://{DOMAIN}/clusters/prod-a");
        let sandbox = Sandbox::start_with(SandboxConfig {
            moto: Some(MotoConfig::default()),
            apiserver: FakeApiServerConfig {
                issuer: issuer.clone(),
                signing_key: KeyKind::EcP256,
                ..Default::default()
            },
        })
        .await;
        let moto = sandbox.moto.as_ref().expect("moto");
        let edge = ok(Edge::start(&moto.endpoint, REGION).await);
        edge.route(DOMAIN, &bucket_for("platform"));
        sandbox.create_service_account("default", "my-app").await;
        bounded(LIMIT, "token with a path", async {
            let zone_id = create_zone(&moto.endpoint, ZONE).await;
            let config = format!(
                r#"{REQUIRED_PROVIDERS}
{PROVIDER_BLOCK}

resource "irsa_issuer_host" "platform" {{
  name            = "platform"
  domain          = "{DOMAIN}"
  route53_zone_id = {zone}
}}

data "irsa_jwks" "cluster" {{
  expected_issuer = "{issuer}"
}}

resource "irsa_oidc_issuer" "prod_a" {{
  name = "prod-a"
  host = irsa_issuer_host.platform.id
  path = "clusters/prod-a"
  jwks = data.irsa_jwks.cluster.json
}}

data "irsa_trust_policy" "app" {{
  oidc_provider_arn = irsa_oidc_issuer.prod_a.oidc_provider_arn
  service_accounts  = ["default/my-app"]
}}

data "irsa_issuer_check" "this" {{
  issuer_url      = irsa_oidc_issuer.prod_a.issuer_url
  expected_jwks   = data.irsa_jwks.cluster.json
  client_ids      = ["sts.amazonaws.com"]
  service_account = "default/my-app"
  depends_on      = [irsa_oidc_issuer.prod_a]
}}

output "ok" {{
  value = data.irsa_issuer_check.this.ok
}}
output "checks" {{
  value = data.irsa_issuer_check.this.checks
}}
output "policy" {{
  value = jsondecode(data.irsa_trust_policy.app.json)
}}
"#,
                zone = hcl_string(&zone_id)
            );
            let mut wd = Workdir::new(&tf, &config);
            wd.envs(sandbox.env());
            wd.envs(edge.env());
            ok(wd.apply().await);
            let out = wd.output_json().await;
            let checks = &out["checks"]["value"];
            assert_eq!(out["ok"]["value"], true, "[{}] {checks:#}", tf.label());
            let token = as_list(checks)
                .into_iter()
                .find(|c| c["name"] == "token")
                .expect("a token check");
            assert_eq!(token["ok"], true, "{token}");
            let key = format!("{DOMAIN}/clusters/prod-a:sub");
            assert_eq!(
                out["policy"]["value"]["Statement"][0]["Condition"]["StringEquals"][&key],
                "system:serviceaccount:default:my-app"
            );
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
        })
        .await;
    })
    .await;
}

/// The drop-in module with `issuer_host`: the cluster's issuer (the fake
/// API server's `--service-account-issuer`) is the host's domain plus the
/// module's default path `<name>-<environment>`; the module's outputs carry
/// the path, the plan after apply is empty, destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drop_in_module_puts_its_issuer_on_a_host() {
    each_terraform(|tf| async move {
        let issuer = format!("https://{DOMAIN}/myapp-prod");
        let sandbox = Sandbox::start_with(SandboxConfig {
            moto: Some(MotoConfig::default()),
            apiserver: FakeApiServerConfig {
                issuer: issuer.clone(),
                ..Default::default()
            },
        })
        .await;
        let moto = sandbox.moto.as_ref().expect("moto");
        bounded(LIMIT, "module on a host", async {
            let zone_id = create_zone(&moto.endpoint, ZONE).await;
            let kubeconfig = sandbox
                .env()
                .into_iter()
                .find(|(k, _)| k == "KUBE_CONFIG_PATH")
                .map(|(_, v)| v)
                .expect("sandbox kubeconfig");
            let config = format!(
                r#"{REQUIRED_PROVIDERS}
{PROVIDER_BLOCK}
resource "irsa_issuer_host" "platform" {{
  name            = "platform"
  domain          = "{DOMAIN}"
  route53_zone_id = {zone}
}}

module "irsa" {{
  source = "./modules/kubernetes-irsa"

  name            = "myapp"
  environment     = "prod"
  oidc_domain     = "{DOMAIN}"
  route53_zone_id = {zone}
  kubeconfig_path = {kubeconfig}
  aws_region      = "{REGION}"
  webhook_enabled = false

  issuer_host = irsa_issuer_host.platform.id
}}

output "issuer_url" {{ value = module.irsa.issuer_url }}
output "jwks_uri" {{ value = module.irsa.jwks_uri }}
output "oidc_provider_url" {{ value = module.irsa.oidc_provider_url }}
"#,
                zone = hcl_string(&zone_id),
                kubeconfig = hcl_string(&kubeconfig),
            );
            let mut wd = Workdir::new(&tf, &config);
            let module =
                irsa_acceptance::harness::workspace_root().join("examples/modules/kubernetes-irsa");
            crate::acc_module::copy_dir(&module, &wd.path().join("modules/kubernetes-irsa"));
            wd.envs(sandbox.env());
            wd.env("AWS_S3_USE_PATH_STYLE", "true");
            // Modules only: with dev_overrides, `init` would look the provider up.
            ok(wd.run_ok(&["get"]).await);
            ok(wd.apply().await);
            let out = wd.output_json().await;
            assert_eq!(
                out["issuer_url"]["value"],
                issuer.as_str(),
                "[{}] {out:#}",
                tf.label()
            );
            assert_eq!(out["jwks_uri"]["value"], format!("{issuer}/openid/v1/jwks"));
            assert_eq!(
                out["oidc_provider_url"]["value"],
                format!("{DOMAIN}/myapp-prod")
            );
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert_nothing_left(&tf.label(), moto).await;
        })
        .await;
    })
    .await;
}

/// Drift and faults on a path issuer, the guarantees of a standalone one
/// (S3 hosting, every Terraform version):
/// - someone deletes the issuer's JWKS and drops `sts.amazonaws.com` from
///   its IAM OIDC provider, and deletes the host's bucket policy: the plan
///   shows both resources changing, apply puts back exactly what was
///   published, the plan after is empty;
/// - the AWS endpoint goes down at a new cluster's
///   CreateOpenIDConnectProvider (its path claimed, its documents written):
///   the apply fails naming the call, the state holds that issuer tainted;
///   endpoint back, apply replaces it (its documents removed and written
///   again, one IAM OIDC provider), the plan is empty, and destroying it
///   leaves the host and the first issuer as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_issuer_repairs_drift_and_survives_a_fault_mid_create() {
    let keys = vec![TestKey::fixture()];
    each_terraform(|tf| {
        let keys = keys.clone();
        async move {
            let moto = &start_moto().await;
            let proxy = &FaultProxy::start(&moto.endpoint).await.expect("proxy");
            bounded(LIMIT, "path issuer drift and faults", async move {
                let label = tf.label();
                let ep = moto.endpoint.clone();
                let bucket = bucket_for("platform");
                let a = [OnHost {
                    name: "prod-a",
                    path: None,
                    key: 0,
                }];
                let wd = workdir(&tf, proxy, moto, &hcl("", Some("s3"), &a), &keys);
                ok(wd.apply().await);
                let published = snapshot(&ep).await;
                let jwks_key = format!("prod-a/{JWKS_KEY}");
                let jwks = published["buckets"][&bucket]["objects"][&jwks_key].clone();
                assert!(jwks["body"].is_string(), "[{label}] {published:#}");

                // Drift of the issuer's parts and of the host's.
                boto_ok(
                    &ep,
                    r#"
s3 = client("s3")
s3.delete_object(Bucket=ARGS["b"], Key=ARGS["k"])
s3.delete_bucket_policy(Bucket=ARGS["b"])
iam = client("iam")
for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=p["Arn"], ClientID="sts.amazonaws.com")
"#,
                    json!({"b": bucket, "k": jwks_key}),
                )
                .await;
                let plan = ok(wd.plan().await);
                assert!(
                    plan.matches(r"irsa_oidc_issuer\.prod_a will be updated in-place")
                        && plan.matches(r"irsa_issuer_host\.platform will be updated in-place"),
                    "[{label}] the drift of both should show:\n{plan}"
                );
                ok(wd.apply().await);
                let repaired = snapshot(&ep).await;
                assert_eq!(
                    repaired["buckets"][&bucket]["objects"][&jwks_key], jwks,
                    "[{label}] the JWKS put back"
                );
                assert_eq!(
                    repaired["buckets"][&bucket]["policy"], published["buckets"][&bucket]["policy"],
                    "[{label}] the host's policy put back"
                );
                assert_eq!(
                    as_list(&repaired["oidc_providers"])[0]["client_ids"],
                    json!(["sts.amazonaws.com"]),
                    "[{label}] {repaired:#}"
                );
                wd.plan_is_empty().await;

                // A fault in a new cluster's create, after its path is claimed.
                proxy.fail_on(|r| r.operation() == Some("CreateOpenIDConnectProvider"));
                let cluster = workdir(&tf, proxy, moto, &cluster_hcl("prod-b", 0), &keys);
                let out = cluster.run(&["apply", "-auto-approve", "-no-color"]).await;
                assert!(
                    !out.success() && said(&out, "CreateOpenIDConnectProvider"),
                    "[{label}] the apply should fail naming the call:\n{out}\n{}",
                    proxy.log_text()
                );
                let addr = "irsa_oidc_issuer.this";
                let state = cluster.state_json().await;
                assert!(
                    in_state(&state, addr) && resource_tainted(&state, addr),
                    "[{label}] the half-made issuer is recorded, tainted:\n{state:#}"
                );
                proxy.set_down(false);
                let out = ok(cluster.apply().await);
                assert!(
                    out.matches(r"1 to add, 0 to change, 1 to destroy"),
                    "[{label}] the tainted issuer is replaced:\n{out}"
                );
                cluster.plan_is_empty().await;
                let both = snapshot(&ep).await;
                let urls: Vec<String> = providers(&both).into_iter().map(|(u, _)| u).collect();
                assert_eq!(urls.len(), 2, "[{label}] one IAM provider each: {urls:?}");
                assert!(
                    object_keys(&both, &bucket).contains(&format!("prod-b/{JWKS_KEY}")),
                    "[{label}] {both:#}"
                );
                ok(cluster.destroy().await);
                let after = snapshot(&ep).await;
                assert_eq!(
                    sorted(&object_keys(&after, &bucket)),
                    sorted(&object_keys(&repaired, &bucket)),
                    "[{label}] only prod-b's documents went"
                );
                assert_eq!(
                    providers(&after),
                    providers(&repaired),
                    "[{label}] prod-a's IAM provider untouched"
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
