
pub mod harness;
pub mod plugin_client;
pub mod fake_apiserver;
pub mod sandbox;
pub mod fault_proxy;
pub mod issuer_support;
