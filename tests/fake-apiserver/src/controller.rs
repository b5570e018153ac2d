//! What kube-controller-manager, the scheduler and the kubelet do for a
//! Deployment, compressed in time: a rollout takes
//! [`FakeApiServerConfig::rollout_duration`](super::FakeApiServerConfig)
//! (500 ms by default) instead of seconds to minutes, but moves through the
//! same states a client sees on a real cluster:
//!
//! 1. the write itself changes only `spec` and `metadata.generation`;
//!    `status.observedGeneration` still has the old generation (a new
//!    Deployment has `status: {}`);
//! 2. after a fifth of the duration the deployment controller has seen it:
//!    `observedGeneration` catches up, a ReplicaSet `<name>-<pod-template-hash>`
//!    exists with its Pods (Pending), `updatedReplicas` = spec.replicas,
//!    the old ReplicaSet's pods still count in `replicas`/`availableReplicas`,
//!    Progressing=True `NewReplicaSetCreated` (or `FoundNewReplicaSet`);
//! 3. at half time half of the new Pods are Running and ready,
//!    Progressing=True `ReplicaSetUpdated`;
//! 4. at the full duration every new Pod is ready, the old ReplicaSet is
//!    scaled to 0 and its Pods are gone, Available=True
//!    `MinimumReplicasAvailable`, Progressing=True `NewReplicaSetAvailable`.
//!
//! A test can make a Deployment's rollout fail ([`RolloutFailure`]): its new
//! Pods stay Pending (unschedulable, or with the image pull failing), the
//! scheduler's or kubelet's Events are recorded for them (core/v1 and
//! events.k8s.io/v1), and once the deadline passes Progressing becomes
//! False with reason `ProgressDeadlineExceeded`, message
//! `ReplicaSet "<rs>" has timed out progressing.`, as
//! `kubectl rollout status` expects.
//!
//! The garbage collector runs here too, for every kind and every
//! ownerReference (see `collect_garbage`): background, foreground and
//! orphan propagation as the real one does them. So do the kubelet's part
//! of a graceful Pod deletion (a deleted Pod on a node is `Terminating`
//! for [`pod_termination_delay`](super::FakeApiServerConfig), then gone) and
//! the namespace controller (a Terminating namespace is emptied after
//! `namespace_termination_delay` and removed once nothing is left in it).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::ops::{
    self, finalizers, grace_elapsed, is_terminating, set_finalizers, Propagation,
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER,
};
use super::resources::{known, lookup, ResourceType, RESOURCES};
use super::store::{meta_str, Store};
use super::util::{new_uid, now_rfc3339, random_bytes};

/// How the Pods of a failing rollout fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodFailure {
    /// The kubelet cannot pull the image: containers wait in
    /// `ErrImagePull`/`ImagePullBackOff`; Events `Pulling`, `Failed`, `BackOff`.
    ImagePull,
    /// No node fits: Pods stay unscheduled; Event `FailedScheduling`.
    Unschedulable,
}

impl PodFailure {
    pub fn parse(s: &str) -> Option<PodFailure> {
        match s {
            "ImagePull" | "ImagePullBackOff" | "ErrImagePull" => Some(PodFailure::ImagePull),
            "Unschedulable" | "FailedScheduling" => Some(PodFailure::Unschedulable),
            _ => None,
        }
    }
}

/// A rollout that never becomes available (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutFailure {
    pub pods: PodFailure,
    /// When Progressing turns False (`ProgressDeadlineExceeded`), counted
    /// from the write that started the rollout. `None`: the Deployment's
    /// own `spec.progressDeadlineSeconds`, as on a real cluster.
    pub deadline: Option<Duration>,
}

impl RolloutFailure {
    pub fn image_pull(deadline: Duration) -> Self {
        RolloutFailure {
            pods: PodFailure::ImagePull,
            deadline: Some(deadline),
        }
    }
    pub fn unschedulable(deadline: Duration) -> Self {
        RolloutFailure {
            pods: PodFailure::Unschedulable,
            deadline: Some(deadline),
        }
    }
}

/// Where one Deployment's rollout is.
#[derive(Debug, Clone)]
struct Track {
    uid: String,
    generation: i64,
    hash: String,
    /// The ReplicaSet hash whose pods were serving before this rollout.
    prev_hash: Option<String>,
    since: Instant,
    stage: u8,
    complete: bool,
    /// Admission refused some of the new Pods: when to try again, and the
    /// back-off after that (the ReplicaSet controller's requeue).
    blocked: Option<(Instant, Duration)>,
}

/// The controllers' state, behind `Shared::rollouts`.
pub(crate) struct Controllers {
    pub duration: Duration,
    /// How long the kubelet takes to stop a gracefully deleted Pod.
    pub pod_termination_delay: Duration,
    /// How long a Terminating namespace waits before the namespace
    /// controller empties it.
    pub namespace_termination_delay: Duration,
    failures: HashMap<(String, String), RolloutFailure>,
    tracks: HashMap<(String, String), Track>,
    /// Terminating Pods (by uid) and Namespaces (by uid): since when.
    terminating_pods: HashMap<String, Instant>,
    terminating_namespaces: HashMap<String, Instant>,
    next_ip: u32,
}

pub(crate) const NODE: &str = "fake-node-1";

impl Controllers {
    pub fn new(duration: Duration) -> Self {
        Controllers {
            duration,
            pod_termination_delay: Duration::from_millis(200),
            namespace_termination_delay: Duration::from_millis(500),
            failures: HashMap::new(),
            tracks: HashMap::new(),
            terminating_pods: HashMap::new(),
            terminating_namespaces: HashMap::new(),
            next_ip: 10,
        }
    }

    pub fn set_failure(&mut self, namespace: &str, name: &str, f: Option<RolloutFailure>) {
        let key = (namespace.to_string(), name.to_string());
        match f {
            Some(f) => {
                self.failures.insert(key, f);
            }
            None => {
                self.failures.remove(&key);
            }
        }
    }

    fn pod_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip += 1;
        format!("10.244.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }
}

/// `pod-template-hash`: FNV-1a of the template, its decimal digits mapped
/// onto the apiserver's "safe" alphabet (as `rand.SafeEncodeString` does).
pub(crate) fn template_hash(template: &Value) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in template.to_string().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

fn suffix5() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    random_bytes::<5>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn hex16() -> String {
    random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn deployments() -> &'static ResourceType {
    known("apps", "deployments")
}
fn replicasets() -> &'static ResourceType {
    known("apps", "replicasets")
}
fn pods() -> &'static ResourceType {
    known("", "pods")
}

