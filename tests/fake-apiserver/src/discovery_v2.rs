//! Aggregated discovery (`apidiscovery.k8s.io/v2`, and `v2beta1` as
//! kubectl 1.26-1.29 ask for it): `GET /api` and `GET /apis` with
//! `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
//! answer an `APIGroupDiscoveryList` built from the same resource table
//! as the legacy documents (see `resources`), with that media type as
//! `Content-Type`, as kube-apiserver's aggregated discovery handler does
//! (k8s.io/apiserver/pkg/endpoints/discovery/aggregated). Any other
//! `Accept` keeps the legacy `APIVersions` / `APIGroupList`.

use serde_json::{json, Value};

use super::resources::{self, ResourceType, RESOURCES};

/// The aggregated-discovery version the client asks for first, if any.
/// Entries are taken in the client's order (client-go lists v2, v2beta1,
/// then plain JSON); a plain `application/json` or `*/*` before any
/// aggregated entry means the legacy document. `accept` is lower-cased.
pub(crate) fn negotiate(accept: &str) -> Option<&'static str> {
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let param = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        if param("q") == Some("0") {
            continue;
        }
        let aggregated = param("g") == Some("apidiscovery.k8s.io")
            && param("as") == Some("apigroupdiscoverylist");
        match media {
            "application/json" if aggregated => match param("v") {
                Some("v2") => return Some("v2"),
                Some("v2beta1") => return Some("v2beta1"),
                _ => {}
            },
            // Protobuf (or anything else) aggregated: not served, try the next.
            _ if aggregated => {}
            "application/json" | "*/*" | "application/*" if param("as").is_none() => return None,
            _ => {}
        }
    }
    None
}

