//! Resource `irsa_oidc_issuer`: the public OIDC issuer of a cluster on AWS.
//!
//! `model` holds the typed model (the schema comes from it) and the checks
//! that need no AWS call, `desired` the pure computation of what AWS should
//! hold. The steps have a file each: `plan`, `create`, `update`, `delete`,
//! `read` (refresh), `import`; `private` is the bookkeeping kept in
//! Terraform's private state. Drift in parts that have no argument of their
//! own shows in the computed maps `documents`, `dns_records`,
//! `distribution_settings` and `bucket_settings`: Read records what AWS
//! holds, Plan what it should hold, and a difference is an update that
//! repairs it.

mod create;
mod delete;
pub mod desired;
mod import;
pub mod model;
mod plan;
mod private;
mod public_read;
mod read;
mod update;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use self::desired::Identity;
use self::model::{Config, IssuerModel};
use self::private::Private;
use crate::aws::{AwsCallError, AwsClients};
use crate::oidc::Jwks;
use crate::provider::ProviderState;
use tfplugin::framework::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{Ctx, Diagnostic, Diagnostics, Model, Resource, Schema, Tf, TfType, Value};

const ZONE_TAG: &str = "irsa:route53-zone-id";
const HOSTING_TAG: &str = "irsa:hosting";
/// What Read records in a settings map for a part found gone.
const MISSING: &str = "missing";

pub struct OidcIssuer {
    provider: Arc<ProviderState>,
}

impl OidcIssuer {
    pub fn new(provider: Arc<ProviderState>) -> OidcIssuer {
        OidcIssuer { provider }
    }

    async fn clients(&self) -> Result<Arc<AwsClients>, Diagnostics> {
        let configured = self.provider.configured()?;
        configured
            .aws()
            .await
            .map_err(|e| Diagnostics::from(Diagnostic::error("Cannot set up AWS clients", e)))
    }

    async fn identity(&self, clients: &AwsClients) -> Result<Identity, Diagnostics> {
        let (account, arn) = clients
            .caller_identity()
            .await
            .map_err(|e| aws_error("Cannot determine the AWS account", e))?;
        let region = clients
            .sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        Ok(Identity::from_caller_arn(&account, &arn, &region))
    }

    /// The bookkeeping from private state, or rebuilt from the account.
    async fn private_or_identity(
        &self,
        clients: &AwsClients,
        private: Option<Private>,
        name: &str,
    ) -> Result<Private, Diagnostics> {
        match private {
            Some(p) => Ok(p),
            None => Ok(Private::new(
                &self.identity(clients).await?,
                format!("irsa-{name}"),
            )),
        }
    }
}

