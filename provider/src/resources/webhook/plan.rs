//! Plan: defaults, what replaces the webhook, and whether the certificates
//! are renewed or the CA rotated, decided from state alone (no cluster call).

use std::time::Duration;

use time::OffsetDateTime;

use super::model::{self, Config, WebhookModel};
use super::parts::objects::{self, Status};
use crate::webhook::manifests::{Kind, ObjectId};
use crate::webhook::tls::{self, Renewal};
use tfplugin::resource::{Plan, PlanKind};
use tfplugin::types::GoDuration;
use tfplugin::Tf;

/// The CA outlives every serving certificate it signs by this factor.
pub const CA_VALIDITY_FACTOR: u32 = 5;
/// After a CA rotation the previous CA stays in caBundle at least this long
/// after the new serving certificate was issued: the kubelet updates Secret
/// volumes within about a minute and the webhook then reloads its files.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// `issue_serving` back-dates `not_before` by this much.
const NOT_BEFORE_SLACK: Duration = Duration::from_secs(5 * 60);

pub(super) fn plan(plan: &mut Plan<WebhookModel, ()>, now: OffsetDateTime) {
    let planned = &mut plan.planned;
    // The selectors are optional+computed only to work around Terraform 1.0:
    // they are what the configuration says, never a prior value kept.
    planned.namespace_selector = plan.config.namespace_selector.clone();
    planned.object_selector = plan.config.object_selector.clone();
    if !plan.config_known {
        // Wait for the values; what they decide may change.
        return;
    }
    let cfg = Config::from_model(planned);
    model::set_names(planned, &cfg.spec);
    planned.objects = Tf::Known(objects::desired(&cfg));
    let Some(prior) = plan
        .prior
        .as_ref()
        .filter(|_| plan.kind == PlanKind::Update)
    else {
        // Create or replace: new certificates (the framework left them unknown).
        return;
    };
    match renewal(prior, &cfg, now) {
        Renewal::Ca => {
            for f in certificate_fields(planned) {
                *f = Tf::unknown();
            }
        }
        Renewal::Serving => {
            planned.serving_certificate = Tf::unknown();
            planned.certificate_fingerprint = Tf::unknown();
            planned.certificate_not_after = Tf::unknown();
        }
        Renewal::Nothing => {
            if let Some(bundle) = shrunk_bundle(prior, now) {
                planned.ca_bundle = Tf::Known(bundle);
            }
        }
    }
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

fn parse_time(t: &Tf<String>) -> Option<OffsetDateTime> {
    crate::timestamp::parse(t.as_deref()?)
}

/// What the next apply must make again, from state alone.
pub(super) fn renewal(prior: &WebhookModel, cfg: &Config, now: OffsetDateTime) -> Renewal {
    let names = cfg.spec.names();
    let secret = |name: &str| ObjectId::new(Kind::Secret, &cfg.spec.namespace, name);
    let prior_validity = prior.certificate_validity.known().map(GoDuration::as_str);
    if prior_validity != Some(cfg.spec.certificate_validity.as_str())
        || objects::recorded_status(prior, &secret(&names.ca_secret)) != Status::Applied
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
    if r == Renewal::Nothing
        && objects::recorded_status(prior, &secret(&names.serving_secret)) != Status::Applied
    {
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
        use tfplugin::Model as _;
        let config = WebhookModel {
            aws_region: Tf::Known(tfplugin::types::Region::parse("eu-west-1").unwrap()),
            certificate_validity: Tf::Known(GoDuration::parse("10h").unwrap()),
            certificate_renew_before: Tf::Known(GoDuration::parse("2h").unwrap()),
            ..Default::default()
        };
        let mut m = config.clone();
        m.apply_defaults(&config);
        let cfg = Config::from_model(&m);
        model::set_names(&mut m, &cfg.spec);
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
        m.objects = Tf::Known(objects::desired(&cfg));
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
        let render = |status: fn(&ObjectId) -> Status| {
            let objs = crate::webhook::manifests::render(&cfg.spec, &Default::default());
            Tf::Known(objects::listed(&objs, status))
        };
        lost.objects = render(|id| {
            if id.name.ends_with("-ca") {
                Status::Missing
            } else {
                Status::Applied
            }
        });
        assert_eq!(renewal(&lost, &cfg, now), Renewal::Ca);
        let mut lost = m.clone();
        lost.objects = render(|id| {
            if id.name.ends_with("-cert") {
                Status::Drifted(".data.tls.crt".into())
            } else {
                Status::Applied
            }
        });
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
