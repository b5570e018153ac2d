#!/usr/bin/env python3
"""Regenerate proto_schema.txt, the protobuf schema the fake API server
uses to decode request bodies that kubectl's typed clients send as
`application/vnd.kubernetes.protobuf`.

The schema is read from the FileDescriptorProtos that every Go binary
built with the k8s.io/api packages embeds (gzipped, registered by the
gogo-generated code), so it is exactly what that kubectl speaks:

    python3 proto_schema_gen.py /usr/lib/google-cloud-sdk/bin/kubectl.1.32 > proto_schema.txt

Output, one message per block:

    message <full.name>
      <number> <jsonName> <opt|rep|inl> <type> [<message name> | map <key> <value>]

JSON names: go-to-protobuf names a field after its Go field name with the
first letter lowered (APIVersion -> aPIVersion); the JSON tag lowers the
whole leading acronym (apiVersion). `json_name()` applies that rule, plus
the few exceptions listed in JSON_NAME_EXCEPTIONS.
"""
import re
import sys
import zlib

# Roots: the kinds the fake API server stores, TokenRequest, DeleteOptions.
ROOTS = [
    "k8s.io.api.core.v1.Namespace",
    "k8s.io.api.core.v1.ServiceAccount",
    "k8s.io.api.core.v1.Secret",
    "k8s.io.api.core.v1.Service",
    "k8s.io.api.core.v1.ConfigMap",
    "k8s.io.api.apps.v1.Deployment",
    "k8s.io.api.rbac.v1.ClusterRole",
    "k8s.io.api.rbac.v1.ClusterRoleBinding",
    "k8s.io.api.rbac.v1.Role",
    "k8s.io.api.rbac.v1.RoleBinding",
    "k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration",
    "k8s.io.api.policy.v1.PodDisruptionBudget",
    "k8s.io.api.authentication.v1.TokenRequest",
    "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
]

# Messages with a special JSON form; the decoder handles them by name, so
# their fields need not be followed.
SPECIAL = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
}

# Where the JSON tag is not what json_name() derives.
JSON_NAME_EXCEPTIONS = {}

# Go fields embedded with `json:",inline"`: their fields appear in the
# parent's JSON object. Written with label "inl".
INLINE = {
    ("k8s.io.api.admissionregistration.v1.RuleWithOperations", "rule"),
    ("k8s.io.api.core.v1.ConfigMapEnvSource", "localObjectReference"),
    ("k8s.io.api.core.v1.ConfigMapKeySelector", "localObjectReference"),
    ("k8s.io.api.core.v1.ConfigMapProjection", "localObjectReference"),
    ("k8s.io.api.core.v1.ConfigMapVolumeSource", "localObjectReference"),
    ("k8s.io.api.core.v1.SecretEnvSource", "localObjectReference"),
    ("k8s.io.api.core.v1.SecretKeySelector", "localObjectReference"),
    ("k8s.io.api.core.v1.SecretProjection", "localObjectReference"),
    ("k8s.io.api.core.v1.EphemeralContainer", "ephemeralContainerCommon"),
    ("k8s.io.api.core.v1.Volume", "volumeSource"),
    ("k8s.io.api.core.v1.Probe", "handler"),
}

SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64",
           7: "fixed32", 8: "bool", 9: "string", 12: "bytes", 13: "uint32", 14: "enum",
           15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64"}


def varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, v


def parse_message(b, prefix, out):
    name, flds, nested, map_entry = None, [], [], False
    for num, v in fields(b):
        if num == 1:
            name = v.decode()
        elif num == 2:
            f = {}
            for n2, v2 in fields(v):
                f[n2] = v2
            flds.append(f)
        elif num == 3:
            nested.append(v)
        elif num == 7:
            for n2, v2 in fields(v):
                if n2 == 7 and v2:
                    map_entry = True
    full = prefix + "." + name
    out[full] = {"fields": flds, "map_entry": map_entry}
    for n in nested:
        parse_message(n, full, out)


def load(binary):
    data = open(binary, "rb").read()
    messages = {}
    for m in re.finditer(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", data):
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[m.start():m.start() + (1 << 20)])
        except zlib.error:
            continue
        if not raw.startswith(b"\x0a") or b"generated.proto" not in raw[:200]:
            continue
        package = None
        msgs = []
        for num, v in fields(raw):
            if num == 2:
                package = v.decode()
            elif num == 4:
                msgs.append(v)
        for b in msgs:
            parse_message(b, package, messages)
    return messages


def json_name(proto_name):
    if proto_name in JSON_NAME_EXCEPTIONS:
        return JSON_NAME_EXCEPTIONS[proto_name]
    if proto_name[:1].isupper():
        # E.g. MutatingWebhookConfiguration's "Webhooks" (JSON "webhooks").
        proto_name = proto_name[0].lower() + proto_name[1:]
    m = re.match(r"^([a-z])([A-Z]+)(.*)$", proto_name)
    if not m:
        return proto_name
    first, caps, rest = m.groups()
    if rest and rest[0].islower():
        # The last capital starts the next word: aPIVersion -> api + Version.
        return first + caps[:-1].lower() + caps[-1] + rest
    return first + caps.lower() + rest


def type_of(f, messages):
    t = f.get(5)
    if t == 11:
        tn = f[6].decode().lstrip(".")
        entry = messages.get(tn)
        if entry and entry["map_entry"]:
            kv = {}
            for ef in entry["fields"]:
                kv[ef[3]] = type_of(ef, messages)
            return "map %s %s" % (kv[1], kv[2])
        return "message " + tn
    return SCALARS[t]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
    messages = load(binary)
    seen, queue, order = set(), list(ROOTS), []
    while queue:
        name = queue.pop(0)
        if name in seen or name in SPECIAL:
            continue
        seen.add(name)
        if name not in messages:
            raise SystemExit("message %s not found in %s" % (name, binary))
        order.append(name)
        for f in messages[name]["fields"]:
            for word in type_of(f, messages).split():
                if "." in word:
                    queue.append(word)
    print("# Generated by proto_schema_gen.py from the descriptors embedded in")
    print("# %s. Do not edit by hand." % binary.rsplit("/", 1)[-1])
    for name in sorted(order):
        print("message " + name)
        for f in sorted(messages[name]["fields"], key=lambda f: f[3]):
            label = "rep" if f.get(4) == 3 else "opt"
            ty = type_of(f, messages)
            if ty.startswith("map "):
                label = "rep"
            if (name, f[1].decode()) in INLINE:
                label = "inl"
            print("  %d %s %s %s" % (f[3], json_name(f[1].decode()), label, ty))


if __name__ == "__main__":
    main()
