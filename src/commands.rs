//! The command-line edge: each subcommand wired from the stages, errors with context (anyhow), the
//! exit status. `check` is the main job: configuration → selection → discovery → scan → per-file
//! ignores, diff and baseline → reports (several from one run) → exit status.

use crate::cli::{CheckArgs, ColorChoice, Command, ConfigSource, FailOn, OutputFormat};
use crate::config::{self, Config};
use crate::finding::{Level, Notification};
use crate::{baseline, diff, discover, docs, output, report, rules, selection, source, triage};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
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

/// Scans with more files than this show a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: usize = 300;

/// Runs a parsed command line; returns the exit status. Errors are usage/IO errors (exit 2).
pub fn run(cli: crate::cli::Cli) -> Result<Exit> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules(args) => {
            let out = if args.markdown { docs::markdown_table() } else { rules_listing() };
            print_stdout(&out)?;
            Ok(Exit::Clean)
        }
        Command::Rule { id } => {
            let doc = docs::get(&id).with_context(|| format!("unknown rule `{id}`; `trunkguard rules` lists them"))?;
            print_stdout(&doc.render_text())?;
            Ok(Exit::Clean)
        }
        Command::Config(args) => {
            let config = load_config(&args.config, &args.path)?;
            print_stdout(&config::describe(&config, &BTreeMap::new()))?;
            Ok(Exit::Clean)
        }
        Command::ParseTree { path } => {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let (src, _) = source::SourceFile::decode(path.clone(), path.display().to_string(), &bytes);
            let tree = crate::engine::new_parser().parse(src.parser_text().as_bytes(), None).context("parse failed")?;
            print_stdout(&format!("{}\n", tree.root_node().to_sexp()))?;
            Ok(Exit::Clean)
        }
    }
}

fn rules_listing() -> String {
    let mut out = String::new();
    for d in docs::all() {
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

/// The configuration for a run: `--config FILE`, else the nearest file at or above `start`, unless
/// `--isolated`.
fn load_config(source: &ConfigSource, start: &Path) -> Result<Config> {
    let cwd = std::env::current_dir().context("cannot determine the working directory")?;
    let file = match (&source.config, source.isolated) {
        (_, true) => None,
        (Some(file), false) => Some(file.clone()),
        (None, false) => config::find(start),
    };
    match file {
        Some(file) => Ok(config::load(&file, &rules::ids())?),
        None => Ok(Config { root: cwd, ..Config::default() }),
    }
}

/// Where one report goes: a file, or standard output.
struct Destination {
    format: OutputFormat,
    file: Option<PathBuf>,
}

fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Text => "text",
        OutputFormat::Sarif => "sarif",
        OutputFormat::Json => "json",
        OutputFormat::Github => "github",
        OutputFormat::Junit => "junit",
        OutputFormat::Gitlab => "gitlab",
        OutputFormat::Review => "review",
    }
}

/// Pairs `--output-format` values with `--output` destinations. `--output FILE` goes with the only
/// format; `--output FORMAT=FILE` names its format (adding it if not listed). At most one report
/// may go to standard output.
fn plan_outputs(formats: &[OutputFormat], outputs: &[String]) -> Result<Vec<Destination>> {
    let mut plan: Vec<Destination> = formats.iter().map(|&format| Destination { format, file: None }).collect();
    if plan.is_empty() {
        plan.push(Destination { format: OutputFormat::Text, file: None });
    }
    let named = |s: &str| -> Option<(OutputFormat, PathBuf)> {
        let (name, file) = s.split_once('=')?;
        let format = <OutputFormat as clap::ValueEnum>::from_str(name, true).ok()?;
        Some((format, PathBuf::from(file)))
    };
    for out in outputs {
        match named(out) {
            Some((format, file)) => {
                let implicit_text = formats.is_empty() && plan.len() == 1 && plan[0].file.is_none();
                match plan.iter().position(|d| d.format == format) {
                    Some(i) if plan[i].file.is_some() => {
                        bail!("--output: two destinations for the {} report", format_name(format))
                    }
                    Some(i) => plan[i].file = Some(file),
                    None if implicit_text => plan[0] = Destination { format, file: Some(file) },
                    None => plan.push(Destination { format, file: Some(file) }),
                }
            }
            None if plan.len() == 1 && plan[0].file.is_none() => plan[0].file = Some(PathBuf::from(out)),
            None => bail!("--output {out}: with several formats, name the format: --output FORMAT=FILE"),
        }
    }
    for (i, d) in plan.iter().enumerate() {
        if plan[..i].iter().any(|e| e.format == d.format) {
            bail!("--output-format {} given twice", format_name(d.format));
        }
    }
    if plan.iter().filter(|d| d.file.is_none()).count() > 1 {
        bail!("several reports would go to standard output: give each but one an --output FORMAT=FILE");
    }
    Ok(plan)
}

