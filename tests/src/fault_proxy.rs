//! A fault-injecting TCP proxy for plain-HTTP/1.1 endpoints (moto): listens
//! on 127.0.0.1, forwards every connection to the target, counts the HTTP
//! requests that pass, and can be switched "down", after which every request
//! is answered by closing its connection (new connections are accepted and
//! closed at once, pooled keep-alive connections are closed at their next
//! request boundary).
//!
//! Ways to make it go down:
//! * [`FaultProxy::set_down`] from the test, at any time;
//! * [`FaultProxy::fail_after_requests`]: let `n` more requests through, then down;
//! * [`FaultProxy::fail_on`]: go down at the first request whose
//!   [`RequestInfo`] matches a predicate (that request is NOT forwarded).
//!   E.g. "the first CloudFront `CreateDistribution`", which is a stable point
//!   in a create however the provider orders its concurrent calls.
//!
//! The proxy parses the request framing (Content-Length and chunked bodies)
//! so that every request on a keep-alive connection is seen and counted;
//! responses are relayed as raw bytes. Stops on drop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};

/// What the proxy knows of one request from its head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// Sequence number, from 1, in order of arrival (forwarded or not).
    pub seq: u64,
    pub method: String,
    /// Path with query, as sent (`/2020-05-31/distribution?WithTags`).
    pub target: String,
    /// The SigV4 service of the `Authorization` credential scope (`s3`,
    /// `cloudfront`, `acm`, `route53`, `iam`, `sts`), if signed.
    pub service: Option<String>,
    /// `X-Amz-Target` (JSON protocols such as ACM), if any.
    pub amz_target: Option<String>,
    /// Whether it was forwarded (false: the proxy was down and closed it).
    pub forwarded: bool,
}

impl RequestInfo {
    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// `METHOD target [service]`, for messages.
    pub fn line(&self) -> String {
        format!(
            "#{} {} {} [{}{}]{}",
            self.seq,
            self.method,
            self.target,
            self.service.as_deref().unwrap_or("-"),
            self.amz_target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            if self.forwarded { "" } else { " REFUSED" }
        )
    }
}

type Trigger = Box<dyn Fn(&RequestInfo) -> bool + Send + Sync>;

struct Shared {
    target: SocketAddr,
    down: AtomicBool,
    seen: AtomicU64,
    /// Go down when this many requests have been forwarded (0 = no limit).
    limit: AtomicU64,
    forwarded: AtomicU64,
    trigger: Mutex<Option<Trigger>>,
    log: Mutex<Vec<RequestInfo>>,
}

