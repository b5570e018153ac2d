//! terraform-provider-irsa: IAM Roles for Service Accounts for self-managed
//! Kubernetes clusters on AWS.
//!
//! Rooms, with arrows pointing one way: the `tfplugin` crate (Terraform's
//! protocol, knows nothing of IRSA) <- `provider` (configuration, lazily built
//! clients) <- `data_sources` / `resources` / `ephemeral` / `functions` (one file or folder
//! each) -> `oidc` (pure logic, no I/O) and `kube` / `aws` (thin I/O).

pub mod aws;
pub mod data_sources;
pub mod ephemeral;
pub mod functions;
pub mod http;
pub mod kube;
pub mod oidc;
pub mod policy;
pub mod provider;
pub mod proxy;
pub mod resources;
pub mod timestamp;
pub mod webhook;

/// The provider's source address in the public registry.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/irsa/irsa";
