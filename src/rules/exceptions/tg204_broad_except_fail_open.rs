//! TG204 broad-except-fail-open: a broad (or bare) catch, or `contextlib.suppress(Exception)`, whose
//! failure reads as success: it returns `True` or an "allowed" decision, returns a sanitiser's input
//! unchanged, or carries on after a policy, authentication, validation or quota call failed.

use super::consequence::{Rank, Site, rank};
use super::{Catch, describe, handler, ranked_suppress};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG204.md`.
pub struct BroadExceptFailOpen;

impl Rule for BroadExceptFailOpen {
    fn id(&self) -> &'static str {
        "TG204"
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
            let Some((call, Rank::FailOpen(why))) = ranked_suppress(node, cx) else { return };
            let message = format!(
                "`{}` fails open: {why}, so a failure reads as success. Let the error propagate, or deny explicitly.",
                cx.node_text(call)
            );
            cx.report(self.id(), call, message);
            return;
        }
        let Some(h) = handler(node, cx) else { return };
        let Rank::FailOpen(why) = rank(&Site::of(&h), cx) else { return };
        let caught = match &h.catch {
            Catch::Broad(name) => format!("Broad `except {name}`"),
            Catch::Bare => "Bare `except:`".to_string(),
            Catch::Narrow => return,
        };
        let message = format!(
            "{caught} fails open: {why} (the handler {}), so a failure reads as success. Deny on error: re-raise, or return the refusal.",
            describe(&h, cx)
        );
        super::report_handler(cx, self.id(), node, &h, message);
    }
}
