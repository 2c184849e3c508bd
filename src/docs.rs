//! Rule documentation as data: parses the `rules/*.md` documents embedded at build time.
//!
//! Each document starts with front matter between `---` lines (`key: value`), then Markdown with the
//! sections *What it finds*, *Why it matters*, *Example* and *Fix*. This is the single source of
//! `trunkguard rule ID`, the SARIF rule metadata and the README rule table.

use crate::finding::Level;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/rule_docs.rs"));

/// The sections every rule document must have, in order.
pub const SECTIONS: [&str; 4] = ["What it finds", "Why it matters", "Example", "Fix"];

/// One rule's documentation and metadata.
#[derive(Debug, Clone)]
pub struct RuleDoc {
    pub id: String,
    /// Kebab-case name, e.g. `broad-except-swallowed`.
    pub name: String,
    /// One sentence: SARIF `shortDescription`.
    pub summary: String,
    pub level: Level,
    /// On unless selected explicitly when `false` (opt-in rules).
    pub enabled: bool,
    /// `CWE-396` style, if the rule maps to a CWE.
    pub cwe: Option<String>,
    /// GitHub code scanning's 0.0–10.0 severity score, as written.
    pub security_severity: Option<String>,
    /// `very-high`, `high`, `medium` or `low` (SARIF `precision`): as written, or derived from a
    /// measured precision.
    pub precision: String,
    /// A measured precision as written, `0.86 (neutron, nova; 2025-11-30)`: the fraction of judged
    /// findings that were real, on which corpus, when.
    pub measured: Option<String>,
    pub tags: Vec<String>,
    /// The Markdown after the front matter.
    pub body: String,
}

/// Why a rule document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocError {
    #[error("{file}: no front matter (the document must start with a `---` line)")]
    NoFrontMatter { file: String },
    #[error("{file}: front matter key `{key}` is missing")]
    MissingKey { file: String, key: &'static str },
    #[error("{file}: front matter key `{key}` has an invalid value `{value}`")]
    BadValue { file: String, key: &'static str, value: String },
    #[error("{file}: section `## {section}` is missing")]
    MissingSection { file: String, section: &'static str },
}

/// The SARIF precision label of a measured precision written `0.86 (corpus; date)`: a number in
/// 0–1, then the corpus and the date in parentheses. `None` if it is not written so.
fn precision_label(written: &str) -> Option<&'static str> {
    let (number, rest) = written.split_once(' ')?;
    let value: f64 = number.parse().ok().filter(|v| (0.0..=1.0).contains(v))?;
    let detail = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (corpus, date) = detail.rsplit_once(';')?;
    let date = date.trim();
    let is_date = date.len() == 10
        && date.chars().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
    if corpus.trim().is_empty() || !is_date {
        return None;
    }
    Some(match value {
        v if v >= 0.95 => "very-high",
        v if v >= 0.8 => "high",
        v if v >= 0.5 => "medium",
        _ => "low",
    })
}

impl RuleDoc {
    /// Parses one document; `file` names it in errors.
    pub fn parse(file: &str, markdown: &str) -> Result<RuleDoc, DocError> {
        let rest = markdown.strip_prefix("---\n").ok_or_else(|| DocError::NoFrontMatter { file: file.into() })?;
        let (front, body) = rest.split_once("\n---\n").ok_or_else(|| DocError::NoFrontMatter { file: file.into() })?;
        let get = |key: &'static str| -> Result<String, DocError> {
            front
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string()))
                .ok_or_else(|| DocError::MissingKey { file: file.into(), key })
        };
        let optional = |key: &'static str| get(key).ok().filter(|v| !v.is_empty() && v != "none");
        let level_text = get("level")?;
        let level = Level::parse(&level_text).ok_or_else(|| DocError::BadValue {
            file: file.into(),
            key: "level",
            value: level_text.clone(),
        })?;
        let enabled = match get("enabled")?.as_str() {
            "true" => true,
            "false" => false,
            other => return Err(DocError::BadValue { file: file.into(), key: "enabled", value: other.into() }),
        };
        let written = get("precision")?;
        let (precision, measured) = match precision_label(&written) {
            Some(label) => (label.to_string(), Some(written)),
            None if ["very-high", "high", "medium", "low"].contains(&written.as_str()) => (written, None),
            None => return Err(DocError::BadValue { file: file.into(), key: "precision", value: written }),
        };
        let tags = get("tags")?
            .trim_matches(['[', ']'])
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        for section in SECTIONS {
            if !body.lines().any(|l| l.trim() == format!("## {section}")) {
                return Err(DocError::MissingSection { file: file.into(), section });
            }
        }
        Ok(RuleDoc {
            id: get("id")?,
            name: get("name")?,
            summary: get("summary")?,
            level,
            enabled,
            cwe: optional("cwe"),
            security_severity: optional("security-severity"),
            precision,
            measured,
            tags,
            body: body.trim_start_matches('\n').to_string(),
        })
    }

    /// The text of `## {section}` up to the next `## ` heading, trimmed.
    pub fn section(&self, section: &str) -> &str {
        let heading = format!("## {section}");
        let Some(start) = self.body.find(&heading) else { return "" };
        let after = &self.body[start + heading.len()..];
        let end = after.find("\n## ").unwrap_or(after.len());
        after[..end].trim()
    }

    /// The first paragraph of *What it finds*: SARIF `fullDescription`.
    pub fn full_description(&self) -> &str {
        self.section("What it finds").split("\n\n").next().unwrap_or("").trim()
    }

    /// The rule's documentation as plain text for terminals.
    pub fn render_text(&self) -> String {
        let on = if self.enabled { "on by default" } else { "opt-in" };
        let mut out = format!("{} {}: {}\n", self.id, self.name, self.summary);
        out.push_str(&format!("level: {}, {on}, precision: {}", self.level.as_str(), self.precision));
        if let Some(measured) = &self.measured {
            out.push_str(&format!(" (measured {measured})"));
        }
        if let Some(cwe) = &self.cwe {
            out.push_str(&format!(", {cwe}"));
        }
        if let Some(sev) = &self.security_severity {
            out.push_str(&format!(", security-severity {sev}"));
        }
        out.push_str("\n\n");
        out.push_str(&self.body);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// Every embedded rule document, parsed, sorted by id. Panics only if a document embedded at build
/// time is malformed, which the test suite rules out.
pub fn all() -> &'static [RuleDoc] {
    static DOCS: OnceLock<Vec<RuleDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut docs: Vec<RuleDoc> = RULE_DOCS
            .iter()
            .map(|(stem, md)| RuleDoc::parse(&format!("rules/{stem}.md"), md).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        docs.sort_by(|a, b| a.id.cmp(&b.id));
        docs
    })
}

