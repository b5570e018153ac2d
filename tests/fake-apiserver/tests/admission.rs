//! Mutating admission webhooks and aggregated discovery of the fake API
//! server, driven with the real kubectl (see `fake_apiserver_kubectl.rs`
//! for the conventions: kubectl on PATH or the test fails, unless
//! `IRSA_ALLOW_MISSING_TOOLS=kubectl` reports it SKIPPED).
//!
//! The webhook tests are the point of the admission model: a
//! MutatingWebhookConfiguration with `failurePolicy: Fail` whose Service has
//! no ready endpoints blocks every matching Pod, as on a real cluster, so
//! an install that writes the configuration before its webhook serves is
//! caught.

use fake_apiserver::FakeApiServerConfig;
use serde_json::Value;

#[macro_use]
mod common;
use common::{text, Env};

/// The webhook's namespace, Service, ServiceAccount and Deployment (the
/// pods `app: pod-identity-webhook` back the Service).
const WEBHOOK: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: irsa-test
---
apiVersion: v1
kind: Service
metadata:
  name: pod-identity-webhook
  namespace: irsa-test
spec:
  selector:
    app: pod-identity-webhook
  ports:
  - port: 443
    targetPort: 8443
"#;

const WEBHOOK_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pod-identity-webhook
  namespace: irsa-test
spec:
  replicas: 1
  selector:
    matchLabels:
      app: pod-identity-webhook
  template:
    metadata:
      labels:
        app: pod-identity-webhook
    spec:
      containers:
      - name: webhook
        image: public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17
"#;

/// The MutatingWebhookConfiguration, with `FAILURE_POLICY` and the
/// selectors `SELECTORS` (YAML lines at webhook level) filled in.
const MWC: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: pod-identity-webhook
webhooks:
- name: pod-identity-webhook.amazonaws.com
  failurePolicy: FAILURE_POLICY
  clientConfig:
    service:
      name: pod-identity-webhook
      namespace: irsa-test
      path: /mutate
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
  sideEffects: None
  admissionReviewVersions: ["v1beta1"]
SELECTORS
"#;

fn mwc(failure_policy: &str, selectors: &str) -> String {
    MWC.replace("FAILURE_POLICY", failure_policy)
        .replace("SELECTORS", selectors)
}

const NO_ENDPOINTS: &str = "Error from server (InternalError): Internal error occurred: failed calling webhook \"pod-identity-webhook.amazonaws.com\": failed to call webhook: Post \"https://pod-identity-webhook.irsa-test.svc:443/mutate?timeout=10s\": no endpoints available for service \"pod-identity-webhook\"";

impl Env {
    async fn apply(&self, name: &str, yaml: &str) {
        let f = self.write(name, yaml);
        self.ok(&[
            "apply",
            "--server-side",
            "--field-manager=test",
            "--validate=false",
            "-f",
            &f,
        ])
        .await;
    }

