//! The sandbox's HTTPS edge: what CloudFront is for a real issuer. It
//! serves the objects of a moto bucket under the issuer's host name (read
//! with the S3 API, as CloudFront's origin access control does), over TLS
//! with a certificate chain from a sandbox CA (root -> intermediate ->
//! leaf, the server sending leaf + intermediate as CloudFront does).
//!
//! The provider reaches it only through what a real user has:
//! - an HTTP CONNECT proxy on loopback ([`Edge::proxy_url`]) that tunnels
//!   `<issuer host>:443` to the edge and refuses everything else, named by
//!   `HTTPS_PROXY` (with `NO_PROXY` for the loopback services);
//! - `SSL_CERT_FILE` naming the sandbox root CA ([`Edge::ca_file`]).
//!
//! [`Edge::env`] gives those three variables. Knobs for tests:
//! [`Edge::set_delay`] (a slow origin), [`Edge::fail`] (403/404 for a
//! path), [`Edge::replace_body`] (e.g. a non-JSON page), [`Edge::freeze`]
//! (a stale cache: keep serving the copies fetched so far while the bucket
//! changes), and [`Edge::requests`] / [`Edge::proxy_log`] to see that the
//! traffic went this way.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One object as the edge serves it.
#[derive(Clone, Debug)]
struct Object {
    status: u16,
    content_type: String,
    cache_control: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Knobs {
    delay: Duration,
    fail: BTreeMap<String, u16>,
    replace: BTreeMap<String, (String, Vec<u8>)>,
    frozen: bool,
}

struct State {
    /// Host name -> bucket.
    routes: Mutex<BTreeMap<String, String>>,
    knobs: Mutex<Knobs>,
    /// (host, path) -> the copy last fetched from the origin.
    cache: Mutex<BTreeMap<(String, String), Object>>,
    requests: Mutex<Vec<String>>,
    proxy_log: Mutex<Vec<String>>,
    s3: aws_sdk_s3::Client,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sandbox CA: a self-signed root and an intermediate it signed, which
/// signs the edge's leaf certificates.
struct Ca {
    root_pem: String,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn generate() -> anyhow::Result<Ca> {
        let now = time::OffsetDateTime::now_utc();
        let ca_params = |cn: &str| -> anyhow::Result<CertificateParams> {
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.distinguished_name.push(DnType::CommonName, cn);
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            p.not_before = now - time::Duration::hours(1);
            p.not_after = now + time::Duration::days(30);
            Ok(p)
        };
        let root =
            CertifiedIssuer::self_signed(ca_params("IRSA sandbox root CA")?, KeyPair::generate()?)?;
        let mut ip = ca_params("IRSA sandbox intermediate CA")?;
        ip.use_authority_key_identifier_extension = true;
        let intermediate = CertifiedIssuer::signed_by(ip, KeyPair::generate()?, &root)?;
        Ok(Ca {
            root_pem: root.pem(),
            intermediate,
        })
    }

    fn leaf(&self, host: &str) -> anyhow::Result<Arc<CertifiedKey>> {
        let now = time::OffsetDateTime::now_utc();
        let mut p = CertificateParams::new(vec![host.to_string()])?;
        p.distinguished_name.push(DnType::CommonName, host);
        p.is_ca = IsCa::NoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = now - time::Duration::hours(1);
        p.not_after = now + time::Duration::days(30);
        p.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.intermediate)?;
        let chain: Vec<CertificateDer<'static>> =
            vec![cert.der().clone(), self.intermediate.der().clone()];
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der)
            .map_err(|e| anyhow::anyhow!("leaf key: {e}"))?;
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }
}

/// Leaf certificates made on demand for the routed host names.
struct Resolver {
    ca: Ca,
    state: Arc<State>,
    made: Mutex<BTreeMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("edge::Resolver")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let host = hello.server_name()?.to_string();
        // Like CloudFront: a certificate only for the distribution's aliases.
        if !lock(&self.state.routes).contains_key(&host) {
            return None;
        }
        let mut made = lock(&self.made);
        if let Some(k) = made.get(&host) {
            return Some(k.clone());
        }
        let k = self.ca.leaf(&host).ok()?;
        made.insert(host, k.clone());
        Some(k)
    }
}

