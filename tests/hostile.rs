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

/// A project whose one file (old enough for the cache to trust its timestamp) has one finding, scanned
/// once so that `.trunkguard_cache` holds its result.
fn cached_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.py");
    fs::write(&file, SWALLOW).unwrap();
    let aged = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::options().write(true).open(&file).unwrap().set_modified(aged).unwrap();
    check_reports_the_finding(dir.path(), &[]);
    dir
}

/// Runs a cached check of `a.py` (60 s at most) and asserts it reports its finding; returns stderr.
fn check_reports_the_finding(dir: &Path, args: &[&str]) -> String {
    let out = trunkguard_in(dir)
        .args(["check", "a.py", "--output-format", "json"])
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "the finding is reported: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1);
    stderr
}

/// The bucket files of a cache directory.
fn buckets(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for folder in fs::read_dir(cache).unwrap().flatten().filter(|e| e.file_type().unwrap().is_dir()) {
        out.extend(fs::read_dir(folder.path()).unwrap().flatten().map(|e| e.path()));
    }
    out
}

#[test]
fn a_tampered_cache_never_hides_findings() {
    let dir = cached_project();
    let cache = dir.path().join(".trunkguard_cache");
    let first = buckets(&cache);
    assert_eq!(first.len(), 1);
    // What a pull request can commit: the same bucket with the findings removed (whatever comes
    // before the JSON body is kept as it was).
    let bytes = fs::read(&first[0]).unwrap();
    let body = bytes.iter().position(|&b| b == b'{').unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&bytes[body..]).unwrap();
    for entry in json["entries"].as_object_mut().unwrap().values_mut() {
        entry["analysis"]["findings"] = serde_json::json!([]);
    }
    let mut tampered = bytes[..body].to_vec();
    tampered.extend(serde_json::to_vec(&json).unwrap());
    fs::write(&first[0], tampered).unwrap();
    check_reports_the_finding(dir.path(), &[]);
    // Nor does a bucket authenticated with another user's secret (another machine's committed cache).
    let elsewhere = tempfile::tempdir().unwrap();
    fs::remove_dir_all(&cache).unwrap();
    let out = trunkguard_in(dir.path())
        .env("XDG_CACHE_HOME", elsewhere.path())
        .args(["check", "a.py", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let foreign = buckets(&cache).pop().unwrap();
    let mut json: serde_json::Value = {
        let bytes = fs::read(&foreign).unwrap();
        let body = bytes.iter().position(|&b| b == b'{').unwrap();
        serde_json::from_slice(&bytes[body..]).unwrap()
    };
    for entry in json["entries"].as_object_mut().unwrap().values_mut() {
        entry["analysis"]["findings"] = serde_json::json!([]);
    }
    // Re-signed with the other secret: valid there, worthless here.
    let key: [u8; 32] = fs::read(elsewhere.path().join("trunkguard/key")).unwrap().try_into().unwrap();
    let body = serde_json::to_vec(&json).unwrap();
    let name = foreign.file_name().unwrap().to_str().unwrap();
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(b"trunkguard cache bucket v1\0");
    hasher.update(name.as_bytes());
    hasher.update(b"\0");
    hasher.update(&body);
    let mut signed = hasher.finalize().to_hex().as_bytes().to_vec();
    signed.push(b'\n');
    signed.extend(body);
    fs::write(&foreign, signed).unwrap();
    let out = trunkguard_in(dir.path())
        .env("XDG_CACHE_HOME", elsewhere.path())
        .args(["check", "a.py", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "the other secret accepts its own bucket (the test's forgery is right)");
    check_reports_the_finding(dir.path(), &[]);
}

#[test]
fn without_a_place_for_the_secret_the_scan_runs_uncached_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    let out = trunkguard_in(dir.path())
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .args(["check", "a.py", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: no usable place for the cache key (neither XDG_CACHE_HOME nor HOME is set); running without the cache"),
        "{stderr}"
    );
    assert!(!dir.path().join(".trunkguard_cache").exists());
}

#[test]
fn cache_files_that_are_fifos_or_symlinks_are_never_opened() {
    let dir = cached_project();
    let bucket = buckets(&dir.path().join(".trunkguard_cache")).pop().unwrap();
    // A symlink to a FIFO (a stand-in for /dev/zero or a pipe that never ends): not followed.
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    fs::remove_file(&bucket).unwrap();
    std::os::unix::fs::symlink(&fifo, &bucket).unwrap();
    check_reports_the_finding(dir.path(), &[]);
    // A FIFO in the bucket's place: opened non-blocking and refused.
    fs::remove_file(&bucket).unwrap();
    mkfifo(&bucket);
    check_reports_the_finding(dir.path(), &[]);
}

/// A directory outside the project with a folder named like a cache's build folder and a file.
fn bystander(parent: &Path) -> std::path::PathBuf {
    let outside = parent.join("outside");
    fs::create_dir_all(outside.join("0123456789abcdef-0123456789abcdef")).unwrap();
    fs::write(outside.join("notes.txt"), "mine").unwrap();
    outside
}

fn untouched(outside: &Path) {
    let mut names: Vec<String> =
        fs::read_dir(outside).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["0123456789abcdef-0123456789abcdef", "notes.txt"], "nothing created or removed");
}

#[test]
fn a_symlinked_or_foreign_cache_directory_is_never_written_or_cleaned() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    fs::create_dir(&project).unwrap();
    fs::write(project.join("a.py"), SWALLOW).unwrap();
    let outside = bystander(root.path());
    // The checkout's cache directory is a symlink leading out of the project.
    std::os::unix::fs::symlink(&outside, project.join(".trunkguard_cache")).unwrap();
    let stderr = check_reports_the_finding(&project, &[]);
    assert!(stderr.contains("is a symlink, which trunkguard never follows; running without the cache"), "{stderr}");
    untouched(&outside);
    // --cache-dir naming an existing directory trunkguard did not create.
    let stderr = check_reports_the_finding(&project, &["--cache-dir", outside.to_str().unwrap()]);
    assert!(stderr.contains("is not a trunkguard cache"), "{stderr}");
    untouched(&outside);
    // An empty directory is adopted.
    let empty = root.path().join("empty");
    fs::create_dir(&empty).unwrap();
    check_reports_the_finding(&project, &["--cache-dir", empty.to_str().unwrap()]);
    assert!(empty.join("CACHEDIR.TAG").is_file());
}

