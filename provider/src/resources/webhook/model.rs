//! `irsa_webhook`: the typed model (the schema comes from it). Each
//! attribute declares its default and its own rules; `validate` keeps only
//! the rules that span several attributes. [`Config`] is the plan's values
//! turned into the objects' settings.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::webhook::manifests::{self, Requirement, Selector, Spec, Toleration};
use tfplugin::timeouts::Timeouts;
use tfplugin::types::dns::Dns1035Label;
use tfplugin::types::{DnsLabel, DnsSubdomain, GoDuration, Region, TfEnum};
use tfplugin::validate::{at_least, between, human, Invalid};
use tfplugin::{AttrPath, Diagnostics, Model, Tf};

pub const TYPE_NAME: &str = "irsa_webhook";
/// Pods reload a renewed certificate only after the kubelet updates the
/// Secret volume (up to about a minute).
const MIN_VALIDITY: Duration = Duration::from_secs(10 * 60);

/// The [amazon-eks-pod-identity-webhook](https://github.com/aws/amazon-eks-pod-identity-webhook) installed through
/// the Kubernetes API with server-side apply (field manager `terraform-provider-irsa`): a ServiceAccount, a
/// ClusterRole and ClusterRoleBinding (get/list/watch on serviceaccounts), the serving Secret, a Secret holding the
/// CA, a Deployment, a Service, a PodDisruptionBudget when `replicas` > 1, and the MutatingWebhookConfiguration,
/// applied only once the Deployment is available. The provider makes the CA and the serving certificate; no private
/// key is ever in Terraform state.
///
/// The serving certificate is renewed only when Terraform plans and applies this resource: a webhook nobody
/// re-applies keeps serving it until `certificate_not_after`, and from then on the API server refuses its TLS and
/// pods get no credentials injected (or, with `failure_policy = "Fail"`, are refused). The default validity, ten
/// years as Helm charts and install scripts give webhook certificates, outlasts a cluster left alone; the trust is
/// pinned to this webhook's `caBundle` alone.
///
/// Import with `<namespace>/<name>`: `terraform import irsa_webhook.this kube-system/pod-identity-webhook`.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct WebhookModel {
    // Required
    /// The region pods get as `AWS_REGION` and `AWS_DEFAULT_REGION` (`--aws-default-region`), e.g. `eu-west-1`.
    #[tf(required)]
    pub aws_region: Tf<Region>,

    // Optional
    /// Namespace of the webhook's objects; it must exist. Changing it replaces the webhook.
    #[tf(optional, computed, replace, default = "kube-system")]
    pub namespace: Tf<DnsLabel>,
    /// Name of the Deployment, Service and ServiceAccount: an RFC 1035 label (lowercase letters, digits and `-`,
    /// starting with a letter, at most 63), as Kubernetes requires of a Service name. Changing it replaces the
    /// webhook.
    #[tf(optional, computed, replace, default = "pod-identity-webhook")]
    pub name: Tf<Dns1035Label>,
    /// Container image, by tag or `@sha256:` digest.
    #[tf(optional, computed, default = manifests::DEFAULT_IMAGE, validate = image)]
    pub image: Tf<String>,
    /// Number of webhook pods, spread across nodes where possible (never a hard rule).
    #[tf(optional, computed, default = 2, validate = between(1, 100, "Invalid replicas", "2 or more keeps the webhook up during a node drain"))]
    pub replicas: Tf<i64>,
    /// Inject `AWS_STS_REGIONAL_ENDPOINTS=regional` (`--sts-regional-endpoint`).
    #[tf(optional, computed, default = true)]
    pub sts_regional_endpoints: Tf<bool>,
    /// Default audience of the projected token (`--token-audience`).
    #[tf(optional, computed, default = "sts.amazonaws.com", validate = audience)]
    pub token_audience: Tf<String>,
    /// Lifetime of the projected token in seconds (`--token-expiration`), from 600 (the TokenRequest API's minimum)
    /// to 2^32.
    #[tf(optional, computed, default = 86400, validate = between(600, 1 << 32, "Invalid token expiration", "the webhook and the TokenRequest API need at least 600 seconds"))]
    pub token_expiration: Tf<i64>,
    /// Prefix of the service-account annotations the webhook reads (`<prefix>/role-arn`, ...): a DNS subdomain.
    #[tf(optional, computed, default = "eks.amazonaws.com")]
    pub annotation_prefix: Tf<DnsSubdomain>,
    /// `Ignore` (pods start without credentials while the webhook is down) or `Fail` (pod creation fails
    /// instead). The webhook's own pods are always excluded, so `Fail` cannot lock it out.
    #[tf(optional, computed, default = "Ignore")]
    pub failure_policy: Tf<FailurePolicy>,
    /// Admission review versions offered to the webhook, each `v1beta1` or `v1`, no repeats. v0.6.17 answers `v1`
    /// reviews without `apiVersion`/`kind`, which a self-managed kube-apiserver rejects: keep `v1beta1`.
    #[tf(optional, computed, default = ["v1beta1"], validate = distinct_versions)]
    pub admission_review_versions: Tf<Vec<Tf<AdmissionReviewVersion>>>,
    /// How long the webhook waits for a pod's ServiceAccount to reach its cache (Go duration,
    /// `--service-account-lookup-grace-period`).
    #[tf(optional, computed, default = "0s")]
    pub service_account_lookup_grace_period: Tf<GoDuration>,
    /// Node labels the webhook pods must match. Default: none.
    #[tf(optional, validate = labels)]
    pub node_selector: Tf<BTreeMap<String, Tf<String>>>,
    /// Priority class of the webhook pods (a DNS subdomain); empty for none.
    #[tf(optional, computed, default = "system-cluster-critical", validate = priority_class)]
    pub priority_class_name: Tf<String>,
    /// Validity of the serving certificate (Go duration, at least `10m`). The CA lasts five times as long.
    /// Changing it makes a new CA (see `ca_bundle`).
    #[tf(optional, computed, default = "87600h", validate = at_least(MIN_VALIDITY, "Certificate validity too short"))]
    pub certificate_validity: Tf<GoDuration>,
    /// The plan re-issues the serving certificate (same CA) when less than this remains; less than
    /// `certificate_validity`.
    #[tf(optional, computed, default = "720h")]
    pub certificate_renew_before: Tf<GoDuration>,
    /// Wait until the Deployment is rolled out (as `kubectl rollout status`) before applying the webhook
    /// configuration.
    #[tf(optional, computed, default = true)]
    pub wait_for_rollout: Tf<bool>,
    /// Take over fields another field manager owns instead of failing with a conflict.
    #[tf(optional, computed, default = false)]
    pub force_conflicts: Tf<bool>,

    // Computed
    /// `<namespace>/<name>`.
    #[tf(computed, keep)]
    pub id: Tf<String>,
    /// The Service kube-apiserver calls (`<name>`, port 443, in `namespace`).
    #[tf(computed, keep)]
    pub service_name: Tf<String>,
    /// PEM of the CA that signs the serving certificate (its key is in the Secret `<name>-ca`, mounted nowhere).
    #[tf(computed, keep)]
    pub ca_certificate: Tf<String>,
    /// PEM of every CA in the webhook configuration's `caBundle`: the current CA, and during a CA rotation the
    /// previous one too (removed by the first apply at least 5 minutes after the rotation).
    #[tf(computed, keep)]
    pub ca_bundle: Tf<String>,
    /// PEM of the serving certificate (key in the Secret `<name>-cert`).
    #[tf(computed, keep)]
    pub serving_certificate: Tf<String>,
    /// `sha256:<hex>` of the serving certificate's DER.
    #[tf(computed, keep)]
    pub certificate_fingerprint: Tf<String>,
    /// When the serving certificate expires (RFC 3339): the date the webhook stops working unless a plan and
    /// apply renews it first (the plan does once less than `certificate_renew_before` remains).
    #[tf(computed, keep)]
    pub certificate_not_after: Tf<String>,
    /// When the CA expires (RFC 3339).
    #[tf(computed, keep)]
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
    /// Resources of the webhook container; a request may not exceed its limit.
    #[tf(optional, computed, nested, default = default_resources())]
    pub resources: Tf<ResourcesModel>,
    #[tf(timeouts(create = "10m", update = "10m", delete = "5m"))]
    pub timeouts: Tf<Timeouts>,
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
    #[tf(optional, validate = labels)]
    pub match_labels: Tf<BTreeMap<String, Tf<String>>>,
    /// Requirements that must all hold: `[{ key = "...", operator = "In", values = ["..."] }]`.
    #[tf(optional, nested)]
    pub match_expressions: Tf<Vec<RequirementModel>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct RequirementModel {
    /// The label key.
    #[tf(required, validate = label_key)]
    pub key: Tf<String>,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    #[tf(required)]
    pub operator: Tf<SelectorOperator>,
    /// Values for `In` and `NotIn` (at least one); none for `Exists` and `DoesNotExist`.
    #[tf(optional)]
    pub values: Tf<Vec<Tf<String>>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct TolerationModel {
    /// Taint key; empty with `operator = "Exists"` tolerates every taint.
    #[tf(optional, validate = taint_key)]
    pub key: Tf<String>,
    /// `Equal` (when left out) or `Exists`.
    #[tf(optional)]
    pub operator: Tf<TolerationOperator>,
    /// Taint value for `Equal`.
    #[tf(optional)]
    pub value: Tf<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty or left out matches every effect.
    #[tf(optional)]
    pub effect: Tf<TolerationEffect>,
    /// With `NoExecute`: how long the pod stays bound after the taint appears.
    #[tf(optional)]
    pub toleration_seconds: Tf<i64>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ResourcesModel {
    /// Requested quantities, e.g. `{ cpu = "50m", memory = "64Mi" }`.
    #[tf(optional, validate = quantities)]
    pub requests: Tf<BTreeMap<String, Tf<String>>>,
    /// Limits, e.g. `{ memory = "128Mi" }`.
    #[tf(optional, validate = quantities)]
    pub limits: Tf<BTreeMap<String, Tf<String>>>,
}

#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    Ignore,
    Fail,
}

#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionReviewVersion {
    #[tf(name = "v1beta1")]
    V1beta1,
    #[tf(name = "v1")]
    V1,
}

