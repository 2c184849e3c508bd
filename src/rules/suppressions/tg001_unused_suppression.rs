//! TG001 unused-suppression: a `# trunkguard: ignore[...]` comment that silenced nothing. The engine
//! applies suppression comments after the walk (`crate::suppress`) and hands this rule the directives
//! that silenced nothing.

use crate::rules::{Checker, Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG001.md`.
pub struct UnusedSuppression;

impl Rule for UnusedSuppression {
    fn id(&self) -> &'static str {
        "TG001"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &[]
    }

    /// Suppression comments keep their function whatever rules run (see [`crate::prune`]).
    fn triggers(&self) -> Triggers {
        Triggers::NONE
    }

    fn check(&self, _node: Node<'_>, _cx: &mut Checker<'_>) {}

    fn after_walk(&self, cx: &mut Checker<'_>) {
        for u in cx.take_unused_suppressions() {
            let what = if u.selectors == ["ALL"] { "any rule".to_string() } else { u.selectors.join(", ") };
            let message = format!(
                "`{}` silences nothing: no {what} finding here. Remove the comment, or correct the rule id.",
                u.directive
            );
            cx.report_range(self.id(), u.start_byte, u.end_byte, message);
        }
    }
}
