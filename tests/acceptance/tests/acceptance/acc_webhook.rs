//! Acceptance tests of the resource `irsa_webhook`, run with the REAL
//! Terraform CLI on every version the harness finds, against the
//! in-process fake Kubernetes API server (changes "by someone else" are
//! made with the real `kubectl`), and a stub API server that counts
//! requests for the bad-input table.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, a Terraform, kubectl.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use irsa_acceptance::harness::{each_terraform, hcl_string, Workdir, REQUIRED_PROVIDERS};
use irsa_acceptance::sandbox::{k8s_status, Sandbox, StubApiServer};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

const NS: &str = "kube-system";
const NAME: &str = "pod-identity-webhook";
const ADDR: &str = "irsa_webhook.this";

fn config(kubeconfig: &Path, body: &str) -> String {
    config_with(kubeconfig, body, TIMEOUTS)
}

const TIMEOUTS: &str = r#"  timeouts {
    create = "3m"
    update = "3m"
    delete = "3m"
  }"#;

/// `timeouts` is configuration only (import cannot know it): the import
/// test goes without.
fn config_with(kubeconfig: &Path, body: &str, timeouts: &str) -> String {
    format!(
        r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    config_path = {path}
  }}
}}

resource "irsa_webhook" "this" {{
  aws_region = "eu-west-1"
{body}
{timeouts}
}}

output "ca_certificate" {{
  value = irsa_webhook.this.ca_certificate
}}
output "serving_certificate" {{
  value = irsa_webhook.this.serving_certificate
}}
output "ca_bundle" {{
  value = irsa_webhook.this.ca_bundle
}}
output "objects" {{
  value = irsa_webhook.this.objects
}}
"#,
        path = hcl_string(&kubeconfig.display().to_string()),
    )
}

/// Every object the default configuration makes: (API path prefix, plural, namespaced, name).
fn object_paths() -> Vec<String> {
    let ns =
        |group: &str, plural: &str, name: &str| format!("{group}/namespaces/{NS}/{plural}/{name}");
    vec![
        ns("/api/v1", "serviceaccounts", NAME),
        ns("/api/v1", "secrets", &format!("{NAME}-cert")),
        ns("/api/v1", "secrets", &format!("{NAME}-ca")),
        ns("/api/v1", "services", NAME),
        ns("/apis/apps/v1", "deployments", NAME),
        ns("/apis/policy/v1", "poddisruptionbudgets", NAME),
        format!("/apis/rbac.authorization.k8s.io/v1/clusterroles/{NS}:{NAME}"),
        format!("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{NS}:{NAME}"),
        format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{NAME}.{NS}"),
    ]
}

async fn get(sandbox: &Sandbox, path: &str) -> Option<Value> {
    let (status, body) = sandbox.k8s_get(path, None).await.expect("GET");
    match status {
        200 => Some(serde_json::from_slice(&body).expect("JSON")),
        404 => None,
        other => panic!(
            "GET {path}: HTTP {other}: {}",
            String::from_utf8_lossy(&body)
        ),
    }
}

