//! Configuration files: `[tool.trunkguard]` in `pyproject.toml`, or `trunkguard.toml` /
//! `.trunkguard.toml`. The nearest one at or above the first scanned path wins (in a directory,
//! `.trunkguard.toml` before `trunkguard.toml` before `pyproject.toml`; a `pyproject.toml` without a
//! `[tool.trunkguard]` table does not count); `--config FILE` names one; `--isolated` ignores all.
//!
//! Every key is checked: an unknown key, a value of the wrong type or an unknown rule id is an error
//! naming the file, the line and the key, with the nearest valid name ("did you mean …?").

use crate::finding::Level;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Family knobs of the sensitive-logging rules (TG3xx).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SensitiveSettings {
    /// Extra words that make a name sensitive (`["vault_key"]`).
    pub extra_words: Vec<String>,
    /// Words that never make a name sensitive.
    pub allow_words: Vec<String>,
}

/// Family knobs of the request-context rules (TG4xx).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContextSettings {
    /// Extra parameter names that hold a request context.
    pub context_params: Vec<String>,
    /// Extra callees that count as an authorization guard (`my_policy.check_owner`).
    pub guards: Vec<String>,
    /// Extra call-name prefixes that count as writes.
    pub write_prefixes: Vec<String>,
}

/// Family knobs of the retry rules (TG1xx).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetrySettings {
    /// Extra callees that wait between attempts (`utils.pause`).
    pub wait_functions: Vec<String>,
}

/// The family knobs: all a rule may read of the configuration (besides its level).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Knobs {
    pub sensitive: SensitiveSettings,
    pub context: ContextSettings,
    pub retry: RetrySettings,
}

/// Everything besides the file itself and the build that changes what analysing a file yields. The
/// engine and the rules see only this, and the result cache is keyed by this value serialised, so a
/// knob added here can never be forgotten by the key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Analysis {
    /// The rules that run, each with the level it reports at (its document's, or the `severity` override).
    pub levels: BTreeMap<&'static str, Level>,
    pub knobs: Knobs,
    /// Parse whole files (no selective parsing; findings are the same either way).
    pub full_parse: bool,
    /// Files larger than this many bytes are not analysed (`too-large`).
    pub max_file_size: u64,
    /// Every rule id trunkguard has, run or not: a suppression naming another is TG001's to report.
    pub known: Vec<&'static str>,
}

impl Analysis {
    /// The result cache's key for this analysis.
    pub fn key(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// The effective settings of a run: which rules run ([`Settings::select`] …), what the triage stage
/// filters out afterwards (`exclude`, `include_tests`, `per_file_ignores`), and the analysis part
/// (`severity`, [`Knobs`]) from which the run's [`Analysis`] is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Replaces the default rule set when present.
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    /// Report findings in test code too (`tests/` directories, `test_*.py`, `*_test.py`, `conftest.py`).
    pub include_tests: bool,
    /// (glob, rule selectors) pairs, in file order.
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// Level overrides per rule id.
    pub severity: BTreeMap<String, Level>,
    pub knobs: Knobs,
    /// Files larger than this many bytes are skipped with a `too-large` warning (`None`: the default,
    /// [`crate::source::DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: Option<u64>,
}

/// A loaded configuration: the settings, where they came from, and where each key was set.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub settings: Settings,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Directory globs are relative to (the file's directory, or the working directory).
    pub root: PathBuf,
    /// Dotted key → `file:line` where it was set.
    pub origins: BTreeMap<String, String>,
}

/// Why a configuration could not be used (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read configuration: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    #[error("{}:{line}: invalid TOML: {message}", file.display())]
    Syntax { file: PathBuf, line: usize, message: String },
    #[error("{}:{line}: unknown key `{key}`{}", file.display(), hint(suggestion))]
    UnknownKey { file: PathBuf, line: usize, key: String, suggestion: Option<String> },
    #[error("{}:{line}: `{key}` must be {expected}", file.display())]
    WrongType { file: PathBuf, line: usize, key: String, expected: &'static str },
    #[error("{}:{line}: `{key}`: unknown rule `{}`{}", file.display(), cut(rule), hint(suggestion))]
    UnknownRule { file: PathBuf, line: usize, key: String, rule: String, suggestion: Option<String> },
    #[error("{}:{line}: `{key}`: invalid glob `{}`: {message}", file.display(), cut(glob))]
    BadGlob { file: PathBuf, line: usize, key: String, glob: String, message: String },
    #[error("{}:{line}: `extend`: {reason}", file.display())]
    Extend { file: PathBuf, line: usize, reason: String },
}

