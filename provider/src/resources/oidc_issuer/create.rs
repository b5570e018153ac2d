//! Create: the checks that nothing is in the way, then the parts in
//! dependency order (independent ones at the same time). A create that
//! fails returns what it made, so the next run (the resource is then
//! tainted) removes it.

use tfplugin::resource::{Failed, Outcome, Saved};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, ErrorContext, Model, Tf};

use super::checks;
use super::desired::{self, Identity};
use super::model::{self, Config, Hosting, IssuerModel, Site};
use super::parts::oidc_provider::Existing;
use super::parts::{bucket, certificate, distribution, dns, documents, oac, oidc_provider, Aws};
use super::private::Private;
use super::set_issuer_attrs;
use super::site::{SiteModel, SiteState};
use crate::aws::acm::ValidationRecord;
use crate::aws::cloudfront::Distribution;
use crate::aws::iam::OidcProvider;

/// The parts made so far; on failure they go to state so the next run
/// (the resource is then tainted) removes them.
#[derive(Default)]
pub(crate) struct Made {
    pub bucket: Option<String>,
    pub oac_id: Option<String>,
    pub certificate_arn: Option<String>,
    pub validation: Vec<ValidationRecord>,
    pub distribution: Option<Distribution>,
    pub oidc_provider_arn: Option<String>,
    /// Said with a successful create (e.g. the public read could not be checked).
    pub warnings: Diagnostics,
}

impl Made {
    pub fn nothing(&self) -> bool {
        self.bucket.is_none() && self.oac_id.is_none() && self.certificate_arn.is_none()
    }
}

/// Makes the issuer `planned` describes.
pub(super) async fn create(
    aws: &Aws<'_>,
    cfg: &Config,
    planned: IssuerModel,
) -> Outcome<IssuerModel, Private> {
    preflight(aws, cfg).await?;
    let bucket = desired::bucket_name(&cfg.site.name, &aws.id.account_id);
    let issuer = desired::issuer_url(cfg, &bucket, aws.id);
    let adopt = existing_parts(aws, cfg, &issuer, &bucket).await?;
    let mut private = Private::new(aws.id, distribution::caller_reference(&cfg.site.name));
    if let Existing::Adopted(p) = &adopt {
        private.adopted_oidc_provider = Some(p.arn.clone());
    }
    let adopt = match adopt {
        Existing::Ours(p) | Existing::Adopted(p) => Some(p),
        Existing::None => None,
    };
    let mut made = Made::default();
    let result = make(
        aws,
        cfg,
        &bucket,
        &issuer,
        &private.caller_reference,
        adopt,
        &mut made,
    )
    .await;
    private.set_validation(&made.validation);
    let state = state_after(cfg, planned, aws.id, &bucket, &issuer, &made);
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

/// What must hold before anything is made; all of it was checked at plan
/// time too, but the account may have changed since.
async fn preflight(aws: &Aws<'_>, cfg: &Config) -> Result<(), Diagnostics> {
    site_preflight(aws, &cfg.site).await
}

/// What a new site needs: the partition, the zone, the account's Block
/// Public Access (S3 hosting).
pub(crate) async fn site_preflight(aws: &Aws<'_>, site: &Site) -> Result<(), Diagnostics> {
    model::check_hosting_partition(site.hosting, aws.id.partition).map_err(|why| {
        Diagnostics::from(
            Diagnostic::error("CloudFront hosting not available", why)
                .at(AttrPath::root("hosting")),
        )
    })?;
    checks::zone(aws.ctx, aws.clients, site).await?;
    if site.hosting == Hosting::S3 {
        checks::account_public_access(aws).await?;
    }
    Ok(())
}

/// An OIDC provider at the issuer's URL (ours to take back, or to adopt),
/// and a bucket of the name already there (refused).
async fn existing_parts(
    aws: &Aws<'_>,
    cfg: &Config,
    issuer: &str,
    bucket: &str,
) -> Result<Existing, Diagnostics> {
    let existing = oidc_provider::existing(aws, cfg, issuer).await?;
    refuse_existing_bucket(aws, bucket, "issuer", &cfg.name).await?;
    Ok(existing)
}

/// A bucket of the name is someone's already (S3 names are global): a new
/// site refuses it, naming the import that takes it over when it is ours.
pub(crate) async fn refuse_existing_bucket(
    aws: &Aws<'_>,
    bucket: &str,
    what: &str,
    name: &str,
) -> Result<(), Diagnostics> {
    if !bucket::exists(aws, bucket).await? {
        return Ok(());
    }
    Err(Diagnostic::error(
        "Bucket already exists",
        format!("The bucket {bucket} exists already. Import the {what} (`terraform import <address> {name}`) or choose another name."),
    )
    .at(AttrPath::root("name"))
    .into())
}

async fn make(
    aws: &Aws<'_>,
    cfg: &Config,
    bucket: &str,
    issuer: &str,
    caller_reference: &str,
    adopt: Option<OidcProvider>,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    let publish = Some(Publish { cfg, issuer });
    Box::pin(make_site(
        aws,
        &cfg.site,
        bucket,
        caller_reference,
        publish,
        made,
    ))
    .await?;
    made.oidc_provider_arn = Some(oidc_provider::create(aws, cfg, issuer, adopt).await?);
    Ok(())
}

/// The issuer whose documents a new site's bucket gets (none for a host).
#[derive(Clone, Copy)]
pub(crate) struct Publish<'a> {
    pub cfg: &'a Config,
    pub issuer: &'a str,
}

