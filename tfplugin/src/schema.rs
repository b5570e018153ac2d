//! Schemas: what a provider, resource or data source accepts and returns.

use super::model::Semantics;
use super::value::Type;

#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Bumped whenever the stored state's shape changes; UpgradeResourceState
    /// receives the old number.
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub deprecated: bool,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    /// How the server compares this attribute's values (not sent to Terraform).
    pub semantics: Semantics,
    /// A change replaces the resource (documentation; the resource's plan
    /// says so to Terraform).
    pub force_new: bool,
    /// The members of an object-typed attribute with their descriptions,
    /// for documentation (the wire type is `ty`).
    pub nested_doc: Option<Box<Block>>,
    /// A nested attribute (protocol 6 `nested_type`): written `x = { ... }` or
    /// `x = [{ ... }]` with each member's own flags, so optional members may
    /// be left out. `ty` stays the implied type its values have on the wire.
    pub nested: Option<NestedAttributes>,
}

/// The members and nesting of a nested attribute.
#[derive(Clone, Debug)]
pub struct NestedAttributes {
    /// `Single`, `List`, `Set` or `Map` (`Group` is for blocks only).
    pub nesting: Nesting,
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    Group,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

/// A resource's identity (Terraform 1.12+): the few attributes that name
/// its object, stored beside the state and given to `import { identity = {
/// ... } }`. Versioned like schemas.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    /// An import must give it.
    pub required_for_import: bool,
    /// An import may leave it out (the provider fills it in).
    pub optional_for_import: bool,
}

impl IdentitySchema {
    /// The object type of identity values.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        )
    }
}

/// What a provider-defined function takes and returns.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSignature {
    /// One line (Markdown is not rendered in it).
    pub summary: String,
    /// Markdown.
    pub description: String,
    pub parameters: Vec<FunctionParameter>,
    /// Takes any number (zero or more) of further arguments of this
    /// parameter's type.
    pub variadic: Option<FunctionParameter>,
    pub return_type: Type,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionParameter {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    /// Null may be passed (else Terraform refuses it before calling).
    pub allow_null: bool,
}

impl Attribute {
    fn new(name: &str, ty: Type, description: &str) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            semantics: Semantics::Exact,
            force_new: false,
            nested_doc: None,
            nested: None,
        }
    }
    pub fn optional(name: &str, ty: Type, description: &str) -> Attribute {
        Attribute {
            optional: true,
            ..Attribute::new(name, ty, description)
        }
    }
}

impl Block {
    /// The object type of this block's values, as Terraform encodes them.
    pub fn value_type(&self) -> Type {
        let mut attrs: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
                Nesting::Map => Type::map(inner),
            };
            attrs.insert(b.type_name.clone(), ty);
        }
        Type::Object(attrs)
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_type_includes_nested_blocks_by_nesting_mode() {
        let endpoints = Block {
            attributes: vec![Attribute::optional("s3", Type::String, "")],
            ..Block::default()
        };
        let b = Block {
            attributes: vec![Attribute::optional("region", Type::String, "")],
            blocks: vec![NestedBlock {
                type_name: "endpoints".into(),
                block: endpoints,
                nesting: Nesting::List,
                min_items: 0,
                max_items: 1,
            }],
            ..Block::default()
        };
        assert_eq!(
            b.value_type(),
            Type::object([
                ("region", Type::String),
                (
                    "endpoints",
                    Type::list(Type::object([("s3", Type::String)]))
                ),
            ])
        );
    }
}
