# Terraform 1.12 and later: the issuer named prod-cluster in the account of
# the provider's credentials (`account_id` may be given too; another
# account than the credentials' is refused).
import {
  to = irsa_oidc_issuer.prod
  identity = {
    name = "prod-cluster"
  }
}
