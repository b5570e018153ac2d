//! The issuer's resource identity (Terraform 1.12+): its `name` in an AWS
//! account, stored beside the state and accepted by
//! `import { identity = { name = "..." } }`.

use super::model::IssuerModel;
use super::private::Private;
use tfplugin::Model;

/// An issuer: its `name` in an AWS account.
#[derive(Model, Clone, Debug, PartialEq, Eq)]
pub struct IssuerIdentity {
    /// The issuer's `name`.
    #[tf(required)]
    pub name: String,
    /// The 12-digit AWS account it is in. When importing it may be left out: the account of the provider's
    /// credentials, the only account an import can read.
    #[tf(optional)]
    pub account_id: Option<String>,
}

/// The identity of the issuer `state` describes: the account from the
/// bookkeeping, else from its IAM OIDC provider's ARN, else from the
/// bucket's name (`<name>-oidc-<account>`, or on a host `<host>-oidc-<account>`).
pub fn of_state(state: &IssuerModel, private: Option<&Private>) -> Option<IssuerIdentity> {
    let name = state.name.as_deref()?.to_string();
    let bucket_owner = state.host.as_deref().unwrap_or(&name);
    let account_id = private
        .map(|p| p.account_id.clone())
        .filter(|a| !a.is_empty())
        .or_else(|| account_of_arn(state.oidc_provider_arn.as_deref()?))
        .or_else(|| account_of_bucket(bucket_owner, state.bucket.as_deref()?))?;
    Some(IssuerIdentity {
        name,
        account_id: Some(account_id),
    })
}

fn is_account(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// The account in `arn:<partition>:iam::<account>:oidc-provider/...`.
fn account_of_arn(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    is_account(account).then(|| account.to_string())
}

/// The account in `<owner>-oidc-<12 digits>`.
fn account_of_bucket(owner: &str, bucket: &str) -> Option<String> {
    let account = bucket.strip_prefix(owner)?.strip_prefix("-oidc-")?;
    is_account(account).then(|| account.to_string())
}

/// Refuses an identity that cannot name an issuer, before any call.
pub fn check(identity: &IssuerIdentity) -> Result<(), String> {
    super::model::check_name(&identity.name).map_err(|why| format!("`name`: {why}"))?;
    if let Some(a) = &identity.account_id {
        if !is_account(a) {
            return Err(format!(
                "`account_id`: {a:?} is not a 12-digit AWS account ID."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Tf;

    #[test]
    fn the_account_comes_from_the_bookkeeping_or_the_bucket() {
        let state = IssuerModel {
            name: Tf::Known("prod".into()),
            bucket: Tf::Known("prod-oidc-123456789012".into()),
            ..IssuerModel::default()
        };
        let id = of_state(&state, None).unwrap();
        assert_eq!(id.account_id.as_deref(), Some("123456789012"));
        let p = Private {
            account_id: "999999999999".into(),
            ..Private::default()
        };
        assert_eq!(
            of_state(&state, Some(&p)).unwrap().account_id.as_deref(),
            Some("999999999999")
        );
        let no_bucket = IssuerModel {
            name: Tf::Known("prod".into()),
            ..IssuerModel::default()
        };
        assert_eq!(of_state(&no_bucket, None), None);
    }

    #[test]
    fn an_issuer_on_a_host_has_the_same_identity() {
        // The host's bucket, not the issuer's; the provider's ARN first.
        let on_host = IssuerModel {
            name: Tf::Known("team-a".into()),
            host: Tf::Known("platform".into()),
            bucket: Tf::Known("platform-oidc-123456789012".into()),
            ..IssuerModel::default()
        };
        let id = of_state(&on_host, None).unwrap();
        assert_eq!(id.name, "team-a");
        assert_eq!(id.account_id.as_deref(), Some("123456789012"));
        let with_arn = IssuerModel {
            oidc_provider_arn: Tf::Known(
                "arn:aws:iam::210987654321:oidc-provider/oidc.example.com/team-a".into(),
            ),
            ..on_host.clone()
        };
        assert_eq!(
            of_state(&with_arn, None).unwrap().account_id.as_deref(),
            Some("210987654321")
        );
        // Another issuer's bucket name says nothing of this one.
        let not_its_bucket = IssuerModel {
            host: Tf::Null,
            ..on_host
        };
        assert_eq!(of_state(&not_its_bucket, None), None);
    }

    #[test]
    fn the_schema_says_what_an_import_must_give() {
        let s = <IssuerIdentity as tfplugin::resource::IdentityModel>::identity_schema(0).unwrap();
        let flags: Vec<(&str, bool, bool)> = s
            .attributes
            .iter()
            .map(|a| {
                (
                    a.name.as_str(),
                    a.required_for_import,
                    a.optional_for_import,
                )
            })
            .collect();
        assert_eq!(flags, [("name", true, false), ("account_id", false, true)]);
        assert!(check(&IssuerIdentity {
            name: "Prod".into(),
            account_id: None
        })
        .is_err());
        assert!(check(&IssuerIdentity {
            name: "prod".into(),
            account_id: Some("12".into())
        })
        .is_err());
    }
}
