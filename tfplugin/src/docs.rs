//! Registry documentation from schemas, in the layout and wording of
//! HashiCorp's tfplugindocs: a page per provider, resource, data source,
//! ephemeral resource and list resource with "Required", "Optional" and
//! "Read-Only" attributes, nested schemas with anchors, sensitive and
//! replacement marks, a resource's identity schema beside its import by
//! identity; and a page per function with its signature and arguments.
//! Pure: the caller adds examples and prose and writes the files.

use crate::schema::{
    Attribute, Block, FunctionSignature, IdentitySchema, NestedBlock, Nesting, Schema,
};
use crate::value::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Provider,
    Resource,
    DataSource,
    EphemeralResource,
    ListResource,
}

impl PageKind {
    fn label(self) -> &'static str {
        match self {
            PageKind::Provider => "Provider",
            PageKind::Resource => "Resource",
            PageKind::DataSource => "Data Source",
            PageKind::EphemeralResource => "Ephemeral Resource",
            PageKind::ListResource => "List Resource",
        }
    }
}

/// One page's parts; `prose`, `example` and `import` come from files the
/// provider keeps beside its code (templates and examples).
pub struct Page<'a> {
    pub kind: PageKind,
    /// `irsa_oidc_issuer`, or the provider's name for the provider page.
    pub name: &'a str,
    pub provider_name: &'a str,
    pub schema: &'a Schema,
    /// Markdown placed after the description (may be empty).
    pub prose: &'a str,
    /// Markdown placed at the end, after the schema and import (may be empty).
    pub footer: &'a str,
    pub example: Option<&'a str>,
    pub import: Option<&'a str>,
    /// An `import { identity = { ... } }` example and the identity schema.
    pub import_identity: Option<(&'a str, &'a IdentitySchema)>,
}

/// The first paragraph of a description, for front matter.
fn summary(description: &str) -> String {
    description
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\n', " ")
        .trim()
        .to_string()
}

/// "String", "List of String", "Map of Number", "Object", ...
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(t) => format!("List of {}", type_name(t)),
        Type::Set(t) => format!("Set of {}", type_name(t)),
        Type::Map(t) => format!("Map of {}", type_name(t)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

fn anchor(prefix: &str, path: &[&str]) -> String {
    format!("{prefix}--{}", path.join("--"))
}

/// How the members of a nested schema are labelled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Members {
    /// A block: each member by its own flags.
    Block,
    /// An object type the user writes: every member must be given.
    ObjectRequired,
    /// An object the provider computes.
    ObjectReadOnly,
}

struct Nested {
    anchor: String,
    title: String,
    block: Block,
    path: Vec<String>,
    members: Members,
}

fn attribute_line(a: &Attribute, path: &[&str], nested: &mut Vec<Nested>) -> String {
    // tfplugindocs' labels for nested attributes.
    let mut kind = match a.nested.as_ref().map(|n| n.nesting) {
        None => type_name(&a.ty),
        Some(Nesting::Single | Nesting::Group) => "Attributes".to_string(),
        Some(Nesting::List) => "Attributes List".to_string(),
        Some(Nesting::Set) => "Attributes Set".to_string(),
        Some(Nesting::Map) => "Attributes Map".to_string(),
    };
    if a.sensitive {
        kind.push_str(", Sensitive");
    }
    if a.deprecated {
        kind.push_str(", Deprecated");
    }
    let mut line = format!("- `{}` ({kind})", a.name);
    let desc = a.description.trim();
    if !desc.is_empty() {
        line.push(' ');
        line.push_str(desc);
    }
    if a.force_new && !desc.contains("replaces") {
        line.push_str(" Changing it replaces the resource.");
    }
    if let Some(block) = &a.nested_doc {
        let mut p: Vec<&str> = path.to_vec();
        p.push(&a.name);
        let id = anchor("nestedatt", &p);
        line.push_str(&format!(" (see [below for nested schema](#{id}))"));
        nested.push(Nested {
            anchor: id,
            title: p.join("."),
            block: (**block).clone(),
            path: p.iter().map(|s| s.to_string()).collect(),
            members: if a.nested.is_some() {
                // Members carry their own flags, as in a block.
                Members::Block
            } else if a.required || a.optional {
                Members::ObjectRequired
            } else {
                Members::ObjectReadOnly
            },
        });
    }
    line
}

