//! The Origin Access Control through which CloudFront reads the bucket.
//! CloudFront refuses to delete one a distribution uses, so one found gone
//! was detached first; the repair makes a new one.

use super::super::desired;
use super::Aws;
use crate::aws::{cloudfront, retry_while, AwsCallError, ErrorKind};
use tfplugin::{Diagnostics, ErrorContext};

pub async fn create(aws: &Aws<'_>, issuer_name: &str) -> Result<String, AwsCallError> {
    cloudfront::create_origin_access_control(
        &aws.clients.cloudfront,
        &desired::oac_name(issuer_name),
        &format!("irsa issuer {issuer_name}"),
    )
    .await
}

/// Whether the OAC recorded in state still exists (`None`: none recorded).
pub async fn observe(aws: &Aws<'_>, id: Option<&str>) -> Result<Option<bool>, AwsCallError> {
    match id {
        Some(id) => cloudfront::origin_access_control_exists(&aws.clients.cloudfront, id)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// The recorded OAC, or the one named for this issuer (a partial create
/// may not have recorded it).
pub async fn find(
    aws: &Aws<'_>,
    recorded: Option<&str>,
    issuer_name: &str,
) -> Result<Option<String>, Diagnostics> {
    match recorded {
        Some(o) => Ok(Some(o.to_string())),
        None => cloudfront::find_origin_access_control(
            &aws.clients.cloudfront,
            &desired::oac_name(issuer_name),
        )
        .await
        .context("Cannot look for the Origin Access Control"),
    }
}

/// Deletes it; it stays "in use" for a while after its distribution is
/// gone (hashicorp/terraform-provider-aws#28595): retried until the deadline.
pub async fn remove(aws: &Aws<'_>, id: &str) -> Result<(), Diagnostics> {
    retry_while(
        aws.ctx,
        |e| e.kind == ErrorKind::Conflict,
        None,
        || cloudfront::delete_origin_access_control(&aws.clients.cloudfront, id),
    )
    .await
    .context("Cannot delete the Origin Access Control")
}
