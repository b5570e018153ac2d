#!/bin/sh
# The import ID is the host's name: the provider finds the bucket
# <name>-oidc-<account id> (tagged as a host) and the distribution commented
# irsa:<name>. An issuer on the host is imported by its own name.
terraform import irsa_issuer_host.platform platform
terraform import irsa_oidc_issuer.prod_a prod-a
