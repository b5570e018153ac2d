//! HTTPS GETs made the way a user's machine makes them, for checks that
//! must see what the public sees (the issuer's documents): normal
//! certificate validation against the system roots plus `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`, the standard proxy environment (`HTTPS_PROXY` /
//! `https_proxy`, `ALL_PROXY`, `NO_PROXY` / `no_proxy`, read by
//! hyper-util's matcher, and never for a loopback host, as Go's clients do:
//! see [`crate::proxy`]; HTTP CONNECT tunnels), and the server's
//! certificate chain kept for the thumbprint IAM asks for.
//!
//! There is no switch to weaken validation: a certificate that does not
//! verify is an error saying why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::proxy::matcher::Intercept;
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::proxy::ProxyRules;

/// Bodies larger than this are refused (an issuer's documents are a few KiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
const USER_AGENT: &str = concat!("terraform-provider-irsa/", env!("CARGO_PKG_VERSION"));

/// What a GET returned.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// `Location`, for redirects.
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// From the start of the connection to the last byte of the body.
    pub elapsed: Duration,
    /// The certificates the server sent, leaf first.
    pub peer_chain: Vec<CertificateDer<'static>>,
    /// `host:port` of the proxy the request went through, if any.
    pub proxy: Option<String>,
}

/// Why a GET failed. Worded for a Terraform user; never holds credentials
/// (a proxy's user and password are not shown).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("\"{0}\" is not an https:// URL with a host")]
    InvalidUrl(String),
    #[error("the proxy {proxy} (from HTTPS_PROXY/ALL_PROXY) cannot be used: {reason}")]
    Proxy { proxy: String, reason: String },
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error(
        "the TLS handshake with {host} failed: {reason}. The certificate is checked against this \
         machine's trusted CAs (the system's, plus SSL_CERT_FILE / SSL_CERT_DIR when set)"
    )]
    Tls { host: String, reason: String },
    #[error("no complete answer within {0:.1} s")]
    Timeout(f64),
    #[error("the HTTP exchange failed: {0}")]
    Http(String),
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("cannot load trusted CA certificates: {0}")]
    Roots(String),
}

/// A client for HTTPS GETs; build one per use (it reads the environment).
pub struct HttpsClient {
    tls: Arc<rustls::ClientConfig>,
    proxy: ProxyRules,
}

