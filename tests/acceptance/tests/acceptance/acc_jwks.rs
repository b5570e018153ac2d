//! Acceptance tests of the `irsa_jwks` data source, run with the REAL
//! Terraform CLI on every version the harness finds (see
//! `irsa_acceptance::harness::terraform_binaries`), against the in-process
//! fake Kubernetes API server (no moto needed here).
//!
//! Needs: `cargo build -p terraform-provider-irsa` (scripts/test does it),
//! a Terraform (scripts/setup installs 1.0.3), and `openssl` for the PEM tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use irsa_acceptance::fake_apiserver::{FakeApiServerConfig, JwksUri, DEFAULT_ISSUER};
use irsa_acceptance::harness::{each_terraform, hcl_string, TfOutput, Workdir, REQUIRED_PROVIDERS};
use irsa_acceptance::sandbox::{
    free_port, k8s_forbidden_path, Sandbox, SandboxConfig, StubApiServer, StubResponse,
};
use serde_json::Value;

// ---------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------

/// Outputs exposing every computed attribute of `data.irsa_jwks.<name>`.
fn outputs(name: &str) -> String {
    format!(
        r#"
output "id" {{
  value = data.irsa_jwks.{name}.id
}}
output "json" {{
  value = data.irsa_jwks.{name}.json
}}
output "keys" {{
  value = data.irsa_jwks.{name}.keys
}}
output "algorithms" {{
  value = data.irsa_jwks.{name}.algorithms
}}
output "issuer_is_null" {{
  value = data.irsa_jwks.{name}.issuer == null
}}
output "issuer" {{
  value = data.irsa_jwks.{name}.issuer == null ? "" : data.irsa_jwks.{name}.issuer
}}
output "jwks_uri_is_null" {{
  value = data.irsa_jwks.{name}.jwks_uri == null
}}
output "jwks_uri" {{
  value = data.irsa_jwks.{name}.jwks_uri == null ? "" : data.irsa_jwks.{name}.jwks_uri
}}
"#
    )
}

/// Provider reading the cluster through `kubernetes { config_path = ... }`.
fn cluster_config_path(kubeconfig: &Path, data_body: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    config_path = {path}
  }}
}}

data "irsa_jwks" "cluster" {{
{data_body}
}}
{outputs}"#,
        path = hcl_string(&kubeconfig.display().to_string()),
        outputs = outputs("cluster"),
    )
}

/// Provider with no settings: the cluster comes from `KUBE_CONFIG_PATH`.
fn cluster_config_env(data_body: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{}}

data "irsa_jwks" "cluster" {{
{data_body}
}}
{outputs}"#,
        outputs = outputs("cluster"),
    )
}

/// Provider with explicit `host` / `token` / `cluster_ca_certificate`
/// (the CA read from `ca.pem` in the work dir).
fn cluster_config_token(host: &str, token: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    host                   = {host}
    token                  = {token}
    cluster_ca_certificate = file("${{path.module}}/ca.pem")
  }}
}}

data "irsa_jwks" "cluster" {{}}
{outputs}"#,
        host = hcl_string(host),
        token = hcl_string(token),
        outputs = outputs("cluster"),
    )
}

