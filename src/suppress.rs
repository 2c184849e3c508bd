//! In-source suppressions. trunkguard's own comments:
//!
//! - `# trunkguard: ignore[TG201]` or `ignore[TG201,TG301]` at the end of the flagged line, or alone on
//!   the line before it; `# trunkguard: ignore` (no list) silences every rule there;
//! - `# trunkguard: ignore-file[TG3]` in the comments before the module's first statement.
//!
//! And what the code already says to other tools, mapped by meaning: `# noqa: BLE001` (blind except)
//! silences TG201/TG202, `E722` (bare except) TG203, `S110`/`S112` (try-except-pass/continue) TG202;
//! `# pylint: disable=broad-exception-caught` / `broad-except` TG201/TG202, `bare-except` TG203;
//! a bare `# noqa` and `# nosec` silence the whole line.
//!
//! Suppressed findings are kept (SARIF `suppressions`), marked with the comment as justification. A
//! trunkguard directive that silenced nothing is reported as TG001 unused-suppression.

use crate::finding::{Finding, selects as matches};

/// A comment of the file, as the walk found it.
#[derive(Debug, Clone)]
pub struct Comment {
    pub start_byte: usize,
    pub end_byte: usize,
    /// 1-based line.
    pub line: usize,
    /// Alone on its line (only whitespace before it).
    pub own_line: bool,
    /// Before the module's first statement (file-level directives live here).
    pub in_header: bool,
    pub text: String,
}

#[derive(Debug, Clone)]
struct Directive {
    /// Index of the comment it came from.
    comment: usize,
    /// Line of findings it applies to (None: the whole file).
    line: Option<usize>,
    /// Rule selectors (ids or prefixes) it silences; empty: every rule.
    rules: Vec<String>,
    /// trunkguard's own directive (checked for being unused), or another tool's.
    own: bool,
    used: Vec<bool>,
}

/// Foreign rule codes and the trunkguard rules they mean.
const FOREIGN: &[(&str, &[&str])] = &[
    ("BLE001", &["TG201", "TG202"]),
    ("E722", &["TG203"]),
    ("S110", &["TG202"]),
    ("S112", &["TG202"]),
    ("broad-exception-caught", &["TG201", "TG202"]),
    ("broad-except", &["TG201", "TG202"]),
    ("bare-except", &["TG203"]),
];

fn selectors(list: &str) -> Vec<String> {
    list.split(',').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect()
}

/// Parses the directives in one comment: (rule selectors, trunkguard's own, file-level).
fn parse(text: &str) -> Vec<(Vec<String>, bool, bool)> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find("trunkguard:") {
        let rest = text[at + "trunkguard:".len()..].trim_start();
        let bracketed = |r: &str| r.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(l, _)| selectors(l));
        if let Some(r) = rest.strip_prefix("ignore-file") {
            out.extend(bracketed(r).map(|list| (list, true, true)));
        } else if let Some(r) = rest.strip_prefix("ignore") {
            match bracketed(r) {
                Some(list) => out.push((list, true, false)),
                None if !r.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') => {
                    out.push((Vec::new(), true, false))
                }
                None => {}
            }
        }
    }
    if let Some(at) = lower.find("noqa") {
        let rest = text[at + 4..].trim_start();
        match rest.strip_prefix(':') {
            Some(codes) => {
                let mapped = mapped(codes.split([',', ' ']).map(str::trim));
                if !mapped.is_empty() {
                    out.push((mapped, false, false));
                }
            }
            None => out.push((Vec::new(), false, false)),
        }
    }
    if let Some(at) = lower.find("pylint:") {
        let rest = &text[at + "pylint:".len()..];
        if let Some((_, codes)) = rest.split_once("disable=") {
            let mapped = mapped(codes.split(',').map(|c| c.split_whitespace().next().unwrap_or("")));
            if !mapped.is_empty() {
                out.push((mapped, false, false));
            }
        }
    }
    if lower.contains("nosec") {
        out.push((Vec::new(), false, false));
    }
    out
}

