# A role that the service account default/my-app, and every service account
# of the namespace jobs, may assume through the cluster's OIDC issuer.
variable "oidc_provider_arn" {
  type = string
  # e.g. irsa_oidc_issuer.this.oidc_provider_arn
  default = "arn:aws:iam::123456789012:oidc-provider/oidc.prod.example.com"
}

data "irsa_trust_policy" "app" {
  oidc_provider_arn = var.oidc_provider_arn
  service_accounts  = ["default/my-app", "jobs/*"]
  audience          = "sts.amazonaws.com"
}

# The document for the role, e.g.
#   resource "aws_iam_role" "app" {
#     name               = "my-app"
#     assume_role_policy = data.irsa_trust_policy.app.json
#   }
output "assume_role_policy" {
  value = data.irsa_trust_policy.app.json
}
