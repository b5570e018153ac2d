# Terraform 1.12 and later: the webhook installed as
# kube-system/pod-identity-webhook.
import {
  to = irsa_webhook.this
  identity = {
    namespace = "kube-system"
    name      = "pod-identity-webhook"
  }
}
