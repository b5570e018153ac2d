//! Writes `docs/` in the Terraform Registry layout from the provider's own
//! schemas (descriptions are the models' doc comments), `examples/` and the
//! prose in `templates/`; `--check` compares instead of writing and fails
//! when `docs/` differs (CI runs that). Run it as `scripts/docs [--check]`
//! or `cargo xtask docs [--check]`.
//!
//! - `docs/index.md`: templates/index.md + examples/provider/provider.tf +
//!   the provider block's schema.
//! - `docs/resources/<name>.md`, `docs/data-sources/<name>.md`,
//!   `docs/ephemeral-resources/<name>.md`, `docs/list-resources/<name>.md`
//!   (name without the `irsa_` prefix): templates/<kind>/<name>.md
//!   (optional prose) + examples/<kind>/<type>/resource.tf, data-source.tf,
//!   ephemeral-resource.tf or list-resource.tfquery.hcl + schema +
//!   examples/resources/<type>/import-by-identity.tf with the identity
//!   schema, and import.sh.
//! - `docs/functions/<name>.md`: templates/functions/<name>.md +
//!   examples/functions/<name>/function.tf + signature and arguments.
//! - `docs/guides/*.md`: copied from templates/guides/.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use irsa::provider::IrsaProvider;
use tfplugin::docs::{render, render_function, Page, PageKind};
use tfplugin::Provider;

const PROVIDER_NAME: &str = "irsa";

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A template's prose before and after the generated sections.
const AFTER_SCHEMA: &str = "<!-- after-schema -->";

fn split_template(text: &str) -> (String, String) {
    match text.split_once(AFTER_SCHEMA) {
        Some((before, after)) => (before.to_string(), after.to_string()),
        None => (text.to_string(), String::new()),
    }
}

fn short(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!("{PROVIDER_NAME}_"))
        .unwrap_or(type_name)
}

