//! Selective parsing changes nothing: every fixture, random and mutated Python, and (ignored: it needs
//! the corpus) whole OpenStack trees give the same findings — spans, messages, fingerprints, related
//! locations, flows — and notifications with functions blanked as with `--full-parse`.
//!
//!     bench/fetch-corpus.sh && cargo test --release --test selective -- --ignored --nocapture

mod common;

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trunkguard::{ScanOptions, discover, engine, prune, rules, scan, selection, source};

fn all_rules() -> &'static Vec<&'static dyn rules::Rule> {
    static RULES: OnceLock<Vec<&'static dyn rules::Rule>> = OnceLock::new();
    RULES.get_or_init(|| selection::resolve(&["ALL".into()], &[]).unwrap())
}

fn files_under(dir: &Path) -> Vec<discover::Candidate> {
    let excludes = discover::exclude_set(&[]).unwrap();
    let found = discover::discover(&[dir.to_path_buf()], &excludes, dir).unwrap();
    assert!(!found.files.is_empty(), "no Python files under {}", dir.display());
    found.files
}

/// Each family alone blanks far more than `ALL` does: a harder test of the cut.
const SELECTIONS: &[&str] = &["ALL", "TG0", "TG1", "TG2", "TG3", "TG4"];

/// Scans `files` with the rules `select` picks, in both modes; returns (findings, notifications)
/// rendered for comparison.
fn both_modes(files: &[discover::Candidate], threads: Option<usize>, select: &str) -> [(Vec<String>, Vec<String>); 2] {
    let rules = selection::resolve(&[select.to_string()], &[]).unwrap();
    [true, false].map(|full_parse| {
        let options = ScanOptions { threads, progress: None, full_parse, cache_dir: None, cancel: None };
        let result = scan(files, &rules, &Default::default(), &options).unwrap();
        (
            result.findings.iter().map(|(path, f)| format!("{path}: {f:?}")).collect(),
            result.notifications.iter().map(|n| format!("{n:?}")).collect(),
        )
    })
}

/// Asserts both modes agree for every selection of [`SELECTIONS`]; returns the number of findings
/// compared.
fn assert_same(files: &[discover::Candidate], threads: Option<usize>) -> usize {
    let mut compared = 0;
    for select in SELECTIONS {
        let [(full_findings, full_notes), (sel_findings, sel_notes)] = both_modes(files, threads, select);
        for (a, b) in full_findings.iter().zip(&sel_findings) {
            assert_eq!(a, b, "--select {select}: first differing finding (full parse, then selective)");
        }
        assert_eq!(full_findings.len(), sel_findings.len(), "--select {select}: finding counts differ");
        assert_eq!(full_notes, sel_notes, "--select {select}: notifications differ");
        compared += full_findings.len();
    }
    compared
}

#[test]
fn fixtures_give_identical_results_in_both_modes() {
    let files = files_under(&common::root().join("fixtures"));
    let n = assert_same(&files, Some(2));
    assert!(n > 50, "the fixtures hold findings to compare ({n})");
}

/// The selector for every rule (what `--select ALL` runs).
fn selector() -> &'static prune::Selector {
    static SELECTOR: OnceLock<prune::Selector> = OnceLock::new();
    SELECTOR.get_or_init(|| {
        let triggers: Vec<_> = all_rules().iter().map(|r| r.triggers()).collect();
        prune::Selector::new(&triggers).expect("every rule declares its triggers")
    })
}

#[test]
fn the_fixtures_are_really_pruned() {
    let mut blanked = 0;
    for file in files_under(&common::root().join("fixtures")) {
        let bytes = std::fs::read(&file.path).unwrap();
        let (src, _) = source::SourceFile::decode(file.path.clone(), file.display.clone(), &bytes);
        blanked += selector().prune(src.parser_text().as_bytes()).map_or(0, |p| p.blanked_units);
    }
    assert!(blanked > 10, "only {blanked} functions blanked over the fixtures");
}

