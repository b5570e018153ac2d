//! Typed models: Rust structs for configuration, plan and state, converted to
//! and from [`Value`]s with attribute paths on every error.
//!
//! A resource declares one struct with `#[derive(Model)]`; its fields are the
//! schema's attributes (see `tfplugin-derive`). Field types say what a value
//! may be:
//! - `T` (`String`, `bool`, `i64`, `Vec<T>`, `BTreeMap<String, T>`, a model):
//!   always known and not null, or decoding fails naming the attribute;
//! - `Option<T>`: null is `None`; an unknown still fails;
//! - [`Tf<T>`]: null, unknown (with Terraform's refinements kept) or known,
//!   for configuration and plans, where any value may be unknown;
//! - [`Json`]: a string holding JSON, compared by meaning (see [`Semantics`]).

use std::collections::BTreeMap;

use crate::diag::{AttrPath, Diagnostic, Diagnostics};
use crate::schema::{Block, Nesting, Schema};
use crate::value::{Number, Type, Unknown, Value};

pub use tfplugin_derive::Model;

/// How values of an attribute compare beyond their bytes. The server applies
/// this to every attribute that has it, so resources need no code of their
/// own: when a new value means the same as the prior one, the prior is kept
/// (in plans, after apply, and on refresh), as terraform-plugin-framework's
/// semantic equality does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantics {
    #[default]
    Exact,
    /// A JSON document: equal when both parse to the same value (whitespace,
    /// object member order and number spelling do not matter).
    Json,
}

impl Semantics {
    /// True when `a` and `b` are known strings that mean the same.
    pub fn equal(self, a: &Value, b: &Value) -> bool {
        match self {
            Semantics::Exact => a == b,
            Semantics::Json => match (a.as_str(), b.as_str()) {
                (Some(a), Some(b)) => a == b || json_equal(a, b),
                _ => a == b,
            },
        }
    }
}

fn json_equal(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => json_value_equal(&a, &b),
        _ => false,
    }
}

/// Object members compare as maps whatever their order; numbers compare by
/// value (`1.0` equals `1`).
fn json_value_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_value_equal(v, w)))
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_value_equal(v, w))
        }
        (J::Number(x), J::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(p), Some(q)) => p == q,
                    _ => false,
                }
        }
        _ => a == b,
    }
}

/// A value Terraform may not know yet, or that may be null.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Tf<T> {
    #[default]
    Null,
    /// Not known until apply. The refinements Terraform sent are kept, so a
    /// value passed through keeps them.
    Unknown(Unknown),
    Known(T),
}

impl<T> Tf<T> {
    pub fn unknown() -> Tf<T> {
        Tf::Unknown(Unknown::default())
    }
    pub fn known(&self) -> Option<&T> {
        match self {
            Tf::Known(v) => Some(v),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Tf::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Tf::Unknown(_))
    }
    pub fn is_known(&self) -> bool {
        matches!(self, Tf::Known(_))
    }
    pub fn as_ref(&self) -> Tf<&T> {
        match self {
            Tf::Null => Tf::Null,
            Tf::Unknown(u) => Tf::Unknown(u.clone()),
            Tf::Known(v) => Tf::Known(v),
        }
    }
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Tf<U> {
        match self {
            Tf::Null => Tf::Null,
            Tf::Unknown(u) => Tf::Unknown(u),
            Tf::Known(v) => Tf::Known(f(v)),
        }
    }
}

impl<T> From<Option<T>> for Tf<T> {
    fn from(o: Option<T>) -> Tf<T> {
        o.map_or(Tf::Null, Tf::Known)
    }
}

/// Collections in a configuration may hold unknown (or null) elements
/// while planning, so their fields are `Tf<Vec<Tf<T>>>`: these read and
/// build them.
impl<T: Clone> Tf<Vec<Tf<T>>> {
    /// A known list of known elements.
    pub fn list(items: Vec<T>) -> Self {
        Tf::Known(items.into_iter().map(Tf::Known).collect())
    }
    /// The elements when the list and every element are known and not null.
    pub fn known_items(&self) -> Option<Vec<T>> {
        self.known()?.iter().map(|i| i.known().cloned()).collect()
    }
}

