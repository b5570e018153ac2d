//! What the server calls: the provider, and one handler per resource and
//! data source type, on untyped [`Value`]s. Providers do not implement the
//! handlers themselves: a typed [`crate::resource::Resource`] or
//! [`crate::data_source::DataSource`] becomes one through
//! [`crate::resource::handler`] / [`crate::data_source::handler`], which own
//! the lifecycle (decoding, defaults, validation, routing, timeouts).

use std::sync::Arc;

use async_trait::async_trait;

use super::diag::{AttrPath, Diagnostics};
use super::schema::Schema;
use super::value::Value;
pub use crate::ctx::{Ctx, Interrupted};

pub struct ConfigureRequest {
    pub terraform_version: String,
    pub config: Value,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The name resources are prefixed with (`irsa` for `irsa_jwks`).
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn ResourceHandler>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSourceHandler>>;

    /// Static checks of the provider block; no network.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    async fn configure(&self, ctx: &Ctx, req: ConfigureRequest) -> Diagnostics;
}

#[async_trait]
pub trait DataSourceHandler: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Static checks; values may be unknown. No network.
    async fn validate(&self, config: &Value) -> Diagnostics;
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
pub trait ResourceHandler: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, config: &Value) -> Diagnostics;
    /// Turns stored state of `raw.version` into a value of the current
    /// schema, with warnings for the user. The server handles the current
    /// version itself.
    fn upgrade_state(&self, raw: RawState) -> Result<(Value, Diagnostics), Diagnostics>;
    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse;
    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> PlanResponse;
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse;
    async fn import(&self, ctx: &Ctx, id: String) -> ImportResponse;
}
