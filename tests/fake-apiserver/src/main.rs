//! `fake-apiserver`: run the fake Kubernetes API server as a process, for
//! shell scripts and tests in other processes.
//!
//! ```text
//! fake-apiserver [--bind 127.0.0.1:PORT] [--issuer URL] [--token T]
//!                [--forbidden-token T] [--kubeconfig PATH] [--state-file PATH]
//!                [--namespace-termination-delay-ms MS] [--rollout-ms MS] [--quiet]
//! ```
//!
//! Once listening it writes the kubeconfig (if asked) and then the state
//! file, JSON `{"url","token","ca_pem","pid"}` (mode 0600, written
//! atomically, so its appearance means "ready"). Logs go to stderr. Runs
//! until SIGTERM or SIGINT, then removes the state file. Control endpoints:
//! see the `fake_apiserver` crate docs.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use serde_json::json;

const USAGE: &str = "usage: fake-apiserver [--bind 127.0.0.1:PORT] [--issuer URL] [--token T] [--forbidden-token T] [--kubeconfig PATH] [--state-file PATH] [--namespace-termination-delay-ms MS] [--rollout-ms MS] [--quiet]";

struct Args {
    cfg: FakeApiServerConfig,
    kubeconfig: Option<PathBuf>,
    state_file: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut cfg = FakeApiServerConfig {
        log_requests: true,
        ..Default::default()
    };
    let mut kubeconfig = None;
    let mut state_file = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .with_context(|| format!("{flag} needs a value\n{USAGE}")),
            }
        };
        match flag.as_str() {
            "--bind" => {
                let v = value()?;
                let addr: SocketAddr = v
                    .parse()
                    .with_context(|| format!("--bind {v}: expected IP:PORT"))?;
                if !addr.ip().is_loopback() {
                    bail!("--bind {addr}: only loopback addresses are allowed");
                }
                cfg.bind = addr;
            }
            "--issuer" => cfg.issuer = value()?,
            "--token" => cfg.token = value()?,
            "--forbidden-token" => cfg.forbidden_token = Some(value()?),
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(value()?)),
            "--state-file" => state_file = Some(PathBuf::from(value()?)),
            "--namespace-termination-delay-ms" => {
                let v = value()?;
                let ms: u64 = v.parse().with_context(|| {
                    format!("--namespace-termination-delay-ms {v}: expected milliseconds")
                })?;
                cfg.namespace_termination_delay = std::time::Duration::from_millis(ms);
            }
            "--rollout-ms" => {
                let v = value()?;
                let ms: u64 = v
                    .parse()
                    .with_context(|| format!("--rollout-ms {v}: expected milliseconds"))?;
                cfg.rollout_duration = std::time::Duration::from_millis(ms);
            }
            "--quiet" => cfg.log_requests = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(Args {
        cfg,
        kubeconfig,
        state_file,
    })
}

fn write_private(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(data)?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

async fn wait_for_signal() -> Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("fake-apiserver: error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let args = parse_args()?;
    let server = FakeApiServer::start(args.cfg).await?;
    if let Some(path) = &args.kubeconfig {
        server.write_kubeconfig(path)?;
        eprintln!("fake-apiserver: kubeconfig written to {}", path.display());
    }
    if let Some(path) = &args.state_file {
        let state = json!({
            "url": server.url(),
            "token": server.token(),
            "ca_pem": server.ca_pem(),
            "pid": std::process::id(),
        });
        write_private(path, state.to_string().as_bytes())?;
    }
    eprintln!(
        "fake-apiserver: listening on {} (issuer {}, signing kid {})",
        server.url(),
        server.issuer(),
        server.kids().last().cloned().unwrap_or_default()
    );
    let sig = wait_for_signal().await?;
    eprintln!("fake-apiserver: {sig} received, shutting down");
    server.shutdown().await;
    if let Some(path) = &args.state_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}
