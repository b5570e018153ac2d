//! Helpers for the `irsa_oidc_issuer` acceptance tests
//! (`tests/acceptance/tests/acceptance/acc_oidc_issuer/`):
//!
//! * moto inspection and out-of-band changes through boto3 (the venv's
//!   Python, `scripts/setup`): [`boto`] runs a snippet after the prelude in
//!   `issuer_support.py`; [`snapshot`] dumps everything the tests look at
//!   (buckets with their settings and objects, OACs, distributions with
//!   config, tags and invalidations, ACM certificates in us-east-1 and the
//!   provider region, hosted zones with records, IAM OIDC providers);
//! * [`create_zone`], [`assert_nothing_left`];
//! * test keys ([`TestKey`]: the fixture RSA key, fresh RSA / EC keys from
//!   `openssl`) and their kube-apiserver `kid`s;
//! * HCL builders ([`IssuerHcl`]) and state readers ([`resource_values`],
//!   [`resource_tainted`]);
//! * [`bounded`]: a whole-test time limit.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::harness::REQUIRED_PROVIDERS;
use crate::sandbox::{Moto, MotoConfig};

/// moto's account.
pub const ACCOUNT_ID: &str = "123456789012";
/// The provider region used by these tests.
pub const REGION: &str = "eu-west-1";
/// The hosted zone id of every CloudFront distribution, the target zone of
/// alias records (AWS documentation, "AliasTarget").
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";
/// S3 keys of the two documents.
pub const DISCOVERY_KEY: &str = ".well-known/openid-configuration";
pub const JWKS_KEY: &str = "openid/v1/jwks";
/// Resource address used by the configurations of [`IssuerHcl`].
pub const ADDR: &str = "irsa_oidc_issuer.this";

const PRELUDE: &str = include_str!("issuer_support.py");
const JSON_MARK: &str = "@@JSON@@";

/// A moto for these tests: ACM certificates ISSUED at once.
pub async fn start_moto() -> Moto {
    match Moto::start_with(MotoConfig {
        acm_validation_wait_secs: 0,
        extra_env: vec![],
    })
    .await
    {
        Ok(m) => m,
        Err(e) => panic!("starting moto: {e:#}"),
    }
}

/// `bucket name` the resource derives from `name`.
pub fn bucket_for(name: &str) -> String {
    format!("{name}-oidc-{ACCOUNT_ID}")
}

/// Run `fut` with a time limit; panics with `what` when it is exceeded (the
/// future is dropped, which kills any Terraform it was running).
pub async fn bounded<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish within {limit:?}"),
    }
}

// ---------------------------------------------------------------------------
// boto3
// ---------------------------------------------------------------------------

fn python() -> PathBuf {
    crate::harness::tools_dir()
        .join("venv")
        .join("bin")
        .join("python")
}

/// Run a boto3 snippet against moto at `endpoint`: the prelude of
/// `issuer_support.py` (functions `client`, `out`, `snapshot`,
/// `empty_bucket`, `update_distribution`, `delete_distribution`; `ARGS`),
/// then `body`. Returns what the snippet passed to `out(...)` (null if
/// nothing). Bounded to 120 s. The snippets of a test process run in one
/// long-lived Python ([`BotoWorker`], `boto_worker.py`), each in its own
/// namespace.
pub async fn boto(endpoint: &str, body: &str, args: Value) -> anyhow::Result<Value> {
    let request = json!({ "ep": endpoint, "args": args, "body": body }).to_string();
    let answer = tokio::task::spawn_blocking(move || BotoWorker::call(&request))
        .await
        .context("boto3 worker task")??;
    let stdout = answer["stdout"].as_str().unwrap_or_default();
    if answer["ok"] != Value::Bool(true) {
        bail!(
            "boto3 snippet failed:\n{body}\n--- stdout ---\n{stdout}\n--- error ---\n{}",
            answer["error"].as_str().unwrap_or_default()
        );
    }
    match stdout.lines().rev().find_map(|l| l.strip_prefix(JSON_MARK)) {
        Some(json) => serde_json::from_str(json).context("snippet output is not JSON"),
        None => Ok(Value::Null),
    }
}

const WORKER: &str = include_str!("boto_worker.py");
const SNIPPET_LIMIT: Duration = Duration::from_secs(120);

