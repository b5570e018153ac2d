//! HTTP: authentication, routing, request decoding and response encoding.
//! The verb semantics live in `ops`, `tokens` and `watch`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{json, Value};

use super::keys::{SigningKey, DISCOVERY_PATH, JWKS_PATH};
use super::ops::{self, Ctx, DeleteOptions, PatchKind, Written};
use super::resources::{self, ResourceType};
use super::selectors::Selectors;
use super::status::{ApiError, FieldError};
use super::store::meta_str;
use super::util::{b64url, constant_time_eq};
use super::{tokens, watch, RbacRule, Shared};

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// kube-apiserver's default request body limit (3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// The user name the forbidden token authenticates as.
pub const RESTRICTED_USER: &str = "system:serviceaccount:default:restricted";

#[derive(Debug, Clone, PartialEq)]
enum User {
    Admin,
    Restricted,
    /// May do anything to namespaced resources of one namespace (the `admin`
    /// ClusterRole bound by a RoleBinding there), nothing cluster-wide.
    NamespaceAdmin {
        namespace: String,
        name: String,
    },
    /// Authorized by its RBAC rules.
    Rbac {
        name: String,
        rules: Vec<RbacRule>,
    },
    /// A service account authenticated by a token this server minted
    /// (unexpired, for the API audience): the default RBAC of a cluster
    /// gives it discovery and the issuer documents only.
    ServiceAccount {
        name: String,
    },
}

impl User {
    fn name(&self) -> &str {
        match self {
            User::Admin => "kubernetes-admin",
            User::Restricted => RESTRICTED_USER,
            User::NamespaceAdmin { name, .. }
            | User::Rbac { name, .. }
            | User::ServiceAccount { name } => name,
        }
    }
}

/// What a resource URL asks for, whether or not the fake serves it: the
/// RBAC authorizer runs before routing, so an unknown resource is 403 too.
struct RawTarget {
    group: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn raw_target(path: &str) -> Option<RawTarget> {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _v, rest @ ..] => ("", rest),
        ["apis", g, _v, rest @ ..] => (*g, rest),
        _ => return None,
    };
    // As the apiserver's RequestInfoFactory: `/namespaces/<ns>` is the
    // Namespace `<ns>` *in* namespace `<ns>` (so a RoleBinding there may
    // allow reading it), `status` and `finalize` are its subresources.
    let (namespace, rest) = match rest {
        ["namespaces", ns] => (Some((*ns).to_string()), vec!["namespaces", *ns]),
        ["namespaces", ns, s @ ("status" | "finalize")] => {
            (Some((*ns).to_string()), vec!["namespaces", *ns, *s])
        }
        ["namespaces", ns, r, rest @ ..] => (Some((*ns).to_string()), {
            let mut v = vec![*r];
            v.extend_from_slice(rest);
            v
        }),
        other => (None, other.to_vec()),
    };
    let (resource, name, sub) = match rest.as_slice() {
        [] => return None,
        [r] => (*r, None, None),
        [r, n] => (*r, Some(*n), None),
        [r, n, s, ..] => (*r, Some(*n), Some(*s)),
    };
    Some(RawTarget {
        group: group.to_string(),
        resource: resource.to_string(),
        namespace,
        name: name.map(str::to_string),
        sub: sub.map(str::to_string),
    })
}

/// The authorizer's view of a request (authorizer.Attributes).
#[derive(Debug, Clone)]
pub(crate) struct Attributes {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Attributes {
    fn forbidden(&self, user: &User) -> ApiError {
        ApiError::forbidden_raw(
            user.name(),
            &self.verb,
            &self.group,
            &self.resource,
            self.subresource.as_deref(),
            self.namespace.as_deref(),
            self.name.as_deref(),
        )
    }
}

fn attributes(method: &Method, path: &str, query: Option<&str>) -> Option<Attributes> {
    let t = raw_target(path)?;
    let q = parse_query(query);
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = match (method.as_str(), t.name.is_some()) {
        ("GET" | "HEAD", false) if watching => "watch",
        ("GET" | "HEAD", false) => "list",
        ("GET" | "HEAD", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        _ => "unknown",
    };
    Some(Attributes {
        verb: verb.to_string(),
        group: t.group,
        resource: t.resource,
        subresource: t.sub,
        namespace: t.namespace,
        name: t.name,
    })
}

/// rbac's ResourceMatches: `*`, the exact `resource[/subresource]`, or `*/subresource`.
fn resource_matches(rule: &RbacRule, a: &Attributes) -> bool {
    let combined = match &a.subresource {
        Some(s) => format!("{}/{s}", a.resource),
        None => a.resource.clone(),
    };
    rule.resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || a.subresource
                .as_ref()
                .is_some_and(|s| r.strip_prefix("*/") == Some(s.as_str()))
    })
}

fn rule_matches(rule: &RbacRule, a: &Attributes) -> bool {
    if let Some(ns) = &rule.namespace {
        if a.namespace.as_deref() != Some(ns.as_str()) {
            return false;
        }
    }
    let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
    any(&rule.verbs, &a.verb) && any(&rule.api_groups, &a.group) && resource_matches(rule, a)
}