#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

#[derive(TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TolerationEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
    /// Every effect.
    #[tf(name = "")]
    Any,
}

fn default_resources() -> ResourcesModel {
    let map = |entries: &[(&str, &str)]| {
        Tf::map_of(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    ResourcesModel {
        requests: map(&[("cpu", "50m"), ("memory", "64Mi")]),
        limits: map(&[("memory", "128Mi")]),
    }
}

pub fn schema() -> tfplugin::Schema {
    WebhookModel::schema(0)
}

/// The plan's values as the objects' settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub spec: Spec,
    pub validity: Duration,
    pub renew_before: Duration,
}

// ---------------------------------------------------------------------------
// Rules of one attribute (declared on the fields above)
// ---------------------------------------------------------------------------

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name up to 63 of
/// `[A-Za-z0-9_.-]` starting and ending alphanumeric.
pub fn is_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(|p| tfplugin::types::dns::check_subdomain(p).is_ok())
        && is_label_value(name)
        && !name.is_empty()
}

pub fn is_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && v.as_bytes()[0].is_ascii_alphanumeric()
            && v.as_bytes()[v.len() - 1].is_ascii_alphanumeric())
}

fn label_key(k: &String) -> Result<(), Invalid> {
    if is_label_key(k) {
        Ok(())
    } else {
        Err(Invalid::new(
            "Invalid label key",
            format!("{k:?} is not a label key ([prefix/]name, name up to 63 letters, digits, `-`, `_`, `.`)."),
        ))
    }
}

