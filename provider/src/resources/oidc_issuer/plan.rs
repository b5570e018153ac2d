//! Plan: the values the configuration and the prior state decide, known
//! now (the framework has applied the declared defaults and left the rest
//! of the computed values unknown), and the checks that need AWS before
//! anything is made.

use tfplugin::resource::{Plan, PlanKind};
use tfplugin::{Ctx, Diagnostics, Tf};

use super::checks;
use super::desired::{self, Retained};
use super::model::{
    Config, Hosting, IssuerModel, RetainedKeyModel, Site, TtlModel, DEFAULT_PRICE_CLASS,
    DEFAULT_TTL,
};
use super::parts::{distribution, Aws};
use super::private::Private;
use super::site::{SiteModel, SiteState};
use super::{aws_clients, aws_identity, on_host, set_document_attrs, set_issuer_attrs, OidcIssuer};
use crate::provider::ProviderState;

pub(super) async fn plan(
    issuer: &OidcIssuer,
    ctx: &Ctx,
    plan: &mut Plan<IssuerModel, Private>,
) -> Result<(), Diagnostics> {
    // A state from before the attribute existed keeps null: no diff.
    if plan.config.adopt_existing_oidc_provider.is_null()
        && plan
            .prior
            .as_ref()
            .is_some_and(|p| p.adopt_existing_oidc_provider.is_null())
    {
        plan.planned.adopt_existing_oidc_provider = Tf::Null;
    }
    if !plan.config_known {
        // Wait for the values; what they decide may change.
        return Ok(());
    }
    conditional_defaults(&mut plan.planned, &plan.config);
    let cfg = Config::from_model(&plan.planned)?;
    match (plan.kind, plan.prior.as_ref()) {
        (PlanKind::Update, Some(prior)) => {
            plan_update(&mut plan.planned, prior, &cfg, plan.private.as_ref());
            Ok(())
        }
        _ => {
            plan_create(&mut plan.planned, &cfg);
            if cfg.site.shared {
                return plan_on_host(issuer, ctx, &mut plan.planned, &cfg).await;
            }
            checks_before_create(issuer, ctx, &cfg, plan.prior.is_none()).await
        }
    }
}

/// Defaults that depend on other attributes or on the prior state (an
/// update keeps the prior value of an attribute left out, `keep`).
fn conditional_defaults(planned: &mut IssuerModel, config: &IssuerModel) {
    if !planned.host.is_null() {
        on_host_defaults(planned);
    } else {
        standalone_defaults(planned, config);
    }
    // No thumbprints configured: IAM keeps (and on real AWS fills in) its
    // own, which we leave alone rather than fight.
    if !planned.thumbprints.is_known() {
        planned.thumbprints = Tf::list(vec![]);
    }
    // Only read at create; a state from before it existed keeps null.
    if planned.adopt_existing_oidc_provider.is_unknown() {
        planned.adopt_existing_oidc_provider = Tf::Known(false);
    }
    planned.id = planned.name.clone();
}

/// On a host: the path defaults to the name; hosting and cache TTLs are
/// the host's, known once the issuer is made (kept after).
fn on_host_defaults(planned: &mut IssuerModel) {
    if planned.path.is_unknown() || planned.path.is_null() {
        planned.path = planned.name.clone();
    }
    planned.price_class = Tf::Null;
}

/// A standalone issuer: its site's defaults; it has no path.
fn standalone_defaults(planned: &mut IssuerModel, config: &IssuerModel) {
    let config = config.site_state();
    planned.with_site(|site| site_defaults(site, &config));
    planned.path = Tf::Null;
}

