//! The tfplugin6 `Provider` service (protocol 6.10): decodes each request
//! against the schema, calls the framework's handler for the type, applies
//! semantic equality, and encodes the answer. Panics in a handler become
//! diagnostics. Every RPC of the protocol is served; those of features the
//! provider does not have (state stores, actions, and any type it does not
//! declare) answer with an error diagnostic naming the unknown type, which
//! Terraform never reaches because it checks its schema first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response};

use super::*;
use crate::diag::{AttrPath, Diagnostic, Diagnostics, PathStep, Severity};
use crate::framework::{
    self, ApplyRequest, ConfigureRequest, Ctx, ImportRequest, ListEvent, ListRequest, PlanRequest,
    RawState, ReadRequest,
};
use crate::schema::{self, FunctionSignature, IdentitySchema, Schema};
use crate::value::{Type, Value};
use crate::{json, model, msgpack, proto};

/// Every gRPC service of the plugin; public so tests can serve them in-process.
pub struct Services {
    pub provider: Arc<ProviderService>,
    pub controller: Arc<Controller>,
    pub stdio: Arc<Stdio>,
    pub broker: Arc<Broker>,
}

impl Services {
    pub fn new(provider: Arc<dyn framework::Provider>, shutdown: Arc<Notify>) -> Services {
        Services {
            provider: Arc::new(ProviderService::new(provider)),
            controller: Arc::new(Controller { shutdown }),
            stdio: Arc::new(Stdio),
            broker: Arc::new(Broker),
        }
    }
}

struct Entry<T: ?Sized> {
    handler: Arc<T>,
    schema: Schema,
    ty: Type,
}

/// A resource type's identity schema and the type of its values.
struct Identity {
    schema: IdentitySchema,
    ty: Type,
}

struct FunctionEntry {
    handler: Arc<dyn framework::FunctionHandler>,
    signature: FunctionSignature,
}

pub struct ProviderService {
    provider: Arc<dyn framework::Provider>,
    provider_schema: Schema,
    provider_ty: Type,
    resources: BTreeMap<String, Entry<dyn framework::ResourceHandler>>,
    identities: BTreeMap<String, Identity>,
    data_sources: BTreeMap<String, Entry<dyn framework::DataSourceHandler>>,
    ephemeral_resources: BTreeMap<String, Entry<dyn framework::EphemeralResourceHandler>>,
    list_resources: BTreeMap<String, Entry<dyn framework::ListResourceHandler>>,
    functions: BTreeMap<String, FunctionEntry>,
    /// Replaced after each StopProvider so the plugin stays usable (a
    /// reattached provider outlives one Terraform run).
    stop: Mutex<CancellationToken>,
}

impl ProviderService {
    pub fn new(provider: Arc<dyn framework::Provider>) -> ProviderService {
        let provider_schema = provider.schema();
        let provider_ty = provider_schema.block.value_type();
        let resources: BTreeMap<String, Entry<dyn framework::ResourceHandler>> = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name().to_string(), entry(r.schema(), r)))
            .collect();
        let identities = resources
            .iter()
            .filter_map(|(k, e)| {
                let schema = e.handler.identity_schema()?;
                let ty = schema.value_type();
                Some((k.clone(), Identity { schema, ty }))
            })
            .collect::<BTreeMap<_, _>>();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name().to_string(), entry(d.schema(), d)))
            .collect();
        let ephemeral_resources = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| (e.type_name().to_string(), entry(e.schema(), e)))
            .collect();
        let list_resources = provider
            .list_resources()
            .into_iter()
            .map(|l| {
                let name = l.type_name().to_string();
                // Terraform refuses a list resource whose resource type is
                // not there or has no identity: a bug in the provider.
                assert!(
                    identities.contains_key(&name),
                    "the list resource {name} lists a resource type with an identity"
                );
                (name, entry(l.schema(), l))
            })
            .collect();
        let functions = provider
            .functions()
            .into_iter()
            .map(|f| {
                let signature = f.signature();
                (
                    f.name().to_string(),
                    FunctionEntry {
                        handler: f,
                        signature,
                    },
                )
            })
            .collect();
        ProviderService {
            provider,
            provider_schema,
            provider_ty,
            resources,
            identities,
            data_sources,
            ephemeral_resources,
            list_resources,
            functions,
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.stop.lock().expect("stop token lock").child_token())
    }

    fn resource(&self, name: &str) -> Result<&Entry<dyn framework::ResourceHandler>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    fn data_source(
        &self,
        name: &str,
    ) -> Result<&Entry<dyn framework::DataSourceHandler>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    fn ephemeral_resource(
        &self,
        name: &str,
    ) -> Result<&Entry<dyn framework::EphemeralResourceHandler>, Diagnostics> {
        self.ephemeral_resources
            .get(name)
            .ok_or_else(|| unknown_type("ephemeral resource", name))
    }

    fn list_resource(
        &self,
        name: &str,
    ) -> Result<&Entry<dyn framework::ListResourceHandler>, Diagnostics> {
        self.list_resources
            .get(name)
            .ok_or_else(|| unknown_type("list resource", name))
    }

    /// The identity data of a request, decoded; null when absent (a
    /// Terraform before 1.12, or no identity stored).
    fn decode_identity(
        &self,
        type_name: &str,
        data: Option<&proto::ResourceIdentityData>,
    ) -> Result<Value, Diagnostics> {
        let Some(v) = data.and_then(|d| d.identity_data.as_ref()) else {
            return Ok(Value::Null);
        };
        match self.identities.get(type_name) {
            Some(id) => decode(&id.ty, Some(v), "resource identity"),
            None => Err(Diagnostic::error(
                "Resource identity not supported",
                format!("{type_name} has no resource identity, but Terraform sent one."),
            )
            .into()),
        }
    }

    /// Identity data for a response; absent when null.
    fn encode_identity(&self, type_name: &str, v: &Value) -> Option<proto::ResourceIdentityData> {
        if v.is_null() {
            return None;
        }
        let id = self.identities.get(type_name)?;
        Some(proto::ResourceIdentityData {
            identity_data: encode(&id.ty, v),
        })
    }
}