#[async_trait]
impl Resource for OidcIssuer {
    fn type_name(&self) -> &'static str {
        model::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        model::validate_value(config)
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> PlanResponse {
        if req.proposed_new_state.is_null() {
            return PlanResponse {
                planned_state: Value::Null,
                ..Default::default()
            };
        }
        match self.plan_change(ctx, &req).await {
            Ok(planned) => planned,
            Err(d) => PlanResponse {
                diagnostics: d,
                ..Default::default()
            },
        }
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let keep_prior = |d: Diagnostics| ApplyResponse {
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            diagnostics: d,
        };
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => return keep_prior(d),
        };
        let prior = match decode_state(&req.prior_state) {
            Ok(p) => p,
            Err(d) => return keep_prior(d),
        };
        if req.planned_state.is_null() {
            let prior = prior.unwrap_or_default();
            let timeout = Config::from_model(&prior)
                .map(|c| c.timeouts.delete)
                .unwrap_or(model::DEFAULT_TIMEOUT);
            let ctx = ctx.with_timeout(timeout);
            let private = Private::parse(&req.planned_private);
            return match Box::pin(self.delete(&ctx, &clients, &prior, private)).await {
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
            IssuerModel::decode(&req.planned_state),
        ) {
            (Ok(c), Ok(p)) => (c, p),
            (Err(d), _) | (_, Err(d)) => return keep_prior(d),
        };
        let Some(prior) = prior else {
            let ctx = ctx.with_timeout(cfg.timeouts.create);
            // Boxed, as update and delete: large futures (a debug build's worker
            // thread stack overflows with them inline).
            return Box::pin(self.create(&ctx, &clients, &cfg, planned)).await;
        };
        let ctx = ctx.with_timeout(cfg.timeouts.update);
        match Box::pin(self.update(&ctx, &clients, &cfg, &prior, planned, &req.planned_private))
            .await
        {
            Ok((state, private)) => ApplyResponse {
                new_state: state.to_value(),
                private: private.encode(),
                diagnostics: Diagnostics::default(),
            },
            // The parts already changed are in AWS; a refresh sees them.
            Err((d, private)) => ApplyResponse {
                new_state: req.prior_state.clone(),
                private: private.map_or_else(|| req.planned_private.clone(), |p| p.encode()),
                diagnostics: d,
            },
        }
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        let keep = |d: Diagnostics| ReadResponse {
            state: req.state.clone(),
            private: req.private.clone(),
            diagnostics: d,
        };
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        let state = match decode_state(&req.state) {
            Ok(Some(s)) => s,
            Ok(None) => return keep(Diagnostics::default()),
            Err(d) => return keep(d),
        };
        match self
            .refresh(ctx, &clients, state, Private::parse(&req.private))
            .await
        {
            Ok((state, private)) => ReadResponse {
                state: state.map_or(Value::Null, |s| s.to_value()),
                private: private.encode(),
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
        if let Err(why) = model::check_name(&id) {
            return fail(
                Diagnostic::error(
                    "Invalid import ID",
                    format!("The import ID is the issuer's `name`. {why}"),
                )
                .into(),
            );
        }
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => return fail(d),
        };
        match self.import_by_name(ctx, &clients, &id).await {
            Ok((state, private)) => ImportResponse {
                state: state.to_value(),
                private: private.encode(),
                diagnostics: Diagnostics::default(),
            },
            Err(d) => fail(d),
        }
    }
}

/// A stored state as the model; `None` when there is none.
fn decode_state(v: &Value) -> Result<Option<IssuerModel>, Diagnostics> {
    if v.is_null() {
        Ok(None)
    } else {
        IssuerModel::decode(v).map(Some)
    }
}

fn aws_error(summary: &str, e: AwsCallError) -> Diagnostics {
    Diagnostic::error(summary, e.to_string()).into()
}

fn interrupted(i: tfplugin::framework::Interrupted) -> Diagnostics {
    Diagnostics::from(Diagnostic::from(i))
}

/// The bucket also records how to find the rest, for import.
fn bucket_tags(cfg: &Config) -> BTreeMap<String, String> {
    let mut t = desired::tags(cfg);
    t.insert(HOSTING_TAG.into(), cfg.hosting.as_str().into());
    if let Some(z) = &cfg.route53_zone_id {
        t.insert(ZONE_TAG.into(), z.clone());
    }
    t
}

fn settings_say_missing(settings: &Tf<BTreeMap<String, String>>, part: &str) -> bool {
    settings
        .known()
        .and_then(|m| m.get(part))
        .is_some_and(|v| v == MISSING)
}

/// Read found the distribution gone (the bucket still there).
fn distribution_missing(state: &IssuerModel) -> bool {
    settings_say_missing(&state.distribution_settings, "distribution")
}

/// Read found the bucket gone (the distribution still there).
fn bucket_missing(state: &IssuerModel) -> bool {
    settings_say_missing(&state.bucket_settings, "bucket")
}

fn missing(part: &str) -> Tf<BTreeMap<String, String>> {
    Tf::Known(BTreeMap::from([(part.to_string(), MISSING.to_string())]))
}

fn distribution_arn(id: &Identity, distribution_id: &str) -> String {
    format!(
        "arn:{}:cloudfront::{}:distribution/{distribution_id}",
        id.partition, id.account_id
    )
}

/// The fingerprints of the documents as they should be published.
fn desired_documents(issuer: &str, published: &Jwks, cfg: &Config) -> BTreeMap<String, String> {
    let cc = desired::cache_control(cfg.cache_ttl);
    desired::documents(issuer, published)
        .into_iter()
        .map(|(key, body, ct)| {
            (
                key.to_string(),
                desired::document_fingerprint(body.as_bytes(), ct, &cc),
            )
        })
        .collect()
}

/// Sets the attributes that follow from the issuer URL and published keys.
fn set_issuer_attrs(m: &mut IssuerModel, issuer: &str, published: &Jwks, cfg: &Config) {
    m.issuer_url = Tf::Known(issuer.to_string());
    m.oidc_provider_url = Tf::Known(issuer.trim_start_matches("https://").to_string());
    m.jwks_uri = Tf::Known(format!("{issuer}/openid/v1/jwks"));
    set_document_attrs(m, issuer, published, cfg);
}

/// The published documents and their fingerprints.
fn set_document_attrs(m: &mut IssuerModel, issuer: &str, published: &Jwks, cfg: &Config) {
    m.published_jwks = Tf::Known(published.canonical_json());
    m.published_kids = Tf::Known(published.kids());
    m.discovery_document = Tf::Known(crate::oidc::discovery_document(issuer, published));
    m.documents = Tf::Known(desired_documents(issuer, published, cfg));
}

/// The CloudFront-only parts are null with S3 hosting.
fn clear_cloudfront_attrs(m: &mut IssuerModel) {
    m.distribution_id = Tf::Null;
    m.distribution_domain_name = Tf::Null;
    m.certificate_arn = Tf::Null;
    m.origin_access_control_id = Tf::Null;
    m.dns_records = Tf::Null;
    m.distribution_settings = Tf::Null;
}

/// Every computed attribute, for "unknown until apply" and for settling
/// what a partial apply did not reach.
macro_rules! each_computed {
    ($m:expr, $f:ident => $body:expr) => {{
        let m = $m;
        each_computed!(@ m, $f, $body; id, issuer_url, oidc_provider_url, oidc_provider_arn,
            jwks_uri, bucket, region, distribution_id, distribution_domain_name,
            certificate_arn, origin_access_control_id, discovery_document, published_jwks,
            published_kids, retained_keys, documents, dns_records, distribution_settings,
            bucket_settings)
    }};
    (@ $m:ident, $f:ident, $body:expr; $($field:ident),*) => {
        { $( { let $f = &mut $m.$field; $body; } )* }
    };
}
pub(crate) use each_computed;
