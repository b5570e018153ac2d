# Every setting is optional. Without any, the provider uses the standard AWS
# credential chain and region (AWS_* environment variables, shared config
# files, instance/pod roles) and the kubeconfig named by KUBE_CONFIG_PATH.

provider "irsa" {
  # AWS region for IAM/STS/S3/Route 53 calls. ACM certificates for CloudFront
  # are always requested in us-east-1, as CloudFront requires.
  region = "eu-west-1"

  # Optional: send AWS API calls to other endpoints (e.g. a VPC endpoint or
  # a local emulator). Each key is a service; unset ones use the defaults.
  # The AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables also work.
  endpoints {
    s3         = "https://s3.eu-west-1.amazonaws.com"
    iam        = "https://iam.amazonaws.com"
    sts        = "https://sts.eu-west-1.amazonaws.com"
    cloudfront = "https://cloudfront.amazonaws.com"
    acm        = "https://acm.us-east-1.amazonaws.com"
    route53    = "https://route53.amazonaws.com"
  }

  # Optional: assume a role for every AWS call.
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/irsa-terraform"
    session_name = "terraform-irsa"
    external_id  = "example-external-id"
  }

  # How to reach the Kubernetes API server. Either a kubeconfig ...
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "my-cluster"

    # ... or explicit settings instead of config_path/config_context:
    # host                   = "https://k8s.example.com:6443"
    # token                  = var.kubernetes_token
    # cluster_ca_certificate = file("ca.pem")
  }
}
