//! TG202 broad-except-silent: a broad catch whose body does nothing observable, and
//! `with contextlib.suppress(Exception):`.

use super::{Catch, handler, is_broad_name, is_silent};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG202.md`.
pub struct BroadExceptSilent;

impl Rule for BroadExceptSilent {
    fn id(&self) -> &'static str {
        "TG202"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["except_clause", "with_item"]
    }

    /// `except` clauses, and `with contextlib.suppress(...)` however `suppress` is imported.
    fn triggers(&self) -> Triggers {
        Triggers { words: &["except", "suppress"], import_modules: &["contextlib"], ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "with_item" {
            return check_suppress(self.id(), node, cx);
        }
        let Some(h) = handler(node, cx) else { return };
        let Catch::Broad(name) = &h.catch else { return };
        if !is_silent(h.body) {
            return;
        }
        let message = format!(
            "Broad `except {name}` silences every error: the handler does nothing, so failures vanish without a trace. Catch the exceptions you expect, and log or re-raise the rest."
        );
        cx.report_range(self.id(), node.start_byte(), h.header_end, message);
    }
}

/// `with contextlib.suppress(Exception):` (however imported).
fn check_suppress(id: &'static str, item: Node<'_>, cx: &mut Checker<'_>) {
    let Some(call) = item
        .child_by_field_id(fields::value())
        .map(|v| if v.kind() == "as_pattern" { v.named_child(0).unwrap_or(v) } else { v })
    else {
        return;
    };
    let Some(name) = python::call_name(call, cx.text()) else { return };
    if cx.imports.resolve(&name) != "contextlib.suppress" {
        return;
    }
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return };
    let broad =
        named_children(args).into_iter().any(|a| python::dotted_name(a, cx.text()).is_some_and(|n| is_broad_name(&n)));
    if !broad {
        return;
    }
    let message = format!(
        "`{}` silences every error raised in its block: failures vanish without a trace. Suppress only the exceptions you expect.",
        cx.node_text(call)
    );
    cx.report(id, call, message);
}
