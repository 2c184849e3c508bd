//! TG203 bare-except: `except:` that does not re-raise on every path (unless it fails open: TG204).

use super::consequence::{Rank, Site, rank};
use super::{Catch, describe, handler};
use crate::checker::Checker;
use crate::finding::{Applicability, Fix};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG203.md`.
pub struct BareExcept;

impl Rule for BareExcept {
    fn id(&self) -> &'static str {
        "TG203"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["except_clause"]
    }

    fn triggers(&self) -> Triggers {
        super::TRIGGERS
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(h) = handler(node, cx) else { return };
        if h.catch != Catch::Bare || matches!(rank(&Site::of(&h), cx), Rank::FailOpen(_)) {
            return;
        }
        let message = format!(
            "Bare `except:` catches everything, including `SystemExit`, `KeyboardInterrupt` and eventlet's `GreenletExit`, and the handler {}. Catch `Exception` or narrower, or re-raise.",
            describe(&h, cx)
        );
        let keyword = node.start_byte() + "except".len();
        let fix = (cx.text().get(node.start_byte()..keyword) == Some("except")).then(|| Fix {
            title: "Catch `Exception` (lets `SystemExit`, `KeyboardInterrupt` and `GreenletExit` through)".into(),
            applicability: Applicability::Unsafe,
            edits: vec![cx.edit(keyword, keyword, " Exception")],
        });
        super::report_handler(cx, self.id(), node, &h, message).fix = fix;
    }
}
