//! Lifecycle acceptance tests of the resource `irsa_oidc_issuer`: the
//! `force_destroy` guard, the `timeouts { create }` deadline and replacement
//! on a `name` change. Run with the REAL Terraform CLI on every version the
//! harness finds, against moto (one server per test, reset between
//! Terraform versions). AWS state is checked directly in moto through boto3
//! (see `irsa_acceptance::issuer_support`).
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto +
//! boto3 venv, Terraform 1.0.3), `openssl`.
//!
//! What each test checks is said at the test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use irsa_acceptance::harness::{
    each_terraform, each_terraform_concurrently, normalize_ws, TerraformBinary, TfOutput, Workdir,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, MotoConfig};
use serde_json::{json, Value};

/// Upper bound for one test body on one Terraform version.
const BODY_LIMIT: Duration = Duration::from_secs(10 * 60);

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// A work dir for `hcl` with the key files written, talking to moto.
fn workdir(tf: &TerraformBinary, moto: &Moto, hcl: &IssuerHcl, keys: &[&TestKey]) -> Workdir {
    let mut wd = Workdir::new(tf, &hcl.render());
    wd.envs(moto.env());
    IssuerHcl::write_keys(&wd, keys);
    wd
}

/// The output without Terraform's echo of configuration lines
/// (`  12:   force_destroy = ...`), so that a match shows the provider said it.
fn without_source_lines(out: &TfOutput) -> String {
    let re = regex::Regex::new(r"^[\s│]*\d+:\s").unwrap();
    out.combined()
        .lines()
        .filter(|l| !re.is_match(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn said(out: &TfOutput, pattern: &str) -> bool {
    let re = regex::Regex::new(pattern).unwrap();
    let text = without_source_lines(out);
    re.is_match(&text) || re.is_match(&normalize_ws(&text))
}

/// The attributes the planned actions change (`~ a = x -> y`, `+ a = ..`,
/// `- a = ..`): only the "Terraform will perform the following actions"
/// part, not the note on changes outside Terraform nor the outputs.
fn changed_attributes(out: &TfOutput) -> BTreeSet<String> {
    let text = &out.stdout;
    let start = text
        .find("Terraform will perform the following actions:")
        .unwrap_or(text.len());
    let end = text[start..]
        .find("\nPlan: ")
        .map(|i| start + i)
        .unwrap_or(text.len());
    let re = regex::Regex::new(r"(?m)^[\s│]*(?:~|\+|-|-/\+|\+/-)\s+([a-z_]+)\s+=").unwrap();
    re.captures_iter(&text[start..end])
        .map(|c| c[1].to_string())
        .collect()
}

/// Paths (`/a/b/0`) where two JSON values differ, with both sides.
fn json_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => json_diff(&p, va, vb, out),
                    (Some(va), None) => out.push(format!("{p}: {va} -> (gone)")),
                    (None, Some(vb)) => out.push(format!("{p}: (absent) -> {vb}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}/{i}"), va, vb, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}

fn snapshot_diff(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    json_diff("", before, after, &mut out);
    out
}

/// An S3-hosted issuer `name` as moto holds it and as the state records it:
/// exactly its bucket with exactly the two documents (plus `extra_keys`),
/// the discovery document naming the state's issuer, exactly one OIDC
/// provider (the state's, for the issuer's URL, tagged `irsa:name`).
fn check_s3_issuer(label: &str, snap: &Value, v: &Value, name: &str, extra_keys: &[&str]) {
    let bucket = bucket_for(name);
    let issuer = format!("https://{bucket}.s3.{REGION}.amazonaws.com");
    assert_eq!(str_attr(v, "id"), name, "[{label}] id");
    assert_eq!(str_attr(v, "bucket"), bucket, "[{label}] bucket attribute");
    assert_eq!(str_attr(v, "issuer_url"), issuer, "[{label}] issuer_url");
    let buckets: BTreeSet<String> = snap["buckets"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        buckets,
        [bucket.clone()].into_iter().collect(),
        "[{label}] moto must hold exactly the bucket of {name:?}: {snap:#}"
    );
    let b = &snap["buckets"][&bucket];
    let keys: BTreeSet<String> = b["objects"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let want: BTreeSet<String> = [DISCOVERY_KEY, JWKS_KEY]
        .iter()
        .chain(extra_keys)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(keys, want, "[{label}] objects of {bucket}");
    let disc: Value = serde_json::from_str(
        b["objects"][DISCOVERY_KEY]["body"]
            .as_str()
            .unwrap_or("null"),
    )
    .unwrap_or(Value::Null);
    assert_eq!(disc["issuer"], issuer, "[{label}] discovery issuer: {disc}");
    assert_eq!(
        b["objects"][JWKS_KEY]["body"], v["published_jwks"],
        "[{label}] the JWKS object is not the published JWKS"
    );
    assert_eq!(
        b["tags"]["irsa:name"], name,
        "[{label}] bucket tags: {}",
        b["tags"]
    );
    let providers = as_list(&snap["oidc_providers"]);
    assert_eq!(
        providers.len(),
        1,
        "[{label}] exactly one OIDC provider: {providers:#?}"
    );
    let p = &providers[0];
    assert_eq!(
        p["arn"],
        format!(
            "arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{}",
            issuer.trim_start_matches("https://")
        ),
        "[{label}] OIDC provider: {p}"
    );
    assert_eq!(
        p["arn"], v["oidc_provider_arn"],
        "[{label}] oidc_provider_arn"
    );
    assert_eq!(
        p["url"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("https://"),
        issuer.trim_start_matches("https://"),
        "[{label}] OIDC provider URL"
    );
    assert_eq!(
        p["tags"]["irsa:name"], name,
        "[{label}] OIDC provider tags: {}",
        p["tags"]
    );
}

// ---------------------------------------------------------------------------
// 1. force_destroy
// ---------------------------------------------------------------------------

const FOREIGN_KEY: &str = "backup/notes.txt";

/// S3 hosting. An object the provider did not write (`backup/notes.txt`,
/// put through the S3 API) makes `terraform destroy` fail with an error
/// naming `force_destroy` and the bucket; the issuer stays in state and
/// moto still holds the bucket, the object and the rest of the issuer (the
/// failed destroy changed nothing in AWS). Then `force_destroy = true` is
/// an in-place update of that attribute alone and changes nothing in AWS
/// (moto identical before and after); `terraform destroy` then succeeds and
/// leaves nothing (no bucket, no OIDC provider).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_destroy_guards_foreign_objects() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "force_destroy_guards_foreign_objects", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let name = "guard";
            let bucket = bucket_for(name);
            let base = IssuerHcl::s3(name);
            let wd = workdir(&tf, moto, &base, &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            assert_eq!(
                v["force_destroy"],
                json!(false),
                "[{label}] force_destroy default"
            );
            check_s3_issuer(&label, &snapshot(&ep).await, &v, name, &[]);
            wd.plan_is_empty().await;

            // Someone else's object in the bucket.
            boto_ok(
                &ep,
                r#"client("s3").put_object(Bucket=ARGS["bucket"], Key=ARGS["key"], Body=b"not the provider's", ContentType="text/plain")"#,
                json!({"bucket": bucket, "key": FOREIGN_KEY}),
            )
            .await;
            let before = snapshot(&ep).await;
            check_s3_issuer(&label, &before, &v, name, &[FOREIGN_KEY]);

            // Problems that do not stop the rest of the test (reported at the end).
            let mut problems: Vec<String> = Vec::new();

            // Destroy is refused.
            let out = wd.run(&["destroy", "-auto-approve"]).await;
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] destroy must fail while the bucket holds {FOREIGN_KEY}:\n{out}"
            );
            assert!(
                said(&out, r"\bforce_destroy\b") && said(&out, &regex::escape(&bucket)),
                "[{label}] the error must name force_destroy and the bucket {bucket}:\n{out}"
            );
            eprintln!(
                "[{label}] destroy refused: {}",
                out.diagnostics("Error").join(" | ")
            );
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the issuer left the state after a refused destroy:\n{state:#}"
            );
            let after_refusal = snapshot(&ep).await;
            assert!(
                after_refusal["buckets"][&bucket].is_object(),
                "[{label}] the bucket is gone after a refused destroy: {after_refusal:#}"
            );
            assert!(
                after_refusal["buckets"][&bucket]["objects"][FOREIGN_KEY].is_object(),
                "[{label}] {FOREIGN_KEY} is gone after a refused destroy"
            );
            let diff = snapshot_diff(&before, &after_refusal);
            if !diff.is_empty() {
                problems.push(format!(
                    "the refused destroy changed AWS (moto before -> after):\n  {}",
                    diff.join("\n  ")
                ));
            }
            let v_after = resource_values(&state, ADDR);
            let diff = snapshot_diff(&v, &v_after);
            if !diff.is_empty() {
                problems.push(format!(
                    "the refused destroy changed the state:\n  {}",
                    diff.join("\n  ")
                ));
            }

            // force_destroy = true: in place, that attribute only, nothing in AWS.
            wd.set_config(&base.clone().with("force_destroy = true").render());
            let plan = wd.run(&["plan", "-detailed-exitcode"]).await;
            if plan.code != Some(2)
                || !plan.matches(r"0 to add, 1 to change, 0 to destroy")
                || !plan.matches(r"(?m)^[\s│]*~\s+force_destroy\s+=\s+false\s+->\s+true")
            {
                problems.push(format!(
                    "setting force_destroy should plan an in-place update of force_destroy:\n{plan}"
                ));
            }
            let changed = changed_attributes(&plan);
            if changed != ["force_destroy".to_string()].into_iter().collect() {
                problems.push(format!(
                    "the plan for force_destroy = true changes {changed:?}, not force_destroy alone:\n{plan}"
                ));
            }
            let out = ok(wd.apply().await);
            if !out.matches(r"0 to add, 1 to change, 0 to destroy") {
                problems.push(format!(
                    "setting force_destroy must update in place:\n{out}"
                ));
            }
            let v2 = values(&wd).await;
            assert_eq!(
                v2["force_destroy"],
                json!(true),
                "[{label}] force_destroy not recorded"
            );
            let after_apply = snapshot(&ep).await;
            let diff = snapshot_diff(&before, &after_apply);
            if !diff.is_empty() {
                problems.push(format!(
                    "moto differs from before the refused destroy after the force_destroy apply \
                     (it should need no AWS change):\n  {}",
                    diff.join("\n  ")
                ));
            }
            wd.plan_is_empty().await;

            // Now destroy goes through and leaves nothing.
            ok(wd.destroy().await);
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state after destroy"
            );
            assert_nothing_left(&label, moto).await;

            assert!(
                problems.is_empty(),
                "[{label}] {} problem(s):\n{}",
                problems.len(),
                problems.join("\n\n")
            );
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 2. timeouts.create
// ---------------------------------------------------------------------------

/// CloudFront hosting with ACM validation slow (moto keeps the certificate
/// PENDING_VALIDATION for 600 s) and `timeouts { create = "20s" }`: apply
/// fails after at least 20 s and within 60 s of wall time (plus twice what
/// `terraform validate` takes in the same work dir just before, so that
/// a loaded machine's slower process start does not fail it), with an error
/// saying the deadline passed; the issuer is in state, tainted, with the
/// certificate ARN (and every other part moto holds) recorded; the
/// certificate in moto is still PENDING_VALIDATION. Then `terraform
/// destroy` removes everything: no bucket, OAC, certificate, validation
/// record, distribution or OIDC provider is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_timeout_is_honoured_and_leaves_no_orphans() {
    let moto = match Moto::start_with(MotoConfig {
        // Far beyond any apply here, so "still PENDING_VALIDATION" below
        // cannot flip on a slow machine.
        acm_validation_wait_secs: 600,
        extra_env: vec![],
    })
    .await
    {
        Ok(m) => m,
        Err(e) => panic!("starting moto: {e:#}"),
    };
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "create_timeout_is_honoured", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("slow", "oidc.slow.example.com");
            let bucket = bucket_for(name);
            let hcl = IssuerHcl::cloudfront(name, domain, &zone)
                .with("timeouts {\n    create = \"20s\"\n  }");
            let mut wd = workdir(&tf, moto, &hcl, &[&key]);
            // Far above the 60 s allowed: a hang shows as a failed bound below,
            // not as a harness kill.
            wd.set_timeout(Duration::from_secs(240));

            // What starting Terraform and the provider costs right now.
            let started = Instant::now();
            ok(wd.validate().await);
            let baseline = started.elapsed();
            let bound = Duration::from_secs(60) + 2 * baseline;

            let started = Instant::now();
            let out = wd.run(&["apply", "-auto-approve"]).await;
            let took = started.elapsed();
            eprintln!(
                "[{label}] apply took {took:?} (validate took {baseline:?}; bound {bound:?})"
            );
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] apply should fail on the 20 s create deadline:\n{out}"
            );
            assert!(
                took < bound,
                "[{label}] apply took {took:?}; timeouts.create = 20s must end it within 60 s \
                 (+ 2 x {baseline:?} for process start):\n{out}"
            );
            assert!(
                took >= Duration::from_secs(20),
                "[{label}] apply failed after {took:?}, before the 20 s deadline could pass:\n{out}"
            );
            assert!(
                said(&out, r"(?i)deadline"),
                "[{label}] the error should say the deadline passed:\n{out}"
            );
            eprintln!(
                "[{label}] apply error: {}",
                out.diagnostics("Error").join(" | ")
            );

            // State: tainted, with what was made.
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the half-made issuer is not in state:\n{state:#}"
            );
            let show = ok(wd.run_ok(&["state", "show", ADDR]).await);
            assert!(
                resource_tainted(&state, ADDR) || show.matches(r"tainted"),
                "[{label}] the half-made issuer is not tainted:\n{show}"
            );
            let v = resource_values(&state, ADDR);
            let snap = snapshot(&ep).await;
            let certs = as_list(&snap["certificates"]);
            assert_eq!(
                certs.len(),
                1,
                "[{label}] moto should hold one certificate: {certs:#?}"
            );
            assert_eq!(
                certs[0]["status"], "PENDING_VALIDATION",
                "[{label}] certificate status: {}",
                certs[0]
            );
            let cert_arn = certs[0]["arn"].as_str().unwrap_or("").to_string();
            assert_eq!(
                v["certificate_arn"],
                cert_arn.as_str(),
                "[{label}] certificate ARN not recorded in state: {v:#}"
            );
            assert!(
                show.stdout.contains(&cert_arn),
                "[{label}] `terraform state show` lacks the certificate ARN:\n{show}"
            );
            // Nothing made and not recorded.
            for b in snap["buckets"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                assert_eq!(b, &bucket, "[{label}] unexpected bucket {b}");
                assert_eq!(
                    v["bucket"],
                    bucket.as_str(),
                    "[{label}] bucket made but not recorded: {v:#}"
                );
            }
            for oac in as_list(&snap["oacs"]) {
                assert_eq!(
                    v["origin_access_control_id"], oac["Id"],
                    "[{label}] OAC made but not recorded"
                );
            }
            for d in as_list(&snap["distributions"]) {
                assert_eq!(
                    v["distribution_id"], d["id"],
                    "[{label}] distribution made but not recorded"
                );
            }
            for p in as_list(&snap["oidc_providers"]) {
                assert_eq!(
                    v["oidc_provider_arn"], p["arn"],
                    "[{label}] OIDC provider made but not recorded"
                );
            }
            eprintln!(
                "[{label}] after the timed-out create moto holds:\n  {}",
                leftovers(&snap).join("\n  ")
            );

            // Destroy removes everything.
            let started = Instant::now();
            ok(wd.destroy().await);
            eprintln!("[{label}] destroy took {:?}", started.elapsed());
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state after destroy"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 3. name change
// ---------------------------------------------------------------------------

/// S3 hosting. `name = "a-one"` applied, then `"a-two"`: the plan replaces
/// the issuer (`name` forces replacement; 1 to add, 0 to change, 1 to
/// destroy); after apply moto holds only the new bucket and the new OIDC
/// provider (the old ones are gone) and the state records the new issuer;
/// empty plan; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_name_replaces_and_cleans_up_the_old_issuer() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "changing_name_replaces", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let wd = workdir(&tf, moto, &IssuerHcl::s3("a-one"), &[&key]);
            ok(wd.apply().await);
            check_s3_issuer(
                &label,
                &snapshot(&ep).await,
                &values(&wd).await,
                "a-one",
                &[],
            );
            wd.plan_is_empty().await;

            wd.set_config(&IssuerHcl::s3("a-two").render());
            let plan = wd.run(&["plan", "-detailed-exitcode"]).await;
            assert_eq!(
                plan.code,
                Some(2),
                "[{label}] renaming should plan changes:\n{plan}"
            );
            assert!(
                plan.matches(r"1 to add, 0 to change, 1 to destroy"),
                "[{label}] renaming must replace the issuer:\n{plan}"
            );
            assert!(
                plan.matches(r"irsa_oidc_issuer\.this must be replaced"),
                "[{label}] the plan should say the issuer must be replaced:\n{plan}"
            );
            assert!(
                plan.matches(
                    r#"(?m)^[\s│]*~\s+name\s+=\s+"a-one"\s+->\s+"a-two"\s+# forces replacement"#
                ),
                "[{label}] the plan should say `name` forces the replacement:\n{plan}"
            );

            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"1 to add, 0 to change, 1 to destroy"),
                "[{label}] apply must replace the issuer:\n{out}"
            );
            let snap = snapshot(&ep).await;
            check_s3_issuer(&label, &snap, &values(&wd).await, "a-two", &[]);
            assert!(
                !snap["buckets"][&bucket_for("a-one")].is_object(),
                "[{label}] the old bucket is still there"
            );
            wd.plan_is_empty().await;

            ok(wd.destroy().await);
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state after destroy"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Client IDs at IAM's limit
// ---------------------------------------------------------------------------

