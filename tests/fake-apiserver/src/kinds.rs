//! What the real apiserver does per kind on every write: defaulting,
//! validation (the checks a client is most likely to trip over, with the
//! real messages), generation and status. Not a full port of the
//! Kubernetes validation code; see the module docs of `fake_apiserver`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::resources::ResourceType;
use super::status::{ApiError, FieldError};
use super::store::{meta_str, Store};

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub(crate) fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && is_alnum_lower(b[0])
        && is_alnum_lower(b[b.len() - 1])
        && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
}

pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && is_alnum_lower(b[0])
                && is_alnum_lower(b[b.len() - 1])
                && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        })
}

fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Label/annotation keys: `[prefix/]name`, prefix a DNS subdomain.
fn qualified_name_errors(field: &str, key: &str) -> Vec<FieldError> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let mut errs = Vec::new();
    if let Some(p) = prefix {
        if !is_dns1123_subdomain(p) {
            errs.push(FieldError::invalid(
                field,
                json!(key),
                format!("prefix part {SUBDOMAIN_MSG}"),
            ));
        }
    }
    if !is_qualified_name_part(name) {
        errs.push(FieldError::invalid(field, json!(key), QUALIFIED_NAME_MSG));
    }
    errs
}

fn string_map<'a>(v: &'a Value, what: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) if m.values().all(Value::is_string) => Ok(Some(m)),
        _ => Err(ApiError::bad_request(format!(
            "error decoding request body: {what} must be a map of string to string"
        ))),
    }
}

/// Checks on metadata every kind shares. Decoding-type errors are 400
/// (the real server fails to decode such a body), the rest are field errors.
pub(crate) fn validate_metadata(
    rt: &ResourceType,
    obj: &Value,
) -> Result<Vec<FieldError>, ApiError> {
    let meta = &obj["metadata"];
    let mut errs = Vec::new();
    let name = meta_str(obj, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if rt.group == "rbac.authorization.k8s.io" {
        // RBAC names are path segments ("system:auth-delegator" is valid).
        let why = match name {
            "." => Some("may not be '.'"),
            ".." => Some("may not be '..'"),
            n if n.contains('/') => Some("may not contain '/'"),
            n if n.contains('%') => Some("may not contain '%'"),
            _ => None,
        };
        if let Some(why) = why {
            errs.push(FieldError::invalid("metadata.name", json!(name), why));
        }
    } else if rt.plural == "namespaces" {
        if !is_dns1123_label(name) {
            errs.push(FieldError::invalid("metadata.name", json!(name), LABEL_MSG));
        }
    } else if rt.plural == "services" {
        if !is_dns1035_label(name) {
            errs.push(FieldError::invalid(
                "metadata.name",
                json!(name),
                DNS1035_MSG,
            ));
        }
    } else if name.len() > 253 {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            "must be no more than 253 characters",
        ));
    } else if !is_dns1123_subdomain(name) {
        errs.push(FieldError::invalid(
            "metadata.name",
            json!(name),
            SUBDOMAIN_MSG,
        ));
    }
    if let Some(labels) = string_map(&meta["labels"], "metadata.labels")? {
        for (k, v) in labels {
            errs.extend(qualified_name_errors("metadata.labels", k));
            let v = v.as_str().unwrap_or("");
            let ok = v.is_empty() || (v.len() <= 63 && is_qualified_name_part(v));
            if !ok {
                errs.push(FieldError::invalid(
                    "metadata.labels",
                    json!(v),
                    LABEL_VALUE_MSG,
                ));
            }
        }
    }
    if let Some(ann) = string_map(&meta["annotations"], "metadata.annotations")? {
        for k in ann.keys() {
            errs.extend(qualified_name_errors(
                "metadata.annotations",
                &k.to_ascii_lowercase(),
            ));
        }
        let size: usize = ann
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if size > 256 * 1024 {
            errs.push(FieldError::invalid(
                "metadata.annotations",
                json!(""),
                "Too long: must have at most 262144 bytes",
            ));
        }
    }
    Ok(errs)
}

