//! Protocol-level tests: a gRPC client generated from `proto/` plays
//! Terraform core / OpenTofu against the real provider binary.

use std::time::{Duration, Instant};

use irsa_acceptance::plugin_client::{
    connect_plain, decode_value, dynamic_value, go_plugin, object_of, proto, provider_binary,
    ClientIdentity, Handshake, PluginProcess, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use proto::provider_client::ProviderClient;
use tfplugin::Value;

fn jwks_block() -> tfplugin::Block {
    irsa::data_sources::jwks::schema().block
}

fn provider_block() -> tfplugin::Block {
    irsa::provider::config::schema().block
}

const RSA_PUB: &str = include_str!("fixtures/rsa2048.pub.pem");
const RSA_KID: &str = include_str!("fixtures/rsa2048.kid");

fn errors(diags: &[proto::Diagnostic]) -> Vec<&proto::Diagnostic> {
    diags
        .iter()
        .filter(|d| d.severity == proto::diagnostic::Severity::Error as i32)
        .collect()
}

fn path_names(p: &Option<proto::AttributePath>) -> Vec<String> {
    use proto::attribute_path::step::Selector;
    p.as_ref()
        .map(|p| {
            p.steps
                .iter()
                .map(|s| match &s.selector {
                    Some(Selector::AttributeName(a)) => a.clone(),
                    Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
                    Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
                    None => "?".into(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn run_by_hand_it_prints_a_human_message_and_exits_non_zero() {
    let out = tokio::process::Command::new(provider_binary())
        .env_remove(MAGIC_COOKIE_KEY)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "stdout must stay clean: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("This binary is a plugin"), "{err}");
}

#[tokio::test]
async fn refuses_a_terraform_that_offers_only_protocol_5() {
    let out = tokio::process::Command::new(provider_binary())
        .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

#[tokio::test]
async fn handshake_line_names_protocol_6_a_unix_socket_and_our_certificate() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let h = &p.handshake;
    assert_eq!(
        (h.core_version.as_str(), h.protocol_version.as_str()),
        ("1", "6")
    );
    assert_eq!((h.network.as_str(), h.protocol.as_str()), ("unix", "grpc"));
    assert!(std::path::Path::new(&h.address).exists());
    let (_, cert) = x509_parser::parse_x509_certificate(&h.server_cert).expect("DER certificate");
    let san = cert.subject_alternative_name().unwrap().expect("SAN");
    assert!(
        format!("{:?}", san.value).contains("localhost"),
        "go-plugin's client checks the name localhost"
    );
}

#[tokio::test]
async fn only_the_client_certificate_from_plugin_client_cert_may_connect() {
    let p = PluginProcess::start(&[("TF_LOG_PROVIDER", "WARN")])
        .await
        .unwrap();

    // Terraform's own certificate: works.
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .expect("authenticated call");

    // Another certificate of the same shape: refused.
    let stranger = ClientIdentity::terraform_like();
    let refused = async {
        let ch = p.connect_as(Some(&stranger)).await?;
        ProviderClient::new(ch)
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(
        refused.is_err(),
        "a client with another certificate must be refused"
    );

    // No certificate at all: refused.
    let refused = async {
        let ch = p.connect_as(None).await?;
        ProviderClient::new(ch)
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(
        refused.is_err(),
        "a client without a certificate must be refused"
    );

    // Plaintext on the same socket: refused.
    let refused = async {
        let ch = connect_plain(std::path::Path::new(&p.handshake.address)).await?;
        ProviderClient::new(ch)
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(refused.is_err(), "a plaintext client must be refused");

    // And the provider still serves its real client afterwards.
    client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .expect("still serving");

    // The refusals happened in the TLS layer, and were logged as such.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refusals = p
        .stderr()
        .lines()
        .filter(|l| l.contains("refused a connection"))
        .count();
    assert!(
        refusals >= 3,
        "expected three TLS refusals in the log:\n{}",
        p.stderr()
    );
}

#[tokio::test]
async fn schema_and_metadata_describe_the_data_source() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(schema.diagnostics.is_empty());
    let jwks = schema
        .data_source_schemas
        .get("irsa_jwks")
        .expect("irsa_jwks schema");
    let block = jwks.block.as_ref().unwrap();
    let attr = |n: &str| {
        block
            .attributes
            .iter()
            .find(|a| a.name == n)
            .unwrap_or_else(|| panic!("attribute {n}"))
    };
    assert!(attr("public_keys_pem").optional);
    assert!(attr("json").computed);
    assert_eq!(
        String::from_utf8_lossy(&attr("keys").r#type),
        r#"["list",["object",{"alg":"string","kid":"string","kty":"string","use":"string"}]]"#
    );
    let provider = schema.provider.unwrap().block.unwrap();
    let kube = provider
        .block_types
        .iter()
        .find(|b| b.type_name == "kubernetes")
        .expect("kubernetes block");
    let token = kube
        .block
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|a| a.name == "token")
        .unwrap();
    assert!(token.sensitive, "kubernetes.token must be sensitive");

    let meta = client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        meta.data_sources
            .iter()
            .map(|d| d.type_name.as_str())
            .collect::<Vec<_>>(),
        ["irsa_jwks"]
    );
}

/// The order OpenTofu (and Terraform) uses for a plan that reads a data source.
#[tokio::test]
async fn opentofu_call_order_with_unknowns_at_plan_then_read_then_stop_and_shutdown() {
    let mut p = PluginProcess::start(&[]).await.unwrap();
    let channel = p.connect().await.unwrap();
    let mut client = ProviderClient::new(channel.clone());
    client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap();

    let provider_config = object_of(&provider_block(), vec![("kubernetes", Value::List(vec![]))]);
    let v = client
        .validate_provider_config(proto::validate_provider_config::Request {
            config: Some(dynamic_value(&provider_block(), &provider_config)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);

    // At plan time the keys may come from a resource not yet created.
    let unknown_cfg = object_of(&jwks_block(), vec![("public_keys_pem", Value::unknown())]);
    let v = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "irsa_jwks".into(),
            config: Some(dynamic_value(&jwks_block(), &unknown_cfg)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        v.diagnostics.is_empty(),
        "unknowns are not errors: {:?}",
        v.diagnostics
    );

    let c = client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.8.0".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: Some(proto::ClientCapabilities {
                deferral_allowed: true,
                write_only_attributes_allowed: true,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);

    let cfg = object_of(
        &jwks_block(),
        vec![("public_keys_pem", Value::string_list([RSA_PUB]))],
    );
    let r = client
        .read_data_source(proto::read_data_source::Request {
            type_name: "irsa_jwks".into(),
            config: Some(dynamic_value(&jwks_block(), &cfg)),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    let state = decode_value(&jwks_block(), r.state.as_ref().unwrap());
    let json: serde_json::Value =
        serde_json::from_str(state.attr("json").as_str().unwrap()).unwrap();
    assert_eq!(json["keys"][0]["kid"], RSA_KID.trim());
    assert_eq!(state.attr("algorithms"), &Value::string_list(["RS256"]));
    assert!(state.attr("issuer").is_null());

    let s = client
        .stop_provider(proto::stop_provider::Request {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.error, "");

    go_plugin::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(go_plugin::Empty {})
        .await
        .unwrap();
    let status = p.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    assert!(
        !std::path::Path::new(&p.handshake.address).exists(),
        "socket cleaned up"
    );
}

#[tokio::test]
async fn errors_carry_attribute_paths() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let cfg = object_of(
        &jwks_block(),
        vec![(
            "public_keys_pem",
            Value::string_list([
                "x",
                RSA_PUB,
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ]),
        )],
    );
    let v = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "irsa_jwks".into(),
            config: Some(dynamic_value(&jwks_block(), &cfg)),
        })
        .await
        .unwrap()
        .into_inner();
    let errs = errors(&v.diagnostics);
    assert_eq!(errs.len(), 2, "{:?}", v.diagnostics);
    assert_eq!(path_names(&errs[0].attribute), ["public_keys_pem", "[0]"]);
    assert_eq!(path_names(&errs[1].attribute), ["public_keys_pem", "[2]"]);

    let bad_provider = object_of(
        &provider_block(),
        vec![(
            "kubernetes",
            Value::List(vec![object_of(
                &provider_block()
                    .blocks
                    .iter()
                    .find(|b| b.type_name == "kubernetes")
                    .unwrap()
                    .block,
                vec![
                    ("host", Value::string("ftp://x")),
                    ("exec", Value::List(vec![])),
                ],
            )]),
        )],
    );
    let v = client
        .validate_provider_config(proto::validate_provider_config::Request {
            config: Some(dynamic_value(&provider_block(), &bad_provider)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        path_names(&errors(&v.diagnostics)[0].attribute),
        ["kubernetes", "[0]", "host"]
    );

    // An unknown type name is a diagnostic, not a crash.
    let v = client
        .validate_resource_config(proto::validate_resource_config::Request {
            type_name: "irsa_nope".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(errors(&v.diagnostics).len(), 1);
}

/// StopProvider reaches a handler blocked on the network.
#[tokio::test]
async fn stop_provider_cancels_a_read_in_flight() {
    // A "cluster" that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let p = PluginProcess::start(&[]).await.unwrap();
    let channel = p.connect().await.unwrap();
    let mut client = ProviderClient::new(channel.clone());
    let kube_block = provider_block()
        .blocks
        .iter()
        .find(|b| b.type_name == "kubernetes")
        .unwrap()
        .block
        .clone();
    let provider_config = object_of(
        &provider_block(),
        vec![(
            "kubernetes",
            Value::List(vec![object_of(
                &kube_block,
                vec![
                    ("host", Value::string(format!("https://{addr}"))),
                    ("token", Value::string("t")),
                    ("insecure", Value::Bool(true)),
                    ("exec", Value::List(vec![])),
                ],
            )]),
        )],
    );
    let c = client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);

    let cfg = object_of(&jwks_block(), vec![]);
    let started = Instant::now();
    let mut reader = client.clone();
    let read = tokio::spawn(async move {
        reader
            .read_data_source(proto::read_data_source::Request {
                type_name: "irsa_jwks".into(),
                config: Some(dynamic_value(&jwks_block(), &cfg)),
                provider_meta: None,
                client_capabilities: None,
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    client
        .stop_provider(proto::stop_provider::Request {})
        .await
        .unwrap();
    let r = read.await.unwrap().unwrap().into_inner();
    let errs = errors(&r.diagnostics);
    assert_eq!(errs.len(), 1, "{:?}", r.diagnostics);
    assert!(errs[0].detail.contains("stop"), "{:?}", errs[0]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "cancelled promptly, not after the client timeout"
    );
}

#[tokio::test]
async fn logs_are_json_lines_on_stderr_at_the_tf_log_level_and_stdout_stays_clean() {
    let p = PluginProcess::start(&[("TF_LOG_PROVIDER", "DEBUG")])
        .await
        .unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let provider_config = object_of(&provider_block(), vec![]);
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stderr = p.stderr();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    assert!(
        !lines.is_empty(),
        "TF_LOG_PROVIDER=DEBUG produced no log line"
    );
    for l in &lines {
        for key in ["@level", "@message", "@timestamp", "@module"] {
            assert!(l.get(key).is_some(), "missing {key}: {l}");
        }
    }
    assert!(lines.iter().any(|l| l["@message"]
        .as_str()
        .unwrap()
        .contains("configuring provider")));

    // Without TF_LOG the provider is silent.
    let quiet = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(quiet.connect().await.unwrap());
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(quiet.stderr(), "");
}

#[tokio::test]
async fn debug_mode_prints_tf_reattach_providers_and_serves_it() {
    let mut child = tokio::process::Command::new(provider_binary())
        .arg("--debug")
        .env_remove(MAGIC_COOKIE_KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut reattach = None;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
    {
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            reattach = Some(rest.trim_end_matches('\'').to_string());
            break;
        }
    }
    let reattach: serde_json::Value =
        serde_json::from_str(&reattach.expect("reattach line")).unwrap();
    let entry = &reattach["registry.terraform.io/irsa/irsa"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], child.id().unwrap());
    assert_eq!(entry["Addr"]["Network"], "unix");
    let socket = entry["Addr"]["String"].as_str().unwrap().to_string();
    let mut client =
        ProviderClient::new(connect_plain(std::path::Path::new(&socket)).await.unwrap());
    client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap();
    // Ctrl-C ends a provider started by hand in debug mode.
    unsafe_kill(child.id().unwrap(), "INT");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn handshake_parser_reads_go_plugin_lines() {
    let h = Handshake::parse("1|6|unix|/tmp/x/plugin.sock|grpc|\n").unwrap();
    assert_eq!(h.address, "/tmp/x/plugin.sock");
    assert!(h.server_cert.is_empty());
    assert!(Handshake::parse("1|6|unix").is_err());
}

fn unsafe_kill(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The reattach flow of `--debug`: the real Terraform (every version found)
/// attaches to a running provider through TF_REATTACH_PROVIDERS, without
/// starting its own.
#[tokio::test]
async fn terraform_attaches_to_a_provider_started_with_debug() {
    use tokio::io::AsyncBufReadExt;
    let binaries = irsa_acceptance::harness::terraform_binaries();
    assert!(
        !binaries.is_empty(),
        "no terraform binary found (scripts/setup installs one)"
    );
    for tf in binaries {
        let mut child = tokio::process::Command::new(provider_binary())
            .arg("--debug")
            .env_remove(MAGIC_COOKIE_KEY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let reattach = loop {
            let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
                break rest.trim_end_matches('\'').to_string();
            }
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sa.pub"), RSA_PUB).unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "terraform {\n  required_providers {\n    irsa = { source = \"irsa/irsa\" }\n  }\n}\n\
             data \"irsa_jwks\" \"k\" {\n  public_keys_pem = [file(\"sa.pub\")]\n}\n\
             output \"kid\" { value = data.irsa_jwks.k.keys[0].kid }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("terraformrc"), "").unwrap();
        let out = tokio::process::Command::new(&tf.path)
            .args(["apply", "-auto-approve", "-input=false", "-no-color"])
            .current_dir(dir.path())
            .env("TF_REATTACH_PROVIDERS", &reattach)
            .env("TF_CLI_CONFIG_FILE", dir.path().join("terraformrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .await
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "[{}] apply with TF_REATTACH_PROVIDERS failed:\n{text}",
            tf.label()
        );
        assert!(
            text.contains(RSA_KID.trim()),
            "[{}] the kid is not in the output:\n{text}",
            tf.label()
        );
        // Terraform did not stop an attached provider: it still serves.
        assert!(
            child.try_wait().unwrap().is_none(),
            "[{}] the attached provider exited",
            tf.label()
        );
        child.kill().await.unwrap();
    }
}

/// A resource at plan time, as OpenTofu and Terraform send it before the
/// data it depends on is known: unknown `jwks`, nothing looked up yet.
#[tokio::test]
async fn resource_plan_with_unknown_configuration_waits_without_calling_aws() {
    let p = PluginProcess::start(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")])
        .await
        .unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let block = irsa::resources::oidc_issuer::model::schema().block;
    let cfg = object_of(
        &block,
        vec![
            ("name", Value::string("prod")),
            ("hosting", Value::string("s3")),
            ("jwks", Value::unknown()),
            ("timeouts", Value::Null),
        ],
    );
    let v = client
        .validate_resource_config(proto::validate_resource_config::Request {
            type_name: "irsa_oidc_issuer".into(),
            config: Some(dynamic_value(&block, &cfg)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);

    let provider_config = object_of(
        &provider_block(),
        vec![("region", Value::string("eu-west-1"))],
    );
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.8.0".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
        })
        .await
        .unwrap();
    let r = client
        .plan_resource_change(proto::plan_resource_change::Request {
            type_name: "irsa_oidc_issuer".into(),
            prior_state: Some(dynamic_value(&block, &Value::Null)),
            proposed_new_state: Some(dynamic_value(&block, &cfg)),
            config: Some(dynamic_value(&block, &cfg)),
            prior_private: vec![],
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    let planned = decode_value(&block, r.planned_state.as_ref().unwrap());
    assert!(planned.attr("jwks").is_unknown());
    assert!(planned.attr("issuer_url").is_unknown());
    assert!(planned.attr("published_jwks").is_unknown());

    // A bad value is refused with its path, before any AWS call.
    let bad = object_of(
        &block,
        vec![
            ("name", Value::string("Prod_1")),
            ("hosting", Value::string("s3")),
            ("jwks", Value::unknown()),
        ],
    );
    let v = client
        .validate_resource_config(proto::validate_resource_config::Request {
            type_name: "irsa_oidc_issuer".into(),
            config: Some(dynamic_value(&block, &bad)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(path_names(&errors(&v.diagnostics)[0].attribute), ["name"]);
}