impl ProviderService {
    fn function_protos(&self) -> std::collections::HashMap<String, proto::Function> {
        self.functions
            .iter()
            .map(|(k, f)| (k.clone(), function_to_proto(&f.signature)))
            .collect()
    }
}

fn entry<T: ?Sized>(schema: Schema, handler: Arc<T>) -> Entry<T> {
    let ty = schema.block.value_type();
    Entry {
        handler,
        schema,
        ty,
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named {name:?}."),
    )
    .into()
}

/// Runs a handler; a panic becomes an error diagnostic instead of killing
/// the plugin (which Terraform would report as a crash of the whole run).
async fn guarded<T>(
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, Diagnostics> {
    let mut fut = Box::pin(fut);
    // The panic hook reads this mark: a panic here becomes a diagnostic, so
    // it must not print the crash report Terraform takes for a dead plugin.
    let fut = std::future::poll_fn(move |cx| {
        let _scope = crate::log::handler_scope();
        fut.as_mut().poll(cx)
    });
    match std::panic::AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Ok(v),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Diagnostic::error(
                "Provider internal error",
                format!("The provider panicked while handling {what}: {msg}. This is a bug in the provider; please report it."),
            )
            .into())
        }
    }
}

fn decode(ty: &Type, v: Option<&proto::DynamicValue>, what: &str) -> Result<Value, Diagnostics> {
    let Some(v) = v else { return Ok(Value::Null) };
    let result = if !v.msgpack.is_empty() {
        msgpack::decode(ty, &v.msgpack).map_err(|e| e.to_string())
    } else if !v.json.is_empty() {
        json::decode_bytes(ty, &v.json).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    };
    result.map_err(|e| {
        Diagnostic::error(
            "Invalid value from Terraform",
            format!("Cannot decode the {what}: {e}"),
        )
        .into()
    })
}

fn encode(ty: &Type, v: &Value) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue {
        msgpack: msgpack::encode(ty, v),
        json: Vec::new(),
    })
}

pub fn diagnostics_to_proto(d: Diagnostics) -> Vec<proto::Diagnostic> {
    d.0.into_iter()
        .map(|d| proto::Diagnostic {
            severity: match d.severity {
                Severity::Error => proto::diagnostic::Severity::Error as i32,
                Severity::Warning => proto::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary,
            detail: d.detail,
            attribute: d.path.map(path_to_proto),
        })
        .collect()
}

pub fn path_to_proto(p: AttrPath) -> proto::AttributePath {
    use proto::attribute_path::step::Selector;
    proto::AttributePath {
        steps: p
            .0
            .into_iter()
            .map(|s| proto::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a),
                    PathStep::Key(k) => Selector::ElementKeyString(k),
                    PathStep::Index(i) => Selector::ElementKeyInt(i),
                }),
            })
            .collect(),
    }
}

fn schema_to_proto(s: &Schema) -> proto::Schema {
    proto::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block, s.version)),
    }
}

fn attribute_to_proto(a: &schema::Attribute) -> proto::schema::Attribute {
    use proto::schema::object::NestingMode;
    // Terraform takes either a type or a nested type, never both.
    let (ty, nested_type) = match &a.nested {
        None => (a.ty.to_json().to_string().into_bytes(), None),
        Some(n) => (
            Vec::new(),
            Some(proto::schema::Object {
                attributes: n.attributes.iter().map(attribute_to_proto).collect(),
                nesting: match n.nesting {
                    schema::Nesting::Single | schema::Nesting::Group => NestingMode::Single,
                    schema::Nesting::List => NestingMode::List,
                    schema::Nesting::Set => NestingMode::Set,
                    schema::Nesting::Map => NestingMode::Map,
                } as i32,
                // min_items/max_items: deprecated, left out.
                ..Default::default()
            }),
        ),
    };
    proto::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: proto::StringKind::Markdown as i32,
        deprecated: a.deprecated,
        write_only: false,
        deprecation_message: String::new(),
    }
}

fn type_json(ty: &Type) -> Vec<u8> {
    ty.to_json().to_string().into_bytes()
}

fn identity_schema_to_proto(s: &IdentitySchema) -> proto::ResourceIdentitySchema {
    proto::ResourceIdentitySchema {
        version: s.version,
        identity_attributes: s
            .attributes
            .iter()
            .map(|a| proto::resource_identity_schema::IdentityAttribute {
                name: a.name.clone(),
                r#type: type_json(&a.ty),
                required_for_import: a.required_for_import,
                optional_for_import: a.optional_for_import,
                description: a.description.clone(),
            })
            .collect(),
    }
}

fn function_to_proto(f: &FunctionSignature) -> proto::Function {
    let param = |p: &schema::FunctionParameter| proto::function::Parameter {
        name: p.name.clone(),
        r#type: type_json(&p.ty),
        allow_null_value: p.allow_null,
        // Terraform then returns an unknown result without calling.
        allow_unknown_values: false,
        description: p.description.clone(),
        description_kind: proto::StringKind::Markdown as i32,
    };
    proto::Function {
        parameters: f.parameters.iter().map(param).collect(),
        variadic_parameter: f.variadic.as_ref().map(param),
        r#return: Some(proto::function::Return {
            r#type: type_json(&f.return_type),
        }),
        summary: f.summary.clone(),
        description: f.description.clone(),
        description_kind: proto::StringKind::Markdown as i32,
        deprecation_message: String::new(),
    }
}

