//! Decoding `application/vnd.kubernetes.protobuf` request bodies.
//!
//! kubectl's typed clients (`kubectl create token`, `create configmap`,
//! `create namespace`, ...) send protobuf, not JSON. A body is the magic
//! `k8s\0` followed by a `runtime.Unknown` {typeMeta, raw}; `raw` is the
//! object. It is decoded to the same JSON the object has in the JSON API,
//! using `proto_schema.txt` (field numbers, JSON names and types taken from
//! the descriptors kubectl itself embeds; see `proto_schema_gen.py`).
//!
//! Scalars that are zero are kept except empty strings (absent and "" are
//! the same to a Go decoder, and most strings are `omitempty`); zero
//! timestamps become absent (Go writes them as `null`).

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::status::ApiError;

const MAGIC: &[u8] = b"k8s\0";
const SCHEMA_TEXT: &str = include_str!("proto_schema.txt");

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Label {
    Optional,
    Repeated,
    /// Embedded with `json:",inline"`: fields merge into the parent object.
    Inline,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Scalar(String),
    Message(String),
    Map(String, Box<Ty>),
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    pub label: Label,
    pub ty: Ty,
}

type Schema = HashMap<String, HashMap<u64, Field>>;

/// The fields of one message of the embedded schema (for `schema`).
pub(crate) fn message_fields(name: &str) -> Option<&'static HashMap<u64, Field>> {
    schema().get(name)
}

fn parse_ty(words: &[&str]) -> Option<Ty> {
    match words {
        ["message", name] => Some(Ty::Message((*name).to_string())),
        ["map", key, rest @ ..] => Some(Ty::Map((*key).to_string(), Box::new(parse_ty(rest)?))),
        [scalar] => Some(Ty::Scalar((*scalar).to_string())),
        _ => None,
    }
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut out = Schema::new();
        let mut current: Option<String> = None;
        for line in SCHEMA_TEXT.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [w, ..] if w.starts_with('#') => {}
                ["message", name] => {
                    current = Some((*name).to_string());
                    out.entry((*name).to_string()).or_default();
                }
                [num, name, label, ty @ ..] => {
                    // The file is generated and checked by a unit test, so a
                    // malformed line is a bug in this crate, not request data.
                    let (Some(msg), Ok(num), Some(ty)) =
                        (&current, num.parse::<u64>(), parse_ty(ty))
                    else {
                        panic!("bad line in proto_schema.txt: {line}");
                    };
                    let label = match *label {
                        "rep" => Label::Repeated,
                        "inl" => Label::Inline,
                        _ => Label::Optional,
                    };
                    if let Some(m) = out.get_mut(msg) {
                        m.insert(
                            num,
                            Field {
                                name: (*name).to_string(),
                                label,
                                ty,
                            },
                        );
                    }
                }
                _ => panic!("bad line in proto_schema.txt: {line}"),
            }
        }
        out
    })
}

/// One field as it appears on the wire.
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut result = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err("varint overflows 64 bits".into());
            }
            result |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        Err("varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated field")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| "fixed64")?,
            )),
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
                Wire::Bytes(self.take(n)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().map_err(|_| "fixed32")?,
            )),
            w => return Err(format!("unsupported wire type {w}")),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn scalar(ty: &str, wire: &Wire) -> Result<Value, String> {
    Ok(match (ty, wire) {
        ("string", Wire::Bytes(b)) => {
            json!(std::str::from_utf8(b).map_err(|_| "string is not UTF-8")?)
        }
        ("bytes", Wire::Bytes(b)) => json!(STANDARD.encode(b)),
        ("bool", Wire::Varint(v)) => json!(*v != 0),
        // Negative int32s are sign-extended to 64 bits on the wire.
        ("int32" | "enum", Wire::Varint(v)) => json!(*v as i64 as i32),
        ("int64", Wire::Varint(v)) => json!(*v as i64),
        ("uint32" | "uint64", Wire::Varint(v)) => json!(v),
        ("sint32" | "sint64", Wire::Varint(v)) => json!(((v >> 1) as i64) ^ -((v & 1) as i64)),
        ("double", Wire::Fixed64(v)) => json!(f64::from_bits(*v)),
        ("fixed64", Wire::Fixed64(v)) => json!(v),
        ("sfixed64", Wire::Fixed64(v)) => json!(*v as i64),
        ("float", Wire::Fixed32(v)) => json!(f32::from_bits(*v)),
        ("fixed32", Wire::Fixed32(v)) => json!(v),
        ("sfixed32", Wire::Fixed32(v)) => json!(*v as i32),
        (t, _) => return Err(format!("wire type does not fit a {t} field")),
    })
}