/// The trusted roots: the system store (or, as OpenSSL does, the files
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` name) and, when those variables are
/// set, the system store as well, so that a bundle with one extra CA does
/// not drop the public ones.
fn load_roots() -> Result<rustls::RootCertStore, FetchError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let from_env = std::env::var_os("SSL_CERT_FILE").is_some_and(|v| !v.is_empty())
        || std::env::var_os("SSL_CERT_DIR").is_some_and(|v| !v.is_empty());
    if from_env && !native.errors.is_empty() {
        // A variable that names an unreadable file is a user mistake worth saying.
        return Err(FetchError::Roots(
            native
                .errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    roots.add_parsable_certificates(native.certs);
    if from_env {
        for dir in openssl_probe::candidate_cert_dirs() {
            let system = rustls_native_certs::load_certs_from_paths(None, Some(dir));
            roots.add_parsable_certificates(system.certs);
        }
    }
    if roots.is_empty() {
        return Err(FetchError::Roots(
            "no CA certificates found in the system store; set SSL_CERT_FILE to a PEM bundle"
                .into(),
        ));
    }
    Ok(roots)
}

impl HttpsClient {
    /// Roots and proxy settings from this process's environment.
    pub fn from_env() -> Result<HttpsClient, FetchError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError::Roots(e.to_string()))?
            .with_root_certificates(load_roots()?)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsClient {
            tls: Arc::new(tls),
            proxy: ProxyRules::from_env(),
        })
    }

    /// GET `url` (https only), bounded by `limit` as a whole.
    pub async fn get(&self, url: &str, limit: Duration) -> Result<Response, FetchError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| FetchError::InvalidUrl(url.to_string()))?;
        if uri.scheme_str() != Some("https") || uri.host().is_none() {
            return Err(FetchError::InvalidUrl(url.to_string()));
        }
        match tokio::time::timeout(limit, self.get_inner(&uri)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(limit.as_secs_f64())),
        }
    }

    async fn get_inner(&self, uri: &http::Uri) -> Result<Response, FetchError> {
        let start = Instant::now();
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let target = authority(&host, port);
        let intercept = self.proxy.intercept(uri);
        let proxy_label = intercept.as_ref().map(proxy_authority);
        let tcp = match &intercept {
            Some(p) => connect_tunnel(p, &host, port).await?,
            None => TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| FetchError::Connect {
                    target: target.clone(),
                    reason: e.to_string(),
                })?,
        };
        let _ = tcp.set_nodelay(true);
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| FetchError::InvalidUrl(uri.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|e| FetchError::Tls {
                host: host.clone(),
                reason: tls_reason(&e),
            })?;
        let peer_chain: Vec<CertificateDer<'static>> = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default();

        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let host_header = if port == 443 {
            host_for_header(&host)
        } else {
            authority(&host, port)
        };
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let req = http::Request::get(path)
            .header(http::header::HOST, host_header)
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::ACCEPT, "application/json, */*")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| FetchError::Http(e.to_string()))?;
        let status = resp.status().as_u16();
        let header = |name: http::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header(http::header::CONTENT_TYPE);
        let location = header(http::header::LOCATION);
        let body = Limited::new(resp.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    FetchError::TooLarge
                } else {
                    FetchError::Http(e.to_string())
                }
            })?
            .to_bytes()
            .to_vec();
        conn.abort();
        Ok(Response {
            status,
            content_type,
            location,
            body,
            elapsed: start.elapsed(),
            peer_chain,
            proxy: proxy_label,
        })
    }
}

fn host_for_header(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn authority(host: &str, port: u16) -> String {
    format!("{}:{port}", host_for_header(host))
}

/// `host:port` of a proxy, without credentials.
fn proxy_authority(p: &Intercept) -> String {
    let uri = p.uri();
    let default = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    authority(
        uri.host().unwrap_or_default(),
        uri.port_u16().unwrap_or(default),
    )
}

/// A TCP connection to `host:port` through an HTTP CONNECT tunnel.
async fn connect_tunnel(p: &Intercept, host: &str, port: u16) -> Result<TcpStream, FetchError> {
    let label = proxy_authority(p);
    let fail = |reason: String| FetchError::Proxy {
        proxy: label.clone(),
        reason,
    };
    let uri = p.uri();
    match uri.scheme_str() {
        None | Some("http") => {}
        Some(other) => {
            return Err(fail(format!(
                "only http:// proxies (HTTP CONNECT) are supported, not {other}://"
            )))
        }
    }
    let phost = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let pport = uri.port_u16().unwrap_or(80);
    let mut tcp = TcpStream::connect((phost, pport))
        .await
        .map_err(|e| fail(format!("cannot connect: {e}")))?;
    let target = authority(host, port);
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = p.basic_auth().and_then(|v| v.to_str().ok()) {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str(&format!("User-Agent: {USER_AGENT}\r\n\r\n"));
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| fail(e.to_string()))?;
    // Read the answer's head byte by byte: nothing after it belongs to us.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(fail("its answer to CONNECT has an oversized head".into()));
        }
        let n = tcp.read(&mut byte).await.map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            return Err(fail("it closed the connection during CONNECT".into()));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code != "200" {
        return Err(fail(format!(
            "it answered CONNECT {target} with \"{}\"",
            status_line.trim()
        )));
    }
    Ok(tcp)
}

/// The reason of a TLS failure in words a user can act on.
fn tls_reason(e: &std::io::Error) -> String {
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .cloned();
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            use rustls::CertificateError as C;
            match c {
                C::UnknownIssuer => "its certificate is not signed by a trusted CA (UnknownIssuer); \
                    AWS checks it against the CAs it trusts, so a private CA needs the thumbprint in \
                    the IAM OIDC provider — and, for this check, its CA in SSL_CERT_FILE"
                    .to_string(),
                C::Expired | C::ExpiredContext { .. } => "its certificate has expired".to_string(),
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "its certificate is not valid for this host name".to_string()
                }
                other => format!("invalid certificate: {other:?}"),
            }
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

/// SHA-1 of a certificate's DER, lowercase hex: the form IAM's
/// `ThumbprintList` takes.
pub fn sha1_thumbprint(cert: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_is_sha1_hex() {
        // SHA-1("abc"), FIPS 180-2 appendix A.
        assert_eq!(
            sha1_thumbprint(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[tokio::test]
    async fn only_https_urls() {
        let c = HttpsClient::from_env().unwrap();
        for url in ["http://x.example.com/", "not a url", "https:///x"] {
            assert!(matches!(
                c.get(url, Duration::from_secs(1)).await,
                Err(FetchError::InvalidUrl(_))
            ));
        }
    }

    #[test]
    fn authorities() {
        assert_eq!(authority("oidc.example.com", 443), "oidc.example.com:443");
        assert_eq!(authority("::1", 8443), "[::1]:8443");
    }
}
