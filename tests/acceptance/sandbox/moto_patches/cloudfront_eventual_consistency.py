"""CloudFront's eventual consistency around certificates and deletion (opt-in).

Gap (moto 5.2.5): a distribution can use any certificate ARN at once, and
DeleteDistribution removes the distribution at once, so its origin access
control and certificate are free the moment the call returns.

Real AWS:
- CreateDistribution / UpdateDistribution may answer InvalidViewerCertificate
  ("The specified SSL certificate doesn't exist, isn't in us-east-1 region,
  isn't valid, or doesn't include a valid certificate chain") for a
  certificate ACM has just issued; hashicorp/aws retries it ("ACM and IAM
  certificate eventual consistency", internal/service/cloudfront/
  distribution.go; hashicorp/terraform-provider-aws#4687).
- A distribution that is disabled and reports Deployed can still refuse
  DeleteDistribution with DistributionNotDisabled for a while
  (hashicorp/terraform-provider-aws#3034; hashicorp retries 3 minutes).
- After DeleteDistribution, GetDistribution keeps answering for a while
  (hashicorp/aws waits for NoSuchDistribution: waitDistributionDeleted), and
  its origin access control stays in use (OriginAccessControlInUse on
  destroy: hashicorp/terraform-provider-aws#28595).

Each is opt-in through the server's environment:
- MOTO_CLOUDFRONT_NEW_CERTIFICATE_REFUSALS=N: the first N create or update
  calls naming an ACM certificate answer InvalidViewerCertificate, per
  certificate.
- MOTO_CLOUDFRONT_NOT_DISABLED_SECS=S: for S seconds after a distribution is
  disabled, DeleteDistribution answers DistributionNotDisabled.
- MOTO_CLOUDFRONT_DELETE_LINGER_POLLS=N: a deleted distribution is still
  there (and so still uses its OAC and certificate) for the next N
  GetDistribution / GetDistributionConfig calls, then NoSuchDistribution.
- MOTO_CLOUDFRONT_LOSE_FIRST_CREATE=1: the first CreateDistribution makes
  the distribution but its answer is lost (HTTP 500, which the SDK retries);
  a create whose alias is held by a distribution then answers
  CNAMEAlreadyExists before the caller reference is looked at. Which check
  AWS makes first is not documented; this is the order that loses the
  distribution for a client that only recognises DistributionAlreadyExists
  (review finding 20).
"""
import os
import threading
import time


def _int_env(name):
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else None


def apply():
    cert_refusals = _int_env("MOTO_CLOUDFRONT_NEW_CERTIFICATE_REFUSALS")
    not_disabled_secs = _int_env("MOTO_CLOUDFRONT_NOT_DISABLED_SECS")
    linger_polls = _int_env("MOTO_CLOUDFRONT_DELETE_LINGER_POLLS")
    lose_first = _int_env("MOTO_CLOUDFRONT_LOSE_FIRST_CREATE")
    if all(v is None for v in (cert_refusals, not_disabled_secs, linger_polls, lose_first)):
        return

    from moto.cloudfront import models
    from moto.cloudfront.exceptions import CloudFrontException, NoSuchDistribution

    class InvalidViewerCertificate(CloudFrontException):
        def __init__(self):
            super().__init__(
                "InvalidViewerCertificate",
                "The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't valid, "
                "or doesn't include a valid certificate chain.",
            )

    class DistributionNotDisabled(CloudFrontException):
        def __init__(self):
            super().__init__(
                "DistributionNotDisabled",
                "The distribution you are trying to delete has not been disabled.",
            )

    class CNAMEAlreadyExists(CloudFrontException):
        def __init__(self):
            super().__init__(
                "CNAMEAlreadyExists",
                "One or more of the CNAMEs you provided are already associated with a different resource.",
            )

    for cls in (InvalidViewerCertificate, DistributionNotDisabled, CNAMEAlreadyExists):
        cls.__module__ = "moto.cloudfront.exceptions"

    lock = threading.Lock()
    refused = {}  # certificate ARN -> refusals served
    disabled_at = {}  # distribution id -> when it was disabled
    lingering = {}  # distribution id -> polls left
    lost = {"done": False}

    backend = models.CloudFrontBackend

    def cert_arn_of(config):
        viewer = (config or {}).get("ViewerCertificate") or {}
        return viewer.get("ACMCertificateArn") or viewer.get("ACMCertificateARN")

    def refuse_new_certificate(config):
        arn = cert_arn_of(config)
        if not arn:
            return
        with lock:
            n = refused.get(arn, 0)
            if n >= cert_refusals:
                return
            refused[arn] = n + 1
        raise InvalidViewerCertificate()

    create = backend.create_distribution_with_tags

    def aliases_of(config):
        items = ((config or {}).get("Aliases") or {}).get("Items") or {}
        if isinstance(items, dict):
            items = items.get("CNAME") or []
        if isinstance(items, str):
            items = [items]
        return set(items)

    def create_distribution_with_tags(self, distribution_config, tags):
        if cert_refusals is not None:
            refuse_new_certificate(distribution_config)
        if lose_first:
            wanted = aliases_of(distribution_config)
            for dist in self.distributions.values():
                held = aliases_of({"Aliases": getattr(dist.distribution_config, "Aliases", None)})
                if wanted & held:
                    raise CNAMEAlreadyExists()
            result = create(self, distribution_config, tags)
            with lock:
                first = not lost["done"]
                lost["done"] = True
            if first:
                # The distribution exists; its answer never arrives.
                raise RuntimeError("the response to CreateDistribution was lost")
            return result
        return create(self, distribution_config, tags)

    backend.create_distribution_with_tags = create_distribution_with_tags

    def is_enabled(dist):
        cfg = dist.distribution_config
        value = getattr(cfg, "Enabled", None)
        if value is None:
            value = getattr(cfg, "enabled", None)
        return str(value).lower() == "true"

    update = backend.update_distribution

    def update_distribution(self, dist_config, _id, if_match):
        if cert_refusals is not None:
            refuse_new_certificate(dist_config)
        was = self.distributions.get(_id)
        was_enabled = bool(was and is_enabled(was))
        result = update(self, dist_config, _id, if_match)
        now = self.distributions.get(_id)
        if was_enabled and now is not None and not is_enabled(now):
            with lock:
                disabled_at[_id] = time.time()
        return result

    backend.update_distribution = update_distribution

    delete = backend.delete_distribution

    def delete_distribution(self, distribution_id, if_match):
        with lock:
            since = disabled_at.get(distribution_id)
            gone_already = distribution_id in lingering
        if gone_already:
            raise NoSuchDistribution
        if (
            not_disabled_secs is not None
            and since is not None
            and time.time() < since + not_disabled_secs
            and distribution_id in self.distributions
        ):
            raise DistributionNotDisabled()
        if linger_polls is not None and distribution_id in self.distributions and if_match:
            with lock:
                lingering[distribution_id] = linger_polls
            return None
        return delete(self, distribution_id, if_match)

    backend.delete_distribution = delete_distribution

    def lingers(self, distribution_id):
        with lock:
            if distribution_id not in lingering:
                return
            left = lingering[distribution_id]
            if left > 0:
                lingering[distribution_id] = left - 1
                return
            del lingering[distribution_id]
        self.distributions.pop(distribution_id, None)
        raise NoSuchDistribution

    for name in ("get_distribution", "get_distribution_config"):
        original = getattr(backend, name)

        def patched(self, distribution_id, _original=original):
            lingers(self, distribution_id)
            return _original(self, distribution_id)

        patched.__name__ = name
        setattr(backend, name, patched)
