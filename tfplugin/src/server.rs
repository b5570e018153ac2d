//! The plugin process: go-plugin handshake, AutoMTLS, and the gRPC services
//! (tfplugin6 Provider, go-plugin's controller/stdio/broker, health).
//!
//! Transport, as go-plugin's `serverListener()`: a Unix socket on Unix
//! systems, TCP on 127.0.0.1 within `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT` on
//! Windows (see [`Listener`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

use super::diag::{AttrPath, Diagnostic, Diagnostics, PathStep, Severity};
use super::framework::{
    self, ApplyRequest, ConfigureRequest, Ctx, PlanRequest, RawState, ReadRequest,
};
use super::schema::{self, Schema};
use super::value::{Type, Value};
use super::{go_plugin, json, model, msgpack, proto, tls};

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

// ---------------------------------------------------------------------------
// Transport

/// Where the plugin listens.
pub enum Listener {
    /// A socket in a private directory of its own (removed on exit).
    #[cfg(unix)]
    Unix {
        listener: tokio::net::UnixListener,
        dir: std::path::PathBuf,
        path: std::path::PathBuf,
    },
    /// 127.0.0.1:PORT, go-plugin's transport on Windows.
    Tcp(TcpListener),
}

impl Listener {
    /// go-plugin's choice: TCP on Windows, a Unix socket everywhere else.
    pub fn bind_default() -> std::io::Result<Listener> {
        #[cfg(unix)]
        {
            Listener::bind_unix()
        }
        #[cfg(not(unix))]
        {
            let (min, max) = port_range_from_env()?;
            Listener::bind_tcp(min, max)
        }
    }

    /// The first free port of `min..=max` on 127.0.0.1, as go-plugin's
    /// `serverListener_tcp()` scans it.
    pub fn bind_tcp(min: u16, max: u16) -> std::io::Result<Listener> {
        if min > max {
            return Err(std::io::Error::other(format!(
                "PLUGIN_MIN_PORT value of {min} is greater than PLUGIN_MAX_PORT value of {max}"
            )));
        }
        for port in min..=max {
            if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                l.set_nonblocking(true)?;
                return Ok(Listener::Tcp(TcpListener::from_std(l)?));
            }
        }
        Err(std::io::Error::other(format!(
            "couldn't bind the plugin's TCP listener: no free port on 127.0.0.1 in {min}..={max}"
        )))
    }

    /// A socket in a new 0700 directory under `PLUGIN_UNIX_SOCKET_DIR` or
    /// the temp dir. With `PLUGIN_UNIX_SOCKET_GROUP` (go-plugin's
    /// `setGroupWritable`), the directory becomes 0750 and the socket 0660,
    /// both owned by that group, so a host running as another user of the
    /// group can connect.
    #[cfg(unix)]
    pub fn bind_unix() -> std::io::Result<Listener> {
        let group = socket_group()?;
        let dir = make_socket_dir()?;
        let path = dir.join("plugin.sock");
        let listener = match tokio::net::UnixListener::bind(&path) {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        if let Some(gid) = group {
            use std::os::unix::fs::PermissionsExt;
            let shared = (|| {
                std::os::unix::fs::chown(&dir, None, Some(gid))?;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750))?;
                std::os::unix::fs::chown(&path, None, Some(gid))?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))
            })();
            if let Err(e) = shared {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot give the plugin socket to group {gid} (PLUGIN_UNIX_SOCKET_GROUP): {e}"),
                ));
            }
        }
        Ok(Listener::Unix {
            listener,
            dir,
            path,
        })
    }

    /// The handshake's network field.
    pub fn network(&self) -> &'static str {
        match self {
            #[cfg(unix)]
            Listener::Unix { .. } => "unix",
            Listener::Tcp(_) => "tcp",
        }
    }

    /// The handshake's address field: a socket path or `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        match self {
            #[cfg(unix)]
            Listener::Unix { path, .. } => path.display().to_string(),
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "127.0.0.1:0".into()),
        }
    }

    fn cleanup_path(&self) -> Option<std::path::PathBuf> {
        match self {
            #[cfg(unix)]
            Listener::Unix { dir, .. } => Some(dir.clone()),
            Listener::Tcp(_) => None,
        }
    }

    pub async fn accept(&self) -> std::io::Result<Conn> {
        match self {
            #[cfg(unix)]
            Listener::Unix { listener, .. } => listener.accept().await.map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Conn::Tcp(s)
            }),
        }
    }
}

