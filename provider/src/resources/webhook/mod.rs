//! Resource `irsa_webhook`: the pod identity webhook installed through the
//! Kubernetes API with server-side apply.
//!
//! `model` holds the typed model and the checks that need no cluster call;
//! the objects themselves are rendered by `webhook::manifests` (pure). The
//! steps have a file each: `plan` (defaults, renewal and rotation decided
//! from state alone), `apply` (create and update), `read` (refresh: drift of
//! every object, and import), `delete`. Drift shows in the computed
//! `objects`: refresh records `missing` or `drifted: <fields>`, the plan
//! `applied`, and the difference is an update that re-applies.

mod apply;
mod delete;
pub mod model;
mod plan;
mod read;

use std::sync::Arc;

use async_trait::async_trait;

use self::model::{Config, WebhookModel};
use crate::kube::objects::ObjectError;
use crate::kube::KubeClient;
use crate::provider::ProviderState;
use crate::webhook::manifests::{self, Object, ObjectId, Spec, TlsMaterial};
use tfplugin::framework::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{Ctx, Diagnostic, Diagnostics, Model, Resource, Schema, Tf, TfType, Value};

/// What `objects[*].status` says of an object as applied.
pub const APPLIED: &str = "applied";
pub const MISSING: &str = "missing";

pub struct Webhook {
    provider: Arc<ProviderState>,
}

impl Webhook {
    pub fn new(provider: Arc<ProviderState>) -> Webhook {
        Webhook { provider }
    }

    async fn client(&self) -> Result<KubeClient, Diagnostics> {
        let configured = self.provider.configured()?;
        configured.kube().await.map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot connect to Kubernetes",
                e.to_string(),
            ))
        })
    }
}

#[async_trait]
impl Resource for Webhook {
    fn type_name(&self) -> &'static str {
        model::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        model::validate_value(config)
    }

    async fn plan(&self, _ctx: &Ctx, req: PlanRequest) -> PlanResponse {
        if req.proposed_new_state.is_null() {
            return PlanResponse {
                planned_state: Value::Null,
                ..Default::default()
            };
        }
        match plan::plan(&req, time::OffsetDateTime::now_utc()) {
            Ok(p) => p,
            Err(d) => PlanResponse {
                diagnostics: d,
                ..Default::default()
            },
        }
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let keep_prior = |d: Diagnostics| ApplyResponse {
            new_state: req.prior_state.clone(),
            private: vec![],
            diagnostics: d,
        };
        let prior = match decode_state(&req.prior_state) {
            Ok(p) => p,
            Err(d) => return keep_prior(d),
        };
        let client = match self.client().await {
            Ok(c) => c,
            Err(d) => return keep_prior(d),
        };
        if req.planned_state.is_null() {
            let Some(prior) = prior else {
                return keep_prior(Diagnostics::default());
            };
            let timeout = Config::from_model(&prior)
                .map(|c| c.timeouts.delete)
                .unwrap_or(model::DEFAULT_DELETE_TIMEOUT);
            let ctx = ctx.with_timeout(timeout);
            return match delete::delete(&ctx, &client, &prior).await {
                Ok(()) => ApplyResponse {
                    new_state: Value::Null,
                    private: vec![],
                    diagnostics: Diagnostics::default(),
                },
                Err(d) => keep_prior(d),
            };
        }
        let (cfg, planned) = match (
            Config::from_value(&req.config),
            WebhookModel::decode(&req.planned_state),
        ) {
            (Ok(c), Ok(p)) => (c, p),
            (Err(d), _) | (_, Err(d)) => return keep_prior(d),
        };
        let timeout = if prior.is_some() {
            ("update", cfg.timeouts.update)
        } else {
            ("create", cfg.timeouts.create)
        };
        let ctx = ctx.with_timeout(timeout.1);
        let (state, diags) =
            apply::apply(&ctx, &client, &cfg, prior.as_ref(), planned, timeout).await;
        ApplyResponse {
            new_state: state.map_or_else(|| req.prior_state.clone(), |s| s.to_value()),
            private: vec![],
            diagnostics: diags,
        }
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        let keep = |d: Diagnostics| ReadResponse {
            state: req.state.clone(),
            private: req.private.clone(),
            diagnostics: d,
        };
        let state = match decode_state(&req.state) {
            Ok(Some(s)) => s,
            Ok(None) => return keep(Diagnostics::default()),
            Err(d) => return keep(d),
        };
        let client = match self.client().await {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        match read::refresh(ctx, &client, state).await {
            Ok(s) => ReadResponse {
                state: s.map_or(Value::Null, |s| s.to_value()),
                private: vec![],
                diagnostics: Diagnostics::default(),
            },
            Err(d) => keep(d),
        }
    }

    async fn import(&self, ctx: &Ctx, id: String) -> ImportResponse {
        let fail = |d: Diagnostics| ImportResponse {
            state: Value::Null,
            private: vec![],
            diagnostics: d,
        };
        let Some((ns, name)) = id
            .split_once('/')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        else {
            return fail(
                Diagnostic::error(
                    "Invalid import ID",
                    format!("{id:?}: the import ID is `<namespace>/<name>`, e.g. `kube-system/pod-identity-webhook`."),
                )
                .into(),
            );
        };
        let client = match self.client().await {
            Ok(c) => c,
            Err(d) => return fail(d),
        };
        match read::import(ctx, &client, ns, name).await {
            Ok(state) => ImportResponse {
                state: state.to_value(),
                private: vec![],
                diagnostics: Diagnostics::default(),
            },
            Err(d) => fail(d),
        }
    }
}

fn decode_state(v: &Value) -> Result<Option<WebhookModel>, Diagnostics> {
    if v.is_null() {
        Ok(None)
    } else {
        WebhookModel::decode(v).map(Some)
    }
}

fn object_error(summary: &str, e: ObjectError) -> Diagnostics {
    Diagnostic::error(summary, e.to_string()).into()
}

/// The TLS material a state records (no keys).
fn tls_of_state(m: &WebhookModel) -> TlsMaterial {
    TlsMaterial {
        ca_cert_pem: m.ca_certificate.as_deref().unwrap_or_default().to_string(),
        ca_key_pem: None,
        serving_cert_pem: m
            .serving_certificate
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        serving_key_pem: None,
        ca_bundle_pem: m.ca_bundle.as_deref().unwrap_or_default().to_string(),
    }
}

/// The objects list for a spec, each with `status`.
fn objects_list(spec: &Spec, status: impl Fn(&ObjectId) -> String) -> Vec<model::ObjectModel> {
    manifests::render(spec, &TlsMaterial::default())
        .iter()
        .map(|o: &Object| model::ObjectModel {
            kind: Tf::Known(o.id.kind.clone()),
            namespace: Tf::Known(o.id.namespace.clone()),
            name: Tf::Known(o.id.name.clone()),
            status: Tf::Known(status(&o.id)),
        })
        .collect()
}

/// The status refresh recorded for an object (`applied` when not listed).
fn recorded_status(m: &WebhookModel, kind: &str, name: &str) -> String {
    m.objects
        .known()
        .and_then(|os| {
            os.iter()
                .find(|o| o.kind.as_deref() == Some(kind) && o.name.as_deref() == Some(name))
        })
        .and_then(|o| o.status.as_deref().map(str::to_string))
        .unwrap_or_else(|| APPLIED.to_string())
}
