//! The persistent result cache: a warm run reads no unchanged file, yet reports exactly what a cold run
//! reports; edits, configuration changes and project-index changes are never answered from stale data.

mod common;

use common::trunkguard_in;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use trunkguard::{ScanOptions, discover, scan, selection};

const SWALLOW: &str = "def g(LOG):\n    try:\n        f()\n    except Exception as e:\n        LOG.error('x %s', e)\n";
const QUIET: &str = "def g():\n    return f()\n";
const DECLARES: &str = "from oslo_config import cfg\nOPTS = [cfg.StrOpt('connection', secret=True)]\n";
const DECLARES_NOT: &str = "from oslo_config import cfg\nOPTS = [cfg.StrOpt('connection')]\n";
const READS: &str = "from oslo_config import cfg\nfrom oslo_log import log as logging\nLOG = logging.getLogger(__name__)\n\n\ndef show():\n    LOG.info('db: %s', cfg.CONF.database.connection)\n";

/// Writes `text` to `path` with a modification time `age_secs` in the past (old enough for the cache to
/// trust it; distinct ages give distinct stamps).
fn write_aged(path: &Path, text: &str, age_secs: u64) {
    fs::write(path, text).unwrap();
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(age_secs)).unwrap();
}

/// Scans every file under `dir` with `rules` through the cache in `dir/cache`: (findings as
/// `file:line:rule:fingerprint`, files answered from the cache).
fn run(dir: &Path, rules: &[&str], settings: &trunkguard::config::Settings) -> (Vec<String>, usize) {
    trunkguard::cache::set_secret_location(common::xdg_cache_home().join("trunkguard/key"));
    let rules = selection::resolve(&rules.iter().map(|r| r.to_string()).collect::<Vec<_>>(), &[]).unwrap();
    let found = discover::discover(&[dir.join("src")], &discover::exclude_set(&[]).unwrap(), dir).unwrap();
    let options = ScanOptions { threads: Some(2), cache_dir: Some(dir.join("cache")), ..Default::default() };
    let result = scan(&found.files, &rules, settings, &options).unwrap();
    assert!(result.cache_warning.is_none(), "{:?}", result.cache_warning);
    let findings = result
        .findings
        .iter()
        .map(|(p, f)| format!("{p}:{}:{}:{}", f.span.start.line, f.rule, f.fingerprint))
        .collect();
    (findings, result.cached)
}

fn tree() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    (dir, src)
}

#[test]
fn warm_runs_match_cold_runs_and_edits_are_seen() {
    let (dir, src) = tree();
    write_aged(&src.join("a.py"), SWALLOW, 3600);
    write_aged(&src.join("b.py"), QUIET, 3600);
    let settings = Default::default();
    let (cold, cached) = run(dir.path(), &["TG2"], &settings);
    assert_eq!((cold.len(), cached), (1, 0));
    assert!(dir.path().join("cache/.gitignore").is_file());
    let (warm, cached) = run(dir.path(), &["TG2"], &settings);
    assert_eq!((&warm, cached), (&cold, 2), "a warm run answers both files from the cache, identically");

    // Edit a file: it is analysed again and its findings change; the other still comes from the cache.
    write_aged(&src.join("a.py"), QUIET, 3000);
    write_aged(&src.join("b.py"), QUIET, 3600);
    let (edited, cached) = run(dir.path(), &["TG2"], &settings);
    assert_eq!((edited.len(), cached), (0, 1));
    write_aged(&src.join("b.py"), SWALLOW, 2000);
    let (edited, cached) = run(dir.path(), &["TG2"], &settings);
    assert_eq!((edited.len(), cached), (1, 1));
    assert!(edited[0].contains("b.py:4:TG201"), "{edited:?}");

    // Touched but unchanged (new mtime, same bytes): the content hash vouches for the cached result.
    write_aged(&src.join("a.py"), QUIET, 1000);
    assert_eq!(run(dir.path(), &["TG2"], &settings), (edited.clone(), 2));
}

