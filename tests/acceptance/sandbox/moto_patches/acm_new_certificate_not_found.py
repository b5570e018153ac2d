"""ACM: a certificate just requested may not be found yet (opt-in).

Gap (moto 5.2.5): DescribeCertificate finds a certificate the moment
RequestCertificate returns.

Real AWS: ACM is eventually consistent; DescribeCertificate right after
RequestCertificate can answer ResourceNotFoundException
(hashicorp/terraform#2499 "Certificate not found even though it was just
created"; hashicorp/aws's statusCertificateDomainValidationsAvailable treats
NotFound as "not yet", internal/service/acm/certificate.go).

Opt-in: with MOTO_ACM_NEW_CERTIFICATE_NOT_FOUND_CALLS=N in the server's
environment, the first N DescribeCertificate calls for each newly requested
certificate answer ResourceNotFoundException.
"""
import os
import threading


def apply():
    raw = os.environ.get("MOTO_ACM_NEW_CERTIFICATE_NOT_FOUND_CALLS")
    if raw in (None, ""):
        return
    calls = int(raw)

    from moto.acm import models
    from moto.acm.exceptions import CertificateNotFound

    lock = threading.Lock()
    left = {}  # arn -> NotFound answers left

    backend = models.AWSCertificateManagerBackend
    request = backend.request_certificate

    def request_certificate(self, *args, **kwargs):
        arn = request(self, *args, **kwargs)
        with lock:
            left.setdefault(arn, calls)
        return arn

    backend.request_certificate = request_certificate

    describe = backend.describe_certificate

    def describe_certificate(self, arn):
        with lock:
            n = left.get(arn, 0)
            if n > 0:
                left[arn] = n - 1
                hide = True
            else:
                hide = False
        if hide:
            raise CertificateNotFound(arn=arn, account_id=self.account_id)
        return describe(self, arn)

    backend.describe_certificate = describe_certificate
