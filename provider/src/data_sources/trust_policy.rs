//! Data source `irsa_trust_policy`: the trust policy of an IAM role that
//! Kubernetes service accounts assume through an IAM OIDC provider. Pure:
//! no AWS or Kubernetes call; every bad input is refused at plan time with
//! its attribute path. The document is built by [`crate::policy::trust`].

use async_trait::async_trait;

use crate::policy::trust::{
    check_operator, default_audience, Condition, OidcProviderArn, ServiceAccount, TrustPolicy,
};
use tfplugin::{AttrPath, Ctx, DataSource, Diagnostics, Json, Model, Tf};

pub const TYPE_NAME: &str = "irsa_trust_policy";

/// The trust policy (`assume_role_policy`) of an IAM role for Kubernetes
/// service accounts (IRSA): the IAM OIDC provider as `Federated` principal,
/// `sts:AssumeRoleWithWebIdentity`, `<provider>:sub` matched with
/// `StringEquals` for exact service accounts and `StringLike` only for
/// wildcards (in separate statements, since one statement with both would
/// AND them), and `<provider>:aud` with `StringEquals`. The output is sorted,
/// so the order of the inputs never causes a plan diff.
#[derive(Model, Debug)]
pub struct TrustPolicyModel {
    /// ARN of the IAM OIDC provider, e.g. `irsa_oidc_issuer.this.oidc_provider_arn`
    /// (`arn:<partition>:iam::<account>:oidc-provider/<host>[/<path>]`). The
    /// condition keys' prefix `<host>[/<path>]` is taken from it.
    #[tf(required)]
    pub oidc_provider_arn: Tf<String>,
    /// Service accounts allowed to assume the role, as `"<namespace>/<name>"`.
    /// `*` and `?` are allowed in the name only (`"jobs/*"`); a wildcard
    /// namespace or a bare `"*"` is refused.
    #[tf(required)]
    pub service_accounts: Tf<Vec<Tf<String>>>,
    /// The token audience (`aud`) to require: the client ID the IAM OIDC
    /// provider trusts and the pod identity webhook requests. Default, by the
    /// partition of `oidc_provider_arn`: `sts.amazonaws.com` in `aws` and
    /// `aws-us-gov`, `sts.amazonaws.com.cn` in `aws-cn`; in the other
    /// partitions (the ISO ones, `aws-eusc`) there is none and it must be set.
    #[tf(optional)]
    pub audience: Tf<String>,
    /// More conditions, added to every statement, as in
    /// `aws_iam_policy_document`: `test` (an IAM condition operator),
    /// `variable` (the condition key) and `values` (ORed). Conditions on the
    /// `:sub` and `:aud` keys this data source sets are refused.
    #[tf(optional)]
    pub extra_conditions: Tf<Vec<ExtraCondition>>,
    /// The policy document as compact JSON, for `aws_iam_role.assume_role_policy`.
    #[tf(computed)]
    pub json: Tf<Json>,
}

/// One extra condition.
#[derive(Model, Debug, Clone)]
pub struct ExtraCondition {
    pub test: Tf<String>,
    pub variable: Tf<String>,
    pub values: Tf<Vec<Tf<String>>>,
}

pub struct TrustPolicyDataSource;

/// What the checks found: errors, and whether every value was known.
struct Found {
    d: Diagnostics,
    complete: bool,
}

impl Found {
    /// The known value of `v`; notes an unknown one.
    fn known<'a, T>(&mut self, v: &'a Tf<T>) -> Option<&'a T> {
        if v.is_unknown() {
            self.complete = false;
        }
        v.known()
    }
}

/// What a trust policy is made from, as the data source's attributes or
/// the function `provider::irsa::trust_policy`'s arguments give it; each
/// problem is reported at the path of the attribute or argument it is
/// about, so the function names the argument as the data source names the
/// attribute, under the same rules.
pub(crate) struct Inputs<'a> {
    pub oidc_provider_arn: &'a Tf<String>,
    pub service_accounts: &'a Tf<Vec<Tf<String>>>,
    /// The audiences given, each with its path; none: the partition's
    /// default.
    pub audiences: Vec<(AttrPath, &'a Tf<String>)>,
    /// Where a missing default audience is reported, and how the message
    /// names what to give.
    pub audience_path: AttrPath,
    pub audience_hint: &'static str,
    pub extra_conditions: &'a Tf<Vec<ExtraCondition>>,
}