/// A running edge and its CONNECT proxy; both stop on drop.
pub struct Edge {
    addr: SocketAddr,
    proxy_addr: SocketAddr,
    state: Arc<State>,
    intermediate_der: Vec<u8>,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Edge {
    /// An edge reading objects from moto at `moto_endpoint` (region
    /// `region`), with a fresh sandbox CA.
    pub async fn start(moto_endpoint: &str, region: &str) -> anyhow::Result<Edge> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let creds = aws_sdk_s3::config::Credentials::new(
            crate::sandbox::MOTO_ACCESS_KEY,
            crate::sandbox::MOTO_ACCESS_KEY,
            None,
            None,
            "sandbox-edge",
        );
        let s3_config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .endpoint_url(moto_endpoint)
            .credentials_provider(creds)
            .force_path_style(true)
            .build();
        let state = Arc::new(State {
            routes: Mutex::new(BTreeMap::new()),
            knobs: Mutex::new(Knobs::default()),
            cache: Mutex::new(BTreeMap::new()),
            requests: Mutex::new(Vec::new()),
            proxy_log: Mutex::new(Vec::new()),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
        });
        let ca = Ca::generate().context("generating the sandbox CA")?;
        let dir = tempfile::Builder::new().prefix("irsa-edge-").tempdir()?;
        let ca_file = dir.path().join("sandbox-ca.pem");
        std::fs::write(&ca_file, &ca.root_pem)?;
        let intermediate_der = ca.intermediate.der().to_vec();
        let resolver = Arc::new(Resolver {
            ca,
            state: state.clone(),
            made: Mutex::new(BTreeMap::new()),
        });
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let st = state.clone();
        let edge_task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let st = st.clone();
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let host = tls
                        .get_ref()
                        .1
                        .server_name()
                        .unwrap_or_default()
                        .to_string();
                    let svc = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let st = st.clone();
                            let host = host.clone();
                            async move {
                                Ok::<_, std::convert::Infallible>(serve(&st, &host, req).await)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });

        let proxy = TcpListener::bind("127.0.0.1:0").await?;
        let proxy_addr = proxy.local_addr()?;
        let st = state.clone();
        let proxy_task = tokio::spawn(async move {
            while let Ok((tcp, _)) = proxy.accept().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = tunnel(tcp, &st, addr).await;
                });
            }
        });
        Ok(Edge {
            addr,
            proxy_addr,
            state,
            intermediate_der,
            _dir: dir,
            ca_file,
            tasks: vec![edge_task, proxy_task],
        })
    }

    /// Serve `bucket` under `https://<host>/`.
    pub fn route(&self, host: &str, bucket: &str) {
        lock(&self.state.routes).insert(host.to_string(), bucket.to_string());
    }

    /// Write the two issuer documents into `bucket` (created if needed),
    /// with the content types and cache header irsa_oidc_issuer uses: what
    /// a publisher other than this provider would do.
    pub async fn publish(
        &self,
        bucket: &str,
        region: &str,
        discovery: &str,
        jwks: &str,
    ) -> anyhow::Result<()> {
        let s3 = &self.state.s3;
        if s3.head_bucket().bucket(bucket).send().await.is_err() {
            let mut create = s3.create_bucket().bucket(bucket);
            if region != "us-east-1" {
                create = create.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            region,
                        ))
                        .build(),
                );
            }
            create.send().await.context("creating the bucket")?;
        }
        for (key, body, ct) in [
            (
                ".well-known/openid-configuration",
                discovery,
                "application/json",
            ),
            ("openid/v1/jwks", jwks, "application/jwk-set+json"),
        ] {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .content_type(ct)
                .cache_control("public, max-age=3600")
                .body(aws_sdk_s3::primitives::ByteStream::from(
                    body.as_bytes().to_vec(),
                ))
                .send()
                .await
                .with_context(|| format!("putting {key}"))?;
        }
        Ok(())
    }

    /// `http://127.0.0.1:<port>`: the CONNECT proxy.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy_addr)
    }

    /// The edge's own address (tests reach it only through the proxy).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A PEM file holding the sandbox root CA.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// SHA-1 (hex) of the intermediate CA certificate: the top of the chain
    /// the edge sends, i.e. the thumbprint IAM would be given.
    pub fn expected_thumbprint(&self) -> String {
        let d = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &self.intermediate_der,
        );
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `HTTPS_PROXY`, `NO_PROXY` (loopback, so moto and the fake API server
    /// are reached directly) and `SSL_CERT_FILE`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("HTTPS_PROXY".into(), self.proxy_url()),
            ("NO_PROXY".into(), "127.0.0.1,localhost,::1".into()),
            ("SSL_CERT_FILE".into(), self.ca_file.display().to_string()),
        ]
    }

    /// Delay every answer by `d` (0 to stop).
    pub fn set_delay(&self, d: Duration) {
        lock(&self.state.knobs).delay = d;
    }

    /// Answer `path` (e.g. `/openid/v1/jwks`) with `status` and an S3-style
    /// error body.
    pub fn fail(&self, path: &str, status: u16) {
        lock(&self.state.knobs)
            .fail
            .insert(path.to_string(), status);
    }

    /// Answer `path` with 200 and this body instead of the object.
    pub fn replace_body(&self, path: &str, content_type: &str, body: &[u8]) {
        lock(&self.state.knobs)
            .replace
            .insert(path.to_string(), (content_type.to_string(), body.to_vec()));
    }

    /// Keep serving the copies fetched so far, whatever the bucket holds
    /// now (a CDN cache that was not invalidated).
    pub fn freeze(&self) {
        lock(&self.state.knobs).frozen = true;
    }

    /// Every knob back to normal (the cache too).
    pub fn reset(&self) {
        *lock(&self.state.knobs) = Knobs::default();
        lock(&self.state.cache).clear();
    }

    /// `host path -> status` of every request the edge answered.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state.requests).clone()
    }

    /// `CONNECT target -> verdict` of every tunnel asked for.
    pub fn proxy_log(&self) -> Vec<String> {
        lock(&self.state.proxy_log).clone()
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn respond(o: &Object) -> http::Response<Full<Bytes>> {
    let mut b = http::Response::builder()
        .status(o.status)
        .header(http::header::CONTENT_TYPE, &o.content_type)
        .header("x-cache", "sandbox-edge");
    if let Some(cc) = &o.cache_control {
        b = b.header(http::header::CACHE_CONTROL, cc);
    }
    b.body(Full::new(Bytes::from(o.body.clone())))
        .expect("valid response")
}

fn error_object(status: u16, code: &str) -> Object {
    Object {
        status,
        content_type: "application/xml".into(),
        cache_control: None,
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>").into_bytes(),
    }
}

async fn origin(st: &State, bucket: &str, path: &str) -> Object {
    let key = path.trim_start_matches('/');
    match st.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => {
            let content_type = o
                .content_type()
                .unwrap_or("binary/octet-stream")
                .to_string();
            let cache_control = o.cache_control().map(str::to_string);
            match o.body.collect().await {
                Ok(b) => Object {
                    status: 200,
                    content_type,
                    cache_control,
                    body: b.into_bytes().to_vec(),
                },
                Err(_) => error_object(502, "OriginReadError"),
            }
        }
        Err(e) => {
            let code = e
                .as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
                .unwrap_or("OriginError")
                .to_string();
            // With origin access control and no s3:ListBucket, S3 answers a
            // missing key with 403; CloudFront passes it on.
            let status = if code == "NoSuchKey" { 404 } else { 502 };
            error_object(status, &code)
        }
    }
}

