//! List resource `irsa_oidc_issuer` (`terraform query`, Terraform 1.14+):
//! the issuers this provider made in the account of its credentials, found
//! by the `irsa:name` tag of their buckets (`<name>-oidc-<account>`), with
//! either hosting.

use async_trait::async_trait;

use super::identity::{self, IssuerIdentity};
use super::import;
use super::model::check_name;
use super::parts::{bucket, Aws};
use super::{desired, OidcIssuer};
use crate::aws::s3;
use tfplugin::list::{Found, List};
use tfplugin::validate::Invalid;
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, ListResource, Model, Tf};

/// Finds the issuers this provider made in the account of its credentials, both hostings, by the `irsa:name` tag
/// of their buckets; each with its identity (`name`, `account_id`) and its issuer URL as display name.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct IssuerListConfig {
    /// Only issuers whose `name` starts with this.
    #[tf(optional, validate = name_prefix)]
    pub name_prefix: Tf<String>,
}

fn name_prefix(p: &String) -> Result<(), Invalid> {
    // A prefix of a valid name is a valid name unless it is empty.
    if p.is_empty() {
        return Ok(());
    }
    check_name(p).map_err(|why| Invalid::new("Invalid name prefix", why))
}

pub struct IssuerList(pub OidcIssuer);

#[async_trait]
impl ListResource for IssuerList {
    type Resource = OidcIssuer;
    type Config = IssuerListConfig;

    async fn list(
        &self,
        ctx: &Ctx,
        req: List<IssuerListConfig>,
        found: &mut Found<OidcIssuer>,
    ) -> Result<(), Diagnostics> {
        let prefix = req
            .config
            .name_prefix
            .as_deref()
            .unwrap_or_default()
            .to_string();
        let clients = self.0.clients().await?;
        let id = self.0.aws_identity(&clients).await?;
        let aws = Aws {
            ctx,
            clients: &clients,
            id: &id,
        };
        let suffix = format!("-oidc-{}", id.account_id);
        let mut buckets = ctx
            .run(s3::list_bucket_names(&clients.s3))
            .await?
            .context("Cannot list the account's S3 buckets")?;
        buckets.sort();
        for bucket_name in buckets {
            let Some(name) = bucket_name.strip_suffix(&suffix) else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
            // Only a bucket this provider made, for that very name.
            let tags = match ctx
                .run(s3::get_bucket_tags(&clients.s3, &bucket_name))
                .await?
            {
                Ok(t) => t,
                Err(e) => {
                    found
                        .warn(
                            Diagnostic::warning(
                                "Cannot read a bucket's tags",
                                format!("{bucket_name} is left out of the list: {e}"),
                            )
                            .into(),
                        )
                        .await;
                    continue;
                }
            };
            if tags.get(desired::NAME_TAG).map(String::as_str) != Some(name) {
                continue;
            }
            let identity = IssuerIdentity {
                name: name.to_string(),
                account_id: Some(id.account_id.clone()),
            };
            let more = if found.include_resource() {
                match import::import(&aws, name).await {
                    Ok((state, private)) => {
                        let identity =
                            identity::of_state(&state, Some(&private)).unwrap_or(identity);
                        let display = state.issuer_url.as_deref().unwrap_or(name).to_string();
                        found.send(&identity, display, Some(&state)).await
                    }
                    Err(d) => {
                        found.warn(left_out(name, d)).await;
                        true
                    }
                }
            } else {
                let (hosting, _) = bucket::hosting_of_tags(&tags);
                match import::locate(&aws, name, &bucket_name, hosting).await {
                    Ok((issuer, _)) => found.send(&identity, issuer, None).await,
                    Err(d) => {
                        found.warn(left_out(name, d)).await;
                        true
                    }
                }
            };
            if !more {
                break;
            }
        }
        Ok(())
    }
}

/// An issuer that cannot be read is listed as a warning, not an error: the
/// others are still found.
fn left_out(name: &str, d: Diagnostics) -> Diagnostics {
    let why: Vec<String> =
        d.0.iter()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect();
    Diagnostic::warning(
        "Issuer left out of the list",
        format!("The issuer {name:?} cannot be read: {}", why.join("; ")),
    )
    .into()
}
