//! Protocol-level tests: a gRPC client generated from `proto/` plays
//! Terraform core / OpenTofu against the real provider binary.

use std::time::{Duration, Instant};

use irsa_acceptance::fault_proxy::FaultProxy;
use irsa_acceptance::plugin_client::{
    connect_plain, decode_value, dynamic_value, go_plugin, object_of, proto, provider_binary,
    provider_client, ClientIdentity, Handshake, PluginProcess, MAGIC_COOKIE_KEY,
};
use irsa_acceptance::sandbox::NO_AWS_ENDPOINT;
use proto::provider_client::ProviderClient;
use tfplugin::Value;

fn jwks_block() -> tfplugin::Block {
    irsa::data_sources::jwks::schema().block
}

fn provider_block() -> tfplugin::Block {
    irsa::provider::config::schema().block
}

const RSA_PUB: &str = include_str!("../../fixtures/rsa2048.pub.pem");
const RSA_KID: &str = include_str!("../../fixtures/rsa2048.kid");

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

/// go-plugin's `protocolVersion()`: with no common version the plugin still
/// prints its handshake (with the version it has), and the client reports
/// "incompatible API version with plugin. Plugin version: 6, Client versions:
/// [4 5]". Exiting instead made Terraform 0.12-0.14 say only "Unrecognized
/// remote plugin message".
#[tokio::test]
async fn a_terraform_that_offers_only_protocol_5_gets_a_version_6_handshake_to_refuse() {
    let mut p = PluginProcess::start(&[("PLUGIN_PROTOCOL_VERSIONS", "4,5")])
        .await
        .unwrap();
    assert_eq!(p.handshake.protocol_version, "6");
    let said = p
        .wait_for_stderr(Duration::from_secs(10), |e| e.contains("protocol 6"))
        .await;
    assert!(said.is_ok(), "no explanation on stderr: {said:?}");
    p.child.kill().await.unwrap();
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

    // The refusals happened in the TLS layer, and were logged as warnings.
    let seen = p
        .wait_for_stderr(Duration::from_secs(10), |e| {
            e.lines()
                .filter(|l| l.contains("refused a connection") && l.contains(r#""@level":"warn""#))
                .count()
                >= 3
        })
        .await;
    assert!(
        seen.is_ok(),
        "expected three TLS refusals at WARN in the log:\n{seen:?}"
    );
}

/// go-plugin opens a connection and drops it on every Terraform run; that
/// refusal (EOF in the handshake, or a broken pipe) is routine and logged at
/// DEBUG, while a client with a wrong certificate stays a warning.
#[tokio::test]
async fn a_dropped_connection_is_logged_at_debug_and_a_wrong_certificate_at_warn() {
    let p = PluginProcess::start(&[("TF_LOG_PROVIDER", "DEBUG")])
        .await
        .unwrap();
    // Connect and hang up at once, as go-plugin's client does.
    drop(
        tokio::net::UnixStream::connect(&p.handshake.address)
            .await
            .unwrap(),
    );
    let dropped = p
        .wait_for_stderr(Duration::from_secs(10), |e| {
            e.contains("refused a connection")
        })
        .await
        .unwrap_or_else(|e| panic!("the dropped connection was not logged:\n{e}"));
    let line = dropped
        .lines()
        .find(|l| l.contains("refused a connection"))
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["@level"], "debug", "{line}");
    assert!(
        entry["@message"].as_str().unwrap().contains("eof"),
        "{line}"
    );

    // A stranger's certificate: a warning.
    let stranger = ClientIdentity::terraform_like();
    let refused = async {
        let ch = p.connect_as(Some(&stranger)).await?;
        ProviderClient::new(ch)
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(refused.is_err());
    let warned = p
        .wait_for_stderr(Duration::from_secs(10), |e| {
            e.lines()
                .any(|l| l.contains("refused a connection") && l.contains(r#""@level":"warn""#))
        })
        .await
        .unwrap_or_else(|e| panic!("the wrong certificate was not a warning:\n{e}"));
    let warn: serde_json::Value = serde_json::from_str(
        warned
            .lines()
            .find(|l| l.contains("refused a connection") && l.contains(r#""@level":"warn""#))
            .unwrap(),
    )
    .unwrap();
    assert!(
        !warn["@message"].as_str().unwrap().contains("eof"),
        "the warning is about the certificate: {warn}"
    );
    // And at the default level Terraform uses for providers (TF_LOG=WARN and
    // up), the routine drop prints nothing at all.
    let quiet = PluginProcess::start(&[("TF_LOG_PROVIDER", "WARN")])
        .await
        .unwrap();
    drop(
        tokio::net::UnixStream::connect(&quiet.handshake.address)
            .await
            .unwrap(),
    );
    let mut quiet = quiet;
    quiet.shutdown_and_collect().await.unwrap();
    assert_eq!(quiet.stderr(), "", "a routine drop is not a warning");
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
        ["irsa_issuer_check", "irsa_jwks", "irsa_trust_policy"]
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
    // go-plugin reads nothing on stdout after the handshake line: every RPC
    // above must have printed nothing there.
    p.wait_pipes_closed().await.unwrap();
    assert_eq!(
        p.stdout_after_handshake(),
        "",
        "the provider printed to stdout during RPCs"
    );
}

/// Terraform 1.12+ calls GetResourceIdentitySchemas right after every
/// GetProviderSchema; an error there (anything but an answer or
/// UNIMPLEMENTED) fails every command. Both resources have an identity.
#[tokio::test]
async fn resource_identity_schemas_are_served() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    assert!(!schema.resource_schemas.is_empty());
    let ids = client
        .get_resource_identity_schemas(proto::get_resource_identity_schemas::Request {})
        .await
        .expect("served, not UNIMPLEMENTED")
        .into_inner();
    let mut names: Vec<&String> = ids.identity_schemas.keys().collect();
    names.sort();
    assert_eq!(names, ["irsa_oidc_issuer", "irsa_webhook"]);
    let issuer = &ids.identity_schemas["irsa_oidc_issuer"];
    let attrs: Vec<(&str, bool, bool)> = issuer
        .identity_attributes
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.required_for_import,
                a.optional_for_import,
            )
        })
        .collect();
    assert_eq!(attrs, [("name", true, false), ("account_id", false, true)]);
    assert!(ids.diagnostics.is_empty(), "{:?}", ids.diagnostics);

    // Identity data of a newer identity version: a clear error.
    let up = client
        .upgrade_resource_identity(proto::upgrade_resource_identity::Request {
            type_name: "irsa_oidc_issuer".into(),
            version: 1,
            raw_identity: Some(proto::RawState {
                json: br#"{"id":"x"}"#.to_vec(),
                flatmap: Default::default(),
            }),
        })
        .await
        .expect("served, not UNIMPLEMENTED")
        .into_inner();
    assert!(up.upgraded_identity.is_none());
    assert_eq!(errors(&up.diagnostics).len(), 1, "{:?}", up.diagnostics);
    assert!(up.diagnostics[0].detail.contains("irsa_oidc_issuer"));
}

/// With `get_provider_schema_optional`, Terraform reuses the schema from its
/// cache and a provider process gets its first call without any
/// GetProviderSchema before it; ours must serve that.
#[tokio::test]
async fn schema_reuse_is_declared_and_a_fresh_process_serves_without_get_provider_schema() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    // First call of this process: no GetProviderSchema.
    let provider_config = object_of(&provider_block(), vec![]);
    let c = client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
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
    assert!(state
        .attr("json")
        .as_str()
        .unwrap()
        .contains(RSA_KID.trim()));

    // And both places the capability is announced say so.
    let meta = client
        .get_metadata(proto::get_metadata::Request {})
        .await
        .unwrap()
        .into_inner();
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    for caps in [meta.server_capabilities, schema.server_capabilities] {
        let caps = caps.expect("server capabilities");
        assert!(caps.get_provider_schema_optional, "{caps:?}");
        assert!(!caps.move_resource_state && !caps.plan_destroy, "{caps:?}");
    }
}

/// Terraform's own limit is 256 MiB each way (terraform-plugin-go), and
/// PlanResourceChange carries three copies of a state. tonic's default would
/// refuse anything over 4 MiB with OUT_OF_RANGE ("Plugin error").
#[tokio::test]
async fn a_request_far_over_4_mib_is_served() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = provider_client(p.connect().await.unwrap());
    let kube_block = provider_block()
        .blocks
        .iter()
        .find(|b| b.type_name == "kubernetes")
        .unwrap()
        .block
        .clone();
    let big = "x".repeat(24 << 20);
    let provider_config = object_of(
        &provider_block(),
        vec![(
            "kubernetes",
            Value::List(vec![object_of(
                &kube_block,
                vec![("token", Value::string(big)), ("exec", Value::List(vec![]))],
            )]),
        )],
    );
    let request = proto::validate_provider_config::Request {
        config: Some(dynamic_value(&provider_block(), &provider_config)),
    };
    assert!(prost::Message::encoded_len(&request) > 24 << 20);
    let r = client.validate_provider_config(request).await;
    assert!(r.is_ok(), "a 24 MiB request was refused: {:?}", r.err());
}