/// `maxUnavailable` of a RollingUpdate Deployment, resolved against `n`
/// (percentages round down, as the deployment controller does).
fn max_unavailable(d: &Value, n: i64) -> i64 {
    let v = &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"];
    if d["spec"]["strategy"]["type"] == "Recreate" {
        return n;
    }
    match v {
        Value::Number(x) => x.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => n * p / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => n * 25 / 100,
    }
}

/// One pass of every controller. Called every few tens of milliseconds.
pub(crate) fn tick(ctl: &mut Controllers, store: &mut Store) {
    let now = Instant::now();
    let deps: Vec<Value> = store
        .list(deployments(), None)
        .into_iter()
        .cloned()
        .collect();
    let mut live_keys = Vec::new();
    for d in deps {
        let key = (
            meta_str(&d, "namespace").to_string(),
            meta_str(&d, "name").to_string(),
        );
        live_keys.push(key.clone());
        if !d["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let uid = meta_str(&d, "uid").to_string();
        let generation = d["metadata"]["generation"].as_i64().unwrap_or(1);
        let hash = template_hash(&d["spec"]["template"]);
        let track = ctl.tracks.entry(key.clone()).or_insert_with(|| Track {
            uid: uid.clone(),
            generation,
            hash: hash.clone(),
            prev_hash: None,
            since: now,
            stage: 0,
            complete: false,
            blocked: None,
        });
        if track.uid != uid {
            *track = Track {
                uid: uid.clone(),
                generation,
                hash: hash.clone(),
                prev_hash: None,
                since: now,
                stage: 0,
                complete: false,
                blocked: None,
            };
        }
        if track.generation != generation {
            if track.hash != hash {
                // The pods serving now are the last complete rollout's.
                if track.complete || track.prev_hash.is_none() {
                    track.prev_hash = Some(track.hash.clone());
                }
                track.hash = hash.clone();
            }
            track.generation = generation;
            track.since = now;
            track.stage = 0;
            track.complete = false;
            track.blocked = None;
        }
        let failure = ctl.failures.get(&key).cloned();
        let elapsed = now.duration_since(track.since);
        let dur = ctl.duration;
        let mut stage = match &failure {
            None if elapsed >= dur => 3,
            None if elapsed >= dur / 2 => 2,
            None if elapsed >= dur / 5 => 1,
            None => 0,
            Some(f) => {
                let deadline = f.deadline.unwrap_or_else(|| {
                    Duration::from_secs(
                        d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600),
                    )
                });
                if elapsed >= deadline.max(dur / 5) {
                    4
                } else if elapsed >= dur / 5 {
                    1
                } else {
                    0
                }
            }
        };
        let retry = match track.blocked {
            Some((at, _)) => {
                // Pods missing: no progress past "created" until the
                // deadline, the creates retried with back-off meanwhile.
                if failure.is_none() {
                    let deadline = Duration::from_secs(
                        d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600),
                    );
                    stage = if elapsed >= deadline { 4 } else { stage.min(1) };
                }
                now >= at
            }
            None => false,
        };
        if stage == track.stage && !retry {
            continue;
        }
        track.stage = stage;
        track.complete = stage == 3;
        let snapshot = track.clone();
        let failure = failure.map(|f| f.pods);
        let refused = step(ctl, store, &d, &snapshot, failure);
        if let Some(track) = ctl.tracks.get_mut(&key) {
            match (refused, track.blocked) {
                (Some(_), Some((_, backoff))) => {
                    let next = (backoff * 2).min(Duration::from_secs(1));
                    track.blocked = Some((now + next, next));
                }
                (Some(_), None) => {
                    let first = Duration::from_millis(50);
                    track.blocked = Some((now + first, first));
                    track.complete = false;
                }
                (None, Some(_)) => {
                    // Every Pod exists now: the rollout goes on from there.
                    track.blocked = None;
                    track.since = now.checked_sub(dur / 5).unwrap_or(now);
                    track.stage = 1;
                    track.complete = false;
                }
                (None, None) => {}
            }
        }
    }
    ctl.tracks.retain(|k, _| live_keys.contains(k));
    collect_garbage(store);
    kubelet(ctl, store, now);
    namespace_controller(ctl, store, now);
}

