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

use std::path::PathBuf;
use std::process::{Output, Stdio};

use irsa_acceptance::fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use irsa_acceptance::harness::require_tool;
use serde_json::Value;
use tokio::process::Command;

/// kubectl on PATH, or the test fails (or is reported SKIPPED on purpose).
macro_rules! require_kubectl {
    () => {
        if require_tool("kubectl").is_none() {
            return;
        }
    };
}

/// The kubectl on PATH (checked by `require_kubectl!` first).
fn kubectl_path() -> PathBuf {
    require_tool("kubectl").expect("kubectl on PATH (require_kubectl! ran first)")
}

struct Env {
    server: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
}

impl Env {
    async fn start(cfg: FakeApiServerConfig) -> Env {
        let server = FakeApiServer::start(cfg)
            .await
            .expect("start fake apiserver");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("write kubeconfig");
        Env {
            server,
            dir,
            kubeconfig,
            kubectl: kubectl_path(),
        }
    }

    async fn new() -> Env {
        Env::start(FakeApiServerConfig::default()).await
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            // Keep kubectl's discovery cache (and anything else it writes)
            // out of the real home directory.
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=30s")
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "all_proxy",
        ] {
            c.env_remove(v);
        }
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("run kubectl")
    }

    /// Run and insist on success; returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Run and insist on failure; returns stderr.
    async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            !out.status.success(),
            "kubectl {args:?} should have failed; stdout: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: not JSON ({e}): {out}"))
    }

    /// `kubectl rollout status`, insisting on success; returns its output.
    async fn rollout_status(&self, ns: &str, name: &str) -> String {
        let out = self
            .ok(&[
                "rollout",
                "status",
                &format!("deploy/{name}"),
                "-n",
                ns,
                "--timeout=30s",
            ])
            .await;
        assert!(out.contains("successfully rolled out"), "{out}");
        out
    }

    fn write(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p.display().to_string()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
