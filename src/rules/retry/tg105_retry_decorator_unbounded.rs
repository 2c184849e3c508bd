//! TG105 retry-decorator-unbounded: a retry library configured to retry forever.

use super::decorators::{Library, library_use};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG105.md`.
pub struct RetryDecoratorUnbounded;

impl Rule for RetryDecoratorUnbounded {
    fn id(&self) -> &'static str {
        "TG105"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call", "decorator"]
    }

    fn triggers(&self) -> Triggers {
        super::decorators::TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(u) = library_use(node, cx) else { return };
        let src = cx.text();
        let what = match u.library {
            Library::Tenacity => match u.keyword("stop", src) {
                Some(v) if v.ends_with("stop_never") => format!("is given `stop={v}`"),
                Some(_) => return,
                None if u.has_keyword("stop", src) => return,
                None => "has no `stop=` (tenacity's default is `stop_never`)".to_string(),
            },
            Library::Retrying => {
                let limits = ["stop_max_attempt_number", "stop_max_delay", "stop_func", "stop"];
                if limits.iter().any(|k| u.has_keyword(k, src)) {
                    return;
                }
                "has no `stop_max_attempt_number` or `stop_max_delay`".to_string()
            }
            Library::Backoff => {
                if ["max_tries", "max_time"].iter().any(|k| u.has_keyword(k, src)) {
                    return;
                }
                "has no `max_tries` or `max_time`".to_string()
            }
        };
        let fix = match u.library {
            Library::Tenacity => "Add `stop=tenacity.stop_after_attempt(n)` or `stop_after_delay(seconds)`",
            Library::Retrying => "Add `stop_max_attempt_number=n` or `stop_max_delay=ms`",
            Library::Backoff => "Add `max_tries=n` or `max_time=seconds`",
        };
        let decorates = node.kind() == "decorator" || node.parent().is_some_and(|p| p.kind() == "decorator");
        let kind = if decorates { "decorator" } else { "policy" };
        let message = format!(
            "Unbounded retry {kind}: `{}` {what} and retries forever, so a persistent failure hangs the caller \
             (an API worker, an RPC handler) instead of surfacing. {fix}, and let the last error propagate.",
            u.name
        );
        cx.report(self.id(), u.callee, message);
    }
}
