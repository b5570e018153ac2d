//! What an issuer should look like in AWS, computed from its configuration:
//! names, URLs, documents, policies, the distribution, DNS records, and the
//! key-retention bookkeeping. Pure: no I/O, unit-tested.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::model::{Config, Hosting, Site, Ttl};
use crate::aws::acm::ValidationRecord;
use crate::aws::cloudfront::DistributionSpec;
use crate::aws::route53::{Record, RecordValue, CLOUDFRONT_HOSTED_ZONE_ID};
use crate::aws::s3::PublicAccess;
use crate::oidc::{self, Jwks};
use crate::timestamp::rfc3339;
use tfplugin::types::Partition;

/// The documents' object keys: their paths below the issuer, without the `/`.
pub const DISCOVERY_KEY: &str = oidc::DISCOVERY_PATH.split_at(1).1;
pub const JWKS_KEY: &str = oidc::JWKS_PATH.split_at(1).1;
pub const DISCOVERY_CONTENT_TYPE: &str = "application/json";
pub const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";
pub const NAME_TAG: &str = "irsa:name";

/// Who and where we are in AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account_id: String,
    /// From the caller's ARN (the region's when the ARN names none we know).
    pub partition: Partition,
    pub region: String,
}

impl Identity {
    pub fn from_caller_arn(account_id: &str, arn: &str, region: &str) -> Identity {
        let partition = arn
            .split(':')
            .nth(1)
            .and_then(Partition::parse)
            .unwrap_or_else(|| Partition::of_region(region));
        Identity {
            account_id: account_id.to_string(),
            partition,
            region: region.to_string(),
        }
    }

    fn dns_suffix(&self) -> &'static str {
        self.partition.dns_suffix()
    }
}

/// The issuer URL's host and path: what IAM names the OIDC provider by and
/// what trust-policy condition keys start with.
pub fn host_path(issuer: &str) -> &str {
    issuer.trim_start_matches("https://")
}

/// `<issuer>/openid/v1/jwks`.
pub fn jwks_uri(issuer: &str) -> String {
    format!("{issuer}{}", oidc::JWKS_PATH)
}

pub fn bucket_name(name: &str, account_id: &str) -> String {
    format!("{name}-oidc-{account_id}")
}

pub fn oac_name(name: &str) -> String {
    format!("{name}-irsa")
}

/// Distributions have no name; this comment finds ours.
pub fn distribution_comment(name: &str) -> String {
    format!("irsa:{name}")
}

/// The bucket's regional endpoint host: the S3 issuer's host and CloudFront's origin.
pub fn bucket_host(bucket: &str, id: &Identity) -> String {
    format!("{bucket}.s3.{}.{}", id.region, id.dns_suffix())
}

/// The site's URL: `https://<domain>`, or the bucket's own with S3 hosting.
pub fn site_url(site: &Site, bucket: &str, id: &Identity) -> String {
    match site.hosting {
        Hosting::CloudFront => format!("https://{}", site.domain.as_deref().unwrap_or_default()),
        Hosting::S3 => format!("https://{}", bucket_host(bucket, id)),
    }
}

/// The issuer: its site's URL, with the path below a host.
pub fn issuer_url(config: &Config, bucket: &str, id: &Identity) -> String {
    with_path(site_url(&config.site, bucket, id), config.path.as_deref())
}

fn with_path(url: String, path: Option<&str>) -> String {
    match path {
        Some(p) => format!("{url}/{p}"),
        None => url,
    }
}

/// The CloudFront issuer URL is known from the configuration alone.
pub fn issuer_url_from_config(config: &Config) -> Option<String> {
    match config.site.hosting {
        Hosting::CloudFront => {
            let d = config.site.domain.as_ref()?;
            Some(with_path(format!("https://{d}"), config.path.as_deref()))
        }
        Hosting::S3 => None,
    }
}

/// The tags of the site's objects (bucket, OAC, certificate, distribution).
pub fn tags(site: &Site) -> BTreeMap<String, String> {
    let mut t = site.tags.clone();
    t.insert(NAME_TAG.to_string(), site.name.clone());
    t
}

/// On an issuer's IAM OIDC provider: the host it is on (import finds it).
pub const HOST_TAG: &str = "irsa:host";

