//! Property tests: random token soup and random mutations of the fixtures never panic, and always
//! yield schema-valid SARIF (and well-formed text and JSON).

mod common;

use proptest::prelude::*;
use std::sync::OnceLock;
use trunkguard::{discover::Candidate, engine, report, rules, selection};

fn all_rules() -> &'static Vec<&'static dyn rules::Rule> {
    static RULES: OnceLock<Vec<&'static dyn rules::Rule>> = OnceLock::new();
    RULES.get_or_init(|| selection::resolve(&["ALL".into()], &[]).unwrap())
}

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(common::root().join("tests/data/sarif-schema-2.1.0.json")).unwrap();
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
    })
}

/// Analyses `bytes` with every rule and checks every output format.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let engine = engine::Engine::new(all_rules(), trunkguard::scan::analysis(all_rules(), &Default::default(), true));
    let mut parser = engine::new_parser();
    let file = Candidate { path: "p.py".into(), display: "p.py".into(), rel: "p.py".into(), uri: "p.py".into() };
    let (analysis, notifications) = trunkguard::analyse_bytes(&engine, &mut parser, &file, bytes);
    prop_assert!(notifications.iter().all(|n| n.id != "internal-error"), "a rule panicked: {notifications:?}");
    let mut report = report::Report::new(
        analysis
            .findings
            .into_iter()
            .chain(analysis.deferred.into_iter().map(|d| d.finding))
            .map(|f| ("p.py".to_string(), f))
            .collect(),
    );
    report.notifications = notifications;
    report.rules = all_rules().iter().filter_map(|r| trunkguard::docs::get(r.id())).collect();
    report.files_scanned = 1;
    report.srcroot = "/src".into();
    report.show_suppressed = true;
    let sarif: serde_json::Value = serde_json::from_str(&report::sarif::render(&report)).unwrap();
    let errors: Vec<String> = schema().iter_errors(&sarif).map(|e| e.to_string()).collect();
    prop_assert!(errors.is_empty(), "invalid SARIF: {errors:?}");
    serde_json::from_str::<serde_json::Value>(&report::json::render(&report)).unwrap();
    let _ = report::text::render(&report, true, true);
    Ok(())
}

const TOKENS: &[&str] = &[
    "def ",
    "class ",
    "try:",
    "except",
    " Exception",
    " BaseException",
    ":",
    "except:",
    "finally:",
    "else:",
    "elif ",
    "if ",
    "while True:",
    "for i in range(3):",
    "return",
    " raise",
    "raise",
    "break",
    "continue",
    "pass",
    "...",
    "with ",
    "excutils.save_and_reraise_exception()",
    "contextlib.suppress(Exception)",
    " as e",
    " as ctx",
    "LOG.error(",
    "LOG.debug('%s', ",
    "password",
    "token",
    "context",
    "context.elevated()",
    "get_admin_context()",
    ".update_port(",
    "self.",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    " + ",
    " % ",
    "'s'",
    "f'{x}'",
    "\"\"\"doc\"\"\"",
    "\n",
    "\n    ",
    "\n        ",
    "\t",
    "\r\n",
    "\r",
    "é",
    "𝄞",
    "\\",
    "#",
    "lambda: ",
    "yield ",
    "async ",
    "await ",
    "@retry",
    "time.sleep(1)",
    "cfg.StrOpt('password')",
    "secret=True",
    "is_admin = True",
    "\0",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..200).prop_map(|t| t.concat().into_bytes())
}

fn fixtures() -> &'static Vec<Vec<u8>> {
    static FIXTURES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut out = Vec::new();
        let mut stack = vec![common::root().join("fixtures")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "py") {
                    out.push(std::fs::read(path).unwrap());
                }
            }
        }
        out.sort();
        out
    })
}

/// One edit: delete a range, insert a token, or duplicate a range, at positions given as fractions.
#[derive(Debug, Clone)]
enum Edit {
    Delete(f64, usize),
    Insert(f64, &'static str),
    Duplicate(f64, usize),
    Byte(f64, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0f64, 1..64usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0f64, prop::sample::select(TOKENS)).prop_map(|(at, t)| Edit::Insert(at, t)),
        (0.0..1.0f64, 1..200usize).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        (0.0..1.0f64, any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let pos = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
        match *e {
            Edit::Delete(at, n) => {
                let start = pos(at, bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Insert(at, t) => {
                let p = pos(at, bytes.len());
                bytes.splice(p..p, t.bytes());
            }
            Edit::Duplicate(at, n) => {
                let start = pos(at, bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Byte(at, b) => {
                let p = pos(at, bytes.len());
                if p < bytes.len() {
                    bytes[p] = b;
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(bytes in token_soup()) {
        check(&bytes)?;
    }

    #[test]
    fn mutated_fixtures_never_panic(index in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..12)) {
        let fixture = index.get(fixtures()).clone();
        check(&apply(fixture, &edits))?;
    }
}
