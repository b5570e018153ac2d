//! The checks of a whole issuer in moto: every part against an [`Expect`].

use super::*;

// ---------------------------------------------------------------------------
// The checks of a whole issuer in moto
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub(super) struct Expect {
    pub(super) name: String,
    /// None: S3 hosting.
    pub(super) domain: Option<String>,
    pub(super) zone_id: Option<String>,
    /// The kids published (any order).
    pub(super) kids: Vec<String>,
    /// id_token_signing_alg_values_supported, sorted.
    pub(super) algs: Vec<String>,
    pub(super) user_tags: BTreeMap<String, String>,
    pub(super) client_ids: Vec<String>,
    pub(super) thumbprints: Vec<String>,
    pub(super) ttl: (i64, i64, i64),
    pub(super) price_class: String,
    /// `data.irsa_jwks.k.json`: each of its keys must be published as is.
    pub(super) data_jwks: Option<String>,
}

impl Expect {
    pub(super) fn cloudfront(name: &str, domain: &str, zone: &str, keys: &[&TestKey]) -> Expect {
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

    pub(super) fn s3(name: &str, keys: &[&TestKey]) -> Expect {
        let mut e = Expect::cloudfront(name, "", "", keys);
        e.domain = None;
        e.zone_id = None;
        e
    }

    pub(super) fn bucket(&self) -> String {
        bucket_for(&self.name)
    }

    pub(super) fn issuer(&self) -> String {
        match &self.domain {
            Some(d) => format!("https://{d}"),
            None => format!("https://{}.s3.{REGION}.amazonaws.com", self.bucket()),
        }
    }

    pub(super) fn host(&self) -> String {
        self.issuer().trim_start_matches("https://").to_string()
    }

    pub(super) fn all_tags(&self) -> BTreeMap<String, String> {
        let mut t = self.user_tags.clone();
        t.insert("irsa:name".into(), self.name.clone());
        t
    }
}

pub(super) fn assert_tags(label: &str, what: &str, got: &Value, exp: &Expect) {
    let got = tags_of(got);
    for (k, v) in exp.all_tags() {
        assert_eq!(
            got.get(&k),
            Some(&v),
            "[{label}] {what}: tag {k:?} should be {v:?}; tags: {got:?}"
        );
    }
}

pub(super) fn policy_statements(label: &str, policy: &Value) -> Vec<Value> {
    assert!(!policy.is_null(), "[{label}] the bucket has no policy");
    as_list(&policy["Statement"])
}

pub(super) fn principal_is_everyone(p: &Value) -> bool {
    p == "*" || str_list(&p["AWS"]) == vec!["*".to_string()]
}

/// Deny everything not sent over TLS, for everyone, on the bucket and its objects.
pub(super) fn is_tls_deny(st: &Value, bucket: &str) -> bool {
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
pub(super) fn check_common(label: &str, snap: &Value, v: &Value, exp: &Expect) {
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
pub(super) fn check_cloudfront(label: &str, snap: &Value, v: &Value, exp: &Expect) {
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
pub(super) fn check_s3(label: &str, snap: &Value, v: &Value, exp: &Expect) {
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

pub(super) async fn check_outputs(label: &str, wd: &Workdir, v: &Value) {
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
pub(super) async fn remove_and_import(label: &str, wd: &Workdir, name: &str) {
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
pub(super) async fn destroy_and_check(label: &str, wd: &Workdir, moto: &Moto) {
    ok(wd.destroy().await);
    assert!(
        !in_state(&wd.state_json().await, ADDR),
        "[{label}] still in state after destroy"
    );
    assert_nothing_left(label, moto).await;
}
