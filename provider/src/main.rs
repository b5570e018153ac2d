//! The `terraform-provider-irsa` binary: Terraform starts it as a plugin.

use std::sync::Arc;

fn main() -> std::process::ExitCode {
    irsa::plugin::server::serve(
        Arc::new(irsa::provider::IrsaProvider::new()),
        irsa::plugin::server::ServeOptions {
            address: irsa::PROVIDER_ADDRESS.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    )
}
