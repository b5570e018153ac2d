//! `?watch=true`: a chunked stream of `{"type":...,"object":...}` lines,
//! replayed from the store's event history and then live.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::{Bytes, Frame};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt as _;

use super::handlers::Body;
use super::resources::ResourceType;
use super::selectors::Selectors;
use super::status::ApiError;
use super::store::{Event, Store};

pub(crate) struct WatchSpec {
    pub rt: &'static ResourceType,
    pub namespace: Option<String>,
    pub selectors: Selectors,
    /// None or Some(0): start with the current state as ADDED events.
    pub resource_version: Option<u64>,
    /// `sendInitialEvents=true`: current state, then a BOOKMARK marking its end.
    pub send_initial_events: bool,
    pub timeout: Duration,
}

impl WatchSpec {
    fn wants(&self, ev: &Event) -> bool {
        ev.group == self.rt.group
            && ev.plural == self.rt.plural
            && self.namespace.as_deref().is_none_or(|n| n == ev.namespace)
            && self.selectors.matches(&ev.object)
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Start a watch: take the initial events and subscribe in one critical
/// section of the store (so no event falls between them), then stream.
pub(crate) fn start(store: &Store, spec: WatchSpec) -> Result<Body, ApiError> {
    let live = store.subscribe();
    let mut initial = Vec::new();
    let current = store.current_rv();
    match spec.resource_version {
        Some(rv) if rv > 0 && !spec.send_initial_events => match store.events_since(rv) {
            Ok(events) => initial.extend(
                events
                    .iter()
                    .filter(|e| spec.wants(e))
                    .map(|e| line(e.kind.as_str(), &e.object)),
            ),
            Err(oldest) => {
                // Like the real server: 200, then one ERROR event with a 410 Status.
                let status = ApiError::expired(format!(
                    "too old resource version: {rv} ({})",
                    oldest.saturating_sub(1)
                ));
                let body = line("ERROR", &status.to_status());
                return Ok(http_body_util::Full::new(body).boxed());
            }
        },
        _ => {
            for obj in store.list(spec.rt, spec.namespace.as_deref()) {
                if spec.selectors.matches(obj) {
                    initial.push(line("ADDED", obj));
                }
            }
            if spec.send_initial_events {
                let bookmark = json!({"kind": spec.rt.kind, "apiVersion": spec.rt.api_version(),
                    "metadata": {"resourceVersion": current.to_string(),
                                 "annotations": {"k8s.io/initial-events-end": "true"}}});
                initial.push(line("BOOKMARK", &bookmark));
            }
        }
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(pump(spec, initial, live, tx));
    let stream = ReceiverStream::new(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
    Ok(StreamBody::new(stream).boxed())
}

async fn pump(
    spec: WatchSpec,
    initial: Vec<Bytes>,
    mut live: broadcast::Receiver<Event>,
    tx: mpsc::Sender<Bytes>,
) {
    for l in initial {
        if tx.send(l).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return,
            _ = tx.closed() => return,
            ev = live.recv() => match ev {
                Ok(ev) if spec.wants(&ev) => {
                    if tx.send(line(ev.kind.as_str(), &ev.object)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // This watcher fell behind: tell it to re-list, as a real
                    // server does when its watch cache cannot serve it.
                    let status = ApiError::expired("watch fell behind; re-list required");
                    let _ = tx.send(line("ERROR", &status.to_status())).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