/// `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`, which go-plugin's client always
/// sets (10000 and 25000 unless the host configures others).
pub fn port_range_from_env() -> std::io::Result<(u16, u16)> {
    let read = |name: &str, default: u16| -> std::io::Result<u16> {
        match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => v
                .trim()
                .parse()
                .map_err(|e| std::io::Error::other(format!("Couldn't get value from {name}: {e}"))),
            _ => Ok(default),
        }
    };
    Ok((
        read("PLUGIN_MIN_PORT", 10000)?,
        read("PLUGIN_MAX_PORT", 25000)?,
    ))
}

/// The gid for `PLUGIN_UNIX_SOCKET_GROUP`: a group name (from /etc/group),
/// else a numeric id, as go-plugin's LookupGroup then LookupGroupId.
#[cfg(unix)]
fn socket_group() -> std::io::Result<Option<u32>> {
    let Some(group) = std::env::var("PLUGIN_UNIX_SOCKET_GROUP")
        .ok()
        .filter(|g| !g.trim().is_empty())
    else {
        return Ok(None);
    };
    let group = group.trim();
    let by_name = std::fs::read_to_string("/etc/group").ok().and_then(|text| {
        text.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(group))
                .then(|| f.nth(1).and_then(|gid| gid.parse::<u32>().ok()))
                .flatten()
        })
    });
    match by_name.or_else(|| group.parse().ok()) {
        Some(gid) => Ok(Some(gid)),
        None => Err(std::io::Error::other(format!(
            "PLUGIN_UNIX_SOCKET_GROUP={group:?} is neither a group name nor a group id"
        ))),
    }
}

#[cfg(unix)]
fn make_socket_dir() -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    for attempt in 0..16u32 {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "plugin-irsa-{}-{nonce:x}-{attempt}",
            std::process::id()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "cannot create a private socket directory",
    ))
}

/// Whether a refused connection is the routine kind: go-plugin opens a
/// connection and drops it before (or during) the TLS handshake on every
/// Terraform run, which shows up as EOF or a broken pipe. A peer that
/// completes its part with a wrong (or no) certificate, or speaks no TLS at
/// all, gets a protocol error instead, and that one is worth a warning.
pub fn refusal_is_routine(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected
    )
}

/// Accepted connections, TLS-terminated when `acceptor` is set; a peer that
/// fails authentication never reaches gRPC.
fn incoming(
    listener: Listener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> ReceiverStream<std::io::Result<ServerConn>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let sock = match listener.accept().await {
                Ok(sock) => sock,
                Err(e) => {
                    tracing::warn!(target: "irsa::plugin", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(acceptor) = acceptor.clone() else {
                if tx.send(Ok(ServerConn::Plain(sock))).await.is_err() {
                    return;
                }
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(sock)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(ServerConn::Tls(Box::new(stream)))).await;
                    }
                    Ok(Err(e)) if refusal_is_routine(&e) => {
                        tracing::debug!(target: "irsa::plugin", "refused a connection: {e}")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(target: "irsa::plugin", "refused a connection: {e}")
                    }
                    Err(_) => {
                        tracing::warn!(target: "irsa::plugin", "refused a connection: TLS handshake timed out")
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// One accepted socket.
pub enum Conn {
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tcp(TcpStream),
}

/// A connection as gRPC sees it.
pub enum ServerConn {
    Plain(Conn),
    Tls(Box<tokio_rustls::server::TlsStream<Conn>>),
}

impl Connected for ServerConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

macro_rules! delegate_io {
    ($ty:ty, $self:ident => $($pat:pat => $inner:expr),+) => {
        impl AsyncRead for $ty {
            fn poll_read(
                mut $self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                match &mut *$self { $($pat => Pin::new($inner).poll_read(cx, buf)),+ }
            }
        }
        impl AsyncWrite for $ty {
            fn poll_write(
                mut $self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                match &mut *$self { $($pat => Pin::new($inner).poll_write(cx, buf)),+ }
            }
            fn poll_flush(mut $self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                match &mut *$self { $($pat => Pin::new($inner).poll_flush(cx)),+ }
            }
            fn poll_shutdown(mut $self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
                match &mut *$self { $($pat => Pin::new($inner).poll_shutdown(cx)),+ }
            }
        }
    };
}

#[cfg(unix)]
delegate_io!(Conn, self => Conn::Unix(s) => s, Conn::Tcp(s) => s);
#[cfg(not(unix))]
delegate_io!(Conn, self => Conn::Tcp(s) => s);
delegate_io!(ServerConn, self => ServerConn::Plain(s) => s, ServerConn::Tls(s) => &mut **s);

// ---------------------------------------------------------------------------
// Services

/// Every gRPC service of the plugin; public so tests can serve them in-process.
pub struct Services {
    pub provider: Arc<ProviderService>,
    pub controller: Arc<Controller>,
    pub stdio: Arc<Stdio>,
    pub broker: Arc<Broker>,
}

impl Services {
    pub fn new(provider: Arc<dyn framework::Provider>, shutdown: Arc<Notify>) -> Services {
        Services {
            provider: Arc::new(ProviderService::new(provider)),
            controller: Arc::new(Controller { shutdown }),
            stdio: Arc::new(Stdio),
            broker: Arc::new(Broker),
        }
    }
}

struct Entry<T: ?Sized> {
    handler: Arc<T>,
    schema: Schema,
    ty: Type,
}

pub struct ProviderService {
    provider: Arc<dyn framework::Provider>,
    provider_schema: Schema,
    provider_ty: Type,
    resources: BTreeMap<String, Entry<dyn framework::Resource>>,
    data_sources: BTreeMap<String, Entry<dyn framework::DataSource>>,
    /// Replaced after each StopProvider so the plugin stays usable (a
    /// reattached provider outlives one Terraform run).
    stop: Mutex<CancellationToken>,
}

impl ProviderService {
    pub fn new(provider: Arc<dyn framework::Provider>) -> ProviderService {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.block.value_type();
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                let schema = r.schema();
                let ty = schema.block.value_type();
                (
                    r.type_name().to_string(),
                    Entry {
                        handler: r,
                        schema,
                        ty,
                    },
                )
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                let schema = d.schema();
                let ty = schema.block.value_type();
                (
                    d.type_name().to_string(),
                    Entry {
                        handler: d,
                        schema,
                        ty,
                    },
                )
            })
            .collect();
        ProviderService {
            provider,
            provider_schema,
            provider_ty,
            resources,
            data_sources,
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.stop.lock().expect("stop token lock").child_token())
    }

    fn resource(&self, name: &str) -> Result<&Entry<dyn framework::Resource>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(&self, name: &str) -> Result<&Entry<dyn framework::DataSource>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named {name:?}."),
    )
    .into()
}

/// Runs a handler; a panic becomes an error diagnostic instead of killing
/// the plugin (which Terraform would report as a crash of the whole run).
async fn guarded<T>(
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, Diagnostics> {
    let mut fut = Box::pin(fut);
    // The panic hook reads this mark: a panic here becomes a diagnostic, so
    // it must not print the crash report Terraform takes for a dead plugin.
    let fut = std::future::poll_fn(move |cx| {
        let _scope = super::log::handler_scope();
        fut.as_mut().poll(cx)
    });
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Ok(v),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Diagnostic::error(
                "Provider internal error",
                format!("The provider panicked while handling {what}: {msg}. This is a bug in the provider; please report it."),
            )
            .into())
        }
    }
}

