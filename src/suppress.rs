//! In-source suppressions. trunkguard's own comments:
//!
//! - `# trunkguard: ignore[TG201]` or `ignore[TG201,TG301]` at the end of the flagged line, or alone on
//!   the line before it; `# trunkguard: ignore` (no list) silences every rule there;
//! - `# trunkguard: ignore-file[TG3]` in the comments before the module's first statement.
//!
//! And what the code already says to other tools, mapped by meaning: `# noqa: BLE001` (blind except)
//! silences TG201/TG202, `E722` (bare except) TG203, `S110`/`S112` (try-except-pass/continue) TG202;
//! `# pylint: disable=broad-exception-caught` / `broad-except` TG201/TG202, `bare-except` TG203;
//! `# nosec B110` / `B112` (bandit's try_except_pass/continue) TG202 and any other bandit test
//! nothing; a bare `# noqa` and a bare `# nosec` silence the whole line. `noqa` and `nosec` are
//! whole words (`# nosecurity`, `# noqa_thing` silence nothing).
//!
//! Suppressed findings are kept (SARIF `suppressions`), marked with the comment as justification. A
//! trunkguard directive that silences nothing is reported as TG001 unused-suppression: one that found
//! no finding of a rule that ran, one naming a rule trunkguard does not have (`ignore[TG999]`), and a
//! comment shaped like a directive but misspelt (`# trunkgaurd: ignore`, `ignor[…]`, `ignore-fle[…]`,
//! a missing colon). Only comments shaped like a directive — a word near `trunkguard`, a verb near
//! `ignore`/`ignore-file`, then `[`, the end of the comment or `--` — are taken for misspelt ones.

use crate::finding::{Finding, selects as matches};
use crate::finding::{edit_distance as levenshtein, nearest};

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

/// Bandit tests (`# nosec B110`, by id or plugin name) and the trunkguard rules they mean. Every other
/// bandit test means none (B105–B107 hardcoded passwords, B608 SQL expressions, …).
const BANDIT: &[(&str, &str, &[&str])] =
    &[("B110", "try_except_pass", &["TG202"]), ("B112", "try_except_continue", &["TG202"])];

/// The trunkguard rules a bandit test id or plugin name means.
fn bandit_rules(test: &str) -> impl Iterator<Item = &'static str> {
    BANDIT
        .iter()
        .filter(move |(id, name, _)| id.eq_ignore_ascii_case(test) || name.eq_ignore_ascii_case(test))
        .flat_map(|(_, _, rules)| rules.iter().copied())
}

/// Is `token` a bandit test: an id (`B608`) or a plugin name (`hardcoded_sql_expressions`)?
fn is_bandit_test(token: &str) -> bool {
    let id = token.len() == 4
        && token.as_bytes()[0].eq_ignore_ascii_case(&b'b')
        && token[1..].bytes().all(|b| b.is_ascii_digit());
    id || token.contains('_') && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Where `word` stands as a whole word in `text` (ASCII case ignored): the offset just after it.
fn whole_word(text: &str, word: &str) -> Option<usize> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(word.len() - 1)).find_map(|at| {
        let end = at + word.len();
        let hit = bytes[at..end].eq_ignore_ascii_case(word.as_bytes())
            && (at == 0 || !ident(bytes[at - 1]))
            && bytes.get(end).is_none_or(|&b| !ident(b));
        hit.then_some(end)
    })
}

fn selectors(list: &str) -> Vec<String> {
    list.split(',').map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect()
}

/// What one comment says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    /// A directive: the rule selectors it silences (empty: every rule), trunkguard's own or another
    /// tool's, file-level.
    Directive { rules: Vec<String>, own: bool, file: bool },
    /// Shaped like a trunkguard directive but not one: what is wrong (phrases) and, when the verb is
    /// recognisable, the directive meant.
    Misspelt { wrong: Vec<String>, meant: Option<String> },
}

const TOOL: &str = "trunkguard";

/// Most edits a word may be from [`TOOL`] to be taken for a misspelling of it.
const TOOL_EDITS: usize = 2;

