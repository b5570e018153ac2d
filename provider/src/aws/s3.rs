//! Thin S3 calls for the issuer bucket: create/inspect/delete the bucket and
//! its settings, and put/get/delete the discovery objects. No IRSA decisions
//! here; every call is idempotent where AWS allows it and every error is an
//! [`AwsCallError`] classified from the SDK's error code.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::result::SdkError;

use super::error::{build_error, classify, AwsCallError, ErrorKind};

/// The region whose buckets take no LocationConstraint (and report none).
const US_EAST_1: &str = "us-east-1";

/// DeleteObjects takes at most this many keys per request.
const DELETE_BATCH: usize = 1000;

/// HTTP status of a service error, when there is one.
fn status_of<E, R: std::fmt::Debug>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response<R>>,
) -> Option<u16> {
    match e {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Bucket
// ---------------------------------------------------------------------------

/// Creates `bucket` in `region` (a LocationConstraint unless us-east-1).
/// Already owned by the caller = success, so a retried create is harmless;
/// owned by someone else = [`ErrorKind::AlreadyExists`].
pub async fn create_bucket(
    client: &Client,
    bucket: &str,
    region: &str,
) -> Result<(), AwsCallError> {
    const OP: &str = "s3:CreateBucket";
    let mut req = client.create_bucket().bucket(bucket);
    if region != US_EAST_1 {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(e) => {
            let already_exists = e
                .as_service_error()
                .is_some_and(|se| se.is_bucket_already_exists());
            let mut err = classify(OP, e);
            if already_exists {
                err.kind = ErrorKind::AlreadyExists;
            }
            Err(err)
        }
    }
}

/// Errors S3 answers for a while after CreateBucket ("bucket configurations
/// have an eventual consistency model", S3 User Guide): NoSuchBucket, and
/// 409 OperationAborted ("a conflicting conditional operation is currently
/// in progress"). Worth retrying for a bucket just made.
pub fn new_bucket_settling(e: &AwsCallError) -> bool {
    matches!(e.kind, ErrorKind::NoSuchBucket | ErrorKind::Conflict)
}

/// HeadBucket: `false` on 404. A bucket that answers 301 (it lives in
/// another region) exists; 403 (another account's, or no permission) is an
/// [`ErrorKind::AccessDenied`] error.
pub async fn bucket_exists(client: &Client, bucket: &str) -> Result<bool, AwsCallError> {
    const OP: &str = "s3:HeadBucket";
    match client.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            if e.as_service_error().is_some_and(|se| se.is_not_found()) {
                return Ok(false);
            }
            match status_of(&e) {
                Some(404) => Ok(false),
                Some(301) => Ok(true),
                Some(403) => Err(AwsCallError {
                    operation: OP,
                    code: Some("Forbidden".into()),
                    message: format!(
                        "bucket {bucket} exists but this identity may not access it (another account's bucket, \
                         or no s3:ListBucket permission)"
                    ),
                    kind: ErrorKind::AccessDenied,
                }),
                _ => Err(classify(OP, e)),
            }
        }
    }
}

/// DeleteBucket (must be empty: see [`delete_all_object_versions`]).
/// A missing bucket is success.
pub async fn delete_bucket(client: &Client, bucket: &str) -> Result<(), AwsCallError> {
    match client.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = classify("s3:DeleteBucket", e);
            if err.kind == ErrorKind::NoSuchBucket {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Public access block
// ---------------------------------------------------------------------------

/// The two public-access settings the issuer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicAccess {
    /// All four flags on: nothing public (CloudFront with OAC reads it).
    BlockAll,
    /// ACLs blocked and ignored, public bucket policies allowed: the
    /// kOps-style issuer served straight from S3 by a public-read policy.
    AllowPolicyOnly,
}

/// The four flags of a bucket's public access block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccess {
    pub fn flags(self) -> PublicAccessBlock {
        match self {
            PublicAccess::BlockAll => PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            },
            PublicAccess::AllowPolicyOnly => PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: false,
                restrict_public_buckets: false,
            },
        }
    }
}

impl PublicAccessBlock {
    /// Which [`PublicAccess`] these flags are exactly, if any.
    pub fn as_public_access(&self) -> Option<PublicAccess> {
        [PublicAccess::BlockAll, PublicAccess::AllowPolicyOnly]
            .into_iter()
            .find(|p| p.flags() == *self)
    }
}

