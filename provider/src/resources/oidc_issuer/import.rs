//! Import: an issuer rebuilt from AWS knowing only its name (the bucket's
//! tags say how it is hosted and in which zone), then refreshed.

use tfplugin::{Diagnostic, Diagnostics, ErrorContext, Json, Model, Tf};

use super::desired;
use super::model::{Hosting, IssuerModel, Ttl, TtlModel, DEFAULT_TTL};
use super::parts::{bucket, distribution, oidc_provider, Aws};
use super::private::Private;
use super::refresh::refresh;
use crate::aws::{cloudfront, s3};
use crate::oidc::Jwks;

/// The state of the issuer named `name`, with its bookkeeping.
pub(super) async fn import(
    aws: &Aws<'_>,
    name: &str,
) -> Result<(IssuerModel, Private), Diagnostics> {
    let bucket_name = desired::bucket_name(name, &aws.id.account_id);
    let not_found = || {
        Diagnostics::from(Diagnostic::error(
            "No such issuer",
            format!(
                "There is no issuer named {name:?} in account {}: the bucket {bucket_name} does not exist.",
                aws.id.account_id
            ),
        ))
    };
    if !bucket::exists(aws, &bucket_name).await? {
        return Err(not_found());
    }
    let tags = s3::get_bucket_tags(&aws.clients.s3, &bucket_name)
        .await
        .context("Cannot read the bucket's tags")?;
    if tags.get(desired::NAME_TAG).map(String::as_str) != Some(name) {
        return Err(Diagnostic::error(
            "Not an issuer bucket",
            format!("The bucket {bucket_name} is not tagged {}={name}: it was not made by this provider.", desired::NAME_TAG),
        )
        .into());
    }
    let (published, max_age) = published_keys(aws, &bucket_name).await?;
    let (hosting, zone) = bucket::hosting_of_tags(&tags);
    let mut v = base_state(
        name,
        hosting,
        &published,
        &bucket_name,
        &aws.id.region,
        max_age,
    )?;
    let mut caller_reference = format!("irsa-{name}");
    let (issuer, distribution) = locate(aws, name, &bucket_name, hosting).await?;
    if let Some(d) = distribution {
        caller_reference = d.spec.caller_reference.clone();
        v.domain = Tf::Known(d.spec.aliases.first().cloned().unwrap_or_default());
        v.route53_zone_id = zone.into();
        v.distribution_id = Tf::Known(d.id.clone());
        v.certificate_arn = d.spec.certificate_arn.clone().into();
        v.origin_access_control_id = Tf::Known(d.spec.origin_access_control_id.clone());
    }
    v.issuer_url = Tf::Known(issuer.clone());
    v.oidc_provider_url = Tf::Known(desired::host_path(&issuer).to_string());
    v.jwks_uri = Tf::Known(desired::jwks_uri(&issuer));
    v.discovery_document = Tf::Known(crate::oidc::discovery_document(&issuer, &published));
    let provider = oidc_provider::find_any(aws, &issuer).await?;
    v.oidc_provider_arn = provider.as_ref().map(|p| p.arn.clone()).into();
    v.client_ids = Tf::list(provider.map(|p| p.client_ids).unwrap_or_default());
    let user = desired::user_tags(&tags);
    if !user.is_empty() {
        v.tags = Tf::map_of(user);
    }
    let mut private = Private::new(aws.id, caller_reference);
    match refresh(aws, v, &mut private).await? {
        Some(state) => Ok((state, private)),
        None => Err(not_found()),
    }
}

/// The URL of the issuer named `name` (its bucket `bucket_name`) and, with
/// CloudFront hosting, its distribution (whose alias is the issuer's host).
pub(super) async fn locate(
    aws: &Aws<'_>,
    name: &str,
    bucket_name: &str,
    hosting: Hosting,
) -> Result<(String, Option<cloudfront::Distribution>), Diagnostics> {
    match hosting {
        Hosting::S3 => Ok((
            format!("https://{}", desired::bucket_host(bucket_name, aws.id)),
            None,
        )),
        Hosting::CloudFront => {
            let no_distribution = || {
                Diagnostics::from(Diagnostic::error(
                    "Issuer has no distribution",
                    format!(
                        "No CloudFront distribution is commented {:?}.",
                        desired::distribution_comment(name)
                    ),
                ))
            };
            let id = distribution::find(aws, None, name)
                .await?
                .ok_or_else(no_distribution)?;
            let d = cloudfront::get_distribution(&aws.clients.cloudfront, &id)
                .await
                .context("Cannot read the distribution")?
                .ok_or_else(no_distribution)?;
            let domain = d.spec.aliases.first().cloned().unwrap_or_default();
            Ok((format!("https://{domain}"), Some(d)))
        }
    }
}