fn client_ids_line(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    format!("client_ids = [{}]", quoted.join(", "))
}

/// S3 hosting with 100 client IDs (IAM's quota
/// ClientIdsPerOpenIdConnectProvider; the moto patch `iam_client_ids.py`
/// answers 409 LimitExceeded past it, as IAM does). Swapping one ID, then
/// twenty, updates the provider in place: the removals go first, so IAM
/// never holds 101. moto then holds exactly the configured IDs, the plan is
/// empty, and destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ids_swap_at_the_limit() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "client_ids_swap_at_the_limit", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let ids: Vec<String> = (0..100).map(|i| format!("aud-{i}")).collect();
            let hcl = |ids: &[String]| IssuerHcl::s3("limit").with(&client_ids_line(ids));
            let wd = workdir(&tf, moto, &hcl(&ids), &[&key]);
            ok(wd.apply().await);
            let mut swapped = ids.clone();
            swapped[99] = "aud-new".into();
            let mut many = swapped.clone();
            for (i, id) in many.iter_mut().enumerate().take(20) {
                *id = format!("aud-other-{i}");
            }
            for (what, want) in [("one swapped", &swapped), ("twenty swapped", &many)] {
                wd.set_config(&hcl(want).render());
                let out = wd.run(&["apply", "-auto-approve"]).await;
                assert!(
                    out.success() && out.matches(r"0 to add, 1 to change, 0 to destroy"),
                    "[{label}] {what}: the update at 100 client IDs failed:\n{out}"
                );
                let snap = snapshot(&moto.endpoint).await;
                let providers = as_list(&snap["oidc_providers"]);
                assert_eq!(providers.len(), 1, "[{label}] {what}: {providers:#?}");
                let held: BTreeSet<String> = as_list(&providers[0]["client_ids"])
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                assert_eq!(
                    held,
                    want.iter().cloned().collect::<BTreeSet<_>>(),
                    "[{label}] {what}: IAM's client IDs"
                );
                wd.plan_is_empty().await;
            }
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

