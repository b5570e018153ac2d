//! The test tree's layout holds: every `.rs` file (or directory module) of
//! this directory is declared in `main.rs`, so no test file is compiled by
//! nobody; and nothing is left in the old single-crate place `tests/tests/`.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_file_is_a_module() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/acceptance");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("main.rs");
    let declared: BTreeSet<String> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod "))
        .map(|m| m.trim_end_matches(';').trim().to_string())
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read tests/acceptance") {
        let path = entry.expect("dir entry").path();
        let module = if path.is_dir() && path.join("mod.rs").is_file() {
            path.file_name().unwrap().to_string_lossy().into_owned()
        } else if path.extension().is_some_and(|e| e == "rs") {
            path.file_stem().unwrap().to_string_lossy().into_owned()
        } else {
            continue;
        };
        if module != "main" && !declared.contains(&module) {
            missing.push(module);
        }
    }
    assert!(
        missing.is_empty(),
        "files in {} not declared in main.rs (add `mod <name>;`): {missing:?}",
        dir.display()
    );
    let old = irsa_acceptance::harness::workspace_root().join("tests/tests");
    assert!(
        !old.exists(),
        "{} exists: provider tests go in tests/acceptance/tests/acceptance/ (a module of \
         main.rs), tests of the fake API server in tests/fake-apiserver/tests/",
        old.display()
    );
}
