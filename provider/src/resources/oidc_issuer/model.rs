//! `irsa_oidc_issuer`: schema, the typed configuration, defaults, and the
//! checks that need no AWS call.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::oidc::{self, Jwks};
use tfplugin::schema::Nesting;
use tfplugin::{AttrPath, Attribute, Block, Diagnostics, NestedBlock, Schema, Type, Value};

pub const TYPE_NAME: &str = "irsa_oidc_issuer";
pub const DEFAULT_CLIENT_ID: &str = "sts.amazonaws.com";
pub const DEFAULT_PRICE_CLASS: &str = "PriceClass_100";
pub const PRICE_CLASSES: [&str; 3] = ["PriceClass_100", "PriceClass_200", "PriceClass_All"];
pub const DEFAULT_TTL: Ttl = Ttl {
    min: 0,
    default: 3600,
    max: 86400,
};
pub const DEFAULT_KEY_RETENTION: &str = "24h";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// `<name>-oidc-<12-digit account>` must fit S3's 63 characters.
pub const MAX_NAME_LEN: usize = 63 - "-oidc-".len() - 12;
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;
/// CloudFront's upper bound for any TTL: one year.
const MAX_TTL_SECONDS: i64 = 31_536_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosting {
    CloudFront,
    S3,
}

impl Hosting {
    pub fn as_str(self) -> &'static str {
        match self {
            Hosting::CloudFront => "cloudfront",
            Hosting::S3 => "s3",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl {
    pub min: i64,
    pub default: i64,
    pub max: i64,
}

impl Ttl {
    pub fn to_value(self) -> Value {
        Value::object([
            ("min", Value::number(self.min)),
            ("default", Value::number(self.default)),
            ("max", Value::number(self.max)),
        ])
    }
}

fn ttl_type() -> Type {
    Type::object([
        ("min", Type::Number),
        ("default", Type::Number),
        ("max", Type::Number),
    ])
}

fn retained_key_type() -> Type {
    Type::object([
        ("kid", Type::String),
        ("removed_at", Type::String),
        ("expires_at", Type::String),
    ])
}

pub fn schema() -> Schema {
    let timeouts = Block::new(
        "How long each operation may take. Go-style durations such as `45m` or `1h30m`.",
    )
    .attribute(Attribute::optional(
        "create",
        Type::String,
        "Default: `60m` (ACM validation and CloudFront deployment dominate).",
    ))
    .attribute(Attribute::optional(
        "update",
        Type::String,
        "Default: `60m`.",
    ))
    .attribute(Attribute::optional(
        "delete",
        Type::String,
        "Default: `60m` (a distribution must be disabled and deployed before it can be deleted).",
    ));
    Schema {
        version: 0,
        block: Block::new(
            "A public OIDC issuer for a cluster's service-account tokens, trusted by AWS IAM. With `hosting = \"cloudfront\"`: \
             a private S3 bucket read by CloudFront through Origin Access Control, an ACM certificate in us-east-1 validated \
             through Route53, A and AAAA alias records, the discovery document and JWKS, and the IAM OIDC provider. With \
             `hosting = \"s3\"`: the bucket's own HTTPS URL is the issuer and exactly the two documents are public (as kOps does).\n\n\
             Import with the `name`: `terraform import irsa_oidc_issuer.this <name>`.",
        )
        // Required
        .attribute(Attribute::required(
            "name",
            Type::String,
            "Names the bucket (`<name>-oidc-<account id>`), the Origin Access Control (`<name>-irsa`) and the tag `irsa:name`. \
             Lowercase letters, digits and hyphens, at most 45 characters. Changing it replaces the issuer.",
        ))
        .attribute(Attribute::required(
            "jwks",
            Type::String,
            "The cluster's JWKS (e.g. `data.irsa_jwks.cluster.json`): non-empty, public keys only, unique `kid`s.",
        ))
        // Optional
        .attribute(Attribute::optional_computed(
            "hosting",
            Type::String,
            "`cloudfront` (default) or `s3`. Changing it replaces the issuer.",
        ))
        .attribute(Attribute::optional(
            "domain",
            Type::String,
            "CloudFront hosting: the issuer's host name; the issuer is `https://<domain>`. Changing it replaces the issuer.",
        ))
        .attribute(Attribute::optional(
            "route53_zone_id",
            Type::String,
            "CloudFront hosting: the public hosted zone that contains `domain`; the alias and certificate validation records go there.",
        ))
        .attribute(Attribute::optional_computed(
            "client_ids",
            Type::list(Type::String),
            "Audiences the IAM OIDC provider accepts (`aud`). Default: `[\"sts.amazonaws.com\"]`. At most 100.",
        ))
        .attribute(Attribute::optional_computed(
            "thumbprints",
            Type::list(Type::String),
            "Server certificate thumbprints (40 hex characters, at most 5). Default: none: IAM verifies the issuer's certificate against its trusted CAs.",
        ))
        .attribute(Attribute::optional_computed(
            "price_class",
            Type::String,
            "CloudFront hosting: `PriceClass_100` (default), `PriceClass_200` or `PriceClass_All`.",
        ))
        .attribute(Attribute::optional_computed(
            "cache_ttl",
            ttl_type(),
            "CloudFront TTLs in seconds, `{ min, default, max }`, default `{ min = 0, default = 3600, max = 86400 }`. \
             The documents' `Cache-Control` is `public, max-age=<default>`.",
        ))
        .attribute(Attribute::optional_computed(
            "key_retention",
            Type::String,
            "How long a key removed from `jwks` stays published, so tokens it signed keep verifying (Go duration, default `24h`; `0s` removes at once).",
        ))
        .attribute(Attribute::optional_computed(
            "force_destroy",
            Type::Bool,
            "Delete the bucket on destroy even when it holds objects this provider did not write. Default: false.",
        ))
        .attribute(Attribute::optional_computed(
            "wait_for_deployment",
            Type::Bool,
            "Wait until CloudFront has deployed changes. Default: true.",
        ))
        .attribute(Attribute::optional("tags", Type::map(Type::String), "Tags for every AWS object made."))
        // Computed
        .attribute(Attribute::computed("id", Type::String, "The `name`."))
        .attribute(Attribute::computed("issuer_url", Type::String, "`https://...`, no trailing slash: the value for `--service-account-issuer`."))
        .attribute(Attribute::computed("oidc_provider_url", Type::String, "The issuer without `https://`: the prefix of trust-policy condition keys."))
        .attribute(Attribute::computed("oidc_provider_arn", Type::String, "ARN of the IAM OIDC provider."))
        .attribute(Attribute::computed("jwks_uri", Type::String, "`<issuer_url>/openid/v1/jwks`: the value for `--service-account-jwks-uri`."))
        .attribute(Attribute::computed("bucket", Type::String, "The S3 bucket."))
        .attribute(Attribute::computed("region", Type::String, "The bucket's region."))
        .attribute(Attribute::computed("distribution_id", Type::String, "CloudFront distribution ID."))
        .attribute(Attribute::computed("distribution_domain_name", Type::String, "CloudFront distribution domain (`dxxxx.cloudfront.net`)."))
        .attribute(Attribute::computed("certificate_arn", Type::String, "ACM certificate (us-east-1)."))
        .attribute(Attribute::computed("origin_access_control_id", Type::String, "CloudFront Origin Access Control ID."))
        .attribute(Attribute::computed("discovery_document", Type::String, "The JSON published at `/.well-known/openid-configuration`."))
        .attribute(Attribute::computed("published_jwks", Type::String, "The JWKS published: the keys of `jwks` plus retained ones."))
        .attribute(Attribute::computed("published_kids", Type::list(Type::String), "Key IDs published."))
        .attribute(Attribute::computed(
            "retained_keys",
            Type::list(retained_key_type()),
            "Keys removed from `jwks` but still published: when they left and when they go (`removed_at` + `key_retention`, RFC 3339).",
        ))
        .attribute(Attribute::computed(
            "documents",
            Type::map(Type::String),
            "The two published objects as `key => \"sha256:<digest> <content type> <cache control>\"`; drift shows here.",
        ))
        .attribute(Attribute::computed(
            "dns_records",
            Type::map(Type::String),
            "The Route53 records this issuer owns (`\"<type> <name>\" => value`); drift shows here.",
        ))
        .attribute(Attribute::computed(
            "distribution_settings",
            Type::map(Type::String),
            "The CloudFront settings this issuer governs; drift shows here.",
        ))
        .attribute(Attribute::computed(
            "bucket_settings",
            Type::map(Type::String),
            "The bucket settings this issuer governs (access block, encryption, versioning, policy digest); drift shows here.",
        ))
        .block(NestedBlock { type_name: "timeouts".into(), block: timeouts, nesting: Nesting::Single, min_items: 0, max_items: 0 }),
    }
}

/// Attributes that replace the issuer when changed.
pub const REPLACE_ON_CHANGE: [&str; 4] = ["name", "hosting", "domain", "route53_zone_id"];

/// The configuration with defaults applied; only built from known values.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub name: String,
    pub hosting: Hosting,
    pub domain: Option<String>,
    pub route53_zone_id: Option<String>,
    pub jwks: Jwks,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub price_class: Option<String>,
    pub cache_ttl: Ttl,
    pub key_retention: Duration,
    pub force_destroy: bool,
    pub wait_for_deployment: bool,
    pub tags: BTreeMap<String, String>,
    pub timeouts: Timeouts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

/// Go-style duration: `24h`, `90m`, `1h30m`, `45s`, `0s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0u64;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
        saw_unit = true;
    }
    (digits.is_empty() && saw_unit).then_some(Duration::from_secs(total))
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    v.elements().map(|items| {
        items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect()
    })
}

