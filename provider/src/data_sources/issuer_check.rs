//! Data source `irsa_issuer_check`: a preflight that checks what AWS STS
//! will check when a pod calls `AssumeRoleWithWebIdentity`, from the
//! outside, over real HTTPS:
//!
//! 1. `<issuer>/.well-known/openid-configuration`: reachable, answered
//!    within the 5 s STS allows, JSON, `issuer` byte-equal to `issuer_url`,
//!    `jwks_uri` on https, `id_token_signing_alg_values_supported` equal to
//!    the algorithms of the published keys;
//! 2. `jwks_uri`: the same for the key set; public keys only, unique kids,
//!    at most 100 RSA and 100 EC keys, every key of a type STS accepts
//!    (RS256/384/512, ES256/384/512); with `expected_jwks`, every expected
//!    key published with the same key material;
//! 3. with `service_account`: a real token minted through the provider's
//!    Kubernetes settings (TokenRequest, audience = the first client ID),
//!    verified against the *published* key set as STS does;
//! 4. the SHA-1 thumbprint of the top certificate the JWKS host sends.
//!
//! The token never appears in any output, log or message.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret as _;
use serde_json::Value as J;

use crate::http::{sha1_thumbprint, FetchError, HttpsClient, Response};
use crate::oidc::{self, Jwks, TokenError, VerifyOptions};
use crate::policy::trust::ServiceAccount;
use crate::provider::ProviderState;
use tfplugin::{AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, Json, Model, Tf};

pub const TYPE_NAME: &str = "irsa_issuer_check";
/// How long STS waits for each document.
pub const STS_FETCH_LIMIT: Duration = Duration::from_secs(5);
/// How long we wait, so that a slow origin is measured, not just cut off.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The algorithms STS accepts for web identity tokens (since 2024-11-20).
pub const STS_ALGORITHMS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];
/// STS's limit per key type.
pub const MAX_KEYS_PER_TYPE: usize = 100;
/// Lifetime of the token minted for the check: the API's minimum.
const TOKEN_SECONDS: i64 = 600;
const MAX_CLIENT_IDS: usize = 100;

/// Checks an OIDC issuer the way AWS STS will use it: discovery document,
/// key set, a real token minted by the cluster (optional), and the TLS
/// thumbprint, over real HTTPS with normal certificate validation (system
/// roots plus `SSL_CERT_FILE`/`SSL_CERT_DIR`, and the `HTTPS_PROXY`/`NO_PROXY`
/// environment). A failed check is an error saying what differs and how to
/// fix it, unless `fail_on_error = false`.
#[derive(Model, Debug)]
pub struct IssuerCheckModel {
    /// The issuer URL: `--service-account-issuer`, e.g.
    /// `irsa_oidc_issuer.this.issuer_url`. `https://`, no trailing slash.
    #[tf(required)]
    pub issuer_url: Tf<String>,
    /// The key set the issuer must publish, e.g. `data.irsa_jwks.cluster.json`:
    /// every key in it must be published with the same key material (a
    /// stale CDN cache shows here). Published keys not in it are allowed
    /// (rotation overlap).
    #[tf(optional)]
    pub expected_jwks: Tf<Json>,
    /// The client IDs (audiences) the IAM OIDC provider trusts, e.g.
    /// `["sts.amazonaws.com"]`. The token is requested for the first one.
    #[tf(required)]
    pub client_ids: Tf<Vec<Tf<String>>>,
    /// A service account, `"<namespace>/<name>"`: when set, a token is minted
    /// for it through the provider's `kubernetes` settings (TokenRequest)
    /// and verified against the published keys as STS would.
    #[tf(optional)]
    pub service_account: Tf<String>,
    /// Default `true`: a failed check is an error. With `false` the result
    /// only shows in `ok` and `checks`.
    #[tf(optional)]
    pub fail_on_error: Tf<bool>,
    /// True when every check passed.
    #[tf(computed)]
    pub ok: Tf<bool>,
    /// Every check, in order: `name`, `ok`, and `detail` (what was seen, or
    /// what differs and how to fix it).
    #[tf(computed)]
    pub checks: Tf<Vec<CheckResult>>,
    /// SHA-1 thumbprint (40 hex digits) of the top certificate of the chain
    /// the JWKS host sends, for `thumbprints` of an IAM OIDC provider whose
    /// CA AWS does not trust. Null when no TLS connection succeeded.
    #[tf(computed)]
    pub thumbprint: Tf<String>,
}

