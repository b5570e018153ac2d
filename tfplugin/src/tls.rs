//! go-plugin AutoMTLS.
//!
//! Terraform generates a self-signed client certificate, passes it to us in
//! `PLUGIN_CLIENT_CERT`, and pins the server certificate we print in the
//! handshake line. Terraform's certificate is an ECDSA P-521 CA certificate,
//! which a standard webpki verifier rejects as an end-entity certificate, so
//! we authenticate by pinning: exactly that certificate, with a valid
//! handshake signature made by its key, and nothing else.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, Error as TlsError, ServerConfig, SignatureScheme,
};

/// Our per-process server identity: a fresh key and self-signed certificate.
pub struct ServerIdentity {
    pub cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ServerIdentity {
    /// Made the way go-plugin makes its own: CN/SAN `localhost` (the name
    /// go-plugin's client verifies), usable for server and client auth, a CA
    /// so Go accepts it as its own root.
    pub fn generate() -> Result<ServerIdentity, rcgen::Error> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "terraform-provider-irsa");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(365);
        let cert = params.self_signed(&key)?;
        Ok(ServerIdentity {
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The certificate as go-plugin's handshake line carries it: base64
    /// (standard alphabet, no padding) of the DER.
    pub fn handshake_cert(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.cert_der.as_ref())
    }

    /// A TLS server configuration that accepts only `client_cert`.
    pub fn server_config(
        &self,
        client_cert: CertificateDer<'static>,
    ) -> Result<ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = Arc::new(PinnedClientCert::new(client_cert, &provider));
        let mut cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.cert_der.clone()],
                PrivateKeyDer::Pkcs8(self.key_der.clone_key()),
            )?;
        // gRPC is HTTP/2; recent grpc-go clients insist on ALPN "h2".
        cfg.alpn_protocols = vec![b"h2".to_vec()];
        Ok(cfg)
    }
}

/// Parses `PLUGIN_CLIENT_CERT` (PEM); exactly one certificate is expected.
pub fn parse_client_cert(pem_text: &str) -> Result<CertificateDer<'static>, String> {
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut pem_text.as_bytes()) {
        certs.push(item.map_err(|e| format!("PLUGIN_CLIENT_CERT is not valid PEM: {e}"))?);
    }
    match certs.len() {
        1 => Ok(certs.remove(0)),
        0 => Err("PLUGIN_CLIENT_CERT holds no certificate".into()),
        n => Err(format!(
            "PLUGIN_CLIENT_CERT holds {n} certificates; expected exactly one"
        )),
    }
}

/// Accepts one exact certificate and checks the peer really holds its key.
#[derive(Debug)]
pub struct PinnedClientCert {
    pinned: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub fn new(pinned: CertificateDer<'static>, provider: &CryptoProvider) -> PinnedClientCert {
        PinnedClientCert {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        if end_entity.as_ref() == self.pinned.as_ref() && intermediates.is_empty() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(TlsError::General(
                "client certificate is not the one Terraform gave in PLUGIN_CLIENT_CERT".into(),
            ))
        }
    }

    // The certificate comparison alone proves nothing (certificates are
    // public); these checks prove the peer holds the pinned certificate's key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}