async fn serve(
    st: &State,
    host: &str,
    req: http::Request<hyper::body::Incoming>,
) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let (delay, fail, replace, frozen) = {
        let k = lock(&st.knobs);
        (
            k.delay,
            k.fail.get(&path).copied(),
            k.replace.get(&path).cloned(),
            k.frozen,
        )
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let bucket = lock(&st.routes).get(host).cloned();
    let object = if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        error_object(405, "MethodNotAllowed")
    } else if let Some(status) = fail {
        error_object(
            status,
            if status == 403 {
                "AccessDenied"
            } else {
                "NoSuchKey"
            },
        )
    } else if let Some((ct, body)) = replace {
        Object {
            status: 200,
            content_type: ct,
            cache_control: None,
            body,
        }
    } else if let Some(bucket) = bucket {
        let cached = if frozen {
            lock(&st.cache)
                .get(&(host.to_string(), path.clone()))
                .cloned()
        } else {
            None
        };
        match cached {
            Some(o) => o,
            None => {
                let o = origin(st, &bucket, &path).await;
                if o.status == 200 {
                    lock(&st.cache).insert((host.to_string(), path.clone()), o.clone());
                }
                o
            }
        }
    } else {
        error_object(421, "MisdirectedRequest")
    };
    lock(&st.requests).push(format!("{host} {path} -> {}", object.status));
    respond(&object)
}

/// One CONNECT proxy connection: tunnel routed hosts on 443 to the edge.
async fn tunnel(mut client: TcpStream, st: &State, edge: SocketAddr) -> anyhow::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut words = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default(),
    );
    if method != "CONNECT" {
        lock(&st.proxy_log).push(format!("{method} {target} -> 405"));
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    let (host, port) = target.rsplit_once(':').unwrap_or((target, "443"));
    let routed = port == "443" && lock(&st.routes).contains_key(host);
    if !routed {
        // The sandbox has no internet: only the issuer hosts exist.
        lock(&st.proxy_log).push(format!("CONNECT {target} -> 403"));
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    let mut upstream = TcpStream::connect(edge).await?;
    lock(&st.proxy_log).push(format!("CONNECT {target} -> 200"));
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}