#[test]
fn a_file_edited_within_the_clock_granularity_is_checked_by_content() {
    let (dir, src) = tree();
    // Just written: its timestamp is not trusted, so a same-size edit with the same mtime is still seen.
    fs::write(src.join("a.py"), SWALLOW).unwrap();
    let stamp = fs::metadata(src.join("a.py")).unwrap().modified().unwrap();
    assert_eq!(run(dir.path(), &["TG2"], &Default::default()).0.len(), 1);
    let same_size = SWALLOW.replace("Exception", "ValueErro");
    assert_eq!(same_size.len(), SWALLOW.len());
    fs::write(src.join("a.py"), &same_size).unwrap();
    fs::File::options().write(true).open(src.join("a.py")).unwrap().set_modified(stamp).unwrap();
    assert_eq!(run(dir.path(), &["TG2"], &Default::default()), (vec![], 0));
}

#[test]
fn a_configuration_change_invalidates_the_cache() {
    let (dir, src) = tree();
    write_aged(&src.join("a.py"), SWALLOW, 3600);
    let mut settings = trunkguard::config::Settings::default();
    let (before, _) = run(dir.path(), &["TG2"], &settings);
    assert_eq!(run(dir.path(), &["TG2"], &settings).1, 1);
    // A severity override changes each finding's level: nothing may come from the old entries.
    settings.severity.insert("TG201".into(), trunkguard::finding::Level::Note);
    assert_eq!(run(dir.path(), &["TG2"], &settings), (before.clone(), 0));
    // Another rule selection: the same.
    assert_eq!(run(dir.path(), &["TG301"], &settings), (vec![], 0));
    // Back to the first configuration: its cache file is still there.
    settings.severity.clear();
    assert_eq!(run(dir.path(), &["TG2"], &settings), (before, 1));
}

#[test]
fn editing_the_declaring_file_changes_findings_in_the_files_that_depend_on_it() {
    let (dir, src) = tree();
    write_aged(&src.join("opts.py"), DECLARES, 3600);
    write_aged(&src.join("reads.py"), READS, 3600);
    let settings = Default::default();
    let (cold, _) = run(dir.path(), &["TG301"], &settings);
    assert_eq!(cold.len(), 1, "{cold:?}");
    assert!(cold[0].contains("reads.py:7:TG301"));
    // Without `secret=True` in opts.py, the finding in the unchanged reads.py goes — reads.py itself
    // comes from the cache (its deferred finding is resolved against the rebuilt index).
    write_aged(&src.join("opts.py"), DECLARES_NOT, 3000);
    assert_eq!(run(dir.path(), &["TG301"], &settings), (vec![], 1));
    write_aged(&src.join("opts.py"), DECLARES, 2000);
    assert_eq!(run(dir.path(), &["TG301"], &settings), (cold, 1));
}

const HELPER_RERAISES: &str = "def ignore_not_found(ex):\n    if not isinstance(ex, KeyError):\n        raise ex\n";
const HELPER_SWALLOWS: &str = "def ignore_not_found(ex):\n    return None\n";
const CALLS_HELPER: &str = "import helpers\n\n\ndef delete(client):\n    try:\n        client.delete()\n    except Exception as e:\n        helpers.ignore_not_found(e)\n";