/// Every comment this module acts on holds one of these (ignoring ASCII case), so that selective
/// parsing keeps the functions that have them (see `crate::prune`): other tools' markers, and three
/// disjoint pieces of `trunkguard` — a word at most [`TOOL_EDITS`] edits from it keeps one intact (an
/// edit breaks at most one piece).
pub const FRAGMENTS: &[&str] = &["noqa", "nosec", "pylint:", "trun", "kg", "uard"];
const VERBS: [&str; 2] = ["ignore", "ignore-file"];

/// The words of `text` (runs of ASCII letters) with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    (0..bytes.len())
        .filter(move |&i| bytes[i].is_ascii_alphabetic() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()))
        .map(move |i| {
            let len = bytes[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
            (i, &text[i..i + len])
        })
}

/// trunkguard's own directive in a comment, or a misspelt one (see the module documentation).
fn own_directive(text: &str) -> Option<Parsed> {
    for (at, word) in words(text) {
        let exact_tool = word.eq_ignore_ascii_case(TOOL);
        if !exact_tool && levenshtein(&word.to_ascii_lowercase(), TOOL) > TOOL_EDITS {
            continue;
        }
        let after = &text[at + word.len()..];
        let colon = after.trim_start().strip_prefix(':');
        let rest = colon.unwrap_or(after).trim_start();
        let verb_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_')).count();
        let (verb, tail) = rest.split_at(verb_len);
        let shaped = {
            let t = tail.trim_start();
            t.is_empty() || t.starts_with('[') || t.starts_with("--") || t.starts_with('#')
        };
        let exact_verb = VERBS.iter().find(|v| v.eq_ignore_ascii_case(verb)).copied();
        if exact_tool && colon.is_some() && exact_verb.is_some() {
            let file = exact_verb == Some("ignore-file");
            let list = tail.trim_start().strip_prefix('[').and_then(|r| r.split_once(']')).map(|(l, _)| selectors(l));
            return match (list, file) {
                (Some(rules), _) => Some(Parsed::Directive { rules, own: true, file }),
                // A bare `ignore` silences every rule on its line; `ignore-file` needs its list.
                (None, false) => Some(Parsed::Directive { rules: Vec::new(), own: true, file: false }),
                (None, true) => shaped.then(|| Parsed::Misspelt {
                    wrong: vec!["`ignore-file` has no rule list".into()],
                    meant: Some(format!("# {TOOL}: ignore-file[RULES]")),
                }),
            };
        }
        if verb.is_empty() || !shaped {
            continue;
        }
        let meant_verb = exact_verb.map(str::to_string).or_else(|| nearest(verb, VERBS));
        if !exact_tool && meant_verb.is_none() {
            continue;
        }
        let mut wrong = Vec::new();
        if !exact_tool {
            wrong.push(format!("`{word}` is misspelt"));
        }
        if colon.is_none() {
            wrong.push(format!("no `:` after `{word}`"));
        }
        match (exact_verb, &meant_verb) {
            (Some(_), _) => {}
            (None, Some(_)) => wrong.push(format!("`{verb}` is misspelt")),
            (None, None) => wrong.push(format!("`{verb}` is no directive")),
        }
        let list = tail.trim_start().strip_prefix('[').and_then(|r| r.split_once(']')).map(|(l, _)| l.trim());
        let meant = meant_verb.map(|v| match list {
            Some(list) => format!("# {TOOL}: {v}[{list}]"),
            None => format!("# {TOOL}: {v}"),
        });
        return Some(Parsed::Misspelt { wrong, meant });
    }
    None
}

