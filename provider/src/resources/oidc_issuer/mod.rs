//! Resource `irsa_oidc_issuer`: the public OIDC issuer of a cluster on AWS.
//!
//! `model` holds the schema and configuration checks, `desired` the pure
//! computation of what AWS should hold; this file plans, and runs the AWS
//! calls in dependency order (independent parts concurrently). Drift in
//! parts that have no argument of their own shows in the computed maps
//! `documents`, `dns_records`, `distribution_settings` and `bucket_settings`:
//! Read records what AWS holds, Plan what it should hold, and a difference
//! is an update that repairs it.

pub mod desired;
pub mod model;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use self::desired::{Identity, Retained};
use self::model::{Config, Hosting, REPLACE_ON_CHANGE};
use crate::aws::acm::ValidationRecord;
use crate::aws::route53::RecordValue;
use crate::aws::{acm, cloudfront, iam, route53, s3, AwsCallError, AwsClients};
use crate::oidc::Jwks;
use crate::provider::ProviderState;
use tfplugin::framework::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics, Resource, Schema, Value};

const ZONE_TAG: &str = "irsa:route53-zone-id";
const HOSTING_TAG: &str = "irsa:hosting";

pub struct OidcIssuer {
    provider: Arc<ProviderState>,
}

impl OidcIssuer {
    pub fn new(provider: Arc<ProviderState>) -> OidcIssuer {
        OidcIssuer { provider }
    }

    async fn clients(&self) -> Result<Arc<AwsClients>, Diagnostics> {
        let configured = self.provider.configured()?;
        configured
            .aws()
            .await
            .map_err(|e| Diagnostics::from(Diagnostic::error("Cannot set up AWS clients", e)))
    }
}

/// Bookkeeping kept in Terraform's private state: what is needed to find
/// and compare the parts that have no attribute of their own.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct Private {
    account_id: String,
    partition: String,
    region: String,
    caller_reference: String,
    #[serde(default)]
    validation: Vec<ValidationRecordJson>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct ValidationRecordJson {
    name: String,
    rtype: String,
    value: String,
}

impl Private {
    fn parse(bytes: &[u8]) -> Option<Private> {
        serde_json::from_slice(bytes)
            .ok()
            .filter(|p: &Private| !p.account_id.is_empty())
    }
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
    fn identity(&self) -> Identity {
        Identity {
            account_id: self.account_id.clone(),
            partition: self.partition.clone(),
            region: self.region.clone(),
        }
    }
    fn validation_records(&self) -> Vec<ValidationRecord> {
        self.validation
            .iter()
            .map(|v| ValidationRecord {
                name: v.name.clone(),
                rtype: v.rtype.clone(),
                value: v.value.clone(),
            })
            .collect()
    }
    fn set_validation(&mut self, records: &[ValidationRecord]) {
        self.validation = records
            .iter()
            .map(|v| ValidationRecordJson {
                name: v.name.clone(),
                rtype: v.rtype.clone(),
                value: v.value.clone(),
            })
            .collect();
    }
}

fn aws_error(summary: &str, e: AwsCallError) -> Diagnostics {
    Diagnostic::error(summary, e.to_string()).into()
}

