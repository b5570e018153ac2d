//! The oldest Terraform of the matrix (1.0.3) plans and applies every
//! example under `examples/` it can read, copied as a user copies it: the
//! example's files unchanged but for the values that name a user's world
//! (the Route53 zone id, the six AWS endpoints of `examples/provider`), which
//! are swapped for the sandbox's (`AWS_S3_USE_PATH_STYLE=true` for moto). The
//! registry examples (no provider block of their own) run with
//! `examples/provider/provider.tf` beside them, so its `endpoints`,
//! `assume_role` and `kubernetes { config_path = "~/.kube/config",
//! config_context = "my-cluster" }` are what reaches AWS and the cluster:
//! `~/.kube/config` is written in the work dir's `HOME`, its current context
//! a dead one, so only the named context works; neither `KUBE_CONFIG_PATH`
//! nor `AWS_ENDPOINT_URL` is set.
//!
//! Per example: apply, then an empty plan; for a resource example, its
//! `import.sh` run as written (after `terraform state rm` of each address)
//! and an empty plan again; at the end every example destroyed and nothing
//! left in moto or the cluster. The quickstart and the drop-in module are
//! applied on every version by `quickstart.rs` and `acc_module.rs`; files of
//! a newer Terraform's feature (functions, ephemeral resources, identity
//! import, list resources) by their own tests. `examples_validate.rs`
//! validates every example on every version.
//!
//! The world: moto with the zone `example.com` (the examples' domains are
//! under it), the edge serving the issuers' hosts, and three fake clusters
//! whose `--service-account-issuer` is what the examples expect:
//! `https://oidc.prod.example.com` (the issuer and issuer-check examples, the
//! webhook), `https://oidc.platform.example.com/prod-a` (the issuer host)
//! and `https://oidc.example.com` (the JWKS example).

use std::path::{Path, PathBuf};
use std::time::Duration;

use irsa_acceptance::edge::Edge;
use irsa_acceptance::fake_apiserver::{FakeApiServer, FakeApiServerConfig};
use irsa_acceptance::harness::{
    each_terraform, workspace_root, TerraformBinary, Workdir, REQUIRED_PROVIDERS,
};
use irsa_acceptance::issuer_support::{
    assert_nothing_left, bounded, bucket_for, create_zone, ok, resource_values, snapshot, REGION,
};
use irsa_acceptance::sandbox::{MotoConfig, Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::examples_validate::needs;

const LIMIT: Duration = Duration::from_secs(15 * 60);
/// The Terraform that must still apply every example (the issue's floor).
const OLDEST: (u32, u32, u32) = (1, 0, 3);
/// The zone id the examples show; swapped for the sandbox zone's.
const ZONE_PLACEHOLDER: &str = "Z0123456789ABCDEFGHIJ";
const ZONE: &str = "example.com";
const PROD_ISSUER: &str = "https://oidc.prod.example.com";
const PLATFORM_ISSUER: &str = "https://oidc.platform.example.com/prod-a";
const BARE_ISSUER: &str = "https://oidc.example.com";

/// Where an example's `~/.kube/config` points.
#[derive(Clone, Copy, Debug)]
enum Cluster {
    Prod,
    Platform,
    Bare,
}

/// An example directory under `examples/` and how it is run here.
struct Example {
    dir: &'static str,
    cluster: Cluster,
}

/// Applied in this order (the issuer check reads the issuer published by
/// the issuer example), destroyed in reverse.
const EXAMPLES: &[Example] = &[
    Example {
        dir: "provider",
        cluster: Cluster::Prod,
    },
    Example {
        dir: "resources/irsa_oidc_issuer",
        cluster: Cluster::Prod,
    },
    Example {
        dir: "data-sources/irsa_issuer_check",
        cluster: Cluster::Prod,
    },
    Example {
        dir: "resources/irsa_issuer_host",
        cluster: Cluster::Platform,
    },
    Example {
        dir: "resources/irsa_webhook",
        cluster: Cluster::Prod,
    },
    Example {
        dir: "data-sources/irsa_jwks",
        cluster: Cluster::Bare,
    },
    Example {
        dir: "data-sources/irsa_trust_policy",
        cluster: Cluster::Prod,
    },
];

/// Examples applied on every version by other tests.
const APPLIED_ELSEWHERE: &[&str] = &["quickstart", "modules/kubernetes-irsa"];

struct World {
    sandbox: Sandbox,
    platform: FakeApiServer,
    bare: FakeApiServer,
    edge: Edge,
    zone_id: String,
}

impl World {
    async fn start() -> World {
        let sandbox = Sandbox::start_with(SandboxConfig {
            moto: Some(MotoConfig::default()),
            apiserver: cluster_config(PROD_ISSUER),
        })
        .await;
        let moto = sandbox.moto.as_ref().expect("moto");
        let zone_id = create_zone(&moto.endpoint, ZONE).await;
        let edge = ok(Edge::start(&moto.endpoint, REGION).await);
        edge.route("oidc.prod.example.com", &bucket_for("prod-cluster"));
        edge.route("oidc.platform.example.com", &bucket_for("platform"));
        // The issuer check mints a token for default/my-app.
        sandbox.create_service_account("default", "my-app").await;
        World {
            platform: ok(FakeApiServer::start(cluster_config(PLATFORM_ISSUER)).await),
            bare: ok(FakeApiServer::start(cluster_config(BARE_ISSUER)).await),
            sandbox,
            edge,
            zone_id,
        }
    }

    fn cluster(&self, c: Cluster) -> &FakeApiServer {
        match c {
            Cluster::Prod => &self.sandbox.apiserver,
            Cluster::Platform => &self.platform,
            Cluster::Bare => &self.bare,
        }
    }

    fn moto_endpoint(&self) -> &str {
        &self.sandbox.moto.as_ref().expect("moto").endpoint
    }
}

fn cluster_config(issuer: &str) -> FakeApiServerConfig {
    FakeApiServerConfig {
        issuer: issuer.into(),
        ..Default::default()
    }
}

/// A kubeconfig whose context `my-cluster` reaches `server` and whose
/// current context is `current` (`my-cluster`, or a dead `elsewhere`).
fn kubeconfig(server: &FakeApiServer, current: &str) -> String {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(server.ca_pem().as_bytes());
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "sandbox", "cluster": {"server": server.url(),
                                            "certificate-authority-data": ca}},
            {"name": "dead", "cluster": {"server": "https://127.0.0.1:1",
                                         "certificate-authority-data": ca}},
        ],
        "users": [{"name": "sandbox", "user": {"token": server.token()}}],
        "contexts": [
            {"name": "my-cluster", "context": {"cluster": "sandbox", "user": "sandbox"}},
            {"name": "elsewhere", "context": {"cluster": "dead", "user": "sandbox"}},
        ],
        "current-context": current,
    });
    serde_yaml::to_string(&config).expect("kubeconfig YAML")
}