/// Parses the directives in one comment.
fn parse(text: &str) -> Vec<Parsed> {
    let lower = text.to_ascii_lowercase();
    if !FRAGMENTS.iter().any(|f| lower.contains(f)) {
        return Vec::new(); // most comments: no directive of any tool, nor a misspelt one
    }
    let mut out: Vec<Parsed> = own_directive(text).into_iter().collect();
    let foreign = |rules: Vec<String>| Parsed::Directive { rules, own: false, file: false };
    if let Some(end) = whole_word(text, "noqa") {
        let rest = text[end..].trim_start();
        match rest.strip_prefix(':') {
            Some(codes) => {
                let mapped = mapped(codes.split([',', ' ']).map(str::trim));
                if !mapped.is_empty() {
                    out.push(foreign(mapped));
                }
            }
            None => out.push(foreign(Vec::new())),
        }
    }
    if let Some(at) = lower.find("pylint:") {
        let rest = &text[at + "pylint:".len()..];
        if let Some((_, codes)) = rest.split_once("disable=") {
            let mapped = mapped(codes.split(',').map(|c| c.split_whitespace().next().unwrap_or("")));
            if !mapped.is_empty() {
                out.push(foreign(mapped));
            }
        }
    }
    if let Some(end) = whole_word(text, "nosec") {
        // Like bandit: the tests named up to the next `#`; none named silences the whole line.
        let rest = text[end..].trim_start();
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        let tests: Vec<&str> =
            rest.split('#').next().unwrap_or("").split([',', ' ', '\t']).filter(|t| is_bandit_test(t)).collect();
        if tests.is_empty() {
            out.push(foreign(Vec::new()));
        } else {
            let mut rules: Vec<String> = tests.iter().flat_map(|t| bandit_rules(t)).map(String::from).collect();
            rules.sort();
            rules.dedup();
            if !rules.is_empty() {
                out.push(foreign(rules));
            }
        }
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

/// What is wrong with a trunkguard suppression comment (TG001 reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defect {
    /// The rule selectors that silenced nothing (`ALL`: the whole comment).
    Unused(Vec<String>),
    /// Selectors that name no trunkguard rule, each with the nearest that does (or the rules another
    /// tool's code means), if any.
    UnknownRules(Vec<(String, Option<String>)>),
    /// Not a directive as written: what is wrong (phrases: "`ignor` is misspelt"), and the directive
    /// meant when the verb is recognisable.
    Misspelt { wrong: Vec<String>, meant: Option<String> },
}

/// A trunkguard suppression comment that silences nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDirective {
    pub start_byte: usize,
    pub end_byte: usize,
    /// The comment, trimmed.
    pub directive: String,
    pub defect: Defect,
}

/// The rule `selector` probably meant when it names none: a rule id one edit away, or the rules
/// another tool's code means (`BLE001` → `TG201, TG202`).
fn meant_rules(selector: &str, known: &[&str]) -> Option<String> {
    let mut mapped = mapped(std::iter::once(selector));
    mapped.extend(bandit_rules(selector).map(String::from));
    if !mapped.is_empty() {
        return Some(mapped.join(", "));
    }
    known.iter().find(|id| levenshtein(selector, id) <= 1).map(|id| id.to_string())
}

