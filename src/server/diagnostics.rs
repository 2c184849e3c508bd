//! Computing an open document's findings and turning them into LSP diagnostics. An analysis is a
//! [`Job`]: the workspace scanned with the open documents' in-memory text replacing the files on disk
//! (`commands::analyse` with an overlay: the same configuration, project index, suppressions and
//! filters as `trunkguard check`; the result cache makes the unchanged files cheap). Jobs run on a worker
//! thread; the loop in `mod.rs` debounces edits ([`Debounce`]) and drops results for a version of a
//! document that has since changed.

use super::documents::{Encoding, Lines, path_to_uri};
use crate::finding::{Finding, Level, Notification, Related};
use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long edits must pause before the document is analysed.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// When the next analysis is due: edits push it back by [`DEBOUNCE`]; opening or saving a document
/// (or a configuration change) makes it due at once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Debounce {
    due: Option<Instant>,
}

impl Debounce {
    /// An edit at `now`: analyse once edits pause.
    pub fn edited(&mut self, now: Instant) {
        self.due = Some(now + DEBOUNCE);
    }

    /// Analyse as soon as possible.
    pub fn now(&mut self, now: Instant) {
        self.due = Some(self.due.map_or(now, |d| d.min(now)));
    }

    /// How long to wait before the analysis is due (`None`: nothing to do).
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.due.map(|d| d.saturating_duration_since(now))
    }

    /// Takes the pending analysis if it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> bool {
        if self.due.is_some_and(|d| d <= now) {
            self.due = None;
            return true;
        }
        false
    }
}

/// One open document as a job sees it.
#[derive(Debug, Clone)]
pub struct JobDoc {
    pub uri: String,
    pub path: PathBuf,
    pub text: String,
    pub version: i32,
}

/// An analysis of the workspace with the open documents' text.
#[derive(Debug, Clone)]
pub struct Job {
    pub generation: u64,
    pub root: PathBuf,
    /// Use the result cache (off with the initialization option `{"cache": false}`).
    pub cache: bool,
    /// Set by the loop when the text changes while the job runs: the job stops early (what it analysed
    /// stays in the cache) and its results are never published.
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub docs: Vec<JobDoc>,
}

/// What a job found for one document.
#[derive(Debug, Clone)]
pub struct DocResult {
    pub uri: String,
    pub version: i32,
    /// The findings `check` would report for the document (not silenced, not filtered).
    pub findings: Vec<Finding>,
    /// The tool's notes about it (syntax errors, too large).
    pub notes: Vec<Notification>,
}

/// A job's results.
#[derive(Debug)]
pub struct Outcome {
    pub generation: u64,
    pub docs: Vec<DocResult>,
    /// A configuration or I/O error that stopped the analysis (shown to the user).
    pub error: Option<String>,
}

/// Runs a job: `trunkguard check ROOT` (plus any open document outside it), quietly, with the documents'
/// text as an overlay.
pub fn run(job: &Job) -> Outcome {
    match analyse(job) {
        Ok(docs) => Outcome { generation: job.generation, docs, error: None },
        Err(e) if e.is::<crate::commands::Cancelled>() => {
            Outcome { generation: job.generation, docs: Vec::new(), error: None }
        }
        Err(e) => Outcome { generation: job.generation, docs: Vec::new(), error: Some(format!("{e:#}")) },
    }
}

fn analyse(job: &Job) -> anyhow::Result<Vec<DocResult>> {
    let root = &job.root;
    let absolute = |p: &Path| std::path::absolute(root.join(p)).unwrap_or_else(|_| root.join(p));
    // `--force-exclude`: an open document the configuration excludes gets no diagnostics, as in `check`.
    let mut argv: Vec<std::ffi::OsString> =
        vec!["trunkguard".into(), "check".into(), "--quiet".into(), "--force-exclude".into()];
    if !job.cache {
        argv.push("--no-cache".into());
    }
    argv.push(root.clone().into());
    argv.extend(job.docs.iter().filter(|d| !d.path.starts_with(root)).map(|d| d.path.clone().into()));
    let crate::cli::Command::Check(args) = <crate::cli::Cli as clap::Parser>::try_parse_from(argv)?.command else {
        anyhow::bail!("internal error: not a check command line");
    };
    let overlay: crate::scan::Overlay =
        job.docs.iter().map(|d| (absolute(&d.path), d.text.clone().into_bytes())).collect();
    let hooks = crate::commands::Hooks { before_scan: None, cancel: Some(&job.cancel) };
    let Some(analysed) = crate::commands::analyse(&args, root, &overlay, hooks)? else {
        return Ok(Vec::new());
    };
    let results = job
        .docs
        .iter()
        .map(|doc| {
            let key = absolute(&doc.path);
            let display = analysed.files.iter().find(|c| absolute(&c.path) == key).map(|c| c.display.as_str());
            let findings = analysed
                .report
                .reported()
                .filter(|(path, _)| Some(path.as_str()) == display)
                .map(|(_, f)| f.clone())
                .collect();
            let notes = analysed
                .report
                .notifications
                .iter()
                .filter(|n| n.path.is_some() && n.path.as_deref() == display)
                .cloned()
                .collect();
            DocResult { uri: doc.uri.clone(), version: doc.version, findings, notes }
        })
        .collect();
    Ok(results)
}

