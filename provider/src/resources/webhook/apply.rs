//! Create and update: make or reuse the certificates, apply every object
//! with server-side apply, wait for the rollout, and only then apply the
//! MutatingWebhookConfiguration (first instead, when a new CA must be in
//! caBundle before anything is served with it).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use time::OffsetDateTime;

use super::model::{self, Config, ObjectModel, WebhookModel};
use super::plan::CA_VALIDITY_FACTOR;
use super::{object_error, APPLIED};
use crate::kube::objects::ObjectError;
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, Object, ObjectId, TlsMaterial};
use crate::webhook::rollout::{self, Rollout};
use crate::webhook::tls::{self, KeyedCert};
use tfplugin::framework::Interrupted;
use tfplugin::{Ctx, Diagnostic, Diagnostics, Tf};

const NOT_APPLIED: &str = "not applied";
const POLL: Duration = Duration::from_secs(2);

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn tls_error(e: tls::TlsError) -> Diagnostics {
    Diagnostic::error("Cannot make the webhook's certificates", e.to_string()).into()
}

/// A Secret's `data[key]` as text.
pub(super) fn secret_text(secret: &serde_json::Value, key: &str) -> Option<String> {
    let b = secret["data"][key].as_str()?;
    String::from_utf8(B64.decode(b).ok()?).ok()
}

fn same_pem(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// The certificates this apply uses, made or read back from their Secrets.
async fn certificates(
    client: &KubeClient,
    cfg: &Config,
    prior: Option<&WebhookModel>,
    planned: &WebhookModel,
    now: OffsetDateTime,
) -> Result<TlsMaterial, Diagnostics> {
    let spec = &cfg.spec;
    let names = spec.names();
    let dns = tls::service_dns_names(&names.service, &spec.namespace);
    let ca_validity = cfg.validity * CA_VALIDITY_FACTOR;
    let new_ca = || {
        tls::new_ca(
            &format!("{}.{} webhook CA", spec.name, spec.namespace),
            ca_validity,
            now,
        )
    };
    let Some(prior) = prior else {
        let ca = new_ca().map_err(tls_error)?;
        let serving = tls::issue_serving(&ca, &dns, cfg.validity, now).map_err(tls_error)?;
        return Ok(material(&ca, &serving, tls::ca_bundle(&[&ca.cert_pem])));
    };
    let secret_id = |name: &str| ObjectId::of("Secret", &spec.namespace, name).expect("kind");
    let get = |id: ObjectId| async move {
        client
            .get_object(&id)
            .await
            .map_err(|e| object_error("Cannot read the webhook's Secrets", e))
    };
    let live_ca = get(secret_id(&names.ca_secret)).await?;
    let live_ca_cert = live_ca.as_ref().and_then(|s| secret_text(s, "tls.crt"));
    let prior_ca = prior.ca_certificate.as_deref().unwrap_or_default();
    let (ca, rotated) = if planned.ca_certificate.is_unknown() {
        (new_ca().map_err(tls_error)?, true)
    } else {
        let key = live_ca
            .as_ref()
            .filter(|_| live_ca_cert.as_deref().is_some_and(|c| same_pem(c, prior_ca)))
            .and_then(|s| secret_text(s, "tls.key"))
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "The webhook's CA changed since the plan",
                    format!(
                        "The Secret {}/{} no longer holds the CA in state. Run `terraform apply` again: the new plan makes a new CA.",
                        spec.namespace, names.ca_secret
                    ),
                ))
            })?;
        (
            KeyedCert {
                cert_pem: prior_ca.to_string(),
                key_pem: key,
            },
            false,
        )
    };
    let serving = if planned.serving_certificate.is_unknown() || rotated {
        tls::issue_serving(&ca, &dns, cfg.validity, now).map_err(tls_error)?
    } else {
        let live = get(secret_id(&names.serving_secret)).await?;
        let prior_cert = prior.serving_certificate.as_deref().unwrap_or_default();
        let key = live
            .as_ref()
            .filter(|s| secret_text(s, "tls.crt").is_some_and(|c| same_pem(&c, prior_cert)))
            .and_then(|s| secret_text(s, "tls.key"))
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "The webhook's serving certificate changed since the plan",
                    format!(
                        "The Secret {}/{} no longer holds the certificate in state. Run `terraform apply` again: the new plan re-issues it.",
                        spec.namespace, names.serving_secret
                    ),
                ))
            })?;
        KeyedCert {
            cert_pem: prior_cert.to_string(),
            key_pem: key,
        }
    };
    let bundle = match planned.ca_bundle.as_deref() {
        Some(b) if !rotated => b.to_string(),
        _ => {
            // The CAs that may have signed what pods serve now (the one in
            // state, and the one in the CA Secret if someone changed it),
            // then the new one: it is trusted before anything uses it.
            let mut cas = vec![prior_ca.to_string()];
            cas.extend(live_ca_cert);
            cas.retain(|c| !c.trim().is_empty() && tls::not_after(c).is_ok_and(|t| t > now));
            cas.push(ca.cert_pem.clone());
            let refs: Vec<&str> = cas.iter().map(String::as_str).collect();
            tls::ca_bundle(&refs)
        }
    };
    Ok(material(&ca, &serving, bundle))
}

