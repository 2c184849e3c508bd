//! Fitting the places trunkguard is used: configuration files and their errors, family knobs,
//! in-source suppressions, baselines, `--diff-against`, `--fail-on`, `--statistics`, several
//! reports from one run.

mod common;

use common::{assert_schema_valid, results, sarif_in, trunkguard_in};
use predicates::prelude::*;
use serde_json::Value;
use std::fs;
use std::path::Path;

const SILENT: &str = "try:\n    f()\nexcept Exception:\n    pass\n";
const SWALLOW: &str = "def g(LOG):\n    try:\n        f()\n    except Exception as e:\n        LOG.error('x %s', e)\n";

fn sarif(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = trunkguard_in(dir).arg("check").args(args).args(["--output-format", "sarif"]).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(code <= 1, "exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema_valid(&log);
    (code, log)
}

fn rule_ids(log: &Value) -> Vec<String> {
    results(log).iter().map(|r| r["ruleId"].as_str().unwrap().to_string()).collect()
}

#[test]
fn nearest_configuration_wins_and_isolated_ignores_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pyproject.toml"), "[project]\nname = 'x'\n\n[tool.trunkguard]\nignore = ['TG202']\n")
        .unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("a.py"), format!("{SILENT}{SWALLOW}")).unwrap();
    fs::write(dir.path().join("sub/b.py"), format!("{SILENT}{SWALLOW}")).unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["a.py"]).1), ["TG201"]);
    assert_eq!(rule_ids(&sarif(dir.path(), &["a.py", "--isolated"]).1), ["TG202", "TG201"]);
    // A trunkguard.toml nearer to the scanned path wins over the pyproject.toml above it.
    fs::write(dir.path().join("sub/trunkguard.toml"), "ignore = ['TG201']\n").unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["sub"]).1), ["TG202"]);
    // --config names one explicitly.
    fs::write(dir.path().join("other.toml"), "select = ['TG201']\nignore = ['TG202']\n").unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["sub", "--config", "other.toml"]).1), ["TG201"]);
    // `trunkguard config` shows the effective values and where they came from.
    trunkguard_in(&dir.path().join("sub"))
        .arg("config")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("trunkguard.toml"))
        .stdout(predicate::str::contains("ignore = [\"TG201\"]  # "))
        .stdout(predicate::str::contains("trunkguard.toml:1"))
        .stdout(predicate::str::contains("exclude = []  # default"));
}

#[test]
fn configuration_errors_are_usage_errors_with_file_line_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SILENT).unwrap();
    let cases = [
        (
            "select = ['TG2']\nextend-selct = ['TG1']\n",
            "trunkguard.toml:2: unknown key `extend-selct` (did you mean `extend-select`?)",
        ),
        ("ignore = ['TG2O2']\n", "trunkguard.toml:1: `ignore`: unknown rule `TG2O2` (did you mean `TG202`?)"),
        ("exclude = 'tests'\n", "trunkguard.toml:1: `exclude` must be a list of strings"),
        ("[retry]\nwait-function = ['nap']\n", "unknown key `retry.wait-function` (did you mean `wait-functions`?)"),
        ("select = [\n", "trunkguard.toml:"),
    ];
    for (text, message) in cases {
        fs::write(dir.path().join("trunkguard.toml"), text).unwrap();
        trunkguard_in(dir.path()).args(["check", "a.py"]).assert().code(2).stderr(predicate::str::contains(message));
    }
}

#[test]
fn per_file_ignores_severity_and_excludes() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("pkg/tests")).unwrap();
    fs::create_dir_all(dir.path().join("pkg/generated")).unwrap();
    fs::write(dir.path().join("pkg/tests/test_a.py"), format!("{SILENT}{SWALLOW}")).unwrap();
    fs::write(dir.path().join("pkg/generated/g.py"), SILENT).unwrap();
    fs::write(dir.path().join("pkg/core.py"), SWALLOW).unwrap();
    fs::write(
        dir.path().join("trunkguard.toml"),
        "exclude = ['generated']\ninclude-tests = true\nseverity = { TG201 = 'error' }\n\n[per-file-ignores]\n\"pkg/tests/*\" = ['TG202']\n",
    )
    .unwrap();
    let (_, log) = sarif(dir.path(), &["pkg"]);
    let got: Vec<(String, String, String)> = results(&log)
        .iter()
        .map(|r| {
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("pkg/core.py".into(), "TG201".into(), "error".into()),
            ("pkg/tests/test_a.py".into(), "TG201".into(), "error".into())
        ]
    );
}