/// The process's one boto3 Python, started at its first snippet (see
/// `boto_worker.py`); it ends when this process does (its stdin closes).
/// Blocking I/O behind a mutex, so any tokio runtime (one per test) can
/// use it through `spawn_blocking`.
struct BotoWorker {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

static BOTO_WORKER: std::sync::Mutex<Option<BotoWorker>> = std::sync::Mutex::new(None);

impl BotoWorker {
    fn start() -> anyhow::Result<BotoWorker> {
        use std::io::BufRead as _;
        let script = format!("{PRELUDE}\n{WORKER}");
        let mut child = std::process::Command::new(python())
            .arg("-u")
            .arg("-c")
            .arg(&script)
            .env("MOTO_EP", "")
            .env_remove("ARGS_JSON")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Nothing inherited: the test's own output pipes must close
            // when the test ends (nextest reports a leak otherwise).
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (run scripts/setup: it installs boto3 with moto)",
                    python().display()
                )
            })?;
        let stdin = child.stdin.take().expect("stdin piped");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(BotoWorker {
            child,
            stdin,
            lines,
        })
    }

    /// Send one request line, wait for its answer line.
    fn call(request: &str) -> anyhow::Result<Value> {
        use std::io::Write as _;
        let mut guard = BOTO_WORKER.lock().unwrap_or_else(|e| e.into_inner());
        if guard
            .as_mut()
            .is_none_or(|w| !matches!(w.child.try_wait(), Ok(None)))
        {
            *guard = Some(BotoWorker::start()?);
        }
        let worker = guard.as_mut().expect("worker started");
        let sent = writeln!(worker.stdin, "{request}").and_then(|()| worker.stdin.flush());
        let answer = sent.map_err(anyhow::Error::from).and_then(|()| {
            match worker.lines.recv_timeout(SNIPPET_LIMIT) {
                Ok(line) => Ok(line),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    Err(anyhow!("boto3 snippet timed out after {SNIPPET_LIMIT:?}"))
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    Err(anyhow!("the boto3 worker exited"))
                }
            }
        });
        match answer {
            Ok(line) => serde_json::from_str(&line).context("boto3 worker answer is not JSON"),
            Err(e) => {
                // A worker that timed out or died is not reused.
                if let Some(mut w) = guard.take() {
                    let _ = w.child.kill();
                    let _ = w.child.wait();
                }
                Err(e)
            }
        }
    }
}

/// [`boto`] that panics on failure.
pub async fn boto_ok(endpoint: &str, body: &str, args: Value) -> Value {
    match boto(endpoint, body, args).await {
        Ok(v) => v,
        Err(e) => panic!("{e:#}"),
    }
}

/// Everything in moto these tests look at (see `snapshot()` in
/// `issuer_support.py` for the shape).
pub async fn snapshot(endpoint: &str) -> Value {
    boto_ok(endpoint, "out(snapshot())", Value::Null).await
}

/// Create a public hosted zone; returns its id without `/hostedzone/`.
pub async fn create_zone(endpoint: &str, name: &str) -> String {
    let v = boto_ok(
        endpoint,
        r#"
import uuid
r53 = client("route53", "us-east-1")
z = r53.create_hosted_zone(Name=ARGS["name"], CallerReference=str(uuid.uuid4()))
out(z["HostedZone"]["Id"].split("/")[-1])
"#,
        json!({ "name": name }),
    )
    .await;
    v.as_str().expect("zone id").to_string()
}

/// Records of a zone in a snapshot, without the zone's own SOA and NS.
pub fn zone_records(snap: &Value, zone_id: &str) -> Vec<Value> {
    let zone = &snap["zones"][zone_id];
    let apex = zone["name"].as_str().unwrap_or("").to_string();
    zone["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            !(r["name"].as_str() == Some(apex.as_str())
                && matches!(r["type"].as_str(), Some("SOA") | Some("NS")))
        })
        .collect()
}

