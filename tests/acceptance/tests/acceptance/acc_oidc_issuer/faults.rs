//! Faults: a failure mid-create, throttling (the fault proxy in front of moto).

use super::checks::*;
use super::*;
use irsa_acceptance::fault_proxy::FaultProxy;

// ---------------------------------------------------------------------------
// 5. Fault: the endpoint dies in the middle of create
// ---------------------------------------------------------------------------

/// Whether a proxied request is CreateBucket of `bucket` (path style).
fn is_create_bucket(r: &irsa_acceptance::fault_proxy::RequestInfo, bucket: &str) -> bool {
    let query = r.target.split_once('?').map(|(_, q)| q).unwrap_or("");
    r.method == "PUT"
        && r.service.as_deref() == Some("s3")
        && r.path().trim_end_matches('/') == format!("/{bucket}")
        && (query.is_empty() || query.starts_with("x-id=CreateBucket"))
}

fn is_create_oac(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.method == "POST" && r.path().ends_with("/origin-access-control")
}

fn is_create_distribution(r: &irsa_acceptance::fault_proxy::RequestInfo) -> bool {
    r.method == "POST" && r.path().ends_with("/distribution")
}

/// CloudFront hosting through a [`FaultProxy`]: the AWS endpoint goes down
/// at CreateDistribution once the bucket and the OAC have been created (or,
/// if the distribution came first, at the first request after both). The
/// apply fails naming the AWS call; the state holds the resource, tainted,
/// with the bucket (and every other part made) recorded; moto holds the
/// bucket. Endpoint back: apply converges (the tainted one replaced, no
/// duplicates), empty plan, destroy leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_mid_create_is_recorded_and_converges() {
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "fault_mid_create", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let (name, domain) = ("fault", "oidc.fault.example.com");
            let bucket = bucket_for(name);
            let proxy = FaultProxy::start(&moto.endpoint).await.expect("proxy");
            let seen_bucket = Arc::new(AtomicBool::new(false));
            let seen_oac = Arc::new(AtomicBool::new(false));
            let seen_dist = Arc::new(AtomicBool::new(false));
            {
                let (sb, so, sd, bucket) = (
                    seen_bucket.clone(),
                    seen_oac.clone(),
                    seen_dist.clone(),
                    bucket.clone(),
                );
                proxy.fail_on(move |r| {
                    let ready = sb.load(Ordering::SeqCst) && so.load(Ordering::SeqCst);
                    if is_create_distribution(r) {
                        if ready {
                            return true;
                        }
                        sd.store(true, Ordering::SeqCst);
                        return false;
                    }
                    if ready && sd.load(Ordering::SeqCst) {
                        return true;
                    }
                    if is_create_bucket(r, &bucket) {
                        sb.store(true, Ordering::SeqCst);
                    }
                    if is_create_oac(r) {
                        so.store(true, Ordering::SeqCst);
                    }
                    false
                });
            }
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let mut wd = workdir(&tf, moto, &proxy.url(), &hcl, &[&key]);
            wd.set_timeout(Duration::from_secs(400));

            let out = wd.run(&["apply", "-auto-approve"]).await;
            assert!(
                !out.success() && !out.timed_out,
                "[{label}] apply should fail with the endpoint down:\n{out}\n{}",
                proxy.log_text()
            );
            assert!(
                proxy.is_down(),
                "[{label}] the proxy never went down:\n{}",
                proxy.log_text()
            );
            let refused = proxy
                .log()
                .into_iter()
                .find(|r| !r.forwarded)
                .expect("a refused request");
            eprintln!("[{label}] first refused request: {}", refused.line());
            if is_create_distribution(&refused) {
                assert!(
                    out.matches(r"CreateDistribution"),
                    "[{label}] the error should name CreateDistribution:\n{out}"
                );
            } else {
                // The error names a call of a service whose request was
                // refused (the provider may have calls in flight to several).
                let refused_services: BTreeSet<String> = proxy
                    .log()
                    .into_iter()
                    .filter(|r| !r.forwarded)
                    .filter_map(|r| r.service)
                    .collect();
                assert!(
                    !refused_services.is_empty(),
                    "[{label}] no service known for the refused requests:\n{}",
                    proxy.log_text()
                );
                let alternatives: Vec<String> =
                    refused_services.iter().map(|s| regex::escape(s)).collect();
                assert!(
                    out.matches(&format!(
                        r"\b({}):[A-Z][A-Za-z]+",
                        alternatives.join("|")
                    )),
                    "[{label}] the error should name the refused AWS call ({refused_services:?}):\n{out}\n{}",
                    proxy.log_text()
                );
            }

            // State: the resource, tainted, with what was made.
            let state = wd.state_json().await;
            assert!(
                in_state(&state, ADDR),
                "[{label}] the half-made issuer is not in state:\n{state:#}"
            );
            let show = ok(wd.run_ok(&["state", "show", ADDR]).await);
            assert!(
                resource_tainted(&state, ADDR) || show.matches(r"tainted"),
                "[{label}] the half-made issuer is not tainted:\n{show}"
            );
            let list = ok(wd.run_ok(&["state", "list"]).await);
            assert!(list.stdout.contains(ADDR), "[{label}] state list: {list}");
            let v = resource_values(&state, ADDR);
            assert_eq!(
                v["bucket"],
                bucket.as_str(),
                "[{label}] bucket not recorded: {v:#}"
            );
            let snap = snapshot(&moto.endpoint).await;
            assert!(
                snap["buckets"][&bucket].is_object(),
                "[{label}] moto does not hold the bucket: {snap:#}"
            );
            for oac in as_list(&snap["oacs"]) {
                assert_eq!(
                    v["origin_access_control_id"], oac["Id"],
                    "[{label}] OAC made but not recorded"
                );
            }
            for cert in as_list(&snap["certificates"]) {
                assert_eq!(
                    v["certificate_arn"], cert["arn"],
                    "[{label}] certificate made but not recorded"
                );
            }
            for p in as_list(&snap["oidc_providers"]) {
                assert_eq!(
                    v["oidc_provider_arn"], p["arn"],
                    "[{label}] OIDC provider made but not recorded"
                );
            }

            // Endpoint back: converge.
            proxy.set_down(false);
            let out = ok(wd.apply().await);
            assert!(
                out.matches(r"1 to add, 0 to change, 1 to destroy"),
                "[{label}] the tainted issuer should be replaced:\n{out}"
            );
            let snap = snapshot(&moto.endpoint).await;
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