/// One check.
#[derive(Model, Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl CheckResult {
    fn pass(name: &str, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        }
    }
    fn fail(name: &str, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        }
    }
    fn skipped(name: &str, because: &str) -> CheckResult {
        CheckResult::fail(name, format!("not checked: {because}"))
    }
    fn is_skipped(&self) -> bool {
        !self.ok && self.detail.starts_with("not checked:")
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub issuer: String,
    pub expected: Option<Jwks>,
    pub client_ids: Vec<String>,
    pub service_account: Option<ServiceAccount>,
    pub fail_on_error: bool,
}

pub struct IssuerCheckDataSource {
    provider: Arc<ProviderState>,
}

impl IssuerCheckDataSource {
    pub fn new(provider: Arc<ProviderState>) -> IssuerCheckDataSource {
        IssuerCheckDataSource { provider }
    }
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

fn check_config(m: &IssuerCheckModel) -> (Diagnostics, Option<Settings>) {
    let mut d = Diagnostics::default();
    let mut complete = true;
    let issuer = match &m.issuer_url {
        Tf::Known(u) => match oidc::validate_issuer_url(u) {
            Ok(u) => Some(u.as_str().to_string()),
            Err(e) => {
                d.error_at(
                    AttrPath::root("issuer_url"),
                    "Invalid issuer URL",
                    e.to_string(),
                );
                None
            }
        },
        Tf::Null => None,
        Tf::Unknown(_) => {
            complete = false;
            None
        }
    };
    let expected = match &m.expected_jwks {
        Tf::Known(j) => match oidc::parse_jwks(j.as_str()) {
            Ok(k) => Some(k),
            Err(e) => {
                d.error_at(
                    AttrPath::root("expected_jwks"),
                    "Invalid expected_jwks",
                    format!("{e}. Pass a key set such as data.irsa_jwks.cluster.json."),
                );
                None
            }
        },
        Tf::Null => None,
        Tf::Unknown(_) => {
            complete = false;
            None
        }
    };
    let mut client_ids = Vec::new();
    match &m.client_ids {
        Tf::Known(items) => {
            if items.is_empty() {
                d.error_at(
                    AttrPath::root("client_ids"),
                    "No client IDs",
                    "`client_ids` is empty: list the audiences the IAM OIDC provider trusts, \
                     usually [\"sts.amazonaws.com\"].",
                );
            }
            if items.len() > MAX_CLIENT_IDS {
                d.error_at(
                    AttrPath::root("client_ids"),
                    "Too many client IDs",
                    format!("An IAM OIDC provider holds at most {MAX_CLIENT_IDS} client IDs."),
                );
            }
            for (i, item) in items.iter().enumerate() {
                let path = AttrPath::root("client_ids").index(i);
                match item {
                    Tf::Known(c) if !c.is_empty() && c.trim() == c => client_ids.push(c.clone()),
                    Tf::Known(c) => d.error_at(
                        path,
                        "Invalid client ID",
                        format!("The client ID \"{c}\" is empty or has surrounding whitespace."),
                    ),
                    Tf::Null => {
                        d.error_at(path, "Invalid client ID", "A client ID must not be null.")
                    }
                    Tf::Unknown(_) => complete = false,
                }
            }
        }
        Tf::Null => {}
        Tf::Unknown(_) => complete = false,
    }
    let service_account = match &m.service_account {
        Tf::Known(s) => match ServiceAccount::parse(s) {
            Ok(sa) if !sa.wildcard => Some(sa),
            Ok(_) => {
                d.error_at(
                    AttrPath::root("service_account"),
                    "Invalid service account",
                    format!(
                        "\"{s}\" has a wildcard; a token is minted for one service account: name it exactly."
                    ),
                );
                None
            }
            Err(e) => {
                d.error_at(
                    AttrPath::root("service_account"),
                    "Invalid service account",
                    e,
                );
                None
            }
        },
        Tf::Null => None,
        Tf::Unknown(_) => {
            complete = false;
            None
        }
    };
    let fail_on_error = match &m.fail_on_error {
        Tf::Known(b) => *b,
        Tf::Null => true,
        Tf::Unknown(_) => {
            complete = false;
            true
        }
    };
    if !complete || d.has_errors() {
        return (d, None);
    }
    let Some(issuer) = issuer else {
        return (d, None);
    };
    (
        d,
        Some(Settings {
            issuer,
            expected,
            client_ids,
            service_account,
            fail_on_error,
        }),
    )
}

// ---------------------------------------------------------------------------
// Pure evaluation of what was fetched
// ---------------------------------------------------------------------------

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// A short, printable start of a body that is not what was expected.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("{:?}", clean.trim())
}

