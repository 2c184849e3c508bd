//! The `review` format: a Markdown security review in the shape of a manual code review — its scope
//! (files, the paths given, the rules), per file a heading naming the file and the functions with
//! findings, then numbered findings, each with a finding-specific title and its lines, the flagged code
//! quoted, an explanation naming the function, the related locations and a **Solution**; the opt-in
//! rules that did not run but would have had something to say (*Not run*); and a closing **Verdict**
//! with the findings to fix first (errors before warnings, then by the rule's security severity) and
//! the counts per rule family and level (or "No security defects detected").
//!
//! ```markdown
//! ## `plugin/rpc/server.py`
//!
//! 1 finding in `TrunkSkeleton._process_trunk_subport_bindings`.
//!
//! **1. Broad `except Exception` swallows the error (Line 61):**
//!
//! - Rule: TG201 broad-except-swallowed (warning, CWE-396).
//! - In `TrunkSkeleton._process_trunk_subport_bindings`: Broad `except Exception` swallows the error…
//! - **Solution:** Catch the exceptions the code expects…
//!
//! **Verdict**
//!
//! 1 finding (0 errors, 1 warning) in 1 file; 5 files scanned.
//!
//! | Family | Errors | Warnings | Notes |
//! |---|--:|--:|--:|
//! | TG2 exception handling | 0 | 1 | 0 |
//! | Total | 0 | 1 | 0 |
//! ```
//!
//! Findings are numbered per file in source order; a span over several lines is titled `Lines a–b`.
//! Related locations and, for findings with a data flow, the steps from source to sink are listed
//! under the explanation. The verdict has a row for every family (TG1 retry loops, TG2 exception
//! handling, TG3 sensitive data in logs, TG4 request context/privilege) one of whose rules ran, so a
//! zero means "looked, found nothing"; with no findings it reads "No security defects detected in N
//! files reviewed with M rules."
//!
//! Everything in it comes from the findings and the rule documents: the title is the rule's summary,
//! the explanation the finding's message, the solution the rule document's *Fix* section. Nothing is
//! invented and the output is deterministic, so it can be committed, diffed, attached to a Gerrit
//! review or published as a CI artifact: `trunkguard check . --output-format review > review.md`.
//! Only files with findings get a section; files that could not be fully analysed are listed under
//! *Not fully reviewed*.

use super::{Report, family_prefix};
use crate::finding::Finding;
use std::fmt::Write;

/// Renders the report as a Markdown review.
pub fn render(report: &Report) -> String {
    let mut out = String::from("# trunkguard security review\n\n");
    let ids: Vec<&str> = report.rules.iter().map(|d| d.id.as_str()).collect();
    let scope = match report.paths.as_slice() {
        [] => String::new(),
        paths => format!(" under {}", list(&paths.iter().map(|p| code(p)).collect::<Vec<_>>())),
    };
    let _ = writeln!(
        out,
        "Scope: {} ({}){scope}, reviewed with {}{}.\n",
        plural(report.files_scanned, "file"),
        plural(report.functions_scanned, "function"),
        plural(ids.len(), "rule"),
        if ids.is_empty() { String::new() } else { format!(" ({})", ids.join(", ")) },
    );
    let reported: Vec<&(String, Finding)> = report.reported().collect();
    let mut rest = reported.as_slice();
    while let Some((path, _)) = rest.first() {
        let n = rest.iter().take_while(|(p, _)| p == path).count();
        let findings: Vec<&Finding> = rest[..n].iter().map(|(_, f)| f).collect();
        file(&mut out, report, path, &findings);
        rest = &rest[n..];
    }
    if !report.notifications.is_empty() {
        out.push_str("## Not fully reviewed\n\n");
        for n in &report.notifications {
            let place = match (&n.path, n.line) {
                (Some(path), Some(line)) => format!("{} (line {line})", code(path)),
                (Some(path), None) => code(path),
                (None, _) => "trunkguard".to_string(),
            };
            let _ = writeln!(out, "- {place}, {}: {}", n.id, one_line(&n.message));
        }
        out.push('\n');
    }
    not_run(&mut out, report);
    verdict(&mut out, report);
    out
}

