# The outputs of KamranBiglari/kubernetes-irsa/aws v1.0.0, same names.

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider: the Federated principal of trust policies."
  value       = irsa_oidc_issuer.this.oidc_provider_arn
}

output "oidc_provider_url" {
  description = "The issuer without https://, as IAM stores it: the prefix of trust-policy condition keys."
  value       = irsa_oidc_issuer.this.oidc_provider_url
}

output "issuer_url" {
  description = "https://<oidc_domain>, or https://<oidc_domain>/<issuer_path> on a host: the value of kube-apiserver's --service-account-issuer."
  value       = irsa_oidc_issuer.this.issuer_url
}

output "jwks_uri" {
  description = "Where the JWKS is published (<issuer_url>/openid/v1/jwks; the old module used /keys.json): the value of --service-account-jwks-uri."
  value       = irsa_oidc_issuer.this.jwks_uri
}
