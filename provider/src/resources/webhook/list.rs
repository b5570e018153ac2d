//! List resource `irsa_webhook` (`terraform query`, Terraform 1.14+): the
//! webhooks this provider installed in the configured cluster, found by the
//! labels and settings annotation of their Deployments.

use async_trait::async_trait;

use super::identity::{self, WebhookIdentity};
use super::{import, Webhook};
use crate::webhook::manifests::{self, Kind, Spec, FIELD_MANAGER};
use tfplugin::list::{Found, List};
use tfplugin::types::DnsLabel;
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, ListResource, Model, Tf};

/// Finds the pod identity webhooks this provider installed in the configured cluster, by the labels and the
/// settings annotation of their Deployments; each with its identity (`namespace`, `name`) and
/// `<namespace>/<name>` as display name.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct WebhookListConfig {
    /// Only webhooks in this namespace.
    #[tf(optional)]
    pub namespace: Tf<DnsLabel>,
}

pub struct WebhookList(pub Webhook);

#[async_trait]
impl ListResource for WebhookList {
    type Resource = Webhook;
    type Config = WebhookListConfig;

    async fn list(
        &self,
        ctx: &Ctx,
        req: List<WebhookListConfig>,
        found: &mut Found<Webhook>,
    ) -> Result<(), Diagnostics> {
        let client = self.0.client().await?;
        let selector = format!(
            "app.kubernetes.io/managed-by={FIELD_MANAGER},app.kubernetes.io/component=webhook"
        );
        let mut deployments = ctx
            .run(client.list_objects(Kind::Deployment, &selector))
            .await?
            .context("Cannot list the webhook Deployments")?;
        let only = req.config.namespace.known().map(|n| n.as_str().to_string());
        let key = |d: &serde_json::Value| {
            (
                d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        deployments.sort_by_key(key);
        for d in &deployments {
            let (namespace, name) = key(d);
            if only.as_ref().is_some_and(|n| *n != namespace) {
                continue;
            }
            // Only what records the settings of exactly this install.
            let ours = d["metadata"]["annotations"][manifests::SETTINGS_ANNOTATION]
                .as_str()
                .and_then(|s| serde_json::from_str::<Spec>(s).ok())
                .is_some_and(|s| s.namespace == namespace && s.name == name);
            if !ours {
                continue;
            }
            let wanted = WebhookIdentity {
                namespace: namespace.clone(),
                name: name.clone(),
            };
            let display = format!("{namespace}/{name}");
            let more = if found.include_resource() {
                match import::import(ctx, &client, &namespace, &name).await {
                    Ok(state) => {
                        let id = identity::of_state(&state).unwrap_or(wanted);
                        found.send(&id, display, Some(&state)).await
                    }
                    Err(d) => {
                        let why: Vec<String> =
                            d.0.iter()
                                .map(|d| format!("{}: {}", d.summary, d.detail))
                                .collect();
                        found
                            .warn(
                                Diagnostic::warning(
                                    "Webhook left out of the list",
                                    format!("{display} cannot be read: {}", why.join("; ")),
                                )
                                .into(),
                            )
                            .await;
                        true
                    }
                }
            } else {
                found.send(&wanted, display, None).await
            };
            if !more {
                break;
            }
        }
        Ok(())
    }
}
