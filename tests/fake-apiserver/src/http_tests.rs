//! Exact HTTP behaviour (status codes, headers, bodies), checked over real
//! TLS with the crate's own raw client.

use http::Request;
use serde_json::{json, Value};

use super::{ClientAuth, FakeApiServer, FakeApiServerConfig};

async fn server() -> FakeApiServer {
    FakeApiServer::start(FakeApiServerConfig {
        forbidden_token: Some("limited".into()),
        ..Default::default()
    })
    .await
    .expect("start")
}

fn get(path: &str) -> Request<Vec<u8>> {
    Request::builder()
        .uri(path)
        .body(Vec::new())
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication() {
    let s = server().await;
    for auth in [ClientAuth::Anonymous, ClientAuth::Token("nope".into())] {
        let r = s.send(get("/version"), auth, false).await.expect("send");
        assert_eq!(r.status, 401);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            String::from_utf8(r.body).expect("utf8"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
    }
    let limited = ClientAuth::Token("limited".into());
    let r = s
        .send(
            get("/apis/apps/v1/namespaces/default/deployments"),
            limited.clone(),
            false,
        )
        .await
        .expect("send");
    assert_eq!(r.status, 403);
    let st = r.json().expect("json");
    assert_eq!(st["reason"], "Forbidden");
    assert_eq!(
        st["message"],
        format!("deployments.apps is forbidden: User \"{}\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"default\"", super::RESTRICTED_USER)
    );
    let r = s
        .send(get("/api/v1/namespaces"), limited.clone(), false)
        .await
        .expect("send");
    assert!(r.json().expect("json")["message"]
        .as_str()
        .expect("msg")
        .ends_with("at the cluster scope"));
    let r = s
        .send(get("/_sandbox/objects"), limited.clone(), false)
        .await
        .expect("send");
    assert_eq!(r.status, 403);
    for path in ["/version", "/api", "/apis", "/openid/v1/jwks"] {
        let r = s
            .send(get(path), limited.clone(), false)
            .await
            .expect("send");
        assert_eq!(r.status, 200, "{path}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_headers_and_http2() {
    let s = server().await;
    for h2 in [false, true] {
        let r = s
            .send(get("/openid/v1/jwks"), ClientAuth::Admin, h2)
            .await
            .expect("send");
        assert_eq!(r.alpn.as_deref(), Some(if h2 { "h2" } else { "http/1.1" }));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/jwk-set+json"));
        assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
        let r = s
            .send(
                get("/.well-known/openid-configuration"),
                ClientAuth::Admin,
                h2,
            )
            .await
            .expect("send");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    }
    let r = s
        .request("POST", "/openid/v1/jwks", None, b"")
        .await
        .expect("send");
    assert_eq!(r.status, 405);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shapes_and_errors() {
    let s = server().await;
    let r = s
        .request(
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/x",
            None,
            b"",
        )
        .await
        .expect("send");
    assert_eq!(r.status, 404);
    assert_eq!(
        String::from_utf8(r.body).expect("utf8"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"x\" not found","reason":"NotFound","details":{"name":"x","group":"apps","kind":"deployments"},"code":404}"#
    );
    for path in [
        "/nope",
        "/apis/batch/v1/jobs",
        "/openapi/v2",
        "/openapi/v3",
        "/apis/apps/v1/namespaces/default/statefulsets",
    ] {
        let r = s.request("GET", path, None, b"").await.expect("send");
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json().expect("json")["kind"], "Status");
    }
    let cm = "/api/v1/namespaces/default/configmaps";
    let bad = [
        ("POST", cm, Some("application/json"), &b"{not json"[..], 400),
        (
            "POST",
            cm,
            Some("application/json"),
            br#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"a"}}"#,
            400,
        ),
        ("POST", cm, Some("application/cbor"), b"", 415),
        (
            "POST",
            cm,
            Some("application/json"),
            br#"{"metadata":{"name":"UPPER"}}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/namespaces/missing/configmaps",
            Some("application/json"),
            br#"{"metadata":{"name":"a"}}"#,
            404,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps?dryRun=Some",
            Some("application/json"),
            br#"{"metadata":{"name":"a"}}"#,
            422,
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("text/plain"),
            b"{}",
            415,
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/apply-patch+yaml"),
            b"apiVersion: v1\nkind: ConfigMap\n",
            422,
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/merge-patch+json"),
            b"{}",
            404,
        ),
        ("PUT", cm, Some("application/json"), b"{}", 405),
        (
            "POST",
            "/api/v1/namespaces/default/serviceaccounts/default/token",
            Some("application/json"),
            br#"{"spec":{"expirationSeconds":599}}"#,
            422,
        ),
        (
            "POST",
            "/api/v1/namespaces/default/serviceaccounts/ghost/token",
            Some("application/json"),
            b"{}",
            404,
        ),
        (
            "GET",
            "/api/v1/configmaps?labelSelector=a+in+b",
            None,
            b"",
            400,
        ),
        (
            "GET",
            "/api/v1/configmaps?fieldSelector=spec.x%3D1",
            None,
            b"",
            400,
        ),
        ("GET", "/api/v1/configmaps?continue=%25%25", None, b"", 400),
        ("DELETE", "/api/v1/namespaces/default", None, b"", 403),
    ];
    for (method, path, ct, body, code) in bad {
        let r = s.request(method, path, ct, body).await.expect("send");
        assert_eq!(
            r.status,
            code,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let st = r.json().expect("Status body");
        assert_eq!(
            (st["kind"].as_str(), st["code"].as_u64()),
            (Some("Status"), Some(u64::from(code))),
            "{st}"
        );
    }
    let r = s
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/a",
            Some("application/apply-patch+yaml"),
            b"apiVersion: v1\nkind: ConfigMap\n",
        )
        .await
        .expect("send");
    assert_eq!(r.json().expect("json")["message"], "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
    let r = s
        .request(
            "POST",
            "/api/v1/namespaces/default/serviceaccounts/default/token",
            Some("application/json"),
            br#"{"spec":{"expirationSeconds":599}}"#,
        )
        .await
        .expect("send");
    assert_eq!(r.json().expect("json")["message"], "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes");

    // Only-protobuf Accept: 406; oversized body: 413.
    let req = Request::builder()
        .uri("/api/v1/namespaces")
        .header("accept", "application/vnd.kubernetes.protobuf")
        .body(Vec::new())
        .expect("req");
    assert_eq!(
        s.send(req, ClientAuth::Admin, false)
            .await
            .expect("send")
            .status,
        406
    );
    let big = vec![b' '; 4 * 1024 * 1024];
    let r = s
        .request("POST", cm, Some("application/json"), &big)
        .await
        .expect("send");
    assert_eq!(r.status, 413);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_list_paging_and_tables() {
    let s = server().await;
    let cm = "/api/v1/namespaces/default/configmaps";
    for i in 0..5 {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}"), "labels": {"n": i.to_string()}}});
        let r = s
            .request(
                "POST",
                cm,
                Some("application/json"),
                body.to_string().as_bytes(),
            )
            .await
            .expect("send");
        assert_eq!(r.status, 201);
    }
    let r = s
        .request("GET", &format!("{cm}?limit=2"), None, b"")
        .await
        .expect("send");
    let page = r.json().expect("json");
    assert_eq!(page["kind"], "ConfigMapList");
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    assert!(
        page["items"][0].get("kind").is_none(),
        "list items carry no kind"
    );
    assert_eq!(page["metadata"]["remainingItemCount"], 3);
    let cont = page["metadata"]["continue"].as_str().expect("continue");
    let r = s
        .request("GET", &format!("{cm}?limit=10&continue={cont}"), None, b"")
        .await
        .expect("send");
    let names: Vec<String> = r.json().expect("json")["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["c2", "c3", "c4"]);

    let r = s
        .request(
            "GET",
            "/api/v1/configmaps?labelSelector=n+in+(1,3)",
            None,
            b"",
        )
        .await
        .expect("send");
    assert_eq!(
        r.json().expect("json")["items"]
            .as_array()
            .expect("items")
            .len(),
        2
    );

    let req = Request::builder()
        .uri(format!("{cm}/c1"))
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .expect("req");
    let t = s
        .send(req, ClientAuth::Admin, true)
        .await
        .expect("send")
        .json()
        .expect("json");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["rows"][0]["cells"][0], "c1");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");

    // JSON patch test failure: 422; delete with a wrong uid precondition: 409.
    let r = s
        .request(
            "PATCH",
            &format!("{cm}/c1"),
            Some("application/json-patch+json"),
            br#"[{"op":"test","path":"/metadata/name","value":"zz"}]"#,
        )
        .await
        .expect("send");
    assert_eq!(r.status, 422);
    let r = s
        .request(
            "DELETE",
            &format!("{cm}/c1"),
            Some("application/json"),
            br#"{"preconditions":{"uid":"not-it"}}"#,
        )
        .await
        .expect("send");
    assert_eq!(r.status, 409);
    let r = s
        .request("DELETE", &format!("{cm}/c1"), None, b"")
        .await
        .expect("send");
    let st = r.json().expect("json");
    assert_eq!((r.status, st["status"].as_str()), (200, Some("Success")));
    let r = s
        .request("DELETE", &format!("{cm}?labelSelector=n%3D2"), None, b"")
        .await
        .expect("send");
    assert_eq!(
        r.json().expect("json")["items"][0]["metadata"]["name"],
        "c2"
    );
    assert!(!s.objects().iter().any(|o| o["metadata"]["name"] == "c2"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_events() {
    let s = std::sync::Arc::new(server().await);
    let start_rv: u64 = s
        .request("GET", "/api/v1/namespaces/default/configmaps", None, b"")
        .await
        .expect("list")
        .json()
        .expect("json")["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("rv");
    let watcher = {
        let s = s.clone();
        tokio::spawn(async move {
            s.request("GET", &format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start_rv}&timeoutSeconds=2"), None, b"")
                .await
                .expect("watch")
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let cm = "/api/v1/namespaces/default/configmaps";
    s.request(
        "POST",
        cm,
        Some("application/json"),
        br#"{"metadata":{"name":"w"}}"#,
    )
    .await
    .expect("create");
    s.request(
        "PATCH",
        &format!("{cm}/w"),
        Some("application/merge-patch+json"),
        br#"{"data":{"a":"b"}}"#,
    )
    .await
    .expect("patch");
    s.request("DELETE", &format!("{cm}/w"), None, b"")
        .await
        .expect("delete");
    let r = watcher.await.expect("join");
    assert_eq!(r.status, 200);
    let events: Vec<Value> = String::from_utf8(r.body)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, vec!["ADDED", "MODIFIED", "DELETED"]);
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");

    // A watch from the current state replays it as ADDED, then a bookmark.
    let r = s.request("GET", "/api/v1/serviceaccounts?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1", None, b"").await.expect("watch");
    let body = String::from_utf8(r.body).expect("utf8");
    assert!(
        body.lines().filter(|l| l.contains("\"ADDED\"")).count() >= 3,
        "{body}"
    );
    assert!(
        body.lines()
            .last()
            .is_some_and(|l| l.contains("k8s.io/initial-events-end")),
        "{body}"
    );
    match std::sync::Arc::try_unwrap(s) {
        Ok(s) => s.shutdown().await,
        Err(_) => panic!("server still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_endpoints_and_kubeconfig() {
    let s = server().await;
    let first = s.kids();
    let r = s
        .request("POST", "/_sandbox/rotate-key", None, b"")
        .await
        .expect("send");
    let v = r.json().expect("json");
    assert_eq!(v["kids"].as_array().expect("kids").len(), 2);
    assert_eq!(s.kids()[0], first[0]);
    assert_eq!(s.kids()[1], v["kid"].as_str().expect("kid"));
    let r = s
        .request(
            "POST",
            "/_sandbox/issuer",
            Some("text/plain"),
            b"https://oidc.example.com/x\n",
        )
        .await
        .expect("send");
    assert_eq!(
        r.json().expect("json")["issuer"],
        "https://oidc.example.com/x"
    );
    assert_eq!(s.issuer(), "https://oidc.example.com/x");
    let r = s
        .request("POST", "/_sandbox/issuer", Some("text/plain"), b"  ")
        .await
        .expect("send");
    assert_eq!(r.status, 400);
    let r = s
        .request("GET", "/_sandbox/objects", None, b"")
        .await
        .expect("send");
    assert_eq!(
        r.json().expect("json").as_array().expect("array").len(),
        s.objects().len()
    );
    assert_eq!(
        s.request("GET", "/_sandbox/rotate-key", None, b"")
            .await
            .expect("send")
            .status,
        405
    );

    let kc: Value = serde_yaml::from_str(&s.kubeconfig_yaml()).expect("yaml");
    assert_eq!(kc["current-context"], "fake");
    assert_eq!(kc["clusters"][0]["cluster"]["server"], s.url());
    assert_eq!(kc["users"][0]["user"]["token"], s.token());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("kc");
    s.write_kubeconfig(&path).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
    let addr = s.addr();
    s.shutdown().await;
    // The port is released once shutdown returns.
    tokio::net::TcpListener::bind(addr)
        .await
        .expect("port free after shutdown");
}

#[tokio::test]
async fn refuses_non_loopback_bind() {
    let cfg = FakeApiServerConfig {
        bind: "0.0.0.0:0".parse().expect("addr"),
        ..Default::default()
    };
    assert!(FakeApiServer::start(cfg).await.is_err());
}

/// Malformed bodies of every shape get a Status answer, never a dropped
/// connection (which is what a panic in a handler would look like).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_never_panic() {
    let s = server().await;
    let weird = [
        json!(null),
        json!([]),
        json!("x"),
        json!({"metadata": []}),
        json!({"metadata": {"name": 5}}),
        json!({"metadata": {"name": "a", "labels": []}}),
        json!({"metadata": {"name": "a", "labels": {"k": 1}}}),
        json!({"metadata": {"name": "a", "annotations": "x"}}),
        json!({"metadata": {"name": "a"}, "spec": "x", "data": [], "stringData": 1, "status": 3}),
        json!({"metadata": {"name": "a"}, "spec": {"ports": {"a": 1}, "selector": "x", "template": [], "replicas": "two"}}),
        json!({"metadata": {"name": "a"}, "spec": {"template": {"spec": {"containers": "x"}}, "selector": {"matchLabels": []}}}),
        json!({"metadata": {"name": "a"}, "webhooks": [1, {"clientConfig": []}], "rules": "x", "roleRef": 1, "subjects": [1]}),
        json!({"metadata": {"name": "a", "managedFields": 1}, "data": {"a": {"b": 1}}}),
    ];
    for rt in super::resources::RESOURCES {
        let base = if rt.group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{}/v1", rt.group)
        };
        let coll = if rt.namespaced {
            format!("{base}/namespaces/default/{}", rt.plural)
        } else {
            format!("{base}/{}", rt.plural)
        };
        for body in &weird {
            let mut with_type = body.clone();
            if let Some(m) = with_type.as_object_mut() {
                m.insert("apiVersion".into(), json!(rt.api_version()));
                m.insert("kind".into(), json!(rt.kind));
            }
            let bytes = with_type.to_string().into_bytes();
            let attempts = [
                ("POST", coll.clone(), "application/json"),
                ("PUT", format!("{coll}/a"), "application/json"),
                (
                    "PATCH",
                    format!("{coll}/a?fieldManager=t"),
                    "application/apply-patch+yaml",
                ),
                ("PATCH", format!("{coll}/a"), "application/merge-patch+json"),
                (
                    "PATCH",
                    format!("{coll}/a"),
                    "application/strategic-merge-patch+json",
                ),
                ("PATCH", format!("{coll}/a"), "application/json-patch+json"),
                ("POST", coll.clone(), "application/vnd.kubernetes.protobuf"),
            ];
            for (method, path, ct) in attempts {
                let r = s
                    .request(method, &path, Some(ct), &bytes)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{method} {path} ({ct}) with {body}: no answer: {e:#}")
                    });
                // The one 500 a real server gives on purpose: an apply whose
                // body does not fit the schema (kubernetes/kubernetes#122480).
                let typed_patch_error = r.status == 500
                    && ct == "application/apply-patch+yaml"
                    && String::from_utf8_lossy(&r.body)
                        .contains("failed to create typed patch object");
                assert!(
                    r.status < 500 || typed_patch_error,
                    "{method} {path} ({ct}) with {body}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
                r.json()
                    .unwrap_or_else(|e| panic!("{method} {path}: {e:#}"));
            }
        }
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_options_finalizers_and_reviews_over_http() {
    let s = server().await;
    let cm = "/api/v1/namespaces/default/configmaps";
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    let r = s
        .request(
            "POST",
            cm,
            Some("application/json"),
            body.to_string().as_bytes(),
        )
        .await
        .expect("send");
    assert_eq!(r.status, 201);
    let r = s
        .request(
            "DELETE",
            &format!("{cm}/held?propagationPolicy=Sideways"),
            None,
            b"",
        )
        .await
        .expect("send");
    assert_eq!(r.status, 422);
    // Query parameters count when there is no body.
    let r = s
        .request(
            "DELETE",
            &format!("{cm}/held?propagationPolicy=Foreground"),
            None,
            b"",
        )
        .await
        .expect("send");
    assert_eq!(r.status, 200);
    let o = r.json().expect("json");
    assert_eq!(o["kind"], "ConfigMap");
    assert_eq!(
        o["metadata"]["finalizers"],
        json!(["example.com/hold", "foregroundDeletion"])
    );
    // The deprecated orphanDependents=false on an object that stays: 202.
    let r = s
        .request(
            "DELETE",
            &format!("{cm}/held"),
            Some("application/json"),
            br#"{"kind":"DeleteOptions","apiVersion":"v1","orphanDependents":false}"#,
        )
        .await
        .expect("send");
    assert_eq!(r.status, 202);
    let r = s
        .request(
            "PATCH",
            &format!("{cm}/held"),
            Some("application/merge-patch+json"),
            br#"{"metadata":{"finalizers":null}}"#,
        )
        .await
        .expect("send");
    assert_eq!(r.status, 200);
    let r = s
        .request("GET", &format!("{cm}/held"), None, b"")
        .await
        .expect("send");
    assert_eq!(r.status, 404);

    // SelfSubjectAccessReview: in discovery, create-only, open to everyone.
    let r = s.request("GET", "/apis", None, b"").await.expect("send");
    assert!(r.json().expect("json")["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .any(|g| g["name"] == "authorization.k8s.io"));
    let ssar = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}}});
    let mut req = Request::builder()
        .method("POST")
        .uri(ssar)
        .header("content-type", "application/json")
        .body(review.to_string().into_bytes())
        .expect("request");
    let limited = ClientAuth::Token("limited".into());
    let r = s.send(req, limited.clone(), false).await.expect("send");
    assert_eq!(r.status, 201);
    assert_eq!(r.json().expect("json")["status"], json!({"allowed": false}));
    req = Request::builder()
        .method("POST")
        .uri(ssar)
        .header("content-type", "application/json")
        .body(review.to_string().into_bytes())
        .expect("request");
    let r = s
        .send(req, ClientAuth::Token(s.token()), false)
        .await
        .expect("send");
    assert_eq!(r.json().expect("json")["status"]["allowed"], true);
    let r = s.request("GET", ssar, None, b"").await.expect("send");
    assert_eq!(r.status, 405);
    assert_eq!(
        s.requests()
            .get("create", "selfsubjectaccessreviews.authorization.k8s.io"),
        2
    );
    s.shutdown().await;
}
