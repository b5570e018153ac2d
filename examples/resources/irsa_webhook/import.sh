#!/bin/sh
# The import ID is <namespace>/<name>: the settings are read from the
# Deployment's irsa.terraform.io/settings annotation, the certificates from
# the Secrets <name>-cert and <name>-ca and the caBundle of the webhook
# configuration <name>.<namespace>.
terraform import irsa_webhook.this kube-system/pod-identity-webhook
