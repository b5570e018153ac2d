# Check the published issuer the way AWS STS will use it, end to end: the
# documents over HTTPS, the published keys against the cluster's, and a
# token minted for default/my-app verified against what is published.
variable "issuer_url" {
  type    = string
  default = "https://oidc.prod.example.com" # e.g. irsa_oidc_issuer.this.issuer_url
}

data "irsa_jwks" "cluster" {
  expected_issuer = var.issuer_url
}

data "irsa_issuer_check" "this" {
  issuer_url      = var.issuer_url
  expected_jwks   = data.irsa_jwks.cluster.json
  client_ids      = ["sts.amazonaws.com"]
  service_account = "default/my-app"

  # With the issuer in the same configuration, add
  # `depends_on = [irsa_oidc_issuer.this]` so the check reads the issuer
  # once it is in place, not at the first plan.
}

output "issuer_thumbprint" {
  value = data.irsa_issuer_check.this.thumbprint
}
