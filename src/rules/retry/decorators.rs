//! Retry-library uses (TG105/TG106): tenacity, retrying and backoff decorators and call forms,
//! with import aliases resolved from the module's imports.

use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children, text};
use crate::rules::Triggers;
use tree_sitter::Node;

/// What [`library`] recognises: the callee names `retry`, `Retrying`, `AsyncRetrying`,
/// `TornadoRetrying`, `on_exception` and `on_predicate`, modules `tenacity`, `retrying` (has `retry`) and
/// `backoff` (its two names), and names imported from the three libraries under an alias.
pub const TRIGGERS: Triggers = Triggers {
    words: &["on_exception", "on_predicate"],
    fragments: &["retry", "Retry"],
    import_modules: &["tenacity", "retrying", "backoff"],
    ..Triggers::NONE
};

/// A retry library's entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// `tenacity.retry`, `tenacity.Retrying`, `tenacity.AsyncRetrying`.
    Tenacity,
    /// `retrying.retry`.
    Retrying,
    /// `backoff.on_exception`, `backoff.on_predicate`.
    Backoff,
}

/// Which retry library a resolved callee name belongs to.
pub fn library(resolved: &str) -> Option<Library> {
    match resolved {
        "tenacity.retry"
        | "tenacity.Retrying"
        | "tenacity.AsyncRetrying"
        | "tenacity.asyncio.AsyncRetrying"
        | "tenacity.TornadoRetrying" => Some(Library::Tenacity),
        "retrying.retry" | "retrying.Retrying" => Some(Library::Retrying),
        "backoff.on_exception" | "backoff.on_predicate" => Some(Library::Backoff),
        _ => None,
    }
}

/// A retry-library use: a call (`tenacity.retry(...)`, `Retrying(...)`) or a bare decorator
/// (`@tenacity.retry`).
pub struct LibraryUse<'t> {
    pub library: Library,
    /// The callee as written (`tenacity.retry`).
    pub name: String,
    /// The callee expression: the primary range.
    pub callee: Node<'t>,
    /// The call, `None` for a bare decorator.
    pub call: Option<Node<'t>>,
}

impl LibraryUse<'_> {
    /// Is keyword `kw` given (or could it be, through `**kwargs`)?
    pub fn has_keyword(&self, kw: &str, src: &str) -> bool {
        let Some(call) = self.call else { return false };
        let splat = call
            .child_by_field_id(fields::arguments())
            .is_some_and(|a| named_children(a).iter().any(|c| c.kind() == "dictionary_splat"));
        splat || python::keyword_argument(call, kw, src).is_some()
    }

    /// The value of keyword `kw`, if given.
    pub fn keyword<'s>(&self, kw: &str, src: &'s str) -> Option<&'s str> {
        self.call.and_then(|c| python::keyword_argument(c, kw, src)).map(|v| text(v, src))
    }
}

/// Recognises a retry-library use at `node` (a `call` or a `decorator`). A decorator that is a call
/// is left to the `call` visit so each use is seen once.
pub fn library_use<'t>(node: Node<'t>, cx: &Checker<'_>) -> Option<LibraryUse<'t>> {
    let src = cx.text();
    let (callee, call) = match node.kind() {
        "call" => (node.child_by_field_id(fields::function())?, Some(node)),
        "decorator" => {
            let expr = node.named_child(0)?;
            if expr.kind() == "call" {
                return None;
            }
            (expr, None)
        }
        _ => return None,
    };
    if node.has_error() {
        return None;
    }
    let name = python::dotted_name(callee, src)?;
    let library = library(&cx.imports.resolve(&name))?;
    Some(LibraryUse { library, name, callee, call })
}