fn map_value(m: &BTreeMap<String, String>) -> Value {
    Value::Map(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::string(v)))
            .collect(),
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.elements()
        .map(|e| {
            e.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn retained_value(r: &[Retained]) -> Value {
    Value::List(
        r.iter()
            .map(|r| {
                Value::object([
                    ("kid", Value::string(&r.kid)),
                    ("removed_at", Value::string(&r.removed_at)),
                    ("expires_at", Value::string(&r.expires_at)),
                ])
            })
            .collect(),
    )
}

/// Fills the times the plan left unknown for keys this apply removes.
fn stamp_removed_keys(
    state: &mut Value,
    retention: std::time::Duration,
    now: time::OffsetDateTime,
) {
    let Some(items) = state.attr("retained_keys").elements().map(|i| i.to_vec()) else {
        return;
    };
    let stamped = items
        .into_iter()
        .map(|mut item| {
            if item.attr("removed_at").is_unknown() {
                item.set_attr("removed_at", Value::string(desired::rfc3339(now)));
                item.set_attr(
                    "expires_at",
                    Value::string(desired::rfc3339(now + retention)),
                );
            }
            item
        })
        .collect();
    state.set_attr("retained_keys", Value::List(stamped));
}

fn retained_from(v: &Value) -> Vec<Retained> {
    v.elements()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(Retained {
                        kid: i.attr("kid").as_str()?.to_string(),
                        removed_at: i.attr("removed_at").as_str()?.to_string(),
                        expires_at: i.attr("expires_at").as_str()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Fills the optional+computed arguments with their defaults.
fn with_defaults(mut v: Value, cfg: &Config, prior: &Value) -> Value {
    v.set_attr("hosting", Value::string(cfg.hosting.as_str()));
    v.set_attr("client_ids", Value::string_list(cfg.client_ids.clone()));
    // No thumbprints configured: IAM keeps (and on real AWS fills in) its
    // own, which we leave alone rather than fight.
    if v.attr("thumbprints").is_null() || v.attr("thumbprints").is_unknown() {
        let keep = prior.attr("thumbprints");
        v.set_attr(
            "thumbprints",
            if keep.is_null() {
                Value::List(vec![])
            } else {
                keep.clone()
            },
        );
    }
    v.set_attr("price_class", Value::opt_string(cfg.price_class.clone()));
    v.set_attr("cache_ttl", cfg.cache_ttl.to_value());
    if v.attr("key_retention").is_null() {
        v.set_attr("key_retention", Value::string(model::DEFAULT_KEY_RETENTION));
    }
    v.set_attr("force_destroy", Value::Bool(cfg.force_destroy));
    v.set_attr("wait_for_deployment", Value::Bool(cfg.wait_for_deployment));
    v.set_attr("id", Value::string(&cfg.name));
    v
}

const COMPUTED: [&str; 19] = [
    "issuer_url",
    "oidc_provider_url",
    "oidc_provider_arn",
    "jwks_uri",
    "bucket",
    "region",
    "distribution_id",
    "distribution_domain_name",
    "certificate_arn",
    "origin_access_control_id",
    "discovery_document",
    "published_jwks",
    "published_kids",
    "retained_keys",
    "documents",
    "dns_records",
    "distribution_settings",
    "bucket_settings",
    "id",
];

fn mark_unknown(v: &mut Value, attrs: &[&str]) {
    for a in attrs {
        v.set_attr(a, Value::unknown());
    }
}

/// The fingerprints of the documents as they should be published.
fn desired_documents(issuer: &str, published: &Jwks, cfg: &Config) -> BTreeMap<String, String> {
    let cc = desired::cache_control(cfg.cache_ttl);
    desired::documents(issuer, published)
        .into_iter()
        .map(|(key, body, ct)| {
            (
                key.to_string(),
                desired::document_fingerprint(body.as_bytes(), ct, &cc),
            )
        })
        .collect()
}

#[async_trait]
impl Resource for OidcIssuer {
    fn type_name(&self) -> &'static str {
        model::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        model::validate(config)
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> PlanResponse {
        if req.proposed_new_state.is_null() {
            return PlanResponse {
                planned_state: Value::Null,
                ..Default::default()
            };
        }
        let mut planned = req.proposed_new_state.clone();
        if !req.config.is_wholly_known() {
            // Wait for the values; everything computed may change.
            let prior_known = !req.prior_state.is_null();
            if !prior_known {
                mark_unknown(&mut planned, &COMPUTED);
            } else {
                mark_unknown(
                    &mut planned,
                    &[
                        "discovery_document",
                        "published_jwks",
                        "published_kids",
                        "retained_keys",
                        "documents",
                    ],
                );
            }
            return PlanResponse {
                planned_state: planned,
                planned_private: req.prior_private,
                ..Default::default()
            };
        }
        let cfg = match Config::from_value(&req.config) {
            Ok(c) => c,
            Err(d) => {
                return PlanResponse {
                    diagnostics: d,
                    ..Default::default()
                }
            }
        };
        planned = with_defaults(planned, &cfg, &req.prior_state);

        let replace: Vec<AttrPath> = if req.prior_state.is_null() {
            vec![]
        } else {
            REPLACE_ON_CHANGE
                .iter()
                .filter(|a| {
                    let before = req.prior_state.attr(a);
                    let after = planned.attr(a);
                    before != after
                })
                .map(|a| AttrPath::root(a))
                .collect()
        };

        let now = time::OffsetDateTime::now_utc();
        if req.prior_state.is_null() || !replace.is_empty() {
            // Create: what the configuration alone determines is known now.
            mark_unknown(&mut planned, &COMPUTED);
            planned.set_attr("id", Value::string(&cfg.name));
            let published = cfg.jwks.clone();
            planned.set_attr("published_jwks", Value::string(published.canonical_json()));
            planned.set_attr("published_kids", Value::string_list(published.kids()));
            planned.set_attr("retained_keys", Value::List(vec![]));
            if let Some(issuer) = desired::issuer_url_from_config(&cfg) {
                planned.set_attr("issuer_url", Value::string(&issuer));
                planned.set_attr(
                    "oidc_provider_url",
                    Value::string(issuer.trim_start_matches("https://")),
                );
                planned.set_attr(
                    "jwks_uri",
                    Value::string(format!("{issuer}/openid/v1/jwks")),
                );
                planned.set_attr(
                    "discovery_document",
                    Value::string(crate::oidc::discovery_document(&issuer, &published)),
                );
                planned.set_attr(
                    "documents",
                    map_value(&desired_documents(&issuer, &published, &cfg)),
                );
            }
            if cfg.hosting == Hosting::S3 {
                for a in [
                    "distribution_id",
                    "distribution_domain_name",
                    "certificate_arn",
                    "origin_access_control_id",
                    "dns_records",
                    "distribution_settings",
                ] {
                    planned.set_attr(a, Value::Null);
                }
            }
            if req.prior_state.is_null() {
                if let Err(d) = self.check_zone(ctx, &cfg).await {
                    return PlanResponse {
                        diagnostics: d,
                        ..Default::default()
                    };
                }
            }
            return PlanResponse {
                planned_state: planned,
                requires_replace: replace,
                ..Default::default()
            };
        }

        // Update in place.
        let prior = &req.prior_state;
        let private = Private::parse(&req.prior_private);
        let previous = prior
            .attr("published_jwks")
            .as_str()
            .and_then(|j| crate::oidc::parse_jwks(j).ok());
        let recorded = retained_from(prior.attr("retained_keys"));
        let (published, retained) = desired::retain_keys(
            &cfg.jwks,
            previous.as_ref(),
            &recorded,
            cfg.key_retention,
            now,
        );
        planned.set_attr("published_jwks", Value::string(published.canonical_json()));
        planned.set_attr("published_kids", Value::string_list(published.kids()));
        // Terraform plans again just before applying and wants the same
        // answer: the times of keys removed by this change are the apply's.
        let mut retained_planned = retained_value(&retained);
        if let Value::List(items) = &mut retained_planned {
            for item in items.iter_mut() {
                let kid = item.attr("kid").as_str().unwrap_or_default().to_string();
                if !recorded.iter().any(|r| r.kid == kid) {
                    item.set_attr("removed_at", Value::unknown());
                    item.set_attr("expires_at", Value::unknown());
                }
            }
        }
        planned.set_attr("retained_keys", retained_planned);
        if let Some(issuer) = prior.attr("issuer_url").as_str() {
            planned.set_attr(
                "discovery_document",
                Value::string(crate::oidc::discovery_document(issuer, &published)),
            );
            planned.set_attr(
                "documents",
                map_value(&desired_documents(issuer, &published, &cfg)),
            );
        }
        if prior.attr("oidc_provider_arn").is_null() {
            // Deleted out of band: recreated with the same ARN.
            planned.set_attr("oidc_provider_arn", Value::unknown());
        }
        if let (Some(private), Some(bucket)) = (&private, prior.attr("bucket").as_str()) {
            let id = private.identity();
            match cfg.hosting {
                Hosting::CloudFront => {
                    if let (Some(dist_id), Some(oac), Some(cert), Some(dist_domain)) = (
                        prior.attr("distribution_id").as_str(),
                        prior.attr("origin_access_control_id").as_str(),
                        prior.attr("certificate_arn").as_str(),
                        prior.attr("distribution_domain_name").as_str(),
                    ) {
                        let spec = desired::distribution_spec(
                            &cfg,
                            bucket,
                            &id,
                            oac,
                            cert,
                            &private.caller_reference,
                        );
                        planned.set_attr(
                            "distribution_settings",
                            map_value(&desired::distribution_settings(&spec, &[])),
                        );
                        let arn = distribution_arn(&id, dist_id);
                        let policy = desired::cloudfront_bucket_policy(bucket, &id, &arn);
                        planned.set_attr(
                            "bucket_settings",
                            map_value(&desired::bucket_settings(cfg.hosting, &policy)),
                        );
                        let domain = cfg.domain.as_deref().unwrap_or_default();
                        planned.set_attr(
                            "dns_records",
                            map_value(&desired::dns_records(
                                domain,
                                dist_domain,
                                &private.validation_records(),
                            )),
                        );
                    }
                    if distribution_missing(prior) {
                        // Deleted out of band: a new one gets a new ID and domain.
                        mark_unknown(
                            &mut planned,
                            &[
                                "distribution_id",
                                "distribution_domain_name",
                                "distribution_settings",
                                "bucket_settings",
                                "dns_records",
                            ],
                        );
                    }
                }
                Hosting::S3 => {
                    let policy = desired::public_bucket_policy(bucket, &id);
                    planned.set_attr(
                        "bucket_settings",
                        map_value(&desired::bucket_settings(cfg.hosting, &policy)),
                    );
                }
            }
        }
        PlanResponse {
            planned_state: planned,
            planned_private: req.prior_private,
            ..Default::default()
        }
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => {
                return ApplyResponse {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: d,
                }
            }
        };
        if req.planned_state.is_null() {
            let timeout = Config::from_value(&req.prior_state)
                .map(|c| c.timeouts.delete)
                .unwrap_or(model::DEFAULT_TIMEOUT);
            let ctx = ctx.with_timeout(timeout);
            let private = Private::parse(&req.planned_private);
            return match self.delete(&ctx, &clients, &req.prior_state, private).await {
                Ok(()) => ApplyResponse {
                    new_state: Value::Null,
                    private: vec![],
                    diagnostics: Diagnostics::default(),
                },
                Err(d) => ApplyResponse {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: d,
                },
            };
        }
        let cfg = match Config::from_value(&req.config) {
            Ok(c) => c,
            Err(d) => {
                return ApplyResponse {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: d,
                }
            }
        };
        if req.prior_state.is_null() {
            let ctx = ctx.with_timeout(cfg.timeouts.create);
            return self.create(&ctx, &clients, &cfg, req.planned_state).await;
        }
        let ctx = ctx.with_timeout(cfg.timeouts.update);
        self.update(
            &ctx,
            &clients,
            &cfg,
            &req.prior_state,
            req.planned_state,
            &req.planned_private,
        )
        .await
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => {
                return ReadResponse {
                    state: req.state,
                    private: req.private,
                    diagnostics: d,
                }
            }
        };
        match self
            .refresh(
                ctx,
                &clients,
                req.state.clone(),
                Private::parse(&req.private),
            )
            .await
        {
            Ok((state, private)) => ReadResponse {
                state,
                private: private.encode(),
                diagnostics: Diagnostics::default(),
            },
            Err(d) => ReadResponse {
                state: req.state,
                private: req.private,
                diagnostics: d,
            },
        }
    }

    async fn import(&self, ctx: &Ctx, id: String) -> ImportResponse {
        let fail = |d: Diagnostics| ImportResponse {
            state: Value::Null,
            private: vec![],
            diagnostics: d,
        };
        if let Err(why) = model::check_name(&id) {
            return fail(
                Diagnostic::error(
                    "Invalid import ID",
                    format!("The import ID is the issuer's `name`. {why}"),
                )
                .into(),
            );
        }
        let clients = match self.clients().await {
            Ok(c) => c,
            Err(d) => return fail(d),
        };
        match self.import_by_name(ctx, &clients, &id).await {
            Ok((state, private)) => ImportResponse {
                state,
                private: private.encode(),
                diagnostics: Diagnostics::default(),
            },
            Err(d) => fail(d),
        }
    }
}

/// The bucket also records how to find the rest, for import.
fn bucket_tags(cfg: &Config) -> BTreeMap<String, String> {
    let mut t = desired::tags(cfg);
    t.insert(HOSTING_TAG.into(), cfg.hosting.as_str().into());
    if let Some(z) = &cfg.route53_zone_id {
        t.insert(ZONE_TAG.into(), z.clone());
    }
    t
}

/// Read found the distribution gone (the bucket still there).
fn distribution_missing(state: &Value) -> bool {
    state
        .attr("distribution_settings")
        .attr("distribution")
        .as_str()
        == Some(MISSING)
}

/// Read found the bucket gone (the distribution still there).
fn bucket_missing(state: &Value) -> bool {
    state.attr("bucket_settings").attr("bucket").as_str() == Some(MISSING)
}

const MISSING: &str = "missing";

fn distribution_arn(id: &Identity, distribution_id: &str) -> String {
    format!(
        "arn:{}:cloudfront::{}:distribution/{distribution_id}",
        id.partition, id.account_id
    )
}

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
}

impl OidcIssuer {
    async fn identity(&self, clients: &AwsClients) -> Result<Identity, Diagnostics> {
        let (account, arn) = clients
            .caller_identity()
            .await
            .map_err(|e| aws_error("Cannot determine the AWS account", e))?;
        let region = clients
            .sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        Ok(Identity::from_caller_arn(&account, &arn, &region))
    }

    /// CloudFront hosting needs a public zone that contains the domain.
    async fn check_zone(&self, ctx: &Ctx, cfg: &Config) -> Result<(), Diagnostics> {
        let (Some(zone_id), Some(domain)) = (&cfg.route53_zone_id, &cfg.domain) else {
            return Ok(());
        };
        let clients = self.clients().await?;
        let zone = ctx
            .run(route53::get_hosted_zone(&clients.route53, zone_id))
            .await
            .map_err(|i| Diagnostics::from(Diagnostic::from(i)))?
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
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        planned: Value,
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
        if let Err(d) = self.check_zone(ctx, cfg).await {
            return fail_early(d);
        }
        let bucket = desired::bucket_name(&cfg.name, &id.account_id);
        let issuer = desired::issuer_url(cfg, &bucket, &id);
        let host_path = issuer.trim_start_matches("https://").to_string();
        let mut adopt_provider = None;
        match iam::find_oidc_provider(&clients.iam, &id.account_id, &id.partition, &host_path).await {
            // Ours, left behind when the bucket and distribution were deleted
            // out of band and the issuer dropped from state: take it back.
            Ok(Some(p)) if p.tags.get(desired::NAME_TAG) == Some(&cfg.name) => adopt_provider = Some(p),
            Ok(Some(p)) => {
                return fail_early(
                    Diagnostic::error(
                        "OIDC provider already exists",
                        format!(
                            "IAM already has an OIDC provider for {issuer} ({}); an account holds one per URL. Import the issuer \
                             (`terraform import <address> {}`) or delete that provider.",
                            p.arn, cfg.name
                        ),
                    )
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

        let mut private = Private {
            account_id: id.account_id.clone(),
            partition: id.partition.clone(),
            region: id.region.clone(),
            caller_reference: format!(
                "irsa-{}-{}",
                cfg.name,
                time::OffsetDateTime::now_utc().unix_timestamp()
            ),
            validation: vec![],
        };
        let mut made = Made {
            adopt_provider,
            ..Made::default()
        };
        let result = self
            .create_parts(
                ctx,
                clients,
                cfg,
                &id,
                &bucket,
                &issuer,
                &private.caller_reference,
                &mut made,
            )
            .await;
        private.set_validation(&made.validation);
        let state = self.state_after_create(cfg, planned, &id, &bucket, &issuer, &made);
        match result {
            Ok(()) => ApplyResponse {
                new_state: state,
                private: private.encode(),
                diagnostics: Diagnostics::default(),
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
        let interrupted = |i| Diagnostics::from(Diagnostic::from(i));

        // The bucket, and for CloudFront the OAC and the certificate, do
        // not depend on each other: make them at the same time.
        let bucket_part = async {
            s3::create_bucket(&clients.s3, bucket, &id.region)
                .await
                .map_err(|e| aws_error("Cannot create the bucket", e))?;
            tracing::debug!(target: "irsa::oidc_issuer", bucket, "created the bucket");
            Ok::<_, Diagnostics>(())
        };
        let bucket_setup = async {
            s3::put_public_access_block(&clients.s3, bucket, desired::public_access(cfg.hosting))
                .await?;
            s3::put_default_encryption(&clients.s3, bucket).await?;
            s3::put_versioning(&clients.s3, bucket, true).await?;
            s3::put_bucket_tags(&clients.s3, bucket, &bucket_tags).await
        };
        match cfg.hosting {
            Hosting::S3 => {
                ctx.run(bucket_part).await.map_err(interrupted)??;
                made.bucket = Some(bucket.to_string());
                ctx.run(bucket_setup)
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot configure the bucket", e))?;
                let policy = desired::public_bucket_policy(bucket, id);
                ctx.run(s3::put_bucket_policy(&clients.s3, bucket, &policy))
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
            }
            Hosting::CloudFront => {
                let domain = cfg.domain.clone().unwrap_or_default();
                let zone = cfg.route53_zone_id.clone().unwrap_or_default();
                let oac_name = desired::oac_name(&cfg.name);
                let oac_description = format!("irsa issuer {}", cfg.name);
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
                if b.is_ok() {
                    made.bucket = Some(bucket.to_string());
                }
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
                setup.map_err(|e| aws_error("Cannot configure the bucket", e))?;
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
                let dist = ctx
                    .run(cloudfront::create_distribution(
                        &clients.cloudfront,
                        &spec,
                        &tags,
                    ))
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot create the CloudFront distribution", e))?;
                made.distribution = Some(dist.clone());
                tracing::debug!(target: "irsa::oidc_issuer", distribution = %dist.id, "created the distribution");
                let policy = desired::cloudfront_bucket_policy(bucket, id, &dist.arn);
                ctx.run(s3::put_bucket_policy(&clients.s3, bucket, &policy))
                    .await
                    .map_err(interrupted)?
                    .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
                let aliases = desired::alias_records(&domain, &dist.domain_name);
                route53::upsert_records(&clients.route53, &zone, &aliases, ctx)
                    .await
                    .map_err(|e| aws_error("Cannot create the A/AAAA alias records", e))?;
            }
        }
        self.put_documents(ctx, clients, cfg, bucket, issuer, &cfg.jwks)
            .await?;
        tracing::debug!(target: "irsa::oidc_issuer", bucket, "published the discovery document and JWKS");
        let arn = match made.adopt_provider.take() {
            Some(p) => {
                iam::set_client_ids(&clients.iam, &p.arn, &p.client_ids, &cfg.client_ids)
                    .await
                    .map_err(|e| aws_error("Cannot update the client IDs", e))?;
                if !cfg.thumbprints.is_empty() && p.thumbprints != cfg.thumbprints {
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
        if cfg.hosting == Hosting::CloudFront && cfg.wait_for_deployment {
            if let Some(d) = &made.distribution {
                cloudfront::wait_deployed(&clients.cloudfront, &d.id, ctx)
                    .await
                    .map_err(|e| {
                        aws_error("The CloudFront distribution did not finish deploying", e)
                    })?;
            }
        }
        Ok(())
    }

    async fn put_documents(
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
                    s3::put_object(&clients.s3, bucket, k1, b1.into_bytes(), t1, &cc),
                    s3::put_object(&clients.s3, bucket, k2, b2.into_bytes(), t2, &cc)
                )
            })
            .await
            .map_err(|i| Diagnostics::from(Diagnostic::from(i)))?;
        r1.map_err(|e| aws_error("Cannot publish the discovery document", e))?;
        r2.map_err(|e| aws_error("Cannot publish the JWKS", e))?;
        Ok(())
    }

    fn state_after_create(
        &self,
        cfg: &Config,
        planned: Value,
        id: &Identity,
        bucket: &str,
        issuer: &str,
        made: &Made,
    ) -> Value {
        let mut s = planned;
        let published = cfg.jwks.clone();
        s.set_attr("id", Value::string(&cfg.name));
        s.set_attr("issuer_url", Value::string(issuer));
        s.set_attr(
            "oidc_provider_url",
            Value::string(issuer.trim_start_matches("https://")),
        );
        s.set_attr(
            "jwks_uri",
            Value::string(format!("{issuer}/openid/v1/jwks")),
        );
        s.set_attr(
            "oidc_provider_arn",
            Value::opt_string(made.oidc_provider_arn.clone()),
        );
        s.set_attr("bucket", Value::opt_string(made.bucket.clone()));
        s.set_attr("region", Value::string(&id.region));
        s.set_attr("published_jwks", Value::string(published.canonical_json()));
        s.set_attr("published_kids", Value::string_list(published.kids()));
        s.set_attr("retained_keys", Value::List(vec![]));
        s.set_attr(
            "discovery_document",
            Value::string(crate::oidc::discovery_document(issuer, &published)),
        );
        s.set_attr(
            "documents",
            map_value(&desired_documents(issuer, &published, cfg)),
        );
        match cfg.hosting {
            Hosting::S3 => {
                s.set_attr(
                    "bucket_settings",
                    map_value(&desired::bucket_settings(
                        cfg.hosting,
                        &desired::public_bucket_policy(bucket, id),
                    )),
                );
                for a in [
                    "distribution_id",
                    "distribution_domain_name",
                    "certificate_arn",
                    "origin_access_control_id",
                    "dns_records",
                    "distribution_settings",
                ] {
                    s.set_attr(a, Value::Null);
                }
            }
            Hosting::CloudFront => {
                s.set_attr(
                    "certificate_arn",
                    Value::opt_string(made.certificate_arn.clone()),
                );
                s.set_attr(
                    "origin_access_control_id",
                    Value::opt_string(made.oac_id.clone()),
                );
                match &made.distribution {
                    Some(d) => {
                        s.set_attr("distribution_id", Value::string(&d.id));
                        s.set_attr("distribution_domain_name", Value::string(&d.domain_name));
                        s.set_attr(
                            "distribution_settings",
                            map_value(&desired::distribution_settings(
                                &d.spec,
                                &d.fixed_settings_drift,
                            )),
                        );
                        let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
                        s.set_attr(
                            "bucket_settings",
                            map_value(&desired::bucket_settings(cfg.hosting, &policy)),
                        );
                        s.set_attr(
                            "dns_records",
                            map_value(&desired::dns_records(
                                cfg.domain.as_deref().unwrap_or_default(),
                                &d.domain_name,
                                &made.validation,
                            )),
                        );
                    }
                    None => {
                        for a in [
                            "distribution_id",
                            "distribution_domain_name",
                            "distribution_settings",
                            "bucket_settings",
                            "dns_records",
                        ] {
                            s.set_attr(a, Value::Null);
                        }
                    }
                }
            }
        }
        // A partial create: whatever is still unknown was not made.
        for a in COMPUTED {
            if s.attr(a).is_unknown() {
                s.set_attr(a, Value::Null);
            }
        }
        s
    }

    async fn update(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        prior: &Value,
        planned: Value,
        private_bytes: &[u8],
    ) -> ApplyResponse {
        let mut state = planned.clone();
        stamp_removed_keys(
            &mut state,
            cfg.key_retention,
            time::OffsetDateTime::now_utc(),
        );
        let mut private = match Private::parse(private_bytes) {
            Some(p) => p,
            None => match self.identity(clients).await {
                Ok(id) => Private {
                    account_id: id.account_id,
                    partition: id.partition,
                    region: id.region,
                    caller_reference: format!("irsa-{}", cfg.name),
                    validation: vec![],
                },
                Err(d) => {
                    return ApplyResponse {
                        new_state: prior.clone(),
                        private: private_bytes.to_vec(),
                        diagnostics: d,
                    }
                }
            },
        };
        let result = self
            .update_parts(ctx, clients, cfg, prior, &mut state, &mut private)
            .await;
        match result {
            Ok(()) => ApplyResponse {
                new_state: state,
                private: private.encode(),
                diagnostics: Diagnostics::default(),
            },
            // The parts already changed are in AWS; a refresh sees them.
            Err(d) => ApplyResponse {
                new_state: prior.clone(),
                private: private.encode(),
                diagnostics: d,
            },
        }
    }

    async fn update_parts(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        prior: &Value,
        state: &mut Value,
        private: &mut Private,
    ) -> Result<(), Diagnostics> {
        let id = private.identity();
        let interrupted = |i| Diagnostics::from(Diagnostic::from(i));
        let bucket = prior
            .attr("bucket")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let issuer = prior
            .attr("issuer_url")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let tags = desired::tags(cfg);
        let tags_changed = prior.attr("tags") != state.attr("tags");
        let cloudfront = cfg.hosting == Hosting::CloudFront;

        // Parts deleted out of band while the rest stands are made again.
        let mut bucket_remade = false;
        if bucket_missing(prior) && !bucket.is_empty() {
            s3::create_bucket(&clients.s3, &bucket, &id.region)
                .await
                .map_err(|e| aws_error("Cannot create the bucket again", e))?;
            s3::put_bucket_tags(&clients.s3, &bucket, &bucket_tags(cfg))
                .await
                .map_err(|e| aws_error("Cannot tag the bucket", e))?;
            bucket_remade = true;
        }
        if cloudfront && distribution_missing(prior) {
            self.remake_distribution(ctx, clients, cfg, state, &bucket, &id, private)
                .await?;
        }

        // From here on the distribution is the one in `state`.
        let dist_id = state.attr("distribution_id").as_str().map(str::to_string);

        // Bucket settings that drifted.
        if bucket_remade || prior.attr("bucket_settings") != state.attr("bucket_settings") {
            s3::put_public_access_block(&clients.s3, &bucket, desired::public_access(cfg.hosting))
                .await
                .map_err(|e| aws_error("Cannot set the public access block", e))?;
            s3::put_default_encryption(&clients.s3, &bucket)
                .await
                .map_err(|e| aws_error("Cannot set default encryption", e))?;
            s3::put_versioning(&clients.s3, &bucket, true)
                .await
                .map_err(|e| aws_error("Cannot enable versioning", e))?;
            let policy = match (cfg.hosting, &dist_id) {
                (Hosting::CloudFront, Some(d)) => Some(desired::cloudfront_bucket_policy(
                    &bucket,
                    &id,
                    &distribution_arn(&id, d),
                )),
                (Hosting::S3, _) => Some(desired::public_bucket_policy(&bucket, &id)),
                _ => None,
            };
            if let Some(policy) = policy {
                s3::put_bucket_policy(&clients.s3, &bucket, &policy)
                    .await
                    .map_err(|e| aws_error("Cannot set the bucket policy", e))?;
            }
        }
        if tags_changed && !bucket_remade {
            s3::put_bucket_tags(&clients.s3, &bucket, &bucket_tags(cfg))
                .await
                .map_err(|e| aws_error("Cannot tag the bucket", e))?;
        }

        // Distribution settings, price class and TTLs; its tags; DNS records.
        if let (true, Some(dist_id)) = (cloudfront, &dist_id) {
            let oac = state
                .attr("origin_access_control_id")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let cert = state
                .attr("certificate_arn")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let drifted = prior.attr("distribution_settings")
                != state.attr("distribution_settings")
                || prior.attr("price_class") != state.attr("price_class")
                || prior.attr("cache_ttl") != state.attr("cache_ttl");
            if drifted && !distribution_missing(prior) {
                let spec = desired::distribution_spec(
                    cfg,
                    &bucket,
                    &id,
                    &oac,
                    &cert,
                    &private.caller_reference,
                );
                ctx.run(cloudfront::update_distribution(
                    &clients.cloudfront,
                    dist_id,
                    &spec,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot update the CloudFront distribution", e))?;
                if cfg.wait_for_deployment {
                    cloudfront::wait_deployed(&clients.cloudfront, dist_id, ctx)
                        .await
                        .map_err(|e| {
                            aws_error("The CloudFront distribution did not finish deploying", e)
                        })?;
                }
            }
            if tags_changed {
                let arn = distribution_arn(&id, dist_id);
                let current = cloudfront::get_distribution_tags(&clients.cloudfront, &arn)
                    .await
                    .map_err(|e| aws_error("Cannot read the distribution's tags", e))?;
                cloudfront::set_distribution_tags(&clients.cloudfront, &arn, &current, &tags)
                    .await
                    .map_err(|e| aws_error("Cannot tag the distribution", e))?;
            }
            if prior.attr("dns_records") != state.attr("dns_records") {
                let dist_domain = state
                    .attr("distribution_domain_name")
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.upsert_records(
                    ctx,
                    clients,
                    cfg,
                    &dist_domain,
                    &private.validation_records(),
                )
                .await?;
            }
        }

        // Documents: new keys, expired retained keys, TTL change, or drift.
        if (bucket_remade || prior.attr("documents") != state.attr("documents"))
            && !issuer.is_empty()
        {
            let published = state
                .attr("published_jwks")
                .as_str()
                .and_then(|j| crate::oidc::parse_jwks(j).ok())
                .unwrap_or_else(|| cfg.jwks.clone());
            self.put_documents(ctx, clients, cfg, &bucket, &issuer, &published)
                .await?;
            if let (true, Some(dist_id)) = (cloudfront, &dist_id) {
                // STS must see new keys now, not after the cache TTL.
                let paths = vec![
                    format!("/{}", desired::DISCOVERY_KEY),
                    format!("/{}", desired::JWKS_KEY),
                ];
                let reference = format!(
                    "irsa-{}",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
                );
                ctx.run(cloudfront::create_invalidation(
                    &clients.cloudfront,
                    dist_id,
                    &paths,
                    &reference,
                ))
                .await
                .map_err(interrupted)?
                .map_err(|e| aws_error("Cannot invalidate the cached documents", e))?;
            }
        }

        // The IAM OIDC provider.
        let host_path = issuer.trim_start_matches("https://").to_string();
        match prior.attr("oidc_provider_arn").as_str() {
            None => {
                let arn = iam::create_oidc_provider(
                    &clients.iam,
                    &issuer,
                    &cfg.client_ids,
                    &cfg.thumbprints,
                    &tags,
                )
                .await
                .or_else(|e| {
                    if e.kind == crate::aws::ErrorKind::AlreadyExists {
                        Ok(iam::oidc_provider_arn(
                            &id.account_id,
                            &id.partition,
                            &host_path,
                        ))
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| aws_error("Cannot create the IAM OIDC provider", e))?;
                state.set_attr("oidc_provider_arn", Value::string(arn));
            }
            Some(arn) => {
                let current_ids = strings(prior.attr("client_ids"));
                if current_ids != cfg.client_ids {
                    iam::set_client_ids(&clients.iam, arn, &current_ids, &cfg.client_ids)
                        .await
                        .map_err(|e| aws_error("Cannot update the client IDs", e))?;
                }
                let current_tp = strings(prior.attr("thumbprints"));
                if !cfg.thumbprints.is_empty() && current_tp != cfg.thumbprints {
                    iam::set_thumbprints(&clients.iam, arn, &cfg.thumbprints)
                        .await
                        .map_err(|e| aws_error("Cannot update the thumbprints", e))?;
                }
                if tags_changed {
                    let current = iam::get_oidc_provider(&clients.iam, arn)
                        .await
                        .map_err(|e| aws_error("Cannot read the OIDC provider", e))?
                        .map(|p| p.tags)
                        .unwrap_or_default();
                    iam::set_tags(&clients.iam, arn, &current, &tags)
                        .await
                        .map_err(|e| aws_error("Cannot tag the OIDC provider", e))?;
                }
            }
        }
        if tags_changed {
            if let Some(cert) = prior.attr("certificate_arn").as_str() {
                acm::set_certificate_tags(&clients.acm, cert, &tags)
                    .await
                    .map_err(|e| aws_error("Cannot tag the certificate", e))?;
            }
        }
        Ok(())
    }

    /// A distribution deleted out of band (the bucket still there): a new
    /// one, with a new caller reference, pointed at by the DNS records.
    #[allow(clippy::too_many_arguments)]
    async fn remake_distribution(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        state: &mut Value,
        bucket: &str,
        id: &Identity,
        private: &mut Private,
    ) -> Result<(), Diagnostics> {
        let oac = state
            .attr("origin_access_control_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cert = state
            .attr("certificate_arn")
            .as_str()
            .unwrap_or_default()
            .to_string();
        private.caller_reference = format!(
            "irsa-{}-{}",
            cfg.name,
            time::OffsetDateTime::now_utc().unix_timestamp()
        );
        let spec =
            desired::distribution_spec(cfg, bucket, id, &oac, &cert, &private.caller_reference);
        let d = ctx
            .run(cloudfront::create_distribution(
                &clients.cloudfront,
                &spec,
                &desired::tags(cfg),
            ))
            .await
            .map_err(|i| Diagnostics::from(Diagnostic::from(i)))?
            .map_err(|e| aws_error("Cannot create the CloudFront distribution again", e))?;
        let policy = desired::cloudfront_bucket_policy(bucket, id, &d.arn);
        state.set_attr("distribution_id", Value::string(&d.id));
        state.set_attr("distribution_domain_name", Value::string(&d.domain_name));
        state.set_attr(
            "distribution_settings",
            map_value(&desired::distribution_settings(
                &d.spec,
                &d.fixed_settings_drift,
            )),
        );
        state.set_attr(
            "bucket_settings",
            map_value(&desired::bucket_settings(cfg.hosting, &policy)),
        );
        state.set_attr(
            "dns_records",
            map_value(&desired::dns_records(
                cfg.domain.as_deref().unwrap_or_default(),
                &d.domain_name,
                &private.validation_records(),
            )),
        );
        if cfg.wait_for_deployment {
            cloudfront::wait_deployed(&clients.cloudfront, &d.id, ctx)
                .await
                .map_err(|e| {
                    aws_error("The CloudFront distribution did not finish deploying", e)
                })?;
        }
        Ok(())
    }

    /// A and AAAA aliases to the distribution, and the certificate's validation records.
    async fn upsert_records(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        cfg: &Config,
        distribution_domain: &str,
        validation: &[ValidationRecord],
    ) -> Result<(), Diagnostics> {
        let zone = cfg.route53_zone_id.clone().unwrap_or_default();
        let domain = cfg.domain.clone().unwrap_or_default();
        let mut records = desired::alias_records(&domain, distribution_domain);
        records.extend(desired::validation_records(validation));
        route53::upsert_records(&clients.route53, &zone, &records, ctx)
            .await
            .map_err(|e| aws_error("Cannot write the DNS records", e))
    }

    async fn delete(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        prior: &Value,
        private: Option<Private>,
    ) -> Result<(), Diagnostics> {
        let name = prior.attr("name").as_str().unwrap_or_default().to_string();
        let id = match private {
            Some(p) => p.identity(),
            None => self.identity(clients).await?,
        };
        let hosting = if prior.attr("hosting").as_str() == Some("s3") {
            Hosting::S3
        } else {
            Hosting::CloudFront
        };
        let bucket = prior
            .attr("bucket")
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| desired::bucket_name(&name, &id.account_id));
        let interrupted = |i| Diagnostics::from(Diagnostic::from(i));

        // Refuse before deleting anything: a refused destroy must leave the
        // issuer whole (roles that trust it keep working).
        let bucket_exists = s3::bucket_exists(&clients.s3, &bucket)
            .await
            .map_err(|e| aws_error("Cannot read the bucket", e))?;
        if bucket_exists && !prior.attr("force_destroy").as_bool().unwrap_or(false) {
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
        let provider_arn = match prior.attr("oidc_provider_arn").as_str() {
            Some(a) => Some(a.to_string()),
            None => prior.attr("issuer_url").as_str().map(|i| {
                iam::oidc_provider_arn(
                    &id.account_id,
                    &id.partition,
                    i.trim_start_matches("https://"),
                )
            }),
        };
        if let Some(arn) = provider_arn {
            iam::delete_oidc_provider(&clients.iam, &arn)
                .await
                .map_err(|e| aws_error("Cannot delete the IAM OIDC provider", e))?;
        }

        if hosting == Hosting::CloudFront {
            let zone = prior
                .attr("route53_zone_id")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let domain = prior
                .attr("domain")
                .as_str()
                .unwrap_or_default()
                .to_string();
            // The certificate, found by tag if a partial create lost its ARN.
            let cert_arn = match prior.attr("certificate_arn").as_str() {
                Some(a) => Some(a.to_string()),
                None => {
                    acm::find_certificate_by_tag(&clients.acm, &domain, desired::NAME_TAG, &name)
                        .await
                        .map_err(|e| aws_error("Cannot look for the certificate", e))?
                }
            };
            let validation = match &cert_arn {
                Some(arn) => acm::describe_certificate(&clients.acm, arn)
                    .await
                    .map_err(|e| aws_error("Cannot read the certificate", e))?
                    .map(|c| c.validation_records)
                    .unwrap_or_default(),
                None => vec![],
            };
            if !zone.is_empty() && !domain.is_empty() {
                // DELETE matches by name and type; the current values are read first.
                let mut records = desired::alias_records(&domain, "");
                records.extend(desired::validation_records(&validation));
                route53::delete_records(&clients.route53, &zone, &records, ctx)
                    .await
                    .map_err(|e| aws_error("Cannot delete the DNS records", e))?;
            }
            let dist_id = match prior.attr("distribution_id").as_str() {
                Some(d) => Some(d.to_string()),
                None => cloudfront::find_distribution_by_comment(
                    &clients.cloudfront,
                    &desired::distribution_comment(&name),
                )
                .await
                .map_err(|e| aws_error("Cannot look for the distribution", e))?,
            };
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
            let oac = match prior.attr("origin_access_control_id").as_str() {
                Some(o) => Some(o.to_string()),
                None => cloudfront::find_origin_access_control(
                    &clients.cloudfront,
                    &desired::oac_name(&name),
                )
                .await
                .map_err(|e| aws_error("Cannot look for the Origin Access Control", e))?,
            };
            if let Some(o) = oac {
                cloudfront::delete_origin_access_control(&clients.cloudfront, &o)
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

    /// What AWS holds now, as state. Null when the core parts are gone.
    async fn refresh(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        mut state: Value,
        private: Option<Private>,
    ) -> Result<(Value, Private), Diagnostics> {
        let mut private = match private {
            Some(p) => p,
            None => {
                let id = self.identity(clients).await?;
                Private {
                    account_id: id.account_id,
                    partition: id.partition,
                    region: id.region,
                    caller_reference: format!(
                        "irsa-{}",
                        state.attr("name").as_str().unwrap_or_default()
                    ),
                    validation: vec![],
                }
            }
        };
        let hosting = if state.attr("hosting").as_str() == Some("s3") {
            Hosting::S3
        } else {
            Hosting::CloudFront
        };
        let Some(bucket) = state.attr("bucket").as_str().map(str::to_string) else {
            return Ok((Value::Null, private));
        };
        let interrupted = |i| Diagnostics::from(Diagnostic::from(i));
        let err = |what: &'static str| move |e: AwsCallError| aws_error(what, e);

        let bucket_view = async {
            if !s3::bucket_exists(&clients.s3, &bucket).await? {
                return Ok::<_, AwsCallError>(None);
            }
            let (pab, enc, ver, policy, disc, jwks) = tokio::join!(
                Box::pin(s3::get_public_access_block(&clients.s3, &bucket)),
                Box::pin(s3::has_default_encryption(&clients.s3, &bucket)),
                Box::pin(s3::versioning_enabled(&clients.s3, &bucket)),
                Box::pin(s3::get_bucket_policy(&clients.s3, &bucket)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::DISCOVERY_KEY)),
                Box::pin(s3::get_object(&clients.s3, &bucket, desired::JWKS_KEY)),
            );
            let mut settings = BTreeMap::new();
            settings.insert(
                "public_access_block".to_string(),
                desired::public_access_label(pab?.and_then(|p| p.as_public_access())),
            );
            settings.insert(
                "encryption".to_string(),
                if enc? { "AES256".into() } else { "none".into() },
            );
            settings.insert(
                "versioning".to_string(),
                if ver? {
                    "Enabled".into()
                } else {
                    "Suspended".into()
                },
            );
            settings.insert(
                "policy".to_string(),
                policy?
                    .map(|p| desired::policy_digest(&p))
                    .unwrap_or_else(|| "none".into()),
            );
            let mut docs = BTreeMap::new();
            for (key, obj) in [(desired::DISCOVERY_KEY, disc?), (desired::JWKS_KEY, jwks?)] {
                let fp = match obj {
                    Some(o) => desired::document_fingerprint(
                        &o.body,
                        o.content_type.as_deref().unwrap_or(""),
                        o.cache_control.as_deref().unwrap_or(""),
                    ),
                    None => "missing".to_string(),
                };
                docs.insert(key.to_string(), fp);
            }
            Ok(Some((settings, docs)))
        };
        let provider_view = async {
            match state.attr("oidc_provider_arn").as_str() {
                Some(arn) => iam::get_oidc_provider(&clients.iam, arn).await,
                None => Ok(None),
            }
        };
        let dist_view = async {
            match state.attr("distribution_id").as_str() {
                Some(d) if hosting == Hosting::CloudFront => {
                    cloudfront::get_distribution(&clients.cloudfront, d).await
                }
                _ => Ok(None),
            }
        };
        let cert_view = async {
            match state.attr("certificate_arn").as_str() {
                Some(a) if hosting == Hosting::CloudFront => {
                    acm::describe_certificate(&clients.acm, a).await
                }
                _ => Ok(None),
            }
        };
        // Boxed: the joined SDK futures are too large for a worker's stack.
        let (b, p, d, c) = ctx
            .run(async {
                tokio::join!(
                    Box::pin(bucket_view),
                    Box::pin(provider_view),
                    Box::pin(dist_view),
                    Box::pin(cert_view)
                )
            })
            .await
            .map_err(interrupted)?;
        let bucket_view = b.map_err(err("Cannot read the bucket"))?;
        let provider = p.map_err(err("Cannot read the IAM OIDC provider"))?;
        let dist = d.map_err(err("Cannot read the CloudFront distribution"))?;
        let cert = c.map_err(err("Cannot read the certificate"))?;

        let core_gone = bucket_view.is_none() && (hosting == Hosting::S3 || dist.is_none());
        if core_gone {
            tracing::info!(target: "irsa::oidc_issuer", bucket = %bucket, "issuer's bucket and distribution are gone: removing from state");
            return Ok((Value::Null, private));
        }
        match bucket_view {
            Some((settings, docs)) => {
                state.set_attr("bucket_settings", map_value(&settings));
                state.set_attr("documents", map_value(&docs));
            }
            None => {
                state.set_attr(
                    "bucket_settings",
                    map_value(&BTreeMap::from([(
                        "bucket".to_string(),
                        MISSING.to_string(),
                    )])),
                );
                state.set_attr("documents", map_value(&BTreeMap::new()));
            }
        }
        match &provider {
            Some(p) => {
                state.set_attr("client_ids", Value::string_list(p.client_ids.clone()));
                // Only thumbprints the user manages are compared (see with_defaults).
                if !strings(state.attr("thumbprints")).is_empty() {
                    state.set_attr("thumbprints", Value::string_list(p.thumbprints.clone()));
                }
                let user = desired::user_tags(&p.tags);
                if !(user.is_empty() && state.attr("tags").is_null()) {
                    state.set_attr("tags", map_value(&user));
                }
            }
            None => state.set_attr("oidc_provider_arn", Value::Null),
        }
        if let Some(c) = &cert {
            private.set_validation(&c.validation_records);
        }
        if hosting == Hosting::CloudFront {
            match &dist {
                Some(d) => {
                    state.set_attr("distribution_domain_name", Value::string(&d.domain_name));
                    state.set_attr("price_class", Value::string(&d.spec.price_class));
                    state.set_attr(
                        "cache_ttl",
                        model::Ttl {
                            min: d.spec.min_ttl,
                            default: d.spec.default_ttl,
                            max: d.spec.max_ttl,
                        }
                        .to_value(),
                    );
                    state.set_attr(
                        "distribution_settings",
                        map_value(&desired::distribution_settings(
                            &d.spec,
                            &d.fixed_settings_drift,
                        )),
                    );
                    let zone = state
                        .attr("route53_zone_id")
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let domain = state
                        .attr("domain")
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let records = self
                        .observed_records(clients, &zone, &domain, &private.validation_records())
                        .await?;
                    state.set_attr("dns_records", map_value(&records));
                }
                None => {
                    state.set_attr(
                        "distribution_settings",
                        map_value(&BTreeMap::from([(
                            "distribution".to_string(),
                            MISSING.to_string(),
                        )])),
                    );
                }
            }
        }
        Ok((state, private))
    }

    async fn observed_records(
        &self,
        clients: &AwsClients,
        zone: &str,
        domain: &str,
        validation: &[ValidationRecord],
    ) -> Result<BTreeMap<String, String>, Diagnostics> {
        let mut wanted: Vec<(String, String)> = vec![
            ("A".into(), domain.to_string()),
            ("AAAA".into(), domain.to_string()),
        ];
        wanted.extend(validation.iter().map(|v| (v.rtype.clone(), v.name.clone())));
        let lookups = wanted
            .iter()
            .map(|(t, n)| route53::list_records(&clients.route53, zone, n, t));
        let found = futures::future::join_all(lookups).await;
        let mut out = BTreeMap::new();
        for ((t, n), r) in wanted.iter().zip(found) {
            let r = r.map_err(|e| aws_error("Cannot read the DNS records", e))?;
            if let Some(rec) = r {
                let v = match rec.value {
                    RecordValue::Alias { dns_name, .. } => format!("alias {dns_name}"),
                    RecordValue::Values { values, .. } => values.join(","),
                };
                out.insert(format!("{t} {n}"), v);
            }
        }
        Ok(out)
    }

    /// Rebuilds the state of an issuer from AWS, knowing only its name.
    async fn import_by_name(
        &self,
        ctx: &Ctx,
        clients: &AwsClients,
        name: &str,
    ) -> Result<(Value, Private), Diagnostics> {
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
        let mut v = Value::Object(match model::schema().block.value_type() {
            tfplugin::Type::Object(attrs) => {
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect()
            }
            _ => BTreeMap::new(),
        });
        v.set_attr("name", Value::string(name));
        v.set_attr("id", Value::string(name));
        v.set_attr("hosting", Value::string(hosting.as_str()));
        v.set_attr("jwks", Value::string(published.canonical_json()));
        v.set_attr("published_jwks", Value::string(published.canonical_json()));
        v.set_attr("published_kids", Value::string_list(published.kids()));
        v.set_attr("retained_keys", Value::List(vec![]));
        v.set_attr("bucket", Value::string(&bucket));
        v.set_attr("region", Value::string(&id.region));
        v.set_attr("key_retention", Value::string(model::DEFAULT_KEY_RETENTION));
        v.set_attr("force_destroy", Value::Bool(false));
        v.set_attr("wait_for_deployment", Value::Bool(true));
        v.set_attr("thumbprints", Value::List(vec![]));
        // S3 hosting has no distribution: the documents' max-age is the TTL.
        let max_age = jwks_obj
            .cache_control
            .as_deref()
            .and_then(|cc| {
                cc.split(',')
                    .find_map(|p| p.trim().strip_prefix("max-age=")?.parse::<i64>().ok())
            })
            .unwrap_or(model::DEFAULT_TTL.default);
        v.set_attr(
            "cache_ttl",
            model::Ttl {
                default: max_age,
                ..model::DEFAULT_TTL
            }
            .to_value(),
        );
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
                v.set_attr("domain", Value::string(&domain));
                v.set_attr(
                    "route53_zone_id",
                    Value::opt_string(tags.get(ZONE_TAG).cloned()),
                );
                v.set_attr("distribution_id", Value::string(&d.id));
                v.set_attr(
                    "certificate_arn",
                    Value::opt_string(d.spec.certificate_arn.clone()),
                );
                v.set_attr(
                    "origin_access_control_id",
                    Value::string(&d.spec.origin_access_control_id),
                );
                format!("https://{domain}")
            }
        };
        let host_path = issuer.trim_start_matches("https://").to_string();
        v.set_attr("issuer_url", Value::string(&issuer));
        v.set_attr("oidc_provider_url", Value::string(&host_path));
        v.set_attr(
            "jwks_uri",
            Value::string(format!("{issuer}/openid/v1/jwks")),
        );
        v.set_attr(
            "discovery_document",
            Value::string(crate::oidc::discovery_document(&issuer, &published)),
        );
        let provider =
            iam::find_oidc_provider(&clients.iam, &id.account_id, &id.partition, &host_path)
                .await
                .map_err(|e| aws_error("Cannot read the IAM OIDC provider", e))?;
        v.set_attr(
            "oidc_provider_arn",
            Value::opt_string(provider.as_ref().map(|p| p.arn.clone())),
        );
        v.set_attr(
            "client_ids",
            Value::string_list(
                provider
                    .as_ref()
                    .map(|p| p.client_ids.clone())
                    .unwrap_or_default(),
            ),
        );
        let user = desired::user_tags(&tags);
        if !user.is_empty() {
            v.set_attr("tags", map_value(&user));
        }
        let private = Private {
            account_id: id.account_id.clone(),
            partition: id.partition.clone(),
            region: id.region.clone(),
            caller_reference,
            validation: vec![],
        };
        self.refresh(ctx, clients, v, Some(private))
            .await
            .and_then(|(state, p)| {
                if state.is_null() {
                    Err(not_found())
                } else {
                    Ok((state, p))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_state_round_trips_and_rejects_garbage() {
        let mut p = Private {
            account_id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
            caller_reference: "irsa-x".into(),
            validation: vec![],
        };
        p.set_validation(&[ValidationRecord {
            name: "_a.example.com".into(),
            rtype: "CNAME".into(),
            value: "_b.acm-validations.aws".into(),
        }]);
        assert_eq!(Private::parse(&p.encode()), Some(p.clone()));
        assert_eq!(Private::parse(b""), None);
        assert_eq!(Private::parse(b"{}"), None);
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keys_removed_by_this_apply_get_the_apply_time() {
        let mut state = Value::object([(
            "retained_keys",
            Value::List(vec![
                Value::object([
                    ("kid", Value::string("old")),
                    ("removed_at", Value::string("2026-01-01T00:00:00Z")),
                    ("expires_at", Value::string("2026-01-02T00:00:00Z")),
                ]),
                Value::object([
                    ("kid", Value::string("new")),
                    ("removed_at", Value::unknown()),
                    ("expires_at", Value::unknown()),
                ]),
            ]),
        )]);
        stamp_removed_keys(
            &mut state,
            std::time::Duration::from_secs(3600),
            datetime!(2026-01-01 12:00:00.7 UTC),
        );
        let r = retained_from(state.attr("retained_keys"));
        assert_eq!(
            r[0].removed_at, "2026-01-01T00:00:00Z",
            "recorded times are kept"
        );
        assert_eq!(r[1].removed_at, "2026-01-01T12:00:00Z");
        assert_eq!(r[1].expires_at, "2026-01-01T13:00:00Z");
    }
}