fn kubectl(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(sandbox.kubeconfig_path())
        .args(args)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn b64_text(v: &Value) -> String {
    String::from_utf8(
        B64.decode(v.as_str().expect("base64 string"))
            .expect("base64"),
    )
    .expect("utf8")
}

/// Verifies `serving_pem` for `name` as kube-apiserver does with `bundle`.
fn verify(bundle: &str, serving_pem: &str, name: &str) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile_certs(bundle) {
        roots.add(c).map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let v = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())?;
    let leaf = rustls_pemfile_certs(serving_pem)
        .into_iter()
        .next()
        .ok_or("no certificate")?;
    v.verify_server_cert(
        &leaf,
        &[],
        &ServerName::try_from(name.to_string()).unwrap(),
        &[],
        UnixTime::now(),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

fn rustls_pemfile_certs(pem_text: &str) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    for block in pem_text.split_inclusive("-----END CERTIFICATE-----") {
        let Some(start) = block.find("-----BEGIN CERTIFICATE-----") else {
            continue;
        };
        let body: String = block[start + 27..]
            .trim_end_matches("-----END CERTIFICATE-----")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = B64.decode(body) {
            out.push(CertificateDer::from(der));
        }
    }
    out
}

fn dns_names(pem_text: &str) -> Vec<String> {
    let der = rustls_pemfile_certs(pem_text).remove(0);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
    let san = cert
        .subject_alternative_name()
        .expect("san")
        .expect("san present");
    san.value
        .general_names
        .iter()
        .filter_map(|g| match g {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// The raw state file and `terraform show -json`: no private key anywhere.
async fn assert_no_private_key_in_state(wd: &Workdir) {
    let raw = std::fs::read_to_string(wd.path().join("terraform.tfstate")).unwrap_or_default();
    let shown = wd.state_json().await.to_string();
    for (what, text) in [
        ("terraform.tfstate", &raw),
        ("terraform show -json", &shown),
    ] {
        assert!(
            !text.contains("PRIVATE KEY"),
            "[{}] a private key in {what}",
            wd.label()
        );
    }
}

fn statuses(objects: &Value) -> Vec<String> {
    objects
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap(),
                o["status"].as_str().unwrap()
            )
        })
        .collect()
}

/// Create -> every object as specified -> empty plan -> import -> empty
/// plan -> destroy -> nothing of ours left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_import_destroy() {
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_kube_only().await;
        let wd = Workdir::new(&tf, &config_with(sandbox.kubeconfig_path(), "", ""));
        wd.apply().await.expect("apply");

        for p in object_paths() {
            let o = get(&sandbox, &p).await.unwrap_or_else(|| panic!("[{}] {p} missing", wd.label()));
            assert_eq!(o["metadata"]["labels"]["app.kubernetes.io/managed-by"], "terraform-provider-irsa", "{p}");
            let managers: Vec<&str> = o["metadata"]["managedFields"]
                .as_array()
                .map(|m| m.iter().filter_map(|e| e["manager"].as_str()).collect())
                .unwrap_or_default();
            assert!(managers.contains(&"terraform-provider-irsa"), "{p}: managers {managers:?}");
        }
        let dep = get(&sandbox, &object_paths()[4]).await.unwrap();
        let c = &dep["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17");
        assert_eq!(c["command"], serde_json::json!(["/webhook"]));
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
        ] {
            assert!(args.iter().any(|a| a == want), "[{}] {want} not in {args:?}", wd.label());
        }
        assert_eq!(dep["spec"]["replicas"], 2);
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(dep["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
        let volumes = dep["spec"]["template"]["spec"]["volumes"].to_string();
        assert!(volumes.contains(&format!("{NAME}-cert")) && !volumes.contains(&format!("{NAME}-ca")), "{volumes}");

        let secret = get(&sandbox, &object_paths()[1]).await.unwrap();
        assert_eq!(secret["type"], "kubernetes.io/tls");
        let serving = b64_text(&secret["data"]["tls.crt"]);
        assert!(b64_text(&secret["data"]["tls.key"]).contains("PRIVATE KEY"));
        let mwc = get(&sandbox, &object_paths()[8]).await.unwrap();
        let hook = &mwc["webhooks"][0];
        assert_eq!(hook["failurePolicy"], "Ignore");
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["admissionReviewVersions"], serde_json::json!(["v1beta1"]));
        assert_eq!(hook["clientConfig"]["service"]["path"], "/mutate");
        assert_eq!(hook["clientConfig"]["service"]["name"], NAME);
        let bundle = b64_text(&hook["clientConfig"]["caBundle"]);
        let mut names = dns_names(&serving);
        names.sort();
        assert_eq!(
            names,
            [
                NAME.to_string(),
                format!("{NAME}.{NS}"),
                format!("{NAME}.{NS}.svc"),
                format!("{NAME}.{NS}.svc.cluster.local")
            ]
        );
        for n in &names {
            verify(&bundle, &serving, n).unwrap_or_else(|e| panic!("[{}] {n}: {e}", wd.label()));
        }
        assert!(verify(&bundle, &serving, "other.kube-system.svc").is_err());
        assert_eq!(wd.output_value("serving_certificate").await.as_str().unwrap().trim(), serving.trim());
        assert_eq!(wd.output_value("ca_bundle").await.as_str().unwrap().trim(), bundle.trim());
        assert_no_private_key_in_state(&wd).await;
        let rules = get(&sandbox, &object_paths()[6]).await.unwrap()["rules"].clone();
        assert_eq!(rules, serde_json::json!([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}]));

        wd.plan_is_empty().await;
        // Without the outputs: Terraform 1.0 does not write outputs on
        // import, so its plan would show them as new output values; the
        // resource's own plan is what import must leave empty.
        let full = config_with(sandbox.kubeconfig_path(), "", "");
        wd.set_config(&full[..full.find("output \"ca_certificate\"").expect("outputs")]);
        wd.apply().await.expect("apply removing the outputs");
        wd.run_ok(&["state", "rm", ADDR]).await.expect("state rm");
        wd.import(ADDR, &format!("{NS}/{NAME}")).await.expect("import");
        wd.plan_is_empty().await;
        assert_no_private_key_in_state(&wd).await;

        wd.destroy().await.expect("destroy");
        for p in object_paths() {
            assert!(get(&sandbox, &p).await.is_none(), "[{}] {p} left after destroy", wd.label());
        }
    })
    .await;
}