#[test]
fn editing_a_helper_changes_findings_in_its_callers_files_without_reanalysing_them() {
    let (dir, src) = tree();
    write_aged(&src.join("helpers.py"), HELPER_RERAISES, 3600);
    write_aged(&src.join("api.py"), CALLS_HELPER, 3600);
    let settings = Default::default();
    // The helper re-raises what it does not ignore: the handler does not swallow.
    assert_eq!(run(dir.path(), &["TG201"], &settings), (vec![], 0));
    assert_eq!(run(dir.path(), &["TG201"], &settings), (vec![], 2));
    // The helper now swallows everything: the finding appears in api.py, which comes from the cache.
    write_aged(&src.join("helpers.py"), HELPER_SWALLOWS, 3000);
    let (swallowed, cached) = run(dir.path(), &["TG201"], &settings);
    assert_eq!(cached, 1);
    assert_eq!(swallowed.len(), 1, "{swallowed:?}");
    assert!(swallowed[0].contains("api.py:7:TG201"), "{swallowed:?}");
    write_aged(&src.join("helpers.py"), HELPER_RERAISES, 2000);
    assert_eq!(run(dir.path(), &["TG201"], &settings), (vec![], 1));
}

const LOGIN: &str = "import helpers\n\n\ndef login(user, password):\n    helpers.record(user, password)\n";
const RECORDS: &str = "import logging\n\nimport other\n\nLOG = logging.getLogger(__name__)\n\n\ndef record(name, value):\n    other.audit(name)\n    _note(value)\n\n\ndef _note(item):\n    LOG.info('noted %s', item)\n\n\ndef unrelated(x):\n    return x + 1\n";
const AUDITS: &str = "def audit(who):\n    return who.strip()\n";

/// The `"blanked":[…]` lists of every entry in the cache under `dir`, sorted.
fn cached_blanked_lists(dir: &Path) -> Vec<String> {
    let mut lists = Vec::new();
    let folders = fs::read_dir(dir.join("cache")).unwrap().flatten().filter(|e| e.path().is_dir());
    for bucket in folders.flat_map(|f| fs::read_dir(f.path()).unwrap().flatten()) {
        let text = String::from_utf8_lossy(&fs::read(bucket.path()).unwrap()).into_owned();
        for (at, _) in text.match_indices("\"blanked\":[") {
            let end = text[at..].find(']').unwrap();
            lists.push(text[at..at + end + 1].to_string());
        }
    }
    lists.sort();
    lists
}

#[test]
fn completion_reads_only_the_functions_a_question_reaches_and_caches_what_it_read() {
    let (dir, src) = tree();
    write_aged(&src.join("api.py"), LOGIN, 3600);
    write_aged(&src.join("helpers.py"), RECORDS, 3600);
    write_aged(&src.join("other.py"), AUDITS, 3600);
    let settings = Default::default();
    let (cold, cached) = run(dir.path(), &["TG301"], &settings);
    assert_eq!(cached, 0);
    assert_eq!(cold.len(), 1, "{cold:?}");
    assert!(cold[0].contains("api.py:5:TG301"), "{cold:?}");
    // Selective parsing left `record`, `unrelated` and `audit` unparsed. The password reaches `record`,
    // which was read; `unrelated` is on no question's way, nor is `audit` (given the user name only).
    assert_eq!(cached_blanked_lists(dir.path()), ["\"blanked\":[\"audit\"]", "\"blanked\":[\"unrelated\"]"]);
    let (warm, cached) = run(dir.path(), &["TG301"], &settings);
    assert_eq!((&warm, cached), (&cold, 3), "the completed facts come from the cache");
}

