//! The trust policy of a role that Kubernetes service accounts assume with
//! their web identity tokens (`sts:AssumeRoleWithWebIdentity`). Its tests
//! evaluate the documents the way IAM does (see `evaluate`).
//!
//! The document follows AWS's IRSA guidance:
//! - `Principal.Federated` is the IAM OIDC provider's ARN;
//! - the condition keys are `<host>[/<path>]:sub` and `<host>[/<path>]:aud`,
//!   the provider URL without `https://`, taken from the ARN (any partition);
//! - exact service accounts are matched with `StringEquals`, wildcard ones
//!   with `StringLike`, in separate statements: one statement with both
//!   operators on `:sub` would AND them, and nothing would match;
//! - `:aud` with `StringEquals` in every statement.
//!
//! Output is deterministic: subjects and values are sorted and deduplicated,
//! operators and keys are in sorted order, so no plan diff ever comes from
//! the order of the inputs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use tfplugin::types::{dns, Partition};

/// The policy language version every document uses.
pub const POLICY_VERSION: &str = "2012-10-17";
/// The action a trust policy for web identities allows.
pub const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
/// The audience the pod identity webhook requests by default.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// Prefix of a service account's `sub` claim.
pub const SUB_PREFIX: &str = "system:serviceaccount:";

// ---------------------------------------------------------------------------
// The IAM OIDC provider ARN
// ---------------------------------------------------------------------------

/// `arn:<partition>:iam::<account>:oidc-provider/<host>[/<path>]`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProviderArn {
    /// The whole ARN, as given.
    pub arn: String,
    pub partition: Partition,
    /// 12 digits.
    pub account_id: String,
    /// The provider URL without `https://`: `<host>[/<path>]`; the prefix of
    /// the condition keys.
    pub provider_url: String,
}

impl OidcProviderArn {
    /// Parses and checks an OIDC provider ARN. The error says what is wrong
    /// in a sentence that can be shown as is.
    pub fn parse(arn: &str) -> Result<OidcProviderArn, String> {
        let shown = format!("\"{arn}\"");
        let expected =
            "expected arn:<partition>:iam::<12-digit account>:oidc-provider/<host>[/<path>], \
                        e.g. arn:aws:iam::123456789012:oidc-provider/oidc.example.com";
        if arn.trim() != arn || arn.chars().any(char::is_whitespace) {
            return Err(format!("{shown} contains whitespace; {expected}"));
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(format!("{shown} is not an ARN; {expected}"));
        }
        let (partition, service, region, account, resource) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        // A partition AWS does not have (`arn:aws-china:...`) names nothing.
        let Some(partition) = Partition::parse(partition) else {
            let known: Vec<&str> = Partition::ALL.iter().map(|p| p.as_str()).collect();
            return Err(format!(
                "{shown} has the partition \"{partition}\", which does not exist (AWS's partitions are {}); {expected}",
                known.join(", ")
            ));
        };
        if service != "iam" {
            return Err(format!(
                "{shown} is an ARN of the service \"{service}\", not of an IAM OIDC provider; {expected}"
            ));
        }
        if !region.is_empty() {
            return Err(format!(
                "{shown} names the region \"{region}\", but IAM ARNs have none; {expected}"
            ));
        }
        if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "{shown} has the account \"{account}\", which is not 12 digits; {expected}"
            ));
        }
        let Some(url) = resource.strip_prefix("oidc-provider/") else {
            let kind = resource.split('/').next().unwrap_or(resource);
            return Err(format!(
                "{shown} is the ARN of an IAM {kind}, not of an OIDC provider (resource \
                 \"oidc-provider/...\"); use the `oidc_provider_arn` of irsa_oidc_issuer or of \
                 aws_iam_openid_connect_provider"
            ));
        };
        if url.is_empty() || url.starts_with('/') {
            return Err(format!("{shown} names no provider host; {expected}"));
        }
        if url.contains("://") || url.starts_with("https:") {
            return Err(format!(
                "{shown}: the provider part must be the URL without its scheme (\"oidc-provider/{}\")",
                url.split("://").nth(1).unwrap_or(url)
            ));
        }
        if url.ends_with('/') {
            return Err(format!(
                "{shown} ends with a slash; IAM provider URLs (and the issuer) have none"
            ));
        }
        let host = url.split('/').next().unwrap_or_default();
        if host.contains(':') {
            return Err(format!(
                "{shown} has a port in its host; IAM OIDC provider URLs have no port"
            ));
        }
        if url.contains(['?', '#', '"', '\\', '*']) || url.chars().any(|c| c.is_control()) {
            return Err(format!(
                "{shown} contains a character that cannot be part of a provider URL"
            ));
        }
        Ok(OidcProviderArn {
            arn: arn.to_string(),
            partition,
            account_id: account.to_string(),
            provider_url: url.to_string(),
        })
    }

    /// `<host>[/<path>]:sub`.
    pub fn sub_key(&self) -> String {
        format!("{}:sub", self.provider_url)
    }

    /// `<host>[/<path>]:aud`.
    pub fn aud_key(&self) -> String {
        format!("{}:aud", self.provider_url)
    }
}