/// Provider without any Kubernetes settings, JWKS computed from PEM files in
/// the work dir.
fn pem_config(files: &[&str]) -> String {
    let list = files
        .iter()
        .map(|f| format!("file(\"${{path.module}}/{f}\")"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{}}

data "irsa_jwks" "pem" {{
  public_keys_pem = [{list}]
}}
{outputs}"#,
        outputs = outputs("pem"),
    )
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

fn kid_of(key: &Value) -> String {
    key["kid"]
        .as_str()
        .unwrap_or_else(|| panic!("key without a string kid: {key}"))
        .to_string()
}

/// Asserts that the `json` output is the canonical compact JWKS of exactly
/// the keys in `served` (same key objects), sorted by kid. Returns its kids.
fn assert_canonical_jwks(label: &str, json: &Value, served: &Value) -> Vec<String> {
    let text = json
        .as_str()
        .unwrap_or_else(|| panic!("[{label}] output json is not a string: {json}"));
    let parsed: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("[{label}] output json is not JSON ({e}): {text}"));
    assert_eq!(
        text,
        serde_json::to_string(&parsed).unwrap(),
        "[{label}] json is not compact"
    );
    let obj = parsed
        .as_object()
        .unwrap_or_else(|| panic!("[{label}] json is not an object: {text}"));
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        vec!["keys"],
        "[{label}] a JWKS has exactly one member, keys: {text}"
    );
    let keys = parsed["keys"].as_array().expect("keys array");
    let kids: Vec<String> = keys.iter().map(kid_of).collect();
    let mut sorted = kids.clone();
    sorted.sort();
    assert_eq!(kids, sorted, "[{label}] keys are not sorted by kid: {text}");

    let served_by_kid: BTreeMap<String, &Value> = served["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("[{label}] served JWKS has no keys: {served}"))
        .iter()
        .map(|k| (kid_of(k), k))
        .collect();
    assert_eq!(
        kids.iter().cloned().collect::<BTreeSet<_>>(),
        served_by_kid.keys().cloned().collect::<BTreeSet<_>>(),
        "[{label}] kids differ from the served JWKS {served}"
    );
    assert_eq!(
        kids.len(),
        served_by_kid.len(),
        "[{label}] duplicate kids: {text}"
    );
    for key in keys {
        let kid = kid_of(key);
        assert_eq!(
            key, served_by_kid[&kid],
            "[{label}] key {kid} differs from the served one"
        );
    }
    kids
}

