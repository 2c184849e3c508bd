//! Embeds every `rules/*.md` document in the binary: writes `$OUT_DIR/rule_docs.rs`, a sorted table
//! of `(file stem, include_str!(…))`. The rule docs are the single source of rule metadata.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut docs: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("rules/ directory exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    let mut out = String::from(
        "/// Every rule document in `rules/`: (file stem, Markdown text).\npub static RULE_DOCS: &[(&str, &str)] = &[\n",
    );
    for path in &docs {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("UTF-8 rule doc name");
        out.push_str(&format!("    ({stem:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("rule_docs.rs");
    fs::write(dest, out).expect("write rule_docs.rs");
}
