//! TG106 retry-decorator-without-wait: a tenacity retry without `wait=`.

use super::decorators::{Library, library_use};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG106.md`.
pub struct RetryDecoratorWithoutWait;

impl Rule for RetryDecoratorWithoutWait {
    fn id(&self) -> &'static str {
        "TG106"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call", "decorator"]
    }

    fn triggers(&self) -> Triggers {
        super::decorators::TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(u) = library_use(node, cx) else { return };
        if u.library != Library::Tenacity || u.has_keyword("wait", cx.text()) {
            return;
        }
        let message = format!(
            "Retry without wait: `{}` has no `wait=`, so tenacity retries immediately (`wait_none`) and every \
             attempt hits the failing service again at once. Add \
             `wait=tenacity.wait_random_exponential(multiplier=…, max=…)` (exponential backoff with jitter).",
            u.name
        );
        cx.report(self.id(), u.callee, message);
    }
}