/// Drift: the Deployment deleted (re-made), failurePolicy changed by
/// another manager (a conflict naming it unless force_conflicts), an env
/// var another manager added (left alone, no diff).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_repaired_and_other_managers_fields_are_left_alone() {
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_kube_only().await;
        let wd = Workdir::new(&tf, &config(sandbox.kubeconfig_path(), "  replicas = 1\n"));
        wd.apply().await.expect("apply");
        assert!(get(
            &sandbox,
            &format!("/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{NAME}")
        )
        .await
        .is_none());

        // Deployment deleted.
        kubectl(&sandbox, &["-n", NS, "delete", "deployment", NAME]);
        let plan = wd.plan().await.expect("plan");
        plan.assert_matches(r#"status\s*=\s*"missing"\s*->\s*"applied""#);
        wd.apply().await.expect("apply repairs");
        assert!(get(
            &sandbox,
            &format!("/apis/apps/v1/namespaces/{NS}/deployments/{NAME}")
        )
        .await
        .is_some());
        wd.plan_is_empty().await;

        // Another manager's env var: no diff, and it stays.
        kubectl(
            &sandbox,
            &[
                "-n",
                NS,
                "set",
                "env",
                &format!("deployment/{NAME}"),
                "EXTRA_SETTING=1",
            ],
        );
        wd.plan_is_empty().await;

        // failurePolicy changed by someone else.
        let mwc = format!("{NAME}.{NS}");
        kubectl(
            &sandbox,
            &[
                "patch",
                "mutatingwebhookconfiguration",
                &mwc,
                "--type=json",
                "-p",
                r#"[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]"#,
            ],
        );
        let plan = wd.plan().await.expect("plan");
        plan.assert_matches(r#"drifted: \.webhooks\[name=pod-identity-webhook\.kube-system\.irsa\.terraform\.io\]\.failurePolicy"#);
        wd.expect_error(
            &["apply", "-auto-approve"],
            r#"(?s)MutatingWebhookConfiguration.*409 Conflict.*kubectl.*force_conflicts"#,
        )
        .await;
        wd.set_config(&config(
            sandbox.kubeconfig_path(),
            "  replicas = 1\n  force_conflicts = true\n",
        ));
        wd.apply().await.expect("forced apply repairs");
        let live = get(
            &sandbox,
            &format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{mwc}"),
        )
        .await
        .unwrap();
        assert_eq!(live["webhooks"][0]["failurePolicy"], "Ignore");
        wd.plan_is_empty().await;
        let dep = get(
            &sandbox,
            &format!("/apis/apps/v1/namespaces/{NS}/deployments/{NAME}"),
        )
        .await
        .unwrap();
        let env = dep["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
        assert!(
            env.contains("EXTRA_SETTING"),
            "[{}] the other manager's env var was removed: {env}",
            wd.label()
        );
        let objects = wd.output_value("objects").await;
        assert!(
            statuses(&objects).iter().all(|s| s.ends_with(" applied")),
            "{objects}"
        );
        wd.destroy().await.expect("destroy");
    })
    .await;
}

