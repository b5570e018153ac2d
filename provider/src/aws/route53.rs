//! Thin Route 53 calls for the issuer's DNS names: read the hosted zone,
//! read / upsert / delete simple and alias records, and wait until a change
//! is INSYNC. No IRSA decisions here.

use std::time::{Duration, Instant};

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord,
    ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;

use super::error::{build_error, classify, AwsCallError, ErrorKind};
use tfplugin::Ctx;

/// The hosted zone ID of every CloudFront distribution, for alias targets.
pub const CLOUDFRONT_HOSTED_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// A public or private hosted zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedZone {
    /// Without the `/hostedzone/` prefix.
    pub id: String,
    /// Lowercase, no trailing dot.
    pub name: String,
    pub private: bool,
}

/// A record's value: an alias, or a TTL and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordValue {
    /// `dns_name` without trailing dot, lowercase (as compared by Route 53).
    Alias {
        dns_name: String,
        hosted_zone_id: String,
    },
    /// Values exactly as Route 53 returns them.
    Values { ttl: i64, values: Vec<String> },
}

/// A simple (non-weighted, non-latency...) record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Fully qualified, no trailing dot, lowercase.
    pub name: String,
    /// "A", "AAAA", "CNAME", ...
    pub rtype: String,
    pub value: RecordValue,
}

/// `Z123` from `Z123` or `/hostedzone/Z123`.
pub fn bare_zone_id(zone_id: &str) -> &str {
    zone_id.strip_prefix("/hostedzone/").unwrap_or(zone_id)
}

/// The names from `domain` up to, not including, the zone apex
/// `zone_name` (`oidc.prod.example.com` in `example.com`: itself and
/// `prod.example.com`): where a delegation (NS record set) would take
/// `domain` out of the zone. Empty when `domain` is the apex or outside.
/// Pure.
pub fn names_below_apex(zone_name: &str, domain: &str) -> Vec<String> {
    let zone = normalize_name(zone_name);
    let mut name = normalize_name(domain);
    let mut out = Vec::new();
    while name != zone && name.ends_with(&format!(".{zone}")) {
        out.push(name.clone());
        match name.split_once('.') {
            Some((_, parent)) => name = parent.to_string(),
            None => break,
        }
    }
    out
}

/// Lowercase, trailing dots dropped, Route 53's `\ooo` octal escapes (e.g.
/// `\052` for `*`) decoded.
pub fn normalize_name(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Ok(b) = u8::try_from(v) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let s = String::from_utf8_lossy(&out).to_ascii_lowercase();
    s.trim_end_matches('.').to_string()
}

/// Whether `domain` is `zone_name` itself or a name below it (case
/// insensitive, trailing dots ignored). Pure.
pub fn zone_contains(zone_name: &str, domain: &str) -> bool {
    let zone = normalize_name(zone_name);
    let domain = normalize_name(domain);
    if zone.is_empty() {
        // The root zone contains every name.
        return !domain.is_empty();
    }
    domain == zone || domain.ends_with(&format!(".{zone}"))
}

/// GetHostedZone; accepts ids with or without `/hostedzone/`. `None` when
/// there is no such zone.
pub async fn get_hosted_zone(
    client: &Client,
    zone_id: &str,
) -> Result<Option<HostedZone>, AwsCallError> {
    const OP: &str = "route53:GetHostedZone";
    let out = match client
        .get_hosted_zone()
        .id(bare_zone_id(zone_id))
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_hosted_zone()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(classify(OP, e)),
    };
    let zone = out.hosted_zone().ok_or_else(|| {
        AwsCallError::new(OP, ErrorKind::Other, "the response carried no hosted zone")
    })?;
    Ok(Some(HostedZone {
        id: bare_zone_id(zone.id()).to_string(),
        name: normalize_name(zone.name()),
        private: zone.config().is_some_and(|c| c.private_zone()),
    }))
}

fn to_record_set(operation: &'static str, r: &Record) -> Result<ResourceRecordSet, AwsCallError> {
    let mut b = ResourceRecordSet::builder()
        .name(format!("{}.", normalize_name(&r.name)))
        .r#type(RrType::from(r.rtype.as_str()));
    match &r.value {
        RecordValue::Alias {
            dns_name,
            hosted_zone_id,
        } => {
            b = b.alias_target(
                AliasTarget::builder()
                    .dns_name(dns_name)
                    .hosted_zone_id(hosted_zone_id)
                    .evaluate_target_health(false)
                    .build()
                    .map_err(build_error(operation))?,
            );
        }
        RecordValue::Values { ttl, values } => {
            b = b.ttl(*ttl);
            for v in values {
                b = b.resource_records(
                    ResourceRecord::builder()
                        .value(v)
                        .build()
                        .map_err(build_error(operation))?,
                );
            }
        }
    }
    b.build().map_err(build_error(operation))
}

