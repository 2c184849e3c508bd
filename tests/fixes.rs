//! Fixes from the command line: `check --fix` (safe fixes; unsafe ones with `--unsafe-fixes`) writes
//! the fixed files and reports what remains; `--diff` shows the changes and writes nothing; SARIF and
//! JSON carry each fix; `--stdin-filename` analyses standard input as a file of the project.

mod common;

use predicates::prelude::*;
use std::path::Path;

const SOURCE: &str = "\
import logging

from oslo_config import cfg

LOG = logging.getLogger(__name__)

opts = [
    cfg.StrOpt('admin_password', help='The admin password.'),
]


def sync(client):
    try:
        client.sync()
    except:
        LOG.warning('sync failed')


def login(user, password):
    LOG.debug('login %s with %s', user, password)
    LOG.debug(f'login {user} with {password}')
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mod.py"), SOURCE).unwrap();
    dir
}

fn read(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("mod.py")).unwrap()
}

#[test]
fn fix_applies_safe_fixes_and_reports_what_remains() {
    let dir = project();
    let out = common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--fix", "--output-format", "concise", "mod.py"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("fixed 1 finding in 1 file"));
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!stdout.contains("TG306"), "fixed: {stdout}");
    assert!(stdout.contains("TG203"), "unsafe fix not applied: {stdout}");
    let fixed = read(dir.path());
    assert!(fixed.contains("cfg.StrOpt('admin_password', help='The admin password.', secret=True),"), "{fixed}");
    assert!(fixed.contains("    except:\n"), "{fixed}");
}

#[test]
fn unsafe_fixes_apply_only_when_asked() {
    let dir = project();
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "concise", "mod.py"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("mod.py:21:5: TG301 "))
        .stderr(predicate::str::contains("fixed 3 findings in 1 file"));
    let fixed = read(dir.path());
    assert!(fixed.contains("    except Exception:\n"), "{fixed}");
    assert!(fixed.contains("secret=True"), "{fixed}");
    assert!(fixed.contains("LOG.debug('login %s with %s', user, '***')"), "{fixed}");
    // No quote inside an f-string's braces (a syntax error before Python 3.12): that one stays.
    assert!(fixed.contains("LOG.debug(f'login {user} with {password}')"), "{fixed}");
}

#[test]
fn diff_shows_the_fixes_and_writes_nothing() {
    let dir = project();
    let out = common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--diff", "--unsafe-fixes", "mod.py"])
        .assert()
        .code(1);
    let diff = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(diff.starts_with("--- a/mod.py\n+++ b/mod.py\n"), "{diff}");
    assert!(diff.contains("\n-    except:\n+    except Exception:\n"), "{diff}");
    assert_eq!(read(dir.path()), SOURCE, "--diff writes nothing");
    // Nothing to fix: exit 0 and no diff.
    std::fs::write(dir.path().join("mod.py"), "x = 1\n").unwrap();
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--diff", "mod.py"])
        .assert()
        .code(0)
        .stdout("");
}

#[cfg(unix)]
#[test]
fn fix_never_writes_through_a_symlink() {
    let dir = project();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.py"), SOURCE).unwrap();
    std::os::unix::fs::symlink(outside.path().join("target.py"), dir.path().join("link.py")).unwrap();
    common::trunkguard_defaults_in(dir.path()).args(["check", "--no-cache", "--fix", "link.py"]).assert().code(1);
    assert_eq!(std::fs::read_to_string(outside.path().join("target.py")).unwrap(), SOURCE);
    assert!(std::fs::symlink_metadata(dir.path().join("link.py")).unwrap().file_type().is_symlink());
}

