//! Mutating admission webhooks, as kube-apiserver's `MutatingAdmissionWebhook`
//! plugin calls them on a CREATE, minus the call itself.
//!
//! There is no webhook server behind the fake, so only *reachability* is
//! modelled, which is what makes ordering bugs visible (a
//! MutatingWebhookConfiguration with `failurePolicy: Fail` installed before
//! the Deployment that serves it blocks every matching Pod):
//!
//! - a webhook with `clientConfig.service` is reachable when the Service
//!   exists, has a port equal to `clientConfig.service.port`, and at least
//!   one Pod in its namespace that matches its `spec.selector` is Ready
//!   (the endpoints the real apiserver's endpoint resolver would find);
//!   otherwise the call fails with the resolver's own words
//!   (`service "x" not found`, `no service port 443 found for service "x"`,
//!   `no endpoints available for service "x"`);
//! - a webhook with `clientConfig.url` is never reachable (the call times
//!   out: `context deadline exceeded`).
//!
//! A reachable webhook answers "allowed, no patch" (its mutation is not
//! emulated). An unreachable one with `failurePolicy: Ignore` is skipped
//! (the real apiserver only logs it); with `Fail` the request is refused
//! with the real `500 InternalError`:
//! `Internal error occurred: failed calling webhook "<name>": failed to call
//! webhook: Post "https://<svc>.<ns>.svc:<port><path>?timeout=<t>s": <why>`.
//!
//! Webhooks are matched as upstream does: configurations in name order,
//! webhooks in their order; `rules` (operations, apiGroups, apiVersions,
//! resources incl. `*` and `<res>/*`, scope), `namespaceSelector` (the
//! namespace's labels; not applied to cluster-scoped objects other than
//! Namespaces) and `objectSelector` (the object's labels). The
//! admissionregistration resources themselves are exempt, as upstream.
//! `matchConditions` (CEL) are not evaluated: a webhook with them is
//! treated as matching.

use serde_json::{json, Value};

use super::controller::record_event;
use super::resources::{known, ResourceType};
use super::status::ApiError;
use super::store::{meta_str, Store};
use super::util::now_rfc3339;

fn mwc_type() -> &'static ResourceType {
    known(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    )
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Does one `rules[]` entry of a webhook cover a CREATE of `rt`?
fn rule_matches(rule: &Value, rt: &ResourceType, operation: &str) -> bool {
    let ops = strings(&rule["operations"]);
    let groups = strings(&rule["apiGroups"]);
    let versions = strings(&rule["apiVersions"]);
    let resources = strings(&rule["resources"]);
    let op_ok = ops.iter().any(|o| *o == "*" || *o == operation);
    let group_ok = groups.iter().any(|g| *g == "*" || *g == rt.group);
    let version_ok = versions.iter().any(|v| *v == "*" || *v == rt.version);
    // Upstream's splitResource: "pods" is ("pods", ""), "pods/*" is
    // ("pods", "*") and matches the main resource too, "*/*" everything.
    let resource_ok = resources.iter().any(|r| {
        let (res, sub) = r.split_once('/').unwrap_or((r, ""));
        (res == "*" || res == rt.plural) && (sub == "*" || sub.is_empty())
    });
    let scope_ok = match rule["scope"].as_str().unwrap_or("*") {
        "Cluster" => !rt.namespaced,
        "Namespaced" => rt.namespaced,
        _ => true,
    };
    op_ok && group_ok && version_ok && resource_ok && scope_ok
}

/// A `metav1.LabelSelector` (matchLabels, matchExpressions) against labels.
/// An empty or absent selector matches everything.
pub(crate) fn label_selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let exprs_ok = selector["matchExpressions"].as_array().is_none_or(|es| {
        es.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or("");
            let values = strings(&e["values"]);
            let have = label(key);
            match e["operator"].as_str().unwrap_or("") {
                "In" => have.is_some_and(|h| values.contains(&h)),
                "NotIn" => !have.is_some_and(|h| values.contains(&h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        })
    });
    labels_ok && exprs_ok
}

