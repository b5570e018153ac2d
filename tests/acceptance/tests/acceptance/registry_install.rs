//! The release artifacts install the way a registry consumer gets them, on
//! every Terraform version the harness runs: `scripts/release` packages the
//! built provider (zip with `terraform-provider-irsa_v<ver>`, manifest,
//! SHA256SUMS, a GPG signature), the zip goes into a `filesystem_mirror`,
//! and `terraform init` + `plan` run with `source =
//! "registry.example.com/irsa/irsa"` and a version constraint. The lock
//! file must record the version and the zip's `zh:` hash from SHA256SUMS,
//! and a second `init` with that lock file must succeed unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use irsa_acceptance::harness::{each_terraform, provider_binary_dir, workspace_root, Workdir};

const HOST_SOURCE: &str = "registry.example.com/irsa/irsa";

fn crate_version() -> String {
    let text = std::fs::read_to_string(workspace_root().join("provider/Cargo.toml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in provider/Cargo.toml")
        .to_string()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packages the debug build for linux_amd64, signed with a fresh key.
fn package(dist: &Path, gnupg: &Path, version: &str) {
    std::fs::create_dir_all(gnupg).unwrap();
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", gnupg).args(["--batch"]).args(args);
        c
    };
    run(&mut gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        "release-test@irsa.invalid",
        "default",
        "default",
        "never",
    ]));
    let bin = provider_binary_dir().join("terraform-provider-irsa");
    run(Command::new(workspace_root().join("scripts/release"))
        .env("GNUPGHOME", gnupg)
        .arg("--from-binary")
        .arg(&bin)
        .args(["--targets", "linux_amd64", "--version", version])
        .arg("--out")
        .arg(dist)
        .args(["--gpg-key", "release-test@irsa.invalid"]));
    let sums = dist.join(format!("terraform-provider-irsa_{version}_SHA256SUMS"));
    run(gpg(&["--verify"])
        .arg(
            sums.with_extension("sig")
                .with_file_name(format!("terraform-provider-irsa_{version}_SHA256SUMS.sig")),
        )
        .arg(&sums));
}

#[test]
fn release_artifacts_have_the_registry_layout() {
    let version = crate_version();
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    package(&dist, &tmp.path().join("gnupg"), &version);
    let zip = dist.join(format!("terraform-provider-irsa_{version}_linux_amd64.zip"));
    let listing = run(Command::new("unzip").arg("-Z1").arg(&zip));
    assert_eq!(
        listing.trim(),
        format!("terraform-provider-irsa_v{version}"),
        "the zip holds exactly the versioned binary"
    );
    let manifest = std::fs::read_to_string(
        dist.join(format!("terraform-provider-irsa_{version}_manifest.json")),
    )
    .unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(m["version"], 1);
    assert_eq!(
        m["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let sums =
        std::fs::read_to_string(dist.join(format!("terraform-provider-irsa_{version}_SHA256SUMS")))
            .unwrap();
    let names: Vec<&str> = sums
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        names,
        [
            format!("terraform-provider-irsa_{version}_linux_amd64.zip"),
            format!("terraform-provider-irsa_{version}_manifest.json"),
        ],
        "SHA256SUMS lists the zip and the manifest"
    );
    // The binary inside reports the release version.
    let out =
        run(Command::new(provider_binary_dir().join("terraform-provider-irsa")).arg("--version"));
    assert_eq!(out.trim(), format!("terraform-provider-irsa {version}"));
}

fn zip_sha256(dist: &Path, version: &str) -> String {
    let sums =
        std::fs::read_to_string(dist.join(format!("terraform-provider-irsa_{version}_SHA256SUMS")))
            .unwrap();
    sums.lines()
        .find(|l| l.ends_with("_linux_amd64.zip"))
        .and_then(|l| l.split_whitespace().next())
        .expect("zip line in SHA256SUMS")
        .to_string()
}

/// Terraform's `h1:` package hash (golang.org/x/mod dirhash Hash1) of a
/// package holding only the versioned binary: base64(SHA-256 of the lines
/// "<hex sha256>  <name>\n", sorted by name).
fn h1_of_binary(bin: &Path, version: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let body = std::fs::read(bin).unwrap();
    let line = format!(
        "{:x}  terraform-provider-irsa_v{version}\n",
        Sha256::digest(&body)
    );
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line.as_bytes()))
    )
}

const CONFIG: &str = r#"terraform {
  required_providers {
    irsa = {
      source  = "registry.example.com/irsa/irsa"
      version = "~> 0.1"
    }
  }
}

