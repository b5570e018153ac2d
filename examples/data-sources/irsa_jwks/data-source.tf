# From the cluster: reads GET /.well-known/openid-configuration and
# GET /openid/v1/jwks from the Kubernetes API server configured in the
# provider's `kubernetes` block (or KUBE_CONFIG_PATH). The identity used needs
# `get` on those two non-resource URLs (the built-in ClusterRole
# system:service-account-issuer-discovery grants it).
data "irsa_jwks" "cluster" {
  # Optional: fail if the cluster's --service-account-issuer differs (a
  # trailing slash counts).
  expected_issuer = "https://oidc.example.com"
}

# From public keys: no cluster access at all. Give every key the API server
# lists in --service-account-key-file (two during a rotation). Non-RSA keys
# are accepted with a warning: AWS STS only accepts RS256-signed tokens.
data "irsa_jwks" "from_pem" {
  public_keys_pem = [
    file("${path.module}/sa.pub"),
    file("${path.module}/sa-next.pub"),
  ]
}

output "jwks_json" {
  value = data.irsa_jwks.cluster.json
}

output "kids" {
  value = [for k in data.irsa_jwks.from_pem.keys : k.kid]
}

output "jwks_uri" {
  value = data.irsa_jwks.cluster.jwks_uri
}