/// Packed repeated scalars: one length-delimited run of values.
fn packed(ty: &str, b: &[u8]) -> Result<Vec<Value>, String> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while r.pos < b.len() {
        let wire = match ty {
            "double" | "fixed64" | "sfixed64" => Wire::Fixed64(u64::from_le_bytes(
                r.take(8)?.try_into().map_err(|_| "fixed64")?,
            )),
            "float" | "fixed32" | "sfixed32" => Wire::Fixed32(u32::from_le_bytes(
                r.take(4)?.try_into().map_err(|_| "fixed32")?,
            )),
            _ => Wire::Varint(r.varint()?),
        };
        out.push(scalar(ty, &wire)?);
    }
    Ok(out)
}

fn time_json(b: &[u8], micro: bool) -> Result<Value, String> {
    let (mut secs, mut nanos) = (0i64, 0i64);
    let mut r = Reader::new(b);
    while let Some((num, wire)) = r.next()? {
        match (num, wire) {
            (1, Wire::Varint(v)) => secs = v as i64,
            (2, Wire::Varint(v)) => nanos = i64::from(v as i64 as i32),
            _ => {}
        }
    }
    if secs == 0 && nanos == 0 {
        return Ok(Value::Null);
    }
    let t = time::OffsetDateTime::from_unix_timestamp(secs).map_err(|e| e.to_string())?;
    let base = super::util::rfc3339(t);
    Ok(json!(if micro {
        format!("{}.{:06}Z", base.trim_end_matches('Z'), nanos / 1000)
    } else {
        base
    }))
}

/// Messages whose JSON form is not an object of their fields.
fn special(name: &str, b: &[u8]) -> Result<Option<Value>, String> {
    let first_bytes = |b: &[u8]| -> Result<Option<Vec<u8>>, String> {
        let mut r = Reader::new(b);
        let mut out = None;
        while let Some((num, wire)) = r.next()? {
            if let (1, Wire::Bytes(v)) = (num, wire) {
                out = Some(v.to_vec());
            }
        }
        Ok(out)
    };
    Ok(Some(match name {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => time_json(b, false)?,
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => time_json(b, true)?,
        "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
            let mut r = Reader::new(b);
            let mut nanos = 0i64;
            while let Some((num, wire)) = r.next()? {
                if let (1, Wire::Varint(v)) = (num, wire) {
                    nanos = v as i64;
                }
            }
            // Go's time.ParseDuration reads this form back exactly.
            json!(format!("{nanos}ns"))
        }
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
            let s = first_bytes(b)?.unwrap_or_default();
            json!(String::from_utf8(s).map_err(|_| "quantity is not UTF-8")?)
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"
        | "k8s.io.apimachinery.pkg.runtime.RawExtension" => match first_bytes(b)? {
            None => Value::Null,
            Some(raw) => serde_json::from_slice(&raw).map_err(|e| format!("embedded JSON: {e}"))?,
        },
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            let (mut kind, mut int_val, mut str_val) = (0u64, 0i64, String::new());
            let mut r = Reader::new(b);
            while let Some((num, wire)) = r.next()? {
                match (num, wire) {
                    (1, Wire::Varint(v)) => kind = v,
                    (2, Wire::Varint(v)) => int_val = i64::from(v as i64 as i32),
                    (3, Wire::Bytes(s)) => {
                        str_val =
                            String::from_utf8(s.to_vec()).map_err(|_| "intstr is not UTF-8")?
                    }
                    _ => {}
                }
            }
            if kind == 1 {
                json!(str_val)
            } else {
                json!(int_val)
            }
        }
        _ => return Ok(None),
    }))
}

fn value_of(ty: &Ty, wire: &Wire) -> Result<Value, String> {
    match ty {
        Ty::Scalar(s) => scalar(s, wire),
        Ty::Message(name) => match wire {
            Wire::Bytes(b) => match special(name, b)? {
                Some(v) => Ok(v),
                None => Ok(Value::Object(message(name, b)?)),
            },
            _ => Err(format!(
                "{name} field with a non-length-delimited wire type"
            )),
        },
        Ty::Map(..) => Err("nested map".into()),
    }
}

