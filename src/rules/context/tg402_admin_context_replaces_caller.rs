//! TG402 admin-context-replaces-caller: a function that receives a request context builds an admin
//! context and writes with it, or returns data read with it.

use super::{Escalation, describe_sink, function_name, report, unguarded};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG402.md`.
pub struct AdminContextReplacesCaller;

impl Rule for AdminContextReplacesCaller {
    fn id(&self) -> &'static str {
        "TG402"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["class_definition"]
    }

    /// Like TG401, for the admin-context mentions [`super::unguarded`] starts with.
    fn triggers(&self) -> Triggers {
        Triggers {
            class_fragments: super::ADMIN,
            class_filter: Some(super::names::may_be_entry_point_class),
            ..Triggers::NONE
        }
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        for e in unguarded(node, cx, Escalation::Admin) {
            let message = format!(
                "`{}` in `{}` replaces the caller's request context with an admin context that reaches {}, so the caller's identity and project scope are discarded. Use the caller's context (elevate only after checking its rights) or check ownership before acting.",
                cx.node_text(e.site.call),
                function_name(e.site.call, cx),
                describe_sink(&e, cx),
            );
            report(cx, self.id(), &e, "the admin context", message);
        }
    }
}
