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
/// bookkeeping, else from the bucket's name (`<name>-oidc-<account>`).
pub fn of_state(state: &IssuerModel, private: Option<&Private>) -> Option<IssuerIdentity> {
    let name = state.name.as_deref()?.to_string();
    let account_id = private
        .map(|p| p.account_id.clone())
        .filter(|a| !a.is_empty())
        .or_else(|| account_of_bucket(&name, state.bucket.as_deref()?))?;
    Some(IssuerIdentity {
        name,
        account_id: Some(account_id),
    })
}

/// The account in `<name>-oidc-<12 digits>`.
fn account_of_bucket(name: &str, bucket: &str) -> Option<String> {
    let account = bucket.strip_prefix(name)?.strip_prefix("-oidc-")?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

/// Refuses an identity that cannot name an issuer, before any call.
pub fn check(identity: &IssuerIdentity) -> Result<(), String> {
    super::model::check_name(&identity.name).map_err(|why| format!("`name`: {why}"))?;
    if let Some(a) = &identity.account_id {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
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
