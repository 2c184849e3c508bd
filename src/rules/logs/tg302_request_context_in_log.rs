//! TG302 request-context-in-log: a request context logged whole — `context.to_dict()`,
//! `vars(context)`, `context.__dict__` — directly or through a local.

use super::{Kind, report_hit, sink, sink_hits};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG302.md`.
pub struct RequestContextInLog;

impl Rule for RequestContextInLog {
    fn id(&self) -> &'static str {
        "TG302"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call"]
    }

    fn triggers(&self) -> Triggers {
        super::SINK_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(sink) = sink(node, cx) else { return };
        let hits = sink_hits(node, &sink.args, cx, Kind::Context);
        let Some(hit) = hits.first() else { return };
        let message = format!(
            "`{}` logs {}, the whole request context: it carries the caller's `auth_token` (and service credentials), which end up in the log. Log `context.get_logging_values()` or the ids you need (`context.project_id`, `context.request_id`).",
            sink.name,
            hit.describe()
        );
        let fix = super::logging_values_fix(hit, cx);
        report_hit(self.id(), node, hit, message, cx, fix);
    }
}