fn taint_key(k: &String) -> Result<(), Invalid> {
    if k.is_empty() || is_label_key(k) {
        Ok(())
    } else {
        Err(Invalid::new(
            "Invalid taint key",
            format!("{k:?} is not a taint key."),
        ))
    }
}

/// Label keys and values of a selector or node selector.
fn labels(m: &BTreeMap<String, Tf<String>>) -> Result<(), Invalid> {
    for (k, v) in m {
        let at = tfplugin::diag::PathStep::Key(k.clone());
        label_key(k).map_err(|mut e| {
            e.at.insert(0, at.clone());
            e
        })?;
        if let Some(v) = v.known().filter(|v| !is_label_value(v)) {
            return Err(Invalid {
                summary: "Invalid label value".into(),
                detail: format!("{v:?} is not a label value (up to 63 letters, digits, `-`, `_`, `.`, starting and ending alphanumeric)."),
                at: vec![at],
            });
        }
    }
    Ok(())
}

fn quantities(m: &BTreeMap<String, Tf<String>>) -> Result<(), Invalid> {
    for (k, v) in m {
        let at = vec![tfplugin::diag::PathStep::Key(k.clone())];
        if !is_label_key(k) {
            return Err(Invalid {
                summary: "Invalid resource name".into(),
                detail: format!("{k:?} is not a resource name such as \"cpu\" or \"memory\"."),
                at,
            });
        }
        if let Some(q) = v.known() {
            if manifests::canonical_quantity(q).is_none() || q.starts_with('-') {
                return Err(Invalid {
                    summary: "Invalid quantity".into(),
                    detail: format!("{q:?} is not a Kubernetes quantity such as \"50m\", \"0.5\", \"64Mi\" or \"1G\"."),
                    at,
                });
            }
        }
    }
    Ok(())
}