fn set_default(map: &mut Value, key: &str, value: Value) {
    if let Some(m) = map.as_object_mut() {
        if m.get(key).is_none_or(Value::is_null) {
            m.insert(key.to_string(), value);
        }
    }
}

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if !v[key].is_object() {
        v[key] = json!({});
    }
    &mut v[key]
}

/// Defaulting, kind-specific validation and read-only fields. `old` is the
/// stored object on update.
pub(crate) fn prepare(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    store: &mut Store,
) -> Result<(), ApiError> {
    let name = meta_str(obj, "name").to_string();
    let mut errs = validate_metadata(rt, obj)?;
    match (rt.group, rt.plural) {
        ("", "namespaces") => {
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            let spec = obj_mut(obj, "spec");
            set_default(spec, "finalizers", json!(["kubernetes"]));
            obj["status"] = old
                .map(|o| o["status"].clone())
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({"phase": "Active"}));
        }
        ("", "secrets") => secret(obj, old, &mut errs)?,
        ("", "configmaps") => {
            for field in ["data", "binaryData"] {
                string_map(&obj[field], field)?;
            }
        }
        ("", "services") => service(obj, old, store, &mut errs),
        ("apps", "deployments") => deployment(obj, old, &mut errs),
        // The Pod defaults (terminationGracePeriodSeconds: 30, ...), as for templates.
        ("", "pods") if obj["spec"].is_object() => super::defaults::pod_spec(&mut obj["spec"]),
        ("policy", "poddisruptionbudgets") => {
            let spec = &obj["spec"];
            if !spec["minAvailable"].is_null() && !spec["maxUnavailable"].is_null() {
                errs.push(FieldError::invalid(
                    "spec",
                    spec.clone(),
                    "minAvailable and maxUnavailable cannot be both set",
                ));
            }
        }
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations") => {
            webhooks(obj, &mut errs)?
        }
        ("rbac.authorization.k8s.io", "clusterroles" | "roles") => {
            if let Some(rules) = obj["rules"].as_array() {
                for (i, r) in rules.iter().enumerate() {
                    if r["verbs"].as_array().is_none_or(Vec::is_empty) {
                        errs.push(FieldError::required(
                            format!("rules[{i}].verbs"),
                            "verbs must contain at least one value",
                        ));
                    }
                }
            }
        }
        ("rbac.authorization.k8s.io", "clusterrolebindings" | "rolebindings") => {
            binding(rt, obj, old, &mut errs)
        }
        _ => {}
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, &name, &errs))
    }
}

fn secret(
    obj: &mut Value,
    old: Option<&Value>,
    errs: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    // stringData is write-only: merged into data (base64) and dropped.
    let string_data = obj
        .as_object_mut()
        .and_then(|m| m.shift_remove("stringData"))
        .unwrap_or(Value::Null);
    let data_in = string_map(&obj["data"], "data")?.cloned();
    if let Some(data) = &data_in {
        for (k, v) in data {
            if STANDARD.decode(v.as_str().unwrap_or("")).is_err() {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k:?}]"
                )));
            }
        }
    }
    if let Some(sd) = string_map(&string_data, "stringData")? {
        let data = obj_mut(obj, "data");
        for (k, v) in sd {
            data[k] = json!(STANDARD.encode(v.as_str().unwrap_or("")));
        }
    }
    set_default(obj, "type", json!("Opaque"));
    if obj["type"] == "kubernetes.io/tls" {
        // ValidateSecret, case SecretTypeTLS.
        for key in ["tls.crt", "tls.key"] {
            if obj["data"].get(key).is_none() {
                errs.push(FieldError::required(format!("data[{key}]"), ""));
            }
        }
    }
    if let Some(o) = old {
        if o["type"] != obj["type"] {
            errs.push(FieldError::invalid(
                "type",
                obj["type"].clone(),
                "field is immutable",
            ));
        }
    }
    Ok(())
}

