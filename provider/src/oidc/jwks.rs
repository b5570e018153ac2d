//! The JSON Web Key Set an issuer publishes at `<issuer>/openid/v1/jwks`.
//!
//! A [`Jwks`] always holds between 1 and [`MAX_KEYS`] public signing keys
//! with unique `kid`s, sorted by `kid`, each complete and checked (no private
//! member, known key type and curve, a point on its curve, a sane RSA key).
//! [`Jwks::canonical_json`] therefore gives byte-identical output for equal
//! key sets, whatever order or formatting the input had.

use serde::Serialize;
use serde_json::{Map, Value};

use super::pem_keys::RECOMMENDED_MIN_RSA_BITS;
use super::pem_keys::{check_ec_point, check_rsa, strip_zeros, Curve, PublicJwk};
use super::{b64url_decode, b64url_encode, Finding};

/// Most keys a published key set may hold: some verifiers break beyond 100
/// keys (reported in spiffe/spire#4699).
pub const MAX_KEYS: usize = 100;

/// JWK members that only private (or symmetric) keys have.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// RSA signature algorithms a JWK may name.
/// What AWS STS verifies (RSA since the start, ECDSA since 2024-11-20).
pub const STS_ALGORITHMS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];
const RSA_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

/// A validated set of public signing keys. See the module docs for the invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<PublicJwk>,
}

/// Why a key set was refused. Never contains key material: members are
/// named, their values are not shown (except `kid`, `kty`, `use`, `alg` and
/// `crv`, which are public labels).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Not JSON at all.
    #[error("the JWKS is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON, but not of the JWKS shape.
    #[error("the JWKS must be a JSON object with a \"keys\" array: {0}")]
    NotAKeySet(String),
    /// No key at all.
    #[error(
        "the JWKS contains no keys: the issuer would publish no keys and STS could verify no token"
    )]
    Empty,
    /// More keys than verifiers cope with.
    #[error(
        "the JWKS would contain {count} keys, more than {MAX_KEYS}: some verifiers fail on larger \
         key sets (spiffe/spire#4699); retire old keys"
    )]
    TooManyKeys {
        /// How many keys there would be.
        count: usize,
    },
    /// A key that is not a JSON object.
    #[error("{key} is not a JSON object")]
    KeyNotObject {
        /// Location, e.g. `keys[2]`.
        key: String,
    },
    /// A key with a private member.
    #[error(
        "{key} contains the private key member \"{member}\": a JWKS is published to everyone and \
         must hold public keys only (the member's value is not shown)"
    )]
    PrivateMember {
        /// Location, e.g. `keys[0] (kid "abc")`.
        key: String,
        /// The offending member name.
        member: String,
    },
    /// A required member is absent.
    #[error("{key} has no \"{member}\" member{why}")]
    MissingMember {
        /// Location.
        key: String,
        /// The member.
        member: String,
        /// Why it matters (may be empty; starts with ": ").
        why: String,
    },
    /// A member of the wrong JSON type or encoding.
    #[error("{key}: member \"{member}\" {problem}")]
    InvalidMember {
        /// Location.
        key: String,
        /// The member.
        member: String,
        /// What is wrong, e.g. "must be a string".
        problem: String,
    },
    /// Two keys with one kid.
    #[error(
        "two different keys have the kid \"{kid}\": STS picks the verification key by kid, so \
         kids must be unique"
    )]
    DuplicateKid {
        /// The repeated kid.
        kid: String,
    },
    /// `use` other than `sig`.
    #[error("{key} has \"use\": \"{value}\"; only signing keys (\"use\": \"sig\") belong in this key set")]
    BadUse {
        /// Location.
        key: String,
        /// The `use` given.
        value: String,
    },
    /// A `kty` other than RSA or EC.
    #[error(
        "{key} has the unsupported key type \"{kty}\"; kube-apiserver signs with \"RSA\" or \"EC\" keys only"
    )]
    UnknownKty {
        /// Location.
        key: String,
        /// The `kty` given.
        kty: String,
    },
    /// An EC key on another curve.
    #[error(
        "{key} uses the unsupported curve \"{crv}\"; expected \"P-256\", \"P-384\" or \"P-521\""
    )]
    UnsupportedCurve {
        /// Location.
        key: String,
        /// The `crv` given.
        crv: String,
    },
    /// An `alg` that does not fit the key.
    #[error("{key} has \"alg\": \"{alg}\", which does not fit the key (expected {expected})")]
    AlgMismatch {
        /// Location.
        key: String,
        /// The `alg` given.
        alg: String,
        /// What would fit.
        expected: String,
    },
    /// The key numbers are unusable.
    #[error("{key}: {reason}")]
    InvalidKey {
        /// Location.
        key: String,
        /// What is wrong (no key material).
        reason: String,
    },
}

