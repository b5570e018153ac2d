//! Thin ACM calls for the issuer's certificate (always in us-east-1, where
//! CloudFront takes certificates from): request with DNS validation, read
//! back with tags and validation records, wait for records / issuance,
//! find by tag, delete. No IRSA decisions here; every error is an
//! [`AwsCallError`] classified from the SDK's error code.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, CertificateType, Filters, KeyAlgorithm, Tag,
    ValidationMethod,
};
use aws_sdk_acm::Client;
use sha2::{Digest, Sha256};

use super::error::{build_error, classify, missing, AwsCallError, ErrorKind};
use super::Backoff;
use tfplugin::Ctx;

/// ACM's limit on `IdempotencyToken` (pattern `\w+`).
pub const MAX_IDEMPOTENCY_TOKEN_LEN: usize = 32;

/// How long [`wait_for_validation_records`] waits for ACM to publish the
/// records (real ACM takes a few seconds) before giving up on its own.
const VALIDATION_RECORDS_PATIENCE: Duration = Duration::from_secs(300);

/// How long [`wait_for_validation_records`] takes ResourceNotFoundException
/// for "not yet": DescribeCertificate right after RequestCertificate may not
/// find the certificate (hashicorp/aws treats NotFound as pending there).
const NEW_CERTIFICATE_NOT_FOUND_PATIENCE: Duration = Duration::from_secs(30);

/// A certificate as the resource logic needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub arn: String,
    pub domain: String,
    pub status: CertificateStatus,
    /// Deduplicated and sorted; empty until ACM has generated them.
    pub validation_records: Vec<ValidationRecord>,
    /// ARNs of the resources using the certificate (e.g. distributions), sorted.
    pub in_use_by: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A DNS record ACM wants to see to validate a domain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidationRecord {
    /// Fully qualified, without the trailing dot.
    pub name: String,
    /// `CNAME`.
    pub rtype: String,
    /// Without the trailing dot.
    pub value: String,
}

/// A valid idempotency token derived from any string (hex of its SHA-256,
/// 32 characters): the same seed gives the same token, so a retried request
/// returns the same certificate (ACM honours a token for one hour).
pub fn idempotency_token(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..MAX_IDEMPOTENCY_TOKEN_LEN].to_string()
}

fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_IDEMPOTENCY_TOKEN_LEN
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Requests a DNS-validated certificate for `domain` with `tags`. The same
/// `idempotency_token` (at most 32 characters of `[A-Za-z0-9_]`; see
/// [`idempotency_token`]) within an hour returns the same ARN.
pub async fn request_certificate(
    client: &Client,
    domain: &str,
    idempotency_token: &str,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsCallError> {
    const OP: &str = "acm:RequestCertificate";
    if !valid_token(idempotency_token) {
        return Err(AwsCallError::new(
            OP,
            ErrorKind::Other,
            format!(
                "invalid idempotency token {idempotency_token:?}: 1 to {MAX_IDEMPOTENCY_TOKEN_LEN} \
                 characters of [A-Za-z0-9_]"
            ),
        ));
    }
    let mut req = client
        .request_certificate()
        .domain_name(domain)
        .validation_method(ValidationMethod::Dns)
        .idempotency_token(idempotency_token);
    for (k, v) in tags {
        req = req.tags(
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_error(OP))?,
        );
    }
    let out = req.send().await.map_err(|e| classify(OP, e))?;
    out.certificate_arn()
        .map(str::to_string)
        .ok_or_else(|| missing(OP, "CertificateArn"))
}

