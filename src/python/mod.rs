//! Helpers over tree-sitter-python nodes shared by every rule: node text, dotted names of calls,
//! import aliases, enclosing scopes, logger recognition. Nothing here knows about rules or findings.
//!
//! Every helper is iterative or depth-bounded: input can nest tens of thousands of levels deep.

pub mod fields;

use fields::kinds;
pub mod flow;

use std::collections::HashMap;
use tree_sitter::Node;

/// The tree-sitter-python language.
pub fn language() -> tree_sitter::Language {
    tree_sitter_python::LANGUAGE.into()
}

/// Deepest nesting a recursive helper descends before giving up conservatively.
pub const MAX_DEPTH: usize = 200;

/// The source text of `node`.
pub fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Named children of `node`, in order.
pub fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).collect()
}

/// Children of `node` that are statements or clauses (named, not comments).
pub fn statements<'t>(block: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    named_children(block).into_iter().filter(|n| n.kind() != "comment")
}

/// The dotted name of an identifier/attribute chain (`a.b.c`), or `None` for anything else
/// (calls, subscripts…). Iterative, so deep chains cannot overflow.
pub fn dotted_name(node: Node<'_>, src: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = node;
    loop {
        let kind = cur.kind_id();
        if kind == kinds::identifier() {
            parts.push(text(cur, src));
            break;
        }
        if kind != kinds::attribute() {
            return None;
        }
        parts.push(text(cur.child_by_field_id(fields::attribute())?, src));
        cur = cur.child_by_field_id(fields::object())?;
        if parts.len() > 64 {
            return None;
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// What [`preorder`] does after visiting a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Go on into the node's children.
    Descend,
    /// Leave the node's children out.
    Skip,
    /// End the walk.
    Stop,
}

/// Visits `node`, then its descendants, in pre-order with one cursor: no recursion (input nests tens of
/// thousands of levels deep) and no allocation per node. `visit` decides, node by node, whether to
/// enter its children, skip them or stop. Returns whether the walk was stopped.
pub fn preorder<'t>(node: Node<'t>, mut visit: impl FnMut(Node<'t>) -> Visit) -> bool {
    let mut cursor = node.walk();
    let mut depth = 0usize;
    loop {
        match visit(cursor.node()) {
            Visit::Stop => return true,
            Visit::Descend if cursor.goto_first_child() => {
                depth += 1;
                continue;
            }
            Visit::Descend | Visit::Skip => {}
        }
        loop {
            if depth == 0 {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

/// Does the subtree of `node` (itself included) hold an identifier?
pub fn contains_identifier(node: Node<'_>) -> bool {
    preorder(node, |n| if n.kind_id() == kinds::identifier() { Visit::Stop } else { Visit::Descend })
}

/// The dotted name of the function a `call` node calls (`LOG.error` for `LOG.error(...)`).
pub fn call_name(call: Node<'_>, src: &str) -> Option<String> {
    if call.kind_id() != kinds::call() {
        return None;
    }
    dotted_name(call.child_by_field_id(fields::function())?, src)
}

/// The last attribute or identifier of a call's callee, even when the receiver is not a plain name
/// (`self._get_plugin().update_port(...)` → `update_port`).
pub fn callee_last_name<'a>(call: Node<'_>, src: &'a str) -> Option<&'a str> {
    let func = call.child_by_field_id(fields::function())?;
    match func.kind() {
        "identifier" => Some(text(func, src)),
        "attribute" => Some(text(func.child_by_field_id(fields::attribute())?, src)),
        _ => None,
    }
}

/// The last segment of a dotted name.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Keyword argument `name=` of a call, if present.
pub fn keyword_argument<'t>(call: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let args = call.child_by_field_id(fields::arguments())?;
    named_children(args).into_iter().find_map(|arg| {
        (arg.kind() == "keyword_argument" && arg.child_by_field_id(fields::name()).map(|n| text(n, src)) == Some(name))
            .then(|| arg.child_by_field_id(fields::value()))
            .flatten()
    })
}

/// Positional arguments of a call (no keywords, no splats).
pub fn positional_arguments<'t>(call: Node<'t>) -> Vec<Node<'t>> {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return Vec::new() };
    named_children(args)
        .into_iter()
        .filter(|a| !matches!(a.kind(), "keyword_argument" | "comment" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// Strips redundant parentheses around an expression.
pub fn unparenthesize(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// Is `node` a function or class definition (a scope boundary for "directly in this body")?
pub fn is_scope(node: Node<'_>) -> bool {
    let kind = node.kind_id();
    kind == kinds::function_definition() || kind == kinds::class_definition() || kind == kinds::lambda()
}

/// The ancestors of `node`, outermost (`root`) first, `node` excluded — found by one descent from
/// `root`. (tree-sitter answers each `Node::parent()` by descending from the root, so climbing with
/// a chain of them is quadratic in the nesting depth; 50,000-deep expressions exist.)
pub fn ancestors<'t>(root: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    loop {
        let current = cursor.node();
        if current.id() == node.id() {
            return out;
        }
        out.push(current);
        // The child that contains `node`: the first child ending after its start, skipping siblings
        // that end before it (zero-width nodes).
        if cursor.goto_first_child_for_byte(node.start_byte()).is_none() {
            return out;
        }
        while cursor.node().end_byte() < node.end_byte() || cursor.node().start_byte() > node.start_byte() {
            if !cursor.goto_next_sibling() {
                return out;
            }
        }
    }
}

/// The innermost function definition enclosing `node` (not `node` itself); `root` is the module.
pub fn enclosing_function<'t>(root: Node<'t>, node: Node<'t>) -> Option<Node<'t>> {
    ancestors(root, node).into_iter().rev().find(|n| n.kind() == "function_definition")
}

/// Source text for a message: whitespace runs collapsed to one space, cut to `max` characters
/// (ending in `…` when cut).
pub fn shorten(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max.saturating_sub(1)).collect::<String>())
    } else {
        one_line
    }
}

/// The block of an `except`/`finally` clause (they have no field name for it).
pub fn clause_block(clause: Node<'_>) -> Option<Node<'_>> {
    named_children(clause).into_iter().find(|c| c.kind() == "block")
}

/// The exceptions an `except` clause names, in source order: the expressions of its tuples, taken
/// apart (`except (A, (B, C)) as e` gives `A`, `B`, `C`), parentheses stripped. `None` for a bare
/// `except:`. Lazy and iterative: callers that need only the first few stop the walk there.
pub fn caught_exceptions<'t>(clause: Node<'t>) -> Option<impl Iterator<Item = Node<'t>>> {
    let mut cursor = clause.walk();
    let mut stack: Vec<Node<'t>> = clause.children_by_field_name("value", &mut cursor).collect();
    if stack.is_empty() {
        return None;
    }
    stack.reverse();
    Some(std::iter::from_fn(move || {
        while let Some(v) = stack.pop() {
            let v = unparenthesize(v);
            match v.kind() {
                "tuple" | "expression_list" => stack.extend(named_children(v).into_iter().rev()),
                "as_pattern" => stack.extend(v.named_child(0)),
                _ => return Some(v),
            }
        }
        None
    }))
}

/// End byte of the `:` that closes a compound statement's or clause's header.
pub fn colon_end(node: Node<'_>) -> Option<usize> {
    let mut cursor = node.walk();
    let colon = node.children(&mut cursor).find(|c| c.kind() == ":");
    colon.map(|c| c.end_byte())
}

/// Does this statement consist of a string only (a docstring or a string used as a comment)?
pub fn is_string_statement(stmt: Node<'_>) -> bool {
    stmt.kind() == "expression_statement"
        && stmt.named_child_count() == 1
        && stmt.named_child(0).is_some_and(|c| matches!(c.kind(), "string" | "concatenated_string"))
}

/// Import aliases of one module: local name → fully qualified dotted name.
///
/// `import tenacity as t` maps `t` → `tenacity`; `from oslo_utils import excutils` maps `excutils` →
/// `oslo_utils.excutils`. Collected from module-level statements (and those nested in module-level
/// `try`/`if` blocks, where optional imports live).
#[derive(Debug, Default, Clone)]
pub struct Imports {
    aliases: HashMap<String, String>,
}

impl Imports {
    /// Collects the imports of the module rooted at `root`.
    pub fn collect(root: Node<'_>, src: &str) -> Imports {
        let mut imports = Imports::default();
        // Module level plus blocks of module-level compound statements (try/if/with), bounded depth.
        let mut stack: Vec<(Node<'_>, usize)> = vec![(root, 0)];
        while let Some((node, depth)) = stack.pop() {
            for child in named_children(node) {
                match child.kind() {
                    "import_statement" => imports.add_import(child, src),
                    "import_from_statement" => imports.add_from_import(child, src),
                    "function_definition" | "class_definition" | "decorated_definition" => {}
                    _ if depth < 4 && child.named_child_count() > 0 => stack.push((child, depth + 1)),
                    _ => {}
                }
            }
        }
        imports
    }

    fn add_import(&mut self, stmt: Node<'_>, src: &str) {
        for (local, target, aliased) in import_bindings(stmt, src) {
            if aliased {
                self.aliases.insert(local.to_string(), target.to_string());
            } else {
                self.aliases.entry(local.to_string()).or_insert_with(|| target.to_string());
            }
        }
    }

    fn add_from_import(&mut self, stmt: Node<'_>, src: &str) {
        for (local, full) in from_import_bindings(stmt, src) {
            self.aliases.insert(local.to_string(), full.trim_start_matches('.').to_string());
        }
    }

    /// Resolves the first segment of a dotted name through the aliases: with `from tenacity import
    /// retry as r`, `r` resolves to `tenacity.retry`; unknown names are returned unchanged.
    pub fn resolve(&self, dotted: &str) -> String {
        let (first, rest) = match dotted.split_once('.') {
            Some((f, r)) => (f, Some(r)),
            None => (dotted, None),
        };
        match (self.aliases.get(first), rest) {
            (Some(full), Some(rest)) => format!("{full}.{rest}"),
            (Some(full), None) => full.clone(),
            (None, _) => dotted.to_string(),
        }
    }

    /// The fully qualified name an import binds `local` to, if any.
    pub fn binds(&self, local: &str) -> Option<&str> {
        self.aliases.get(local).map(String::as_str)
    }

    /// Does the module import one of `packages` or anything under it (`webob`, `flask.request`)?
    pub fn imports_any(&self, packages: &[&str]) -> bool {
        self.aliases.values().any(|full| {
            packages.iter().any(|p| full.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
        })
    }
}

/// Logger methods that emit a record.
pub const LOG_METHODS: &[&str] =
    &["debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"];

/// Receivers conventionally bound to a logger in OpenStack code.
pub const LOGGER_NAMES: &[&str] =
    &["LOG", "LOGGER", "logger", "log", "_LOG", "_log", "self.log", "self.logger", "self._log", "self.LOG", "logging"];

/// The names an `import …` statement binds: (local name, what it names, bound with `as`). `import
/// a.b` binds `a` to `a`; `import a.b as x` binds `x` to `a.b`.
pub fn import_bindings<'a>(stmt: Node<'_>, src: &'a str) -> Vec<(&'a str, &'a str, bool)> {
    let mut out = Vec::new();
    for name in named_children(stmt) {
        match name.kind() {
            "dotted_name" => {
                let full = text(name, src);
                let first = full.split('.').next().unwrap_or(full);
                out.push((first, first, false));
            }
            "aliased_import" => {
                if let (Some(n), Some(a)) =
                    (name.child_by_field_id(fields::name()), name.child_by_field_id(fields::alias()))
                {
                    out.push((text(a, src), text(n, src), true));
                }
            }
            _ => {}
        }
    }
    out
}

/// The names a `from … import …` statement binds: (local name, what it names). A relative import keeps
/// its dots (`from ..utils import x` binds `x` to `..utils.x`; `from . import y`, `y` to `.y`).
pub fn from_import_bindings<'a>(stmt: Node<'_>, src: &'a str) -> Vec<(&'a str, String)> {
    let Some(module) = stmt.child_by_field_id(fields::module_name()) else { return Vec::new() };
    let module = text(module, src);
    let mut out = Vec::new();
    let mut cursor = stmt.walk();
    for name in stmt.children_by_field_name("name", &mut cursor) {
        let (local, imported) = match name.kind() {
            "dotted_name" => (text(name, src), text(name, src)),
            "aliased_import" => {
                let (Some(n), Some(a)) =
                    (name.child_by_field_id(fields::name()), name.child_by_field_id(fields::alias()))
                else {
                    continue;
                };
                (text(a, src), text(n, src))
            }
            _ => continue,
        };
        let full = if module.is_empty() {
            imported.to_string()
        } else if module.bytes().all(|b| b == b'.') {
            format!("{module}{imported}")
        } else {
            format!("{module}.{imported}")
        };
        out.push((local, full));
    }
    out
}

/// Where a call's argument goes: the `i`-th positional parameter, or the one a keyword names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    Position(u8),
    Keyword(&'a str),
}

/// A call's arguments (comments and splats left out), each with its slot: `None` for a positional
/// argument after a `*args`/`**kwargs` splat or past position 255, whose slot is not known.
pub fn argument_slots<'t, 'a>(call: Node<'t>, src: &'a str) -> Vec<(Option<Slot<'a>>, Node<'t>)> {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return Vec::new() };
    let mut out = Vec::new();
    let mut position: Option<u8> = Some(0);
    for arg in named_children(args) {
        match arg.kind() {
            "comment" => {}
            "keyword_argument" => {
                if let (Some(k), Some(v)) =
                    (arg.child_by_field_id(fields::name()), arg.child_by_field_id(fields::value()))
                {
                    out.push((Some(Slot::Keyword(text(k, src))), v));
                }
            }
            "list_splat" | "dictionary_splat" => position = None,
            _ => {
                out.push((position.map(Slot::Position), arg));
                position = position.and_then(|i| i.checked_add(1));
            }
        }
    }
    out
}

