//! The local sandbox for tests: a real `moto_server` (AWS) and the in-process
//! fake Kubernetes API server, both on 127.0.0.1.
//!
//! * [`Moto`]: spawns the venv's own `moto_server` (installed by
//!   `scripts/setup`, pinned version) on a free port, waits until it answers,
//!   [`Moto::reset`]s state; killed on drop.
//! * [`Sandbox`]: [`Moto`] (optional) + [`FakeApiServer`] + a temp dir with a
//!   kubeconfig; [`Sandbox::env`] gives the variables `scripts/sandbox`
//!   writes to `.sandbox/env` that configure the provider (checked by
//!   running the script in tests/acceptance/tests/acceptance/sandbox_scripts.rs).
//! * [`repo_script`], [`source_env_file`]: run the repository's scripts and
//!   read what they write, for the tests of scripts/sandbox and
//!   scripts/quickstart.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::fake_apiserver::{FakeApiServer, FakeApiServerConfig};

/// Access key / secret used with moto (any value works).
pub const MOTO_ACCESS_KEY: &str = "test";
pub const MOTO_REGION: &str = "us-east-1";
/// Where AWS calls go when a sandbox runs without moto: a closed local port,
/// so nothing can ever reach real AWS from a test.
pub const NO_AWS_ENDPOINT: &str = "http://127.0.0.1:9";

// ---------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------

/// Path of the venv's `moto_server`: `$IRSA_TOOLS_DIR/venv/bin/moto_server`
/// or `<workspace>/.tools/venv/bin/moto_server`. Its presence shows moto is
/// installed; the server itself is started through [`moto_launcher`].
pub fn moto_server_path() -> PathBuf {
    crate::harness::tools_dir()
        .join("venv")
        .join("bin")
        .join("moto_server")
}

/// The venv's Python and `tests/acceptance/sandbox/moto_server.py`, which applies our
/// patches (where moto differs from real AWS) before starting moto's server.
pub fn moto_launcher() -> (PathBuf, PathBuf) {
    let python = crate::harness::tools_dir()
        .join("venv")
        .join("bin")
        .join("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sandbox")
        .join("moto_server.py");
    (python, script)
}

/// Options for [`Moto::start_with`].
#[derive(Clone, Debug, Default)]
pub struct MotoConfig {
    /// `MOTO_ACM_VALIDATION_WAIT`: seconds before a requested ACM certificate
    /// turns from PENDING_VALIDATION to ISSUED (moto's default is 60; ours 0,
    /// i.e. ISSUED at the first describe after the request).
    pub acm_validation_wait_secs: u32,
    /// More environment for the server process.
    pub extra_env: Vec<(String, String)>,
}

