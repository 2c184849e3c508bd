//! The CI/review report formats (`github`, `junit`, `gitlab`, `review`), called through the library on
//! reports built by scanning the bundled example, and checked against what their consumers read.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use trunkguard::finding::{Finding, Level, Notification, Related, Span};
use trunkguard::report::{Report, github, gitlab, junit, review};
use trunkguard::source::Position;
use trunkguard::{ScanOptions, discover, docs, scan, selection};

/// Scans `target` (relative to the crate root) with every rule, as `check --select ALL` would.
fn report_of(target: &str) -> Report {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let excludes = discover::exclude_set(&[]).unwrap();
    let found = discover::discover(&[root.join(target)], &excludes, root).unwrap();
    let all = selection::resolve(&["ALL".into()], &[]).unwrap();
    let result =
        scan(&found.files, &all, &Default::default(), &ScanOptions { threads: Some(2), ..Default::default() }).unwrap();
    let mut report = Report::new(result.findings);
    report.notifications = result.notifications;
    report.rules = all.iter().filter_map(|r| docs::get(r.id())).collect();
    report.files_scanned = result.files_scanned;
    report.functions_scanned = result.functions_scanned;
    report.srcroot = root.to_path_buf();
    report
}

fn example() -> Report {
    let report = report_of("fixtures/example");
    assert!(report.all().count() >= 3, "the example should have findings: {:?}", report.all().collect::<Vec<_>>());
    report
}

fn span(line: usize, column: usize, end_line: usize, end_column: usize) -> Span {
    Span {
        start_byte: 0,
        end_byte: 0,
        start: Position { line, column },
        end: Position { line: end_line, column: end_column },
    }
}

/// A report with one hand-made finding whose path and message need every kind of escaping.
fn hostile() -> Report {
    let finding = Finding {
        rule: "TG201",
        level: Level::Warning,
        message: "100% of `except Exception:` <paths> & \"quotes\"\r\nswallow, a NUL \0 and a bell \u{7}.".into(),
        span: span(3, 5, 3, 22),
        snippet: "except Exception:\u{1b}[0m]]>".into(),
        lines: vec!["    except Exception:".into()],
        scope: "Plugin.<lambda>".into(),
        related: vec![Related { span: span(4, 9, 4, 13), message: "a \u{0} here".into(), path: None }],
        flow: Vec::new(),
        properties: BTreeMap::new(),
        fingerprint: "0123456789abcdef:1".into(),
        suppressed: None,
        baseline: None,
        fix: None,
    };
    let note = Notification {
        id: "syntax-error",
        level: Level::Warning,
        path: Some("weird:dir,x/b.py".into()),
        line: Some(7),
        message: "invalid syntax: `)`\nhere".into(),
    };
    let mut report = Report::new(vec![("weird:dir,x/a%b.py".into(), finding)]);
    report.notifications = vec![note];
    report.rules = vec![docs::get("TG201").unwrap()];
    report.files_scanned = 2;
    report.srcroot = PathBuf::from("/");
    report
}

// ---------------------------------------------------------------------------------------------- github

/// Splits a workflow command into (command, properties, message), undoing nothing.
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("not a workflow command: {line}"));
    let (head, message) = rest.split_once("::").unwrap_or_else(|| panic!("no `::` before the message: {line}"));
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("property without `=`: {p} in {line}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    (command.to_string(), props, message.to_string())
}

fn unescape(s: &str) -> String {
    s.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
}

#[test]
fn github_escapes_properties_and_data_as_the_runner_does() {
    let out = github::render(&hostile());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0],
        "::warning file=weird%3Adir%2Cx/a%25b.py,line=3,endLine=3,col=5,endColumn=22,\
         title=TG201 broad-except-swallowed::100%25 of `except Exception:` <paths> & \"quotes\"%0D%0Aswallow, \
         a NUL ␀ and a bell ␇."
    );
    assert_eq!(
        lines[1],
        "::warning file=weird%3Adir%2Cx/b.py,line=7,title=trunkguard syntax-error::invalid syntax: `)`%0Ahere"
    );
    let (_, props, message) = parse_command(lines[0]);
    assert_eq!(unescape(&props[0].1), "weird:dir,x/a%b.py");
    // The runner's escapes round-trip; the other control characters are shown, never sent.
    let message_in = hostile().all().next().unwrap().1.message.clone();
    assert_eq!(unescape(&message), trunkguard::escape::visible(&message_in).replace("␍␊", "\r\n"));
}

