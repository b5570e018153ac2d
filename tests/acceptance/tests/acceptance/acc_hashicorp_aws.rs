//! Our provider beside the REAL `hashicorp/aws` (5.100.0, from the machine
//! image's filesystem mirror), in the configuration our users run them
//! together, against moto, on every Terraform of the matrix:
//!
//! * a role for a service account: `aws_iam_role.assume_role_policy` from
//!   `data.irsa_trust_policy`, applied, then an empty plan (hashicorp/aws
//!   keeps the document as IAM returns it, so a trust policy that IAM
//!   rewrites would plan a change forever);
//! * the old module's walk-through (its "Implementation Guide", steps 1-2),
//!   typed as written, with our drop-in module `examples/modules/kubernetes-irsa`
//!   in place of `KamranBiglari/kubernetes-irsa/aws` and the application's
//!   role beside it. The blog itself could not be fetched here: the steps
//!   are written from what the old module documents (its README's examples
//!   2 and 3: the module call, then `aws_iam_role` with a `jsonencode`d
//!   trust policy over `module.irsa.oidc_provider_arn` and
//!   `oidc_provider_url`) and from the guide's toleration for control-plane
//!   nodes, an entry without `value` (`operator = "Exists"`), which the old
//!   module's `list(object({...}))` refused and the drop-in accepts. As the
//!   migration guide says, the `providers = {...}` map and the helm
//!   provider the old module needed are left out.
//!
//! The migration from the old module (its objects made by hashicorp/aws
//! resources) is in `acc_module`.
//!
//! Without the mirror (`IRSA_TF_PLUGIN_MIRROR`, else `/opt/tf-plugins`)
//! these tests are reported SKIPPED with the reason. Each Terraform version
//! has its own moto (and sandbox), so the versions run at the same time
//! (`each_terraform_concurrently`): hashicorp/aws spends seconds on every
//! command.

use std::time::Duration;

use irsa_acceptance::harness::{each_terraform_concurrently, hcl_string, workspace_root};
use irsa_acceptance::hashicorp_aws::{self, mirror_or_skip, provider_block, required_providers};
use irsa_acceptance::issuer_support::{bounded, start_moto, ACCOUNT_ID};
use serde_json::{json, Value};

use crate::acc_module::{copy_dir, objects_of_kind, webhook_deployments, world, DOMAIN};

const LIMIT: Duration = Duration::from_secs(10 * 60);
const ISSUER_HOST: &str = "oidc.example.com";