/// Renewal within certificate_renew_before: same CA, caBundle unchanged.
/// A changed validity: a new CA, both in caBundle during the overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_the_ca_and_rotation_overlaps() {
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_kube_only().await;
        let body = |validity: &str, renew: &str| {
            format!("  replicas = 1\n  certificate_validity = \"{validity}\"\n  certificate_renew_before = \"{renew}\"\n")
        };
        let wd = Workdir::new(&tf, &config(sandbox.kubeconfig_path(), &body("1h", "30m")));
        wd.apply().await.expect("apply");
        wd.plan_is_empty().await;
        let ca1 = wd.output_value("ca_certificate").await.as_str().unwrap().to_string();
        let serving1 = wd.output_value("serving_certificate").await.as_str().unwrap().to_string();
        let mwc_path = format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{NAME}.{NS}");
        let bundle1 = get(&sandbox, &mwc_path).await.unwrap()["webhooks"][0]["clientConfig"]["caBundle"].clone();

        // Less than renew_before remains: the plan re-issues the serving certificate only.
        wd.set_config(&config(sandbox.kubeconfig_path(), &body("1h", "59m59s")));
        let plan = wd.plan().await.expect("plan");
        plan.assert_matches(r"serving_certificate\s*=.*->\s*\(known after apply\)");
        plan.assert_not_matches(r"ca_certificate\s*=.*->\s*\(known after apply\)");
        wd.apply().await.expect("renew");
        let serving2 = wd.output_value("serving_certificate").await.as_str().unwrap().to_string();
        assert_ne!(serving1, serving2, "renewed");
        assert_eq!(wd.output_value("ca_certificate").await.as_str().unwrap(), ca1, "same CA");
        let live = get(&sandbox, &mwc_path).await.unwrap();
        assert_eq!(live["webhooks"][0]["clientConfig"]["caBundle"], bundle1, "caBundle unchanged");
        let secret = get(&sandbox, &format!("/api/v1/namespaces/{NS}/secrets/{NAME}-cert")).await.unwrap();
        assert_eq!(b64_text(&secret["data"]["tls.crt"]).trim(), serving2.trim());
        verify(&b64_text(&bundle1), &serving2, &format!("{NAME}.{NS}.svc")).unwrap();

        // A new validity: a new CA, trusted next to the old one.
        wd.set_config(&config(sandbox.kubeconfig_path(), &body("2h", "30m")));
        let plan = wd.plan().await.expect("plan");
        plan.assert_matches(r"ca_certificate\s*=.*->\s*\(known after apply\)");
        wd.apply().await.expect("rotate");
        let ca2 = wd.output_value("ca_certificate").await.as_str().unwrap().to_string();
        assert_ne!(ca1, ca2);
        let bundle = b64_text(&get(&sandbox, &mwc_path).await.unwrap()["webhooks"][0]["clientConfig"]["caBundle"]);
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
        assert!(bundle.contains(ca1.trim()) && bundle.contains(ca2.trim()));
        let serving3 = wd.output_value("serving_certificate").await.as_str().unwrap().to_string();
        verify(&bundle, &serving3, &format!("{NAME}.{NS}.svc")).unwrap();
        // The old serving certificate (still in pods until they reload) verifies too.
        verify(&bundle, &serving2, &format!("{NAME}.{NS}.svc")).unwrap();
        // Within the overlap nothing changes.
        wd.plan_is_empty().await;
        assert_no_private_key_in_state(&wd).await;
        wd.destroy().await.expect("destroy");
    })
    .await;
}