    async fn failed_create_events(&self, ns: &str) -> Vec<Value> {
        let events = self
            .json(&[
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                "reason=FailedCreate",
                "-o",
                "json",
            ])
            .await;
        events["items"].as_array().cloned().unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_webhook_without_endpoints_blocks_pods_until_it_serves() {
    require_kubectl!();
    let env = Env::new().await;
    env.apply("webhook.yaml", WEBHOOK).await;
    // The webhook's own namespace is excluded, as installs usually do.
    env.apply(
        "mwc.yaml",
        &mwc(
            "Fail",
            "  namespaceSelector:\n    matchExpressions:\n    - {key: kubernetes.io/metadata.name, operator: NotIn, values: [irsa-test]}",
        ),
    )
    .await;

    // A bare pod: refused with the real apiserver's words.
    let err = env
        .fails(&[
            "run",
            "app",
            "-n",
            "default",
            "--image=busybox",
            "--restart=Never",
        ])
        .await;
    assert!(err.contains(NO_ENDPOINTS), "{err}");
    env.fails(&["get", "pod", "app", "-n", "default"]).await;

    // A Deployment: its ReplicaSet cannot make pods; events say why.
    env.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "default",
        "--image=nginx",
    ])
    .await;
    let out = env
        .run(&[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "default",
            "--timeout=3s",
        ])
        .await;
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let events = env.failed_create_events("default").await;
    assert_eq!(events.len(), 1, "aggregated into one Event: {events:?}");
    let e = &events[0];
    assert_eq!(e["type"], "Warning");
    assert_eq!(e["involvedObject"]["kind"], "ReplicaSet");
    assert_eq!(e["source"]["component"], "replicaset-controller");
    assert!(e["count"].as_i64() > Some(1), "retried: {e}");
    let msg = e["message"].as_str().unwrap_or("");
    assert_eq!(
        msg,
        format!(
            "Error creating: {}",
            NO_ENDPOINTS.trim_start_matches("Error from server (InternalError): ")
        )
    );
    let pods = env
        .json(&["get", "pods", "-n", "default", "-o", "json"])
        .await;
    assert_eq!(pods["items"].as_array().map(Vec::len), Some(0), "{pods}");
    let d = env
        .json(&["get", "deploy", "web", "-n", "default", "-o", "json"])
        .await;
    let failure = d["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ReplicaFailure"))
        .cloned()
        .unwrap_or_else(|| panic!("ReplicaFailure condition: {}", d["status"]));
    assert_eq!(failure["reason"], "FailedCreate");

    // The webhook's pods (not matched) become Ready: pods come through.
    env.apply("deploy.yaml", WEBHOOK_DEPLOYMENT).await;
    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    env.rollout_status("default", "web").await;
    env.ok(&[
        "run",
        "app",
        "-n",
        "default",
        "--image=busybox",
        "--restart=Never",
    ])
    .await;
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_that_matches_its_own_pods_never_comes_up() {
    require_kubectl!();
    let env = Env::new().await;
    env.apply("webhook.yaml", WEBHOOK).await;
    // Installed before its Deployment and matching every pod, its own too.
    env.apply("mwc.yaml", &mwc("Fail", "")).await;
    env.apply("deploy.yaml", WEBHOOK_DEPLOYMENT).await;
    let out = env
        .run(&[
            "rollout",
            "status",
            "deploy/pod-identity-webhook",
            "-n",
            "irsa-test",
            "--timeout=3s",
        ])
        .await;
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let events = env.failed_create_events("irsa-test").await;
    assert!(
        events.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("no endpoints available for service"))),
        "{events:?}"
    );
    // The other order works: the configuration removed, the Deployment
    // comes up, and then the configuration may be installed.
    env.ok(&[
        "delete",
        "mutatingwebhookconfiguration",
        "pod-identity-webhook",
    ])
    .await;
    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    env.apply("mwc.yaml", &mwc("Fail", "")).await;
    env.ok(&[
        "run",
        "app",
        "-n",
        "default",
        "--image=busybox",
        "--restart=Never",
    ])
    .await;
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_selector_and_ignore_policy_let_pods_through() {
    require_kubectl!();
    let env = Env::new().await;
    env.apply("webhook.yaml", WEBHOOK).await;
    env.apply(
        "mwc.yaml",
        &mwc(
            "Fail",
            "  objectSelector:\n    matchLabels:\n      irsa/inject: \"true\"",
        ),
    )
    .await;
    // Not selected: created without calling the webhook.
    env.ok(&[
        "run",
        "plain",
        "-n",
        "default",
        "--image=busybox",
        "--restart=Never",
    ])
    .await;
    let err = env
        .fails(&[
            "run",
            "injected",
            "-n",
            "default",
            "--image=busybox",
            "--restart=Never",
            "--labels=irsa/inject=true",
        ])
        .await;
    assert!(err.contains(NO_ENDPOINTS), "{err}");
    // A Deployment whose pods are not selected rolls out.
    env.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "default",
        "--image=nginx",
    ])
    .await;
    env.rollout_status("default", "web").await;

    // Ignore: the unreachable webhook is skipped.
    env.ok(&[
        "patch",
        "mutatingwebhookconfiguration",
        "pod-identity-webhook",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]"#,
    ])
    .await;
    env.ok(&[
        "run",
        "injected",
        "-n",
        "default",
        "--image=busybox",
        "--restart=Never",
        "--labels=irsa/inject=true",
    ])
    .await;
    assert!(env.failed_create_events("default").await.is_empty());
    env.server.shutdown().await;
}