fn block_line(b: &NestedBlock, path: &[&str], nested: &mut Vec<Nested>) -> String {
    let mut kind = match (b.nesting, b.max_items) {
        (Nesting::Single | Nesting::Group, _) => "Block".to_string(),
        (Nesting::List, 1) => "Block List, Max: 1".to_string(),
        (Nesting::List, _) => "Block List".to_string(),
        (Nesting::Set, _) => "Block Set".to_string(),
        (Nesting::Map, _) => "Block Map".to_string(),
    };
    if b.min_items > 0 {
        kind.push_str(&format!(", Min: {}", b.min_items));
    }
    let mut p: Vec<&str> = path.to_vec();
    p.push(&b.type_name);
    let id = anchor("nestedblock", &p);
    let mut line = format!("- `{}` ({kind})", b.type_name);
    let desc = b.block.description.trim();
    if !desc.is_empty() {
        line.push(' ');
        line.push_str(desc);
    }
    line.push_str(&format!(" (see [below for nested schema](#{id}))"));
    nested.push(Nested {
        anchor: id,
        title: p.join("."),
        block: b.block.clone(),
        path: p.iter().map(|s| s.to_string()).collect(),
        members: Members::Block,
    });
    line
}

/// The attribute sections of one block; nested schemas are collected.
fn block_sections(
    b: &Block,
    path: &[&str],
    heading: &str,
    members: Members,
    nested: &mut Vec<Nested>,
) -> String {
    let mut required = Vec::new();
    let mut optional = Vec::new();
    let mut read_only = Vec::new();
    // Alphabetical, as the registry's pages are; nested schemas follow
    // in the same order.
    let mut entries: Vec<(&str, Option<&Attribute>, Option<&NestedBlock>)> = b
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), Some(a), None))
        .chain(
            b.blocks
                .iter()
                .map(|nb| (nb.type_name.as_str(), None, Some(nb))),
        )
        .collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    for (_, a, nb) in entries {
        if let Some(a) = a {
            let line = attribute_line(a, path, nested);
            if members == Members::ObjectRequired {
                required.push(line);
            } else if members == Members::ObjectReadOnly {
                read_only.push(line);
            } else if a.required {
                required.push(line);
            } else if a.optional {
                optional.push(line);
            } else {
                read_only.push(line);
            }
        }
        if let Some(nb) = nb {
            let line = block_line(nb, path, nested);
            if nb.min_items > 0 {
                required.push(line);
            } else {
                optional.push(line);
            }
        }
    }
    let mut out = String::new();
    for (title, lines) in [
        ("Required", required),
        ("Optional", optional),
        ("Read-Only", read_only),
    ] {
        if lines.is_empty() {
            continue;
        }
        if heading.is_empty() {
            out.push_str(&format!("{title}:\n\n"));
        } else {
            out.push_str(&format!("{heading} {title}\n\n"));
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The "## Schema" section of a block, nested schemas after it.
pub fn schema_markdown(block: &Block) -> String {
    let mut nested = Vec::new();
    let mut out = String::from("## Schema\n\n");
    out.push_str(&block_sections(
        block,
        &[],
        "###",
        Members::Block,
        &mut nested,
    ));
    let mut i = 0;
    while i < nested.len() {
        let n = Nested {
            anchor: nested[i].anchor.clone(),
            title: nested[i].title.clone(),
            block: nested[i].block.clone(),
            path: nested[i].path.clone(),
            members: nested[i].members,
        };
        // Sections come in the order their parents link to them.
        out.push_str(&format!(
            "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n\n",
            n.anchor, n.title
        ));
        let path: Vec<&str> = n.path.iter().map(String::as_str).collect();
        out.push_str(&block_sections(&n.block, &path, "", n.members, &mut nested));
        i += 1;
    }
    out.trim_end().to_string() + "\n"
}

/// The "### Identity Schema" section: what an import must give
/// ("Required") and may give ("Optional"), alphabetical.
pub fn identity_schema_markdown(identity: &IdentitySchema) -> String {
    let mut out = String::from("### Identity Schema\n\n");
    let mut attrs: Vec<_> = identity.attributes.iter().collect();
    attrs.sort_by(|a, b| a.name.cmp(&b.name));
    for (title, required) in [("Required", true), ("Optional", false)] {
        let lines: Vec<String> = attrs
            .iter()
            .filter(|a| a.required_for_import == required)
            .map(|a| {
                let desc = a.description.trim();
                let mut line = format!("- `{}` ({})", a.name, type_name(&a.ty));
                if !desc.is_empty() {
                    line.push(' ');
                    line.push_str(desc);
                }
                line
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("#### {title}\n\n"));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// Terraform's name of a type in a function signature (`string`,
/// `list of string`), as tfplugindocs writes it.
fn friendly_type(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::Number => "number".into(),
        Type::String => "string".into(),
        Type::Dynamic => "dynamic".into(),
        Type::List(t) => format!("list of {}", friendly_type(t)),
        Type::Set(t) => format!("set of {}", friendly_type(t)),
        Type::Map(t) => format!("map of {}", friendly_type(t)),
        Type::Object(_) => "object".into(),
        Type::Tuple(_) => "tuple".into(),
    }
}

/// A function's page, as tfplugindocs lays it out: description, prose,
/// example, signature and numbered arguments.
pub fn render_function(
    name: &str,
    provider_name: &str,
    sig: &FunctionSignature,
    prose: &str,
    footer: &str,
    example: Option<&str>,
) -> String {
    let mut out = String::new();
    out.push_str("---\n");
    out.push_str(&format!(
        "page_title: \"{name} function - terraform-provider-{provider_name}\"\n"
    ));
    out.push_str("subcategory: \"\"\n");
    out.push_str(&format!("description: |-\n  {}\n", summary(&sig.summary)));
    out.push_str("---\n\n");
    out.push_str("<!-- Generated by scripts/docs from the provider's schema, examples/ and templates/; do not edit. -->\n\n");
    out.push_str(&format!("# function: {name}\n\n"));
    out.push_str(sig.description.trim());
    out.push_str("\n\n");
    if !prose.trim().is_empty() {
        out.push_str(prose.trim());
        out.push_str("\n\n");
    }
    if let Some(example) = example {
        out.push_str("## Example Usage\n\n```terraform\n");
        out.push_str(example.trim_end());
        out.push_str("\n```\n\n");
    }
    let mut params: Vec<String> = sig
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, friendly_type(&p.ty)))
        .collect();
    if let Some(v) = &sig.variadic {
        params.push(format!("{} {}...", v.name, friendly_type(&v.ty)));
    }
    out.push_str(&format!(
        "## Signature\n\n```text\n{name}({}) {}\n```\n\n## Arguments\n\n",
        params.join(", "),
        friendly_type(&sig.return_type)
    ));
    let arg = |p: &crate::schema::FunctionParameter, variadic: bool| {
        let mut kind = type_name(&p.ty);
        if variadic {
            kind = format!("Variadic, {kind}");
        }
        if p.allow_null {
            kind.push_str(", Nullable");
        }
        let desc = p.description.trim();
        format!("1. `{}` ({kind}) {desc}", p.name)
            .trim_end()
            .to_string()
    };
    for p in &sig.parameters {
        out.push_str(&arg(p, false));
        out.push('\n');
    }
    if let Some(v) = &sig.variadic {
        out.push_str(&arg(v, true));
        out.push('\n');
    }
    if !footer.trim().is_empty() {
        out.push('\n');
        out.push_str(footer.trim());
        out.push('\n');
    }
    out
}

/// A whole page.
pub fn render(page: &Page) -> String {
    let desc = &page.schema.block.description;
    let (title, heading) = match page.kind {
        PageKind::Provider => (
            format!("Provider: {}", page.provider_name),
            format!("# {} Provider", page.provider_name),
        ),
        kind => (
            format!(
                "{} {} - terraform-provider-{}",
                page.name,
                kind.label(),
                page.provider_name
            ),
            format!("# {} ({})", page.name, kind.label()),
        ),
    };
    let mut out = String::new();
    out.push_str("---\n");
    out.push_str(&format!("page_title: \"{title}\"\n"));
    out.push_str("subcategory: \"\"\n");
    out.push_str(&format!("description: |-\n  {}\n", summary(desc)));
    out.push_str("---\n\n");
    out.push_str("<!-- Generated by scripts/docs from the provider's schema, examples/ and templates/; do not edit. -->\n\n");
    out.push_str(&heading);
    out.push_str("\n\n");
    out.push_str(desc.trim());
    out.push_str("\n\n");
    if !page.prose.trim().is_empty() {
        out.push_str(page.prose.trim());
        out.push_str("\n\n");
    }
    if let Some(example) = page.example {
        out.push_str("## Example Usage\n\n```terraform\n");
        out.push_str(example.trim_end());
        out.push_str("\n```\n\n");
    }
    out.push_str(&schema_markdown(&page.schema.block));
    if page.import.is_some() || page.import_identity.is_some() {
        out.push_str("\n## Import\n\nImport is supported using the following syntax:\n");
    }
    if let Some((example, identity)) = page.import_identity {
        out.push_str(
            "\nIn Terraform v1.12.0 and later, the [`import` block](https://developer.hashicorp.com/terraform/language/import) \
             can be used with the `identity` attribute, for example:\n\n```terraform\n",
        );
        out.push_str(example.trim_end());
        out.push_str("\n```\n\n");
        out.push_str(identity_schema_markdown(identity).trim_end());
        out.push('\n');
    }
    if let Some(import) = page.import {
        if page.import_identity.is_some() {
            out.push_str(
                "\nThe [`terraform import` command](https://developer.hashicorp.com/terraform/cli/commands/import) \
                 can be used, for example:\n",
            );
        }
        out.push_str("\n```shell\n");
        out.push_str(import.trim_end());
        out.push_str("\n```\n");
    }
    if !page.footer.trim().is_empty() {
        out.push('\n');
        out.push_str(page.footer.trim());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, Tf};

    /// A thing.
    ///
    /// More about it.
    #[derive(Model, Default)]
    struct Thing {
        /// Its name.
        #[tf(required, replace)]
        name: Tf<String>,
        /// A secret.
        #[tf(optional, sensitive)]
        secret: Tf<String>,
        /// Limits.
        #[tf(optional, computed)]
        limits: Tf<Limits>,
        /// The ID.
        #[tf(computed)]
        id: Tf<String>,
        /// How long.
        #[tf(block)]
        timeouts: Tf<Timeouts>,
    }

    #[derive(Model, Default)]
    struct Limits {
        /// At least.
        min: Tf<i64>,
    }

    #[derive(Model, Default)]
    struct Timeouts {
        /// Default `5m`.
        #[tf(optional)]
        create: Tf<String>,
    }

    #[test]
    fn a_page_has_front_matter_sections_and_nested_schemas() {
        let schema = Thing::schema(0);
        let page = render(&Page {
            kind: PageKind::Resource,
            name: "x_thing",
            provider_name: "x",
            schema: &schema,
            prose: "Extra words.",
            footer: "",
            example: Some("resource \"x_thing\" \"a\" {}\n"),
            import: Some("terraform import x_thing.a name\n"),
            import_identity: None,
        });
        let want = r#"---
page_title: "x_thing Resource - terraform-provider-x"
subcategory: ""
description: |-
  A thing.
---

<!-- Generated by scripts/docs from the provider's schema, examples/ and templates/; do not edit. -->

# x_thing (Resource)

A thing.

More about it.

Extra words.

## Example Usage

```terraform
resource "x_thing" "a" {}
```

## Schema

### Required

- `name` (String) Its name. Changing it replaces the resource.

### Optional

- `limits` (Object) Limits. (see [below for nested schema](#nestedatt--limits))
- `secret` (String, Sensitive) A secret.
- `timeouts` (Block) How long. (see [below for nested schema](#nestedblock--timeouts))

### Read-Only

- `id` (String) The ID.

<a id="nestedatt--limits"></a>
### Nested Schema for `limits`

Required:

- `min` (Number) At least.

<a id="nestedblock--timeouts"></a>
### Nested Schema for `timeouts`

Optional:

- `create` (String) Default `5m`.

## Import

Import is supported using the following syntax:

```shell
terraform import x_thing.a name
```
"#;
        assert_eq!(page, want, "\n{page}");
    }

    #[test]
    fn a_function_page_has_signature_and_numbered_arguments() {
        use crate::schema::FunctionParameter;
        let sig = FunctionSignature {
            summary: "Joins words".into(),
            description: "Joins words with a separator.".into(),
            parameters: vec![FunctionParameter {
                name: "separator".into(),
                ty: Type::String,
                description: "The separator.".into(),
                allow_null: false,
            }],
            variadic: Some(FunctionParameter {
                name: "words".into(),
                ty: Type::list(Type::String),
                description: "The words.".into(),
                allow_null: false,
            }),
            return_type: Type::String,
        };
        let page = render_function("join", "x", &sig, "", "", Some("output \"a\" {}\n"));
        assert!(page.contains("# function: join\n"), "{page}");
        assert!(
            page.contains("```text\njoin(separator string, words list of string...) string\n```"),
            "{page}"
        );
        assert!(page.contains("1. `separator` (String) The separator.\n1. `words` (Variadic, List of String) The words.\n"), "{page}");
    }

    #[test]
    fn identity_import_comes_with_the_identity_schema() {
        use crate::schema::IdentityAttribute;
        let id = IdentitySchema {
            version: 0,
            attributes: vec![
                IdentityAttribute {
                    name: "name".into(),
                    ty: Type::String,
                    description: "Its name.".into(),
                    required_for_import: true,
                    optional_for_import: false,
                },
                IdentityAttribute {
                    name: "account".into(),
                    ty: Type::String,
                    description: "Its account.".into(),
                    required_for_import: false,
                    optional_for_import: true,
                },
            ],
        };
        let schema = Thing::schema(0);
        let page = render(&Page {
            kind: PageKind::Resource,
            name: "x_thing",
            provider_name: "x",
            schema: &schema,
            prose: "",
            footer: "",
            example: None,
            import: Some("terraform import x_thing.a name\n"),
            import_identity: Some(("import {\n  to = x_thing.a\n}\n", &id)),
        });
        let tail = &page[page.find("## Import").unwrap()..];
        assert!(tail.contains("### Identity Schema\n\n#### Required\n\n- `name` (String) Its name.\n\n#### Optional\n\n- `account` (String) Its account.\n"), "{tail}");
        assert!(tail.contains("The [`terraform import` command]"), "{tail}");
    }
}
