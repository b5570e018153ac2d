//! Where the plugin listens, as go-plugin's `serverListener()`: a Unix
//! socket in a private directory on Unix systems, TCP on 127.0.0.1 within
//! `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT` on Windows; and the stream of
//! connections tonic serves, through AutoMTLS when Terraform asked for it.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

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

    pub(crate) fn cleanup_path(&self) -> Option<std::path::PathBuf> {
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
pub(crate) fn incoming(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