/// The result cache directory of a run, `None` with `--no-cache`.
fn cache_dir(args: &CheckArgs, root: &Path, cwd: &Path) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    let dir = args.cache_dir.clone().unwrap_or_else(|| root.join(crate::cache::DEFAULT_DIR));
    Some(cwd.join(dir))
}

fn check(args: &CheckArgs) -> Result<Exit> {
    let cwd = std::env::current_dir().context("cannot determine the working directory")?;
    let start = args.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let config = load_config(&args.config, &start)?;
    let mut settings = config.settings.clone();
    if !args.select.is_empty() {
        settings.select = Some(args.select.clone());
    }
    settings.extend_select.extend(args.extend_select.iter().cloned());
    settings.ignore.extend(args.ignore.iter().cloned());
    settings.exclude.extend(args.exclude.iter().cloned());
    settings.include_tests |= args.include_tests;
    let rules = selection::resolve_with(settings.select.as_deref(), &settings.extend_select, &settings.ignore)?;
    let excludes = discover::exclude_set(&settings.exclude)?;
    let mut triage = triage::Triage::new(&settings, &config.root, &cwd)?;
    let plan = plan_outputs(&args.output_format, &args.output)?;
    // Prepare output files first: an unwritable destination fails before any work is done.
    let mut files = Vec::new();
    for d in &plan {
        if let Some(file) = &d.file {
            files.push((d.format, output::AtomicOutput::create(file)?));
        }
    }
    if !files.is_empty() {
        output::install_interrupt_cleanup();
    }
    triage.baseline = args.baseline.as_deref().map(baseline::Baseline::load).transpose()?;
    triage.changes = args.diff_against.as_deref().map(|rev| diff::changes_since(&cwd, rev)).transpose()?;

    let found = discover::discover(&args.paths, &excludes, &cwd)?;
    triage.scanned = Some(found.files.iter().map(|c| c.display.clone()).collect());
    let progress = (found.files.len() > PROGRESS_THRESHOLD && !args.quiet && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(found.files.len() as u64));
    let options = crate::scan::ScanOptions {
        threads: args.threads,
        progress: progress.as_ref(),
        full_parse: args.full_parse,
        cache_dir: cache_dir(args, &config.root, &cwd),
    };
    if args.parse_only {
        let started = std::time::Instant::now();
        let floor = crate::scan::parse_only(&found.files, args.threads)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "trunkguard: parse-only: {} files, {:.1} MB, {} nodes in {secs:.3} s",
            floor.files,
            floor.bytes as f64 / 1e6,
            floor.nodes
        );
        return Ok(Exit::Clean);
    }
    let mut scan = crate::scan::scan(&found.files, &rules, &settings, &options)?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    if let Some(warning) = scan.cache_warning.take().filter(|_| !args.quiet) {
        eprintln!("trunkguard: warning: {warning}; results are complete, the next run starts cold");
    }
    let mut report = report::Report::new(scan.findings);
    report.notifications = scan.notifications;
    report.notifications.extend(found.notifications.iter().cloned());
    report.rules = rules.iter().filter_map(|r| docs::get(r.id())).collect();
    report.files_scanned = scan.files_scanned;
    report.srcroot = cwd.clone();
    report.uris = found.files.iter().map(|c| (c.display.clone(), c.uri.clone())).collect();
    report.show_suppressed = args.show_suppressed;
    triage.apply(&mut report);
    if !args.quiet || report.notifications.iter().any(|n| n.level == Level::Error) {
        print_notifications(&report.notifications, args.quiet);
    }
    let to_terminal = std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    for d in plan.iter().filter(|d| d.file.is_none()) {
        print_stdout(&render(&report, d.format, color, !args.quiet))?;
    }
    for (format, file) in files {
        file.commit(render(&report, format, false, !args.quiet).as_bytes())?;
    }
    if !args.quiet && plan.iter().all(|d| d.file.is_some()) {
        let written: Vec<String> =
            plan.iter().filter_map(|d| d.file.as_ref().map(|f| f.display().to_string())).collect();
        eprintln!("trunkguard: {} Written to {}.", report.summary(), written.join(", "));
    }
    if args.statistics {
        eprint!("{}", statistics(&report));
    }
    let threshold = match args.fail_on {
        FailOn::Error => Level::Error,
        FailOn::Warning => Level::Warning,
        FailOn::Note => Level::Note,
    };
    // Against a baseline only new findings are reported, so `--fail-on-new` needs no filter of its own.
    let failing = report.reported().filter(|(_, f)| f.level >= threshold).count();
    Ok(if failing == 0 || args.exit_zero { Exit::Clean } else { Exit::Findings })
}

