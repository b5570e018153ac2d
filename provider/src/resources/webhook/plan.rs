//! Plan: defaults, what replaces the webhook, and whether the certificates
//! are renewed or the CA rotated, decided from state alone (no cluster call).

use std::time::Duration;

use time::OffsetDateTime;

use super::model::{self, Config, WebhookModel};
use super::{decode_state, objects_list, recorded_status, APPLIED};
use crate::webhook::tls::{self, Renewal};
use tfplugin::framework::{PlanRequest, PlanResponse};
use tfplugin::{Diagnostics, Model, Tf, TfType};

/// The CA outlives every serving certificate it signs by this factor.
pub const CA_VALIDITY_FACTOR: u32 = 5;
/// After a CA rotation the previous CA stays in caBundle at least this long
/// after the new serving certificate was issued: the kubelet updates Secret
/// volumes within about a minute and the webhook then reloads its files.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// `issue_serving` back-dates `not_before` by this much.
const NOT_BEFORE_SLACK: Duration = Duration::from_secs(5 * 60);

pub(super) fn plan(req: &PlanRequest, now: OffsetDateTime) -> Result<PlanResponse, Diagnostics> {
    let prior = decode_state(&req.prior_state)?;
    let mut planned = WebhookModel::decode(&req.proposed_new_state)?;
    // The selectors are optional+computed only to work around Terraform 1.0:
    // they are what the configuration says, never a prior value kept.
    let configured = WebhookModel::decode(&req.config)?;
    planned.namespace_selector = configured.namespace_selector.clone();
    planned.object_selector = configured.object_selector.clone();
    if !req.config.is_wholly_known() {
        // Wait for the values; what they decide may change.
        each_computed(&mut planned, prior.is_none());
        return Ok(PlanResponse {
            planned_state: planned.to_value(),
            ..Default::default()
        });
    }
    let cfg = Config::from_value(&req.config)?;
    model::set_arguments(&mut planned, &cfg.spec);
    if configured.resources.is_null() {
        planned.resources = model::resources_of(&cfg.spec);
    }
    planned.objects = Tf::Known(objects_list(&cfg.spec, |_| APPLIED.to_string()));

    let replace = match &prior {
        Some(_) => WebhookModel::replaced_paths(&req.prior_state, &planned.to_value()),
        None => vec![],
    };
    let Some(prior) = prior.filter(|_| replace.is_empty()) else {
        for f in certificate_fields(&mut planned) {
            *f = Tf::unknown();
        }
        return Ok(PlanResponse {
            planned_state: planned.to_value(),
            requires_replace: replace,
            ..Default::default()
        });
    };
    planned.ca_certificate = prior.ca_certificate.clone();
    planned.ca_bundle = prior.ca_bundle.clone();
    planned.serving_certificate = prior.serving_certificate.clone();
    planned.certificate_fingerprint = prior.certificate_fingerprint.clone();
    planned.certificate_not_after = prior.certificate_not_after.clone();
    planned.ca_not_after = prior.ca_not_after.clone();
    match renewal(&prior, &cfg, now) {
        Renewal::Ca => {
            for f in certificate_fields(&mut planned) {
                *f = Tf::unknown();
            }
        }
        Renewal::Serving => {
            planned.serving_certificate = Tf::unknown();
            planned.certificate_fingerprint = Tf::unknown();
            planned.certificate_not_after = Tf::unknown();
        }
        Renewal::Nothing => {
            if let Some(bundle) = shrunk_bundle(&prior, now) {
                planned.ca_bundle = Tf::Known(bundle);
            }
        }
    }
    Ok(PlanResponse {
        planned_state: planned.to_value(),
        ..Default::default()
    })
}

fn certificate_fields(m: &mut WebhookModel) -> Vec<&mut Tf<String>> {
    vec![
        &mut m.ca_certificate,
        &mut m.ca_bundle,
        &mut m.serving_certificate,
        &mut m.certificate_fingerprint,
        &mut m.certificate_not_after,
        &mut m.ca_not_after,
    ]
}

fn each_computed(m: &mut WebhookModel, create: bool) {
    if create {
        for f in certificate_fields(m) {
            *f = Tf::unknown();
        }
        m.id = Tf::unknown();
        m.service_name = Tf::unknown();
    }
    m.objects = Tf::unknown();
}

