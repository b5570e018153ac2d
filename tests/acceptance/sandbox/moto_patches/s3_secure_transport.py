"""S3 bucket policies: `aws:SecureTransport` conditions.

Gap: moto 5.2.5 enforces bucket-policy statements whose principal is "*"
but ignores their Condition blocks (see FakeS3Backend.put_bucket_policy's
docstring). The standard "deny non-TLS" statement -- Deny s3:* to "*" when
{"Bool": {"aws:SecureTransport": "false"}} -- therefore denies every request,
TLS or not.

Real AWS: the statement only matches requests made over plain HTTP
(IAM User Guide, "AWS global condition context keys: aws:SecureTransport").
Every SDK request to real S3 is HTTPS, so the statement never matches them.
Our sandbox talks plain HTTP to moto only because moto has no TLS; we evaluate
the condition as AWS would for the HTTPS request the provider makes:
statements conditioned on aws:SecureTransport = "false" do not apply.
"""
import copy
import json


def _applies_over_tls(statement):
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return not (secure in ("false", False, ["false"]))


def apply():
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self, action, resource):
        if self.policy is None:
            return original(self, action, resource)
        try:
            doc = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        except ValueError:
            return original(self, action, resource)
        statements = doc.get("Statement") or []
        if isinstance(statements, dict):
            statements = [statements]
        kept = [s for s in statements if _applies_over_tls(s)]
        if len(kept) == len(statements):
            return original(self, action, resource)
        # Evaluate on a copy: the server is threaded, and putting the
        # filtered policy on the bucket itself, even for a moment, let a
        # concurrent GetBucketPolicy read it (the provider's refresh reads
        # the policy while it reads the documents: a plan then showed a
        # policy change that nobody made).
        view = copy.copy(self)
        view.policy = json.dumps(dict(doc, Statement=kept)).encode()
        return original(view, action, resource)

    FakeBucket.get_permission = get_permission
