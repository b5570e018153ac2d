//! Unit tests of the pure parts of `irsa_issuer_check`: configuration
//! checks with attribute paths, and the evaluation of fetched documents and
//! minted tokens. The HTTPS, proxy and TokenRequest paths are covered by the
//! acceptance tests (tests/acceptance/tests/acceptance/acc_issuer_check.rs).

use super::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tfplugin::Value;

const ISS: &str = "https://oidc.example.com";
const AUD: &str = "sts.amazonaws.com";
const NOW: u64 = 1_750_000_000;

fn ok_response(body: &J, elapsed_ms: u64) -> Result<Response, FetchError> {
    Ok(Response {
        status: 200,
        content_type: Some("application/json".into()),
        location: None,
        body: body.to_string().into_bytes(),
        elapsed: Duration::from_millis(elapsed_ms),
        peer_chain: vec![],
        proxy: None,
    })
}

fn status_response(status: u16, body: &str) -> Result<Response, FetchError> {
    Ok(Response {
        status,
        content_type: Some("text/html".into()),
        location: None,
        body: body.as_bytes().to_vec(),
        elapsed: Duration::from_millis(10),
        peer_chain: vec![],
        proxy: None,
    })
}

/// An EC P-256 key: (JWKS key JSON, encoding key).
fn es256_key() -> (J, EncodingKey) {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let public =
        oidc::PublicJwk::from_spki_der(&pem::parse(kp.public_key_pem()).unwrap().into_contents())
            .unwrap();
    (
        serde_json::to_value(&public).unwrap(),
        EncodingKey::from_ec_der(&kp.serialize_der()),
    )
}

fn settings(expected: Option<Jwks>) -> Settings {
    Settings {
        issuer: ISS.into(),
        expected,
        client_ids: vec![AUD.into()],
        service_account: Some(ServiceAccount::parse("default/my-app").unwrap()),
        fail_on_error: true,
    }
}

fn discovery(issuer: &str, algs: &[&str]) -> J {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{ISS}/openid/v1/jwks"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
    })
}

fn names_failed(checks: &[CheckResult]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect()
}

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut v = Value::object(
        IssuerCheckModel::ATTRIBUTE_NAMES
            .iter()
            .map(|n| (*n, Value::Null)),
    );
    for (k, val) in pairs {
        v.set_attr(k, val.clone());
    }
    v
}

fn error_paths(c: &Value) -> Vec<String> {
    let m = IssuerCheckModel::decode(c).unwrap();
    check_config(&m)
        .0
         .0
        .iter()
        .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
        .collect()
}