/// PutPublicAccessBlock with the flags of `block`.
pub async fn put_public_access_block(
    client: &Client,
    bucket: &str,
    block: PublicAccess,
) -> Result<(), AwsCallError> {
    let f = block.flags();
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(f.block_public_acls)
                .ignore_public_acls(f.ignore_public_acls)
                .block_public_policy(f.block_public_policy)
                .restrict_public_buckets(f.restrict_public_buckets)
                .build(),
        )
        .send()
        .await
        .map_err(|e| classify("s3:PutPublicAccessBlock", e))?;
    Ok(())
}

/// GetPublicAccessBlock: `None` when the bucket has none (unset flags read
/// as `false`, as S3 treats them).
pub async fn get_public_access_block(
    client: &Client,
    bucket: &str,
) -> Result<Option<PublicAccessBlock>, AwsCallError> {
    match client.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            })),
        Err(e) => {
            let err = classify("s3:GetPublicAccessBlock", e);
            if err.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Encryption, versioning
// ---------------------------------------------------------------------------

/// Default encryption SSE-S3 (AES256) with S3 Bucket Keys on.
pub async fn put_default_encryption(client: &Client, bucket: &str) -> Result<(), AwsCallError> {
    const OP: &str = "s3:PutBucketEncryption";
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(build_error(OP))?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .map_err(build_error(OP))?;
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    Ok(())
}

/// The default-encryption algorithm (`AES256`, `aws:kms`, `aws:kms:dsse`)
/// of the bucket's first rule that sets one; `None` without default encryption.
pub async fn default_encryption_algorithm(
    client: &Client,
    bucket: &str,
) -> Result<Option<String>, AwsCallError> {
    match client.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => Ok(out.server_side_encryption_configuration().and_then(|c| {
            c.rules().iter().find_map(|r| {
                r.apply_server_side_encryption_by_default()
                    .map(|d| d.sse_algorithm().as_str().to_string())
            })
        })),
        Err(e) => {
            let err = classify("s3:GetBucketEncryption", e);
            if err.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// Versioning on (`Enabled`) or off. S3 cannot turn versioning off once it
/// was on, only suspend it; a bucket that never had versioning is left as
/// it is when `enabled` is false (no call is made).
pub async fn put_versioning(
    client: &Client,
    bucket: &str,
    enabled: bool,
) -> Result<(), AwsCallError> {
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        match versioning_status(client, bucket).await? {
            None => return Ok(()),
            Some(BucketVersioningStatus::Suspended) => return Ok(()),
            Some(_) => BucketVersioningStatus::Suspended,
        }
    };
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketVersioning", e))?;
    Ok(())
}

async fn versioning_status(
    client: &Client,
    bucket: &str,
) -> Result<Option<BucketVersioningStatus>, AwsCallError> {
    let out = client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| classify("s3:GetBucketVersioning", e))?;
    Ok(out.status().cloned())
}

/// GetBucketVersioning: `true` only for `Enabled` (not `Suspended`).
pub async fn versioning_enabled(client: &Client, bucket: &str) -> Result<bool, AwsCallError> {
    Ok(matches!(
        versioning_status(client, bucket).await?,
        Some(BucketVersioningStatus::Enabled)
    ))
}

// ---------------------------------------------------------------------------
// Bucket policy
// ---------------------------------------------------------------------------

pub async fn put_bucket_policy(
    client: &Client,
    bucket: &str,
    policy_json: &str,
) -> Result<(), AwsCallError> {
    client
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy_json)
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketPolicy", e))?;
    Ok(())
}