/// `examples/provider/provider.tf` pointed at moto: every endpoint of its
/// `endpoints` block swapped, nothing else.
fn provider_tf(world: &World) -> String {
    let text = read(&examples().join("provider/provider.tf"));
    let endpoint =
        regex::Regex::new(r#"(?m)^(\s*\w+\s*=\s*)"https://[a-z0-9.-]+\.amazonaws\.com""#)
            .expect("regex");
    let swapped = endpoint.replace_all(&text, |c: &regex::Captures| {
        format!("{}\"{}\"", &c[1], world.moto_endpoint())
    });
    assert_eq!(
        endpoint.find_iter(&text).count(),
        6,
        "examples/provider/provider.tf: expected the six endpoints; update this test"
    );
    assert!(!swapped.contains("amazonaws.com"), "{swapped}");
    swapped.into_owned()
}

fn examples() -> PathBuf {
    workspace_root().join("examples")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A work dir holding the example's files as a user copies them (those
/// `tf` can read), the sandbox's values swapped in, and a `~/.kube/config`.
fn workdir(tf: &TerraformBinary, world: &World, ex: &Example) -> Workdir {
    let mut wd = Workdir::new(tf, "");
    let mut config = String::new();
    for e in std::fs::read_dir(examples().join(ex.dir))
        .expect("example dir")
        .flatten()
    {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.extension().is_some_and(|x| x == "tf") {
            if tf.version_tuple() < needs(&p) {
                continue;
            }
            let text = if p.ends_with("provider/provider.tf") {
                provider_tf(world)
            } else {
                read(&p).replace(ZONE_PLACEHOLDER, &world.zone_id)
            };
            config.push_str(&text);
            wd.write_file(&name, text);
        } else if p.extension().is_some_and(|x| x == "pub") {
            wd.write_file(&name, read(&p));
        }
    }
    // An example without its own provider block is used with the provider
    // example, as the registry's pages show them; one without
    // `required_providers` gets it, as a user's configuration has it.
    let mut main = String::new();
    if !config.contains("required_providers") {
        main.push_str(REQUIRED_PROVIDERS);
    }
    if !config.contains("provider \"irsa\"") {
        let provider = provider_tf(world);
        config.push_str(&provider);
        main.push_str(&provider);
    }
    wd.write_file("main.tf", main);
    // With `config_context` named, only that context may work.
    let current = if config.contains("config_context = \"my-cluster\"") {
        "elsewhere"
    } else {
        "my-cluster"
    };
    let home = wd.path().parent().expect("work dir root").join("home");
    std::fs::create_dir_all(home.join(".kube")).expect("~/.kube");
    std::fs::write(
        home.join(".kube/config"),
        kubeconfig(world.cluster(ex.cluster), current),
    )
    .expect("~/.kube/config");
    wd.envs(
        world
            .sandbox
            .env()
            .into_iter()
            .filter(|(k, _)| k.starts_with("AWS_") && k != "AWS_ENDPOINT_URL"),
    );
    // moto has no virtual-hosted buckets; set as a user of an S3-compatible
    // endpoint would, without touching the example.
    wd.env("AWS_S3_USE_PATH_STYLE", "true");
    wd.envs(world.edge.env());
    wd
}

/// The `terraform import ADDR ID` lines of the example's `import.sh`.
fn import_commands(ex: &Example) -> Vec<(String, String)> {
    let path = examples().join(ex.dir).join("import.sh");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let line = regex::Regex::new(r"(?m)^terraform import (\S+) (\S+)$").expect("regex");
    let cmds: Vec<(String, String)> = line
        .captures_iter(&text)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert!(
        !cmds.is_empty(),
        "{}: no `terraform import` line",
        path.display()
    );
    cmds
}

/// Apply, an empty plan, the example's imports and an empty plan again.
async fn apply(tf: &TerraformBinary, world: &World, ex: &Example) -> Workdir {
    let label = format!("[{}] examples/{}", tf.label(), ex.dir);
    eprintln!("{label}: apply");
    let wd = workdir(tf, world, ex);
    let out = ok(wd.apply().await);
    assert!(out.stdout.contains("Apply complete!"), "{label}: {out}");
    wd.plan_is_empty().await;
    let imports = import_commands(ex);
    for (addr, _) in &imports {
        ok(wd.run_ok(&["state", "rm", addr]).await);
    }
    for (addr, id) in &imports {
        ok(wd.import(addr, id).await);
    }
    if !imports.is_empty() {
        settle_import(&label, world, &wd).await;
    }
    wd
}

/// The plan after `terraform import`: empty, or (as the resource docs say)
/// an in-place update of what lives only in configuration, here the
/// `timeouts` block, whose apply changes nothing in AWS or the cluster; then
/// empty.
async fn settle_import(label: &str, world: &World, wd: &Workdir) {
    let out = wd
        .run(&["plan", "-detailed-exitcode", "-out=import.tfplan"])
        .await;
    match out.code {
        Some(0) => return,
        Some(2) => {}
        _ => panic!("{label}: plan after import: {out}"),
    }
    let show = ok(wd.run_ok(&["show", "-json", "import.tfplan"]).await);
    let plan: Value = serde_json::from_str(&show.stdout).expect("plan JSON");
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions = &rc["change"]["actions"];
        if *actions == json!(["no-op"]) || *actions == json!(["read"]) {
            continue;
        }
        assert_eq!(*actions, json!(["update"]), "{label}: {rc:#}");
        let without_timeouts = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().map(|o| o.remove("timeouts"));
            v
        };
        assert_eq!(
            without_timeouts(&rc["change"]["before"]),
            without_timeouts(&rc["change"]["after"]),
            "{label}: after import, only `timeouts` may change: {rc:#}"
        );
    }
    let moto = world.moto_endpoint();
    let (aws_before, kube_before) = (snapshot(moto).await, world.sandbox.apiserver.objects());
    ok(wd.run_ok(&["apply", "import.tfplan"]).await);
    assert_eq!(
        snapshot(moto).await,
        aws_before,
        "{label}: the update wrote to AWS"
    );
    assert_eq!(
        world.sandbox.apiserver.objects(),
        kube_before,
        "{label}: the update wrote to the cluster"
    );
    wd.plan_is_empty().await;
}