/// The `Content-Type` of an aggregated answer.
pub(crate) fn content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// One `APIResourceDiscovery`.
fn resource(rt: &ResourceType) -> Value {
    let mut v = json!({
        "resource": rt.plural,
        "responseKind": gvk(rt.group, rt.version, rt.kind),
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": resources::verbs(rt),
    });
    if !rt.short_names.is_empty() {
        v["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        v["categories"] = json!(rt.categories);
    }
    let subs: Vec<Value> = resources::subresources(rt)
        .into_iter()
        .map(|s| {
            json!({"subresource": s.name, "responseKind": gvk(s.group, s.version, s.kind),
                   "verbs": s.verbs})
        })
        .collect();
    if !subs.is_empty() {
        v["subresources"] = json!(subs);
    }
    v
}

/// One `APIGroupDiscovery` (the core group has no name).
fn group(name: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == name && r.version == "v1")
        .map(resource)
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !name.is_empty() {
        metadata = json!({"name": name, "creationTimestamp": null});
    }
    json!({"metadata": metadata,
           "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}]})
}

/// `GET /api` (`core`) or `GET /apis` as an `APIGroupDiscoveryList`.
pub(crate) fn group_discovery_list(core: bool, version: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![group("")]
    } else {
        resources::GROUPS.iter().map(|g| group(g)).collect()
    };
    json!({"kind": "APIGroupDiscoveryList",
           "apiVersion": format!("apidiscovery.k8s.io/{version}"),
           "metadata": {}, "items": items})
}

/// The aggregated answer for `path` (`/api` or `/apis`), if the client
/// asked for one: (Content-Type, body).
pub(crate) fn answer(path: &str, accept: &str) -> Option<(String, Value)> {
    let core = match path.trim_end_matches('/') {
        "/api" => true,
        "/apis" => false,
        _ => return None,
    };
    let version = negotiate(accept)?;
    Some((content_type(version), group_discovery_list(core, version)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const KUBECTL_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=apigroupdiscoverylist,application/json";

    #[test]
    fn negotiation_follows_the_client_order() {
        assert_eq!(negotiate(KUBECTL_ACCEPT), Some("v2"));
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=apigroupdiscoverylist,application/json"),
            Some("v2beta1")
        );
        assert_eq!(
            negotiate("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist,application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist"),
            Some("v2")
        );
        assert_eq!(negotiate("application/json"), None);
        assert_eq!(negotiate(""), None);
        assert_eq!(
            negotiate("application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist"),
            None
        );
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v3;as=apigroupdiscoverylist"),
            None
        );
        assert_eq!(
            answer("/apis", KUBECTL_ACCEPT).map(|a| a.0),
            Some(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList".to_string()
            )
        );
        assert!(answer("/api/v1", KUBECTL_ACCEPT).is_none());
    }

    /// (groupVersion, name incl. `<res>/<sub>`, namespaced, kind, verbs)
    /// of every resource, from the legacy lists and from v2.
    type Row = (String, String, bool, String, Vec<String>);

    fn legacy_rows() -> BTreeSet<Row> {
        let mut rows = BTreeSet::new();
        for g in std::iter::once("").chain(resources::GROUPS.iter().copied()) {
            let list = resources::resource_list(g, "v1").expect("list");
            for r in list["resources"].as_array().expect("resources") {
                let gv = match (r["group"].as_str(), r["version"].as_str()) {
                    (Some(g), Some(v)) if !g.is_empty() => format!("{g}/{v}"),
                    (Some(_), Some(v)) => v.to_string(),
                    _ => list["groupVersion"].as_str().unwrap_or("").to_string(),
                };
                rows.insert((
                    gv,
                    format!(
                        "{}@{}",
                        list["groupVersion"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or("")
                    ),
                    r["namespaced"].as_bool().expect("namespaced"),
                    r["kind"].as_str().unwrap_or("").to_string(),
                    serde_json::from_value(r["verbs"].clone()).expect("verbs"),
                ));
            }
        }
        rows
    }

    fn v2_rows() -> BTreeSet<Row> {
        let mut rows = BTreeSet::new();
        let gv_of = |k: &Value| {
            let (g, v) = (
                k["group"].as_str().unwrap_or(""),
                k["version"].as_str().unwrap_or(""),
            );
            if g.is_empty() {
                v.to_string()
            } else {
                format!("{g}/{v}")
            }
        };
        for core in [true, false] {
            let list = group_discovery_list(core, "v2");
            assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2");
            for item in list["items"].as_array().expect("items") {
                let name = item["metadata"]["name"].as_str().unwrap_or("");
                assert_eq!(name.is_empty(), core);
                for v in item["versions"].as_array().expect("versions") {
                    assert_eq!(v["freshness"], "Current");
                    let own_gv = if name.is_empty() {
                        v["version"].as_str().unwrap_or("").to_string()
                    } else {
                        format!("{name}/{}", v["version"].as_str().unwrap_or(""))
                    };
                    for r in v["resources"].as_array().expect("resources") {
                        let namespaced = match r["scope"].as_str() {
                            Some("Namespaced") => true,
                            Some("Cluster") => false,
                            other => panic!("scope {other:?}"),
                        };
                        let plural = r["resource"].as_str().unwrap_or("");
                        assert!(!r["singularResource"].as_str().unwrap_or("").is_empty());
                        rows.insert((
                            gv_of(&r["responseKind"]),
                            format!("{own_gv}@{plural}"),
                            namespaced,
                            r["responseKind"]["kind"].as_str().unwrap_or("").to_string(),
                            serde_json::from_value(r["verbs"].clone()).expect("verbs"),
                        ));
                        for s in r["subresources"].as_array().into_iter().flatten() {
                            rows.insert((
                                gv_of(&s["responseKind"]),
                                format!(
                                    "{own_gv}@{plural}/{}",
                                    s["subresource"].as_str().unwrap_or("")
                                ),
                                namespaced,
                                s["responseKind"]["kind"].as_str().unwrap_or("").to_string(),
                                serde_json::from_value(s["verbs"].clone()).expect("verbs"),
                            ));
                        }
                    }
                }
            }
        }
        rows
    }

    #[test]
    fn v2_and_legacy_list_the_same_resources() {
        let (legacy, v2) = (legacy_rows(), v2_rows());
        assert_eq!(
            legacy.difference(&v2).collect::<Vec<_>>(),
            Vec::<&Row>::new(),
            "in legacy only"
        );
        assert_eq!(
            v2.difference(&legacy).collect::<Vec<_>>(),
            Vec::<&Row>::new(),
            "in v2 only"
        );
        assert_eq!(legacy.len(), RESOURCES.len() + 9, "{legacy:#?}");
    }

    #[test]
    fn shapes_like_the_real_server() {
        let apps = group_discovery_list(false, "v2")["items"][0].clone();
        assert_eq!(apps["metadata"]["name"], "apps");
        let deploy = apps["versions"][0]["resources"][0].clone();
        assert_eq!(
            deploy,
            json!({"resource": "deployments",
                "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                "scope": "Namespaced", "singularResource": "deployment",
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": ["deploy"], "categories": ["all"],
                "subresources": [
                    {"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                     "verbs": ["get", "patch", "update"]},
                    {"subresource": "status", "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                     "verbs": ["get", "patch", "update"]}]})
        );
        let core = group_discovery_list(true, "v2beta1");
        assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        let sa = core["items"][0]["versions"][0]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "serviceaccounts"))
            .cloned()
            .expect("serviceaccounts");
        assert_eq!(
            sa["subresources"],
            json!([{"subresource": "token",
                "responseKind": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
                "verbs": ["create"]}])
        );
    }
}