/// (a) `aws_iam_openid_connect_provider` and `aws_iam_role` from
/// hashicorp/aws, the role's `assume_role_policy` from `irsa_trust_policy`
/// over that provider's ARN: apply, the policy IAM stored means the same
/// as the data source's document, and the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_from_trust_policy_applies_then_plans_empty() {
    let Some(aws) = mirror_or_skip() else {
        return;
    };
    each_terraform_concurrently(|tf| {
        let aws = &aws;
        async move {
            bounded(LIMIT, "role from irsa_trust_policy", async {
                let moto = &start_moto().await;
                let config = format!(
                    r#"{required}
{aws_block}
provider "irsa" {{}}

resource "aws_iam_openid_connect_provider" "cluster" {{
  url             = "https://{ISSUER_HOST}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}}

data "irsa_trust_policy" "app" {{
  oidc_provider_arn = aws_iam_openid_connect_provider.cluster.arn
  service_accounts  = ["default/my-app", "jobs/*"]
}}

resource "aws_iam_role" "app" {{
  name               = "my-app"
  assume_role_policy = data.irsa_trust_policy.app.json
}}

output "stored" {{ value = jsondecode(aws_iam_role.app.assume_role_policy) }}
output "wanted" {{ value = jsondecode(data.irsa_trust_policy.app.json) }}
output "role_arn" {{ value = aws_iam_role.app.arn }}
"#,
                    required = required_providers(aws),
                    aws_block = provider_block(&moto.endpoint, "eu-west-1", None),
                );
                let wd = hashicorp_aws::workdir(&tf, &config, aws, moto);
                let label = wd.label();
                wd.init().await.expect("terraform init from the mirrors");
                wd.apply().await.expect("apply");
                let out = wd.output_json().await;
                assert_eq!(
                    out["stored"]["value"], out["wanted"]["value"],
                    "[{label}] IAM stored another trust policy: {out:#}"
                );
                let stored = &out["stored"]["value"];
                assert_eq!(
                    stored["Statement"][0]["Principal"]["Federated"],
                    format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{ISSUER_HOST}"),
                    "[{label}] {stored:#}"
                );
                assert_eq!(
                    stored["Statement"][0]["Condition"]["StringEquals"]
                        [format!("{ISSUER_HOST}:sub")],
                    json!("system:serviceaccount:default:my-app"),
                    "[{label}] {stored:#}"
                );
                assert_eq!(
                    out["role_arn"]["value"],
                    format!("arn:aws:iam::{ACCOUNT_ID}:role/my-app"),
                    "[{label}]"
                );
                // No destroy: each version starts from a reset moto, and
                // every hashicorp/aws command costs seconds of CPU.
                wd.plan_is_empty().await;
            })
            .await
        }
    })
    .await;
}

/// (c) The walk-through, steps 1-2 (see the module docs): step 1 the
/// module with a control-plane toleration that has no `value`; step 2 the
/// application's role, its trust policy written with `jsonencode` over the
/// module's outputs. Applied; the webhook tolerates the taint as written
/// (no value); the role trusts the module's IAM OIDC provider for exactly
/// that service account; the next plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_steps_1_2_with_the_drop_in_module() {
    let Some(aws) = mirror_or_skip() else {
        return;
    };
    each_terraform_concurrently(|tf| {
        let aws = &aws;
        async move {
            bounded(LIMIT, "walk-through", async {
                let (sandbox, zone_id) = world().await;
                let moto = sandbox.moto.as_ref().expect("moto");
                let kubeconfig = hcl_string(&sandbox.kubeconfig_path().display().to_string());
                let config = format!(
                    r#"{required}
{aws_block}
# Step 1: the module.
module "irsa" {{
  source = "./modules/kubernetes-irsa"

  name            = "my-cluster"
  environment     = "prod"
  oidc_domain     = "{DOMAIN}"
  route53_zone_id = "{zone_id}"
  kubeconfig_path = {kubeconfig}
  aws_region      = "eu-west-1"

  webhook_tolerations = [
    {{
      key      = "node-role.kubernetes.io/control-plane"
      operator = "Exists"
      effect   = "NoSchedule"
    }}
  ]

  tags = {{
    Environment = "prod"
  }}
}}

# Step 2: an IAM role for the application's service account.
resource "aws_iam_role" "my_app" {{
  name = "my-app-irsa-role"

  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect = "Allow"
      Principal = {{
        Federated = module.irsa.oidc_provider_arn
      }}
      Action = "sts:AssumeRoleWithWebIdentity"
      Condition = {{
        StringEquals = {{
          "${{replace(module.irsa.oidc_provider_url, "https://", "")}}:sub" = "system:serviceaccount:my-namespace:my-service-account"
          "${{replace(module.irsa.oidc_provider_url, "https://", "")}}:aud" = "sts.amazonaws.com"
        }}
      }}
    }}]
  }})
}}

output "role_policy" {{ value = jsondecode(aws_iam_role.my_app.assume_role_policy) }}
output "oidc_provider_arn" {{ value = module.irsa.oidc_provider_arn }}
"#,
                    required = required_providers(aws),
                    aws_block = provider_block(&moto.endpoint, "eu-west-1", None),
                );
                let mut wd = hashicorp_aws::workdir(&tf, &config, aws, moto);
                let label = wd.label();
                copy_dir(
                    &workspace_root().join("examples/modules/kubernetes-irsa"),
                    &wd.path().join("modules/kubernetes-irsa"),
                );
                wd.envs(sandbox.env());
                wd.env("AWS_S3_USE_PATH_STYLE", "true");
                wd.init().await.expect("terraform init from the mirrors");
                wd.apply().await.expect("apply steps 1-2");

                let out = wd.output_json().await;
                let arn = format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{DOMAIN}");
                assert_eq!(out["oidc_provider_arn"]["value"], arn, "[{label}] {out:#}");
                let policy = &out["role_policy"]["value"];
                assert_eq!(
                    policy["Statement"][0]["Principal"]["Federated"], arn,
                    "[{label}] {policy:#}"
                );
                let mut conditions = serde_json::Map::new();
                conditions.insert(
                    format!("{DOMAIN}:sub"),
                    json!("system:serviceaccount:my-namespace:my-service-account"),
                );
                conditions.insert(format!("{DOMAIN}:aud"), json!("sts.amazonaws.com"));
                assert_eq!(
                    policy["Statement"][0]["Condition"]["StringEquals"],
                    Value::Object(conditions),
                    "[{label}] {policy:#}"
                );

                let deps = webhook_deployments(&sandbox);
                assert_eq!(deps.len(), 1, "[{label}] webhook deployments: {deps:#?}");
                let tol: Vec<Value> = deps[0]["spec"]["template"]["spec"]["tolerations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    tol.iter().any(|t| t["key"] == "node-role.kubernetes.io/control-plane"
                        && t["operator"] == "Exists"
                        && t["effect"] == "NoSchedule"
                        && t.get("value").is_none_or(|v| v.is_null() || v == "")),
                    "[{label}] tolerations {tol:?}"
                );

                assert!(
                    !objects_of_kind(&sandbox, "MutatingWebhookConfiguration").is_empty(),
                    "[{label}] no MutatingWebhookConfiguration"
                );
                // Steps 1-2 end here; each version has its own sandbox.
                wd.plan_is_empty().await;
            })
            .await
        }
    })
    .await;
}
