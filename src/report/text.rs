//! Terminal output: `path:line:col: TG201 message`, a code frame with the flagged span underlined
//! (colour only when asked), and a closing summary.

use super::Report;
use crate::finding::{Finding, Level};
use std::fmt::Write;

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[1;36m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Renders the report; `color` adds ANSI colours.
pub fn render(report: &Report, color: bool, summary: bool) -> String {
    let paint = |style: &str, s: &str| if color { format!("{style}{s}{RESET}") } else { s.to_string() };
    let mut out = String::new();
    for (path, f) in report.visible() {
        let level_style = match f.level {
            Level::Error => RED,
            Level::Warning => YELLOW,
            Level::Note => CYAN,
        };
        let silenced = if f.suppressed.is_some() { " (silenced)" } else { "" };
        let _ = writeln!(
            out,
            "{}:{}:{}: {}{silenced} {}",
            paint(BOLD, path),
            f.span.start.line,
            f.span.start.column,
            paint(level_style, f.rule),
            f.message
        );
        frame(&mut out, f, &|s: &str| paint(DIM, s), &|s: &str| paint(level_style, s));
        out.push('\n');
    }
    if summary {
        if report.active().next().is_none() && report.absent.is_empty() {
            let _ = writeln!(out, "No findings; {} scanned.", plural(report.files_scanned));
        } else {
            out.push_str(&report.summary());
            out.push('\n');
        }
    }
    out
}

fn plural(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

/// The code frame: each covered line with a gutter, the span underlined with `^`.
fn frame(out: &mut String, f: &Finding, dim: &dyn Fn(&str) -> String, mark: &dyn Fn(&str) -> String) {
    let width = (f.span.start.line + f.lines.len()).to_string().len();
    let gutter = " ".repeat(width);
    let _ = writeln!(out, "{gutter} {}", dim("|"));
    for (i, line) in f.lines.iter().enumerate() {
        let number = f.span.start.line + i;
        let shown: String = line.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
        let _ = writeln!(out, "{} {} {}", dim(&format!("{number:>width$}")), dim("|"), shown.trim_end());
        let chars = shown.chars().count();
        let start = if i == 0 { utf16_to_char(line, f.span.start.column) } else { leading_spaces(&shown) };
        let end = if number == f.span.end.line { utf16_to_char(line, f.span.end.column) } else { chars };
        if end > start {
            let _ = writeln!(out, "{gutter} {} {}{}", dim("|"), " ".repeat(start), mark(&"^".repeat(end - start)));
        }
    }
}

fn leading_spaces(s: &str) -> usize {
    s.chars().take_while(|c| *c == ' ').count()
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
