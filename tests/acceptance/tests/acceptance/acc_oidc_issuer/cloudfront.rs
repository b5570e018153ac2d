//! CloudFront hosting: the full cycle, key rotation with invalidations, and
//! the records of others in the issuer's zone.

use super::checks::*;
use super::moto_changes::*;
use super::*;

// ---------------------------------------------------------------------------
// 1. CloudFront full cycle
// ---------------------------------------------------------------------------

/// CloudFront hosting: apply → every part checked in moto (bucket private,
/// SSE, versioning, policy for this distribution only + TLS deny; OAC;
/// ISSUED certificate in us-east-1; distribution settings; A/AAAA alias and
/// validation CNAME; both documents with content types and Cache-Control;
/// OIDC provider; tags everywhere) and every attribute/output → empty plan →
/// `state rm` + import by name → same state, empty plan → destroy → nothing
/// left in moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudfront_full_cycle() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "cloudfront_full_cycle", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            // Distributions read InProgress once after each change, so
            // check_cloudfront's `status == "Deployed"` holds only because
            // the provider waited for the deployment.
            slow_deployments(moto).await;
            let (name, domain) = ("prod-cluster", "oidc.prod.example.com");
            let hcl =
                IssuerHcl::cloudfront(name, domain, &zone).with(r#"tags = { team = "platform" }"#);
            let wd = workdir(&tf, moto, &moto.endpoint, &hcl, &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.data_jwks = wd
                .output_value("data_jwks")
                .await
                .as_str()
                .map(str::to_string);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &v, &exp);
            assert!(
                as_list(&v["retained_keys"]).is_empty(),
                "[{label}] retained_keys: {}",
                v["retained_keys"]
            );
            assert_eq!(v["hosting"], "cloudfront", "[{label}] hosting default");
            assert_eq!(
                v["price_class"], "PriceClass_100",
                "[{label}] price_class default"
            );
            assert_eq!(v["key_retention"], "24h", "[{label}] key_retention default");
            assert_eq!(
                v["cache_ttl"],
                json!({"min": 0, "default": 3600, "max": 86400}),
                "[{label}] cache_ttl default"
            );
            check_outputs(&label, &wd, &v).await;
            wd.plan_is_empty().await;

            remove_and_import(&label, &wd, name).await;
            let snap2 = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap2, &values(&wd).await, &exp);

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// moto's state manager: after each change (create, update) every
/// distribution reads `InProgress` at the first GetDistribution and
/// `Deployed` from the second on (`times: 2` counts the change's own
/// answer; checked against moto 5.2.5: create InProgress, get InProgress,
/// get Deployed). Without a provider that waits, the snapshot's first read
/// would see InProgress.
async fn slow_deployments(moto: &Moto) {
    set_distributions_in_progress_once(&moto.endpoint).await;
}

/// The invalidations of the (only) distribution whose paths are exactly
/// the two documents.
fn document_invalidations(snap: &Value) -> Vec<Value> {
    let want: BTreeSet<String> = [DISCOVERY_PATH, JWKS_PATH]
        .iter()
        .map(|s| s.to_string())
        .collect();
    as_list(&snap["distributions"][0]["invalidations"])
        .into_iter()
        .filter(|i| str_list(&i["paths"]).into_iter().collect::<BTreeSet<_>>() == want)
        .collect()
}

fn invalidation_count(snap: &Value) -> usize {
    as_list(&snap["distributions"][0]["invalidations"]).len()
}

