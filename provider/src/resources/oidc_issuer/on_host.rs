//! An issuer on an `irsa_issuer_host`: its two documents below its path in
//! the host's bucket, and its own IAM OIDC provider. It makes no
//! CloudFront, ACM or Route 53 write and waits for no deployment when it is
//! made or destroyed (the host's distribution does not cache errors, so a
//! path asked for before its issuer existed is not served as a cached
//! 404); a key rotation invalidates only `/<path>/*`. Refresh reads the
//! objects it owns and nothing of the host.

use std::collections::BTreeMap;

use tfplugin::resource::{Failed, Outcome, Saved};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, ErrorContext, Json, Model, Tf};

use super::checks;
use super::desired;
use super::model::{Config, Hosting, IssuerModel, PriceClass, Site, TtlModel};
use super::parts::documents::PathTaken;
use super::parts::oidc_provider::Existing;
use super::parts::{bucket, documents, oidc_provider, Aws};
use super::private::Private;
use super::set_issuer_attrs;
use super::site::{SiteModel, SiteState};
use crate::aws::{cloudfront, iam, s3, ErrorKind};
use crate::oidc::Jwks;

/// A host as its issuers see it.
pub(crate) struct Host {
    pub site: Site,
    pub bucket: String,
    pub distribution_id: Option<String>,
}

/// The host named `host`, read from its bucket's tags and, with
/// CloudFront, its distribution (found by comment); `Ok(None)` when it has
/// no bucket.
pub(crate) async fn find_host(aws: &Aws<'_>, host: &str) -> Result<Option<Host>, Diagnostics> {
    let bucket_name = desired::bucket_name(host, &aws.id.account_id);
    let tags = match s3::get_bucket_tags(&aws.clients.s3, &bucket_name).await {
        Err(e) if e.kind == ErrorKind::NoSuchBucket => return Ok(None),
        other => other.context("Cannot read the host's bucket")?,
    };
    let not_a_host = || {
        no_host(
            host,
            aws,
            format!("the bucket {bucket_name} is not an issuer host's"),
        )
    };
    let Some((hosting, cache_ttl)) = bucket::host_of_tags(&tags) else {
        return Err(not_a_host());
    };
    if tags.get(desired::NAME_TAG).map(String::as_str) != Some(host) {
        return Err(not_a_host());
    }
    let mut site = Site {
        name: host.to_string(),
        hosting,
        domain: None,
        route53_zone_id: None,
        price_class: None,
        cache_ttl,
        force_destroy: false,
        wait_for_deployment: false,
        tags: BTreeMap::new(),
        shared: true,
    };
    let mut found = Host {
        site: site.clone(),
        bucket: bucket_name,
        distribution_id: None,
    };
    if hosting == Hosting::S3 {
        return Ok(Some(found));
    }
    let comment = desired::distribution_comment(host);
    let id = cloudfront::find_distribution_by_comment(&aws.clients.cloudfront, &comment)
        .await
        .context("Cannot look for the host's distribution")?
        .ok_or_else(|| {
            no_host(
                host,
                aws,
                format!("no CloudFront distribution is commented {comment:?}"),
            )
        })?;
    let dist = cloudfront::get_distribution(&aws.clients.cloudfront, &id)
        .await
        .context("Cannot read the host's distribution")?
        .ok_or_else(|| no_host(host, aws, format!("its distribution {id} is gone")))?;
    site.domain = dist.spec.aliases.first().cloned();
    found.site = site;
    found.distribution_id = Some(dist.id);
    Ok(Some(found))
}

fn no_host(host: &str, aws: &Aws<'_>, why: String) -> Diagnostics {
    Diagnostic::error(
        "No such issuer host",
        format!(
            "There is no irsa_issuer_host named {host:?} in account {}: {why}.",
            aws.id.account_id
        ),
    )
    .at(AttrPath::root("host"))
    .into()
}

/// The host `host`, which must exist.
async fn host(aws: &Aws<'_>, host: &str) -> Result<Host, Diagnostics> {
    let bucket = desired::bucket_name(host, &aws.id.account_id);
    find_host(aws, host)
        .await?
        .ok_or_else(|| no_host(host, aws, format!("the bucket {bucket} does not exist")))
}

/// The issuer's values once its host is known.
fn on(mut cfg: Config, host: &Host) -> Config {
    cfg.site = Site {
        tags: cfg.tags.clone(),
        ..host.site.clone()
    };
    cfg.path = Some(cfg.path.clone().unwrap_or_else(|| cfg.name.clone()));
    cfg
}