/// Parse and validate a JWKS document (`{"keys":[...]}`).
///
/// A missing `use` becomes `"sig"`, a missing `alg` is filled from the key
/// type and curve as kube-apiserver does (RSA → `RS256`, P-256 → `ES256`,
/// P-384 → `ES384`, P-521 → `ES512`). Members other than `use`, `kty`,
/// `kid`, `alg`, `n`, `e`, `crv`, `x`, `y` (for example `x5c`) are dropped.
/// Leading zero bytes of `n`/`e` are stripped.
///
/// # Errors
/// See [`JwksError`]: not a key set, no keys, more than [`MAX_KEYS`], a key
/// with a private member, without `kid`, with a duplicate `kid`, with `use`
/// other than `sig`, with an unknown `kty`/`crv`/`alg`, or with unusable numbers.
pub fn parse_jwks(json: &str) -> Result<Jwks, JwksError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| JwksError::InvalidJson(e.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| JwksError::NotAKeySet(format!("got {}", json_kind(&value))))?;
    let keys = object
        .get("keys")
        .ok_or_else(|| JwksError::NotAKeySet("there is no \"keys\" member".into()))?
        .as_array()
        .ok_or_else(|| JwksError::NotAKeySet("\"keys\" is not an array".into()))?;
    if keys.is_empty() {
        return Err(JwksError::Empty);
    }
    if keys.len() > MAX_KEYS {
        return Err(JwksError::TooManyKeys { count: keys.len() });
    }
    let parsed = keys
        .iter()
        .enumerate()
        .map(|(i, k)| parse_key(i, k))
        .collect::<Result<Vec<_>, _>>()?;
    Jwks::build(parsed, false)
}

impl Jwks {
    /// A key set from public keys (typically from
    /// [`super::parse_public_keys_pem`]). Keys are validated like parsed
    /// ones; identical keys are merged (a key file may list a key twice, or
    /// hold both a key and its certificate).
    ///
    /// # Errors
    /// No keys, more than [`MAX_KEYS`] distinct keys, two different keys with
    /// one kid, or an invalid key.
    pub fn from_public_keys(keys: Vec<PublicJwk>) -> Result<Jwks, JwksError> {
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        let checked = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let value = serde_json::to_value(k).expect("a PublicJwk always serializes");
                parse_key(i, &value)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Jwks::build(checked, true)
    }

