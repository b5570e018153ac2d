//! `irsa_webhook`: the typed model (the schema comes from it), the settings
//! with defaults applied, and every check that needs no cluster call.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::webhook::manifests::{self, Requirement, Selector, Spec, Toleration};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, Model, Tf};

pub const TYPE_NAME: &str = "irsa_webhook";
pub const DEFAULT_NAMESPACE: &str = "kube-system";
pub const DEFAULT_NAME: &str = "pod-identity-webhook";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const MIN_VALIDITY: Duration = Duration::from_secs(10 * 60);

/// The [amazon-eks-pod-identity-webhook](https://github.com/aws/amazon-eks-pod-identity-webhook) installed through
/// the Kubernetes API with server-side apply (field manager `terraform-provider-irsa`): a ServiceAccount, a
/// ClusterRole and ClusterRoleBinding (get/list/watch on serviceaccounts), the serving Secret, a Secret holding the
/// CA, a Deployment, a Service, a PodDisruptionBudget when `replicas` > 1, and the MutatingWebhookConfiguration,
/// applied only once the Deployment is available. The provider makes the CA and the serving certificate; no private
/// key is ever in Terraform state.
///
/// Import with `<namespace>/<name>`: `terraform import irsa_webhook.this kube-system/pod-identity-webhook`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct WebhookModel {
    // Required
    /// The region pods get as `AWS_REGION` and `AWS_DEFAULT_REGION` (`--aws-default-region`), e.g. `eu-west-1`.
    #[tf(required)]
    pub aws_region: Tf<String>,

    // Optional
    /// Namespace of the webhook's objects; it must exist. Default `kube-system`. Changing it replaces the webhook.
    #[tf(optional, computed, replace)]
    pub namespace: Tf<String>,
    /// Name of the Deployment, Service and ServiceAccount (a DNS-1035 label: lowercase letters, digits and `-`,
    /// starting with a letter, at most 63). Default `pod-identity-webhook`. Changing it replaces the webhook.
    #[tf(optional, computed, replace)]
    pub name: Tf<String>,
    /// Container image, by tag or `@sha256:` digest. Default
    /// `public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17`.
    #[tf(optional, computed)]
    pub image: Tf<String>,
    /// Number of webhook pods, spread across nodes where possible (never a hard rule). Default `2`.
    #[tf(optional, computed)]
    pub replicas: Tf<i64>,
    /// Inject `AWS_STS_REGIONAL_ENDPOINTS=regional` (`--sts-regional-endpoint`). Default `true`.
    #[tf(optional, computed)]
    pub sts_regional_endpoints: Tf<bool>,
    /// Default audience of the projected token (`--token-audience`). Default `sts.amazonaws.com`.
    #[tf(optional, computed)]
    pub token_audience: Tf<String>,
    /// Lifetime of the projected token in seconds, at least 600 (`--token-expiration`). Default `86400`.
    #[tf(optional, computed)]
    pub token_expiration: Tf<i64>,
    /// Prefix of the service-account annotations the webhook reads (`<prefix>/role-arn`, ...). Default `eks.amazonaws.com`.
    #[tf(optional, computed)]
    pub annotation_prefix: Tf<String>,
    /// `Ignore` (default: pods start without credentials while the webhook is down) or `Fail` (pod creation fails
    /// instead). The webhook's own pods are always excluded, so `Fail` cannot lock it out.
    #[tf(optional, computed)]
    pub failure_policy: Tf<String>,
    /// Admission review versions offered to the webhook. Default `["v1beta1"]`: v0.6.17 answers `v1` reviews without
    /// `apiVersion`/`kind`, which a self-managed kube-apiserver rejects.
    #[tf(optional, computed)]
    pub admission_review_versions: Tf<Vec<Tf<String>>>,
    /// How long the webhook waits for a pod's ServiceAccount to reach its cache (Go duration,
    /// `--service-account-lookup-grace-period`). Default `0s`.
    #[tf(optional, computed)]
    pub service_account_lookup_grace_period: Tf<String>,
    /// Node labels the webhook pods must match. Default: none.
    #[tf(optional)]
    pub node_selector: Tf<BTreeMap<String, Tf<String>>>,
    /// Priority class of the webhook pods; empty for none. Default `system-cluster-critical`.
    #[tf(optional, computed)]
    pub priority_class_name: Tf<String>,
    /// Validity of the serving certificate (Go duration, at least `10m`). The CA lasts five times as long.
    /// Changing it makes a new CA (see `ca_bundle`). Default `8760h`.
    #[tf(optional, computed)]
    pub certificate_validity: Tf<String>,
    /// The plan re-issues the serving certificate (same CA) when less than this remains; less than
    /// `certificate_validity`. Default `720h`.
    #[tf(optional, computed)]
    pub certificate_renew_before: Tf<String>,
    /// Wait until the Deployment is rolled out (as `kubectl rollout status`) before applying the webhook
    /// configuration. Default `true`.
    #[tf(optional, computed)]
    pub wait_for_rollout: Tf<bool>,
    /// Take over fields another field manager owns instead of failing with a conflict. Default `false`.
    #[tf(optional, computed)]
    pub force_conflicts: Tf<bool>,

    // Computed
    /// `<namespace>/<name>`.
    #[tf(computed)]
    pub id: Tf<String>,
    /// The Service kube-apiserver calls (`<name>`, port 443, in `namespace`).
    #[tf(computed)]
    pub service_name: Tf<String>,
    /// PEM of the CA that signs the serving certificate (its key is in the Secret `<name>-ca`, mounted nowhere).
    #[tf(computed)]
    pub ca_certificate: Tf<String>,
    /// PEM of every CA in the webhook configuration's `caBundle`: the current CA, and during a CA rotation the
    /// previous one too (removed by the first apply at least 5 minutes after the rotation).
    #[tf(computed)]
    pub ca_bundle: Tf<String>,
    /// PEM of the serving certificate (key in the Secret `<name>-cert`).
    #[tf(computed)]
    pub serving_certificate: Tf<String>,
    /// `sha256:<hex>` of the serving certificate's DER.
    #[tf(computed)]
    pub certificate_fingerprint: Tf<String>,
    /// When the serving certificate expires (RFC 3339).
    #[tf(computed)]
    pub certificate_not_after: Tf<String>,
    /// When the CA expires (RFC 3339).
    #[tf(computed)]
    pub ca_not_after: Tf<String>,
    /// Everything applied: `kind`, `namespace` (empty when cluster-scoped), `name`, and `status`: `applied`, or
    /// what refresh found (`missing`, `drifted: <fields>`); the next apply repairs it.
    #[tf(computed)]
    pub objects: Tf<Vec<ObjectModel>>,

    /// Pods to send to the webhook by their namespace's labels: `{ match_labels = {...}, match_expressions = [...] }`.
    /// Default: every namespace.
    // `computed` too, only because Terraform 1.0 crashes planning an optional single nested
    // attribute that is not (objchange.proposedNewNestedType reads the prior's members while the
    // prior is null); the plan always sets it from the configuration.
    #[tf(optional, computed, nested)]
    pub namespace_selector: Tf<SelectorModel>,
    /// Pods to send to the webhook by their labels. The webhook's own pods and pods labelled
    /// `<annotation_prefix>/skip-pod-identity-webhook` are always excluded.
    // `computed` for Terraform 1.0, as `namespace_selector`.
    #[tf(optional, computed, nested)]
    pub object_selector: Tf<SelectorModel>,
    /// Tolerations of the webhook pods, e.g. `[{ key = "node-role.kubernetes.io/control-plane", operator = "Exists",
    /// effect = "NoSchedule" }]`. Default: none.
    #[tf(optional, nested)]
    pub tolerations: Tf<Vec<TolerationModel>>,
    /// Resources of the webhook container. Default
    /// `{ requests = { cpu = "50m", memory = "64Mi" }, limits = { memory = "128Mi" } }`.
    #[tf(optional, computed, nested)]
    pub resources: Tf<ResourcesModel>,
    /// How long each operation may take (Go durations). Defaults: `create = "10m"`, `update = "10m"`, `delete = "5m"`.
    #[tf(block)]
    pub timeouts: Tf<TimeoutsModel>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ObjectModel {
    /// The object's kind.
    pub kind: Tf<String>,
    /// Its namespace; empty when cluster-scoped.
    pub namespace: Tf<String>,
    /// Its name.
    pub name: Tf<String>,
    /// `applied`, `missing` or `drifted: <fields>`.
    pub status: Tf<String>,
}

