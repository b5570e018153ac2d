//! What the kubectl-driven tests of the fake API server share: an `Env`
//! that starts the fake and runs the real kubectl against it with its own
//! kubeconfig, cache and HOME, and no proxy settings from the host.
// Each test crate uses a different part of this.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Output, Stdio};

use fake_apiserver::testing::require_tool;
use fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

/// kubectl on PATH, or the test fails (or is reported SKIPPED on purpose).
macro_rules! require_kubectl {
    () => {
        if fake_apiserver::testing::require_tool("kubectl").is_none() {
            return;
        }
    };
}

/// The kubectl on PATH (checked by `require_kubectl!` first).
pub fn kubectl_path() -> PathBuf {
    require_tool("kubectl").expect("kubectl on PATH (require_kubectl! ran first)")
}

pub struct Env {
    pub server: FakeApiServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
}

impl Env {
    pub async fn start(cfg: FakeApiServerConfig) -> Env {
        let server = FakeApiServer::start(cfg)
            .await
            .expect("start fake apiserver");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("write kubeconfig");
        Env {
            server,
            dir,
            kubeconfig,
            kubectl: kubectl_path(),
        }
    }

    pub async fn new() -> Env {
        Env::start(FakeApiServerConfig::default()).await
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            // Keep kubectl's discovery cache (and anything else it writes)
            // out of the real home directory.
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .arg("--request-timeout=30s")
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        for v in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "all_proxy",
        ] {
            c.env_remove(v);
        }
        c
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("run kubectl")
    }

    pub async fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = self.command(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn kubectl");
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(stdin.as_bytes()).await.expect("write stdin");
        drop(pipe);
        child.wait_with_output().await.expect("kubectl output")
    }

    /// Run and insist on success; returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub async fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Run and insist on failure; returns stderr.
    pub async fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            !out.status.success(),
            "kubectl {args:?} should have failed; stdout: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }

    pub async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: not JSON ({e}): {out}"))
    }

    /// `kubectl rollout status`, insisting on success; returns its output.
    pub async fn rollout_status(&self, ns: &str, name: &str) -> String {
        let out = self
            .ok(&[
                "rollout",
                "status",
                &format!("deploy/{name}"),
                "-n",
                ns,
                "--timeout=30s",
            ])
            .await;
        assert!(out.contains("successfully rolled out"), "{out}");
        out
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p.display().to_string()
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
