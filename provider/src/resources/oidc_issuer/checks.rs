//! Checks that need AWS and run before anything is made: at plan time
//! where the answer cannot change by apply (the partition, the zone, the
//! account's Block Public Access) and again at create; and after an S3
//! issuer is published, that the world can read it.
//!
//! S3 hosting serves the issuer from the bucket's own URL through a public
//! bucket policy, which S3 ignores or refuses under the account's (or the
//! organisation's) Block Public Access: S3 applies the most restrictive of
//! the bucket's and the account's settings. So the account's settings are
//! read (s3control:GetPublicAccessBlock) and the create refused when they
//! block public policies or restrict public buckets; after publishing, the
//! discovery document is fetched anonymously over HTTPS, as STS will, and
//! an answer other than 200 fails the apply.

use std::time::{Duration, Instant};

use super::desired;
use super::model::{self, Site};
use super::parts::Aws;
use crate::aws::s3::PublicAccessBlock;
use crate::aws::{cloudfront, route53, s3control, AwsClients, Backoff, ErrorKind};
use crate::http::{FetchError, HttpsClient};
use tfplugin::types::Partition;
use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics, ErrorContext};

/// CloudFront hosting only in the `aws` partition, told by the region
/// the provider uses (known without an AWS call).
pub fn partition(clients: &AwsClients, site: &Site) -> Result<(), Diagnostics> {
    let region = clients
        .sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    model::check_hosting_partition(site.hosting, Partition::of_region(&region)).map_err(|why| {
        Diagnostic::error(
            "CloudFront hosting not available",
            format!("The provider's region is {region}. {why}"),
        )
        .at(AttrPath::root("hosting"))
        .into()
    })
}

/// CloudFront hosting needs a public zone that contains the domain.
pub async fn zone(ctx: &Ctx, clients: &AwsClients, site: &Site) -> Result<(), Diagnostics> {
    let (Some(zone_id), Some(domain)) = (&site.route53_zone_id, &site.domain) else {
        return Ok(());
    };
    let zone = ctx
        .run(route53::get_hosted_zone(&clients.route53, zone_id))
        .await?
        .context("Cannot read the hosted zone")?;
    let path = AttrPath::root("route53_zone_id");
    let Some(zone) = zone else {
        return Err(Diagnostic::error(
            "Unknown hosted zone",
            format!("Route53 has no hosted zone {zone_id:?} in this account."),
        )
        .at(path)
        .into());
    };
    if zone.private {
        return Err(Diagnostic::error(
            "Private hosted zone",
            format!("Zone {zone_id} ({}) is private: AWS STS resolves the issuer on the public internet. Use a public zone.", zone.name),
        )
        .at(path)
        .into());
    }
    if !route53::zone_contains(&zone.name, domain) {
        return Err(Diagnostic::error(
            "Domain outside the hosted zone",
            format!(
                "Zone {zone_id} is {:?}, which does not contain the domain {domain:?}.",
                zone.name
            ),
        )
        .at(path)
        .into());
    }
    not_delegated(ctx, clients, zone_id, &zone.name, domain).await?;
    no_foreign_records(ctx, clients, site, zone_id, domain).await
}

/// Records for `domain` written into a zone that delegated a name
/// between its apex and `domain` (an NS record set there) are not what
/// the world sees: ACM would never validate and the issuer not resolve.
async fn not_delegated(
    ctx: &Ctx,
    clients: &AwsClients,
    zone_id: &str,
    zone_name: &str,
    domain: &str,
) -> Result<(), Diagnostics> {
    for name in route53::names_below_apex(zone_name, domain) {
        let found = ctx
            .run(route53::list_records(
                &clients.route53,
                zone_id,
                &name,
                "NS",
            ))
            .await?
            .context("Cannot read the DNS records")?;
        if let Some(ns) = found {
            let servers = match &ns.value {
                route53::RecordValue::Values { values, .. } => values.join(", "),
                route53::RecordValue::Alias { dns_name, .. } => dns_name.clone(),
            };
            return Err(Diagnostic::error(
                "The domain is delegated to another zone",
                format!(
                    "Zone {zone_id} ({zone_name}) delegates {name} to other name servers ({servers}), so records for \
                     {domain} written there are not what the world resolves: the certificate would never validate. \
                     Set route53_zone_id to the zone for {name}."
                ),
            )
            .at(AttrPath::root("route53_zone_id"))
            .into());
        }
    }
    Ok(())
}

