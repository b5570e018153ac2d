//! The `provider "irsa" {}` block: schema, validation (no network) and the
//! settings the clients are built from.

use crate::aws::{AssumeRole, AwsSettings, Endpoints};
use crate::kube::{ExecSettings, KubeSettings};
use tfplugin::{AttrPath, Attribute, Block, Diagnostics, NestedBlock, Schema, Type, Value};

pub const AWS_SERVICES: [&str; 6] = ["s3", "cloudfront", "acm", "route53", "iam", "sts"];

pub fn schema() -> Schema {
    let assume_role = Block::new(
        "Assume this IAM role for every AWS call, like the aws provider's `assume_role`.",
    )
    .attribute(Attribute::required(
        "role_arn",
        Type::String,
        "ARN of the role to assume.",
    ))
    .attribute(Attribute::optional(
        "session_name",
        Type::String,
        "Session name. Default: `terraform-provider-irsa`.",
    ))
    .attribute(Attribute::optional(
        "external_id",
        Type::String,
        "External ID the role's trust policy requires.",
    ));
    let mut endpoints = Block::new(
        "Custom endpoint URLs per service (e.g. for a local AWS emulator). Unset services use \
         `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then AWS's own endpoints.",
    );
    for svc in AWS_SERVICES {
        endpoints = endpoints.attribute(Attribute::optional(
            svc,
            Type::String,
            &format!("Endpoint URL for {svc}."),
        ));
    }
    let exec = Block::new(
        "Run a command for credentials (a client-go exec plugin), e.g. `aws eks get-token`.",
    )
    .attribute(Attribute::required(
        "api_version",
        Type::String,
        "e.g. `client.authentication.k8s.io/v1beta1`.",
    ))
    .attribute(Attribute::required(
        "command",
        Type::String,
        "The command to run.",
    ))
    .attribute(Attribute::optional(
        "args",
        Type::list(Type::String),
        "Its arguments.",
    ))
    .attribute(Attribute::optional(
        "env",
        Type::map(Type::String),
        "Extra environment variables.",
    ));
    let kubernetes = Block::new(
        "How to reach the cluster's API server, as in the hashicorp/kubernetes provider. A kubeconfig \
         (`config_path`) with explicit settings layered on top; else `host` with credentials; else the \
         in-cluster service account. Only read when a data source or resource needs the cluster.",
    )
    .attribute(Attribute::optional("config_path", Type::String, "Path to a kubeconfig. Env: `KUBE_CONFIG_PATH`."))
    .attribute(Attribute::optional("config_context", Type::String, "Context in the kubeconfig. Env: `KUBE_CTX`."))
    .attribute(Attribute::optional("host", Type::String, "API server URL, `https://...`. Env: `KUBE_HOST`."))
    .attribute(Attribute::optional("token", Type::String, "Bearer token. Env: `KUBE_TOKEN`.").sensitive())
    .attribute(Attribute::optional(
        "cluster_ca_certificate",
        Type::String,
        "PEM of the CA that signed the API server's certificate. Env: `KUBE_CLUSTER_CA_CERT_DATA`.",
    ))
    .attribute(Attribute::optional("client_certificate", Type::String, "PEM client certificate. Env: `KUBE_CLIENT_CERT_DATA`."))
    .attribute(Attribute::optional("client_key", Type::String, "PEM client key. Env: `KUBE_CLIENT_KEY_DATA`.").sensitive())
    .attribute(Attribute::optional(
        "insecure",
        Type::Bool,
        "Skip verifying the API server's certificate. Default: false. Env: `KUBE_INSECURE`.",
    ))
    .block(NestedBlock::at_most_one("exec", exec));

    Schema {
        version: 0,
        block: Block::new(
            "IAM Roles for Service Accounts for self-managed Kubernetes clusters on AWS. AWS and Kubernetes \
             clients are built on first use, so a configuration that only computes a JWKS from PEM files needs \
             neither credentials nor a cluster.",
        )
        .attribute(Attribute::optional("region", Type::String, "AWS region. Env: `AWS_REGION`, `AWS_DEFAULT_REGION`."))
        .attribute(Attribute::optional("profile", Type::String, "Shared config profile. Env: `AWS_PROFILE`."))
        .attribute(Attribute::optional(
            "s3_use_path_style",
            Type::Bool,
            "Address S3 buckets by path (`https://host/bucket`), as S3 emulators need. Default: false.",
        ))
        .block(NestedBlock::at_most_one("assume_role", assume_role))
        .block(NestedBlock::at_most_one("endpoints", endpoints))
        .block(NestedBlock::at_most_one("kubernetes", kubernetes)),
    }
}

/// The first element of an at-most-one block, or null.
fn single_block<'a>(config: &'a Value, name: &str) -> &'a Value {
    config
        .attr(name)
        .elements()
        .and_then(|e| e.first())
        .unwrap_or(&Value::Null)
}

