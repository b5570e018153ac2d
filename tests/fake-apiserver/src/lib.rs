//! A fake Kubernetes API server for tests: real HTTPS (its own CA), real
//! Kubernetes JSON, checked against the real `kubectl`.
//!
//! No kube-apiserver can run on the test machines, so this one stands in
//! for it. It serves:
//!
//! - **Discovery**: `/version` (v1.33.0), `/api`, `/apis`, `/apis/<group>`,
//!   `/api/v1`, `/apis/<group>/v1` (legacy discovery), and aggregated
//!   discovery (see `discovery_v2`): `/api` and `/apis` with
//!   `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
//!   (or `v=v2beta1`) answer an `apidiscovery.k8s.io/v2` (`v2beta1`)
//!   `APIGroupDiscoveryList` with that `Content-Type`, built from the same
//!   table as the legacy lists, so kubectl 1.3x and kube-rs
//!   `Discovery::run_aggregated` use it as on a real cluster. Both list the
//!   subresources `status` (kinds with a status), `scale` (Deployments,
//!   ReplicaSets) and `serviceaccounts/token`; of these only the token is
//!   served. `/openapi/v2` and `/openapi/v3` are 404, so use
//!   `kubectl apply --validate=false`. `/healthz`, `/livez`, `/readyz`.
//! - **OIDC**: `/.well-known/openid-configuration` and `/openid/v1/jwks`,
//!   shaped exactly as kube-apiserver serves them. `jwks_uri` follows
//!   [`FakeApiServerConfig::jwks_uri`]: by default `<issuer>/openid/v1/jwks`
//!   (as with `--service-account-jwks-uri` set that way);
//!   [`JwksUri::ExternalAddress`] is kube-apiserver without that flag,
//!   `https://<its address>/openid/v1/jwks`; [`JwksUri::Fixed`] any URI.
//! - **TokenRequest**: `POST /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token`
//!   mints tokens signed by the newest key (RS256; ES256 or EdDSA with
//!   [`FakeApiServerConfig::signing_key`] / [`FakeApiServer::rotate_key_kind`]);
//!   [`FakeApiServer::set_token_quirks`] makes it mint tokens as a broken
//!   cluster would (backdated, i.e. already expired; a fixed audience).
//! - **Objects** (in memory): core/v1 Namespace, ServiceAccount, Secret,
//!   Service, ConfigMap, Pod, Event; apps/v1 Deployment, ReplicaSet;
//!   events.k8s.io/v1 Event; rbac.authorization.k8s.io/v1
//!   ClusterRole, ClusterRoleBinding, Role, RoleBinding;
//!   admissionregistration.k8s.io/v1 MutatingWebhookConfiguration;
//!   policy/v1 PodDisruptionBudget. Verbs: get, list (selectors,
//!   `limit`/`continue`, `as=Table`), watch, create, update (PUT),
//!   patch (JSON patch, merge patch, server-side apply, and strategic
//!   merge patch *approximated*: a merge patch where the well-known
//!   `patchStrategy: merge` lists merge by key, see `patch`), delete,
//!   deletecollection, `dryRun=All`.
//! - **Deletion** as the registry store does it: DeleteOptions from the
//!   body or the query (`propagationPolicy` Background/Foreground/Orphan,
//!   the legacy `orphanDependents`, `gracePeriodSeconds`, preconditions).
//!   An object with finalizers, or deleted with Foreground/Orphan, stays
//!   with `deletionTimestamp` (set once), `deletionGracePeriodSeconds: 0`,
//!   `generation` bumped and the `foregroundDeletion`/`orphan` finalizer;
//!   the answer is the object (200; 202 with `orphanDependents: false`).
//!   A Pod on a node is deleted gracefully (`terminationGracePeriodSeconds`)
//!   and removed by the fake kubelet after
//!   [`FakeApiServerConfig::pod_termination_delay`]. A write that empties
//!   the finalizers of an object being deleted removes it; one that adds a
//!   finalizer then is `422` (`no new finalizers can be added if the
//!   object is being deleted`); its name stays taken (`409`) until it is gone.
//!   The garbage collector (see `controller`) follows every
//!   ownerReference: orphaning, foreground (waits for dependents with
//!   `blockOwnerDeletion`, deleting those that have dependents in the
//!   foreground too) and background.
//! - **SelfSubjectAccessReview**: `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`
//!   (JSON or protobuf; `kubectl auth can-i`) answered by the same
//!   authorizer as the requests, for every user (as `system:basic-user`
//!   allows), `status: {allowed, reason?}`; counted by
//!   [`FakeApiServer::requests`] as `create` on
//!   `selfsubjectaccessreviews.authorization.k8s.io`.
//!
//! - **Mutating admission webhooks** (see `admission`): every CREATE (a
//!   POST, an apply that creates, and the Pods the ReplicaSet controller
//!   makes) runs the MutatingWebhookConfigurations whose rules,
//!   `namespaceSelector` and `objectSelector` match. There is no webhook
//!   server: a `clientConfig.service` webhook is *reachable* when its
//!   Service has the port and a Ready Pod behind its selector (as the fake
//!   controllers make them), a `clientConfig.url` one never is. Reachable
//!   means "allowed, unchanged" (the mutation itself is not emulated);
//!   unreachable with `failurePolicy: Fail` is the real `500 InternalError`
//!   `Internal error occurred: failed calling webhook "<name>": failed to
//!   call webhook: Post "https://<svc>.<ns>.svc:<port><path>?timeout=<t>s":
//!   no endpoints available for service "<svc>"`; with `Ignore` the create
//!   goes on. A refused ReplicaSet Pod is a Warning `FailedCreate` Event on
//!   the ReplicaSet (`Error creating: <that message>`, aggregated with a
//!   `count`), a `ReplicaFailure` condition on the ReplicaSet and the
//!   Deployment, and is retried with back-off (50 ms doubling to 1 s), so
//!   the rollout goes on once the webhook serves, or ends in
//!   `ProgressDeadlineExceeded` after `spec.progressDeadlineSeconds`.
//!
//! At start the namespaces `default`, `kube-system`, `kube-public` exist,
//! each with its `default` ServiceAccount; like the real service-account
//! controller, every namespace created later gets a `default`
//! ServiceAccount too. A deleted namespace is `Terminating` for
//! `namespace_termination_delay` (default 500 ms; creating objects in it is
//! 403 Forbidden, deleting it again 409), then everything in it is deleted
//! and, once nothing is left (finalizers and terminating Pods hold it), the
//! namespace is removed, as the namespace controller does (`kubectl delete ns` waits for
//! that through a watch; `kubectl delete -f` of a manifest holding the
//! namespace and its objects works as on a real cluster).
//!
//! # Authentication
//!
//! Every path needs `Authorization: Bearer <token>`; anything else is
//! `401` with an `Unauthorized` Status. An optional second token
//! (`forbidden_token`) authenticates as `system:serviceaccount:default:restricted`,
//! which may read discovery and OIDC endpoints but gets `403 Forbidden`
//! (real RBAC wording) on every resource and control request.
//! A service-account token this server minted (TokenRequest) authenticates
//! as its service account while it is unexpired and carries the API
//! audience (the issuer, as `--api-audiences` defaults to); like that user
//! on a cluster with the default RBAC, it may read discovery and the issuer
//! documents and nothing else.
//! [`NamespaceAdmin`] tokens have the `admin` ClusterRole in one namespace;
//! [`RbacUser`] tokens have the [`RbacRule`]s given, matched as the RBAC
//! authorizer does (any rule allows; `*`, `res/sub` and `*/sub`; rules bound
//! in a namespace only for requests there, cluster-scoped resources only
//! by cluster-wide rules). As in the apiserver's RequestInfo,
//! `/api/v1/namespaces/<ns>` is in namespace `<ns>`. A server-side apply
//! that would create the object is authorized as `create` too (patch.go's
//! `withAuthorization`): denied, it is `403` `<resource> "<name>" is
//! forbidden: ` with nothing after the colon, as RBAC gives no reason.
//!
//! # Control endpoints (admin token only)
//!
//! | Request | Effect | Answer |
//! |---|---|---|
//! | `POST /_sandbox/rotate-key` | add a new RSA key; new tokens use it; all keys stay in the JWKS | `{"kid": <new>, "kids": [all]}` |
//! | `POST /_sandbox/issuer` (body: the issuer, plain text or a JSON string) | change the issuer in discovery and in new tokens | `{"issuer": ...}` |
//! | `GET /_sandbox/issuer` | | `{"issuer": ...}` |
//! | `GET /_sandbox/objects` | | JSON array of every stored object |
//! | `GET /_sandbox/requests` | | `{"total": N, "requests": [{"verb","resource","count"}]}` (control requests not counted) |
//! | `DELETE /_sandbox/requests` | reset the request counter | the empty counter |
//! | `POST /_sandbox/rollout-failure` (body `{"namespace","name","pods":"ImagePull"\|"Unschedulable","deadlineSeconds":N}`) | that Deployment's rollouts fail (see [`FakeApiServer::fail_rollout`]) | `{"namespace","name"}` |
//! | `DELETE /_sandbox/rollout-failure` (body `{"namespace","name"}`) | back to normal rollouts | `{"namespace","name"}` |
//!
//! With kubectl: `kubectl create --raw /_sandbox/rotate-key -f /dev/null`,
//! `kubectl get --raw /_sandbox/objects`.
//!
//! # Differences from a real apiserver
//!
//! - Field management is simplified (lists are atomic; see `managed`).
//! - Validation covers names, labels/annotations and the fields of the
//!   kinds above that clients most often get wrong, not everything.
//!   `fieldValidation=Strict` is not enforced (no schemas).
//! - Request bodies may be JSON, YAML or protobuf (kubectl's typed clients
//!   send protobuf; decoded with the schema kubectl itself embeds, see
//!   `proto`); answers are always JSON, so a client that accepts only
//!   protobuf or CBOR gets 406, and CBOR bodies get 415.
//! - Deployments roll out over [`FakeApiServerConfig::rollout_duration`]
//!   (see `controller`): ReplicaSets, Pods (never really run) and Events
//!   are made by the fake controllers; there are no Nodes. Events are
//!   stored twice (core/v1 and events.k8s.io/v1), so an Event created
//!   through one API is not seen through the other. The ReplicaSet
//!   controller does not replace a deleted Pod, and a rollout's old Pods
//!   are removed at once rather than terminating gracefully.
//! - The garbage collector works on the store directly, every 20 ms, with
//!   no informer delay and no cycle breaking; an ownerReference to a kind
//!   not served here is never resolved (so never collected, as the real GC
//!   keeps retrying it). Every kind's default propagation is Background.
//! - RBAC rules have no `resourceNames` or non-resource URLs; role and
//!   binding objects stored in the fake grant nothing. SSAR `reason`s name
//!   made-up bindings.
//! - TokenRequest `boundObjectRef` must name an existing Pod or Secret
//!   (else 404; other kinds 400; a wrong `uid` 409; a Pod running as
//!   another ServiceAccount 400), and the token's `kubernetes.io` claim
//!   gets `pod` / `secret` `{name, uid}`, plus `node` for a scheduled Pod
//!   (with a fixed uid: there are no Node objects, so Node-bound tokens
//!   are refused as an unsupported kind). The token is not invalidated
//!   when the object goes (nothing validates tokens here); there is no
//!   `--service-account-max-token-expiration` cap.
//! - Watches keep the last 10 000 events; older resourceVersions get an
//!   `ERROR` event with a 410 `Expired` Status, as after a compaction.
//!   Bookmarks are sent only for `sendInitialEvents=true`.
//! - `/api/v1/namespaces/<ns>/status`, `/finalize`, `deployments/scale`
//!   and other subresources are not served (404), though discovery lists
//!   `status` and `scale` as the real server does. Discovery lists no
//!   other subresources (`pods/log`, `pods/exec`, `services/proxy`, ...),
//!   and aggregated discovery is JSON only (a client asking for it only
//!   as protobuf gets the legacy JSON document), without ETag / 304.
//! - Admission webhooks are modelled by reachability only (see
//!   `admission`): reachable webhooks never mutate or reject, only CREATE
//!   is dispatched (not UPDATE/DELETE/CONNECT), `matchConditions` are not
//!   evaluated, validating webhooks do not exist, and a Pod created by
//!   hand is never Ready (only the controllers' Pods can back a webhook).
//!
//! Error codes follow the real server, including where one might expect
//! 400: TokenRequest `expirationSeconds < 600`, apply without
//! `fieldManager`, `force` on a non-apply patch and a bad `dryRun` value
//! are `422 Invalid`; a JSON patch whose `test` fails is 422; a malformed
//! body or patch document, or a kind/apiVersion/namespace/name that
//! disagrees with the URL, is `400 BadRequest`.
//!
//! Note for tests: `/usr/bin/kubectl` on the test machines is Google Cloud
//! SDK's dispatcher, which runs the kubectl matching the server's version
//! (here 1.33); the versioned binaries sit next to it.