#[test]
fn test_code_is_scanned_but_reported_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("pkg/tests/unit")).unwrap();
    fs::write(dir.path().join("pkg/core.py"), SILENT).unwrap();
    for f in ["pkg/tests/unit/helpers.py", "pkg/test_core.py", "pkg/core_test.py", "conftest.py"] {
        fs::write(dir.path().join(f), SILENT).unwrap();
    }
    fs::write(dir.path().join("pkg/tests/broken.py"), "def f(:\n").unwrap();
    let uris = |log: &Value| -> Vec<String> {
        results(log)
            .iter()
            .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, log) = sarif(dir.path(), &["."]);
    assert_eq!(uris(&log), ["pkg/core.py"]);
    // Still scanned: the syntax error in test code is reported.
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    let (_, log) = sarif(dir.path(), &[".", "--include-tests"]);
    assert_eq!(uris(&log).len(), 5);
    fs::write(dir.path().join("trunkguard.toml"), "include-tests = true\n").unwrap();
    assert_eq!(uris(&sarif(dir.path(), &["."]).1).len(), 5);
}

#[test]
fn family_knobs_extend_the_vocabularies() {
    let dir = tempfile::tempdir().unwrap();
    let retry = "def push(client):\n    for attempt in range(5):\n        try:\n            return client.push()\n        except IOError:\n            if attempt == 4:\n                raise\n            utils.nap(2 ** attempt)\n";
    fs::write(dir.path().join("r.py"), retry).unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["r.py", "--isolated"]).1), ["TG102"]);
    fs::write(dir.path().join("trunkguard.toml"), "[retry]\nwait-functions = ['utils.nap']\n").unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["r.py"]).1), Vec::<String>::new());

    let rpc = "class AgentRpcCallback(object):\n    def bind(self, context, port_id, host):\n        el = context.elevated()\n        self.plugin.update_port(el, port_id, {'host': host})\n";
    fs::write(dir.path().join("c.py"), rpc).unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["c.py", "--isolated"]).1), ["TG401"]);
    let guarded = rpc.replace(
        "        el = context.elevated()",
        "        acl.check_owner(context, port_id)\n        el = context.elevated()",
    );
    fs::write(dir.path().join("c.py"), guarded).unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["c.py", "--isolated"]).1), ["TG401"]);
    fs::write(dir.path().join("trunkguard.toml"), "[context]\nguards = ['check_owner']\n").unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["c.py"]).1), Vec::<String>::new());

    let logs = "import logging\nLOG = logging.getLogger(__name__)\n\n\ndef report(vault, auth_token):\n    LOG.info('vault %s', vault)\n    LOG.info('token %s', auth_token)\n";
    fs::write(dir.path().join("l.py"), logs).unwrap();
    let lines = |log: &Value| -> Vec<(String, u64)> {
        results(log)
            .iter()
            .map(|r| {
                let line = r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap();
                (r["ruleId"].as_str().unwrap().to_string(), line)
            })
            .collect()
    };
    assert_eq!(lines(&sarif(dir.path(), &["l.py", "--isolated"]).1), [("TG301".to_string(), 7)]);
    fs::write(dir.path().join("trunkguard.toml"), "[sensitive]\nextra-words = ['vault']\nallow-words = ['token']\n")
        .unwrap();
    assert_eq!(lines(&sarif(dir.path(), &["l.py"]).1), [("TG301".to_string(), 6)]);

    let custom = "class AgentRpcCallback(object):\n    def bind(self, rctx, port_id):\n        el = rctx.elevated()\n        self.plugin.attach_port(el, port_id)\n";
    fs::write(dir.path().join("c.py"), custom).unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["c.py", "--isolated"]).1), Vec::<String>::new());
    fs::write(
        dir.path().join("trunkguard.toml"),
        "[context]\ncontext-params = ['rctx']\nwrite-prefixes = ['attach']\n",
    )
    .unwrap();
    assert_eq!(rule_ids(&sarif(dir.path(), &["c.py"]).1), ["TG401"]);
}

#[test]
fn suppressed_results_stay_in_sarif_and_out_of_text_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.py"),
        "try:\n    f()\nexcept Exception:  # trunkguard: ignore[TG202] -- best effort\n    pass\n",
    )
    .unwrap();
    let (code, log) = sarif(dir.path(), &["a.py"]);
    assert_eq!(code, 0, "silenced findings do not fail the run");
    let r = &results(&log)[0];
    assert_eq!(r["suppressions"][0]["kind"], "inSource");
    assert_eq!(r["suppressions"][0]["status"], "accepted");
    assert_eq!(r["suppressions"][0]["justification"], "# trunkguard: ignore[TG202] -- best effort");
    let text = trunkguard_in(dir.path()).args(["check", "a.py"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&text.stdout).contains("TG202"));
    let shown = trunkguard_in(dir.path()).args(["check", "a.py", "--show-suppressed"]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("TG202 (silenced)"));
}

