//! The msgpack encoding Terraform uses for values in `DynamicValue.msgpack`.
//!
//! Wire rules (cty's msgpack format): objects are maps keyed by attribute
//! name; lists, sets and tuples are arrays; numbers are ints, floats, or a
//! decimal string when neither is exact (±Inf as float64); unknowns are
//! any extension (Terraform writes 0 for a plain unknown, and 12 carrying a
//! map of refinements); a `dynamic` value is a two-element array of its JSON
//! type (as msgpack binary) and its value, except a plain null or unknown of
//! no known type, which is written bare.

use std::collections::BTreeMap;

use rmp::Marker;

use super::value::{Number, Type, Unknown, Value};

const EXT_UNKNOWN: i8 = 0;
const EXT_REFINED_UNKNOWN: i8 = 12;
const REFINE_NULLNESS: i64 = 1;
const REFINE_STRING_PREFIX: i64 = 2;

#[derive(Debug, thiserror::Error)]
#[error("msgpack value does not match the schema: {0}")]
pub struct DecodeError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

pub fn decode(ty: &Type, bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut rd = Reader { buf: bytes, pos: 0 };
    let v = rd.value(ty)?;
    if rd.pos != bytes.len() {
        return err("trailing bytes after value");
    }
    Ok(v)
}

