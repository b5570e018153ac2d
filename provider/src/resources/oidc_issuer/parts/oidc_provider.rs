//! The IAM OIDC provider that makes IAM trust the issuer: its URL (the
//! issuer), client IDs (audiences), thumbprints and tags.

use super::super::desired;
use super::super::model::Config;
use super::Aws;
use crate::aws::iam::{self, OidcProvider};
use crate::aws::{AwsCallError, ErrorKind};
use tfplugin::{AttrPath, Diagnostic, Diagnostics, ErrorContext};

/// What a create finds at the issuer's URL.
pub enum Existing {
    None,
    /// Ours (tagged with the issuer's name), left behind when the issuer
    /// was dropped from state: taken back.
    Ours(OidcProvider),
    /// Someone else's, adopted on request (`adopt_existing_oidc_provider`):
    /// the same ARN, so every role that trusts it keeps working.
    Adopted(OidcProvider),
}

fn arn_for(aws: &Aws<'_>, issuer: &str) -> String {
    iam::oidc_provider_arn(
        &aws.id.account_id,
        aws.id.partition.as_str(),
        desired::host_path(issuer),
    )
}

/// The provider at the issuer's URL before a create; someone else's that
/// was not to be adopted refuses the create before anything is made.
pub async fn existing(aws: &Aws<'_>, cfg: &Config, issuer: &str) -> Result<Existing, Diagnostics> {
    let found = iam::get_oidc_provider(&aws.clients.iam, &arn_for(aws, issuer))
        .await
        .context("Cannot check for an existing OIDC provider")?;
    match found {
        None => Ok(Existing::None),
        Some(p) if p.tags.get(desired::NAME_TAG) == Some(&cfg.name) => Ok(Existing::Ours(p)),
        Some(p) if cfg.adopt_existing_oidc_provider => {
            tracing::info!(target: "irsa::oidc_issuer", arn = %p.arn, "adopting the existing IAM OIDC provider");
            Ok(Existing::Adopted(p))
        }
        Some(p) => Err(Diagnostic::error(
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
        .into()),
    }
}

/// Makes the provider, or takes over `existing` with this issuer's client
/// IDs, thumbprints (when set) and tags. Returns its ARN.
pub async fn create(
    aws: &Aws<'_>,
    cfg: &Config,
    issuer: &str,
    existing: Option<OidcProvider>,
) -> Result<String, Diagnostics> {
    let tags = desired::issuer_tags(cfg);
    let arn = match existing {
        Some(p) => {
            put_client_ids(aws, &p.arn, &p.client_ids, &cfg.client_ids).await?;
            put_thumbprints(aws, cfg, &p.arn, &p.thumbprints).await?;
            iam::set_tags(&aws.clients.iam, &p.arn, &p.tags, &tags)
                .await
                .context("Cannot tag the OIDC provider")?;
            p.arn
        }
        None => aws
            .ctx
            .run(iam::create_oidc_provider(
                &aws.clients.iam,
                issuer,
                &cfg.client_ids,
                &cfg.thumbprints,
                &tags,
            ))
            .await?
            .context("Cannot create the IAM OIDC provider")?,
    };
    tracing::debug!(target: "irsa::oidc_issuer", arn = %arn, "IAM trusts the issuer");
    Ok(arn)
}

/// A provider deleted out of band is made again with the same ARN (one
/// that exists by now is taken as it is).
pub async fn recreate(aws: &Aws<'_>, cfg: &Config, issuer: &str) -> Result<String, Diagnostics> {
    let made = iam::create_oidc_provider(
        &aws.clients.iam,
        issuer,
        &cfg.client_ids,
        &cfg.thumbprints,
        &desired::issuer_tags(cfg),
    )
    .await;
    match made {
        Err(e) if e.kind == ErrorKind::AlreadyExists => Ok(arn_for(aws, issuer)),
        other => other.context("Cannot create the IAM OIDC provider"),
    }
}

/// Client IDs and thumbprints as configured; tags when they changed.
pub async fn reconcile(
    aws: &Aws<'_>,
    cfg: &Config,
    arn: &str,
    current_ids: &[String],
    current_thumbprints: &[String],
    tags_changed: bool,
) -> Result<(), Diagnostics> {
    put_client_ids(aws, arn, current_ids, &cfg.client_ids).await?;
    put_thumbprints(aws, cfg, arn, current_thumbprints).await?;
    if tags_changed {
        let current = iam::get_oidc_provider(&aws.clients.iam, arn)
            .await
            .context("Cannot read the OIDC provider")?
            .map(|p| p.tags)
            .unwrap_or_default();
        iam::set_tags(&aws.clients.iam, arn, &current, &desired::issuer_tags(cfg))
            .await
            .context("Cannot tag the OIDC provider")?;
    }
    Ok(())
}

async fn put_client_ids(
    aws: &Aws<'_>,
    arn: &str,
    current: &[String],
    wanted: &[String],
) -> Result<(), Diagnostics> {
    if desired::same_items(current, wanted, false) {
        return Ok(());
    }
    iam::set_client_ids(&aws.clients.iam, arn, current, wanted)
        .await
        .context("Cannot update the client IDs")
}

/// Only thumbprints the user manages: with none configured, whatever IAM
/// keeps is left alone.
async fn put_thumbprints(
    aws: &Aws<'_>,
    cfg: &Config,
    arn: &str,
    current: &[String],
) -> Result<(), Diagnostics> {
    if cfg.thumbprints.is_empty() || desired::same_items(current, &cfg.thumbprints, true) {
        return Ok(());
    }
    iam::set_thumbprints(&aws.clients.iam, arn, &cfg.thumbprints)
        .await
        .context("Cannot update the thumbprints")
}

pub async fn observe(
    aws: &Aws<'_>,
    arn: Option<&str>,
) -> Result<Option<OidcProvider>, AwsCallError> {
    match arn {
        Some(arn) => iam::get_oidc_provider(&aws.clients.iam, arn).await,
        None => Ok(None),
    }
}

/// The recorded provider, or the one at the issuer's URL when it carries
/// our `irsa:name` (someone may have made one there since).
pub async fn find(
    aws: &Aws<'_>,
    recorded: Option<&str>,
    issuer: Option<&str>,
    issuer_name: &str,
) -> Result<Option<String>, Diagnostics> {
    if let Some(a) = recorded {
        return Ok(Some(a.to_string()));
    }
    let Some(issuer) = issuer else {
        return Ok(None);
    };
    Ok(
        iam::get_oidc_provider(&aws.clients.iam, &arn_for(aws, issuer))
            .await
            .context("Cannot read the IAM OIDC provider")?
            .filter(|p| p.tags.get(desired::NAME_TAG).map(String::as_str) == Some(issuer_name))
            .map(|p| p.arn),
    )
}

pub async fn remove(aws: &Aws<'_>, arn: &str) -> Result<(), Diagnostics> {
    iam::delete_oidc_provider(&aws.clients.iam, arn)
        .await
        .context("Cannot delete the IAM OIDC provider")
}

/// The provider at the issuer's URL, whoever made it (import).
pub async fn find_any(aws: &Aws<'_>, issuer: &str) -> Result<Option<OidcProvider>, Diagnostics> {
    iam::get_oidc_provider(&aws.clients.iam, &arn_for(aws, issuer))
        .await
        .context("Cannot read the IAM OIDC provider")
}
