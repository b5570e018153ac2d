//! Acceptance tests of resource identity (Terraform 1.12+), run with the
//! REAL Terraform CLI on every version the harness finds: `irsa_oidc_issuer`
//! is identified by `{ name, account_id }` (against moto), `irsa_webhook` by
//! `{ namespace, name }` (against the in-process fake API server).
//!
//! On 1.15.5: `terraform show -json` holds the identity after apply; an
//! `import { to = ..., identity = { ... } }` block plans `1 to import, 0 to
//! add, 0 to change, 0 to destroy`, applies, and the next plan is empty; an
//! identity that names nothing fails naming what was looked for. On older
//! versions (1.0.3, 1.11.4) the same resources create, show and destroy as
//! before, with no identity in sight.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto,
//! Terraform 1.0.3 and 1.15.5).

use std::time::Duration;

use irsa_acceptance::harness::{
    each_terraform, hcl_string, TerraformBinary, Workdir, REQUIRED_PROVIDERS,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, Sandbox};
use serde_json::{json, Value};

const BODY_LIMIT: Duration = Duration::from_secs(15 * 60);

fn identity_exists(tf: &TerraformBinary) -> bool {
    tf.version_tuple() >= (1, 12, 0)
}

/// The resource `addr` in `terraform show -json`.
fn resource<'a>(state: &'a Value, addr: &str) -> &'a Value {
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == addr))
        .unwrap_or_else(|| panic!("{addr} not in state: {state:#}"))
}

fn issuer_workdir(tf: &TerraformBinary, moto: &Moto, name: &str, key: &TestKey) -> Workdir {
    let mut wd = Workdir::new(tf, &IssuerHcl::s3(name).render());
    wd.envs(moto.env());
    IssuerHcl::write_keys(&wd, &[key]);
    wd
}

/// The issuer's configuration without its outputs, and an import block.
fn issuer_import_config(name: &str, identity: &str) -> String {
    let full = IssuerHcl::s3(name).render();
    let resources = &full[..full.find("output \"").expect("outputs")];
    format!("{resources}\nimport {{\n  to       = {ADDR}\n  identity = {identity}\n}}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_identity_is_shown_and_imports_by_identity() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let (moto, key) = (&moto, key.clone());
        bounded(BODY_LIMIT, "issuer identity", async move {
            let label = tf.label();
            moto.reset().await.expect("reset moto");
            let name = "idy";
            let wd = issuer_workdir(&tf, moto, name, &key);
            ok(wd.apply().await);
            let state = wd.state_json().await;
            let r = resource(&state, ADDR);
            if !identity_exists(&tf) {
                assert!(r.get("identity").is_none(), "[{label}] {r:#}");
                ok(wd.destroy().await);
                assert_nothing_left(&label, moto).await;
                return;
            }
            assert_eq!(
                r["identity"],
                json!({"name": name, "account_id": ACCOUNT_ID}),
                "[{label}] {r:#}"
            );
            assert_eq!(r["identity_schema_version"], 0, "[{label}]");

            // Forget it, then adopt it again by identity, account left out.
            ok(wd.run_ok(&["state", "rm", ADDR]).await);
            wd.set_config(&issuer_import_config(name, "{ name = \"idy\" }"));
            let plan = ok(wd.plan().await);
            plan.assert_matches(r"Plan: 1 to import, 0 to add, 0 to change, 0 to destroy");
            ok(wd.apply().await);
            wd.plan_is_empty().await;
            let state = wd.state_json().await;
            assert_eq!(
                resource(&state, ADDR)["identity"],
                json!({"name": name, "account_id": ACCOUNT_ID}),
                "[{label}] identity after the import"
            );

            // An identity that names nothing says what was looked for.
            ok(wd.run_ok(&["state", "rm", ADDR]).await);
            wd.set_config(&issuer_import_config("nope", "{ name = \"nope\" }"));
            wd.expect_error(
                &["plan"],
                r#"No such issuer.*There is no issuer named "nope" in account 123456789012: the bucket nope-oidc-123456789012 does not exist"#,
            )
            .await;
            // Another account than the credentials' is refused, naming both.
            wd.set_config(&issuer_import_config(
                name,
                "{ name = \"idy\", account_id = \"210987654321\" }",
            ));
            wd.expect_error(&["plan"], r"Issuer in another account.*account 210987654321.*account 123456789012")
                .await;
            // A bad name is refused before any call.
            wd.set_config(&issuer_import_config(name, "{ name = \"Not_A_Name\" }"));
            wd.expect_error(&["plan"], r"Invalid identity.*`name`").await;

            // Adopt it back (with the account given) and clean up.
            wd.set_config(&issuer_import_config(
                name,
                &format!("{{ name = \"idy\", account_id = \"{ACCOUNT_ID}\" }}"),
            ));
            ok(wd.apply().await);
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

/// An S3 `irsa_issuer_host` and the issuer `team-a` on it (at
/// `eu/team-a`), with an optional import block for the issuer.
fn on_host_config(import_identity: Option<&str>) -> String {
    let mut s = format!(
        r#"{REQUIRED_PROVIDERS}
{PROVIDER_BLOCK}
resource "irsa_issuer_host" "platform" {{
  name    = "platform"
  hosting = "s3"
}}

data "irsa_jwks" "k" {{
  public_keys_pem = [file("${{path.module}}/key0.pem")]
}}

resource "irsa_oidc_issuer" "this" {{
  name = "team-a"
  host = irsa_issuer_host.platform.id
  path = "eu/team-a"
  jwks = data.irsa_jwks.k.json
}}
"#
    );
    if let Some(identity) = import_identity {
        s.push_str(&format!(
            "\nimport {{\n  to       = {ADDR}\n  identity = {identity}\n}}\n"
        ));
    }
    s
}

/// An issuer on an `irsa_issuer_host` has the same identity `{ name,
/// account_id }` (its bucket is the host's), and an import by identity
/// finds it by its IAM OIDC provider's tags, as the import by name does.
/// Terraform 1.12+ only: acc_issuer_host runs such issuers on every version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_on_a_host_imports_by_identity() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let (moto, key) = (&moto, key.clone());
        bounded(BODY_LIMIT, "on-host issuer identity", async move {
            let label = tf.label();
            if !identity_exists(&tf) {
                eprintln!("[{label}] no resource identity before Terraform 1.12: nothing to check");
                return;
            }
            moto.reset().await.expect("reset moto");
            let mut wd = Workdir::new(&tf, &on_host_config(None));
            wd.envs(moto.env());
            IssuerHcl::write_keys(&wd, &[&key]);
            ok(wd.apply().await);
            let want = json!({"name": "team-a", "account_id": ACCOUNT_ID});
            assert_eq!(
                resource(&wd.state_json().await, ADDR)["identity"],
                want,
                "[{label}]"
            );

            ok(wd.run_ok(&["state", "rm", ADDR]).await);
            wd.set_config(&on_host_config(Some("{ name = \"team-a\" }")));
            let plan = ok(wd.plan().await);
            plan.assert_matches(r"Plan: 1 to import, 0 to add, 0 to change, 0 to destroy");
            ok(wd.apply().await);
            wd.plan_is_empty().await;
            let state = wd.state_json().await;
            assert_eq!(
                resource(&state, ADDR)["identity"],
                want,
                "[{label}] after the import"
            );
            assert_eq!(
                resource(&state, ADDR)["values"]["host"],
                "platform",
                "[{label}] imported as the issuer on the host"
            );
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

const WEBHOOK_ADDR: &str = "irsa_webhook.this";

fn webhook_config(sandbox: &Sandbox) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    config_path = {path}
  }}
}}

resource "irsa_webhook" "this" {{
  aws_region = "eu-west-1"
  replicas   = 1
}}
"#,
        path = hcl_string(&sandbox.kubeconfig_path().display().to_string()),
    )
}

