//! Field management (`metadata.managedFields`), the part of server-side
//! apply that decides who owns which field.
//!
//! Simplified from structured-merge-diff: a field set is the set of leaf
//! paths of an object (maps recurse, lists and scalars are leaves, i.e.
//! every list is atomic), written in the real FieldsV1 form
//! (`{"f:spec":{"f:replicas":{}}}`). What it does like the real server:
//! - an apply by manager M owns exactly the fields in M's applied config;
//!   fields M applied before but no longer applies are removed from the
//!   object unless another manager also owns them;
//! - applying a field another manager owns with a different value is a 409
//!   conflict unless `force=true`, which takes the field over;
//! - an update (create/PUT/non-apply patch) by M takes over the fields whose
//!   value it changed; fields that disappear from the object are owned by nobody.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::resources::ResourceType;

pub(crate) type FieldPath = Vec<String>;
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// metadata fields a manager can own; the rest are the server's.
const USER_METADATA: &[&str] = &[
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "generateName",
];

/// The leaf paths of `obj` that field management tracks.
pub(crate) fn field_set(obj: &Value, rt: &ResourceType) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" => {}
            "status" if rt.has_status => {}
            "metadata" => {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if USER_METADATA.contains(&mk.as_str()) {
                            walk(mv, &mut vec!["metadata".into(), mk.clone()], &mut out);
                        }
                    }
                }
            }
            _ => walk(v, &mut vec![k.clone()], &mut out),
        }
    }
    out
}

fn walk(v: &Value, prefix: &mut Vec<String>, out: &mut FieldSet) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(k.clone());
                walk(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone());
        }
    }
}

pub(crate) fn get_path<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |cur, k| cur.as_object()?.get(k))
}

/// Remove the field at `path`, then any map left empty above it (Go's
/// `omitempty` drops empty maps from typed objects, so the real server never
/// shows them either).
pub(crate) fn remove_path(obj: &mut Value, path: &[String]) {
    fn go(cur: &mut Value, path: &[String]) -> bool {
        let Some(map) = cur.as_object_mut() else {
            return false;
        };
        match path {
            [] => false,
            [last] => {
                map.shift_remove(last);
                map.is_empty()
            }
            [head, rest @ ..] => {
                let emptied = map.get_mut(head).map(|c| go(c, rest)).unwrap_or(false);
                if emptied {
                    map.shift_remove(head);
                }
                map.is_empty()
            }
        }
    }
    go(obj, path);
}

/// Is one path a prefix of (or equal to) the other?
fn overlaps(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// `.spec.replicas`, how conflicts name a field.
fn dotted(path: &[String]) -> String {
    path.iter().map(|p| format!(".{p}")).collect()
}

pub(crate) fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for k in path {
            let entry = cur
                .entry(format!("f:{k}"))
                .or_insert_with(|| Value::Object(Map::new()));
            // Every node is a map by construction.
            let Value::Object(next) = entry else {
                break;
            };
            cur = next;
        }
    }
    Value::Object(root)
}

pub(crate) fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, prefix: &mut Vec<String>, out: &mut FieldSet) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
            return;
        }
        for (k, child) in children {
            prefix.push(k[2..].to_string());
            go(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    fields: FieldSet,
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    get_path(obj, &["metadata".into(), "managedFields".into()])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: e["manager"].as_str().unwrap_or("").to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or("").to_string(),
                    time: e["time"].as_str().unwrap_or("").to_string(),
                    fields: from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                   "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields)})
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Server-side apply merge: maps merge recursively, lists and scalars are
/// replaced, `null` in the config means "not specified".
pub(crate) fn apply_merge(target: &mut Value, config: &Value) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                match t.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => apply_merge(slot, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, c) => *t = c.clone(),
    }
}

