# Check the published issuer the way AWS STS will use it, end to end: the
# documents over HTTPS, the published keys against the cluster's, and a
# token minted for default/my-app verified against what is published.
data "irsa_jwks" "cluster" {
  expected_issuer = "https://oidc.prod.example.com"
}

data "irsa_issuer_check" "this" {
  issuer_url      = irsa_oidc_issuer.this.issuer_url
  expected_jwks   = data.irsa_jwks.cluster.json
  client_ids      = ["sts.amazonaws.com"]
  service_account = "default/my-app"

  # Read once the issuer is in place, not at the first plan.
  depends_on = [irsa_oidc_issuer.this]
}

output "issuer_thumbprint" {
  value = data.irsa_issuer_check.this.thumbprint
}