mod admission;
mod client;
mod controller;
mod defaults;
mod discovery_v2;
mod handlers;
#[cfg(test)]
mod http_tests;
mod keys;
mod kinds;
mod managed;
mod ops;
mod patch;
mod proto;
mod resources;
mod schema;
mod selectors;
mod status;
mod store;
pub mod testing;
mod tls;
mod tokens;
mod util;
mod watch;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch as tokio_watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use client::{ClientAuth, RawResponse};
pub use controller::{PodFailure, RolloutFailure};
pub use defaults::canonical_quantity;
pub use handlers::RequestCounts;
pub use handlers::RESTRICTED_USER;
pub use keys::KeyKind;
pub use tokens::TokenQuirks;

/// The issuer a kubeadm-style cluster reports by default.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

#[derive(Debug, Clone)]
pub struct FakeApiServerConfig {
    /// `iss` of minted tokens and `issuer` of the discovery document.
    pub issuer: String,
    /// The admin bearer token; a random one when empty.
    pub token: String,
    /// A second token that authenticates but is forbidden everything
    /// except discovery (for RBAC error paths).
    pub forbidden_token: Option<String>,
    /// Tokens of users that may do anything in one namespace and nothing
    /// cluster-wide (see [`NamespaceAdmin`]).
    pub namespace_admins: Vec<NamespaceAdmin>,
    /// Users authorized by RBAC rules (see [`RbacUser`]).
    pub rbac_users: Vec<RbacUser>,
    /// Must be a loopback address; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Log one line per request to stderr (never tokens or bodies).
    pub log_requests: bool,
    /// How long a deleted namespace stays `Terminating` (its contents
    /// still readable and deletable, no new objects allowed) before it and
    /// everything in it are removed, as the namespace controller would.
    pub namespace_termination_delay: Duration,
    /// The `jwks_uri` of the discovery document.
    pub jwks_uri: JwksUri,
    /// The kind of the first signing key (default RSA-2048, RS256).
    pub signing_key: KeyKind,
    /// How long a Deployment rollout takes from the write to every new
    /// replica available (see [`FakeApiServer::fail_rollout`] for one that
    /// never gets there). Default 500 ms.
    pub rollout_duration: Duration,
    /// How long a gracefully deleted Pod (one on a node, deleted with a
    /// grace period) stays `Terminating` before the fake kubelet has
    /// "stopped" it and it is removed. Default 200 ms.
    pub pod_termination_delay: Duration,
}

