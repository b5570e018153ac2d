//! `irsa_oidc_issuer`: the typed model (the schema comes from it). Each
//! attribute declares its default and its own rules; `validate` keeps the
//! rules that span several attributes. [`Config`] is a plan's or state's
//! values, read once into plain types.

use std::collections::BTreeMap;
use std::time::Duration;

use super::site::{SiteModel, SiteState};
use crate::oidc::{self, Jwks};
use tfplugin::timeouts::Timeouts;
use tfplugin::types::{dns, GoDuration, Partition, TfEnum};
use tfplugin::validate::{all, Invalid};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, Json, Model, Tf};

pub const TYPE_NAME: &str = "irsa_oidc_issuer";
pub const DEFAULT_PRICE_CLASS: PriceClass = PriceClass::Class100;
pub const DEFAULT_TTL: Ttl = Ttl {
    min: 0,
    default: 3600,
    max: 86400,
};
/// `<name>-oidc-<12-digit account>` must fit S3's 63 characters.
pub const MAX_NAME_LEN: usize = 63 - "-oidc-".len() - 12;
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;
/// ACM: a certificate's domain name (RFC 5280 Common Name) is at most 64 octets.
pub const MAX_DOMAIN_LEN: usize = 64;
/// AWS: at most 50 tags per resource (IAM, ACM, CloudFront, S3).
pub const MAX_TAGS_PER_RESOURCE: usize = 50;
const MAX_TAG_KEY_LEN: usize = 128;
const MAX_TAG_VALUE_LEN: usize = 256;
/// CloudFront's upper bound for any TTL: one year.
const MAX_TTL_SECONDS: i64 = 31_536_000;

/// Where the issuer is served from.
#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosting {
    #[tf(name = "cloudfront")]
    CloudFront,
    #[tf(name = "s3")]
    S3,
}

/// CloudFront's price classes.
#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceClass {
    #[tf(name = "PriceClass_100")]
    Class100,
    #[tf(name = "PriceClass_200")]
    Class200,
    #[tf(name = "PriceClass_All")]
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ttl {
    pub min: i64,
    pub default: i64,
    pub max: i64,
}

