//! The `provider "irsa" {}` block: schema, validation (no network) and the
//! settings the clients are built from.

use crate::aws::{AssumeRole, AwsSettings, Endpoints};
use crate::kube::{ExecSettings, KubeSettings};
use std::collections::BTreeMap;

use tfplugin::types::{Arn, Region};
use tfplugin::validate::Invalid;
use tfplugin::{AttrPath, Diagnostics, Model, Schema, Tf, Value};

pub const AWS_SERVICES: [&str; 6] = ["s3", "cloudfront", "acm", "route53", "iam", "sts"];

/// IAM Roles for Service Accounts for self-managed Kubernetes clusters on AWS. AWS and Kubernetes
/// clients are built on first use, so a configuration that only computes a JWKS from PEM files needs
/// neither credentials nor a cluster.
#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ProviderModel {
    /// AWS region. Env: `AWS_REGION`, `AWS_DEFAULT_REGION`.
    #[tf(optional)]
    pub region: Tf<Region>,
    /// Shared config profile. Env: `AWS_PROFILE`.
    #[tf(optional)]
    pub profile: Tf<String>,
    /// Address S3 buckets by path (`https://host/bucket`), as S3 emulators need. Default: false.
    /// Env: `AWS_S3_USE_PATH_STYLE` (`true` or `false`), as in the hashicorp/aws provider.
    #[tf(optional)]
    pub s3_use_path_style: Tf<bool>,
    /// Assume this IAM role for every AWS call, like the aws provider's `assume_role`.
    #[tf(block, max_items = 1)]
    pub assume_role: Tf<Vec<AssumeRoleModel>>,
    /// Custom endpoint URLs per service (e.g. for a local AWS emulator). Unset services use
    /// `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then AWS's own endpoints.
    #[tf(block, max_items = 1)]
    pub endpoints: Tf<Vec<EndpointsModel>>,
    /// How to reach the cluster's API server, as in the hashicorp/kubernetes provider. A kubeconfig
    /// (`config_path`) with explicit settings layered on top; else `host` with credentials; else the
    /// in-cluster service account. Only read when a data source or resource needs the cluster.
    #[tf(block, max_items = 1)]
    pub kubernetes: Tf<Vec<KubernetesModel>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct AssumeRoleModel {
    /// ARN of the role to assume.
    #[tf(required, validate = role_arn)]
    pub role_arn: Tf<String>,
    /// Session name. Default: `terraform-provider-irsa`.
    #[tf(optional)]
    pub session_name: Tf<String>,
    /// External ID the role's trust policy requires.
    #[tf(optional)]
    pub external_id: Tf<String>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct EndpointsModel {
    /// Endpoint URL for s3.
    #[tf(optional)]
    pub s3: Tf<String>,
    /// Endpoint URL for cloudfront.
    #[tf(optional)]
    pub cloudfront: Tf<String>,
    /// Endpoint URL for acm.
    #[tf(optional)]
    pub acm: Tf<String>,
    /// Endpoint URL for route53.
    #[tf(optional)]
    pub route53: Tf<String>,
    /// Endpoint URL for iam.
    #[tf(optional)]
    pub iam: Tf<String>,
    /// Endpoint URL for sts.
    #[tf(optional)]
    pub sts: Tf<String>,
}

impl EndpointsModel {
    fn by_service(&self) -> [(&'static str, &Tf<String>); 6] {
        [
            ("s3", &self.s3),
            ("cloudfront", &self.cloudfront),
            ("acm", &self.acm),
            ("route53", &self.route53),
            ("iam", &self.iam),
            ("sts", &self.sts),
        ]
    }
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct KubernetesModel {
    /// Path to a kubeconfig. Env: `KUBE_CONFIG_PATH`.
    #[tf(optional)]
    pub config_path: Tf<String>,
    /// Context in the kubeconfig. Env: `KUBE_CTX`.
    #[tf(optional)]
    pub config_context: Tf<String>,
    /// API server URL, `https://...`. Env: `KUBE_HOST`.
    #[tf(optional)]
    pub host: Tf<String>,
    /// Bearer token. Env: `KUBE_TOKEN`.
    #[tf(optional, sensitive)]
    pub token: Tf<String>,
    /// PEM of the CA that signed the API server's certificate. Env: `KUBE_CLUSTER_CA_CERT_DATA`.
    #[tf(optional)]
    pub cluster_ca_certificate: Tf<String>,
    /// PEM client certificate. Env: `KUBE_CLIENT_CERT_DATA`.
    #[tf(optional)]
    pub client_certificate: Tf<String>,
    /// PEM client key. Env: `KUBE_CLIENT_KEY_DATA`.
    #[tf(optional, sensitive)]
    pub client_key: Tf<String>,
    /// Skip verifying the API server's certificate. Default: false. Env: `KUBE_INSECURE`.
    #[tf(optional)]
    pub insecure: Tf<bool>,
    /// Run a command for credentials (a client-go exec plugin), e.g. `aws eks get-token`.
    #[tf(block, max_items = 1)]
    pub exec: Tf<Vec<ExecModel>>,
}

#[derive(Model, Clone, Debug, Default, PartialEq)]
pub struct ExecModel {
    /// e.g. `client.authentication.k8s.io/v1beta1`.
    #[tf(required)]
    pub api_version: Tf<String>,
    /// The command to run.
    #[tf(required)]
    pub command: Tf<String>,
    /// Its arguments.
    #[tf(optional)]
    pub args: Tf<Vec<Tf<String>>>,
    /// Extra environment variables.
    #[tf(optional)]
    pub env: Tf<BTreeMap<String, Tf<String>>>,
}

pub fn schema() -> Schema {
    ProviderModel::schema(0)
}

/// The first element of an at-most-one block, when known.
fn single<T: Clone + Default>(block: &Tf<Vec<T>>) -> T {
    block
        .known()
        .and_then(|items| items.first())
        .cloned()
        .unwrap_or_default()
}

fn decode(config: &Value) -> Result<ProviderModel, Diagnostics> {
    ProviderModel::decode(config)
}

/// Checks that need no network. Unknown values are skipped: they are
/// checked again when known, at configure time.
const PATH_STYLE_ENV: &str = "AWS_S3_USE_PATH_STYLE";

/// The environment's say on path-style addressing when the block is silent: a
/// module that configures its own provider block can then still be pointed at
/// an S3 emulator. Unset or empty means false.
fn path_style_from_env(value: Option<&str>) -> Result<bool, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!(
            "{PATH_STYLE_ENV} is {v:?}; it must be \"true\" or \"false\"."
        )),
    }
}

