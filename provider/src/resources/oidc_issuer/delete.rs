//! Destroy: refuse first when the bucket holds objects we did not write,
//! then delete who trusts the issuer, the CloudFront parts, and the bucket
//! last. Parts a partial create did not record are found by name, tag or
//! comment. `remove_site` is the site's share, which an `irsa_issuer_host`
//! runs too.

use tfplugin::{AttrPath, Diagnostic, Diagnostics};

use super::desired;
use super::model::{Hosting, IssuerModel};
use super::parts::{bucket, certificate, distribution, dns, oac, oidc_provider, Aws};
use super::private::Private;
use super::site::{SiteModel, SiteState};

pub(super) async fn delete(
    aws: &Aws<'_>,
    prior: &IssuerModel,
    private: Option<&Private>,
) -> Result<(), Diagnostics> {
    let name = prior.name.as_deref().unwrap_or_default().to_string();
    let site = prior.site_state();
    let bucket_name = site_bucket(&site, &name, aws);
    // Refuse before deleting anything: a refused destroy must leave the
    // issuer whole (roles that trust it keep working).
    let bucket_exists = bucket::exists(aws, &bucket_name).await?;
    if bucket_exists && prior.force_destroy.known() != Some(&true) {
        let ours = |key: &str| key == desired::DISCOVERY_KEY || key == desired::JWKS_KEY;
        refuse_foreign_objects(aws, &bucket_name, ours).await?;
    }
    // Who trusts the issuer goes first.
    let provider = oidc_provider::find(
        aws,
        prior.oidc_provider_arn.as_deref(),
        prior.issuer_url.as_deref(),
        &name,
    )
    .await?;
    if let Some(arn) = provider {
        oidc_provider::remove(aws, &arn).await?;
    }
    remove_site(aws, &site, &name, private, bucket_exists).await
}

/// The bucket the state records, else the one the name gives.
pub(crate) fn site_bucket(site: &SiteState, name: &str, aws: &Aws<'_>) -> String {
    site.bucket
        .known()
        .cloned()
        .unwrap_or_else(|| desired::bucket_name(name, &aws.id.account_id))
}

/// Fails, deleting nothing, when the bucket holds an object version whose
/// key is not `ours`.
pub(crate) async fn refuse_foreign_objects(
    aws: &Aws<'_>,
    bucket_name: &str,
    ours: impl Fn(&str) -> bool,
) -> Result<(), Diagnostics> {
    let foreign: Vec<String> = bucket::object_keys(aws, bucket_name)
        .await?
        .into_iter()
        .filter(|k| !ours(k))
        .collect();
    let Some(example) = foreign.first() else {
        return Ok(());
    };
    Err(Diagnostic::error(
        "Bucket holds objects this provider did not write",
        format!(
            "The bucket {bucket_name} holds {} object version(s) besides the issuer documents (e.g. {example:?}). \
             Nothing was deleted. Remove them, or set force_destroy = true and apply before destroying.",
            foreign.len(),
        ),
    )
    .at(AttrPath::root("force_destroy"))
    .into())
}

/// The site's parts: with CloudFront the DNS records, the distribution,
/// the OAC and the certificate; then the bucket, emptied.
pub(crate) async fn remove_site(
    aws: &Aws<'_>,
    site: &SiteState,
    name: &str,
    private: Option<&Private>,
    bucket_exists: bool,
) -> Result<(), Diagnostics> {
    if site.hosting_mode() == Hosting::CloudFront {
        remove_cloudfront(aws, site, private, name).await?;
    }
    if bucket_exists {
        bucket::remove(aws, &site_bucket(site, name, aws)).await?;
    }
    Ok(())
}

/// The DNS records, the distribution, the OAC and the certificate.
async fn remove_cloudfront(
    aws: &Aws<'_>,
    prior: &SiteState,
    private: Option<&Private>,
    name: &str,
) -> Result<(), Diagnostics> {
    let zone = prior.route53_zone_id.as_deref().unwrap_or_default();
    let domain = prior.domain.as_deref().unwrap_or_default();
    let cert = certificate::find(aws, prior.certificate_arn.as_deref(), domain, name).await?;
    // The validation record, from ACM or, with the certificate gone, from
    // what create recorded.
    let validation = certificate::described_validation(aws, cert.as_deref())
        .await?
        .unwrap_or_else(|| private.map(Private::validation_records).unwrap_or_default());
    let dist = distribution::find(aws, prior.distribution_id.as_deref(), name).await?;
    let dist_domain = distribution::domain_name(
        aws,
        prior.distribution_domain_name.as_deref(),
        dist.as_deref(),
    )
    .await?;
    if !zone.is_empty() && !domain.is_empty() {
        // Only records that still hold what we wrote: A/AAAA aliasing our
        // distribution, and the validation CNAME unless another certificate
        // for the name shares it (ACM reuses it).
        let mut records = match &dist_domain {
            Some(d) => desired::alias_records(domain, d),
            None => vec![],
        };
        if certificate::shares_validation(aws, domain, cert.as_deref()).await? {
            tracing::info!(target: "irsa::oidc_issuer", domain = %domain, "another certificate for the domain shares the validation record: keeping it");
        } else {
            records.extend(desired::validation_records(&validation));
        }
        dns::remove(aws, zone, &records).await?;
    }
    if let Some(d) = dist {
        distribution::remove(aws, &d).await?;
    }
    if let Some(o) = oac::find(aws, prior.origin_access_control_id.as_deref(), name).await? {
        oac::remove(aws, &o).await?;
    }
    if let Some(arn) = cert {
        certificate::remove(aws, &arn).await?;
    }
    Ok(())
}
