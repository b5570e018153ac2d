//! The thin AWS I/O modules `irsa::aws::{s3, iam, route53}` against a real
//! moto server (one per test), with our moto patches applied
//! (tests/acceptance/sandbox/moto_patches: IAM client-ID calls, strict Route 53
//! DELETE, opt-in PENDING Route 53 changes).
//!
//! Needs scripts/setup (the venv's moto).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use irsa::aws::iam::{self, OidcProvider};
use irsa::aws::route53::{self, Record, RecordValue, CLOUDFRONT_HOSTED_ZONE_ID};
use irsa::aws::s3::{self, PublicAccess};
use irsa::aws::{AssumeRole, AwsClients, AwsSettings, Endpoints, ErrorKind};
use irsa_acceptance::sandbox::{Moto, MotoConfig, MOTO_ACCESS_KEY};
use tfplugin::Ctx;

/// Credentials for moto come from the environment (the SDK's default
/// chain); set once, before any test reads the environment.
fn init() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", MOTO_ACCESS_KEY);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

fn settings(moto: &Moto, region: &str) -> AwsSettings {
    let e = Some(moto.endpoint.clone());
    AwsSettings {
        region: Some(region.into()),
        s3_use_path_style: true,
        endpoints: Endpoints {
            s3: e.clone(),
            cloudfront: e.clone(),
            acm: e.clone(),
            route53: e.clone(),
            iam: e.clone(),
            sts: e,
        },
        ..AwsSettings::default()
    }
}

