//! The `json` format: a stable, documented document of findings and notifications for scripts.
//!
//! ```json
//! {"version": 1, "findings": [{"rule": "TG201", "name": "broad-except-swallowed", "level": "warning",
//!   "message": "…", "path": "a.py", "line": 3, "column": 5, "end_line": 3, "end_column": 27,
//!   "scope": "Plugin.update", "fingerprint": "…", "related": [], "flow": [], "properties": {},
//!   "suppressed": null, "baseline_state": null, "fix": null}],
//!  "notifications": [{"id": "syntax-error", "level": "warning", "path": "b.py", "line": 1, "message": "…"}],
//!  "summary": {"findings": 1, "suppressed": 0, "errors": 0, "warnings": 1, "notes": 0, "files_scanned": 2,
//!              "outside_diff": null, "baseline": null}}
//! ```
//! `related` and `flow` (the steps of an indirect finding, SARIF `codeFlows`) hold `line`, `column`,
//! `message`, and `path` when the place is in another file (a helper the flow goes through).
//! `suppressed` holds the silencing comment; `baseline_state` is `new`/`unchanged` with `--baseline`;
//! `fix`, for rules with a mechanical fix, `{"title", "applicability": "safe"|"unsafe", "edits": [{"line",
//! "column", "end_line", "end_column", "replacement"}]}` (an empty range is an insertion).
//! Summary counts exclude silenced findings; `outside_diff` is, with `--diff-against`, how many findings
//! the diff filter left out, and `baseline`, with `--baseline`, `{"new": 1, "unchanged": 3, "absent": 0}`
//! as in the text summary (both `null` without the option).
//! ```text
//! ```
//! Lines are 1-based; columns are 1-based UTF-16 code units (as in SARIF).

use super::Report;
use crate::finding::Level;
use serde_json::{Value, json};

/// Renders the report as pretty-printed JSON.
/// A related location or a flow step: line, column, message, and the path when it is in another file
/// than the finding.
fn step(r: &crate::finding::Related) -> Value {
    let mut loc = json!({ "line": r.span.start.line, "column": r.span.start.column, "message": r.message });
    if let Some(other) = &r.path {
        loc["path"] = json!(other);
    }
    loc
}

pub fn render(report: &Report) -> String {
    let findings: Vec<Value> = report
        .all()
        .map(|(path, f)| {
            let name = report.rules.iter().find(|d| d.id == f.rule).map(|d| d.name.as_str()).unwrap_or("");
            json!({
                "rule": f.rule,
                "name": name,
                "level": f.level.as_str(),
                "message": f.message,
                "path": path,
                "line": f.span.start.line,
                "column": f.span.start.column,
                "end_line": f.span.end.line,
                "end_column": f.span.end.column,
                "scope": f.scope,
                "fingerprint": f.fingerprint,
                "related": f.related.iter().map(step).collect::<Vec<_>>(),
                "flow": f.flow.iter().map(step).collect::<Vec<_>>(),
                "properties": f.properties,
                "suppressed": f.suppressed,
                "baseline_state": f.baseline.map(|b| b.as_str()),
                "fix": f.fix.as_ref().map(|fix| json!({
                    "title": fix.title,
                    "applicability": fix.applicability.as_str(),
                    "edits": fix.edits.iter().map(|e| json!({
                        "line": e.span.start.line, "column": e.span.start.column,
                        "end_line": e.span.end.line, "end_column": e.span.end.column,
                        "replacement": e.replacement,
                    })).collect::<Vec<_>>(),
                })),
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "findings": findings,
        "notifications": report.notifications,
        "summary": {
            "findings": report.reported().count(),
            "suppressed": report.silenced(),
            "errors": report.count(Level::Error),
            "warnings": report.count(Level::Warning),
            "notes": report.count(Level::Note),
            "files_scanned": report.files_scanned,
            "outside_diff": report.outside_diff,
            "baseline": report.baseline_counts(),
        },
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
