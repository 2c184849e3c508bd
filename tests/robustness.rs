//! Never crash, never lose a report: hostile source, hostile file systems, interrupted runs.
//! Every case checks the exit status (0 or 1, never a panic), schema-valid SARIF, and the positions.

mod common;

use common::{assert_schema_valid, results, trunkguard_in};
use serde_json::Value;
use std::fs;
use std::path::Path;

const HANDLER: &str = "try:\n    f()\nexcept Exception:\n    pass\n";

/// Scans `dir` (or the given args) and returns (exit code, SARIF, stderr).
fn scan(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = trunkguard_in(dir)
        .arg("check")
        .args(args)
        .args(["--output-format", "sarif"])
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    let code = out.status.code().expect("exited normally, not by a signal");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_schema_valid(&sarif);
    // Exit 2 only for an incomplete run (a file named explicitly that could not be analysed), which
    // still writes its report.
    let incomplete = sarif["runs"][0]["invocations"][0]["executionSuccessful"] == false;
    assert!(
        code == 0 || code == 1 || (code == 2 && incomplete),
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, sarif, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn scan_bytes(bytes: &[u8]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.py"), bytes).unwrap();
    // These inputs are built to stress the analysis, not the size guard: allow them in.
    scan(dir.path(), &["m.py", "--max-file-size", "1G"])
}

/// (rule, startLine, startColumn) of every result.
fn positions(sarif: &Value) -> Vec<(String, u64, u64)> {
    results(sarif)
        .iter()
        .map(|r| {
            let region = &r["locations"][0]["physicalLocation"]["region"];
            (
                r["ruleId"].as_str().unwrap().into(),
                region["startLine"].as_u64().unwrap(),
                region["startColumn"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn notification_ids(sarif: &Value) -> Vec<String> {
    sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["descriptor"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn empty_and_comment_only_files() {
    let (code, sarif, _) = scan_bytes(b"");
    assert_eq!((code, results(&sarif).len(), notification_ids(&sarif).len()), (0, 0, 0));
    let (code, sarif, _) = scan_bytes(b"# just a comment\n# and another\n");
    assert_eq!((code, results(&sarif).len(), notification_ids(&sarif).len()), (0, 0, 0));
}

#[test]
fn invalid_utf8_is_reported_and_analysed() {
    let (code, sarif, stderr) = scan_bytes(b"x = '\xc3\x28'\ntry:\n    f()\nexcept Exception:\n    pass\n");
    assert_eq!(code, 1);
    assert_eq!(positions(&sarif), [("TG202".into(), 4, 1)]);
    assert_eq!(notification_ids(&sarif), ["decode-error"]);
    assert!(stderr.contains("not valid UTF-8"));
}

#[test]
fn coding_cookie_latin1_is_honoured() {
    // 'é' decoded from Latin-1 is one UTF-16 unit: `contextlib` starts at column 17.
    let src =
        b"# -*- coding: latin-1 -*-\nimport contextlib\nwith open('\xe9'), contextlib.suppress(Exception):\n    pass\n";
    let (_, sarif, _) = scan_bytes(src);
    assert_eq!(positions(&sarif), [("TG202".into(), 3, 17)]);
    assert!(notification_ids(&sarif).is_empty(), "a declared encoding is not a decode error");
}

#[test]
fn utf8_bom_is_not_a_column() {
    let (_, sarif, _) = scan_bytes(format!("\u{feff}{HANDLER}").as_bytes());
    assert_eq!(positions(&sarif), [("TG202".into(), 3, 1)]);
}

#[test]
fn crlf_and_lone_cr_line_endings_keep_positions() {
    let (_, sarif, _) = scan_bytes(b"import os\r\n\r\ntry:\r\n    f()\r\nexcept Exception:\r\n    pass\r\n");
    assert_eq!(positions(&sarif), [("TG202".into(), 5, 1)]);
    let (_, sarif, _) = scan_bytes(b"import os\r\rtry:\r    f()\r  # c\rexcept Exception:\r    pass\r");
    assert_eq!(positions(&sarif), [("TG202".into(), 6, 1)]);
}

#[test]
fn tabs_count_as_one_column() {
    let (_, sarif, _) = scan_bytes(b"def g():\n\ttry:\n\t\tf()\n\texcept Exception:\n\t\tpass\n");
    assert_eq!(positions(&sarif), [("TG202".into(), 4, 2)]);
}

#[test]
fn nul_bytes_do_not_crash() {
    let (_, sarif, _) = scan_bytes(b"try:\n    f()\nexcept Exception:\n    pass\nx = '\0\0'\n\0\0\0garbage\n");
    assert_eq!(positions(&sarif)[0], ("TG202".into(), 3, 1));
}

#[test]
fn python2_syntax_is_analysed_as_far_as_it_goes() {
    let src = b"print 'starting'\nexec 'x = 1'\ny = `x`\nz = 0777\nu = ur'raw'\ntry:\n    f()\nexcept Exception, e:\n    print >>sys.stderr, e\n";
    let (code, sarif, _) = scan_bytes(src);
    assert_eq!(code, 1);
    assert!(positions(&sarif).contains(&("TG201".into(), 8, 1)), "{:?}", positions(&sarif));
}

#[test]
fn a_20_mb_generated_file() {
    // Generated-code shape: a long table of plain statements, with a swallowing handler now and then.
    let filler: String =
        (0..1000).map(|i| format!("ROUTE_{i} = {{'path': '/v2.0/ports/{i}', 'method': 'GET'}}\n")).collect();
    let handler = "def handler(self, context):\n    try:\n        self.update(context)\n    except Exception as e:\n        LOG.error('failed: %s', e)\n";
    let mut src = String::new();
    let mut n = 0;
    while src.len() < 20 * 1024 * 1024 {
        src.push_str(&filler);
        src.push_str(handler);
        n += 1;
    }
    let (code, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(results(&sarif).len(), n);
}

#[test]
fn expressions_nested_50000_deep() {
    let src = format!("x = {}1{}\n{HANDLER}", "(".repeat(50_000), ")".repeat(50_000));
    let (_, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(positions(&sarif), [("TG202".into(), 4, 1)]);
    let calls = format!("y = {}0{}\n", "f(".repeat(50_000), ")".repeat(50_000));
    scan_bytes(calls.as_bytes());
    let attrs = format!("z = a{}\n", ".b".repeat(50_000));
    scan_bytes(attrs.as_bytes());
}

#[test]
fn deep_expressions_inside_functions_reach_every_rule_in_linear_time() {
    // Rules that need the enclosing function or handler of a node find it with one descent from the
    // root: a chain of tree-sitter `parent()` calls took minutes here (quadratic in depth). Two
    // secrets, so that TG301's one-finding-per-root-cause does not merge the two calls.
    let d = 20_000;
    let src = format!(
        "import logging\nLOG = logging.getLogger(__name__)\n\ndef f(context, password, token):\n    x = {}LOG.info('%s', password)\n    y = {}LOG.info('%s', token){}\n",
        "lambda: ".repeat(d),
        "{'a': ".repeat(d),
        "}".repeat(d)
    );
    let (_, sarif, _) = scan_bytes(src.as_bytes());
    let lines: Vec<(String, u64)> = positions(&sarif).into_iter().map(|(r, l, _)| (r, l)).collect();
    assert_eq!(lines, [("TG301".to_string(), 5), ("TG301".to_string(), 6)]);
    // The text code frame shows a window of the 160,000-character line, not all of it.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.py"), &src).unwrap();
    let text = trunkguard_in(dir.path()).args(["check", "m.py"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.lines().all(|l| l.chars().count() < 400), "code frames stay narrow");
    assert!(text.contains("…"));
}

#[test]
fn long_operator_chains_do_not_overflow_the_stack() {
    // `return data and data and …` (a left-nested chain 50,000 deep) once overflowed the stack of
    // the worker thread in the TG4xx "is this return a yes/no answer" check.
    let chain = vec!["data"; 50_000].join(" and ");
    let src = format!(
        "class AgentRpcCallback(object):\n    def f(self, context):\n        el = context.elevated()\n        data = self.plugin.get_ports(el)\n        return {chain}\n"
    );
    let (code, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(positions(&sarif), [("TG401".into(), 3, 14)]);
    for op in [" or ", " + ", " % ", " < "] {
        let chain = vec!["password"; 10_000].join(op);
        scan_bytes(format!("import logging\nLOG = logging.getLogger(__name__)\n\ndef f(password):\n    LOG.info('%s', {chain})\n    return {chain}\n").as_bytes());
    }
}

#[test]
fn three_thousand_nested_blocks() {
    // 3,000 levels are past what the Python grammar can track: reported as too deep, never fatal.
    let mut src = String::new();
    for i in 0..3000 {
        let pad = " ".repeat(i);
        src.push_str(&format!("{pad}try:\n{pad} f()\n{pad}except Exception:\n"));
    }
    src.push_str(&format!("{}pass\n", " ".repeat(3000)));
    let (code, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(notification_ids(&sarif), ["too-deep", "incomplete"]);
    assert_eq!(code, 2, "the one file named was not analysed");
    // 290 levels of functions, handlers and loops are analysed, every rule, no stack overflow.
    let mut src = String::from("import logging\nLOG = logging.getLogger(__name__)\n");
    for i in 0..290 {
        let pad = " ".repeat(i);
        let block = match i % 3 {
            0 => format!("{pad}def f{i}(context, password):\n"),
            1 => format!("{pad}try:\n{pad} LOG.info('%s', password)\n{pad}except Exception:\n"),
            _ => format!("{pad}while True:\n"),
        };
        src.push_str(&block);
    }
    src.push_str(&format!("{}return context.elevated()\n", " ".repeat(290)));
    let (code, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(code, 1);
    assert!(notification_ids(&sarif).is_empty());
    let rules: std::collections::BTreeSet<String> = positions(&sarif).into_iter().map(|(r, _, _)| r).collect();
    assert!(rules.contains("TG201") && rules.contains("TG301"), "{rules:?}");
}

#[test]
fn indentation_too_deep_for_the_grammar_is_skipped_not_fatal() {
    // 1,000 nested blocks with a string on each level: tree-sitter-python's scanner state would
    // overflow tree-sitter's 1024-byte buffer and abort the process. Reported and skipped instead,
    // and the other files are still analysed.
    let dir = tempfile::tempdir().unwrap();
    let mut deep = String::from("def f(password):\n");
    for i in 1..=1000 {
        deep.push_str(&format!("{}if x:\n{} LOG.info('%s', password)\n", " ".repeat(i), " ".repeat(i)));
    }
    fs::write(dir.path().join("a_deep.py"), deep).unwrap();
    fs::write(dir.path().join("b_ok.py"), HANDLER).unwrap();
    let (code, sarif, stderr) = scan(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert_eq!(notification_ids(&sarif), ["too-deep"]);
    assert!(stderr.contains("a_deep.py: indentation nested more than 300 levels deep"), "{stderr}");
    assert_eq!(positions(&sarif), [("TG202".into(), 3, 1)]);
}

#[test]
fn a_one_megabyte_line() {
    let src =
        format!("import contextlib\nwith open('{}'), contextlib.suppress(Exception):\n    pass\n", "a".repeat(1 << 20));
    let (_, sarif, _) = scan_bytes(src.as_bytes());
    assert_eq!(positions(&sarif), [("TG202".into(), 2, (1 << 20) + 16)]);
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_and_special_characters() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff.py")), HANDLER).unwrap();
    fs::create_dir(dir.path().join("with space")).unwrap();
    fs::write(dir.path().join("with space/hash#pct%.py"), HANDLER).unwrap();
    let (_, sarif, _) = scan(dir.path(), &["."]);
    let uris: Vec<&str> = results(&sarif)
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["bad%FF.py", "with%20space/hash%23pct%25.py"]);
    let text = trunkguard_in(dir.path()).args(["check", "."]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("bad\u{fffd}.py:3:1: TG202"), "{text}");
    assert!(text.contains("with space/hash#pct%.py:3:1: TG202"), "{text}");
}

#[cfg(unix)]
#[test]
fn dangling_links_devices_and_directories_named_like_files() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere.py"), dir.path().join("dangling.py")).unwrap();
    fs::create_dir(dir.path().join("dir.py")).unwrap();
    fs::write(dir.path().join("dir.py/inner.py"), HANDLER).unwrap();
    let (code, sarif, _) = scan(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert_eq!(results(&sarif).len(), 1, "the dangling link is skipped, dir.py/ is walked");
    // A device named explicitly is skipped with a note, never opened.
    let (code, sarif, stderr) = scan(dir.path(), &["/dev/null"]);
    assert_eq!((code, results(&sarif).len()), (0, 0));
    assert!(stderr.contains("/dev/null: not a regular file"), "{stderr}");
    // A dangling link named explicitly is a usage error.
    trunkguard_in(dir.path()).args(["check", "dangling.py"]).assert().code(2);
}

#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_created_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.py"), HANDLER).unwrap();
    // /proc does not accept new files, even for root.
    trunkguard_in(dir.path()).args(["check", "m.py", "--output", "/proc/trunkguard.sarif"]).assert().code(2);
    assert!(!Path::new("/proc/trunkguard.sarif").exists());
}

#[cfg(unix)]
fn interrupted_run_keeps_the_earlier_report(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Enough work that the scan is still running when the signal arrives.
    let big = HANDLER.repeat(400_000);
    for i in 0..4 {
        fs::write(dir.path().join(format!("big{i}.py")), &big).unwrap();
    }
    let report = dir.path().join("out").join("report.sarif");
    fs::create_dir(dir.path().join("out")).unwrap();
    fs::write(&report, "EARLIER REPORT").unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trunkguard"))
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", common::xdg_cache_home())
        .args(["check", ".", "--threads", "1", "--max-file-size", "1G", "--output-format", "sarif", "--output"])
        .arg(&report)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read_to_string(&report).unwrap(), "EARLIER REPORT");
    let left: Vec<_> = fs::read_dir(dir.path().join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["report.sarif"], "no temporary file left behind");
}

#[cfg(unix)]
#[test]
fn sigint_mid_scan_keeps_the_earlier_report() {
    interrupted_run_keeps_the_earlier_report("-INT");
}

#[cfg(unix)]
#[test]
fn sigterm_mid_scan_keeps_the_earlier_report() {
    interrupted_run_keeps_the_earlier_report("-TERM");
}
