//! Update in place: parts deleted out of band are made again, drifted
//! settings are put back, new keys are published (and the cached documents
//! invalidated), and the IAM OIDC provider follows the configuration.
//! Each step runs only when its part differs between the prior state (what
//! refresh found) and the plan. `update_site` is the site's share, which an
//! `irsa_issuer_host` runs too.

use tfplugin::resource::{Failed, Outcome, Saved};
use tfplugin::{Diagnostics, ErrorContext, Model, Tf};

use super::checks;
use super::desired;
use super::model::{Config, Hosting, IssuerModel, Site};
use super::parts::{bucket, certificate, distribution, dns, documents, oac, oidc_provider, Aws};
use super::private::Private;
use super::site::{SiteModel, SiteState};

/// The new state, or the failure with the bookkeeping known by then (the
/// prior state stays: the parts already changed are in AWS, and a refresh
/// sees them).
pub(super) async fn update(
    aws: &Aws<'_>,
    cfg: &Config,
    prior: &IssuerModel,
    planned: IssuerModel,
    mut private: Private,
) -> Outcome<IssuerModel, Private> {
    let mut state = planned;
    stamp_removed_keys(
        &mut state,
        cfg.key_retention,
        time::OffsetDateTime::now_utc(),
    );
    match Box::pin(steps(aws, cfg, prior, &mut state, &mut private)).await {
        Ok(()) => {
            // What the plan could not know and no step made does not exist.
            state.null_unknown_computed();
            Ok(Saved::new(state, private))
        }
        Err(diagnostics) => Err(Failed {
            diagnostics,
            state: None,
            private: Some(private),
        }),
    }
}

async fn steps(
    aws: &Aws<'_>,
    cfg: &Config,
    prior: &IssuerModel,
    state: &mut IssuerModel,
    private: &mut Private,
) -> Result<(), Diagnostics> {
    let bucket = prior.bucket.as_deref().unwrap_or_default().to_string();
    let mut site = state.site_state();
    let result = Box::pin(update_site(
        aws,
        &cfg.site,
        &prior.site_state(),
        &mut site,
        private,
    ))
    .await;
    state.set_site_state(site);
    let bucket_remade = result?;
    if bucket_remade || prior.documents != state.documents {
        publish(aws, cfg, prior, state, &bucket).await?;
    }
    reconcile_oidc_provider(aws, cfg, prior, state).await
}

/// The site's share of an update; `true` when its bucket was made again
/// (its documents must be written again).
pub(crate) async fn update_site(
    aws: &Aws<'_>,
    site: &Site,
    prior: &SiteState,
    state: &mut SiteState,
    private: &mut Private,
) -> Result<bool, Diagnostics> {
    let bucket = prior.bucket.as_deref().unwrap_or_default().to_string();
    let cloudfront = site.hosting == Hosting::CloudFront;
    let bucket_remade = remake_bucket(aws, site, prior, &bucket).await?;
    if cloudfront && prior.distribution_missing() {
        remake_distribution(aws, site, state, &bucket, private).await?;
    }
    if bucket_remade || prior.bucket_settings != state.bucket_settings {
        put_bucket_settings(aws, site, state, &bucket).await?;
    }
    // A host's bucket tags also carry its cache TTLs.
    let retag = prior.tags != state.tags || (site.shared && prior.cache_ttl != state.cache_ttl);
    if retag && !bucket_remade {
        bucket::put_tags(aws, site, &bucket).await?;
    }
    if cloudfront {
        reconcile_cloudfront(aws, site, prior, state, &bucket, private).await?;
    }
    if prior.tags != state.tags {
        if let Some(cert) = prior.certificate_arn.as_deref() {
            certificate::put_tags(aws, site, cert).await?;
        }
    }
    Ok(bucket_remade)
}

/// A bucket deleted out of band (the distribution still there) is made
/// again; its settings and documents follow.
async fn remake_bucket(
    aws: &Aws<'_>,
    site: &Site,
    prior: &SiteState,
    bucket: &str,
) -> Result<bool, Diagnostics> {
    if !prior.bucket_missing() || bucket.is_empty() {
        return Ok(false);
    }
    bucket::create(aws, bucket)
        .await
        .context("Cannot create the bucket again")?;
    bucket::put_tags(aws, site, bucket).await?;
    Ok(true)
}

