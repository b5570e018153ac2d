//! Prints the provider's performance figures (run through `bench/run`, which
//! builds the release binary first). Figures, not pass/fail: the targets are
//! printed beside them.
//!
//! - size of the release binary;
//! - exec -> handshake line, median of 20 starts;
//! - peak RSS (VmHWM) of the provider process during a real `terraform plan`
//!   that reads `irsa_jwks` from the sandbox cluster (provider attached
//!   with TF_REATTACH_PROVIDERS so its own /proc entry can be read);
//! - reading the JWKS through the provider (a cold read: start, handshake,
//!   configure, ReadDataSource; and a warm ReadDataSource) against
//!   `kubectl get --raw /openid/v1/jwks | jq -c .`, medians of 20;
//! - `irsa_oidc_issuer` (CloudFront hosting, moto behind the fault proxy):
//!   the AWS calls of one refresh by service; the round trips on its
//!   critical path with a fixed 100 ms delay on every AWS request, as
//!   (wall time of `terraform plan -refresh-only` with the delay - the same
//!   without) / 100 ms and as 1 + (last - first request arrival) / 100 ms;
//!   and fleets of 1, 10 and 50 issuers: plan wall
//!   time, provider peak RSS, AWS calls (they should grow linearly).
//!
//! `bench/run --issuer` prints only the issuer figures; `bench/run --host
//! [--deploy-secs T]` only the issuer host's (see `host.rs`).

mod host;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use irsa_acceptance::fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use irsa_acceptance::plugin_client::{
    dynamic_value, object_of, proto, PluginProcess, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
};
use proto::provider_client::ProviderClient;
use tfplugin::Value;
use tokio::io::AsyncBufReadExt;

const RUNS: usize = 20;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn release_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("IRSA_PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/terraform-provider-irsa"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let bin = release_binary();
    if !bin.exists() {
        bail!(
            "{} is missing: run bench/run (it builds the release binary)",
            bin.display()
        );
    }
    // The protocol client below starts this binary.
    std::env::set_var("IRSA_PROVIDER_BIN", &bin);
    println!("provider binary: {}", bin.display());
    let size = std::fs::metadata(&bin)?.len();
    println!(
        "binary size:                     {:.1} MiB ({size} bytes)",
        size as f64 / 1048576.0
    );

    if std::env::args().any(|a| a == "--host") {
        // Only the irsa_issuer_host figures (moto, Terraform).
        return host::host_figures(&bin).await;
    }
    if std::env::args().any(|a| a == "--issuer") {
        // Only the irsa_oidc_issuer figures (moto, Terraform).
        return issuer_figures(&bin).await;
    }
    let handshake = handshake_median(&bin).await?;
    println!(
        "exec -> handshake (median of {RUNS}): {}   target <= 20 ms",
        ms(handshake)
    );

    let dir = tempfile::tempdir()?;
    let server = FakeApiServer::start(FakeApiServerConfig::default()).await?;
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;

    match plan_peak_rss(&bin, &kubeconfig, dir.path()).await {
        Ok(kib) => println!(
            "provider peak RSS in terraform plan: {:.1} MiB   target <= 30 MiB",
            kib as f64 / 1024.0
        ),
        Err(e) => println!("provider peak RSS in terraform plan: not measured ({e:#})"),
    }

    let (cold, warm) = provider_read(&kubeconfig).await?;
    println!("irsa_jwks read, cold (median of {RUNS}): {}  (process start + handshake + configure + read)", ms(cold));
    println!(
        "irsa_jwks read, warm (median of {RUNS}): {}  (ReadDataSource on a running provider)",
        ms(warm)
    );
    match kubectl_jq(&kubeconfig).await {
        Ok(old) => {
            println!("kubectl get --raw | jq -c (median of {RUNS}): {}", ms(old));
            println!(
                "ratio kubectl+jq / provider: cold {:.1}x, warm {:.1}x   target > 1x",
                old.as_secs_f64() / cold.as_secs_f64(),
                old.as_secs_f64() / warm.as_secs_f64()
            );
        }
        Err(e) => println!("kubectl get --raw | jq -c: not measured ({e:#})"),
    }
    server.shutdown().await;

    if let Err(e) = issuer_figures(&bin).await {
        println!("irsa_oidc_issuer refresh: not measured ({e:#})");
    }
    Ok(())
}

/// The moto, counting/delaying proxy and hosted zone the issuer figures use.
struct IssuerBench {
    _moto: irsa_acceptance::sandbox::Moto,
    proxy: irsa_acceptance::fault_proxy::FaultProxy,
    zone: String,
    bin: PathBuf,
    terraform: String,
}

/// A work dir with `n` CloudFront-hosted issuers (`bench0`...), through the proxy.
struct Fleet {
    dir: tempfile::TempDir,
}

