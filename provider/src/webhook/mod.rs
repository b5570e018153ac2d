//! Pure logic for the pod identity webhook: its TLS (a CA and a serving
//! certificate the provider makes and renews) and what the webhook injects
//! into pods for the flags it is started with. No I/O; the `irsa_webhook`
//! resource (not built yet) turns these into Kubernetes objects.

pub mod inject;
pub mod tls;