/// A site: the configuration's values, else the defaults; a value changed
/// out of band (a price class) is put back.
pub(crate) fn site_defaults(planned: &mut SiteState, config: &SiteState) {
    planned.hosting = match &config.hosting {
        Tf::Null => Tf::Known(Hosting::CloudFront),
        h => h.clone(),
    };
    planned.cache_ttl = match &config.cache_ttl {
        Tf::Null => Tf::Known(TtlModel::from(DEFAULT_TTL)),
        t => t.clone(),
    };
    planned.price_class = match planned.hosting_mode() {
        Hosting::S3 => Tf::Null,
        Hosting::CloudFront if config.price_class.is_null() => Tf::Known(DEFAULT_PRICE_CLASS),
        Hosting::CloudFront => config.price_class.clone(),
    };
    if planned.hosting_mode() == Hosting::S3 {
        planned.clear_cloudfront();
    }
}

/// A standalone issuer's site (a host checks its own).
async fn checks_before_create(
    issuer: &OidcIssuer,
    ctx: &Ctx,
    cfg: &Config,
    new: bool,
) -> Result<(), Diagnostics> {
    check_new_site(&issuer.provider, ctx, &cfg.site, new).await
}

/// A new issuer on a host that exists: its URL known now, its path free.
async fn plan_on_host(
    issuer: &OidcIssuer,
    ctx: &Ctx,
    planned: &mut IssuerModel,
    cfg: &Config,
) -> Result<(), Diagnostics> {
    let clients = aws_clients(&issuer.provider).await?;
    let id = aws_identity(&clients).await?;
    let aws = Aws {
        ctx,
        clients: &clients,
        id: &id,
    };
    on_host::plan_create(&aws, planned, cfg).await
}

/// What a site to make needs, known before apply: the partition always (a
/// replacement too); the zone and the account's Block Public Access only
/// when the resource is new.
pub(crate) async fn check_new_site(
    provider: &ProviderState,
    ctx: &Ctx,
    site: &Site,
    new: bool,
) -> Result<(), Diagnostics> {
    if site.hosting == Hosting::CloudFront {
        let clients = aws_clients(provider).await?;
        checks::partition(&clients, site)?;
    }
    if !new {
        return Ok(());
    }
    let clients = aws_clients(provider).await?;
    checks::zone(ctx, &clients, site).await?;
    if site.hosting == Hosting::S3 {
        let id = aws_identity(&clients).await?;
        checks::account_public_access(&Aws {
            ctx,
            clients: &clients,
            id: &id,
        })
        .await?;
    }
    Ok(())
}

/// Create: what the configuration alone determines is known now.
fn plan_create(planned: &mut IssuerModel, cfg: &Config) {
    let published = &cfg.jwks;
    planned.published_jwks = Tf::Known(published.canonical_json());
    planned.published_kids = Tf::Known(published.kids());
    planned.retained_keys = Tf::Known(vec![]);
    if let Some(issuer) = desired::issuer_url_from_config(cfg) {
        set_issuer_attrs(planned, &issuer, published, cfg);
    }
}

fn plan_update(
    planned: &mut IssuerModel,
    prior: &IssuerModel,
    cfg: &Config,
    private: Option<&Private>,
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
    if !cfg.site.shared {
        let prior = prior.site_state();
        planned.with_site(|site| plan_site_update(site, &prior, &cfg.site, private));
    }
}

