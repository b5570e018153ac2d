//! Objects through the API: server-side apply with one field manager, get,
//! delete and wait until gone, and the pods' events for a failed rollout.
//! Thin I/O; the objects themselves come from `webhook::manifests`.
//! Errors name the object and the reason; no Secret data is ever in one.

use std::time::Duration;

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::{error_chain, KubeClient};
use crate::webhook::manifests::{Kind, ObjectId, FIELD_MANAGER};
use tfplugin::framework::Interrupted;
use tfplugin::Ctx;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(
        "{what}: the credentials of the provider's `kubernetes` settings may not `{verb}` {resource}{scope} \
         (403 Forbidden). Grant the verb `{verb}` on `{resource}` to that identity (e.g. in a ClusterRole bound to it)."
    )]
    Forbidden {
        what: String,
        verb: String,
        resource: String,
        scope: String,
    },
    #[error(
        "{what}: fields this resource sets are owned by another field manager (409 Conflict): {message}. \
         Set `force_conflicts = true` to take them over, or stop the other manager from setting them."
    )]
    Conflict { what: String, message: String },
    #[error("{what}: the Kubernetes API server refused to {verb} it ({code} {reason}): {message}")]
    Api {
        what: String,
        verb: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error(
        "{what}: the Kubernetes API server at {host} rejected the credentials (401 Unauthorized): check the \
         token, client certificate or exec plugin in the provider's `kubernetes` settings"
    )]
    Unauthorized { what: String, host: String },
    #[error("{what}: cannot reach the Kubernetes API server at {host}: {reason}")]
    Unreachable {
        what: String,
        host: String,
        reason: String,
    },
    #[error("{what}: {why}")]
    Interrupted { what: String, why: Interrupted },
    #[error(
        "{what} is still being deleted ({why}): {pending}. Something in the cluster must finish it \
         (e.g. the controller that owns the finalizer); run the destroy again once it is gone."
    )]
    StillDeleting {
        what: String,
        pending: String,
        why: Interrupted,
    },
}

/// The verb an RBAC 403 says is missing, or `None` when the 403 is not
/// about RBAC (an admission plugin's refusal, e.g. a terminating
/// namespace, whose own message is then shown). The authorization filter
/// words it `... cannot create resource "clusterroles" ...`. Server-side
/// apply of an object that does not exist yet passes that filter as
/// `patch` and is then checked for `create`, whose denial carries no
/// reason: `configmaps "x" is forbidden: `.
fn forbidden_verb(message: &str, request_verb: &str) -> Option<String> {
    if let Some(at) = message.find(" cannot ") {
        let verb = message[at + " cannot ".len()..].split_whitespace().next()?;
        if verb.chars().all(|c| c.is_ascii_lowercase()) {
            return Some(verb.to_string());
        }
    }
    (request_verb == "patch" && message.trim_end().ends_with("is forbidden:"))
        .then(|| "create".to_string())
}

/// What keeps an object that has a `deletionTimestamp` in the cluster.
fn pending_deletion(obj: &Value) -> String {
    let finalizers: Vec<&str> = obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match (
        obj["metadata"]["deletionTimestamp"].as_str(),
        finalizers.is_empty(),
    ) {
        (None, _) => "it still exists without a deletionTimestamp".to_string(),
        (Some(_), true) => "it is terminating".to_string(),
        (Some(_), false) => format!(
            "its finalizers {} have not been removed",
            finalizers
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl ObjectError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ObjectError::Api { code: 404, .. })
    }
}

fn api_resource(id: &ObjectId) -> ApiResource {
    ApiResource {
        group: id.group().to_string(),
        version: id.version().to_string(),
        api_version: id.api_version(),
        kind: id.kind.as_str().to_string(),
        plural: id.plural().to_string(),
    }
}

