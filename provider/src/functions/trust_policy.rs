//! `provider::irsa::trust_policy(oidc_provider_arn, service_accounts, audiences...)`:
//! the trust policy of the data source `irsa_trust_policy` as an
//! expression, on the data source's own checks and document.

use tfplugin::{AttrPath, Diagnostics, Function, Json, Model, Tf};

use crate::data_sources::trust_policy::{check_inputs, Inputs};

/// The trust policy (`assume_role_policy`) of an IAM role for Kubernetes service accounts, as compact JSON: the
/// same document as the data source `irsa_trust_policy` given the same inputs. `StringEquals` on `<provider>:sub`
/// for exact service accounts and `StringLike` only for wildcards (separate statements), `<provider>:aud` pinned
/// with `StringEquals` to the audiences given, or to the partition's default when none is (`sts.amazonaws.com` in
/// `aws` and `aws-us-gov`, `sts.amazonaws.com.cn` in `aws-cn`; other partitions need one). Sorted, so the order of
/// the inputs never causes a plan diff.
#[derive(Model, Debug)]
pub struct TrustPolicyArgs {
    /// ARN of the IAM OIDC provider, e.g. `irsa_oidc_issuer.this.oidc_provider_arn`
    /// (`arn:<partition>:iam::<account>:oidc-provider/<host>[/<path>]`).
    #[tf(required)]
    pub oidc_provider_arn: Tf<String>,
    /// Service accounts allowed to assume the role, as `"<namespace>/<name>"`; `*` and `?` are allowed in the name
    /// only (`"jobs/*"`).
    #[tf(required)]
    pub service_accounts: Tf<Vec<Tf<String>>>,
    /// Token audiences (`aud`) to accept, any of them; none: the partition's default.
    #[tf(required)]
    pub audiences: Tf<Vec<Tf<String>>>,
}

pub struct TrustPolicyFunction;

impl Function for TrustPolicyFunction {
    const NAME: &'static str = "trust_policy";
    const SUMMARY: &'static str = "The trust policy of an IAM role for Kubernetes service accounts";
    const VARIADIC: bool = true;
    type Args = TrustPolicyArgs;
    type Return = Json;

    fn call(&self, args: TrustPolicyArgs) -> Result<Json, Diagnostics> {
        let audiences = args.audiences.known().map(Vec::as_slice).unwrap_or(&[]);
        let no_extra = Tf::Null;
        let inputs = Inputs {
            oidc_provider_arn: &args.oidc_provider_arn,
            service_accounts: &args.service_accounts,
            audiences: audiences
                .iter()
                .enumerate()
                .map(|(i, a)| (AttrPath::root("audiences").index(i), a))
                .collect(),
            audience_path: AttrPath::root("audiences"),
            audience_hint: "pass as a further argument",
            extra_conditions: &no_extra,
        };
        match check_inputs(&inputs) {
            (_, Some(policy)) => Ok(Json::from_value(&policy.document())),
            (d, None) => Err(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Value;

    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";

    fn call(args: Vec<Value>) -> Result<serde_json::Value, tfplugin::framework::FunctionError> {
        let h = tfplugin::function::handler(TrustPolicyFunction);
        h.call(args)
            .map(|v| serde_json::from_str(v.as_str().unwrap()).unwrap())
    }

    #[test]
    fn the_default_audience_is_the_partitions() {
        let doc = call(vec![
            Value::string(ARN),
            Value::string_list(["default/app"]),
        ])
        .unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"]["oidc.example.com:aud"],
            "sts.amazonaws.com"
        );
        let cn = "arn:aws-cn:iam::123456789012:oidc-provider/oidc.example.com";
        let doc = call(vec![Value::string(cn), Value::string_list(["default/app"])]).unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"]["oidc.example.com:aud"],
            "sts.amazonaws.com.cn"
        );
    }

    #[test]
    fn several_audiences_are_any_of_them() {
        let doc = call(vec![
            Value::string(ARN),
            Value::string_list(["default/app"]),
            Value::string("sts.amazonaws.com"),
            Value::string("amazonaws.com"),
        ])
        .unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["StringEquals"]["oidc.example.com:aud"],
            serde_json::json!(["amazonaws.com", "sts.amazonaws.com"])
        );
    }

    #[test]
    fn bad_arguments_are_named_by_index() {
        let e = call(vec![
            Value::string("arn:aws:iam::123456789012:role/x"),
            Value::string_list(["default/app"]),
        ])
        .unwrap_err();
        assert_eq!(e.argument, Some(0), "{e:?}");
        assert!(e.text.starts_with("Invalid OIDC provider ARN"), "{e:?}");
        let e = call(vec![
            Value::string(ARN),
            Value::string_list(["default/ok", "*"]),
        ])
        .unwrap_err();
        assert_eq!(e.argument, Some(1));
        assert!(
            e.text.starts_with("element 1: Invalid service account"),
            "{e:?}"
        );
        let e = call(vec![Value::string(ARN), Value::List(vec![])]).unwrap_err();
        assert_eq!(e.argument, Some(1));
        let e = call(vec![
            Value::string(ARN),
            Value::string_list(["a/b"]),
            Value::string("sts.amazonaws.com"),
            Value::string(" x"),
        ])
        .unwrap_err();
        assert_eq!(
            e.argument,
            Some(3),
            "the second audience is the fourth argument"
        );
        let iso = "arn:aws-iso:iam::123456789012:oidc-provider/x.example";
        let e = call(vec![Value::string(iso), Value::string_list(["a/b"])]).unwrap_err();
        assert_eq!(e.argument, Some(2), "{e:?}");
        assert!(e.text.contains("no default audience"), "{e:?}");
    }
}
