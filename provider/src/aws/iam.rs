//! Thin IAM calls for the account's OIDC identity provider: create, read,
//! update client IDs / thumbprints / tags, delete. No IRSA decisions here:
//! the caller decides, e.g., whether to adopt a provider that already exists.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::Tag;
use aws_sdk_iam::Client;

use super::error::{build_error, classify, AwsCallError, ErrorKind};

/// An IAM OIDC provider as IAM reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    /// As IAM returns it: `host[/path]`, no scheme.
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// `arn:<partition>:iam::<account>:oidc-provider/<host[/path]>`; a leading
/// `https://` on `host_path` is dropped (the ARN never carries the scheme).
pub fn oidc_provider_arn(account_id: &str, partition: &str, host_path: &str) -> String {
    let host_path = host_path.strip_prefix("https://").unwrap_or(host_path);
    format!("arn:{partition}:iam::{account_id}:oidc-provider/{host_path}")
}

fn to_tags(
    operation: &'static str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Tag>, AwsCallError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_error(operation))
        })
        .collect()
}

/// CreateOpenIDConnectProvider for `issuer_url` (`https://...`). An empty
/// thumbprint list is not sent (IAM then picks the thumbprint itself); no
/// tags are sent when `tags` is empty. A provider for that URL that exists
/// already is an [`ErrorKind::AlreadyExists`] error (code EntityAlreadyExists).
pub async fn create_oidc_provider(
    client: &Client,
    issuer_url: &str,
    client_ids: &[String],
    thumbprints: &[String],
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsCallError> {
    const OP: &str = "iam:CreateOpenIDConnectProvider";
    let tag_list = to_tags(OP, tags)?;
    let out = client
        .create_open_id_connect_provider()
        .url(issuer_url)
        .set_client_id_list(Some(client_ids.to_vec()))
        .set_thumbprint_list((!thumbprints.is_empty()).then(|| thumbprints.to_vec()))
        .set_tags((!tag_list.is_empty()).then_some(tag_list))
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    out.open_id_connect_provider_arn()
        .map(str::to_string)
        .ok_or_else(|| {
            AwsCallError::new(OP, ErrorKind::Other, "the response carried no provider ARN")
        })
}

/// GetOpenIDConnectProvider: `None` when there is no such provider.
pub async fn get_oidc_provider(
    client: &Client,
    arn: &str,
) -> Result<Option<OidcProvider>, AwsCallError> {
    let out = match client
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(classify("iam:GetOpenIDConnectProvider", e)),
    };
    Ok(Some(OidcProvider {
        arn: arn.to_string(),
        url: out.url().unwrap_or_default().to_string(),
        client_ids: out.client_id_list().to_vec(),
        thumbprints: out.thumbprint_list().to_vec(),
        tags: out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }))
}

/// The provider for `host_path` (issuer without `https://`) in this account,
/// found by its ARN (see [`oidc_provider_arn`]).
pub async fn find_oidc_provider(
    client: &Client,
    account_id: &str,
    partition: &str,
    host_path: &str,
) -> Result<Option<OidcProvider>, AwsCallError> {
    get_oidc_provider(client, &oidc_provider_arn(account_id, partition, host_path)).await
}

/// ListOpenIDConnectProviders: every provider's ARN in the account (IAM
/// returns them all in one page).
pub async fn list_oidc_provider_arns(client: &Client) -> Result<Vec<String>, AwsCallError> {
    let out = client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| classify("iam:ListOpenIDConnectProviders", e))?;
    Ok(out
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect())
}

/// IAM's quota ClientIdsPerOpenIdConnectProvider.
pub const MAX_CLIENT_IDS: usize = 100;

/// One call that changes a provider's client IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientIdStep {
    Add(String),
    Remove(String),
}

/// The calls that take a provider from `current` to `desired` client IDs
/// while it never holds more than [`MAX_CLIENT_IDS`] (409 `LimitExceeded`)
/// nor fewer than one: adds first, unless that would pass the limit; then
/// removes first (keeping one), and an add that would still pass it waits
/// for a remove.
pub fn client_id_steps(current: &[String], desired: &[String]) -> Vec<ClientIdStep> {
    let have: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    let want: BTreeSet<&str> = desired.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    let adds: Vec<&str> = desired
        .iter()
        .map(String::as_str)
        .filter(|id| !have.contains(id) && seen.insert(*id))
        .collect();
    let mut seen = BTreeSet::new();
    let mut removes: std::collections::VecDeque<&str> = current
        .iter()
        .map(String::as_str)
        .filter(|id| !want.contains(id) && seen.insert(*id))
        .collect();
    let mut count = have.len();
    let mut steps = Vec::new();
    if count + adds.len() > MAX_CLIENT_IDS {
        while count > 1 {
            let Some(r) = removes.pop_front() else { break };
            steps.push(ClientIdStep::Remove(r.to_string()));
            count -= 1;
        }
    }
    for a in adds {
        if count >= MAX_CLIENT_IDS {
            if let Some(r) = removes.pop_front() {
                steps.push(ClientIdStep::Remove(r.to_string()));
                count -= 1;
            }
        }
        steps.push(ClientIdStep::Add(a.to_string()));
        count += 1;
    }
    steps.extend(
        removes
            .into_iter()
            .map(|r| ClientIdStep::Remove(r.to_string())),
    );
    steps
}