/// go-plugin's client opens StreamStdio and StartStream on every connection
/// and keeps them open; after Shutdown the plugin must still exit before
/// go-plugin's 2 s kill, not wait for those streams to end.
#[tokio::test]
async fn shutdown_with_go_plugins_streams_open_exits_within_go_plugins_deadline() {
    let mut p = PluginProcess::start(&[]).await.unwrap();
    let channel = p.connect().await.unwrap();
    let stdio = go_plugin::grpc_stdio_client::GrpcStdioClient::new(channel.clone())
        .stream_stdio(go_plugin::Empty {})
        .await
        .unwrap()
        .into_inner();
    let (_broker_tx, broker_rx) = tokio::sync::mpsc::channel::<go_plugin::ConnInfo>(1);
    let broker = go_plugin::grpc_broker_client::GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(broker_rx))
        .await
        .unwrap()
        .into_inner();
    let asked = Instant::now();
    go_plugin::grpc_controller_client::GrpcControllerClient::new(channel.clone())
        .shutdown(go_plugin::Empty {})
        .await
        .unwrap();
    let status = p.wait_exit(Duration::from_secs(10)).await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "exit took {:?}, go-plugin kills after 2 s",
        asked.elapsed()
    );
    assert!(status.success(), "{status:?}");
    drop((stdio, broker, channel));
}

