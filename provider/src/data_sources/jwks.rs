//! Data source `irsa_jwks`: the cluster's service-account signing keys as a
//! JWKS, read from the cluster through the Kubernetes API, or computed from
//! the `sa.pub` PEM files before the cluster exists.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::oidc::{self, Finding, Jwks, DISCOVERY_PATH, JWKS_PATH};
use crate::provider::ProviderState;
use tfplugin::{AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, ErrorContext, Model, Tf};
/// Bound on the whole cluster read, on top of the client's own timeouts.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub struct JwksDataSource {
    provider: Arc<ProviderState>,
}

impl JwksDataSource {
    pub fn new(provider: Arc<ProviderState>) -> JwksDataSource {
        JwksDataSource { provider }
    }
}

/// The service-account signing keys of a cluster as a JSON Web Key Set, in the exact form
/// kube-apiserver publishes (`kid` = base64url SHA-256 of the key's DER SubjectPublicKeyInfo).
/// By default read from the cluster (`GET /openid/v1/jwks` and `/.well-known/openid-configuration`);
/// with `public_keys_pem` computed offline, so an issuer can be published before the cluster exists.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct JwksModel {
    // Optional
    /// PEM public keys (PKIX `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or a `CERTIFICATE`), e.g.
    /// `[file("sa.pub")]`: the files given to kube-apiserver's `--service-account-key-file`.
    /// When set, the cluster is not contacted. One string may hold several blocks. An empty list,
    /// a malformed block or a private key is an error at plan time naming the list element; the
    /// key material is never repeated in the message.
    #[tf(optional)]
    pub public_keys_pem: Tf<Vec<Tf<String>>>,
    /// The issuer URL the cluster must report (`--service-account-issuer`): `https://`, without a
    /// trailing slash, query or fragment. Reading fails when the cluster's issuer differs (a
    /// trailing slash counts), with both values and the flag to change. Only with the cluster source.
    #[tf(optional)]
    pub expected_issuer: Tf<String>,

    // Computed
    /// SHA-256 (hex) of `json`: changes exactly when the key set does.
    #[tf(computed)]
    pub id: Tf<String>,
    /// The JWKS: compact JSON, keys sorted by `kid`, members in kube-apiserver's order. Equal key
    /// sets give byte-identical text.
    #[tf(computed)]
    pub json: Tf<String>,
    /// The keys' public labels: kid, kty, alg, use.
    #[tf(computed)]
    pub keys: Tf<Vec<KeyModel>>,
    /// Sorted signing algorithms of the keys (RS256, ES256, ...).
    #[tf(computed)]
    pub algorithms: Tf<Vec<String>>,
    /// The issuer the cluster reports in its discovery document. Null with `public_keys_pem`.
    #[tf(computed)]
    pub issuer: Tf<String>,
    /// The `jwks_uri` the cluster reports. Null with `public_keys_pem`.
    #[tf(computed)]
    pub jwks_uri: Tf<String>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct KeyModel {
    /// Key ID: base64url SHA-256 of the key's DER SubjectPublicKeyInfo.
    pub kid: String,
    /// `RSA` or `EC`.
    pub kty: String,
    /// Signing algorithm (`RS256`, `ES256`, `ES384`, `ES512`).
    pub alg: String,
    /// Always `sig`.
    #[tf(name = "use")]
    pub r#use: String,
}

pub fn schema() -> tfplugin::Schema {
    JwksModel::schema(0)
}

/// The checks of `public_keys_pem` (shared with the function
/// `provider::irsa::jwks_from_pem`, whose argument has the same name): not
/// empty, and every known element holds public keys only. Unknown values
/// wait. The key material is never repeated in a message.
pub(crate) fn check_public_keys(keys: &Tf<Vec<Tf<String>>>, if_empty: &str) -> Diagnostics {
    let mut d = Diagnostics::default();
    let Some(items) = keys.known() else {
        return d;
    };
    if items.is_empty() {
        d.error_at(
            AttrPath::root("public_keys_pem"),
            "No public keys",
            format!("`public_keys_pem` is empty: give at least one PEM public key{if_empty}."),
        );
    }
    for (i, item) in items.iter().enumerate() {
        let path = AttrPath::root("public_keys_pem").index(i);
        match item {
            Tf::Known(text) => {
                if let Err(e) = oidc::parse_public_keys_pem(text) {
                    d.error_at(path, "Invalid public key", e.to_string());
                }
            }
            Tf::Null => d.error_at(path, "Invalid public key", "A public key must not be null."),
            Tf::Unknown(_) => {}
        }
    }
    d
}

