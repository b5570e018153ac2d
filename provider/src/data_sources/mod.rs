//! Data sources, one file each.

pub mod issuer_check;
pub mod jwks;
pub mod trust_policy;
