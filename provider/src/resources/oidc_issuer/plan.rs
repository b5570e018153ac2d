//! Plan: defaults, what replaces the issuer, and what the computed
//! attributes will be (known now where the configuration decides them).

use tfplugin::framework::{PlanRequest, PlanResponse};
use tfplugin::{Ctx, Diagnostics, Model, Tf, TfType};

use super::desired::{self, Retained};
use super::model::{self, Config, Hosting, IssuerModel, RetainedKeyModel, TtlModel};
use super::private::Private;
use super::{
    clear_cloudfront_attrs, decode_state, distribution_arn, distribution_missing, each_computed,
    set_document_attrs, set_issuer_attrs, OidcIssuer,
};

impl OidcIssuer {
    pub(super) async fn plan_change(
        &self,
        ctx: &Ctx,
        req: &PlanRequest,
    ) -> Result<PlanResponse, Diagnostics> {
        let prior = decode_state(&req.prior_state)?;
        let mut planned = IssuerModel::decode(&req.proposed_new_state)?;
        if !req.config.is_wholly_known() {
            // Wait for the values; everything computed may change.
            match prior {
                None => each_computed!(&mut planned, f => *f = Tf::unknown()),
                Some(_) => {
                    planned.discovery_document = Tf::unknown();
                    planned.published_jwks = Tf::unknown();
                    planned.published_kids = Tf::unknown();
                    planned.retained_keys = Tf::unknown();
                    planned.documents = Tf::unknown();
                }
            }
            return Ok(PlanResponse {
                planned_state: planned.to_value(),
                planned_private: req.prior_private.clone(),
                ..Default::default()
            });
        }
        let cfg = Config::from_value(&req.config)?;
        with_defaults(&mut planned, &cfg, prior.as_ref());

        let replace = match &prior {
            None => vec![],
            Some(_) => IssuerModel::replaced_paths(&req.prior_state, &planned.to_value()),
        };
        let prior = match prior {
            Some(p) if replace.is_empty() => p,
            // Create: what the configuration alone determines is known now.
            _ => {
                plan_create(&mut planned, &cfg);
                self.check_partition(&cfg).await?;
                if req.prior_state.is_null() {
                    self.check_zone(ctx, &cfg).await?;
                    if cfg.hosting == Hosting::S3 {
                        let clients = self.clients().await?;
                        let id = self.identity(&clients).await?;
                        self.check_account_public_access(ctx, &clients, &id.account_id)
                            .await?;
                    }
                }
                return Ok(PlanResponse {
                    planned_state: planned.to_value(),
                    requires_replace: replace,
                    ..Default::default()
                });
            }
        };
        plan_update(
            &mut planned,
            &prior,
            &cfg,
            Private::parse(&req.prior_private),
        );
        Ok(PlanResponse {
            planned_state: planned.to_value(),
            planned_private: req.prior_private.clone(),
            ..Default::default()
        })
    }
}

/// Fills the optional+computed arguments with their defaults.
fn with_defaults(m: &mut IssuerModel, cfg: &Config, prior: Option<&IssuerModel>) {
    m.hosting = Tf::Known(cfg.hosting.as_str().to_string());
    m.client_ids = Tf::list(cfg.client_ids.clone());
    // No thumbprints configured: IAM keeps (and on real AWS fills in) its
    // own, which we leave alone rather than fight.
    if !m.thumbprints.is_known() {
        m.thumbprints = match prior.map(|p| &p.thumbprints) {
            Some(keep) if !keep.is_null() => keep.clone(),
            _ => Tf::list(vec![]),
        };
    }
    m.price_class = cfg.price_class.clone().into();
    m.cache_ttl = Tf::Known(TtlModel::from(cfg.cache_ttl));
    if m.key_retention.is_null() {
        m.key_retention = Tf::Known(model::DEFAULT_KEY_RETENTION.to_string());
    }
    m.force_destroy = Tf::Known(cfg.force_destroy);
    m.wait_for_deployment = Tf::Known(cfg.wait_for_deployment);
    // A state from before the attribute existed keeps null: no diff.
    if m.adopt_existing_oidc_provider.is_null() && prior.is_none() {
        m.adopt_existing_oidc_provider = Tf::Known(false);
    }
    m.id = Tf::Known(cfg.name.clone());
}

fn plan_create(planned: &mut IssuerModel, cfg: &Config) {
    each_computed!(&mut *planned, f => *f = Tf::unknown());
    planned.id = Tf::Known(cfg.name.clone());
    let published = &cfg.jwks;
    planned.published_jwks = Tf::Known(published.canonical_json());
    planned.published_kids = Tf::Known(published.kids());
    planned.retained_keys = Tf::Known(vec![]);
    if let Some(issuer) = desired::issuer_url_from_config(cfg) {
        set_issuer_attrs(planned, &issuer, published, cfg);
    }
    if cfg.hosting == Hosting::S3 {
        clear_cloudfront_attrs(planned);
    }
}