    /// Sort by kid, refuse (or, with `merge_identical`, merge) duplicates,
    /// enforce the size limits.
    fn build(mut keys: Vec<PublicJwk>, merge_identical: bool) -> Result<Jwks, JwksError> {
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        let mut out: Vec<PublicJwk> = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(last) = out.last() {
                if last.kid == key.kid {
                    if merge_identical && *last == key {
                        continue;
                    }
                    return Err(JwksError::DuplicateKid { kid: key.kid });
                }
            }
            out.push(key);
        }
        let jwks = Jwks { keys: out };
        jwks.check_size()?;
        Ok(jwks)
    }

    fn check_size(&self) -> Result<(), JwksError> {
        match self.keys.len() {
            0 => Err(JwksError::Empty),
            n if n > MAX_KEYS => Err(JwksError::TooManyKeys { count: n }),
            _ => Ok(()),
        }
    }

    /// The keys, sorted by kid.
    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// Number of keys (at least 1).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a `Jwks` holds at least one key. Present for API completeness.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key with this kid.
    pub fn get(&self, kid: &str) -> Option<&PublicJwk> {
        self.keys
            .binary_search_by(|k| k.kid.as_str().cmp(kid))
            .ok()
            .map(|i| &self.keys[i])
    }

    /// All kids, sorted.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The signing algorithms of the keys, sorted and unique (the
    /// discovery document's `id_token_signing_alg_values_supported`).
    pub fn algorithms(&self) -> Vec<String> {
        let mut algs: Vec<String> = self.keys.iter().map(|k| k.alg.clone()).collect();
        algs.sort();
        algs.dedup();
        algs
    }

    /// The document to publish: compact JSON `{"keys":[...]}`, keys sorted by
    /// kid, members in kube-apiserver's order (`use, kty, kid, alg, n, e` for
    /// RSA; `use, kty, kid, crv, alg, x, y` for EC). Equal key sets give
    /// byte-identical output.
    pub fn canonical_json(&self) -> String {
        #[derive(Serialize)]
        struct View<'a> {
            keys: &'a [PublicJwk],
        }
        serde_json::to_string(&View { keys: &self.keys }).expect("a JWKS always serializes")
    }

    /// Warnings about keys that work in Kubernetes but likely not with AWS:
    /// any algorithm AWS STS does not verify, and RSA keys under 2048 bits.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for key in &self.keys {
            if !STS_ALGORITHMS.contains(&key.alg.as_str()) {
                out.push(Finding {
                    kid: Some(key.kid.clone()),
                    summary: format!("Key {} signs with {}, which AWS STS refuses", key.kid, key.alg),
                    detail: format!(
                        "AWS STS accepts web identity tokens signed with {} only; tokens signed \
                         with this {} key will be rejected (InvalidIdentityToken). Sign service \
                         account tokens with an RSA (at least 2048 bits) or an EC P-256/P-384/P-521 key.",
                        STS_ALGORITHMS.join(", "),
                        key.alg
                    ),
                });
            }
            if let Some(bits) = key.rsa_bits() {
                if bits < RECOMMENDED_MIN_RSA_BITS {
                    out.push(Finding {
                        kid: Some(key.kid.clone()),
                        summary: format!("RSA key {} has only {bits} bits", key.kid),
                        detail: format!(
                            "RSA keys shorter than {RECOMMENDED_MIN_RSA_BITS} bits are weak and \
                             may be refused by AWS STS; Kubernetes accepts them. Replace the \
                             service account signing key with one of at least \
                             {RECOMMENDED_MIN_RSA_BITS} bits."
                        ),
                    });
                }
            }
        }
        out
    }

    /// The keys of both sets, for a key-retention overlap: a key of `self`
    /// wins over a key of `retained` with the same kid.
    ///
    /// # Errors
    /// [`JwksError::TooManyKeys`] if the union would exceed [`MAX_KEYS`].
    pub fn union_with_retained(&self, retained: &Jwks) -> Result<Jwks, JwksError> {
        let mut keys = self.keys.clone();
        for key in &retained.keys {
            if self.get(&key.kid).is_none() {
                keys.push(key.clone());
            }
        }
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        let jwks = Jwks { keys };
        jwks.check_size()?;
        Ok(jwks)
    }
}

