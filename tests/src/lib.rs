pub mod edge;
pub mod fake_apiserver;
pub mod fault_proxy;
pub mod harness;
pub mod issuer_support;
pub mod plugin_client;
pub mod sandbox;
