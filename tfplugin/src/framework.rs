//! What the server calls: the provider, and one handler per resource, data
//! source, ephemeral resource, list resource and function, on untyped
//! [`Value`]s. Providers do not implement the handlers themselves: a typed
//! [`crate::resource::Resource`], [`crate::data_source::DataSource`],
//! [`crate::ephemeral::EphemeralResource`], [`crate::list::ListResource`] or
//! [`crate::function::Function`] becomes one through the `handler` function
//! of its module, which owns the lifecycle (decoding, defaults, validation,
//! routing, timeouts, identity).

use std::sync::Arc;

use async_trait::async_trait;

use super::diag::{AttrPath, Diagnostics};
use super::schema::{FunctionSignature, IdentitySchema, Schema};
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
    /// Ephemeral resources (Terraform 1.10+, OpenTofu 1.11+).
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResourceHandler>> {
        Vec::new()
    }
    /// List resources for `terraform query` (Terraform 1.14+); each lists
    /// a resource type of [`Provider::resources`] that has an identity.
    fn list_resources(&self) -> Vec<Arc<dyn ListResourceHandler>> {
        Vec::new()
    }
    /// Provider-defined functions (Terraform 1.8+, OpenTofu 1.7+).
    fn functions(&self) -> Vec<Arc<dyn FunctionHandler>> {
        Vec::new()
    }

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
    /// The identity stored with the state; null when there is none (a
    /// resource without identity, a Terraform before 1.12, or state written
    /// before the resource had one).
    pub identity: Value,
}

pub struct ReadResponse {
    /// Null when the remote object is gone: Terraform drops it from state.
    pub state: Value,
    pub private: Vec<u8>,
    /// The object's identity; null for a resource without one.
    pub identity: Value,
    pub diagnostics: Diagnostics,
}

pub struct PlanRequest {
    /// Null on create.
    pub prior_state: Value,
    /// Null on destroy.
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
    /// Null on create and when the state has none.
    pub prior_identity: Value,
}

#[derive(Default)]
pub struct PlanResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<AttrPath>,
    pub planned_private: Vec<u8>,
    /// Known on update (the prior identity); null when not known yet.
    pub planned_identity: Value,
    pub diagnostics: Diagnostics,
}

pub struct ApplyRequest {
    pub prior_state: Value,
    /// Null on destroy.
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
    pub planned_identity: Value,
}

pub struct ApplyResponse {
    /// What exists now. On a failed create, the parts that were made (so the
    /// next run cleans them up); null when nothing exists.
    pub new_state: Value,
    pub private: Vec<u8>,
    /// The identity of what exists now; null when nothing does.
    pub identity: Value,
    pub diagnostics: Diagnostics,
}

/// What names the object to import: the ID of `terraform import` and of
/// `import { id = ... }`, or an identity (`import { identity = {...} }`,
/// Terraform 1.12+), of which a Terraform sends one.
pub struct ImportRequest {
    pub id: String,
    /// Null when the import names an ID.
    pub identity: Value,
}

pub struct ImportResponse {
    pub state: Value,
    pub private: Vec<u8>,
    pub identity: Value,
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
    async fn import(&self, ctx: &Ctx, req: ImportRequest) -> ImportResponse;
    /// The identity schema (GetResourceIdentitySchemas); `None` when the
    /// resource has no identity.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }
    /// Turns stored identity data of an older `version` (JSON) into the
    /// current identity schema's value.
    fn upgrade_identity(&self, version: i64, json: &[u8]) -> Result<Value, Diagnostics>;
    /// The configuration `terraform plan/query -generate-config-out` writes
    /// for an object whose state is `state` (GenerateResourceConfig).
    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics>;
}

/// An ephemeral resource's handler: opened for every plan and apply that
/// needs it, never stored.
#[async_trait]
pub trait EphemeralResourceHandler: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Static checks; values may be unknown. No network.
    async fn validate(&self, config: &Value) -> Diagnostics;
    async fn open(&self, ctx: &Ctx, config: Value) -> OpenResponse;
    /// Terraform calls this at `renew_at` while the value is still in use.
    async fn renew(&self, ctx: &Ctx, private: Vec<u8>) -> RenewResponse;
    async fn close(&self, ctx: &Ctx, private: Vec<u8>) -> Diagnostics;
}

pub struct OpenResponse {
    /// The configuration with the computed attributes filled in.
    pub result: Value,
    pub private: Vec<u8>,
    /// When Terraform must call renew, if ever.
    pub renew_at: Option<std::time::SystemTime>,
    pub diagnostics: Diagnostics,
}

pub struct RenewResponse {
    pub private: Vec<u8>,
    pub renew_at: Option<std::time::SystemTime>,
    pub diagnostics: Diagnostics,
}

/// A list resource's handler (`list "<type>"` blocks of `terraform query`).
#[async_trait]
pub trait ListResourceHandler: Send + Sync + 'static {
    /// The resource type it lists.
    fn type_name(&self) -> &'static str;
    /// The schema of the `config { ... }` block.
    fn schema(&self) -> Schema;
    /// Static checks; values may be unknown. No network.
    async fn validate(&self, config: &Value) -> Diagnostics;
    /// Sends each object found to `out` until there are no more, `limit`
    /// are sent, or the receiver is gone; errors end the list.
    async fn list(&self, ctx: &Ctx, req: ListRequest, out: ListSender);
}

pub struct ListRequest {
    /// The `config` block's value.
    pub config: Value,
    pub include_resource: bool,
    /// At most this many results (Terraform's `limit`, default 100).
    pub limit: i64,
}

/// One object a list found, or diagnostics.
pub struct ListEvent {
    pub identity: Value,
    pub display_name: String,
    /// The full resource state; null unless `include_resource`.
    pub state: Value,
    pub diagnostics: Diagnostics,
}

/// Where a list sends what it finds (a channel to the gRPC stream).
pub type ListSender = tokio::sync::mpsc::Sender<ListEvent>;

/// A provider-defined function's handler.
pub trait FunctionHandler: Send + Sync + 'static {
    /// The name after `provider::<provider>::`.
    fn name(&self) -> &'static str;
    fn signature(&self) -> FunctionSignature;
    /// Calls the function with one value per argument (variadic ones
    /// included), each of its parameter's type and known.
    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError>;
}

/// A failed function call: the text Terraform shows, and the argument (0
/// based, variadic ones counted on) it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    pub fn new(text: impl Into<String>) -> FunctionError {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }
    pub fn at_argument(argument: usize, text: impl Into<String>) -> FunctionError {
        FunctionError {
            text: text.into(),
            argument: Some(argument),
        }
    }
}

impl std::fmt::Display for FunctionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
