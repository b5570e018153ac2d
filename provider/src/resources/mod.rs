//! Managed resources, one folder each.

pub mod oidc_issuer;
pub mod webhook;
