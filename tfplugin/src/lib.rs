//! Terraform plugin protocol v6 (6.10) on tonic: the handshake, AutoMTLS,
//! values, schemas and diagnostics, and the framework a provider is written
//! on: typed models ([`model`], `#[derive(Model)]`), value types with their
//! rules ([`types`]), validators ([`validate`]), the shared `timeouts`
//! block ([`timeouts`]), and typed resources (with optional identity),
//! data sources, ephemeral resources, list resources and functions whose
//! lifecycle the framework owns ([`resource`], [`data_source`],
//! [`ephemeral`], [`list`], [`function`]). This layer knows nothing about
//! IRSA.

pub mod ctx;
pub mod data_source;
pub mod diag;
pub mod docs;
pub mod ephemeral;
pub mod framework;
pub mod function;
pub mod json;
pub mod list;
pub mod log;
pub mod model;
pub mod msgpack;
pub mod resource;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod tls;
pub mod types;
pub mod validate;
pub mod value;

/// Generated from `proto/tfplugin6.proto`: server and client.
pub mod proto {
    tonic::include_proto!("tfplugin6");
}

/// Generated from `proto/go_plugin.proto`: go-plugin's side services.
pub mod go_plugin {
    tonic::include_proto!("plugin");
}

// The derive names `::tfplugin`, which this makes valid inside the crate too.
extern crate self as tfplugin;

pub use ctx::{Ctx, Interrupted};
pub use data_source::DataSource;
pub use diag::{AttrPath, Diagnostic, Diagnostics, ErrorContext};
pub use ephemeral::EphemeralResource;
pub use framework::Provider;
pub use function::Function;
pub use list::ListResource;
pub use model::{Json, Model, Tf, TfType};
pub use resource::Resource;
pub use schema::{Attribute, Block, IdentitySchema, NestedAttributes, NestedBlock, Schema};
pub use types::TfEnum;
pub use value::{Type, Value};