fn parse_time(t: &Tf<String>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(
        t.as_deref()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

/// What the next apply must make again, from state alone.
pub(super) fn renewal(prior: &WebhookModel, cfg: &Config, now: OffsetDateTime) -> Renewal {
    let names = cfg.spec.names();
    if prior.certificate_validity.as_deref() != Some(cfg.spec.certificate_validity.as_str())
        || recorded_status(prior, "Secret", &names.ca_secret) != APPLIED
        || prior.ca_certificate.is_null()
    {
        return Renewal::Ca;
    }
    // The CA is due when a fresh serving certificate would outlive it.
    let ca_due_at = parse_time(&prior.ca_not_after).map(|t| t - cfg.validity);
    let r = tls::renewal_needed(
        ca_due_at,
        parse_time(&prior.certificate_not_after),
        cfg.renew_before,
        now,
    );
    if r == Renewal::Nothing && recorded_status(prior, "Secret", &names.serving_secret) != APPLIED {
        return Renewal::Serving;
    }
    r
}

/// The caBundle without the previous CA once the overlap is over.
pub(super) fn shrunk_bundle(prior: &WebhookModel, now: OffsetDateTime) -> Option<String> {
    let bundle = prior.ca_bundle.as_deref()?;
    let ca = prior.ca_certificate.as_deref()?;
    if bundle.matches("BEGIN CERTIFICATE").count() < 2 {
        return None;
    }
    let serving = prior.serving_certificate.as_deref()?;
    let issued = tls::not_before(serving).ok()? + NOT_BEFORE_SLACK;
    (now - issued >= ROTATION_OVERLAP).then(|| tls::ca_bundle(&[ca]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::tls::{issue_serving, new_ca, service_dns_names};

    const H: Duration = Duration::from_secs(3600);

    fn state(now: OffsetDateTime, serving_validity: Duration) -> (WebhookModel, Config) {
        let mut m = WebhookModel {
            aws_region: Tf::Known("eu-west-1".into()),
            certificate_validity: Tf::Known("10h".into()),
            certificate_renew_before: Tf::Known("2h".into()),
            ..Default::default()
        };
        let cfg = Config::from_model(&m).unwrap();
        model::set_arguments(&mut m, &cfg.spec);
        let ca = new_ca("ca", 50 * H, now).unwrap();
        let s = issue_serving(&ca, &service_dns_names("w", "ns"), serving_validity, now).unwrap();
        let rfc = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        m.ca_certificate = Tf::Known(ca.cert_pem.clone());
        m.ca_bundle = Tf::Known(tls::ca_bundle(&[&ca.cert_pem]));
        m.serving_certificate = Tf::Known(s.cert_pem.clone());
        m.ca_not_after = Tf::Known(rfc(tls::not_after(&ca.cert_pem).unwrap()));
        m.certificate_not_after = Tf::Known(rfc(tls::not_after(&s.cert_pem).unwrap()));
        m.objects = Tf::Known(objects_list(&cfg.spec, |_| APPLIED.into()));
        (m, cfg)
    }

    #[test]
    fn renewal_follows_the_dates_in_state() {
        let now = OffsetDateTime::now_utc();
        let (m, cfg) = state(now, 10 * H);
        assert_eq!(renewal(&m, &cfg, now), Renewal::Nothing);
        // Within renew_before of the serving certificate's end: serving only.
        assert_eq!(renewal(&m, &cfg, now + 9 * H), Renewal::Serving);
        // The CA (50h) is due when less than validity + renew_before remain.
        assert_eq!(renewal(&m, &cfg, now + 39 * H), Renewal::Ca);
        // A changed validity or a lost CA Secret: a new CA.
        let mut other = cfg.clone();
        other.spec.certificate_validity = "20h".into();
        assert_eq!(renewal(&m, &other, now), Renewal::Ca);
        let mut lost = m.clone();
        lost.objects = Tf::Known(objects_list(&cfg.spec, |id| {
            if id.name.ends_with("-ca") {
                "missing".into()
            } else {
                APPLIED.into()
            }
        }));
        assert_eq!(renewal(&lost, &cfg, now), Renewal::Ca);
        let mut lost = m.clone();
        lost.objects = Tf::Known(objects_list(&cfg.spec, |id| {
            if id.name.ends_with("-cert") {
                "drifted: .data.tls.crt".into()
            } else {
                APPLIED.into()
            }
        }));
        assert_eq!(renewal(&lost, &cfg, now), Renewal::Serving);
    }

    #[test]
    fn the_previous_ca_leaves_the_bundle_only_after_the_overlap() {
        let now = OffsetDateTime::now_utc();
        let (mut m, _) = state(now, 10 * H);
        let old = new_ca("old", 50 * H, now).unwrap();
        let ca = m.ca_certificate.as_deref().unwrap().to_string();
        m.ca_bundle = Tf::Known(tls::ca_bundle(&[&old.cert_pem, &ca]));
        assert_eq!(shrunk_bundle(&m, now), None);
        assert_eq!(shrunk_bundle(&m, now + Duration::from_secs(60)), None);
        assert_eq!(
            shrunk_bundle(&m, now + ROTATION_OVERLAP + Duration::from_secs(1)),
            Some(tls::ca_bundle(&[&ca]))
        );
        m.ca_bundle = Tf::Known(tls::ca_bundle(&[&ca]));
        assert_eq!(shrunk_bundle(&m, now + 10 * H), None);
    }
}
