//! Typed resources, as terraform-plugin-framework's `resource.Resource`: a
//! resource declares its model and private state and implements create,
//! read, update and delete on typed values; validation, plan modification,
//! import and state upgrade are optional. The framework ([`handler`]) owns
//! the lifecycle around them:
//!
//! - validate: the model decodes (value types refuse bad values), the
//!   validators declared on its fields run, then [`Resource::validate`];
//! - plan: declared defaults fill what the configuration leaves out, the
//!   computed attributes it does not set become unknown (on create and
//!   replace all of them; on an update that changes something those not
//!   declared `keep`), then [`Resource::modify_plan`]; attributes declared
//!   `replace` that change require replacement;
//! - apply: a null plan is a delete, a null prior state a create, anything
//!   else an update, each under its timeout from the `timeouts` block; a
//!   failed operation keeps the prior state and private state unless the
//!   resource reports what exists now; a successful delete removes both;
//! - identity (Terraform 1.12+, opt-in: `type Identity` a model instead of
//!   `()`): computed by [`Resource::identity`] from what create, read,
//!   update and import return, passed through unchanged by an update plan,
//!   and the way `import { identity = { ... } }` names an object
//!   ([`Resource::import_identity`]);
//! - generated configuration (`-generate-config-out`): the state without
//!   what is only computed and without values equal to their declared
//!   defaults, then [`Resource::generate_config`].

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};

use crate::ctx::Ctx;
use crate::diag::{AttrPath, Diagnostic, Diagnostics};
use crate::framework::{
    ApplyRequest, ApplyResponse, ImportRequest, ImportResponse, PlanRequest, PlanResponse,
    RawState, ReadRequest, ReadResponse, ResourceHandler,
};
use crate::model::{Model, TfType};
use crate::schema::{IdentityAttribute, IdentitySchema, Schema};
use crate::timeouts::Operation;
use crate::value::Value;

/// What a resource keeps in Terraform's private state. `()` keeps nothing;
/// a serde type implements [`JsonPrivate`] to be kept as JSON.
pub trait PrivateState: Sized + Send + Sync + 'static {
    fn encode(&self) -> Vec<u8>;
    /// `None` when there is nothing usable (empty, or from another version).
    fn decode(bytes: &[u8]) -> Option<Self>;
}

impl PrivateState for () {
    fn encode(&self) -> Vec<u8> {
        Vec::new()
    }
    fn decode(_: &[u8]) -> Option<()> {
        Some(())
    }
}

/// Private state kept as JSON; [`JsonPrivate::usable`] can refuse a decoded
/// value that lacks what the resource needs.
pub trait JsonPrivate: Serialize + DeserializeOwned + Send + Sync + 'static {
    fn usable(&self) -> bool {
        true
    }
}

impl<T: JsonPrivate> PrivateState for T {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    fn decode(bytes: &[u8]) -> Option<T> {
        serde_json::from_slice::<T>(bytes).ok().filter(T::usable)
    }
}

/// A resource's identity type: `()` for a resource without identity, or a
/// `#[derive(Model)]` struct whose fields are the identity's attributes
/// (`required`: an import must give it; `optional`: an import may leave it
/// out and the resource fills it in). Identities hold plain known values.
pub trait IdentityModel: Sized + Send + Sync + 'static {
    /// `None` for `()`.
    fn identity_schema(version: i64) -> Option<IdentitySchema>;
    fn decode_identity(v: &Value) -> Result<Self, Diagnostics>;
    /// Null for `()`.
    fn encode_identity(&self) -> Value;
}

impl IdentityModel for () {
    fn identity_schema(_version: i64) -> Option<IdentitySchema> {
        None
    }
    fn decode_identity(_v: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }
    fn encode_identity(&self) -> Value {
        Value::Null
    }
}

impl<T: Model + Send + Sync + 'static> IdentityModel for T {
    fn identity_schema(version: i64) -> Option<IdentitySchema> {
        let attributes = T::block()
            .attributes
            .into_iter()
            .map(|a| IdentityAttribute {
                required_for_import: a.required,
                optional_for_import: !a.required,
                name: a.name,
                ty: a.ty,
                description: a.description,
            })
            .collect();
        Some(IdentitySchema {
            version,
            attributes,
        })
    }
    fn decode_identity(v: &Value) -> Result<T, Diagnostics> {
        T::decode(v)
    }
    fn encode_identity(&self) -> Value {
        self.to_value()
    }
}

/// What a plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    Create,
    Update,
    /// An attribute declared `replace` changes: the object is made anew.
    Replace,
}

