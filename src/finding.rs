//! Findings and tool notifications: plain data, resolved to lines and UTF-16 columns, knowing nothing
//! of syntax trees. Rules produce them through the engine's `Checker`; report formats consume them.

use crate::source::Position;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Severity of a finding, as SARIF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    /// The SARIF / documentation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    /// Parses `note`, `warning` or `error`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "note" => Some(Level::Note),
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

/// A source range: byte offsets plus resolved positions (end is exclusive). Serialised (in the result
/// cache, which holds one for every call site the project model records) as the six numbers
/// `[start_byte, end_byte, start line, start column, end line, end column]`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start_byte: usize,
    pub end_byte: usize,
    pub start: Position,
    pub end: Position,
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, b) = (self.start, self.end);
        [self.start_byte, self.end_byte, a.line, a.column, b.line, b.column].serialize(s)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let [start_byte, end_byte, sl, sc, el, ec] = <[usize; 6]>::deserialize(d)?;
        let position = |line, column| Position { line, column };
        Ok(Span { start_byte, end_byte, start: position(sl, sc), end: position(el, ec) })
    }
}

impl Span {
    /// The last line the span really covers: a span ending at column 1 of a later line ends on the
    /// line before it.
    pub fn last_line(&self) -> usize {
        if self.end.line > self.start.line && self.end.column <= 1 { self.end.line - 1 } else { self.end.line }
    }
}

/// A secondary location with a short explanation (SARIF `relatedLocations` / code-flow steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    pub span: Span,
    pub message: String,
    /// The file it is in, when not the finding's own (display path; e.g. the policy module a deferred
    /// finding points at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// The finding property a rule sets to rank its findings (0–100, most likely real highest): SARIF
/// writes it as `result.rank`, other formats as a property.
pub const RANK: &str = "rank";

/// Edit distance between two names, counted in characters (for "did you mean").
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

/// One problem found by one rule at one place. (De)serialisable for the result cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id, e.g. `TG201`.
    #[serde(deserialize_with = "rule_id")]
    pub rule: StaticId,
    pub level: Level,
    /// One or more sentences; the first says it all.
    pub message: String,
    pub span: Span,
    /// The exact text of the flagged region.
    pub snippet: String,
    /// The source lines the span covers (at most three), for code frames.
    pub lines: Vec<String>,
    /// Qualified name of the enclosing function or class (`<module>` at top level).
    pub scope: String,
    pub related: Vec<Related>,
    /// Steps from source to sink where the problem is indirect (SARIF `codeFlows`).
    pub flow: Vec<Related>,
    /// Rule-specific facts a reviewer wants to see (SARIF result `properties`).
    pub properties: BTreeMap<String, String>,
    /// Stable identity that survives code moving up or down: see [`fingerprint`].
    pub fingerprint: String,
    /// When an in-source comment silences it: the comment (SARIF `suppressions[].justification`).
    pub suppressed: Option<String>,
    /// Relative to `--baseline`: `new`, `unchanged` (None without a baseline).
    pub baseline: Option<BaselineState>,
    /// The mechanical change that resolves it, for rules that have one (SARIF `fixes`, LSP code
    /// actions, `check --fix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// Whether a fix can be applied without review (ruff's applicability): a safe fix keeps what the
/// program does apart from the problem; an unsafe one changes behaviour and is applied only with
/// `--unsafe-fixes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    Safe,
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement: the bytes of `span` (empty for an insertion) become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A finding's fix: a short title ("Add `secret=True`"), its applicability and its edits, in source
/// order and not overlapping, all in the finding's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

