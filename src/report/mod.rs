//! Report formats. Each turns a [`Report`] (findings and notifications, already sorted) into bytes;
//! none of them knows anything about syntax trees or how rules work.

pub mod json;
pub mod sarif;
pub mod text;

use crate::finding::{Finding, Level, Notification};
use crate::rules::docs::RuleDoc;
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
}

impl Report {
    /// Count of findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|(_, f)| f.level == level).count()
    }

    /// Number of distinct files with findings.
    pub fn files_with_findings(&self) -> usize {
        let mut paths: Vec<&str> = self.findings.iter().map(|(p, _)| p.as_str()).collect();
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
        format!(
            "{} ({}) in {}; {} scanned.",
            plural(self.findings.len(), "finding"),
            parts.join(", "),
            plural(self.files_with_findings(), "file"),
            plural(self.files_scanned, "file"),
        )
    }
}

/// Percent-encodes a relative path for a URI: unreserved characters and `/` stay, everything else
/// (spaces, `#`, `%`, non-ASCII bytes) becomes `%XX`.
pub fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding() {
        assert_eq!(encode_uri_path("a b/c#d%e.py"), "a%20b/c%23d%25e.py");
        assert_eq!(encode_uri_path("é.py"), "%C3%A9.py");
    }
}
