//! The command-line edge: each subcommand wired from the stages, errors with context (anyhow), the
//! exit status. `check` is the main job: configuration → selection → discovery → scan → per-file
//! ignores, diff and baseline → reports (several from one run) → exit status.

use crate::cli::{CheckArgs, ColorChoice, Command, ConfigSource, FailOn, OutputFormat};
use crate::config::{self, Config};
use crate::finding::{Applicability, INCOMPLETE, Level, NOT_ANALYSED, Notification, selects};
use crate::scan::Overlay;
use crate::{baseline, diff, discover, docs, output, report, rules, safe_fs, selection, source, triage};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
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
            let cwd = std::env::current_dir().context("cannot determine the working directory")?;
            let config = load_config(&args.config, &args.path, &cwd)?;
            print_stdout(&config::describe(&config, &BTreeMap::new()))?;
            Ok(Exit::Clean)
        }
        Command::Inspect { function, project } => {
            let cwd = std::env::current_dir().context("cannot determine the working directory")?;
            let config = load_config(&crate::cli::ConfigSource { config: None, isolated: false }, &project, &cwd)?;
            let excludes = discover::exclude_set(&config.settings.exclude)?;
            let walk = discover::WalkOptions {
                excludes: &excludes,
                respect_gitignore: true,
                force_exclude: true,
                root: &project,
                skip: &[],
            };
            let found = discover::discover_with(std::slice::from_ref(&project), &walk, &cwd)?;
            let rules = crate::rules::REGISTRY.to_vec();
            let plan = crate::scan::Plan { rules, settings: config.settings.clone() };
            let options = crate::scan::ScanOptions::default();
            match crate::scan::inspect(&found.files, &[plan], &options, &function)? {
                // Names and paths come from the checkout: shown as escapes, never as control bytes.
                Some(out) => print_stdout(&out.lines().map(|l| crate::escape::visible(l) + "\n").collect::<String>())?,
                None => anyhow::bail!(
                    "no function `{function}` in {} (try `path/to/file.py::Class.method`)",
                    project.display()
                ),
            }
            Ok(Exit::Clean)
        }
        Command::ParseTree { path } => {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let (src, _) = source::SourceFile::decode(path.clone(), path.display().to_string(), &bytes);
            let tree = crate::engine::new_parser().parse(src.parser_text().as_bytes(), None).context("parse failed")?;
            print_stdout(&format!("{}\n", tree.root_node().to_sexp()))?;
            Ok(Exit::Clean)
        }
        // The language server sits beside this module: `crate::run` starts it.
        Command::Server => bail!("`trunkguard server` is started by trunkguard::run"),
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
fn load_config(source: &ConfigSource, start: &Path, cwd: &Path) -> Result<Config> {
    let file = match (&source.config, source.isolated) {
        (_, true) => None,
        (Some(file), false) => Some(file.clone()),
        (None, false) => config::find(start),
    };
    match file {
        Some(file) => Ok(config::load(&file, &rules::ids())?),
        None => Ok(Config { root: cwd.to_path_buf(), ..Config::default() }),
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
        OutputFormat::Concise => "concise",
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
    // `-` is standard output, as for most command-line tools.
    let file_or_stdout = |file: &str| (file != "-").then(|| PathBuf::from(file));
    let named = |s: &str| -> Option<(OutputFormat, Option<PathBuf>)> {
        let (name, file) = s.split_once('=')?;
        let format = <OutputFormat as clap::ValueEnum>::from_str(name, true).ok()?;
        Some((format, file_or_stdout(file)))
    };
    for out in outputs {
        match named(out) {
            Some((format, file)) => {
                let implicit_text = formats.is_empty() && plan.len() == 1 && plan[0].file.is_none();
                match plan.iter().position(|d| d.format == format) {
                    Some(i) if plan[i].file.is_some() => {
                        bail!("--output: two destinations for the {} report", format_name(format))
                    }
                    Some(i) => plan[i].file = file,
                    None if implicit_text => plan[0] = Destination { format, file },
                    None => plan.push(Destination { format, file }),
                }
            }
            None if plan.len() == 1 && plan[0].file.is_none() => plan[0].file = file_or_stdout(out),
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

/// The command line's additions to a configuration's settings.
fn with_command_line(mut settings: config::Settings, args: &CheckArgs) -> config::Settings {
    if !args.select.is_empty() {
        settings.select = Some(args.select.clone());
    }
    settings.extend_select.extend(args.extend_select.iter().cloned());
    settings.extend_select.extend(extend_select_from_env(std::env::var("TRUNKGUARD_EXTEND_SELECT").ok().as_deref()));
    settings.ignore.extend(args.ignore.iter().cloned());
    settings.exclude.extend(args.exclude.iter().cloned());
    settings.include_tests |= args.include_tests;
    settings.max_file_size = args.max_file_size.or(settings.max_file_size);
    settings
}

/// The files of a run, each with the plan (rules, settings) of its nearest configuration file.
struct PerFile {
    files: Vec<discover::Candidate>,
    plan_of: Vec<usize>,
    plans: Vec<crate::scan::Plan>,
    scopes: Vec<triage::Scope>,
}

/// For the review report: the opt-in rules no plan runs, each with how many findings it would have
/// reported (after suppressions, per-file ignores and the test-code filter). A scan of their own, so that
/// the run's results (TG001 included) are exactly those of a run without a review.
fn not_run(
    per_file: &PerFile,
    context: &PerFile,
    triage: &triage::Triage,
    options: &crate::scan::ScanOptions<'_>,
) -> Result<BTreeMap<&'static str, usize>> {
    let ran: Vec<&str> = per_file.plans.iter().flat_map(|p| p.rules.iter().map(|r| r.id())).collect();
    // A rule the user turned off on purpose (`ignore`) has nothing to say here.
    let ignored = |id: &str| per_file.plans.iter().all(|p| p.settings.ignore.iter().any(|s| selects(s, id)));
    let opt_in: Vec<&'static dyn rules::Rule> = rules::REGISTRY
        .iter()
        .copied()
        .filter(|r| !ran.contains(&r.id()) && !ignored(r.id()) && docs::get(r.id()).is_some_and(|d| !d.enabled))
        .collect();
    let files = &per_file.files;
    if opt_in.is_empty() || files.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Linked with the same project context as the run itself, so the counts are what the rules would
    // report (a handler whose helper re-raises is not counted).
    let plans: Vec<crate::scan::Plan> = per_file
        .plans
        .iter()
        .chain(&context.plans)
        .map(|p| crate::scan::Plan { rules: opt_in.clone(), settings: p.settings.clone() })
        .collect();
    let offset = per_file.plans.len();
    let plan_of: Vec<usize> =
        per_file.plan_of.iter().copied().chain(context.plan_of.iter().map(|p| p + offset)).collect();
    let options = crate::scan::ScanOptions { progress: None, ..options.clone() };
    let overlay = crate::scan::Overlay::new();
    let scan = crate::scan::scan_project(files, &context.files, &plan_of, &plans, &options, &overlay)?;
    let mut shadow = report::Report::new(scan.findings);
    let filters = triage::Triage {
        scopes: triage.scopes.clone(),
        scope_of: triage.scope_of.clone(),
        cwd: triage.cwd.clone(),
        ..triage::Triage::default()
    };
    filters.apply(&mut shadow);
    let mut counts = BTreeMap::new();
    for (_, f) in shadow.reported() {
        *counts.entry(f.rule).or_insert(0) += 1;
    }
    Ok(counts)
}

/// The selectors of `TRUNKGUARD_EXTEND_SELECT` (comma-separated). Unset or blank adds nothing, so a CI
/// template's empty variable is harmless; an empty entry inside a list is still a usage error.
fn extend_select_from_env(value: Option<&str>) -> Vec<String> {
    match value {
        Some(v) if !v.trim().is_empty() => v.split(',').map(|s| s.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Gives each file the configuration nearest to it (ruff's hierarchical configuration), so results do
/// not depend on the order of the paths given: `base` (the configuration of the paths' common ancestor) serves
/// the files it is nearest to; any other `pyproject.toml`/`trunkguard.toml` nearer to a file is loaded,
/// with the command line's additions, and its `exclude` applies to the files found under it (and to
/// files named explicitly with `--force-exclude`). With `--config` or `--isolated`, `base` serves all.
fn per_file_plans(
    args: &CheckArgs,
    base_config: &Config,
    base: crate::scan::Plan,
    files: Vec<discover::Candidate>,
    cwd: &Path,
) -> Result<PerFile> {
    let mut out = PerFile {
        plan_of: vec![0; files.len()],
        scopes: vec![triage::Scope::new(&base.settings, &base_config.root)?],
        plans: vec![base],
        files: Vec::new(),
    };
    if args.config.config.is_some() || args.config.isolated {
        out.files = files;
        return Ok(out);
    }
    let base_file = base_config.file.as_ref().and_then(|f| std::path::absolute(f).ok());
    // Configuration file → plan index (None: no configuration above the file at all).
    let mut plan_by_config: BTreeMap<Option<PathBuf>, usize> = BTreeMap::from([(base_file, 0)]);
    let mut finder = config::Finder::default();
    let mut excludes: Vec<Option<globset::GlobSet>> = vec![None];
    out.plan_of.clear();
    for file in files {
        let dir = std::path::absolute(cwd.join(&file.path)).ok().and_then(|p| p.parent().map(Path::to_path_buf));
        let nearest = match dir {
            Some(dir) => finder.find(&dir),
            None => None,
        };
        let plan = match plan_by_config.get(&nearest) {
            Some(&plan) => plan,
            None => {
                let config = match &nearest {
                    Some(path) => config::load(path, &rules::ids())?,
                    None => Config { root: cwd.to_path_buf(), ..Config::default() },
                };
                let settings = with_command_line(config.settings.clone(), args);
                let rules =
                    selection::resolve_with(settings.select.as_deref(), &settings.extend_select, &settings.ignore)?;
                excludes.push(Some(discover::exclude_set(&settings.exclude)?));
                out.scopes.push(triage::Scope::new(&settings, &config.root)?);
                out.plans.push(crate::scan::Plan { rules, settings });
                plan_by_config.insert(nearest, out.plans.len() - 1);
                out.plans.len() - 1
            }
        };
        let named = args.paths.contains(&file.path);
        let excluded = excludes[plan]
            .as_ref()
            .is_some_and(|set| (!named || args.force_exclude) && discover::is_excluded_under(set, &file.display));
        if !excluded {
            out.files.push(file);
            out.plan_of.push(plan);
        }
    }
    Ok(out)
}

/// The project root: the git root, else the directory of the configuration that applies to the paths
/// given, else the working directory. SARIF's `%SRCROOT%`, fingerprints and the paths GitHub and GitLab
/// resolve are relative to it, so a baseline made at the root matches a run from a subdirectory. The git
/// root comes first because that is what GitHub and GitLab resolve paths against, and it does not move
/// when a subdirectory has a configuration of its own.
fn project_root(config: &Config, start: &Path, cwd: &Path) -> PathBuf {
    let root = match (discover::vcs_root(start), &config.file) {
        (Some(git), _) => git,
        (None, Some(_)) => cwd.join(&config.root),
        (None, None) => cwd.to_path_buf(),
    };
    std::path::absolute(&root).unwrap_or(root)
}

/// The files of the project the paths given belong to, other than those files: the context the project
/// model links them with. The project is the configuration file's directory, else the git root, else
/// the paths' common directory when it is the working directory or below it (a lone file outside any
/// project has no context); it is walked with the run's exclusions. A project that cannot be
/// walked gives no context (the paths are still analysed).
fn project_context(
    config: &Config,
    start: &Path,
    cwd: &Path,
    walk: &discover::WalkOptions<'_>,
    paths: &[PathBuf],
    given: &[discover::Candidate],
) -> Vec<discover::Candidate> {
    let absolute = |p: &Path| std::path::absolute(cwd.join(p)).unwrap_or_else(|_| cwd.join(p));
    let root = match (&config.file, discover::vcs_root(start)) {
        (Some(_), _) => cwd.join(&config.root),
        (None, Some(git)) => git,
        // The paths' common directory, if it is the working directory or below it: paths far apart
        // (`a.py /proc/self/mem`) have `/` in common, which is nobody's project.
        (None, None) if start.is_dir() && absolute(start).starts_with(absolute(cwd)) => start.to_path_buf(),
        (None, None) => return Vec::new(), // one file outside any project: it is the project
    };
    let given: std::collections::HashSet<PathBuf> = given.iter().map(|c| absolute(&c.path)).collect();
    // The paths given are discovered already: the walk leaves their directories out.
    let dirs: Vec<PathBuf> = paths.iter().map(|p| absolute(p)).filter(|p| p.is_dir()).collect();
    let walk = discover::WalkOptions { force_exclude: true, skip: &dirs, ..*walk };
    let Ok(found) = discover::discover_with(&[absolute(&root)], &walk, cwd) else { return Vec::new() };
    found.files.into_iter().filter(|c| !given.contains(&absolute(&c.path))).collect()
}

/// Where configuration and the project root are looked for: the deepest directory holding every path
/// given (a lone file: the file), so neither depends on the order of the paths.
fn common_start(paths: &[PathBuf], cwd: &Path) -> PathBuf {
    let mut absolute = paths.iter().map(|p| std::path::absolute(cwd.join(p)).unwrap_or_else(|_| cwd.join(p)));
    let Some(first) = absolute.next() else { return cwd.to_path_buf() };
    absolute.fold(first, |common, p| {
        let shared: PathBuf =
            common.components().zip(p.components()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect();
        shared
    })
}

/// The result cache directory of a run, `None` with `--no-cache`.
fn cache_dir(args: &CheckArgs, root: &Path, cwd: &Path) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    let dir = args.cache_dir.clone().unwrap_or_else(|| root.join(crate::cache::DEFAULT_DIR));
    Some(cwd.join(dir))
}

/// What analysing the paths of a `check` produced, before any report is written: the report (triage
/// applied, notifications included) and the files analysed.
pub struct Analysed {
    pub report: report::Report,
    /// The files analysed; their display paths are the report's.
    pub files: Vec<discover::Candidate>,
    /// The run-level `incomplete` notification (also in the report), when the run must not look clean.
    pub incomplete: Option<Notification>,
    /// Set when the cache could not be written.
    pub cache_warning: Option<String>,
}

/// A look at the files found, before any is analysed; an error stops the run.
pub type BeforeScan<'a> = &'a dyn Fn(&[discover::Candidate]) -> Result<()>;

/// What a caller of [`analyse`] hooks into it.
#[derive(Default, Clone, Copy)]
pub struct Hooks<'a> {
    /// Sees the files found before any is analysed (`check` refuses an output that would overwrite one).
    pub before_scan: Option<BeforeScan<'a>>,
    /// Set from another thread to stop the analysis early: [`analyse`] then fails with [`Cancelled`].
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

/// The analysis was cancelled through [`Hooks::cancel`].
#[derive(Debug, thiserror::Error)]
#[error("the analysis was cancelled")]
pub struct Cancelled;

/// Configuration → selection → discovery → scan (with `overlay` replacing files on disk) → triage: the
/// analysis `check`, `check --fix` and the language server share. `None` with `--parse-only`, after
/// printing its measurement.
pub fn analyse(args: &CheckArgs, cwd: &Path, overlay: &Overlay, hooks: Hooks<'_>) -> Result<Option<Analysed>> {
    let start = common_start(&args.paths, cwd);
    let config = load_config(&args.config, &start, cwd)?;
    let settings = with_command_line(config.settings.clone(), args);
    let rules = selection::resolve_with(settings.select.as_deref(), &settings.extend_select, &settings.ignore)?;
    let excludes = discover::exclude_set(&settings.exclude)?;
    let mut triage = triage::Triage::new(&settings, &config.root, cwd)?;
    triage.baseline = args.baseline.as_deref().map(baseline::Baseline::load).transpose()?;
    triage.changes = args.diff_against.as_deref().map(|rev| diff::changes_since(cwd, rev)).transpose()?;

    let threads = args.threads.map(|n| {
        let cap = crate::cli::max_threads();
        if n > cap {
            eprintln!("trunkguard: warning: --threads {n} capped at {cap} (4 per core, at most 256)");
        }
        n.min(cap)
    });
    let root = project_root(&config, &start, cwd);
    let walk = discover::WalkOptions {
        excludes: &excludes,
        respect_gitignore: !args.no_respect_gitignore,
        force_exclude: args.force_exclude,
        root: &root,
        skip: &[],
    };
    let found = discover_with_overlay(args, &args.paths, &walk, cwd, overlay)?;
    // The rest of the project is context: the model links the paths given (or standard input) with
    // it, and only the paths given are reported (the result cache makes that cheap).
    let context = if args.no_project {
        Vec::new()
    } else {
        project_context(&config, &start, cwd, &walk, &args.paths, &found.files)
    };
    if let Some(before_scan) = hooks.before_scan {
        before_scan(&found.files)?;
    }
    triage.scanned = Some(found.files.iter().map(|c| c.display.clone()).collect());
    let progress = (found.files.len() > PROGRESS_THRESHOLD && !args.quiet && std::io::stderr().is_terminal())
        .then(|| indicatif::ProgressBar::new(found.files.len() as u64));
    let options = crate::scan::ScanOptions {
        threads,
        progress: progress.as_ref(),
        full_parse: args.full_parse,
        cache_dir: cache_dir(args, &config.root, cwd),
        cancel: hooks.cancel,
    };
    if args.parse_only {
        let started = std::time::Instant::now();
        let limit = settings.max_file_size.unwrap_or(source::DEFAULT_MAX_FILE_SIZE);
        let floor = crate::scan::parse_only(&found.files, threads, limit)?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "trunkguard: parse-only: {} files, {:.1} MB, {} nodes in {secs:.3} s",
            floor.files,
            floor.bytes as f64 / 1e6,
            floor.nodes
        );
        return Ok(None);
    }
    let base = crate::scan::Plan { rules, settings };
    let mut per_file = per_file_plans(args, &config, base.clone(), found.files, cwd)?;
    let context = per_file_plans(args, &config, base, context, cwd)?;
    let offset = per_file.plans.len();
    let mut plans = per_file.plans.clone();
    plans.extend(context.plans.iter().cloned());
    let plan_of: Vec<usize> =
        per_file.plan_of.iter().copied().chain(context.plan_of.iter().map(|p| p + offset)).collect();
    triage.scopes = per_file.scopes.clone();
    triage.scope_of = per_file.files.iter().zip(&per_file.plan_of).map(|(f, &p)| (f.display.clone(), p)).collect();
    let review = plan_outputs(&args.output_format, &args.output)
        .is_ok_and(|plan| plan.iter().any(|d| d.format == OutputFormat::Review));
    let not_run = if review { not_run(&per_file, &context, &triage, &options)? } else { BTreeMap::new() };
    let found = discover::Discovery { files: std::mem::take(&mut per_file.files), notifications: found.notifications };
    let mut scan = crate::scan::scan_project(&found.files, &context.files, &plan_of, &plans, &options, overlay)?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    if scan.cancelled {
        return Err(Cancelled.into());
    }
    let mut report = report::Report::new(scan.findings);
    report.notifications = scan.notifications;
    report.notifications.extend(found.notifications.iter().cloned());
    let mut ran: Vec<&str> = per_file.plans.iter().flat_map(|p| p.rules.iter().map(|r| r.id())).collect();
    ran.sort_unstable();
    ran.dedup();
    report.rules = ran.into_iter().filter_map(docs::get).collect();
    report.files_scanned = scan.files_scanned;
    report.functions_scanned = scan.functions_scanned;
    report.srcroot = root.clone();
    // Context files too: a flow through a helper names its file.
    let all = found.files.iter().chain(&context.files);
    report.uris = all.clone().map(|c| (c.display.clone(), c.uri.clone())).collect();
    report.rels = all.map(|c| (c.display.clone(), c.rel.clone())).collect();
    report.show_suppressed = args.show_suppressed;
    report.paths = args.paths.iter().map(|p| discover::display_path(p, cwd)).collect();
    report.not_run = not_run;
    triage.apply(&mut report);
    let incomplete = incomplete(&report, &found.files, &args.paths, cwd);
    report.notifications.extend(incomplete.clone());
    Ok(Some(Analysed { report, files: found.files, incomplete, cache_warning: scan.cache_warning.take() }))
}

/// Discovery of `roots` (the paths given, and the project of a file read from standard input), plus the
/// overlaid files: a path named on the command line that exists only
/// in `overlay` (standard input named as a new file, an editor's unsaved buffer) is a file to analyse,
/// unless `--force-exclude` excludes it.
fn discover_with_overlay(
    args: &CheckArgs,
    roots: &[PathBuf],
    walk: &discover::WalkOptions<'_>,
    cwd: &Path,
    overlay: &Overlay,
) -> Result<discover::Discovery> {
    let absolute = |p: &Path| std::path::absolute(cwd.join(p)).unwrap_or_else(|_| cwd.join(p));
    let on_disk: Vec<PathBuf> =
        roots.iter().filter(|p| !overlay.contains_key(&absolute(p)) || p.exists()).cloned().collect();
    let mut found = discover::discover_with(&on_disk, walk, cwd)?;
    let known: std::collections::BTreeSet<PathBuf> = found.files.iter().map(|c| absolute(&c.path)).collect();
    for key in overlay.keys().filter(|k| !known.contains(*k)) {
        let path = args.paths.iter().find(|p| absolute(p) == *key).cloned().unwrap_or_else(|| key.clone());
        let candidate = discover::Candidate::new(&path, cwd, walk.root);
        if !(args.force_exclude && discover::is_excluded_under(walk.excludes, &candidate.display)) {
            found.files.push(candidate);
        }
    }
    found.files.sort();
    Ok(found)
}

/// How many rounds of fixes `--fix` applies at most (a fix can reveal another; overlapping fixes wait
/// for the next round).
const MAX_FIX_ROUNDS: usize = 10;

/// What the fix rounds changed: per file (absolute path) its display path and original bytes; the
/// number of fixes applied; the analysis of the last round.
struct Fixed {
    originals: BTreeMap<PathBuf, (String, Vec<u8>)>,
    applied: usize,
    last: Option<Analysed>,
}

/// Applies fixes in memory, in rounds, into `overlay` (the analysis runs on the fixed text each round):
/// safe fixes, unsafe ones too with `--unsafe-fixes`, of reported findings that no comment silences.
/// Files are read without following symlinks; a file whose bytes are not the text the analysis saw
/// (another encoding) is left alone.
fn fix_rounds(args: &CheckArgs, cwd: &Path, overlay: &mut Overlay, hooks: Hooks<'_>) -> Result<Fixed> {
    let mut fixed = Fixed { originals: BTreeMap::new(), applied: 0, last: None };
    for _ in 0..MAX_FIX_ROUNDS {
        let Some(analysed) = analyse(args, cwd, overlay, hooks)? else { return Ok(fixed) };
        let mut by_file: BTreeMap<&str, Vec<&crate::finding::Fix>> = BTreeMap::new();
        for (path, f) in analysed.report.reported().filter(|(_, f)| f.suppressed.is_none()) {
            if let Some(fix) = f.fix.as_ref().filter(|x| args.unsafe_fixes || x.applicability == Applicability::Safe) {
                by_file.entry(path).or_default().push(fix);
            }
        }
        let mut changed = 0;
        for (display, fixes) in by_file {
            let Some(file) = analysed.files.iter().find(|c| c.display == display) else { continue };
            let key = std::path::absolute(cwd.join(&file.path)).unwrap_or_else(|_| cwd.join(&file.path));
            let bytes = match overlay.get(&key) {
                Some(b) => b.clone(),
                None => match safe_fs::read_regular(&file.path, safe_fs::Symlinks::Refuse, u64::MAX) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("trunkguard: warning: {}: not fixed: {e}", crate::escape::visible(display));
                        continue;
                    }
                },
            };
            let Some(new) = fix_text(file, &bytes, &fixes) else { continue };
            fixed.originals.entry(key.clone()).or_insert_with(|| (display.to_string(), bytes.clone()));
            fixed.applied += new.1;
            changed += 1;
            overlay.insert(key, new.0);
        }
        fixed.last = Some(analysed);
        if changed == 0 {
            break;
        }
    }
    Ok(fixed)
}

/// `bytes` with `fixes` applied (and how many were), or `None` if none applies or the bytes do not
/// decode to plain UTF-8 text (the fix offsets are offsets into the decoded text; a BOM is kept).
fn fix_text(file: &discover::Candidate, bytes: &[u8], fixes: &[&crate::finding::Fix]) -> Option<(Vec<u8>, usize)> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let (bom, body) = match bytes.strip_prefix(BOM) {
        Some(body) => (BOM, body),
        None => (&[][..], bytes),
    };
    let text = std::str::from_utf8(body).ok()?;
    let (decoded, note) = source::SourceFile::decode(file.path.clone(), file.rel.clone(), bytes);
    if note.is_some() || decoded.text != text {
        return None;
    }
    let (new, applied) = crate::finding::apply_fixes(text, fixes.iter().copied());
    (applied > 0 && new != text).then(|| ([bom, new.as_bytes()].concat(), applied))
}

/// Writes `contents` to `path` atomically (a temporary file in the same directory, renamed over it),
/// keeping its permissions. Refuses a path that is (now) a symlink or not a regular file.
fn write_fixed(path: &Path, contents: &[u8]) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("cannot fix {}", path.display()))?;
    if !meta.file_type().is_file() {
        bail!("not fixing {}: not a regular file", path.display());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot fix {}", path.display()))?;
    tmp.write_all(contents).and_then(|_| tmp.as_file().sync_all())?;
    std::fs::set_permissions(tmp.path(), meta.permissions())?;
    tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The unified diff `--diff` prints for one file.
fn unified_diff(display: &str, old: &[u8], new: &[u8]) -> String {
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
    let display = crate::escape::visible(display);
    diff.unified_diff().context_radius(3).header(&format!("a/{display}"), &format!("b/{display}")).to_string()
}

/// Standard input, read as the file `--stdin-filename` names (at most `limit + 1` bytes: a larger one
/// is reported `too-large`, as a file would be).
fn stdin_overlay(args: &CheckArgs, cwd: &Path) -> Result<(Option<CheckArgs>, Overlay)> {
    let dash = args.paths.iter().any(|p| p.as_os_str() == "-");
    let Some(name) = &args.stdin_filename else {
        if dash {
            bail!("`-` reads standard input: name the file it holds with --stdin-filename PATH");
        }
        return Ok((None, Overlay::new()));
    };
    if !(args.paths == [PathBuf::from("-")] || args.paths == [PathBuf::from(".")]) {
        bail!("with --stdin-filename, give `-` (standard input) as the only path");
    }
    let limit = args.max_file_size.unwrap_or(source::DEFAULT_MAX_FILE_SIZE);
    let mut bytes = Vec::new();
    std::io::Read::take(std::io::stdin().lock(), limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    let key = std::path::absolute(cwd.join(name)).unwrap_or_else(|_| cwd.join(name));
    let mut resolved = args.clone();
    resolved.paths = vec![name.clone()];
    Ok((Some(resolved), Overlay::from([(key, bytes)])))
}

fn check(args: &CheckArgs) -> Result<Exit> {
    let cwd = std::env::current_dir().context("cannot determine the working directory")?;
    let (resolved, mut overlay) = stdin_overlay(args, &cwd)?;
    let stdin = resolved.is_some();
    let args = resolved.as_ref().unwrap_or(args);
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
    let before_scan = |found: &[discover::Candidate]| -> Result<()> {
        for (_, out) in &files {
            out.check_not_scanned(found.iter().map(|c| c.path.as_path()))?;
        }
        Ok(())
    };
    let hooks = Hooks { before_scan: Some(&before_scan), cancel: None };
    if args.fix || args.diff {
        let fixed = fix_rounds(args, &cwd, &mut overlay, hooks)?;
        if args.diff {
            let mut out = String::new();
            for (key, (display, old)) in &fixed.originals {
                out.push_str(&unified_diff(display, old, overlay.get(key).map_or(&[][..], Vec::as_slice)));
            }
            if !args.quiet {
                let n = fixed.applied;
                eprintln!("trunkguard: {n} fix{} would be applied.", if n == 1 { "" } else { "es" });
            }
            write_stdout(&out)?;
            return Ok(if fixed.originals.is_empty() { Exit::Clean } else { Exit::Findings });
        }
        if stdin {
            // ruff's convention: the fixed source on standard output, whatever was fixed.
            let text = overlay.values().next().cloned().unwrap_or_default();
            write_stdout(&String::from_utf8_lossy(&text))?;
            let left = fixed.last.map_or(0, |a| a.report.reported().count());
            return Ok(if left == 0 || args.exit_zero { Exit::Clean } else { Exit::Findings });
        }
        for (key, (display, _)) in &fixed.originals {
            if let Some(contents) = overlay.remove(key)
                && let Err(e) = write_fixed(key, &contents)
            {
                failed = report_error(&format!("{display}: {e:#}"));
            }
        }
        if !args.quiet {
            let files_fixed = plural(fixed.originals.len(), "file");
            eprintln!("trunkguard: fixed {} in {files_fixed}.", plural(fixed.applied, "finding"));
        }
    }
    let Some(analysed) = analyse(args, &cwd, &overlay, hooks)? else { return Ok(Exit::Clean) };
    let Analysed { report, incomplete, cache_warning, .. } = analysed;
    if let Some(warning) = cache_warning.filter(|_| !args.quiet) {
        let warning = format!("trunkguard: warning: {warning}");
        eprintln!("{}", crate::escape::visible(&warning));
    }
    if !args.quiet || report.notifications.iter().any(|n| n.level == Level::Error) {
        print_notifications(&report.notifications, args.quiet);
    }
    let to_terminal = std::io::stdout().is_terminal();
    let color = use_color(args.color, to_terminal, &|name| std::env::var_os(name).filter(|v| !v.is_empty()).is_some());
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
    // Against a baseline only new findings are reported, so `--fail-on-new` needs no filter of its own.
    let failing = report.reported().filter(|(_, f)| f.level >= threshold).count();
    Ok(if incomplete.is_some() {
        Exit::Error
    } else if failing == 0 || args.exit_zero {
        Exit::Clean
    } else {
        Exit::Findings
    })
}

/// The run-level `incomplete` notification, when the run must not look clean: files were found but
/// none could be analysed, or a file named on the command line could not be.
fn incomplete(
    report: &report::Report,
    files: &[discover::Candidate],
    named: &[PathBuf],
    cwd: &Path,
) -> Option<Notification> {
    let mut failed: Vec<&str> = report
        .notifications
        .iter()
        .filter(|n| NOT_ANALYSED.contains(&n.id))
        .filter_map(|n| n.path.as_deref())
        .filter(|p| files.iter().any(|f| f.display == *p))
        .collect();
    failed.sort_unstable();
    failed.dedup();
    let named_failed: Vec<&str> = named
        .iter()
        .map(|p| discover::display_path(p, cwd))
        .filter_map(|d| failed.iter().copied().find(|f| **f == d))
        .collect();
    let message = if !files.is_empty() && failed.len() == files.len() {
        format!("no file could be analysed ({} of {} failed; see the notes above)", failed.len(), files.len())
    } else if !named_failed.is_empty() {
        format!(
            "{} named on the command line could not be analysed: {}",
            plural(named_failed.len(), "file"),
            named_failed.join(", ")
        )
    } else {
        return None;
    };
    Some(Notification { id: INCOMPLETE, level: Level::Error, path: None, line: None, message })
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Whether text output is coloured: `--color always|never` decides; with `auto`, a non-empty
/// `FORCE_COLOR` forces colour (CI logs that render ANSI), else a non-empty `NO_COLOR` turns it off, else
/// colour only on a terminal. `set` tells whether an environment variable is set and non-empty.
fn use_color(choice: ColorChoice, to_terminal: bool, set: &dyn Fn(&str) -> bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("FORCE_COLOR") => true,
        ColorChoice::Auto => to_terminal && !set("NO_COLOR"),
    }
}

fn render(report: &report::Report, format: OutputFormat, color: bool, summary: bool) -> String {
    match format {
        OutputFormat::Text => report::text::render(report, color, summary),
        OutputFormat::Concise => report::text::render_concise(report, color, summary),
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
        let line = format!("trunkguard: {}: {place}{}", n.level.as_str(), n.message);
        let _ = writeln!(err, "{}", crate::escape::visible(&line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_start_does_not_depend_on_order() {
        let cwd = Path::new("/w");
        let paths = |ps: &[&str]| ps.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(common_start(&paths(&["a/x.py", "a/b/y.py"]), cwd), Path::new("/w/a"));
        assert_eq!(common_start(&paths(&["a/b/y.py", "a/x.py"]), cwd), Path::new("/w/a"));
        assert_eq!(common_start(&paths(&["a/x.py"]), cwd), Path::new("/w/a/x.py"));
        assert_eq!(common_start(&paths(&["/p/q", "c"]), cwd), Path::new("/"));
        assert_eq!(common_start(&[], cwd), Path::new("/w"));
    }

    #[test]
    fn extend_select_from_the_environment() {
        assert!(extend_select_from_env(None).is_empty());
        assert!(extend_select_from_env(Some(" ")).is_empty());
        assert_eq!(extend_select_from_env(Some("TG201, TG202")), ["TG201", "TG202"]);
        assert_eq!(extend_select_from_env(Some("TG201,")), ["TG201", ""], "left for selection to refuse");
    }

    #[test]
    fn colour_choice() {
        let env = |vars: &'static [&'static str]| move |name: &str| vars.contains(&name);
        assert!(use_color(ColorChoice::Auto, true, &env(&[])));
        assert!(!use_color(ColorChoice::Auto, false, &env(&[])));
        assert!(!use_color(ColorChoice::Auto, true, &env(&["NO_COLOR"])));
        assert!(use_color(ColorChoice::Auto, false, &env(&["FORCE_COLOR"])));
        assert!(use_color(ColorChoice::Auto, false, &env(&["FORCE_COLOR", "NO_COLOR"])));
        assert!(!use_color(ColorChoice::Never, true, &env(&["FORCE_COLOR"])));
        assert!(use_color(ColorChoice::Always, false, &env(&["NO_COLOR"])));
    }

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
        // `-` is standard output.
        assert_eq!(plan(&[Sarif], &["-"]).unwrap(), [("sarif", None)]);
        assert_eq!(plan(&[], &["sarif=-"]).unwrap(), [("sarif", None)]);
        assert_eq!(
            plan(&[Text], &["sarif=-", "text=t.txt"]).unwrap(),
            [("text", Some("t.txt".into())), ("sarif", None)]
        );
        assert!(plan(&[Text], &["sarif=-"]).is_err(), "two reports to stdout");
    }
}
