//! The webhook's TLS part: a CA (its key only in the Secret `<name>-ca`) and
//! the serving certificate it signs. What is due (renewal, rotation) is
//! decided by the plan from state alone (`plan::renewal`); this makes what
//! the plan left unknown and reads back the rest, keys included, from the
//! Secrets.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use time::OffsetDateTime;

use super::super::model::{Config, WebhookModel};
use super::super::plan::CA_VALIDITY_FACTOR;
use crate::kube::KubeClient;
use crate::timestamp::rfc3339;
use crate::webhook::manifests::{Kind, ObjectId, TlsMaterial};
use crate::webhook::tls::{self, KeyedCert};
use tfplugin::{Diagnostic, Diagnostics, ErrorContext, Tf};

fn tls_error(e: tls::TlsError) -> Diagnostics {
    Diagnostic::error("Cannot make the webhook's certificates", e.to_string()).into()
}

/// A Secret's `data[key]` as text.
pub fn secret_text(secret: &serde_json::Value, key: &str) -> Option<String> {
    let b = secret["data"][key].as_str()?;
    String::from_utf8(B64.decode(b).ok()?).ok()
}

fn same_pem(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// The certificates this apply uses: made anew where the plan says so
/// (unknown in `planned`), else read back with their keys from the Secrets.
pub async fn reconcile(
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
    let secret_id = |name: &str| ObjectId::new(Kind::Secret, &spec.namespace, name);
    let get = |id: ObjectId| async move {
        client
            .get_object(&id)
            .await
            .context("Cannot read the webhook's Secrets")
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

/// Records the certificates (never the keys) in the state.
pub fn record(m: &mut WebhookModel, t: &TlsMaterial) {
    m.ca_certificate = Tf::Known(t.ca_cert_pem.clone());
    m.ca_bundle = Tf::Known(t.ca_bundle_pem.clone());
    m.serving_certificate = Tf::Known(t.serving_cert_pem.clone());
    m.certificate_fingerprint = tls::fingerprint(&t.serving_cert_pem).ok().into();
    m.certificate_not_after = tls::not_after(&t.serving_cert_pem).ok().map(rfc3339).into();
    m.ca_not_after = tls::not_after(&t.ca_cert_pem).ok().map(rfc3339).into();
}

/// The TLS material a state records (no keys).
pub fn of_state(m: &WebhookModel) -> TlsMaterial {
    TlsMaterial {
        ca_cert_pem: m.ca_certificate.as_deref().unwrap_or_default().to_string(),
        ca_key_pem: None,
        serving_cert_pem: m
            .serving_certificate
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        serving_key_pem: None,
        ca_bundle_pem: m.ca_bundle.as_deref().unwrap_or_default().to_string(),
    }
}