pub fn encode(ty: &Type, value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, ty, value);
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Head {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    Ext(i8, usize),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.pos < n {
            return err("unexpected end of input");
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn head(&mut self) -> Result<Head, DecodeError> {
        let marker = Marker::from_u8(self.take(1)?[0]);
        Ok(match marker {
            Marker::Null => Head::Nil,
            Marker::True => Head::Bool(true),
            Marker::False => Head::Bool(false),
            Marker::FixPos(n) => Head::Int(n as i128),
            Marker::FixNeg(n) => Head::Int(n as i128),
            Marker::U8 => Head::Int(self.be(1)? as i128),
            Marker::U16 => Head::Int(self.be(2)? as i128),
            Marker::U32 => Head::Int(self.be(4)? as i128),
            Marker::U64 => Head::Int(self.be(8)? as i128),
            Marker::I8 => Head::Int(self.be(1)? as u8 as i8 as i128),
            Marker::I16 => Head::Int(self.be(2)? as u16 as i16 as i128),
            Marker::I32 => Head::Int(self.be(4)? as u32 as i32 as i128),
            Marker::I64 => Head::Int(self.be(8)? as i64 as i128),
            Marker::F32 => Head::Float(f32::from_bits(self.be(4)? as u32) as f64),
            Marker::F64 => Head::Float(f64::from_bits(self.be(8)?)),
            Marker::FixStr(n) => Head::Str(n as usize),
            Marker::Str8 => Head::Str(self.be(1)? as usize),
            Marker::Str16 => Head::Str(self.be(2)? as usize),
            Marker::Str32 => Head::Str(self.be(4)? as usize),
            Marker::Bin8 => Head::Bin(self.be(1)? as usize),
            Marker::Bin16 => Head::Bin(self.be(2)? as usize),
            Marker::Bin32 => Head::Bin(self.be(4)? as usize),
            Marker::FixArray(n) => Head::Array(n as usize),
            Marker::Array16 => Head::Array(self.be(2)? as usize),
            Marker::Array32 => Head::Array(self.be(4)? as usize),
            Marker::FixMap(n) => Head::Map(n as usize),
            Marker::Map16 => Head::Map(self.be(2)? as usize),
            Marker::Map32 => Head::Map(self.be(4)? as usize),
            Marker::FixExt1 => Head::Ext(self.be(1)? as u8 as i8, 1),
            Marker::FixExt2 => Head::Ext(self.be(1)? as u8 as i8, 2),
            Marker::FixExt4 => Head::Ext(self.be(1)? as u8 as i8, 4),
            Marker::FixExt8 => Head::Ext(self.be(1)? as u8 as i8, 8),
            Marker::FixExt16 => Head::Ext(self.be(1)? as u8 as i8, 16),
            Marker::Ext8 => {
                let n = self.be(1)? as usize;
                Head::Ext(self.be(1)? as u8 as i8, n)
            }
            Marker::Ext16 => {
                let n = self.be(2)? as usize;
                Head::Ext(self.be(1)? as u8 as i8, n)
            }
            Marker::Ext32 => {
                let n = self.be(4)? as usize;
                Head::Ext(self.be(1)? as u8 as i8, n)
            }
            Marker::Reserved => return err("reserved msgpack marker"),
        })
    }

    fn text(&mut self, n: usize) -> Result<String, DecodeError> {
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| DecodeError("string is not UTF-8".into()))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let head = self.head()?;
        match head {
            Head::Nil => return Ok(Value::Null),
            // The spec: any extension code is an unknown value; only code
            // 12 carries refinements.
            Head::Ext(EXT_REFINED_UNKNOWN, n) => {
                let raw = self.take(n)?;
                return Ok(Value::Unknown(parse_refinements(raw, ty)));
            }
            Head::Ext(_, n) => {
                self.take(n)?;
                return Ok(Value::unknown());
            }
            _ => {}
        }
        match ty {
            Type::Dynamic => {
                let Head::Array(2) = head else {
                    return err("dynamic value must be a [type, value] pair");
                };
                let ty_json = match self.head()? {
                    Head::Str(n) | Head::Bin(n) => self.take(n)?,
                    _ => return err("dynamic value's type must be a JSON string"),
                };
                let json: serde_json::Value = serde_json::from_slice(ty_json)
                    .map_err(|e| DecodeError(format!("dynamic type: {e}")))?;
                let inner = Type::from_json(&json).map_err(DecodeError)?;
                let v = self.value(&inner)?;
                Ok(Value::Dynamic(inner, Box::new(v)))
            }
            Type::Bool => match head {
                Head::Bool(b) => Ok(Value::Bool(b)),
                _ => err("expected a bool"),
            },
            Type::Number => match head {
                Head::Int(i) => Ok(Value::Number(
                    Number::parse(&i.to_string()).expect("integer text"),
                )),
                Head::Float(f) if !f.is_nan() => Ok(Value::Number(Number::from(f))),
                Head::Str(n) => {
                    let s = self.text(n)?;
                    Number::parse(&s)
                        .map(Value::Number)
                        .ok_or_else(|| DecodeError(format!("bad number {s:?}")))
                }
                _ => err("expected a number"),
            },
            Type::String => match head {
                Head::Str(n) => Ok(Value::String(self.text(n)?)),
                _ => err("expected a string"),
            },
            Type::List(elem) | Type::Set(elem) => {
                let Head::Array(n) = head else {
                    return err("expected an array");
                };
                let items = (0..n)
                    .map(|_| self.value(elem))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if matches!(ty, Type::Set(_)) {
                    Value::set(items)
                } else {
                    Value::List(items)
                })
            }
            Type::Tuple(elems) => {
                let Head::Array(n) = head else {
                    return err("expected an array");
                };
                if n != elems.len() {
                    return err("tuple length does not match its type");
                }
                Ok(Value::Tuple(
                    elems
                        .iter()
                        .map(|t| self.value(t))
                        .collect::<Result<_, _>>()?,
                ))
            }
            Type::Map(elem) => {
                let Head::Map(n) = head else {
                    return err("expected a map");
                };
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    out.insert(k, self.value(elem)?);
                }
                Ok(Value::Map(out))
            }
            Type::Object(attrs) => {
                let Head::Map(n) = head else {
                    return err("expected an object");
                };
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let k = self.key()?;
                    let attr_ty = attrs
                        .get(&k)
                        .ok_or_else(|| DecodeError(format!("unexpected attribute {k:?}")))?;
                    out.insert(k, self.value(attr_ty)?);
                }
                for name in attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
                Ok(Value::Object(out))
            }
        }
    }

    fn key(&mut self) -> Result<String, DecodeError> {
        match self.head()? {
            Head::Str(n) => self.text(n),
            _ => err("map key must be a string"),
        }
    }
}