/// A token for `system:serviceaccount:<namespace>:<service_account>` with
/// the `admin` ClusterRole bound by a RoleBinding in `namespace`: every verb
/// on namespaced resources there, `403 Forbidden` (real RBAC wording) for
/// everything else, cluster-scoped kinds (ClusterRole, MutatingWebhookConfiguration,
/// Namespace) included, and for unknown resources too (authorization runs before routing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceAdmin {
    pub token: String,
    pub namespace: String,
    pub service_account: String,
}

/// A user whose permissions are RBAC rules, authorized as the RBAC
/// authorizer does: a request is allowed when any rule matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacUser {
    /// Its bearer token.
    pub token: String,
    /// The user name (in 403 messages and SelfSubjectAccessReviews), e.g.
    /// `system:serviceaccount:ci:deployer`.
    pub name: String,
    pub rules: Vec<RbacRule>,
}

/// One PolicyRule with its binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacRule {
    /// `None`: bound by a ClusterRoleBinding (everywhere, cluster-scoped
    /// resources included); `Some(ns)`: by a RoleBinding in `ns` (only
    /// requests in that namespace).
    pub namespace: Option<String>,
    /// `""` for the core group; `"*"` for all.
    pub api_groups: Vec<String>,
    /// `"deployments"`, `"pods/log"`, `"*/status"` or `"*"`.
    pub resources: Vec<String>,
    /// `"get"`, `"list"`, ... or `"*"`.
    pub verbs: Vec<String>,
}

