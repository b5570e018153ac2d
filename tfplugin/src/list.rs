//! Typed list resources (Terraform 1.14+, `list "<type>"` blocks of
//! `terraform query`): find the existing objects of a resource type that
//! has an identity, each with its identity and a display name, and with
//! `include_resource = true` its whole state, so that `terraform query
//! -generate-config-out=...` can write import blocks and configuration for
//! them.
//!
//! A list resource declares its `config { ... }` block as a model and
//! implements `list`, which sends what it finds through [`Found`]. The
//! framework ([`handler`]) checks the block first (value types, declared
//! validators, [`ListResource::validate`]), so bad input is refused naming
//! the attribute before any call, stops the list at Terraform's `limit`,
//! and turns errors into the stream's diagnostics.

use async_trait::async_trait;

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::framework::{ListEvent, ListRequest, ListResourceHandler, ListSender};
use crate::model::{Model, TfType};
use crate::resource::{IdentityModel, Resource};
use crate::schema::Schema;
use crate::value::Value;

/// What a list is asked for.
pub struct List<C> {
    /// The `config` block (every attribute null when it is left out).
    pub config: C,
    /// Send each object's whole state too.
    pub include_resource: bool,
}

/// Where a list sends the objects it finds.
pub struct Found<R: Resource> {
    out: ListSender,
    include_resource: bool,
    left: i64,
    _resource: std::marker::PhantomData<fn() -> R>,
}

impl<R: Resource> Found<R> {
    /// Whether the request asked for each object's state: when it did not,
    /// [`Found::send`] ignores the state, so a list need not read it.
    pub fn include_resource(&self) -> bool {
        self.include_resource
    }

    /// Sends one object: its identity, the name Terraform shows for it and,
    /// when the request asked for it, its state. `false` means stop: the
    /// limit is reached or Terraform stopped listening.
    pub async fn send(
        &mut self,
        identity: &R::Identity,
        display_name: impl Into<String>,
        state: Option<&R::Model>,
    ) -> bool {
        if self.left <= 0 {
            return false;
        }
        let state = match state {
            Some(s) if self.include_resource => s.to_value(),
            _ => Value::Null,
        };
        let event = ListEvent {
            identity: identity.encode_identity(),
            display_name: display_name.into(),
            state,
            diagnostics: Diagnostics::default(),
        };
        if self.out.send(event).await.is_err() {
            return false;
        }
        self.left -= 1;
        self.left > 0
    }

    /// Sends warnings (an event without an object, which Terraform shows
    /// and goes on).
    pub async fn warn(&mut self, warnings: Diagnostics) {
        let _ = self.out.send(diagnostics_event(warnings)).await;
    }
}

fn diagnostics_event(diagnostics: Diagnostics) -> ListEvent {
    ListEvent {
        identity: Value::Null,
        display_name: String::new(),
        state: Value::Null,
        diagnostics,
    }
}

#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    /// The resource type listed (its identity identifies each object).
    type Resource: Resource;
    /// The `config { ... }` block.
    type Config: Model + Send + Sync + 'static;

    /// Rules that span several attributes; unknown values are skipped. No network.
    fn validate(&self, _config: &Self::Config) -> Diagnostics {
        Diagnostics::default()
    }

    /// Sends every object that matches `req.config` to `found`, stopping
    /// when [`Found::send`] says so.
    async fn list(
        &self,
        ctx: &Ctx,
        req: List<Self::Config>,
        found: &mut Found<Self::Resource>,
    ) -> Result<(), Diagnostics>;
}

/// The handler the server calls for `list`. The resource type must have an
/// identity: Terraform refuses a list resource whose resource has none.
pub fn handler<L: ListResource>(list: L) -> std::sync::Arc<dyn ListResourceHandler>
where
    <L::Resource as Resource>::Identity: Model,
{
    std::sync::Arc::new(Handler(list))
}

struct Handler<L>(L);

impl<L: ListResource> Handler<L> {
    fn check(&self, config: &Value) -> (Option<L::Config>, Diagnostics) {
        crate::model::check_config(config, |m| self.0.validate(m))
    }
}

#[async_trait]
impl<L: ListResource> ListResourceHandler for Handler<L> {
    fn type_name(&self) -> &'static str {
        <L::Resource as Resource>::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        L::Config::schema(0)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        self.check(config).1
    }

    async fn list(&self, ctx: &Ctx, req: ListRequest, out: ListSender) {
        let (config, diags) = self.check(&req.config);
        let config = match config {
            Some(c) if !diags.has_errors() => c,
            _ => {
                let _ = out.send(diagnostics_event(diags)).await;
                return;
            }
        };
        if !diags.is_empty() {
            let _ = out.send(diagnostics_event(diags)).await;
        }
        let mut found = Found {
            out: out.clone(),
            include_resource: req.include_resource,
            left: req.limit,
            _resource: std::marker::PhantomData,
        };
        if found.left <= 0 {
            return;
        }
        let list = List {
            config,
            include_resource: req.include_resource,
        };
        if let Err(d) = self.0.list(ctx, list, &mut found).await {
            let _ = out.send(diagnostics_event(d)).await;
        }
    }
}
