//! PEM public keys as kube-apiserver reads them from `--service-account-key-file`,
//! turned into JWKs with the key id kube-apiserver uses.
//!
//! Accepted PEM blocks: `PUBLIC KEY` (PKIX SubjectPublicKeyInfo with an RSA or
//! EC P-256/P-384/P-521 key), `RSA PUBLIC KEY` (PKCS#1) and `CERTIFICATE`
//! (its SubjectPublicKeyInfo is used). An input may hold several blocks, as a
//! key file may; `EC PARAMETERS` blocks (written by `openssl ecparam -genkey`)
//! are skipped. Private keys are refused.
//!
//! The `kid` is base64url (no padding) of SHA-256 over the DER of the
//! SubjectPublicKeyInfo exactly as Go's `x509.MarshalPKIXPublicKey` writes
//! it (RSA: `rsaEncryption` with explicit NULL parameters; EC:
//! `id-ecPublicKey` with the named-curve OID and the uncompressed point).
//! That is kube-apiserver's `keyIDFromPublicKey`, so the value equals the
//! `kid` in the header of the tokens the cluster signs.

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, UintRef};
use der::{Decode, Encode, SliceReader, Tag, TagNumber, Tagged};
use serde::Serialize;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::{b64url_decode, b64url_encode};

/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSASSA-PSS (RFC 4055), named only to give a clear error.
const ID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-ecPublicKey (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480).
const SECP_256_R_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480).
const SECP_384_R_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// secp521r1 (RFC 5480).
const SECP_521_R_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// Ed25519 (RFC 8410), named only to give a clear error.
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// Ed448 (RFC 8410), named only to give a clear error.
const ID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
/// id-dsa (RFC 3279), named only to give a clear error.
const ID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
/// secp256k1 (SEC 2), named only to give a clear error.
const SECP_256_K_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// Smallest RSA modulus accepted at all. Go 1.24+ (kube-apiserver 1.33+)
/// refuses to sign or verify with smaller keys.
pub const MIN_RSA_BITS: usize = 1024;
/// RSA keys shorter than this produce a warning ([`super::Finding`]).
pub const RECOMMENDED_MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (a sanity bound).
pub const MAX_RSA_BITS: usize = 16384;

/// An elliptic curve kube-apiserver can sign service account tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1), JWS `ES256`.
    P256,
    /// NIST P-384 (secp384r1), JWS `ES384`.
    P384,
    /// NIST P-521 (secp521r1), JWS `ES512`.
    P521,
}

impl Curve {
    /// The JWK `crv` name: `P-256`, `P-384` or `P-521`.
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The JWS algorithm kube-apiserver uses with this curve.
    pub fn alg(self) -> &'static str {
        match self {
            Curve::P256 => "ES256",
            Curve::P384 => "ES384",
            Curve::P521 => "ES512",
        }
    }

    /// Length in bytes of one coordinate (`x` and `y` are padded to it, RFC 7518 §6.2.1.2).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The curve for a JWK `crv` name.
    pub fn from_jwk_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => SECP_256_R_1,
            Curve::P384 => SECP_384_R_1,
            Curve::P521 => SECP_521_R_1,
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.oid() == *oid)
    }
}

/// A public key as one entry of a JSON Web Key Set, in the form
/// kube-apiserver serves at `/openid/v1/jwks`.
///
/// RSA keys carry `n` and `e`; EC keys carry `crv`, `x` and `y`; all binary
/// members are base64url without padding (`n`/`e` minimal big-endian, `x`/`y`
/// padded to the curve size). Serializing it with serde gives kube-apiserver's
/// member order: `use, kty, kid, alg, n, e` for RSA and
/// `use, kty, kid, crv, alg, x, y` for EC (the order of go-jose's
/// `rawJSONWebKey`, which kube-apiserver uses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PublicJwk {
    /// Always `"sig"`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `"RSA"` or `"EC"`.
    pub kty: String,
    /// Key id. For keys read from PEM: kube-apiserver's key id (see module docs).
    pub kid: String,
    /// EC only: `P-256`, `P-384` or `P-521`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// `RS256` for RSA; `ES256`/`ES384`/`ES512` for EC.
    pub alg: String,
    /// EC only: x coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC only: y coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA only: modulus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA only: public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// Why a single public key could not be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not the DER structure expected.
    #[error("not a valid DER-encoded {what} ({reason})")]
    Der {
        /// What was expected (for example "SubjectPublicKeyInfo").
        what: &'static str,
        /// The decoder's complaint (positions and tags only).
        reason: String,
    },
    /// Neither RSA nor EC.
    #[error(
        "unsupported key algorithm {name} (OID {oid}); kube-apiserver signs service account \
         tokens only with RSA or ECDSA (P-256, P-384, P-521) keys"
    )]
    UnsupportedAlgorithm {
        /// A readable name for the algorithm.
        name: String,
        /// Its OID in dotted form.
        oid: String,
    },
    /// An EC key on a curve other than P-256, P-384, P-521.
    #[error(
        "unsupported elliptic curve {curve}; kube-apiserver accepts only P-256, P-384 and P-521 keys"
    )]
    UnsupportedCurve {
        /// The curve OID or name as given.
        curve: String,
    },
    /// The RSA numbers are unusable.
    #[error("invalid RSA public key: {0}")]
    InvalidRsa(String),
    /// The EC point is unusable.
    #[error("invalid EC public key: {0}")]
    InvalidEc(String),
    /// A [`PublicJwk`] lacks or garbles a member needed to rebuild the key.
    #[error("the JWK is incomplete or malformed: {0}")]
    Malformed(String),
}

