//! The verbs on stored objects (create, replace, patch incl. server-side
//! apply, delete), independent of HTTP: they take parsed input and return
//! the object to send back, or an `ApiError`.

use serde_json::{json, Value};

use super::kinds;
use super::managed;
use super::patch::{json_patch, merge_patch, strategic_merge_patch, JsonPatchError};
use super::resources::{namespace_type, serviceaccount_type, ResourceType, RESOURCES};
use super::selectors::Selectors;
use super::status::{success_status, ApiError, FieldError};
use super::store::{meta_str, Store};
use super::util::{new_uid, now_rfc3339, random_bytes};

/// Namespaces the real NamespaceLifecycle admission refuses to delete.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Who asks and how: the request-wide parts of a write.
pub(crate) struct Ctx<'a> {
    pub rt: &'static ResourceType,
    /// The namespace from the URL (None for cluster-scoped resources).
    pub namespace: Option<&'a str>,
    pub manager: &'a str,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PatchKind {
    Json,
    Merge,
    /// Approximated; see `patch`.
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct {
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

/// Was the object created, changed, or left as it was?
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Written {
    Created,
    Updated,
    Unchanged,
}

fn ns_of<'a>(ctx: &'a Ctx) -> &'a str {
    ctx.namespace.unwrap_or("")
}

/// Make the body's identity agree with the URL, as the apiserver's decoder
/// and REST handlers insist: apiVersion/kind of the resource, the URL's
/// namespace, and (if given) the URL's name.
fn check_identity(ctx: &Ctx, obj: &mut Value, url_name: Option<&str>) -> Result<(), ApiError> {
    let rt = ctx.rt;
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {})",
            rt.kind
        )));
    };
    let expected = rt.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {}
        Some(v) if v == expected => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({expected})"
            )))
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {}
        Some(k) if k == rt.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )))
        }
    }
    map.insert("apiVersion".into(), json!(expected));
    map.insert("kind".into(), json!(rt.kind));
    if !map.get("metadata").is_some_and(Value::is_object) {
        if map.get("metadata").is_some_and(|m| !m.is_null()) {
            return Err(ApiError::bad_request(
                "error decoding request body: metadata must be an object",
            ));
        }
        map.insert("metadata".into(), json!({}));
    }
    let meta = &mut obj["metadata"];
    for field in [
        "name",
        "namespace",
        "generateName",
        "resourceVersion",
        "uid",
    ] {
        if !meta[field].is_null() && !meta[field].is_string() {
            return Err(ApiError::bad_request(format!(
                "error decoding request body: metadata.{field} must be a string"
            )));
        }
    }
    if let Some(url_name) = url_name {
        match meta["name"].as_str() {
            None | Some("") => meta["name"] = json!(url_name),
            Some(n) if n == url_name => {}
            Some(n) => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({url_name})"
                )))
            }
        }
    }
    if rt.namespaced {
        let url_ns = ns_of(ctx);
        match meta["namespace"].as_str() {
            None | Some("") => meta["namespace"] = json!(url_ns),
            Some(n) if n == url_ns => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
        }
    } else if let Some(m) = meta.as_object_mut() {
        m.shift_remove("namespace");
    }
    Ok(())
}

/// A copy without what changes on every write even when nothing else does,
/// to tell a no-op write (which the real server does not persist) from a change.
fn comparable(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(meta) = v["metadata"].as_object_mut() {
        meta.shift_remove("resourceVersion");
        if let Some(mf) = meta.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in mf {
                if let Some(e) = e.as_object_mut() {
                    e.shift_remove("time");
                }
            }
        }
    }
    v
}