#[test]
fn a_symlinked_build_folder_is_never_followed() {
    let dir = cached_project();
    let cache = dir.path().join(".trunkguard_cache");
    let folder = fs::read_dir(&cache).unwrap().flatten().find(|e| e.file_type().unwrap().is_dir()).unwrap().path();
    let outside = tempfile::tempdir().unwrap();
    fs::remove_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(outside.path(), &folder).unwrap();
    let stderr = check_reports_the_finding(dir.path(), &[]);
    assert!(stderr.contains("is a symlink"), "{stderr}");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written through the link");
}

#[test]
fn stale_temporary_files_are_cleaned() {
    let dir = cached_project();
    let folder = buckets(&dir.path().join(".trunkguard_cache")).pop().unwrap().parent().unwrap().to_path_buf();
    let old = folder.join(".bucket-killed.tmp");
    let recent = folder.join(".bucket-running.tmp");
    for path in [&old, &recent] {
        fs::write(path, "partial").unwrap();
    }
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::options().write(true).open(&old).unwrap().set_modified(hours_ago).unwrap();
    // A new file makes the run write the cache, which cleans up.
    fs::write(dir.path().join("b.py"), "x = 1\n").unwrap();
    trunkguard_in(dir.path()).args(["check", "a.py", "b.py"]).assert().code(1);
    assert!(!old.exists(), "a killed run's temporary file is removed");
    assert!(recent.exists(), "a concurrent run's is not");
}

#[test]
fn a_report_never_overwrites_a_scanned_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    std::os::unix::fs::symlink("a.py", dir.path().join("alias.sarif")).unwrap();
    for out in ["a.py", "./a.py", "alias.sarif"] {
        trunkguard_in(dir.path())
            .args(["check", ".", "--no-cache", "--output-format", "sarif", "--output", out])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!(
                "refusing to write the report to {out}: it is one of the files being scanned"
            )));
        assert_eq!(fs::read_to_string(dir.path().join("a.py")).unwrap(), SWALLOW);
    }
}

