//! TG403 context-made-admin: `context.is_admin = True` (or adding `admin` to `context.roles`) on the
//! caller's request context, in place.

use super::dataflow::{Summaries, Unit, analyse_function};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG403.md`.
pub struct ContextMadeAdmin;

/// A function that makes its context admin mentions one of these.
const MENTIONS: &[&str] = &["is_admin", "roles"];

impl Rule for ContextMadeAdmin {
    fn id(&self) -> &'static str {
        "TG403"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["function_definition"]
    }

    /// The rule's own first test: the function mentions `is_admin` or `roles`.
    fn triggers(&self) -> Triggers {
        Triggers { fragments: MENTIONS, ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let body = cx.node_text(node);
        if !MENTIONS.iter().any(|w| body.contains(w)) {
            return;
        }
        let in_class = node
            .parent()
            .and_then(|p| if p.kind() == "decorated_definition" { p.parent() } else { Some(p) })
            .and_then(|b| b.parent())
            .is_some_and(|c| c.kind() == "class_definition");
        let unit = if in_class { Unit::Class } else { Unit::Module };
        let facts = analyse_function(node, cx.text(), &cx.imports, &cx.knobs.context, unit, &Summaries::new());
        for (stmt, what) in facts.made_admin {
            let message = format!(
                "{what} in `{}` makes the caller's own request context admin in place: every later use of it, here and in whoever shares the object, bypasses the project scope and policy. Take an elevated copy instead (`admin_ctx = context.elevated()`) and use it only where needed.",
                facts.name
            );
            cx.report(self.id(), stmt, message);
        }
    }
}
