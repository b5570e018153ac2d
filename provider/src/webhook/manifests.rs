//! The Kubernetes objects of an `irsa_webhook`, rendered from its settings
//! and certificates. Pure: no I/O. Every object is what the provider sends
//! with server-side apply, so it holds exactly the fields the provider owns;
//! [`drift`] compares those fields (and only those) with what the API server
//! returns.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::inject::{Flags, DEFAULT_MOUNT_PATH};

pub const FIELD_MANAGER: &str = "terraform-provider-irsa";
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17";
pub const PORT: i64 = 8443;
pub const METRICS_PORT: i64 = 9999;
pub const CERT_DIR: &str = "/etc/webhook/certs";
pub const CONTAINER: &str = "pod-identity-webhook";
/// Pods with this label are never sent to any irsa webhook (its own pods carry it).
pub const POD_LABEL: &str = "irsa.terraform.io/webhook";
/// The Deployment's annotation recording the settings, for import.
pub const SETTINGS_ANNOTATION: &str = "irsa.terraform.io/settings";
/// Webhook call timeout (seconds) in the MutatingWebhookConfiguration.
pub const WEBHOOK_TIMEOUT: i64 = 10;

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<Requirement>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toleration {
    pub key: String,
    pub operator: String,
    pub value: String,
    pub effect: String,
    pub toleration_seconds: Option<i64>,
}

/// Everything the objects are made from, apart from the certificates. It
/// is also recorded on the Deployment (see [`SETTINGS_ANNOTATION`]) so
/// import can restore the resource's arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub namespace: String,
    pub name: String,
    pub image: String,
    pub replicas: i64,
    pub aws_region: String,
    pub sts_regional_endpoints: bool,
    pub token_audience: String,
    pub token_expiration: i64,
    pub annotation_prefix: String,
    pub failure_policy: String,
    pub namespace_selector: Option<Selector>,
    pub object_selector: Option<Selector>,
    pub admission_review_versions: Vec<String>,
    pub service_account_lookup_grace_period: String,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub priority_class_name: String,
    /// Canonical quantities (see [`canonical_quantity`]).
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub certificate_validity: String,
    pub certificate_renew_before: String,
    pub wait_for_rollout: bool,
    pub force_conflicts: bool,
}

/// The certificates and keys the objects carry. A key that is `None`
/// renders without it: such objects are only compared, never applied.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    pub ca_cert_pem: String,
    pub ca_key_pem: Option<String>,
    pub serving_cert_pem: String,
    pub serving_key_pem: Option<String>,
    /// PEM CERTIFICATE blocks for the caBundle (current CA, plus the old one
    /// during a rotation).
    pub ca_bundle_pem: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_cert_pem", &self.ca_cert_pem)
            .field("serving_cert_pem", &self.serving_cert_pem)
            .field("keys", &"<redacted>")
            .finish()
    }
}

/// The kinds of object a webhook is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    ServiceAccount,
    ClusterRole,
    ClusterRoleBinding,
    Secret,
    Service,
    Deployment,
    PodDisruptionBudget,
    MutatingWebhookConfiguration,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::ServiceAccount,
        Kind::ClusterRole,
        Kind::ClusterRoleBinding,
        Kind::Secret,
        Kind::Service,
        Kind::Deployment,
        Kind::PodDisruptionBudget,
        Kind::MutatingWebhookConfiguration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ServiceAccount => "ServiceAccount",
            Kind::ClusterRole => "ClusterRole",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
            Kind::Secret => "Secret",
            Kind::Service => "Service",
            Kind::Deployment => "Deployment",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::MutatingWebhookConfiguration => "MutatingWebhookConfiguration",
        }
    }

    pub fn parse(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// API group, plural resource name, and whether it is namespaced.
    fn api(self) -> (&'static str, &'static str, bool) {
        match self {
            Kind::ServiceAccount => ("", "serviceaccounts", true),
            Kind::Secret => ("", "secrets", true),
            Kind::Service => ("", "services", true),
            Kind::Deployment => ("apps", "deployments", true),
            Kind::PodDisruptionBudget => ("policy", "poddisruptionbudgets", true),
            Kind::ClusterRole => ("rbac.authorization.k8s.io", "clusterroles", false),
            Kind::ClusterRoleBinding => ("rbac.authorization.k8s.io", "clusterrolebindings", false),
            Kind::MutatingWebhookConfiguration => (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                false,
            ),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an object lives and how the API names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectId {
    pub kind: Kind,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    /// The id of `kind` named `name`; `namespace` is dropped for a
    /// cluster-scoped kind.
    pub fn new(kind: Kind, namespace: &str, name: &str) -> ObjectId {
        ObjectId {
            kind,
            namespace: if kind.api().2 {
                namespace.into()
            } else {
                String::new()
            },
            name: name.into(),
        }
    }

    pub fn group(&self) -> &'static str {
        self.kind.api().0
    }

    pub fn version(&self) -> &'static str {
        "v1"
    }

    pub fn plural(&self) -> &'static str {
        self.kind.api().1
    }

    pub fn api_version(&self) -> String {
        if self.group().is_empty() {
            self.version().to_string()
        } else {
            format!("{}/{}", self.group(), self.version())
        }
    }

    /// `Deployment kube-system/pod-identity-webhook`, for messages.
    pub fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    /// `deployments.apps`, as RBAC names a resource.
    pub fn resource(&self) -> String {
        if self.group().is_empty() {
            self.plural().to_string()
        } else {
            format!("{}.{}", self.plural(), self.group())
        }
    }
}

