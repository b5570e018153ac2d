//! What a test does when a tool it needs is missing, and the report file
//! `scripts/test` reads. Shared by this crate's own tests (kubectl, openssl)
//! and, re-exported by `irsa_acceptance::harness`, by the acceptance tests.
//!
//! * [`require_tool`] finds a tool (kubectl, openssl, ...) on `PATH` or
//!   fails the test with the reason. A skip happens only on purpose:
//!   `IRSA_ALLOW_MISSING_TOOLS=kubectl,openssl` (or `all`) makes a missing
//!   listed tool a skip, written to `IRSA_TEST_REPORT` as
//!   `SKIPPED <test>: <reason>` and printed as SKIPPED by scripts/test.
//! * [`report_line`] appends one line to `IRSA_TEST_REPORT` (scripts/test
//!   sets it; a no-op when unset).

use std::path::{Path, PathBuf};

/// `name` on `PATH`, if it is there.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The name of the running test (libtest names each test's thread after it),
/// else the test executable's name.
pub fn current_test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown-test".to_string()),
    }
}

/// Append one line to the `IRSA_TEST_REPORT` file (no-op when unset). One
/// `write` per line on an append-mode file, so lines from tests running in
/// parallel do not interleave.
pub fn report_line(line: &str) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("IRSA_TEST_REPORT").filter(|p| !p.is_empty()) else {
        return;
    };
    let line = format!("{}\n", line.replace('\n', " "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "cannot append to IRSA_TEST_REPORT={}: {e}",
            Path::new(&path).display()
        );
    }
}

/// Whether `IRSA_ALLOW_MISSING_TOOLS` (comma-separated, or `all`) lists `tool`.
fn missing_tool_allowed(tool: &str) -> bool {
    std::env::var("IRSA_ALLOW_MISSING_TOOLS").is_ok_and(|v| {
        v.split([',', ' '])
            .map(str::trim)
            .any(|t| t == "all" || t == tool)
    })
}

/// What a test does when something it needs is missing: with the tool
/// listed in `IRSA_ALLOW_MISSING_TOOLS` the test is recorded as SKIPPED (in
/// `IRSA_TEST_REPORT` and on stderr) and `false` is returned, so the caller
/// returns; otherwise the test fails with `reason`.
pub fn missing_tool(tool: &str, reason: &str) -> bool {
    let test = current_test_name();
    if missing_tool_allowed(tool) {
        eprintln!("SKIPPED {test}: {reason} (allowed by IRSA_ALLOW_MISSING_TOOLS)");
        report_line(&format!("SKIPPED {test}: {reason}"));
        false
    } else {
        panic!(
            "{test}: {reason}. Install it, or skip on purpose with \
             IRSA_ALLOW_MISSING_TOOLS={tool} (reported as SKIPPED)."
        );
    }
}

/// `tool` on `PATH`; when it is not there see [`missing_tool`] (`None`
/// means: skipped on purpose, return from the test).
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    match which(tool) {
        Some(path) => Some(path),
        None => {
            missing_tool(tool, &format!("`{tool}` not found on PATH"));
            None
        }
    }
}