/// At most this many characters of a value from a configuration file are quoted in a message.
const MAX_QUOTED: usize = 80;

/// `s`, cut to [`MAX_QUOTED`] characters (with `…`) so a huge bad value cannot flood the terminal.
fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn hint(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

const TOP_KEYS: &[&str] = &[
    "extend",
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "include-tests",
    "per-file-ignores",
    "severity",
    "sensitive",
    "context",
    "retry",
    "max-file-size",
];
const SENSITIVE_KEYS: &[&str] = &["extra-words", "allow-words"];
const CONTEXT_KEYS: &[&str] = &["context-params", "guards", "write-prefixes"];
const RETRY_KEYS: &[&str] = &["wait-functions"];

/// Finds the configuration that applies to `start` (a file or directory): the nearest at or above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    let mut dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
    while let Some(d) = dir {
        if let Some(found) = in_dir(d) {
            return Some(found);
        }
        dir = d.parent();
    }
    None
}

/// The configuration file directory `d` itself holds, if any.
fn in_dir(d: &Path) -> Option<PathBuf> {
    for name in [".trunkguard.toml", "trunkguard.toml"] {
        if d.join(name).is_file() {
            return Some(d.join(name));
        }
    }
    let pyproject = d.join("pyproject.toml");
    (pyproject.is_file() && std::fs::read_to_string(&pyproject).is_ok_and(|t| has_tool_table(&t))).then_some(pyproject)
}

/// [`find`] for many directories of one tree: each directory is looked at once (a `pyproject.toml`
/// above thousands of directories is read and parsed once, not once per directory).
#[derive(Debug, Default)]
pub struct Finder {
    nearest: std::collections::HashMap<PathBuf, Option<PathBuf>>,
}

impl Finder {
    /// The nearest configuration file at or above the absolute directory `dir`.
    pub fn find(&mut self, dir: &Path) -> Option<PathBuf> {
        let mut climbed: Vec<&Path> = Vec::new();
        let mut at = Some(dir);
        let found = loop {
            let Some(d) = at else { break None };
            if let Some(known) = self.nearest.get(d) {
                break known.clone();
            }
            climbed.push(d);
            if let Some(file) = in_dir(d) {
                break Some(file);
            }
            at = d.parent();
        };
        for d in climbed {
            self.nearest.insert(d.to_path_buf(), found.clone());
        }
        found
    }
}

/// Does a `pyproject.toml` have a `[tool.trunkguard]` table, however it is spelt (a table header, dotted
/// keys, an inline table)? Decided by parsing the TOML; a file that does not parse counts if it names
/// `trunkguard` at all, so that its syntax error is reported rather than the file silently skipped.
fn has_tool_table(text: &str) -> bool {
    match DeTable::parse(text) {
        Ok(doc) => doc
            .get_ref()
            .get("tool")
            .and_then(|tool| as_table(tool.get_ref()))
            .is_some_and(|tool| tool.contains_key("trunkguard")),
        Err(_) => text.contains("trunkguard"),
    }
}

/// How many `extend` links a configuration may follow (a cycle stops here too).
const MAX_EXTEND_DEPTH: usize = 8;

/// Loads the configuration file `file`; `rules` are the ids of every rule there is (selectors and
/// severity keys must name at least one).
pub fn load(file: &Path, rules: &[&str]) -> Result<Config, ConfigError> {
    load_extending(file, rules, 0)
}

fn load_extending(file: &Path, rules: &[&str], depth: usize) -> Result<Config, ConfigError> {
    let text =
        std::fs::read_to_string(file).map_err(|source| ConfigError::Read { file: file.to_path_buf(), source })?;
    parse_extending(file, &text, rules, depth)
}

/// Parses configuration text; `file` names it in errors and decides the layout (`pyproject.toml`
/// keeps the settings under `[tool.trunkguard]`).
pub fn parse(file: &Path, text: &str, rules: &[&str]) -> Result<Config, ConfigError> {
    parse_extending(file, text, rules, 0)
}

