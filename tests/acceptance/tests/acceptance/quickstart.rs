//! The README's main command, `scripts/quickstart`, run by the suite on every
//! Terraform of the matrix, each time in its own sandbox directory
//! (`IRSA_SANDBOX_DIR`) with the provider the suite built
//! (`IRSA_PROVIDER_DIR`) and the Terraform under test
//! (`TF_ACC_TERRAFORM_PATH`).
//!
//! * From nothing (what a user does): it starts the sandbox, applies
//!   examples/quickstart, prints the outputs as JSON on stdout, finds the
//!   second plan empty (it runs `plan -detailed-exitcode`, so a non-empty
//!   plan fails it) and stops the sandbox.
//! * With the sandbox already up: the outputs are compared with what the
//!   servers hold (the JWKS the fake API server serves, the IAM OIDC
//!   provider in moto), and the sandbox is left running.
//!
//! Needs scripts/setup (moto, Terraform) and bash.

use std::path::{Path, PathBuf};
use std::process::Output;

use irsa_acceptance::harness::{each_terraform, provider_binary_dir, TerraformBinary};
use irsa_acceptance::sandbox::{https_get, repo_script, source_env_file};
use regex::Regex;
use serde_json::Value;

const ISSUER: &str = "https://oidc.irsa-sandbox.example.com";

/// Runs `scripts/sandbox down` on drop, so a failing test leaves no servers.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let script = irsa_acceptance::harness::workspace_root().join("scripts/sandbox");
        let _ = std::process::Command::new(script)
            .arg("down")
            .env("IRSA_SANDBOX_DIR", &self.0)
            .stdin(std::process::Stdio::null())
            .output();
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what} -> {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

async fn script(
    name: &str,
    arg: Option<&str>,
    sb: &Path,
    tf: &TerraformBinary,
    home: &Path,
) -> Output {
    let mut cmd = repo_script(name, &irsa_acceptance::harness::fake_apiserver_binary());
    if let Some(arg) = arg {
        cmd.arg(arg);
    }
    cmd.env("IRSA_SANDBOX_DIR", sb)
        .env("IRSA_PROVIDER_DIR", provider_binary_dir())
        .env("TF_ACC_TERRAFORM_PATH", &tf.path)
        .env("HOME", home)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running scripts/{name}: {e}"))
}

/// The outputs printed on stdout, checked for what any correct run prints.
fn check_outputs(tf: &TerraformBinary, out: &Output) -> Value {
    let label = tf.label();
    assert!(
        out.status.success(),
        "[{label}] {}",
        show("scripts/quickstart", out)
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Apply complete!"), "[{label}] {stderr}");
    // The second plan ran and was empty.
    assert!(
        stderr.contains("plan -detailed-exitcode (must be empty)")
            && stderr.contains("No changes."),
        "[{label}] {stderr}"
    );
    let outputs: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "[{label}] stdout is not JSON only ({e}): {}",
            text(&out.stdout)
        )
    });
    let jwks = &outputs["jwks"]["value"];
    let keys = jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("[{label}] {outputs:#}"));
    assert_eq!(keys.len(), 1, "[{label}] {jwks}");
    for k in keys {
        assert_eq!(k["kty"], "RSA", "[{label}] {k}");
        assert_eq!(k["alg"], "RS256", "[{label}] {k}");
        assert_eq!(k["use"], "sig", "[{label}] {k}");
        assert!(
            k["n"].as_str().is_some_and(|n| n.len() > 300),
            "[{label}] {k}"
        );
        assert_eq!(k["e"], "AQAB", "[{label}] {k}");
    }
    let kids: Vec<&Value> = keys.iter().map(|k| &k["kid"]).collect();
    let out_kids: Vec<&Value> = outputs["kids"]["value"]
        .as_array()
        .unwrap_or_else(|| panic!("[{label}] no kids output: {outputs:#}"))
        .iter()
        .collect();
    assert_eq!(out_kids, kids, "[{label}]");
    assert_eq!(outputs["issuer_url"]["value"], ISSUER, "[{label}]");
    let arn = outputs["oidc_provider_arn"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(
        Regex::new(r"^arn:aws:iam::\d{12}:oidc-provider/oidc\.irsa-sandbox\.example\.com$")
            .unwrap()
            .is_match(arn),
        "[{label}] oidc_provider_arn {arn:?}"
    );
    outputs
}

