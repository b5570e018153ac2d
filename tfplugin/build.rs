//! Generates the gRPC server and client for Terraform's plugin protocol from
//! `../proto`. protox is a pure-Rust protobuf compiler, so a fresh clone builds
//! without a system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let files = ["tfplugin6.proto", "go_plugin.proto"];
    for file in &files {
        println!("cargo:rerun-if-changed={}", proto_dir.join(file).display());
    }
    let descriptors = protox::compile(files, [&proto_dir])?;
    let mut messages = tonic_prost_build::Config::new();
    // These two comments hold an indented banner ("==== DO NOT USE THIS
    // ===="), which rustdoc would take for a code block to test.
    messages.disable_comments([
        "tfplugin6.PlanResourceChange.Response.legacy_type_system",
        "tfplugin6.ApplyResourceChange.Response.legacy_type_system",
    ]);
    tonic_prost_build::configure()
        .build_server(true)
        // The client is what our protocol-level tests use to play Terraform core.
        .build_client(true)
        .compile_fds_with_config(descriptors, messages)?;
    Ok(())
}
