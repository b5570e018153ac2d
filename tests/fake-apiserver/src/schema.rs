//! The structural schema server-side apply works with, as
//! structured-merge-diff sees the built-in types: which fields exist
//! (from the protobuf descriptors kubectl embeds, `proto_schema.txt`),
//! which lists are atomic, sets or maps keyed by some fields, and which
//! structs and maps are atomic (from the k8s.io/api markers,
//! `schema_lists.txt`).
//!
//! Paths are sequences of FieldsV1 path elements, kept in their FieldsV1
//! spelling: `f:name` (a struct field or map key), `k:{"name":"c"}` (an
//! item of a list-map, key fields sorted), `v:"x"` (an item of a set).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::proto::{message_fields, Label, Ty as ProtoTy};
use super::resources::ResourceType;

const LISTS_TEXT: &str = include_str!("schema_lists.txt");

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ListRel {
    Atomic,
    Set,
    Map(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Scalar,
    /// Anything (RawExtension, FieldsV1): atomic.
    Any,
    /// A kind without a schema here: maps granular, lists atomic, any field.
    Deduced,
    Struct(&'static str),
    Map(Box<Ty>, bool),
    List(Box<Ty>, ListRel),
}

pub(crate) struct StructDef {
    pub fields: HashMap<String, Ty>,
    pub atomic: bool,
}

pub(crate) type Path = Vec<String>;

struct Markers {
    lists: HashMap<(String, String), String>,
    atomic_structs: Vec<String>,
}

fn markers() -> &'static Markers {
    static M: OnceLock<Markers> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = Markers {
            lists: HashMap::new(),
            atomic_structs: Vec::new(),
        };
        for line in LISTS_TEXT.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                [first, ..] if first.starts_with('#') => {}
                [s, ".", "atomicstruct"] => m.atomic_structs.push(format!("k8s.io.api.{s}")),
                [s, f, rel] => {
                    m.lists.insert(
                        (format!("k8s.io.api.{s}"), (*f).to_string()),
                        (*rel).to_string(),
                    );
                }
                _ => {}
            }
        }
        m
    })
}

/// The message name as `schema_lists.txt` spells it (apimachinery types as `meta.v1.X`).
fn marker_name(message: &str) -> String {
    message.replace(
        "k8s.io.apimachinery.pkg.apis.meta.v1.",
        "k8s.io.api.meta.v1.",
    )
}

fn scalar_message(name: &str) -> bool {
    matches!(
        name,
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
            | "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"
            | "k8s.io.apimachinery.pkg.apis.meta.v1.Duration"
            | "k8s.io.apimachinery.pkg.api.resource.Quantity"
            | "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
    )
}

fn structs() -> &'static HashMap<&'static str, StructDef> {
    static S: OnceLock<HashMap<&'static str, StructDef>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = HashMap::new();
        let mut todo: Vec<&'static str> = ROOTS.iter().map(|(_, _, m)| *m).collect();
        while let Some(name) = todo.pop() {
            if out.contains_key(name) {
                continue;
            }
            let mut def = StructDef {
                fields: HashMap::new(),
                atomic: markers().atomic_structs.contains(&marker_name(name)),
            };
            add_fields(name, name, &mut def, &mut todo);
            out.insert(name, def);
        }
        out
    })
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn add_fields(owner: &str, name: &str, def: &mut StructDef, todo: &mut Vec<&'static str>) {
    let Some(fields) = message_fields(name) else {
        return;
    };
    for f in fields.values() {
        if f.label == Label::Inline {
            if let ProtoTy::Message(m) = &f.ty {
                add_fields(owner, m, def, todo);
            }
            continue;
        }
        let elem = convert(&f.ty, todo);
        let ty = if f.label == Label::Repeated && !matches!(elem, Ty::Map(..)) {
            let rel = markers()
                .lists
                .get(&(marker_name(owner), f.name.clone()))
                .or_else(|| markers().lists.get(&(marker_name(name), f.name.clone())))
                .map(String::as_str)
                .unwrap_or("atomic");
            let rel = match rel {
                "set" => ListRel::Set,
                r if r.starts_with("map:") => {
                    ListRel::Map(r[4..].split(',').map(str::to_string).collect())
                }
                _ => ListRel::Atomic,
            };
            Ty::List(Box::new(elem), rel)
        } else {
            match elem {
                Ty::Map(v, _) => {
                    let atomic = markers()
                        .lists
                        .get(&(marker_name(owner), f.name.clone()))
                        .is_some_and(|r| r == "atomicmap");
                    Ty::Map(v, atomic)
                }
                other => other,
            }
        };
        def.fields.insert(f.name.clone(), ty);
    }
}