/// Asserts `keys` (list of {kid,kty,alg,use}) and `algorithms` agree with the
/// key objects in the JWKS `json` output.
fn assert_keys_and_algorithms(label: &str, outs: &Value) {
    let jwks: Value = serde_json::from_str(outs["json"]["value"].as_str().unwrap()).unwrap();
    let jwk_by_kid: BTreeMap<String, &Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (kid_of(k), k))
        .collect();
    let keys = outs["keys"]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("[{label}] output keys is not a list: {outs}"));
    assert_eq!(keys.len(), jwk_by_kid.len(), "[{label}] keys: {outs}");
    for k in keys {
        let kid = kid_of(k);
        let jwk = jwk_by_kid
            .get(&kid)
            .unwrap_or_else(|| panic!("[{label}] keys lists {kid}, not in json"));
        for field in ["kty", "alg", "use"] {
            assert_eq!(k[field], jwk[field], "[{label}] keys[{kid}].{field}");
        }
    }
    let algs: Vec<String> = outs["algorithms"]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("[{label}] output algorithms is not a list: {outs}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = jwk_by_kid
        .values()
        .map(|k| k["alg"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        algs.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "[{label}] algorithms"
    );
    assert_eq!(
        algs.len(),
        expected.len(),
        "[{label}] duplicate algorithms: {algs:?}"
    );
}

/// The output text with Terraform's echo of configuration source lines
/// (`  12:   expected_issuer = "..."`) removed, so that a match proves the
/// provider's own message says it.
fn without_source_lines(out: &TfOutput) -> String {
    let re = regex::Regex::new(r"^[\s│]*\d+:\s").unwrap();
    out.combined()
        .lines()
        .filter(|l| !re.is_match(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_says(label: &str, text: &str, pattern: &str) {
    let re = regex::Regex::new(pattern).unwrap();
    let norm = irsa_acceptance::harness::normalize_ws(text);
    assert!(
        re.is_match(text) || re.is_match(&norm),
        "[{label}] the error does not match /{pattern}/:\n{text}"
    );
}

// ---------------------------------------------------------------------------
// openssl helpers
// ---------------------------------------------------------------------------

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running openssl {args:?}: {e} (is openssl installed?)"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// kid as kube-apiserver computes it, computed by openssl:
/// base64url(SHA-256(DER SubjectPublicKeyInfo)).
fn openssl_kid(dir: &Path, pub_pem: &str) -> String {
    let der = format!("{pub_pem}.der");
    openssl(
        dir,
        &[
            "pkey", "-pubin", "-in", pub_pem, "-outform", "DER", "-out", &der,
        ],
    );
    let digest = openssl(dir, &["dgst", "-sha256", "-binary", &der]);
    assert_eq!(digest.len(), 32);
    URL_SAFE_NO_PAD.encode(digest)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    let hex: String = hex.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// RSA modulus of a public key PEM, base64url (JWK `n`).
fn openssl_rsa_n(dir: &Path, pub_pem: &str) -> String {
    let out = String::from_utf8(openssl(
        dir,
        &["rsa", "-pubin", "-in", pub_pem, "-noout", "-modulus"],
    ))
    .unwrap();
    let hex = out.trim().trim_start_matches("Modulus=");
    let mut bytes = hex_bytes(hex);
    while bytes.first() == Some(&0) {
        bytes.remove(0);
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// EC P-256 point of a public key PEM as JWK (`x`, `y`), via the DER
/// SubjectPublicKeyInfo (its last 65 bytes are the uncompressed point).
fn openssl_ec_xy(dir: &Path, pub_pem: &str) -> (String, String) {
    let der = openssl(dir, &["pkey", "-pubin", "-in", pub_pem, "-outform", "DER"]);
    let point = &der[der.len() - 65..];
    assert_eq!(point[0], 4, "uncompressed point expected");
    (
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65]),
    )
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// A fake API server (no moto) whose discovery document gives `jwks_uri`.
async fn kube_only_with(jwks_uri: JwksUri) -> Sandbox {
    Sandbox::start_with(SandboxConfig {
        moto: None,
        apiserver: FakeApiServerConfig {
            jwks_uri,
            ..Default::default()
        },
    })
    .await
}

/// (a) Cluster source through `kubernetes { config_path }`: the JWKS equals
/// what the cluster serves, canonical, sorted; issuer and jwks_uri come from
/// the discovery document; a second plan is empty. The cluster is a
/// kube-apiserver without `--service-account-jwks-uri`, whose `jwks_uri`
/// is its own address, not `<issuer>/openid/v1/jwks`: a provider that
/// derived it from the issuer fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_source_matches_served_jwks() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let sandbox = kube_only_with(JwksUri::ExternalAddress).await;
        let wd = Workdir::new(&tf, &cluster_config_path(sandbox.kubeconfig_path(), ""));
        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));

        let outs = wd.output_json().await;
        let served = sandbox.served_jwks().await.expect("served JWKS");
        let discovery = sandbox.served_discovery().await.expect("served discovery");
        let kids = assert_canonical_jwks(&label, &outs["json"]["value"], &served);
        assert_eq!(kids.len(), 1, "[{label}] one key expected: {kids:?}");
        assert_keys_and_algorithms(&label, &outs);
        assert_eq!(outs["issuer_is_null"]["value"], false, "[{label}]");
        assert_eq!(
            outs["issuer"]["value"], discovery["issuer"],
            "[{label}] issuer"
        );
        assert_eq!(outs["jwks_uri_is_null"]["value"], false, "[{label}]");
        assert_eq!(
            outs["jwks_uri"]["value"], discovery["jwks_uri"],
            "[{label}] jwks_uri"
        );
        // What the cluster serves is not what the issuer would give.
        assert_eq!(
            discovery["jwks_uri"],
            format!("{}/openid/v1/jwks", sandbox.k8s_url()),
            "[{label}] the fake serves its own address"
        );
        assert_ne!(
            outs["jwks_uri"]["value"],
            format!("{DEFAULT_ISSUER}/openid/v1/jwks"),
            "[{label}] jwks_uri derived from the issuer"
        );
        assert!(
            outs["id"]["value"].as_str().is_some_and(|s| !s.is_empty()),
            "[{label}] id is empty: {outs}"
        );

        wd.plan_is_empty().await;
    })
    .await;
}

/// (b) After a key rotation on the cluster (two keys published), a new
/// apply shows both keys. The cluster is found through `KUBE_CONFIG_PATH`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_source_after_rotation_shows_two_keys() {
    each_terraform(|tf| async move {
        let label = tf.label();
        // --service-account-jwks-uri set to somewhere else entirely.
        let jwks_uri = "https://keys.example.net/cluster-b/jwks.json";
        let sandbox = kube_only_with(JwksUri::Fixed(jwks_uri.into())).await;
        let mut wd = Workdir::new(&tf, &cluster_config_env(""));
        wd.envs(sandbox.env());
        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let before = wd.output_json().await;
        let served = sandbox.served_jwks().await.unwrap();
        let old_kids = assert_canonical_jwks(&label, &before["json"]["value"], &served);
        assert_eq!(old_kids.len(), 1, "[{label}]");
        assert_eq!(before["jwks_uri"]["value"], jwks_uri, "[{label}] jwks_uri");

        sandbox.apiserver.rotate_key();

        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let after = wd.output_json().await;
        let served = sandbox.served_jwks().await.unwrap();
        let kids = assert_canonical_jwks(&label, &after["json"]["value"], &served);
        assert_eq!(kids.len(), 2, "[{label}] two keys after rotation: {kids:?}");
        assert!(
            kids.contains(&old_kids[0]),
            "[{label}] old key kept: {kids:?}"
        );
        assert_keys_and_algorithms(&label, &after);
        assert_eq!(
            after["keys"]["value"].as_array().unwrap().len(),
            2,
            "[{label}]"
        );

        wd.plan_is_empty().await;
    })
    .await;
}

