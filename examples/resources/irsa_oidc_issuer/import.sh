#!/bin/sh
# The import ID is the issuer's name: the provider finds the bucket
# <name>-oidc-<account id>, the distribution commented irsa:<name> and the
# IAM OIDC provider from there.
terraform import irsa_oidc_issuer.prod prod-cluster