/// Validate one key of a JWKS and bring it to canonical form.
fn parse_key(index: usize, value: &Value) -> Result<PublicJwk, JwksError> {
    let object = value.as_object().ok_or_else(|| JwksError::KeyNotObject {
        key: format!("keys[{index}]"),
    })?;
    let kid_hint = object.get("kid").and_then(Value::as_str);
    let loc = match kid_hint {
        Some(kid) => format!("keys[{index}] (kid \"{}\")", printable(kid)),
        None => format!("keys[{index}]"),
    };
    // Private members first: even a key that is broken otherwise must not be
    // published if it carries private material.
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| object.contains_key(**m)) {
        return Err(JwksError::PrivateMember {
            key: loc,
            member: (*member).to_string(),
        });
    }
    let kid = match object.get("kid") {
        None => {
            return Err(JwksError::MissingMember {
                key: loc,
                member: "kid".into(),
                why: ": STS picks the verification key by kid".into(),
            })
        }
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(JwksError::InvalidMember {
                key: loc,
                member: "kid".into(),
                problem: "must be a non-empty string".into(),
            })
        }
    };
    let kty = required_str(object, &loc, "kty", "")?;
    match object.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(Value::String(u)) => {
            return Err(JwksError::BadUse {
                key: loc,
                value: printable(u),
            })
        }
        Some(_) => {
            return Err(JwksError::InvalidMember {
                key: loc,
                member: "use".into(),
                problem: "must be a string".into(),
            })
        }
    }
    let alg = optional_str(object, &loc, "alg")?;
    match kty {
        "RSA" => {
            let n = required_b64(object, &loc, "n")?;
            let e = required_b64(object, &loc, "e")?;
            let (n, e) = (strip_zeros(&n), strip_zeros(&e));
            check_rsa(n, e).map_err(|err| JwksError::InvalidKey {
                key: loc.clone(),
                reason: err.to_string(),
            })?;
            let alg = match alg {
                None => "RS256".to_string(),
                Some(a) if RSA_ALGS.contains(&a) => a.to_string(),
                Some(a) => {
                    return Err(JwksError::AlgMismatch {
                        key: loc,
                        alg: printable(a),
                        expected: "RS256 (or RS384, RS512, PS256, PS384, PS512)".into(),
                    })
                }
            };
            Ok(PublicJwk {
                use_: "sig".into(),
                kty: "RSA".into(),
                kid,
                crv: None,
                alg,
                x: None,
                y: None,
                n: Some(b64url_encode(n)),
                e: Some(b64url_encode(e)),
            })
        }
        "EC" => {
            let crv = required_str(object, &loc, "crv", "")?;
            let curve = Curve::from_jwk_name(crv).ok_or_else(|| JwksError::UnsupportedCurve {
                key: loc.clone(),
                crv: printable(crv),
            })?;
            let x = required_b64(object, &loc, "x")?;
            let y = required_b64(object, &loc, "y")?;
            let size = curve.coordinate_len();
            if x.len() != size || y.len() != size {
                return Err(JwksError::InvalidKey {
                    key: loc,
                    reason: format!(
                        "\"x\" and \"y\" of a {crv} key must each be {size} bytes long \
                         (RFC 7518 §6.2.1.2), got {} and {}",
                        x.len(),
                        y.len()
                    ),
                });
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            check_ec_point(curve, &point).map_err(|err| JwksError::InvalidKey {
                key: loc.clone(),
                reason: err.to_string(),
            })?;
            let alg = match alg {
                None => curve.alg().to_string(),
                Some(a) if a == curve.alg() => a.to_string(),
                Some(a) => {
                    return Err(JwksError::AlgMismatch {
                        key: loc,
                        alg: printable(a),
                        expected: format!("{} for a {crv} key", curve.alg()),
                    })
                }
            };
            Ok(PublicJwk {
                use_: "sig".into(),
                kty: "EC".into(),
                kid,
                crv: Some(crv.to_string()),
                alg,
                x: Some(b64url_encode(&x)),
                y: Some(b64url_encode(&y)),
                n: None,
                e: None,
            })
        }
        other => Err(JwksError::UnknownKty {
            key: loc,
            kty: printable(other),
        }),
    }
}

fn required_str<'a>(
    object: &'a Map<String, Value>,
    loc: &str,
    member: &str,
    why: &str,
) -> Result<&'a str, JwksError> {
    match object.get(member) {
        None => Err(JwksError::MissingMember {
            key: loc.to_string(),
            member: member.to_string(),
            why: why.to_string(),
        }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JwksError::InvalidMember {
            key: loc.to_string(),
            member: member.to_string(),
            problem: "must be a string".into(),
        }),
    }
}