/// The document of rule `id`.
pub fn get(id: &str) -> Option<&'static RuleDoc> {
    all().iter().find(|d| d.id.eq_ignore_ascii_case(id))
}

/// The README rule table (Markdown), generated from the documents.
pub fn markdown_table() -> String {
    let mut out = String::from("| ID | Name | Level | Default | CWE | Summary |\n|---|---|---|---|---|---|\n");
    for d in all() {
        out.push_str(&format!(
            "| [{id}](rules/{id}.md) | `{}` | {} | {} | {} | {} |\n",
            d.name,
            d.level.as_str(),
            if d.enabled { "on" } else { "opt-in" },
            d.cwe.as_deref().unwrap_or("—"),
            d.summary,
            id = d.id,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_precision_gives_a_label() {
        assert_eq!(precision_label("0.86 (neutron, nova; 2026-11-30)"), Some("high"));
        assert_eq!(precision_label("0.50 (designate; 2026-11-30)"), Some("medium"));
        assert_eq!(precision_label("1.00 (x; 2026-11-30)"), Some("very-high"));
        assert_eq!(precision_label("0.86 (neutron)"), None);
        assert_eq!(precision_label("1.5 (x; 2026-11-30)"), None);
        assert_eq!(precision_label("high"), None);
    }

    #[test]
    fn every_embedded_doc_parses_and_is_named_after_its_id() {
        for (stem, md) in RULE_DOCS {
            let doc = RuleDoc::parse(stem, md).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&doc.id, stem, "rules/{stem}.md declares id {}", doc.id);
            assert!(!doc.section("Fix").is_empty(), "{stem}: empty Fix section");
        }
    }

    #[test]
    fn malformed_docs_are_rejected_with_a_reason() {
        assert_eq!(RuleDoc::parse("x", "# no front matter").unwrap_err(), DocError::NoFrontMatter { file: "x".into() });
        let missing = "---\nid: TG999\n---\n";
        assert!(matches!(RuleDoc::parse("x", missing), Err(DocError::MissingKey { .. })));
    }
}