fn material(ca: &KeyedCert, serving: &KeyedCert, bundle: String) -> TlsMaterial {
    TlsMaterial {
        ca_cert_pem: ca.cert_pem.clone(),
        ca_key_pem: Some(ca.key_pem.clone()),
        serving_cert_pem: serving.cert_pem.clone(),
        serving_key_pem: Some(serving.key_pem.clone()),
        ca_bundle_pem: bundle,
    }
}

pub(super) fn set_certificates(m: &mut WebhookModel, t: &TlsMaterial) {
    m.ca_certificate = Tf::Known(t.ca_cert_pem.clone());
    m.ca_bundle = Tf::Known(t.ca_bundle_pem.clone());
    m.serving_certificate = Tf::Known(t.serving_cert_pem.clone());
    m.certificate_fingerprint = tls::fingerprint(&t.serving_cert_pem).ok().into();
    m.certificate_not_after = tls::not_after(&t.serving_cert_pem).ok().map(rfc3339).into();
    m.ca_not_after = tls::not_after(&t.ca_cert_pem).ok().map(rfc3339).into();
}

pub(super) async fn apply(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    prior: Option<&WebhookModel>,
    mut planned: WebhookModel,
    timeout: (&str, Duration),
) -> (Option<WebhookModel>, Diagnostics) {
    let mut warnings = match preflight(ctx, client, cfg, prior.is_none()).await {
        Ok(w) => w,
        Err(d) => return (None, d),
    };
    let now = OffsetDateTime::now_utc();
    let tls = match certificates(client, cfg, prior, &planned, now).await {
        Ok(t) => t,
        Err(d) => return (None, d),
    };
    let objects = manifests::render(&cfg.spec, &tls);
    let (mwc, rest): (Vec<&Object>, Vec<&Object>) = objects
        .iter()
        .partition(|o| o.id.kind == "MutatingWebhookConfiguration");
    let mut done: Vec<ObjectId> = Vec::new();
    let result = async {
        let adds_ca = prior.is_some_and(|p| {
            p.ca_certificate
                .as_deref()
                .is_some_and(|c| !same_pem(c, &tls.ca_cert_pem))
        });
        let mwc_exists = match mwc.first() {
            Some(m) => client
                .get_object(&m.id)
                .await
                .map_err(|e| object_error("Cannot read the webhook configuration", e))?
                .is_some(),
            None => false,
        };
        if adds_ca && mwc_exists {
            // The new CA is trusted before any pod can serve a certificate it signed.
            apply_all(ctx, client, cfg, &mwc, &mut done).await?;
        }
        apply_all(ctx, client, cfg, &rest, &mut done).await?;
        if cfg.spec.wait_for_rollout {
            wait_for_rollout(ctx, client, cfg, timeout).await?;
        }
        apply_all(ctx, client, cfg, &mwc, &mut done).await?;
        // Objects no longer wanted (the PodDisruptionBudget when replicas drops to 1).
        if let Some(p) = prior {
            for o in p.objects.known().into_iter().flatten() {
                let (Some(kind), Some(ns), Some(name)) =
                    (o.kind.as_deref(), o.namespace.as_deref(), o.name.as_deref())
                else {
                    continue;
                };
                if objects
                    .iter()
                    .any(|x| x.id.kind == kind && x.id.name == name && x.id.namespace == ns)
                {
                    continue;
                }
                if let Some(id) = ObjectId::of(
                    kind,
                    if ns.is_empty() {
                        &cfg.spec.namespace
                    } else {
                        ns
                    },
                    name,
                ) {
                    client.delete_object_and_wait(ctx, &id).await.map_err(|e| {
                        object_error(&format!("Cannot delete {}", id.describe()), e)
                    })?;
                }
            }
        }
        Ok::<(), Diagnostics>(())
    }
    .await;
    set_certificates(&mut planned, &tls);
    match result {
        Ok(()) => {
            planned.objects = Tf::Known(status_list(&objects, |_| true));
            (Some(planned), warnings)
        }
        Err(d) => {
            // What was applied is in the cluster (with these certificates);
            // the rest shows as not applied and the next apply completes it.
            planned.objects = Tf::Known(status_list(&objects, |id| done.contains(id)));
            warnings.extend(d);
            (Some(planned), warnings)
        }
    }
}

