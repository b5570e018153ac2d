//! Plays Terraform core (or OpenTofu) at the protocol level: starts the
//! provider binary the way go-plugin does, reads the handshake line, and
//! connects with AutoMTLS using a certificate made like Terraform's own
//! (self-signed ECDSA P-521, marked as a CA).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint};

pub use tfplugin::go_plugin;
pub use tfplugin::proto;

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The provider binary built from this workspace.
pub fn provider_binary() -> PathBuf {
    if let Ok(p) = std::env::var("IRSA_PROVIDER_BIN") {
        return PathBuf::from(p);
    }
    let root = crate::harness::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("debug").join("terraform-provider-irsa");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p terraform-provider-irsa` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// A client certificate and key, as Terraform makes them for AutoMTLS.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl ClientIdentity {
    pub fn terraform_like() -> ClientIdentity {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "HashiCorp");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert = params.self_signed(&key).expect("self-signed");
        ClientIdentity {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

/// The parsed go-plugin handshake line.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub core_version: String,
    pub protocol_version: String,
    pub network: String,
    pub address: String,
    pub protocol: String,
    /// DER of the server certificate (empty when the plugin serves without TLS).
    pub server_cert: Vec<u8>,
}

impl Handshake {
    pub fn parse(line: &str) -> anyhow::Result<Handshake> {
        use base64::Engine;
        let parts: Vec<&str> = line.trim_end().split('|').collect();
        if parts.len() != 6 {
            bail!(
                "handshake line has {} fields, want 6: {line:?}",
                parts.len()
            );
        }
        let server_cert = if parts[5].is_empty() {
            Vec::new()
        } else {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(parts[5])
                .context("server certificate is not unpadded standard base64 (go-plugin's RawStdEncoding)")?
        };
        Ok(Handshake {
            core_version: parts[0].into(),
            protocol_version: parts[1].into(),
            network: parts[2].into(),
            address: parts[3].into(),
            protocol: parts[4].into(),
            server_cert,
        })
    }
}

/// A running provider process started like go-plugin starts it.
pub struct PluginProcess {
    pub child: Child,
    pub handshake: Handshake,
    pub identity: ClientIdentity,
    stderr: Arc<Mutex<String>>,
    /// Everything on stdout after the handshake line (go-plugin reads
    /// nothing more there, so this must stay empty).
    stdout: Arc<Mutex<String>>,
    /// The pipe readers; they end when the process has closed both pipes.
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl PluginProcess {
    /// Starts the provider with Terraform's environment plus `extra_env`.
    pub async fn start(extra_env: &[(&str, &str)]) -> anyhow::Result<PluginProcess> {
        let identity = ClientIdentity::terraform_like();
        let mut cmd = Command::new(provider_binary());
        cmd.env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "6")
            .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("spawn provider")?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr piped");
        let sink = stderr.clone();
        let err_reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .context("no handshake line within 20 s")??
            .ok_or_else(|| {
                anyhow!(
                    "provider exited before the handshake; stderr: {}",
                    stderr.lock().unwrap()
                )
            })?;
        // Anything else on stdout would break go-plugin; keep it to check.
        let stdout = Arc::new(Mutex::new(String::new()));
        let out_sink = stdout.clone();
        let out_reader = tokio::spawn(async move {
            let mut rest = lines.into_inner();
            let mut buf = [0u8; 4096];
            while let Ok(n) = rest.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                out_sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let handshake = Handshake::parse(&line)?;
        Ok(PluginProcess {
            child,
            handshake,
            identity,
            stderr,
            stdout,
            readers: vec![err_reader, out_reader],
        })
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// stdout after the handshake line, so far.
    pub fn stdout_after_handshake(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until stderr satisfies `pred` (log lines are written by another
    /// thread of the plugin and read by another task here, so they can trail
    /// the RPC that caused them). Returns the stderr it saw last.
    pub async fn wait_for_stderr(
        &self,
        within: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.stderr();
            if pred(&now) {
                return Ok(now);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(now);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks the plugin to exit as go-plugin does (GRPCController.Shutdown),
    /// waits for it, and then for its pipes to be read to the end, so that
    /// stdout and stderr are complete: a check that nothing was printed is
    /// then not a race.
    pub async fn shutdown_and_collect(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let channel = self.connect().await?;
        go_plugin::grpc_controller_client::GrpcControllerClient::new(channel)
            .shutdown(go_plugin::Empty {})
            .await?;
        let status = self.wait_exit(Duration::from_secs(10)).await?;
        self.wait_pipes_closed().await?;
        Ok(status)
    }

    /// After the process exited: waits until both pipes are read to EOF.
    pub async fn wait_pipes_closed(&mut self) -> anyhow::Result<()> {
        for r in self.readers.drain(..) {
            tokio::time::timeout(Duration::from_secs(10), r)
                .await
                .context("a pipe of the plugin stayed open after it exited")??;
        }
        Ok(())
    }

    /// Connects with the given client identity (None: no client certificate).
    pub async fn connect_as(&self, identity: Option<&ClientIdentity>) -> anyhow::Result<Channel> {
        connect_tls(
            Path::new(&self.handshake.address),
            &self.handshake.server_cert,
            identity,
        )
        .await
    }

    /// Connects as Terraform would: with the certificate given in PLUGIN_CLIENT_CERT.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        self.connect_as(Some(&self.identity.clone())).await
    }

    pub async fn wait_exit(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<std::process::ExitStatus> {
        Ok(tokio::time::timeout(within, self.child.wait())
            .await
            .context("provider did not exit")??)
    }
}

/// A gRPC channel over the plugin's Unix socket with pinned mutual TLS.
pub async fn connect_tls(
    socket: &Path,
    server_cert: &[u8],
    identity: Option<&ClientIdentity>,
) -> anyhow::Result<Channel> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServerCert {
        pinned: server_cert.to_vec(),
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(
            vec![id.cert_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
        )?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(tls_channel(config, socket).await?)
}

/// A channel over the socket with the given TLS client configuration.
async fn tls_channel(config: rustls::ClientConfig, socket: &Path) -> anyhow::Result<Channel> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let socket = socket.to_path_buf();
    let channel = Endpoint::try_from("http://localhost")?
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(tower::service_fn(move |_uri| {
            let connector = connector.clone();
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(&socket).await?;
                let name = ServerName::try_from("localhost").expect("static name");
                let tls = connector.connect(name, stream).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
            }
        }))
        .await?;
    Ok(channel)
}

/// A plaintext gRPC channel over a Unix socket (debug/reattach mode).
pub async fn connect_plain(socket: &Path) -> anyhow::Result<Channel> {
    let socket = socket.to_path_buf();
    Ok(Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(&socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await?)
}

/// Accepts exactly the certificate from the handshake line, as go-plugin does.
#[derive(Debug)]
struct PinnedServerCert {
    pinned: Vec<u8>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "server certificate differs from the handshake's".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A provider client that, like go-plugin's (`MaxCallRecvMsgSize` and
/// `MaxCallSendMsgSize` of math.MaxInt32), has no 4 MiB limit of its own.
pub fn provider_client(channel: Channel) -> proto::provider_client::ProviderClient<Channel> {
    proto::provider_client::ProviderClient::new(channel)
        .max_decoding_message_size(i32::MAX as usize)
        .max_encoding_message_size(i32::MAX as usize)
}

/// msgpack-encodes a value of the given block's type.
pub fn dynamic_value(block: &tfplugin::Block, value: &tfplugin::Value) -> proto::DynamicValue {
    proto::DynamicValue {
        msgpack: tfplugin::msgpack::encode(&block.value_type(), value),
        json: Vec::new(),
    }
}

/// Decodes a value of the given block's type.
pub fn decode_value(block: &tfplugin::Block, v: &proto::DynamicValue) -> tfplugin::Value {
    tfplugin::msgpack::decode(&block.value_type(), &v.msgpack)
        .expect("valid msgpack from the provider")
}

/// A null-filled object of the block's type with some attributes set.
pub fn object_of(block: &tfplugin::Block, attrs: Vec<(&str, tfplugin::Value)>) -> tfplugin::Value {
    let tfplugin::Type::Object(names) = block.value_type() else {
        unreachable!("blocks are objects")
    };
    let mut m: std::collections::BTreeMap<String, tfplugin::Value> = names
        .keys()
        .map(|k| (k.clone(), tfplugin::Value::Null))
        .collect();
    for (k, v) in attrs {
        m.insert(k.to_string(), v);
    }
    tfplugin::Value::Object(m)
}