/// DescribeCertificate; a missing certificate is `None`.
async fn describe_raw(
    client: &Client,
    arn: &str,
) -> Result<Option<CertificateDetail>, AwsCallError> {
    const OP: &str = "acm:DescribeCertificate";
    match client
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
    {
        Ok(out) => out
            .certificate
            .map(Some)
            .ok_or_else(|| missing(OP, "Certificate")),
        Err(e) => {
            let e = classify(OP, e);
            if e.is_not_found() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The certificate's tags (a missing certificate is a NotFound error).
pub async fn list_certificate_tags(
    client: &Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, AwsCallError> {
    const OP: &str = "acm:ListTagsForCertificate";
    let out = client
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// Makes the certificate's tags equal `desired`: removes the others, then
/// adds or changes the rest.
pub async fn set_certificate_tags(
    client: &Client,
    arn: &str,
    desired: &BTreeMap<String, String>,
) -> Result<(), AwsCallError> {
    let current = list_certificate_tags(client, arn).await?;
    let stale: Vec<Tag> = current
        .iter()
        .filter(|(k, v)| desired.get(*k) != Some(*v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            AwsCallError::new(
                "acm:RemoveTagsFromCertificate",
                ErrorKind::Other,
                e.to_string(),
            )
        })?;
    if !stale.is_empty() {
        client
            .remove_tags_from_certificate()
            .certificate_arn(arn)
            .set_tags(Some(stale))
            .send()
            .await
            .map_err(|e| classify("acm:RemoveTagsFromCertificate", e))?;
    }
    let missing: Vec<Tag> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            AwsCallError::new("acm:AddTagsToCertificate", ErrorKind::Other, e.to_string())
        })?;
    if !missing.is_empty() {
        client
            .add_tags_to_certificate()
            .certificate_arn(arn)
            .set_tags(Some(missing))
            .send()
            .await
            .map_err(|e| classify("acm:AddTagsToCertificate", e))?;
    }
    Ok(())
}

/// The DNS validation records published so far, deduplicated and sorted
/// (domains that share a record, e.g. `x` and `*.x`, give one).
fn records_of(detail: &CertificateDetail) -> Vec<ValidationRecord> {
    let set: BTreeSet<ValidationRecord> = detail
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| ValidationRecord {
            name: r.name().trim_end_matches('.').to_string(),
            rtype: r.r#type().as_str().to_string(),
            value: r.value().trim_end_matches('.').to_string(),
        })
        .collect();
    set.into_iter().collect()
}

/// Every domain of the certificate has its record.
fn records_complete(detail: &CertificateDetail) -> bool {
    let options = detail.domain_validation_options();
    !options.is_empty() && options.iter().all(|o| o.resource_record().is_some())
}

fn status_of(detail: &CertificateDetail) -> CertificateStatus {
    detail
        .status()
        .cloned()
        .unwrap_or_else(|| CertificateStatus::from(""))
}

/// Statuses from which a certificate never becomes ISSUED.
fn is_terminal_failure(status: &CertificateStatus) -> bool {
    use CertificateStatus as S;
    matches!(
        status,
        S::Failed | S::ValidationTimedOut | S::Revoked | S::Expired | S::Inactive
    )
}

/// A certificate a create can use: issued, or on its way.
pub fn is_usable(status: &CertificateStatus) -> bool {
    matches!(
        status,
        CertificateStatus::Issued | CertificateStatus::PendingValidation
    )
}

fn failure(operation: &'static str, arn: &str, detail: &CertificateDetail) -> AwsCallError {
    let status = status_of(detail);
    let reason = detail
        .failure_reason()
        .map(|r| format!(" (FailureReason: {})", r.as_str()))
        .unwrap_or_default();
    AwsCallError::new(
        operation,
        ErrorKind::Other,
        format!("certificate {arn} is {status}{reason}; it will not be issued"),
    )
}

fn gone(operation: &'static str, arn: &str) -> AwsCallError {
    AwsCallError::new(
        operation,
        ErrorKind::NotFound,
        format!("certificate {arn} does not exist"),
    )
}

/// The certificate with its tags and validation records; `None` when it
/// does not exist (ResourceNotFoundException).
pub async fn describe_certificate(
    client: &Client,
    arn: &str,
) -> Result<Option<Certificate>, AwsCallError> {
    let Some(detail) = describe_raw(client, arn).await? else {
        return Ok(None);
    };
    let tags = match list_certificate_tags(client, arn).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut in_use_by = detail.in_use_by().to_vec();
    in_use_by.sort();
    in_use_by.dedup();
    Ok(Some(Certificate {
        arn: detail.certificate_arn().unwrap_or(arn).to_string(),
        domain: detail.domain_name().unwrap_or_default().to_string(),
        status: status_of(&detail),
        validation_records: records_of(&detail),
        in_use_by,
        tags,
    }))
}

/// Polls until ACM has published the DNS validation record of every domain
/// (real ACM fills them in a few seconds after the request) and returns
/// them, deduplicated and sorted. Backoff 1 s -> 10 s, at most 5 minutes,
/// interrupted by StopProvider or the context's deadline.
pub async fn wait_for_validation_records(
    client: &Client,
    arn: &str,
    ctx: &Ctx,
) -> Result<Vec<ValidationRecord>, AwsCallError> {
    const OP: &str = "acm:DescribeCertificate";
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
    loop {
        let Some(detail) = describe_raw(client, arn).await? else {
            if started.elapsed() >= NEW_CERTIFICATE_NOT_FOUND_PATIENCE {
                return Err(gone(OP, arn));
            }
            ctx.sleep(backoff.next())
                .await
                .map_err(|i| AwsCallError::interrupted(OP, i))?;
            continue;
        };
        if detail.r#type() == Some(&CertificateType::Imported) {
            return Err(AwsCallError::new(
                OP,
                ErrorKind::Other,
                format!("certificate {arn} is imported; it has no DNS validation records"),
            ));
        }
        if records_complete(&detail) {
            return Ok(records_of(&detail));
        }
        if is_terminal_failure(&status_of(&detail)) {
            return Err(failure(OP, arn, &detail));
        }
        if started.elapsed() >= VALIDATION_RECORDS_PATIENCE {
            return Err(AwsCallError::new(
                OP,
                ErrorKind::Other,
                format!(
                    "ACM published no DNS validation record for certificate {arn} within {} s",
                    VALIDATION_RECORDS_PATIENCE.as_secs()
                ),
            ));
        }
        ctx.sleep(backoff.next())
            .await
            .map_err(|i| AwsCallError::interrupted(OP, i))?;
    }
}

/// Polls until the certificate is ISSUED (backoff 2 s -> 30 s). FAILED,
/// VALIDATION_TIMED_OUT, REVOKED, EXPIRED or INACTIVE end the wait with an
/// error naming the status and FailureReason; a missing certificate is a
/// NotFound error. Only StopProvider or the context's deadline end it
/// otherwise (ACM itself gives up after 72 hours: VALIDATION_TIMED_OUT).
pub async fn wait_issued(client: &Client, arn: &str, ctx: &Ctx) -> Result<(), AwsCallError> {
    const OP: &str = "acm:DescribeCertificate";
    let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(30));
    loop {
        let detail = describe_raw(client, arn)
            .await?
            .ok_or_else(|| gone(OP, arn))?;
        let status = status_of(&detail);
        if status == CertificateStatus::Issued {
            return Ok(());
        }
        if is_terminal_failure(&status) {
            return Err(failure(OP, arn, &detail));
        }
        ctx.sleep(backoff.next()).await.map_err(|i| {
            AwsCallError::interrupted(OP, i)
                .with_context(&format!("certificate {arn} still {status}"))
        })?;
    }
}