/// A running `moto_server`, killed on drop.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub port: u16,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Start with defaults; panics with instructions when it cannot.
    pub async fn start() -> Moto {
        match Self::start_with(MotoConfig::default()).await {
            Ok(m) => m,
            Err(e) => panic!("{e:#}"),
        }
    }

    /// Start with defaults.
    pub async fn try_start() -> anyhow::Result<Moto> {
        Self::start_with(MotoConfig::default()).await
    }

    /// Start on a free port (retried if the port is taken meanwhile) and wait
    /// until the server answers HTTP.
    pub async fn start_with(config: MotoConfig) -> anyhow::Result<Moto> {
        let bin = moto_server_path();
        if !bin.is_file() {
            bail!(
                "{} not found: run scripts/setup (it installs moto[server] into .tools/venv), \
                 or set IRSA_TOOLS_DIR",
                bin.display()
            );
        }
        let mut last_err = None;
        for _attempt in 0..3 {
            match Self::spawn_once(&config).await {
                Ok(m) => return Ok(m),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap())
    }

    async fn spawn_once(config: &MotoConfig) -> anyhow::Result<Moto> {
        let port = free_port()?;
        let dir = tempfile::Builder::new().prefix("irsa-moto-").tempdir()?;
        let log_path = dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path)?;
        let (python, script) = moto_launcher();
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env(
                "MOTO_ACM_VALIDATION_WAIT",
                config.acm_validation_wait_secs.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, v) in &config.extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", script.display()))?;
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log_path,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = moto.child.try_wait()? {
                bail!(
                    "moto_server exited ({status}) before answering:\n{}",
                    moto.log()
                );
            }
            // Any HTTP answer means something is serving on the port; it
            // must be our child (the port was only probed free, so another
            // server may have taken it meanwhile: then retry elsewhere).
            if http_request(&moto.endpoint, "GET", "/moto-api/data.json", None)
                .await
                .is_ok()
            {
                return match listener_owned_by(moto.child.id(), port) {
                    Some(false) => bail!(
                        "port {port} answers, but not from our moto_server (pid {}): \
                         another process took the port",
                        moto.child.id()
                    ),
                    // Ours, or no /proc to tell: the child is alive and answering.
                    Some(true) | None => Ok(moto),
                };
            }
            if Instant::now() > deadline {
                bail!("moto_server did not answer within 30 s:\n{}", moto.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `POST /moto-api/reset`: clears all state.
    pub async fn reset(&self) -> anyhow::Result<()> {
        let (status, body) = http_request(&self.endpoint, "POST", "/moto-api/reset", None).await?;
        if !(200..300).contains(&status) {
            bail!(
                "moto reset: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `AWS_*` variables pointing an SDK at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        aws_env(&self.endpoint)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", MOTO_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", MOTO_ACCESS_KEY),
        ("AWS_REGION", MOTO_REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Whether the socket listening on 127.0.0.1:`port` belongs to process
/// `pid` or one of its children (Linux: `/proc/net/tcp` inodes against the
/// processes' fds). `None` when `/proc` cannot tell.
fn listener_owned_by(pid: u32, port: u16) -> Option<bool> {
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let wanted = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = tcp
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // local_address, st (0A = LISTEN), inode
            (f.len() > 9 && f[1] == wanted && f[3] == "0A").then(|| f[9].to_string())
        })
        .collect();
    if inodes.is_empty() {
        return Some(false);
    }
    let mut pids = vec![pid];
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(t.path().join("children")) {
                pids.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    for p in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{p}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy();
                if inodes
                    .iter()
                    .any(|i| target == format!("socket:[{i}]").as_str())
                {
                    return Some(true);
                }
            }
        }
    }
    Some(false)
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

// ---------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------

/// Options for [`Sandbox::start_with`].
#[derive(Default)]
pub struct SandboxConfig {
    /// Start moto too (`None`: no moto; AWS calls go to a closed port).
    pub moto: Option<MotoConfig>,
    pub apiserver: FakeApiServerConfig,
}

impl SandboxConfig {
    /// Only the fake API server (no moto).
    pub fn kube_only() -> Self {
        SandboxConfig {
            moto: None,
            apiserver: FakeApiServerConfig::default(),
        }
    }

    /// moto and the fake API server with default settings.
    pub fn full() -> Self {
        SandboxConfig {
            moto: Some(MotoConfig::default()),
            apiserver: FakeApiServerConfig::default(),
        }
    }
}

/// moto + fake API server + a temp dir holding `kubeconfig` and `ca.pem`.
pub struct Sandbox {
    pub moto: Option<Moto>,
    pub apiserver: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    ca_pem_path: PathBuf,
}

impl Sandbox {
    /// moto + fake API server with defaults; panics when it cannot start.
    pub async fn start() -> Sandbox {
        Self::start_with(SandboxConfig::full()).await
    }

    /// Only the fake API server (for tests that need no AWS); panics when it
    /// cannot start.
    pub async fn start_kube_only() -> Sandbox {
        Self::start_with(SandboxConfig::kube_only()).await
    }

    /// Panics when it cannot start.
    pub async fn start_with(config: SandboxConfig) -> Sandbox {
        match Self::try_start_with(config).await {
            Ok(s) => s,
            Err(e) => panic!("sandbox did not start: {e:#}"),
        }
    }

    pub async fn try_start_with(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let moto = match config.moto {
            Some(mc) => Some(Moto::start_with(mc).await?),
            None => None,
        };
        let apiserver = FakeApiServer::start(config.apiserver)
            .await
            .context("starting the fake API server")?;
        let dir = tempfile::Builder::new().prefix("irsa-sandbox-").tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        apiserver.write_kubeconfig(&kubeconfig)?;
        let ca_pem_path = dir.path().join("ca.pem");
        std::fs::write(&ca_pem_path, apiserver.ca_pem())?;
        Ok(Sandbox {
            moto,
            apiserver,
            dir,
            kubeconfig,
            ca_pem_path,
        })
    }

    /// The temp dir holding `kubeconfig` and `ca.pem`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's CA certificate (PEM) as a file.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// `https://127.0.0.1:<port>` of the fake API server.
    pub fn k8s_url(&self) -> String {
        self.apiserver.url()
    }

    /// The bearer token the fake API server accepts.
    pub fn k8s_token(&self) -> String {
        self.apiserver.token()
    }

    pub fn ca_pem(&self) -> String {
        self.apiserver.ca_pem()
    }

    /// The variables of `.sandbox/env`: `KUBE_CONFIG_PATH`, `AWS_ENDPOINT_URL`
    /// (moto, or a closed local port without moto), `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_EC2_METADATA_DISABLED`,
    /// `IRSA_SANDBOX_K8S_URL`, `IRSA_SANDBOX_K8S_TOKEN`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "KUBE_CONFIG_PATH".to_string(),
            self.kubeconfig.display().to_string(),
        )];
        env.extend(aws_env(
            self.moto
                .as_ref()
                .map(|m| m.endpoint.as_str())
                .unwrap_or(NO_AWS_ENDPOINT),
        ));
        env.push(("IRSA_SANDBOX_K8S_URL".to_string(), self.k8s_url()));
        env.push(("IRSA_SANDBOX_K8S_TOKEN".to_string(), self.k8s_token()));
        env
    }

    /// Create the service account `namespace/name` in the fake cluster (a
    /// token is minted for an existing one only, as TokenRequest does);
    /// panics unless the API server answers 201.
    pub async fn create_service_account(&self, namespace: &str, name: &str) {
        let body = serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
                                      "metadata": {"name": name, "namespace": namespace}});
        let r = self
            .apiserver
            .request(
                "POST",
                &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
                Some("application/json"),
                body.to_string().as_bytes(),
            )
            .await
            .unwrap_or_else(|e| panic!("creating the service account {namespace}/{name}: {e:#}"));
        assert_eq!(
            r.status,
            201,
            "creating the service account {namespace}/{name}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    /// `.sandbox/env`-style shell lines for [`env`](Self::env).
    pub fn env_shell(&self) -> String {
        self.env()
            .into_iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
            .collect()
    }

    /// GET a path from the fake API server over HTTPS, as a client would
    /// (its CA, bearer `token`, or the sandbox token when `None`).
    /// Returns the status and body.
    pub async fn k8s_get(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Vec<u8>)> {
        let token = token
            .map(str::to_string)
            .unwrap_or_else(|| self.k8s_token());
        https_get(&self.k8s_url(), &self.ca_pem(), path, Some(&token)).await
    }

    /// GET a path that must answer 200 with JSON.
    pub async fn k8s_get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = self.k8s_get(path, None).await?;
        if status != 200 {
            bail!(
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// The JWKS the cluster serves (`GET /openid/v1/jwks`).
    pub async fn served_jwks(&self) -> anyhow::Result<serde_json::Value> {
        self.k8s_get_json("/openid/v1/jwks").await
    }

    /// The discovery document the cluster serves
    /// (`GET /.well-known/openid-configuration`).
    pub async fn served_discovery(&self) -> anyhow::Result<serde_json::Value> {
        self.k8s_get_json("/.well-known/openid-configuration").await
    }
}

// ---------------------------------------------------------------------------
// Stub API server: canned answers, for error paths the fake cannot produce.
// ---------------------------------------------------------------------------

/// What a [`StubApiServer`] answers: status and JSON body for a method and path.
pub type StubHandler = dyn Fn(&http::Method, &str) -> (u16, serde_json::Value) + Send + Sync;

/// One raw answer of a [`StubApiServer`] started with
/// [`StubApiServer::start_raw`]: any body, e.g. malformed JSON.
#[derive(Clone, Debug)]
pub struct StubResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl StubResponse {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> StubResponse {
        StubResponse::bytes(status, "application/json", body.to_string())
    }

    /// `status` with `body` as it is.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> StubResponse {
        StubResponse {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }
}

type RawStubHandler = dyn Fn(&http::Method, &str) -> StubResponse + Send + Sync;

/// A tiny HTTPS server on 127.0.0.1 with its own CA that answers every
/// request from a handler, and records `METHOD path` of each request. For
/// error paths the fake API server does not model (e.g. a user without the
/// `system:service-account-issuer-discovery` binding: the fake's
/// `forbidden_token` may read the OIDC endpoints, as service accounts may in
/// a real cluster). Stops on drop.
pub struct StubApiServer {
    url: String,
    ca_pem: String,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StubApiServer {
    pub async fn start(
        handler: impl Fn(&http::Method, &str) -> (u16, serde_json::Value) + Send + Sync + 'static,
    ) -> anyhow::Result<StubApiServer> {
        let handler: Arc<StubHandler> = Arc::new(handler);
        Self::start_raw(move |method, path| {
            let (status, body) = handler(method, path);
            StubResponse::json(status, &body)
        })
        .await
    }

    /// Like [`start`](Self::start), with answers of any content type and body.
    pub async fn start_raw(
        handler: impl Fn(&http::Method, &str) -> StubResponse + Send + Sync + 'static,
    ) -> anyhow::Result<StubApiServer> {
        use hyper::service::service_fn;

        let (ca_pem, server_config) = stub_tls()?;
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", listener.local_addr()?);
        let handler: Arc<RawStubHandler> = Arc::new(handler);
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let handler = handler.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let path = req.uri().path().to_string();
                        log.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("{} {path}", req.method()));
                        let answer = handler(req.method(), &path);
                        let resp = http::Response::builder()
                            .status(answer.status)
                            .header(http::header::CONTENT_TYPE, answer.content_type)
                            .body(Full::new(Bytes::from(answer.body)))
                            .expect("valid response");
                        async move { Ok::<_, std::convert::Infallible>(resp) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Ok(StubApiServer {
            url,
            ca_pem,
            requests,
            task,
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The CA of its serving certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// `METHOD path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for StubApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A Kubernetes `Status` failure body, as the API server sends it.
pub fn k8s_status(code: u16, reason: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {},
        "code": code,
    })
}

/// What RBAC answers a user without a grant for `GET <path>` on a
/// non-resource URL (real wording).
pub fn k8s_forbidden_path(user: &str, path: &str) -> (u16, serde_json::Value) {
    (
        403,
        k8s_status(
            403,
            "Forbidden",
            &format!("forbidden: User \"{user}\" cannot get path \"{path}\""),
        ),
    )
}

/// A CA and a 127.0.0.1 serving certificate signed by it; rustls server
/// config (aws-lc-rs, HTTP/1.1).
fn stub_tls() -> anyhow::Result<(String, Arc<rustls::ServerConfig>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
        KeyPair, KeyUsagePurpose,
    };
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let now = time::OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(30);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(30);
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;

    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca.pem(), Arc::new(config)))
}

// ---------------------------------------------------------------------------
// Minimal HTTP(S) client (hyper), enough for readiness checks and reads.
// ---------------------------------------------------------------------------

fn split_base(base: &str) -> anyhow::Result<(bool, String, u16)> {
    let uri: http::Uri = base.parse().with_context(|| format!("bad URL {base}"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => bail!("unsupported URL {base}"),
    };
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("no host in {base}"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((tls, host, port))
}

async fn send<S>(
    io: S,
    method: &str,
    authority: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json, */*");
    if let Some(t) = token {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req.body(Full::new(Bytes::new()))?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, body))
}

/// One plain-HTTP request to `base` (e.g. `http://127.0.0.1:5000`).
pub async fn http_request(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let (tls, host, port) = split_base(base)?;
    if tls {
        bail!("http_request is for http:// URLs");
    }
    let stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| anyhow!("connect to {base} timed out"))??;
    tokio::time::timeout(
        Duration::from_secs(30),
        send(stream, method, &format!("{host}:{port}"), path, token),
    )
    .await
    .map_err(|_| anyhow!("{method} {base}{path} timed out"))?
}

/// One HTTPS GET to `base`, trusting only the CA in `ca_pem`.
pub async fn https_get(
    base: &str,
    ca_pem: &str,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, ServerName};

    let (tls, host, port) = split_base(base)?;
    if !tls {
        return http_request(base, "GET", path, token).await;
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.context("parsing CA PEM")?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(host.clone())?;
    let fut = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let stream = connector.connect(server_name, tcp).await?;
        send(stream, "GET", &format!("{host}:{port}"), path, token).await
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| anyhow!("GET {base}{path} timed out"))?
}

// ---------------------------------------------------------------------------
// The repository's scripts (scripts/sandbox, scripts/quickstart)
// ---------------------------------------------------------------------------

/// `<workspace>/scripts/<name>` as a command with a clean environment: none
/// of the caller's `TF_*`, `AWS_*`, `KUBE*` or `IRSA_SANDBOX_*`, `HOME` left
/// as it is, stdin closed, killed on drop. `IRSA_FAKE_APISERVER_BIN` is set
/// to `fake_apiserver_bin` so that scripts/sandbox never builds one.
pub fn repo_script(name: &str, fake_apiserver_bin: &Path) -> tokio::process::Command {
    let path = crate::harness::workspace_root().join("scripts").join(name);
    let mut cmd = tokio::process::Command::new(path);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("TF_")
                || k.starts_with("AWS_")
                || k.starts_with("KUBE")
                || k.starts_with("IRSA_SANDBOX_")
                || k == "CHECKPOINT_DISABLE"
            {
                cmd.env_remove(k);
            }
        }
    }
    cmd.env("IRSA_FAKE_APISERVER_BIN", fake_apiserver_bin)
        .env("IRSA_TOOLS_DIR", crate::harness::tools_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// The variables a shell gets from sourcing `path` (e.g. `.sandbox/env`),
/// read by bash itself: `env -i bash -c '. FILE; env -0'` minus what bash
/// sets on its own.
pub fn source_env_file(path: &Path) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    fn env_of(
        script: &str,
        file: &Path,
    ) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        let out = Command::new("bash")
            .env_clear()
            .arg("-c")
            .arg(script)
            .arg("bash")
            .arg(file)
            .stdin(Stdio::null())
            .output()
            .context("running bash")?;
        if !out.status.success() {
            bail!(
                "bash -c {script:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|kv| !kv.is_empty())
            .filter_map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .filter(|(k, _)| k != "_")
            .collect())
    }
    let base = env_of("env -0", path)?;
    let sourced = env_of("set -e; . \"$1\"; env -0", path)?;
    Ok(sourced
        .into_iter()
        .filter(|(k, v)| base.get(k) != Some(v))
        .collect())
}

/// Whether process `pid` is still running (not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs scripts/setup (the venv's moto_server).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn moto_starts_resets_and_is_killed_on_drop() {
        let moto = Moto::start().await;
        assert!(moto.endpoint.starts_with("http://127.0.0.1:"));
        moto.reset().await.expect("reset");
        let (status, _) = http_request(&moto.endpoint, "GET", "/moto-api/data.json", None)
            .await
            .expect("GET data.json");
        assert_eq!(status, 200);
        let env = moto.env();
        assert!(env.contains(&("AWS_ENDPOINT_URL".to_string(), moto.endpoint.clone())));
        let pid = moto.child.id();
        drop(moto);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "moto_server {pid} still running after drop"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stub_api_server_answers_over_tls() {
        let stub = StubApiServer::start(|_, path| k8s_forbidden_path("jane", path))
            .await
            .unwrap();
        let (status, body) = https_get(&stub.url(), &stub.ca_pem(), "/openid/v1/jwks", Some("t"))
            .await
            .unwrap();
        assert_eq!(status, 403);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["reason"], "Forbidden");
        assert_eq!(
            body["message"],
            "forbidden: User \"jane\" cannot get path \"/openid/v1/jwks\""
        );
        assert_eq!(stub.requests(), vec!["GET /openid/v1/jwks".to_string()]);
    }

    /// The names and values of `Sandbox::env`. That scripts/sandbox writes
    /// the same (plus the quickstart's own) is checked by running it:
    /// tests/acceptance/tests/acceptance/sandbox_scripts.rs. Needs scripts/setup (the venv's moto_server).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sandbox_env_names_and_values() {
        let sandbox = Sandbox::start().await;
        let env: std::collections::BTreeMap<String, String> = sandbox.env().into_iter().collect();
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            vec![
                "AWS_ACCESS_KEY_ID",
                "AWS_EC2_METADATA_DISABLED",
                "AWS_ENDPOINT_URL",
                "AWS_REGION",
                "AWS_SECRET_ACCESS_KEY",
                "IRSA_SANDBOX_K8S_TOKEN",
                "IRSA_SANDBOX_K8S_URL",
                "KUBE_CONFIG_PATH",
            ]
        );
        assert_eq!(
            env["AWS_ENDPOINT_URL"],
            sandbox.moto.as_ref().unwrap().endpoint
        );
        assert!(Path::new(&env["KUBE_CONFIG_PATH"]).is_file());
        assert_eq!(env["IRSA_SANDBOX_K8S_URL"], sandbox.k8s_url());
        let jwks = sandbox.served_jwks().await.expect("JWKS");
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
        let (status, _) = sandbox
            .k8s_get("/openid/v1/jwks", Some("wrong"))
            .await
            .unwrap();
        assert_eq!(status, 401);
        assert!(sandbox.env_shell().contains("export KUBE_CONFIG_PATH='"));
    }

    /// The port-race guard tells our listener from another process's.
    #[test]
    fn listener_owner_is_checked() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(listener_owned_by(std::process::id(), port), Some(true));
        // pid 1 (init) does not hold our socket.
        assert_eq!(listener_owned_by(1, port), Some(false));
        drop(l);
        assert_eq!(listener_owned_by(std::process::id(), port), Some(false));
    }

    #[test]
    fn split_base_parses() {
        assert_eq!(
            split_base("https://127.0.0.1:6443").unwrap(),
            (true, "127.0.0.1".to_string(), 6443)
        );
        assert_eq!(
            split_base("http://localhost").unwrap(),
            (false, "localhost".to_string(), 80)
        );
    }
}