#[test]
fn github_has_one_command_per_finding_with_level_and_location() {
    let report = example();
    let out = github::render(&report);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), report.all().count() + report.notifications.len());
    for ((path, f), line) in report.all().zip(&lines) {
        let (command, props, message) = parse_command(line);
        let want = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        assert_eq!(command, want, "{line}");
        let props: BTreeMap<_, _> = props.into_iter().collect();
        assert_eq!(unescape(&props["file"]), *path);
        assert_eq!(props["line"], f.span.start.line.to_string());
        assert!(props.contains_key("endLine"));
        if f.span.start.line == f.span.end.line {
            assert_eq!(props["col"], f.span.start.column.to_string());
            assert_eq!(props["endColumn"], f.span.end.column.to_string());
        } else {
            assert!(!props.contains_key("col"), "columns only on single-line annotations: {line}");
        }
        let doc = docs::get(f.rule).unwrap();
        assert_eq!(unescape(&props["title"]), format!("{} {}", doc.id, doc.name));
        assert_eq!(unescape(&message), f.message);
    }
}

#[test]
fn github_notice_for_notes_and_notifications_without_a_file() {
    let mut report = hostile();
    report.findings_mut()[0].1.level = Level::Note;
    report.notifications[0] =
        Notification { id: "internal-error", level: Level::Error, path: None, line: None, message: "boom".into() };
    let out = github::render(&report);
    assert!(out.starts_with("::notice file="), "{out}");
    assert!(out.ends_with("::error title=trunkguard internal-error::boom\n"), "{out}");
}

// ----------------------------------------------------------------------------------------------- junit

/// A parsed XML element: name, attributes (entities resolved), children and text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn all(&self, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            if e.name == name {
                out.push(e);
            }
            stack.extend(e.children.iter().rev());
        }
        out
    }
    fn count(&self, attr: &str) -> usize {
        self.attrs[attr].parse().unwrap_or_else(|_| panic!("{attr} is not a count on <{}>", self.name))
    }
}

