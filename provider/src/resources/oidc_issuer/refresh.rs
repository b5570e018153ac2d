//! Refresh: what AWS holds now. Every part is read at once (one round
//! trip); drift shows in the computed maps, a part found gone as null or
//! `missing`, and the issuer leaves state only when its core is gone.

use std::collections::BTreeMap;

use tfplugin::{Diagnostics, ErrorContext, Tf};

use super::desired;
use super::model::{Hosting, IssuerModel, Ttl, TtlModel};
use super::parts::{bucket, certificate, distribution, dns, documents, oac, oidc_provider, Aws};
use super::private::Private;
use super::site::{missing, SiteModel, SiteState};
use crate::aws::acm::ValidationRecord;
use crate::aws::cloudfront::Distribution;
use crate::aws::iam::OidcProvider;

/// What AWS holds now, as state; `None` when the core parts are gone.
pub(super) async fn refresh(
    aws: &Aws<'_>,
    mut state: IssuerModel,
    private: &mut Private,
) -> Result<Option<IssuerModel>, Diagnostics> {
    let Some(bucket_name) = state.bucket.known().cloned() else {
        return Ok(None);
    };
    let mut site = state.site_state();
    let validation = private.validation_records();
    // Boxed: the joined SDK futures are too large for a worker's stack.
    let (seen, docs, provider) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(observe_site(aws, &site, &validation)),
                Box::pin(documents::observe(aws, &bucket_name, None)),
                Box::pin(oidc_provider::observe(
                    aws,
                    state.oidc_provider_arn.as_deref()
                )),
            )
        })
        .await?;
    let docs = docs.context("Cannot read the bucket")?;
    let provider = provider.context("Cannot read the IAM OIDC provider")?;
    if !record_site(aws, &mut site, seen?, private, false).await? {
        tracing::info!(target: "irsa::oidc_issuer", bucket = %bucket_name, "issuer's bucket and distribution are gone: removing from state");
        return Ok(None);
    }
    state.set_site_state(site);
    state.documents = Tf::Known(docs.unwrap_or_default());
    record_provider(&mut state, provider);
    Ok(Some(state))
}

/// What refresh reads of a site: every part at once.
pub(crate) struct SiteSeen {
    settings: Option<BTreeMap<String, String>>,
    dist: Option<Distribution>,
    cert: Option<Vec<ValidationRecord>>,
    records: Option<BTreeMap<String, String>>,
    oac_exists: Option<bool>,
}

/// Reads every part of the site `s` records at once (one round trip); the
/// caller runs it under the call's context, joined with its own reads.
pub(crate) async fn observe_site(
    aws: &Aws<'_>,
    s: &SiteState,
    validation: &[ValidationRecord],
) -> Result<SiteSeen, Diagnostics> {
    let bucket_name = s.bucket.as_deref().unwrap_or_default();
    let cloudfront = s.hosting_mode() == Hosting::CloudFront;
    let on_cloudfront = |v: &Tf<String>| v.as_deref().filter(|_| cloudfront).map(str::to_string);
    let (dist_id, cert_arn, oac_id) = (
        on_cloudfront(&s.distribution_id),
        on_cloudfront(&s.certificate_arn),
        on_cloudfront(&s.origin_access_control_id),
    );
    let zone = on_cloudfront(&s.route53_zone_id).unwrap_or_default();
    let domain = s.domain.as_deref().unwrap_or_default();
    let (settings, dist, cert, records, oac_exists) = tokio::join!(
        Box::pin(bucket::observe(aws, bucket_name)),
        Box::pin(distribution::observe(aws, dist_id.as_deref())),
        Box::pin(certificate::observe(aws, cert_arn.as_deref())),
        Box::pin(dns::observe(aws, &zone, domain, validation)),
        Box::pin(oac::observe(aws, oac_id.as_deref())),
    );
    Ok(SiteSeen {
        settings: settings.context("Cannot read the bucket")?,
        dist: dist.context("Cannot read the CloudFront distribution")?,
        cert: cert.context("Cannot read the certificate")?,
        records: records.context("Cannot read the DNS records")?,
        oac_exists: oac_exists.context("Cannot read the Origin Access Control")?,
    })
}

