//! Fuzz target: arbitrary bytes analysed as a Python file by every rule, then rendered in every
//! report format. Any panic (in decoding, parsing, a rule or an emitter) is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trunkguard::{discover::Candidate, engine, report, rules, selection};

fn engine() -> &'static (engine::Engine, Vec<&'static dyn rules::Rule>) {
    static ENGINE: OnceLock<(engine::Engine, Vec<&'static dyn rules::Rule>)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let all = selection::resolve(&["ALL".into()], &[]).expect("ALL selects every rule");
        (engine::Engine::new(&all, trunkguard::scan::analysis(&all, &Default::default(), true)), all)
    })
}

fuzz_target!(|data: &[u8]| {
    let (engine, rules) = engine();
    let mut parser = engine::new_parser();
    let file = Candidate { path: "fuzz.py".into(), display: "fuzz.py".into(), rel: "fuzz.py".into(), uri: "fuzz.py".into() };
    let (analysis, notifications) = trunkguard::analyse_bytes(engine, &mut parser, &file, data);
    let mut report = report::Report::new(
        analysis
            .findings
            .into_iter()
            .chain(analysis.deferred.into_iter().map(|d| d.finding))
            .map(|f| ("fuzz.py".to_string(), f))
            .collect(),
    );
    report.notifications = notifications;
    report.rules = rules.iter().filter_map(|r| trunkguard::docs::get(r.id())).collect();
    report.files_scanned = 1;
    report.srcroot = "/src".into();
    report.show_suppressed = true;
    let sarif = report::sarif::render(&report);
    assert!(sarif.starts_with('{'));
    let _ = report::json::render(&report);
    let _ = report::text::render(&report, true, true);
    for render in [report::github::render, report::junit::render, report::gitlab::render, report::review::render] {
        let _ = render(&report);
    }
});
