//! Every example under `examples/` passes `terraform validate` on every
//! Terraform version the harness runs: the registry pages show them, so
//! they must be valid configurations. Each example directory is copied into
//! a work dir; a `versions.tf` with `required_providers` is added where the
//! example has none (registry examples leave it out), and files the example
//! reads with `file("${path.module}/...")` are written with a real PEM public
//! key.

use std::path::{Path, PathBuf};

use irsa_acceptance::harness::{each_terraform, workspace_root, Workdir, REQUIRED_PROVIDERS};

/// Directories under examples/ holding .tf files (modules included).
fn example_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir);
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_validates() {
    let examples = workspace_root().join("examples");
    let dirs = example_dirs(&examples);
    for want in [
        "provider",
        "quickstart",
        "resources/irsa_oidc_issuer",
        "data-sources/irsa_jwks",
    ] {
        assert!(
            dirs.iter().any(|d| d.ends_with(want)),
            "examples/{want} is missing"
        );
    }
    let pem =
        std::fs::read_to_string(workspace_root().join("tests/acceptance/fixtures/rsa2048.pub.pem"))
            .unwrap();
    let file_ref = regex::Regex::new(r#"file\("\$\{path\.module\}/([^"]+)"\)"#).unwrap();
    each_terraform(|tf| {
        let (dirs, pem, file_ref, examples) = (
            dirs.clone(),
            pem.clone(),
            file_ref.clone(),
            examples.clone(),
        );
        async move {
            let label = tf.label();
            let mut failures = Vec::new();
            for dir in &dirs {
                let wd = Workdir::new(&tf, "");
                let mut has_required = false;
                for e in std::fs::read_dir(dir).unwrap().flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "tf") {
                        let text = std::fs::read_to_string(&p).unwrap();
                        has_required |= text.contains("required_providers");
                        for c in file_ref.captures_iter(&text) {
                            wd.write_file(&c[1], &pem);
                        }
                        wd.write_file(p.file_name().unwrap().to_str().unwrap(), &text);
                    }
                }
                // Workdir::new wrote an empty main.tf; an example's own
                // main.tf (copied above) replaced it.
                if !has_required {
                    wd.write_file("versions.tf", REQUIRED_PROVIDERS);
                }
                let out = wd.run(&["validate", "-no-color"]).await;
                let name = dir.strip_prefix(&examples).unwrap().display().to_string();
                if out.success() {
                    eprintln!("[{label}] ok: examples/{name}");
                } else {
                    failures.push(format!("examples/{name}:\n{out}"));
                }
            }
            assert!(
                failures.is_empty(),
                "[{label}] examples that do not validate:\n{}",
                failures.join("\n")
            );
        }
    })
    .await;
}