/// What is left in moto that an issuer could have made: buckets, OACs,
/// distributions, certificates, records (besides each zone's SOA/NS), OIDC
/// providers. Empty when nothing is.
pub fn leftovers(snap: &Value) -> Vec<String> {
    let mut left = Vec::new();
    for (name, _) in snap["buckets"].as_object().into_iter().flatten() {
        left.push(format!("bucket {name}"));
    }
    for oac in snap["oacs"].as_array().into_iter().flatten() {
        left.push(format!(
            "origin access control {} ({})",
            oac["Id"], oac["Name"]
        ));
    }
    for d in snap["distributions"].as_array().into_iter().flatten() {
        left.push(format!(
            "distribution {} ({})",
            d["id"], d["config"]["Comment"]
        ));
    }
    for c in snap["certificates"].as_array().into_iter().flatten() {
        left.push(format!(
            "certificate {} for {} ({})",
            c["arn"], c["domain"], c["status"]
        ));
    }
    for (zid, _) in snap["zones"].as_object().into_iter().flatten() {
        for r in zone_records(snap, zid) {
            left.push(format!("record {} {} in zone {zid}", r["type"], r["name"]));
        }
    }
    for p in snap["oidc_providers"].as_array().into_iter().flatten() {
        left.push(format!("OIDC provider {}", p["arn"]));
    }
    left
}

/// Panics, listing them, unless moto holds none of the things an issuer
/// makes (hosted zones themselves may stay).
pub async fn assert_nothing_left(label: &str, moto: &Moto) {
    let snap = snapshot(&moto.endpoint).await;
    let left = leftovers(&snap);
    assert!(
        left.is_empty(),
        "[{label}] moto still holds:\n  {}\nsnapshot: {snap:#}",
        left.join("\n  ")
    );
}

/// Reset moto and create the hosted zone `zone_name`; returns its id.
pub async fn fresh_moto_with_zone(moto: &Moto, zone_name: &str) -> String {
    moto.reset().await.expect("reset moto");
    create_zone(&moto.endpoint, zone_name).await
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// A public key for the JWKS: its PEM (SubjectPublicKeyInfo) and `kid`.
#[derive(Clone, Debug)]
pub struct TestKey {
    pub pem: String,
    pub kid: String,
    /// `RS256` / `ES256`.
    pub alg: &'static str,
}

/// kid as kube-apiserver computes it: base64url(SHA-256(DER SPKI)), no padding.
pub fn kid_of_pem(pem: &str) -> String {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let der = STANDARD.decode(b64).expect("PEM body is base64");
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der))
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

impl TestKey {
    /// The fixed RSA-2048 fixture (`tests/acceptance/fixtures/rsa2048.pub.pem`);
    /// its kid is checked against `rsa2048.kid`.
    pub fn fixture() -> TestKey {
        let pem = std::fs::read_to_string(fixtures_dir().join("rsa2048.pub.pem"))
            .expect("read fixture rsa2048.pub.pem");
        let kid = kid_of_pem(&pem);
        let want = std::fs::read_to_string(fixtures_dir().join("rsa2048.kid"))
            .expect("read fixture rsa2048.kid");
        assert_eq!(
            kid,
            want.trim(),
            "kid computation disagrees with the fixture"
        );
        TestKey {
            pem,
            kid,
            alg: "RS256",
        }
    }

    /// A fresh RSA-2048 public key (`openssl genrsa 2048 | openssl pkey -pubout`).
    pub fn rsa() -> TestKey {
        let pem = openssl_pipeline("openssl genrsa 2048 2>/dev/null | openssl pkey -pubout");
        TestKey {
            kid: kid_of_pem(&pem),
            pem,
            alg: "RS256",
        }
    }

    /// A fresh EC P-256 public key.
    pub fn ec_p256() -> TestKey {
        let pem = openssl_pipeline(
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout",
        );
        TestKey {
            kid: kid_of_pem(&pem),
            pem,
            alg: "ES256",
        }
    }
}

impl TestKey {
    /// The key as an RSA JWK (`kty`, `kid`, `use`, `alg`, `n`, `e`), `n`
    /// read with `openssl rsa -modulus`. Only for RSA keys.
    pub fn rsa_jwk(&self) -> Value {
        assert_eq!(self.alg, "RS256", "rsa_jwk needs an RSA key");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("k.pem");
        std::fs::write(&path, &self.pem).expect("write pem");
        let out = std::process::Command::new("openssl")
            .args(["rsa", "-pubin", "-noout", "-modulus", "-in"])
            .arg(&path)
            .output()
            .expect("run openssl rsa -modulus");
        assert!(out.status.success(), "openssl rsa -modulus failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let hex: String = text
            .trim()
            .trim_start_matches("Modulus=")
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        let mut bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        while bytes.first() == Some(&0) {
            bytes.remove(0);
        }
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(bytes),
            "e": "AQAB",
        })
    }
}