/// A plan being made: [`Resource::modify_plan`] may change `planned` and
/// `private` (which becomes the planned private state).
pub struct Plan<M, P> {
    pub kind: PlanKind,
    pub config: M,
    /// `None` on create.
    pub prior: Option<M>,
    pub planned: M,
    pub private: Option<P>,
    /// Every value of the configuration is known (none waits for an apply).
    pub config_known: bool,
}

pub struct Create<M, P> {
    pub config: M,
    pub planned: M,
    pub private: Option<P>,
}

pub struct Update<M, P> {
    pub config: M,
    pub prior: M,
    pub planned: M,
    pub private: Option<P>,
}

/// What exists after an operation.
pub struct Saved<M, P> {
    pub state: M,
    pub private: P,
    pub warnings: Diagnostics,
}

impl<M, P> Saved<M, P> {
    pub fn new(state: M, private: P) -> Saved<M, P> {
        Saved {
            state,
            private,
            warnings: Diagnostics::default(),
        }
    }
}

/// A failed create or update: why, and what exists now when the resource
/// knows (a create that made some parts returns them, so the next run
/// removes them; `None` keeps the prior state, or nothing on create).
pub struct Failed<M, P> {
    pub diagnostics: Diagnostics,
    pub state: Option<M>,
    pub private: Option<P>,
}

impl<M, P> From<Diagnostics> for Failed<M, P> {
    fn from(diagnostics: Diagnostics) -> Failed<M, P> {
        Failed {
            diagnostics,
            state: None,
            private: None,
        }
    }
}

impl<M, P> From<Diagnostic> for Failed<M, P> {
    fn from(d: Diagnostic) -> Failed<M, P> {
        Diagnostics::from(d).into()
    }
}

impl<M, P> From<crate::ctx::Interrupted> for Failed<M, P> {
    fn from(i: crate::ctx::Interrupted) -> Failed<M, P> {
        Diagnostics::from(i).into()
    }
}

pub type Outcome<M, P> = Result<Saved<M, P>, Failed<M, P>>;

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    type Model: Model + Clone + PartialEq + Send + Sync + 'static;
    type Private: PrivateState;
    /// `()`, or the identity model (see [`IdentityModel`]).
    type Identity: IdentityModel;
    /// The resource type name, e.g. `irsa_webhook`.
    const TYPE_NAME: &'static str;
    /// Bumped when the stored state's shape changes (see `upgrade_state`).
    const SCHEMA_VERSION: i64 = 0;
    /// Bumped when the identity's shape changes (see `upgrade_identity`).
    const IDENTITY_VERSION: i64 = 0;

    /// Rules that span several attributes; single-attribute rules are
    /// declared on the fields. Unknown values are skipped (they are checked
    /// when known). No network.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::default()
    }

    /// Completes the plan the framework made (defaults applied, computed
    /// values unknown): values known now, checks that need a call.
    async fn modify_plan(
        &self,
        _ctx: &Ctx,
        _plan: &mut Plan<Self::Model, Self::Private>,
    ) -> Result<(), Diagnostics> {
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Ctx,
        req: Create<Self::Model, Self::Private>,
    ) -> Outcome<Self::Model, Self::Private>;

    /// What exists now; `None` when the object is gone (Terraform then
    /// plans to create it again).
    async fn read(
        &self,
        ctx: &Ctx,
        state: Self::Model,
        private: Option<Self::Private>,
    ) -> Result<Option<Saved<Self::Model, Self::Private>>, Diagnostics>;

    async fn update(
        &self,
        ctx: &Ctx,
        req: Update<Self::Model, Self::Private>,
    ) -> Outcome<Self::Model, Self::Private>;

    async fn delete(
        &self,
        ctx: &Ctx,
        state: Self::Model,
        private: Option<Self::Private>,
    ) -> Result<(), Diagnostics>;

    /// The state of an existing object named by `id` (`terraform import`).
    async fn import(
        &self,
        _ctx: &Ctx,
        _id: &str,
    ) -> Result<Saved<Self::Model, Self::Private>, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", Self::TYPE_NAME),
        )
        .into())
    }

    /// The identity of the object `state` describes (with the bookkeeping
    /// saved beside it, when there is some); `None` when it cannot be told.
    /// Called for what create, read, update and import return.
    fn identity(
        &self,
        _state: &Self::Model,
        _private: Option<&Self::Private>,
    ) -> Option<Self::Identity> {
        None
    }

    /// The state of the existing object `identity` names
    /// (`import { identity = { ... } }`, Terraform 1.12+). An identity that
    /// names nothing is an error saying what was looked for.
    async fn import_identity(
        &self,
        _ctx: &Ctx,
        _identity: Self::Identity,
    ) -> Result<Saved<Self::Model, Self::Private>, Diagnostics> {
        Err(Diagnostic::error(
            "Import by identity not supported",
            format!("{} cannot be imported by identity.", Self::TYPE_NAME),
        )
        .into())
    }

    /// Turns identity data stored by an older identity version (JSON) into
    /// the current one.
    fn upgrade_identity(&self, version: i64, _json: &[u8]) -> Result<Self::Identity, Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported identity version",
            format!(
                "The identity of this {} was stored with identity version {version}, which this provider cannot upgrade.",
                Self::TYPE_NAME
            ),
        )
        .into())
    }

    /// Adjusts the configuration generated for an existing object (the
    /// framework has already removed what is only computed and values equal
    /// to their declared defaults).
    fn generate_config(&self, _config: &mut Self::Model) {}

    /// Turns state of an older schema version into the current one (with
    /// warnings for the user); one step per old version.
    fn upgrade_state(&self, raw: RawState) -> Result<(Value, Diagnostics), Diagnostics> {
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "State for {} was written with schema version {}, which this provider cannot upgrade.",
                Self::TYPE_NAME,
                raw.version
            ),
        )
        .into())
    }
}