fn image(image: &String) -> Result<(), Invalid> {
    check_image(image).map_err(|why| Invalid::new("Invalid image reference", why))
}

fn audience(a: &String) -> Result<(), Invalid> {
    if a.trim().is_empty() || a.contains(',') {
        Err(Invalid::new(
            "Invalid audience",
            "The audience must be one non-empty value.",
        ))
    } else {
        Ok(())
    }
}

fn priority_class(p: &String) -> Result<(), Invalid> {
    match tfplugin::types::dns::check_subdomain(p) {
        Err(why) if !p.is_empty() => Err(Invalid::new(
            "Invalid priority class",
            format!("Not a PriorityClass name (a DNS subdomain): {why}"),
        )),
        _ => Ok(()),
    }
}

fn distinct_versions(vs: &Vec<Tf<AdmissionReviewVersion>>) -> Result<(), Invalid> {
    if vs.is_empty() {
        return Err(Invalid::new(
            "Invalid admission review versions",
            "Give at least one of \"v1beta1\" and \"v1\".",
        ));
    }
    for (i, v) in vs.iter().enumerate() {
        if let Some(v) = v.known() {
            if vs[..i].iter().any(|w| w.known() == Some(v)) {
                return Err(Invalid::new(
                    "Duplicate admission review version",
                    format!("{:?} is listed twice.", v.as_str()),
                )
                .at_index(i));
            }
        }
    }
    Ok(())
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

// ---------------------------------------------------------------------------
// Rules that span several attributes
// ---------------------------------------------------------------------------

/// The configured value, or the attribute's declared default.
fn or_default(v: &Tf<GoDuration>, attr: &str) -> Option<Duration> {
    match v {
        Tf::Known(d) => Some(d.duration()),
        Tf::Unknown(_) => None,
        Tf::Null => {
            let d = WebhookModel::default_for(attr)?;
            Some(GoDuration::parse(d.as_str()?).ok()?.duration())
        }
    }
}

fn check_selector(sel: &SelectorModel, path: AttrPath, d: &mut Diagnostics) {
    for (i, e) in sel
        .match_expressions
        .known()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = path
            .clone()
            .attr("match_expressions")
            .index(i)
            .attr("values");
        let n_values = e.values.known().map(Vec::len);
        match e.operator.known() {
            Some(SelectorOperator::In | SelectorOperator::NotIn)
                if n_values == Some(0) || e.values.is_null() =>
            {
                d.error_at(
                    p,
                    "Missing values",
                    "`In` and `NotIn` need at least one value.",
                )
            }
            Some(SelectorOperator::Exists | SelectorOperator::DoesNotExist)
                if n_values.is_some_and(|n| n > 0) =>
            {
                d.error_at(
                    p,
                    "Values not allowed",
                    "`Exists` and `DoesNotExist` take no values.",
                )
            }
            _ => {}
        }
    }
}

