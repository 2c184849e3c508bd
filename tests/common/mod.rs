//! Helpers shared by the integration tests: running the binary, validating SARIF.

#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The crate root (tests run the binary from here so display paths are repository-relative).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the tests' runs keep the cache secret (`XDG_CACHE_HOME`): under the build's own temporary
/// directory, never the user's.
pub fn xdg_cache_home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache")
}

/// The opt-in rules the integration tests use as their canary findings: TG201 and TG202 fire on the
/// smallest handlers (`except Exception: pass`), the retry and logging rules on the short loops and log
/// calls the tests write, which keeps the tests of caching, output, triage and hostile input short. They
/// are opt-in for users (measured precision below 80 % on unseen services: `bench/judged/`), so
/// [`trunkguard_in`] turns them on through `TRUNKGUARD_EXTEND_SELECT`; tests of the default rule set
/// use [`trunkguard_defaults_in`].
pub const CANARY_RULES: &str = "TG101,TG102,TG103,TG105,TG106,TG201,TG202,TG303,TG305,TG401,TG402";

/// `trunkguard` with the working directory at `dir`, the canary rules on (see [`CANARY_RULES`]).
pub fn trunkguard_in(dir: &Path) -> Command {
    let mut cmd = trunkguard_defaults_in(dir);
    cmd.env("TRUNKGUARD_EXTEND_SELECT", CANARY_RULES);
    cmd
}

/// `trunkguard` with the working directory at `dir` and the default rule set.
pub fn trunkguard_defaults_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("trunkguard").expect("binary builds");
    cmd.current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("TRUNKGUARD_EXTEND_SELECT")
        .env("XDG_CACHE_HOME", xdg_cache_home());
    cmd
}

/// `trunkguard` with the working directory at the crate root.
pub fn trunkguard() -> Command {
    trunkguard_in(&root())
}

/// Validates `sarif` against the official SARIF 2.1.0 schema; panics with every error otherwise.
pub fn assert_schema_valid(sarif: &Value) {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/data/sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator.iter_errors(sarif).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF is not schema-valid:\n{}", errors.join("\n"));
}

/// Runs `trunkguard check ARGS --output-format sarif` in `dir` and parses the log.
pub fn sarif_in(dir: &Path, args: &[&str]) -> Value {
    let out = trunkguard_in(dir).arg("check").args(args).args(["--output-format", "sarif"]).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("SARIF is JSON")
}

/// The results array of a SARIF log.
pub fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().expect("results array")
}