fn decode(ty: &Type, v: Option<&proto::DynamicValue>, what: &str) -> Result<Value, Diagnostics> {
    let Some(v) = v else { return Ok(Value::Null) };
    let result = if !v.msgpack.is_empty() {
        msgpack::decode(ty, &v.msgpack).map_err(|e| e.to_string())
    } else if !v.json.is_empty() {
        json::decode_bytes(ty, &v.json).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    result.map_err(|e| {
        Diagnostic::error(
            "Invalid value from Terraform",
            format!("Cannot decode the {what}: {e}"),
        )
        .into()
    })
}

fn encode(ty: &Type, v: &Value) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue {
        msgpack: msgpack::encode(ty, v),
        json: Vec::new(),
    })
}

pub fn diagnostics_to_proto(d: Diagnostics) -> Vec<proto::Diagnostic> {
    d.0.into_iter()
        .map(|d| proto::Diagnostic {
            severity: match d.severity {
                Severity::Error => proto::diagnostic::Severity::Error as i32,
                Severity::Warning => proto::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary,
            detail: d.detail,
            attribute: d.path.map(path_to_proto),
        })
        .collect()
}

pub fn path_to_proto(p: AttrPath) -> proto::AttributePath {
    use proto::attribute_path::step::Selector;
    proto::AttributePath {
        steps: p
            .0
            .into_iter()
            .map(|s| proto::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a),
                    PathStep::Key(k) => Selector::ElementKeyString(k),
                    PathStep::Index(i) => Selector::ElementKeyInt(i),
                }),
            })
            .collect(),
    }
}

fn schema_to_proto(s: &Schema) -> proto::Schema {
    proto::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block, s.version)),
    }
}

fn attribute_to_proto(a: &schema::Attribute) -> proto::schema::Attribute {
    use proto::schema::object::NestingMode;
    // Terraform takes either a type or a nested type, never both.
    let (ty, nested_type) = match &a.nested {
        None => (a.ty.to_json().to_string().into_bytes(), None),
        Some(n) => (
            Vec::new(),
            Some(proto::schema::Object {
                attributes: n.attributes.iter().map(attribute_to_proto).collect(),
                nesting: match n.nesting {
                    schema::Nesting::Single | schema::Nesting::Group => NestingMode::Single,
                    schema::Nesting::List => NestingMode::List,
                    schema::Nesting::Set => NestingMode::Set,
                    schema::Nesting::Map => NestingMode::Map,
                } as i32,
            }),
        ),
    };
    proto::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: proto::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: false,
    }
}

