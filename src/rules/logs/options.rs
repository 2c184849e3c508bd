//! oslo.config option declarations: recognising `cfg.StrOpt('name', …)` however `cfg` is imported,
//! and recording the ones declared `secret=True` in the project index.

use super::sources::string_literal;
use crate::checker::Checker;
use crate::python::{self, fields};
use tree_sitter::Node;

/// An oslo.config option declaration (`cfg.StrOpt('name', …)`, however `cfg` is imported): the class
/// name and the option-name string node.
pub fn option_declaration<'t>(call: Node<'t>, cx: &Checker<'_>) -> Option<(String, Node<'t>)> {
    // Cheap first (every call of a file comes here): the class is the callee's last name, unless the
    // callee is a bare name an import binds (`from oslo_config.cfg import StrOpt as S`).
    let last = python::callee_last_name(call, cx.text())?;
    let bare = call.child_by_field_id(fields::function()).is_some_and(|f| f.kind() == "identifier");
    let may_be_option = last.ends_with("Opt") || (bare && cx.imports.binds(last).is_some());
    if !may_be_option {
        return None;
    }
    let name = python::call_name(call, cx.text())?;
    let resolved = cx.imports.resolve(&name);
    let class = python::last_segment(&resolved);
    let from_cfg = resolved.starts_with("oslo_config.cfg.") || name.starts_with("cfg.");
    if !from_cfg || !class.ends_with("Opt") {
        return None;
    }
    let name_node = python::positional_arguments(call)
        .first()
        .copied()
        .or_else(|| python::keyword_argument(call, "name", cx.text()))
        .filter(|n| string_literal(*n, cx).is_some())?;
    Some((class.to_string(), name_node))
}

/// Does the option declaration pass `secret=True`?
pub fn declares_secret(call: Node<'_>, cx: &Checker<'_>) -> bool {
    python::keyword_argument(call, "secret", cx.text()).is_some_and(|v| cx.node_text(v) == "True")
}

/// Records `call` in the project index when it declares an oslo.config option with `secret=True`
/// (unless its name says it holds a path: logging where a secret lives is no leak). Called by every rule
/// that reads the index, so any selection of them sees the whole index.
pub fn record_secret_option(call: Node<'_>, cx: &mut Checker<'_>) {
    let Some((_, name_node)) = option_declaration(call, cx) else { return };
    if !declares_secret(call, cx) {
        return;
    }
    if let Some(name) = string_literal(name_node, cx).filter(|n| !super::words::is_path_name(n)) {
        cx.declare_secret_option(name);
    }
}