/// A small XML 1.0 well-formedness checker for what the JUnit writer can produce (declaration, elements,
/// attributes, text, the predefined entities and character references; no DTD, comments or CDATA).
/// Panics with the reason on anything malformed, including characters XML 1.0 forbids.
fn parse_xml(doc: &str) -> Element {
    for c in doc.chars() {
        assert!(trunkguard::report::xml_char(c), "character U+{:04X} is not allowed in XML 1.0", c as u32);
    }
    let rest = doc.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>").expect("XML declaration");
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut i = 0;
    let b = rest;
    while i < b.len() {
        let tail = &b[i..];
        if let Some(tag) = tail.strip_prefix("</") {
            let end = tag.find('>').expect("unterminated end tag");
            let name = &tag[..end];
            let done = stack.pop().unwrap();
            assert_eq!(done.name, name, "mismatched end tag");
            stack.last_mut().expect("end tag without start").children.push(done);
            i += 2 + end + 1;
        } else if let Some(tag) = tail.strip_prefix('<') {
            let end = tag.find('>').expect("unterminated start tag");
            let inner = &tag[..end];
            let (inner, empty) = match inner.strip_suffix('/') {
                Some(s) => (s, true),
                None => (inner, false),
            };
            let mut parts = inner.splitn(2, char::is_whitespace);
            let name = parts.next().unwrap().to_string();
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "bad name");
            let mut attrs = BTreeMap::new();
            let mut a = parts.next().unwrap_or("").trim_start();
            while !a.is_empty() {
                let (key, after) = a.split_once("=\"").unwrap_or_else(|| panic!("bad attribute in <{name} {a}"));
                let close = after.find('"').expect("unterminated attribute value");
                let value = &after[..close];
                assert!(!value.contains('<'), "`<` in attribute value");
                assert!(attrs.insert(key.trim().to_string(), entities(value)).is_none(), "duplicate attribute");
                a = after[close + 1..].trim_start();
            }
            let element = Element { name, attrs, ..Element::default() };
            if empty {
                stack.last_mut().unwrap().children.push(element);
            } else {
                stack.push(element);
            }
            i += 1 + end + 1;
        } else {
            let end = tail.find('<').unwrap_or(tail.len());
            let text = entities(&tail[..end]);
            assert!(!tail[..end].contains("]]>"), "`]]>` in text");
            if stack.len() == 1 {
                assert!(text.trim().is_empty(), "text outside the root element");
            }
            stack.last_mut().unwrap().text.push_str(&text);
            i += end;
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut top = stack.pop().unwrap();
    assert_eq!(top.children.len(), 1, "exactly one root element");
    top.children.pop().unwrap()
}

/// Resolves entity and character references, panicking on a bare `&` or an unknown entity.
fn entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("`&` without `;`") + at;
        let name = &rest[at + 1..end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = name.strip_prefix('#').unwrap_or_else(|| panic!("unknown entity &{name};"));
                let code = match n.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => n.parse(),
                }
                .expect("bad character reference");
                let c = char::from_u32(code).expect("character reference to a non-character");
                assert!(trunkguard::report::xml_char(c), "character reference to a forbidden character");
                c
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn junit_is_well_formed_and_counts_match_the_findings() {
    let report = example();
    let root = parse_xml(&junit::render(&report));
    assert_eq!(root.name, "testsuites");
    let suites = root.all("testsuite");
    let ids: BTreeSet<&str> = report.rules.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(suites.len(), ids.len(), "one suite per rule that ran");
    let cases = root.all("testcase");
    let failures = root.all("failure");
    assert_eq!(failures.len(), report.all().count());
    assert_eq!(root.count("failures"), report.all().count());
    assert_eq!(root.count("errors"), 0);
    assert_eq!(root.count("tests"), cases.len());
    let rules_with_findings: BTreeSet<&str> = report.all().map(|(_, f)| f.rule).collect();
    assert_eq!(cases.len(), report.all().count() + ids.len() - rules_with_findings.len());
    for suite in &suites {
        let suite_cases = suite.all("testcase");
        assert_eq!(suite.count("tests"), suite_cases.len());
        assert_eq!(suite.count("failures"), suite.all("failure").len());
        assert!(!suite_cases.is_empty(), "a suite is never empty");
    }
    // Suites are in rule order, findings in source order within each.
    let mut by_rule: Vec<&(String, Finding)> = report.all().collect();
    by_rule.sort_by_key(|(_, f)| f.rule);
    for ((path, f), failure) in by_rule.into_iter().zip(&failures) {
        assert_eq!(failure.attrs["message"], f.message);
        assert_eq!(failure.attrs["type"], f.level.as_str());
        assert!(failure.text.starts_with(&format!("{path}:{}:{}", f.span.start.line, f.span.start.column)));
        assert!(failure.text.contains(f.snippet.lines().next().unwrap()), "{}", failure.text);
    }
    let clean = root.all("testsuite").into_iter().find(|s| s.count("failures") == 0).expect("a rule without findings");
    assert_eq!(clean.all("testcase")[0].attrs["name"], "no findings");
}

#[test]
fn junit_escapes_markup_and_replaces_characters_xml_forbids() {
    let report = hostile();
    let xml = junit::render(&report);
    assert!(!xml.contains('\0') && !xml.contains('\u{7}') && !xml.contains('\u{1b}'), "{xml}");
    let root = parse_xml(&xml);
    let failure = &root.all("failure")[0];
    assert_eq!(
        failure.attrs["message"],
        "100% of `except Exception:` <paths> & \"quotes\"\r\nswallow, a NUL \u{FFFD} and a bell \u{FFFD}."
    );
    assert!(failure.text.contains("except Exception:\u{FFFD}[0m]]>"), "{}", failure.text);
    let skipped = root.all("skipped");
    assert_eq!(skipped.len(), 1, "a syntax error is reported as skipped");
    assert_eq!(root.count("skipped"), 1);
    assert_eq!(root.all("testcase").last().unwrap().attrs["name"], "weird:dir,x/b.py:7");
}

#[test]
fn junit_reports_unreadable_files_as_errors() {
    let mut report = hostile();
    report.notifications.push(Notification {
        id: "read-error",
        level: Level::Error,
        path: Some("gone.py".into()),
        line: None,
        message: "cannot read file: permission denied".into(),
    });
    let root = parse_xml(&junit::render(&report));
    assert_eq!(
        (root.count("tests"), root.count("failures"), root.count("errors"), root.count("skipped")),
        (3, 1, 1, 1)
    );
    let error = &root.all("error")[0];
    assert_eq!(error.attrs["type"], "read-error");
    assert_eq!(error.attrs["message"], "cannot read file: permission denied");
}

#[test]
fn junit_is_never_empty() {
    let mut report = hostile();
    report.findings_mut().clear();
    report.notifications.clear();
    report.rules.clear();
    let root = parse_xml(&junit::render(&report));
    assert_eq!(root.count("tests"), 1);
    assert_eq!(root.all("testcase").len(), 1);
    let clean = report_of("fixtures/example/trunk_plugin/constants.py");
    let root = parse_xml(&junit::render(&clean));
    assert_eq!(root.count("failures"), 0);
    assert_eq!(root.count("tests"), clean.rules.len());
}

// ---------------------------------------------------------------------------------------------- gitlab

#[test]
fn gitlab_is_a_code_quality_array_with_unique_fingerprints() {
    let report = example();
    let issues: Value = serde_json::from_str(&gitlab::render(&report)).expect("valid JSON");
    let issues = issues.as_array().expect("a JSON array");
    assert_eq!(issues.len(), report.all().count());
    let mut fingerprints = BTreeSet::new();
    for ((path, f), issue) in report.all().zip(issues) {
        let keys: BTreeSet<&str> = issue.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["description", "check_name", "fingerprint", "severity", "location"]));
        assert_eq!(issue["check_name"], f.rule);
        assert!(issue["description"].as_str().unwrap().ends_with(&f.message));
        let want = match f.level {
            Level::Error => "critical",
            Level::Warning => "major",
            Level::Note => "minor",
        };
        assert_eq!(issue["severity"], want);
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], path.as_str());
        let begin = issue["location"]["lines"]["begin"].as_u64().unwrap();
        let end = issue["location"]["lines"]["end"].as_u64().unwrap();
        assert_eq!(begin as usize, f.span.start.line);
        assert!(begin >= 1 && end >= begin);
        let fp = issue["fingerprint"].as_str().unwrap();
        assert!(fp.starts_with(&f.fingerprint));
        assert!(fingerprints.insert(fp.to_string()), "duplicate fingerprint {fp}");
    }
    assert!(issues.iter().any(|i| i["severity"] == "critical") && issues.iter().any(|i| i["severity"] == "major"));
}

