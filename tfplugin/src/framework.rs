//! What a provider implements: the provider itself, its resources and its
//! data sources. The server in `server.rs` turns RPCs into these calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diag::{AttrPath, Diagnostic, Diagnostics};
use super::schema::Schema;
use super::value::Value;

/// Per-call context: cancelled when Terraform calls StopProvider (e.g. on
/// Ctrl-C), and optionally bounded by a deadline (resource `timeouts`).
#[derive(Clone, Debug)]
pub struct Ctx {
    cancel: CancellationToken,
    deadline: Option<Instant>,
}

/// Why a call was cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("the operation was cancelled because Terraform asked the provider to stop")]
    Stopped,
    #[error("the operation did not finish before its deadline")]
    DeadlineExceeded,
}

impl Ctx {
    pub fn new(cancel: CancellationToken) -> Ctx {
        Ctx {
            cancel,
            deadline: None,
        }
    }

    /// A context that cannot be cancelled: for tests and offline tools.
    pub fn background() -> Ctx {
        Ctx::new(CancellationToken::new())
    }

    /// The same context, with a deadline `timeout` from now (the earlier
    /// deadline wins if one is already set).
    pub fn with_timeout(&self, timeout: Duration) -> Ctx {
        let d = Instant::now() + timeout;
        Ctx {
            cancel: self.cancel.clone(),
            deadline: Some(self.deadline.map_or(d, |old| old.min(d))),
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn is_stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Runs `fut` unless Terraform stops the provider or the deadline passes first.
    pub async fn run<F: std::future::Future>(&self, fut: F) -> Result<F::Output, Interrupted> {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            out = fut => Ok(out),
            _ = self.cancel.cancelled() => Err(Interrupted::Stopped),
            _ = deadline => Err(Interrupted::DeadlineExceeded),
        }
    }

    /// Sleeps, waking early with an error on stop or deadline.
    pub async fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        self.run(tokio::time::sleep(d)).await
    }
}

impl From<Interrupted> for Diagnostic {
    fn from(i: Interrupted) -> Diagnostic {
        Diagnostic::error("Operation interrupted", i.to_string())
    }
}

pub struct ConfigureRequest {
    pub terraform_version: String,
    pub config: Value,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The name resources are prefixed with (`irsa` for `irsa_jwks`).
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;

    /// Static checks of the provider block; no network.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    async fn configure(&self, ctx: &Ctx, req: ConfigureRequest) -> Diagnostics;
}

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Static checks; values may be unknown. No network.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    /// Returns the full state (config plus computed attributes).
    async fn read(&self, ctx: &Ctx, config: Value) -> Result<(Value, Diagnostics), Diagnostics>;
}

/// Stored state as Terraform hands it to UpgradeResourceState.
pub struct RawState {
    pub version: i64,
    pub json: Option<Vec<u8>>,
    pub flatmap: std::collections::HashMap<String, String>,
}

pub struct ReadRequest {
    pub state: Value,
    pub private: Vec<u8>,
}

pub struct ReadResponse {
    /// Null when the remote object is gone: Terraform drops it from state.
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct PlanRequest {
    /// Null on create.
    pub prior_state: Value,
    /// Null on destroy.
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
}

#[derive(Default)]
pub struct PlanResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<AttrPath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ApplyRequest {
    pub prior_state: Value,
    /// Null on destroy.
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
}

pub struct ApplyResponse {
    /// What exists now. On a failed create, the parts that were made (so the
    /// next run cleans them up); null when nothing exists.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ImportResponse {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }

    /// Turns stored state of `raw.version` into a value of the current
    /// schema. The server handles the current version itself; a resource
    /// with older versions overrides this with one step per old version.
    fn upgrade_state(&self, raw: RawState) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "State for {} was written with schema version {}, which this provider cannot upgrade.",
                self.type_name(),
                raw.version
            ),
        )
        .into())
    }

    /// [`Resource::upgrade_state`] with warnings for the user next to the
    /// upgraded value (for example an assumption made for a new attribute).
    /// The server calls this one; the default has no warnings.
    fn upgrade_state_with_warnings(
        &self,
        raw: RawState,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        self.upgrade_state(raw).map(|v| (v, Diagnostics::default()))
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse;
    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> PlanResponse;
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse;
    async fn import(&self, _ctx: &Ctx, _id: String) -> ImportResponse {
        ImportResponse {
            state: Value::Null,
            private: Vec::new(),
            diagnostics: Diagnostic::error(
                "Import not supported",
                format!("{} cannot be imported.", self.type_name()),
            )
            .into(),
        }
    }
}