impl<T: Clone> Tf<BTreeMap<String, Tf<T>>> {
    /// A known map of known values.
    pub fn map_of(entries: BTreeMap<String, T>) -> Self {
        Tf::Known(
            entries
                .into_iter()
                .map(|(k, v)| (k, Tf::Known(v)))
                .collect(),
        )
    }
    /// The entries when the map and every value are known and not null.
    pub fn known_entries(&self) -> Option<BTreeMap<String, T>> {
        self.known()?
            .iter()
            .map(|(k, v)| Some((k.clone(), v.known()?.clone())))
            .collect()
    }
}

impl Tf<String> {
    pub fn as_deref(&self) -> Option<&str> {
        self.known().map(String::as_str)
    }
}

/// A Rust type that stands for a Terraform type.
pub trait TfType: Sized {
    /// Set by [`Json`]; the derive copies it into the schema attribute.
    const SEMANTICS: Semantics = Semantics::Exact;
    fn tf_type() -> Type;
    /// For an object type: its members with their descriptions, for docs.
    fn doc_block() -> Option<Block> {
        None
    }
    /// Decodes `v` (found at `path`), or says what is wrong with it there.
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics>;
    fn to_value(&self) -> Value;
    /// Runs the validators declared on a model's fields (see
    /// [`crate::validate`]), found at `path`; collections and `Tf` pass it
    /// on to their known elements. Nothing to check for plain values.
    fn validate_value(&self, _path: &AttrPath, _diags: &mut Diagnostics) {}
    /// What stands in for a value that did not decode while the rest of a
    /// configuration is validated: unknown where the type can say so, so no
    /// rule reports on it twice. `None`: the type has no stand-in.
    fn placeholder() -> Option<Self> {
        None
    }
}

/// A struct that is a schema block (resource, data source, provider or
/// nested block) and an object value. Implemented by `#[derive(Model)]`.
pub trait Model: TfType {
    const ATTRIBUTE_NAMES: &'static [&'static str];
    /// Attributes marked `replace`.
    const REPLACE_ON_CHANGE: &'static [&'static str];
    fn block() -> Block;

    fn schema(version: i64) -> Schema {
        Schema {
            version,
            block: Self::block(),
        }
    }
    /// Decodes a whole configuration, plan or state.
    fn decode(v: &Value) -> Result<Self, Diagnostics> {
        Self::from_value(v, &AttrPath::default())
    }
    /// Decodes what decodes: every field's errors, and the model with a
    /// [`TfType::placeholder`] for each field that did not decode (`None`
    /// when a field's type has none), so the rest can still be validated.
    fn decode_lenient(v: &Value) -> (Option<Self>, Diagnostics);
    /// The declared defaults (`#[tf(default = ...)]`), by attribute.
    fn defaults() -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    /// The declared default of `attr`, if it has one.
    fn default_for(attr: &str) -> Option<Value> {
        Self::defaults()
            .into_iter()
            .find(|(name, _)| *name == attr)
            .map(|(_, v)| v)
    }
    /// Sets every attribute with a declared default that `config` leaves
    /// null to that default.
    fn apply_defaults(&mut self, _config: &Self) {}
    /// Marks the computed attributes that `config` does not set as unknown;
    /// with `keep_stable`, those declared `keep` keep their value.
    fn mark_unknown_computed(&mut self, _config: &Self, _keep_stable: bool) {}
    /// Sets every computed attribute still unknown to null: what a failed
    /// operation did not reach does not exist.
    fn null_unknown_computed(&mut self) {}
    /// The time `op` may take: the `timeouts` block's value or its declared
    /// default; `None` when the model has no `timeouts` block.
    fn timeout(&self, _op: crate::timeouts::Operation) -> Option<std::time::Duration> {
        None
    }
    /// Every validator declared on the fields, at their attribute paths.
    fn validate_fields(&self) -> Diagnostics {
        let mut d = Diagnostics::default();
        self.validate_value(&AttrPath::default(), &mut d);
        d
    }
    /// The attributes marked `replace` whose values differ between `prior`
    /// and `planned` (an unknown planned value counts as a change).
    fn replaced_paths(prior: &Value, planned: &Value) -> Vec<AttrPath> {
        Self::REPLACE_ON_CHANGE
            .iter()
            .filter(|name| prior.attr(name) != planned.attr(name))
            .map(|name| AttrPath::root(name))
            .collect()
    }
}