fn check_toleration(t: &TolerationModel, p: AttrPath, d: &mut Diagnostics) {
    let op = match &t.operator {
        Tf::Null => Some(TolerationOperator::Equal),
        other => other.known().copied(),
    };
    if op == Some(TolerationOperator::Exists) && t.value.as_deref().is_some_and(|v| !v.is_empty()) {
        d.error_at(
            p.clone().attr("value"),
            "Value not allowed",
            "A toleration with operator \"Exists\" takes no value.",
        );
    }
    if op == Some(TolerationOperator::Equal) && t.key.as_deref().is_some_and(str::is_empty) {
        d.error_at(
            p.clone().attr("key"),
            "Missing key",
            "An empty key needs operator \"Exists\".",
        );
    }
    let no_execute = match &t.effect {
        Tf::Known(e) => Some(*e == TolerationEffect::NoExecute),
        Tf::Null => Some(false),
        Tf::Unknown(_) => None,
    };
    if t.toleration_seconds.is_known() && no_execute == Some(false) {
        d.error_at(
            p.attr("toleration_seconds"),
            "Toleration seconds not allowed",
            "`toleration_seconds` applies to the effect \"NoExecute\" only.",
        );
    }
}

/// A request above its limit is refused by the API server when the
/// Deployment is applied, after the objects before it are written: refused
/// here instead.
fn check_requests_within_limits(r: &ResourcesModel, d: &mut Diagnostics) {
    let (Some(requests), Some(limits)) = (r.requests.known(), r.limits.known()) else {
        return;
    };
    for (name, request) in requests {
        let (Some(request), Some(limit)) =
            (request.known(), limits.get(name).and_then(|l| l.known()))
        else {
            continue;
        };
        let (Some(rv), Some(lv)) = (
            manifests::quantity_value(request),
            manifests::quantity_value(limit),
        ) else {
            continue;
        };
        if rv > lv {
            d.error_at(
                AttrPath::root("resources").attr("requests").key(name),
                "Request above its limit",
                format!("The {name} request {request:?} is more than its limit {limit:?}; Kubernetes refuses such a container. Lower the request or raise the limit."),
            );
        }
    }
}

