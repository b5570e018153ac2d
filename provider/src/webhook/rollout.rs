//! Is a Deployment rolled out? The rules of `kubectl rollout status`
//! (kubectl `polymorphichelpers/rollout_status.go`), on the object as JSON.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    Done,
    /// Still going; the text says what is awaited.
    Waiting(String),
    /// The Deployment controller gave up (`ProgressDeadlineExceeded`).
    Failed {
        reason: String,
        message: String,
    },
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub fn status(deployment: &Value) -> Rollout {
    let generation = int(&deployment["metadata"]["generation"]);
    let status = &deployment["status"];
    let observed = int(&status["observedGeneration"]);
    if generation > observed || status.is_null() {
        return Rollout::Waiting(format!(
            "the Deployment controller has not yet seen generation {generation} (observed {observed})"
        ));
    }
    if let Some(conds) = status["conditions"].as_array() {
        for c in conds {
            if c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded" {
                return Rollout::Failed {
                    reason: "ProgressDeadlineExceeded".into(),
                    message: c["message"].as_str().unwrap_or_default().to_string(),
                };
            }
        }
    }
    let want = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = int(&status["updatedReplicas"]);
    let replicas = int(&status["replicas"]);
    let available = int(&status["availableReplicas"]);
    if updated < want {
        return Rollout::Waiting(format!("{updated} of {want} updated replicas are up"));
    }
    if replicas > updated {
        return Rollout::Waiting(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return Rollout::Waiting(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    Rollout::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(gen: i64, status: Value) -> Value {
        json!({"metadata": {"generation": gen}, "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn follows_kubectl_rollout_status() {
        // Nothing observed yet: an empty status is not done.
        assert!(matches!(
            status(&json!({"metadata": {"generation": 1}, "spec": {"replicas": 2}})),
            Rollout::Waiting(_)
        ));
        // Right after an update the old ReplicaSet is still available.
        let old = d(
            2,
            json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert!(matches!(status(&old), Rollout::Waiting(w) if w.contains("generation 2")));
        let surge = d(
            2,
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert!(matches!(status(&surge), Rollout::Waiting(w) if w.contains("old replicas")));
        let unavailable = d(
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
        );
        assert!(matches!(status(&unavailable), Rollout::Waiting(w) if w.contains("available")));
        let partial = d(
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 2}),
        );
        assert!(matches!(status(&partial), Rollout::Waiting(_)));
        let done = d(
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert_eq!(status(&done), Rollout::Done);
        let failed = d(
            2,
            json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 0,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"x\" has timed out progressing."}]}),
        );
        assert_eq!(
            status(&failed),
            Rollout::Failed {
                reason: "ProgressDeadlineExceeded".into(),
                message: "ReplicaSet \"x\" has timed out progressing.".into()
            }
        );
    }
}