/// A public OIDC issuer for a cluster's service-account tokens, trusted by AWS IAM. With `hosting = "cloudfront"`:
/// a private S3 bucket read by CloudFront through Origin Access Control, an ACM certificate in us-east-1 validated
/// through Route53, A and AAAA alias records, the discovery document and JWKS, and the IAM OIDC provider. With
/// `hosting = "s3"`: the bucket's own HTTPS URL is the issuer and exactly the two documents are public (as kOps does).
///
/// Import with the `name`: `terraform import irsa_oidc_issuer.this <name>`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct IssuerModel {
    // Required
    /// Names the bucket (`<name>-oidc-<account id>`), the Origin Access Control (`<name>-irsa`) and the tag `irsa:name`.
    /// Lowercase letters, digits and hyphens, at most 45 characters. Changing it replaces the issuer.
    #[tf(required, replace, validate = issuer_name)]
    pub name: Tf<String>,
    /// The cluster's JWKS (e.g. `data.irsa_jwks.cluster.json`): non-empty, public keys only, unique `kid`s.
    /// Compared by meaning: whitespace and member order make no difference.
    #[tf(required, validate = jwks)]
    pub jwks: Tf<Json>,

    // Optional
    /// The `id` of an `irsa_issuer_host` to publish on, e.g. `irsa_issuer_host.platform.id`: the issuer is then
    /// `https://<host domain>/<path>`, takes seconds to make (no certificate, distribution or DNS record of its
    /// own), and shares the host's bucket and distribution. Not with `domain`, `route53_zone_id`, `hosting`,
    /// `price_class` or `cache_ttl` (the host's are used). Changing it replaces the issuer.
    #[tf(optional, replace, validate = host_name)]
    pub host: Tf<String>,
    /// With `host`: the issuer's path below the host, lowercase letters, digits and `-` in segments separated by
    /// `/` (no leading or trailing `/`, no `.` or `..`), at most 128 characters. Default: the `name`. Changing it
    /// replaces the issuer.
    #[tf(optional, computed, replace, keep, validate = issuer_path)]
    pub path: Tf<String>,
    /// `cloudfront` or `s3`; with `host`, the host's. Default: `"cloudfront"`. Changing it replaces the issuer.
    #[tf(optional, computed, replace, keep)]
    pub hosting: Tf<Hosting>,
    /// CloudFront hosting: the issuer's host name; the issuer is `https://<domain>`. Lowercase, no scheme, no
    /// trailing dot, at most 64 characters (ACM's limit for a certificate's domain name). Changing it replaces the issuer.
    #[tf(optional, replace, validate = domain)]
    pub domain: Tf<String>,
    /// CloudFront hosting: the public hosted zone that contains `domain`; the alias and certificate validation records go there.
    #[tf(optional, replace, validate = zone_id)]
    pub route53_zone_id: Tf<String>,
    /// Audiences the IAM OIDC provider accepts (`aud`), in every partition the audience the pod identity webhook puts
    /// in projected tokens unless its `--audience` says otherwise; set it when your tokens carry another (e.g.
    /// `sts.amazonaws.com.cn`). At most 100. Updated in place on the existing OIDC provider, and compared as a set:
    /// IAM listing them in another order is no change.
    #[tf(optional, computed, default = ["sts.amazonaws.com"], validate = all(client_ids))]
    pub client_ids: Tf<Vec<Tf<String>>>,
    /// Server certificate thumbprints: 40 lower-case hex characters each (as IAM stores them), at most 5, compared
    /// as a set. Default: none sent, and whatever IAM keeps is left alone (IAM verifies the issuer's certificate
    /// against its trusted CAs).
    #[tf(optional, computed, keep, validate = all(thumbprints))]
    pub thumbprints: Tf<Vec<Tf<String>>>,
    /// CloudFront hosting: `PriceClass_100`, `PriceClass_200` or `PriceClass_All`. Default: `"PriceClass_100"` with
    /// CloudFront hosting, null with S3 hosting.
    #[tf(optional, computed)]
    pub price_class: Tf<PriceClass>,
    /// CloudFront TTLs in seconds, `{ min, default, max }`. The documents' `Cache-Control` is
    /// `public, max-age=<default>`. Default: `{ min = 0, default = 3600, max = 86400 }`; with `host`, the host's when
    /// the issuer is made.
    #[tf(optional, computed, keep, validate = ttl)]
    pub cache_ttl: Tf<TtlModel>,
    /// How long a key removed from `jwks` stays published, so tokens it signed keep verifying (Go duration; `0s`
    /// removes at once). The key is recorded in `retained_keys`; the first apply after that removes it.
    #[tf(optional, computed, default = "24h")]
    pub key_retention: Tf<GoDuration>,
    /// Delete the bucket on destroy even when it holds objects this provider did not write.
    #[tf(optional, computed, default = false)]
    pub force_destroy: Tf<bool>,
    /// Wait until CloudFront has deployed changes.
    #[tf(optional, computed, default = true)]
    pub wait_for_deployment: Tf<bool>,
    /// Take over an IAM OIDC provider that already exists for the issuer's URL (same ARN, so roles that trust it
    /// keep working), e.g. one made by another Terraform module, instead of refusing. When false, a create that
    /// finds a provider for the URL that is not this issuer's fails before making anything, naming its ARN.
    /// Only read when the issuer is created; changing it later does nothing. An adopted provider gets this issuer's
    /// `client_ids`, `thumbprints` (when set) and `tags` (its other tags are removed), and from then on it is this
    /// issuer's own: destroying or replacing the issuer deletes it. To keep it, `terraform state rm` the issuer
    /// instead of destroying it. Default: `false`.
    #[tf(optional, computed, keep)]
    pub adopt_existing_oidc_provider: Tf<bool>,
    /// Tags for every AWS object made. Keys starting with `irsa:` are reserved for the provider's own tags, and
    /// `aws:` for AWS's. AWS's tag rules are checked when planning: keys of 1 to 128 characters, values of at most
    /// 256, only letters, numbers, spaces and `_ . : / = + - @`, and at most 50 per resource less the provider's
    /// own tags on the bucket (47 with CloudFront hosting, 48 with S3 hosting; 48 on a host: the IAM OIDC provider carries
    /// `irsa:name` and `irsa:host`).
    #[tf(optional)]
    pub tags: Tf<BTreeMap<String, Tf<String>>>,

    // Computed
    /// The `name`.
    #[tf(computed, keep)]
    pub id: Tf<String>,
    /// `https://...`, no trailing slash: the value for `--service-account-issuer`.
    #[tf(computed, keep)]
    pub issuer_url: Tf<String>,
    /// The issuer without `https://`: the prefix of trust-policy condition keys.
    #[tf(computed, keep)]
    pub oidc_provider_url: Tf<String>,
    /// ARN of the IAM OIDC provider.
    #[tf(computed, keep)]
    pub oidc_provider_arn: Tf<String>,
    /// `<issuer_url>/openid/v1/jwks`: the value for `--service-account-jwks-uri`.
    #[tf(computed, keep)]
    pub jwks_uri: Tf<String>,
    /// The S3 bucket.
    #[tf(computed, keep)]
    pub bucket: Tf<String>,
    /// The bucket's region.
    #[tf(computed, keep)]
    pub region: Tf<String>,
    /// CloudFront distribution ID.
    #[tf(computed, keep)]
    pub distribution_id: Tf<String>,
    /// CloudFront distribution domain (`dxxxx.cloudfront.net`).
    #[tf(computed, keep)]
    pub distribution_domain_name: Tf<String>,
    /// ACM certificate (us-east-1).
    #[tf(computed, keep)]
    pub certificate_arn: Tf<String>,
    /// CloudFront Origin Access Control ID.
    #[tf(computed, keep)]
    pub origin_access_control_id: Tf<String>,
    /// The JSON published at `/.well-known/openid-configuration`.
    #[tf(computed)]
    pub discovery_document: Tf<String>,
    /// The JWKS published: the keys of `jwks` plus retained ones.
    #[tf(computed)]
    pub published_jwks: Tf<String>,
    /// Key IDs published.
    #[tf(computed)]
    pub published_kids: Tf<Vec<String>>,
    /// Keys removed from `jwks` but still published: when they left and when they go (`removed_at` + `key_retention`, RFC 3339).
    #[tf(computed)]
    pub retained_keys: Tf<Vec<RetainedKeyModel>>,
    /// The two published objects as `key => "sha256:<digest> <content type> <cache control>"`; drift shows here.
    #[tf(computed)]
    pub documents: Tf<BTreeMap<String, String>>,
    /// The Route53 records this issuer owns (`"<type> <name>" => value`); drift shows here.
    #[tf(computed)]
    pub dns_records: Tf<BTreeMap<String, String>>,
    /// The CloudFront settings this issuer governs; drift shows here.
    #[tf(computed)]
    pub distribution_settings: Tf<BTreeMap<String, String>>,
    /// The bucket settings this issuer governs (access block, encryption, versioning, policy digest); drift shows here.
    #[tf(computed)]
    pub bucket_settings: Tf<BTreeMap<String, String>>,

    /// How long each operation may take, as Go durations such as `45m`, `1h30m` or `1.5h`. ACM validation and
    /// CloudFront deployment dominate a create; a distribution must be disabled and deployed before it can be deleted.
    #[tf(timeouts(create = "60m", update = "60m", delete = "60m"))]
    pub timeouts: Tf<Timeouts>,
}

