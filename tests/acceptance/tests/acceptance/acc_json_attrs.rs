//! JSON-valued arguments compare by meaning (issue: "import and generated
//! configuration plan no change"), with the REAL Terraform on every version
//! the harness runs, against moto.
//!
//! An issuer is created from `data.irsa_jwks` (the provider's canonical
//! JSON: compact, members in kube-apiserver's order). It is then taken out
//! of state and imported into configurations that spell the same JWKS
//! differently: `jsonencode(...)` (Terraform sorts members) and a
//! pretty-printed `file(...)` with members in yet another order. Each plan
//! after import must be empty. On Terraform >= 1.5 an `import` block with
//! `-generate-config-out` must plan "1 to import, 0 to add, 0 to change",
//! for both hostings; applying that plan leaves an empty plan.

use std::time::Duration;

use irsa_acceptance::harness::{
    each_terraform, TerraformBinary, TfOutput, Workdir, REQUIRED_PROVIDERS,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::Moto;
use serde_json::{json, Value};

const BODY_LIMIT: Duration = Duration::from_secs(15 * 60);

fn workdir(tf: &TerraformBinary, moto: &Moto, hcl: &IssuerHcl, key: &TestKey) -> Workdir {
    let mut wd = Workdir::new(tf, &hcl.render());
    wd.envs(moto.env());
    IssuerHcl::write_keys(&wd, &[key]);
    wd
}

/// Exit code 0 of `plan -detailed-exitcode`, or only output changes (which
/// Terraform 1.0 reports after `state rm`/`import`): no resource change.
fn assert_no_resource_change(label: &str, what: &str, out: &TfOutput) {
    let only_outputs = out.code == Some(2)
        && out.matches(r"Changes to Outputs:")
        && !out.matches(r"(?m)^\s*# irsa_oidc_issuer\.")
        && !out.matches(r"Plan: \d+ to");
    assert!(
        out.code == Some(0) || only_outputs,
        "[{label}] {what}: expected no change to the issuer:\n{out}"
    );
}

/// `{"keys":[...]}` with every key's members in reverse order.
fn reordered(jwks: &Value) -> Value {
    let keys: Vec<Value> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let mut m = serde_json::Map::new();
            for (name, v) in k.as_object().expect("key object").iter().rev() {
                m.insert(name.clone(), v.clone());
            }
            Value::Object(m)
        })
        .collect();
    json!({ "keys": keys })
}

/// `jsonencode({ keys = [{ kty = "RSA", ... }] })` for `jwks`.
fn jsonencode_expr(jwks: &Value) -> String {
    let keys: Vec<String> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let members: Vec<String> = k
                .as_object()
                .expect("key object")
                .iter()
                .map(|(name, v)| format!("{name} = {}", v))
                .collect();
            format!("{{ {} }}", members.join(", "))
        })
        .collect();
    format!("jsonencode({{ keys = [{}] }})", keys.join(", "))
}

async fn create_then_state_rm(label: &str, wd: &Workdir) -> (String, Value) {
    ok(wd.apply().await);
    let canonical = wd
        .output_value("data_jwks")
        .await
        .as_str()
        .expect("data_jwks output")
        .to_string();
    let state = wd.state_json().await;
    let stored = resource_values(&state, ADDR)["jwks"]
        .as_str()
        .expect("jwks in state")
        .to_string();
    assert_eq!(
        stored, canonical,
        "[{label}] state holds the configured spelling"
    );
    ok(wd.run_ok(&["state", "rm", ADDR]).await);
    (
        canonical.clone(),
        serde_json::from_str(&canonical).expect("JWKS JSON"),
    )
}