/// A fetched document as JSON, or why STS could not use it.
fn fetched_json(
    what: &str,
    url: &str,
    r: &Result<Response, FetchError>,
) -> Result<(J, String), String> {
    let resp = match r {
        Ok(resp) => resp,
        Err(FetchError::Timeout(_)) => {
            return Err(format!(
                "GET {url} got no complete answer within {} (STS gives up after {}): STS fails \
                 with \"Couldn't retrieve verification key from your identity provider\". Serve \
                 the {what} from a fast, cached origin (CloudFront in front of the bucket, as \
                 irsa_oidc_issuer does).",
                secs(FETCH_TIMEOUT),
                secs(STS_FETCH_LIMIT)
            ))
        }
        Err(e @ FetchError::Connect { .. }) => {
            return Err(format!(
                "GET {url} failed: {e}. Check that the host name resolves (the DNS record of the \
                 issuer's domain) and that the CDN serving it is deployed."
            ))
        }
        Err(e) => return Err(format!("GET {url} failed: {e}.")),
    };
    let via = resp
        .proxy
        .as_ref()
        .map(|p| format!(" via proxy {p}"))
        .unwrap_or_default();
    if resp.status != 200 {
        let fix = match resp.status {
            403 => {
                "the object is not public: STS fetches it anonymously. With irsa_oidc_issuer \
                    check the bucket policy and the CloudFront origin access control; for an S3 \
                    issuer, the bucket's public access block and policy"
            }
            404 => {
                "nothing is published at this URL: apply irsa_oidc_issuer (it writes \
                    .well-known/openid-configuration and openid/v1/jwks), and check that the \
                    URL's path matches the issuer's"
            }
            301 | 302 | 303 | 307 | 308 => {
                "the document must be served at this exact URL, not \
                    behind a redirect"
            }
            _ => "the origin must answer 200",
        };
        let location = resp
            .location
            .as_ref()
            .map(|l| format!(" (Location: {l})"))
            .unwrap_or_default();
        return Err(format!(
            "GET {url} answered HTTP {}{location}{via}: {fix}.",
            resp.status
        ));
    }
    if resp.elapsed > STS_FETCH_LIMIT {
        return Err(format!(
            "GET {url} took {}{via}; STS allows {} and then fails with \"Couldn't retrieve \
             verification key from your identity provider\". Serve the {what} from a fast, cached \
             origin (CloudFront in front of the bucket, as irsa_oidc_issuer does).",
            secs(resp.elapsed),
            secs(STS_FETCH_LIMIT)
        ));
    }
    let content_type = resp
        .content_type
        .clone()
        .unwrap_or_else(|| "no Content-Type".into());
    let value: J = serde_json::from_slice(&resp.body).map_err(|e| {
        format!(
            "GET {url} answered 200 ({content_type}) but the body is not JSON ({e}); it starts \
             with {}. The {what} must be the JSON document itself: check that the origin serves \
             the object, not an error or index page.",
            snippet(&resp.body)
        )
    })?;
    if !value.is_object() {
        return Err(format!("GET {url}: the {what} is JSON but not an object."));
    }
    Ok((
        value,
        // No timing here: a passing read gives the same text every time, so
        // no plan diff comes from it.
        format!(
            "GET {url}: HTTP 200 within {}{via}, {content_type}",
            secs(STS_FETCH_LIMIT)
        ),
    ))
}

/// What the published key set holds, as STS sees it.
#[derive(Debug, Default)]
pub struct KeyReport {
    pub problems: Vec<String>,
    /// The keys STS accepts, validated; `None` when there is none.
    pub usable: Option<Jwks>,
    /// The algorithms of all keys (explicit `alg`, or derived from the key).
    pub algorithms: BTreeSet<String>,
    pub kids: Vec<String>,
}

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const KEY_TYPE_FIX: &str = "kube-apiserver's --service-account-signing-key-file (and the \
    matching --service-account-key-file) must hold an RSA key (RS256) or an ECDSA key on P-256, \
    P-384 or P-521";

