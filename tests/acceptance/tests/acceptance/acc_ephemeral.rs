//! Acceptance tests of the ephemeral resource `irsa_service_account_token`
//! (Terraform 1.10+) with the REAL Terraform CLI, the in-process fake API
//! server (whose TokenRequest API mints real signed tokens, and which
//! authenticates a service account by a token it minted), moto, and the
//! REAL hashicorp/aws provider from the image's filesystem mirror:
//!
//! - the registry example: hashicorp/aws's `assume_role_with_web_identity`
//!   with the service account's token assumes a role in moto's STS and
//!   reads `aws_caller_identity` (moto validates no web identity token; the
//!   token's own claims are checked here, and `irsa_issuer_check` verifies
//!   tokens end to end elsewhere);
//! - an alias of this provider configured with a token reads the cluster as
//!   that service account;
//! - the token is in no plan file, plan JSON, state file or log, and bad
//!   input is refused at plan naming the attribute, before any call.
//!
//! Terraform before 1.10 has no ephemeral resources: it refuses the block
//! itself, and the provider (which declares one) still serves the rest.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto,
//! Terraform 1.0.3 and 1.15.5), the hashicorp/aws mirror of
//! `tests/terraform-matrix` (the test is SKIPPED, with the reason, without
//! it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use irsa_acceptance::fake_apiserver::ClientAuth;
use irsa_acceptance::harness::{
    each_terraform, each_terraform_concurrently, hcl_string, workspace_root, TerraformBinary,
    Workdir, REQUIRED_PROVIDERS,
};
use irsa_acceptance::hashicorp_aws;
use irsa_acceptance::sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

fn ephemeral_exists(tf: &TerraformBinary) -> bool {
    tf.version_tuple() >= (1, 10, 0)
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// Every file under `dir` (a plan unzipped, a state) holds none of `tokens`.
fn assert_no_token_in(what: &str, text: &str, tokens: &[String]) {
    assert!(
        !tokens.is_empty(),
        "no token was minted, so this checks nothing"
    );
    for t in tokens {
        // The signature alone is enough to recognise a token.
        let sig = t.rsplit('.').next().unwrap();
        assert!(
            !text.contains(t.as_str()) && !text.contains(sig),
            "a minted token is in {what}"
        );
    }
}

/// The files of a saved plan (a zip), read with Python's zipfile (moto's
/// venv), as text.
fn plan_file_contents(wd: &Workdir, plan: &str) -> String {
    let python = irsa_acceptance::harness::tools_dir().join("venv/bin/python");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist():\n    sys.stdout.write(n + '\\n' + z.read(n).decode('utf-8', 'replace') + '\\n')",
        ])
        .arg(wd.path().join(plan))
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("tfplan"), "not a plan file: {text:.200}");
    text
}

