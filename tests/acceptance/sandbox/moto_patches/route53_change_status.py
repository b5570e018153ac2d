"""Route 53 changes that are PENDING before they are INSYNC (opt-in).

Gap (moto 5.2.5): ChangeResourceRecordSets answers Status INSYNC with the
same fixed change Id for every change, and GetChange answers INSYNC for any
Id, so a client's wait-until-INSYNC loop is never exercised.

Real AWS (Route 53 API Reference, ChangeResourceRecordSets and GetChange):
the response carries a unique `/change/<id>` with Status PENDING; GetChange
reports PENDING until the change has reached all authoritative servers
(usually within 60 seconds), then INSYNC; an unknown Id is HTTP 404
`NoSuchChange`.

Opt-in, because it makes every change cost the caller at least one poll:
with MOTO_ROUTE53_CHANGE_PENDING_POLLS=N in the server's environment, every
change gets a unique Id and Status PENDING, the first N GetChange calls for
it answer PENDING and later ones INSYNC, and an unknown Id is NoSuchChange.
Unset: moto's own behaviour.
"""
import itertools
import os
import threading


def apply():
    raw = os.environ.get("MOTO_ROUTE53_CHANGE_PENDING_POLLS")
    if raw is None or raw == "":
        return
    pending_polls = int(raw)

    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.route53 import responses
    from moto.route53.exceptions import Route53ClientError

    lock = threading.Lock()
    counter = itertools.count(1)
    remaining = {}  # change id (without /change/) -> PENDING polls left

    original_change = responses.Route53.change_resource_record_sets

    def change_resource_record_sets(self):
        result = original_change(self)
        with lock:
            change_id = f"C{next(counter):012d}PENDING"
            remaining[change_id] = pending_polls
        info = result.result["ChangeInfo"]
        info["Id"] = f"/change/{change_id}"
        info["Status"] = "PENDING"
        return result

    def get_change(self):
        change_id = self._get_param("Id").replace("/change/", "")
        with lock:
            if change_id not in remaining:
                raise Route53ClientError(
                    "NoSuchChange", f"A change with the specified change ID does not exist: {change_id}"
                )
            left = remaining[change_id]
            if left > 0:
                remaining[change_id] = left - 1
        return ActionResult(
            {
                "ChangeInfo": {
                    "Id": f"/change/{change_id}",
                    "Status": "PENDING" if left > 0 else "INSYNC",
                    "SubmittedAt": utcnow(),
                }
            }
        )

    responses.Route53.change_resource_record_sets = change_resource_record_sets
    responses.Route53.get_change = get_change
