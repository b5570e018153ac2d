//! `docs/` is what `cargo xtask docs` generates from the provider's schemas,
//! `examples/` and `templates/` (run `scripts/docs` to regenerate it).

#[test]
fn docs_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("docs")
        .arg("--check")
        .arg(&root)
        .output()
        .expect("run xtask docs --check");
    assert!(
        out.status.success(),
        "docs/ is not what `scripts/docs` generates:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