/// S3 hosting. Our OIDC provider is deleted out of band and a refresh
/// records that (`oidc_provider_arn` null); then someone makes a provider
/// for the same URL (same ARN) without our `irsa:name` tag. Destroy (without
/// a refresh, so the ARN stays unrecorded) deletes the bucket but leaves
/// that provider alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_a_foreign_provider_at_our_url() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "destroy_leaves_a_foreign_provider", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let wd = workdir(&tf, moto, &IssuerHcl::s3("foreign"), &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let arn = str_attr(&v, "oidc_provider_arn").to_string();
            let url = str_attr(&v, "issuer_url").to_string();
            boto_ok(
                &ep,
                r#"client("iam", "us-east-1").delete_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"])"#,
                json!({"arn": arn}),
            )
            .await;
            ok(wd.run_ok(&["apply", "-refresh-only", "-auto-approve"]).await);
            let v = values(&wd).await;
            assert!(
                v["oidc_provider_arn"].is_null(),
                "[{label}] refresh should record the provider gone: {v:#}"
            );
            boto_ok(
                &ep,
                r#"client("iam", "us-east-1").create_open_id_connect_provider(Url=ARGS["url"], ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0"*40])"#,
                json!({"url": url}),
            )
            .await;
            ok(wd.run_ok(&["destroy", "-refresh=false", "-auto-approve"]).await);
            let snap = snapshot(&ep).await;
            let providers = as_list(&snap["oidc_providers"]);
            assert!(
                providers.len() == 1 && providers[0]["arn"] == json!(arn),
                "[{label}] the foreign provider at our URL was deleted: {providers:#?}"
            );
            assert!(
                snap["buckets"].as_object().is_none_or(|b| b.is_empty()),
                "[{label}] the bucket was not deleted: {snap:#}"
            );
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// Deployments that take time: wait_for_deployment, timeouts, Stop
// ---------------------------------------------------------------------------

