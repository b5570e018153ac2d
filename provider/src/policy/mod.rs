//! IAM policy documents: pure logic, no I/O.
//!
//! * [`trust`]: the trust (assume-role) policy that lets Kubernetes service
//!   accounts assume a role through an IAM OIDC provider, and a small
//!   evaluator that decides, the way IAM does, whether a token's claims
//!   satisfy such a policy.

pub mod trust;
