terraform {
  required_providers {
    irsa = {
      source = "irsa/irsa"
    }
  }
}

provider "irsa" {
  kubernetes {
    config_path = "~/.kube/config"
  }
}

# The pod identity webhook with the provider's own TLS: two replicas on the
# control-plane nodes, `Fail` for pods in labelled namespaces only.
resource "irsa_webhook" "this" {
  aws_region     = "eu-west-1"
  failure_policy = "Fail"

  namespace_selector = {
    match_expressions = [{ key = "irsa.example.com/enabled", operator = "In", values = ["true"] }]
  }

  node_selector = { "node-role.kubernetes.io/control-plane" = "" }
  tolerations   = [{ key = "node-role.kubernetes.io/control-plane", operator = "Exists", effect = "NoSchedule" }]

  resources = {
    requests = { cpu = "50m", memory = "64Mi" }
    limits   = { memory = "128Mi" }
  }
}

output "webhook_objects" {
  value = irsa_webhook.this.objects
}
