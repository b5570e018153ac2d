# Prove from Terraform that a role's trust policy accepts the token a pod
# running as default/app gets (Terraform 1.10 and later): hashicorp/aws
# assumes the role with the service account's own token, as the pod's SDK
# would. The token is never written to a plan or state file.
variable "app_role_arn" {
  description = "The role default/app assumes, e.g. aws_iam_role.app.arn from the configuration that made it."
  type        = string
}

ephemeral "irsa_service_account_token" "app" {
  service_account = "default/app"
  audience        = "sts.amazonaws.com"
  expiration      = "15m"
}

provider "aws" {
  alias  = "as_app"
  region = "eu-west-1"

  assume_role_with_web_identity {
    role_arn           = var.app_role_arn
    session_name       = "terraform-irsa-check"
    web_identity_token = ephemeral.irsa_service_account_token.app.token
  }
}

# Planning fails here unless STS accepts the token for the role.
data "aws_caller_identity" "as_app" {
  provider = aws.as_app
}

output "app_assumed_role_arn" {
  value = data.aws_caller_identity.as_app.arn
}
