//! Out-of-band changes in moto (what another tool or a person in the
//! console does to an issuer's parts), each a named boto3 call through
//! `irsa_acceptance::issuer_support::boto_ok` (the prelude's `client`,
//! `update_distribution`, `delete_distribution`, `empty_bucket`, `out`).

use super::*;

/// Every distribution reads `InProgress` at the first GetDistribution after each change (create, update) and `Deployed` from the second on (moto's state manager: `times: 2` counts the change's own answer; checked against moto 5.2.5).
pub(super) async fn set_distributions_in_progress_once(ep: &str) {
    boto_ok(
        ep,
        r#"
import urllib.request
req = urllib.request.Request(
    EP + "/moto-api/state-manager/set-transition",
    data=json.dumps({"model_name": "cloudfront::distribution",
                     "transition": {"progression": "manual", "times": 2}}).encode(),
    method="POST")
out(urllib.request.urlopen(req, timeout=10).status)
"#,
        Value::Null,
    )
    .await;
}

/// A plain A record `name` (192.0.2.10) in `zone`, made by someone else.
pub(super) async fn create_a_record(ep: &str, zone: &str, name: &str) {
    boto_ok(
        ep,
        r#"
client("route53", "us-east-1").change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [
    {"Action": "CREATE", "ResourceRecordSet": {"Name": ARGS["name"], "Type": "A", "TTL": 60,
     "ResourceRecords": [{"Value": "192.0.2.10"}]}}]})
"#,
        json!({"zone": zone, "name": name}),
    )
    .await;
}

/// An AAAA record `name` (2001:db8::1) in `zone` and an ACM certificate for `name`, both someone else's.
pub(super) async fn upsert_aaaa_record_and_request_certificate(ep: &str, zone: &str, name: &str) {
    boto_ok(
        ep,
        r#"
client("route53", "us-east-1").change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [
    {"Action": "UPSERT", "ResourceRecordSet": {"Name": ARGS["name"], "Type": "AAAA", "TTL": 60,
     "ResourceRecords": [{"Value": "2001:db8::1"}]}}]})
client("acm", "us-east-1").request_certificate(DomainName=ARGS["name"], ValidationMethod="DNS")
"#,
        json!({"zone": zone, "name": name}),
    )
    .await;
}

/// The JWKS object deleted from `bucket`.
pub(super) async fn delete_jwks_object(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"client("s3").delete_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks")"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// The A record `domain` deleted from `zone`.
pub(super) async fn delete_a_record(ep: &str, zone: &str, domain: &str) {
    boto_ok(
        ep,
        r#"
r53 = client("route53", "us-east-1")
recs = r53.list_resource_record_sets(HostedZoneId=ARGS["zone"])["ResourceRecordSets"]
rec = [r for r in recs if r["Type"] == "A" and r["Name"].rstrip(".") == ARGS["domain"]][0]
r53.change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rec}]})
"#,
        json!({"zone": zone, "domain": domain}),
    )
    .await;
}

/// Distribution `id`: price class All, HTTP/2 only, IPv6 off.
pub(super) async fn change_distribution_settings(ep: &str, id: &str) {
    boto_ok(
        ep,
        r#"
def change(c):
    c["PriceClass"] = "PriceClass_All"
    c["HttpVersion"] = "http2"
    c["IsIPV6Enabled"] = False
update_distribution(ARGS["id"], change)
"#,
        json!({"id": id}),
    )
    .await;
}

/// The IAM OIDC provider `arn` deleted.
pub(super) async fn delete_oidc_provider(ep: &str, arn: &str) {
    boto_ok(
        ep,
        r#"client("iam", "us-east-1").delete_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"])"#,
        json!({"arn": arn}),
    )
    .await;
}

/// The IAM OIDC provider `arn`: client ID `intruder.example.com` added, `sts.amazonaws.com` removed.
pub(super) async fn swap_client_ids(ep: &str, arn: &str) {
    boto_ok(
        ep,
        r#"
iam = client("iam", "us-east-1")
iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"], ClientID="intruder.example.com")
iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=ARGS["arn"], ClientID="sts.amazonaws.com")
"#,
        json!({"arn": arn}),
    )
    .await;
}