/// `{ min, default, max }` in seconds.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TtlModel {
    /// Minimum TTL.
    pub min: Tf<i64>,
    /// Default TTL, also the documents' `max-age`.
    pub default: Tf<i64>,
    /// Maximum TTL.
    pub max: Tf<i64>,
}

impl From<Ttl> for TtlModel {
    fn from(t: Ttl) -> TtlModel {
        TtlModel {
            min: Tf::Known(t.min),
            default: Tf::Known(t.default),
            max: Tf::Known(t.max),
        }
    }
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RetainedKeyModel {
    /// The key's ID.
    pub kid: Tf<String>,
    /// When an apply removed it from `jwks` (RFC 3339); unknown in the plan
    /// of that apply.
    pub removed_at: Tf<String>,
    /// `removed_at` + `key_retention`: the first apply after it unpublishes the key.
    pub expires_at: Tf<String>,
}

pub fn schema() -> tfplugin::Schema {
    IssuerModel::schema(0)
}

super::site::site_model!(IssuerModel);

impl IssuerModel {
    /// The hosting a state or plan names.
    pub fn hosting_mode(&self) -> Hosting {
        self.hosting.known().copied().unwrap_or(Hosting::CloudFront)
    }

    /// A configuration read from state (GenerateResourceConfig) cut to what a
    /// user writes, besides what the framework leaves out (computed-only
    /// values, defaults): the price class CloudFront hosting plans by
    /// default, and thumbprints when IAM holds none (the plan keeps what IAM
    /// holds when the argument is left out). On a host, the site's settings
    /// are the host's, which the issuer may not set.
    pub fn into_generated_config(mut self) -> IssuerModel {
        if self.host.is_known() {
            self.hosting = Tf::Null;
            self.domain = Tf::Null;
            self.route53_zone_id = Tf::Null;
            self.price_class = Tf::Null;
            self.cache_ttl = Tf::Null;
        } else if self.hosting_mode() == Hosting::CloudFront
            && self.price_class.known() == Some(&DEFAULT_PRICE_CLASS)
        {
            self.price_class = Tf::Null;
        }
        if self.thumbprints.known().is_some_and(Vec::is_empty) {
            self.thumbprints = Tf::Null;
        }
        self
    }
}

/// Where documents are served from: a bucket and, with CloudFront, the
/// domain, certificate, distribution and records. A standalone issuer has
/// its own; an `irsa_issuer_host` is one that many issuers share.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// Names the bucket (`<name>-oidc-<account>`), the OAC and the `irsa:name` tag.
    pub name: String,
    pub hosting: Hosting,
    pub domain: Option<String>,
    pub route53_zone_id: Option<String>,
    pub price_class: Option<PriceClass>,
    pub cache_ttl: Ttl,
    pub force_destroy: bool,
    pub wait_for_deployment: bool,
    pub tags: BTreeMap<String, String>,
    /// A host shared by issuers: its distribution does not cache errors
    /// (an issuer's path asked for before it existed), and its S3 policy
    /// makes every issuer's two documents public.
    pub shared: bool,
}

/// A plan's or state's values (defaults applied) in plain types.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The issuer's name (`irsa:name` of its IAM OIDC provider).
    pub name: String,
    /// Its own site, or its host's.
    pub site: Site,
    /// The path below the host (`None`: a standalone issuer at the root).
    pub path: Option<String>,
    pub jwks: Jwks,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub key_retention: Duration,
    pub adopt_existing_oidc_provider: bool,
    pub tags: BTreeMap<String, String>,
}

// ---------------------------------------------------------------------------
// Rules of one attribute (declared on the fields above)
// ---------------------------------------------------------------------------

fn host_name(name: &String) -> Result<(), Invalid> {
    check_name(name).map_err(|why| {
        Invalid::new(
            "Invalid host",
            format!("`host` is an irsa_issuer_host's id (its name): {why}"),
        )
    })
}

/// At most this long (the issue of path issuers: an IAM OIDC provider URL
/// is at most 255 characters, and the host's domain takes its share).
pub const MAX_PATH_LEN: usize = 128;

/// `seg[/seg...]`, each segment a lowercase DNS-label-like word.
pub fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.len() > MAX_PATH_LEN {
        return Err(format!(
            "{path:?} is {} characters; a path has 1 to {MAX_PATH_LEN}.",
            path.len()
        ));
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err(format!(
            "{path:?}: no leading or trailing `/` (the issuer is https://<host>/<path>)."
        ));
    }
    for segment in path.split('/') {
        if segment == "." || segment == ".." {
            return Err(format!("{path:?}: `.` and `..` are not path segments."));
        }
        dns::check_label(segment)
            .map_err(|why| format!("{path:?}: the segment {segment:?}: {why}"))?;
    }
    Ok(())
}

fn issuer_path(path: &String) -> Result<(), Invalid> {
    check_path(path).map_err(|why| Invalid::new("Invalid path", why))
}

pub(crate) fn issuer_name(name: &String) -> Result<(), Invalid> {
    check_name(name).map_err(|why| Invalid::new("Invalid name", why))
}

fn jwks(j: &Json) -> Result<(), Invalid> {
    oidc::parse_jwks(j.as_str())
        .map(|_| ())
        .map_err(|e| Invalid::new("Invalid JWKS", e.to_string()))
}

