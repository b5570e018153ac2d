//! The two published documents: the discovery document and the JWKS, as
//! objects in the bucket (below the issuer's path on a shared host) with
//! the headers STS and CloudFront see, and the issuer's name in their
//! metadata. A change is invalidated at CloudFront so STS sees new keys
//! now, not after the TTL.

use std::collections::BTreeMap;

use super::super::desired;
use super::super::model::Config;
use super::Aws;
use crate::aws::{cloudfront, retry_while, s3, AwsCallError, ErrorKind};
use crate::oidc::Jwks;
use tfplugin::{Diagnostic, Diagnostics, ErrorContext};

/// What `documents` shows when they are as they should be.
pub fn desired(issuer: &str, published: &Jwks, cfg: &Config) -> BTreeMap<String, String> {
    let cc = desired::cache_control(cfg.site.cache_ttl);
    desired::documents(issuer, cfg.path.as_deref(), published)
        .into_iter()
        .map(|(key, body, ct)| (key, desired::document_fingerprint(body.as_bytes(), ct, &cc)))
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
    let cc = desired::cache_control(cfg.site.cache_ttl);
    let [(k1, b1, t1), (k2, b2, t2)] = desired::documents(issuer, cfg.path.as_deref(), published);
    let put = |key: String, body: String, ct: &'static str| {
        let (cc, owner) = (&cc, cfg.name.as_str());
        retry_while(aws.ctx, s3::new_bucket_settling, None, move || {
            let (key, body) = (key.clone(), body.clone().into_bytes());
            async move {
                let object = s3::NewObject {
                    key: &key,
                    body,
                    content_type: ct,
                    cache_control: cc,
                    owner: Some(owner),
                    only_if_absent: false,
                };
                s3::put_object_owned(&aws.clients.s3, bucket, object).await
            }
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
    path: Option<&str>,
) -> Result<Option<BTreeMap<String, String>>, AwsCallError> {
    let s3c = &aws.clients.s3;
    let [discovery_key, jwks_key] = desired::document_keys(path);
    let (disc, jwks) = tokio::join!(
        Box::pin(s3::get_object(s3c, bucket, &discovery_key)),
        Box::pin(s3::get_object(s3c, bucket, &jwks_key)),
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
    for (key, obj) in [(discovery_key, disc?), (jwks_key, jwks?)] {
        let fp = match obj {
            Some(o) => desired::document_fingerprint(
                &o.body,
                o.content_type.as_deref().unwrap_or(""),
                o.cache_control.as_deref().unwrap_or(""),
            ),
            None => "missing".to_string(),
        };
        docs.insert(key, fp);
    }
    Ok(Some(docs))
}

/// Takes `path` on a shared host for the issuer: its JWKS is written only
/// if no object has the key (S3's conditional write), so of two issuers
/// made at once with one path, the second is refused having written
/// nothing. The path being the issuer's own already (a create retried)
/// is no refusal.
pub async fn claim(
    aws: &Aws<'_>,
    cfg: &Config,
    bucket: &str,
    issuer: &str,
    path: &str,
) -> Result<(), PathTaken> {
    let cc = desired::cache_control(cfg.site.cache_ttl);
    let [_, (key, body, ct)] = desired::documents(issuer, Some(path), &cfg.jwks);
    let object = s3::NewObject {
        key: &key,
        body: body.into_bytes(),
        content_type: ct,
        cache_control: &cc,
        owner: Some(&cfg.name),
        only_if_absent: true,
    };
    let written = aws
        .ctx
        .run(s3::put_object_owned(&aws.clients.s3, bucket, object))
        .await
        .map_err(Diagnostics::from)?;
    let failed = |e: AwsCallError| {
        PathTaken::Failed(Diagnostic::error("Cannot publish the JWKS", e.to_string()).into())
    };
    match written {
        Ok(_) => Ok(()),
        // PreconditionFailed, or ConditionalRequestConflict while the other
        // write is under way.
        Err(e) if e.kind == ErrorKind::Conflict => match owner(aws, bucket, path).await? {
            Some(o) if o == cfg.name => Ok(()),
            Some(o) => Err(PathTaken::By(o)),
            // Deleted since: the next apply finds the path free.
            None => Err(failed(e)),
        },
        Err(e) => Err(failed(e)),
    }
}

/// Why [`claim`] did not take a path.
pub enum PathTaken {
    /// Another issuer (named) publishes there.
    By(String),
    Failed(Diagnostics),
}

impl From<Diagnostics> for PathTaken {
    fn from(d: Diagnostics) -> PathTaken {
        PathTaken::Failed(d)
    }
}

/// Who published at `path` on a shared host (the JWKS's owner), if anyone.
pub async fn owner(aws: &Aws<'_>, bucket: &str, path: &str) -> Result<Option<String>, Diagnostics> {
    let [_, jwks_key] = desired::document_keys(Some(path));
    let found = s3::get_object(&aws.clients.s3, bucket, &jwks_key)
        .await
        .context("Cannot read the host's bucket")?;
    Ok(found.map(|o| {
        o.owner
            .unwrap_or_else(|| "an issuer this provider did not make".into())
    }))
}

/// Makes CloudFront fetch the issuer's documents again: both keys of a
/// standalone issuer, everything below the path on a host (no other
/// issuer's cache is touched).
pub async fn invalidate(
    aws: &Aws<'_>,
    distribution_id: &str,
    path: Option<&str>,
) -> Result<(), Diagnostics> {
    let paths = match path {
        Some(p) => vec![format!("/{p}/*")],
        None => desired::document_keys(None)
            .iter()
            .map(|k| format!("/{k}"))
            .collect(),
    };
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

/// Deletes every version of the issuer's two documents on a shared host
/// (the host's bucket and its other issuers stay).
pub async fn remove(aws: &Aws<'_>, bucket: &str, path: &str) -> Result<(), Diagnostics> {
    let keys = desired::document_keys(Some(path));
    let versions =
        match s3::list_object_versions_under(&aws.clients.s3, bucket, Some(&format!("{path}/")))
            .await
        {
            // The host's bucket is gone, and the documents with it.
            Err(e) if e.kind == ErrorKind::NoSuchBucket => return Ok(()),
            other => other.context("Cannot list the issuer's documents")?,
        };
    let ours: Vec<_> = versions
        .into_iter()
        .filter(|v| keys.contains(&v.key))
        .collect();
    s3::delete_object_versions(&aws.clients.s3, bucket, &ours)
        .await
        .context("Cannot delete the issuer's documents")?;
    Ok(())
}