/// Reads the refinements of an unknown of type `ty`: nullness and string
/// prefix into fields, others kept raw (with the type they belong to).
/// A malformed map yields a plain unknown, as cty's reader gives up too.
fn parse_refinements(raw: &[u8], ty: &Type) -> Unknown {
    let mut unknown = Unknown::default();
    let mut rd = Reader { buf: raw, pos: 0 };
    let Ok(Head::Map(n)) = rd.head() else {
        return unknown;
    };
    for _ in 0..n {
        let Ok(Head::Int(key)) = rd.head() else {
            return Unknown::default();
        };
        let start = rd.pos;
        let Ok(head) = rd.head() else {
            return Unknown::default();
        };
        match (key as i64, head) {
            (REFINE_NULLNESS, Head::Bool(b)) => unknown.nullable = Some(b),
            (REFINE_STRING_PREFIX, Head::Str(len)) => match rd.text(len) {
                Ok(s) => unknown.string_prefix = Some(s),
                Err(_) => return Unknown::default(),
            },
            (key, other) => {
                if rd.skip_after_head(other).is_err() {
                    return Unknown::default();
                }
                unknown
                    .other_refinements
                    .push((key, raw[start..rd.pos].to_vec()));
            }
        }
    }
    if !unknown.other_refinements.is_empty() {
        unknown.refined_at = Some(ty.clone());
    }
    unknown
}

/// cty's msgpack for an unknown of type `ty`: ext 0 when nothing is known
/// about it, else ext 12 with the refinements that apply to `ty`.
fn write_unknown(out: &mut Vec<u8>, ty: &Type, u: &Unknown) {
    use rmp::encode as w;
    let mut entries: Vec<(i64, Vec<u8>)> = Vec::new();
    // An unknown of no known type cannot be refined in cty.
    if !matches!(ty, Type::Dynamic) {
        if u.nullable == Some(false) {
            let mut b = Vec::new();
            w::write_bool(&mut b, false).expect("vec write");
            entries.push((REFINE_NULLNESS, b));
        }
        if let (Type::String, Some(prefix)) = (ty, &u.string_prefix) {
            if !prefix.is_empty() {
                let mut b = Vec::new();
                w::write_str(&mut b, prefix).expect("vec write");
                entries.push((REFINE_STRING_PREFIX, b));
            }
        }
        if u.refined_at.as_ref() == Some(ty) {
            entries.extend(
                u.other_refinements
                    .iter()
                    .filter(|(k, _)| *k != REFINE_NULLNESS && *k != REFINE_STRING_PREFIX)
                    .cloned(),
            );
        }
    }
    if entries.is_empty() {
        w::write_ext_meta(out, 1, EXT_UNKNOWN).expect("vec write");
        out.push(0);
        return;
    }
    entries.sort_by_key(|(k, _)| *k);
    let mut payload = Vec::new();
    w::write_map_len(&mut payload, entries.len() as u32).expect("vec write");
    for (k, v) in &entries {
        w::write_sint(&mut payload, *k).expect("vec write");
        payload.extend_from_slice(v);
    }
    w::write_ext_meta(out, payload.len() as u32, EXT_REFINED_UNKNOWN).expect("vec write");
    out.extend_from_slice(&payload);
}

impl Reader<'_> {
    fn skip_after_head(&mut self, head: Head) -> Result<(), DecodeError> {
        match head {
            Head::Str(n) | Head::Bin(n) | Head::Ext(_, n) => {
                self.take(n)?;
            }
            Head::Array(n) => {
                for _ in 0..n {
                    let h = self.head()?;
                    self.skip_after_head(h)?;
                }
            }
            Head::Map(n) => {
                for _ in 0..2 * n {
                    let h = self.head()?;
                    self.skip_after_head(h)?;
                }
            }
            Head::Nil | Head::Bool(_) | Head::Int(_) | Head::Float(_) => {}
        }
        Ok(())
    }
}