/// One object to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub id: ObjectId,
    pub body: Value,
}

/// The objects' names.
pub struct Names {
    pub service_account: String,
    pub cluster_role: String,
    pub serving_secret: String,
    pub ca_secret: String,
    pub service: String,
    pub deployment: String,
    pub pdb: String,
    pub webhook_configuration: String,
}

impl Spec {
    pub fn names(&self) -> Names {
        let n = &self.name;
        Names {
            service_account: n.clone(),
            // Cluster-scoped: one per namespace/name pair.
            cluster_role: format!("{}:{}", self.namespace, n),
            serving_secret: format!("{n}-cert"),
            ca_secret: format!("{n}-ca"),
            service: n.clone(),
            deployment: n.clone(),
            pdb: n.clone(),
            webhook_configuration: format!("{}.{}", n, self.namespace),
        }
    }

    pub fn flags(&self) -> Flags {
        Flags {
            annotation_prefix: self.annotation_prefix.clone(),
            token_audience: self.token_audience.clone(),
            token_expiration: self.token_expiration,
            token_mount_path: DEFAULT_MOUNT_PATH.to_string(),
            aws_default_region: Some(self.aws_region.clone()),
            sts_regional_endpoint: self.sts_regional_endpoints,
        }
    }

    /// The webhook's command line after `/webhook`.
    pub fn args(&self) -> Vec<String> {
        let names = self.names();
        let mut a = vec![
            "--in-cluster=false".to_string(),
            format!("--port={PORT}"),
            format!("--metrics-port={METRICS_PORT}"),
            format!("--tls-cert={CERT_DIR}/tls.crt"),
            format!("--tls-key={CERT_DIR}/tls.key"),
            format!("--namespace={}", self.namespace),
            format!("--service-name={}", names.service),
        ];
        a.extend(self.flags().args());
        a.push(format!(
            "--service-account-lookup-grace-period={}",
            self.service_account_lookup_grace_period
        ));
        a
    }

    pub fn labels(&self) -> Map<String, Value> {
        let mut m = self.selector_labels();
        m.insert("app.kubernetes.io/managed-by".into(), json!(FIELD_MANAGER));
        m.insert("app.kubernetes.io/component".into(), json!("webhook"));
        m.insert("app.kubernetes.io/part-of".into(), json!("irsa"));
        m
    }

    fn selector_labels(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "app.kubernetes.io/name".into(),
            json!("pod-identity-webhook"),
        );
        m.insert("app.kubernetes.io/instance".into(), json!(self.name));
        m
    }

    fn meta(&self, name: &str, namespaced: bool) -> Value {
        let mut m = json!({"name": name, "labels": self.labels()});
        if namespaced {
            m["namespace"] = json!(self.namespace);
        }
        m
    }

    /// The settings as recorded on the Deployment.
    pub fn settings_json(&self) -> String {
        serde_json::to_string(self).expect("settings serialise")
    }
}

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

