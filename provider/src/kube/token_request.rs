//! The TokenRequest API (`POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`):
//! mints a service-account token the way the kubelet does for a projected
//! volume. The token is returned as a secret and never logged or shown.

use secrecy::SecretString;
use serde_json::json;

use super::{error_chain, KubeClient, KubeError};

/// A token the API server minted, and when it expires as the API server
/// says (`status.expirationTimestamp`, RFC 3339).
pub struct MintedToken {
    pub token: SecretString,
    pub expires_at: Option<String>,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl KubeClient {
    /// A token for `namespace/name` with the one audience `audience`,
    /// valid for `expiration_seconds` (the API's minimum is 600).
    pub async fn request_token(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
        expiration_seconds: i64,
    ) -> Result<SecretString, KubeError> {
        self.mint_token(namespace, name, audience, expiration_seconds)
            .await
            .map(|t| t.token)
    }

    /// [`request_token`](Self::request_token), with the expiry the API
    /// server gives.
    pub async fn mint_token(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
        expiration_seconds: i64,
    ) -> Result<MintedToken, KubeError> {
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds},
        });
        let request = http::Request::post(&path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| KubeError::Config(e.to_string()))?;
        let answer: serde_json::Value = self.client.request(request).await.map_err(|e| {
            let host = self.host.clone();
            let what = format!("POST {path}");
            match e {
                kube::Error::Api(status) => match status.code {
                    401 => KubeError::Unauthorized { host, path: what },
                    403 => KubeError::Forbidden {
                        host,
                        path: what,
                        message: status.message,
                        hint: "Minting a token needs `create` on the subresource \
                               `serviceaccounts/token` in that namespace; grant it to the \
                               identity of the provider's `kubernetes` settings."
                            .into(),
                    },
                    404 => KubeError::NotFound {
                        host,
                        path: what,
                        hint: format!(
                            "The service account {namespace}/{name} does not exist; create it, or \
                             check `service_account`."
                        ),
                    },
                    code => KubeError::Api {
                        host,
                        path: what,
                        code,
                        message: status.message,
                    },
                },
                other => KubeError::Unreachable {
                    host,
                    reason: error_chain(&other),
                },
            }
        })?;
        let expires_at = answer["status"]["expirationTimestamp"]
            .as_str()
            .map(str::to_string);
        match answer["status"]["token"].as_str() {
            Some(t) if !t.is_empty() => Ok(MintedToken {
                token: SecretString::from(t.to_string()),
                expires_at,
            }),
            _ => Err(KubeError::Api {
                host: self.host.clone(),
                path: format!("POST {path}"),
                code: 200,
                message: "the answer holds no status.token".into(),
            }),
        }
    }
}