/// A field that is a nested block: its element model and nesting mode.
pub trait BlockField {
    type Inner: Model;
    const NESTING: Nesting;
    const MAX_ITEMS: i64;
}

impl<T: Model> BlockField for Tf<T> {
    type Inner = T;
    const NESTING: Nesting = Nesting::Single;
    const MAX_ITEMS: i64 = 0;
}

impl<T: Model> BlockField for Option<T> {
    type Inner = T;
    const NESTING: Nesting = Nesting::Single;
    const MAX_ITEMS: i64 = 0;
}

impl<T: Model> BlockField for Vec<T> {
    type Inner = T;
    const NESTING: Nesting = Nesting::List;
    const MAX_ITEMS: i64 = 0;
}

/// A list block whose elements may not be known yet (a `dynamic` block).
impl<T: Model> BlockField for Tf<Vec<T>> {
    type Inner = T;
    const NESTING: Nesting = Nesting::List;
    const MAX_ITEMS: i64 = 0;
}

/// A nested list attribute whose elements may each be unknown (Terraform
/// sends `[local.not_yet_known]` as it is).
impl<T: Model> BlockField for Tf<Vec<Tf<T>>> {
    type Inner = T;
    const NESTING: Nesting = Nesting::List;
    const MAX_ITEMS: i64 = 0;
}

fn at(path: &AttrPath) -> String {
    if path.0.is_empty() {
        "the object".to_string()
    } else {
        format!("`{path}`")
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(_, v) => describe(v),
    }
}

/// The error for a value of the wrong shape. Wording for null and unknown
/// says what the user can do about it.
pub fn type_error(path: &AttrPath, expected: &str, got: &Value) -> Diagnostics {
    let detail = match got {
        Value::Null => format!("{} must be set (it is null).", at(path)),
        Value::Unknown(_) => format!(
            "{} must be known here, but its value is only known after apply.",
            at(path)
        ),
        other => format!("{} must be {expected}, got {}.", at(path), describe(other)),
    };
    let d = Diagnostic::error("Invalid value", detail);
    let d = if path.0.is_empty() {
        d
    } else {
        d.at(path.clone())
    };
    d.into()
}

/// The members of an object value, for derived decoders.
pub fn object_entries<'a>(
    v: &'a Value,
    path: &AttrPath,
) -> Result<&'a BTreeMap<String, Value>, Diagnostics> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(type_error(path, "an object", other)),
    }
}

impl<T: TfType> TfType for Tf<T> {
    fn doc_block() -> Option<Block> {
        T::doc_block()
    }
    const SEMANTICS: Semantics = T::SEMANTICS;
    fn tf_type() -> Type {
        T::tf_type()
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::Null => Ok(Tf::Null),
            Value::Unknown(u) => Ok(Tf::Unknown(u.clone())),
            other => T::from_value(other, path).map(Tf::Known),
        }
    }
    fn to_value(&self) -> Value {
        match self {
            Tf::Null => Value::Null,
            Tf::Unknown(u) => Value::Unknown(u.clone()),
            Tf::Known(v) => v.to_value(),
        }
    }
    fn validate_value(&self, path: &AttrPath, diags: &mut Diagnostics) {
        if let Tf::Known(v) = self {
            v.validate_value(path, diags);
        }
    }
    fn placeholder() -> Option<Self> {
        Some(Tf::unknown())
    }
}

impl<T: TfType> TfType for Option<T> {
    fn doc_block() -> Option<Block> {
        T::doc_block()
    }
    const SEMANTICS: Semantics = T::SEMANTICS;
    fn tf_type() -> Type {
        T::tf_type()
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other, path).map(Some),
        }
    }
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }
    fn validate_value(&self, path: &AttrPath, diags: &mut Diagnostics) {
        if let Some(v) = self {
            v.validate_value(path, diags);
        }
    }
    fn placeholder() -> Option<Self> {
        Some(None)
    }
}