fn number(v: &Value) -> Option<i64> {
    v.as_number().and_then(|n| n.as_i64())
}

/// Static checks; unknown values are skipped (they are checked when known).
pub fn validate(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    let at = AttrPath::root;
    if let Some(name) = config.attr("name").as_str() {
        if let Err(why) = check_name(name) {
            d.error_at(at("name"), "Invalid name", why);
        }
    }
    let hosting = config.attr("hosting");
    let hosting = match hosting.as_str() {
        None if hosting.is_null() => Some(Hosting::CloudFront),
        None => None,
        Some("cloudfront") => Some(Hosting::CloudFront),
        Some("s3") => Some(Hosting::S3),
        Some(other) => {
            d.error_at(
                at("hosting"),
                "Invalid hosting",
                format!("{other:?}: use \"cloudfront\" or \"s3\"."),
            );
            None
        }
    };
    let domain = config.attr("domain");
    let zone = config.attr("route53_zone_id");
    match hosting {
        Some(Hosting::CloudFront) => {
            if domain.is_null() {
                d.error_at(
                    at("domain"),
                    "Missing domain",
                    "CloudFront hosting serves the issuer at https://<domain>: set `domain`.",
                );
            }
            if zone.is_null() {
                d.error_at(
                    at("route53_zone_id"),
                    "Missing hosted zone",
                    "CloudFront hosting needs the public Route53 zone that contains `domain` (for the alias and certificate validation records).",
                );
            }
        }
        Some(Hosting::S3) => {
            for (attr, value) in [
                ("domain", domain),
                ("route53_zone_id", zone),
                ("price_class", config.attr("price_class")),
            ] {
                if !value.is_null() {
                    d.error_at(
                        at(attr),
                        "Not used with S3 hosting",
                        format!("`{attr}` applies to CloudFront hosting only; with hosting = \"s3\" the issuer is the bucket's own HTTPS URL. Remove it."),
                    );
                }
            }
        }
        None => {}
    }
    if let Some(domain) = domain.as_str() {
        if let Err(why) = check_domain(domain) {
            d.error_at(at("domain"), "Invalid domain", why);
        }
    }
    if let Some(zone) = zone.as_str() {
        // Route53 IDs are upper-case alphanumerics; whether the zone exists
        // is checked against Route53 when planning.
        if zone.is_empty()
            || zone.len() > 32
            || !zone
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            d.error_at(
                at("route53_zone_id"),
                "Invalid hosted zone ID",
                format!("{zone:?} is not a Route53 hosted zone ID such as \"Z0123456789ABCDEFGHIJ\" (without the /hostedzone/ prefix)."),
            );
        }
    }
    if let Some(jwks) = config.attr("jwks").as_str() {
        if let Err(e) = oidc::parse_jwks(jwks) {
            d.error_at(at("jwks"), "Invalid JWKS", e.to_string());
        }
    }
    if let Some(tags) = config.attr("tags").entries() {
        for key in tags.keys().filter(|k| k.starts_with("irsa:")) {
            d.error_at(
                at("tags").key(key),
                "Reserved tag key",
                format!("{key:?}: tag keys starting with \"irsa:\" are the provider's own (e.g. irsa:name)."),
            );
        }
    }
    check_client_ids(config.attr("client_ids"), &mut d);
    check_thumbprints(config.attr("thumbprints"), &mut d);
    if let Some(pc) = config.attr("price_class").as_str() {
        if !PRICE_CLASSES.contains(&pc) {
            d.error_at(
                at("price_class"),
                "Invalid price class",
                format!("{pc:?}: use one of {}.", PRICE_CLASSES.join(", ")),
            );
        }
    }
    let ttl = config.attr("cache_ttl");
    if let (Some(min), Some(def), Some(max)) = (
        number(ttl.attr("min")),
        number(ttl.attr("default")),
        number(ttl.attr("max")),
    ) {
        if min < 0 || !(min <= def && def <= max) || max > MAX_TTL_SECONDS {
            d.error_at(
                at("cache_ttl"),
                "Invalid cache TTLs",
                format!("Need 0 <= min <= default <= max <= {MAX_TTL_SECONDS} seconds; got min = {min}, default = {def}, max = {max}."),
            );
        }
    } else if ttl.is_wholly_known() && !ttl.is_null() {
        d.error_at(
            at("cache_ttl"),
            "Invalid cache TTLs",
            "`min`, `default` and `max` must be whole numbers of seconds.",
        );
    }
    if let Some(r) = config.attr("key_retention").as_str() {
        if parse_duration(r).is_none() {
            d.error_at(
                at("key_retention"),
                "Invalid duration",
                format!("{r:?} is not a duration such as \"24h\", \"90m\", \"1h30m\" or \"0s\"."),
            );
        }
    }
    let timeouts = config.attr("timeouts");
    for op in ["create", "update", "delete"] {
        if let Some(t) = timeouts.attr(op).as_str() {
            if parse_duration(t).is_none_or(|d| d.is_zero()) {
                d.error_at(
                    at("timeouts").attr(op),
                    "Invalid timeout",
                    format!("{t:?} is not a positive duration such as \"45m\"."),
                );
            }
        }
    }
    d
}

pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{name:?} is {} characters; it must be 1 to {MAX_NAME_LEN}, because the bucket \"<name>-oidc-<12-digit account id>\" must fit S3's 63.",
            name.len()
        ));
    }
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = name.as_bytes()[0].is_ascii_alphanumeric();
    if !ok_chars || !ok_ends {
        return Err(format!(
            "{name:?}: use lowercase letters, digits and hyphens, starting with a letter or digit (it becomes part of an S3 bucket name and, with S3 hosting, of the issuer's host name)."
        ));
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.starts_with("amzn-s3-demo-")
    {
        return Err(format!("{name:?}: S3 reserves bucket names starting with \"xn--\", \"sthree-\" and \"amzn-s3-demo-\"."));
    }
    Ok(())
}

pub fn check_domain(domain: &str) -> Result<(), String> {
    if domain.contains("://") {
        return Err(format!("{domain:?}: give the host name only, without a scheme; the issuer becomes https://<domain>."));
    }
    if domain.ends_with('.') {
        return Err(format!("{domain:?}: remove the trailing dot: the issuer URL must match the tokens' `iss` exactly."));
    }
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{domain:?}: use lowercase ({:?}): issuer URLs are compared byte for byte.",
            domain.to_ascii_lowercase()
        ));
    }
    if domain.len() > 253 {
        return Err(format!("{domain:?} is longer than 253 characters."));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(format!("{domain:?} is not a DNS name such as \"oidc.example.com\" (letters, digits and hyphens; no path, port or wildcard)."));
    }
    Ok(())
}

