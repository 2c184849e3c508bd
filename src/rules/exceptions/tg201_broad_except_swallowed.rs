//! TG201 broad-except-swallowed: `except Exception` where some path does not re-raise and the failure
//! vanishes — unless it fails open (TG204) or is best-effort code (TG205).

use super::consequence::{Rank, Site, rank};
use super::{Catch, describe, handler, is_silent};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG201.md`.
pub struct BroadExceptSwallowed;

impl Rule for BroadExceptSwallowed {
    fn id(&self) -> &'static str {
        "TG201"
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
        let Catch::Broad(name) = &h.catch else { return };
        if is_silent(h.body, cx.text()) {
            return; // TG202
        }
        if rank(&Site::of(&h), cx) != Rank::Swallowed {
            return; // TG204, TG205
        }
        let message = format!(
            "Broad `except {name}` swallows the error: the handler {}. Catch the exceptions you expect, or re-raise after handling.",
            describe(&h, cx)
        );
        super::report_handler(cx, self.id(), node, &h, message);
    }
}