/// Makes the provider's client IDs (audiences) `desired`, given what it has
/// now, in the order [`client_id_steps`] gives. Both calls are idempotent in IAM.
pub async fn set_client_ids(
    client: &Client,
    arn: &str,
    current: &[String],
    desired: &[String],
) -> Result<(), AwsCallError> {
    for step in client_id_steps(current, desired) {
        match step {
            ClientIdStep::Add(id) => client
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("iam:AddClientIDToOpenIDConnectProvider", e))?,
            ClientIdStep::Remove(id) => client
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify("iam:RemoveClientIDFromOpenIDConnectProvider", e))?,
        }
    }
    Ok(())
}

/// UpdateOpenIDConnectProviderThumbprint: replaces the list with
/// `thumbprints`. IAM requires a non-empty list here and offers no call that
/// clears it (a provider created without thumbprints gets one that IAM picks
/// itself), so an empty list is an [`ErrorKind::Other`] error and nothing is
/// sent: keep the current thumbprints, or recreate the provider.
pub async fn set_thumbprints(
    client: &Client,
    arn: &str,
    thumbprints: &[String],
) -> Result<(), AwsCallError> {
    const OP: &str = "iam:UpdateOpenIDConnectProviderThumbprint";
    if thumbprints.is_empty() {
        return Err(AwsCallError::new(
            OP,
            ErrorKind::Other,
            "IAM cannot clear the thumbprint list of an existing OIDC provider (the update needs at least one \
             thumbprint); keep the current thumbprints or recreate the provider without any",
        ));
    }
    client
        .update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(arn)
        .set_thumbprint_list(Some(thumbprints.to_vec()))
        .send()
        .await
        .map_err(|e| classify(OP, e))?;
    Ok(())
}

/// Makes the provider's tags `desired`, given `current`: untags the keys no
/// longer wanted, then tags new and changed ones.
pub async fn set_tags(
    client: &Client,
    arn: &str,
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Result<(), AwsCallError> {
    let gone: Vec<String> = current
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    if !gone.is_empty() {
        client
            .untag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tag_keys(Some(gone))
            .send()
            .await
            .map_err(|e| classify("iam:UntagOpenIDConnectProvider", e))?;
    }
    let changed: BTreeMap<String, String> = desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        const OP: &str = "iam:TagOpenIDConnectProvider";
        client
            .tag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tags(Some(to_tags(OP, &changed)?))
            .send()
            .await
            .map_err(|e| classify(OP, e))?;
    }
    Ok(())
}

/// DeleteOpenIDConnectProvider; a provider that is already gone is success.
pub async fn delete_oidc_provider(client: &Client, arn: &str) -> Result<(), AwsCallError> {
    match client
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_no_such_entity_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(classify("iam:DeleteOpenIDConnectProvider", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    /// Plays the steps as IAM would: the count stays within 1..=100, and
    /// the end is the desired set.
    fn play(current: &[String], desired: &[String]) -> Vec<ClientIdStep> {
        let steps = client_id_steps(current, desired);
        let mut held: BTreeSet<String> = current.iter().cloned().collect();
        for s in &steps {
            match s {
                ClientIdStep::Add(id) => assert!(held.insert(id.clone()), "{id} added twice"),
                ClientIdStep::Remove(id) => assert!(held.remove(id), "{id} removed twice"),
            }
            assert!(
                (1..=MAX_CLIENT_IDS).contains(&held.len()),
                "{} client IDs after {s:?}",
                held.len()
            );
        }
        let want: BTreeSet<String> = desired.iter().cloned().collect();
        assert_eq!(held, want);
        steps
    }

    #[test]
    fn client_ids_change_within_iams_limits() {
        // Below the limit: add first, so there is never a gap.
        let steps = play(&ids("a", 1), &ids("b", 1));
        assert_eq!(
            steps,
            vec![
                ClientIdStep::Add("b0".into()),
                ClientIdStep::Remove("a0".into())
            ]
        );
        // At the limit: one swapped, removed first.
        let current = ids("a", 100);
        let mut desired = ids("a", 99);
        desired.push("new".into());
        let steps = play(&current, &desired);
        assert_eq!(steps[0], ClientIdStep::Remove("a99".into()));
        // Every one swapped at the limit, and growing to it.
        play(&ids("a", 100), &ids("b", 100));
        play(&ids("a", 60), &ids("b", 100));
        play(&ids("a", 100), &ids("a", 1));
        play(&ids("a", 1), &ids("a", 100));
        // Order alone, or nothing: no call.
        let mut rev = ids("a", 5);
        rev.reverse();
        assert!(client_id_steps(&ids("a", 5), &rev).is_empty());
    }
}
