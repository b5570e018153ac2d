//! S3-only hosting: the full cycle and key rotation.

use super::checks::*;
use super::*;

// ---------------------------------------------------------------------------
// 2. S3 hosting full cycle
// ---------------------------------------------------------------------------

/// S3 hosting with an RSA and an EC key: issuer =
/// `https://<bucket>.s3.eu-west-1.amazonaws.com`; PAB allows only the
/// policy; the policy makes exactly the two documents public and denies
/// non-TLS; discovery lists ES256 and RS256; no CloudFront/ACM/Route53
/// parts or attributes → empty plan → import → empty plan → destroy →
/// nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_full_cycle() {
    let moto = start_moto().await;
    let (a, ec) = (TestKey::fixture(), TestKey::ec_p256());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, ec) = (a.clone(), ec.clone());
        bounded(BODY_LIMIT, "s3_full_cycle", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let name = "dev-cluster";
            let hcl = IssuerHcl::s3(name)
                .keys(2)
                .with(r#"tags = { team = "platform", env = "dev" }"#);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&a, &ec]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let mut exp = Expect::s3(name, &[&a, &ec]);
            assert_eq!(exp.algs, vec!["ES256", "RS256"]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.user_tags.insert("env".into(), "dev".into());
            exp.data_jwks = wd
                .output_value("data_jwks")
                .await
                .as_str()
                .map(str::to_string);
            let snap = snapshot(&moto.endpoint).await;
            check_s3(&label, &snap, &v, &exp);
            assert_eq!(
                str_attr(&v, "issuer_url"),
                format!("https://dev-cluster-oidc-{ACCOUNT_ID}.s3.eu-west-1.amazonaws.com")
            );
            check_outputs(&label, &wd, &v).await;
            wd.plan_is_empty().await;

            remove_and_import(&label, &wd, name).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &values(&wd).await,
                &exp,
            );

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 3. JWKS rotation
// ---------------------------------------------------------------------------

/// S3 hosting. Key A → add B (JWKS object holds A and B) → remove A with
/// `key_retention = "1h"` (A still published, `retained_keys` = A with
/// `expires_at` about an hour ahead) → `key_retention = "0s"` (A gone from
/// the object and the attributes). Then client IDs and a thumbprint are
/// changed in place on the same OIDC provider. Each step: empty plan after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotation_s3() {
    let moto = start_moto().await;
    let (a, b) = (TestKey::fixture(), TestKey::rsa());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, b) = (a.clone(), b.clone());
        bounded(BODY_LIMIT, "jwks_rotation_s3", async move {
            let label = tf.label();
            moto.reset().await.expect("reset");
            let name = "rot-cluster";
            let base = IssuerHcl::s3(name);
            let wd = workdir(&tf, moto, &moto.endpoint, &base, &[&a]);
            ok(wd.apply().await);
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &values(&wd).await,
                &Expect::s3(name, &[&a]),
            );
            wd.plan_is_empty().await;
            let discovery_before = str_attr(&values(&wd).await, "discovery_document").to_string();

            // Add B.
            reconfigure(&wd, &base.clone().keys(2), &[&a, &b]);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"0 to add, 1 to change, 0 to destroy"),
                "[{label}] adding a key must update in place:\n{out}"
            );
            let v = values(&wd).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &v,
                &Expect::s3(name, &[&a, &b]),
            );
            assert_eq!(
                str_attr(&v, "discovery_document"),
                discovery_before,
                "[{label}] discovery changed"
            );
            wd.plan_is_empty().await;

            // Remove A, keep it for an hour.
            let removed_at = time::OffsetDateTime::now_utc();
            reconfigure(&wd, &base.clone().with(r#"key_retention = "1h""#), &[&b]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let snap = snapshot(&moto.endpoint).await;
            // Still published: the documents hold A and B.
            check_s3(&label, &snap, &v, &Expect::s3(name, &[&a, &b]));
            let retained = as_list(&v["retained_keys"]);
            assert_eq!(
                retained.len(),
                1,
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            assert_eq!(retained[0]["kid"], a.kid.as_str(), "[{label}] retained kid");
            let expires = retained[0]["expires_at"].as_str().unwrap_or("");
            let expires = time::OffsetDateTime::parse(
                expires,
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap_or_else(|e| panic!("[{label}] expires_at {expires:?} is not RFC 3339: {e}"));
            let ahead = expires - removed_at;
            assert!(
                ahead > time::Duration::minutes(55) && ahead < time::Duration::minutes(65),
                "[{label}] expires_at {expires} is not about 1h after the removal ({removed_at})"
            );
            wd.plan_is_empty().await;

            // Retention over: A goes at the next apply.
            reconfigure(&wd, &base.clone().with(r#"key_retention = "0s""#), &[&b]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            check_s3(
                &label,
                &snapshot(&moto.endpoint).await,
                &v,
                &Expect::s3(name, &[&b]),
            );
            assert!(
                as_list(&v["retained_keys"]).is_empty(),
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            wd.plan_is_empty().await;

            // Client IDs and thumbprints change in place on the same provider.
            let arn = str_attr(&v, "oidc_provider_arn").to_string();
            let thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
            let hcl = base
                .clone()
                .with(r#"key_retention = "0s""#)
                .with(r#"client_ids = ["sts.amazonaws.com", "my-audience"]"#)
                .with(&format!(r#"thumbprints = ["{thumb}"]"#));
            reconfigure(&wd, &hcl, &[&b]);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"0 to add, 1 to change, 0 to destroy"),
                "[{label}] client IDs must change in place:\n{out}"
            );
            let v = values(&wd).await;
            assert_eq!(str_attr(&v, "oidc_provider_arn"), arn);
            let mut exp = Expect::s3(name, &[&b]);
            exp.client_ids = vec!["sts.amazonaws.com".into(), "my-audience".into()];
            exp.thumbprints = vec![thumb.into()];
            check_s3(&label, &snapshot(&moto.endpoint).await, &v, &exp);
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}
