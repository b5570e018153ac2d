//! Resource `irsa_issuer_host`: a site that many issuers share, each below
//! its own path (`irsa_oidc_issuer` with `host`).
//!
//! A host is a standalone issuer's site without documents or an IAM OIDC
//! provider of its own: the same parts (`oidc_issuer::parts`) and the same
//! site lifecycle (`oidc_issuer::{plan, create, refresh, update, delete}`
//! over `oidc_issuer::site::SiteState`). What is its own: it is marked a
//! host in its bucket's tags (with the cache TTLs its issuers publish
//! with), its distribution caches no errors and its S3 policy makes every
//! issuer's two documents public, and it refuses to be destroyed while
//! issuers publish on it.

pub mod model;

use std::sync::Arc;

use async_trait::async_trait;

use self::model::HostModel;
use crate::aws::{cloudfront, s3, AwsClients};
use crate::provider::ProviderState;
use crate::resources::oidc_issuer::create::{
    make_site, record_made, refuse_existing_bucket, site_preflight, Made,
};
use crate::resources::oidc_issuer::delete::{refuse_foreign_objects, remove_site, site_bucket};
use crate::resources::oidc_issuer::desired::{self, Identity};
use crate::resources::oidc_issuer::model::{Hosting, TtlModel};
use crate::resources::oidc_issuer::parts::{bucket, distribution, documents, Aws};
use crate::resources::oidc_issuer::plan::{check_new_site, plan_site_update, site_defaults};
use crate::resources::oidc_issuer::private::Private;
use crate::resources::oidc_issuer::refresh::{observe_site, record_site};
use crate::resources::oidc_issuer::site::SiteModel;
use crate::resources::oidc_issuer::update::update_site;
use crate::resources::oidc_issuer::{aws_clients, aws_identity, model::check_name};
use tfplugin::resource::{Create, Failed, Outcome, Plan, PlanKind, Saved, Update};
use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics, ErrorContext, Model, Resource, Tf};

pub struct IssuerHost {
    provider: Arc<ProviderState>,
}

impl IssuerHost {
    pub fn new(provider: Arc<ProviderState>) -> IssuerHost {
        IssuerHost { provider }
    }

    async fn connect(&self) -> Result<(Arc<AwsClients>, Identity), Diagnostics> {
        let clients = aws_clients(&self.provider).await?;
        let id = aws_identity(&clients).await?;
        Ok((clients, id))
    }
}

#[async_trait]
impl Resource for IssuerHost {
    type Model = HostModel;
    type Private = Private;
    type Identity = ();
    const TYPE_NAME: &'static str = model::TYPE_NAME;

    fn validate(&self, config: &HostModel) -> Diagnostics {
        model::validate(config)
    }

    async fn modify_plan(
        &self,
        ctx: &Ctx,
        p: &mut Plan<HostModel, Private>,
    ) -> Result<(), Diagnostics> {
        if !p.config_known {
            return Ok(());
        }
        let config = p.config.site_state();
        p.planned.with_site(|s| site_defaults(s, &config));
        p.planned.id = p.planned.name.clone();
        let site = p.planned.site();
        match (p.kind, p.prior.as_ref()) {
            (PlanKind::Update, Some(prior)) => {
                let prior = prior.site_state();
                let private = p.private.as_ref();
                p.planned
                    .with_site(|s| plan_site_update(s, &prior, &site, private));
                Ok(())
            }
            _ => {
                if let (Hosting::CloudFront, Some(d)) = (site.hosting, &site.domain) {
                    p.planned.url = Tf::Known(format!("https://{d}"));
                }
                check_new_site(&self.provider, ctx, &site, p.prior.is_none()).await
            }
        }
    }