fn parse_extending(file: &Path, text: &str, rules: &[&str], depth: usize) -> Result<Config, ConfigError> {
    let parser = Parser { file, text, rules };
    let doc = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| parser.line(s.start)),
        message: e.message().trim().to_string(),
    })?;
    let mut config = Config {
        file: Some(file.to_path_buf()),
        root: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        ..Config::default()
    };
    let is_pyproject = file.file_name().is_some_and(|n| n == "pyproject.toml");
    let table = if is_pyproject {
        let tool = doc.get_ref().get("tool").and_then(|t| as_table(t.get_ref()));
        match tool.and_then(|t| t.get("trunkguard")) {
            Some(v) => parser.table(v, "tool.trunkguard")?,
            None => return Ok(config),
        }
    } else {
        doc.get_ref()
    };
    if let Some(base) = table.get("extend") {
        let DeValue::String(path) = base.get_ref() else { return Err(parser.wrong("extend", base.span(), "a path")) };
        let line = parser.line(base.span().start);
        if depth >= MAX_EXTEND_DEPTH {
            return Err(ConfigError::Extend {
                file: file.to_path_buf(),
                line,
                reason: "too many `extend` links (a cycle?)".into(),
            });
        }
        let base_file = config.root.join(path.as_ref());
        let inherited = load_extending(&base_file, rules, depth + 1).map_err(|e| ConfigError::Extend {
            file: file.to_path_buf(),
            line,
            reason: e.to_string(),
        })?;
        config.settings = inherited.settings;
        config.origins = inherited.origins;
        config.origins.insert("extend".into(), parser.origin(base.span()));
    }
    parser.settings(table, &mut config)?;
    Ok(config)
}

fn as_table<'a, 'i>(v: &'a DeValue<'i>) -> Option<&'a DeTable<'i>> {
    match v {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

struct Parser<'a> {
    file: &'a Path,
    text: &'a str,
    /// Every rule id there is.
    rules: &'a [&'a str],
}