const V2_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_uses_aggregated_discovery() {
    require_kubectl!();
    let env = Env::new().await;
    env.server.reset_requests();
    let out = env.ok(&["api-resources", "--no-headers"]).await;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |name: &str, api_version: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&name) && r.contains(&api_version))
            .cloned()
            .unwrap_or_else(|| panic!("{name} {api_version} in:\n{out}"))
    };
    // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND
    assert_eq!(
        row("deployments", "apps/v1"),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        row("namespaces", "v1"),
        ["namespaces", "ns", "v1", "false", "Namespace"]
    );
    assert_eq!(
        row(
            "mutatingwebhookconfigurations",
            "admissionregistration.k8s.io/v1"
        ),
        [
            "mutatingwebhookconfigurations",
            "admissionregistration.k8s.io/v1",
            "false",
            "MutatingWebhookConfiguration"
        ]
    );
    assert_eq!(
        row("serviceaccounts", "v1"),
        ["serviceaccounts", "sa", "v1", "true", "ServiceAccount"]
    );
    assert!(
        !out.contains("serviceaccounts/token"),
        "subresources are not listed: {out}"
    );
    // Aggregated: /api and /apis were enough, no per-group-version lists.
    let counts = env.server.requests();
    let per_gv: Vec<_> = counts
        .by
        .keys()
        .filter(|(_, r)| r.starts_with("/api/") || r.starts_with("/apis/"))
        .collect();
    assert!(per_gv.is_empty(), "legacy discovery was used: {counts:?}");
    assert!(counts.get("get", "/apis") >= 1, "{counts:?}");

    // REST mapping from it works for everyday commands.
    env.ok(&[
        "create",
        "configmap",
        "c",
        "-n",
        "default",
        "--from-literal=a=b",
    ])
    .await;
    env.ok(&[
        "get",
        "cm,deploy,sa,mutatingwebhookconfigurations",
        "-n",
        "default",
    ])
    .await;
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_aggregated_discovery_documents() {
    require_kubectl!();
    let env = Env::new().await;
    for (path, accept, version) in [
        ("/apis", V2_ACCEPT, "v2"),
        ("/api", V2_ACCEPT, "v2"),
        (
            "/apis",
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
            "v2beta1",
        ),
    ] {
        let req = http::Request::get(path)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .expect("request");
        let resp = env
            .server
            .send(req, fake_apiserver::ClientAuth::Admin, false)
            .await
            .expect("send");
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("content-type"),
            Some(
                format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
                    .as_str()
            )
        );
        let doc = resp.json().expect("json");
        assert_eq!(doc["kind"], "APIGroupDiscoveryList");
        assert_eq!(doc["apiVersion"], format!("apidiscovery.k8s.io/{version}"));
        let items = doc["items"].as_array().expect("items");
        assert!(!items.is_empty());
        if path == "/api" {
            assert_eq!(items.len(), 1);
            assert!(items[0]["metadata"]["name"].is_null());
        }
    }
    // Legacy Accept keeps the legacy document.
    let legacy = env.json(&["get", "--raw", "/apis"]).await;
    assert_eq!(legacy["kind"], "APIGroupList");
    let legacy = env.json(&["get", "--raw", "/api"]).await;
    assert_eq!(legacy["kind"], "APIVersions");
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_aggregated_discovery_finds_the_groups() {
    require_kubectl!();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = Env::new().await;
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&env.server.kubeconfig_yaml()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let discovery = kube::Discovery::new(client)
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
    for g in [
        "",
        "apps",
        "admissionregistration.k8s.io",
        "rbac.authorization.k8s.io",
    ] {
        assert!(groups.iter().any(|n| n == g), "{g:?} in {groups:?}");
    }
    let apps = discovery.get("apps").expect("apps");
    let (ar, caps) = apps
        .recommended_resources()
        .into_iter()
        .find(|(ar, _)| ar.kind == "Deployment")
        .expect("Deployment");
    assert_eq!(ar.plural, "deployments");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_in_terminating_namespace_carries_the_cause() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        namespace_termination_delay: std::time::Duration::from_secs(5),
        ..FakeApiServerConfig::default()
    })
    .await;
    env.ok(&["create", "namespace", "team"]).await;
    env.ok(&["delete", "namespace", "team", "--wait=false"])
        .await;
    let err = env
        .fails(&[
            "create",
            "configmap",
            "c",
            "-n",
            "team",
            "--from-literal=a=b",
        ])
        .await;
    assert!(
        err.contains(
            "unable to create new content in namespace team because it is being terminated"
        ),
        "{err}"
    );
    let resp = env
        .server
        .request(
            "POST",
            "/api/v1/namespaces/team/configmaps",
            Some("application/json"),
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        )
        .await
        .expect("request");
    assert_eq!(resp.status, 403);
    let st = resp.json().expect("json");
    assert_eq!(
        st["details"]["causes"],
        serde_json::json!([{"reason": "NamespaceTerminating",
            "message": "namespace team is being terminated", "field": "metadata.namespace"}])
    );
    env.server.shutdown().await;
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.trim().split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_name_an_existing_pod_or_secret() {
    require_kubectl!();
    let env = Env::new().await;
    env.ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "default",
        "--image=nginx",
    ])
    .await;
    env.rollout_status("default", "web").await;
    let pods = env
        .json(&["get", "pods", "-n", "default", "-o", "json"])
        .await;
    let pod = &pods["items"][0];
    let pod_name = pod["metadata"]["name"].as_str().expect("pod name");
    let token = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--bound-object-kind=Pod",
            &format!("--bound-object-name={pod_name}"),
        ])
        .await;
    let claims = jwt_claims(&token);
    let k = &claims["kubernetes.io"];
    assert_eq!(k["pod"]["name"], pod_name, "{claims}");
    assert_eq!(k["pod"]["uid"], pod["metadata"]["uid"], "{claims}");
    assert_eq!(k["node"]["name"], pod["spec"]["nodeName"], "{claims}");
    assert!(k["node"]["uid"].is_string(), "{claims}");
    assert_eq!(k["serviceaccount"]["name"], "default");

    env.ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "default",
        "--from-literal=a=b",
    ])
    .await;
    let secret = env
        .json(&["get", "secret", "s", "-n", "default", "-o", "json"])
        .await;
    let token = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--bound-object-kind=Secret",
            "--bound-object-name=s",
        ])
        .await;
    let claims = jwt_claims(&token);
    assert_eq!(
        claims["kubernetes.io"]["secret"],
        serde_json::json!({"name": "s", "uid": secret["metadata"]["uid"]}),
        "{claims}"
    );
    assert!(claims["kubernetes.io"]["pod"].is_null());

    let err = env
        .fails(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--bound-object-kind=Pod",
            "--bound-object-name=nope",
        ])
        .await;
    assert!(
        err.contains("failed to create token: pods \"nope\" not found"),
        "{err}"
    );
    let err = env
        .fails(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--bound-object-kind=Secret",
            "--bound-object-name=s",
            "--bound-object-uid=00000000-0000-0000-0000-000000000000",
        ])
        .await;
    assert!(
        err.contains(
            "Operation cannot be fulfilled on Secret \"s\": the UID in the bound object reference"
        ),
        "{err}"
    );
    env.server.shutdown().await;
}
