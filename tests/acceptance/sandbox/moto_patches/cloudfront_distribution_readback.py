"""CloudFront: read a distribution back the way AWS does.

Gap (moto 5.2.5): GetDistribution / GetDistributionConfig / UpdateDistribution
drop each origin's `S3OriginConfig` and `OriginAccessControlId`, and
`ViewerCertificate.CertificateSource` is always `cloudfront`, even for an ACM
certificate.

Real AWS returns the origin as it was sent: `S3OriginConfig` with its
`OriginAccessIdentity` (empty when an origin access control is used) and
`OriginAccessControlId` (empty string when none). For a viewer certificate
from ACM it returns `CertificateSource=acm`, `Certificate=<the ARN>` and
`CloudFrontDefaultCertificate=false`; for an IAM certificate `iam`.
Source: CloudFront API Reference, data types `Origin`, `S3OriginConfig`,
`ViewerCertificate` (fields `CertificateSource`, `Certificate`).
"""
import functools


def apply():
    from moto.cloudfront import models

    origin_init = models.Origin.__init__

    @functools.wraps(origin_init)
    def origin_init_patched(self, origin):
        origin_init(self, origin)
        s3 = origin.get("S3OriginConfig")
        if s3 is not None:
            config = {"OriginAccessIdentity": s3.get("OriginAccessIdentity") or ""}
            if s3.get("OriginReadTimeout") is not None:
                config["OriginReadTimeout"] = s3["OriginReadTimeout"]
            self.s3_origin_config = config
        self.origin_access_control_id = origin.get("OriginAccessControlId") or ""

    models.Origin.__init__ = origin_init_patched

    cert_init = models.ViewerCertificate.__init__

    @functools.wraps(cert_init)
    def cert_init_patched(self, config):
        cert_init(self, config)
        if self.acm_certificate_arn:
            self.certificate_source = "acm"
            self.certificate = self.acm_certificate_arn
            if "CloudFrontDefaultCertificate" not in config:
                self.cloud_front_default_certificate = False
        elif self.iam_certificate_id:
            self.certificate_source = "iam"
            self.certificate = self.iam_certificate_id
            if "CloudFrontDefaultCertificate" not in config:
                self.cloud_front_default_certificate = False

    models.ViewerCertificate.__init__ = cert_init_patched