fn mapped<'a>(codes: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut rules: Vec<String> = codes
        .flat_map(|c| FOREIGN.iter().filter(move |(code, _)| *code == c).flat_map(|(_, r)| r.iter()))
        .map(|r| r.to_string())
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// A trunkguard directive that silenced nothing: the comment and the selectors that went unused
/// (empty: the whole directive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    pub start_byte: usize,
    pub end_byte: usize,
    pub directive: String,
    pub selectors: Vec<String>,
}

/// Marks the findings the comments silence; returns trunkguard directives that silenced nothing.
/// `enabled` are the ids of the rules that ran (a directive for a rule that did not run is not "unused").
pub fn apply<'f>(
    findings: impl Iterator<Item = &'f mut Finding>,
    comments: &[Comment],
    enabled: &[&str],
) -> Vec<Unused> {
    let mut directives: Vec<Directive> = Vec::new();
    for (i, c) in comments.iter().enumerate() {
        for (rules, own, file) in parse(&c.text) {
            // A file-level directive after the first statement applies to nothing (and so is unused).
            let line = match (file, c.in_header, c.own_line) {
                (true, true, _) => None,
                (true, false, _) => Some(0),
                (false, _, true) => Some(c.line + 1),
                (false, _, false) => Some(c.line),
            };
            let used = vec![false; rules.len().max(1)];
            directives.push(Directive { comment: i, line, rules, own, used });
        }
    }
    for f in findings {
        for d in directives.iter_mut() {
            if d.line.is_some_and(|l| l != f.span.start.line) {
                continue;
            }
            let hit = if d.rules.is_empty() { Some(0) } else { d.rules.iter().position(|s| matches(s, f.rule)) };
            let Some(k) = hit else { continue };
            d.used[k] = true;
            if f.suppressed.is_none() {
                f.suppressed = Some(comments[d.comment].text.trim().to_string());
            }
        }
    }
    let mut unused = Vec::new();
    for d in directives.iter().filter(|d| d.own) {
        let c = &comments[d.comment];
        let idle: Vec<String> = if d.rules.is_empty() {
            if d.used[0] { Vec::new() } else { vec!["ALL".into()] }
        } else {
            d.rules
                .iter()
                .zip(&d.used)
                .filter(|(s, used)| {
                    let ran = s.as_str() == "ALL" || enabled.iter().any(|id| matches(s, id));
                    !**used && ran
                })
                .map(|(s, _)| s.clone())
                .collect()
        };
        if !idle.is_empty() {
            unused.push(Unused {
                start_byte: c.start_byte,
                end_byte: c.end_byte,
                directive: c.text.trim().to_string(),
                selectors: idle,
            });
        }
    }
    unused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        assert_eq!(parse("# trunkguard: ignore[TG201, tg301]"), [(vec!["TG201".into(), "TG301".into()], true, false)]);
        assert_eq!(parse("# trunkguard: ignore-file[TG3]"), [(vec!["TG3".into()], true, true)]);
        assert_eq!(parse("# trunkguard: ignore"), [(vec![], true, false)]);
        assert_eq!(parse("# noqa: BLE001"), [(vec!["TG201".into(), "TG202".into()], false, false)]);
        assert_eq!(parse("# noqa: E722,S110"), [(vec!["TG202".into(), "TG203".into()], false, false)]);
        assert_eq!(parse("# noqa"), [(vec![], false, false)]);
        assert_eq!(parse("# noqa: E501"), []);
        assert_eq!(parse("# pylint: disable=broad-except"), [(vec!["TG201".into(), "TG202".into()], false, false)]);
        assert_eq!(parse("# pylint: disable=bare-except,unused-variable"), [(vec!["TG203".into()], false, false)]);
        assert_eq!(parse("# nosec B110"), [(vec![], false, false)]);
        assert_eq!(parse("# a plain comment about trunkguard"), []);
    }
}
