//! Project conventions that keep code, docs and fixtures in step: every registered rule has a
//! document and every document a rule; the README rule table is the one generated from `rules/`;
//! every rule is exercised by a fixture marker; every module says what it owns.

use std::collections::BTreeSet;
use std::path::Path;
use trunkguard::rules::{REGISTRY, docs};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn registry_and_rule_documents_match() {
    let registered: BTreeSet<&str> = REGISTRY.iter().map(|r| r.id()).collect();
    let documented: BTreeSet<&str> = docs::all().iter().map(|d| d.id.as_str()).collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let orphaned: Vec<_> = documented.difference(&registered).collect();
    assert!(undocumented.is_empty(), "registered rules without rules/ID.md: {undocumented:?}");
    assert!(orphaned.is_empty(), "rules/ documents without a registered rule: {orphaned:?}");
    let ids: Vec<&str> = REGISTRY.iter().map(|r| r.id()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "REGISTRY is sorted by id");
}

/// The README's rule table is generated: `cargo run -- rules --markdown` prints it. Run the tests with
/// `TRUNKGUARD_BLESS=1` to rewrite it in place.
#[test]
fn readme_rule_table_is_generated_from_rules() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- rules-table:start -->\n", "<!-- rules-table:end -->");
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md lacks the {start:?} … {end:?} markers");
    };
    let current = &readme[a + start.len()..b];
    let wanted = docs::markdown_table();
    if current != wanted && std::env::var_os("TRUNKGUARD_BLESS").is_some() {
        let updated = format!("{}{wanted}{}", &readme[..a + start.len()], &readme[b..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(current, wanted, "README rule table is stale: run `TRUNKGUARD_BLESS=1 cargo test --test conventions`");
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_rule_is_exercised_by_a_fixture() {
    let mut files = Vec::new();
    walk(&root().join("fixtures"), "py", &mut files);
    let text: String = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    for rule in REGISTRY {
        let marker = format!("expect: {}", rule.id());
        let listed = text.lines().any(|l| l.contains("# expect:") && l.contains(rule.id()));
        assert!(listed, "no fixture line is marked `# {marker}`");
    }
}

#[test]
fn every_module_says_what_it_owns() {
    let mut files = Vec::new();
    walk(&root().join("src"), "rs", &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} lacks a `//!` header saying what it owns", file.display());
    }
}