/// The kubelet's part of a graceful Pod deletion: once it has "stopped"
/// the containers (after `pod_termination_delay`, not the grace period) it
/// deletes the Pod with grace period 0, which removes it unless
/// finalizers remain.
fn kubelet(ctl: &mut Controllers, store: &mut Store, now: Instant) {
    let terminating: Vec<Value> = store
        .list(pods(), None)
        .into_iter()
        .filter(|p| is_terminating(p) && !grace_elapsed(p))
        .cloned()
        .collect();
    let mut seen = Vec::new();
    for mut p in terminating {
        let uid = meta_str(&p, "uid").to_string();
        let since = *ctl.terminating_pods.entry(uid.clone()).or_insert(now);
        seen.push(uid);
        if now.duration_since(since) < ctl.pod_termination_delay {
            continue;
        }
        let (ns, name) = (
            meta_str(&p, "namespace").to_string(),
            meta_str(&p, "name").to_string(),
        );
        if finalizers(&p).is_empty() {
            store.remove(pods(), &ns, &name);
        } else {
            p["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            store.put(pods(), p);
        }
    }
    ctl.terminating_pods.retain(|k, _| seen.contains(k));
}

/// The namespace controller: a Terminating namespace is emptied after
/// `namespace_termination_delay`, and removed once nothing is left in it.
fn namespace_controller(ctl: &mut Controllers, store: &mut Store, now: Instant) {
    let terminating: Vec<(String, String)> = store
        .list(known("", "namespaces"), None)
        .into_iter()
        .filter(|n| is_terminating(n))
        .map(|n| {
            (
                meta_str(n, "uid").to_string(),
                meta_str(n, "name").to_string(),
            )
        })
        .collect();
    let mut seen = Vec::new();
    for (uid, name) in terminating {
        let since = *ctl.terminating_namespaces.entry(uid.clone()).or_insert(now);
        seen.push(uid);
        if now.duration_since(since) >= ctl.namespace_termination_delay {
            ops::finalize_namespace(store, &name);
        }
    }
    ctl.terminating_namespaces.retain(|k, _| seen.contains(k));
}

/// Bring the ReplicaSets, Pods, Events and the Deployment's status to `track.stage`.
fn step(
    ctl: &mut Controllers,
    store: &mut Store,
    d: &Value,
    track: &Track,
    failure: Option<PodFailure>,
) -> Option<String> {
    let ns = meta_str(d, "namespace").to_string();
    let name = meta_str(d, "name").to_string();
    let n = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let rs_name = format!("{name}-{}", track.hash);
    let stamp = now_rfc3339();

    // The new ReplicaSet (created or found) and its revision.
    let existing_rs = store.get(replicasets(), &ns, &rs_name).cloned();
    let created_rs = existing_rs.is_none();
    let max_rev = store
        .list(replicasets(), Some(&ns))
        .iter()
        .filter(|rs| owned_by(rs, meta_str(d, "uid")))
        .filter_map(|rs| {
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    let revision = match &existing_rs {
        Some(rs)
            if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()
                .and_then(|r| r.parse::<u64>().ok())
                == Some(max_rev)
                && max_rev > 0 =>
        {
            max_rev
        }
        _ => max_rev + 1,
    };
    let template = &d["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["pod-template-hash"] = json!(track.hash);
    let mut rs = existing_rs.unwrap_or_else(|| {
        let mut selector = d["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(track.hash);
        let mut tmpl = template.clone();
        tmpl["metadata"]["labels"] = labels.clone();
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "uid": new_uid(), "generation": 1,
                "creationTimestamp": stamp, "labels": labels.clone(),
                "annotations": {},
                "ownerReferences": [owner_ref("apps/v1", "Deployment", d)]},
            "spec": {"replicas": n, "selector": selector, "template": tmpl},
            "status": {}})
    });
    let old_rs_replicas = if created_rs {
        0
    } else {
        rs["spec"]["replicas"].as_i64().unwrap_or(0)
    };
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
        json!(revision.to_string());
    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
        json!(n.to_string());
    rs["spec"]["replicas"] = json!(n);

    // The new pods: as many as wanted, ready according to the stage.
    let mut new_pods: Vec<Value> = pods_of(store, &ns, meta_str(&rs, "uid"));
    while new_pods.len() as i64 > n {
        if let Some(p) = new_pods.pop() {
            store.remove(pods(), &ns, meta_str(&p, "name"));
        }
    }
    let ready_target = match (track.stage, failure) {
        (_, Some(_)) => 0,
        (3, None) => n,
        (2, None) => (n + 1) / 2,
        _ => 0,
    };
    let mut fresh = Vec::new();
    let mut refused = None;
    while (new_pods.len() as i64) < n {
        let pod_name = format!("{rs_name}-{}", suffix5());
        let mut spec = template["spec"].clone();
        if !spec.is_object() {
            spec = json!({});
        }
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "generateName": format!("{rs_name}-"), "namespace": ns,
                "uid": new_uid(), "creationTimestamp": stamp, "labels": labels.clone(),
                "annotations": template["metadata"]["annotations"].clone(),
                "ownerReferences": [owner_ref("apps/v1", "ReplicaSet", &rs)]},
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"}});
        // The create goes through admission like any other (see `admission`).
        if let Err(e) = super::admission::admit_create(store, pods(), &ns, &pod) {
            super::admission::record_failed_create(store, &rs, &e.message);
            refused = Some(e.message);
            break;
        }
        fresh.push(pod_name);
        new_pods.push(pod);
    }
    let containers: Vec<(String, String)> = template["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_string(),
                        c["image"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ready_count = 0;
    for (i, pod) in new_pods.iter_mut().enumerate() {
        let want_ready = (i as i64) < ready_target;
        let was_ready = pod["status"]["phase"] == "Running";
        if want_ready && !was_ready {
            let ip = ctl.pod_ip();
            pod["spec"]["nodeName"] = json!(NODE);
            pod["status"] = running_status(&containers, &ip, &stamp);
        } else if !want_ready && failure.is_some() && pod["status"]["conditions"].is_null() {
            pod_failure_status(pod, &containers, failure, &stamp);
        }
        if want_ready {
            ready_count += 1;
        }
        store.put(pods(), pod.clone());
    }
    // Events: the deployment controller scaling the new ReplicaSet up.
    if created_rs || old_rs_replicas != n {
        record_event(
            store,
            d,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled up replica set {rs_name} from {old_rs_replicas} to {n}"),
            "deployment-controller",
            None,
        );
    }
    for p in &fresh {
        record_event(
            store,
            &rs,
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {p}"),
            "replicaset-controller",
            None,
        );
    }
    if let Some(f) = failure {
        for p in new_pods
            .iter()
            .filter(|p| fresh.iter().any(|f| f == meta_str(p, "name")))
        {
            pod_failure_events(store, p, &containers, f);
        }
    }

    // Old ReplicaSets: still serving until the new one is complete.
    let mut old_available = 0;
    let old_sets: Vec<Value> = store
        .list(replicasets(), Some(&ns))
        .into_iter()
        .filter(|o| owned_by(o, meta_str(d, "uid")) && meta_str(o, "name") != rs_name)
        .cloned()
        .collect();
    for mut old in old_sets {
        let old_pods = pods_of(store, &ns, meta_str(&old, "uid"));
        if track.stage == 3 {
            for p in &old_pods {
                store.remove(pods(), &ns, meta_str(p, "name"));
            }
            if old["spec"]["replicas"].as_i64().unwrap_or(0) != 0 {
                old["spec"]["replicas"] = json!(0);
                old["status"] =
                    json!({"observedGeneration": old["metadata"]["generation"], "replicas": 0});
                record_event(
                    store,
                    d,
                    "Normal",
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled down replica set {} from {} to 0",
                        meta_str(&old, "name"),
                        old_pods.len()
                    ),
                    "deployment-controller",
                    None,
                );
                store.put(replicasets(), old);
            }
        } else {
            old_available += old_pods
                .iter()
                .filter(|p| p["status"]["phase"] == "Running")
                .count() as i64;
        }
    }
    // Keep at most revisionHistoryLimit old (scaled-down) ReplicaSets.
    let limit = d["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10)
        .max(0) as usize;
    let mut idle: Vec<(u64, String)> = store
        .list(replicasets(), Some(&ns))
        .into_iter()
        .filter(|o| {
            owned_by(o, meta_str(d, "uid"))
                && meta_str(o, "name") != rs_name
                && o["spec"]["replicas"].as_i64() == Some(0)
        })
        .map(|o| {
            (
                o["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0),
                meta_str(o, "name").to_string(),
            )
        })
        .collect();
    idle.sort();
    while idle.len() > limit {
        let (_, n) = idle.remove(0);
        store.remove(replicasets(), &ns, &n);
    }

    let mut rs_status = json!({"observedGeneration": rs["metadata"]["generation"], "replicas": n});
    if n > 0 {
        rs_status["fullyLabeledReplicas"] = json!(n);
    }
    if ready_count > 0 {
        rs_status["readyReplicas"] = json!(ready_count);
        rs_status["availableReplicas"] = json!(ready_count);
    }
    let failure_cond = refused.as_ref().map(|m| {
        json!({"type": "ReplicaFailure", "status": "True", "lastTransitionTime": stamp,
               "reason": "FailedCreate", "message": m})
    });
    if let Some(c) = &failure_cond {
        rs_status["replicas"] = json!(new_pods.len());
        rs_status["fullyLabeledReplicas"] = json!(new_pods.len());
        rs_status["conditions"] = json!([c]);
    }
    rs["status"] = rs_status;
    store.put(replicasets(), rs);

    // The Deployment's status.
    let Some(mut current) = store.get(deployments(), &ns, &name).cloned() else {
        return refused;
    };
    if current["metadata"]["generation"] != d["metadata"]["generation"] {
        return refused; // written again meanwhile: the next tick starts over
    }
    let available = ready_count + old_available;
    // Fewer than n when admission refused some (n otherwise).
    let created = new_pods.len() as i64;
    let total = created + old_available;
    let mut status = json!({"observedGeneration": d["metadata"]["generation"]});
    let mut counts = vec![
        ("replicas", total),
        ("updatedReplicas", created),
        ("readyReplicas", available),
        ("availableReplicas", available),
        ("unavailableReplicas", (n - available).max(0)),
    ];
    counts.retain(|(_, v)| *v > 0);
    for (k, v) in counts {
        status[k] = json!(v);
    }
    let is_available = available >= n - max_unavailable(d, n);
    let old_status = &current["status"];
    let (p_status, p_reason, p_message) = match track.stage {
        3 => (
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        ),
        4 => (
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
        ),
        2 => (
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
        ),
        _ if created_rs => (
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{rs_name}\""),
        ),
        // A retry after refused creates: no progress, the condition stays
        // (the real controller sets FoundNewReplicaSet only when there is none).
        _ if kept_progressing(old_status, track).is_some() => {
            kept_progressing(old_status, track).unwrap_or_default()
        }
        _ => (
            "True",
            "FoundNewReplicaSet",
            format!("Found new replica set \"{rs_name}\""),
        ),
    };
    let (a_status, a_reason, a_message) = if is_available {
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    status["conditions"] = json!([
        condition(
            old_status,
            "Available",
            a_status,
            a_reason,
            a_message,
            &stamp
        ),
        condition(
            old_status,
            "Progressing",
            p_status,
            p_reason,
            &p_message,
            &stamp
        ),
    ]);
    if let (Some(c), Some(cs)) = (failure_cond, status["conditions"].as_array_mut()) {
        // The deployment controller copies the ReplicaSet's ReplicaFailure.
        cs.push(c);
    }
    current["status"] = status;
    current["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
        json!(revision.to_string());
    store.put(deployments(), current);
    refused
}

/// The Progressing condition to keep while a blocked rollout retries.
fn kept_progressing(
    old_status: &Value,
    track: &Track,
) -> Option<(&'static str, &'static str, String)> {
    track.blocked?;
    let c = old_status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Progressing" && c["status"] == "True")?;
    let reason = match c["reason"].as_str()? {
        "NewReplicaSetCreated" => "NewReplicaSetCreated",
        "FoundNewReplicaSet" => "FoundNewReplicaSet",
        _ => return None,
    };
    Some(("True", reason, c["message"].as_str()?.to_string()))
}

/// A condition, keeping `lastTransitionTime` while its status stays and
/// `lastUpdateTime` while nothing about it changes.
fn condition(
    old_status: &Value,
    ty: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let old = old_status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty));
    let transition = match old {
        Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match old {
        Some(o) if o["status"] == status && o["reason"] == reason && o["message"] == message => {
            o["lastUpdateTime"].clone()
        }
        _ => json!(now),
    };
    json!({"type": ty, "status": status, "lastUpdateTime": update,
           "lastTransitionTime": transition, "reason": reason, "message": message})
}

fn owner_ref(api_version: &str, kind: &str, owner: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta_str(owner, "name"),
           "uid": meta_str(owner, "uid"), "controller": true, "blockOwnerDeletion": true})
}

fn owned_by(obj: &Value, uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

fn pods_of(store: &Store, ns: &str, rs_uid: &str) -> Vec<Value> {
    store
        .list(pods(), Some(ns))
        .into_iter()
        .filter(|p| owned_by(p, rs_uid))
        .cloned()
        .collect()
}

fn running_status(containers: &[(String, String)], ip: &str, now: &str) -> Value {
    let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let statuses: Vec<Value> = containers
        .iter()
        .map(|(name, image)| {
            json!({"name": name, "image": image, "imageID": format!("{image}@sha256:{}", "0".repeat(64)),
                   "containerID": format!("containerd://{}{}", hex16(), hex16()),
                   "ready": true, "started": true, "restartCount": 0,
                   "state": {"running": {"startedAt": now}}})
        })
        .collect();
    json!({"phase": "Running",
           "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"),
                          cond("ContainersReady"), cond("PodScheduled")],
           "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
           "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
           "containerStatuses": statuses, "qosClass": "BestEffort"})
}

const UNSCHEDULABLE_MSG: &str = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";

fn pod_failure_status(
    pod: &mut Value,
    containers: &[(String, String)],
    failure: Option<PodFailure>,
    now: &str,
) {
    match failure {
        Some(PodFailure::Unschedulable) => {
            pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": now, "reason": "Unschedulable", "message": UNSCHEDULABLE_MSG}]});
        }
        Some(PodFailure::ImagePull) => {
            pod["spec"]["nodeName"] = json!(NODE);
            let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
            let unready = format!("containers with unready status: [{}]", names.join(" "));
            let t = |ty: &str| json!({"type": ty, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
            let f = |ty: &str| {
                json!({"type": ty, "status": "False", "lastProbeTime": null, "lastTransitionTime": now,
                                      "reason": "ContainersNotReady", "message": unready})
            };
            let statuses: Vec<Value> = containers
                .iter()
                .map(|(name, image)| {
                    json!({"name": name, "image": image, "imageID": "", "ready": false, "started": false,
                           "restartCount": 0,
                           "state": {"waiting": {"reason": "ImagePullBackOff",
                                                 "message": format!("Back-off pulling image \"{image}\"")}}})
                })
                .collect();
            pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort",
                "conditions": [t("PodReadyToStartContainers"), t("Initialized"), f("Ready"),
                               f("ContainersReady"), t("PodScheduled")],
                "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}], "startTime": now,
                "containerStatuses": statuses});
        }
        None => {}
    }
}

fn pod_failure_events(
    store: &mut Store,
    pod: &Value,
    containers: &[(String, String)],
    f: PodFailure,
) {
    match f {
        PodFailure::Unschedulable => record_event(
            store,
            pod,
            "Warning",
            "FailedScheduling",
            UNSCHEDULABLE_MSG,
            "default-scheduler",
            None,
        ),
        PodFailure::ImagePull => {
            record_event(
                store,
                pod,
                "Normal",
                "Scheduled",
                &format!(
                    "Successfully assigned {}/{} to {NODE}",
                    meta_str(pod, "namespace"),
                    meta_str(pod, "name")
                ),
                "default-scheduler",
                None,
            );
            for (name, image) in containers {
                let fp = format!("spec.containers{{{name}}}");
                let repo = image.split(['@', ':']).next().unwrap_or(image);
                for (ty, reason, msg) in [
                    ("Normal", "Pulling", format!("Pulling image \"{image}\"")),
                    ("Warning", "Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {repo}: not found")),
                    ("Warning", "Failed", "Error: ErrImagePull".to_string()),
                    ("Normal", "BackOff", format!("Back-off pulling image \"{image}\"")),
                    ("Warning", "Failed", "Error: ImagePullBackOff".to_string()),
                ] {
                    record_event(store, pod, ty, reason, &msg, "kubelet", Some(&fp));
                }
            }
        }
    }
}

