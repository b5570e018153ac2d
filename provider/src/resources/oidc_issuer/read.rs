//! Refresh: what AWS holds now; drift shows in the computed maps.

use std::collections::BTreeMap;

use tfplugin::{Ctx, Diagnostics, Tf};

use super::desired;
use super::model::{self, Hosting, IssuerModel, TtlModel};
use super::private::Private;
use super::{aws_error, interrupted, missing, OidcIssuer};
use crate::aws::acm::ValidationRecord;
use crate::aws::route53::RecordValue;
use crate::aws::{acm, cloudfront, iam, route53, s3, AwsCallError, AwsClients};

impl OidcIssuer {
    /// What AWS holds now, as state. `None` when the core parts are gone.
    pub(super) async fn refresh(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        mut state: IssuerModel,
        private: Option<Private>,
    ) -> Result<(Option<IssuerModel>, Private), Diagnostics> {
        let name = state.name.as_deref().unwrap_or_default().to_string();
        let mut private = self.private_or_identity(clients, private, &name).await?;
        let hosting = state.hosting_mode();
        let Some(bucket) = state.bucket.known().cloned() else {
            return Ok((None, private));
        };
        let err = |what: &'static str| move |e: AwsCallError| aws_error(what, e);

        let bucket_view = async {
            if !s3::bucket_exists(&clients.s3, &bucket).await? {
                return Ok::<_, AwsCallError>(None);
            }
            let (pab, enc, ver, policy, disc, jwks) = tokio::join!(
                Box::pin(s3::get_public_access_block(&clients.s3, &bucket)),
                Box::pin(s3::default_encryption_algorithm(&clients.s3, &bucket)),
                Box::pin(s3::versioning_enabled(&clients.s3, &bucket)),
                Box::pin(s3::get_bucket_policy(&clients.s3, &bucket)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::DISCOVERY_KEY)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::JWKS_KEY)),
            );
            let mut settings = BTreeMap::new();
            settings.insert(
                "public_access_block".to_string(),
                desired::public_access_label(pab?.and_then(|p| p.as_public_access())),
            );
            settings.insert(
                "encryption".to_string(),
                enc?.unwrap_or_else(|| "none".into()),
            );
            settings.insert(
                "versioning".to_string(),
                if ver? {
                    "Enabled".into()
                } else {
                    "Suspended".into()
                },
            );
            settings.insert(
                "policy".to_string(),
                policy?
                    .map(|p| desired::policy_digest(&p))
                    .unwrap_or_else(|| "none".into()),
            );
            let mut docs = BTreeMap::new();
            for (key, obj) in [(desired::DISCOVERY_KEY, disc?), (desired::JWKS_KEY, jwks?)] {
                let fp = match obj {
                    Some(o) => desired::document_fingerprint(
                        &o.body,
                        o.content_type.as_deref().unwrap_or(""),
                        o.cache_control.as_deref().unwrap_or(""),
                    ),
                    None => "missing".to_string(),
                };
                docs.insert(key.to_string(), fp);
            }
            Ok(Some((settings, docs)))
        };
        let provider_view = async {
            match state.oidc_provider_arn.as_deref() {
                Some(arn) => iam::get_oidc_provider(&clients.iam, arn).await,
                None => Ok(None),
            }
        };
        let dist_view = async {
            match state.distribution_id.as_deref() {
                Some(d) if hosting == Hosting::CloudFront => {
                    cloudfront::get_distribution(&clients.cloudfront, d).await
                }
                _ => Ok(None),
            }
        };
        let cert_view = async {
            match state.certificate_arn.as_deref() {
                Some(a) if hosting == Hosting::CloudFront => {
                    acm::describe_certificate(&clients.acm, a).await
                }
                _ => Ok(None),
            }
        };
        // Boxed: the joined SDK futures are too large for a worker's stack.
        let (b, p, d, c) = ctx
            .run(async {
                tokio::join!(
                    Box::pin(bucket_view),
                    Box::pin(provider_view),
                    Box::pin(dist_view),
                    Box::pin(cert_view)
                )
            })
            .await
            .map_err(interrupted)?;
        let bucket_view = b.map_err(err("Cannot read the bucket"))?;
        let provider = p.map_err(err("Cannot read the IAM OIDC provider"))?;
        let dist = d.map_err(err("Cannot read the CloudFront distribution"))?;
        let cert = c.map_err(err("Cannot read the certificate"))?;

        let core_gone = bucket_view.is_none() && (hosting == Hosting::S3 || dist.is_none());
        if core_gone {
            tracing::info!(target: "irsa::oidc_issuer", bucket = %bucket, "issuer's bucket and distribution are gone: removing from state");
            return Ok((None, private));
        }
        match bucket_view {
            Some((settings, docs)) => {
                state.bucket_settings = Tf::Known(settings);
                state.documents = Tf::Known(docs);
            }
            None => {
                state.bucket_settings = missing("bucket");
                state.documents = Tf::Known(BTreeMap::new());
            }
        }
        match &provider {
            Some(p) => {
                let recorded = state.client_ids.known_items().unwrap_or_default();
                state.client_ids = Tf::list(desired::in_configured_order(
                    &p.client_ids,
                    &recorded,
                    false,
                ));
                // Only thumbprints the user manages are compared (see with_defaults).
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
            None => state.oidc_provider_arn = Tf::Null,
        }
        if let Some(c) = &cert {
            private.set_validation(&c.validation_records);
        }
        if hosting == Hosting::CloudFront {
            match &dist {
                Some(d) => {
                    state.distribution_domain_name = Tf::Known(d.domain_name.clone());
                    state.price_class = Tf::Known(d.spec.price_class.clone());
                    state.cache_ttl = Tf::Known(TtlModel::from(model::Ttl {
                        min: d.spec.min_ttl,
                        default: d.spec.default_ttl,
                        max: d.spec.max_ttl,
                    }));
                    state.distribution_settings = Tf::Known(desired::distribution_settings(
                        &d.spec,
                        &d.fixed_settings_drift,
                    ));
                    let zone = state
                        .route53_zone_id
                        .as_deref()
                        .unwrap_or_default()
                        .to_string();
                    let domain = state.domain.as_deref().unwrap_or_default().to_string();
                    let records = self
                        .observed_records(clients, &zone, &domain, &private.validation_records())
                        .await?;
                    state.dns_records = Tf::Known(records);
                }
                None => state.distribution_settings = missing("distribution"),
            }
        }
        Ok((Some(state), private))
    }

    pub(super) async fn observed_records(
        &self,
        clients: &AwsClients,
        zone: &str,
        domain: &str,
        validation: &[ValidationRecord],
    ) -> Result<BTreeMap<String, String>, Diagnostics> {
        let mut wanted: Vec<(String, String)> = vec![
            ("A".into(), domain.to_string()),
            ("AAAA".into(), domain.to_string()),
        ];
        wanted.extend(validation.iter().map(|v| (v.rtype.clone(), v.name.clone())));
        let lookups = wanted
            .iter()
            .map(|(t, n)| route53::list_records(&clients.route53, zone, n, t));
        let found = futures::future::join_all(lookups).await;
        let mut out = BTreeMap::new();
        for ((t, n), r) in wanted.iter().zip(found) {
            let r = r.map_err(|e| aws_error("Cannot read the DNS records", e))?;
            if let Some(rec) = r {
                let v = match rec.value {
                    RecordValue::Alias { dns_name, .. } => format!("alias {dns_name}"),
                    RecordValue::Values { values, .. } => values.join(","),
                };
                out.insert(format!("{t} {n}"), v);
            }
        }
        Ok(out)
    }
}