/// Why a PEM input could not be turned into public keys. Never contains key
/// material (no base64 body, no header line of a block).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemKeyError {
    /// Nothing that looks like a PEM block.
    #[error(
        "no PEM block found: expected one or more blocks such as \"-----BEGIN PUBLIC KEY-----\" \
         (the content of a kube-apiserver --service-account-key-file)"
    )]
    NoPemBlock,
    /// A private key was given.
    #[error(
        "PEM block {block} is a private key (\"{label}\") where a public key belongs. Give the \
         matching public key instead (for example the output of `openssl pkey -in sa.key -pubout`): \
         a private key must never be published nor kept in Terraform state"
    )]
    PrivateKey {
        /// 1-based position of the block in the input.
        block: usize,
        /// The block type, e.g. `RSA PRIVATE KEY`.
        label: String,
    },
    /// Broken PEM framing or base64 body.
    #[error("the PEM input is malformed: {0}")]
    Malformed(String),
    /// A block type that is not a public key.
    #[error(
        "PEM block {block} has type \"{label}\"; expected \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\""
    )]
    UnsupportedBlock {
        /// 1-based position of the block in the input.
        block: usize,
        /// The block type.
        label: String,
    },
    /// The block's content is not a usable key.
    #[error("PEM block {block} (\"{label}\"): {source}")]
    Key {
        /// 1-based position of the block in the input.
        block: usize,
        /// The block type.
        label: String,
        /// What is wrong with the key.
        #[source]
        source: KeyError,
    },
    /// Only blocks that hold no key (such as `EC PARAMETERS`).
    #[error("the PEM input holds no public key (it has only \"EC PARAMETERS\" blocks)")]
    NoPublicKey,
}

/// Parse every public key in a PEM input (for example the content of a
/// kube-apiserver `--service-account-key-file`), in input order.
///
/// Duplicates are kept here; [`super::Jwks::from_public_keys`] merges them.
///
/// # Errors
/// Any private-key block, any block of another type (except `EC PARAMETERS`,
/// which is skipped), any malformed block, and an input without a public key
/// are errors.
pub fn parse_public_keys_pem(input: &str) -> Result<Vec<PublicJwk>, PemKeyError> {
    // Look at the BEGIN labels first so that a private key is named as such
    // even when its block would not parse.
    let labels = begin_labels(input);
    if labels.is_empty() {
        return Err(PemKeyError::NoPemBlock);
    }
    if let Some((i, label)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("PRIVATE KEY"))
    {
        return Err(PemKeyError::PrivateKey {
            block: i + 1,
            label: label.clone(),
        });
    }
    let blocks = pem::parse_many(input).map_err(|e| PemKeyError::Malformed(pem_error_text(&e)))?;
    if blocks.len() != labels.len() {
        return Err(PemKeyError::Malformed(
            "a \"-----BEGIN ...-----\" line has no matching \"-----END ...-----\" line".into(),
        ));
    }
    let mut keys = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let number = i + 1;
        let label = sanitize_label(block.tag());
        let wrap = |source| PemKeyError::Key {
            block: number,
            label: label.clone(),
            source,
        };
        let jwk = match block.tag() {
            "PUBLIC KEY" => PublicJwk::from_spki_der(block.contents()).map_err(wrap)?,
            "RSA PUBLIC KEY" => PublicJwk::from_pkcs1_der(block.contents()).map_err(wrap)?,
            "CERTIFICATE" => {
                let spki = spki_of_certificate(block.contents()).map_err(wrap)?;
                PublicJwk::from_spki_der(&spki).map_err(wrap)?
            }
            "EC PARAMETERS" => continue,
            _ => {
                return Err(PemKeyError::UnsupportedBlock {
                    block: number,
                    label,
                })
            }
        };
        keys.push(jwk);
    }
    if keys.is_empty() {
        return Err(PemKeyError::NoPublicKey);
    }
    Ok(keys)
}

