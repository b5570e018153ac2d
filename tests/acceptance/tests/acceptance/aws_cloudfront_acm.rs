//! The thin AWS I/O modules `irsa::aws::{cloudfront, acm}` against a real
//! moto server (one per test), with our moto patches applied
//! (tests/acceptance/sandbox/moto_patches/cloudfront_*.py, acm_*.py: distribution
//! read-back, ETags and If-Match, disable-before-delete, OAC get/delete,
//! idempotent invalidations, certificates in use by distributions, delayed
//! ACM validation records).
//!
//! Needs scripts/setup (the venv's moto).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use irsa::aws::acm::{self, ValidationRecord};
use irsa::aws::cloudfront::{self, DistributionSpec};
use irsa::aws::{AwsClients, AwsSettings, Endpoints, ErrorKind};
use irsa_acceptance::sandbox::{Moto, MotoConfig, MOTO_ACCESS_KEY};
use tfplugin::Ctx;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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

/// moto with certificates ISSUED at the first describe.
async fn moto() -> Moto {
    moto_with(MotoConfig {
        acm_validation_wait_secs: 0,
        ..MotoConfig::default()
    })
    .await
}

async fn moto_with(config: MotoConfig) -> Moto {
    match Moto::start_with(config).await {
        Ok(m) => m,
        Err(e) => panic!("{e:#}"),
    }
}

async fn clients(moto: &Moto) -> AwsClients {
    let e = Some(moto.endpoint.clone());
    AwsClients::build(&AwsSettings {
        region: Some("eu-west-1".into()),
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
    })
    .await
    .expect("clients")
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// POST a JSON body to moto's own API (no helper in the sandbox sends one).
async fn moto_api_post(moto: &Moto, path: &str, body: &serde_json::Value) {
    let body = body.to_string();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", moto.port))
        .await
        .expect("connect to moto");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.port,
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 20") || resp.starts_with("HTTP/1.0 20"),
        "POST {path}: {resp}"
    );
}

/// Distributions report InProgress for `times` reads after each change.
async fn slow_deployments(moto: &Moto, times: u32) {
    moto_api_post(
        moto,
        "/moto-api/state-manager/set-transition",
        &serde_json::json!({
            "model_name": "cloudfront::distribution",
            "transition": {"progression": "manual", "times": times},
        }),
    )
    .await;
}

const DOMAIN: &str = "oidc.example.com";

async fn issued_certificate(c: &AwsClients, domain: &str) -> String {
    let arn = acm::request_certificate(
        &c.acm,
        domain,
        &acm::idempotency_token(domain),
        &map(&[("irsa:issuer", domain)]),
    )
    .await
    .expect("request certificate");
    acm::wait_issued(
        &c.acm,
        &arn,
        &Ctx::background().with_timeout(Duration::from_secs(30)),
    )
    .await
    .expect("issued");
    arn
}

fn spec(caller_reference: &str, oac: &str, cert: Option<&str>) -> DistributionSpec {
    DistributionSpec {
        caller_reference: caller_reference.into(),
        comment: format!("irsa issuer {DOMAIN}"),
        aliases: if cert.is_some() {
            vec![DOMAIN.to_string()]
        } else {
            Vec::new()
        },
        certificate_arn: cert.map(str::to_string),
        origin_domain: "irsa-issuer.s3.eu-west-1.amazonaws.com".into(),
        origin_id: "irsa-issuer-s3".into(),
        origin_access_control_id: oac.into(),
        price_class: "PriceClass_100".into(),
        min_ttl: 60,
        default_ttl: 3600,
        max_ttl: 86400,
        enabled: true,
        error_caching_min_ttl: None,
    }
}