/// The A/AAAA records at `domain` must be free for our aliases: absent,
/// or a CloudFront alias to no live distribution or to ours (left from
/// an issuer whose distribution was deleted). Anything else belongs to
/// someone else, and an UPSERT would repoint it.
async fn no_foreign_records(
    ctx: &Ctx,
    clients: &AwsClients,
    site: &Site,
    zone_id: &str,
    domain: &str,
) -> Result<(), Diagnostics> {
    for rtype in ["A", "AAAA"] {
        let found = ctx
            .run(route53::list_records(
                &clients.route53,
                zone_id,
                domain,
                rtype,
            ))
            .await?
            .context("Cannot read the DNS records")?;
        let Some(record) = found else { continue };
        let what = match &record.value {
            route53::RecordValue::Alias {
                dns_name,
                hosted_zone_id,
            } if hosted_zone_id == route53::CLOUDFRONT_HOSTED_ZONE_ID => {
                let owner = ctx
                    .run(cloudfront::find_distribution_by_domain_name(
                        &clients.cloudfront,
                        dns_name,
                    ))
                    .await?
                    .context("Cannot list the distributions")?;
                match owner {
                    None => continue,
                    Some((_, comment)) if comment == desired::distribution_comment(&site.name) => {
                        continue
                    }
                    Some((id, _)) => {
                        format!("an alias to the CloudFront distribution {id} ({dns_name})")
                    }
                }
            }
            route53::RecordValue::Alias { dns_name, .. } => format!("an alias to {dns_name}"),
            route53::RecordValue::Values { values, .. } => values.join(", "),
        };
        return Err(Diagnostic::error(
            "The domain already has DNS records",
            format!(
                "Zone {zone_id} already has an {rtype} record for {domain} ({what}), which this issuer did not make. \
                 Nothing was made: the issuer would overwrite it with its alias. Choose another `domain`, or remove that record."
            ),
        )
        .at(AttrPath::root("domain"))
        .into());
    }
    Ok(())
}

/// How long a definite refusal (403, 404) of the anonymous GET is retried:
/// a new bucket policy takes a moment to apply (bucket configurations are
/// eventually consistent).
const WORLD_READ_PATIENCE: Duration = Duration::from_secs(60);
/// One GET's limit.
const GET_LIMIT: Duration = Duration::from_secs(15);