fn check_client_ids(v: &Value, d: &mut Diagnostics) {
    let Some(items) = v.elements() else { return };
    let at = AttrPath::root("client_ids");
    if items.is_empty() {
        d.error_at(
            at,
            "No client IDs",
            "The IAM OIDC provider needs at least one audience, usually \"sts.amazonaws.com\".",
        );
        return;
    }
    if items.len() > MAX_CLIENT_IDS {
        d.error_at(
            at.clone(),
            "Too many client IDs",
            format!("IAM allows at most {MAX_CLIENT_IDS}; got {}.", items.len()),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(s) = item.as_str() else {
            if item.is_null() {
                d.error_at(
                    at.clone().index(i),
                    "Invalid client ID",
                    "A client ID must not be null.",
                );
            }
            continue;
        };
        if s.is_empty() || s.len() > 255 {
            d.error_at(
                at.clone().index(i),
                "Invalid client ID",
                "A client ID must be 1 to 255 characters.",
            );
        } else if !seen.insert(s) {
            d.error_at(
                at.clone().index(i),
                "Duplicate client ID",
                format!("{s:?} is listed twice."),
            );
        }
    }
}

fn check_thumbprints(v: &Value, d: &mut Diagnostics) {
    let Some(items) = v.elements() else { return };
    let at = AttrPath::root("thumbprints");
    if items.len() > MAX_THUMBPRINTS {
        d.error_at(
            at.clone(),
            "Too many thumbprints",
            format!("IAM allows at most {MAX_THUMBPRINTS}; got {}.", items.len()),
        );
    }
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = item.as_str() {
            if s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                d.error_at(
                    at.clone().index(i),
                    "Invalid thumbprint",
                    format!("{s:?}: a thumbprint is the SHA-1 of a certificate as 40 hexadecimal characters."),
                );
            }
        }
    }
}

