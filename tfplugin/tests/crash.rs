//! What Terraform sees on the plugin's stderr when it panics.
//!
//! Terraform (through go-plugin) treats stderr lines starting with `panic: `
//! as a plugin crash and prints them even with TF_LOG unset; a panic inside a
//! handler, which the server turns into a diagnostic, must not look like one.
//!
//! Each test runs itself again as a child process (this test binary, with
//! CHILD set) so that the panic hook and the exit are the real ones.

use std::process::Command;
use std::sync::Arc;

use tfplugin::framework::{ConfigureRequest, Ctx, DataSourceHandler, ResourceHandler};
use tfplugin::proto::provider_server::Provider as _;
use tfplugin::resource::{Create, Outcome, Saved, Update};
use tfplugin::server::{ProviderService, ServeOptions, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use tfplugin::{Diagnostics, Schema, Tf, Value};

const CHILD: &str = "TFPLUGIN_CRASH_TEST_CHILD";

/// A provider whose schema panics (outside any handler: the server builds
/// every schema before it serves), and whose resource read panics (inside one).
struct Fragile {
    schema_panics: bool,
}

struct FragileThing;

/// A thing.
#[derive(tfplugin::Model, Clone, Debug, Default, PartialEq)]
struct ThingModel {
    #[tf(optional)]
    name: Tf<String>,
}

#[async_trait::async_trait]
impl tfplugin::Resource for FragileThing {
    type Model = ThingModel;
    type Private = ();
    type Identity = ();
    const TYPE_NAME: &'static str = "fragile_thing";

    async fn read(
        &self,
        _ctx: &Ctx,
        _state: ThingModel,
        _private: Option<()>,
    ) -> Result<Option<Saved<ThingModel, ()>>, Diagnostics> {
        panic!("read exploded")
    }
    async fn create(&self, _ctx: &Ctx, _req: Create<ThingModel, ()>) -> Outcome<ThingModel, ()> {
        unreachable!()
    }
    async fn update(&self, _ctx: &Ctx, _req: Update<ThingModel, ()>) -> Outcome<ThingModel, ()> {
        unreachable!()
    }
    async fn delete(
        &self,
        _ctx: &Ctx,
        _state: ThingModel,
        _private: Option<()>,
    ) -> Result<(), Diagnostics> {
        unreachable!()
    }
}

#[async_trait::async_trait]
impl tfplugin::Provider for Fragile {
    fn type_name(&self) -> &'static str {
        "fragile"
    }
    fn schema(&self) -> Schema {
        if self.schema_panics {
            panic!("schema exploded");
        }
        Schema::default()
    }
    fn resources(&self) -> Vec<Arc<dyn ResourceHandler>> {
        vec![tfplugin::resource::handler(FragileThing)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSourceHandler>> {
        vec![]
    }
    async fn configure(&self, _ctx: &Ctx, _req: ConfigureRequest) -> Diagnostics {
        Diagnostics::default()
    }
}

/// Runs `test` of this binary as a child in the given mode; returns its
/// exit success, stdout and stderr.
fn run_child(test: &str, mode: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_panic_outside_a_handler_prints_a_panic_line_and_a_backtrace_without_tf_log() {
    if std::env::var(CHILD).as_deref() == Ok("serve") {
        // As Terraform starts a plugin; the panic comes before the handshake.
        tfplugin::server::serve(
            Arc::new(Fragile {
                schema_panics: true,
            }),
            ServeOptions {
                address: "example.com/test/fragile".into(),
                version: "0.0.0".into(),
            },
        );
        unreachable!("serve returned although the schema panicked");
    }
    let (ok, stdout, stderr) = run_child(
        "a_panic_outside_a_handler_prints_a_panic_line_and_a_backtrace_without_tf_log",
        "serve",
        &[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)],
    );
    assert!(!ok, "the plugin must die: {stderr}");
    assert!(
        !stdout.contains("|grpc|"),
        "no handshake after a crash: {stdout}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("panic: schema exploded"))
        .unwrap_or_else(|| panic!("no raw `panic: ` line on stderr:\n{stderr}"));
    let after = lines[at + 1..].join("\n");
    assert!(
        after.contains("tests/crash.rs"),
        "the location follows the panic line:\n{stderr}"
    );
    assert!(
        after.contains("backtrace") || after.contains("crash::") || after.contains(" at "),
        "a backtrace follows:\n{stderr}"
    );
}

#[test]
fn a_panic_inside_a_handler_is_a_diagnostic_and_no_crash_report() {
    if std::env::var(CHILD).as_deref() == Ok("handler") {
        tfplugin::log::init();
        let svc = ProviderService::new(Arc::new(Fragile {
            schema_panics: false,
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let ty = <ThingModel as tfplugin::Model>::schema(0)
            .block
            .value_type();
        let r = rt
            .block_on(svc.read_resource(tonic::Request::new(
                tfplugin::proto::read_resource::Request {
                    type_name: "fragile_thing".into(),
                    current_state: Some(tfplugin::proto::DynamicValue {
                        msgpack: tfplugin::msgpack::encode(
                            &ty,
                            &Value::object([("name", Value::string("a"))]),
                        ),
                        json: vec![],
                    }),
                    ..Default::default()
                },
            )))
            .unwrap()
            .into_inner();
        assert!(r.diagnostics[0].detail.contains("read exploded"));
        println!("HANDLED");
        return;
    }
    let (ok, stdout, stderr) = run_child(
        "a_panic_inside_a_handler_is_a_diagnostic_and_no_crash_report",
        "handler",
        &[],
    );
    assert!(ok, "the child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("HANDLED"), "{stdout}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("panic: ")),
        "a caught panic must not look like a crash to Terraform:\n{stderr}"
    );
    assert!(
        stderr.contains("read exploded"),
        "Rust's own report still goes to the (debug) log:\n{stderr}"
    );
}
