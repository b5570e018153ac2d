//! Bad input refused at plan time without AWS calls, and a wrong zone
//! refused before anything is created.

use super::*;
use irsa_acceptance::fault_proxy::FaultProxy;

// ---------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------

/// Line (1-based) of `  <attr> =` in the rendered resource block.
fn line_of(config: &str, attr: &str) -> Option<usize> {
    let in_resource = config.find("resource \"irsa_oidc_issuer\"")?;
    let offset = config[..in_resource].lines().count();
    config[in_resource..]
        .lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with(&format!("{attr} =")) || t.starts_with(&format!("{attr}="))
        })
        .map(|i| offset + i + 1)
}

struct BadCase {
    what: &'static str,
    hcl: IssuerHcl,
    /// The attribute the diagnostic must point at.
    attr: &'static str,
    /// Files to write into the work dir.
    files: Vec<(&'static str, String)>,
    /// Text that must NOT appear anywhere in the output.
    secret: Option<&'static str>,
}

const PRIVATE_D: &str = "cHJpdmF0ZS1leHBvbmVudC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ";

fn bad_cases(key: &TestKey) -> Vec<BadCase> {
    let cf = || IssuerHcl::cloudfront("prod", "oidc.example.com", "Z0123456789ABCDEFGHIJ");
    let s3 = || IssuerHcl::s3("prod");
    let with_name = |n: &str| {
        let mut h = s3();
        h.name = n.to_string();
        h
    };
    let with_domain = |d: &str| {
        let mut h = cf();
        h.domain = Some(d.to_string());
        h
    };
    let file_jwks = |mut h: IssuerHcl, f: &str| {
        h.jwks_expr = Some(format!("file(\"${{path.module}}/{f}\")"));
        h
    };
    let jwk = key.rsa_jwk();
    let mut private = jwk.clone();
    private["d"] = json!(PRIVATE_D);
    let thumb = "0123456789abcdef0123456789abcdef01234567";
    vec![
        BadCase {
            what: "name of 46 characters (bucket > 63)",
            hcl: with_name(&"a".repeat(46)),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with uppercase",
            hcl: with_name("Prod-Cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with underscore",
            hcl: with_name("prod_cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "name with dots",
            hcl: with_name("prod.cluster"),
            attr: "name",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with trailing dot",
            hcl: with_domain("oidc.example.com."),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with scheme",
            hcl: with_domain("https://oidc.example.com"),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain with uppercase",
            hcl: with_domain("OIDC.example.com"),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "hosting s3 with a domain",
            hcl: {
                let mut h = s3();
                h.domain = Some("oidc.example.com".into());
                h
            },
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "hosting cloudfront without domain",
            hcl: {
                let mut h = cf();
                h.domain = None;
                h
            },
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "empty JWKS",
            hcl: {
                let mut h = s3();
                h.jwks_expr = Some("jsonencode({ keys = [] })".into());
                h
            },
            attr: "jwks",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "JWKS with a private member d",
            hcl: file_jwks(s3(), "private.json"),
            attr: "jwks",
            files: vec![("private.json", json!({ "keys": [private] }).to_string())],
            secret: Some(PRIVATE_D),
        },
        BadCase {
            what: "JWKS with duplicate kids",
            hcl: file_jwks(s3(), "dup.json"),
            attr: "jwks",
            files: vec![("dup.json", {
                let mut other = TestKey::rsa().rsa_jwk();
                other["kid"] = jwk["kid"].clone();
                json!({ "keys": [jwk.clone(), other] }).to_string()
            })],
            secret: None,
        },
        BadCase {
            what: "no client IDs",
            hcl: s3().with("client_ids = []"),
            attr: "client_ids",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint of 39 characters",
            hcl: s3().with(&format!("thumbprints = [\"{}\"]", &thumb[..39])),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint not hex",
            hcl: s3().with(&format!("thumbprints = [\"{}\"]", "g".repeat(40))),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "six thumbprints",
            hcl: s3().with(&format!(
                "thumbprints = [{}]",
                vec![format!("\"{thumb}\""); 6].join(", ")
            )),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "cache TTLs out of order",
            hcl: cf().with("cache_ttl = { min = 10, default = 5, max = 100 }"),
            attr: "cache_ttl",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "key_retention \"1 day\"",
            hcl: s3().with(r#"key_retention = "1 day""#),
            attr: "key_retention",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "price class PriceClass_300",
            hcl: cf().with(r#"price_class = "PriceClass_300""#),
            attr: "price_class",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "domain of 65 characters (ACM allows 64)",
            hcl: with_domain(&format!("{}.example.com", "a".repeat(53))),
            attr: "domain",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "CloudFront hosting in aws-cn (provider region cn-north-1)",
            hcl: {
                let mut h = cf();
                h.region = Some("cn-north-1".into());
                h
            },
            attr: "hosting",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "CloudFront hosting in aws-us-gov (provider region us-gov-west-1)",
            hcl: {
                let mut h = cf();
                h.region = Some("us-gov-west-1".into());
                h
            },
            attr: "hosting",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "thumbprint in upper case (IAM stores lower case)",
            hcl: s3().with(&format!(
                "thumbprints = [\"{}\"]",
                thumb.to_ascii_uppercase()
            )),
            attr: "thumbprints",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag key with the reserved aws: prefix",
            hcl: s3().with(r#"tags = { "aws:team" = "x" }"#),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag value with a character AWS refuses",
            hcl: s3().with(r#"tags = { team = "a;b" }"#),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "tag key of 129 characters",
            hcl: s3().with(&format!("tags = {{ {} = \"x\" }}", "k".repeat(129))),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "48 tags with CloudFront hosting (50 less 3 irsa:* on the bucket)",
            hcl: cf().with(&format!(
                "tags = {{ {} }}",
                (0..48)
                    .map(|i| format!("t{i} = \"v\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            attr: "tags",
            files: vec![],
            secret: None,
        },
        BadCase {
            what: "zone id with /hostedzone/ prefix",
            hcl: {
                let mut h = cf();
                h.zone_id = Some("/hostedzone/Z0123456789ABCDEFGHIJ".into());
                h
            },
            attr: "route53_zone_id",
            files: vec![],
            secret: None,
        },
    ]
}

/// Each invalid value: `terraform plan` fails at plan time with an error
/// pointing at the attribute (its `on main.tf line N` is the attribute's
/// line, or, for a missing attribute, the message names it), a private
/// JWK member's value never appears in the output, and no AWS request is
/// made at all (AWS_ENDPOINT_URL is a counting proxy). Valid boundary
/// values (a 45-character name) pass `validate`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_at_plan_without_aws_calls() {
    let key = TestKey::fixture();
    let proxy = FaultProxy::start(NO_AWS_ENDPOINT).await.expect("proxy");
    // Not used for AWS (nothing may be called); only for its env variables.
    let moto_env: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), proxy.url()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ];
    let cases = bad_cases(&key);
    each_terraform(|tf| {
        let (key, cases, proxy, moto_env) = (key.clone(), &cases, &proxy, moto_env.clone());
        bounded(BODY_LIMIT, "bad_input", async move {
            let label = tf.label();
            let mut failures = Vec::new();
            for case in cases {
                let config = case.hcl.render();
                let mut wd = Workdir::new(&tf, &config);
                wd.envs(moto_env.clone());
                IssuerHcl::write_keys(&wd, &[&key]);
                for (f, body) in &case.files {
                    wd.write_file(f, body);
                }
                let out = wd.run(&["plan"]).await;
                let errors = out.diagnostics("Error");
                let mut problems = Vec::new();
                if out.success() || errors.is_empty() {
                    problems.push("plan did not fail with an error".to_string());
                }
                match line_of(&config, case.attr) {
                    Some(n) => {
                        let at = format!(
                            "on main.tf line {n}, in resource \"irsa_oidc_issuer\" \"this\""
                        );
                        if !errors
                            .iter()
                            .any(|e| e.contains(&at) && e.contains(&format!("{n}: {}", case.attr)))
                        {
                            problems.push(format!("no error points at `{}` ({at})", case.attr));
                        }
                    }
                    None => {
                        // Missing attribute: the message must name it.
                        let re = regex::Regex::new(&format!(r"\b{}\b", case.attr)).unwrap();
                        if !errors.iter().any(|e| re.is_match(e)) {
                            problems.push(format!("no error names `{}`", case.attr));
                        }
                    }
                }
                if let Some(secret) = case.secret {
                    if out.combined().contains(secret)
                        || normalize_ws(&out.combined()).contains(secret)
                    {
                        problems.push("the private key material appears in the output".to_string());
                    }
                }
                if !problems.is_empty() {
                    failures.push(format!("{}: {}\n{out}", case.what, problems.join("; ")));
                } else {
                    eprintln!(
                        "[{label}] ok: {} -> {}",
                        case.what,
                        errors.first().map(String::as_str).unwrap_or("")
                    );
                }
            }
            assert_eq!(
                proxy.requests(),
                0,
                "[{label}] AWS was called during plan of invalid input:\n{}",
                proxy.log_text()
            );
            // Boundary: 45 characters is a valid name.
            let hcl = IssuerHcl::s3(&"a".repeat(45));
            let wd = Workdir::new(&tf, &hcl.render());
            IssuerHcl::write_keys(&wd, &[&key]);
            if let Err(e) = wd.validate().await {
                failures.push(format!("a 45-character name should validate: {e:#}"));
            }
            assert!(
                failures.is_empty(),
                "[{label}] {} bad-input case(s) failed:\n{}",
                failures.len(),
                failures.join("\n\n")
            );
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 7. Zones
// ---------------------------------------------------------------------------

/// An unknown hosted zone id, and a zone that does not contain the domain:
/// apply fails with an error naming the zone (and the domain), the resource
/// is not in state, and moto holds nothing (no bucket, OAC, certificate,
/// record or OIDC provider).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_zone_fails_before_creating_anything() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "wrong_zone", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let other = create_zone(&moto.endpoint, "example.org").await;

            // Unknown zone id.
            let missing = "Z00000000000000NOTREAL";
            let hcl = IssuerHcl::cloudfront("zonetest", "oidc.example.com", missing);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            let out = wd.expect_error(&["apply", "-auto-approve"], missing).await;
            assert!(
                said(&out, missing) && said(&out, r"(?i)zone"),
                "[{label}] the error should name the missing zone:\n{out}"
            );
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] unknown zone: resource in state"
            );
            assert_nothing_left(&format!("{label} unknown zone"), moto).await;

            // A zone that does not contain the domain.
            let hcl = IssuerHcl::cloudfront("zonetest", "oidc.example.com", &other);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            let out = wd
                .expect_error(&["apply", "-auto-approve"], r"oidc\.example\.com")
                .await;
            assert!(
                said(&out, r"oidc\.example\.com") && said(&out, r"example\.org"),
                "[{label}] the error should name the domain and the zone's name:\n{out}"
            );
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] wrong zone: resource in state"
            );
            assert_nothing_left(&format!("{label} wrong zone"), moto).await;
        })
    })
    .await;
}