fn render(report: &report::Report, format: OutputFormat, color: bool, summary: bool) -> String {
    match format {
        OutputFormat::Text => report::text::render(report, color, summary),
        OutputFormat::Sarif => report::sarif::render(report),
        OutputFormat::Json => report::json::render(report),
        OutputFormat::Github => report::github::render(report),
        OutputFormat::Junit => report::junit::render(report),
        OutputFormat::Gitlab => report::gitlab::render(report),
        OutputFormat::Review => report::review::render(report),
    }
}

/// Findings per rule, most frequent first: `  12  TG201  broad-except-swallowed`.
fn statistics(report: &report::Report) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, f) in report.reported() {
        *counts.entry(f.rule).or_default() += 1;
    }
    let mut rows: Vec<(&str, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out = String::new();
    for (rule, n) in rows {
        let name = docs::get(rule).map_or("", |d| d.name.as_str());
        out.push_str(&format!("{n:>6}  {rule}  {name}\n"));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(formats: &[OutputFormat], outputs: &[&str]) -> Result<Vec<(&'static str, Option<String>)>> {
        let outputs: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        Ok(plan_outputs(formats, &outputs)?
            .into_iter()
            .map(|d| (format_name(d.format), d.file.map(|f| f.display().to_string())))
            .collect())
    }

    #[test]
    fn output_plans() {
        use OutputFormat::*;
        assert_eq!(plan(&[], &[]).unwrap(), [("text", None)]);
        assert_eq!(plan(&[Sarif], &["a.sarif"]).unwrap(), [("sarif", Some("a.sarif".into()))]);
        assert_eq!(plan(&[], &["sarif=a.sarif"]).unwrap(), [("sarif", Some("a.sarif".into()))]);
        assert_eq!(
            plan(&[Text, Sarif], &["sarif=a.sarif"]).unwrap(),
            [("text", None), ("sarif", Some("a.sarif".into()))]
        );
        assert_eq!(
            plan(&[Text], &["json=r.json", "sarif=a.sarif"]).unwrap(),
            [("text", None), ("json", Some("r.json".into())), ("sarif", Some("a.sarif".into()))]
        );
        assert!(plan(&[Text, Sarif], &[]).is_err(), "two reports to stdout");
        assert!(plan(&[Text, Sarif], &["x.out"]).is_err(), "ambiguous destination");
        assert!(plan(&[Sarif, Sarif], &[]).is_err());
    }
}