/// The tags of the issuer's own IAM OIDC provider: the user's, its name
/// and, on a host, the host's.
pub fn issuer_tags(config: &Config) -> BTreeMap<String, String> {
    let mut t = config.tags.clone();
    t.insert(NAME_TAG.to_string(), config.name.clone());
    if config.site.shared {
        t.insert(HOST_TAG.to_string(), config.site.name.clone());
    }
    t
}

/// Tags as the user sees them: without the ones we add.
pub fn user_tags(all: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    all.iter()
        .filter(|(k, _)| !k.starts_with("irsa:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether two lists hold the same items, as sets (IAM's client IDs and
/// thumbprints are sets; thumbprints compare case-insensitively).
pub fn same_items(a: &[String], b: &[String], ignore_case: bool) -> bool {
    let norm = |v: &[String]| -> std::collections::BTreeSet<String> {
        v.iter()
            .map(|s| {
                if ignore_case {
                    s.to_ascii_lowercase()
                } else {
                    s.clone()
                }
            })
            .collect()
    };
    norm(a) == norm(b)
}

/// What Read records for a list IAM keeps as a set: the configured list
/// when IAM holds the same items (so an order IAM chose is no change), what
/// IAM holds otherwise.
pub fn in_configured_order(
    observed: &[String],
    configured: &[String],
    ignore_case: bool,
) -> Vec<String> {
    if same_items(observed, configured, ignore_case) {
        configured.to_vec()
    } else {
        observed.to_vec()
    }
}

pub fn cache_control(ttl: Ttl) -> String {
    format!("public, max-age={}", ttl.default)
}

/// A key of an issuer's document, at the root or below a path.
pub fn is_issuer_document(key: &str) -> bool {
    [DISCOVERY_KEY, JWKS_KEY]
        .iter()
        .any(|doc| key == *doc || key.ends_with(&format!("/{doc}")))
}

/// The object keys of the two documents: below the issuer's path on a host.
pub fn document_keys(path: Option<&str>) -> [String; 2] {
    let key = |k: &str| match path {
        Some(p) => format!("{p}/{k}"),
        None => k.to_string(),
    };
    [key(DISCOVERY_KEY), key(JWKS_KEY)]
}

/// The two documents as (key, body, content type).
pub fn documents(
    issuer: &str,
    path: Option<&str>,
    published: &Jwks,
) -> [(String, String, &'static str); 2] {
    let [discovery, jwks] = document_keys(path);
    [
        (
            discovery,
            oidc::discovery_document(issuer, published),
            DISCOVERY_CONTENT_TYPE,
        ),
        (jwks, published.canonical_json(), JWKS_CONTENT_TYPE),
    ]
}

/// What the `documents` attribute shows for one object: a digest of its
/// body and the headers STS and CloudFront see.
pub fn document_fingerprint(body: &[u8], content_type: &str, cache_control: &str) -> String {
    format!(
        "sha256:{} {content_type} {cache_control}",
        short_digest(body)
    )
}

fn short_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A policy digest that ignores formatting and key order (S3 may return a
/// policy reformatted).
pub fn policy_digest(policy_json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(policy_json) {
        Ok(v) => format!("sha256:{}", short_digest(canonical(&v).as_bytes())),
        Err(_) => "unparsable".into(),
    }
}

fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String((*k).clone())))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// CloudFront hosting: only this distribution may read, only over TLS.
pub fn cloudfront_bucket_policy(bucket: &str, id: &Identity, distribution_arn: &str) -> String {
    let p = &id.partition;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCloudFrontOAC",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": format!("arn:{p}:s3:::{bucket}/*"),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
            },
            deny_insecure(bucket, p.as_str()),
        ]
    })
    .to_string()
}

/// S3 hosting: exactly the two documents are public, only over TLS; on a
/// shared host, every issuer's two documents (`<path>/...`).
pub fn public_bucket_policy(bucket: &str, id: &Identity, shared: bool) -> String {
    let p = &id.partition;
    let documents: Vec<String> = if shared {
        vec![
            format!("arn:{p}:s3:::{bucket}/*/{DISCOVERY_KEY}"),
            format!("arn:{p}:s3:::{bucket}/*/{JWKS_KEY}"),
        ]
    } else {
        vec![
            format!("arn:{p}:s3:::{bucket}/{DISCOVERY_KEY}"),
            format!("arn:{p}:s3:::{bucket}/{JWKS_KEY}"),
        ]
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadOidcDocuments",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": documents
            },
            deny_insecure(bucket, p.as_str()),
        ]
    })
    .to_string()
}

