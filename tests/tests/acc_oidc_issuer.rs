//! Acceptance tests of the resource `irsa_oidc_issuer`, run with the REAL
//! Terraform CLI on every version the harness finds, against moto (one
//! server per test, reset between Terraform versions; ACM certificates are
//! ISSUED at once and CloudFront reports `Deployed` at once, so every wait is
//! short). AWS state is checked directly in moto through boto3 (see
//! `irsa_acceptance::issuer_support`).
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto +
//! boto3 venv, Terraform 1.0.3), `openssl`.
//!
//! What each test checks is said at the test.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use irsa_acceptance::fault_proxy::FaultProxy;
use irsa_acceptance::harness::{each_terraform, normalize_ws, TerraformBinary, TfOutput, Workdir};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::{Moto, NO_AWS_ENDPOINT};
use serde_json::{json, Value};
use sha2::Digest as _;

/// Upper bound for one test body on one Terraform version.
const BODY_LIMIT: Duration = Duration::from_secs(20 * 60);

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
const JWKS_PATH: &str = "/openid/v1/jwks";

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// moto's environment with AWS_ENDPOINT_URL replaced.
fn env_with_endpoint(moto: &Moto, endpoint: &str) -> Vec<(String, String)> {
    moto.env()
        .into_iter()
        .map(|(k, v)| {
            if k == "AWS_ENDPOINT_URL" {
                (k, endpoint.to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// A work dir for `hcl` with the key files written, talking to `endpoint`.
fn workdir(
    tf: &TerraformBinary,
    moto: &Moto,
    endpoint: &str,
    hcl: &IssuerHcl,
    keys: &[&TestKey],
) -> Workdir {
    let mut wd = Workdir::new(tf, &hcl.render());
    wd.envs(env_with_endpoint(moto, endpoint));
    IssuerHcl::write_keys(&wd, keys);
    wd
}

/// Replace the configuration and the key files.
fn reconfigure(wd: &Workdir, hcl: &IssuerHcl, keys: &[&TestKey]) {
    for i in 0..8 {
        let _ = std::fs::remove_file(wd.path().join(format!("key{i}.pem")));
    }
    IssuerHcl::write_keys(wd, keys);
    wd.set_config(&hcl.render());
}

fn str_list(v: &Value) -> Vec<String> {
    as_list(v)
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_string())
        .collect()
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The output without Terraform's echo of configuration lines
/// (`  12:   domain = "..."`), so that a match shows the provider said it.
fn without_source_lines(out: &TfOutput) -> String {
    let re = regex::Regex::new(r"^[\s│]*\d+:\s").unwrap();
    out.combined()
        .lines()
        .filter(|l| !re.is_match(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn said(out: &TfOutput, pattern: &str) -> bool {
    let re = regex::Regex::new(pattern).unwrap();
    let text = without_source_lines(out);
    re.is_match(&text) || re.is_match(&normalize_ws(&text))
}

fn trim_dot(s: &str) -> &str {
    s.trim_end_matches('.')
}

/// `plan -detailed-exitcode` must report a diff (exit 2) that names one of
/// `attrs` (a regex alternation) on a changed-attribute line and destroys
/// nothing.
async fn expect_repair_plan(wd: &Workdir, what: &str, attrs: &str) -> TfOutput {
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(2),
        "[{}] {what}: expected the plan to propose a repair (exit 2):\n{out}",
        wd.label()
    );
    let re = format!(r"(?m)^[\s│]*(?:~|\+|-|-/\+|\+/-)\s+(?:{attrs})\s+=");
    assert!(
        out.matches(&re),
        "[{}] {what}: the plan does not show a change of {attrs}:\n{out}",
        wd.label()
    );
    assert!(
        out.matches(r"0 to destroy"),
        "[{}] {what}: the repair must be in place (0 to destroy):\n{out}",
        wd.label()
    );
    out
}

// ---------------------------------------------------------------------------
// The checks of a whole issuer in moto
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Expect {
    name: String,
    /// None: S3 hosting.
    domain: Option<String>,
    zone_id: Option<String>,
    /// The kids published (any order).
    kids: Vec<String>,
    /// id_token_signing_alg_values_supported, sorted.
    algs: Vec<String>,
    user_tags: BTreeMap<String, String>,
    client_ids: Vec<String>,
    thumbprints: Vec<String>,
    ttl: (i64, i64, i64),
    price_class: String,
    /// `data.irsa_jwks.k.json`: each of its keys must be published as is.
    data_jwks: Option<String>,
}

impl Expect {
    fn cloudfront(name: &str, domain: &str, zone: &str, keys: &[&TestKey]) -> Expect {
        let mut algs: Vec<String> = keys.iter().map(|k| k.alg.to_string()).collect();
        algs.sort();
        algs.dedup();
        Expect {
            name: name.into(),
            domain: Some(domain.into()),
            zone_id: Some(zone.into()),
            kids: keys.iter().map(|k| k.kid.clone()).collect(),
            algs,
            user_tags: BTreeMap::new(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec![],
            ttl: (0, 3600, 86400),
            price_class: "PriceClass_100".into(),
            data_jwks: None,
        }
    }

    fn s3(name: &str, keys: &[&TestKey]) -> Expect {
        let mut e = Expect::cloudfront(name, "", "", keys);
        e.domain = None;
        e.zone_id = None;
        e
    }

    fn bucket(&self) -> String {
        bucket_for(&self.name)
    }

    fn issuer(&self) -> String {
        match &self.domain {
            Some(d) => format!("https://{d}"),
            None => format!("https://{}.s3.{REGION}.amazonaws.com", self.bucket()),
        }
    }

    fn host(&self) -> String {
        self.issuer().trim_start_matches("https://").to_string()
    }

    fn all_tags(&self) -> BTreeMap<String, String> {
        let mut t = self.user_tags.clone();
        t.insert("irsa:name".into(), self.name.clone());
        t
    }
}

fn assert_tags(label: &str, what: &str, got: &Value, exp: &Expect) {
    let got = tags_of(got);
    for (k, v) in exp.all_tags() {
        assert_eq!(
            got.get(&k),
            Some(&v),
            "[{label}] {what}: tag {k:?} should be {v:?}; tags: {got:?}"
        );
    }
}

fn policy_statements(label: &str, policy: &Value) -> Vec<Value> {
    assert!(!policy.is_null(), "[{label}] the bucket has no policy");
    as_list(&policy["Statement"])
}

fn principal_is_everyone(p: &Value) -> bool {
    p == "*" || str_list(&p["AWS"]) == vec!["*".to_string()]
}

/// Deny everything not sent over TLS, for everyone, on the bucket and its objects.
fn is_tls_deny(st: &Value, bucket: &str) -> bool {
    let secure = &st["Condition"]["Bool"]["aws:SecureTransport"];
    let secure_false =
        secure == "false" || secure == &json!(false) || str_list(secure) == ["false"];
    let actions = str_list(&st["Action"]);
    let resources: BTreeSet<String> = str_list(&st["Resource"]).into_iter().collect();
    st["Effect"] == "Deny"
        && secure_false
        && principal_is_everyone(&st["Principal"])
        && (actions.contains(&"s3:*".to_string()) || actions.contains(&"*".to_string()))
        && resources.contains(&format!("arn:aws:s3:::{bucket}"))
        && resources.contains(&format!("arn:aws:s3:::{bucket}/*"))
}

/// Everything common to both hostings: the resource's attributes, the
/// bucket's encryption/versioning/tags, the two documents, the OIDC provider.
fn check_common(label: &str, snap: &Value, v: &Value, exp: &Expect) {
    if std::env::var_os("IRSA_TEST_VERBOSE").is_some_and(|x| !x.is_empty() && x != "0") {
        eprintln!("[{label}] moto snapshot: {snap:#}\n[{label}] state: {v:#}");
    }
    let bucket = exp.bucket();
    let issuer = exp.issuer();
    // Attributes.
    assert_eq!(str_attr(v, "id"), exp.name, "[{label}] id");
    assert_eq!(str_attr(v, "issuer_url"), issuer, "[{label}] issuer_url");
    assert!(!issuer.ends_with('/'));
    assert_eq!(
        str_attr(v, "oidc_provider_url"),
        exp.host(),
        "[{label}] oidc_provider_url"
    );
    assert_eq!(
        str_attr(v, "oidc_provider_arn"),
        format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{}", exp.host()),
        "[{label}] oidc_provider_arn"
    );
    assert_eq!(
        str_attr(v, "jwks_uri"),
        format!("{issuer}{JWKS_PATH}"),
        "[{label}] jwks_uri"
    );
    assert_eq!(str_attr(v, "bucket"), bucket, "[{label}] bucket");
    assert_eq!(str_attr(v, "region"), REGION, "[{label}] region");
    assert_eq!(
        list_attr(v, "client_ids"),
        exp.client_ids,
        "[{label}] client_ids"
    );
    assert_eq!(
        sorted(&list_attr(v, "published_kids")),
        sorted(&exp.kids),
        "[{label}] published_kids"
    );
    assert!(
        !map_attr(v, "bucket_settings").is_empty(),
        "[{label}] bucket_settings is empty: {}",
        v["bucket_settings"]
    );

    // The bucket.
    let b = &snap["buckets"][&bucket];
    assert!(
        b.is_object(),
        "[{label}] no bucket {bucket} in moto: {snap:#}"
    );
    assert_eq!(
        snap["buckets"].as_object().map(|m| m.len()),
        Some(1),
        "[{label}] exactly one bucket"
    );
    assert_eq!(b["location"], REGION, "[{label}] bucket region");
    let sse = as_list(&b["encryption"]);
    assert!(
        sse.iter().any(|r| matches!(
            r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str(),
            Some("AES256") | Some("aws:kms") | Some("aws:kms:dsse")
        )),
        "[{label}] bucket without default encryption: {}",
        b["encryption"]
    );
    assert_eq!(b["versioning"], "Enabled", "[{label}] bucket versioning");
    assert_tags(label, "bucket", &b["tags"], exp);

    // The documents.
    let objects = b["objects"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        objects.keys().cloned().collect::<BTreeSet<_>>(),
        [DISCOVERY_KEY.to_string(), JWKS_KEY.to_string()]
            .into_iter()
            .collect(),
        "[{label}] the bucket must hold exactly the two documents"
    );
    let disc = &objects[DISCOVERY_KEY];
    let jwks = &objects[JWKS_KEY];
    assert_eq!(
        disc["content_type"], "application/json",
        "[{label}] discovery content type"
    );
    assert_eq!(
        jwks["content_type"], "application/jwk-set+json",
        "[{label}] JWKS content type"
    );
    for (what, o) in [("discovery", disc), ("JWKS", jwks)] {
        let cc = o["cache_control"].as_str().unwrap_or("");
        assert!(
            cc.split(',')
                .any(|p| p.trim() == format!("max-age={}", exp.ttl.1)),
            "[{label}] {what} Cache-Control {cc:?} should carry max-age={}",
            exp.ttl.1
        );
    }
    let disc_text = disc["body"].as_str().unwrap();
    let doc: Value = serde_json::from_str(disc_text)
        .unwrap_or_else(|e| panic!("[{label}] discovery is not JSON ({e}): {disc_text}"));
    assert_eq!(
        doc.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        [
            "issuer",
            "jwks_uri",
            "response_types_supported",
            "subject_types_supported",
            "id_token_signing_alg_values_supported"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        "[{label}] discovery must have exactly the kube-apiserver fields: {doc}"
    );
    assert_eq!(doc["issuer"], issuer, "[{label}] discovery issuer");
    assert_eq!(
        doc["jwks_uri"],
        format!("{issuer}{JWKS_PATH}"),
        "[{label}] discovery jwks_uri"
    );
    assert_eq!(
        doc["response_types_supported"],
        json!(["id_token"]),
        "[{label}] response types"
    );
    assert_eq!(
        doc["subject_types_supported"],
        json!(["public"]),
        "[{label}] subject types"
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(exp.algs),
        "[{label}] signing algorithms (sorted, from the keys)"
    );
    assert_eq!(
        str_attr(v, "discovery_document"),
        disc_text,
        "[{label}] discovery_document = the published object"
    );
    let jwks_text = jwks["body"].as_str().unwrap();
    assert_eq!(
        str_attr(v, "published_jwks"),
        jwks_text,
        "[{label}] published_jwks = the published object"
    );
    // `documents` (key => "sha256:<digest prefix> <content type> <cache control>"):
    // always set, so a missing attribute fails here (map_attr panics on null).
    {
        assert!(
            v["documents"].is_object(),
            "[{label}] documents is not set: {}",
            v["documents"]
        );
        let docs = map_attr(v, "documents");
        assert_eq!(
            docs.keys().cloned().collect::<BTreeSet<_>>(),
            [DISCOVERY_KEY.to_string(), JWKS_KEY.to_string()]
                .into_iter()
                .collect(),
            "[{label}] documents: {docs:?}"
        );
        for (key, o) in [(DISCOVERY_KEY, disc), (JWKS_KEY, jwks)] {
            let body = o["body"].as_str().unwrap_or("");
            let digest: String = sha2::Sha256::digest(body.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let entry = &docs[key];
            let got = entry
                .split_whitespace()
                .next()
                .and_then(|d| d.strip_prefix("sha256:"))
                .unwrap_or("");
            assert!(
                got.len() >= 16 && digest.starts_with(got),
                "[{label}] documents[{key:?}] = {entry:?} does not match the object's SHA-256 {digest}"
            );
            assert!(
                entry.contains(o["content_type"].as_str().unwrap_or("?")),
                "[{label}] documents[{key:?}] = {entry:?}: content type"
            );
        }
    }
    assert_eq!(
        sorted(&jwks_kids(jwks_text)),
        sorted(&exp.kids),
        "[{label}] kids in the JWKS object"
    );
    let published: Value = serde_json::from_str(jwks_text).unwrap();
    for k in as_list(&published["keys"]) {
        assert_eq!(k["use"], "sig", "[{label}] key use: {k}");
        assert!(
            k["kty"].is_string() && k["alg"].is_string(),
            "[{label}] key: {k}"
        );
        assert!(
            k.get("d").is_none(),
            "[{label}] private member published: {k}"
        );
    }
    if let Some(data) = &exp.data_jwks {
        let data: Value = serde_json::from_str(data).unwrap();
        for k in as_list(&data["keys"]) {
            assert!(
                as_list(&published["keys"]).contains(&k),
                "[{label}] key {} of the jwks input is not published as is: {jwks_text}",
                k["kid"]
            );
        }
    }

    // The IAM OIDC provider.
    let providers = as_list(&snap["oidc_providers"]);
    assert_eq!(
        providers.len(),
        1,
        "[{label}] exactly one OIDC provider: {providers:?}"
    );
    let p = &providers[0];
    assert_eq!(
        p["arn"],
        str_attr(v, "oidc_provider_arn"),
        "[{label}] OIDC provider ARN"
    );
    assert_eq!(
        p["url"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("https://"),
        exp.host(),
        "[{label}] OIDC provider URL"
    );
    assert_eq!(
        str_list(&p["client_ids"]),
        exp.client_ids,
        "[{label}] OIDC client IDs"
    );
    assert_eq!(
        sorted(&str_list(&p["thumbprints"])),
        sorted(&exp.thumbprints),
        "[{label}] OIDC thumbprints"
    );
    assert_tags(label, "OIDC provider", &p["tags"], exp);
}

/// CloudFront hosting: private bucket read only by this distribution, OAC,
/// certificate, distribution settings, records.
fn check_cloudfront(label: &str, snap: &Value, v: &Value, exp: &Expect) {
    check_common(label, snap, v, exp);
    let domain = exp.domain.as_deref().expect("cloudfront expectation");
    let zone = exp.zone_id.as_deref().expect("zone");
    let bucket = exp.bucket();
    let b = &snap["buckets"][&bucket];

    // Public access block: everything blocked.
    let pab = &b["public_access_block"];
    for k in [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(pab[k], true, "[{label}] public access block {k}: {pab}");
    }

    // Distribution.
    let dists = as_list(&snap["distributions"]);
    assert_eq!(
        dists.len(),
        1,
        "[{label}] exactly one distribution: {dists:#?}"
    );
    let d = &dists[0];
    assert_eq!(
        d["id"],
        str_attr(v, "distribution_id"),
        "[{label}] distribution_id"
    );
    assert_eq!(
        d["domain_name"],
        str_attr(v, "distribution_domain_name"),
        "[{label}] distribution_domain_name"
    );
    let dist_domain = d["domain_name"].as_str().unwrap().to_string();
    let dist_arn = d["arn"].as_str().unwrap().to_string();
    assert_eq!(d["status"], "Deployed", "[{label}] distribution status");
    let c = &d["config"];
    assert_eq!(c["Enabled"], true, "[{label}] distribution enabled");
    assert_eq!(
        c["Comment"],
        format!("irsa:{}", exp.name),
        "[{label}] distribution comment"
    );
    assert_eq!(
        str_list(&c["Aliases"]["Items"]),
        vec![domain.to_string()],
        "[{label}] aliases"
    );
    let vc = &c["ViewerCertificate"];
    assert_eq!(
        vc["ACMCertificateArn"],
        str_attr(v, "certificate_arn"),
        "[{label}] viewer cert: {vc}"
    );
    assert_eq!(
        vc["SSLSupportMethod"], "sni-only",
        "[{label}] SSL support: {vc}"
    );
    assert_eq!(
        vc["MinimumProtocolVersion"], "TLSv1.2_2021",
        "[{label}] TLS: {vc}"
    );
    assert_ne!(
        vc["CloudFrontDefaultCertificate"], true,
        "[{label}] default cert: {vc}"
    );
    assert_eq!(c["HttpVersion"], "http2and3", "[{label}] HTTP version");
    assert_eq!(c["IsIPV6Enabled"], true, "[{label}] IPv6");
    assert_eq!(
        c["PriceClass"],
        exp.price_class.as_str(),
        "[{label}] price class"
    );
    let origins = as_list(&c["Origins"]["Items"]);
    assert_eq!(origins.len(), 1, "[{label}] one origin: {origins:?}");
    let o = &origins[0];
    let od = o["DomainName"].as_str().unwrap_or("");
    assert!(
        od == format!("{bucket}.s3.{REGION}.amazonaws.com")
            || od == format!("{bucket}.s3.amazonaws.com"),
        "[{label}] origin domain {od:?} is not the bucket's S3 endpoint"
    );
    assert_eq!(
        o["OriginAccessControlId"],
        str_attr(v, "origin_access_control_id"),
        "[{label}] origin's OAC: {o}"
    );
    assert_eq!(
        o["S3OriginConfig"]["OriginAccessIdentity"], "",
        "[{label}] no legacy OAI with OAC: {o}"
    );
    let dcb = &c["DefaultCacheBehavior"];
    assert_eq!(
        dcb["TargetOriginId"], o["Id"],
        "[{label}] cache behaviour target"
    );
    assert_eq!(
        dcb["ViewerProtocolPolicy"], "redirect-to-https",
        "[{label}] viewer protocol"
    );
    assert_eq!(
        sorted(&str_list(&dcb["AllowedMethods"]["Items"])),
        vec!["GET", "HEAD"],
        "[{label}] allowed methods"
    );
    assert_eq!(
        sorted(&str_list(&dcb["AllowedMethods"]["CachedMethods"]["Items"])),
        vec!["GET", "HEAD"],
        "[{label}] cached methods"
    );
    if dcb["CachePolicyId"].as_str().unwrap_or("").is_empty() {
        // Legacy TTLs: as configured.
        assert_eq!(
            (
                dcb["MinTTL"].as_i64(),
                dcb["DefaultTTL"].as_i64(),
                dcb["MaxTTL"].as_i64()
            ),
            (Some(exp.ttl.0), Some(exp.ttl.1), Some(exp.ttl.2)),
            "[{label}] distribution TTLs: {dcb}"
        );
    }
    assert_tags(label, "distribution", &d["tags"], exp);
    assert!(
        !map_attr(v, "distribution_settings").is_empty(),
        "[{label}] distribution_settings is empty"
    );

    // Bucket policy: read only by this distribution, TLS only.
    let statements = policy_statements(label, &b["policy"]);
    assert!(
        statements.iter().any(|s| is_tls_deny(s, &bucket)),
        "[{label}] no deny of non-TLS requests: {}",
        b["policy"]
    );
    let allows: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert!(
        !allows.is_empty(),
        "[{label}] no allow for CloudFront: {}",
        b["policy"]
    );
    let allowed_resources: BTreeSet<String> = [
        format!("arn:aws:s3:::{bucket}/*"),
        format!("arn:aws:s3:::{bucket}/{DISCOVERY_KEY}"),
        format!("arn:aws:s3:::{bucket}/{JWKS_KEY}"),
    ]
    .into_iter()
    .collect();
    for st in &allows {
        assert_eq!(
            str_list(&st["Principal"]["Service"]),
            vec!["cloudfront.amazonaws.com"],
            "[{label}] allow for someone else than CloudFront: {st}"
        );
        assert_eq!(
            str_list(&st["Action"]),
            vec!["s3:GetObject"],
            "[{label}] allowed actions: {st}"
        );
        for r in str_list(&st["Resource"]) {
            assert!(
                allowed_resources.contains(&r),
                "[{label}] allowed resource {r}: {st}"
            );
        }
        assert_eq!(
            str_list(&st["Condition"]["StringEquals"]["AWS:SourceArn"]),
            vec![dist_arn.clone()],
            "[{label}] allow not limited to this distribution (AWS:SourceArn): {st}"
        );
    }
    for st in &statements {
        assert!(
            st["Effect"] == "Allow" || is_tls_deny(st, &bucket),
            "[{label}] unexpected statement: {st}"
        );
    }

    // OAC.
    let oacs = as_list(&snap["oacs"]);
    assert_eq!(oacs.len(), 1, "[{label}] exactly one OAC: {oacs:?}");
    let oac = &oacs[0];
    assert_eq!(
        oac["Id"],
        str_attr(v, "origin_access_control_id"),
        "[{label}] OAC id"
    );
    assert_eq!(
        oac["Name"],
        format!("{}-irsa", exp.name),
        "[{label}] OAC name"
    );
    assert_eq!(oac["SigningProtocol"], "sigv4", "[{label}] OAC: {oac}");
    assert_eq!(oac["SigningBehavior"], "always", "[{label}] OAC: {oac}");
    assert_eq!(
        oac["OriginAccessControlOriginType"], "s3",
        "[{label}] OAC: {oac}"
    );

    // Certificate.
    let certs = as_list(&snap["certificates"]);
    assert_eq!(
        certs.len(),
        1,
        "[{label}] exactly one certificate: {certs:#?}"
    );
    let cert = &certs[0];
    assert_eq!(cert["region"], "us-east-1", "[{label}] certificate region");
    assert_eq!(
        cert["arn"],
        str_attr(v, "certificate_arn"),
        "[{label}] certificate_arn"
    );
    assert_eq!(cert["domain"], domain, "[{label}] certificate domain");
    assert_eq!(cert["status"], "ISSUED", "[{label}] certificate status");
    assert_tags(label, "certificate", &cert["tags"], exp);
    let validation = as_list(&cert["validation"]);
    let vrec = &validation
        .iter()
        .find(|o| o["domain"] == domain)
        .unwrap_or_else(|| panic!("[{label}] no validation option for {domain}: {cert}"))["record"];
    let vname = vrec["Name"].as_str().unwrap().to_string();
    let vvalue = vrec["Value"].as_str().unwrap().to_string();

    // Records: A, AAAA alias to the distribution, the validation CNAME; nothing else.
    let records = zone_records(snap, zone);
    let find = |ty: &str, name: &str| {
        records
            .iter()
            .find(|r| {
                r["type"] == ty && trim_dot(r["name"].as_str().unwrap_or("")) == trim_dot(name)
            })
            .cloned()
    };
    for ty in ["A", "AAAA"] {
        let r = find(ty, domain)
            .unwrap_or_else(|| panic!("[{label}] no {ty} record for {domain}: {records:#?}"));
        assert_eq!(
            trim_dot(r["alias"]["dns_name"].as_str().unwrap_or("")),
            dist_domain,
            "[{label}] {ty} alias target: {r}"
        );
        assert_eq!(
            r["alias"]["zone_id"], CLOUDFRONT_HOSTED_ZONE_ID,
            "[{label}] {ty} alias zone: {r}"
        );
    }
    let cname = find("CNAME", &vname)
        .unwrap_or_else(|| panic!("[{label}] no validation record {vname}: {records:#?}"));
    assert_eq!(
        str_list(&cname["values"])
            .iter()
            .map(|s| trim_dot(s).to_string())
            .collect::<Vec<_>>(),
        vec![trim_dot(&vvalue).to_string()],
        "[{label}] validation record value"
    );
    assert_eq!(
        records.len(),
        3,
        "[{label}] exactly A, AAAA and the validation CNAME: {records:#?}"
    );

    // dns_records attribute.
    let dns = map_attr(v, "dns_records");
    for ty in ["A", "AAAA"] {
        let key = format!("{ty} {domain}");
        let val = dns
            .get(&key)
            .unwrap_or_else(|| panic!("[{label}] dns_records lacks {key:?}: {dns:?}"));
        assert!(
            val.contains(&dist_domain),
            "[{label}] dns_records[{key:?}] = {val:?}"
        );
    }
    let key = format!("CNAME {}", trim_dot(&vname));
    let val = dns
        .get(&key)
        .unwrap_or_else(|| panic!("[{label}] dns_records lacks {key:?}: {dns:?}"));
    assert_eq!(
        trim_dot(val),
        trim_dot(&vvalue),
        "[{label}] dns_records[{key:?}]"
    );
    assert_eq!(dns.len(), 3, "[{label}] dns_records: {dns:?}");
}

/// S3 hosting: only the two documents public, TLS only, no CloudFront/ACM/Route53.
fn check_s3(label: &str, snap: &Value, v: &Value, exp: &Expect) {
    check_common(label, snap, v, exp);
    let bucket = exp.bucket();
    let b = &snap["buckets"][&bucket];
    let pab = &b["public_access_block"];
    assert_eq!(pab["BlockPublicAcls"], true, "[{label}] PAB: {pab}");
    assert_eq!(pab["IgnorePublicAcls"], true, "[{label}] PAB: {pab}");
    assert_eq!(
        pab["BlockPublicPolicy"], false,
        "[{label}] PAB must allow the policy: {pab}"
    );
    assert_eq!(
        pab["RestrictPublicBuckets"], false,
        "[{label}] PAB must allow the policy: {pab}"
    );

    let statements = policy_statements(label, &b["policy"]);
    assert!(
        statements.iter().any(|s| is_tls_deny(s, &bucket)),
        "[{label}] no deny of non-TLS requests: {}",
        b["policy"]
    );
    let mut public: BTreeSet<String> = BTreeSet::new();
    for st in &statements {
        if st["Effect"] == "Allow" {
            assert!(
                principal_is_everyone(&st["Principal"]),
                "[{label}] allow: {st}"
            );
            assert_eq!(
                str_list(&st["Action"]),
                vec!["s3:GetObject"],
                "[{label}] allowed actions: {st}"
            );
            public.extend(str_list(&st["Resource"]));
        } else {
            assert!(
                is_tls_deny(st, &bucket),
                "[{label}] unexpected statement: {st}"
            );
        }
    }
    assert_eq!(
        public,
        [
            format!("arn:aws:s3:::{bucket}/{DISCOVERY_KEY}"),
            format!("arn:aws:s3:::{bucket}/{JWKS_KEY}"),
        ]
        .into_iter()
        .collect(),
        "[{label}] exactly the two documents must be public"
    );

    for attr in [
        "domain",
        "route53_zone_id",
        "distribution_id",
        "distribution_domain_name",
        "certificate_arn",
        "origin_access_control_id",
    ] {
        assert!(
            v[attr].is_null(),
            "[{label}] {attr} must be null with S3 hosting: {}",
            v[attr]
        );
    }
    for attr in ["dns_records", "distribution_settings"] {
        assert!(
            v[attr].is_null() || v[attr].as_object().is_some_and(|m| m.is_empty()),
            "[{label}] {attr} must be null/empty with S3 hosting: {}",
            v[attr]
        );
    }
    assert!(
        as_list(&snap["distributions"]).is_empty(),
        "[{label}] a distribution was made"
    );
    assert!(
        as_list(&snap["oacs"]).is_empty(),
        "[{label}] an OAC was made"
    );
    assert!(
        as_list(&snap["certificates"]).is_empty(),
        "[{label}] a certificate was made"
    );
}

async fn check_outputs(label: &str, wd: &Workdir, v: &Value) {
    let outs = wd.output_json().await;
    for name in [
        "issuer_url",
        "oidc_provider_url",
        "oidc_provider_arn",
        "jwks_uri",
    ] {
        assert_eq!(outs[name]["value"], v[name], "[{label}] output {name}");
    }
}

/// `state rm` + `import <name>` must give the same state and an empty plan.
async fn remove_and_import(label: &str, wd: &Workdir, name: &str) {
    let before = values(wd).await;
    ok(wd.run_ok(&["state", "rm", ADDR]).await);
    assert!(
        !in_state(&wd.state_json().await, ADDR),
        "[{label}] still in state after state rm"
    );
    ok(wd.import(ADDR, name).await);
    // Terraform 1.0 drops the outputs from the state on `state rm`/`import`
    // and counts their return as a change (exit 2): allow exactly that, no
    // resource change.
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    let only_outputs = out.code == Some(2)
        && out.matches(r"Changes to Outputs:")
        && !out.matches(r"(?m)^\s*# irsa_oidc_issuer\.")
        && !out.matches(r"Plan: \d+ to add");
    assert!(
        out.code == Some(0) || only_outputs,
        "[{label}] expected an empty plan after import:\n{out}"
    );
    let after = values(wd).await;
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("timeouts");
        }
        v
    };
    let (b, a) = (strip(&before), strip(&after));
    if b != a {
        let diff: Vec<String> = b
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, bv)| a.get(*k) != Some(*bv))
            .map(|(k, bv)| format!("  {k}: before {bv} / after import {}", a[k]))
            .collect();
        panic!(
            "[{label}] import does not reproduce the state:\n{}",
            diff.join("\n")
        );
    }
}

/// Destroy, then: nothing in state, nothing in moto.
async fn destroy_and_check(label: &str, wd: &Workdir, moto: &Moto) {
    ok(wd.destroy().await);
    assert!(
        !in_state(&wd.state_json().await, ADDR),
        "[{label}] still in state after destroy"
    );
    assert_nothing_left(label, moto).await;
}

// ---------------------------------------------------------------------------
// 1. CloudFront full cycle
// ---------------------------------------------------------------------------

/// CloudFront hosting: apply → every part checked in moto (bucket private,
/// SSE, versioning, policy for this distribution only + TLS deny; OAC;
/// ISSUED certificate in us-east-1; distribution settings; A/AAAA alias and
/// validation CNAME; both documents with content types and Cache-Control;
/// OIDC provider; tags everywhere) and every attribute/output → empty plan →
/// `state rm` + import by name → same state, empty plan → destroy → nothing
/// left in moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_full_cycle() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "cloudfront_full_cycle", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            // Distributions read InProgress once after each change, so
            // check_cloudfront's `status == "Deployed"` holds only because
            // the provider waited for the deployment.
            slow_deployments(moto).await;
            let (name, domain) = ("prod-cluster", "oidc.prod.example.com");
            let hcl =
                IssuerHcl::cloudfront(name, domain, &zone).with(r#"tags = { team = "platform" }"#);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.data_jwks = wd
                .output_value("data_jwks")
                .await
                .as_str()
                .map(str::to_string);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &v, &exp);
            assert!(
                as_list(&v["retained_keys"]).is_empty(),
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            assert_eq!(v["hosting"], "cloudfront", "[{label}] hosting default");
            assert_eq!(
                v["price_class"], "PriceClass_100",
                "[{label}] price_class default"
            );
            assert_eq!(v["key_retention"], "24h", "[{label}] key_retention default");
            assert_eq!(
                v["cache_ttl"],
                json!({"min": 0, "default": 3600, "max": 86400}),
                "[{label}] cache_ttl default"
            );
            check_outputs(&label, &wd, &v).await;
            wd.plan_is_empty().await;

            remove_and_import(&label, &wd, name).await;
            let snap2 = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap2, &values(&wd).await, &exp);

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// moto's state manager: after each change (create, update) every
/// distribution reads `InProgress` at the first GetDistribution and
/// `Deployed` from the second on (`times: 2` counts the change's own
/// answer; checked against moto 5.2.5: create InProgress, get InProgress,
/// get Deployed). Without a provider that waits, the snapshot's first read
/// would see InProgress.
async fn slow_deployments(moto: &Moto) {
    boto_ok(
        &moto.endpoint,
        r#"
import urllib.request
req = urllib.request.Request(
    EP + "/moto-api/state-manager/set-transition",
    data=json.dumps({"model_name": "cloudfront::distribution",
                     "transition": {"progression": "manual", "times": 2}}).encode(),
    method="POST")
out(urllib.request.urlopen(req, timeout=10).status)
"#,
        Value::Null,
    )
    .await;
}

// ---------------------------------------------------------------------------
// 2. S3 hosting full cycle
// ---------------------------------------------------------------------------

/// S3 hosting with an RSA and an EC key: issuer =
/// `https://<bucket>.s3.eu-west-1.amazonaws.com`; PAB allows only the
/// policy; the policy makes exactly the two documents public and denies
/// non-TLS; discovery lists ES256 and RS256; no CloudFront/ACM/Route53
/// parts or attributes → empty plan → import → empty plan → destroy →
/// nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_full_cycle() {
    let moto = start_moto().await;
    let (a, ec) = (TestKey::fixture(), TestKey::ec_p256());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, ec) = (a.clone(), ec.clone());
        bounded(BODY_LIMIT, "s3_full_cycle", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let name = "dev-cluster";
            let hcl = IssuerHcl::s3(name)
                .keys(2)
                .with(r#"tags = { team = "platform", env = "dev" }"#);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&a, &ec]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let mut exp = Expect::s3(name, &[&a, &ec]);
            assert_eq!(exp.algs, vec!["ES256", "RS256"]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.user_tags.insert("env".into(), "dev".into());
            exp.data_jwks = wd
                .output_value("data_jwks")
                .await
                .as_str()
                .map(str::to_string);
            let snap = snapshot(&moto.endpoint).await;
            check_s3(&label, &snap, &v, &exp);
            assert_eq!(
                str_attr(&v, "issuer_url"),
                format!("https://dev-cluster-oidc-{ACCOUNT_ID}.s3.eu-west-1.amazonaws.com")
            );
            check_outputs(&label, &wd, &v).await;
            wd.plan_is_empty().await;

            remove_and_import(&label, &wd, name).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &values(&wd).await,
                &exp,
            );

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 3. JWKS rotation
// ---------------------------------------------------------------------------

/// S3 hosting. Key A → add B (JWKS object holds A and B) → remove A with
/// `key_retention = "1h"` (A still published, `retained_keys` = A with
/// `expires_at` about an hour ahead) → `key_retention = "0s"` (A gone from
/// the object and the attributes). Then client IDs and a thumbprint are
/// changed in place on the same OIDC provider. Each step: empty plan after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotation_s3() {
    let moto = start_moto().await;
    let (a, b) = (TestKey::fixture(), TestKey::rsa());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, b) = (a.clone(), b.clone());
        bounded(BODY_LIMIT, "jwks_rotation_s3", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let name = "rot-cluster";
            let base = IssuerHcl::s3(name);
            let wd = workdir(&tf, moto, &moto.endpoint, &base, &[&a]);
            ok(wd.apply().await);
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &values(&wd).await,
                &Expect::s3(name, &[&a]),
            );
            wd.plan_is_empty().await;
            let discovery_before = str_attr(&values(&wd).await, "discovery_document").to_string();

            // Add B.
            reconfigure(&wd, &base.clone().keys(2), &[&a, &b]);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"0 to add, 1 to change, 0 to destroy"),
                "[{label}] adding a key must update in place:\n{out}"
            );
            let v = values(&wd).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &v,
                &Expect::s3(name, &[&a, &b]),
            );
            assert_eq!(
                str_attr(&v, "discovery_document"),
                discovery_before,
                "[{label}] discovery changed"
            );
            wd.plan_is_empty().await;

            // Remove A, keep it for an hour.
            let removed_at = time::OffsetDateTime::now_utc();
            reconfigure(&wd, &base.clone().with(r#"key_retention = "1h""#), &[&b]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let snap = snapshot(&moto.endpoint).await;
            // Still published: the documents hold A and B.
            check_s3(&label, &snap, &v, &Expect::s3(name, &[&a, &b]));
            let retained = as_list(&v["retained_keys"]);
            assert_eq!(
                retained.len(),
                1,
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            assert_eq!(retained[0]["kid"], a.kid.as_str(), "[{label}] retained kid");
            let expires = retained[0]["expires_at"].as_str().unwrap_or("");
            let expires = time::OffsetDateTime::parse(
                expires,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap_or_else(|e| panic!("[{label}] expires_at {expires:?} is not RFC 3339: {e}"));
            let ahead = expires - removed_at;
            assert!(
                ahead > time::Duration::minutes(55) && ahead < time::Duration::minutes(65),
                "[{label}] expires_at {expires} is not about 1h after the removal ({removed_at})"
            );
            wd.plan_is_empty().await;

            // Retention over: A goes at the next apply.
            reconfigure(&wd, &base.clone().with(r#"key_retention = "0s""#), &[&b]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &v,
                &Expect::s3(name, &[&b]),
            );
            assert!(
                as_list(&v["retained_keys"]).is_empty(),
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            wd.plan_is_empty().await;

            // Client IDs and thumbprints change in place on the same provider.
            let arn = str_attr(&v, "oidc_provider_arn").to_string();
            let thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
            let hcl = base
                .clone()
                .with(r#"key_retention = "0s""#)
                .with(r#"client_ids = ["sts.amazonaws.com", "my-audience"]"#)
                .with(&format!(r#"thumbprints = ["{thumb}"]"#));
            reconfigure(&wd, &hcl, &[&b]);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"0 to add, 1 to change, 0 to destroy"),
                "[{label}] client IDs must change in place:\n{out}"
            );
            let v = values(&wd).await;
            assert_eq!(str_attr(&v, "oidc_provider_arn"), arn);
            let mut exp = Expect::s3(name, &[&b]);
            exp.client_ids = vec!["sts.amazonaws.com".into(), "my-audience".into()];
            exp.thumbprints = vec![thumb.into()];
            check_s3(&label, &snapshot(&moto.endpoint).await, &v, &exp);
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// The invalidations of the (only) distribution whose paths are exactly
/// the two documents.
fn document_invalidations(snap: &Value) -> Vec<Value> {
    let want: BTreeSet<String> = [DISCOVERY_PATH, JWKS_PATH]
        .iter()
        .map(|s| s.to_string())
        .collect();
    as_list(&snap["distributions"][0]["invalidations"])
        .into_iter()
        .filter(|i| str_list(&i["paths"]).into_iter().collect::<BTreeSet<_>>() == want)
        .collect()
}

fn invalidation_count(snap: &Value) -> usize {
    as_list(&snap["distributions"][0]["invalidations"]).len()
}

/// CloudFront hosting (with a `timeouts` block). Adding a key re-uploads
/// the JWKS and creates an invalidation of exactly the two document paths;
/// removing one (retention 0s) does again; a tags-only change updates tags
/// on every part without an invalidation; price class and cache TTLs
/// change in place (same distribution, new Cache-Control). Empty plan after
/// each step; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotation_cloudfront_invalidates() {
    let moto = start_moto().await;
    let (a, b) = (TestKey::fixture(), TestKey::rsa());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, b) = (a.clone(), b.clone());
        bounded(BODY_LIMIT, "jwks_rotation_cloudfront_invalidates", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("rot-cf", "oidc.rot.example.com");
            let base = IssuerHcl::cloudfront(name, domain, &zone)
                .with(r#"key_retention = "0s""#)
                .with("timeouts {\n    create = \"15m\"\n    update = \"15m\"\n    delete = \"15m\"\n  }");
            let wd = workdir(&tf, moto, &moto.endpoint, &base, &[&a]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &values(&wd).await, &Expect::cloudfront(name, domain, &zone, &[&a]));
            let n0 = invalidation_count(&snap);
            let d0 = document_invalidations(&snap).len();
            wd.plan_is_empty().await;

            // Add B: documents updated, one invalidation of both paths.
            reconfigure(&wd, &base.clone().keys(2), &[&a, &b]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            let v = values(&wd).await;
            check_cloudfront(&label, &snap, &v, &Expect::cloudfront(name, domain, &zone, &[&a, &b]));
            assert!(
                document_invalidations(&snap).len() > d0,
                "[{label}] no invalidation of {DISCOVERY_PATH} and {JWKS_PATH} after adding a key: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            let n1 = invalidation_count(&snap);
            assert!(n1 > n0);
            wd.plan_is_empty().await;

            // Remove A (no retention): another invalidation.
            reconfigure(&wd, &base, &[&b]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &values(&wd).await, &Expect::cloudfront(name, domain, &zone, &[&b]));
            let d2 = document_invalidations(&snap).len();
            assert!(
                invalidation_count(&snap) > n1 && d2 > 0,
                "[{label}] no new invalidation after removing a key: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            let n2 = invalidation_count(&snap);
            wd.plan_is_empty().await;

            // Tags only: every part re-tagged, no invalidation.
            let dist_id = str_attr(&values(&wd).await, "distribution_id").to_string();
            let tagged = base.clone().with(r#"tags = { team = "platform", env = "prod" }"#);
            reconfigure(&wd, &tagged, &[&b]);
            let out = ok(wd.apply().await);
            assert!(out.matches(r"0 to add, 1 to change, 0 to destroy"), "[{label}] tags must change in place:\n{out}");
            let snap = snapshot(&moto.endpoint).await;
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&b]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.user_tags.insert("env".into(), "prod".into());
            check_cloudfront(&label, &snap, &values(&wd).await, &exp);
            assert_eq!(
                invalidation_count(&snap),
                n2,
                "[{label}] a tags-only change must not invalidate: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            wd.plan_is_empty().await;

            // Price class and TTLs in place.
            let tuned = tagged
                .clone()
                .with(r#"price_class = "PriceClass_All""#)
                .with("cache_ttl = { min = 0, default = 600, max = 3600 }");
            reconfigure(&wd, &tuned, &[&b]);
            let out = ok(wd.apply().await);
            assert!(out.matches(r"0 to add, 1 to change, 0 to destroy"), "[{label}] price class/TTLs must change in place:\n{out}");
            let v = values(&wd).await;
            assert_eq!(str_attr(&v, "distribution_id"), dist_id, "[{label}] distribution replaced");
            exp.price_class = "PriceClass_All".into();
            exp.ttl = (0, 600, 3600);
            check_cloudfront(&label, &snapshot(&moto.endpoint).await, &v, &exp);
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 4. Drift
// ---------------------------------------------------------------------------

/// CloudFront hosting. Each part changed out of band in moto, one after the
/// other: (a) JWKS object deleted, (b) A record deleted, (c) price class /
/// HTTP version / IPv6 changed on the distribution, (d) OIDC provider
/// deleted, (e) client IDs changed on it, (f) bucket versioning suspended.
/// Each time: `plan -detailed-exitcode` = 2, naming the attribute, in place;
/// apply repairs it (checked in moto); then an empty plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_and_repaired() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "drift_is_detected_and_repaired", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("drift", "oidc.drift.example.com");
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;
            let v = values(&wd).await;
            let bucket = str_attr(&v, "bucket").to_string();
            let dist_id = str_attr(&v, "distribution_id").to_string();
            let provider_arn = str_attr(&v, "oidc_provider_arn").to_string();
            let jwks_body = str_attr(&v, "published_jwks").to_string();

            // (a) The JWKS object.
            boto_ok(
                &ep,
                r#"client("s3").delete_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks")"#,
                json!({"bucket": bucket}),
            )
            .await;
            let out = expect_repair_plan(
                &wd,
                "(a) JWKS object deleted",
                "published_jwks|published_kids|documents",
            )
            .await;
            assert!(
                out.matches(r"openid/v1/jwks"),
                "[{label}] (a) the plan should name the JWKS object:\n{out}"
            );
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            let obj = &snap["buckets"][&bucket]["objects"][JWKS_KEY];
            assert_eq!(obj["body"], jwks_body.as_str(), "[{label}] (a) JWKS object not restored: {obj}");
            assert_eq!(obj["content_type"], "application/jwk-set+json", "[{label}] (a)");
            wd.plan_is_empty().await;

            // (b) The A record.
            boto_ok(
                &ep,
                r#"
r53 = client("route53", "us-east-1")
recs = r53.list_resource_record_sets(HostedZoneId=ARGS["zone"])["ResourceRecordSets"]
rec = [r for r in recs if r["Type"] == "A" and r["Name"].rstrip(".") == ARGS["domain"]][0]
r53.change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rec}]})
"#,
                json!({"zone": zone, "domain": domain}),
            )
            .await;
            expect_repair_plan(&wd, "(b) A record deleted", "dns_records").await;
            ok(wd.apply().await);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;

            // (c) Distribution settings.
            boto_ok(
                &ep,
                r#"
def change(c):
    c["PriceClass"] = "PriceClass_All"
    c["HttpVersion"] = "http2"
    c["IsIPV6Enabled"] = False
update_distribution(ARGS["id"], change)
"#,
                json!({"id": dist_id}),
            )
            .await;
            let snap = snapshot(&ep).await;
            assert_eq!(snap["distributions"][0]["config"]["PriceClass"], "PriceClass_All", "[{label}] (c) moto did not take the change");
            expect_repair_plan(&wd, "(c) distribution settings changed", "distribution_settings|price_class").await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            let c = &snap["distributions"][0]["config"];
            assert_eq!(
                (c["PriceClass"].as_str(), c["HttpVersion"].as_str(), c["IsIPV6Enabled"].as_bool()),
                (Some("PriceClass_100"), Some("http2and3"), Some(true)),
                "[{label}] (c) distribution not repaired"
            );
            assert_eq!(snap["distributions"][0]["id"], dist_id.as_str(), "[{label}] (c) distribution replaced");
            wd.plan_is_empty().await;

            // (d) The OIDC provider.
            boto_ok(
                &ep,
                r#"client("iam", "us-east-1").delete_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"])"#,
                json!({"arn": provider_arn}),
            )
            .await;
            assert!(as_list(&snapshot(&ep).await["oidc_providers"]).is_empty());
            expect_repair_plan(&wd, "(d) OIDC provider deleted", "oidc_provider_arn|client_ids|oidc_provider_url").await;
            ok(wd.apply().await);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;

            // (e) Client IDs changed on the provider.
            boto_ok(
                &ep,
                r#"
iam = client("iam", "us-east-1")
iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"], ClientID="intruder.example.com")
iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"], ClientID="sts.amazonaws.com")
"#,
                json!({"arn": provider_arn}),
            )
            .await;
            assert_eq!(
                str_list(&snapshot(&ep).await["oidc_providers"][0]["client_ids"]),
                vec!["intruder.example.com"]
            );
            expect_repair_plan(&wd, "(e) client IDs changed", "client_ids").await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            assert_eq!(
                str_list(&snap["oidc_providers"][0]["client_ids"]),
                vec!["sts.amazonaws.com"],
                "[{label}] (e) client IDs not repaired"
            );
            wd.plan_is_empty().await;

            // (f) Versioning suspended.
            boto_ok(
                &ep,
                r#"client("s3").put_bucket_versioning(Bucket=ARGS["bucket"], VersioningConfiguration={"Status": "Suspended"})"#,
                json!({"bucket": bucket}),
            )
            .await;
            expect_repair_plan(&wd, "(f) versioning suspended", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            assert_eq!(snap["buckets"][&bucket]["versioning"], "Enabled", "[{label}] (f) versioning not repaired");
            wd.plan_is_empty().await;

            // Everything consistent at the end.
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// (g) Bucket and distribution (disabled, then deleted) removed out of
/// band: the resource leaves the state and the plan proposes to create it.
/// Then, no orphans: the next apply must converge despite the leftover OAC,
/// certificate, records and OIDC provider of the lost issuer (adopt or
/// clean them), and destroy must then leave nothing. (The first half used
/// to be a test of its own too, `drift_core_parts_gone_leaves_state`: the
/// same steps and assertions, so it only added runtime.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_core_parts_gone_then_apply_converges_without_orphans() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "drift_core_parts_gone", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("gone", "oidc.gone.example.com");
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            boto_ok(
                &ep,
                r#"
empty_bucket(ARGS["bucket"])
client("s3").delete_bucket(Bucket=ARGS["bucket"])
delete_distribution(ARGS["id"])
"#,
                json!({"bucket": str_attr(&v, "bucket"), "id": str_attr(&v, "distribution_id")}),
            )
            .await;
            let snap = snapshot(&ep).await;
            assert!(
                as_list(&snap["distributions"]).is_empty(),
                "[{label}] distribution still there"
            );
            assert!(
                snap["buckets"].as_object().unwrap().is_empty(),
                "[{label}] bucket still there"
            );

            let out = wd.run(&["plan", "-detailed-exitcode"]).await;
            assert_eq!(
                out.code,
                Some(2),
                "[{label}] (g) expected a plan to create:\n{out}"
            );
            out.assert_matches(r"irsa_oidc_issuer\.this will be created");
            out.assert_matches(r"1 to add, 0 to change, 0 to destroy");

            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            check_cloudfront(
                &label,
                &snap,
                &values(&wd).await,
                &Expect::cloudfront(name, domain, &zone, &[&key]),
            );
            wd.plan_is_empty().await;
            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// CloudFront hosting with a thumbprint and tags configured. The parts the
/// first drift test does not touch, each changed out of band in moto, one
/// after the other: (h) discovery document deleted, (i) JWKS object
/// overwritten with other keys, (j) AAAA record deleted, (k) the ACM
/// validation CNAME deleted, (l) thumbprints replaced on the OIDC provider,
/// (m) a tag changed and one added on it, (n) bucket policy replaced by one
/// that lets everyone read, (o) public access block switched off, (p)
/// default encryption switched to SSE-KMS, (q) the OAC detached from the
/// distribution and deleted (a new one is made and attached), (r) the
/// certificate replaced on the distribution, then deleted (a new one is
/// requested, validated, attached). Each time the plan names the
/// attribute that shows it, in place; apply puts the part back (checked in
/// moto); then the plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_of_every_other_part_is_detected_and_repaired() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    let other = TestKey::rsa();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        let other = other.clone();
        bounded(BODY_LIMIT, "drift_of_every_other_part", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("drift2", "oidc.drift2.example.com");
            let thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
            let hcl = IssuerHcl::cloudfront(name, domain, &zone)
                .with(&format!(r#"thumbprints = ["{thumb}"]"#))
                .with(r#"tags = { team = "platform" }"#);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            exp.thumbprints = vec![thumb.into()];
            exp.user_tags = BTreeMap::from([("team".to_string(), "platform".to_string())]);
            let check = |what: &'static str| {
                let exp = exp.clone();
                let label = label.clone();
                let wd = &wd;
                let ep = ep.clone();
                async move {
                    let snap = snapshot(&ep).await;
                    check_cloudfront(&format!("{label} {what}"), &snap, &values(wd).await, &exp);
                    snap
                }
            };
            let before = check("after create").await;
            wd.plan_is_empty().await;
            let v = values(&wd).await;
            let bucket = str_attr(&v, "bucket").to_string();
            let provider_arn = str_attr(&v, "oidc_provider_arn").to_string();
            let objects = &before["buckets"][&bucket]["objects"];
            let (disc_body, jwks_body) = (
                objects[DISCOVERY_KEY]["body"].as_str().unwrap().to_string(),
                objects[JWKS_KEY]["body"].as_str().unwrap().to_string(),
            );
            let object_bodies = |snap: &Value| {
                let o = &snap["buckets"][&bucket]["objects"];
                (
                    o[DISCOVERY_KEY]["body"].as_str().map(str::to_string),
                    o[JWKS_KEY]["body"].as_str().map(str::to_string),
                )
            };

            // (h) The discovery document.
            boto_ok(
                &ep,
                r#"client("s3").delete_object(Bucket=ARGS["bucket"], Key=".well-known/openid-configuration")"#,
                json!({"bucket": bucket}),
            )
            .await;
            let out = expect_repair_plan(&wd, "(h) discovery document deleted", "documents").await;
            assert!(
                out.matches(r"\.well-known/openid-configuration"),
                "[{label}] (h) the plan should name the discovery document:\n{out}"
            );
            ok(wd.apply().await);
            let snap = check("(h) repaired").await;
            assert_eq!(object_bodies(&snap).0.as_deref(), Some(disc_body.as_str()), "[{label}] (h)");
            wd.plan_is_empty().await;

            // (i) The JWKS object overwritten (same content type and
            // Cache-Control: only the body differs).
            let foreign = format!(r#"{{"keys":[{}]}}"#, other.rsa_jwk());
            boto_ok(
                &ep,
                r#"
s3 = client("s3")
cur = s3.head_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks")
s3.put_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks", Body=ARGS["body"].encode(),
              ContentType=cur["ContentType"], CacheControl=cur["CacheControl"])
"#,
                json!({"bucket": bucket, "body": foreign}),
            )
            .await;
            assert_eq!(object_bodies(&snapshot(&ep).await).1.as_deref(), Some(foreign.as_str()));
            let out = expect_repair_plan(&wd, "(i) JWKS object modified", "documents").await;
            assert!(out.matches(r"openid/v1/jwks"), "[{label}] (i) the plan should name the JWKS object:\n{out}");
            ok(wd.apply().await);
            let snap = check("(i) repaired").await;
            assert_eq!(object_bodies(&snap).1.as_deref(), Some(jwks_body.as_str()), "[{label}] (i)");
            wd.plan_is_empty().await;

            // (j) The AAAA record, (k) the validation CNAME.
            for (step, rtype) in [("(j) AAAA record deleted", "AAAA"), ("(k) validation CNAME deleted", "CNAME")] {
                boto_ok(
                    &ep,
                    r#"
r53 = client("route53", "us-east-1")
recs = r53.list_resource_record_sets(HostedZoneId=ARGS["zone"])["ResourceRecordSets"]
rec = [r for r in recs if r["Type"] == ARGS["type"] and r["Name"].rstrip(".").endswith(ARGS["domain"])][0]
r53.change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rec}]})
"#,
                    json!({"zone": zone, "domain": domain, "type": rtype}),
                )
                .await;
                let left = zone_records(&snapshot(&ep).await, &zone);
                assert!(
                    !left.iter().any(|r| r["type"] == rtype),
                    "[{label}] {step}: moto still holds it: {left:?}"
                );
                let out = expect_repair_plan(&wd, step, "dns_records").await;
                assert!(
                    out.matches(&format!(r#""{rtype} "#)),
                    "[{label}] {step}: the plan should name the {rtype} record:\n{out}"
                );
                ok(wd.apply().await);
                check(step).await;
                wd.plan_is_empty().await;
            }

            // (l) Thumbprints replaced on the provider.
            boto_ok(
                &ep,
                r#"client("iam", "us-east-1").update_open_id_connect_provider_thumbprint(
    OpenIDConnectProviderArn=ARGS["arn"], ThumbprintList=["0000000000000000000000000000000000000000"])"#,
                json!({"arn": provider_arn}),
            )
            .await;
            expect_repair_plan(&wd, "(l) thumbprints replaced", "thumbprints").await;
            ok(wd.apply().await);
            check("(l) repaired").await;
            wd.plan_is_empty().await;

            // (m) Tags changed on the provider.
            boto_ok(
                &ep,
                r#"client("iam", "us-east-1").tag_open_id_connect_provider(
    OpenIDConnectProviderArn=ARGS["arn"], Tags=[{"Key": "team", "Value": "intruder"}, {"Key": "extra", "Value": "x"}])"#,
                json!({"arn": provider_arn}),
            )
            .await;
            expect_repair_plan(&wd, "(m) tags changed", "tags").await;
            ok(wd.apply().await);
            check("(m) repaired").await;
            wd.plan_is_empty().await;

            // (n) The bucket policy replaced: everyone may read.
            boto_ok(
                &ep,
                r#"
import json as _j
client("s3").put_bucket_policy(Bucket=ARGS["bucket"], Policy=_j.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::" + ARGS["bucket"] + "/*"}]}))
"#,
                json!({"bucket": bucket}),
            )
            .await;
            expect_repair_plan(&wd, "(n) bucket policy replaced", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(n) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["policy"], before["buckets"][&bucket]["policy"],
                "[{label}] (n) policy not put back"
            );
            wd.plan_is_empty().await;

            // (o) Public access block off.
            boto_ok(
                &ep,
                r#"client("s3").put_public_access_block(Bucket=ARGS["bucket"], PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})"#,
                json!({"bucket": bucket}),
            )
            .await;
            expect_repair_plan(&wd, "(o) public access block off", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(o) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["public_access_block"], before["buckets"][&bucket]["public_access_block"],
                "[{label}] (o) public access block not put back"
            );
            wd.plan_is_empty().await;

            // (p) Default encryption switched to SSE-KMS.
            boto_ok(
                &ep,
                r#"client("s3").put_bucket_encryption(Bucket=ARGS["bucket"], ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})"#,
                json!({"bucket": bucket}),
            )
            .await;
            expect_repair_plan(&wd, "(p) encryption switched to SSE-KMS", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(p) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["encryption"], before["buckets"][&bucket]["encryption"],
                "[{label}] (p) encryption not put back"
            );
            wd.plan_is_empty().await;

            // (q) The OAC detached from the distribution and deleted (CloudFront
            // refuses to delete one in use): a new one is made and attached.
            let old_oac = str_attr(&values(&wd).await, "origin_access_control_id").to_string();
            boto_ok(
                &ep,
                r#"
def detach(c):
    for o in c["Origins"]["Items"]:
        o["OriginAccessControlId"] = ""
update_distribution(ARGS["id"], detach)
cf = client("cloudfront", "us-east-1")
etag = cf.get_origin_access_control(Id=ARGS["oac"])["ETag"]
cf.delete_origin_access_control(Id=ARGS["oac"], IfMatch=etag)
"#,
                json!({"id": str_attr(&v, "distribution_id"), "oac": old_oac}),
            )
            .await;
            assert!(as_list(&snapshot(&ep).await["oacs"]).is_empty(), "[{label}] (q) OAC still in moto");
            expect_repair_plan(&wd, "(q) OAC deleted", "origin_access_control_id|distribution_settings").await;
            ok(wd.apply().await);
            let snap = check("(q) repaired").await;
            let oacs = as_list(&snap["oacs"]);
            let new_oac = str_attr(&values(&wd).await, "origin_access_control_id").to_string();
            assert_eq!(oacs.len(), 1, "[{label}] (q) OACs: {oacs:?}");
            assert_eq!(oacs[0]["Id"], new_oac.as_str(), "[{label}] (q) state's OAC is not moto's");
            assert_ne!(new_oac, old_oac, "[{label}] (q) OAC id unchanged");
            let origins = as_list(&snap["distributions"][0]["config"]["Origins"]["Items"]);
            assert!(
                origins.iter().all(|o| o["OriginAccessControlId"] == new_oac.as_str()),
                "[{label}] (q) the distribution does not use the new OAC: {origins:?}"
            );
            wd.plan_is_empty().await;

            // (r) The certificate replaced on the distribution by CloudFront's
            // default one (aliases dropped, as CloudFront requires), then
            // deleted (ACM refuses while it is in use): a new one is
            // requested, validated and attached with the alias again.
            let old_cert = str_attr(&values(&wd).await, "certificate_arn").to_string();
            boto_ok(
                &ep,
                r#"
def default_cert(c):
    c["Aliases"] = {"Quantity": 0}
    c["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1",
                              "CertificateSource": "cloudfront"}
update_distribution(ARGS["id"], default_cert)
client("acm", "us-east-1").delete_certificate(CertificateArn=ARGS["cert"])
"#,
                json!({"id": str_attr(&v, "distribution_id"), "cert": old_cert}),
            )
            .await;
            assert!(as_list(&snapshot(&ep).await["certificates"]).is_empty(), "[{label}] (r) certificate still in moto");
            expect_repair_plan(&wd, "(r) certificate deleted", "certificate_arn|distribution_settings").await;
            ok(wd.apply().await);
            let snap = check("(r) repaired").await;
            let certs = as_list(&snap["certificates"]);
            let new_cert = str_attr(&values(&wd).await, "certificate_arn").to_string();
            assert_eq!(certs.len(), 1, "[{label}] (r) certificates: {certs:?}");
            assert_eq!(certs[0]["arn"], new_cert.as_str(), "[{label}] (r) state's certificate is not moto's");
            assert_eq!(certs[0]["status"], "ISSUED", "[{label}] (r) new certificate not issued");
            assert_ne!(new_cert, old_cert, "[{label}] (r) certificate ARN unchanged");
            let vc = &snap["distributions"][0]["config"]["ViewerCertificate"];
            assert_eq!(vc["ACMCertificateArn"], new_cert.as_str(), "[{label}] (r) distribution certificate: {vc}");
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// `plan -detailed-exitcode` must replace the issuer because of `attr`
/// (Terraform's `# forces replacement` on that attribute's line; 1 to add,
/// 1 to destroy).
async fn expect_replace_plan(wd: &Workdir, what: &str, attr: &str) {
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(2),
        "[{}] {what}: expected a plan:\n{out}",
        wd.label()
    );
    out.assert_matches(r"irsa_oidc_issuer\.this must be replaced");
    out.assert_matches(&format!(
        r"(?m)^\s*[~+-]+\s+{attr}\s+=.*# forces replacement"
    ));
    out.assert_matches(r"1 to add, 0 to change, 1 to destroy");
}

/// CloudFront issuer at `oidc.repl.example.com` in zone `example.com`. Each
/// of these replaces it (the plan says so, naming the attribute), and after
/// apply moto holds exactly the new issuer, nothing of the old one (no old
/// distribution, certificate, record or OAC), then an empty plan:
/// (1) `domain` -> `oidc2.repl.example.com` (same zone); (2)
/// `route53_zone_id` -> the zone `repl.example.com`, which also holds the
/// name (records move there, the first zone keeps none); (3) `hosting` ->
/// `s3` (no CloudFront/ACM/Route53 parts left); (4) back to `cloudfront`.
/// Destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_hosting_domain_or_zone_replaces_the_issuer() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "changing_hosting_domain_or_zone", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let zone2 = create_zone(&ep, "repl.example.com").await;
            let name = "repl";
            let (d1, d2) = ("oidc.repl.example.com", "oidc2.repl.example.com");
            let wd = workdir(&tf, moto, &ep, &IssuerHcl::cloudfront(name, d1, &zone), &[&key]);
            ok(wd.apply().await);
            let first = values(&wd).await;
            check_cloudfront(&label, &snapshot(&ep).await, &first, &Expect::cloudfront(name, d1, &zone, &[&key]));

            // Exactly one issuer in moto, the state's, and no other record
            // in any zone but the state's.
            let only = |what: &'static str, exp: Expect, old: Value| {
                let wd = &wd;
                let ep = ep.clone();
                let label = label.clone();
                let zones = [zone.clone(), zone2.clone()];
                async move {
                    let v = values(wd).await;
                    let snap = snapshot(&ep).await;
                    match exp.domain {
                        Some(_) => check_cloudfront(&format!("{label} {what}"), &snap, &v, &exp),
                        None => check_s3(&format!("{label} {what}"), &snap, &v, &exp),
                    }
                    let dists: Vec<String> = as_list(&snap["distributions"])
                        .iter()
                        .map(|d| d["id"].as_str().unwrap_or("").to_string())
                        .collect();
                    let certs = as_list(&snap["certificates"]);
                    let oacs = as_list(&snap["oacs"]);
                    if exp.domain.is_some() {
                        assert_eq!(dists, vec![str_attr(&v, "distribution_id").to_string()], "[{label}] {what}: distributions");
                        assert_eq!(certs.len(), 1, "[{label}] {what}: certificates {certs:?}");
                        assert_eq!(oacs.len(), 1, "[{label}] {what}: OACs {oacs:?}");
                    } else {
                        assert!(dists.is_empty() && certs.is_empty() && oacs.is_empty(),
                            "[{label}] {what}: CloudFront/ACM parts left: {dists:?} {certs:?} {oacs:?}");
                    }
                    for old_attr in ["distribution_id", "certificate_arn", "origin_access_control_id"] {
                        if let Some(old_id) = old[old_attr].as_str() {
                            assert_ne!(Some(old_id), v[old_attr].as_str(), "[{label}] {what}: {old_attr} kept, not replaced");
                        }
                    }
                    for z in &zones {
                        for r in zone_records(&snap, z) {
                            let n = r["name"].as_str().unwrap_or("").trim_end_matches('.').to_string();
                            let ours = exp.domain.as_deref().is_some_and(|d| n.ends_with(d))
                                && exp.zone_id.as_deref() == Some(z.as_str());
                            assert!(ours, "[{label}] {what}: record left behind in zone {z}: {r}");
                        }
                    }
                    assert_eq!(as_list(&snap["oidc_providers"]).len(), 1, "[{label}] {what}: OIDC providers");
                    wd.plan_is_empty().await;
                    v
                }
            };

            // (1) domain.
            wd.set_config(&IssuerHcl::cloudfront(name, d2, &zone).render());
            expect_replace_plan(&wd, "(1) domain", "domain").await;
            ok(wd.apply().await);
            let second = only("(1) domain", Expect::cloudfront(name, d2, &zone, &[&key]), first).await;

            // (2) route53_zone_id.
            wd.set_config(&IssuerHcl::cloudfront(name, d2, &zone2).render());
            expect_replace_plan(&wd, "(2) route53_zone_id", "route53_zone_id").await;
            ok(wd.apply().await);
            let third = only("(2) route53_zone_id", Expect::cloudfront(name, d2, &zone2, &[&key]), second).await;

            // (3) hosting -> s3.
            wd.set_config(&IssuerHcl::s3(name).render());
            expect_replace_plan(&wd, "(3) hosting", "hosting").await;
            ok(wd.apply().await);
            let fourth = only("(3) hosting s3", Expect::s3(name, &[&key]), third).await;

            // (4) hosting -> cloudfront again.
            wd.set_config(&IssuerHcl::cloudfront(name, d1, &zone).with(r#"hosting = "cloudfront""#).render());
            expect_replace_plan(&wd, "(4) hosting", "hosting").await;
            ok(wd.apply().await);
            only("(4) hosting cloudfront", Expect::cloudfront(name, d1, &zone, &[&key]), fourth).await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 5. Fault: the endpoint dies in the middle of create
// ---------------------------------------------------------------------------

/// Whether a proxied request is CreateBucket of `bucket` (path style).
fn is_create_bucket(r: &irsa_acceptance::fault_proxy::RequestInfo, bucket: &str) -> bool {
    let query = r.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    r.method == "PUT"
        && r.service.as_deref() == Some("s3")
        && r.path().trim_end_matches('/') == format!("/{bucket}")
        && (query.is_empty() || query.starts_with("x-id=CreateBucket"))
}

fn is_create_oac(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.method == "POST" && r.path().ends_with("/origin-access-control")
}

fn is_create_distribution(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.method == "POST" && r.path().ends_with("/distribution")
}

/// CloudFront hosting through a [`FaultProxy`]: the AWS endpoint goes down
/// at CreateDistribution once the bucket and the OAC have been created (or,
/// if the distribution came first, at the first request after both). The
/// apply fails naming the AWS call; the state holds the resource, tainted,
/// with the bucket (and every other part made) recorded; moto holds the
/// bucket. Endpoint back: apply converges (the tainted one replaced, no
/// duplicates), empty plan, destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_mid_create_is_recorded_and_converges() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "fault_mid_create", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("fault", "oidc.fault.example.com");
            let bucket = bucket_for(name);
            let proxy = FaultProxy::start(&moto.endpoint).await.expect("proxy");
            let seen_bucket = Arc::new(AtomicBool::new(false));
            let seen_oac = Arc::new(AtomicBool::new(false));
            let seen_dist = Arc::new(AtomicBool::new(false));
            {
                let (sb, so, sd, bucket) = (
                    seen_bucket.clone(),
                    seen_oac.clone(),
                    seen_dist.clone(),
                    bucket.clone(),
                );
                proxy.fail_on(move |r| {
                    let ready = sb.load(Ordering::SeqCst) && so.load(Ordering::SeqCst);
                    if is_create_distribution(r) {
                        if ready {
                            return true;
                        }
                        sd.store(true, Ordering::SeqCst);
                        return false;
                    }
                    if ready && sd.load(Ordering::SeqCst) {
                        return true;
                    }
                    if is_create_bucket(r, &bucket) {
                        sb.store(true, Ordering::SeqCst);
                    }
                    if is_create_oac(r) {
                        so.store(true, Ordering::SeqCst);
                    }
                    false
                });
            }
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let mut wd = workdir(&tf, moto, &proxy.url(), &hcl, &[&key]);
            wd.set_timeout(Duration::from_secs(400));

            let out = wd.run(&["apply", "-auto-approve"]).await;
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] apply should fail with the endpoint down:\n{out}\n{}",
                proxy.log_text()
            );
            assert!(
                proxy.is_down(),
                "[{label}] the proxy never went down:\n{}",
                proxy.log_text()
            );
            let refused = proxy
                .log()
                .into_iter()
                .find(|r| !r.forwarded)
                .expect("a refused request");
            eprintln!("[{label}] first refused request: {}", refused.line());
            if is_create_distribution(&refused) {
                assert!(
                    out.matches(r"CreateDistribution"),
                    "[{label}] the error should name CreateDistribution:\n{out}"
                );
            } else {
                // The error names a call of a service whose request was
                // refused (the provider may have calls in flight to several).
                let refused_services: BTreeSet<String> = proxy
                    .log()
                    .into_iter()
                    .filter(|r| !r.forwarded)
                    .filter_map(|r| r.service)
                    .collect();
                assert!(
                    !refused_services.is_empty(),
                    "[{label}] no service known for the refused requests:\n{}",
                    proxy.log_text()
                );
                let alternatives: Vec<String> =
                    refused_services.iter().map(|s| regex::escape(s)).collect();
                assert!(
                    out.matches(&format!(
                        r"\b({}):[A-Z][A-Za-z]+",
                        alternatives.join("|")
                    )),
                    "[{label}] the error should name the refused AWS call ({refused_services:?}):\n{out}\n{}",
                    proxy.log_text()
                );
            }

            // State: the resource, tainted, with what was made.
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the half-made issuer is not in state:\n{state:#}"
            );
            let show = ok(wd.run_ok(&["state", "show", ADDR]).await);
            assert!(
                resource_tainted(&state, ADDR) || show.matches(r"tainted"),
                "[{label}] the half-made issuer is not tainted:\n{show}"
            );
            let list = ok(wd.run_ok(&["state", "list"]).await);
            assert!(list.stdout.contains(ADDR), "[{label}] state list: {list}");
            let v = resource_values(&state, ADDR);
            assert_eq!(
                v["bucket"],
                bucket.as_str(),
                "[{label}] bucket not recorded: {v:#}"
            );
            let snap = snapshot(&moto.endpoint).await;
            assert!(
                snap["buckets"][&bucket].is_object(),
                "[{label}] moto does not hold the bucket: {snap:#}"
            );
            for oac in as_list(&snap["oacs"]) {
                assert_eq!(
                    v["origin_access_control_id"], oac["Id"],
                    "[{label}] OAC made but not recorded"
                );
            }
            for cert in as_list(&snap["certificates"]) {
                assert_eq!(
                    v["certificate_arn"], cert["arn"],
                    "[{label}] certificate made but not recorded"
                );
            }
            for p in as_list(&snap["oidc_providers"]) {
                assert_eq!(
                    v["oidc_provider_arn"], p["arn"],
                    "[{label}] OIDC provider made but not recorded"
                );
            }

            // Endpoint back: converge.
            proxy.set_down(false);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"1 to add, 0 to change, 1 to destroy"),
                "[{label}] the tainted issuer should be replaced:\n{out}"
            );
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(
                &label,
                &snap,
                &values(&wd).await,
                &Expect::cloudfront(name, domain, &zone, &[&key]),
            );
            wd.plan_is_empty().await;
            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 5b. Throttling
// ---------------------------------------------------------------------------

type Rq = irsa_acceptance::fault_proxy::RequestInfo;

/// The issuer's calls that make or delete something, by name, for
/// counting and throttling.
fn mutating_calls(bucket: &str) -> Vec<(&'static str, Box<dyn Fn(&Rq) -> bool + Send + Sync>)> {
    let b = bucket.to_string();
    let b2 = bucket.to_string();
    vec![
        (
            "s3:CreateBucket",
            Box::new(move |r: &Rq| is_create_bucket(r, &b)),
        ),
        (
            "s3:DeleteBucket",
            Box::new(move |r: &Rq| {
                r.method == "DELETE"
                    && r.is_service("s3")
                    && r.path().trim_end_matches('/') == format!("/{b2}")
                    && !r.target.contains('?')
            }),
        ),
        (
            "s3:PutObject",
            Box::new(|r: &Rq| {
                r.method == "PUT" && r.is_service("s3") && r.path().contains("/openid/")
            }),
        ),
        (
            "cloudfront:CreateOriginAccessControl",
            Box::new(|r: &Rq| is_create_oac(r)),
        ),
        (
            "cloudfront:DeleteOriginAccessControl",
            Box::new(|r: &Rq| r.method == "DELETE" && r.path().contains("/origin-access-control/")),
        ),
        (
            "cloudfront:CreateDistribution",
            Box::new(|r: &Rq| is_create_distribution(r)),
        ),
        (
            "cloudfront:DeleteDistribution",
            Box::new(|r: &Rq| r.method == "DELETE" && r.path().contains("/distribution/")),
        ),
        (
            "acm:RequestCertificate",
            Box::new(|r: &Rq| r.operation() == Some("RequestCertificate")),
        ),
        (
            "acm:DeleteCertificate",
            Box::new(|r: &Rq| r.operation() == Some("DeleteCertificate")),
        ),
        (
            "route53:ChangeResourceRecordSets",
            Box::new(|r: &Rq| {
                r.method == "POST" && r.is_service("route53") && r.path().ends_with("/rrset")
            }),
        ),
        (
            "iam:CreateOpenIDConnectProvider",
            Box::new(|r: &Rq| r.operation() == Some("CreateOpenIDConnectProvider")),
        ),
        (
            "iam:DeleteOpenIDConnectProvider",
            Box::new(|r: &Rq| r.operation() == Some("DeleteOpenIDConnectProvider")),
        ),
    ]
}

/// How many requests matching `pred` the proxy forwarded / throttled.
fn forwarded_and_throttled(log: &[Rq], pred: &dyn Fn(&Rq) -> bool) -> (usize, usize) {
    (
        log.iter().filter(|r| r.forwarded && pred(r)).count(),
        log.iter().filter(|r| r.throttled && pred(r)).count(),
    )
}

/// CloudFront hosting through a [`FaultProxy`] that answers as a throttled
/// AWS. Create: the first 2 requests of every call that makes something are
/// throttled (S3 503 SlowDown, ACM 429 TooManyRequestsException, CloudFront,
/// Route 53 and IAM 400 Throttling); apply succeeds, each of those calls
/// was throttled and then reached moto exactly once (CreateBucket,
/// CreateOriginAccessControl, RequestCertificate, CreateDistribution,
/// CreateOpenIDConnectProvider: no duplicate), and moto holds exactly one
/// issuer. Refresh: the first 12 requests of the plan are throttled, the
/// plan is still empty. Destroy: the first 2 requests of every delete are
/// throttled; destroy succeeds and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_ridden_out_without_duplicates() {
    use irsa_acceptance::fault_proxy::{Throttle, ThrottleReply};
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "throttling_is_ridden_out", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let proxy = FaultProxy::start(&moto.endpoint).await.expect("proxy");
            let (name, domain) = ("throttled", "oidc.throttled.example.com");
            let bucket = bucket_for(name);
            let reply_for = |call: &str| match call.split(':').next() {
                Some("acm") => ThrottleReply::TooManyRequests,
                _ => ThrottleReply::Service,
            };
            let creates = [
                "s3:CreateBucket",
                "s3:PutObject",
                "cloudfront:CreateOriginAccessControl",
                "cloudfront:CreateDistribution",
                "acm:RequestCertificate",
                "route53:ChangeResourceRecordSets",
                "iam:CreateOpenIDConnectProvider",
            ];
            for (call, pred) in mutating_calls(&bucket) {
                if creates.contains(&call) {
                    proxy.throttle(Throttle::new(reply_for(call), pred).requests(2));
                }
            }
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &proxy.url(), &hcl, &[&key]);
            if let Err(e) = wd.apply().await {
                panic!(
                    "[{label}] apply under throttling failed:\n{}\n{e:#}",
                    proxy.log_text()
                );
            }
            let log = proxy.log();
            for (call, pred) in mutating_calls(&bucket) {
                if !creates.contains(&call) {
                    continue;
                }
                let (fwd, thr) = forwarded_and_throttled(&log, &*pred);
                assert_eq!(
                    thr,
                    2,
                    "[{label}] {call} was not throttled twice:\n{}",
                    proxy.log_text()
                );
                let once = !matches!(call, "s3:PutObject" | "route53:ChangeResourceRecordSets");
                if once {
                    assert_eq!(
                        fwd,
                        1,
                        "[{label}] {call} reached moto {fwd} times (a duplicate):\n{}",
                        proxy.log_text()
                    );
                } else {
                    assert!(
                        fwd >= 1,
                        "[{label}] {call} never reached moto:\n{}",
                        proxy.log_text()
                    );
                }
            }
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(
                &label,
                &snap,
                &values(&wd).await,
                &Expect::cloudfront(name, domain, &zone, &[&key]),
            );
            for (what, n) in [
                ("distributions", as_list(&snap["distributions"]).len()),
                ("OACs", as_list(&snap["oacs"]).len()),
                ("certificates", as_list(&snap["certificates"]).len()),
                ("OIDC providers", as_list(&snap["oidc_providers"]).len()),
                (
                    "buckets",
                    snap["buckets"].as_object().map_or(0, |m| m.len()),
                ),
            ] {
                assert_eq!(
                    n, 1,
                    "[{label}] {what} in moto after a throttled create: {n}"
                );
            }

            // Refresh: the first 12 requests throttled, whatever they are.
            proxy.stop_throttling();
            let s3_reply = ThrottleReply::SlowDown;
            proxy.throttle(Throttle::new(s3_reply, |r: &Rq| r.is_service("s3")).requests(6));
            proxy.throttle(
                Throttle::new(ThrottleReply::Service, |r: &Rq| !r.is_service("s3")).requests(6),
            );
            let before = proxy.throttled();
            wd.plan_is_empty().await;
            assert_eq!(
                proxy.throttled() - before,
                12,
                "[{label}] refresh was not throttled:\n{}",
                proxy.log_text()
            );

            // Destroy.
            proxy.stop_throttling();
            let deletes = [
                "s3:DeleteBucket",
                "cloudfront:DeleteOriginAccessControl",
                "cloudfront:DeleteDistribution",
                "acm:DeleteCertificate",
                "route53:ChangeResourceRecordSets",
                "iam:DeleteOpenIDConnectProvider",
            ];
            for (call, pred) in mutating_calls(&bucket) {
                if deletes.contains(&call) {
                    proxy.throttle(Throttle::new(reply_for(call), pred).requests(2));
                }
            }
            let start = proxy.log().len();
            if let Err(e) = wd.destroy().await {
                panic!(
                    "[{label}] destroy under throttling failed:\n{}\n{e:#}",
                    proxy.log_text()
                );
            }
            let log = proxy.log()[start..].to_vec();
            for (call, pred) in mutating_calls(&bucket) {
                if deletes.contains(&call) {
                    let (fwd, thr) = forwarded_and_throttled(&log, &*pred);
                    assert_eq!(
                        thr,
                        2,
                        "[{label}] {call} was not throttled twice:\n{}",
                        proxy.log_text()
                    );
                    assert!(
                        fwd >= 1,
                        "[{label}] {call} never reached moto:\n{}",
                        proxy.log_text()
                    );
                }
            }
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state after destroy"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------

/// Line (1-based) of `  <attr> =` in the rendered resource block.
fn line_of(config: &str, attr: &str) -> Option<usize> {
    let in_resource = config.find("resource \"irsa_oidc_issuer\"")?;
    let offset = config[..in_resource].lines().count();
    config[in_resource..]
        .lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(&format!("{attr} =")) || t.starts_with(&format!("{attr}="))
        })
        .map(|i| offset + i + 1)
}

struct BadCase {
    what: &'static str,
    hcl: IssuerHcl,
    /// The attribute the diagnostic must point at.
    attr: &'static str,
    /// Files to write into the work dir.
    files: Vec<(&'static str, String)>,
    /// Text that must NOT appear anywhere in the output.
    secret: Option<&'static str>,
}

const PRIVATE_D: &str = "cHJpdmF0ZS1leHBvbmVudC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ";

fn bad_cases(key: &TestKey) -> Vec<BadCase> {
    let cf = || IssuerHcl::cloudfront("prod", "oidc.example.com", "Z0123456789ABCDEFGHIJ");
    let s3 = || IssuerHcl::s3("prod");
    let with_name = |n: &str| {
        let mut h = s3();
        h.name = n.to_string();
        h
    };
    let with_domain = |d: &str| {
        let mut h = cf();
        h.domain = Some(d.to_string());
        h
    };
    let file_jwks = |mut h: IssuerHcl, f: &str| {
        h.jwks_expr = Some(format!("file(\"${{path.module}}/{f}\")"));
        h
    };
    let jwk = key.rsa_jwk();
    let mut private = jwk.clone();
    private["d"] = json!(PRIVATE_D);
    let thumb = "0123456789abcdef0123456789abcdef01234567";
    vec![
        BadCase {
            what: "name of 46 characters (bucket > 63)",
            hcl: with_name(&"a".repeat(46)),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with uppercase",
            hcl: with_name("Prod-Cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with underscore",
            hcl: with_name("prod_cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with dots",
            hcl: with_name("prod.cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with trailing dot",
            hcl: with_domain("oidc.example.com."),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with scheme",
            hcl: with_domain("https://oidc.example.com"),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with uppercase",
            hcl: with_domain("OIDC.example.com"),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "hosting s3 with a domain",
            hcl: {
                let mut h = s3();
                h.domain = Some("oidc.example.com".into());
                h
            },
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "hosting cloudfront without domain",
            hcl: {
                let mut h = cf();
                h.domain = None;
                h
            },
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "empty JWKS",
            hcl: {
                let mut h = s3();
                h.jwks_expr = Some("jsonencode({ keys = [] })".into());
                h
            },
            attr: "jwks",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "JWKS with a private member d",
            hcl: file_jwks(s3(), "private.json"),
            attr: "jwks",
            files: vec![("private.json", json!({ "keys": [private] }).to_string())],
            secret: Some(PRIVATE_D),
        },
        BadCase {
            what: "JWKS with duplicate kids",
            hcl: file_jwks(s3(), "dup.json"),
            attr: "jwks",
            files: vec![("dup.json", {
                let mut other = TestKey::rsa().rsa_jwk();
                other["kid"] = jwk["kid"].clone();
                json!({ "keys": [jwk.clone(), other] }).to_string()
            })],
            secret: None,
        },
        BadCase {
            what: "no client IDs",
            hcl: s3().with("client_ids = []"),
            attr: "client_ids",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint of 39 characters",
            hcl: s3().with(&format!("thumbprints = [\"{}\"]", &thumb[..39])),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint not hex",
            hcl: s3().with(&format!("thumbprints = [\"{}\"]", "g".repeat(40))),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "six thumbprints",
            hcl: s3().with(&format!(
                "thumbprints = [{}]",
                vec![format!("\"{thumb}\""); 6].join(", ")
            )),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "cache TTLs out of order",
            hcl: cf().with("cache_ttl = { min = 10, default = 5, max = 100 }"),
            attr: "cache_ttl",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "key_retention \"1 day\"",
            hcl: s3().with(r#"key_retention = "1 day""#),
            attr: "key_retention",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "price class PriceClass_300",
            hcl: cf().with(r#"price_class = "PriceClass_300""#),
            attr: "price_class",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain of 65 characters (ACM allows 64)",
            hcl: with_domain(&format!("{}.example.com", "a".repeat(53))),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "CloudFront hosting in aws-cn (provider region cn-north-1)",
            hcl: {
                let mut h = cf();
                h.region = Some("cn-north-1".into());
                h
            },
            attr: "hosting",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "CloudFront hosting in aws-us-gov (provider region us-gov-west-1)",
            hcl: {
                let mut h = cf();
                h.region = Some("us-gov-west-1".into());
                h
            },
            attr: "hosting",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint in upper case (IAM stores lower case)",
            hcl: s3().with(&format!(
                "thumbprints = [\"{}\"]",
                thumb.to_ascii_uppercase()
            )),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag key with the reserved aws: prefix",
            hcl: s3().with(r#"tags = { "aws:team" = "x" }"#),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag value with a character AWS refuses",
            hcl: s3().with(r#"tags = { team = "a;b" }"#),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag key of 129 characters",
            hcl: s3().with(&format!("tags = {{ {} = \"x\" }}", "k".repeat(129))),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "48 tags with CloudFront hosting (50 less 3 irsa:* on the bucket)",
            hcl: cf().with(&format!(
                "tags = {{ {} }}",
                (0..48)
                    .map(|i| format!("t{i} = \"v\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "zone id with /hostedzone/ prefix",
            hcl: {
                let mut h = cf();
                h.zone_id = Some("/hostedzone/Z0123456789ABCDEFGHIJ".into());
                h
            },
            attr: "route53_zone_id",
            files: vec![],
            secret: None,
        },
    ]
}

/// Each invalid value: `terraform plan` fails at plan time with an error
/// pointing at the attribute (its `on main.tf line N` is the attribute's
/// line, or, for a missing attribute, the message names it), a private
/// JWK member's value never appears in the output, and no AWS request is
/// made at all (AWS_ENDPOINT_URL is a counting proxy). Valid boundary
/// values (a 45-character name) pass `validate`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_at_plan_without_aws_calls() {
    let key = TestKey::fixture();
    let proxy = FaultProxy::start(NO_AWS_ENDPOINT).await.expect("proxy");
    // Not used for AWS (nothing may be called); only for its env variables.
    let moto_env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), proxy.url()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ];
    let cases = bad_cases(&key);
    each_terraform(|tf| {
        let (key, cases, proxy, moto_env) = (key.clone(), &cases, &proxy, moto_env.clone());
        bounded(BODY_LIMIT, "bad_input", async move {
            let label = tf.label();
            let mut failures = Vec::new();
            for case in cases {
                let config = case.hcl.render();
                let mut wd = Workdir::new(&tf, &config);
                wd.envs(moto_env.clone());
                IssuerHcl::write_keys(&wd, &[&key]);
                for (f, body) in &case.files {
                    wd.write_file(f, body);
                }
                let out = wd.run(&["plan"]).await;
                let errors = out.diagnostics("Error");
                let mut problems = Vec::new();
                if out.success() || errors.is_empty() {
                    problems.push("plan did not fail with an error".to_string());
                }
                match line_of(&config, case.attr) {
                    Some(n) => {
                        let at = format!(
                            "on main.tf line {n}, in resource \"irsa_oidc_issuer\" \"this\""
                        );
                        if !errors
                            .iter()
                            .any(|e| e.contains(&at) && e.contains(&format!("{n}: {}", case.attr)))
                        {
                            problems.push(format!("no error points at `{}` ({at})", case.attr));
                        }
                    }
                    None => {
                        // Missing attribute: the message must name it.
                        let re = regex::Regex::new(&format!(r"\b{}\b", case.attr)).unwrap();
                        if !errors.iter().any(|e| re.is_match(e)) {
                            problems.push(format!("no error names `{}`", case.attr));
                        }
                    }
                }
                if let Some(secret) = case.secret {
                    if out.combined().contains(secret)
                        || normalize_ws(&out.combined()).contains(secret)
                    {
                        problems.push("the private key material appears in the output".to_string());
                    }
                }
                if !problems.is_empty() {
                    failures.push(format!("{}: {}\n{out}", case.what, problems.join("; ")));
                } else {
                    eprintln!(
                        "[{label}] ok: {} -> {}",
                        case.what,
                        errors.first().map(String::as_str).unwrap_or("")
                    );
                }
            }
            assert_eq!(
                proxy.requests(),
                0,
                "[{label}] AWS was called during plan of invalid input:\n{}",
                proxy.log_text()
            );
            // Boundary: 45 characters is a valid name.
            let hcl = IssuerHcl::s3(&"a".repeat(45));
            let wd = Workdir::new(&tf, &hcl.render());
            IssuerHcl::write_keys(&wd, &[&key]);
            if let Err(e) = wd.validate().await {
                failures.push(format!("a 45-character name should validate: {e:#}"));
            }
            assert!(
                failures.is_empty(),
                "[{label}] {} bad-input case(s) failed:\n{}",
                failures.len(),
                failures.join("\n\n")
            );
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 7. Zones
// ---------------------------------------------------------------------------

/// An unknown hosted zone id, and a zone that does not contain the domain:
/// apply fails with an error naming the zone (and the domain), the resource
/// is not in state, and moto holds nothing (no bucket, OAC, certificate,
/// record or OIDC provider).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_zone_fails_before_creating_anything() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "wrong_zone", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let other = create_zone(&moto.endpoint, "example.org").await;

            // Unknown zone id.
            let missing = "Z00000000000000NOTREAL";
            let hcl = IssuerHcl::cloudfront("zonetest", "oidc.example.com", missing);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            let out = wd.expect_error(&["apply", "-auto-approve"], missing).await;
            assert!(
                said(&out, missing) && said(&out, r"(?i)zone"),
                "[{label}] the error should name the missing zone:\n{out}"
            );
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] unknown zone: resource in state"
            );
            assert_nothing_left(&format!("{label} unknown zone"), moto).await;

            // A zone that does not contain the domain.
            let hcl = IssuerHcl::cloudfront("zonetest", "oidc.example.com", &other);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            let out = wd
                .expect_error(&["apply", "-auto-approve"], r"oidc\.example\.com")
                .await;
            assert!(
                said(&out, r"oidc\.example\.com") && said(&out, r"example\.org"),
                "[{label}] the error should name the domain and the zone's name:\n{out}"
            );
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] wrong zone: resource in state"
            );
            assert_nothing_left(&format!("{label} wrong zone"), moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 8. Route53 records that are not ours
// ---------------------------------------------------------------------------

fn records_at<'a>(records: &'a [Value], name: &str, rtype: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| {
            r["type"].as_str() == Some(rtype)
                && trim_dot(r["name"].as_str().unwrap_or("")) == trim_dot(name)
        })
        .collect()
}

/// (a) `domain` already has someone else's A record: plan (and apply) is
/// refused with an error naming the domain, nothing is made, and the record
/// keeps its value (Route53's UPSERT would have repointed it).
/// (b) After a create, someone repoints the AAAA record to their own
/// address and requests a second ACM certificate for the same name (ACM
/// gives it the same validation CNAME): destroy deletes our A alias, leaves
/// the foreign AAAA and the shared validation CNAME, and removes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_records_of_others_are_left_alone() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "route53_others", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;

            // (a) A foreign A record at the domain.
            let taken = "oidc.taken.example.com";
            boto_ok(
                &ep,
                r#"
client("route53", "us-east-1").change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [
    {"Action": "CREATE", "ResourceRecordSet": {"Name": ARGS["name"], "Type": "A", "TTL": 60,
     "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
"#,
                json!({"zone": zone, "name": taken}),
            )
            .await;
            let hcl = IssuerHcl::cloudfront("taken", taken, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            for cmd in [&["plan"][..], &["apply", "-auto-approve"][..]] {
                let out = wd.run(cmd).await;
                assert!(
                    !out.success() && said(&out, &regex::escape(taken)) && said(&out, "192.0.2.10"),
                    "[{label}] {cmd:?} must be refused, naming the domain and the record:\n{out}"
                );
            }
            let snap = snapshot(&ep).await;
            assert!(
                snap["buckets"].as_object().is_none_or(|b| b.is_empty())
                    && as_list(&snap["certificates"]).is_empty()
                    && as_list(&snap["oacs"]).is_empty(),
                "[{label}] something was made: {snap:#}"
            );
            let recs = zone_records(&snap, &zone);
            let a = records_at(&recs, taken, "A");
            assert!(
                a.len() == 1 && a[0]["values"] == json!(["192.0.2.10"]),
                "[{label}] the foreign A record changed: {recs:#?}"
            );

            // (b) Records changed by others after create.
            let domain = "oidc.keep.example.com";
            let hcl = IssuerHcl::cloudfront("keep", domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let before = zone_records(&snapshot(&ep).await, &zone);
            let cnames: Vec<Value> = before
                .iter()
                .filter(|r| r["type"] == "CNAME")
                .cloned()
                .collect();
            assert_eq!(cnames.len(), 1, "[{label}] one validation CNAME: {before:#?}");
            boto_ok(
                &ep,
                r#"
client("route53", "us-east-1").change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [
    {"Action": "UPSERT", "ResourceRecordSet": {"Name": ARGS["name"], "Type": "AAAA", "TTL": 60,
     "ResourceRecords": [{"Value": "2001:db8::1"}]}}]})
client("acm", "us-east-1").request_certificate(DomainName=ARGS["name"], ValidationMethod="DNS")
"#,
                json!({"zone": zone, "name": domain}),
            )
            .await;
            ok(wd.destroy().await);
            let snap = snapshot(&ep).await;
            let after = zone_records(&snap, &zone);
            assert!(
                records_at(&after, domain, "A").is_empty(),
                "[{label}] our A alias was not deleted: {after:#?}"
            );
            let aaaa = records_at(&after, domain, "AAAA");
            assert!(
                aaaa.len() == 1 && aaaa[0]["values"] == json!(["2001:db8::1"]),
                "[{label}] the foreign AAAA record was deleted or changed: {after:#?}"
            );
            let name = cnames[0]["name"].as_str().unwrap_or("");
            assert_eq!(
                records_at(&after, name, "CNAME"),
                vec![&cnames[0]],
                "[{label}] the validation CNAME shared with the other certificate was deleted: {after:#?}"
            );
            let certs = as_list(&snap["certificates"]);
            assert_eq!(certs.len(), 1, "[{label}] only the other certificate stays: {certs:#?}");
            assert!(
                as_list(&snap["distributions"]).is_empty()
                    && snap["buckets"].as_object().is_none_or(|b| b.is_empty())
                    && as_list(&snap["oidc_providers"]).is_empty(),
                "[{label}] the issuer's parts were not all deleted: {snap:#}"
            );
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 9. Encryption
// ---------------------------------------------------------------------------

/// S3 hosting. The bucket's default encryption switched to SSE-KMS out of
/// band (the next key rotation would then write KMS-encrypted documents,
/// which anonymous readers cannot get): the plan shows `bucket_settings`
/// with the real algorithm, apply puts SSE-S3 back, the plan is then empty.
/// The documents written carry SSE-S3 (`AES256`) themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_drift_shows_the_real_algorithm() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "encryption_drift", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let hcl = IssuerHcl::s3("sse");
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let bucket = bucket_for("sse");
            let sse = boto_ok(
                &ep,
                r#"out([client("s3").head_object(Bucket=ARGS["bucket"], Key=k).get("ServerSideEncryption") for k in ARGS["keys"]])"#,
                json!({"bucket": bucket, "keys": [DISCOVERY_KEY, JWKS_KEY]}),
            )
            .await;
            assert_eq!(sse, json!(["AES256", "AES256"]), "[{label}] documents' SSE");
            boto_ok(
                &ep,
                r#"client("s3").put_bucket_encryption(Bucket=ARGS["bucket"], ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})"#,
                json!({"bucket": bucket}),
            )
            .await;
            let out = expect_repair_plan(&wd, "encryption switched to aws:kms", "bucket_settings").await;
            assert!(
                out.matches(r#""encryption"\s+=\s+"aws:kms"\s+->\s+"AES256""#),
                "[{label}] the plan should show encryption aws:kms -> AES256:\n{out}"
            );
            ok(wd.apply().await);
            let alg = boto_ok(
                &ep,
                r#"out(client("s3").get_bucket_encryption(Bucket=ARGS["bucket"])["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])"#,
                json!({"bucket": bucket}),
            )
            .await;
            assert_eq!(alg, json!("AES256"), "[{label}] encryption not repaired");
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}
