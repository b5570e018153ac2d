//! Acceptance tests of the list resources (`terraform query`, Terraform
//! 1.14+) with the REAL Terraform CLI: `list "irsa_oidc_issuer"` finds the
//! issuers this provider made in moto's account (both hostings, by the
//! `irsa:name` tag of their buckets, and those on an `irsa_issuer_host` by
//! their IAM OIDC providers' tags; the host itself is no issuer),
//! `list "irsa_webhook"` the webhooks in the fake API server; `terraform
//! query -generate-config-out=...` writes import blocks and configuration
//! (GenerateResourceConfig) that plan `N to import, 0 to add, 0 to change,
//! 0 to destroy`, apply, and then plan nothing. The query files are the registry examples themselves
//! (`examples/list-resources/*/list-resource.tfquery.hcl`), so what the docs
//! show is what runs. Terraform before 1.14 has no `terraform query`: there
//! is nothing to check (the other acceptance tests run every resource on it).
//!
//! Needs: `cargo build -p terraform-provider-irsa`, scripts/setup (moto,
//! Terraform 1.15.5).

use std::time::Duration;

use irsa_acceptance::harness::{
    each_terraform, hcl_string, workspace_root, TerraformBinary, TfOutput, Workdir,
    REQUIRED_PROVIDERS,
};
use irsa_acceptance::issuer_support::*;
use irsa_acceptance::sandbox::Sandbox;

const BODY_LIMIT: Duration = Duration::from_secs(20 * 60);

fn query_exists(tf: &TerraformBinary) -> bool {
    tf.version_tuple() >= (1, 14, 0)
}

