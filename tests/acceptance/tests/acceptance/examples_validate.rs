//! Every example under `examples/` passes `terraform validate` on every
//! Terraform version the harness runs: the registry pages show them, so
//! they must be valid configurations. Each example directory is copied into
//! a work dir; a `versions.tf` with `required_providers` is added where the
//! example has none (registry examples leave it out), and files the example
//! reads with `file("${path.module}/...")` are written with a real PEM public
//! key. A file that shows a feature of a newer Terraform (functions: 1.8,
//! ephemeral resources: 1.10, `import { identity = ... }`: 1.12) is left out
//! on older versions, and an example that configures hashicorp/aws gets the
//! real provider from its filesystem mirror (`terraform init`; reported
//! SKIPPED where the mirror is missing).

use std::path::{Path, PathBuf};

use irsa_acceptance::harness::{
    each_terraform, skip_without, workspace_root, Workdir, REQUIRED_PROVIDERS,
};
use irsa_acceptance::hashicorp_aws;

/// The oldest Terraform that can read the example file `path`.
pub(crate) fn needs(path: &Path) -> (u32, u32, u32) {
    let p = path.display().to_string();
    if p.contains("/functions/") {
        (1, 8, 0)
    } else if p.contains("/ephemeral-resources/") {
        (1, 10, 0)
    } else if path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("import-by-identity"))
    {
        (1, 12, 0)
    } else {
        (1, 0, 0)
    }
}

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
    // A block of hashicorp/aws (not a comment that mentions one).
    let aws_ref =
        regex::Regex::new(r#"(?m)^\s*(provider\s+"aws"|(resource|data)\s+"aws_)"#).unwrap();
    each_terraform(|tf| {
        let (dirs, pem, file_ref, aws_ref, examples) = (
            dirs.clone(),
            pem.clone(),
            file_ref.clone(),
            aws_ref.clone(),
            examples.clone(),
        );
        async move {
            let label = tf.label();
            let mut failures = Vec::new();
            for dir in &dirs {
                let name = dir.strip_prefix(&examples).unwrap().display().to_string();
                let mut files = Vec::new();
                for e in std::fs::read_dir(dir).unwrap().flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "tf") {
                        if tf.version_tuple() < needs(&p) {
                            eprintln!(
                                "[{label}] left out: {} (a newer Terraform's feature)",
                                p.display()
                            );
                            continue;
                        }
                        let text = std::fs::read_to_string(&p).unwrap();
                        files.push((p.file_name().unwrap().to_str().unwrap().to_string(), text));
                    }
                }
                if files.is_empty() {
                    eprintln!("[{label}] skipped: examples/{name} needs a newer Terraform");
                    continue;
                }
                let uses_aws = files.iter().any(|(_, text)| aws_ref.is_match(text));
                let wd = if uses_aws {
                    // The real hashicorp/aws from its mirror, as a user's
                    // `terraform init` installs it.
                    match hashicorp_aws::mirror() {
                        Ok(aws) => Workdir::with_mirrors(&tf, "", &aws),
                        Err(reason) => {
                            skip_without(&format!("examples/{name}: {reason}"));
                            continue;
                        }
                    }
                } else {
                    Workdir::new(&tf, "")
                };
                let mut has_required = false;
                for (file, text) in &files {
                    has_required |= text.contains("required_providers");
                    for c in file_ref.captures_iter(text) {
                        wd.write_file(&c[1], &pem);
                    }
                    wd.write_file(file, text);
                }
                // Workdir::new wrote an empty main.tf; an example's own
                // main.tf (copied above) replaced it.
                if !has_required {
                    wd.write_file("versions.tf", REQUIRED_PROVIDERS);
                }
                if uses_aws {
                    if let Err(e) = wd.init().await {
                        failures.push(format!("examples/{name}: init: {e:#}"));
                        continue;
                    }
                }
                let out = wd.run(&["validate", "-no-color"]).await;
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
