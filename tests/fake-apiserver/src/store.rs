//! The in-memory object store: objects by (group, resource, namespace,
//! name), the global resourceVersion counter, and the event history that
//! watches replay from.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use super::resources::ResourceType;

/// How many past events a watch can resume from; older resourceVersions
/// get `410 Expired`, as after an etcd compaction.
const HISTORY: usize = 10_000;

type Key = (&'static str, &'static str, String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub group: &'static str,
    pub plural: &'static str,
    pub namespace: String,
    /// The object with `kind` and `apiVersion`, as watch events carry it.
    pub object: Value,
}

pub(crate) struct Store {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Event>,
    events: broadcast::Sender<Event>,
    next_cluster_ip: u32,
}

fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
    (rt.group, rt.plural, namespace.to_string(), name.to_string())
}

pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or("")
}

impl Store {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Store {
            rv: 0,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            events,
            next_cluster_ip: 10,
        }
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(rt, namespace, name))
    }

    /// Objects of one type, in one namespace or all, ordered by namespace then name.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((g, p, ns, _), _)| {
                *g == rt.group && *p == rt.plural && namespace.is_none_or(|n| n == ns)
            })
            .map(|(_, v)| v)
            .collect()
    }

    #[cfg(test)]
    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .contains_key(&("", "namespaces", String::new(), ns.to_string()))
    }

    /// Every stored object with its (group, plural), in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &'static str, &Value)> {
        self.objects.iter().map(|((g, p, _, _), v)| (*g, *p, v))
    }

    /// Every stored object, ordered by group, resource, namespace, name.
    pub fn all(&self) -> Vec<Value> {
        self.objects.values().cloned().collect()
    }

    /// Store `obj` (create or replace), stamping the next resourceVersion.
    pub fn put(&mut self, rt: &'static ResourceType, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let ns = meta_str(&obj, "namespace").to_string();
        let k = key(rt, &ns, meta_str(&obj, "name"));
        let kind = if self.objects.contains_key(&k) {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.objects.insert(k, obj.clone());
        self.record(rt, kind, ns, obj.clone());
        obj
    }

    /// Remove an object; its DELETED event carries the deletion's
    /// resourceVersion, as the real watch does.
    pub fn remove(
        &mut self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let mut obj = self.objects.remove(&key(rt, namespace, name))?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record(rt, EventType::Deleted, namespace.to_string(), obj.clone());
        Some(obj)
    }

    fn record(
        &mut self,
        rt: &'static ResourceType,
        kind: EventType,
        namespace: String,
        object: Value,
    ) {
        let ev = Event {
            rv: self.rv,
            kind,
            group: rt.group,
            plural: rt.plural,
            namespace,
            object,
        };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(ev.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Events after `rv`, or Err(oldest resourceVersion still known) when
    /// the history no longer reaches back that far.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Event>, u64> {
        let oldest = self.history.front().map(|e| e.rv).unwrap_or(self.rv + 1);
        if rv + 1 < oldest {
            return Err(oldest);
        }
        Ok(self.history.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// The next free address in 10.96.0.0/12, the default service CIDR.
    pub fn alloc_cluster_ip(&mut self) -> String {
        let n = self.next_cluster_ip;
        self.next_cluster_ip += 1;
        format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }
}
