//! Field management (`metadata.managedFields`), the part of server-side
//! apply that decides who owns which field, following structured-merge-diff
//! with the schema of `schema`:
//! - field sets are what ToFieldSet gives: leaves, list-map items
//!   (`k:{"name":"c"}`, with a `.` member marker when they also have
//!   children), set items (`v:"x"`), atomic lists/structs/maps as one field;
//! - an apply by manager M owns exactly the fields in M's applied config
//!   (not the defaults the server adds afterwards); fields M applied before
//!   but no longer applies are removed from the object unless another
//!   manager also owns them (or something beneath them);
//! - applying a value to a field another manager owns is a 409 conflict
//!   (worded as kube-apiserver's `conflict.go`), unless `force=true`, which
//!   takes the field over; list-map items merge per key, so adding your own
//!   env var or container never conflicts with another manager's;
//! - an update (create/PUT/non-apply patch) by M takes over the fields whose
//!   value it changed (after defaulting, as the real server compares typed
//!   objects); fields that disappear from the object are owned by nobody.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::resources::ResourceType;
use super::schema::{self, Path};

pub(crate) type FieldSet = BTreeSet<Path>;

/// metadata fields a manager can own; the rest are the server's.
const USER_METADATA: &[&str] = &["labels", "annotations", "ownerReferences", "finalizers"];

/// The part of an object field management tracks.
fn tracked(obj: &Value, rt: &ResourceType) -> Value {
    let mut out = Map::new();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            match k.as_str() {
                "apiVersion" | "kind" => {}
                "status" if rt.has_status => {}
                "metadata" => {
                    let mut meta = Map::new();
                    if let Some(m) = v.as_object() {
                        for (mk, mv) in m {
                            if USER_METADATA.contains(&mk.as_str()) && !mv.is_null() {
                                meta.insert(mk.clone(), mv.clone());
                            }
                        }
                    }
                    if !meta.is_empty() {
                        out.insert(k.clone(), Value::Object(meta));
                    }
                }
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// Path -> leaf? for the tracked part of `obj`.
fn paths(obj: &Value, rt: &ResourceType) -> BTreeMap<Path, bool> {
    let mut out = BTreeMap::new();
    schema::field_set(
        &tracked(obj, rt),
        &schema::root(rt),
        &mut Vec::new(),
        &mut out,
    );
    out
}

pub(crate) fn field_set(obj: &Value, rt: &ResourceType) -> FieldSet {
    paths(obj, rt).into_keys().collect()
}

pub(crate) fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for pe in path {
            let entry = cur
                .entry(pe.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else {
                break;
            };
            cur = next;
        }
    }
    // A member that also has children carries a "." marker.
    fn mark(node: &mut Map<String, Value>, path: &mut Path, set: &FieldSet) {
        for (k, child) in node.iter_mut() {
            path.push(k.clone());
            if let Value::Object(m) = child {
                if !m.is_empty() {
                    mark(m, path, set);
                    if set.contains(path) {
                        m.insert(".".into(), json!({}));
                    }
                }
            }
            path.pop();
        }
        node.sort_keys();
    }
    mark(&mut root, &mut Vec::new(), set);
    Value::Object(root)
}

pub(crate) fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, prefix: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else {
            return;
        };
        let children: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| *k != ".").collect();
        if (children.is_empty() || m.contains_key(".")) && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (k, child) in children {
            prefix.push(k.clone());
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
    subresource: Option<String>,
    fields: FieldSet,
}

impl Entry {
    /// How kube-apiserver's `printManager` names a manager in conflicts.
    fn printed(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s = format!("{s} with subresource {sub:?}");
        }
        if self.operation == "Update" {
            if self.time.is_empty() {
                s = format!("{s} using {}", self.api_version);
            } else {
                s = format!("{s} using {} at {}", self.api_version, self.time);
            }
        }
        s
    }
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| Entry {
                    manager: e["manager"].as_str().unwrap_or("").to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or("").to_string(),
                    time: e["time"].as_str().unwrap_or("").to_string(),
                    subresource: e["subresource"].as_str().map(str::to_string),
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
            let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                   "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields)});
            if let Some(sub) = e.subresource {
                v["subresource"] = json!(sub);
            }
            v
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

fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && a == &b[..a.len()]
}

/// Did the field at `p` change from `old` to `new` (for a node: appear)?
fn changed(p: &Path, leaf: bool, old: &Value, new: &Value) -> bool {
    let before = schema::value_at(old, p);
    if leaf {
        before != schema::value_at(new, p)
    } else {
        before.is_none()
    }
}