/// Every problem of the block: values that do not decode, then the rules
/// of the rest (see [`Model::decode_lenient`]).
pub fn validate(config: &Value) -> Diagnostics {
    let (m, mut d) = ProviderModel::decode_lenient(config);
    if let Some(m) = m {
        d.extend(validate_model(&m));
    }
    d
}

fn validate_model(config: &ProviderModel) -> Diagnostics {
    let mut d = config.validate_fields();
    if config.s3_use_path_style.is_null() {
        if let Err(e) = path_style_from_env(std::env::var(PATH_STYLE_ENV).ok().as_deref()) {
            d.error_at(
                AttrPath::root("s3_use_path_style"),
                "Invalid AWS_S3_USE_PATH_STYLE",
                e,
            );
        }
    }
    let endpoints = single(&config.endpoints);
    for (svc, url) in endpoints.by_service() {
        if let Some(url) = url.as_deref() {
            if let Err(why) = check_url(url, &["http", "https"]) {
                d.error_at(
                    AttrPath::root("endpoints").index(0).attr(svc),
                    "Invalid endpoint URL",
                    format!("{url:?}: {why}"),
                );
            }
        }
    }
    let k = single(&config.kubernetes);
    let kpath = || AttrPath::root("kubernetes").index(0);
    if let Some(host) = k.host.as_deref() {
        if let Err(why) = check_url(host, &["https", "http"]) {
            d.error_at(
                kpath().attr("host"),
                "Invalid Kubernetes API server URL",
                format!("{host:?}: {why}"),
            );
        }
    }
    for (attr, value) in [
        ("cluster_ca_certificate", &k.cluster_ca_certificate),
        ("client_certificate", &k.client_certificate),
    ] {
        if let Some(pem_text) = value.as_deref() {
            if !pem_text.contains("-----BEGIN CERTIFICATE-----") {
                d.error_at(
                    kpath().attr(attr),
                    "Not a PEM certificate",
                    format!("`{attr}` must hold a PEM certificate (-----BEGIN CERTIFICATE-----), not a file path or base64."),
                );
            }
        }
    }
    if let Some(key) = k.client_key.as_deref() {
        if !key.contains("-----BEGIN") || !key.contains("PRIVATE KEY-----") {
            // Never echo the value: it is a private key, or a mistake near one.
            d.error_at(
                kpath().attr("client_key"),
                "Not a PEM private key",
                "`client_key` must hold a PEM private key.",
            );
        }
    }
    let cert_set = !k.client_certificate.is_null();
    let key_set = !k.client_key.is_null();
    if cert_set != key_set {
        let missing = if cert_set {
            "client_key"
        } else {
            "client_certificate"
        };
        d.error_at(
            kpath().attr(missing),
            "Incomplete client certificate",
            "`client_certificate` and `client_key` must be set together.",
        );
    }
    if k.insecure.known() == Some(&true) && !k.cluster_ca_certificate.is_null() {
        d.error_at(
            kpath().attr("insecure"),
            "Conflicting TLS settings",
            "`insecure = true` turns certificate checks off, so `cluster_ca_certificate` would be ignored; set only one.",
        );
    }
    d
}

