//! AWS clients built from the provider's settings, the way the hashicorp/aws
//! provider reads them: the block first, then the SDK's own environment and
//! shared-config chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL[_<SERVICE>],
//! web identity, IMDS). One SdkConfig, one client per service; ACM is pinned
//! to us-east-1 because CloudFront only takes certificates from there.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

pub mod acm;
pub mod cloudfront;
pub mod error;
pub mod iam;
pub mod route53;
pub mod s3;
pub mod s3control;

pub use error::{classify, AwsCallError, ErrorKind};

/// Exponential backoff between polls: `start`, doubling, at most `max`.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(start: Duration, max: Duration) -> Backoff {
        Backoff { next: start, max }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

/// Calls `call` again while it fails with an error AWS documents as
/// passing (eventual consistency: a bucket just made, a certificate just
/// issued, a setting still propagating), with backoff 1 s -> 15 s, until
/// the context's deadline (StopProvider ends it too) or, when given, `cap`;
/// then the last error, saying how long it was retried.
pub(crate) async fn retry_while<T, Fut>(
    ctx: &tfplugin::Ctx,
    retryable: impl Fn(&AwsCallError) -> bool,
    cap: Option<Duration>,
    mut call: impl FnMut() -> Fut,
) -> Result<T, AwsCallError>
where
    Fut: std::future::Future<Output = Result<T, AwsCallError>>,
{
    let started = std::time::Instant::now();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(15));
    loop {
        let e = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let within_cap = cap.is_none_or(|c| started.elapsed() < c);
        if !retryable(&e) || !within_cap {
            return Err(e);
        }
        tracing::debug!(target: "irsa::aws", error = %e, "retrying while AWS settles");
        if let Err(i) = ctx.sleep(backoff.next()).await {
            let mut e = e;
            e.message = format!(
                "{} (retried for {} s: {i})",
                e.message,
                started.elapsed().as_secs()
            );
            return Err(e);
        }
    }
}

/// ACM certificates for CloudFront must live in this region.
pub const CLOUDFRONT_CERTIFICATE_REGION: &str = "us-east-1";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub s3_use_path_style: bool,
    pub assume_role: Option<AssumeRole>,
    pub endpoints: Endpoints,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
}

/// Per-service endpoint overrides; unset ones fall back to
/// AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL, then AWS's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Endpoints {
    pub s3: Option<String>,
    pub cloudfront: Option<String>,
    pub acm: Option<String>,
    pub route53: Option<String>,
    pub iam: Option<String>,
    pub sts: Option<String>,
}

pub struct AwsClients {
    pub sdk: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// Always us-east-1.
    pub acm: aws_sdk_acm::Client,
    pub route53: aws_sdk_route53::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// The account's Block Public Access; a custom endpoint is `endpoints.s3`'s.
    pub s3control: aws_sdk_s3control::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS region is configured: set `region` in the provider block, or AWS_REGION / AWS_DEFAULT_REGION, \
         or a region in the AWS profile"
    )]
    NoRegion,
}

