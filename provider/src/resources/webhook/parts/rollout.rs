//! The wait between the Deployment and the webhook configuration: as
//! `kubectl rollout status`; a `ProgressDeadlineExceeded` ends it at once,
//! with the pods' recent events. The webhook configuration is applied only
//! after it, so pods are never sent to a webhook that cannot answer.

use std::time::Duration;

use super::super::model::Config;
use crate::kube::KubeClient;
use crate::webhook::manifests::{Kind, ObjectId};
use crate::webhook::rollout::{self, Rollout};
use tfplugin::validate::human;
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext, Interrupted};

const POLL: Duration = Duration::from_secs(2);

pub async fn wait(ctx: &Ctx, client: &KubeClient, cfg: &Config) -> Result<(), Diagnostics> {
    let names = cfg.spec.names();
    let id = ObjectId::new(Kind::Deployment, &cfg.spec.namespace, &names.deployment);
    let events = || pod_events(client, cfg);
    let mut last;
    loop {
        let live = ctx
            .run(client.get_object(&id))
            .await?
            .context("Cannot read the Deployment")?;
        let Some(live) = live else {
            return Err(Diagnostic::error(
                "Deployment gone during the rollout",
                format!(
                    "{} was deleted while waiting for it to roll out.",
                    id.describe()
                ),
            )
            .into());
        };
        match rollout::status(&live) {
            Rollout::Done => return Ok(()),
            Rollout::Failed { reason, message } => {
                return Err(Diagnostic::error(
                    "The webhook did not roll out",
                    format!(
                        "{} failed to roll out: {reason}: {message}{}",
                        id.describe(),
                        events().await
                    ),
                )
                .into());
            }
            Rollout::Waiting(w) => last = w,
        }
        if let Err(why) = ctx.sleep(POLL).await {
            let detail = match why {
                Interrupted::DeadlineExceeded => {
                    let within = match ctx.timeout() {
                        Some((op, t)) => format!("within `timeouts.{}` ({})", op.as_str(), human(t)),
                        None => "in time".to_string(),
                    };
                    format!(
                        "{} did not finish rolling out {within}: {last}. The webhook configuration was not applied, so pods are not blocked.{}",
                        id.describe(),
                        events().await
                    )
                }
                Interrupted::Stopped => format!(
                    "Terraform asked the provider to stop while waiting for {} to roll out ({last}); the webhook configuration was not applied.",
                    id.describe()
                ),
            };
            return Err(Diagnostic::error("The webhook did not roll out", detail).into());
        }
    }
}

async fn pod_events(client: &KubeClient, cfg: &Config) -> String {
    let selector = format!(
        "app.kubernetes.io/name=pod-identity-webhook,app.kubernetes.io/instance={}",
        cfg.spec.name
    );
    let lines = client.pod_events(&cfg.spec.namespace, &selector, 10).await;
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n\nRecent events of its pods:\n{}", lines.join("\n"))
    }
}