fn service(obj: &mut Value, old: Option<&Value>, store: &mut Store, errs: &mut Vec<FieldError>) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "type", json!("ClusterIP"));
    let svc_type = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(&svc_type.as_str()) {
        errs.push(FieldError::not_supported(
            "spec.type",
            json!(svc_type),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ));
    }
    if svc_type != "ExternalName" {
        // The cluster IP is allocated once and kept across updates that omit it.
        let old_ip = old
            .and_then(|o| o["spec"]["clusterIP"].as_str())
            .map(str::to_string);
        let ip = match spec["clusterIP"].as_str() {
            Some(ip) if !ip.is_empty() => ip.to_string(),
            _ => old_ip.unwrap_or_else(|| store.alloc_cluster_ip()),
        };
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        if ip != "None" {
            set_default(spec, "ipFamilies", json!(["IPv4"]));
        }
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        let headless = ip == "None";
        match spec.get_mut("ports").and_then(Value::as_array_mut) {
            Some(ports) if !ports.is_empty() => {
                for (i, p) in ports.iter_mut().enumerate() {
                    set_default(p, "protocol", json!("TCP"));
                    let port = p["port"].as_i64().unwrap_or(0);
                    if !(1..=65535).contains(&port) {
                        errs.push(FieldError::invalid(
                            format!("spec.ports[{i}].port"),
                            p["port"].clone(),
                            "must be between 1 and 65535, inclusive",
                        ));
                    }
                    let port = p["port"].clone();
                    set_default(p, "targetPort", port);
                }
            }
            _ if headless => {}
            _ => errs.push(FieldError::required("spec.ports", "")),
        }
    }
    set_default(spec, "sessionAffinity", json!("None"));
    obj["status"] = json!({"loadBalancer": {}});
}

fn deployment(obj: &mut Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let spec = obj_mut(obj, "spec");
    set_default(spec, "replicas", json!(1));
    set_default(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    );
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    if spec["template"]["spec"].is_object() {
        super::defaults::pod_spec(&mut spec["template"]["spec"]);
    }
    let spec = &obj["spec"];
    if spec["replicas"].as_i64().is_none_or(|r| r < 0) {
        errs.push(FieldError::invalid(
            "spec.replicas",
            spec["replicas"].clone(),
            "must be greater than or equal to 0",
        ));
    }
    let selector = &spec["selector"];
    if selector.is_null() {
        errs.push(FieldError::required("spec.selector", ""));
    } else {
        let match_labels = selector["matchLabels"].as_object();
        let has_exprs = selector["matchExpressions"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if match_labels.is_none_or(Map::is_empty) && !has_exprs {
            errs.push(FieldError::invalid(
                "spec.selector",
                selector.clone(),
                "empty selector is invalid for deployment",
            ));
        }
        if let Some(ml) = match_labels {
            let labels = &spec["template"]["metadata"]["labels"];
            if ml.iter().any(|(k, v)| labels.get(k) != Some(v)) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    labels.clone(),
                    "`selector` does not match template `labels`",
                ));
            }
        }
        if let Some(o) = old {
            if o["spec"]["selector"] != *selector {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    selector.clone(),
                    "field is immutable",
                ));
            }
        }
    }
    match spec["template"]["spec"]["containers"].as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                for f in ["name", "image"] {
                    if c[f].as_str().is_none_or(str::is_empty) {
                        errs.push(FieldError::required(
                            format!("spec.template.spec.containers[{i}].{f}"),
                            "",
                        ));
                    }
                }
            }
        }
        _ => errs.push(FieldError::required("spec.template.spec.containers", "")),
    }
}

