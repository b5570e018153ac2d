//! The JSON encoding of values: `DynamicValue.json` and stored state
//! (`RawState.json`, which is what UpgradeResourceState receives).
//!
//! JSON has no unknowns; numbers are read at f64/i64/u64 precision.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::value::{Number, Type, Value};

#[derive(Debug, thiserror::Error)]
#[error("JSON value does not match the schema at {path}: {msg}")]
pub struct DecodeError {
    pub path: String,
    pub msg: String,
}

pub fn decode_bytes(ty: &Type, bytes: &[u8]) -> Result<Value, DecodeError> {
    let json: J = serde_json::from_slice(bytes).map_err(|e| DecodeError {
        path: "(root)".into(),
        msg: e.to_string(),
    })?;
    decode(ty, &json)
}

pub fn decode(ty: &Type, json: &J) -> Result<Value, DecodeError> {
    decode_at(ty, json, "")
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

fn decode_at(ty: &Type, json: &J, path: &str) -> Result<Value, DecodeError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::Bool => json
            .as_bool()
            .map(Value::Bool)
            .map_or_else(|| fail(path, "expected a bool"), Ok),
        Type::String => json
            .as_str()
            .map(Value::string)
            .map_or_else(|| fail(path, "expected a string"), Ok),
        Type::Number => match json {
            J::Number(n) => Number::parse(&n.to_string())
                .map(Value::Number)
                .map_or_else(|| fail(path, "bad number"), Ok),
            // cty's JSON decoder also accepts numbers written as strings.
            J::String(s) => Number::parse(s)
                .map(Value::Number)
                .map_or_else(|| fail(path, "bad number"), Ok),
            _ => fail(path, "expected a number"),
        },
        Type::List(elem) | Type::Set(elem) => {
            let items = json
                .as_array()
                .map_or_else(|| fail(path, "expected an array"), Ok)?;
            let vals = items
                .iter()
                .enumerate()
                .map(|(i, j)| decode_at(elem, j, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(vals)
            } else {
                Value::List(vals)
            })
        }
        Type::Tuple(elems) => {
            let items = json
                .as_array()
                .map_or_else(|| fail(path, "expected an array"), Ok)?;
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
            let obj = json
                .as_object()
                .map_or_else(|| fail(path, "expected an object"), Ok)?;
            let mut out = BTreeMap::new();
            for (k, j) in obj {
                out.insert(k.clone(), decode_at(elem, j, &format!("{path}[{k:?}]"))?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let obj = json
                .as_object()
                .map_or_else(|| fail(path, "expected an object"), Ok)?;
            let mut out = BTreeMap::new();
            for (k, j) in obj {
                let Some(t) = attrs.get(k) else {
                    return fail(path, format!("unsupported attribute {k:?}"));
                };
                out.insert(k.clone(), decode_at(t, j, &join(path, k))?);
            }
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            // cty's JSON for dynamic: {"value": ..., "type": ...}
            let obj = json
                .as_object()
                .map_or_else(|| fail(path, "expected {\"value\",\"type\"}"), Ok)?;
            let t = obj
                .get("type")
                .map_or_else(|| fail(path, "dynamic value without type"), Ok)?;
            let t = Type::from_json(t).map_err(|m| DecodeError {
                path: path.into(),
                msg: m,
            })?;
            decode_at(&t, obj.get("value").unwrap_or(&J::Null), path)
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
