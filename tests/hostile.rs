//! A security gate runs on code an attacker wrote: a pull request controls every byte of the checkout,
//! file names included. These tests play that attacker — crafted names and contents, oversized files,
//! FIFOs, symlinks, a committed cache — and check that the scan neither hangs, nor lies, nor writes
//! where it should not, nor lets text from the tree drive the terminal or the CI runner. Every test
//! stays inside its own temporary directory (symlinks to FIFOs there stand in for `/dev/zero`).

mod common;

use common::trunkguard_in;
use std::fs;
use std::path::Path;

/// A broad `except` that swallows the error (TG201), with terminal escapes in a comment on the flagged
/// line: clear-screen, an OSC 8 hyperlink, BEL, and a carriage return that would overwrite the line.
const SWALLOW_ESC: &str = "def g(LOG):\n    try:\n        f()\n    except Exception as e:  # \x1b[2J\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\\x07\n        LOG.error('x %s', e)\n";

/// A file name that, printed raw, starts a GitHub Actions command of its own and clears the screen.
const EVIL_NAME: &str = "evil\n::error file=owned.py,line=1::pwned\x1b[2J\x07\r.py";

/// The bytes of `s` that would act on a terminal or a CI log: C0 controls but tab and the line feeds
/// that end lines, DEL, and C1 controls.
fn active_controls(s: &str) -> Vec<char> {
    s.chars().filter(|&c| c.is_control() && c != '\t' && c != '\n').collect()
}

fn evil_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(EVIL_NAME), SWALLOW_ESC).unwrap();
    // A syntax error, so that a notification names the evil path on stderr too.
    fs::write(dir.path().join("broken\x1b[31m\n.py"), "def (:\n").unwrap();
    dir
}

fn run(dir: &Path, format: &str) -> (String, String) {
    let out = trunkguard_in(dir)
        .args(["check", ".", "--no-cache", "--color", "never", "--output-format", format])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn names_and_source_text_never_reach_the_terminal_raw() {
    let dir = evil_tree();
    for format in ["text", "review", "github"] {
        let (stdout, stderr) = run(dir.path(), format);
        assert_eq!(active_controls(&stdout), [], "{format} stdout:\n{stdout}");
        assert_eq!(active_controls(&stderr), [], "{format} stderr:\n{stderr}");
        assert!(stdout.contains('␛'), "{format}: the escape is shown, not dropped:\n{stdout}");
        // The newline in the name never starts a line of its own.
        for line in stdout.lines().chain(stderr.lines()) {
            assert!(!line.starts_with("::error file=owned.py"), "{format}: injected line {line:?}");
        }
    }
    let (text, _) = run(dir.path(), "text");
    assert!(text.contains("evil␊::error file=owned.py,line=1::pwned␛[2J␇␍.py:4:5: TG201"), "{text}");
    assert!(text.contains("# ␛[2J␛]8;;http://evil.example/␛\\click␛]8;;␛\\␇"), "{text}");
}

#[test]
fn github_commands_keep_the_runner_escapes_for_names() {
    let (github, _) = run(evil_tree().path(), "github");
    let first = github.lines().find(|l| l.contains("TG201")).unwrap();
    assert!(
        first.starts_with("::warning file=evil%0A%3A%3Aerror file=owned.py%2Cline=1%3A%3Apwned␛[2J␇%0D.py,line=4,"),
        "{first}"
    );
}

#[test]
fn machine_formats_keep_the_exact_text() {
    let dir = evil_tree();
    let (json, _) = run(dir.path(), "json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["findings"][0]["path"], EVIL_NAME);
    let (sarif, _) = run(dir.path(), "sarif");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "evil%0A%3A%3Aerror%20file%3Downed.py%2Cline%3D1%3A%3Apwned%1B%5B2J%07%0D.py");
}

const SWALLOW: &str = "def g(LOG):\n    try:\n        f()\n    except Exception as e:\n        LOG.error('x %s', e)\n";

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// SARIF notification (id, file) pairs of a run.
fn notifications(sarif: &serde_json::Value) -> Vec<(String, String)> {
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().unwrap();
    notes
        .iter()
        .map(|n| {
            let uri = &n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            (n["descriptor"]["id"].as_str().unwrap().to_string(), uri.as_str().unwrap_or("").to_string())
        })
        .collect()
}

#[test]
fn a_file_over_max_file_size_is_skipped_with_a_warning_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    // One byte over the default limit (4 MiB): a real file never gets there.
    let big = format!("{SWALLOW}{}", "#".repeat(4 * 1024 * 1024 - SWALLOW.len() + 1));
    fs::write(dir.path().join("big.py"), &big).unwrap();
    let out =
        trunkguard_in(dir.path()).args(["check", ".", "--no-cache", "--output-format", "sarif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the finding in a.py is still reported");
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(notifications(&sarif), [("too-large".to_string(), "big.py".to_string())]);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr
            .contains("trunkguard: warning: big.py: 4194305 bytes, larger than max-file-size (4194304 bytes); skipped"),
        "{stderr}"
    );

    // A lower limit from the command line, then from the configuration.
    fs::write(dir.path().join("big.py"), SWALLOW.repeat(400)).unwrap();
    let sarif = common::sarif_in(dir.path(), &[".", "--no-cache", "--max-file-size", "1K"]);
    assert_eq!(notifications(&sarif), [("too-large".to_string(), "big.py".to_string())]);
    fs::write(dir.path().join("trunkguard.toml"), "max-file-size = \"2K\"\n").unwrap();
    let sarif = common::sarif_in(dir.path(), &[".", "--no-cache"]);
    assert_eq!(notifications(&sarif), [("too-large".to_string(), "big.py".to_string())]);
    let sarif = common::sarif_in(dir.path(), &[".", "--no-cache", "--max-file-size", "1M"]);
    assert_eq!(notifications(&sarif), [], "the command line overrides the configuration");
    trunkguard_in(dir.path()).args(["check", ".", "--max-file-size", "ten"]).assert().code(2);
}

#[test]
fn fifos_named_in_the_tree_or_on_the_command_line_never_hang_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    mkfifo(&dir.path().join("pipe.py"));
    std::os::unix::fs::symlink("pipe.py", dir.path().join("link.py")).unwrap();
    let out = trunkguard_in(dir.path())
        .args(["check", ".", "pipe.py", "link.py", "--no-cache", "--output-format", "sarif"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
}

#[test]
fn a_huge_thread_count_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    let cap = 4 * std::thread::available_parallelism().unwrap().get().min(64);
    trunkguard_in(dir.path())
        .args(["check", ".", "--no-cache", "--threads", "10000"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!("--threads 10000 capped at {cap} (4 per core, at most 256)")));
}
