//! Service-account signing keys: generation, key ids, the JWKS and
//! OpenID discovery documents, and minting RS256 (or ES256 / EdDSA) tokens.
//!
//! Tokens are signed here with aws-lc-rs directly (not with jsonwebtoken), so
//! that the tests, which verify with jsonwebtoken, check an independent
//! implementation.

use anyhow::{anyhow, Result};
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::util::b64url;

/// The path kube-apiserver serves its JWKS on.
pub(crate) const JWKS_PATH: &str = "/openid/v1/jwks";
pub(crate) const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// kube-apiserver's keyIDFromPublicKey: base64url (no padding) of SHA-256
/// over the PKIX SubjectPublicKeyInfo DER of the public key.
pub(crate) fn key_id(spki_der: &[u8]) -> String {
    b64url(&Sha256::digest(spki_der))
}

/// The kind of a signing key. kube-apiserver signs with RSA (RS256) or
/// ECDSA (ES256 on P-256) keys; Ed25519 (EdDSA) is here for the tests of
/// keys STS refuses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyKind {
    #[default]
    Rsa2048,
    EcP256,
    Ed25519,
}

enum Private {
    Rsa(KeyPair),
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
    Ed(aws_lc_rs::signature::Ed25519KeyPair),
}

pub(crate) struct SigningKey {
    pub kid: String,
    key: Private,
    /// The public JWK, in go-jose's member order.
    jwk: Value,
}

impl SigningKey {
    pub fn generate() -> Result<Self> {
        Self::generate_kind(KeyKind::Rsa2048)
    }

    pub fn generate_kind(kind: KeyKind) -> Result<Self> {
        use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        match kind {
            KeyKind::Rsa2048 => {
                let key = KeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| anyhow!("RSA-2048 key generation failed"))?;
                let public = key.public_key();
                let spki: PublicKeyX509Der = public.as_der().map_err(|_| {
                    anyhow!("cannot encode the RSA public key as SubjectPublicKeyInfo")
                })?;
                let kid = key_id(spki.as_ref());
                let n = b64url(public.modulus().big_endian_without_leading_zero());
                let e = b64url(public.exponent().big_endian_without_leading_zero());
                Ok(SigningKey {
                    jwk: json!({"use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256", "n": n, "e": e}),
                    kid,
                    key: Private::Rsa(key),
                })
            }
            KeyKind::EcP256 => {
                let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| anyhow!("P-256 key generation failed"))?;
                let spki: PublicKeyX509Der = key
                    .public_key()
                    .as_der()
                    .map_err(|_| anyhow!("cannot encode the EC public key"))?;
                let kid = key_id(spki.as_ref());
                // Uncompressed point: 0x04 || x || y.
                let point = key.public_key().as_ref().to_vec();
                let (x, y) = point[1..].split_at(32);
                Ok(SigningKey {
                    jwk: json!({"use": "sig", "kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256", "x": b64url(x), "y": b64url(y)}),
                    kid,
                    key: Private::Ec(key),
                })
            }
            KeyKind::Ed25519 => {
                let key = Ed25519KeyPair::generate()
                    .map_err(|_| anyhow!("Ed25519 key generation failed"))?;
                let spki: PublicKeyX509Der = key
                    .public_key()
                    .as_der()
                    .map_err(|_| anyhow!("cannot encode the Ed25519 public key"))?;
                let kid = key_id(spki.as_ref());
                let x = b64url(key.public_key().as_ref());
                Ok(SigningKey {
                    jwk: json!({"use": "sig", "kty": "OKP", "kid": kid, "crv": "Ed25519", "alg": "EdDSA", "x": x}),
                    kid,
                    key: Private::Ed(key),
                })
            }
        }
    }

    /// The JWS algorithm of this key.
    pub fn alg(&self) -> &'static str {
        match self.key {
            Private::Rsa(_) => "RS256",
            Private::Ec(_) => "ES256",
            Private::Ed(_) => "EdDSA",
        }
    }

    /// The public key as PKIX SubjectPublicKeyInfo DER.
    #[cfg(test)]
    pub fn spki_der(&self) -> Vec<u8> {
        let Private::Rsa(key) = &self.key else {
            panic!("spki_der is for RSA keys")
        };
        let der: PublicKeyX509Der = key.public_key().as_der().expect("SPKI");
        der.as_ref().to_vec()
    }

    /// The private key as PKCS#8 DER (tests hand it to openssl).
    #[cfg(test)]
    pub fn pkcs8_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::Pkcs8V1Der;
        let Private::Rsa(key) = &self.key else {
            panic!("pkcs8_der is for RSA keys")
        };
        let der: Pkcs8V1Der = key.as_der().expect("PKCS#8");
        der.as_ref().to_vec()
    }

    fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// A compact JWS: `{"alg":<alg>,"kid":...}` header, `claims` payload.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String> {
        let header = json!({"alg": self.alg(), "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let sig = match &self.key {
            Private::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut sig)
                    .map_err(|_| anyhow!("RS256 signing failed"))?;
                sig
            }
            Private::Ec(key) => key
                .sign(&rng, signing_input.as_bytes())
                .map_err(|_| anyhow!("ES256 signing failed"))?
                .as_ref()
                .to_vec(),
            Private::Ed(key) => key.sign(signing_input.as_bytes()).as_ref().to_vec(),
        };
        Ok(format!("{signing_input}.{}", b64url(&sig)))
    }
}

