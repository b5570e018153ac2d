# `terraform query` (Terraform 1.14 and later): every issuer this provider
# made in the account of its credentials, both hostings, found by the
# irsa:name tag of its bucket, and those on an irsa_issuer_host, found by
# their IAM OIDC providers' irsa:name and irsa:host tags. `terraform query
# -generate-config-out=generated.tf` writes an import block (by identity)
# and the configuration of each, which then plan "N to import, 0 to add,
# 0 to change, 0 to destroy".
list "irsa_oidc_issuer" "all" {
  provider         = irsa
  include_resource = true

  # Optional: only issuers whose name starts with "prod-".
  config {
    name_prefix = "prod-"
  }
}
