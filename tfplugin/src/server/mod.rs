//! The plugin process: go-plugin's handshake, AutoMTLS, signals and
//! shutdown. The other jobs have a module each: [`transport`] (where the
//! plugin listens and how connections arrive), [`provider_service`] (the
//! tfplugin6 Provider service on top of the framework's handlers) and
//! [`go_plugin_services`] (go-plugin's controller, stdio and broker).

mod go_plugin_services;
mod provider_service;
mod transport;

pub use go_plugin_services::{Broker, Controller, Stdio};
pub use provider_service::{diagnostics_to_proto, path_to_proto, ProviderService, Services};
use transport::incoming;
pub use transport::{port_range_from_env, refusal_is_routine, Conn, Listener, ServerConn};

/// What every gRPC handler returns.
pub(crate) type RpcResult<T> = Result<tonic::Response<T>, tonic::Status>;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::framework::{self};
use crate::{go_plugin, proto, tls};

/// go-plugin's magic cookie for Terraform providers.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const CORE_PROTOCOL_VERSION: u32 = 1;
const PROTOCOL_VERSION: u32 = 6;

/// Largest gRPC message we accept or send: terraform-plugin-go's
/// `grpcMaxMessageSize` (256 MiB). go-plugin's client itself sends up to
/// 2 GiB; tonic's default would be 4 MiB.
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// After GRPCController.Shutdown (or SIGTERM), how long calls in flight get
/// to finish before the process exits anyway. go-plugin's client kills the
/// plugin 2 s after asking it to stop.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(1);

pub struct ServeOptions {
    /// Full source address, e.g. `registry.terraform.io/irsa/irsa`, used in
    /// the `TF_REATTACH_PROVIDERS` line printed in debug mode.
    pub address: String,
    pub version: String,
}

/// Runs the provider as Terraform's plugin. Returns the process exit code.
pub fn serve(provider: Arc<dyn framework::Provider>, opts: ServeOptions) -> std::process::ExitCode {
    // The AWS SDK and kube pull in rustls with more than one crypto backend;
    // without an explicit choice rustls panics at first use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    super::log::init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!(
            "terraform-provider-{} {}",
            provider.type_name(),
            opts.version
        );
        return std::process::ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    if !debug && std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprintln!(
            "This binary is a plugin. These are not meant to be executed directly.\n\
             Please execute the program that consumes these plugins, which will\n\
             load any plugins automatically.\n\
             (To run it for a debugger, start it with --debug and use the printed TF_REATTACH_PROVIDERS.)"
        );
        return std::process::ExitCode::from(1);
    }
    if !debug {
        // Like go-plugin's protocolVersion(): serve our version anyway and
        // let the client report the mismatch in its own words ("incompatible
        // API version with plugin"), which is what the user gets to see.
        if let Err(msg) = check_protocol_versions(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok()) {
            eprintln!("{msg}");
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let code = match runtime.block_on(run(provider, opts, debug)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(target: "irsa::plugin", "plugin server failed: {e}");
            eprintln!("plugin server failed: {e}");
            std::process::ExitCode::from(1)
        }
    };
    // Blocking work still running (a stuck credential_process, say) must not
    // keep the process alive past go-plugin's kill deadline.
    runtime.shutdown_timeout(Duration::from_millis(500));
    code
}

/// go-plugin's client lists the protocol versions it speaks; we speak 6 only.
fn check_protocol_versions(list: Option<String>) -> Result<(), String> {
    let Some(list) = list else {
        return Ok(());
    };
    if list
        .split(',')
        .any(|v| v.trim() == PROTOCOL_VERSION.to_string())
    {
        Ok(())
    } else {
        Err(format!(
            "This provider speaks plugin protocol {PROTOCOL_VERSION}, but this Terraform offers only [{list}]. \
             Use Terraform 1.0 or later."
        ))
    }
}

/// How often the plugin checks that Terraform is still its parent.
#[cfg(unix)]
const PARENT_POLL: Duration = Duration::from_secs(1);