fn from_record_set(rrs: &ResourceRecordSet) -> Record {
    let value = match rrs.alias_target() {
        Some(a) => RecordValue::Alias {
            dns_name: normalize_name(a.dns_name()),
            hosted_zone_id: a.hosted_zone_id().to_string(),
        },
        None => RecordValue::Values {
            ttl: rrs.ttl().unwrap_or(0),
            values: rrs
                .resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect(),
        },
    };
    Record {
        name: normalize_name(rrs.name()),
        rtype: rrs.r#type().as_str().to_string(),
        value,
    }
}

/// The simple record set (no SetIdentifier) `name`/`rtype` exactly as
/// Route 53 holds it, if there is one.
async fn find_record_set(
    client: &Client,
    zone_id: &str,
    name: &str,
    rtype: &str,
) -> Result<Option<ResourceRecordSet>, AwsCallError> {
    const OP: &str = "route53:ListResourceRecordSets";
    let want_name = normalize_name(name);
    let mut start_name = format!("{want_name}.");
    let mut start_type = RrType::from(rtype);
    let mut start_id: Option<String> = None;
    loop {
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(bare_zone_id(zone_id))
            .start_record_name(&start_name)
            .start_record_type(start_type.clone())
            .set_start_record_identifier(start_id.take())
            .max_items(20)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        for rrs in out.resource_record_sets() {
            if normalize_name(rrs.name()) != want_name || rrs.r#type().as_str() != rtype {
                // Sorted by name, then type: past the one we look for.
                return Ok(None);
            }
            if rrs.set_identifier().is_none() {
                return Ok(Some(rrs.clone()));
            }
        }
        if !out.is_truncated() {
            return Ok(None);
        }
        match (out.next_record_name(), out.next_record_type()) {
            (Some(n), Some(t)) => {
                start_name = n.to_string();
                start_type = t.clone();
                start_id = out.next_record_identifier().map(str::to_string);
            }
            _ => return Ok(None),
        }
    }
}

/// The simple record `name`/`rtype` in the zone (exact match only; names
/// compared without trailing dots, case and `\ooo` escapes), or `None`.
pub async fn list_records(
    client: &Client,
    zone_id: &str,
    name: &str,
    rtype: &str,
) -> Result<Option<Record>, AwsCallError> {
    Ok(find_record_set(client, zone_id, name, rtype)
        .await?
        .as_ref()
        .map(from_record_set))
}

async fn submit(
    client: &Client,
    zone_id: &str,
    changes: Vec<Change>,
    ctx: &Ctx,
) -> Result<(), AwsCallError> {
    const OP: &str = "route53:ChangeResourceRecordSets";
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(build_error(OP))?;
    let out = client
        .change_resource_record_sets()
        .hosted_zone_id(bare_zone_id(zone_id))
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    let Some(info) = out.change_info() else {
        return Err(AwsCallError::new(
            OP,
            ErrorKind::Other,
            "the response carried no change info",
        ));
    };
    if *info.status() == ChangeStatus::Insync {
        return Ok(());
    }
    wait_for_change(client, info.id(), ctx).await
}

/// Polls GetChange until the change is INSYNC, with backoff (2 s growing to
/// 15 s). PENDING usually clears within 60 seconds but has no bound, so only
/// a Stop or the context's deadline (the operation's timeout) end the wait,
/// with an [`ErrorKind::Other`] error saying the change is applied already.
pub async fn wait_for_change(
    client: &Client,
    change_id: &str,
    ctx: &Ctx,
) -> Result<(), AwsCallError> {
    const OP: &str = "route53:GetChange";
    let id = change_id.strip_prefix("/change/").unwrap_or(change_id);
    let started = Instant::now();
    let mut delay = Duration::from_secs(2);
    loop {
        let out = client
            .get_change()
            .id(id)
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
        if out
            .change_info()
            .is_some_and(|i| *i.status() == ChangeStatus::Insync)
        {
            return Ok(());
        }
        ctx.sleep(delay).await.map_err(|i| {
            AwsCallError::new(
                OP,
                ErrorKind::Other,
                format!(
                    "Route 53 change {id} was still PENDING after {} s ({i}); it is applied already and will \
                     become INSYNC on its own",
                    started.elapsed().as_secs()
                ),
            )
        })?;
        delay = (delay * 3 / 2).min(Duration::from_secs(15));
    }
}