/// The site's parts: the bucket (with the documents, when given) and, with
/// CloudFront, the OAC, the certificate, the distribution and the records.
pub(crate) async fn make_site(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    caller_reference: &str,
    publish: Option<Publish<'_>>,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    match site.hosting {
        Hosting::S3 => Box::pin(make_s3(aws, site, bucket, publish, made)).await,
        Hosting::CloudFront => {
            Box::pin(make_cloudfront(
                aws,
                site,
                bucket,
                caller_reference,
                publish,
                made,
            ))
            .await
        }
    }
}

/// The bucket is recorded before CreateBucket is sent: a Stop or the
/// deadline during the call must not lose a bucket AWS may have made
/// (deleting a bucket that is not there is success). A definite refusal
/// un-records it.
async fn make_bucket(aws: &Aws<'_>, bucket: &str, made: &mut Made) -> Result<(), Diagnostics> {
    made.bucket = Some(bucket.to_string());
    let r = aws.ctx.run(bucket::create(aws, bucket)).await?;
    if r.is_err() {
        made.bucket = None;
    }
    r.context("Cannot create the bucket")
}

/// The documents go in before versioning is enabled: objects written while
/// that first enabling propagates may answer 404 NoSuchKey for up to 15
/// minutes (PutBucketVersioning, S3 API Reference).
async fn fill_bucket(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    publish: Option<Publish<'_>>,
) -> Result<(), Diagnostics> {
    if let Some(p) = publish {
        documents::put(aws, p.cfg, bucket, p.issuer, &p.cfg.jwks).await?;
    }
    bucket::configure(aws, site, bucket).await?;
    bucket::put_tags(aws, site, bucket).await
}

async fn make_s3(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    publish: Option<Publish<'_>>,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    make_bucket(aws, bucket, made).await?;
    fill_bucket(aws, site, bucket, publish).await?;
    let policy = desired::public_bucket_policy(bucket, aws.id, site.shared);
    bucket::put_policy(aws, site, bucket, &policy).await?;
    if let Some(p) = publish {
        made.warnings
            .extend(Box::pin(checks::world_readable(aws.ctx, p.issuer)).await?);
    }
    Ok(())
}

async fn make_cloudfront(
    aws: &Aws<'_>,
    site: &Site,
    bucket: &str,
    caller_reference: &str,
    publish: Option<Publish<'_>>,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    // Independent of each other: at once. The OAC and the certificate need
    // not be recorded before their calls: delete finds them by name and tag.
    // One idempotency token per create: a later re-create gets a new
    // certificate. The bucket is recorded first, as in `make_bucket`.
    made.bucket = Some(bucket.to_string());
    let (b, o, c) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(bucket::create(aws, bucket)),
                Box::pin(oac::create(aws, &site.name)),
                Box::pin(certificate::obtain(aws, site, caller_reference)),
            )
        })
        .await?;
    if b.is_err() {
        made.bucket = None;
    }
    made.oac_id = o.as_ref().ok().cloned();
    made.certificate_arn = c.as_ref().ok().cloned();
    b.context("Cannot create the bucket")?;
    let oac_id = o.context("Cannot create the Origin Access Control")?;
    let cert = c.context("Cannot request the certificate")?;

    let (filled, records) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(fill_bucket(aws, site, bucket, publish)),
                Box::pin(certificate::validation_records(aws, &cert)),
            )
        })
        .await?;
    filled?;
    made.validation = records?;
    certificate::issue(aws, site, &cert, &made.validation).await?;

    let dist = distribution::create(aws, site, bucket, &oac_id, &cert, caller_reference).await?;
    made.distribution = Some(dist.clone());
    let policy = desired::cloudfront_bucket_policy(bucket, aws.id, &dist.arn);
    bucket::put_policy(aws, site, bucket, &policy).await?;
    let domain = site.domain.clone().unwrap_or_default();
    dns::upsert(
        aws,
        site,
        &desired::alias_records(&domain, &dist.domain_name),
    )
    .await
    .context("Cannot create the A/AAAA alias records")?;
    distribution::wait_deployed(aws, site, &dist.id).await
}

