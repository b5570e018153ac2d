//! Managed resources, one folder each.

pub mod issuer_host;
pub mod oidc_issuer;
pub mod webhook;
