//! TG102 retry-without-backoff: a bounded retry loop that tries again at once.

use super::backoff::needs_no_backoff;
use super::{report_loop_if, retry_loop};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG102.md`.
pub struct RetryWithoutBackoff;

impl Rule for RetryWithoutBackoff {
    fn id(&self) -> &'static str {
        "TG102"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["for_statement", "while_statement"]
    }

    fn triggers(&self) -> Triggers {
        super::LOOP_TRIGGERS
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(r) = retry_loop(node, cx) else { return };
        if r.bound.is_none() || r.backoff.is_some() {
            return; // unbounded is TG101
        }
        if needs_no_backoff(&r, cx) {
            return; // each attempt already waited, tries something new, retries once, or repairs first
        }
        let message = format!(
            "Retry without backoff: `{}` retries {} immediately, so every attempt hits the same contended \
             resource again at once and concurrent workers retry in lockstep. Sleep between attempts with \
             exponential backoff and jitter (e.g. `time.sleep(random.uniform(0, min(cap, base * 2 ** attempt)))`).",
            r.header(cx.text()),
            r.exception_list(),
        );
        let helpers = super::backoff::helper_calls(&r, cx);
        let condition = (!helpers.is_empty()).then_some(crate::model::index::Condition::UnlessWaits(helpers));
        report_loop_if(self.id(), &r, cx, message, condition);
    }
}
