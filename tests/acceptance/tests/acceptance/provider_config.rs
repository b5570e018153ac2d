//! The provider block's client settings against the sandbox: AWS endpoints
//! from the block and from AWS_ENDPOINT_URL, assume_role, ACM pinned to
//! us-east-1; Kubernetes through an exec credential plugin and KUBE_*
//! environment fallbacks. One test function per concern that touches the
//! process environment, run in sequence inside it.

use irsa::aws::{AssumeRole, AwsClients, AwsSettings, Endpoints};
use irsa::kube::{ExecSettings, KubeSettings};
use irsa_acceptance::fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use irsa_acceptance::sandbox::Moto;

fn scrub_aws_env() {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            std::env::remove_var(k);
        }
    }
    let empty = std::env::temp_dir().join("irsa-empty-aws-config");
    std::fs::write(&empty, "").unwrap();
    std::env::set_var("AWS_CONFIG_FILE", &empty);
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &empty);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_settings_reach_the_endpoints_they_name() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    scrub_aws_env();
    let moto = Moto::start().await;
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");

    // No region anywhere: a clear error, before any call.
    let err = AwsClients::build(&AwsSettings::default())
        .await
        .err()
        .expect("no region is an error");
    assert!(err.to_string().contains("region"), "{err}");

    // The endpoints block.
    let settings = AwsSettings {
        region: Some("eu-west-1".into()),
        endpoints: Endpoints {
            sts: Some(moto.endpoint.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let clients = AwsClients::build(&settings).await.unwrap();
    let (account, arn) = clients
        .caller_identity()
        .await
        .expect("STS through the endpoints block");
    assert_eq!(account, "123456789012");
    assert!(arn.starts_with("arn:aws:"), "{arn}");
    // CloudFront certificates live in us-east-1 whatever the provider region.
    assert_eq!(
        clients.acm.config().region().map(|r| r.as_ref()),
        Some("us-east-1")
    );
    assert_eq!(
        clients.s3.config().region().map(|r| r.as_ref()),
        Some("eu-west-1")
    );

    // An unreachable endpoint is an error that says so (and is not a hang).
    let dead = AwsSettings {
        region: Some("eu-west-1".into()),
        endpoints: Endpoints {
            sts: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = AwsClients::build(&dead)
        .await
        .unwrap()
        .caller_identity()
        .await
        .unwrap_err();
    assert_eq!(err.kind, irsa::aws::ErrorKind::Unreachable, "{err}");

    // AWS_ENDPOINT_URL, with no endpoints block.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.endpoint);
    let env_only = AwsSettings {
        region: Some("eu-west-1".into()),
        ..Default::default()
    };
    let clients = AwsClients::build(&env_only).await.unwrap();
    clients
        .caller_identity()
        .await
        .expect("STS through AWS_ENDPOINT_URL");

    // assume_role: every call then runs as the role's session.
    let assumed = AwsSettings {
        region: Some("eu-west-1".into()),
        assume_role: Some(AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/irsa-terraform".into(),
            session_name: Some("irsa-test".into()),
            external_id: Some("ext".into()),
        }),
        ..Default::default()
    };
    let clients = AwsClients::build(&assumed).await.unwrap();
    let (_, arn) = clients.caller_identity().await.expect("assumed role");
    assert!(
        arn.contains("assumed-role/irsa-terraform/irsa-test"),
        "{arn}"
    );
    std::env::remove_var("AWS_ENDPOINT_URL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_settings_exec_plugin_and_environment_fallbacks() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = FakeApiServer::start(FakeApiServerConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // An exec credential plugin, as `aws eks get-token` is used.
    let script = dir.path().join("get-token");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"'\"$IRSA_TEST_TOKEN\"'\"}}}}'\n"
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let settings = KubeSettings {
        host: Some(server.url()),
        cluster_ca_certificate: Some(server.ca_pem()),
        exec: Some(ExecSettings {
            api_version: "client.authentication.k8s.io/v1".into(),
            command: script.display().to_string(),
            args: vec![],
            env: vec![("IRSA_TEST_TOKEN".into(), server.token())],
        }),
        ..Default::default()
    };
    let client = irsa::kube::connect(&settings).await.unwrap();
    let jwks = client
        .get_raw("/openid/v1/jwks")
        .await
        .expect("exec plugin token accepted");
    assert!(jwks.contains("\"keys\""));

    // KUBE_* variables fill what the block leaves unset; the block wins.
    std::env::set_var("KUBE_HOST", server.url());
    std::env::set_var("KUBE_TOKEN", server.token());
    std::env::set_var("KUBE_CLUSTER_CA_CERT_DATA", server.ca_pem());
    let from_env = KubeSettings::default().with_env_fallbacks();
    assert_eq!(from_env.host.as_deref(), Some(server.url().as_str()));
    let client = irsa::kube::connect(&from_env).await.unwrap();
    client
        .get_raw("/.well-known/openid-configuration")
        .await
        .expect("settings from KUBE_* variables");

    let block_wins = KubeSettings {
        token: Some("wrong".into()),
        ..Default::default()
    }
    .with_env_fallbacks();
    let err = irsa::kube::connect(&block_wins)
        .await
        .unwrap()
        .get_raw("/openid/v1/jwks")
        .await
        .unwrap_err();
    assert!(
        matches!(err, irsa::kube::KubeError::Unauthorized { .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        !msg.contains("wrong") && !msg.contains(&server.token()),
        "no token in messages: {msg}"
    );
    for k in ["KUBE_HOST", "KUBE_TOKEN", "KUBE_CLUSTER_CA_CERT_DATA"] {
        std::env::remove_var(k);
    }
    server.shutdown().await;
}