/// Server-side apply of `config` by `manager` onto `old` (None: create).
/// Returns the new object with managedFields updated, or the conflicts as
/// (other manager, field) pairs.
pub(crate) fn apply(
    rt: &ResourceType,
    old: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Vec<(String, String)>> {
    let applied = field_set(config, rt);
    let base = old.cloned().unwrap_or_else(|| json!({}));
    let mut entries = old.map(read_entries).unwrap_or_default();
    let is_me = |e: &Entry| e.manager == manager && e.operation == "Apply";
    let differs =
        |p: &FieldPath| get_path(config, p).filter(|v| !v.is_null()) != get_path(&base, p);

    let mut conflicts: Vec<(String, String)> = Vec::new();
    for e in entries.iter_mut().filter(|e| !is_me(e)) {
        let mut taken = FieldSet::new();
        for q in &e.fields {
            if applied.iter().any(|p| overlaps(p, q) && differs(p)) {
                let c = (e.manager.clone(), dotted(q));
                if !conflicts.contains(&c) {
                    conflicts.push(c);
                }
                taken.insert(q.clone());
            }
        }
        if force {
            e.fields.retain(|q| !taken.contains(q));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }

    let mut obj = base.clone();
    let previous = entries
        .iter()
        .find(|e| is_me(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for p in previous.iter().filter(|p| !applied.contains(*p)) {
        let still_wanted = applied.iter().any(|q| overlaps(p, q));
        let owned_by_other = entries
            .iter()
            .filter(|e| !is_me(e))
            .any(|e| e.fields.iter().any(|q| overlaps(p, q)));
        if !still_wanted && !owned_by_other {
            remove_path(&mut obj, p);
        }
    }
    apply_merge(&mut obj, config);

    let mine = Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: rt.api_version(),
        time: now.to_string(),
        fields: applied,
    };
    match entries.iter_mut().find(|e| is_me(e)) {
        Some(e) => *e = mine,
        None => entries.push(mine),
    }
    write_entries(&mut obj, entries);
    Ok(obj)
}

/// Record a non-apply write by `manager`: it takes over the fields it changed.
pub(crate) fn record_update(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
) {
    let mut entries = old.map(read_entries).unwrap_or_default();
    let present = field_set(new, rt);
    let changed: FieldSet = present
        .iter()
        .filter(|p| old.and_then(|o| get_path(o, p)) != get_path(new, p))
        .cloned()
        .collect();
    let is_me = |e: &Entry| e.manager == manager && e.operation == "Update";
    for e in entries.iter_mut() {
        e.fields.retain(|q| get_path(new, q).is_some());
        if !is_me(e) {
            e.fields.retain(|q| !changed.iter().any(|p| overlaps(p, q)));
        }
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| is_me(e)) {
            Some(e) => {
                e.fields.extend(changed);
                e.time = now.to_string();
                e.api_version = rt.api_version();
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: rt.api_version(),
                time: now.to_string(),
                fields: changed,
            }),
        }
    }
    write_entries(new, entries);
}

#[cfg(test)]
mod tests {
    use super::super::resources::lookup;
    use super::*;

    fn deploy() -> &'static ResourceType {
        lookup("apps", "v1", "deployments").expect("deployments")
    }

    #[test]
    fn fields_v1_round_trip() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1"}, "uid": "u"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}},
            "status": {"replicas": 1}});
        let set = field_set(&obj, deploy());
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {"f:a": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}}})
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_removes_dropped_fields_and_detects_conflicts() {
        let rt = deploy();
        let c1 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}});
        let o1 = apply(rt, None, &c1, "m1", false, "t").expect("apply");
        assert_eq!(o1["metadata"]["managedFields"][0]["manager"], "m1");

        // m1 drops label b: removed.
        let c2 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"replicas": 1}});
        let o2 = apply(rt, Some(&o1), &c2, "m1", false, "t").expect("apply");
        assert!(o2["metadata"]["labels"].get("b").is_none());

        // m2 wants a different replicas: conflict, unless forced.
        let c3 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"replicas": 3}});
        let err = apply(rt, Some(&o2), &c3, "m2", false, "t").expect_err("conflict");
        assert_eq!(err, vec![("m1".to_string(), ".spec.replicas".to_string())]);
        let o3 = apply(rt, Some(&o2), &c3, "m2", true, "t").expect("forced");
        assert_eq!(o3["spec"]["replicas"], 3);

        // m1 no longer owns replicas; dropping it from m1's config keeps m2's value.
        let c4 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1"}}});
        let o4 = apply(rt, Some(&o3), &c4, "m1", false, "t").expect("apply");
        assert_eq!(o4["spec"]["replicas"], 3);

        // Same value from another manager: shared, no conflict.
        let c5 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1"}}});
        apply(rt, Some(&o4), &c5, "m3", false, "t").expect("shared ownership");
    }

    #[test]
    fn update_takes_over_changed_fields() {
        let rt = deploy();
        let c1 = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"replicas": 1}});
        let o1 = apply(rt, None, &c1, "m1", false, "t").expect("apply");
        let mut o2 = o1.clone();
        o2["spec"]["replicas"] = json!(5);
        record_update(rt, Some(&o1), &mut o2, "kubectl-scale", "t");
        let mf = o2["metadata"]["managedFields"].as_array().expect("mf");
        assert_eq!(mf.len(), 1, "{mf:?}");
        assert_eq!(mf[0]["manager"], "kubectl-scale");
        assert_eq!(mf[0]["operation"], "Update");
        let err = apply(rt, Some(&o2), &c1, "m1", false, "t").expect_err("conflict");
        assert_eq!(err[0].0, "kubectl-scale");
    }

    #[test]
    fn remove_path_prunes_empty_maps() {
        let mut v = json!({"metadata": {"name": "x", "annotations": {"a": "1"}}});
        remove_path(
            &mut v,
            &["metadata".into(), "annotations".into(), "a".into()],
        );
        assert_eq!(v, json!({"metadata": {"name": "x"}}));
    }
}
