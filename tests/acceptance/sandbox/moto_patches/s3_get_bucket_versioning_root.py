"""S3 GetBucketVersioning answers with the XML root element AWS uses.

Gap (moto 5.2.5): the body is `<GetBucketVersioningResponse>...` (moto's
generic serializer names the root after the operation). Lenient clients
(boto3) do not care; the AWS SDK for Rust checks the root element and fails
to parse the answer (a service error without code), so versioning cannot be
read at all.

Real AWS (S3 API Reference, GetBucketVersioning, "Response Syntax"):
`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
with `<Status>` (Enabled | Suspended) and `<MfaDelete>` only when set; an
empty element for a bucket that never had versioning.
"""


def apply():
    from moto.s3 import responses

    def get_bucket_versioning(self):
        bucket = self.backend.get_bucket(self.bucket_name)  # NoSuchBucket if missing
        status = bucket.versioning_status
        inner = f"<Status>{status}</Status>" if status else ""
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{inner}</VersioningConfiguration>"
        )
        return 200, {"Content-Type": "application/xml"}, body

    responses.S3Response.get_bucket_versioning = get_bucket_versioning
