//! Embeds every `rules/*.md` document in the binary: writes `$OUT_DIR/rule_docs.rs`, a sorted table
//! of `(file stem, include_str!(…))`. The rule docs are the single source of rule metadata.
//!
//! Also sets `TRUNKGUARD_BUILD_ID`, a hash of every source file, rule document and the lock file: the
//! result cache is keyed by it, so a rebuilt tool never trusts results an older build cached.

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
    build_id();
}

/// Hashes (FNV-1a) the names and contents of `src/**`, `rules/*.md`, `Cargo.lock` and this script.
fn build_id() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("Cargo.lock"), root.join("build.rs")];
    let mut dirs = vec![root.join("src"), root.join("rules")];
    while let Some(dir) = dirs.pop() {
        println!("cargo:rerun-if-changed={}", dir.display());
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { dirs.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.strip_prefix(&root).unwrap_or(file).to_string_lossy().into_owned();
        let bytes = fs::read(file).unwrap_or_default();
        for &b in name.as_bytes().iter().chain([0u8].iter()).chain(bytes.iter()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=TRUNKGUARD_BUILD_ID={}-{hash:016x}", env::var("CARGO_PKG_VERSION").unwrap_or_default());
}