impl Config {
    /// Reads a wholly known, validated configuration with defaults applied.
    pub fn from_value(v: &Value) -> Result<Config, Diagnostics> {
        let problems = validate(v);
        if problems.has_errors() {
            return Err(problems);
        }
        let hosting = match v.attr("hosting").as_str() {
            Some("s3") => Hosting::S3,
            _ => Hosting::CloudFront,
        };
        let jwks = oidc::parse_jwks(v.attr("jwks").as_str().unwrap_or_default()).map_err(|e| {
            Diagnostics::from(
                tfplugin::Diagnostic::error("Invalid JWKS", e.to_string())
                    .at(AttrPath::root("jwks")),
            )
        })?;
        let ttl = v.attr("cache_ttl");
        let cache_ttl = match (
            number(ttl.attr("min")),
            number(ttl.attr("default")),
            number(ttl.attr("max")),
        ) {
            (Some(min), Some(default), Some(max)) => Ttl { min, default, max },
            _ => DEFAULT_TTL,
        };
        let timeouts = v.attr("timeouts");
        let timeout = |op: &str| {
            timeouts
                .attr(op)
                .as_str()
                .and_then(parse_duration)
                .unwrap_or(DEFAULT_TIMEOUT)
        };
        Ok(Config {
            name: v.attr("name").as_str().unwrap_or_default().to_string(),
            hosting,
            domain: v.attr("domain").as_str().map(str::to_string),
            route53_zone_id: v.attr("route53_zone_id").as_str().map(str::to_string),
            jwks,
            client_ids: string_list(v.attr("client_ids"))
                .unwrap_or_else(|| vec![DEFAULT_CLIENT_ID.to_string()]),
            thumbprints: string_list(v.attr("thumbprints")).unwrap_or_default(),
            price_class: match hosting {
                Hosting::CloudFront => Some(
                    v.attr("price_class")
                        .as_str()
                        .unwrap_or(DEFAULT_PRICE_CLASS)
                        .to_string(),
                ),
                Hosting::S3 => None,
            },
            cache_ttl,
            key_retention: v
                .attr("key_retention")
                .as_str()
                .and_then(parse_duration)
                .unwrap_or(Duration::from_secs(24 * 3600)),
            force_destroy: v.attr("force_destroy").as_bool().unwrap_or(false),
            wait_for_deployment: v.attr("wait_for_deployment").as_bool().unwrap_or(true),
            tags: v
                .attr("tags")
                .entries()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            timeouts: Timeouts {
                create: timeout("create"),
                update: timeout("update"),
                delete: timeout("delete"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(attrs: Vec<(&str, Value)>) -> Value {
        let Type::Object(names) = schema().block.value_type() else {
            unreachable!()
        };
        let mut m: BTreeMap<String, Value> =
            names.keys().map(|k| (k.clone(), Value::Null)).collect();
        m.insert("name".into(), Value::string("prod"));
        m.insert("domain".into(), Value::string("oidc.example.com"));
        m.insert("route53_zone_id".into(), Value::string("Z0123456789ABC"));
        m.insert(
            "jwks".into(),
            Value::string(r#"{"keys":[{"kty":"RSA","kid":"a","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}"#),
        );
        for (k, v) in attrs {
            m.insert(k.into(), v);
        }
        Value::Object(m)
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_good_config_passes_and_gets_defaults() {
        let c = Config::from_value(&base(vec![])).unwrap();
        assert_eq!(c.hosting, Hosting::CloudFront);
        assert_eq!(c.client_ids, vec!["sts.amazonaws.com"]);
        assert_eq!(c.cache_ttl, DEFAULT_TTL);
        assert_eq!(c.key_retention, Duration::from_secs(86400));
        assert_eq!(c.price_class.as_deref(), Some("PriceClass_100"));
    }

    #[test]
    fn each_bad_value_is_reported_at_its_attribute() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("name", Value::string("x".repeat(46)), "name"),
            ("name", Value::string("Prod_1"), "name"),
            ("name", Value::string("a.b"), "name"),
            ("domain", Value::string("oidc.example.com."), "domain"),
            (
                "domain",
                Value::string("https://oidc.example.com"),
                "domain",
            ),
            ("domain", Value::string("OIDC.example.com"), "domain"),
            (
                "route53_zone_id",
                Value::string("/hostedzone/Z1"),
                "route53_zone_id",
            ),
            ("jwks", Value::string(r#"{"keys":[]}"#), "jwks"),
            (
                "jwks",
                Value::string(r#"{"keys":[{"kty":"oct","kid":"x","k":"c2VjcmV0"}]}"#),
                "jwks",
            ),
            ("client_ids", Value::List(vec![]), "client_ids"),
            (
                "thumbprints",
                Value::string_list(["a".repeat(39)]),
                "thumbprints[0]",
            ),
            (
                "thumbprints",
                Value::string_list(vec!["0".repeat(40); 6]),
                "thumbprints",
            ),
            (
                "price_class",
                Value::string("PriceClass_300"),
                "price_class",
            ),
            ("cache_ttl", DEFAULT_TTL.to_value().clone(), ""),
            ("key_retention", Value::string("1 day"), "key_retention"),
            ("hosting", Value::string("ftp"), "hosting"),
            (
                "tags",
                Value::Map([("irsa:name".to_string(), Value::string("x"))].into()),
                "tags[\"irsa:name\"]",
            ),
        ];
        for (attr, value, want) in cases {
            let d = validate(&base(vec![(attr, value.clone())]));
            if want.is_empty() {
                assert!(d.is_empty(), "{attr}={value:?}: {:?}", d);
                continue;
            }
            assert_eq!(paths(&d), vec![want.to_string()], "{attr}={value:?}");
        }
        let bad_ttl = Value::object([
            ("min", Value::number(10i64)),
            ("default", Value::number(5i64)),
            ("max", Value::number(100i64)),
        ]);
        assert_eq!(
            paths(&validate(&base(vec![("cache_ttl", bad_ttl)]))),
            vec!["cache_ttl"]
        );
    }

    #[test]
    fn hosting_decides_which_attributes_belong() {
        let d = validate(&base(vec![("hosting", Value::string("s3"))]));
        assert_eq!(paths(&d), vec!["domain", "route53_zone_id"]);
        let d = validate(&base(vec![
            ("domain", Value::Null),
            ("route53_zone_id", Value::Null),
        ]));
        assert_eq!(paths(&d), vec!["domain", "route53_zone_id"]);
        let ok = validate(&base(vec![
            ("hosting", Value::string("s3")),
            ("domain", Value::Null),
            ("route53_zone_id", Value::Null),
        ]));
        assert!(ok.is_empty(), "{ok:?}");
    }

    #[test]
    fn private_key_material_is_never_echoed() {
        let d = validate(&base(vec![(
            "jwks",
            Value::string(
                r#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB","d":"SUPERSECRETVALUE"}]}"#,
            ),
        )]));
        assert!(d.has_errors());
        assert!(d.0.iter().all(|x| !x.detail.contains("SUPERSECRETVALUE")));
    }

    #[test]
    fn durations_are_go_style() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1 day"), None);
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("h"), None);
    }

    #[test]
    fn unknown_values_wait() {
        let d = validate(&base(vec![
            ("jwks", Value::unknown()),
            ("name", Value::unknown()),
            ("client_ids", Value::unknown()),
        ]));
        assert!(d.is_empty(), "{d:?}");
    }
}
