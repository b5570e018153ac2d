"""ACM: a certificate used by a CloudFront distribution is "in use".

Gap (moto 5.2.5): ACM knows nothing of CloudFront: `InUseBy` stays empty
and DeleteCertificate deletes a certificate that a distribution still serves.

Real AWS: DescribeCertificate lists the ARNs of the distributions that use
the certificate in `InUseBy`, and DeleteCertificate fails with
`ResourceInUseException` while any does (for a while even after the
distribution is gone, which moto does not model).
Source: ACM API Reference, DeleteCertificate ("Errors":
ResourceInUseException) and data type CertificateDetail (`InUseBy`).
"""
import functools


def apply():
    from moto.acm import models
    from moto.acm.exceptions import AWSError
    from moto.utilities.utils import get_partition

    class ResourceInUseException(AWSError):
        TYPE = "ResourceInUseException"

    def distributions_using(backend, arn):
        from moto.cloudfront.models import cloudfront_backends

        try:
            cf = cloudfront_backends[backend.account_id][get_partition(backend.region_name)]
        except KeyError:
            return []
        users = []
        for dist in cf.distributions.values():
            cert = dist.distribution_config.ViewerCertificate
            if getattr(cert, "acm_certificate_arn", "") == arn:
                users.append(dist.arn)
        return sorted(users)

    backend = models.AWSCertificateManagerBackend
    get = backend.get_certificate

    @functools.wraps(get)
    def get_certificate(self, arn):
        cert = get(self, arn)
        others = [u for u in cert.in_use_by if ":cloudfront::" not in u]
        cert.in_use_by = others + distributions_using(self, arn)
        return cert

    backend.get_certificate = get_certificate

    delete = backend.delete_certificate

    @functools.wraps(delete)
    def delete_certificate(self, arn):
        if arn in self._certificates:
            users = self.get_certificate(arn).in_use_by
            if users:
                raise ResourceInUseException(
                    f"Certificate {arn} in use by {', '.join(users)}"
                )
        delete(self, arn)

    backend.delete_certificate = delete_certificate