#[test]
fn sarif_and_json_carry_the_fixes() {
    let dir = project();
    let sarif = common::sarif_in(dir.path(), &["--select", "TG203,TG306", "mod.py"]);
    common::assert_schema_valid(&sarif);
    let results = common::results(&sarif);
    let tg306 = results.iter().find(|r| r["ruleId"] == "TG306").unwrap();
    let fix = &tg306["fixes"][0];
    assert_eq!(fix["description"]["text"], "Add `secret=True`");
    assert_eq!(fix["properties"]["applicability"], "safe");
    let change = &fix["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "mod.py");
    let replacement = &change["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], ", secret=True");
    let region = &replacement["deletedRegion"];
    assert_eq!((region["startLine"].as_i64(), region["startColumn"].as_i64()), (Some(8), Some(60)));
    assert_eq!((region["endLine"].as_i64(), region["endColumn"].as_i64()), (Some(8), Some(60)));
    let tg203 = results.iter().find(|r| r["ruleId"] == "TG203").unwrap();
    assert_eq!(tg203["fixes"][0]["properties"]["applicability"], "unsafe");
    let out = common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--output-format", "json", "mod.py"])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let fix = &json["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "TG306").unwrap()["fix"];
    assert_eq!(fix["applicability"], "safe");
    assert_eq!(fix["edits"][0]["replacement"], ", secret=True");
}

#[test]
fn standard_input_is_analysed_as_the_named_file() {
    let dir = project();
    std::fs::create_dir(dir.path().join("pkg")).unwrap();
    // Its configuration applies (pkg/ ignores TG203), and it need not exist on disk.
    std::fs::write(dir.path().join("pkg/trunkguard.toml"), "ignore = [\"TG203\"]\n").unwrap();
    let out = common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--output-format", "concise", "--stdin-filename", "pkg/new.py", "-"])
        .write_stdin(SOURCE)
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.starts_with("pkg/new.py:8:5: TG306 [*] "), "{stdout}");
    assert!(!stdout.contains("TG203"), "{stdout}");
    assert!(!dir.path().join("pkg/new.py").exists());
    // With --fix, the fixed source goes to standard output (the TG301 findings, unsafe fixes, remain:
    // exit 1); nothing is written.
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--fix", "--stdin-filename", "pkg/new.py", "-"])
        .write_stdin(SOURCE)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("help='The admin password.', secret=True),"));
    assert!(!dir.path().join("pkg/new.py").exists());
    // `-` without a name, or a name with other paths, is a usage error.
    common::trunkguard_defaults_in(dir.path()).args(["check", "-"]).write_stdin("").assert().code(2);
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "--stdin-filename", "a.py", "mod.py"])
        .write_stdin("")
        .assert()
        .code(2);
}

/// Standard input is analysed as a file of its project: an option another file declares `secret=True`
/// makes its logging a TG301 finding, and only the named file's findings are reported.
#[test]
fn standard_input_sees_the_project_around_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trunkguard.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("options.py"),
        "from oslo_config import cfg\n\nopts = [cfg.StrOpt('connection', secret=True)]\n\n\ntry:\n    x()\nexcept:\n    pass\n",
    )
    .unwrap();
    let reads = "from oslo_config import cfg\nfrom oslo_log import log\n\nLOG = log.getLogger(__name__)\nLOG.info('db: %s', cfg.CONF.database.connection)\n";
    let out = common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--output-format", "concise", "--stdin-filename", "reads.py", "-"])
        .write_stdin(reads)
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("reads.py:5:1: TG301 "), "{stdout}");
    assert_eq!(lines.len(), 2, "the bare except of options.py is not reported: {stdout}");
}

/// Every fix the rules offer on the fixtures, applied together (unsafe ones too): the fixed files still
/// parse, the findings fixed are gone, and a second pass has nothing left to change.
#[test]
fn fixes_on_the_fixtures_leave_valid_code_and_nothing_to_redo() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&common::root().join("fixtures"), &dir.path().join("fixtures"));
    let json = |args: &[&str]| -> serde_json::Value {
        let out = common::trunkguard_defaults_in(dir.path())
            .args(["check", "fixtures", "--no-cache", "--select", "ALL", "--output-format", "json", "-q"])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let fixable = |doc: &serde_json::Value| -> Vec<String> {
        let findings = doc["findings"].as_array().unwrap();
        findings.iter().filter(|f| !f["fix"].is_null() && f["suppressed"].is_null()).map(|f| f.to_string()).collect()
    };
    let syntax_errors = |doc: &serde_json::Value| -> usize {
        doc["notifications"].as_array().unwrap().iter().filter(|n| n["id"] == "syntax-error").count()
    };
    let before = json(&[]);
    assert!(fixable(&before).len() >= 5, "the fixtures exercise the fixes: {:?}", fixable(&before));
    let after = json(&["--fix", "--unsafe-fixes"]);
    assert_eq!(fixable(&after), Vec::<String>::new(), "every fix applied");
    assert_eq!(syntax_errors(&after), syntax_errors(&before), "no fix breaks the syntax");
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "fixtures", "--no-cache", "--select", "ALL", "--diff", "--unsafe-fixes"])
        .assert()
        .code(0)
        .stdout("");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Standard input is read up to the size limit, like a file: past it, a `too-large` note and exit 2.
#[test]
fn standard_input_past_the_size_limit_is_not_analysed() {
    let dir = tempfile::tempdir().unwrap();
    common::trunkguard_defaults_in(dir.path())
        .args(["check", "--no-cache", "--max-file-size", "20", "--stdin-filename", "big.py", "-"])
        .write_stdin("x = 1\n".repeat(1000))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("big.py: 21 bytes, larger than max-file-size (20 bytes); skipped"));
}
