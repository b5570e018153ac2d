//! The TokenRequest API (`POST .../serviceaccounts/<name>/token`): mints a
//! real service-account token signed by the current key.

use serde_json::{json, Value};

use super::keys::KeySet;
use super::resources::{known, serviceaccount_type};
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

    let bound = bound_object(store, namespace, name, &spec["boundObjectRef"])?;

    if let Some(a) = &quirks.audience {
        audiences = vec![a.clone()];
    }
    let now = unix_now() - quirks.backdate_secs;
    let exp = now + expiration;
    let mut claims = json!({
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
    for (claim, value) in bound {
        claims["kubernetes.io"][claim] = value;
    }
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

/// The `uid` the fake's one Node has (there are no Node objects; the
/// controllers schedule every Pod onto `controller::NODE`).
pub(crate) const NODE_UID: &str = "6f1e6b5e-8c1a-4d7e-9c39-0d9a5e4f0a01";

/// Check `spec.boundObjectRef` as the TokenRequest registry does, and
/// return the claims it adds under `kubernetes.io`: `pod` (plus `node`
/// when the Pod is scheduled) or `secret`, each `{name, uid}`.
fn bound_object(
    store: &Store,
    namespace: &str,
    sa_name: &str,
    r: &Value,
) -> Result<Vec<(&'static str, Value)>, ApiError> {
    if r.is_null() {
        return Ok(Vec::new());
    }
    let api_version = r["apiVersion"].as_str().unwrap_or("");
    let kind = r["kind"].as_str().unwrap_or("");
    let name = r["name"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (claim, plural) = match (group, kind) {
        ("", "Pod") => ("pod", "pods"),
        ("", "Secret") => ("secret", "secrets"),
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token with type of \"{group}/{version}, Kind={kind}\""
            )))
        }
    };
    let rt = known("", plural);
    let obj = store
        .get(rt, namespace, name)
        .ok_or_else(|| ApiError::not_found(rt, name))?;
    if claim == "pod" {
        let pod_sa = obj["spec"]["serviceAccountName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("default");
        if pod_sa != sa_name {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount \"{sa_name}\" to pod running with different serviceaccount name."
            )));
        }
    }
    let uid = meta_str(obj, "uid");
    if let Some(want) = r["uid"].as_str().filter(|u| !u.is_empty()) {
        if want != uid {
            let mut e = ApiError::conflict(rt, name, &format!(
                "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
            ));
            // Upstream names the kind, not the resource, here.
            e.message = e
                .message
                .replacen(&format!("on {plural} "), &format!("on {kind} "), 1);
            e.details = Some(json!({"name": name, "kind": kind}));
            return Err(e);
        }
    }
    let mut claims = vec![(claim, json!({"name": name, "uid": uid}))];
    if let Some(node) = obj["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        if claim == "pod" {
            claims.push(("node", json!({"name": node, "uid": NODE_UID})));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;

    fn store() -> Store {
        let mut s = Store::new();
        ops::bootstrap(&mut s);
        s.put(
            known("", "pods"),
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "default", "uid": "pod-uid"},
                "spec": {"serviceAccountName": "default", "nodeName": "fake-node-1"}}),
        );
        s.put(
            known("", "secrets"),
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s", "namespace": "default", "uid": "secret-uid"}}),
        );
        s
    }

    #[test]
    fn bound_object_refs_are_checked_and_claimed() {
        let s = store();
        let b = |r: Value| bound_object(&s, "default", "default", &r);
        let pod = b(json!({"apiVersion": "v1", "kind": "Pod", "name": "p"})).expect("pod");
        assert_eq!(
            pod,
            vec![
                ("pod", json!({"name": "p", "uid": "pod-uid"})),
                ("node", json!({"name": "fake-node-1", "uid": NODE_UID}))
            ]
        );
        let secret =
            b(json!({"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "secret-uid"}))
                .expect("secret");
        assert_eq!(
            secret,
            vec![("secret", json!({"name": "s", "uid": "secret-uid"}))]
        );
        let e = b(json!({"apiVersion": "v1", "kind": "Pod", "name": "nope"})).expect_err("404");
        assert_eq!(
            (e.code, e.message.as_str()),
            (404, "pods \"nope\" not found")
        );
        let e = b(json!({"apiVersion": "v1", "kind": "Secret", "name": "nope"})).expect_err("404");
        assert_eq!(e.code, 404);
        let e = b(json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}))
            .expect_err("400");
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                400,
                "cannot bind token with type of \"apps/v1, Kind=Deployment\""
            )
        );
        let e = b(json!({"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "other"}))
            .expect_err("409");
        assert_eq!(e.code, 409);
        assert!(e.message.starts_with("Operation cannot be fulfilled on Pod \"p\": the UID in the bound object reference (other)"), "{}", e.message);
        let e = bound_object(
            &s,
            "default",
            "other-sa",
            &json!({"apiVersion": "v1", "kind": "Pod", "name": "p"}),
        )
        .expect_err("400");
        assert_eq!(e.code, 400);
    }
}