fn openssl_pipeline(cmd: &str) -> String {
    let out = std::process::Command::new("bash")
        .args(["-o", "pipefail", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("running `{cmd}`: {e} (is openssl installed?)"));
    let pem = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && pem.contains("BEGIN PUBLIC KEY"),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pem
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The provider block for the sandbox.
pub const PROVIDER_BLOCK: &str = r#"provider "irsa" {
  region            = "eu-west-1"
  s3_use_path_style = true
}
"#;

/// One `irsa_oidc_issuer.this` configuration with its JWKS data source.
///
/// The JWKS comes from `data "irsa_jwks" "k"` over PEM files `key0.pem`,
/// `key1.pem`, ... written by [`IssuerHcl::write_keys`] (unless `jwks_expr`
/// is set). `extra` lines go into the resource body verbatim.
#[derive(Clone, Debug)]
pub struct IssuerHcl {
    pub name: String,
    /// `None`: attribute left out (default cloudfront).
    pub hosting: Option<String>,
    pub domain: Option<String>,
    pub zone_id: Option<String>,
    /// Number of PEM files in the data source (files `key<i>.pem`).
    pub keys: usize,
    /// Overrides `data.irsa_jwks.k.json`.
    pub jwks_expr: Option<String>,
    pub extra: Vec<String>,
    /// The provider block's region instead of the sandbox's (eu-west-1).
    pub region: Option<String>,
}

impl IssuerHcl {
    pub fn cloudfront(name: &str, domain: &str, zone_id: &str) -> IssuerHcl {
        IssuerHcl {
            name: name.to_string(),
            hosting: None,
            domain: Some(domain.to_string()),
            zone_id: Some(zone_id.to_string()),
            keys: 1,
            jwks_expr: None,
            extra: vec![],
            region: None,
        }
    }

    pub fn s3(name: &str) -> IssuerHcl {
        IssuerHcl {
            name: name.to_string(),
            hosting: Some("s3".to_string()),
            domain: None,
            zone_id: None,
            keys: 1,
            jwks_expr: None,
            extra: vec![],
            region: None,
        }
    }

    pub fn with(mut self, line: &str) -> IssuerHcl {
        self.extra.push(line.to_string());
        self
    }

    pub fn keys(mut self, n: usize) -> IssuerHcl {
        self.keys = n;
        self
    }

    /// Write `key<i>.pem` for each key (the data source reads them in order).
    pub fn write_keys(wd: &crate::harness::Workdir, keys: &[&TestKey]) {
        for (i, k) in keys.iter().enumerate() {
            wd.write_file(&format!("key{i}.pem"), &k.pem);
        }
    }

    pub fn render(&self) -> String {
        let q = crate::harness::hcl_string;
        let mut s = String::new();
        s.push_str(REQUIRED_PROVIDERS);
        s.push('\n');
        match &self.region {
            Some(r) => s.push_str(&PROVIDER_BLOCK.replace("\"eu-west-1\"", &q(r))),
            None => s.push_str(PROVIDER_BLOCK),
        }
        s.push('\n');
        if self.jwks_expr.is_none() {
            let files = (0..self.keys)
                .map(|i| format!("file(\"${{path.module}}/key{i}.pem\")"))
                .collect::<Vec<_>>()
                .join(", ");
            s.push_str(&format!(
                "data \"irsa_jwks\" \"k\" {{\n  public_keys_pem = [{files}]\n}}\n\n"
            ));
        }
        s.push_str("resource \"irsa_oidc_issuer\" \"this\" {\n");
        s.push_str(&format!("  name = {}\n", q(&self.name)));
        if let Some(h) = &self.hosting {
            s.push_str(&format!("  hosting = {}\n", q(h)));
        }
        if let Some(d) = &self.domain {
            s.push_str(&format!("  domain = {}\n", q(d)));
        }
        if let Some(z) = &self.zone_id {
            s.push_str(&format!("  route53_zone_id = {}\n", q(z)));
        }
        s.push_str(&format!(
            "  jwks = {}\n",
            self.jwks_expr.as_deref().unwrap_or("data.irsa_jwks.k.json")
        ));
        for line in &self.extra {
            s.push_str(&format!("  {line}\n"));
        }
        s.push_str("}\n\n");
        // The old module's output names.
        for out in [
            "issuer_url",
            "oidc_provider_url",
            "oidc_provider_arn",
            "jwks_uri",
        ] {
            s.push_str(&format!(
                "output \"{out}\" {{\n  value = irsa_oidc_issuer.this.{out}\n}}\n"
            ));
        }
        if self.jwks_expr.is_none() {
            s.push_str("output \"data_jwks\" {\n  value = data.irsa_jwks.k.json\n}\n");
        }
        s
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

fn find_resource<'a>(state: &'a Value, addr: &str) -> Option<&'a Value> {
    state["values"]["root_module"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["address"].as_str() == Some(addr))
}

/// The attribute values of `addr` in `terraform show -json` output; panics
/// when the resource is not in state.
/// The value of a step that must succeed; its error, in full, otherwise.
pub fn ok<T>(r: anyhow::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e:#}"))
}

/// The issuer's attribute values in the work dir's state.
pub async fn values(wd: &crate::harness::Workdir) -> Value {
    resource_values(&wd.state_json().await, ADDR)
}

/// A JSON list as a Vec; null is empty, anything else one element.
pub fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => vec![],
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

pub fn resource_values(state: &Value, addr: &str) -> Value {
    match find_resource(state, addr) {
        Some(r) => r["values"].clone(),
        None => panic!("{addr} is not in the state: {state:#}"),
    }
}

/// Whether `addr` is in the state at all.
pub fn in_state(state: &Value, addr: &str) -> bool {
    find_resource(state, addr).is_some()
}

/// Whether `addr` is marked tainted in `terraform show -json` output.
pub fn resource_tainted(state: &Value, addr: &str) -> bool {
    find_resource(state, addr)
        .map(|r| r["tainted"].as_bool() == Some(true))
        .unwrap_or(false)
}

/// A string attribute, panicking with context when it is not a string.
pub fn str_attr<'a>(values: &'a Value, name: &str) -> &'a str {
    values[name]
        .as_str()
        .unwrap_or_else(|| panic!("attribute {name} is not a string: {}", values[name]))
}

