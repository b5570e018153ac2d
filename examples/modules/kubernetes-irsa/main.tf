# A drop-in replacement for KamranBiglari/kubernetes-irsa/aws v1.0.0 built on
# this provider: same inputs and outputs, one provider, no helm, tls,
# external, kubectl, jq or bash. See README.md for what differs.

# The module configures its own provider from its inputs, as the callers of
# the old module expect (they pass a kubeconfig path and a region). AWS
# credentials come from the usual AWS_* environment and shared config.
provider "irsa" {
  region = var.aws_region

  kubernetes {
    config_path = var.kubeconfig_path
  }
}

locals {
  issuer_name = "${var.name}-${var.environment}"
  on_host     = var.issuer_host != null
  issuer_path = coalesce(var.issuer_path, local.issuer_name)
  issuer_url  = local.on_host ? "https://${var.oidc_domain}/${local.issuer_path}" : "https://${var.oidc_domain}"

  # var.webhook_tolerations is `any` (see variables.tf): every entry with
  # all five attributes, null where it was left out.
  webhook_tolerations = [
    for t in var.webhook_tolerations : {
      key                = try(tostring(t.key), null)
      operator           = try(tostring(t.operator), null)
      value              = try(tostring(t.value), null)
      effect             = try(tostring(t.effect), null)
      toleration_seconds = try(tonumber(t.toleration_seconds), null)
    }
  ]
}

# The cluster's signing keys through the Kubernetes API. Unlike the old
# module's `kubectl ... || echo '{"keys":[]}'`, a failed read is an error,
# and so is a cluster whose issuer is not the one published here.
data "irsa_jwks" "cluster" {
  expected_issuer = local.issuer_url
}

resource "irsa_oidc_issuer" "this" {
  name = local.issuer_name
  jwks = data.irsa_jwks.cluster.json
  tags = var.tags

  # On a shared host the site's settings are the host's.
  host            = var.issuer_host
  path            = local.on_host ? local.issuer_path : null
  domain          = local.on_host ? null : var.oidc_domain
  route53_zone_id = local.on_host ? null : var.route53_zone_id
  price_class     = local.on_host ? null : var.cloudfront_price_class

  # The module replaces one that made the IAM OIDC provider for this URL:
  # take that provider over (same ARN, so no role changes) instead of failing.
  adopt_existing_oidc_provider = true

  cache_ttl = local.on_host ? null : {
    min     = var.cache_min_ttl
    default = var.cache_default_ttl
    max     = var.cache_max_ttl
  }
}

resource "irsa_webhook" "this" {
  count = var.webhook_enabled ? 1 : 0

  aws_region    = var.aws_region
  namespace     = var.webhook_namespace
  node_selector = var.webhook_node_selector
  tolerations   = local.webhook_tolerations
}