fn write_value(out: &mut Vec<u8>, ty: &Type, value: &Value) {
    use rmp::encode as w;
    match value {
        Value::Null => {
            w::write_nil(out).expect("vec write");
            return;
        }
        Value::Unknown(u) => {
            write_unknown(out, ty, u);
            return;
        }
        // At a typed position the wrapper has nothing to add.
        Value::Dynamic(_, inner) if !matches!(ty, Type::Dynamic) => {
            write_value(out, ty, inner);
            return;
        }
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let (concrete, inner) = match value {
                Value::Dynamic(t, v) => (t.clone(), &**v),
                v => (infer_type(v), v),
            };
            if matches!(concrete, Type::Dynamic) {
                // Nothing more is known than "dynamic": cty writes it bare.
                write_value(out, &Type::Dynamic, inner);
                return;
            }
            w::write_array_len(out, 2).expect("vec write");
            let ty_json = concrete.to_json().to_string();
            w::write_bin(out, ty_json.as_bytes()).expect("vec write");
            write_value(out, &concrete, inner);
        }
        Type::Object(attrs) => {
            w::write_map_len(out, attrs.len() as u32).expect("vec write");
            for (name, attr_ty) in attrs {
                w::write_str(out, name).expect("vec write");
                write_value(out, attr_ty, value.attr(name));
            }
        }
        Type::Map(elem) => {
            let entries = value.entries().cloned().unwrap_or_default();
            w::write_map_len(out, entries.len() as u32).expect("vec write");
            for (k, v) in &entries {
                w::write_str(out, k).expect("vec write");
                write_value(out, elem, v);
            }
        }
        Type::List(elem) => {
            let items = value.elements().unwrap_or(&[]);
            w::write_array_len(out, items.len() as u32).expect("vec write");
            for v in items {
                write_value(out, elem, v);
            }
        }
        Type::Set(elem) => {
            let items = crate::value::canonical_set(value.elements().unwrap_or(&[]).to_vec());
            w::write_array_len(out, items.len() as u32).expect("vec write");
            for v in &items {
                write_value(out, elem, v);
            }
        }
        Type::Tuple(elems) => {
            let items = value.elements().unwrap_or(&[]);
            w::write_array_len(out, elems.len() as u32).expect("vec write");
            for (i, t) in elems.iter().enumerate() {
                write_value(out, t, items.get(i).unwrap_or(&Value::Null));
            }
        }
        Type::Bool => match value {
            Value::Bool(b) => w::write_bool(out, *b).expect("vec write"),
            _ => w::write_nil(out).expect("vec write"),
        },
        Type::String => match value {
            Value::String(s) => w::write_str(out, s).expect("vec write"),
            _ => w::write_nil(out).expect("vec write"),
        },
        Type::Number => match value {
            Value::Number(n) => write_number(out, n),
            _ => w::write_nil(out).expect("vec write"),
        },
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    use rmp::encode as w;
    if let Some(negative) = n.infinite_sign() {
        let inf = if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        w::write_f64(out, inf).expect("vec write");
    } else if let Some(i) = n.as_i64() {
        w::write_sint(out, i).expect("vec write");
    } else if let Some(u) = n.as_u64() {
        w::write_uint(out, u).expect("vec write");
    } else {
        // Exact in f64 only if the text round-trips; otherwise send the decimal text.
        match n.as_f64() {
            Some(f) if Number::from(f) == *n => w::write_f64(out, f).expect("vec write"),
            _ => w::write_str(out, n.as_str()).expect("vec write"),
        }
    }
}