/// The handler the server calls for `resource`.
pub fn handler<R: Resource>(resource: R) -> std::sync::Arc<dyn ResourceHandler> {
    std::sync::Arc::new(Handler(resource))
}

struct Handler<R>(R);

fn decode_state<M: Model>(v: &Value) -> Result<Option<M>, Diagnostics> {
    if v.is_null() {
        Ok(None)
    } else {
        M::decode(v).map(Some)
    }
}

/// A configuration's problems: bad values, declared validators, then the
/// resource's own rules (only once the values decode).
fn check_config<R: Resource>(r: &R, config: &Value) -> (Option<R::Model>, Diagnostics) {
    crate::model::check_config(config, |m| r.validate(m))
}

/// Attributes declared `replace` whose planned value differs from the prior.
fn replaced<M: Model>(prior: &Option<M>, planned: &M) -> Vec<AttrPath> {
    match prior {
        Some(p) => M::replaced_paths(&p.to_value(), &planned.to_value()),
        None => vec![],
    }
}

fn with_timeout<M: Model>(ctx: &Ctx, model: &M, op: Operation) -> Ctx {
    match model.timeout(op) {
        Some(t) => ctx.with_operation_timeout(op, t),
        None => ctx.clone(),
    }
}

impl<R: Resource> Handler<R> {
    /// The identity of `state` as a value; null when it cannot be told (or
    /// the resource has none).
    fn identity_value(&self, state: &R::Model, private: Option<&R::Private>) -> Value {
        self.0
            .identity(state, private)
            .map_or(Value::Null, |i| i.encode_identity())
    }

    fn saved_response(&self, saved: Saved<R::Model, R::Private>) -> (Value, Vec<u8>, Value) {
        let identity = self.identity_value(&saved.state, Some(&saved.private));
        (saved.state.to_value(), saved.private.encode(), identity)
    }

    async fn plan_change(&self, ctx: &Ctx, req: &PlanRequest) -> Result<PlanResponse, Diagnostics> {
        let prior = decode_state::<R::Model>(&req.prior_state)?;
        let config = match check_config(&self.0, &req.config) {
            (Some(m), d) if !d.has_errors() => m,
            (_, d) => return Err(d),
        };
        let mut planned = R::Model::decode(&req.proposed_new_state)?;
        planned.apply_defaults(&config);
        let kind = match &prior {
            None => PlanKind::Create,
            Some(_) if replaced(&prior, &planned).is_empty() => PlanKind::Update,
            Some(_) => PlanKind::Replace,
        };
        match kind {
            PlanKind::Create | PlanKind::Replace => planned.mark_unknown_computed(&config, false),
            PlanKind::Update if prior.as_ref() != Some(&planned) => {
                planned.mark_unknown_computed(&config, true)
            }
            PlanKind::Update => {}
        }
        let mut plan = Plan {
            kind,
            config,
            prior,
            planned,
            private: R::Private::decode(&req.prior_private),
            config_known: req.config.is_wholly_known(),
        };
        self.0.modify_plan(ctx, &mut plan).await?;
        let requires_replace = replaced(&plan.prior, &plan.planned);
        // An update keeps the object, so its identity: the stored one, or
        // (state from before the resource had one) the prior state's.
        let planned_identity = match (&plan.prior, requires_replace.is_empty()) {
            (Some(prior), true) if req.prior_identity.is_null() => {
                let private = R::Private::decode(&req.prior_private);
                self.identity_value(prior, private.as_ref())
            }
            (Some(_), true) => req.prior_identity.clone(),
            _ => Value::Null,
        };
        Ok(PlanResponse {
            requires_replace,
            planned_state: plan.planned.to_value(),
            planned_private: plan
                .private
                .map_or_else(|| req.prior_private.clone(), |p| p.encode()),
            planned_identity,
            diagnostics: Diagnostics::default(),
        })
    }