async fn put_bucket_settings(
    aws: &Aws<'_>,
    site: &Site,
    state: &SiteState,
    bucket: &str,
) -> Result<(), Diagnostics> {
    if site.hosting == Hosting::S3 {
        // A denial to come from the account's setting fails fast.
        checks::account_public_access(aws).await?;
    }
    bucket::configure(aws, site, bucket).await?;
    let policy = match (site.hosting, state.distribution_id.as_deref()) {
        (Hosting::CloudFront, Some(d)) => Some(desired::cloudfront_bucket_policy(
            bucket,
            aws.id,
            &distribution::arn(aws.id, d),
        )),
        (Hosting::S3, _) => Some(desired::public_bucket_policy(bucket, aws.id, site.shared)),
        _ => None,
    };
    match policy {
        Some(p) => bucket::put_policy(aws, site, bucket, &p).await,
        None => Ok(()),
    }
}

/// A distribution deleted out of band (the bucket still there): a new
/// one, with a new caller reference, pointed at by the DNS records.
async fn remake_distribution(
    aws: &Aws<'_>,
    site: &Site,
    state: &mut SiteState,
    bucket: &str,
    private: &mut Private,
) -> Result<(), Diagnostics> {
    let (oac, cert) = state.origin_and_certificate();
    private.caller_reference = distribution::caller_reference(&site.name);
    let d = distribution::create(aws, site, bucket, &oac, &cert, &private.caller_reference).await?;
    let policy = desired::cloudfront_bucket_policy(bucket, aws.id, &d.arn);
    state.distribution_id = Tf::Known(d.id.clone());
    state.distribution_domain_name = Tf::Known(d.domain_name.clone());
    state.distribution_settings = Tf::Known(distribution::settings(&d, site.shared));
    state.bucket_settings = Tf::Known(desired::bucket_settings(site.hosting, &policy));
    state.dns_records = Tf::Known(desired::dns_records(
        site.domain.as_deref().unwrap_or_default(),
        &d.domain_name,
        &private.validation_records(),
    ));
    distribution::wait_deployed(aws, site, &d.id).await
}

/// The OAC and certificate made again when refresh found them gone, the
/// distribution's settings, price class and TTLs, its tags, and the DNS
/// records.
async fn reconcile_cloudfront(
    aws: &Aws<'_>,
    site: &Site,
    prior: &SiteState,
    state: &mut SiteState,
    bucket: &str,
    private: &mut Private,
) -> Result<(), Diagnostics> {
    let Some(dist_id) = state.distribution_id.known().cloned() else {
        return Ok(());
    };
    let was_missing = prior.distribution_missing();
    // An OAC refresh found gone (detached, then deleted) is made again.
    let oac_remade = prior.origin_access_control_id.is_null() && !was_missing;
    if oac_remade {
        let oac = oac::create(aws, &site.name).await;
        state.origin_access_control_id =
            Tf::Known(oac.context("Cannot create the Origin Access Control again")?);
    }
    // A certificate refresh found gone (replaced on the distribution, then
    // deleted) is requested, validated and attached again.
    let cert_remade = prior.certificate_arn.is_null() && !was_missing;
    if cert_remade {
        remake_certificate(aws, site, state, private).await?;
    }
    let drifted = oac_remade
        || cert_remade
        || prior.distribution_settings != state.distribution_settings
        || prior.price_class != state.price_class
        || prior.cache_ttl != state.cache_ttl;
    if drifted && !was_missing {
        let (oac, cert) = state.origin_and_certificate();
        let d = distribution::reconcile(
            aws,
            site,
            &dist_id,
            bucket,
            &oac,
            &cert,
            &private.caller_reference,
        )
        .await?;
        if state.distribution_settings.is_unknown() {
            state.distribution_settings = Tf::Known(distribution::settings(&d, site.shared));
        }
        distribution::wait_deployed(aws, site, &dist_id).await?;
    }
    if prior.tags != state.tags {
        distribution::put_tags(aws, site, &dist_id).await?;
    }
    if prior.dns_records != state.dns_records {
        let dist_domain = state
            .distribution_domain_name
            .as_deref()
            .unwrap_or_default()
            .to_string();
        dns::reconcile(aws, site, &dist_domain, &private.validation_records()).await?;
    }
    Ok(())
}

