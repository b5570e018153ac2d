//! Ephemeral resources (Terraform 1.10+): values made for one plan or
//! apply, never written to a plan or state file.

pub mod service_account_token;