fn convert(t: &ProtoTy, todo: &mut Vec<&'static str>) -> Ty {
    match t {
        ProtoTy::Scalar(_) => Ty::Scalar,
        ProtoTy::Message(m) if scalar_message(m) => Ty::Scalar,
        ProtoTy::Message(m)
            if m == "k8s.io.apimachinery.pkg.runtime.RawExtension"
                || m == "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1" =>
        {
            Ty::Any
        }
        ProtoTy::Message(m) => {
            let m = leak(m);
            todo.push(m);
            Ty::Struct(m)
        }
        ProtoTy::Map(_, v) => Ty::Map(Box::new(convert(v, todo)), false),
    }
}

/// The kinds with a schema: (group, plural, message).
const ROOTS: &[(&str, &str, &str)] = &[
    ("", "namespaces", "k8s.io.api.core.v1.Namespace"),
    ("", "serviceaccounts", "k8s.io.api.core.v1.ServiceAccount"),
    ("", "secrets", "k8s.io.api.core.v1.Secret"),
    ("", "services", "k8s.io.api.core.v1.Service"),
    ("", "configmaps", "k8s.io.api.core.v1.ConfigMap"),
    ("apps", "deployments", "k8s.io.api.apps.v1.Deployment"),
    (
        "rbac.authorization.k8s.io",
        "clusterroles",
        "k8s.io.api.rbac.v1.ClusterRole",
    ),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "k8s.io.api.rbac.v1.ClusterRoleBinding",
    ),
    (
        "rbac.authorization.k8s.io",
        "roles",
        "k8s.io.api.rbac.v1.Role",
    ),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        "k8s.io.api.rbac.v1.RoleBinding",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration",
    ),
    (
        "policy",
        "poddisruptionbudgets",
        "k8s.io.api.policy.v1.PodDisruptionBudget",
    ),
];

/// The root type of a kind: its struct, or `Deduced` without a schema.
pub(crate) fn root(rt: &ResourceType) -> Ty {
    ROOTS
        .iter()
        .find(|(g, p, _)| *g == rt.group && *p == rt.plural)
        .map(|(_, _, m)| Ty::Struct(m))
        .unwrap_or(Ty::Deduced)
}

fn struct_def(name: &str) -> Option<&'static StructDef> {
    structs().get(name)
}

/// The type of field `f` in a struct type, if declared.
pub(crate) fn field_type(ty: &Ty, f: &str) -> Option<Ty> {
    match ty {
        Ty::Struct(n) => struct_def(n)?.fields.get(f).cloned(),
        Ty::Map(v, _) => Some((**v).clone()),
        Ty::Deduced => Some(Ty::Deduced),
        _ => None,
    }
}

/// Default values of list-map key fields (from the OpenAPI `default`s,
/// which structured-merge-diff uses for keys an item omits).
fn key_default(key: &str) -> Option<Value> {
    (key == "protocol").then(|| Value::String("TCP".into()))
}

/// The `k:{...}` element for a list-map item, or why it has none.
pub(crate) fn key_element(item: &Value, keys: &[String]) -> Result<String, String> {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        match item.get(k).filter(|v| !v.is_null()).cloned().or_else(|| key_default(k)) {
            Some(v) => {
                m.insert(k.clone(), v);
            }
            None => {
                return Err(format!(
                    "associative list with keys has an element that omits key field {k:?} (and doesn't have default value)"
                ))
            }
        }
    }
    Ok(format!("k:{}", Value::Object(m)))
}

fn set_element(item: &Value) -> String {
    format!("v:{item}")
}

