//! Report formats. Each turns a [`Report`] (made by the triage stage, already sorted) into bytes,
//! reading its findings through one of two views: SARIF and JSON show [`Report::all`] (with suppression
//! and baseline states), every other format [`Report::reported`]. None of them knows anything about
//! syntax trees or how rules work.

pub mod github;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod review;
pub mod sarif;
pub mod text;

use crate::docs::RuleDoc;
use crate::finding::{Level, Span};

pub use crate::triage::Report;

impl Report {
    /// "3 findings (1 error, 2 warnings) in 2 files; 12 files scanned."
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut parts = vec![plural(self.count(Level::Error), "error"), plural(self.count(Level::Warning), "warning")];
        if self.count(Level::Note) > 0 {
            parts.push(plural(self.count(Level::Note), "note"));
        }
        let mut out = format!(
            "{} ({}) in {}; {} scanned.",
            plural(self.reported().count(), "finding"),
            parts.join(", "),
            plural(self.files_with_findings(), "file"),
            plural(self.files_scanned, "file"),
        );
        let silenced = self.silenced();
        if silenced > 0 {
            out.push_str(&format!(" {} silenced by comments.", plural(silenced, "finding")));
        }
        if let Some(n) = self.notifications.iter().find(|n| n.id == crate::finding::INCOMPLETE) {
            out.push_str(&format!(" Incomplete: {}.", crate::escape::visible(&n.message)));
        }
        if let Some(outside) = self.outside_diff.filter(|&n| n > 0) {
            out.push_str(&format!(" {} on lines the diff did not touch left out.", plural(outside, "finding")));
        }
        if let Some(b) = self.baseline_counts() {
            let (new, unchanged, absent) = (b.new, b.unchanged, b.absent);
            out.push_str(&format!(" Against the baseline: {new} new, {unchanged} unchanged, {absent} absent."));
        }
        out
    }
}

/// The rule families, by id prefix, as the review report and the documentation name them.
pub const FAMILIES: [(&str, &str); 4] = [
    ("TG1", "retry loops"),
    ("TG2", "exception handling"),
    ("TG3", "sensitive data in logs"),
    ("TG4", "request context/privilege"),
];

/// Finding counts of one family: `(prefix, name, [error, warning, note])`.
pub type FamilyCounts = (String, String, [usize; 3]);

impl Report {
    /// The document of rule `id`, if it ran.
    pub fn doc(&self, id: &str) -> Option<&'static RuleDoc> {
        self.rules.iter().copied().find(|d| d.id == id)
    }

    /// `TG201 broad-except-swallowed` (or just the id when the rule has no document).
    pub fn title(&self, id: &str) -> String {
        match self.doc(id) {
            Some(d) => format!("{} {}", d.id, d.name),
            None => id.to_string(),
        }
    }

    /// Counts per family and level (error, warning, note): the four families of [`FAMILIES`] always,
    /// in order, followed by any other prefix (`TG0`…) that has findings.
    pub fn family_counts(&self) -> Vec<FamilyCounts> {
        let mut rows: Vec<FamilyCounts> =
            FAMILIES.iter().map(|(p, n)| (p.to_string(), n.to_string(), [0; 3])).collect();
        for (_, f) in self.reported() {
            let prefix = family_prefix(f.rule);
            let at = match rows.iter().position(|(p, _, _)| *p == prefix) {
                Some(at) => at,
                None => {
                    rows.push((prefix.clone(), "other".to_string(), [0; 3]));
                    rows.len() - 1
                }
            };
            rows[at].2[level_index(f.level)] += 1;
        }
        rows
    }
}

/// `TG201` → `TG2`: the letters and the first digit of a rule id.
pub fn family_prefix(rule: &str) -> String {
    let letters = rule.chars().take_while(|c| c.is_ascii_alphabetic()).count();
    rule.chars().take(letters + 1).collect()
}

/// 0 for error, 1 for warning, 2 for note (the order of [`FamilyCounts`]).
pub fn level_index(level: Level) -> usize {
    match level {
        Level::Error => 0,
        Level::Warning => 1,
        Level::Note => 2,
    }
}

/// The last line a span really covers: a span ending at column 1 of a later line ends on the line
/// before it.
pub fn last_line(span: &Span) -> usize {
    span.last_line()
}

/// Escapes text for XML 1.0 content and double-quoted attribute values: `&`, `<`, `>` and `"` become
/// entities (`'` needs none inside double quotes), tab, line feed and carriage return become character references (so attribute
/// normalisation keeps them), and characters XML 1.0 forbids (other C0 controls, U+FFFE, U+FFFF)
/// become U+FFFD, since not even a character reference may name them.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escape_handles_markup_whitespace_and_forbidden_characters() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c'");
        assert_eq!(xml_escape("x\ny\tz\r"), "x&#10;y&#9;z&#13;");
        assert_eq!(xml_escape("nul\0bell\u{7}\u{FFFE}"), "nul\u{FFFD}bell\u{FFFD}\u{FFFD}");
        assert_eq!(xml_escape("]]>"), "]]&gt;");
        assert_eq!(xml_escape("é 😀"), "é 😀");
    }

    #[test]
    fn family_prefix_takes_letters_and_one_digit() {
        assert_eq!(family_prefix("TG201"), "TG2");
        assert_eq!(family_prefix("TG001"), "TG0");
        assert_eq!(family_prefix(""), "");
    }
}