#[test]
fn baseline_states_survive_code_moving_and_fail_on_new() {
    let dir = tempfile::tempdir().unwrap();
    let module = format!("{SWALLOW}\n\ndef h():\n{}", SILENT.lines().map(|l| format!("    {l}\n")).collect::<String>());
    fs::write(dir.path().join("m.py"), &module).unwrap();
    trunkguard_in(dir.path())
        .args(["check", "m.py", "--output-format", "sarif", "--output", "old.sarif"])
        .assert()
        .code(1);
    // Lines inserted above every finding: all unchanged, nothing new.
    fs::write(dir.path().join("m.py"), format!("import os\n\n\n{module}")).unwrap();
    let (_, log) = sarif(dir.path(), &["m.py", "--baseline", "old.sarif"]);
    let states: Vec<&str> = results(&log).iter().map(|r| r["baselineState"].as_str().unwrap()).collect();
    assert_eq!(states, ["unchanged", "unchanged"]);
    trunkguard_in(dir.path()).args(["check", "m.py", "--baseline", "old.sarif", "--fail-on-new"]).assert().code(0);
    // One finding fixed, one added: absent and new.
    let changed = format!("import os\n{SWALLOW}\n\ndef k():\n    try:\n        f()\n    except:\n        return 1\n");
    fs::write(dir.path().join("m.py"), changed).unwrap();
    let (_, log) = sarif(dir.path(), &["m.py", "--baseline", "old.sarif"]);
    let mut states: Vec<(String, String)> = results(&log)
        .iter()
        .map(|r| (r["ruleId"].as_str().unwrap().into(), r["baselineState"].as_str().unwrap().into()))
        .collect();
    states.sort();
    assert_eq!(
        states,
        [("TG201".into(), "unchanged".into()), ("TG202".into(), "absent".into()), ("TG203".into(), "new".into())]
    );
    trunkguard_in(dir.path())
        .args(["check", "m.py", "--baseline", "old.sarif", "--fail-on-new"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TG203"))
        .stdout(predicate::str::contains("TG201").not())
        .stdout(predicate::str::contains("1 new, 1 unchanged, 1 absent"));
    trunkguard_in(dir.path()).args(["check", "m.py", "--baseline", "missing.sarif"]).assert().code(2);
}

#[test]
fn diff_against_reports_only_changed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&ok.stderr));
    };
    git(&["init", "-q"]);
    fs::write(dir.path().join("old.py"), SILENT).unwrap();
    git(&["add", "old.py"]);
    git(&["commit", "-q", "-m", "init"]);
    fs::write(dir.path().join("old.py"), format!("{SILENT}\n{SWALLOW}")).unwrap();
    fs::write(dir.path().join("new.py"), SILENT).unwrap();
    let (_, log) = sarif(dir.path(), &[".", "--diff-against", "HEAD"]);
    let got: Vec<(String, u64)> = results(&log)
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            (loc["artifactLocation"]["uri"].as_str().unwrap().into(), loc["region"]["startLine"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, [("new.py".into(), 3), ("old.py".into(), 9)]);
    trunkguard_in(dir.path()).args(["check", ".", "--diff-against", "no-such-ref"]).assert().code(2);
}

/// A git repository in a temporary directory whose git never reads the user's or the system's
/// configuration: `GIT_CONFIG_GLOBAL` points at a file of the test's own.
struct Repo {
    dir: tempfile::TempDir,
    global: tempfile::NamedTempFile,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo { dir: tempfile::tempdir().unwrap(), global: tempfile::NamedTempFile::new().unwrap() };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let out = std::process::Command::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", self.global.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// `trunkguard check ARGS` in `sub` (relative to the repository) under the same git environment.
    fn trunkguard(&self, sub: &str, args: &[&str]) -> std::process::Output {
        trunkguard_in(&self.path().join(sub))
            .env("GIT_CONFIG_GLOBAL", self.global.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .arg("check")
            .args(args)
            .output()
            .unwrap()
    }

    /// (path, line, rule) of the findings of `trunkguard check ARGS --output-format json` run in `sub`.
    fn findings(&self, sub: &str, args: &[&str]) -> Vec<(String, u64, String)> {
        let out = self.trunkguard(sub, &[args, &["--output-format", "json"]].concat());
        assert!(out.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (f["path"].as_str().unwrap().into(), f["line"].as_u64().unwrap(), f["rule"].as_str().unwrap().into())
            })
            .collect()
    }
}

fn at(path: &str, line: u64, rule: &str) -> (String, u64, String) {
    (path.into(), line, rule.into())
}