async fn run(
    provider: Arc<dyn framework::Provider>,
    opts: ServeOptions,
    debug: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = Listener::bind_default()?;

    let shutdown = Arc::new(Notify::new());
    let services = Services::new(provider, shutdown.clone());
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let router = tonic::transport::Server::builder()
        .add_service(provider_server(services.provider.clone()))
        .add_service(
            go_plugin::grpc_controller_server::GrpcControllerServer::from_arc(
                services.controller.clone(),
            ),
        )
        .add_service(go_plugin::grpc_stdio_server::GrpcStdioServer::from_arc(
            services.stdio.clone(),
        ))
        .add_service(go_plugin::grpc_broker_server::GrpcBrokerServer::from_arc(
            services.broker.clone(),
        ))
        .add_service(health_service);

    // Fires once when serving should end; `stopping` then starts the drain deadline.
    let stopping = Arc::new(Notify::new());
    let stop_signal = {
        let shutdown = shutdown.clone();
        let stopping = stopping.clone();
        async move {
            tokio::select! {
                _ = shutdown.notified() => {},
                _ = termination_signal(debug) => {},
                _ = parent_gone(), if !debug => {},
            }
            stopping.notify_one();
        }
    };

    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let network = listener.network();
    let address = listener.address();
    let cleanup = listener.cleanup_path();
    let acceptor = if debug {
        print_reattach(&opts.address, network, &address)?;
        None
    } else if let Some(pem) = client_cert {
        let identity = tls::ServerIdentity::generate()?;
        let pinned = tls::parse_client_cert(&pem)?;
        let config = Arc::new(identity.server_config(pinned)?);
        print_handshake(network, &address, Some(&identity.handshake_cert()))?;
        Some(tokio_rustls::TlsAcceptor::from(config))
    } else {
        // go-plugin without AutoMTLS: plain gRPC on a socket only we can open.
        tracing::warn!(target: "irsa::plugin", "PLUGIN_CLIENT_CERT not set: serving without TLS on a private socket");
        print_handshake(network, &address, None)?;
        None
    };
    let incoming = incoming(listener, acceptor);
    let result = tokio::select! {
        r = router.serve_with_incoming_shutdown(incoming, stop_signal) => r.map_err(Into::into),
        _ = async { stopping.notified().await; tokio::time::sleep(SHUTDOWN_DRAIN).await } => {
            tracing::debug!(target: "irsa::plugin", "calls still open {SHUTDOWN_DRAIN:?} after shutdown was asked for: exiting anyway");
            Ok(())
        }
    };
    if let Some(dir) = cleanup {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// The provider service with Terraform's message size limits.
pub fn provider_server(
    svc: Arc<ProviderService>,
) -> proto::provider_server::ProviderServer<ProviderService> {
    proto::provider_server::ProviderServer::from_arc(svc)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE)
}

/// SIGTERM ends the plugin. Terraform sends Ctrl-C (SIGINT) to the whole
/// process group and then calls StopProvider; like go-plugin we ignore it
/// unless we were started by hand in debug mode.
#[cfg(unix)]
async fn termination_signal(debug: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    tokio::select! {
        _ = async { match term.as_mut() { Some(s) => { s.recv().await; }, None => std::future::pending().await } } => {},
        _ = async {
            loop {
                match int.as_mut() { Some(s) => { s.recv().await; }, None => std::future::pending::<()>().await }
                if debug { break; }
            }
        } => {},
    }
}

/// Returns when the process that started us is gone without telling us
/// (Terraform crashed or was killed): we have been re-parented to init or
/// a subreaper. An orphaned plugin would otherwise serve forever and keep
/// its stdout and stderr pipes, and whatever reads them, open.
#[cfg(unix)]
async fn parent_gone() {
    let parent = std::os::unix::process::parent_id();
    loop {
        tokio::time::sleep(PARENT_POLL).await;
        if std::os::unix::process::parent_id() != parent {
            tracing::warn!(target: "irsa::plugin", "the process that started the plugin (pid {parent}) is gone: exiting");
            return;
        }
    }
}

#[cfg(not(unix))]
async fn parent_gone() {
    std::future::pending::<()>().await
}

#[cfg(not(unix))]
async fn termination_signal(debug: bool) {
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        if debug {
            break;
        }
    }
}

fn handshake_line(network: &str, address: &str, cert: Option<&str>) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{network}|{address}|grpc|{}\n",
        cert.unwrap_or("")
    )
}

fn print_handshake(network: &str, address: &str, cert: Option<&str>) -> std::io::Result<()> {
    let line = handshake_line(network, address, cert);
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.flush()
}

fn print_reattach(provider: &str, network: &str, address: &str) -> std::io::Result<()> {
    let value = serde_json::json!({
        provider: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {"Network": network, "String": address},
        }
    });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{value}'\n"
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_service::tests::service;

    /// go-plugin's Windows transport, exercised on every platform: the first
    /// free port of the range, the `tcp|127.0.0.1:PORT` handshake, and gRPC
    /// served over it.
    #[tokio::test]
    async fn tcp_listener_scans_the_port_range_and_serves_grpc() {
        // A range whose first port is taken.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let first = taken.local_addr().unwrap().port();
        assert!(
            Listener::bind_tcp(first, first).is_err(),
            "a range of one busy port"
        );
        let last = first.saturating_add(50);
        let listener = Listener::bind_tcp(first, last).unwrap();
        assert_eq!(listener.network(), "tcp");
        let addr: std::net::SocketAddr = listener.address().parse().unwrap();
        assert!(addr.ip().is_loopback());
        assert!(
            addr.port() > first && addr.port() <= last,
            "{addr} not in {first}..={last} after the busy one"
        );
        assert_eq!(
            handshake_line(listener.network(), &listener.address(), Some("CERT")),
            format!(
                "1|6|tcp|127.0.0.1:{}|grpc|CERT
",
                addr.port()
            )
        );
        assert!(Listener::bind_tcp(10, 9).is_err(), "min above max");

        let svc = Arc::new(service());
        let server = tonic::transport::Server::builder()
            .add_service(provider_server(svc))
            .serve_with_incoming(incoming(listener, None));
        let serving = tokio::spawn(server);
        let mut client = proto::provider_client::ProviderClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let schema = client
            .get_provider_schema(proto::get_provider_schema::Request {})
            .await
            .unwrap()
            .into_inner();
        assert!(schema.resource_schemas.contains_key("toy_thing"));
        let caps = schema.server_capabilities.unwrap();
        assert!(caps.get_provider_schema_optional);
        serving.abort();
    }
}
