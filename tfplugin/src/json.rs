//! The JSON encoding of values: `DynamicValue.json` and stored state
//! (`RawState.json`, which is what UpgradeResourceState receives).
//!
//! JSON has no unknowns. Numbers keep every digit of their text, as cty's
//! reader does (`json.Number`): we read the document with serde_json's
//! `RawValue` and parse number text ourselves, so a 30-digit integer or a
//! decimal that f64 would round survives. (serde_json's
//! `arbitrary_precision` would do the same, but that feature changes
//! `serde_json::Number` for every crate in the build.) Like cty, a string
//! attribute also accepts a JSON number or bool, and bool and number
//! attributes accept their value written as a string.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::Value as J;

use super::value::{Number, Type, Value};

#[derive(Debug, thiserror::Error)]
#[error("JSON value does not match the schema at {path}: {msg}")]
pub struct DecodeError {
    pub path: String,
    pub msg: String,
}

pub fn decode_bytes(ty: &Type, bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError {
        path: "(root)".into(),
        msg: e.to_string(),
    })?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| DecodeError {
        path: "(root)".into(),
        msg: e.to_string(),
    })?;
    decode_at(ty, raw, "")
}

/// Decodes an already parsed document (digits beyond what serde_json's
/// `Number` holds are gone by then; prefer [`decode_bytes`]).
pub fn decode(ty: &Type, json: &J) -> Result<Value, DecodeError> {
    decode_bytes(ty, json.to_string().as_bytes())
}

fn fail<T>(path: &str, msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        msg: msg.into(),
    })
}

fn parse<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue, path: &str) -> Result<T, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| DecodeError {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        msg: e.to_string(),
    })
}

/// The kind of JSON value a raw text is, from its first byte.
#[derive(PartialEq)]
enum Kind {
    Null,
    Bool(bool),
    Number,
    String,
    Array,
    Object,
}

fn kind(raw: &RawValue) -> Kind {
    let t = raw.get().trim_start();
    match t.as_bytes().first() {
        Some(b'n') => Kind::Null,
        Some(b't') => Kind::Bool(true),
        Some(b'f') => Kind::Bool(false),
        Some(b'"') => Kind::String,
        Some(b'[') => Kind::Array,
        Some(b'{') => Kind::Object,
        _ => Kind::Number,
    }
}

