//! Ephemeral resource `irsa_service_account_token`: a service-account token
//! from the cluster's TokenRequest API, for configuring another provider
//! with the identity a pod would have (e.g. hashicorp/aws's
//! `assume_role_with_web_identity`, proving from Terraform that a role's
//! trust policy accepts the pod's token). The token lives only in
//! Terraform's memory: it is never in a plan, a state, a log or a message.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret as _;

use crate::provider::ProviderState;
use tfplugin::ephemeral::Opened;
use tfplugin::types::{dns, GoDuration};
use tfplugin::validate::Invalid;
use tfplugin::{Ctx, Diagnostics, EphemeralResource, ErrorContext, Model, Tf};

pub const TYPE_NAME: &str = "irsa_service_account_token";
/// kube-apiserver refuses `expirationSeconds` below 10 minutes...
const MIN_EXPIRATION: Duration = Duration::from_secs(600);
/// ...and above 2^32 seconds.
const MAX_EXPIRATION_SECONDS: u64 = 1 << 32;
/// Bound on the TokenRequest call, on top of the client's own timeouts.
const MINT_TIMEOUT: Duration = Duration::from_secs(60);

/// A token of a Kubernetes service account from the TokenRequest API (`POST
/// /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`), the token the kubelet projects into a pod that uses the
/// service account. Ephemeral (Terraform 1.10 and later): Terraform makes it for each plan and apply that needs it
/// and never writes it to a plan or state file. Its use is to configure another provider with the cluster's
/// identity, e.g. hashicorp/aws's `assume_role_with_web_identity`, which proves from Terraform that a role's trust
/// policy accepts the pod's token. The provider's `kubernetes` settings must allow `create` on
/// `serviceaccounts/token` in the namespace.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ServiceAccountTokenModel {
    // Required
    /// The service account, `"<namespace>/<name>"` (both DNS names, no wildcards).
    #[tf(required, validate = service_account)]
    pub service_account: Tf<String>,

    // Optional
    /// The token's audience (`aud`): the client ID the IAM OIDC provider trusts (the pod identity webhook's
    /// `--token-audience`), or the API server's own audience (its issuer, by default) to authenticate to the
    /// cluster with the token.
    #[tf(optional, computed, default = "sts.amazonaws.com", validate = audience)]
    pub audience: Tf<String>,
    /// How long the token is valid, as a Go duration in whole seconds: at least `10m` (the API server's minimum) and
    /// at most 2^32 seconds. The API server may shorten it (`--service-account-max-token-expiration`); `expires_at`
    /// says when it ends.
    #[tf(optional, computed, default = "1h", validate = expiration)]
    pub expiration: Tf<GoDuration>,

    // Computed
    /// The token: a JWT signed by the cluster's service-account key.
    #[tf(computed, sensitive)]
    pub token: Tf<String>,
    /// When the token expires (RFC 3339), as the API server says.
    #[tf(computed)]
    pub expires_at: Tf<String>,
}

fn service_account(s: &String) -> Result<(), Invalid> {
    parse_service_account(s)
        .map(|_| ())
        .map_err(|why| Invalid::new("Invalid service account", why))
}

/// `"<namespace>/<name>"`, both checked as Kubernetes checks them.
pub fn parse_service_account(s: &str) -> Result<(&str, &str), String> {
    let Some((namespace, name)) = s.split_once('/') else {
        return Err(format!(
            "{s:?} is not of the form \"<namespace>/<name>\" (e.g. \"default/my-app\")."
        ));
    };
    if let Err(why) = dns::check_label(namespace) {
        return Err(format!(
            "{s:?}: the namespace {namespace:?} is not a valid namespace name (a DNS label: {why})."
        ));
    }
    if let Err(why) = dns::check_subdomain(name) {
        return Err(format!(
            "{s:?}: the name {name:?} is not a valid service account name (a DNS subdomain name: {why})."
        ));
    }
    Ok((namespace, name))
}

fn audience(a: &String) -> Result<(), Invalid> {
    if a.is_empty() || a.trim() != a {
        Err(Invalid::new(
            "Invalid audience",
            format!("The audience {a:?} is empty or has surrounding whitespace; tokens carry it exactly."),
        ))
    } else {
        Ok(())
    }
}