/// Before anything is written: may these credentials do what this apply
/// (and a later destroy) needs? Missing write permissions fail the apply
/// with all of them listed, so a cluster is never left with half the
/// objects; missing `delete` is a warning (destroy may run with other
/// credentials).
async fn preflight(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    creating: bool,
) -> Result<Diagnostics, Diagnostics> {
    let objects = manifests::render(&cfg.spec, &TlsMaterial::default());
    let write_verbs: &[&str] = if creating {
        &["get", "create", "patch"]
    } else {
        &["get", "patch"]
    };
    let mut wanted: Vec<(&str, &ObjectId)> = Vec::new();
    for o in &objects {
        for v in write_verbs.iter().chain(&["delete"]) {
            wanted.push((v, &o.id));
        }
    }
    let answer = ctx
        .run(client.missing_permissions(&wanted))
        .await
        .map_err(|why| interrupted("checking the credentials' permissions", why))?;
    let Some(missing) = answer else {
        return Ok(Diagnostics::default());
    };
    let (deletes, writes): (Vec<String>, Vec<String>) = missing
        .into_iter()
        .partition(|l| l.starts_with("- delete "));
    let grant = "Grant them to that identity (e.g. in a ClusterRole bound to it).";
    if !writes.is_empty() {
        let mut all = writes;
        all.extend(deletes);
        return Err(Diagnostic::error(
            "Missing permissions in the Kubernetes cluster",
            format!(
                "The credentials of the provider's `kubernetes` settings may not:\n{}\nNothing was applied. {grant}",
                all.join("\n")
            ),
        )
        .into());
    }
    if deletes.is_empty() {
        return Ok(Diagnostics::default());
    }
    Ok(Diagnostic::warning(
        "Destroy will need more permissions",
        format!(
            "The credentials of the provider's `kubernetes` settings may not:\n{}\nA destroy with them will fail. {grant}",
            deletes.join("\n")
        ),
    )
    .into())
}

fn status_list(objects: &[Object], applied: impl Fn(&ObjectId) -> bool) -> Vec<ObjectModel> {
    objects
        .iter()
        .map(|o| ObjectModel {
            kind: Tf::Known(o.id.kind.clone()),
            namespace: Tf::Known(o.id.namespace.clone()),
            name: Tf::Known(o.id.name.clone()),
            status: Tf::Known(if applied(&o.id) { APPLIED } else { NOT_APPLIED }.to_string()),
        })
        .collect()
}

async fn apply_all(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    objects: &[&Object],
    done: &mut Vec<ObjectId>,
) -> Result<(), Diagnostics> {
    for o in objects {
        let applied = ctx
            .run(client.apply_object(&o.id, &o.body, cfg.spec.force_conflicts))
            .await
            .map_err(|why| interrupted(&format!("applying {}", o.id.describe()), why))?;
        match applied {
            Ok(_) => {
                if !done.contains(&o.id) {
                    done.push(o.id.clone());
                }
            }
            Err(e) => {
                return Err(object_error(
                    &format!("Cannot apply {}", o.id.describe()),
                    e,
                ));
            }
        }
    }
    Ok(())
}

fn interrupted(what: &str, why: Interrupted) -> Diagnostics {
    let e = ObjectError::Interrupted {
        what: what.to_string(),
        why,
    };
    Diagnostic::error("Operation interrupted", e.to_string()).into()
}

/// Waits as `kubectl rollout status` does; a `ProgressDeadlineExceeded`
/// ends the wait at once, with the pods' recent events.
async fn wait_for_rollout(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    (op, timeout): (&str, Duration),
) -> Result<(), Diagnostics> {
    let names = cfg.spec.names();
    let id = ObjectId::of("Deployment", &cfg.spec.namespace, &names.deployment).expect("kind");
    let selector = format!(
        "app.kubernetes.io/name=pod-identity-webhook,app.kubernetes.io/instance={}",
        cfg.spec.name
    );
    let events = || async {
        let lines = client.pod_events(&cfg.spec.namespace, &selector, 10).await;
        if lines.is_empty() {
            String::new()
        } else {
            format!("\n\nRecent events of its pods:\n{}", lines.join("\n"))
        }
    };
    let mut last;
    loop {
        let live = ctx
            .run(client.get_object(&id))
            .await
            .map_err(|why| interrupted(&format!("waiting for {} to roll out", id.describe()), why));
        let live = match live {
            Ok(Ok(Some(d))) => d,
            Ok(Ok(None)) => {
                return Err(Diagnostic::error(
                    "Deployment gone during the rollout",
                    format!(
                        "{} was deleted while waiting for it to roll out.",
                        id.describe()
                    ),
                )
                .into())
            }
            Ok(Err(e)) => return Err(object_error("Cannot read the Deployment", e)),
            Err(d) => return Err(d),
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
                Interrupted::DeadlineExceeded => format!(
                    "{} did not finish rolling out within `timeouts.{op}` ({}): {last}. The webhook configuration was not applied, so pods are not blocked.{}",
                    id.describe(),
                    model::humantime(timeout),
                    events().await
                ),
                Interrupted::Stopped => format!(
                    "Terraform asked the provider to stop while waiting for {} to roll out ({last}); the webhook configuration was not applied.",
                    id.describe()
                ),
            };
            return Err(Diagnostic::error("The webhook did not roll out", detail).into());
        }
    }
}
