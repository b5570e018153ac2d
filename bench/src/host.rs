//! `bench/run --host`: what an `irsa_issuer_host` saves a platform team.
//! moto behind the counting proxy, with every CloudFront deployment made to
//! take `T` seconds (moto's state manager: a distribution reads
//! `InProgress` for `T` s after each change, as CloudFront does for
//! minutes). Figures:
//!
//! - a host with N = 1, 10, 50 issuers on it: the wall time and AWS calls
//!   of `terraform apply` in a new cluster's own root module adding the
//!   N+1-th issuer (`host = "platform"`), and its CloudFront, ACM and
//!   Route 53 writes;
//! - against the create of one standalone CloudFront issuer in the same
//!   world (which waits for its deployment);
//! - the objects each layout holds: distributions, certificates, DNS
//!   records and buckets, for the host with 50 issuers, and for one
//!   standalone issuer (50 clusters standalone hold 50 times that).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use irsa_acceptance::fault_proxy::{FaultProxy, RequestInfo};
use irsa_acceptance::issuer_support::{as_list, create_zone, snapshot, zone_records};
use irsa_acceptance::sandbox::{Moto, MotoConfig};

/// CloudFront's deployment time in the sandbox (`--deploy-secs <T>`).
const DEFAULT_T: u64 = 30;
const ZONE: &str = "bench.example.com";

struct World {
    moto: Moto,
    proxy: FaultProxy,
    zone: String,
    bin: PathBuf,
    terraform: String,
    pem: String,
}

/// One `terraform apply` measured.
struct Applied {
    took: Duration,
    calls: Vec<RequestInfo>,
}

impl Applied {
    /// CloudFront, ACM and Route 53 writes (every ACM and Route 53 call counts).
    fn site_writes(&self) -> usize {
        self.calls
            .iter()
            .filter(|r| {
                r.is_service("acm")
                    || r.is_service("route53")
                    || (r.is_service("cloudfront") && r.method != "GET" && r.method != "HEAD")
            })
            .count()
    }
}

pub async fn host_figures(bin: &Path) -> anyhow::Result<()> {
    let t = std::env::args()
        .skip_while(|a| a != "--deploy-secs")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_T);
    let w = World::start(bin, t).await?;
    println!("issuer host against standalone issuers (moto; every CloudFront deployment takes T = {t} s):");
    let standalone_dir = tempfile::tempdir()?;
    w.write_module(standalone_dir.path(), &w.standalone_issuer("solo"))?;
    let solo = w.apply(standalone_dir.path()).await?;
    let solo_parts = parts(&w).await?;
    w.destroy(standalone_dir.path()).await?;

    let host_dir = tempfile::tempdir()?;
    w.write_module(host_dir.path(), &w.host())?;
    let host = w.apply(host_dir.path()).await?;
    println!(
        "  make the host (once): {:.1} s, {} AWS calls",
        host.took.as_secs_f64(),
        host.calls.len()
    );
    println!("  existing issuers N | add issuer N+1: wall time | AWS calls | CloudFront/ACM/Route53 writes | vs standalone create");
    let fleet_dir = tempfile::tempdir()?;
    let mut on_host = 0;
    let mut clusters = Vec::new();
    for n in [1usize, 10, 50] {
        // The existing N, made in bulk in one root module.
        w.write_module(
            fleet_dir.path(),
            &(0..n)
                .map(|i| w.issuer_on_host(&format!("c{i}")))
                .collect::<String>(),
        )?;
        if n > on_host {
            w.apply(fleet_dir.path()).await?;
            on_host = n;
        }
        // The new cluster, in its own root module.
        let cluster = tempfile::tempdir()?;
        w.write_module(cluster.path(), &w.issuer_on_host(&format!("new{n}")))?;
        let added = w.apply(cluster.path()).await?;
        println!(
            "  {n:>18} | {:>24} | {:>9} | {:>29} | {:.0}x faster",
            format!("{:.2} s", added.took.as_secs_f64()),
            added.calls.len(),
            added.site_writes(),
            solo.took.as_secs_f64() / added.took.as_secs_f64()
        );
        clusters.push(cluster);
    }
    println!(
        "  standalone issuer create: {:.2} s, {} AWS calls, {} CloudFront/ACM/Route53 writes   target: adding to a host >= 10x faster at T = 30 s",
        solo.took.as_secs_f64(),
        solo.calls.len(),
        solo.site_writes()
    );
    let host_parts = parts(&w).await?;
    println!("  objects for 50 clusters (host: measured with 50 + 3 issuers on it; standalone: 50 x one measured issuer):");
    println!("    layout     | distributions | certificates | DNS records | buckets | IAM OIDC providers");
    println!(
        "    one host   | {:>13} | {:>12} | {:>11} | {:>7} | {:>18}",
        host_parts.distributions,
        host_parts.certificates,
        host_parts.records,
        host_parts.buckets,
        host_parts.providers
    );
    println!(
        "    standalone | {:>13} | {:>12} | {:>11} | {:>7} | {:>18}",
        50 * solo_parts.distributions,
        50 * solo_parts.certificates,
        50 * solo_parts.records,
        50 * solo_parts.buckets,
        50 * solo_parts.providers
    );
    for c in &clusters {
        w.destroy(c.path()).await?;
    }
    w.destroy(fleet_dir.path()).await?;
    w.destroy(host_dir.path()).await?;
    Ok(())
}

