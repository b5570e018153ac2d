//! AWS names with rules of their own: regions, partitions and ARNs.
//!
//! Partitions are the ones AWS's endpoint rules know (`partitions.json` of
//! the SDKs): an ARN in any other partition (`arn:aws-china:...`) names
//! nothing and is refused where it is written.

use std::fmt;

use super::checked_string;
use crate::diag::{AttrPath, Diagnostics};
use crate::model::{type_error, TfType};
use crate::value::{Type, Value};

/// An AWS partition, with the facts that differ between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    Aws,
    AwsCn,
    AwsUsGov,
    AwsIso,
    AwsIsoB,
    AwsIsoE,
    AwsIsoF,
    AwsEusc,
}

impl Partition {
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The name in ARNs: `aws`, `aws-cn`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// The DNS suffix of the partition's endpoints (`sts.<suffix>`).
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::AwsIso => "c2s.ic.gov",
            Partition::AwsIsoB => "sc2s.sgov.gov",
            Partition::AwsIsoE => "cloud.adc-e.uk",
            Partition::AwsIsoF => "csp.hci.ic.gov",
            Partition::AwsEusc => "amazonaws.eu",
        }
    }

    pub fn parse(name: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The partition a region belongs to, by the prefixes AWS's endpoint
    /// rules use; everything else is `aws`.
    pub fn of_region(region: &str) -> Partition {
        const PREFIXES: [(&str, Partition); 7] = [
            ("cn-", Partition::AwsCn),
            ("us-gov-", Partition::AwsUsGov),
            ("us-isob-", Partition::AwsIsoB),
            ("us-isof-", Partition::AwsIsoF),
            ("eu-isoe-", Partition::AwsIsoE),
            ("us-iso-", Partition::AwsIso),
            ("eusc-", Partition::AwsEusc),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(Partition::Aws, |(_, p)| *p)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn partition_names() -> String {
    Partition::ALL
        .iter()
        .map(|p| format!("{:?}", p.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A region name such as `eu-west-1`, `us-gov-west-1` or `us-isob-east-1`:
/// lowercase words separated by `-`, ending in a number.
pub fn check_region(r: &str) -> Result<(), String> {
    let parts: Vec<&str> = r.split('-').collect();
    let (last, words) = parts.split_last().expect("split yields one part");
    let ok = parts.len() >= 3
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{r:?} is not an AWS region name such as \"eu-west-1\"."
        ))
    }
}

checked_string!(
    /// An AWS region name.
    Region,
    Some("AWS region"),
    check_region
);

impl Region {
    pub fn partition(&self) -> Partition {
        Partition::of_region(self.as_str())
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, parsed. The
/// partition must be a real one; the service and resource non-empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    pub partition: Partition,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
    text: String,
}

impl Arn {
    /// The ARN, or why it is not one, as a sentence.
    pub fn parse(text: &str) -> Result<Arn, String> {
        let shape = "an ARN is arn:<partition>:<service>:<region>:<account>:<resource>";
        if text.chars().any(char::is_whitespace) {
            return Err(format!("{text:?} contains whitespace; {shape}."));
        }
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(format!("{text:?} is not an ARN; {shape}."));
        }
        let Some(partition) = Partition::parse(parts[1]) else {
            return Err(format!(
                "{text:?} names the partition {:?}, which does not exist; AWS's partitions are {}.",
                parts[1],
                partition_names()
            ));
        };
        if parts[2].is_empty() || parts[5].is_empty() {
            return Err(format!("{text:?} has no service or no resource; {shape}."));
        }
        if !parts[4].is_empty()
            && (parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "{text:?} has the account {:?}, which is not 12 digits.",
                parts[4]
            ));
        }
        Ok(Arn {
            partition,
            service: parts[2].to_string(),
            region: parts[3].to_string(),
            account: parts[4].to_string(),
            resource: parts[5].to_string(),
            text: text.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TfType for Arn {
    fn tf_type() -> Type {
        Type::String
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::String(s) => Arn::parse(s).map_err(|why| super::invalid(path, Some("ARN"), why)),
            other => Err(type_error(path, "a string", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_their_partitions() {
        for (region, partition) in [
            ("eu-west-1", Partition::Aws),
            ("us-east-1", Partition::Aws),
            ("il-central-1", Partition::Aws),
            ("cn-north-1", Partition::AwsCn),
            ("cn-northwest-1", Partition::AwsCn),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("us-iso-east-1", Partition::AwsIso),
            ("us-isob-east-1", Partition::AwsIsoB),
            ("eu-isoe-west-1", Partition::AwsIsoE),
            ("us-isof-south-1", Partition::AwsIsoF),
            ("eusc-de-east-1", Partition::AwsEusc),
        ] {
            assert!(check_region(region).is_ok(), "{region}");
            assert_eq!(
                Region::parse(region).unwrap().partition(),
                partition,
                "{region}"
            );
        }
        for bad in [
            "",
            "eu",
            "eu-west",
            "EU-west-1",
            "eu-west-1a",
            "eu--1",
            "eu-west-",
            "eu-west-1 ",
        ] {
            assert!(check_region(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arns_must_name_a_real_partition() {
        let a = Arn::parse("arn:aws:iam::123456789012:oidc-provider/oidc.example.com").unwrap();
        assert_eq!(a.partition, Partition::Aws);
        assert_eq!(a.service, "iam");
        assert_eq!(a.resource, "oidc-provider/oidc.example.com");
        assert_eq!(
            Arn::parse("arn:aws-cn:iam::123456789012:role/x")
                .unwrap()
                .partition,
            Partition::AwsCn
        );
        let why = Arn::parse("arn:aws-china:iam::123456789012:role/x").unwrap_err();
        assert!(
            why.contains("\"aws-china\", which does not exist") && why.contains("\"aws-cn\""),
            "{why}"
        );
        assert!(Arn::parse("arn:aws:iam::12345:role/x")
            .unwrap_err()
            .contains("12 digits"));
        assert!(Arn::parse("not-an-arn").is_err());
        assert!(Arn::parse("arn:aws:iam::123456789012:").is_err());
        assert!(
            Arn::parse("arn:aws:s3:::bucket").is_ok(),
            "S3 ARNs have no account"
        );
    }

    #[test]
    fn every_partition_round_trips_and_has_an_sts_suffix() {
        for p in Partition::ALL {
            assert_eq!(Partition::parse(p.as_str()), Some(p));
            assert!(!p.dns_suffix().is_empty());
        }
        assert_eq!(Partition::AwsCn.dns_suffix(), "amazonaws.com.cn");
    }
}
