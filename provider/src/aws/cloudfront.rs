//! Thin CloudFront calls for the issuer's distribution: origin access
//! controls (OAC), the distribution in front of the S3 bucket, its tags and
//! invalidations. No IRSA decisions here; every error is an
//! [`AwsCallError`] classified from the SDK's error code.
//!
//! The distribution this module builds: one S3 origin reached through an
//! OAC (`S3OriginConfig { OriginAccessIdentity: "" }`), a default cache
//! behaviour with `redirect-to-https`, GET/HEAD (cached GET/HEAD),
//! compression and the legacy TTL settings (ForwardedValues: no query
//! string, no cookies; MinTTL/DefaultTTL/MaxTTL), HTTP/2 and 3, IPv6, an ACM
//! certificate (SNI, TLSv1.2_2021) or the default `*.cloudfront.net` one, no
//! default root object. [`update_distribution`] changes only what differs
//! from that and from the [`DistributionSpec`]; everything else in the live
//! configuration is kept.

// ForwardedValues and MinTTL/DefaultTTL/MaxTTL are deprecated in the SDK in
// favour of cache policies, but AWS still accepts them, and the cache-policy
// APIs are missing in the test sandbox (moto).
#![allow(deprecated)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CookiePreference, CustomErrorResponse,
    CustomErrorResponses, DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags,
    ForwardedValues, HttpVersion, InvalidationBatch, ItemSelection, Method, MinimumProtocolVersion,
    Origin, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, Origins, Paths,
    PriceClass, S3OriginConfig, SslSupportMethod, Tag, TagKeys, Tags, ViewerCertificate,
    ViewerProtocolPolicy,
};
use aws_sdk_cloudfront::Client;

use super::error::{build_error, classify, missing, AwsCallError, ErrorKind};
use super::Backoff;
use tfplugin::Ctx;

/// CloudFront's limit on an origin access control's name.
pub const MAX_OAC_NAME_LEN: usize = 64;

/// The status of a distribution whose last change is live everywhere.
pub const STATUS_DEPLOYED: &str = "Deployed";

/// How often a call that lost an ETag race (PreconditionFailed) is re-read
/// and retried.
const ETAG_RETRIES: usize = 5;

/// The desired state of the issuer's distribution: every field here is read
/// back by [`get_distribution`] so the caller can compare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistributionSpec {
    /// Makes CreateDistribution idempotent; fixed once created.
    pub caller_reference: String,
    pub comment: String,
    /// Compared as a set; sent and read back sorted and deduplicated.
    pub aliases: Vec<String>,
    /// `None`: the default `*.cloudfront.net` certificate.
    pub certificate_arn: Option<String>,
    /// `<bucket>.s3.<region>.amazonaws.com`.
    pub origin_domain: String,
    pub origin_id: String,
    pub origin_access_control_id: String,
    /// `PriceClass_100`, `PriceClass_200`, `PriceClass_All`.
    pub price_class: String,
    pub min_ttl: i64,
    pub default_ttl: i64,
    pub max_ttl: i64,
    pub enabled: bool,
    /// `Some(t)`: 403 and 404 answers (a missing object behind OAC is a
    /// 403) are cached at most `t` seconds (CustomErrorResponses, no error
    /// page). `None`: the distribution's error responses are not governed.
    pub error_caching_min_ttl: Option<i64>,
}

/// A distribution as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distribution {
    pub id: String,
    pub arn: String,
    /// `dxxxx.cloudfront.net`.
    pub domain_name: String,
    /// `InProgress` or `Deployed`.
    pub status: String,
    /// The current version, for If-Match.
    pub etag: String,
    /// The governed fields as they are live (aliases sorted; origin: the one
    /// the default cache behaviour targets).
    pub spec: DistributionSpec,
    /// Settings this module always sets (see the module docs) that differ
    /// in the live configuration, one line each, e.g. `viewer protocol
    /// policy is allow-all (want redirect-to-https)`; empty when none.
    /// Any [`update_distribution`] puts them back.
    pub fixed_settings_drift: Vec<String>,
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn is_code(e: &AwsCallError, code: &str) -> bool {
    e.code.as_deref() == Some(code)
}

fn empty(s: Option<&str>) -> bool {
    s.is_none_or(str::is_empty)
}

fn sorted_set(items: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = items.iter().collect();
    set.into_iter().cloned().collect()
}

// ---------------------------------------------------------------------------
// Origin access control
// ---------------------------------------------------------------------------

/// Creates an OAC for S3 (sign always, SigV4) named `name` (at most 64
/// characters). Names are unique in the account: when one exists already
/// (OriginAccessControlAlreadyExists, e.g. a retry after a lost response),
/// its id is returned.
pub async fn create_origin_access_control(
    client: &Client,
    name: &str,
    description: &str,
) -> Result<String, AwsCallError> {
    const OP: &str = "cloudfront:CreateOriginAccessControl";
    if name.is_empty() || name.chars().count() > MAX_OAC_NAME_LEN {
        return Err(AwsCallError::new(
            OP,
            ErrorKind::Other,
            format!(
                "invalid origin access control name {name:?}: 1 to {MAX_OAC_NAME_LEN} characters"
            ),
        ));
    }
    let config = OriginAccessControlConfig::builder()
        .name(name)
        .description(description)
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .build()
        .map_err(build_error(OP))?;
    match client
        .create_origin_access_control()
        .origin_access_control_config(config)
        .send()
        .await
    {
        Ok(out) => out
            .origin_access_control()
            .map(|o| o.id().to_string())
            .ok_or_else(|| missing(OP, "OriginAccessControl")),
        Err(e) => {
            let e = classify(OP, e);
            if is_code(&e, "OriginAccessControlAlreadyExists") {
                if let Some(id) = find_origin_access_control(client, name).await? {
                    return Ok(id);
                }
            }
            Err(e)
        }
    }
}

