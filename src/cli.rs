//! Command-line definitions (clap derive) and nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  trunkguard check neutron/                          scan a tree, readable output
  trunkguard check . --output-format sarif --output trunkguard.sarif
                                                     SARIF for GitHub code scanning / IDEs
  trunkguard check neutron/ --select TG2 --ignore TG203
  trunkguard rules                                   list every rule
  trunkguard rule TG201                              show one rule's documentation

  trunkguard check neutron/ --diff                   show what --fix would change
  trunkguard check neutron/ --fix --unsafe-fixes     apply every fix, then report what remains
  trunkguard check --stdin-filename pkg/mod.py -     analyse standard input as pkg/mod.py
  trunkguard server                                  Language Server for editors (stdio)

  trunkguard check . --baseline old.sarif --fail-on-new
  trunkguard check . --output-format sarif --output-format text --output sarif=tg.sarif

Exit status: 0 no findings, 1 findings reported, 2 usage, configuration or I/O error,
130 interrupted.";

/// Static security review for OpenStack Neutron-style Python code.
#[derive(Debug, Parser)]
#[command(name = "trunkguard", version, about, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan Python files and report findings.
    #[command(after_help = EXAMPLES)]
    Check(Box<CheckArgs>),
    /// List every rule: id, name, default level, on by default or opt-in.
    Rules(RulesArgs),
    /// Print one rule's documentation.
    Rule {
        /// Rule id, e.g. TG201.
        id: String,
    },
    /// Print the effective configuration and where each value came from.
    Config(ConfigArgs),
    /// Show how the project model sees a function: its calls, where each goes, and what it is known
    /// to do (raise, re-raise a parameter, wait, log a parameter, return an elevated context).
    Inspect {
        /// The function: `path/to/file.py::Class.method`, or `package.module.Class.method`.
        function: String,
        /// The project directory.
        #[arg(default_value = ".")]
        project: PathBuf,
    },
    /// Run a Language Server (LSP) on standard input and output, for editors: findings as you type,
    /// quick fixes, suppressions with a reason, rule documentation on hover.
    Server,
    /// Print the syntax tree of a file (for rule authors).
    #[command(hide = true)]
    ParseTree { path: PathBuf },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable terminal output with code frames.
    Text,
    /// One line per finding: `path:line:col: RULE message` (no code frames).
    Concise,
    /// SARIF 2.1.0 (GitHub code scanning, IDE SARIF viewers).
    Sarif,
    /// trunkguard's own stable JSON.
    Json,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// JUnit XML (Zuul, Jenkins test reports).
    Junit,
    /// GitLab Code Quality report.
    Gitlab,
    /// A Markdown security review in the style of a reviewer's report.
    Review,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset, or when FORCE_COLOR is set.
    Auto,
    Always,
    Never,
}