/// Every file the docs consist of, by path relative to the repository root.
fn generate(root: &Path) -> Result<BTreeMap<PathBuf, String>, String> {
    let provider = IrsaProvider::new();
    let mut out = BTreeMap::new();
    let templates = root.join("templates");
    let examples = root.join("examples");

    let schema = provider.schema();
    let (prose, footer) =
        split_template(&read_opt(&templates.join("index.md")).unwrap_or_default());
    let example = read_opt(&examples.join("provider/provider.tf"));
    out.insert(
        PathBuf::from("docs/index.md"),
        render(&Page {
            kind: PageKind::Provider,
            name: PROVIDER_NAME,
            provider_name: PROVIDER_NAME,
            schema: &schema,
            prose: &prose,
            footer: &footer,
            example: example.as_deref(),
            import: None,
            import_identity: None,
        }),
    );

    type PageOf = (
        PageKind,
        String,
        tfplugin::Schema,
        Option<tfplugin::IdentitySchema>,
    );
    let mut pages: Vec<PageOf> = Vec::new();
    for r in provider.resources() {
        pages.push((
            PageKind::Resource,
            r.type_name().to_string(),
            r.schema(),
            r.identity_schema(),
        ));
    }
    for d in provider.data_sources() {
        pages.push((
            PageKind::DataSource,
            d.type_name().to_string(),
            d.schema(),
            None,
        ));
    }
    for e in provider.ephemeral_resources() {
        pages.push((
            PageKind::EphemeralResource,
            e.type_name().to_string(),
            e.schema(),
            None,
        ));
    }
    for l in provider.list_resources() {
        pages.push((
            PageKind::ListResource,
            l.type_name().to_string(),
            l.schema(),
            None,
        ));
    }
    for (kind, type_name, schema, identity) in &pages {
        let (dir, example_file) = match kind {
            PageKind::Resource => ("resources", "resource.tf"),
            PageKind::EphemeralResource => ("ephemeral-resources", "ephemeral-resource.tf"),
            PageKind::ListResource => ("list-resources", "list-resource.tfquery.hcl"),
            _ => ("data-sources", "data-source.tf"),
        };
        let example_dir = examples.join(dir).join(type_name);
        let example = read_opt(&example_dir.join(example_file)).ok_or_else(|| {
            format!(
                "{} is missing: every {dir} page needs an example",
                example_dir.join(example_file).display()
            )
        })?;
        let import = match kind {
            PageKind::Resource => read_opt(&example_dir.join("import.sh")),
            _ => None,
        };
        let import_identity_example = match (kind, identity) {
            (PageKind::Resource, Some(_)) => {
                let path = example_dir.join("import-by-identity.tf");
                Some(read_opt(&path).ok_or_else(|| {
                    format!(
                        "{} is missing: a resource with an identity needs an import-by-identity example",
                        path.display()
                    )
                })?)
            }
            _ => None,
        };
        let (prose, footer) = split_template(
            &read_opt(&templates.join(dir).join(format!("{}.md", short(type_name))))
                .unwrap_or_default(),
        );
        out.insert(
            PathBuf::from(format!("docs/{dir}/{}.md", short(type_name))),
            render(&Page {
                kind: *kind,
                name: type_name,
                provider_name: PROVIDER_NAME,
                schema,
                prose: &prose,
                footer: &footer,
                example: Some(&example),
                import: import.as_deref(),
                import_identity: import_identity_example.as_deref().zip(identity.as_ref()),
            }),
        );
    }

    for f in provider.functions() {
        let name = f.name();
        let path = examples.join("functions").join(name).join("function.tf");
        let example = read_opt(&path).ok_or_else(|| {
            format!(
                "{} is missing: every function page needs an example",
                path.display()
            )
        })?;
        let (prose, footer) = split_template(
            &read_opt(&templates.join("functions").join(format!("{name}.md"))).unwrap_or_default(),
        );
        out.insert(
            PathBuf::from(format!("docs/functions/{name}.md")),
            render_function(
                name,
                PROVIDER_NAME,
                &f.signature(),
                &prose,
                &footer,
                Some(&example),
            ),
        );
    }

    if let Ok(entries) = std::fs::read_dir(templates.join("guides")) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "md") {
                let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
                out.insert(
                    PathBuf::from("docs/guides").join(p.file_name().unwrap()),
                    text,
                );
            }
        }
    }
    Ok(out)
}

/// Markdown files under docs/ now.
fn existing(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                found.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

pub fn main(args: &[String]) -> ExitCode {
    let check = args.iter().any(|a| a == "--check");
    let root = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(crate::workspace_root);
    let files = match generate(&root) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("docs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stale: Vec<PathBuf> = existing(&root)
        .into_iter()
        .filter(|p| !files.contains_key(p))
        .collect();
    if check {
        let mut problems = Vec::new();
        for (path, text) in &files {
            match read_opt(&root.join(path)) {
                Some(current) if &current == text => {}
                Some(_) => problems.push(format!("{} differs", path.display())),
                None => problems.push(format!("{} is missing", path.display())),
            }
        }
        for p in &stale {
            problems.push(format!(
                "{} is not generated (remove it or add a template)",
                p.display()
            ));
        }
        if problems.is_empty() {
            eprintln!("docs: {} files up to date", files.len());
            return ExitCode::SUCCESS;
        }
        for p in &problems {
            eprintln!("docs: {p}");
        }
        eprintln!(
            "docs: run scripts/docs to regenerate docs/ from the schema, examples/ and templates/"
        );
        return ExitCode::FAILURE;
    }
    for (path, text) in &files {
        let full = root.join(path);
        if let Some(parent) = full.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("docs: {}: {e}", parent.display());
                return ExitCode::FAILURE;
            }
        }
        if let Err(e) = std::fs::write(&full, text) {
            eprintln!("docs: {}: {e}", full.display());
            return ExitCode::FAILURE;
        }
    }
    for p in &stale {
        let _ = std::fs::remove_file(root.join(p));
    }
    eprintln!("docs: wrote {} files", files.len());
    ExitCode::SUCCESS
}
