//! Registry documentation from schemas, in the layout and wording of
//! HashiCorp's tfplugindocs: a page per provider, resource and data source
//! with "Required", "Optional" and "Read-Only" attributes, nested schemas
//! with anchors, sensitive and replacement marks. Pure: the caller adds
//! examples and prose and writes the files.

use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::value::Type;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    Provider,
    Resource,
    DataSource,
}

impl PageKind {
    fn label(self) -> &'static str {
        match self {
            PageKind::Provider => "Provider",
            PageKind::Resource => "Resource",
            PageKind::DataSource => "Data Source",
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
    if let Some(import) = page.import {
        out.push_str(
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n",
        );
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
}