fn example_query(resource_type: &str) -> String {
    let p = workspace_root()
        .join("examples/list-resources")
        .join(resource_type)
        .join("list-resource.tfquery.hcl");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The example's query with its `config { ... }` block replaced by
/// `config_body` (empty: no config block) and `include_resource` as given.
fn query(resource_type: &str, config_body: &str, include_resource: bool) -> String {
    let text = example_query(resource_type);
    let start = text
        .find("  # Optional")
        .or_else(|| text.find("  config {"))
        .expect("config block");
    let head = &text[..start];
    let head = if include_resource {
        head.to_string()
    } else {
        head.replace("  include_resource = true\n", "")
    };
    let config = if config_body.is_empty() {
        String::new()
    } else {
        format!("  config {{\n    {config_body}\n  }}\n")
    };
    format!("{head}{config}}}\n")
}

/// `terraform query` with `args`; fails the test unless it succeeds.
async fn run_query(wd: &Workdir, args: &[&str]) -> TfOutput {
    let mut all = vec!["query", "-no-color"];
    all.extend_from_slice(args);
    match wd.run_ok(&all).await {
        Ok(out) => out,
        Err(e) => panic!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_finds_issuers_of_both_hostings_and_generates_their_configuration() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let (moto, key) = (&moto, key.clone());
        bounded(BODY_LIMIT, "issuer query", async move {
            let label = tf.label();
            if !query_exists(&tf) {
                eprintln!("[{label}] no `terraform query` before Terraform 1.14: nothing to check");
                return;
            }
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            // The query's own configuration holds an issuer host (an S3
            // one): the host's bucket is not an issuer's.
            let main = format!(
                "{REQUIRED_PROVIDERS}\n{PROVIDER_BLOCK}\n\
                 resource \"irsa_issuer_host\" \"platform\" {{\n  name    = \"platform\"\n  hosting = \"s3\"\n}}\n"
            );
            let mut wd = Workdir::new(&tf, &main);
            wd.envs(moto.env());
            ok(wd.apply().await);
            // Four issuers made by four configurations whose state is then
            // lost: only AWS knows them. One is on the host.
            let on_host = IssuerHcl {
                hosting: None,
                ..IssuerHcl::s3("prod-team")
            }
            .with("host = \"platform\"")
            .with("path = \"eu/prod-team\"");
            let made = [
                IssuerHcl::s3("prod-s3"),
                IssuerHcl::cloudfront("prod-cf", "oidc.prod.example.com", &zone),
                IssuerHcl::s3("dev-s3"),
                on_host,
            ];
            for hcl in &made {
                let mut made = Workdir::new(&tf, &hcl.render());
                made.envs(moto.env());
                IssuerHcl::write_keys(&made, &[&key]);
                ok(made.apply().await);
                std::fs::remove_file(made.path().join("terraform.tfstate")).expect("forget the state");
            }

            let bucket_url = |n: &str| format!("https://{}.s3.{REGION}.amazonaws.com", bucket_for(n));
            // An issuer on the host with a standalone one's name: its
            // identity would import the standalone one, so it is left out
            // with a warning (its own state is kept, to destroy it).
            let mut twin = Workdir::new(
                &tf,
                &IssuerHcl {
                    hosting: None,
                    ..IssuerHcl::s3("prod-s3")
                }
                .with("host = \"platform\"")
                .with("path = \"twin\"")
                .render(),
            );
            twin.envs(moto.env());
            IssuerHcl::write_keys(&twin, &[&key]);
            ok(twin.apply().await);

            // Every issuer, with its identity and issuer URL; the host is
            // not one.
            wd.write_file("issuers.tfquery.hcl", query("irsa_oidc_issuer", "", false));
            let out = run_query(&wd, &[]).await;
            assert!(
                out.matches(r#"Issuer left out of the list"#)
                    && out.normalized().contains(r#"The issuer "prod-s3" on the host "platform""#),
                "[{label}] the twin on the host is named in a warning:\n{out}"
            );
            assert!(
                !out.stdout.contains(&format!("{}/twin", bucket_url("platform"))),
                "[{label}] the twin is not listed:\n{out}"
            );
            let listed = [
                ("prod-s3", bucket_url("prod-s3")),
                ("prod-cf", "https://oidc.prod.example.com".to_string()),
                ("dev-s3", bucket_url("dev-s3")),
                ("prod-team", format!("{}/eu/prod-team", bucket_url("platform"))),
            ];
            for (name, url) in &listed {
                assert!(
                    out.stdout.lines().any(|l| l.contains(url.as_str()) && l.contains(name)),
                    "[{label}] {name} ({url}) not listed:\n{out}"
                );
            }
            assert!(out.stdout.contains(ACCOUNT_ID), "[{label}] the identity's account:\n{out}");
            assert!(
                !out.stdout.lines().any(|l| l.trim_end().ends_with(&bucket_url("platform")))
                    && !out.stdout.contains("name=platform "),
                "[{label}] the host is not an issuer:\n{out}"
            );
            let results = out.stdout.lines().filter(|l| l.starts_with("list.irsa_oidc_issuer.")).count();
            assert_eq!(results, listed.len(), "[{label}] one line per issuer:\n{out}");

            // The example's filter: only names starting with "prod-".
            wd.write_file("issuers.tfquery.hcl", example_query("irsa_oidc_issuer"));
            let out = run_query(&wd, &[]).await;
            for name in ["prod-s3", "prod-cf", "prod-team"] {
                assert!(out.stdout.contains(name), "[{label}] {name}:\n{out}");
            }
            assert!(!out.stdout.contains("dev-s3"), "[{label}] the prefix filters:\n{out}");

            // A bad prefix is refused naming the attribute, before any call.
            wd.write_file("issuers.tfquery.hcl", query("irsa_oidc_issuer", "name_prefix = \"Prod_\"", false));
            let bad = wd.run(&["query", "-no-color"]).await;
            assert!(!bad.success(), "[{label}] a bad prefix must fail:\n{bad}");
            bad.assert_matches(r"Invalid name prefix");

            // Adopt every issuer in two commands.
            wd.write_file("issuers.tfquery.hcl", query("irsa_oidc_issuer", "", true));
            run_query(&wd, &["-generate-config-out=generated.tf"]).await;
            let generated = std::fs::read_to_string(wd.path().join("generated.tf")).expect("generated.tf");
            assert_eq!(generated.matches("import {").count(), 4, "[{label}]\n{generated}");
            assert!(generated.contains("identity = {"), "[{label}]\n{generated}");
            assert!(generated.contains("jsonencode("), "[{label}] jwks as jsonencode:\n{generated}");
            for computed in ["issuer_url", "published_jwks", "bucket_settings"] {
                assert!(
                    !generated.contains(&format!("{computed} ")),
                    "[{label}] the computed {computed} is not configuration:\n{generated}"
                );
            }
            let plan = wd.run(&["plan", "-no-color"]).await;
            assert!(
                plan.matches(r"Plan: 4 to import, 0 to add, 0 to change, 0 to destroy"),
                "[{label}] expected 4 to import and nothing else:\n{plan}\n--- generated.tf ---\n{generated}"
            );
            ok(wd.apply().await);
            wd.plan_is_empty().await;
            // The generated issuer names its host by id (a string, no
            // reference): the issuers go first, then the host.
            let issuers: Vec<String> = ok(wd.run_ok(&["state", "list"]).await)
                .stdout
                .lines()
                .filter(|l| l.starts_with("irsa_oidc_issuer."))
                .map(|l| format!("-target={l}"))
                .collect();
            assert_eq!(issuers.len(), 4, "[{label}] {issuers:?}");
            let mut destroy = vec!["destroy", "-auto-approve", "-no-color"];
            destroy.extend(issuers.iter().map(String::as_str));
            ok(wd.run_ok(&destroy).await);
            ok(twin.destroy().await);
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_finds_webhooks_and_generates_their_configuration() {
    each_terraform(|tf| async move {
        let label = tf.label();
        if !query_exists(&tf) {
            eprintln!("[{label}] no `terraform query` before Terraform 1.14: nothing to check");
            return;
        }
        let sandbox = Sandbox::start_kube_only().await;
        let provider = format!(
            "{REQUIRED_PROVIDERS}\nprovider \"irsa\" {{\n  kubernetes {{\n    config_path = {}\n  }}\n}}\n",
            hcl_string(&sandbox.kubeconfig_path().display().to_string())
        );
        let made = Workdir::new(
            &tf,
            &format!(
                "{provider}\nresource \"irsa_webhook\" \"this\" {{\n  aws_region = \"eu-west-1\"\n  replicas = 1\n  failure_policy = \"Fail\"\n  tolerations = [{{ key = \"node-role.kubernetes.io/control-plane\", operator = \"Exists\", effect = \"NoSchedule\" }}]\n}}\n"
            ),
        );
        made.apply().await.expect("apply");
        std::fs::remove_file(made.path().join("terraform.tfstate")).expect("forget the state");

        let wd = Workdir::new(&tf, &provider);
        wd.write_file("webhooks.tfquery.hcl", example_query("irsa_webhook"));
        let out = run_query(&wd, &[]).await;
        assert!(out.stdout.contains("kube-system/pod-identity-webhook"), "[{label}]\n{out}");
        wd.write_file("webhooks.tfquery.hcl", query("irsa_webhook", "namespace = \"default\"", false));
        let out = run_query(&wd, &[]).await;
        assert!(!out.stdout.contains("pod-identity-webhook"), "[{label}] namespace filter:\n{out}");

        wd.write_file("webhooks.tfquery.hcl", query("irsa_webhook", "", true));
        run_query(&wd, &["-generate-config-out=generated.tf"]).await;
        let generated = std::fs::read_to_string(wd.path().join("generated.tf")).expect("generated.tf");
        assert_eq!(generated.matches("import {").count(), 1, "[{label}]\n{generated}");
        assert!(generated.contains("failure_policy"), "[{label}]\n{generated}");
        let plan = wd.run(&["plan", "-no-color"]).await;
        assert!(
            plan.matches(r"Plan: 1 to import, 0 to add, 0 to change, 0 to destroy"),
            "[{label}] expected 1 to import and nothing else:\n{plan}\n--- generated.tf ---\n{generated}"
        );
        wd.apply().await.expect("apply");
        wd.plan_is_empty().await;
        wd.destroy().await.expect("destroy");
    })
    .await;
}