/// A map(string) attribute.
pub fn map_attr(values: &Value, name: &str) -> BTreeMap<String, String> {
    values[name]
        .as_object()
        .unwrap_or_else(|| panic!("attribute {name} is not a map: {}", values[name]))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect()
}

/// A list(string) attribute.
pub fn list_attr(values: &Value, name: &str) -> Vec<String> {
    values[name]
        .as_array()
        .unwrap_or_else(|| panic!("attribute {name} is not a list: {}", values[name]))
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect()
}

/// The `kid`s of a JWKS JSON text, in order.
pub fn jwks_kids(text: &str) -> Vec<String> {
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not a JWKS ({e}): {text}"));
    v["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("JWKS without keys: {text}"))
        .iter()
        .map(|k| k["kid"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Sorted copy.
pub fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_kid_matches() {
        let k = TestKey::fixture();
        assert_eq!(k.alg, "RS256");
    }

    #[test]
    fn config_renders_cloudfront_and_s3() {
        let c = IssuerHcl::cloudfront("prod", "oidc.example.com", "Z1")
            .with("tags = { team = \"platform\" }")
            .render();
        assert!(c.contains("domain = \"oidc.example.com\""), "{c}");
        assert!(c.contains("route53_zone_id = \"Z1\""), "{c}");
        assert!(
            c.contains("public_keys_pem = [file(\"${path.module}/key0.pem\")]"),
            "{c}"
        );
        assert!(!c.contains("hosting"), "{c}");
        let s = IssuerHcl::s3("prod").keys(2).render();
        assert!(s.contains("hosting = \"s3\""), "{s}");
        assert!(s.contains("key1.pem"), "{s}");
        assert!(!s.contains("domain"), "{s}");
    }

    #[test]
    fn leftovers_ignore_zone_apex_records() {
        let snap = json!({
            "buckets": {},
            "oacs": [],
            "distributions": [],
            "certificates": [],
            "zones": {"Z1": {"name": "example.com.", "records": [
                {"name": "example.com.", "type": "SOA"},
                {"name": "example.com.", "type": "NS"},
                {"name": "oidc.example.com.", "type": "A"}
            ]}},
            "oidc_providers": []
        });
        assert_eq!(
            leftovers(&snap),
            vec!["record \"A\" \"oidc.example.com.\" in zone Z1"]
        );
    }
}
