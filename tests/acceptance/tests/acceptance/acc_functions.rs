//! Acceptance tests of the provider-defined functions
//! `provider::irsa::trust_policy` and `provider::irsa::jwks_from_pem`, run
//! with the REAL Terraform CLI on every version the harness finds: on
//! Terraform 1.8 and later (1.11.4, 1.15.5 here) each function gives what
//! its data source gives for the same inputs, and refuses bad arguments
//! naming the argument, at plan, before anything else runs; on older ones
//! (1.0.3) the provider, which now declares functions, still plans and
//! applies the data sources, and Terraform itself refuses the call.
//!
//! Needs: `cargo build -p terraform-provider-irsa`, a Terraform. No AWS,
//! no cluster: both functions are pure.

use irsa_acceptance::harness::{
    each_terraform, hcl_string, TerraformBinary, Workdir, REQUIRED_PROVIDERS,
};
use serde_json::Value;

const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com";
const ARN_CN: &str = "arn:aws-cn:iam::123456789012:oidc-provider/oidc.example.cn/cluster";

fn functions_exist(tf: &TerraformBinary) -> bool {
    tf.version_tuple() >= (1, 8, 0)
}

fn fixture_pem(name: &str) -> String {
    let p = irsa_acceptance::harness::workspace_root()
        .join("provider/src/oidc/testdata")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One case: the data source's inputs, and the same as function arguments.
struct Case {
    name: &'static str,
    arn: &'static str,
    service_accounts: &'static [&'static str],
    audience: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "exact",
        arn: ARN,
        service_accounts: &["default/app"],
        audience: None,
    },
    Case {
        name: "mixed",
        arn: ARN,
        service_accounts: &["jobs/*", "default/app", "default/app", "kube-system/a?c"],
        audience: Some("sts.amazonaws.com"),
    },
    Case {
        name: "china",
        arn: ARN_CN,
        service_accounts: &["default/app"],
        audience: None,
    },
    Case {
        name: "other_audience",
        arn: ARN,
        service_accounts: &["default/app"],
        audience: Some("amazonaws.com"),
    },
];