fn path_taken(owner: &str, path: &str, host: &str, issuer: &str, what: &str) -> Diagnostics {
    Diagnostic::error(
        "Path already taken",
        format!(
            "The issuer {owner:?} publishes at {path:?} on the host {host:?} ({issuer}). {what} Choose another `path`."
        ),
    )
    .at(AttrPath::root("path"))
    .into()
}

/// Plan of a new issuer on a host that exists: what the host decides is
/// known now (the URL, the bucket, the hosting), and a path another issuer
/// publishes at is refused. A host made in the same apply is read at create.
pub(super) async fn plan_create(
    aws: &Aws<'_>,
    planned: &mut IssuerModel,
    cfg: &Config,
) -> Result<(), Diagnostics> {
    let Some(host_name) = planned.host.known().cloned() else {
        return Ok(());
    };
    let Some(host) = find_host(aws, &host_name).await? else {
        return Ok(());
    };
    let cfg = on(cfg.clone(), &host);
    let path = cfg.path.clone().unwrap_or_default();
    let issuer = desired::issuer_url(&cfg, &host.bucket, aws.id);
    if let Some(owner) = documents::owner(aws, &host.bucket, &path)
        .await?
        .filter(|o| *o != cfg.name)
    {
        return Err(path_taken(
            &owner,
            &path,
            &host_name,
            &issuer,
            "Nothing will be written.",
        ));
    }
    host_attrs(planned, &cfg, &host, &aws.id.region);
    set_issuer_attrs(planned, &issuer, &cfg.jwks, &cfg);
    Ok(())
}

/// What the host decides of the issuer's state.
fn host_attrs(s: &mut IssuerModel, cfg: &Config, host: &Host, region: &str) {
    s.path = cfg.path.clone().into();
    s.hosting = Tf::Known(cfg.site.hosting);
    s.cache_ttl = Tf::Known(TtlModel::from(cfg.site.cache_ttl));
    s.price_class = Tf::<PriceClass>::Null;
    s.bucket = Tf::Known(host.bucket.clone());
    s.region = Tf::Known(region.to_string());
    s.with_site(SiteState::clear_cloudfront);
    s.distribution_id = host.distribution_id.clone().into();
    s.bucket_settings = Tf::Null;
}

/// Publishes the issuer on its host: nothing is written when its path is
/// someone else's or its IAM OIDC provider would not be its own.
pub(super) async fn create(
    aws: &Aws<'_>,
    cfg: Config,
    host_name: &str,
    planned: IssuerModel,
) -> Outcome<IssuerModel, Private> {
    let host = host(aws, host_name).await?;
    let cfg = on(cfg, &host);
    let path = cfg.path.clone().unwrap_or_default();
    let issuer = desired::issuer_url(&cfg, &host.bucket, aws.id);
    let existing = oidc_provider::existing(aws, &cfg, &issuer).await?;
    let mut private = Private::new(aws.id, format!("irsa-{}", cfg.name));
    let adopt = match existing {
        Existing::Adopted(p) => {
            private.adopted_oidc_provider = Some(p.arn.clone());
            Some(p)
        }
        Existing::Ours(p) => Some(p),
        Existing::None => None,
    };
    match documents::claim(aws, &cfg, &host.bucket, &issuer, &path).await {
        Ok(()) => {}
        Err(PathTaken::By(owner)) => {
            return Err(
                path_taken(&owner, &path, host_name, &issuer, "Nothing was written.").into(),
            )
        }
        Err(PathTaken::Failed(d)) => return Err(d.into()),
    }
    let mut state = state_after(&cfg, planned, &host, &issuer, &aws.id.region);
    let made = async {
        documents::put(aws, &cfg, &host.bucket, &issuer, &cfg.jwks).await?;
        let warnings = match cfg.site.hosting {
            Hosting::S3 => Box::pin(checks::world_readable(aws.ctx, &issuer)).await?,
            Hosting::CloudFront => Diagnostics::default(),
        };
        let arn = oidc_provider::create(aws, &cfg, &issuer, adopt).await?;
        Ok::<_, Diagnostics>((arn, warnings))
    };
    match made.await {
        Ok((arn, warnings)) => {
            state.oidc_provider_arn = Tf::Known(arn);
            Ok(Saved {
                state,
                private,
                warnings,
            })
        }
        Err(diagnostics) => {
            // The path is claimed: recorded, so the next run (the resource
            // is then tainted) removes the documents.
            state.oidc_provider_arn = Tf::Null;
            Err(Failed {
                diagnostics,
                state: Some(state),
                private: Some(private),
            })
        }
    }
}