/// Is `call` a logging call (`LOG.error(...)`, `self.logger.info(...)`, `logging.warning(...)`)?
/// Returns the dotted callee name when it is. `extra_loggers` holds names the module binds from
/// `getLogger(...)`.
pub fn logger_call(call: Node<'_>, src: &str, extra_loggers: &[String]) -> Option<String> {
    let name = call_name(call, src)?;
    let (receiver, method) = name.rsplit_once('.')?;
    if !LOG_METHODS.contains(&method) {
        return None;
    }
    (LOGGER_NAMES.contains(&receiver) || extra_loggers.iter().any(|l| l == receiver)).then_some(name)
}

/// Names bound at module level (or on `self`) from `getLogger(...)`: `_logger = logging.getLogger(__name__)`.
pub fn module_loggers(root: Node<'_>, src: &str) -> Vec<String> {
    let mut names = Vec::new();
    for stmt in named_children(root) {
        if stmt.kind() != "expression_statement" {
            continue;
        }
        let Some(assign) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else { continue };
        let (Some(left), Some(right)) =
            (assign.child_by_field_id(fields::left()), assign.child_by_field_id(fields::right()))
        else {
            continue;
        };
        let is_get_logger = call_name(right, src).is_some_and(|n| last_segment(&n) == "getLogger");
        if is_get_logger && left.kind() == "identifier" {
            names.push(text(left, src).to_string());
        }
    }
    names
}

