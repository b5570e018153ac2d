"""ACM: the DNS validation record appears a few seconds after the request.

Gap (moto 5.2.5): DescribeCertificate returns each domain's
`ResourceRecord` (the CNAME to create) immediately after RequestCertificate.

Real AWS fills `DomainValidationOptions[].ResourceRecord` asynchronously:
for the first seconds the options are listed without it, so callers must
poll. Source: ACM User Guide, "DNS validation" (the record is shown once ACM
has generated it) and the AWS CLI/Terraform practice of retrying
DescribeCertificate until ResourceRecord is present.

Off by default. With `IRSA_MOTO_ACM_RECORD_DELAY_SECS=<seconds>` in the
server's environment, the record is withheld for that long after the request.
"""
import functools
import os


def apply():
    delay = float(os.environ.get("IRSA_MOTO_ACM_RECORD_DELAY_SECS") or 0)
    if delay <= 0:
        return

    from moto.acm import models
    from moto.core.utils import utcnow

    describe = models.CertBundle.describe

    @functools.wraps(describe)
    def describe_patched(self):
        result = describe(self)
        if self.type == "AMAZON_ISSUED":
            age = (utcnow() - self.created_at).total_seconds()
            if age < delay:
                for option in result["Certificate"].get("DomainValidationOptions", []):
                    option.pop("ResourceRecord", None)
        return result

    models.CertBundle.describe = describe_patched