/// See the module documentation.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Start a proxy in front of `target_url` (`http://127.0.0.1:<port>`)
    /// or a `host:port`.
    pub async fn start(target_url: &str) -> anyhow::Result<FaultProxy> {
        let hostport = target_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let target: SocketAddr = tokio::net::lookup_host(&hostport)
            .await
            .with_context(|| format!("resolving {hostport}"))?
            .next()
            .with_context(|| format!("no address for {hostport}"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            down: AtomicBool::new(false),
            seen: AtomicU64::new(0),
            limit: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            trigger: Mutex::new(None),
            log: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(client, s).await;
                });
            }
        });
        Ok(FaultProxy { addr, shared, task })
    }

    /// `http://127.0.0.1:<port>`: use as AWS_ENDPOINT_URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switch the proxy down (every request and new connection is closed) or
    /// up again. Going up also clears the limit and the trigger.
    pub fn set_down(&self, down: bool) {
        if !down {
            self.shared.limit.store(0, Ordering::SeqCst);
            *self
                .shared
                .trigger
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None;
        }
        self.shared.down.store(down, Ordering::SeqCst);
    }

    pub fn is_down(&self) -> bool {
        self.shared.down.load(Ordering::SeqCst)
    }

    /// Forward `n` more requests, then go down.
    pub fn fail_after_requests(&self, n: u64) {
        let now = self.shared.forwarded.load(Ordering::SeqCst);
        self.shared.limit.store(now + n, Ordering::SeqCst);
        if n == 0 {
            self.set_down(true);
        }
    }

    /// Go down at the first request matching `pred` (which is refused).
    pub fn fail_on(&self, pred: impl Fn(&RequestInfo) -> bool + Send + Sync + 'static) {
        *self
            .shared
            .trigger
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Box::new(pred));
    }

    /// Number of requests seen (forwarded or refused).
    pub fn requests(&self) -> u64 {
        self.shared.seen.load(Ordering::SeqCst)
    }

    /// Number of requests forwarded to the target.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Every request seen so far, in order.
    pub fn log(&self) -> Vec<RequestInfo> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// [`log`](Self::log), one line per request.
    pub fn log_text(&self) -> String {
        self.log()
            .iter()
            .map(RequestInfo::line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Wait (bounded) until `pred` holds for the proxy; true if it did.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&FaultProxy) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if pred(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Decide whether a request may pass; records it.
fn admit(s: &Shared, mut info: RequestInfo) -> bool {
    info.seq = s.seen.fetch_add(1, Ordering::SeqCst) + 1;
    let limit = s.limit.load(Ordering::SeqCst);
    if limit > 0 && s.forwarded.load(Ordering::SeqCst) >= limit {
        s.down.store(true, Ordering::SeqCst);
    }
    if !s.down.load(Ordering::SeqCst) {
        let trigger = s.trigger.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = trigger.as_ref() {
            if t(&info) {
                s.down.store(true, Ordering::SeqCst);
            }
        }
    }
    let pass = !s.down.load(Ordering::SeqCst);
    if pass {
        s.forwarded.fetch_add(1, Ordering::SeqCst);
    }
    info.forwarded = pass;
    s.log.lock().unwrap_or_else(|e| e.into_inner()).push(info);
    pass
}

async fn serve(client: TcpStream, s: Arc<Shared>) -> anyhow::Result<()> {
    let _ = client.set_nodelay(true);
    if s.down.load(Ordering::SeqCst) {
        // Down: accept and close at once (the client sees EOF).
        drop(client);
        return Ok(());
    }
    let (client_read, client_write) = client.into_split();
    let mut client_write = Some(client_write);
    let mut reader = BufReader::new(client_read);
    // Connected to the target at the first admitted request, so that
    // requests are counted even when the target is not listening.
    let mut upstream: Option<(tokio::net::tcp::OwnedWriteHalf, tokio::task::JoinHandle<()>)> = None;
    let clean_eof = loop {
        let head = match read_head(&mut reader).await {
            Ok(Some(h)) => h,
            Ok(None) => break true,
            Err(_) => break false,
        };
        let framing = body_framing(&head);
        if !admit(&s, parse_head(&head)) {
            break false;
        }
        if upstream.is_none() {
            let Ok(up) = TcpStream::connect(s.target).await else {
                break false; // target not listening: the client sees EOF
            };
            let _ = up.set_nodelay(true);
            let (mut up_read, up_write) = up.into_split();
            let mut cw = client_write.take().expect("client write half");
            // Responses are relayed raw.
            let relay = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut up_read, &mut cw).await;
                let _ = cw.shutdown().await;
            });
            upstream = Some((up_write, relay));
        }
        let (up_write, _) = upstream.as_mut().expect("connected");
        if forward_body(&head, framing, &mut reader, up_write)
            .await
            .is_err()
        {
            break false;
        }
    };
    if let Some((mut up_write, relay)) = upstream {
        if clean_eof {
            // Let the last response through, bounded.
            let _ = up_write.shutdown().await;
            let _ = tokio::time::timeout(Duration::from_secs(120), relay).await;
        } else {
            // Refused (or broken): close both sides now.
            relay.abort();
        }
    }
    Ok(())
}

/// Forward one request (head and body) upstream.
async fn forward_body(
    head: &[u8],
    framing: Framing,
    reader: &mut BufReader<OwnedReadHalf>,
    up_write: &mut tokio::net::tcp::OwnedWriteHalf,
) -> anyhow::Result<()> {
    up_write.write_all(head).await?;
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            let mut left = n;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let got = reader.read(&mut buf[..want]).await?;
                if got == 0 {
                    anyhow::bail!("client closed mid-body");
                }
                up_write.write_all(&buf[..got]).await?;
                left -= got as u64;
            }
        }
        Framing::Chunked => copy_chunked(reader, up_write).await?,
    }
    up_write.flush().await?;
    Ok(())
}

enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Read up to and including the blank line ending a request head; `None` at
/// a clean EOF before any byte.
async fn read_head(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line).await?;
        if n == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            anyhow::bail!("client closed mid-head");
        }
        // Tolerate stray blank lines between requests.
        if head.is_empty() && (line == b"\r\n" || line == b"\n") {
            continue;
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            return Ok(Some(head));
        }
        if head.len() > 1 << 20 {
            anyhow::bail!("request head too large");
        }
    }
}