/// Checks a JWKS document key by key, the way STS will use it.
pub fn analyse_jwks(doc: &J) -> KeyReport {
    let mut r = KeyReport::default();
    let Some(keys) = doc.get("keys").and_then(J::as_array) else {
        r.problems.push("the JWKS has no \"keys\" array".into());
        return r;
    };
    if keys.is_empty() {
        r.problems
            .push("the JWKS holds no keys, so STS can verify no token".into());
        return r;
    }
    let mut seen = BTreeSet::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut usable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Some(k) = key.as_object() else {
            r.problems.push(format!("keys[{i}] is not an object"));
            continue;
        };
        let kid = k.get("kid").and_then(J::as_str).unwrap_or_default();
        let label = if kid.is_empty() {
            format!("keys[{i}]")
        } else {
            format!("keys[{i}] (kid \"{kid}\")")
        };
        if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| k.contains_key(**m)) {
            r.problems.push(format!(
                "{label} holds the private member \"{m}\": the JWKS is public, so this private \
                 key is exposed; rotate it and publish public keys only"
            ));
            continue;
        }
        if kid.is_empty() {
            r.problems.push(format!(
                "{label} has no \"kid\": STS picks the verification key by the token's kid"
            ));
            continue;
        }
        if !seen.insert(kid.to_string()) {
            r.problems.push(format!(
                "the kid \"{kid}\" appears twice: STS picks keys by kid, so kids must be unique"
            ));
            continue;
        }
        r.kids.push(kid.to_string());
        if let Some(u) = k.get("use").and_then(J::as_str) {
            if u != "sig" {
                r.problems.push(format!(
                    "{label} has \"use\": \"{u}\"; signing keys have \"sig\""
                ));
                continue;
            }
        }
        let kty = k.get("kty").and_then(J::as_str).unwrap_or_default();
        let crv = k.get("crv").and_then(J::as_str);
        let alg = k.get("alg").and_then(J::as_str);
        let derived = match (kty, crv) {
            ("RSA", _) => Some("RS256"),
            ("EC", Some("P-256")) => Some("ES256"),
            ("EC", Some("P-384")) => Some("ES384"),
            ("EC", Some("P-521")) => Some("ES512"),
            ("OKP", _) => Some("EdDSA"),
            _ => None,
        };
        let effective = alg.or(derived).unwrap_or("(none)");
        r.algorithms.insert(effective.to_string());
        let accepted = match kty {
            "RSA" => matches!(effective, "RS256" | "RS384" | "RS512"),
            "EC" => alg.is_none() || alg == derived,
            _ => false,
        } && STS_ALGORITHMS.contains(&effective);
        if !accepted {
            let what = if kty == "OKP" || effective == "EdDSA" {
                format!("an EdDSA key ({})", crv.unwrap_or("OKP"))
            } else {
                format!("a key of type \"{kty}\" with algorithm \"{effective}\"")
            };
            r.problems.push(format!(
                "{label} is {what}: STS refuses it (it accepts RS256, RS384, RS512, ES256, ES384 \
                 and ES512 only), and a token signed with it fails with InvalidIdentityToken. \
                 {KEY_TYPE_FIX}"
            ));
            continue;
        }
        *counts
            .entry(if kty == "RSA" { "RSA" } else { "EC" })
            .or_default() += 1;
        usable.push(key.clone());
    }
    for (kty, n) in counts {
        if n > MAX_KEYS_PER_TYPE {
            r.problems.push(format!(
                "the JWKS holds {n} {kty} keys; STS accepts at most {MAX_KEYS_PER_TYPE} per type: \
                 retire old keys"
            ));
        }
    }
    if !usable.is_empty() {
        match oidc::parse_jwks(&serde_json::json!({ "keys": usable }).to_string()) {
            Ok(j) => r.usable = Some(j),
            Err(e) => r.problems.push(e.to_string()),
        }
    }
    r
}