/// moto's state manager for `cloudfront::distribution`: `Some(s)` makes a
/// distribution read `InProgress` until `s` seconds after its last change
/// (create, or update: the patch `cloudfront_distribution_versions.py`
/// resets the clock), as a real deployment does; `None`: `Deployed` at once.
async fn deploy_delay(moto: &Moto, secs: Option<u64>) {
    let transition = match secs {
        Some(s) => json!({"progression": "time", "seconds": s}),
        None => json!({"progression": "immediate"}),
    };
    boto_ok(
        &moto.endpoint,
        r#"
import urllib.request
req = urllib.request.Request(
    EP + "/moto-api/state-manager/set-transition",
    data=json.dumps({"model_name": "cloudfront::distribution", "transition": ARGS}).encode(),
    method="POST")
out(urllib.request.urlopen(req, timeout=10).status)
"#,
        transition,
    )
    .await;
}

/// The status moto reports for the only distribution.
async fn distribution_status(moto: &Moto) -> String {
    let snap = snapshot(&moto.endpoint).await;
    let d = as_list(&snap["distributions"]);
    assert_eq!(d.len(), 1, "expected one distribution: {d:?}");
    d[0]["status"].as_str().unwrap_or("").to_string()
}

/// CloudFront hosting; a deployment takes 30 s (moto's state manager).
/// `wait_for_deployment = false`: apply returns while the distribution is
/// still `InProgress` (read right after), and the plan is empty. Then
/// `wait_for_deployment = true` with a price class change (a new
/// deployment): right after apply the distribution reads `Deployed`, which
/// moto reports only 30 s after the update, so the apply waited for it.
/// Destroy (waiting for the disabled distribution to deploy) leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_deployment_waits_only_when_true() {
    let key = TestKey::fixture();
    // Mostly waiting (30 s deployments): each version with its own moto,
    // all at once.
    each_terraform_concurrently(|tf| {
        let key = key.clone();
        async move {
            let moto = &start_moto().await;
            bounded(BODY_LIMIT, "wait_for_deployment", async move {
                let label = tf.label();
                let zone = fresh_moto_with_zone(moto, "example.com").await;
                deploy_delay(moto, Some(30)).await;
                let (name, domain) = ("deploy", "oidc.deploy.example.com");
                let base = IssuerHcl::cloudfront(name, domain, &zone);
                let mut wd = workdir(
                    &tf,
                    moto,
                    &base.clone().with("wait_for_deployment = false"),
                    &[&key],
                );
                wd.set_timeout(Duration::from_secs(300));
                let started = Instant::now();
                ok(wd.apply().await);
                let took = started.elapsed();
                let status = distribution_status(moto).await;
                eprintln!("[{label}] apply without waiting took {took:?}; status {status}");
                if took < Duration::from_secs(30) {
                    assert_eq!(
                        status, "InProgress",
                        "[{label}] wait_for_deployment = false: moto already Deployed?"
                    );
                }
                wd.plan_is_empty().await;

                wd.set_config(
                    &base
                        .clone()
                        .with("wait_for_deployment = true")
                        .with(r#"price_class = "PriceClass_200""#)
                        .render(),
                );
                let started = Instant::now();
                ok(wd.apply().await);
                let took = started.elapsed();
                let status = distribution_status(moto).await;
                eprintln!("[{label}] apply with waiting took {took:?}; status {status}");
                assert_eq!(
                    status, "Deployed",
                    "[{label}] wait_for_deployment = true returned before Deployed"
                );
                assert!(
                    took >= Duration::from_secs(25),
                    "[{label}] the update did not wait ({took:?})"
                );
                wd.plan_is_empty().await;

                ok(wd.destroy().await);
                assert!(
                    !in_state(&wd.state_json().await, ADDR),
                    "[{label}] still in state"
                );
                assert_nothing_left(&label, moto).await;
                deploy_delay(moto, None).await;
            })
            .await
        }
    })
    .await;
}