/// User settings that change `git diff`'s output (prefixes, quoting, fused hunks, colour, an external
/// diff), in the repository's `.git/config` or the global configuration, change nothing; names with
/// spaces, quotes and non-ASCII letters are matched; running from a subdirectory is the same.
#[test]
fn diff_against_is_immune_to_git_settings_and_unusual_names() {
    let repo = Repo::new();
    let names = ["a b.py", "é.py", "q\"t.py", "sub/s.py"];
    for name in names {
        repo.write(name, "x = 1\n");
    }
    // Unchanged finding between two changed lines: hunks fused by diff.interHunkContext must not count.
    repo.write("h.py", &format!("x = 1\n{SILENT}y = 1\n"));
    repo.commit("init");
    for name in names {
        repo.write(name, &format!("x = 1\n{SILENT}"));
    }
    repo.write("h.py", &format!("x = 2\n{SILENT}y = 2\n"));
    repo.write("new é.py", SILENT);
    let expected = [
        at("a b.py", 4, "TG202"),
        at("new é.py", 3, "TG202"),
        at("q\"t.py", 4, "TG202"),
        at("sub/s.py", 4, "TG202"),
        at("é.py", 4, "TG202"),
    ];
    assert_eq!(repo.findings("", &[".", "--diff-against", "HEAD"]), expected);
    let hostile = "[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n\trelative = true\n\tinterHunkContext = 10\n\texternal = false\n[core]\n\tquotePath = true\n[color]\n\tui = always\n";
    let config = repo.path().join(".git/config");
    let own = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{own}{hostile}")).unwrap();
    assert_eq!(repo.findings("", &[".", "--diff-against", "HEAD"]), expected, "settings in .git/config");
    fs::write(&config, own).unwrap();
    fs::write(repo.global.path(), hostile).unwrap();
    assert_eq!(repo.findings("", &[".", "--diff-against", "HEAD"]), expected, "settings in the global config");
    // From a subdirectory: diff paths are relative to the top level, display paths to the directory.
    assert_eq!(repo.findings("sub", &[".", "--diff-against", "HEAD"]), [at("s.py", 4, "TG202")]);
    let up: Vec<_> = expected.iter().map(|f| at(&format!("../{}", f.0), f.1, &f.2)).collect();
    assert_eq!(repo.findings("sub", &["..", "--diff-against", "HEAD"]), up);
}