/// An IAM role's ARN in a partition AWS has.
fn role_arn(arn: &String) -> Result<(), Invalid> {
    let ok = Arn::parse(arn).is_ok_and(|a| {
        a.service == "iam"
            && a.region.is_empty()
            && a.account.len() == 12
            && a.resource
                .strip_prefix("role/")
                .is_some_and(|n| !n.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            "Invalid role ARN",
            format!("{arn:?} is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/<name>)."),
        ))
    }
}

fn check_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("not a URL ({e})"))?;
    match uri.scheme_str() {
        Some(s) if schemes.contains(&s) => {}
        _ => return Err(format!("the scheme must be one of {}", schemes.join(", "))),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(())
}

/// True if any part of the block is unknown: such settings cannot be used
/// until Terraform knows them (e.g. a host from a resource not yet created).
pub fn has_unknowns(config: &Value) -> bool {
    !config.is_wholly_known()
}

pub fn aws_settings(config: &Value) -> AwsSettings {
    let m = decode(config).unwrap_or_default();
    let role = single(&m.assume_role);
    let e = single(&m.endpoints);
    let s = |v: &Tf<String>| v.known().cloned();
    AwsSettings {
        region: m.region.known().map(|r| r.to_string()),
        profile: s(&m.profile),
        s3_use_path_style: match m.s3_use_path_style.known() {
            Some(b) => *b,
            // validate() has already refused a value other than true/false.
            None => {
                path_style_from_env(std::env::var(PATH_STYLE_ENV).ok().as_deref()).unwrap_or(false)
            }
        },
        assume_role: role.role_arn.known().map(|arn| AssumeRole {
            role_arn: arn.clone(),
            session_name: s(&role.session_name),
            external_id: s(&role.external_id),
        }),
        endpoints: Endpoints {
            s3: s(&e.s3),
            cloudfront: s(&e.cloudfront),
            acm: s(&e.acm),
            route53: s(&e.route53),
            iam: s(&e.iam),
            sts: s(&e.sts),
        },
    }
}