/// Applies the edits of `fixes` (each sorted, fixes in any order) to `text`: a fix whose edits overlap
/// an earlier-applied fix's, fall outside the text or off a character boundary is skipped. Returns the
/// new text and how many fixes were applied.
pub fn apply_fixes<'f>(text: &str, fixes: impl IntoIterator<Item = &'f Fix>) -> (String, usize) {
    let mut fixes: Vec<&Fix> = fixes.into_iter().filter(|f| !f.edits.is_empty()).collect();
    fixes.sort_by_key(|f| (f.edits[0].span.start_byte, f.edits[0].span.end_byte));
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut edits: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        let valid = fix.edits.windows(2).all(|w| w[0].span.end_byte <= w[1].span.start_byte)
            && fix.edits.iter().all(|e| {
                let (s, t) = (e.span.start_byte, e.span.end_byte);
                s <= t && t <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(t)
            });
        let overlaps = |e: &Edit| {
            taken.iter().any(|&(s, t)| {
                e.span.start_byte < t && s < e.span.end_byte || e.span.start_byte == s && e.span.end_byte == t
            })
        };
        if !valid || fix.edits.iter().any(overlaps) {
            continue;
        }
        taken.extend(fix.edits.iter().map(|e| (e.span.start_byte, e.span.end_byte)));
        edits.extend(&fix.edits);
        applied += 1;
    }
    edits.sort_by_key(|e| (e.span.start_byte, e.span.end_byte));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.span.start_byte]);
        out.push_str(&e.replacement);
        at = e.span.end_byte;
    }
    out.push_str(&text[at..]);
    (out, applied)
}

impl Finding {
    /// The places the finding is about in its own file: its span, its related locations and the steps
    /// of its flow.
    pub fn locations(&self) -> impl Iterator<Item = &Span> {
        self.places().filter(|(path, _)| path.is_none()).map(|(_, span)| span)
    }

    /// Every place the finding is about, with the file of those in another file than the finding's
    /// (a helper the flow goes through).
    pub fn places(&self) -> impl Iterator<Item = (Option<&str>, &Span)> {
        let others = self.related.iter().chain(&self.flow).map(|r| (r.path.as_deref(), &r.span));
        std::iter::once((None, &self.span)).chain(others)
    }
}

/// A result's state relative to a baseline (SARIF `baselineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
}

impl BaselineState {
    /// The SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// Something the tool has to say about the run rather than the code: unreadable files, syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable identifier of the kind of notification (one of [`NOTIFICATION_IDS`]).
    #[serde(deserialize_with = "notification_id")]
    pub id: StaticId,
    pub level: Level,
    /// Display path of the file concerned, if any.
    pub path: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

/// A rule or notification id: one of the tool's own strings. (Spelt through an alias so that serde does
/// not take the field for one borrowed from its input; the cache reads it back by lookup.)
pub type StaticId = &'static str;

/// Every notification id the tool emits.
pub const NOTIFICATION_IDS: &[&str] = &[
    "decode-error",
    "incomplete",
    "internal-error",
    "parse-error",
    "read-error",
    "skipped",
    "syntax-error",
    "too-deep",
    "too-large",
];

/// Notifications that mean a file was not analysed at all (a decode or syntax error still is).
pub const NOT_ANALYSED: &[&str] = &["internal-error", "parse-error", "read-error", "too-deep", "too-large"];

/// The run-level notification of a run that analysed nothing, or not a file named explicitly: it makes
/// SARIF `executionSuccessful` false and the exit status 2.
pub const INCOMPLETE: &str = "incomplete";

/// Reads a rule id back as a `&'static str` (see [`rule_id_of`]); anything else is an error: the data
/// is not ours.
fn rule_id<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    rule_id_of(&s).ok_or_else(|| serde::de::Error::custom(format!("not a rule id: `{s}`")))
}

/// `TG` and three digits: the shape of every rule id (the registry's are checked against it).
const RULE_ID_PREFIX: &str = "TG";

/// Every id of the rule-id shape, spelt out once, so that an id read back from data (the result cache)
/// becomes a `&'static str` without consulting the rule registry, which lives above this layer.
static RULE_IDS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| (0..1000).map(|n| format!("{RULE_ID_PREFIX}{n:03}")).collect());

/// `s` as a `&'static str` if it has the shape of a rule id (`TG201`), else `None`.
pub fn rule_id_of(s: &str) -> Option<&'static str> {
    let digits = s.strip_prefix(RULE_ID_PREFIX)?;
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    RULE_IDS.get(digits.parse::<usize>().ok()?).map(String::as_str)
}

/// Does the rule selector `selector` (an id, a prefix such as `TG2`, or `ALL`; any case) take in the
/// rule `id`? The one definition of selector matching (selection, configuration, suppressions). An
/// empty selector takes in nothing.
pub fn selects(selector: &str, id: &str) -> bool {
    if selector.is_empty() {
        return false;
    }
    selector.eq_ignore_ascii_case("ALL")
        || id.len() >= selector.len() && id.as_bytes()[..selector.len()].eq_ignore_ascii_case(selector.as_bytes())
}