/// The id of the OAC named exactly `name`, if any (all pages).
pub async fn find_origin_access_control(
    client: &Client,
    name: &str,
) -> Result<Option<String>, AwsCallError> {
    const OP: &str = "cloudfront:ListOriginAccessControls";
    let mut marker: Option<String> = None;
    loop {
        let out = client
            .list_origin_access_controls()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let Some(list) = out.origin_access_control_list() else {
            return Ok(None);
        };
        if let Some(found) = list.items().iter().find(|o| o.name == name) {
            return Ok(Some(found.id.clone()));
        }
        match list.next_marker() {
            Some(m) if list.is_truncated() && !m.is_empty() && Some(m) != marker.as_deref() => {
                marker = Some(m.to_string())
            }
            _ => return Ok(None),
        }
    }
}

/// GetOriginAccessControl: its ETag, or `None` when it does not exist.
async fn origin_access_control_etag(
    client: &Client,
    id: &str,
) -> Result<Option<String>, AwsCallError> {
    const OP: &str = "cloudfront:GetOriginAccessControl";
    match client.get_origin_access_control().id(id).send().await {
        Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
        Err(e) => {
            let e = classify(OP, e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

pub async fn origin_access_control_exists(client: &Client, id: &str) -> Result<bool, AwsCallError> {
    Ok(origin_access_control_etag(client, id).await?.is_some())
}

/// Deletes the OAC (with its current ETag); a missing one is success. Still
/// used by a distribution: OriginAccessControlInUse, [`ErrorKind::Conflict`].
pub async fn delete_origin_access_control(client: &Client, id: &str) -> Result<(), AwsCallError> {
    const OP: &str = "cloudfront:DeleteOriginAccessControl";
    let mut last = None;
    for _ in 0..ETAG_RETRIES {
        let Some(etag) = origin_access_control_etag(client, id).await? else {
            return Ok(());
        };
        match client
            .delete_origin_access_control()
            .id(id)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = classify(OP, e);
                if e.is_not_found() {
                    return Ok(());
                }
                if !is_code(&e, "PreconditionFailed") {
                    return Err(e);
                }
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| missing(OP, "a result")))
}

// ---------------------------------------------------------------------------
// Distribution configuration
// ---------------------------------------------------------------------------

fn methods_ok(items: &[Method]) -> bool {
    let set: BTreeSet<&str> = items.iter().map(Method::as_str).collect();
    set == BTreeSet::from(["GET", "HEAD"])
}

fn allowed_methods_ok(a: Option<&AllowedMethods>) -> bool {
    a.is_some_and(|a| {
        methods_ok(&a.items)
            && a.cached_methods
                .as_ref()
                .is_none_or(|c| methods_ok(&c.items))
    })
}

fn get_head(op: &'static str) -> Result<AllowedMethods, AwsCallError> {
    AllowedMethods::builder()
        .quantity(2)
        .items(Method::Get)
        .items(Method::Head)
        .cached_methods(
            CachedMethods::builder()
                .quantity(2)
                .items(Method::Get)
                .items(Method::Head)
                .build()
                .map_err(build_error(op))?,
        )
        .build()
        .map_err(build_error(op))
}

fn forwarded_values_ok(f: Option<&ForwardedValues>) -> bool {
    f.is_some_and(|f| {
        !f.query_string
            && f.cookies
                .as_ref()
                .is_none_or(|c| c.forward == ItemSelection::None)
            && f.headers.as_ref().is_none_or(|h| h.quantity == 0)
            && f.query_string_cache_keys
                .as_ref()
                .is_none_or(|q| q.quantity == 0)
    })
}

fn no_forwarding(op: &'static str) -> Result<ForwardedValues, AwsCallError> {
    ForwardedValues::builder()
        .query_string(false)
        .cookies(
            CookiePreference::builder()
                .forward(ItemSelection::None)
                .build()
                .map_err(build_error(op))?,
        )
        .build()
        .map_err(build_error(op))
}

fn viewer_certificate_ok(v: Option<&ViewerCertificate>, arn: Option<&str>) -> bool {
    let Some(v) = v else {
        return false;
    };
    if !empty(v.iam_certificate_id.as_deref()) {
        return false;
    }
    match arn {
        Some(arn) => {
            v.acm_certificate_arn.as_deref() == Some(arn)
                && v.ssl_support_method == Some(SslSupportMethod::SniOnly)
                && v.minimum_protocol_version == Some(MinimumProtocolVersion::TlSv122021)
                && v.cloud_front_default_certificate != Some(true)
        }
        None => {
            v.cloud_front_default_certificate == Some(true)
                && empty(v.acm_certificate_arn.as_deref())
        }
    }
}

fn viewer_certificate(arn: Option<&str>) -> ViewerCertificate {
    match arn {
        Some(arn) => ViewerCertificate::builder()
            .cloud_front_default_certificate(false)
            .acm_certificate_arn(arn)
            .ssl_support_method(SslSupportMethod::SniOnly)
            .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
            .build(),
        None => ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    }
}

/// The origin reaches the bucket through the OAC and nothing else.
fn origin_ok(o: &Origin, spec: &DistributionSpec) -> bool {
    o.domain_name == spec.origin_domain
        && empty(o.origin_path.as_deref())
        && o.s3_origin_config
            .as_ref()
            .is_some_and(|s| s.origin_access_identity.is_empty())
        && o.custom_origin_config.is_none()
        && o.vpc_origin_config.is_none()
        && o.origin_access_control_id.as_deref().unwrap_or_default()
            == spec.origin_access_control_id
}

/// Makes `o` the spec's S3 origin, keeping its other settings (custom
/// headers, timeouts, Origin Shield, the S3 read timeout).
fn conform_origin(o: &mut Origin, spec: &DistributionSpec) {
    o.id = spec.origin_id.clone();
    o.domain_name = spec.origin_domain.clone();
    o.origin_path = Some(String::new());
    let read_timeout = o
        .s3_origin_config
        .as_ref()
        .and_then(|s| s.origin_read_timeout);
    o.s3_origin_config = Some(
        S3OriginConfig::builder()
            .origin_access_identity("")
            .set_origin_read_timeout(read_timeout)
            .build(),
    );
    o.custom_origin_config = None;
    o.vpc_origin_config = None;
    o.origin_access_control_id = Some(spec.origin_access_control_id.clone());
}

/// Changes `cfg` where it differs from the spec and the fixed settings,
/// nothing else (the caller reference is never touched).
fn conform(cfg: &mut DistributionConfig, spec: &DistributionSpec) -> Result<(), AwsCallError> {
    const OP: &str = "cloudfront:UpdateDistribution";
    cfg.comment = spec.comment.clone();
    cfg.enabled = spec.enabled;

    let want_aliases = sorted_set(&spec.aliases);
    let have_aliases = cfg
        .aliases
        .as_ref()
        .map(|a| sorted_set(a.items.as_deref().unwrap_or_default()))
        .unwrap_or_default();
    if cfg.aliases.is_none() || have_aliases != want_aliases {
        cfg.aliases = Some(
            Aliases::builder()
                .quantity(want_aliases.len() as i32)
                .set_items((!want_aliases.is_empty()).then_some(want_aliases))
                .build()
                .map_err(build_error(OP))?,
        );
    }
    if !empty(cfg.default_root_object.as_deref()) || cfg.default_root_object.is_none() {
        cfg.default_root_object = Some(String::new());
    }
    let price_class = PriceClass::from(spec.price_class.as_str());
    if cfg.price_class.as_ref() != Some(&price_class) {
        cfg.price_class = Some(price_class);
    }
    if cfg.http_version != Some(HttpVersion::Http2and3) {
        cfg.http_version = Some(HttpVersion::Http2and3);
    }
    if cfg.is_ipv6_enabled != Some(true) {
        cfg.is_ipv6_enabled = Some(true);
    }
    if !viewer_certificate_ok(
        cfg.viewer_certificate.as_ref(),
        spec.certificate_arn.as_deref(),
    ) {
        cfg.viewer_certificate = Some(viewer_certificate(spec.certificate_arn.as_deref()));
    }

    // The origin: ours by id, else the one the default behaviour targets
    // (its id changes with the spec), else a new one.
    let target = cfg
        .default_cache_behavior
        .as_ref()
        .map(|b| b.target_origin_id.clone());
    let mut items = cfg.origins.take().map(|o| o.items).unwrap_or_default();
    let pos = items
        .iter()
        .position(|o| o.id == spec.origin_id)
        .or_else(|| target.and_then(|t| items.iter().position(|o| o.id == t)));
    match pos {
        Some(i) => {
            if items[i].id != spec.origin_id || !origin_ok(&items[i], spec) {
                conform_origin(&mut items[i], spec);
            }
        }
        None => {
            let mut o = Origin::builder()
                .id(&spec.origin_id)
                .domain_name(&spec.origin_domain)
                .build()
                .map_err(build_error(OP))?;
            conform_origin(&mut o, spec);
            items.push(o);
        }
    }
    cfg.origins = Some(
        Origins::builder()
            .quantity(items.len() as i32)
            .set_items(Some(items))
            .build()
            .map_err(build_error(OP))?,
    );

    let mut b = match cfg.default_cache_behavior.take() {
        Some(b) => b,
        None => DefaultCacheBehavior::builder()
            .target_origin_id(&spec.origin_id)
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .build()
            .map_err(build_error(OP))?,
    };
    b.target_origin_id = spec.origin_id.clone();
    b.viewer_protocol_policy = ViewerProtocolPolicy::RedirectToHttps;
    if !allowed_methods_ok(b.allowed_methods.as_ref()) {
        b.allowed_methods = Some(get_head(OP)?);
    }
    b.compress = Some(true);
    if !empty(b.cache_policy_id.as_deref()) {
        // The TTLs below are the legacy settings, which exclude a cache
        // policy (and an origin request policy needs one).
        b.cache_policy_id = None;
        b.origin_request_policy_id = None;
    }
    if !forwarded_values_ok(b.forwarded_values.as_ref()) {
        b.forwarded_values = Some(no_forwarding(OP)?);
    }
    b.min_ttl = Some(spec.min_ttl);
    b.default_ttl = Some(spec.default_ttl);
    b.max_ttl = Some(spec.max_ttl);
    cfg.default_cache_behavior = Some(b);
    if let Some(ttl) = spec.error_caching_min_ttl {
        if error_caching_of(cfg) != Some(ttl) {
            cfg.custom_error_responses = Some(error_responses(ttl, OP)?);
        }
    }
    Ok(())
}

/// The status codes whose caching a governed distribution sets.
const ERROR_CODES: [i32; 2] = [403, 404];

fn error_responses(ttl: i64, op: &'static str) -> Result<CustomErrorResponses, AwsCallError> {
    let items = ERROR_CODES
        .iter()
        .map(|code| {
            CustomErrorResponse::builder()
                .error_code(*code)
                .error_caching_min_ttl(ttl)
                .build()
                .map_err(build_error(op))
        })
        .collect::<Result<Vec<_>, _>>()?;
    CustomErrorResponses::builder()
        .quantity(items.len() as i32)
        .set_items(Some(items))
        .build()
        .map_err(build_error(op))
}

/// The error caching TTL when exactly 403 and 404 are answered as the
/// origin answered (no page, no other code) and cached equally long.
fn error_caching_of(cfg: &DistributionConfig) -> Option<i64> {
    let items = cfg.custom_error_responses.as_ref()?.items.as_deref()?;
    let mut codes: Vec<i32> = items.iter().map(|r| r.error_code).collect();
    codes.sort();
    let plain = items.iter().all(|r| {
        r.response_page_path.as_deref().is_none_or(str::is_empty)
            && r.response_code.as_deref().is_none_or(str::is_empty)
    });
    let ttl = items.first()?.error_caching_min_ttl?;
    (codes == ERROR_CODES && plain && items.iter().all(|r| r.error_caching_min_ttl == Some(ttl)))
        .then_some(ttl)
}

/// The configuration CreateDistribution gets for `spec`.
fn new_config(spec: &DistributionSpec) -> Result<DistributionConfig, AwsCallError> {
    const OP: &str = "cloudfront:CreateDistribution";
    let mut cfg = DistributionConfig::builder()
        .caller_reference(&spec.caller_reference)
        .comment(&spec.comment)
        .enabled(spec.enabled)
        .build()
        .map_err(build_error(OP))?;
    conform(&mut cfg, spec)?;
    Ok(cfg)
}

/// The governed fields of a live configuration.
fn spec_of(cfg: &DistributionConfig) -> DistributionSpec {
    let behavior = cfg.default_cache_behavior.as_ref();
    let origins: &[Origin] = cfg
        .origins
        .as_ref()
        .map(|o| &o.items[..])
        .unwrap_or_default();
    let origin = behavior
        .and_then(|b| origins.iter().find(|o| o.id == b.target_origin_id))
        .or_else(|| origins.first());
    let certificate_arn = cfg.viewer_certificate.as_ref().and_then(|v| {
        v.acm_certificate_arn
            .clone()
            .filter(|a| !a.is_empty() && v.cloud_front_default_certificate != Some(true))
    });
    DistributionSpec {
        caller_reference: cfg.caller_reference.clone(),
        comment: cfg.comment.clone(),
        aliases: cfg
            .aliases
            .as_ref()
            .map(|a| sorted_set(a.items.as_deref().unwrap_or_default()))
            .unwrap_or_default(),
        certificate_arn,
        origin_domain: origin.map(|o| o.domain_name.clone()).unwrap_or_default(),
        origin_id: origin.map(|o| o.id.clone()).unwrap_or_default(),
        origin_access_control_id: origin
            .and_then(|o| o.origin_access_control_id.clone())
            .unwrap_or_default(),
        price_class: cfg
            .price_class
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        min_ttl: behavior.and_then(|b| b.min_ttl).unwrap_or_default(),
        default_ttl: behavior.and_then(|b| b.default_ttl).unwrap_or_default(),
        max_ttl: behavior.and_then(|b| b.max_ttl).unwrap_or_default(),
        enabled: cfg.enabled,
        error_caching_min_ttl: error_caching_of(cfg),
    }
}

/// The fixed settings that differ in a live configuration (see
/// [`Distribution::fixed_settings_drift`]).
fn fixed_settings_drift(cfg: &DistributionConfig, spec: &DistributionSpec) -> Vec<String> {
    let mut d = Vec::new();
    let origins: &[Origin] = cfg
        .origins
        .as_ref()
        .map(|o| &o.items[..])
        .unwrap_or_default();
    match origins.iter().find(|o| o.id == spec.origin_id) {
        None => d.push(format!("origin {:?} is missing", spec.origin_id)),
        Some(o) => {
            if !empty(o.origin_path.as_deref()) {
                d.push(format!(
                    "origin path is {:?} (want none)",
                    o.origin_path.as_deref().unwrap_or_default()
                ));
            }
            match &o.s3_origin_config {
                None => d.push("origin has no S3 origin config".into()),
                Some(s) if !s.origin_access_identity.is_empty() => d.push(format!(
                    "origin uses origin access identity {:?} (want none)",
                    s.origin_access_identity
                )),
                Some(_) => {}
            }
            if o.custom_origin_config.is_some() {
                d.push("origin has a custom origin config (want S3)".into());
            }
            if o.vpc_origin_config.is_some() {
                d.push("origin has a VPC origin config (want S3)".into());
            }
        }
    }
    match cfg.default_cache_behavior.as_ref() {
        None => d.push("no default cache behavior".into()),
        Some(b) => {
            if b.viewer_protocol_policy != ViewerProtocolPolicy::RedirectToHttps {
                d.push(format!(
                    "viewer protocol policy is {} (want redirect-to-https)",
                    b.viewer_protocol_policy.as_str()
                ));
            }
            if !allowed_methods_ok(b.allowed_methods.as_ref()) {
                d.push("allowed or cached methods are not GET, HEAD".into());
            }
            if b.compress != Some(true) {
                d.push("compression is off".into());
            }
            if !empty(b.cache_policy_id.as_deref()) {
                d.push(format!(
                    "cache policy {} is attached (want the legacy TTL settings)",
                    b.cache_policy_id.as_deref().unwrap_or_default()
                ));
            }
            if !forwarded_values_ok(b.forwarded_values.as_ref()) {
                d.push("query strings, cookies or headers are forwarded (want none)".into());
            }
        }
    }
    if cfg.http_version != Some(HttpVersion::Http2and3) {
        d.push(format!(
            "HTTP version is {} (want http2and3)",
            cfg.http_version
                .as_ref()
                .map(|h| h.as_str())
                .unwrap_or("unset")
        ));
    }
    if cfg.is_ipv6_enabled != Some(true) {
        d.push("IPv6 is off".into());
    }
    if !empty(cfg.default_root_object.as_deref()) {
        d.push(format!(
            "default root object is {:?} (want none)",
            cfg.default_root_object.as_deref().unwrap_or_default()
        ));
    }
    if !viewer_certificate_ok(
        cfg.viewer_certificate.as_ref(),
        spec.certificate_arn.as_deref(),
    ) {
        let v = cfg.viewer_certificate.as_ref();
        if v.is_some_and(|v| !empty(v.iam_certificate_id.as_deref())) {
            d.push("viewer certificate is an IAM certificate".into());
        } else if spec.certificate_arn.is_some() {
            d.push(format!(
                "viewer TLS settings are {} / {} (want sni-only / TLSv1.2_2021)",
                v.and_then(|v| v.ssl_support_method.as_ref())
                    .map(|s| s.as_str())
                    .unwrap_or("unset"),
                v.and_then(|v| v.minimum_protocol_version.as_ref())
                    .map(|s| s.as_str())
                    .unwrap_or("unset"),
            ));
        }
    }
    d
}

fn from_sdk(
    operation: &'static str,
    d: &aws_sdk_cloudfront::types::Distribution,
    etag: Option<&str>,
) -> Result<Distribution, AwsCallError> {
    let cfg = d
        .distribution_config
        .as_ref()
        .ok_or_else(|| missing(operation, "DistributionConfig"))?;
    let spec = spec_of(cfg);
    Ok(Distribution {
        id: d.id.clone(),
        arn: d.arn.clone(),
        domain_name: d.domain_name.clone(),
        status: d.status.clone(),
        etag: etag.unwrap_or_default().to_string(),
        fixed_settings_drift: fixed_settings_drift(cfg, &spec),
        spec,
    })
}

fn tags_of(operation: &'static str, tags: &BTreeMap<String, String>) -> Result<Tags, AwsCallError> {
    let items = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error(operation))?;
    Ok(Tags::builder().set_items(Some(items)).build())
}

// ---------------------------------------------------------------------------
// Distribution
// ---------------------------------------------------------------------------

/// Creates the distribution (with `tags`). The caller reference makes a
/// retry harmless: when AWS answers DistributionAlreadyExists, the
/// distribution created with that caller reference is returned as it is
/// (compare its spec to decide on an update).
pub async fn create_distribution(
    client: &Client,
    spec: &DistributionSpec,
    tags: &BTreeMap<String, String>,
) -> Result<Distribution, AwsCallError> {
    const OP: &str = "cloudfront:CreateDistribution";
    const OP_TAGS: &str = "cloudfront:CreateDistributionWithTags";
    let cfg = new_config(spec)?;
    let result = if tags.is_empty() {
        client
            .create_distribution()
            .distribution_config(cfg)
            .send()
            .await
            .map_err(|e| classify(OP, e))
            .and_then(|out| {
                let d = out
                    .distribution()
                    .ok_or_else(|| missing(OP, "Distribution"))?;
                from_sdk(OP, d, out.e_tag())
            })
    } else {
        let with_tags = DistributionConfigWithTags::builder()
            .distribution_config(cfg)
            .tags(tags_of(OP_TAGS, tags)?)
            .build();
        client
            .create_distribution_with_tags()
            .distribution_config_with_tags(with_tags)
            .send()
            .await
            .map_err(|e| classify(OP_TAGS, e))
            .and_then(|out| {
                let d = out
                    .distribution()
                    .ok_or_else(|| missing(OP_TAGS, "Distribution"))?;
                from_sdk(OP_TAGS, d, out.e_tag())
            })
    };
    match result {
        // A retry (by the SDK, after a lost response) of a create that did
        // succeed: AWS answers DistributionAlreadyExists for the reused
        // caller reference, or may answer CNAMEAlreadyExists first for the
        // alias that distribution now holds. Either way, find it.
        Err(e) if is_code(&e, "DistributionAlreadyExists") || is_code(&e, "CNAMEAlreadyExists") => {
            let Some(id) =
                find_by_caller_reference(client, &spec.caller_reference, &spec.comment).await?
            else {
                return Err(e);
            };
            get_distribution(client, &id).await?.ok_or(e)
        }
        other => other,
    }
}

/// CloudFront's answer to a certificate ACM has just issued that it does
/// not know yet ("ACM and IAM certificate eventual consistency", retried by
/// hashicorp/aws too): worth retrying.
pub fn certificate_not_yet_known(e: &AwsCallError) -> bool {
    is_code(e, "InvalidViewerCertificate")
}

/// (id, comment) of every distribution (all pages).
async fn list_distributions(client: &Client) -> Result<Vec<(String, String)>, AwsCallError> {
    Ok(list_distribution_summaries(client)
        .await?
        .into_iter()
        .map(|(id, comment, _)| (id, comment))
        .collect())
}

/// The distribution whose CloudFront domain (`dxxxx.cloudfront.net`) is
/// `domain_name`, as (id, comment); `None` when no distribution has it.
pub async fn find_distribution_by_domain_name(
    client: &Client,
    domain_name: &str,
) -> Result<Option<(String, String)>, AwsCallError> {
    let want = domain_name.trim_end_matches('.');
    Ok(list_distribution_summaries(client)
        .await?
        .into_iter()
        .find(|(_, _, d)| d.trim_end_matches('.').eq_ignore_ascii_case(want))
        .map(|(id, comment, _)| (id, comment)))
}

/// (id, comment, domain name) of every distribution (all pages).
async fn list_distribution_summaries(
    client: &Client,
) -> Result<Vec<(String, String, String)>, AwsCallError> {
    const OP: &str = "cloudfront:ListDistributions";
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = client
            .list_distributions()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        let Some(list) = out.distribution_list() else {
            return Ok(all);
        };
        all.extend(
            list.items()
                .iter()
                .map(|s| (s.id.clone(), s.comment.clone(), s.domain_name.clone())),
        );
        match list.next_marker() {
            Some(m) if list.is_truncated() && !m.is_empty() && Some(m) != marker.as_deref() => {
                marker = Some(m.to_string())
            }
            _ => return Ok(all),
        }
    }
}

/// GetDistributionConfig: the configuration and its ETag, `None` when the
/// distribution does not exist.
async fn get_config(
    client: &Client,
    id: &str,
) -> Result<Option<(DistributionConfig, String)>, AwsCallError> {
    const OP: &str = "cloudfront:GetDistributionConfig";
    match client.get_distribution_config().id(id).send().await {
        Ok(out) => {
            let etag = out
                .e_tag()
                .map(str::to_string)
                .ok_or_else(|| missing(OP, "ETag"))?;
            let cfg = out
                .distribution_config
                .ok_or_else(|| missing(OP, "DistributionConfig"))?;
            Ok(Some((cfg, etag)))
        }
        Err(e) => {
            let e = classify(OP, e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The distribution created with `caller_reference`: those with `comment`
/// are checked first, then the rest.
async fn find_by_caller_reference(
    client: &Client,
    caller_reference: &str,
    comment: &str,
) -> Result<Option<String>, AwsCallError> {
    let mut all = list_distributions(client).await?;
    all.sort_by_key(|(_, c)| c != comment);
    for (id, _) in all {
        if let Some((cfg, _)) = get_config(client, &id).await? {
            if cfg.caller_reference == caller_reference {
                return Ok(Some(id));
            }
        }
    }
    Ok(None)
}

/// The distribution, every governed field read back; `None` when it does
/// not exist (NoSuchDistribution).
pub async fn get_distribution(
    client: &Client,
    id: &str,
) -> Result<Option<Distribution>, AwsCallError> {
    const OP: &str = "cloudfront:GetDistribution";
    match client.get_distribution().id(id).send().await {
        Ok(out) => {
            let d = out
                .distribution()
                .ok_or_else(|| missing(OP, "Distribution"))?;
            Ok(Some(from_sdk(OP, d, out.e_tag())?))
        }
        Err(e) => {
            let e = classify(OP, e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The id of the first distribution whose comment is exactly `comment`
/// (all pages).
pub async fn find_distribution_by_comment(
    client: &Client,
    comment: &str,
) -> Result<Option<String>, AwsCallError> {
    Ok(list_distributions(client)
        .await?
        .into_iter()
        .find(|(_, c)| c == comment)
        .map(|(id, _)| id))
}

/// Brings the live configuration to `spec` (and the fixed settings),
/// keeping everything else; the caller reference cannot change. Nothing is
/// sent when nothing differs (no new ETag, no deployment). On
/// PreconditionFailed (someone else changed it meanwhile) it re-reads and
/// retries a few times. A missing distribution is a NotFound error.
pub async fn update_distribution(
    client: &Client,
    id: &str,
    spec: &DistributionSpec,
) -> Result<Distribution, AwsCallError> {
    const OP: &str = "cloudfront:UpdateDistribution";
    let mut last = None;
    for _ in 0..ETAG_RETRIES {
        let Some((current, etag)) = get_config(client, id).await? else {
            return Err(no_such_distribution(OP, id));
        };
        let mut desired = current.clone();
        conform(&mut desired, spec)?;
        if desired == current {
            return get_distribution(client, id)
                .await?
                .ok_or_else(|| no_such_distribution(OP, id));
        }
        match put_config(client, id, desired, &etag).await {
            Ok(d) => return Ok(d),
            Err(e) if is_code(&e, "PreconditionFailed") => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| missing(OP, "a result")))
}

async fn put_config(
    client: &Client,
    id: &str,
    cfg: DistributionConfig,
    etag: &str,
) -> Result<Distribution, AwsCallError> {
    const OP: &str = "cloudfront:UpdateDistribution";
    let out = client
        .update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(cfg)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    let d = out
        .distribution()
        .ok_or_else(|| missing(OP, "Distribution"))?;
    from_sdk(OP, d, out.e_tag())
}

fn no_such_distribution(operation: &'static str, id: &str) -> AwsCallError {
    AwsCallError {
        operation,
        code: Some("NoSuchDistribution".into()),
        message: format!("distribution {id} does not exist"),
        kind: ErrorKind::NotFound,
    }
}

/// Polls GetDistribution until the status is `Deployed` (backoff 5 s ->
/// 30 s), interrupted by StopProvider or the context's deadline. A missing
/// distribution is a NotFound error.
pub async fn wait_deployed(client: &Client, id: &str, ctx: &Ctx) -> Result<(), AwsCallError> {
    const OP: &str = "cloudfront:GetDistribution";
    let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(30));
    loop {
        let d = get_distribution(client, id)
            .await?
            .ok_or_else(|| no_such_distribution(OP, id))?;
        if d.status == STATUS_DEPLOYED {
            return Ok(());
        }
        if let Err(i) = ctx.sleep(backoff.next()).await {
            let mut e = AwsCallError::interrupted(OP, i);
            e.message = format!("{} (distribution {id} still {})", e.message, d.status);
            return Err(e);
        }
    }
}

/// Sets Enabled=false (with If-Match, re-read on PreconditionFailed);
/// `false` when the distribution does not exist.
async fn disable(client: &Client, id: &str) -> Result<bool, AwsCallError> {
    let mut last = None;
    for _ in 0..ETAG_RETRIES {
        let Some((mut cfg, etag)) = get_config(client, id).await? else {
            return Ok(false);
        };
        if !cfg.enabled {
            return Ok(true);
        }
        cfg.enabled = false;
        match put_config(client, id, cfg, &etag).await {
            Ok(_) => return Ok(true),
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) if is_code(&e, "PreconditionFailed") => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| missing("cloudfront:UpdateDistribution", "a result")))
}

/// Deletes the distribution; a missing one is success. AWS refuses to
/// delete an enabled or still deploying distribution
/// (DistributionNotDisabled), so an enabled one is disabled first.
///
/// `wait = true`: waits (see [`wait_deployed`]) until the disabled
/// configuration is deployed, then deletes with the fresh ETag.
/// `wait = false`: never waits; when the distribution cannot be deleted yet
/// (just disabled, or still deploying) the result is an
/// [`ErrorKind::Conflict`] error (code DistributionNotDisabled) and the
/// distribution is left disabled, to be deleted by a later call.
pub async fn delete_distribution(
    client: &Client,
    id: &str,
    ctx: &Ctx,
    wait: bool,
) -> Result<(), AwsCallError> {
    const OP: &str = "cloudfront:DeleteDistribution";
    // Disable, wait, delete, plus a few re-reads for lost ETag races.
    const ROUNDS: usize = 3 + ETAG_RETRIES;
    let mut last = None;
    let mut rounds = 0;
    // DistributionNotDisabled after Deployed + disabled: hashicorp#3034
    // found CloudFront still refuses for a while; retried until the deadline.
    let mut not_disabled = Backoff::new(Duration::from_secs(5), Duration::from_secs(30));
    while rounds < ROUNDS {
        rounds += 1;
        let Some(d) = get_distribution(client, id).await? else {
            return Ok(());
        };
        if d.spec.enabled {
            if !disable(client, id).await? {
                return Ok(());
            }
            if !wait {
                return Err(not_deletable_yet(OP, id, "it was just disabled"));
            }
            continue;
        }
        if d.status != STATUS_DEPLOYED {
            if !wait {
                return Err(not_deletable_yet(
                    OP,
                    id,
                    "its last change is still deploying",
                ));
            }
            wait_deployed(client, id, ctx).await?;
            continue;
        }
        match client
            .delete_distribution()
            .id(id)
            .if_match(&d.etag)
            .send()
            .await
        {
            Ok(_) => return wait_gone(client, id, ctx).await,
            Err(e) => {
                let e = classify(OP, e);
                if e.is_not_found() {
                    return Ok(());
                }
                if wait && is_code(&e, "DistributionNotDisabled") {
                    // Its own retry, not one of the rounds.
                    rounds -= 1;
                    if let Err(i) = ctx.sleep(not_disabled.next()).await {
                        let mut e = e;
                        e.message = format!("{} ({i})", e.message);
                        return Err(e);
                    }
                    continue;
                }
                if !is_code(&e, "PreconditionFailed") {
                    return Err(e);
                }
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| not_deletable_yet(OP, id, "it kept changing")))
}

/// After DeleteDistribution: polls GetDistribution until NoSuchDistribution
/// (backoff 2 s -> 15 s, until the deadline), as hashicorp/aws's
/// waitDistributionDeleted does; the OAC and the certificate stay "in use"
/// while the distribution is still there.
async fn wait_gone(client: &Client, id: &str, ctx: &Ctx) -> Result<(), AwsCallError> {
    const OP: &str = "cloudfront:GetDistribution";
    let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(15));
    while get_distribution(client, id).await?.is_some() {
        ctx.sleep(backoff.next()).await.map_err(|i| {
            let mut e = AwsCallError::interrupted(OP, i);
            e.message = format!("{} (distribution {id} deleted but still listed)", e.message);
            e
        })?;
    }
    Ok(())
}

fn not_deletable_yet(operation: &'static str, id: &str, why: &str) -> AwsCallError {
    AwsCallError {
        operation,
        code: Some("DistributionNotDisabled".into()),
        message: format!("distribution {id} cannot be deleted yet: {why}"),
        kind: ErrorKind::Conflict,
    }
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

pub async fn get_distribution_tags(
    client: &Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, AwsCallError> {
    const OP: &str = "cloudfront:ListTagsForResource";
    let out = client
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    Ok(out
        .tags()
        .and_then(|t| t.items.as_ref())
        .map(|items| {
            items
                .iter()
                .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default())
}

/// Removes the keys of `current` that `desired` lacks and sets the
/// `desired` tags that are new or changed; no call when nothing differs.
pub async fn set_distribution_tags(
    client: &Client,
    arn: &str,
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Result<(), AwsCallError> {
    const OP_UNTAG: &str = "cloudfront:UntagResource";
    const OP_TAG: &str = "cloudfront:TagResource";
    let removed: Vec<String> = current
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    if !removed.is_empty() {
        client
            .untag_resource()
            .resource(arn)
            .tag_keys(TagKeys::builder().set_items(Some(removed)).build())
            .send()
            .await
            .map_err(|e| classify(OP_UNTAG, e))?;
    }
    let changed: BTreeMap<String, String> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        client
            .tag_resource()
            .resource(arn)
            .tags(tags_of(OP_TAG, &changed)?)
            .send()
            .await
            .map_err(|e| classify(OP_TAG, e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Invalidation
// ---------------------------------------------------------------------------

/// Invalidates `paths` (each starting with `/`). The same
/// `caller_reference` with the same paths returns the same invalidation.
pub async fn create_invalidation(
    client: &Client,
    id: &str,
    paths: &[String],
    caller_reference: &str,
) -> Result<String, AwsCallError> {
    const OP: &str = "cloudfront:CreateInvalidation";
    if paths.is_empty() || paths.iter().any(|p| !p.starts_with('/')) {
        return Err(AwsCallError::new(
            OP,
            ErrorKind::Other,
            format!("invalid invalidation paths {paths:?}: at least one, each starting with /"),
        ));
    }
    let batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths.to_vec()))
                .build()
                .map_err(build_error(OP))?,
        )
        .caller_reference(caller_reference)
        .build()
        .map_err(build_error(OP))?;
    let out = client
        .create_invalidation()
        .distribution_id(id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    out.invalidation()
        .map(|i| i.id().to_string())
        .ok_or_else(|| missing(OP, "Invalidation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DistributionSpec {
        DistributionSpec {
            caller_reference: "ref-1".into(),
            comment: "irsa issuer oidc.example.com".into(),
            aliases: vec![
                "b.example.com".into(),
                "a.example.com".into(),
                "a.example.com".into(),
            ],
            certificate_arn: Some("arn:aws:acm:us-east-1:123456789012:certificate/x".into()),
            origin_domain: "bucket.s3.eu-west-1.amazonaws.com".into(),
            origin_id: "s3-bucket".into(),
            origin_access_control_id: "E1OAC".into(),
            price_class: "PriceClass_100".into(),
            min_ttl: 60,
            default_ttl: 3600,
            max_ttl: 86400,
            enabled: true,
            error_caching_min_ttl: None,
        }
    }

    #[test]
    fn a_shared_distribution_caches_no_error_and_reads_back_so() {
        let mut s = spec();
        s.error_caching_min_ttl = Some(0);
        let mut cfg = new_config(&s).unwrap();
        assert_eq!(error_caching_of(&cfg), Some(0));
        assert_eq!(spec_of(&cfg).error_caching_min_ttl, Some(0));
        let before = cfg.clone();
        conform(&mut cfg, &s).unwrap();
        assert!(before == cfg, "a fixed point");
        // Someone caches 404s for an hour: the next update puts it back.
        cfg.custom_error_responses = Some(error_responses(3600, "t").unwrap());
        assert_eq!(spec_of(&cfg).error_caching_min_ttl, Some(3600));
        conform(&mut cfg, &s).unwrap();
        assert_eq!(error_caching_of(&cfg), Some(0));
        // Not governed: left as it is.
        let mut own = new_config(&spec()).unwrap();
        own.custom_error_responses = Some(error_responses(60, "t").unwrap());
        conform(&mut own, &spec()).unwrap();
        assert_eq!(error_caching_of(&own), Some(60));
    }

    #[test]
    fn new_config_reads_back_as_the_spec_with_no_drift() {
        let s = spec();
        let cfg = new_config(&s).unwrap();
        let back = spec_of(&cfg);
        let mut want = s.clone();
        want.aliases = vec!["a.example.com".into(), "b.example.com".into()];
        assert_eq!(back, want);
        assert!(fixed_settings_drift(&cfg, &back).is_empty());
        let o = &cfg.origins.as_ref().unwrap().items[0];
        assert_eq!(
            o.s3_origin_config.as_ref().unwrap().origin_access_identity,
            ""
        );
        let b = cfg.default_cache_behavior.as_ref().unwrap();
        assert_eq!(
            b.viewer_protocol_policy,
            ViewerProtocolPolicy::RedirectToHttps
        );
        assert_eq!(b.compress, Some(true));
        assert_eq!(cfg.http_version, Some(HttpVersion::Http2and3));
        assert_eq!(cfg.default_root_object.as_deref(), Some(""));
    }

    #[test]
    fn conform_is_a_fixed_point_and_keeps_unmanaged_settings() {
        let s = spec();
        let mut cfg = new_config(&s).unwrap();
        cfg.web_acl_id = Some("waf".into());
        cfg.origins.as_mut().unwrap().items[0].connection_attempts = Some(2);
        let before = cfg.clone();
        conform(&mut cfg, &s).unwrap();
        assert!(before == cfg, "conform changed a conforming config");

        let mut changed = s.clone();
        changed.price_class = "PriceClass_All".into();
        changed.certificate_arn = None;
        changed.aliases.clear();
        conform(&mut cfg, &changed).unwrap();
        assert_eq!(spec_of(&cfg).price_class, "PriceClass_All");
        assert_eq!(spec_of(&cfg).certificate_arn, None);
        assert_eq!(cfg.web_acl_id.as_deref(), Some("waf"));
        assert_eq!(
            cfg.origins.as_ref().unwrap().items[0].connection_attempts,
            Some(2)
        );
        assert!(fixed_settings_drift(&cfg, &spec_of(&cfg)).is_empty());
    }

    #[test]
    fn drift_in_fixed_settings_is_reported_and_repaired() {
        let s = spec();
        let mut cfg = new_config(&s).unwrap();
        cfg.default_cache_behavior
            .as_mut()
            .unwrap()
            .viewer_protocol_policy = ViewerProtocolPolicy::AllowAll;
        cfg.is_ipv6_enabled = Some(false);
        let drift = fixed_settings_drift(&cfg, &spec_of(&cfg));
        assert_eq!(drift.len(), 2, "{drift:?}");
        assert!(drift[0].contains("allow-all"), "{drift:?}");
        conform(&mut cfg, &s).unwrap();
        assert!(fixed_settings_drift(&cfg, &spec_of(&cfg)).is_empty());
    }
}
