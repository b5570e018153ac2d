//! The resource types the fake serves, and the discovery documents
//! (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) built from them.
//! kubectl builds its REST mapping from these, so names, `namespaced`,
//! `kind`, `verbs` and `shortNames` must be the real ones.

use serde_json::{json, Value};

#[derive(Debug)]
pub(crate) struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// `status` belongs to the status subresource: writes to the main
    /// resource cannot set it and field management ignores it.
    pub has_status: bool,
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group: how the
    /// apiserver names a resource in error messages.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

// One row of the table below; positional so the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn rt(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    has_status: bool,
) -> ResourceType {
    ResourceType {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        categories,
        has_status,
    }
}

/// Every resource the fake stores. All served versions are `v1`.
pub(crate) static RESOURCES: &[ResourceType] = &[
    rt(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &[],
        true,
    ),
    rt(
        "",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[],
        false,
    ),
    rt("", "secrets", "secret", "Secret", true, &[], &[], false),
    rt(
        "",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        &["all"],
        true,
    ),
    rt(
        "",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
        false,
    ),
    rt(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        &["all"],
        true,
    ),
    rt(
        "rbac.authorization.k8s.io",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        &[],
        false,
    ),
    rt(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        &[],
        false,
    ),
    rt(
        "rbac.authorization.k8s.io",
        "roles",
        "role",
        "Role",
        true,
        &[],
        &[],
        false,
    ),
    rt(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        &[],
        false,
    ),
    rt(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        "MutatingWebhookConfiguration",
        false,
        &[],
        &["api-extensions"],
        false,
    ),
    rt("", "pods", "pod", "Pod", true, &["po"], &["all"], true),
    rt("", "events", "event", "Event", true, &["ev"], &[], false),
    rt(
        "apps",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        &["all"],
        true,
    ),
    rt(
        "events.k8s.io",
        "events",
        "event",
        "Event",
        true,
        &["ev"],
        &[],
        false,
    ),
    rt(
        "policy",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        &[],
        true,
    ),
    // Not stored: `create` answers at once from the authorizer.
    rt(
        "authorization.k8s.io",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        false,
        &[],
        &[],
        false,
    ),
];

/// The API groups other than core, in the order `/apis` lists them.
pub(crate) const GROUPS: &[&str] = &[
    "apps",
    "events.k8s.io",
    "rbac.authorization.k8s.io",
    "admissionregistration.k8s.io",
    "policy",
    "authorization.k8s.io",
];

pub(crate) fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub(crate) fn namespace_type() -> &'static ResourceType {
    &RESOURCES[0]
}

pub(crate) fn serviceaccount_type() -> &'static ResourceType {
    &RESOURCES[1]
}

/// A type the fake is known to serve (panics on a typo in this crate).
pub(crate) fn known(group: &str, plural: &str) -> &'static ResourceType {
    lookup(group, "v1", plural).unwrap_or_else(|| panic!("unknown resource {group}/{plural}"))
}

/// A review kind (SelfSubjectAccessReview): create-only, never stored.
pub(crate) fn is_review(rt: &ResourceType) -> bool {
    rt.group == "authorization.k8s.io"
}

/// Is `group/version` served at all?
pub(crate) fn serves(group: &str, version: &str) -> bool {
    version == "v1" && (group.is_empty() || GROUPS.contains(&group))
}

/// A subresource as discovery lists it (legacy `<plural>/<sub>`, or
/// aggregated `subresources`). Only `serviceaccounts/token` is served;
/// the others are listed as the real server lists them but answer 404.
pub(crate) struct Subresource {
    pub name: &'static str,
    /// Group, version and kind of what it answers with.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// The subresources of `rt` discovery lists, in the real server's order.
pub(crate) fn subresources(rt: &ResourceType) -> Vec<Subresource> {
    let mut out = Vec::new();
    let own = |name, verbs| Subresource {
        name,
        group: rt.group,
        version: rt.version,
        kind: rt.kind,
        verbs,
    };
    if rt.group == "apps" && matches!(rt.plural, "deployments" | "replicasets") {
        out.push(Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: &["get", "patch", "update"],
        });
    }
    if rt.has_status {
        out.push(own("status", &["get", "patch", "update"]));
    }
    if rt.group.is_empty() && rt.plural == "serviceaccounts" {
        out.push(Subresource {
            name: "token",
            group: "authentication.k8s.io",
            version: "v1",
            kind: "TokenRequest",
            verbs: &["create"],
        });
    }
    out
}

pub(crate) fn verbs(rt: &ResourceType) -> Vec<&'static str> {
    if is_review(rt) {
        return vec!["create"];
    }
    // Namespaces have no deletecollection in the real API either.
    if rt.plural == "namespaces" {
        vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ]
    } else {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// `GET /api`.
pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

/// `GET /apis`: the legacy (non-aggregated) APIGroupList.
pub(crate) fn api_group_list() -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|g| {
            let gv = json!({"groupVersion": format!("{g}/v1"), "version": "v1"});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one APIGroup.
pub(crate) fn api_group(group: &str) -> Option<Value> {
    if !GROUPS.contains(&group) {
        return None;
    }
    let gv = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group,
                "versions": [gv.clone()], "preferredVersion": gv}),
    )
}

/// `GET /api/v1` or `GET /apis/<group>/<version>`: the APIResourceList.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    if !serves(group, version) {
        return None;
    }
    let mut resources = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut v = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": verbs(r),
        });
        if !r.short_names.is_empty() {
            v["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            v["categories"] = json!(r.categories);
        }
        resources.push(v);
        for sub in subresources(r) {
            // As the real lists give them: group/version only when not the resource's.
            let mut v = json!({
                "name": format!("{}/{}", r.plural, sub.name),
                "singularName": "",
                "namespaced": r.namespaced,
            });
            if sub.group != r.group || sub.version != r.version {
                v["group"] = json!(sub.group);
                v["version"] = json!(sub.version);
            }
            v["kind"] = json!(sub.kind);
            v["verbs"] = json!(sub.verbs);
            resources.push(v);
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// `GET /version`. The fake claims to be a 1.33 server.
pub(crate) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0",
        "gitCommit": "60a317eadfcb839692a5551a2e1a6a4e1c01da0c",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T13:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_a_resource_list() {
        for g in GROUPS {
            let l = resource_list(g, "v1").expect("list");
            assert!(!l["resources"].as_array().expect("array").is_empty());
        }
        let core = resource_list("", "v1").expect("core");
        let names: Vec<&str> = core["resources"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"serviceaccounts/token"));
        assert!(resource_list("apps", "v2").is_none());
        assert!(resource_list("batch", "v1").is_none());
    }

    #[test]
    fn short_names_match_the_real_ones() {
        let sn = |g, p| lookup(g, "v1", p).expect("type").short_names.to_vec();
        assert_eq!(sn("apps", "deployments"), vec!["deploy"]);
        assert_eq!(sn("", "serviceaccounts"), vec!["sa"]);
        assert_eq!(sn("", "namespaces"), vec!["ns"]);
        assert_eq!(sn("", "services"), vec!["svc"]);
        assert_eq!(sn("", "configmaps"), vec!["cm"]);
        assert_eq!(sn("policy", "poddisruptionbudgets"), vec!["pdb"]);
    }
}