impl AwsClients {
    /// Loads the shared configuration (no network unless the credential
    /// chain needs it later, at the first call) and builds every client.
    pub async fn build(settings: &AwsSettings) -> Result<AwsClients, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_max_backoff(Duration::from_secs(20)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        let mut sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(AwsError::NoRegion);
        }
        if let Some(role) = &settings.assume_role {
            // The role is assumed through the STS endpoint the user chose, if any.
            let mut sts_config = sdk.clone().into_builder();
            if let Some(url) = &settings.endpoints.sts {
                sts_config = sts_config.endpoint_url(url);
            }
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
                .session_name(
                    role.session_name
                        .clone()
                        .unwrap_or_else(|| "terraform-provider-irsa".into()),
                );
            if let Some(id) = &role.external_id {
                builder = builder.external_id(id);
            }
            let provider = builder.configure(&sts_config.build()).build().await;
            sdk = sdk
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        let e = &settings.endpoints;

        let mut s3 =
            aws_sdk_s3::config::Builder::from(&sdk).force_path_style(settings.s3_use_path_style);
        if let Some(url) = &e.s3 {
            s3 = s3.endpoint_url(url);
        }
        let mut cloudfront = aws_sdk_cloudfront::config::Builder::from(&sdk);
        if let Some(url) = &e.cloudfront {
            cloudfront = cloudfront.endpoint_url(url);
        }
        let mut acm = aws_sdk_acm::config::Builder::from(&sdk)
            .region(Region::from_static(CLOUDFRONT_CERTIFICATE_REGION));
        if let Some(url) = &e.acm {
            acm = acm.endpoint_url(url);
        }
        let mut route53 = aws_sdk_route53::config::Builder::from(&sdk);
        if let Some(url) = &e.route53 {
            route53 = route53.endpoint_url(url);
        }
        let mut iam = aws_sdk_iam::config::Builder::from(&sdk);
        if let Some(url) = &e.iam {
            iam = iam.endpoint_url(url);
        }
        let mut s3control = aws_sdk_s3control::config::Builder::from(&sdk)
            .endpoint_resolver(s3control::AsGivenForCustomEndpoints::default());
        if let Some(url) = &e.s3 {
            s3control = s3control.endpoint_url(url);
        }
        let mut sts = aws_sdk_sts::config::Builder::from(&sdk);
        if let Some(url) = &e.sts {
            sts = sts.endpoint_url(url);
        }
        Ok(AwsClients {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            cloudfront: aws_sdk_cloudfront::Client::from_conf(cloudfront.build()),
            acm: aws_sdk_acm::Client::from_conf(acm.build()),
            route53: aws_sdk_route53::Client::from_conf(route53.build()),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            s3control: aws_sdk_s3control::Client::from_conf(s3control.build()),
            sdk,
        })
    }

    /// Account and ARN of the caller: the cheapest check that credentials work.
    pub async fn caller_identity(&self) -> Result<(String, String), AwsCallError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("sts:GetCallerIdentity", e))?;
        Ok((
            out.account().unwrap_or_default().to_string(),
            out.arn().unwrap_or_default().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn err(code: &str) -> AwsCallError {
        AwsCallError {
            operation: "s3:PutBucketPolicy",
            code: Some(code.into()),
            message: "m".into(),
            kind: ErrorKind::Other,
        }
    }

    #[tokio::test]
    async fn retry_while_retries_only_what_it_is_told_until_the_deadline() {
        let ctx = tfplugin::Ctx::background().with_timeout(Duration::from_secs(60));
        // Settles after two refusals (backoff 1 s, 2 s).
        let calls = AtomicUsize::new(0);
        let got = retry_while(
            &ctx,
            |e| e.code.as_deref() == Some("NoSuchBucket"),
            None,
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0..=1 => Err(err("NoSuchBucket")),
                    _ => Ok(7),
                }
            },
        )
        .await;
        assert_eq!(got.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Anything else fails at once.
        let calls = AtomicUsize::new(0);
        let got: Result<(), _> = retry_while(
            &ctx,
            |e| e.code.as_deref() == Some("NoSuchBucket"),
            None,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err("AccessDenied"))
            },
        )
        .await;
        assert_eq!(got.unwrap_err().code.as_deref(), Some("AccessDenied"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A refusal that stays: retried until the deadline, then the error
        // saying so.
        let short = tfplugin::Ctx::background().with_timeout(Duration::from_millis(2500));
        let calls = AtomicUsize::new(0);
        let got: Result<(), _> = retry_while(
            &short,
            |_| true,
            None,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err("OperationAborted"))
            },
        )
        .await;
        let e = got.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("OperationAborted"));
        assert!(e.message.contains("retried for"), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A cap ends it before the deadline.
        let calls = AtomicUsize::new(0);
        let got: Result<(), _> = retry_while(
            &ctx,
            |_| true,
            Some(Duration::ZERO),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(err("AccessDenied"))
            },
        )
        .await;
        assert!(got.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