#[test]
fn a_symlinked_output_writes_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    fs::create_dir(dir.path().join("reports")).unwrap();
    // Dangling: the target does not exist yet.
    std::os::unix::fs::symlink("reports/latest.sarif", dir.path().join("out.sarif")).unwrap();
    trunkguard_in(dir.path()).args(["check", "a.py", "--no-cache", "-o", "sarif=out.sarif"]).assert().code(1);
    assert!(fs::symlink_metadata(dir.path().join("out.sarif")).unwrap().file_type().is_symlink());
    let written = fs::read_to_string(dir.path().join("reports/latest.sarif")).unwrap();
    assert!(written.contains("TG201"));
    let left: Vec<_> = fs::read_dir(dir.path().join("reports")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["latest.sarif"], "no temporary file left");
}

#[test]
fn a_fifo_output_is_written_through_and_never_hangs_without_a_reader() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    let fifo = dir.path().join("report.fifo");
    mkfifo(&fifo);
    // With a reader: the report goes through the FIFO, which stays a FIFO.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    trunkguard_in(dir.path())
        .args(["check", "a.py", "--no-cache", "--output-format", "json", "--output", "report.fifo"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1);
    assert!(reader.join().unwrap().contains("\"TG201\""));
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "not replaced by a file");
    // Without one: a bounded wait, then exit 2.
    let started = std::time::Instant::now();
    trunkguard_in(dir.path())
        .args(["check", "a.py", "--no-cache", "--output", "report.fifo"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no reader opened the FIFO within 10 s"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn each_output_is_written_or_fails_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    for formats in [["sarif", "json"], ["json", "sarif"]] {
        let _ = fs::remove_file(dir.path().join("ok.json"));
        let out = trunkguard_in(dir.path())
            .args(["check", "a.py", "--no-cache", "--output-format", formats[0], "--output-format", formats[1]])
            .args(["--output", "sarif=missing/dir/report.sarif", "--output", "json=ok.json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "a failed report is exit 2");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot write missing/dir/report.sarif"), "{stderr}");
        assert!(fs::read_to_string(dir.path().join("ok.json")).unwrap().contains("TG201"), "the other is written");
    }
}

#[test]
fn no_temporary_file_exists_while_the_scan_runs() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("out")).unwrap();
    for i in 0..4 {
        fs::write(dir.path().join(format!("big{i}.py")), SWALLOW.repeat(40_000)).unwrap();
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trunkguard"))
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", common::xdg_cache_home())
        .args(["check", ".", "--no-cache", "--threads", "1", "--output", "out/r.txt"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the scan is still running");
    let during: Vec<_> = fs::read_dir(dir.path().join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    child.kill().unwrap(); // SIGKILL: no clean-up handler runs.
    child.wait().unwrap();
    assert_eq!(during, Vec::<std::ffi::OsString>::new(), "the scan was still running and nothing was created");
    assert_eq!(fs::read_dir(dir.path().join("out")).unwrap().count(), 0, "nothing left behind by kill -9");
}

#[test]
fn a_closed_standard_output_is_an_error_and_a_broken_pipe_is_not_success() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("clean.py"), "x = 1\n").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("trunkguard");
    let out = std::process::Command::new("sh")
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", common::xdg_cache_home())
        .args(["-c", "exec \"$0\" check clean.py --no-cache >&-"])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output is closed"));
    // A reader that stops early (`| head`): quiet, but the report was not delivered.
    fs::write(dir.path().join("many.py"), SWALLOW.repeat(300)).unwrap();
    let out = std::process::Command::new("bash")
        .current_dir(dir.path())
        .env("XDG_CACHE_HOME", common::xdg_cache_home())
        .args([
            "-c",
            "\"$0\" check many.py --no-cache --output-format sarif | head -c 1 >/dev/null; echo ${PIPESTATUS[0]}",
        ])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "quiet");
}