/// The state after a create: what was made; what was not reached is null.
fn state_after(
    cfg: &Config,
    planned: IssuerModel,
    id: &Identity,
    bucket: &str,
    issuer: &str,
    made: &Made,
) -> IssuerModel {
    let mut s = planned;
    s.id = Tf::Known(cfg.name.clone());
    set_issuer_attrs(&mut s, issuer, &cfg.jwks, cfg);
    s.retained_keys = Tf::Known(vec![]);
    s.oidc_provider_arn = made.oidc_provider_arn.clone().into();
    s.with_site(|site| record_made(site, &cfg.site, id, bucket, made));
    // A partial create: whatever is still unknown was not made.
    s.null_unknown_computed();
    s
}

/// The site's attributes after a create: what was made.
pub(crate) fn record_made(
    s: &mut SiteState,
    site: &Site,
    id: &Identity,
    bucket: &str,
    made: &Made,
) {
    s.bucket = made.bucket.clone().into();
    s.region = Tf::Known(id.region.clone());
    if site.hosting == Hosting::S3 {
        let policy = desired::public_bucket_policy(bucket, id, site.shared);
        s.bucket_settings = Tf::Known(desired::bucket_settings(site.hosting, &policy));
        s.clear_cloudfront();
        return;
    }
    s.certificate_arn = made.certificate_arn.clone().into();
    s.origin_access_control_id = made.oac_id.clone().into();
    let Some(d) = &made.distribution else {
        return;
    };
    s.distribution_id = Tf::Known(d.id.clone());
    s.distribution_domain_name = Tf::Known(d.domain_name.clone());
    s.distribution_settings = Tf::Known(distribution::settings(d, site.shared));
    let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
    s.bucket_settings = Tf::Known(desired::bucket_settings(site.hosting, &policy));
    let domain = site.domain.as_deref().unwrap_or_default();
    s.dns_records = Tf::Known(desired::dns_records(
        domain,
        &d.domain_name,
        &made.validation,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_create_records_what_was_made_and_nothing_else() {
        let pem = include_str!("../../oidc/testdata/rsa2048.pub.pem");
        let jwks =
            crate::oidc::Jwks::from_public_keys(crate::oidc::parse_public_keys_pem(pem).unwrap())
                .unwrap();
        let config = IssuerModel {
            name: Tf::Known("prod".into()),
            jwks: Tf::Known(tfplugin::Json::parse(jwks.canonical_json()).unwrap()),
            domain: Tf::Known("oidc.example.com".into()),
            route53_zone_id: Tf::Known("Z0123456789ABC".into()),
            ..IssuerModel::default()
        };
        let mut planned = config.clone();
        planned.apply_defaults(&config);
        planned.mark_unknown_computed(&config, false);
        let cfg = Config::from_model(&planned).unwrap();
        let id = Identity::from_caller_arn(
            "123456789012",
            "arn:aws:iam::123456789012:user/x",
            "eu-west-1",
        );
        let made = Made {
            bucket: Some("prod-oidc-123456789012".into()),
            certificate_arn: Some("arn:aws:acm:us-east-1:123456789012:certificate/c".into()),
            ..Made::default()
        };
        assert!(!made.nothing());
        let s = state_after(
            &cfg,
            planned,
            &id,
            "prod-oidc-123456789012",
            "https://oidc.example.com",
            &made,
        );
        assert_eq!(s.bucket.as_deref(), Some("prod-oidc-123456789012"));
        assert_eq!(
            s.certificate_arn.as_deref(),
            made.certificate_arn.as_deref()
        );
        // Not reached: null, not unknown (Terraform refuses unknown after apply).
        assert!(
            s.distribution_id.is_null()
                && s.oidc_provider_arn.is_null()
                && s.origin_access_control_id.is_null()
        );
        assert!(s.dns_records.is_null() && s.distribution_settings.is_null());
        assert_eq!(s.issuer_url.as_deref(), Some("https://oidc.example.com"));
        assert!(Made::default().nothing());
    }
}