/// What the discovery document gives as `jwks_uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JwksUri {
    /// `<issuer>/openid/v1/jwks`, following issuer changes: what
    /// `--service-account-jwks-uri` is set to in IRSA setups.
    #[default]
    FromIssuer,
    /// kube-apiserver without `--service-account-jwks-uri`:
    /// `https://<external address>/openid/v1/jwks`, here the address it
    /// listens on (upstream's integration test expects
    /// `https://192.168.10.4:443/openid/v1/jwks` for its advertise address).
    ExternalAddress,
    /// `--service-account-jwks-uri=<this>`.
    Fixed(String),
}

impl Default for FakeApiServerConfig {
    fn default() -> Self {
        FakeApiServerConfig {
            issuer: DEFAULT_ISSUER.to_string(),
            token: String::new(),
            forbidden_token: None,
            namespace_admins: Vec::new(),
            rbac_users: Vec::new(),
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            log_requests: false,
            namespace_termination_delay: Duration::from_millis(500),
            jwks_uri: JwksUri::default(),
            signing_key: KeyKind::Rsa2048,
            rollout_duration: Duration::from_millis(500),
            pod_termination_delay: Duration::from_millis(200),
        }
    }
}

/// State shared by all connections. Locks are std locks, never held across
/// an `.await`.
pub(crate) struct Shared {
    token: String,
    forbidden_token: Option<String>,
    namespace_admins: Vec<NamespaceAdmin>,
    rbac_users: Vec<RbacUser>,
    issuer: RwLock<String>,
    keys: RwLock<keys::KeySet>,
    store: Mutex<store::Store>,
    server_address: String,
    log_requests: bool,
    jwks_uri: JwksUri,
    token_quirks: RwLock<TokenQuirks>,
    /// Every token TokenRequest handed out (so tests can look for leaks).
    minted: Mutex<Vec<String>>,
    /// The deployment/replicaset controllers, scheduler and kubelet.
    controllers: Mutex<controller::Controllers>,
    /// Requests served, for tests asserting how many calls were made.
    requests: Mutex<RequestCounts>,
}