/// Bad input: each value -> its error at its attribute, and not one request
/// reaches the cluster (a stub API server counts them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_fail_at_plan_without_cluster_calls() {
    let stub = StubApiServer::start(|_, _| (404, k8s_status(404, "NotFound", "not found")))
        .await
        .expect("stub");
    let cases: Vec<(&str, &str)> = vec![
        (r#"image = "Not An Image""#, "Invalid image reference"),
        (r#"image = "repo/webhook""#, "neither a tag nor a digest"),
        ("token_expiration = 599", "at least 600"),
        (r#"failure_policy = "Deny""#, "Invalid failure policy"),
        (
            r#"admission_review_versions = ["v2"]"#,
            "Invalid admission review version",
        ),
        (
            r#"object_selector = { match_expressions = [{ key = "a", operator = "Like" }] }"#,
            "Invalid selector operator",
        ),
        (
            r#"namespace_selector = { match_expressions = [{ key = "a", operator = "In" }] }"#,
            "need at least one value",
        ),
        (
            r#"tolerations = [{ key = "k", operator = "Sometimes", effect = "NoSchedule" }]"#,
            "Invalid toleration operator",
        ),
        (
            r#"tolerations = [{ operator = "Exists", effect = "NoRun" }]"#,
            "Invalid toleration effect",
        ),
        (
            r#"resources = { requests = { cpu = "lots" } }"#,
            "Invalid quantity",
        ),
        (
            r#"service_account_lookup_grace_period = "5 seconds""#,
            "Invalid duration",
        ),
        (r#"namespace = "Kube_System""#, "Invalid namespace"),
        (r#"name = "1-webhook""#, "Invalid name"),
        (
            r#"certificate_renew_before = "90000h""#,
            "must be less than certificate_validity",
        ),
    ];
    let cases = Arc::new(cases);
    let stub = Arc::new(stub);
    each_terraform(|tf| {
        let cases = cases.clone();
        let stub = stub.clone();
        async move {
            for (line, error) in cases.iter() {
                let hcl = format!(
                    r#"{REQUIRED_PROVIDERS}
provider "irsa" {{
  kubernetes {{
    host     = {host}
    token    = "t"
    insecure = true
  }}
}}

resource "irsa_webhook" "this" {{
  aws_region = "eu-west-1"
  {line}
}}
"#,
                    host = hcl_string(&stub.url()),
                );
                let before = stub.requests().len();
                let wd = Workdir::new(&tf, &hcl);
                wd.expect_error(&["plan"], error).await;
                let after = stub.requests();
                assert_eq!(
                    after.len(),
                    before,
                    "[{}] {line}: cluster requests {:?}",
                    wd.label(),
                    &after[before..]
                );
            }
        }
    })
    .await;
}

/// A rollout that never becomes available: `ProgressDeadlineExceeded` is
/// reported at once, naming the Deployment, with the pods' events; without
/// it, the `timeouts.create` ends the wait. Either way the webhook
/// configuration is not applied, and destroy cleans up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_that_never_becomes_available_fails_clearly_within_the_timeout() {
    use irsa_acceptance::fake_apiserver::RolloutFailure;
    use std::time::{Duration, Instant};
    each_terraform(|tf| async move {
        let mwc_path = format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{NAME}.{NS}");
        // The Deployment controller gives up after its deadline.
        let sandbox = Sandbox::start_kube_only().await;
        sandbox.apiserver.fail_rollout(NS, NAME, RolloutFailure::image_pull(Duration::from_secs(4)));
        let wd = Workdir::new(&tf, &config(sandbox.kubeconfig_path(), "  replicas = 1\n"));
        let started = Instant::now();
        let out = wd
            .expect_error(
                &["apply", "-auto-approve"],
                r"(?s)Deployment kube-system/pod-identity-webhook failed to roll out: ProgressDeadlineExceeded",
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(90), "[{}] took {:?}", wd.label(), started.elapsed());
        assert!(out.normalized().contains("Recent events of its pods"), "[{}] no events:\n{out}", wd.label());
        assert!(get(&sandbox, &mwc_path).await.is_none(), "[{}] webhook configuration applied", wd.label());
        wd.destroy().await.expect("destroy");
        assert!(get(&sandbox, &format!("/apis/apps/v1/namespaces/{NS}/deployments/{NAME}")).await.is_none());

        // No deadline within reach: the resource's timeout ends the wait.
        let sandbox = Sandbox::start_kube_only().await;
        sandbox.apiserver.fail_rollout(NS, NAME, RolloutFailure::image_pull(Duration::from_secs(3600)));
        let body = "  replicas = 1\n";
        let hcl = config_with(sandbox.kubeconfig_path(), body, "  timeouts {\n    create = \"15s\"\n  }");
        let wd = Workdir::new(&tf, &hcl);
        let started = Instant::now();
        wd.expect_error(
            &["apply", "-auto-approve"],
            r"(?s)Deployment kube-system/pod-identity-webhook did not finish rolling out within `timeouts.create` \(15s\)",
        )
        .await;
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(14) && took < Duration::from_secs(75), "[{}] took {took:?}", wd.label());
        assert!(get(&sandbox, &mwc_path).await.is_none());
        wd.destroy().await.expect("destroy");
    })
    .await;
}

/// The provider block with the sandbox's kubeconfig and another token on
/// top (the kubeconfig's admin token replaced).
fn with_token(hcl: &str, token: &str) -> String {
    hcl.replacen(
        "  kubernetes {\n",
        &format!("  kubernetes {{\n    token = {}\n", hcl_string(token)),
        1,
    )
}

fn state_addresses(wd_state: &Value) -> Vec<String> {
    wd_state["values"]["root_module"]["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["address"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Destroy waits until each object is gone. A finalizer someone else put
/// on the Deployment holds the destroy until `timeouts.delete`, with an
/// error naming the object and the finalizer; the resource stays in state.
/// The Deployment was deleted in the foreground, so its ReplicaSets and
/// pods are gone even while it is held (in the background they would stay
/// until their owner is). Once the finalizer is removed, the next destroy
/// finishes and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_waits_for_finalizers_and_deletes_the_deployment_in_the_foreground() {
    use std::time::{Duration, Instant};
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_kube_only().await;
        let timeouts = "  timeouts {\n    create = \"3m\"\n    delete = \"8s\"\n  }";
        let wd = Workdir::new(&tf, &config_with(sandbox.kubeconfig_path(), "  replicas = 1\n", timeouts));
        wd.apply().await.expect("apply");
        let ours = |list: Value| -> Vec<String> {
            list["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/instance"] == NAME)
                        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let replicasets = format!("/apis/apps/v1/namespaces/{NS}/replicasets");
        let pods = format!("/api/v1/namespaces/{NS}/pods");
        assert!(!ours(get(&sandbox, &pods).await.expect("pods")).is_empty(), "[{}] no pods rolled out", wd.label());
        kubectl(&sandbox, &["-n", NS, "patch", "deployment", NAME, "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);

        let started = Instant::now();
        wd.expect_error(
            &["destroy", "-auto-approve"],
            r"(?s)Deployment kube-system/pod-identity-webhook is still being deleted.*finalizers .*`example\.com/hold`",
        )
        .await;
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(7) && took < Duration::from_secs(60), "[{}] took {took:?}", wd.label());
        let held = get(&sandbox, &object_paths()[4])
            .await
            .unwrap_or_else(|| panic!("[{}] the Deployment is gone despite its finalizer", wd.label()));
        assert!(held["metadata"]["deletionTimestamp"].is_string(), "[{}] {held}", wd.label());
        assert_eq!(ours(get(&sandbox, &replicasets).await.expect("rs")), Vec::<String>::new(), "[{}] ReplicaSets kept: not a foreground deletion", wd.label());
        assert_eq!(ours(get(&sandbox, &pods).await.expect("pods")), Vec::<String>::new(), "[{}] pods kept: not a foreground deletion", wd.label());
        assert!(get(&sandbox, &object_paths()[8]).await.is_none(), "[{}] the webhook configuration must go first", wd.label());
        assert_eq!(state_addresses(&wd.state_json().await), vec![ADDR.to_string()], "[{}] the resource must stay in state", wd.label());

        kubectl(&sandbox, &["-n", NS, "patch", "deployment", NAME, "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        wd.destroy().await.expect("destroy after the finalizer is removed");
        for p in object_paths() {
            assert!(get(&sandbox, &p).await.is_none(), "[{}] {p} left after destroy", wd.label());
        }
    })
    .await;
}

/// Credentials that may do everything in `kube-system` but nothing
/// cluster-wide (a namespace admin): the apply lists every permission it
/// lacks, verb and resource, before writing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_permissions_are_named_before_anything_is_applied() {
    use irsa_acceptance::fake_apiserver::{FakeApiServerConfig, NamespaceAdmin};
    use irsa_acceptance::sandbox::SandboxConfig;
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_with(SandboxConfig {
            moto: None,
            apiserver: FakeApiServerConfig {
                namespace_admins: vec![NamespaceAdmin {
                    token: "ns-admin-token".into(),
                    namespace: NS.into(),
                    service_account: "deployer".into(),
                }],
                ..FakeApiServerConfig::default()
            },
        })
        .await;
        let hcl = with_token(
            &config(sandbox.kubeconfig_path(), "  replicas = 1\n"),
            "ns-admin-token",
        );
        let wd = Workdir::new(&tf, &hcl);
        sandbox.apiserver.reset_requests();
        let out = wd
            .expect_error(
                &["apply", "-auto-approve"],
                r"Missing permissions in the Kubernetes cluster",
            )
            .await;
        let text = out.normalized();
        for line in [
            "- create clusterroles.rbac.authorization.k8s.io (cluster-scoped)",
            "- patch clusterrolebindings.rbac.authorization.k8s.io (cluster-scoped)",
            "- create mutatingwebhookconfigurations.admissionregistration.k8s.io (cluster-scoped)",
            "- delete mutatingwebhookconfigurations.admissionregistration.k8s.io (cluster-scoped)",
        ] {
            assert!(
                text.contains(line),
                "[{}] {line:?} not in:\n{text}",
                wd.label()
            );
        }
        assert!(
            !text.contains("serviceaccounts"),
            "[{}] namespaced kinds are allowed:\n{text}",
            wd.label()
        );
        assert!(
            !text.contains("ns-admin-token"),
            "[{}] the token leaked",
            wd.label()
        );
        let counts = sandbox.apiserver.requests();
        let writes: u64 = counts
            .by
            .iter()
            .filter(|((verb, res), _)| {
                ["create", "patch", "update", "delete"].contains(&verb.as_str())
                    && !res.starts_with("selfsubjectaccessreviews")
            })
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            writes,
            0,
            "[{}] writes before the permissions were known: {counts:?}",
            wd.label()
        );
        assert!(
            get(&sandbox, &object_paths()[0]).await.is_none(),
            "[{}] ServiceAccount applied",
            wd.label()
        );
        assert!(
            state_addresses(&wd.state_json().await).is_empty(),
            "[{}] nothing in state",
            wd.label()
        );
    })
    .await;
}