/// UPSERTs all `records` in one change batch and waits until it is INSYNC.
pub async fn upsert_records(
    client: &Client,
    zone_id: &str,
    records: &[Record],
    ctx: &Ctx,
) -> Result<(), AwsCallError> {
    const OP: &str = "route53:ChangeResourceRecordSets";
    if records.is_empty() {
        return Ok(());
    }
    let mut changes = Vec::with_capacity(records.len());
    for r in records {
        changes.push(
            Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(to_record_set(OP, r)?)
                .build()
                .map_err(build_error(OP))?,
        );
    }
    submit(client, zone_id, changes, ctx).await
}

/// Deletes the records with the names and types of `records` (their values
/// are not used): each is read first and deleted with its current values,
/// as Route 53 requires; records already gone are skipped. All deletions go
/// in one change batch, then the call waits until it is INSYNC. If the batch
/// is refused because a record changed or vanished between the read and the
/// delete (InvalidChangeBatch), the read and delete are tried once more.
pub async fn delete_records(
    client: &Client,
    zone_id: &str,
    records: &[Record],
    ctx: &Ctx,
) -> Result<(), AwsCallError> {
    const OP: &str = "route53:ChangeResourceRecordSets";
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut changes = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for r in records {
            let key = (normalize_name(&r.name), r.rtype.clone());
            if !seen.insert(key) {
                continue;
            }
            if let Some(rrs) = find_record_set(client, zone_id, &r.name, &r.rtype).await? {
                changes.push(
                    Change::builder()
                        .action(ChangeAction::Delete)
                        .resource_record_set(rrs)
                        .build()
                        .map_err(build_error(OP))?,
                );
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        match submit(client, zone_id, changes, ctx).await {
            Err(e)
                if attempt == 1
                    && e.operation == OP
                    && e.code.as_deref() == Some("InvalidChangeBatch") =>
            {
                continue
            }
            other => return other,
        }
    }
}

/// Whether the record Route 53 holds (`current`) is the one we would
/// write (`ours`): the same name and type, and for an alias the same
/// target DNS name, for values the same set of values (TTL ignored). Pure.
pub fn record_is_ours(current: &Record, ours: &Record) -> bool {
    if normalize_name(&current.name) != normalize_name(&ours.name) || current.rtype != ours.rtype {
        return false;
    }
    match (&current.value, &ours.value) {
        (RecordValue::Alias { dns_name: a, .. }, RecordValue::Alias { dns_name: b, .. }) => {
            normalize_name(a) == normalize_name(b)
        }
        (RecordValue::Values { values: a, .. }, RecordValue::Values { values: b, .. }) => {
            let norm = |v: &[String]| -> std::collections::BTreeSet<String> {
                v.iter().map(|x| normalize_name(x)).collect()
            };
            norm(a) == norm(b)
        }
        _ => false,
    }
}

/// Deletes those of `records` that Route 53 holds with the same value
/// ([`record_is_ours`]), in one batch, and waits until it is INSYNC.
/// Records gone already are skipped; records at those names holding
/// something else are left alone and returned. Like [`delete_records`],
/// a batch refused with InvalidChangeBatch is read and tried once more.
pub async fn delete_records_if_ours(
    client: &Client,
    zone_id: &str,
    records: &[Record],
    ctx: &Ctx,
) -> Result<Vec<Record>, AwsCallError> {
    const OP: &str = "route53:ChangeResourceRecordSets";
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut changes = Vec::new();
        let mut foreign = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for r in records {
            if !seen.insert((normalize_name(&r.name), r.rtype.clone())) {
                continue;
            }
            let Some(rrs) = find_record_set(client, zone_id, &r.name, &r.rtype).await? else {
                continue;
            };
            let current = from_record_set(&rrs);
            if !record_is_ours(&current, r) {
                foreign.push(current);
                continue;
            }
            changes.push(
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(rrs)
                    .build()
                    .map_err(build_error(OP))?,
            );
        }
        if changes.is_empty() {
            return Ok(foreign);
        }
        match submit(client, zone_id, changes, ctx).await {
            Err(e)
                if attempt == 1
                    && e.operation == OP
                    && e.code.as_deref() == Some("InvalidChangeBatch") =>
            {
                continue
            }
            Err(e) => return Err(e),
            Ok(()) => return Ok(foreign),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_where_a_delegation_would_cut_the_domain_out() {
        assert_eq!(
            names_below_apex("example.com.", "oidc.prod.example.com"),
            vec!["oidc.prod.example.com", "prod.example.com"]
        );
        assert_eq!(
            names_below_apex("example.com", "oidc.example.com"),
            vec!["oidc.example.com"]
        );
        assert!(names_below_apex("example.com", "example.com").is_empty());
        assert!(names_below_apex("example.com", "oidc.example.org").is_empty());
        assert!(names_below_apex("ample.com", "oidc.example.com").is_empty());
    }

    #[test]
    fn only_records_with_our_value_are_ours() {
        let alias = |n: &str, t: &str, d: &str| Record {
            name: n.into(),
            rtype: t.into(),
            value: RecordValue::Alias {
                dns_name: d.into(),
                hosted_zone_id: CLOUDFRONT_HOSTED_ZONE_ID.into(),
            },
        };
        let values = |n: &str, t: &str, v: &[&str]| Record {
            name: n.into(),
            rtype: t.into(),
            value: RecordValue::Values {
                ttl: 300,
                values: v.iter().map(|s| s.to_string()).collect(),
            },
        };
        let ours = alias("oidc.example.com", "A", "d111.cloudfront.net");
        assert!(record_is_ours(
            &alias("OIDC.example.com.", "A", "d111.cloudfront.net."),
            &ours
        ));
        assert!(!record_is_ours(
            &alias("oidc.example.com", "A", "d222.cloudfront.net"),
            &ours
        ));
        assert!(!record_is_ours(
            &values("oidc.example.com", "A", &["192.0.2.1"]),
            &ours
        ));
        assert!(!record_is_ours(
            &alias("oidc.example.com", "AAAA", "d111.cloudfront.net"),
            &ours
        ));
        let cname = values("_x.oidc.example.com", "CNAME", &["_y.acm-validations.aws."]);
        assert!(record_is_ours(
            &values("_x.oidc.example.com.", "CNAME", &["_y.acm-validations.aws"]),
            &cname
        ));
        assert!(!record_is_ours(
            &values("_x.oidc.example.com", "CNAME", &["elsewhere.example.net"]),
            &cname
        ));
    }

    #[test]
    fn zone_contains_names() {
        assert!(zone_contains("example.com", "example.com"));
        assert!(zone_contains("example.com.", "oidc.example.com"));
        assert!(zone_contains("Example.COM", "a.b.example.com."));
        assert!(zone_contains("example.com", "EXAMPLE.com."));
        assert!(!zone_contains("example.com", "badexample.com"));
        assert!(!zone_contains("example.com", "example.org"));
        assert!(!zone_contains("sub.example.com", "example.com"));
        assert!(!zone_contains("example.com", "com"));
        assert!(zone_contains("example.com", "\\052.example.com."));
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("\\052.Example.com."), "*.example.com");
        assert_eq!(normalize_name("oidc.example.com"), "oidc.example.com");
        assert_eq!(normalize_name("a\\100b."), "a@b");
        // Not an escape: kept.
        assert_eq!(normalize_name("a\\9b"), "a\\9b");
        assert_eq!(normalize_name("x\\05"), "x\\05");
    }

    #[test]
    fn zone_ids() {
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_zone_id("Z123"), "Z123");
    }

    #[test]
    fn record_set_round_trip() {
        let alias = Record {
            name: "oidc.example.com".into(),
            rtype: "AAAA".into(),
            value: RecordValue::Alias {
                dns_name: "d111.cloudfront.net".into(),
                hosted_zone_id: CLOUDFRONT_HOSTED_ZONE_ID.into(),
            },
        };
        let rrs = to_record_set("t", &alias).unwrap();
        assert_eq!(rrs.name(), "oidc.example.com.");
        assert_eq!(
            rrs.alias_target().unwrap().hosted_zone_id(),
            CLOUDFRONT_HOSTED_ZONE_ID
        );
        assert!(!rrs.alias_target().unwrap().evaluate_target_health());
        assert_eq!(from_record_set(&rrs), alias);

        let cname = Record {
            name: "www.example.com".into(),
            rtype: "CNAME".into(),
            value: RecordValue::Values {
                ttl: 300,
                values: vec!["target.example.net".into()],
            },
        };
        let rrs = to_record_set("t", &cname).unwrap();
        assert_eq!(rrs.ttl(), Some(300));
        assert_eq!(from_record_set(&rrs), cname);
    }
}
