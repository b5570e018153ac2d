//! The fake API server checked with the real kubectl, so that it is the
//! Kubernetes protocol as kubectl speaks it (discovery, REST mapping,
//! server-side apply, TokenRequest, Status errors) that is exercised, not
//! our own reading of it. kubectl is looked up on PATH; a test without it
//! fails with the reason, unless the run allows the skip on purpose
//! (`IRSA_ALLOW_MISSING_TOOLS=kubectl`), which is then reported as SKIPPED
//! (see `fake_apiserver::testing::require_tool`).

use std::path::{Path, PathBuf};

use std::time::Duration;

use fake_apiserver::testing::missing_tool;
use fake_apiserver::{
    FakeApiServer, FakeApiServerConfig, JwksUri, NamespaceAdmin, RbacRule, RbacUser,
    RolloutFailure, DEFAULT_ISSUER, RESTRICTED_USER,
};
use serde_json::Value;

#[macro_use]
mod common;
use common::{kubectl_path, text, Env};

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: irsa-test
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: pod-identity-webhook
  namespace: irsa-test
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/webhook
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pod-identity-webhook
  namespace: irsa-test
  labels:
    app: pod-identity-webhook
spec:
  replicas: REPLICAS
  selector:
    matchLabels:
      app: pod-identity-webhook
  template:
    metadata:
      labels:
        app: pod-identity-webhook
    spec:
      serviceAccountName: pod-identity-webhook
      containers:
      - name: webhook
        image: public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17
        args: ["--port=8443", "--token-audience=sts.amazonaws.com"]