/// The audience to use when none is given: `sts.amazonaws.com` in the
/// commercial and GovCloud partitions, `sts.amazonaws.com.cn` in China.
/// `None` for the other partitions (ISO, European Sovereign Cloud): there
/// the audience must be given.
pub fn default_audience(partition: Partition) -> Option<&'static str> {
    match partition {
        Partition::Aws | Partition::AwsUsGov => Some(DEFAULT_AUDIENCE),
        Partition::AwsCn => Some("sts.amazonaws.com.cn"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Service accounts
// ---------------------------------------------------------------------------

/// A service account as the policy matches it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceAccount {
    pub namespace: String,
    /// The name; with `*`/`?` when `wildcard`.
    pub name: String,
    pub wildcard: bool,
}

impl ServiceAccount {
    /// Parses `namespace/name`. The namespace must be a DNS label (RFC 1123,
    /// as Kubernetes requires); the name a DNS subdomain name, in which `*`
    /// and `?` may stand for any characters (then it is matched with
    /// `StringLike`). A wildcard in the namespace, or a bare `*`, is refused:
    /// it would let service accounts of any namespace assume the role.
    pub fn parse(s: &str) -> Result<ServiceAccount, String> {
        if s == "*" || s == "*/*" {
            return Err(format!(
                "\"{s}\" would let every service account of the cluster assume the role; name the \
                 namespace (\"<namespace>/<name>\", e.g. \"jobs/*\")"
            ));
        }
        let Some((namespace, name)) = s.split_once('/') else {
            return Err(format!(
                "\"{s}\" is not of the form \"<namespace>/<name>\" (e.g. \"default/my-app\")"
            ));
        };
        if namespace.contains(['*', '?']) {
            return Err(format!(
                "\"{s}\": wildcards are allowed in the name only, not in the namespace \
                 \"{namespace}\": a wildcard namespace lets anyone who can create a namespace \
                 assume the role"
            ));
        }
        if let Err(why) = dns::check_label(namespace) {
            return Err(format!(
                "\"{s}\": the namespace \"{namespace}\" is not a valid Kubernetes namespace name (a DNS label: {why})"
            ));
        }
        if name.is_empty() {
            return Err(format!("\"{s}\" has an empty service account name"));
        }
        let wildcard = name.contains(['*', '?']);
        if wildcard {
            let bad: Vec<char> = name
                .chars()
                .filter(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '.' | '*' | '?'))
                .collect();
            if !bad.is_empty() || name.len() > 253 {
                return Err(format!(
                    "\"{s}\": the name pattern \"{name}\" may hold only lowercase letters, digits, \
                     '-', '.', and the wildcards '*' and '?'"
                ));
            }
        } else if let Err(why) = dns::check_subdomain(name) {
            return Err(format!(
                "\"{s}\": the name \"{name}\" is not a valid service account name (a DNS subdomain name: {why})"
            ));
        }
        Ok(ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
            wildcard,
        })
    }

    /// `system:serviceaccount:<namespace>:<name>`.
    pub fn subject(&self) -> String {
        format!("{SUB_PREFIX}{}:{}", self.namespace, self.name)
    }
}

