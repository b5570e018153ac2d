//! Destroy: the MutatingWebhookConfiguration first (so no pod creation
//! waits on a webhook that is going away), then everything else in reverse
//! order, each waited for until it is gone.

use super::model::{Config, WebhookModel};
use super::{object_error, tls_of_state};
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, ObjectId};
use tfplugin::{Ctx, Diagnostics};

pub(super) async fn delete(
    ctx: &Ctx,
    client: &KubeClient,
    state: &WebhookModel,
) -> Result<(), Diagnostics> {
    let cfg = Config::from_model(state)?;
    let mut ids: Vec<ObjectId> = manifests::render(&cfg.spec, &tls_of_state(state))
        .into_iter()
        .map(|o| o.id)
        .collect();
    // Anything else the state lists (e.g. a PodDisruptionBudget of before).
    for o in state.objects.known().into_iter().flatten() {
        let (Some(kind), Some(name)) = (o.kind.as_deref(), o.name.as_deref()) else {
            continue;
        };
        if let Some(id) = ObjectId::of(kind, &cfg.spec.namespace, name) {
            if !ids.contains(&id) {
                ids.insert(0, id);
            }
        }
    }
    ids.sort_by_key(|id| id.kind != "MutatingWebhookConfiguration");
    let (first, rest) = ids.split_at(1);
    for id in first.iter().chain(rest.iter().rev()) {
        client
            .delete_object_and_wait(ctx, id)
            .await
            .map_err(|e| object_error(&format!("Cannot delete {}", id.describe()), e))?;
    }
    Ok(())
}
