//! The account's S3 Block Public Access (s3control GetPublicAccessBlock):
//! S3 applies the most restrictive of the bucket's and the account's
//! settings, so an S3-hosted issuer (public bucket policy) cannot work while
//! the account blocks public policies or restricts public buckets.

use aws_sdk_s3control::config::endpoint::{
    DefaultResolver, Endpoint, EndpointFuture, Params, ResolveEndpoint,
};
use aws_sdk_s3control::Client;

use super::error::{classify, AwsCallError};
use super::s3::PublicAccessBlock;

/// GetPublicAccessBlock for the account: `None` when the account has none
/// (NoSuchPublicAccessBlockConfiguration: nothing blocked at that level).
pub async fn get_account_public_access_block(
    client: &Client,
    account_id: &str,
) -> Result<Option<PublicAccessBlock>, AwsCallError> {
    match client
        .get_public_access_block()
        .account_id(account_id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })),
        Err(e) => {
            let err = classify("s3control:GetPublicAccessBlock", e);
            if err.code.as_deref() == Some("NoSuchPublicAccessBlockConfiguration") {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// AWS's endpoint rules put the account ID in front of the host
/// (`<account>.s3-control.<region>.amazonaws.com`), also for a custom
/// endpoint. A custom endpoint (the provider's `endpoints.s3`, or
/// AWS_ENDPOINT_URL[_S3_CONTROL]) is used as given instead, the account
/// travelling in the `x-amz-account-id` header only: S3-compatible servers
/// (and `http://127.0.0.1:<port>`) have no per-account host names.
#[derive(Debug, Default)]
pub(crate) struct AsGivenForCustomEndpoints {
    default: DefaultResolver,
}

impl ResolveEndpoint for AsGivenForCustomEndpoints {
    fn resolve_endpoint<'a>(&'a self, params: &'a Params) -> EndpointFuture<'a> {
        match params.endpoint() {
            Some(url) => {
                let mut e = Endpoint::builder().url(url.trim_end_matches('/').to_string());
                if let Some(account) = params.account_id() {
                    e = e.header("x-amz-account-id", account.to_string());
                }
                EndpointFuture::ready(Ok(e.build()))
            }
            None => self.default.resolve_endpoint(params),
        }
    }
}