fn decode_at(ty: &Type, raw: &RawValue, path: &str) -> Result<Value, DecodeError> {
    let k = kind(raw);
    if k == Kind::Null {
        return Ok(Value::Null);
    }
    match ty {
        Type::Bool => match k {
            Kind::Bool(b) => Ok(Value::Bool(b)),
            Kind::String => match parse::<String>(raw, path)?.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => fail(path, "expected a bool"),
            },
            _ => fail(path, "expected a bool"),
        },
        Type::String => match k {
            Kind::String => Ok(Value::String(parse(raw, path)?)),
            Kind::Bool(b) => Ok(Value::string(b.to_string())),
            Kind::Number => Ok(Value::string(raw.get().trim())),
            _ => fail(path, "expected a string"),
        },
        Type::Number => {
            let text = match k {
                Kind::Number => raw.get().trim().to_string(),
                Kind::String => parse::<String>(raw, path)?,
                _ => return fail(path, "expected a number"),
            };
            Number::parse(&text)
                .map(Value::Number)
                .map_or_else(|| fail(path, format!("bad number {text:?}")), Ok)
        }
        Type::List(elem) | Type::Set(elem) => {
            if k != Kind::Array {
                return fail(path, "expected an array");
            }
            let items: Vec<&RawValue> = parse(raw, path)?;
            let vals = items
                .iter()
                .enumerate()
                .map(|(i, j)| decode_at(elem, j, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::set(vals)
            } else {
                Value::List(vals)
            })
        }
        Type::Tuple(elems) => {
            if k != Kind::Array {
                return fail(path, "expected an array");
            }
            let items: Vec<&RawValue> = parse(raw, path)?;
            if items.len() != elems.len() {
                return fail(path, "tuple length does not match its type");
            }
            let vals = elems
                .iter()
                .zip(items)
                .enumerate()
                .map(|(i, (t, j))| decode_at(t, j, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Tuple(vals))
        }
        Type::Map(elem) => {
            if k != Kind::Object {
                return fail(path, "expected an object");
            }
            let obj: BTreeMap<String, &RawValue> = parse(raw, path)?;
            let mut out = BTreeMap::new();
            for (k, j) in obj {
                let v = decode_at(elem, j, &format!("{path}[{k:?}]"))?;
                out.insert(k, v);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            if k != Kind::Object {
                return fail(path, "expected an object");
            }
            let obj: BTreeMap<String, &RawValue> = parse(raw, path)?;
            let mut out = BTreeMap::new();
            for (k, j) in obj {
                let Some(t) = attrs.get(&k) else {
                    return fail(path, format!("unsupported attribute {k:?}"));
                };
                let v = decode_at(t, j, &join(path, &k))?;
                out.insert(k, v);
            }
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            // cty's JSON for dynamic: {"value": ..., "type": ...}
            if k != Kind::Object {
                return fail(path, "expected {\"value\",\"type\"}");
            }
            let obj: BTreeMap<String, &RawValue> = parse(raw, path)?;
            let t = obj
                .get("type")
                .map_or_else(|| fail(path, "dynamic value without type"), Ok)?;
            let t: J = parse(t, path)?;
            let t = Type::from_json(&t).map_err(|m| DecodeError {
                path: path.into(),
                msg: m,
            })?;
            let v = match obj.get("value") {
                Some(v) => decode_at(&t, v, path)?,
                None => Value::Null,
            };
            Ok(Value::Dynamic(t, Box::new(v)))
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Encodes a wholly known value as JSON (unknowns become null).
pub fn encode(value: &Value) -> J {
    match value {
        Value::Null | Value::Unknown(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            serde_json::from_str(n.as_str()).unwrap_or_else(|_| J::String(n.to_string()))
        }
        Value::String(s) => J::String(s.clone()),
        Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
            J::Array(v.iter().map(encode).collect())
        }
        Value::Map(m) | Value::Object(m) => {
            J::Object(m.iter().map(|(k, v)| (k.clone(), encode(v))).collect())
        }
        Value::Dynamic(_, v) => encode(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_state_json_and_names_the_bad_path() {
        let ty = Type::object([
            ("name", Type::String),
            ("ttl", Type::object([("min", Type::Number)])),
        ]);
        let v = decode_bytes(&ty, br#"{"name":"a","ttl":{"min":60}}"#).unwrap();
        assert_eq!(v.attr("ttl").attr("min"), &Value::number(60i64));
        let e = decode_bytes(&ty, br#"{"name":"a","ttl":{"min":"x"}}"#).unwrap_err();
        assert_eq!(e.path, "ttl.min");
        assert!(decode_bytes(&ty, br#"{"nope":1}"#).is_err());
    }

    #[test]
    fn state_numbers_keep_every_digit() {
        let ty = Type::object([("big", Type::Number), ("dec", Type::Number)]);
        // 30 digits (beyond u64), and a decimal that f64 would round to
        // 0.30000000000000004 or similar.
        let v = decode_bytes(
            &ty,
            br#"{"big": 123456789012345678901234567890, "dec": 0.1000000000000000055511151231257827}"#,
        )
        .unwrap();
        assert_eq!(
            v.attr("big").as_number().unwrap().as_str(),
            "123456789012345678901234567890"
        );
        assert_eq!(
            v.attr("dec").as_number().unwrap().as_str(),
            "0.1000000000000000055511151231257827"
        );
        // And msgpack carries them on unchanged.
        let bytes = crate::msgpack::encode(&ty, &v);
        assert_eq!(crate::msgpack::decode(&ty, &bytes).unwrap(), v);
    }

    #[test]
    fn primitives_are_read_as_leniently_as_cty_reads_them() {
        let ty = Type::object([
            ("s", Type::String),
            ("t", Type::String),
            ("b", Type::Bool),
            ("n", Type::Number),
        ]);
        let v = decode_bytes(&ty, br#"{"s": 12.50, "t": true, "b": "false", "n": "7"}"#).unwrap();
        assert_eq!(v.attr("s"), &Value::string("12.50"));
        assert_eq!(v.attr("t"), &Value::string("true"));
        assert_eq!(v.attr("b"), &Value::Bool(false));
        assert_eq!(v.attr("n"), &Value::number(7i64));
        assert!(decode_bytes(&ty, br#"{"b": "yes"}"#).is_err());
        assert!(decode_bytes(&ty, br#"{"n": [1]}"#).is_err());
    }

    #[test]
    fn sets_are_canonical_and_dynamic_keeps_its_type() {
        let ty = Type::object([("s", Type::set(Type::String)), ("d", Type::Dynamic)]);
        let v = decode_bytes(
            &ty,
            br#"{"s": ["b", "a", "b"], "d": {"value": ["x"], "type": ["list", "string"]}}"#,
        )
        .unwrap();
        assert_eq!(
            v.attr("s"),
            &Value::Set(vec![Value::string("a"), Value::string("b")])
        );
        assert_eq!(
            v.attr("d"),
            &Value::Dynamic(
                Type::list(Type::String),
                Box::new(Value::string_list(["x"]))
            )
        );
    }

    #[test]
    fn encode_then_decode_is_identity_for_known_values() {
        let ty = Type::object([
            ("l", Type::list(Type::Number)),
            ("m", Type::map(Type::Bool)),
        ]);
        let v = Value::object([
            (
                "l",
                Value::List(vec![Value::number(1i64), Value::number(2.5f64)]),
            ),
            (
                "m",
                Value::Map([("k".to_string(), Value::Bool(false))].into()),
            ),
        ]);
        assert_eq!(decode(&ty, &encode(&v)).unwrap(), v);
    }
}
