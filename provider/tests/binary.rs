//! The `terraform-provider-irsa` binary itself: it starts and tells its
//! version. (Its being an integration test of this package also makes
//! `cargo test` build the binary, with the same library build as the
//! tests', which the acceptance tests then run under Terraform: one build
//! of the workspace instead of a `cargo build` and a `cargo test` one.)

#[test]
fn version_is_the_crate_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_terraform-provider-irsa"))
        .arg("--version")
        .output()
        .expect("run terraform-provider-irsa --version");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("terraform-provider-irsa {}", env!("CARGO_PKG_VERSION"))
    );
}