/// AWS figures of one `terraform plan` (its refresh) of a fleet.
struct PlanFigures {
    took: Duration,
    calls: usize,
    by_service: String,
    rss_kib: Option<u64>,
}

/// Applies one CloudFront issuer against moto behind a counting proxy and
/// measures its refresh: the AWS calls, and with a fixed delay on every
/// request the round trips on the critical path; then fleets of 1, 10
/// and 50 issuers: plan time, provider RSS and AWS calls.
async fn issuer_figures(bin: &Path) -> anyhow::Result<()> {
    let b = IssuerBench::start(bin).await?;
    // One issuer: calls per refresh, and round trips with a 100 ms delay.
    let one = b.fleet(1).await?;
    let f = b.plan(&one, false).await?;
    println!(
        "irsa_oidc_issuer refresh (CloudFront hosting, moto): {} AWS calls ({})   target: fewer than 14, Route53 1",
        f.calls, f.by_service
    );
    // Round trips: the delay D on every request makes each wave of
    // requests that waits for the one before cost D more. Measured twice:
    // from the wall time (min of 5 with the delay - min of 5 without) / D,
    // and from the proxy's log: 1 + (last arrival - first arrival) / D.
    let delay = Duration::from_millis(100);
    let mut plain = Vec::new();
    let mut slow = Vec::new();
    let mut spans = Vec::new();
    for _ in 0..5 {
        plain.push(b.refresh_only(&one).await?);
        b.proxy.set_delay(delay);
        let before = b.proxy.log().len();
        slow.push(b.refresh_only(&one).await?);
        b.proxy.set_delay(Duration::ZERO);
        let log = b.proxy.log();
        let refresh = &log[before..];
        if let (Some(first), Some(last)) = (refresh.first(), refresh.last()) {
            spans.push(last.at.saturating_sub(first.at));
        }
    }
    let (plain, slow) = (
        plain.into_iter().min().unwrap_or_default(),
        slow.into_iter().min().unwrap_or_default(),
    );
    let trips = (slow.as_secs_f64() - plain.as_secs_f64()) / delay.as_secs_f64();
    let span = median(spans);
    let waves = 1.0 + span.as_secs_f64() / delay.as_secs_f64();
    println!(
        "irsa_oidc_issuer refresh round trips on the critical path: {trips:.2} (wall time), {waves:.2} (request arrivals)   target <= 2"
    );
    println!(
        "  ({} ms on every AWS request; terraform plan -refresh-only, min of 5: {} with the delay, {} without; \
         first to last request arrival with the delay, median: {})",
        delay.as_millis(),
        ms(slow),
        ms(plain),
        ms(span)
    );
    b.destroy(&one).await?;
    // Fleets.
    println!("fleet of CloudFront issuers, one terraform plan each (refresh of every issuer):");
    println!(
        "  issuers | plan wall time | provider peak RSS | AWS calls | calls/issuer | Route53 calls"
    );
    for n in [1usize, 10, 50] {
        let fleet = b.fleet(n).await?;
        let f = b.plan(&fleet, true).await?;
        let r53 = f
            .by_service
            .split(", ")
            .find_map(|x| x.strip_prefix("route53 "))
            .unwrap_or("0")
            .to_string();
        println!(
            "  {n:>7} | {:>14} | {:>17} | {:>9} | {:>12.1} | {r53}",
            ms(f.took),
            f.rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "-".into()),
            f.calls,
            f.calls as f64 / n as f64
        );
        b.destroy(&fleet).await?;
    }
    Ok(())
}

