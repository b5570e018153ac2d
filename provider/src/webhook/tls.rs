//! The webhook's TLS: a CA whose certificate goes into the
//! MutatingWebhookConfiguration's `caBundle`, and a serving certificate for
//! the webhook's Service that the webhook reloads from its mounted Secret.
//! The private keys live only in Kubernetes Secrets; what Terraform state
//! may hold (certificates, fingerprints, dates) is public.

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make the certificate: {0}")]
    Make(#[from] rcgen::Error),
    #[error("not a PEM certificate")]
    NotPem,
    #[error("cannot read the certificate: {0}")]
    Parse(String),
}

/// A CA or serving certificate with its private key. `key_pem` is secret:
/// it belongs in a Secret, never in state or a log (no `Debug` prints it).
#[derive(Clone)]
pub struct KeyedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for KeyedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// The names a Service is reached by inside the cluster; kube-apiserver
/// calls `<service>.<namespace>.svc`.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

fn validity_window(params: &mut CertificateParams, now: OffsetDateTime, validity: Duration) {
    // A little slack for clocks that run behind ours.
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + validity;
}

/// A new CA (ECDSA P-256) named `common_name`.
pub fn new_ca(
    common_name: &str,
    validity: Duration,
    now: OffsetDateTime,
) -> Result<KeyedCert, TlsError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "terraform-provider-irsa");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity_window(&mut params, now, validity);
    let cert = params.self_signed(&key)?;
    Ok(KeyedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A serving certificate for `dns_names`, signed by `ca`.
pub fn issue_serving(
    ca: &KeyedCert,
    dns_names: &[String],
    validity: Duration,
    now: OffsetDateTime,
) -> Result<KeyedCert, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(dns_names.to_vec())?;
    if let Some(first) = dns_names.get(2).or(dns_names.first()) {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity_window(&mut params, now, validity);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(KeyedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn der_of(cert_pem: &str) -> Result<Vec<u8>, TlsError> {
    let p = pem::parse(cert_pem).map_err(|_| TlsError::NotPem)?;
    if p.tag() != "CERTIFICATE" {
        return Err(TlsError::NotPem);
    }
    Ok(p.contents().to_vec())
}

/// When the certificate stops being valid.
pub fn not_after(cert_pem: &str) -> Result<OffsetDateTime, TlsError> {
    let der = der_of(cert_pem)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| TlsError::Parse(e.to_string()))?;
    OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
        .map_err(|e| TlsError::Parse(e.to_string()))
}

/// When the certificate starts being valid.
pub fn not_before(cert_pem: &str) -> Result<OffsetDateTime, TlsError> {
    let der = der_of(cert_pem)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| TlsError::Parse(e.to_string()))?;
    OffsetDateTime::from_unix_timestamp(cert.validity().not_before.timestamp())
        .map_err(|e| TlsError::Parse(e.to_string()))
}

/// `sha256:<hex>` of the DER: what state records to notice a changed certificate.
pub fn fingerprint(cert_pem: &str) -> Result<String, TlsError> {
    let der = der_of(cert_pem)?;
    Ok(format!("sha256:{}", hex(&Sha256::digest(der))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What has to be made again before the next apply is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    Nothing,
    /// The serving certificate is within `renew_before` of expiry: a new
    /// one from the same CA (caBundle unchanged).
    Serving,
    /// The CA itself is within `renew_before` of expiry (or gone): a new CA,
    /// added to caBundle before anything is served with it.
    Ca,
}

pub fn renewal_needed(
    ca_not_after: Option<OffsetDateTime>,
    serving_not_after: Option<OffsetDateTime>,
    renew_before: Duration,
    now: OffsetDateTime,
) -> Renewal {
    let due = |t: Option<OffsetDateTime>| t.is_none_or(|t| t - renew_before <= now);
    if due(ca_not_after) {
        Renewal::Ca
    } else if due(serving_not_after) {
        Renewal::Serving
    } else {
        Renewal::Nothing
    }
}

/// The caBundle: the CAs' certificates, each once, in the order given
/// (during a CA rotation the old and the new).
pub fn ca_bundle(cas: &[&str]) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::new();
    for pem in cas {
        let pem = pem.trim();
        if seen.insert(pem.to_string()) {
            out.push_str(pem);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::Arc;

    const DAY: Duration = Duration::from_secs(86400);

    fn verifier(bundle: &str) -> Arc<rustls::client::WebPkiServerVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut bundle.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap()
    }

    fn verify(bundle: &str, serving: &KeyedCert, name: &str) -> Result<(), rustls::Error> {
        let der = CertificateDer::from(der_of(&serving.cert_pem).unwrap());
        verifier(bundle)
            .verify_server_cert(
                &der,
                &[],
                &ServerName::try_from(name.to_string()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    #[test]
    fn the_ca_bundle_verifies_the_serving_certificate_for_every_service_name() {
        let now = OffsetDateTime::now_utc();
        let ca = new_ca("pod-identity-webhook-ca", 365 * DAY, now).unwrap();
        let names = service_dns_names("pod-identity-webhook", "kube-system");
        let serving = issue_serving(&ca, &names, 30 * DAY, now).unwrap();
        let bundle = ca_bundle(&[&ca.cert_pem]);
        for n in &names {
            verify(&bundle, &serving, n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
        // Not for other names, and not with another CA.
        assert!(verify(&bundle, &serving, "evil.kube-system.svc").is_err());
        let other = new_ca("other", 365 * DAY, now).unwrap();
        assert!(verify(&ca_bundle(&[&other.cert_pem]), &serving, &names[2]).is_err());
    }

    #[test]
    fn a_renewed_serving_certificate_from_the_same_ca_keeps_the_bundle_valid() {
        let now = OffsetDateTime::now_utc();
        let ca = new_ca("ca", 365 * DAY, now).unwrap();
        let names = service_dns_names("w", "ns");
        let first = issue_serving(&ca, &names, DAY, now).unwrap();
        let second = issue_serving(&ca, &names, 30 * DAY, now).unwrap();
        assert_ne!(
            fingerprint(&first.cert_pem).unwrap(),
            fingerprint(&second.cert_pem).unwrap()
        );
        let bundle = ca_bundle(&[&ca.cert_pem]);
        verify(&bundle, &second, "w.ns.svc").unwrap();
        assert!(not_after(&second.cert_pem).unwrap() > not_after(&first.cert_pem).unwrap());
    }

    #[test]
    fn during_a_ca_rotation_both_cas_verify() {
        let now = OffsetDateTime::now_utc();
        let old = new_ca("ca-1", 365 * DAY, now).unwrap();
        let new = new_ca("ca-2", 365 * DAY, now).unwrap();
        let names = service_dns_names("w", "ns");
        let served_old = issue_serving(&old, &names, DAY, now).unwrap();
        let served_new = issue_serving(&new, &names, DAY, now).unwrap();
        let bundle = ca_bundle(&[&old.cert_pem, &new.cert_pem, &old.cert_pem]);
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
        verify(&bundle, &served_old, "w.ns.svc").unwrap();
        verify(&bundle, &served_new, "w.ns.svc").unwrap();
    }

    #[test]
    fn renewal_is_due_within_renew_before_of_expiry() {
        let now = OffsetDateTime::now_utc();
        let renew = 30 * DAY;
        let far = Some(now + 300 * DAY);
        assert_eq!(renewal_needed(far, far, renew, now), Renewal::Nothing);
        assert_eq!(
            renewal_needed(far, Some(now + 10 * DAY), renew, now),
            Renewal::Serving
        );
        assert_eq!(
            renewal_needed(Some(now + 10 * DAY), far, renew, now),
            Renewal::Ca
        );
        assert_eq!(renewal_needed(None, far, renew, now), Renewal::Ca);
        assert_eq!(renewal_needed(far, None, renew, now), Renewal::Serving);
    }

    #[test]
    fn dates_and_debug_output_hold_no_secret() {
        let now = OffsetDateTime::now_utc();
        let ca = new_ca("ca", DAY, now).unwrap();
        let na = not_after(&ca.cert_pem).unwrap();
        assert!((na - (now + DAY)).abs() < time::Duration::seconds(2));
        let printed = format!("{ca:?}");
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
        assert!(not_after("not a pem").is_err());
    }
}
