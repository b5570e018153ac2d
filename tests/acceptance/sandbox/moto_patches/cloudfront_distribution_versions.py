"""CloudFront: ETags, If-Match and the disable-before-delete rule.

Gap (moto 5.2.5): a distribution's ETag never changes and the `If-Match`
value of UpdateDistribution / DeleteDistribution is not compared with it; an
enabled (or still deploying) distribution can be deleted; an update leaves
the status `Deployed`.

Real AWS: every UpdateDistribution yields a new ETag; `If-Match` must be the
current ETag, otherwise HTTP 412 `PreconditionFailed` (missing: 400
`InvalidIfMatchVersion`); DeleteDistribution of a distribution that is
enabled or not yet `Deployed` fails with HTTP 409 `DistributionNotDisabled`;
after an update the status is `InProgress` until the change is deployed.
Source: CloudFront API Reference, UpdateDistribution and DeleteDistribution
("Errors"), and the Developer Guide, "Delete a distribution" (disable it,
wait until Status is Deployed, then delete).

With moto's default state-manager setting the status reads `Deployed` again
at the next read; `POST /moto-api/state-manager/set-transition` for
`cloudfront::distribution` makes `InProgress` last.
"""
import datetime
import functools


def apply():
    from moto.cloudfront import models
    from moto.cloudfront.exceptions import (
        CloudFrontException,
        InvalidIfMatchVersion,
        NoSuchDistribution,
    )

    class PreconditionFailed(CloudFrontException):
        def __init__(self):
            super().__init__(
                "PreconditionFailed",
                "The precondition given in one or more of the request-header fields evaluated to false.",
            )

    class DistributionNotDisabled(CloudFrontException):
        def __init__(self):
            super().__init__(
                "DistributionNotDisabled",
                "The distribution you are trying to delete has not been disabled.",
            )

    # moto picks the error's service model from the exception's module.
    for cls in (PreconditionFailed, DistributionNotDisabled):
        cls.__module__ = "moto.cloudfront.exceptions"

    backend = models.CloudFrontBackend

    def check_if_match(dist, if_match):
        if not if_match:
            raise InvalidIfMatchVersion
        if if_match != dist.etag:
            raise PreconditionFailed

    update = backend.update_distribution

    @functools.wraps(update)
    def update_distribution(self, dist_config, _id, if_match):
        dist = self.distributions.get(_id) if _id else None
        if dist is None:
            raise NoSuchDistribution
        check_if_match(dist, if_match)
        update(self, dist_config, _id, if_match)
        dist.etag = models.random_id()
        dist.status = "InProgress"
        dist._tick = 0
        dist._time_progressed = datetime.datetime.now()
        return dist, dist.location, dist.etag

    backend.update_distribution = update_distribution

    delete = backend.delete_distribution

    @functools.wraps(delete)
    def delete_distribution(self, distribution_id, if_match):
        dist = self.distributions.get(distribution_id)
        if dist is None:
            raise NoSuchDistribution
        check_if_match(dist, if_match)
        enabled = dist.distribution_config.Enabled
        if enabled in (True, "true") or dist.status != "Deployed":
            raise DistributionNotDisabled
        delete(self, distribution_id, if_match)

    backend.delete_distribution = delete_distribution
