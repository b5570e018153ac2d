//! The real `hashicorp/aws` provider beside ours, pointed at moto, in the
//! configuration our users run it in (testbed: its filesystem mirror, static
//! keys, the `skip_*` flags, `endpoints {}`).
//!
//! * [`mirror`]: where it is (`tests/terraform-matrix`: the variable
//!   `IRSA_TF_PLUGIN_MIRROR`, else the image's `/opt/tf-plugins`), or the
//!   reason it is not, which the test reports as SKIPPED
//!   ([`harness::skip_without`]); `scripts/test` fails the run when the
//!   mirror was there and a test was skipped anyway.
//! * [`required_providers`], [`provider_block`]: the HCL.
//! * [`workdir`]: a [`Workdir`] whose `terraform init` installs both
//!   providers from mirrors, with the sandbox's AWS environment for ours.

use crate::harness::{self, MirroredProvider, TerraformBinary, Workdir};
use crate::sandbox::Moto;

/// The source address of the provider.
pub const SOURCE: &str = "hashicorp/aws";

/// The mirrored provider, or why it cannot be used here.
pub fn mirror() -> Result<MirroredProvider, String> {
    harness::mirrored_provider(SOURCE)
}

/// `Some(mirror)`, or `None` after reporting the running test SKIPPED with
/// the reason (then return from the test).
pub fn mirror_or_skip() -> Option<MirroredProvider> {
    match mirror() {
        Ok(m) => Some(m),
        Err(reason) => {
            harness::skip_without(&format!(
                "{reason}; the tests beside the real {SOURCE} need it"
            ));
            None
        }
    }
}

/// `terraform { required_providers { irsa, aws } }`, aws pinned to the
/// mirrored version.
pub fn required_providers(aws: &MirroredProvider) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    irsa = {{
      source = "irsa/irsa"
    }}
    aws = {{
      source  = "{SOURCE}"
      version = "{}"
    }}
  }}
}}
"#,
        aws.version
    )
}

/// A `provider "aws"` block for moto at `endpoint` (one port serves every
/// service), as a user points it at a private endpoint: static keys, no
/// account lookup, path-style S3. `alias` names a second configuration
/// (e.g. `us_east_1` for ACM).
pub fn provider_block(endpoint: &str, region: &str, alias: Option<&str>) -> String {
    let alias = alias
        .map(|a| format!("  alias  = \"{a}\"\n"))
        .unwrap_or_default();
    let ep = harness::hcl_string(endpoint);
    format!(
        r#"provider "aws" {{
{alias}  region                      = "{region}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
    acm        = {ep}
    cloudfront = {ep}
    iam        = {ep}
    route53    = {ep}
    s3         = {ep}
    sts        = {ep}
  }}
}}
"#
    )
}

/// A work dir for `config` that installs `irsa/irsa` and `hashicorp/aws`
/// from mirrors ([`Workdir::with_mirrors`]), with moto's AWS environment
/// for our provider. Run `init` first.
pub fn workdir(tf: &TerraformBinary, config: &str, aws: &MirroredProvider, moto: &Moto) -> Workdir {
    let mut wd = Workdir::with_mirrors(tf, config, aws);
    wd.envs(moto.env());
    wd
}
