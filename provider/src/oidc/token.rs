//! Verification of a Kubernetes ServiceAccount token against a [`Jwks`],
//! checking what AWS STS checks in `AssumeRoleWithWebIdentity`: the key is
//! picked by `kid`, the signature must verify with it (algorithm = the key's
//! algorithm), `iss` must equal the issuer exactly, `aud` must contain the
//! audience (client ID), `exp` must not be past (with clock-skew leeway,
//! about five minutes at STS), and `nbf`/`iat` must not be in the future.
//!
//! No error contains the token or any part of it; claim values such as
//! `iss` and `aud` are shown because they are needed to fix a mismatch.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::b64url_decode;
use super::jwks::Jwks;
use super::pem_keys::RECOMMENDED_MIN_RSA_BITS;

/// Clock-skew leeway for `exp`, `nbf` and `iat`: STS grants about 5 minutes.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 300;

/// What a token is verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Expected `iss`, compared as an exact string.
    pub issuer: String,
    /// An audience (IAM client ID) that `aud` must contain, e.g. `sts.amazonaws.com`.
    pub audience: String,
    /// Leeway in seconds for the time claims ([`DEFAULT_LEEWAY_SECONDS`] by default).
    pub leeway_seconds: u64,
    /// The current time in seconds since the Unix epoch; `None` reads the system clock.
    pub now: Option<u64>,
}

impl VerifyOptions {
    /// Options with the default leeway and the system clock.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        VerifyOptions {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_seconds: DEFAULT_LEEWAY_SECONDS,
            now: None,
        }
    }
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountClaims {
    /// `iss`.
    pub iss: String,
    /// `sub`, e.g. `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
    /// `aud`, always as a list.
    pub aud: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// `iat`, if present.
    pub iat: Option<u64>,
    /// `nbf`, if present.
    pub nbf: Option<u64>,
    /// The `kubernetes.io` claim (namespace, service account, pod, ...), if present.
    pub kubernetes_io: Option<Value>,
    /// The `kid` of the header (the key that verified the token).
    pub kid: String,
    /// The `alg` of the header.
    pub alg: String,
    /// All claims as sent.
    pub all: Map<String, Value>,
}

impl ServiceAccountClaims {
    /// `(namespace, name)` when `sub` is `system:serviceaccount:<namespace>:<name>`.
    pub fn service_account(&self) -> Option<(&str, &str)> {
        let rest = self.sub.strip_prefix("system:serviceaccount:")?;
        let (namespace, name) = rest.split_once(':')?;
        if namespace.is_empty() || name.is_empty() || name.contains(':') {
            return None;
        }
        Some((namespace, name))
    }
}

