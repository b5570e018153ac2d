# The input variables of KamranBiglari/kubernetes-irsa/aws v1.0.0, with the
# same names, types and defaults, so a caller keeps its arguments.

variable "name" {
  description = "Name prefix for all resources. With `environment` it names the issuer (`<name>-<environment>`, at most 45 characters, lowercase)."
  type        = string
}

variable "environment" {
  description = "Environment name used in resource naming (e.g. dev, staging, prod)."
  type        = string
}

variable "oidc_domain" {
  description = "Host name of the OIDC issuer; the cluster's --service-account-issuer must be https://<oidc_domain>."
  type        = string
}

variable "route53_zone_id" {
  description = "Public Route53 hosted zone that contains oidc_domain (certificate validation and the alias records)."
  type        = string
}

variable "kubeconfig_path" {
  description = "Path to the kubeconfig used to read the cluster's signing keys and to install the webhook."
  type        = string
}

variable "aws_region" {
  description = "AWS region: the webhook's --aws-default-region, and the region of the bucket and of the module's AWS calls."
  type        = string
}

variable "webhook_enabled" {
  description = "Install the Amazon EKS Pod Identity Webhook."
  type        = bool
  default     = true
}

variable "webhook_namespace" {
  description = "Namespace of the Pod Identity Webhook."
  type        = string
  default     = "kube-system"
}

variable "webhook_node_selector" {
  description = "Node selector for the webhook's pods."
  type        = map(string)
  default     = {}
}

variable "webhook_tolerations" {
  description = "Tolerations for the webhook's pods: a list of objects with any of key, operator, value, effect (and toleration_seconds), as in a pod spec. An attribute may be left out: `{ key = \"node-role.kubernetes.io/control-plane\", operator = \"Exists\", effect = \"NoSchedule\" }` has no value, as Kubernetes wants for Exists."
  # The old module declared list(object({key, operator, value, effect})),
  # which refuses an entry without `value`, although its own walk-through
  # writes one. Optional object attributes (`optional()`) need Terraform
  # 1.3, and this module supports 1.0: so `any`, checked here and
  # normalised in main.tf (local.webhook_tolerations).
  type    = any
  default = []

  validation {
    condition = can([for t in var.webhook_tolerations : keys(t)]) && alltrue([
      for t in var.webhook_tolerations :
      length(setsubtract(keys(t), ["key", "operator", "value", "effect", "toleration_seconds"])) == 0
    ])
    error_message = "The webhook_tolerations value must be a list of objects whose attributes are among key, operator, value, effect and toleration_seconds."
  }
}

variable "cloudfront_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "cache_default_ttl" {
  description = "Default CloudFront TTL in seconds, also the documents' max-age."
  type        = number
  default     = 3600
}

variable "cache_max_ttl" {
  description = "Maximum CloudFront TTL in seconds."
  type        = number
  default     = 86400
}

variable "cache_min_ttl" {
  description = "Minimum CloudFront TTL in seconds."
  type        = number
  default     = 60
}

variable "tags" {
  description = "Tags for every AWS object made."
  type        = map(string)
  default     = {}
}

# Beyond the old module: put the issuer on a shared irsa_issuer_host.

variable "issuer_host" {
  description = "The `id` of an irsa_issuer_host whose domain is `oidc_domain`: the issuer is then https://<oidc_domain>/<issuer_path> on that host, and `route53_zone_id` and the CloudFront and cache variables are the host's (ignored here). Default: null, an issuer of its own at https://<oidc_domain>."
  type        = string
  default     = null
}

variable "issuer_path" {
  description = "With `issuer_host`: the issuer's path on the host. Default: `<name>-<environment>`."
  type        = string
  default     = null
}
