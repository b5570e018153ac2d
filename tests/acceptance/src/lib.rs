//! The acceptance crate: the Terraform harness, the local sandbox (moto and
//! the fake Kubernetes API server of the `fake-apiserver` crate, re-exported
//! here as [`fake_apiserver`]), the fault proxy, the HTTPS edge, and a
//! gRPC client that plays Terraform core. Its tests (`tests/acceptance/`)
//! test the provider; the fake's own tests live in its crate.

pub use fake_apiserver;
pub mod edge;
pub mod fault_proxy;
pub mod harness;
pub mod hashicorp_aws;
pub mod issuer_support;
pub mod plugin_client;
pub mod sandbox;