/// The opt-in rules that did not run and would have had something to say.
fn not_run(out: &mut String, report: &Report) {
    if report.not_run.is_empty() {
        return;
    }
    out.push_str("## Not run\n\n");
    out.push_str("These opt-in rules did not run (their measured precision is below the bar for default rules) but\n");
    out.push_str("would have reported findings here; select them for an audit (`--extend-select`):\n\n");
    for (&id, &n) in &report.not_run {
        let name = crate::docs::get(id).map_or(String::new(), |d| format!(" {}", d.name));
        let _ = writeln!(out, "- {id}{name}: {}.", plural(n, "finding"));
    }
    out.push('\n');
}

/// A finding-specific title: the first clause of its message — up to the first `: ` or ` — ` past the
/// opening words, else the first sentence — cut at a word boundary.
fn title(f: &Finding) -> String {
    const MIN: usize = 40;
    const MAX: usize = 120;
    let message = one_line(&f.message);
    let sentence = message.split(". ").next().unwrap_or(&message).trim_end_matches('.');
    let clause_end = [": ", " — "]
        .iter()
        .filter_map(|sep| sentence.match_indices(sep).map(|(at, _)| at).find(|&at| at >= MIN))
        .min()
        .unwrap_or(sentence.len());
    let clause = &sentence[..clause_end];
    if clause.chars().count() <= MAX {
        return clause.to_string();
    }
    let cut: String = clause.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// The flagged lines as a fenced code block (control characters shown visibly).
fn quote(out: &mut String, f: &Finding) {
    if f.lines.is_empty() {
        return;
    }
    let lines: Vec<String> = f.lines.iter().map(|l| crate::escape::visible(l.trim_end()).into_owned()).collect();
    let longest = lines.iter().flat_map(|l| l.split(|c| c != '`').map(str::len)).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "  {fence}python");
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "  {fence}");
}

fn file(out: &mut String, report: &Report, path: &str, findings: &[&Finding]) {
    let _ = writeln!(out, "## {}\n", code(path));
    let mut scopes: Vec<&str> = Vec::new();
    for f in findings {
        if !scopes.contains(&f.scope.as_str()) {
            scopes.push(&f.scope);
        }
    }
    let named: Vec<String> = scopes.iter().map(|s| scope(s)).collect();
    let _ = writeln!(out, "{} in {}.\n", plural(findings.len(), "finding"), list(&named));
    for (i, f) in findings.iter().enumerate() {
        finding(out, report, i + 1, f);
    }
}

fn finding(out: &mut String, report: &Report, number: usize, f: &Finding) {
    let doc = report.doc(f.rule);
    let title = title(f);
    let start = f.span.start.line;
    let end = super::last_line(&f.span);
    let lines = if end > start { format!("Lines {start}–{end}") } else { format!("Line {start}") };
    let _ = writeln!(out, "**{number}. {title} ({lines}):**\n");
    let mut facts = vec![f.level.as_str().to_string()];
    if let Some(cwe) = doc.and_then(|d| d.cwe.as_ref()) {
        facts.push(cwe.clone());
    }
    let _ = writeln!(out, "- Rule: {} ({}).", report.title(f.rule), facts.join(", "));
    let _ = writeln!(out, "- {}: {}", where_(&f.scope), one_line(&f.message));
    out.push_str("- Code:\n\n");
    quote(out, f);
    out.push('\n');
    // The flow already lists the related locations it passes through.
    let related: Vec<_> = f
        .related
        .iter()
        .filter(|r| !f.flow.iter().any(|s| s.span.start.line == r.span.start.line && s.message == r.message))
        .collect();
    if !related.is_empty() {
        out.push_str("- Related locations:\n");
        for r in related {
            let place = r.path.as_deref().map(|p| format!("{} line", code(p))).unwrap_or_else(|| "Line".into());
            let _ = writeln!(out, "  - {place} {}: {}", r.span.start.line, one_line(&r.message));
        }
    }
    if !f.flow.is_empty() {
        out.push_str("- Flow from source to sink:\n");
        for (i, step) in f.flow.iter().enumerate() {
            let _ = writeln!(out, "  {}. Line {}: {}", i + 1, step.span.start.line, one_line(&step.message));
        }
    }
    let fix = doc.map(|d| d.section("Fix")).unwrap_or("");
    if !fix.is_empty() {
        let _ = writeln!(out, "- **Solution:** {}", indent(fix));
    }
    out.push('\n');
}

