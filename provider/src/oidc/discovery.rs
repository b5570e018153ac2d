//! The OpenID Connect discovery document (`/.well-known/openid-configuration`),
//! written exactly like kube-apiserver writes it, and read back from a cluster.

use serde::Serialize;
use serde_json::{Map, Value};

use super::jwks::Jwks;

/// Path of the discovery document below the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Path of the key set below the issuer (kube-apiserver's path).
pub const JWKS_PATH: &str = "/openid/v1/jwks";

/// A discovery document as read from a cluster or issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// `issuer`: must equal the `iss` of the tokens.
    pub issuer: String,
    /// `jwks_uri`: where the key set is.
    pub jwks_uri: String,
    /// `response_types_supported` (empty if absent).
    pub response_types_supported: Vec<String>,
    /// `subject_types_supported` (empty if absent).
    pub subject_types_supported: Vec<String>,
    /// `id_token_signing_alg_values_supported` (empty if absent).
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// Why a discovery document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// Not JSON.
    #[error("the OpenID discovery document is not valid JSON: {0}")]
    InvalidJson(String),
    /// Not an object.
    #[error("the OpenID discovery document must be a JSON object")]
    NotAnObject,
    /// A required member is absent or empty.
    #[error("the OpenID discovery document has no \"{0}\"")]
    Missing(&'static str),
    /// A member of the wrong type.
    #[error("in the OpenID discovery document, \"{member}\" must be {expected}")]
    WrongType {
        /// The member.
        member: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// `jwks_uri` is not https.
    #[error(
        "the OpenID discovery document's jwks_uri \"{0}\" is not an https:// URL; AWS STS fetches \
         keys only over HTTPS"
    )]
    JwksUriNotHttps(String),
}

/// `<issuer>/openid/v1/jwks`.
pub fn jwks_uri(issuer: &str) -> String {
    format!("{issuer}{JWKS_PATH}")
}

/// The discovery document to publish for `issuer` (pass a validated issuer,
/// see [`super::validate_issuer_url`]): exactly kube-apiserver's five fields
/// in its order, compact JSON:
/// `issuer`, `jwks_uri` (= `<issuer>/openid/v1/jwks`),
/// `response_types_supported` `["id_token"]`, `subject_types_supported`
/// `["public"]`, `id_token_signing_alg_values_supported` (the sorted set of
/// the keys' algorithms).
pub fn discovery_document(issuer: &str, jwks: &Jwks) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        issuer: &'a str,
        jwks_uri: String,
        response_types_supported: [&'static str; 1],
        subject_types_supported: [&'static str; 1],
        id_token_signing_alg_values_supported: Vec<String>,
    }
    serde_json::to_string(&Document {
        issuer,
        jwks_uri: jwks_uri(issuer),
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: jwks.algorithms(),
    })
    .expect("the discovery document always serializes")
}

/// Read a discovery document (for example a cluster's, fetched from
/// `<apiserver>/.well-known/openid-configuration`).
///
/// `issuer` and `jwks_uri` are required non-empty strings, `jwks_uri` must
/// be `https://`; the three arrays are optional but, if present, arrays of
/// strings. Other members are ignored. The issuer itself is not validated
/// here: compare it with [`super::issuers_equal`] /
/// [`super::issuer_mismatch_message`].
pub fn parse_discovery(json: &str) -> Result<Discovery, DiscoveryError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| DiscoveryError::InvalidJson(e.to_string()))?;
    let object = value.as_object().ok_or(DiscoveryError::NotAnObject)?;
    let issuer = required_string(object, "issuer")?;
    let jwks_uri = required_string(object, "jwks_uri")?;
    if !jwks_uri.starts_with("https://") {
        return Err(DiscoveryError::JwksUriNotHttps(jwks_uri));
    }
    Ok(Discovery {
        issuer,
        jwks_uri,
        response_types_supported: string_array(object, "response_types_supported")?,
        subject_types_supported: string_array(object, "subject_types_supported")?,
        id_token_signing_alg_values_supported: string_array(
            object,
            "id_token_signing_alg_values_supported",
        )?,
    })
}

