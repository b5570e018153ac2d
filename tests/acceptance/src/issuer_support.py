# Prelude of the boto3 snippets run by tests/acceptance/src/issuer_support.rs (moto
# inspection and out-of-band changes for the irsa_oidc_issuer acceptance
# tests). Environment: MOTO_EP (endpoint URL), ARGS_JSON (the snippet's
# arguments, JSON). A snippet calls out(value) once; it is printed as JSON.
import datetime
import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["MOTO_EP"]
ARGS = json.loads(os.environ.get("ARGS_JSON") or "null")
REGION = "eu-west-1"
_CONFIG = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"})
_session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test")


def client(service, region=REGION):
    return _session.client(service, endpoint_url=EP, region_name=region, config=_CONFIG)


def out(value):
    sys.stdout.write("\n@@JSON@@" + json.dumps(value, default=str) + "\n")


def err_code(e):
    return e.response.get("Error", {}).get("Code", "")


def optional(fn, missing_codes):
    try:
        r = fn()
        r.pop("ResponseMetadata", None)
        return r
    except ClientError as e:
        if err_code(e) in missing_codes:
            return None
        raise


def bucket_info(s3, name):
    info = {}
    info["location"] = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
    pab = optional(lambda: s3.get_public_access_block(Bucket=name),
                   {"NoSuchPublicAccessBlockConfiguration"})
    info["public_access_block"] = pab and pab.get("PublicAccessBlockConfiguration")
    enc = optional(lambda: s3.get_bucket_encryption(Bucket=name),
                   {"ServerSideEncryptionConfigurationNotFoundError"})
    info["encryption"] = enc and enc.get("ServerSideEncryptionConfiguration", {}).get("Rules")
    info["versioning"] = s3.get_bucket_versioning(Bucket=name).get("Status")
    pol = optional(lambda: s3.get_bucket_policy(Bucket=name), {"NoSuchBucketPolicy"})
    info["policy"] = json.loads(pol["Policy"]) if pol else None
    tags = optional(lambda: s3.get_bucket_tagging(Bucket=name), {"NoSuchTagSet", "NoSuchTagSetError"})
    info["tags"] = {t["Key"]: t["Value"] for t in (tags or {}).get("TagSet", [])}
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            got = s3.get_object(Bucket=name, Key=o["Key"])
            body = got["Body"].read()
            objects[o["Key"]] = {
                "content_type": got.get("ContentType"),
                "cache_control": got.get("CacheControl"),
                "body": body.decode("utf-8", "replace"),
            }
    info["objects"] = objects
    versions = s3.list_object_versions(Bucket=name)
    info["versions"] = [
        {"key": v["Key"], "version_id": v.get("VersionId"), "latest": v.get("IsLatest")}
        for v in versions.get("Versions", [])
    ]
    info["delete_markers"] = [
        {"key": v["Key"], "version_id": v.get("VersionId")} for v in versions.get("DeleteMarkers", [])
    ]
    return info