/// The common end of every write: server-owned fields, defaults,
/// validation, generation, status; then store (unless dry-run or no-op).
fn commit(
    store: &mut Store,
    ctx: &Ctx,
    old: Option<&Value>,
    mut obj: Value,
    update: bool,
) -> Result<(Value, Written), ApiError> {
    let rt = ctx.rt;
    if rt.namespaced && old.is_none() {
        match store.get(namespace_type(), "", ns_of(ctx)) {
            None => return Err(ApiError::not_found(namespace_type(), ns_of(ctx))),
            Some(n) if !n["metadata"]["deletionTimestamp"].is_null() => {
                return Err(super::admission::namespace_terminating(
                    ApiError::forbidden(
                        rt,
                        meta_str(&obj, "name"),
                        &format!(
                    "unable to create new content in namespace {} because it is being terminated",
                    ns_of(ctx)
                ),
                    ),
                    ns_of(ctx),
                ))
            }
            Some(_) => {}
        }
    }
    if old.is_none() {
        // Mutating admission webhooks: after NamespaceLifecycle, before validation.
        super::admission::admit_create(store, rt, ns_of(ctx), &obj)?;
    }
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for f in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "resourceVersion",
        ] {
            meta.shift_remove(f);
        }
    }
    if rt.has_status {
        match old.map(|o| o["status"].clone()).filter(|s| !s.is_null()) {
            Some(s) => obj["status"] = s,
            None => {
                if let Some(m) = obj.as_object_mut() {
                    m.shift_remove("status");
                }
            }
        }
    }
    if let Some(o) = old.filter(|o| is_terminating(o)) {
        let had = finalizers(o);
        let mut extra: Vec<String> = finalizers(&obj)
            .into_iter()
            .filter(|f| !had.contains(f))
            .collect();
        if !extra.is_empty() {
            extra.sort();
            extra.dedup();
            let list: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
            return Err(ApiError::invalid(
                rt,
                meta_str(o, "name"),
                &[FieldError::forbidden(
                    "metadata.finalizers",
                    format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        list.join(", ")
                    ),
                )],
            ));
        }
    }
    kinds::prepare(rt, &mut obj, old, store)?;
    if update {
        // A non-apply write: its manager owns what it changed, defaults
        // included (the real server compares defaulted typed objects).
        managed::record_update(rt, old, &mut obj, ctx.manager, &now_rfc3339());
    }
    match old {
        Some(o) => {
            obj["metadata"]["uid"] = o["metadata"]["uid"].clone();
            obj["metadata"]["creationTimestamp"] = o["metadata"]["creationTimestamp"].clone();
            obj["metadata"]["resourceVersion"] = o["metadata"]["resourceVersion"].clone();
            // Both are immutable once set (ValidateObjectMetaUpdate).
            for f in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
                if !o["metadata"][f].is_null() {
                    obj["metadata"][f] = o["metadata"][f].clone();
                }
            }
        }
        None => {
            obj["metadata"]["uid"] = json!(new_uid());
            obj["metadata"]["creationTimestamp"] = json!(now_rfc3339());
        }
    }
    if let Some(field) = kinds::generation_field(rt) {
        let generation = match old {
            Some(o) => {
                let g = o["metadata"]["generation"].as_i64().unwrap_or(1);
                if o[field] != obj[field] {
                    g + 1
                } else {
                    g
                }
            }
            None => 1,
        };
        obj["metadata"]["generation"] = json!(generation);
    }
    kinds::controller_status(rt, &mut obj, old);
    order_metadata(&mut obj);

    if let Some(o) = old {
        if comparable(o) == comparable(&obj) {
            return Ok((o.clone(), Written::Unchanged));
        }
    }
    let written = if old.is_some() {
        Written::Updated
    } else {
        Written::Created
    };
    // The store's shouldDeleteDuringUpdate: the last finalizer of an
    // object being deleted (without a pending grace period) is gone, so
    // the update deletes it; the answer is the updated object.
    if let Some(o) = old.filter(|o| is_terminating(o) && grace_elapsed(o)) {
        // Namespaces (ShouldDeleteNamespaceDuringUpdate): spec.finalizers too.
        let spec_done = rt.plural != "namespaces"
            || obj["spec"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        if finalizers(&obj).is_empty() && spec_done {
            if !ctx.dry_run {
                store.remove(rt, ns_of(ctx), meta_str(o, "name"));
            }
            return Ok((obj, Written::Updated));
        }
    }
    if ctx.dry_run {
        return Ok((obj, written));
    }
    let stored = store.put(rt, obj);
    Ok((stored, written))
}

/// Put metadata fields in the order the apiserver prints them (cosmetic,
/// but it makes `kubectl get -o yaml` look familiar).
fn order_metadata(obj: &mut Value) {
    const ORDER: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    if let Some(meta) = obj["metadata"].as_object_mut() {
        let mut sorted = serde_json::Map::new();
        for k in ORDER {
            if let Some(v) = meta.shift_remove(*k) {
                sorted.insert((*k).to_string(), v);
            }
        }
        sorted.append(meta);
        *meta = sorted;
    }
}

/// `metadata.generateName` → name, with the apiserver's 5-char suffix alphabet.
fn generate_name(obj: &mut Value) {
    let meta = &mut obj["metadata"];
    if meta["name"].as_str().is_none_or(str::is_empty) {
        if let Some(prefix) = meta["generateName"].as_str().filter(|p| !p.is_empty()) {
            const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let suffix: String = random_bytes::<5>()
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            meta["name"] = json!(format!("{prefix}{suffix}"));
        }
    }
}

pub(crate) fn get(store: &Store, ctx: &Ctx, name: &str) -> Result<Value, ApiError> {
    store
        .get(ctx.rt, ns_of(ctx), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(ctx.rt, name))
}

pub(crate) fn create(store: &mut Store, ctx: &Ctx, mut body: Value) -> Result<Value, ApiError> {
    check_identity(ctx, &mut body, None)?;
    generate_name(&mut body);
    let name = meta_str(&body, "name").to_string();
    if !name.is_empty() && store.get(ctx.rt, ns_of(ctx), &name).is_some() {
        return Err(ApiError::already_exists(ctx.rt, &name));
    }
    let (obj, _) = commit(store, ctx, None, body, true)?;
    if ctx.rt.plural == "namespaces" && !ctx.dry_run {
        create_default_service_account(store, &name);
    }
    Ok(obj)
}

/// What the service-account controller does for every new namespace.
fn create_default_service_account(store: &mut Store, namespace: &str) {
    let ctx = Ctx {
        rt: serviceaccount_type(),
        namespace: Some(namespace),
        manager: "kube-controller-manager",
        dry_run: false,
    };
    if store.get(ctx.rt, namespace, "default").is_none() {
        let body =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
        // Cannot fail: the namespace exists and the name is valid.
        let _ = create(store, &ctx, body);
    }
}

/// Bootstrap content: the namespaces and service accounts a fresh cluster has.
pub(crate) fn bootstrap(store: &mut Store) {
    for ns in ["default", "kube-system", "kube-public"] {
        let ctx = Ctx {
            rt: namespace_type(),
            namespace: None,
            manager: "kube-apiserver",
            dry_run: false,
        };
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let _ = create(store, &ctx, body);
    }
}

