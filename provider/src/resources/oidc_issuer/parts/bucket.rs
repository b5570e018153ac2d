//! The bucket: its settings (public access block, default encryption,
//! versioning, policy) and tags. The documents in it are `documents`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::desired;
use super::super::model::{Hosting, Site, Ttl};
use super::Aws;
use crate::aws::{retry_while, s3, AwsCallError, ErrorKind};
use tfplugin::{Diagnostics, ErrorContext};

const ZONE_TAG: &str = "irsa:route53-zone-id";
const HOSTING_TAG: &str = "irsa:hosting";
/// `host` on an `irsa_issuer_host`'s bucket.
const ROLE_TAG: &str = "irsa:role";
/// A host's cache TTLs, `min/default/max`: what its issuers publish with.
const TTL_TAG: &str = "irsa:cache-ttl";

/// How long PutBucketPolicy's AccessDenied is retried right after the
/// bucket's public access block was relaxed (S3 hosting).
const POLICY_AFTER_ACCESS_BLOCK_PATIENCE: Duration = Duration::from_secs(120);

/// The bucket's tags: the user's, `irsa:name`, and how to find the rest
/// on import (hosting, zone).
pub fn tags(site: &Site) -> BTreeMap<String, String> {
    let mut t = desired::tags(site);
    t.insert(HOSTING_TAG.into(), site.hosting.as_str().into());
    if let Some(z) = &site.route53_zone_id {
        t.insert(ZONE_TAG.into(), z.clone());
    }
    if site.shared {
        t.insert(ROLE_TAG.into(), "host".into());
        let ttl = site.cache_ttl;
        t.insert(
            TTL_TAG.into(),
            format!("{}/{}/{}", ttl.min, ttl.default, ttl.max),
        );
    }
    t
}

/// How many tags of our own a bucket carries besides the user's.
pub fn own_tags(hosting: Option<Hosting>, zone: bool, shared: bool) -> usize {
    let issuer = match hosting {
        Some(Hosting::S3) => 2,
        _ => 2 + usize::from(zone),
    };
    issuer + if shared { 2 } else { 0 }
}

/// What a host's bucket tags say: its hosting and cache TTLs; `None` when
/// the bucket is not a host's.
pub fn host_of_tags(tags: &BTreeMap<String, String>) -> Option<(Hosting, Ttl)> {
    if !is_host(tags) {
        return None;
    }
    let (hosting, _) = hosting_of_tags(tags);
    let ttl: Vec<i64> = tags
        .get(TTL_TAG)?
        .split('/')
        .filter_map(|n| n.parse().ok())
        .collect();
    let [min, default, max] = ttl[..] else {
        return None;
    };
    Some((hosting, Ttl { min, default, max }))
}

/// Whether the bucket's tags say it is an `irsa_issuer_host`'s (whose
/// `irsa:name` is the host's, not an issuer's).
pub fn is_host(tags: &BTreeMap<String, String>) -> bool {
    tags.get(ROLE_TAG).map(String::as_str) == Some("host")
}

/// What the bucket's tags say of the issuer: its hosting and zone.
pub fn hosting_of_tags(tags: &BTreeMap<String, String>) -> (Hosting, Option<String>) {
    let hosting = match tags.get(HOSTING_TAG).map(String::as_str) {
        Some("s3") => Hosting::S3,
        _ => Hosting::CloudFront,
    };
    (hosting, tags.get(ZONE_TAG).cloned())
}

/// Calls right after CreateBucket may meet NoSuchBucket or OperationAborted
/// for a while: retried until the deadline.
fn settling(e: &AwsCallError) -> bool {
    s3::new_bucket_settling(e)
}

/// CreateBucket. The caller records the bucket before calling: a Stop or
/// the deadline during the call must not lose a bucket AWS may have made.
pub async fn create(aws: &Aws<'_>, bucket: &str) -> Result<(), AwsCallError> {
    s3::create_bucket(&aws.clients.s3, bucket, &aws.id.region).await?;
    tracing::debug!(target: "irsa::oidc_issuer", bucket, "created the bucket");
    Ok(())
}