// ---------------------------------------------------------------------------
// 5b. Throttling
// ---------------------------------------------------------------------------

type Rq = irsa_acceptance::fault_proxy::RequestInfo;

/// The issuer's calls that make or delete something, by name, for
/// counting and throttling.
fn mutating_calls(bucket: &str) -> Vec<(&'static str, Box<dyn Fn(&Rq) -> bool + Send + Sync>)> {
    let b = bucket.to_string();
    let b2 = bucket.to_string();
    vec![
        (
            "s3:CreateBucket",
            Box::new(move |r: &Rq| is_create_bucket(r, &b)),
        ),
        (
            "s3:DeleteBucket",
            Box::new(move |r: &Rq| {
                r.method == "DELETE"
                    && r.is_service("s3")
                    && r.path().trim_end_matches('/') == format!("/{b2}")
                    && !r.target.contains('?')
            }),
        ),
        (
            "s3:PutObject",
            Box::new(|r: &Rq| {
                r.method == "PUT" && r.is_service("s3") && r.path().contains("/openid/")
            }),
        ),
        (
            "cloudfront:CreateOriginAccessControl",
            Box::new(|r: &Rq| is_create_oac(r)),
        ),
        (
            "cloudfront:DeleteOriginAccessControl",
            Box::new(|r: &Rq| r.method == "DELETE" && r.path().contains("/origin-access-control/")),
        ),
        (
            "cloudfront:CreateDistribution",
            Box::new(|r: &Rq| is_create_distribution(r)),
        ),
        (
            "cloudfront:DeleteDistribution",
            Box::new(|r: &Rq| r.method == "DELETE" && r.path().contains("/distribution/")),
        ),
        (
            "acm:RequestCertificate",
            Box::new(|r: &Rq| r.operation() == Some("RequestCertificate")),
        ),
        (
            "acm:DeleteCertificate",
            Box::new(|r: &Rq| r.operation() == Some("DeleteCertificate")),
        ),
        (
            "route53:ChangeResourceRecordSets",
            Box::new(|r: &Rq| {
                r.method == "POST" && r.is_service("route53") && r.path().ends_with("/rrset")
            }),
        ),
        (
            "iam:CreateOpenIDConnectProvider",
            Box::new(|r: &Rq| r.operation() == Some("CreateOpenIDConnectProvider")),
        ),
        (
            "iam:DeleteOpenIDConnectProvider",
            Box::new(|r: &Rq| r.operation() == Some("DeleteOpenIDConnectProvider")),
        ),
    ]
}