    async fn create(
        &self,
        ctx: &Ctx,
        req: Create<HostModel, Private>,
    ) -> Outcome<HostModel, Private> {
        let site = req.planned.site();
        let (clients, id) = self.connect().await?;
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        site_preflight(&aws, &site).await?;
        let bucket = desired::bucket_name(&site.name, &id.account_id);
        refuse_existing_bucket(&aws, &bucket, "host", &site.name).await?;
        let mut private = Private::new(&id, distribution::caller_reference(&site.name));
        let mut made = Made::default();
        let result = Box::pin(make_site(
            &aws,
            &site,
            &bucket,
            &private.caller_reference,
            None,
            &mut made,
        ))
        .await;
        private.set_validation(&made.validation);
        let mut state = req.planned;
        state.id = Tf::Known(site.name.clone());
        state.url = Tf::Known(desired::site_url(&site, &bucket, &id));
        state.with_site(|s| record_made(s, &site, &id, &bucket, &made));
        state.null_unknown_computed();
        match result {
            Ok(()) => Ok(Saved {
                state,
                private,
                warnings: made.warnings,
            }),
            Err(diagnostics) => Err(Failed {
                diagnostics,
                state: (!made.nothing()).then_some(state),
                private: Some(private),
            }),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx,
        mut state: HostModel,
        private: Option<Private>,
    ) -> Result<Option<Saved<HostModel, Private>>, Diagnostics> {
        let clients = aws_clients(&self.provider).await?;
        let mut private = match private {
            Some(p) => p,
            None => {
                let name = state.name.as_deref().unwrap_or_default();
                Private::new(&aws_identity(&clients).await?, format!("irsa-{name}"))
            }
        };
        let id = private.identity();
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        if state.bucket.is_null() {
            return Ok(None);
        }
        let mut site = state.site_state();
        let validation = private.validation_records();
        let seen = ctx.run(observe_site(&aws, &site, &validation)).await??;
        if !record_site(&aws, &mut site, seen, &mut private, true).await? {
            tracing::info!(target: "irsa::issuer_host", "the host's bucket and distribution are gone: removing from state");
            return Ok(None);
        }
        state.set_site_state(site);
        Ok(Some(Saved::new(state, private)))
    }

    async fn update(
        &self,
        ctx: &Ctx,
        req: Update<HostModel, Private>,
    ) -> Outcome<HostModel, Private> {
        let site = req.planned.site();
        let clients = aws_clients(&self.provider).await?;
        let mut private = match req.private {
            Some(p) => p,
            None => Private::new(
                &aws_identity(&clients).await?,
                format!("irsa-{}", site.name),
            ),
        };
        let id = private.identity();
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let mut state = req.planned;
        let mut s = state.site_state();
        let result = Box::pin(update_site(
            &aws,
            &site,
            &req.prior.site_state(),
            &mut s,
            &mut private,
        ))
        .await;
        state.set_site_state(s);
        match result {
            Ok(_) => {
                state.null_unknown_computed();
                Ok(Saved::new(state, private))
            }
            Err(diagnostics) => Err(Failed {
                diagnostics,
                state: None,
                private: Some(private),
            }),
        }
    }

    async fn delete(
        &self,
        ctx: &Ctx,
        state: HostModel,
        private: Option<Private>,
    ) -> Result<(), Diagnostics> {
        let clients = aws_clients(&self.provider).await?;
        let id = match &private {
            Some(p) => p.identity(),
            None => aws_identity(&clients).await?,
        };
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let name = state.name.as_deref().unwrap_or_default().to_string();
        let site = state.site_state();
        let bucket_name = site_bucket(&site, &name, &aws);
        // Refuse before deleting anything: the issuers on the host, and
        // objects we did not write (unless force_destroy).
        let bucket_exists = bucket::exists(&aws, &bucket_name).await?;
        if bucket_exists {
            refuse_with_issuers(&aws, &name, &bucket_name).await?;
            if state.force_destroy.known() != Some(&true) {
                refuse_foreign_objects(&aws, &bucket_name, desired::is_issuer_document).await?;
            }
        }
        remove_site(&aws, &site, &name, private.as_ref(), bucket_exists).await
    }

    async fn import(
        &self,
        ctx: &Ctx,
        name: &str,
    ) -> Result<Saved<HostModel, Private>, Diagnostics> {
        check_name(name).map_err(|why| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import ID",
                format!("The import ID is the host's `name`. {why}"),
            ))
        })?;
        let (clients, id) = self.connect().await?;
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let (state, mut private) = imported(&aws, name).await?;
        let mut site = state.site_state();
        let validation = private.validation_records();
        let seen = ctx.run(observe_site(&aws, &site, &validation)).await??;
        if !record_site(&aws, &mut site, seen, &mut private, true).await? {
            return Err(no_such_host(name, &aws));
        }
        let mut state = state;
        state.set_site_state(site);
        Ok(Saved::new(state, private))
    }
}

fn no_such_host(name: &str, aws: &Aws<'_>) -> Diagnostics {
    Diagnostic::error(
        "No such issuer host",
        format!(
            "There is no issuer host named {name:?} in account {}: the bucket {} does not exist.",
            aws.id.account_id,
            desired::bucket_name(name, &aws.id.account_id)
        ),
    )
    .into()
}