fn selector_json(s: &Selector, extra: &[Requirement]) -> Value {
    let mut out = Map::new();
    if !s.match_labels.is_empty() {
        out.insert("matchLabels".into(), json!(s.match_labels));
    }
    let exprs: Vec<Value> = s
        .match_expressions
        .iter()
        .chain(extra)
        .map(|r| {
            let mut e = json!({"key": r.key, "operator": r.operator});
            if !r.values.is_empty() {
                e["values"] = json!(r.values);
            }
            e
        })
        .collect();
    if !exprs.is_empty() {
        out.insert("matchExpressions".into(), Value::Array(exprs));
    }
    Value::Object(out)
}

/// Every object, in apply order: the MutatingWebhookConfiguration last.
pub fn render(spec: &Spec, tls: &TlsMaterial) -> Vec<Object> {
    let n = spec.names();
    let ns = &spec.namespace;
    let id = |kind: Kind, name: &str| ObjectId::new(kind, ns, name);
    let mut out = Vec::new();

    out.push(Object {
        id: id(Kind::ServiceAccount, &n.service_account),
        body: json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": spec.meta(&n.service_account, true),
            // Only the webhook's pod mounts a token (see the Deployment).
            "automountServiceAccountToken": false,
        }),
    });
    out.push(Object {
        id: id(Kind::ClusterRole, &n.cluster_role),
        body: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": spec.meta(&n.cluster_role, false),
            "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}],
        }),
    });
    out.push(Object {
        id: id(Kind::ClusterRoleBinding, &n.cluster_role),
        body: json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": spec.meta(&n.cluster_role, false),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": n.cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": n.service_account, "namespace": ns}],
        }),
    });
    let secret = |name: &str, cert: &str, key: &Option<String>| {
        let mut data = json!({"tls.crt": b64(cert)});
        if let Some(k) = key {
            data["tls.key"] = json!(b64(k));
        }
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": spec.meta(name, true),
            "type": "kubernetes.io/tls",
            "data": data,
        })
    };
    out.push(Object {
        id: id(Kind::Secret, &n.ca_secret),
        body: secret(&n.ca_secret, &tls.ca_cert_pem, &tls.ca_key_pem),
    });
    out.push(Object {
        id: id(Kind::Secret, &n.serving_secret),
        body: secret(
            &n.serving_secret,
            &tls.serving_cert_pem,
            &tls.serving_key_pem,
        ),
    });
    out.push(Object {
        id: id(Kind::Service, &n.service),
        body: json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": spec.meta(&n.service, true),
            "spec": {
                "type": "ClusterIP",
                "selector": spec.selector_labels(),
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
        }),
    });
    out.push(Object {
        id: id(Kind::Deployment, &n.deployment),
        body: deployment(spec, &n),
    });
    if spec.replicas > 1 {
        out.push(Object {
            id: id(Kind::PodDisruptionBudget, &n.pdb),
            body: json!({
                "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": spec.meta(&n.pdb, true),
                // A drain must never be blocked for good (single-node clusters).
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": spec.selector_labels()}},
            }),
        });
    }
    out.push(Object {
        id: id(Kind::MutatingWebhookConfiguration, &n.webhook_configuration),
        body: webhook_configuration(spec, &n, &tls.ca_bundle_pem),
    });
    out
}