/// The JWKS of the PEM public keys `items` (the elements of
/// `public_keys_pem`), and warnings about keys AWS may refuse.
pub(crate) fn jwks_from_pem(items: &[String]) -> Result<(Jwks, Diagnostics), Diagnostics> {
    let mut keys = Vec::new();
    for (i, text) in items.iter().enumerate() {
        let parsed = oidc::parse_public_keys_pem(text).map_err(|e| {
            Diagnostics::from(
                Diagnostic::error("Invalid public key", e.to_string())
                    .at(AttrPath::root("public_keys_pem").index(i)),
            )
        })?;
        keys.extend(parsed);
    }
    let jwks = Jwks::from_public_keys(keys).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error("Unusable key set", e.to_string())
                .at(AttrPath::root("public_keys_pem")),
        )
    })?;
    let mut warnings = Diagnostics::default();
    for f in jwks.findings() {
        warnings.push(finding_diagnostic(
            f,
            Some(AttrPath::root("public_keys_pem")),
        ));
    }
    Ok((jwks, warnings))
}

/// Checks that need nothing but the configuration; unknown values wait.
fn validate_config(config: &JwksModel) -> Diagnostics {
    let mut d = check_public_keys(
        &config.public_keys_pem,
        ", or remove the argument to read the keys from the cluster",
    );
    if config.public_keys_pem.known().is_some() && !config.expected_issuer.is_null() {
        d.error_at(
            AttrPath::root("expected_issuer"),
            "Conflicting arguments",
            "`expected_issuer` is compared with the issuer the cluster reports, so it applies only when the keys \
             are read from the cluster; remove it or remove `public_keys_pem`.",
        );
    }
    if let Some(issuer) = config.expected_issuer.as_deref() {
        if let Err(e) = oidc::validate_issuer_url(issuer) {
            d.error_at(
                AttrPath::root("expected_issuer"),
                "Invalid issuer URL",
                e.to_string(),
            );
        }
    }
    d
}

fn finding_diagnostic(f: Finding, path: Option<AttrPath>) -> Diagnostic {
    let d = Diagnostic::warning(f.summary, f.detail);
    match path {
        Some(p) => d.at(p),
        None => d,
    }
}

fn state(
    config: &JwksModel,
    jwks: &Jwks,
    issuer: Option<String>,
    jwks_uri: Option<String>,
) -> JwksModel {
    let json = jwks.canonical_json();
    let id = Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let keys = jwks
        .keys()
        .iter()
        .map(|k| KeyModel {
            kid: k.kid.clone(),
            kty: k.kty.clone(),
            alg: k.alg.clone(),
            r#use: k.use_.clone(),
        })
        .collect();
    JwksModel {
        id: Tf::Known(id),
        json: Tf::Known(json),
        keys: Tf::Known(keys),
        algorithms: Tf::Known(jwks.algorithms()),
        issuer: issuer.into(),
        jwks_uri: jwks_uri.into(),
        ..config.clone()
    }
}

impl JwksDataSource {
    fn read_pem(
        &self,
        config: &JwksModel,
        items: &[String],
    ) -> Result<(JwksModel, Diagnostics), Diagnostics> {
        let (jwks, warnings) = jwks_from_pem(items)?;
        Ok((state(config, &jwks, None, None), warnings))
    }

