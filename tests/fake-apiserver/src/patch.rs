//! Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and
//! strategic merge patch, approximated: a merge patch in which the lists
//! the real types mark `patchStrategy: merge` (containers, env, volumes,
//! ports, ...) merge items by their key, and the `$patch`,
//! `$deleteFromPrimitiveList`, `$setElementOrder` and `$retainKeys`
//! directives are honoured or dropped (element order is not). The merge keys
//! come from a table keyed by field name, not from the Go types, so a list
//! not in the table is replaced whole, as in a merge patch.

use serde_json::{Map, Value};

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.shift_remove(k);
            } else {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                merge_patch(slot, v);
            }
        }
    }
}

/// The merge key of a `patchStrategy: merge` list, by field name.
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "resourceClaims"
        | "webhooks"
        | "secrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "hostAliases" => "ip",
        // Container ports merge on containerPort, Service ports on port.
        "ports" if items.iter().any(|i| i.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        _ => return None,
    })
}

/// Lists of scalars with `patchStrategy: merge`: union, not replacement.
fn is_primitive_merge_list(field: &str) -> bool {
    field == "finalizers"
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Strategic merge patch (approximated; see the module docs).
pub(crate) fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(gone)) =
                (t.get_mut(field).and_then(Value::as_array_mut), v.as_array())
            {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                t.shift_remove(k);
            }
            Value::Object(o) if o.get("$patch").and_then(Value::as_str) == Some("delete") => {
                t.shift_remove(k);
            }
            Value::Object(_) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                strategic_merge_patch(slot, v);
            }
            Value::Array(items) => {
                let existing = t.get_mut(k).and_then(Value::as_array_mut);
                match (existing, merge_key(k, items)) {
                    (Some(list), Some(key)) => merge_list(list, items, key),
                    (Some(list), None) if is_primitive_merge_list(k) => {
                        for i in items {
                            if !list.contains(i) {
                                list.push(i.clone());
                            }
                        }
                    }
                    _ => {
                        t.insert(k.clone(), strip_directives(v));
                    }
                }
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

fn merge_list(list: &mut Vec<Value>, items: &[Value], key: &str) {
    for item in items {
        let id = item.get(key);
        let pos = id.and_then(|id| list.iter().position(|e| e.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge_patch(&mut list[i], item),
            (None, false) => list.push(strip_directives(item)),
        }
    }
}

/// Why a JSON patch could not be applied.
#[derive(Debug, PartialEq)]
pub(crate) enum JsonPatchError {
    /// The patch document itself is malformed (→ 400).
    Malformed(String),
    /// The patch is well-formed but does not apply to this object (→ 422).
    Failed(String),
}

/// RFC 6902 JSON patch. Applied to a copy, so a failing patch changes nothing.
pub(crate) fn json_patch(target: &Value, patch: &Value) -> Result<Value, JsonPatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| JsonPatchError::Malformed("a JSON patch must be an array".into()))?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        let name = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| JsonPatchError::Malformed(format!("operation {i}: missing \"op\"")))?;
        let path = str_field(op, "path", i)?;
        let path = parse_pointer(path)
            .map_err(|e| JsonPatchError::Malformed(format!("operation {i}: {e}")))?;
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                JsonPatchError::Malformed(format!("operation {i}: missing \"value\""))
            })
        };
        match name {
            "add" => add(&mut doc, &path, value()?)?,
            "remove" => {
                remove(&mut doc, &path)?;
            }
            "replace" => {
                remove(&mut doc, &path)?;
                add(&mut doc, &path, value()?)?;
            }
            "move" | "copy" => {
                let from = parse_pointer(str_field(op, "from", i)?)
                    .map_err(|e| JsonPatchError::Malformed(format!("operation {i}: {e}")))?;
                let v = if name == "move" {
                    if path.len() > from.len() && path[..from.len()] == from[..] {
                        return Err(JsonPatchError::Failed(format!(
                            "operation {i}: cannot move a value into one of its children"
                        )));
                    }
                    remove(&mut doc, &from)?
                } else {
                    get(&doc, &from)?.clone()
                };
                add(&mut doc, &path, v)?;
            }
            "test" => {
                if get(&doc, &path)? != &value()? {
                    return Err(JsonPatchError::Failed(format!(
                        "testing value {} failed",
                        pointer_string(&path)
                    )));
                }
            }
            other => {
                return Err(JsonPatchError::Malformed(format!(
                    "Unexpected kind: {other}"
                )))
            }
        }
    }
    Ok(doc)
}

fn str_field<'a>(op: &'a Value, field: &str, i: usize) -> Result<&'a str, JsonPatchError> {
    op.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| JsonPatchError::Malformed(format!("operation {i}: missing \"{field}\"")))
}

/// RFC 6901 pointer → unescaped reference tokens.
fn parse_pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer {p:?}"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn pointer_string(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn missing(path: &[String]) -> JsonPatchError {
    JsonPatchError::Failed(format!("doc is missing path: \"{}\"", pointer_string(path)))
}