/// Why a token would not be accepted. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a compact JWS of JSON parts.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// No `kid` in the header.
    #[error("the token header has no \"kid\": STS picks the verification key by kid")]
    MissingKid,
    /// No key with that kid.
    #[error(
        "no key with kid \"{kid}\" in the JWKS (it holds {known}); STS would fail with \
         \"Couldn't retrieve verification key from your identity provider\". Publish the key the \
         cluster signs with (its --service-account-key-file)"
    )]
    UnknownKid {
        /// The kid of the token.
        kid: String,
        /// The published kids, quoted and comma-separated.
        known: String,
    },
    /// `alg: none` or an algorithm that cannot be verified here.
    #[error("the token's algorithm \"{alg}\" is not supported{why}")]
    UnsupportedAlg {
        /// The header's `alg`.
        alg: String,
        /// Why (may be empty; starts with ": ").
        why: String,
    },
    /// Header algorithm and key algorithm differ.
    #[error(
        "the token is signed with {alg} but the key \"{kid}\" in the JWKS is an {key_alg} key"
    )]
    AlgMismatch {
        /// The header's `alg`.
        alg: String,
        /// The key's kid.
        kid: String,
        /// The key's `alg`.
        key_alg: String,
    },
    /// The key cannot be used to verify.
    #[error("the key \"{kid}\" cannot verify tokens: {reason}")]
    KeyUnusable {
        /// The key's kid.
        kid: String,
        /// Why.
        reason: String,
    },
    /// Signature does not verify.
    #[error(
        "the token's signature does not verify with the key \"{kid}\": the token was signed with \
         another private key than the published public key with that kid"
    )]
    BadSignature {
        /// The key's kid.
        kid: String,
    },
    /// A required claim is absent.
    #[error("the token has no \"{0}\" claim")]
    MissingClaim(&'static str),
    /// A claim of the wrong JSON type.
    #[error("the token's \"{claim}\" claim must be {expected}")]
    WrongClaimType {
        /// The claim.
        claim: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// `iss` is not the expected issuer.
    #[error(
        "the token's issuer \"{actual}\" is not the expected issuer \"{expected}\"; STS compares \
         them exactly{hint}"
    )]
    IssuerMismatch {
        /// Expected issuer.
        expected: String,
        /// The token's `iss`.
        actual: String,
        /// Extra explanation (may be empty).
        hint: String,
    },
    /// `aud` lacks the audience.
    #[error(
        "the token's audience {actual} does not contain \"{expected}\"; request the token with \
         that audience (projected volume `audience`, TokenRequest `audiences`) or add the \
         audience to the IAM OIDC provider's client IDs"
    )]
    AudienceMismatch {
        /// Expected audience.
        expected: String,
        /// The token's `aud`, rendered as a JSON array.
        actual: String,
    },
    /// `exp` is past, beyond the leeway.
    #[error(
        "the token expired at {exp} (Unix time), {ago} s ago, beyond the {leeway} s allowed for \
         clock skew"
    )]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// Seconds since it expired.
        ago: u64,
        /// The leeway used.
        leeway: u64,
    },
    /// `nbf` is in the future, beyond the leeway.
    #[error(
        "the token is not valid before {nbf} (Unix time), {ahead} s from now, beyond the {leeway} s \
         allowed for clock skew; check the clocks of the cluster"
    )]
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// Seconds until then.
        ahead: u64,
        /// The leeway used.
        leeway: u64,
    },
    /// `iat` is in the future, beyond the leeway.
    #[error(
        "the token claims to be issued at {iat} (Unix time), {ahead} s in the future, beyond the \
         {leeway} s allowed for clock skew; check the clocks of the cluster"
    )]
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// Seconds ahead.
        ahead: u64,
        /// The leeway used.
        leeway: u64,
    },
}

/// Verify a ServiceAccount token the way AWS STS does (see the module docs)
/// and return its claims.
///
/// # Errors
/// A [`TokenError`] saying which check failed; it never contains the token.
pub fn verify_service_account_token(
    token: &str,
    jwks: &Jwks,
    options: &VerifyOptions,
) -> Result<ServiceAccountClaims, TokenError> {
    let token = token.trim();
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(TokenError::Malformed(
            "a JWT has three non-empty base64url parts separated by dots",
        ));
    }
    let header = decode_json_part(parts[0]).ok_or(TokenError::Malformed(
        "the header is not base64url-encoded JSON",
    ))?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.clone(),
        _ => return Err(TokenError::Malformed("the header has no \"alg\"")),
    };
    if alg == "none" {
        return Err(TokenError::UnsupportedAlg {
            alg,
            why: ": unsigned tokens are never accepted".into(),
        });
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(TokenError::MissingKid),
    };
    let key = jwks.get(&kid).ok_or_else(|| TokenError::UnknownKid {
        kid: kid.clone(),
        known: jwks
            .kids()
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    if alg != key.alg {
        return Err(TokenError::AlgMismatch {
            alg,
            kid,
            key_alg: key.alg.clone(),
        });
    }
    let algorithm = match alg.as_str() {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        _ => {
            return Err(TokenError::UnsupportedAlg {
                alg,
                why: ": this verifier handles RS*, PS*, ES256 and ES384 (AWS STS verifies \
                      RS256, RS384, RS512, ES256, ES384 and ES512)"
                    .into(),
            })
        }
    };
    let unusable = |reason: &str| TokenError::KeyUnusable {
        kid: kid.clone(),
        reason: reason.to_string(),
    };
    let decoding_key = match key.kty.as_str() {
        "RSA" => {
            if key.rsa_bits().unwrap_or(0) < RECOMMENDED_MIN_RSA_BITS {
                return Err(unusable(
                    "RSA keys shorter than 2048 bits are not accepted for verification",
                ));
            }
            DecodingKey::from_rsa_components(
                key.n.as_deref().unwrap_or_default(),
                key.e.as_deref().unwrap_or_default(),
            )
        }
        "EC" => DecodingKey::from_ec_components(
            key.x.as_deref().unwrap_or_default(),
            key.y.as_deref().unwrap_or_default(),
        ),
        _ => return Err(unusable("unsupported key type")),
    }
    .map_err(|_| unusable("its numbers cannot be decoded"))?;

    let mut validation = Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &decoding_key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature { kid: kid.clone() },
            ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat => unusable("the crypto library refused the key"),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidClaimFormat(_) => {
                TokenError::Malformed("the header or the claims are not valid JSON objects")
            }
            ErrorKind::Base64(_) => TokenError::Malformed("a part is not valid base64url"),
            ErrorKind::InvalidAlgorithm => TokenError::AlgMismatch {
                alg: alg.clone(),
                kid: kid.clone(),
                key_alg: key.alg.clone(),
            },
            _ => TokenError::Malformed("the token could not be decoded"),
        })?;
    let claims = data.claims;
    check_claims(claims, kid, alg, options)
}

