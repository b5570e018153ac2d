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
//! It can also answer like a throttled AWS ([`FaultProxy::throttle`]):
//! for a number of matching requests or for a time window, requests that
//! match a filter are answered by the proxy itself with the error the
//! service sends when its rate limit is hit ([`ThrottleReply`]: HTTP 400
//! `Throttling` in the service's protocol, 429 `TooManyRequestsException`,
//! or S3's 503 `SlowDown`); they are not forwarded, so a throttled call
//! never reaches moto and a retried create is counted once.
//!
//! And it can put a fixed delay on every forwarded request
//! ([`FaultProxy::set_delay`]): a network whose round trip is that long, to
//! count the round trips on a critical path.
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
    /// `Action=` of a form-encoded body (query protocols: IAM, STS), if any.
    pub action: Option<String>,
    /// Whether it was forwarded (false: the proxy was down and closed it,
    /// or answered it as throttled).
    pub forwarded: bool,
    /// Whether the proxy answered it with a throttling error.
    pub throttled: bool,
    /// When it arrived, since the proxy started.
    pub at: Duration,
}

impl RequestInfo {
    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// `METHOD target [service]`, for messages.
    pub fn line(&self) -> String {
        format!(
            "#{} {} {} [{}{}{}]{}",
            self.seq,
            self.method,
            self.target,
            self.service.as_deref().unwrap_or("-"),
            self.amz_target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            self.action
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            if self.throttled {
                " THROTTLED"
            } else if self.forwarded {
                ""
            } else {
                " REFUSED"
            }
        )
    }

    /// The operation's name where the request says it: `Action` (query
    /// protocols), the part of `X-Amz-Target` after the dot (JSON), else
    /// `None` (REST protocols: match on method and path).
    pub fn operation(&self) -> Option<&str> {
        self.action.as_deref().or_else(|| {
            self.amz_target
                .as_deref()
                .map(|t| t.rsplit('.').next().unwrap_or(t))
        })
    }

    /// Whether the request is signed for `service`.
    pub fn is_service(&self, service: &str) -> bool {
        self.service.as_deref() == Some(service)
    }
}

/// How a throttled request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleReply {
    /// As the service answers when its request rate is exceeded: S3 `503
    /// SlowDown` (REST XML `<Error>`), ACM `400 ThrottlingException` (JSON
    /// `__type`), IAM/STS `400 Throttling` (query `<ErrorResponse>`),
    /// Route 53 and CloudFront `400 Throttling` (REST XML
    /// `<ErrorResponse>`), each in the service's error shape.
    Service,
    /// HTTP 429 `TooManyRequestsException` in the service's error shape.
    TooManyRequests,
    /// HTTP 503 `SlowDown` (S3's XML shape, whatever the service).
    SlowDown,
}

/// See [`FaultProxy::throttle`].
pub struct Throttle {
    filter: Trigger,
    reply: ThrottleReply,
    /// Throttle this many matching requests (None: no count limit).
    count: Option<u64>,
    /// Throttle until then (None: no time limit).
    until: Option<tokio::time::Instant>,
}

impl Throttle {
    /// Every request matching `filter`, answered with `reply`, until a
    /// limit ([`requests`](Self::requests) / [`for_time`](Self::for_time))
    /// is reached; without a limit until [`FaultProxy::stop_throttling`].
    pub fn new(
        reply: ThrottleReply,
        filter: impl Fn(&RequestInfo) -> bool + Send + Sync + 'static,
    ) -> Throttle {
        Throttle {
            filter: Box::new(filter),
            reply,
            count: None,
            until: None,
        }
    }

    /// Only the first `n` matching requests.
    pub fn requests(mut self, n: u64) -> Throttle {
        self.count = Some(n);
        self
    }

    /// Only during `d` from now.
    pub fn for_time(mut self, d: Duration) -> Throttle {
        self.until = Some(tokio::time::Instant::now() + d);
        self
    }
}

type Trigger = Box<dyn Fn(&RequestInfo) -> bool + Send + Sync>;

struct Shared {
    target: SocketAddr,
    started: std::time::Instant,
    down: AtomicBool,
    seen: AtomicU64,
    /// Go down when this many requests have been forwarded (0 = no limit).
    limit: AtomicU64,
    forwarded: AtomicU64,
    trigger: Mutex<Option<Trigger>>,
    throttles: Mutex<Vec<Throttle>>,
    /// Added before forwarding each request, in milliseconds.
    delay_ms: AtomicU64,
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
            started: std::time::Instant::now(),
            down: AtomicBool::new(false),
            seen: AtomicU64::new(0),
            limit: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            trigger: Mutex::new(None),
            throttles: Mutex::new(Vec::new()),
            delay_ms: AtomicU64::new(0),
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

    /// Answer matching requests as throttled (see [`Throttle`]); several
    /// may be active, the first that matches answers.
    pub fn throttle(&self, t: Throttle) {
        self.shared
            .throttles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(t);
    }