/// Compares the published keys with the expected ones.
pub fn compare_expected(expected: &Jwks, published: &KeyReport, published_doc: &J) -> CheckResult {
    const NAME: &str = "expected_jwks";
    let raw: BTreeMap<String, &J> = published_doc["keys"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .filter_map(|k| Some((k.get("kid")?.as_str()?.to_string(), k)))
                .collect()
        })
        .unwrap_or_default();
    let mut missing = Vec::new();
    let mut different = Vec::new();
    for key in expected.keys() {
        match (
            published.usable.as_ref().and_then(|j| j.get(&key.kid)),
            raw.get(&key.kid),
        ) {
            (Some(p), _) if p == key => {}
            (Some(_), _) | (None, Some(_)) => different.push(key.kid.clone()),
            (None, None) => missing.push(key.kid.clone()),
        }
    }
    if missing.is_empty() && different.is_empty() {
        let extra = published.kids.len().saturating_sub(expected.len());
        return CheckResult::pass(
            NAME,
            format!(
                "all {} expected keys are published with the same key material{}",
                expected.len(),
                if extra > 0 {
                    format!(" ({extra} more published keys: a rotation overlap)")
                } else {
                    String::new()
                }
            ),
        );
    }
    let quote = |v: &[String]| {
        v.iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "the expected kid(s) {} are not in the published JWKS (it holds {})",
            quote(&missing),
            quote(&published.kids)
        ));
    }
    if !different.is_empty() {
        parts.push(format!(
            "the published key(s) {} have other key material than expected",
            quote(&different)
        ));
    }
    CheckResult::fail(
        NAME,
        format!(
            "{}. Tokens signed with those keys will fail at STS. Either the issuer still publishes \
             an old key set (apply irsa_oidc_issuer with jwks = data.irsa_jwks.cluster.json), or \
             a cache in front of it serves a stale copy (invalidate the CDN cache, e.g. a \
             CloudFront invalidation of /openid/v1/jwks).",
            parts.join("; ")
        ),
    )
}

/// The claims of a token's header, unverified: `(alg, kid)`.
fn token_header(token: &str) -> Option<(String, Option<String>)> {
    let part = token.split('.').next()?;
    let bytes = oidc::b64url_decode(part)?;
    let header: J = serde_json::from_slice(&bytes).ok()?;
    Some((
        header.get("alg")?.as_str()?.to_string(),
        header.get("kid").and_then(J::as_str).map(str::to_string),
    ))
}

/// Verifies a minted token against the published keys as STS does.
pub fn verify_token(
    token: &str,
    published: Option<&Jwks>,
    s: &Settings,
    sa: &ServiceAccount,
    now: Option<u64>,
) -> CheckResult {
    const NAME: &str = "token";
    let Some((alg, kid)) = token_header(token) else {
        return CheckResult::fail(
            NAME,
            "the cluster minted a token whose header cannot be read",
        );
    };
    if !STS_ALGORITHMS.contains(&alg.as_str()) {
        return CheckResult::fail(
            NAME,
            format!(
                "the cluster signs tokens with {alg}, which STS refuses (it accepts RS256, RS384, \
                 RS512, ES256, ES384 and ES512 only): every AssumeRoleWithWebIdentity fails with \
                 InvalidIdentityToken. {KEY_TYPE_FIX}"
            ),
        );
    }
    let Some(jwks) = published else {
        return CheckResult::fail(
            NAME,
            format!(
                "the cluster signs with kid \"{}\", but the published JWKS holds no key STS could \
                 use (see the jwks check)",
                kid.unwrap_or_default()
            ),
        );
    };
    if alg == "ES512" {
        // STS accepts ES512, but this verifier cannot check it.
        return CheckResult::pass(
            NAME,
            "the token is signed with ES512, which STS accepts; its signature and claims are not \
             verified by this check",
        );
    }
    let mut first_err = None;
    let mut claims = None;
    for aud in &s.client_ids {
        let options = VerifyOptions {
            now,
            ..VerifyOptions::new(s.issuer.clone(), aud.clone())
        };
        match oidc::verify_service_account_token(token, jwks, &options) {
            Ok(c) => {
                claims = Some(c);
                break;
            }
            Err(e @ TokenError::AudienceMismatch { .. }) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err = Some(e);
                break;
            }
        }
    }
    let Some(c) = claims else {
        let e = first_err.expect("no claims means an error");
        return CheckResult::fail(NAME, token_failure(&e, s, sa));
    };
    let want = sa.subject();
    if c.sub != want {
        return CheckResult::fail(
            NAME,
            format!(
                "the token's sub is \"{}\", not \"{want}\": trust policies match the sub claim",
                c.sub
            ),
        );
    }
    CheckResult::pass(
        NAME,
        format!(
            "a token minted for {}/{} (TokenRequest, audience \"{}\") verifies against the published \
             key \"{}\" ({}): iss, aud, exp, nbf, iat and sub as STS requires",
            sa.namespace, sa.name, s.client_ids[0], c.kid, c.alg
        ),
    )
}

