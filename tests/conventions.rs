//! Project conventions that keep code, docs and fixtures in step: every registered rule has a
//! document and every document a rule; the README rule table is the one generated from `rules/`;
//! every rule is exercised by a fixture marker; every module says what it owns.

use std::collections::BTreeSet;
use std::path::Path;
use trunkguard::docs;
use trunkguard::rules::REGISTRY;

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

/// The layers of `src/`: each top-level module and the modules it may use (`crate::…` outside its
/// tests). Stages point down — discover → source → parse/prune → engine walk → rules → findings →
/// triage → report — and this table is the one place that says so. The test fails on an edge the table
/// does not allow, on a module the table does not place, and on a cycle in the table itself.
const LAYERS: &[(&str, &[&str])] = &[
    ("escape", &[]),
    ("output", &[]),
    ("source", &[]),
    ("python", &[]),
    // prune → suppress: the fragments of suppression comments keep their function (suppress::FRAGMENTS).
    ("prune", &["suppress"]),
    ("diff", &[]),
    ("finding", &["source"]),
    ("docs", &["finding"]),
    ("discover", &["finding"]),
    ("model", &["finding"]),
    ("safe_fs", &["finding"]),
    ("config", &["finding", "source"]),
    ("cli", &["config"]),
    ("suppress", &["finding"]),
    ("baseline", &["finding"]),
    ("checker", &["config", "finding", "model", "prune", "python", "source", "suppress"]),
    // rules → suppress: TG001 words its message from what the suppression stage found wrong.
    ("rules", &["checker", "config", "finding", "model", "prune", "python", "source", "suppress"]),
    ("engine", &["checker", "config", "finding", "model", "prune", "python", "source", "suppress"]),
    ("cache", &["engine", "finding", "safe_fs"]),
    ("selection", &["checker", "docs", "finding", "rules"]),
    (
        "scan",
        &[
            "cache", "checker", "config", "discover", "docs", "engine", "finding", "model", "python", "safe_fs",
            "source",
        ],
    ),
    ("triage", &["baseline", "config", "diff", "discover", "docs", "finding"]),
    ("report", &["discover", "docs", "escape", "finding", "triage"]),
    (
        "commands",
        &[
            "baseline",
            "cache",
            "cli",
            "config",
            "diff",
            "discover",
            "docs",
            "escape",
            "engine",
            "finding",
            "output",
            "python",
            "report",
            "rules",
            "safe_fs",
            "scan",
            "selection",
            "source",
            "triage",
        ],
    ),
    // The language server: beside `commands` at the top; its analysis is `commands::analyse`.
    ("server", &["cli", "commands", "discover", "docs", "finding", "scan", "source"]),
];

/// Modules that may name tree-sitter: the front end, the walk and the rules. Reports, triage and
/// findings know nothing of trees.
const TREE_MODULES: &[&str] = &["checker", "commands", "engine", "prune", "python", "rules", "scan"];

/// The top-level module a file under `src/` belongs to (`None` for the crate root and `main.rs`).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The code of a file outside its `#[cfg(test)]` module and its comments.
fn non_test_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The first path segment of every `crate::…` path in `code`, including each item of a
/// `use crate::{a, b::c}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push(ident(rest));
            continue;
        };
        let (mut depth, mut item_start) = (0usize, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    out.push(ident(&group[i..]));
                    item_start = false;
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn layers_point_down() {
    let src = root().join("src");
    let mut files = Vec::new();
    walk(&src, "rs", &mut files);
    let allowed: std::collections::BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut errors = Vec::new();
    for file in &files {
        let Some(module) = top_module(&src, file) else { continue };
        let Some(may_use) = allowed.get(module.as_str()) else {
            errors.push(format!("{}: module `{module}` has no place in LAYERS", file.display()));
            continue;
        };
        let code = non_test_code(&std::fs::read_to_string(file).unwrap());
        for target in crate_paths(&code) {
            if target != module && !may_use.contains(&target.as_str()) {
                errors.push(format!("{}: `{module}` may not use `crate::{target}`", file.display()));
            }
        }
        if code.contains("tree_sitter") && !TREE_MODULES.contains(&module.as_str()) {
            errors.push(format!("{}: `{module}` may not know syntax trees (tree_sitter)", file.display()));
        }
    }
    assert!(errors.is_empty(), "layering violations:\n{}", errors.join("\n"));
}

#[test]
fn the_layer_table_has_no_cycle() {
    // Kahn's algorithm: repeatedly remove modules whose every allowed dependency is removed.
    let mut left: Vec<(&str, &[&str])> = LAYERS.to_vec();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|(m, deps)| {
            let ready = deps.iter().all(|d| done.contains(d));
            if ready {
                done.insert(m);
            }
            !ready
        });
        assert!(left.len() < before, "LAYERS has a cycle (or names an unknown module) among {left:?}");
    }
}

#[test]
fn layer_checks_see_through_use_groups() {
    let paths = crate_paths("use crate::{a, b::{c, d}, e::f};\nlet x = crate::g::h();");
    assert_eq!(paths, ["a", "b", "e", "g"]);
    assert_eq!(non_test_code("use x;\n// crate::y\n#[cfg(test)]\nmod tests {\n crate::z\n}"), "use x;");
}
