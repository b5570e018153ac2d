//! The msgpack encoding Terraform uses for values in `DynamicValue.msgpack`.
//!
//! Wire rules (cty's msgpack format): objects are maps keyed by attribute
//! name; lists, sets and tuples are arrays; numbers are ints, floats, or a
//! decimal string when neither is exact; unknowns are extension 0, or
//! extension 12 carrying a map of refinements; a `dynamic` value is a
//! two-element array of its JSON type and its value.

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
            Head::Ext(EXT_UNKNOWN, n) => {
                self.take(n)?;
                return Ok(Value::unknown());
            }
            Head::Ext(EXT_REFINED_UNKNOWN, n) => {
                let raw = self.take(n)?;
                return Ok(Value::Unknown(parse_refinements(raw)));
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
                self.value(&inner)
            }
            Type::Bool => match head {
                Head::Bool(b) => Ok(Value::Bool(b)),
                _ => err("expected a bool"),
            },
            Type::Number => match head {
                Head::Int(i) => Ok(Value::Number(
                    Number::parse(&i.to_string()).expect("integer text"),
                )),
                Head::Float(f) if f.is_finite() => Ok(Value::Number(Number::from(f))),
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
                    Value::Set(items)
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

/// Reads the refinements we understand; anything else is kept raw only.
fn parse_refinements(raw: &[u8]) -> Unknown {
    let mut unknown = Unknown {
        raw_refinements: Some(raw.to_vec()),
        ..Default::default()
    };
    let mut rd = Reader { buf: raw, pos: 0 };
    let Ok(Head::Map(n)) = rd.head() else {
        return unknown;
    };
    for _ in 0..n {
        let Ok(Head::Int(key)) = rd.head() else {
            return unknown;
        };
        let Ok(head) = rd.head() else { return unknown };
        match (key as i64, head) {
            (REFINE_NULLNESS, Head::Bool(b)) => unknown.nullable = Some(b),
            (REFINE_STRING_PREFIX, Head::Str(len)) => match rd.text(len) {
                Ok(s) => unknown.string_prefix = Some(s),
                Err(_) => return unknown,
            },
            (_, other) => {
                if rd.skip_after_head(other).is_err() {
                    return unknown;
                }
            }
        }
    }
    unknown
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
            match &u.raw_refinements {
                Some(raw) => {
                    w::write_ext_meta(out, raw.len() as u32, EXT_REFINED_UNKNOWN)
                        .expect("vec write");
                    out.extend_from_slice(raw);
                }
                None => {
                    w::write_ext_meta(out, 1, EXT_UNKNOWN).expect("vec write");
                    out.push(0);
                }
            }
            return;
        }
        _ => {}
    }
    match ty {
        Type::Dynamic => {
            let inferred = infer_type(value);
            w::write_array_len(out, 2).expect("vec write");
            let ty_json = inferred.to_json().to_string();
            w::write_str(out, &ty_json).expect("vec write");
            write_value(out, &inferred, value);
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
        Type::List(elem) | Type::Set(elem) => {
            let items = value.elements().unwrap_or(&[]);
            w::write_array_len(out, items.len() as u32).expect("vec write");
            for v in items {
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
    if let Some(i) = n.as_i64() {
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

/// The type a value has on its own, for values in `dynamic` positions.
pub fn infer_type(value: &Value) -> Type {
    match value {
        Value::Null | Value::Unknown(_) => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
            Type::Tuple(v.iter().map(infer_type).collect())
        }
        Value::Map(m) | Value::Object(m) => {
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

    #[test]
    fn dynamic_values_carry_their_type() {
        let v = Value::string("hi");
        let bytes = encode(&Type::Dynamic, &v);
        assert_eq!(decode(&Type::Dynamic, &bytes).unwrap(), v);
        assert!(decode(&Type::Dynamic, &[0xd4, 0, 0]).unwrap().is_unknown());
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