/// Versioning of `bucket` suspended.
pub(super) async fn suspend_versioning(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"client("s3").put_bucket_versioning(Bucket=ARGS["bucket"], VersioningConfiguration={"Status": "Suspended"})"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// `bucket` emptied and deleted, distribution `id` disabled and deleted.
pub(super) async fn delete_bucket_and_distribution(ep: &str, bucket: &str, id: &str) {
    boto_ok(
        ep,
        r#"
empty_bucket(ARGS["bucket"])
client("s3").delete_bucket(Bucket=ARGS["bucket"])
delete_distribution(ARGS["id"])
"#,
        json!({"bucket": bucket, "id": id}),
    )
    .await;
}

/// The discovery document deleted from `bucket`.
pub(super) async fn delete_discovery_object(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"client("s3").delete_object(Bucket=ARGS["bucket"], Key=".well-known/openid-configuration")"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// The JWKS object of `bucket` overwritten with `body`, keeping its content type and Cache-Control.
pub(super) async fn overwrite_jwks_object(ep: &str, bucket: &str, body: &str) {
    boto_ok(
        ep,
        r#"
s3 = client("s3")
cur = s3.head_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks")
s3.put_object(Bucket=ARGS["bucket"], Key="openid/v1/jwks", Body=ARGS["body"].encode(),
              ContentType=cur["ContentType"], CacheControl=cur["CacheControl"])
"#,
        json!({"bucket": bucket, "body": body}),
    )
    .await;
}

/// The first record of type `rtype` whose name ends with `domain` deleted from `zone`.
pub(super) async fn delete_record_of_type(ep: &str, zone: &str, domain: &str, rtype: &str) {
    boto_ok(
        ep,
        r#"
r53 = client("route53", "us-east-1")
recs = r53.list_resource_record_sets(HostedZoneId=ARGS["zone"])["ResourceRecordSets"]
rec = [r for r in recs if r["Type"] == ARGS["type"] and r["Name"].rstrip(".").endswith(ARGS["domain"])][0]
r53.change_resource_record_sets(HostedZoneId=ARGS["zone"], ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": rec}]})
"#,
        json!({"zone": zone, "domain": domain, "type": rtype}),
    )
    .await;
}

/// The IAM OIDC provider `arn`'s thumbprints replaced by forty zeros.
pub(super) async fn replace_thumbprints(ep: &str, arn: &str) {
    boto_ok(
        ep,
        r#"client("iam", "us-east-1").update_open_id_connect_provider_thumbprint(
    OpenIDConnectProviderArn=ARGS["arn"], ThumbprintList=["0000000000000000000000000000000000000000"])"#,
        json!({"arn": arn}),
    )
    .await;
}

/// The IAM OIDC provider `arn` tagged team=intruder, extra=x.
pub(super) async fn tag_oidc_provider(ep: &str, arn: &str) {
    boto_ok(
        ep,
        r#"client("iam", "us-east-1").tag_open_id_connect_provider(
    OpenIDConnectProviderArn=ARGS["arn"], Tags=[{"Key": "team", "Value": "intruder"}, {"Key": "extra", "Value": "x"}])"#,
        json!({"arn": arn}),
    )
    .await;
}

/// The policy of `bucket` replaced: everyone may read every object.
pub(super) async fn open_bucket_policy(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"
import json as _j
client("s3").put_bucket_policy(Bucket=ARGS["bucket"], Policy=_j.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::" + ARGS["bucket"] + "/*"}]}))
"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// The public access block of `bucket` turned off.
pub(super) async fn public_access_block_off(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"client("s3").put_public_access_block(Bucket=ARGS["bucket"], PublicAccessBlockConfiguration={
    "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// Default encryption of `bucket` switched to SSE-KMS.
pub(super) async fn encryption_to_kms(ep: &str, bucket: &str) {
    boto_ok(
        ep,
        r#"client("s3").put_bucket_encryption(Bucket=ARGS["bucket"], ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})"#,
        json!({"bucket": bucket}),
    )
    .await;
}

/// Distribution `id` detached from its OAC, and OAC `oac` deleted.
pub(super) async fn detach_and_delete_oac(ep: &str, id: &str, oac: &str) {
    boto_ok(
        ep,
        r#"
def detach(c):
    for o in c["Origins"]["Items"]:
        o["OriginAccessControlId"] = ""
update_distribution(ARGS["id"], detach)
cf = client("cloudfront", "us-east-1")
etag = cf.get_origin_access_control(Id=ARGS["oac"])["ETag"]
cf.delete_origin_access_control(Id=ARGS["oac"], IfMatch=etag)
"#,
        json!({"id": id, "oac": oac}),
    )
    .await;
}

/// Distribution `id` moved to CloudFront's default certificate (no aliases), and certificate `cert` deleted.
pub(super) async fn default_certificate_and_delete_certificate(ep: &str, id: &str, cert: &str) {
    boto_ok(
        ep,
        r#"
def default_cert(c):
    c["Aliases"] = {"Quantity": 0}
    c["ViewerCertificate"] = {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1",
                              "CertificateSource": "cloudfront"}
update_distribution(ARGS["id"], default_cert)
client("acm", "us-east-1").delete_certificate(CertificateArn=ARGS["cert"])
"#,
        json!({"id": id, "cert": cert}),
    )
    .await;
}

/// The ServerSideEncryption of each of `keys` in `bucket`.
pub(super) async fn object_encryptions(ep: &str, bucket: &str, keys: &[&str]) -> Value {
    boto_ok(
        ep,
        r#"out([client("s3").head_object(Bucket=ARGS["bucket"], Key=k).get("ServerSideEncryption") for k in ARGS["keys"]])"#,
        json!({"bucket": bucket, "keys": keys}),
    )
    .await
}

/// The default encryption algorithm of `bucket`.
pub(super) async fn bucket_encryption(ep: &str, bucket: &str) -> Value {
    boto_ok(
        ep,
        r#"out(client("s3").get_bucket_encryption(Bucket=ARGS["bucket"])["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])"#,
        json!({"bucket": bucket}),
    )
    .await
}
