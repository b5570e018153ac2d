//! What amazon-eks-pod-identity-webhook (v0.6.17, `pkg/handler`,
//! `pkg/cache`) injects into a pod, for the flags it is started with: the
//! provider renders those flags, and this model says what pods then get, so
//! a test can check the two against each other without a cluster.

use std::collections::BTreeMap;

/// The webhook's injection flags (a subset of its command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    pub annotation_prefix: String,
    pub token_audience: String,
    /// Seconds; the webhook's own floor is 600.
    pub token_expiration: i64,
    pub token_mount_path: String,
    pub aws_default_region: Option<String>,
    pub sts_regional_endpoint: bool,
}

pub const DEFAULT_MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
pub const VOLUME_NAME: &str = "aws-iam-token";
pub const TOKEN_FILE: &str = "token";
/// The webhook's default; with it, each pod gets a jittered value in
/// `[79200, 86400]` instead.
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86400;
pub const MIN_TOKEN_EXPIRATION: i64 = 600;

impl Flags {
    /// The command-line flags, as the webhook's pflag parser reads them.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec![
            format!("--annotation-prefix={}", self.annotation_prefix),
            format!("--token-audience={}", self.token_audience),
            format!("--token-expiration={}", self.token_expiration),
            format!("--token-mount-path={}", self.token_mount_path),
            format!("--sts-regional-endpoint={}", self.sts_regional_endpoint),
        ];
        if let Some(r) = &self.aws_default_region {
            a.push(format!("--aws-default-region={r}"));
        }
        a
    }

    /// The flags back from a command line (`--name=value` form; the
    /// webhook's defaults for flags that are absent).
    pub fn parse(args: &[String]) -> Flags {
        let get = |name: &str| {
            args.iter()
                .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
        };
        Flags {
            annotation_prefix: get("annotation-prefix")
                .unwrap_or_else(|| "eks.amazonaws.com".into()),
            token_audience: get("token-audience").unwrap_or_else(|| "sts.amazonaws.com".into()),
            token_expiration: get("token-expiration")
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_TOKEN_EXPIRATION),
            token_mount_path: get("token-mount-path").unwrap_or_else(|| DEFAULT_MOUNT_PATH.into()),
            aws_default_region: get("aws-default-region").filter(|r| !r.is_empty()),
            sts_regional_endpoint: get("sts-regional-endpoint").is_some_and(|v| v == "true"),
        }
    }
}

/// What a container gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    pub env: BTreeMap<String, String>,
    pub volume_name: String,
    pub mount_path: String,
    pub audience: String,
    /// `None`: the default expiration, jittered per pod in [79200, 86400].
    pub expiration_seconds: Option<i64>,
}

fn min_expiration(v: i64) -> i64 {
    v.max(MIN_TOKEN_EXPIRATION)
}

/// The injection for a container of a pod whose service account has
/// `sa_annotations`; `None` when the service account names no role.
pub fn inject(
    flags: &Flags,
    sa_annotations: &BTreeMap<String, String>,
    pod_annotations: &BTreeMap<String, String>,
) -> Option<Injection> {
    let key = |name: &str| format!("{}/{name}", flags.annotation_prefix);
    let role_arn = sa_annotations.get(&key("role-arn"))?;
    let audience = sa_annotations
        .get(&key("audience"))
        .cloned()
        .unwrap_or_else(|| flags.token_audience.clone());
    let regional = match sa_annotations.get(&key("sts-regional-endpoints")) {
        Some(v) => v.parse::<bool>().unwrap_or(flags.sts_regional_endpoint),
        None => flags.sts_regional_endpoint,
    };
    let mut expiration = match sa_annotations.get(&key("token-expiration")) {
        Some(v) => v
            .parse::<i64>()
            .map(min_expiration)
            .unwrap_or(flags.token_expiration),
        None => flags.token_expiration,
    };
    if let Some(Ok(v)) = pod_annotations
        .get(&key("token-expiration"))
        .map(|v| v.parse::<i64>())
    {
        expiration = min_expiration(v);
    }
    let mut env = BTreeMap::new();
    env.insert("AWS_ROLE_ARN".to_string(), role_arn.clone());
    env.insert(
        "AWS_WEB_IDENTITY_TOKEN_FILE".to_string(),
        format!(
            "{}/{TOKEN_FILE}",
            flags.token_mount_path.trim_end_matches('/')
        ),
    );
    if let Some(region) = &flags.aws_default_region {
        env.insert("AWS_DEFAULT_REGION".to_string(), region.clone());
        env.insert("AWS_REGION".to_string(), region.clone());
    }
    if regional {
        env.insert(
            "AWS_STS_REGIONAL_ENDPOINTS".to_string(),
            "regional".to_string(),
        );
    }
    Some(Injection {
        env,
        volume_name: VOLUME_NAME.to_string(),
        mount_path: flags.token_mount_path.clone(),
        audience,
        expiration_seconds: (expiration != DEFAULT_TOKEN_EXPIRATION).then_some(expiration),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> Flags {
        Flags {
            annotation_prefix: "eks.amazonaws.com".into(),
            token_audience: "sts.amazonaws.com".into(),
            token_expiration: 3600,
            token_mount_path: DEFAULT_MOUNT_PATH.into(),
            aws_default_region: Some("eu-west-1".into()),
            sts_regional_endpoint: true,
        }
    }

    fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn what_pods_get_follows_the_rendered_flags() {
        let f = flags();
        // The flags survive the trip through the command line.
        assert_eq!(Flags::parse(&f.args()), f);
        let sa = map(&[(
            "eks.amazonaws.com/role-arn",
            "arn:aws:iam::123456789012:role/app",
        )]);
        let got = inject(&Flags::parse(&f.args()), &sa, &BTreeMap::new()).unwrap();
        assert_eq!(
            got.env,
            map(&[
                ("AWS_DEFAULT_REGION", "eu-west-1"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app"),
                ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
                (
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
                ),
            ])
        );
        assert_eq!(got.audience, "sts.amazonaws.com");
        assert_eq!(got.expiration_seconds, Some(3600));
        assert_eq!(got.volume_name, "aws-iam-token");
    }

    #[test]
    fn annotations_override_flags_within_the_webhooks_bounds() {
        let f = Flags {
            sts_regional_endpoint: false,
            aws_default_region: None,
            ..flags()
        };
        let sa = map(&[
            (
                "eks.amazonaws.com/role-arn",
                "arn:aws:iam::123456789012:role/app",
            ),
            ("eks.amazonaws.com/audience", "amazonaws.com"),
            ("eks.amazonaws.com/sts-regional-endpoints", "true"),
            ("eks.amazonaws.com/token-expiration", "60"),
        ]);
        let got = inject(&f, &sa, &BTreeMap::new()).unwrap();
        assert_eq!(got.audience, "amazonaws.com");
        assert_eq!(got.env["AWS_STS_REGIONAL_ENDPOINTS"], "regional");
        assert!(!got.env.contains_key("AWS_REGION"));
        assert_eq!(got.expiration_seconds, Some(600), "raised to the floor");
        let pod = map(&[("eks.amazonaws.com/token-expiration", "7200")]);
        assert_eq!(
            inject(&f, &sa, &pod).unwrap().expiration_seconds,
            Some(7200)
        );
        // Another prefix: the eks.amazonaws.com annotations mean nothing.
        let other = Flags {
            annotation_prefix: "irsa.example.com".into(),
            ..f
        };
        assert_eq!(inject(&other, &sa, &BTreeMap::new()), None);
    }
}