/// CloudFront hosting (with a `timeouts` block). Adding a key re-uploads
/// the JWKS and creates an invalidation of exactly the two document paths;
/// removing one (retention 0s) does again; a tags-only change updates tags
/// on every part without an invalidation; price class and cache TTLs
/// change in place (same distribution, new Cache-Control). Empty plan after
/// each step; destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotation_cloudfront_invalidates() {
    let moto = start_moto().await;
    let (a, b) = (TestKey::fixture(), TestKey::rsa());
    each_terraform(|tf| {
        let moto = &moto;
        let (a, b) = (a.clone(), b.clone());
        bounded(BODY_LIMIT, "jwks_rotation_cloudfront_invalidates", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("rot-cf", "oidc.rot.example.com");
            let base = IssuerHcl::cloudfront(name, domain, &zone)
                .with(r#"key_retention = "0s""#)
                .with("timeouts {\n    create = \"15m\"\n    update = \"15m\"\n    delete = \"15m\"\n  }");
            let wd = workdir(&tf, moto, &moto.endpoint, &base, &[&a]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &values(&wd).await, &Expect::cloudfront(name, domain, &zone, &[&a]));
            let n0 = invalidation_count(&snap);
            let d0 = document_invalidations(&snap).len();
            wd.plan_is_empty().await;

            // Add B: documents updated, one invalidation of both paths.
            reconfigure(&wd, &base.clone().keys(2), &[&a, &b]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            let v = values(&wd).await;
            check_cloudfront(&label, &snap, &v, &Expect::cloudfront(name, domain, &zone, &[&a, &b]));
            assert!(
                document_invalidations(&snap).len() > d0,
                "[{label}] no invalidation of {DISCOVERY_PATH} and {JWKS_PATH} after adding a key: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            let n1 = invalidation_count(&snap);
            assert!(n1 > n0);
            wd.plan_is_empty().await;

            // Remove A (no retention): another invalidation.
            reconfigure(&wd, &base, &[&b]);
            ok(wd.apply().await);
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(&label, &snap, &values(&wd).await, &Expect::cloudfront(name, domain, &zone, &[&b]));
            let d2 = document_invalidations(&snap).len();
            assert!(
                invalidation_count(&snap) > n1 && d2 > 0,
                "[{label}] no new invalidation after removing a key: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            let n2 = invalidation_count(&snap);
            wd.plan_is_empty().await;

            // Tags only: every part re-tagged, no invalidation.
            let dist_id = str_attr(&values(&wd).await, "distribution_id").to_string();
            let tagged = base.clone().with(r#"tags = { team = "platform", env = "prod" }"#);
            reconfigure(&wd, &tagged, &[&b]);
            let out = ok(wd.apply().await);
            assert!(out.matches(r"0 to add, 1 to change, 0 to destroy"), "[{label}] tags must change in place:\n{out}");
            let snap = snapshot(&moto.endpoint).await;
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&b]);
            exp.user_tags.insert("team".into(), "platform".into());
            exp.user_tags.insert("env".into(), "prod".into());
            check_cloudfront(&label, &snap, &values(&wd).await, &exp);
            assert_eq!(
                invalidation_count(&snap),
                n2,
                "[{label}] a tags-only change must not invalidate: {:#}",
                snap["distributions"][0]["invalidations"]
            );
            wd.plan_is_empty().await;

            // Price class and TTLs in place.
            let tuned = tagged
                .clone()
                .with(r#"price_class = "PriceClass_All""#)
                .with("cache_ttl = { min = 0, default = 600, max = 3600 }");
            reconfigure(&wd, &tuned, &[&b]);
            let out = ok(wd.apply().await);
            assert!(out.matches(r"0 to add, 1 to change, 0 to destroy"), "[{label}] price class/TTLs must change in place:\n{out}");
            let v = values(&wd).await;
            assert_eq!(str_attr(&v, "distribution_id"), dist_id, "[{label}] distribution replaced");
            exp.price_class = "PriceClass_All".into();
            exp.ttl = (0, 600, 3600);
            check_cloudfront(&label, &snapshot(&moto.endpoint).await, &v, &exp);
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 8. Route53 records that are not ours
// ---------------------------------------------------------------------------

fn records_at<'a>(records: &'a [Value], name: &str, rtype: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| {
            r["type"].as_str() == Some(rtype)
                && trim_dot(r["name"].as_str().unwrap_or("")) == trim_dot(name)
        })
        .collect()
}

/// (a) `domain` already has someone else's A record: plan (and apply) is
/// refused with an error naming the domain, nothing is made, and the record
/// keeps its value (Route53's UPSERT would have repointed it).
/// (b) After a create, someone repoints the AAAA record to their own
/// address and requests a second ACM certificate for the same name (ACM
/// gives it the same validation CNAME): destroy deletes our A alias, leaves
/// the foreign AAAA and the shared validation CNAME, and removes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_records_of_others_are_left_alone() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "route53_others", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;

            // (a) A foreign A record at the domain.
            let taken = "oidc.taken.example.com";
            create_a_record(&ep, &zone, &taken).await;
            let hcl = IssuerHcl::cloudfront("taken", taken, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            for cmd in [&["plan"][..], &["apply", "-auto-approve"][..]] {
                let out = wd.run(cmd).await;
                assert!(
                    !out.success() && said(&out, &regex::escape(taken)) && said(&out, "192.0.2.10"),
                    "[{label}] {cmd:?} must be refused, naming the domain and the record:\n{out}"
                );
            }
            let snap = snapshot(&ep).await;
            assert!(
                snap["buckets"].as_object().is_none_or(|b| b.is_empty())
                    && as_list(&snap["certificates"]).is_empty()
                    && as_list(&snap["oacs"]).is_empty(),
                "[{label}] something was made: {snap:#}"
            );
            let recs = zone_records(&snap, &zone);
            let a = records_at(&recs, taken, "A");
            assert!(
                a.len() == 1 && a[0]["values"] == json!(["192.0.2.10"]),
                "[{label}] the foreign A record changed: {recs:#?}"
            );

            // (b) Records changed by others after create.
            let domain = "oidc.keep.example.com";
            let hcl = IssuerHcl::cloudfront("keep", domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let before = zone_records(&snapshot(&ep).await, &zone);
            let cnames: Vec<Value> = before
                .iter()
                .filter(|r| r["type"] == "CNAME")
                .cloned()
                .collect();
            assert_eq!(cnames.len(), 1, "[{label}] one validation CNAME: {before:#?}");
            upsert_aaaa_record_and_request_certificate(&ep, &zone, domain).await;
            ok(wd.destroy().await);
            let snap = snapshot(&ep).await;
            let after = zone_records(&snap, &zone);
            assert!(
                records_at(&after, domain, "A").is_empty(),
                "[{label}] our A alias was not deleted: {after:#?}"
            );
            let aaaa = records_at(&after, domain, "AAAA");
            assert!(
                aaaa.len() == 1 && aaaa[0]["values"] == json!(["2001:db8::1"]),
                "[{label}] the foreign AAAA record was deleted or changed: {after:#?}"
            );
            let name = cnames[0]["name"].as_str().unwrap_or("");
            assert_eq!(
                records_at(&after, name, "CNAME"),
                vec![&cnames[0]],
                "[{label}] the validation CNAME shared with the other certificate was deleted: {after:#?}"
            );
            let certs = as_list(&snap["certificates"]);
            assert_eq!(certs.len(), 1, "[{label}] only the other certificate stays: {certs:#?}");
            assert!(
                as_list(&snap["distributions"]).is_empty()
                    && snap["buckets"].as_object().is_none_or(|b| b.is_empty())
                    && as_list(&snap["oidc_providers"]).is_empty(),
                "[{label}] the issuer's parts were not all deleted: {snap:#}"
            );
        })
    })
    .await;
}