impl Parser<'_> {
    fn line(&self, byte: usize) -> usize {
        self.text.get(..byte).map_or(1, |s| s.matches('\n').count() + 1)
    }

    fn origin(&self, span: std::ops::Range<usize>) -> String {
        format!("{}:{}", self.file.display(), self.line(span.start))
    }

    fn wrong(&self, key: &str, span: std::ops::Range<usize>, expected: &'static str) -> ConfigError {
        ConfigError::WrongType { file: self.file.to_path_buf(), line: self.line(span.start), key: key.into(), expected }
    }

    fn table<'t, 'i>(&self, v: &'t Spanned<DeValue<'i>>, key: &str) -> Result<&'t DeTable<'i>, ConfigError> {
        as_table(v.get_ref()).ok_or_else(|| self.wrong(key, v.span(), "a table"))
    }

    fn check_keys(&self, table: &DeTable<'_>, allowed: &[&str], prefix: &str) -> Result<(), ConfigError> {
        for key in table.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                return Err(ConfigError::UnknownKey {
                    file: self.file.to_path_buf(),
                    line: self.line(key.span().start),
                    key: format!("{prefix}{}", key.get_ref()),
                    suggestion: crate::finding::nearest(key.get_ref(), allowed.iter().copied()),
                });
            }
        }
        Ok(())
    }

    fn strings(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = v.get_ref() else { return Err(self.wrong(key, v.span(), "a list of strings")) };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(s) => Ok(s.to_string()),
                _ => Err(self.wrong(key, item.span(), "a list of strings")),
            })
            .collect()
    }

    /// A list of globs, each checked to compile.
    fn globs(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, ConfigError> {
        let DeValue::Array(items) = v.get_ref() else { return Err(self.wrong(key, v.span(), "a list of strings")) };
        let globs = self.strings(v, key)?;
        for (glob, item) in globs.iter().zip(items) {
            self.glob(glob, key, item.span())?;
        }
        Ok(globs)
    }

    fn glob(&self, glob: &str, key: &str, span: std::ops::Range<usize>) -> Result<(), ConfigError> {
        globset::Glob::new(glob).map(drop).map_err(|e| ConfigError::BadGlob {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            key: key.into(),
            glob: glob.into(),
            message: e.kind().to_string(),
        })
    }

    fn rules(&self, v: &Spanned<DeValue<'_>>, key: &str) -> Result<Vec<String>, ConfigError> {
        let rules = self.strings(v, key)?;
        for rule in &rules {
            self.known_rule(rule, key, v.span())?;
        }
        Ok(rules)
    }

    fn known_rule(&self, rule: &str, key: &str, span: std::ops::Range<usize>) -> Result<(), ConfigError> {
        if rule.trim().is_empty() {
            return Err(self.wrong(key, span, "a list of rule ids or prefixes, none of them empty"));
        }
        if self.rules.iter().any(|id| crate::finding::selects(rule, id)) {
            return Ok(());
        }
        Err(ConfigError::UnknownRule {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            key: key.into(),
            rule: rule.into(),
            suggestion: crate::finding::nearest(rule, self.rules.iter().copied()),
        })
    }

    fn settings(&self, table: &DeTable<'_>, config: &mut Config) -> Result<(), ConfigError> {
        self.check_keys(table, TOP_KEYS, "")?;
        let s = &mut config.settings;
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            config.origins.insert(name.to_string(), self.origin(key.span()));
            match name {
                "extend" => {}
                "select" => s.select = Some(self.rules(value, name)?),
                "extend-select" => s.extend_select.extend(self.rules(value, name)?),
                "ignore" => s.ignore.extend(self.rules(value, name)?),
                "exclude" => s.exclude.extend(self.globs(value, name)?),
                "include-tests" => match value.get_ref() {
                    DeValue::Boolean(b) => s.include_tests = *b,
                    _ => return Err(self.wrong(name, value.span(), "true or false")),
                },
                "per-file-ignores" => {
                    for (glob, rules) in self.table(value, name)? {
                        let key = format!("per-file-ignores.\"{}\"", cut(glob.get_ref()));
                        self.glob(glob.get_ref(), &key, glob.span())?;
                        let rules = match rules.get_ref() {
                            DeValue::String(one) => {
                                self.known_rule(one, &key, rules.span())?;
                                vec![one.to_string()]
                            }
                            _ => self.rules(rules, &key)?,
                        };
                        s.per_file_ignores.push((glob.get_ref().to_string(), rules));
                    }
                }
                "severity" => {
                    for (rule, level) in self.table(value, name)? {
                        let key = format!("severity.{}", rule.get_ref());
                        self.known_rule(rule.get_ref(), &key, rule.span())?;
                        let parsed = match level.get_ref() {
                            DeValue::String(l) => Level::parse(l),
                            _ => None,
                        };
                        let level = parsed
                            .ok_or_else(|| self.wrong(&key, level.span(), "\"error\", \"warning\" or \"note\""))?;
                        s.severity.insert(rule.get_ref().to_ascii_uppercase(), level);
                    }
                }
                "sensitive" => {
                    let t = self.table(value, name)?;
                    self.check_keys(t, SENSITIVE_KEYS, "sensitive.")?;
                    for (k, v) in t {
                        let key = format!("sensitive.{}", k.get_ref());
                        let words = self.strings(v, &key)?;
                        match k.get_ref().as_ref() {
                            "extra-words" => s.knobs.sensitive.extra_words = words,
                            _ => s.knobs.sensitive.allow_words = words,
                        }
                    }
                }
                "context" => {
                    let t = self.table(value, name)?;
                    self.check_keys(t, CONTEXT_KEYS, "context.")?;
                    for (k, v) in t {
                        let values = self.strings(v, &format!("context.{}", k.get_ref()))?;
                        match k.get_ref().as_ref() {
                            "context-params" => s.knobs.context.context_params = values,
                            "guards" => s.knobs.context.guards = values,
                            _ => s.knobs.context.write_prefixes = values,
                        }
                    }
                }
                "max-file-size" => {
                    let size = match value.get_ref() {
                        DeValue::Integer(i) => i.to_string().parse::<u64>().ok(),
                        DeValue::String(text) => parse_size(text),
                        _ => None,
                    };
                    let expected = "a size in bytes (an integer, or a string such as \"10M\" or \"512K\")";
                    s.max_file_size = Some(size.ok_or_else(|| self.wrong(name, value.span(), expected))?);
                }
                "retry" => {
                    let t = self.table(value, name)?;
                    self.check_keys(t, RETRY_KEYS, "retry.")?;
                    for (k, v) in t {
                        s.knobs.retry.wait_functions = self.strings(v, &format!("retry.{}", k.get_ref()))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Parses a size: a number of bytes, optionally followed by `K`, `M` or `G` (KiB, MiB, GiB; `KB`,
/// `KiB`, `B` and lower case are accepted too): `10M` is 10,485,760 bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..].trim().to_ascii_lowercase();
    let base = unit.strip_suffix("ib").or_else(|| unit.strip_suffix('b')).unwrap_or(&unit);
    let shift = match base {
        "" if unit != "ib" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

/// Renders the effective settings as TOML, each value commented with where it came from.
pub fn describe(config: &Config, cli: &BTreeMap<String, String>) -> String {
    let origin = |key: &str| {
        cli.get(key).cloned().or_else(|| config.origins.get(key).cloned()).unwrap_or_else(|| "default".to_string())
    };
    let list = |v: &[String]| format!("[{}]", v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "));
    let s = &config.settings;
    let mut out = match &config.file {
        Some(f) => format!("# configuration file: {}\n", f.display()),
        None => "# no configuration file (defaults)\n".to_string(),
    };
    let mut line = |key: &str, value: String| out.push_str(&format!("{key} = {value}  # {}\n", origin(key)));
    line("select", s.select.as_deref().map_or_else(|| "(rules enabled by default)".to_string(), list));
    line("extend-select", list(&s.extend_select));
    line("ignore", list(&s.ignore));
    line("exclude", list(&s.exclude));
    line("include-tests", s.include_tests.to_string());
    let pfi: Vec<String> = s.per_file_ignores.iter().map(|(g, r)| format!("{g:?} = {}", list(r))).collect();
    line("per-file-ignores", format!("{{{}}}", pfi.join(", ")));
    let sev: Vec<String> = s.severity.iter().map(|(r, l)| format!("{r} = {:?}", l.as_str())).collect();
    line("severity", format!("{{{}}}", sev.join(", ")));
    line(
        "sensitive",
        format!(
            "{{extra-words = {}, allow-words = {}}}",
            list(&s.knobs.sensitive.extra_words),
            list(&s.knobs.sensitive.allow_words)
        ),
    );
    line(
        "context",
        format!(
            "{{context-params = {}, guards = {}, write-prefixes = {}}}",
            list(&s.knobs.context.context_params),
            list(&s.knobs.context.guards),
            list(&s.knobs.context.write_prefixes)
        ),
    );
    line("retry", format!("{{wait-functions = {}}}", list(&s.knobs.retry.wait_functions)));
    line("max-file-size", s.max_file_size.unwrap_or(crate::source::DEFAULT_MAX_FILE_SIZE).to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule ids as the registry passes them in.
    const IDS: &[&str] = &["TG001", "TG101", "TG201", "TG202", "TG203", "TG301", "TG401"];

    fn err(text: &str) -> String {
        parse(Path::new("trunkguard.toml"), text, IDS).unwrap_err().to_string()
    }

    #[test]
    fn full_configuration() {
        let text = r#"
select = ["TG2"]
extend-select = ["TG203"]
ignore = ["TG202"]
exclude = ["neutron/tests/*"]
severity = { TG201 = "error" }

[per-file-ignores]
"neutron/tests/*" = ["TG2"]
"tools/*.py" = "TG201"

[sensitive]
extra-words = ["vault"]
allow-words = ["token"]

[context]
context-params = ["rctx"]
guards = ["check_owner"]
write-prefixes = ["attach"]

[retry]
wait-functions = ["pause"]
"#;
        let c = parse(Path::new("/p/trunkguard.toml"), text, IDS).unwrap();
        let s = &c.settings;
        assert_eq!(s.select.as_deref(), Some(&["TG2".to_string()][..]));
        assert_eq!(s.per_file_ignores[1], ("tools/*.py".to_string(), vec!["TG201".to_string()]));
        assert_eq!(s.severity.get("TG201"), Some(&Level::Error));
        assert_eq!(s.knobs.context.write_prefixes, ["attach"]);
        assert_eq!(s.knobs.retry.wait_functions, ["pause"]);
        assert_eq!(c.origins["ignore"], "/p/trunkguard.toml:4");
        assert_eq!(c.root, Path::new("/p"));
    }

    #[test]
    fn pyproject_uses_tool_trunkguard() {
        let text = "[project]\nname = 'x'\n\n[tool.trunkguard]\nignore = ['TG203']\n\n[tool.trunkguard.retry]\nwait-functions = ['nap']\n";
        let c = parse(Path::new("pyproject.toml"), text, IDS).unwrap();
        assert_eq!(c.settings.ignore, ["TG203"]);
        assert_eq!(c.settings.knobs.retry.wait_functions, ["nap"]);
        let e = parse(Path::new("pyproject.toml"), "[tool.trunkguard]\nextend-selct = ['TG2']\n", IDS).unwrap_err();
        assert_eq!(e.to_string(), "pyproject.toml:2: unknown key `extend-selct` (did you mean `extend-select`?)");
    }

    #[test]
    fn errors_name_file_line_key_and_suggestion() {
        assert_eq!(
            err("select = ['TG2']\nextend_select = ['TG1']\n"),
            "trunkguard.toml:2: unknown key `extend_select` (did you mean `extend-select`?)"
        );
        assert_eq!(err("ignore = 'TG201'\n"), "trunkguard.toml:1: `ignore` must be a list of strings");
        assert_eq!(
            err("ignore = ['']\n"),
            "trunkguard.toml:1: `ignore` must be a list of rule ids or prefixes, none of them empty"
        );
        assert_eq!(err("include-tests = 'yes'\n"), "trunkguard.toml:1: `include-tests` must be true or false");
        assert_eq!(
            err("\n\nselect = ['TG2O1']\n"),
            "trunkguard.toml:3: `select`: unknown rule `TG2O1` (did you mean `TG201`?)"
        );
        assert_eq!(
            err("[sensitive]\nextra-word = []\n"),
            "trunkguard.toml:2: unknown key `sensitive.extra-word` (did you mean `extra-words`?)"
        );
        assert_eq!(
            err("severity = { TG201 = 'fatal' }\n"),
            "trunkguard.toml:1: `severity.TG201` must be \"error\", \"warning\" or \"note\""
        );
        assert!(err("select = [\n").starts_with("trunkguard.toml:"), "{}", err("select = [\n"));
        assert!(err("select = [\n").contains("invalid TOML"));
    }

    #[test]
    fn the_tool_table_is_found_by_parsing_toml() {
        assert!(has_tool_table("[tool.trunkguard]\nignore = []\n"));
        assert!(has_tool_table("tool.trunkguard.ignore = ['TG201']\n"));
        assert!(has_tool_table("[tool]\ntrunkguard = { ignore = [] }\n"));
        assert!(has_tool_table("  [ tool . trunkguard ]\n"));
        assert!(!has_tool_table("[tool.ruff]\n# [tool.trunkguard] mentioned in a comment\n"));
        assert!(!has_tool_table("x = '''\n[tool.trunkguard]\n'''\n"));
        assert!(has_tool_table("[tool.trunkguard\n"), "a broken file that names it is reported, not skipped");
        let c = parse(Path::new("pyproject.toml"), "tool.trunkguard.ignore = ['TG203']\n", IDS).unwrap();
        assert_eq!(c.settings.ignore, ["TG203"]);
    }

    #[test]
    fn the_finder_answers_as_find_does_for_every_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::absolute(dir.path()).unwrap();
        for d in ["a/b/c", "a/x", "p/q/r", "p/s"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("a/trunkguard.toml"), "").unwrap();
        std::fs::write(root.join("p/q/pyproject.toml"), "[tool.trunkguard]\n").unwrap();
        std::fs::write(root.join("p/pyproject.toml"), "[project]\nname = 'x'\n").unwrap();
        let mut finder = Finder::default();
        for d in ["a/b/c", "a/x", "a/b", "a", "p/q/r", "p/s", "p/q", "p", "a/b/c"] {
            let at = root.join(d);
            assert_eq!(finder.find(&at), find(&at), "{d}");
        }
        assert_eq!(finder.find(&root.join("a/b/c")), Some(root.join("a/trunkguard.toml")));
        assert_eq!(finder.find(&root.join("p/q/r")), Some(root.join("p/q/pyproject.toml")));
    }

    #[test]
    fn extend_inherits_and_the_child_adds_or_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.toml");
        let base_text =
            "select = ['TG2']\nignore = ['TG203']\nexclude = ['gen/*']\n[retry]\nwait-functions = ['nap']\n";
        std::fs::write(&base, base_text).unwrap();
        std::fs::create_dir(dir.path().join("svc")).unwrap();
        let child = dir.path().join("svc/trunkguard.toml");
        std::fs::write(&child, "extend = '../base.toml'\nignore = ['TG202']\n[retry]\nwait-functions = ['pause']\n")
            .unwrap();
        let c = load(&child, IDS).unwrap();
        let s = &c.settings;
        assert_eq!(s.select.as_deref(), Some(&["TG2".to_string()][..]), "inherited");
        assert_eq!(s.ignore, ["TG203", "TG202"], "lists of selectors and globs accumulate");
        assert_eq!(s.exclude, ["gen/*"]);
        assert_eq!(s.knobs.retry.wait_functions, ["pause"], "knobs are replaced");
        assert_eq!(c.root, dir.path().join("svc"), "globs stay relative to the file that was found");
        assert!(c.origins["select"].ends_with("base.toml:1"), "{:?}", c.origins);
        // A cycle, and a missing base, are errors naming the file and line of the `extend`.
        std::fs::write(&base, "extend = 'svc/trunkguard.toml'\n").unwrap();
        let e = load(&child, IDS).unwrap_err().to_string();
        assert!(e.contains("trunkguard.toml:1: `extend`:") && e.contains("cycle"), "{e}");
        std::fs::write(&child, "\nextend = 'nope.toml'\n").unwrap();
        let e = load(&child, IDS).unwrap_err().to_string();
        assert!(e.contains("trunkguard.toml:2: `extend`:") && e.contains("nope.toml"), "{e}");
    }

    #[test]
    fn bad_globs_name_file_and_line_and_long_values_are_cut() {
        assert_eq!(
            err("select = ['TG2']\nexclude = ['ok/*', 'a[b']\n"),
            "trunkguard.toml:2: `exclude`: invalid glob `a[b`: unclosed character class; missing ']'"
        );
        let e = err("[per-file-ignores]\n\"x{\" = ['TG2']\n");
        assert!(e.starts_with("trunkguard.toml:2: `per-file-ignores.\"x{\"`: invalid glob `x{`"), "{e}");
        let long = "TG".to_string() + &"9".repeat(10_000);
        let e = err(&format!("ignore = ['{long}']\n"));
        assert!(e.len() < 200 && e.contains('…'), "{e}");
    }

    #[test]
    fn max_file_size_takes_bytes_or_a_suffixed_size() {
        let size = |text: &str| parse(Path::new("trunkguard.toml"), text, IDS).map(|c| c.settings.max_file_size);
        assert_eq!(size("max-file-size = 1000\n").unwrap(), Some(1000));
        assert_eq!(size("max-file-size = '10M'\n").unwrap(), Some(10 << 20));
        assert_eq!(size("").unwrap(), None);
        assert!(err("max-file-size = -1\n").starts_with("trunkguard.toml:1: `max-file-size` must be a size in bytes"));
        assert!(err("max-file-size = '10 parsecs'\n").contains("must be a size"));
        for (text, bytes) in [("0", 0), ("512K", 512 << 10), ("512kb", 512 << 10), ("3MiB", 3 << 20), ("1 G", 1 << 30)]
        {
            assert_eq!(parse_size(text), Some(bytes), "{text}");
        }
        for text in ["", "M", "10X", "10ib", "10bb", "99999999999999999999", "17179869184G"] {
            assert_eq!(parse_size(text), None, "{text}");
        }
    }

    #[test]
    fn nearest_names() {
        assert_eq!(crate::finding::nearest("ignor", TOP_KEYS.iter().copied()).as_deref(), Some("ignore"));
        assert_eq!(crate::finding::nearest("completely-different", TOP_KEYS.iter().copied()), None);
    }
}