/// An RBAC rule (`namespace`: `None` for a ClusterRoleBinding, else a
/// RoleBinding there).
fn rule(
    namespace: Option<&str>,
    groups: &[&str],
    resources: &[&str],
    verbs: &[&str],
) -> irsa_acceptance::fake_apiserver::RbacRule {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    irsa_acceptance::fake_apiserver::RbacRule {
        namespace: namespace.map(str::to_string),
        api_groups: strings(groups),
        resources: strings(resources),
        verbs: strings(verbs),
    }
}

/// A fake cluster (no moto) where `token` is a user with only `rules`.
async fn sandbox_with_rbac_user(
    token: &str,
    rules: Vec<irsa_acceptance::fake_apiserver::RbacRule>,
) -> Sandbox {
    use irsa_acceptance::fake_apiserver::{FakeApiServerConfig, RbacUser};
    Sandbox::start_with(irsa_acceptance::sandbox::SandboxConfig {
        moto: None,
        apiserver: FakeApiServerConfig {
            rbac_users: vec![RbacUser {
                token: token.into(),
                name: "system:serviceaccount:ci:deployer".into(),
                rules,
            }],
            ..FakeApiServerConfig::default()
        },
    })
    .await
}

/// A 403 during apply or destroy names the verb and resource the
/// credentials lack: here everything is allowed except `delete` on
/// Deployments. The apply warns that destroy will fail; the destroy fails
/// naming `delete deployments.apps`, keeps the resource in state, and
/// finishes with credentials that may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_names_the_verb_and_resource_the_credentials_lack() {
    let rules = vec![
        rule(
            None,
            &["rbac.authorization.k8s.io", "admissionregistration.k8s.io"],
            &["*"],
            &["*"],
        ),
        rule(Some(NS), &["", "policy"], &["*"], &["*"]),
        rule(
            Some(NS),
            &["apps"],
            &["deployments"],
            &["get", "list", "watch", "create", "patch", "update"],
        ),
        rule(
            Some(NS),
            &["apps"],
            &["replicasets"],
            &["get", "list", "watch"],
        ),
    ];
    each_terraform(|tf| {
        let rules = rules.clone();
        async move {
            let sandbox = sandbox_with_rbac_user("no-delete-token", rules).await;
            let admin = config(sandbox.kubeconfig_path(), "  replicas = 1\n");
            let wd = Workdir::new(&tf, &with_token(&admin, "no-delete-token"));
            let out = wd.apply().await.expect("apply");
            assert!(
                out.normalized().contains("Destroy will need more permissions")
                    && out.normalized().contains("- delete deployments.apps in the namespace \"kube-system\""),
                "[{}] no warning about delete:\n{out}",
                wd.label()
            );
            wd.plan_is_empty().await;
            wd.expect_error(
                &["destroy", "-auto-approve"],
                r#"Deployment kube-system/pod-identity-webhook: the credentials of the provider's `kubernetes` settings may not `delete` deployments\.apps in the namespace "kube-system" \(403 Forbidden\)"#,
            )
            .await;
            assert_eq!(state_addresses(&wd.state_json().await), vec![ADDR.to_string()], "[{}] resource kept in state", wd.label());
            assert!(get(&sandbox, &object_paths()[4]).await.is_some(), "[{}] Deployment", wd.label());
            wd.set_config(&admin);
            wd.destroy().await.expect("destroy with the admin credentials");
            for p in object_paths() {
                assert!(get(&sandbox, &p).await.is_none(), "[{}] {p} left after destroy", wd.label());
            }
        }
    })
    .await;
}