/// (c) `expected_issuer` differing from the cluster's issuer (only by a
/// trailing slash) fails, naming both values and `--service-account-issuer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_issuer_mismatch_fails() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let sandbox = Sandbox::start_kube_only().await;
        sandbox
            .apiserver
            .set_issuer("https://oidc.example.com/".to_string());
        let wd = Workdir::new(
            &tf,
            &cluster_config_path(
                sandbox.kubeconfig_path(),
                r#"  expected_issuer = "https://oidc.example.com""#,
            ),
        );
        let out = wd
            .expect_error(&["apply", "-auto-approve"], "--service-account-issuer")
            .await;
        let text = without_source_lines(&out);
        assert_says(&label, &text, r"https://oidc\.example\.com/");
        assert_says(&label, &text, r"https://oidc\.example\.com([^/]|$)");
        assert_says(&label, &text, "--service-account-issuer");

        // Once the cluster reports exactly the expected issuer, it passes.
        sandbox
            .apiserver
            .set_issuer("https://oidc.example.com".to_string());
        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let outs = wd.output_json().await;
        assert_eq!(
            outs["issuer"]["value"], "https://oidc.example.com",
            "[{label}]"
        );
    })
    .await;
}

/// (d) PEM source, RSA 2048 + EC P-256 made by openssl: kids are openssl's
/// SHA-256-of-DER base64url values, key material matches, no warning for the
/// ES256 key (STS accepts it), and no Kubernetes settings or cluster are needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_source_without_cluster() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let mut wd = Workdir::new(&tf, &pem_config(&["rsa.pub", "ec.pub"]));
        // No sandbox: no KUBE_CONFIG_PATH, no kubeconfig anywhere (HOME is empty).
        wd.env_remove("KUBE_CONFIG_PATH").env_remove("KUBECONFIG");
        let dir = wd.path().to_path_buf();
        openssl(&dir, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.key"]);
        openssl(&dir, &["pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub"]);
        openssl(&dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.key"]);
        openssl(&dir, &["pkey", "-in", "ec.key", "-pubout", "-out", "ec.pub"]);
        let rsa_kid = openssl_kid(&dir, "rsa.pub");
        let ec_kid = openssl_kid(&dir, "ec.pub");
        let rsa_n = openssl_rsa_n(&dir, "rsa.pub");
        let (ec_x, ec_y) = openssl_ec_xy(&dir, "ec.pub");

        let applied = wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let outs = wd.output_json().await;

        let jwks: Value = serde_json::from_str(outs["json"]["value"].as_str().unwrap()).unwrap();
        let mut expected_kids = vec![rsa_kid.clone(), ec_kid.clone()];
        expected_kids.sort();
        let expected = serde_json::json!({"keys": [
            {"use": "sig", "kty": "RSA", "kid": rsa_kid, "alg": "RS256", "n": rsa_n, "e": "AQAB"},
            {"use": "sig", "kty": "EC", "kid": ec_kid, "alg": "ES256", "crv": "P-256", "x": ec_x, "y": ec_y},
        ]});
        let kids = assert_canonical_jwks(&label, &outs["json"]["value"], &expected);
        assert_eq!(kids, expected_kids, "[{label}] kids: {jwks}");
        assert_keys_and_algorithms(&label, &outs);
        assert_eq!(outs["jwks_uri_is_null"]["value"], true, "[{label}] jwks_uri must be null for PEM");

        // STS verifies ES256 (since 2024-11-20): no warning about the EC key.
        let warnings = applied.diagnostics("Warning");
        assert!(
            !warnings
                .iter()
                .any(|w| w.contains(&ec_kid) || w.contains("ES256")),
            "[{label}] no warning expected for the ES256 key {ec_kid}, got {warnings:#?}\n{applied}"
        );

        wd.plan_is_empty().await;
    })
    .await;
}

