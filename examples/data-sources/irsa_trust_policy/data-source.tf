# A role that the service account default/my-app, and every service account
# of the namespace jobs, may assume through the cluster's OIDC issuer.
data "irsa_trust_policy" "app" {
  oidc_provider_arn = irsa_oidc_issuer.this.oidc_provider_arn
  service_accounts  = ["default/my-app", "jobs/*"]
  audience          = "sts.amazonaws.com"
}

resource "aws_iam_role" "app" {
  name               = "my-app"
  assume_role_policy = data.irsa_trust_policy.app.json
}