/// Why the account's Block Public Access forbids an S3-hosted issuer, if it
/// does. Pure.
pub fn account_block_refusal(flags: &PublicAccessBlock) -> Option<String> {
    let on: Vec<&str> = [
        ("BlockPublicPolicy", flags.block_public_policy),
        ("RestrictPublicBuckets", flags.restrict_public_buckets),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if on.is_empty() {
        return None;
    }
    Some(format!(
        "The account's S3 Block Public Access has {} on. S3 applies the most restrictive of the bucket's and the \
         account's settings, so the bucket policy that makes the two documents public would be refused \
         (BlockPublicPolicy) or ignored for anonymous readers (RestrictPublicBuckets), and STS could not fetch the \
         keys. Nothing was made. Use hosting = \"cloudfront\" (CloudFront reads the bucket through Origin Access \
         Control, which Block Public Access allows), or turn {} off for the account (s3control:PutPublicAccessBlock; \
         an organisation policy may enforce it).",
        on.join(" and "),
        if on.len() == 1 { "it" } else { "them" },
    ))
}

/// S3 hosting: refuse when the account blocks public bucket policies.
/// Without permission to read the setting (s3:GetAccountPublicAccessBlock)
/// the create goes on; the anonymous GET after publishing still tells.
pub async fn account_public_access(aws: &Aws<'_>) -> Result<(), Diagnostics> {
    let flags = aws
        .ctx
        .run(s3control::get_account_public_access_block(
            &aws.clients.s3control,
            &aws.id.account_id,
        ))
        .await?;
    match flags {
        Ok(Some(f)) => match account_block_refusal(&f) {
            Some(why) => Err(
                Diagnostic::error("The account blocks public S3 buckets", why)
                    .at(AttrPath::root("hosting"))
                    .into(),
            ),
            None => Ok(()),
        },
        Ok(None) => Ok(()),
        Err(e) if e.kind == ErrorKind::AccessDenied => {
            tracing::warn!(target: "irsa::oidc_issuer", error = %e, "cannot read the account's S3 Block Public Access; the anonymous read after publishing will tell");
            Ok(())
        }
        Err(e) => Err(e).context("Cannot read the account's S3 Block Public Access"),
    }
}

/// GETs `<issuer>/.well-known/openid-configuration` as an anonymous reader
/// (no credentials; this machine's proxy settings and trusted CAs) until it
/// answers 200 with the discovery document for `issuer`. A definite
/// refusal (any other status, or another document) after
/// [`WORLD_READ_PATIENCE`] is an error; not reaching the URL at all from
/// here (DNS, proxy, connection, TLS) says nothing about the world and is a
/// warning.
pub async fn world_readable(ctx: &Ctx, issuer: &str) -> Result<Diagnostics, Diagnostics> {
    let url = format!("{issuer}{}", crate::oidc::DISCOVERY_PATH);
    let client = match HttpsClient::from_env() {
        Ok(c) => c,
        Err(e) => return Ok(cannot_verify(&url, &e)),
    };
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
    loop {
        let refusal = match ctx.run(client.get(&url, GET_LIMIT)).await? {
            Ok(r) if r.status == 200 => match discovery_issuer(&r.body) {
                Some(found) if found == issuer => return Ok(Diagnostics::default()),
                Some(found) => {
                    format!("it serves a discovery document for another issuer ({found:?})")
                }
                None => "its answer is not a discovery document".to_string(),
            },
            Ok(r) => format!("it answers HTTP {}{}", r.status, s3_error_code(&r.body)),
            Err(e) => return Ok(cannot_verify(&url, &e)),
        };
        if started.elapsed() >= WORLD_READ_PATIENCE {
            return Err(Diagnostic::error(
                "The issuer is not publicly readable",
                format!(
                    "An anonymous GET of {url} failed for {} s: {refusal}. AWS STS fetches the discovery document and \
                     JWKS this way, so tokens of this issuer would be refused (\"Couldn't retrieve verification key\"). \
                     Likely cause: S3 Block Public Access on the account or by an organisation policy \
                     (RestrictPublicBuckets ignores the public bucket policy). The IAM OIDC provider was not created; \
                     the issuer is tainted and the next apply makes it again.",
                    WORLD_READ_PATIENCE.as_secs()
                ),
            )
            .at(AttrPath::root("hosting"))
            .into());
        }
        if let Err(i) = ctx.sleep(backoff.next()).await {
            return Err(Diagnostic::error(
                "The issuer is not publicly readable",
                format!("An anonymous GET of {url} failed: {refusal} ({i})."),
            )
            .into());
        }
    }
}

fn cannot_verify(url: &str, e: &FetchError) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::warning(
        "Could not check that the issuer is publicly readable",
        format!(
            "An anonymous GET of {url} from this machine failed: {e}. That says nothing about whether AWS STS can \
             read it; check it from outside (data source irsa_issuer_check) before trusting tokens of this issuer."
        ),
    ));
    d
}

/// The `issuer` member of a discovery document.
fn discovery_issuer(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("issuer")?.as_str().map(str::to_string)
}

/// ` (AccessDenied)` from an S3 XML error body, if there is one.
fn s3_error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| format!(" ({code})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(policy: bool, restrict: bool) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: policy,
            restrict_public_buckets: restrict,
        }
    }

    #[test]
    fn account_block_is_refused_only_for_policy_flags() {
        assert_eq!(account_block_refusal(&flags(false, false)), None);
        let both = account_block_refusal(&flags(true, true)).unwrap();
        assert!(
            both.contains("BlockPublicPolicy and RestrictPublicBuckets on"),
            "{both}"
        );
        let one = account_block_refusal(&flags(false, true)).unwrap();
        assert!(one.contains("has RestrictPublicBuckets on"), "{one}");
        assert!(one.contains("hosting = \"cloudfront\""), "{one}");
    }

    #[test]
    fn s3_error_bodies_name_their_code() {
        assert_eq!(
            s3_error_code(b"<Error><Code>AccessDenied</Code><Message>x</Message></Error>"),
            " (AccessDenied)"
        );
        assert_eq!(s3_error_code(b"nope"), "");
        assert_eq!(
            discovery_issuer(br#"{"issuer":"https://a.example"}"#).as_deref(),
            Some("https://a.example")
        );
        assert_eq!(discovery_issuer(b"<html>"), None);
    }
}