/// What to tell the user when the minted token fails verification.
fn token_failure(e: &TokenError, s: &Settings, sa: &ServiceAccount) -> String {
    let minted = format!(
        "the token the cluster minted for {}/{} would be refused by STS: {e}",
        sa.namespace, sa.name
    );
    let fix = match e {
        TokenError::IssuerMismatch { .. } => format!(
            "Fix: start kube-apiserver with --service-account-issuer={} (the first \
             --service-account-issuer signs new tokens; keep the old value as a second flag while \
             pods migrate), or set issuer_url to the cluster's issuer and publish that one.",
            s.issuer
        ),
        TokenError::UnknownKid { .. } => "Fix: publish the cluster's current keys \
            (irsa_oidc_issuer.jwks = data.irsa_jwks.cluster.json, then apply) and make sure no \
            cache serves an older key set."
            .into(),
        TokenError::AudienceMismatch { .. } => format!(
            "Fix: the token was requested with the audience \"{}\"; make client_ids (and the \
             IAM OIDC provider's client IDs) contain the audience the cluster puts in tokens.",
            s.client_ids[0]
        ),
        TokenError::Expired { .. } => "The cluster minted a token that is already expired: \
            the API server's clock is behind (or the token lifetime is capped); fix the clock \
            (NTP) on the control-plane nodes."
            .into(),
        TokenError::NotYetValid { .. } | TokenError::IssuedInFuture { .. } => {
            "Fix the clocks (NTP) of the control-plane nodes.".into()
        }
        TokenError::BadSignature { .. } => "The published key with that kid is not the \
            cluster's signing key: publish the cluster's keys (data.irsa_jwks.cluster.json)."
            .into(),
        _ => String::new(),
    };
    format!("{minted}. {fix}").trim_end().to_string()
}

/// The checks that depend only on the fetched documents.
pub fn evaluate_documents(
    s: &Settings,
    discovery_url: &str,
    discovery: &Result<Response, FetchError>,
    jwks_fetch: Option<(&str, &Result<Response, FetchError>)>,
) -> (Vec<CheckResult>, Option<KeyReport>) {
    let mut out = Vec::new();
    let doc = match fetched_json("discovery document", discovery_url, discovery) {
        Ok((doc, detail)) => {
            out.push(CheckResult::pass("discovery", detail));
            Some(doc)
        }
        Err(e) => {
            out.push(CheckResult::fail("discovery", e));
            None
        }
    };
    let Some(doc) = doc else {
        for name in ["issuer", "jwks_uri", "jwks", "signing_algorithms"] {
            out.push(CheckResult::skipped(
                name,
                "the discovery document could not be read",
            ));
        }
        return (out, None);
    };
    // issuer
    match doc.get("issuer").and_then(J::as_str) {
        Some(i) if i == s.issuer => out.push(CheckResult::pass(
            "issuer",
            format!("\"{i}\" equals issuer_url"),
        )),
        Some(i) => {
            let hint = if i.trim_end_matches('/') == s.issuer {
                " (a trailing slash: a different issuer)"
            } else {
                ""
            };
            out.push(CheckResult::fail(
                "issuer",
                format!(
                    "the discovery document says issuer \"{i}\", but issuer_url is \"{}\"{hint}; \
                     STS compares the token's iss, the IAM provider URL and this value byte for \
                     byte. Publish a discovery document for \"{}\" (irsa_oidc_issuer writes it), \
                     and start kube-apiserver with --service-account-issuer={}.",
                    s.issuer, s.issuer, s.issuer
                ),
            ))
        }
        None => out.push(CheckResult::fail(
            "issuer",
            "the discovery document has no \"issuer\" string",
        )),
    }
    // jwks_uri
    let jwks_uri = doc.get("jwks_uri").and_then(J::as_str);
    match jwks_uri {
        Some(u) if u.starts_with("https://") && u.len() > "https://".len() => out.push(
            CheckResult::pass("jwks_uri", format!("\"{u}\" is an https:// URL")),
        ),
        Some(u) => out.push(CheckResult::fail(
            "jwks_uri",
            format!(
                "jwks_uri \"{u}\" is not an https:// URL; STS fetches keys only over HTTPS. With \
                 a self-written discovery document, set kube-apiserver's \
                 --service-account-jwks-uri={}/openid/v1/jwks.",
                s.issuer
            ),
        )),
        None => out.push(CheckResult::fail(
            "jwks_uri",
            "the discovery document has no \"jwks_uri\" string",
        )),
    }
    let Some((jwks_url, jwks_result)) = jwks_fetch else {
        out.push(CheckResult::skipped("jwks", "there is no usable jwks_uri"));
        out.push(CheckResult::skipped(
            "signing_algorithms",
            "there is no usable jwks_uri",
        ));
        return (out, None);
    };
    let (jwks_doc, report) = match fetched_json("JWKS", jwks_url, jwks_result) {
        Ok((jwks_doc, detail)) => {
            let report = analyse_jwks(&jwks_doc);
            if report.problems.is_empty() {
                out.push(CheckResult::pass(
                    "jwks",
                    format!(
                        "{detail}; {} key(s), all public, unique kids, types STS accepts ({})",
                        report.kids.len(),
                        report
                            .algorithms
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            } else {
                out.push(CheckResult::fail("jwks", report.problems.join("; ")));
            }
            (jwks_doc, report)
        }
        Err(e) => {
            out.push(CheckResult::fail("jwks", e));
            out.push(CheckResult::skipped(
                "signing_algorithms",
                "the JWKS could not be read",
            ));
            return (out, None);
        }
    };
    // signing algorithms: discovery vs keys
    let listed: Option<BTreeSet<String>> = doc
        .get("id_token_signing_alg_values_supported")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_str).map(str::to_string).collect());
    let published: Vec<String> = report.algorithms.iter().cloned().collect();
    match listed {
        Some(l) if l == report.algorithms => out.push(CheckResult::pass(
            "signing_algorithms",
            format!("id_token_signing_alg_values_supported = {published:?}, the keys' algorithms"),
        )),
        Some(l) => out.push(CheckResult::fail(
            "signing_algorithms",
            format!(
                "id_token_signing_alg_values_supported is {:?}, but the published keys use {:?}. \
                 kube-apiserver lists exactly its keys' algorithms; republish both documents \
                 together (irsa_oidc_issuer writes them from one key set).",
                l.into_iter().collect::<Vec<_>>(),
                published
            ),
        )),
        None => out.push(CheckResult::fail(
            "signing_algorithms",
            "the discovery document has no id_token_signing_alg_values_supported list",
        )),
    }
    if let Some(expected) = &s.expected {
        out.push(compare_expected(expected, &report, &jwks_doc));
    }
    (out, Some(report))
}

/// `(name, path)` of the attribute a failed check is about.
fn check_path(name: &str) -> Option<AttrPath> {
    match name {
        "discovery" | "issuer" | "jwks_uri" => Some(AttrPath::root("issuer_url")),
        "expected_jwks" => Some(AttrPath::root("expected_jwks")),
        "token" => Some(AttrPath::root("service_account")),
        _ => None,
    }
}

fn summary(name: &str) -> &'static str {
    match name {
        "discovery" => "Issuer check failed: discovery document",
        "issuer" => "Issuer check failed: issuer mismatch",
        "jwks_uri" => "Issuer check failed: jwks_uri",
        "jwks" => "Issuer check failed: published keys",
        "signing_algorithms" => "Issuer check failed: signing algorithms",
        "expected_jwks" => "Issuer check failed: published keys differ from expected_jwks",
        "token" => "Issuer check failed: the cluster's token would be refused by STS",
        _ => "Issuer check failed",
    }
}