fn verdict(out: &mut String, report: &Report) {
    out.push_str("**Verdict**\n\n");
    // Notifications are sorted by path, so repeats are adjacent.
    let mut partial: Vec<&str> = report.notifications.iter().filter_map(|n| n.path.as_deref()).collect();
    partial.dedup();
    let caveat = if partial.is_empty() {
        String::new()
    } else {
        format!(" {} not fully reviewed (listed above).", plural(partial.len(), "file"))
    };
    if report.reported().next().is_none() {
        let _ = writeln!(
            out,
            "No security defects detected in {} reviewed with {}.{caveat}",
            plural(report.files_scanned, "file"),
            plural(report.rules.len(), "rule"),
        );
        return;
    }
    let _ = writeln!(out, "{}{caveat}\n", report.summary());
    priorities(out, report);
    // `family_counts` gives error, warning, note counts in that order.
    out.push_str("| Family | Errors | Warnings | Notes |\n|---|--:|--:|--:|\n");
    let mut totals = [0usize; 3];
    // A family is counted when one of its rules ran (a zero then means "looked, found nothing").
    for (prefix, name, counts) in report.family_counts() {
        let ran = report.rules.iter().any(|d| family_prefix(&d.id) == prefix);
        if !ran && counts.iter().all(|c| *c == 0) {
            continue;
        }
        for (t, c) in totals.iter_mut().zip(counts) {
            *t += c;
        }
        let _ = writeln!(out, "| {prefix} {name} | {} | {} | {} |", counts[0], counts[1], counts[2]);
    }
    let _ = writeln!(out, "| Total | {} | {} | {} |", totals[0], totals[1], totals[2]);
}

/// The findings to fix first: errors before warnings before notes, then by the rule's security
/// severity, then in report order; at most five.
fn priorities(out: &mut String, report: &Report) {
    let severity = |id: &str| {
        report.doc(id).and_then(|d| d.security_severity.as_deref()).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0)
    };
    let mut ranked: Vec<(usize, &(String, Finding))> = report.reported().enumerate().collect();
    ranked.sort_by(|(ia, (_, a)), (ib, (_, b))| {
        b.level.cmp(&a.level).then(severity(b.rule).total_cmp(&severity(a.rule))).then(ia.cmp(ib))
    });
    out.push_str("Fix first:\n\n");
    for (i, (_, (path, f))) in ranked.iter().take(5).enumerate() {
        let _ = writeln!(
            out,
            "{}. {} {}:{} — {} ({})",
            i + 1,
            f.level.as_str(),
            code(path),
            f.span.start.line,
            title(f),
            f.rule
        );
    }
    if ranked.len() > 5 {
        let _ = writeln!(out, "\n…and {} more, listed above.", ranked.len() - 5);
    }
    out.push('\n');
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn scope(s: &str) -> String {
    if s == "<module>" { "module-level code".to_string() } else { code(s) }
}

/// "In `Class.method`" or "At module level".
fn where_(s: &str) -> String {
    if s == "<module>" { "At module level".to_string() } else { format!("In {}", code(s)) }
}

/// A Markdown code span holding `s` whatever backticks it contains (control characters shown visibly,
/// see `escape`).
fn code(s: &str) -> String {
    let s = &crate::escape::visible(s);
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A message as one line of Markdown: line breaks (which would end the list item) become spaces,
/// other control characters visible escapes (see `escape`), and `<` outside code spans `&lt;`, so `<lambda>` is not taken for HTML.
fn one_line(s: &str) -> String {
    let joined = s.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    // With unbalanced backticks there are no reliable code spans: escape everywhere.
    let balanced = joined.matches('`').count() % 2 == 0;
    let mut in_code = false;
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        match c {
            '`' if balanced => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            c => match crate::escape::picture(c) {
                Some(p) => out.push_str(&p),
                None => out.push(c),
            },
        }
    }
    out
}

/// Indents the continuation lines of a Markdown block so it stays inside its list item.
fn indent(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str("  ");
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a.py"), "`a.py`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn messages_stay_on_one_line_and_out_of_html() {
        assert_eq!(one_line("a <b>\n  `<c>`\0\x1b[2J"), "a &lt;b> `<c>`␀␛[2J");
        assert_eq!(code("a\nb\x07.py"), "`a␊b␇.py`");
        assert_eq!(one_line("odd ` <x>"), "odd ` &lt;x>");
    }

    #[test]
    fn lists_read_as_prose() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&items(&["a"])), "a");
        assert_eq!(list(&items(&["a", "b", "c"])), "a, b and c");
    }
}