fn deployment(spec: &Spec, n: &Names) -> Value {
    let mut pod_labels = spec.labels();
    pod_labels.insert(POD_LABEL.into(), json!(spec.name));
    let probe = |initial: i64| {
        json!({
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "initialDelaySeconds": initial, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3,
        })
    };
    let mut resources = Map::new();
    if !spec.requests.is_empty() {
        resources.insert("requests".into(), json!(spec.requests));
    }
    if !spec.limits.is_empty() {
        resources.insert("limits".into(), json!(spec.limits));
    }
    let mut container = json!({
        "name": CONTAINER,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        // The image's entrypoint is /go-runner with CMD /webhook; run the
        // webhook directly, as upstream's deploy manifest does.
        "command": ["/webhook"],
        "args": spec.args(),
        "ports": [
            {"name": "https", "containerPort": PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": probe(2),
        "livenessProbe": probe(10),
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "cert", "mountPath": CERT_DIR, "readOnly": true}],
    });
    if !resources.is_empty() {
        container["resources"] = Value::Object(resources);
    }
    let mut pod = json!({
        "serviceAccountName": n.service_account,
        // The webhook watches ServiceAccounts with its in-cluster token.
        "automountServiceAccountToken": true,
        "securityContext": {
            "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        // Spread, never a hard rule: a single-node cluster still runs every replica.
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": spec.selector_labels()},
        }],
        "containers": [container],
        "volumes": [{"name": "cert", "secret": {"secretName": n.serving_secret, "defaultMode": 0o440}}],
    });
    if !spec.priority_class_name.is_empty() {
        pod["priorityClassName"] = json!(spec.priority_class_name);
    }
    if !spec.node_selector.is_empty() {
        pod["nodeSelector"] = json!(spec.node_selector);
    }
    if !spec.tolerations.is_empty() {
        pod["tolerations"] = spec
            .tolerations
            .iter()
            .map(|t| {
                let mut o = Map::new();
                for (k, v) in [
                    ("key", &t.key),
                    ("operator", &t.operator),
                    ("value", &t.value),
                    ("effect", &t.effect),
                ] {
                    if !v.is_empty() {
                        o.insert(k.into(), json!(v));
                    }
                }
                if let Some(s) = t.toleration_seconds {
                    o.insert("tolerationSeconds".into(), json!(s));
                }
                Value::Object(o)
            })
            .collect();
    }
    let mut meta = spec.meta(&n.deployment, true);
    meta["annotations"] = json!({ SETTINGS_ANNOTATION: spec.settings_json() });
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": spec.selector_labels()},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod},
        },
    })
}

fn webhook_configuration(spec: &Spec, n: &Names, ca_bundle_pem: &str) -> Value {
    let own = Requirement {
        key: POD_LABEL.into(),
        operator: "DoesNotExist".into(),
        values: vec![],
    };
    let skip = Requirement {
        key: format!("{}/skip-pod-identity-webhook", spec.annotation_prefix),
        operator: "DoesNotExist".into(),
        values: vec![],
    };
    let object_selector = selector_json(
        spec.object_selector
            .as_ref()
            .unwrap_or(&Selector::default()),
        &[own, skip],
    );
    let mut hook = json!({
        "name": webhook_name(spec),
        "clientConfig": {
            "service": {"namespace": spec.namespace, "name": n.service, "path": "/mutate", "port": 443},
            "caBundle": b64(ca_bundle_pem),
        },
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}],
        "failurePolicy": spec.failure_policy,
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": WEBHOOK_TIMEOUT,
        "admissionReviewVersions": spec.admission_review_versions,
        "reinvocationPolicy": "IfNeeded",
        "objectSelector": object_selector,
    });
    if let Some(s) = &spec.namespace_selector {
        let v = selector_json(s, &[]);
        if v.as_object().is_some_and(|o| !o.is_empty()) {
            hook["namespaceSelector"] = v;
        }
    }
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": spec.meta(&n.webhook_configuration, false),
        "webhooks": [hook],
    })
}

/// The webhook entry's name: a qualified name of at least three segments.
pub fn webhook_name(spec: &Spec) -> String {
    format!("{}.{}.irsa.terraform.io", spec.name, spec.namespace)
}

/// The PEM CERTIFICATE blocks in a caBundle (as base64 in an object).
pub fn bundle_from_base64(b: &str) -> Option<String> {
    String::from_utf8(B64.decode(b).ok()?).ok()
}

// ---------------------------------------------------------------------------
// Drift: the fields we own, compared with what the API server holds.
// ---------------------------------------------------------------------------

/// Lists kube-apiserver merges per key (`+listType=map`): the element key.
fn list_key(field: &str, element: &Value) -> Option<Vec<&'static str>> {
    match field {
        "containers" | "initContainers" | "env" | "volumes" | "webhooks" | "imagePullSecrets" => {
            Some(vec!["name"])
        }
        "volumeMounts" => Some(vec!["mountPath"]),
        "ports" if element.get("containerPort").is_some() => {
            Some(vec!["containerPort", "protocol"])
        }
        "ports" => Some(vec!["port", "protocol"]),
        _ => None,
    }
}