"#;

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion in {obj}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_endpoints_through_kubectl_get_raw() {
    require_kubectl!();
    let env = Env::new().await;
    let jwks = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(k["use"], "sig");
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["alg"], "RS256");
    assert_eq!(k["e"], "AQAB");
    assert_eq!(
        k["kid"].as_str(),
        env.server.kids().first().map(String::as_str)
    );
    // base64url of SHA-256: 43 characters, no padding.
    assert_eq!(k["kid"].as_str().expect("kid").len(), 43);

    let disc = env
        .json(&["get", "--raw", "/.well-known/openid-configuration"])
        .await;
    assert_eq!(
        disc,
        serde_json::json!({
            "issuer": "https://kubernetes.default.svc.cluster.local",
            "jwks_uri": "https://kubernetes.default.svc.cluster.local/openid/v1/jwks",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]
        })
    );
    let version = env.ok(&["version", "-o", "json"]).await;
    assert!(version.contains("v1.33.0"), "{version}");
    let resources = env.ok(&["api-resources"]).await;
    for needle in [
        "deployments",
        "deploy",
        "serviceaccounts",
        "mutatingwebhookconfigurations",
        "poddisruptionbudgets",
        "pdb",
    ] {
        assert!(
            resources.contains(needle),
            "api-resources lacks {needle}:\n{resources}"
        );
    }
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_get_reapply_delete() {
    require_kubectl!();
    let env = Env::new().await;
    let v1 = env.write("v1.yaml", &MANIFEST.replace("REPLICAS", "2"));
    let out = env
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=test",
            "--validate=false",
            "-f",
            &v1,
        ])
        .await;
    assert!(
        out.contains("namespace/irsa-test serverside-applied"),
        "{out}"
    );
    assert!(
        out.contains("deployment.apps/pod-identity-webhook serverside-applied"),
        "{out}"
    );

    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    let d1 = env
        .json(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await;
    assert_eq!(d1["kind"], "Deployment");
    assert_eq!(d1["apiVersion"], "apps/v1");
    assert_eq!(d1["metadata"]["namespace"], "irsa-test");
    assert_eq!(d1["metadata"]["generation"], 1);
    assert_eq!(d1["metadata"]["uid"].as_str().expect("uid").len(), 36);
    assert!(d1["metadata"]["creationTimestamp"]
        .as_str()
        .expect("ts")
        .ends_with('Z'));
    assert_eq!(d1["spec"]["replicas"], 2);
    assert_eq!(d1["status"]["readyReplicas"], 2);
    assert_eq!(d1["status"]["observedGeneration"], 1);
    let mf = &d1["metadata"]["managedFields"][0];
    assert_eq!(
        (mf["manager"].as_str(), mf["operation"].as_str()),
        (Some("test"), Some("Apply"))
    );
    assert!(mf["fieldsV1"]["f:spec"]["f:replicas"].is_object(), "{mf}");

    // Human output (server-side Table) and short names work too.
    let table = env.ok(&["get", "deploy", "-n", "irsa-test"]).await;
    assert!(table.contains("pod-identity-webhook"), "{table}");
    let sas = env.ok(&["get", "sa", "-A", "-o", "name"]).await;
    assert!(sas.contains("serviceaccount/pod-identity-webhook"), "{sas}");
    let annotated = env
        .json(&[
            "get",
            "sa",
            "pod-identity-webhook",
            "-n",
            "irsa-test",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(
        annotated["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/webhook"
    );

    // Re-applying the same manifest is a no-op: same resourceVersion.
    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager=test",
        "--validate=false",
        "-f",
        &v1,
    ])
    .await;
    let same = env
        .json(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(rv(&same), rv(&d1));

    // A change: new resourceVersion, new generation, visible.
    let v2 = env.write("v2.yaml", &MANIFEST.replace("REPLICAS", "3"));
    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager=test",
        "--validate=false",
        "-f",
        &v2,
    ])
    .await;
    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    let d2 = env
        .json(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
        ])
        .await;
    assert!(rv(&d2) > rv(&d1), "{} !> {}", rv(&d2), rv(&d1));
    assert_eq!(d2["spec"]["replicas"], 3);
    assert_eq!(d2["metadata"]["generation"], 2);
    assert_eq!(d2["status"]["availableReplicas"], 3);
    assert_eq!(d2["metadata"]["uid"], d1["metadata"]["uid"]);

    // Strategic merge patch merges containers by name (kubectl set image).
    env.ok(&[
        "set",
        "image",
        "deploy/pod-identity-webhook",
        "-n",
        "irsa-test",
        "webhook=public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.18",
    ])
    .await;
    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    let d3 = env
        .json(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
        ])
        .await;
    let c = &d3["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"],
        "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.18"
    );
    assert_eq!(
        c["args"][0], "--port=8443",
        "the rest of the container survives: {c}"
    );
    assert_eq!(
        d3["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager=test",
        "--force-conflicts",
        "--validate=false",
        "-f",
        &v2,
    ])
    .await;

    // A client waiting for the rollout sees it done (kubectl lists, then watches).
    let rollout = env
        .ok(&[
            "rollout",
            "status",
            "deploy/pod-identity-webhook",
            "-n",
            "irsa-test",
            "--timeout=20s",
        ])
        .await;
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    // Another manager changing an owned field conflicts, unless forced.
    let err = env
        .fails(&[
            "apply",
            "--server-side",
            "--field-manager=intruder",
            "--validate=false",
            "-f",
            &v1,
        ])
        .await;
    assert!(
        err.contains("conflict") && err.contains(".spec.replicas"),
        "{err}"
    );
    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager=intruder",
        "--force-conflicts",
        "--validate=false",
        "-f",
        &v1,
    ])
    .await;

    let out = env
        .ok(&[
            "delete",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
        ])
        .await;
    assert!(out.contains("deleted"), "{out}");
    let err = env
        .fails(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
        ])
        .await;
    assert!(err.contains("NotFound"), "{err}");
    assert!(
        err.contains(r#"deployments.apps "pod-identity-webhook" not found"#),
        "{err}"
    );

    // Deleting the namespace takes its contents with it.
    env.ok(&["delete", "namespace", "irsa-test"]).await;
    let err = env
        .fails(&["get", "sa", "-n", "irsa-test", "pod-identity-webhook"])
        .await;
    assert!(err.contains("NotFound"), "{err}");
    let left: Vec<Value> = env
        .server
        .objects()
        .into_iter()
        .filter(|o| {
            o["metadata"]["namespace"] == "irsa-test" || o["metadata"]["name"] == "irsa-test"
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_unauthorized() {
    require_kubectl!();
    let env = Env::new().await;
    // kubectl words a 401 during discovery as "the server has asked for the
    // client to provide credentials" and one on a request as
    // "Unauthorized", both under "You must be logged in to the server",
    // exactly as with a real apiserver.
    let err = env
        .fails(&["--token=wrong", "get", "sa", "-n", "default"])
        .await;
    assert!(err.contains("You must be logged in to the server"), "{err}");
    let err = env
        .fails(&["--token=wrong", "get", "--raw", "/openid/v1/jwks"])
        .await;
    assert!(err.contains("Unauthorized"), "{err}");
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_token_gets_rbac_errors() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        forbidden_token: Some("limited-token".into()),
        ..Default::default()
    })
    .await;
    let err = env
        .fails(&[
            "--token=limited-token",
            "get",
            "deploy",
            "-n",
            "default",
            "x",
        ])
        .await;
    let want = format!(
        r#"deployments.apps "x" is forbidden: User "{RESTRICTED_USER}" cannot get resource "deployments" in API group "apps" in the namespace "default""#
    );
    assert!(err.contains(&want), "{err}");
    let err = env
        .fails(&[
            "--token=limited-token",
            "create",
            "token",
            "default",
            "-n",
            "default",
        ])
        .await;
    assert!(
        err.contains(r#"cannot create resource "serviceaccounts/token" in API group """#),
        "{err}"
    );
    // Discovery and OIDC stay readable, as for any authenticated user.
    env.ok(&["--token=limited-token", "get", "--raw", "/openid/v1/jwks"])
        .await;
    env.server.shutdown().await;
}

fn verify(token: &str, jwks: &Value, issuer: &str, audience: &str) -> (String, Value) {
    let header = jsonwebtoken::decode_header(token).expect("JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.expect("kid in header");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not in JWKS {jwks}"));
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("RSA key from JWK");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("token verifies against the served JWKS");
    (kid, data.claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_token_verifies_against_served_jwks_and_rotation() {
    require_kubectl!();
    let env = Env::new().await;
    let issuer = env.server.issuer();
    let token = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--audience",
            "sts.amazonaws.com",
        ])
        .await;
    let token = token.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    let jwks = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
    let (kid1, claims) = verify(&token, &jwks, &issuer, "sts.amazonaws.com");
    assert_eq!(claims["sub"], "system:serviceaccount:default:default");
    assert_eq!(claims["aud"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(claims["kubernetes.io"]["namespace"], "default");
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "default");
    let sa = env
        .json(&["get", "sa", "default", "-n", "default", "-o", "json"])
        .await;
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"]["uid"],
        sa["metadata"]["uid"]
    );
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 3600, "default expiration");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((iat - now).abs() < 60);

    // --duration maps to spec.expirationSeconds.
    let t2 = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--audience",
            "sts.amazonaws.com",
            "--duration",
            "2h",
        ])
        .await;
    let (_, c2) = verify(t2.trim(), &jwks, &issuer, "sts.amazonaws.com");
    assert_eq!(
        c2["exp"].as_i64().expect("exp") - c2["iat"].as_i64().expect("iat"),
        7200
    );

    // Rotation: both keys published, new tokens carry the new kid, old
    // tokens still verify.
    let kid2 = env.server.rotate_key();
    assert_ne!(kid1, kid2);
    let jwks2 = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
    let kids: Vec<&str> = jwks2["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, vec![kid1.as_str(), kid2.as_str()]);
    let t3 = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "kube-system",
            "--audience",
            "sts.amazonaws.com",
        ])
        .await;
    let (kid3, c3) = verify(t3.trim(), &jwks2, &issuer, "sts.amazonaws.com");
    assert_eq!(kid3, kid2);
    assert_eq!(c3["sub"], "system:serviceaccount:kube-system:default");
    verify(&token, &jwks2, &issuer, "sts.amazonaws.com");

    // Rotation through the HTTP control endpoint, driven by kubectl.
    let empty = env.write("empty", "");
    let rotated: Value = serde_json::from_str(
        &env.ok(&["create", "--raw", "/_sandbox/rotate-key", "-f", &empty])
            .await,
    )
    .expect("json");
    let kid4 = rotated["kid"].as_str().expect("kid").to_string();
    assert_eq!(env.server.kids().last(), Some(&kid4));
    let t4 = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--audience",
            "sts.amazonaws.com",
        ])
        .await;
    let jwks3 = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
    assert_eq!(jwks3["keys"].as_array().expect("keys").len(), 3);
    assert_eq!(
        verify(t4.trim(), &jwks3, &issuer, "sts.amazonaws.com").0,
        kid4
    );

    // Issuer change: discovery and new tokens follow.
    env.server
        .set_issuer("https://oidc.example.com/cluster-a".into());
    let disc = env
        .json(&["get", "--raw", "/.well-known/openid-configuration"])
        .await;
    assert_eq!(disc["issuer"], "https://oidc.example.com/cluster-a");
    assert_eq!(
        disc["jwks_uri"],
        "https://oidc.example.com/cluster-a/openid/v1/jwks"
    );
    let t5 = env
        .ok(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--audience",
            "sts.amazonaws.com",
        ])
        .await;
    verify(
        t5.trim(),
        &jwks3,
        "https://oidc.example.com/cluster-a",
        "sts.amazonaws.com",
    );
    // ...and through the control endpoint.
    let iss = env.write("issuer", "https://oidc.example.com/cluster-b");
    env.ok(&["create", "--raw", "/_sandbox/issuer", "-f", &iss])
        .await;
    assert_eq!(env.server.issuer(), "https://oidc.example.com/cluster-b");
    // No audience: the issuer is the audience (API audiences default).
    let t6 = env
        .ok(&["create", "token", "default", "-n", "default"])
        .await;
    verify(
        t6.trim(),
        &jwks3,
        "https://oidc.example.com/cluster-b",
        "https://oidc.example.com/cluster-b",
    );
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_errors() {
    require_kubectl!();
    let env = Env::new().await;
    let err = env
        .fails(&[
            "create",
            "token",
            "default",
            "-n",
            "default",
            "--duration",
            "5m",
        ])
        .await;
    assert!(
        err.contains("may not specify a duration less than 10 minutes"),
        "{err}"
    );
    let err = env
        .fails(&["create", "token", "nobody", "-n", "default"])
        .await;
    assert!(
        err.contains(r#"serviceaccounts "nobody" not found"#),
        "{err}"
    );
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_replace_patch_and_errors() {
    require_kubectl!();
    let env = Env::new().await;
    env.ok(&["create", "configmap", "settings", "--from-literal=a=1"])
        .await;
    let err = env
        .fails(&["create", "configmap", "settings", "--from-literal=a=1"])
        .await;
    assert!(
        err.contains(r#"configmaps "settings" already exists"#),
        "{err}"
    );

    env.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type=merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ])
    .await;
    env.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/data/c","value":"3"},{"op":"remove","path":"/data/a"}]"#,
    ])
    .await;
    env.ok(&[
        "patch",
        "configmap",
        "settings",
        "--type=strategic",
        "-p",
        r#"{"metadata":{"labels":{"team":"irsa"}}}"#,
    ])
    .await;
    let cm = env.json(&["get", "cm", "settings", "-o", "json"]).await;
    assert_eq!(cm["data"], serde_json::json!({"b": "2", "c": "3"}));
    assert_eq!(cm["metadata"]["labels"]["team"], "irsa");
    let err = env
        .fails(&[
            "patch",
            "configmap",
            "settings",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/data/b","value":"9"}]"#,
        ])
        .await;
    assert!(err.contains("testing value /data/b failed"), "{err}");

    // PUT with a stale resourceVersion: 409 Conflict.
    let mut stale = cm.clone();
    stale["metadata"]["resourceVersion"] = Value::String("1".into());
    stale["data"]["d"] = Value::String("4".into());
    let err = env
        .fails_stdin(
            &["replace", "--validate=false", "-f", "-"],
            &stale.to_string(),
        )
        .await;
    assert!(err.contains("the object has been modified"), "{err}");
    let mut fresh = cm.clone();
    fresh["data"]["d"] = Value::String("4".into());
    env.ok_stdin(
        &["replace", "--validate=false", "-f", "-"],
        &fresh.to_string(),
    )
    .await;
    let cm2 = env.json(&["get", "cm", "settings", "-o", "json"]).await;
    assert_eq!(cm2["data"]["d"], "4");
    assert!(rv(&cm2) > rv(&cm));

    // Label selectors.
    let names = env
        .ok(&["get", "cm", "-l", "team=irsa", "-o", "name"])
        .await;
    assert_eq!(names.trim(), "configmap/settings");
    let none = env
        .ok(&["get", "cm", "-l", "team!=irsa", "-o", "name"])
        .await;
    assert_eq!(none.trim(), "");

    // Name validation: 422 Invalid.
    let err = env.fails(&["create", "configmap", "Bad_Name"]).await;
    assert!(
        err.contains("is invalid") && err.contains("RFC 1123 subdomain"),
        "{err}"
    );

    // Client-side apply (GET, then create or a strategic merge patch).
    let csa = env.write(
        "csa.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"1\"\n",
    );
    env.ok(&["apply", "--validate=false", "-f", &csa]).await;
    // Applying the same file again is a no-op patch.
    env.ok(&["apply", "--validate=false", "-f", &csa]).await;
    let csa2 = env.write(
        "csa.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  b: \"2\"\n",
    );
    env.ok(&["apply", "--validate=false", "-f", &csa2]).await;
    let got = env.json(&["get", "cm", "csa", "-o", "json"]).await;
    assert_eq!(got["data"], serde_json::json!({"b": "2"}), "{got}");

    // Server-side dry run stores nothing.
    let v1 = env.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dry\n",
    );
    let out = env
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=test",
            "--validate=false",
            "--dry-run=server",
            "-f",
            &v1,
        ])
        .await;
    assert!(
        out.contains("namespace/dry serverside-applied (server dry run)"),
        "{out}"
    );
    let err = env.fails(&["get", "ns", "dry"]).await;
    assert!(err.contains("NotFound"), "{err}");

    // Protected namespace.
    let err = env.fails(&["delete", "ns", "kube-system"]).await;
    assert!(err.contains("this namespace may not be deleted"), "{err}");

    // Everything a test created is visible through the control endpoint.
    let objects: Value =
        serde_json::from_str(&env.ok(&["get", "--raw", "/_sandbox/objects"]).await).expect("json");
    assert!(objects
        .as_array()
        .expect("array")
        .iter()
        .any(|o| o["metadata"]["name"] == "settings"));
    env.server.shutdown().await;
}