/// A label selector.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct SelectorModel {
    /// Labels that must all match.
    #[tf(optional)]
    pub match_labels: Tf<BTreeMap<String, Tf<String>>>,
    /// Requirements that must all hold: `[{ key = "...", operator = "In", values = ["..."] }]`.
    #[tf(optional, nested)]
    pub match_expressions: Tf<Vec<RequirementModel>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RequirementModel {
    /// The label key.
    #[tf(required)]
    pub key: Tf<String>,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[tf(required)]
    pub operator: Tf<String>,
    /// Values for `In` and `NotIn` (at least one); none for `Exists` and `DoesNotExist`.
    #[tf(optional)]
    pub values: Tf<Vec<Tf<String>>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TolerationModel {
    /// Taint key; empty with `operator = "Exists"` tolerates every taint.
    #[tf(optional)]
    pub key: Tf<String>,
    /// `Equal` (default) or `Exists`.
    #[tf(optional)]
    pub operator: Tf<String>,
    /// Taint value for `Equal`.
    #[tf(optional)]
    pub value: Tf<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches every effect.
    #[tf(optional)]
    pub effect: Tf<String>,
    /// With `NoExecute`: how long the pod stays bound after the taint appears.
    #[tf(optional)]
    pub toleration_seconds: Tf<i64>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ResourcesModel {
    /// Requested quantities, e.g. `{ cpu = "50m", memory = "64Mi" }`.
    #[tf(optional)]
    pub requests: Tf<BTreeMap<String, Tf<String>>>,
    /// Limits, e.g. `{ memory = "128Mi" }`.
    #[tf(optional)]
    pub limits: Tf<BTreeMap<String, Tf<String>>>,
}

/// How long each operation may take (Go durations).
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TimeoutsModel {
    /// Default `10m`.
    #[tf(optional)]
    pub create: Tf<String>,
    /// Default `10m`.
    #[tf(optional)]
    pub update: Tf<String>,
    /// Default `5m`.
    #[tf(optional)]
    pub delete: Tf<String>,
}

pub fn schema() -> tfplugin::Schema {
    WebhookModel::schema(0)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

/// The validated settings with defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub spec: Spec,
    pub validity: Duration,
    pub renew_before: Duration,
    pub timeouts: Timeouts,
}

// ---------------------------------------------------------------------------
// Syntax checks
// ---------------------------------------------------------------------------

/// Go's `time.ParseDuration`, non-negative values only: `0`, `1.5h`, `2h45m`, `300ms`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(n);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let u = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(u);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    (total.is_finite() && total < 9.2e9).then(|| Duration::from_secs_f64(total))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 of
/// `[A-Za-z0-9_.-]` starting and ending alphanumeric.
pub fn is_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(is_dns_subdomain) && is_label_value(name) && !name.is_empty()
}

pub fn is_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

/// An image reference as container runtimes parse it
/// (`distribution/reference`): `[host[:port]/]path[:tag][@sha256:<64 hex>]`.
pub fn check_image(image: &str) -> Result<(), String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        let comp = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let host = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?";
        regex::Regex::new(&format!(
            r"^(?:(?P<host>{host})/)?(?P<path>{comp}(?:/{comp})*)(?::(?P<tag>[\w][\w.-]{{0,127}}))?(?:@(?P<digest>sha256:[a-f0-9]{{64}}|sha512:[a-f0-9]{{128}}))?$"
        ))
        .expect("image regex")
    });
    let hint =
        "use `[registry/]repository:tag` or `[registry/]repository@sha256:<64 hex digits>`, e.g. \
                `public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17`";
    if image.len() > 255 + 129 + 72 {
        return Err(format!("{image:?} is too long; {hint}."));
    }
    let Some(c) = re.captures(image) else {
        return Err(format!("{image:?} is not an image reference; {hint}."));
    };
    let host = c.name("host").map(|m| m.as_str());
    // A first component without '.' or ':' (and not localhost) is a path
    // component, not a registry: lowercase only.
    if let Some(h) = host {
        if !(h.contains('.') || h.contains(':') || h == "localhost")
            && h.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(format!(
                "{image:?}: repository names are lowercase; {hint}."
            ));
        }
    }
    // A first component without '.', ':' and other than localhost is part of the path (docker.io).
    let name_len = c.name("path").map_or(0, |m| m.as_str().len()) + host.map_or(0, |h| h.len() + 1);
    if name_len > 255 {
        return Err(format!(
            "{image:?}: the repository name is longer than 255 characters."
        ));
    }
    if c.name("tag").is_none() && c.name("digest").is_none() {
        return Err(format!(
            "{image:?} has neither a tag nor a digest; pin the image ({hint})."
        ));
    }
    Ok(())
}

fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

pub fn validate_value(config: &tfplugin::Value) -> Diagnostics {
    match WebhookModel::decode(config) {
        Ok(m) => validate(&m),
        Err(d) => d,
    }
}

fn check_selector(sel: &SelectorModel, path: AttrPath, d: &mut Diagnostics) {
    if let Some(labels) = sel.match_labels.known() {
        for (k, v) in labels {
            let p = path.clone().attr("match_labels").key(k);
            if !is_label_key(k) {
                d.error_at(p.clone(), "Invalid label key", format!("{k:?} is not a label key ([prefix/]name, name up to 63 letters, digits, `-`, `_`, `.`)."));
            }
            if let Some(v) = v.as_deref() {
                if !is_label_value(v) {
                    d.error_at(p, "Invalid label value", format!("{v:?} is not a label value (up to 63 letters, digits, `-`, `_`, `.`, starting and ending alphanumeric)."));
                }
            }
        }
    }
    if let Some(exprs) = sel.match_expressions.known() {
        for (i, e) in exprs.iter().enumerate() {
            let p = path.clone().attr("match_expressions").index(i);
            if let Some(k) = e.key.as_deref() {
                if !is_label_key(k) {
                    d.error_at(
                        p.clone().attr("key"),
                        "Invalid label key",
                        format!("{k:?} is not a label key."),
                    );
                }
            }
            let n_values = e.values.known().map(Vec::len);
            match e.operator.as_deref() {
                Some("In" | "NotIn") => {
                    if n_values == Some(0) || e.values.is_null() {
                        d.error_at(
                            p.clone().attr("values"),
                            "Missing values",
                            "`In` and `NotIn` need at least one value.",
                        );
                    }
                }
                Some("Exists" | "DoesNotExist") => {
                    if n_values.is_some_and(|n| n > 0) {
                        d.error_at(
                            p.clone().attr("values"),
                            "Values not allowed",
                            "`Exists` and `DoesNotExist` take no values.",
                        );
                    }
                }
                Some(other) => d.error_at(
                    p.clone().attr("operator"),
                    "Invalid selector operator",
                    format!("{other:?}: use `In`, `NotIn`, `Exists` or `DoesNotExist`."),
                ),
                None => {}
            }
        }
    }
}

