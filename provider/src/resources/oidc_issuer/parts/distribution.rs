//! The CloudFront distribution that serves the bucket under the issuer's
//! domain, with the certificate, through the Origin Access Control.

use std::collections::BTreeMap;

use super::super::desired::{self, Identity};
use super::super::model::Site;
use super::Aws;
use crate::aws::cloudfront::{self, Distribution};
use crate::aws::{retry_while, AwsCallError};
use tfplugin::{Diagnostics, ErrorContext};

pub fn arn(id: &Identity, distribution_id: &str) -> String {
    format!(
        "arn:{}:cloudfront::{}:distribution/{distribution_id}",
        id.partition, id.account_id
    )
}

/// A new caller reference: one per distribution made.
pub fn caller_reference(issuer_name: &str) -> String {
    format!(
        "irsa-{issuer_name}-{}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    )
}

/// What `distribution_settings` shows for a distribution.
pub fn settings(d: &Distribution, shared: bool) -> BTreeMap<String, String> {
    desired::distribution_settings(&d.spec, &d.fixed_settings_drift, shared)
}

/// Makes it. CloudFront may not know a certificate ACM has just issued
/// (InvalidViewerCertificate) for a while: retried until the deadline, as
/// hashicorp/aws does.
pub async fn create(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    oac: &str,
    certificate: &str,
    caller_reference: &str,
) -> Result<Distribution, Diagnostics> {
    let spec = desired::distribution_spec(site, bucket, aws.id, oac, certificate, caller_reference);
    let tags = desired::tags(site);
    let d = aws
        .ctx
        .run(retry_while(
            aws.ctx,
            cloudfront::certificate_not_yet_known,
            None,
            || cloudfront::create_distribution(&aws.clients.cloudfront, &spec, &tags),
        ))
        .await?
        .context("Cannot create the CloudFront distribution")?;
    tracing::debug!(target: "irsa::oidc_issuer", distribution = %d.id, "created the distribution");
    Ok(d)
}

/// Puts every governed setting back as `desired` says.
pub async fn reconcile(
    aws: &Aws<'_>,
    site: &Site,
    distribution_id: &str,
    bucket: &str,
    oac: &str,
    certificate: &str,
    caller_reference: &str,
) -> Result<Distribution, Diagnostics> {
    let spec = desired::distribution_spec(site, bucket, aws.id, oac, certificate, caller_reference);
    aws.ctx
        .run(retry_while(
            aws.ctx,
            cloudfront::certificate_not_yet_known,
            None,
            || cloudfront::update_distribution(&aws.clients.cloudfront, distribution_id, &spec),
        ))
        .await?
        .context("Cannot update the CloudFront distribution")
}

/// IAM reads the issuer's certificate when the OIDC provider is made
/// without thumbprints: only once the distribution serves the domain.
pub async fn wait_deployed(
    aws: &Aws<'_>,
    site: &Site,
    distribution_id: &str,
) -> Result<(), Diagnostics> {
    if !site.wait_for_deployment {
        return Ok(());
    }
    cloudfront::wait_deployed(&aws.clients.cloudfront, distribution_id, aws.ctx)
        .await
        .context("The CloudFront distribution did not finish deploying")
}

pub async fn observe(
    aws: &Aws<'_>,
    distribution_id: Option<&str>,
) -> Result<Option<Distribution>, AwsCallError> {
    match distribution_id {
        Some(d) => cloudfront::get_distribution(&aws.clients.cloudfront, d).await,
        None => Ok(None),
    }
}

/// Replaces the user's tags on it, keeping others'.
pub async fn put_tags(
    aws: &Aws<'_>,
    site: &Site,
    distribution_id: &str,
) -> Result<(), Diagnostics> {
    let arn = arn(aws.id, distribution_id);
    let current = cloudfront::get_distribution_tags(&aws.clients.cloudfront, &arn)
        .await
        .context("Cannot read the distribution's tags")?;
    cloudfront::set_distribution_tags(
        &aws.clients.cloudfront,
        &arn,
        &current,
        &desired::tags(site),
    )
    .await
    .context("Cannot tag the distribution")
}

/// The recorded distribution, or the one commented for this issuer (a
/// partial create may not have recorded it).
pub async fn find(
    aws: &Aws<'_>,
    recorded: Option<&str>,
    issuer_name: &str,
) -> Result<Option<String>, Diagnostics> {
    match recorded {
        Some(d) => Ok(Some(d.to_string())),
        None => cloudfront::find_distribution_by_comment(
            &aws.clients.cloudfront,
            &desired::distribution_comment(issuer_name),
        )
        .await
        .context("Cannot look for the distribution"),
    }
}

/// Its domain (`dxxxx.cloudfront.net`), read when state does not have it.
pub async fn domain_name(
    aws: &Aws<'_>,
    recorded: Option<&str>,
    distribution_id: Option<&str>,
) -> Result<Option<String>, Diagnostics> {
    match (recorded, distribution_id) {
        (Some(d), _) => Ok(Some(d.to_string())),
        (None, Some(id)) => Ok(cloudfront::get_distribution(&aws.clients.cloudfront, id)
            .await
            .context("Cannot read the distribution")?
            .map(|d| d.domain_name)),
        (None, None) => Ok(None),
    }
}

/// Disables it, waits until that is deployed, deletes it, and waits until
/// it is gone.
pub async fn remove(aws: &Aws<'_>, distribution_id: &str) -> Result<(), Diagnostics> {
    aws.ctx
        .run(cloudfront::delete_distribution(
            &aws.clients.cloudfront,
            distribution_id,
            aws.ctx,
            true,
        ))
        .await?
        .context("Cannot delete the CloudFront distribution")
}
