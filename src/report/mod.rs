//! Report formats. Each turns a [`Report`] (findings and notifications, already sorted) into bytes;
//! none of them knows anything about syntax trees or how rules work.

pub mod json;
pub mod sarif;
pub mod text;

use crate::finding::{Finding, Level, Notification};
use crate::rules::docs::RuleDoc;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything a scan produced, in deterministic order.
#[derive(Debug)]
pub struct Report {
    /// Findings sorted by path, line, column, rule.
    pub findings: Vec<(String, Finding)>,
    /// Notifications sorted by path, line.
    pub notifications: Vec<Notification>,
    /// Documents of the rules that ran, sorted by id.
    pub rules: Vec<&'static RuleDoc>,
    pub files_scanned: usize,
    /// The directory repository-relative URIs are relative to (SARIF `%SRCROOT%`).
    pub srcroot: PathBuf,
    /// Display path → percent-encoded URI path made from the raw file name (lossless where the
    /// display path is lossy). Paths not listed are encoded from their display form.
    pub uris: BTreeMap<String, String>,
    /// Show findings silenced by in-source comments in human-facing formats.
    pub show_suppressed: bool,
    /// Baseline results no longer found (SARIF results, reported with `baselineState: absent`).
    pub absent: Vec<serde_json::Value>,
}

impl Report {
    /// A report of `findings` with no files, notifications or rules: a starting point for tests.
    pub fn new(findings: Vec<(String, Finding)>, rules: Vec<&'static RuleDoc>) -> Report {
        Report {
            findings,
            notifications: Vec::new(),
            rules,
            files_scanned: 0,
            srcroot: PathBuf::from("/"),
            uris: BTreeMap::new(),
            show_suppressed: false,
            absent: Vec::new(),
        }
    }

    /// The findings a person should see: not silenced (unless asked for) and, against a baseline,
    /// only new ones.
    pub fn visible(&self) -> impl Iterator<Item = &(String, Finding)> {
        self.findings.iter().filter(|(_, f)| {
            (self.show_suppressed || f.suppressed.is_none())
                && f.baseline != Some(crate::finding::BaselineState::Unchanged)
        })
    }

    /// Findings that are not silenced by a comment.
    pub fn active(&self) -> impl Iterator<Item = &(String, Finding)> {
        self.findings.iter().filter(|(_, f)| f.suppressed.is_none())
    }

    /// The percent-encoded URI path of a display path.
    pub fn uri(&self, display: &str) -> String {
        self.uris.get(display).cloned().unwrap_or_else(|| crate::discover::percent_encode(display.as_bytes()))
    }

    /// Count of active (not silenced) findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.active().filter(|(_, f)| f.level == level).count()
    }

    /// Number of distinct files with active findings.
    pub fn files_with_findings(&self) -> usize {
        let mut paths: Vec<&str> = self.active().map(|(p, _)| p.as_str()).collect();
        paths.dedup();
        paths.len()
    }

    /// "3 findings (1 error, 2 warnings) in 2 files; 12 files scanned."
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut parts = vec![plural(self.count(Level::Error), "error"), plural(self.count(Level::Warning), "warning")];
        if self.count(Level::Note) > 0 {
            parts.push(plural(self.count(Level::Note), "note"));
        }
        let mut out = format!(
            "{} ({}) in {}; {} scanned.",
            plural(self.active().count(), "finding"),
            parts.join(", "),
            plural(self.files_with_findings(), "file"),
            plural(self.files_scanned, "file"),
        );
        let silenced = self.findings.len() - self.active().count();
        if silenced > 0 {
            out.push_str(&format!(" {} silenced by comments.", plural(silenced, "finding")));
        }
        let new = self.active().filter(|(_, f)| f.baseline == Some(crate::finding::BaselineState::New)).count();
        if self.findings.iter().any(|(_, f)| f.baseline.is_some()) {
            out.push_str(&format!(
                " Against the baseline: {new} new, {} unchanged, {} absent.",
                self.active().count() - new,
                self.absent.len()
            ));
        }
        out
    }
}