/// `failure_policy = "Fail"` against an API server that calls webhooks
/// (the fake refuses a pod when the webhook's Service has no ready pod):
/// the install never blocks anything; with the webhook's Deployment deleted
/// other pods are refused, as on a real cluster; and the repair brings the
/// webhook back although its own configuration is in place, because its
/// own pods are always excluded by the object selector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_policy_never_blocks_the_webhooks_own_pods() {
    each_terraform(|tf| async move {
        let sandbox = Sandbox::start_kube_only().await;
        let body = "  replicas = 1\n  failure_policy = \"Fail\"\n";
        let wd = Workdir::new(&tf, &config(sandbox.kubeconfig_path(), body));
        wd.apply().await.expect("apply");
        let run = |name: &str| {
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(sandbox.kubeconfig_path())
                .args([
                    "run",
                    name,
                    "-n",
                    "default",
                    "--image=public.ecr.aws/docker/library/busybox:1",
                    "--restart=Never",
                ])
                .output()
                .expect("kubectl run")
        };
        let ok = run("before");
        assert!(
            ok.status.success(),
            "[{}] a pod was refused with the webhook up: {}",
            wd.label(),
            String::from_utf8_lossy(&ok.stderr)
        );

        kubectl(
            &sandbox,
            &["-n", NS, "delete", "deployment", NAME, "--wait=true"],
        );
        let mut refused = String::new();
        for _ in 0..50 {
            let out = run("while-down");
            if !out.status.success() {
                refused = String::from_utf8_lossy(&out.stderr).into_owned();
                break;
            }
            kubectl(
                &sandbox,
                &[
                    "-n",
                    "default",
                    "delete",
                    "pod",
                    "while-down",
                    "--wait=true",
                ],
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            refused.contains("failed calling webhook")
                && refused.contains("no endpoints available"),
            "[{}] with the webhook down and failurePolicy Fail a pod must be refused: {refused:?}",
            wd.label()
        );

        wd.apply()
            .await
            .expect("the repair rolls the webhook out past its own Fail configuration");
        wd.plan_is_empty().await;
        let ok = run("after");
        assert!(
            ok.status.success(),
            "[{}] {}",
            wd.label(),
            String::from_utf8_lossy(&ok.stderr)
        );
        wd.destroy().await.expect("destroy");
        for p in object_paths() {
            assert!(
                get(&sandbox, &p).await.is_none(),
                "[{}] {p} left after destroy",
                wd.label()
            );
        }
    })
    .await;
}