fn deny_insecure(bucket: &str, partition: &str) -> serde_json::Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:{partition}:s3:::{bucket}"), format!("arn:{partition}:s3:::{bucket}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

pub fn public_access(hosting: Hosting) -> PublicAccess {
    match hosting {
        Hosting::CloudFront => PublicAccess::BlockAll,
        Hosting::S3 => PublicAccess::AllowPolicyOnly,
    }
}

pub fn public_access_label(p: Option<PublicAccess>) -> String {
    match p {
        Some(PublicAccess::BlockAll) => "block-all".into(),
        Some(PublicAccess::AllowPolicyOnly) => "allow-policy-only".into(),
        None => "other".into(),
    }
}

/// The governed bucket settings as the `bucket_settings` attribute shows them.
pub fn bucket_settings(hosting: Hosting, policy_json: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "public_access_block".to_string(),
            public_access_label(Some(public_access(hosting))),
        ),
        ("encryption".to_string(), "AES256".to_string()),
        ("versioning".to_string(), "Enabled".to_string()),
        ("policy".to_string(), policy_digest(policy_json)),
    ])
}

pub fn distribution_spec(
    site: &Site,
    bucket: &str,
    id: &Identity,
    oac_id: &str,
    certificate_arn: &str,
    caller_reference: &str,
) -> DistributionSpec {
    DistributionSpec {
        caller_reference: caller_reference.to_string(),
        comment: distribution_comment(&site.name),
        aliases: site.domain.iter().cloned().collect(),
        certificate_arn: Some(certificate_arn.to_string()),
        origin_domain: bucket_host(bucket, id),
        origin_id: format!("s3-{bucket}"),
        origin_access_control_id: oac_id.to_string(),
        price_class: site
            .price_class
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        min_ttl: site.cache_ttl.min,
        default_ttl: site.cache_ttl.default,
        max_ttl: site.cache_ttl.max,
        enabled: true,
        // A shared host: a path asked for before its issuer existed must not
        // stay cached as an error.
        error_caching_min_ttl: site.shared.then_some(0),
    }
}

/// The governed distribution settings other than price class and TTLs
/// (which have attributes of their own), as `distribution_settings` shows them.
pub fn distribution_settings(
    spec: &DistributionSpec,
    fixed_drift: &[String],
    shared: bool,
) -> BTreeMap<String, String> {
    let mut m = BTreeMap::from([
        ("aliases".to_string(), spec.aliases.join(",")),
        (
            "certificate_arn".to_string(),
            spec.certificate_arn.clone().unwrap_or_default(),
        ),
        ("origin_domain".to_string(), spec.origin_domain.clone()),
        (
            "origin_access_control_id".to_string(),
            spec.origin_access_control_id.clone(),
        ),
        ("enabled".to_string(), spec.enabled.to_string()),
        // https-only viewers, GET/HEAD, TLSv1.2_2021 + SNI, HTTP/2 and 3, IPv6.
        (
            "fixed_settings".to_string(),
            if fixed_drift.is_empty() {
                "as managed".to_string()
            } else {
                fixed_drift.join("; ")
            },
        ),
    ]);
    if shared {
        let caching = spec
            .error_caching_min_ttl
            .map_or_else(|| "not governed".to_string(), |t| format!("{t}s"));
        m.insert("error_caching_min_ttl".to_string(), caching);
    }
    m
}

/// `"<type> <name>" => value` for every record the issuer owns.
pub fn dns_records(
    domain: &str,
    distribution_domain: &str,
    validation: &[ValidationRecord],
) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert(
        format!("A {domain}"),
        format!("alias {distribution_domain}"),
    );
    m.insert(
        format!("AAAA {domain}"),
        format!("alias {distribution_domain}"),
    );
    for v in validation {
        m.insert(format!("{} {}", v.rtype, v.name), v.value.clone());
    }
    m
}