impl PublicJwk {
    /// Build the JWK from a DER SubjectPublicKeyInfo (the body of a
    /// `PUBLIC KEY` PEM block). The `kid` is kube-apiserver's.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicJwk, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Der {
            what: "SubjectPublicKeyInfo",
            reason: e.to_string(),
        })?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Der {
                what: "SubjectPublicKeyInfo",
                reason: "the public key BIT STRING has unused bits".into(),
            })?;
        let oid = spki.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            // Go's x509.ParsePKIXPublicKey insists on the NULL parameters.
            match spki.algorithm.parameters {
                Some(p) if p.tag() == Tag::Null && p.value().is_empty() => {}
                _ => {
                    return Err(KeyError::InvalidRsa(
                        "the rsaEncryption algorithm identifier lacks its NULL parameters, \
                         which kube-apiserver (Go's x509 package) refuses"
                            .into(),
                    ))
                }
            }
            PublicJwk::from_pkcs1_der(key_bytes)
        } else if oid == ID_EC_PUBLIC_KEY {
            let curve_oid = spki.algorithm.parameters_oid().map_err(|_| {
                KeyError::InvalidEc(
                    "the EC algorithm parameters are not a named-curve OID (explicit curve \
                     parameters are not supported by kube-apiserver)"
                        .into(),
                )
            })?;
            let curve = Curve::from_oid(&curve_oid).ok_or_else(|| KeyError::UnsupportedCurve {
                curve: curve_name(&curve_oid),
            })?;
            PublicJwk::from_ec_point(curve, key_bytes)
        } else {
            let name = if oid == ID_RSASSA_PSS {
                "RSASSA-PSS".to_string()
            } else if oid == ID_ED25519 {
                "Ed25519".to_string()
            } else if oid == ID_ED448 {
                "Ed448".to_string()
            } else if oid == ID_DSA {
                "DSA".to_string()
            } else {
                "(unknown)".to_string()
            };
            Err(KeyError::UnsupportedAlgorithm {
                name,
                oid: oid.to_string(),
            })
        }
    }

    /// Build the JWK from a DER PKCS#1 `RSAPublicKey` (the body of an
    /// `RSA PUBLIC KEY` PEM block). The `kid` is computed over the PKIX form,
    /// as kube-apiserver does.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicJwk, KeyError> {
        let key = pkcs1::RsaPublicKey::from_der(der).map_err(|e| KeyError::Der {
            what: "PKCS#1 RSAPublicKey",
            reason: e.to_string(),
        })?;
        PublicJwk::from_rsa_components(key.modulus.as_bytes(), key.public_exponent.as_bytes())
    }

    /// Build an RSA JWK from big-endian modulus and exponent (leading zero
    /// bytes allowed), with kube-apiserver's `kid`.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<PublicJwk, KeyError> {
        let (n, e) = (strip_zeros(n), strip_zeros(e));
        check_rsa(n, e)?;
        let kid = kid_of_spki_der(&rsa_spki_der(n, e)?);
        Ok(PublicJwk {
            use_: "sig".into(),
            kty: "RSA".into(),
            kid,
            crv: None,
            alg: "RS256".into(),
            x: None,
            y: None,
            n: Some(b64url_encode(n)),
            e: Some(b64url_encode(e)),
        })
    }

    /// Build an EC JWK from an uncompressed SEC1 point (`04 || X || Y`),
    /// with kube-apiserver's `kid`.
    pub fn from_ec_point(curve: Curve, point: &[u8]) -> Result<PublicJwk, KeyError> {
        check_ec_point(curve, point)?;
        let size = curve.coordinate_len();
        let kid = kid_of_spki_der(&ec_spki_der(curve, point)?);
        Ok(PublicJwk {
            use_: "sig".into(),
            kty: "EC".into(),
            kid,
            crv: Some(curve.jwk_name().into()),
            alg: curve.alg().into(),
            x: Some(b64url_encode(&point[1..1 + size])),
            y: Some(b64url_encode(&point[1 + size..])),
            n: None,
            e: None,
        })
    }

    /// The DER SubjectPublicKeyInfo of this key, byte-identical to Go's
    /// `x509.MarshalPKIXPublicKey`.
    pub fn spki_der(&self) -> Result<Vec<u8>, KeyError> {
        match self.kty.as_str() {
            "RSA" => {
                let n = self.member_bytes("n", self.n.as_deref())?;
                let e = self.member_bytes("e", self.e.as_deref())?;
                rsa_spki_der(strip_zeros(&n), strip_zeros(&e))
            }
            "EC" => {
                let (curve, point) = self.ec_point()?;
                ec_spki_der(curve, &point)
            }
            other => Err(KeyError::Malformed(format!("unsupported kty \"{other}\""))),
        }
    }

    /// The key id kube-apiserver would give this key (SHA-256 over
    /// [`PublicJwk::spki_der`], base64url). For keys read from PEM it equals
    /// `kid`; for keys read from a JWKS it tells whether the `kid` was made
    /// the Kubernetes way.
    pub fn kubernetes_kid(&self) -> Result<String, KeyError> {
        Ok(kid_of_spki_der(&self.spki_der()?))
    }

    /// The RSA modulus size in bits, or `None` for a non-RSA or malformed key.
    pub fn rsa_bits(&self) -> Option<usize> {
        if self.kty != "RSA" {
            return None;
        }
        let n = b64url_decode(self.n.as_deref()?)?;
        let n = strip_zeros(&n);
        Some(bit_len(n))
    }

    /// The curve of an EC key, `None` otherwise.
    pub fn curve(&self) -> Option<Curve> {
        if self.kty != "EC" {
            return None;
        }
        Curve::from_jwk_name(self.crv.as_deref()?)
    }

    /// Decode the uncompressed point of an EC key.
    pub(crate) fn ec_point(&self) -> Result<(Curve, Vec<u8>), KeyError> {
        let crv = self
            .crv
            .as_deref()
            .ok_or_else(|| KeyError::Malformed("EC key without \"crv\"".into()))?;
        let curve = Curve::from_jwk_name(crv).ok_or_else(|| KeyError::UnsupportedCurve {
            curve: crv.to_string(),
        })?;
        let x = self.member_bytes("x", self.x.as_deref())?;
        let y = self.member_bytes("y", self.y.as_deref())?;
        let size = curve.coordinate_len();
        if x.len() != size || y.len() != size {
            return Err(KeyError::InvalidEc(format!(
                "\"x\" and \"y\" of a {} key must each be {size} bytes long (RFC 7518 §6.2.1.2), \
                 got {} and {}",
                curve.jwk_name(),
                x.len(),
                y.len()
            )));
        }
        let mut point = Vec::with_capacity(1 + 2 * size);
        point.push(0x04);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Ok((curve, point))
    }

    fn member_bytes(&self, name: &str, value: Option<&str>) -> Result<Vec<u8>, KeyError> {
        let value =
            value.ok_or_else(|| KeyError::Malformed(format!("member \"{name}\" is missing")))?;
        b64url_decode(value)
            .ok_or_else(|| KeyError::Malformed(format!("member \"{name}\" is not base64url")))
    }
}

