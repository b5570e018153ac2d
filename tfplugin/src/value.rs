//! Terraform's value model (cty): types and values, including unknowns.
//!
//! Values are untyped trees; the [`Type`] that goes with them comes from the
//! schema and is needed to encode and decode them (msgpack carries no field
//! names for lists, and objects are encoded in attribute order of the type).

use std::collections::BTreeMap;
use std::fmt;

/// A cty type, as Terraform sends it in schemas (JSON) and uses to decode values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// `dynamic`: the value carries its own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<'a>(attrs: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.to_string(), t)).collect())
    }

    /// The JSON form used in schemas: `"string"`, `["list","string"]`, ...
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let m: serde_json::Map<String, serde_json::Value> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", m])
            }
            Type::Tuple(ts) => json!(["tuple", ts.iter().map(Type::to_json).collect::<Vec<_>>()]),
        }
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Type, String> {
        use serde_json::Value as J;
        match v {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(format!("unknown primitive type {other:?}")),
            },
            J::Array(items) => {
                let kind = items
                    .first()
                    .and_then(J::as_str)
                    .ok_or("type array without kind")?;
                let arg = items.get(1).ok_or("type array without argument")?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    // A third element lists optional attributes; it only matters for
                    // type conversion in core, not for encoding.
                    "object" => {
                        let attrs = arg.as_object().ok_or("object type without attribute map")?;
                        let mut out = BTreeMap::new();
                        for (k, t) in attrs {
                            out.insert(k.clone(), Type::from_json(t)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = arg.as_array().ok_or("tuple type without element list")?;
                        Ok(Type::Tuple(
                            elems
                                .iter()
                                .map(Type::from_json)
                                .collect::<Result<_, _>>()?,
                        ))
                    }
                    other => Err(format!("unknown type kind {other:?}")),
                }
            }
            _ => Err("type must be a string or an array".into()),
        }
    }

    /// The type name Terraform users see in messages.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "any".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }
}

/// An arbitrary-precision decimal number, kept as its canonical decimal text.
///
/// cty numbers are big floats; values beyond i64/u64/f64 travel as decimal
/// strings in msgpack, so we keep the text and only convert when asked.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);

impl Number {
    /// Parses a decimal number (optional sign, digits, fraction, exponent).
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        let body = t.strip_prefix('-').unwrap_or(t);
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let mut parts = mantissa.splitn(2, '.');
        let int_part = parts.next().unwrap_or("");
        let frac_part = parts.next();
        let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok(int_part) || frac_part.is_some_and(|f| !digits_ok(f)) {
            return None;
        }
        if let Some(e) = exponent {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !digits_ok(e) {
                return None;
            }
        }
        Some(Number(normalize_decimal(t)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// Positive or negative infinity, which cty numbers can be (for example
    /// `pow(10, 400)`) and msgpack carries as a float64.
    pub fn infinity(negative: bool) -> Number {
        Number(if negative { "-Inf" } else { "+Inf" }.to_string())
    }
    /// `Some(true)` for -Inf, `Some(false)` for +Inf, None when finite.
    pub fn infinite_sign(&self) -> Option<bool> {
        match self.0.as_str() {
            "+Inf" => Some(false),
            "-Inf" => Some(true),
            _ => None,
        }
    }
}

/// Canonical text for integer-valued numbers ("7", not "7.0" or "7e0"), so
/// equal integers compare equal as strings; other decimals keep their text.
fn normalize_decimal(t: &str) -> String {
    if let Ok(i) = t.parse::<i64>() {
        return i.to_string();
    }
    if let Ok(u) = t.parse::<u64>() {
        return u.to_string();
    }
    match t.parse::<f64>() {
        // Below 2^53 an integral f64 is exact, so the integer text is too.
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            (f as i64).to_string()
        }
        _ => t.to_string(),
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number(i.to_string())
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number(i.to_string())
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        Number(u.to_string())
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Number {
        if f.is_infinite() {
            return Number::infinity(f < 0.0);
        }
        Number(normalize_decimal(&format!("{f}")))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What Terraform already knows about an unknown value ("refinements").
///
/// The encoder writes the public fields (`nullable: Some(false)` at any
/// type, `string_prefix` at type string). Refinements we do not interpret
/// (number and collection-length bounds) are kept as read and re-emitted
/// only at the type they were read at, since cty rejects them elsewhere.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unknown {
    /// `Some(false)`: Terraform knows the value will not be null.
    pub nullable: Option<bool>,
    /// Known prefix of a string that is not yet known.
    pub string_prefix: Option<String>,
    /// Other refinements: key and its raw msgpack value.
    pub(crate) other_refinements: Vec<(i64, Vec<u8>)>,
    /// The type `other_refinements` were read at.
    pub(crate) refined_at: Option<Type>,
}

impl Unknown {
    /// An unknown Terraform knows will not be null.
    pub fn not_null() -> Unknown {
        Unknown {
            nullable: Some(false),
            ..Default::default()
        }
    }
}

/// A Terraform value. Collections hold their elements; objects their attributes.
///
/// Sets compare as sets (order and duplicates do not matter); decoding puts
/// them in a canonical order without duplicates, as cty does.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Unknown(Unknown),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// A value read at a `dynamic` position, with the concrete type it came
    /// with, so it is written back with the same type (cty would otherwise
    /// see, say, a tuple where a list was). Also what lets a null or unknown
    /// of a concrete type keep that type. The accessors look through it.
    Dynamic(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => canonical_set(a.clone()) == canonical_set(b.clone()),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Dynamic(t, a), Dynamic(u, b)) => t == u && a == b,
            _ => false,
        }
    }
}