fn webhooks(obj: &mut Value, errs: &mut Vec<FieldError>) -> Result<(), ApiError> {
    let Some(hooks) = obj.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    // Shapes a typed decoder would reject outright (400), checked before
    // anything below indexes into them.
    for (i, w) in hooks.iter().enumerate() {
        let cc = &w["clientConfig"];
        let ok = w.is_object()
            && (cc.is_null() || cc.is_object())
            && (cc["service"].is_null() || cc["service"].is_object())
            && (w["rules"].is_null() || w["rules"].is_array());
        if !ok {
            return Err(ApiError::bad_request(format!(
                "error decoding request body: webhooks[{i}] has the wrong shape"
            )));
        }
    }
    // caBundle is []byte: JSON must carry it as standard base64.
    for w in hooks.iter() {
        if let Some(ca) = w["clientConfig"]["caBundle"].as_str() {
            if let Err(e) = STANDARD.decode(ca) {
                let at = match e {
                    base64::DecodeError::InvalidByte(i, _)
                    | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                    _ => ca.len() / 4 * 4,
                };
                return Err(ApiError::bad_request(format!(
                    "MutatingWebhookConfiguration in version \"v1\" cannot be handled as a MutatingWebhookConfiguration: illegal base64 data at input byte {at}"
                )));
            }
        }
    }
    let mut seen = Vec::new();
    for (i, w) in hooks.iter_mut().enumerate() {
        let f = |s: &str| format!("webhooks[{i}].{s}");
        let name = w["name"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            errs.push(FieldError::required(f("name"), ""));
        } else if !is_dns1123_subdomain(&name) || name.split('.').count() < 3 {
            errs.push(FieldError::invalid(
                f("name"),
                json!(name),
                "should be a domain with at least three segments separated by dots",
            ));
        } else if seen.contains(&name) {
            errs.push(FieldError::invalid(
                f("name"),
                json!(name),
                "duplicate webhook name",
            ));
        }
        seen.push(name);
        set_default(w, "failurePolicy", json!("Fail"));
        set_default(w, "matchPolicy", json!("Equivalent"));
        set_default(w, "namespaceSelector", json!({}));
        set_default(w, "objectSelector", json!({}));
        set_default(w, "timeoutSeconds", json!(10));
        set_default(w, "reinvocationPolicy", json!("Never"));
        match w["sideEffects"].as_str() {
            None => errs.push(FieldError::required(
                f("sideEffects"),
                "must specify one of None, NoneOnDryRun",
            )),
            Some("None" | "NoneOnDryRun") => {}
            Some(other) => errs.push(FieldError::not_supported(
                f("sideEffects"),
                json!(other),
                &["None", "NoneOnDryRun"],
            )),
        }
        match w["failurePolicy"].as_str() {
            Some("Fail" | "Ignore") => {}
            _ => errs.push(FieldError::not_supported(
                f("failurePolicy"),
                w["failurePolicy"].clone(),
                &["Fail", "Ignore"],
            )),
        }
        let versions: Vec<&str> = w["admissionReviewVersions"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if versions.is_empty() {
            errs.push(FieldError::required(
                f("admissionReviewVersions"),
                "must specify one of v1, v1beta1",
            ));
        } else if !versions.iter().any(|v| *v == "v1" || *v == "v1beta1") {
            errs.push(FieldError::invalid(
                f("admissionReviewVersions"),
                json!(versions),
                "must include at least one of v1, v1beta1",
            ));
        }
        let t = w["timeoutSeconds"].as_i64().unwrap_or(0);
        if !(1..=30).contains(&t) {
            errs.push(FieldError::invalid(
                f("timeoutSeconds"),
                json!(t),
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
        let has_url = w["clientConfig"]["url"].is_string();
        let has_svc = w["clientConfig"]["service"].is_object();
        if has_url == has_svc {
            errs.push(FieldError::required(
                f("clientConfig"),
                "exactly one of url or service is required",
            ));
        }
        if has_svc {
            set_default(&mut w["clientConfig"]["service"], "port", json!(443));
        }
        if let Some(rules) = w.get_mut("rules").and_then(Value::as_array_mut) {
            for r in rules {
                set_default(r, "scope", json!("*"));
            }
        }
    }
    Ok(())
}

fn binding(rt: &ResourceType, obj: &Value, old: Option<&Value>, errs: &mut Vec<FieldError>) {
    let role_ref = &obj["roleRef"];
    for f in ["apiGroup", "kind", "name"] {
        if role_ref[f].as_str().is_none() {
            errs.push(FieldError::required(format!("roleRef.{f}"), ""));
        }
    }
    if let Some(o) = old {
        if o["roleRef"] != *role_ref {
            errs.push(FieldError::invalid(
                "roleRef",
                role_ref.clone(),
                "cannot change roleRef",
            ));
        }
    }
    if let Some(subjects) = obj["subjects"].as_array() {
        for (i, s) in subjects.iter().enumerate() {
            match s["kind"].as_str() {
                Some("ServiceAccount") => {
                    if !rt.namespaced && s["namespace"].as_str().is_none_or(str::is_empty) {
                        errs.push(FieldError::required(format!("subjects[{i}].namespace"), ""));
                    }
                }
                Some("User" | "Group") => {}
                other => errs.push(FieldError::not_supported(
                    format!("subjects[{i}].kind"),
                    json!(other),
                    &["ServiceAccount", "User", "Group"],
                )),
            }
            if s["name"].as_str().is_none_or(str::is_empty) {
                errs.push(FieldError::required(format!("subjects[{i}].name"), ""));
            }
        }
    }
}

/// Kinds whose `metadata.generation` the server maintains, and the part of
/// the object whose change bumps it.
pub(crate) fn generation_field(rt: &ResourceType) -> Option<&'static str> {
    match (rt.group, rt.plural) {
        ("apps", "deployments") | ("policy", "poddisruptionbudgets") => Some("spec"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations") => Some("webhooks"),
        _ => None,
    }
}

/// Status set on write: empty for a new Deployment (the controller fills
/// it in later), at once for a PodDisruptionBudget.
pub(crate) fn controller_status(rt: &ResourceType, obj: &mut Value, old: Option<&Value>) {
    let generation = obj["metadata"]["generation"].clone();
    match (rt.group, rt.plural) {
        // The deployment controller writes status later (see
        // `controller`); a new Deployment starts with an empty one.
        ("apps", "deployments") if old.is_none() => obj["status"] = json!({}),
        ("apps", "deployments") => {}
        ("policy", "poddisruptionbudgets") => {
            obj["status"] = json!({"observedGeneration": generation, "disruptionsAllowed": 0,
                                   "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0});
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns1123_subdomain("a.b-c.d1"));
        assert!(!is_dns1123_subdomain("A"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain("-a"));
        assert!(is_dns1123_label("kube-system"));
        assert!(!is_dns1123_label("a.b"));
        assert!(!is_dns1035_label("1abc"));
    }

    #[test]
    fn malformed_webhooks_are_rejected_not_panicked_on() {
        let mut store = Store::new();
        let rt = super::super::resources::lookup(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
        )
        .expect("type");
        for hooks in [
            json!(["x"]),
            json!([{"clientConfig": "x"}]),
            json!([{"clientConfig": {"service": 1}}]),
            json!([{"rules": {}}]),
        ] {
            let mut obj = json!({"metadata": {"name": "m"}, "webhooks": hooks});
            let e = prepare(rt, &mut obj, None, &mut store).expect_err("bad shape");
            assert_eq!(e.code, 400);
        }
        let mut ok = json!({"metadata": {"name": "m"}, "webhooks": [{"name": "pod-identity-webhook.amazonaws.com",
            "clientConfig": {"service": {"name": "s", "namespace": "n", "path": "/mutate"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1beta1"]}]});
        prepare(rt, &mut ok, None, &mut store).expect("valid");
        let w = &ok["webhooks"][0];
        assert_eq!(
            (
                w["failurePolicy"].as_str(),
                w["clientConfig"]["service"]["port"].as_i64()
            ),
            (Some("Fail"), Some(443))
        );
        assert_eq!(w["rules"][0]["scope"], "*");
        let mut bad = ok.clone();
        bad["webhooks"][0]["name"] = json!("short.name");
        bad["webhooks"][0]
            .as_object_mut()
            .expect("obj")
            .shift_remove("sideEffects");
        let e = prepare(rt, &mut bad, None, &mut store).expect_err("invalid");
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains("at least three segments") && e.message.contains("sideEffects"),
            "{}",
            e.message
        );
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name_errors("f", "eks.amazonaws.com/role-arn").is_empty());
        assert!(qualified_name_errors("f", "app").is_empty());
        assert!(!qualified_name_errors("f", "Bad Prefix/x").is_empty());
        assert!(!qualified_name_errors("f", "x/").is_empty());
    }
}