/// (e) A wrong token fails with 401/Unauthorized; a user that authenticates
/// but lacks the RBAC grant for the OIDC endpoints fails with an error that
/// names what to grant.
///
/// The fake API server's `forbidden_token` is a service account, and
/// service accounts may read the OIDC endpoints (as in a real cluster, where
/// `system:service-account-issuer-discovery` is bound to
/// `system:serviceaccounts`); so the 403 comes from a stub API server that
/// answers like RBAC does for a user without that binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_auth_errors_are_explained() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let sandbox = Sandbox::start_kube_only().await;
        let wd = Workdir::new(
            &tf,
            &cluster_config_token(&sandbox.k8s_url(), "not-the-right-token"),
        );
        wd.write_file("ca.pem", sandbox.ca_pem());
        wd.expect_error(&["apply", "-auto-approve"], r"(?i)\b401\b|unauthorized")
            .await;

        // The right token works with the same settings.
        wd.set_config(&cluster_config_token(
            &sandbox.k8s_url(),
            &sandbox.k8s_token(),
        ));
        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let served = sandbox.served_jwks().await.unwrap();
        let outs = wd.output_json().await;
        assert_canonical_jwks(&label, &outs["json"]["value"], &served);

        // Authenticated, but no grant for the OIDC endpoints.
        let stub = StubApiServer::start(|_, path| k8s_forbidden_path("jane", path))
            .await
            .expect("stub API server");
        wd.write_file("ca.pem", stub.ca_pem());
        wd.set_config(&cluster_config_token(&stub.url(), "jane-token"));
        let out = wd
            .expect_error(&["apply", "-auto-approve"], r"(?i)\b403\b|forbidden")
            .await;
        let text = without_source_lines(&out);
        assert_says(&label, &text, r"/openid/v1/jwks");
        assert_says(&label, &text, r"/\.well-known/openid-configuration");
        assert_says(
            &label,
            &text,
            r"system:service-account-issuer-discovery|nonResourceURLs",
        );
        assert_says(&label, &text, r"\bget\b");
        assert!(
            stub.requests()
                .iter()
                .any(|r| r.ends_with("/openid/v1/jwks")
                    || r.ends_with("/.well-known/openid-configuration")),
            "[{label}] the provider never asked the stub for the OIDC endpoints: {:?}",
            stub.requests()
        );
    })
    .await;
}

/// The base64 body of a PEM file, without the first line (ASN.1 framing
/// common to every key of that type) and whitespace.
fn pem_body_secret(pem: &str) -> String {
    let body: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
        .collect();
    body[1..].concat()
}

