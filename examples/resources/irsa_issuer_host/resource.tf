# One host for the platform's clusters, made once: a bucket, a certificate,
# a distribution and the DNS records for oidc.platform.example.com.
resource "irsa_issuer_host" "platform" {
  name            = "platform"
  domain          = "oidc.platform.example.com"
  route53_zone_id = "Z0123456789ABCDEFGHIJ"
  tags            = { team = "platform" }
}

# Each cluster's issuer is a path on the host, made in seconds:
# https://oidc.platform.example.com/prod-a (the path defaults to the name).
resource "irsa_oidc_issuer" "prod_a" {
  name = "prod-a"
  host = irsa_issuer_host.platform.id
  jwks = data.irsa_jwks.prod_a.json
}

# https://oidc.platform.example.com/eu/prod-b
resource "irsa_oidc_issuer" "prod_b" {
  name = "prod-b"
  host = irsa_issuer_host.platform.id
  path = "eu/prod-b"
  jwks = data.irsa_jwks.prod_b.json
}

data "irsa_jwks" "prod_a" {
  expected_issuer = "https://oidc.platform.example.com/prod-a"
}

data "irsa_jwks" "prod_b" {
  # A sample public key (shipped beside this file): use your cluster's sa.pub.
  public_keys_pem = [file("${path.module}/sa.pub")]
}