/// Calls directly inside `node` (not inside nested functions, classes or lambdas), in source order.
pub fn calls_within<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    preorder(node, |n| {
        if n != node && (!n.is_named() || is_scope(n)) {
            return Visit::Skip;
        }
        if n.kind_id() == kinds::call() {
            out.push(n);
        }
        Visit::Descend
    });
    out
}

/// All named descendants of `node` (excluding `node`) in pre-order, not entering nested scopes (which
/// are listed, their insides not).
pub fn descendants_in_scope<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    preorder(node, |n| {
        if n == node {
            return Visit::Descend;
        }
        if !n.is_named() {
            return Visit::Skip;
        }
        out.push(n);
        if is_scope(n) { Visit::Skip } else { Visit::Descend }
    });
    out
}

/// Is `stmt` a `pass` written in the source? Selective parsing blanks a function it leaves out into
/// `pass` and spaces (see `crate::prune`), so a `pass_statement` whose original text reads `def ` (or
/// `asyn`) is a function definition, not a statement that does nothing.
pub fn is_pass(stmt: Node<'_>, src: &str) -> bool {
    stmt.kind() == "pass_statement" && text(stmt, src) == "pass"
}

/// The callee of a call as a symbolic path (`self.m`, `mod.f`, `super().m`), or `None` when it is not
/// a name (a subscript, a call's result other than `super()`).
pub fn callee_path(call: Node<'_>, src: &str) -> Option<String> {
    let func = call.child_by_field_id(fields::function())?;
    if let Some(name) = dotted_name(func, src) {
        return Some(name);
    }
    let object = func.child_by_field_id(fields::object())?;
    let attr = func.child_by_field_id(fields::attribute())?;
    (object.kind() == "call" && call_name(object, src).as_deref() == Some("super"))
        .then(|| format!("super().{}", text(attr, src)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_exceptions_takes_tuples_apart_in_source_order() {
        let src = "try:\n    pass\nexcept (A, (b.B, C)) as e:\n    pass\nexcept:\n    pass\n";
        let tree = crate::engine::new_parser().parse(src, None).expect("parses");
        let mut clauses = Vec::new();
        preorder(tree.root_node(), |n| {
            if n.kind() == "except_clause" {
                clauses.push(n);
            }
            Visit::Descend
        });
        let names: Vec<&str> = caught_exceptions(clauses[0]).expect("not bare").map(|e| text(e, src)).collect();
        assert_eq!(names, ["A", "b.B", "C"]);
        assert!(caught_exceptions(clauses[1]).is_none());
    }
}
