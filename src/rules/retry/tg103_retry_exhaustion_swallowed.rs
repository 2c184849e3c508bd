//! TG103 retry-exhaustion-swallowed: a bounded retry loop whose last failure vanishes.

use super::exhaustion::swallowed;
use super::{report_loop, retry_loop};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG103.md`.
pub struct RetryExhaustionSwallowed;

impl Rule for RetryExhaustionSwallowed {
    fn id(&self) -> &'static str {
        "TG103"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["for_statement", "while_statement"]
    }

    fn triggers(&self) -> Triggers {
        super::LOOP_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(r) = retry_loop(node, cx) else { return };
        if r.bound.is_none() || !swallowed(&r, cx) {
            return;
        }
        let message = format!(
            "Retry exhaustion swallowed: when every attempt of `{}` fails with {}, the loop just ends and the \
             code after it carries on as if the operation had succeeded — the last error is lost. Re-raise on \
             the last attempt (`for … else: raise`, or `raise` after the loop) or return a failure the caller checks.",
            r.header(cx.text()),
            r.exception_list(),
        );
        report_loop(self.id(), &r, cx, message);
    }
}