pub(crate) fn domain(d: &String) -> Result<(), Invalid> {
    check_domain(d).map_err(|why| Invalid::new("Invalid domain", why))
}

/// Route53 IDs are upper-case alphanumerics; whether the zone exists is
/// checked against Route53 when planning.
pub(crate) fn zone_id(zone: &String) -> Result<(), Invalid> {
    let ok = !zone.is_empty()
        && zone.len() <= 32
        && zone
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "Invalid hosted zone ID",
            format!("{zone:?} is not a Route53 hosted zone ID such as \"Z0123456789ABCDEFGHIJ\" (without the /hostedzone/ prefix)."),
        ))
    }
}

pub(crate) fn ttl(t: &TtlModel) -> Result<(), Invalid> {
    match (t.min.known(), t.default.known(), t.max.known()) {
        (Some(&min), Some(&def), Some(&max)) => {
            if min < 0 || !(min <= def && def <= max) || max > MAX_TTL_SECONDS {
                return Err(Invalid::new(
                    "Invalid cache TTLs",
                    format!("Need 0 <= min <= default <= max <= {MAX_TTL_SECONDS} seconds; got min = {min}, default = {def}, max = {max}."),
                ));
            }
            Ok(())
        }
        _ if [&t.min, &t.default, &t.max].iter().any(|t| t.is_null()) => Err(Invalid::new(
            "Invalid cache TTLs",
            "`min`, `default` and `max` must be whole numbers of seconds.",
        )),
        _ => Ok(()),
    }
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
    if domain.len() > MAX_DOMAIN_LEN {
        return Err(format!(
            "{domain:?} is {} characters; ACM allows at most {MAX_DOMAIN_LEN} for a certificate's domain name (RFC 5280), including dots.",
            domain.len()
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| dns::check_label(l).is_ok()) {
        return Err(format!("{domain:?} is not a DNS name such as \"oidc.example.com\" (letters, digits and hyphens; no path, port or wildcard)."));
    }
    Ok(())
}

/// How many `irsa:*` tags the bucket carries besides the user's:
/// `irsa:name`, `irsa:hosting`, and with a zone `irsa:route53-zone-id`.
/// Unknown hosting counts as CloudFront (the stricter).
pub fn own_bucket_tags(hosting: Option<Hosting>, zone: bool) -> usize {
    super::parts::bucket::own_tags(hosting, zone, false)
}

/// The characters IAM, ACM and CloudFront allow in tag keys and values.
fn tag_chars_ok(s: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("tag pattern")
    });
    RE.is_match(s)
}

/// AWS tag rules (IAM, ACM, CloudFront and S3 agree): key 1 to 128
/// characters, value up to 256, letters, numbers, spaces and `_.:/=+-@`,
/// no `aws:` prefix; at most 50 per resource, of which `own` are ours.
pub(crate) fn check_tags(tags: &BTreeMap<String, Tf<String>>, own: usize, d: &mut Diagnostics) {
    let at = || AttrPath::root("tags");
    let limit = MAX_TAGS_PER_RESOURCE - own;
    if tags.len() > limit {
        d.error_at(
            at(),
            "Too many tags",
            format!(
                "AWS allows {MAX_TAGS_PER_RESOURCE} tags per resource and the bucket carries {own} of the provider's own (irsa:*), so at most {limit}; got {}.",
                tags.len()
            ),
        );
    }
    for (key, value) in tags {
        if key.starts_with("irsa:") {
            d.error_at(
                at().key(key),
                "Reserved tag key",
                format!("{key:?}: tag keys starting with \"irsa:\" are the provider's own (e.g. irsa:name)."),
            );
            continue;
        }
        let mut bad = |why: String| d.error_at(at().key(key), "Invalid tag", why);
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_TAG_KEY_LEN {
            bad(format!(
                "The key {key:?} is {chars} characters; AWS allows 1 to {MAX_TAG_KEY_LEN}."
            ));
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            bad(format!(
                "{key:?}: AWS reserves tag keys starting with \"aws:\"."
            ));
        } else if !tag_chars_ok(key) {
            bad(format!("The key {key:?} has a character AWS does not allow in tags: use letters, numbers, spaces and _ . : / = + - @."));
        }
        match value {
            Tf::Null => bad(format!("The value of tag {key:?} must not be null.")),
            Tf::Unknown(_) => {}
            Tf::Known(v) => {
                let n = v.chars().count();
                if n > MAX_TAG_VALUE_LEN {
                    bad(format!(
                        "The value of tag {key:?} is {n} characters; AWS allows at most {MAX_TAG_VALUE_LEN}."
                    ));
                } else if !tag_chars_ok(v) {
                    bad(format!("The value of tag {key:?} has a character AWS does not allow in tags: use letters, numbers, spaces and _ . : / = + - @."));
                }
            }
        }
    }
}

