//! The command-line edge: each subcommand wired from the stages, errors with context (anyhow), the
//! exit status. `check` is the main job: configuration → selection → discovery → scan → per-file
//! ignores, diff and baseline → reports (several from one run) → exit status.

use crate::cli::{CheckArgs, ColorChoice, Command, ConfigSource, FailOn, OutputFormat};
use crate::config::{self, Config};
use crate::finding::{BaselineState, Level, Notification};
use crate::{Exit, baseline, diff, discover, output, report, rules, selection, source};
use anyhow::{Context, Result, bail};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Scans with more files than this show a progress bar (when stderr is a terminal).
const PROGRESS_THRESHOLD: usize = 300;

/// Runs a parsed command line; returns the exit status. Errors are usage/IO errors (exit 2).
pub fn run(cli: crate::cli::Cli) -> Result<Exit> {
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
    for d in rules::docs::all() {
        let on = if d.enabled { "on" } else { "opt-in" };
        out.push_str(&format!("{:<6} {:<32} {:<8} {:<7} {}\n", d.id, d.name, d.level.as_str(), on, d.summary));
    }
    out
}

/// Prints a listing (rules, a rule, the configuration). A closed pipe (`trunkguard rules | head`) is
/// not an error worth reporting, as in ruff; a closed standard output is.
fn print_stdout(s: &str) -> Result<()> {
    write_stdout(s).map(drop)
}