/// Where a rule's documentation is published (the diagnostic's code link).
pub fn doc_url(rule: &str) -> String {
    format!("{}/blob/main/rules/{rule}.md", env!("CARGO_PKG_REPOSITORY"))
}

fn severity(level: Level) -> DiagnosticSeverity {
    match level {
        Level::Error => DiagnosticSeverity::ERROR,
        Level::Warning => DiagnosticSeverity::WARNING,
        Level::Note => DiagnosticSeverity::INFORMATION,
    }
}

/// The range of a byte span in the document.
pub fn range(lines: &Lines<'_>, start: usize, end: usize, encoding: Encoding) -> Range {
    Range { start: lines.position(start, encoding), end: lines.position(end, encoding) }
}

/// A finding as a diagnostic: the rule id as its code with a link to the rule's documentation, the
/// rule's level as severity, related locations (where the secret originates, the write an elevation
/// reaches) as related information.
pub fn diagnostic(f: &Finding, uri: &Uri, lines: &Lines<'_>, encoding: Encoding, root: &Path) -> Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> =
        f.related.iter().chain(&f.flow).filter_map(|r| related_information(r, uri, lines, encoding, root)).collect();
    Diagnostic {
        range: range(lines, f.span.start_byte, f.span.end_byte, encoding),
        severity: Some(severity(f.level)),
        code: Some(NumberOrString::String(f.rule.to_string())),
        code_description: doc_url(f.rule).parse().ok().map(|href| CodeDescription { href }),
        source: Some("trunkguard".into()),
        message: f.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// A related location: in the document itself (converted with its text), or in another file of the
/// workspace (its line and UTF-16 column as the analysis resolved them).
fn related_information(
    r: &Related,
    uri: &Uri,
    lines: &Lines<'_>,
    encoding: Encoding,
    root: &Path,
) -> Option<DiagnosticRelatedInformation> {
    let (uri, range) = match &r.path {
        None => (uri.clone(), range(lines, r.span.start_byte, r.span.end_byte, encoding)),
        Some(other) => {
            let at = |p: crate::source::Position| lsp_types::Position {
                line: p.line.saturating_sub(1) as u32,
                character: p.column.saturating_sub(1) as u32,
            };
            (path_to_uri(&root.join(other))?, Range { start: at(r.span.start), end: at(r.span.end) })
        }
    };
    Some(DiagnosticRelatedInformation { location: Location { uri, range }, message: r.message.clone() })
}

/// A note about the document (a syntax error, a file too large to analyse) as a diagnostic on its line.
pub fn note_diagnostic(n: &Notification, lines: &Lines<'_>, encoding: Encoding) -> Diagnostic {
    let line = n.line.unwrap_or(1).saturating_sub(1) as u32;
    let end = lines.line_start(line as usize) + lines.line(line as usize).len();
    let width = lines.position(end, encoding).character;
    Diagnostic {
        range: Range {
            start: lsp_types::Position { line, character: 0 },
            end: lsp_types::Position { line, character: width },
        },
        severity: Some(severity(n.level)),
        code: Some(NumberOrString::String(n.id.to_string())),
        source: Some("trunkguard".into()),
        message: n.message.clone(),
        ..Diagnostic::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_analyses_the_buffer_not_the_disk_and_a_cancelled_one_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.py");
        std::fs::write(&path, "").unwrap();
        let text = "try:\n    g()\nexcept:\n    pass\n".to_string();
        let doc = JobDoc { uri: "file:///a.py".into(), path, text, version: 3 };
        let job = |cancelled: bool| Job {
            generation: 1,
            root: dir.path().to_path_buf(),
            cache: false,
            cancel: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(cancelled)),
            docs: vec![doc.clone()],
        };
        let done = run(&job(false));
        assert_eq!(done.error, None);
        assert_eq!(done.docs.len(), 1);
        assert_eq!(done.docs[0].version, 3);
        let rules: Vec<&str> = done.docs[0].findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["TG203"]);
        let cancelled = run(&job(true));
        assert!(cancelled.docs.is_empty() && cancelled.error.is_none(), "{cancelled:?}");
    }

    #[test]
    fn edits_push_the_analysis_back_and_opening_brings_it_forward() {
        let t0 = Instant::now();
        let mut d = Debounce::default();
        assert_eq!(d.wait(t0), None);
        assert!(!d.take_due(t0));
        d.edited(t0);
        assert!(!d.take_due(t0), "not due while edits may still come");
        d.edited(t0 + DEBOUNCE / 2);
        assert!(!d.take_due(t0 + DEBOUNCE), "a second edit pushes it back");
        assert_eq!(d.wait(t0 + DEBOUNCE), Some(DEBOUNCE / 2));
        assert!(d.take_due(t0 + DEBOUNCE * 2));
        assert!(!d.take_due(t0 + DEBOUNCE * 3), "taken once");
        d.edited(t0);
        d.now(t0);
        assert!(d.take_due(t0), "a save makes it due at once");
    }
}