/// Analyses `bytes` in both modes. Identical results, except where the full parse reports a syntax
/// error the selective one does not see (an error inside a blanked function: documented in `prune`).
fn check_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    for select in ["ALL", "TG0", "TG2"] {
        check_selection(bytes, &selection::resolve(&[select.into()], &[]).unwrap())?;
    }
    Ok(())
}

/// Returns the number of findings compared.
fn check_selection(bytes: &[u8], rules: &[&'static dyn rules::Rule]) -> Result<usize, TestCaseError> {
    let file =
        discover::Candidate { path: "p.py".into(), display: "p.py".into(), rel: "p.py".into(), uri: "p.py".into() };
    let run = |selective: bool| {
        let engine = engine::Engine::new(rules, trunkguard::scan::analysis(rules, &Default::default(), !selective));
        let (analysis, notes) = trunkguard::analyse_bytes(&engine, &mut engine::new_parser(), &file, bytes);
        let findings: Vec<String> = analysis
            .findings
            .iter()
            .chain(analysis.deferred.iter().map(|d| &d.finding))
            .map(|f| format!("{f:?}"))
            .collect();
        (findings, notes.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>())
    };
    let (full, full_notes) = run(false);
    let (sel, sel_notes) = run(true);
    let error = |notes: &[String]| notes.iter().any(|n| n.contains("syntax-error"));
    if error(&full_notes) && !error(&sel_notes) {
        return Ok(0);
    }
    prop_assert_eq!(&full, &sel);
    prop_assert_eq!(full_notes, sel_notes);
    Ok(full.len())
}

/// A file of 200,000 tiny functions, every 1,000th with findings: tree-sitter is given at most
/// `prune::MAX_RANGES` included ranges (it scans the list before every token: 200,001 ranges took
/// 50 s), and the findings are the full parse's.
#[test]
fn many_tiny_functions_stay_within_the_range_bound_and_give_identical_results() {
    let code: String = (0..200_000)
        .map(|i| match i % 1000 {
            0 => format!("def f{i}(x):\n    try:\n        return x()\n    except Exception:\n        pass\n\n"),
            _ => format!("def f{i}(x):\n    return x + {i}\n\n"),
        })
        .collect();
    let pruned = selector().prune(code.as_bytes()).expect("the file is cut");
    assert!(pruned.blanked_units >= 199_000, "{}", pruned.blanked_units);
    assert!(pruned.included_ranges().len() <= prune::MAX_RANGES, "{}", pruned.included_ranges().len());
    let compared = check_selection(code.as_bytes(), all_rules()).unwrap();
    assert_eq!(compared, 200, "one TG202 finding per function with a handler");
}

/// Inputs that made the pre-pass itself super-linear (a line of `#`s, thousands of names bound to
/// loggers or import aliases, deeply nested classes) give the full parse's findings.
#[test]
fn pre_pass_stress_inputs_give_identical_results() {
    let handler = "    try:\n        return x()\n    except Exception:\n        pass\n";
    let many = |f: &dyn Fn(usize) -> String| (0..5000).map(f).collect::<Vec<_>>();
    let loggers = many(&|i| format!("lg{i}"));
    let aliases = many(&|i| format!("retry as r{i}"));
    let depth = 40;
    let nested: String = (0..depth).map(|d| format!("{}class C{d}RpcCallback:\n", " ".repeat(d))).collect();
    let inner = " ".repeat(depth);
    let inputs = [
        format!("def f(x):\n    y = '{}'  # noqa\n{handler}\ndef g(x):\n{handler}", "#".repeat(20_000)),
        format!(
            "import logging\n{} = logging.getLogger(__name__)\n\ndef f(x):\n    lg4999.warning('%s', x.password)\n\ndef g(x):\n{handler}",
            loggers.join(" = ")
        ),
        format!("from tenacity import ({})\n\n@r4999()\ndef f(x):\n{handler}", aliases.join(", ")),
        format!(
            "{nested}{inner}def f(self, context):\n{inner}    self._g(context.elevated())\n{inner}def _g(self, c):\n{inner}    c.is_admin = True\n"
        ),
        // Whitespace between a policy call's name and its `(`: the triggers are whole words.
        "SG = 'os:%s'\nACTIONS = {'show': 'GET', 'update': 'PUT'}\n\n\ndef check_all(context, target):\n    for action in ACTIONS:\n        context.can    (SG % action, target)\n\n\nclass C:\n    def m(self, ctx, o):\n        policy. check (ctx, f'get_{o.t}_x', o)\n    def n(self, ctx, o):\n        policy.enforce(ctx, f'get_{o.t}:x', o)\n    def p(self, ctx, o):\n        policy.enforce(ctx, f'put_{o.t}:x', o)\n".to_string(),
    ];
    for code in inputs {
        check_bytes(code.as_bytes()).unwrap();
    }
}

/// Statements of Python-ish code: keywords, strings of every kind, brackets, continuations,
/// decorators, suppression comments, the rules' triggers. A statement may span lines: each gets the
/// statement's indentation, except those starting with `<` (text at column 0 inside a string).
const LINES: &[&str] = &[
    "def f(self, context, port):",
    "async def g(x):",
    "class ARpcCallback(object):",
    "class Plain:",
    "@tenacity.retry(stop=None)\ndef r():",
    "@property\ndef p(self):",
    "try:",
    "except Exception as e:",
    "except:",
    "finally:",
    "while True:",
    "for i in range(3):",
    "if x:",
    "else:",
    "pass",
    "pass",
    "x = 1",
    "return x",
    "continue",
    "raise ValueError(password)",
    "LOG.error('failed: %s', e)",
    "LOG.debug(\"%s\", context)",
    "_logger = logging.getLogger(__name__)",
    "_logger.info(token)",
    "print(password)",
    "x = '''multi\n<line with def inside\n<'''",
    "y = \"\"\"doc \"\"\"",
    "z = f'{a}{{b}}' + f\"{d['k']!r:>{w}}\"",
    "w = rb'\\\\' + u'\\''",
    "a = (1,\n<2)",
    "b = 1 + \\\n    2",
    "# trunkguard: ignore[TG201]",
    "x = 1  # noqa",
    "# a comment",
    "<# a comment at column 0",
    "        # a deep comment",
    "        # noqa: E722",
    "ctx = context.elevated()",
    "self.plugin.update_port(ctx, port, {})",
    "context.is_admin = True",
    "cfg.StrOpt('password')",
    "from tenacity import retry as again",
    "again(lambda: 1)",
    "from contextlib import suppress as quiet",
    "with quiet(Exception):",
    "time.sleep(1)",
    "",
];

/// Programs whose indentation mostly follows Python's rules: a line after a `:` line goes one level
/// deeper, any other line stays or goes back out by a random number of levels.
fn indented_program() -> impl Strategy<Value = String> {
    (prop::collection::vec((0usize..3, prop::sample::select(LINES)), 1..30), any::<bool>()).prop_map(|(lines, crlf)| {
        let mut out = String::new();
        let mut level = 0usize;
        let mut opens = false;
        for (out_by, line) in lines {
            if !line.is_empty() && !line.starts_with('#') {
                level = if opens { level + 1 } else { level.saturating_sub(out_by) };
            }
            for part in line.split('\n') {
                match part.strip_prefix('<') {
                    Some(raw) => out.push_str(raw),
                    None => out.push_str(&format!("{}{part}", "    ".repeat(level))),
                }
                out.push('\n');
            }
            if !line.is_empty() && !line.starts_with('#') {
                opens = line.ends_with(':');
            }
        }
        if opens {
            out.push_str(&format!("{}pass\n", "    ".repeat(level + 1)));
        }
        if crlf { out.replace('\n', "\r\n") } else { out }
    })
}

#[test]
fn random_programs_are_often_pruned() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = indented_program();
    let pruned = (0..200)
        .filter(|_| {
            let program = strategy.new_tree(&mut runner).unwrap().current();
            selector().prune(program.as_bytes()).is_some()
        })
        .count();
    assert!(pruned > 25, "only {pruned} of 200 random programs were pruned");
}