/// The authorizer: `Some(reason)` when allowed (the reason RBAC gives),
/// `None` when not (RBAC gives no reason then).
fn decide(user: &User, a: &Attributes) -> Option<String> {
    // system:basic-user, bound to every authenticated user.
    if a.group == "authorization.k8s.io"
        && matches!(
            a.resource.as_str(),
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews"
        )
        && a.verb == "create"
        && a.subresource.is_none()
    {
        return Some(
            "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\"".into(),
        );
    }
    match user {
        User::Admin => Some(
            "RBAC: allowed by ClusterRoleBinding \"kubeadm:cluster-admins\" of ClusterRole \"cluster-admin\" to Group \"kubeadm:cluster-admins\"".into(),
        ),
        User::Restricted | User::ServiceAccount { .. } => None,
        User::NamespaceAdmin { namespace, name } => {
            let own = a.namespace.as_deref() == Some(namespace.as_str());
            // `admin` may read its own Namespace, not change it; its rules
            // name no cluster-scoped kind (a review may still ask about one
            // "in" a namespace).
            let cluster_scoped = resources::RESOURCES
                .iter()
                .any(|r| r.group == a.group && r.plural == a.resource && !r.namespaced);
            let ok = own
                && if a.resource == "namespaces" && a.group.is_empty() {
                    matches!(a.verb.as_str(), "get" | "list" | "watch")
                } else {
                    !cluster_scoped
                };
            let sa = name.rsplit(':').next().unwrap_or(name);
            ok.then(|| {
                format!(
                    "RBAC: allowed by RoleBinding \"{sa}-admin/{namespace}\" of ClusterRole \"admin\" to ServiceAccount \"{sa}/{namespace}\""
                )
            })
        }
        User::Rbac { name, rules } => rules.iter().position(|r| rule_matches(r, a)).map(|i| {
            match &rules[i].namespace {
                None => format!(
                    "RBAC: allowed by ClusterRoleBinding \"rule-{i}\" of ClusterRole \"rule-{i}\" to User \"{name}\""
                ),
                Some(ns) => format!(
                    "RBAC: allowed by RoleBinding \"rule-{i}/{ns}\" of Role \"rule-{i}\" to User \"{name}\""
                ),
            }
        }),
    }
}