// ---------------------------------------------------------------------------
// Extra conditions
// ---------------------------------------------------------------------------

/// A condition added to every statement, like `condition` blocks of
/// `aws_iam_policy_document`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The operator, e.g. `StringEquals`, `ForAnyValue:StringLike`, `BoolIfExists`.
    pub test: String,
    /// The condition key, e.g. `aws:SourceIp` or `<host>:amr`.
    pub variable: String,
    pub values: Vec<String>,
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// Checks an IAM condition operator: one of IAM's operators, optionally
/// prefixed `ForAnyValue:`/`ForAllValues:` and suffixed `IfExists`.
pub fn check_operator(test: &str) -> Result<(), String> {
    let base = test
        .strip_prefix("ForAnyValue:")
        .or_else(|| test.strip_prefix("ForAllValues:"))
        .unwrap_or(test);
    let base = if base == "Null" {
        base
    } else {
        base.strip_suffix("IfExists").unwrap_or(base)
    };
    if OPERATORS.contains(&base) {
        Ok(())
    } else {
        Err(format!(
            "\"{test}\" is not an IAM condition operator (e.g. StringEquals, StringLike, \
             ForAnyValue:StringLike, BoolIfExists)"
        ))
    }
}

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

/// Everything a trust policy is made from (already validated).
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    pub provider: OidcProviderArn,
    pub service_accounts: Vec<ServiceAccount>,
    /// The token audiences (`aud`) accepted, any of them (IAM ORs a
    /// condition's values); at least one.
    pub audiences: Vec<String>,
    pub extra_conditions: Vec<Condition>,
}

/// One string, or a sorted list of several.
fn one_or_many(values: &BTreeSet<String>) -> Value {
    if values.len() == 1 {
        json!(values.iter().next().expect("one value"))
    } else {
        json!(values.iter().collect::<Vec<_>>())
    }
}