#[test]
fn gitlab_keeps_fingerprints_unique_and_reports_file_notifications() {
    let mut report = hostile();
    let twin = report.findings_mut()[0].clone();
    report.findings_mut().push(twin);
    let issues: Value = serde_json::from_str(&gitlab::render(&report)).unwrap();
    let fps: BTreeSet<&str> = issues.as_array().unwrap().iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fps.len(), 3);
    assert_eq!(issues[2]["check_name"], "syntax-error");
    assert_eq!(issues[2]["location"]["lines"]["begin"], 7);
    let clean = report_of("fixtures/example/trunk_plugin/constants.py");
    assert_eq!(gitlab::render(&clean).trim(), "[]");
}

// ---------------------------------------------------------------------------------------------- review

#[test]
fn review_of_the_example() {
    let report = example();
    let out = review::render(&report);
    assert!(out.contains("**1. "), "{out}");
    assert!(out.contains("**Solution:**"));
    assert!(out.contains("**Verdict**"));
    assert!(!out.contains("No security defects detected"));
    // The flagged code is quoted, titles are the finding's own, and the verdict says what to fix first.
    assert!(out.contains("- Code:\n\n  ```python\n"), "{out}");
    assert!(out.contains("**1. `context.elevated()` in `update_subport_bindings`"), "{out}");
    let verdict = &out[out.find("**Verdict**").unwrap()..];
    assert!(verdict.contains("Fix first:\n\n1. error "), "{verdict}");
    insta::assert_snapshot!("review_example", out);
}

#[test]
fn review_of_a_clean_file_says_no_security_defects_detected() {
    let report = report_of("fixtures/example/trunk_plugin/constants.py");
    assert!(report.all().next().is_none());
    let out = review::render(&report);
    assert!(out.contains("**Verdict**\n\nNo security defects detected in 1 file reviewed with "), "{out}");
    insta::assert_snapshot!("review_clean", out);
}

#[test]
fn review_names_lines_functions_and_unreviewed_files() {
    let mut report = hostile();
    report.findings_mut()[0].1.span = span(3, 5, 6, 1);
    let out = review::render(&report);
    assert!(out.contains("(Lines 3–5):**"), "{out}");
    assert!(
        out.contains("- In `Plugin.<lambda>`: 100% of `except Exception:` &lt;paths> & \"quotes\" swallow,"),
        "{out}"
    );
    assert!(out.contains("  - Line 4: a ␀ here"), "{out}");
    assert!(
        out.contains("## Not fully reviewed\n\n- `weird:dir,x/b.py` (line 7), syntax-error: invalid syntax: `)` here")
    );
    assert!(out.contains("1 file not fully reviewed (listed above)."), "{out}");
    assert!(out.contains("| TG2 exception handling | 0 | 1 | 0 |"), "{out}");
    assert_eq!(out, review::render(&report), "deterministic");
}