/// (f) A private key given as a public key is refused, and no part of it
/// appears in Terraform's output or the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_input_is_refused_without_leaking() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let mut wd = Workdir::new(&tf, &pem_config(&["key.pem"]));
        wd.env_remove("KUBE_CONFIG_PATH");
        let dir = wd.path().to_path_buf();
        let variants: [&[&str]; 3] = [
            // PKCS#8 "PRIVATE KEY"
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.pem",
            ],
            // PKCS#1 "RSA PRIVATE KEY"
            &["genrsa", "-traditional", "-out", "key.pem", "2048"],
            // SEC1 "EC PRIVATE KEY"
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
        ];
        for args in variants {
            openssl(&dir, args);
            let pem = std::fs::read_to_string(dir.join("key.pem")).unwrap();
            let header = pem.lines().next().unwrap_or_default().to_string();
            let out = wd
                .expect_error(&["apply", "-auto-approve"], r"(?i)private key")
                .await;
            let secret = pem_body_secret(&pem);
            let mut seen: String = out.combined().split_whitespace().collect();
            if let Ok(state) = std::fs::read_to_string(dir.join("terraform.tfstate")) {
                seen.push_str(&state.split_whitespace().collect::<String>());
            }
            let window = 24;
            let leaked: Vec<&str> = (0..secret.len().saturating_sub(window))
                .step_by(4)
                .map(|i| &secret[i..i + window])
                .filter(|chunk| seen.contains(chunk))
                .collect();
            assert!(
                leaked.is_empty(),
                "[{label}] private key material ({header}) appears in the output: {leaked:?}\n{out}"
            );
        }
    })
    .await;
}

/// (g) `terraform validate` of a cluster-source configuration does not
/// touch the network: a listener standing in for the API server sees no
/// connection, and an unresolvable host validates as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_does_not_touch_the_cluster() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let accept = tokio::spawn(async move {
        while let Ok((_sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let config = |host: &str| {
        format!(
            r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    host  = {host}
    token = "some-token"
  }}
}}

data "irsa_jwks" "cluster" {{
  expected_issuer = "https://oidc.example.com"
}}
{outputs}"#,
            host = hcl_string(host),
            outputs = outputs("cluster"),
        )
    };
    let connections_ref = &connections;
    each_terraform(|tf| {
        let config = &config;
        async move {
            let label = tf.label();
            let mut wd = Workdir::new(&tf, &config(&format!("https://127.0.0.1:{port}")));
            wd.env_remove("KUBE_CONFIG_PATH");
            wd.validate().await.unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!(
                connections_ref.load(Ordering::SeqCst),
                0,
                "[{label}] terraform validate connected to the API server"
            );
            wd.set_config(&config("https://irsa-unreachable.invalid:6443"));
            wd.validate().await.unwrap_or_else(|e| panic!("{e:#}"));
        }
    })
    .await;
    accept.abort();
}