/// What each example made, as the sandbox shows it.
async fn check_applied(world: &World, wds: &[(&Example, Workdir)]) {
    let wd = |dir: &str| &wds.iter().find(|(e, _)| e.dir == dir).expect(dir).1;

    let state = wd("resources/irsa_oidc_issuer").state_json().await;
    let prod = resource_values(&state, "irsa_oidc_issuer.prod");
    assert_eq!(prod["issuer_url"], PROD_ISSUER, "{prod:#}");
    let dev = resource_values(&state, "irsa_oidc_issuer.dev");
    assert_eq!(
        dev["issuer_url"],
        format!(
            "https://{}.s3.{REGION}.amazonaws.com",
            bucket_for("dev-cluster")
        ),
        "{dev:#}"
    );

    let check = wd("data-sources/irsa_issuer_check").state_json().await;
    let check = resource_values(&check, "data.irsa_issuer_check.this");
    assert_eq!(check["ok"], true, "the issuer check failed: {check:#}");
    assert!(!world.sandbox.apiserver.minted_tokens().is_empty());

    let host = wd("resources/irsa_issuer_host").state_json().await;
    for (addr, url) in [
        ("irsa_oidc_issuer.prod_a", PLATFORM_ISSUER.to_string()),
        (
            "irsa_oidc_issuer.prod_b",
            "https://oidc.platform.example.com/eu/prod-b".to_string(),
        ),
    ] {
        let v = resource_values(&host, addr);
        assert_eq!(v["issuer_url"], url, "{addr}: {v:#}");
    }

    let objects = wd("resources/irsa_webhook")
        .output_value("webhook_objects")
        .await;
    assert!(
        objects.as_array().is_some_and(|a| !a.is_empty())
            || objects.as_object().is_some_and(|o| !o.is_empty()),
        "{objects:#}"
    );
    assert_eq!(webhook_deployment_status(world).await, 200);

    let jwks = wd("data-sources/irsa_jwks").output_json().await;
    let served: Value =
        serde_json::from_str(jwks["jwks_json"]["value"].as_str().expect("jwks_json"))
            .expect("JWKS JSON");
    let mut kids: Vec<&str> = served["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    kids.sort();
    let mut want = world.bare.kids();
    want.sort();
    assert_eq!(kids, want, "irsa_jwks.cluster holds the cluster's keys");
    assert_eq!(
        jwks["jwks_uri"]["value"],
        format!("{BARE_ISSUER}/openid/v1/jwks")
    );
    assert_eq!(
        jwks["kids"]["value"].as_array().map(Vec::len),
        Some(2),
        "the two sample keys: {jwks:#}"
    );

    let policy = wd("data-sources/irsa_trust_policy")
        .output_value("assume_role_policy")
        .await;
    let policy: Value = serde_json::from_str(policy.as_str().expect("policy")).expect("JSON");
    let subjects: Vec<&Value> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|st| {
            st["Condition"]
                .as_object()
                .into_iter()
                .flat_map(|c| c.values())
        })
        .filter_map(|test| test.get("oidc.prod.example.com:sub"))
        .collect();
    assert_eq!(
        subjects,
        [
            "system:serviceaccount:default:my-app",
            "system:serviceaccount:jobs:*"
        ],
        "{policy:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_terraform_applies_every_example() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    each_terraform(|tf| async move {
        if tf.version_tuple() != OLDEST {
            eprintln!(
                "[{}] applied on Terraform {OLDEST:?} only; validated on this version by \
                 examples_validate",
                tf.label()
            );
            return;
        }
        bounded(LIMIT, "examples on the oldest Terraform", run(&tf)).await;
    })
    .await;
}