fn array_index(
    token: &str,
    len: usize,
    allow_end: bool,
    path: &[String],
) -> Result<usize, JsonPatchError> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    // RFC 6901: no leading zeros, digits only.
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && !(token.len() > 1 && token.starts_with('0'));
    let idx: usize = if valid {
        token.parse().map_err(|_| missing(path))?
    } else {
        return Err(missing(path));
    };
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if idx > max || (!allow_end && len == 0) {
        return Err(JsonPatchError::Failed(format!(
            "index out of range at \"{}\"",
            pointer_string(path)
        )));
    }
    Ok(idx)
}

fn get<'a>(doc: &'a Value, path: &[String]) -> Result<&'a Value, JsonPatchError> {
    let mut cur = doc;
    for (n, t) in path.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get(t).ok_or_else(|| missing(&path[..=n]))?,
            Value::Array(a) => {
                let i = array_index(t, a.len(), false, &path[..=n])?;
                &a[i]
            }
            _ => return Err(missing(&path[..=n])),
        };
    }
    Ok(cur)
}

fn parent_mut<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, JsonPatchError> {
    let mut cur = doc;
    for (n, t) in path[..path.len() - 1].iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get_mut(t).ok_or_else(|| missing(&path[..=n]))?,
            Value::Array(a) => {
                let i = array_index(t, a.len(), false, &path[..=n])?;
                &mut a[i]
            }
            _ => return Err(missing(&path[..=n])),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), JsonPatchError> {
    let Some(last) = path.last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true, path)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, JsonPatchError> {
    let Some(last) = path.last() else {
        return Err(JsonPatchError::Failed(
            "cannot remove the whole document".into(),
        ));
    };
    match parent_mut(doc, path)? {
        Value::Object(m) => m.shift_remove(last).ok_or_else(|| missing(path)),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false, path)?;
            Ok(a.remove(i))
        }
        _ => Err(missing(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge_patch(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
        let mut t = json!({"a": "x"});
        merge_patch(&mut t, &json!({"a": {"b": 1}}));
        assert_eq!(t, json!({"a": {"b": 1}}));
    }

    #[test]
    fn strategic_merge_patch_merges_keyed_lists() {
        let mut d = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "a:1", "args": ["x"]}, {"name": "b", "image": "b:1"}],
            "tolerations": [{"key": "k"}]}}},
            "metadata": {"finalizers": ["f1"]}});
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "a:2"}, {"name": "b", "$patch": "delete"}, {"name": "c", "image": "c:1"}],
            "tolerations": [{"key": "other"}]}}},
            "metadata": {"finalizers": ["f2"]}}),
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:2", "args": ["x"]}, {"name": "c", "image": "c:1"}])
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "other"}])
        );
        assert_eq!(d["metadata"]["finalizers"], json!(["f1", "f2"]));
        assert!(d["spec"]["template"]["spec"]
            .get("$setElementOrder/containers")
            .is_none());
        strategic_merge_patch(
            &mut d,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}}),
        );
        assert_eq!(d["metadata"]["finalizers"], json!(["f2"]));
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {"$patch": "replace", "replicas": 1}}),
        );
        assert_eq!(d["spec"], json!({"replicas": 1}));
    }

    #[test]
    fn json_patch_ops() {
        let doc = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"list": [1, 2, 3]}});
        let out = json_patch(
            &doc,
            &json!([
                {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
                {"op": "remove", "path": "/metadata/labels/a"},
                {"op": "replace", "path": "/spec/list/0", "value": 9},
                {"op": "add", "path": "/spec/list/-", "value": 4},
                {"op": "copy", "from": "/spec/list", "path": "/spec/copy"},
                {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
                {"op": "test", "path": "/spec/moved/3", "value": 4}
            ]),
        )
        .expect("patch");
        assert_eq!(
            out,
            json!({"metadata": {"labels": {"b/c": "2"}}, "spec": {"list": [9, 2, 3, 4], "moved": [9, 2, 3, 4]}})
        );
    }

    #[test]
    fn json_patch_errors() {
        let doc = json!({"a": {"b": 1}});
        assert!(matches!(
            json_patch(&doc, &json!({"op": "add"})),
            Err(JsonPatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "remove", "path": "/x"}])),
            Err(JsonPatchError::Failed(_))
        ));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "test", "path": "/a/b", "value": 2}])),
            Err(JsonPatchError::Failed(_))
        ));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "frob", "path": "/a"}])),
            Err(JsonPatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(
                &json!({"l": [1]}),
                &json!([{"op": "replace", "path": "/l/01", "value": 1}])
            ),
            Err(JsonPatchError::Failed(_))
        ));
        assert!(matches!(
            json_patch(
                &json!({"l": [1]}),
                &json!([{"op": "add", "path": "/l/5", "value": 1}])
            ),
            Err(JsonPatchError::Failed(_))
        ));
    }
}