fn optional_str<'a>(
    object: &'a Map<String, Value>,
    loc: &str,
    member: &str,
) -> Result<Option<&'a str>, JwksError> {
    match object.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JwksError::InvalidMember {
            key: loc.to_string(),
            member: member.to_string(),
            problem: "must be a string".into(),
        }),
    }
}

fn required_b64(
    object: &Map<String, Value>,
    loc: &str,
    member: &str,
) -> Result<Vec<u8>, JwksError> {
    let s = required_str(object, loc, member, "")?;
    b64url_decode(s).ok_or_else(|| JwksError::InvalidMember {
        key: loc.to_string(),
        member: member.to_string(),
        problem: "is not base64url (RFC 7515 §2)".into(),
    })
}

/// A public label (kid, kty, ...) made safe and short for a message.
fn printable(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(100).collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::pem_keys::parse_public_keys_pem;
    use crate::oidc::pem_keys::tests::{
        one, P256_KID, P256_PUB, P384_PUB, P521_PUB, RSA1024_PUB, RSA2048_CERT, RSA2048_KID,
        RSA2048_PUB, RSA4096_PUB,
    };

    fn rsa_json() -> Value {
        serde_json::to_value(one(RSA2048_PUB)).unwrap()
    }

    fn ec_json() -> Value {
        serde_json::to_value(one(P256_PUB)).unwrap()
    }

    fn set(keys: Vec<Value>) -> String {
        serde_json::json!({ "keys": keys }).to_string()
    }

    #[test]
    fn parses_kube_output_and_round_trips() {
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB), one(P256_PUB)]).unwrap();
        let json = jwks.canonical_json();
        let again = parse_jwks(&json).unwrap();
        assert_eq!(again, jwks);
        assert_eq!(again.canonical_json(), json);
    }

    #[test]
    fn canonical_json_is_kube_shaped() {
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB)]).unwrap();
        let k = one(RSA2048_PUB);
        let expected = format!(
            "{{\"keys\":[{{\"use\":\"sig\",\"kty\":\"RSA\",\"kid\":\"{}\",\"alg\":\"RS256\",\"n\":\"{}\",\"e\":\"AQAB\"}}]}}",
            k.kid,
            k.n.unwrap()
        );
        assert_eq!(jwks.canonical_json(), expected);

        let ec = Jwks::from_public_keys(vec![one(P256_PUB)]).unwrap();
        let k = one(P256_PUB);
        let expected = format!(
            "{{\"keys\":[{{\"use\":\"sig\",\"kty\":\"EC\",\"kid\":\"{}\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"x\":\"{}\",\"y\":\"{}\"}}]}}",
            k.kid,
            k.x.unwrap(),
            k.y.unwrap()
        );
        assert_eq!(ec.canonical_json(), expected);
    }

    #[test]
    fn canonical_json_ignores_input_order_and_formatting() {
        let mut rsa = rsa_json();
        // Reorder members, add whitespace and an extra member, drop use/alg.
        let obj = rsa.as_object_mut().unwrap();
        obj.remove("use");
        obj.remove("alg");
        let mut reordered = Map::new();
        for m in ["e", "n", "kid", "kty"] {
            reordered.insert(m.to_string(), obj[m].clone());
        }
        reordered.insert("x5t".into(), Value::String("ignored".into()));
        let a = parse_jwks(
            &serde_json::to_string_pretty(&serde_json::json!({
                "keys": [ec_json(), Value::Object(reordered)]
            }))
            .unwrap(),
        )
        .unwrap();
        let b = parse_jwks(&set(vec![rsa_json(), ec_json()])).unwrap();
        assert_eq!(a.canonical_json(), b.canonical_json());
        assert!(!a.canonical_json().contains("x5t"));
        // Sorted by kid.
        let kids = a.kids();
        let mut sorted = kids.clone();
        sorted.sort();
        assert_eq!(kids, sorted);
    }

    #[test]
    fn fills_missing_alg_per_curve() {
        for pem in [P256_PUB, P384_PUB, P521_PUB, RSA4096_PUB] {
            let mut v = serde_json::to_value(one(pem)).unwrap();
            let expected = v["alg"].clone();
            v.as_object_mut().unwrap().remove("alg");
            let jwks = parse_jwks(&set(vec![v])).unwrap();
            assert_eq!(Value::String(jwks.keys()[0].alg.clone()), expected);
        }
    }

    #[test]
    fn refuses_non_objects_and_missing_keys() {
        assert!(matches!(
            parse_jwks("not json"),
            Err(JwksError::InvalidJson(_))
        ));
        assert!(matches!(parse_jwks("[]"), Err(JwksError::NotAKeySet(_))));
        assert!(matches!(parse_jwks("{}"), Err(JwksError::NotAKeySet(_))));
        assert!(matches!(
            parse_jwks("{\"keys\":{}}"),
            Err(JwksError::NotAKeySet(_))
        ));
        assert!(matches!(
            parse_jwks("{\"keys\":[1]}"),
            Err(JwksError::KeyNotObject { .. })
        ));
    }

    #[test]
    fn refuses_empty_set_with_clear_message() {
        let err = parse_jwks("{\"keys\":[]}").unwrap_err();
        assert_eq!(err, JwksError::Empty);
        let msg = err.to_string();
        assert!(msg.contains("empty") || msg.contains("no keys"));
        assert!(msg.contains("the issuer would publish no keys and STS could verify no token"));
        assert_eq!(
            Jwks::from_public_keys(vec![]).unwrap_err(),
            JwksError::Empty
        );
    }

    #[test]
    fn refuses_private_members_without_value() {
        for member in PRIVATE_MEMBERS {
            let mut v = rsa_json();
            v[member] = Value::String("SECRETVALUE123".into());
            let err = parse_jwks(&set(vec![ec_json(), v])).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, JwksError::PrivateMember { .. }),
                "{member}: {err:?}"
            );
            assert!(msg.contains(&format!("\"{member}\"")), "{msg}");
            assert!(msg.contains("keys[1]"), "{msg}");
            assert!(msg.contains(RSA2048_KID.trim()), "{msg}");
            assert!(!msg.contains("SECRETVALUE123"));
            assert!(!format!("{err:?}").contains("SECRETVALUE123"));
        }
        // A symmetric key: named as private, not as unknown kty.
        let oct = serde_json::json!({"kty":"oct","kid":"h","k":"c2VjcmV0"});
        let err = parse_jwks(&set(vec![oct])).unwrap_err();
        assert!(matches!(err, JwksError::PrivateMember { ref member, .. } if member == "k"));
        // Private member on a key without kid: named by index.
        let err = parse_jwks("{\"keys\":[{\"kty\":\"EC\",\"d\":\"AAAA\"}]}").unwrap_err();
        assert!(err.to_string().starts_with("keys[0] contains"), "{err}");
    }

    #[test]
    fn refuses_missing_or_bad_kid() {
        let mut v = rsa_json();
        v.as_object_mut().unwrap().remove("kid");
        let err = parse_jwks(&set(vec![v])).unwrap_err();
        assert!(
            err.to_string()
                .contains("STS picks the verification key by kid"),
            "{err}"
        );
        let mut v = rsa_json();
        v["kid"] = Value::String(String::new());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::InvalidMember { .. })
        ));
        let mut v = rsa_json();
        v["kid"] = serde_json::json!(7);
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::InvalidMember { .. })
        ));
    }

    #[test]
    fn refuses_duplicate_kids() {
        let mut ec = ec_json();
        ec["kid"] = Value::String(RSA2048_KID.trim().into());
        let err = parse_jwks(&set(vec![rsa_json(), ec])).unwrap_err();
        assert_eq!(
            err,
            JwksError::DuplicateKid {
                kid: RSA2048_KID.trim().into()
            }
        );
        // Even identical duplicates in a document.
        assert!(matches!(
            parse_jwks(&set(vec![rsa_json(), rsa_json()])),
            Err(JwksError::DuplicateKid { .. })
        ));
    }

    #[test]
    fn from_public_keys_merges_identical_keys() {
        let keys =
            parse_public_keys_pem(&format!("{RSA2048_PUB}{RSA2048_CERT}{P256_PUB}")).unwrap();
        assert_eq!(keys.len(), 3);
        let jwks = Jwks::from_public_keys(keys).unwrap();
        assert_eq!(jwks.len(), 2);
        let mut other = one(P256_PUB);
        other.kid = RSA2048_KID.trim().to_string();
        assert!(matches!(
            Jwks::from_public_keys(vec![one(RSA2048_PUB), other]),
            Err(JwksError::DuplicateKid { .. })
        ));
    }

    #[test]
    fn from_public_keys_validates_hand_made_keys() {
        let mut k = one(RSA2048_PUB);
        k.n = Some("!!".into());
        assert!(matches!(
            Jwks::from_public_keys(vec![k]),
            Err(JwksError::InvalidMember { .. })
        ));
    }

    #[test]
    fn refuses_bad_use_kty_crv_alg() {
        let mut v = rsa_json();
        v["use"] = Value::String("enc".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::BadUse { .. })
        ));

        let okp = serde_json::json!({"kty":"OKP","kid":"o","crv":"Ed25519","x":"AAAA"});
        let err = parse_jwks(&set(vec![okp])).unwrap_err();
        assert!(matches!(err, JwksError::UnknownKty { ref kty, .. } if kty == "OKP"));

        let mut v = ec_json();
        v["crv"] = Value::String("secp256k1".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::UnsupportedCurve { .. })
        ));

        let mut v = ec_json();
        v["alg"] = Value::String("ES384".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::AlgMismatch { .. })
        ));

        let mut v = rsa_json();
        v["alg"] = Value::String("ES256".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::AlgMismatch { .. })
        ));

        let mut v = rsa_json();
        v["alg"] = Value::String("PS256".into());
        assert_eq!(parse_jwks(&set(vec![v])).unwrap().algorithms(), ["PS256"]);
    }

    #[test]
    fn refuses_incomplete_keys() {
        for (base, member) in [
            (rsa_json(), "n"),
            (rsa_json(), "e"),
            (ec_json(), "crv"),
            (ec_json(), "x"),
            (ec_json(), "y"),
        ] {
            let mut v = base;
            v.as_object_mut().unwrap().remove(member);
            let err = parse_jwks(&set(vec![v])).unwrap_err();
            assert!(
                matches!(err, JwksError::MissingMember { member: ref m, .. } if m == member),
                "{member}: {err:?}"
            );
        }
        let mut v = rsa_json();
        v.as_object_mut().unwrap().remove("kty");
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::MissingMember { .. })
        ));
    }

    #[test]
    fn refuses_bad_numbers() {
        let mut v = ec_json();
        // Unpadded (short) coordinate.
        let x = b64url_decode(v["x"].as_str().unwrap()).unwrap();
        v["x"] = Value::String(b64url_encode(&x[1..]));
        let err = parse_jwks(&set(vec![v])).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");

        let mut v = ec_json();
        let mut y = b64url_decode(v["y"].as_str().unwrap()).unwrap();
        y[31] ^= 1;
        v["y"] = Value::String(b64url_encode(&y));
        let err = parse_jwks(&set(vec![v])).unwrap_err();
        assert!(err.to_string().contains("not on the P-256 curve"), "{err}");

        let mut v = rsa_json();
        v["n"] = Value::String("AQAB".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::InvalidKey { .. })
        ));

        let mut v = rsa_json();
        v["e"] = Value::String("a+b/".into());
        assert!(matches!(
            parse_jwks(&set(vec![v])),
            Err(JwksError::InvalidMember { .. })
        ));
    }

    #[test]
    fn strips_leading_zero_of_modulus() {
        let k = one(RSA2048_PUB);
        let mut n = vec![0u8];
        n.extend(b64url_decode(k.n.as_deref().unwrap()).unwrap());
        let mut v = rsa_json();
        v["n"] = Value::String(b64url_encode(&n));
        let jwks = parse_jwks(&set(vec![v])).unwrap();
        assert_eq!(jwks.keys()[0], k);
    }

    #[test]
    fn refuses_more_than_100_keys() {
        let keys: Vec<Value> = (0..101)
            .map(|i| {
                let mut v = rsa_json();
                v["kid"] = Value::String(format!("k{i:03}"));
                v
            })
            .collect();
        let err = parse_jwks(&set(keys.clone())).unwrap_err();
        assert_eq!(err, JwksError::TooManyKeys { count: 101 });
        assert!(parse_jwks(&set(keys[..100].to_vec())).is_ok());
    }

    #[test]
    fn algorithms_kids_and_get() {
        let jwks = Jwks::from_public_keys(vec![
            one(P521_PUB),
            one(RSA2048_PUB),
            one(P256_PUB),
            one(RSA4096_PUB),
        ])
        .unwrap();
        assert_eq!(jwks.algorithms(), ["ES256", "ES512", "RS256"]);
        assert_eq!(jwks.kids().len(), 4);
        assert!(jwks.get(P256_KID.trim()).is_some());
        assert!(jwks.get("nope").is_none());
        assert!(!jwks.is_empty());
    }

    #[test]
    fn findings_for_algorithms_sts_refuses_and_short_rsa() {
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB), one(RSA4096_PUB)]).unwrap();
        assert!(jwks.findings().is_empty());

        // ES256 is accepted by STS (since 2024-11-20): no finding for it.
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB), one(P256_PUB), one(RSA1024_PUB)])
            .unwrap();
        let findings = jwks.findings();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].summary.contains("1024 bits"));
        assert!(findings
            .iter()
            .all(|f| f.kid.as_deref() != Some(P256_KID.trim())));

        // PS256 is a valid RSA algorithm in a JWKS, but STS does not verify it.
        let mut key = rsa_json();
        key["alg"] = "PS256".into();
        let ps = parse_jwks(&set(vec![key])).unwrap();
        let f = ps.findings();
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].summary.contains("PS256") && f[0].summary.contains("refuses"));
        assert!(f[0]
            .detail
            .contains("RS256, RS384, RS512, ES256, ES384, ES512"));
    }

    #[test]
    fn union_with_retained_keeps_both_and_prefers_current() {
        let current = Jwks::from_public_keys(vec![one(RSA2048_PUB)]).unwrap();
        let mut old_same_kid = rsa_json();
        old_same_kid["alg"] = Value::String("RS512".into());
        let retained = parse_jwks(&set(vec![old_same_kid, ec_json()])).unwrap();
        let union = current.union_with_retained(&retained).unwrap();
        assert_eq!(union.len(), 2);
        assert_eq!(union.get(RSA2048_KID.trim()).unwrap().alg, "RS256");
        assert!(union.get(P256_KID.trim()).is_some());
        // Idempotent and order-independent output.
        assert_eq!(
            union
                .union_with_retained(&retained)
                .unwrap()
                .canonical_json(),
            union.canonical_json()
        );
    }

    #[test]
    fn union_refuses_more_than_100() {
        let make = |prefix: &str, n: usize| {
            let keys: Vec<Value> = (0..n)
                .map(|i| {
                    let mut v = rsa_json();
                    v["kid"] = Value::String(format!("{prefix}{i:03}"));
                    v
                })
                .collect();
            parse_jwks(&set(keys)).unwrap()
        };
        let err = make("a", 60)
            .union_with_retained(&make("b", 41))
            .unwrap_err();
        assert_eq!(err, JwksError::TooManyKeys { count: 101 });
        assert_eq!(
            make("a", 60)
                .union_with_retained(&make("b", 40))
                .unwrap()
                .len(),
            100
        );
    }
}