/// The fake API server authenticates a service account by a token it
/// minted, as kube-apiserver does, only for the API audience and while it
/// is valid; such a user may read the issuer documents and nothing else.
#[tokio::test]
async fn the_fake_authenticates_minted_tokens_for_the_api_audience() {
    let sandbox = Sandbox::start_kube_only().await;
    let mint = |audience: String| {
        let s = &sandbox;
        async move {
            let body = json!({"spec": {"audiences": [audience], "expirationSeconds": 600}});
            let r = s
                .apiserver
                .request(
                    "POST",
                    "/api/v1/namespaces/default/serviceaccounts/default/token",
                    Some("application/json"),
                    body.to_string().as_bytes(),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 201);
            r.json().unwrap()["status"]["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let get = |path: &'static str, token: String| {
        let s = &sandbox;
        async move {
            let req = http::Request::get(path).body(Vec::new()).unwrap();
            s.apiserver
                .send(req, ClientAuth::Token(token), false)
                .await
                .unwrap()
                .status
        }
    };
    let api = mint(sandbox.apiserver.issuer()).await;
    assert_eq!(get("/openid/v1/jwks", api.clone()).await, 200);
    assert_eq!(
        get("/api/v1/namespaces/default/secrets", api.clone()).await,
        403
    );
    let sts = mint("sts.amazonaws.com".into()).await;
    assert_eq!(get("/openid/v1/jwks", sts).await, 401, "another audience");
    let forged = format!("{}x", api);
    assert_eq!(get("/openid/v1/jwks", forged).await, 401, "not minted here");
}

/// The registry example, run: hashicorp/aws assumes a role with the
/// service account's token and reads `aws_caller_identity`; the token is
/// in no plan or state file. Each version has its own sandbox and mostly
/// waits on hashicorp/aws, so the versions run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_assumes_a_role_through_the_real_aws_provider() {
    let example = std::fs::read_to_string(
        workspace_root()
            .join("examples/ephemeral-resources/irsa_service_account_token/ephemeral-resource.tf"),
    )
    .expect("the example");
    each_terraform_concurrently(|tf| {
        let example = example.clone();
        async move {
            let label = tf.label();
            let sandbox = Sandbox::start_with(SandboxConfig::full()).await;
            let moto = sandbox.moto.as_ref().expect("moto").endpoint.clone();
            // The cluster only: hashicorp/aws would take AWS_ACCESS_KEY_ID
            // over the web identity.
            let kube_env = || sandbox.env().into_iter().filter(|(k, _)| k.starts_with("KUBE"));
            if !ephemeral_exists(&tf) {
                let mut wd = Workdir::new(&tf, "");
                wd.envs(kube_env());
                // The provider still serves everything else...
                wd.set_config(&format!(
                    "{REQUIRED_PROVIDERS}\ndata \"irsa_jwks\" \"c\" {{}}\noutput \"kids\" {{\n  value = data.irsa_jwks.c.keys[*].kid\n}}\n"
                ));
                wd.apply().await.expect("apply");
                assert_eq!(wd.output_value("kids").await, json!(sandbox.apiserver.kids()));
                // ...and Terraform itself refuses the block.
                wd.set_config(&format!("{REQUIRED_PROVIDERS}\n{example}"));
                let out = wd.run(&["validate"]).await;
                assert!(!out.success(), "[{label}] no ephemeral resources before 1.10:\n{out}");
                out.assert_matches(r#"Unsupported block type.*"ephemeral""#);
                return;
            }
            let Some(aws) = hashicorp_aws::mirror_or_skip() else {
                return;
            };
            let mut wd = Workdir::with_mirrors(&tf, "", &aws);
            wd.envs(kube_env());
            sandbox.create_service_account("default", "app").await;
            wd.set_config(&hashicorp_aws::required_providers(&aws));
            wd.write_file("ephemeral-resource.tf", &example);
            // Only the sandbox's endpoints are added (no keys: the web
            // identity is the only credential).
            wd.write_file(
                "sandbox_override.tf",
                format!(
                    r#"provider "aws" {{
  alias                       = "as_app"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {{
    sts = {moto}
    iam = {moto}
  }}
}}
"#,
                    moto = hcl_string(&moto)
                ),
            );
            wd.write_file(
                "terraform.tfvars",
                "app_role_arn = \"arn:aws:iam::123456789012:role/app\"\n",
            );
            wd.init().await.expect("init");
            wd.run_ok(&["plan", "-out=tfplan"]).await.expect("plan");
            wd.run_ok(&["apply", "-auto-approve", "tfplan"]).await.expect("apply");
            assert_eq!(
                wd.output_value("app_assumed_role_arn").await,
                json!("arn:aws:sts::123456789012:assumed-role/app/terraform-irsa-check"),
                "[{label}]"
            );
            // The token STS got was the service account's, as asked.
            let minted = sandbox.apiserver.minted_tokens();
            let c = claims(minted.last().expect("a token was minted"));
            assert_eq!(c["sub"], "system:serviceaccount:default:app", "[{label}]");
            assert_eq!(c["aud"], json!(["sts.amazonaws.com"]), "[{label}]");
            assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900, "[{label}] 15m");

            // Nowhere on disk.
            let minted = sandbox.apiserver.minted_tokens();
            wd.run_ok(&["plan", "-out=tfplan"]).await.expect("plan again");
            assert_no_token_in("the plan file", &plan_file_contents(&wd, "tfplan"), &minted);
            let plan_json = wd.run_ok(&["show", "-json", "tfplan"]).await.expect("show plan");
            assert_no_token_in("the plan's JSON", &plan_json.stdout, &minted);
            let state = std::fs::read_to_string(wd.path().join("terraform.tfstate")).expect("state");
            assert_no_token_in("the state file", &state, &minted);
            assert!(!state.contains("irsa_service_account_token"), "[{label}] in state:\n{state}");
            let minted = sandbox.apiserver.minted_tokens();
            assert_no_token_in("the plan file", &plan_file_contents(&wd, "tfplan"), &minted);
        }
    })
    .await;
}

