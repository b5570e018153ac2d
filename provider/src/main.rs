//! The `terraform-provider-irsa` binary: Terraform starts it as a plugin.

use std::sync::Arc;

fn main() -> std::process::ExitCode {
    tfplugin::server::serve(
        Arc::new(irsa::provider::IrsaProvider::new()),
        tfplugin::server::ServeOptions {
            address: irsa::PROVIDER_ADDRESS.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
    )
}
