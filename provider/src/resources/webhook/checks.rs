//! Checks made before anything is written.

use super::model::Config;
use crate::kube::KubeClient;
use crate::webhook::manifests::{self, ObjectId, TlsMaterial};
use tfplugin::{Ctx, Diagnostic, Diagnostics};

/// Before anything is written: may these credentials do what this apply
/// (and a later destroy) needs? Missing write permissions fail the apply
/// with all of them listed, so a cluster is never left with half the
/// objects; missing `delete` is a warning (destroy may run with other
/// credentials).
pub(super) async fn permissions(
    ctx: &Ctx,
    client: &KubeClient,
    cfg: &Config,
    creating: bool,
) -> Result<Diagnostics, Diagnostics> {
    let objects = manifests::render(&cfg.spec, &TlsMaterial::default());
    let write_verbs: &[&str] = if creating {
        &["get", "create", "patch"]
    } else {
        &["get", "patch"]
    };
    let mut wanted: Vec<(&str, &ObjectId)> = Vec::new();
    for o in &objects {
        for v in write_verbs.iter().chain(&["delete"]) {
            wanted.push((v, &o.id));
        }
    }
    let answer = ctx.run(client.missing_permissions(&wanted)).await?;
    let Some(missing) = answer else {
        return Ok(Diagnostics::default());
    };
    let (deletes, writes): (Vec<String>, Vec<String>) = missing
        .into_iter()
        .partition(|l| l.starts_with("- delete "));
    let grant = "Grant them to that identity (e.g. in a ClusterRole bound to it).";
    if !writes.is_empty() {
        let mut all = writes;
        all.extend(deletes);
        return Err(Diagnostic::error(
            "Missing permissions in the Kubernetes cluster",
            format!(
                "The credentials of the provider's `kubernetes` settings may not:\n{}\nNothing was applied. {grant}",
                all.join("\n")
            ),
        )
        .into());
    }
    if deletes.is_empty() {
        return Ok(Diagnostics::default());
    }
    Ok(Diagnostic::warning(
        "Destroy will need more permissions",
        format!(
            "The credentials of the provider's `kubernetes` settings may not:\n{}\nA destroy with them will fail. {grant}",
            deletes.join("\n")
        ),
    )
    .into())
}