fn check_precondition_rv(
    ctx: &Ctx,
    name: &str,
    body: &Value,
    current: &Value,
) -> Result<(), ApiError> {
    let wanted = meta_str(body, "resourceVersion");
    if !wanted.is_empty() && wanted != meta_str(current, "resourceVersion") {
        return Err(ApiError::conflict(
            ctx.rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    Ok(())
}

/// PUT: full replacement, with optimistic concurrency when the body carries
/// a resourceVersion (unconditional otherwise, as for built-in kinds).
pub(crate) fn replace(
    store: &mut Store,
    ctx: &Ctx,
    name: &str,
    mut body: Value,
) -> Result<(Value, Written), ApiError> {
    check_identity(ctx, &mut body, Some(name))?;
    let old = store
        .get(ctx.rt, ns_of(ctx), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(ctx.rt, name))?;
    check_precondition_rv(ctx, name, &body, &old)?;
    commit(store, ctx, Some(&old), body, true)
}

fn parse_patch_doc(body: &[u8], yaml_ok: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) if !yaml_ok => Err(ApiError::bad_request(format!("error decoding patch: {e}"))),
        Err(_) => serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}"))),
    }
}

/// PATCH in all four flavours. Returns whether apply created the object.
pub(crate) fn patch(
    store: &mut Store,
    ctx: &Ctx,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    force: bool,
) -> Result<(Value, Written), ApiError> {
    let now = now_rfc3339();
    let old = store.get(ctx.rt, ns_of(ctx), name).cloned();
    if kind == PatchKind::Apply {
        let mut config = parse_patch_doc(body, true)?;
        if !config.is_object() {
            return Err(ApiError::bad_request("apply patch must be an object"));
        }
        for f in ["apiVersion", "kind"] {
            if config[f].as_str().is_none_or(str::is_empty) {
                return Err(ApiError::bad_request(format!(
                    "invalid object: {f} must be set"
                )));
            }
        }
        if !config["metadata"]["managedFields"].is_null() {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        check_identity(ctx, &mut config, Some(name))?;
        if let Some(o) = &old {
            check_precondition_rv(ctx, name, &config, o)?;
        }
        if let Some(meta) = config["metadata"].as_object_mut() {
            meta.shift_remove("resourceVersion");
        }
        let merged = managed::apply(ctx.rt, old.as_ref(), &config, ctx.manager, force, &now)
            .map_err(|e| match e {
                managed::ApplyError::Conflicts(c) => ApiError::apply_conflict(&c),
                managed::ApplyError::Schema(why) => {
                    ApiError::typed_patch(ctx.rt, ns_of(ctx), name, &why)
                }
            })?;
        let created = old.is_none();
        let out = commit(store, ctx, old.as_ref(), merged, false)?;
        if created && ctx.rt.plural == "namespaces" && !ctx.dry_run {
            create_default_service_account(store, name);
        }
        return Ok(out);
    }
    let old = old.ok_or_else(|| ApiError::not_found(ctx.rt, name))?;
    let doc = parse_patch_doc(body, false)?;
    let mut patched = match kind {
        PatchKind::Json => json_patch(&old, &doc).map_err(|e| match e {
            JsonPatchError::Malformed(m) => ApiError::bad_request(m),
            JsonPatchError::Failed(m) => ApiError::unprocessable(m),
        })?,
        _ => {
            if !doc.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            let mut t = old.clone();
            if kind == PatchKind::Strategic {
                strategic_merge_patch(&mut t, &doc);
            } else {
                merge_patch(&mut t, &doc);
            }
            t
        }
    };
    check_identity(ctx, &mut patched, Some(name))?;
    // A patch that sets resourceVersion is a precondition on it.
    check_precondition_rv(ctx, name, &patched, &old)?;
    commit(store, ctx, Some(&old), patched, true)
}

/// The finalizer the garbage collector honours to delete dependents first.
pub(crate) const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// The finalizer the garbage collector honours to orphan dependents.
pub(crate) const ORPHAN_FINALIZER: &str = "orphan";

/// `DeleteOptions.propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            "Orphan" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

/// What DeleteOptions can ask for.
#[derive(Debug, Default, Clone)]
pub(crate) struct DeleteOptions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub propagation: Option<Propagation>,
    /// The deprecated `orphanDependents`.
    pub orphan_dependents: Option<bool>,
    pub grace_period: Option<i64>,
}

impl DeleteOptions {
    pub fn with_propagation(p: Propagation) -> Self {
        DeleteOptions {
            propagation: Some(p),
            ..Default::default()
        }
    }