/// Marks the findings the comments silence; returns the trunkguard directives that silence nothing.
/// `enabled` are the ids of the rules that ran (a directive for a rule that did not run is not
/// "unused"), `known` every rule id trunkguard has (a selector naming none of them is unknown).
pub fn apply<'f>(
    findings: impl Iterator<Item = &'f mut Finding>,
    comments: &[Comment],
    enabled: &[&str],
    known: &[&str],
) -> Vec<BadDirective> {
    let mut directives: Vec<Directive> = Vec::new();
    let mut bad = Vec::new();
    for (i, c) in comments.iter().enumerate() {
        for parsed in parse(&c.text) {
            let (rules, own, file) = match parsed {
                Parsed::Directive { rules, own, file } => (rules, own, file),
                Parsed::Misspelt { wrong, meant } => {
                    bad.push((i, Defect::Misspelt { wrong, meant }));
                    continue;
                }
            };
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
    for d in directives.iter().filter(|d| d.own) {
        let names = |s: &String, ids: &[&str]| s.as_str() == "ALL" || ids.iter().any(|id| matches(s, id));
        let unknown: Vec<(String, Option<String>)> =
            d.rules.iter().filter(|s| !names(s, known)).map(|s| (s.clone(), meant_rules(s, known))).collect();
        if !unknown.is_empty() {
            bad.push((d.comment, Defect::UnknownRules(unknown)));
        }
        let idle: Vec<String> = if d.rules.is_empty() {
            if d.used[0] { Vec::new() } else { vec!["ALL".into()] }
        } else {
            d.rules
                .iter()
                .zip(&d.used)
                .filter(|(s, used)| !**used && names(s, enabled))
                .map(|(s, _)| s.clone())
                .collect()
        };
        if !idle.is_empty() {
            bad.push((d.comment, Defect::Unused(idle)));
        }
    }
    bad.into_iter()
        .map(|(i, defect)| {
            let c = &comments[i];
            BadDirective {
                start_byte: c.start_byte,
                end_byte: c.end_byte,
                directive: c.text.trim().to_string(),
                defect,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(rules: &[&str], own: bool, file: bool) -> Parsed {
        Parsed::Directive { rules: rules.iter().map(|r| r.to_string()).collect(), own, file }
    }

    #[test]
    fn directives() {
        assert_eq!(parse("# trunkguard: ignore[TG201, tg301]"), [directive(&["TG201", "TG301"], true, false)]);
        assert_eq!(parse("# trunkguard: ignore-file[TG3]"), [directive(&["TG3"], true, true)]);
        assert_eq!(parse("# trunkguard: ignore"), [directive(&[], true, false)]);
        assert_eq!(parse("# trunkguard:ignore -- reason"), [directive(&[], true, false)]);
        assert_eq!(parse("# noqa: BLE001"), [directive(&["TG201", "TG202"], false, false)]);
        assert_eq!(parse("# noqa: E722,S110"), [directive(&["TG202", "TG203"], false, false)]);
        assert_eq!(parse("# noqa"), [directive(&[], false, false)]);
        assert_eq!(parse("# noqa: E501"), []);
        assert_eq!(parse("# pylint: disable=broad-except"), [directive(&["TG201", "TG202"], false, false)]);
        assert_eq!(parse("# pylint: disable=bare-except,unused-variable"), [directive(&["TG203"], false, false)]);
        assert_eq!(parse("# nosec"), [directive(&[], false, false)]);
        assert_eq!(parse("#nosec -- reviewed by the security team"), [directive(&[], false, false)]);
        assert_eq!(parse("# nosec B110"), [directive(&["TG202"], false, false)]);
        assert_eq!(parse("# nosec: B608, try_except_continue"), [directive(&["TG202"], false, false)]);
        assert_eq!(parse("# nosec B608"), [], "a bandit test with no trunkguard rule silences nothing");
        assert_eq!(parse("# nosec B105,B106"), []);
        assert_eq!(parse("# noqa:E722"), [directive(&["TG203"], false, false)]);
        // Whole words only.
        for quiet in ["# nosecurity", "# innosec", "# noqa_thing", "# nosec_check() is called", "# snoqa"] {
            assert_eq!(parse(quiet), [], "{quiet}");
        }
        assert_eq!(parse("# a plain comment about trunkguard"), []);
    }

    fn misspelt(wrong: &[&str], meant: Option<&str>) -> Vec<Parsed> {
        vec![Parsed::Misspelt { wrong: wrong.iter().map(|w| w.to_string()).collect(), meant: meant.map(Into::into) }]
    }

    fn comment(line: usize, text: &str) -> Comment {
        Comment { start_byte: 0, end_byte: 0, line, own_line: false, in_header: false, text: text.into() }
    }

    #[test]
    fn unknown_rules_are_not_rules_that_did_not_run() {
        let known = ["TG201", "TG202", "TG301"];
        let defects = |text: &str| -> Vec<Defect> {
            apply(std::iter::empty(), &[comment(1, text)], &["TG201"], &known).into_iter().map(|b| b.defect).collect()
        };
        // TG301 is a rule that did not run: not unused, not unknown.
        assert_eq!(defects("# trunkguard: ignore[TG301]"), []);
        assert_eq!(defects("# trunkguard: ignore[TG999]"), [Defect::UnknownRules(vec![("TG999".into(), None)])]);
        assert_eq!(
            defects("# trunkguard: ignore[TG2O1, TG201]"),
            [Defect::UnknownRules(vec![("TG2O1".into(), Some("TG201".into()))]), Defect::Unused(vec!["TG201".into()])]
        );
        assert_eq!(
            defects("# trunkguard: ignore[BLE001]"),
            [Defect::UnknownRules(vec![("BLE001".into(), Some("TG201, TG202".into()))])]
        );
        assert_eq!(
            defects("# trunkguard: ignore[TG9, ALL]"),
            [Defect::UnknownRules(vec![("TG9".into(), None)]), Defect::Unused(vec!["ALL".into()])]
        );
        // Other tools' comments are theirs: never reported.
        assert_eq!(defects("# noqa: BLE001"), []);
    }

    /// Every word within [`TOOL_EDITS`] edits of `trunkguard` (over a small alphabet) holds a fragment.
    #[test]
    fn fragments_cover_every_near_misspelling() {
        let alphabet = ['a', 'k', 'u', 'x'];
        let edits = |w: &str| -> Vec<String> {
            let chars: Vec<char> = w.chars().collect();
            let mut out = Vec::new();
            for i in 0..=chars.len() {
                for &c in &alphabet {
                    let mut v = chars.clone();
                    v.insert(i, c);
                    out.push(v.into_iter().collect());
                    if i < chars.len() {
                        let mut v = chars.clone();
                        v[i] = c;
                        out.push(v.into_iter().collect());
                    }
                }
                if i + 1 < chars.len() {
                    let mut v = chars.clone();
                    v.swap(i, i + 1);
                    out.push(v.into_iter().collect());
                }
                if i < chars.len() {
                    let mut v = chars.clone();
                    v.remove(i);
                    out.push(v.into_iter().collect());
                }
            }
            out
        };
        for once in edits(TOOL) {
            for word in edits(&once) {
                if levenshtein(&word, TOOL) <= TOOL_EDITS {
                    assert!(FRAGMENTS.iter().any(|f| word.contains(f)), "{word}");
                }
            }
        }
    }

    #[test]
    fn misspelt_directives() {
        let cases: [(&str, &str, Option<&str>); 7] = [
            ("# trunkguard: ignor[TG201]", "`ignor` is misspelt", Some("# trunkguard: ignore[TG201]")),
            ("# trunkguard: ignore-fle[TG3]", "`ignore-fle` is misspelt", Some("# trunkguard: ignore-file[TG3]")),
            ("# trunkgaurd: ignore", "`trunkgaurd` is misspelt", Some("# trunkguard: ignore")),
            ("# TrunkGuard ignore[TG2] -- ok", "no `:` after `TrunkGuard`", Some("# trunkguard: ignore[TG2]")),
            ("# trunkguard: disable[TG201]", "`disable` is no directive", None),
            ("# trunkguard: ignored", "`ignored` is misspelt", Some("# trunkguard: ignore")),
            ("# trunkguard: ignore-file", "`ignore-file` has no rule list", Some("# trunkguard: ignore-file[RULES]")),
        ];
        for (comment, wrong, meant) in cases {
            assert_eq!(parse(comment), misspelt(&[wrong], meant), "{comment}");
        }
        assert_eq!(parse("# trunkguard: ignore [TG201]"), [directive(&["TG201"], true, false)]);
        // Ordinary comments, even about trunkguard, are not directives.
        for quiet in [
            "# trunkguard: this is fine",
            "# trunkguard ignores this on purpose",
            "# trunkguard: ignored because the agent retries",
            "# truncated guard: ignore the rest",
            "# guard: ignore[x]",
            "# the trunk guard ignores it",
            "# ignore everything below",
            "# trunkguard: disable the alarm when done",
            "# see the trunkguard: ignore-file docs",
        ] {
            assert_eq!(parse(quiet), [], "{quiet}");
        }
    }
}