/// Public access block, default encryption and versioning as `desired`
/// says for the hosting. Documents go in before this: objects written while
/// versioning is first enabled may answer 404 for a while.
pub async fn configure(aws: &Aws<'_>, site: &Site, bucket: &str) -> Result<(), Diagnostics> {
    let s3c = &aws.clients.s3;
    let ctx = aws.ctx;
    retry_while(ctx, settling, None, || {
        s3::put_public_access_block(s3c, bucket, desired::public_access(site.hosting))
    })
    .await
    .context("Cannot set the public access block")?;
    retry_while(ctx, settling, None, || {
        s3::put_default_encryption(s3c, bucket)
    })
    .await
    .context("Cannot set default encryption")?;
    retry_while(ctx, settling, None, || {
        s3::put_versioning(s3c, bucket, true)
    })
    .await
    .context("Cannot enable versioning")
}

pub async fn put_tags(aws: &Aws<'_>, site: &Site, bucket: &str) -> Result<(), Diagnostics> {
    let tags = tags(site);
    retry_while(aws.ctx, settling, None, || {
        s3::put_bucket_tags(&aws.clients.s3, bucket, &tags)
    })
    .await
    .context("Cannot tag the bucket")
}

/// The policy `desired` computed. With S3 hosting the access block was just
/// relaxed: S3 may refuse the public policy with AccessDenied while that
/// propagates (env0/templates#258), retried for two minutes at most: the
/// account's setting was checked before, so a denial that stays is real.
pub async fn put_policy(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    policy: &str,
) -> Result<(), Diagnostics> {
    let public = site.hosting == Hosting::S3;
    aws.ctx
        .run(retry_while(
            aws.ctx,
            |e| settling(e) || (public && e.kind == ErrorKind::AccessDenied),
            Some(POLICY_AFTER_ACCESS_BLOCK_PATIENCE),
            || s3::put_bucket_policy(&aws.clients.s3, bucket, policy),
        ))
        .await?
        .context("Cannot set the bucket policy")
}

/// The governed settings as `bucket_settings` shows them; `None` when the
/// bucket is gone. Four reads at once, no HeadBucket first.
pub async fn observe(
    aws: &Aws<'_>,
    bucket: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsCallError> {
    let s3c = &aws.clients.s3;
    let (pab, enc, ver, policy) = tokio::join!(
        Box::pin(s3::get_public_access_block(s3c, bucket)),
        Box::pin(s3::default_encryption_algorithm(s3c, bucket)),
        Box::pin(s3::versioning_enabled(s3c, bucket)),
        Box::pin(s3::get_bucket_policy(s3c, bucket)),
    );
    let gone = |e: &Option<&AwsCallError>| e.is_some_and(|e| e.kind == ErrorKind::NoSuchBucket);
    if gone(&pab.as_ref().err())
        || gone(&enc.as_ref().err())
        || gone(&ver.as_ref().err())
        || gone(&policy.as_ref().err())
    {
        return Ok(None);
    }
    let versioning = if ver? { "Enabled" } else { "Suspended" };
    Ok(Some(BTreeMap::from([
        (
            "public_access_block".to_string(),
            desired::public_access_label(pab?.and_then(|p| p.as_public_access())),
        ),
        (
            "encryption".to_string(),
            enc?.unwrap_or_else(|| "none".into()),
        ),
        ("versioning".to_string(), versioning.to_string()),
        (
            "policy".to_string(),
            policy?
                .map(|p| desired::policy_digest(&p))
                .unwrap_or_else(|| "none".into()),
        ),
    ])))
}

pub async fn exists(aws: &Aws<'_>, bucket: &str) -> Result<bool, Diagnostics> {
    s3::bucket_exists(&aws.clients.s3, bucket)
        .await
        .context("Cannot read the bucket")
}

/// The key of every object version (and delete marker) in the bucket.
pub async fn object_keys(aws: &Aws<'_>, bucket: &str) -> Result<Vec<String>, Diagnostics> {
    let versions = s3::list_object_versions(&aws.clients.s3, bucket)
        .await
        .context("Cannot list the bucket")?;
    Ok(versions.into_iter().map(|v| v.key).collect())
}

/// Empties the bucket of every version and deletes it.
pub async fn remove(aws: &Aws<'_>, bucket: &str) -> Result<(), Diagnostics> {
    s3::delete_all_object_versions(&aws.clients.s3, bucket)
        .await
        .context("Cannot empty the bucket")?;
    s3::delete_bucket(&aws.clients.s3, bucket)
        .await
        .context("Cannot delete the bucket")
}
