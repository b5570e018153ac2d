//! The TokenRequest API (`POST .../serviceaccounts/<name>/token`): mints a
//! real service-account token signed by the current key.

use serde_json::{json, Value};

use super::keys::KeySet;
use super::resources::serviceaccount_type;
use super::status::{ApiError, FieldError};
use super::store::{meta_str, Store};
use super::util::{new_uid, rfc3339, unix_now};

const DEFAULT_EXPIRATION: i64 = 3600;
const MIN_EXPIRATION: i64 = 600;
const MAX_EXPIRATION: i64 = 1 << 32;

/// Ways to make minted tokens wrong, for tests of what a broken cluster does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenQuirks {
    /// Seconds subtracted from `iat`, `nbf` and `exp`: a control plane whose
    /// clock is behind. More than the lifetime plus STS's 5 minutes of
    /// leeway gives a token that is expired when it is minted.
    pub backdate_secs: i64,
    /// Put this audience into every token, whatever was requested (as a
    /// cluster whose token minting ignores the requested audience).
    pub audience: Option<String>,
}

fn invalid(errors: &[FieldError]) -> ApiError {
    // The real registry reports TokenRequest errors with an empty name.
    ApiError::invalid_kind("authentication.k8s.io", "TokenRequest", "", errors)
}

/// Validate `body`, mint the token, and return the TokenRequest answer.
pub(crate) fn create_token(
    store: &Store,
    keys: &KeySet,
    issuer: &str,
    namespace: &str,
    name: &str,
    body: &Value,
    quirks: &TokenQuirks,
) -> Result<Value, ApiError> {
    let sa = store
        .get(serviceaccount_type(), namespace, name)
        .ok_or_else(|| ApiError::not_found(serviceaccount_type(), name))?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type TokenRequest)",
        ));
    }
    match body["apiVersion"].as_str() {
        None | Some("" | "authentication.k8s.io/v1") => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version (authentication.k8s.io/v1)"
            )))
        }
    }
    match body["kind"].as_str() {
        None | Some("" | "TokenRequest") => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind (TokenRequest)"
            )))
        }
    }
    let spec = &body["spec"];
    let mut audiences: Vec<String> = match &spec["audiences"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad_request("spec.audiences must be a list of strings"))?,
        _ => {
            return Err(ApiError::bad_request(
                "spec.audiences must be a list of strings",
            ))
        }
    };
    // Like the apiserver: no audiences means the API audiences, which
    // default to the (first) issuer.
    if audiences.is_empty() {
        audiences.push(issuer.to_string());
    }
    let expiration = match &spec["expirationSeconds"] {
        Value::Null => DEFAULT_EXPIRATION,
        v => v
            .as_i64()
            .ok_or_else(|| ApiError::bad_request("spec.expirationSeconds must be an integer"))?,
    };
    if expiration < MIN_EXPIRATION {
        return Err(invalid(&[FieldError::invalid(
            "spec.expirationSeconds",
            json!(expiration),
            "may not specify a duration less than 10 minutes",
        )]));
    }
    if expiration > MAX_EXPIRATION {
        return Err(invalid(&[FieldError::invalid(
            "spec.expirationSeconds",
            json!(expiration),
            "may not specify a duration larger than 2^32 seconds",
        )]));
    }

    if let Some(a) = &quirks.audience {
        audiences = vec![a.clone()];
    }
    let now = unix_now() - quirks.backdate_secs;
    let exp = now + expiration;
    let claims = json!({
        "aud": audiences,
        "exp": exp,
        "iat": now,
        "iss": issuer,
        "jti": new_uid(),
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": meta_str(sa, "uid")}
        },
        "nbf": now,
        "sub": format!("system:serviceaccount:{namespace}:{name}"),
    });
    let token = keys
        .current()
        .sign_jwt(&claims)
        .map_err(|e| ApiError::internal(format!("failed to sign token: {e}")))?;
    let expires = time::OffsetDateTime::from_unix_timestamp(exp)
        .map(rfc3339)
        .map_err(|_| ApiError::internal("expiration out of range"))?;
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
        "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": spec["boundObjectRef"].clone()},
        "status": {"token": token, "expirationTimestamp": expires}
    }))
}