async fn clients(moto: &Moto, region: &str) -> AwsClients {
    AwsClients::build(&settings(moto, region))
        .await
        .expect("clients")
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------

/// The bucket's region as GetBucketLocation reports it (an empty
/// constraint is us-east-1); `None` when there is no bucket.
async fn bucket_region(client: &aws_sdk_s3::Client, bucket: &str) -> Option<String> {
    match client.get_bucket_location().bucket(bucket).send().await {
        Ok(out) => Some(
            out.location_constraint()
                .map(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .unwrap_or("us-east-1")
                .to_string(),
        ),
        Err(e) => {
            let code = e.as_service_error().and_then(|se| {
                aws_sdk_s3::error::ProvideErrorMetadata::code(se).map(str::to_string)
            });
            assert_eq!(code.as_deref(), Some("NoSuchBucket"), "{e:?}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_create_bucket_is_idempotent_and_reports_foreign_buckets() {
    init();
    let moto = Moto::start().await;
    let eu = clients(&moto, "eu-west-1").await;

    s3::create_bucket(&eu.s3, "irsa-idem", "eu-west-1")
        .await
        .expect("create");
    // A retried create of our own bucket (BucketAlreadyOwnedByYou) is success.
    s3::create_bucket(&eu.s3, "irsa-idem", "eu-west-1")
        .await
        .expect("create again");
    assert!(s3::bucket_exists(&eu.s3, "irsa-idem").await.unwrap());
    assert_eq!(
        bucket_region(&eu.s3, "irsa-idem").await.as_deref(),
        Some("eu-west-1")
    );
    assert!(!s3::bucket_exists(&eu.s3, "irsa-missing").await.unwrap());
    assert_eq!(bucket_region(&eu.s3, "irsa-missing").await, None);

    // us-east-1 takes no LocationConstraint and reports none.
    let us = clients(&moto, "us-east-1").await;
    s3::create_bucket(&us.s3, "irsa-us", "us-east-1")
        .await
        .expect("create us");
    s3::create_bucket(&us.s3, "irsa-us", "us-east-1")
        .await
        .expect("create us again");
    assert_eq!(
        bucket_region(&us.s3, "irsa-us").await.as_deref(),
        Some("us-east-1")
    );

    // Another account (moto switches accounts by the assumed role's ARN).
    let mut other_settings = settings(&moto, "eu-west-1");
    other_settings.assume_role = Some(AssumeRole {
        role_arn: "arn:aws:iam::111111111111:role/someone-else".into(),
        session_name: None,
        external_id: None,
    });
    let other = AwsClients::build(&other_settings)
        .await
        .expect("other clients");
    let (account, _) = other.caller_identity().await.expect("other identity");
    assert_eq!(account, "111111111111");
    let err = s3::create_bucket(&other.s3, "irsa-idem", "eu-west-1")
        .await
        .expect_err("someone else's bucket");
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.code.as_deref(), Some("BucketAlreadyExists"));
    assert_eq!(err.operation, "s3:CreateBucket");

    s3::delete_bucket(&eu.s3, "irsa-idem").await.unwrap();
    s3::delete_bucket(&us.s3, "irsa-us").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_bucket_life() {
    init();
    let moto = Moto::start().await;
    let c = clients(&moto, "eu-west-1").await;
    let s = &c.s3;
    let b = "irsa-life";
    s3::create_bucket(s, b, "eu-west-1").await.unwrap();

    // Encryption.
    s3::put_default_encryption(s, b).await.unwrap();
    assert_eq!(
        s3::default_encryption_algorithm(s, b)
            .await
            .unwrap()
            .as_deref(),
        Some("AES256")
    );
    let enc = s.get_bucket_encryption().bucket(b).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    assert_eq!(rule.bucket_key_enabled(), Some(true));

    // Versioning: "off" on a bucket that never had it changes nothing.
    assert!(!s3::versioning_enabled(s, b).await.unwrap());
    s3::put_versioning(s, b, false).await.unwrap();
    let v = s.get_bucket_versioning().bucket(b).send().await.unwrap();
    assert_eq!(v.status(), None, "no versioning configuration was sent");
    s3::put_versioning(s, b, true).await.unwrap();
    assert!(s3::versioning_enabled(s, b).await.unwrap());

    // Public access block.
    assert_eq!(s3::get_public_access_block(s, b).await.unwrap(), None);
    s3::put_public_access_block(s, b, PublicAccess::AllowPolicyOnly)
        .await
        .unwrap();
    let pab = s3::get_public_access_block(s, b)
        .await
        .unwrap()
        .expect("PAB");
    assert_eq!(pab, PublicAccess::AllowPolicyOnly.flags());
    assert!(pab.block_public_acls && pab.ignore_public_acls);
    assert!(!pab.block_public_policy && !pab.restrict_public_buckets);
    assert_eq!(pab.as_public_access(), Some(PublicAccess::AllowPolicyOnly));
    s3::put_public_access_block(s, b, PublicAccess::BlockAll)
        .await
        .unwrap();
    let pab = s3::get_public_access_block(s, b)
        .await
        .unwrap()
        .expect("PAB");
    assert_eq!(pab.as_public_access(), Some(PublicAccess::BlockAll));

    // Bucket policy.
    assert_eq!(s3::get_bucket_policy(s, b).await.unwrap(), None);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{b}/*"),
        }]
    });
    s3::put_bucket_policy(s, b, &policy.to_string())
        .await
        .unwrap();
    let got = s3::get_bucket_policy(s, b).await.unwrap().expect("policy");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap(),
        policy
    );
    s3::delete_bucket_policy(s, b).await.unwrap();
    assert_eq!(s3::get_bucket_policy(s, b).await.unwrap(), None);
    s3::delete_bucket_policy(s, b)
        .await
        .expect("deleting no policy");

    // Tags.
    assert!(s3::get_bucket_tags(s, b).await.unwrap().is_empty());
    let tags = map(&[("env", "test"), ("team", "platform")]);
    s3::put_bucket_tags(s, b, &tags).await.unwrap();
    assert_eq!(s3::get_bucket_tags(s, b).await.unwrap(), tags);
    let tags = map(&[("team", "infra")]);
    s3::put_bucket_tags(s, b, &tags).await.unwrap();
    assert_eq!(s3::get_bucket_tags(s, b).await.unwrap(), tags);
    s3::put_bucket_tags(s, b, &BTreeMap::new()).await.unwrap();
    assert!(s3::get_bucket_tags(s, b).await.unwrap().is_empty());

    // Objects: metadata read back, two versions.
    let key = ".well-known/openid-configuration";
    let v1 = s3::put_object(
        s,
        b,
        key,
        br#"{"issuer":"one"}"#.to_vec(),
        "application/json",
        "public, max-age=3600",
    )
    .await
    .unwrap();
    assert!(v1.version_id.is_some(), "versioned bucket: {v1:?}");
    let etag = v1.etag.clone().expect("etag");
    assert!(!etag.contains('"'), "etag unquoted: {etag}");
    let got = s3::get_object(s, b, key).await.unwrap().expect("object");
    assert_eq!(got.body, br#"{"issuer":"one"}"#);
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(got.cache_control.as_deref(), Some("public, max-age=3600"));
    assert_eq!(got.etag, v1.etag);
    assert_eq!(got.version_id, v1.version_id);

    let v2 = s3::put_object(
        s,
        b,
        key,
        br#"{"issuer":"two"}"#.to_vec(),
        "application/json",
        "public, max-age=60",
    )
    .await
    .unwrap();
    assert_ne!(v1.version_id, v2.version_id);
    assert_ne!(v1.etag, v2.etag);
    let got = s3::get_object(s, b, key).await.unwrap().expect("object");
    assert_eq!(got.body, br#"{"issuer":"two"}"#);
    assert_eq!(got.cache_control.as_deref(), Some("public, max-age=60"));
    assert_eq!(got.version_id, v2.version_id);
    assert_eq!(s3::get_object(s, b, "missing").await.unwrap(), None);

    // A second object, then a delete marker on it.
    s3::put_object(
        s,
        b,
        "openid/v1/jwks",
        br#"{"keys":[]}"#.to_vec(),
        "application/jwk-set+json",
        "public, max-age=3600",
    )
    .await
    .unwrap();
    s.delete_object()
        .bucket(b)
        .key("openid/v1/jwks")
        .send()
        .await
        .unwrap();
    assert_eq!(s3::get_object(s, b, "openid/v1/jwks").await.unwrap(), None);

    let versions = s3::list_object_versions(s, b).await.unwrap();
    assert_eq!(versions.len(), 4, "{versions:?}");
    assert_eq!(versions.iter().filter(|v| v.is_delete_marker).count(), 1);
    assert!(versions.iter().all(|v| v.version_id.is_some()));
    assert_eq!(versions.iter().filter(|v| v.key == key).count(), 2);

    // A non-empty bucket cannot go.
    let err = s3::delete_bucket(s, b).await.expect_err("not empty");
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");

    assert_eq!(s3::delete_all_object_versions(s, b).await.unwrap(), 4);
    assert!(s3::list_object_versions(s, b).await.unwrap().is_empty());
    assert_eq!(s3::delete_all_object_versions(s, b).await.unwrap(), 0);
    s3::delete_bucket(s, b).await.unwrap();
    assert!(!s3::bucket_exists(s, b).await.unwrap());
    s3::delete_bucket(s, b)
        .await
        .expect("deleting a missing bucket");
    let err = s3::get_object(s, b, key).await.expect_err("no bucket");
    assert_eq!(err.kind, ErrorKind::NoSuchBucket);
}

/// Small listing pages (moto's MOTO_S3_DEFAULT_MAX_KEYS) so that pagination
/// runs: a versioned bucket (versions + delete markers), and a bucket with
/// versioning suspended ("null" versions next to real ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_object_versions_are_listed_across_pages_and_deleted() {
    init();
    let moto = Moto::start_with(MotoConfig {
        extra_env: vec![("MOTO_S3_DEFAULT_MAX_KEYS".into(), "7".into())],
        ..MotoConfig::default()
    })
    .await
    .expect("moto");
    let c = clients(&moto, "eu-west-1").await;
    let s = &c.s3;

    let b = "irsa-versions";
    s3::create_bucket(s, b, "eu-west-1").await.unwrap();
    s3::put_versioning(s, b, true).await.unwrap();
    for i in 0..6 {
        for round in 0..3 {
            s3::put_object(
                s,
                b,
                &format!("k{i}"),
                vec![round],
                "text/plain",
                "no-cache",
            )
            .await
            .unwrap();
        }
        if i % 2 == 0 {
            s.delete_object()
                .bucket(b)
                .key(format!("k{i}"))
                .send()
                .await
                .unwrap();
        }
    }
    let first_page = s.list_object_versions().bucket(b).send().await.unwrap();
    assert_eq!(first_page.is_truncated(), Some(true), "pages are small");
    let versions = s3::list_object_versions(s, b).await.unwrap();
    assert_eq!(versions.len(), 6 * 3 + 3, "{versions:?}");
    let unique: std::collections::BTreeSet<_> = versions
        .iter()
        .map(|v| (v.key.clone(), v.version_id.clone()))
        .collect();
    assert_eq!(unique.len(), versions.len(), "no entry listed twice");
    assert_eq!(s3::delete_all_object_versions(s, b).await.unwrap(), 21);
    assert!(s3::list_object_versions(s, b).await.unwrap().is_empty());
    s3::delete_bucket(s, b).await.unwrap();

    // Suspended versioning: "null" versions next to real ones.
    let b = "irsa-suspended";
    s3::create_bucket(s, b, "eu-west-1").await.unwrap();
    s3::put_object(s, b, "before", vec![1], "text/plain", "no-cache")
        .await
        .unwrap();
    s3::put_versioning(s, b, true).await.unwrap();
    s3::put_object(s, b, "before", vec![2], "text/plain", "no-cache")
        .await
        .unwrap();
    s3::put_versioning(s, b, false).await.unwrap();
    assert!(!s3::versioning_enabled(s, b).await.unwrap());
    let v = s.get_bucket_versioning().bucket(b).send().await.unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Suspended"));
    s3::put_object(s, b, "after", vec![3], "text/plain", "no-cache")
        .await
        .unwrap();
    let versions = s3::list_object_versions(s, b).await.unwrap();
    assert_eq!(versions.len(), 3, "{versions:?}");
    assert_eq!(
        versions
            .iter()
            .filter(|v| v.version_id.as_deref() == Some("null"))
            .count(),
        2,
        "{versions:?}"
    );
    assert_eq!(s3::delete_all_object_versions(s, b).await.unwrap(), 3);
    assert!(s3::list_object_versions(s, b).await.unwrap().is_empty());
    s3::delete_bucket(s, b).await.unwrap();
}

/// An unversioned bucket with more than 1000 plain objects: two
/// DeleteObjects batches, version ids "null".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_delete_all_objects_of_unversioned_bucket_in_batches() {
    init();
    let moto = Moto::start().await;
    let c = clients(&moto, "eu-west-1").await;
    let s = &c.s3;
    // 1003 plain objects.
    let b = "irsa-plain";
    s3::create_bucket(s, b, "eu-west-1").await.unwrap();
    let started = Instant::now();
    futures::stream::iter(0..1003)
        .map(|i| async move {
            s3::put_object(
                s,
                b,
                &format!("obj/{i:05}"),
                vec![1],
                "text/plain",
                "no-cache",
            )
            .await
            .unwrap()
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    eprintln!("1003 puts took {:?}", started.elapsed());
    assert_eq!(s3::delete_all_object_versions(s, b).await.unwrap(), 1003);
    assert!(s3::list_object_versions(s, b).await.unwrap().is_empty());
    s3::delete_bucket(s, b).await.unwrap();
}

// ---------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_oidc_provider_life() {
    init();
    let moto = Moto::start().await;
    let c = clients(&moto, "eu-west-1").await;
    let i = &c.iam;
    let (account, _) = c.caller_identity().await.unwrap();

    let url = "https://oidc.example.com/cluster-1";
    let tags = map(&[("env", "test")]);
    let arn = iam::create_oidc_provider(i, url, &strings(&["sts.amazonaws.com"]), &[], &tags)
        .await
        .expect("create");
    assert_eq!(
        arn,
        format!("arn:aws:iam::{account}:oidc-provider/oidc.example.com/cluster-1")
    );
    assert_eq!(
        iam::oidc_provider_arn(&account, "aws", "oidc.example.com/cluster-1"),
        arn
    );

    let got = iam::get_oidc_provider(i, &arn)
        .await
        .unwrap()
        .expect("provider");
    assert_eq!(
        got,
        OidcProvider {
            arn: arn.clone(),
            url: "oidc.example.com/cluster-1".into(),
            client_ids: strings(&["sts.amazonaws.com"]),
            // Real IAM fills in a thumbprint of its own choosing here.
            thumbprints: vec![],
            tags: tags.clone(),
        }
    );
    let found = iam::find_oidc_provider(i, &account, "aws", "oidc.example.com/cluster-1")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&got));
    let found = iam::find_oidc_provider(i, &account, "aws", "https://oidc.example.com/cluster-1")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&got));
    assert_eq!(
        iam::find_oidc_provider(i, &account, "aws", "oidc.example.com/other")
            .await
            .unwrap(),
        None
    );

    // One provider per URL.
    let err = iam::create_oidc_provider(i, url, &strings(&["x"]), &[], &BTreeMap::new())
        .await
        .expect_err("already exists");
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.code.as_deref(), Some("EntityAlreadyExists"));
    assert_eq!(err.operation, "iam:CreateOpenIDConnectProvider");

    // Client IDs: add first, then remove; order kept.
    iam::set_client_ids(
        i,
        &arn,
        &strings(&["sts.amazonaws.com"]),
        &strings(&["sts.amazonaws.com", "amazonaws.com"]),
    )
    .await
    .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(
        got.client_ids,
        strings(&["sts.amazonaws.com", "amazonaws.com"])
    );
    iam::set_client_ids(i, &arn, &got.client_ids, &strings(&["amazonaws.com"]))
        .await
        .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.client_ids, strings(&["amazonaws.com"]));
    // Replacing the only audience keeps at least one at every step.
    iam::set_client_ids(
        i,
        &arn,
        &got.client_ids,
        &strings(&["sts.amazonaws.com", "sts.amazonaws.com"]),
    )
    .await
    .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.client_ids, strings(&["sts.amazonaws.com"]));
    // A stale `current` is harmless: both calls are idempotent in IAM.
    iam::set_client_ids(
        i,
        &arn,
        &strings(&["gone.example"]),
        &strings(&["sts.amazonaws.com"]),
    )
    .await
    .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.client_ids, strings(&["sts.amazonaws.com"]));

    // Thumbprints.
    let tp = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_string();
    iam::set_thumbprints(i, &arn, std::slice::from_ref(&tp))
        .await
        .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.thumbprints, vec![tp.clone()]);
    let err = iam::set_thumbprints(i, &arn, &[])
        .await
        .expect_err("empty list");
    assert_eq!(err.kind, ErrorKind::Other);
    assert_eq!(err.operation, "iam:UpdateOpenIDConnectProviderThumbprint");
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.thumbprints, vec![tp.clone()], "nothing was sent");

    // Tags.
    let desired = map(&[("env", "prod"), ("team", "platform")]);
    iam::set_tags(i, &arn, &got.tags, &desired).await.unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.tags, desired);
    let desired = map(&[("team", "platform")]);
    iam::set_tags(i, &arn, &got.tags, &desired).await.unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert_eq!(got.tags, desired);
    iam::set_tags(i, &arn, &got.tags, &BTreeMap::new())
        .await
        .unwrap();
    let got = iam::get_oidc_provider(i, &arn).await.unwrap().unwrap();
    assert!(got.tags.is_empty());

    // A provider created with thumbprints and several audiences.
    let arn2 = iam::create_oidc_provider(
        i,
        "https://second.example.com",
        &strings(&["sts.amazonaws.com", "amazonaws.com"]),
        std::slice::from_ref(&tp),
        &BTreeMap::new(),
    )
    .await
    .unwrap();
    let got2 = iam::get_oidc_provider(i, &arn2).await.unwrap().unwrap();
    assert_eq!(got2.url, "second.example.com");
    assert_eq!(got2.thumbprints, vec![tp]);
    assert_eq!(
        got2.client_ids,
        strings(&["sts.amazonaws.com", "amazonaws.com"])
    );
    assert!(got2.tags.is_empty());

    // Delete, twice.
    iam::delete_oidc_provider(i, &arn).await.unwrap();
    assert_eq!(iam::get_oidc_provider(i, &arn).await.unwrap(), None);
    iam::delete_oidc_provider(i, &arn)
        .await
        .expect("already gone");
    assert_eq!(
        iam::find_oidc_provider(i, &account, "aws", "oidc.example.com/cluster-1")
            .await
            .unwrap(),
        None
    );
    // Calls on a missing provider are NotFound.
    let err = iam::set_client_ids(i, &arn, &[], &strings(&["a"]))
        .await
        .expect_err("missing");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let err = iam::set_thumbprints(i, &arn, &["0".repeat(40)])
        .await
        .expect_err("missing");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    iam::delete_oidc_provider(i, &arn2).await.unwrap();
}

// ---------------------------------------------------------------------------
// Route 53
// ---------------------------------------------------------------------------

async fn create_zone(c: &AwsClients, name: &str) -> String {
    let out = c
        .route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("test-{name}"))
        .send()
        .await
        .expect("create zone");
    out.hosted_zone().unwrap().id().to_string()
}

fn alias(name: &str, rtype: &str, target: &str) -> Record {
    Record {
        name: name.into(),
        rtype: rtype.into(),
        value: RecordValue::Alias {
            dns_name: target.into(),
            hosted_zone_id: CLOUDFRONT_HOSTED_ZONE_ID.into(),
        },
    }
}

fn values(name: &str, rtype: &str, ttl: i64, vals: &[&str]) -> Record {
    Record {
        name: name.into(),
        rtype: rtype.into(),
        value: RecordValue::Values {
            ttl,
            values: strings(vals),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_zone_and_records() {
    init();
    let moto = Moto::start().await;
    let c = clients(&moto, "eu-west-1").await;
    let r = &c.route53;
    let ctx = Ctx::background();

    // (moto keeps the case of zone names; real Route 53 stores lowercase.)
    let full_id = create_zone(&c, "example.com.").await;
    assert!(full_id.starts_with("/hostedzone/"), "{full_id}");
    let bare = full_id.trim_start_matches("/hostedzone/").to_string();
    let zone = route53::get_hosted_zone(r, &full_id)
        .await
        .unwrap()
        .expect("zone");
    assert_eq!(zone.id, bare);
    assert_eq!(zone.name, "example.com");
    assert!(!zone.private);
    assert_eq!(
        route53::get_hosted_zone(r, &bare).await.unwrap(),
        Some(zone.clone())
    );
    assert_eq!(
        route53::get_hosted_zone(r, "ZNOSUCHZONE123").await.unwrap(),
        None
    );
    assert!(route53::zone_contains(&zone.name, "oidc.example.com"));
    assert!(route53::zone_contains(&zone.name, "Example.COM."));
    assert!(!route53::zone_contains(&zone.name, "oidc.example.org"));
    assert!(!route53::zone_contains(&zone.name, "notexample.com"));

    let cf = "d111111abcdef8.cloudfront.net";
    let a = alias("oidc.example.com", "A", cf);
    let aaaa = alias("oidc.example.com", "AAAA", cf);
    let cname = values("www.example.com", "CNAME", 300, &["oidc.example.com"]);
    route53::upsert_records(r, &bare, &[a.clone(), aaaa.clone(), cname.clone()], &ctx)
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &bare, "oidc.example.com", "A")
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        route53::list_records(r, &full_id, "OIDC.example.com.", "AAAA")
            .await
            .unwrap(),
        Some(aaaa.clone())
    );
    assert_eq!(
        route53::list_records(r, &bare, "www.example.com", "CNAME")
            .await
            .unwrap(),
        Some(cname.clone())
    );
    // Exact matches only.
    assert_eq!(
        route53::list_records(r, &bare, "oidc.example.com", "CNAME")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        route53::list_records(r, &bare, "example.com", "A")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        route53::list_records(r, &bare, "x.oidc.example.com", "A")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        route53::list_records(r, &bare, "zzz.example.com", "A")
            .await
            .unwrap(),
        None
    );

    // UPSERT again, changed: the record is replaced, not duplicated.
    let cname2 = values("www.example.com", "CNAME", 60, &["other.example.net"]);
    route53::upsert_records(r, &bare, std::slice::from_ref(&cname2), &ctx)
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &bare, "www.example.com", "CNAME")
            .await
            .unwrap(),
        Some(cname2.clone())
    );

    // Wildcards (real Route 53 returns them as \052).
    let wild = values("*.wild.example.com", "A", 300, &["192.0.2.1", "192.0.2.2"]);
    route53::upsert_records(r, &bare, std::slice::from_ref(&wild), &ctx)
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &bare, "*.wild.example.com", "A")
            .await
            .unwrap(),
        Some(wild.clone())
    );

    // Delete by name and type with stale values: the current ones are used
    // (moto is patched to refuse a DELETE whose values do not match).
    route53::delete_records(r, &bare, std::slice::from_ref(&cname), &ctx)
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &bare, "www.example.com", "CNAME")
            .await
            .unwrap(),
        None
    );
    // Only AAAA: A stays.
    route53::delete_records(r, &bare, std::slice::from_ref(&aaaa), &ctx)
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &bare, "oidc.example.com", "AAAA")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        route53::list_records(r, &bare, "oidc.example.com", "A")
            .await
            .unwrap(),
        Some(a.clone())
    );
    // Already gone (AAAA, CNAME) next to still there (A, wildcard).
    route53::delete_records(
        r,
        &bare,
        &[a.clone(), aaaa.clone(), cname2.clone(), wild.clone()],
        &ctx,
    )
    .await
    .unwrap();
    for (name, t) in [
        ("oidc.example.com", "A"),
        ("oidc.example.com", "AAAA"),
        ("www.example.com", "CNAME"),
        ("*.wild.example.com", "A"),
    ] {
        assert_eq!(
            route53::list_records(r, &bare, name, t).await.unwrap(),
            None,
            "{name} {t}"
        );
    }
    route53::delete_records(r, &bare, &[a, aaaa, cname2, wild], &ctx)
        .await
        .expect("nothing left to delete");

    // The patched moto refuses a stale DELETE, as AWS does.
    route53::upsert_records(
        r,
        &bare,
        &[values("t.example.com", "TXT", 60, &["\"v1\""])],
        &ctx,
    )
    .await
    .unwrap();
    let stale = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name("t.example.com.")
        .r#type(aws_sdk_route53::types::RrType::Txt)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("\"v0\"")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let err = r
        .change_resource_record_sets()
        .hosted_zone_id(&bare)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Delete)
                        .resource_record_set(stale)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("stale DELETE");
    let err = irsa::aws::classify("route53:ChangeResourceRecordSets", err);
    assert_eq!(err.code.as_deref(), Some("InvalidChangeBatch"), "{err}");

    // Records in a missing zone: NotFound.
    let err = route53::upsert_records(
        r,
        "ZNOSUCHZONE123",
        &[values("a.example.com", "A", 60, &["192.0.2.9"])],
        &ctx,
    )
    .await
    .expect_err("no zone");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
}

/// With moto patched to answer PENDING first (route53_change_status.py),
/// the wait polls GetChange until INSYNC, and a deadline interrupts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_waits_for_insync_and_can_be_interrupted() {
    init();
    let moto = Moto::start_with(MotoConfig {
        extra_env: vec![("MOTO_ROUTE53_CHANGE_PENDING_POLLS".into(), "1".into())],
        ..MotoConfig::default()
    })
    .await
    .expect("moto");
    let c = clients(&moto, "eu-west-1").await;
    let r = &c.route53;
    let zone = create_zone(&c, "example.org").await;

    // PENDING at submit, PENDING at the first poll, INSYNC after one sleep.
    let rec = values("a.example.org", "A", 60, &["192.0.2.1"]);
    let started = Instant::now();
    route53::upsert_records(r, &zone, std::slice::from_ref(&rec), &Ctx::background())
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "polled after a backoff: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(
        route53::list_records(r, &zone, "a.example.org", "A")
            .await
            .unwrap(),
        Some(rec.clone())
    );

    // A deadline shorter than the first backoff ends the wait.
    let ctx = Ctx::background().with_timeout(Duration::from_millis(300));
    let rec2 = values("a.example.org", "A", 60, &["192.0.2.2"]);
    let err = route53::upsert_records(r, &zone, std::slice::from_ref(&rec2), &ctx)
        .await
        .expect_err("interrupted");
    assert_eq!(err.kind, ErrorKind::Other, "{err}");
    assert_eq!(err.operation, "route53:GetChange");
    assert!(err.to_string().contains("deadline"), "{err}");
    // The change itself was made.
    assert_eq!(
        route53::list_records(r, &zone, "a.example.org", "A")
            .await
            .unwrap(),
        Some(rec2.clone())
    );

    // Delete waits too.
    route53::delete_records(r, &zone, &[rec2], &Ctx::background())
        .await
        .unwrap();
    assert_eq!(
        route53::list_records(r, &zone, "a.example.org", "A")
            .await
            .unwrap(),
        None
    );

    // An unknown change is NoSuchChange.
    let err = route53::wait_for_change(r, "/change/CNOSUCHCHANGE", &Ctx::background())
        .await
        .expect_err("unknown change");
    assert_eq!(err.code.as_deref(), Some("NoSuchChange"), "{err}");
}
