//! Kubernetes `Status` error bodies, shaped like the ones kube-apiserver
//! sends (k8s.io/apimachinery/pkg/api/errors), because clients (kubectl,
//! kube-rs, the provider) branch on `reason` and `code` and print `message`.

use serde_json::{json, Map, Value};

use super::resources::ResourceType;

/// An error answer: HTTP status `code` with a `Status` body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// One field error of an `Invalid` answer (k8s.io/apimachinery/pkg/util/validation/field).
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub(crate) enum FieldErrorKind {
    Required,
    /// Carries the offending value, rendered as JSON.
    Invalid(Value),
    Forbidden,
    NotSupported(Value),
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: FieldErrorKind::Required,
            detail: detail.into(),
        }
    }
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: FieldErrorKind::Invalid(value),
            detail: detail.into(),
        }
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            kind: FieldErrorKind::Forbidden,
            detail: detail.into(),
        }
    }
    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        FieldError {
            field: field.into(),
            kind: FieldErrorKind::NotSupported(value),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    fn reason(&self) -> &'static str {
        match self.kind {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid(_) => "FieldValueInvalid",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::NotSupported(_) => "FieldValueNotSupported",
        }
    }

    /// The part after `field: `, as field.Error.ErrorBody() prints it.
    fn body(&self) -> String {
        let head = match &self.kind {
            FieldErrorKind::Required => "Required value".to_string(),
            FieldErrorKind::Forbidden => "Forbidden".to_string(),
            FieldErrorKind::Invalid(v) => format!("Invalid value: {}", render_value(v)),
            FieldErrorKind::NotSupported(v) => format!("Unsupported value: {}", render_value(v)),
        };
        if self.detail.is_empty() {
            head
        } else {
            format!("{head}: {}", self.detail)
        }
    }
}

fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The `Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if !self.reason.is_empty() {
            m.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), d.clone());
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// RBAC denial for a resource request, worded like the real authorizer.
    #[cfg(test)]
    pub fn forbidden_resource(
        user: &str,
        verb: &str,
        rt: &ResourceType,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let resource = match subresource {
            Some(s) => format!("{}/{s}", rt.plural),
            None => rt.plural.to_string(),
        };
        let subject = match name {
            Some(n) => format!("{} \"{n}\"", rt.group_resource()),
            None => rt.group_resource(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
            rt.group
        );
        ApiError::new(403, "Forbidden", message).with_details(details(rt, name.unwrap_or("")))
    }

    /// RBAC denial for any resource URL, served or not.
    pub fn forbidden_raw(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let gr = if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        };
        let subject = match name {
            Some(n) => format!("{gr} \"{n}\""),
            None => gr,
        };
        let res = match subresource {
            Some(s) => format!("{resource}/{s}"),
            None => resource.to_string(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let mut d = Map::new();
        if let Some(n) = name {
            d.insert("name".into(), json!(n));
        }
        if !group.is_empty() {
            d.insert("group".into(), json!(group));
        }
        d.insert("kind".into(), json!(resource));
        ApiError::new(
            403,
            "Forbidden",
            format!("{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{res}\" in API group \"{group}\" {scope}"),
        )
        .with_details(Value::Object(d))
    }

    pub fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        ApiError::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        )
        .with_details(json!({}))
    }

    /// Admission-style denial (e.g. deleting a protected namespace).
    pub fn forbidden(rt: &ResourceType, name: &str, why: &str) -> Self {
        ApiError::new(
            403,
            "Forbidden",
            format!("{} \"{name}\" is forbidden: {why}", rt.group_resource()),
        )
        .with_details(details(rt, name))
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.group_resource()),
        )
        .with_details(details(rt, name))
    }

    /// The answer for a path that names no resource.
    pub fn not_found_path() -> Self {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.group_resource()),
        )
        .with_details(details(rt, name))
    }

    /// Optimistic-concurrency failure (stale resourceVersion or uid precondition).
    pub fn conflict(rt: &ResourceType, name: &str, why: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                rt.group_resource()
            ),
        )
        .with_details(details(rt, name))
    }

    /// Server-side apply field-ownership conflicts, worded as kube-apiserver's
    /// `fieldmanager/internal/conflict.go`: `conflicts` holds (manager as
    /// `printManager` prints it, path), sorted by manager.
    pub fn apply_conflict(conflicts: &[(String, String)]) -> Self {
        let message = if conflicts.len() == 1 {
            format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                conflicts[0].0, conflicts[0].1
            )
        } else {
            let mut lines: Vec<String> = Vec::new();
            let mut last: Option<&str> = None;
            for (m, f) in conflicts {
                if last != Some(m.as_str()) {
                    lines.push(format!("conflicts with {m}:"));
                    last = Some(m);
                }
                lines.push(format!("- {f}"));
            }
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, f)| {
                json!({"reason": "FieldManagerConflict",
                       "message": format!("conflict with {m}"),
                       "field": f})
            })
            .collect();
        ApiError::new(409, "Conflict", message).with_details(json!({"causes": causes}))
    }

    /// An SSA patch that does not fit the schema. kube-apiserver returns a
    /// plain error here, which becomes a 500 Status without a reason
    /// (kubernetes/kubernetes#122480, #139253).
    pub fn typed_patch(rt: &ResourceType, namespace: &str, name: &str, why: &str) -> Self {
        ApiError::new(
            500,
            "",
            format!(
                "failed to create typed patch object ({namespace}/{name}; {}/{}, Kind={}): {why}",
                rt.group, rt.version, rt.kind
            ),
        )
    }

    /// 422 Invalid for `kind` (e.g. "Deployment") in `group`.
    pub fn invalid_kind(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let bodies: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.body()))
            .collect();
        let joined = if bodies.len() == 1 {
            bodies[0].clone()
        } else {
            format!("[{}]", bodies.join(", "))
        };
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.reason(), "message": e.body(), "field": e.field}))
            .collect();
        let mut d = Map::new();
        if !name.is_empty() {
            d.insert("name".into(), json!(name));
        }
        if !group.is_empty() {
            d.insert("group".into(), json!(group));
        }
        d.insert("kind".into(), json!(kind));
        d.insert("causes".into(), Value::Array(causes));
        ApiError::new(
            422,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {joined}"),
        )
        .with_details(Value::Object(d))
    }

    pub fn invalid(rt: &ResourceType, name: &str, errors: &[FieldError]) -> Self {
        ApiError::invalid_kind(rt.group, rt.kind, name, errors)
    }

    /// 422 without field details (e.g. a JSON patch `test` that fails).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::new(422, "Invalid", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn not_acceptable() -> Self {
        ApiError::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
        )
    }

    pub fn too_large() -> Self {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalError", message)
    }

    /// A watch from a resourceVersion the history no longer holds.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }
}

/// `details` for resource errors: `kind` is the plural resource name, and
/// `group` is left out for the core group, exactly as the apiserver does.
fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !rt.group.is_empty() {
        d.insert("group".into(), json!(rt.group));
    }
    d.insert("kind".into(), json!(rt.plural));
    Value::Object(d)
}

/// `Status` with `status: Success`, returned by deletes.
pub(crate) fn success_status(rt: &ResourceType, name: &str, uid: &str) -> Value {
    let mut d = details(rt, name);
    d["uid"] = json!(uid);
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

#[cfg(test)]
mod tests {
    use super::super::resources::lookup;
    use super::*;

    #[test]
    fn not_found_is_byte_for_byte_the_real_shape() {
        let rt = lookup("apps", "v1", "deployments").expect("deployments");
        let s = ApiError::not_found(rt, "x").to_status();
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"x\" not found","reason":"NotFound","details":{"name":"x","group":"apps","kind":"deployments"},"code":404}"#
        );
    }

    #[test]
    fn unauthorized_shape() {
        assert_eq!(
            serde_json::to_string(&ApiError::unauthorized().to_status()).expect("json"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
    }

    #[test]
    fn core_group_details_omit_group() {
        let rt = lookup("", "v1", "serviceaccounts").expect("sa");
        let s = ApiError::not_found(rt, "a").to_status();
        assert_eq!(s["message"], "serviceaccounts \"a\" not found");
        assert!(s["details"].get("group").is_none());
    }

    #[test]
    fn forbidden_wording() {
        let rt = lookup("apps", "v1", "deployments").expect("deployments");
        let e = ApiError::forbidden_resource("bob", "get", rt, None, Some("ns"), Some("x"));
        assert_eq!(
            e.message,
            "deployments.apps \"x\" is forbidden: User \"bob\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"ns\""
        );
        assert_eq!(e.code, 403);
    }

    #[test]
    fn invalid_message_lists_fields() {
        let e = ApiError::invalid_kind(
            "apps",
            "Deployment",
            "x",
            &[
                FieldError::required("spec.selector", ""),
                FieldError::invalid("metadata.name", json!("X"), "bad"),
            ],
        );
        assert_eq!(
            e.message,
            "Deployment.apps \"x\" is invalid: [spec.selector: Required value, metadata.name: Invalid value: \"X\": bad]"
        );
        assert_eq!(e.code, 422);
    }
}
