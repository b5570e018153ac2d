# Quickstart: read the cluster's service-account signing keys (JWKS) and
# publish them as a public OIDC issuer that AWS IAM trusts.
#
# Run it with `scripts/quickstart`: it starts a local sandbox (a fake
# Kubernetes API server and moto for AWS, with a Route53 zone for the
# issuer's domain) and exports KUBE_CONFIG_PATH, AWS_ENDPOINT_URL and the
# two TF_VAR_ values below. Against a real cluster and account: export
# KUBE_CONFIG_PATH=~/.kube/config, set the variables, and `terraform apply`.

terraform {
  required_version = ">= 1.0.3"

  required_providers {
    irsa = {
      source = "irsa/irsa"
    }
  }
}

variable "issuer_domain" {
  description = "Host name of the issuer; the cluster's --service-account-issuer must be https://<this>."
  type        = string
}

variable "route53_zone_id" {
  description = "Public Route53 zone that contains issuer_domain."
  type        = string
}

# The Kubernetes connection comes from KUBE_CONFIG_PATH, AWS from the usual
# AWS_* variables. Path-style S3 addressing is what the local AWS emulator
# needs; real S3 accepts it too.
provider "irsa" {
  s3_use_path_style = true
}

# GET /.well-known/openid-configuration and /openid/v1/jwks from the API
# server; fails unless the cluster already uses the issuer we publish.
data "irsa_jwks" "cluster" {
  expected_issuer = "https://${var.issuer_domain}"
}

# Private S3 bucket + CloudFront (OAC) + ACM certificate (us-east-1) +
# Route53 A/AAAA records + the IAM OIDC provider, serving both documents.
resource "irsa_oidc_issuer" "this" {
  name            = "quickstart"
  domain          = var.issuer_domain
  route53_zone_id = var.route53_zone_id
  jwks            = data.irsa_jwks.cluster.json
  tags            = { purpose = "irsa-quickstart" }
}

output "jwks" {
  description = "The cluster's JWKS (canonical compact JSON, keys sorted by kid)."
  value       = jsondecode(data.irsa_jwks.cluster.json)
}

output "kids" {
  description = "The key IDs in the JWKS."
  value       = [for k in data.irsa_jwks.cluster.keys : k.kid]
}

output "issuer_url" {
  description = "The published issuer: the value of --service-account-issuer."
  value       = irsa_oidc_issuer.this.issuer_url
}

output "oidc_provider_arn" {
  description = "The IAM OIDC provider that trust policies name as Federated principal."
  value       = irsa_oidc_issuer.this.oidc_provider_arn
}
