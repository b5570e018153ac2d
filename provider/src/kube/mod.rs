//! Kubernetes API access: building a client from the provider's settings
//! (the hashicorp/kubernetes provider's conventions) and the raw reads the
//! data sources need. Thin I/O; no IRSA logic here.

pub mod objects;
mod token_request;

use std::time::Duration;

use crate::proxy::ProxyRules;
use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// The `kubernetes {}` block after environment fallbacks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KubeSettings {
    pub config_path: Option<String>,
    pub config_context: Option<String>,
    pub host: Option<String>,
    pub token: Option<String>,
    pub cluster_ca_certificate: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub insecure: Option<bool>,
    pub exec: Option<ExecSettings>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecSettings {
    pub api_version: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Errors worded for a Terraform user; none carries a token or key. `path`
/// is the request, verb first (`GET /openid/v1/jwks`).
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("invalid Kubernetes settings: {0}")]
    Config(String),
    #[error(
        "no Kubernetes connection is configured: set `kubernetes {{ config_path = ... }}` (or KUBE_CONFIG_PATH), \
         or `kubernetes {{ host = ... }}` with credentials; and this process is not running inside a cluster ({0})"
    )]
    NotConfigured(String),
    #[error("cannot reach the Kubernetes API server at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error(
        "the Kubernetes API server at {host} rejected the credentials (401 Unauthorized) for {path}: \
         check the token, client certificate or exec plugin in the provider's `kubernetes` settings"
    )]
    Unauthorized { host: String, path: String },
    #[error(
        "the Kubernetes API server at {host} refused {path} (403 Forbidden: {message}). {hint}"
    )]
    Forbidden {
        host: String,
        path: String,
        message: String,
        hint: String,
    },
    #[error("the Kubernetes API server at {host} answered {path} with 404 Not Found. {hint}")]
    NotFound {
        host: String,
        path: String,
        hint: String,
    },
    #[error("the Kubernetes API server at {host} answered {path} with HTTP {code}: {message}")]
    Api {
        host: String,
        path: String,
        code: u16,
        message: String,
    },
}

/// A connected client plus the server URL, for messages.
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    host: String,
}

impl KubeSettings {
    /// Fills unset fields from the environment variables the hashicorp
    /// kubernetes provider reads.
    pub fn with_env_fallbacks(mut self) -> KubeSettings {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        self.config_path = self.config_path.or_else(|| env("KUBE_CONFIG_PATH"));
        self.config_context = self.config_context.or_else(|| env("KUBE_CTX"));
        self.host = self.host.or_else(|| env("KUBE_HOST"));
        self.token = self.token.or_else(|| env("KUBE_TOKEN"));
        self.cluster_ca_certificate = self
            .cluster_ca_certificate
            .or_else(|| env("KUBE_CLUSTER_CA_CERT_DATA"));
        self.client_certificate = self
            .client_certificate
            .or_else(|| env("KUBE_CLIENT_CERT_DATA"));
        self.client_key = self.client_key.or_else(|| env("KUBE_CLIENT_KEY_DATA"));
        self.insecure = self
            .insecure
            .or_else(|| env("KUBE_INSECURE").map(|v| v == "true" || v == "1"));
        self
    }

    fn has_explicit_connection(&self) -> bool {
        self.config_path.is_some() || self.host.is_some()
    }
}

/// Builds a client: kubeconfig file (with explicit settings layered on
/// top), else explicit host settings, else in-cluster configuration.
pub async fn connect(settings: &KubeSettings) -> Result<KubeClient, KubeError> {
    let mut config = if settings.has_explicit_connection() {
        let kubeconfig = kubeconfig_for(settings)?;
        let options = KubeConfigOptions {
            context: settings.config_context.clone(),
            cluster: None,
            user: None,
        };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| KubeError::Config(e.to_string()))?
    } else {
        kube::Config::incluster().map_err(|e| KubeError::NotConfigured(e.to_string()))?
    };
    config.proxy_url = proxy_for(&config, &ProxyRules::from_env());
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(30));
    let host = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = kube::Client::try_from(config).map_err(|e| KubeError::Config(e.to_string()))?;
    Ok(KubeClient { client, host })
}