impl Env {
    async fn fails_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin).await;
        assert!(
            !out.status.success(),
            "kubectl {args:?} should have failed; stdout: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }
}

/// `jwks_uri` as kube-apiserver serves it without `--service-account-jwks-uri`
/// (its own address) and with it (any URI), read by kubectl; the JWKS
/// itself is still served at /openid/v1/jwks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_jwks_uri_as_configured() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        jwks_uri: JwksUri::ExternalAddress,
        ..Default::default()
    })
    .await;
    let disc = env
        .json(&["get", "--raw", "/.well-known/openid-configuration"])
        .await;
    assert_eq!(disc["issuer"], DEFAULT_ISSUER);
    assert_eq!(
        disc["jwks_uri"],
        format!(
            "https://127.0.0.1:{}/openid/v1/jwks",
            env.server.addr().port()
        )
    );
    // Still the external address after an issuer change.
    env.server.set_issuer("https://oidc.example.com/a".into());
    let disc = env
        .json(&["get", "--raw", "/.well-known/openid-configuration"])
        .await;
    assert_eq!(disc["issuer"], "https://oidc.example.com/a");
    assert_eq!(
        disc["jwks_uri"],
        format!("{}/openid/v1/jwks", env.server.url())
    );
    let jwks = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
    env.server.shutdown().await;

    let env = Env::start(FakeApiServerConfig {
        jwks_uri: JwksUri::Fixed("https://keys.example.net/jwks.json".into()),
        ..Default::default()
    })
    .await;
    let disc = env
        .json(&["get", "--raw", "/.well-known/openid-configuration"])
        .await;
    assert_eq!(disc["jwks_uri"], "https://keys.example.net/jwks.json");
    assert_eq!(
        disc.as_object().map(|o| o.len()),
        Some(5),
        "exactly the five fields: {disc}"
    );
    env.server.shutdown().await;
}

