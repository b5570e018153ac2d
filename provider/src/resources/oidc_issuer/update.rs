//! Update in place: parts deleted out of band are made again, drifted
//! settings are put back, new keys are published (and the cached documents
//! invalidated), and the IAM OIDC provider follows the configuration.

use tfplugin::{Ctx, Diagnostics, Tf};

use super::desired::{self, Identity};
use super::model::{Config, Hosting, IssuerModel};
use super::private::Private;
use super::{
    aws_error, bucket_missing, bucket_tags, distribution_arn, distribution_missing, interrupted,
    OidcIssuer,
};
use crate::aws::acm::ValidationRecord;
use std::time::Duration;

use crate::aws::{acm, cloudfront, iam, retry_while, route53, s3, AwsClients, ErrorKind};

impl OidcIssuer {
    /// The new state and bookkeeping, or the error with the bookkeeping
    /// known by then (the prior state stays).
    pub(super) async fn update(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        prior: &IssuerModel,
        planned: IssuerModel,
        private_bytes: &[u8],
    ) -> Result<(IssuerModel, Private), (Diagnostics, Option<Private>)> {
        let mut state = planned;
        stamp_removed_keys(
            &mut state,
            cfg.key_retention,
            time::OffsetDateTime::now_utc(),
        );
        let mut private = self
            .private_or_identity(clients, Private::parse(private_bytes), &cfg.name)
            .await
            .map_err(|d| (d, None))?;
        match self
            .update_parts(ctx, clients, cfg, prior, &mut state, &mut private)
            .await
        {
            Ok(()) => Ok((state, private)),
            Err(d) => Err((d, Some(private))),
        }
    }