fn fixture_texts() -> &'static Vec<Vec<u8>> {
    static TEXTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        files_under(&common::root().join("fixtures")).iter().map(|f| std::fs::read(&f.path).unwrap()).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_give_identical_results(program in indented_program()) {
        check_bytes(program.as_bytes())?;
    }

    #[test]
    fn mutated_fixtures_give_identical_results(
        index in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..6, prop::sample::select(LINES)), 1..4),
    ) {
        let original = &fixture_texts()[index.index(fixture_texts().len())];
        let mut text = original.clone();
        for (at, how, line) in edits {
            let pos = at.index(text.len() + 1);
            match how {
                0 => { text.insert(pos, b'\t'); }
                1 => { text.insert(pos, b'"'); }
                2 => { text.truncate(pos); }
                3 => { text.splice(pos..pos, format!("\n{line}\n").bytes()); }
                4 => { text.splice(pos..pos, format!("    {line}").bytes()); }
                _ => { if pos < text.len() { text.remove(pos); } }
            }
        }
        check_bytes(&text)?;
    }
}

fn corpus() -> PathBuf {
    std::env::var_os("TRUNKGUARD_CORPUS").map(PathBuf::from).unwrap_or_else(|| common::root().join("corpus"))
}

#[test]
#[ignore = "needs the corpus: bench/fetch-corpus.sh, then cargo test --test selective -- --ignored"]
fn corpus_gives_identical_results_in_both_modes() {
    let corpus = corpus();
    let neutron = corpus.join("neutron-29.0.0");
    assert!(
        neutron.join("neutron").is_dir(),
        "neutron 29.0.0 is not at {}: run bench/fetch-corpus.sh",
        neutron.display()
    );
    // Neutron always (CI fetches it); the other trees of `bench/fetch-corpus.sh all` when present.
    let trees = ["neutron-29.0.0", "neutron-lib-5.0.1", "nova-34.0.0", "keystone-30.0.0", "cinder-29.0.0"];
    let (mut all_bytes, mut all_blanked) = (0usize, 0usize);
    for tree in trees.iter().map(|t| corpus.join(t)).filter(|t| t.is_dir()) {
        let files = files_under(&tree);
        let (mut bytes, mut blanked, mut pruned, mut unsure) = (0usize, 0usize, 0usize, Vec::new());
        let mut lexing = std::time::Duration::ZERO;
        let (mut parser, mut reparsed) = (engine::new_parser(), 0usize);
        for file in &files {
            let raw = std::fs::read(&file.path).unwrap();
            let (src, _) = source::SourceFile::decode(file.path.clone(), file.display.clone(), &raw);
            let text = src.parser_text();
            bytes += text.len();
            let started = std::time::Instant::now();
            let outcome = selector().prune(text.as_bytes());
            lexing += started.elapsed();
            if let Some(p) = outcome {
                blanked += p.blanked_bytes;
                pruned += 1;
                // The engine parses such a file again, whole: it should be rare.
                reparsed += usize::from(engine::parse_pruned(&mut parser, &p).unwrap().root_node().has_error());
            }
            if !prune::cuttable(text.as_bytes()) {
                unsure.push(file.display.clone());
            }
        }
        let findings = assert_same(&files, None);
        eprintln!(
            "{}: {} files, {findings} findings (over --select {}) identical in both modes; {:.1} % of {bytes} bytes blanked in {pruned} \
             files ({:.0} MB/s on one thread), {reparsed} of them parsed again whole for an error; {} files parsed \
             whole for an unsure cut: {:?}",
            tree.file_name().unwrap().to_string_lossy(),
            files.len(),
            SELECTIONS.join(", "),
            100.0 * blanked as f64 / bytes as f64,
            bytes as f64 / 1e6 / lexing.as_secs_f64(),
            unsure.len(),
            unsure.iter().take(20).collect::<Vec<_>>(),
        );
        all_bytes += bytes;
        all_blanked += blanked;
    }
    eprintln!("all trees: {:.1} % of {all_bytes} bytes blanked", 100.0 * all_blanked as f64 / all_bytes as f64);
}