fn state_after(
    cfg: &Config,
    planned: IssuerModel,
    host: &Host,
    issuer: &str,
    region: &str,
) -> IssuerModel {
    let mut s = planned;
    s.id = Tf::Known(cfg.name.clone());
    host_attrs(&mut s, cfg, host, region);
    set_issuer_attrs(&mut s, issuer, &cfg.jwks, cfg);
    s.retained_keys = Tf::Known(vec![]);
    s.null_unknown_computed();
    s
}

/// What the issuer owns as AWS holds it: its documents and IAM OIDC
/// provider (three reads at once); `None` when its documents are gone
/// with the host's bucket.
pub(super) async fn refresh(
    aws: &Aws<'_>,
    mut state: IssuerModel,
) -> Result<Option<IssuerModel>, Diagnostics> {
    let (Some(bucket), Some(path)) = (state.bucket.known().cloned(), state.path.known().cloned())
    else {
        return Ok(None);
    };
    let (docs, provider) = aws
        .ctx
        .run(async {
            tokio::join!(
                Box::pin(documents::observe(aws, &bucket, Some(&path))),
                Box::pin(oidc_provider::observe(
                    aws,
                    state.oidc_provider_arn.as_deref()
                )),
            )
        })
        .await?;
    let Some(docs) = docs.context("Cannot read the issuer's documents")? else {
        tracing::info!(target: "irsa::oidc_issuer", bucket = %bucket, "the host's bucket is gone: removing the issuer from state");
        return Ok(None);
    };
    state.documents = Tf::Known(docs);
    super::refresh::record_provider(
        &mut state,
        provider.context("Cannot read the IAM OIDC provider")?,
    );
    Ok(Some(state))
}