impl<'a> Inputs<'a> {
    fn of_model(m: &'a TrustPolicyModel) -> Inputs<'a> {
        let at = AttrPath::root("audience");
        Inputs {
            oidc_provider_arn: &m.oidc_provider_arn,
            service_accounts: &m.service_accounts,
            audiences: if m.audience.is_null() {
                vec![]
            } else {
                vec![(at.clone(), &m.audience)]
            },
            audience_path: at,
            audience_hint: "set `audience` to",
            extra_conditions: &m.extra_conditions,
        }
    }
}

/// Checks every known value; returns the policy when everything is known
/// and valid.
fn check(m: &TrustPolicyModel) -> (Diagnostics, Option<TrustPolicy>) {
    check_inputs(&Inputs::of_model(m))
}

/// [`check`] for any [`Inputs`].
pub(crate) fn check_inputs(m: &Inputs<'_>) -> (Diagnostics, Option<TrustPolicy>) {
    let mut f = Found {
        d: Diagnostics::default(),
        complete: true,
    };
    let provider = check_provider(m, &mut f);
    let service_accounts = check_service_accounts(m, &mut f);
    let audiences = check_audiences(m, provider.as_ref(), &mut f);
    let extra = check_extra_conditions(m, &mut f);
    let Found { mut d, complete } = f;
    let (Some(provider), Some(audiences)) = (provider, audiences) else {
        return (d, None);
    };
    let policy = TrustPolicy {
        provider,
        service_accounts,
        audiences,
        extra_conditions: extra,
    };
    if complete || !d.has_errors() {
        if let Err((i, e)) = policy.check_extra_conditions() {
            d.error_at(
                AttrPath::root("extra_conditions").index(i),
                "Conflicting condition",
                e,
            );
        }
    }
    if !complete || d.has_errors() {
        return (d, None);
    }
    (d, Some(policy))
}

fn check_provider(m: &Inputs<'_>, f: &mut Found) -> Option<OidcProviderArn> {
    let arn = f.known(m.oidc_provider_arn)?;
    OidcProviderArn::parse(arn)
        .map_err(|e| {
            f.d.error_at(
                AttrPath::root("oidc_provider_arn"),
                "Invalid OIDC provider ARN",
                e,
            )
        })
        .ok()
}

fn check_service_accounts(m: &Inputs<'_>, f: &mut Found) -> Vec<ServiceAccount> {
    let Some(items) = f.known(m.service_accounts) else {
        return vec![];
    };
    if items.is_empty() {
        f.d.error_at(
            AttrPath::root("service_accounts"),
            "No service accounts",
            "`service_accounts` is empty: a trust policy that no service account matches \
             lets nobody assume the role. List at least one \"<namespace>/<name>\".",
        );
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = AttrPath::root("service_accounts").index(i);
        match item {
            Tf::Known(s) => match ServiceAccount::parse(s) {
                Ok(sa) => out.push(sa),
                Err(e) => f.d.error_at(path, "Invalid service account", e),
            },
            Tf::Null => f.d.error_at(
                path,
                "Invalid service account",
                "A service account must not be null.",
            ),
            Tf::Unknown(_) => f.complete = false,
        }
    }
    out
}

/// The audiences given, or the partition's default when none is.
fn check_audiences(
    m: &Inputs<'_>,
    provider: Option<&OidcProviderArn>,
    f: &mut Found,
) -> Option<Vec<String>> {
    if m.audiences.is_empty() {
        let p = provider?;
        let default = default_audience(p.partition);
        if default.is_none() {
            f.d.error_at(
                m.audience_path.clone(),
                "Audience required",
                format!(
                    "There is no default audience for the partition \"{}\": {} the client ID \
                     of the OIDC provider (the pod identity webhook's --token-audience).",
                    p.partition, m.audience_hint
                ),
            );
        }
        return default.map(|a| vec![a.to_string()]);
    }
    let mut out = Vec::new();
    let mut known = true;
    for (at, a) in &m.audiences {
        match a {
            Tf::Known(a) => {
                if a.is_empty() || a.trim() != a {
                    f.d.error_at(
                        at.clone(),
                        "Invalid audience",
                        format!(
                            "The audience \"{a}\" is empty or has surrounding whitespace; tokens carry \
                             it exactly (usually \"sts.amazonaws.com\")."
                        ),
                    );
                }
                out.push(a.clone());
            }
            Tf::Null => f.d.error_at(
                at.clone(),
                "Invalid audience",
                "An audience must not be null.",
            ),
            Tf::Unknown(_) => {
                f.complete = false;
                known = false;
            }
        }
    }
    (known && !out.is_empty()).then_some(out)
}

fn check_extra_conditions(m: &Inputs<'_>, f: &mut Found) -> Vec<Condition> {
    let Some(items) = f.known(m.extra_conditions) else {
        return vec![];
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, c)| check_condition(c, AttrPath::root("extra_conditions").index(i), f))
        .collect()
}