/// `.spec.template.spec.containers[name="c"].image`, how structured-merge-diff prints a path.
pub(crate) fn render(path: &[String]) -> String {
    let mut out = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = pe.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else {
            out.push_str(&format!("[{pe}]"));
        }
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "numeric",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// Check an applied configuration against the schema, as converting it to
/// a typed object does: unknown fields, wrong shapes, list-map items
/// without their keys or with duplicate keys. Errors are `(path, message)`.
pub(crate) fn validate(v: &Value, ty: &Ty, path: &mut Path, errs: &mut Vec<(String, String)>) {
    if v.is_null() {
        return;
    }
    match ty {
        Ty::Scalar => {
            if v.is_object() || v.is_array() {
                errs.push((
                    render(path),
                    format!("expected string, number or bool, got {}", type_name(v)),
                ));
            }
        }
        Ty::Any | Ty::Deduced => {}
        Ty::Struct(_) | Ty::Map(..) => {
            let Some(m) = v.as_object() else {
                errs.push((render(path), format!("expected map, got {}", type_name(v))));
                return;
            };
            for (k, child) in m {
                path.push(format!("f:{k}"));
                match field_type(ty, k) {
                    Some(t) => validate(child, &t, path, errs),
                    None => errs.push((render(path), "field not declared in schema".into())),
                }
                path.pop();
            }
        }
        Ty::List(elem, rel) => {
            let Some(items) = v.as_array() else {
                errs.push((render(path), format!("expected list, got {}", type_name(v))));
                return;
            };
            let mut seen = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let pe = match rel {
                    ListRel::Map(keys) => match key_element(item, keys) {
                        Ok(k) => k,
                        Err(e) => {
                            errs.push((render(path), format!("element {i}: {e}")));
                            continue;
                        }
                    },
                    ListRel::Set => set_element(item),
                    ListRel::Atomic => format!("i:{i}"),
                };
                if *rel != ListRel::Atomic {
                    if seen.contains(&pe) {
                        let mut p = path.clone();
                        p.push(pe.clone());
                        errs.push((
                            render(path),
                            format!("duplicate entries for key {}", render(&p[p.len() - 1..])),
                        ));
                    }
                    seen.push(pe.clone());
                }
                path.push(pe);
                validate(item, elem, path, errs);
                path.pop();
            }
        }
    }
}

/// The field set of `v` (ToFieldSet): path -> is it a leaf (compared by
/// value) rather than a node that only has to exist (a list-map item, a map entry holding a map).
pub(crate) fn field_set(v: &Value, ty: &Ty, path: &mut Path, out: &mut BTreeMap<Path, bool>) {
    let atomic = match ty {
        Ty::Scalar | Ty::Any => true,
        Ty::Struct(n) => struct_def(n).is_none_or(|d| d.atomic),
        Ty::Map(_, atomic) => *atomic,
        Ty::List(_, rel) => *rel == ListRel::Atomic,
        Ty::Deduced => !v.is_object(),
    };
    if atomic || !(v.is_object() || v.is_array()) {
        if !path.is_empty() {
            out.insert(path.clone(), true);
        }
        return;
    }
    match (v, ty) {
        (Value::Object(m), _) => {
            let declared = matches!(ty, Ty::Struct(_));
            for (k, child) in m {
                let Some(t) = field_type(ty, k) else {
                    continue;
                };
                path.push(format!("f:{k}"));
                let empty = child.is_null() || child.as_object().is_some_and(Map::is_empty);
                if empty {
                    out.insert(path.clone(), true);
                } else {
                    field_set(child, &t, path, out);
                    if !declared {
                        out.entry(path.clone()).or_insert(false);
                    }
                }
                path.pop();
            }
        }
        (Value::Array(items), Ty::List(elem, rel)) => {
            for item in items {
                let pe = match rel {
                    ListRel::Map(keys) => match key_element(item, keys) {
                        Ok(k) => k,
                        Err(_) => continue,
                    },
                    _ => set_element(item),
                };
                path.push(pe);
                if matches!(rel, ListRel::Set) {
                    out.insert(path.clone(), true);
                } else {
                    field_set(item, elem, path, out);
                    out.insert(path.clone(), false);
                }
                path.pop();
            }
        }
        _ => {
            out.insert(path.clone(), true);
        }
    }
}

/// Find the item of a list that a `k:` or `v:` element names.
fn find_item(items: &[Value], pe: &str) -> Option<usize> {
    if let Some(k) = pe.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(k).ok()?;
        items.iter().position(|it| {
            key.iter().all(|(kf, kv)| {
                it.get(kf)
                    .filter(|v| !v.is_null())
                    .cloned()
                    .or_else(|| key_default(kf))
                    .as_ref()
                    == Some(kv)
            })
        })
    } else if let Some(v) = pe.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).ok()?;
        items.iter().position(|it| *it == want)
    } else {
        None
    }
}

