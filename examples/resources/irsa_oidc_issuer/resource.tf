# CloudFront hosting: https://oidc.prod.example.com, served from a private
# bucket through Origin Access Control, with an ACM certificate (us-east-1)
# validated in the Route53 zone.
resource "irsa_oidc_issuer" "prod" {
  name            = "prod-cluster"
  domain          = "oidc.prod.example.com"
  route53_zone_id = "Z0123456789ABCDEFGHIJ"
  jwks            = data.irsa_jwks.cluster.json

  client_ids    = ["sts.amazonaws.com"]
  key_retention = "24h"
  tags          = { team = "platform" }

  timeouts {
    create = "45m"
  }
}

# S3 hosting: no domain needed; the issuer is the bucket's own HTTPS URL and
# exactly the two documents are public.
resource "irsa_oidc_issuer" "dev" {
  name    = "dev-cluster"
  hosting = "s3"
  jwks    = data.irsa_jwks.cluster.json
}

data "irsa_jwks" "cluster" {
  expected_issuer = "https://oidc.prod.example.com"
}
