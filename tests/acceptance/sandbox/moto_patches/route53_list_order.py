"""Route 53: the order of ListResourceRecordSets, trailing dot included.

Gap (moto 5.2.5): records are sorted by name with the labels reversed but
WITHOUT the trailing dot (`com.example.oidc`), so a sibling whose label
continues with a character before `.` (ASCII 46: `!"#$%&'()*+,-`), e.g.
`oidc-x.example.com`, sorts after `oidc.example.com` and before the names
under it (`_x.oidc.example.com`); names are compared case-sensitively.

Real AWS (Route 53 API Reference, ListResourceRecordSets, "Sort order"):
"ListResourceRecordSets sorts results first by DNS name with the labels
reversed, for example: com.example.www. Note the trailing dot, which can
change the sort order when the record name contains characters that appear
before . (decimal 46) in the ASCII table." Then by type. So a listing that
starts at a name returns that name's records, then the names under it,
and `oidc-x.example.com` comes before `oidc.example.com`.

This patch sorts (and starts the listing) by the reversed, lower-cased name
with its trailing dot, then by type, as AWS does.
"""


def apply():
    from moto.route53 import models

    def aws_key(name):
        n = (name or "").lower()
        if n.endswith("."):
            n = n[:-1]
        return ".".join(reversed(n.split("."))) + "."

    def get_record_sets(self, start_type, start_name):
        record_sets = sorted(self.rrsets, key=lambda r: (aws_key(r.name), r.type))
        if start_name:
            start = (aws_key(start_name), start_type or "")
            record_sets = [r for r in record_sets if (aws_key(r.name), r.type) >= start]
        return record_sets

    models.FakeZone.get_record_sets = get_record_sets
