"""Route 53 DELETE changes must name an existing record with its current values.

Gap (moto 5.2.5): a DELETE in ChangeResourceRecordSets is accepted when any
earlier CREATE/UPSERT in the zone's change journal had the same name and
type (and, for value records, TTL and values), whether or not the record
still exists or still has those values; moto then drops every record of that
name and type.

Real AWS (Route 53 API Reference, ChangeResourceRecordSets and Change:
"To delete a resource record set, you must specify all the same values that
you specified when you created it"): the whole batch is refused with HTTP 400
`InvalidChangeBatch` when a DELETE names a record set that does not exist
("Tried to delete resource record set [name='x.', type='A'] but it was not
found") or whose TTL, values or alias target differ from the current ones
("... but the values provided do not match the current values"). Names are
compared case-insensitively, with or without the trailing dot.
"""


def _name(n):
    return (n or "").replace("\\052", "*").rstrip(".").lower()


def _values(records):
    out = []
    for r in records or []:
        out.append(r["Value"] if isinstance(r, dict) else r)
    return sorted(str(v) for v in out)


def _alias(a):
    if not a:
        return None
    return (
        _name(a.get("DNSName")),
        str(a.get("HostedZoneId") or "").replace("/hostedzone/", ""),
        str(a.get("EvaluateTargetHealth", False)).lower(),
    )


def apply():
    from moto.route53 import models
    from moto.route53.exceptions import Route53ClientError

    original = models.Route53Backend.change_resource_record_sets

    def change_resource_record_sets(self, zoneid, change_list):
        the_zone = self.get_hosted_zone(zoneid)
        for change in change_list:
            if change.get("Action") != "DELETE":
                continue
            rrs = change["ResourceRecordSet"]
            name, rtype, set_id = _name(rrs.get("Name")), rrs.get("Type"), rrs.get("SetIdentifier")
            label = f"[name='{name}.', type='{rtype}'" + (f", set-identifier='{set_id}'" if set_id else "") + "]"
            current = next(
                (
                    r
                    for r in the_zone.rrsets
                    if _name(r.name) == name and r.type == rtype and r.set_identifier == set_id
                ),
                None,
            )
            if current is None:
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"[Tried to delete resource record set {label} but it was not found]",
                )
            if "AliasTarget" in rrs or current.alias_target:
                same = _alias(rrs.get("AliasTarget")) == _alias(current.alias_target)
            else:
                same = str(rrs.get("TTL")) == str(current.ttl) and _values(
                    rrs.get("ResourceRecords")
                ) == _values(current.records)
            if not same:
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"[Tried to delete resource record set {label} but the values provided do not "
                    "match the current values]",
                )
        return original(self, zoneid, change_list)

    models.Route53Backend.change_resource_record_sets = change_resource_record_sets
