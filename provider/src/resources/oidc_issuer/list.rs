//! List resource `irsa_oidc_issuer` (`terraform query`, Terraform 1.14+):
//! the issuers this provider made in the account of its credentials, with
//! either hosting: standalone ones by the `irsa:name` tag of their buckets
//! (`<name>-oidc-<account>`; an `irsa_issuer_host`'s bucket is not an
//! issuer), those on an `irsa_issuer_host` by their IAM OIDC providers,
//! tagged `irsa:name` and `irsa:host`. Listed by name.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::identity::{self, IssuerIdentity};
use super::model::check_name;
use super::parts::{bucket, Aws};
use super::{desired, import, on_host, OidcIssuer};
use crate::aws::{iam, s3};
use tfplugin::list::{Found, List};
use tfplugin::validate::Invalid;
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, ListResource, Model, Tf};

/// Finds the issuers this provider made in the account of its credentials, both hostings and those on an
/// `irsa_issuer_host`: standalone ones by the `irsa:name` tag of their buckets, those on a host by the `irsa:name`
/// and `irsa:host` tags of their IAM OIDC providers; each with its identity (`name`, `account_id`) and its issuer URL
/// as display name.
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

/// An issuer found, before it is read.
enum Candidate {
    /// Its own bucket and the bucket's tags.
    Standalone {
        bucket: String,
        tags: BTreeMap<String, String>,
    },
    /// Its IAM OIDC provider, on the host its `irsa:host` tag names.
    OnHost(iam::OidcProvider),
}

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
        let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();

        // Standalone issuers: a bucket `<name>-oidc-<account>` tagged with
        // that very name, not a host's.
        let suffix = format!("-oidc-{}", id.account_id);
        let buckets = ctx
            .run(s3::list_bucket_names(&clients.s3))
            .await?
            .context("Cannot list the account's S3 buckets")?;
        for bucket_name in buckets {
            let Some(name) = bucket_name.strip_suffix(&suffix) else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
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
            if tags.get(desired::NAME_TAG).map(String::as_str) != Some(name)
                || bucket::is_host(&tags)
            {
                continue;
            }
            candidates.insert(
                name.to_string(),
                Candidate::Standalone {
                    bucket: bucket_name,
                    tags,
                },
            );
        }

        // Issuers on a host: their IAM OIDC providers.
        let on_hosts = ctx
            .run(on_host::providers_on_hosts(
                &aws,
                |p| {
                    p.tags
                        .get(desired::NAME_TAG)
                        .is_some_and(|n| n.starts_with(&prefix))
                },
                false,
            ))
            .await??;
        for p in on_hosts {
            let name = p.tags[desired::NAME_TAG].clone();
            if candidates.contains_key(&name) {
                // Import by this name (or identity) finds the standalone
                // issuer: this one cannot be told apart by its identity.
                found
                    .warn(
                        Diagnostic::warning(
                            "Issuer left out of the list",
                            format!(
                                "The issuer {name:?} on the host {:?} ({}) has the name of a standalone issuer in \
                                 this account, which an import by that name or identity finds instead.",
                                p.tags.get(desired::HOST_TAG).cloned().unwrap_or_default(),
                                p.arn
                            ),
                        )
                        .into(),
                    )
                    .await;
                continue;
            }
            candidates.insert(name, Candidate::OnHost(p));
        }

        for (name, candidate) in &candidates {
            let identity = IssuerIdentity {
                name: name.clone(),
                account_id: Some(id.account_id.clone()),
            };
            let more = if found.include_resource() {
                let read = match candidate {
                    Candidate::Standalone { .. } => import::import(&aws, name).await.map(Some),
                    Candidate::OnHost(p) => on_host::import_provider(&aws, name, p).await,
                };
                match read {
                    Ok(Some((state, private))) => {
                        let identity =
                            identity::of_state(&state, Some(&private)).unwrap_or(identity);
                        let display = state.issuer_url.as_deref().unwrap_or(name).to_string();
                        found.send(&identity, display, Some(&state)).await
                    }
                    Ok(None) => {
                        found
                            .warn(left_out(
                                name,
                                Diagnostic::error(
                                    "Issuer has no documents",
                                    "Its host's bucket is gone.",
                                )
                                .into(),
                            ))
                            .await;
                        true
                    }
                    Err(d) => {
                        found.warn(left_out(name, d)).await;
                        true
                    }
                }
            } else {
                let url = match candidate {
                    Candidate::Standalone { bucket, tags } => {
                        let (hosting, _) = bucket::hosting_of_tags(tags);
                        import::locate(&aws, name, bucket, hosting)
                            .await
                            .map(|(url, _)| url)
                    }
                    Candidate::OnHost(p) => Ok(format!("https://{}", p.url)),
                };
                match url {
                    Ok(url) => found.send(&identity, url, None).await,
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