/// PLUGIN_UNIX_SOCKET_GROUP (go-plugin's `setGroupWritable`): the socket is
/// 0660 and its directory 0750, both of that group, so a host running as
/// another member of the group can connect.
#[cfg(unix)]
#[tokio::test]
async fn plugin_unix_socket_group_makes_the_socket_group_writable() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // A group other than ours when we may chown to it (root), else our own.
    let own = std::fs::metadata("/proc/self").unwrap().gid();
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let (name, gid) = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse::<u32>().ok()?))
        })
        .find(|(_, g)| if root { *g != own } else { *g == own })
        .expect("a group in /etc/group");
    let p = PluginProcess::start(&[("PLUGIN_UNIX_SOCKET_GROUP", &name)])
        .await
        .unwrap();
    let sock = std::path::Path::new(&p.handshake.address);
    let meta = std::fs::metadata(sock).unwrap();
    assert_eq!(meta.gid(), gid, "socket group");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    let dir = std::fs::metadata(sock.parent().unwrap()).unwrap();
    assert_eq!(dir.gid(), gid, "directory group");
    assert_eq!(dir.permissions().mode() & 0o777, 0o750);
    ProviderClient::new(p.connect().await.unwrap())
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap();

    // Without it, the directory is ours alone.
    let private = PluginProcess::start(&[]).await.unwrap();
    let dir = std::path::Path::new(&private.handshake.address)
        .parent()
        .unwrap()
        .to_path_buf();
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // A group that does not exist: the plugin refuses to start.
    let bad = PluginProcess::start(&[("PLUGIN_UNIX_SOCKET_GROUP", "no-such-group-h2")]).await;
    assert!(bad.is_err(), "started with an unknown group");
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
            client_capabilities: None,
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
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel::<()>(8);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
            let _ = connected_tx.try_send(());
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
    // Stop only cancels work that started before it: wait until the read is
    // really blocked on the cluster (it has connected), not a fixed time.
    tokio::time::timeout(Duration::from_secs(20), connected.recv())
        .await
        .expect("the read never reached the cluster");
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
    let mut p = p;
    p.shutdown_and_collect().await.unwrap();
    let stderr = p.stderr();
    assert_eq!(
        p.stdout_after_handshake(),
        "",
        "stdout carries only the handshake"
    );
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
    let mut quiet = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(quiet.connect().await.unwrap());
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(dynamic_value(&provider_block(), &provider_config)),
            client_capabilities: None,
        })
        .await
        .unwrap();
    // Both pipes read to the end after the exit, so "nothing" is the whole output.
    quiet.shutdown_and_collect().await.unwrap();
    assert_eq!(quiet.stderr(), "");
    assert_eq!(quiet.stdout_after_handshake(), "");
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
    // Every AWS request goes through a counting proxy, with credentials set
    // so that a call would really be sent (not fail before the network).
    let proxy = FaultProxy::start(NO_AWS_ENDPOINT).await.expect("proxy");
    let url = proxy.url();
    let p = PluginProcess::start(&[
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ])
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
            client_capabilities: None,
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
            prior_identity: None,
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
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(path_names(&errors(&v.diagnostics)[0].attribute), ["name"]);
    assert_eq!(
        proxy.requests(),
        0,
        "validate and plan with unknowns called AWS:\n{}",
        proxy.log_text()
    );

    // The counter sees this process's AWS calls: an import has to look.
    let imported = client
        .import_resource_state(proto::import_resource_state::Request {
            type_name: "irsa_oidc_issuer".into(),
            id: "prod".into(),
            client_capabilities: None,
            identity: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !errors(&imported.diagnostics).is_empty(),
        "no AWS behind the proxy"
    );
    assert!(
        proxy.requests() > 0,
        "the import's AWS calls did not reach the proxy, so the count above proves nothing"
    );
}