/// Fails, deleting nothing, while issuers publish on the host, naming them.
async fn refuse_with_issuers(
    aws: &Aws<'_>,
    host: &str,
    bucket_name: &str,
) -> Result<(), Diagnostics> {
    let keys = bucket::object_keys(aws, bucket_name).await?;
    let mut paths: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.strip_suffix(&format!("/{}", desired::JWKS_KEY)))
        .collect();
    paths.dedup();
    let mut issuers = Vec::new();
    for path in paths {
        // A path whose JWKS is only an old version or a delete marker has
        // no issuer any more.
        if let Some(owner) = documents::owner(aws, bucket_name, path).await? {
            issuers.push(format!("{owner:?} at /{path}"));
        }
    }
    if issuers.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::error(
        "Issuers still on the host",
        format!(
            "The host {host:?} still serves {} issuer(s): {}. Nothing was deleted. Destroy those irsa_oidc_issuer resources (or move them to another host) first.",
            issuers.len(),
            issuers.join(", ")
        ),
    )
    .at(AttrPath::root("name"))
    .into())
}

/// The state of the host named `name`, from its bucket's tags and its
/// distribution; refresh fills in the rest.
async fn imported(aws: &Aws<'_>, name: &str) -> Result<(HostModel, Private), Diagnostics> {
    let bucket_name = desired::bucket_name(name, &aws.id.account_id);
    let tags = match s3::get_bucket_tags(&aws.clients.s3, &bucket_name).await {
        Err(e) if e.kind == crate::aws::ErrorKind::NoSuchBucket => {
            return Err(no_such_host(name, aws))
        }
        other => other.context("Cannot read the bucket's tags")?,
    };
    let Some((hosting, ttl)) = bucket::host_of_tags(&tags)
        .filter(|_| tags.get(desired::NAME_TAG).map(String::as_str) == Some(name))
    else {
        return Err(Diagnostic::error(
            "Not an issuer host's bucket",
            format!("The bucket {bucket_name} is not tagged as the issuer host {name:?}: it was not made by this provider as a host (an issuer's? import it as irsa_oidc_issuer)."),
        )
        .into());
    };
    let config = HostModel {
        name: Tf::Known(name.to_string()),
        hosting: Tf::Known(hosting),
        ..HostModel::default()
    };
    let mut v = config.clone();
    v.apply_defaults(&config);
    v.id = Tf::Known(name.to_string());
    v.bucket = Tf::Known(bucket_name.clone());
    v.region = Tf::Known(aws.id.region.clone());
    v.cache_ttl = Tf::Known(TtlModel::from(ttl));
    let user = desired::user_tags(&tags);
    if !user.is_empty() {
        v.tags = Tf::map_of(user);
    }
    let (_, zone) = bucket::hosting_of_tags(&tags);
    let mut caller_reference = format!("irsa-{name}");
    match hosting {
        Hosting::S3 => {
            v.with_site(|s| s.clear_cloudfront());
            v.price_class = Tf::Null;
            v.url = Tf::Known(format!(
                "https://{}",
                desired::bucket_host(&bucket_name, aws.id)
            ));
        }
        Hosting::CloudFront => {
            let comment = desired::distribution_comment(name);
            let d = cloudfront::find_distribution_by_comment(&aws.clients.cloudfront, &comment)
                .await
                .context("Cannot look for the host's distribution")?;
            let d = match d {
                Some(id) => cloudfront::get_distribution(&aws.clients.cloudfront, &id)
                    .await
                    .context("Cannot read the distribution")?,
                None => None,
            }
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Host has no distribution",
                    format!("No CloudFront distribution is commented {comment:?}."),
                ))
            })?;
            let domain = d.spec.aliases.first().cloned().unwrap_or_default();
            caller_reference = d.spec.caller_reference.clone();
            v.url = Tf::Known(format!("https://{domain}"));
            v.domain = Tf::Known(domain);
            v.route53_zone_id = zone.into();
            v.distribution_id = Tf::Known(d.id.clone());
            v.certificate_arn = d.spec.certificate_arn.clone().into();
            v.origin_access_control_id = Tf::Known(d.spec.origin_access_control_id.clone());
        }
    }
    Ok((v, Private::new(aws.id, caller_reference)))
}
