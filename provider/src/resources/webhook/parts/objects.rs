//! The webhook's Kubernetes objects: their desired form comes from
//! `webhook::manifests::render`; observe compares each with the cluster
//! (drift of the fields we own), reconcile applies them with server-side
//! apply in order (the webhook configuration only once the Deployment has
//! rolled out), remove deletes them, the webhook configuration first.

use std::collections::BTreeMap;
use std::fmt;

use super::super::model::{Config, ObjectModel, WebhookModel};
use super::{certificates, rollout};
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, Kind, Object, ObjectId, TlsMaterial, FIELD_MANAGER};
use tfplugin::{Ctx, Diagnostics, ErrorContext, Tf};

/// At most this many drifted fields are named per object.
const MAX_PATHS: usize = 6;

/// What `objects[*].status` says of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Applied,
    /// A failed apply did not reach it.
    NotApplied,
    /// Refresh found it gone.
    Missing,
    /// Refresh found these fields changed (at most [`MAX_PATHS`] named).
    Drifted(String),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Applied => f.write_str("applied"),
            Status::NotApplied => f.write_str("not applied"),
            Status::Missing => f.write_str("missing"),
            Status::Drifted(fields) => write!(f, "drifted: {fields}"),
        }
    }
}

impl Status {
    pub fn parse(text: &str) -> Status {
        match text {
            "applied" => Status::Applied,
            "not applied" => Status::NotApplied,
            "missing" => Status::Missing,
            other => Status::Drifted(other.trim_start_matches("drifted: ").to_string()),
        }
    }

    fn of_drift(mut paths: Vec<String>) -> Status {
        if paths.is_empty() {
            return Status::Applied;
        }
        let more = paths.len().saturating_sub(MAX_PATHS);
        paths.truncate(MAX_PATHS);
        let mut s = paths.join(", ");
        if more > 0 {
            s.push_str(&format!(" and {more} more"));
        }
        Status::Drifted(s)
    }
}

/// The `objects` list for `objects`, each with its status.
pub fn listed(objects: &[Object], status: impl Fn(&ObjectId) -> Status) -> Vec<ObjectModel> {
    objects
        .iter()
        .map(|o| ObjectModel {
            kind: Tf::Known(o.id.kind.to_string()),
            namespace: Tf::Known(o.id.namespace.clone()),
            name: Tf::Known(o.id.name.clone()),
            status: Tf::Known(status(&o.id).to_string()),
        })
        .collect()
}

/// The objects a plan expects: every one applied.
pub fn desired(cfg: &Config) -> Vec<ObjectModel> {
    listed(
        &manifests::render(&cfg.spec, &TlsMaterial::default()),
        |_| Status::Applied,
    )
}

/// The ids a state lists (objects of an older configuration included).
fn recorded(state: &WebhookModel, namespace: &str) -> Vec<(ObjectId, Status)> {
    state
        .objects
        .known()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let kind = Kind::parse(o.kind.as_deref()?)?;
            let ns = o
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace);
            let status = Status::parse(o.status.as_deref().unwrap_or("applied"));
            Some((ObjectId::new(kind, ns, o.name.as_deref()?), status))
        })
        .collect()
}

/// The status refresh recorded for an object (applied when not listed).
pub fn recorded_status(state: &WebhookModel, id: &ObjectId) -> Status {
    recorded(state, &id.namespace)
        .into_iter()
        .find(|(r, _)| r == id)
        .map_or(Status::Applied, |(_, s)| s)
}

/// What the cluster holds now, as state; `None` when every object is gone.
pub async fn observe(
    ctx: &Ctx,
    client: &KubeClient,
    mut state: WebhookModel,
) -> Result<Option<WebhookModel>, Diagnostics> {
    let cfg = Config::from_model(&state);
    let objects = manifests::render(&cfg.spec, &certificates::of_state(&state));
    let mut statuses: BTreeMap<ObjectId, Status> = BTreeMap::new();
    for o in &objects {
        let live = ctx
            .run(client.get_object(&o.id))
            .await?
            .context(&format!("Cannot read {}", o.id.describe()))?;
        let status = live.map_or(Status::Missing, |live| drift(o, &live));
        tracing::debug!(target: "irsa::webhook", object = %o.id.describe(), %status, "refreshed");
        statuses.insert(o.id.clone(), status);
    }
    if statuses.values().all(|s| *s == Status::Missing) {
        return Ok(None);
    }
    state.objects = Tf::Known(listed(&objects, |id| {
        statuses.get(id).cloned().unwrap_or(Status::Missing)
    }));
    Ok(Some(state))
}

fn drift(o: &Object, live: &serde_json::Value) -> Status {
    let mut paths = manifests::drift(&o.body, live);
    if o.id.kind == Kind::Secret && live["data"]["tls.key"].as_str().is_none_or(str::is_empty) {
        paths.push(".data.tls.key".into());
    }
    let ours = live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER));
    if !ours {
        paths.push(format!("(no fields owned by {FIELD_MANAGER})"));
    }
    Status::of_drift(paths)
}

