//! TG101 unbounded-retry: a retry loop that nothing bounds.

use super::backoff::{backoff_name, waits_on_timeout};
use super::bounds::untested_counter;
use super::{report_loop, retry_loop};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG101.md`.
pub struct UnboundedRetry;

impl Rule for UnboundedRetry {
    fn id(&self) -> &'static str {
        "TG101"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["for_statement", "while_statement"]
    }

    fn triggers(&self) -> Triggers {
        super::LOOP_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(r) = retry_loop(node, cx) else { return };
        if r.bound.is_some() {
            return;
        }
        let src = cx.text();
        let backoff = match backoff_name(&r, src) {
            Some(wait) => format!("it backs off with `{wait}` but never gives up"),
            None if waits_on_timeout(&r, src) => {
                "each failed attempt waits out its timeout, but it never gives up".to_string()
            }
            None => "it does not back off either, so it spins as fast as the failures come".to_string(),
        };
        let counted = match untested_counter(&r, src) {
            None => String::new(),
            Some(c) => format!(" (`{c}` is counted but never compared, so it bounds nothing)"),
        };
        let message = format!(
            "Unbounded retry: `{}` retries {} forever — no attempt limit or deadline ends the loop{counted}, and {backoff}. \
             Bound the attempts (`for attempt in range(n)` or a deadline) and re-raise when they run out.",
            r.header(src),
            r.exception_list(),
        );
        report_loop(self.id(), &r, cx, message);
    }
}