/// A stub API server whose discovery document is valid and whose
/// `/openid/v1/jwks` answers with whatever `jwks` holds at the time.
async fn stub_serving(jwks: Arc<std::sync::Mutex<Vec<u8>>>) -> StubApiServer {
    StubApiServer::start_raw(move |_, path| match path {
        "/.well-known/openid-configuration" => StubResponse::json(
            200,
            &serde_json::json!({
                "issuer": DEFAULT_ISSUER,
                "jwks_uri": format!("{DEFAULT_ISSUER}/openid/v1/jwks"),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }),
        ),
        "/openid/v1/jwks" => StubResponse::bytes(
            200,
            "application/jwk-set+json",
            jwks.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        ),
        _ => StubResponse::json(
            404,
            &irsa_acceptance::sandbox::k8s_status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    })
    .await
    .expect("stub API server")
}

/// (h) Issue 6 section 4: a cluster that serves an empty key set, malformed
/// JSON, or a key with private members, through the data source with real
/// Terraform. Each is refused with a message naming the cluster and the
/// problem; a private member's value appears nowhere (output or state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_served_bad_key_sets_are_refused() {
    // A real public key (from the fake API server) to build the variants from.
    let good = {
        let sandbox = Sandbox::start_kube_only().await;
        sandbox.served_jwks().await.expect("served JWKS")
    };
    let secret = "SECRETprivateEXPONENTvalue0123456789abcdef";
    let mut with_private = good.clone();
    with_private["keys"][0]["d"] = Value::String(secret.into());
    with_private["keys"][0]["p"] = Value::String(format!("{secret}-p"));
    let variants: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty",
            br#"{"keys":[]}"#.to_vec(),
            r"the JWKS contains no keys",
        ),
        (
            "malformed",
            br#"{"keys":[{"kty":"RSA","#.to_vec(),
            r"the JWKS is not valid JSON",
        ),
        (
            "private",
            with_private.to_string().into_bytes(),
            r#"contains the private key member "(d|p)""#,
        ),
    ];
    let (variants, good) = (&variants, &good);
    each_terraform(|tf| async move {
        let label = tf.label();
        let body = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stub = stub_serving(body.clone()).await;
        let host = stub.url();
        let mut wd = Workdir::new(&tf, &cluster_config_token(&host, "stub-token"));
        wd.write_file("ca.pem", stub.ca_pem());
        wd.env_remove("KUBE_CONFIG_PATH");
        // The stub serves a usable key set first: the configuration is right.
        *body.lock().unwrap() = good.to_string().into_bytes();
        wd.apply().await.unwrap_or_else(|e| panic!("{e:#}"));
        let outs = wd.output_json().await;
        assert_canonical_jwks(&label, &outs["json"]["value"], good);

        for (name, served, pattern) in variants {
            *body.lock().unwrap() = served.clone();
            let before = stub.requests().len();
            let out = wd.expect_error(&["apply", "-auto-approve"], pattern).await;
            let text = without_source_lines(&out);
            assert_says(&label, &text, r"The cluster's JWKS is unusable");
            assert_says(
                &label,
                &text,
                &format!(
                    "GET /openid/v1/jwks on (https://)?{}",
                    regex::escape(host.trim_start_matches("https://"))
                ),
            );
            assert!(
                stub.requests()[before..]
                    .iter()
                    .any(|r| r == "GET /openid/v1/jwks"),
                "[{label}] {name}: the provider did not read the JWKS: {:?}",
                stub.requests()
            );
            assert!(
                !out.combined().contains(secret),
                "[{label}] {name}: a private member's value appears in the output:\n{out}"
            );
            let state =
                std::fs::read_to_string(wd.path().join("terraform.tfstate")).unwrap_or_default();
            assert!(
                !state.contains(secret),
                "[{label}] {name}: a private member's value is in the state"
            );
        }
    })
    .await;
}

/// (i) A cluster that cannot be reached at read time (nothing listens on
/// its port): the apply fails, saying which address could not be reached
/// and why, and no JWKS reaches the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_fails_at_read() {
    let sandbox = Sandbox::start_kube_only().await;
    each_terraform(|tf| {
        let sandbox = &sandbox;
        async move {
            let label = tf.label();
            // A port that was free a moment ago: nothing listens there.
            let port = free_port().expect("free port");
            let host = format!("https://127.0.0.1:{port}");
            let mut wd = Workdir::new(&tf, &cluster_config_token(&host, &sandbox.k8s_token()));
            wd.write_file("ca.pem", sandbox.ca_pem());
            wd.env_remove("KUBE_CONFIG_PATH");
            let out = wd
                .expect_error(
                    &["apply", "-auto-approve"],
                    r"Cannot (connect to the Kubernetes cluster|read the cluster's (signing keys|OpenID discovery document))",
                )
                .await;
            let text = without_source_lines(&out);
            assert_says(
                &label,
                &text,
                &format!(r"cannot reach the Kubernetes API server at \S*127\.0\.0\.1:{port}"),
            );
            assert_says(&label, &text, r"(?i)connection refused");
            let state = std::fs::read_to_string(wd.path().join("terraform.tfstate")).unwrap_or_default();
            assert!(!state.contains("\"keys\""), "[{label}] a JWKS reached the state: {state}");
        }
    })
    .await;
}