fn check_claims(
    claims: Map<String, Value>,
    kid: String,
    alg: String,
    options: &VerifyOptions,
) -> Result<ServiceAccountClaims, TokenError> {
    let iss = string_claim(&claims, "iss")?;
    if iss != options.issuer {
        let hint = if iss.trim_end_matches('/') == options.issuer.trim_end_matches('/') {
            format!(
                ". The only difference is a trailing slash: \"{iss}\" and \"{}\" are different \
                 issuers; make kube-apiserver's --service-account-issuer match the published issuer",
                options.issuer
            )
        } else {
            String::new()
        };
        return Err(TokenError::IssuerMismatch {
            expected: options.issuer.clone(),
            actual: iss,
            hint,
        });
    }
    let aud = match claims.get("aud") {
        None => return Err(TokenError::MissingClaim("aud")),
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(TokenError::WrongClaimType {
                claim: "aud",
                expected: "a string or an array of strings",
            })?,
        Some(_) => {
            return Err(TokenError::WrongClaimType {
                claim: "aud",
                expected: "a string or an array of strings",
            })
        }
    };
    if !aud.contains(&options.audience) {
        return Err(TokenError::AudienceMismatch {
            expected: options.audience.clone(),
            actual: serde_json::to_string(&aud).unwrap_or_default(),
        });
    }
    let sub = string_claim(&claims, "sub")?;
    let exp = time_claim(&claims, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    let nbf = time_claim(&claims, "nbf")?;
    let iat = time_claim(&claims, "iat")?;
    let now = options.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let leeway = options.leeway_seconds;
    if now > exp.saturating_add(leeway) {
        return Err(TokenError::Expired {
            exp,
            ago: now - exp,
            leeway,
        });
    }
    if let Some(nbf) = nbf {
        if nbf > now.saturating_add(leeway) {
            return Err(TokenError::NotYetValid {
                nbf,
                ahead: nbf - now,
                leeway,
            });
        }
    }
    if let Some(iat) = iat {
        if iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture {
                iat,
                ahead: iat - now,
                leeway,
            });
        }
    }
    Ok(ServiceAccountClaims {
        iss,
        sub,
        aud,
        exp,
        iat,
        nbf,
        kubernetes_io: claims.get("kubernetes.io").cloned(),
        kid,
        alg,
        all: claims,
    })
}

