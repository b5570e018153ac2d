//! Parts changed or removed out of band (drift) and replacement.

use super::checks::*;
use super::moto_changes::*;
use super::*;

// ---------------------------------------------------------------------------
// 4. Drift
// ---------------------------------------------------------------------------

/// CloudFront hosting. Each part changed out of band in moto, one after the
/// other: (a) JWKS object deleted, (b) A record deleted, (c) price class /
/// HTTP version / IPv6 changed on the distribution, (d) OIDC provider
/// deleted, (e) client IDs changed on it, (f) bucket versioning suspended.
/// Each time: `plan -detailed-exitcode` = 2, naming the attribute, in place;
/// apply repairs it (checked in moto); then an empty plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_detected_and_repaired() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "drift_is_detected_and_repaired", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("drift", "oidc.drift.example.com");
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;
            let v = values(&wd).await;
            let bucket = str_attr(&v, "bucket").to_string();
            let dist_id = str_attr(&v, "distribution_id").to_string();
            let provider_arn = str_attr(&v, "oidc_provider_arn").to_string();
            let jwks_body = str_attr(&v, "published_jwks").to_string();

            // (a) The JWKS object.
            delete_jwks_object(&ep, &bucket).await;
            let out = expect_repair_plan(
                &wd,
                "(a) JWKS object deleted",
                "published_jwks|published_kids|documents",
            )
            .await;
            assert!(
                out.matches(r"openid/v1/jwks"),
                "[{label}] (a) the plan should name the JWKS object:\n{out}"
            );
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            let obj = &snap["buckets"][&bucket]["objects"][JWKS_KEY];
            assert_eq!(
                obj["body"],
                jwks_body.as_str(),
                "[{label}] (a) JWKS object not restored: {obj}"
            );
            assert_eq!(
                obj["content_type"], "application/jwk-set+json",
                "[{label}] (a)"
            );
            wd.plan_is_empty().await;

            // (b) The A record.
            delete_a_record(&ep, &zone, domain).await;
            expect_repair_plan(&wd, "(b) A record deleted", "dns_records").await;
            ok(wd.apply().await);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;

            // (c) Distribution settings.
            change_distribution_settings(&ep, &dist_id).await;
            let snap = snapshot(&ep).await;
            assert_eq!(
                snap["distributions"][0]["config"]["PriceClass"], "PriceClass_All",
                "[{label}] (c) moto did not take the change"
            );
            expect_repair_plan(
                &wd,
                "(c) distribution settings changed",
                "distribution_settings|price_class",
            )
            .await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            let c = &snap["distributions"][0]["config"];
            assert_eq!(
                (
                    c["PriceClass"].as_str(),
                    c["HttpVersion"].as_str(),
                    c["IsIPV6Enabled"].as_bool()
                ),
                (Some("PriceClass_100"), Some("http2and3"), Some(true)),
                "[{label}] (c) distribution not repaired"
            );
            assert_eq!(
                snap["distributions"][0]["id"],
                dist_id.as_str(),
                "[{label}] (c) distribution replaced"
            );
            wd.plan_is_empty().await;

            // (d) The OIDC provider.
            delete_oidc_provider(&ep, &provider_arn).await;
            assert!(as_list(&snapshot(&ep).await["oidc_providers"]).is_empty());
            expect_repair_plan(
                &wd,
                "(d) OIDC provider deleted",
                "oidc_provider_arn|client_ids|oidc_provider_url",
            )
            .await;
            ok(wd.apply().await);
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            wd.plan_is_empty().await;

            // (e) Client IDs changed on the provider.
            swap_client_ids(&ep, &provider_arn).await;
            assert_eq!(
                str_list(&snapshot(&ep).await["oidc_providers"][0]["client_ids"]),
                vec!["intruder.example.com"]
            );
            expect_repair_plan(&wd, "(e) client IDs changed", "client_ids").await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            assert_eq!(
                str_list(&snap["oidc_providers"][0]["client_ids"]),
                vec!["sts.amazonaws.com"],
                "[{label}] (e) client IDs not repaired"
            );
            wd.plan_is_empty().await;

            // (f) Versioning suspended.
            suspend_versioning(&ep, &bucket).await;
            expect_repair_plan(&wd, "(f) versioning suspended", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            assert_eq!(
                snap["buckets"][&bucket]["versioning"], "Enabled",
                "[{label}] (f) versioning not repaired"
            );
            wd.plan_is_empty().await;

            // Everything consistent at the end.
            check_cloudfront(&label, &snapshot(&ep).await, &values(&wd).await, &exp);
            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// (g) Bucket and distribution (disabled, then deleted) removed out of
/// band: the resource leaves the state and the plan proposes to create it.
/// Then, no orphans: the next apply must converge despite the leftover OAC,
/// certificate, records and OIDC provider of the lost issuer (adopt or
/// clean them), and destroy must then leave nothing. (The first half used
/// to be a test of its own too, `drift_core_parts_gone_leaves_state`: the
/// same steps and assertions, so it only added runtime.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_core_parts_gone_then_apply_converges_without_orphans() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "drift_core_parts_gone", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("gone", "oidc.gone.example.com");
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let v = values(&wd).await;
            delete_bucket_and_distribution(
                &ep,
                str_attr(&v, "bucket"),
                str_attr(&v, "distribution_id"),
            )
            .await;
            let snap = snapshot(&ep).await;
            assert!(
                as_list(&snap["distributions"]).is_empty(),
                "[{label}] distribution still there"
            );
            assert!(
                snap["buckets"].as_object().unwrap().is_empty(),
                "[{label}] bucket still there"
            );

            let out = wd.run(&["plan", "-detailed-exitcode"]).await;
            assert_eq!(
                out.code,
                Some(2),
                "[{label}] (g) expected a plan to create:\n{out}"
            );
            out.assert_matches(r"irsa_oidc_issuer\.this will be created");
            out.assert_matches(r"1 to add, 0 to change, 0 to destroy");

            ok(wd.apply().await);
            let snap = snapshot(&ep).await;
            check_cloudfront(
                &label,
                &snap,
                &values(&wd).await,
                &Expect::cloudfront(name, domain, &zone, &[&key]),
            );
            wd.plan_is_empty().await;
            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// CloudFront hosting with a thumbprint and tags configured. The parts the
/// first drift test does not touch, each changed out of band in moto, one
/// after the other: (h) discovery document deleted, (i) JWKS object
/// overwritten with other keys, (j) AAAA record deleted, (k) the ACM
/// validation CNAME deleted, (l) thumbprints replaced on the OIDC provider,
/// (m) a tag changed and one added on it, (n) bucket policy replaced by one
/// that lets everyone read, (o) public access block switched off, (p)
/// default encryption switched to SSE-KMS, (q) the OAC detached from the
/// distribution and deleted (a new one is made and attached), (r) the
/// certificate replaced on the distribution, then deleted (a new one is
/// requested, validated, attached). Each time the plan names the
/// attribute that shows it, in place; apply puts the part back (checked in
/// moto); then the plan is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_of_every_other_part_is_detected_and_repaired() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    let other = TestKey::rsa();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        let other = other.clone();
        bounded(BODY_LIMIT, "drift_of_every_other_part", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("drift2", "oidc.drift2.example.com");
            let thumb = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
            let hcl = IssuerHcl::cloudfront(name, domain, &zone)
                .with(&format!(r#"thumbprints = ["{thumb}"]"#))
                .with(r#"tags = { team = "platform" }"#);
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let mut exp = Expect::cloudfront(name, domain, &zone, &[&key]);
            exp.thumbprints = vec![thumb.into()];
            exp.user_tags = BTreeMap::from([("team".to_string(), "platform".to_string())]);
            let check = |what: &'static str| {
                let exp = exp.clone();
                let label = label.clone();
                let wd = &wd;
                let ep = ep.clone();
                async move {
                    let snap = snapshot(&ep).await;
                    check_cloudfront(&format!("{label} {what}"), &snap, &values(wd).await, &exp);
                    snap
                }
            };
            let before = check("after create").await;
            wd.plan_is_empty().await;
            let v = values(&wd).await;
            let bucket = str_attr(&v, "bucket").to_string();
            let provider_arn = str_attr(&v, "oidc_provider_arn").to_string();
            let objects = &before["buckets"][&bucket]["objects"];
            let (disc_body, jwks_body) = (
                objects[DISCOVERY_KEY]["body"].as_str().unwrap().to_string(),
                objects[JWKS_KEY]["body"].as_str().unwrap().to_string(),
            );
            let object_bodies = |snap: &Value| {
                let o = &snap["buckets"][&bucket]["objects"];
                (
                    o[DISCOVERY_KEY]["body"].as_str().map(str::to_string),
                    o[JWKS_KEY]["body"].as_str().map(str::to_string),
                )
            };

            // (h) The discovery document.
            delete_discovery_object(&ep, &bucket).await;
            let out = expect_repair_plan(&wd, "(h) discovery document deleted", "documents").await;
            assert!(
                out.matches(r"\.well-known/openid-configuration"),
                "[{label}] (h) the plan should name the discovery document:\n{out}"
            );
            ok(wd.apply().await);
            let snap = check("(h) repaired").await;
            assert_eq!(
                object_bodies(&snap).0.as_deref(),
                Some(disc_body.as_str()),
                "[{label}] (h)"
            );
            wd.plan_is_empty().await;

            // (i) The JWKS object overwritten (same content type and
            // Cache-Control: only the body differs).
            let foreign = format!(r#"{{"keys":[{}]}}"#, other.rsa_jwk());
            overwrite_jwks_object(&ep, &bucket, &foreign).await;
            assert_eq!(
                object_bodies(&snapshot(&ep).await).1.as_deref(),
                Some(foreign.as_str())
            );
            let out = expect_repair_plan(&wd, "(i) JWKS object modified", "documents").await;
            assert!(
                out.matches(r"openid/v1/jwks"),
                "[{label}] (i) the plan should name the JWKS object:\n{out}"
            );
            ok(wd.apply().await);
            let snap = check("(i) repaired").await;
            assert_eq!(
                object_bodies(&snap).1.as_deref(),
                Some(jwks_body.as_str()),
                "[{label}] (i)"
            );
            wd.plan_is_empty().await;

            // (j) The AAAA record, (k) the validation CNAME.
            for (step, rtype) in [
                ("(j) AAAA record deleted", "AAAA"),
                ("(k) validation CNAME deleted", "CNAME"),
            ] {
                delete_record_of_type(&ep, &zone, domain, rtype).await;
                let left = zone_records(&snapshot(&ep).await, &zone);
                assert!(
                    !left.iter().any(|r| r["type"] == rtype),
                    "[{label}] {step}: moto still holds it: {left:?}"
                );
                let out = expect_repair_plan(&wd, step, "dns_records").await;
                assert!(
                    out.matches(&format!(r#""{rtype} "#)),
                    "[{label}] {step}: the plan should name the {rtype} record:\n{out}"
                );
                ok(wd.apply().await);
                check(step).await;
                wd.plan_is_empty().await;
            }

            // (l) Thumbprints replaced on the provider.
            replace_thumbprints(&ep, &provider_arn).await;
            expect_repair_plan(&wd, "(l) thumbprints replaced", "thumbprints").await;
            ok(wd.apply().await);
            check("(l) repaired").await;
            wd.plan_is_empty().await;

            // (m) Tags changed on the provider.
            tag_oidc_provider(&ep, &provider_arn).await;
            expect_repair_plan(&wd, "(m) tags changed", "tags").await;
            ok(wd.apply().await);
            check("(m) repaired").await;
            wd.plan_is_empty().await;

            // (n) The bucket policy replaced: everyone may read.
            open_bucket_policy(&ep, &bucket).await;
            expect_repair_plan(&wd, "(n) bucket policy replaced", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(n) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["policy"], before["buckets"][&bucket]["policy"],
                "[{label}] (n) policy not put back"
            );
            wd.plan_is_empty().await;

            // (o) Public access block off.
            public_access_block_off(&ep, &bucket).await;
            expect_repair_plan(&wd, "(o) public access block off", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(o) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["public_access_block"],
                before["buckets"][&bucket]["public_access_block"],
                "[{label}] (o) public access block not put back"
            );
            wd.plan_is_empty().await;

            // (p) Default encryption switched to SSE-KMS.
            encryption_to_kms(&ep, &bucket).await;
            expect_repair_plan(&wd, "(p) encryption switched to SSE-KMS", "bucket_settings").await;
            ok(wd.apply().await);
            let snap = check("(p) repaired").await;
            assert_eq!(
                snap["buckets"][&bucket]["encryption"], before["buckets"][&bucket]["encryption"],
                "[{label}] (p) encryption not put back"
            );
            wd.plan_is_empty().await;

            // (q) The OAC detached from the distribution and deleted (CloudFront
            // refuses to delete one in use): a new one is made and attached.
            let old_oac = str_attr(&values(&wd).await, "origin_access_control_id").to_string();
            detach_and_delete_oac(&ep, str_attr(&v, "distribution_id"), &old_oac).await;
            assert!(
                as_list(&snapshot(&ep).await["oacs"]).is_empty(),
                "[{label}] (q) OAC still in moto"
            );
            expect_repair_plan(
                &wd,
                "(q) OAC deleted",
                "origin_access_control_id|distribution_settings",
            )
            .await;
            ok(wd.apply().await);
            let snap = check("(q) repaired").await;
            let oacs = as_list(&snap["oacs"]);
            let new_oac = str_attr(&values(&wd).await, "origin_access_control_id").to_string();
            assert_eq!(oacs.len(), 1, "[{label}] (q) OACs: {oacs:?}");
            assert_eq!(
                oacs[0]["Id"],
                new_oac.as_str(),
                "[{label}] (q) state's OAC is not moto's"
            );
            assert_ne!(new_oac, old_oac, "[{label}] (q) OAC id unchanged");
            let origins = as_list(&snap["distributions"][0]["config"]["Origins"]["Items"]);
            assert!(
                origins
                    .iter()
                    .all(|o| o["OriginAccessControlId"] == new_oac.as_str()),
                "[{label}] (q) the distribution does not use the new OAC: {origins:?}"
            );
            wd.plan_is_empty().await;

            // (r) The certificate replaced on the distribution by CloudFront's
            // default one (aliases dropped, as CloudFront requires), then
            // deleted (ACM refuses while it is in use): a new one is
            // requested, validated and attached with the alias again.
            let old_cert = str_attr(&values(&wd).await, "certificate_arn").to_string();
            default_certificate_and_delete_certificate(
                &ep,
                str_attr(&v, "distribution_id"),
                &old_cert,
            )
            .await;
            assert!(
                as_list(&snapshot(&ep).await["certificates"]).is_empty(),
                "[{label}] (r) certificate still in moto"
            );
            expect_repair_plan(
                &wd,
                "(r) certificate deleted",
                "certificate_arn|distribution_settings",
            )
            .await;
            ok(wd.apply().await);
            let snap = check("(r) repaired").await;
            let certs = as_list(&snap["certificates"]);
            let new_cert = str_attr(&values(&wd).await, "certificate_arn").to_string();
            assert_eq!(certs.len(), 1, "[{label}] (r) certificates: {certs:?}");
            assert_eq!(
                certs[0]["arn"],
                new_cert.as_str(),
                "[{label}] (r) state's certificate is not moto's"
            );
            assert_eq!(
                certs[0]["status"], "ISSUED",
                "[{label}] (r) new certificate not issued"
            );
            assert_ne!(
                new_cert, old_cert,
                "[{label}] (r) certificate ARN unchanged"
            );
            let vc = &snap["distributions"][0]["config"]["ViewerCertificate"];
            assert_eq!(
                vc["ACMCertificateArn"],
                new_cert.as_str(),
                "[{label}] (r) distribution certificate: {vc}"
            );
            wd.plan_is_empty().await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

/// `plan -detailed-exitcode` must replace the issuer because of `attr`
/// (Terraform's `# forces replacement` on that attribute's line; 1 to add,
/// 1 to destroy).
async fn expect_replace_plan(wd: &Workdir, what: &str, attr: &str) {
    let out = wd.run(&["plan", "-detailed-exitcode"]).await;
    assert_eq!(
        out.code,
        Some(2),
        "[{}] {what}: expected a plan:\n{out}",
        wd.label()
    );
    out.assert_matches(r"irsa_oidc_issuer\.this must be replaced");
    out.assert_matches(&format!(
        r"(?m)^\s*[~+-]+\s+{attr}\s+=.*# forces replacement"
    ));
    out.assert_matches(r"1 to add, 0 to change, 1 to destroy");
}

/// CloudFront issuer at `oidc.repl.example.com` in zone `example.com`. Each
/// of these replaces it (the plan says so, naming the attribute), and after
/// apply moto holds exactly the new issuer, nothing of the old one (no old
/// distribution, certificate, record or OAC), then an empty plan:
/// (1) `domain` -> `oidc2.repl.example.com` (same zone); (2)
/// `route53_zone_id` -> the zone `repl.example.com`, which also holds the
/// name (records move there, the first zone keeps none); (3) `hosting` ->
/// `s3` (no CloudFront/ACM/Route53 parts left); (4) back to `cloudfront`.
/// Destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_hosting_domain_or_zone_replaces_the_issuer() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "changing_hosting_domain_or_zone", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let zone2 = create_zone(&ep, "repl.example.com").await;
            let name = "repl";
            let (d1, d2) = ("oidc.repl.example.com", "oidc2.repl.example.com");
            let wd = workdir(&tf, moto, &ep, &IssuerHcl::cloudfront(name, d1, &zone), &[&key]);
            ok(wd.apply().await);
            let first = values(&wd).await;
            check_cloudfront(&label, &snapshot(&ep).await, &first, &Expect::cloudfront(name, d1, &zone, &[&key]));

            // Exactly one issuer in moto, the state's, and no other record
            // in any zone but the state's.
            let only = |what: &'static str, exp: Expect, old: Value| {
                let wd = &wd;
                let ep = ep.clone();
                let label = label.clone();
                let zones = [zone.clone(), zone2.clone()];
                async move {
                    let v = values(wd).await;
                    let snap = snapshot(&ep).await;
                    match exp.domain {
                        Some(_) => check_cloudfront(&format!("{label} {what}"), &snap, &v, &exp),
                        None => check_s3(&format!("{label} {what}"), &snap, &v, &exp),
                    }
                    let dists: Vec<String> = as_list(&snap["distributions"])
                        .iter()
                        .map(|d| d["id"].as_str().unwrap_or("").to_string())
                        .collect();
                    let certs = as_list(&snap["certificates"]);
                    let oacs = as_list(&snap["oacs"]);
                    if exp.domain.is_some() {
                        assert_eq!(dists, vec![str_attr(&v, "distribution_id").to_string()], "[{label}] {what}: distributions");
                        assert_eq!(certs.len(), 1, "[{label}] {what}: certificates {certs:?}");
                        assert_eq!(oacs.len(), 1, "[{label}] {what}: OACs {oacs:?}");
                    } else {
                        assert!(dists.is_empty() && certs.is_empty() && oacs.is_empty(),
                            "[{label}] {what}: CloudFront/ACM parts left: {dists:?} {certs:?} {oacs:?}");
                    }
                    for old_attr in ["distribution_id", "certificate_arn", "origin_access_control_id"] {
                        if let Some(old_id) = old[old_attr].as_str() {
                            assert_ne!(Some(old_id), v[old_attr].as_str(), "[{label}] {what}: {old_attr} kept, not replaced");
                        }
                    }
                    for z in &zones {
                        for r in zone_records(&snap, z) {
                            let n = r["name"].as_str().unwrap_or("").trim_end_matches('.').to_string();
                            let ours = exp.domain.as_deref().is_some_and(|d| n.ends_with(d))
                                && exp.zone_id.as_deref() == Some(z.as_str());
                            assert!(ours, "[{label}] {what}: record left behind in zone {z}: {r}");
                        }
                    }
                    assert_eq!(as_list(&snap["oidc_providers"]).len(), 1, "[{label}] {what}: OIDC providers");
                    wd.plan_is_empty().await;
                    v
                }
            };

            // (1) domain.
            wd.set_config(&IssuerHcl::cloudfront(name, d2, &zone).render());
            expect_replace_plan(&wd, "(1) domain", "domain").await;
            ok(wd.apply().await);
            let second = only("(1) domain", Expect::cloudfront(name, d2, &zone, &[&key]), first).await;

            // (2) route53_zone_id.
            wd.set_config(&IssuerHcl::cloudfront(name, d2, &zone2).render());
            expect_replace_plan(&wd, "(2) route53_zone_id", "route53_zone_id").await;
            ok(wd.apply().await);
            let third = only("(2) route53_zone_id", Expect::cloudfront(name, d2, &zone2, &[&key]), second).await;

            // (3) hosting -> s3.
            wd.set_config(&IssuerHcl::s3(name).render());
            expect_replace_plan(&wd, "(3) hosting", "hosting").await;
            ok(wd.apply().await);
            let fourth = only("(3) hosting s3", Expect::s3(name, &[&key]), third).await;

            // (4) hosting -> cloudfront again.
            wd.set_config(&IssuerHcl::cloudfront(name, d1, &zone).with(r#"hosting = "cloudfront""#).render());
            expect_replace_plan(&wd, "(4) hosting", "hosting").await;
            ok(wd.apply().await);
            only("(4) hosting cloudfront", Expect::cloudfront(name, d1, &zone, &[&key]), fourth).await;

            destroy_and_check(&label, &wd, moto).await;
        })
    })
    .await;
}

// ---------------------------------------------------------------------------
// 9. Encryption
// ---------------------------------------------------------------------------

/// S3 hosting. The bucket's default encryption switched to SSE-KMS out of
/// band (the next key rotation would then write KMS-encrypted documents,
/// which anonymous readers cannot get): the plan shows `bucket_settings`
/// with the real algorithm, apply puts SSE-S3 back, the plan is then empty.
/// The documents written carry SSE-S3 (`AES256`) themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_drift_shows_the_real_algorithm() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "encryption_drift", async move {
            let label = tf.label();
            let ep = moto.endpoint.clone();
            moto.reset().await.expect("reset");
            let hcl = IssuerHcl::s3("sse");
            let wd = workdir(&tf, moto, &ep, &hcl, &[&key]);
            ok(wd.apply().await);
            let bucket = bucket_for("sse");
            let sse = object_encryptions(&ep, &bucket, &[DISCOVERY_KEY, JWKS_KEY]).await;
            assert_eq!(sse, json!(["AES256", "AES256"]), "[{label}] documents' SSE");
            encryption_to_kms(&ep, &bucket).await;
            let out =
                expect_repair_plan(&wd, "encryption switched to aws:kms", "bucket_settings").await;
            assert!(
                out.matches(r#""encryption"\s+=\s+"aws:kms"\s+->\s+"AES256""#),
                "[{label}] the plan should show encryption aws:kms -> AES256:\n{out}"
            );
            ok(wd.apply().await);
            let alg = bucket_encryption(&ep, &bucket).await;
            assert_eq!(alg, json!("AES256"), "[{label}] encryption not repaired");
            wd.plan_is_empty().await;
            ok(wd.destroy().await);
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}
