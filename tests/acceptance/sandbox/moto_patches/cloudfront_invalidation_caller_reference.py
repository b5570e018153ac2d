"""CloudFront: CreateInvalidation is idempotent per CallerReference.

Gap (moto 5.2.5): every CreateInvalidation creates a new invalidation, even
when the same CallerReference is sent again.

Real AWS: a repeated request with the same CallerReference and the same
paths returns the invalidation created by the first one; the same
CallerReference with other paths fails with `InvalidationBatchAlreadyExists`.
Source: CloudFront API Reference, data type `InvalidationBatch`, field
`CallerReference`. (That error is not in the service model, so moto sends
it with its default status, 400.)
"""
import functools


def apply():
    from moto.cloudfront import models
    from moto.cloudfront.exceptions import CloudFrontException

    class InvalidationBatchAlreadyExists(CloudFrontException):
        def __init__(self):
            super().__init__(
                "InvalidationBatchAlreadyExists",
                "The caller reference you attempted to create the invalidation batch with is already in use.",
            )

    # moto picks the error's service model from the exception's module.
    for cls in (InvalidationBatchAlreadyExists,):
        cls.__module__ = "moto.cloudfront.exceptions"

    backend = models.CloudFrontBackend
    create = backend.create_invalidation

    @functools.wraps(create)
    def create_invalidation(self, dist_id, paths, caller_ref):
        for existing in self.invalidations.get(dist_id) or []:
            if existing.caller_ref == caller_ref:
                if list(existing.paths) == list(paths):
                    return existing
                raise InvalidationBatchAlreadyExists
        return create(self, dist_id, paths, caller_ref)

    backend.create_invalidation = create_invalidation
