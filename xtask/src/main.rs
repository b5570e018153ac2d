//! Developer tasks, out of the test crates: `cargo xtask <task>` (the alias
//! is in `.cargo/config.toml`).
//!
//! - `docs [--check] [ROOT]`: write `docs/` from the provider's schemas,
//!   `examples/` and `templates/` (`--check`: compare, fail when it
//!   differs). Builds only the provider and `tfplugin`. `scripts/docs` runs it.
//! - `release ARGS...`: `scripts/release` (the registry's artifact set).
//! - `cross-build ARGS...`: `scripts/cross-build` (windows build check).
//! - `bench ARGS...`: `bench/run` (builds the release provider and the
//!   `irsa-bench` crate, prints the figures).
//!
//! The shell scripts stay the entry points CI and the README name; this
//! crate gives them one Rust home and one command.

mod docs;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <docs [--check] [ROOT] | release ARGS... | cross-build ARGS... | bench ARGS...>";

/// The workspace root (this crate is `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

fn script(path: &str, args: &[String]) -> ExitCode {
    let full = workspace_root().join(path);
    match Command::new(&full).args(args).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("xtask: {} exited with {status}", full.display());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask: cannot run {}: {e}", full.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    match task.as_str() {
        "docs" => docs::main(rest),
        "release" => script("scripts/release", rest),
        "cross-build" => script("scripts/cross-build", rest),
        "bench" => script("bench/run", rest),
        _ => {
            eprintln!("xtask: unknown task {task:?}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}