/// The A and AAAA aliases of the issuer's domain to the distribution.
pub fn alias_records(domain: &str, distribution_domain: &str) -> Vec<Record> {
    ["A", "AAAA"]
        .iter()
        .map(|t| Record {
            name: domain.to_string(),
            rtype: t.to_string(),
            value: RecordValue::Alias {
                dns_name: distribution_domain.to_string(),
                hosted_zone_id: CLOUDFRONT_HOSTED_ZONE_ID.into(),
            },
        })
        .collect()
}

/// The records ACM checks to issue and renew the certificate.
pub fn validation_records(validation: &[ValidationRecord]) -> Vec<Record> {
    validation
        .iter()
        .map(|r| Record {
            name: r.name.clone(),
            rtype: r.rtype.clone(),
            value: RecordValue::Values {
                ttl: 300,
                values: vec![r.value.clone()],
            },
        })
        .collect()
}

/// A key that left `jwks` at `removed_at` and stays published until
/// `expires_at` = `removed_at` + the current `key_retention`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    pub kid: String,
    /// RFC 3339, UTC.
    pub removed_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// The keys to publish: the configured ones plus those removed less than
/// `retention` ago. `previous` is what was published before; `retained`
/// records when keys left. A changed retention applies to keys already
/// retained too. Keys whose time has come are dropped.
pub fn retain_keys(
    current: &Jwks,
    previous: Option<&Jwks>,
    retained: &[Retained],
    retention: Duration,
    now: time::OffsetDateTime,
) -> (Jwks, Vec<Retained>) {
    let Some(previous) = previous else {
        return (current.clone(), Vec::new());
    };
    let mut keep = Vec::new();
    let mut out = Vec::new();
    for key in previous.keys() {
        if current.get(&key.kid).is_some() {
            continue;
        }
        let removed_at = retained
            .iter()
            .find(|r| r.kid == key.kid)
            .and_then(|r| {
                time::OffsetDateTime::parse(
                    &r.removed_at,
                    &time::format_description::well_known::Rfc3339,
                )
                .ok()
            })
            .unwrap_or(now);
        let expires_at = removed_at + retention;
        if expires_at > now {
            keep.push(key.clone());
            out.push(Retained {
                kid: key.kid.clone(),
                removed_at: rfc3339(removed_at),
                expires_at: rfc3339(expires_at),
            });
        }
    }
    if keep.is_empty() {
        return (current.clone(), out);
    }
    // Past 100 keys verifiers break: then only the configured keys are
    // published (the configured set alone is already checked to fit).
    let retained_set = match Jwks::from_public_keys(keep.clone()) {
        Ok(j) => j,
        Err(_) => return (current.clone(), Vec::new()),
    };
    match current.union_with_retained(&retained_set) {
        Ok(all) => (all, out),
        Err(_) => (current.clone(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn iam_lists_compare_as_sets() {
        let conf = strings(&["sts.amazonaws.com", "b"]);
        let iam = strings(&["b", "sts.amazonaws.com"]);
        assert!(same_items(&iam, &conf, false));
        assert_eq!(
            in_configured_order(&iam, &conf, false),
            conf,
            "order only: no change"
        );
        let more = strings(&["b", "c", "sts.amazonaws.com"]);
        assert!(!same_items(&more, &conf, false));
        assert_eq!(
            in_configured_order(&more, &conf, false),
            more,
            "real drift shows"
        );
        // Client IDs are case-sensitive; thumbprints are not.
        assert!(!same_items(&strings(&["A"]), &strings(&["a"]), false));
        let tp = "abcdef0123".repeat(4);
        let upper = vec![tp.to_ascii_uppercase()];
        assert!(same_items(&upper, std::slice::from_ref(&tp), true));
        assert_eq!(
            in_configured_order(&upper, std::slice::from_ref(&tp), true),
            vec![tp]
        );
    }

    fn key(kid_seed: u8) -> crate::oidc::PublicJwk {
        // A distinct valid RSA modulus per seed is not needed: kid is what
        // the union keys on, so build JWKs from the PEM fixture and rename.
        let pem = include_str!("../../oidc/testdata/rsa2048.pub.pem");
        let mut k = crate::oidc::parse_public_keys_pem(pem).unwrap().remove(0);
        k.kid = format!("kid-{kid_seed}");
        k
    }

    fn jwks(seeds: &[u8]) -> Jwks {
        Jwks::from_public_keys(seeds.iter().map(|s| key(*s)).collect()).unwrap()
    }

    #[test]
    fn removed_keys_stay_until_retention_ends_then_go() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let before = jwks(&[1, 2]);
        let after = jwks(&[2]);
        let (published, retained) =
            retain_keys(&after, Some(&before), &[], Duration::from_secs(3600), t0);
        assert_eq!(published.kids(), vec!["kid-1", "kid-2"]);
        assert_eq!(
            retained,
            vec![Retained {
                kid: "kid-1".into(),
                removed_at: "2026-01-01T00:00:00Z".into(),
                expires_at: "2026-01-01T01:00:00Z".into()
            }]
        );

        // Later plans keep the recorded removal time.
        let t1 = datetime!(2026-01-01 00:30 UTC);
        let (published, again) = retain_keys(
            &after,
            Some(&published),
            &retained,
            Duration::from_secs(3600),
            t1,
        );
        assert_eq!(published.kids(), vec!["kid-1", "kid-2"]);
        assert_eq!(again, retained);

        // A longer retention counts from the removal, not from now.
        let (_, longer) = retain_keys(
            &after,
            Some(&published),
            &retained,
            Duration::from_secs(7200),
            t1,
        );
        assert_eq!(longer[0].expires_at, "2026-01-01T02:00:00Z");
        // A shorter one applies at once.
        let (shorter, none) = retain_keys(
            &after,
            Some(&published),
            &retained,
            Duration::from_secs(600),
            t1,
        );
        assert_eq!(shorter.kids(), vec!["kid-2"]);
        assert!(none.is_empty());

        // Past the expiry the key goes.
        let t2 = datetime!(2026-01-01 01:00:01 UTC);
        let (published, gone) = retain_keys(
            &after,
            Some(&published),
            &retained,
            Duration::from_secs(3600),
            t2,
        );
        assert_eq!(published.kids(), vec!["kid-2"]);
        assert!(gone.is_empty());
    }

    #[test]
    fn zero_retention_removes_at_once_and_a_key_that_returns_is_current_again() {
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let (published, retained) =
            retain_keys(&jwks(&[2]), Some(&jwks(&[1, 2])), &[], Duration::ZERO, t0);
        assert_eq!(published.kids(), vec!["kid-2"]);
        assert!(retained.is_empty());
        let (published, retained) = retain_keys(
            &jwks(&[1, 2]),
            Some(&jwks(&[2])),
            &[],
            Duration::from_secs(60),
            t0,
        );
        assert_eq!(published.kids(), vec!["kid-1", "kid-2"]);
        assert!(retained.is_empty());
    }

    fn identity() -> Identity {
        Identity::from_caller_arn(
            "123456789012",
            "arn:aws:iam::123456789012:user/x",
            "eu-west-1",
        )
    }

    #[test]
    fn names_and_urls() {
        let id = identity();
        assert_eq!(
            bucket_name("prod", "123456789012"),
            "prod-oidc-123456789012"
        );
        assert_eq!(
            bucket_host("prod-oidc-123456789012", &id),
            "prod-oidc-123456789012.s3.eu-west-1.amazonaws.com"
        );
        let cn = Identity::from_caller_arn("1", "arn:aws-cn:iam::1:user/x", "cn-north-1");
        assert_eq!(cn.partition, Partition::AwsCn);
        assert_eq!(bucket_host("b", &cn), "b.s3.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn policies_grant_exactly_what_each_hosting_needs() {
        let id = identity();
        let cf: serde_json::Value = serde_json::from_str(&cloudfront_bucket_policy(
            "b",
            &id,
            "arn:aws:cloudfront::1:distribution/E1",
        ))
        .unwrap();
        assert_eq!(
            cf["Statement"][0]["Principal"]["Service"],
            "cloudfront.amazonaws.com"
        );
        assert_eq!(
            cf["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"],
            "arn:aws:cloudfront::1:distribution/E1"
        );
        assert_eq!(cf["Statement"][1]["Effect"], "Deny");
        let s3: serde_json::Value =
            serde_json::from_str(&public_bucket_policy("b", &id, false)).unwrap();
        assert_eq!(
            s3["Statement"][0]["Resource"],
            json!([
                "arn:aws:s3:::b/.well-known/openid-configuration",
                "arn:aws:s3:::b/openid/v1/jwks"
            ])
        );
        // A host: every issuer's two documents, below any path; nothing else.
        let host: serde_json::Value =
            serde_json::from_str(&public_bucket_policy("b", &id, true)).unwrap();
        assert_eq!(
            host["Statement"][0]["Resource"],
            json!([
                "arn:aws:s3:::b/*/.well-known/openid-configuration",
                "arn:aws:s3:::b/*/openid/v1/jwks"
            ])
        );
    }

    #[test]
    fn an_issuer_on_a_host_publishes_below_its_path() {
        let j = jwks(&[1]);
        let [(dk, disc, _), (jk, _, _)] =
            documents("https://oidc.example.com/eu/prod", Some("eu/prod"), &j);
        assert_eq!(
            (dk.as_str(), jk.as_str()),
            (
                "eu/prod/.well-known/openid-configuration",
                "eu/prod/openid/v1/jwks"
            )
        );
        let d: serde_json::Value = serde_json::from_str(&disc).unwrap();
        assert_eq!(d["issuer"], "https://oidc.example.com/eu/prod");
        assert_eq!(
            d["jwks_uri"],
            "https://oidc.example.com/eu/prod/openid/v1/jwks"
        );
        assert_eq!(
            host_path("https://oidc.example.com/eu/prod"),
            "oidc.example.com/eu/prod"
        );
        for key in [
            DISCOVERY_KEY,
            JWKS_KEY,
            "a/b/openid/v1/jwks",
            "x/.well-known/openid-configuration",
        ] {
            assert!(is_issuer_document(key), "{key}");
        }
        for key in [
            "openid/v1/jwks.bak",
            "a/openid/v1/jwksx",
            "index.html",
            "a/openid-configuration",
        ] {
            assert!(!is_issuer_document(key), "{key}");
        }
    }

    #[test]
    fn a_host_s_distribution_caches_no_errors() {
        let id = identity();
        let mut site = Site {
            name: "platform".into(),
            hosting: Hosting::CloudFront,
            domain: Some("oidc.example.com".into()),
            route53_zone_id: Some("Z1".into()),
            price_class: None,
            cache_ttl: Ttl {
                min: 0,
                default: 3600,
                max: 86400,
            },
            force_destroy: false,
            wait_for_deployment: true,
            tags: BTreeMap::new(),
            shared: true,
        };
        let spec = distribution_spec(&site, "b", &id, "oac", "cert", "ref");
        assert_eq!(spec.error_caching_min_ttl, Some(0));
        assert_eq!(
            distribution_settings(&spec, &[], true)["error_caching_min_ttl"],
            "0s"
        );
        site.shared = false;
        let spec = distribution_spec(&site, "b", &id, "oac", "cert", "ref");
        assert_eq!(
            spec.error_caching_min_ttl, None,
            "a standalone issuer's is not governed"
        );
        assert!(!distribution_settings(&spec, &[], false).contains_key("error_caching_min_ttl"));
    }

    #[test]
    fn policy_digest_ignores_formatting_and_key_order() {
        assert_eq!(
            policy_digest(r#"{"a":1,"b":[1,2]}"#),
            policy_digest("{ \"b\": [1, 2],\n \"a\": 1 }")
        );
        assert_ne!(policy_digest(r#"{"a":1}"#), policy_digest(r#"{"a":2}"#));
    }

    #[test]
    fn documents_follow_kube_apiserver() {
        let j = jwks(&[1]);
        let [(dk, disc, dct), (jk, body, jct)] = documents("https://oidc.example.com", None, &j);
        assert_eq!(
            (dk.as_str(), dct, jk.as_str(), jct),
            (
                DISCOVERY_KEY,
                "application/json",
                JWKS_KEY,
                "application/jwk-set+json"
            )
        );
        let d: serde_json::Value = serde_json::from_str(&disc).unwrap();
        assert_eq!(d["jwks_uri"], "https://oidc.example.com/openid/v1/jwks");
        assert_eq!(body, j.canonical_json());
        assert_eq!(
            cache_control(Ttl {
                min: 0,
                default: 3600,
                max: 86400
            }),
            "public, max-age=3600"
        );
    }
}
