//! Acceptance tests of the resource `irsa_oidc_issuer`, run with the REAL
//! Terraform CLI on every version the harness finds, against moto (one
//! server per test, reset between Terraform versions; ACM certificates are
//! ISSUED at once and CloudFront reports `Deployed` at once, so every wait is
//! short). AWS state is checked directly in moto through boto3 (see
//! `irsa_acceptance::issuer_support`).
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto +
//! boto3 venv, Terraform 1.0.3), `openssl`.
//!
//! What each test checks is said at the test. By concern:
//! [`cloudfront`] (CloudFront hosting: full cycle, key rotation with
//! invalidations, the records of others in the zone), [`s3_hosting`]
//! (S3-only hosting: full cycle, key rotation), [`drift`] (parts changed or
//! removed out of band, replacement), [`faults`] (a failure mid-create,
//! throttling), [`validation`] (bad input refused at plan, a wrong zone).
//! [`checks`] holds the checks of a whole issuer in moto; the out-of-band
//! changes are the named boto3 helpers of [`moto_changes`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irsa_acceptance::harness::{each_terraform, normalize_ws, TerraformBinary, TfOutput, Workdir};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, NO_AWS_ENDPOINT};
use serde_json::{json, Value};
use sha2::Digest as _;

/// Upper bound for one test body on one Terraform version.
const BODY_LIMIT: Duration = Duration::from_secs(20 * 60);

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/openid/v1/jwks";

mod checks;
mod cloudfront;
mod drift;
mod faults;
mod moto_changes;
mod s3_hosting;
mod validation;

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// moto's environment with AWS_ENDPOINT_URL replaced.
fn env_with_endpoint(moto: &Moto, endpoint: &str) -> Vec<(String, String)> {
    moto.env()
        .into_iter()
        .map(|(k, v)| {
            if k == "AWS_ENDPOINT_URL" {
                (k, endpoint.to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// A work dir for `hcl` with the key files written, talking to `endpoint`.
fn workdir(
    tf: &TerraformBinary,
    moto: &Moto,
    endpoint: &str,
    hcl: &IssuerHcl,
    keys: &[&TestKey],
) -> Workdir {
    let mut wd = Workdir::new(tf, &hcl.render());
    wd.envs(env_with_endpoint(moto, endpoint));
    IssuerHcl::write_keys(&wd, keys);
    wd
}

/// Replace the configuration and the key files.
fn reconfigure(wd: &Workdir, hcl: &IssuerHcl, keys: &[&TestKey]) {
    for i in 0..8 {
        let _ = std::fs::remove_file(wd.path().join(format!("key{i}.pem")));
    }
    IssuerHcl::write_keys(wd, keys);
    wd.set_config(&hcl.render());
}

fn str_list(v: &Value) -> Vec<String> {
    as_list(v)
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_string())
        .collect()
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The output without Terraform's echo of configuration lines
/// (`  12:   domain = "..."`), so that a match shows the provider said it.
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

fn trim_dot(s: &str) -> &str {
    s.trim_end_matches('.')
}

/// `plan -detailed-exitcode` must report a diff (exit 2) that names one of
/// `attrs` (a regex alternation) on a changed-attribute line and destroys
/// nothing.
async fn expect_repair_plan(wd: &Workdir, what: &str, attrs: &str) -> TfOutput {
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(2),
        "[{}] {what}: expected the plan to propose a repair (exit 2):\n{out}",
        wd.label()
    );
    let re = format!(r"(?m)^[\s│]*(?:~|\+|-|-/\+|\+/-)\s+(?:{attrs})\s+=");
    assert!(
        out.matches(&re),
        "[{}] {what}: the plan does not show a change of {attrs}:\n{out}",
        wd.label()
    );
    assert!(
        out.matches(r"0 to destroy"),
        "[{}] {what}: the repair must be in place (0 to destroy):\n{out}",
        wd.label()
    );
    out
}
