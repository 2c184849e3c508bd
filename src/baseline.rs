//! Baselines: adopt trunkguard on a large codebase and fail only on what is new. Results are matched
//! to an earlier SARIF log by rule id and `partialFingerprints["trunkguard/v1"]` (its hash part, so
//! matching counts duplicates rather than trusting their order): matched results are `unchanged`, the
//! rest `new`, and baseline results no longer found come back as `absent`.

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
        let log: Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
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
    /// (to be reported as `absent`), in their original order.
    pub fn apply<'a>(mut self, findings: impl Iterator<Item = &'a mut Finding>) -> Vec<Value> {
        for f in findings {
            let key = (f.rule.to_string(), hash_part(&f.fingerprint).to_string());
            let matched = self.results.get_mut(&key).and_then(VecDeque::pop_front).is_some();
            f.baseline = Some(if matched { BaselineState::Unchanged } else { BaselineState::New });
        }
        self.results.into_values().flatten().collect()
    }
}