/// Ranks candidates of [`find_certificate_by_tag`]: usable ones first.
fn status_rank(status: &CertificateStatus) -> u8 {
    match status {
        CertificateStatus::Issued => 0,
        CertificateStatus::PendingValidation => 1,
        _ => 2,
    }
}

/// Every certificate (any status and key type) whose domain name or
/// listed alternative names include `domain`, as (ARN, status).
async fn list_certificates_for(
    client: &Client,
    domain: &str,
) -> Result<Vec<(String, CertificateStatus)>, AwsCallError> {
    const OP: &str = "acm:ListCertificates";
    let statuses: Vec<CertificateStatus> = CertificateStatus::values()
        .iter()
        .map(|s| CertificateStatus::from(*s))
        .collect();
    // Without a key-type filter ACM lists only RSA certificates.
    let includes = Filters::builder()
        .set_key_types(Some(
            KeyAlgorithm::values()
                .iter()
                .map(|k| KeyAlgorithm::from(*k))
                .collect(),
        ))
        .build();
    let mut candidates: Vec<(String, CertificateStatus)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_certificates()
            .set_certificate_statuses(Some(statuses.clone()))
            .includes(includes.clone())
            .max_items(1000)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        for s in out.certificate_summary_list() {
            let (Some(arn), Some(name)) = (s.certificate_arn(), s.domain_name()) else {
                continue;
            };
            let sans = s.subject_alternative_name_summaries();
            if name.eq_ignore_ascii_case(domain)
                || sans.iter().any(|n| n.eq_ignore_ascii_case(domain))
            {
                let status = s
                    .status()
                    .cloned()
                    .unwrap_or_else(|| CertificateStatus::from(""));
                candidates.push((arn.to_string(), status));
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(candidates)
}

/// Whether a certificate other than `except_arn` names `domain`: ACM gives
/// every certificate for the same name in an account the same DNS
/// validation record, so that record must stay while one exists.
pub async fn other_certificate_for(
    client: &Client,
    domain: &str,
    except_arn: Option<&str>,
) -> Result<bool, AwsCallError> {
    Ok(list_certificates_for(client, domain)
        .await?
        .iter()
        .any(|(arn, _)| Some(arn.as_str()) != except_arn))
}

/// The ARN of a certificate for `domain` (case-insensitive) tagged
/// `tag_key = tag_value`, in any status and key type; an ISSUED one is
/// preferred over a pending one over the rest. For import and for finding a
/// certificate whose RequestCertificate response was lost.
pub async fn find_certificate_by_tag(
    client: &Client,
    domain: &str,
    tag_key: &str,
    tag_value: &str,
) -> Result<Option<String>, AwsCallError> {
    let candidates = list_certificates_for(client, domain).await?;
    let mut found: Vec<(u8, String)> = Vec::new();
    for (arn, status) in candidates {
        let tags = match list_certificate_tags(client, &arn).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if tags.get(tag_key).map(String::as_str) == Some(tag_value) {
            found.push((status_rank(&status), arn));
        }
    }
    found.sort();
    Ok(found.into_iter().next().map(|(_, arn)| arn))
}

/// Deletes the certificate; a missing one is success. ACM refuses with
/// ResourceInUseException while a distribution uses it, and for a while
/// after the distribution is deleted (10 to 20 minutes are reported;
/// hashicorp/aws waits 20): that is retried (backoff 5 s -> 30 s) until
/// StopProvider or the context's deadline, then returned as
/// [`ErrorKind::Conflict`].
pub async fn delete_certificate(client: &Client, arn: &str, ctx: &Ctx) -> Result<(), AwsCallError> {
    const OP: &str = "acm:DeleteCertificate";
    let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(30));
    loop {
        let e = match client
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => classify(OP, e),
        };
        if e.is_not_found() {
            return Ok(());
        }
        if e.kind != ErrorKind::Conflict {
            return Err(e);
        }
        if let Err(i) = ctx.sleep(backoff.next()).await {
            return Err(e.with_context(&format!("gave up waiting: {i}")));
        }
    }
}