    async fn read_cluster(
        &self,
        ctx: &Ctx,
        config: &JwksModel,
    ) -> Result<(JwksModel, Diagnostics), Diagnostics> {
        let configured = self.provider.configured()?;
        let fail =
            |summary: &str, detail: String| Diagnostics::from(Diagnostic::error(summary, detail));
        let ctx = ctx.with_timeout(READ_TIMEOUT);
        let client = ctx
            .run(configured.kube())
            .await?
            .context("Cannot connect to the Kubernetes cluster")?;
        tracing::debug!(target: "irsa::jwks", host = client.host(), "reading the service-account issuer documents");
        let (discovery, jwks) = ctx
            .run(async { tokio::join!(client.get_raw(DISCOVERY_PATH), client.get_raw(JWKS_PATH)) })
            .await?;
        let jwks_body = jwks.context("Cannot read the cluster's signing keys")?;
        let discovery_body =
            discovery.context("Cannot read the cluster's OpenID discovery document")?;

        let jwks = oidc::parse_jwks(&jwks_body).map_err(|e| {
            fail(
                "The cluster's JWKS is unusable",
                format!(
                    "GET {JWKS_PATH} on {} returned a key set that cannot be published: {e}",
                    client.host()
                ),
            )
        })?;
        let discovery = oidc::parse_discovery(&discovery_body).map_err(|e| {
            fail(
                "The cluster's OpenID discovery document is unusable",
                format!("GET {DISCOVERY_PATH} on {}: {e}", client.host()),
            )
        })?;
        if let Some(expected) = config.expected_issuer.as_deref() {
            if let Some(msg) = oidc::issuer_mismatch_message(expected, &discovery.issuer) {
                return Err(Diagnostic::error(
                    "Cluster issuer does not match expected_issuer",
                    msg,
                )
                .at(AttrPath::root("expected_issuer"))
                .into());
            }
        }
        let mut warnings = Diagnostics::default();
        for f in jwks.findings() {
            warnings.push(finding_diagnostic(f, None));
        }
        tracing::debug!(target: "irsa::jwks", keys = jwks.len(), "read the cluster's key set");
        Ok((
            state(
                config,
                &jwks,
                Some(discovery.issuer),
                Some(discovery.jwks_uri),
            ),
            warnings,
        ))
    }
}

#[async_trait]
impl DataSource for JwksDataSource {
    type Model = JwksModel;
    const TYPE_NAME: &'static str = "irsa_jwks";

    fn validate(&self, config: &JwksModel) -> Diagnostics {
        validate_config(config)
    }

    async fn read(
        &self,
        ctx: &Ctx,
        config: JwksModel,
    ) -> Result<(JwksModel, Diagnostics), Diagnostics> {
        match config.public_keys_pem.known_items() {
            Some(items) => self.read_pem(&config, &items),
            None => self.read_cluster(ctx, &config).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::{Model, TfType, Value};

    fn config(pems: Option<Vec<&str>>, expected_issuer: Option<&str>) -> Value {
        JwksModel {
            public_keys_pem: pems
                .map(|p| Tf::list(p.into_iter().map(String::from).collect()))
                .unwrap_or_default(),
            expected_issuer: expected_issuer.map(String::from).into(),
            ..JwksModel::default()
        }
        .to_value()
    }

    fn validate_config(v: &Value) -> Diagnostics {
        super::validate_config(&JwksModel::decode(v).unwrap())
    }

    #[test]
    fn empty_pem_list_and_bad_issuer_are_plan_time_errors_with_paths() {
        let d = validate_config(&config(Some(vec![]), None));
        assert_eq!(d.0[0].path, Some(AttrPath::root("public_keys_pem")));
        let d = validate_config(&config(None, Some("https://oidc.example.com/")));
        assert_eq!(d.0[0].path, Some(AttrPath::root("expected_issuer")));
        let d = validate_config(&config(None, Some("http://oidc.example.com")));
        assert!(d.has_errors());
    }

    #[test]
    fn a_private_key_is_refused_without_echoing_it() {
        let body = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu";
        let pem =
            format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n");
        let d = validate_config(&config(Some(vec![&pem]), None));
        assert!(d.has_errors());
        assert_eq!(
            d.0[0].path,
            Some(AttrPath::root("public_keys_pem").index(0))
        );
        assert!(!d.0[0].detail.contains(body));
    }

    #[test]
    fn unknown_values_are_left_for_later() {
        let mut c = config(None, None);
        c.set_attr("public_keys_pem", Value::unknown());
        c.set_attr("expected_issuer", Value::unknown());
        assert!(validate_config(&c).is_empty());
    }
}
