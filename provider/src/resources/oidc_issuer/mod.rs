//! Resource `irsa_oidc_issuer`: the public OIDC issuer of a cluster on AWS.
//!
//! `model` holds the typed model (each attribute with its default and
//! rules), `desired` the pure computation of what AWS should hold, `parts`
//! the issuer's parts (bucket, documents, origin access control,
//! certificate, distribution, DNS records, IAM OIDC provider), each with
//! its calls. The lifecycle is a short sequence over the parts, a file
//! each: `plan`, `create`, `update`, `refresh`, `delete`, `import`;
//! `checks` holds what must hold before anything is made, `private` the
//! bookkeeping kept in Terraform's private state, `identity` the resource
//! identity (`name`, `account_id`; Terraform 1.12+) and `list` the list
//! resource of `terraform query` (Terraform 1.14+). Drift in parts that have
//! no argument of their own shows in the computed maps `documents`,
//! `dns_records`, `distribution_settings` and `bucket_settings`: refresh
//! records what AWS holds, plan what it should hold, and a difference is an
//! update that repairs it.

pub(crate) mod checks;
pub(crate) mod create;
pub(crate) mod delete;
pub mod desired;
pub mod identity;
pub(crate) mod import;
pub mod list;
pub mod model;
mod on_host;
pub(crate) mod parts;
pub(crate) mod plan;
pub(crate) mod private;
pub(crate) mod refresh;
pub(crate) mod site;
pub(crate) mod update;

use std::sync::Arc;

use async_trait::async_trait;

use self::desired::Identity;
use self::identity::IssuerIdentity;
use self::model::{Config, IssuerModel};
use self::parts::{documents, Aws};
use self::private::Private;
use crate::aws::AwsClients;
use crate::oidc::Jwks;
use crate::provider::ProviderState;
use tfplugin::resource::{Create, Outcome, Plan, Saved, Update};
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, Resource, Tf};

pub struct OidcIssuer {
    provider: Arc<ProviderState>,
}

impl OidcIssuer {
    pub fn new(provider: Arc<ProviderState>) -> OidcIssuer {
        OidcIssuer { provider }
    }

    async fn clients(&self) -> Result<Arc<AwsClients>, Diagnostics> {
        aws_clients(&self.provider).await
    }

    async fn aws_identity(&self, clients: &AwsClients) -> Result<Identity, Diagnostics> {
        aws_identity(clients).await
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
                &self.aws_identity(clients).await?,
                format!("irsa-{name}"),
            )),
        }
    }
}

/// The configured provider's AWS clients.
pub(crate) async fn aws_clients(provider: &ProviderState) -> Result<Arc<AwsClients>, Diagnostics> {
    provider
        .configured()?
        .aws()
        .await
        .context("Cannot set up AWS clients")
}

/// Who we are in AWS: account, partition, region.
pub(crate) async fn aws_identity(clients: &AwsClients) -> Result<Identity, Diagnostics> {
    let (account, arn) = clients
        .caller_identity()
        .await
        .context("Cannot determine the AWS account")?;
    let region = clients
        .sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    Ok(Identity::from_caller_arn(&account, &arn, &region))
}

#[async_trait]
impl Resource for OidcIssuer {
    type Model = IssuerModel;
    type Private = Private;
    type Identity = IssuerIdentity;
    const TYPE_NAME: &'static str = model::TYPE_NAME;

    fn validate(&self, config: &IssuerModel) -> Diagnostics {
        model::validate(config)
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx,
        p: &mut Plan<IssuerModel, Private>,
    ) -> Result<(), Diagnostics> {
        plan::plan(self, ctx, p).await
    }

    async fn create(
        &self,
        ctx: &Ctx,
        req: Create<IssuerModel, Private>,
    ) -> Outcome<IssuerModel, Private> {
        let cfg = Config::from_model(&req.planned)?;
        let clients = self.clients().await?;
        let id = self.aws_identity(&clients).await?;
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        match req.planned.host.known().cloned() {
            Some(host) => on_host::create(&aws, cfg, &host, req.planned).await,
            None => create::create(&aws, &cfg, req.planned).await,
        }
    }

    async fn read(
        &self,
        ctx: &Ctx,
        state: IssuerModel,
        private: Option<Private>,
    ) -> Result<Option<Saved<IssuerModel, Private>>, Diagnostics> {
        let clients = self.clients().await?;
        let name = state.name.as_deref().unwrap_or_default().to_string();
        let mut private = self.private_or_identity(&clients, private, &name).await?;
        let id = private.identity();
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let state = match state.host.is_known() {
            true => on_host::refresh(&aws, state).await?,
            false => refresh::refresh(&aws, state, &mut private).await?,
        };
        Ok(state.map(|s| Saved::new(s, private)))
    }