trait WithContext {
    fn with_context(self, context: &str) -> Self;
}

impl WithContext for AwsCallError {
    /// Appends `context` to the message, keeping operation, code and kind.
    fn with_context(mut self, context: &str) -> AwsCallError {
        self.message = format!("{} ({context})", self.message);
        self
    }
}

/// A certificate's status and DNS validation records, without its tags
/// (one DescribeCertificate); `None` when it does not exist. For refresh.
pub async fn describe_validation(
    client: &Client,
    arn: &str,
) -> Result<Option<(CertificateStatus, Vec<ValidationRecord>)>, AwsCallError> {
    Ok(describe_raw(client, arn)
        .await?
        .map(|d| (status_of(&d), records_of(&d))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_tokens_are_valid_and_stable() {
        let t = idempotency_token("irsa/oidc.example.com/1");
        assert_eq!(t.len(), 32);
        assert!(valid_token(&t));
        assert_eq!(t, idempotency_token("irsa/oidc.example.com/1"));
        assert_ne!(t, idempotency_token("irsa/oidc.example.com/2"));
        assert!(!valid_token(""));
        assert!(!valid_token("has-dash"));
        assert!(!valid_token(&"a".repeat(33)));
        assert!(valid_token("abc_DEF_123"));
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(30));
        let got: Vec<u64> = (0..6).map(|_| b.next().as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 30, 30]);
    }
}
