
pub mod harness;
pub mod plugin_client;
pub mod fake_apiserver;
pub mod sandbox;
