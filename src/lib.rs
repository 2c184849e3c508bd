//! trunkguard: a static security-review analyzer for OpenStack Neutron-style Python code.
//!
//! Stages, each owning one job: [`discover`] (which files) → [`source`] (bytes → text, line index) →
//! [`engine`] (one parse, one walk, dispatch to [`rules`]) → [`finding`]s → [`report`] formats.
//! [`run`] wires them for the command line.

pub mod cli;
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

use anyhow::{Context, Result};
use cli::{CheckArgs, ColorChoice, Command, OutputFormat};
use finding::{Finding, Level, Notification};
use rayon::prelude::*;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

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

/// Scans `files` with `rules` on `threads` worker threads (None: one per core).
pub fn scan(files: &[discover::Candidate], rules: &[&'static dyn rules::Rule], threads: Option<usize>) -> Result<Scan> {
    let engine = engine::Engine::new(rules);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let outcomes: Vec<(engine::FileAnalysis, Vec<Notification>)> = pool.install(|| {
        files.par_iter().map_init(engine::new_parser, |parser, file| analyse_file(&engine, parser, file)).collect()
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

/// Reads, decodes, parses and analyses one file. Never panics outward: a panic inside a rule becomes
/// an `internal-error` notification and the scan goes on.
fn analyse_file(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
) -> (engine::FileAnalysis, Vec<Notification>) {
    let note =
        |id, level, line, message: String| Notification { id, level, path: Some(file.display.clone()), line, message };
    let bytes = match std::fs::read(&file.path) {
        Ok(b) => b,
        Err(e) => {
            return (
                Default::default(),
                vec![note("read-error", Level::Error, None, format!("cannot read file: {e}"))],
            );
        }
    };
    let (src, decode) = source::SourceFile::decode(file.path.clone(), file.display.clone(), &bytes);
    drop(bytes);
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

/// Runs a parsed command line; returns the exit status. Errors are usage/IO errors (exit 2).
pub fn run(cli: cli::Cli) -> Result<Exit> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules(args) => {
            let out = if args.markdown { rules::docs::markdown_table() } else { rules_listing() };
            print_stdout(&out)?;
            Ok(Exit::Clean)
        }
        Command::Rule { id } => {
            let doc =
                rules::docs::get(&id).with_context(|| format!("unknown rule `{id}`; `trunkguard rules` lists them"))?;
            print_stdout(&doc.render_text())?;
            Ok(Exit::Clean)
        }
        Command::ParseTree { path } => {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let (src, _) = source::SourceFile::decode(path.clone(), path.display().to_string(), &bytes);
            let tree = engine::new_parser().parse(src.parser_text().as_bytes(), None).context("parse failed")?;
            print_stdout(&format!("{}\n", tree.root_node().to_sexp()))?;
            Ok(Exit::Clean)
        }
    }
}

fn rules_listing() -> String {
    let mut out = String::new();
    for d in rules::docs::all() {
        let on = if d.enabled { "on" } else { "opt-in" };
        out.push_str(&format!("{:<6} {:<32} {:<8} {:<7} {}\n", d.id, d.name, d.level.as_str(), on, d.summary));
    }
    out
}

fn print_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`trunkguard rules | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn check(args: &CheckArgs) -> Result<Exit> {
    let cwd = std::env::current_dir().context("cannot determine the working directory")?;
    let rules = selection::resolve(&args.select, &args.ignore)?;
    let excludes = discover::exclude_set(&args.exclude)?;
    // Prepare the output file first: an unwritable destination fails before any work is done.
    let output = args.output.as_deref().map(output::AtomicOutput::create).transpose()?;
    let found = discover::discover(&args.paths, &excludes, &cwd)?;
    let mut scan = scan(&found.files, &rules, args.threads)?;
    scan.notifications.extend(found.notifications);
    scan.notifications.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    let report = report::Report {
        findings: scan.findings,
        notifications: scan.notifications,
        rules: rules.iter().filter_map(|r| rules::docs::get(r.id())).collect(),
        files_scanned: scan.files_scanned,
        srcroot: cwd.clone(),
    };
    if !args.quiet || report.notifications.iter().any(|n| n.level == Level::Error) {
        print_notifications(&report.notifications, args.quiet);
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let rendered = match args.output_format {
        OutputFormat::Text => report::text::render(&report, color && args.output.is_none(), !args.quiet),
        OutputFormat::Sarif => report::sarif::render(&report),
        OutputFormat::Json => report::json::render(&report),
    };
    match output {
        Some(out) => out.commit(rendered.as_bytes())?,
        None => print_stdout(&rendered)?,
    }
    if let (Some(path), false) = (&args.output, args.quiet) {
        eprintln!("trunkguard: {} written to {}", report.summary(), display(path));
    }
    Ok(if report.findings.is_empty() || args.exit_zero { Exit::Clean } else { Exit::Findings })
}

fn display(path: &Path) -> String {
    PathBuf::from(path).display().to_string()
}

fn print_notifications(notes: &[Notification], quiet: bool) {
    let mut err = std::io::stderr().lock();
    for n in notes.iter().filter(|n| !quiet || n.level == Level::Error) {
        let place = match (&n.path, n.line) {
            (Some(p), Some(l)) => format!("{p}:{l}: "),
            (Some(p), None) => format!("{p}: "),
            _ => String::new(),
        };
        let _ = writeln!(err, "trunkguard: {}: {place}{}", n.level.as_str(), n.message);
    }
}