/// SHA-256 over the DER, base64url without padding: kube-apiserver's key id.
pub(crate) fn kid_of_spki_der(der: &[u8]) -> String {
    b64url_encode(&Sha256::digest(der))
}

/// Check RSA numbers (already stripped of leading zeros) the way Go's
/// x509/rsa packages would, plus a size floor.
pub(crate) fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    if n.is_empty() {
        return Err(KeyError::InvalidRsa("the modulus is zero".into()));
    }
    if n[n.len() - 1] & 1 == 0 {
        return Err(KeyError::InvalidRsa("the modulus is even".into()));
    }
    let bits = bit_len(n);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::InvalidRsa(format!(
            "the modulus has only {bits} bits; kube-apiserver (Go 1.24 and later) refuses RSA keys \
             shorter than {MIN_RSA_BITS} bits, and AWS needs at least {RECOMMENDED_MIN_RSA_BITS}"
        )));
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::InvalidRsa(format!(
            "the modulus has {bits} bits, more than the supported {MAX_RSA_BITS}"
        )));
    }
    if e.len() > 4 {
        return Err(KeyError::InvalidRsa(
            "the public exponent is too large".into(),
        ));
    }
    let e_val = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if e_val < 3 || e_val % 2 == 0 {
        return Err(KeyError::InvalidRsa(format!(
            "the public exponent {e_val} is not an odd number of at least 3"
        )));
    }
    if e_val > (1u64 << 31) - 1 {
        return Err(KeyError::InvalidRsa(
            "the public exponent is too large".into(),
        ));
    }
    Ok(())
}

/// Check an uncompressed point: form, length and that it lies on the curve.
pub(crate) fn check_ec_point(curve: Curve, point: &[u8]) -> Result<(), KeyError> {
    let size = curve.coordinate_len();
    match point.first() {
        Some(0x04) => {}
        Some(0x02) | Some(0x03) => {
            return Err(KeyError::InvalidEc(
                "the point is in compressed form, which kube-apiserver (Go's x509 package) does \
                 not accept; export the key with `openssl ec -pubin -conv_form uncompressed`"
                    .into(),
            ))
        }
        _ => {
            return Err(KeyError::InvalidEc(
                "the point is not in uncompressed form".into(),
            ))
        }
    }
    if point.len() != 1 + 2 * size {
        return Err(KeyError::InvalidEc(format!(
            "the point has {} bytes, a {} point has {}",
            point.len(),
            curve.jwk_name(),
            1 + 2 * size
        )));
    }
    let alg: &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm = match curve {
        Curve::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &aws_lc_rs::signature::ECDSA_P521_SHA512_FIXED,
    };
    aws_lc_rs::signature::ParsedPublicKey::new(alg, point).map_err(|_| {
        KeyError::InvalidEc(format!(
            "the point is not on the {} curve",
            curve.jwk_name()
        ))
    })?;
    Ok(())
}

/// Go's `x509.MarshalPKIXPublicKey` for an RSA key.
fn rsa_spki_der(n: &[u8], e: &[u8]) -> Result<Vec<u8>, KeyError> {
    let internal = |e: der::Error| KeyError::InvalidRsa(format!("cannot encode the key ({e})"));
    let pkcs1 = pkcs1::RsaPublicKey {
        modulus: UintRef::new(n).map_err(internal)?,
        public_exponent: UintRef::new(e).map_err(internal)?,
    }
    .to_der()
    .map_err(internal)?;
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(&pkcs1).map_err(internal)?,
    };
    spki.to_der().map_err(internal)
}

/// Go's `x509.MarshalPKIXPublicKey` for an ECDSA key.
fn ec_spki_der(curve: Curve, point: &[u8]) -> Result<Vec<u8>, KeyError> {
    let internal = |e: der::Error| KeyError::InvalidEc(format!("cannot encode the key ({e})"));
    let curve_oid = curve.oid();
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(AnyRef::from(&curve_oid)),
        },
        subject_public_key: BitStringRef::from_bytes(point).map_err(internal)?,
    };
    spki.to_der().map_err(internal)
}