def snapshot():
    snap = {}
    s3 = client("s3")
    snap["buckets"] = {b["Name"]: bucket_info(s3, b["Name"]) for b in s3.list_buckets().get("Buckets", [])}

    cf = client("cloudfront", "us-east-1")
    snap["oacs"] = cf.list_origin_access_controls().get("OriginAccessControlList", {}).get("Items", [])
    dists = []
    for d in cf.list_distributions().get("DistributionList", {}).get("Items", []) or []:
        got = cf.get_distribution(Id=d["Id"])
        full = got["Distribution"]
        tags = cf.list_tags_for_resource(Resource=full["ARN"]).get("Tags", {}).get("Items", [])
        invs = []
        for i in cf.list_invalidations(DistributionId=d["Id"]).get("InvalidationList", {}).get("Items", []) or []:
            inv = cf.get_invalidation(DistributionId=d["Id"], Id=i["Id"])["Invalidation"]
            batch = inv.get("InvalidationBatch", {})
            invs.append({
                "id": inv["Id"],
                "status": inv.get("Status"),
                "paths": batch.get("Paths", {}).get("Items", []),
                "caller_reference": batch.get("CallerReference"),
            })
        dists.append({
            "id": full["Id"],
            "arn": full["ARN"],
            "domain_name": full["DomainName"],
            "status": full.get("Status"),
            "etag": got.get("ETag"),
            "config": full["DistributionConfig"],
            "tags": {t["Key"]: t["Value"] for t in tags},
            "invalidations": invs,
        })
    snap["distributions"] = dists

    certs = []
    for region in ("us-east-1", REGION):
        acm = client("acm", region)
        for c in acm.list_certificates().get("CertificateSummaryList", []):
            desc = acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
            tags = acm.list_tags_for_certificate(CertificateArn=c["CertificateArn"]).get("Tags", [])
            certs.append({
                "region": region,
                "arn": desc["CertificateArn"],
                "domain": desc.get("DomainName"),
                "sans": desc.get("SubjectAlternativeNames", []),
                "status": desc.get("Status"),
                "type": desc.get("Type"),
                "validation": [
                    {
                        "domain": o.get("DomainName"),
                        "method": o.get("ValidationMethod"),
                        "record": o.get("ResourceRecord"),
                    }
                    for o in desc.get("DomainValidationOptions", [])
                ],
                "in_use_by": desc.get("InUseBy", []),
                "tags": {t["Key"]: t.get("Value") for t in tags},
            })
    snap["certificates"] = certs

    r53 = client("route53", "us-east-1")
    zones = {}
    for z in r53.list_hosted_zones().get("HostedZones", []):
        zid = z["Id"].split("/")[-1]
        records = []
        for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zid):
            for r in page.get("ResourceRecordSets", []):
                rec = {"name": r["Name"], "type": r["Type"]}
                if "TTL" in r:
                    rec["ttl"] = r["TTL"]
                if "ResourceRecords" in r:
                    rec["values"] = [v["Value"] for v in r["ResourceRecords"]]
                if "AliasTarget" in r:
                    rec["alias"] = {
                        "dns_name": r["AliasTarget"]["DNSName"],
                        "zone_id": r["AliasTarget"]["HostedZoneId"],
                        "evaluate_target_health": r["AliasTarget"].get("EvaluateTargetHealth"),
                    }
                records.append(rec)
        zones[zid] = {"name": z["Name"], "records": records}
    snap["zones"] = zones

    iam = client("iam", "us-east-1")
    providers = []
    for p in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=p["Arn"])
        tags = got.get("Tags")
        if tags is None:
            tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=p["Arn"]).get("Tags", [])
        providers.append({
            "arn": p["Arn"],
            "url": got.get("Url"),
            "client_ids": got.get("ClientIDList", []),
            "thumbprints": got.get("ThumbprintList", []),
            "tags": {t["Key"]: t["Value"] for t in tags},
        })
    snap["oidc_providers"] = providers
    snap["account"] = client("sts", "us-east-1").get_caller_identity()["Account"]
    return snap


def empty_bucket(name):
    """Delete every object version and delete marker of a bucket."""
    s3 = client("s3")
    while True:
        v = s3.list_object_versions(Bucket=name)
        items = [{"Key": o["Key"], "VersionId": o["VersionId"]} for o in v.get("Versions", []) + v.get("DeleteMarkers", [])]
        if not items:
            break
        s3.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=o["Key"])


def update_distribution(dist_id, change):
    """Apply change(config) to a distribution's config and update it; returns the new ETag."""
    cf = client("cloudfront", "us-east-1")
    got = cf.get_distribution_config(Id=dist_id)
    config = got["DistributionConfig"]
    change(config)
    return cf.update_distribution(Id=dist_id, DistributionConfig=config, IfMatch=got["ETag"]).get("ETag")


def delete_distribution(dist_id):
    """Disable (as AWS requires), then delete a distribution."""
    cf = client("cloudfront", "us-east-1")

    def disable(c):
        c["Enabled"] = False

    update_distribution(dist_id, disable)
    etag = cf.get_distribution(Id=dist_id)["ETag"]
    cf.delete_distribution(Id=dist_id, IfMatch=etag)
