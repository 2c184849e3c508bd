//! Fuzz target: selective parsing against the full parse. Arbitrary bytes are analysed by every rule
//! with and without the lexical pre-pass; the blanked text must keep every byte offset and line break,
//! and on input the full parse accepts without error the two analyses must be identical. Any panic or
//! difference is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trunkguard::{discover::Candidate, engine, prune, rules, selection};

struct Engines {
    full: engine::Engine,
    selective: engine::Engine,
    /// The pre-pass for the logging family alone, which blanks far more than ALL.
    logs: prune::Selector,
}

fn engines() -> &'static Engines {
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let all = selection::resolve(&["ALL".into()], &[]).expect("ALL selects every rule");
        let logs: Vec<&'static dyn rules::Rule> = selection::resolve(&["TG3".into()], &[]).expect("TG3 exists");
        let triggers: Vec<_> = logs.iter().map(|r| r.triggers()).collect();
        Engines {
            full: engine::Engine::new(&all, trunkguard::scan::analysis(&all, &Default::default(), true)),
            selective: engine::Engine::new(&all, trunkguard::scan::analysis(&all, &Default::default(), false)),
            logs: prune::Selector::new(&triggers).expect("the logging rules declare triggers"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let e = engines();
    if let Some(p) = e.logs.prune(data) {
        assert_eq!(p.text.len(), data.len());
        for (a, b) in p.text.iter().zip(data) {
            assert_eq!(*a == b'\n', *b == b'\n');
            assert_eq!(*a == b'\r', *b == b'\r');
        }
        let mut parser = engine::new_parser();
        let _ = engine::parse_pruned(&mut parser, &p);
    }
    let file = Candidate { path: "fuzz.py".into(), display: "fuzz.py".into(), rel: "fuzz.py".into(), uri: "fuzz.py".into() };
    let mut parser = engine::new_parser();
    let (full, full_notes) = trunkguard::analyse_bytes(&e.full, &mut parser, &file, data);
    let (selective, selective_notes) = trunkguard::analyse_bytes(&e.selective, &mut parser, &file, data);
    if full.syntax_errors.is_none() && !full_notes.iter().any(|n| n.id == "internal-error") {
        assert_eq!(full, selective, "findings differ between the full and the selective parse");
        assert_eq!(full_notes, selective_notes);
    }
});