/// README: `scripts/quickstart` with nothing running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_from_nothing() {
    each_terraform(|tf| async move {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sb = tmp.path().join("sandbox");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let _down = Down(sb.clone());
        let out = script("quickstart", None, &sb, &tf, &home).await;
        check_outputs(&tf, &out);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("with Terraform v{}", tf.version)),
            "[{}] quickstart did not use the Terraform under test: {stderr}",
            tf.label()
        );
        // It started the sandbox itself, so it stopped it.
        assert!(
            !sb.join("env").exists(),
            "[{}] sandbox env left behind",
            tf.label()
        );
        for pid in ["moto.pid", "fake-apiserver.pid"] {
            assert!(!sb.join(pid).exists(), "[{}] {pid} left behind", tf.label());
        }
        let status = script("sandbox", Some("status"), &sb, &tf, &home).await;
        assert!(
            !status.status.success(),
            "{}",
            show("scripts/sandbox status", &status)
        );
    })
    .await;
}

/// `scripts/quickstart` with the sandbox up: its outputs are what the
/// servers hold, and it leaves the sandbox running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_outputs_are_what_the_sandbox_serves() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    each_terraform(|tf| async move {
        let label = tf.label();
        let tmp = tempfile::tempdir().expect("tempdir");
        let sb = tmp.path().join("sandbox");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let _down = Down(sb.clone());
        let up = script("sandbox", Some("up"), &sb, &tf, &home).await;
        assert!(up.status.success(), "{}", show("scripts/sandbox up", &up));

        let out = script("quickstart", None, &sb, &tf, &home).await;
        let outputs = check_outputs(&tf, &out);
        assert!(
            text(&out.stderr).contains("sandbox already up"),
            "[{label}]"
        );

        // The JWKS is the one the cluster serves.
        let state: Value = serde_json::from_str(
            &std::fs::read_to_string(sb.join("fake-apiserver.json")).expect("state file"),
        )
        .expect("state JSON");
        let (status, body) = https_get(
            state["url"].as_str().expect("url"),
            state["ca_pem"].as_str().expect("ca_pem"),
            "/openid/v1/jwks",
            state["token"].as_str(),
        )
        .await
        .expect("GET jwks");
        assert_eq!(status, 200, "[{label}] {}", text(&body));
        let served: Value = serde_json::from_slice(&body).expect("JWKS");
        assert_eq!(outputs["jwks"]["value"], served, "[{label}]");

        // The OIDC provider exists in moto with the issuer's URL and STS audience.
        let env = source_env_file(&sb.join("env")).expect("env");
        let conf = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(env["AWS_REGION"].clone()))
            .endpoint_url(&env["AWS_ENDPOINT_URL"])
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                &env["AWS_ACCESS_KEY_ID"],
                &env["AWS_SECRET_ACCESS_KEY"],
                None,
                None,
                "sandbox-env",
            ))
            .build();
        let arn = outputs["oidc_provider_arn"]["value"].as_str().expect("arn");
        let provider = aws_sdk_iam::Client::from_conf(conf)
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("[{label}] {arn} not in moto: {e:?}"));
        assert_eq!(
            provider.url().map(|u| u.trim_start_matches("https://")),
            Some("oidc.irsa-sandbox.example.com"),
            "[{label}]"
        );
        assert_eq!(
            provider.client_id_list(),
            ["sts.amazonaws.com"],
            "[{label}]"
        );

        // Still up afterwards (it did not start it).
        let status = script("sandbox", Some("status"), &sb, &tf, &home).await;
        assert!(
            status.status.success(),
            "[{label}] {}",
            show("scripts/sandbox status", &status)
        );
    })
    .await;
}