impl IssuerBench {
    async fn start(bin: &Path) -> anyhow::Result<IssuerBench> {
        use irsa_acceptance::fault_proxy::FaultProxy;
        use irsa_acceptance::sandbox::{Moto, MotoConfig};
        let moto = Moto::start_with(MotoConfig {
            acm_validation_wait_secs: 0,
            ..Default::default()
        })
        .await?;
        let proxy = FaultProxy::start(&moto.endpoint).await?;
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        let settings = irsa::aws::AwsSettings {
            region: Some("us-east-1".into()),
            endpoints: irsa::aws::Endpoints {
                route53: Some(moto.endpoint.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let clients = irsa::aws::AwsClients::build(&settings).await?;
        let zone = clients
            .route53
            .create_hosted_zone()
            .name("bench.example.com")
            .caller_reference("bench")
            .send()
            .await?
            .hosted_zone
            .context("no zone")?
            .id
            .trim_start_matches("/hostedzone/")
            .to_string();
        Ok(IssuerBench {
            _moto: moto,
            proxy,
            zone,
            bin: bin.to_path_buf(),
            terraform: std::env::var("TF_ACC_TERRAFORM_PATH")
                .unwrap_or_else(|_| "terraform".into()),
        })
    }

    fn command(&self, fleet: &Fleet, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(fleet.dir.path())
            .env("TF_CLI_CONFIG_FILE", fleet.dir.path().join("terraformrc"))
            .env("AWS_ENDPOINT_URL", self.proxy.url())
            .env("AWS_REGION", "us-east-1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null());
        cmd
    }

    async fn run(&self, fleet: &Fleet, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let out = self.command(fleet, args).output().await?;
        if !out.status.success() {
            bail!(
                "terraform {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }

    /// Writes and applies `n` issuers.
    async fn fleet(&self, n: usize) -> anyhow::Result<Fleet> {
        let dir = tempfile::tempdir()?;
        let pem = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/acceptance/fixtures/rsa2048.pub.pem"),
        )?;
        std::fs::write(dir.path().join("sa.pub"), pem)?;
        let mut hcl = String::from(
            "terraform {\n  required_providers {\n    irsa = { source = \"irsa/irsa\" }\n  }\n}\n\
             provider \"irsa\" {\n  s3_use_path_style = true\n}\n\
             data \"irsa_jwks\" \"k\" {\n  public_keys_pem = [file(\"sa.pub\")]\n}\n",
        );
        for i in 0..n {
            hcl.push_str(&format!(
                "resource \"irsa_oidc_issuer\" \"bench{i}\" {{\n  name = \"bench{i}\"\n  \
                 domain = \"oidc{i}.bench.example.com\"\n  route53_zone_id = \"{}\"\n  \
                 jwks = data.irsa_jwks.k.json\n}}\n",
                self.zone
            ));
        }
        std::fs::write(dir.path().join("main.tf"), hcl)?;
        let provider_dir = self.bin.parent().context("binary dir")?;
        std::fs::write(
            dir.path().join("terraformrc"),
            format!("provider_installation {{\n  dev_overrides {{ \"irsa/irsa\" = \"{}\" }}\n  direct {{}}\n}}\n", provider_dir.display()),
        )?;
        let fleet = Fleet { dir };
        self.run(
            &fleet,
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        )
        .await?;
        Ok(fleet)
    }

    async fn destroy(&self, fleet: &Fleet) -> anyhow::Result<()> {
        self.run(
            fleet,
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
        )
        .await
        .map(|_| ())
    }

    /// Wall time of `terraform plan -refresh-only` (which must find nothing).
    async fn refresh_only(&self, fleet: &Fleet) -> anyhow::Result<Duration> {
        let start = Instant::now();
        self.run(
            fleet,
            &["plan", "-refresh-only", "-input=false", "-no-color"],
        )
        .await?;
        Ok(start.elapsed())
    }

    /// A `terraform plan` that must be empty: its wall time, the AWS calls
    /// it made and (`rss`: the provider started by us and attached with
    /// TF_REATTACH_PROVIDERS) the provider's peak RSS.
    async fn plan(&self, fleet: &Fleet, rss: bool) -> anyhow::Result<PlanFigures> {
        let mut provider = None;
        let mut cmd = self.command(
            fleet,
            &["plan", "-input=false", "-no-color", "-detailed-exitcode"],
        );
        if rss {
            let mut child = tokio::process::Command::new(&self.bin)
                .arg("--debug")
                .env("AWS_ENDPOINT_URL", self.proxy.url())
                .env("AWS_REGION", "us-east-1")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let pid = child.id().context("pid")?;
            let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
            let reattach = loop {
                let line = lines
                    .next_line()
                    .await?
                    .context("provider exited before printing TF_REATTACH_PROVIDERS")?;
                if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
                    break rest.trim_end_matches('\'').to_string();
                }
            };
            cmd.env("TF_REATTACH_PROVIDERS", reattach);
            provider = Some((child, pid, lines));
        }
        let before = self.proxy.log().len();
        let start = Instant::now();
        let out = cmd.output().await?;
        let took = start.elapsed();
        if out.status.code() != Some(0) {
            bail!(
                "plan after apply is not empty: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let log = self.proxy.log();
        let refresh = &log[before..];
        let mut per: std::collections::BTreeMap<String, u64> = Default::default();
        for r in refresh {
            *per.entry(r.service.clone().unwrap_or_else(|| "-".into()))
                .or_default() += 1;
        }
        let by_service = per
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rss_kib = match provider {
            Some((mut child, pid, _lines)) => {
                let hwm = vm_hwm(pid);
                child.kill().await?;
                Some(hwm?)
            }
            None => None,
        };
        Ok(PlanFigures {
            took,
            calls: refresh.len(),
            by_service,
            rss_kib,
        })
    }
}

/// Peak RSS (VmHWM) of a process, KiB.
fn vm_hwm(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc status")
}

async fn handshake_median(bin: &Path) -> anyhow::Result<Duration> {
    let cert = irsa_acceptance::plugin_client::ClientIdentity::terraform_like().cert_pem;
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut child = tokio::process::Command::new(bin)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "6")
            .env("PLUGIN_CLIENT_CERT", &cert)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        lines.next_line().await?.context("no handshake line")?;
        times.push(start.elapsed());
        child.kill().await?;
    }
    Ok(median(times))
}

/// Runs `terraform plan` against the provider started in debug mode and
/// returns its VmHWM in KiB.
async fn plan_peak_rss(bin: &Path, kubeconfig: &Path, dir: &Path) -> anyhow::Result<u64> {
    let mut child = tokio::process::Command::new(bin)
        .arg("--debug")
        .env("KUBE_CONFIG_PATH", kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("pid")?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let reattach = loop {
        let line = lines
            .next_line()
            .await?
            .context("provider exited before printing TF_REATTACH_PROVIDERS")?;
        if let Some(rest) = line.trim().strip_prefix("TF_REATTACH_PROVIDERS='") {
            break rest.trim_end_matches('\'').to_string();
        }
    };
    let work = dir.join("plan");
    std::fs::create_dir_all(&work)?;
    std::fs::write(
        work.join("main.tf"),
        "terraform {\n  required_providers {\n    irsa = { source = \"irsa/irsa\" }\n  }\n}\nprovider \"irsa\" {}\n\
         data \"irsa_jwks\" \"cluster\" {}\noutput \"kids\" { value = data.irsa_jwks.cluster.keys[*].kid }\n",
    )?;
    std::fs::write(work.join("terraformrc"), "")?;
    let terraform = std::env::var("TF_ACC_TERRAFORM_PATH").unwrap_or_else(|_| "terraform".into());
    let out = tokio::process::Command::new(&terraform)
        .args(["plan", "-input=false", "-no-color", "-refresh=true"])
        .current_dir(&work)
        .env("TF_REATTACH_PROVIDERS", &reattach)
        .env("TF_CLI_CONFIG_FILE", work.join("terraformrc"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .await
        .with_context(|| format!("running {terraform}"))?;
    if !out.status.success() {
        bail!(
            "terraform plan failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc status")?;
    child.kill().await?;
    Ok(hwm)
}

fn provider_config(kubeconfig: &Path) -> (tfplugin::Block, Value) {
    let block = irsa::provider::config::schema().block;
    let kube_block = block
        .blocks
        .iter()
        .find(|b| b.type_name == "kubernetes")
        .unwrap()
        .block
        .clone();
    let kube = object_of(
        &kube_block,
        vec![
            (
                "config_path",
                Value::string(kubeconfig.display().to_string()),
            ),
            ("exec", Value::List(vec![])),
        ],
    );
    let cfg = object_of(&block, vec![("kubernetes", Value::List(vec![kube]))]);
    (block, cfg)
}

async fn read_once(client: &mut ProviderClient<tonic::transport::Channel>) -> anyhow::Result<()> {
    let block = irsa::data_sources::jwks::schema().block;
    let r = client
        .read_data_source(proto::read_data_source::Request {
            type_name: "irsa_jwks".into(),
            config: Some(dynamic_value(&block, &object_of(&block, vec![]))),
            provider_meta: None,
            client_capabilities: None,
        })
        .await?
        .into_inner();
    if !r.diagnostics.is_empty() {
        bail!("read failed: {:?}", r.diagnostics);
    }
    Ok(())
}

async fn provider_read(kubeconfig: &Path) -> anyhow::Result<(Duration, Duration)> {
    let (block, cfg) = provider_config(kubeconfig);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let p = PluginProcess::start(&[]).await?;
        let mut client = ProviderClient::new(p.connect().await?);
        client
            .configure_provider(proto::configure_provider::Request {
                terraform_version: "bench".into(),
                config: Some(dynamic_value(&block, &cfg)),
                client_capabilities: None,
            })
            .await?;
        read_once(&mut client).await?;
        cold.push(start.elapsed());
        let start = Instant::now();
        read_once(&mut client).await?;
        warm.push(start.elapsed());
    }
    Ok((median(cold), median(warm)))
}

async fn kubectl_jq(kubeconfig: &Path) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    let cmd = format!(
        "kubectl --kubeconfig '{}' get --raw /openid/v1/jwks | jq -c . >/dev/null",
        kubeconfig.display()
    );
    for _ in 0..RUNS {
        let start = Instant::now();
        let status = tokio::process::Command::new("bash")
            .args(["-o", "pipefail", "-c", &cmd])
            .status()
            .await?;
        if !status.success() {
            bail!("the kubectl | jq pipeline failed ({status})");
        }
        times.push(start.elapsed());
    }
    Ok(median(times))
}
