//! Terraform plugin protocol v6 on tonic: the handshake, AutoMTLS, values,
//! schemas and diagnostics. This layer knows nothing about IRSA; the
//! provider plugs in through the traits in [`framework`].

pub mod diag;
pub mod docs;
pub mod framework;
pub mod json;
pub mod log;
pub mod model;
pub mod msgpack;
pub mod schema;
pub mod server;
pub mod tls;
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

pub use diag::{AttrPath, Diagnostic, Diagnostics};
pub use framework::{Ctx, DataSource, Provider, Resource};
pub use model::{Json, Model, Tf, TfType};
pub use schema::{Attribute, Block, NestedAttributes, NestedBlock, Schema};
pub use value::{Type, Value};
