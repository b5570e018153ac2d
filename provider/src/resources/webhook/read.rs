//! Refresh (drift of every object) and import by `<namespace>/<name>`.

use std::collections::BTreeMap;

use super::apply::{secret_text, set_certificates};
use super::model::{self, Config, WebhookModel};
use super::{object_error, objects_list, tls_of_state, APPLIED, MISSING};
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, ObjectId, Spec, TlsMaterial, FIELD_MANAGER};
use tfplugin::{Ctx, Diagnostic, Diagnostics, Tf};

/// At most this many drifted fields are named per object.
const MAX_PATHS: usize = 6;

/// What the cluster holds now, as state; `None` when every object is gone.
pub(super) async fn refresh(
    ctx: &Ctx,
    client: &KubeClient,
    mut state: WebhookModel,
) -> Result<Option<WebhookModel>, Diagnostics> {
    let cfg = Config::from_model(&state)?;
    let objects = manifests::render(&cfg.spec, &tls_of_state(&state));
    let mut statuses: BTreeMap<ObjectId, String> = BTreeMap::new();
    let mut any = false;
    for o in &objects {
        let live = ctx
            .run(client.get_object(&o.id))
            .await
            .map_err(|why| Diagnostics::from(Diagnostic::from(why)))?
            .map_err(|e| object_error(&format!("Cannot read {}", o.id.describe()), e))?;
        let status = match live {
            None => MISSING.to_string(),
            Some(live) => {
                any = true;
                let mut paths = manifests::drift(&o.body, &live);
                if o.id.kind == "Secret"
                    && live["data"]["tls.key"].as_str().is_none_or(str::is_empty)
                {
                    paths.push(".data.tls.key".into());
                }
                let ours = live["metadata"]["managedFields"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER));
                if !ours {
                    paths.push(format!("(no fields owned by {FIELD_MANAGER})"));
                }
                describe(paths)
            }
        };
        tracing::debug!(target: "irsa::webhook", object = %o.id.describe(), %status, "refreshed");
        statuses.insert(o.id.clone(), status);
    }
    if !any {
        return Ok(None);
    }
    state.objects = Tf::Known(objects_list(&cfg.spec, |id| {
        statuses
            .get(id)
            .cloned()
            .unwrap_or_else(|| MISSING.to_string())
    }));
    Ok(Some(state))
}

fn describe(mut paths: Vec<String>) -> String {
    if paths.is_empty() {
        return APPLIED.to_string();
    }
    let more = paths.len().saturating_sub(MAX_PATHS);
    paths.truncate(MAX_PATHS);
    let mut s = format!("drifted: {}", paths.join(", "));
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// The state of the webhook `namespace/name`, from its objects: the
/// settings recorded on the Deployment, the certificates in its Secrets and
/// the caBundle of its webhook configuration.
pub(super) async fn import(
    ctx: &Ctx,
    client: &KubeClient,
    namespace: &str,
    name: &str,
) -> Result<WebhookModel, Diagnostics> {
    let get = |id: ObjectId| async move {
        client
            .get_object(&id)
            .await
            .map_err(|e| object_error(&format!("Cannot read {}", id.describe()), e))
    };
    let dep_id = ObjectId::of("Deployment", namespace, name).expect("kind");
    let not_ours = |why: String| {
        Diagnostics::from(Diagnostic::error(
            "Cannot import the webhook",
            format!(
                "{} {why}; only a webhook made by irsa_webhook can be imported.",
                dep_id.describe()
            ),
        ))
    };
    let dep = get(dep_id.clone())
        .await?
        .ok_or_else(|| not_ours("does not exist".into()))?;
    let settings = dep["metadata"]["annotations"][manifests::SETTINGS_ANNOTATION]
        .as_str()
        .ok_or_else(|| {
            not_ours(format!(
                "has no annotation {}",
                manifests::SETTINGS_ANNOTATION
            ))
        })?;
    let spec: Spec = serde_json::from_str(settings).map_err(|e| {
        not_ours(format!(
            "has an unreadable {} annotation ({e})",
            manifests::SETTINGS_ANNOTATION
        ))
    })?;
    if spec.namespace != namespace || spec.name != name {
        return Err(not_ours("records the settings of another webhook".into()));
    }
    let names = spec.names();
    let secret = |n: &str| ObjectId::of("Secret", namespace, n).expect("kind");
    let cert_of = |s: Option<serde_json::Value>| {
        s.and_then(|s| secret_text(&s, "tls.crt"))
            .unwrap_or_default()
    };
    let serving = cert_of(get(secret(&names.serving_secret)).await?);
    let ca = cert_of(get(secret(&names.ca_secret)).await?);
    let mwc = get(ObjectId::of(
        "MutatingWebhookConfiguration",
        namespace,
        &names.webhook_configuration,
    )
    .expect("kind"))
    .await?;
    let bundle = mwc
        .as_ref()
        .and_then(|m| {
            m["webhooks"].as_array()?.first()?["clientConfig"]["caBundle"]
                .as_str()
                .map(str::to_string)
        })
        .and_then(|b| manifests::bundle_from_base64(&b))
        .unwrap_or_else(|| crate::webhook::tls::ca_bundle(&[&ca]));

    let mut m = WebhookModel::default();
    model::set_arguments(&mut m, &spec);
    model::set_blocks(&mut m, &spec);
    set_certificates(
        &mut m,
        &TlsMaterial {
            ca_cert_pem: ca,
            ca_key_pem: None,
            serving_cert_pem: serving,
            serving_key_pem: None,
            ca_bundle_pem: bundle,
        },
    );
    refresh(ctx, client, m)
        .await?
        .ok_or_else(|| not_ours("is gone".into()))
}