/// What moto holds.
struct Parts {
    distributions: usize,
    certificates: usize,
    records: usize,
    buckets: usize,
    providers: usize,
}

async fn parts(w: &World) -> anyhow::Result<Parts> {
    let snap = snapshot(&w.moto.endpoint).await;
    Ok(Parts {
        distributions: as_list(&snap["distributions"]).len(),
        certificates: as_list(&snap["certificates"]).len(),
        records: zone_records(&snap, &w.zone).len(),
        buckets: snap["buckets"].as_object().map_or(0, |m| m.len()),
        providers: as_list(&snap["oidc_providers"]).len(),
    })
}

impl World {
    async fn start(bin: &Path, deploy_secs: u64) -> anyhow::Result<World> {
        let moto = Moto::start_with(MotoConfig {
            acm_validation_wait_secs: 0,
            ..Default::default()
        })
        .await?;
        // Every CloudFront change reads InProgress for T seconds.
        let body = serde_json::json!({
            "model_name": "cloudfront::distribution",
            "transition": {"progression": "time", "seconds": deploy_secs},
        });
        let status = reqwest_free_post(
            &moto.endpoint,
            "/moto-api/state-manager/set-transition",
            &body.to_string(),
        )
        .await?;
        if status != 201 && status != 200 {
            bail!("moto refused the CloudFront transition: HTTP {status}");
        }
        let proxy = FaultProxy::start(&moto.endpoint).await?;
        let zone = create_zone(&moto.endpoint, ZONE).await;
        let pem = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/acceptance/fixtures/rsa2048.pub.pem"),
        )?;
        Ok(World {
            moto,
            proxy,
            zone,
            bin: bin.to_path_buf(),
            terraform: std::env::var("TF_ACC_TERRAFORM_PATH")
                .unwrap_or_else(|_| "terraform".into()),
            pem,
        })
    }

    fn host(&self) -> String {
        format!(
            "resource \"irsa_issuer_host\" \"platform\" {{\n  name = \"platform\"\n  domain = \"oidc.{ZONE}\"\n  route53_zone_id = \"{}\"\n}}\n",
            self.zone
        )
    }

    fn issuer_on_host(&self, name: &str) -> String {
        format!("resource \"irsa_oidc_issuer\" \"{name}\" {{\n  name = \"{name}\"\n  host = \"platform\"\n  jwks = data.irsa_jwks.k.json\n}}\n")
    }

    fn standalone_issuer(&self, name: &str) -> String {
        format!(
            "resource \"irsa_oidc_issuer\" \"{name}\" {{\n  name = \"{name}\"\n  domain = \"{name}.{ZONE}\"\n  route53_zone_id = \"{}\"\n  jwks = data.irsa_jwks.k.json\n}}\n",
            self.zone
        )
    }

    fn write_module(&self, dir: &Path, resources: &str) -> anyhow::Result<()> {
        std::fs::write(dir.join("sa.pub"), &self.pem)?;
        let hcl = format!(
            "terraform {{\n  required_providers {{\n    irsa = {{ source = \"irsa/irsa\" }}\n  }}\n}}\n\
             provider \"irsa\" {{\n  s3_use_path_style = true\n}}\n\
             data \"irsa_jwks\" \"k\" {{\n  public_keys_pem = [file(\"sa.pub\")]\n}}\n{resources}"
        );
        std::fs::write(dir.join("main.tf"), hcl)?;
        let provider_dir = self.bin.parent().context("binary dir")?;
        std::fs::write(
            dir.join("terraformrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{ \"irsa/irsa\" = \"{}\" }}\n  direct {{}}\n}}\n",
                provider_dir.display()
            ),
        )?;
        Ok(())
    }

    async fn run(&self, dir: &Path, args: &[&str]) -> anyhow::Result<()> {
        let out = tokio::process::Command::new(&self.terraform)
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
            .env("AWS_ENDPOINT_URL", self.proxy.url())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "terraform {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    async fn apply(&self, dir: &Path) -> anyhow::Result<Applied> {
        let before = self.proxy.log().len();
        let start = Instant::now();
        self.run(
            dir,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        )
        .await?;
        let took = start.elapsed();
        Ok(Applied {
            took,
            calls: self.proxy.log()[before..].to_vec(),
        })
    }

    async fn destroy(&self, dir: &Path) -> anyhow::Result<()> {
        self.run(
            dir,
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        )
        .await
    }
}

/// A POST to moto's control API (plain HTTP on loopback); the status code.
async fn reqwest_free_post(endpoint: &str, path: &str, body: &str) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).await?;
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("moto's answer has no status line")
}
