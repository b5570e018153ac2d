//! The provider: its block, and the clients shared by every resource and
//! data source. Clients are built on first use, never in ConfigureProvider,
//! so `terraform validate` and PEM-only configurations touch no network.

pub mod config;

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::aws::{AwsClients, AwsSettings};
use crate::kube::{KubeClient, KubeError, KubeSettings};
use tfplugin::framework::{
    ConfigureRequest, DataSourceHandler, EphemeralResourceHandler, FunctionHandler,
    ListResourceHandler, ResourceHandler,
};
use tfplugin::{
    data_source, ephemeral, function, list, resource, Ctx, Diagnostic, Diagnostics, Schema, Value,
};

pub const TYPE_NAME: &str = "irsa";

pub struct IrsaProvider {
    state: Arc<ProviderState>,
}

/// What ConfigureProvider stored, shared with every resource and data source.
#[derive(Default)]
pub struct ProviderState {
    configured: RwLock<Option<Arc<Configured>>>,
}

pub struct Configured {
    /// Some provider arguments are unknown until apply: clients cannot be built.
    has_unknowns: bool,
    aws_settings: AwsSettings,
    kube_settings: KubeSettings,
    aws: OnceCell<Arc<AwsClients>>,
    kube: OnceCell<KubeClient>,
}

impl IrsaProvider {
    pub fn new() -> IrsaProvider {
        IrsaProvider {
            state: Arc::new(ProviderState::default()),
        }
    }
}

impl Default for IrsaProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderState {
    pub fn configured(&self) -> Result<Arc<Configured>, Diagnostic> {
        self.configured
            .read()
            .expect("provider state lock")
            .clone()
            .ok_or_else(|| {
                Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it. This is a bug in the caller.",
            )
            })
    }
}

fn unknown_config_error(what: &str) -> String {
    format!(
        "The provider's {what} settings depend on values that are known only after apply \
         (for example a cluster endpoint created in the same run). Apply those first, e.g. with -target, \
         or pass the values in from a separate configuration."
    )
}

impl Configured {
    pub fn kube_settings(&self) -> &KubeSettings {
        &self.kube_settings
    }

    /// The Kubernetes client, connected on first use.
    pub async fn kube(&self) -> Result<KubeClient, KubeError> {
        if self.has_unknowns {
            return Err(KubeError::Config(unknown_config_error("Kubernetes")));
        }
        self.kube
            .get_or_try_init(|| crate::kube::connect(&self.kube_settings))
            .await
            .cloned()
    }

    /// The AWS clients, built on first use.
    pub async fn aws(&self) -> Result<Arc<AwsClients>, String> {
        if self.has_unknowns {
            return Err(unknown_config_error("AWS"));
        }
        self.aws
            .get_or_try_init(|| async { AwsClients::build(&self.aws_settings).await.map(Arc::new) })
            .await
            .cloned()
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl tfplugin::Provider for IrsaProvider {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn ResourceHandler>> {
        use crate::resources::{
            issuer_host::IssuerHost, oidc_issuer::OidcIssuer, webhook::Webhook,
        };
        vec![
            resource::handler(OidcIssuer::new(self.state.clone())),
            resource::handler(IssuerHost::new(self.state.clone())),
            resource::handler(Webhook::new(self.state.clone())),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSourceHandler>> {
        use crate::data_sources::{
            issuer_check::IssuerCheckDataSource, jwks::JwksDataSource,
            trust_policy::TrustPolicyDataSource,
        };
        vec![
            data_source::handler(JwksDataSource::new(self.state.clone())),
            data_source::handler(TrustPolicyDataSource),
            data_source::handler(IssuerCheckDataSource::new(self.state.clone())),
        ]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResourceHandler>> {
        use crate::ephemeral::service_account_token::ServiceAccountToken;
        vec![ephemeral::handler(ServiceAccountToken::new(
            self.state.clone(),
        ))]
    }

    fn list_resources(&self) -> Vec<Arc<dyn ListResourceHandler>> {
        use crate::resources::oidc_issuer::{list::IssuerList, OidcIssuer};
        use crate::resources::webhook::{list::WebhookList, Webhook};
        vec![
            list::handler(IssuerList(OidcIssuer::new(self.state.clone()))),
            list::handler(WebhookList(Webhook::new(self.state.clone()))),
        ]
    }

    fn functions(&self) -> Vec<Arc<dyn FunctionHandler>> {
        use crate::functions::{
            jwks_from_pem::JwksFromPemFunction, trust_policy::TrustPolicyFunction,
        };
        vec![
            function::handler(TrustPolicyFunction),
            function::handler(JwksFromPemFunction),
        ]
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        config::validate(config)
    }

    async fn configure(&self, _ctx: &Ctx, req: ConfigureRequest) -> Diagnostics {
        let diags = config::validate(&req.config);
        if diags.has_errors() {
            return diags;
        }
        tracing::debug!(target: "irsa::provider", terraform_version = %req.terraform_version, "configuring provider");
        let configured = Configured {
            has_unknowns: config::has_unknowns(&req.config),
            aws_settings: config::aws_settings(&req.config),
            kube_settings: config::kube_settings(&req.config),
            aws: OnceCell::new(),
            kube: OnceCell::new(),
        };
        *self.state.configured.write().expect("provider state lock") = Some(Arc::new(configured));
        diags
    }
}