/// An alias of this provider configured with a token reads the cluster as
/// that service account; with a token for another audience the cluster
/// refuses it. Bad input is refused at plan, naming the attribute, before
/// any TokenRequest. No token reaches a log (TF_LOG=TRACE, Terraform's and
/// the provider's lines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_configures_an_alias_of_this_provider() {
    each_terraform(|tf| async move {
        let label = tf.label();
        if !ephemeral_exists(&tf) {
            eprintln!("[{label}] no ephemeral resources before Terraform 1.10: nothing to check");
            return;
        }
        let sandbox = Sandbox::start_kube_only().await;
        let issuer = sandbox.apiserver.issuer();
        let config = |sa: &str, audience: &str, expiration: &str| {
            format!(
                r#"{REQUIRED_PROVIDERS}
ephemeral "irsa_service_account_token" "reader" {{
  service_account = {sa}
  audience        = {audience}
  expiration      = {expiration}
}}

provider "irsa" {{
  alias = "as_reader"
  kubernetes {{
    host                   = {host}
    cluster_ca_certificate = {ca}
    token                  = ephemeral.irsa_service_account_token.reader.token
  }}
}}

data "irsa_jwks" "as_reader" {{
  provider = irsa.as_reader
}}

output "kids" {{
  value = data.irsa_jwks.as_reader.keys[*].kid
}}
"#,
                sa = hcl_string(sa),
                audience = hcl_string(audience),
                expiration = hcl_string(expiration),
                host = hcl_string(&sandbox.k8s_url()),
                ca = hcl_string(&sandbox.ca_pem()),
            )
        };
        let mut wd = Workdir::new(&tf, &config("default/default", &issuer, "10m"));
        wd.envs(sandbox.env());

        // Bad input: refused at plan naming the attribute, no call made.
        sandbox.apiserver.reset_requests();
        for (cfg, pattern) in [
            (
                config("default/default", &issuer, "9m"),
                r"Token expiration too short.*shorter than 10m",
            ),
            (
                config("default", &issuer, "10m"),
                r"Invalid service account.*not of the form",
            ),
            (config("default/default", " x", "10m"), r"Invalid audience"),
            (config("default/default", &issuer, "1d"), r"expiration"),
        ] {
            wd.set_config(&cfg);
            wd.expect_error(&["plan"], pattern).await;
        }
        assert_eq!(
            sandbox
                .apiserver
                .requests()
                .get("create", "serviceaccounts/token"),
            0,
            "[{label}] bad input reached the TokenRequest API"
        );

        // The token of another audience: the cluster refuses it.
        wd.set_config(&config("default/default", "sts.amazonaws.com", "10m"));
        wd.expect_error(&["plan"], r"401 Unauthorized").await;

        // The API audience: read as the service account, logged at TRACE.
        wd.set_config(&config("default/default", &issuer, "10m"));
        wd.env("TF_LOG", "TRACE");
        wd.env(
            "TF_LOG_PATH",
            wd.path().join("trace.log").display().to_string(),
        );
        wd.apply().await.expect("apply");
        assert_eq!(
            wd.output_value("kids").await,
            json!(sandbox.apiserver.kids()),
            "[{label}]"
        );
        let minted = sandbox.apiserver.minted_tokens();
        let c = claims(minted.last().expect("minted"));
        assert_eq!(c["aud"], json!([issuer]), "[{label}]");
        let log = std::fs::read_to_string(wd.path().join("trace.log")).expect("trace.log");
        assert!(
            log.contains("irsa::token"),
            "[{label}] the provider's own lines are in the log"
        );
        assert_no_token_in("the TRACE log", &log, &minted);
        let state = std::fs::read_to_string(wd.path().join("terraform.tfstate")).expect("state");
        assert_no_token_in("the state file", &state, &minted);
    })
    .await;
}