fn check_condition(c: &ExtraCondition, path: AttrPath, f: &mut Found) -> Option<Condition> {
    let at = |name: &str| path.clone().attr(name);
    let test = match &c.test {
        Tf::Known(t) => {
            if let Err(e) = check_operator(t) {
                f.d.error_at(at("test"), "Invalid condition operator", e);
            }
            Some(t.clone())
        }
        Tf::Null => {
            f.d.error_at(
                at("test"),
                "Missing condition operator",
                "`test` must be set.",
            );
            None
        }
        Tf::Unknown(_) => {
            f.complete = false;
            None
        }
    };
    let variable = match &c.variable {
        Tf::Known(v) if !v.is_empty() => Some(v.clone()),
        Tf::Known(_) | Tf::Null => {
            f.d.error_at(
                at("variable"),
                "Missing condition key",
                "`variable` must name a condition key, e.g. \"aws:SourceIp\".",
            );
            None
        }
        Tf::Unknown(_) => {
            f.complete = false;
            None
        }
    };
    let values = check_values(&c.values, at("values"), f);
    Some(Condition {
        test: test?,
        variable: variable?,
        values,
    })
}

fn check_values(values: &Tf<Vec<Tf<String>>>, at: AttrPath, f: &mut Found) -> Vec<String> {
    let vs = match values {
        Tf::Known(vs) => vs,
        Tf::Null => {
            f.d.error_at(at, "No condition values", "`values` must be set.");
            return vec![];
        }
        Tf::Unknown(_) => {
            f.complete = false;
            return vec![];
        }
    };
    if vs.is_empty() {
        f.d.error_at(
            at.clone(),
            "No condition values",
            "`values` is empty: IAM refuses a condition without values.",
        );
    }
    let mut out = Vec::new();
    for (j, v) in vs.iter().enumerate() {
        match v {
            Tf::Known(v) => out.push(v.clone()),
            Tf::Null => f.d.error_at(
                at.clone().index(j),
                "Invalid condition value",
                "A condition value must not be null.",
            ),
            Tf::Unknown(_) => f.complete = false,
        }
    }
    out
}

#[async_trait]
impl DataSource for TrustPolicyDataSource {
    type Model = TrustPolicyModel;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn validate(&self, config: &TrustPolicyModel) -> Diagnostics {
        check(config).0
    }