/// Record an Event about `obj` in both core/v1 and events.k8s.io/v1 form.
pub(crate) fn record_event(
    store: &mut Store,
    obj: &Value,
    ty: &str,
    reason: &str,
    message: &str,
    component: &str,
    field_path: Option<&str>,
) {
    let ns = meta_str(obj, "namespace").to_string();
    let now = now_rfc3339();
    let name = format!("{}.{}", meta_str(obj, "name"), hex16());
    let mut involved = json!({"kind": obj["kind"], "namespace": ns, "name": meta_str(obj, "name"),
        "uid": meta_str(obj, "uid"), "apiVersion": obj["apiVersion"],
        "resourceVersion": meta_str(obj, "resourceVersion")});
    if let Some(fp) = field_path {
        involved["fieldPath"] = json!(fp);
    }
    let mut source = json!({"component": component});
    let instance = if component == "kubelet" {
        source["host"] = json!(NODE);
        NODE.to_string()
    } else {
        format!("{component}-fake-control-plane")
    };
    let uid = new_uid();
    let core = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": now},
        "involvedObject": involved, "reason": reason, "message": message, "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": ty, "eventTime": null,
        "reportingComponent": component, "reportingInstance": instance});
    store.put(known("", "events"), core);
    let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": now},
        "eventTime": null, "reportingController": component, "reportingInstance": instance,
        "regarding": involved, "reason": reason, "note": message, "type": ty,
        "deprecatedSource": source, "deprecatedFirstTimestamp": now,
        "deprecatedLastTimestamp": now, "deprecatedCount": 1});
    store.put(known("events.k8s.io", "events"), v1);
}