/// New keys (published, and `/<path>/*` invalidated with CloudFront), and
/// the IAM OIDC provider as configured.
pub(super) async fn update(
    aws: &Aws<'_>,
    cfg: &Config,
    prior: &IssuerModel,
    mut state: IssuerModel,
    private: Private,
) -> Outcome<IssuerModel, Private> {
    super::update::stamp_removed_keys(
        &mut state,
        cfg.key_retention,
        time::OffsetDateTime::now_utc(),
    );
    let steps = async {
        let bucket = prior.bucket.as_deref().unwrap_or_default();
        let issuer = prior.issuer_url.as_deref().unwrap_or_default();
        if prior.documents != state.documents {
            let published = state
                .published_jwks
                .as_deref()
                .and_then(|j| crate::oidc::parse_jwks(j).ok())
                .unwrap_or_else(|| cfg.jwks.clone());
            documents::put(aws, cfg, bucket, issuer, &published).await?;
            if let Some(d) = state.distribution_id.as_deref() {
                documents::invalidate(aws, d, cfg.path.as_deref()).await?;
            }
        }
        super::update::reconcile_oidc_provider(aws, cfg, prior, &mut state).await
    };
    match steps.await {
        Ok(()) => {
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

/// Its IAM OIDC provider and its documents; the host and its other issuers
/// stay.
pub(super) async fn delete(aws: &Aws<'_>, prior: &IssuerModel) -> Result<(), Diagnostics> {
    let name = prior.name.as_deref().unwrap_or_default();
    let provider = oidc_provider::find(
        aws,
        prior.oidc_provider_arn.as_deref(),
        prior.issuer_url.as_deref(),
        name,
    )
    .await?;
    if let Some(arn) = provider {
        oidc_provider::remove(aws, &arn).await?;
    }
    if let (Some(bucket), Some(path)) = (prior.bucket.as_deref(), prior.path.as_deref()) {
        documents::remove(aws, bucket, path).await?;
    }
    Ok(())
}

/// An issuer on a host, found by its name: its IAM OIDC provider carries
/// `irsa:name` and `irsa:host`; `None` when no provider does.
pub(super) async fn import(
    aws: &Aws<'_>,
    name: &str,
) -> Result<Option<(IssuerModel, Private)>, Diagnostics> {
    let Some(provider) = provider_named(aws, name).await? else {
        return Ok(None);
    };
    import_provider(aws, name, &provider).await
}

/// The issuer `name` whose IAM OIDC provider (tagged `irsa:name` and
/// `irsa:host`) is `provider`, read as an import reads it; `None` when its
/// documents are gone with the host's bucket.
pub(super) async fn import_provider(
    aws: &Aws<'_>,
    name: &str,
    provider: &iam::OidcProvider,
) -> Result<Option<(IssuerModel, Private)>, Diagnostics> {
    let host_name = provider
        .tags
        .get(desired::HOST_TAG)
        .cloned()
        .unwrap_or_default();
    let host = host(aws, &host_name).await?;
    let site_url = desired::site_url(&host.site, &host.bucket, aws.id);
    let issuer = format!("https://{}", provider.url);
    let Some(path) = issuer
        .strip_prefix(&format!("{site_url}/"))
        .map(str::to_string)
    else {
        return Err(Diagnostic::error(
            "Issuer not below its host",
            format!(
                "The IAM OIDC provider {} of the issuer {name:?} is for {issuer}, which is not below its host {host_name:?} ({site_url}).",
                provider.arn
            ),
        )
        .into());
    };
    let published = published_keys(aws, &host.bucket, &path, name).await?;
    let canonical =
        Json::parse(published.canonical_json()).context("The published JWKS is unusable")?;
    let config = IssuerModel {
        name: Tf::Known(name.to_string()),
        host: Tf::Known(host_name),
        path: Tf::Known(path.clone()),
        jwks: Tf::Known(canonical),
        client_ids: Tf::list(provider.client_ids.clone()),
        ..IssuerModel::default()
    };
    let mut v = config.clone();
    v.apply_defaults(&config);
    let cfg = on(Config::from_model(&v)?, &host);
    v.id = Tf::Known(name.to_string());
    v.thumbprints = Tf::list(vec![]);
    v.adopt_existing_oidc_provider = Tf::Known(false);
    v.oidc_provider_arn = Tf::Known(provider.arn.clone());
    host_attrs(&mut v, &cfg, &host, &aws.id.region);
    set_issuer_attrs(&mut v, &issuer, &published, &cfg);
    v.retained_keys = Tf::Known(vec![]);
    let private = Private::new(aws.id, format!("irsa-{name}"));
    Ok(refresh(aws, v).await?.map(|s| (s, private)))
}

/// The IAM OIDC provider tagged `irsa:name=<name>` and `irsa:host`.
async fn provider_named(
    aws: &Aws<'_>,
    name: &str,
) -> Result<Option<iam::OidcProvider>, Diagnostics> {
    let wanted =
        |p: &iam::OidcProvider| p.tags.get(desired::NAME_TAG).map(String::as_str) == Some(name);
    Ok(providers_on_hosts(aws, wanted, true).await?.pop())
}

/// The IAM OIDC providers of issuers on hosts (tagged `irsa:name` and
/// `irsa:host`) that `wanted` keeps, in the order IAM lists them; with
/// `first_only`, the reads stop at the first one kept. Import finds an
/// issuer on a host by its provider, the list resource every such issuer.
pub(super) async fn providers_on_hosts(
    aws: &Aws<'_>,
    wanted: impl Fn(&iam::OidcProvider) -> bool,
    first_only: bool,
) -> Result<Vec<iam::OidcProvider>, Diagnostics> {
    let arns = iam::list_oidc_provider_arns(&aws.clients.iam)
        .await
        .context("Cannot list the IAM OIDC providers")?;
    let mut found = Vec::new();
    // Only a URL with a path can be on a host.
    for arn in arns.iter().filter(|a| {
        a.split_once("oidc-provider/")
            .is_some_and(|(_, u)| u.contains('/'))
    }) {
        let p = iam::get_oidc_provider(&aws.clients.iam, arn)
            .await
            .context("Cannot read the IAM OIDC provider")?;
        if let Some(p) = p.filter(|p| {
            p.tags.contains_key(desired::NAME_TAG)
                && p.tags.contains_key(desired::HOST_TAG)
                && wanted(p)
        }) {
            found.push(p);
            if first_only {
                break;
            }
        }
    }
    Ok(found)
}

/// The JWKS the issuer publishes at `path`, which must be its own.
async fn published_keys(
    aws: &Aws<'_>,
    bucket: &str,
    path: &str,
    name: &str,
) -> Result<Jwks, Diagnostics> {
    let [_, key] = desired::document_keys(Some(path));
    let obj = s3::get_object(&aws.clients.s3, bucket, &key)
        .await
        .context("Cannot read the JWKS")?
        .filter(|o| o.owner.as_deref() == Some(name))
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Issuer has no JWKS",
                format!("{bucket} holds no {key} published by the issuer {name:?}."),
            ))
        })?;
    crate::oidc::parse_jwks(&String::from_utf8_lossy(&obj.body))
        .context("The published JWKS is unusable")
}
