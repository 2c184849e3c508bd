//! TG202 broad-except-silent: a broad catch whose body does nothing observable, and
//! `with contextlib.suppress(Exception):` — unless it fails open (TG204) or is best-effort (TG205).

use super::consequence::{Rank, Site, rank};
use super::{Catch, handler, is_silent, ranked_suppress};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG202.md`.
pub struct BroadExceptSilent;

impl Rule for BroadExceptSilent {
    fn id(&self) -> &'static str {
        "TG202"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["except_clause", "with_item"]
    }

    /// `except` clauses, and `with contextlib.suppress(...)` however `suppress` is imported.
    fn triggers(&self) -> Triggers {
        super::SILENT_TRIGGERS
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "with_item" {
            let Some((call, Rank::Swallowed)) = ranked_suppress(node, cx) else { return };
            let message = format!(
                "`{}` silences every error raised in its block: failures vanish without a trace. Suppress only the exceptions you expect.",
                cx.node_text(call)
            );
            cx.report(self.id(), call, message);
            return;
        }
        let Some(h) = handler(node, cx) else { return };
        let Catch::Broad(name) = &h.catch else { return };
        if !is_silent(h.body, cx.text()) || rank(&Site::of(&h), cx) != Rank::Swallowed {
            return;
        }
        let message = format!(
            "Broad `except {name}` silences every error: the handler does nothing, so failures vanish without a trace. Catch the exceptions you expect, and log or re-raise the rest."
        );
        super::report_handler(cx, self.id(), node, &h, message);
    }
}