/// What an ownerReference points at, as the garbage collector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnerState {
    /// Exists and is not being deleted in the foreground (or its kind is
    /// not served, so it cannot be looked up: the real GC keeps retrying,
    /// i.e. never deletes the dependent).
    Solid,
    /// No object of that kind, name and uid.
    Dangling,
    /// Being deleted with the `foregroundDeletion` finalizer.
    Waiting,
}

fn owner_state(store: &Store, dependent_ns: &str, r: &Value) -> OwnerState {
    let api_version = r["apiVersion"].as_str().unwrap_or("");
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let kind = r["kind"].as_str().unwrap_or("");
    let Some(rt) = RESOURCES
        .iter()
        .find(|t| t.group == group && t.kind == kind)
    else {
        return OwnerState::Solid;
    };
    let ns = if rt.namespaced { dependent_ns } else { "" };
    match store.get(rt, ns, r["name"].as_str().unwrap_or("")) {
        None => OwnerState::Dangling,
        Some(o) if o["metadata"]["uid"] != r["uid"] => OwnerState::Dangling,
        Some(o) if is_terminating(o) && finalizers(o).iter().any(|f| f == FOREGROUND_FINALIZER) => {
            OwnerState::Waiting
        }
        Some(_) => OwnerState::Solid,
    }
}

