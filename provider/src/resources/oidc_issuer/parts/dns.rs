//! The issuer's Route 53 records: the A and AAAA aliases of `domain` to the
//! distribution, and the certificate's validation record. Written with
//! UPSERT, deleted only while they still hold what we wrote.

use std::collections::BTreeMap;

use super::super::desired;
use super::super::model::Site;
use super::Aws;
use crate::aws::acm::ValidationRecord;
use crate::aws::route53::{self, Record};
use crate::aws::AwsCallError;
use tfplugin::{Diagnostics, ErrorContext};

/// Writes `records` into the issuer's zone and waits until Route 53 has them.
pub async fn upsert(aws: &Aws<'_>, site: &Site, records: &[Record]) -> Result<(), AwsCallError> {
    let zone = site.route53_zone_id.clone().unwrap_or_default();
    route53::upsert_records(&aws.clients.route53, &zone, records, aws.ctx).await
}

/// The aliases to the distribution and the validation records.
pub async fn reconcile(
    aws: &Aws<'_>,
    site: &Site,
    distribution_domain: &str,
    validation: &[ValidationRecord],
) -> Result<(), Diagnostics> {
    let domain = site.domain.clone().unwrap_or_default();
    let mut records = desired::alias_records(&domain, distribution_domain);
    records.extend(desired::validation_records(validation));
    upsert(aws, site, &records)
        .await
        .context("Cannot write the DNS records")
}

/// The records as `dns_records` shows them; `None` without a zone.
pub async fn observe(
    aws: &Aws<'_>,
    zone: &str,
    domain: &str,
    validation: &[ValidationRecord],
) -> Result<Option<BTreeMap<String, String>>, AwsCallError> {
    if zone.is_empty() || domain.is_empty() {
        return Ok(None);
    }
    list(&aws.clients.route53, zone, domain, validation)
        .await
        .map(Some)
}

/// Deletes the records that still hold what we wrote; the others are left
/// alone and logged.
pub async fn remove(aws: &Aws<'_>, zone: &str, records: &[Record]) -> Result<(), Diagnostics> {
    let foreign = route53::delete_records_if_ours(&aws.clients.route53, zone, records, aws.ctx)
        .await
        .context("Cannot delete the DNS records")?;
    for r in foreign {
        tracing::warn!(target: "irsa::oidc_issuer", name = %r.name, rtype = %r.rtype, "record no longer holds the issuer's value: left alone");
    }
    Ok(())
}

/// Route 53 returns at most this many record sets per ListResourceRecordSets.
const RECORDS_PER_PAGE: i32 = 300;

/// The order in which Route 53 lists a zone's records: by name with its
/// labels reversed and the trailing dot kept (`com.example.oidc.`; Route 53
/// API Reference, ListResourceRecordSets), then by type.
fn listing_key(name: &str) -> String {
    let n = route53::normalize_name(name);
    let mut labels: Vec<&str> = n.split('.').collect();
    labels.reverse();
    format!("{}.", labels.join("."))
}

/// The issuer's records as Route 53 holds them: `"<type> <name>" =>
/// value` for the A and AAAA records of `domain` and the validation
/// records, for those that exist. One ListResourceRecordSets starting at
/// `domain` returns them all: in Route 53's order the domain's own records
/// come first and the names under it (`_<hash>.<domain>`, the ACM
/// validation CNAME) right after. More pages only when `domain` has more
/// than 300 record sets under it; a page that ends before a wanted name
/// jumps to it.
async fn list(
    client: &aws_sdk_route53::Client,
    zone: &str,
    domain: &str,
    validation: &[ValidationRecord],
) -> Result<BTreeMap<String, String>, AwsCallError> {
    const OP: &str = "route53:ListResourceRecordSets";
    let domain = route53::normalize_name(domain);
    let mut wanted: Vec<(String, String)> = vec![
        ("A".into(), domain.clone()),
        ("AAAA".into(), domain.clone()),
    ];
    wanted.extend(
        validation
            .iter()
            .map(|v| (v.rtype.clone(), route53::normalize_name(&v.name))),
    );
    let last = wanted
        .iter()
        .map(|(_, n)| listing_key(n))
        .max()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut start: (String, Option<String>, Option<String>) = (format!("{domain}."), None, None);
    loop {
        let page = client
            .list_resource_record_sets()
            .hosted_zone_id(route53::bare_zone_id(zone))
            .start_record_name(&start.0)
            .set_start_record_type(start.1.take().map(|t| t.as_str().into()))
            .set_start_record_identifier(start.2.take())
            .max_items(RECORDS_PER_PAGE)
            .send()
            .await
            .map_err(|e| crate::aws::error::classify(OP, e))?;
        let mut seen_key = String::new();
        for rrs in page.resource_record_sets() {
            let name = route53::normalize_name(rrs.name());
            let key = listing_key(&name);
            if key > last {
                return Ok(out);
            }
            let rtype = rrs.r#type().as_str().to_string();
            if rrs.set_identifier().is_none() && wanted.contains(&(rtype.clone(), name.clone())) {
                out.insert(format!("{rtype} {name}"), record_value(rrs));
            }
            seen_key = key;
        }
        if !page.is_truncated() {
            return Ok(out);
        }
        let Some(next) = page.next_record_name() else {
            return Ok(out);
        };
        // The next wanted name not listed yet: continue there at once if
        // the next page would start before it.
        let pending = wanted
            .iter()
            .filter(|(_, n)| listing_key(n) > seen_key)
            .min_by_key(|(_, n)| listing_key(n));
        start = match pending {
            Some((_, n)) if listing_key(next) < listing_key(n) => (format!("{n}."), None, None),
            _ => (
                next.to_string(),
                page.next_record_type().map(|t| t.as_str().to_string()),
                page.next_record_identifier().map(str::to_string),
            ),
        };
    }
}

/// How `dns_records` shows a record's value.
fn record_value(rrs: &aws_sdk_route53::types::ResourceRecordSet) -> String {
    match rrs.alias_target() {
        Some(a) => format!("alias {}", route53::normalize_name(a.dns_name())),
        None => rrs
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::listing_key;

    /// Route 53's documented order: labels reversed, trailing dot kept, so
    /// names under the domain follow it directly and a sibling such as
    /// `oidc-x` (`-` sorts before `.`) comes before it.
    #[test]
    fn listing_order_puts_the_validation_name_right_after_the_domain() {
        let domain = listing_key("oidc.example.com");
        let validation = listing_key("_3f2a.oidc.example.com.");
        let sibling = listing_key("oidc-x.example.com");
        let after = listing_key("oidc0.example.com");
        assert_eq!(domain, "com.example.oidc.");
        assert!(sibling < domain && domain < validation && validation < after);
    }
}
