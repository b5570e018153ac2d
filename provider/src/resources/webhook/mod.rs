//! Resource `irsa_webhook`: the pod identity webhook installed through the
//! Kubernetes API with server-side apply.
//!
//! `model` holds the typed model: each attribute with its default and
//! rules. The webhook is made of parts, each with a pure desired state and
//! its calls: `parts::certificates` (the CA and serving certificate, made or
//! reused), `parts::objects` (every Kubernetes object: rendered by
//! `webhook::manifests`, observed for drift, applied in order, removed) and
//! `parts::rollout` (the wait between the Deployment and the webhook
//! configuration). `plan` decides renewal and rotation from state alone;
//! `checks` holds the permission preflight. Drift shows in the computed
//! `objects`: refresh records `missing` or `drifted: <fields>`, the plan
//! `applied`, and the difference is an update that re-applies. `identity`
//! is the resource identity (`namespace`, `name`; Terraform 1.12+), `list`
//! the list resource of `terraform query` (Terraform 1.14+).

mod checks;
pub mod identity;
mod import;
pub mod list;
pub mod model;
mod parts;
mod plan;

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use self::identity::WebhookIdentity;
use self::model::{Config, WebhookModel};
use self::parts::{certificates, objects};
use crate::kube::KubeClient;
use crate::provider::ProviderState;
use tfplugin::resource::{Create, Failed, Outcome, Plan, Saved, Update};
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, Resource};

pub struct Webhook {
    provider: Arc<ProviderState>,
}

impl Webhook {
    pub fn new(provider: Arc<ProviderState>) -> Webhook {
        Webhook { provider }
    }

    async fn client(&self) -> Result<KubeClient, Diagnostics> {
        self.provider
            .configured()?
            .kube()
            .await
            .context("Cannot connect to Kubernetes")
    }

    /// Create and update: permissions checked before anything is written,
    /// the certificates made or reused, then every object applied in order.
    /// A failure part-way records what was applied.
    async fn apply(
        &self,
        ctx: &Ctx,
        prior: Option<&WebhookModel>,
        planned: WebhookModel,
    ) -> Outcome<WebhookModel, ()> {
        let client = self.client().await?;
        let cfg = Config::from_model(&planned);
        let mut warnings = checks::permissions(ctx, &client, &cfg, prior.is_none()).await?;
        let now = OffsetDateTime::now_utc();
        let tls = certificates::reconcile(&client, &cfg, prior, &planned, now).await?;
        let mut state = planned;
        certificates::record(&mut state, &tls);
        let (statuses, result) = objects::reconcile(ctx, &client, &cfg, prior, &tls).await;
        state.objects = tfplugin::Tf::Known(statuses);
        match result {
            Ok(()) => Ok(Saved {
                state,
                private: (),
                warnings,
            }),
            Err(d) => {
                // What was applied is in the cluster (with these
                // certificates); the rest shows as not applied and the
                // next apply completes it.
                warnings.extend(d);
                Err(Failed {
                    diagnostics: warnings,
                    state: Some(state),
                    private: None,
                })
            }
        }
    }
}

#[async_trait]
impl Resource for Webhook {
    type Model = WebhookModel;
    type Private = ();
    type Identity = WebhookIdentity;
    const TYPE_NAME: &'static str = model::TYPE_NAME;

    fn validate(&self, config: &WebhookModel) -> Diagnostics {
        model::validate(config)
    }

    async fn modify_plan(
        &self,
        _ctx: &Ctx,
        plan: &mut Plan<WebhookModel, ()>,
    ) -> Result<(), Diagnostics> {
        plan::plan(plan, OffsetDateTime::now_utc());
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, req: Create<WebhookModel, ()>) -> Outcome<WebhookModel, ()> {
        self.apply(ctx, None, req.planned).await
    }

    async fn read(
        &self,
        ctx: &Ctx,
        state: WebhookModel,
        _private: Option<()>,
    ) -> Result<Option<Saved<WebhookModel, ()>>, Diagnostics> {
        let client = self.client().await?;
        let found = objects::observe(ctx, &client, state).await?;
        Ok(found.map(|s| Saved::new(s, ())))
    }

    async fn update(&self, ctx: &Ctx, req: Update<WebhookModel, ()>) -> Outcome<WebhookModel, ()> {
        self.apply(ctx, Some(&req.prior), req.planned).await
    }

    async fn delete(
        &self,
        ctx: &Ctx,
        state: WebhookModel,
        _private: Option<()>,
    ) -> Result<(), Diagnostics> {
        let client = self.client().await?;
        objects::remove(ctx, &client, &state).await
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Saved<WebhookModel, ()>, Diagnostics> {
        let Some((ns, name)) = id
            .split_once('/')
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?}: the import ID is `<namespace>/<name>`, e.g. `kube-system/pod-identity-webhook`."),
            )
            .into());
        };
        let client = self.client().await?;
        let state = import::import(ctx, &client, ns, name).await?;
        Ok(Saved::new(state, ()))
    }

    fn identity(&self, state: &WebhookModel, _private: Option<&()>) -> Option<WebhookIdentity> {
        identity::of_state(state)
    }

    async fn import_identity(
        &self,
        ctx: &Ctx,
        wanted: WebhookIdentity,
    ) -> Result<Saved<WebhookModel, ()>, Diagnostics> {
        use tfplugin::types::DnsLabel;
        let mut bad = Vec::new();
        if let Err(e) = DnsLabel::parse(&wanted.namespace) {
            bad.push(format!("`namespace`: {e}"));
        }
        if let Err(e) = tfplugin::types::dns::check_label(&wanted.name) {
            bad.push(format!(
                "`name`: {:?} is not a valid name ({e})",
                wanted.name
            ));
        }
        if !bad.is_empty() {
            return Err(Diagnostic::error("Invalid identity", bad.join(" ")).into());
        }
        let client = self.client().await?;
        let state = import::import(ctx, &client, &wanted.namespace, &wanted.name).await?;
        Ok(Saved::new(state, ()))
    }
}