/// CloudFront hosting, created while deployments are instant. Then a
/// deployment takes 600 s. `timeouts { update = "15s" }` with a price class
/// change: apply fails after 15 s (and within 60 s plus twice a `terraform
/// validate`), saying the deadline passed; moto holds the new price class.
/// Deployments instant again: apply converges, empty plan. Then `timeouts {
/// delete = "15s" }` and a 600 s deployment: destroy fails the same way,
/// the issuer stays in state and its distribution in moto. Deployments
/// instant: destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_timeouts_are_honoured() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "update_and_delete_timeouts", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            deploy_delay(moto, None).await;
            let (name, domain) = ("deadline", "oidc.deadline.example.com");
            let base = IssuerHcl::cloudfront(name, domain, &zone);
            let mut wd = workdir(&tf, moto, &base, &[&key]);
            wd.set_timeout(Duration::from_secs(300));
            ok(wd.apply().await);
            let started = Instant::now();
            ok(wd.validate().await);
            let bound = Duration::from_secs(60) + 2 * started.elapsed();

            // timeouts.update
            deploy_delay(moto, Some(600)).await;
            wd.set_config(
                &base
                    .clone()
                    .with(r#"price_class = "PriceClass_200""#)
                    .with("timeouts {\n    update = \"15s\"\n  }")
                    .render(),
            );
            let started = Instant::now();
            let out = wd.run(&["apply", "-auto-approve"]).await;
            let took = started.elapsed();
            eprintln!("[{label}] update took {took:?} (bound {bound:?})");
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] the update should fail on its 15 s deadline:\n{out}"
            );
            assert!(
                took >= Duration::from_secs(15),
                "[{label}] failed after {took:?}, before the deadline:\n{out}"
            );
            assert!(
                took < bound,
                "[{label}] update took {took:?}, timeouts.update = 15s must end it sooner:\n{out}"
            );
            assert!(
                said(&out, r"(?i)deadline"),
                "[{label}] the error should say the deadline passed:\n{out}"
            );
            let snap = snapshot(&ep).await;
            assert_eq!(
                snap["distributions"][0]["config"]["PriceClass"], "PriceClass_200",
                "[{label}] update not sent"
            );
            deploy_delay(moto, None).await;
            ok(wd.apply().await);
            wd.plan_is_empty().await;

            // timeouts.delete (recorded in state first: destroy reads it there).
            wd.set_config(
                &base
                    .clone()
                    .with(r#"price_class = "PriceClass_200""#)
                    .with("timeouts {\n    delete = \"15s\"\n  }")
                    .render(),
            );
            ok(wd.apply().await);
            deploy_delay(moto, Some(600)).await;
            let started = Instant::now();
            let out = wd.run(&["destroy", "-auto-approve"]).await;
            let took = started.elapsed();
            eprintln!("[{label}] destroy took {took:?} (bound {bound:?})");
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] destroy should fail on its 15 s deadline:\n{out}"
            );
            assert!(
                took >= Duration::from_secs(15),
                "[{label}] destroy failed after {took:?}, before the deadline:\n{out}"
            );
            assert!(
                took < bound,
                "[{label}] destroy took {took:?}, timeouts.delete = 15s must end it sooner:\n{out}"
            );
            assert!(
                said(&out, r"(?i)deadline"),
                "[{label}] the error should say the deadline passed:\n{out}"
            );
            assert!(
                in_state(&wd.state_json().await, ADDR),
                "[{label}] the issuer left the state though destroy failed"
            );
            assert_eq!(
                as_list(&snapshot(&ep).await["distributions"]).len(),
                1,
                "[{label}] distribution gone?"
            );
            deploy_delay(moto, None).await;
            ok(wd.destroy().await);
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

