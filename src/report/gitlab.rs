//! The `gitlab` format: a GitLab Code Quality report (the subset of the Code Climate issue format that
//! GitLab reads), shown in the merge request widget and the pipeline's Code Quality tab, where GitLab
//! compares the issues of the source and target branches by fingerprint to show which are new and which
//! are fixed.
//!
//! ```json
//! [{"description": "TG201 broad-except-swallowed: Broad `except Exception` swallows the error…",
//!   "check_name": "TG201", "fingerprint": "d3c8af69f4be2f0c:1", "severity": "major",
//!   "location": {"path": "plugin/rpc/server.py", "lines": {"begin": 61, "end": 61}}}]
//! ```
//!
//! - `check_name` is the rule id; `description` is the rule id and name, then the message (the widget
//!   shows only the description).
//! - `severity`: error → `critical`, warning → `major`, note → `minor`.
//! - `fingerprint` is the finding's line-independent fingerprint (the one in SARIF's
//!   `partialFingerprints`), so an issue keeps its identity when code above it moves; it is unique per
//!   issue (a repeat, which a fingerprint's occurrence counter already rules out, would get `#2`…).
//! - `location.path` is relative to the project root (the configuration file's directory, else the git
//!   root), as GitLab expects, from whatever directory trunkguard ran. Lines are 1-based.
//! - Notifications about a file (unreadable, syntax error, skipped) are reported as issues too, with the
//!   notification id (`syntax-error`…) as `check_name` and line 1 when the line is unknown.
//!
//! In `.gitlab-ci.yml`: `script: trunkguard check . --output-format gitlab > gl-code-quality.json` with
//! `artifacts: {reports: {codequality: gl-code-quality.json}}`; GitLab collects report artifacts whether
//! or not the job fails, so the job can still fail on findings.

use super::Report;
use crate::finding::Level;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Renders the report as a pretty-printed JSON array of Code Quality issues.
pub fn render(report: &Report) -> String {
    let mut seen = BTreeSet::new();
    let mut unique = |base: String| -> String {
        let mut candidate = base.clone();
        let mut n = 1;
        while !seen.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{base}#{n}");
        }
        candidate
    };
    let mut issues: Vec<Value> = Vec::new();
    for (path, f) in report.reported() {
        issues.push(json!({
            "description": format!("{}: {}", report.title(f.rule), f.message),
            "check_name": f.rule,
            "fingerprint": unique(f.fingerprint.clone()),
            "severity": severity(f.level),
            "location": {
                "path": report.rel(path),
                "lines": {"begin": f.span.start.line, "end": super::last_line(&f.span)},
            },
        }));
    }
    for n in &report.notifications {
        let Some(path) = &n.path else { continue };
        let line = n.line.unwrap_or(1);
        issues.push(json!({
            "description": format!("trunkguard {}: {}", n.id, n.message),
            "check_name": n.id,
            "fingerprint": unique(format!("{}:{}", n.id, path)),
            "severity": severity(n.level),
            "location": {"path": report.rel(path), "lines": {"begin": line, "end": line}},
        }));
    }
    let mut out = serde_json::to_string_pretty(&Value::Array(issues)).unwrap_or_else(|_| "[]".into());
    out.push('\n');
    out
}

/// The Code Quality severity of a level.
pub fn severity(level: Level) -> &'static str {
    match level {
        Level::Error => "critical",
        Level::Warning => "major",
        Level::Note => "minor",
    }
}
