//! trunkguard: a static security-review analyzer for OpenStack Neutron-style Python code.
//!
//! Stages, each owning one job: [`discover`] (which files) → [`source`] (bytes → text, line index) →
//! [`engine`] (one parse, one walk, dispatch to [`rules`]) → [`finding`]s → [`report`] formats.
//! [`scan`] runs the stages over a set of files; [`commands::run`] wires them for the command line.

pub mod baseline;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod finding;
pub mod index;
pub mod output;
pub mod python;
pub mod report;
pub mod rules;
pub mod selection;
pub mod source;
pub mod suppress;

pub use commands::run;

use anyhow::{Context, Result};
use finding::{Finding, Level, Notification};
use rayon::prelude::*;

/// Process exit statuses, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// No findings.
    Clean = 0,
    /// Findings reported.
    Findings = 1,
    /// Usage, configuration or I/O error.
    Error = 2,
}

/// What scanning a set of files produced.
#[derive(Debug, Default)]
pub struct Scan {
    /// (display path, finding), sorted by path, line, column, rule.
    pub findings: Vec<(String, Finding)>,
    /// Sorted by path, line.
    pub notifications: Vec<Notification>,
    pub files_scanned: usize,
}

/// How a scan runs (none of it changes the findings).
#[derive(Debug, Default, Clone)]
pub struct ScanOptions<'p> {
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
    /// Ticked once per file.
    pub progress: Option<&'p indicatif::ProgressBar>,
    /// Parse every function of every file, even those no selected rule can fire in.
    pub full_parse: bool,
}

/// Scans `files` with `rules` and `settings`.
pub fn scan(
    files: &[discover::Candidate],
    rules: &[&'static dyn rules::Rule],
    settings: &config::Settings,
    options: &ScanOptions<'_>,
) -> Result<Scan> {
    let engine = engine::Engine::new(rules, settings.clone());
    let progress = options.progress;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let outcomes: Vec<(engine::FileAnalysis, Vec<Notification>)> = pool.install(|| {
        files
            .par_iter()
            .map_init(engine::new_parser, |parser, file| {
                let outcome = analyse_file(&engine, parser, file);
                if let Some(p) = progress {
                    p.inc(1);
                }
                outcome
            })
            .collect()
    });
    // Project index: merge every file's facts, then keep the deferred findings whose condition holds
    // (e.g. a logged `CONF.database.connection` where some file declares `connection` secret). A set
    // union in file order: the same result whatever the thread count.
    let mut index = index::ProjectIndex::default();
    for (analysis, _) in &outcomes {
        index.merge(&analysis.facts);
    }
    let mut scan = Scan { files_scanned: files.len(), ..Scan::default() };
    for (file, (mut analysis, notes)) in files.iter().zip(outcomes) {
        let before = analysis.findings.len();
        analysis.findings.extend(analysis.deferred.drain(..).filter(|d| index.keeps(d)).map(|d| d.finding));
        if analysis.findings.len() != before {
            engine::finish(&file.display, &mut analysis.findings);
        }
        scan.findings.extend(analysis.findings.into_iter().map(|f| (file.display.clone(), f)));
        scan.notifications.extend(notes);
    }
    scan.findings.sort_by(|(pa, a), (pb, b)| {
        (pa, a.span.start.line, a.span.start.column, a.rule).cmp(&(pb, b.span.start.line, b.span.start.column, b.rule))
    });
    scan.notifications.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    Ok(scan)
}

/// Reads and analyses one file; an unreadable file becomes a `read-error` notification.
fn analyse_file(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
) -> (engine::FileAnalysis, Vec<Notification>) {
    match std::fs::read(&file.path) {
        Ok(bytes) => analyse_bytes(engine, parser, file, &bytes),
        Err(e) => (
            Default::default(),
            vec![Notification {
                id: "read-error",
                level: Level::Error,
                path: Some(file.display.clone()),
                line: None,
                message: format!("cannot read file: {e}"),
            }],
        ),
    }
}

/// Decodes, parses and analyses the contents of one file. Never panics outward: a panic inside a rule
/// becomes an `internal-error` notification (and a fresh parser), so the scan goes on. Deferred
/// findings (those waiting on the project index) are left in the analysis for [`scan`] to resolve.
pub fn analyse_bytes(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
    bytes: &[u8],
) -> (engine::FileAnalysis, Vec<Notification>) {
    let note =
        |id, level, line, message: String| Notification { id, level, path: Some(file.display.clone()), line, message };
    let (src, decode) = source::SourceFile::decode(file.path.clone(), file.display.clone(), bytes);
    let mut notes = Vec::new();
    match decode {
        Some(source::DecodeNote::InvalidUtf8 { byte_offset }) => notes.push(note(
            "decode-error",
            Level::Warning,
            None,
            format!("not valid UTF-8 (first bad byte at offset {byte_offset}); analysed with replacement characters"),
        )),
        Some(source::DecodeNote::UnknownEncoding { name }) => notes.push(note(
            "decode-error",
            Level::Warning,
            None,
            format!("unknown source encoding `{name}`; analysed as UTF-8 with replacement characters"),
        )),
        None => {}
    }
    if source::indentation_exceeds(&src.text, source::MAX_INDENT_LEVELS) {
        notes.push(note(
            "too-deep",
            Level::Warning,
            None,
            format!(
                "indentation nested more than {} levels deep; not analysed (the Python grammar cannot track it)",
                source::MAX_INDENT_LEVELS
            ),
        ));
        return (Default::default(), notes);
    }
    let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.analyse(parser, &src)));
    match analysed {
        Ok(Some(a)) => {
            if let Some(e) = a.syntax_errors {
                notes.push(note(
                    "syntax-error",
                    Level::Warning,
                    Some(e.first_line),
                    format!(
                        "syntax error at line {}, column {} ({} error node{}); the rest of the file was analysed",
                        e.first_line,
                        e.first_column,
                        e.count,
                        if e.count == 1 { "" } else { "s" }
                    ),
                ));
            }
            (a, notes)
        }
        Ok(None) => {
            notes.push(note("parse-error", Level::Error, None, "the parser gave up on this file".into()));
            (Default::default(), notes)
        }
        Err(panic) => {
            *parser = engine::new_parser();
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            notes.push(note("internal-error", Level::Error, None, format!("internal error while analysing: {what}")));
            (Default::default(), notes)
        }
    }
}
