//! A minimal HTTPS client for the fake server, trusting only its CA: lets
//! tests (here and elsewhere) send exact requests and see exact status
//! codes, headers and bodies, over HTTP/1.1 or HTTP/2.

use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use http::{HeaderMap, Request};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::FakeApiServer;

/// Which credentials a raw request carries.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// The server's admin token.
    Admin,
    /// This exact bearer token.
    Token(String),
    /// No Authorization header at all.
    Anonymous,
}

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The protocol ALPN settled on (`h2` or `http/1.1`).
    pub alpn: Option<String>,
}

impl RawResponse {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response body is not JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl FakeApiServer {
    /// Send `req` (its URI is just the path and query) over a fresh TLS
    /// connection. `http2` picks the protocol via ALPN.
    pub async fn send(
        &self,
        req: Request<Vec<u8>>,
        auth: ClientAuth,
        http2: bool,
    ) -> Result<RawResponse> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca_der.clone()))
            .context("adding the fake apiserver CA")?;
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![if http2 {
            b"h2".to_vec()
        } else {
            b"http/1.1".to_vec()
        }];
        let tcp = TcpStream::connect(self.addr).await?;
        let name = ServerName::IpAddress(self.addr.ip().into());
        let tls = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        let alpn = tls
            .get_ref()
            .1
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned());

        let (mut parts, body) = req.into_parts();
        let token = match auth {
            ClientAuth::Admin => Some(self.token()),
            ClientAuth::Token(t) => Some(t),
            ClientAuth::Anonymous => None,
        };
        if let Some(t) = token {
            parts
                .headers
                .insert(http::header::AUTHORIZATION, format!("Bearer {t}").parse()?);
        }
        // HTTP/2 needs the full URI (scheme + authority); HTTP/1.1 a Host header.
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        parts.uri = format!("https://{}{path}", self.addr).parse()?;
        if !http2 {
            parts
                .headers
                .insert(http::header::HOST, self.addr.to_string().parse()?);
        }
        let req = Request::from_parts(parts, Full::new(Bytes::from(body)));
        let io = TokioIo::new(tls);
        let resp = if http2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            sender.send_request(req).await?
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            sender.send_request(req).await?
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow!("reading the response body: {e}"))?
            .to_bytes()
            .to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
            alpn,
        })
    }

    /// `method path` as admin over HTTP/1.1, with an optional body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<RawResponse> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            b = b.header(http::header::CONTENT_TYPE, ct);
        }
        self.send(b.body(body.to_vec())?, ClientAuth::Admin, false)
            .await
    }
}
