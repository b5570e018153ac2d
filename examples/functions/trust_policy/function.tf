# The trust policy of a role for the service account default/app, written
# where it is used (Terraform 1.8 and later). The audience is the
# partition's default (sts.amazonaws.com here) unless more arguments name
# the audiences to accept.
resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = provider::irsa::trust_policy(irsa_oidc_issuer.prod.oidc_provider_arn, ["default/app"])
}

# Exact service accounts and wildcards, and two accepted audiences.
output "jobs_trust_policy" {
  value = provider::irsa::trust_policy(
    "arn:aws:iam::123456789012:oidc-provider/oidc.prod.example.com",
    ["jobs/*", "default/app"],
    "sts.amazonaws.com",
    "amazonaws.com",
  )
}

resource "irsa_oidc_issuer" "prod" {
  name    = "prod-cluster"
  hosting = "s3"
  jwks    = provider::irsa::jwks_from_pem([file("${path.module}/sa.pub")])
}