fn webhook_import(sandbox: &Sandbox, identity: &str) -> String {
    format!(
        "{}\nimport {{\n  to       = {WEBHOOK_ADDR}\n  identity = {identity}\n}}\n",
        webhook_config(sandbox)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_identity_is_shown_and_imports_by_identity() {
    each_terraform(|tf| async move {
        let label = tf.label();
        let sandbox = Sandbox::start_kube_only().await;
        let wd = Workdir::new(&tf, &webhook_config(&sandbox));
        wd.apply().await.expect("apply");
        let state = wd.state_json().await;
        let r = resource(&state, WEBHOOK_ADDR);
        if !identity_exists(&tf) {
            assert!(r.get("identity").is_none(), "[{label}] {r:#}");
            wd.destroy().await.expect("destroy");
            return;
        }
        let want = json!({"namespace": "kube-system", "name": "pod-identity-webhook"});
        assert_eq!(r["identity"], want, "[{label}] {r:#}");

        wd.run_ok(&["state", "rm", WEBHOOK_ADDR])
            .await
            .expect("state rm");
        wd.set_config(&webhook_import(
            &sandbox,
            "{ namespace = \"kube-system\", name = \"pod-identity-webhook\" }",
        ));
        let plan = wd.plan().await.expect("plan");
        plan.assert_matches(r"Plan: 1 to import, 0 to add, 0 to change, 0 to destroy");
        wd.apply().await.expect("apply the import");
        wd.plan_is_empty().await;
        assert_eq!(
            resource(&wd.state_json().await, WEBHOOK_ADDR)["identity"],
            want
        );

        wd.run_ok(&["state", "rm", WEBHOOK_ADDR])
            .await
            .expect("state rm");
        wd.set_config(&webhook_import(
            &sandbox,
            "{ namespace = \"kube-system\", name = \"nope\" }",
        ));
        wd.expect_error(
            &["plan"],
            r"Cannot import the webhook.*Deployment kube-system/nope does not exist",
        )
        .await;
        wd.set_config(&webhook_import(
            &sandbox,
            "{ namespace = \"Kube_System\", name = \"x\" }",
        ));
        wd.expect_error(&["plan"], r"Invalid identity.*`namespace`")
            .await;

        wd.set_config(&webhook_import(
            &sandbox,
            "{ namespace = \"kube-system\", name = \"pod-identity-webhook\" }",
        ));
        wd.apply().await.expect("apply the import");
        wd.destroy().await.expect("destroy");
    })
    .await;
}