    async fn update(
        &self,
        ctx: &Ctx,
        req: Update<IssuerModel, Private>,
    ) -> Outcome<IssuerModel, Private> {
        let cfg = Config::from_model(&req.planned)?;
        let clients = self.clients().await?;
        let private = self
            .private_or_identity(&clients, req.private, &cfg.name)
            .await?;
        let id = private.identity();
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        match req.prior.host.is_known() {
            true => on_host::update(&aws, &cfg, &req.prior, req.planned, private).await,
            false => update::update(&aws, &cfg, &req.prior, req.planned, private).await,
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx,
        state: IssuerModel,
        private: Option<Private>,
    ) -> Result<(), Diagnostics> {
        let clients = self.clients().await?;
        let id = match &private {
            Some(p) => p.identity(),
            None => self.aws_identity(&clients).await?,
        };
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        match state.host.is_known() {
            true => on_host::delete(&aws, &state).await,
            false => delete::delete(&aws, &state, private.as_ref()).await,
        }
    }

    async fn import(
        &self,
        ctx: &Ctx,
        name: &str,
    ) -> Result<Saved<IssuerModel, Private>, Diagnostics> {
        model::check_name(name).map_err(|why| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import ID",
                format!("The import ID is the issuer's `name`. {why}"),
            ))
        })?;
        let clients = self.clients().await?;
        let id = self.aws_identity(&clients).await?;
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let (state, private) = import_by_name(&aws, name).await?;
        Ok(Saved::new(state, private))
    }

    fn generate_config(&self, config: &mut IssuerModel) {
        *config = std::mem::take(config).into_generated_config();
    }

    fn identity(&self, state: &IssuerModel, private: Option<&Private>) -> Option<IssuerIdentity> {
        identity::of_state(state, private)
    }

    async fn import_identity(
        &self,
        ctx: &Ctx,
        wanted: IssuerIdentity,
    ) -> Result<Saved<IssuerModel, Private>, Diagnostics> {
        identity::check(&wanted)
            .map_err(|why| Diagnostics::from(Diagnostic::error("Invalid identity", why)))?;
        let clients = self.clients().await?;
        let id = self.aws_identity(&clients).await?;
        if let Some(account) = wanted.account_id.as_deref() {
            if account != id.account_id {
                return Err(Diagnostic::error(
                    "Issuer in another account",
                    format!(
                        "The identity names the issuer {:?} in account {account}, but the provider's credentials \
                         are for account {}: configure the provider for account {account} (e.g. with \
                         `assume_role`) to import it.",
                        wanted.name, id.account_id
                    ),
                )
                .into());
            }
        }
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let (state, private) = import_by_name(&aws, &wanted.name).await?;
        Ok(Saved::new(state, private))
    }
}

/// The issuer named `name`, for an import by ID or by identity: a
/// standalone issuer has a bucket of its name; one on a host an IAM OIDC
/// provider tagged with its name and host. When neither exists, the error
/// names both things looked for.
async fn import_by_name(aws: &Aws<'_>, name: &str) -> Result<(IssuerModel, Private), Diagnostics> {
    let standalone = desired::bucket_name(name, &aws.id.account_id);
    if !parts::bucket::exists(aws, &standalone).await? {
        if let Some(found) = on_host::import(aws, name).await? {
            return Ok(found);
        }
        return Err(Diagnostic::error(
            "No such issuer",
            format!(
                "There is no issuer named {name:?} in account {}: the bucket {standalone} does not exist, \
                 and no IAM OIDC provider is tagged {}={name:?} with {} (an issuer on an irsa_issuer_host).",
                aws.id.account_id,
                desired::NAME_TAG,
                desired::HOST_TAG,
            ),
        )
        .into());
    }
    import::import(aws, name).await
}

/// Sets the attributes that follow from the issuer URL and published keys.
fn set_issuer_attrs(m: &mut IssuerModel, issuer: &str, published: &Jwks, cfg: &Config) {
    m.issuer_url = Tf::Known(issuer.to_string());
    m.oidc_provider_url = Tf::Known(desired::host_path(issuer).to_string());
    m.jwks_uri = Tf::Known(desired::jwks_uri(issuer));
    set_document_attrs(m, issuer, published, cfg);
}

/// The published documents and their fingerprints.
fn set_document_attrs(m: &mut IssuerModel, issuer: &str, published: &Jwks, cfg: &Config) {
    m.published_jwks = Tf::Known(published.canonical_json());
    m.published_kids = Tf::Known(published.kids());
    m.discovery_document = Tf::Known(crate::oidc::discovery_document(issuer, published));
    m.documents = Tf::Known(documents::desired(issuer, published, cfg));
}