fn check_duration(v: &Tf<String>, attr: &str, d: &mut Diagnostics) -> Option<Duration> {
    let text = v.as_deref()?;
    match parse_go_duration(text) {
        Some(x) => Some(x),
        None => {
            d.error_at(
                AttrPath::root(attr),
                "Invalid duration",
                format!("{text:?} is not a Go duration such as \"8760h\", \"30m\", \"1h30m\" or \"500ms\"."),
            );
            None
        }
    }
}

/// Static checks; unknown values are skipped (they are checked when known).
pub fn validate(m: &WebhookModel) -> Diagnostics {
    let mut d = Diagnostics::default();
    let at = AttrPath::root;
    if let Some(r) = m.aws_region.as_deref() {
        if !is_region(r) {
            d.error_at(
                at("aws_region"),
                "Invalid AWS region",
                format!("{r:?} is not an AWS region name such as \"eu-west-1\"."),
            );
        }
    }
    if let Some(ns) = m.namespace.as_deref() {
        if !is_dns_label(ns) {
            d.error_at(at("namespace"), "Invalid namespace", format!("{ns:?} is not a namespace name (a DNS label: at most 63 lowercase letters, digits and `-`, starting and ending alphanumeric)."));
        }
    }
    if let Some(n) = m.name.as_deref() {
        // The Service is named after it: a DNS-1035 label (starts with a letter); `-cert` is appended for the Secret.
        if !is_dns_label(n) || !n.as_bytes()[0].is_ascii_lowercase() || n.len() > 58 {
            d.error_at(at("name"), "Invalid name", format!("{n:?}: use at most 58 lowercase letters, digits and `-`, starting with a letter and ending alphanumeric (it names a Service, and `<name>-cert` a Secret)."));
        }
    }
    if let Some(img) = m.image.as_deref() {
        if let Err(why) = check_image(img) {
            d.error_at(at("image"), "Invalid image reference", why);
        }
    }
    if let Some(&r) = m.replicas.known() {
        if !(1..=100).contains(&r) {
            d.error_at(
                at("replicas"),
                "Invalid replicas",
                format!("{r}: use 1 to 100 (2 or more keeps the webhook up during a node drain)."),
            );
        }
    }
    if let Some(a) = m.token_audience.as_deref() {
        if a.trim().is_empty() || a.contains(',') {
            d.error_at(
                at("token_audience"),
                "Invalid audience",
                "The audience must be one non-empty value.",
            );
        }
    }
    if let Some(&t) = m.token_expiration.known() {
        if !(600..=(1i64 << 32)).contains(&t) {
            d.error_at(at("token_expiration"), "Invalid token expiration", format!("{t}: the webhook and the TokenRequest API need at least 600 seconds (and at most 2^32)."));
        }
    }
    if let Some(p) = m.annotation_prefix.as_deref() {
        if !is_dns_subdomain(p) {
            d.error_at(at("annotation_prefix"), "Invalid annotation prefix", format!("{p:?} is not a DNS subdomain such as \"eks.amazonaws.com\" (annotation keys are `<prefix>/role-arn`)."));
        }
    }
    if let Some(f) = m.failure_policy.as_deref() {
        if f != "Ignore" && f != "Fail" {
            d.error_at(
                at("failure_policy"),
                "Invalid failure policy",
                format!("{f:?}: use \"Ignore\" or \"Fail\"."),
            );
        }
    }
    if let Some(vs) = m.admission_review_versions.known() {
        if vs.is_empty() {
            d.error_at(
                at("admission_review_versions"),
                "Invalid admission review versions",
                "Give at least one of \"v1beta1\" and \"v1\".",
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in vs.iter().enumerate() {
            if let Some(v) = v.as_deref() {
                if v != "v1" && v != "v1beta1" {
                    d.error_at(at("admission_review_versions").index(i), "Invalid admission review version", format!("{v:?}: use \"v1beta1\" or \"v1\" (v0.6.17 answers v1 reviews in a form a self-managed kube-apiserver rejects; keep \"v1beta1\")."));
                } else if !seen.insert(v.to_string()) {
                    d.error_at(
                        at("admission_review_versions").index(i),
                        "Duplicate admission review version",
                        format!("{v:?} is listed twice."),
                    );
                }
            }
        }
    }
    check_duration(
        &m.service_account_lookup_grace_period,
        "service_account_lookup_grace_period",
        &mut d,
    );
    if let Some(ns) = m.node_selector.known() {
        for (k, v) in ns {
            if !is_label_key(k) {
                d.error_at(
                    at("node_selector").key(k),
                    "Invalid label key",
                    format!("{k:?} is not a node label key."),
                );
            }
            if let Some(v) = v.as_deref() {
                if !is_label_value(v) {
                    d.error_at(
                        at("node_selector").key(k),
                        "Invalid label value",
                        format!("{v:?} is not a label value."),
                    );
                }
            }
        }
    }
    if let Some(p) = m.priority_class_name.as_deref() {
        if !p.is_empty() && !is_dns_subdomain(p) {
            d.error_at(
                at("priority_class_name"),
                "Invalid priority class",
                format!("{p:?} is not a PriorityClass name (a DNS subdomain)."),
            );
        }
    }
    let validity = check_duration(&m.certificate_validity, "certificate_validity", &mut d);
    let renew = check_duration(
        &m.certificate_renew_before,
        "certificate_renew_before",
        &mut d,
    );
    if let Some(v) = validity {
        if v < MIN_VALIDITY {
            d.error_at(at("certificate_validity"), "Certificate validity too short", "Use at least \"10m\": pods reload a renewed certificate only after the kubelet updates the Secret volume (up to about a minute).");
        }
    }
    let validity = validity.or_else(|| {
        m.certificate_validity
            .is_null()
            .then(|| parse_go_duration("8760h").unwrap())
    });
    let renew = renew.or_else(|| {
        m.certificate_renew_before
            .is_null()
            .then(|| parse_go_duration("720h").unwrap())
    });
    if let (Some(v), Some(r)) = (validity, renew) {
        if r >= v {
            d.error_at(at("certificate_renew_before"), "Renewal window too long", format!("certificate_renew_before ({}) must be less than certificate_validity ({}), or every plan would renew.", humantime(r), humantime(v)));
        }
    }
    for (attr, sel) in [
        ("namespace_selector", &m.namespace_selector),
        ("object_selector", &m.object_selector),
    ] {
        if let Some(s) = sel.known() {
            check_selector(s, at(attr), &mut d);
        }
    }
    if let Some(ts) = m.tolerations.known() {
        for (i, t) in ts.iter().enumerate() {
            let p = at("tolerations").index(i);
            let op = t.operator.as_deref().unwrap_or("Equal");
            match op {
                "Equal" | "Exists" => {}
                other => d.error_at(
                    p.clone().attr("operator"),
                    "Invalid toleration operator",
                    format!("{other:?}: use \"Equal\" or \"Exists\"."),
                ),
            }
            if op == "Exists" && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
                d.error_at(
                    p.clone().attr("value"),
                    "Value not allowed",
                    "A toleration with operator \"Exists\" takes no value.",
                );
            }
            if op == "Equal" && t.key.as_deref().is_some_and(str::is_empty) {
                d.error_at(
                    p.clone().attr("key"),
                    "Missing key",
                    "An empty key needs operator \"Exists\".",
                );
            }
            if let Some(k) = t.key.as_deref() {
                if !k.is_empty() && !is_label_key(k) {
                    d.error_at(
                        p.clone().attr("key"),
                        "Invalid taint key",
                        format!("{k:?} is not a taint key."),
                    );
                }
            }
            let effect = t.effect.as_deref().unwrap_or("");
            match effect {
                "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute" => {}
                other => d.error_at(p.clone().attr("effect"), "Invalid toleration effect", format!("{other:?}: use \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\" or leave it empty.")),
            }
            if t.toleration_seconds.is_known() && effect != "NoExecute" && t.effect.is_known() {
                d.error_at(
                    p.clone().attr("toleration_seconds"),
                    "Toleration seconds not allowed",
                    "`toleration_seconds` applies to the effect \"NoExecute\" only.",
                );
            }
        }
    }
    if let Some(r) = m.resources.known() {
        for (attr, map) in [("requests", &r.requests), ("limits", &r.limits)] {
            for (k, v) in map.known().into_iter().flatten() {
                let p = at("resources").attr(attr).key(k);
                if !is_label_key(k) {
                    d.error_at(
                        p.clone(),
                        "Invalid resource name",
                        format!("{k:?} is not a resource name such as \"cpu\" or \"memory\"."),
                    );
                }
                if let Some(q) = v.as_deref() {
                    if manifests::canonical_quantity(q).is_none() || q.starts_with('-') {
                        d.error_at(p, "Invalid quantity", format!("{q:?} is not a Kubernetes quantity such as \"50m\", \"0.5\", \"64Mi\" or \"1G\"."));
                    }
                }
            }
        }
    }
    if let Some(t) = m.timeouts.known() {
        for (op, v) in [
            ("create", &t.create),
            ("update", &t.update),
            ("delete", &t.delete),
        ] {
            if let Some(text) = v.as_deref() {
                if parse_go_duration(text).is_none_or(|x| x.is_zero()) {
                    d.error_at(
                        at("timeouts").attr(op),
                        "Invalid timeout",
                        format!("{text:?} is not a positive duration such as \"10m\"."),
                    );
                }
            }
        }
    }
    d
}

/// A duration as Go prints it (`8760h0m0s` style, shortened).
pub fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m, sec) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