    async fn create_or_update(
        &self,
        ctx: &Ctx,
        req: &ApplyRequest,
        prior: Option<R::Model>,
        private: Option<R::Private>,
    ) -> Result<Outcome<R::Model, R::Private>, Diagnostics> {
        let config = R::Model::decode(&req.config)?;
        let planned = R::Model::decode(&req.planned_state)?;
        Ok(match prior {
            None => {
                let ctx = with_timeout(ctx, &planned, Operation::Create);
                let req = Create {
                    config,
                    planned,
                    private,
                };
                self.0.create(&ctx, req).await
            }
            Some(prior) => {
                let ctx = with_timeout(ctx, &planned, Operation::Update);
                let req = Update {
                    config,
                    prior,
                    planned,
                    private,
                };
                self.0.update(&ctx, req).await
            }
        })
    }
}

#[async_trait]
impl<R: Resource> ResourceHandler for Handler<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        R::Model::schema(R::SCHEMA_VERSION)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        check_config(&self.0, config).1
    }

    fn upgrade_state(&self, raw: RawState) -> Result<(Value, Diagnostics), Diagnostics> {
        self.0.upgrade_state(raw)
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        let keep = |diagnostics: Diagnostics| ReadResponse {
            state: req.state.clone(),
            private: req.private.clone(),
            identity: req.identity.clone(),
            diagnostics,
        };
        let state = match decode_state::<R::Model>(&req.state) {
            Ok(Some(s)) => s,
            Ok(None) => return keep(Diagnostics::default()),
            Err(d) => return keep(d),
        };
        let ctx = with_timeout(ctx, &state, Operation::Read);
        match self
            .0
            .read(&ctx, state, R::Private::decode(&req.private))
            .await
        {
            Ok(Some(mut saved)) => {
                let diagnostics = std::mem::take(&mut saved.warnings);
                let (state, private, identity) = self.saved_response(saved);
                ReadResponse {
                    state,
                    private,
                    identity,
                    diagnostics,
                }
            }
            Ok(None) => ReadResponse {
                state: Value::Null,
                private: Vec::new(),
                identity: Value::Null,
                diagnostics: Diagnostics::default(),
            },
            Err(d) => keep(d),
        }
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> PlanResponse {
        if req.proposed_new_state.is_null() {
            return PlanResponse {
                planned_state: Value::Null,
                planned_private: req.prior_private,
                ..Default::default()
            };
        }
        self.plan_change(ctx, &req)
            .await
            .unwrap_or_else(|diagnostics| PlanResponse {
                diagnostics,
                ..Default::default()
            })
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let keep_prior = |diagnostics: Diagnostics| ApplyResponse {
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            identity: req.planned_identity.clone(),
            diagnostics,
        };
        let prior = match decode_state::<R::Model>(&req.prior_state) {
            Ok(p) => p,
            Err(d) => return keep_prior(d),
        };
        let private = R::Private::decode(&req.planned_private);
        if req.planned_state.is_null() {
            let Some(prior) = prior else {
                return keep_prior(Diagnostics::default());
            };
            let ctx = with_timeout(ctx, &prior, Operation::Delete);
            return match self.0.delete(&ctx, prior, private).await {
                Ok(()) => ApplyResponse {
                    new_state: Value::Null,
                    private: Vec::new(),
                    identity: Value::Null,
                    diagnostics: Diagnostics::default(),
                },
                Err(d) => keep_prior(d),
            };
        }
        match self.create_or_update(ctx, &req, prior, private).await {
            Err(d) => keep_prior(d),
            Ok(Ok(mut saved)) => {
                let diagnostics = std::mem::take(&mut saved.warnings);
                let (new_state, private, identity) = self.saved_response(saved);
                ApplyResponse {
                    new_state,
                    private,
                    identity,
                    diagnostics,
                }
            }
            Ok(Err(failed)) => {
                let identity = match &failed.state {
                    Some(s) => self.identity_value(s, failed.private.as_ref()),
                    None => req.planned_identity.clone(),
                };
                ApplyResponse {
                    new_state: failed
                        .state
                        .map_or_else(|| req.prior_state.clone(), |s| s.to_value()),
                    private: failed
                        .private
                        .map_or_else(|| req.planned_private.clone(), |p| p.encode()),
                    identity,
                    diagnostics: failed.diagnostics,
                }
            }
        }
    }

    async fn import(&self, ctx: &Ctx, req: ImportRequest) -> ImportResponse {
        let found = if req.identity.is_null() {
            self.0.import(ctx, &req.id).await
        } else {
            match R::Identity::decode_identity(&req.identity) {
                Ok(identity) => self.0.import_identity(ctx, identity).await,
                Err(d) => Err(d),
            }
        };
        match found {
            Ok(mut saved) => {
                let diagnostics = std::mem::take(&mut saved.warnings);
                let (state, private, identity) = self.saved_response(saved);
                ImportResponse {
                    state,
                    private,
                    identity,
                    diagnostics,
                }
            }
            Err(diagnostics) => ImportResponse {
                state: Value::Null,
                private: Vec::new(),
                identity: Value::Null,
                diagnostics,
            },
        }
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        R::Identity::identity_schema(R::IDENTITY_VERSION)
    }

    fn upgrade_identity(&self, version: i64, json: &[u8]) -> Result<Value, Diagnostics> {
        if R::Identity::identity_schema(0).is_none() {
            return Err(Diagnostic::error(
                "Resource identity not supported",
                format!(
                    "{} has no resource identity, but the state holds identity data of version {version}. \
                     Was it written by another provider?",
                    R::TYPE_NAME
                ),
            )
            .into());
        }
        if version > R::IDENTITY_VERSION {
            return Err(Diagnostic::error(
                "Identity written by a newer provider",
                format!(
                    "This identity was stored with identity version {version} of {}, but this provider knows only up to version {}. Upgrade the provider.",
                    R::TYPE_NAME,
                    R::IDENTITY_VERSION
                ),
            )
            .into());
        }
        let identity = if version == R::IDENTITY_VERSION {
            let ty = R::Identity::identity_schema(version)
                .map(|s| s.value_type())
                .unwrap_or(crate::value::Type::Dynamic);
            let v = crate::json::decode_bytes(&ty, json).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Stored identity does not match the identity schema",
                    format!("The identity of this {} cannot be read: {e}", R::TYPE_NAME),
                ))
            })?;
            R::Identity::decode_identity(&v)?
        } else {
            self.0.upgrade_identity(version, json)?
        };
        Ok(identity.encode_identity())
    }

    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics> {
        if state.is_null() {
            return Ok(Value::Null);
        }
        let config = crate::model::config_from_state::<R::Model>(state);
        let mut model = R::Model::decode(&config)?;
        self.0.generate_config(&mut model);
        Ok(model.to_value())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::model::{Tf, TfType};
    use crate::timeouts::Timeouts;
    use crate::types::GoDuration;
    use crate::validate::between;

    /// A widget.
    #[derive(crate::model::Model, Clone, Debug, Default, PartialEq)]
    struct WidgetModel {
        #[tf(required, replace)]
        name: Tf<String>,
        #[tf(optional, computed, default = 3, validate = between(1, 9, "Invalid size", ""))]
        size: Tf<i64>,
        #[tf(optional, computed, default = "24h")]
        retention: Tf<GoDuration>,
        #[tf(optional)]
        note: Tf<String>,
        #[tf(computed, keep)]
        id: Tf<String>,
        #[tf(computed)]
        revision: Tf<i64>,
        #[tf(timeouts(create = "5s", delete = "7m"))]
        timeouts: Tf<Timeouts>,
    }

    #[derive(Default)]
    struct Widget {
        /// What each call saw: the operation and its deadline's distance.
        calls: Mutex<Vec<(String, Option<Duration>)>>,
        fail_update: bool,
    }

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Bookkeeping {
        generation: u32,
    }

    impl JsonPrivate for Bookkeeping {}

    impl Widget {
        fn saw(&self, op: &str, ctx: &Ctx) {
            let left = ctx
                .deadline()
                .map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.calls.lock().unwrap().push((op.to_string(), left));
        }
    }

    #[async_trait]
    impl Resource for Widget {
        type Model = WidgetModel;
        type Private = Bookkeeping;
        type Identity = ();
        const TYPE_NAME: &'static str = "toy_widget";

        fn validate(&self, config: &WidgetModel) -> Diagnostics {
            let mut d = Diagnostics::default();
            if config.note.as_deref() == Some("forbidden") {
                d.error_at(AttrPath::root("note"), "Forbidden note", "no");
            }
            d
        }

        async fn modify_plan(
            &self,
            _ctx: &Ctx,
            plan: &mut Plan<WidgetModel, Bookkeeping>,
        ) -> Result<(), Diagnostics> {
            if plan.kind != PlanKind::Update {
                plan.planned.id = plan.planned.name.clone();
            }
            Ok(())
        }

        async fn create(
            &self,
            ctx: &Ctx,
            req: Create<WidgetModel, Bookkeeping>,
        ) -> Outcome<WidgetModel, Bookkeeping> {
            self.saw("create", ctx);
            let mut s = req.planned;
            s.revision = Tf::Known(1);
            Ok(Saved::new(s, Bookkeeping { generation: 1 }))
        }

        async fn read(
            &self,
            _ctx: &Ctx,
            state: WidgetModel,
            _private: Option<Bookkeeping>,
        ) -> Result<Option<Saved<WidgetModel, Bookkeeping>>, Diagnostics> {
            Ok((state.name.as_deref() != Some("gone"))
                .then(|| Saved::new(state, Bookkeeping { generation: 9 })))
        }

        async fn update(
            &self,
            ctx: &Ctx,
            req: Update<WidgetModel, Bookkeeping>,
        ) -> Outcome<WidgetModel, Bookkeeping> {
            self.saw("update", ctx);
            if self.fail_update {
                return Err(Failed {
                    diagnostics: Diagnostic::error("Update failed", "on purpose").into(),
                    state: None,
                    private: Some(Bookkeeping { generation: 5 }),
                });
            }
            let mut s = req.planned;
            s.revision = Tf::Known(req.prior.revision.known().unwrap() + 1);
            Ok(Saved::new(s, Bookkeeping { generation: 2 }))
        }

        async fn delete(
            &self,
            ctx: &Ctx,
            state: WidgetModel,
            _private: Option<Bookkeeping>,
        ) -> Result<(), Diagnostics> {
            self.saw("delete", ctx);
            if state.note.as_deref() == Some("stuck") {
                return Err(Diagnostic::error("Cannot delete", "stuck").into());
            }
            Ok(())
        }
    }

    fn config(name: &str, extra: &[(&str, Value)]) -> Value {
        let mut m = WidgetModel {
            name: Tf::Known(name.into()),
            ..Default::default()
        }
        .to_value();
        for (k, v) in extra {
            m.set_attr(k, v.clone());
        }
        m
    }

    async fn plan(
        h: &dyn ResourceHandler,
        prior: &Value,
        config: &Value,
        prior_private: &[u8],
    ) -> PlanResponse {
        // Terraform's proposed new state: the configuration, with prior
        // values for computed attributes the configuration leaves null.
        let mut proposed = config.clone();
        if let Value::Object(p) = prior {
            for (k, v) in p {
                let computed = WidgetModel::block()
                    .find_attribute(k)
                    .is_some_and(|a| a.computed);
                if computed && config.attr(k).is_null() {
                    proposed.set_attr(k, v.clone());
                }
            }
        }
        h.plan(
            &Ctx::background(),
            PlanRequest {
                prior_state: prior.clone(),
                proposed_new_state: proposed,
                config: config.clone(),
                prior_private: prior_private.to_vec(),
                prior_identity: Value::Null,
            },
        )
        .await
    }

    async fn apply(
        h: &dyn ResourceHandler,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: &[u8],
    ) -> ApplyResponse {
        h.apply(
            &Ctx::background(),
            ApplyRequest {
                prior_state: prior.clone(),
                planned_state: planned.clone(),
                config: config.clone(),
                planned_private: private.to_vec(),
                planned_identity: Value::Null,
            },
        )
        .await
    }

    #[tokio::test]
    async fn create_plans_defaults_and_unknown_computed_then_applies_under_its_timeout() {
        let w = std::sync::Arc::new(Widget::default());
        let h = Handler(WidgetRef(w.clone()));
        let cfg = config("a", &[]);
        let p = plan(&h, &Value::Null, &cfg, &[]).await;
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let planned = WidgetModel::decode(&p.planned_state).unwrap();
        assert_eq!(planned.size, Tf::Known(3), "declared default");
        assert_eq!(
            planned.retention.as_ref().known().map(|d| d.as_str()),
            Some("24h")
        );
        assert!(planned.revision.is_unknown(), "computed, unknown on create");
        assert_eq!(
            planned.id,
            Tf::Known("a".into()),
            "modify_plan filled it in"
        );
        assert!(planned.note.is_null(), "no default: stays null");

        let a = apply(&h, &Value::Null, &p.planned_state, &cfg, &p.planned_private).await;
        assert!(a.diagnostics.is_empty());
        let state = WidgetModel::decode(&a.new_state).unwrap();
        assert_eq!(state.revision, Tf::Known(1));
        assert_eq!(
            Bookkeeping::decode(&a.private),
            Some(Bookkeeping { generation: 1 })
        );
        let calls = w.calls.lock().unwrap();
        let (op, left) = &calls[0];
        assert_eq!(op, "create");
        let left = left.expect("a deadline");
        assert!(
            left <= Duration::from_secs(5) && left > Duration::from_secs(4),
            "{left:?}"
        );
    }

    /// Lets a test keep a handle on the resource the handler owns.
    struct WidgetRef(std::sync::Arc<Widget>);

    #[async_trait]
    impl Resource for WidgetRef {
        type Model = WidgetModel;
        type Private = Bookkeeping;
        type Identity = ();
        const TYPE_NAME: &'static str = "toy_widget";
        fn validate(&self, c: &WidgetModel) -> Diagnostics {
            self.0.validate(c)
        }
        async fn modify_plan(
            &self,
            ctx: &Ctx,
            p: &mut Plan<WidgetModel, Bookkeeping>,
        ) -> Result<(), Diagnostics> {
            self.0.modify_plan(ctx, p).await
        }
        async fn create(
            &self,
            ctx: &Ctx,
            r: Create<WidgetModel, Bookkeeping>,
        ) -> Outcome<WidgetModel, Bookkeeping> {
            self.0.create(ctx, r).await
        }
        async fn read(
            &self,
            ctx: &Ctx,
            s: WidgetModel,
            p: Option<Bookkeeping>,
        ) -> Result<Option<Saved<WidgetModel, Bookkeeping>>, Diagnostics> {
            self.0.read(ctx, s, p).await
        }
        async fn update(
            &self,
            ctx: &Ctx,
            r: Update<WidgetModel, Bookkeeping>,
        ) -> Outcome<WidgetModel, Bookkeeping> {
            self.0.update(ctx, r).await
        }
        async fn delete(
            &self,
            ctx: &Ctx,
            s: WidgetModel,
            p: Option<Bookkeeping>,
        ) -> Result<(), Diagnostics> {
            self.0.delete(ctx, s, p).await
        }
    }

    async fn created(h: &dyn ResourceHandler, cfg: &Value) -> (Value, Vec<u8>) {
        let p = plan(h, &Value::Null, cfg, &[]).await;
        let a = apply(h, &Value::Null, &p.planned_state, cfg, &p.planned_private).await;
        assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
        (a.new_state, a.private)
    }

    #[tokio::test]
    async fn an_update_keeps_what_is_declared_keep_and_recomputes_the_rest() {
        let h = Handler(Widget::default());
        let (state, private) = created(&h, &config("a", &[])).await;

        // No change: the plan is the prior state.
        let same = plan(&h, &state, &config("a", &[]), &private).await;
        assert_eq!(same.planned_state, state);
        assert!(same.requires_replace.is_empty());
        assert_eq!(
            same.planned_private, private,
            "prior private passes through"
        );

        // A change: `keep` holds, other computed values wait for the apply.
        let changed = config("a", &[("size", Value::number(5))]);
        let p = plan(&h, &state, &changed, &private).await;
        let planned = WidgetModel::decode(&p.planned_state).unwrap();
        assert_eq!(planned.id, Tf::Known("a".into()));
        assert!(planned.revision.is_unknown());
        assert_eq!(planned.size, Tf::Known(5));
        let a = apply(&h, &state, &p.planned_state, &changed, &p.planned_private).await;
        assert_eq!(
            WidgetModel::decode(&a.new_state).unwrap().revision,
            Tf::Known(2)
        );

        // Removing `size` from the configuration goes back to the default.
        let p = plan(&h, &a.new_state, &config("a", &[]), &a.private).await;
        assert_eq!(
            WidgetModel::decode(&p.planned_state).unwrap().size,
            Tf::Known(3)
        );
    }

    #[tokio::test]
    async fn a_replace_attribute_that_changes_requires_replacement() {
        let h = Handler(Widget::default());
        let (state, private) = created(&h, &config("a", &[])).await;
        let p = plan(&h, &state, &config("b", &[]), &private).await;
        assert_eq!(p.requires_replace, vec![AttrPath::root("name")]);
        let planned = WidgetModel::decode(&p.planned_state).unwrap();
        assert_eq!(planned.id, Tf::Known("b".into()), "planned as a create");
        assert!(planned.revision.is_unknown());
    }

    #[tokio::test]
    async fn a_null_plan_is_a_delete_under_the_prior_states_timeout() {
        let w = std::sync::Arc::new(Widget::default());
        let h = Handler(WidgetRef(w.clone()));
        let cfg = config(
            "a",
            &[(
                "timeouts",
                Value::object([("create", Value::Null), ("delete", Value::string("1.5h"))]),
            )],
        );
        let (state, private) = created(&h, &cfg).await;
        let p = h
            .plan(
                &Ctx::background(),
                PlanRequest {
                    prior_state: state.clone(),
                    proposed_new_state: Value::Null,
                    config: Value::Null,
                    prior_private: private.clone(),
                    prior_identity: Value::Null,
                },
            )
            .await;
        assert!(p.planned_state.is_null());
        let a = apply(&h, &state, &Value::Null, &Value::Null, &private).await;
        assert!(a.new_state.is_null() && a.private.is_empty() && a.diagnostics.is_empty());
        let calls = w.calls.lock().unwrap();
        let (op, left) = calls.last().unwrap();
        assert_eq!(op, "delete");
        let left = left.unwrap();
        assert!(
            left > Duration::from_secs(5000) && left <= Duration::from_secs(5400),
            "{left:?}"
        );
    }

    #[tokio::test]
    async fn failures_keep_the_prior_state_and_what_the_resource_reports() {
        let h = Handler(Widget {
            fail_update: true,
            ..Default::default()
        });
        let (state, private) = created(&h, &config("a", &[])).await;
        let changed = config("a", &[("size", Value::number(4))]);
        let p = plan(&h, &state, &changed, &private).await;
        let a = apply(&h, &state, &p.planned_state, &changed, &p.planned_private).await;
        assert_eq!(a.diagnostics.0[0].summary, "Update failed");
        assert_eq!(a.new_state, state, "prior state kept");
        assert_eq!(
            Bookkeeping::decode(&a.private),
            Some(Bookkeeping { generation: 5 }),
            "the bookkeeping the resource reported"
        );

        // A delete that fails keeps state and private state as they were.
        let stuck = config("a", &[("note", Value::string("stuck"))]);
        let p = plan(&h, &state, &stuck, &private).await;
        let stuck_state = p.planned_state.clone();
        let a = apply(&h, &stuck_state, &Value::Null, &Value::Null, &private).await;
        assert_eq!(a.new_state, stuck_state);
        assert_eq!(a.private, private);
        assert!(a.diagnostics.has_errors());
    }

    #[tokio::test]
    async fn validation_names_each_attribute_before_any_call() {
        let w = std::sync::Arc::new(Widget::default());
        let h = Handler(WidgetRef(w.clone()));
        let bad = config(
            "a",
            &[
                ("size", Value::number(12)),
                ("retention", Value::string("1d")),
                ("note", Value::string("forbidden")),
                (
                    "timeouts",
                    Value::object([
                        ("create", Value::string("90x")),
                        ("delete", Value::string("-1h")),
                    ]),
                ),
            ],
        );
        let d = h.validate(&bad).await;
        let paths: Vec<String> =
            d.0.iter()
                .map(|x| x.path.as_ref().unwrap().to_string())
                .collect();
        // Every problem at once: values that do not decode first, then the
        // declared validators and the resource's rules on the rest.
        assert_eq!(
            paths,
            [
                "retention",
                "timeouts.create",
                "timeouts.delete",
                "size",
                "note"
            ],
            "{d:?}"
        );
        let bad = config(
            "a",
            &[
                ("size", Value::number(12)),
                ("note", Value::string("forbidden")),
            ],
        );
        let d = h.validate(&bad).await;
        let got: Vec<(String, String)> =
            d.0.iter()
                .map(|x| (x.path.as_ref().unwrap().to_string(), x.summary.clone()))
                .collect();
        assert_eq!(
            got,
            [
                ("size".into(), "Invalid size".into()),
                ("note".into(), "Forbidden note".into())
            ]
        );
        let p = plan(&h, &Value::Null, &bad, &[]).await;
        assert!(p.diagnostics.has_errors() && p.planned_state.is_null());
        assert!(w.calls.lock().unwrap().is_empty(), "no operation ran");
    }

    #[tokio::test]
    async fn read_of_a_gone_object_removes_it_and_errors_keep_state() {
        let h = Handler(Widget::default());
        let (state, private) = created(&h, &config("gone", &[])).await;
        let r = h
            .read(
                &Ctx::background(),
                ReadRequest {
                    state: state.clone(),
                    private,
                    identity: Value::Null,
                },
            )
            .await;
        assert!(r.state.is_null());
        let (state, private) = created(&h, &config("here", &[])).await;
        let r = h
            .read(
                &Ctx::background(),
                ReadRequest {
                    state: state.clone(),
                    private,
                    identity: Value::Null,
                },
            )
            .await;
        assert_eq!(r.state, state);
        assert_eq!(
            Bookkeeping::decode(&r.private),
            Some(Bookkeeping { generation: 9 })
        );
    }

    #[test]
    fn the_schema_documents_defaults_and_timeouts() {
        let b = WidgetModel::block();
        assert_eq!(
            b.find_attribute("size").unwrap().description,
            "Default: `3`."
        );
        assert_eq!(
            b.find_attribute("retention").unwrap().description,
            "Default: `\"24h\"`."
        );
        let t = &b.blocks[0];
        assert_eq!(t.type_name, "timeouts");
        let names: Vec<_> = t.block.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["create", "delete"]);
        assert_eq!(b.value_type(), WidgetModel::tf_type());
        assert_eq!(
            WidgetModel::defaults(),
            vec![
                ("size", Value::number(3)),
                ("retention", Value::string("24h"))
            ]
        );
    }
}
