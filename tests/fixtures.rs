//! The fixture harness: every `fixtures/**/*.py` is scanned with all rules (`--select ALL`); each line
//! marked `# expect: TG201` (or `# expect: TG201, TG301`) must get exactly those findings, and no other
//! line may get any. Markers and findings are compared as multisets: a rule that reports the same line
//! twice fails unless the marker names it twice (`# expect: TG301, TG301`). Fails on a missing *or* an
//! unexpected finding.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trunkguard::{ScanOptions, discover, rules, scan, selection};

/// (path, line, rule) → how many times.
type Marks = BTreeMap<(String, usize, String), usize>;

/// What `a` has more of than `b`, each entry as often as it is in excess.
fn excess<'m>(a: &'m Marks, b: &Marks) -> Vec<&'m (String, usize, String)> {
    a.iter().flat_map(|(k, &n)| std::iter::repeat_n(k, n.saturating_sub(b.get(k).copied().unwrap_or(0)))).collect()
}

fn expected(files: &[discover::Candidate]) -> Marks {
    let mut marks = Marks::new();
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file.path).unwrap()).into_owned();
        for (i, line) in text.lines().enumerate() {
            let Some(at) = line.find("# expect: TG") else { continue };
            for rule in line[at + "# expect:".len()..].split(',') {
                let rule = rule.split_whitespace().next().unwrap_or("");
                assert!(rules::by_id(rule).is_some(), "{}:{}: marker names unknown rule `{rule}`", file.display, i + 1);
                *marks.entry((file.display.clone(), i + 1, rule.to_string())).or_default() += 1;
            }
        }
    }
    marks
}

fn fixture_files(dir: &str) -> Vec<discover::Candidate> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let excludes = discover::exclude_set(&[]).unwrap();
    let found = discover::discover(&[PathBuf::from(dir)], &excludes, root).unwrap();
    assert!(!found.files.is_empty(), "no fixtures under {dir}");
    found.files
}

fn check_family(dir: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = fixture_files(&root.join(dir).to_string_lossy());
    let all = selection::resolve(&["ALL".into()], &[]).unwrap();
    let result =
        scan(&files, &all, &Default::default(), &ScanOptions { threads: Some(2), ..Default::default() }).unwrap();
    // Findings silenced by a suppression comment are not reported, so they carry no marker.
    let mut got = Marks::new();
    for (path, f) in result.findings.iter().filter(|(_, f)| f.suppressed.is_none()) {
        *got.entry((path.clone(), f.span.start.line, f.rule.to_string())).or_default() += 1;
    }
    let want = expected(&files);
    let missing = excess(&want, &got);
    let unexpected = excess(&got, &want);
    let describe = |set: &[&(String, usize, String)]| {
        set.iter()
            .map(|(p, l, r)| {
                let msg = result.findings.iter().find(|(fp, f)| fp == p && f.span.start.line == *l && f.rule == r);
                format!("  {p}:{l}: {r}{}", msg.map(|(_, f)| format!(" — {}", f.message)).unwrap_or_default())
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "fixture mismatch in {dir}\nmissing (marked `# expect:` but not reported):\n{}\nunexpected (reported but not marked):\n{}",
        describe(&missing),
        describe(&unexpected)
    );
    let bad: Vec<_> = result.notifications.iter().filter(|n| n.id != "skipped").collect();
    assert!(bad.is_empty(), "fixtures should parse cleanly: {bad:?}");
}

#[test]
fn marks_are_multisets() {
    let marks = |entries: &[(usize, usize)]| -> Marks {
        entries.iter().map(|&(line, n)| (("a.py".to_string(), line, "TG201".to_string()), n)).collect()
    };
    let (once, twice) = (marks(&[(3, 1)]), marks(&[(3, 2)]));
    assert_eq!(excess(&twice, &once).len(), 1, "a duplicate finding is unexpected");
    assert!(excess(&once, &twice).is_empty());
    assert_eq!(excess(&marks(&[(3, 1), (4, 1)]), &once), [&("a.py".to_string(), 4, "TG201".to_string())]);
}

#[test]
fn exceptions_fixtures() {
    check_family("fixtures/exceptions");
}

#[test]
fn suppressions_fixtures() {
    check_family("fixtures/suppressions");
}

#[test]
fn example_fixtures() {
    check_family("fixtures/example");
}

#[test]
fn context_fixtures() {
    check_family("fixtures/context");
}

#[test]
fn retry_fixtures() {
    check_family("fixtures/retry");
}

#[test]
fn model_fixtures() {
    check_family("fixtures/model");
}

#[test]
fn logs_fixtures() {
    check_family("fixtures/logs");
}

/// `path:line:fingerprint` of every finding of a scan of `files` with `rules` on `threads` threads.
fn summarise(files: &[discover::Candidate], rules: &[&'static dyn rules::Rule], threads: usize) -> Vec<String> {
    let result =
        scan(files, rules, &Default::default(), &ScanOptions { threads: Some(threads), ..Default::default() }).unwrap();
    result.findings.iter().map(|(p, f)| format!("{p}:{}:{}", f.span.start.line, f.fingerprint)).collect()
}

/// The secret-option index is project-wide: reads of `connection` are findings only when the file
/// declaring it `secret=True` is scanned too, and the result does not depend on the thread count.
#[test]
fn logs_secret_option_index() {
    let all = selection::resolve(&["TG301".into()], &[]).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = |files: &[discover::Candidate], threads| summarise(files, &all, threads);
    let reads = fixture_files(&root.join("fixtures/logs/option_reads.py").to_string_lossy());
    assert!(summary(&reads, 1).is_empty(), "without the declaring file, `connection` is not known to be secret");
    let both = fixture_files(&root.join("fixtures/logs").to_string_lossy());
    let one = summary(&both, 1);
    assert!(one.iter().any(|s| s.contains("option_reads.py:11:")));
    assert_eq!(one, summary(&both, 2));
    assert_eq!(one, summary(&both, 4));
}

#[test]
fn policy_fixtures() {
    check_family("fixtures/policies");
}

/// Registered policy names are project-wide: a check of an unknown name is a finding only when the
/// tree registers some policies (without the policy module, nothing is reported), whatever the
/// thread count.
#[test]
fn policy_name_index() {
    let all = selection::resolve(&["TG406".into()], &[]).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = |files: &[discover::Candidate], threads| summarise(files, &all, threads);
    let uses = fixture_files(&root.join("fixtures/policies/api.py").to_string_lossy());
    assert!(summary(&uses, 1).is_empty(), "a tree that registers no policy is not judged");
    let both = fixture_files(&root.join("fixtures/policies").to_string_lossy());
    let one = summary(&both, 1);
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(one, summary(&both, 2));
    assert_eq!(one, summary(&both, 4));
}