fn key_label(keys: &[&str], e: &Value) -> String {
    keys.iter()
        .map(|k| {
            let v = match e.get(*k) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The paths of fields in `desired` whose value in `live` differs (absent
/// counts). Fields only `live` has (other managers', API defaults) are not
/// looked at. Values are never part of the answer (Secrets' data).
pub fn drift(desired: &Value, live: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(desired, Some(live), "", "", &mut out);
    out
}

fn walk(d: &Value, l: Option<&Value>, path: &str, field: &str, out: &mut Vec<String>) {
    match d {
        Value::Object(dm) => {
            let lm = l.and_then(Value::as_object);
            for (k, dv) in dm {
                walk(
                    dv,
                    lm.and_then(|m| m.get(k)),
                    &format!("{path}.{k}"),
                    k,
                    out,
                );
            }
        }
        Value::Array(items) => {
            let Some(l_items) = l.and_then(Value::as_array) else {
                if !items.is_empty() {
                    out.push(path.to_string());
                }
                return;
            };
            match items.first().and_then(|e| list_key(field, e)) {
                Some(keys) => {
                    for e in items {
                        let found = l_items
                            .iter()
                            .find(|le| keys.iter().all(|k| le.get(*k) == e.get(*k)));
                        let p = format!("{path}[{}]", key_label(&keys, e));
                        match found {
                            Some(le) => walk(e, Some(le), &p, "", out),
                            None => out.push(p),
                        }
                    }
                }
                None if items.len() != l_items.len() => out.push(path.to_string()),
                None => {
                    for (i, (e, le)) in items.iter().zip(l_items).enumerate() {
                        walk(e, Some(le), &format!("{path}[{i}]"), "", out);
                    }
                }
            }
        }
        scalar => {
            if l != Some(scalar) {
                out.push(path.to_string());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Quantities, canonical as kube-apiserver stores them.
// ---------------------------------------------------------------------------

/// `0.5` -> `500m`, `1024Mi` -> `1Gi`, `2000` -> `2k`; `None` when `q` is
/// not a Kubernetes quantity. (apimachinery `resource.Quantity`, canonical
/// form; values below `1n` round up to `1n`.)
pub fn canonical_quantity(q: &str) -> Option<String> {
    let (num, suffix) = split_quantity(q)?;
    let (neg, digits, mut exp10) = parse_decimal(num)?;
    // Suffix multipliers.
    let (format, bin_pow, dec_exp) = match suffix {
        "Ki" => ('b', 1, 0),
        "Mi" => ('b', 2, 0),
        "Gi" => ('b', 3, 0),
        "Ti" => ('b', 4, 0),
        "Pi" => ('b', 5, 0),
        "Ei" => ('b', 6, 0),
        "n" => ('d', 0, -9),
        "u" => ('d', 0, -6),
        "m" => ('d', 0, -3),
        "" => ('d', 0, 0),
        "k" => ('d', 0, 3),
        "M" => ('d', 0, 6),
        "G" => ('d', 0, 9),
        "T" => ('d', 0, 12),
        "P" => ('d', 0, 15),
        "E" => ('d', 0, 18),
        s if s.starts_with(['e', 'E']) => ('e', 0, s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    exp10 += dec_exp;
    // value = digits * 10^exp10 * 1024^bin_pow
    let mut mant: i128 = digits;
    for _ in 0..bin_pow {
        mant = mant.checked_mul(1024)?;
    }
    // Normalise: strip trailing zeros.
    while mant != 0 && mant % 10 == 0 {
        mant /= 10;
        exp10 += 1;
    }
    if mant == 0 {
        return Some("0".into());
    }
    if exp10 < -9 {
        // Round up to nano.
        let mut m = mant;
        let mut e = exp10;
        let mut rem = false;
        while e < -9 {
            rem |= m % 10 != 0;
            m /= 10;
            e += 1;
        }
        mant = m + i128::from(rem);
        exp10 = -9;
        while mant % 10 == 0 {
            mant /= 10;
            exp10 += 1;
        }
    }
    let sign = if neg { "-" } else { "" };
    if format == 'b' && exp10 >= 0 {
        let mut v = mant;
        for _ in 0..exp10 {
            v = v.checked_mul(10)?;
        }
        if v >= 1024 {
            let mut p = 0;
            while p < 6 && v % 1024 == 0 {
                v /= 1024;
                p += 1;
            }
            let s = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][p];
            return Some(format!("{sign}{v}{s}"));
        }
    }
    // Decimal: exponent down to a multiple of three, mantissa integral.
    let e3 = exp10.div_euclid(3) * 3;
    let mut m = mant;
    for _ in 0..(exp10 - e3) {
        m = m.checked_mul(10)?;
    }
    if format == 'e' {
        return Some(if e3 == 0 {
            format!("{sign}{m}")
        } else {
            format!("{sign}{m}e{e3}")
        });
    }
    let s = match e3 {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => {
            // Beyond E: kube-apiserver keeps an exponent form.
            return Some(format!("{sign}{m}e{e3}"));
        }
    };
    Some(format!("{sign}{m}{s}"))
}

fn split_quantity(q: &str) -> Option<(&str, &str)> {
    let end = q
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '+' || *c == '-'))))
        .map(|(i, _)| i)
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(end);
    if num.is_empty() || num == "+" || num == "-" {
        return None;
    }
    Some((num, suffix))
}

/// The amount a quantity stands for, to compare two quantities (a request
/// with its limit); `None` when `q` is not a quantity.
pub fn quantity_value(q: &str) -> Option<f64> {
    let (num, suffix) = split_quantity(q)?;
    let (neg, digits, exp10) = parse_decimal(num)?;
    let scale = match suffix {
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let v = digits as f64 * 10f64.powi(exp10) * scale;
    Some(if neg { -v } else { v })
}

/// `[+-]digits[.digits]` as (negative, digits, exponent).
fn parse_decimal(s: &str) -> Option<(bool, i128, i32)> {
    let (neg, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() + frac.len() > 30
    {
        return None;
    }
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((neg, digits, -(frac.len() as i32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::inject;

    #[test]
    fn quantities_compare_by_amount() {
        let v = |q| quantity_value(q).unwrap();
        assert!(v("64Mi") < v("128Mi"));
        assert!(v("1Gi") > v("1G"));
        assert_eq!(v("500m"), v("0.5"));
        assert!(v("100m") < v("1"));
        assert_eq!(v("2k"), v("2000"));
        assert!(quantity_value("lots").is_none());
    }

    pub(crate) fn spec() -> Spec {
        Spec {
            namespace: "kube-system".into(),
            name: "pod-identity-webhook".into(),
            image: DEFAULT_IMAGE.into(),
            replicas: 2,
            aws_region: "eu-west-1".into(),
            sts_regional_endpoints: true,
            token_audience: "sts.amazonaws.com".into(),
            token_expiration: 86400,
            annotation_prefix: "eks.amazonaws.com".into(),
            failure_policy: "Ignore".into(),
            namespace_selector: None,
            object_selector: None,
            admission_review_versions: vec!["v1beta1".into()],
            service_account_lookup_grace_period: "0s".into(),
            node_selector: BTreeMap::new(),
            tolerations: vec![],
            priority_class_name: "system-cluster-critical".into(),
            requests: BTreeMap::from([
                ("cpu".into(), "50m".into()),
                ("memory".into(), "64Mi".into()),
            ]),
            limits: BTreeMap::from([("memory".into(), "128Mi".into())]),
            certificate_validity: "8760h".into(),
            certificate_renew_before: "720h".into(),
            wait_for_rollout: true,
            force_conflicts: false,
        }
    }

    fn tls() -> TlsMaterial {
        TlsMaterial {
            ca_cert_pem: "CA".into(),
            ca_key_pem: Some("CAKEY".into()),
            serving_cert_pem: "CERT".into(),
            serving_key_pem: Some("KEY".into()),
            ca_bundle_pem: "CA\n".into(),
        }
    }

    fn find<'a>(objs: &'a [Object], kind: &str) -> &'a Value {
        &objs
            .iter()
            .find(|o| o.id.kind.as_str() == kind)
            .unwrap()
            .body
    }

    #[test]
    fn objects_are_labelled_and_ordered_with_the_webhook_configuration_last() {
        let objs = render(&spec(), &tls());
        let kinds: Vec<_> = objs.iter().map(|o| o.id.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "Secret",
                "Secret",
                "Service",
                "Deployment",
                "PodDisruptionBudget",
                "MutatingWebhookConfiguration"
            ]
        );
        for o in &objs {
            assert_eq!(
                o.body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                FIELD_MANAGER,
                "{}",
                o.id.describe()
            );
            assert_eq!(o.body["kind"], o.id.kind.as_str());
            assert_eq!(o.body["apiVersion"], o.id.api_version());
        }
        let one = Spec {
            replicas: 1,
            ..spec()
        };
        assert!(!render(&one, &tls())
            .iter()
            .any(|o| o.id.kind == Kind::PodDisruptionBudget));
    }

    #[test]
    fn rbac_is_read_only_on_serviceaccounts() {
        let objs = render(&spec(), &tls());
        let rules = &find(&objs, "ClusterRole")["rules"];
        assert_eq!(
            rules,
            &json!([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}])
        );
    }

    #[test]
    fn the_deployment_is_hardened_and_carries_every_flag() {
        let objs = render(&spec(), &tls());
        let d = find(&objs, "Deployment");
        let pod = &d["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["command"], json!(["/webhook"]));
        let args: Vec<String> = serde_json::from_value(c["args"].clone()).unwrap();
        for want in [
            "--in-cluster=false",
            "--port=8443",
            "--tls-cert=/etc/webhook/certs/tls.crt",
            "--tls-key=/etc/webhook/certs/tls.key",
            "--aws-default-region=eu-west-1",
            "--sts-regional-endpoint=true",
            "--token-audience=sts.amazonaws.com",
            "--token-expiration=86400",
            "--annotation-prefix=eks.amazonaws.com",
            "--service-account-lookup-grace-period=0s",
            "--namespace=kube-system",
            "--service-name=pod-identity-webhook",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} in {args:?}");
        }
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            c["readinessProbe"]["httpGet"],
            json!({"path": "/healthz", "port": "https", "scheme": "HTTPS"})
        );
        assert_eq!(c["ports"][0]["containerPort"], 8443);
        assert_eq!(
            pod["topologySpreadConstraints"][0]["whenUnsatisfiable"],
            "ScheduleAnyway"
        );
        assert_eq!(
            pod["volumes"][0]["secret"]["secretName"],
            "pod-identity-webhook-cert"
        );
        assert_eq!(c["resources"]["requests"]["cpu"], "50m");
        let settings: Spec = serde_json::from_str(
            d["metadata"]["annotations"][SETTINGS_ANNOTATION]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(settings, spec());
    }

    #[test]
    fn the_webhook_configuration_excludes_its_own_pods() {
        let mut s = spec();
        s.object_selector = Some(Selector {
            match_labels: BTreeMap::from([("team".into(), "a".into())]),
            match_expressions: vec![],
        });
        let objs = render(&s, &tls());
        let hook = &find(&objs, "MutatingWebhookConfiguration")["webhooks"][0];
        assert_eq!(hook["clientConfig"]["service"]["path"], "/mutate");
        assert_eq!(hook["clientConfig"]["caBundle"], b64("CA\n"));
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["admissionReviewVersions"], json!(["v1beta1"]));
        assert_eq!(hook["rules"][0]["operations"], json!(["CREATE"]));
        assert_eq!(hook["objectSelector"]["matchLabels"]["team"], "a");
        let exprs = hook["objectSelector"]["matchExpressions"]
            .as_array()
            .unwrap();
        assert!(exprs
            .iter()
            .any(|e| e["key"] == POD_LABEL && e["operator"] == "DoesNotExist"));
        let pod_labels = &find(&objs, "Deployment")["spec"]["template"]["metadata"]["labels"];
        assert!(pod_labels.get(POD_LABEL).is_some());
        assert!(hook.get("namespaceSelector").is_none());
    }

    #[test]
    fn the_secrets_are_tls_secrets_and_keys_can_be_left_out() {
        let mut t = tls();
        let objs = render(&spec(), &t);
        let s = &objs
            .iter()
            .find(|o| o.id.name == "pod-identity-webhook-cert")
            .unwrap()
            .body;
        assert_eq!(s["type"], "kubernetes.io/tls");
        assert_eq!(s["data"]["tls.key"], b64("KEY"));
        t.serving_key_pem = None;
        let objs = render(&spec(), &t);
        let s = &objs
            .iter()
            .find(|o| o.id.name == "pod-identity-webhook-cert")
            .unwrap()
            .body;
        assert!(s["data"].get("tls.key").is_none());
        assert!(!format!("{t:?}").contains("CAKEY"));
    }

    /// For a pod whose service account names a role, what the webhook
    /// injects follows the flags in the Deployment we render.
    #[test]
    fn what_the_webhook_injects_matches_the_rendered_flags() {
        let mut s = spec();
        s.token_expiration = 3600;
        s.token_audience = "sts.example".into();
        s.annotation_prefix = "irsa.example.com".into();
        let objs = render(&s, &tls());
        let args: Vec<String> = serde_json::from_value(
            find(&objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"].clone(),
        )
        .unwrap();
        let flags = inject::Flags::parse(&args);
        let sa = BTreeMap::from([(
            "irsa.example.com/role-arn".to_string(),
            "arn:aws:iam::111122223333:role/app".to_string(),
        )]);
        let got = inject::inject(&flags, &sa, &BTreeMap::new()).unwrap();
        assert_eq!(
            got.env["AWS_ROLE_ARN"],
            "arn:aws:iam::111122223333:role/app"
        );
        assert_eq!(
            got.env["AWS_WEB_IDENTITY_TOKEN_FILE"],
            "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
        );
        assert_eq!(got.env["AWS_REGION"], "eu-west-1");
        assert_eq!(got.env["AWS_DEFAULT_REGION"], "eu-west-1");
        assert_eq!(got.env["AWS_STS_REGIONAL_ENDPOINTS"], "regional");
        assert_eq!(got.audience, "sts.example");
        assert_eq!(got.expiration_seconds, Some(3600));
        // The default prefix means nothing to this webhook.
        let eks = BTreeMap::from([(
            "eks.amazonaws.com/role-arn".to_string(),
            "arn:aws:iam::111122223333:role/app".to_string(),
        )]);
        assert_eq!(inject::inject(&flags, &eks, &BTreeMap::new()), None);
        // Without regional STS the variable is not set.
        s.sts_regional_endpoints = false;
        let args = s.args();
        let got = inject::inject(&inject::Flags::parse(&args), &sa, &BTreeMap::new()).unwrap();
        assert!(!got.env.contains_key("AWS_STS_REGIONAL_ENDPOINTS"));
    }

    #[test]
    fn drift_sees_our_fields_only() {
        let objs = render(&spec(), &tls());
        let d = find(&objs, "Deployment").clone();
        let mut live = d.clone();
        // API defaults and another manager's env var: no drift.
        live["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
        live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] =
            json!("/dev/termination-log");
        live["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "X", "value": "1"}]);
        live["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["successThreshold"] =
            json!(1);
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar"}));
        live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .swap(0, 1);
        assert_eq!(drift(&d, &live), Vec::<String>::new());
        // A field of ours changed.
        live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("other:1");
        assert_eq!(
            drift(&d, &live),
            [".spec.template.spec.containers[name=pod-identity-webhook].image"]
        );
        let mwc = find(&objs, "MutatingWebhookConfiguration").clone();
        let mut live = mwc.clone();
        live["webhooks"][0]["failurePolicy"] = json!("Fail");
        let paths = drift(&mwc, &live);
        assert_eq!(paths.len(), 1);
        assert!(paths[0].ends_with("].failurePolicy"), "{paths:?}");
        // An atomic list changed length: the list is the drift.
        let mut live = d.clone();
        live["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["--x"]);
        assert_eq!(drift(&d, &live).len(), 1);
        // Secret data: the path, never the value.
        let secret = &objs[4].body;
        let mut live = secret.clone();
        live["data"]["tls.crt"] = json!("b3RoZXI=");
        assert_eq!(drift(secret, &live), [".data.tls.crt"]);
    }

    #[test]
    fn quantities_are_canonical() {
        for (q, want) in [
            ("0.5", "500m"),
            ("500m", "500m"),
            ("1", "1"),
            ("1000m", "1"),
            ("1.5", "1500m"),
            ("2000", "2k"),
            ("1500", "1500"),
            ("64Mi", "64Mi"),
            ("1024Mi", "1Gi"),
            ("0.5Gi", "512Mi"),
            ("1.5Gi", "1536Mi"),
            ("512Ki", "512Ki"),
            ("0.5Ki", "512"),
            ("128M", "128M"),
            ("1e3", "1e3"),
            ("0", "0"),
            ("0.1n", "1n"),
            ("100", "100"),
        ] {
            assert_eq!(canonical_quantity(q).as_deref(), Some(want), "{q}");
        }
        for bad in ["", "abc", "1x", "1..5", "Mi", "1 Mi", "-", "1.5.5"] {
            assert_eq!(canonical_quantity(bad), None, "{bad}");
        }
    }
}
