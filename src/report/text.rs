//! Terminal output: `path:line:col: TG201 message`, a code frame with the flagged span underlined
//! (colour only when asked), and a closing summary. The `concise` format is the same without the code
//! frames: one line per finding (what editors' problem matchers and `grep` want).

use super::Report;
use crate::escape::{picture, visible};
use crate::finding::{Applicability, Finding, Level};
use std::fmt::Write;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Renders the report; `color` adds ANSI colours.
pub fn render(report: &Report, color: bool, summary: bool) -> String {
    render_with(report, color, summary, true)
}

/// Renders one line per finding, no code frames.
pub fn render_concise(report: &Report, color: bool, summary: bool) -> String {
    render_with(report, color, summary, false)
}

fn render_with(report: &Report, color: bool, summary: bool, frames: bool) -> String {
    let paint = |style: &str, s: &str| if color { format!("{style}{s}{RESET}") } else { s.to_string() };
    let mut out = String::new();
    for (path, f) in report.shown_in_text() {
        let level_style = match f.level {
            Level::Error => RED,
            Level::Warning => YELLOW,
            Level::Note => CYAN,
        };
        let silenced = if f.suppressed.is_some() { " (silenced)" } else { "" };
        // ruff's mark for a finding `--fix` resolves.
        let fixable = if is_safe_fix(f) { " [*]" } else { "" };
        let _ = writeln!(
            out,
            "{}:{}:{}: {}{silenced}{fixable} {}",
            paint(BOLD, &visible(path)),
            f.span.start.line,
            f.span.start.column,
            paint(level_style, f.rule),
            visible(&f.message)
        );
        if frames {
            frame(&mut out, f, &|s: &str| paint(DIM, s), &|s: &str| paint(level_style, s));
            out.push('\n');
        }
    }
    if summary {
        if report.is_clean() {
            let _ = writeln!(out, "No findings; {} scanned.", plural(report.files_scanned));
        } else {
            // With the full output only (concise is one line per finding, then the summary), before the
            // summary, which stays the last line.
            if frames {
                out.push_str(&fixable_summary(report));
            }
            out.push_str(&report.summary());
            out.push('\n');
        }
    }
    out
}

fn is_safe_fix(f: &Finding) -> bool {
    f.fix.as_ref().is_some_and(|fix| fix.applicability == Applicability::Safe)
}

/// "[*] 2 fixable with `--fix` (1 more with `--unsafe-fixes`)." when any reported finding has a fix.
fn fixable_summary(report: &Report) -> String {
    let reported = || report.reported().filter(|(_, f)| f.suppressed.is_none());
    let safe = reported().filter(|(_, f)| is_safe_fix(f)).count();
    let unsafe_ = reported().filter(|(_, f)| f.fix.is_some()).count() - safe;
    match (safe, unsafe_) {
        (0, 0) => String::new(),
        (s, 0) => format!("[*] {s} fixable with `--fix`.\n"),
        (0, u) => format!("{u} fixable with `--fix --unsafe-fixes` (they change behaviour: review them).\n"),
        (s, u) => format!("[*] {s} fixable with `--fix` ({u} more with `--unsafe-fixes`).\n"),
    }
}

fn plural(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

/// The code frame: each covered line with a gutter, the span underlined with `^`.
/// Widest source line shown in a code frame; longer lines are cut to a window around the span.
const MAX_FRAME_CHARS: usize = 160;

fn frame(out: &mut String, f: &Finding, dim: &dyn Fn(&str) -> String, mark: &dyn Fn(&str) -> String) {
    let width = (f.span.start.line + f.lines.len()).to_string().len();
    let gutter = " ".repeat(width);
    let _ = writeln!(out, "{gutter} {}", dim("|"));
    for (i, line) in f.lines.iter().enumerate() {
        let number = f.span.start.line + i;
        let chars: Vec<char> = line.trim_end().chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
        let start = if i == 0 { utf16_to_char(line, f.span.start.column) } else { leading_spaces(&chars) };
        let end = if number == f.span.end.line { utf16_to_char(line, f.span.end.column) } else { chars.len() };
        let end = end.min(chars.len()).max(start.min(chars.len()));
        let start = start.min(end);
        // A window of at most MAX_FRAME_CHARS around the span's start (minified or generated code).
        let from = if chars.len() > MAX_FRAME_CHARS { start.saturating_sub(20) } else { 0 };
        let to = chars.len().min(from + MAX_FRAME_CHARS);
        // Control characters are shown escaped (see `escape`); `at[i]` is the column char `i` starts at.
        let mut shown = String::new();
        let mut at = Vec::with_capacity(to - from + 1);
        let mut column = 0;
        if from > 0 {
            shown.push('…');
            column = 1;
        }
        for &c in &chars[from..to] {
            at.push(column);
            match picture(c) {
                Some(p) => {
                    shown.push_str(&p);
                    column += p.chars().count();
                }
                None => {
                    shown.push(c);
                    column += 1;
                }
            }
        }
        at.push(column);
        if to < chars.len() {
            shown.push('…');
        }
        let _ = writeln!(out, "{} {} {}", dim(&format!("{number:>width$}")), dim("|"), shown);
        let (a, b) = (at[start.min(to) - from], at[end.min(to) - from]);
        if b > a {
            let _ = writeln!(out, "{gutter} {} {}{}", dim("|"), " ".repeat(a), mark(&"^".repeat(b - a)));
        }
    }
}

fn leading_spaces(chars: &[char]) -> usize {
    chars.iter().take_while(|c| **c == ' ').count()
}

/// 0-based char index of a 1-based UTF-16 column within `line`.
fn utf16_to_char(line: &str, column: usize) -> usize {
    let mut units = 0;
    for (i, c) in line.chars().enumerate() {
        if units + 1 >= column {
            return i;
        }
        units += c.len_utf16();
    }
    line.chars().count()
}