    async fn read(
        &self,
        _ctx: &Ctx,
        mut m: TrustPolicyModel,
    ) -> Result<(TrustPolicyModel, Diagnostics), Diagnostics> {
        // The framework reads only a wholly known, valid configuration.
        let (d, policy) = check(&m);
        let policy = policy.ok_or(d.clone())?;
        m.json = Tf::Known(Json::from_value(&policy.document()));
        Ok((m, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Value;

    fn decode(config: &Value) -> Result<TrustPolicyModel, Diagnostics> {
        TrustPolicyModel::decode(config)
    }
    use tfplugin::diag::Severity;

    fn config(arn: Value, sas: Value, audience: Value, extra: Value) -> Value {
        Value::object([
            ("oidc_provider_arn", arn),
            ("service_accounts", sas),
            ("audience", audience),
            ("extra_conditions", extra),
            ("json", Value::Null),
        ])
    }

    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";

    fn errors(c: &Value) -> Vec<(String, String)> {
        let m = decode(c).unwrap();
        check(&m)
            .0
             .0
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.detail))
            .collect()
    }

    #[test]
    fn schema_has_the_documented_attributes() {
        let b = TrustPolicyModel::block();
        let names: Vec<_> = b.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "oidc_provider_arn",
                "service_accounts",
                "audience",
                "extra_conditions",
                "json"
            ]
        );
        assert!(b.find_attribute("json").unwrap().computed);
        assert!(b.description.contains("StringLike"));
    }

    #[tokio::test]
    async fn read_gives_the_policy_json() {
        let c = config(
            Value::string(ARN),
            Value::string_list(["jobs/*", "default/my-app"]),
            Value::Null,
            Value::Null,
        );
        let (state, d) = tfplugin::data_source::handler(TrustPolicyDataSource)
            .read(&Ctx::background(), c)
            .await
            .unwrap();
        assert!(d.is_empty());
        let json: serde_json::Value =
            serde_json::from_str(state.attr("json").as_str().unwrap()).unwrap();
        assert_eq!(json["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(
            json["Statement"][0]["Condition"]["StringEquals"]["oidc.example.com:sub"],
            "system:serviceaccount:default:my-app"
        );
        assert_eq!(
            json["Statement"][1]["Condition"]["StringLike"]["oidc.example.com:sub"],
            "system:serviceaccount:jobs:*"
        );
    }

    #[test]
    fn bad_inputs_are_refused_with_their_paths() {
        let e = errors(&config(
            Value::string("arn:aws:iam::123456789012:role/x"),
            Value::string_list(["*", "default/ok", "*/x", "Bad/x"]),
            Value::Null,
            Value::Null,
        ));
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "oidc_provider_arn",
                "service_accounts[0]",
                "service_accounts[2]",
                "service_accounts[3]"
            ]
        );
        let e = errors(&config(
            Value::string(ARN),
            Value::List(vec![]),
            Value::Null,
            Value::Null,
        ));
        assert_eq!(e[0].0, "service_accounts");
        let extra = Value::List(vec![Value::object([
            ("test", Value::string("StringLikes")),
            ("variable", Value::string("aws:SourceIp")),
            ("values", Value::List(vec![])),
        ])]);
        let e = errors(&config(
            Value::string(ARN),
            Value::string_list(["a/b"]),
            Value::Null,
            extra,
        ));
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["extra_conditions[0].test", "extra_conditions[0].values"]
        );
        let e = errors(&config(
            Value::string("arn:aws-iso:iam::123456789012:oidc-provider/x.example"),
            Value::string_list(["a/b"]),
            Value::Null,
            Value::Null,
        ));
        assert_eq!(e[0].0, "audience");
    }

    #[test]
    fn unknown_values_wait_without_errors() {
        let c = config(
            Value::unknown(),
            Value::List(vec![Value::string("default/app"), Value::unknown()]),
            Value::Null,
            Value::unknown(),
        );
        let m = decode(&c).unwrap();
        let (d, policy) = check(&m);
        assert!(d.is_empty(), "{d:?}");
        assert!(policy.is_none());
        // A bad known value is reported even while others are unknown.
        let c = config(
            Value::unknown(),
            Value::List(vec![Value::string("*"), Value::unknown()]),
            Value::Null,
            Value::Null,
        );
        assert_eq!(errors(&c)[0].0, "service_accounts[0]");
    }
}