/// Is the Pod Ready (a ready endpoint of any Service selecting it)?
fn pod_ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// What the endpoint resolver says about `namespace/name:port`: `Ok` when
/// it has a ready endpoint, else the resolver's error text.
fn resolve_service(store: &Store, namespace: &str, name: &str, port: i64) -> Result<(), String> {
    let Some(svc) = store.get(known("", "services"), namespace, name) else {
        return Err(format!("service \"{name}\" not found"));
    };
    let ty = svc["spec"]["type"].as_str().unwrap_or("ClusterIP");
    if !matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer") {
        return Err(format!("unsupported service type \"{ty}\""));
    }
    let has_port = svc["spec"]["ports"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["port"].as_i64() == Some(port)));
    if !has_port {
        return Err(format!(
            "no service port {port} found for service \"{name}\""
        ));
    }
    let no_endpoints = || format!("no endpoints available for service \"{name}\"");
    // A Service without a selector has only the endpoints someone writes
    // by hand; the fake serves no Endpoints, so it has none.
    let Some(selector) = svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
    else {
        return Err(no_endpoints());
    };
    let ready = store
        .list(known("", "pods"), Some(namespace))
        .into_iter()
        .any(|p| {
            let labels = &p["metadata"]["labels"];
            selector
                .iter()
                .all(|(k, v)| labels.get(k).and_then(Value::as_str) == v.as_str())
                && pod_ready(p)
        });
    if ready {
        Ok(())
    } else {
        Err(no_endpoints())
    }
}

/// Call one webhook (that matched): `Ok` if it answered, else the
/// `ErrCallingWebhook` text (`failed calling webhook ...`).
fn call(store: &Store, hook: &Value) -> Result<(), String> {
    let name = hook["name"].as_str().unwrap_or("");
    let timeout = hook["timeoutSeconds"].as_i64().unwrap_or(10);
    let cc = &hook["clientConfig"];
    let (url, outcome) = if let Some(svc) = cc["service"].as_object() {
        let ns = svc.get("namespace").and_then(Value::as_str).unwrap_or("");
        let svc_name = svc.get("name").and_then(Value::as_str).unwrap_or("");
        let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
        let path = svc.get("path").and_then(Value::as_str).unwrap_or("");
        let path = if path.is_empty() { "/" } else { path };
        (
            format!("https://{svc_name}.{ns}.svc:{port}{path}"),
            resolve_service(store, ns, svc_name, port),
        )
    } else {
        let url = cc["url"].as_str().unwrap_or("").to_string();
        (url, Err("context deadline exceeded".to_string()))
    };
    outcome.map_err(|why| {
        format!(
            "failed calling webhook \"{name}\": failed to call webhook: Post \"{url}?timeout={timeout}s\": {why}"
        )
    })
}

