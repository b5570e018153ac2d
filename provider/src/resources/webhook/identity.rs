//! The webhook's resource identity (Terraform 1.12+): the `namespace` and
//! `name` it is installed as, stored beside the state and accepted by
//! `import { identity = { namespace = "...", name = "..." } }`.

use super::model::WebhookModel;
use tfplugin::Model;

/// A webhook install: its namespace and name.
#[derive(Model, Clone, Debug, PartialEq, Eq)]
pub struct WebhookIdentity {
    /// The namespace it is installed in.
    #[tf(required)]
    pub namespace: String,
    /// Its name (of the Deployment, Service and the other objects).
    #[tf(required)]
    pub name: String,
}

pub fn of_state(state: &WebhookModel) -> Option<WebhookIdentity> {
    Some(WebhookIdentity {
        namespace: state.namespace.known()?.as_str().to_string(),
        name: state.name.known()?.as_str().to_string(),
    })
}