#[test]
fn chains_of_helpers_are_completed_in_a_bounded_number_of_rounds() {
    // Each helper passes the password on to the next and has no trigger of its own: every one is
    // found unparsed only once the one before it has been read.
    let (dir, src) = tree();
    let chain: String = (0..5).map(|i| format!("def f{i}(p):\n    f{}(p)\n\n\n", i + 1)).collect();
    let tail = "def f5(p):\n    LOG.info('x %s', p)\n\n\ndef unrelated(x):\n    return x\n";
    let head =
        "import logging\nLOG = logging.getLogger(__name__)\n\n\ndef login(user, password):\n    f0(password)\n\n\n";
    write_aged(&src.join("one.py"), &format!("{head}{chain}{tail}"), 3600);
    let settings = Default::default();
    let (found, _) = run(dir.path(), &["TG301"], &settings);
    assert_eq!(found.len(), 1, "{found:?}");
    // Read for `f0`, then whole the second time a question reaches the file: `unrelated` too.
    assert_eq!(cached_blanked_lists(dir.path()), Vec::<String>::new());

    // Across modules: after the targeted rounds, every unparsed function of the project is read,
    // even in a module no question reaches.
    let (dir, src) = tree();
    let n = 8;
    write_aged(&src.join("api.py"), "import m0\n\n\ndef login(user, password):\n    m0.f(password)\n", 3600);
    for i in 0..n {
        let module =
            format!("import m{}\n\n\ndef f(p):\n    m{}.f(p)\n\n\ndef other(x):\n    return x\n", i + 1, i + 1);
        write_aged(&src.join(format!("m{i}.py")), &module, 3600);
    }
    let last = "import logging\nLOG = logging.getLogger(__name__)\n\n\ndef f(p):\n    LOG.info('x %s', p)\n";
    write_aged(&src.join(format!("m{n}.py")), last, 3600);
    write_aged(&src.join("z.py"), AUDITS, 3600);
    let (found, _) = run(dir.path(), &["TG301"], &settings);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("api.py:5:TG301"), "{found:?}");
    assert_eq!(cached_blanked_lists(dir.path()), Vec::<String>::new());
}

#[test]
fn a_file_changed_behind_its_cache_stamp_is_analysed_whole_when_completed() {
    let (dir, src) = tree();
    let quiet = "import helpers\n\n\ndef login(user):\n    helpers.record(user, None)\n";
    write_aged(&src.join("api.py"), quiet, 3600);
    write_aged(&src.join("helpers.py"), RECORDS, 3600);
    write_aged(&src.join("other.py"), AUDITS, 3600);
    let settings = Default::default();
    assert_eq!(run(dir.path(), &["TG301"], &settings), (vec![], 0));
    // Same size and modification time, other bytes: the cache takes helpers.py as unchanged, but the
    // completion that the new question in api.py asks for reads different bytes, and analyses the
    // file anew rather than mix two versions' facts.
    let helpers = src.join("helpers.py");
    let stamp = fs::metadata(&helpers).unwrap().modified().unwrap();
    fs::write(&helpers, RECORDS.replace("x + 1", "x + 2")).unwrap();
    fs::File::options().write(true).open(&helpers).unwrap().set_modified(stamp).unwrap();
    write_aged(&src.join("api.py"), LOGIN, 3000);
    let (found, cached) = run(dir.path(), &["TG301"], &settings);
    assert_eq!(cached, 2, "helpers.py and other.py from the cache");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(cached_blanked_lists(dir.path()), ["\"blanked\":[\"audit\"]"], "helpers.py analysed whole");
}

#[test]
fn a_corrupt_cache_is_an_empty_cache() {
    let (dir, src) = tree();
    write_aged(&src.join("a.py"), SWALLOW, 3600);
    let (cold, _) = run(dir.path(), &["TG2"], &Default::default());
    let mut corrupted = 0;
    for folder in fs::read_dir(dir.path().join("cache")).unwrap() {
        let folder = folder.unwrap().path();
        for bucket in fs::read_dir(&folder).into_iter().flatten() {
            let path = bucket.unwrap().path();
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, &text[..text.len() / 2]).unwrap();
            corrupted += 1;
        }
    }
    assert_eq!(corrupted, 1, "one file, one bucket");
    assert_eq!(run(dir.path(), &["TG2"], &Default::default()), (cold.clone(), 0));
    assert_eq!(run(dir.path(), &["TG2"], &Default::default()), (cold, 1), "and it is rewritten whole");
}