fn client_ids(items: &Vec<Tf<String>>) -> Vec<Invalid> {
    if items.is_empty() {
        return vec![Invalid::new(
            "No client IDs",
            "The IAM OIDC provider needs at least one audience, usually \"sts.amazonaws.com\".",
        )];
    }
    let mut out = Vec::new();
    if items.len() > MAX_CLIENT_IDS {
        out.push(Invalid::new(
            "Too many client IDs",
            format!("IAM allows at most {MAX_CLIENT_IDS}; got {}.", items.len()),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let problem = match item {
            Tf::Unknown(_) => continue,
            Tf::Null => Invalid::new("Invalid client ID", "A client ID must not be null."),
            Tf::Known(s) if s.is_empty() || s.len() > 255 => Invalid::new(
                "Invalid client ID",
                "A client ID must be 1 to 255 characters.",
            ),
            Tf::Known(s) if !seen.insert(s) => {
                Invalid::new("Duplicate client ID", format!("{s:?} is listed twice."))
            }
            Tf::Known(_) => continue,
        };
        out.push(problem.at_index(i));
    }
    out
}

fn thumbprints(items: &Vec<Tf<String>>) -> Vec<Invalid> {
    let mut out = Vec::new();
    if items.len() > MAX_THUMBPRINTS {
        out.push(Invalid::new(
            "Too many thumbprints",
            format!("IAM allows at most {MAX_THUMBPRINTS}; got {}.", items.len()),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let hex = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let problem = match item {
            Tf::Unknown(_) => continue,
            Tf::Null => Invalid::new("Invalid thumbprint", "A thumbprint must not be null."),
            Tf::Known(s) if hex(s) && *s != s.to_ascii_lowercase() => Invalid::new(
                "Invalid thumbprint",
                format!(
                    "{s:?}: write it in lower case ({:?}): IAM stores thumbprints in lower case, so upper case would show a change on every plan.",
                    s.to_ascii_lowercase()
                ),
            ),
            Tf::Known(s) if !hex(s) => Invalid::new(
                "Invalid thumbprint",
                format!("{s:?}: a thumbprint is the SHA-1 of a certificate as 40 hexadecimal characters."),
            ),
            Tf::Known(_) => continue,
        };
        out.push(problem.at_index(i));
    }
    out
}

// ---------------------------------------------------------------------------
// Rules that span several attributes
// ---------------------------------------------------------------------------

/// Static checks across attributes; unknown values are skipped (they are
/// checked when known). Each attribute's own rules are on the field.
pub fn validate(config: &IssuerModel) -> Diagnostics {
    let mut d = Diagnostics::default();
    let at = AttrPath::root;
    match &config.host {
        Tf::Known(_) => {
            check_on_host(config, &mut d);
            return d;
        }
        // On a host or not: decided once known.
        Tf::Unknown(_) => return d,
        Tf::Null => {}
    }
    if config.path.is_known() {
        d.error_at(at("path"), "Path without a host", "`path` places the issuer below an `irsa_issuer_host`: set `host` too, or remove `path`.");
    }
    d.extend(check_site(&config.site_state(), false));
    d
}

/// A site's rules across attributes (an issuer's own, or a host): what
/// its hosting needs and refuses, and its tags (the bucket carries the
/// most tags of our own, see `bucket::tags`).
pub(crate) fn check_site(site: &SiteState, shared: bool) -> Diagnostics {
    let mut d = Diagnostics::default();
    let at = AttrPath::root;
    let hosting = match &site.hosting {
        Tf::Null => Some(Hosting::CloudFront),
        other => other.known().copied(),
    };
    match hosting {
        Some(Hosting::CloudFront) => {
            if site.domain.is_null() {
                d.error_at(
                    at("domain"),
                    "Missing domain",
                    "CloudFront hosting serves at https://<domain>: set `domain`.",
                );
            }
            if site.route53_zone_id.is_null() {
                d.error_at(
                    at("route53_zone_id"),
                    "Missing hosted zone",
                    "CloudFront hosting needs the public Route53 zone that contains `domain` (for the alias and certificate validation records).",
                );
            }
        }
        Some(Hosting::S3) => {
            for (attr, set) in [
                ("domain", site.domain.is_known()),
                ("route53_zone_id", site.route53_zone_id.is_known()),
                ("price_class", site.price_class.is_known()),
            ] {
                if set {
                    d.error_at(
                        at(attr),
                        "Not used with S3 hosting",
                        format!("`{attr}` applies to CloudFront hosting only; with hosting = \"s3\" the URL is the bucket's own HTTPS URL. Remove it."),
                    );
                }
            }
        }
        None => {}
    }
    if let Some(tags) = site.tags.known() {
        let own = super::parts::bucket::own_tags(hosting, !site.route53_zone_id.is_null(), shared);
        check_tags(tags, own, &mut d);
    }
    d
}

/// An issuer on a host takes the host's site settings; only its own tags
/// are checked (its IAM OIDC provider carries `irsa:name` and `irsa:host`).
fn check_on_host(config: &IssuerModel, d: &mut Diagnostics) {
    let set = |v: bool, attr: &str, d: &mut Diagnostics| {
        if v {
            d.error_at(
                AttrPath::root(attr),
                "Conflicts with host",
                format!("`{attr}` is the host's on an issuer with `host`; set it on the irsa_issuer_host, or remove `host`."),
            );
        }
    };
    // Unknown values are checked once known.
    set(config.domain.is_known(), "domain", d);
    set(config.route53_zone_id.is_known(), "route53_zone_id", d);
    set(config.hosting.is_known(), "hosting", d);
    set(config.price_class.is_known(), "price_class", d);
    set(config.cache_ttl.is_known(), "cache_ttl", d);
    if let Some(tags) = config.tags.known() {
        check_tags(tags, 2, d);
    }
}

/// CloudFront hosting needs ACM certificates in us-east-1 and CloudFront's
/// alias zone: both only in the `aws` partition (CloudFront in China takes
/// no ACM certificates; GovCloud and the ISO partitions have no CloudFront).
pub fn check_hosting_partition(hosting: Hosting, partition: Partition) -> Result<(), String> {
    if hosting == Hosting::CloudFront && partition != Partition::Aws {
        return Err(format!(
            "CloudFront hosting is not available in the {partition} partition (it needs CloudFront with an ACM certificate from us-east-1). \
             Use hosting = \"s3\" there: the issuer is then the bucket's own HTTPS URL (remove `domain` and `route53_zone_id`)."
        ));
    }
    Ok(())
}

impl Site {
    /// The site the attributes `s` describe (defaults in place).
    pub(crate) fn of(name: &str, s: &SiteState, shared: bool) -> Site {
        let hosting = s.hosting_mode();
        let flag = |v: &Tf<bool>| v.known() == Some(&true);
        Site {
            name: name.to_string(),
            hosting,
            domain: s.domain.known().cloned(),
            route53_zone_id: s.route53_zone_id.known().cloned(),
            price_class: s
                .price_class
                .known()
                .copied()
                .filter(|_| hosting == Hosting::CloudFront),
            cache_ttl: ttl_of(&s.cache_ttl),
            force_destroy: flag(&s.force_destroy),
            wait_for_deployment: flag(&s.wait_for_deployment),
            tags: s.tags.known_entries().unwrap_or_default(),
            shared,
        }
    }
}

/// The TTLs an attribute holds, else the defaults.
fn ttl_of(t: &Tf<TtlModel>) -> Ttl {
    match t.known() {
        Some(TtlModel {
            min: Tf::Known(min),
            default: Tf::Known(default),
            max: Tf::Known(max),
        }) => Ttl {
            min: *min,
            default: *default,
            max: *max,
        },
        _ => DEFAULT_TTL,
    }
}

impl Config {
    /// The values of a plan or state: every argument known, defaults in place.
    pub fn from_model(m: &IssuerModel) -> Result<Config, Diagnostics> {
        let jwks = oidc::parse_jwks(m.jwks.known().map(Json::as_str).unwrap_or_default()).map_err(
            |e| Diagnostic::error("Invalid JWKS", e.to_string()).at(AttrPath::root("jwks")),
        )?;
        let flag = |v: &Tf<bool>| v.known() == Some(&true);
        let name = m.name.as_deref().unwrap_or_default().to_string();
        let tags = m.tags.known_entries().unwrap_or_default();
        let site_name = m.host.known().cloned().unwrap_or_else(|| name.clone());
        let site = Site::of(&site_name, &m.site_state(), m.host.is_known());
        Ok(Config {
            name,
            site,
            path: m.path.known().cloned().filter(|_| m.host.is_known()),
            jwks,
            client_ids: m.client_ids.known_items().unwrap_or_default(),
            thumbprints: m.thumbprints.known_items().unwrap_or_default(),
            key_retention: m
                .key_retention
                .known()
                .map(GoDuration::duration)
                .unwrap_or_default(),
            adopt_existing_oidc_provider: flag(&m.adopt_existing_oidc_provider),
            tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{TfType, Type, Value};

    /// Every problem of a configuration, as validate and plan report them.
    fn validate(v: &Value) -> Diagnostics {
        match IssuerModel::decode(v) {
            Err(d) => d,
            Ok(m) => {
                let mut d = m.validate_fields();
                d.extend(super::validate(&m));
                d
            }
        }
    }

    /// A configuration's values as a plan holds them: defaults applied.
    fn planned(v: &Value) -> Config {
        let config = IssuerModel::decode(v).unwrap();
        let mut m = config.clone();
        m.apply_defaults(&config);
        Config::from_model(&m).unwrap()
    }

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
        let c = planned(&base(vec![]));
        assert_eq!(c.site.hosting, Hosting::CloudFront);
        assert_eq!(c.client_ids, vec!["sts.amazonaws.com"]);
        assert_eq!(c.site.cache_ttl, DEFAULT_TTL);
        assert_eq!(c.key_retention, Duration::from_secs(86400));
        assert!(c.site.wait_for_deployment && !c.site.force_destroy);
        // The schema says what the plan applies.
        let b = IssuerModel::block();
        let desc = |a: &str| b.find_attribute(a).unwrap().description.clone();
        assert!(
            desc("key_retention").ends_with("Default: `\"24h\"`."),
            "{}",
            desc("key_retention")
        );
        assert!(desc("client_ids").ends_with("Default: `[\"sts.amazonaws.com\"]`."));
        assert!(
            desc("cache_ttl").contains("Default: `{ min = 0, default = 3600, max = 86400 }`"),
            "{}",
            desc("cache_ttl")
        );
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
                "domain",
                Value::string(format!("{}.example.com", "a".repeat(53))),
                "domain",
            ),
            (
                "domain",
                Value::string(format!("{}.example.com", "a".repeat(52))),
                "",
            ),
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
                "thumbprints",
                Value::string_list(["ABCDEF0123".repeat(4)]),
                "thumbprints[0]",
            ),
            (
                "thumbprints",
                Value::string_list(["abcdef0123".repeat(4)]),
                "",
            ),
            (
                "price_class",
                Value::string("PriceClass_300"),
                "price_class",
            ),
            ("cache_ttl", TtlModel::from(DEFAULT_TTL).to_value(), ""),
            ("key_retention", Value::string("1 day"), "key_retention"),
            ("hosting", Value::string("ftp"), "hosting"),
            (
                "tags",
                Value::Map([("irsa:name".to_string(), Value::string("x"))].into()),
                "tags[\"irsa:name\"]",
            ),
        ];
        let tag = |k: &str, v: &str| Value::Map([(k.to_string(), Value::string(v))].into());
        let tag_cases: Vec<(&str, Value, &str)> = vec![
            ("tags", tag("aws:team", "x"), "tags[\"aws:team\"]"),
            ("tags", tag("AWS:team", "x"), "tags[\"AWS:team\"]"),
            ("tags", tag("team#1", "x"), "tags[\"team#1\"]"),
            ("tags", tag("team", "a;b"), "tags[\"team\"]"),
            ("tags", tag("team", "line\nbreak"), "tags[\"team\"]"),
            ("tags", tag("", "x"), "tags[\"\"]"),
            (
                "tags",
                tag(&"k".repeat(129), "x"),
                Box::leak(format!("tags[\"{}\"]", "k".repeat(129)).into_boxed_str()),
            ),
            ("tags", tag("team", &"v".repeat(257)), "tags[\"team\"]"),
            // Letters, spaces and numbers of any script, and _.:/=+-@.
            ("tags", tag("Équipe Ω_.:/=+-@", "café ٣ 1/2 = x+y @z"), ""),
            ("tags", tag(&"k".repeat(128), &"v".repeat(256)), ""),
            ("tags", tag("team", ""), ""),
        ];
        let cases = cases.into_iter().chain(tag_cases);
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
    fn tag_count_leaves_room_for_our_own_on_the_bucket() {
        let tags = |n: usize| {
            Value::Map(
                (0..n)
                    .map(|i| (format!("t{i}"), Value::string("v")))
                    .collect(),
            )
        };
        // CloudFront with a zone: irsa:name, irsa:hosting, irsa:route53-zone-id.
        assert!(validate(&base(vec![("tags", tags(47))])).is_empty());
        assert_eq!(
            paths(&validate(&base(vec![("tags", tags(48))]))),
            vec!["tags"]
        );
        // S3: irsa:name and irsa:hosting.
        let s3 = |n| {
            base(vec![
                ("hosting", Value::string("s3")),
                ("domain", Value::Null),
                ("route53_zone_id", Value::Null),
                ("tags", tags(n)),
            ])
        };
        assert!(validate(&s3(48)).is_empty());
        assert_eq!(paths(&validate(&s3(49))), vec!["tags"]);
    }

    #[test]
    fn cloudfront_hosting_only_in_the_aws_partition() {
        assert!(check_hosting_partition(Hosting::CloudFront, Partition::Aws).is_ok());
        assert!(check_hosting_partition(Hosting::S3, Partition::AwsCn).is_ok());
        assert!(check_hosting_partition(Hosting::S3, Partition::AwsUsGov).is_ok());
        for p in [Partition::AwsCn, Partition::AwsUsGov] {
            let why = check_hosting_partition(Hosting::CloudFront, p).unwrap_err();
            assert!(
                why.contains(p.as_str()) && why.contains("hosting = \"s3\""),
                "{why}"
            );
        }
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
    fn an_issuer_on_a_host_takes_the_host_s_site_and_a_path() {
        let on_host = |extra: Vec<(&str, Value)>| {
            let mut attrs = vec![
                ("host", Value::string("platform")),
                ("domain", Value::Null),
                ("route53_zone_id", Value::Null),
            ];
            attrs.extend(extra);
            validate(&base(attrs))
        };
        assert!(on_host(vec![]).is_empty(), "{:?}", on_host(vec![]));
        for attr in ["domain", "route53_zone_id"] {
            let d = on_host(vec![(
                attr,
                Value::string(if attr == "domain" {
                    "oidc.example.com"
                } else {
                    "Z0123"
                }),
            )]);
            assert_eq!(paths(&d), vec![attr.to_string()], "{d:?}");
        }
        let d = on_host(vec![
            ("hosting", Value::string("s3")),
            ("price_class", Value::string("PriceClass_All")),
        ]);
        assert_eq!(paths(&d), vec!["hosting", "price_class"]);
        let longest = format!("{}/{}/c", "a".repeat(63), "b".repeat(62));
        assert_eq!(longest.len(), MAX_PATH_LEN);
        for good in ["prod-a", "eu/prod-a", "a/b/c-1", &longest] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "a/./b",
            "..",
            "A",
            "a.b",
            "a_b",
            "-a",
            &"a".repeat(MAX_PATH_LEN + 1),
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} must be refused");
            let d = on_host(vec![("path", Value::string(bad))]);
            assert_eq!(paths(&d), vec!["path"], "{bad:?}: {d:?}");
        }
        let d = validate(&base(vec![("path", Value::string("a"))]));
        assert_eq!(paths(&d), vec!["path"], "a path needs a host");
        let cfg = planned(&base(vec![
            ("host", Value::string("platform")),
            ("domain", Value::Null),
            ("route53_zone_id", Value::Null),
            ("path", Value::string("eu/prod")),
        ]));
        assert!(cfg.site.shared && cfg.site.name == "platform");
        assert_eq!(cfg.path.as_deref(), Some("eu/prod"));
        let tags = desired_issuer_tags(&cfg);
        assert_eq!(tags.get("irsa:host").map(String::as_str), Some("platform"));
        assert_eq!(tags.get("irsa:name").map(String::as_str), Some("prod"));
    }

    fn desired_issuer_tags(cfg: &Config) -> BTreeMap<String, String> {
        super::super::desired::issuer_tags(cfg)
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
    fn every_duration_attribute_takes_go_durations() {
        for ok in ["1.5h", "1h30m", "90s", "300ms", "0s"] {
            let d = validate(&base(vec![("key_retention", Value::string(ok))]));
            assert!(d.is_empty(), "{ok}: {d:?}");
            let timeouts = Value::object([
                ("create", Value::string(ok)),
                ("update", Value::string(ok)),
                ("delete", Value::string(ok)),
            ]);
            let d = validate(&base(vec![("timeouts", timeouts)]));
            assert!(d.is_empty(), "{ok}: {d:?}");
        }
        for bad in ["90x", "-1h", "1d", "1 day"] {
            let d = validate(&base(vec![("key_retention", Value::string(bad))]));
            assert_eq!(paths(&d), ["key_retention"], "{bad}");
            assert_eq!(d.0[0].summary, "Invalid duration");
            let timeouts = Value::object([
                ("create", Value::string(bad)),
                ("update", Value::Null),
                ("delete", Value::Null),
            ]);
            let d = validate(&base(vec![("timeouts", timeouts)]));
            assert_eq!(paths(&d), ["timeouts.create"], "{bad}");
        }
    }

    #[test]
    fn partly_unknown_collections_wait_and_round_trip() {
        // `terraform validate` sends variables as unknown: elements of a
        // list or map may be unknown while the collection is known.
        let v = base(vec![
            (
                "client_ids",
                Value::List(vec![Value::string("sts.amazonaws.com"), Value::unknown()]),
            ),
            (
                "tags",
                Value::Map([("team".to_string(), Value::unknown())].into()),
            ),
            ("thumbprints", Value::List(vec![Value::unknown()])),
        ]);
        assert!(validate(&v).is_empty(), "{:?}", validate(&v));
        let m = IssuerModel::decode(&v).unwrap();
        assert_eq!(m.client_ids.known_items(), None);
        assert_eq!(m.to_value(), v, "a plan keeps what is known of them");
        let d = validate(&base(vec![(
            "client_ids",
            Value::List(vec![Value::string("a"), Value::Null]),
        )]));
        assert_eq!(paths(&d), vec!["client_ids[1]"]);
    }

    #[test]
    fn unknown_values_wait() {
        let d = validate(&base(vec![
            ("jwks", Value::unknown()),
            ("name", Value::unknown()),
            ("client_ids", Value::unknown()),
        ]));
        assert!(d.is_empty(), "{d:?}");
        // A module's `host = var.host` with `domain = var.host == null ? ... : null`:
        // nothing is decided while the host is unknown, nor is an unknown
        // domain a conflict once it is known.
        let d = validate(&base(vec![
            ("host", Value::unknown()),
            ("domain", Value::unknown()),
        ]));
        assert!(d.is_empty(), "{d:?}");
        let d = validate(&base(vec![
            ("host", Value::string("platform")),
            ("domain", Value::unknown()),
            ("route53_zone_id", Value::unknown()),
        ]));
        assert!(d.is_empty(), "{d:?}");
        let d = validate(&base(vec![
            ("hosting", Value::string("s3")),
            ("domain", Value::unknown()),
            ("route53_zone_id", Value::Null),
        ]));
        assert!(d.is_empty(), "{d:?}");
    }

    /// A standalone CloudFront issuer as its state holds it.
    fn standalone_state() -> IssuerModel {
        let mut m = IssuerModel::decode(&base(vec![])).unwrap();
        m.hosting = Tf::Known(Hosting::CloudFront);
        m.price_class = Tf::Known(DEFAULT_PRICE_CLASS);
        m.cache_ttl = Tf::Known(TtlModel::from(Ttl {
            min: 0,
            default: 300,
            max: 3600,
        }));
        m.thumbprints = Tf::Known(vec![]);
        m
    }

    #[test]
    fn generated_config_of_an_issuer_on_a_host_names_the_host_and_path_only() {
        let mut state = standalone_state();
        state.host = Tf::Known("platform".into());
        state.path = Tf::Known("eu/prod-b".into());
        state.domain = Tf::Known("oidc.platform.example.com".into());
        state.route53_zone_id = Tf::Known("Z0123456789ABC".into());
        state.price_class = Tf::Known(PriceClass::All);
        let config = state.clone().into_generated_config();
        // The site is the host's: none of its settings may be configured
        // on the issuer (plan refuses them beside `host`).
        assert_eq!(config.hosting, Tf::Null);
        assert_eq!(config.domain, Tf::Null);
        assert_eq!(config.route53_zone_id, Tf::Null);
        assert_eq!(config.price_class, Tf::Null);
        assert_eq!(config.cache_ttl, Tf::Null);
        assert_eq!(config.thumbprints, Tf::Null);
        assert_eq!(config.host, state.host);
        assert_eq!(config.path, state.path);
        assert_eq!(config.name, state.name);
        assert_eq!(config.jwks, state.jwks);
        assert!(validate(&config.to_value()).is_empty(), "{config:?}");
    }

    #[test]
    fn generated_config_of_a_standalone_issuer_leaves_out_only_defaults() {
        let state = standalone_state();
        let config = state.clone().into_generated_config();
        assert_eq!(config.price_class, Tf::Null, "the default price class");
        assert_eq!(config.thumbprints, Tf::Null, "no thumbprints in IAM");
        assert_eq!(config.domain, state.domain);
        assert_eq!(config.route53_zone_id, state.route53_zone_id);
        assert_eq!(config.cache_ttl, state.cache_ttl);

        let mut other = standalone_state();
        other.price_class = Tf::Known(PriceClass::Class200);
        let thumbprint = Tf::Known("9e99a48a9960b14926bb7f3b02e22da2b0ab7280".to_string());
        other.thumbprints = Tf::Known(vec![thumbprint]);
        let config = other.clone().into_generated_config();
        assert_eq!(config.price_class, other.price_class);
        assert_eq!(config.thumbprints, other.thumbprints);

        let mut s3 = standalone_state();
        s3.hosting = Tf::Known(Hosting::S3);
        s3.domain = Tf::Null;
        s3.route53_zone_id = Tf::Null;
        s3.price_class = Tf::Null;
        assert_eq!(s3.clone().into_generated_config().hosting, s3.hosting);
    }
}
