//! TG205 broad-except-best-effort (opt-in): a broad catch that goes on deliberately — clean-up,
//! notification, periodic-task, loading and probe code, or a failure turned into a result the caller
//! checks. Correct by TG201's wording, accepted by reviewers; listed for audits, not for gating.

use super::consequence::{Rank, Site, logs_traceback, rank};
use super::{Catch, describe, handler, is_silent, ranked_suppress};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG205.md`.
pub struct BroadExceptBestEffort;

impl Rule for BroadExceptBestEffort {
    fn id(&self) -> &'static str {
        "TG205"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["except_clause", "with_item"]
    }

    fn triggers(&self) -> Triggers {
        super::SILENT_TRIGGERS
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "with_item" {
            let Some((call, Rank::BestEffort(kind))) = ranked_suppress(node, cx) else { return };
            let message = format!(
                "`{}` in best-effort {kind} code silences every error of its block, programming errors included. Suppress the exceptions you expect, or log the rest with a traceback.",
                cx.node_text(call)
            );
            cx.report(self.id(), call, message);
            return;
        }
        let Some(h) = handler(node, cx) else { return };
        let Catch::Broad(name) = &h.catch else { return };
        let Rank::BestEffort(kind) = rank(&Site::of(&h), cx) else { return };
        let what = if is_silent(h.body, cx.text()) { "does nothing".to_string() } else { describe(&h, cx) };
        let advice = if logs_traceback(h.body, cx) {
            "Narrow the catch where the expected failures are known."
        } else {
            "Log it with a traceback (`LOG.exception` or `exc_info=True`) so programming errors stay visible, or narrow the catch."
        };
        let message = format!("Broad `except {name}` in best-effort {kind} code: the handler {what}. {advice}");
        super::report_handler(cx, self.id(), node, &h, message);
    }
}