/// kubectl on this machine (/usr/bin/kubectl) is Google Cloud SDK's
/// dispatcher, which picks the kubectl matching the server's version (the
/// fake says v1.33, so the tests above run kubectl 1.33). Run the core flow
/// with both versioned kubectls next to it too, so kubectl 1.32 is covered as
/// well. Missing ones fail the test (skip on purpose:
/// `IRSA_ALLOW_MISSING_TOOLS=kubectl-versions`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_flow_with_each_installed_kubectl_version() {
    require_kubectl!();
    let on_path = kubectl_path();
    let real = std::fs::canonicalize(&on_path).unwrap_or(on_path);
    let dir = real.parent().map(Path::to_path_buf).unwrap_or_default();
    let wanted = ["kubectl.1.32", "kubectl.1.33"];
    let (versions, missing): (Vec<PathBuf>, Vec<PathBuf>) =
        wanted.iter().map(|n| dir.join(n)).partition(|p| p.exists());
    if !missing.is_empty() {
        let reason = format!(
            "versioned kubectl {} not found next to {} (the Google Cloud SDK dispatcher \
             installs kubectl.1.32 and kubectl.1.33 there)",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            real.display()
        );
        if !missing_tool("kubectl-versions", &reason) {
            return;
        }
    }
    for bin in versions {
        let mut env = Env::new().await;
        env.kubectl = bin.clone();
        let version = env.ok(&["version", "--client", "-o", "json"]).await;
        eprintln!(
            "core flow with {}: {}",
            bin.display(),
            version.replace('\n', " ")
        );
        let m = env.write("m.yaml", &MANIFEST.replace("REPLICAS", "1"));
        env.ok(&[
            "apply",
            "--server-side",
            "--field-manager=test",
            "--validate=false",
            "-f",
            &m,
        ])
        .await;
        env.rollout_status("irsa-test", "pod-identity-webhook")
            .await;
        let d = env
            .json(&[
                "get",
                "deploy",
                "-n",
                "irsa-test",
                "pod-identity-webhook",
                "-o",
                "json",
            ])
            .await;
        assert_eq!(d["status"]["readyReplicas"], 1, "{}", bin.display());
        let token = env
            .ok(&[
                "create",
                "token",
                "pod-identity-webhook",
                "-n",
                "irsa-test",
                "--audience",
                "sts.amazonaws.com",
            ])
            .await;
        let jwks = env.json(&["get", "--raw", "/openid/v1/jwks"]).await;
        let (_, claims) = verify(
            token.trim(),
            &jwks,
            &env.server.issuer(),
            "sts.amazonaws.com",
        );
        assert_eq!(
            claims["sub"],
            "system:serviceaccount:irsa-test:pod-identity-webhook"
        );
        env.ok(&["create", "namespace", "typed-client"]).await;
        env.ok(&[
            "create",
            "secret",
            "generic",
            "s",
            "-n",
            "typed-client",
            "--from-literal=k=v",
        ])
        .await;
        let sec = env
            .json(&["get", "secret", "s", "-n", "typed-client", "-o", "json"])
            .await;
        assert_eq!(sec["data"]["k"], "dg==");
        env.ok(&["delete", "-f", &m, "--wait=true"]).await;
        let err = env
            .fails(&["get", "deploy", "-n", "irsa-test", "pod-identity-webhook"])
            .await;
        assert!(err.contains("NotFound"), "{err}");
        env.server.shutdown().await;
    }
}