/// All published keys; the last one signs new tokens.
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    #[cfg(test)]
    pub fn new() -> Result<Self> {
        Self::with_kind(KeyKind::Rsa2048)
    }

    pub fn with_kind(kind: KeyKind) -> Result<Self> {
        Ok(KeySet {
            keys: vec![SigningKey::generate_kind(kind)?],
        })
    }

    pub fn current(&self) -> &SigningKey {
        // `keys` is never empty: built with one key, only ever appended to.
        &self.keys[self.keys.len() - 1]
    }

    pub fn push(&mut self, key: SigningKey) -> String {
        let kid = key.kid.clone();
        self.keys.push(key);
        kid
    }

    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// `GET /openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().map(SigningKey::jwk).collect::<Vec<_>>()})
    }

    /// `GET /.well-known/openid-configuration`: exactly the five fields
    /// kube-apiserver serves. `jwks_uri` is `<issuer>/openid/v1/jwks`, as
    /// with `--service-account-jwks-uri` set the way IRSA setups set it
    /// (a trailing slash on the issuer is not doubled).
    pub fn discovery(&self, issuer: &str) -> Value {
        let jwks_uri = format!("{}{JWKS_PATH}", issuer.trim_end_matches('/'));
        self.discovery_with_jwks_uri(issuer, &jwks_uri)
    }

    /// The discovery document with another `jwks_uri` (kube-apiserver with
    /// `--service-account-jwks-uri`, or without it: its external address).
    pub fn discovery_with_jwks_uri(&self, issuer: &str, jwks_uri: &str) -> Value {
        let mut algs: Vec<&str> = self.keys.iter().map(SigningKey::alg).collect();
        algs.sort_unstable();
        algs.dedup();
        json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::process::Command;

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }

    fn openssl_kid(input_pem: &str, pkey_args: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key.pem");
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(input_pem.as_bytes()).expect("write");
        drop(f);
        let script = format!(
            "openssl pkey {pkey_args} -in '{}' -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='",
            path.display()
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf8")
            .trim()
            .to_string()
    }

    /// Our kid must be the one kube-apiserver computes, which is what
    /// openssl computes from the same key.
    #[test]
    fn kid_matches_openssl() {
        // openssl on PATH, or the test fails (skip only on purpose:
        // IRSA_ALLOW_MISSING_TOOLS=openssl, reported as SKIPPED).
        if crate::testing::require_tool("openssl").is_none() {
            return;
        }
        let key = SigningKey::generate().expect("key");
        // From the public key as we encode it...
        let from_public = openssl_kid(&pem("PUBLIC KEY", &key.spki_der()), "-pubin");
        assert_eq!(from_public, key.kid);
        // ...and with openssl deriving the public key from the private key,
        // so our SPKI encoding is checked against openssl's canonical one.
        let from_private = openssl_kid(&pem("PRIVATE KEY", &key.pkcs8_der()), "-pubout");
        assert_eq!(from_private, key.kid);
    }

    #[test]
    fn jwk_and_discovery_shapes() {
        let mut ks = KeySet::new().expect("keys");
        let jwks = ks.jwks();
        let k = &jwks["keys"][0];
        assert_eq!(k["use"], "sig");
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["e"], "AQAB");
        assert_eq!(k["kid"], ks.current().kid.as_str());
        let kid2 = ks.push(SigningKey::generate().expect("key"));
        assert_eq!(ks.current().kid, kid2);
        assert_eq!(ks.jwks()["keys"].as_array().expect("keys").len(), 2);
        let d = ks.discovery("https://issuer.example.com/");
        assert_eq!(d["jwks_uri"], "https://issuer.example.com/openid/v1/jwks");
        assert_eq!(d["issuer"], "https://issuer.example.com/");
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert_eq!(d.as_object().expect("object").len(), 5);
    }

    #[test]
    fn jwt_verifies_with_jsonwebtoken() {
        let ks = KeySet::new().expect("keys");
        let claims = json!({"iss": "https://i", "sub": "s", "aud": ["a"], "exp": 4_000_000_000u64});
        es256_jwt_verifies_with_jsonwebtoken(&claims);
        let token = ks.current().sign_jwt(&claims).expect("sign");
        let jwk = &ks.jwks()["keys"][0];
        let key = jsonwebtoken::DecodingKey::from_rsa_components(
            jwk["n"].as_str().expect("n"),
            jwk["e"].as_str().expect("e"),
        )
        .expect("decoding key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["a"]);
        v.set_issuer(&["https://i"]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("verify");
        assert_eq!(data.header.kid.as_deref(), Some(ks.current().kid.as_str()));
        assert_eq!(data.claims["sub"], "s");
    }

    fn es256_jwt_verifies_with_jsonwebtoken(claims: &Value) {
        let ks = KeySet::with_kind(KeyKind::EcP256).expect("keys");
        let token = ks.current().sign_jwt(claims).expect("sign");
        let jwk = &ks.jwks()["keys"][0];
        assert_eq!(jwk["crv"], "P-256");
        let key = jsonwebtoken::DecodingKey::from_ec_components(
            jwk["x"].as_str().expect("x"),
            jwk["y"].as_str().expect("y"),
        )
        .expect("decoding key");
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&["a"]);
        v.set_issuer(&["https://i"]);
        jsonwebtoken::decode::<Value>(&token, &key, &v).expect("ES256 verifies");
        assert_eq!(
            ks.discovery("https://i")["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
    }
}
