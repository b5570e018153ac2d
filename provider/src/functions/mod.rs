//! Provider-defined functions (Terraform 1.8+, OpenTofu 1.7+), called as
//! `provider::irsa::<name>(...)`: the pure data sources as expressions, on
//! the same checks (an argument has the name of the attribute it stands
//! for, so a problem names the argument as the data source names the
//! attribute).

pub mod jwks_from_pem;
pub mod trust_policy;