pub fn kube_settings(config: &Value) -> KubeSettings {
    let m = decode(config).unwrap_or_default();
    let k = single(&m.kubernetes);
    let exec = single(&k.exec);
    let s = |v: &Tf<String>| v.known().cloned();
    KubeSettings {
        config_path: s(&k.config_path),
        config_context: s(&k.config_context),
        host: s(&k.host),
        token: s(&k.token),
        cluster_ca_certificate: s(&k.cluster_ca_certificate),
        client_certificate: s(&k.client_certificate),
        client_key: s(&k.client_key),
        insecure: k.insecure.known().copied(),
        exec: exec.command.known().map(|command| ExecSettings {
            api_version: s(&exec.api_version).unwrap_or_default(),
            command: command.clone(),
            args: exec
                .args
                .known()
                .map(|a| a.iter().filter_map(|v| v.known().cloned()).collect())
                .unwrap_or_default(),
            env: exec
                .env
                .known()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.known()?.clone())))
                        .collect()
                })
                .unwrap_or_default(),
        }),
    }
    .with_env_fallbacks()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Type;

    fn config(attrs: Vec<(&str, Value)>) -> Value {
        let ty = schema().block.value_type();
        let Type::Object(names) = ty else {
            unreachable!()
        };
        let mut m: std::collections::BTreeMap<String, Value> =
            names.keys().map(|k| (k.clone(), Value::Null)).collect();
        for (k, v) in attrs {
            m.insert(k.to_string(), v);
        }
        Value::Object(m)
    }

    fn block(attrs: Vec<(&str, Value)>) -> Value {
        Value::List(vec![Value::object(attrs)])
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn bad_values_are_reported_at_their_attribute() {
        let c = config(vec![
            ("region", Value::string("Europe")),
            (
                "assume_role",
                block(vec![("role_arn", Value::string("arn:aws:iam::123:user/x"))]),
            ),
            (
                "endpoints",
                block(vec![
                    ("s3", Value::string("ftp://x")),
                    ("iam", Value::string("http://127.0.0.1:5000")),
                ]),
            ),
            (
                "kubernetes",
                block(vec![
                    ("host", Value::string("not a url")),
                    (
                        "client_certificate",
                        Value::string("-----BEGIN CERTIFICATE-----\n"),
                    ),
                ]),
            ),
        ]);
        let d = validate(&c);
        assert_eq!(
            paths(&d),
            vec![
                "region",
                "assume_role[0].role_arn",
                "endpoints[0].s3",
                "kubernetes[0].host",
                "kubernetes[0].client_key"
            ]
        );
    }

    #[test]
    fn a_private_key_value_is_never_echoed() {
        let secret = "MIIEsecretsecretsecret";
        let c = config(vec![(
            "kubernetes",
            block(vec![
                ("client_key", Value::string(secret)),
                (
                    "client_certificate",
                    Value::string("-----BEGIN CERTIFICATE-----"),
                ),
            ]),
        )]);
        let d = validate(&c);
        assert!(d.has_errors());
        assert!(d
            .0
            .iter()
            .all(|d| !d.detail.contains(secret) && !d.summary.contains(secret)));
    }

    #[test]
    fn path_style_env_is_true_false_or_unset() {
        assert_eq!(path_style_from_env(None), Ok(false));
        assert_eq!(path_style_from_env(Some("")), Ok(false));
        assert_eq!(path_style_from_env(Some("TRUE")), Ok(true));
        assert_eq!(path_style_from_env(Some("false")), Ok(false));
        let e = path_style_from_env(Some("yes")).unwrap_err();
        assert!(
            e.contains("AWS_S3_USE_PATH_STYLE") && e.contains("\"yes\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_values_are_not_validated_yet() {
        let c = config(vec![("region", Value::unknown())]);
        assert!(validate(&c).is_empty());
        assert!(has_unknowns(&c));
    }

    #[test]
    fn settings_are_read_from_blocks() {
        let c = config(vec![
            ("region", Value::string("eu-west-1")),
            ("s3_use_path_style", Value::Bool(true)),
            (
                "endpoints",
                block(vec![("sts", Value::string("http://127.0.0.1:1"))]),
            ),
            (
                "assume_role",
                block(vec![(
                    "role_arn",
                    Value::string("arn:aws:iam::123456789012:role/x"),
                )]),
            ),
        ]);
        assert!(validate(&c).is_empty());
        let s = aws_settings(&c);
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert!(s.s3_use_path_style);
        assert_eq!(s.endpoints.sts.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            s.assume_role.unwrap().role_arn,
            "arn:aws:iam::123456789012:role/x"
        );
    }
}
