//! Real-world smoke test: all of neutron 29.0.0 (2,080 files). `.ci/run` fetches the tree with
//! `bench/fetch-corpus.sh` (pinned by sha256, cached) and runs this with `--ignored`; a missing tree
//! fails loudly rather than skipping.
//!
//!     bench/fetch-corpus.sh && cargo test --test smoke -- --ignored

mod common;

use common::{assert_schema_valid, results, trunkguard_in};
use std::path::PathBuf;

fn neutron_root() -> PathBuf {
    let corpus =
        std::env::var_os("TRUNKGUARD_CORPUS").map(PathBuf::from).unwrap_or_else(|| common::root().join("corpus"));
    let root = corpus.join("neutron-29.0.0");
    assert!(
        root.join("neutron/services/trunk/rpc/server.py").is_file(),
        "neutron 29.0.0 is not at {}: run bench/fetch-corpus.sh first",
        root.display()
    );
    root
}

#[test]
#[ignore = "needs the neutron corpus: bench/fetch-corpus.sh, then cargo test --test smoke -- --ignored"]
fn scans_all_of_neutron_and_finds_the_seed_reviews_findings() {
    let root = neutron_root();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("neutron.sarif");
    let out = trunkguard_in(&root)
        .args(["check", "neutron", "--output-format", "sarif", "--output"])
        .arg(&report)
        .timeout(std::time::Duration::from_secs(600))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().expect("no signal, no panic");
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    assert!(stderr.contains("2080 files scanned"), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_schema_valid(&sarif);
    let found = |rule: &str, scope: &str| {
        results(&sarif).iter().any(|r| {
            r["ruleId"] == rule
                && r["properties"]["scope"] == scope
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "neutron/services/trunk/rpc/server.py"
        })
    };
    // The seed reviews' findings in neutron/services/trunk/rpc/server.py.
    assert!(found("TG102", "TrunkSkeleton._safe_update_trunk"), "retry on StaleDataError without backoff");
    assert!(
        found("TG201", "TrunkSkeleton._process_trunk_subport_bindings"),
        "except Exception that logs and carries on"
    );
    assert!(found("TG401", "TrunkSkeleton.update_subport_bindings"), "context.elevated() reaching update_port");
    for absent in ["TG101", "TG103"] {
        assert!(!found(absent, "TrunkSkeleton._safe_update_trunk"), "{absent} must not fire on _safe_update_trunk");
    }
}
