//! Import: an issuer rebuilt from AWS knowing only its name (the bucket's
//! tags say how it is hosted and in which zone), then refreshed.

use tfplugin::{Ctx, Diagnostic, Diagnostics, Tf};

use super::desired;
use super::model::{self, Hosting, IssuerModel, TtlModel};
use super::private::Private;
use super::{aws_error, OidcIssuer, HOSTING_TAG, ZONE_TAG};
use crate::aws::{cloudfront, iam, s3, AwsClients};

impl OidcIssuer {
    /// Rebuilds the state of an issuer from AWS, knowing only its name.
    pub(super) async fn import_by_name(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        name: &str,
    ) -> Result<(IssuerModel, Private), Diagnostics> {
        let id = self.identity(clients).await?;
        let bucket = desired::bucket_name(name, &id.account_id);
        let not_found = || {
            Diagnostics::from(Diagnostic::error(
                "No such issuer",
                format!("There is no issuer named {name:?} in account {}: the bucket {bucket} does not exist.", id.account_id),
            ))
        };
        if !s3::bucket_exists(&clients.s3, &bucket)
            .await
            .map_err(|e| aws_error("Cannot read the bucket", e))?
        {
            return Err(not_found());
        }
        let tags = s3::get_bucket_tags(&clients.s3, &bucket)
            .await
            .map_err(|e| aws_error("Cannot read the bucket's tags", e))?;
        if tags.get(desired::NAME_TAG).map(String::as_str) != Some(name) {
            return Err(Diagnostic::error(
                "Not an issuer bucket",
                format!("The bucket {bucket} is not tagged {}={name}: it was not made by this provider.", desired::NAME_TAG),
            )
            .into());
        }
        let jwks_obj = s3::get_object(&clients.s3, &bucket, desired::JWKS_KEY)
            .await
            .map_err(|e| aws_error("Cannot read the JWKS", e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Issuer has no JWKS",
                    format!("{bucket} holds no {}.", desired::JWKS_KEY),
                ))
            })?;
        let published =
            crate::oidc::parse_jwks(&String::from_utf8_lossy(&jwks_obj.body)).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "The published JWKS is unusable",
                    e.to_string(),
                ))
            })?;
        let hosting = if tags.get(HOSTING_TAG).map(String::as_str) == Some("s3") {
            Hosting::S3
        } else {
            Hosting::CloudFront
        };
        let canonical = tfplugin::Json::parse(published.canonical_json()).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "The published JWKS is unusable",
                e.to_string(),
            ))
        })?;
        let mut v = IssuerModel {
            name: Tf::Known(name.to_string()),
            id: Tf::Known(name.to_string()),
            hosting: Tf::Known(hosting.as_str().to_string()),
            jwks: Tf::Known(canonical),
            published_jwks: Tf::Known(published.canonical_json()),
            published_kids: Tf::Known(published.kids()),
            retained_keys: Tf::Known(vec![]),
            bucket: Tf::Known(bucket.clone()),
            region: Tf::Known(id.region.clone()),
            key_retention: Tf::Known(model::DEFAULT_KEY_RETENTION.to_string()),
            force_destroy: Tf::Known(false),
            wait_for_deployment: Tf::Known(true),
            adopt_existing_oidc_provider: Tf::Known(false),
            thumbprints: Tf::list(vec![]),
            ..IssuerModel::default()
        };
        // S3 hosting has no distribution: the documents' max-age is the TTL.
        let max_age = jwks_obj
            .cache_control
            .as_deref()
            .and_then(|cc| {
                cc.split(',')
                    .find_map(|p| p.trim().strip_prefix("max-age=")?.parse::<i64>().ok())
            })
            .unwrap_or(model::DEFAULT_TTL.default);
        v.cache_ttl = Tf::Known(TtlModel::from(model::Ttl {
            default: max_age,
            ..model::DEFAULT_TTL
        }));
        let mut caller_reference = format!("irsa-{name}");
        let issuer = match hosting {
            Hosting::S3 => format!("https://{}", desired::bucket_host(&bucket, &id)),
            Hosting::CloudFront => {
                let dist_id = cloudfront::find_distribution_by_comment(
                    &clients.cloudfront,
                    &desired::distribution_comment(name),
                )
                .await
                .map_err(|e| aws_error("Cannot look for the distribution", e))?
                .ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error(
                        "Issuer has no distribution",
                        format!(
                            "No CloudFront distribution is commented {:?}.",
                            desired::distribution_comment(name)
                        ),
                    ))
                })?;
                let d = cloudfront::get_distribution(&clients.cloudfront, &dist_id)
                    .await
                    .map_err(|e| aws_error("Cannot read the distribution", e))?
                    .ok_or_else(not_found)?;
                let domain = d.spec.aliases.first().cloned().unwrap_or_default();
                caller_reference = d.spec.caller_reference.clone();
                v.domain = Tf::Known(domain.clone());
                v.route53_zone_id = tags.get(ZONE_TAG).cloned().into();
                v.distribution_id = Tf::Known(d.id.clone());
                v.certificate_arn = d.spec.certificate_arn.clone().into();
                v.origin_access_control_id = Tf::Known(d.spec.origin_access_control_id.clone());
                format!("https://{domain}")
            }
        };
        let host_path = issuer.trim_start_matches("https://").to_string();
        v.issuer_url = Tf::Known(issuer.clone());
        v.oidc_provider_url = Tf::Known(host_path.clone());
        v.jwks_uri = Tf::Known(format!("{issuer}/openid/v1/jwks"));
        v.discovery_document = Tf::Known(crate::oidc::discovery_document(&issuer, &published));
        let provider =
            iam::find_oidc_provider(&clients.iam, &id.account_id, &id.partition, &host_path)
                .await
                .map_err(|e| aws_error("Cannot read the IAM OIDC provider", e))?;
        v.oidc_provider_arn = provider.as_ref().map(|p| p.arn.clone()).into();
        v.client_ids = Tf::list(
            provider
                .as_ref()
                .map(|p| p.client_ids.clone())
                .unwrap_or_default(),
        );
        let user = desired::user_tags(&tags);
        if !user.is_empty() {
            v.tags = Tf::map_of(user);
        }
        let private = Private::new(&id, caller_reference);
        match self.refresh(ctx, clients, v, Some(private)).await? {
            (Some(state), p) => Ok((state, p)),
            (None, _) => Err(not_found()),
        }
    }
}