/// A site's update: the settings as they should be (refresh recorded what
/// they are), and parts refresh found gone planned anew.
pub(crate) fn plan_site_update(
    planned: &mut SiteState,
    prior: &SiteState,
    site: &Site,
    private: Option<&Private>,
) {
    let (Some(private), Some(bucket)) = (private, prior.bucket.as_deref()) else {
        return;
    };
    let id = private.identity();
    match site.hosting {
        Hosting::CloudFront => {
            if let (Some(dist_id), Some(oac), Some(cert), Some(dist_domain)) = (
                prior.distribution_id.as_deref(),
                prior.origin_access_control_id.as_deref(),
                prior.certificate_arn.as_deref(),
                prior.distribution_domain_name.as_deref(),
            ) {
                let spec = desired::distribution_spec(
                    site,
                    bucket,
                    &id,
                    oac,
                    cert,
                    &private.caller_reference,
                );
                planned.distribution_settings =
                    Tf::Known(desired::distribution_settings(&spec, &[], site.shared));
                let arn = distribution::arn(&id, dist_id);
                let policy = desired::cloudfront_bucket_policy(bucket, &id, &arn);
                planned.bucket_settings =
                    Tf::Known(desired::bucket_settings(site.hosting, &policy));
                let domain = site.domain.as_deref().unwrap_or_default();
                planned.dns_records = Tf::Known(desired::dns_records(
                    domain,
                    dist_domain,
                    &private.validation_records(),
                ));
            }
            plan_parts_found_gone(planned, prior);
        }
        Hosting::S3 => {
            let policy = desired::public_bucket_policy(bucket, &id, site.shared);
            planned.bucket_settings = Tf::Known(desired::bucket_settings(site.hosting, &policy));
        }
    }
}

