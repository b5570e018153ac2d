//! The parts an `irsa_webhook` is made of.

pub mod certificates;
pub mod objects;
pub mod rollout;
