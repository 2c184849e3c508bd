//! The `github` format: GitHub Actions workflow commands, one line per finding, which the Actions runner
//! turns into annotations on the pull request's diff and the run's summary — no SARIF upload, no
//! `security-events` permission needed.
//!
//! ```text
//! ::warning file=plugin/rpc/server.py,line=61,endLine=61,col=13,endColumn=35,title=TG201 broad-except-swallowed::Broad `except Exception` swallows the error…
//! ```
//!
//! - The command is the level: error → `::error`, warning → `::warning`, note → `::notice`.
//! - `file` is the path relative to the project root (the configuration file's directory, else the git
//!   root), which is what the runner resolves against the checkout — from whatever directory trunkguard
//!   ran.
//! - `line`/`endLine` are 1-based; `col`/`endColumn` are 1-based UTF-16 columns (end exclusive, as in
//!   SARIF) and are written only when the finding starts and ends on the same line, because GitHub
//!   supports columns only on single-line annotations.
//! - `title` is the rule id and name; the message is the finding's message.
//! - Escaping is the Actions runner's: in the message `%` → `%25`, CR → `%0D`, LF → `%0A`; in property
//!   values additionally `:` → `%3A` and `,` → `%2C`. Other control characters (ESC, BEL…), for which
//!   the runner has no escape, are shown visibly (`␛`, see `escape`), so no file name or message can
//!   start a line of its own or send terminal sequences to the log viewer.
//! - Notifications (unreadable files, syntax errors, skipped files) become `::error`/`::warning`/
//!   `::notice` commands titled `trunkguard <id>`, with `file`/`line` when known.
//!
//! In a workflow: `- run: trunkguard check . --output-format github`. The step fails when there are
//! findings (exit status 1); GitHub shows at most a limited number of annotations per step, so keep SARIF
//! upload for the full list.

use super::Report;
use crate::finding::{Finding, Level, Notification};
use std::fmt::Write;

/// Renders one workflow command per finding, then one per notification.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for (path, f) in report.reported() {
        out.push_str(&finding(report, path, f));
        out.push('\n');
    }
    for n in &report.notifications {
        out.push_str(&notification(report, n));
        out.push('\n');
    }
    out
}

fn command(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    }
}

fn finding(report: &Report, path: &str, f: &Finding) -> String {
    let end_line = super::last_line(&f.span);
    let mut props = format!("file={},line={},endLine={end_line}", property(report.rel(path)), f.span.start.line);
    if f.span.start.line == f.span.end.line {
        let _ = write!(props, ",col={},endColumn={}", f.span.start.column, f.span.end.column);
    }
    let _ = write!(props, ",title={}", property(&report.title(f.rule)));
    format!("::{} {props}::{}", command(f.level), data(&f.message))
}

fn notification(report: &Report, n: &Notification) -> String {
    let mut props = Vec::new();
    if let Some(path) = &n.path {
        props.push(format!("file={}", property(report.rel(path))));
    }
    if let Some(line) = n.line {
        props.push(format!("line={line}"));
    }
    props.push(format!("title={}", property(&format!("trunkguard {}", n.id))));
    format!("::{} {}::{}", command(n.level), props.join(","), data(&n.message))
}

/// Escapes a command's message (the part after the second `::`): the runner's own escapes for `%`, CR
/// and LF (which it turns back into those characters), then every other control character shown
/// visibly (see `escape`), since the runner has no escape for them and the log viewer obeys ANSI
/// sequences.
pub fn data(s: &str) -> String {
    crate::escape::visible(&s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")).into_owned()
}

/// Escapes a property value (`file=…`, `title=…`).
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_expects() {
        assert_eq!(data("100% done\r\nnext: a,b"), "100%25 done%0D%0Anext: a,b");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(property("x\n::error file=y.py::owned\x1b[2J"), "x%0A%3A%3Aerror file=y.py%3A%3Aowned␛[2J");
    }
}