fn expiration(d: &GoDuration) -> Result<(), Invalid> {
    let v = d.duration();
    if v < MIN_EXPIRATION {
        return Err(Invalid::new(
            "Token expiration too short",
            format!(
                "{:?} is shorter than 10m, the shortest token the Kubernetes API server mints.",
                d.as_str()
            ),
        ));
    }
    if v.subsec_nanos() != 0 {
        return Err(Invalid::new(
            "Invalid token expiration",
            format!(
                "{:?} is not a whole number of seconds, which the TokenRequest API counts in.",
                d.as_str()
            ),
        ));
    }
    if v.as_secs() > MAX_EXPIRATION_SECONDS {
        return Err(Invalid::new(
            "Token expiration too long",
            format!(
                "{:?} is longer than 2^32 seconds, the longest the Kubernetes API server accepts.",
                d.as_str()
            ),
        ));
    }
    Ok(())
}

pub struct ServiceAccountToken {
    provider: Arc<ProviderState>,
}

impl ServiceAccountToken {
    pub fn new(provider: Arc<ProviderState>) -> ServiceAccountToken {
        ServiceAccountToken { provider }
    }
}

#[async_trait]
impl EphemeralResource for ServiceAccountToken {
    type Model = ServiceAccountTokenModel;
    type Private = ();
    const TYPE_NAME: &'static str = TYPE_NAME;

    async fn open(
        &self,
        ctx: &Ctx,
        mut config: ServiceAccountTokenModel,
    ) -> Result<Opened<ServiceAccountTokenModel, ()>, Diagnostics> {
        // The framework opens only a valid, known configuration with its
        // defaults filled in.
        let sa = config
            .service_account
            .as_deref()
            .unwrap_or_default()
            .to_string();
        let (namespace, name) = parse_service_account(&sa).context("Invalid service account")?;
        let audience = config.audience.as_deref().unwrap_or_default().to_string();
        let seconds = config
            .expiration
            .known()
            .map_or(3600, |d| d.duration().as_secs()) as i64;
        let configured = self.provider.configured()?;
        let ctx = ctx.with_timeout(MINT_TIMEOUT);
        let client = ctx
            .run(configured.kube())
            .await?
            .context("Cannot connect to the Kubernetes cluster")?;
        tracing::debug!(target: "irsa::token", service_account = %sa, audience = %audience, seconds, "requesting a service-account token");
        let minted = ctx
            .run(client.mint_token(namespace, name, &audience, seconds))
            .await?
            .context(&format!("Cannot get a token for the service account {sa}"))?;
        tracing::debug!(target: "irsa::token", service_account = %sa, expires_at = ?minted.expires_at, "got a service-account token");
        config.token = Tf::Known(minted.token.expose_secret().to_string());
        config.expires_at = minted.expires_at.into();
        Ok(Opened::new(config, ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Value;

    fn config(sa: &str, audience: Value, expiration: Value) -> Value {
        Value::object([
            ("service_account", Value::string(sa)),
            ("audience", audience),
            ("expiration", expiration),
            ("token", Value::Null),
            ("expires_at", Value::Null),
        ])
    }

    async fn errors(c: Value) -> Vec<(String, String)> {
        let h = tfplugin::ephemeral::handler(ServiceAccountToken::new(Arc::default()));
        h.validate(&c)
            .await
            .0
            .into_iter()
            .map(|d| (d.path.unwrap().to_string(), d.summary))
            .collect()
    }

    #[tokio::test]
    async fn bad_input_is_refused_at_plan_naming_the_attribute() {
        let e = errors(config("default", Value::Null, Value::Null)).await;
        assert_eq!(
            e,
            [("service_account".into(), "Invalid service account".into())]
        );
        let e = errors(config(
            "Default/app",
            Value::string(" x"),
            Value::string("9m59s"),
        ))
        .await;
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["service_account", "audience", "expiration"],
            "{e:?}"
        );
        assert_eq!(e[2].1, "Token expiration too short");
        let e = errors(config("default/app", Value::Null, Value::string("10m0.5s"))).await;
        assert_eq!(e[0].1, "Invalid token expiration");
        let e = errors(config("default/app", Value::Null, Value::string("1d"))).await;
        assert_eq!(e[0].0, "expiration", "not a Go duration");
        assert!(
            errors(config("default/app", Value::Null, Value::string("10m")))
                .await
                .is_empty()
        );
    }

    #[test]
    fn the_token_is_sensitive_and_defaults_are_documented() {
        let b = ServiceAccountTokenModel::block();
        assert!(b.find_attribute("token").unwrap().sensitive);
        assert!(b
            .find_attribute("audience")
            .unwrap()
            .description
            .contains("Default: `\"sts.amazonaws.com\"`"));
    }
}