pub(crate) fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for pe in path {
        cur = match pe.strip_prefix("f:") {
            Some(f) => cur.as_object()?.get(f)?,
            None => {
                let items = cur.as_array()?;
                &items[find_item(items, pe)?]
            }
        };
    }
    Some(cur)
}

/// Remove what `path` names, then containers left empty above it (Go's
/// `omitempty` drops empty maps and lists from typed objects).
pub(crate) fn remove_path(obj: &mut Value, path: &[String]) {
    fn go(cur: &mut Value, path: &[String]) -> bool {
        let Some((head, rest)) = path.split_first() else {
            return false;
        };
        match head.strip_prefix("f:") {
            Some(f) => {
                let Some(map) = cur.as_object_mut() else {
                    return false;
                };
                let remove = rest.is_empty() || map.get_mut(f).is_some_and(|c| go(c, rest));
                if remove {
                    map.shift_remove(f);
                }
                map.is_empty()
            }
            None => {
                let Some(items) = cur.as_array_mut() else {
                    return false;
                };
                let Some(i) = find_item(items, head) else {
                    return false;
                };
                let remove = rest.is_empty() || go(&mut items[i], rest);
                if remove {
                    items.remove(i);
                }
                items.is_empty()
            }
        }
    }
    go(obj, path);
}