#[test]
fn bad_configuration_is_refused_at_plan_with_paths() {
    let c = config(&[
        ("issuer_url", Value::string("https://oidc.example.com/")),
        ("client_ids", Value::List(vec![])),
        ("service_account", Value::string("jobs/*")),
        ("expected_jwks", Value::string(r#"{"keys":[]}"#)),
    ]);
    assert_eq!(
        error_paths(&c),
        [
            "issuer_url",
            "expected_jwks",
            "client_ids",
            "service_account"
        ]
    );
    let c = config(&[
        ("issuer_url", Value::string("http://oidc.example.com")),
        (
            "client_ids",
            Value::string_list(["sts.amazonaws.com", " x"]),
        ),
        ("service_account", Value::string("nonamespace")),
    ]);
    assert_eq!(
        error_paths(&c),
        ["issuer_url", "client_ids[1]", "service_account"]
    );
    // Unknown values wait; nothing is fetched at validate time anyway.
    let c = config(&[
        ("issuer_url", Value::unknown()),
        ("client_ids", Value::List(vec![Value::unknown()])),
        ("expected_jwks", Value::unknown()),
    ]);
    let m = IssuerCheckModel::decode(&c).unwrap();
    let (d, s) = check_config(&m);
    assert!(d.is_empty() && s.is_none());
    // A good one.
    let c = config(&[
        ("issuer_url", Value::string(ISS)),
        ("client_ids", Value::string_list([AUD])),
        ("service_account", Value::string("default/my-app")),
    ]);
    let (d, s) = check_config(&IssuerCheckModel::decode(&c).unwrap());
    assert!(d.is_empty());
    let s = s.unwrap();
    assert!(s.fail_on_error);
    assert_eq!(
        s.service_account.unwrap().subject(),
        "system:serviceaccount:default:my-app"
    );
}

#[test]
fn eddsa_ps256_private_and_duplicate_keys_are_reported() {
    let (ec, _) = es256_key();
    let mut private = ec.clone();
    private["kid"] = json!("p");
    private["d"] = json!("secret-value");
    let doc = json!({"keys": [
        ec.clone(),
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA", "use": "sig", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "RSA", "kid": "ps", "alg": "PS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
        private,
        ec,
    ]});
    let r = analyse_jwks(&doc);
    let text = r.problems.join("\n");
    assert!(
        text.contains("kid \"ed\") is an EdDSA key (Ed25519): STS refuses it"),
        "{text}"
    );
    assert!(
        text.contains("algorithm \"PS256\": STS refuses it"),
        "{text}"
    );
    assert!(text.contains("private member \"d\""), "{text}");
    assert!(!text.contains("secret-value"), "{text}");
    assert!(text.contains("appears twice"), "{text}");
    assert!(
        text.contains("--service-account-signing-key-file"),
        "{text}"
    );
    // The one good key is usable for token verification.
    assert_eq!(r.usable.as_ref().unwrap().len(), 1);
    assert!(r.algorithms.contains("EdDSA") && r.algorithms.contains("ES256"));
}

#[test]
fn unreachable_slow_and_non_json_documents_say_why() {
    let s = settings(None);
    let url = format!("{ISS}/.well-known/openid-configuration");
    let run = |r: Result<Response, FetchError>| {
        let (checks, _) = evaluate_documents(&s, &url, &r, None);
        assert_eq!(names_failed(&checks)[0], "discovery");
        // Everything that depends on it is listed as not checked.
        assert!(checks[1..].iter().all(|c| c.is_skipped()), "{checks:?}");
        checks[0].detail.clone()
    };
    let d = run(status_response(403, "<Error>AccessDenied</Error>"));
    assert!(d.contains("HTTP 403") && d.contains("anonymously"), "{d}");
    let d = run(status_response(404, "nope"));
    assert!(
        d.contains("HTTP 404") && d.contains("apply irsa_oidc_issuer"),
        "{d}"
    );
    let d = run(Ok(Response {
        content_type: Some("text/html".into()),
        ..status_response(200, "<html><body>Welcome to nginx</body></html>").unwrap()
    }));
    assert!(
        d.contains("not JSON") && d.contains("Welcome to nginx"),
        "{d}"
    );
    let d = run(ok_response(&discovery(ISS, &["RS256"]), 6200));
    assert!(
        d.contains("took 6.20 s") && d.contains("STS allows 5.00 s"),
        "{d}"
    );
    let d = run(Err(FetchError::Timeout(10.0)));
    assert!(
        d.contains("no complete answer") && d.contains("Couldn't retrieve verification key"),
        "{d}"
    );
}

#[test]
fn published_documents_are_compared_with_the_issuer_and_the_expected_keys() {
    let (ec, _) = es256_key();
    let jwks_doc = json!({"keys": [ec.clone()]});
    let expected = oidc::parse_jwks(&jwks_doc.to_string()).unwrap();
    let url = format!("{ISS}/.well-known/openid-configuration");
    let jwks_url = format!("{ISS}/openid/v1/jwks");

    // All good.
    let s = settings(Some(expected.clone()));
    let d = ok_response(&discovery(ISS, &["ES256"]), 10);
    let j = ok_response(&jwks_doc, 10);
    let (checks, report) = evaluate_documents(&s, &url, &d, Some((&jwks_url, &j)));
    assert!(names_failed(&checks).is_empty(), "{checks:?}");
    assert_eq!(
        checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [
            "discovery",
            "issuer",
            "jwks_uri",
            "jwks",
            "signing_algorithms",
            "expected_jwks"
        ]
    );
    assert!(report.unwrap().usable.is_some());

    // A trailing slash in the published issuer, and algorithms that do not match.
    let d = ok_response(&discovery(&format!("{ISS}/"), &["RS256"]), 10);
    let (checks, _) = evaluate_documents(&s, &url, &d, Some((&jwks_url, &j)));
    assert_eq!(names_failed(&checks), ["issuer", "signing_algorithms"]);
    assert!(
        checks[1].detail.contains("trailing slash"),
        "{}",
        checks[1].detail
    );
    assert!(checks[1]
        .detail
        .contains("--service-account-issuer=https://oidc.example.com"));

    // A stale copy: the expected key is not published.
    let (other, _) = es256_key();
    let stale = json!({"keys": [other]});
    let j = ok_response(&stale, 10);
    let d = ok_response(&discovery(ISS, &["ES256"]), 10);
    let (checks, _) = evaluate_documents(&s, &url, &d, Some((&jwks_url, &j)));
    assert_eq!(names_failed(&checks), ["expected_jwks"]);
    let detail = &checks.last().unwrap().detail;
    assert!(
        detail.contains(&format!(
            "\"{}\" are not in the published JWKS",
            expected.kids()[0]
        )),
        "{detail}"
    );
    assert!(detail.contains("invalidate the CDN cache"), "{detail}");
}

fn claims(iss: &str, aud: &str, exp: u64) -> J {
    json!({
        "iss": iss, "aud": [aud], "exp": exp, "iat": NOW - 10, "nbf": NOW - 10,
        "sub": "system:serviceaccount:default:my-app",
    })
}

fn es256_token(key: &EncodingKey, kid: &str, claims: &J) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    encode(&h, claims, key).unwrap()
}

#[test]
fn minted_tokens_are_verified_as_sts_would() {
    let (ec, key) = es256_key();
    let kid = ec["kid"].as_str().unwrap().to_string();
    let jwks = oidc::parse_jwks(&json!({"keys": [ec]}).to_string()).unwrap();
    let s = settings(None);
    let sa = s.service_account.clone().unwrap();
    let check = |token: &str| {
        let c = verify_token(token, Some(&jwks), &s, &sa, Some(NOW));
        assert!(!c.detail.contains(token), "the token leaks into the detail");
        c
    };
    let good = es256_token(&key, &kid, &claims(ISS, AUD, NOW + 600));
    let c = check(&good);
    assert!(c.ok, "{c:?}");
    assert!(c.detail.contains(&kid));

    let c = check(&es256_token(
        &key,
        &kid,
        &claims(&format!("{ISS}/"), AUD, NOW + 600),
    ));
    assert!(!c.ok);
    assert!(
        c.detail.contains("trailing slash")
            && c.detail
                .contains("--service-account-issuer=https://oidc.example.com"),
        "{}",
        c.detail
    );

    let c = check(&es256_token(
        &key,
        &kid,
        &claims(ISS, "https://kubernetes.default.svc", NOW + 600),
    ));
    assert!(
        !c.ok && c.detail.contains("does not contain \"sts.amazonaws.com\""),
        "{}",
        c.detail
    );

    let c = check(&es256_token(&key, &kid, &claims(ISS, AUD, NOW - 3600)));
    assert!(
        !c.ok && c.detail.contains("expired") && c.detail.contains("clock"),
        "{}",
        c.detail
    );

    let c = check(&es256_token(
        &key,
        "rotated-kid",
        &claims(ISS, AUD, NOW + 600),
    ));
    assert!(
        !c.ok && c.detail.contains("no key with kid \"rotated-kid\""),
        "{}",
        c.detail
    );

    // An EdDSA-signed token: refused by its header, before any key lookup.
    let header = oidc::b64url_encode(br#"{"alg":"EdDSA","kid":"ed"}"#);
    let body = oidc::b64url_encode(claims(ISS, AUD, NOW + 600).to_string().as_bytes());
    let c = check(&format!("{header}.{body}.c2lnbmF0dXJl"));
    assert!(
        !c.ok
            && c.detail
                .contains("signs tokens with EdDSA, which STS refuses"),
        "{}",
        c.detail
    );

    // Another subject.
    let mut other = claims(ISS, AUD, NOW + 600);
    other["sub"] = json!("system:serviceaccount:default:other");
    let c = check(&es256_token(&key, &kid, &other));
    assert!(
        !c.ok
            && c.detail
                .contains("not \"system:serviceaccount:default:my-app\"")
    );

    // The second client ID is accepted too.
    let s2 = Settings {
        client_ids: vec!["first".into(), AUD.into()],
        ..settings(None)
    };
    assert!(verify_token(&good, Some(&jwks), &s2, &sa, Some(NOW)).ok);
}