    async fn update_parts(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        prior: &IssuerModel,
        state: &mut IssuerModel,
        private: &mut Private,
    ) -> Result<(), Diagnostics> {
        let id = private.identity();
        let bucket = prior.bucket.as_deref().unwrap_or_default().to_string();
        let issuer = prior.issuer_url.as_deref().unwrap_or_default().to_string();
        let tags = desired::tags(cfg);
        let tags_changed = prior.tags != state.tags;
        let cloudfront = cfg.hosting == Hosting::CloudFront;

        // Parts deleted out of band while the rest stands are made again.
        let mut bucket_remade = false;
        if bucket_missing(prior) && !bucket.is_empty() {
            s3::create_bucket(&clients.s3, &bucket, &id.region)
                .await
                .map_err(|e| aws_error("Cannot create the bucket again", e))?;
            let tags = bucket_tags(cfg);
            retry_while(ctx, s3::new_bucket_settling, None, || {
                s3::put_bucket_tags(&clients.s3, &bucket, &tags)
            })
            .await
            .map_err(|e| aws_error("Cannot tag the bucket", e))?;
            bucket_remade = true;
        }
        if cloudfront && distribution_missing(prior) {
            self.remake_distribution(ctx, clients, cfg, state, &bucket, &id, private)
                .await?;
        }

        // From here on the distribution is the one in `state`.
        let dist_id = state.distribution_id.known().cloned();

        // Bucket settings that drifted.
        if bucket_remade || prior.bucket_settings != state.bucket_settings {
            if cfg.hosting == Hosting::S3 {
                // A denial to come from the account's setting fails fast.
                self.check_account_public_access(ctx, clients, &id.account_id)
                    .await?;
            }
            let settle = s3::new_bucket_settling;
            retry_while(ctx, settle, None, || {
                s3::put_public_access_block(
                    &clients.s3,
                    &bucket,
                    desired::public_access(cfg.hosting),
                )
            })
            .await
            .map_err(|e| aws_error("Cannot set the public access block", e))?;
            retry_while(ctx, settle, None, || {
                s3::put_default_encryption(&clients.s3, &bucket)
            })
            .await
            .map_err(|e| aws_error("Cannot set default encryption", e))?;
            retry_while(ctx, settle, None, || {
                s3::put_versioning(&clients.s3, &bucket, true)
            })
            .await
            .map_err(|e| aws_error("Cannot enable versioning", e))?;
            let policy = match (cfg.hosting, &dist_id) {
                (Hosting::CloudFront, Some(d)) => Some(desired::cloudfront_bucket_policy(
                    &bucket,
                    &id,
                    &distribution_arn(&id, d),
                )),
                (Hosting::S3, _) => Some(desired::public_bucket_policy(&bucket, &id)),
                _ => None,
            };
            if let Some(policy) = policy {
                // Right after the access block was put: AccessDenied while
                // it propagates, for two minutes at most (see create).
                let public = cfg.hosting == Hosting::S3;
                retry_while(
                    ctx,
                    |e| settle(e) || (public && e.kind == ErrorKind::AccessDenied),
                    Some(Duration::from_secs(120)),
                    || s3::put_bucket_policy(&clients.s3, &bucket, &policy),
                )
                .await
                .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
            }
        }
        if tags_changed && !bucket_remade {
            s3::put_bucket_tags(&clients.s3, &bucket, &bucket_tags(cfg))
                .await
                .map_err(|e| aws_error("Cannot tag the bucket", e))?;
        }

        // Distribution settings, price class and TTLs; its tags; DNS records.
        if let (true, Some(dist_id)) = (cloudfront, &dist_id) {
            // An OAC Read found gone (detached, then deleted) is made again.
            let oac_remade =
                prior.origin_access_control_id.is_null() && !distribution_missing(prior);
            if oac_remade {
                let oac = cloudfront::create_origin_access_control(
                    &clients.cloudfront,
                    &desired::oac_name(&cfg.name),
                    &format!("irsa issuer {}", cfg.name),
                )
                .await
                .map_err(|e| aws_error("Cannot create the Origin Access Control again", e))?;
                state.origin_access_control_id = Tf::Known(oac);
            }
            // A certificate Read found gone (replaced on the distribution,
            // then deleted) is requested, validated and attached again.
            let cert_remade = prior.certificate_arn.is_null() && !distribution_missing(prior);
            if cert_remade {
                self.remake_certificate(ctx, clients, cfg, state, private)
                    .await?;
            }
            let (oac, cert) = origin_and_certificate(state);
            let drifted = oac_remade
                || cert_remade
                || prior.distribution_settings != state.distribution_settings
                || prior.price_class != state.price_class
                || prior.cache_ttl != state.cache_ttl;
            if drifted && !distribution_missing(prior) {
                let spec = desired::distribution_spec(
                    cfg,
                    &bucket,
                    &id,
                    &oac,
                    &cert,
                    &private.caller_reference,
                );
                let d = ctx
                    .run(retry_while(
                        ctx,
                        cloudfront::certificate_not_yet_known,
                        None,
                        || cloudfront::update_distribution(&clients.cloudfront, dist_id, &spec),
                    ))
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot update the CloudFront distribution", e))?;
                if state.distribution_settings.is_unknown() {
                    state.distribution_settings = Tf::Known(desired::distribution_settings(
                        &d.spec,
                        &d.fixed_settings_drift,
                    ));
                }
                if cfg.wait_for_deployment {
                    cloudfront::wait_deployed(&clients.cloudfront, dist_id, ctx)
                        .await
                        .map_err(|e| {
                            aws_error("The CloudFront distribution did not finish deploying", e)
                        })?;
                }
            }
            if tags_changed {
                let arn = distribution_arn(&id, dist_id);
                let current = cloudfront::get_distribution_tags(&clients.cloudfront, &arn)
                    .await
                    .map_err(|e| aws_error("Cannot read the distribution's tags", e))?;
                cloudfront::set_distribution_tags(&clients.cloudfront, &arn, &current, &tags)
                    .await
                    .map_err(|e| aws_error("Cannot tag the distribution", e))?;
            }
            if prior.dns_records != state.dns_records {
                let dist_domain = state
                    .distribution_domain_name
                    .as_deref()
                    .unwrap_or_default()
                    .to_string();
                self.upsert_records(
                    ctx,
                    clients,
                    cfg,
                    &dist_domain,
                    &private.validation_records(),
                )
                .await?;
            }
        }

        // Documents: new keys, expired retained keys, TTL change, or drift.
        if (bucket_remade || prior.documents != state.documents) && !issuer.is_empty() {
            let published = state
                .published_jwks
                .as_deref()
                .and_then(|j| crate::oidc::parse_jwks(j).ok())
                .unwrap_or_else(|| cfg.jwks.clone());
            self.put_documents(ctx, clients, cfg, &bucket, &issuer, &published)
                .await?;
            if let (true, Some(dist_id)) = (cloudfront, &dist_id) {
                // STS must see new keys now, not after the cache TTL.
                let paths = vec![
                    format!("/{}", desired::DISCOVERY_KEY),
                    format!("/{}", desired::JWKS_KEY),
                ];
                let reference = format!(
                    "irsa-{}",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
                );
                ctx.run(cloudfront::create_invalidation(
                    &clients.cloudfront,
                    dist_id,
                    &paths,
                    &reference,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot invalidate the cached documents", e))?;
            }
        }

        // The IAM OIDC provider.
        let host_path = issuer.trim_start_matches("https://").to_string();
        match prior.oidc_provider_arn.as_deref() {
            None => {
                let arn = iam::create_oidc_provider(
                    &clients.iam,
                    &issuer,
                    &cfg.client_ids,
                    &cfg.thumbprints,
                    &tags,
                )
                .await
                .or_else(|e| {
                    if e.kind == crate::aws::ErrorKind::AlreadyExists {
                        Ok(iam::oidc_provider_arn(
                            &id.account_id,
                            &id.partition,
                            &host_path,
                        ))
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| aws_error("Cannot create the IAM OIDC provider", e))?;
                state.oidc_provider_arn = Tf::Known(arn);
            }
            Some(arn) => {
                let current_ids = prior.client_ids.known_items().unwrap_or_default();
                if !desired::same_items(&current_ids, &cfg.client_ids, false) {
                    iam::set_client_ids(&clients.iam, arn, &current_ids, &cfg.client_ids)
                        .await
                        .map_err(|e| aws_error("Cannot update the client IDs", e))?;
                }
                let current_tp = prior.thumbprints.known_items().unwrap_or_default();
                if !cfg.thumbprints.is_empty()
                    && !desired::same_items(&current_tp, &cfg.thumbprints, true)
                {
                    iam::set_thumbprints(&clients.iam, arn, &cfg.thumbprints)
                        .await
                        .map_err(|e| aws_error("Cannot update the thumbprints", e))?;
                }
                if tags_changed {
                    let current = iam::get_oidc_provider(&clients.iam, arn)
                        .await
                        .map_err(|e| aws_error("Cannot read the OIDC provider", e))?
                        .map(|p| p.tags)
                        .unwrap_or_default();
                    iam::set_tags(&clients.iam, arn, &current, &tags)
                        .await
                        .map_err(|e| aws_error("Cannot tag the OIDC provider", e))?;
                }
            }
        }
        if tags_changed {
            if let Some(cert) = prior.certificate_arn.as_deref() {
                acm::set_certificate_tags(&clients.acm, cert, &tags)
                    .await
                    .map_err(|e| aws_error("Cannot tag the certificate", e))?;
            }
        }
        Ok(())
    }

    /// A distribution deleted out of band (the bucket still there): a new
    /// one, with a new caller reference, pointed at by the DNS records.
    #[allow(clippy::too_many_arguments)]
    async fn remake_distribution(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        state: &mut IssuerModel,
        bucket: &str,
        id: &Identity,
        private: &mut Private,
    ) -> Result<(), Diagnostics> {
        let (oac, cert) = origin_and_certificate(state);
        private.caller_reference = format!(
            "irsa-{}-{}",
            cfg.name,
            time::OffsetDateTime::now_utc().unix_timestamp()
        );
        let spec =
            desired::distribution_spec(cfg, bucket, id, &oac, &cert, &private.caller_reference);
        let tags = desired::tags(cfg);
        let d = ctx
            .run(retry_while(
                ctx,
                cloudfront::certificate_not_yet_known,
                None,
                || cloudfront::create_distribution(&clients.cloudfront, &spec, &tags),
            ))
            .await
            .map_err(interrupted)?
            .map_err(|e| aws_error("Cannot create the CloudFront distribution again", e))?;
        let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
        state.distribution_id = Tf::Known(d.id.clone());
        state.distribution_domain_name = Tf::Known(d.domain_name.clone());
        state.distribution_settings = Tf::Known(desired::distribution_settings(
            &d.spec,
            &d.fixed_settings_drift,
        ));
        state.bucket_settings = Tf::Known(desired::bucket_settings(cfg.hosting, &policy));
        state.dns_records = Tf::Known(desired::dns_records(
            cfg.domain.as_deref().unwrap_or_default(),
            &d.domain_name,
            &private.validation_records(),
        ));
        if cfg.wait_for_deployment {
            cloudfront::wait_deployed(&clients.cloudfront, &d.id, ctx)
                .await
                .map_err(|e| {
                    aws_error("The CloudFront distribution did not finish deploying", e)
                })?;
        }
        Ok(())
    }

    /// A new certificate for `domain` (a new idempotency token: the old
    /// one named the deleted certificate), its validation records written,
    /// issued; recorded in `state` and `private` as soon as ACM names it.
    async fn remake_certificate(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        state: &mut IssuerModel,
        private: &mut Private,
    ) -> Result<(), Diagnostics> {
        let domain = cfg.domain.clone().unwrap_or_default();
        let zone = cfg.route53_zone_id.clone().unwrap_or_default();
        let id = private.identity();
        let token = acm::idempotency_token(&format!(
            "{}:{}:{}",
            id.account_id,
            private.caller_reference,
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        let arn = ctx
            .run(acm::request_certificate(
                &clients.acm,
                &domain,
                &token,
                &desired::tags(cfg),
            ))
            .await
            .map_err(interrupted)?
            .map_err(|e| aws_error("Cannot request the certificate again", e))?;
        state.certificate_arn = Tf::Known(arn.clone());
        let records = acm::wait_for_validation_records(&clients.acm, &arn, ctx)
            .await
            .map_err(|e| aws_error("Cannot read the certificate's validation records", e))?;
        private.set_validation(&records);
        route53::upsert_records(
            &clients.route53,
            &zone,
            &desired::validation_records(&records),
            ctx,
        )
        .await
        .map_err(|e| aws_error("Cannot create the certificate validation records", e))?;
        acm::wait_issued(&clients.acm, &arn, ctx)
            .await
            .map_err(|e| aws_error("The certificate was not issued", e))?;
        if state.dns_records.is_unknown() {
            state.dns_records = Tf::Known(desired::dns_records(
                &domain,
                state
                    .distribution_domain_name
                    .as_deref()
                    .unwrap_or_default(),
                &records,
            ));
        }
        Ok(())
    }

    /// A and AAAA aliases to the distribution, and the certificate's validation records.
    async fn upsert_records(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        distribution_domain: &str,
        validation: &[ValidationRecord],
    ) -> Result<(), Diagnostics> {
        let zone = cfg.route53_zone_id.clone().unwrap_or_default();
        let domain = cfg.domain.clone().unwrap_or_default();
        let mut records = desired::alias_records(&domain, distribution_domain);
        records.extend(desired::validation_records(validation));
        route53::upsert_records(&clients.route53, &zone, &records, ctx)
            .await
            .map_err(|e| aws_error("Cannot write the DNS records", e))
    }
}

/// The Origin Access Control and certificate the distribution is built with.
fn origin_and_certificate(state: &IssuerModel) -> (String, String) {
    let text = |v: &Tf<String>| v.as_deref().unwrap_or_default().to_string();
    (
        text(&state.origin_access_control_id),
        text(&state.certificate_arn),
    )
}

/// Fills the times the plan left unknown for keys this apply removes.
fn stamp_removed_keys(
    state: &mut IssuerModel,
    retention: std::time::Duration,
    now: time::OffsetDateTime,
) {
    let Tf::Known(items) = &mut state.retained_keys else {
        return;
    };
    for item in items.iter_mut() {
        if item.removed_at.is_unknown() {
            item.removed_at = Tf::Known(desired::rfc3339(now));
            item.expires_at = Tf::Known(desired::rfc3339(now + retention));
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