/// Parts refresh found deleted out of band get new IDs and settings.
fn plan_parts_found_gone(planned: &mut SiteState, prior: &SiteState) {
    if prior.origin_access_control_id.is_null() && prior.distribution_id.is_known() {
        // A new OAC, and the distribution pointed at it.
        planned.origin_access_control_id = Tf::unknown();
        planned.distribution_settings = Tf::unknown();
    }
    if prior.certificate_arn.is_null() && prior.distribution_id.is_known() {
        // A new certificate, with validation records of its own, attached
        // to the distribution.
        planned.certificate_arn = Tf::unknown();
        planned.distribution_settings = Tf::unknown();
        planned.dns_records = Tf::unknown();
    }
    if prior.distribution_missing() {
        // A new distribution gets a new ID and domain.
        planned.distribution_id = Tf::unknown();
        planned.distribution_domain_name = Tf::unknown();
        planned.distribution_settings = Tf::unknown();
        planned.bucket_settings = Tf::unknown();
        planned.dns_records = Tf::unknown();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::Jwks;
    use tfplugin::Model as _;

    fn jwks(pems: &[&str]) -> Jwks {
        let keys = pems
            .iter()
            .flat_map(|p| crate::oidc::parse_public_keys_pem(p).unwrap())
            .collect();
        Jwks::from_public_keys(keys).unwrap()
    }

    const RSA: &str = include_str!("../../oidc/testdata/rsa2048.pub.pem");
    const EC: &str = include_str!("../../oidc/testdata/ec-p256.pub.pem");

    /// The plan as the framework hands it over: configuration values,
    /// declared defaults, computed values unknown.
    fn planned(hosting: Hosting, keys: &Jwks) -> (IssuerModel, Config) {
        let mut config = IssuerModel {
            name: Tf::Known("prod".into()),
            jwks: Tf::Known(tfplugin::Json::parse(keys.canonical_json()).unwrap()),
            hosting: Tf::Known(hosting),
            ..IssuerModel::default()
        };
        if hosting == Hosting::CloudFront {
            config.domain = Tf::Known("oidc.example.com".into());
            config.route53_zone_id = Tf::Known("Z0123456789ABC".into());
        }
        let mut m = config.clone();
        m.apply_defaults(&config);
        m.mark_unknown_computed(&config, false);
        conditional_defaults(&mut m, &config);
        let cfg = Config::from_model(&m).unwrap();
        (m, cfg)
    }

    #[test]
    fn a_cloudfront_create_knows_the_issuer_and_its_documents_now() {
        let keys = jwks(&[RSA]);
        let (mut m, cfg) = planned(Hosting::CloudFront, &keys);
        plan_create(&mut m, &cfg);
        assert_eq!(m.issuer_url.as_deref(), Some("https://oidc.example.com"));
        assert_eq!(m.oidc_provider_url.as_deref(), Some("oidc.example.com"));
        assert_eq!(
            m.jwks_uri.as_deref(),
            Some("https://oidc.example.com/openid/v1/jwks")
        );
        assert_eq!(m.published_kids.known().map(Vec::len), Some(1));
        assert!(m.documents.is_known() && m.retained_keys.is_known());
        assert_eq!(m.price_class.known(), Some(&DEFAULT_PRICE_CLASS));
        assert_eq!(m.adopt_existing_oidc_provider.known(), Some(&false));
        assert_eq!(m.thumbprints.known().map(Vec::len), Some(0));
        // What AWS decides stays unknown.
        assert!(
            m.bucket.is_unknown()
                && m.distribution_id.is_unknown()
                && m.oidc_provider_arn.is_unknown()
        );
    }

    #[test]
    fn an_s3_create_has_no_cloudfront_parts_and_no_price_class() {
        let (mut m, cfg) = planned(Hosting::S3, &jwks(&[RSA]));
        plan_create(&mut m, &cfg);
        assert!(
            m.issuer_url.is_unknown(),
            "the bucket's host is known only once made"
        );
        assert!(m.price_class.is_null());
        for v in [
            &m.distribution_id,
            &m.certificate_arn,
            &m.origin_access_control_id,
        ] {
            assert!(v.is_null());
        }
        assert!(m.dns_records.is_null() && m.distribution_settings.is_null());
    }

    /// A state after a create with `keys`.
    fn created(hosting: Hosting, keys: &Jwks) -> (IssuerModel, Private) {
        let (mut m, cfg) = planned(hosting, keys);
        plan_create(&mut m, &cfg);
        let id = Identity::from_caller_arn(
            "123456789012",
            "arn:aws:iam::123456789012:user/x",
            "eu-west-1",
        );
        let bucket = desired::bucket_name("prod", &id.account_id);
        let issuer = desired::issuer_url(&cfg, &bucket, &id);
        super::super::set_issuer_attrs(&mut m, &issuer, keys, &cfg);
        m.bucket = Tf::Known(bucket.clone());
        m.region = Tf::Known("eu-west-1".into());
        m.oidc_provider_arn = Tf::Known("arn:aws:iam::123456789012:oidc-provider/x".into());
        m.bucket_settings = Tf::Known(desired::bucket_settings(
            hosting,
            &desired::public_bucket_policy(&bucket, &id, false),
        ));
        m.null_unknown_computed();
        (m, Private::new(&id, "irsa-prod-1".into()))
    }

    use super::super::desired::Identity;

    #[test]
    fn a_key_removed_from_jwks_stays_published_with_its_times_left_to_the_apply() {
        let (prior, private) = created(Hosting::S3, &jwks(&[RSA]));
        let (mut m, cfg) = planned(Hosting::S3, &jwks(&[EC]));
        plan_update(&mut m, &prior, &cfg, Some(&private));
        assert_eq!(
            m.published_kids.known().map(Vec::len),
            Some(2),
            "old and new key"
        );
        let retained = m.retained_keys.known().unwrap();
        assert_eq!(retained.len(), 1);
        assert!(retained[0].removed_at.is_unknown() && retained[0].expires_at.is_unknown());
        assert_ne!(
            m.documents, prior.documents,
            "the documents change: an update publishes them"
        );
        assert_eq!(m.bucket_settings, prior.bucket_settings);
    }

    #[test]
    fn parts_refresh_found_gone_are_planned_anew() {
        let (mut prior, private) = created(Hosting::S3, &jwks(&[RSA]));
        prior.oidc_provider_arn = Tf::Null;
        let (mut m, cfg) = planned(Hosting::S3, &jwks(&[RSA]));
        m.oidc_provider_arn = Tf::Null;
        plan_update(&mut m, &prior, &cfg, Some(&private));
        assert!(m.oidc_provider_arn.is_unknown(), "made again");
        assert_eq!(m.documents, prior.documents, "nothing else changes");
    }
}