/// How many requests matching `pred` the proxy forwarded / throttled.
fn forwarded_and_throttled(log: &[Rq], pred: &dyn Fn(&Rq) -> bool) -> (usize, usize) {
    (
        log.iter().filter(|r| r.forwarded && pred(r)).count(),
        log.iter().filter(|r| r.throttled && pred(r)).count(),
    )
}

/// CloudFront hosting through a [`FaultProxy`] that answers as a throttled
/// AWS. Create: the first 2 requests of every call that makes something are
/// throttled (S3 503 SlowDown, ACM 429 TooManyRequestsException, CloudFront,
/// Route 53 and IAM 400 Throttling); apply succeeds, each of those calls
/// was throttled and then reached moto exactly once (CreateBucket,
/// CreateOriginAccessControl, RequestCertificate, CreateDistribution,
/// CreateOpenIDConnectProvider: no duplicate), and moto holds exactly one
/// issuer. Refresh: the first 12 requests of the plan are throttled, the
/// plan is still empty. Destroy: the first 2 requests of every delete are
/// throttled; destroy succeeds and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_ridden_out_without_duplicates() {
    use irsa_acceptance::fault_proxy::{Throttle, ThrottleReply};
    let moto = start_moto().await;
    let key = TestKey::fixture();
    each_terraform(|tf| {
        let moto = &moto;
        let key = key.clone();
        bounded(BODY_LIMIT, "throttling_is_ridden_out", async move {
            let label = tf.label();
            let zone = fresh_moto_with_zone(moto, "example.com").await;
            let proxy = FaultProxy::start(&moto.endpoint).await.expect("proxy");
            let (name, domain) = ("throttled", "oidc.throttled.example.com");
            let bucket = bucket_for(name);
            let reply_for = |call: &str| match call.split(':').next() {
                Some("acm") => ThrottleReply::TooManyRequests,
                _ => ThrottleReply::Service,
            };
            let creates = [
                "s3:CreateBucket",
                "s3:PutObject",
                "cloudfront:CreateOriginAccessControl",
                "cloudfront:CreateDistribution",
                "acm:RequestCertificate",
                "route53:ChangeResourceRecordSets",
                "iam:CreateOpenIDConnectProvider",
            ];
            for (call, pred) in mutating_calls(&bucket) {
                if creates.contains(&call) {
                    proxy.throttle(Throttle::new(reply_for(call), pred).requests(2));
                }
            }
            let hcl = IssuerHcl::cloudfront(name, domain, &zone);
            let wd = workdir(&tf, moto, &proxy.url(), &hcl, &[&key]);
            if let Err(e) = wd.apply().await {
                panic!(
                    "[{label}] apply under throttling failed:\n{}\n{e:#}",
                    proxy.log_text()
                );
            }
            let log = proxy.log();
            for (call, pred) in mutating_calls(&bucket) {
                if !creates.contains(&call) {
                    continue;
                }
                let (fwd, thr) = forwarded_and_throttled(&log, &*pred);
                assert_eq!(
                    thr,
                    2,
                    "[{label}] {call} was not throttled twice:\n{}",
                    proxy.log_text()
                );
                let once = !matches!(call, "s3:PutObject" | "route53:ChangeResourceRecordSets");
                if once {
                    assert_eq!(
                        fwd,
                        1,
                        "[{label}] {call} reached moto {fwd} times (a duplicate):\n{}",
                        proxy.log_text()
                    );
                } else {
                    assert!(
                        fwd >= 1,
                        "[{label}] {call} never reached moto:\n{}",
                        proxy.log_text()
                    );
                }
            }
            let snap = snapshot(&moto.endpoint).await;
            check_cloudfront(
                &label,
                &snap,
                &values(&wd).await,
                &Expect::cloudfront(name, domain, &zone, &[&key]),
            );
            for (what, n) in [
                ("distributions", as_list(&snap["distributions"]).len()),
                ("OACs", as_list(&snap["oacs"]).len()),
                ("certificates", as_list(&snap["certificates"]).len()),
                ("OIDC providers", as_list(&snap["oidc_providers"]).len()),
                (
                    "buckets",
                    snap["buckets"].as_object().map_or(0, |m| m.len()),
                ),
            ] {
                assert_eq!(
                    n, 1,
                    "[{label}] {what} in moto after a throttled create: {n}"
                );
            }

            // Refresh: the first 12 requests throttled, whatever they are.
            proxy.stop_throttling();
            let s3_reply = ThrottleReply::SlowDown;
            proxy.throttle(Throttle::new(s3_reply, |r: &Rq| r.is_service("s3")).requests(6));
            proxy.throttle(
                Throttle::new(ThrottleReply::Service, |r: &Rq| !r.is_service("s3")).requests(6),
            );
            let before = proxy.throttled();
            wd.plan_is_empty().await;
            assert_eq!(
                proxy.throttled() - before,
                12,
                "[{label}] refresh was not throttled:\n{}",
                proxy.log_text()
            );

            // Destroy.
            proxy.stop_throttling();
            let deletes = [
                "s3:DeleteBucket",
                "cloudfront:DeleteOriginAccessControl",
                "cloudfront:DeleteDistribution",
                "acm:DeleteCertificate",
                "route53:ChangeResourceRecordSets",
                "iam:DeleteOpenIDConnectProvider",
            ];
            for (call, pred) in mutating_calls(&bucket) {
                if deletes.contains(&call) {
                    proxy.throttle(Throttle::new(reply_for(call), pred).requests(2));
                }
            }
            let start = proxy.log().len();
            if let Err(e) = wd.destroy().await {
                panic!(
                    "[{label}] destroy under throttling failed:\n{}\n{e:#}",
                    proxy.log_text()
                );
            }
            let log = proxy.log()[start..].to_vec();
            for (call, pred) in mutating_calls(&bucket) {
                if deletes.contains(&call) {
                    let (fwd, thr) = forwarded_and_throttled(&log, &*pred);
                    assert_eq!(
                        thr,
                        2,
                        "[{label}] {call} was not throttled twice:\n{}",
                        proxy.log_text()
                    );
                    assert!(
                        fwd >= 1,
                        "[{label}] {call} never reached moto:\n{}",
                        proxy.log_text()
                    );
                }
            }
            assert!(
                !in_state(&wd.state_json().await, ADDR),
                "[{label}] still in state after destroy"
            );
            assert_nothing_left(&label, moto).await;
        })
    })
    .await;
}