/// GetBucketPolicy: the policy document as S3 returns it; `None` when the
/// bucket has no policy.
pub async fn get_bucket_policy(
    client: &Client,
    bucket: &str,
) -> Result<Option<String>, AwsCallError> {
    match client.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Ok(out.policy().map(str::to_string)),
        Err(e) => {
            let err = classify("s3:GetBucketPolicy", e);
            if err.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// DeleteBucketPolicy (S3 answers 204 also when there is none).
pub async fn delete_bucket_policy(client: &Client, bucket: &str) -> Result<(), AwsCallError> {
    match client.delete_bucket_policy().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = classify("s3:DeleteBucketPolicy", e);
            if err.kind == ErrorKind::NotFound {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

/// Replaces the bucket's tag set with `tags`; an empty map deletes it.
pub async fn put_bucket_tags(
    client: &Client,
    bucket: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), AwsCallError> {
    const OP: &str = "s3:PutBucketTagging";
    if tags.is_empty() {
        client
            .delete_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| classify("s3:DeleteBucketTagging", e))?;
        return Ok(());
    }
    let mut tag_set = Vec::with_capacity(tags.len());
    for (k, v) in tags {
        tag_set.push(
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_error(OP))?,
        );
    }
    let tagging = Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(build_error(OP))?;
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    Ok(())
}

/// ListBuckets: the names of every bucket the caller owns, following the
/// continuation token (S3 pages ListBuckets when asked to).
pub async fn list_bucket_names(client: &Client) -> Result<Vec<String>, AwsCallError> {
    const OP: &str = "s3:ListBuckets";
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_buckets()
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        names.extend(
            out.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string)),
        );
        match out.continuation_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(names)
}

/// GetBucketTagging; no tag set = empty map.
pub async fn get_bucket_tags(
    client: &Client,
    bucket: &str,
) -> Result<BTreeMap<String, String>, AwsCallError> {
    match client.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) => {
            let err = classify("s3:GetBucketTagging", e);
            if err.kind == ErrorKind::NotFound {
                Ok(BTreeMap::new())
            } else {
                Err(err)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------

/// What PutObject returns. The ETag is without its surrounding quotes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

/// An object read back: body and the metadata the issuer sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// Who wrote it (see [`put_object_owned`]).
    pub owner: Option<String>,
    /// Without its surrounding quotes.
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

fn unquote(etag: Option<&str>) -> Option<String> {
    etag.map(|e| e.trim_matches('"').to_string())
}

/// A version id header, if S3 sent a non-empty one.
fn real_version(v: Option<&str>) -> Option<String> {
    v.filter(|v| !v.is_empty()).map(str::to_string)
}

/// PutObject with Content-Type and Cache-Control.
pub async fn put_object(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
    cache_control: &str,
) -> Result<ObjectInfo, AwsCallError> {
    let object = NewObject {
        key,
        body,
        content_type,
        cache_control,
        owner: None,
        only_if_absent: false,
    };
    put_object_owned(client, bucket, object).await
}

/// The metadata key that names who wrote an object (`x-amz-meta-irsa-name`).
pub const OWNER_METADATA: &str = "irsa-name";

/// An object to write.
pub struct NewObject<'a> {
    pub key: &'a str,
    pub body: Vec<u8>,
    pub content_type: &'a str,
    pub cache_control: &'a str,
    /// Written as `x-amz-meta-irsa-name`: who owns the object.
    pub owner: Option<&'a str>,
    /// Only when the key holds no object (`If-None-Match: *`, S3's
    /// conditional write): else the call fails with PreconditionFailed
    /// (kind [`ErrorKind::Conflict`]) and nothing is written.
    pub only_if_absent: bool,
}

/// PutObject of `object`, with its owner in its metadata.
pub async fn put_object_owned(
    client: &Client,
    bucket: &str,
    object: NewObject<'_>,
) -> Result<ObjectInfo, AwsCallError> {
    let owner = object
        .owner
        .map(|o| std::collections::HashMap::from([(OWNER_METADATA.to_string(), o.to_string())]));
    let out = client
        .put_object()
        .bucket(bucket)
        .key(object.key)
        .body(ByteStream::from(object.body))
        .content_type(object.content_type)
        .cache_control(object.cache_control)
        .set_metadata(owner)
        .set_if_none_match(object.only_if_absent.then(|| "*".to_string()))
        // SSE-S3 whatever the bucket default says: anonymous (S3 hosting)
        // and OAC reads of SSE-KMS objects fail.
        .server_side_encryption(ServerSideEncryption::Aes256)
        .send()
        .await
        .map_err(|e| classify("s3:PutObject", e))?;
    Ok(ObjectInfo {
        etag: unquote(out.e_tag()),
        version_id: real_version(out.version_id()),
    })
}

/// GetObject (current version): `None` when the key does not exist. A
/// missing bucket is an error of kind [`ErrorKind::NotFound`] (code NoSuchBucket).
pub async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<StoredObject>, AwsCallError> {
    const OP: &str = "s3:GetObject";
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) => {
            if e.as_service_error().is_some_and(|se| se.is_no_such_key()) {
                return Ok(None);
            }
            return Err(classify(OP, e));
        }
    };
    let content_type = out.content_type().map(str::to_string);
    let cache_control = out.cache_control().map(str::to_string);
    let owner = out.metadata().and_then(|m| m.get(OWNER_METADATA)).cloned();
    let etag = unquote(out.e_tag());
    let version_id = real_version(out.version_id());
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| {
            AwsCallError::new(
                OP,
                ErrorKind::Unreachable,
                format!("reading the object body failed: {e}"),
            )
        })?
        .into_bytes()
        .to_vec();
    Ok(Some(StoredObject {
        body,
        content_type,
        cache_control,
        owner,
        etag,
        version_id,
    }))
}

