//! `labelSelector` and `fieldSelector` query parameters.

use serde_json::Value;

use super::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Field labels accepted in `fieldSelector`: metadata for every kind, plus
/// those the real server allows for Events and Pods (accepted on every
/// kind here; a real server refuses e.g. `involvedObject.name` on Pods).
const FIELD_LABELS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "reason",
    "reportingComponent",
    "reportingController",
    "source",
    "type",
    "spec.nodeName",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "spec.restartPolicy",
    "status.phase",
    "status.podIP",
];

#[derive(Debug, Clone, PartialEq)]
enum FieldReq {
    Eq(&'static str, String),
    NotEq(&'static str, String),
}

/// Both selectors of a list/watch/deletecollection request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selectors {
    labels: Vec<LabelReq>,
    fields: Vec<FieldReq>,
}

/// Split on commas that are not inside `( )`.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_set(key: &str, rest: &str, raw: &str) -> Result<(String, Vec<String>), ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unable to parse requirement: found '{raw}', expected: '('"
            ))
        })?;
    let values = inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    Ok((key.to_string(), values))
}

fn parse_label_req(raw: &str) -> Result<LabelReq, ApiError> {
    let r = raw.trim();
    let bad = || {
        ApiError::bad_request(format!(
            "unable to parse requirement: invalid label selector {r:?}"
        ))
    };
    if r.is_empty() {
        return Err(bad());
    }
    if let Some(k) = r.strip_prefix('!') {
        return Ok(LabelReq::NotExists(k.trim().to_string()));
    }
    if let Some((k, v)) = r.split_once("!=") {
        return Ok(LabelReq::NotEq(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = r.split_once("==") {
        return Ok(LabelReq::Eq(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = r.split_once('=') {
        return Ok(LabelReq::Eq(k.trim().into(), v.trim().into()));
    }
    let mut words = r.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or("");
    let rest = words.next().unwrap_or("").trim_start();
    if let Some(set) = rest.strip_prefix("notin") {
        let (k, v) = parse_set(key, set, r)?;
        return Ok(LabelReq::NotIn(k, v));
    }
    if let Some(set) = rest.strip_prefix("in") {
        let (k, v) = parse_set(key, set, r)?;
        return Ok(LabelReq::In(k, v));
    }
    if rest.is_empty() && !key.contains(['(', ')', '<', '>']) {
        return Ok(LabelReq::Exists(key.to_string()));
    }
    Err(bad())
}

fn parse_field_req(raw: &str) -> Result<FieldReq, ApiError> {
    let r = raw.trim();
    let (key, value, negate) = if let Some((k, v)) = r.split_once("!=") {
        (k, v, true)
    } else if let Some((k, v)) = r.split_once("==") {
        (k, v, false)
    } else if let Some((k, v)) = r.split_once('=') {
        (k, v, false)
    } else {
        return Err(ApiError::bad_request(format!(
            "invalid selector: '{r}'; can't understand '{r}'"
        )));
    };
    let key: &'static str = match FIELD_LABELS.iter().find(|f| **f == key.trim()) {
        Some(f) => f,
        None => {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {}",
                key.trim()
            )))
        }
    };
    let value = value.trim().to_string();
    Ok(if negate {
        FieldReq::NotEq(key, value)
    } else {
        FieldReq::Eq(key, value)
    })
}

impl Selectors {
    pub fn parse(label: Option<&str>, field: Option<&str>) -> Result<Self, ApiError> {
        let mut s = Selectors::default();
        if let Some(l) = label.filter(|l| !l.trim().is_empty()) {
            for part in split_top_level(l) {
                s.labels.push(parse_label_req(part)?);
            }
        }
        if let Some(f) = field.filter(|f| !f.trim().is_empty()) {
            for part in f.split(',') {
                s.fields.push(parse_field_req(part)?);
            }
        }
        Ok(s)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        let label = |k: &str| meta["labels"].get(k).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => label(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => !label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
        });
        let field = |k: &str| {
            let v = k.split('.').fold(obj, |cur, part| &cur[part]);
            // `source` of a core Event selects on source.component.
            let v = if k == "source" { &v["component"] } else { v };
            v.as_str().unwrap_or("").to_string()
        };
        let fields_ok = self.fields.iter().all(|r| match r {
            FieldReq::Eq(k, v) => &field(k) == v,
            FieldReq::NotEq(k, v) => &field(k) != v,
        });
        labels_ok && fields_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let o = json!({"metadata": {"name": "x", "namespace": "n", "labels": {"app": "a", "tier": "web"}}});
        let m = |l: &str| Selectors::parse(Some(l), None).expect("parse").matches(&o);
        assert!(m("app=a"));
        assert!(m("app==a,tier"));
        assert!(!m("app!=a"));
        assert!(m("tier in (web, db),!missing"));
        assert!(!m("tier notin (web)"));
        assert!(m("app,tier=web"));
        assert!(!m("missing"));
        assert!(Selectors::parse(Some("a in b"), None).is_err());
    }

    #[test]
    fn field_selectors() {
        let o = json!({"metadata": {"name": "x", "namespace": "n"}});
        let m = |f: &str| Selectors::parse(None, Some(f)).expect("parse").matches(&o);
        assert!(m("metadata.name=x"));
        assert!(m("metadata.name=x,metadata.namespace==n"));
        assert!(!m("metadata.name!=x"));
        let e = Selectors::parse(None, Some("spec.x=1")).expect_err("unsupported");
        assert_eq!(e.code, 400);
    }
}