impl Shared {
    // A panic while holding a lock must not take the whole fake down for
    // the other tests sharing it: recover the guard from poisoning.
    fn store(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn controllers(&self) -> MutexGuard<'_, controller::Controllers> {
        self.controllers.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn requests(&self) -> MutexGuard<'_, RequestCounts> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// One pass of the controllers (lock order: controllers, then store).
    fn run_controllers(&self) {
        let mut ctl = self.controllers();
        controller::tick(&mut ctl, &mut self.store());
    }
    fn keys(&self) -> RwLockReadGuard<'_, keys::KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }
    fn keys_mut(&self) -> RwLockWriteGuard<'_, keys::KeySet> {
        self.keys.write().unwrap_or_else(|e| e.into_inner())
    }
    fn issuer(&self) -> String {
        self.issuer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    fn set_issuer(&self, issuer: String) {
        *self.issuer.write().unwrap_or_else(|e| e.into_inner()) = issuer;
    }
    /// `GET /.well-known/openid-configuration`, with the configured `jwks_uri`.
    fn discovery(&self) -> Value {
        let issuer = self.issuer();
        let keys = self.keys();
        match &self.jwks_uri {
            JwksUri::FromIssuer => keys.discovery(&issuer),
            JwksUri::ExternalAddress => keys.discovery_with_jwks_uri(
                &issuer,
                &format!("https://{}{}", self.server_address, keys::JWKS_PATH),
            ),
            JwksUri::Fixed(uri) => keys.discovery_with_jwks_uri(&issuer, uri),
        }
    }
    fn token_quirks(&self) -> TokenQuirks {
        self.token_quirks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A running fake API server. Dropping it stops it too (without waiting).
pub struct FakeApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    ca_der: Vec<u8>,
    shutdown_tx: tokio_watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    ticker: JoinHandle<()>,
}

impl FakeApiServer {
    /// Generate the CA, serving certificate and first signing key, bind,
    /// and start serving in the background.
    pub async fn start(cfg: FakeApiServerConfig) -> Result<FakeApiServer> {
        if !cfg.bind.ip().is_loopback() {
            bail!(
                "refusing to bind {}: the fake API server only listens on loopback addresses",
                cfg.bind
            );
        }
        let tls = tls::generate().context("generating the fake apiserver TLS material")?;
        let kind = cfg.signing_key;
        let key_set = tokio::task::spawn_blocking(move || keys::KeySet::with_kind(kind))
            .await
            .context("key generation task")??;
        let listener = TcpListener::bind(cfg.bind)
            .await
            .with_context(|| format!("binding {}", cfg.bind))?;
        let addr = listener.local_addr()?;
        let mut st = store::Store::new();
        ops::bootstrap(&mut st);
        let token = if cfg.token.is_empty() {
            util::random_token()
        } else {
            cfg.token
        };
        let shared = Arc::new(Shared {
            token,
            forbidden_token: cfg.forbidden_token.filter(|t| !t.is_empty()),
            namespace_admins: cfg
                .namespace_admins
                .into_iter()
                .filter(|a| !a.token.is_empty())
                .collect(),
            rbac_users: cfg
                .rbac_users
                .into_iter()
                .filter(|u| !u.token.is_empty())
                .collect(),
            issuer: RwLock::new(cfg.issuer),
            keys: RwLock::new(key_set),
            store: Mutex::new(st),
            server_address: addr.to_string(),
            log_requests: cfg.log_requests,
            jwks_uri: cfg.jwks_uri,
            token_quirks: RwLock::new(TokenQuirks::default()),
            minted: Mutex::new(Vec::new()),
            controllers: Mutex::new({
                let mut c = controller::Controllers::new(cfg.rollout_duration);
                c.pod_termination_delay = cfg.pod_termination_delay;
                c.namespace_termination_delay = cfg.namespace_termination_delay;
                c
            }),
            requests: Mutex::new(RequestCounts::default()),
        });
        let (shutdown_tx, shutdown_rx) = tokio_watch::channel(false);
        let acceptor = TlsAcceptor::from(tls.server_config.clone());
        let task = tokio::spawn(serve(listener, acceptor, shared.clone(), shutdown_rx));
        let ticker = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(20));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    every.tick().await;
                    shared.run_controllers();
                }
            })
        };
        Ok(FakeApiServer {
            shared,
            addr,
            ca_pem: tls.ca_pem,
            ca_der: tls.ca_der,
            shutdown_tx,
            task: Some(task),
            ticker,
        })
    }

    /// `https://127.0.0.1:PORT` (or `https://[::1]:PORT`).
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed the serving certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The admin bearer token.
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// The token that authenticates as [`RESTRICTED_USER`], if configured.
    pub fn forbidden_token(&self) -> Option<String> {
        self.shared.forbidden_token.clone()
    }

    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// A kubeconfig for this server: cluster, user and context all named
    /// `fake`, current-context `fake`, default namespace `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine as _;
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {
                "server": self.url(),
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes()),
            }}],
            "users": [{"name": "fake", "user": {"token": self.shared.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "default"}}],
            "current-context": "fake",
            "preferences": {},
        });
        // Serialising a JSON value to YAML cannot fail.
        serde_yaml::to_string(&config).unwrap_or_default()
    }

    /// Write [`kubeconfig_yaml`](Self::kubeconfig_yaml) to `path`, mode 0600
    /// (it holds the token).
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> Result<()> {
        write_private(path.as_ref(), self.kubeconfig_yaml().as_bytes())
    }

    /// Add a new RSA signing key; tokens minted from now on carry its kid,
    /// and the JWKS publishes old and new keys. Returns the new kid.
    pub fn rotate_key(&self) -> String {
        // Key generation only fails if the OS RNG does: nothing a test can handle.
        let key = keys::SigningKey::generate().expect("RSA key generation failed");
        self.shared.keys_mut().push(key)
    }

    /// Add a new signing key of `kind` (e.g. an Ed25519 key, which STS
    /// refuses); tokens minted from now on are signed with it. Returns its kid.
    pub fn rotate_key_kind(&self, kind: KeyKind) -> String {
        let key = keys::SigningKey::generate_kind(kind).expect("key generation failed");
        self.shared.keys_mut().push(key)
    }

    /// Make TokenRequest mint tokens the way a misconfigured cluster would
    /// (see [`TokenQuirks`]); `TokenQuirks::default()` restores normal tokens.
    pub fn set_token_quirks(&self, quirks: TokenQuirks) {
        *self
            .shared
            .token_quirks
            .write()
            .unwrap_or_else(|e| e.into_inner()) = quirks;
    }

    /// Every token TokenRequest minted so far, oldest first: tests check
    /// that none of them shows up in output or logs.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.shared
            .minted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The kids in the JWKS, oldest first (the last one signs).
    pub fn kids(&self) -> Vec<String> {
        self.shared.keys().kids()
    }

    /// Change the issuer reported by discovery and put in new tokens.
    pub fn set_issuer(&self, issuer: String) {
        self.shared.set_issuer(issuer)
    }

    /// Every stored object (with kind and apiVersion), including the
    /// bootstrap namespaces and service accounts.
    pub fn objects(&self) -> Vec<Value> {
        self.shared.store().all()
    }

    /// Make the rollouts of Deployment `namespace/name` fail from now on
    /// (the next write to it, or the rollout in progress): its new Pods
    /// never become ready, Events say why, and Progressing turns False with
    /// `ProgressDeadlineExceeded` after `failure.deadline`.
    pub fn fail_rollout(&self, namespace: &str, name: &str, failure: RolloutFailure) {
        self.shared
            .controllers()
            .set_failure(namespace, name, Some(failure));
    }

    /// Let `namespace/name` roll out normally again.
    pub fn clear_rollout_failure(&self, namespace: &str, name: &str) {
        self.shared.controllers().set_failure(namespace, name, None);
    }

    /// Change how long a rollout takes (see [`FakeApiServerConfig::rollout_duration`]).
    pub fn set_rollout_duration(&self, duration: Duration) {
        self.shared.controllers().duration = duration;
    }

    /// What was requested so far (or since [`reset_requests`](Self::reset_requests)).
    /// Control requests (`/_sandbox/*`) are not counted.
    pub fn requests(&self) -> RequestCounts {
        self.shared.requests().clone()
    }

    /// Forget the requests counted so far.
    pub fn reset_requests(&self) {
        *self.shared.requests() = RequestCounts::default();
    }

    /// Stop accepting, close every connection (watches included), and wait
    /// until the port is released.
    pub async fn shutdown(mut self) {
        self.ticker.abort();
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.ticker.abort();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Create `path` with mode 0600 and write `data` (atomically: temp + rename).
pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut shutdown: tokio_watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    conns.spawn(serve_connection(tcp, acceptor.clone(), shared.clone()));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    if shared.log_requests {
                        eprintln!("fake-apiserver: accept failed: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    conns.shutdown().await;
}

async fn serve_connection(tcp: TcpStream, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    // A client that never finishes the handshake must not hold a task forever.
    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            if shared.log_requests {
                eprintln!("fake-apiserver: TLS handshake failed: {e}");
            }
            return;
        }
        Err(_) => return,
    };
    let log = shared.log_requests;
    let service = hyper::service::service_fn(move |req| handlers::handle(shared.clone(), req));
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
        if log {
            eprintln!("fake-apiserver: connection error: {e}");
        }
    }
}
