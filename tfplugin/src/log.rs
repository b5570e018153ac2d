//! Logging to stderr as JSON lines, the form Terraform (go-plugin/hclog) reads
//! from a plugin: `{"@level","@message","@module","@timestamp", ...fields}`.
//!
//! The level comes from `TF_LOG_PROVIDER`, else `TF_LOG`, as Terraform's own
//! providers do; unset means no logs at all. Dependencies (AWS SDK, kube,
//! hyper, rustls) never log below INFO, so wire-level detail such as
//! headers or signed requests cannot reach the log even at TRACE.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Our own targets: everything under the library crate.
const OWN_TARGET: &str = "irsa";

/// 0 = off, 1 = error ... 5 = trace.
static LEVEL: AtomicU8 = AtomicU8::new(0);

fn rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Reads a Terraform log level name. Unrecognised non-empty values mean
/// TRACE, as in Terraform itself.
pub fn parse_level(s: &str) -> u8 {
    match s.trim().to_ascii_uppercase().as_str() {
        "" | "OFF" => 0,
        "ERROR" => 1,
        "WARN" => 2,
        "INFO" => 3,
        "DEBUG" => 4,
        _ => 5,
    }
}

fn level_from_env() -> u8 {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    var("TF_LOG_PROVIDER")
        .or_else(|| var("TF_LOG"))
        .map(|v| parse_level(&v))
        .unwrap_or(0)
}

thread_local! {
    /// How many guarded handler polls are running on this thread.
    static IN_HANDLER: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as polling a handler whose panics the server
/// catches (and reports as a diagnostic); see [`handler_scope`].
pub struct HandlerScope(());

/// While the returned guard lives, a panic on this thread is one the server
/// turns into a diagnostic, so the hook does not report a crash.
pub fn handler_scope() -> HandlerScope {
    IN_HANDLER.with(|c| c.set(c.get() + 1));
    HandlerScope(())
}

impl Drop for HandlerScope {
    fn drop(&mut self) {
        IN_HANDLER.with(|c| c.set(c.get().saturating_sub(1)));
    }
}

/// The report for a panic nothing catches, in the shape Terraform looks for:
/// go-plugin logs a plugin's stderr lines that start with `panic: ` (and the
/// lines after them) at ERROR even when TF_LOG is off, and Terraform then
/// prints them as the plugin's stack trace ("The plugin crashed!").
pub fn crash_report(
    msg: &str,
    location: &str,
    thread: &str,
    backtrace: &std::backtrace::Backtrace,
) -> String {
    let mut out = format!("panic: {msg}\n\nthread '{thread}' panicked at {location}\n");
    if matches!(
        backtrace.status(),
        std::backtrace::BacktraceStatus::Captured
    ) {
        out.push_str(&backtrace.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Installs the stderr logger and a panic hook. Safe to call more than once;
/// only the first call installs anything.
pub fn init() {
    LEVEL.store(level_from_env(), Ordering::Relaxed);
    if tracing_subscriber::registry()
        .with(JsonStderr)
        .try_init()
        .is_ok()
    {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            tracing::error!(target: "irsa::panic", location = %location, "provider panicked: {msg}");
            if IN_HANDLER.with(|c| c.get() > 0) {
                // Caught by the server and returned as a diagnostic; Rust's
                // own report goes to the debug log only.
                default_hook(info);
                return;
            }
            let thread = std::thread::current();
            let report = crash_report(
                &msg,
                &location,
                thread.name().unwrap_or("<unnamed>"),
                &std::backtrace::Backtrace::force_capture(),
            );
            let _ = std::io::stderr().lock().write_all(report.as_bytes());
        }));
    }
}

struct JsonStderr;

fn allowed(meta: &Metadata<'_>) -> bool {
    let configured = LEVEL.load(Ordering::Relaxed);
    let cap = if meta.target().starts_with(OWN_TARGET) {
        configured
    } else {
        configured.min(3)
    };
    rank(meta.level()) <= cap
}

impl<S: Subscriber> Layer<S> for JsonStderr {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        allowed(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !allowed(event.metadata()) {
            return;
        }
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let line = render(event.metadata(), fields);
        // One write per line so concurrent events never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

#[derive(Default)]
struct JsonFields {
    message: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, serde_json::Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, serde_json::Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

impl JsonFields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.extra.insert(field.name().to_string(), value);
        }
    }
}

fn render(meta: &Metadata<'_>, fields: JsonFields) -> String {
    let level = match *meta.level() {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    };
    let mut obj = serde_json::Map::new();
    obj.insert("@level".into(), level.into());
    obj.insert("@message".into(), fields.message.into());
    obj.insert("@module".into(), "provider.irsa".into());
    obj.insert("@timestamp".into(), timestamp().into());
    obj.insert("target".into(), meta.target().into());
    obj.extend(fields.extra);
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

/// hclog's JSON timestamp layout: 2006-01-02T15:04:05.000000Z07:00.
fn timestamp() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_level_names() {
        assert_eq!(parse_level("off"), 0);
        assert_eq!(parse_level(""), 0);
        assert_eq!(parse_level("WARN"), 2);
        assert_eq!(parse_level("debug"), 4);
        assert_eq!(parse_level("JSON"), 5);
        assert_eq!(parse_level("nonsense"), 5);
    }

    #[test]
    fn crash_report_starts_with_the_line_terraform_recognises() {
        let bt = std::backtrace::Backtrace::force_capture();
        let r = crash_report("boom", "src/x.rs:1:2", "main", &bt);
        assert!(r.starts_with("panic: boom\n"), "{r}");
        assert!(r.contains("src/x.rs:1:2"), "{r}");
        assert!(r.lines().count() > 3, "with a backtrace: {r}");
        let none = crash_report("boom", "l", "t", &std::backtrace::Backtrace::disabled());
        assert_eq!(none, "panic: boom\n\nthread 't' panicked at l\n");
    }

    #[test]
    fn handler_scopes_nest_and_end() {
        let depth = || IN_HANDLER.with(|c| c.get());
        assert_eq!(depth(), 0);
        {
            let _a = handler_scope();
            let _b = handler_scope();
            assert_eq!(depth(), 2);
        }
        assert_eq!(depth(), 0);
    }

    #[test]
    fn timestamp_has_microseconds_and_zulu() {
        let t = timestamp();
        assert_eq!(t.len(), "2006-01-02T15:04:05.000000Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }
}
