//! Acceptance tests of `irsa_trust_policy` with the REAL Terraform CLI on
//! every version the harness finds. The data source needs no AWS and no
//! cluster: these runs have neither (AWS calls would go nowhere).
//!
//! Needs: `cargo build -p terraform-provider-irsa`.

use std::time::Duration;

use irsa_acceptance::harness::{each_terraform, Workdir, REQUIRED_PROVIDERS};
use irsa_acceptance::issuer_support::{bounded, ok};
use irsa_acceptance::sandbox::NO_AWS_ENDPOINT;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(5 * 60);
const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";

fn hcl(service_accounts: &str, extra: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{}}

data "irsa_trust_policy" "app" {{
  oidc_provider_arn = "{ARN}"
  service_accounts  = {service_accounts}
{extra}}}

output "json" {{
  value = data.irsa_trust_policy.app.json
}}
"#
    )
}

fn workdir(tf: &irsa_acceptance::harness::TerraformBinary, config: &str) -> Workdir {
    let mut wd = Workdir::new(tf, config);
    wd.env("AWS_ENDPOINT_URL", NO_AWS_ENDPOINT);
    wd
}

/// The JSON the data source writes, in the exact bytes: checked by hand
/// against AWS's IRSA trust-policy examples (exact subjects with
/// StringEquals, wildcards with StringLike in a statement of their own).
const EXPECTED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com","oidc.example.com:sub":["system:serviceaccount:default:api","system:serviceaccount:default:my-app"]}}},{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com:sub":"system:serviceaccount:jobs:*"}}}]}"#;

/// The document for exact and wildcard service accounts, its bytes, and no
/// plan diff when the list is reordered or repeats a name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_policy_document_and_no_diff_from_ordering() {
    each_terraform(|tf| async move {
        bounded(LIMIT, "trust policy", async {
            let wd = workdir(&tf, &hcl(r#"["default/my-app", "jobs/*", "default/api"]"#, ""));
            ok(wd.apply().await);
            let json = wd.output_value("json").await;
            assert_eq!(json.as_str().unwrap(), EXPECTED);
            let doc: Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
            assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
            wd.set_config(&hcl(
                r#"["jobs/*", "default/api", "default/my-app", "default/api"]"#,
                "",
            ));
            wd.plan_is_empty().await;
            // An extra condition goes into every statement.
            wd.set_config(&hcl(
                r#"["default/my-app"]"#,
                r#"  extra_conditions = [{ test = "StringEquals", variable = "aws:RequestedRegion", values = ["eu-west-1"] }]
"#,
            ));
            ok(wd.apply().await);
            let json = wd.output_value("json").await;
            let doc: Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
            assert_eq!(
                doc["Statement"][0]["Condition"]["StringEquals"]["aws:RequestedRegion"],
                "eu-west-1"
            );
        })
        .await
    })
    .await;
}

/// Bad inputs are refused at plan, naming the attribute, before anything
/// is read: a bare `*`, `*` in a namespace, an empty list, a name that is
/// not a DNS name, an ARN that is not an OIDC provider, a malformed ARN,
/// an extra condition on the `:sub` key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_policy_bad_inputs_are_refused_at_plan() {
    each_terraform(|tf| async move {
        bounded(LIMIT, "trust policy errors", async {
            let wd = workdir(&tf, &hcl(r#"["*"]"#, ""));
            for (sas, extra, pattern) in [
                (r#"["*"]"#, "", r#"Invalid service account.*"\*" would let every service account"#),
                (r#"["team-*/app"]"#, "", r"wildcards are allowed in the name only"),
                ("[]", "", r"No service accounts.*`service_accounts` is empty"),
                (r#"["default/My_App"]"#, "", r"not a valid service account name \(a DNS subdomain name"),
                (r#"["Default/app"]"#, "", r"not a valid Kubernetes namespace name \(a DNS label"),
                (
                    r#"["default/app"]"#,
                    r#"  extra_conditions = [{ test = "StringLike", variable = "oidc.example.com:sub", values = ["x"] }]
"#,
                    r"Conflicting condition.*StringLike on .oidc\.example\.com:sub.",
                ),
            ] {
                wd.set_config(&hcl(sas, extra));
                let out = wd.expect_error(&["plan"], pattern).await;
                // The attribute is named in the diagnostic's context.
                out.assert_matches(r#"data "irsa_trust_policy" "app""#);
            }
            for (arn, pattern) in [
                (
                    "arn:aws:iam::123456789012:role/app",
                    r"Invalid OIDC provider ARN.*the ARN of an IAM role, not of an OIDC provider",
                ),
                ("oidc.example.com", r"Invalid OIDC provider ARN.*is not an ARN"),
            ] {
                wd.set_config(&hcl(r#"["default/app"]"#, "").replace(ARN, arn));
                wd.expect_error(&["plan"], pattern).await;
            }
            // Also by `terraform validate`, which reads nothing.
            wd.set_config(&hcl(r#"["*/x"]"#, ""));
            let out = wd.run(&["validate"]).await;
            assert!(!out.success(), "{out}");
            out.assert_matches("wildcards are allowed in the name only");
        })
        .await
    })
    .await;
}
