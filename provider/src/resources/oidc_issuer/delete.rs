//! Destroy: refuse first when the bucket holds objects we did not write,
//! then delete who trusts the issuer, the CloudFront parts, and the bucket
//! last. Parts a partial create did not record are found by name, tag or
//! comment.

use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics};

use super::desired;
use super::model::{Hosting, IssuerModel};
use super::private::Private;
use super::{aws_error, interrupted, OidcIssuer};
use crate::aws::{acm, cloudfront, has_code, iam, retry_while, route53, s3, AwsClients};

impl OidcIssuer {
    pub(super) async fn delete(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        prior: &IssuerModel,
        private: Option<Private>,
    ) -> Result<(), Diagnostics> {
        let name = prior.name.as_deref().unwrap_or_default().to_string();
        let id = match &private {
            Some(p) => p.identity(),
            None => self.identity(clients).await?,
        };
        let hosting = prior.hosting_mode();
        let bucket = prior
            .bucket
            .known()
            .cloned()
            .unwrap_or_else(|| desired::bucket_name(&name, &id.account_id));

        // Refuse before deleting anything: a refused destroy must leave the
        // issuer whole (roles that trust it keep working).
        let bucket_exists = s3::bucket_exists(&clients.s3, &bucket)
            .await
            .map_err(|e| aws_error("Cannot read the bucket", e))?;
        if bucket_exists && prior.force_destroy.known() != Some(&true) {
            let versions = s3::list_object_versions(&clients.s3, &bucket)
                .await
                .map_err(|e| aws_error("Cannot list the bucket", e))?;
            let foreign: Vec<&str> = versions
                .iter()
                .map(|v| v.key.as_str())
                .filter(|k| *k != desired::DISCOVERY_KEY && *k != desired::JWKS_KEY)
                .collect();
            if let Some(example) = foreign.first() {
                return Err(Diagnostic::error(
                    "Bucket holds objects this provider did not write",
                    format!(
                        "The bucket {bucket} holds {} object version(s) besides the issuer's documents (e.g. {example:?}). \
                         Nothing was deleted. Remove them, or set force_destroy = true and apply before destroying.",
                        foreign.len(),
                    ),
                )
                .at(AttrPath::root("force_destroy"))
                .into());
            }
        }

        // Who trusts the issuer goes first.
        let provider_arn = match prior.oidc_provider_arn.as_deref() {
            Some(a) => Some(a.to_string()),
            // Not recorded: the provider at the issuer's ARN is deleted only
            // when it carries our irsa:name (someone may have made it since).
            None => match prior.issuer_url.as_deref() {
                Some(i) => {
                    let arn = iam::oidc_provider_arn(
                        &id.account_id,
                        &id.partition,
                        i.trim_start_matches("https://"),
                    );
                    iam::get_oidc_provider(&clients.iam, &arn)
                        .await
                        .map_err(|e| aws_error("Cannot read the IAM OIDC provider", e))?
                        .filter(|p| p.tags.get(desired::NAME_TAG) == Some(&name))
                        .map(|p| p.arn)
                }
                None => None,
            },
        };
        if let Some(arn) = provider_arn {
            iam::delete_oidc_provider(&clients.iam, &arn)
                .await
                .map_err(|e| aws_error("Cannot delete the IAM OIDC provider", e))?;
        }

        if hosting == Hosting::CloudFront {
            let zone = prior
                .route53_zone_id
                .as_deref()
                .unwrap_or_default()
                .to_string();
            let domain = prior.domain.as_deref().unwrap_or_default().to_string();
            // The certificate, found by tag if a partial create lost its ARN.
            let cert_arn = match prior.certificate_arn.as_deref() {
                Some(a) => Some(a.to_string()),
                None => {
                    acm::find_certificate_by_tag(&clients.acm, &domain, desired::NAME_TAG, &name)
                        .await
                        .map_err(|e| aws_error("Cannot look for the certificate", e))?
                }
            };
            // The validation record, from ACM or, with the certificate
            // gone, from what create recorded.
            let described = match &cert_arn {
                Some(arn) => acm::describe_certificate(&clients.acm, arn)
                    .await
                    .map_err(|e| aws_error("Cannot read the certificate", e))?
                    .map(|c| c.validation_records),
                None => None,
            };
            let validation = described.unwrap_or_else(|| {
                private
                    .as_ref()
                    .map(|p| p.validation_records())
                    .unwrap_or_default()
            });
            let dist_id = match prior.distribution_id.as_deref() {
                Some(d) => Some(d.to_string()),
                None => cloudfront::find_distribution_by_comment(
                    &clients.cloudfront,
                    &desired::distribution_comment(&name),
                )
                .await
                .map_err(|e| aws_error("Cannot look for the distribution", e))?,
            };
            let dist_domain = match (prior.distribution_domain_name.as_deref(), &dist_id) {
                (Some(d), _) => Some(d.to_string()),
                (None, Some(id)) => cloudfront::get_distribution(&clients.cloudfront, id)
                    .await
                    .map_err(|e| aws_error("Cannot read the distribution", e))?
                    .map(|d| d.domain_name),
                (None, None) => None,
            };
            if !zone.is_empty() && !domain.is_empty() {
                // Only records that still hold what we wrote: A/AAAA aliasing
                // our distribution, and the validation CNAME unless another
                // certificate for the name shares it (ACM reuses it).
                let mut records = match &dist_domain {
                    Some(d) => desired::alias_records(&domain, d),
                    None => vec![],
                };
                let shared = acm::other_certificate_for(&clients.acm, &domain, cert_arn.as_deref())
                    .await
                    .map_err(|e| aws_error("Cannot list the certificates", e))?;
                if shared {
                    tracing::info!(target: "irsa::oidc_issuer", domain = %domain, "another certificate for the domain shares the validation record: keeping it");
                } else {
                    records.extend(desired::validation_records(&validation));
                }
                let foreign =
                    route53::delete_records_if_ours(&clients.route53, &zone, &records, ctx)
                        .await
                        .map_err(|e| aws_error("Cannot delete the DNS records", e))?;
                for r in foreign {
                    tracing::warn!(target: "irsa::oidc_issuer", name = %r.name, rtype = %r.rtype, "record no longer holds the issuer's value: left alone");
                }
            }
            if let Some(d) = dist_id {
                ctx.run(cloudfront::delete_distribution(
                    &clients.cloudfront,
                    &d,
                    ctx,
                    true,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot delete the CloudFront distribution", e))?;
            }
            let oac = match prior.origin_access_control_id.as_deref() {
                Some(o) => Some(o.to_string()),
                None => cloudfront::find_origin_access_control(
                    &clients.cloudfront,
                    &desired::oac_name(&name),
                )
                .await
                .map_err(|e| aws_error("Cannot look for the Origin Access Control", e))?,
            };
            if let Some(o) = oac {
                // Still "in use" for a while after its distribution is gone
                // (hashicorp/terraform-provider-aws#28595): until the deadline.
                retry_while(
                    ctx,
                    |e| has_code(e, "OriginAccessControlInUse"),
                    None,
                    || cloudfront::delete_origin_access_control(&clients.cloudfront, &o),
                )
                .await
                .map_err(|e| aws_error("Cannot delete the Origin Access Control", e))?;
            }
            if let Some(arn) = cert_arn {
                acm::delete_certificate(&clients.acm, &arn, ctx)
                    .await
                    .map_err(|e| aws_error("Cannot delete the certificate", e))?;
            }
        }

        // The bucket last: empty it of every version we wrote.
        if bucket_exists {
            s3::delete_all_object_versions(&clients.s3, &bucket)
                .await
                .map_err(|e| aws_error("Cannot empty the bucket", e))?;
            s3::delete_bucket(&clients.s3, &bucket)
                .await
                .map_err(|e| aws_error("Cannot delete the bucket", e))?;
        }
        Ok(())
    }
}