fn opt_string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Checks that need no network. Unknown values are skipped: they are
/// checked again when known, at configure time.
pub fn validate(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(region) = config.attr("region").as_str() {
        if !is_region_name(region) {
            d.error_at(
                AttrPath::root("region"),
                "Invalid AWS region",
                format!("{region:?} is not an AWS region name such as \"eu-west-1\"."),
            );
        }
    }
    let role = single_block(config, "assume_role");
    if let Some(arn) = role.attr("role_arn").as_str() {
        if !is_role_arn(arn) {
            d.error_at(
                AttrPath::root("assume_role").index(0).attr("role_arn"),
                "Invalid role ARN",
                format!("{arn:?} is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/<name>)."),
            );
        }
    }
    let endpoints = single_block(config, "endpoints");
    for svc in AWS_SERVICES {
        if let Some(url) = endpoints.attr(svc).as_str() {
            if let Err(why) = check_url(url, &["http", "https"]) {
                d.error_at(
                    AttrPath::root("endpoints").index(0).attr(svc),
                    "Invalid endpoint URL",
                    format!("{url:?}: {why}"),
                );
            }
        }
    }
    let k = single_block(config, "kubernetes");
    let kpath = || AttrPath::root("kubernetes").index(0);
    if let Some(host) = k.attr("host").as_str() {
        if let Err(why) = check_url(host, &["https", "http"]) {
            d.error_at(
                kpath().attr("host"),
                "Invalid Kubernetes API server URL",
                format!("{host:?}: {why}"),
            );
        }
    }
    for (attr, label) in [
        ("cluster_ca_certificate", "CERTIFICATE"),
        ("client_certificate", "CERTIFICATE"),
    ] {
        if let Some(pem_text) = k.attr(attr).as_str() {
            if !pem_text.contains(&format!("-----BEGIN {label}-----")) {
                d.error_at(
                    kpath().attr(attr),
                    "Not a PEM certificate",
                    format!("`{attr}` must hold a PEM certificate (-----BEGIN CERTIFICATE-----), not a file path or base64."),
                );
            }
        }
    }
    if let Some(key) = k.attr("client_key").as_str() {
        if !key.contains("-----BEGIN") || !key.contains("PRIVATE KEY-----") {
            // Never echo the value: it is a private key, or a mistake near one.
            d.error_at(
                kpath().attr("client_key"),
                "Not a PEM private key",
                "`client_key` must hold a PEM private key.",
            );
        }
    }
    let cert_set = !k.attr("client_certificate").is_null();
    let key_set = !k.attr("client_key").is_null();
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
    if k.attr("insecure").as_bool() == Some(true) && !k.attr("cluster_ca_certificate").is_null() {
        d.error_at(
            kpath().attr("insecure"),
            "Conflicting TLS settings",
            "`insecure = true` turns certificate checks off, so `cluster_ca_certificate` would be ignored; set only one.",
        );
    }
    d
}

fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len()
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
    let role = single_block(config, "assume_role");
    let e = single_block(config, "endpoints");
    AwsSettings {
        region: opt_string(config.attr("region")),
        profile: opt_string(config.attr("profile")),
        s3_use_path_style: config.attr("s3_use_path_style").as_bool().unwrap_or(false),
        assume_role: role.attr("role_arn").as_str().map(|arn| AssumeRole {
            role_arn: arn.to_string(),
            session_name: opt_string(role.attr("session_name")),
            external_id: opt_string(role.attr("external_id")),
        }),
        endpoints: Endpoints {
            s3: opt_string(e.attr("s3")),
            cloudfront: opt_string(e.attr("cloudfront")),
            acm: opt_string(e.attr("acm")),
            route53: opt_string(e.attr("route53")),
            iam: opt_string(e.attr("iam")),
            sts: opt_string(e.attr("sts")),
        },
    }
}

pub fn kube_settings(config: &Value) -> KubeSettings {
    let k = single_block(config, "kubernetes");
    let exec = single_block(k, "exec");
    KubeSettings {
        config_path: opt_string(k.attr("config_path")),
        config_context: opt_string(k.attr("config_context")),
        host: opt_string(k.attr("host")),
        token: opt_string(k.attr("token")),
        cluster_ca_certificate: opt_string(k.attr("cluster_ca_certificate")),
        client_certificate: opt_string(k.attr("client_certificate")),
        client_key: opt_string(k.attr("client_key")),
        insecure: k.attr("insecure").as_bool(),
        exec: exec.attr("command").as_str().map(|command| ExecSettings {
            api_version: opt_string(exec.attr("api_version")).unwrap_or_default(),
            command: command.to_string(),
            args: exec
                .attr("args")
                .elements()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            env: exec
                .attr("env")
                .entries()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
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