/// Server-side apply that re-creates an object needs `create` as well as
/// `patch`, and the API server's refusal of that second check gives no
/// reason (`clusterroles... is forbidden: `): the error still names
/// `create`. Here the ClusterRole was deleted out of band and the repair
/// runs with credentials that may patch ClusterRoles but not create them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_that_must_recreate_names_the_missing_create() {
    let rules = vec![
        rule(
            None,
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &["get", "list", "watch", "patch", "update", "delete"],
        ),
        rule(
            None,
            &["rbac.authorization.k8s.io"],
            &["clusterrolebindings"],
            &["*"],
        ),
        rule(None, &["admissionregistration.k8s.io"], &["*"], &["*"]),
        rule(Some(NS), &["", "apps", "policy"], &["*"], &["*"]),
    ];
    each_terraform(|tf| {
        let rules = rules.clone();
        async move {
            let sandbox = sandbox_with_rbac_user("no-create-token", rules).await;
            let admin = config(sandbox.kubeconfig_path(), "  replicas = 1\n");
            let wd = Workdir::new(&tf, &admin);
            wd.apply().await.expect("apply as admin");
            kubectl(&sandbox, &["delete", "clusterrole", &format!("{NS}:{NAME}")]);
            wd.set_config(&with_token(&admin, "no-create-token"));
            wd.expect_error(
                &["apply", "-auto-approve"],
                r#"ClusterRole kube-system:pod-identity-webhook: the credentials of the provider's `kubernetes` settings may not `create` clusterroles\.rbac\.authorization\.k8s\.io \(cluster-scoped\) \(403 Forbidden\)"#,
            )
            .await;
            wd.set_config(&admin);
            wd.apply().await.expect("the repair with credentials that may");
            wd.plan_is_empty().await;
            wd.destroy().await.expect("destroy");
        }
    })
    .await;
}
