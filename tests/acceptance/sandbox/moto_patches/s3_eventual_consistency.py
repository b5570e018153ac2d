"""S3 bucket configuration is eventually consistent (opt-in).

Gap (moto 5.2.5): every bucket call sees the bucket and its settings at
once, so a client that never retries looks correct.

Real AWS:
- "Bucket configurations have an eventual consistency model" (S3 User
  Guide, Amazon S3 data consistency model): right after CreateBucket, calls
  on the bucket may answer 404 NoSuchBucket, or 409 OperationAborted ("A
  conflicting conditional operation is currently in progress against this
  resource", seen on PutPublicAccessBlock: hashicorp/terraform-provider-aws
  #36873). hashicorp/aws retries every call after CreateBucket for 2 minutes.
- After PutPublicAccessBlock relaxes BlockPublicPolicy, PutBucketPolicy with
  a public statement may still be refused with 403 AccessDenied while the
  change propagates (AWS support, quoted in env0/templates#258).
- PutBucketVersioning: "When you enable versioning on a bucket for the first
  time, it might take a short amount of time for the change to be fully
  propagated. While this change is propagating, you might encounter
  intermittent HTTP 404 NoSuchKey errors for requests to objects created or
  updated after enabling versioning" (S3 API Reference).

Each is opt-in through the server's environment:
- MOTO_S3_NEW_BUCKET_SETTLING_CALLS=N: after CreateBucket, the next N calls
  of PutPublicAccessBlock, PutBucketEncryption, PutBucketVersioning,
  PutBucketTagging, PutBucketPolicy and PutObject on that bucket fail,
  alternately NoSuchBucket and OperationAborted.
- MOTO_S3_POLICY_REFUSALS_AFTER_ACCESS_BLOCK=N: after a PutPublicAccessBlock
  with BlockPublicPolicy off, the next N PutBucketPolicy calls on that bucket
  with a statement for Principal "*" fail with AccessDenied.
- MOTO_S3_VERSIONING_PROPAGATION_SECS=N: for N seconds after versioning is
  first enabled on a bucket, GetObject of an object written after the
  enabling answers NoSuchKey.
- MOTO_S3_CREATE_BUCKET_DELAY_SECS=N: CreateBucket makes the bucket, then
  takes N seconds to answer (a slow or lost response: the bucket exists
  whether or not the caller waits for the answer).
"""
import os
import threading
import time


def _int_env(name):
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else None


def apply():
    settling = _int_env("MOTO_S3_NEW_BUCKET_SETTLING_CALLS")
    refusals = _int_env("MOTO_S3_POLICY_REFUSALS_AFTER_ACCESS_BLOCK")
    versioning_secs = _int_env("MOTO_S3_VERSIONING_PROPAGATION_SECS")
    create_delay = _int_env("MOTO_S3_CREATE_BUCKET_DELAY_SECS")
    if all(v is None for v in (settling, refusals, versioning_secs, create_delay)):
        return

    import json

    from moto.s3 import models
    from moto.s3.exceptions import MissingBucket, S3ClientError

    class OperationAborted(S3ClientError):
        code = "OperationAborted"

        def __init__(self):
            super().__init__(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            )

    class AccessDenied(S3ClientError):
        code = "AccessDenied"

        def __init__(self):
            super().__init__("AccessDenied", "Access Denied")

    # moto picks the error's service model from the exception's module.
    for cls in (OperationAborted, AccessDenied):
        cls.__module__ = "moto.s3.exceptions"

    lock = threading.Lock()
    left = {}  # bucket -> settling failures left
    served = {}  # bucket -> settling failures served
    refusals_left = {}  # bucket -> AccessDenied left for public policies
    enabled_at = {}  # bucket -> when versioning was first enabled
    written_at = {}  # (bucket, key) -> last write

    backend = models.S3Backend

    def settle(bucket_name):
        with lock:
            n = left.get(bucket_name, 0)
            if n <= 0:
                return
            left[bucket_name] = n - 1
            k = served.get(bucket_name, 0)
            served[bucket_name] = k + 1
        if k % 2 == 0:
            raise MissingBucket(bucket=bucket_name)
        raise OperationAborted()

    def wrap(name, before=None, after=None):
        original = getattr(backend, name)

        def patched(self, bucket_name, *args, **kwargs):
            if before:
                before(self, bucket_name, *args, **kwargs)
            result = original(self, bucket_name, *args, **kwargs)
            if after:
                after(self, bucket_name, *args, **kwargs)
            return result

        patched.__name__ = name
        setattr(backend, name, patched)

    if create_delay is not None:
        wrap("create_bucket", after=lambda self, b, *a, **k: time.sleep(create_delay))

    if settling is not None:

        def created(self, bucket_name, *args, **kwargs):
            with lock:
                left[bucket_name] = settling
                served[bucket_name] = 0

        wrap("create_bucket", after=created)
        for name in (
            "put_public_access_block",
            "put_bucket_encryption",
            "put_bucket_versioning",
            "put_bucket_tagging",
            "put_bucket_policy",
            "put_object",
        ):
            wrap(name, before=lambda self, b, *a, **k: settle(b))

    if refusals is not None:

        def block_put(self, bucket_name, pub_block_config, *args, **kwargs):
            cfg = pub_block_config or {}
            relaxed = str(cfg.get("BlockPublicPolicy", "false")).lower() != "true"
            if relaxed:
                with lock:
                    refusals_left[bucket_name] = refusals

        wrap("put_public_access_block", after=block_put)

        def policy_put(self, bucket_name, policy, *args, **kwargs):
            try:
                doc = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
            except ValueError:
                return
            statements = doc.get("Statement") or []
            if isinstance(statements, dict):
                statements = [statements]
            public = any(
                s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"})
                for s in statements
            )
            if not public:
                return
            with lock:
                n = refusals_left.get(bucket_name, 0)
                if n <= 0:
                    return
                refusals_left[bucket_name] = n - 1
            raise AccessDenied()

        wrap("put_bucket_policy", before=policy_put)

    if versioning_secs is not None:

        def versioning_put(self, bucket_name, status, *args, **kwargs):
            if status == "Enabled":
                with lock:
                    enabled_at.setdefault(bucket_name, time.time())

        wrap("put_bucket_versioning", after=versioning_put)

        def bucket_made(self, bucket_name, *args, **kwargs):
            # A new bucket of the same name (e.g. after /moto-api/reset)
            # starts without versioning.
            with lock:
                enabled_at.pop(bucket_name, None)
                for k in [k for k in written_at if k[0] == bucket_name]:
                    del written_at[k]

        wrap("create_bucket", after=bucket_made)

        put_object = backend.put_object

        def put_object_patched(self, bucket_name, key_name, *args, **kwargs):
            result = put_object(self, bucket_name, key_name, *args, **kwargs)
            with lock:
                written_at[(bucket_name, key_name)] = time.time()
            return result

        backend.put_object = put_object_patched

        get_object = backend.get_object

        def get_object_patched(self, bucket_name, key_name, version_id=None, *args, **kwargs):
            if version_id is None:
                with lock:
                    since = enabled_at.get(bucket_name)
                    written = written_at.get((bucket_name, key_name))
                if (
                    since is not None
                    and written is not None
                    and written >= since
                    and time.time() < since + versioning_secs
                ):
                    return None
            return get_object(self, bucket_name, key_name, version_id, *args, **kwargs)

        backend.get_object = get_object_patched