/// The MutatingAdmissionWebhook plugin for a CREATE of `obj` (of type `rt`,
/// in `namespace` when namespaced), run after NamespaceLifecycle and before
/// validation, as in kube-apiserver. Dry-run requests call webhooks too
/// (every v1 webhook declares `sideEffects: None` or `NoneOnDryRun`).
pub(crate) fn admit_create(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    obj: &Value,
) -> Result<(), ApiError> {
    if rt.group == "admissionregistration.k8s.io" {
        return Ok(()); // IsExemptAdmissionConfigurationResource
    }
    let ns_labels = if rt.namespaced {
        store
            .get(known("", "namespaces"), "", namespace)
            .map(|n| n["metadata"]["labels"].clone())
    } else if rt.plural == "namespaces" && rt.group.is_empty() {
        Some(obj["metadata"]["labels"].clone())
    } else {
        None // cluster-scoped: namespaceSelector does not apply
    };
    let obj_labels = &obj["metadata"]["labels"];
    // store.list is ordered by name, the order upstream sorts configurations in.
    for config in store.list(mwc_type(), None) {
        for hook in config["webhooks"].as_array().into_iter().flatten() {
            let rules = hook["rules"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            if !rules.iter().any(|r| rule_matches(r, rt, "CREATE")) {
                continue;
            }
            if let Some(labels) = &ns_labels {
                if !label_selector_matches(&hook["namespaceSelector"], labels) {
                    continue;
                }
            }
            if !label_selector_matches(&hook["objectSelector"], obj_labels) {
                continue;
            }
            if let Err(e) = call(store, hook) {
                if hook["failurePolicy"] == "Ignore" {
                    continue; // failing open: upstream only logs it
                }
                return Err(internal_error(e));
            }
        }
    }
    Ok(())
}

/// NamespaceLifecycle's refusal of a create in a Terminating namespace
/// carries a cause saying so (`v1.NamespaceTerminatingCause`), which
/// clients such as the namespace-deletion retry loops look for.
pub(crate) fn namespace_terminating(mut e: ApiError, namespace: &str) -> ApiError {
    let cause = json!({"reason": "NamespaceTerminating",
        "message": format!("namespace {namespace} is being terminated"),
        "field": "metadata.namespace"});
    let details = e.details.get_or_insert_with(|| json!({}));
    match details["causes"].as_array_mut() {
        Some(causes) => causes.push(cause),
        None => details["causes"] = json!([cause]),
    }
    e
}

/// `apierrors.NewInternalError(err)`.
fn internal_error(err: String) -> ApiError {
    ApiError {
        code: 500,
        reason: "InternalError",
        message: format!("Internal error occurred: {err}"),
        details: Some(json!({"causes": [{"message": err}]})),
    }
}

/// The ReplicaSet controller's `FailedCreate` Warning, aggregated like the
/// event recorder does: a repeat of the same message bumps `count` and
/// `lastTimestamp` of the existing Event instead of adding another.
pub(crate) fn record_failed_create(store: &mut Store, rs: &Value, error: &str) {
    let message = format!("Error creating: {error}");
    let uid = meta_str(rs, "uid");
    let ns = meta_str(rs, "namespace").to_string();
    let core = known("", "events");
    let existing = store
        .list(core, Some(&ns))
        .into_iter()
        .find(|e| {
            e["involvedObject"]["uid"] == uid
                && e["reason"] == "FailedCreate"
                && e["message"] == message.as_str()
        })
        .cloned();
    let Some(mut e) = existing else {
        record_event(
            store,
            rs,
            "Warning",
            "FailedCreate",
            &message,
            "replicaset-controller",
            None,
        );
        return;
    };
    let now = now_rfc3339();
    let count = e["count"].as_i64().unwrap_or(1) + 1;
    e["count"] = json!(count);
    e["lastTimestamp"] = json!(now);
    let name = meta_str(&e, "name").to_string();
    store.put(core, e);
    let v1 = known("events.k8s.io", "events");
    if let Some(mut e) = store.get(v1, &ns, &name).cloned() {
        e["deprecatedCount"] = json!(count);
        e["deprecatedLastTimestamp"] = json!(now);
        store.put(v1, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;

    fn pods() -> &'static ResourceType {
        known("", "pods")
    }

    fn create(store: &mut Store, group: &str, plural: &str, ns: Option<&str>, body: Value) {
        let ctx = ops::Ctx {
            rt: known(group, plural),
            namespace: ns,
            manager: "test",
            dry_run: false,
        };
        ops::create(store, &ctx, body).expect("create");
    }

    fn mwc(store: &mut Store, failure_policy: &str, object_selector: Value) {
        let body = json!({"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration", "metadata": {"name": "pod-identity-webhook"},
            "webhooks": [{"name": "pod-identity-webhook.amazonaws.com",
                "clientConfig": {"service": {"namespace": "irsa", "name": "pod-identity-webhook",
                    "path": "/mutate"}},
                "failurePolicy": failure_policy, "objectSelector": object_selector,
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"]}],
                "sideEffects": "None", "admissionReviewVersions": ["v1beta1"]}]});
        create(
            store,
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            None,
            body,
        );
    }

    fn pod(labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default",
               "labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    }

    fn setup() -> Store {
        let mut s = Store::new();
        ops::bootstrap(&mut s);
        create(
            &mut s,
            "",
            "namespaces",
            None,
            json!({"metadata": {"name": "irsa"}}),
        );
        s
    }

    const URL: &str = "https://pod-identity-webhook.irsa.svc:443/mutate?timeout=10s";

    #[test]
    fn fail_policy_refuses_until_a_ready_pod_backs_the_service() {
        let mut s = setup();
        mwc(&mut s, "Fail", json!({}));
        let e = admit_create(&s, pods(), "default", &pod(json!({}))).expect_err("no service");
        assert_eq!((e.code, e.reason), (500, "InternalError"));
        assert_eq!(
            e.message,
            format!("Internal error occurred: failed calling webhook \"pod-identity-webhook.amazonaws.com\": failed to call webhook: Post \"{URL}\": service \"pod-identity-webhook\" not found")
        );
        let st = e.to_status();
        assert_eq!(
            st["details"]["causes"][0]["message"].as_str(),
            e.message.strip_prefix("Internal error occurred: ")
        );

        create(
            &mut s,
            "",
            "services",
            Some("irsa"),
            json!({"metadata": {"name": "pod-identity-webhook"},
            "spec": {"selector": {"app": "piw"}, "ports": [{"port": 443, "targetPort": 8443}]}}),
        );
        let e = admit_create(&s, pods(), "default", &pod(json!({}))).expect_err("no endpoints");
        assert!(
            e.message.ends_with(&format!(
                "Post \"{URL}\": no endpoints available for service \"pod-identity-webhook\""
            )),
            "{}",
            e.message
        );
        // A Pending pod is no endpoint; a Ready one is.
        let mut backing = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "piw-1", "namespace": "irsa", "labels": {"app": "piw"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending"}});
        s.put(pods(), backing.clone());
        assert!(admit_create(&s, pods(), "default", &pod(json!({}))).is_err());
        backing["status"] = json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}]});
        s.put(pods(), backing);
        admit_create(&s, pods(), "default", &pod(json!({}))).expect("reachable");
    }

    #[test]
    fn ignore_policy_selectors_rules_and_exemptions() {
        let mut s = setup();
        mwc(&mut s, "Ignore", json!({}));
        admit_create(&s, pods(), "default", &pod(json!({}))).expect("fails open");

        let mut s = setup();
        mwc(
            &mut s,
            "Fail",
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["piw"]}]}),
        );
        admit_create(&s, pods(), "default", &pod(json!({"app": "piw"}))).expect("excluded");
        assert!(admit_create(&s, pods(), "default", &pod(json!({"app": "x"}))).is_err());
        // Rules: only pods.
        let cm = json!({"metadata": {"name": "c", "namespace": "default"}});
        admit_create(&s, known("", "configmaps"), "default", &cm).expect("not a pod");
        // Through the create verb, dry-run included.
        let ctx = ops::Ctx {
            rt: pods(),
            namespace: Some("default"),
            manager: "test",
            dry_run: true,
        };
        let e = ops::create(&mut s, &ctx, pod(json!({}))).expect_err("refused");
        assert_eq!(e.code, 500);
        assert!(s.get(pods(), "default", "p").is_none());
    }

    #[test]
    fn rules_and_label_selectors_like_upstream() {
        let rt = known("", "pods");
        let rule = |r: Value| rule_matches(&r, rt, "CREATE");
        assert!(rule(
            json!({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]})
        ));
        assert!(rule(
            json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods/*"]})
        ));
        assert!(rule(
            json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["*/*"]})
        ));
        assert!(!rule(
            json!({"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]})
        ));
        assert!(!rule(
            json!({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["pods"]})
        ));
        assert!(!rule(
            json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Cluster"})
        ));
        assert!(rule(
            json!({"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"})
        ));

        let l = json!({"app": "a", "tier": "web"});
        let m = |s: Value| label_selector_matches(&s, &l);
        assert!(m(json!({})));
        assert!(m(json!({"matchLabels": {"app": "a"}})));
        assert!(!m(json!({"matchLabels": {"app": "b"}})));
        assert!(m(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]})
        ));
        assert!(m(
            json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]})
        ));
        assert!(!m(
            json!({"matchExpressions": [{"key": "x", "operator": "Exists"}]})
        ));
        assert!(m(
            json!({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["1"]}]})
        ));
    }

    #[test]
    fn namespace_selector_uses_the_namespace_labels() {
        let mut s = setup();
        mwc(&mut s, "Fail", json!({}));
        let mut c = s
            .get(mwc_type(), "", "pod-identity-webhook")
            .cloned()
            .expect("mwc");
        c["webhooks"][0]["namespaceSelector"] = json!({"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]});
        s.put(mwc_type(), c);
        let mut p = pod(json!({}));
        p["metadata"]["namespace"] = json!("kube-system");
        admit_create(&s, pods(), "kube-system", &p).expect("kube-system excluded");
        assert!(admit_create(&s, pods(), "default", &pod(json!({}))).is_err());
    }

    #[test]
    fn url_webhooks_are_unreachable() {
        let mut s = setup();
        mwc(&mut s, "Fail", json!({}));
        let mut c = s
            .get(mwc_type(), "", "pod-identity-webhook")
            .cloned()
            .expect("mwc");
        c["webhooks"][0]["clientConfig"] = json!({"url": "https://example.invalid/mutate"});
        c["webhooks"][0]["timeoutSeconds"] = json!(5);
        s.put(mwc_type(), c);
        let e = admit_create(&s, pods(), "default", &pod(json!({}))).expect_err("url");
        assert!(
            e.message.ends_with(
                "Post \"https://example.invalid/mutate?timeout=5s\": context deadline exceeded"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn create_in_a_terminating_namespace_names_the_cause() {
        let mut s = setup();
        let ns = ops::Ctx {
            rt: known("", "namespaces"),
            namespace: None,
            manager: "test",
            dry_run: false,
        };
        ops::delete(&mut s, &ns, "irsa", &ops::DeleteOptions::default()).expect("delete");
        let ctx = ops::Ctx {
            rt: known("", "configmaps"),
            namespace: Some("irsa"),
            manager: "test",
            dry_run: false,
        };
        let e = ops::create(&mut s, &ctx, json!({"metadata": {"name": "c"}})).expect_err("403");
        let st = e.to_status();
        assert_eq!(st["code"], 403);
        assert_eq!(
            st["message"],
            "configmaps \"c\" is forbidden: unable to create new content in namespace irsa because it is being terminated"
        );
        assert_eq!(
            st["details"],
            json!({"name": "c", "kind": "configmaps", "causes": [{"reason": "NamespaceTerminating",
                "message": "namespace irsa is being terminated", "field": "metadata.namespace"}]})
        );
    }

    #[test]
    fn failed_create_events_are_aggregated() {
        let mut s = setup();
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-abc", "namespace": "default", "uid": "u1"}});
        record_failed_create(&mut s, &rs, "boom");
        record_failed_create(&mut s, &rs, "boom");
        let evs = s.list(known("", "events"), Some("default"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0]["count"], 2);
        assert_eq!(evs[0]["message"], "Error creating: boom");
        assert_eq!(evs[0]["type"], "Warning");
        let v1 = s.list(known("events.k8s.io", "events"), Some("default"));
        assert_eq!(v1[0]["deprecatedCount"], 2);
    }
}