/// Static checks that span attributes; unknown values are skipped (they
/// are checked when known). Each attribute's own rules are on the field.
pub fn validate(m: &WebhookModel) -> Diagnostics {
    let mut d = Diagnostics::default();
    let at = AttrPath::root;
    let validity = or_default(&m.certificate_validity, "certificate_validity");
    let renew = or_default(&m.certificate_renew_before, "certificate_renew_before");
    if let (Some(v), Some(r)) = (validity, renew) {
        if r >= v {
            d.error_at(at("certificate_renew_before"), "Renewal window too long", format!("certificate_renew_before ({}) must be less than certificate_validity ({}), or every plan would renew.", human(r), human(v)));
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
    for (i, t) in m.tolerations.known().into_iter().flatten().enumerate() {
        check_toleration(t, at("tolerations").index(i), &mut d);
    }
    if let Some(r) = m.resources.known() {
        check_requests_within_limits(r, &mut d);
    }
    d
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
                        operator: e.operator.known().map_or("", |o| o.as_str()).into(),
                        values: e.values.known_items().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn text<T: ToString>(v: &Tf<T>) -> String {
    v.known().map(T::to_string).unwrap_or_default()
}

impl Config {
    /// The settings of a plan or state: every argument known, defaults in place.
    pub fn from_model(m: &WebhookModel) -> Config {
        let canon = |m: BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.into_iter()
                .map(|(k, v)| {
                    let c = manifests::canonical_quantity(&v).unwrap_or(v);
                    (k, c)
                })
                .collect()
        };
        let resources = m
            .resources
            .known()
            .cloned()
            .unwrap_or_else(default_resources);
        let duration = |v: &Tf<GoDuration>| v.known().map(GoDuration::duration).unwrap_or_default();
        let spec = Spec {
            namespace: text(&m.namespace),
            name: text(&m.name),
            image: text(&m.image),
            replicas: m.replicas.known().copied().unwrap_or_default(),
            aws_region: text(&m.aws_region),
            sts_regional_endpoints: m.sts_regional_endpoints.known() == Some(&true),
            token_audience: text(&m.token_audience),
            token_expiration: m.token_expiration.known().copied().unwrap_or_default(),
            annotation_prefix: text(&m.annotation_prefix),
            failure_policy: text(&m.failure_policy),
            namespace_selector: selector(&m.namespace_selector),
            object_selector: selector(&m.object_selector),
            admission_review_versions: m
                .admission_review_versions
                .known_items()
                .unwrap_or_default()
                .iter()
                .map(|v| v.as_str().to_string())
                .collect(),
            service_account_lookup_grace_period: text(&m.service_account_lookup_grace_period),
            node_selector: strings(&m.node_selector),
            tolerations: m
                .tolerations
                .known()
                .map(|ts| {
                    ts.iter()
                        .map(|t| Toleration {
                            key: t.key.as_deref().unwrap_or_default().into(),
                            operator: t.operator.known().map_or("Equal", |o| o.as_str()).into(),
                            value: t.value.as_deref().unwrap_or_default().into(),
                            effect: t.effect.known().map_or("", |e| e.as_str()).into(),
                            toleration_seconds: t.toleration_seconds.known().copied(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            priority_class_name: text(&m.priority_class_name),
            requests: canon(strings(&resources.requests)),
            limits: canon(strings(&resources.limits)),
            certificate_validity: text(&m.certificate_validity),
            certificate_renew_before: text(&m.certificate_renew_before),
            wait_for_rollout: m.wait_for_rollout.known() == Some(&true),
            force_conflicts: m.force_conflicts.known() == Some(&true),
        };
        Config {
            validity: duration(&m.certificate_validity),
            renew_before: duration(&m.certificate_renew_before),
            spec,
        }
    }
}

/// The optional+computed arguments with their values from `spec` (as
/// import restores them).
pub fn set_arguments(m: &mut WebhookModel, spec: &Spec) {
    fn parsed<T: tfplugin::TfType>(text: &str, attr: &str) -> Tf<T> {
        T::from_value(&tfplugin::Value::string(text), &AttrPath::root(attr))
            .map_or(Tf::Null, Tf::Known)
    }
    m.namespace = parsed(&spec.namespace, "namespace");
    m.name = parsed(&spec.name, "name");
    m.aws_region = parsed(&spec.aws_region, "aws_region");
    m.image = Tf::Known(spec.image.clone());
    m.replicas = Tf::Known(spec.replicas);
    m.sts_regional_endpoints = Tf::Known(spec.sts_regional_endpoints);
    m.token_audience = Tf::Known(spec.token_audience.clone());
    m.token_expiration = Tf::Known(spec.token_expiration);
    m.annotation_prefix = parsed(&spec.annotation_prefix, "annotation_prefix");
    m.failure_policy = parsed(&spec.failure_policy, "failure_policy");
    m.admission_review_versions = Tf::Known(
        spec.admission_review_versions
            .iter()
            .map(|v| parsed(v, "admission_review_versions"))
            .collect(),
    );
    m.service_account_lookup_grace_period = parsed(
        &spec.service_account_lookup_grace_period,
        "service_account_lookup_grace_period",
    );
    m.priority_class_name = Tf::Known(spec.priority_class_name.clone());
    m.certificate_validity = parsed(&spec.certificate_validity, "certificate_validity");
    m.certificate_renew_before = parsed(&spec.certificate_renew_before, "certificate_renew_before");
    m.wait_for_rollout = Tf::Known(spec.wait_for_rollout);
    m.force_conflicts = Tf::Known(spec.force_conflicts);
    set_names(m, spec);
}

/// The attributes that follow from the namespace and name.
pub fn set_names(m: &mut WebhookModel, spec: &Spec) {
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
                            operator: SelectorOperator::parse(&e.operator).into(),
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
                    operator: TolerationOperator::parse(&t.operator).into(),
                    value: if t.value.is_empty() {
                        Tf::Null
                    } else {
                        Tf::Known(t.value.clone())
                    },
                    effect: if t.effect.is_empty() {
                        Tf::Null
                    } else {
                        TolerationEffect::parse(&t.effect).into()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{TfType, Value};

    #[test]
    fn a_63_character_name_is_a_valid_service_name() {
        let mut m = base().to_value();
        m.set_attr("name", Value::string(format!("w{}", "a".repeat(62))));
        assert!(validate_value(&m).is_empty(), "{:?}", validate_value(&m));
    }

    #[test]
    fn a_request_within_its_limit_passes_and_bare_requests_need_no_limit() {
        let mut m = base();
        m.resources = Tf::Known(ResourcesModel {
            requests: Tf::map_of(BTreeMap::from([
                ("memory".to_string(), "128Mi".to_string()),
                ("cpu".to_string(), "2".to_string()),
            ])),
            limits: Tf::map_of(BTreeMap::from([(
                "memory".to_string(),
                "0.125Gi".to_string(),
            )])),
        });
        assert!(validate(&m).is_empty(), "{:?}", validate(&m));
    }

    fn base() -> WebhookModel {
        WebhookModel {
            aws_region: Tf::Known(Region::parse("eu-west-1").unwrap()),
            ..Default::default()
        }
    }

    /// What plan makes of a configuration: its values with the defaults.
    fn planned(config: &WebhookModel) -> WebhookModel {
        let mut m = config.clone();
        m.apply_defaults(config);
        m
    }

    /// Every problem of a configuration, as validate and plan report them.
    fn validate_value(v: &Value) -> Diagnostics {
        match WebhookModel::decode(v) {
            Err(d) => d,
            Ok(m) => {
                let mut d = m.validate_fields();
                d.extend(validate(&m));
                d
            }
        }
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::from_model(&planned(&base()));
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
        assert_eq!(c.validity, Duration::from_secs(87600 * 3600), "ten years");
        assert_eq!(c.renew_before, Duration::from_secs(720 * 3600));
        let m = planned(&base());
        let delete = m.timeout(tfplugin::timeouts::Operation::Delete);
        assert_eq!(delete, Some(Duration::from_secs(300)));
        assert_eq!(c.spec.limits["memory"], "128Mi");
        assert_eq!(c.spec.requests["cpu"], "50m");
        // The schema states the defaults the plan applies.
        let b = WebhookModel::block();
        assert!(b
            .find_attribute("replicas")
            .unwrap()
            .description
            .ends_with("Default: `2`."));
        assert!(b
            .find_attribute("certificate_validity")
            .unwrap()
            .description
            .ends_with("Default: `\"87600h\"`."));
    }

    #[test]
    fn quantities_are_stored_canonical() {
        let mut m = base();
        m.resources = Tf::Known(ResourcesModel {
            requests: Tf::map_of(BTreeMap::from([("cpu".into(), "0.5".into())])),
            limits: Tf::Null,
        });
        let c = Config::from_model(&planned(&m));
        assert_eq!(c.spec.requests["cpu"], "500m");
        assert!(c.spec.limits.is_empty());
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
            ("name", s(&format!("w{}", "a".repeat(63))), "name"),
            ("token_audience", s("a,b"), "token_audience"),
            ("certificate_validity", s("9m"), "certificate_validity"),
            (
                "service_account_lookup_grace_period",
                s("-1s"),
                "service_account_lookup_grace_period",
            ),
            (
                "admission_review_versions",
                Value::string_list(["v1", "v1"]),
                "admission_review_versions[1]",
            ),
            (
                "resources",
                Value::object([
                    (
                        "requests",
                        Value::Map(BTreeMap::from([("memory".to_string(), s("256Mi"))])),
                    ),
                    (
                        "limits",
                        Value::Map(BTreeMap::from([("memory".to_string(), s("128Mi"))])),
                    ),
                ]),
                "resources.requests[\"memory\"]",
            ),
            (
                "node_selector",
                Value::Map(BTreeMap::from([("bad key!".to_string(), s("x"))])),
                "node_selector[\"bad key!\"]",
            ),
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
                s("90000h"),
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
