//! TG104 retry-bound-external: the retry bound comes from another module or from configuration.

use super::bounds::{BoundKind, external_limit};
use super::{report_loop, retry_loop};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG104.md`.
pub struct RetryBoundExternal;

impl Rule for RetryBoundExternal {
    fn id(&self) -> &'static str {
        "TG104"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["for_statement", "while_statement"]
    }

    fn triggers(&self) -> Triggers {
        super::LOOP_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(r) = retry_loop(node, cx) else { return };
        let Some(limit) = r.bound.filter(|b| b.kind != BoundKind::Iterable).and_then(|b| b.limit) else {
            return;
        };
        let Some(ext) = external_limit(limit, cx) else { return };
        let message = format!(
            "Retry bound defined elsewhere: `{}` stops after {} attempts, a value from {}, so whether \
             (and how soon) the loop gives up cannot be seen here. Check that the value is finite and small, or \
             clamp it locally (`min({}, 10)`).",
            r.header(cx.text()),
            ext.shown,
            ext.origin,
            ext.name,
        );
        report_loop(self.id(), &r, cx, message);
    }
}
