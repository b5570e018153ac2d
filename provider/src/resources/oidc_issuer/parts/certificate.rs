//! The ACM certificate (us-east-1) for the issuer's domain, and the DNS
//! validation record ACM checks to issue and renew it.

use super::super::desired;
use super::super::model::Site;
use super::{dns, Aws};
use crate::aws::acm::{self, ValidationRecord};
use crate::aws::AwsCallError;
use tfplugin::{Diagnostics, ErrorContext};

/// A certificate of ours left behind (an issuer dropped from state) is
/// reused when usable; else a new one is requested with an idempotency
/// token from `seed`, so retries of this request name the same certificate.
pub async fn obtain(aws: &Aws<'_>, site: &Site, seed: &str) -> Result<String, AwsCallError> {
    let domain = site.domain.clone().unwrap_or_default();
    if let Some(arn) =
        acm::find_certificate_by_tag(&aws.clients.acm, &domain, desired::NAME_TAG, &site.name)
            .await?
    {
        let usable = acm::describe_certificate(&aws.clients.acm, &arn)
            .await?
            .is_some_and(|c| acm::is_usable(&c.status));
        if usable {
            return Ok(arn);
        }
    }
    request(aws, site, seed).await
}

/// A new certificate (the token from `seed`: a new seed, a new certificate).
pub async fn request(aws: &Aws<'_>, site: &Site, seed: &str) -> Result<String, AwsCallError> {
    let token = acm::idempotency_token(&format!("{}:{seed}", aws.id.account_id));
    let domain = site.domain.clone().unwrap_or_default();
    acm::request_certificate(&aws.clients.acm, &domain, &token, &desired::tags(site)).await
}

/// The validation records, once ACM has published them.
pub async fn validation_records(
    aws: &Aws<'_>,
    arn: &str,
) -> Result<Vec<ValidationRecord>, Diagnostics> {
    acm::wait_for_validation_records(&aws.clients.acm, arn, aws.ctx)
        .await
        .context("Cannot read the certificate's validation records")
}

/// Writes the validation records into the zone and waits until ACM issues
/// the certificate.
pub async fn issue(
    aws: &Aws<'_>,
    site: &Site,
    arn: &str,
    records: &[ValidationRecord],
) -> Result<(), Diagnostics> {
    dns::upsert(aws, site, &desired::validation_records(records))
        .await
        .context("Cannot create the certificate validation records")?;
    acm::wait_issued(&aws.clients.acm, arn, aws.ctx)
        .await
        .context("The certificate was not issued")
}

/// Its validation records as ACM has them; `None` when it is gone.
pub async fn observe(
    aws: &Aws<'_>,
    arn: Option<&str>,
) -> Result<Option<Vec<ValidationRecord>>, AwsCallError> {
    match arn {
        Some(a) => Ok(acm::describe_validation(&aws.clients.acm, a)
            .await?
            .map(|(_, records)| records)),
        None => Ok(None),
    }
}

/// The recorded certificate, or the one tagged for this issuer (a partial
/// create may not have recorded it).
pub async fn find(
    aws: &Aws<'_>,
    recorded: Option<&str>,
    domain: &str,
    issuer_name: &str,
) -> Result<Option<String>, Diagnostics> {
    match recorded {
        Some(a) => Ok(Some(a.to_string())),
        None => {
            acm::find_certificate_by_tag(&aws.clients.acm, domain, desired::NAME_TAG, issuer_name)
                .await
                .context("Cannot look for the certificate")
        }
    }
}

/// Its validation records as ACM describes them (`None` when it is gone).
pub async fn described_validation(
    aws: &Aws<'_>,
    arn: Option<&str>,
) -> Result<Option<Vec<ValidationRecord>>, Diagnostics> {
    match arn {
        Some(arn) => Ok(acm::describe_certificate(&aws.clients.acm, arn)
            .await
            .context("Cannot read the certificate")?
            .map(|c| c.validation_records)),
        None => Ok(None),
    }
}

/// Whether another certificate for `domain` shares the validation record
/// (ACM gives the same one to every certificate of a name).
pub async fn shares_validation(
    aws: &Aws<'_>,
    domain: &str,
    arn: Option<&str>,
) -> Result<bool, Diagnostics> {
    acm::other_certificate_for(&aws.clients.acm, domain, arn)
        .await
        .context("Cannot list the certificates")
}

pub async fn put_tags(aws: &Aws<'_>, site: &Site, arn: &str) -> Result<(), Diagnostics> {
    acm::set_certificate_tags(&aws.clients.acm, arn, &desired::tags(site))
        .await
        .context("Cannot tag the certificate")
}

pub async fn remove(aws: &Aws<'_>, arn: &str) -> Result<(), Diagnostics> {
    acm::delete_certificate(&aws.clients.acm, arn, aws.ctx)
        .await
        .context("Cannot delete the certificate")
}
