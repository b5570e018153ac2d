//! Bookkeeping kept in Terraform's private state: what is needed to find
//! and compare the parts that have no attribute of their own.

use serde::{Deserialize, Serialize};

use super::desired::Identity;
use crate::aws::acm::ValidationRecord;
use tfplugin::resource::JsonPrivate;
use tfplugin::types::Partition;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Private {
    pub account_id: String,
    pub partition: String,
    pub region: String,
    pub caller_reference: String,
    #[serde(default)]
    pub validation: Vec<ValidationRecordJson>,
    /// The IAM OIDC provider that existed before the issuer and was adopted
    /// (`adopt_existing_oidc_provider`); it is the issuer's from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_oidc_provider: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ValidationRecordJson {
    name: String,
    rtype: String,
    value: String,
}

impl Private {
    pub fn new(id: &Identity, caller_reference: String) -> Private {
        Private {
            account_id: id.account_id.clone(),
            partition: id.partition.to_string(),
            region: id.region.clone(),
            caller_reference,
            validation: vec![],
            adopted_oidc_provider: None,
        }
    }
    pub fn identity(&self) -> Identity {
        Identity {
            account_id: self.account_id.clone(),
            partition: Partition::parse(&self.partition)
                .unwrap_or_else(|| Partition::of_region(&self.region)),
            region: self.region.clone(),
        }
    }
    pub fn validation_records(&self) -> Vec<ValidationRecord> {
        self.validation
            .iter()
            .map(|v| ValidationRecord {
                name: v.name.clone(),
                rtype: v.rtype.clone(),
                value: v.value.clone(),
            })
            .collect()
    }
    pub fn set_validation(&mut self, records: &[ValidationRecord]) {
        self.validation = records
            .iter()
            .map(|v| ValidationRecordJson {
                name: v.name.clone(),
                rtype: v.rtype.clone(),
                value: v.value.clone(),
            })
            .collect();
    }
}

/// Bookkeeping without an account is from before it was kept: rebuilt.
impl JsonPrivate for Private {
    fn usable(&self) -> bool {
        !self.account_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::resource::PrivateState;

    #[test]
    fn private_state_round_trips_and_rejects_garbage() {
        let mut p = Private {
            account_id: "123456789012".into(),
            partition: "aws".into(),
            region: "eu-west-1".into(),
            caller_reference: "irsa-x".into(),
            validation: vec![],
            adopted_oidc_provider: Some(
                "arn:aws:iam::123456789012:oidc-provider/oidc.example.com".into(),
            ),
        };
        p.set_validation(&[ValidationRecord {
            name: "_a.example.com".into(),
            rtype: "CNAME".into(),
            value: "_b.acm-validations.aws".into(),
        }]);
        assert_eq!(Private::decode(&p.encode()), Some(p.clone()));
        assert_eq!(Private::decode(b""), None);
        assert_eq!(Private::decode(b"{}"), None);
    }
}