fn decode_json_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = b64url_decode(part)?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn string_claim(claims: &Map<String, Value>, claim: &'static str) -> Result<String, TokenError> {
    match claims.get(claim) {
        None => Err(TokenError::MissingClaim(claim)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(TokenError::WrongClaimType {
            claim,
            expected: "a string",
        }),
    }
}

/// A NumericDate claim (RFC 7519 §2): a non-negative number of seconds;
/// fractions are truncated.
fn time_claim(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<u64>, TokenError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                Ok(Some(v))
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite() && *f >= 0.0) {
                Ok(Some(f as u64))
            } else {
                Err(TokenError::WrongClaimType {
                    claim,
                    expected: "a non-negative number of seconds",
                })
            }
        }
        Some(_) => Err(TokenError::WrongClaimType {
            claim,
            expected: "a non-negative number of seconds",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::b64url_encode;
    use crate::oidc::jwks::parse_jwks;
    use crate::oidc::pem_keys::tests::{
        one, P256_PUB, RSA1024_KID, RSA1024_PUB, RSA2048_KID, RSA2048_PUB, RSA4096_PUB,
        TEST_ONLY_RSA_PRIVATE,
    };
    use crate::oidc::pem_keys::PublicJwk;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const ISS: &str = "https://oidc.example.com";
    const AUD: &str = "sts.amazonaws.com";
    const NOW: u64 = 1_750_000_000;

    fn kid() -> &'static str {
        RSA2048_KID.trim()
    }

    fn jwks() -> Jwks {
        Jwks::from_public_keys(vec![one(RSA2048_PUB), one(P256_PUB)]).unwrap()
    }

    fn options() -> VerifyOptions {
        VerifyOptions {
            now: Some(NOW),
            ..VerifyOptions::new(ISS, AUD)
        }
    }

    fn claims() -> Value {
        json!({
            "aud": [AUD],
            "exp": NOW + 3600,
            "iat": NOW - 60,
            "nbf": NOW - 60,
            "iss": ISS,
            "sub": "system:serviceaccount:default:app",
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "app", "uid": "u"}}
        })
    }

    fn sign_with_kid(claims: &Value, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        let key = EncodingKey::from_rsa_pem(TEST_ONLY_RSA_PRIVATE.as_bytes()).unwrap();
        encode(&header, claims, &key).unwrap()
    }

    fn sign(claims: &Value) -> String {
        sign_with_kid(claims, Some(kid()))
    }

    /// A token with an arbitrary header and a dummy signature.
    fn unsigned(header: Value, claims: &Value) -> String {
        format!(
            "{}.{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes()),
            b64url_encode(&[7u8; 64])
        )
    }

    fn verify(token: &str) -> Result<ServiceAccountClaims, TokenError> {
        let result = verify_service_account_token(token, &jwks(), &options());
        if let Err(e) = &result {
            let msg = format!("{e} {e:?}");
            assert!(
                token.len() < 8 || !msg.contains(token),
                "error echoes the token"
            );
            for part in token.split('.').filter(|p| p.len() > 8) {
                assert!(!msg.contains(part), "error echoes a token part");
            }
        }
        result
    }

    #[test]
    fn valid_token_gives_claims() {
        let c = verify(&sign(&claims())).unwrap();
        assert_eq!(c.iss, ISS);
        assert_eq!(c.sub, "system:serviceaccount:default:app");
        assert_eq!(c.aud, [AUD]);
        assert_eq!(c.exp, NOW + 3600);
        assert_eq!(c.iat, Some(NOW - 60));
        assert_eq!(c.nbf, Some(NOW - 60));
        assert_eq!(c.kid, kid());
        assert_eq!(c.alg, "RS256");
        assert_eq!(c.service_account(), Some(("default", "app")));
        assert_eq!(c.kubernetes_io.unwrap()["namespace"], "default");
        assert!(c.all.contains_key("kubernetes.io"));
    }

    #[test]
    fn audience_as_string_and_among_several() {
        let mut c = claims();
        c["aud"] = json!(AUD);
        assert!(verify(&sign(&c)).is_ok());
        c["aud"] = json!(["other", AUD]);
        assert!(verify(&sign(&c)).is_ok());
    }

    #[test]
    fn unknown_kid() {
        let err = verify(&sign_with_kid(&claims(), Some("not-published"))).unwrap_err();
        assert!(matches!(err, TokenError::UnknownKid { ref kid, .. } if kid == "not-published"));
        let msg = err.to_string();
        assert!(
            msg.contains("no key with kid \"not-published\" in the JWKS"),
            "{msg}"
        );
        assert!(msg.contains("Couldn't retrieve verification key"), "{msg}");
        assert!(msg.contains(kid()), "{msg}");
    }

    #[test]
    fn missing_kid() {
        assert_eq!(
            verify(&sign_with_kid(&claims(), None)).unwrap_err(),
            TokenError::MissingKid
        );
    }

    #[test]
    fn wrong_issuer() {
        let mut c = claims();
        c["iss"] = json!("https://kubernetes.default.svc");
        let err = verify(&sign(&c)).unwrap_err();
        assert!(matches!(err, TokenError::IssuerMismatch { ref hint, .. } if hint.is_empty()));
        assert!(err
            .to_string()
            .contains("\"https://kubernetes.default.svc\""));
    }

    #[test]
    fn issuer_with_trailing_slash() {
        let mut c = claims();
        c["iss"] = json!(format!("{ISS}/"));
        let err = verify(&sign(&c)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TokenError::IssuerMismatch { .. }));
        assert!(msg.contains("trailing slash"), "{msg}");
        assert!(msg.contains("--service-account-issuer"), "{msg}");
    }

    #[test]
    fn wrong_audience() {
        let mut c = claims();
        c["aud"] = json!(["https://kubernetes.default.svc"]);
        let err = verify(&sign(&c)).unwrap_err();
        assert_eq!(
            err,
            TokenError::AudienceMismatch {
                expected: AUD.into(),
                actual: "[\"https://kubernetes.default.svc\"]".into()
            }
        );
        c.as_object_mut().unwrap().remove("aud");
        assert_eq!(
            verify(&sign(&c)).unwrap_err(),
            TokenError::MissingClaim("aud")
        );
        c["aud"] = json!([1]);
        assert!(matches!(
            verify(&sign(&c)),
            Err(TokenError::WrongClaimType { claim: "aud", .. })
        ));
    }

    #[test]
    fn expiry_and_leeway() {
        let mut c = claims();
        c["iat"] = json!(NOW - 7200);
        c["nbf"] = json!(NOW - 7200);
        // Expired 200 s ago: within the default 300 s leeway.
        c["exp"] = json!(NOW - 200);
        assert!(verify(&sign(&c)).is_ok());
        // Exactly at the edge.
        c["exp"] = json!(NOW - 300);
        assert!(verify(&sign(&c)).is_ok());
        // Beyond.
        c["exp"] = json!(NOW - 301);
        let err = verify(&sign(&c)).unwrap_err();
        assert_eq!(
            err,
            TokenError::Expired {
                exp: NOW - 301,
                ago: 301,
                leeway: 300
            }
        );
        // Zero leeway.
        c["exp"] = json!(NOW - 1);
        let opts = VerifyOptions {
            leeway_seconds: 0,
            ..options()
        };
        assert!(matches!(
            verify_service_account_token(&sign(&c), &jwks(), &opts),
            Err(TokenError::Expired { .. })
        ));
        // Missing exp.
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            verify(&sign(&c)).unwrap_err(),
            TokenError::MissingClaim("exp")
        );
        c["exp"] = json!("soon");
        assert!(matches!(
            verify(&sign(&c)),
            Err(TokenError::WrongClaimType { claim: "exp", .. })
        ));
        c["exp"] = json!((NOW + 10) as f64 + 0.5);
        assert_eq!(verify(&sign(&c)).unwrap().exp, NOW + 10);
    }

    #[test]
    fn not_before_and_issued_at_in_future() {
        let mut c = claims();
        c["nbf"] = json!(NOW + 200);
        assert!(verify(&sign(&c)).is_ok());
        c["nbf"] = json!(NOW + 400);
        assert!(matches!(
            verify(&sign(&c)),
            Err(TokenError::NotYetValid { ahead: 400, .. })
        ));
        let mut c = claims();
        c["iat"] = json!(NOW + 400);
        assert!(matches!(
            verify(&sign(&c)),
            Err(TokenError::IssuedInFuture { ahead: 400, .. })
        ));
    }

    #[test]
    fn default_options_use_system_clock() {
        let opts = VerifyOptions::new(ISS, AUD);
        assert_eq!(opts.leeway_seconds, DEFAULT_LEEWAY_SECONDS);
        assert_eq!(DEFAULT_LEEWAY_SECONDS, 300);
        // A token valid by the real clock verifies when `now` is None.
        let real_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut c = claims();
        c["exp"] = json!(real_now + 600);
        c["iat"] = json!(real_now);
        c["nbf"] = json!(real_now);
        assert!(verify_service_account_token(&sign(&c), &jwks(), &opts).is_ok());
    }

    #[test]
    fn bad_signature() {
        // Claims swapped after signing.
        let token = sign(&claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut c = claims();
        c["sub"] = json!("system:serviceaccount:kube-system:admin");
        parts[1] = b64url_encode(c.to_string().as_bytes());
        let forged = parts.join(".");
        assert_eq!(
            verify(&forged).unwrap_err(),
            TokenError::BadSignature { kid: kid().into() }
        );
        // A published key with the right kid but other numbers.
        let mut other = one(RSA4096_PUB);
        other.kid = kid().to_string();
        let jwks = Jwks::from_public_keys(vec![other]).unwrap();
        assert!(matches!(
            verify_service_account_token(&token, &jwks, &options()),
            Err(TokenError::BadSignature { .. })
        ));
    }

    #[test]
    fn es256_token_with_rsa_key() {
        let token = unsigned(json!({"alg":"ES256","kid":kid(),"typ":"JWT"}), &claims());
        let err = verify(&token).unwrap_err();
        assert_eq!(
            err,
            TokenError::AlgMismatch {
                alg: "ES256".into(),
                kid: kid().into(),
                key_alg: "RS256".into()
            }
        );
        assert!(err.to_string().contains("signed with ES256"));
        // And HS256 (key confusion) is refused the same way.
        let token = unsigned(json!({"alg":"HS256","kid":kid()}), &claims());
        assert!(matches!(
            verify(&token),
            Err(TokenError::AlgMismatch { .. })
        ));
    }

    #[test]
    fn alg_none_and_es512() {
        let token = unsigned(json!({"alg":"none","kid":kid()}), &claims());
        assert!(matches!(
            verify(&token),
            Err(TokenError::UnsupportedAlg { .. })
        ));
        let p521 = parse_jwks(
            &json!({"keys":[serde_json::to_value(one(crate::oidc::pem_keys::tests::P521_PUB)).unwrap()]})
                .to_string(),
        )
        .unwrap();
        let kid = p521.kids()[0].clone();
        let token = unsigned(json!({"alg":"ES512","kid":kid}), &claims());
        assert!(matches!(
            verify_service_account_token(&token, &p521, &options()),
            Err(TokenError::UnsupportedAlg { .. })
        ));
    }

    #[test]
    fn short_rsa_key_is_unusable() {
        let jwks = Jwks::from_public_keys(vec![one(RSA1024_PUB)]).unwrap();
        let token = unsigned(json!({"alg":"RS256","kid":RSA1024_KID.trim()}), &claims());
        assert!(matches!(
            verify_service_account_token(&token, &jwks, &options()),
            Err(TokenError::KeyUnusable { .. })
        ));
    }

    #[test]
    fn malformed_tokens() {
        for token in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "..",
            "!!!.e30.sig",
            "e30.e30.c2ln", // header without alg
            "W10.e30.c2ln", // header is an array
        ] {
            assert!(
                matches!(verify(token), Err(TokenError::Malformed(_))),
                "{token}: {:?}",
                verify(token)
            );
        }
        // Claims that are not an object, correctly signed.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid().to_string());
        let key = EncodingKey::from_rsa_pem(TEST_ONLY_RSA_PRIVATE.as_bytes()).unwrap();
        let token = encode(&header, &json!([1, 2]), &key).unwrap();
        assert!(matches!(verify(&token), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn es256_and_es384_tokens_verify() {
        for (alg, rc_alg) in [
            (Algorithm::ES256, &rcgen::PKCS_ECDSA_P256_SHA256),
            (Algorithm::ES384, &rcgen::PKCS_ECDSA_P384_SHA384),
        ] {
            let kp = rcgen::KeyPair::generate_for(rc_alg).unwrap();
            let public =
                PublicJwk::from_spki_der(&pem::parse(kp.public_key_pem()).unwrap().into_contents())
                    .unwrap();
            let jwks = Jwks::from_public_keys(vec![public.clone(), one(RSA2048_PUB)]).unwrap();
            let mut header = Header::new(alg);
            header.kid = Some(public.kid.clone());
            let key = EncodingKey::from_ec_der(&kp.serialize_der());
            let token = encode(&header, &claims(), &key).unwrap();
            let c = verify_service_account_token(&token, &jwks, &options()).unwrap();
            assert_eq!(c.alg, public.alg);
            // Same token against the RSA kid: alg mismatch.
            let mut header = Header::new(alg);
            header.kid = Some(kid().to_string());
            let token = encode(&header, &claims(), &key).unwrap();
            assert!(matches!(
                verify_service_account_token(&token, &jwks, &options()),
                Err(TokenError::AlgMismatch { .. })
            ));
        }
    }

    #[test]
    fn service_account_parsing() {
        let mut c = verify(&sign(&claims())).unwrap();
        c.sub = "system:serviceaccount:ns".into();
        assert_eq!(c.service_account(), None);
        c.sub = "user:alice".into();
        assert_eq!(c.service_account(), None);
        c.sub = "system:serviceaccount:kube-system:aws-node".into();
        assert_eq!(c.service_account(), Some(("kube-system", "aws-node")));
    }
}