impl TfType for String {
    fn tf_type() -> Type {
        Type::String
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(type_error(path, "a string", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl TfType for bool {
    fn tf_type() -> Type {
        Type::Bool
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::Bool(b) => Ok(*b),
            other => Err(type_error(path, "a bool", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl TfType for Number {
    fn tf_type() -> Type {
        Type::Number
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::Number(n) => Ok(n.clone()),
            other => Err(type_error(path, "a number", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::Number(self.clone())
    }
}

impl TfType for i64 {
    fn tf_type() -> Type {
        Type::Number
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| {
                let whole =
                    n.as_f64().is_some_and(|f| f.fract() == 0.0) || n.infinite_sign().is_some();
                let why = if whole {
                    format!("{} is {n}, out of range (at most {}).", at(path), i64::MAX)
                } else {
                    format!("{} must be a whole number, got {n}.", at(path))
                };
                Diagnostic::error("Invalid value", why)
                    .at(path.clone())
                    .into()
            }),
            other => Err(type_error(path, "a number", other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::number(*self)
    }
}

impl<T: TfType> TfType for Vec<T> {
    fn doc_block() -> Option<Block> {
        T::doc_block()
    }
    fn tf_type() -> Type {
        Type::list(T::tf_type())
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        let items = match v {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => items,
            other => return Err(type_error(path, "a list", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        let mut diags = Diagnostics::default();
        for (i, item) in items.iter().enumerate() {
            match T::from_value(item, &path.clone().index(i)) {
                Ok(x) => out.push(x),
                Err(e) => diags.extend(e),
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(out)
        }
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(T::to_value).collect())
    }
    fn validate_value(&self, path: &AttrPath, diags: &mut Diagnostics) {
        for (i, v) in self.iter().enumerate() {
            v.validate_value(&path.clone().index(i), diags);
        }
    }
}

impl<T: TfType> TfType for BTreeMap<String, T> {
    fn doc_block() -> Option<Block> {
        T::doc_block()
    }
    fn tf_type() -> Type {
        Type::map(T::tf_type())
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        let entries = match v {
            Value::Map(m) => m,
            other => return Err(type_error(path, "a map", other)),
        };
        let mut out = BTreeMap::new();
        let mut diags = Diagnostics::default();
        for (k, item) in entries {
            match T::from_value(item, &path.clone().key(k)) {
                Ok(x) => {
                    out.insert(k.clone(), x);
                }
                Err(e) => diags.extend(e),
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(out)
        }
    }
    fn to_value(&self) -> Value {
        Value::Map(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
    fn validate_value(&self, path: &AttrPath, diags: &mut Diagnostics) {
        for (k, v) in self {
            v.validate_value(&path.clone().key(k), diags);
        }
    }
}

/// The known value of a field, for validators: `Tf<T>` and `Option<T>`.
pub trait Known {
    type Inner;
    fn known_value(&self) -> Option<&Self::Inner>;
}

impl<T> Known for Tf<T> {
    type Inner = T;
    fn known_value(&self) -> Option<&T> {
        self.known()
    }
}

impl<T> Known for Option<T> {
    type Inner = T;
    fn known_value(&self) -> Option<&T> {
        self.as_ref()
    }
}

/// A computed field the framework marks unknown in a plan.
pub trait MarkUnknown {
    fn mark_unknown(&mut self);
    fn null_if_unknown(&mut self);
}

impl<T> MarkUnknown for Tf<T> {
    fn mark_unknown(&mut self) {
        *self = Tf::unknown();
    }
    fn null_if_unknown(&mut self) {
        if self.is_unknown() {
            *self = Tf::Null;
        }
    }
}

/// What `#[tf(default = ...)]` accepts: literals and any typed value.
pub trait IntoDefault {
    fn into_default(self) -> Value;
}

impl<T: TfType> IntoDefault for T {
    fn into_default(self) -> Value {
        self.to_value()
    }
}

impl IntoDefault for &str {
    fn into_default(self) -> Value {
        Value::string(self)
    }
}

impl IntoDefault for i32 {
    fn into_default(self) -> Value {
        Value::number(i64::from(self))
    }
}

impl<const N: usize> IntoDefault for [&str; N] {
    fn into_default(self) -> Value {
        Value::List(self.iter().map(|s| Value::string(*s)).collect())
    }
}

/// An attribute's description with its default stated the one way every
/// page states it.
pub fn describe_default(description: &str, default: &Value) -> String {
    let sentence = format!("Default: `{}`.", default.to_hcl());
    if description.is_empty() {
        sentence
    } else {
        format!("{description} {sentence}")
    }
}

/// A string attribute that holds a JSON document. Decoding refuses text that
/// is not JSON (naming the attribute); the server compares values by meaning
/// ([`Semantics::Json`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Json(String);

impl Json {
    /// `text` if it parses as JSON.
    pub fn parse(text: impl Into<String>) -> Result<Json, serde_json::Error> {
        let text = text.into();
        serde_json::from_str::<serde_json::Value>(&text)?;
        Ok(Json(text))
    }
    /// Compact JSON for `v`.
    pub fn from_value(v: &serde_json::Value) -> Json {
        Json(v.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TfType for Json {
    const SEMANTICS: Semantics = Semantics::Json;
    fn tf_type() -> Type {
        Type::String
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        let text = String::from_value(v, path)?;
        Json::parse(text).map_err(|e| {
            let d = Diagnostic::error(
                "Invalid JSON",
                format!("{} is not valid JSON: {e}.", at(path)),
            );
            d.at(path.clone()).into()
        })
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// A configuration's problems: values that do not decode, then the
/// validators declared on the fields and `rules` (the type's own checks
/// across attributes), which run only on what decodes. Returns the model
/// only when every value decoded.
pub fn check_config<M: Model>(
    config: &Value,
    rules: impl FnOnce(&M) -> Diagnostics,
) -> (Option<M>, Diagnostics) {
    let (m, mut d) = M::decode_lenient(config);
    // A model with stand-ins for values that did not decode is only good
    // for finding the other problems.
    let decoded = !d.has_errors();
    let Some(m) = m else { return (None, d) };
    d.extend(m.validate_fields());
    d.extend(rules(&m));
    (decoded.then_some(m), d)
}

/// The configuration that describes an object whose state is `state`, for
/// `-generate-config-out`: what is only computed (or deprecated) is null,
/// as is an `optional, computed` attribute whose value is its declared
/// default (the plan fills it in again); the rest is kept as it is.
pub fn config_from_state<M: Model>(state: &Value) -> Value {
    strip_computed(&M::block(), state, &M::defaults())
}

fn strip_computed(block: &Block, v: &Value, defaults: &[(&'static str, Value)]) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = m.clone();
    for a in &block.attributes {
        let Some(value) = out.get_mut(&a.name) else {
            continue;
        };
        let at_default = a.optional
            && a.computed
            && defaults
                .iter()
                .any(|(name, d)| *name == a.name && d == value);
        if a.deprecated || (a.computed && !a.optional) || at_default {
            *value = Value::Null;
        }
    }
    for b in &block.blocks {
        let Some(value) = out.get_mut(&b.type_name) else {
            continue;
        };
        let stripped = match &*value {
            Value::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| strip_computed(&b.block, i, &[]))
                    .collect(),
            ),
            Value::Set(items) => Value::Set(
                items
                    .iter()
                    .map(|i| strip_computed(&b.block, i, &[]))
                    .collect(),
            ),
            Value::Map(items) => Value::Map(
                items
                    .iter()
                    .map(|(k, i)| (k.clone(), strip_computed(&b.block, i, &[])))
                    .collect(),
            ),
            other => strip_computed(&b.block, other, &[]),
        };
        *value = stripped;
    }
    Value::Object(out)
}

/// Keeps `prior`'s value in `new` wherever an attribute with [`Semantics`]
/// other than exact means the same in both; walks nested blocks too.
/// Returns true when anything was replaced.
pub fn keep_equivalent(block: &Block, prior: &Value, new: &mut Value) -> bool {
    let (Value::Object(p), Value::Object(n)) = (prior, new) else {
        return false;
    };
    let mut changed = false;
    for a in &block.attributes {
        if a.semantics == Semantics::Exact {
            continue;
        }
        if let (Some(pv), Some(nv)) = (p.get(&a.name), n.get_mut(&a.name)) {
            if pv != nv && nv.is_wholly_known() && a.semantics.equal(pv, nv) {
                *nv = pv.clone();
                changed = true;
            }
        }
    }
    for b in &block.blocks {
        let (Some(pv), Some(nv)) = (p.get(&b.type_name), n.get_mut(&b.type_name)) else {
            continue;
        };
        match (b.nesting, pv, nv) {
            (Nesting::Single | Nesting::Group, pv, nv) => {
                changed |= keep_equivalent(&b.block, pv, nv);
            }
            (Nesting::List, Value::List(ps), Value::List(ns)) if ps.len() == ns.len() => {
                for (pv, nv) in ps.iter().zip(ns.iter_mut()) {
                    changed |= keep_equivalent(&b.block, pv, nv);
                }
            }
            (Nesting::Map, Value::Map(ps), Value::Map(ns)) => {
                for (k, nv) in ns.iter_mut() {
                    if let Some(pv) = ps.get(k) {
                        changed |= keep_equivalent(&b.block, pv, nv);
                    }
                }
            }
            _ => {}
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::PathStep;

    /// A resource-shaped model: every kind of field the derive supports.
    #[derive(Model, Debug, PartialEq)]
    struct Example {
        /// The name. Changing it replaces the thing.
        #[tf(required, replace)]
        name: Tf<String>,
        /// A JSON document.
        #[tf(optional)]
        document: Tf<Json>,
        #[tf(optional, computed)]
        ids: Tf<Vec<String>>,
        #[tf(optional)]
        tags: Tf<BTreeMap<String, String>>,
        #[tf(computed, sensitive)]
        secret: Tf<String>,
        #[tf(computed)]
        pairs: Tf<Vec<Pair>>,
        #[tf(block)]
        timeouts: Tf<Timeouts>,
        #[tf(block, max_items = 1)]
        settings: Vec<Timeouts>,
    }

    #[derive(Model, Debug, PartialEq, Clone)]
    struct Pair {
        #[tf(name = "use")]
        r#use: String,
        count: Option<i64>,
    }

    /// How long each operation may take.
    #[derive(Model, Debug, PartialEq)]
    struct Timeouts {
        /// Default `10m`.
        #[tf(optional)]
        create: Tf<String>,
    }

    /// Nested attributes: `rules = [{ key = "a" }]` with `value` left out.
    #[derive(Model, Debug, PartialEq)]
    struct WithNested {
        #[tf(optional, nested)]
        rules: Tf<Vec<Tf<Rule>>>,
        #[tf(optional, nested)]
        limits: Tf<Rule>,
    }

    #[derive(Model, Debug, PartialEq, Clone)]
    struct Rule {
        /// The key.
        #[tf(required)]
        key: Tf<String>,
        #[tf(optional)]
        value: Tf<String>,
    }

    #[test]
    fn nested_attributes_keep_member_flags_and_decode_left_out_members_as_null() {
        let b = WithNested::block();
        let rules = b.find_attribute("rules").unwrap();
        let n = rules.nested.as_ref().expect("nested");
        assert_eq!(n.nesting, Nesting::List);
        let key = n.attributes.iter().find(|a| a.name == "key").unwrap();
        let value = n.attributes.iter().find(|a| a.name == "value").unwrap();
        assert!(key.required && !key.optional);
        assert!(value.optional && !value.required);
        assert_eq!(key.description, "The key.");
        // The wire type is the implied one.
        assert_eq!(rules.ty, Type::list(Rule::tf_type()));
        let limits = b.find_attribute("limits").unwrap();
        assert_eq!(limits.nested.as_ref().unwrap().nesting, Nesting::Single);
        assert_eq!(limits.ty, Rule::tf_type());

        let rule = |k: &str| {
            Value::Object(BTreeMap::from([
                ("key".to_string(), Value::string(k)),
                ("value".to_string(), Value::Null),
            ]))
        };
        let v = Value::Object(BTreeMap::from([
            (
                "rules".to_string(),
                Value::List(vec![rule("a"), Value::unknown()]),
            ),
            ("limits".to_string(), Value::Null),
        ]));
        let m = WithNested::from_value(&v, &AttrPath::default()).unwrap();
        let items = m.rules.known().unwrap();
        assert_eq!(items[0].known().unwrap().key.known().unwrap(), "a");
        assert!(items[0].known().unwrap().value.is_null());
        assert!(items[1].is_unknown());
        assert!(m.limits.is_null());
        assert_eq!(m.to_value(), v);
    }

    #[test]
    fn schema_comes_from_the_struct() {
        let b = Example::block();
        let names: Vec<_> = b.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["name", "document", "ids", "tags", "secret", "pairs"]
        );
        let name = b.find_attribute("name").unwrap();
        assert!(name.required && !name.optional && !name.computed);
        assert_eq!(
            name.description,
            "The name. Changing it replaces the thing."
        );
        let ids = b.find_attribute("ids").unwrap();
        assert!(ids.optional && ids.computed && !ids.required);
        assert!(b.find_attribute("secret").unwrap().sensitive);
        assert_eq!(
            b.find_attribute("document").unwrap().semantics,
            Semantics::Json
        );
        assert_eq!(
            b.find_attribute("pairs").unwrap().ty,
            Type::list(Type::object([
                ("use", Type::String),
                ("count", Type::Number)
            ]))
        );
        assert_eq!(b.blocks.len(), 2);
        assert_eq!(b.blocks[0].type_name, "timeouts");
        assert_eq!(b.blocks[0].nesting, Nesting::Single);
        assert_eq!(
            b.blocks[0].block.description,
            "How long each operation may take."
        );
        assert_eq!(b.blocks[1].nesting, Nesting::List);
        assert_eq!(b.blocks[1].max_items, 1);
        assert_eq!(Example::REPLACE_ON_CHANGE, ["name"]);
        // The value type the schema implies is the one the model encodes.
        assert_eq!(b.value_type(), Example::tf_type());
    }

    fn example_value() -> Value {
        Value::object([
            ("name", Value::string("a")),
            ("document", Value::string("{\"b\": 1}")),
            ("ids", Value::unknown()),
            ("tags", Value::Null),
            ("secret", Value::Null),
            (
                "pairs",
                Value::List(vec![Value::object([
                    ("use", Value::string("sig")),
                    ("count", Value::Null),
                ])]),
            ),
            ("timeouts", Value::object([("create", Value::string("5m"))])),
            ("settings", Value::List(vec![])),
        ])
    }

    #[test]
    fn decodes_and_encodes_round_trip() {
        let v = example_value();
        let m = Example::decode(&v).unwrap();
        assert_eq!(m.name, Tf::Known("a".to_string()));
        assert!(m.ids.is_unknown());
        assert!(m.tags.is_null());
        assert_eq!(
            m.pairs.known().unwrap()[0],
            Pair {
                r#use: "sig".into(),
                count: None
            }
        );
        assert_eq!(m.timeouts.known().unwrap().create.as_deref(), Some("5m"));
        assert_eq!(m.to_value(), v);
    }

    #[test]
    fn errors_carry_the_attribute_path_and_all_are_reported() {
        let mut v = example_value();
        v.set_attr("document", Value::string("{not json"));
        v.set_attr(
            "pairs",
            Value::List(vec![Value::object([
                ("use", Value::Bool(true)),
                ("count", Value::number(1.5)),
            ])]),
        );
        let err = Example::decode(&v).unwrap_err();
        let paths: Vec<String> = err
            .0
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        // In field order, every error at once.
        assert_eq!(paths, ["document", "pairs[0].use", "pairs[0].count"]);
        assert!(err.0[0].detail.contains("not valid JSON"), "{:?}", err.0[0]);
        assert!(err.0[1].detail.contains("must be a string, got a bool"));
        assert!(err.0[2].detail.contains("must be a whole number"));
        assert_eq!(
            err.0[2].path.as_ref().unwrap().0,
            vec![
                PathStep::Attr("pairs".into()),
                PathStep::Index(0),
                PathStep::Attr("count".into())
            ]
        );
    }

    #[test]
    fn a_known_field_refuses_unknown_and_null_with_a_clear_reason() {
        let v = Value::object([("use", Value::unknown()), ("count", Value::Null)]);
        let err = Pair::decode(&v).unwrap_err();
        assert!(
            err.0[0].detail.contains("only known after apply"),
            "{err:?}"
        );
        let v = Value::object([("use", Value::Null), ("count", Value::Null)]);
        assert!(Pair::decode(&v).unwrap_err().0[0]
            .detail
            .contains("must be set"));
    }

    #[test]
    fn a_whole_number_too_large_is_out_of_range_not_a_fraction() {
        let p = AttrPath::root("token_expiration");
        let big = i64::from_value(&Value::number(1e30), &p).unwrap_err();
        assert!(big.0[0].detail.contains("out of range"), "{big:?}");
        let frac = i64::from_value(&Value::number(1.5), &p).unwrap_err();
        assert!(frac.0[0].detail.contains("whole number"), "{frac:?}");
    }

    #[derive(crate::types::TfEnum, Clone, Copy, Debug, PartialEq, Eq)]
    enum TolerationEffect {
        NoSchedule,
        #[tf(name = "")]
        Any,
    }

    #[test]
    fn an_enum_takes_its_names_only_and_names_the_type() {
        let p = AttrPath::root("tolerations").index(0).attr("effect");
        assert_eq!(
            TolerationEffect::from_value(&Value::string(""), &p).unwrap(),
            TolerationEffect::Any
        );
        assert_eq!(
            TolerationEffect::NoSchedule.to_value(),
            Value::string("NoSchedule")
        );
        let e = TolerationEffect::from_value(&Value::string("NoRun"), &p).unwrap_err();
        assert_eq!(e.0[0].summary, "Invalid toleration effect");
        assert!(
            e.0[0]
                .detail
                .contains("\"NoRun\": use \"NoSchedule\" or \"\""),
            "{e:?}"
        );
        assert_eq!(e.0[0].path.as_ref(), Some(&p));
    }

    #[test]
    fn json_compares_by_meaning() {
        let s = Semantics::Json;
        let a = Value::string(r#"{"keys":[{"kid":"a","n":"x","e":"AQAB"}]}"#);
        let b = Value::string(
            "{\n  \"keys\": [\n    {\"e\": \"AQAB\", \"kid\": \"a\", \"n\": \"x\"}\n  ]\n}\n",
        );
        assert!(s.equal(&a, &b));
        assert!(!s.equal(&a, &Value::string(r#"{"keys":[]}"#)));
        // Array order is meaning.
        assert!(!s.equal(&Value::string("[1,2]"), &Value::string("[2,1]")));
        assert!(s.equal(&Value::string("[1.0]"), &Value::string("[1]")));
        assert!(!s.equal(&Value::string("{"), &Value::string("{ ")));
        assert!(!Semantics::Exact.equal(&a, &b));
    }

    #[test]
    fn keep_equivalent_keeps_the_prior_spelling_only_when_equal() {
        let block = Example::block();
        let prior = example_value();
        let mut new = example_value();
        new.set_attr("document", Value::string("{ \"b\" : 1.0 }"));
        assert!(keep_equivalent(&block, &prior, &mut new));
        assert_eq!(new.attr("document"), prior.attr("document"));

        new.set_attr("document", Value::string("{\"b\": 2}"));
        assert!(!keep_equivalent(&block, &prior, &mut new));
        assert_eq!(new.attr("document"), &Value::string("{\"b\": 2}"));
        // An exact attribute is never touched.
        new.set_attr("name", Value::string("b"));
        keep_equivalent(&block, &prior, &mut new);
        assert_eq!(new.attr("name"), &Value::string("b"));
    }
}
