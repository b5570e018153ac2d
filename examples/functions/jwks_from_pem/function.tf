# The cluster's JWKS from the sa.pub files given to kube-apiserver's
# --service-account-key-file, as an expression (Terraform 1.8 and later):
# the same JSON, and the same kids, as data.irsa_jwks with public_keys_pem.
resource "irsa_oidc_issuer" "prod" {
  name    = "prod-cluster"
  hosting = "s3"
  jwks = provider::irsa::jwks_from_pem([
    file("${path.module}/sa.pub"),
    file("${path.module}/sa-next.pub"),
  ])
}