fn plan_update(
    planned: &mut IssuerModel,
    prior: &IssuerModel,
    cfg: &Config,
    private: Option<Private>,
) {
    let now = time::OffsetDateTime::now_utc();
    let previous = prior
        .published_jwks
        .as_deref()
        .and_then(|j| crate::oidc::parse_jwks(j).ok());
    let recorded = retained_from(&prior.retained_keys);
    let (published, retained) = desired::retain_keys(
        &cfg.jwks,
        previous.as_ref(),
        &recorded,
        cfg.key_retention,
        now,
    );
    planned.published_jwks = Tf::Known(published.canonical_json());
    planned.published_kids = Tf::Known(published.kids());
    // Terraform plans again just before applying and wants the same
    // answer: the times of keys removed by this change are the apply's.
    planned.retained_keys = Tf::Known(
        retained
            .iter()
            .map(|r| {
                let known = recorded.iter().any(|x| x.kid == r.kid);
                let time = |t: &String| {
                    if known {
                        Tf::Known(t.clone())
                    } else {
                        Tf::unknown()
                    }
                };
                RetainedKeyModel {
                    kid: Tf::Known(r.kid.clone()),
                    removed_at: time(&r.removed_at),
                    expires_at: time(&r.expires_at),
                }
            })
            .collect(),
    );
    if let Some(issuer) = prior.issuer_url.as_deref() {
        set_document_attrs(planned, issuer, &published, cfg);
    }
    if prior.oidc_provider_arn.is_null() {
        // Deleted out of band: recreated with the same ARN.
        planned.oidc_provider_arn = Tf::unknown();
    }
    let (Some(private), Some(bucket)) = (&private, prior.bucket.as_deref()) else {
        return;
    };
    let id = private.identity();
    match cfg.hosting {
        Hosting::CloudFront => {
            if let (Some(dist_id), Some(oac), Some(cert), Some(dist_domain)) = (
                prior.distribution_id.as_deref(),
                prior.origin_access_control_id.as_deref(),
                prior.certificate_arn.as_deref(),
                prior.distribution_domain_name.as_deref(),
            ) {
                let spec = desired::distribution_spec(
                    cfg,
                    bucket,
                    &id,
                    oac,
                    cert,
                    &private.caller_reference,
                );
                planned.distribution_settings =
                    Tf::Known(desired::distribution_settings(&spec, &[]));
                let arn = distribution_arn(&id, dist_id);
                let policy = desired::cloudfront_bucket_policy(bucket, &id, &arn);
                planned.bucket_settings = Tf::Known(desired::bucket_settings(cfg.hosting, &policy));
                let domain = cfg.domain.as_deref().unwrap_or_default();
                planned.dns_records = Tf::Known(desired::dns_records(
                    domain,
                    dist_domain,
                    &private.validation_records(),
                ));
            }
            if prior.origin_access_control_id.is_null() && prior.distribution_id.is_known() {
                // Deleted out of band (Read found it gone): a new one, and
                // the distribution pointed at it.
                planned.origin_access_control_id = Tf::unknown();
                planned.distribution_settings = Tf::unknown();
            }
            if prior.certificate_arn.is_null() && prior.distribution_id.is_known() {
                // Deleted out of band (Read found it gone): a new one, with
                // validation records of its own, attached to the distribution.
                planned.certificate_arn = Tf::unknown();
                planned.distribution_settings = Tf::unknown();
                planned.dns_records = Tf::unknown();
            }
            if distribution_missing(prior) {
                // Deleted out of band: a new one gets a new ID and domain.
                planned.distribution_id = Tf::unknown();
                planned.distribution_domain_name = Tf::unknown();
                planned.distribution_settings = Tf::unknown();
                planned.bucket_settings = Tf::unknown();
                planned.dns_records = Tf::unknown();
            }
        }
        Hosting::S3 => {
            let policy = desired::public_bucket_policy(bucket, &id);
            planned.bucket_settings = Tf::Known(desired::bucket_settings(cfg.hosting, &policy));
        }
    }
}

/// The retained keys a state records (entries still unknown are skipped).
pub(super) fn retained_from(v: &Tf<Vec<RetainedKeyModel>>) -> Vec<Retained> {
    v.known()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(Retained {
                        kid: i.kid.known()?.clone(),
                        removed_at: i.removed_at.known()?.clone(),
                        expires_at: i.expires_at.known()?.clone(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}