// ---------------------------------------------------------------------------
// ACM
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acm_request_is_idempotent_and_describes_records_status_and_tags() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let tags = map(&[("irsa:issuer", DOMAIN), ("team", "platform")]);
    let token = acm::idempotency_token("issuer-1");

    let arn = acm::request_certificate(&c.acm, DOMAIN, &token, &tags)
        .await
        .expect("request");
    assert!(arn.starts_with("arn:aws:acm:us-east-1:"), "{arn}");
    // The same token (a retry after a lost response) gives the same certificate.
    let again = acm::request_certificate(&c.acm, DOMAIN, &token, &tags)
        .await
        .expect("request again");
    assert_eq!(again, arn);
    // A bad token is refused before any call.
    let e = acm::request_certificate(&c.acm, DOMAIN, "not-a-word-token", &tags)
        .await
        .expect_err("bad token");
    assert_eq!(e.operation, "acm:RequestCertificate");

    let records = acm::wait_for_validation_records(&c.acm, &arn, &Ctx::background())
        .await
        .expect("records");
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r.rtype, "CNAME");
    assert!(r.name.ends_with(&format!(".{DOMAIN}")), "{r:?}");
    assert!(!r.name.ends_with('.') && !r.value.ends_with('.'), "{r:?}");

    acm::wait_issued(
        &c.acm,
        &arn,
        &Ctx::background().with_timeout(Duration::from_secs(30)),
    )
    .await
    .expect("issued");
    let cert = acm::describe_certificate(&c.acm, &arn)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(cert.arn, arn);
    assert_eq!(cert.domain, DOMAIN);
    assert_eq!(cert.status.as_str(), "ISSUED");
    assert_eq!(cert.validation_records, records);
    assert!(cert.in_use_by.is_empty());
    assert_eq!(cert.tags, tags);

    acm::delete_certificate(&c.acm, &arn, &Ctx::background())
        .await
        .expect("delete");
    assert_eq!(acm::describe_certificate(&c.acm, &arn).await.unwrap(), None);
    // Deleting what is gone is success.
    acm::delete_certificate(&c.acm, &arn, &Ctx::background())
        .await
        .expect("delete again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acm_validation_records_are_polled_until_published() {
    init();
    // acm_validation_record_delay.py: records withheld for 3 s, as real ACM
    // publishes them a few seconds after the request.
    let moto = moto_with(MotoConfig {
        acm_validation_wait_secs: 3600,
        extra_env: vec![("IRSA_MOTO_ACM_RECORD_DELAY_SECS".into(), "3".into())],
    })
    .await;
    let c = clients(&moto).await;
    let arn = acm::request_certificate(&c.acm, DOMAIN, "tok_delay", &BTreeMap::new())
        .await
        .expect("request");
    let first = acm::describe_certificate(&c.acm, &arn)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(first.status.as_str(), "PENDING_VALIDATION");
    assert!(first.validation_records.is_empty(), "{first:?}");

    let started = Instant::now();
    let records = acm::wait_for_validation_records(&c.acm, &arn, &Ctx::background())
        .await
        .expect("records");
    assert!(started.elapsed() >= Duration::from_secs(2), "did not wait");
    assert_eq!(
        records,
        vec![ValidationRecord {
            name: format!("_d930b28be6c5927595552b219965053e.{DOMAIN}"),
            rtype: "CNAME".into(),
            value: "_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws".into(),
        }]
    );
    // A certificate that does not exist ends the wait at once.
    let gone =
        "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";
    let e = acm::wait_for_validation_records(&c.acm, gone, &Ctx::background())
        .await
        .expect_err("missing certificate");
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acm_wait_issued_ends_at_the_deadline_and_missing_certificates() {
    init();
    let moto = moto_with(MotoConfig {
        acm_validation_wait_secs: 3600,
        ..MotoConfig::default()
    })
    .await;
    let c = clients(&moto).await;
    let arn = acm::request_certificate(&c.acm, DOMAIN, "tok_pending", &BTreeMap::new())
        .await
        .expect("request");
    let started = Instant::now();
    let e = acm::wait_issued(
        &c.acm,
        &arn,
        &Ctx::background().with_timeout(Duration::from_secs(3)),
    )
    .await
    .expect_err("still pending");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind, ErrorKind::Other, "{e}");
    assert!(e.message.contains("deadline"), "{e}");
    assert!(e.message.contains("PENDING_VALIDATION"), "{e}");

    let gone =
        "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";
    assert_eq!(acm::describe_certificate(&c.acm, gone).await.unwrap(), None);
    let e = acm::wait_issued(&c.acm, gone, &Ctx::background())
        .await
        .expect_err("missing");
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    acm::delete_certificate(&c.acm, gone, &Ctx::background())
        .await
        .expect("deleting a missing certificate is success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acm_find_certificate_by_tag_across_domains_and_statuses() {
    init();
    let moto = moto_with(MotoConfig {
        acm_validation_wait_secs: 3600,
        ..MotoConfig::default()
    })
    .await;
    let c = clients(&moto).await;
    let a = acm::request_certificate(&c.acm, DOMAIN, "tok_a", &map(&[("irsa:issuer", "a")]))
        .await
        .unwrap();
    let b = acm::request_certificate(&c.acm, DOMAIN, "tok_b", &map(&[("irsa:issuer", "b")]))
        .await
        .unwrap();
    let other = acm::request_certificate(
        &c.acm,
        "other.example.com",
        "tok_c",
        &map(&[("irsa:issuer", "a")]),
    )
    .await
    .unwrap();

    // PENDING_VALIDATION certificates are found too.
    let found = acm::find_certificate_by_tag(&c.acm, DOMAIN, "irsa:issuer", "a")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(a.as_str()));
    let found = acm::find_certificate_by_tag(&c.acm, "OIDC.example.com", "irsa:issuer", "b")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(b.as_str()));
    let found = acm::find_certificate_by_tag(&c.acm, "other.example.com", "irsa:issuer", "a")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(other.as_str()));
    assert_eq!(
        acm::find_certificate_by_tag(&c.acm, DOMAIN, "irsa:issuer", "c")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        acm::find_certificate_by_tag(&c.acm, "none.example.com", "irsa:issuer", "a")
            .await
            .unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------
// Origin access control
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oac_create_is_idempotent_by_name_and_delete_tolerates_missing() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;

    let id = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "OIDC issuer")
        .await
        .expect("create");
    // Names are unique (patched moto: OriginAccessControlAlreadyExists);
    // a retried create returns the existing one.
    let again =
        cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "OIDC issuer")
            .await
            .expect("create again");
    assert_eq!(again, id);
    let other = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-other", "")
        .await
        .expect("create other");
    assert_ne!(other, id);
    let e = cloudfront::create_origin_access_control(&c.cloudfront, &"n".repeat(65), "")
        .await
        .expect_err("name too long");
    assert_eq!(e.operation, "cloudfront:CreateOriginAccessControl");

    // Read back as created (S3, always, SigV4), through GetOriginAccessControlConfig.
    let cfg = c
        .cloudfront
        .get_origin_access_control_config()
        .id(&id)
        .send()
        .await
        .expect("get config");
    let cfg = cfg.origin_access_control_config().expect("config");
    assert_eq!(cfg.name, "irsa-issuer");
    assert_eq!(cfg.signing_behavior.as_str(), "always");
    assert_eq!(cfg.signing_protocol.as_str(), "sigv4");
    assert_eq!(cfg.origin_access_control_origin_type.as_str(), "s3");

    assert_eq!(
        cloudfront::find_origin_access_control(&c.cloudfront, "irsa-issuer")
            .await
            .unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        cloudfront::find_origin_access_control(&c.cloudfront, "irsa-none")
            .await
            .unwrap(),
        None
    );
    assert!(cloudfront::origin_access_control_exists(&c.cloudfront, &id)
        .await
        .unwrap());

    cloudfront::delete_origin_access_control(&c.cloudfront, &id)
        .await
        .expect("delete");
    assert!(
        !cloudfront::origin_access_control_exists(&c.cloudfront, &id)
            .await
            .unwrap()
    );
    cloudfront::delete_origin_access_control(&c.cloudfront, &id)
        .await
        .expect("delete again");
    cloudfront::delete_origin_access_control(&c.cloudfront, "E0000000000000")
        .await
        .expect("delete never existing");
    // A stale ETag is refused (patched moto checks If-Match).
    let e = c
        .cloudfront
        .delete_origin_access_control()
        .id(&other)
        .if_match("stale")
        .send()
        .await
        .map_err(|e| irsa::aws::classify("cloudfront:DeleteOriginAccessControl", e))
        .expect_err("stale etag");
    assert_eq!(e.code.as_deref(), Some("PreconditionFailed"), "{e}");
    assert_eq!(e.kind, ErrorKind::Conflict);
}

