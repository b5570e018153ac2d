//! Import by `<namespace>/<name>`: the settings recorded on the
//! Deployment, the certificates in its Secrets and the caBundle of its
//! webhook configuration, then a refresh of every object.

use super::model::{self, WebhookModel};
use super::parts::{certificates, objects};
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, Kind, ObjectId, Spec, TlsMaterial};
use tfplugin::{Ctx, Diagnostic, Diagnostics, ErrorContext};

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
            .context(&format!("Cannot read {}", id.describe()))
    };
    let dep_id = ObjectId::new(Kind::Deployment, namespace, name);
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
    let secret = |n: &str| ObjectId::new(Kind::Secret, namespace, n);
    let cert_of = |s: Option<serde_json::Value>| {
        s.and_then(|s| certificates::secret_text(&s, "tls.crt"))
            .unwrap_or_default()
    };
    let serving = cert_of(get(secret(&names.serving_secret)).await?);
    let ca = cert_of(get(secret(&names.ca_secret)).await?);
    let mwc = get(ObjectId::new(
        Kind::MutatingWebhookConfiguration,
        namespace,
        &names.webhook_configuration,
    ))
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
    certificates::record(
        &mut m,
        &TlsMaterial {
            ca_cert_pem: ca,
            ca_key_pem: None,
            serving_cert_pem: serving,
            serving_key_pem: None,
            ca_bundle_pem: bundle,
        },
    );
    objects::observe(ctx, client, m)
        .await?
        .ok_or_else(|| not_ours("is gone".into()))
}
