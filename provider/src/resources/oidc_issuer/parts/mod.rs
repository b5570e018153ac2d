//! The parts an issuer is made of. Each module has the part's calls over a
//! pure desired state from `desired`: `observe` (what refresh reads; every
//! part's reads run at once), `create`/`reconcile` (make it, or put back
//! what drifted) and `remove`. The lifecycle (`create`, `update`,
//! `refresh`, `delete` beside this folder) is a short sequence over them.

pub mod bucket;
pub mod certificate;
pub mod distribution;
pub mod dns;
pub mod documents;
pub mod oac;
pub mod oidc_provider;

use super::desired::Identity;
use crate::aws::AwsClients;
use tfplugin::Ctx;

/// What every part's calls need: the call's context (stop, deadline), the
/// AWS clients, and who we are in AWS.
pub struct Aws<'a> {
    pub ctx: &'a Ctx,
    pub clients: &'a AwsClients,
    pub id: &'a Identity,
}