/// Is `p` a key field of the list-map item it is in (kept as long as the item is)?
fn is_key_field(p: &[String]) -> bool {
    match p {
        [.., item, field] => {
            let (Some(k), Some(f)) = (item.strip_prefix("k:"), field.strip_prefix("f:")) else {
                return false;
            };
            serde_json::from_str::<Map<String, Value>>(k).is_ok_and(|m| m.contains_key(f))
        }
        _ => false,
    }
}

/// Why an apply was refused.
#[derive(Debug)]
pub(crate) enum ApplyError {
    /// The config does not fit the schema: `.spec.foo: field not declared in schema`.
    Schema(String),
    /// Field conflicts: (manager as kube-apiserver prints it, path).
    Conflicts(Vec<(String, String)>),
}

/// Check an applied configuration against the kind's schema.
pub(crate) fn validate_config(rt: &ResourceType, config: &Value) -> Result<(), String> {
    let mut body = config.clone();
    if let Some(m) = body.as_object_mut() {
        m.shift_remove("apiVersion");
        m.shift_remove("kind");
    }
    let mut errs = Vec::new();
    schema::validate(&body, &schema::root(rt), &mut Vec::new(), &mut errs);
    match errs.len() {
        0 => Ok(()),
        1 => Err(format!("{}: {}", errs[0].0, errs[0].1)),
        _ => Err(format!(
            "errors:\n{}",
            errs.iter()
                .map(|(p, m)| format!("  {p}: {m}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

/// Server-side apply of `config` by `manager` onto `old` (None: create).
/// Returns the new object with managedFields updated.
pub(crate) fn apply(
    rt: &ResourceType,
    old: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    validate_config(rt, config).map_err(ApplyError::Schema)?;
    let applied = field_set(config, rt);
    let base = old.cloned().unwrap_or_else(|| json!({}));
    let mut entries = old.map(read_entries).unwrap_or_default();
    let is_me =
        |e: &Entry| e.manager == manager && e.operation == "Apply" && e.subresource.is_none();

    let mut obj = base.clone();
    schema::merge(&mut obj, config, &schema::root(rt));

    // Fields this manager applied before and no longer does go, unless
    // someone (this manager included) still owns them or something under them.
    let previous = entries
        .iter()
        .find(|e| is_me(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let mut owned: Vec<&Path> = applied.iter().collect();
    for e in entries.iter().filter(|e| !is_me(e)) {
        owned.extend(e.fields.iter());
    }
    let mut gone: Vec<&Path> = previous
        .iter()
        .filter(|p| !applied.contains(*p))
        .filter(|p| !owned.iter().any(|q| is_prefix(p, q)))
        .collect();
    gone.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in gone {
        let parent_kept = p.len() > 1 && schema::value_at(&obj, &p[..p.len() - 1]).is_some();
        if is_key_field(p) && parent_kept {
            continue;
        }
        schema::remove_path(&mut obj, p);
    }

    // Conflicts: fields others own whose value this apply changes.
    let new_paths = paths(&obj, rt);
    let mut conflicts: Vec<(String, String, Path)> = Vec::new();
    for e in entries.iter_mut().filter(|e| !is_me(e)) {
        let taken: Vec<Path> = e
            .fields
            .iter()
            .filter(|q| {
                new_paths
                    .get(*q)
                    .is_some_and(|leaf| changed(q, *leaf, &base, &obj))
            })
            .cloned()
            .collect();
        for q in &taken {
            conflicts.push((e.printed(), schema::render(q), q.clone()));
        }
        if force {
            e.fields.retain(|q| {
                !taken
                    .iter()
                    .any(|t| is_prefix(t, q) && new_paths.get(t) == Some(&true))
                    && !taken.contains(q)
            });
        }
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort_by(|a, b| (a.0.as_str(), &a.2).cmp(&(b.0.as_str(), &b.2)));
        return Err(ApplyError::Conflicts(
            conflicts.into_iter().map(|(m, p, _)| (m, p)).collect(),
        ));
    }
    for e in entries.iter_mut() {
        e.fields.retain(|q| schema::value_at(&obj, q).is_some());
    }
    let mine = Entry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: rt.api_version(),
        time: now.to_string(),
        subresource: None,
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
    let empty = json!({});
    let before = old.unwrap_or(&empty);
    let present = paths(new, rt);
    let changes: FieldSet = present
        .iter()
        .filter(|(p, leaf)| changed(p, **leaf, before, new))
        .map(|(p, _)| p.clone())
        .collect();
    let is_me =
        |e: &Entry| e.manager == manager && e.operation == "Update" && e.subresource.is_none();
    for e in entries.iter_mut() {
        e.fields.retain(|q| schema::value_at(new, q).is_some());
        if !is_me(e) {
            e.fields.retain(|q| {
                !changes.contains(q)
                    && !changes
                        .iter()
                        .any(|p| is_prefix(p, q) && present.get(p) == Some(&true))
            });
        }
    }
    if !changes.is_empty() {
        match entries.iter_mut().find(|e| is_me(e)) {
            Some(e) => {
                e.fields.extend(changes);
                e.time = now.to_string();
                e.api_version = rt.api_version();
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: rt.api_version(),
                time: now.to_string(),
                subresource: None,
                fields: changes,
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

    fn conflicts(e: ApplyError) -> Vec<(String, String)> {
        match e {
            ApplyError::Conflicts(c) => c,
            ApplyError::Schema(s) => panic!("schema error {s}"),
        }
    }

    #[test]
    fn fields_v1_round_trip() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a": "1"}, "uid": "u"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "1"}},
                     "template": {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}},
            "status": {"replicas": 1}});
        let set = field_set(&obj, deploy());
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {"f:a": {}}},
                   "f:spec": {"f:replicas": {}, "f:selector": {},
                              "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {
                                  ".": {}, "f:name": {},
                                  "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}})
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
        let err = conflicts(apply(rt, Some(&o2), &c3, "m2", false, "t").expect_err("conflict"));
        assert_eq!(
            err,
            vec![("\"m1\"".to_string(), ".spec.replicas".to_string())]
        );
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

    fn with_env(image: &str, env: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image, "env": env,
                "args": ["--a"]}]}}}})
    }

    #[test]
    fn list_map_items_merge_per_key_and_conflicts_name_the_key() {
        let rt = deploy();
        let o1 = apply(
            rt,
            None,
            &with_env("i:1", json!([{"name": "A", "value": "a"}])),
            "tf",
            false,
            "t",
        )
        .expect("apply");
        // Another Update manager adds its own env var (kubectl set env).
        let mut o2 = o1.clone();
        o2["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .expect("env")
            .push(json!({"name": "B", "value": "b"}));
        record_update(
            rt,
            Some(&o1),
            &mut o2,
            "kubectl-set",
            "2026-01-02T03:04:05Z",
        );
        let mf = &o2["metadata"]["managedFields"][1];
        assert_eq!(mf["manager"], "kubectl-set");
        assert_eq!(
            mf["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"]
                ["f:env"],
            json!({"k:{\"name\":\"B\"}": {".": {}, "f:name": {}, "f:value": {}}})
        );
        // Re-applying the same config: no conflict, B stays.
        let o3 = apply(
            rt,
            Some(&o2),
            &with_env("i:1", json!([{"name": "A", "value": "a"}])),
            "tf",
            false,
            "t",
        )
        .expect("no conflict on another manager's item");
        let env = &o3["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(
            env,
            &json!([{"name": "A", "value": "a"}, {"name": "B", "value": "b"}])
        );
        // Dropping A from the config removes A only.
        let o4 =
            apply(rt, Some(&o3), &with_env("i:1", json!([])), "tf", false, "t").expect("apply");
        assert_eq!(
            o4["spec"]["template"]["spec"]["containers"][0]["env"],
            json!([{"name": "B", "value": "b"}])
        );
        // Taking over B's value conflicts, named with the key and the Update manager's time.
        let e = conflicts(
            apply(
                rt,
                Some(&o4),
                &with_env("i:2", json!([{"name": "B", "value": "x"}])),
                "tf",
                false,
                "t",
            )
            .expect_err("conflict"),
        );
        assert_eq!(
            e,
            vec![(
                "\"kubectl-set\" using apps/v1 at 2026-01-02T03:04:05Z".to_string(),
                ".spec.template.spec.containers[name=\"c\"].env[name=\"B\"].value".to_string()
            )]
        );
        // Atomic args: another manager's change to them conflicts as a whole.
        let mut o5 = o4.clone();
        o5["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["--b"]);
        record_update(
            rt,
            Some(&o4),
            &mut o5,
            "kubectl-edit",
            "2026-01-02T03:04:05Z",
        );
        let e = conflicts(
            apply(rt, Some(&o5), &with_env("i:1", json!([])), "tf", false, "t")
                .expect_err("conflict"),
        );
        assert_eq!(e[0].1, ".spec.template.spec.containers[name=\"c\"].args");
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
        let err = conflicts(apply(rt, Some(&o2), &c1, "m1", false, "t").expect_err("conflict"));
        assert_eq!(err[0].0, "\"kubectl-scale\" using apps/v1 at t");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let c = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"replicas": 1, "replica": 2}});
        match apply(deploy(), None, &c, "m", false, "t") {
            Err(ApplyError::Schema(s)) => {
                assert_eq!(s, ".spec.replica: field not declared in schema")
            }
            other => panic!("{other:?}"),
        }
    }
}
