//! SARIF output: schema validity, the shape GitHub code scanning and SARIF viewers need, UTF-16
//! columns, line-independent fingerprints, determinism, and a reviewed snapshot.

mod common;

use common::{assert_schema_valid, results, root, sarif_in, trunkguard};
use serde_json::Value;

#[test]
fn example_is_schema_valid_and_complete() {
    let sarif = sarif_in(&root(), &["fixtures/example"]);
    assert_schema_valid(&sarif);
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-schema-2.1.0"));
    let run = &sarif["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "trunkguard");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"].as_str().unwrap().starts_with("https://"));
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap().starts_with("file:///"));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let rules = driver["rules"].as_array().unwrap();
    for rule in rules {
        for key in ["id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration"] {
            assert!(!rule[key].is_null(), "rule {} lacks {key}", rule["id"]);
        }
        assert!(rule["help"]["markdown"].as_str().unwrap().contains("## Fix"));
        let props = &rule["properties"];
        assert!(props["tags"].as_array().unwrap().iter().any(|t| t == "security"));
        assert!(props["precision"].is_string());
        assert!(props["security-severity"].is_string());
    }
    let results = results(&sarif);
    assert!(!results.is_empty());
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"], "ruleIndex points at the rule");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(loc["artifactLocation"]["uri"].as_str().unwrap().starts_with("fixtures/example/"));
        let region = &loc["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().unwrap() >= 1);
        }
        assert!(!region["snippet"]["text"].as_str().unwrap().is_empty());
        assert!(r["partialFingerprints"]["trunkguard/v1"].is_string());
        assert!(r["message"]["text"].as_str().unwrap().contains('.'));
    }
}

#[test]
fn columns_are_utf16_code_units() {
    let dir = tempfile::tempdir().unwrap();
    // 'é' is one UTF-16 unit, '𝄞' two: 22 code units (21 code points) precede `contextlib`.
    std::fs::write(
        dir.path().join("u.py"),
        "import contextlib\nwith open(\"é𝄞.txt\"), contextlib.suppress(Exception):\n    pass\n",
    )
    .unwrap();
    let sarif = sarif_in(dir.path(), &["u.py"]);
    assert_schema_valid(&sarif);
    let region = &results(&sarif)[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(region["startColumn"], 23);
    assert_eq!(region["endColumn"], 23 + "contextlib.suppress(Exception)".len() as u64);
}

fn fingerprints_and_lines(sarif: &Value) -> Vec<(String, u64)> {
    results(sarif)
        .iter()
        .map(|r| {
            (
                r["partialFingerprints"]["trunkguard/v1"].as_str().unwrap().to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_code_moving_down() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(root().join("fixtures/exceptions/handlers.py")).unwrap();
    std::fs::write(dir.path().join("h.py"), &original).unwrap();
    let before = fingerprints_and_lines(&sarif_in(dir.path(), &["h.py"]));
    std::fs::write(dir.path().join("h.py"), format!("\n\n\n# moved\n{original}")).unwrap();
    let after = fingerprints_and_lines(&sarif_in(dir.path(), &["h.py"]));
    assert!(before.len() > 5);
    assert_eq!(before.len(), after.len());
    for ((fa, la), (fb, lb)) in before.iter().zip(&after) {
        assert_eq!(fa, fb, "fingerprint changed when lines were inserted above");
        assert_eq!(la + 4, *lb);
    }
    let mut unique: Vec<&String> = before.iter().map(|(f, _)| f).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), before.len(), "fingerprints are distinct within a run");
}

#[test]
fn identical_bytes_whatever_the_thread_count() {
    let run = |threads: &str| {
        trunkguard()
            .args(["check", "fixtures", "--output-format", "sarif", "--threads", threads])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("8"));
}

/// The SARIF of a small fixture, with the machine-dependent parts redacted, reviewed as a snapshot.
#[test]
fn snapshot() {
    let mut sarif = sarif_in(&root(), &["fixtures/exceptions/nested_raise.py", "--select", "TG2"]);
    assert_schema_valid(&sarif);
    sarif["runs"][0]["tool"]["driver"]["semanticVersion"] = Value::String("[version]".into());
    sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] = Value::String("[srcroot]".into());
    insta::assert_snapshot!(serde_json::to_string_pretty(&sarif).unwrap());
}

#[test]
fn the_schema_check_can_fail() {
    let mut sarif = sarif_in(&root(), &["fixtures/exceptions/nested_raise.py"]);
    sarif["runs"][0]["results"][0]["level"] = Value::String("fatal".into());
    let outcome = std::panic::catch_unwind(|| assert_schema_valid(&sarif));
    assert!(outcome.is_err(), "an invalid level must fail schema validation");
}
