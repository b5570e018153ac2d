//! The two published documents: the discovery document and the JWKS, as
//! objects in the bucket with the headers STS and CloudFront see. A change
//! is invalidated at CloudFront so STS sees new keys now, not after the TTL.

use std::collections::BTreeMap;

use super::super::desired;
use super::super::model::Config;
use super::Aws;
use crate::aws::{cloudfront, retry_while, s3, AwsCallError, ErrorKind};
use crate::oidc::Jwks;
use tfplugin::{Diagnostics, ErrorContext};

/// What `documents` shows when they are as they should be.
pub fn desired(issuer: &str, published: &Jwks, cfg: &Config) -> BTreeMap<String, String> {
    let cc = desired::cache_control(cfg.cache_ttl);
    desired::documents(issuer, published)
        .into_iter()
        .map(|(key, body, ct)| {
            (
                key.to_string(),
                desired::document_fingerprint(body.as_bytes(), ct, &cc),
            )
        })
        .collect()
}

/// Writes both documents at once (retried while a new bucket settles).
pub async fn put(
    aws: &Aws<'_>,
    cfg: &Config,
    bucket: &str,
    issuer: &str,
    published: &Jwks,
) -> Result<(), Diagnostics> {
    let cc = desired::cache_control(cfg.cache_ttl);
    let [(k1, b1, t1), (k2, b2, t2)] = desired::documents(issuer, published);
    let put = |key: &'static str, body: String, ct: &'static str| {
        let cc = &cc;
        retry_while(aws.ctx, s3::new_bucket_settling, None, move || {
            s3::put_object(
                &aws.clients.s3,
                bucket,
                key,
                body.clone().into_bytes(),
                ct,
                cc,
            )
        })
    };
    let (r1, r2) = aws
        .ctx
        .run(async { tokio::join!(put(k1, b1, t1), put(k2, b2, t2)) })
        .await?;
    r1.context("Cannot publish the discovery document")?;
    r2.context("Cannot publish the JWKS")?;
    tracing::debug!(target: "irsa::oidc_issuer", bucket, "published the discovery document and JWKS");
    Ok(())
}

/// The documents as `documents` shows them (`missing` for one not there);
/// `None` when the bucket is gone. Both reads at once.
pub async fn observe(
    aws: &Aws<'_>,
    bucket: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsCallError> {
    let s3c = &aws.clients.s3;
    let (disc, jwks) = tokio::join!(
        Box::pin(s3::get_object(s3c, bucket, desired::DISCOVERY_KEY)),
        Box::pin(s3::get_object(s3c, bucket, desired::JWKS_KEY)),
    );
    let gone = |r: &Result<_, AwsCallError>| {
        r.as_ref()
            .err()
            .is_some_and(|e| e.kind == ErrorKind::NoSuchBucket)
    };
    if gone(&disc) || gone(&jwks) {
        return Ok(None);
    }
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
    Ok(Some(docs))
}

/// Makes CloudFront fetch both documents again.
pub async fn invalidate(aws: &Aws<'_>, distribution_id: &str) -> Result<(), Diagnostics> {
    let paths = vec![
        format!("/{}", desired::DISCOVERY_KEY),
        format!("/{}", desired::JWKS_KEY),
    ];
    let reference = format!(
        "irsa-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    aws.ctx
        .run(cloudfront::create_invalidation(
            &aws.clients.cloudfront,
            distribution_id,
            &paths,
            &reference,
        ))
        .await?
        .context("Cannot invalidate the cached documents")?;
    Ok(())
}