/// msgpack written by hand as Terraform writes it (not by our own codec, so
/// a bug that is symmetric in our encoder and decoder cannot hide): an
/// object with every attribute of the schema Terraform got from
/// GetProviderSchema, nulls, a refined unknown (ext 12, "not null"), and a
/// list of strings; the answer is read back by hand too.
#[tokio::test]
async fn hand_built_msgpack_as_terraform_sends_it() {
    let p = PluginProcess::start(&[]).await.unwrap();
    let mut client = ProviderClient::new(p.connect().await.unwrap());
    let schema = client
        .get_provider_schema(proto::get_provider_schema::Request {})
        .await
        .unwrap()
        .into_inner();
    let block = schema.data_source_schemas["irsa_jwks"]
        .block
        .clone()
        .unwrap();
    let mut names: Vec<String> = block.attributes.iter().map(|a| a.name.clone()).collect();
    names.extend(block.block_types.iter().map(|b| b.type_name.clone()));
    names.sort();
    let config = |pem: &[u8]| {
        let mut b = Vec::new();
        rmp::encode::write_map_len(&mut b, names.len() as u32).unwrap();
        for n in &names {
            rmp::encode::write_str(&mut b, n).unwrap();
            if n == "public_keys_pem" {
                b.extend_from_slice(pem);
            } else {
                b.push(0xc0);
            }
        }
        proto::DynamicValue {
            msgpack: b,
            json: vec![],
        }
    };
    // Plan time: the PEM list is unknown but known not to be null.
    let v = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "irsa_jwks".into(),
            config: Some(config(&[0xc7, 3, 12, 0x81, 0x01, 0xc2])),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    // Any other extension code is an unknown too.
    let v = client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "irsa_jwks".into(),
            config: Some(config(&[0xd4, 7, 0])),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);

    // Apply time: a one-element list of strings.
    let mut list = vec![0x91];
    rmp::encode::write_str(&mut list, RSA_PUB).unwrap();
    client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dynamic_value(
                &provider_block(),
                &object_of(&provider_block(), vec![]),
            )),
            client_capabilities: None,
        })
        .await
        .unwrap();
    let r = client
        .read_data_source(proto::read_data_source::Request {
            type_name: "irsa_jwks".into(),
            config: Some(config(&list)),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", r.diagnostics);
    // Read the answer by hand: a map, keys in sorted order (as cty writes
    // them), `json` a string naming our kid, `issuer` nil.
    let bytes = r.state.unwrap().msgpack;
    let mut rd = &bytes[..];
    let n = rmp::decode::read_map_len(&mut rd).unwrap() as usize;
    assert_eq!(n, names.len(), "one entry per attribute");
    let mut keys = Vec::new();
    for _ in 0..n {
        let mut key = vec![0u8; 256];
        let k = rmp::decode::read_str(&mut rd, &mut key)
            .unwrap()
            .to_string();
        match k.as_str() {
            "json" => {
                let len = rmp::decode::read_str_len(&mut rd).unwrap() as usize;
                let text = std::str::from_utf8(&rd[..len]).unwrap();
                assert!(text.contains(RSA_KID.trim()), "{text}");
                rd = &rd[len..];
            }
            "issuer" => {
                rmp::decode::read_nil(&mut rd).unwrap();
            }
            _ => skip_msgpack(&mut rd),
        }
        keys.push(k);
    }
    assert!(rd.is_empty(), "trailing bytes");
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "object keys in sorted order");
}