/// The DER SubjectPublicKeyInfo inside a DER X.509 certificate.
fn spki_of_certificate(der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bad = |e: der::Error| KeyError::Der {
        what: "X.509 certificate",
        reason: e.to_string(),
    };
    let cert = AnyRef::from_der(der).map_err(bad)?;
    cert.tag().assert_eq(Tag::Sequence).map_err(bad)?;
    let mut outer = SliceReader::new(cert.value()).map_err(bad)?;
    let tbs = AnyRef::decode(&mut outer).map_err(bad)?;
    tbs.tag().assert_eq(Tag::Sequence).map_err(bad)?;
    let mut r = SliceReader::new(tbs.value()).map_err(bad)?;
    // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber,
    //   signature, issuer, validity, subject, subjectPublicKeyInfo, ... }
    let mut field = AnyRef::decode(&mut r).map_err(bad)?;
    let version_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if field.tag() == version_tag {
        field = AnyRef::decode(&mut r).map_err(bad)?;
    }
    field.tag().assert_eq(Tag::Integer).map_err(bad)?; // serialNumber
    for _ in 0..4 {
        AnyRef::decode(&mut r).map_err(bad)?; // signature, issuer, validity, subject
    }
    let spki = AnyRef::decode(&mut r).map_err(bad)?;
    spki.tag().assert_eq(Tag::Sequence).map_err(bad)?;
    spki.to_der().map_err(bad)
}