fn message(name: &str, b: &[u8]) -> Result<Map<String, Value>, String> {
    let fields = schema()
        .get(name)
        .ok_or_else(|| format!("no schema for {name}"))?;
    let mut out = Map::new();
    let mut r = Reader::new(b);
    while let Some((num, wire)) = r.next()? {
        // Unknown fields are skipped, as generated Go code does.
        let Some(f) = fields.get(&num) else { continue };
        match (&f.ty, &f.label) {
            (Ty::Map(_, vty), _) => {
                let Wire::Bytes(entry) = wire else {
                    return Err(format!("{name}.{}: map entry is not a message", f.name));
                };
                let (mut key, mut val) = (String::new(), None);
                let mut er = Reader::new(entry);
                while let Some((n, w)) = er.next()? {
                    match n {
                        1 => key = scalar("string", &w)?.as_str().unwrap_or("").to_string(),
                        2 => val = Some(value_of(vty, &w)?),
                        _ => {}
                    }
                }
                let val = match (val, vty.as_ref()) {
                    (Some(v), _) => v,
                    (None, Ty::Scalar(s)) if s == "string" || s == "bytes" => json!(""),
                    (None, Ty::Message(_)) => json!({}),
                    (None, _) => json!(0),
                };
                let slot = out.entry(f.name.clone()).or_insert_with(|| json!({}));
                if let Some(m) = slot.as_object_mut() {
                    m.insert(key, val);
                }
            }
            (Ty::Scalar(s), Label::Repeated)
                if s != "string" && s != "bytes" && matches!(wire, Wire::Bytes(_)) =>
            {
                let Wire::Bytes(run) = wire else { continue };
                let slot = out.entry(f.name.clone()).or_insert_with(|| json!([]));
                if let Some(a) = slot.as_array_mut() {
                    a.extend(packed(s, run)?);
                }
            }
            (ty, Label::Repeated) => {
                let v = value_of(ty, &wire)?;
                let slot = out.entry(f.name.clone()).or_insert_with(|| json!([]));
                if let Some(a) = slot.as_array_mut() {
                    a.push(v);
                }
            }
            (ty, Label::Inline) => {
                if let Value::Object(inner) = value_of(ty, &wire)? {
                    out.extend(inner);
                }
            }
            (ty, Label::Optional) => match value_of(ty, &wire)? {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                v => {
                    out.insert(f.name.clone(), v);
                }
            },
        }
    }
    Ok(out)
}

/// The protobuf package of an API group.
fn package(api_version: &str) -> Option<(String, &str)> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let pkg = match group {
        "" => "k8s.io.api.core",
        "apps" => "k8s.io.api.apps",
        "rbac.authorization.k8s.io" => "k8s.io.api.rbac",
        "admissionregistration.k8s.io" => "k8s.io.api.admissionregistration",
        "policy" => "k8s.io.api.policy",
        "authentication.k8s.io" => "k8s.io.api.authentication",
        "authorization.k8s.io" => "k8s.io.api.authorization",
        "meta.k8s.io" => "k8s.io.apimachinery.pkg.apis.meta",
        _ => return None,
    };
    Some((pkg.to_string(), version))
}

fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("missing the k8s protobuf magic number")?;
    let (mut api_version, mut kind, mut raw, mut encoding) =
        (String::new(), String::new(), None, String::new());
    let mut r = Reader::new(rest);
    while let Some((num, wire)) = r.next()? {
        match (num, wire) {
            (1, Wire::Bytes(tm)) => {
                let mut tr = Reader::new(tm);
                while let Some((n, w)) = tr.next()? {
                    let s = scalar("string", &w)?.as_str().unwrap_or("").to_string();
                    match n {
                        1 => api_version = s,
                        2 => kind = s,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = Some(b),
            (3, Wire::Bytes(b)) => encoding = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    if !encoding.is_empty() {
        return Err(format!("unsupported contentEncoding {encoding:?}"));
    }
    // DeleteOptions travel as "v1" in the core group.
    let (pkg, version) = match (api_version.as_str(), kind.as_str()) {
        ("v1", "DeleteOptions") => ("k8s.io.apimachinery.pkg.apis.meta".to_string(), "v1"),
        _ => {
            package(&api_version).ok_or_else(|| format!("no protobuf schema for {api_version}"))?
        }
    };
    let name = format!("{pkg}.{version}.{kind}");
    if !schema().contains_key(&name) {
        return Err(format!("no protobuf schema for {kind} in {api_version}"));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    obj.extend(message(&name, raw.unwrap_or_default())?);
    Ok(Value::Object(obj))
}

/// Decode a protobuf request body into its JSON form (400 if malformed,
/// 415 if it holds a type the fake has no schema for).
pub(crate) fn decode_body(body: &[u8]) -> Result<Value, ApiError> {
    decode(body).map_err(|e| {
        if e.starts_with("no protobuf schema") {
            ApiError::unsupported_media_type(&format!("application/vnd.kubernetes.protobuf: {e}"))
        } else {
            ApiError::bad_request(format!("unable to decode protobuf body: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn bytes_field(num: u64, b: &[u8], out: &mut Vec<u8>) {
        varint(num << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    fn varint_field(num: u64, v: u64, out: &mut Vec<u8>) {
        varint(num << 3, out);
        varint(v, out);
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut tm = Vec::new();
        bytes_field(1, api_version.as_bytes(), &mut tm);
        bytes_field(2, kind.as_bytes(), &mut tm);
        let mut unknown = Vec::new();
        bytes_field(1, &tm, &mut unknown);
        bytes_field(2, raw, &mut unknown);
        bytes_field(3, b"", &mut unknown);
        bytes_field(4, b"", &mut unknown);
        let mut out = MAGIC.to_vec();
        out.extend(unknown);
        out
    }

    #[test]
    fn schema_parses_and_has_the_roots() {
        let s = schema();
        for m in [
            "k8s.io.api.authentication.v1.TokenRequest",
            "k8s.io.api.apps.v1.Deployment",
            "k8s.io.api.core.v1.PodSpec",
        ] {
            assert!(s.contains_key(m), "{m}");
        }
        // Every referenced message is defined (or special).
        for fields in s.values() {
            for f in fields.values() {
                let mut ty = &f.ty;
                while let Ty::Map(_, v) = ty {
                    ty = v;
                }
                if let Ty::Message(name) = ty {
                    assert!(
                        s.contains_key(name) || special(name, b"").expect("special").is_some(),
                        "{name}"
                    );
                }
            }
        }
    }

    #[test]
    fn decodes_a_token_request() {
        // metadata {name: "default", creationTimestamp: {}}, spec {audiences: [a, b], expirationSeconds: 600}
        let mut meta = Vec::new();
        bytes_field(1, b"default", &mut meta);
        bytes_field(8, b"", &mut meta);
        let mut spec = Vec::new();
        bytes_field(1, b"sts.amazonaws.com", &mut spec);
        bytes_field(1, b"other", &mut spec);
        varint_field(4, 600, &mut spec);
        let mut raw = Vec::new();
        bytes_field(1, &meta, &mut raw);
        bytes_field(2, &spec, &mut raw);
        bytes_field(3, b"", &mut raw);
        let v = decode_body(&envelope("authentication.k8s.io/v1", "TokenRequest", &raw))
            .expect("decode");
        assert_eq!(
            v,
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "metadata": {"name": "default"},
                   "spec": {"audiences": ["sts.amazonaws.com", "other"], "expirationSeconds": 600},
                   "status": {}})
        );
    }

    #[test]
    fn decodes_maps_intorstring_and_negative_ints() {
        // ConfigMap with data {a: "1", b: ""}.
        let mut raw = Vec::new();
        let mut meta = Vec::new();
        bytes_field(1, b"cm", &mut meta);
        bytes_field(1, &meta, &mut raw);
        for (k, v) in [("a", "1"), ("b", "")] {
            let mut e = Vec::new();
            bytes_field(1, k.as_bytes(), &mut e);
            bytes_field(2, v.as_bytes(), &mut e);
            bytes_field(2, &e, &mut raw);
        }
        let v = decode_body(&envelope("v1", "ConfigMap", &raw)).expect("decode");
        assert_eq!(v["data"], json!({"a": "1", "b": ""}));

        // IntOrString as a string, and an int32 of -1.
        let mut ios = Vec::new();
        varint_field(1, 1, &mut ios);
        bytes_field(3, b"25%", &mut ios);
        assert_eq!(
            special("k8s.io.apimachinery.pkg.util.intstr.IntOrString", &ios).expect("ok"),
            Some(json!("25%"))
        );
        assert_eq!(
            scalar("int32", &Wire::Varint(u64::MAX)).expect("ok"),
            json!(-1)
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for body in [
            &b""[..],
            b"k8s\0",
            b"k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"k8s\0\x0a\x05ab",
            b"{}",
        ] {
            let r = decode_body(body);
            assert!(
                r.is_err() || r.as_ref().is_ok_and(|v| v.is_object()),
                "{body:?}"
            );
        }
        let e = decode_body(&envelope("batch/v1", "Job", b"")).expect_err("unknown type");
        assert_eq!(e.code, 415);
    }
}