fn owner_refs(obj: &Value) -> &[Value] {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The objects with an ownerReference to `owner` (same namespace, or any
/// namespace for a cluster-scoped owner).
fn dependents(
    store: &Store,
    owner_rt: &ResourceType,
    owner: &Value,
) -> Vec<(&'static ResourceType, Value)> {
    let uid = meta_str(owner, "uid");
    let ns = meta_str(owner, "namespace");
    store
        .entries()
        .filter(|(_, _, o)| !owner_rt.namespaced || meta_str(o, "namespace") == ns)
        .filter(|(_, _, o)| owner_refs(o).iter().any(|r| r["uid"] == uid))
        .filter_map(|(g, p, o)| Some((lookup(g, "v1", p)?, o.clone())))
        .collect()
}

fn has_dependents(store: &Store, rt: &ResourceType, obj: &Value) -> bool {
    let uid = meta_str(obj, "uid");
    let ns = meta_str(obj, "namespace");
    store.entries().any(|(_, _, o)| {
        (!rt.namespaced || meta_str(o, "namespace") == ns)
            && owner_refs(o).iter().any(|r| r["uid"] == uid)
    })
}

/// Drop `finalizer` from the stored `obj`; an object being deleted whose
/// last finalizer goes (and no grace period pending) is removed.
fn remove_finalizer(store: &mut Store, rt: &'static ResourceType, obj: &Value, finalizer: &str) {
    let (ns, name) = (meta_str(obj, "namespace"), meta_str(obj, "name"));
    let Some(mut cur) = store.get(rt, ns, name).cloned() else {
        return;
    };
    if cur["metadata"]["uid"] != obj["metadata"]["uid"] {
        return;
    }
    let fins: Vec<String> = finalizers(&cur)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    let (ns, name) = (ns.to_string(), name.to_string());
    if fins.is_empty() && is_terminating(&cur) && grace_elapsed(&cur) {
        store.remove(rt, &ns, &name);
    } else {
        set_finalizers(&mut cur, &fins);
        store.put(rt, cur);
    }
}

/// Remove the ownerReferences of `obj` for which `drop` is true.
fn strip_owner_refs(
    store: &mut Store,
    rt: &'static ResourceType,
    obj: &Value,
    drop: impl Fn(&Value) -> bool,
) {
    let mut o = obj.clone();
    let kept: Vec<Value> = owner_refs(obj)
        .iter()
        .filter(|r| !drop(r))
        .cloned()
        .collect();
    if kept.is_empty() {
        if let Some(m) = o["metadata"].as_object_mut() {
            m.shift_remove("ownerReferences");
        }
    } else {
        o["metadata"]["ownerReferences"] = json!(kept);
    }
    store.put(rt, o);
}

/// The garbage collector (kube-controller-manager's
/// pkg/controller/garbagecollector), one pass over every object:
///
/// - an owner being deleted with the `orphan` finalizer: its dependents
///   lose their ownerReferences to it, then the finalizer goes;
/// - an owner being deleted with `foregroundDeletion`: the finalizer goes
///   once no dependent with `blockOwnerDeletion: true` is left;
/// - a dependent with no solid owner left is deleted: in the foreground if
///   an owner waits for it and it has dependents itself, else with the
///   policy its own finalizers say (background by default); one with a
///   solid owner only loses its references to dangling or waiting owners.
fn collect_garbage(store: &mut Store) {
    let deleting: Vec<(&'static ResourceType, Value)> = store
        .entries()
        .filter(|(_, _, o)| is_terminating(o))
        .filter(|(_, _, o)| {
            finalizers(o)
                .iter()
                .any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER)
        })
        .filter_map(|(g, p, o)| Some((lookup(g, "v1", p)?, o.clone())))
        .collect();
    for (rt, owner) in deleting {
        let uid = meta_str(&owner, "uid").to_string();
        let deps = dependents(store, rt, &owner);
        let fins = finalizers(&owner);
        if fins.iter().any(|f| f == ORPHAN_FINALIZER) {
            for (drt, d) in deps {
                strip_owner_refs(store, drt, &d, |r| r["uid"] == uid.as_str());
            }
            remove_finalizer(store, rt, &owner, ORPHAN_FINALIZER);
        } else {
            let blocked = deps.iter().any(|(_, d)| {
                owner_refs(d)
                    .iter()
                    .any(|r| r["uid"] == uid.as_str() && r["blockOwnerDeletion"] == true)
            });
            if !blocked {
                remove_finalizer(store, rt, &owner, FOREGROUND_FINALIZER);
            }
        }
    }

    let items: Vec<(&'static ResourceType, Value)> = store
        .entries()
        .filter(|(_, _, o)| !is_terminating(o) && !owner_refs(o).is_empty())
        .filter_map(|(g, p, o)| Some((lookup(g, "v1", p)?, o.clone())))
        .collect();
    for (rt, item) in items {
        let ns = meta_str(&item, "namespace").to_string();
        let name = meta_str(&item, "name").to_string();
        // Earlier deletions in this pass may have changed it.
        let Some(item) = store.get(rt, &ns, &name).cloned() else {
            continue;
        };
        if is_terminating(&item) || item["metadata"]["uid"].is_null() {
            continue;
        }
        let states: Vec<(Value, OwnerState)> = owner_refs(&item)
            .iter()
            .map(|r| (r.clone(), owner_state(store, &ns, r)))
            .collect();
        let solid = states.iter().any(|(_, s)| *s == OwnerState::Solid);
        let waiting = states.iter().any(|(_, s)| *s == OwnerState::Waiting);
        if solid {
            if states.iter().any(|(_, s)| *s != OwnerState::Solid) {
                let gone: Vec<Value> = states
                    .iter()
                    .filter(|(_, s)| *s != OwnerState::Solid)
                    .map(|(r, _)| r["uid"].clone())
                    .collect();
                strip_owner_refs(store, rt, &item, |r| gone.contains(&r["uid"]));
            }
            continue;
        }
        let policy = if waiting && has_dependents(store, rt, &item) {
            Propagation::Foreground
        } else {
            let fins = finalizers(&item);
            match fins
                .iter()
                .find(|f| *f == ORPHAN_FINALIZER || *f == FOREGROUND_FINALIZER)
                .map(String::as_str)
            {
                Some(ORPHAN_FINALIZER) => Propagation::Orphan,
                Some(_) => Propagation::Foreground,
                None => Propagation::Background,
            }
        };
        let ctx = ops::Ctx {
            rt,
            namespace: if rt.namespaced { Some(&ns) } else { None },
            manager: "generic-garbage-collector",
            dry_run: false,
        };
        let opts = ops::DeleteOptions {
            uid: Some(meta_str(&item, "uid").to_string()),
            ..ops::DeleteOptions::with_propagation(policy)
        };
        let _ = ops::delete(store, &ctx, &name, &opts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(store: &mut Store, replicas: i64, image: &str) -> Value {
        let ctx = ops::Ctx {
            rt: deployments(),
            namespace: Some("default"),
            manager: "test",
            dry_run: false,
        };
        let body = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}});
        let b = serde_json::to_vec(&body).expect("json");
        ops::patch(store, &ctx, "web", ops::PatchKind::Apply, &b, true)
            .expect("apply")
            .0
    }

    fn run_until(ctl: &mut Controllers, store: &mut Store, t: Duration) {
        let end = Instant::now() + t;
        while Instant::now() < end {
            tick(ctl, store);
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn get(store: &Store) -> Value {
        store
            .get(deployments(), "default", "web")
            .cloned()
            .expect("d")
    }

    #[test]
    fn rollout_moves_through_the_states_and_replaces_old_pods() {
        let mut store = Store::new();
        ops::bootstrap(&mut store);
        let mut ctl = Controllers::new(Duration::from_millis(200));
        let d = deployment(&mut store, 2, "img:1");
        assert_eq!(
            d["status"],
            json!({}),
            "nothing observed in the write answer"
        );
        tick(&mut ctl, &mut store);
        assert!(get(&store)["status"]["observedGeneration"].is_null());
        run_until(&mut ctl, &mut store, Duration::from_millis(60));
        let s = get(&store)["status"].clone();
        assert_eq!(s["observedGeneration"], 1, "{s}");
        assert_eq!(s["updatedReplicas"], 2);
        assert!(s["availableReplicas"].is_null(), "{s}");
        assert_eq!(s["conditions"][1]["reason"], "NewReplicaSetCreated");
        assert_eq!(s["conditions"][0]["status"], "False");
        let rs = format!("web-{}", template_hash(&get(&store)["spec"]["template"]));
        assert_eq!(store.list(pods(), Some("default")).len(), 2);
        run_until(&mut ctl, &mut store, Duration::from_millis(200));
        let s = get(&store)["status"].clone();
        assert_eq!(s["availableReplicas"], 2, "{s}");
        assert_eq!(s["conditions"][1]["reason"], "NewReplicaSetAvailable");
        assert_eq!(
            s["conditions"][1]["message"],
            format!("ReplicaSet \"{rs}\" has successfully progressed.")
        );
        assert_eq!(
            get(&store)["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );

        // An image change: old pods keep serving until the new ones are ready.
        deployment(&mut store, 2, "img:2");
        run_until(&mut ctl, &mut store, Duration::from_millis(60));
        let s = get(&store)["status"].clone();
        assert_eq!(s["observedGeneration"], 2, "{s}");
        assert_eq!(
            (s["replicas"].as_i64(), s["updatedReplicas"].as_i64()),
            (Some(4), Some(2))
        );
        assert_eq!(s["availableReplicas"], 2, "the old pods");
        assert_eq!(store.list(pods(), Some("default")).len(), 4);
        run_until(&mut ctl, &mut store, Duration::from_millis(220));
        let s = get(&store)["status"].clone();
        assert_eq!(s["replicas"], 2, "{s}");
        assert_eq!(store.list(pods(), Some("default")).len(), 2);
        assert_eq!(
            get(&store)["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "2"
        );
        assert_eq!(
            store.list(replicasets(), Some("default")).len(),
            2,
            "old RS kept at 0"
        );

        // Deleted: ReplicaSets and Pods are collected (the Pods, on a
        // node, gracefully: the kubelet removes them).
        ctl.pod_termination_delay = Duration::ZERO;
        store.remove(deployments(), "default", "web");
        tick(&mut ctl, &mut store);
        tick(&mut ctl, &mut store);
        tick(&mut ctl, &mut store);
        assert!(store.list(replicasets(), Some("default")).is_empty());
        assert!(store.list(pods(), Some("default")).is_empty());
    }

    fn dctx() -> ops::Ctx<'static> {
        ops::Ctx {
            rt: deployments(),
            namespace: Some("default"),
            manager: "test",
            dry_run: false,
        }
    }

    fn rolled_out(replicas: i64) -> (Controllers, Store) {
        let mut store = Store::new();
        ops::bootstrap(&mut store);
        let mut ctl = Controllers::new(Duration::from_millis(60));
        ctl.pod_termination_delay = Duration::from_millis(150);
        deployment(&mut store, replicas, "img:1");
        run_until(&mut ctl, &mut store, Duration::from_millis(120));
        assert_eq!(get(&store)["status"]["availableReplicas"], replicas);
        (ctl, store)
    }

    #[test]
    fn controllers_own_what_they_make_with_blocking_controller_refs() {
        let (_, store) = rolled_out(1);
        let rs = store.list(replicasets(), Some("default"))[0].clone();
        let r = &rs["metadata"]["ownerReferences"][0];
        assert_eq!(
            (
                r["kind"].as_str(),
                r["controller"].as_bool(),
                r["blockOwnerDeletion"].as_bool()
            ),
            (Some("Deployment"), Some(true), Some(true))
        );
        let pod = store.list(pods(), Some("default"))[0].clone();
        let r = &pod["metadata"]["ownerReferences"][0];
        assert_eq!(
            (r["kind"].as_str(), r["uid"].as_str()),
            (Some("ReplicaSet"), Some(meta_str(&rs, "uid")))
        );
        assert_eq!(r["blockOwnerDeletion"], true);
    }

    #[test]
    fn foreground_deletion_waits_for_replicasets_and_terminating_pods() {
        let (mut ctl, mut store) = rolled_out(2);
        let d = ops::delete(
            &mut store,
            &dctx(),
            "web",
            &ops::DeleteOptions::with_propagation(Propagation::Foreground),
        )
        .expect("delete");
        assert!(!d.removed);
        run_until(&mut ctl, &mut store, Duration::from_millis(60));
        // The ReplicaSet is deleted in the foreground too (it has
        // dependents); its pods are Terminating, so everything stays.
        let dep = get(&store);
        assert_eq!(dep["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        let rs = store.list(replicasets(), Some("default"));
        assert_eq!(rs.len(), 1);
        assert_eq!(
            rs[0]["metadata"]["finalizers"],
            json!(["foregroundDeletion"])
        );
        assert!(is_terminating(rs[0]));
        let ps = store.list(pods(), Some("default"));
        assert_eq!(ps.len(), 2);
        assert!(ps
            .iter()
            .all(|p| is_terminating(p) && p["metadata"]["deletionGracePeriodSeconds"] == 30));
        run_until(&mut ctl, &mut store, Duration::from_millis(200));
        assert!(store.list(pods(), Some("default")).is_empty());
        assert!(store.list(replicasets(), Some("default")).is_empty());
        assert!(store.get(deployments(), "default", "web").is_none());
    }

    #[test]
    fn orphan_deletion_strips_owner_references_and_background_collects() {
        let (mut ctl, mut store) = rolled_out(1);
        ops::delete(
            &mut store,
            &dctx(),
            "web",
            &ops::DeleteOptions::with_propagation(Propagation::Orphan),
        )
        .expect("delete");
        tick(&mut ctl, &mut store);
        assert!(store.get(deployments(), "default", "web").is_none());
        let rs = store.list(replicasets(), Some("default"))[0].clone();
        assert!(rs["metadata"]["ownerReferences"].is_null(), "{rs}");
        run_until(&mut ctl, &mut store, Duration::from_millis(50));
        assert_eq!(
            store.list(pods(), Some("default")).len(),
            1,
            "still owned by the ReplicaSet"
        );

        // Background: the owner goes at once, its dependents on the next passes.
        let rs_ctx = ops::Ctx {
            rt: replicasets(),
            ..dctx()
        };
        let d = ops::delete(
            &mut store,
            &rs_ctx,
            meta_str(&rs, "name"),
            &ops::DeleteOptions::default(),
        )
        .expect("delete rs");
        assert!(d.removed);
        tick(&mut ctl, &mut store);
        assert!(is_terminating(store.list(pods(), Some("default"))[0]));
        run_until(&mut ctl, &mut store, Duration::from_millis(200));
        assert!(store.list(pods(), Some("default")).is_empty());
    }

    #[test]
    fn a_finalizer_on_a_pod_outlasts_the_kubelet() {
        let (mut ctl, mut store) = rolled_out(1);
        let mut pod = store.list(pods(), Some("default"))[0].clone();
        pod["metadata"]["finalizers"] = json!(["example.com/hold"]);
        store.put(pods(), pod.clone());
        store.remove(deployments(), "default", "web");
        run_until(&mut ctl, &mut store, Duration::from_millis(250));
        let p = store
            .get(pods(), "default", meta_str(&pod, "name"))
            .expect("held")
            .clone();
        assert_eq!(
            p["metadata"]["deletionGracePeriodSeconds"], 0,
            "the kubelet is done"
        );
        let pctx = ops::Ctx {
            rt: pods(),
            ..dctx()
        };
        ops::patch(
            &mut store,
            &pctx,
            meta_str(&pod, "name"),
            ops::PatchKind::Merge,
            br#"{"metadata":{"finalizers":[]}}"#,
            false,
        )
        .expect("patch");
        assert!(store.list(pods(), Some("default")).is_empty());
    }

    #[test]
    fn pods_refused_by_a_webhook_are_retried_until_it_is_reachable() {
        let mut store = Store::new();
        ops::bootstrap(&mut store);
        let mut ctl = Controllers::new(Duration::from_millis(100));
        let ctx = |plural| ops::Ctx {
            rt: known(
                if plural == "services" {
                    ""
                } else {
                    "admissionregistration.k8s.io"
                },
                plural,
            ),
            namespace: (plural == "services").then_some("default"),
            manager: "test",
            dry_run: false,
        };
        let mwc = json!({"metadata": {"name": "w"}, "webhooks": [{"name": "w.example.com",
            "clientConfig": {"service": {"namespace": "default", "name": "hook"}},
            "objectSelector": {"matchLabels": {"app": "web"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["pods"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"]}]});
        ops::create(&mut store, &ctx("mutatingwebhookconfigurations"), mwc).expect("mwc");
        deployment(&mut store, 2, "img:1");
        run_until(&mut ctl, &mut store, Duration::from_millis(300));
        assert!(store.list(pods(), Some("default")).is_empty());
        let s = get(&store)["status"].clone();
        assert_eq!(s["conditions"][1]["reason"], "NewReplicaSetCreated", "{s}");
        assert_eq!(s["conditions"][2]["type"], "ReplicaFailure", "{s}");
        assert_eq!(s["conditions"][2]["reason"], "FailedCreate");
        let failed: Vec<Value> = store
            .list(known("", "events"), Some("default"))
            .into_iter()
            .filter(|e| e["reason"] == "FailedCreate")
            .cloned()
            .collect();
        assert_eq!(failed.len(), 1, "aggregated: {failed:?}");
        assert!(failed[0]["count"].as_i64() > Some(1), "retried");
        assert_eq!(failed[0]["involvedObject"]["kind"], "ReplicaSet");
        assert!(
            failed[0]["message"].as_str().is_some_and(|m| m.starts_with(
                "Error creating: Internal error occurred: failed calling webhook \"w.example.com\""
            )),
            "{}",
            failed[0]["message"]
        );

        // The Service with a Ready pod behind it (not matched by the webhook).
        let svc = json!({"metadata": {"name": "hook"},
            "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443}]}});
        ops::create(&mut store, &ctx("services"), svc).expect("svc");
        store.put(
            pods(),
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "hook-1", "namespace": "default", "labels": {"app": "hook"}},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        run_until(&mut ctl, &mut store, Duration::from_millis(1500));
        let s = get(&store)["status"].clone();
        assert_eq!(s["availableReplicas"], 2, "{s}");
        assert_eq!(s["conditions"][1]["reason"], "NewReplicaSetAvailable");
        assert!(s["conditions"].get(2).is_none(), "{s}");
    }

    #[test]
    fn failing_rollout_ends_in_progress_deadline_exceeded_with_events() {
        let mut store = Store::new();
        ops::bootstrap(&mut store);
        let mut ctl = Controllers::new(Duration::from_millis(100));
        ctl.set_failure(
            "default",
            "web",
            Some(RolloutFailure::image_pull(Duration::from_millis(150))),
        );
        deployment(&mut store, 1, "nope:1");
        run_until(&mut ctl, &mut store, Duration::from_millis(80));
        let s = get(&store)["status"].clone();
        assert_eq!(s["conditions"][1]["status"], "True", "{s}");
        assert_eq!(s["unavailableReplicas"], 1);
        run_until(&mut ctl, &mut store, Duration::from_millis(150));
        let s = get(&store)["status"].clone();
        let rs = format!("web-{}", template_hash(&get(&store)["spec"]["template"]));
        assert_eq!(
            s["conditions"][1]["reason"], "ProgressDeadlineExceeded",
            "{s}"
        );
        assert_eq!(
            s["conditions"][1]["message"],
            format!("ReplicaSet \"{rs}\" has timed out progressing.")
        );
        let reasons: Vec<String> = store
            .list(known("", "events"), Some("default"))
            .iter()
            .filter(|e| e["involvedObject"]["kind"] == "Pod")
            .map(|e| e["reason"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(reasons.contains(&"BackOff".to_string()), "{reasons:?}");
        let pod = store.list(pods(), Some("default"))[0].clone();
        assert_eq!(
            pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ImagePullBackOff"
        );
    }
}
