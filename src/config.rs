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
    #[error("{}:{line}: `{key}`: unknown rule `{rule}`{}", file.display(), hint(suggestion))]
    UnknownRule { file: PathBuf, line: usize, key: String, rule: String, suggestion: Option<String> },
}

fn hint(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

const TOP_KEYS: &[&str] = &[
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
];
const SENSITIVE_KEYS: &[&str] = &["extra-words", "allow-words"];
const CONTEXT_KEYS: &[&str] = &["context-params", "guards", "write-prefixes"];
const RETRY_KEYS: &[&str] = &["wait-functions"];

/// The candidate nearest to `word`, if it is near enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (crate::finding::edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

/// Finds the configuration that applies to `start` (a file or directory): the nearest at or above it.
pub fn find(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    let mut dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
    while let Some(d) = dir {
        for name in [".trunkguard.toml", "trunkguard.toml"] {
            if d.join(name).is_file() {
                return Some(d.join(name));
            }
        }
        let pyproject = d.join("pyproject.toml");
        if pyproject.is_file()
            && std::fs::read_to_string(&pyproject)
                .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("[tool.trunkguard")))
        {
            return Some(pyproject);
        }
        dir = d.parent();
    }
    None
}

/// Loads the configuration file `file`; `rules` are the ids of every rule there is (selectors and
/// severity keys must name at least one).
pub fn load(file: &Path, rules: &[&str]) -> Result<Config, ConfigError> {
    let text =
        std::fs::read_to_string(file).map_err(|source| ConfigError::Read { file: file.to_path_buf(), source })?;
    parse(file, &text, rules)
}

/// Parses configuration text; `file` names it in errors and decides the layout (`pyproject.toml`
/// keeps the settings under `[tool.trunkguard]`).
pub fn parse(file: &Path, text: &str, rules: &[&str]) -> Result<Config, ConfigError> {
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
                    suggestion: nearest(key.get_ref(), allowed.iter().copied()),
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
            suggestion: nearest(rule, self.rules.iter().copied()),
        })
    }

    fn settings(&self, table: &DeTable<'_>, config: &mut Config) -> Result<(), ConfigError> {
        self.check_keys(table, TOP_KEYS, "")?;
        let s = &mut config.settings;
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            config.origins.insert(name.to_string(), self.origin(key.span()));
            match name {
                "select" => s.select = Some(self.rules(value, name)?),
                "extend-select" => s.extend_select = self.rules(value, name)?,
                "ignore" => s.ignore = self.rules(value, name)?,
                "exclude" => s.exclude = self.strings(value, name)?,
                "include-tests" => match value.get_ref() {
                    DeValue::Boolean(b) => s.include_tests = *b,
                    _ => return Err(self.wrong(name, value.span(), "true or false")),
                },
                "per-file-ignores" => {
                    for (glob, rules) in self.table(value, name)? {
                        let key = format!("per-file-ignores.\"{}\"", glob.get_ref());
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
    fn nearest_names() {
        assert_eq!(nearest("ignor", TOP_KEYS.iter().copied()).as_deref(), Some("ignore"));
        assert_eq!(nearest("completely-different", TOP_KEYS.iter().copied()), None);
    }
}