impl TrustPolicy {
    /// Refuses extra conditions that would change what the policy's own
    /// conditions mean: the same operator on `<host>:sub` or `<host>:aud`
    /// (IAM has one value list per operator and key, so they would be merged
    /// into an OR), or one operator and key given twice.
    pub fn check_extra_conditions(&self) -> Result<(), (usize, String)> {
        let own: [(&str, String); 3] = [
            ("StringEquals", self.provider.aud_key()),
            ("StringEquals", self.provider.sub_key()),
            ("StringLike", self.provider.sub_key()),
        ];
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for (i, c) in self.extra_conditions.iter().enumerate() {
            if own
                .iter()
                .any(|(t, v)| *t == c.test && v.eq_ignore_ascii_case(&c.variable))
            {
                return Err((
                    i,
                    format!(
                        "{} on \"{}\" is what this data source sets from `service_accounts` and \
                         `audience`; an extra condition on it would be merged with ours and \
                         widen the policy. Change those arguments instead",
                        c.test, c.variable
                    ),
                ));
            }
            if !seen.insert((c.test.clone(), c.variable.to_ascii_lowercase())) {
                return Err((
                    i,
                    format!(
                        "{} on \"{}\" is given twice; put all values into one condition (they are ORed)",
                        c.test, c.variable
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The statements: first one for the exact service accounts
    /// (`StringEquals`), then one for the wildcard ones (`StringLike`); a
    /// statement is left out when it has no subjects.
    pub fn document(&self) -> Value {
        let exact: BTreeSet<String> = self
            .service_accounts
            .iter()
            .filter(|s| !s.wildcard)
            .map(ServiceAccount::subject)
            .collect();
        let wildcard: BTreeSet<String> = self
            .service_accounts
            .iter()
            .filter(|s| s.wildcard)
            .map(ServiceAccount::subject)
            .collect();
        let mut statements = Vec::new();
        for (subjects, operator) in [(exact, "StringEquals"), (wildcard, "StringLike")] {
            if subjects.is_empty() {
                continue;
            }
            // operator -> key -> values, all sorted.
            let mut conditions: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> =
                BTreeMap::new();
            conditions.entry("StringEquals".into()).or_default().insert(
                self.provider.aud_key(),
                self.audiences.iter().cloned().collect::<BTreeSet<String>>(),
            );
            conditions
                .entry(operator.into())
                .or_default()
                .insert(self.provider.sub_key(), subjects);
            for c in &self.extra_conditions {
                conditions
                    .entry(c.test.clone())
                    .or_default()
                    .entry(c.variable.clone())
                    .or_default()
                    .extend(c.values.iter().cloned());
            }
            let condition: Map<String, Value> = conditions
                .into_iter()
                .map(|(op, keys)| {
                    let keys: Map<String, Value> = keys
                        .into_iter()
                        .map(|(k, v)| (k, one_or_many(&v)))
                        .collect();
                    (op, Value::Object(keys))
                })
                .collect();
            statements.push(json!({
                "Effect": "Allow",
                "Principal": {"Federated": self.provider.arn},
                "Action": ACTION,
                "Condition": condition,
            }));
        }
        json!({"Version": POLICY_VERSION, "Statement": statements})
    }

    /// [`document`](Self::document) as compact JSON.
    pub fn json(&self) -> String {
        self.document().to_string()
    }
}

/// An evaluator that decides, the way IAM does, whether a request matches a
/// policy: the tests check what the documents mean, not only their text.
#[cfg(test)]
mod evaluate {
    use super::*;

    /// An `AssumeRoleWithWebIdentity` request as the trust policy sees it.
    #[derive(Clone, Debug, Default)]
    pub struct Request {
        /// The federated principal: the OIDC provider ARN.
        pub federated: String,
        pub action: String,
        /// Condition keys (case-insensitive) and their values, e.g.
        /// `oidc.example.com:sub` -> `["system:serviceaccount:default:app"]`.
        pub context: BTreeMap<String, Vec<String>>,
    }

    impl Request {
        /// The request STS makes for a token with these claims, issued by the
        /// provider of `provider`.
        pub fn web_identity(provider: &OidcProviderArn, sub: &str, aud: &[&str]) -> Request {
            let mut context = BTreeMap::new();
            context.insert(provider.sub_key().to_ascii_lowercase(), vec![sub.into()]);
            context.insert(
                provider.aud_key().to_ascii_lowercase(),
                aud.iter().map(|a| a.to_string()).collect(),
            );
            Request {
                federated: provider.arn.clone(),
                action: ACTION.into(),
                context,
            }
        }
    }

    /// Whether `policy` allows `request`: an explicit Deny that matches wins;
    /// otherwise any matching Allow allows. A statement matches when its
    /// principal and action match and every condition holds: operators ANDed,
    /// keys within an operator ANDed, the values of a key ORed. Operators this
    /// evaluator does not know make their statement not match (so an unknown
    /// operator never allows anything).
    pub fn allows(policy: &Value, request: &Request) -> bool {
        let statements: Vec<&Value> = match &policy["Statement"] {
            Value::Array(a) => a.iter().collect(),
            s @ Value::Object(_) => vec![s],
            _ => return false,
        };
        let matching = |effect: &str| {
            statements
                .iter()
                .filter(|s| s["Effect"] == effect)
                .any(|s| statement_matches(s, request))
        };
        !matching("Deny") && matching("Allow")
    }

    pub(super) fn strings(v: &Value) -> Vec<&str> {
        match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn statement_matches(s: &Value, r: &Request) -> bool {
        let principal_ok = match &s["Principal"] {
            Value::String(p) => p == "*",
            Value::Object(m) => m
                .get("Federated")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .any(|p| *p == "*" || *p == r.federated),
            _ => false,
        };
        let action_ok = strings(&s["Action"])
            .iter()
            .any(|a| glob_match(&a.to_ascii_lowercase(), &r.action.to_ascii_lowercase()));
        if !principal_ok || !action_ok {
            return false;
        }
        match &s["Condition"] {
            Value::Null => true,
            Value::Object(ops) => ops.iter().all(|(op, keys)| match keys {
                Value::Object(keys) => keys.iter().all(|(key, values)| {
                    let present = r.context.get(&key.to_ascii_lowercase());
                    condition_holds(op, present.map(Vec::as_slice), &strings(values))
                }),
                _ => false,
            }),
            _ => false,
        }
    }

    /// One operator on one key: `present` are the request's values (None when
    /// the key is not in the request), `wanted` the policy's.
    pub(super) fn condition_holds(op: &str, present: Option<&[String]>, wanted: &[&str]) -> bool {
        let (set_mode, op) = if let Some(rest) = op.strip_prefix("ForAnyValue:") {
            (Some(true), rest)
        } else if let Some(rest) = op.strip_prefix("ForAllValues:") {
            (Some(false), rest)
        } else {
            (None, op)
        };
        let (if_exists, op) = match op.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, op),
        };
        let test: fn(&str, &str) -> bool = match op {
            "StringEquals" | "StringNotEquals" => |p, v| p == v,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => {
                |p, v| p.eq_ignore_ascii_case(v)
            }
            "StringLike" | "StringNotLike" => |p, v| glob_match(p, v),
            _ => return false,
        };
        let negated = op.contains("Not");
        let Some(values) = present.filter(|v| !v.is_empty()) else {
            // A missing key: no positive operator matches; negated ones,
            // IfExists and ForAllValues (vacuously) do.
            return if_exists || negated || set_mode == Some(false);
        };
        let one = |v: &String| wanted.iter().any(|p| test(p, v));
        match set_mode {
            Some(true) => values.iter().any(one) != negated,
            Some(false) => values.iter().all(|v| one(v) != negated),
            // A single-valued operator on a multi-valued key: any value matches.
            None => values.iter().any(one) != negated,
        }
    }

    /// IAM's `StringLike`: `*` matches any run of characters (also none), `?`
    /// exactly one; everything else literally, case-sensitively.
    pub fn glob_match(pattern: &str, value: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let v: Vec<char> = value.chars().collect();
        // Iterative matching with backtracking to the last `*`.
        let (mut i, mut j) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while j < v.len() {
            if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
                i += 1;
                j += 1;
            } else if i < p.len() && p[i] == '*' {
                star = Some((i, j));
                i += 1;
            } else if let Some((si, sj)) = star {
                i = si + 1;
                j = sj + 1;
                star = Some((si, sj + 1));
            } else {
                return false;
            }
        }
        p[i..].iter().all(|c| *c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::evaluate::*;
    use super::*;

    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";

    fn sa(s: &str) -> ServiceAccount {
        ServiceAccount::parse(s).unwrap()
    }

    fn policy(arn: &str, sas: &[&str], extra: Vec<Condition>) -> TrustPolicy {
        TrustPolicy {
            provider: OidcProviderArn::parse(arn).unwrap(),
            service_accounts: sas.iter().map(|s| sa(s)).collect(),
            audiences: vec![DEFAULT_AUDIENCE.into()],
            extra_conditions: extra,
        }
    }

    #[test]
    fn exact_and_wildcard_subjects_go_to_separate_statements() {
        let p = policy(ARN, &["jobs/*", "default/my-app", "default/api"], vec![]);
        // Checked by hand against AWS's IRSA examples.
        let expected = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com","oidc.example.com:sub":["system:serviceaccount:default:api","system:serviceaccount:default:my-app"]}}},{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.com:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com:sub":"system:serviceaccount:jobs:*"}}}]}"#;
        assert_eq!(p.json(), expected);
    }

    #[test]
    fn one_exact_subject_and_a_path_in_another_partition() {
        let p = policy(
            "arn:aws-cn:iam::123456789012:oidc-provider/oidc.example.cn/cluster-a",
            &["kube-system/aws-node"],
            vec![],
        );
        let expected = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws-cn:iam::123456789012:oidc-provider/oidc.example.cn/cluster-a"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.example.cn/cluster-a:aud":"sts.amazonaws.com","oidc.example.cn/cluster-a:sub":"system:serviceaccount:kube-system:aws-node"}}}]}"#;
        assert_eq!(p.json(), expected);
        assert_eq!(
            default_audience(Partition::AwsCn),
            Some("sts.amazonaws.com.cn")
        );
        assert_eq!(
            default_audience(Partition::AwsUsGov),
            Some("sts.amazonaws.com")
        );
        assert_eq!(default_audience(Partition::AwsIso), None);
    }

    #[test]
    fn input_order_and_duplicates_do_not_change_the_output() {
        let a = policy(ARN, &["b/x", "a/y", "c/z-*", "a/y"], vec![]);
        let b = policy(ARN, &["c/z-*", "a/y", "b/x"], vec![]);
        assert_eq!(a.json(), b.json());
        let extra = |vals: &[&str]| Condition {
            test: "ForAnyValue:StringLike".into(),
            variable: "oidc.example.com:amr".into(),
            values: vals.iter().map(|s| s.to_string()).collect(),
        };
        let a = policy(ARN, &["a/y"], vec![extra(&["2", "1"])]);
        let b = policy(ARN, &["a/y"], vec![extra(&["1", "2", "1"])]);
        assert_eq!(a.json(), b.json());
        assert!(a.json().contains(
            r#""ForAnyValue:StringLike":{"oidc.example.com:amr":["1","2"]},"StringEquals""#
        ));
    }

    #[test]
    fn extra_conditions_on_our_keys_or_twice_are_refused() {
        let c = |test: &str, var: &str| Condition {
            test: test.into(),
            variable: var.into(),
            values: vec!["x".into()],
        };
        let p = policy(
            ARN,
            &["a/b"],
            vec![
                c("StringLike", "aws:SourceIp"),
                c("StringLike", "OIDC.example.com:sub"),
            ],
        );
        let (i, msg) = p.check_extra_conditions().unwrap_err();
        assert_eq!(i, 1);
        assert!(msg.contains("service_accounts"), "{msg}");
        let p = policy(
            ARN,
            &["a/b"],
            vec![
                c("Bool", "aws:SecureTransport"),
                c("Bool", "aws:securetransport"),
            ],
        );
        assert!(p.check_extra_conditions().unwrap_err().1.contains("twice"));
        // A negated operator on :sub narrows the policy: allowed.
        let p = policy(
            ARN,
            &["a/*"],
            vec![c("StringNotEquals", "oidc.example.com:sub")],
        );
        assert!(p.check_extra_conditions().is_ok());
    }

    #[test]
    fn arns_are_checked() {
        let ok = OidcProviderArn::parse(ARN).unwrap();
        assert_eq!(ok.partition, Partition::Aws);
        assert_eq!(ok.account_id, "123456789012");
        assert_eq!(ok.sub_key(), "oidc.example.com:sub");
        for (bad, why) in [
            ("oidc.example.com", "not an ARN"),
            (
                "arn:aws:iam::123456789012:role/app",
                "IAM role, not of an OIDC provider",
            ),
            ("arn:aws:s3::123456789012:oidc-provider/x", "service \"s3\""),
            (
                "arn:aws:iam:eu-west-1:123456789012:oidc-provider/x",
                "region",
            ),
            ("arn:aws:iam::1234:oidc-provider/x", "not 12 digits"),
            (
                "arn:aws:iam::123456789012:oidc-provider/",
                "no provider host",
            ),
            (
                "arn:aws:iam::123456789012:oidc-provider/https://x.example.com",
                "without its scheme",
            ),
            (
                "arn:aws:iam::123456789012:oidc-provider/x.example.com/",
                "slash",
            ),
            (
                "arn:aws:iam::123456789012:oidc-provider/x.example.com:443",
                "port",
            ),
            ("arn::iam::123456789012:oidc-provider/x", "partition"),
            (
                "arn:aws-china:iam::123456789012:oidc-provider/x",
                "\"aws-china\", which does not exist",
            ),
            (" arn:aws:iam::123456789012:oidc-provider/x", "whitespace"),
        ] {
            let e = OidcProviderArn::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn service_accounts_are_checked() {
        assert_eq!(
            sa("default/my-app"),
            ServiceAccount {
                namespace: "default".into(),
                name: "my-app".into(),
                wildcard: false
            }
        );
        assert!(sa("jobs/*").wildcard);
        assert!(sa("jobs/batch-?").wildcard);
        assert!(!sa("kube-system/a.b").wildcard);
        for (bad, why) in [
            ("*", "every service account"),
            ("*/*", "every service account"),
            ("*/app", "not in the namespace"),
            ("team-*/app", "not in the namespace"),
            ("app", "<namespace>/<name>"),
            ("default/", "empty service account name"),
            ("Default/app", "DNS label"),
            ("-x/app", "DNS label"),
            ("default/My_App", "DNS subdomain"),
            ("default/app_*", "may hold only"),
        ] {
            let e = ServiceAccount::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("{}/x", "a".repeat(64));
        assert!(ServiceAccount::parse(&long).unwrap_err().contains("63"));
        assert!(check_operator("StringEquals").is_ok());
        assert!(check_operator("ForAllValues:StringLikeIfExists").is_ok());
        assert!(check_operator("Null").is_ok());
        assert!(check_operator("StringEqual").is_err());
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob_match(
            "system:serviceaccount:jobs:*",
            "system:serviceaccount:jobs:x"
        ));
        assert!(glob_match(
            "system:serviceaccount:jobs:*",
            "system:serviceaccount:jobs:"
        ));
        assert!(!glob_match(
            "system:serviceaccount:jobs:*",
            "system:serviceaccount:job:x"
        ));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b", "xxaxxbxxc"));
        assert!(!glob_match("abc", "ABC"));
        assert!(glob_match("**", ""));
    }

    /// The policy evaluated the way IAM does: the matching subject is
    /// allowed; a subject of another namespace, another audience, another
    /// provider, or a `*` that would have been taken literally is not.
    #[test]
    fn iam_evaluation_of_the_generated_policy() {
        let p = policy(ARN, &["default/my-app", "jobs/*"], vec![]);
        let doc = p.document();
        let provider = &p.provider;
        let allowed =
            |sub: &str, aud: &[&str]| allows(&doc, &Request::web_identity(provider, sub, aud));
        assert!(allowed(
            "system:serviceaccount:default:my-app",
            &["sts.amazonaws.com"]
        ));
        assert!(allowed(
            "system:serviceaccount:jobs:nightly",
            &["sts.amazonaws.com"]
        ));
        assert!(!allowed(
            "system:serviceaccount:default:other",
            &["sts.amazonaws.com"]
        ));
        assert!(!allowed(
            "system:serviceaccount:jobsx:nightly",
            &["sts.amazonaws.com"]
        ));
        assert!(!allowed(
            "system:serviceaccount:default:my-app",
            &["amazonaws.com"]
        ));
        // Another provider (a different issuer) is another principal.
        let other =
            OidcProviderArn::parse("arn:aws:iam::123456789012:oidc-provider/other.example.com")
                .unwrap();
        assert!(!allows(
            &doc,
            &Request::web_identity(
                &other,
                "system:serviceaccount:default:my-app",
                &["sts.amazonaws.com"]
            )
        ));
        // Other actions are not allowed.
        let mut r = Request::web_identity(
            provider,
            "system:serviceaccount:default:my-app",
            &["sts.amazonaws.com"],
        );
        r.action = "sts:AssumeRole".into();
        assert!(!allows(&doc, &r));
    }

    /// Why the two kinds of subjects need two statements: one statement
    /// with StringEquals and StringLike on `:sub` ANDs them, so the exact
    /// account fails StringLike's pattern and the wildcard one fails
    /// StringEquals. The evaluator shows it.
    #[test]
    fn both_operators_in_one_statement_would_match_nothing() {
        let wrong = json!({"Version": POLICY_VERSION, "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": ARN},
            "Action": ACTION,
            "Condition": {
                "StringEquals": {"oidc.example.com:aud": "sts.amazonaws.com",
                                 "oidc.example.com:sub": "system:serviceaccount:default:my-app"},
                "StringLike": {"oidc.example.com:sub": "system:serviceaccount:jobs:*"}
            }
        }]});
        let provider = OidcProviderArn::parse(ARN).unwrap();
        for sub in [
            "system:serviceaccount:default:my-app",
            "system:serviceaccount:jobs:x",
        ] {
            assert!(!allows(
                &wrong,
                &Request::web_identity(&provider, sub, &["sts.amazonaws.com"])
            ));
        }
    }

    #[test]
    fn evaluator_operators_deny_and_missing_keys() {
        let provider = OidcProviderArn::parse(ARN).unwrap();
        let extra = Condition {
            test: "StringNotLike".into(),
            variable: "oidc.example.com:sub".into(),
            values: vec!["system:serviceaccount:jobs:admin*".into()],
        };
        let p = policy(ARN, &["jobs/*"], vec![extra]);
        let doc = p.document();
        let r = |sub: &str| Request::web_identity(&provider, sub, &["sts.amazonaws.com"]);
        assert!(allows(&doc, &r("system:serviceaccount:jobs:nightly")));
        assert!(!allows(&doc, &r("system:serviceaccount:jobs:admin-1")));
        // A request without the sub key matches no positive condition.
        let mut no_sub = r("x");
        no_sub.context.remove("oidc.example.com:sub");
        assert!(!allows(&doc, &no_sub));
        // An explicit deny wins over an allow.
        let mut with_deny = doc.clone();
        with_deny["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny", "Principal": {"Federated": "*"}, "Action": "sts:*",
            "Condition": {"StringEquals": {"oidc.example.com:sub": "system:serviceaccount:jobs:nightly"}}
        }));
        assert!(!allows(
            &with_deny,
            &r("system:serviceaccount:jobs:nightly")
        ));
        assert!(allows(&with_deny, &r("system:serviceaccount:jobs:other")));
        // An unknown operator never allows.
        let odd = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": ARN},
            "Action": ACTION, "Condition": {"Whatever": {"oidc.example.com:sub": "*"}}}});
        assert!(!allows(&odd, &r("system:serviceaccount:jobs:nightly")));
        // IfExists on a missing key holds; ForAnyValue on a list.
        assert!(condition_holds("StringEqualsIfExists", None, &["x"]));
        assert!(condition_holds(
            "ForAnyValue:StringEquals",
            Some(&["a".to_string(), "b".to_string()]),
            &["b"]
        ));
        assert!(!condition_holds(
            "ForAllValues:StringEquals",
            Some(&["a".to_string(), "b".to_string()]),
            &["b"]
        ));
    }
}