/// Reads a notification id back as one of [`NOTIFICATION_IDS`].
fn notification_id<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    NOTIFICATION_IDS
        .iter()
        .copied()
        .find(|&id| id == s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown notification `{s}`")))
}

/// The key of trunkguard's fingerprint in SARIF `partialFingerprints` (baselines match on it).
pub const FINGERPRINT_KEY: &str = "trunkguard/v1";

/// FNV-1a, 64-bit: stable across platforms and releases, unlike `std`'s hasher.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The fingerprint of a finding: rule id, file path, enclosing scope and the whitespace-normalised
/// text of the flagged construct — never line numbers — plus `:N` counting earlier identical ones
/// in the same file, so duplicates stay distinct.
pub fn fingerprint(rule: &str, path: &str, scope: &str, snippet: &str, occurrence: usize) -> String {
    let normalised: String = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{:016x}:{occurrence}", fnv1a(&[rule, path, scope, &normalised]))
}

/// Assigns fingerprints to one file's findings (already in source order).
pub fn assign_fingerprints(path: &str, findings: &mut [Finding]) {
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for f in findings.iter_mut() {
        let normalised: String = f.snippet.split_whitespace().collect::<Vec<_>>().join(" ");
        let key = fnv1a(&[f.rule, path, &f.scope, &normalised]);
        let n = seen.entry(key).or_insert(0);
        *n += 1;
        f.fingerprint = fingerprint(f.rule, path, &f.scope, &f.snippet, *n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_whitespace_and_counts_duplicates() {
        let a = fingerprint("TG201", "a.py", "C.f", "except  Exception:", 1);
        let b = fingerprint("TG201", "a.py", "C.f", "except Exception:", 1);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint("TG201", "a.py", "C.f", "except Exception:", 2));
        assert_ne!(a, fingerprint("TG202", "a.py", "C.f", "except Exception:", 1));
        assert!(a.ends_with(":1"));
    }

    #[test]
    fn rule_ids_by_shape() {
        assert_eq!(rule_id_of("TG201"), Some("TG201"));
        assert_eq!(rule_id_of("TG000"), Some("TG000"));
        for bad in ["TG2011", "TG20", "tg201", "XX201", "TG20a", "TG+01", ""] {
            assert_eq!(rule_id_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn fixes_apply_in_order_and_overlaps_are_skipped() {
        let span = |s: usize, t: usize| Span {
            start_byte: s,
            end_byte: t,
            start: Position { line: 1, column: s + 1 },
            end: Position { line: 1, column: t + 1 },
        };
        let fix = |edits: &[(usize, usize, &str)]| Fix {
            title: String::new(),
            applicability: Applicability::Safe,
            edits: edits.iter().map(|&(s, t, r)| Edit { span: span(s, t), replacement: r.into() }).collect(),
        };
        let text = "except:\n    pass\n";
        let (out, n) = apply_fixes(text, &[fix(&[(6, 6, " Exception")])]);
        assert_eq!((out.as_str(), n), ("except Exception:\n    pass\n", 1));
        // Two fixes touching the same bytes: the first (in source order) wins.
        let (out, n) = apply_fixes(text, &[fix(&[(0, 6, "try")]), fix(&[(2, 4, "X")])]);
        assert_eq!((out.as_str(), n), ("try:\n    pass\n", 1));
        // Two insertions at one place would be ambiguous: one is kept.
        let (_, n) = apply_fixes(text, &[fix(&[(6, 6, " A")]), fix(&[(6, 6, " B")])]);
        assert_eq!(n, 1);
        // Out of range: skipped, never a panic.
        let (out, n) = apply_fixes(text, &[fix(&[(30, 40, "x")])]);
        assert_eq!((out.as_str(), n), (text, 0));
    }

    #[test]
    fn selectors() {
        assert!(selects("ALL", "TG201") && selects("all", "TG201"));
        assert!(selects("tg2", "TG201") && selects("TG201", "TG201"));
        assert!(!selects("TG3", "TG201") && !selects("TG2011", "TG201") && !selects("", "TG201"));
    }
}