/// Writes `s` to standard output: `Ok(false)` when the reader went away (broken pipe), an error when
/// standard output is closed or fails otherwise.
fn write_stdout(s: &str) -> Result<bool> {
    if !output::stdout_is_open() {
        return Err(output::OutputError::StdoutClosed.into());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// Prints an error that does not stop the run (one report that could not be written); returns `true`.
fn report_error(e: &dyn std::fmt::Display) -> bool {
    eprintln!("trunkguard: error: {}", crate::escape::visible(&e.to_string()));
    true
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
        Some(file) => Ok(config::load(&file)?),
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

/// Per-file ignores: (glob set, rule selectors) pairs.
struct PerFileIgnores(Vec<(GlobSet, Vec<String>)>);

impl PerFileIgnores {
    fn new(entries: &[(String, Vec<String>)]) -> Result<PerFileIgnores> {
        let mut out = Vec::new();
        for (glob, rules) in entries {
            let set = GlobSetBuilder::new()
                .add(Glob::new(glob).with_context(|| format!("per-file-ignores: invalid glob `{glob}`"))?)
                .build()
                .with_context(|| format!("per-file-ignores: invalid glob `{glob}`"))?;
            out.push((set, rules.iter().map(|r| r.to_ascii_uppercase()).collect()));
        }
        Ok(PerFileIgnores(out))
    }

    /// Is rule `rule` ignored in the file at `paths` (display path, path relative to the config)?
    fn ignores(&self, paths: &[&str], rule: &str) -> bool {
        self.0.iter().any(|(set, rules)| {
            paths.iter().any(|p| set.is_match(p)) && rules.iter().any(|s| s == "ALL" || rule.starts_with(s.as_str()))
        })
    }
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
    settings.max_file_size = args.max_file_size.or(settings.max_file_size);
    let rules = selection::resolve_with(settings.select.as_deref(), &settings.extend_select, &settings.ignore)?;
    let excludes = discover::exclude_set(&settings.exclude)?;
    let per_file = PerFileIgnores::new(&settings.per_file_ignores)?;
    let plan = plan_outputs(&args.output_format, &args.output)?;
    // Check output destinations first: an unwritable one fails before any work is done. Each
    // destination fails on its own; the others are still written.
    let to_stdout = plan.iter().any(|d| d.file.is_none());
    if to_stdout && !output::stdout_is_open() {
        return Err(output::OutputError::StdoutClosed.into());
    }
    let mut failed = false;
    let mut files = Vec::new();
    for d in &plan {
        if let Some(file) = &d.file {
            match output::AtomicOutput::create(file) {
                Ok(out) => files.push((d.format, out)),
                Err(e) => failed = report_error(&e),
            }
        }
    }
    if failed && files.is_empty() && !to_stdout {
        return Ok(Exit::Error);
    }
    if !files.is_empty() {
        output::install_interrupt_cleanup();
    }
    let old = args.baseline.as_deref().map(baseline::Baseline::load).transpose()?;
    let changes = args.diff_against.as_deref().map(|rev| diff::changes_since(&cwd, rev)).transpose()?;

    let threads = args.threads.map(|n| {
        let cap = crate::cli::max_threads();
        if n > cap {
            eprintln!("trunkguard: warning: --threads {n} capped at {cap} (4 per core, at most 256)");
        }
        n.min(cap)
    });
    let found = discover::discover(&args.paths, &excludes, &cwd)?;
    for (_, out) in &files {
        out.check_not_scanned(found.files.iter().map(|c| c.path.as_path()))?;
    }
    let progress = (found.files.len() > PROGRESS_THRESHOLD && !args.quiet && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(found.files.len() as u64));
    let options = crate::ScanOptions {
        threads,
        progress: progress.as_ref(),
        full_parse: args.full_parse,
        cache_dir: cache_dir(args, &config.root, &cwd),
    };
    if args.parse_only {
        let started = std::time::Instant::now();
        let limit = settings.max_file_size.unwrap_or(source::DEFAULT_MAX_FILE_SIZE);
        let floor = crate::parse_only(&found.files, threads, limit)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "trunkguard: parse-only: {} files, {:.1} MB, {} nodes in {secs:.3} s",
            floor.files,
            floor.bytes as f64 / 1e6,
            floor.nodes
        );
        return Ok(Exit::Clean);
    }
    let mut scan = crate::scan(&found.files, &rules, &settings, &options)?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    if let Some(warning) = scan.cache_warning.take().filter(|_| !args.quiet) {
        let warning = format!("trunkguard: warning: {warning}");
        eprintln!("{}", crate::escape::visible(&warning));
    }
    let config_root = std::path::absolute(&config.root).unwrap_or(config.root.clone());
    scan.findings.retain(|(path, f)| {
        let rel = std::path::absolute(cwd.join(path))
            .ok()
            .and_then(|a| a.strip_prefix(&config_root).ok().map(Path::to_path_buf));
        let rel = rel.map(|r| discover::display_path(&r, Path::new("")));
        let paths: Vec<&str> = [Some(path.as_str()), rel.as_deref()].into_iter().flatten().collect();
        !per_file.ignores(&paths, f.rule)
    });
    if !settings.include_tests {
        scan.findings.retain(|(path, _)| !discover::is_test_path(path));
    }
    if let Some(changes) = &changes {
        scan.findings.retain(|(path, f)| changes.contains(path, f.span.start.line));
    }
    let absent = old.map(|b| b.apply(scan.findings.iter_mut().map(|(_, f)| f))).unwrap_or_default();
    scan.notifications.extend(found.notifications.iter().cloned());
    scan.notifications.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    let report = report::Report {
        findings: scan.findings,
        notifications: scan.notifications,
        rules: rules.iter().filter_map(|r| rules::docs::get(r.id())).collect(),
        files_scanned: scan.files_scanned,
        srcroot: cwd.clone(),
        uris: found.files.iter().map(|c| (c.display.clone(), c.uri.clone())).collect(),
        show_suppressed: args.show_suppressed,
        absent,
    };
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
        // A reader that went away (`| head`) is quiet, but the report was not delivered: exit 2.
        match write_stdout(&render(&report, d.format, color, !args.quiet)) {
            Ok(delivered) => failed |= !delivered,
            Err(e) => failed = report_error(&format!("{e:#}")),
        }
    }
    for (format, file) in files {
        if let Err(e) = file.commit(render(&report, format, false, !args.quiet).as_bytes()) {
            failed = report_error(&e);
        }
    }
    if failed {
        return Ok(Exit::Error);
    }
    if !args.quiet && plan.iter().all(|d| d.file.is_some()) {
        let written: Vec<String> =
            plan.iter().filter_map(|d| d.file.as_ref().map(|f| f.display().to_string())).collect();
        eprintln!("trunkguard: {} Written to {}.", report.summary(), crate::escape::visible(&written.join(", ")));
    }
    if args.statistics {
        eprint!("{}", statistics(&report));
    }
    let threshold = match args.fail_on {
        FailOn::Error => Level::Error,
        FailOn::Warning => Level::Warning,
        FailOn::Note => Level::Note,
    };
    let failing = report
        .active()
        .filter(|(_, f)| f.level >= threshold)
        .filter(|(_, f)| !args.fail_on_new || f.baseline == Some(BaselineState::New))
        .count();
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
    for (_, f) in report.active() {
        *counts.entry(f.rule).or_default() += 1;
    }
    let mut rows: Vec<(&str, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out = String::new();
    for (rule, n) in rows {
        let name = rules::docs::get(rule).map_or("", |d| d.name.as_str());
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
        let line = format!("trunkguard: {}: {place}{}", n.level.as_str(), n.message);
        let _ = writeln!(err, "{}", crate::escape::visible(&line));
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