/// The JWKS the bucket publishes, and the documents' max-age (S3 hosting
/// has no distribution: the max-age is the TTL).
async fn published_keys(aws: &Aws<'_>, bucket_name: &str) -> Result<(Jwks, i64), Diagnostics> {
    let jwks_obj = s3::get_object(&aws.clients.s3, bucket_name, desired::JWKS_KEY)
        .await
        .context("Cannot read the JWKS")?
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Issuer has no JWKS",
                format!("{bucket_name} holds no {}.", desired::JWKS_KEY),
            ))
        })?;
    let published = crate::oidc::parse_jwks(&String::from_utf8_lossy(&jwks_obj.body))
        .context("The published JWKS is unusable")?;
    let max_age = jwks_obj
        .cache_control
        .as_deref()
        .and_then(|cc| {
            cc.split(',')
                .find_map(|p| p.trim().strip_prefix("max-age=")?.parse::<i64>().ok())
        })
        .unwrap_or(DEFAULT_TTL.default);
    Ok((published, max_age))
}

/// What the name and the bucket say, the arguments at their defaults.
fn base_state(
    name: &str,
    hosting: Hosting,
    published: &Jwks,
    bucket_name: &str,
    region: &str,
    max_age: i64,
) -> Result<IssuerModel, Diagnostics> {
    let canonical =
        Json::parse(published.canonical_json()).context("The published JWKS is unusable")?;
    let config = IssuerModel {
        name: Tf::Known(name.to_string()),
        hosting: Tf::Known(hosting),
        jwks: Tf::Known(canonical),
        ..IssuerModel::default()
    };
    let mut v = config.clone();
    v.apply_defaults(&config);
    v.id = Tf::Known(name.to_string());
    v.published_jwks = Tf::Known(published.canonical_json());
    v.published_kids = Tf::Known(published.kids());
    v.retained_keys = Tf::Known(vec![]);
    v.bucket = Tf::Known(bucket_name.to_string());
    v.region = Tf::Known(region.to_string());
    v.thumbprints = Tf::list(vec![]);
    v.adopt_existing_oidc_provider = Tf::Known(false);
    v.cache_ttl = Tf::Known(TtlModel::from(Ttl {
        default: max_age,
        ..DEFAULT_TTL
    }));
    if hosting == Hosting::S3 {
        v.price_class = Tf::Null;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imported_issuer_starts_from_the_declared_defaults() {
        let pem = include_str!("../../oidc/testdata/rsa2048.pub.pem");
        let jwks =
            Jwks::from_public_keys(crate::oidc::parse_public_keys_pem(pem).unwrap()).unwrap();
        let s3 = base_state("prod", Hosting::S3, &jwks, "prod-oidc-1", "eu-west-1", 600).unwrap();
        assert_eq!(s3.key_retention.known().map(|d| d.as_str()), Some("24h"));
        assert_eq!(
            s3.client_ids.known_items(),
            Some(vec!["sts.amazonaws.com".to_string()])
        );
        assert_eq!(s3.force_destroy.known(), Some(&false));
        assert_eq!(s3.wait_for_deployment.known(), Some(&true));
        assert!(s3.price_class.is_null(), "S3 hosting has none");
        assert_eq!(
            s3.cache_ttl.known().unwrap().default.known(),
            Some(&600),
            "the documents' max-age"
        );
        let cf = base_state(
            "prod",
            Hosting::CloudFront,
            &jwks,
            "prod-oidc-1",
            "eu-west-1",
            3600,
        )
        .unwrap();
        assert!(
            cf.price_class.is_null(),
            "read from the distribution by refresh"
        );
        assert_eq!(cf.published_kids.known().map(Vec::len), Some(1));
    }
}
