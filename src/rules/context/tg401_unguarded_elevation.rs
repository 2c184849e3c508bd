//! TG401 unguarded-elevation: `context.elevated()` reaches a write, or data read with it is returned,
//! with no authorization check or ownership test first.

use super::{Escalation, describe_sink, function_name, report, unguarded};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG401.md`.
pub struct UnguardedElevation;

impl Rule for UnguardedElevation {
    fn id(&self) -> &'static str {
        "TG401"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["class_definition"]
    }

    /// The rule follows calls between the methods of a class: a class that mentions `.elevated(` is
    /// kept whole (the same test [`super::unguarded`] starts with) if it may be an entry point.
    fn triggers(&self) -> Triggers {
        Triggers {
            class_fragments: &[super::ELEVATED, "elevat", "Elevat", "admin", "Admin", "ADMIN"],
            class_filter: Some(super::names::may_be_entry_point_class),
            ..Triggers::NONE
        }
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        for e in unguarded(node, cx, Escalation::Elevated) {
            let message = format!(
                "`{}` in `{}` gives an admin copy of the caller's context that reaches {} with no policy check or ownership test, so the caller acts beyond its own project. Check the caller's rights first (`policy.enforce`, a `project_id` test) or use the caller's own context.",
                cx.node_text(e.site.call),
                function_name(e.site.call, cx),
                describe_sink(&e, cx),
            );
            report(cx, self.id(), &e, "the elevated context", message);
        }
    }
}
