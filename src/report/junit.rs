//! The `junit` format: JUnit XML, the test report format Jenkins' JUnit plugin, GitLab's `junit`
//! report artifact and Zuul jobs that publish test results all read, so trunkguard's findings show up
//! as failed tests next to the project's unit tests.
//!
//! ```xml
//! <testsuites name="trunkguard" tests="7" failures="4" errors="0" skipped="0" time="0">
//!   <testsuite name="TG201 broad-except-swallowed" tests="1" failures="1" errors="0" skipped="0" time="0">
//!     <testcase name="plugin/rpc/server.py:61:13" classname="trunkguard.TG201" time="0">
//!       <failure message="Broad `except Exception` swallows the error…" type="warning">…</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! **One testsuite per rule that ran** (not per file): Jenkins files test cases under their
//! `classname`, split at the last dot into package and class, so `classname="trunkguard.TG201"` puts
//! every rule under a `trunkguard` package with one class per rule, and its history and trend graphs
//! stay one row per rule however many files a project has (a file path, full of dots and slashes, makes
//! a poor class name). Each finding is a failing test case named `path:line:column` (what a developer
//! clicks through to), with the message as the failure's `message`, the level as its `type`, and a body
//! giving the location, the enclosing function, the flagged code and any related locations. A rule
//! with no findings gets one passing test case, `no findings`, so the report is never empty and each
//! rule's clean runs are counted; with no rules at all there is a single passing `trunkguard` case.
//!
//! Notifications go into a final `trunkguard` suite: error-level ones (unreadable file, internal error)
//! as test cases with `<error>`, the others (syntax error, undecodable or skipped file) as `<skipped>`,
//! so a file that was not fully analysed is visible without failing the tests.
//!
//! The XML is UTF-8, with `&`, `<`, `>` and `"` escaped, and characters XML 1.0 forbids (NUL and
//! other control characters, U+FFFE, U+FFFF) replaced by U+FFFD. Times are 0: the report is
//! deterministic. In Jenkins: `trunkguard check . --output-format junit > trunkguard.xml` then
//! `junit 'trunkguard.xml'`; in GitLab: `artifacts: {reports: {junit: trunkguard.xml}}`; in Zuul, fetch
//! the file as a job artifact from the job's `post-run` playbook.

use super::{Report, xml_escape};
use crate::finding::{Finding, Level, Notification};
use std::fmt::Write;

/// One test case: its name, classname and, when not passing, the result element.
struct Case {
    name: String,
    classname: String,
    /// `(element, message, type, body)`: `failure`, `error` or `skipped`.
    outcome: Option<(&'static str, String, String, String)>,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, element: &str) -> usize {
        self.cases.iter().filter(|c| c.outcome.as_ref().is_some_and(|o| o.0 == element)).count()
    }
}

/// Renders the report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let suites = suites(report);
    let total = |element: &str| suites.iter().map(|s| s.count(element)).sum::<usize>();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"trunkguard\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
        total("failure"),
        total("error"),
        total("skipped"),
    );
    for suite in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\">",
            xml_escape(&suite.name),
            suite.cases.len(),
            suite.count("failure"),
            suite.count("error"),
            suite.count("skipped"),
        );
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                xml_escape(&case.name),
                xml_escape(&case.classname)
            );
            match &case.outcome {
                None => out.push_str("/>\n"),
                Some((element, message, kind, body)) => {
                    let _ = write!(out, ">\n      <{element} message=\"{}\"", xml_escape(message));
                    // JUnit's `skipped` carries a message only.
                    if *element != "skipped" {
                        let _ = write!(out, " type=\"{}\"", xml_escape(kind));
                    }
                    if body.is_empty() {
                        out.push_str("/>");
                    } else {
                        let _ = write!(out, ">{}</{element}>", text(body));
                    }
                    out.push_str("\n    </testcase>\n");
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes element content, keeping line breaks and tabs literal so the body reads as written.
fn text(s: &str) -> String {
    xml_escape(s).replace("&#10;", "\n").replace("&#9;", "\t").replace("&#13;", "")
}

fn suites(report: &Report) -> Vec<Suite> {
    let mut ids: Vec<&str> = report.rules.iter().map(|d| d.id.as_str()).collect();
    ids.extend(report.reported().map(|(_, f)| f.rule));
    ids.sort_unstable();
    ids.dedup();
    let mut suites: Vec<Suite> = ids
        .iter()
        .map(|id| {
            let classname = format!("trunkguard.{id}");
            let mut cases: Vec<Case> = report
                .reported()
                .filter(|(_, f)| f.rule == *id)
                .map(|(path, f)| failing(path, f, &classname))
                .collect();
            if cases.is_empty() {
                cases.push(Case { name: "no findings".into(), classname, outcome: None });
            }
            Suite { name: report.title(id), cases }
        })
        .collect();
    let notes: Vec<Case> = report.notifications.iter().map(notification).collect();
    if !notes.is_empty() || suites.is_empty() {
        let cases = if notes.is_empty() {
            vec![Case { name: "trunkguard".into(), classname: "trunkguard".into(), outcome: None }]
        } else {
            notes
        };
        suites.push(Suite { name: "trunkguard".into(), cases });
    }
    suites
}

fn failing(path: &str, f: &Finding, classname: &str) -> Case {
    let mut body = format!("{path}:{}:{} in {}\n\n", f.span.start.line, f.span.start.column, f.scope);
    for line in f.snippet.lines() {
        let _ = writeln!(body, "    {line}");
    }
    if !f.related.is_empty() {
        body.push('\n');
        for r in &f.related {
            let _ = writeln!(
                body,
                "{}:{}:{}: {}",
                r.path.as_deref().unwrap_or(path),
                r.span.start.line,
                r.span.start.column,
                r.message
            );
        }
    }
    Case {
        name: format!("{path}:{}:{}", f.span.start.line, f.span.start.column),
        classname: classname.to_string(),
        outcome: Some(("failure", f.message.clone(), f.level.as_str().to_string(), body)),
    }
}

fn notification(n: &Notification) -> Case {
    let name = match (&n.path, n.line) {
        (Some(path), Some(line)) => format!("{path}:{line}"),
        (Some(path), None) => path.clone(),
        (None, _) => n.id.to_string(),
    };
    let element = if n.level == Level::Error { "error" } else { "skipped" };
    Case {
        name,
        classname: format!("trunkguard.{}", n.id),
        outcome: Some((element, n.message.clone(), n.id.to_string(), String::new())),
    }
}