fn sarif_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = trunkguard_in(dir).arg("check").args(args).args(["--output-format", "sarif"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn the_cli_cache_is_invisible_in_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("pkg")).unwrap();
    write_aged(&dir.path().join("pkg/a.py"), SWALLOW, 3600);
    let uncached = sarif_bytes(dir.path(), &["pkg", "--no-cache"]);
    assert!(!dir.path().join(".trunkguard_cache").exists(), "--no-cache writes nothing");
    // An older build's folder, in a directory marked as trunkguard's: never readable again, so the first
    // write removes it.
    let stale = dir.path().join(".trunkguard_cache/0123456789abcdef-0123456789abcdef");
    fs::create_dir_all(&stale).unwrap();
    fs::write(
        dir.path().join(".trunkguard_cache/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# trunkguard result cache (http://www.brynosaurus.com/cachedir/)\n",
    )
    .unwrap();
    fs::write(stale.join("00.json"), "{}").unwrap();
    let cold = sarif_bytes(dir.path(), &["pkg"]);
    let cache = dir.path().join(".trunkguard_cache");
    assert!(cache.join(".gitignore").is_file() && cache.join("CACHEDIR.TAG").is_file());
    assert!(!stale.exists(), "stale build folders are removed");
    let warm = sarif_bytes(dir.path(), &["pkg"]);
    assert_eq!(uncached, cold);
    assert_eq!(cold, warm, "a warm run's SARIF is byte-identical");
    // Run from inside the package: the same file (keyed by its absolute path) under another display
    // path, so the cached findings are re-fingerprinted — and nothing is written, it was a cache hit.
    let buckets = || {
        let mut out = Vec::new();
        for folder in fs::read_dir(&cache).unwrap().flatten().filter(|e| e.path().is_dir()) {
            for bucket in fs::read_dir(folder.path()).unwrap().flatten() {
                out.push((bucket.path(), bucket.metadata().unwrap().modified().unwrap()));
            }
        }
        out.sort();
        out
    };
    let before = buckets();
    let inner = sarif_bytes(&dir.path().join("pkg"), &["a.py", "--cache-dir", "../.trunkguard_cache"]);
    assert_eq!(buckets(), before, "answered from the cache: no bucket rewritten");
    assert_eq!(inner, sarif_bytes(&dir.path().join("pkg"), &["a.py", "--no-cache"]));
    assert_ne!(inner, cold, "other display paths, other fingerprints");
    // A configuration file in the tree moves the project root, and the cache with it.
    fs::write(dir.path().join("pkg/trunkguard.toml"), "ignore = ['TG202']\n").unwrap();
    sarif_bytes(dir.path(), &["pkg"]);
    assert!(dir.path().join("pkg/.trunkguard_cache").is_dir());
}

#[test]
fn an_unwritable_cache_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.py"), SWALLOW).unwrap();
    // A regular file where the cache directory should be.
    fs::write(dir.path().join("blocker"), "").unwrap();
    let out = trunkguard_in(dir.path())
        .args(["check", "a.py", "--cache-dir", "blocker/cache", "--output-format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings decide the exit status, not the cache");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: cannot write the cache in") && stderr.contains("blocker/cache"), "{stderr}");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::results(&log).len(), 1);
}

#[test]
fn concurrent_runs_share_one_cache_safely() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("pkg")).unwrap();
    for i in 0..40 {
        write_aged(&dir.path().join(format!("pkg/m{i}.py")), &format!("{SWALLOW}\n# {i}\n"), 3600);
    }
    let expected = sarif_bytes(dir.path(), &["pkg", "--no-cache"]);
    // Four runs at once fill the same (empty) cache: each bucket is replaced atomically, so every run
    // reports the same, and so does the run after them, whichever writer won each bucket.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("trunkguard"))
                .current_dir(dir.path())
                .env("XDG_CACHE_HOME", common::xdg_cache_home())
                .env("TRUNKGUARD_EXTEND_SELECT", common::CANARY_RULES)
                .args(["check", "pkg", "--output-format", "sarif"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, expected);
    }
    assert_eq!(sarif_bytes(dir.path(), &["pkg"]), expected);
}
