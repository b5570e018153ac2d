# Quickstart: read the cluster's service-account signing keys (JWKS),
# publish them as a public OIDC issuer that AWS IAM trusts, check the whole
# chain the way STS will (a token minted by the cluster for a demo service
# account verifies against what was published), and print the trust policy
# for that service account; and install the pod identity webhook.
#
# Run it with `scripts/quickstart`: it starts a local sandbox (a fake
# Kubernetes API server and moto for AWS, with a Route53 zone for the
# issuer's domain, plus an HTTPS edge standing in for CloudFront, reached
# through HTTPS_PROXY with the sandbox CA in SSL_CERT_FILE) and exports
# KUBE_CONFIG_PATH, AWS_ENDPOINT_URL and the TF_VAR_ values below. Against a real cluster and account: export
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

variable "webhook_region" {
  description = "The region pods get as AWS_REGION from the webhook."
  type        = string
  default     = "eu-west-1"
}

variable "demo_service_account" {
  description = "The service account (namespace/name) a token is minted for, and the trust policy is written for."
  type        = string
  default     = "default/demo"
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

# The preflight: fetches both documents over HTTPS as STS will, compares the
# published keys with the cluster's, mints a token for the demo service
# account and verifies it against the published keys. Read after the issuer
# is in place (depends_on), so a first apply does not check an issuer that
# does not exist yet.
data "irsa_issuer_check" "this" {
  issuer_url      = irsa_oidc_issuer.this.issuer_url
  expected_jwks   = data.irsa_jwks.cluster.json
  client_ids      = ["sts.amazonaws.com"]
  service_account = var.demo_service_account
  depends_on      = [irsa_oidc_issuer.this]
}

# The pod identity webhook that injects the role and token into pods whose
# service account is annotated eks.amazonaws.com/role-arn: installed through
# the Kubernetes API with TLS the provider makes (no Helm, no cert-manager).
resource "irsa_webhook" "this" {
  aws_region = var.webhook_region
}

# The trust policy of a role for the demo service account: use it as
# aws_iam_role.assume_role_policy.
data "irsa_trust_policy" "demo" {
  oidc_provider_arn = irsa_oidc_issuer.this.oidc_provider_arn
  service_accounts  = [var.demo_service_account]
}

output "issuer_check" {
  description = "ok, every check with its detail, and the TLS thumbprint."
  value = {
    ok         = data.irsa_issuer_check.this.ok
    checks     = data.irsa_issuer_check.this.checks
    thumbprint = data.irsa_issuer_check.this.thumbprint
  }
}

output "trust_policy" {
  description = "The trust policy for the demo service account."
  value       = jsondecode(data.irsa_trust_policy.demo.json)
}

output "webhook" {
  description = "The pod identity webhook: its Service and every object applied."
  value = {
    service = "${irsa_webhook.this.namespace}/${irsa_webhook.this.service_name}"
    objects = [for o in irsa_webhook.this.objects : "${o.kind} ${o.name}: ${o.status}"]
  }
}
