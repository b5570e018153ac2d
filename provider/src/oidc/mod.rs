//! Pure OIDC / JWKS logic for IAM Roles for Service Accounts: no I/O.
//!
//! What a self-managed cluster must publish so that AWS STS accepts its
//! ServiceAccount tokens, computed exactly the way kube-apiserver does it:
//!
//! * [`pem_keys`]: read the PEM public keys given to kube-apiserver's
//!   `--service-account-key-file` and turn them into JWKs whose `kid` is the
//!   one kube-apiserver puts into the tokens it signs.
//! * [`jwks`]: a validated JSON Web Key Set (parse, merge, canonical output,
//!   warnings about keys STS will likely refuse).
//! * [`discovery`]: the `/.well-known/openid-configuration` document.
//! * [`issuer`]: validation of the issuer URL and the messages shown when the
//!   cluster's issuer and the published issuer differ.
//! * [`token`]: verification of a ServiceAccount token against a key set the
//!   way STS does it (key by `kid`, signature, `iss`, `aud`, `exp`).
//!
//! No error message of this module contains key material or a token.

pub mod discovery;
pub mod issuer;
pub mod jwks;
pub mod pem_keys;
pub mod token;

pub use discovery::{
    discovery_document, parse_discovery, Discovery, DiscoveryError, DISCOVERY_PATH, JWKS_PATH,
};
pub use issuer::{
    issuer_mismatch_message, issuers_equal, validate_issuer_url, IssuerError, IssuerUrl,
};
pub use jwks::{parse_jwks, Jwks, JwksError};
pub use pem_keys::{parse_public_keys_pem, Curve, KeyError, PemKeyError, PublicJwk};
pub use token::{verify_service_account_token, ServiceAccountClaims, TokenError, VerifyOptions};

/// A warning about something that works in Kubernetes but is likely to fail,
/// or to be weak, once AWS STS is involved. Meant to become a Terraform
/// warning diagnostic (`summary` / `detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The key id the finding is about, when it is about one key.
    pub kid: Option<String>,
    /// One line, suitable as a diagnostic summary.
    pub summary: String,
    /// The explanation and what to do about it.
    pub detail: String,
}

/// base64url without padding (RFC 7515 §2), the encoding of every binary JWK member.
pub(crate) fn b64url_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url, with or without padding. Standard-alphabet (`+`, `/`)
/// input is refused: JWKs use the URL-safe alphabet.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT.decode(s.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_round_trip_and_padding() {
        assert_eq!(b64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64url_decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64url_decode("AQAB").unwrap(), vec![1, 0, 1]);
        assert!(b64url_decode("+/8").is_none());
        assert!(b64url_decode("not base64!").is_none());
    }
}