fn block_to_proto(b: &schema::Block, version: i64) -> proto::schema::Block {
    use proto::schema::nested_block::NestingMode;
    proto::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute_to_proto).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| proto::schema::NestedBlock {
                type_name: nb.type_name.clone(),
                block: Some(block_to_proto(&nb.block, version)),
                nesting: match nb.nesting {
                    schema::Nesting::Single => NestingMode::Single,
                    schema::Nesting::List => NestingMode::List,
                    schema::Nesting::Set => NestingMode::Set,
                    schema::Nesting::Map => NestingMode::Map,
                    schema::Nesting::Group => NestingMode::Group,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: proto::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

/// Collects the errors of a fallible step into the response's diagnostics.
macro_rules! try_diags {
    ($expr:expr, $resp:expr) => {
        match $expr {
            Ok(v) => v,
            Err(d) => {
                let mut resp = $resp;
                resp.diagnostics = diagnostics_to_proto(d);
                return Ok(Response::new(resp));
            }
        }
    };
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl proto::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _req: Request<proto::get_metadata::Request>,
    ) -> RpcResult<proto::get_metadata::Response> {
        use proto::get_metadata as m;
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: vec![],
            data_sources: self
                .data_sources
                .keys()
                .map(|k| m::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| m::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: vec![],
            ephemeral_resources: vec![],
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<proto::get_provider_schema::Request>,
    ) -> RpcResult<proto::get_provider_schema::Response> {
        Ok(Response::new(proto::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.provider_schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), schema_to_proto(&e.schema)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, e)| (k.clone(), schema_to_proto(&e.schema)))
                .collect(),
            functions: Default::default(),
            ephemeral_resource_schemas: Default::default(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<proto::validate_provider_config::Request>,
    ) -> RpcResult<proto::validate_provider_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_provider_config::Response::default();
        let config = try_diags!(
            decode(
                &self.provider_ty,
                req.config.as_ref(),
                "provider configuration"
            ),
            empty
        );
        let diags = try_diags!(
            guarded("ValidateProviderConfig", self.provider.validate(&config)).await,
            empty
        );
        Ok(Response::new(proto::validate_provider_config::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<proto::validate_resource_config::Request>,
    ) -> RpcResult<proto::validate_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_resource_config::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let diags = try_diags!(
            guarded("ValidateResourceConfig", entry.handler.validate(&config)).await,
            empty
        );
        Ok(Response::new(proto::validate_resource_config::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<proto::validate_data_resource_config::Request>,
    ) -> RpcResult<proto::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_data_resource_config::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let diags = try_diags!(
            guarded(
                "ValidateDataResourceConfig",
                entry.handler.validate(&config)
            )
            .await,
            empty
        );
        Ok(Response::new(
            proto::validate_data_resource_config::Response {
                diagnostics: diagnostics_to_proto(diags),
            },
        ))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> RpcResult<proto::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let empty = proto::upgrade_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let raw = req.raw_state.unwrap_or_default();
        let mut warnings = Diagnostics::default();
        let upgraded = if req.version == entry.schema.version && !raw.json.is_empty() {
            try_diags!(
                json::decode_bytes(&entry.ty, &raw.json).map_err(|e| Diagnostics::from(
                    Diagnostic::error(
                        "Stored state does not match the schema",
                        format!("The state of this {} cannot be read: {e}", req.type_name)
                    )
                )),
                empty
            )
        } else if req.version > entry.schema.version {
            try_diags!(
                Err(Diagnostics::from(Diagnostic::error(
                    "State written by a newer provider",
                    format!(
                        "This state was written with schema version {} of {}, but this provider knows only up to version {}. Upgrade the provider.",
                        req.version, req.type_name, entry.schema.version
                    )
                ))),
                empty
            )
        } else {
            let raw = RawState {
                version: req.version,
                json: (!raw.json.is_empty()).then_some(raw.json),
                flatmap: raw.flatmap,
            };
            let (value, diags) = try_diags!(
                try_diags!(
                    guarded("UpgradeResourceState", async {
                        entry.handler.upgrade_state_with_warnings(raw)
                    })
                    .await,
                    empty
                ),
                empty
            );
            warnings = diags;
            value
        };
        Ok(Response::new(proto::upgrade_resource_state::Response {
            upgraded_state: encode(&entry.ty, &upgraded),
            diagnostics: diagnostics_to_proto(warnings),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<proto::configure_provider::Request>,
    ) -> RpcResult<proto::configure_provider::Response> {
        let req = req.into_inner();
        let empty = proto::configure_provider::Response::default();
        let config = try_diags!(
            decode(
                &self.provider_ty,
                req.config.as_ref(),
                "provider configuration"
            ),
            empty
        );
        let ctx = self.ctx();
        let request = ConfigureRequest {
            terraform_version: req.terraform_version,
            config,
        };
        let diags = try_diags!(
            guarded("ConfigureProvider", self.provider.configure(&ctx, request)).await,
            empty
        );
        Ok(Response::new(proto::configure_provider::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<proto::read_resource::Request>,
    ) -> RpcResult<proto::read_resource::Response> {
        let req = req.into_inner();
        let empty = proto::read_resource::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let state = try_diags!(
            decode(&entry.ty, req.current_state.as_ref(), "current state"),
            empty
        );
        let ctx = self.ctx();
        let mut out = try_diags!(
            guarded(
                "ReadResource",
                entry.handler.read(
                    &ctx,
                    ReadRequest {
                        state: state.clone(),
                        private: req.private
                    }
                )
            )
            .await,
            empty
        );
        // Refresh keeps the stored spelling of a value that means the same.
        model::keep_equivalent(&entry.schema.block, &state, &mut out.state);
        Ok(Response::new(proto::read_resource::Response {
            new_state: encode(&entry.ty, &out.state),
            diagnostics: diagnostics_to_proto(out.diagnostics),
            private: out.private,
            deferred: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> RpcResult<proto::plan_resource_change::Response> {
        let req = req.into_inner();
        let empty = proto::plan_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior_state = try_diags!(
            decode(&entry.ty, req.prior_state.as_ref(), "prior state"),
            empty
        );
        let mut proposed_new_state = try_diags!(
            decode(&entry.ty, req.proposed_new_state.as_ref(), "proposed state"),
            empty
        );
        // An attribute whose new value means the same as the prior one (JSON
        // with other whitespace or member order) keeps the prior spelling,
        // so the resource sees no change and Terraform shows none.
        model::keep_equivalent(&entry.schema.block, &prior_state, &mut proposed_new_state);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let ctx = self.ctx();
        let plan = PlanRequest {
            prior_state: prior_state.clone(),
            proposed_new_state,
            config,
            prior_private: req.prior_private,
        };
        let mut out = try_diags!(
            guarded("PlanResourceChange", entry.handler.plan(&ctx, plan)).await,
            empty
        );
        model::keep_equivalent(&entry.schema.block, &prior_state, &mut out.planned_state);
        Ok(Response::new(proto::plan_resource_change::Response {
            planned_state: encode(&entry.ty, &out.planned_state),
            requires_replace: out
                .requires_replace
                .into_iter()
                .map(path_to_proto)
                .collect(),
            planned_private: out.planned_private,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            legacy_type_system: false,
            deferred: None,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> RpcResult<proto::apply_resource_change::Response> {
        let req = req.into_inner();
        let empty = proto::apply_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior_state = try_diags!(
            decode(&entry.ty, req.prior_state.as_ref(), "prior state"),
            empty
        );
        let planned_state = try_diags!(
            decode(&entry.ty, req.planned_state.as_ref(), "planned state"),
            empty
        );
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let ctx = self.ctx();
        let apply = ApplyRequest {
            prior_state: prior_state.clone(),
            planned_state: planned_state.clone(),
            config,
            planned_private: req.planned_private,
        };
        // On a panic the remote objects are as they were before as far as we
        // know, so keep the prior state rather than forgetting the resource.
        let out = match guarded("ApplyResourceChange", entry.handler.apply(&ctx, apply)).await {
            Ok(mut out) => {
                // Terraform requires the new state to equal the plan; a value
                // that only differs in spelling keeps the planned one.
                model::keep_equivalent(&entry.schema.block, &planned_state, &mut out.new_state);
                out
            }
            Err(d) => framework::ApplyResponse {
                new_state: prior_state,
                private: Vec::new(),
                diagnostics: d,
            },
        };
        Ok(Response::new(proto::apply_resource_change::Response {
            new_state: encode(&entry.ty, &out.new_state),
            private: out.private,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> RpcResult<proto::import_resource_state::Response> {
        let req = req.into_inner();
        let empty = proto::import_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let ctx = self.ctx();
        let out = try_diags!(
            guarded("ImportResourceState", entry.handler.import(&ctx, req.id)).await,
            empty
        );
        let imported = if out.state.is_null() {
            vec![]
        } else {
            vec![proto::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: encode(&entry.ty, &out.state),
                private: out.private,
            }]
        };
        Ok(Response::new(proto::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<proto::move_resource_state::Request>,
    ) -> RpcResult<proto::move_resource_state::Response> {
        let req = req.into_inner();
        Ok(Response::new(proto::move_resource_state::Response {
            target_state: None,
            target_private: Vec::new(),
            diagnostics: diagnostics_to_proto(
                Diagnostic::error(
                    "Moving resource state is not supported",
                    format!(
                        "{} cannot be the target of a `moved` block from {}.",
                        req.target_type_name, req.source_type_name
                    ),
                )
                .into(),
            ),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<proto::read_data_source::Request>,
    ) -> RpcResult<proto::read_data_source::Response> {
        let req = req.into_inner();
        let empty = proto::read_data_source::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let ctx = self.ctx();
        let (state, diags) = try_diags!(
            try_diags!(
                guarded("ReadDataSource", entry.handler.read(&ctx, config)).await,
                empty
            ),
            empty
        );
        Ok(Response::new(proto::read_data_source::Response {
            state: encode(&entry.ty, &state),
            diagnostics: diagnostics_to_proto(diags),
            deferred: None,
        }))
    }

    async fn get_functions(
        &self,
        _req: Request<proto::get_functions::Request>,
    ) -> RpcResult<proto::get_functions::Response> {
        Ok(Response::new(proto::get_functions::Response::default()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<proto::get_resource_identity_schemas::Request>,
    ) -> RpcResult<proto::get_resource_identity_schemas::Response> {
        // No resource type has an identity. Terraform 1.12+ calls this after
        // every GetProviderSchema; an empty map is what it expects then.
        Ok(Response::new(
            proto::get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<proto::upgrade_resource_identity::Request>,
    ) -> RpcResult<proto::upgrade_resource_identity::Response> {
        // Terraform calls this only when stored identity data has another
        // version than the identity schema; we declare none, so this is
        // state from a provider that was not this one.
        let req = req.into_inner();
        let diagnostics = match self.resource(&req.type_name) {
            Err(d) => d,
            Ok(_) => Diagnostic::error(
                "Resource identity not supported",
                format!(
                    "{} has no resource identity, but the state holds identity data of version {}. \
                     Was it written by another provider?",
                    req.type_name, req.version
                ),
            )
            .into(),
        };
        Ok(Response::new(proto::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: diagnostics_to_proto(diagnostics),
        }))
    }

    async fn stop_provider(
        &self,
        _req: Request<proto::stop_provider::Request>,
    ) -> RpcResult<proto::stop_provider::Response> {
        let old = std::mem::take(&mut *self.stop.lock().expect("stop token lock"));
        old.cancel();
        tracing::info!(target: "irsa::plugin", "StopProvider: cancelled work in flight");
        Ok(Response::new(proto::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn capabilities() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        plan_destroy: false,
        // Every schema is built when the service is made, and no handler
        // depends on GetProviderSchema having been called, so Terraform may
        // reuse the schema it cached from another process of this provider.
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

pub struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl go_plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _req: Request<go_plugin::Empty>) -> RpcResult<go_plugin::Empty> {
        // Answer first, then stop serving: notify_one keeps the permit if the
        // server loop is not waiting yet.
        self.shutdown.notify_one();
        Ok(Response::new(go_plugin::Empty {}))
    }
}

pub struct Stdio;

type Pending<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl go_plugin::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Pending<go_plugin::StdioData>;
    async fn stream_stdio(
        &self,
        _req: Request<go_plugin::Empty>,
    ) -> RpcResult<Self::StreamStdioStream> {
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

pub struct Broker;

#[tonic::async_trait]
impl go_plugin::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Pending<go_plugin::ConnInfo>;
    async fn start_stream(
        &self,
        req: Request<tonic::Streaming<go_plugin::ConnInfo>>,
    ) -> RpcResult<Self::StartStreamStream> {
        // We broker nothing; drain what the host sends until it hangs up.
        let mut incoming = req.into_inner();
        tokio::spawn(async move { while let Ok(Some(_)) = incoming.message().await {} });
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{ApplyResponse, ImportResponse, PlanResponse, ReadResponse};
    use crate::{Attribute, Block};
    use proto::provider_server::Provider as _;

    #[test]
    fn nested_attributes_go_out_as_nested_type_without_a_type() {
        let member = Attribute::required("key", Type::String, "");
        let mut a = Attribute::optional("rules", Type::list(Type::Object(Default::default())), "");
        a.nested = Some(crate::NestedAttributes {
            nesting: crate::schema::Nesting::List,
            attributes: vec![member],
        });
        let p = attribute_to_proto(&a);
        assert!(
            p.r#type.is_empty(),
            "Terraform refuses both a type and a nested type"
        );
        let n = p.nested_type.expect("nested_type");
        assert_eq!(n.nesting, proto::schema::object::NestingMode::List as i32);
        assert_eq!(n.attributes.len(), 1);
        assert!(n.attributes[0].required);
        assert_eq!(n.attributes[0].r#type, b"\"string\"".to_vec());
    }

    /// Version 1 of a toy resource: `size` became a number; version 0 had
    /// `size_text` as a string.
    struct Toy;

    fn toy_schema() -> Schema {
        Schema {
            version: 1,
            block: Block::new("toy")
                .attribute(Attribute::required("name", Type::String, ""))
                .attribute(Attribute::optional("size", Type::Number, "")),
        }
    }

    #[async_trait::async_trait]
    impl framework::Resource for Toy {
        fn type_name(&self) -> &'static str {
            "toy_thing"
        }
        fn schema(&self) -> Schema {
            toy_schema()
        }
        fn upgrade_state_with_warnings(
            &self,
            raw: RawState,
        ) -> Result<(Value, Diagnostics), Diagnostics> {
            let v = self.upgrade_state(raw)?;
            let mut warnings = Diagnostics::default();
            if v.attr("size").is_null() {
                warnings.warning_at(
                    AttrPath::root("size"),
                    "Size not carried over",
                    "size_text was not a number",
                );
            }
            Ok((v, warnings))
        }
        fn upgrade_state(&self, raw: RawState) -> Result<Value, Diagnostics> {
            assert_eq!(raw.version, 0);
            let old: serde_json::Value =
                serde_json::from_slice(raw.json.as_deref().unwrap_or(b"{}")).unwrap();
            let size = old["size_text"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok());
            Ok(Value::object([
                (
                    "name",
                    Value::string(old["name"].as_str().unwrap_or_default()),
                ),
                ("size", size.map(Value::number).unwrap_or(Value::Null)),
            ]))
        }
        async fn read(&self, _ctx: &Ctx, _req: ReadRequest) -> ReadResponse {
            panic!("read exploded")
        }
        async fn plan(&self, _ctx: &Ctx, req: PlanRequest) -> PlanResponse {
            PlanResponse {
                planned_state: req.proposed_new_state,
                ..Default::default()
            }
        }
        async fn apply(&self, _ctx: &Ctx, _req: ApplyRequest) -> ApplyResponse {
            panic!("apply exploded")
        }
        async fn import(&self, _ctx: &Ctx, id: String) -> ImportResponse {
            ImportResponse {
                state: Value::object([("name", Value::string(id)), ("size", Value::Null)]),
                private: vec![],
                diagnostics: Diagnostics::default(),
            }
        }
    }

    struct ToyProvider;

    #[async_trait::async_trait]
    impl framework::Provider for ToyProvider {
        fn type_name(&self) -> &'static str {
            "toy"
        }
        fn schema(&self) -> Schema {
            Schema::default()
        }
        fn resources(&self) -> Vec<Arc<dyn framework::Resource>> {
            vec![Arc::new(Toy)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn framework::DataSource>> {
            vec![]
        }
        async fn configure(&self, _ctx: &Ctx, _req: ConfigureRequest) -> Diagnostics {
            Diagnostics::default()
        }
    }

    fn service() -> ProviderService {
        ProviderService::new(Arc::new(ToyProvider))
    }

    async fn upgrade(version: i64, json: &str) -> proto::upgrade_resource_state::Response {
        service()
            .upgrade_resource_state(Request::new(proto::upgrade_resource_state::Request {
                type_name: "toy_thing".into(),
                version,
                raw_state: Some(proto::RawState {
                    json: json.as_bytes().to_vec(),
                    flatmap: Default::default(),
                }),
            }))
            .await
            .unwrap()
            .into_inner()
    }

    fn decoded(v: &Option<proto::DynamicValue>) -> Value {
        msgpack::decode(
            &toy_schema().block.value_type(),
            &v.as_ref().unwrap().msgpack,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn current_state_version_is_decoded_as_is() {
        let r = upgrade(1, r#"{"name":"a","size":3}"#).await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert_eq!(
            decoded(&r.upgraded_state).attr("size"),
            &Value::number(3i64)
        );
    }

    #[tokio::test]
    async fn older_state_goes_through_the_resource_upgrader() {
        let r = upgrade(0, r#"{"name":"a","size_text":"42"}"#).await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        let v = decoded(&r.upgraded_state);
        assert_eq!(v.attr("name"), &Value::string("a"));
        assert_eq!(v.attr("size"), &Value::number(42i64));
    }

    #[tokio::test]
    async fn upgrade_warnings_reach_terraform_next_to_the_upgraded_state() {
        let r = upgrade(0, r#"{"name":"a","size_text":"big"}"#).await;
        assert_eq!(r.diagnostics.len(), 1, "{:?}", r.diagnostics);
        assert_eq!(
            r.diagnostics[0].severity,
            proto::diagnostic::Severity::Warning as i32
        );
        assert_eq!(decoded(&r.upgraded_state).attr("name"), &Value::string("a"));
    }

    #[tokio::test]
    async fn state_json_keeps_digits_f64_would_lose() {
        let r = upgrade(
            1,
            r#"{"name":"a","size":123456789012345678901234567890.000000000000000000001}"#,
        )
        .await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert_eq!(
            decoded(&r.upgraded_state)
                .attr("size")
                .as_number()
                .unwrap()
                .as_str(),
            "123456789012345678901234567890.000000000000000000001"
        );
    }

    #[tokio::test]
    async fn identity_schemas_are_empty_and_an_identity_upgrade_is_a_clear_error() {
        let svc = service();
        let r = svc
            .get_resource_identity_schemas(Request::new(
                proto::get_resource_identity_schemas::Request {},
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(r.identity_schemas.is_empty() && r.diagnostics.is_empty());
        let r = svc
            .upgrade_resource_identity(Request::new(proto::upgrade_resource_identity::Request {
                type_name: "toy_thing".into(),
                version: 2,
                raw_identity: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(r.upgraded_identity.is_none());
        assert_eq!(r.diagnostics.len(), 1);
        assert!(r.diagnostics[0].detail.contains("version 2"));
    }

    #[test]
    fn routine_refusals_are_told_apart_from_bad_certificates() {
        use std::io::{Error, ErrorKind};
        assert!(refusal_is_routine(&Error::new(
            ErrorKind::UnexpectedEof,
            "tls handshake eof"
        )));
        assert!(refusal_is_routine(&Error::from(ErrorKind::BrokenPipe)));
        assert!(refusal_is_routine(&Error::from(ErrorKind::ConnectionReset)));
        // What tokio-rustls gives for a certificate we do not pin.
        let bad_cert = Error::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(!refusal_is_routine(&bad_cert));
        let no_cert = Error::new(
            ErrorKind::InvalidData,
            rustls::Error::NoCertificatesPresented,
        );
        assert!(!refusal_is_routine(&no_cert));
    }

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

    #[tokio::test]
    async fn newer_state_is_refused_with_a_clear_error() {
        let r = upgrade(7, r#"{"name":"a"}"#).await;
        assert_eq!(r.diagnostics.len(), 1);
        assert!(
            r.diagnostics[0].detail.contains("version 7"),
            "{:?}",
            r.diagnostics
        );
        assert!(r.upgraded_state.is_none());
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_error_diagnostic() {
        let svc = service();
        let state = proto::DynamicValue {
            msgpack: msgpack::encode(
                &toy_schema().block.value_type(),
                &Value::object([("name", Value::string("a")), ("size", Value::Null)]),
            ),
            json: vec![],
        };
        let r = svc
            .read_resource(Request::new(proto::read_resource::Request {
                type_name: "toy_thing".into(),
                current_state: Some(state.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.diagnostics.len(), 1);
        assert!(r.diagnostics[0].detail.contains("read exploded"));

        // A panic during apply keeps the prior state, so Terraform does not forget the object.
        let r = svc
            .apply_resource_change(Request::new(proto::apply_resource_change::Request {
                type_name: "toy_thing".into(),
                prior_state: Some(state.clone()),
                planned_state: Some(state.clone()),
                config: Some(state.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(r.diagnostics[0].detail.contains("apply exploded"));
        assert_eq!(r.new_state.unwrap().msgpack, state.msgpack);
    }

    #[tokio::test]
    async fn import_returns_the_resource_state() {
        let r = service()
            .import_resource_state(Request::new(proto::import_resource_state::Request {
                type_name: "toy_thing".into(),
                id: "x".into(),
                client_capabilities: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.imported_resources.len(), 1);
        assert_eq!(
            decoded(&r.imported_resources[0].state).attr("name"),
            &Value::string("x")
        );
    }

    #[tokio::test]
    async fn stop_cancels_contexts_handed_out_before_it_but_not_after() {
        let svc = service();
        let before = svc.ctx();
        svc.stop_provider(Request::new(proto::stop_provider::Request {}))
            .await
            .unwrap();
        assert!(before.is_stopped());
        assert!(!svc.ctx().is_stopped());
        assert_eq!(
            before.run(std::future::pending::<()>()).await,
            Err(framework::Interrupted::Stopped)
        );
    }
}
