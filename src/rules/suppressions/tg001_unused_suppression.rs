//! TG001 unused-suppression: a `# trunkguard: ignore[...]` comment that silenced nothing. Reported by
//! the engine's suppression stage; this entry registers the rule (selection, docs, SARIF metadata).

use crate::engine::{Checker, UNUSED_SUPPRESSION};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG001.md`.
pub struct UnusedSuppression;

impl Rule for UnusedSuppression {
    fn id(&self) -> &'static str {
        UNUSED_SUPPRESSION
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &[]
    }

    /// Suppression comments keep their function whatever rules run (see [`crate::prune`]).
    fn triggers(&self) -> Triggers {
        Triggers::NONE
    }

    fn check(&self, _node: Node<'_>, _cx: &mut Checker<'_>) {}
}