async fn run(tf: &TerraformBinary) {
    let covered = every_example_is_covered(tf);
    let world = World::start().await;
    let mut wds = Vec::new();
    for ex in EXAMPLES {
        wds.push((ex, apply(tf, &world, ex).await));
    }
    check_applied(&world, &wds).await;
    for (ex, wd) in wds.iter().rev() {
        eprintln!("[{}] examples/{}: destroy", tf.label(), ex.dir);
        ok(wd.destroy().await);
    }
    assert_nothing_left(&tf.label(), world.sandbox.moto.as_ref().expect("moto")).await;
    assert_eq!(
        webhook_deployment_status(&world).await,
        404,
        "after destroy"
    );
    eprintln!("[{}] every example covered: {covered:?}", tf.label());
}

/// GET of the webhook example's Deployment in the prod cluster.
async fn webhook_deployment_status(world: &World) -> u16 {
    let path = "/apis/apps/v1/namespaces/kube-system/deployments/pod-identity-webhook";
    ok(world.sandbox.k8s_get(path, None).await).0
}

/// Every example directory `tf` can read is in [`EXAMPLES`] or
/// [`APPLIED_ELSEWHERE`]; a new example fails here until it is applied.
fn every_example_is_covered(tf: &TerraformBinary) -> Vec<String> {
    let mut readable = Vec::new();
    let mut stack = vec![examples()];
    while let Some(dir) = stack.pop() {
        let mut tf_files = false;
        for e in std::fs::read_dir(&dir).expect("examples").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tf") && tf.version_tuple() >= needs(&p) {
                tf_files = true;
            }
        }
        if tf_files {
            let rel = dir.strip_prefix(examples()).expect("under examples");
            readable.push(rel.display().to_string());
        }
    }
    readable.sort();
    let missing: Vec<&String> = readable
        .iter()
        .filter(|d| {
            !EXAMPLES.iter().any(|e| e.dir == d.as_str())
                && !APPLIED_ELSEWHERE.contains(&d.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "examples not applied on Terraform {OLDEST:?}: {missing:?}"
    );
    readable
}