/// The type a value has on its own, for values in `dynamic` positions that
/// were not read with a type ([`Value::Dynamic`] keeps the one they had).
/// A list, set or map whose elements all have one known type keeps its kind;
/// otherwise it can only be a tuple or an object.
pub fn infer_type(value: &Value) -> Type {
    fn uniform<'a>(items: impl Iterator<Item = &'a Value>) -> Option<Type> {
        let mut ty = None;
        for v in items {
            let t = infer_type(v);
            if matches!(t, Type::Dynamic) || ty.as_ref().is_some_and(|u| *u != t) {
                return None;
            }
            ty = Some(t);
        }
        ty
    }
    match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::Dynamic(t, _) => t.clone(),
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(v) => uniform(v.iter())
            .map(Type::list)
            .unwrap_or_else(|| Type::Tuple(v.iter().map(infer_type).collect())),
        Value::Set(v) => uniform(v.iter())
            .map(Type::set)
            .unwrap_or_else(|| Type::Tuple(v.iter().map(infer_type).collect())),
        Value::Tuple(v) => Type::Tuple(v.iter().map(infer_type).collect()),
        Value::Map(m) => uniform(m.values()).map(Type::map).unwrap_or_else(|| {
            Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect())
        }),
        Value::Object(m) => {
            Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(ty: &Type, v: &Value) -> Value {
        decode(ty, &encode(ty, v)).expect("decodes")
    }

    #[test]
    fn object_with_nested_values_roundtrips() {
        let ty = Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("tags", Type::map(Type::String)),
            ("ids", Type::list(Type::String)),
            ("on", Type::Bool),
            ("later", Type::String),
        ]);
        let v = Value::object([
            ("name", Value::string("x")),
            ("count", Value::number(3i64)),
            (
                "tags",
                Value::Map([("a".to_string(), Value::string("b"))].into()),
            ),
            ("ids", Value::string_list(["1", "2"])),
            ("on", Value::Bool(true)),
            ("later", Value::unknown()),
        ]);
        assert_eq!(roundtrip(&ty, &v), v);
    }

    #[test]
    fn numbers_beyond_i64_keep_every_digit() {
        let big = Value::Number(Number::parse("123456789012345678901234567890").unwrap());
        let bytes = encode(&Type::Number, &big);
        assert_eq!(bytes[0] & 0xe0, 0xa0, "sent as a string");
        assert_eq!(decode(&Type::Number, &bytes).unwrap(), big);
        let u = Value::number(u64::MAX);
        assert_eq!(roundtrip(&Type::Number, &u), u);
        let f = Value::number(0.5f64);
        assert_eq!(roundtrip(&Type::Number, &f), f);
        let neg = Value::number(-129i64);
        assert_eq!(roundtrip(&Type::Number, &neg), neg);
    }

    #[test]
    fn decodes_number_sent_as_decimal_string_and_as_float() {
        // Terraform sends 1e3 as a float64 and huge numbers as strings.
        let mut f = vec![0xcb];
        f.extend_from_slice(&1000f64.to_bits().to_be_bytes());
        assert_eq!(decode(&Type::Number, &f).unwrap(), Value::number(1000i64));
        let s = [&[0xa4u8][..], b"1.25"].concat();
        assert_eq!(
            decode(&Type::Number, &s)
                .unwrap()
                .as_number()
                .unwrap()
                .as_str(),
            "1.25"
        );
    }

    #[test]
    fn unknown_and_refined_unknown_are_read_and_written_back_unchanged() {
        // fixext1, type 0: plain unknown.
        assert!(decode(&Type::String, &[0xd4, 0x00, 0x00])
            .unwrap()
            .is_unknown());
        // ext8 type 12 with map {1: false, 2: "arn:"}: not null, known prefix.
        let payload = [0x82, 0x01, 0xc2, 0x02, 0xa4, b'a', b'r', b'n', b':'];
        let mut bytes = vec![0xc7, payload.len() as u8, 12];
        bytes.extend_from_slice(&payload);
        let v = decode(&Type::String, &bytes).unwrap();
        let Value::Unknown(u) = &v else {
            panic!("not unknown")
        };
        assert_eq!(u.nullable, Some(false));
        assert_eq!(u.string_prefix.as_deref(), Some("arn:"));
        assert_eq!(encode(&Type::String, &v), bytes);
    }

    /// A `dynamic` value as cty writes it: [type JSON as bin, value].
    fn cty_dynamic(type_json: &str, value: &[u8]) -> Vec<u8> {
        let mut b = vec![0x92, 0xc4, type_json.len() as u8];
        b.extend_from_slice(type_json.as_bytes());
        b.extend_from_slice(value);
        b
    }

    #[test]
    fn dynamic_values_keep_their_type_and_are_written_back_byte_for_byte() {
        // list(string) ["a"] at a dynamic position.
        let bytes = cty_dynamic(r#"["list","string"]"#, &[0x91, 0xa1, b'a']);
        let v = decode(&Type::Dynamic, &bytes).unwrap();
        assert_eq!(
            v,
            Value::Dynamic(
                Type::list(Type::String),
                Box::new(Value::string_list(["a"]))
            )
        );
        assert_eq!(
            v.elements().unwrap(),
            &[Value::string("a")],
            "accessors look through"
        );
        assert_eq!(
            encode(&Type::Dynamic, &v),
            bytes,
            "not re-inferred as a tuple"
        );

        // A null string and a refined unknown string: wrapped, with their type.
        let null_string = cty_dynamic(r#""string""#, &[0xc0]);
        let v = decode(&Type::Dynamic, &null_string).unwrap();
        assert!(v.is_null());
        assert_eq!(encode(&Type::Dynamic, &v), null_string);
        let refined = cty_dynamic(r#""string""#, &[0xc7, 3, 12, 0x81, 0x01, 0xc2]);
        let v = decode(&Type::Dynamic, &refined).unwrap();
        assert!(v.is_unknown());
        assert_eq!(encode(&Type::Dynamic, &v), refined);

        // A plain unknown of no known type is bare.
        assert!(decode(&Type::Dynamic, &[0xd4, 0, 0]).unwrap().is_unknown());
        assert_eq!(encode(&Type::Dynamic, &Value::unknown()), [0xd4, 0, 0]);

        // A value built by the provider: its type is inferred, the type JSON is bin.
        let built = encode(&Type::Dynamic, &Value::string("hi"));
        assert_eq!(built, cty_dynamic(r#""string""#, &[0xa2, b'h', b'i']));
        let list = encode(&Type::Dynamic, &Value::string_list(["a"]));
        assert_eq!(list, bytes, "a uniform list stays a list");
        // cty also accepts the type as str; so do we.
        let mut as_str = bytes.clone();
        as_str[1] = 0xd9;
        assert_eq!(
            decode(&Type::Dynamic, &as_str).unwrap(),
            decode(&Type::Dynamic, &bytes).unwrap()
        );
    }

    #[test]
    fn any_extension_code_is_an_unknown() {
        for code in [0u8, 1, 5, 12, 0x7f, 0xff] {
            let v = decode(&Type::Number, &[0xd4, code, 0]).unwrap();
            assert!(v.is_unknown(), "ext {code}");
        }
        // Longer payloads too, and refinements are read only from code 12.
        let v = decode(&Type::String, &[0xd5, 3, 0x81, 0x01]).unwrap();
        assert_eq!(v, Value::unknown());
        let v = decode(&Type::String, &[0xc7, 3, 12, 0x81, 0x01, 0xc2]).unwrap();
        assert_eq!(v, Value::Unknown(Unknown::not_null()));
    }

    #[test]
    fn refinements_are_written_from_the_public_fields() {
        // nullable=false on a number: ext 12 {1: false}.
        let u = Value::Unknown(Unknown::not_null());
        assert_eq!(encode(&Type::Number, &u), [0xc7, 3, 12, 0x81, 0x01, 0xc2]);
        // A string prefix only where the type is a string.
        let p = Value::Unknown(Unknown {
            string_prefix: Some("arn:".into()),
            ..Default::default()
        });
        assert_eq!(
            encode(&Type::String, &p),
            [0xc7, 7, 12, 0x81, 0x02, 0xa4, b'a', b'r', b'n', b':']
        );
        assert_eq!(encode(&Type::Number, &p), [0xd4, 0, 0]);
        // Number bounds (key 3) read at number are kept there, dropped elsewhere.
        let bounds = [0xc7, 7, 12, 0x82, 0x01, 0xc2, 0x03, 0x92, 0x00, 0xc3];
        let v = decode(&Type::Number, &bounds).unwrap();
        assert_eq!(encode(&Type::Number, &v), bounds);
        assert_eq!(encode(&Type::String, &v), [0xc7, 3, 12, 0x81, 0x01, 0xc2]);
    }

    #[test]
    fn sets_are_canonical_sets() {
        let ty = Type::set(Type::String);
        // ["b", "a", "b"] as Terraform might order it.
        let v = decode(&ty, &[0x93, 0xa1, b'b', 0xa1, b'a', 0xa1, b'b']).unwrap();
        assert_eq!(v, Value::Set(vec![Value::string("a"), Value::string("b")]));
        assert_eq!(
            v,
            Value::Set(vec![Value::string("b"), Value::string("a")]),
            "order does not matter"
        );
        assert_ne!(v, Value::Set(vec![Value::string("a")]));
        assert_eq!(encode(&ty, &v), [0x92, 0xa1, b'a', 0xa1, b'b']);
        // Unknown elements are never merged.
        let two = decode(&ty, &[0x92, 0xd4, 0, 0, 0xd4, 0, 0]).unwrap();
        assert_eq!(two.elements().unwrap().len(), 2);
    }

    #[test]
    fn infinities_travel_as_float64() {
        for inf in [f64::INFINITY, f64::NEG_INFINITY] {
            let mut b = vec![0xcb];
            b.extend_from_slice(&inf.to_bits().to_be_bytes());
            let v = decode(&Type::Number, &b).unwrap();
            let n = v.as_number().unwrap();
            assert_eq!(n.infinite_sign(), Some(inf < 0.0));
            assert_eq!(n.as_i64(), None, "no integer reading of infinity");
            assert_eq!(encode(&Type::Number, &v), b);
        }
        let mut nan = vec![0xcb];
        nan.extend_from_slice(&f64::NAN.to_bits().to_be_bytes());
        assert!(decode(&Type::Number, &nan).is_err());
    }

    /// An object as Terraform sends a resource config at plan time: keys in
    /// sorted order, a refined unknown, a set, a nested block list.
    #[test]
    fn a_plan_time_config_as_terraform_encodes_it() {
        let ty = Type::object([
            ("arn", Type::String),
            ("ids", Type::set(Type::String)),
            ("n", Type::Number),
            ("nested", Type::list(Type::object([("on", Type::Bool)]))),
        ]);
        let mut b = vec![0x84];
        b.extend_from_slice(&[
            0xa3, b'a', b'r', b'n', 0xc7, 7, 12, 0x81, 0x02, 0xa4, b'a', b'r', b'n', b':',
        ]);
        b.extend_from_slice(&[0xa3, b'i', b'd', b's', 0x92, 0xa1, b'1', 0xa1, b'2']);
        b.extend_from_slice(&[0xa1, b'n', 0xcb]);
        b.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
        b.extend_from_slice(&[
            0xa6, b'n', b'e', b's', b't', b'e', b'd', 0x91, 0x81, 0xa2, b'o', b'n', 0xc3,
        ]);
        let v = decode(&ty, &b).unwrap();
        let Value::Unknown(u) = v.attr("arn") else {
            panic!("arn should be unknown: {v:?}")
        };
        assert_eq!(u.string_prefix.as_deref(), Some("arn:"));
        assert_eq!(
            v.attr("ids"),
            &Value::set([Value::string("2"), Value::string("1")])
        );
        assert_eq!(v.attr("n").as_number().unwrap().as_str(), "1.5");
        assert_eq!(
            v.attr("nested").elements().unwrap()[0].attr("on"),
            &Value::Bool(true)
        );
        assert_eq!(encode(&ty, &v), b, "written back exactly as cty would");
    }

    #[test]
    fn missing_object_attributes_decode_as_null_and_extra_ones_are_errors() {
        let ty = Type::object([("a", Type::String), ("b", Type::String)]);
        let mut bytes = Vec::new();
        rmp::encode::write_map_len(&mut bytes, 1).unwrap();
        rmp::encode::write_str(&mut bytes, "a").unwrap();
        rmp::encode::write_str(&mut bytes, "x").unwrap();
        let v = decode(&ty, &bytes).unwrap();
        assert!(v.attr("b").is_null());
        let mut bad = Vec::new();
        rmp::encode::write_map_len(&mut bad, 1).unwrap();
        rmp::encode::write_str(&mut bad, "zzz").unwrap();
        rmp::encode::write_nil(&mut bad).unwrap();
        assert!(decode(&ty, &bad).is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let ty = Type::object([("a", Type::String)]);
        let bytes = encode(&ty, &Value::object([("a", Value::string("hello"))]));
        for cut in 0..bytes.len() {
            assert!(decode(&ty, &bytes[..cut]).is_err());
        }
    }
}