/// The proxy for the API server. kube takes `HTTPS_PROXY` from the
/// environment for every host; a proxy from the environment is used here
/// only where kubectl would use it (see [`ProxyRules`]: never for a
/// loopback API server, not for hosts `NO_PROXY` excludes). A kubeconfig
/// `proxy-url` is kept, as client-go keeps it.
fn proxy_for(config: &kube::Config, rules: &ProxyRules) -> Option<http::Uri> {
    let proxy = config.proxy_url.clone()?;
    let from_env = ["HTTPS_PROXY", "https_proxy"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .any(|v| v.parse::<http::Uri>().ok().as_ref() == Some(&proxy));
    if !from_env {
        return Some(proxy);
    }
    rules.intercept(&config.cluster_url).map(|_| proxy)
}

/// The kubeconfig to load: the file's, with the explicit settings written
/// over the selected context's cluster and user; or one made from them.
fn kubeconfig_for(s: &KubeSettings) -> Result<Kubeconfig, KubeError> {
    let mut doc = match &s.config_path {
        Some(path) => {
            let path = expand_home(path);
            let file = Kubeconfig::read_from(&path)
                .map_err(|e| KubeError::Config(format!("cannot read kubeconfig {path}: {e}")))?;
            serde_json::to_value(file).map_err(|e| KubeError::Config(e.to_string()))?
        }
        None => json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "irsa", "cluster": {}}],
            "users": [{"name": "irsa", "user": {}}],
            "contexts": [{"name": "irsa", "context": {"cluster": "irsa", "user": "irsa"}}],
            "current-context": "irsa",
        }),
    };
    let context_name = s
        .config_context
        .clone()
        .or_else(|| doc["current-context"].as_str().map(str::to_string))
        .ok_or_else(|| {
            KubeError::Config("the kubeconfig has no current-context; set config_context".into())
        })?;
    let context = doc["contexts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == context_name.as_str()))
        .map(|c| c["context"].clone())
        .ok_or_else(|| {
            KubeError::Config(format!("context {context_name:?} is not in the kubeconfig"))
        })?;
    let cluster_name = context["cluster"].as_str().unwrap_or_default().to_string();
    let user_name = context["user"].as_str().unwrap_or_default().to_string();

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    if let Some(cluster) = find_named(&mut doc, "clusters", &cluster_name, "cluster") {
        if let Some(host) = &s.host {
            cluster["server"] = json!(host);
        }
        if let Some(ca) = &s.cluster_ca_certificate {
            cluster["certificate-authority-data"] = json!(b64(ca));
            cluster
                .as_object_mut()
                .map(|c| c.remove("certificate-authority"));
        }
        if let Some(insecure) = s.insecure {
            cluster["insecure-skip-tls-verify"] = json!(insecure);
        }
    }
    if let Some(user) = find_named(&mut doc, "users", &user_name, "user") {
        if let Some(token) = &s.token {
            // An explicit token replaces every other way to authenticate.
            *user = json!({ "token": token });
        }
        if let Some(cert) = &s.client_certificate {
            user["client-certificate-data"] = json!(b64(cert));
        }
        if let Some(key) = &s.client_key {
            user["client-key-data"] = json!(b64(key));
        }
        if let Some(exec) = &s.exec {
            let env: Vec<_> = exec
                .env
                .iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect();
            user["exec"] = json!({
                "apiVersion": exec.api_version, "command": exec.command, "args": exec.args, "env": env,
                "interactiveMode": "Never",
            });
        }
    }
    serde_json::from_value(doc).map_err(|e| KubeError::Config(format!("kubeconfig: {e}")))
}

fn find_named<'a>(
    doc: &'a mut serde_json::Value,
    list: &str,
    name: &str,
    field: &str,
) -> Option<&'a mut serde_json::Value> {
    let entry = doc[list]
        .as_array_mut()?
        .iter_mut()
        .find(|e| e["name"] == name)?;
    if !entry[field].is_object() {
        entry[field] = json!({});
    }
    Some(&mut entry[field])
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

/// What to tell the user when GET on an OIDC path is forbidden.
const ISSUER_DISCOVERY_RBAC: &str = "Reading the service-account issuer's documents needs `get` on the non-resource URLs \
    /.well-known/openid-configuration and /openid/v1/jwks: bind the ClusterRole `system:service-account-issuer-discovery` \
    (present in every cluster since Kubernetes 1.21) to this identity, or grant those URLs in a ClusterRole of your own.";

impl KubeClient {
    pub fn host(&self) -> &str {
        &self.host
    }

    /// GET a path on the API server and return the body. Status codes are
    /// turned into errors that say what to fix.
    pub async fn get_raw(&self, path: &str) -> Result<String, KubeError> {
        let request = http::Request::get(path)
            .header(
                http::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .body(Vec::new())
            .map_err(|e| KubeError::Config(e.to_string()))?;
        self.client
            .request_text(request)
            .await
            .map_err(|e| self.map_error(path, e))
    }

    fn map_error(&self, path: &str, e: kube::Error) -> KubeError {
        let host = self.host.clone();
        let path = format!("GET {path}");
        match e {
            kube::Error::Api(status) => match status.code {
                401 => KubeError::Unauthorized { host, path },
                403 => KubeError::Forbidden { host, path, message: status.message, hint: ISSUER_DISCOVERY_RBAC.into() },
                404 => KubeError::NotFound {
                    host,
                    path,
                    hint: "Service-account issuer discovery is served by kube-apiserver 1.21 and later; \
                           check that --service-account-issuer and --service-account-jwks-uri are set."
                        .into(),
                },
                code => KubeError::Api { host, path, code, message: status.message },
            },
            other => KubeError::Unreachable { host, reason: error_chain(&other) },
        }
    }
}

/// An error with its sources, e.g. "ServiceError: client error (Connect): tcp connect error: Connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_settings_override_the_kubeconfig_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster:\n    server: https://file.example:6443\n\
             users:\n- name: u\n  user:\n    token: file-token\ncontexts:\n- name: a\n  context:\n    cluster: c\n    user: u\n",
        )
        .unwrap();
        let s = KubeSettings {
            config_path: Some(path.display().to_string()),
            host: Some("https://override.example".into()),
            token: Some("explicit".into()),
            ..Default::default()
        };
        let kc = kubeconfig_for(&s).unwrap();
        let cluster = kc.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://override.example"));
        let doc = serde_json::to_value(&kc).unwrap();
        assert_eq!(doc["users"][0]["user"]["token"], "explicit");
    }

    #[test]
    fn a_missing_context_is_named() {
        let s = KubeSettings {
            host: Some("https://h".into()),
            config_context: Some("nope".into()),
            ..Default::default()
        };
        let e = kubeconfig_for(&s).unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
    }

    #[test]
    fn host_only_settings_make_a_kubeconfig_with_ca_and_token() {
        let s = KubeSettings {
            host: Some("https://127.0.0.1:6443".into()),
            token: Some("t".into()),
            cluster_ca_certificate: Some(
                "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into(),
            ),
            ..Default::default()
        };
        let doc = serde_json::to_value(kubeconfig_for(&s).unwrap()).unwrap();
        assert_eq!(
            doc["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert!(
            doc["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .unwrap()
                .len()
                > 10
        );
    }
}