fn required_string(
    object: &Map<String, Value>,
    member: &'static str,
) -> Result<String, DiscoveryError> {
    match object.get(member) {
        None => Err(DiscoveryError::Missing(member)),
        Some(Value::String(s)) if s.is_empty() => Err(DiscoveryError::Missing(member)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(DiscoveryError::WrongType {
            member,
            expected: "a string",
        }),
    }
}

fn string_array(
    object: &Map<String, Value>,
    member: &'static str,
) -> Result<Vec<String>, DiscoveryError> {
    let wrong = DiscoveryError::WrongType {
        member,
        expected: "an array of strings",
    };
    match object.get(member) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| wrong.clone()))
            .collect(),
        Some(_) => Err(wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::pem_keys::tests::{one, P256_PUB, P384_PUB, RSA2048_PUB, RSA4096_PUB};

    #[test]
    fn document_is_kube_apiserver_shaped() {
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB)]).unwrap();
        assert_eq!(
            discovery_document("https://oidc.example.com", &jwks),
            "{\"issuer\":\"https://oidc.example.com\",\
             \"jwks_uri\":\"https://oidc.example.com/openid/v1/jwks\",\
             \"response_types_supported\":[\"id_token\"],\
             \"subject_types_supported\":[\"public\"],\
             \"id_token_signing_alg_values_supported\":[\"RS256\"]}"
        );
    }

    #[test]
    fn algs_are_sorted_unique() {
        let jwks = Jwks::from_public_keys(vec![
            one(RSA4096_PUB),
            one(P384_PUB),
            one(RSA2048_PUB),
            one(P256_PUB),
        ])
        .unwrap();
        let doc = discovery_document("https://x.example/p", &jwks);
        assert!(doc.ends_with(
            "\"id_token_signing_alg_values_supported\":[\"ES256\",\"ES384\",\"RS256\"]}"
        ));
        assert!(doc.contains("\"jwks_uri\":\"https://x.example/p/openid/v1/jwks\""));
    }

    #[test]
    fn parse_round_trips() {
        let jwks = Jwks::from_public_keys(vec![one(RSA2048_PUB), one(P256_PUB)]).unwrap();
        let d = parse_discovery(&discovery_document("https://x.example", &jwks)).unwrap();
        assert_eq!(d.issuer, "https://x.example");
        assert_eq!(d.jwks_uri, "https://x.example/openid/v1/jwks");
        assert_eq!(d.response_types_supported, ["id_token"]);
        assert_eq!(d.subject_types_supported, ["public"]);
        assert_eq!(d.id_token_signing_alg_values_supported, ["ES256", "RS256"]);
    }

    #[test]
    fn parse_reads_a_cluster_document() {
        // As served by a kube-apiserver without --service-account-jwks-uri:
        // the jwks_uri points at the API server, not at the issuer.
        let json = r#"{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"https://10.0.0.1:6443/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"],"extra":1}"#;
        let d = parse_discovery(json).unwrap();
        assert_eq!(d.issuer, "https://kubernetes.default.svc.cluster.local");
        assert_eq!(d.jwks_uri, "https://10.0.0.1:6443/openid/v1/jwks");
        let minimal =
            parse_discovery(r#"{"issuer":"https://a","jwks_uri":"https://a/k"}"#).unwrap();
        assert!(minimal.id_token_signing_alg_values_supported.is_empty());
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(
            parse_discovery("<html>"),
            Err(DiscoveryError::InvalidJson(_))
        ));
        assert_eq!(
            parse_discovery("[]").unwrap_err(),
            DiscoveryError::NotAnObject
        );
        assert_eq!(
            parse_discovery(r#"{"jwks_uri":"https://a/k"}"#).unwrap_err(),
            DiscoveryError::Missing("issuer")
        );
        assert_eq!(
            parse_discovery(r#"{"issuer":"https://a"}"#).unwrap_err(),
            DiscoveryError::Missing("jwks_uri")
        );
        assert_eq!(
            parse_discovery(r#"{"issuer":"","jwks_uri":"https://a/k"}"#).unwrap_err(),
            DiscoveryError::Missing("issuer")
        );
        assert!(matches!(
            parse_discovery(r#"{"issuer":1,"jwks_uri":"https://a/k"}"#),
            Err(DiscoveryError::WrongType {
                member: "issuer",
                ..
            })
        ));
        assert!(matches!(
            parse_discovery(r#"{"issuer":"https://a","jwks_uri":"http://a/k"}"#),
            Err(DiscoveryError::JwksUriNotHttps(_))
        ));
        assert!(matches!(
            parse_discovery(
                r#"{"issuer":"https://a","jwks_uri":"https://a/k","id_token_signing_alg_values_supported":"RS256"}"#
            ),
            Err(DiscoveryError::WrongType { .. })
        ));
        assert!(matches!(
            parse_discovery(
                r#"{"issuer":"https://a","jwks_uri":"https://a/k","subject_types_supported":[1]}"#
            ),
            Err(DiscoveryError::WrongType { .. })
        ));
    }
}
