//! Refresh: what AWS holds now; drift shows in the computed maps.

use std::collections::BTreeMap;

use tfplugin::{Ctx, Diagnostics, Tf};

use super::desired;
use super::model::{self, Hosting, IssuerModel, TtlModel};
use super::private::Private;
use super::{aws_error, interrupted, missing, OidcIssuer};
use crate::aws::acm::ValidationRecord;
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

        // Every read is independent of the others: one round trip in all.
        // No HeadBucket first: a missing bucket is NoSuchBucket on each read.
        let bucket_view = async {
            let (pab, enc, ver, policy, disc, jwks) = tokio::join!(
                Box::pin(s3::get_public_access_block(&clients.s3, &bucket)),
                Box::pin(s3::default_encryption_algorithm(&clients.s3, &bucket)),
                Box::pin(s3::versioning_enabled(&clients.s3, &bucket)),
                Box::pin(s3::get_bucket_policy(&clients.s3, &bucket)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::DISCOVERY_KEY)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::JWKS_KEY)),
            );
            fn no_bucket<T>(r: &Result<T, AwsCallError>) -> bool {
                r.as_ref()
                    .err()
                    .is_some_and(|e| e.code.as_deref() == Some("NoSuchBucket"))
            }
            if no_bucket(&pab)
                || no_bucket(&enc)
                || no_bucket(&ver)
                || no_bucket(&policy)
                || no_bucket(&disc)
                || no_bucket(&jwks)
            {
                return Ok::<_, AwsCallError>(None);
            }
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
        let cloudfront = hosting == Hosting::CloudFront;
        let dist_view = async {
            match state.distribution_id.as_deref() {
                Some(d) if cloudfront => cloudfront::get_distribution(&clients.cloudfront, d).await,
                _ => Ok(None),
            }
        };
        let cert_view = async {
            match state.certificate_arn.as_deref() {
                Some(a) if cloudfront => acm::describe_validation(&clients.acm, a).await,
                _ => Ok(None),
            }
        };
        // The OAC: CloudFront refuses to delete one a distribution uses, so
        // one gone was detached first; the repair makes a new one.
        let oac_view = async {
            match state.origin_access_control_id.as_deref() {
                Some(o) if cloudfront => {
                    cloudfront::origin_access_control_exists(&clients.cloudfront, o)
                        .await
                        .map(Some)
                }
                _ => Ok(None),
            }
        };
        // The records are read by name (the domain and the validation names
        // recorded in private state), so at the same time as the rest.
        let zone = state
            .route53_zone_id
            .as_deref()
            .unwrap_or_default()
            .to_string();
        let domain = state.domain.as_deref().unwrap_or_default().to_string();
        let validation = private.validation_records();
        let records_view = async {
            if cloudfront && !zone.is_empty() && !domain.is_empty() {
                observed_records(&clients.route53, &zone, &domain, &validation)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        // Boxed: the joined SDK futures are too large for a worker's stack.
        let (b, p, d, c, r, o) = ctx
            .run(async {
                tokio::join!(
                    Box::pin(bucket_view),
                    Box::pin(provider_view),
                    Box::pin(dist_view),
                    Box::pin(cert_view),
                    Box::pin(records_view),
                    Box::pin(oac_view),
                )
            })
            .await
            .map_err(interrupted)?;
        let bucket_view = b.map_err(err("Cannot read the bucket"))?;
        let provider = p.map_err(err("Cannot read the IAM OIDC provider"))?;
        let dist = d.map_err(err("Cannot read the CloudFront distribution"))?;
        let cert = c.map_err(err("Cannot read the certificate"))?;
        let mut records = r.map_err(err("Cannot read the DNS records"))?;
        let oac_exists = o.map_err(err("Cannot read the Origin Access Control"))?;

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
        if cloudfront && cert.is_none() && state.certificate_arn.is_known() && dist.is_some() {
            tracing::info!(target: "irsa::oidc_issuer", "the certificate is gone: it will be requested again");
            state.certificate_arn = Tf::Null;
        }
        if let Some((_, validation_records)) = &cert {
            private.set_validation(validation_records);
            // Private state had other validation names (none recorded yet):
            // read again for the certificate's own, a second round trip.
            if records.is_some() && private.validation_records() != validation {
                let again = ctx
                    .run(observed_records(
                        &clients.route53,
                        &zone,
                        &domain,
                        &private.validation_records(),
                    ))
                    .await
                    .map_err(interrupted)?;
                records = Some(again.map_err(err("Cannot read the DNS records"))?);
            }
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
                    if oac_exists == Some(false) {
                        tracing::info!(target: "irsa::oidc_issuer", "the Origin Access Control is gone: it will be made again");
                        state.origin_access_control_id = Tf::Null;
                    }
                    if let Some(records) = records {
                        state.dns_records = Tf::Known(records);
                    }
                }
                None => state.distribution_settings = missing("distribution"),
            }
        }
        Ok((Some(state), private))
    }
}

