//! Pure logic for the pod identity webhook: its TLS (a CA and a serving
//! certificate the provider makes and renews), what the webhook injects
//! into pods for the flags it is started with, the Kubernetes objects of
//! `irsa_webhook` and when a rollout is done. No I/O.

pub mod inject;
pub mod manifests;
pub mod rollout;
pub mod tls;