data "irsa_jwks" "k" {
  public_keys_pem = [file("${path.module}/key.pem")]
}

output "kids" {
  value = [for k in data.irsa_jwks.k.keys : k.kid]
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packaged_release_installs_from_a_filesystem_mirror() {
    let version = crate_version();
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    package(&dist, &tmp.path().join("gnupg"), &version);
    // Packed layout: HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_TARGET.zip
    let mirror = tmp.path().join("mirror");
    let dir: PathBuf = mirror.join(HOST_SOURCE);
    std::fs::create_dir_all(&dir).unwrap();
    let zip_name = format!("terraform-provider-irsa_{version}_linux_amd64.zip");
    std::fs::copy(dist.join(&zip_name), dir.join(&zip_name)).unwrap();
    let want_zh = format!("zh:{}", zip_sha256(&dist, &version));
    let want_h1 = h1_of_binary(
        &provider_binary_dir().join("terraform-provider-irsa"),
        &version,
    );
    let key =
        std::fs::read_to_string(workspace_root().join("tests/acceptance/fixtures/rsa2048.pub.pem"))
            .unwrap();

    each_terraform(|tf| {
        let (mirror, version, want_zh, want_h1, key) = (
            mirror.clone(),
            version.clone(),
            want_zh.clone(),
            want_h1.clone(),
            key.clone(),
        );
        async move {
            let label = tf.label();
            let wd = Workdir::new(&tf, CONFIG);
            wd.write_file("key.pem", &key);
            std::fs::write(
                wd.cli_config_path(),
                format!(
                    "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{HOST_SOURCE}\"]\n  }}\n}}\n",
                    mirror.display()
                ),
            )
            .unwrap();
            let out = wd.run(&["init", "-no-color", "-input=false"]).await;
            assert!(out.success(), "[{label}] terraform init:\n{out}");
            assert!(
                out.matches(&format!(r"Installed {}.* v{}", regex::escape(HOST_SOURCE), regex::escape(&version)))
                    || out.matches(&format!(r"Installing {}.* v{}", regex::escape(HOST_SOURCE), regex::escape(&version))),
                "[{label}] init should install {HOST_SOURCE} v{version}:\n{out}"
            );
            let lock = std::fs::read_to_string(wd.path().join(".terraform.lock.hcl")).unwrap();
            assert!(
                lock.contains(&format!("provider \"{HOST_SOURCE}\""))
                    && lock.contains(&format!("version     = \"{version}\""))
                    && lock.contains("constraints = \"~> 0.1\""),
                "[{label}] lock file:\n{lock}"
            );
            // A local mirror records the h1: hash of the unpacked package.
            assert!(
                lock.contains(&want_h1),
                "[{label}] the lock file records the package's h1 hash ({want_h1}):\n{lock}"
            );
            let plan = wd.run(&["plan", "-no-color", "-input=false"]).await;
            assert!(plan.success(), "[{label}] plan with the installed provider:\n{plan}");
            // With the lock file, a second init checks the hash and changes nothing.
            let again = wd.run(&["init", "-no-color", "-input=false"]).await;
            assert!(again.success(), "[{label}] second init:\n{again}");
            let lock2 = std::fs::read_to_string(wd.path().join(".terraform.lock.hcl")).unwrap();
            assert_eq!(lock, lock2, "[{label}] the lock file is stable");

            // A registry consumer's lock file holds the zh: hashes of
            // SHA256SUMS: Terraform must accept the zip against it, and
            // refuse it against any other.
            for (hash, accepted) in [(want_zh.clone(), true), (format!("zh:{}", "0".repeat(64)), false)] {
                let _ = std::fs::remove_dir_all(wd.path().join(".terraform"));
                std::fs::write(
                    wd.path().join(".terraform.lock.hcl"),
                    format!(
                        "provider \"{HOST_SOURCE}\" {{\n  version     = \"{version}\"\n  constraints = \"~> 0.1\"\n  hashes = [\n    \"{hash}\",\n  ]\n}}\n"
                    ),
                )
                .unwrap();
                let out = wd.run(&["init", "-no-color", "-input=false"]).await;
                if accepted {
                    assert!(out.success(), "[{label}] init against the SHA256SUMS hash:\n{out}");
                } else {
                    assert!(
                        !out.success() && out.matches(r"(?i)checksum|does not match"),
                        "[{label}] init must refuse a zip whose hash is not locked:\n{out}"
                    );
                }
            }
        }
    })
    .await;
}