/// The provider talks to Kubernetes through kube-rs (JSON, HTTP/2 or 1.1):
/// the same flows through that client. Needs no kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_client_against_the_fake() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    use k8s_openapi::api::core::v1::ServiceAccount;
    use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

    // The test binary links more than one rustls crypto provider; pick one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .expect("start");
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&server.kubeconfig_yaml()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");

    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.git_version, "v1.33.0");
    let jwks: Value = serde_json::from_str(
        &client
            .request_text(
                http::Request::get("/openid/v1/jwks")
                    .body(Vec::new())
                    .expect("req"),
            )
            .await
            .expect("jwks"),
    )
    .expect("json");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");

    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let sa = sas.get("default").await.expect("default SA");
    assert!(sa.metadata.uid.is_some());

    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let manifest: Value = serde_yaml::from_str(
        &MANIFEST
            .split("---")
            .nth(2)
            .expect("deployment doc")
            .replace("REPLICAS", "2")
            .replace("namespace: irsa-test", "namespace: default"),
    )
    .expect("yaml");
    let pp = PatchParams::apply("irsa-provider").force();
    let d = deploys
        .patch("pod-identity-webhook", &pp, &Patch::Apply(&manifest))
        .await
        .expect("server-side apply");
    assert_eq!(
        d.status.as_ref().and_then(|s| s.ready_replicas),
        None,
        "the rollout has not happened yet in the apply answer"
    );
    let mut ready = None;
    for _ in 0..100 {
        let cur = deploys.get("pod-identity-webhook").await.expect("get");
        if cur.status.as_ref().and_then(|s| s.available_replicas) == Some(2) {
            ready = Some(cur);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = ready.expect("rolled out within 5 s");
    let again = deploys
        .patch("pod-identity-webhook", &pp, &Patch::Apply(&manifest))
        .await
        .expect("re-apply");
    assert_eq!(
        again.metadata.resource_version,
        ready.metadata.resource_version
    );

    let tr = sas
        .create_token_request(
            "default",
            &PostParams::default(),
            &TokenRequest {
                spec: TokenRequestSpec {
                    audiences: vec!["sts.amazonaws.com".into()],
                    expiration_seconds: Some(3600),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("token request");
    let token = tr.status.expect("status").token;
    let (_, claims) = verify(&token, &jwks, &server.issuer(), "sts.amazonaws.com");
    assert_eq!(claims["sub"], "system:serviceaccount:default:default");

    deploys
        .delete("pod-identity-webhook", &DeleteParams::default())
        .await
        .expect("delete");
    match deploys.get("pod-identity-webhook").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    server.shutdown().await;
}

const GET_DEPLOY: [&str; 7] = [
    "get",
    "deploy",
    "-n",
    "irsa-test",
    "pod-identity-webhook",
    "-o",
    "json",
];

/// A rollout takes time (status moves through observedGeneration, updated,
/// available), `kubectl rollout status` waits for it; a rollout made to fail
/// ends in ProgressDeadlineExceeded, which `kubectl rollout status` reports,
/// with the pods' Events listable by field selector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_progresses_and_a_failed_one_is_reported() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        rollout_duration: Duration::from_millis(1500),
        ..FakeApiServerConfig::default()
    })
    .await;
    let m = env.write("m.yaml", &MANIFEST.replace("REPLICAS", "2"));
    let applied = env
        .json(&[
            "apply",
            "--server-side",
            "--field-manager=test",
            "--validate=false",
            "-f",
            &m,
            "-o",
            "json",
        ])
        .await;
    let d = applied["items"]
        .as_array()
        .and_then(|items| items.iter().find(|o| o["kind"] == "Deployment"))
        .expect("deployment in the answer");
    assert_eq!(
        d["status"],
        serde_json::json!({}),
        "nothing is done in the write answer"
    );

    let early = env.json(&GET_DEPLOY).await;
    assert!(
        early["status"]["availableReplicas"].is_null(),
        "not available at once: {}",
        early["status"]
    );
    let out = env
        .rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    assert!(
        out.contains("Waiting for deployment"),
        "kubectl saw it progress: {out}"
    );
    let done = env.json(&GET_DEPLOY).await;
    let s = &done["status"];
    assert_eq!(
        (
            s["observedGeneration"].as_i64(),
            s["updatedReplicas"].as_i64(),
            s["availableReplicas"].as_i64()
        ),
        (Some(1), Some(2), Some(2)),
        "{s}"
    );
    let reasons: Vec<&str> = s["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter_map(|c| c["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        ["MinimumReplicasAvailable", "NewReplicaSetAvailable"]
    );
    let pods = env
        .json(&[
            "get",
            "pods",
            "-n",
            "irsa-test",
            "-l",
            "app=pod-identity-webhook",
            "-o",
            "json",
        ])
        .await;
    let phases: Vec<&str> = pods["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["status"]["phase"].as_str())
        .collect();
    assert_eq!(phases, ["Running", "Running"], "{pods}");
    let rs = env
        .ok(&["get", "rs", "-n", "irsa-test", "-o", "name"])
        .await;
    assert_eq!(rs.lines().count(), 1, "{rs}");

    // Now make the next rollout fail: pods unschedulable, deadline 2 s.
    env.server.fail_rollout(
        "irsa-test",
        "pod-identity-webhook",
        RolloutFailure::unschedulable(Duration::from_secs(2)),
    );
    env.ok(&[
        "set",
        "image",
        "deploy/pod-identity-webhook",
        "-n",
        "irsa-test",
        "webhook=public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.0.0-missing",
    ])
    .await;
    let err = env
        .fails(&[
            "rollout",
            "status",
            "deploy/pod-identity-webhook",
            "-n",
            "irsa-test",
            "--timeout=30s",
        ])
        .await;
    assert!(
        err.contains("deployment \"pod-identity-webhook\" exceeded its progress deadline"),
        "{err}"
    );
    let failed = env.json(&GET_DEPLOY).await;
    let progressing = failed["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Progressing")
        .expect("Progressing")
        .clone();
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    let msg = progressing["message"].as_str().expect("message");
    assert!(
        msg.starts_with("ReplicaSet \"pod-identity-webhook-")
            && msg.ends_with("\" has timed out progressing."),
        "{msg}"
    );
    // The old pods keep serving.
    assert_eq!(
        failed["status"]["availableReplicas"], 2,
        "{}",
        failed["status"]
    );
    let events = env
        .json(&[
            "get",
            "events",
            "-n",
            "irsa-test",
            "--field-selector",
            "involvedObject.kind=Pod,reason=FailedScheduling",
            "-o",
            "json",
        ])
        .await;
    let items = events["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "one per new pod: {events}");
    assert!(items.iter().all(|e| e["type"] == "Warning"
        && e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("0/1 nodes are available"))));
    let v1 = env
        .json(&[
            "get",
            "events.v1.events.k8s.io",
            "-n",
            "irsa-test",
            "-o",
            "json",
        ])
        .await;
    assert!(
        v1["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["reason"] == "FailedScheduling" && e["regarding"]["kind"] == "Pod"),
        "{v1}"
    );
    let pending = env
        .json(&[
            "get",
            "pods",
            "-n",
            "irsa-test",
            "--field-selector",
            "status.phase=Pending",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(
        pending["items"].as_array().expect("items").len(),
        2,
        "{pending}"
    );

    // Cleared: the next rollout succeeds again.
    env.server
        .clear_rollout_failure("irsa-test", "pod-identity-webhook");
    env.ok(&[
        "set",
        "image",
        "deploy/pod-identity-webhook",
        "-n",
        "irsa-test",
        "webhook=public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.18",
    ])
    .await;
    env.rollout_status("irsa-test", "pod-identity-webhook")
        .await;
    env.server.shutdown().await;
}

/// The request counter sees what kubectl sends, and can be reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_counter_counts_kubectl_requests() {
    require_kubectl!();
    let env = Env::new().await;
    env.ok(&["get", "sa", "-n", "default", "default"]).await;
    assert!(env.server.requests().get("get", "serviceaccounts") >= 1);
    env.server.reset_requests();
    assert_eq!(env.server.requests().total, 0);
    env.ok(&["get", "deploy", "-n", "default"]).await;
    let counts = env.server.requests();
    assert_eq!(counts.get("list", "deployments.apps"), 1, "{counts:?}");
    assert_eq!(counts.get("get", "serviceaccounts"), 0);
    assert_eq!(counts.resource_requests(), 1, "{counts:?}");
    let raw = env.json(&["get", "--raw", "/_sandbox/requests"]).await;
    assert_eq!(
        raw["total"], counts.total,
        "control requests are not counted: {raw}"
    );
    env.server.shutdown().await;
}

/// Server-side apply with real list semantics against kubectl: `kubectl set
/// env` (an Update manager) adds an env var, a non-forced re-apply keeps it
/// without conflict, taking its value over is a conflict worded as
/// kube-apiserver's; defaults are not the applier's; unknown fields and a
/// TLS Secret without its key are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssa_list_maps_defaults_and_schema_with_kubectl() {
    require_kubectl!();
    let env = Env::new().await;
    let m = env.write("m.yaml", &MANIFEST.replace("REPLICAS", "1"));
    let apply = |file: String, extra: &'static [&'static str]| {
        let env = &env;
        async move {
            let mut args = vec![
                "apply",
                "--server-side",
                "--field-manager=terraform-provider-irsa",
                "--validate=false",
                "-f",
            ];
            args.push(&file);
            args.extend_from_slice(extra);
            env.run(&args).await
        }
    };
    let out = apply(m.clone(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    env.ok(&[
        "set",
        "env",
        "deploy/pod-identity-webhook",
        "-n",
        "irsa-test",
        "FOO=bar",
    ])
    .await;
    let out = apply(m.clone(), &[]).await;
    assert!(
        out.status.success(),
        "re-apply after kubectl set env must not conflict: {}",
        text(&out.stderr)
    );
    let d = env
        .json(&[
            "get",
            "deploy",
            "-n",
            "irsa-test",
            "pod-identity-webhook",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await;
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "FOO", "value": "bar"}]),
        "{c}"
    );
    assert_eq!(c["imagePullPolicy"], "IfNotPresent", "defaulted: {c}");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    let mf = d["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields");
    let entry = |m: &str| {
        mf.iter()
            .find(|e| e["manager"] == m)
            .unwrap_or_else(|| panic!("no {m} in {mf:?}"))
    };
    let ours = &entry("terraform-provider-irsa")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
        ["f:containers"]["k:{\"name\":\"webhook\"}"];
    assert!(
        ours["."].is_object() && ours["f:image"].is_object(),
        "{ours}"
    );
    assert!(
        ours["f:imagePullPolicy"].is_null(),
        "defaults are nobody's: {ours}"
    );
    let set = &entry("kubectl-set");
    assert_eq!(set["operation"], "Update");
    assert!(
        set["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
            ["k:{\"name\":\"webhook\"}"]["f:env"]["k:{\"name\":\"FOO\"}"]["f:value"]
            .is_object(),
        "{set}"
    );
    // Our own env var merges next to theirs.
    let with_bar = env.write(
        "bar.yaml",
        &MANIFEST.replace("REPLICAS", "1").replace(
            "        args: [\"--port=8443\", \"--token-audience=sts.amazonaws.com\"]",
            "        args: [\"--port=8443\", \"--token-audience=sts.amazonaws.com\"]\n        env:\n        - name: BAR\n          value: mine",
        ),
    );
    let out = apply(with_bar, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = env.json(&GET_DEPLOY).await;
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["FOO", "BAR"]);
    // Taking over FOO's value is a conflict with the Update manager.
    let take = env.write(
        "take.yaml",
        &MANIFEST.replace("REPLICAS", "1").replace(
            "        args: [\"--port=8443\", \"--token-audience=sts.amazonaws.com\"]",
            "        args: [\"--port=8443\", \"--token-audience=sts.amazonaws.com\"]\n        env:\n        - name: FOO\n          value: mine",
        ),
    );
    let out = apply(take.clone(), &[]).await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1 at "
        ) && err
            .contains(".spec.template.spec.containers[name=\"webhook\"].env[name=\"FOO\"].value"),
        "{err}"
    );
    let out = apply(take, &["--force-conflicts"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A misspelt field is refused, as SSA's typed patch conversion does.
    let typo = env.write(
        "typo.yaml",
        &MANIFEST
            .replace("REPLICAS", "1")
            .replace("  replicas: 1\n", "  replicas: 1\n  replica: 1\n"),
    );
    let out = apply(typo, &[]).await;
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("failed to create typed patch object (irsa-test/pod-identity-webhook; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema"),
        "{err}"
    );
    // A TLS Secret needs both keys.
    let tls = env.write(
        "tls.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: serving\n  namespace: irsa-test\ntype: kubernetes.io/tls\ndata:\n  tls.crt: Y2VydA==\n",
    );
    let out = apply(tls, &[]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("Secret \"serving\" is invalid")
            && err.contains("data[tls.key]: Required value"),
        "{err}"
    );
    env.server.shutdown().await;
}

/// A namespace-admin token: everything in its namespace, 403 with the real
/// RBAC wording for cluster-scoped kinds and for unknown resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_admin_token_is_forbidden_cluster_scope() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        namespace_admins: vec![NamespaceAdmin {
            token: "ns-admin-token".into(),
            namespace: "default".into(),
            service_account: "deployer".into(),
        }],
        ..FakeApiServerConfig::default()
    })
    .await;
    let tok = ["--token", "ns-admin-token"];
    let mut args = tok.to_vec();
    args.extend([
        "create",
        "configmap",
        "ok",
        "-n",
        "default",
        "--from-literal=a=b",
    ]);
    env.ok(&args).await;
    let mut args = tok.to_vec();
    args.extend(["get", "cm", "ok", "-n", "default", "-o", "name"]);
    assert_eq!(env.ok(&args).await.trim(), "configmap/ok");
    let mut args = tok.to_vec();
    args.extend(["get", "cm", "-n", "kube-system"]);
    let err = env.fails(&args).await;
    assert!(
        err.contains("configmaps is forbidden: User \"system:serviceaccount:default:deployer\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""),
        "{err}"
    );
    let mut args = tok.to_vec();
    args.extend([
        "create",
        "clusterrole",
        "x",
        "--verb=get",
        "--resource=pods",
    ]);
    let err = env.fails(&args).await;
    assert!(
        err.contains("clusterroles.rbac.authorization.k8s.io is forbidden: User \"system:serviceaccount:default:deployer\" cannot create resource \"clusterroles\" in API group \"rbac.authorization.k8s.io\" at the cluster scope"),
        "{err}"
    );
    let mut args = tok.to_vec();
    args.extend(["get", "--raw", "/apis/batch/v1/jobs"]);
    let err = env.fails(&args).await;
    assert!(
        err.contains("jobs.batch is forbidden") && err.contains("at the cluster scope"),
        "authorization before routing: {err}"
    );
    env.server.shutdown().await;
}

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: NAME
  template:
    metadata:
      labels:
        app: NAME
    spec:
      containers:
      - name: c
        image: registry.example/app:1