/// RBAC before routing; `Ok` means allowed.
fn authorize(
    user: &User,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Result<(), ApiError> {
    let Some(a) = attributes(method, path, query) else {
        return Ok(()); // discovery documents: everyone may read them
    };
    match decide(user, &a) {
        Some(_) => Ok(()),
        None => Err(a.forbidden(user)),
    }
}

/// The non-resource paths every authenticated user may GET
/// (system:discovery, system:public-info-viewer, service-account-issuer-discovery).
fn open_path(path: &str) -> bool {
    matches!(
        path,
        "/api"
            | "/apis"
            | "/version"
            | "/healthz"
            | "/livez"
            | "/readyz"
            | DISCOVERY_PATH
            | JWKS_PATH
    ) || path.starts_with("/api/")
        || path.starts_with("/apis/")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`: the
/// review answered by the same authorizer as the requests themselves.
fn self_subject_access_review(user: &User, mut review: Value) -> Result<Value, ApiError> {
    let spec = review["spec"].clone();
    let ra = &spec["resourceAttributes"];
    let nra = &spec["nonResourceAttributes"];
    let invalid = |e: FieldError| {
        ApiError::invalid_kind("authorization.k8s.io", "SelfSubjectAccessReview", "", &[e])
    };
    let decision = match (ra.is_object(), nra.is_object()) {
        (false, false) => {
            return Err(invalid(FieldError::required(
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )))
        }
        (true, true) => {
            return Err(invalid(FieldError::invalid(
                "spec.nonResourceAttributes",
                nra.clone(),
                "cannot be specified in combination with resourceAttributes",
            )))
        }
        (true, false) => {
            let s = |f: &str| ra[f].as_str().unwrap_or("").to_string();
            let opt = |f: &str| Some(s(f)).filter(|v| !v.is_empty());
            let a = Attributes {
                verb: s("verb"),
                group: s("group"),
                resource: s("resource"),
                subresource: opt("subresource"),
                namespace: opt("namespace"),
                name: opt("name"),
            };
            decide(user, &a)
        }
        (false, true) => {
            let path = nra["path"].as_str().unwrap_or("");
            let verb = nra["verb"].as_str().unwrap_or("");
            match user {
                User::Admin => decide(user, &Attributes {
                    verb: verb.into(),
                    group: String::new(),
                    resource: String::new(),
                    subresource: None,
                    namespace: None,
                    name: None,
                }),
                _ if verb == "get" && open_path(path) => Some(
                    "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\"".into(),
                ),
                _ => None,
            }
        }
    };
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    if !review["metadata"].is_object() {
        review["metadata"] = json!({});
    }
    review["metadata"]["creationTimestamp"] = Value::Null;
    review["status"] = match decision {
        Some(reason) => json!({"allowed": true, "reason": reason}),
        None => json!({"allowed": false}),
    };
    Ok(review)
}

/// Requests served, by verb and resource (`deployments.apps`, `pods`,
/// `serviceaccounts/token`; for other paths the path, e.g. `/version`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub total: u64,
    pub by: std::collections::BTreeMap<(String, String), u64>,
}

impl RequestCounts {
    /// How many `verb` requests on `resource` (e.g. `("patch", "deployments.apps")`).
    pub fn get(&self, verb: &str, resource: &str) -> u64 {
        self.by
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests other than discovery (`/api`, `/apis`, `/version`, ...) and OIDC.
    pub fn resource_requests(&self) -> u64 {
        self.by
            .iter()
            .filter(|((_, r), _)| !r.starts_with('/'))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn to_json(&self) -> Value {
        let by: Vec<Value> = self
            .by
            .iter()
            .map(|((v, r), n)| json!({"verb": v, "resource": r, "count": n}))
            .collect();
        json!({"total": self.total, "requests": by})
    }
}

/// The verb and resource a request is counted under.
fn classify(method: &Method, path: &str, query: Option<&str>) -> (String, String) {
    let q = parse_query(query);
    match parse_target(path) {
        Some(t @ (Target::Collection { .. } | Target::Object { .. } | Target::Sub { .. })) => {
            let verb = verb_for(method, &t, &q).to_string();
            let res = match &t {
                Target::Collection { rt, .. } | Target::Object { rt, .. } => rt.group_resource(),
                Target::Sub { rt, sub, .. } => format!("{}/{sub}", rt.group_resource()),
                _ => String::new(),
            };
            (verb, res)
        }
        _ => (verb_of_method(method), path.to_string()),
    }
}

fn body_of(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(body_of(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    respond(code, "application/json", v.to_string())
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// `%XX` and `+` decoding for query components and path segments. Bad
/// escapes are kept literally rather than failing the request.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The media type without parameters, lower-cased.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn accept(headers: &HeaderMap) -> String {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Can the client take a JSON answer? Only a client that lists nothing
/// but other formats (protobuf, CBOR, YAML) gets 406.
fn accepts_json(accept: &str) -> bool {
    accept.trim().is_empty()
        || accept.split(',').any(|r| {
            let t = r.split(';').next().unwrap_or("").trim();
            matches!(t, "application/json" | "*/*" | "application/*")
        })
}

/// Does the client ask for server-side printing (`as=Table`)?
fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|r| {
        let params: Vec<&str> = r.split(';').map(str::trim).collect();
        params.contains(&"as=table") && params.contains(&"g=meta.k8s.io")
    })
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Option<User> {
    let user = authenticate_token(shared, headers)?;
    Some(user)
}

fn authenticate_token(shared: &Shared, headers: &HeaderMap) -> Option<User> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim().as_bytes();
    if constant_time_eq(token, shared.token.as_bytes()) {
        return Some(User::Admin);
    }
    if let Some(a) = shared
        .namespace_admins
        .iter()
        .find(|a| constant_time_eq(token, a.token.as_bytes()))
    {
        return Some(User::NamespaceAdmin {
            namespace: a.namespace.clone(),
            name: format!(
                "system:serviceaccount:{}:{}",
                a.namespace, a.service_account
            ),
        });
    }
    if let Some(u) = shared
        .rbac_users
        .iter()
        .find(|u| constant_time_eq(token, u.token.as_bytes()))
    {
        return Some(User::Rbac {
            name: u.name.clone(),
            rules: u.rules.clone(),
        });
    }
    match &shared.forbidden_token {
        Some(f) if constant_time_eq(token, f.as_bytes()) => Some(User::Restricted),
        _ => service_account_of(shared, token),
    }
}

/// The service account a minted token stands for, as the API server's
/// service-account authenticator finds it: the token must be one this
/// server signed (here: minted), not expired, and carry the API audience
/// (the issuer, as kube-apiserver's `--api-audiences` defaults to).
fn service_account_of(shared: &Shared, token: &[u8]) -> Option<User> {
    let minted = shared
        .minted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|t| constant_time_eq(token, t.as_bytes()));
    if !minted {
        return None;
    }
    let payload = std::str::from_utf8(token).ok()?.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&super::util::b64url_decode(payload)?).ok()?;
    let issuer = shared.issuer();
    let for_api = match &claims["aud"] {
        Value::String(a) => *a == issuer,
        Value::Array(a) => a.iter().any(|a| a.as_str() == Some(issuer.as_str())),
        _ => false,
    };
    let live = claims["exp"]
        .as_i64()
        .is_some_and(|exp| exp > super::util::unix_now());
    let name = claims["sub"].as_str()?;
    (for_api && live && name.starts_with("system:serviceaccount:")).then(|| User::ServiceAccount {
        name: name.to_string(),
    })
}

/// How much of an oversized body is still read (and dropped) before the
/// 413, so the client finishes sending and sees the answer instead of a
/// broken pipe, as Go's net/http does for moderate overruns.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

async fn read_body(mut body: Incoming) -> Result<Bytes, ApiError> {
    let mut kept = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("error reading request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len();
        if total > DRAIN_LIMIT {
            break;
        }
        if total <= MAX_BODY {
            kept.extend_from_slice(&data);
        }
    }
    if total > MAX_BODY {
        return Err(ApiError::too_large());
    }
    Ok(Bytes::from(kept))
}

/// Entry point for every request on every connection.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if !req.uri().path().starts_with("/_sandbox/") {
        let (verb, resource) = classify(&method, req.uri().path(), req.uri().query());
        let mut counts = shared.requests();
        counts.total += 1;
        *counts.by.entry((verb, resource)).or_default() += 1;
    }
    let (user, resp) = match authenticate(&shared, req.headers()) {
        None => (None, error_response(&ApiError::unauthorized())),
        Some(u) => {
            let resp = route(&shared, u.clone(), req)
                .await
                .unwrap_or_else(|e| error_response(&e));
            (Some(u), resp)
        }
    };
    if shared.log_requests {
        // Never the Authorization header: only method, path and outcome.
        let who = user.as_ref().map(User::name).unwrap_or("<unauthenticated>");
        eprintln!(
            "fake-apiserver: {method} {target} -> {} ({who})",
            resp.status().as_u16()
        );
    }
    Ok(resp)
}

/// What a resource URL names.
#[derive(Debug)]
enum Target {
    ResourceList {
        group: String,
        version: String,
    },
    Group(String),
    Collection {
        rt: &'static ResourceType,
        ns: Option<String>,
    },
    Object {
        rt: &'static ResourceType,
        ns: Option<String>,
        name: String,
    },
    Sub {
        rt: &'static ResourceType,
        ns: Option<String>,
        name: String,
        sub: String,
    },
}

fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g] => return resources::api_group(g).map(|_| Target::Group((*g).to_string())),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    if !resources::serves(group, version) {
        return None;
    }
    let lookup = |plural: &str| resources::lookup(group, version, plural);
    if rest.is_empty() {
        return Some(Target::ResourceList {
            group: group.into(),
            version: version.into(),
        });
    }
    // /namespaces/<ns>/<plural>[/<name>[/<sub>]] for namespaced resources.
    if let ["namespaces", ns, plural, tail @ ..] = rest {
        if let Some(rt) = lookup(plural).filter(|rt| rt.namespaced) {
            let ns = Some((*ns).to_string());
            return match tail {
                [] => Some(Target::Collection { rt, ns }),
                [name] => Some(Target::Object {
                    rt,
                    ns,
                    name: (*name).into(),
                }),
                [name, sub] => Some(Target::Sub {
                    rt,
                    ns,
                    name: (*name).into(),
                    sub: (*sub).into(),
                }),
                _ => None,
            };
        }
    }
    let rt = lookup(rest[0])?;
    match &rest[1..] {
        // All namespaces, or a cluster-scoped collection.
        [] => Some(Target::Collection { rt, ns: None }),
        [name] if !rt.namespaced => Some(Target::Object {
            rt,
            ns: None,
            name: (*name).into(),
        }),
        [name, sub] if !rt.namespaced => Some(Target::Sub {
            rt,
            ns: None,
            name: (*name).into(),
            sub: (*sub).into(),
        }),
        _ => None,
    }
}

async fn route(
    shared: &Arc<Shared>,
    user: User,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_sandbox/") {
        if user != User::Admin {
            return Err(ApiError::forbidden_path(
                user.name(),
                &verb_of_method(req.method()),
                &path,
            ));
        }
        return control(shared, rest, req).await;
    }
    if let Some((ct, doc)) = super::discovery_v2::answer(&path, &accept(req.headers())) {
        only_get(req.method())?;
        let mut r = respond(200, &ct, doc.to_string());
        r.headers_mut()
            .insert(http::header::VARY, http::HeaderValue::from_static("Accept"));
        return Ok(r);
    }
    if let Some(resp) = non_resource(shared, &path, req.method())? {
        return Ok(resp);
    }
    authorize(&user, req.method(), &path, req.uri().query())?;
    let target = parse_target(&path).ok_or_else(ApiError::not_found_path)?;
    match target {
        Target::ResourceList { group, version } => {
            only_get(req.method())?;
            let list =
                resources::resource_list(&group, &version).ok_or_else(ApiError::not_found_path)?;
            Ok(json_response(200, &list))
        }
        Target::Group(g) => {
            only_get(req.method())?;
            let group = resources::api_group(&g).ok_or_else(ApiError::not_found_path)?;
            Ok(json_response(200, &group))
        }
        t => resource_request(shared, user, t, req).await,
    }
}

fn only_get(m: &Method) -> Result<(), ApiError> {
    if m == Method::GET || m == Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed())
    }
}

fn verb_of_method(m: &Method) -> String {
    m.as_str().to_ascii_lowercase()
}

/// Discovery, OIDC and health endpoints. Every authenticated user may read
/// them (the real system:discovery / service-account-issuer-discovery roles).
fn non_resource(
    shared: &Shared,
    path: &str,
    method: &Method,
) -> Result<Option<Response<Body>>, ApiError> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let resp = match path {
        "/version" => json_response(200, &resources::version_info()),
        "/api" => json_response(200, &resources::api_versions(&shared.server_address)),
        "/apis" => json_response(200, &resources::api_group_list()),
        "/healthz" | "/livez" | "/readyz" => respond(200, "text/plain; charset=utf-8", "ok"),
        DISCOVERY_PATH => {
            let doc = shared.discovery();
            oidc_response("application/json", &doc)
        }
        JWKS_PATH => oidc_response("application/jwk-set+json", &shared.keys().jwks()),
        _ => return Ok(None),
    };
    only_get(method)?;
    Ok(Some(resp))
}

fn oidc_response(content_type: &str, v: &Value) -> Response<Body> {
    let mut r = respond(200, content_type, v.to_string());
    r.headers_mut().insert(
        CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// `/_sandbox/*`: test control endpoints (see the module docs).
async fn control(
    shared: &Arc<Shared>,
    rest: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let method = req.method().clone();
    match rest.trim_end_matches('/') {
        "rotate-key" => {
            if method != Method::POST {
                return Err(ApiError::method_not_allowed());
            }
            // RSA key generation is CPU work: keep it off the async workers.
            let key = tokio::task::spawn_blocking(SigningKey::generate)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let kid = shared.keys_mut().push(key);
            Ok(json_response(
                200,
                &json!({"kid": kid, "kids": shared.keys().kids()}),
            ))
        }
        "issuer" => match method {
            Method::GET => Ok(json_response(200, &json!({"issuer": shared.issuer()}))),
            Method::POST | Method::PUT => {
                let body = read_body(req.into_body()).await?;
                let text = std::str::from_utf8(&body)
                    .map_err(|_| ApiError::bad_request("issuer must be UTF-8 text"))?
                    .trim();
                // Accept a bare string or a JSON string.
                let issuer =
                    serde_json::from_str::<String>(text).unwrap_or_else(|_| text.to_string());
                if issuer.is_empty() {
                    return Err(ApiError::bad_request("issuer must not be empty"));
                }
                shared.set_issuer(issuer.clone());
                Ok(json_response(200, &json!({"issuer": issuer})))
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        "objects" => {
            only_get(&method)?;
            Ok(json_response(200, &Value::Array(shared.store().all())))
        }
        "requests" => match method {
            Method::GET => Ok(json_response(200, &shared.requests().to_json())),
            Method::DELETE | Method::POST => {
                *shared.requests() = RequestCounts::default();
                Ok(json_response(200, &RequestCounts::default().to_json()))
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        "rollout-failure" => {
            // Body: {"namespace": ..., "name": ..., "pods": "ImagePull"|"Unschedulable",
            // "deadlineSeconds": N}; DELETE (same body, no "pods") clears it.
            let body = read_body(req.into_body()).await?;
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("rollout-failure: {e}")))?;
            let (ns, name) = (
                v["namespace"].as_str().unwrap_or("default"),
                v["name"].as_str().unwrap_or(""),
            );
            if name.is_empty() {
                return Err(ApiError::bad_request("rollout-failure: name is required"));
            }
            let failure = match method {
                Method::POST | Method::PUT => {
                    let pods = v["pods"].as_str().unwrap_or("ImagePull");
                    let pods = super::controller::PodFailure::parse(pods).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "rollout-failure: pods must be ImagePull or Unschedulable, not {pods:?}"
                        ))
                    })?;
                    let deadline = v["deadlineSeconds"]
                        .as_f64()
                        .filter(|s| *s >= 0.0)
                        .map(Duration::from_secs_f64);
                    Some(super::controller::RolloutFailure { pods, deadline })
                }
                Method::DELETE => None,
                _ => return Err(ApiError::method_not_allowed()),
            };
            shared.controllers().set_failure(ns, name, failure);
            Ok(json_response(200, &json!({"namespace": ns, "name": name})))
        }
        _ => Err(ApiError::not_found_path()),
    }
}

/// The request-wide options of a write: dryRun, fieldManager, force.
struct WriteOptions {
    dry_run: bool,
    manager: String,
    force: bool,
}

fn write_options(
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    options_kind: &str,
    body_dry_run: &[String],
) -> Result<WriteOptions, ApiError> {
    let mut dry: Vec<String> = q
        .get("dryRun")
        .map(|v| {
            v.split(',')
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    dry.extend(body_dry_run.iter().cloned());
    if let Some(bad) = dry.iter().find(|d| *d != "All") {
        return Err(ApiError::invalid_kind(
            "meta.k8s.io",
            options_kind,
            "",
            &[FieldError::not_supported("dryRun", json!(bad), &["All"])],
        ));
    }
    // Like the apiserver: an explicit fieldManager, else the User-Agent
    // up to its first '/'.
    let manager = match q.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => m.clone(),
        None => headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    };
    if manager.len() > 128 {
        return Err(ApiError::invalid_kind(
            "meta.k8s.io",
            options_kind,
            "",
            &[FieldError::invalid(
                "fieldManager",
                json!(manager),
                "must be no more than 128 characters",
            )],
        ));
    }
    let force = match q.get("force").map(String::as_str) {
        None => false,
        Some("true" | "1") => true,
        Some("false" | "0" | "") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid force value {other:?}"
            )))
        }
    };
    Ok(WriteOptions {
        dry_run: !dry.is_empty(),
        manager,
        force,
    })
}

fn decode_object(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    match content_type {
        "" | "application/json" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        }),
        "application/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}"))),
        // kubectl's typed clients (create token, create configmap, ...).
        "application/vnd.kubernetes.protobuf" => super::proto::decode_body(body),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn verb_for(method: &Method, target: &Target, q: &HashMap<String, String>) -> &'static str {
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    match (method.as_str(), target) {
        ("GET" | "HEAD", Target::Collection { .. }) if watching => "watch",
        ("GET" | "HEAD", Target::Collection { .. }) => "list",
        ("GET" | "HEAD", _) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", Target::Collection { .. }) => "deletecollection",
        ("DELETE", _) => "delete",
        _ => "unknown",
    }
}

async fn resource_request(
    shared: &Arc<Shared>,
    user: User,
    target: Target,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let q = parse_query(req.uri().query());
    let method = req.method().clone();
    let headers = req.headers().clone();
    let verb = verb_for(&method, &target, &q);
    let acc = accept(&headers);
    if !accepts_json(&acc) {
        return Err(ApiError::not_acceptable());
    }
    let ct = media_type(&headers);
    let body = read_body(req.into_body()).await?;
    let table = wants_table(&acc);

    match (verb, target) {
        ("create", Target::Collection { rt, .. }) if resources::is_review(rt) => {
            let review = decode_object(&ct, &body)?;
            if !review.is_object() {
                return Err(ApiError::bad_request(
                    "the object provided is unrecognized (must be of type SelfSubjectAccessReview)",
                ));
            }
            Ok(json_response(
                201,
                &self_subject_access_review(&user, review)?,
            ))
        }
        (_, Target::Collection { rt, .. } | Target::Object { rt, .. } | Target::Sub { rt, .. })
            if resources::is_review(rt) =>
        {
            Err(ApiError::method_not_allowed())
        }
        ("watch", Target::Collection { rt, ns }) => {
            let selectors = Selectors::parse(
                q.get("labelSelector").map(String::as_str),
                q.get("fieldSelector").map(String::as_str),
            )?;
            let resource_version = match q.get("resourceVersion").map(String::as_str) {
                None | Some("") => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {v}"))
                })?),
            };
            let timeout = q
                .get("timeoutSeconds")
                .and_then(|t| t.parse::<u64>().ok())
                .filter(|t| *t > 0)
                .unwrap_or(1800);
            let spec = watch::WatchSpec {
                rt,
                namespace: ns,
                selectors,
                resource_version,
                send_initial_events: q.get("sendInitialEvents").is_some_and(|v| v == "true"),
                timeout: Duration::from_secs(timeout),
            };
            let body = watch::start(&shared.store(), spec)?;
            let mut r = Response::new(body);
            r.headers_mut().insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        ("list", Target::Collection { rt, ns }) => {
            let list = list(shared, rt, ns.as_deref(), &q)?;
            Ok(json_response(
                200,
                &if table { to_table(&list, &q) } else { list },
            ))
        }
        ("get", Target::Object { rt, ns, name }) => {
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: "",
                dry_run: false,
            };
            let obj = ops::get(&shared.store(), &ctx, &name)?;
            Ok(json_response(
                200,
                &if table { to_table(&obj, &q) } else { obj },
            ))
        }
        ("create", Target::Collection { rt, ns }) => {
            let obj = decode_object(&ct, &body)?;
            let o = write_options(&q, &headers, "CreateOptions", &[])?;
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: &o.manager,
                dry_run: o.dry_run,
            };
            let created = ops::create(&mut shared.store(), &ctx, obj)?;
            Ok(json_response(201, &created))
        }
        ("create", Target::Sub { rt, ns, name, sub })
            if rt.plural == "serviceaccounts" && sub == "token" =>
        {
            let obj = decode_object(&ct, &body)?;
            let ns = ns.unwrap_or_default();
            let answer = tokens::create_token(
                &shared.store(),
                &shared.keys(),
                &shared.issuer(),
                &ns,
                &name,
                &obj,
                &shared.token_quirks(),
            )?;
            if let Some(t) = answer["status"]["token"].as_str() {
                shared
                    .minted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(t.to_string());
            }
            Ok(json_response(201, &answer))
        }
        ("update", Target::Object { rt, ns, name }) => {
            let obj = decode_object(&ct, &body)?;
            let o = write_options(&q, &headers, "UpdateOptions", &[])?;
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: &o.manager,
                dry_run: o.dry_run,
            };
            let (obj, _) = ops::replace(&mut shared.store(), &ctx, &name, obj)?;
            Ok(json_response(200, &obj))
        }
        ("patch", Target::Object { rt, ns, name }) => {
            let kind = PatchKind::from_content_type(&ct)
                .ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
            let o = write_options(&q, &headers, "PatchOptions", &[])?;
            if kind == PatchKind::Apply && q.get("fieldManager").is_none_or(|m| m.is_empty()) {
                return Err(ApiError::invalid_kind(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    &[FieldError::required(
                        "fieldManager",
                        "is required for apply patch",
                    )],
                ));
            }
            if kind != PatchKind::Apply && q.contains_key("force") {
                return Err(ApiError::invalid_kind(
                    "meta.k8s.io",
                    "PatchOptions",
                    "",
                    &[FieldError::forbidden(
                        "force",
                        "may not be specified for non-apply patch",
                    )],
                ));
            }
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: &o.manager,
                dry_run: o.dry_run,
            };
            let mut store = shared.store();
            if kind == PatchKind::Apply && ops::get(&store, &ctx, &name).is_err() {
                // An apply that creates is authorized as a create too
                // (patch.go's withAuthorization): RBAC gives no reason
                // when it denies, so the message ends after the colon.
                let create = Attributes {
                    verb: "create".into(),
                    group: rt.group.into(),
                    resource: rt.plural.into(),
                    subresource: None,
                    namespace: if rt.plural == "namespaces" {
                        Some(name.clone())
                    } else {
                        ns.clone()
                    },
                    name: Some(name.clone()),
                };
                if decide(&user, &create).is_none() {
                    return Err(ApiError::forbidden(rt, &name, ""));
                }
            }
            let (obj, written) = ops::patch(&mut store, &ctx, &name, kind, &body, o.force)?;
            drop(store);
            Ok(json_response(
                if written == Written::Created {
                    201
                } else {
                    200
                },
                &obj,
            ))
        }
        ("delete", Target::Object { rt, ns, name }) => {
            let opts_body: Value = if body.is_empty() {
                Value::Null
            } else {
                decode_object(&ct, &body)?
            };
            let body_dry: Vec<String> = opts_body["dryRun"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let o = write_options(&q, &headers, "DeleteOptions", &body_dry)?;
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: &o.manager,
                dry_run: o.dry_run,
            };
            let opts = DeleteOptions::parse(&opts_body, &q)?;
            // (A Terminating namespace is emptied and removed by the
            // namespace controller, see `controller`.)
            let deleted = ops::delete(&mut shared.store(), &ctx, &name, &opts)?;
            // delete.go: 202 when the object stays and the client asked
            // for cascading with the deprecated orphanDependents=false.
            let code = if !deleted.removed && opts.orphan_dependents == Some(false) {
                202
            } else {
                200
            };
            Ok(json_response(code, &deleted.answer))
        }
        ("deletecollection", Target::Collection { rt, ns }) if rt.plural != "namespaces" => {
            let selectors = Selectors::parse(
                q.get("labelSelector").map(String::as_str),
                q.get("fieldSelector").map(String::as_str),
            )?;
            let opts_body: Value = if body.is_empty() {
                Value::Null
            } else {
                decode_object(&ct, &body)?
            };
            let o = write_options(&q, &headers, "DeleteOptions", &[])?;
            let opts = DeleteOptions::parse(&opts_body, &q)?;
            let ctx = Ctx {
                rt,
                namespace: ns.as_deref(),
                manager: &o.manager,
                dry_run: o.dry_run,
            };
            let answer = ops::delete_collection(&mut shared.store(), &ctx, &selectors, &opts)?;
            Ok(json_response(200, &answer))
        }
        (_, Target::Sub { .. }) => Err(ApiError::not_found_path()),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A list answer, with selectors and `limit`/`continue` paging. Items carry
/// no kind/apiVersion, as in the real server's lists of built-in types.
fn list(
    shared: &Shared,
    rt: &'static ResourceType,
    ns: Option<&str>,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let selectors = Selectors::parse(
        q.get("labelSelector").map(String::as_str),
        q.get("fieldSelector").map(String::as_str),
    )?;
    let limit = match q.get("limit").map(String::as_str) {
        None | Some("") => 0,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
    };
    let start_after = match q.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
            Some(raw)
        }
    };
    let store = shared.store();
    let key = |o: &Value| format!("{}/{}", meta_str(o, "namespace"), meta_str(o, "name"));
    let mut items: Vec<Value> = store
        .list(rt, ns)
        .into_iter()
        .filter(|o| selectors.matches(o))
        .filter(|o| start_after.as_ref().is_none_or(|s| key(o) > *s))
        .cloned()
        .collect();
    let mut metadata = json!({"resourceVersion": store.current_rv().to_string()});
    if limit > 0 && items.len() > limit {
        let remaining = items.len() - limit;
        items.truncate(limit);
        if let Some(last) = items.last() {
            metadata["continue"] = json!(b64url(key(last).as_bytes()));
        }
        metadata["remainingItemCount"] = json!(remaining);
    }
    for it in &mut items {
        if let Some(m) = it.as_object_mut() {
            m.shift_remove("kind");
            m.shift_remove("apiVersion");
        }
    }
    Ok(
        json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": metadata, "items": items}),
    )
}

/// Server-side printing with the default table convertor (Name, Created At),
/// which is what the real server uses for kinds without custom columns.
fn to_table(v: &Value, q: &HashMap<String, String>) -> Value {
    let include = q
        .get("includeObject")
        .map(String::as_str)
        .unwrap_or("Metadata");
    let (objects, rv) = match v["items"].as_array() {
        Some(items) => (items.clone(), v["metadata"]["resourceVersion"].clone()),
        None => (vec![v.clone()], v["metadata"]["resourceVersion"].clone()),
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]]});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "priority": 0}
        ],
        "rows": rows
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(matches!(
            parse_target("/api/v1"),
            Some(Target::ResourceList { .. })
        ));
        assert!(matches!(parse_target("/apis/apps"), Some(Target::Group(_))));
        assert!(matches!(
            parse_target("/api/v1/namespaces"),
            Some(Target::Collection { ns: None, .. })
        ));
        assert!(matches!(
            parse_target("/api/v1/namespaces/x"),
            Some(Target::Object { ns: None, .. })
        ));
        assert!(matches!(
            parse_target("/api/v1/serviceaccounts"),
            Some(Target::Collection { ns: None, .. })
        ));
        match parse_target("/apis/apps/v1/namespaces/ns/deployments/x") {
            Some(Target::Object { rt, ns, name }) => {
                assert_eq!(
                    (rt.plural, ns.as_deref(), name.as_str()),
                    ("deployments", Some("ns"), "x")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_target("/api/v1/namespaces/default/serviceaccounts/default/token"),
            Some(Target::Sub { .. })
        ));
        assert!(
            parse_target("/apis/apps/v1/deployments/x").is_none(),
            "namespaced object needs a namespace"
        );
        assert!(parse_target("/apis/batch/v1/jobs").is_none());
        assert!(parse_target("/apis/apps/v1/namespaces/a/deployments/x/y/z").is_none());
        assert!(parse_target("/foo").is_none());
    }

    fn rbac(rules: Vec<RbacRule>) -> User {
        User::Rbac {
            name: "bob".into(),
            rules,
        }
    }

    fn rule(ns: Option<&str>, groups: &[&str], resources: &[&str], verbs: &[&str]) -> RbacRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        RbacRule {
            namespace: ns.map(str::to_string),
            api_groups: v(groups),
            resources: v(resources),
            verbs: v(verbs),
        }
    }

    #[test]
    fn rbac_rules_match_as_the_rbac_authorizer() {
        let u = rbac(vec![
            rule(Some("team"), &[""], &["pods/log", "configmaps"], &["get"]),
            rule(None, &["apps"], &["*"], &["list"]),
            rule(Some("team"), &["*"], &["*/status"], &["*"]),
        ]);
        let ok = |m: Method, p: &str| authorize(&u, &m, p, None).is_ok();
        assert!(ok(Method::GET, "/api/v1/namespaces/team/pods/p/log"));
        assert!(!ok(Method::GET, "/api/v1/namespaces/team/pods/p"));
        assert!(ok(Method::GET, "/api/v1/namespaces/team/configmaps/c"));
        assert!(!ok(Method::GET, "/api/v1/namespaces/other/configmaps/c"));
        assert!(ok(Method::GET, "/apis/apps/v1/deployments"));
        assert!(ok(Method::GET, "/apis/apps/v1/namespaces/any/replicasets"));
        assert!(!ok(
            Method::GET,
            "/apis/apps/v1/namespaces/any/replicasets/x"
        ));
        assert!(ok(
            Method::PUT,
            "/apis/apps/v1/namespaces/team/deployments/d/status"
        ));
        // A Namespace is "in" itself; its status is a subresource.
        assert!(ok(Method::PUT, "/api/v1/namespaces/team/status"));
        let e = authorize(&u, &Method::DELETE, "/api/v1/namespaces/team", None).expect_err("no");
        assert_eq!(
            e.message,
            r#"namespaces "team" is forbidden: User "bob" cannot delete resource "namespaces" in API group "" in the namespace "team""#
        );
        let e = authorize(
            &u,
            &Method::POST,
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            None,
        )
        .expect_err("no");
        assert!(e.message.ends_with("at the cluster scope"), "{}", e.message);
        // Every authenticated user may review itself.
        for who in [User::Restricted, u.clone()] {
            assert!(authorize(
                &who,
                &Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                None
            )
            .is_ok());
        }
    }

    #[test]
    fn self_subject_access_reviews() {
        let u = rbac(vec![rule(Some("team"), &[""], &["configmaps"], &["get"])]);
        let review = |user: &User, attrs: Value| {
            self_subject_access_review(
                user,
                json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                       "spec": attrs}),
            )
        };
        let r = review(&u, json!({"resourceAttributes": {"namespace": "team", "verb": "get", "resource": "configmaps"}}))
            .expect("review");
        assert_eq!(r["status"]["allowed"], true);
        assert!(r["status"]["reason"]
            .as_str()
            .is_some_and(|s| s.starts_with("RBAC: allowed by")));
        assert_eq!(
            r["spec"]["resourceAttributes"]["verb"], "get",
            "the request comes back"
        );
        let r = review(&u, json!({"resourceAttributes": {"namespace": "team", "verb": "delete", "resource": "configmaps"}}))
            .expect("review");
        assert_eq!(r["status"], json!({"allowed": false}));
        let r = review(
            &User::Admin,
            json!({"resourceAttributes": {"verb": "*", "group": "*", "resource": "*"}}),
        )
        .expect("review");
        assert_eq!(r["status"]["allowed"], true);
        let r = review(
            &User::Restricted,
            json!({"nonResourceAttributes": {"path": "/version", "verb": "get"}}),
        )
        .expect("review");
        assert_eq!(r["status"]["allowed"], true);
        let r = review(
            &User::Restricted,
            json!({"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}),
        )
        .expect("review");
        assert_eq!(r["status"]["allowed"], false);
        let e = review(&u, json!({})).expect_err("empty spec");
        assert_eq!(e.code, 422);
        assert!(e.message.contains("spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified"), "{}", e.message);
    }

    #[test]
    fn query_decoding() {
        let q = parse_query(Some("labelSelector=app%3Dweb%2Ctier+in+(a)&limit=5&x"));
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert_eq!(q["limit"], "5");
        assert_eq!(q["x"], "");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    }

    #[test]
    fn negotiation() {
        assert!(accepts_json(""));
        assert!(accepts_json(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist,application/json"
        ));
        assert!(!accepts_json("application/vnd.kubernetes.protobuf"));
        assert!(wants_table(
            "application/json;as=table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
