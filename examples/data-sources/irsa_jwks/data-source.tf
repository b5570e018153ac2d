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
# lists in --service-account-key-file (two during a rotation). RSA and EC
# P-256/P-384/P-521 keys are what AWS STS verifies (RS256..RS512,
# ES256..ES512); a key of any other algorithm gives a warning. The two files
# beside this example are sample public keys (an RSA and an EC P-256 one, no
# private key anywhere): replace them with your cluster's `sa.pub`.
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
