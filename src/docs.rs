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
    /// measured precision (≥ 0.9 very-high, ≥ 0.8 high, ≥ 0.5 medium, else low).
    pub precision: String,
    /// A measured precision as written: `0.86 (43/50 judged, barbican+trove, 2026-11-30)`, or
    /// `n/a (…)` when the rule found nothing to judge.
    pub measured_precision: Option<String>,
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
        let precision_text = get("precision")?;
        let (precision, measured_precision) = parse_precision(&precision_text).ok_or_else(|| DocError::BadValue {
            file: file.into(),
            key: "precision",
            value: precision_text.clone(),
        })?;
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
            measured_precision,
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
        let precision = self.measured_precision.as_deref().unwrap_or(&self.precision);
        out.push_str(&format!("level: {}, {on}, precision: {precision}", self.level.as_str()));
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

/// The front matter's `precision`: a label (`high`), or a measured number with how it was measured
/// (`0.86 (43/50 judged, barbican+trove+mistral+aodh, 2026-11-30)`: a fraction in 0..=1, then the
/// judged count, the corpus and the date in parentheses), or `n/a (where it found nothing to judge)`.
/// Returns the label and the measured text.
fn parse_precision(text: &str) -> Option<(String, Option<String>)> {
    const LABELS: [&str; 4] = ["very-high", "high", "medium", "low"];
    if LABELS.contains(&text) {
        return Some((text.to_string(), None));
    }
    // A rule with nothing to judge yet: say where it was run; SARIF gets the neutral label.
    if let Some(how) = text.strip_prefix("n/a (").and_then(|r| r.strip_suffix(')')) {
        return (!how.trim().is_empty()).then(|| ("medium".to_string(), Some(text.to_string())));
    }
    let (number, rest) = text.split_once(' ')?;
    let value: f64 = number.parse().ok().filter(|v: &f64| (0.0..=1.0).contains(v))?;
    let how = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (judged, _) = how.split_once(" judged")?;
    let (hits, total) = judged.split_once('/')?;
    let (hits, total): (u32, u32) = (hits.trim().parse().ok()?, total.trim().parse().ok()?);
    if total == 0 || hits > total || (f64::from(hits) / f64::from(total) - value).abs() > 0.005 {
        return None;
    }
    let label = match value {
        v if v >= 0.9 => "very-high",
        v if v >= 0.8 => "high",
        v if v >= 0.5 => "medium",
        _ => "low",
    };
    Some((label.to_string(), Some(text.to_string())))
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
    let mut out =
        String::from("| ID | Name | Level | Default | CWE | Precision | Summary |\n|---|---|---|---|---|---|---|\n");
    for d in all() {
        let precision = match &d.measured_precision {
            Some(m) => m.split_once(' ').map_or(m.as_str(), |(number, _)| number),
            None => d.precision.as_str(),
        };
        out.push_str(&format!(
            "| [{id}](rules/{id}.md) | `{}` | {} | {} | {} | {precision} | {} |\n",
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

    #[test]
    fn precision_is_a_label_or_a_measured_number() {
        assert_eq!(parse_precision("high"), Some(("high".into(), None)));
        let measured = "0.86 (43/50 judged, barbican+trove, 2026-11-30)";
        assert_eq!(parse_precision(measured), Some(("high".into(), Some(measured.into()))));
        assert_eq!(parse_precision("0.35 (7/20 judged, aodh, 2026-11-30)").unwrap().0, "low");
        // The number must match the count, be a fraction, and say how it was measured.
        assert_eq!(parse_precision("0.90 (43/50 judged, x, d)"), None);
        assert_eq!(parse_precision("1.5 (3/2 judged, x, d)"), None);
        assert_eq!(parse_precision("0.86"), None);
        assert_eq!(parse_precision("0.86 (43/50, x)"), None);
        assert_eq!(parse_precision("excellent"), None);
        assert_eq!(parse_precision("n/a (no findings on 22 services, 2026-11-30)").unwrap().0, "medium");
        assert_eq!(parse_precision("n/a ()"), None);
    }
}