impl KubeClient {
    fn api_for(&self, id: &ObjectId) -> Api<DynamicObject> {
        let ar = api_resource(id);
        if id.namespace.is_empty() {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), &id.namespace, &ar)
        }
    }

    fn object_error(&self, id: &ObjectId, verb: &str, e: kube::Error) -> ObjectError {
        let what = id.describe();
        match e {
            kube::Error::Api(status) => match status.code {
                401 => ObjectError::Unauthorized {
                    what,
                    host: self.host.clone(),
                },
                403 if forbidden_verb(&status.message, verb).is_some() => ObjectError::Forbidden {
                    what,
                    verb: forbidden_verb(&status.message, verb).unwrap_or_default(),
                    resource: id.resource(),
                    scope: if id.namespace.is_empty() {
                        " (cluster-scoped)".to_string()
                    } else {
                        format!(" in the namespace {:?}", id.namespace)
                    },
                },
                409 if status.reason == "Conflict" && verb == "patch" => ObjectError::Conflict {
                    what,
                    message: status.message.clone(),
                },
                code => ObjectError::Api {
                    what,
                    verb: verb.to_string(),
                    code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                },
            },
            other => ObjectError::Unreachable {
                what,
                host: self.host.clone(),
                reason: error_chain(&other),
            },
        }
    }

    /// The object as the API server holds it; `None` when it does not exist.
    pub async fn get_object(&self, id: &ObjectId) -> Result<Option<Value>, ObjectError> {
        match self.api_for(id).get_opt(&id.name).await {
            Ok(Some(o)) => Ok(Some(serde_json::to_value(o).unwrap_or_default())),
            Ok(None) => Ok(None),
            Err(e) => Err(self.object_error(id, "get", e)),
        }
    }

    /// Every object of `kind` in every namespace (or, cluster-scoped, the
    /// cluster) with the labels `selector` (`k=v,k2=v2`), page by page.
    pub async fn list_objects(
        &self,
        kind: Kind,
        selector: &str,
    ) -> Result<Vec<Value>, ObjectError> {
        let id = ObjectId::new(kind, "", "");
        let api = self.api_for(&id);
        let mut out = Vec::new();
        let mut lp = ListParams::default().labels(selector).limit(500);
        loop {
            let page = api
                .list(&lp)
                .await
                .map_err(|e| self.object_error(&id, "list", e))?;
            let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
            out.extend(
                page.items
                    .into_iter()
                    .map(|o| serde_json::to_value(o).unwrap_or_default()),
            );
            match next {
                Some(c) => lp = lp.continue_token(&c),
                None => break,
            }
        }
        Ok(out)
    }

    /// Server-side apply of `body` as [`FIELD_MANAGER`], unknown fields
    /// refused (`fieldValidation=Strict`); `force` takes over fields other
    /// managers own. Returns the object after the apply.
    pub async fn apply_object(
        &self,
        id: &ObjectId,
        body: &Value,
        force: bool,
    ) -> Result<Value, ObjectError> {
        let mut pp = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if force {
            pp = pp.force();
        }
        tracing::debug!(target: "irsa::webhook", object = %id.describe(), force, "server-side apply");
        self.api_for(id)
            .patch(&id.name, &pp, &Patch::Apply(body))
            .await
            .map(|o| serde_json::to_value(o).unwrap_or_default())
            .map_err(|e| self.object_error(id, "patch", e))
    }

    /// Deletes the object and waits until it is gone: finalizers keep an
    /// object with a `deletionTimestamp` for a while. A Deployment is
    /// deleted in the foreground, so it is gone only once its ReplicaSets
    /// and pods are (no webhook pod outlives the destroy); everything else
    /// has no dependents of ours and goes in the background, as kubectl
    /// does. An object of the same name with another uid was made by
    /// someone else after ours went: ours is gone.
    pub async fn delete_object_and_wait(
        &self,
        ctx: &Ctx,
        id: &ObjectId,
    ) -> Result<(), ObjectError> {
        let api = self.api_for(id);
        let params = if id.kind == Kind::Deployment {
            DeleteParams::foreground()
        } else {
            DeleteParams::background()
        };
        let uid = match api.delete(&id.name, &params).await {
            // The object while it is being deleted, or a Status once it is gone.
            Ok(answer) => answer.either(
                |obj| obj.metadata.uid,
                |status| status.details.map(|d| d.uid).filter(|u| !u.is_empty()),
            ),
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(self.object_error(id, "delete", e)),
        };
        loop {
            let live = match api.get_opt(&id.name).await {
                Ok(None) => return Ok(()),
                Ok(Some(o)) if uid.is_some() && o.metadata.uid != uid => return Ok(()),
                Ok(Some(o)) => o,
                Err(e) => return Err(self.object_error(id, "get", e)),
            };
            if let Err(why) = ctx.sleep(Duration::from_millis(500)).await {
                let live = serde_json::to_value(live).unwrap_or_default();
                return Err(ObjectError::StillDeleting {
                    what: id.describe(),
                    pending: pending_deletion(&live),
                    why,
                });
            }
        }
    }

    /// Which of `wanted` (verb, object) the credentials may not do, asked
    /// with one SelfSubjectAccessReview each (all at once), as
    /// `kubectl auth can-i` does: `- create clusterroles.rbac.authorization.k8s.io
    /// (cluster-scoped)` lines. `None` when the cluster cannot answer
    /// (SSAR not served or not allowed): the apply itself will tell.
    pub async fn missing_permissions(&self, wanted: &[(&str, &ObjectId)]) -> Option<Vec<String>> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let asks = wanted.iter().map(|(verb, id)| {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        group: Some(id.group().to_string()),
                        namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
                        resource: Some(id.plural().to_string()),
                        verb: Some(verb.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let api = api.clone();
            async move { api.create(&Default::default(), &review).await }
        });
        let answers = futures::future::join_all(asks).await;
        let mut missing = Vec::new();
        for ((verb, id), answer) in wanted.iter().zip(answers) {
            match answer {
                Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
                Ok(_) => {
                    let line = format!(
                        "- {verb} {}{}",
                        id.resource(),
                        if id.namespace.is_empty() {
                            " (cluster-scoped)".to_string()
                        } else {
                            format!(" in the namespace {:?}", id.namespace)
                        }
                    );
                    if !missing.contains(&line) {
                        missing.push(line);
                    }
                }
                Err(e) => {
                    tracing::debug!(target: "irsa::webhook", error = %error_chain(&e),
                        "SelfSubjectAccessReview not answered; permissions are not checked before applying");
                    return None;
                }
            }
        }
        Some(missing)
    }

    /// The last events of the pods matching `selector` in `namespace`, as
    /// `pod: reason: message` lines (newest last); empty when the cluster
    /// has none or lists of pods/events are not allowed.
    pub async fn pod_events(&self, namespace: &str, selector: &str, max: usize) -> Vec<String> {
        use k8s_openapi::api::core::v1::{Event, Pod};
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let Ok(list) = pods.list(&ListParams::default().labels(selector)).await else {
            return vec![];
        };
        let events: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let mut out: Vec<(String, String)> = Vec::new();
        for p in list.items.iter().take(10) {
            let name = p.metadata.name.clone().unwrap_or_default();
            let fs = format!("involvedObject.kind=Pod,involvedObject.name={name}");
            if let Ok(evs) = events.list(&ListParams::default().fields(&fs)).await {
                for e in evs.items {
                    let when = e
                        .last_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
                        .unwrap_or_default();
                    out.push((
                        when,
                        format!(
                            "pod {name}: {}: {}",
                            e.reason.unwrap_or_default(),
                            e.message.unwrap_or_default().trim()
                        ),
                    ));
                }
            }
        }
        out.sort();
        let skip = out.len().saturating_sub(max);
        out.into_iter().skip(skip).map(|(_, l)| l).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_verb_comes_from_the_api_servers_403_message() {
        let m = r#"clusterroles.rbac.authorization.k8s.io "kube-system:pod-identity-webhook" is forbidden: User "system:serviceaccount:ci:deployer" cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope"#;
        assert_eq!(forbidden_verb(m, "patch").as_deref(), Some("create"));
        let m = r#"deployments.apps "w" is forbidden: User "u" cannot delete resource "deployments" in API group "apps" in the namespace "kube-system""#;
        assert_eq!(forbidden_verb(m, "delete").as_deref(), Some("delete"));
        // The create check of an apply that makes the object: no reason given.
        let m = r#"configmaps "c2" is forbidden: "#;
        assert_eq!(forbidden_verb(m, "patch").as_deref(), Some("create"));
        // Not RBAC: an admission plugin's refusal keeps its own message.
        let m = r#"serviceaccounts "w" is forbidden: unable to create new content in namespace x because it is being terminated"#;
        assert_eq!(forbidden_verb(m, "patch"), None);
        assert_eq!(forbidden_verb("x cannot \"quoted\" y", "get"), None);
    }

    #[test]
    fn what_holds_a_deletion_is_named() {
        let held = json!({"metadata": {"deletionTimestamp": "2026-12-02T00:00:00Z",
            "finalizers": ["example.com/hold", "foregroundDeletion"]}});
        assert_eq!(
            pending_deletion(&held),
            "its finalizers `example.com/hold`, `foregroundDeletion` have not been removed"
        );
        let terminating = json!({"metadata": {"deletionTimestamp": "2026-12-02T00:00:00Z"}});
        assert_eq!(pending_deletion(&terminating), "it is terminating");
        assert_eq!(
            pending_deletion(&json!({"metadata": {}})),
            "it still exists without a deletionTimestamp"
        );
    }
}