/// A total order over values, used to put set elements in a canonical order.
pub fn value_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::List(_) => 4,
            Value::Set(_) => 5,
            Value::Tuple(_) => 6,
            Value::Map(_) => 7,
            Value::Object(_) => 8,
            Value::Dynamic(..) => 9,
            Value::Unknown(_) => 10,
        }
    }
    fn seq(a: &[Value], b: &[Value]) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            let o = value_order(x, y);
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }
    fn maps(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> Ordering {
        for ((k, x), (l, y)) in a.iter().zip(b) {
            let o = k.cmp(l).then_with(|| value_order(x, y));
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) if p != q => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            _ => x.as_str().cmp(y.as_str()),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => seq(x, y),
        (Value::Set(x), Value::Set(y)) => seq(&canonical_set(x.clone()), &canonical_set(y.clone())),
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => maps(x, y),
        (Value::Dynamic(t, x), Value::Dynamic(u, y)) => t
            .to_json()
            .to_string()
            .cmp(&u.to_json().to_string())
            .then_with(|| value_order(x, y)),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Set elements in canonical order, known duplicates removed. Unknown
/// elements are never equal to anything (cty keeps each), so they stay.
pub fn canonical_set(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by(value_order);
    items.dedup_by(|b, a| a.is_wholly_known() && b.is_wholly_known() && value_order(a, b).is_eq());
    items
}

impl Value {
    pub fn unknown() -> Value {
        Value::Unknown(Unknown::default())
    }
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// A set: elements in canonical order, duplicates removed.
    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(canonical_set(items.into_iter().collect()))
    }
    /// The value itself, or what a [`Value::Dynamic`] wraps.
    pub fn inner(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.inner(),
            v => v,
        }
    }
    pub fn string_list<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }
    /// The value as a Terraform user writes it in HCL: `"a"`, `2`,
    /// `["a", "b"]`, `{ min = 0, max = 1 }`.
    pub fn to_hcl(&self) -> String {
        let seq = |items: &[Value], open: &str, close: &str| {
            let inner: Vec<String> = items.iter().map(Value::to_hcl).collect();
            format!("{open}{}{close}", inner.join(", "))
        };
        match self {
            Value::Null => "null".into(),
            Value::Unknown(_) => "(known after apply)".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => seq(v, "[", "]"),
            Value::Map(m) | Value::Object(m) if m.is_empty() => "{}".into(),
            Value::Map(m) | Value::Object(m) => {
                let entries: Vec<String> = m
                    .iter()
                    .map(|(k, v)| {
                        let key = if k
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                            && !k.starts_with(|c: char| c.is_ascii_digit())
                        {
                            k.clone()
                        } else {
                            serde_json::Value::String(k.clone()).to_string()
                        };
                        format!("{key} = {}", v.to_hcl())
                    })
                    .collect();
                format!("{{ {} }}", entries.join(", "))
            }
            Value::Dynamic(_, v) => v.to_hcl(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.inner(), Value::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self.inner(), Value::Unknown(_))
    }
    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// An attribute of an object value; null for anything else or a missing name.
    pub fn attr(&self, name: &str) -> &Value {
        const NULL: Value = Value::Null;
        match self.inner() {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self.inner() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self.inner() {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }
    /// Entries of a map or object.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Replaces an attribute of an object value (no-op on other values).
    pub fn set_attr(&mut self, name: &str, v: Value) {
        match self {
            Value::Object(m) => {
                m.insert(name.to_string(), v);
            }
            Value::Dynamic(_, inner) => inner.set_attr(name, v),
            _ => {}
        }
    }
}
