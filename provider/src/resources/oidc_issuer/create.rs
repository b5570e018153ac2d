//! Create: checks that nothing is in the way, then the parts in dependency
//! order (independent ones at the same time). A create that fails returns
//! what it made, so the next run (the resource is then tainted) removes it.

use tfplugin::framework::ApplyResponse;
use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics, Tf, TfType, Value};

use super::desired::{self, Identity};
use super::model::{self, Config, Hosting, IssuerModel};
use super::private::Private;
use super::public_read;
use super::{
    aws_error, bucket_tags, clear_cloudfront_attrs, each_computed, interrupted, set_issuer_attrs,
    OidcIssuer,
};
use crate::aws::acm::ValidationRecord;
use crate::aws::{
    acm, cloudfront, iam, retry_while, route53, s3, AwsCallError, AwsClients, ErrorKind,
};
use crate::oidc::Jwks;

/// The parts made so far by a create; on failure they go to state so the
/// next run (the resource is then tainted) removes them.
#[derive(Default)]
struct Made {
    /// An OIDC provider of ours found at create, updated instead of made.
    adopt_provider: Option<iam::OidcProvider>,
    bucket: Option<String>,
    oac_id: Option<String>,
    certificate_arn: Option<String>,
    validation: Vec<ValidationRecord>,
    distribution: Option<cloudfront::Distribution>,
    oidc_provider_arn: Option<String>,
    /// Said with a successful create (e.g. the public read could not be checked).
    warnings: Diagnostics,
}

/// How long PutBucketPolicy's AccessDenied is retried right after the
/// bucket's public access block was relaxed (S3 hosting).
const POLICY_AFTER_ACCESS_BLOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

impl OidcIssuer {
    /// CloudFront hosting only in the `aws` partition, told by the region
    /// the provider uses (known without an AWS call).
    pub(super) async fn check_partition(&self, cfg: &Config) -> Result<(), Diagnostics> {
        if cfg.hosting != Hosting::CloudFront {
            return Ok(());
        }
        let clients = self.clients().await?;
        let region = clients
            .sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        model::check_hosting_partition(cfg.hosting, model::partition_of_region(&region)).map_err(
            |why| {
                Diagnostic::error(
                    "CloudFront hosting not available",
                    format!("The provider's region is {region}. {why}"),
                )
                .at(AttrPath::root("hosting"))
                .into()
            },
        )
    }

    /// CloudFront hosting needs a public zone that contains the domain.
    pub(super) async fn check_zone(&self, ctx: &Ctx, cfg: &Config) -> Result<(), Diagnostics> {
        let (Some(zone_id), Some(domain)) = (&cfg.route53_zone_id, &cfg.domain) else {
            return Ok(());
        };
        let clients = self.clients().await?;
        let zone = ctx
            .run(route53::get_hosted_zone(&clients.route53, zone_id))
            .await
            .map_err(interrupted)?
            .map_err(|e| aws_error("Cannot read the hosted zone", e))?;
        let path = AttrPath::root("route53_zone_id");
        let Some(zone) = zone else {
            return Err(Diagnostic::error(
                "Unknown hosted zone",
                format!("Route53 has no hosted zone {zone_id:?} in this account."),
            )
            .at(path)
            .into());
        };
        if zone.private {
            return Err(Diagnostic::error(
                "Private hosted zone",
                format!("Zone {zone_id} ({}) is private: AWS STS resolves the issuer on the public internet. Use a public zone.", zone.name),
            )
            .at(path)
            .into());
        }
        if !route53::zone_contains(&zone.name, domain) {
            return Err(Diagnostic::error(
                "Domain outside the hosted zone",
                format!(
                    "Zone {zone_id} is {:?}, which does not contain the domain {domain:?}.",
                    zone.name
                ),
            )
            .at(path)
            .into());
        }
        self.check_not_delegated(ctx, &clients, zone_id, &zone.name, domain)
            .await?;
        self.check_no_foreign_records(ctx, &clients, cfg, zone_id, domain)
            .await
    }

