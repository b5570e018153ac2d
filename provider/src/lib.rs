//! terraform-provider-irsa: IAM Roles for Service Accounts for self-managed
//! Kubernetes clusters on AWS.
//!
//! Rooms, with arrows pointing one way: `plugin` (Terraform's protocol,
//! knows nothing of IRSA) <- `provider` (configuration, lazily built
//! clients) <- `data_sources` / `resources` (one file each) -> `oidc`
//! (pure logic, no I/O) and `kube` / `aws` (thin I/O).

pub mod plugin;