/// Options of `trunkguard check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Files or directories to scan (directories: every *.py below them); `-` with --stdin-filename
    /// reads the file from standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Analyse standard input as the file PATH (its configuration, its place in the project; the file
    /// need not exist). What editor plugins call: `trunkguard check --stdin-filename pkg/mod.py -`.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Apply the fixes of fixable findings (safe ones; unsafe ones too with --unsafe-fixes), writing
    /// each changed file atomically, then report what remains. With standard input, print the fixed
    /// source on standard output instead.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Also apply fixes that change behaviour (TG203 `except Exception:`, TG301 `'***'` for a logged
    /// secret, TG302 `get_logging_values()`): review them.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff and write nothing; exit status 1 when there would be changes.
    #[arg(long)]
    pub diff: bool,
    /// Report format; repeat for several reports from one run (each needs its own destination).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Vec<OutputFormat>,
    /// Write the report to FILE (atomically) instead of standard output; with several formats,
    /// FORMAT=FILE (repeatable).
    #[arg(long, short = 'o', value_name = "[FORMAT=]FILE")]
    pub output: Vec<String>,
    /// Rules to run: ids or prefixes (TG2, TG201, ALL), comma-separated or repeated. Replaces the
    /// default set (and the configuration's `select`); also turns on opt-in rules.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Rules to run in addition to the selected ones. TRUNKGUARD_EXTEND_SELECT (comma-separated; empty:
    /// unset) adds to them, e.g. a CI job that turns on the opt-in TG201/TG202 for every run.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Rules not to run: ids or prefixes (added to the configuration's `ignore`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Skip paths matching GLOB (matched against the file or directory name and the relative path).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Scan files git ignores too (by default `.gitignore`, `.git/info/exclude` and the global excludes
    /// file are respected inside a git repository).
    #[arg(long)]
    pub no_respect_gitignore: bool,
    /// Apply --exclude and the configuration's `exclude` to files named on the command line too (what
    /// pre-commit and editors need: they always name files).
    #[arg(long)]
    pub force_exclude: bool,
    /// Also report findings in test code (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`).
    #[arg(long)]
    pub include_tests: bool,
    /// Exit with status 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print findings only: no summary, no notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Worker threads (default: one per core; at most 4 per core and never more than 256, a larger N
    /// is capped with a warning). Output is identical whatever the count.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Skip files larger than SIZE bytes (suffixes K, M, G: KiB, MiB, GiB) with a `too-large`
    /// warning [default: 4M, or `max-file-size` in the configuration].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Parse whole files: turn off the lexical pre-pass that skips functions no selected rule can fire
    /// in (findings are the same either way; this is for comparison and debugging).
    #[arg(long)]
    pub full_parse: bool,
    /// Analyse every file afresh: neither read nor write the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Leave the rest of the project out: by default the project model (helpers, base classes,
    /// options declared elsewhere) covers every file of the project — the configuration file's
    /// directory, else the git root, else the paths' common directory — and only the paths given are
    /// reported.
    #[arg(long)]
    pub no_project: bool,
    /// Where the result cache lives (default: `.trunkguard_cache` in the project root: the directory of
    /// the configuration file, else the working directory).
    #[arg(long, value_name = "DIR", env = "TRUNKGUARD_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Benchmark aid: read, parse and walk every file (no rules, no cache, no report) and print the time.
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// Lowest level that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Note, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// Print the number of findings per rule on standard error.
    #[arg(long)]
    pub statistics: bool,
    /// Show findings silenced by in-source comments in text output (they are always in SARIF).
    #[arg(long)]
    pub show_suppressed: bool,
    /// Compare with an earlier SARIF report: results get baselineState new/unchanged/absent, and only
    /// new ones are reported and fail the run (SARIF and JSON keep them all).
    #[arg(long, value_name = "OLD.sarif")]
    pub baseline: Option<PathBuf>,
    /// Accepted for compatibility: with --baseline only new results make the exit status 1 anyway.
    #[arg(long, requires = "baseline", hide = true)]
    pub fail_on_new: bool,
    /// Report only findings on lines changed since this git revision (and in untracked files).
    #[arg(long, value_name = "GIT_REF")]
    pub diff_against: Option<String>,
    #[command(flatten)]
    pub config: ConfigSource,
}

/// The most worker threads a run starts: 4 per available core, and never more than 256. (Starting
/// 10,000 threads takes minutes; past a few per core more threads only add contention.)
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.saturating_mul(4).min(256)
}

fn parse_size(text: &str) -> Result<u64, String> {
    crate::config::parse_size(text).ok_or_else(|| format!("`{text}` is not a size (bytes, or e.g. 512K, 10M, 1G)"))
}

/// Where configuration comes from.
#[derive(Debug, Clone, Args)]
pub struct ConfigSource {
    /// Read configuration from FILE (pyproject.toml, trunkguard.toml or .trunkguard.toml).
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    pub isolated: bool,
}

/// Options of `trunkguard config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The path whose configuration to show (the nearest file at or above it).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub config: ConfigSource,
}

/// `--fail-on` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
}

/// Options of `trunkguard rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Print the README's Markdown table instead of plain text.
    #[arg(long)]
    pub markdown: bool,
}
