//! Create: the checks that nothing is in the way, then the parts in
//! dependency order (independent ones at the same time). A create that
//! fails returns what it made, so the next run (the resource is then
//! tainted) removes it.

use tfplugin::resource::{Failed, Outcome, Saved};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, ErrorContext, Model, Tf};

use super::checks;
use super::desired::{self, Identity};
use super::model::{self, Config, Hosting, IssuerModel};
use super::parts::oidc_provider::Existing;
use super::parts::{bucket, certificate, distribution, dns, documents, oac, oidc_provider, Aws};
use super::private::Private;
use super::{clear_cloudfront_attrs, set_issuer_attrs};
use crate::aws::acm::ValidationRecord;
use crate::aws::cloudfront::Distribution;
use crate::aws::iam::OidcProvider;

/// The parts made so far; on failure they go to state so the next run
/// (the resource is then tainted) removes them.
#[derive(Default)]
struct Made {
    bucket: Option<String>,
    oac_id: Option<String>,
    certificate_arn: Option<String>,
    validation: Vec<ValidationRecord>,
    distribution: Option<Distribution>,
    oidc_provider_arn: Option<String>,
    /// Said with a successful create (e.g. the public read could not be checked).
    warnings: Diagnostics,
}

impl Made {
    fn nothing(&self) -> bool {
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
    let bucket = desired::bucket_name(&cfg.name, &aws.id.account_id);
    let issuer = desired::issuer_url(cfg, &bucket, aws.id);
    let adopt = existing_parts(aws, cfg, &issuer, &bucket).await?;
    let mut private = Private::new(aws.id, distribution::caller_reference(&cfg.name));
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
    model::check_hosting_partition(cfg.hosting, aws.id.partition).map_err(|why| {
        Diagnostics::from(
            Diagnostic::error("CloudFront hosting not available", why)
                .at(AttrPath::root("hosting")),
        )
    })?;
    checks::zone(aws.ctx, aws.clients, cfg).await?;
    if cfg.hosting == Hosting::S3 {
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
    if bucket::exists(aws, bucket).await? {
        return Err(Diagnostic::error(
            "Bucket already exists",
            format!("The bucket {bucket} exists already. Import the issuer (`terraform import <address> {}`) or choose another name.", cfg.name),
        )
        .at(AttrPath::root("name"))
        .into());
    }
    Ok(existing)
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
    match cfg.hosting {
        Hosting::S3 => Box::pin(make_s3(aws, cfg, bucket, issuer, made)).await?,
        Hosting::CloudFront => {
            Box::pin(make_cloudfront(
                aws,
                cfg,
                bucket,
                issuer,
                caller_reference,
                made,
            ))
            .await?
        }
    }
    made.oidc_provider_arn = Some(oidc_provider::create(aws, cfg, issuer, adopt).await?);
    Ok(())
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
    cfg: &Config,
    bucket: &str,
    issuer: &str,
) -> Result<(), Diagnostics> {
    documents::put(aws, cfg, bucket, issuer, &cfg.jwks).await?;
    bucket::configure(aws, cfg, bucket).await?;
    bucket::put_tags(aws, cfg, bucket).await
}

async fn make_s3(
    aws: &Aws<'_>,
    cfg: &Config,
    bucket: &str,
    issuer: &str,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    make_bucket(aws, bucket, made).await?;
    fill_bucket(aws, cfg, bucket, issuer).await?;
    bucket::put_policy(
        aws,
        cfg,
        bucket,
        &desired::public_bucket_policy(bucket, aws.id),
    )
    .await?;
    made.warnings
        .extend(Box::pin(checks::world_readable(aws.ctx, issuer)).await?);
    Ok(())
}

async fn make_cloudfront(
    aws: &Aws<'_>,
    cfg: &Config,
    bucket: &str,
    issuer: &str,
    caller_reference: &str,
    made: &mut Made,
) -> Result<(), Diagnostics> {
    // Independent of each other: at once. The OAC and the certificate need
    // not be recorded before their calls: delete finds them by name and tag.
    // One idempotency token per create: a later re-create gets a new
    // certificate.
    // The bucket is recorded first, as in `make_bucket`.
    made.bucket = Some(bucket.to_string());
    let (b, o, c) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(bucket::create(aws, bucket)),
                Box::pin(oac::create(aws, &cfg.name)),
                Box::pin(certificate::obtain(aws, cfg, caller_reference)),
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
                Box::pin(fill_bucket(aws, cfg, bucket, issuer)),
                Box::pin(certificate::validation_records(aws, &cert)),
            )
        })
        .await?;
    filled?;
    made.validation = records?;
    certificate::issue(aws, cfg, &cert, &made.validation).await?;

    let dist = distribution::create(aws, cfg, bucket, &oac_id, &cert, caller_reference).await?;
    made.distribution = Some(dist.clone());
    let policy = desired::cloudfront_bucket_policy(bucket, aws.id, &dist.arn);
    bucket::put_policy(aws, cfg, bucket, &policy).await?;
    let domain = cfg.domain.clone().unwrap_or_default();
    dns::upsert(
        aws,
        cfg,
        &desired::alias_records(&domain, &dist.domain_name),
    )
    .await
    .context("Cannot create the A/AAAA alias records")?;
    distribution::wait_deployed(aws, cfg, &dist.id).await
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
    s.bucket = made.bucket.clone().into();
    s.region = Tf::Known(id.region.clone());
    match cfg.hosting {
        Hosting::S3 => {
            let policy = desired::public_bucket_policy(bucket, id);
            s.bucket_settings = Tf::Known(desired::bucket_settings(cfg.hosting, &policy));
            clear_cloudfront_attrs(&mut s);
        }
        Hosting::CloudFront => {
            s.certificate_arn = made.certificate_arn.clone().into();
            s.origin_access_control_id = made.oac_id.clone().into();
            s.distribution_id = made.distribution.as_ref().map(|d| d.id.clone()).into();
            s.distribution_domain_name = made
                .distribution
                .as_ref()
                .map(|d| d.domain_name.clone())
                .into();
            s.distribution_settings = made
                .distribution
                .as_ref()
                .map(distribution::settings)
                .into();
            s.bucket_settings = made
                .distribution
                .as_ref()
                .map(|d| {
                    let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
                    desired::bucket_settings(cfg.hosting, &policy)
                })
                .into();
            s.dns_records = made
                .distribution
                .as_ref()
                .map(|d| {
                    desired::dns_records(
                        cfg.domain.as_deref().unwrap_or_default(),
                        &d.domain_name,
                        &made.validation,
                    )
                })
                .into();
        }
    }
    // A partial create: whatever is still unknown was not made.
    s.null_unknown_computed();
    s
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
