"""CloudFront origin access controls (OAC) as AWS handles them.

Gaps (moto 5.2.5):
* GetOriginAccessControlConfig is not implemented (HTTP 500).
* DeleteOriginAccessControl of a missing OAC raises KeyError (HTTP 500); it
  ignores `If-Match` and deletes an OAC that distributions still use.
* CreateOriginAccessControl accepts a second OAC with a name already taken.
* The read-back lacks `OriginAccessControlOriginType`.

Real AWS (CloudFront API Reference, CreateOriginAccessControl,
GetOriginAccessControl, GetOriginAccessControlConfig,
DeleteOriginAccessControl, "Errors"):
* a missing OAC is HTTP 404 `NoSuchOriginAccessControl` for get, get-config
  and delete;
* delete needs the current ETag in `If-Match` (400 `InvalidIfMatchVersion`
  when missing, 412 `PreconditionFailed` when stale) and fails with 409
  `OriginAccessControlInUse` while an origin of a distribution refers to it;
* names are unique in the account: 409 `OriginAccessControlAlreadyExists`.
"""
import functools


def apply():
    from moto.core.responses import ActionResult
    from moto.cloudfront import models, responses
    from moto.cloudfront.exceptions import (
        CloudFrontException,
        InvalidIfMatchVersion,
        NoSuchOriginAccessControl,
    )

    class PreconditionFailed(CloudFrontException):
        def __init__(self):
            super().__init__(
                "PreconditionFailed",
                "The precondition given in one or more of the request-header fields evaluated to false.",
            )

    class OriginAccessControlAlreadyExists(CloudFrontException):
        def __init__(self, name):
            super().__init__(
                "OriginAccessControlAlreadyExists",
                f"An origin access control with the name {name} already exists.",
            )

    class OriginAccessControlInUse(CloudFrontException):
        def __init__(self):
            super().__init__(
                "OriginAccessControlInUse",
                "The origin access control is in use by one or more distributions.",
            )

    # moto picks the error's service model from the exception's module.
    for cls in (PreconditionFailed, OriginAccessControlAlreadyExists, OriginAccessControlInUse):
        cls.__module__ = "moto.cloudfront.exceptions"

    models.OriginAccessControl.origin_access_control_origin_type = property(
        lambda self: self.origin_type
    )

    backend = models.CloudFrontBackend

    create = backend.create_origin_access_control

    @functools.wraps(create)
    def create_origin_access_control(self, config_dict):
        name = config_dict.get("Name")
        if any(c.name == name for c in self.origin_access_controls.values()):
            raise OriginAccessControlAlreadyExists(name)
        return create(self, config_dict)

    backend.create_origin_access_control = create_origin_access_control

    def delete_origin_access_control(self, control_id, if_match=None):
        control = self.origin_access_controls.get(control_id)
        if control is None:
            raise NoSuchOriginAccessControl
        if not if_match:
            raise InvalidIfMatchVersion
        if if_match != control.etag:
            raise PreconditionFailed
        for dist in self.distributions.values():
            for origin in dist.distribution_config.Origins["Items"]:
                if getattr(origin, "origin_access_control_id", "") == control_id:
                    raise OriginAccessControlInUse
        del self.origin_access_controls[control_id]

    backend.delete_origin_access_control = delete_origin_access_control

    def delete_response(self):
        self.backend.delete_origin_access_control(
            self._get_param("Id"), self._get_param("IfMatch")
        )
        from moto.core.responses import EmptyResult

        return EmptyResult()

    responses.CloudFrontResponse.delete_origin_access_control = delete_response

    def get_config_response(self):
        control = self.backend.get_origin_access_control(self._get_param("Id"))
        return ActionResult(
            {"OriginAccessControlConfig": control, "ETag": control.etag}
        )

    responses.CloudFrontResponse.get_origin_access_control_config = get_config_response