/// `terraform import` into a configuration whose `jwks` is `expr`: the plan
/// after it is empty, and the state keeps the imported spelling.
async fn import_plans_no_change(
    label: &str,
    wd: &Workdir,
    base: &IssuerHcl,
    name: &str,
    expr: &str,
    what: &str,
) {
    let mut hcl = base.clone();
    hcl.jwks_expr = Some(expr.to_string());
    wd.set_config(&hcl.render());
    ok(wd.import(ADDR, name).await);
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_no_resource_change(label, what, &out);
    // And applying changes nothing either.
    ok(wd.apply().await);
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(0),
        "[{label}] {what}: plan after apply:\n{out}"
    );
    ok(wd.run_ok(&["state", "rm", ADDR]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_the_same_jwks_spelled_differently_plans_no_change() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let (moto, key) = (&moto, key.clone());
        bounded(BODY_LIMIT, "json import", async move {
            let label = tf.label();
            moto.reset().await.expect("reset moto");
            let name = "json-import";
            let hcl = IssuerHcl::s3(name);
            let wd = workdir(&tf, moto, &hcl, &key);
            let (canonical, parsed) = create_then_state_rm(&label, &wd).await;

            // jsonencode sorts members: a different string, the same JSON.
            let expr = jsonencode_expr(&parsed);
            import_plans_no_change(&label, &wd, &hcl, name, &expr, "jsonencode(...)").await;

            // Pretty-printed, members reversed, from a file.
            let pretty = serde_json::to_string_pretty(&reordered(&parsed)).unwrap() + "\n";
            assert_ne!(pretty, canonical);
            wd.write_file("jwks.json", &pretty);
            import_plans_no_change(
                &label,
                &wd,
                &hcl,
                name,
                "file(\"${path.module}/jwks.json\")",
                "pretty file(...)",
            )
            .await;

            // A real change is still a change: one key removed from the set
            // is an update, not hidden by the comparison.
            let mut hcl2 = hcl.clone();
            hcl2.jwks_expr = Some("file(\"${path.module}/jwks.json\")".into());
            wd.set_config(&hcl2.render());
            ok(wd.import(ADDR, name).await);
            let other = TestKey::rsa();
            let mut two = parsed.clone();
            two["keys"].as_array_mut().unwrap().push(other.rsa_jwk());
            wd.write_file("jwks.json", serde_json::to_string_pretty(&two).unwrap());
            let out = wd.run(&["plan", "-detailed-exitcode"]).await;
            assert_eq!(
                out.code,
                Some(2),
                "[{label}] a new key must plan a change:\n{out}"
            );
            assert!(
                out.matches(r"1 to change"),
                "[{label}] a new key is an in-place update:\n{out}"
            );

            // Invalid JSON is refused at plan, naming the attribute.
            wd.write_file("jwks.json", "{\"keys\": [");
            let out = wd.run(&["plan"]).await;
            assert!(!out.success(), "[{label}] invalid JSON must fail:\n{out}");
            let errors = out.diagnostics("Error");
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("jwks") && e.contains("JSON")),
                "[{label}] the error must name jwks and JSON: {errors:#?}"
            );

            wd.write_file("jwks.json", &pretty);
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

/// `import { ... }` + `plan -generate-config-out`: 1 to import, 0 to change.
async fn generated_config_plans_no_change(label: &str, wd: &Workdir, name: &str, moto: &Moto) {
    let config = format!(
        "{REQUIRED_PROVIDERS}\n{PROVIDER_BLOCK}\nimport {{\n  to = {ADDR}\n  id = \"{name}\"\n}}\n"
    );
    wd.set_config(&config);
    let out = ok(wd
        .run_ok(&["plan", "-generate-config-out=generated.tf"])
        .await);
    let generated = std::fs::read_to_string(wd.path().join("generated.tf")).unwrap_or_default();
    assert!(
        generated.contains("jwks") && generated.contains("jsonencode("),
        "[{label}] generated config writes jwks with jsonencode:\n{generated}"
    );
    assert!(
        out.matches(r"Plan: 1 to import, 0 to add, 0 to change, 0 to destroy"),
        "[{label}] expected 1 to import and 0 to change:\n{out}\n--- generated.tf ---\n{generated}"
    );
    ok(wd.apply().await);
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(0),
        "[{label}] plan after the import apply:\n{out}"
    );
    ok(wd.destroy().await);
    assert_nothing_left(label, moto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_block_with_generated_config_plans_no_change_for_both_hostings() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let (moto, key) = (&moto, key.clone());
        bounded(BODY_LIMIT, "generate-config", async move {
            let label = tf.label();
            if tf.version_tuple() < (1, 5, 0) {
                // `import` blocks and -generate-config-out arrived in 1.5.
                eprintln!("[{label}] no import blocks before Terraform 1.5: nothing to check");
                return;
            }
            // S3 hosting.
            moto.reset().await.expect("reset moto");
            let name = "gen-s3";
            let wd = workdir(&tf, moto, &IssuerHcl::s3(name), &key);
            create_then_state_rm(&label, &wd).await;
            generated_config_plans_no_change(&label, &wd, name, moto).await;

            // CloudFront hosting.
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let name = "gen-cf";
            let hcl = IssuerHcl::cloudfront(name, "oidc.gen.example.com", &zone);
            let wd = workdir(&tf, moto, &hcl, &key);
            create_then_state_rm(&label, &wd).await;
            generated_config_plans_no_change(&label, &wd, name, moto).await;
        })
    })
    .await;
}
