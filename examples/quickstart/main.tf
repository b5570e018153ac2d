# Quickstart: read the service-account signing keys (JWKS) of a cluster.
#
# Run it with `scripts/quickstart`: it starts a local sandbox (a fake
# Kubernetes API server and moto for AWS) and exports KUBE_CONFIG_PATH, which
# the provider reads when its `kubernetes` block does not say otherwise.
# Against a real cluster: export KUBE_CONFIG_PATH=~/.kube/config and run
# `terraform apply`.

terraform {
  required_version = ">= 1.0.3"

  required_providers {
    irsa = {
      source = "irsa/irsa"
    }
  }
}

# No settings needed here: the Kubernetes connection comes from the
# KUBE_CONFIG_PATH environment variable.
provider "irsa" {}

# Reads GET /.well-known/openid-configuration and GET /openid/v1/jwks from
# the cluster's API server.
data "irsa_jwks" "cluster" {}

output "jwks" {
  description = "The cluster's JWKS (canonical compact JSON, keys sorted by kid): what gets published next to the discovery document."
  value       = jsondecode(data.irsa_jwks.cluster.json)
}

output "kids" {
  description = "The key IDs in the JWKS."
  value       = [for k in data.irsa_jwks.cluster.keys : k.kid]
}

output "issuer" {
  description = "The cluster's service-account issuer (--service-account-issuer)."
  value       = data.irsa_jwks.cluster.issuer
}
