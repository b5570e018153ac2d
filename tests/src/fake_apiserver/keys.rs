//! Service-account signing keys: generation, key ids, the JWKS and
//! OpenID discovery documents, and minting RS256 tokens.
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

pub(crate) struct SigningKey {
    pub kid: String,
    key: KeyPair,
    n: String,
    e: String,
}

/// kube-apiserver's keyIDFromPublicKey: base64url (no padding) of SHA-256
/// over the PKIX SubjectPublicKeyInfo DER of the public key.
pub(crate) fn key_id(spki_der: &[u8]) -> String {
    b64url(&Sha256::digest(spki_der))
}

impl SigningKey {
    pub fn generate() -> Result<Self> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow!("RSA-2048 key generation failed"))?;
        let public = key.public_key();
        let spki: PublicKeyX509Der = public
            .as_der()
            .map_err(|_| anyhow!("cannot encode the RSA public key as SubjectPublicKeyInfo"))?;
        Ok(SigningKey {
            kid: key_id(spki.as_ref()),
            n: b64url(public.modulus().big_endian_without_leading_zero()),
            e: b64url(public.exponent().big_endian_without_leading_zero()),
            key,
        })
    }

    /// The public key as PKIX SubjectPublicKeyInfo DER.
    #[cfg(test)]
    pub fn spki_der(&self) -> Vec<u8> {
        let der: PublicKeyX509Der = self.key.public_key().as_der().expect("SPKI");
        der.as_ref().to_vec()
    }

    /// The private key as PKCS#8 DER (tests hand it to openssl).
    #[cfg(test)]
    pub fn pkcs8_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::Pkcs8V1Der;
        let der: Pkcs8V1Der = self.key.as_der().expect("PKCS#8");
        der.as_ref().to_vec()
    }

    fn jwk(&self) -> Value {
        // Field order as kube-apiserver (go-jose) prints it.
        json!({"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256", "n": self.n, "e": self.e})
    }

    /// A compact JWS: `{"alg":"RS256","kid":...}` header, `claims` payload.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String> {
        let header = json!({"alg": "RS256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key
            .sign(&RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut sig)
            .map_err(|_| anyhow!("RS256 signing failed"))?;
        Ok(format!("{signing_input}.{}", b64url(&sig)))
    }
}

/// All published keys; the last one signs new tokens.
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub fn new() -> Result<Self> {
        Ok(KeySet {
            keys: vec![SigningKey::generate()?],
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
        let mut algs: Vec<&str> = self.keys.iter().map(|_| "RS256").collect();
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
        if crate::harness::require_tool("openssl").is_none() {
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
}