// ---------------------------------------------------------------------------
// The data source
// ---------------------------------------------------------------------------

impl IssuerCheckDataSource {
    async fn mint_and_verify(
        &self,
        ctx: &Ctx,
        s: &Settings,
        sa: &ServiceAccount,
        published: Option<&Jwks>,
    ) -> CheckResult {
        let configured = match self.provider.configured() {
            Ok(c) => c,
            Err(d) => return CheckResult::fail("token", d.detail),
        };
        let client = match ctx.run(configured.kube()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                return CheckResult::fail(
                    "token",
                    format!("cannot connect to the Kubernetes cluster to mint a token: {e}"),
                )
            }
            Err(i) => return CheckResult::fail("token", i.to_string()),
        };
        tracing::debug!(target: "irsa::issuer_check", namespace = %sa.namespace, name = %sa.name, audience = %s.client_ids[0], "requesting a service-account token");
        let token = match ctx
            .run(client.request_token(&sa.namespace, &sa.name, &s.client_ids[0], TOKEN_SECONDS))
            .await
        {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                return CheckResult::fail(
                    "token",
                    format!("cannot mint a token (TokenRequest): {e}"),
                )
            }
            Err(i) => return CheckResult::fail("token", i.to_string()),
        };
        verify_token(token.expose_secret(), published, s, sa, None)
    }

    async fn run_checks(
        &self,
        ctx: &Ctx,
        s: &Settings,
    ) -> Result<(Vec<CheckResult>, Option<String>), Diagnostics> {
        let client = HttpsClient::from_env().map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot make HTTPS requests",
                e.to_string(),
            ))
        })?;
        let discovery_url = format!("{}{}", s.issuer, oidc::discovery::DISCOVERY_PATH);
        tracing::debug!(target: "irsa::issuer_check", url = %discovery_url, "fetching the discovery document");
        let discovery = ctx
            .run(client.get(&discovery_url, FETCH_TIMEOUT))
            .await
            .map_err(|i| Diagnostics::from(Diagnostic::from(i)))?;
        let jwks_uri = discovery
            .as_ref()
            .ok()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<J>(&r.body).ok())
            .and_then(|d| d.get("jwks_uri").and_then(J::as_str).map(str::to_string))
            .filter(|u| u.starts_with("https://"));
        let jwks = match &jwks_uri {
            Some(u) => {
                tracing::debug!(target: "irsa::issuer_check", url = %u, "fetching the JWKS");
                Some(
                    ctx.run(client.get(u, FETCH_TIMEOUT))
                        .await
                        .map_err(|i| Diagnostics::from(Diagnostic::from(i)))?,
                )
            }
            None => None,
        };
        let jwks_fetch = jwks_uri.as_deref().zip(jwks.as_ref());
        let (mut checks, report) = evaluate_documents(s, &discovery_url, &discovery, jwks_fetch);

        if let Some(sa) = &s.service_account {
            let published = report.as_ref().and_then(|r| r.usable.as_ref());
            checks.push(self.mint_and_verify(ctx, s, sa, published).await);
        }

        // The thumbprint: the top certificate the JWKS host sent (or the
        // issuer host, when the JWKS could not be fetched).
        let chain_of = |r: Option<&Result<Response, FetchError>>| {
            r.and_then(|r| r.as_ref().ok())
                .map(|r| r.peer_chain.clone())
                .filter(|c| !c.is_empty())
        };
        let (chain, host) = match chain_of(jwks.as_ref()) {
            Some(c) => (Some(c), jwks_uri.clone().unwrap_or_default()),
            None => (chain_of(Some(&discovery)), discovery_url.clone()),
        };
        let host = host
            .strip_prefix("https://")
            .and_then(|h| h.split('/').next())
            .unwrap_or_default()
            .to_string();
        let thumbprint = chain
            .as_ref()
            .and_then(|c| c.last())
            .map(|c| sha1_thumbprint(c));
        checks.push(match (&thumbprint, &chain) {
            (Some(t), Some(c)) => CheckResult::pass(
                "thumbprint",
                format!(
                    "{t}: SHA-1 of the top certificate of the {} {host} sent (AWS uses \
                     thumbprints only for certificates from CAs it does not trust)",
                    if c.len() == 1 {
                        "one certificate".to_string()
                    } else {
                        format!("{} certificates", c.len())
                    }
                ),
            ),
            _ => CheckResult::fail(
                "thumbprint",
                "no TLS connection succeeded, so there is no certificate chain",
            ),
        });
        Ok((checks, thumbprint))
    }
}