/// One entry of ListObjectVersions: an object version or a delete marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    /// As S3 reports it: `"null"` for versions written while versioning was
    /// off (a valid version id to delete them by).
    pub version_id: Option<String>,
    pub is_delete_marker: bool,
}

/// Every object version and delete marker in the bucket (all pages). For an
/// unversioned bucket this lists its plain objects (version `"null"`).
pub async fn list_object_versions(
    client: &Client,
    bucket: &str,
) -> Result<Vec<ObjectVersion>, AwsCallError> {
    list_object_versions_under(client, bucket, None).await
}

/// [`list_object_versions`] of the keys starting with `prefix`.
pub async fn list_object_versions_under(
    client: &Client,
    bucket: &str,
    prefix: Option<&str>,
) -> Result<Vec<ObjectVersion>, AwsCallError> {
    let mut all = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let out = client
            .list_object_versions()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_string))
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| classify("s3:ListObjectVersions", e))?;
        for v in out.versions() {
            if let Some(key) = v.key() {
                all.push(ObjectVersion {
                    key: key.to_string(),
                    version_id: v.version_id().map(str::to_string),
                    is_delete_marker: false,
                });
            }
        }
        for m in out.delete_markers() {
            if let Some(key) = m.key() {
                all.push(ObjectVersion {
                    key: key.to_string(),
                    version_id: m.version_id().map(str::to_string),
                    is_delete_marker: true,
                });
            }
        }
        if out.is_truncated() != Some(true) {
            break;
        }
        key_marker = out.next_key_marker().map(str::to_string);
        version_marker = out.next_version_id_marker().map(str::to_string);
        if key_marker.is_none() && version_marker.is_none() {
            // Truncated without a marker: nothing to continue from.
            break;
        }
    }
    Ok(all)
}

/// Deletes every object version and delete marker (and the plain objects
/// of an unversioned bucket) with DeleteObjects, at most 1000 per request.
/// Returns how many entries were deleted. Any per-key failure is an error.
pub async fn delete_all_object_versions(
    client: &Client,
    bucket: &str,
) -> Result<usize, AwsCallError> {
    let entries = list_object_versions(client, bucket).await?;
    delete_object_versions(client, bucket, &entries).await
}

/// Deletes `entries` with DeleteObjects, at most 1000 per request.
pub async fn delete_object_versions(
    client: &Client,
    bucket: &str,
    entries: &[ObjectVersion],
) -> Result<usize, AwsCallError> {
    const OP: &str = "s3:DeleteObjects";
    let mut deleted = 0;
    for chunk in entries.chunks(DELETE_BATCH) {
        let mut objects = Vec::with_capacity(chunk.len());
        for v in chunk {
            objects.push(
                ObjectIdentifier::builder()
                    .key(&v.key)
                    .set_version_id(v.version_id.clone())
                    .build()
                    .map_err(build_error(OP))?,
            );
        }
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(build_error(OP))?;
        let out = client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let errors = out.errors();
        if let Some(first) = errors.first() {
            let code = first.code().map(str::to_string);
            let kind = match code.as_deref() {
                Some("AccessDenied") => ErrorKind::AccessDenied,
                _ => ErrorKind::Other,
            };
            return Err(AwsCallError {
                operation: OP,
                code,
                message: format!(
                    "{} of {} objects could not be deleted; first: key {:?}: {}",
                    errors.len(),
                    chunk.len(),
                    first.key().unwrap_or_default(),
                    first.message().unwrap_or("no message"),
                ),
                kind,
            });
        }
        deleted += chunk.len();
    }
    Ok(deleted)
}