/// Server-side apply merge of `config` into `target` by the schema:
/// granular maps and structs merge per field, list-maps per key, sets per
/// value; atomic parts are replaced. `null` in the config means "not set".
pub(crate) fn merge(target: &mut Value, config: &Value, ty: &Ty) {
    let granular = match ty {
        Ty::Struct(n) => struct_def(n).is_some_and(|d| !d.atomic),
        Ty::Map(_, atomic) => !atomic,
        Ty::Deduced => true,
        Ty::List(_, rel) => *rel != ListRel::Atomic,
        _ => false,
    };
    match (target, config) {
        (Value::Object(t), Value::Object(c)) if granular => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                let child_ty = field_type(ty, k).unwrap_or(Ty::Any);
                match t.get_mut(k) {
                    Some(slot) if !slot.is_null() => merge(slot, v, &child_ty),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) if granular => {
            let Ty::List(elem, rel) = ty else {
                return;
            };
            let pe = |it: &Value| match rel {
                ListRel::Map(keys) => key_element(it, keys).unwrap_or_default(),
                _ => set_element(it),
            };
            let c_keys: Vec<String> = c.iter().map(pe).collect();
            let mut used = vec![false; c.len()];
            let mut out = Vec::new();
            let emit = |j: usize, base: Option<&Value>, out: &mut Vec<Value>| {
                let mut item = base.cloned().unwrap_or(Value::Null);
                if item.is_null() {
                    item = c[j].clone();
                } else {
                    merge(&mut item, &c[j], elem);
                }
                out.push(item);
            };
            for live in t.iter() {
                let k = pe(live);
                match c_keys.iter().position(|ck| *ck == k) {
                    None => out.push(live.clone()),
                    Some(j) => {
                        // Config items before this one come first, in config order.
                        for i in 0..j {
                            if !used[i] && !t.iter().any(|l| pe(l) == c_keys[i]) {
                                used[i] = true;
                                emit(i, None, &mut out);
                            }
                        }
                        if !used[j] {
                            used[j] = true;
                            emit(j, Some(live), &mut out);
                        }
                    }
                }
            }
            for (j, u) in used.iter_mut().enumerate() {
                if !*u {
                    *u = true;
                    emit(j, None, &mut out);
                }
            }
            *t = out;
        }
        (t, c) => *t = c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::known;
    use super::*;
    use serde_json::json;

    fn deploy() -> Ty {
        root(known("apps", "deployments"))
    }

    #[test]
    fn list_semantics_come_from_the_markers() {
        let pod = field_type(
            &field_type(&field_type(&deploy(), "spec").expect("spec"), "template").expect("t"),
            "spec",
        )
        .expect("podspec");
        let containers = field_type(&pod, "containers").expect("containers");
        assert_eq!(
            containers,
            Ty::List(
                Box::new(Ty::Struct("k8s.io.api.core.v1.Container")),
                ListRel::Map(vec!["name".into()])
            )
        );
        let Ty::List(c, _) = containers else {
            unreachable!()
        };
        let rel = |t: &Ty| match t {
            Ty::List(_, r) => r.clone(),
            _ => panic!("not a list"),
        };
        assert_eq!(
            rel(&field_type(&c, "env").expect("env")),
            ListRel::Map(vec!["name".into()])
        );
        assert_eq!(
            rel(&field_type(&c, "ports").expect("ports")),
            ListRel::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(rel(&field_type(&c, "args").expect("args")), ListRel::Atomic);
        assert_eq!(
            rel(&field_type(&c, "volumeMounts").expect("vm")),
            ListRel::Map(vec!["mountPath".into()])
        );
        assert_eq!(
            rel(&field_type(&pod, "tolerations").expect("tol")),
            ListRel::Atomic
        );
        assert_eq!(
            rel(&field_type(&pod, "volumes").expect("v")),
            ListRel::Map(vec!["name".into()])
        );
        let mwc = root(known(
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ));
        assert_eq!(
            rel(&field_type(&mwc, "webhooks").expect("w")),
            ListRel::Map(vec!["name".into()])
        );
        let crb = root(known("rbac.authorization.k8s.io", "clusterrolebindings"));
        assert_eq!(
            rel(&field_type(&crb, "subjects").expect("s")),
            ListRel::Atomic
        );
        let meta = field_type(&deploy(), "metadata").expect("meta");
        assert_eq!(
            rel(&field_type(&meta, "finalizers").expect("f")),
            ListRel::Set
        );
        // Atomic structs: the selector is one field.
        let sel =
            field_type(&field_type(&deploy(), "spec").expect("spec"), "selector").expect("sel");
        let mut out = BTreeMap::new();
        field_set(
            &json!({"matchLabels": {"a": "b"}}),
            &sel,
            &mut vec!["f:selector".into()],
            &mut out,
        );
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            vec![(vec!["f:selector".to_string()], true)]
        );
    }

    #[test]
    fn unknown_fields_and_missing_keys_are_errors() {
        let cfg = json!({"metadata": {"name": "x"},
            "spec": {"foo": 1, "template": {"spec": {"containers": [{"name": "c", "imagee": "i",
                "ports": [{"containerPort": 80}]}]}}}});
        let mut errs = Vec::new();
        validate(&cfg, &deploy(), &mut Vec::new(), &mut errs);
        let msgs: Vec<String> = errs.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        assert_eq!(
            msgs,
            vec![
                ".spec.foo: field not declared in schema".to_string(),
                ".spec.template.spec.containers[name=\"c\"].imagee: field not declared in schema"
                    .to_string()
            ]
        );
        let svc = root(known("", "services"));
        let mut errs = Vec::new();
        validate(
            &json!({"spec": {"ports": [{"name": "x"}]}}),
            &svc,
            &mut Vec::new(),
            &mut errs,
        );
        assert!(errs[0].1.contains("omits key field \"port\""), "{errs:?}");
    }

    #[test]
    fn merge_keeps_other_items_and_paths_render_with_keys() {
        let pod = json!({"containers": [{"name": "a", "image": "1", "env": [{"name": "X", "value": "x"}]},
                                        {"name": "side", "image": "s"}]});
        let ty = Ty::Struct("k8s.io.api.core.v1.PodSpec");
        let mut t = pod.clone();
        merge(
            &mut t,
            &json!({"containers": [{"name": "a", "image": "2", "env": [{"name": "Y", "value": "y"}]}]}),
            &ty,
        );
        assert_eq!(t["containers"][0]["image"], "2");
        assert_eq!(
            t["containers"][0]["env"],
            json!([{"name": "X", "value": "x"}, {"name": "Y", "value": "y"}])
        );
        assert_eq!(t["containers"][1]["name"], "side");
        let p: Path = vec![
            "f:containers".into(),
            r#"k:{"name":"a"}"#.into(),
            "f:image".into(),
        ];
        assert_eq!(value_at(&t, &p), Some(&json!("2")));
        assert_eq!(render(&p), ".containers[name=\"a\"].image");
        let mut t2 = t.clone();
        remove_path(
            &mut t2,
            &["f:containers".into(), r#"k:{"name":"side"}"#.into()],
        );
        assert_eq!(t2["containers"].as_array().map(Vec::len), Some(1));
        let ports: Path = vec![
            "f:ports".into(),
            r#"k:{"containerPort":80,"protocol":"TCP"}"#.into(),
        ];
        assert_eq!(render(&ports), ".ports[containerPort=80,protocol=\"TCP\"]");
    }
}
