//! `sandbox-edge`: run the sandbox's HTTPS edge (see
//! `irsa_acceptance::edge`) as a process, for scripts/quickstart.
//!
//! ```text
//! sandbox-edge --moto URL --region REGION --route HOST=BUCKET [--route ...]
//!              --ca-file PATH --state-file PATH
//! ```
//!
//! Once serving it writes the sandbox root CA to `--ca-file` and then the
//! state file, JSON `{"proxy_url","ca_file","thumbprint","pid"}` (its
//! appearance means "ready"). Runs until SIGTERM or SIGINT.

use anyhow::{bail, Context as _, Result};
use irsa_acceptance::edge::Edge;
use serde_json::json;

const USAGE: &str = "usage: sandbox-edge --moto URL --region REGION --route HOST=BUCKET [--route ...] --ca-file PATH --state-file PATH";

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("sandbox-edge: error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let (mut moto, mut region, mut routes, mut ca_file, mut state_file) =
        (None, None, Vec::new(), None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--moto" => moto = Some(value()?),
            "--region" => region = Some(value()?),
            "--route" => {
                let v = value()?;
                let (host, bucket) = v
                    .split_once('=')
                    .with_context(|| format!("--route {v}: expected HOST=BUCKET"))?;
                routes.push((host.to_string(), bucket.to_string()));
            }
            "--ca-file" => ca_file = Some(value()?),
            "--state-file" => state_file = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let (Some(moto), Some(region), Some(ca_file), Some(state_file)) =
        (moto, region, ca_file, state_file)
    else {
        bail!("{USAGE}");
    };
    let edge = Edge::start(&moto, &region).await?;
    for (host, bucket) in &routes {
        edge.route(host, bucket);
        eprintln!("sandbox-edge: https://{host}/ serves the bucket {bucket}");
    }
    std::fs::copy(edge.ca_file(), &ca_file).with_context(|| format!("writing {ca_file}"))?;
    let state = json!({
        "proxy_url": edge.proxy_url(),
        "ca_file": ca_file,
        "thumbprint": edge.expected_thumbprint(),
        "pid": std::process::id(),
    });
    let tmp = format!("{state_file}.tmp");
    std::fs::write(&tmp, state.to_string())?;
    std::fs::rename(&tmp, &state_file)?;
    eprintln!("sandbox-edge: CONNECT proxy on {}", edge.proxy_url());
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    for line in edge.requests() {
        eprintln!("sandbox-edge: served {line}");
    }
    let _ = std::fs::remove_file(&state_file);
    Ok(())
}