    /// From the body when there is one, else from the query parameters (as
    /// the apiserver's delete handler does), validated like
    /// `ValidateDeleteOptions`.
    pub fn parse(
        body: &Value,
        query: &std::collections::HashMap<String, String>,
    ) -> Result<Self, ApiError> {
        let bad_request = |m: String| ApiError::bad_request(m);
        let (propagation, orphan, grace) = if body.is_object() {
            let pp = match &body["propagationPolicy"] {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => {
                    return Err(bad_request(format!(
                        "json: cannot unmarshal {other} into Go struct field DeleteOptions.propagationPolicy of type v1.DeletionPropagation"
                    )))
                }
            };
            let orphan = match &body["orphanDependents"] {
                Value::Null => None,
                Value::Bool(b) => Some(*b),
                other => {
                    return Err(bad_request(format!(
                        "json: cannot unmarshal {other} into Go struct field DeleteOptions.orphanDependents of type bool"
                    )))
                }
            };
            let grace = match &body["gracePeriodSeconds"] {
                Value::Null => None,
                v => Some(v.as_i64().ok_or_else(|| {
                    bad_request(format!(
                        "json: cannot unmarshal {v} into Go struct field DeleteOptions.gracePeriodSeconds of type int64"
                    ))
                })?),
            };
            (pp, orphan, grace)
        } else {
            let pp = query.get("propagationPolicy").cloned();
            let orphan = match query.get("orphanDependents").map(String::as_str) {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(o) => {
                    return Err(bad_request(format!(
                        "strconv.ParseBool: parsing {o:?}: invalid syntax"
                    )))
                }
            };
            let grace = match query.get("gracePeriodSeconds") {
                None => None,
                Some(g) => Some(g.parse::<i64>().map_err(|_| {
                    bad_request(format!("strconv.ParseInt: parsing {g:?}: invalid syntax"))
                })?),
            };
            (pp, orphan, grace)
        };
        let mut errors = Vec::new();
        if orphan.is_some() && propagation.is_some() {
            errors.push(FieldError::invalid(
                "propagationPolicy",
                json!(propagation),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        let parsed = match propagation.as_deref() {
            None => None,
            Some(p) => match Propagation::parse(p) {
                Some(p) => Some(p),
                None => {
                    errors.push(FieldError::not_supported(
                        "propagationPolicy",
                        json!(p),
                        &["Foreground", "Background", "Orphan", "nil"],
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(ApiError::invalid_kind(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                &errors,
            ));
        }
        let pre = &body["preconditions"];
        Ok(DeleteOptions {
            uid: pre["uid"].as_str().map(str::to_string),
            resource_version: pre["resourceVersion"].as_str().map(str::to_string),
            propagation: parsed,
            orphan_dependents: orphan,
            // Negative values mean 1 s on the delete path.
            grace_period: grace.map(|g| if g < 0 { 1 } else { g }),
        })
    }
}

/// `metadata.finalizers` as strings.
pub(crate) fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Set `metadata.finalizers` (dropping the field when empty, as omitempty does).
pub(crate) fn set_finalizers(obj: &mut Value, fins: &[String]) {
    if fins.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.shift_remove("finalizers");
        }
    } else {
        obj["metadata"]["finalizers"] = json!(fins);
    }
}

pub(crate) fn is_terminating(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// No grace period pending: `deletionGracePeriodSeconds` unset or 0.
pub(crate) fn grace_elapsed(obj: &Value) -> bool {
    obj["metadata"]["deletionGracePeriodSeconds"]
        .as_i64()
        .is_none_or(|g| g == 0)
}

/// `deletionFinalizersForGarbageCollection`: the finalizers after a delete
/// with these options (the GC ones replaced as the options say).
fn gc_finalizers(obj: &Value, opts: &DeleteOptions) -> Vec<String> {
    let current = finalizers(obj);
    let has = |f: &str| {
        current
            .iter()
            .find(|c| *c == ORPHAN_FINALIZER || *c == FOREGROUND_FINALIZER)
            .is_some_and(|c| c == f)
    };
    let (orphan, foreground) = match (opts.orphan_dependents, opts.propagation) {
        (Some(o), _) => (o, false),
        (None, Some(Propagation::Orphan)) => (true, false),
        (None, Some(Propagation::Foreground)) => (false, true),
        (None, Some(Propagation::Background)) => (false, false),
        // No explicit policy: a GC finalizer already there decides; the
        // default policy of every kind served here is background.
        (None, None) => (has(ORPHAN_FINALIZER), has(FOREGROUND_FINALIZER)),
    };
    let mut out: Vec<String> = current
        .iter()
        .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
        .cloned()
        .collect();
    if orphan {
        out.push(ORPHAN_FINALIZER.to_string());
    }
    if foreground {
        out.push(FOREGROUND_FINALIZER.to_string());
    }
    let same = {
        let mut a = current.clone();
        let mut b = out.clone();
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        a == b
    };
    if same {
        current
    } else {
        out
    }
}

/// RFC 3339 (seconds) `secs` from now.
fn rfc3339_in(secs: i64) -> String {
    super::util::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::seconds(secs.max(0)))
}

/// What a DELETE answered, and whether the object is gone.
#[derive(Debug)]
pub(crate) struct Deleted {
    pub answer: Value,
    pub removed: bool,
}

/// DELETE of one object, as the generic registry store does it: graceful
/// deletion for Pods (`deletionTimestamp` in the future, the kubelet
/// removes it), finalizers (incl. the garbage collector's `orphan` and
/// `foregroundDeletion`, added from the propagation policy) keep the object
/// with `deletionTimestamp` set; otherwise it is removed at once.
pub(crate) fn delete(
    store: &mut Store,
    ctx: &Ctx,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let rt = ctx.rt;
    let old = store
        .get(rt, ns_of(ctx), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))?;
    let uid = meta_str(&old, "uid").to_string();
    if let Some(want) = &opts.uid {
        if *want != uid {
            return Err(ApiError::conflict(
                rt,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
    }
    if let Some(want) = &opts.resource_version {
        let have = meta_str(&old, "resourceVersion");
        if want != have {
            return Err(ApiError::conflict(rt, name, &format!(
                "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {have}"
            )));
        }
    }
    if rt.plural == "namespaces" {
        if PROTECTED_NAMESPACES.contains(&name) {
            return Err(ApiError::forbidden(
                rt,
                name,
                "this namespace may not be deleted",
            ));
        }
        if is_terminating(&old) {
            return Err(ApiError::conflict(rt, name, "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."));
        }
        // Like the real one, the namespace goes Terminating first; the
        // namespace controller finishes the job later with
        // `finalize_namespace` (see `controller`).
        let mut terminating = old;
        terminating["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
        terminating["status"]["phase"] = json!("Terminating");
        order_metadata(&mut terminating);
        if ctx.dry_run {
            return Ok(Deleted {
                answer: terminating,
                removed: false,
            });
        }
        return Ok(Deleted {
            answer: store.put(rt, terminating),
            removed: false,
        });
    }
    // Pods are the one kind here with graceful deletion; their registry
    // answers with the object (ReturnDeletedObject), the others with a Status.
    let graceful_kind = rt.group.is_empty() && rt.plural == "pods";
    let gone_answer = |obj: &Value| {
        if graceful_kind {
            obj.clone()
        } else {
            success_status(rt, name, &uid)
        }
    };
    let mut obj = old.clone();
    let mut graceful = false;
    let mut grace = 0;
    if graceful_kind {
        // rest.BeforeDelete with the pod strategy's CheckGracefulDelete.
        if is_terminating(&obj) {
            if let Some(current) = obj["metadata"]["deletionGracePeriodSeconds"]
                .as_i64()
                .filter(|g| *g > 0)
            {
                match opts.grace_period {
                    // Only a shorter grace period may be asked for.
                    Some(p) if p < current => {
                        obj["metadata"]["deletionTimestamp"] = json!(rfc3339_in(p));
                        obj["metadata"]["deletionGracePeriodSeconds"] = json!(p);
                        graceful = true;
                        grace = p;
                    }
                    // Graceful deletion already pending: nothing changes.
                    _ => {
                        return Ok(Deleted {
                            answer: old,
                            removed: false,
                        })
                    }
                }
            }
        } else {
            let mut period = opts
                .grace_period
                .or_else(|| obj["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(0);
            let phase = obj["status"]["phase"].as_str().unwrap_or("");
            if obj["spec"]["nodeName"].as_str().is_none_or(str::is_empty)
                || phase == "Failed"
                || phase == "Succeeded"
            {
                period = 0; // never scheduled, or done: delete at once
            }
            obj["metadata"]["deletionTimestamp"] = json!(rfc3339_in(period));
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(period);
            if let Some(g) = obj["metadata"]["generation"].as_i64().filter(|g| *g > 0) {
                obj["metadata"]["generation"] = json!(g + 1);
            }
            graceful = true;
            grace = period;
        }
    }
    let fins = gc_finalizers(&obj, opts);
    set_finalizers(&mut obj, &fins);
    let pending_finalizers = !fins.is_empty();
    let delete_now = if graceful {
        !pending_finalizers && grace == 0
    } else if pending_finalizers {
        mark_as_deleting(&mut obj);
        false
    } else {
        true
    };
    if delete_now {
        if !ctx.dry_run {
            store.remove(rt, ns_of(ctx), name);
        }
        return Ok(Deleted {
            answer: gone_answer(&obj),
            removed: true,
        });
    }
    order_metadata(&mut obj);
    if comparable(&obj) == comparable(&old) || ctx.dry_run {
        // A repeated DELETE changes nothing (and writes nothing).
        return Ok(Deleted {
            answer: obj,
            removed: false,
        });
    }
    Ok(Deleted {
        answer: store.put(rt, obj),
        removed: false,
    })
}

/// The store's markAsDeleting: `deletionTimestamp` now (kept if already
/// set and not later), `deletionGracePeriodSeconds: 0`, and the first time
/// a generation bump.
fn mark_as_deleting(obj: &mut Value) {
    let now = now_rfc3339();
    let meta = &mut obj["metadata"];
    match meta["deletionTimestamp"].as_str() {
        None => {
            if let Some(g) = meta["generation"].as_i64().filter(|g| *g > 0) {
                meta["generation"] = json!(g + 1);
            }
            meta["deletionTimestamp"] = json!(now);
        }
        Some(t) if t > now.as_str() => meta["deletionTimestamp"] = json!(now),
        Some(_) => {}
    }
    meta["deletionGracePeriodSeconds"] = json!(0);
}

/// The namespace controller's part of a namespace deletion: delete
/// everything in it (with background propagation; Pods gracefully), and
/// once nothing is left (finalizers and terminating Pods hold it), remove
/// the namespace itself. Returns whether the namespace is gone.
pub(crate) fn finalize_namespace(store: &mut Store, name: &str) -> bool {
    let ns_type = namespace_type();
    let terminating = store.get(ns_type, "", name).is_some_and(is_terminating);
    if !terminating {
        return store.get(ns_type, "", name).is_none();
    }
    let mut remaining = false;
    for inner in RESOURCES.iter().filter(|r| r.namespaced) {
        let names: Vec<(String, bool)> = store
            .list(inner, Some(name))
            .iter()
            .map(|o| (meta_str(o, "name").to_string(), is_terminating(o)))
            .collect();
        for (n, already) in names {
            if !already {
                let ctx = Ctx {
                    rt: inner,
                    namespace: Some(name),
                    manager: "namespace-controller",
                    dry_run: false,
                };
                let _ = delete(
                    store,
                    &ctx,
                    &n,
                    &DeleteOptions::with_propagation(Propagation::Background),
                );
            }
            remaining |= store.get(inner, name, &n).is_some();
        }
    }
    if remaining {
        return false;
    }
    // Empty: the controller finalizes it (spec.finalizers emptied); metadata
    // finalizers still hold it until a write removes them.
    let Some(mut ns) = store.get(ns_type, "", name).cloned() else {
        return true;
    };
    if !finalizers(&ns).is_empty() {
        if ns["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            ns["spec"]["finalizers"] = json!([]);
            store.put(ns_type, ns);
        }
        return false;
    }
    store.remove(ns_type, "", name);
    true
}

/// DELETE on a collection: removes what the selectors match, answers with
/// the list of what was removed.
pub(crate) fn delete_collection(
    store: &mut Store,
    ctx: &Ctx,
    sel: &Selectors,
    opts: &DeleteOptions,
) -> Result<Value, ApiError> {
    let names: Vec<(String, String)> = store
        .list(ctx.rt, ctx.namespace)
        .into_iter()
        .filter(|o| sel.matches(o))
        .map(|o| {
            (
                meta_str(o, "namespace").to_string(),
                meta_str(o, "name").to_string(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (ns, n) in names {
        let sub = Ctx {
            rt: ctx.rt,
            namespace: if ctx.rt.namespaced { Some(&ns) } else { None },
            manager: ctx.manager,
            dry_run: ctx.dry_run,
        };
        // The answer is the list as it was before the deletes.
        if let Some(o) = store.get(ctx.rt, &ns, &n).cloned() {
            delete(store, &sub, &n, opts)?;
            items.push(o);
        }
    }
    Ok(
        json!({"kind": ctx.rt.list_kind(), "apiVersion": ctx.rt.api_version(),
              "metadata": {"resourceVersion": store.current_rv().to_string()}, "items": items}),
    )
}

#[cfg(test)]
mod tests {
    use super::super::resources::lookup;
    use super::*;

    fn store() -> Store {
        let mut s = Store::new();
        bootstrap(&mut s);
        s
    }

    fn ctx<'a>(group: &str, plural: &str, ns: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            rt: lookup(group, "v1", plural).expect("type"),
            namespace: ns,
            manager: "test",
            dry_run: false,
        }
    }

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    }

    #[test]
    fn bootstrap_has_namespaces_and_default_service_accounts() {
        let s = store();
        for ns in ["default", "kube-system", "kube-public"] {
            assert!(s.namespace_exists(ns));
        }
        let sa = serviceaccount_type();
        assert!(s.get(sa, "default", "default").is_some());
        assert!(s.get(sa, "kube-system", "default").is_some());
    }

    #[test]
    fn create_get_conflict_and_generation() {
        let mut s = store();
        let c = ctx("apps", "deployments", Some("default"));
        let d = create(&mut s, &c, deployment("web", 2)).expect("create");
        assert_eq!(d["metadata"]["generation"], 1);
        assert_eq!(
            d["status"],
            json!({}),
            "the controller fills status in later"
        );
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        let e = create(&mut s, &c, deployment("web", 2)).expect_err("exists");
        assert_eq!((e.code, e.reason), (409, "AlreadyExists"));

        // Stale resourceVersion on PUT → 409 Conflict.
        let mut stale = deployment("web", 3);
        stale["metadata"]["resourceVersion"] = json!("1");
        let e = replace(&mut s, &c, "web", stale).expect_err("conflict");
        assert_eq!((e.code, e.reason), (409, "Conflict"));

        let mut fresh = deployment("web", 3);
        fresh["metadata"]["resourceVersion"] = d["metadata"]["resourceVersion"].clone();
        let (u, w) = replace(&mut s, &c, "web", fresh).expect("replace");
        assert_eq!(w, Written::Updated);
        assert_eq!(u["metadata"]["generation"], 2);
        assert_eq!(u["metadata"]["uid"], d["metadata"]["uid"]);
        let rv = |v: &Value| meta_str(v, "resourceVersion").parse::<u64>().expect("rv");
        assert!(rv(&u) > rv(&d));
    }

    #[test]
    fn apply_is_idempotent_and_noop_keeps_resource_version() {
        let mut s = store();
        let c = ctx("apps", "deployments", Some("default"));
        let body = serde_json::to_vec(&deployment("web", 1)).expect("json");
        let (a, w) = patch(&mut s, &c, "web", PatchKind::Apply, &body, false).expect("apply");
        assert_eq!(w, Written::Created);
        let (b, w) = patch(&mut s, &c, "web", PatchKind::Apply, &body, false).expect("apply");
        assert_eq!(w, Written::Unchanged);
        assert_eq!(
            a["metadata"]["resourceVersion"],
            b["metadata"]["resourceVersion"]
        );
        let yaml = serde_yaml::to_string(&deployment("web", 4)).expect("yaml");
        let (c2, w) =
            patch(&mut s, &c, "web", PatchKind::Apply, yaml.as_bytes(), false).expect("apply yaml");
        assert_eq!(w, Written::Updated);
        assert_eq!(c2["spec"]["replicas"], 4);
        // Dropping fields from the same manager's config removes them (and
        // here that makes the object invalid, as on a real server).
        let partial =
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 4\n";
        let e = patch(
            &mut s,
            &c,
            "web",
            PatchKind::Apply,
            partial.as_bytes(),
            false,
        )
        .expect_err("selector removed");
        assert_eq!(e.code, 422);
        // Another manager setting only replicas conflicts with the owner.
        let other = Ctx {
            manager: "other",
            ..ctx("apps", "deployments", Some("default"))
        };
        let e = patch(
            &mut s,
            &other,
            "web",
            PatchKind::Apply,
            partial.as_bytes(),
            false,
        )
        .expect("same value: shared");
        assert_eq!(e.0["spec"]["replicas"], 4);
        let five = partial.replace("replicas: 4", "replicas: 5");
        let e = patch(
            &mut s,
            &other,
            "web",
            PatchKind::Apply,
            five.as_bytes(),
            false,
        )
        .expect_err("conflict");
        assert_eq!((e.code, e.reason), (409, "Conflict"));
        assert!(
            e.message.contains("conflict with \"test\""),
            "{}",
            e.message
        );
        let (f, _) = patch(
            &mut s,
            &other,
            "web",
            PatchKind::Apply,
            five.as_bytes(),
            true,
        )
        .expect("forced");
        assert_eq!(f["spec"]["replicas"], 5);
    }

    #[test]
    fn validation_and_namespace_checks() {
        let mut s = store();
        let c = ctx("", "configmaps", Some("nope"));
        let e = create(&mut s, &c, json!({"metadata": {"name": "x"}})).expect_err("no ns");
        assert_eq!(e.code, 404);
        assert_eq!(e.message, "namespaces \"nope\" not found");
        let c = ctx("", "configmaps", Some("default"));
        let e = create(&mut s, &c, json!({"metadata": {"name": "Bad_Name"}})).expect_err("invalid");
        assert_eq!((e.code, e.reason), (422, "Invalid"));
        let e = create(
            &mut s,
            &c,
            json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        )
        .expect_err("wrong apiVersion");
        assert_eq!(e.code, 400);
        let c = ctx("rbac.authorization.k8s.io", "clusterroles", None);
        create(
            &mut s,
            &c,
            json!({"metadata": {"name": "system:irsa-webhook"}, "rules": []}),
        )
        .expect("colon names are fine for RBAC");
    }

    #[test]
    fn namespace_delete_removes_contents_and_protects_system_namespaces() {
        let mut s = store();
        let c = ctx("", "namespaces", None);
        create(&mut s, &c, json!({"metadata": {"name": "team"}})).expect("ns");
        let cm = ctx("", "configmaps", Some("team"));
        create(&mut s, &cm, json!({"metadata": {"name": "x"}})).expect("cm");
        assert!(s.get(serviceaccount_type(), "team", "default").is_some());
        let t = delete(&mut s, &c, "team", &DeleteOptions::default()).expect("delete");
        assert_eq!(t.answer["status"]["phase"], "Terminating");
        // Terminating: contents still there, nothing new may be created.
        assert!(s.get(cm.rt, "team", "x").is_some());
        let e = create(&mut s, &cm, json!({"metadata": {"name": "y"}})).expect_err("terminating");
        assert_eq!(e.code, 403);
        let e =
            delete(&mut s, &c, "team", &DeleteOptions::default()).expect_err("already terminating");
        assert_eq!(e.code, 409);
        finalize_namespace(&mut s, "team");
        assert!(!s.namespace_exists("team"));
        assert!(s.get(cm.rt, "team", "x").is_none());
        assert!(s.get(serviceaccount_type(), "team", "default").is_none());
        // A finalizer on the namespace itself holds it once it is empty;
        // a label change does not remove it, emptying the finalizers does.
        create(
            &mut s,
            &c,
            json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
        )
        .expect("ns");
        delete(&mut s, &c, "held", &DeleteOptions::default()).expect("delete");
        assert!(!finalize_namespace(&mut s, "held"));
        let n = s.get(c.rt, "", "held").expect("held").clone();
        assert_eq!(n["spec"]["finalizers"], json!([]));
        patch(
            &mut s,
            &c,
            "held",
            PatchKind::Merge,
            br#"{"metadata":{"labels":{"a":"b"}}}"#,
            false,
        )
        .expect("label");
        assert!(s.namespace_exists("held"));
        patch(
            &mut s,
            &c,
            "held",
            PatchKind::Merge,
            br#"{"metadata":{"finalizers":null}}"#,
            false,
        )
        .expect("unhold");
        assert!(!s.namespace_exists("held"));
        let e =
            delete(&mut s, &c, "kube-system", &DeleteOptions::default()).expect_err("protected");
        assert_eq!(e.code, 403);
    }

    fn opts(p: Propagation) -> DeleteOptions {
        DeleteOptions::with_propagation(p)
    }

    #[test]
    fn finalizers_hold_a_deleted_object_until_an_update_empties_them() {
        let mut s = store();
        let c = ctx("", "configmaps", Some("default"));
        create(
            &mut s,
            &c,
            json!({"metadata": {"name": "x", "finalizers": ["example.com/hold"]}}),
        )
        .expect("cm");
        let d = delete(&mut s, &c, "x", &DeleteOptions::default()).expect("delete");
        assert!(!d.removed);
        let stamp = d.answer["metadata"]["deletionTimestamp"].clone();
        assert!(stamp.is_string(), "{}", d.answer);
        assert_eq!(d.answer["metadata"]["deletionGracePeriodSeconds"], 0);
        assert_eq!(
            d.answer["metadata"]["finalizers"],
            json!(["example.com/hold"])
        );
        let rv = s.current_rv();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let again = delete(&mut s, &c, "x", &DeleteOptions::default()).expect("again");
        assert_eq!(
            again.answer["metadata"]["deletionTimestamp"], stamp,
            "not moved"
        );
        assert_eq!(s.current_rv(), rv, "a repeated DELETE writes nothing");
        // Terminating: the name is still taken.
        let e = create(&mut s, &c, json!({"metadata": {"name": "x"}})).expect_err("exists");
        assert_eq!((e.code, e.reason), (409, "AlreadyExists"));
        // No new finalizers while being deleted.
        let e = patch(
            &mut s,
            &c,
            "x",
            PatchKind::Merge,
            br#"{"metadata":{"finalizers":["example.com/hold","example.com/other"]}}"#,
            false,
        )
        .expect_err("new finalizer");
        assert_eq!((e.code, e.reason), (422, "Invalid"));
        assert_eq!(
            e.message,
            r#"ConfigMap "x" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/other"}"#
        );
        // Other changes are fine; deletionTimestamp cannot be changed.
        let (o, _) = patch(
            &mut s,
            &c,
            "x",
            PatchKind::Merge,
            br#"{"metadata":{"deletionTimestamp":null,"labels":{"a":"b"}},"data":{"k":"v"}}"#,
            false,
        )
        .expect("patch");
        assert_eq!(o["metadata"]["deletionTimestamp"], stamp);
        assert!(s.get(c.rt, "default", "x").is_some());
        // Emptying the finalizers removes it.
        let (o, _) = patch(
            &mut s,
            &c,
            "x",
            PatchKind::Merge,
            br#"{"metadata":{"finalizers":null}}"#,
            false,
        )
        .expect("patch");
        assert!(o["metadata"]["finalizers"].is_null());
        assert!(
            s.get(c.rt, "default", "x").is_none(),
            "removed by the update"
        );
    }

    #[test]
    fn foreground_and_orphan_add_their_finalizer_and_bump_generation() {
        let mut s = store();
        let c = ctx("apps", "deployments", Some("default"));
        create(&mut s, &c, deployment("fg", 1)).expect("d");
        let d = delete(&mut s, &c, "fg", &opts(Propagation::Foreground)).expect("delete");
        assert!(!d.removed);
        assert_eq!(
            d.answer["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
        assert_eq!(d.answer["metadata"]["generation"], 2);
        assert!(d.answer["metadata"]["deletionTimestamp"].is_string());
        // A later background delete takes the finalizer off, and with no
        // finalizer left the object goes.
        let d = delete(&mut s, &c, "fg", &opts(Propagation::Background)).expect("background");
        assert!(d.removed);
        assert_eq!(d.answer["kind"], "Status");
        assert!(s.get(c.rt, "default", "fg").is_none());

        create(&mut s, &c, deployment("or", 1)).expect("d");
        let legacy = DeleteOptions {
            orphan_dependents: Some(true),
            ..Default::default()
        };
        let d = delete(&mut s, &c, "or", &legacy).expect("orphan");
        assert_eq!(d.answer["metadata"]["finalizers"], json!(["orphan"]));
        // Dry run: nothing stored.
        create(&mut s, &c, deployment("dry", 1)).expect("d");
        let dry = Ctx {
            dry_run: true,
            ..ctx("apps", "deployments", Some("default"))
        };
        let d = delete(&mut s, &dry, "dry", &opts(Propagation::Foreground)).expect("dry");
        assert!(d.answer["metadata"]["deletionTimestamp"].is_string());
        assert!(!is_terminating(
            s.get(c.rt, "default", "dry").expect("kept")
        ));
    }

    #[test]
    fn delete_options_from_body_or_query_and_their_validation() {
        let q = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let o = DeleteOptions::parse(
            &json!({"propagationPolicy": "Foreground", "gracePeriodSeconds": -5,
                    "preconditions": {"uid": "u"}}),
            &q(&[("propagationPolicy", "Orphan")]),
        )
        .expect("body");
        assert_eq!(o.propagation, Some(Propagation::Foreground), "body wins");
        assert_eq!(o.grace_period, Some(1), "negative means 1");
        assert_eq!(o.uid.as_deref(), Some("u"));
        let o = DeleteOptions::parse(
            &Value::Null,
            &q(&[("propagationPolicy", "Orphan"), ("gracePeriodSeconds", "0")]),
        )
        .expect("query");
        assert_eq!(
            (o.propagation, o.grace_period),
            (Some(Propagation::Orphan), Some(0))
        );
        let e = DeleteOptions::parse(&json!({"propagationPolicy": "Sideways"}), &q(&[]))
            .expect_err("bad policy");
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains(r#"propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil""#),
            "{}",
            e.message
        );
        let e = DeleteOptions::parse(
            &json!({"propagationPolicy": "Orphan", "orphanDependents": true}),
            &q(&[]),
        )
        .expect_err("both");
        assert!(e
            .message
            .contains("orphanDependents and deletionPropagation cannot be both set"));
    }

    #[test]
    fn pods_on_a_node_are_deleted_gracefully() {
        let mut s = store();
        let c = ctx("", "pods", Some("default"));
        let pod = |name: &str, node: bool| {
            let mut p = json!({"metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "i"}]}});
            if node {
                p["spec"]["nodeName"] = json!("fake-node-1");
            }
            p
        };
        create(&mut s, &c, pod("pending", false)).expect("pod");
        let d = delete(&mut s, &c, "pending", &DeleteOptions::default()).expect("delete");
        assert!(d.removed, "never scheduled: deleted at once");
        assert_eq!(d.answer["kind"], "Pod", "pods answer with the object");
        create(&mut s, &c, pod("running", true)).expect("pod");
        let d = delete(&mut s, &c, "running", &DeleteOptions::default()).expect("delete");
        assert!(!d.removed);
        assert_eq!(d.answer["metadata"]["deletionGracePeriodSeconds"], 30);
        let rv = s.current_rv();
        let d = delete(&mut s, &c, "running", &DeleteOptions::default()).expect("pending");
        assert_eq!(s.current_rv(), rv);
        assert_eq!(d.answer["metadata"]["deletionGracePeriodSeconds"], 30);
        let now = DeleteOptions {
            grace_period: Some(0),
            ..Default::default()
        };
        let d = delete(&mut s, &c, "running", &now).expect("force");
        assert!(d.removed);
        assert!(s.get(c.rt, "default", "running").is_none());
    }

    #[test]
    fn dry_run_changes_nothing() {
        let mut s = store();
        let rv = s.current_rv();
        let c = Ctx {
            dry_run: true,
            ..ctx("", "configmaps", Some("default"))
        };
        let o = create(&mut s, &c, json!({"metadata": {"name": "x"}})).expect("dry-run");
        assert_eq!(o["metadata"]["name"], "x");
        assert_eq!(s.current_rv(), rv);
        assert!(s.get(c.rt, "default", "x").is_none());
    }

    #[test]
    fn secret_string_data_becomes_data() {
        let mut s = store();
        let c = ctx("", "secrets", Some("default"));
        let o = create(
            &mut s,
            &c,
            json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}}),
        )
        .expect("secret");
        assert_eq!(o["data"]["k"], "dg==");
        assert_eq!(o["type"], "Opaque");
        assert!(o.get("stringData").is_none());
    }
}