"#;

impl Env {
    /// Apply the two-replica Deployment `name` in `default` and wait for it.
    async fn rolled_out(&self, name: &str) {
        let m = self.write(&format!("{name}.yaml"), &WEB.replace("NAME", name));
        self.ok(&["apply", "--server-side", "--validate=false", "-f", &m])
            .await;
        self.rollout_status("default", name).await;
    }

    /// The names in `kubectl get <what> -l app=<app> -o json`.
    async fn names(&self, what: &str, app: &str) -> Vec<String> {
        let list = self
            .json(&[
                "get",
                what,
                "-n",
                "default",
                "-l",
                &format!("app={app}"),
                "-o",
                "json",
            ])
            .await;
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Poll until `check` holds (up to 20 s).
    async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while !check().await {
            assert!(std::time::Instant::now() < end, "timed out waiting: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `kubectl delete --cascade=foreground` keeps the Deployment (with
/// deletionTimestamp and the foregroundDeletion finalizer) until its
/// ReplicaSet and Pods are gone; `--cascade=orphan` leaves the ReplicaSet
/// behind without an ownerReference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_cascade_foreground_and_orphan() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        // Long enough to see the Deployment held while its Pods terminate.
        pod_termination_delay: Duration::from_secs(3),
        ..FakeApiServerConfig::default()
    })
    .await;
    env.rolled_out("fg").await;
    assert_eq!(env.names("rs", "fg").await.len(), 1);
    assert_eq!(env.names("pods", "fg").await.len(), 2);
    env.ok(&[
        "delete",
        "deployment",
        "fg",
        "--cascade=foreground",
        "--wait=false",
    ])
    .await;
    let d = env.json(&["get", "deployment", "fg", "-o", "json"]).await;
    assert!(d["metadata"]["deletionTimestamp"].is_string(), "{d}");
    assert_eq!(d["metadata"]["deletionGracePeriodSeconds"], 0, "{d}");
    assert!(
        d["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "foregroundDeletion")),
        "{d}"
    );
    // Its Pods are Terminating (the kubelet takes pod_termination_delay).
    let pods = env
        .json(&["get", "pods", "-n", "default", "-l", "app=fg", "-o", "json"])
        .await;
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    assert!(
        !items.is_empty()
            && items
                .iter()
                .all(|p| p["metadata"]["deletionTimestamp"].is_string()),
        "{pods}"
    );
    env.eventually("the Deployment, its ReplicaSet and Pods gone", || async {
        let gone = env.run(&["get", "deployment", "fg", "-o", "name"]).await;
        !gone.status.success()
            && env.names("rs", "fg").await.is_empty()
            && env.names("pods", "fg").await.is_empty()
    })
    .await;

    env.rolled_out("keep").await;
    env.ok(&["delete", "deployment", "keep", "--cascade=orphan"])
        .await;
    let err = env.fails(&["get", "deployment", "keep"]).await;
    assert!(err.contains("NotFound"), "{err}");
    let rs = env
        .json(&["get", "rs", "-n", "default", "-l", "app=keep", "-o", "json"])
        .await;
    let items = rs["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{rs}");
    assert!(items[0]["metadata"]["ownerReferences"].is_null(), "{rs}");
    assert_eq!(
        env.names("pods", "keep").await.len(),
        2,
        "the pods stay with their ReplicaSet"
    );

    // Background (kubectl's default): the Deployment goes at once, the rest after.
    env.rolled_out("bg").await;
    env.ok(&["delete", "deployment", "bg"]).await;
    env.eventually("the ReplicaSet and Pods of bg collected", || async {
        env.names("rs", "bg").await.is_empty() && env.names("pods", "bg").await.is_empty()
    })
    .await;
    env.server.shutdown().await;
}

/// A finalizer holds a deleted ConfigMap: `kubectl delete --wait=false`
/// leaves it with deletionTimestamp, a waiting delete times out, no new
/// finalizer may be added, its name stays taken, and removing the finalizer
/// makes it gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_finalizer_holds_a_deleted_configmap() {
    require_kubectl!();
    let env = Env::new().await;
    env.ok(&["create", "configmap", "held", "--from-literal=a=b"])
        .await;
    env.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ])
    .await;
    let out = env
        .ok(&["delete", "configmap", "held", "--wait=false"])
        .await;
    assert!(out.contains("deleted"), "{out}");
    let cm = env.json(&["get", "configmap", "held", "-o", "json"]).await;
    let stamp = cm["metadata"]["deletionTimestamp"].clone();
    assert!(stamp.is_string(), "{cm}");
    assert_eq!(
        cm["metadata"]["finalizers"],
        serde_json::json!(["example.com/hold"])
    );

    let err = env
        .fails(&["delete", "configmap", "held", "--timeout=2s"])
        .await;
    assert!(err.contains("timed out waiting"), "{err}");
    let cm = env.json(&["get", "configmap", "held", "-o", "json"]).await;
    assert_eq!(
        cm["metadata"]["deletionTimestamp"], stamp,
        "a second delete does not move it"
    );

    let err = env
        .fails(&[
            "patch",
            "configmap",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}"#,
        ])
        .await;
    assert!(
        err.contains(r#"ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/more"}"#),
        "{err}"
    );
    let err = env.fails(&["create", "configmap", "held"]).await;
    assert!(err.contains(r#"configmaps "held" already exists"#), "{err}");

    env.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    let err = env.fails(&["get", "configmap", "held"]).await;
    assert!(err.contains("NotFound"), "{err}");
    env.server.shutdown().await;
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

const DEPLOYER: &str = "system:serviceaccount:ci:deployer";

/// An RBAC user gets exactly what its rules allow, with the real 403
/// wording; server-side apply that would create needs `create`; and
/// `kubectl auth can-i` (SelfSubjectAccessReview) answers for every kind
/// of user from the same authorizer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_user_rules_and_kubectl_auth_can_i() {
    require_kubectl!();
    let env = Env::start(FakeApiServerConfig {
        forbidden_token: Some("limited-token".into()),
        namespace_admins: vec![NamespaceAdmin {
            token: "ns-admin-token".into(),
            namespace: "default".into(),
            service_account: "admin".into(),
        }],
        rbac_users: vec![RbacUser {
            token: "rbac-token".into(),
            name: DEPLOYER.into(),
            rules: vec![
                rule(
                    Some("default"),
                    &[""],
                    &["configmaps"],
                    &["get", "list", "patch"],
                ),
                rule(None, &["apps"], &["deployments"], &["get", "list", "watch"]),
                rule(Some("default"), &[""], &["pods/log"], &["get"]),
            ],
        }],
        ..FakeApiServerConfig::default()
    })
    .await;
    env.ok(&["create", "configmap", "c1", "--from-literal=a=b"])
        .await;
    let as_deployer = |args: &[&str]| {
        let mut v = vec!["--token=rbac-token"];
        v.extend_from_slice(args);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let env = &env;
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            env.run(&a).await
        }
    };
    let ok = |args: Vec<String>| async move {
        let out = run(args.clone()).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let fails = |args: Vec<String>| async move {
        let out = run(args.clone()).await;
        assert!(
            !out.status.success(),
            "{args:?} should fail: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    };
    assert_eq!(
        ok(as_deployer(&[
            "get", "cm", "c1", "-n", "default", "-o", "name"
        ]))
        .await
        .trim(),
        "configmap/c1"
    );
    ok(as_deployer(&["get", "deploy", "-A"])).await;
    let err = fails(as_deployer(&["delete", "cm", "c1", "-n", "default"])).await;
    assert!(
        err.contains(&format!(r#"configmaps "c1" is forbidden: User "{DEPLOYER}" cannot delete resource "configmaps" in API group "" in the namespace "default""#)),
        "{err}"
    );
    let err = fails(as_deployer(&["get", "cm", "-n", "kube-system"])).await;
    assert!(
        err.contains(&format!(r#"configmaps is forbidden: User "{DEPLOYER}" cannot list resource "configmaps" in API group "" in the namespace "kube-system""#)),
        "{err}"
    );
    let err = fails(as_deployer(&["get", "namespaces"])).await;
    assert!(
        err.contains(&format!(r#"namespaces is forbidden: User "{DEPLOYER}" cannot list resource "namespaces" in API group "" at the cluster scope"#)),
        "{err}"
    );
    // The Namespace object is "in" itself for RBAC.
    let err = fails(as_deployer(&["get", "namespace", "default"])).await;
    assert!(
        err.contains(&format!(r#"namespaces "default" is forbidden: User "{DEPLOYER}" cannot get resource "namespaces" in API group "" in the namespace "default""#)),
        "{err}"
    );
    // Server-side apply: patch suffices for an existing object, creating
    // one is authorized as create (RBAC gives no reason: nothing after the colon).
    let c1 = env.write(
        "c1.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n  namespace: default\ndata:\n  a: c\n",
    );
    ok(as_deployer(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--validate=false",
        "-f",
        &c1,
    ]))
    .await;
    let c2 = env.write(
        "c2.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\n  namespace: default\ndata:\n  a: b\n",
    );
    let err = fails(as_deployer(&[
        "apply",
        "--server-side",
        "--validate=false",
        "-f",
        &c2,
    ]))
    .await;
    assert!(err.contains(r#"configmaps "c2" is forbidden"#), "{err}");
    assert!(
        !err.contains("cannot patch"),
        "authorized as create, not patch: {err}"
    );
    let err = env.fails(&["get", "cm", "c2"]).await;
    assert!(err.contains("NotFound"), "{err}");

    // kubectl auth can-i: exit 0 "yes", exit 1 "no".
    let can_i = |token: Option<&'static str>, args: &'static [&'static str]| {
        let env = &env;
        async move {
            let mut v: Vec<&str> = Vec::new();
            if let Some(t) = token {
                v.push(t);
            }
            v.push("auth");
            v.push("can-i");
            v.extend_from_slice(args);
            let out = env.run(&v).await;
            let said = text(&out.stdout).trim().to_string();
            match out.status.code() {
                Some(0) => {
                    assert_eq!(said, "yes", "{v:?}");
                    true
                }
                Some(1) => {
                    assert!(said.starts_with("no"), "{v:?}: {said}");
                    false
                }
                other => panic!("{v:?}: exit {other:?}: {}", text(&out.stderr)),
            }
        }
    };
    let deployer = Some("--token=rbac-token");
    assert!(can_i(deployer, &["get", "configmaps", "-n", "default"]).await);
    assert!(can_i(deployer, &["patch", "configmaps/c1", "-n", "default"]).await);
    assert!(!can_i(deployer, &["delete", "configmaps", "-n", "default"]).await);
    assert!(!can_i(deployer, &["create", "configmaps", "-n", "default"]).await);
    assert!(can_i(deployer, &["list", "deployments.apps", "-n", "kube-system"]).await);
    assert!(
        can_i(
            deployer,
            &["get", "pods", "--subresource=log", "-n", "default"]
        )
        .await
    );
    assert!(!can_i(deployer, &["get", "pods", "-n", "default"]).await);
    assert!(can_i(None, &["delete", "clusterroles"]).await, "admin");
    assert!(can_i(None, &["*", "*", "-A"]).await, "admin");
    let limited = Some("--token=limited-token");
    assert!(!can_i(limited, &["get", "pods", "-n", "default"]).await);
    assert!(
        can_i(
            limited,
            &["create", "selfsubjectaccessreviews.authorization.k8s.io"]
        )
        .await
    );
    let ns_admin = Some("--token=ns-admin-token");
    assert!(can_i(ns_admin, &["create", "deployments.apps", "-n", "default"]).await);
    assert!(
        !can_i(
            ns_admin,
            &["create", "deployments.apps", "-n", "kube-system"]
        )
        .await
    );
    assert!(
        !can_i(
            ns_admin,
            &["create", "clusterroles.rbac.authorization.k8s.io"]
        )
        .await
    );

    // SSARs are counted as create on their resource.
    let counts = env.server.requests();
    assert!(
        counts.get("create", "selfsubjectaccessreviews.authorization.k8s.io") >= 13,
        "{counts:?}"
    );
    env.server.shutdown().await;
}