/// Labels of all `-----BEGIN <label>-----` lines, in order.
fn begin_labels(input: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN ";
    let mut labels = Vec::new();
    let mut rest = input;
    while let Some(pos) = rest.find(BEGIN) {
        rest = &rest[pos + BEGIN.len()..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let label = match rest[..line_end].find("-----") {
            Some(end) => &rest[..end],
            None => &rest[..line_end],
        };
        labels.push(sanitize_label(label));
    }
    labels
}

/// Keep a PEM label printable and short for use in a message.
fn sanitize_label(label: &str) -> String {
    label
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(40)
        .collect()
}

/// A description of a PEM parse error that echoes nothing of the input
/// except block labels.
fn pem_error_text(e: &pem::PemError) -> String {
    match e {
        pem::PemError::MismatchedTags(b, e) => format!(
            "a block begins as \"{}\" but ends as \"{}\"",
            sanitize_label(b),
            sanitize_label(e)
        ),
        pem::PemError::MalformedFraming => "malformed BEGIN/END lines".into(),
        pem::PemError::MissingBeginTag => "a block has no BEGIN line".into(),
        pem::PemError::MissingEndTag => "a block has no END line".into(),
        pem::PemError::MissingData => "a block has no content".into(),
        pem::PemError::InvalidData(_) => "the base64 content of a block is invalid".into(),
        pem::PemError::InvalidHeader(_) => "a block has an invalid header line".into(),
        pem::PemError::NotUtf8(_) => "the input is not valid UTF-8".into(),
        #[allow(unreachable_patterns)]
        _ => "unreadable PEM".into(),
    }
}

fn curve_name(oid: &ObjectIdentifier) -> String {
    if *oid == SECP_256_K_1 {
        format!("secp256k1 ({oid})")
    } else {
        oid.to_string()
    }
}

pub(crate) fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bit length of a big-endian number without leading zero bytes.
pub(crate) fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(b) => (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const RSA2048_PUB: &str = include_str!("testdata/rsa2048.pub.pem");
    pub(crate) const RSA2048_KID: &str = include_str!("testdata/rsa2048.kid");
    pub(crate) const RSA2048_PKCS1: &str = include_str!("testdata/rsa2048.pkcs1.pem");
    pub(crate) const RSA2048_PKCS1_KID: &str = include_str!("testdata/rsa2048.pkcs1.kid");
    pub(crate) const RSA2048_CERT: &str = include_str!("testdata/rsa2048.cert.pem");
    pub(crate) const RSA2048_CERT_KID: &str = include_str!("testdata/rsa2048.cert.kid");
    pub(crate) const RSA2048_MODULUS_HEX: &str = include_str!("testdata/rsa2048.modulus.hex");
    pub(crate) const RSA4096_PUB: &str = include_str!("testdata/rsa4096.pub.pem");
    pub(crate) const RSA4096_PKCS1: &str = include_str!("testdata/rsa4096.pkcs1.pem");
    pub(crate) const RSA4096_KID: &str = include_str!("testdata/rsa4096.kid");
    pub(crate) const RSA1024_PUB: &str = include_str!("testdata/rsa1024.pub.pem");
    pub(crate) const RSA1024_KID: &str = include_str!("testdata/rsa1024.kid");
    pub(crate) const P256_PUB: &str = include_str!("testdata/ec-p256.pub.pem");
    pub(crate) const P256_KID: &str = include_str!("testdata/ec-p256.kid");
    pub(crate) const P256_POINT_HEX: &str = include_str!("testdata/ec-p256.point.hex");
    pub(crate) const P384_PUB: &str = include_str!("testdata/ec-p384.pub.pem");
    pub(crate) const P384_KID: &str = include_str!("testdata/ec-p384.kid");
    pub(crate) const P521_PUB: &str = include_str!("testdata/ec-p521.pub.pem");
    pub(crate) const P521_KID: &str = include_str!("testdata/ec-p521.kid");
    pub(crate) const P521_POINT_HEX: &str = include_str!("testdata/ec-p521.point.hex");
    /// Test-only private key; protects nothing.
    pub(crate) const TEST_ONLY_RSA_PRIVATE: &str =
        include_str!("testdata/test-only-rsa2048-private.pem");

    pub(crate) fn one(pem: &str) -> PublicJwk {
        let mut keys = parse_public_keys_pem(pem).expect("fixture parses");
        assert_eq!(keys.len(), 1);
        keys.remove(0)
    }

    fn hex(s: &str) -> Vec<u8> {
        let s = s.trim();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn pem_body(pem: &str) -> Vec<u8> {
        pem::parse(pem).unwrap().into_contents()
    }

    #[test]
    fn rsa_2048_pkix_kid_matches_openssl() {
        let k = one(RSA2048_PUB);
        assert_eq!(k.kid, RSA2048_KID.trim());
        assert_eq!(k.kty, "RSA");
        assert_eq!(k.alg, "RS256");
        assert_eq!(k.use_, "sig");
        assert_eq!(k.e.as_deref(), Some("AQAB"));
        assert_eq!(k.rsa_bits(), Some(2048));
        assert!(k.crv.is_none() && k.x.is_none() && k.y.is_none());
    }

    #[test]
    fn rsa_modulus_is_minimal_big_endian() {
        let k = one(RSA2048_PUB);
        let n = b64url_decode(k.n.as_deref().unwrap()).unwrap();
        assert_eq!(n, hex(RSA2048_MODULUS_HEX));
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert!(!k.n.as_deref().unwrap().contains('='));
    }

    #[test]
    fn rsa_pkcs1_input_gives_pkix_kid() {
        let k = one(RSA2048_PKCS1);
        assert_eq!(k.kid, RSA2048_PKCS1_KID.trim());
        assert_eq!(k, one(RSA2048_PUB));
        let k4 = one(RSA4096_PKCS1);
        assert_eq!(k4.kid, RSA4096_KID.trim());
        assert_eq!(k4, one(RSA4096_PUB));
    }

    #[test]
    fn rsa_4096_kid_matches_openssl() {
        let k = one(RSA4096_PUB);
        assert_eq!(k.kid, RSA4096_KID.trim());
        assert_eq!(k.rsa_bits(), Some(4096));
        assert_eq!(k.alg, "RS256");
    }

    #[test]
    fn rsa_1024_is_accepted_with_kid() {
        let k = one(RSA1024_PUB);
        assert_eq!(k.kid, RSA1024_KID.trim());
        assert_eq!(k.rsa_bits(), Some(1024));
    }

    #[test]
    fn certificate_gives_its_public_key() {
        let k = one(RSA2048_CERT);
        assert_eq!(k.kid, RSA2048_CERT_KID.trim());
        assert_eq!(k.kid, RSA2048_KID.trim());
    }

    #[test]
    fn ec_kids_and_algs_match_openssl() {
        for (pem, kid, crv, alg, size) in [
            (P256_PUB, P256_KID, "P-256", "ES256", 32),
            (P384_PUB, P384_KID, "P-384", "ES384", 48),
            (P521_PUB, P521_KID, "P-521", "ES512", 66),
        ] {
            let k = one(pem);
            assert_eq!(k.kid, kid.trim(), "{crv}");
            assert_eq!(k.kty, "EC");
            assert_eq!(k.crv.as_deref(), Some(crv));
            assert_eq!(k.alg, alg);
            assert!(k.n.is_none() && k.e.is_none());
            let x = b64url_decode(k.x.as_deref().unwrap()).unwrap();
            let y = b64url_decode(k.y.as_deref().unwrap()).unwrap();
            assert_eq!(x.len(), size, "{crv} x padded");
            assert_eq!(y.len(), size, "{crv} y padded");
            assert_eq!(k.rsa_bits(), None);
        }
    }

    #[test]
    fn ec_coordinates_match_openssl_point() {
        for (pem, point_hex) in [(P256_PUB, P256_POINT_HEX), (P521_PUB, P521_POINT_HEX)] {
            let k = one(pem);
            let point = hex(point_hex);
            let size = (point.len() - 1) / 2;
            assert_eq!(
                b64url_decode(k.x.as_deref().unwrap()).unwrap(),
                &point[1..1 + size]
            );
            assert_eq!(
                b64url_decode(k.y.as_deref().unwrap()).unwrap(),
                &point[1 + size..]
            );
        }
        // A P-521 coordinate always starts with 0x00 or 0x01: padding is exercised.
        let p521 = hex(P521_POINT_HEX);
        assert!(p521[1] <= 1);
    }

    #[test]
    fn spki_der_round_trips_byte_identically() {
        for pem in [RSA2048_PUB, RSA4096_PUB, P256_PUB, P384_PUB, P521_PUB] {
            let k = one(pem);
            assert_eq!(k.spki_der().unwrap(), pem_body(pem));
            assert_eq!(k.kubernetes_kid().unwrap(), k.kid);
        }
    }

    #[test]
    fn several_blocks_with_text_between() {
        let input = format!(
            "# service account keys\n{RSA2048_PUB}\nsome comment\n{P256_PUB}{RSA2048_CERT}"
        );
        let keys = parse_public_keys_pem(&input).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(
            kids,
            [RSA2048_KID.trim(), P256_KID.trim(), RSA2048_KID.trim()]
        );
    }

    #[test]
    fn crlf_input_is_accepted() {
        let input = RSA2048_PUB.replace('\n', "\r\n");
        assert_eq!(one(&input).kid, RSA2048_KID.trim());
    }

    #[test]
    fn ec_parameters_block_is_skipped() {
        let params =
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
        let keys = parse_public_keys_pem(&format!("{params}{P256_PUB}")).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            parse_public_keys_pem(params).unwrap_err(),
            PemKeyError::NoPublicKey
        );
    }

    #[test]
    fn private_keys_are_refused_without_echo() {
        let body_line = TEST_ONLY_RSA_PRIVATE.lines().nth(1).unwrap();
        for label in [
            "PRIVATE KEY",
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ] {
            let pem = TEST_ONLY_RSA_PRIVATE.replace("PRIVATE KEY", label);
            let input = format!("{RSA2048_PUB}{pem}");
            let err = parse_public_keys_pem(&input).unwrap_err();
            assert_eq!(
                err,
                PemKeyError::PrivateKey {
                    block: 2,
                    label: label.to_string()
                }
            );
            let msg = err.to_string();
            assert!(msg.contains("private key"), "{msg}");
            assert!(msg.contains("where a public key belongs"), "{msg}");
            assert!(!msg.contains(body_line), "message echoes key material");
            assert!(!format!("{err:?}").contains(body_line));
        }
    }

    #[test]
    fn broken_private_key_is_still_named_private() {
        let input = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow!!garbage\n";
        let err = parse_public_keys_pem(input).unwrap_err();
        assert!(matches!(err, PemKeyError::PrivateKey { block: 1, .. }));
        assert!(!err.to_string().contains("MIIEow"));
    }

    #[test]
    fn no_pem_and_empty_input() {
        assert_eq!(
            parse_public_keys_pem("").unwrap_err(),
            PemKeyError::NoPemBlock
        );
        assert_eq!(
            parse_public_keys_pem("ssh-rsa AAAAB3NzaC1yc2E user@host").unwrap_err(),
            PemKeyError::NoPemBlock
        );
    }

    #[test]
    fn malformed_pem_does_not_echo_content() {
        let broken = RSA2048_PUB.replacen("MII", "M!I", 1);
        let err = parse_public_keys_pem(&broken).unwrap_err();
        assert!(matches!(err, PemKeyError::Malformed(_)), "{err:?}");
        let second_line = RSA2048_PUB.lines().nth(2).unwrap();
        assert!(!err.to_string().contains(second_line));

        let unterminated = RSA2048_PUB.replace("-----END PUBLIC KEY-----", "");
        assert!(matches!(
            parse_public_keys_pem(&unterminated).unwrap_err(),
            PemKeyError::Malformed(_)
        ));

        let mismatched = RSA2048_PUB.replace("END PUBLIC KEY", "END CERTIFICATE");
        let err = parse_public_keys_pem(&mismatched).unwrap_err();
        assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    }

    #[test]
    fn other_block_types_are_refused() {
        let csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
        let err = parse_public_keys_pem(csr).unwrap_err();
        assert_eq!(
            err,
            PemKeyError::UnsupportedBlock {
                block: 1,
                label: "CERTIFICATE REQUEST".into()
            }
        );
    }

    #[test]
    fn garbage_der_is_reported_per_block() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAECAw==\n-----END PUBLIC KEY-----\n";
        let err = parse_public_keys_pem(&format!("{RSA2048_PUB}{pem}")).unwrap_err();
        match &err {
            PemKeyError::Key {
                block,
                label,
                source,
            } => {
                assert_eq!(*block, 2);
                assert_eq!(label, "PUBLIC KEY");
                assert!(matches!(source, KeyError::Der { .. }));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().starts_with("PEM block 2 (\"PUBLIC KEY\")"));
    }

    #[test]
    fn ed25519_is_refused_by_name() {
        // SPKI of an all-zero Ed25519 key (RFC 8410 layout).
        let mut der = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(&[0u8; 32]);
        let err = PublicJwk::from_spki_der(&der).unwrap_err();
        match err {
            KeyError::UnsupportedAlgorithm { name, oid } => {
                assert_eq!(name, "Ed25519");
                assert_eq!(oid, "1.3.101.112");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rsa_without_null_parameters_is_refused() {
        let k = one(RSA2048_PUB);
        let n = b64url_decode(k.n.as_deref().unwrap()).unwrap();
        let pkcs1 = pkcs1::RsaPublicKey {
            modulus: UintRef::new(&n).unwrap(),
            public_exponent: UintRef::new(&[1, 0, 1]).unwrap(),
        }
        .to_der()
        .unwrap();
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: RSA_ENCRYPTION,
                parameters: None,
            },
            subject_public_key: BitStringRef::from_bytes(&pkcs1).unwrap(),
        }
        .to_der()
        .unwrap();
        let err = PublicJwk::from_spki_der(&spki).unwrap_err();
        assert!(err.to_string().contains("NULL parameters"), "{err}");
    }

    #[test]
    fn unsupported_curve_is_named() {
        // secp256k1 is not accepted by kube-apiserver.
        let secp256k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10");
        let mut point = vec![4u8];
        point.extend_from_slice(&[1u8; 64]);
        let spki = SubjectPublicKeyInfoRef {
            algorithm: AlgorithmIdentifierRef {
                oid: ID_EC_PUBLIC_KEY,
                parameters: Some(AnyRef::from(&secp256k1)),
            },
            subject_public_key: BitStringRef::from_bytes(&point).unwrap(),
        }
        .to_der()
        .unwrap();
        let err = PublicJwk::from_spki_der(&spki).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedCurve { .. }), "{err:?}");
        assert!(err.to_string().contains("1.3.132.0.10"), "{err}");
    }

    #[test]
    fn compressed_and_off_curve_points_are_refused() {
        let point = hex(P256_POINT_HEX);
        let mut compressed = vec![0x02 | (point[64] & 1)];
        compressed.extend_from_slice(&point[1..33]);
        let err = PublicJwk::from_ec_point(Curve::P256, &compressed).unwrap_err();
        assert!(err.to_string().contains("compressed"), "{err}");

        let mut off = point.clone();
        off[64] ^= 1;
        let err = PublicJwk::from_ec_point(Curve::P256, &off).unwrap_err();
        assert!(err.to_string().contains("not on the P-256 curve"), "{err}");

        let err = PublicJwk::from_ec_point(Curve::P384, &point).unwrap_err();
        assert!(err.to_string().contains("bytes"), "{err}");

        assert!(PublicJwk::from_ec_point(Curve::P256, &point).is_ok());
    }

    #[test]
    fn rsa_number_checks() {
        let k = one(RSA2048_PUB);
        let n = b64url_decode(k.n.as_deref().unwrap()).unwrap();
        // Leading zeros are tolerated and stripped.
        let mut padded = vec![0u8, 0u8];
        padded.extend_from_slice(&n);
        let again = PublicJwk::from_rsa_components(&padded, &[0, 1, 0, 1]).unwrap();
        assert_eq!(again, k);
        // Bad exponents.
        for e in [
            &[1u8][..],
            &[2],
            &[1, 0, 0],
            &[0x80, 0, 0, 1],
            &[1, 0, 0, 0, 1],
        ] {
            assert!(matches!(
                PublicJwk::from_rsa_components(&n, e),
                Err(KeyError::InvalidRsa(_))
            ));
        }
        // Even modulus, tiny modulus.
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert!(PublicJwk::from_rsa_components(&even, &[1, 0, 1]).is_err());
        let err = PublicJwk::from_rsa_components(&n[..64], &[1, 0, 1]).unwrap_err();
        assert!(err.to_string().contains("only"), "{err}");
        assert!(PublicJwk::from_rsa_components(&[], &[1, 0, 1]).is_err());
    }

    #[test]
    fn ec_certificate_and_key_from_rcgen() {
        for (alg, crv) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, "P-256"),
            (&rcgen::PKCS_ECDSA_P384_SHA384, "P-384"),
        ] {
            let kp = rcgen::KeyPair::generate_for(alg).unwrap();
            let from_pub = one(&kp.public_key_pem());
            assert_eq!(from_pub.crv.as_deref(), Some(crv));
            let cert = rcgen::CertificateParams::new(vec!["irsa.test".to_string()])
                .unwrap()
                .self_signed(&kp)
                .unwrap();
            assert_eq!(one(&cert.pem()), from_pub);
            // And the PKCS#8 private key is refused.
            assert!(matches!(
                parse_public_keys_pem(&kp.serialize_pem()),
                Err(PemKeyError::PrivateKey { .. })
            ));
        }
    }

    #[test]
    fn jwk_serializes_in_kube_member_order() {
        let rsa = serde_json::to_string(&one(RSA2048_PUB)).unwrap();
        assert!(
            rsa.starts_with("{\"use\":\"sig\",\"kty\":\"RSA\",\"kid\":\""),
            "{rsa}"
        );
        let pos = |s: &str, m: &str| s.find(&format!("\"{m}\":")).unwrap();
        assert!(pos(&rsa, "kid") < pos(&rsa, "alg"));
        assert!(pos(&rsa, "alg") < pos(&rsa, "n"));
        assert!(pos(&rsa, "n") < pos(&rsa, "e"));
        let ec = serde_json::to_string(&one(P256_PUB)).unwrap();
        assert!(
            ec.starts_with("{\"use\":\"sig\",\"kty\":\"EC\",\"kid\":\""),
            "{ec}"
        );
        assert!(pos(&ec, "kid") < pos(&ec, "crv"));
        assert!(pos(&ec, "crv") < pos(&ec, "alg"));
        assert!(pos(&ec, "alg") < pos(&ec, "x"));
        assert!(pos(&ec, "x") < pos(&ec, "y"));
    }

    #[test]
    fn helpers() {
        assert_eq!(strip_zeros(&[0, 0, 1, 0]), &[1, 0]);
        assert_eq!(strip_zeros(&[0, 0]), &[] as &[u8]);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(Curve::from_jwk_name("P-521"), Some(Curve::P521));
        assert_eq!(Curve::from_jwk_name("secp256k1"), None);
    }
}
