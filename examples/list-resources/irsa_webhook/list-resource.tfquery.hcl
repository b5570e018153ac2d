# `terraform query` (Terraform 1.14 and later): every pod identity webhook
# this provider installed in the cluster of its `kubernetes` settings.
list "irsa_webhook" "all" {
  provider = irsa

  # Optional: only in this namespace.
  config {
    namespace = "kube-system"
  }
}
