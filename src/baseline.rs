//! Baselines: adopt trunkguard on a large codebase and fail only on what is new. Results are matched
//! to an earlier SARIF log written by trunkguard (another tool's log is an error naming the tool; a
//! UTF-8 byte order mark is fine) by rule id and `partialFingerprints["trunkguard/v1"]` (its hash part,
//! so matching counts duplicates rather than trusting their order: one baseline result matches one
//! finding): matched results are `unchanged`, the rest `new`, and baseline results no longer found in
//! a file that was scanned come back as `absent`.

use crate::finding::{BaselineState, FINGERPRINT_KEY, Finding};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

/// Why a baseline could not be used (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{}: cannot read baseline: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not a SARIF log: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: a SARIF log written by `{tool}`, not by trunkguard: a baseline must be an earlier trunkguard report", path.display())]
    OtherTool { path: PathBuf, tool: String },
}

/// The results of an earlier run, keyed by (rule id, fingerprint hash).
#[derive(Debug, Default)]
pub struct Baseline {
    results: BTreeMap<(String, String), VecDeque<Value>>,
}

fn hash_part(fingerprint: &str) -> &str {
    fingerprint.rsplit_once(':').map_or(fingerprint, |(h, _)| h)
}

impl Baseline {
    /// Reads a SARIF log written by trunkguard.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read { path: path.into(), source })?;
        let invalid = |reason: String| BaselineError::Invalid { path: path.into(), reason };
        let log: Value =
            serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(&text)).map_err(|e| invalid(e.to_string()))?;
        let tool = log["runs"][0]["tool"]["driver"]["name"]
            .as_str()
            .ok_or_else(|| invalid("no runs[0].tool.driver.name".into()))?;
        if tool != "trunkguard" {
            return Err(BaselineError::OtherTool { path: path.into(), tool: tool.to_string() });
        }
        let results = log["runs"][0]["results"].as_array().ok_or_else(|| invalid("no runs[0].results array".into()))?;
        let mut baseline = Baseline::default();
        for r in results {
            if r["baselineState"] == "absent" {
                continue;
            }
            let (Some(rule), Some(fp)) = (r["ruleId"].as_str(), r["partialFingerprints"][FINGERPRINT_KEY].as_str())
            else {
                continue;
            };
            baseline.results.entry((rule.to_string(), hash_part(fp).to_string())).or_default().push_back(r.clone());
        }
        Ok(baseline)
    }

    /// Marks each finding `new` or `unchanged`; returns the baseline results not found any more
    /// (to be reported as `absent`) whose file `scanned` accepts (by its URI: relative to `%SRCROOT%`
    /// or an absolute path), in their original order.
    pub fn apply<'a>(
        mut self,
        findings: impl Iterator<Item = &'a mut Finding>,
        scanned: impl Fn(&str) -> bool,
    ) -> Vec<Value> {
        for f in findings {
            let key = (f.rule.to_string(), hash_part(&f.fingerprint).to_string());
            let matched = self.results.get_mut(&key).and_then(VecDeque::pop_front).is_some();
            f.baseline = Some(if matched { BaselineState::Unchanged } else { BaselineState::New });
        }
        self.results.into_values().flatten().filter(|r| uri(r).is_some_and(&scanned)).collect()
    }
}

/// The URI of a result's file as trunkguard writes it: relative (under `%SRCROOT%`), or the path of a
/// `file://` URI.
fn uri(result: &Value) -> Option<&str> {
    let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
    let uri = artifact["uri"].as_str()?;
    Some(if artifact["uriBaseId"].is_null() { uri.strip_prefix("file://").unwrap_or(uri) } else { uri })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Level, Span};
    use crate::source::Position;

    fn finding(fingerprint: &str) -> Finding {
        let at = Position { line: 1, column: 1 };
        Finding {
            rule: "TG202",
            level: Level::Warning,
            message: String::new(),
            span: Span { start_byte: 0, end_byte: 0, start: at, end: at },
            snippet: String::new(),
            lines: Vec::new(),
            scope: String::new(),
            related: Vec::new(),
            flow: Vec::new(),
            properties: Default::default(),
            fingerprint: fingerprint.into(),
            suppressed: None,
            baseline: None,
            fix: None,
        }
    }

    fn log(tool: &str, results: Value) -> String {
        serde_json::json!({"runs": [{"tool": {"driver": {"name": tool}}, "results": results}]}).to_string()
    }

    fn load(text: &str) -> Result<Baseline, BaselineError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sarif");
        std::fs::write(&path, text).unwrap();
        Baseline::load(&path)
    }

    #[test]
    fn one_baseline_result_matches_one_finding() {
        let result = serde_json::json!({"ruleId": "TG202", "partialFingerprints": {FINGERPRINT_KEY: "abc:1"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py", "uriBaseId": "%SRCROOT%"}}}]});
        let baseline = load(&log("trunkguard", serde_json::json!([result]))).unwrap();
        let mut found = [finding("abc:1"), finding("abc:2")];
        let absent = baseline.apply(found.iter_mut(), |_| true);
        let states: Vec<_> = found.iter().map(|f| f.baseline).collect();
        assert_eq!(states, [Some(BaselineState::Unchanged), Some(BaselineState::New)]);
        assert!(absent.is_empty());
    }

    #[test]
    fn only_scanned_files_have_absent_results() {
        let at = |uri: &str, base: Option<&str>| {
            serde_json::json!({"ruleId": "TG202", "partialFingerprints": {FINGERPRINT_KEY: "abc:1"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": base}}}]})
        };
        let results = serde_json::json!([at("a.py", Some("%SRCROOT%")), at("file:///abs/b.py", None)]);
        let text = log("trunkguard", results);
        let absent = load(&text).unwrap().apply(std::iter::empty(), |u| u == "/abs/b.py");
        assert_eq!(absent.len(), 1);
        assert_eq!(uri(&absent[0]), Some("/abs/b.py"));
        assert_eq!(load(&text).unwrap().apply(std::iter::empty(), |u| u == "a.py").len(), 1);
    }

    #[test]
    fn other_tools_logs_are_refused_and_a_bom_is_fine() {
        let err = load(&log("Bandit", serde_json::json!([]))).unwrap_err();
        assert!(err.to_string().contains("written by `Bandit`"), "{err}");
        assert!(load(&format!("\u{feff}{}", log("trunkguard", serde_json::json!([])))).is_ok());
        assert!(matches!(load("{\"runs\": [{\"results\": []}]}"), Err(BaselineError::Invalid { .. })));
    }
}