fn strings(v: &Tf<BTreeMap<String, Tf<String>>>) -> BTreeMap<String, String> {
    v.known_entries().unwrap_or_default()
}

fn selector(v: &Tf<SelectorModel>) -> Option<Selector> {
    let s = v.known()?;
    Some(Selector {
        match_labels: strings(&s.match_labels),
        match_expressions: s
            .match_expressions
            .known()
            .map(|es| {
                es.iter()
                    .map(|e| Requirement {
                        key: e.key.as_deref().unwrap_or_default().into(),
                        operator: e.operator.as_deref().unwrap_or_default().into(),
                        values: e.values.known_items().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Config {
    pub fn from_value(v: &tfplugin::Value) -> Result<Config, Diagnostics> {
        Config::from_model(&WebhookModel::decode(v)?)
    }

    /// A validated configuration (every value known) with defaults applied.
    pub fn from_model(m: &WebhookModel) -> Result<Config, Diagnostics> {
        let problems = validate(m);
        if problems.has_errors() {
            return Err(problems);
        }
        let s = |v: &Tf<String>, def: &str| v.as_deref().unwrap_or(def).to_string();
        let (requests, limits) = match m.resources.known() {
            Some(r) => (strings(&r.requests), strings(&r.limits)),
            None => (
                BTreeMap::from([
                    ("cpu".into(), "50m".into()),
                    ("memory".into(), "64Mi".into()),
                ]),
                BTreeMap::from([("memory".into(), "128Mi".into())]),
            ),
        };
        let canon = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.into_iter()
                .map(|(k, v)| {
                    let c = manifests::canonical_quantity(&v).unwrap_or(v);
                    (k, c)
                })
                .collect()
        };
        let spec = Spec {
            namespace: s(&m.namespace, DEFAULT_NAMESPACE),
            name: s(&m.name, DEFAULT_NAME),
            image: s(&m.image, manifests::DEFAULT_IMAGE),
            replicas: m.replicas.known().copied().unwrap_or(2),
            aws_region: s(&m.aws_region, ""),
            sts_regional_endpoints: m.sts_regional_endpoints.known().copied().unwrap_or(true),
            token_audience: s(&m.token_audience, "sts.amazonaws.com"),
            token_expiration: m.token_expiration.known().copied().unwrap_or(86400),
            annotation_prefix: s(&m.annotation_prefix, "eks.amazonaws.com"),
            failure_policy: s(&m.failure_policy, "Ignore"),
            namespace_selector: selector(&m.namespace_selector),
            object_selector: selector(&m.object_selector),
            admission_review_versions: m
                .admission_review_versions
                .known_items()
                .unwrap_or_else(|| vec!["v1beta1".into()]),
            service_account_lookup_grace_period: s(&m.service_account_lookup_grace_period, "0s"),
            node_selector: strings(&m.node_selector),
            tolerations: m
                .tolerations
                .known()
                .map(|ts| {
                    ts.iter()
                        .map(|t| Toleration {
                            key: t.key.as_deref().unwrap_or_default().into(),
                            operator: t.operator.as_deref().unwrap_or("Equal").into(),
                            value: t.value.as_deref().unwrap_or_default().into(),
                            effect: t.effect.as_deref().unwrap_or_default().into(),
                            toleration_seconds: t.toleration_seconds.known().copied(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            priority_class_name: s(&m.priority_class_name, "system-cluster-critical"),
            requests: canon(requests),
            limits: canon(limits),
            certificate_validity: s(&m.certificate_validity, "8760h"),
            certificate_renew_before: s(&m.certificate_renew_before, "720h"),
            wait_for_rollout: m.wait_for_rollout.known().copied().unwrap_or(true),
            force_conflicts: m.force_conflicts.known().copied().unwrap_or(false),
        };
        let dur = |t: &str| parse_go_duration(t).unwrap_or_default();
        let timeouts = m.timeouts.known();
        let t =
            |v: Option<&Tf<String>>, def: Duration| v.and_then(|x| x.as_deref()).map_or(def, dur);
        Ok(Config {
            validity: dur(&spec.certificate_validity),
            renew_before: dur(&spec.certificate_renew_before),
            spec,
            timeouts: Timeouts {
                create: t(timeouts.map(|x| &x.create), DEFAULT_TIMEOUT),
                update: t(timeouts.map(|x| &x.update), DEFAULT_TIMEOUT),
                delete: t(timeouts.map(|x| &x.delete), DEFAULT_DELETE_TIMEOUT),
            },
        })
    }
}

/// The optional+computed arguments with their values from `spec` (as plan
/// and import fill them in).
pub fn set_arguments(m: &mut WebhookModel, spec: &Spec) {
    m.namespace = Tf::Known(spec.namespace.clone());
    m.name = Tf::Known(spec.name.clone());
    m.aws_region = Tf::Known(spec.aws_region.clone());
    m.image = Tf::Known(spec.image.clone());
    m.replicas = Tf::Known(spec.replicas);
    m.sts_regional_endpoints = Tf::Known(spec.sts_regional_endpoints);
    m.token_audience = Tf::Known(spec.token_audience.clone());
    m.token_expiration = Tf::Known(spec.token_expiration);
    m.annotation_prefix = Tf::Known(spec.annotation_prefix.clone());
    m.failure_policy = Tf::Known(spec.failure_policy.clone());
    m.admission_review_versions = Tf::list(spec.admission_review_versions.clone());
    m.service_account_lookup_grace_period =
        Tf::Known(spec.service_account_lookup_grace_period.clone());
    m.priority_class_name = Tf::Known(spec.priority_class_name.clone());
    m.certificate_validity = Tf::Known(spec.certificate_validity.clone());
    m.certificate_renew_before = Tf::Known(spec.certificate_renew_before.clone());
    m.wait_for_rollout = Tf::Known(spec.wait_for_rollout);
    m.force_conflicts = Tf::Known(spec.force_conflicts);
    m.id = Tf::Known(format!("{}/{}", spec.namespace, spec.name));
    m.service_name = Tf::Known(spec.names().service);
}

/// The blocks and non-computed arguments as import restores them from `spec`.
pub fn set_blocks(m: &mut WebhookModel, spec: &Spec) {
    let map = |b: &BTreeMap<String, String>| Tf::map_of(b.clone());
    m.node_selector = if spec.node_selector.is_empty() {
        Tf::Null
    } else {
        map(&spec.node_selector)
    };
    let sel = |s: &Option<Selector>| match s {
        None => Tf::Null,
        Some(s) => Tf::Known(SelectorModel {
            match_labels: if s.match_labels.is_empty() {
                Tf::Null
            } else {
                map(&s.match_labels)
            },
            match_expressions: if s.match_expressions.is_empty() {
                Tf::Null
            } else {
                Tf::Known(
                    s.match_expressions
                        .iter()
                        .map(|e| RequirementModel {
                            key: Tf::Known(e.key.clone()),
                            operator: Tf::Known(e.operator.clone()),
                            values: if e.values.is_empty() {
                                Tf::Null
                            } else {
                                Tf::list(e.values.clone())
                            },
                        })
                        .collect(),
                )
            },
        }),
    };
    m.namespace_selector = sel(&spec.namespace_selector);
    m.object_selector = sel(&spec.object_selector);
    m.tolerations = if spec.tolerations.is_empty() {
        Tf::Null
    } else {
        Tf::Known(
            spec.tolerations
                .iter()
                .map(|t| TolerationModel {
                    key: if t.key.is_empty() {
                        Tf::Null
                    } else {
                        Tf::Known(t.key.clone())
                    },
                    operator: Tf::Known(t.operator.clone()),
                    value: if t.value.is_empty() {
                        Tf::Null
                    } else {
                        Tf::Known(t.value.clone())
                    },
                    effect: if t.effect.is_empty() {
                        Tf::Null
                    } else {
                        Tf::Known(t.effect.clone())
                    },
                    toleration_seconds: t.toleration_seconds.into(),
                })
                .collect(),
        )
    };
    m.resources = resources_of(spec);
}

/// The `resources` attribute for a spec (canonical quantities).
pub fn resources_of(spec: &Spec) -> Tf<ResourcesModel> {
    let map = |b: &BTreeMap<String, String>| {
        if b.is_empty() {
            Tf::Null
        } else {
            Tf::map_of(b.clone())
        }
    };
    Tf::Known(ResourcesModel {
        requests: map(&spec.requests),
        limits: map(&spec.limits),
    })
}

/// An error at an attribute, as a diagnostic list.
pub fn error_at(attr: &str, summary: &str, detail: impl Into<String>) -> Diagnostics {
    Diagnostic::error(summary, detail)
        .at(AttrPath::root(attr))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{TfType, Value};

    fn base() -> WebhookModel {
        WebhookModel {
            aws_region: Tf::Known("eu-west-1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::from_model(&base()).unwrap();
        assert_eq!(c.spec, {
            let mut s = c.spec.clone();
            s.namespace = "kube-system".into();
            s
        });
        assert_eq!(c.spec.name, "pod-identity-webhook");
        assert_eq!(c.spec.image, manifests::DEFAULT_IMAGE);
        assert_eq!(c.spec.replicas, 2);
        assert!(c.spec.sts_regional_endpoints);
        assert_eq!(c.spec.admission_review_versions, ["v1beta1"]);
        assert_eq!(c.spec.failure_policy, "Ignore");
        assert_eq!(c.spec.priority_class_name, "system-cluster-critical");
        assert_eq!(c.validity, Duration::from_secs(8760 * 3600));
        assert_eq!(c.renew_before, Duration::from_secs(720 * 3600));
        assert_eq!(c.timeouts.delete, Duration::from_secs(300));
        assert_eq!(c.spec.limits["memory"], "128Mi");
    }

    #[test]
    fn quantities_are_stored_canonical() {
        let mut m = base();
        m.resources = Tf::Known(ResourcesModel {
            requests: Tf::map_of(BTreeMap::from([("cpu".into(), "0.5".into())])),
            limits: Tf::Null,
        });
        let c = Config::from_model(&m).unwrap();
        assert_eq!(c.spec.requests["cpu"], "500m");
        assert!(c.spec.limits.is_empty());
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("8760h"),
            Some(Duration::from_secs(8760 * 3600))
        );
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "1", "1d", "h", "-1s", "1..5s", "1h 2m"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn image_references() {
        for ok in [
            manifests::DEFAULT_IMAGE,
            "amazon/amazon-eks-pod-identity-webhook:v0.6.17",
            "localhost:5000/webhook:latest",
            "registry.example.com/a/b/c@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "webhook:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(check_image(ok).is_ok(), "{ok}: {:?}", check_image(ok));
        }
        for bad in [
            "",
            "UPPER/case:v1",
            "repo:",
            "repo",
            "repo@sha256:abc",
            "a//b:v1",
            "repo:tag with space",
            "https://x/y:v1",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
    }

    /// Every invalid value is reported at its attribute, without a cluster.
    #[test]
    fn each_bad_value_is_reported_at_its_attribute() {
        let s = |x: &str| Value::string(x);
        let sel = |op: &str, values: Value| {
            Value::object([
                ("match_labels", Value::Null),
                (
                    "match_expressions",
                    Value::List(vec![Value::object([
                        ("key", s("a")),
                        ("operator", s(op)),
                        ("values", values),
                    ])]),
                ),
            ])
        };
        let tol = |op: &str, value: &str, effect: &str| {
            Value::List(vec![Value::object([
                ("key", s("k")),
                ("operator", s(op)),
                (
                    "value",
                    if value.is_empty() {
                        Value::Null
                    } else {
                        s(value)
                    },
                ),
                ("effect", s(effect)),
                ("toleration_seconds", Value::Null),
            ])])
        };
        let res = |q: &str| {
            Value::object([
                (
                    "requests",
                    Value::Map(BTreeMap::from([("cpu".to_string(), s(q))])),
                ),
                ("limits", Value::Null),
            ])
        };
        let cases: Vec<(&str, Value, &str)> = vec![
            ("aws_region", s("Europe"), "aws_region"),
            ("namespace", s("Kube_System"), "namespace"),
            ("name", s("1webhook"), "name"),
            ("image", s("repo"), "image"),
            ("image", s("UPPER:v1"), "image"),
            (
                "token_expiration",
                Value::number(599i64),
                "token_expiration",
            ),
            ("failure_policy", s("Deny"), "failure_policy"),
            (
                "admission_review_versions",
                Value::string_list(["v2"]),
                "admission_review_versions[0]",
            ),
            (
                "service_account_lookup_grace_period",
                s("5 seconds"),
                "service_account_lookup_grace_period",
            ),
            ("certificate_validity", s("1y"), "certificate_validity"),
            (
                "certificate_renew_before",
                s("9000h"),
                "certificate_renew_before",
            ),
            (
                "object_selector",
                sel("Like", Value::Null),
                "object_selector.match_expressions[0].operator",
            ),
            (
                "namespace_selector",
                sel("In", Value::Null),
                "namespace_selector.match_expressions[0].values",
            ),
            (
                "tolerations",
                tol("Matches", "", "NoSchedule"),
                "tolerations[0].operator",
            ),
            (
                "tolerations",
                tol("Exists", "", "NoRun"),
                "tolerations[0].effect",
            ),
            (
                "tolerations",
                tol("Exists", "v", "NoSchedule"),
                "tolerations[0].value",
            ),
            ("resources", res("lots"), "resources.requests[\"cpu\"]"),
            ("replicas", Value::number(0i64), "replicas"),
        ];
        let valid = base().to_value();
        assert!(
            validate_value(&valid).0.is_empty(),
            "{:?}",
            validate_value(&valid)
        );
        for (attr, value, path) in cases {
            let mut v = valid.clone();
            v.set_attr(attr, value);
            let d = validate_value(&v);
            let paths: Vec<String> =
                d.0.iter()
                    .filter_map(|x| x.path.as_ref().map(|p| p.to_string()))
                    .collect();
            assert!(
                paths.iter().any(|p| p == path),
                "{attr}: want {path}, got {paths:?} ({d:?})"
            );
        }
    }
}