#[async_trait]
impl DataSource for IssuerCheckDataSource {
    type Model = IssuerCheckModel;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn validate(&self, config: &IssuerCheckModel) -> Diagnostics {
        check_config(config).0
    }

    async fn read(
        &self,
        ctx: &Ctx,
        mut m: IssuerCheckModel,
    ) -> Result<(IssuerCheckModel, Diagnostics), Diagnostics> {
        // The framework reads only a wholly known, valid configuration.
        let (d, settings) = check_config(&m);
        let s = settings.ok_or(d.clone())?;
        let ctx = ctx.with_timeout(Duration::from_secs(120));
        let (checks, thumbprint) = self.run_checks(&ctx, &s).await?;
        let ok = checks.iter().all(|c| c.ok);
        for c in &checks {
            tracing::debug!(target: "irsa::issuer_check", check = %c.name, ok = c.ok, "check done");
        }
        if !ok && s.fail_on_error {
            let mut errors = Diagnostics::default();
            for c in checks.iter().filter(|c| !c.ok && !c.is_skipped()) {
                let diag = Diagnostic::error(summary(&c.name), c.detail.clone());
                errors.push(match check_path(&c.name) {
                    Some(p) => diag.at(p),
                    None => diag,
                });
            }
            return Err(errors);
        }
        m.ok = Tf::Known(ok);
        m.checks = Tf::Known(checks);
        m.thumbprint = thumbprint.into();
        Ok((m, d))
    }
}

#[cfg(test)]
mod tests;