/// The revision is never an option to git, and every failure is one line and exit status 2.
#[test]
fn diff_against_errors_are_one_line_and_never_options() {
    let repo = Repo::new();
    repo.write("a.py", SILENT);
    repo.commit("init");
    for (rev, message) in [
        ("--output=x", "`--output=x` is not a git revision"),
        ("-p", "`-p` is not a git revision"),
        ("no-such-ref", "unknown git revision `no-such-ref`"),
        ("HEAD~5", "unknown git revision `HEAD~5`"),
    ] {
        let out = repo.trunkguard("", &["a.py", &format!("--diff-against={rev}")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rev}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{rev}: {stderr}");
        assert!(stderr.contains(message), "{rev}: {stderr}");
    }
    assert!(!repo.path().join("x").exists(), "git wrote --output=x");
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("a.py"), SILENT).unwrap();
    let out = trunkguard_in(outside.path())
        .env("GIT_CEILING_DIRECTORIES", outside.path().parent().unwrap())
        .args(["check", "a.py", "--diff-against", "HEAD"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not inside a git repository"), "{stderr}");
}

/// `--diff-against main` on a branch compares with where the branch left main (as `git diff main...`):
/// what main changed since is not the branch's change.
#[test]
fn diff_against_compares_with_the_merge_base() {
    let repo = Repo::new();
    repo.write("f.py", &format!("x = 1\n{SILENT}"));
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("g.py", &format!("x = 1\n{SILENT}"));
    repo.commit("feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("f.py", &format!("x = 1\n{}", SILENT.replace("except Exception:", "except Exception:  # reviewed")));
    repo.commit("main moves on");
    repo.git(&["checkout", "-q", "feature"]);
    assert_eq!(repo.findings("", &[".", "--diff-against", "main"]), [at("g.py", 4, "TG202")]);
}

/// A finding counts as changed when any of its locations does: a change that adds only the write an
/// existing `elevated()` reaches (a related location), or only the call to the helper that writes (a
/// step of the flow). Every summary says how many findings the diff filter left out.
#[test]
fn diff_against_counts_related_and_flow_locations_and_says_what_it_left_out() {
    let repo = Repo::new();
    let rpc = |call: &str, write: &str| {
        format!(
            "class AgentRpcCallback(object):\n    def bind(self, context, port_id, host):\n        el = context.elevated()\n        {call}\n\n    def _store(self, ctx, port_id, host):\n        x = 1\n        {write}\n"
        )
    };
    let call = "self._store(el, port_id, host)";
    let write = "self.plugin.update_port(ctx, port_id, {'host': host})";
    repo.write("related.py", &rpc(call, "LOG.debug('x')"));
    repo.write("flow.py", &rpc("pass", write));
    repo.write("old.py", SILENT);
    repo.commit("init");
    repo.write("related.py", &rpc(call, write));
    repo.write("flow.py", &rpc(call, write));
    assert_eq!(
        repo.findings("", &[".", "--diff-against", "HEAD"]),
        [at("flow.py", 3, "TG401"), at("related.py", 3, "TG401")]
    );
    let text = repo.trunkguard("", &[".", "--diff-against", "HEAD"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("1 finding on lines the diff did not touch left out."), "{stdout}");
    let json = repo.trunkguard("", &[".", "--diff-against", "HEAD", "--output-format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["summary"]["outside_diff"], 1);
    let (_, log) = sarif(repo.path(), &[".", "--diff-against", "HEAD"]);
    assert_eq!(log["runs"][0]["properties"]["findingsOutsideDiff"], 1);
    // Nothing on changed lines: the summary still says what was left out.
    repo.commit("second");
    let text = repo.trunkguard("", &[".", "--diff-against", "HEAD"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(0));
    assert!(stdout.contains("3 findings on lines the diff did not touch left out."), "{stdout}");
    let (_, log) = sarif(repo.path(), &["."]);
    assert!(log["runs"][0].get("properties").is_none(), "no diff, no property");
}

fn states(log: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = results(log)
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
            (uri.to_string(), r["baselineState"].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

/// Only files that were scanned can have `absent` results: not those outside the paths given, nor
/// those `--exclude`d, nor the findings `--diff-against` leaves out on untouched lines.
#[test]
fn baseline_results_of_files_not_scanned_are_not_absent() {
    let repo = Repo::new();
    repo.write("a.py", SILENT);
    repo.write("b.py", SILENT);
    repo.commit("init");
    let out = repo.trunkguard("", &[".", "-o", "sarif=old.sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let unchanged = |f: &str| (f.to_string(), "unchanged".to_string());
    let (_, log) = sarif(repo.path(), &["a.py", "--baseline", "old.sarif"]);
    assert_eq!(states(&log), [unchanged("a.py")]);
    let (_, log) = sarif(repo.path(), &[".", "--exclude", "b.py", "--baseline", "old.sarif"]);
    assert_eq!(states(&log), [unchanged("a.py")]);
    repo.write("a.py", "x = 1\n");
    let (_, log) = sarif(repo.path(), &[".", "--diff-against", "HEAD", "--baseline", "old.sarif"]);
    assert_eq!(states(&log), [("a.py".to_string(), "absent".to_string())]);
    let (_, log) = sarif(repo.path(), &["b.py", "--baseline", "old.sarif"]);
    assert_eq!(states(&log), [unchanged("b.py")]);
}

/// Two identical findings against a baseline that has one: one `unchanged`, one `new`. A baseline
/// with a byte order mark is read; another tool's SARIF is an error naming it.
#[test]
fn baseline_counts_duplicates_reads_a_bom_and_refuses_other_tools() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.py"), SILENT).unwrap();
    trunkguard_in(dir.path()).args(["check", "m.py", "-o", "sarif=old.sarif"]).assert().code(1);
    fs::write(dir.path().join("m.py"), format!("{SILENT}{SILENT}")).unwrap();
    let (_, log) = sarif(dir.path(), &["m.py", "--baseline", "old.sarif"]);
    assert_eq!(states(&log), [("m.py".into(), "new".into()), ("m.py".into(), "unchanged".into())]);
    trunkguard_in(dir.path())
        .args(["check", "m.py", "--baseline", "old.sarif", "--fail-on-new"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 new, 1 unchanged, 0 absent"));
    let old = fs::read_to_string(dir.path().join("old.sarif")).unwrap();
    fs::write(dir.path().join("bom.sarif"), format!("\u{feff}{old}")).unwrap();
    let (_, log) = sarif(dir.path(), &["m.py", "--baseline", "bom.sarif"]);
    assert_eq!(states(&log).len(), 2);
    let mut other: Value = serde_json::from_str(&old).unwrap();
    other["runs"][0]["tool"]["driver"]["name"] = "Bandit".into();
    fs::write(dir.path().join("bandit.sarif"), other.to_string()).unwrap();
    trunkguard_in(dir.path())
        .args(["check", "m.py", "--baseline", "bandit.sarif"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bandit.sarif: a SARIF log written by `Bandit`, not by trunkguard"));
}

/// The JSON summary has the baseline counts the text summary has, also when everything is fixed or
/// unchanged (and `null` without a baseline).
#[test]
fn json_summary_has_the_baseline_counts() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.py"), SILENT).unwrap();
    trunkguard_in(dir.path()).args(["check", "m.py", "-o", "sarif=old.sarif"]).assert().code(1);
    let run = |extra: &[&str]| {
        let out = trunkguard_in(dir.path()).args(["check", "m.py"]).args(extra).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = |extra: &[&str]| -> Value {
        let json: Value = serde_json::from_str(&run(&[extra, &["--output-format", "json"]].concat())).unwrap();
        json["summary"]["baseline"].clone()
    };
    let counts = |new: u64, unchanged: u64, absent: u64| serde_json::json!({"new": new, "unchanged": unchanged, "absent": absent});
    assert_eq!(summary(&[]), Value::Null);
    assert_eq!(summary(&["--baseline", "old.sarif"]), counts(0, 1, 0));
    assert!(run(&["--baseline", "old.sarif"]).contains("Against the baseline: 0 new, 1 unchanged, 0 absent."));
    fs::write(dir.path().join("m.py"), format!("{SILENT}{SWALLOW}")).unwrap();
    assert_eq!(summary(&["--baseline", "old.sarif"]), counts(1, 1, 0));
    fs::write(dir.path().join("m.py"), "x = 1\n").unwrap();
    assert_eq!(summary(&["--baseline", "old.sarif"]), counts(0, 0, 1));
    assert!(run(&["--baseline", "old.sarif"]).contains("Against the baseline: 0 new, 0 unchanged, 1 absent."));
}

#[test]
fn fail_on_statistics_and_several_reports() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("w.py"), SWALLOW).unwrap();
    trunkguard_in(dir.path()).args(["check", "w.py"]).assert().code(1);
    trunkguard_in(dir.path()).args(["check", "w.py", "--fail-on", "error"]).assert().code(0);
    trunkguard_in(dir.path())
        .args(["check", "w.py", "--statistics", "--quiet"])
        .assert()
        .stderr(predicate::str::contains("1  TG201  broad-except-swallowed"));
    let out = trunkguard_in(dir.path())
        .args(["check", "w.py", "--output-format", "text", "--output-format", "sarif", "--output", "sarif=r.sarif"])
        .args(["--output", "json=r.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("w.py:4:5: TG201"));
    let log: Value = serde_json::from_str(&fs::read_to_string(dir.path().join("r.sarif")).unwrap()).unwrap();
    assert_schema_valid(&log);
    let json: Value = serde_json::from_str(&fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["findings"], 1);
    trunkguard_in(dir.path())
        .args(["check", "w.py", "--output-format", "text", "--output-format", "sarif"])
        .assert()
        .code(2);
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..320 {
        fs::write(dir.path().join(format!("m{i:03}.py")), "x = 1\n").unwrap();
    }
    let out = trunkguard_in(dir.path()).args(["check", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("320 files scanned"));
}

/// Every format, run on a file with one silenced finding, one baseline-`unchanged` finding and one new
/// finding, shows the new one alone as a failure and agrees with the exit status; SARIF and JSON carry
/// all three with their states. (The triage stage's two views: `all()` and `reported()`.)
#[test]
fn every_format_agrees_with_the_exit_status_on_silenced_and_unchanged_findings() {
    let dir = tempfile::tempdir().unwrap();
    let old = "def g(LOG):\n    try:\n        f()\n    except Exception as e:\n        LOG.error('x %s', e)\n";
    fs::write(dir.path().join("m.py"), old).unwrap();
    trunkguard_in(dir.path()).args(["check", "m.py", "-o", "sarif=old.sarif"]).assert().code(1);
    let silenced = "\n\ndef s():\n    try:\n        f()\n    except Exception:  # noqa: BLE001\n        pass\n";
    let new = "\n\ndef n():\n    try:\n        f()\n    except:\n        return 1\n";
    let run = |format: &str| {
        let out = trunkguard_in(dir.path())
            .args(["check", "m.py", "--baseline", "old.sarif", "--output-format", format, "--color", "never"])
            .output()
            .unwrap();
        (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
    };
    // Only the unchanged and the silenced finding: nothing to act on, in any format.
    fs::write(dir.path().join("m.py"), format!("{old}{silenced}")).unwrap();
    for format in ["text", "github", "junit", "gitlab", "review"] {
        let (code, out) = run(format);
        assert_eq!(code, 0, "{format}: exit status\n{out}");
        for rule in ["TG201", "TG202"] {
            let failure = match format {
                "github" => out.lines().any(|l| l.starts_with("::") && l.contains(rule)),
                "junit" => out.contains(&format!("type=\"{rule}\"")),
                "gitlab" => out.contains(&format!("\"check_name\": \"{rule}\"")),
                "review" => out.contains(&format!("Rule: {rule}")),
                _ => out.lines().any(|l| l.contains(&format!(": {rule} "))),
            };
            assert!(!failure, "{format} shows {rule} although it is silenced or unchanged:\n{out}");
        }
    }
    // Plus a new finding: exactly one failure everywhere, and exit status 1.
    fs::write(dir.path().join("m.py"), format!("{old}{silenced}{new}")).unwrap();
    let (code, out) = run("github");
    assert_eq!((code, out.lines().filter(|l| l.starts_with("::error") || l.starts_with("::warning")).count()), (1, 1));
    assert!(out.contains("TG203"), "{out}");
    let (code, out) = run("junit");
    assert_eq!((code, out.matches("<failure").count()), (1, 1), "{out}");
    let (code, out) = run("gitlab");
    let issues: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, issues.as_array().unwrap().len()), (1, 1), "{out}");
    let (code, out) = run("review");
    assert_eq!((code, out.matches("- Rule: ").count()), (1, 1), "{out}");
    assert!(out.contains("1 finding (1 error, 0 warnings)"), "{out}");
    let (code, out) = run("text");
    assert_eq!(code, 1);
    assert!(
        out.contains("1 finding (1 error, 0 warnings) in 1 file") && out.contains("1 new, 1 unchanged, 0 absent"),
        "{out}"
    );
    let (code, out) = run("json");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (code, json["findings"].as_array().unwrap().len(), &json["summary"]["findings"]),
        (1, 3, &Value::from(1))
    );
    let (code, log) = sarif(dir.path(), &["m.py", "--baseline", "old.sarif"]);
    let states: Vec<(&str, bool)> = results(&log)
        .iter()
        .map(|r| (r["baselineState"].as_str().unwrap(), r["suppressions"].as_array().is_some_and(|s| !s.is_empty())))
        .collect();
    assert_eq!((code, states.len()), (1, 3));
    assert!(
        states.contains(&("unchanged", false)) && states.contains(&("new", true)) && states.contains(&("new", false))
    );
}

/// An empty rule selector is a usage error, so `--ignore "$UNSET_VAR"` cannot turn the tool off (nor
/// `--select ""` turn every rule on).
#[test]
fn an_empty_rule_selector_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SILENT).unwrap();
    for args in [&["--ignore", ""][..], &["--select", ""], &["--extend-select", ""], &["--ignore", "TG201,"]] {
        trunkguard_in(dir.path())
            .args(["check", "a.py"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("empty rule selector"));
    }
    fs::write(dir.path().join("trunkguard.toml"), "ignore = ['']\n").unwrap();
    trunkguard_in(dir.path())
        .args(["check", "a.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trunkguard.toml:1: `ignore` must be a list of rule ids or prefixes"));
}

/// A run that could not analyse what it was asked to must not look clean: exit 2, SARIF
/// `executionSuccessful: false`, and a summary that says what was not analysed. (`/proc/self/mem` is a
/// regular file whose read fails even for root.)
#[cfg(target_os = "linux")]
#[test]
fn a_run_that_analysed_nothing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.py"), SILENT).unwrap();
    // One unreadable file named explicitly: an error, even though b.py is analysed fine.
    let out = trunkguard_in(dir.path()).args(["check", "/proc/self/mem", "b.py", "--no-cache"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TG202"), "the rest is still reported: {stdout}");
    assert!(
        stdout.contains("Incomplete: 1 file named on the command line could not be analysed: /proc/self/mem"),
        "{stdout}"
    );
    // Nothing analysed at all: an error, named in the summary and in SARIF.
    let out = trunkguard_in(dir.path())
        .args(["check", "/proc/self/mem", "--no-cache", "--output-format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema_valid(&log);
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no file could be analysed"));
    trunkguard_in(dir.path()).args(["check", "b.py"]).assert().code(1);
}

/// A parse the grammar gives up on counts as not analysed too (this one works as root): a file nested
/// deeper than the grammar can track, named explicitly.
#[test]
fn a_file_named_explicitly_that_could_not_be_analysed_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let deep: String =
        (0..320).map(|i| format!("{}if x:\n", "    ".repeat(i))).collect::<String>() + &"    ".repeat(320) + "pass\n";
    fs::write(dir.path().join("deep.py"), deep).unwrap();
    fs::write(dir.path().join("ok.py"), SILENT).unwrap();
    let out = trunkguard_in(dir.path())
        .args(["check", "deep.py", "--no-cache", "--output-format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
    // In a directory scan the same file is a warning, and the run is judged by its findings.
    trunkguard_in(dir.path()).args(["check", ".", "--no-cache"]).assert().code(1);
    // The same file named twice, in four spellings, is analysed and reported once.
    fs::create_dir(dir.path().join("sub")).unwrap();
    let abs = dir.path().join("ok.py");
    let out = sarif_in(dir.path(), &["ok.py", "./ok.py", abs.to_str().unwrap(), "sub/../ok.py", "."]);
    assert_eq!(results(&out).len(), 1, "{out}");
}

/// What git ignores is not scanned (inside a git repository), unless `--no-respect-gitignore`; a file
/// named explicitly is scanned whatever ignores it, unless `--force-exclude` (pre-commit names files).
#[test]
fn gitignore_is_respected_and_force_exclude_applies_to_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok =
            std::process::Command::new("git").current_dir(dir.path()).args(args).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    fs::write(dir.path().join(".gitignore"), "generated/\nscratch.py\n").unwrap();
    fs::create_dir(dir.path().join("generated")).unwrap();
    for name in ["a.py", "scratch.py", "generated/b.py"] {
        fs::write(dir.path().join(name), SILENT).unwrap();
    }
    let scanned = |args: &[&str]| -> Vec<String> {
        let log = sarif_in(dir.path(), args);
        let mut uris: Vec<String> = results(&log)
            .iter()
            .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string())
            .collect();
        uris.dedup();
        uris
    };
    assert_eq!(scanned(&["."]), ["a.py"]);
    assert_eq!(scanned(&[".", "--no-respect-gitignore"]), ["a.py", "generated/b.py", "scratch.py"]);
    assert_eq!(scanned(&["scratch.py"]), ["scratch.py"], "a file named explicitly is scanned");
    assert_eq!(scanned(&["a.py", "scratch.py", "--exclude", "scratch.py"]), ["a.py", "scratch.py"]);
    assert_eq!(scanned(&["a.py", "scratch.py", "--exclude", "scratch.py", "--force-exclude"]), ["a.py"]);
    // Through an excluded directory too (pre-commit names `generated/b.py`, the exclude names `generated`).
    let named = ["a.py", "generated/b.py", "--exclude", "generated", "--force-exclude"];
    assert_eq!(scanned(&named), ["a.py"]);
}

/// Paths in SARIF, fingerprints and the GitHub/GitLab formats are relative to the project root (the
/// configuration file's directory, else the git root): a baseline made at the root matches a run from a
/// subdirectory, and annotations name the file the runner can find.
#[test]
fn paths_are_relative_to_the_project_root_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let git = std::process::Command::new("git").current_dir(dir.path()).args(["init", "-q"]).output().unwrap();
    assert!(git.status.success());
    fs::create_dir_all(dir.path().join("svc/api")).unwrap();
    fs::write(dir.path().join("svc/api/m.py"), SILENT).unwrap();
    trunkguard_in(dir.path()).args(["check", ".", "-o", "sarif=base.sarif"]).assert().code(1);
    let sub = dir.path().join("svc");
    let log = sarif_in(&sub, &["api", "--baseline", "../base.sarif"]);
    let r = &results(&log)[0];
    assert_eq!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "svc/api/m.py");
    assert_eq!(r["baselineState"], "unchanged", "the baseline made at the root matches from a subdirectory");
    let root_uri = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().unwrap();
    assert!(root_uri.ends_with('/') && !root_uri.ends_with("svc/"), "{root_uri}");
    let out = trunkguard_in(&sub).args(["check", "api", "--output-format", "github"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("file=svc/api/m.py,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Text output stays relative to where you are.
    let out = trunkguard_in(&sub).args(["check", "api", "--color", "never"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("api/m.py:3:1:"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Inside git, a configuration in a subdirectory does not move the root (GitHub resolves against the
    // repository); outside git, the configuration's directory is the root.
    fs::write(sub.join("trunkguard.toml"), "include-tests = false\n").unwrap();
    let log = sarif_in(&sub, &["api"]);
    assert_eq!(results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "svc/api/m.py");
    fs::remove_dir_all(dir.path().join(".git")).unwrap();
    let log = sarif_in(dir.path(), &["svc/api"]);
    assert_eq!(results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "api/m.py");
}

/// Each file uses its nearest configuration, so results do not depend on the order of the paths given;
/// a nested configuration's `exclude` applies to the files under it, and a `secret=True` option
/// declared under one configuration still counts for files under another (one project index).
#[test]
fn each_file_uses_its_nearest_configuration_whatever_the_argument_order() {
    let dir = tempfile::tempdir().unwrap();
    let git = std::process::Command::new("git").current_dir(dir.path()).args(["init", "-q"]).output().unwrap();
    assert!(git.status.success(), "paths are relative to the git root whatever configuration applies");
    fs::write(dir.path().join("trunkguard.toml"), "ignore = ['TG202']\n").unwrap();
    fs::create_dir_all(dir.path().join("sub/gen")).unwrap();
    fs::write(dir.path().join("sub/pyproject.toml"), "[tool.trunkguard]\nignore = ['TG201']\nexclude = ['gen']\n")
        .unwrap();
    for name in ["a.py", "sub/b.py", "sub/gen/c.py"] {
        fs::write(dir.path().join(name), format!("{SILENT}{SWALLOW}")).unwrap();
    }
    let by_file = |args: &[&str]| -> Vec<(String, String)> {
        let log = sarif(dir.path(), args).1;
        let mut out: Vec<(String, String)> = results(&log)
            .iter()
            .map(|r| {
                let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
                (uri.to_string(), r["ruleId"].as_str().unwrap().to_string())
            })
            .collect();
        out.sort();
        out
    };
    let want = [("a.py".to_string(), "TG201".to_string()), ("sub/b.py".to_string(), "TG202".to_string())];
    assert_eq!(by_file(&["a.py", "sub/b.py"]), want);
    assert_eq!(by_file(&["sub/b.py", "a.py"]), want, "argument order does not matter");
    assert_eq!(by_file(&["."]), want, "the nested exclude leaves out sub/gen");
    assert_eq!(by_file(&["sub"]), want[1..]);
    // --isolated: no configuration at all, for every file.
    assert_eq!(by_file(&["sub/b.py", "a.py", "--isolated"]).len(), 4);
}

/// The `Incomplete:` summary names files from the checkout: control characters in them are shown, not
/// sent to the terminal.
#[test]
fn the_incomplete_summary_escapes_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let deep: String =
        (0..320).map(|i| format!("{}if x:\n", "    ".repeat(i))).collect::<String>() + &"    ".repeat(320) + "pass\n";
    let name = "deep\u{1b}[2J.py";
    fs::write(dir.path().join(name), deep).unwrap();
    fs::write(dir.path().join("ok.py"), "x = 1\n").unwrap();
    let out =
        trunkguard_in(dir.path()).args(["check", name, "ok.py", "--no-cache", "--color", "never"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Incomplete:") && !stdout.contains('\u{1b}'), "{stdout:?}");
    assert!(stdout.contains("deep␛[2J.py"), "{stdout}");
}
