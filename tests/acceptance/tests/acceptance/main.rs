//! The provider's tests, in ONE test binary (each file a module): one link
//! of the crate graph instead of one per file, which was most of a clean
//! build. nextest still runs every test in its own process.
//!
//! - `acc_*`: acceptance tests with the real Terraform CLI on every version
//!   of the matrix (`terraform-matrix`, see `irsa_acceptance::harness`);
//!   `acc_hashicorp_aws` beside the real `hashicorp/aws` provider.
//! - `aws_*`: the provider's AWS modules against moto (patched as AWS).
//! - `protocol`, `protocol_6_10`: a gRPC client playing Terraform core and
//!   OpenTofu (`protocol_6_10`: functions, identity, list, ephemeral and the
//!   RPCs of features without a type here).
//! - `provider_config`, `examples_validate`, `registry_install`,
//!   `quickstart`, `sandbox_scripts`: configuration, examples, packaging and
//!   the repository's scripts.
//!
//! A new file here needs a `mod` line below; `layout::every_file_is_a_module`
//! fails when one is missing (or when a file is put in the old `tests/tests/`).

mod acc_ephemeral;
mod acc_framework;
mod acc_functions;
mod acc_hashicorp_aws;
mod acc_identity;
mod acc_issuer_check;
mod acc_issuer_host;
mod acc_json_attrs;
mod acc_jwks;
mod acc_module;
mod acc_oidc_issuer;
mod acc_oidc_issuer_aws;
mod acc_oidc_issuer_lifecycle;
mod acc_query;
mod acc_trust_policy;
mod acc_webhook;
mod aws_cloudfront_acm;
mod aws_s3_iam_route53;
mod examples_apply;
mod examples_validate;
mod layout;
mod protocol;
mod protocol_6_10;
mod provider_config;
mod quickstart;
mod registry_install;
mod sandbox_scripts;