/// A new certificate for `domain` (a new idempotency token: the old one
/// named the deleted certificate), its validation records written, issued;
/// recorded in `state` and `private` as soon as ACM names it.
async fn remake_certificate(
    aws: &Aws<'_>,
    site: &Site,
    state: &mut SiteState,
    private: &mut Private,
) -> Result<(), Diagnostics> {
    let seed = format!(
        "{}:{}",
        private.caller_reference,
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let arn = aws.ctx.run(certificate::request(aws, site, &seed)).await?;
    let arn = arn.context("Cannot request the certificate again")?;
    state.certificate_arn = Tf::Known(arn.clone());
    let records = certificate::validation_records(aws, &arn).await?;
    private.set_validation(&records);
    certificate::issue(aws, site, &arn, &records).await?;
    if state.dns_records.is_unknown() {
        state.dns_records = Tf::Known(desired::dns_records(
            site.domain.as_deref().unwrap_or_default(),
            state
                .distribution_domain_name
                .as_deref()
                .unwrap_or_default(),
            &records,
        ));
    }
    Ok(())
}

/// New keys, expired retained keys, a TTL change, or drift: both documents
/// written again and, with CloudFront, invalidated so STS sees them now.
async fn publish(
    aws: &Aws<'_>,
    cfg: &Config,
    prior: &IssuerModel,
    state: &IssuerModel,
    bucket: &str,
) -> Result<(), Diagnostics> {
    let Some(issuer) = prior.issuer_url.as_deref() else {
        return Ok(());
    };
    let published = state
        .published_jwks
        .as_deref()
        .and_then(|j| crate::oidc::parse_jwks(j).ok())
        .unwrap_or_else(|| cfg.jwks.clone());
    documents::put(aws, cfg, bucket, issuer, &published).await?;
    match state.distribution_id.as_deref() {
        Some(d) if cfg.site.hosting == Hosting::CloudFront => {
            documents::invalidate(aws, d, None).await
        }
        _ => Ok(()),
    }
}

/// The IAM OIDC provider: made again when refresh found it gone, else its
/// client IDs, thumbprints and tags as configured.
pub(super) async fn reconcile_oidc_provider(
    aws: &Aws<'_>,
    cfg: &Config,
    prior: &IssuerModel,
    state: &mut IssuerModel,
) -> Result<(), Diagnostics> {
    let issuer = prior.issuer_url.as_deref().unwrap_or_default();
    match prior.oidc_provider_arn.as_deref() {
        None => {
            state.oidc_provider_arn = Tf::Known(oidc_provider::recreate(aws, cfg, issuer).await?);
            Ok(())
        }
        Some(arn) => {
            let ids = prior.client_ids.known_items().unwrap_or_default();
            let thumbprints = prior.thumbprints.known_items().unwrap_or_default();
            oidc_provider::reconcile(aws, cfg, arn, &ids, &thumbprints, prior.tags != state.tags)
                .await
        }
    }
}

/// Fills the times the plan left unknown for keys this apply removes.
pub(super) fn stamp_removed_keys(
    state: &mut IssuerModel,
    retention: std::time::Duration,
    now: time::OffsetDateTime,
) {
    let Tf::Known(items) = &mut state.retained_keys else {
        return;
    };
    for item in items.iter_mut() {
        if item.removed_at.is_unknown() {
            item.removed_at = Tf::Known(crate::timestamp::rfc3339(now));
            item.expires_at = Tf::Known(crate::timestamp::rfc3339(now + retention));
        }
    }
}
#[cfg(test)]
mod tests {
    use super::super::model::RetainedKeyModel;
    use super::super::plan::retained_from;
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keys_removed_by_this_apply_get_the_apply_time() {
        let mut state = IssuerModel {
            retained_keys: Tf::Known(vec![
                RetainedKeyModel {
                    kid: Tf::Known("old".into()),
                    removed_at: Tf::Known("2026-01-01T00:00:00Z".into()),
                    expires_at: Tf::Known("2026-01-02T00:00:00Z".into()),
                },
                RetainedKeyModel {
                    kid: Tf::Known("new".into()),
                    removed_at: Tf::unknown(),
                    expires_at: Tf::unknown(),
                },
            ]),
            ..IssuerModel::default()
        };
        stamp_removed_keys(
            &mut state,
            std::time::Duration::from_secs(3600),
            datetime!(2026-01-01 12:00:00.7 UTC),
        );
        let r = retained_from(&state.retained_keys);
        assert_eq!(
            r[0].removed_at, "2026-01-01T00:00:00Z",
            "recorded times are kept"
        );
        assert_eq!(r[1].removed_at, "2026-01-01T12:00:00Z");
        assert_eq!(r[1].expires_at, "2026-01-01T13:00:00Z");
    }
}