fn list(items: &[&str]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| hcl_string(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Data sources for every case and both PEM files; with `functions`, the
/// functions on the same inputs beside them.
fn config(functions: bool) -> String {
    let mut s = format!("{REQUIRED_PROVIDERS}\n");
    for c in CASES {
        let audience = c
            .audience
            .map(|a| format!("  audience          = {}\n", hcl_string(a)))
            .unwrap_or_default();
        s.push_str(&format!(
            "data \"irsa_trust_policy\" \"{n}\" {{\n  oidc_provider_arn = {arn}\n  service_accounts  = {sas}\n{audience}}}\n\
             output \"ds_{n}\" {{\n  value = data.irsa_trust_policy.{n}.json\n}}\n",
            n = c.name,
            arn = hcl_string(c.arn),
            sas = list(c.service_accounts),
        ));
        if functions {
            let audience = c
                .audience
                .map(|a| format!(", {}", hcl_string(a)))
                .unwrap_or_default();
            s.push_str(&format!(
                "output \"fn_{n}\" {{\n  value = provider::irsa::trust_policy({arn}, {sas}{audience})\n}}\n",
                n = c.name,
                arn = hcl_string(c.arn),
                sas = list(c.service_accounts),
            ));
        }
    }
    let pems = r#"[file("${path.module}/rsa.pem"), file("${path.module}/ec.pem")]"#;
    s.push_str(&format!(
        "data \"irsa_jwks\" \"k\" {{\n  public_keys_pem = {pems}\n}}\n\
         output \"ds_jwks\" {{\n  value = data.irsa_jwks.k.json\n}}\n\
         output \"ds_kids\" {{\n  value = data.irsa_jwks.k.keys[*].kid\n}}\n"
    ));
    if functions {
        s.push_str(&format!(
            "output \"fn_jwks\" {{\n  value = provider::irsa::jwks_from_pem({pems})\n}}\n\
             output \"fn_kids\" {{\n  value = jsondecode(provider::irsa::jwks_from_pem({pems})).keys[*].kid\n}}\n\
             output \"same_by_meaning\" {{\n  value = alltrue([{}])\n}}\n",
            CASES
                .iter()
                .map(|c| format!(
                    "jsondecode(data.irsa_trust_policy.{n}.json) == jsondecode(provider::irsa::trust_policy({arn}, {sas}{aud}))",
                    n = c.name,
                    arn = hcl_string(c.arn),
                    sas = list(c.service_accounts),
                    aud = c.audience.map(|a| format!(", {}", hcl_string(a))).unwrap_or_default(),
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

fn json_of(v: &Value) -> Value {
    serde_json::from_str(v.as_str().expect("a JSON string")).expect("JSON")
}

/// Each function gives its data source's document for the same inputs
/// (compared by meaning in Terraform, and exactly here: both are compact
/// and sorted), and the same JWKS with the same kids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_agree_with_their_data_sources() {
    let (rsa, ec) = (
        fixture_pem("rsa2048.pub.pem"),
        fixture_pem("ec-p256.pub.pem"),
    );
    each_terraform(|tf| {
        let (rsa, ec) = (rsa.clone(), ec.clone());
        async move {
            let label = tf.label();
            let wd = Workdir::new(&tf, &config(functions_exist(&tf)));
            wd.write_file("rsa.pem", &rsa);
            wd.write_file("ec.pem", &ec);
            wd.apply().await.expect("apply");
            let out = wd.output_json().await;
            let v = |name: &str| out[name]["value"].clone();
            if !functions_exist(&tf) {
                // The provider declares functions; this Terraform ignores
                // them and the data sources work as before.
                assert!(v("ds_exact").is_string(), "[{label}] {out:#}");
                let call = format!(
                    "{REQUIRED_PROVIDERS}\noutput \"x\" {{\n  value = provider::irsa::trust_policy({}, [\"default/app\"])\n}}\n",
                    hcl_string(ARN)
                );
                wd.set_config(&call);
                let e = wd.run(&["plan"]).await;
                assert!(!e.success(), "[{label}] no provider functions before 1.8:\n{e}");
                return;
            }
            for c in CASES {
                let (ds, f) = (v(&format!("ds_{}", c.name)), v(&format!("fn_{}", c.name)));
                assert_eq!(ds, f, "[{label}] {}: function and data source differ", c.name);
                let doc = json_of(&f);
                let aud = &doc["Statement"][0]["Condition"]["StringEquals"];
                let key = aud.as_object().unwrap().keys().find(|k| k.ends_with(":aud")).unwrap().clone();
                let want = match (c.audience, c.arn) {
                    (Some(a), _) => a,
                    (None, ARN_CN) => "sts.amazonaws.com.cn",
                    (None, _) => "sts.amazonaws.com",
                };
                assert_eq!(aud[&key], want, "[{label}] {}: audience", c.name);
            }
            assert_eq!(v("same_by_meaning"), Value::Bool(true), "[{label}]");
            assert_eq!(v("ds_jwks"), v("fn_jwks"), "[{label}] jwks_from_pem differs from irsa_jwks");
            assert_eq!(v("ds_kids"), v("fn_kids"), "[{label}] kids differ");
            assert_eq!(v("fn_kids").as_array().map(Vec::len), Some(2), "[{label}]");
            wd.plan_is_empty().await;
        }
    })
    .await;
}

/// Bad arguments fail the plan naming the argument (Terraform's "Invalid
/// value for "<parameter>" parameter", from the FunctionError's argument
/// index), under the data sources' rules, and with the data sources' words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_naming_the_argument() {
    let private = fixture_pem("test-only-rsa2048-private.pem");
    each_terraform(|tf| {
        let private = private.clone();
        async move {
            let label = tf.label();
            if !functions_exist(&tf) {
                eprintln!("[{label}] no provider functions before Terraform 1.8: nothing to check");
                return;
            }
            let cases: Vec<(String, &str, &str)> = vec![
                (
                    "provider::irsa::trust_policy(\"arn:aws:iam::123456789012:role/x\", [\"default/app\"])".to_string(),
                    "oidc_provider_arn",
                    "Invalid OIDC provider ARN",
                ),
                (
                    format!("provider::irsa::trust_policy({}, [\"default/app\", \"*/x\"])", hcl_string(ARN)),
                    "service_accounts",
                    "element 1: Invalid service account: .*wildcards are allowed in the name only",
                ),
                (
                    format!("provider::irsa::trust_policy({}, [])", hcl_string(ARN)),
                    "service_accounts",
                    "No service accounts",
                ),
                (
                    format!(
                        "provider::irsa::trust_policy({}, [\"default/app\"], \"sts.amazonaws.com\", \" sts\")",
                        hcl_string(ARN)
                    ),
                    "audiences",
                    "Invalid audience",
                ),
                (
                    "provider::irsa::trust_policy(\"arn:aws-iso:iam::123456789012:oidc-provider/x.example\", [\"a/b\"])".to_string(),
                    "audiences",
                    "Audience required: There is no default audience for the partition",
                ),
                (
                    "provider::irsa::jwks_from_pem([file(\"${path.module}/private.pem\")])".to_string(),
                    "public_keys_pem",
                    "element 0: Invalid public key",
                ),
                (
                    "provider::irsa::jwks_from_pem([])".to_string(),
                    "public_keys_pem",
                    "No public keys",
                ),
            ];
            for (call, param, pattern) in cases {
                let wd = Workdir::new(&tf, &format!("{REQUIRED_PROVIDERS}\noutput \"x\" {{\n  value = {call}\n}}\n"));
                wd.write_file("private.pem", &private);
                let out = wd
                    .expect_error(&["plan"], &format!("Invalid value for \"{param}\" parameter: {pattern}"))
                    .await;
                // The key material is never repeated.
                let body: String = private.lines().nth(1).unwrap_or_default().to_string();
                assert!(!out.combined().contains(&body), "[{label}] key material in the error:\n{out}");
            }
        }
    })
    .await;
}