fn header_lines(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

fn parse_head(head: &[u8]) -> RequestInfo {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let headers = header_lines(head);
    let service = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, v)| {
            // Credential=AKID/20250101/us-east-1/s3/aws4_request
            let cred = v.split("Credential=").nth(1)?;
            let scope = cred.split([',', ' ']).next()?;
            scope.split('/').nth(3).map(str::to_string)
        });
    let amz_target = headers
        .iter()
        .find(|(k, _)| k == "x-amz-target")
        .map(|(_, v)| v.clone());
    RequestInfo {
        seq: 0,
        method,
        target,
        service,
        amz_target,
        forwarded: false,
    }
}

fn body_framing(head: &[u8]) -> Framing {
    let headers = header_lines(head);
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"))
    {
        return Framing::Chunked;
    }
    match headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<u64>().ok())
    {
        Some(n) if n > 0 => Framing::Length(n),
        _ => Framing::None,
    }
}

async fn copy_chunked(
    reader: &mut BufReader<OwnedReadHalf>,
    up: &mut tokio::net::tcp::OwnedWriteHalf,
) -> anyhow::Result<()> {
    loop {
        let mut size_line = Vec::new();
        if reader.read_until(b'\n', &mut size_line).await? == 0 {
            anyhow::bail!("client closed mid-chunk");
        }
        up.write_all(&size_line).await?;
        let text = String::from_utf8_lossy(&size_line);
        let hex = text
            .trim()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let size = u64::from_str_radix(&hex, 16).context("bad chunk size")?;
        if size == 0 {
            // Trailers up to the blank line.
            loop {
                let mut line = Vec::new();
                if reader.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(());
                }
                up.write_all(&line).await?;
                if line == b"\r\n" || line == b"\n" {
                    return Ok(());
                }
            }
        }
        let mut left = size + 2; // data + CRLF
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let got = reader.read(&mut buf[..want]).await?;
            if got == 0 {
                anyhow::bail!("client closed mid-chunk");
            }
            up.write_all(&buf[..got]).await?;
            left -= got as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A tiny HTTP/1.1 keep-alive echo server: answers every request with
    /// 200 and the request's body length.
    async fn echo_server() -> String {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((c, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = c.into_split();
                    let mut r = BufReader::new(r);
                    loop {
                        let Ok(Some(head)) = read_head(&mut r).await else {
                            return;
                        };
                        let mut len = 0u64;
                        if let Framing::Length(n) = body_framing(&head) {
                            let mut b = vec![0u8; n as usize];
                            if r.read_exact(&mut b).await.is_err() {
                                return;
                            }
                            len = n;
                        }
                        let body = len.to_string();
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if w.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{addr}")
    }

    async fn roundtrip(stream: &mut TcpStream, req: &str) -> Option<String> {
        stream.write_all(req.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_keepalive_requests_and_goes_down() {
        let target = echo_server().await;
        let proxy = FaultProxy::start(&target).await.unwrap();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let r1 = roundtrip(
            &mut c,
            "PUT /b/k HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await
        .unwrap();
        assert!(r1.ends_with("\r\n\r\n5"), "{r1}");
        proxy.fail_after_requests(1);
        let r2 = roundtrip(&mut c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(r2.ends_with("\r\n\r\n0"), "{r2}");
        // Third request on the same connection: refused (closed).
        assert_eq!(
            roundtrip(&mut c, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n").await,
            None
        );
        assert!(proxy.is_down());
        // New connections are closed too.
        let mut c2 = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            roundtrip(&mut c2, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n").await,
            None
        );
        let log = proxy.log();
        assert_eq!(log.len(), 3, "{}", proxy.log_text());
        assert_eq!(log[0].service.as_deref(), Some("s3"));
        assert!(log[0].forwarded && log[1].forwarded && !log[2].forwarded);
        assert_eq!(proxy.forwarded(), 2);
        // Up again.
        proxy.set_down(false);
        let mut c3 = TcpStream::connect(proxy.addr()).await.unwrap();
        let r = roundtrip(
            &mut c3,
            "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .await
        .unwrap();
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert_eq!(proxy.requests(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_requests_when_the_target_is_closed() {
        let proxy = FaultProxy::start("http://127.0.0.1:9").await.unwrap();
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            roundtrip(&mut c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await,
            None
        );
        assert_eq!(proxy.requests(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trigger_refuses_the_matching_request() {
        let target = echo_server().await;
        let proxy = FaultProxy::start(&target).await.unwrap();
        proxy.fail_on(|r| r.method == "POST" && r.path() == "/2020-05-31/distribution");
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        assert!(roundtrip(
            &mut c,
            "GET /2020-05-31/distribution HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .await
        .is_some());
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            roundtrip(
                &mut c,
                "POST /2020-05-31/distribution?WithTags HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
            )
            .await,
            None
        );
        assert!(proxy.is_down());
        assert_eq!(proxy.forwarded(), 1);
    }
}