// ---------------------------------------------------------------------------
// Distribution
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_lifecycle_create_read_update_invalidate_delete() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let cert = issued_certificate(&c, DOMAIN).await;
    let oac = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "")
        .await
        .unwrap();
    let want = spec("irsa-1", &oac, Some(&cert));
    let tags = map(&[("irsa:issuer", DOMAIN), ("team", "platform")]);

    let created = cloudfront::create_distribution(&c.cloudfront, &want, &tags)
        .await
        .expect("create");
    assert!(
        created.domain_name.ends_with(".cloudfront.net"),
        "{created:?}"
    );
    assert!(created
        .arn
        .ends_with(&format!("distribution/{}", created.id)));
    assert!(!created.etag.is_empty());
    assert_eq!(created.spec, want);

    // Every governed field read back equal, no drift in the fixed settings.
    let got = cloudfront::get_distribution(&c.cloudfront, &created.id)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(got.spec, want);
    assert!(
        got.fixed_settings_drift.is_empty(),
        "{:?}",
        got.fixed_settings_drift
    );
    assert_eq!(got.status, "Deployed");
    assert_eq!(
        cloudfront::get_distribution_tags(&c.cloudfront, &got.arn)
            .await
            .unwrap(),
        tags
    );
    assert_eq!(
        cloudfront::find_distribution_by_comment(&c.cloudfront, &want.comment)
            .await
            .unwrap(),
        Some(created.id.clone())
    );
    assert_eq!(
        cloudfront::find_distribution_by_comment(&c.cloudfront, "irsa issuer other")
            .await
            .unwrap(),
        None
    );

    // The certificate is in use by the distribution (patched moto).
    let in_use = acm::describe_certificate(&c.acm, &cert)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(in_use.in_use_by, vec![got.arn.clone()]);
    let e = acm::delete_certificate(
        &c.acm,
        &cert,
        &Ctx::background().with_timeout(Duration::from_secs(2)),
    )
    .await
    .expect_err("in use");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert_eq!(e.code.as_deref(), Some("ResourceInUseException"));
    // And so is the OAC.
    let e = cloudfront::delete_origin_access_control(&c.cloudfront, &oac)
        .await
        .expect_err("OAC in use");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert_eq!(e.code.as_deref(), Some("OriginAccessControlInUse"));

    // Update one field: a new ETag, the rest kept.
    let mut changed = want.clone();
    changed.price_class = "PriceClass_All".into();
    let updated = cloudfront::update_distribution(&c.cloudfront, &created.id, &changed)
        .await
        .expect("update");
    assert_ne!(updated.etag, got.etag);
    assert_eq!(updated.spec, changed);
    let reread = cloudfront::get_distribution(&c.cloudfront, &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reread.spec, changed);
    assert_eq!(reread.etag, updated.etag);
    assert!(reread.fixed_settings_drift.is_empty());

    // Invalidation; the same caller reference gives the same one back.
    let paths = vec![
        "/.well-known/openid-configuration".to_string(),
        "/openid/v1/jwks".to_string(),
    ];
    let inv = cloudfront::create_invalidation(&c.cloudfront, &created.id, &paths, "keys-1")
        .await
        .expect("invalidate");
    let inv_again = cloudfront::create_invalidation(&c.cloudfront, &created.id, &paths, "keys-1")
        .await
        .expect("invalidate again");
    assert_eq!(inv, inv_again);
    let e = cloudfront::create_invalidation(&c.cloudfront, &created.id, &[], "keys-2")
        .await
        .expect_err("no paths");
    assert_eq!(e.operation, "cloudfront:CreateInvalidation");

    // An enabled distribution cannot be deleted (patched moto, as AWS).
    let e = c
        .cloudfront
        .delete_distribution()
        .id(&created.id)
        .if_match(&reread.etag)
        .send()
        .await
        .map_err(|e| irsa::aws::classify("cloudfront:DeleteDistribution", e))
        .expect_err("enabled");
    assert_eq!(e.code.as_deref(), Some("DistributionNotDisabled"), "{e}");
    assert_eq!(e.kind, ErrorKind::Conflict);

    // delete_distribution disables, waits, deletes.
    cloudfront::delete_distribution(&c.cloudfront, &created.id, &Ctx::background(), true)
        .await
        .expect("delete");
    assert_eq!(
        cloudfront::get_distribution(&c.cloudfront, &created.id)
            .await
            .unwrap(),
        None
    );
    cloudfront::delete_distribution(&c.cloudfront, &created.id, &Ctx::background(), true)
        .await
        .expect("delete again");
    let e = cloudfront::update_distribution(&c.cloudfront, &created.id, &changed)
        .await
        .expect_err("update of a deleted distribution");
    assert_eq!(e.kind, ErrorKind::NotFound);

    // Now the OAC and the certificate are free.
    cloudfront::delete_origin_access_control(&c.cloudfront, &oac)
        .await
        .expect("delete OAC");
    let cert_now = acm::describe_certificate(&c.acm, &cert)
        .await
        .unwrap()
        .unwrap();
    assert!(cert_now.in_use_by.is_empty());
    acm::delete_certificate(&c.acm, &cert, &Ctx::background())
        .await
        .expect("delete certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_create_is_idempotent_per_caller_reference() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let oac = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "")
        .await
        .unwrap();
    let want = spec("irsa-once", &oac, None);
    let tags = map(&[("irsa:issuer", DOMAIN)]);
    let first = cloudfront::create_distribution(&c.cloudfront, &want, &tags)
        .await
        .expect("create");
    // A retry (e.g. after a lost response) with the same caller reference.
    let second = cloudfront::create_distribution(&c.cloudfront, &want, &tags)
        .await
        .expect("create again");
    assert_eq!(second.id, first.id);
    assert_eq!(second.spec, want);
    // Also when the retry is without tags (CreateDistribution).
    let third = cloudfront::create_distribution(&c.cloudfront, &want, &BTreeMap::new())
        .await
        .expect("create a third time");
    assert_eq!(third.id, first.id);
    let all = c.cloudfront.list_distributions().send().await.unwrap();
    assert_eq!(all.distribution_list().unwrap().items().len(), 1);

    // Another caller reference is another distribution.
    let mut other = want.clone();
    other.caller_reference = "irsa-twice".into();
    let fourth = cloudfront::create_distribution(&c.cloudfront, &other, &tags)
        .await
        .expect("create other");
    assert_ne!(fourth.id, first.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_update_keeps_unmanaged_settings_and_repairs_fixed_ones() {
    use aws_sdk_cloudfront::types::{
        GeoRestriction, GeoRestrictionType, Restrictions, ViewerProtocolPolicy,
    };

    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let cert = issued_certificate(&c, DOMAIN).await;
    let oac = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "")
        .await
        .unwrap();
    let want = spec("irsa-drift", &oac, Some(&cert));
    let created = cloudfront::create_distribution(&c.cloudfront, &want, &BTreeMap::new())
        .await
        .unwrap();

    // Nothing differs: no update is sent, the ETag stays.
    let same = cloudfront::update_distribution(&c.cloudfront, &created.id, &want)
        .await
        .unwrap();
    assert_eq!(same.etag, created.etag);

    // Someone changes settings outside the spec, and one fixed setting.
    let cur = c
        .cloudfront
        .get_distribution_config()
        .id(&created.id)
        .send()
        .await
        .unwrap();
    let etag = cur.e_tag().unwrap().to_string();
    let mut cfg = cur.distribution_config().unwrap().clone();
    cfg.origins.as_mut().unwrap().items[0].connection_attempts = Some(2);
    cfg.restrictions = Some(
        Restrictions::builder()
            .geo_restriction(
                GeoRestriction::builder()
                    .restriction_type(GeoRestrictionType::Whitelist)
                    .quantity(1)
                    .items("DE")
                    .build()
                    .unwrap(),
            )
            .build(),
    );
    cfg.default_cache_behavior
        .as_mut()
        .unwrap()
        .viewer_protocol_policy = ViewerProtocolPolicy::AllowAll;
    // A stale ETag is refused (patched moto checks If-Match).
    let e = c
        .cloudfront
        .update_distribution()
        .id(&created.id)
        .if_match("stale")
        .distribution_config(cfg.clone())
        .send()
        .await
        .map_err(|e| irsa::aws::classify("cloudfront:UpdateDistribution", e))
        .expect_err("stale");
    assert_eq!(e.code.as_deref(), Some("PreconditionFailed"), "{e}");
    assert_eq!(e.kind, ErrorKind::Conflict);
    c.cloudfront
        .update_distribution()
        .id(&created.id)
        .if_match(&etag)
        .distribution_config(cfg)
        .send()
        .await
        .expect("outside change");

    let drifted = cloudfront::get_distribution(&c.cloudfront, &created.id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(drifted.etag, etag);
    assert_eq!(drifted.spec, want, "the governed fields did not change");
    assert_eq!(
        drifted.fixed_settings_drift.len(),
        1,
        "{:?}",
        drifted.fixed_settings_drift
    );
    assert!(drifted.fixed_settings_drift[0].contains("allow-all"));

    // Update with a new comment: repairs the fixed setting, keeps the rest.
    let mut changed = want.clone();
    changed.comment = "irsa issuer (renamed)".into();
    changed.min_ttl = 0;
    let updated = cloudfront::update_distribution(&c.cloudfront, &created.id, &changed)
        .await
        .unwrap();
    assert_eq!(updated.spec, changed);
    assert!(
        updated.fixed_settings_drift.is_empty(),
        "{:?}",
        updated.fixed_settings_drift
    );
    let after = c
        .cloudfront
        .get_distribution_config()
        .id(&created.id)
        .send()
        .await
        .unwrap();
    let cfg = after.distribution_config().unwrap();
    assert_eq!(
        cfg.origins.as_ref().unwrap().items[0].connection_attempts,
        Some(2)
    );
    let geo = cfg
        .restrictions
        .as_ref()
        .and_then(|r| r.geo_restriction.as_ref())
        .expect("geo restriction kept");
    assert_eq!(geo.restriction_type, GeoRestrictionType::Whitelist);
    assert_eq!(geo.items.as_deref(), Some(&["DE".to_string()][..]));
    assert_eq!(
        cfg.default_cache_behavior
            .as_ref()
            .unwrap()
            .viewer_protocol_policy,
        ViewerProtocolPolicy::RedirectToHttps
    );

    // Drop the certificate and aliases: back to the default certificate.
    let mut plain = changed.clone();
    plain.certificate_arn = None;
    plain.aliases.clear();
    let updated = cloudfront::update_distribution(&c.cloudfront, &created.id, &plain)
        .await
        .unwrap();
    assert_eq!(updated.spec, plain);
    assert!(
        updated.fixed_settings_drift.is_empty(),
        "{:?}",
        updated.fixed_settings_drift
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_waits_for_deployment_and_delete_without_wait_reports_conflict() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let oac = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "")
        .await
        .unwrap();
    let want = spec("irsa-slow", &oac, None);
    // Each change reads InProgress at first, then Deployed at the 2nd read.
    slow_deployments(&moto, 2).await;
    let created = cloudfront::create_distribution(&c.cloudfront, &want, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(created.status, "InProgress");

    // wait_deployed polls (5 s backoff) until Deployed.
    let started = Instant::now();
    cloudfront::wait_deployed(&c.cloudfront, &created.id, &Ctx::background())
        .await
        .expect("deployed");
    assert!(started.elapsed() >= Duration::from_secs(4), "did not poll");

    // Without waiting, an enabled distribution is disabled and reported
    // as not deletable yet; it stays, disabled.
    let e = cloudfront::delete_distribution(&c.cloudfront, &created.id, &Ctx::background(), false)
        .await
        .expect_err("just disabled");
    assert_eq!(e.kind, ErrorKind::Conflict, "{e}");
    assert_eq!(e.code.as_deref(), Some("DistributionNotDisabled"));
    let d = cloudfront::get_distribution(&c.cloudfront, &created.id)
        .await
        .unwrap()
        .expect("still there");
    assert!(!d.spec.enabled);
    assert_eq!(d.status, "InProgress");

    // A deadline interrupts the wait.
    let mut again = want.clone();
    again.enabled = false;
    again.comment = "irsa issuer (disabled)".into();
    cloudfront::update_distribution(&c.cloudfront, &created.id, &again)
        .await
        .unwrap();
    let e = cloudfront::wait_deployed(
        &c.cloudfront,
        &created.id,
        &Ctx::background().with_timeout(Duration::from_secs(1)),
    )
    .await
    .expect_err("deadline");
    assert!(
        e.message.contains("deadline") && e.message.contains("InProgress"),
        "{e}"
    );

    // With waiting, it is deleted.
    cloudfront::delete_distribution(&c.cloudfront, &created.id, &Ctx::background(), true)
        .await
        .expect("delete");
    assert_eq!(
        cloudfront::get_distribution(&c.cloudfront, &created.id)
            .await
            .unwrap(),
        None
    );
    let e = cloudfront::wait_deployed(&c.cloudfront, &created.id, &Ctx::background())
        .await
        .expect_err("gone");
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_default_certificate_and_tags() {
    init();
    let moto = moto().await;
    let c = clients(&moto).await;
    let oac = cloudfront::create_origin_access_control(&c.cloudfront, "irsa-issuer", "")
        .await
        .unwrap();
    let want = spec("irsa-plain", &oac, None);
    let d = cloudfront::create_distribution(&c.cloudfront, &want, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(d.spec, want);
    assert_eq!(d.spec.certificate_arn, None);
    assert!(
        d.fixed_settings_drift.is_empty(),
        "{:?}",
        d.fixed_settings_drift
    );
    assert!(cloudfront::get_distribution_tags(&c.cloudfront, &d.arn)
        .await
        .unwrap()
        .is_empty());

    let first = map(&[("a", "1"), ("b", "2")]);
    cloudfront::set_distribution_tags(&c.cloudfront, &d.arn, &BTreeMap::new(), &first)
        .await
        .unwrap();
    assert_eq!(
        cloudfront::get_distribution_tags(&c.cloudfront, &d.arn)
            .await
            .unwrap(),
        first
    );
    let second = map(&[("b", "3"), ("c", "4")]);
    cloudfront::set_distribution_tags(&c.cloudfront, &d.arn, &first, &second)
        .await
        .unwrap();
    assert_eq!(
        cloudfront::get_distribution_tags(&c.cloudfront, &d.arn)
            .await
            .unwrap(),
        second
    );
    cloudfront::set_distribution_tags(&c.cloudfront, &d.arn, &second, &BTreeMap::new())
        .await
        .unwrap();
    assert!(cloudfront::get_distribution_tags(&c.cloudfront, &d.arn)
        .await
        .unwrap()
        .is_empty());
}
