//! Refresh: what AWS holds now. Every part is read at once (one round
//! trip); drift shows in the computed maps, a part found gone as null or
//! `missing`, and the issuer leaves state only when its core is gone.

use std::collections::BTreeMap;

use tfplugin::{Diagnostics, ErrorContext, Tf};

use super::desired;
use super::missing;
use super::model::{Hosting, IssuerModel, Ttl, TtlModel};
use super::parts::{bucket, certificate, distribution, dns, documents, oac, oidc_provider, Aws};
use super::private::Private;
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
    let hosting = state.hosting_mode();
    let cloudfront = hosting == Hosting::CloudFront;
    let on_cloudfront = |v: &Tf<String>| v.as_deref().filter(|_| cloudfront).map(str::to_string);
    let (dist_id, cert_arn, oac_id) = (
        on_cloudfront(&state.distribution_id),
        on_cloudfront(&state.certificate_arn),
        on_cloudfront(&state.origin_access_control_id),
    );
    let zone = state
        .route53_zone_id
        .as_deref()
        .filter(|_| cloudfront)
        .unwrap_or_default()
        .to_string();
    let domain = state.domain.as_deref().unwrap_or_default().to_string();
    let validation = private.validation_records();
    // Boxed: the joined SDK futures are too large for a worker's stack.
    let (settings, docs, provider, dist, cert, records, oac_exists) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(bucket::observe(aws, &bucket_name)),
                Box::pin(documents::observe(aws, &bucket_name)),
                Box::pin(oidc_provider::observe(
                    aws,
                    state.oidc_provider_arn.as_deref()
                )),
                Box::pin(distribution::observe(aws, dist_id.as_deref())),
                Box::pin(certificate::observe(aws, cert_arn.as_deref())),
                Box::pin(dns::observe(aws, &zone, &domain, &validation)),
                Box::pin(oac::observe(aws, oac_id.as_deref())),
            )
        })
        .await?;
    let settings = settings.context("Cannot read the bucket")?;
    let docs = docs.context("Cannot read the bucket")?;
    let provider = provider.context("Cannot read the IAM OIDC provider")?;
    let dist = dist.context("Cannot read the CloudFront distribution")?;
    let cert = cert.context("Cannot read the certificate")?;
    let mut records = records.context("Cannot read the DNS records")?;
    let oac_exists = oac_exists.context("Cannot read the Origin Access Control")?;

    let bucket_view = settings.zip(docs);
    if bucket_view.is_none() && (hosting == Hosting::S3 || dist.is_none()) {
        tracing::info!(target: "irsa::oidc_issuer", bucket = %bucket_name, "issuer's bucket and distribution are gone: removing from state");
        return Ok(None);
    }
    record_bucket(&mut state, bucket_view);
    record_provider(&mut state, provider);
    if cert.is_none() && cert_arn.is_some() && dist.is_some() {
        tracing::info!(target: "irsa::oidc_issuer", "the certificate is gone: it will be requested again");
        state.certificate_arn = Tf::Null;
    }
    if let Some(validation_records) = &cert {
        private.set_validation(validation_records);
        // Private state had other validation names (none recorded yet):
        // read again for the certificate's own, a second round trip.
        if records.is_some() && private.validation_records() != validation {
            let again = aws
                .ctx
                .run(dns::observe(
                    aws,
                    &zone,
                    &domain,
                    &private.validation_records(),
                ))
                .await?;
            records = again.context("Cannot read the DNS records")?;
        }
    }
    if cloudfront {
        record_distribution(&mut state, dist, oac_exists, records);
    }
    Ok(Some(state))
}

fn record_bucket(
    state: &mut IssuerModel,
    view: Option<(BTreeMap<String, String>, BTreeMap<String, String>)>,
) {
    match view {
        Some((settings, docs)) => {
            state.bucket_settings = Tf::Known(settings);
            state.documents = Tf::Known(docs);
        }
        None => {
            state.bucket_settings = missing("bucket");
            state.documents = Tf::Known(BTreeMap::new());
        }
    }
}

/// IAM keeps client IDs and thumbprints as sets: the configured order is
/// kept when IAM holds the same items. Only thumbprints the user manages
/// are compared.
fn record_provider(state: &mut IssuerModel, provider: Option<OidcProvider>) {
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
    state: &mut IssuerModel,
    dist: Option<Distribution>,
    oac_exists: Option<bool>,
    records: Option<BTreeMap<String, String>>,
) {
    let Some(d) = dist else {
        state.distribution_settings = missing("distribution");
        return;
    };
    state.distribution_domain_name = Tf::Known(d.domain_name.clone());
    state.price_class = tfplugin::model::TfType::from_value(
        &tfplugin::Value::string(d.spec.price_class.clone()),
        &tfplugin::AttrPath::root("price_class"),
    )
    .map_or(Tf::Null, Tf::Known);
    state.cache_ttl = Tf::Known(TtlModel::from(Ttl {
        min: d.spec.min_ttl,
        default: d.spec.default_ttl,
        max: d.spec.max_ttl,
    }));
    state.distribution_settings = Tf::Known(distribution::settings(&d));
    if oac_exists == Some(false) {
        tracing::info!(target: "irsa::oidc_issuer", "the Origin Access Control is gone: it will be made again");
        state.origin_access_control_id = Tf::Null;
    }
    if let Some(records) = records {
        state.dns_records = Tf::Known(records);
    }
}