fn timestamp(t: std::time::SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

fn block_to_proto(b: &schema::Block, version: i64) -> proto::schema::Block {
    use proto::schema::nested_block::NestingMode;
    proto::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute_to_proto).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| proto::schema::NestedBlock {
                type_name: nb.type_name.clone(),
                block: Some(block_to_proto(&nb.block, version)),
                nesting: match nb.nesting {
                    schema::Nesting::Single => NestingMode::Single,
                    schema::Nesting::List => NestingMode::List,
                    schema::Nesting::Set => NestingMode::Set,
                    schema::Nesting::Map => NestingMode::Map,
                    schema::Nesting::Group => NestingMode::Group,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: proto::StringKind::Markdown as i32,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

/// Collects the errors of a fallible step into the response's diagnostics.
macro_rules! try_diags {
    ($expr:expr, $resp:expr) => {
        match $expr {
            Ok(v) => v,
            Err(d) => {
                let mut resp = $resp;
                resp.diagnostics = diagnostics_to_proto(d);
                return Ok(Response::new(resp));
            }
        }
    };
}

#[tonic::async_trait]
impl proto::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _req: Request<proto::get_metadata::Request>,
    ) -> RpcResult<proto::get_metadata::Response> {
        use proto::get_metadata as m;
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: vec![],
            data_sources: self
                .data_sources
                .keys()
                .map(|k| m::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| m::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: self
                .functions
                .keys()
                .map(|k| m::FunctionMetadata { name: k.clone() })
                .collect(),
            ephemeral_resources: self
                .ephemeral_resources
                .keys()
                .map(|k| m::EphemeralMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            list_resources: self
                .list_resources
                .keys()
                .map(|k| m::ListResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            state_stores: vec![],
            actions: vec![],
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<proto::get_provider_schema::Request>,
    ) -> RpcResult<proto::get_provider_schema::Response> {
        fn schemas<T: ?Sized>(
            m: &BTreeMap<String, Entry<T>>,
        ) -> std::collections::HashMap<String, proto::Schema> {
            m.iter()
                .map(|(k, e)| (k.clone(), schema_to_proto(&e.schema)))
                .collect()
        }
        Ok(Response::new(proto::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.provider_schema)),
            resource_schemas: schemas(&self.resources),
            data_source_schemas: schemas(&self.data_sources),
            functions: self.function_protos(),
            ephemeral_resource_schemas: schemas(&self.ephemeral_resources),
            list_resource_schemas: schemas(&self.list_resources),
            state_store_schemas: Default::default(),
            action_schemas: Default::default(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<proto::validate_provider_config::Request>,
    ) -> RpcResult<proto::validate_provider_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_provider_config::Response::default();
        let config = try_diags!(
            decode(
                &self.provider_ty,
                req.config.as_ref(),
                "provider configuration"
            ),
            empty
        );
        let diags = try_diags!(
            guarded("ValidateProviderConfig", self.provider.validate(&config)).await,
            empty
        );
        Ok(Response::new(proto::validate_provider_config::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<proto::validate_resource_config::Request>,
    ) -> RpcResult<proto::validate_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_resource_config::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let diags = try_diags!(
            guarded("ValidateResourceConfig", entry.handler.validate(&config)).await,
            empty
        );
        Ok(Response::new(proto::validate_resource_config::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<proto::validate_data_resource_config::Request>,
    ) -> RpcResult<proto::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_data_resource_config::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let diags = try_diags!(
            guarded(
                "ValidateDataResourceConfig",
                entry.handler.validate(&config)
            )
            .await,
            empty
        );
        Ok(Response::new(
            proto::validate_data_resource_config::Response {
                diagnostics: diagnostics_to_proto(diags),
            },
        ))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> RpcResult<proto::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let empty = proto::upgrade_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let raw = req.raw_state.unwrap_or_default();
        let mut warnings = Diagnostics::default();
        let upgraded = if req.version == entry.schema.version && !raw.json.is_empty() {
            try_diags!(
                json::decode_bytes(&entry.ty, &raw.json).map_err(|e| Diagnostics::from(
                    Diagnostic::error(
                        "Stored state does not match the schema",
                        format!("The state of this {} cannot be read: {e}", req.type_name)
                    )
                )),
                empty
            )
        } else if req.version > entry.schema.version {
            try_diags!(
                Err(Diagnostics::from(Diagnostic::error(
                    "State written by a newer provider",
                    format!(
                        "This state was written with schema version {} of {}, but this provider knows only up to version {}. Upgrade the provider.",
                        req.version, req.type_name, entry.schema.version
                    )
                ))),
                empty
            )
        } else {
            let raw = RawState {
                version: req.version,
                json: (!raw.json.is_empty()).then_some(raw.json),
                flatmap: raw.flatmap,
            };
            let (value, diags) = try_diags!(
                try_diags!(
                    guarded("UpgradeResourceState", async {
                        entry.handler.upgrade_state(raw)
                    })
                    .await,
                    empty
                ),
                empty
            );
            warnings = diags;
            value
        };
        Ok(Response::new(proto::upgrade_resource_state::Response {
            upgraded_state: encode(&entry.ty, &upgraded),
            diagnostics: diagnostics_to_proto(warnings),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<proto::configure_provider::Request>,
    ) -> RpcResult<proto::configure_provider::Response> {
        let req = req.into_inner();
        let empty = proto::configure_provider::Response::default();
        let config = try_diags!(
            decode(
                &self.provider_ty,
                req.config.as_ref(),
                "provider configuration"
            ),
            empty
        );
        let ctx = self.ctx();
        let request = ConfigureRequest {
            terraform_version: req.terraform_version,
            config,
        };
        let diags = try_diags!(
            guarded("ConfigureProvider", self.provider.configure(&ctx, request)).await,
            empty
        );
        Ok(Response::new(proto::configure_provider::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<proto::read_resource::Request>,
    ) -> RpcResult<proto::read_resource::Response> {
        let req = req.into_inner();
        let empty = proto::read_resource::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let state = try_diags!(
            decode(&entry.ty, req.current_state.as_ref(), "current state"),
            empty
        );
        let identity = try_diags!(
            self.decode_identity(&req.type_name, req.current_identity.as_ref()),
            empty
        );
        let ctx = self.ctx();
        let mut out = try_diags!(
            guarded(
                "ReadResource",
                entry.handler.read(
                    &ctx,
                    ReadRequest {
                        state: state.clone(),
                        private: req.private,
                        identity,
                    }
                )
            )
            .await,
            empty
        );
        // Refresh keeps the stored spelling of a value that means the same.
        model::keep_equivalent(&entry.schema.block, &state, &mut out.state);
        Ok(Response::new(proto::read_resource::Response {
            new_state: encode(&entry.ty, &out.state),
            diagnostics: diagnostics_to_proto(out.diagnostics),
            private: out.private,
            deferred: None,
            new_identity: self.encode_identity(&req.type_name, &out.identity),
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> RpcResult<proto::plan_resource_change::Response> {
        let req = req.into_inner();
        let empty = proto::plan_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior_state = try_diags!(
            decode(&entry.ty, req.prior_state.as_ref(), "prior state"),
            empty
        );
        let mut proposed_new_state = try_diags!(
            decode(&entry.ty, req.proposed_new_state.as_ref(), "proposed state"),
            empty
        );
        // An attribute whose new value means the same as the prior one (JSON
        // with other whitespace or member order) keeps the prior spelling,
        // so the resource sees no change and Terraform shows none.
        model::keep_equivalent(&entry.schema.block, &prior_state, &mut proposed_new_state);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let prior_identity = try_diags!(
            self.decode_identity(&req.type_name, req.prior_identity.as_ref()),
            empty
        );
        let ctx = self.ctx();
        let plan = PlanRequest {
            prior_state: prior_state.clone(),
            proposed_new_state,
            config,
            prior_private: req.prior_private,
            prior_identity,
        };
        let mut out = try_diags!(
            guarded("PlanResourceChange", entry.handler.plan(&ctx, plan)).await,
            empty
        );
        model::keep_equivalent(&entry.schema.block, &prior_state, &mut out.planned_state);
        Ok(Response::new(proto::plan_resource_change::Response {
            planned_state: encode(&entry.ty, &out.planned_state),
            requires_replace: out
                .requires_replace
                .into_iter()
                .map(path_to_proto)
                .collect(),
            planned_private: out.planned_private,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            legacy_type_system: false,
            deferred: None,
            planned_identity: self.encode_identity(&req.type_name, &out.planned_identity),
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> RpcResult<proto::apply_resource_change::Response> {
        let req = req.into_inner();
        let empty = proto::apply_resource_change::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let prior_state = try_diags!(
            decode(&entry.ty, req.prior_state.as_ref(), "prior state"),
            empty
        );
        let planned_state = try_diags!(
            decode(&entry.ty, req.planned_state.as_ref(), "planned state"),
            empty
        );
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let planned_identity = try_diags!(
            self.decode_identity(&req.type_name, req.planned_identity.as_ref()),
            empty
        );
        let ctx = self.ctx();
        let apply = ApplyRequest {
            prior_state: prior_state.clone(),
            planned_state: planned_state.clone(),
            config,
            planned_private: req.planned_private,
            planned_identity: planned_identity.clone(),
        };
        // On a panic the remote objects are as they were before as far as we
        // know, so keep the prior state rather than forgetting the resource.
        let out = match guarded("ApplyResourceChange", entry.handler.apply(&ctx, apply)).await {
            Ok(mut out) => {
                // Terraform requires the new state to equal the plan; a value
                // that only differs in spelling keeps the planned one.
                model::keep_equivalent(&entry.schema.block, &planned_state, &mut out.new_state);
                out
            }
            Err(d) => framework::ApplyResponse {
                new_state: prior_state,
                private: Vec::new(),
                identity: planned_identity,
                diagnostics: d,
            },
        };
        Ok(Response::new(proto::apply_resource_change::Response {
            new_state: encode(&entry.ty, &out.new_state),
            private: out.private,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            legacy_type_system: false,
            new_identity: self.encode_identity(&req.type_name, &out.identity),
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> RpcResult<proto::import_resource_state::Response> {
        let req = req.into_inner();
        let empty = proto::import_resource_state::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let identity = try_diags!(
            self.decode_identity(&req.type_name, req.identity.as_ref()),
            empty
        );
        let ctx = self.ctx();
        let import = ImportRequest {
            id: req.id,
            identity,
        };
        let out = try_diags!(
            guarded("ImportResourceState", entry.handler.import(&ctx, import)).await,
            empty
        );
        let imported = if out.state.is_null() {
            vec![]
        } else {
            vec![proto::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: encode(&entry.ty, &out.state),
                private: out.private,
                identity: self.encode_identity(&req.type_name, &out.identity),
            }]
        };
        Ok(Response::new(proto::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diagnostics_to_proto(out.diagnostics),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<proto::move_resource_state::Request>,
    ) -> RpcResult<proto::move_resource_state::Response> {
        let req = req.into_inner();
        Ok(Response::new(proto::move_resource_state::Response {
            target_state: None,
            target_private: Vec::new(),
            target_identity: None,
            diagnostics: diagnostics_to_proto(
                Diagnostic::error(
                    "Moving resource state is not supported",
                    format!(
                        "{} cannot be the target of a `moved` block from {}.",
                        req.target_type_name, req.source_type_name
                    ),
                )
                .into(),
            ),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<proto::read_data_source::Request>,
    ) -> RpcResult<proto::read_data_source::Response> {
        let req = req.into_inner();
        let empty = proto::read_data_source::Response::default();
        let entry = try_diags!(self.data_source(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let ctx = self.ctx();
        let (state, diags) = try_diags!(
            try_diags!(
                guarded("ReadDataSource", entry.handler.read(&ctx, config)).await,
                empty
            ),
            empty
        );
        Ok(Response::new(proto::read_data_source::Response {
            state: encode(&entry.ty, &state),
            diagnostics: diagnostics_to_proto(diags),
            deferred: None,
        }))
    }

    async fn get_functions(
        &self,
        _req: Request<proto::get_functions::Request>,
    ) -> RpcResult<proto::get_functions::Response> {
        Ok(Response::new(proto::get_functions::Response {
            functions: self.function_protos(),
            diagnostics: vec![],
        }))
    }

    async fn call_function(
        &self,
        req: Request<proto::call_function::Request>,
    ) -> RpcResult<proto::call_function::Response> {
        let req = req.into_inner();
        let fail = |error: framework::FunctionError| {
            Ok(Response::new(proto::call_function::Response {
                result: None,
                error: Some(proto::FunctionError {
                    text: error.text,
                    function_argument: error.argument.map(|a| a as i64),
                }),
            }))
        };
        let Some(f) = self.functions.get(&req.name) else {
            return fail(framework::FunctionError::new(format!(
                "This provider has no function named {:?}.",
                req.name
            )));
        };
        let sig = &f.signature;
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, raw) in req.arguments.iter().enumerate() {
            let param = sig.parameters.get(i).or(sig.variadic.as_ref());
            let Some(param) = param else {
                return fail(framework::FunctionError::new(format!(
                    "{} takes {} arguments, got {}.",
                    req.name,
                    sig.parameters.len(),
                    req.arguments.len()
                )));
            };
            match decode(&param.ty, Some(raw), "argument") {
                Ok(v) => args.push(v),
                Err(d) => {
                    return fail(framework::FunctionError::at_argument(
                        i,
                        d.0.first().map(|d| d.detail.clone()).unwrap_or_default(),
                    ))
                }
            }
        }
        let handler = f.handler.clone();
        let what = format!("CallFunction {}", req.name);
        let result = match guarded(&what, async move { handler.call(args) }).await {
            Ok(r) => r,
            Err(d) => Err(framework::FunctionError::new(
                d.0.first().map(|d| d.detail.clone()).unwrap_or_default(),
            )),
        };
        match result {
            Ok(v) => Ok(Response::new(proto::call_function::Response {
                result: encode(&sig.return_type, &v),
                error: None,
            })),
            Err(e) => fail(e),
        }
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<proto::get_resource_identity_schemas::Request>,
    ) -> RpcResult<proto::get_resource_identity_schemas::Response> {
        // Terraform 1.12+ calls this after every GetProviderSchema; resource
        // types without identity are left out.
        Ok(Response::new(
            proto::get_resource_identity_schemas::Response {
                identity_schemas: self
                    .identities
                    .iter()
                    .map(|(k, i)| (k.clone(), identity_schema_to_proto(&i.schema)))
                    .collect(),
                diagnostics: vec![],
            },
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<proto::upgrade_resource_identity::Request>,
    ) -> RpcResult<proto::upgrade_resource_identity::Response> {
        // Terraform calls this when the stored identity data has another
        // version than the identity schema.
        let req = req.into_inner();
        let empty = proto::upgrade_resource_identity::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let json = req.raw_identity.map(|r| r.json).unwrap_or_default();
        let handler = entry.handler.clone();
        let version = req.version;
        let upgraded = try_diags!(
            try_diags!(
                guarded("UpgradeResourceIdentity", async move {
                    handler.upgrade_identity(version, &json)
                })
                .await,
                empty
            ),
            empty
        );
        Ok(Response::new(proto::upgrade_resource_identity::Response {
            upgraded_identity: self.encode_identity(&req.type_name, &upgraded),
            diagnostics: vec![],
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<proto::generate_resource_config::Request>,
    ) -> RpcResult<proto::generate_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::generate_resource_config::Response::default();
        let entry = try_diags!(self.resource(&req.type_name), empty);
        let state = try_diags!(decode(&entry.ty, req.state.as_ref(), "state"), empty);
        let handler = entry.handler.clone();
        let config = try_diags!(
            try_diags!(
                guarded("GenerateResourceConfig", async move {
                    handler.generate_config(&state)
                })
                .await,
                empty
            ),
            empty
        );
        Ok(Response::new(proto::generate_resource_config::Response {
            config: encode(&entry.ty, &config),
            diagnostics: vec![],
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<proto::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<proto::validate_ephemeral_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_ephemeral_resource_config::Response::default();
        let entry = try_diags!(self.ephemeral_resource(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let diags = try_diags!(
            guarded(
                "ValidateEphemeralResourceConfig",
                entry.handler.validate(&config)
            )
            .await,
            empty
        );
        Ok(Response::new(
            proto::validate_ephemeral_resource_config::Response {
                diagnostics: diagnostics_to_proto(diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<proto::open_ephemeral_resource::Request>,
    ) -> RpcResult<proto::open_ephemeral_resource::Response> {
        let req = req.into_inner();
        let empty = proto::open_ephemeral_resource::Response::default();
        let entry = try_diags!(self.ephemeral_resource(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "configuration"),
            empty
        );
        let ctx = self.ctx();
        let out = try_diags!(
            guarded("OpenEphemeralResource", entry.handler.open(&ctx, config)).await,
            empty
        );
        Ok(Response::new(proto::open_ephemeral_resource::Response {
            diagnostics: diagnostics_to_proto(out.diagnostics),
            renew_at: out.renew_at.map(timestamp),
            result: if out.result.is_null() {
                None
            } else {
                encode(&entry.ty, &out.result)
            },
            private: (!out.private.is_empty()).then_some(out.private),
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<proto::renew_ephemeral_resource::Request>,
    ) -> RpcResult<proto::renew_ephemeral_resource::Response> {
        let req = req.into_inner();
        let empty = proto::renew_ephemeral_resource::Response::default();
        let entry = try_diags!(self.ephemeral_resource(&req.type_name), empty);
        let ctx = self.ctx();
        let out = try_diags!(
            guarded(
                "RenewEphemeralResource",
                entry.handler.renew(&ctx, req.private.unwrap_or_default())
            )
            .await,
            empty
        );
        Ok(Response::new(proto::renew_ephemeral_resource::Response {
            diagnostics: diagnostics_to_proto(out.diagnostics),
            renew_at: out.renew_at.map(timestamp),
            private: (!out.private.is_empty()).then_some(out.private),
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<proto::close_ephemeral_resource::Request>,
    ) -> RpcResult<proto::close_ephemeral_resource::Response> {
        let req = req.into_inner();
        let empty = proto::close_ephemeral_resource::Response::default();
        let entry = try_diags!(self.ephemeral_resource(&req.type_name), empty);
        let ctx = self.ctx();
        let diags = try_diags!(
            guarded(
                "CloseEphemeralResource",
                entry.handler.close(&ctx, req.private.unwrap_or_default())
            )
            .await,
            empty
        );
        Ok(Response::new(proto::close_ephemeral_resource::Response {
            diagnostics: diagnostics_to_proto(diags),
        }))
    }

    type ListResourceStream = EventStream<proto::list_resource::Event>;

    async fn list_resource(
        &self,
        req: Request<proto::list_resource::Request>,
    ) -> RpcResult<Self::ListResourceStream> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        let entry = match self.list_resource(&req.type_name) {
            Ok(e) => e,
            Err(d) => return Ok(Response::new(one_event(list_error(d)))),
        };
        let config = match decode(&entry.ty, req.config.as_ref(), "list configuration") {
            Ok(c) => c,
            Err(d) => return Ok(Response::new(one_event(list_error(d)))),
        };
        let resource = self.resource(&type_name).ok();
        let (state_ty, identity_ty) = match (resource, self.identities.get(&type_name)) {
            (Some(r), Some(i)) => (r.ty.clone(), i.ty.clone()),
            _ => {
                let d = unknown_type("resource", &type_name);
                return Ok(Response::new(one_event(list_error(d))));
            }
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ListEvent>(16);
        let handler = entry.handler.clone();
        let ctx = self.ctx();
        let list = ListRequest {
            config,
            include_resource: req.include_resource_object,
            limit: req.limit,
        };
        let what = format!("ListResource {type_name}");
        let panic_tx = tx.clone();
        tokio::spawn(async move {
            if let Err(d) = guarded(&what, handler.list(&ctx, list, tx)).await {
                let _ = panic_tx
                    .send(ListEvent {
                        identity: Value::Null,
                        display_name: String::new(),
                        state: Value::Null,
                        diagnostics: d,
                    })
                    .await;
            }
        });
        let stream = async_stream(move |out| async move {
            while let Some(e) = rx.recv().await {
                let event = proto::list_resource::Event {
                    identity: (!e.identity.is_null()).then(|| proto::ResourceIdentityData {
                        identity_data: encode(&identity_ty, &e.identity),
                    }),
                    display_name: e.display_name,
                    resource_object: if e.state.is_null() {
                        None
                    } else {
                        encode(&state_ty, &e.state)
                    },
                    diagnostic: diagnostics_to_proto(e.diagnostics),
                };
                if out.send(Ok(event)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(stream))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<proto::validate_list_resource_config::Request>,
    ) -> RpcResult<proto::validate_list_resource_config::Response> {
        let req = req.into_inner();
        let empty = proto::validate_list_resource_config::Response::default();
        let entry = try_diags!(self.list_resource(&req.type_name), empty);
        let config = try_diags!(
            decode(&entry.ty, req.config.as_ref(), "list configuration"),
            empty
        );
        let diags = try_diags!(
            guarded(
                "ValidateListResourceConfig",
                entry.handler.validate(&config)
            )
            .await,
            empty
        );
        Ok(Response::new(
            proto::validate_list_resource_config::Response {
                diagnostics: diagnostics_to_proto(diags),
            },
        ))
    }

    // State stores (protocol 6.10, Terraform 1.15 `state_store` blocks):
    // this provider has none, so every type is unknown.

    async fn validate_state_store_config(
        &self,
        req: Request<proto::validate_state_store::Request>,
    ) -> RpcResult<proto::validate_state_store::Response> {
        Ok(Response::new(proto::validate_state_store::Response {
            diagnostics: no_such("state store", &req.into_inner().type_name),
        }))
    }

    async fn configure_state_store(
        &self,
        req: Request<proto::configure_state_store::Request>,
    ) -> RpcResult<proto::configure_state_store::Response> {
        Ok(Response::new(proto::configure_state_store::Response {
            diagnostics: no_such("state store", &req.into_inner().type_name),
            capabilities: None,
        }))
    }

    type ReadStateBytesStream = EventStream<proto::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        req: Request<proto::read_state_bytes::Request>,
    ) -> RpcResult<Self::ReadStateBytesStream> {
        Ok(Response::new(one_event(
            proto::read_state_bytes::Response {
                diagnostics: no_such("state store", &req.into_inner().type_name),
                ..Default::default()
            },
        )))
    }

    async fn write_state_bytes(
        &self,
        req: Request<tonic::Streaming<proto::write_state_bytes::RequestChunk>>,
    ) -> RpcResult<proto::write_state_bytes::Response> {
        let mut chunks = req.into_inner();
        let mut type_name = String::new();
        // The type is in the first chunk's metadata; the rest is drained.
        while let Ok(Some(chunk)) = chunks.message().await {
            if let Some(meta) = chunk.meta {
                if type_name.is_empty() {
                    type_name = meta.type_name;
                }
            }
        }
        Ok(Response::new(proto::write_state_bytes::Response {
            diagnostics: no_such("state store", &type_name),
        }))
    }

    async fn lock_state(
        &self,
        req: Request<proto::lock_state::Request>,
    ) -> RpcResult<proto::lock_state::Response> {
        Ok(Response::new(proto::lock_state::Response {
            lock_id: String::new(),
            diagnostics: no_such("state store", &req.into_inner().type_name),
        }))
    }

    async fn unlock_state(
        &self,
        req: Request<proto::unlock_state::Request>,
    ) -> RpcResult<proto::unlock_state::Response> {
        Ok(Response::new(proto::unlock_state::Response {
            diagnostics: no_such("state store", &req.into_inner().type_name),
        }))
    }

    async fn get_states(
        &self,
        req: Request<proto::get_states::Request>,
    ) -> RpcResult<proto::get_states::Response> {
        Ok(Response::new(proto::get_states::Response {
            state_id: vec![],
            diagnostics: no_such("state store", &req.into_inner().type_name),
        }))
    }

    async fn delete_state(
        &self,
        req: Request<proto::delete_state::Request>,
    ) -> RpcResult<proto::delete_state::Response> {
        Ok(Response::new(proto::delete_state::Response {
            diagnostics: no_such("state store", &req.into_inner().type_name),
        }))
    }

    // Actions (protocol 6.10, Terraform 1.14 `action` blocks): none here.

    async fn plan_action(
        &self,
        req: Request<proto::plan_action::Request>,
    ) -> RpcResult<proto::plan_action::Response> {
        Ok(Response::new(proto::plan_action::Response {
            diagnostics: no_such("action", &req.into_inner().action_type),
            deferred: None,
        }))
    }

    type InvokeActionStream = EventStream<proto::invoke_action::Event>;

    async fn invoke_action(
        &self,
        req: Request<proto::invoke_action::Request>,
    ) -> RpcResult<Self::InvokeActionStream> {
        use proto::invoke_action::event;
        Ok(Response::new(one_event(proto::invoke_action::Event {
            r#type: Some(event::Type::Completed(event::Completed {
                diagnostics: no_such("action", &req.into_inner().action_type),
            })),
        })))
    }

    async fn validate_action_config(
        &self,
        req: Request<proto::validate_action_config::Request>,
    ) -> RpcResult<proto::validate_action_config::Response> {
        Ok(Response::new(proto::validate_action_config::Response {
            diagnostics: no_such("action", &req.into_inner().type_name),
        }))
    }

    async fn stop_provider(
        &self,
        _req: Request<proto::stop_provider::Request>,
    ) -> RpcResult<proto::stop_provider::Response> {
        let old = std::mem::take(&mut *self.stop.lock().expect("stop token lock"));
        old.cancel();
        tracing::info!(target: "irsa::plugin", "StopProvider: cancelled work in flight");
        Ok(Response::new(proto::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn capabilities() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        plan_destroy: false,
        // Every schema is built when the service is made, and no handler
        // depends on GetProviderSchema having been called, so Terraform may
        // reuse the schema it cached from another process of this provider.
        get_provider_schema_optional: true,
        move_resource_state: false,
        // `-generate-config-out` asks the resource (GenerateResourceConfig)
        // instead of guessing from the state (Terraform 1.14+).
        generate_resource_config: true,
    }
}

/// A server stream of gRPC messages.
pub type EventStream<T> =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// A stream of exactly one message.
fn one_event<T: Send + 'static>(event: T) -> EventStream<T> {
    Box::pin(futures::stream::once(async move { Ok(event) }))
}

/// A stream fed by `produce` through a channel.
fn async_stream<T, F, Fut>(produce: F) -> EventStream<T>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, tonic::Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(produce(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn list_error(d: Diagnostics) -> proto::list_resource::Event {
    proto::list_resource::Event {
        identity: None,
        display_name: String::new(),
        resource_object: None,
        diagnostic: diagnostics_to_proto(d),
    }
}

/// The answer for a type of a feature this provider does not have.
fn no_such(kind: &str, name: &str) -> Vec<proto::Diagnostic> {
    diagnostics_to_proto(unknown_type(kind, name))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Model as _, Tf};
    use crate::resource::{Create, Outcome, Saved, Update};
    use crate::Attribute;
    use proto::provider_server::Provider as _;

    #[test]
    fn nested_attributes_go_out_as_nested_type_without_a_type() {
        let member = Attribute {
            required: true,
            optional: false,
            ..Attribute::optional("key", Type::String, "")
        };
        let mut a = Attribute::optional("rules", Type::list(Type::Object(Default::default())), "");
        a.nested = Some(crate::NestedAttributes {
            nesting: crate::schema::Nesting::List,
            attributes: vec![member],
        });
        let p = attribute_to_proto(&a);
        assert!(
            p.r#type.is_empty(),
            "Terraform refuses both a type and a nested type"
        );
        let n = p.nested_type.expect("nested_type");
        assert_eq!(n.nesting, proto::schema::object::NestingMode::List as i32);
        assert_eq!(n.attributes.len(), 1);
        assert!(n.attributes[0].required);
        assert_eq!(n.attributes[0].r#type, b"\"string\"".to_vec());
    }

    /// Version 1 of a toy resource: `size` became a number; version 0 had
    /// `size_text` as a string.
    struct Toy;

    /// A toy.
    #[derive(crate::model::Model, Clone, Debug, Default, PartialEq)]
    struct ToyModel {
        #[tf(required)]
        name: Tf<String>,
        #[tf(optional)]
        size: Tf<i64>,
    }

    fn toy_schema() -> Schema {
        ToyModel::schema(1)
    }

    #[async_trait::async_trait]
    impl crate::resource::Resource for Toy {
        type Model = ToyModel;
        type Private = ();
        type Identity = ();
        const TYPE_NAME: &'static str = "toy_thing";
        const SCHEMA_VERSION: i64 = 1;

        fn upgrade_state(&self, raw: RawState) -> Result<(Value, Diagnostics), Diagnostics> {
            assert_eq!(raw.version, 0);
            let old: serde_json::Value =
                serde_json::from_slice(raw.json.as_deref().unwrap_or(b"{}")).unwrap();
            let size = old["size_text"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok());
            let v = Value::object([
                (
                    "name",
                    Value::string(old["name"].as_str().unwrap_or_default()),
                ),
                ("size", size.map(Value::number).unwrap_or(Value::Null)),
            ]);
            let mut warnings = Diagnostics::default();
            if v.attr("size").is_null() {
                warnings.warning_at(
                    AttrPath::root("size"),
                    "Size not carried over",
                    "size_text was not a number",
                );
            }
            Ok((v, warnings))
        }
        async fn read(
            &self,
            _ctx: &Ctx,
            _state: ToyModel,
            _p: Option<()>,
        ) -> Result<Option<Saved<ToyModel, ()>>, Diagnostics> {
            panic!("read exploded")
        }
        async fn create(&self, _ctx: &Ctx, _req: Create<ToyModel, ()>) -> Outcome<ToyModel, ()> {
            panic!("apply exploded")
        }
        async fn update(&self, _ctx: &Ctx, _req: Update<ToyModel, ()>) -> Outcome<ToyModel, ()> {
            panic!("apply exploded")
        }
        async fn delete(
            &self,
            _ctx: &Ctx,
            _state: ToyModel,
            _p: Option<()>,
        ) -> Result<(), Diagnostics> {
            panic!("apply exploded")
        }
        async fn import(&self, _ctx: &Ctx, id: &str) -> Result<Saved<ToyModel, ()>, Diagnostics> {
            let state = ToyModel {
                name: Tf::Known(id.to_string()),
                size: Tf::Null,
            };
            Ok(Saved::new(state, ()))
        }
    }

    struct ToyProvider;

    #[async_trait::async_trait]
    impl framework::Provider for ToyProvider {
        fn type_name(&self) -> &'static str {
            "toy"
        }
        fn schema(&self) -> Schema {
            Schema::default()
        }
        fn resources(&self) -> Vec<Arc<dyn framework::ResourceHandler>> {
            vec![crate::resource::handler(Toy)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn framework::DataSourceHandler>> {
            vec![]
        }
        async fn configure(&self, _ctx: &Ctx, _req: ConfigureRequest) -> Diagnostics {
            Diagnostics::default()
        }
    }

    pub(crate) fn service() -> ProviderService {
        ProviderService::new(Arc::new(ToyProvider))
    }

    async fn upgrade(version: i64, json: &str) -> proto::upgrade_resource_state::Response {
        service()
            .upgrade_resource_state(Request::new(proto::upgrade_resource_state::Request {
                type_name: "toy_thing".into(),
                version,
                raw_state: Some(proto::RawState {
                    json: json.as_bytes().to_vec(),
                    flatmap: Default::default(),
                }),
            }))
            .await
            .unwrap()
            .into_inner()
    }

    fn decoded(v: &Option<proto::DynamicValue>) -> Value {
        msgpack::decode(
            &toy_schema().block.value_type(),
            &v.as_ref().unwrap().msgpack,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn current_state_version_is_decoded_as_is() {
        let r = upgrade(1, r#"{"name":"a","size":3}"#).await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert_eq!(
            decoded(&r.upgraded_state).attr("size"),
            &Value::number(3i64)
        );
    }

    #[tokio::test]
    async fn older_state_goes_through_the_resource_upgrader() {
        let r = upgrade(0, r#"{"name":"a","size_text":"42"}"#).await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        let v = decoded(&r.upgraded_state);
        assert_eq!(v.attr("name"), &Value::string("a"));
        assert_eq!(v.attr("size"), &Value::number(42i64));
    }

    #[tokio::test]
    async fn upgrade_warnings_reach_terraform_next_to_the_upgraded_state() {
        let r = upgrade(0, r#"{"name":"a","size_text":"big"}"#).await;
        assert_eq!(r.diagnostics.len(), 1, "{:?}", r.diagnostics);
        assert_eq!(
            r.diagnostics[0].severity,
            proto::diagnostic::Severity::Warning as i32
        );
        assert_eq!(decoded(&r.upgraded_state).attr("name"), &Value::string("a"));
    }

    #[tokio::test]
    async fn state_json_keeps_digits_f64_would_lose() {
        let r = upgrade(
            1,
            r#"{"name":"a","size":123456789012345678901234567890.000000000000000000001}"#,
        )
        .await;
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert_eq!(
            decoded(&r.upgraded_state)
                .attr("size")
                .as_number()
                .unwrap()
                .as_str(),
            "123456789012345678901234567890.000000000000000000001"
        );
    }

    #[tokio::test]
    async fn identity_schemas_are_empty_and_an_identity_upgrade_is_a_clear_error() {
        let svc = service();
        let r = svc
            .get_resource_identity_schemas(Request::new(
                proto::get_resource_identity_schemas::Request {},
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(r.identity_schemas.is_empty() && r.diagnostics.is_empty());
        let r = svc
            .upgrade_resource_identity(Request::new(proto::upgrade_resource_identity::Request {
                type_name: "toy_thing".into(),
                version: 2,
                raw_identity: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(r.upgraded_identity.is_none());
        assert_eq!(r.diagnostics.len(), 1);
        assert!(r.diagnostics[0].detail.contains("version 2"));
    }

    #[tokio::test]
    async fn newer_state_is_refused_with_a_clear_error() {
        let r = upgrade(7, r#"{"name":"a"}"#).await;
        assert_eq!(r.diagnostics.len(), 1);
        assert!(
            r.diagnostics[0].detail.contains("version 7"),
            "{:?}",
            r.diagnostics
        );
        assert!(r.upgraded_state.is_none());
    }

    #[tokio::test]
    async fn a_panicking_handler_becomes_an_error_diagnostic() {
        let svc = service();
        let state = proto::DynamicValue {
            msgpack: msgpack::encode(
                &toy_schema().block.value_type(),
                &Value::object([("name", Value::string("a")), ("size", Value::Null)]),
            ),
            json: vec![],
        };
        let r = svc
            .read_resource(Request::new(proto::read_resource::Request {
                type_name: "toy_thing".into(),
                current_state: Some(state.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.diagnostics.len(), 1);
        assert!(r.diagnostics[0].detail.contains("read exploded"));

        // A panic during apply keeps the prior state, so Terraform does not forget the object.
        let r = svc
            .apply_resource_change(Request::new(proto::apply_resource_change::Request {
                type_name: "toy_thing".into(),
                prior_state: Some(state.clone()),
                planned_state: Some(state.clone()),
                config: Some(state.clone()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(r.diagnostics[0].detail.contains("apply exploded"));
        assert_eq!(r.new_state.unwrap().msgpack, state.msgpack);
    }

    #[tokio::test]
    async fn import_returns_the_resource_state() {
        let r = service()
            .import_resource_state(Request::new(proto::import_resource_state::Request {
                type_name: "toy_thing".into(),
                id: "x".into(),
                client_capabilities: None,
                identity: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.imported_resources.len(), 1);
        assert_eq!(
            decoded(&r.imported_resources[0].state).attr("name"),
            &Value::string("x")
        );
    }

    #[tokio::test]
    async fn stop_cancels_contexts_handed_out_before_it_but_not_after() {
        let svc = service();
        let before = svc.ctx();
        svc.stop_provider(Request::new(proto::stop_provider::Request {}))
            .await
            .unwrap();
        assert!(before.is_stopped());
        assert!(!svc.ctx().is_stopped());
        assert_eq!(
            before.run(std::future::pending::<()>()).await,
            Err(framework::Interrupted::Stopped)
        );
    }
}
