//! `scripts/sandbox` itself, run as a user runs it (own directory through
//! `IRSA_SANDBOX_DIR`): what it writes to `env` is read back by bash, and
//! every variable is checked against the running servers and against
//! [`Sandbox::env`], which the acceptance tests use in its place.
//!
//! Needs scripts/setup (moto in .tools/venv) and bash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use irsa_acceptance::sandbox::{
    https_get, process_alive, repo_script, source_env_file, Sandbox, MOTO_ACCESS_KEY,
};

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

async fn sandbox_cmd(dir: &Path, arg: &str) -> std::process::Output {
    repo_script(
        "sandbox",
        &irsa_acceptance::harness::fake_apiserver_binary(),
    )
    .arg(arg)
    .env("IRSA_SANDBOX_DIR", dir)
    .output()
    .await
    .expect("run scripts/sandbox")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pid(dir: &Path, name: &str) -> u32 {
    std::fs::read_to_string(dir.join(format!("{name}.pid")))
        .unwrap_or_else(|e| panic!("{name}.pid: {e}"))
        .trim()
        .parse()
        .expect("pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_sandbox_env_works_and_matches_sandbox_env() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let tmp = tempfile::tempdir().expect("tempdir");
    let sb = tmp.path().join("sandbox");
    let _down = Down(sb.clone());

    let up = sandbox_cmd(&sb, "up").await;
    assert!(
        up.status.success(),
        "scripts/sandbox up failed:\n{}{}",
        text(&up.stdout),
        text(&up.stderr)
    );
    let env = source_env_file(&sb.join("env")).expect("source env");

    // The names: every variable of Sandbox::env (what the acceptance tests
    // hand the provider) is written by the script, and the script's extra
    // ones are exactly those the quickstart needs.
    let lib = Sandbox::start_kube_only().await;
    let lib_env: BTreeMap<String, String> = lib.env().into_iter().collect();
    let names: BTreeSet<&str> = env.keys().map(String::as_str).collect();
    let lib_names: BTreeSet<&str> = lib_env.keys().map(String::as_str).collect();
    let missing: Vec<&&str> = lib_names.difference(&names).collect();
    assert!(
        missing.is_empty(),
        "scripts/sandbox does not write {missing:?}: {env:#?}"
    );
    let extra: Vec<&str> = names.difference(&lib_names).copied().collect();
    assert_eq!(
        extra,
        vec![
            "IRSA_SANDBOX_ISSUER",
            "IRSA_SANDBOX_ZONE_ID",
            "TF_VAR_issuer_domain",
            "TF_VAR_route53_zone_id",
        ]
    );
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_EC2_METADATA_DISABLED",
    ] {
        assert_eq!(env[k], lib_env[k], "{k}");
    }

    // The Kubernetes variables work: the kubeconfig names the URL and token
    // of the env file, and with its CA they read the JWKS and discovery.
    let kubeconfig: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(&env["KUBE_CONFIG_PATH"]).expect("read KUBE_CONFIG_PATH"),
    )
    .expect("kubeconfig is YAML");
    let cluster = &kubeconfig["clusters"][0]["cluster"];
    assert_eq!(
        cluster["server"].as_str(),
        Some(env["IRSA_SANDBOX_K8S_URL"].as_str())
    );
    assert_eq!(
        kubeconfig["users"][0]["user"]["token"].as_str(),
        Some(env["IRSA_SANDBOX_K8S_TOKEN"].as_str())
    );
    let ca = base64::engine::general_purpose::STANDARD
        .decode(
            cluster["certificate-authority-data"]
                .as_str()
                .expect("certificate-authority-data"),
        )
        .expect("base64 CA");
    let ca = String::from_utf8(ca).expect("PEM CA");
    let url = &env["IRSA_SANDBOX_K8S_URL"];
    let token = &env["IRSA_SANDBOX_K8S_TOKEN"];
    let (status, body) = https_get(url, &ca, "/openid/v1/jwks", Some(token))
        .await
        .expect("GET jwks");
    assert_eq!(status, 200, "{}", text(&body));
    let jwks: serde_json::Value = serde_json::from_slice(&body).expect("JWKS JSON");
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    let (status, body) = https_get(url, &ca, "/.well-known/openid-configuration", Some(token))
        .await
        .expect("GET discovery");
    assert_eq!(status, 200, "{}", text(&body));
    let discovery: serde_json::Value = serde_json::from_slice(&body).expect("discovery JSON");
    assert_eq!(discovery["issuer"], env["IRSA_SANDBOX_ISSUER"]);
    let (status, _) = https_get(url, &ca, "/openid/v1/jwks", Some("wrong"))
        .await
        .expect("GET jwks with a wrong token");
    assert_eq!(status, 401);

    // The AWS variables work: moto answers at AWS_ENDPOINT_URL and holds the
    // zone of IRSA_SANDBOX_ZONE_ID, the parent domain of the issuer's host.
    let issuer_host = env["IRSA_SANDBOX_ISSUER"]
        .strip_prefix("https://")
        .expect("https issuer");
    assert_eq!(env["TF_VAR_issuer_domain"], issuer_host);
    assert_eq!(env["TF_VAR_route53_zone_id"], env["IRSA_SANDBOX_ZONE_ID"]);
    let conf = aws_sdk_route53::Config::builder()
        .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
        .region(aws_sdk_route53::config::Region::new(
            env["AWS_REGION"].clone(),
        ))
        .endpoint_url(&env["AWS_ENDPOINT_URL"])
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            &env["AWS_ACCESS_KEY_ID"],
            &env["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "sandbox-env",
        ))
        .build();
    assert_eq!(env["AWS_ACCESS_KEY_ID"], MOTO_ACCESS_KEY);
    let zone = aws_sdk_route53::Client::from_conf(conf)
        .get_hosted_zone()
        .id(&env["IRSA_SANDBOX_ZONE_ID"])
        .send()
        .await
        .expect("the sandbox zone exists in moto");
    let zone_name = zone.hosted_zone().expect("zone").name().to_string();
    let parent = issuer_host.split_once('.').expect("dotted host").1;
    assert_eq!(zone_name.trim_end_matches('.'), parent);

    // status says up; a second `up` is a no-op that keeps the same servers.
    let status = sandbox_cmd(&sb, "status").await;
    assert!(status.status.success(), "{}", text(&status.stderr));
    assert!(
        text(&status.stdout).starts_with("up"),
        "{}",
        text(&status.stdout)
    );
    let (moto_pid, fake_pid) = (pid(&sb, "moto"), pid(&sb, "fake-apiserver"));
    let again = sandbox_cmd(&sb, "up").await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already up"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(source_env_file(&sb.join("env")).expect("env"), env);
    assert!(process_alive(moto_pid) && process_alive(fake_pid));

    // down stops both and removes the env file; status then says down.
    let down = sandbox_cmd(&sb, "down").await;
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert!(!sb.join("env").exists());
    assert!(
        !process_alive(moto_pid),
        "moto_server {moto_pid} still runs"
    );
    assert!(
        !process_alive(fake_pid),
        "fake-apiserver {fake_pid} still runs"
    );
    let status = sandbox_cmd(&sb, "status").await;
    assert!(!status.status.success());
    assert!(text(&status.stdout).starts_with("down"));
}