/// Skips one msgpack value (only the kinds a state holds).
fn skip_msgpack(rd: &mut &[u8]) {
    use rmp::Marker::*;
    let marker = rmp::decode::read_marker(rd).map_err(|_| ()).unwrap();
    let take = |rd: &mut &[u8], n: usize| *rd = &rd[n..];
    let be = |rd: &mut &[u8], n: usize| -> usize {
        let v = rd[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        *rd = &rd[n..];
        v
    };
    match marker {
        Null | True | False | FixPos(_) | FixNeg(_) => {}
        U8 | I8 => take(rd, 1),
        U16 | I16 => take(rd, 2),
        U32 | I32 | F32 => take(rd, 4),
        U64 | I64 | F64 => take(rd, 8),
        FixStr(n) => take(rd, n as usize),
        Str8 | Bin8 => {
            let n = be(rd, 1);
            take(rd, n)
        }
        Str16 | Bin16 => {
            let n = be(rd, 2);
            take(rd, n)
        }
        Str32 | Bin32 => {
            let n = be(rd, 4);
            take(rd, n)
        }
        FixArray(n) => (0..n).for_each(|_| skip_msgpack(rd)),
        Array16 => (0..be(rd, 2)).for_each(|_| skip_msgpack(rd)),
        FixMap(n) => (0..2 * n).for_each(|_| skip_msgpack(rd)),
        Map16 => (0..2 * be(rd, 2)).for_each(|_| skip_msgpack(rd)),
        other => panic!("unexpected msgpack marker {other:?} in a state"),
    }
}

/// A Terraform that dies without a word (a panic, SIGKILL) leaves its
/// plugins re-parented to init: the plugin notices and exits, closing the
/// stderr it shares with whatever ran Terraform (before, such orphans
/// served on for hours and kept `scripts/quickstart`'s pipe open).
#[cfg(unix)]
#[tokio::test]
async fn the_plugin_exits_when_the_process_that_started_it_dies() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    // `sh` plays Terraform: it starts the plugin, lives a second, and dies.
    let mut parent = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" & echo "pid=$!"; sleep 1"#)
        .arg(provider_binary())
        .env(
            MAGIC_COOKIE_KEY,
            irsa_acceptance::plugin_client::MAGIC_COOKIE_VALUE,
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("TF_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    let mut stdout = BufReader::new(parent.stdout.take().expect("stdout"));
    let mut stderr = parent.stderr.take().expect("stderr");
    let (pid_tx, pid_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(pid) = line.trim().strip_prefix("pid=") {
                let _ = pid_tx.send(pid.to_string());
            }
            line.clear();
        }
    });
    let (eof_tx, eof_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut logs = String::new();
        let _ = stderr.read_to_string(&mut logs);
        let _ = eof_tx.send(logs);
    });
    let pid = pid_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("pid line");
    assert!(parent.wait().expect("sh").success());
    let died = Instant::now();
    // EOF on stderr: both the shell and the plugin have closed it.
    let logs = eof_rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the orphaned plugin still holds its stderr 15 s after its parent died");
    assert!(
        died.elapsed() < Duration::from_secs(5),
        "exit took {:?}",
        died.elapsed()
    );
    assert!(
        logs.contains("is gone: exiting"),
        "no word of why it exited: {logs}"
    );
    // Gone, or a zombie waiting for init to reap it.
    let exited = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")
    };
    while !exited() && died.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        exited(),
        "plugin {pid} still running {:?} after its parent died",
        died.elapsed()
    );
}