/// Applies every object: a new CA reaches the webhook configuration's
/// caBundle before any pod serves a certificate it signed; the webhook
/// configuration comes after the rollout; objects no longer wanted (the
/// PodDisruptionBudget when replicas drops to 1) are deleted. Returns the
/// objects with what was applied, and the first failure.
pub async fn reconcile(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    prior: Option<&WebhookModel>,
    tls: &TlsMaterial,
) -> (Vec<ObjectModel>, Result<(), Diagnostics>) {
    let objects = manifests::render(&cfg.spec, tls);
    let mut done: Vec<ObjectId> = Vec::new();
    let result = apply_in_order(ctx, client, cfg, prior, &objects, tls, &mut done).await;
    let status = |id: &ObjectId| match (&result, done.contains(id)) {
        (Ok(()), _) | (_, true) => Status::Applied,
        (Err(_), false) => Status::NotApplied,
    };
    (listed(&objects, status), result)
}

async fn apply_in_order(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    prior: Option<&WebhookModel>,
    objects: &[Object],
    tls: &TlsMaterial,
    done: &mut Vec<ObjectId>,
) -> Result<(), Diagnostics> {
    let (mwc, rest): (Vec<&Object>, Vec<&Object>) = objects
        .iter()
        .partition(|o| o.id.kind == Kind::MutatingWebhookConfiguration);
    let adds_ca = prior.is_some_and(|p| {
        p.ca_certificate
            .as_deref()
            .is_some_and(|c| c.trim() != tls.ca_cert_pem.trim())
    });
    if adds_ca && exists(client, &mwc).await? {
        apply_all(ctx, client, cfg, &mwc, done).await?;
    }
    apply_all(ctx, client, cfg, &rest, done).await?;
    if cfg.spec.wait_for_rollout {
        rollout::wait(ctx, client, cfg).await?;
    }
    apply_all(ctx, client, cfg, &mwc, done).await?;
    if let Some(p) = prior {
        let unwanted = recorded(p, &cfg.spec.namespace)
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !objects.iter().any(|o| &o.id == id));
        for id in unwanted {
            client
                .delete_object_and_wait(ctx, &id)
                .await
                .context(&format!("Cannot delete {}", id.describe()))?;
        }
    }
    Ok(())
}

async fn exists(client: &KubeClient, objects: &[&Object]) -> Result<bool, Diagnostics> {
    match objects.first() {
        Some(o) => Ok(client
            .get_object(&o.id)
            .await
            .context("Cannot read the webhook configuration")?
            .is_some()),
        None => Ok(false),
    }
}

async fn apply_all(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    objects: &[&Object],
    done: &mut Vec<ObjectId>,
) -> Result<(), Diagnostics> {
    for o in objects {
        ctx.run(client.apply_object(&o.id, &o.body, cfg.spec.force_conflicts))
            .await?
            .context(&format!("Cannot apply {}", o.id.describe()))?;
        if !done.contains(&o.id) {
            done.push(o.id.clone());
        }
    }
    Ok(())
}

/// Destroy: the MutatingWebhookConfiguration first (so no pod creation
/// waits on a webhook that is going away), then everything else in reverse
/// order, each waited for until it is gone.
pub async fn remove(
    ctx: &Ctx,
    client: &KubeClient,
    state: &WebhookModel,
) -> Result<(), Diagnostics> {
    let cfg = Config::from_model(state);
    let mut ids: Vec<ObjectId> = manifests::render(&cfg.spec, &certificates::of_state(state))
        .into_iter()
        .map(|o| o.id)
        .collect();
    // Anything else the state lists (e.g. a PodDisruptionBudget of before).
    for (id, _) in recorded(state, &cfg.spec.namespace) {
        if !ids.contains(&id) {
            ids.insert(0, id);
        }
    }
    ids.sort_by_key(|id| id.kind != Kind::MutatingWebhookConfiguration);
    let (first, rest) = ids.split_at(1.min(ids.len()));
    for id in first.iter().chain(rest.iter().rev()) {
        client
            .delete_object_and_wait(ctx, id)
            .await
            .context(&format!("Cannot delete {}", id.describe()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_written() {
        for s in [
            Status::Applied,
            Status::NotApplied,
            Status::Missing,
            Status::Drifted(".spec.replicas".into()),
        ] {
            assert_eq!(Status::parse(&s.to_string()), s);
        }
        let many: Vec<String> = (0..8).map(|i| format!(".f{i}")).collect();
        assert_eq!(
            Status::of_drift(many).to_string(),
            "drifted: .f0, .f1, .f2, .f3, .f4, .f5 and 2 more"
        );
        assert_eq!(Status::of_drift(vec![]), Status::Applied);
    }
}