/// Records what was seen in `s`: drift in the settings maps, a part found
/// gone as null or `missing`. `false` when the site is gone (its bucket,
/// and with CloudFront its distribution too).
pub(crate) async fn record_site(
    aws: &Aws<'_>,
    s: &mut SiteState,
    seen: SiteSeen,
    private: &mut Private,
    shared: bool,
) -> Result<bool, Diagnostics> {
    let cloudfront = s.hosting_mode() == Hosting::CloudFront;
    if seen.settings.is_none() && (!cloudfront || seen.dist.is_none()) {
        return Ok(false);
    }
    s.bucket_settings = match seen.settings {
        Some(settings) => Tf::Known(settings),
        None => missing("bucket"),
    };
    if !cloudfront {
        return Ok(true);
    }
    let mut records = seen.records;
    if seen.cert.is_none() && s.certificate_arn.is_known() && seen.dist.is_some() {
        tracing::info!(target: "irsa::oidc_issuer", "the certificate is gone: it will be requested again");
        s.certificate_arn = Tf::Null;
    }
    if let Some(validation_records) = &seen.cert {
        let recorded = private.validation_records();
        private.set_validation(validation_records);
        // Private state had other validation names (none recorded yet):
        // read again for the certificate's own, a second round trip.
        if records.is_some() && private.validation_records() != recorded {
            let zone = s.route53_zone_id.as_deref().unwrap_or_default();
            let domain = s.domain.as_deref().unwrap_or_default();
            let again = aws
                .ctx
                .run(dns::observe(
                    aws,
                    zone,
                    domain,
                    &private.validation_records(),
                ))
                .await?;
            records = again.context("Cannot read the DNS records")?;
        }
    }
    record_distribution(s, seen.dist, seen.oac_exists, records, shared);
    Ok(true)
}

/// IAM keeps client IDs and thumbprints as sets: the configured order is
/// kept when IAM holds the same items. Only thumbprints the user manages
/// are compared.
pub(super) fn record_provider(state: &mut IssuerModel, provider: Option<OidcProvider>) {
    let Some(p) = provider else {
        state.oidc_provider_arn = Tf::Null;
        return;
    };
    let recorded = state.client_ids.known_items().unwrap_or_default();
    state.client_ids = Tf::list(desired::in_configured_order(
        &p.client_ids,
        &recorded,
        false,
    ));
    if let Some(recorded) = state.thumbprints.known_items().filter(|t| !t.is_empty()) {
        state.thumbprints = Tf::list(desired::in_configured_order(
            &p.thumbprints,
            &recorded,
            true,
        ));
    }
    let user = desired::user_tags(&p.tags);
    if !(user.is_empty() && state.tags.is_null()) {
        state.tags = Tf::map_of(user);
    }
}

fn record_distribution(
    s: &mut SiteState,
    dist: Option<Distribution>,
    oac_exists: Option<bool>,
    records: Option<BTreeMap<String, String>>,
    shared: bool,
) {
    let Some(d) = dist else {
        s.distribution_settings = missing("distribution");
        return;
    };
    s.distribution_domain_name = Tf::Known(d.domain_name.clone());
    s.price_class = tfplugin::model::TfType::from_value(
        &tfplugin::Value::string(d.spec.price_class.clone()),
        &tfplugin::AttrPath::root("price_class"),
    )
    .map_or(Tf::Null, Tf::Known);
    s.cache_ttl = Tf::Known(TtlModel::from(Ttl {
        min: d.spec.min_ttl,
        default: d.spec.default_ttl,
        max: d.spec.max_ttl,
    }));
    s.distribution_settings = Tf::Known(distribution::settings(&d, shared));
    if oac_exists == Some(false) {
        tracing::info!(target: "irsa::oidc_issuer", "the Origin Access Control is gone: it will be made again");
        s.origin_access_control_id = Tf::Null;
    }
    if let Some(records) = records {
        s.dns_records = Tf::Known(records);
    }
}