    /// Records for `domain` written into a zone that delegated a name
    /// between its apex and `domain` (an NS record set there) are not what
    /// the world sees: ACM would never validate and the issuer not resolve.
    async fn check_not_delegated(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        zone_id: &str,
        zone_name: &str,
        domain: &str,
    ) -> Result<(), Diagnostics> {
        for name in route53::names_below_apex(zone_name, domain) {
            let found = ctx
                .run(route53::list_records(
                    &clients.route53,
                    zone_id,
                    &name,
                    "NS",
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot read the DNS records", e))?;
            if let Some(ns) = found {
                let servers = match &ns.value {
                    route53::RecordValue::Values { values, .. } => values.join(", "),
                    route53::RecordValue::Alias { dns_name, .. } => dns_name.clone(),
                };
                return Err(Diagnostic::error(
                    "The domain is delegated to another zone",
                    format!(
                        "Zone {zone_id} ({zone_name}) delegates {name} to other name servers ({servers}), so records for \
                         {domain} written there are not what the world resolves: the certificate would never validate. \
                         Set route53_zone_id to the zone for {name}."
                    ),
                )
                .at(AttrPath::root("route53_zone_id"))
                .into());
            }
        }
        Ok(())
    }

    /// The A/AAAA records at `domain` must be free for our aliases: absent,
    /// or a CloudFront alias to no live distribution or to ours (left from
    /// an issuer whose distribution was deleted). Anything else belongs to
    /// someone else, and an UPSERT would repoint it.
    async fn check_no_foreign_records(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        zone_id: &str,
        domain: &str,
    ) -> Result<(), Diagnostics> {
        for rtype in ["A", "AAAA"] {
            let found = ctx
                .run(route53::list_records(
                    &clients.route53,
                    zone_id,
                    domain,
                    rtype,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot read the DNS records", e))?;
            let Some(record) = found else { continue };
            let what = match &record.value {
                route53::RecordValue::Alias {
                    dns_name,
                    hosted_zone_id,
                } if hosted_zone_id == route53::CLOUDFRONT_HOSTED_ZONE_ID => {
                    let owner = ctx
                        .run(cloudfront::find_distribution_by_domain_name(
                            &clients.cloudfront,
                            dns_name,
                        ))
                        .await
                        .map_err(interrupted)?
                        .map_err(|e| aws_error("Cannot list the distributions", e))?;
                    match owner {
                        None => continue,
                        Some((_, comment))
                            if comment == desired::distribution_comment(&cfg.name) =>
                        {
                            continue
                        }
                        Some((id, _)) => {
                            format!("an alias to the CloudFront distribution {id} ({dns_name})")
                        }
                    }
                }
                route53::RecordValue::Alias { dns_name, .. } => format!("an alias to {dns_name}"),
                route53::RecordValue::Values { values, .. } => values.join(", "),
            };
            return Err(Diagnostic::error(
                "The domain already has DNS records",
                format!(
                    "Zone {zone_id} already has an {rtype} record for {domain} ({what}), which this issuer did not make. \
                     Nothing was made: the issuer would overwrite it with its alias. Choose another `domain`, or remove that record."
                ),
            )
            .at(AttrPath::root("domain"))
            .into());
        }
        Ok(())
    }

    pub(super) async fn create(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        planned: IssuerModel,
    ) -> ApplyResponse {
        let fail_early = |d: Diagnostics| ApplyResponse {
            new_state: Value::Null,
            private: vec![],
            diagnostics: d,
        };
        let id = match self.identity(clients).await {
            Ok(i) => i,
            Err(d) => return fail_early(d),
        };
        // Checks before anything is made.
        if let Err(why) = model::check_hosting_partition(cfg.hosting, &id.partition) {
            return fail_early(
                Diagnostic::error("CloudFront hosting not available", why)
                    .at(AttrPath::root("hosting"))
                    .into(),
            );
        }
        if let Err(d) = self.check_zone(ctx, cfg).await {
            return fail_early(d);
        }
        if cfg.hosting == Hosting::S3 {
            if let Err(d) = self
                .check_account_public_access(ctx, clients, &id.account_id)
                .await
            {
                return fail_early(d);
            }
        }
        let bucket = desired::bucket_name(&cfg.name, &id.account_id);
        let issuer = desired::issuer_url(cfg, &bucket, &id);
        let host_path = issuer.trim_start_matches("https://").to_string();
        let mut adopt_provider = None;
        let mut adopted_foreign = false;
        match iam::find_oidc_provider(&clients.iam, &id.account_id, &id.partition, &host_path).await {
            // Ours, left behind when the bucket and distribution were deleted
            // out of band and the issuer dropped from state: take it back.
            Ok(Some(p)) if p.tags.get(desired::NAME_TAG) == Some(&cfg.name) => adopt_provider = Some(p),
            // Someone else's (e.g. the old module's), adopted on request: the
            // same ARN, so every role that trusts it keeps working.
            Ok(Some(p)) if cfg.adopt_existing_oidc_provider => {
                tracing::info!(target: "irsa::oidc_issuer", arn = %p.arn, "adopting the existing IAM OIDC provider");
                adopt_provider = Some(p);
                adopted_foreign = true;
            }
            Ok(Some(p)) => {
                return fail_early(
                    Diagnostic::error(
                        "OIDC provider already exists",
                        format!(
                            "IAM already has an OIDC provider for {issuer} ({}); an account holds one per URL. Nothing was made. \
                             To take it over with the same ARN (roles that trust it keep working), set \
                             `adopt_existing_oidc_provider = true`; destroying the issuer then deletes it. Otherwise import the \
                             issuer (`terraform import <address> {}`) or delete that provider.",
                            p.arn, cfg.name
                        ),
                    )
                    .at(AttrPath::root("adopt_existing_oidc_provider"))
                    .into(),
                )
            }
            Ok(None) => {}
            Err(e) => return fail_early(aws_error("Cannot check for an existing OIDC provider", e)),
        }
        match s3::bucket_exists(&clients.s3, &bucket).await {
            Ok(true) => {
                return fail_early(
                    Diagnostic::error(
                        "Bucket already exists",
                        format!("The bucket {bucket} exists already. Import the issuer (`terraform import <address> {}`) or choose another name.", cfg.name),
                    )
                    .at(AttrPath::root("name"))
                    .into(),
                )
            }
            Ok(false) => {}
            Err(e) => return fail_early(aws_error("Cannot check the bucket name", e)),
        }

        let mut private = Private::new(
            &id,
            format!(
                "irsa-{}-{}",
                cfg.name,
                time::OffsetDateTime::now_utc().unix_timestamp()
            ),
        );
        if adopted_foreign {
            private.adopted_oidc_provider = adopt_provider.as_ref().map(|p| p.arn.clone());
        }
        let mut made = Made {
            adopt_provider,
            ..Made::default()
        };
        // Boxed: the whole create is a large future (debug builds overflow
        // a worker thread's stack with it inline).
        let result = Box::pin(self.create_parts(
            ctx,
            clients,
            cfg,
            &id,
            &bucket,
            &issuer,
            &private.caller_reference,
            &mut made,
        ))
        .await;
        private.set_validation(&made.validation);
        let state = state_after_create(cfg, planned, &id, &bucket, &issuer, &made).to_value();
        match result {
            Ok(()) => ApplyResponse {
                new_state: state,
                private: private.encode(),
                diagnostics: made.warnings,
            },
            Err(d) => {
                let nothing_made = made.bucket.is_none()
                    && made.oac_id.is_none()
                    && made.certificate_arn.is_none();
                ApplyResponse {
                    new_state: if nothing_made { Value::Null } else { state },
                    private: private.encode(),
                    diagnostics: d,
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn create_parts(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        id: &Identity,
        bucket: &str,
        issuer: &str,
        caller_reference: &str,
        made: &mut Made,
    ) -> Result<(), Diagnostics> {
        let tags = desired::tags(cfg);
        let bucket_tags = bucket_tags(cfg);
        // Calls on the bucket right after CreateBucket may meet NoSuchBucket
        // or OperationAborted for a while: retried until the deadline.
        let settle = |e: &AwsCallError| s3::new_bucket_settling(e);

        // The bucket is recorded before CreateBucket is sent: a Stop or the
        // deadline during the call must not lose a bucket AWS may have made
        // (deleting a bucket that is not there is success). A definite
        // refusal un-records it.
        made.bucket = Some(bucket.to_string());
        let bucket_part = async {
            s3::create_bucket(&clients.s3, bucket, &id.region)
                .await
                .map_err(|e| aws_error("Cannot create the bucket", e))?;
            tracing::debug!(target: "irsa::oidc_issuer", bucket, "created the bucket");
            Ok::<_, Diagnostics>(())
        };
        // The documents go in before versioning is enabled: objects written
        // while that first enabling propagates may answer 404 NoSuchKey for
        // up to 15 minutes (PutBucketVersioning, S3 API Reference).
        let bucket_setup = Box::pin(async {
            self.put_documents(ctx, clients, cfg, bucket, issuer, &cfg.jwks)
                .await?;
            tracing::debug!(target: "irsa::oidc_issuer", bucket, "published the discovery document and JWKS");
            let setup = async {
                retry_while(ctx, settle, None, || {
                    s3::put_public_access_block(
                        &clients.s3,
                        bucket,
                        desired::public_access(cfg.hosting),
                    )
                })
                .await?;
                retry_while(ctx, settle, None, || {
                    s3::put_default_encryption(&clients.s3, bucket)
                })
                .await?;
                retry_while(ctx, settle, None, || {
                    s3::put_versioning(&clients.s3, bucket, true)
                })
                .await?;
                retry_while(ctx, settle, None, || {
                    s3::put_bucket_tags(&clients.s3, bucket, &bucket_tags)
                })
                .await
            };
            setup
                .await
                .map_err(|e| aws_error("Cannot configure the bucket", e))
        });
        let bucket_made = |r: &Result<(), Diagnostics>, made: &mut Made| {
            if r.is_err() {
                made.bucket = None;
            }
        };
        match cfg.hosting {
            Hosting::S3 => {
                let r = ctx.run(bucket_part).await.map_err(interrupted)?;
                bucket_made(&r, made);
                r?;
                ctx.run(bucket_setup).await.map_err(interrupted)??;
                let policy = desired::public_bucket_policy(bucket, id);
                // The access block was just relaxed: S3 may still refuse the
                // public policy with AccessDenied while that propagates
                // (AWS support's advice, env0/templates#258). Retried for
                // two minutes at most: the account's setting was checked
                // before anything was made, so a denial that stays is real
                // (an organisation policy) and must not wait for the deadline.
                ctx.run(retry_while(
                    ctx,
                    |e| settle(e) || e.kind == ErrorKind::AccessDenied,
                    Some(POLICY_AFTER_ACCESS_BLOCK_PATIENCE),
                    || s3::put_bucket_policy(&clients.s3, bucket, &policy),
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
                let warnings = Box::pin(public_read::check_world_readable(ctx, issuer)).await?;
                made.warnings.extend(warnings);
            }
            Hosting::CloudFront => {
                let domain = cfg.domain.clone().unwrap_or_default();
                let zone = cfg.route53_zone_id.clone().unwrap_or_default();
                let oac_name = desired::oac_name(&cfg.name);
                let oac_description = format!("irsa issuer {}", cfg.name);
                // The OAC and the certificate need not be recorded before
                // their calls: delete finds them by name and by tag.
                let oac_part = cloudfront::create_origin_access_control(
                    &clients.cloudfront,
                    &oac_name,
                    &oac_description,
                );
                let cert_part = async {
                    // A certificate of ours left behind (see adopt_provider) is reused.
                    if let Some(arn) = acm::find_certificate_by_tag(
                        &clients.acm,
                        &domain,
                        desired::NAME_TAG,
                        &cfg.name,
                    )
                    .await?
                    {
                        let usable = acm::describe_certificate(&clients.acm, &arn)
                            .await?
                            .is_some_and(|c| {
                                c.status == "ISSUED" || c.status == "PENDING_VALIDATION"
                            });
                        if usable {
                            return Ok(arn);
                        }
                    }
                    // One token per create: retries of this request are
                    // idempotent, a later re-create gets a new certificate.
                    let token =
                        acm::idempotency_token(&format!("{}:{caller_reference}", id.account_id));
                    let arn =
                        acm::request_certificate(&clients.acm, &domain, &token, &tags).await?;
                    Ok::<_, AwsCallError>(arn)
                };
                let (b, o, c) = ctx
                    .run(async {
                        tokio::join!(
                            Box::pin(bucket_part),
                            Box::pin(oac_part),
                            Box::pin(cert_part)
                        )
                    })
                    .await
                    .map_err(interrupted)?;
                bucket_made(&b, made);
                if let Ok(oac) = &o {
                    made.oac_id = Some(oac.clone());
                }
                if let Ok(arn) = &c {
                    made.certificate_arn = Some(arn.clone());
                }
                b?;
                let oac_id =
                    o.map_err(|e| aws_error("Cannot create the Origin Access Control", e))?;
                let cert_arn = c.map_err(|e| aws_error("Cannot request the certificate", e))?;

                let validate_cert = async {
                    let records =
                        acm::wait_for_validation_records(&clients.acm, &cert_arn, ctx).await?;
                    Ok::<_, AwsCallError>(records)
                };
                let (setup, records) = ctx
                    .run(async { tokio::join!(Box::pin(bucket_setup), Box::pin(validate_cert)) })
                    .await
                    .map_err(interrupted)?;
                setup?;
                let records = records.map_err(|e| {
                    aws_error("Cannot read the certificate's validation records", e)
                })?;
                made.validation = records.clone();
                let cname_records = desired::validation_records(&records);
                route53::upsert_records(&clients.route53, &zone, &cname_records, ctx)
                    .await
                    .map_err(|e| {
                        aws_error("Cannot create the certificate validation records", e)
                    })?;
                acm::wait_issued(&clients.acm, &cert_arn, ctx)
                    .await
                    .map_err(|e| aws_error("The certificate was not issued", e))?;

                let spec = desired::distribution_spec(
                    cfg,
                    bucket,
                    id,
                    &oac_id,
                    &cert_arn,
                    caller_reference,
                );
                // CloudFront may not know a certificate ACM has just issued
                // (InvalidViewerCertificate) for a while; retried until the
                // deadline (hashicorp/aws retries it too).
                let dist = ctx
                    .run(retry_while(
                        ctx,
                        cloudfront::certificate_not_yet_known,
                        None,
                        || cloudfront::create_distribution(&clients.cloudfront, &spec, &tags),
                    ))
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot create the CloudFront distribution", e))?;
                made.distribution = Some(dist.clone());
                tracing::debug!(target: "irsa::oidc_issuer", distribution = %dist.id, "created the distribution");
                let policy = desired::cloudfront_bucket_policy(bucket, id, &dist.arn);
                ctx.run(retry_while(ctx, settle, None, || {
                    s3::put_bucket_policy(&clients.s3, bucket, &policy)
                }))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
                let aliases = desired::alias_records(&domain, &dist.domain_name);
                route53::upsert_records(&clients.route53, &zone, &aliases, ctx)
                    .await
                    .map_err(|e| aws_error("Cannot create the A/AAAA alias records", e))?;
                // IAM reads the issuer's certificate when the OIDC provider
                // is created without thumbprints: only once the
                // distribution serves the domain.
                if cfg.wait_for_deployment {
                    cloudfront::wait_deployed(&clients.cloudfront, &dist.id, ctx)
                        .await
                        .map_err(|e| {
                            aws_error("The CloudFront distribution did not finish deploying", e)
                        })?;
                }
            }
        }
        let arn = match made.adopt_provider.take() {
            Some(p) => {
                iam::set_client_ids(&clients.iam, &p.arn, &p.client_ids, &cfg.client_ids)
                    .await
                    .map_err(|e| aws_error("Cannot update the client IDs", e))?;
                if !cfg.thumbprints.is_empty()
                    && !desired::same_items(&p.thumbprints, &cfg.thumbprints, true)
                {
                    iam::set_thumbprints(&clients.iam, &p.arn, &cfg.thumbprints)
                        .await
                        .map_err(|e| aws_error("Cannot update the thumbprints", e))?;
                }
                iam::set_tags(&clients.iam, &p.arn, &p.tags, &tags)
                    .await
                    .map_err(|e| aws_error("Cannot tag the OIDC provider", e))?;
                p.arn
            }
            None => ctx
                .run(iam::create_oidc_provider(
                    &clients.iam,
                    issuer,
                    &cfg.client_ids,
                    &cfg.thumbprints,
                    &tags,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot create the IAM OIDC provider", e))?,
        };
        tracing::debug!(target: "irsa::oidc_issuer", arn = %arn, "IAM trusts the issuer");
        made.oidc_provider_arn = Some(arn);
        Ok(())
    }

    pub(super) async fn put_documents(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        bucket: &str,
        issuer: &str,
        published: &Jwks,
    ) -> Result<(), Diagnostics> {
        let cc = desired::cache_control(cfg.cache_ttl);
        let [(k1, b1, t1), (k2, b2, t2)] = desired::documents(issuer, published);
        let (r1, r2) = ctx
            .run(async {
                tokio::join!(
                    retry_while(ctx, s3::new_bucket_settling, None, || s3::put_object(
                        &clients.s3,
                        bucket,
                        k1,
                        b1.clone().into_bytes(),
                        t1,
                        &cc
                    )),
                    retry_while(ctx, s3::new_bucket_settling, None, || s3::put_object(
                        &clients.s3,
                        bucket,
                        k2,
                        b2.clone().into_bytes(),
                        t2,
                        &cc
                    ))
                )
            })
            .await
            .map_err(interrupted)?;
        r1.map_err(|e| aws_error("Cannot publish the discovery document", e))?;
        r2.map_err(|e| aws_error("Cannot publish the JWKS", e))?;
        Ok(())
    }
}

/// The state after a create: what was made; what was not reached is null.
fn state_after_create(
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
            s.bucket_settings = Tf::Known(desired::bucket_settings(
                cfg.hosting,
                &desired::public_bucket_policy(bucket, id),
            ));
            clear_cloudfront_attrs(&mut s);
        }
        Hosting::CloudFront => {
            s.certificate_arn = made.certificate_arn.clone().into();
            s.origin_access_control_id = made.oac_id.clone().into();
            match &made.distribution {
                Some(d) => {
                    s.distribution_id = Tf::Known(d.id.clone());
                    s.distribution_domain_name = Tf::Known(d.domain_name.clone());
                    s.distribution_settings = Tf::Known(desired::distribution_settings(
                        &d.spec,
                        &d.fixed_settings_drift,
                    ));
                    let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
                    s.bucket_settings = Tf::Known(desired::bucket_settings(cfg.hosting, &policy));
                    s.dns_records = Tf::Known(desired::dns_records(
                        cfg.domain.as_deref().unwrap_or_default(),
                        &d.domain_name,
                        &made.validation,
                    ));
                }
                None => {
                    s.distribution_id = Tf::Null;
                    s.distribution_domain_name = Tf::Null;
                    s.distribution_settings = Tf::Null;
                    s.bucket_settings = Tf::Null;
                    s.dns_records = Tf::Null;
                }
            }
        }
    }
    // A partial create: whatever is still unknown was not made.
    each_computed!(&mut s, f => if f.is_unknown() { *f = Tf::Null });
    s
}