    /// Drop every throttle.
    pub fn stop_throttling(&self) {
        self.shared
            .throttles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Number of requests answered as throttled.
    pub fn throttled(&self) -> u64 {
        self.log().iter().filter(|r| r.throttled).count() as u64
    }

    /// Wait `d` before forwarding each request (zero: no delay).
    pub fn set_delay(&self, d: Duration) {
        self.shared
            .delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
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

/// What to do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Forward,
    Refuse,
    Throttle(ThrottleReply),
}

/// Decide what to do with a request; records it.
fn admit(s: &Shared, mut info: RequestInfo) -> (Verdict, RequestInfo) {
    info.seq = s.seen.fetch_add(1, Ordering::SeqCst) + 1;
    info.at = s.started.elapsed();
    if !s.down.load(Ordering::SeqCst) {
        let mut throttles = s.throttles.lock().unwrap_or_else(|e| e.into_inner());
        let now = tokio::time::Instant::now();
        throttles.retain(|t| t.count != Some(0) && t.until.is_none_or(|u| now < u));
        if let Some(t) = throttles.iter_mut().find(|t| (t.filter)(&info)) {
            if let Some(n) = t.count.as_mut() {
                *n -= 1;
            }
            let reply = t.reply;
            info.throttled = true;
            info.forwarded = false;
            s.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(info.clone());
            return (Verdict::Throttle(reply), info);
        }
    }
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
    s.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(info.clone());
    (
        if pass {
            Verdict::Forward
        } else {
            Verdict::Refuse
        },
        info,
    )
}

/// The throttling answer `reply` to `info`, as the service would send it.
fn throttle_response(info: &RequestInfo, reply: ThrottleReply) -> Vec<u8> {
    let service = info.service.as_deref().unwrap_or("");
    let request_id = format!("throttle-{}", info.seq);
    let (status, code) = match (reply, service) {
        (ThrottleReply::SlowDown, _) | (ThrottleReply::Service, "s3") => {
            ("503 Slow Down", "SlowDown")
        }
        (ThrottleReply::TooManyRequests, _) => {
            ("429 Too Many Requests", "TooManyRequestsException")
        }
        (ThrottleReply::Service, "acm") => ("400 Bad Request", "ThrottlingException"),
        (ThrottleReply::Service, _) => ("400 Bad Request", "Throttling"),
    };
    let message = if code == "SlowDown" {
        "Please reduce your request rate."
    } else {
        "Rate exceeded"
    };
    let (content_type, body) = if code == "SlowDown" {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId><HostId>proxy</HostId></Error>"
            ),
        )
    } else if service == "acm" || info.amz_target.is_some() {
        (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        )
    } else {
        let xmlns = match service {
            "iam" => " xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"",
            "sts" => " xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"",
            "route53" => " xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"",
            "cloudfront" => " xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"",
            _ => "",
        };
        (
            "text/xml",
            format!(
                "<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: {request_id}\r\nx-amz-request-id: {request_id}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Bodies up to this size are read before the request is admitted (to see
/// a query protocol's `Action`); larger ones are streamed.
const BUFFERED_BODY: u64 = 1 << 20;

type ClientWrite = Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>;

async fn serve(client: TcpStream, s: Arc<Shared>) -> anyhow::Result<()> {
    let _ = client.set_nodelay(true);
    if s.down.load(Ordering::SeqCst) {
        // Down: accept and close at once (the client sees EOF).
        drop(client);
        return Ok(());
    }
    let (client_read, client_write) = client.into_split();
    // Shared by the relay of responses and the proxy's own answers (the
    // SDKs do not pipeline: one request at a time per connection).
    let client_write: ClientWrite = Arc::new(tokio::sync::Mutex::new(client_write));
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
        let mut info = parse_head(&head);
        let body = match framing {
            Framing::Length(n) if n <= BUFFERED_BODY => {
                let mut b = vec![0u8; n as usize];
                if reader.read_exact(&mut b).await.is_err() {
                    break false;
                }
                info.action = form_action(&head, &b);
                Some(b)
            }
            _ => None,
        };
        let (verdict, info) = admit(&s, info);
        match verdict {
            Verdict::Refuse => break false,
            Verdict::Throttle(reply) => {
                if body.is_none() && drain_body(framing, &mut reader).await.is_err() {
                    break false;
                }
                let resp = throttle_response(&info, reply);
                let mut w = client_write.lock().await;
                if w.write_all(&resp).await.is_err() || w.flush().await.is_err() {
                    break false;
                }
                continue;
            }
            Verdict::Forward => {}
        }
        let delay = s.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if upstream.is_none() {
            let Ok(up) = TcpStream::connect(s.target).await else {
                break false; // target not listening: the client sees EOF
            };
            let _ = up.set_nodelay(true);
            let (mut up_read, up_write) = up.into_split();
            let cw = client_write.clone();
            // Responses are relayed raw.
            let relay = tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match up_read.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut w = cw.lock().await;
                    if w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = cw.lock().await.shutdown().await;
            });
            upstream = Some((up_write, relay));
        }
        let (up_write, _) = upstream.as_mut().expect("connected");
        let sent = match &body {
            Some(b) => {
                async {
                    up_write.write_all(&head).await?;
                    up_write.write_all(b).await?;
                    up_write.flush().await?;
                    anyhow::Ok(())
                }
                .await
            }
            None => forward_body(&head, framing, &mut reader, up_write).await,
        };
        if sent.is_err() {
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
    } else {
        let _ = client_write.lock().await.shutdown().await;
    }
    Ok(())
}

/// Read and drop a request body that is not forwarded.
async fn drain_body(framing: Framing, reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<()> {
    let mut sink = tokio::io::sink();
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => {
            let got = tokio::io::copy(&mut (&mut *reader).take(n), &mut sink).await?;
            anyhow::ensure!(got == n, "client closed mid-body");
            Ok(())
        }
        Framing::Chunked => copy_chunked(reader, &mut sink).await,
    }
}

/// `Action` of a form-encoded (query protocol) body.
fn form_action(head: &[u8], body: &[u8]) -> Option<String> {
    let form = header_lines(head)
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
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

#[derive(Clone, Copy)]
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
        action: None,
        forwarded: false,
        throttled: false,
        at: Duration::ZERO,
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

async fn copy_chunked<W: tokio::io::AsyncWrite + Unpin>(
    reader: &mut BufReader<OwnedReadHalf>,
    up: &mut W,
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttles_matching_requests_then_forwards() {
        let target = echo_server().await;
        let proxy = FaultProxy::start(&target).await.unwrap();
        proxy.throttle(
            Throttle::new(ThrottleReply::Service, |r| {
                r.operation() == Some("CreateOpenIDConnectProvider")
            })
            .requests(2),
        );
        proxy.throttle(Throttle::new(ThrottleReply::Service, |r| r.is_service("s3")).requests(1));
        let iam = "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/iam/aws4_request, SignedHeaders=host\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: 52\r\n\r\nAction=CreateOpenIDConnectProvider&Version=2010-05-08";
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        for _ in 0..2 {
            let r = roundtrip(&mut c, iam).await.unwrap();
            assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
            assert!(
                r.contains("<Code>Throttling</Code>") && r.contains("iam.amazonaws.com/doc"),
                "{r}"
            );
        }
        // The count is spent: the same connection is forwarded now.
        let r = roundtrip(&mut c, iam).await.unwrap();
        assert!(r.ends_with("\r\n\r\n52"), "{r}");
        let s3 = "PUT /b HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host\r\nContent-Length: 2\r\n\r\nab";
        let r = roundtrip(&mut c, s3).await.unwrap();
        assert!(
            r.starts_with("HTTP/1.1 503 ") && r.contains("<Code>SlowDown</Code>"),
            "{r}"
        );
        let r = roundtrip(&mut c, s3).await.unwrap();
        assert!(r.ends_with("\r\n\r\n2"), "{r}");
        let log = proxy.log();
        assert_eq!(
            log[0].action.as_deref(),
            Some("CreateOpenIDConnectProvider")
        );
        assert_eq!(
            log.iter()
                .map(|r| (r.throttled, r.forwarded))
                .collect::<Vec<_>>(),
            vec![
                (true, false),
                (true, false),
                (false, true),
                (true, false),
                (false, true)
            ],
            "{}",
            proxy.log_text()
        );
        assert_eq!(proxy.throttled(), 3);
        assert_eq!(proxy.forwarded(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttles_for_a_time_window_and_delays() {
        let target = echo_server().await;
        let proxy = FaultProxy::start(&target).await.unwrap();
        proxy.throttle(
            Throttle::new(ThrottleReply::TooManyRequests, |_| true)
                .for_time(Duration::from_millis(300)),
        );
        let acm = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: CertificateManager.DescribeCertificate\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/acm/aws4_request, SignedHeaders=host\r\nContent-Length: 2\r\n\r\n{}";
        let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
        let r = roundtrip(&mut c, acm).await.unwrap();
        assert!(
            r.starts_with("HTTP/1.1 429 ") && r.contains("\"__type\":\"TooManyRequestsException\""),
            "{r}"
        );
        assert_eq!(proxy.log()[0].operation(), Some("DescribeCertificate"));
        tokio::time::sleep(Duration::from_millis(350)).await;
        proxy.set_delay(Duration::from_millis(200));
        let start = std::time::Instant::now();
        let r = roundtrip(&mut c, acm).await.unwrap();
        assert!(r.ends_with("\r\n\r\n2"), "{r}");
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "{:?}",
            start.elapsed()
        );
    }
}
