//! The `timeouts` block every long-running resource shares, as
//! hashicorp providers write it: `timeouts { create = "1h30m" }`, each value
//! a Go duration ([`GoDuration`]). A resource declares which operations it
//! has and their defaults on its field,
//! `#[tf(timeouts(create = "60m", update = "60m", delete = "60m"))]`; the
//! block's schema, its docs and the deadline the framework puts on each
//! operation all come from that one declaration.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::diag::{AttrPath, Diagnostics};
use crate::model::{object_entries, Tf, TfType};
use crate::schema::{Attribute, Block, NestedBlock, Nesting};
use crate::types::GoDuration;
use crate::value::{Type, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Create,
    Read,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Read => "read",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// The operations of a `timeouts` block with their default durations.
pub type Declared = [(Operation, &'static str)];

/// The values of a `timeouts` block: the operations its schema has, each
/// null or a duration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeouts {
    values: BTreeMap<String, Tf<GoDuration>>,
}

impl Timeouts {
    /// The duration configured for `op`, if any.
    pub fn get(&self, op: Operation) -> Option<Duration> {
        self.values
            .get(op.as_str())?
            .known()
            .map(GoDuration::duration)
    }

    /// What the framework uses as `op`'s deadline: the configured value, else
    /// the declared default; `None` for an operation not declared.
    pub fn timeout_of(
        block: &Tf<Timeouts>,
        op: Operation,
        declared: &Declared,
    ) -> Option<Duration> {
        let default = declared.iter().find(|(o, _)| *o == op)?.1;
        block
            .known()
            .and_then(|t| t.get(op))
            .or_else(|| Some(GoDuration::from_static(default).duration()))
    }
}

impl TfType for Timeouts {
    fn tf_type() -> Type {
        // Only the derive builds this block's type, from the declared operations.
        Type::Object(BTreeMap::new())
    }
    fn from_value(v: &Value, path: &AttrPath) -> Result<Self, Diagnostics> {
        let mut values = BTreeMap::new();
        let mut diags = Diagnostics::default();
        for (name, value) in object_entries(v, path)? {
            match Tf::<GoDuration>::from_value(value, &path.clone().attr(name)) {
                Ok(d) => {
                    values.insert(name.clone(), d);
                }
                Err(e) => diags.extend(e),
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(Timeouts { values })
        }
    }
    fn to_value(&self) -> Value {
        Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
}

/// The object type of a `timeouts` block with these operations.
pub fn value_type(declared: &Declared) -> Type {
    Type::Object(
        declared
            .iter()
            .map(|(op, _)| (op.as_str().to_string(), Type::String))
            .collect(),
    )
}

/// The `timeouts` block's schema: one optional duration per operation, its
/// description stating the default.
pub fn block(name: &str, declared: &Declared, description: &str) -> NestedBlock {
    let description = if description.is_empty() {
        "How long each operation may take before it fails, as Go durations such as `30m`, `1h30m` or `1.5h`."
    } else {
        description
    };
    let attributes = declared
        .iter()
        .map(|(op, default)| {
            Attribute::optional(
                op.as_str(),
                Type::String,
                &format!("Default: `{}`.", Value::string(*default).to_hcl()),
            )
        })
        .collect();
    NestedBlock {
        type_name: name.to_string(),
        block: Block {
            description: description.to_string(),
            attributes,
            blocks: vec![],
            deprecated: false,
        },
        nesting: Nesting::Single,
        min_items: 0,
        max_items: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUD: &Declared = &[
        (Operation::Create, "60m"),
        (Operation::Update, "60m"),
        (Operation::Delete, "10m"),
    ];

    #[test]
    fn configured_values_win_and_defaults_fill_in() {
        let v = Value::object([
            ("create", Value::string("1.5h")),
            ("update", Value::Null),
            ("delete", Value::string("90s")),
        ]);
        let t = Tf::Known(Timeouts::from_value(&v, &AttrPath::root("timeouts")).unwrap());
        assert_eq!(
            Timeouts::timeout_of(&t, Operation::Create, CUD),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            Timeouts::timeout_of(&t, Operation::Update, CUD),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            Timeouts::timeout_of(&t, Operation::Delete, CUD),
            Some(Duration::from_secs(90))
        );
        assert_eq!(Timeouts::timeout_of(&t, Operation::Read, CUD), None);
        assert_eq!(
            Timeouts::timeout_of(&Tf::Null, Operation::Delete, CUD),
            Some(Duration::from_secs(600))
        );
        assert_eq!(t.to_value(), v);
    }

    #[test]
    fn a_bad_duration_names_its_operation() {
        let v = Value::object([
            ("create", Value::string("1d")),
            ("update", Value::string("-1h")),
        ]);
        let e = Timeouts::from_value(&v, &AttrPath::root("timeouts")).unwrap_err();
        let paths: Vec<String> =
            e.0.iter()
                .map(|d| d.path.as_ref().unwrap().to_string())
                .collect();
        assert_eq!(paths, ["timeouts.create", "timeouts.update"]);
        assert!(e.0.iter().all(|d| d.summary == "Invalid duration"));
    }

    #[test]
    fn the_schema_states_each_default() {
        let b = block("timeouts", CUD, "");
        assert_eq!(b.block.attributes.len(), 3);
        assert_eq!(b.block.attributes[2].name, "delete");
        assert_eq!(b.block.attributes[2].description, "Default: `\"10m\"`.");
        assert!(b.block.attributes.iter().all(|a| a.optional && !a.computed));
        assert_eq!(b.block.value_type(), value_type(CUD));
    }
}