/// Route 53 returns at most this many record sets per ListResourceRecordSets.
const RECORDS_PER_PAGE: i32 = 300;

/// The order in which Route 53 lists a zone's records: by name with its
/// labels reversed and the trailing dot kept (`com.example.oidc.`; Route 53
/// API Reference, ListResourceRecordSets), then by type.
fn listing_key(name: &str) -> String {
    let n = route53::normalize_name(name);
    let mut labels: Vec<&str> = n.split('.').collect();
    labels.reverse();
    format!("{}.", labels.join("."))
}

/// The issuer's records as Route 53 holds them: `"<type> <name>" =>
/// value` for the A and AAAA records of `domain` and the validation
/// records, for those that exist. One ListResourceRecordSets starting at
/// `domain` returns them all: in Route 53's order the domain's own records
/// come first and the names under it (`_<hash>.<domain>`, the ACM
/// validation CNAME) right after. More pages only when `domain` has more
/// than 300 record sets under it; a page that ends before a wanted name
/// jumps to it.
async fn observed_records(
    client: &aws_sdk_route53::Client,
    zone: &str,
    domain: &str,
    validation: &[ValidationRecord],
) -> Result<BTreeMap<String, String>, AwsCallError> {
    const OP: &str = "route53:ListResourceRecordSets";
    let domain = route53::normalize_name(domain);
    let mut wanted: Vec<(String, String)> = vec![
        ("A".into(), domain.clone()),
        ("AAAA".into(), domain.clone()),
    ];
    wanted.extend(
        validation
            .iter()
            .map(|v| (v.rtype.clone(), route53::normalize_name(&v.name))),
    );
    let last = wanted
        .iter()
        .map(|(_, n)| listing_key(n))
        .max()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut start: (String, Option<String>, Option<String>) = (format!("{domain}."), None, None);
    loop {
        let page = client
            .list_resource_record_sets()
            .hosted_zone_id(route53::bare_zone_id(zone))
            .start_record_name(&start.0)
            .set_start_record_type(start.1.take().map(|t| t.as_str().into()))
            .set_start_record_identifier(start.2.take())
            .max_items(RECORDS_PER_PAGE)
            .send()
            .await
            .map_err(|e| crate::aws::error::classify(OP, e))?;
        let mut seen_key = String::new();
        for rrs in page.resource_record_sets() {
            let name = route53::normalize_name(rrs.name());
            let key = listing_key(&name);
            if key > last {
                return Ok(out);
            }
            let rtype = rrs.r#type().as_str().to_string();
            if rrs.set_identifier().is_none() && wanted.contains(&(rtype.clone(), name.clone())) {
                out.insert(format!("{rtype} {name}"), record_value(rrs));
            }
            seen_key = key;
        }
        if !page.is_truncated() {
            return Ok(out);
        }
        let Some(next) = page.next_record_name() else {
            return Ok(out);
        };
        // The next wanted name not listed yet: continue there at once if
        // the next page would start before it.
        let pending = wanted
            .iter()
            .filter(|(_, n)| listing_key(n) > seen_key)
            .min_by_key(|(_, n)| listing_key(n));
        start = match pending {
            Some((_, n)) if listing_key(next) < listing_key(n) => (format!("{n}."), None, None),
            _ => (
                next.to_string(),
                page.next_record_type().map(|t| t.as_str().to_string()),
                page.next_record_identifier().map(str::to_string),
            ),
        };
    }
}

/// How `dns_records` shows a record's value.
fn record_value(rrs: &aws_sdk_route53::types::ResourceRecordSet) -> String {
    match rrs.alias_target() {
        Some(a) => format!("alias {}", route53::normalize_name(a.dns_name())),
        None => rrs
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::listing_key;

    /// Route 53's documented order: labels reversed, trailing dot kept, so
    /// names under the domain follow it directly and a sibling such as
    /// `oidc-x` (`-` sorts before `.`) comes before it.
    #[test]
    fn listing_order_puts_the_validation_name_right_after_the_domain() {
        let domain = listing_key("oidc.example.com");
        let validation = listing_key("_3f2a.oidc.example.com.");
        let sibling = listing_key("oidc-x.example.com");
        let after = listing_key("oidc0.example.com");
        assert_eq!(domain, "com.example.oidc.");
        assert!(sibling < domain && domain < validation && validation < after);
    }
}