/// CloudFront hosting through a counting proxy; a deployment takes 600 s,
/// so create waits for it. Two seconds after CreateDistribution reached
/// moto, Terraform gets SIGINT (Ctrl-C): it stops the provider and exits
/// within 60 s, not hung; the issuer is in state with every part moto holds
/// recorded (bucket, OAC, certificate, distribution). Deployments instant
/// again: apply converges (one issuer in moto: one distribution, OAC,
/// certificate, bucket, OIDC provider), the plan is empty, and destroy
/// leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_during_apply_records_what_exists_and_converges() {
    use irsa_acceptance::fault_proxy::FaultProxy;
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "stop_during_apply", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            deploy_delay(moto, Some(600)).await;
            let proxy = FaultProxy::start(&ep).await.expect("proxy");
            let (name, domain) = ("stopped", "oidc.stopped.example.com");
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let mut wd = Workdir::new(&tf, &hcl.render());
            wd.envs(moto.env().into_iter().map(|(k, v)| {
                if k == "AWS_ENDPOINT_URL" {
                    (k, proxy.url())
                } else {
                    (k, v)
                }
            }));
            IssuerHcl::write_keys(&wd, &[&key]);
            wd.set_timeout(Duration::from_secs(300));
            let created = async {
                let made = proxy
                    .wait_until(Duration::from_secs(240), |p| {
                        p.log().iter().any(|r| {
                            r.forwarded && r.method == "POST" && r.path().ends_with("/distribution")
                        })
                    })
                    .await;
                assert!(
                    made,
                    "[{label}] no CreateDistribution within 240 s:\n{}",
                    proxy.log_text()
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            };
            let started = Instant::now();
            let out = wd
                .run_interrupted(&["apply", "-auto-approve"], created)
                .await;
            let took = started.elapsed();
            eprintln!("[{label}] interrupted apply took {took:?}");
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] the interrupted apply should fail, not hang:\n{out}"
            );
            assert!(
                out.matches(r"(?i)interrupt|stopp|cancel"),
                "[{label}] the output should say the apply was interrupted:\n{out}"
            );
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the half-made issuer is not in state:\n{state:#}"
            );
            let v = resource_values(&state, ADDR);
            let snap = snapshot(&ep).await;
            let dists = as_list(&snap["distributions"]);
            assert_eq!(dists.len(), 1, "[{label}] distributions: {dists:?}");
            assert_eq!(
                v["distribution_id"], dists[0]["id"],
                "[{label}] distribution not recorded: {v:#}"
            );
            assert_eq!(
                v["bucket"],
                bucket_for(name).as_str(),
                "[{label}] bucket not recorded"
            );
            for oac in as_list(&snap["oacs"]) {
                assert_eq!(
                    v["origin_access_control_id"], oac["Id"],
                    "[{label}] OAC not recorded"
                );
            }
            for c in as_list(&snap["certificates"]) {
                assert_eq!(
                    v["certificate_arn"], c["arn"],
                    "[{label}] certificate not recorded"
                );
            }

            deploy_delay(moto, None).await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            for (what, n) in [
                ("distributions", as_list(&snap["distributions"]).len()),
                ("OACs", as_list(&snap["oacs"]).len()),
                ("certificates", as_list(&snap["certificates"]).len()),
                ("OIDC providers", as_list(&snap["oidc_providers"]).len()),
                (
                    "buckets",
                    snap["buckets"].as_object().map_or(0, |m| m.len()),
                ),
            ] {
                assert_eq!(
                    n, 1,
                    "[{label}] {what} in moto after the converging apply: {n}\n{snap:#}"
                );
            }
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}
