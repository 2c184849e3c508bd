//! How control leaves a block: the set of ways (raise, return, break, continue, fall through) that
//! some path through it can end. Used for "does every path re-raise" (TG2xx) and "does the handler let
//! the loop come round again" (TG1xx).
//!
//! The analysis follows if/elif/else, try/except/else/finally, with-blocks, loops and match; a `raise`
//! inside a nested function does not count. Recursion is bounded by [`super::MAX_DEPTH`]; past it the
//! result carries [`Exits::UNKNOWN`] so callers can stay quiet rather than guess.

use super::fields;
use super::{Imports, call_name, clause_block, named_children, statements, text};
use tree_sitter::Node;

/// A set of ways control can leave a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exits(u8);

impl Exits {
    pub const NONE: Exits = Exits(0);
    pub const FALL: Exits = Exits(1);
    pub const RAISE: Exits = Exits(2);
    pub const RETURN: Exits = Exits(4);
    pub const BREAK: Exits = Exits(8);
    pub const CONTINUE: Exits = Exits(16);
    /// Nesting too deep to follow.
    pub const UNKNOWN: Exits = Exits(32);

    /// Does the set contain every way in `other`?
    pub fn contains(self, other: Exits) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    /// Union.
    pub fn with(self, other: Exits) -> Exits {
        Exits(self.0 | other.0)
    }
    /// Difference.
    pub fn without(self, other: Exits) -> Exits {
        Exits(self.0 & !other.0)
    }
    /// Does every path raise (and the analysis knows it)?
    pub fn always_raises(self) -> bool {
        self == Exits::RAISE
    }
}

/// Calls that never return normally: they raise (or end the process, or fail the test or the Ansible
/// module run).
const RAISING_CALLS: &[&str] = &[
    "six.reraise",
    "reraise",
    "excutils.raise_with_cause",
    "raise_with_cause",
    "sys.exit",
    "os._exit",
    "os.abort",
    "pecan.abort",
    "flask.abort",
    "fail_json",
    "self.fail",
];

/// Context managers that re-raise the active exception on exit (oslo.utils): `Some(true)` when it
/// re-raises unless told otherwise, `Some(false)` for `save_and_reraise_exception(reraise=False)`.
fn save_and_reraise(item: Node<'_>, src: &str, imports: &Imports) -> Option<bool> {
    let value = item.child_by_field_id(fields::value()).unwrap_or(item);
    let call = if value.kind() == "as_pattern" { value.named_child(0) } else { Some(value) }?;
    let name = call_name(call, src)?;
    if !imports.resolve(&name).ends_with("save_and_reraise_exception") {
        return None;
    }
    let off = super::keyword_argument(call, "reraise", src).is_some_and(|v| text(v, src) == "False");
    Some(!off)
}

/// The ways control can leave `block` (a `block` node or any single statement).
pub fn exits(block: Node<'_>, src: &str, imports: &Imports) -> Exits {
    exits_at(block, src, imports, 0)
}

fn exits_at(node: Node<'_>, src: &str, imports: &Imports, depth: usize) -> Exits {
    if depth > super::MAX_DEPTH {
        return Exits::UNKNOWN;
    }
    if node.kind() == "block" || node.kind() == "module" {
        return sequence(statements(node), src, imports, depth);
    }
    statement(node, src, imports, depth)
}

fn sequence<'t>(stmts: impl Iterator<Item = Node<'t>>, src: &str, imports: &Imports, depth: usize) -> Exits {
    let mut acc = Exits::NONE;
    for stmt in stmts {
        let e = statement(stmt, src, imports, depth);
        acc = acc.with(e.without(Exits::FALL));
        if !e.contains(Exits::FALL) {
            return acc;
        }
    }
    acc.with(Exits::FALL)
}

fn block_of<'t>(node: Node<'t>, field: u16) -> Option<Node<'t>> {
    node.child_by_field_id(field)
}

fn statement(stmt: Node<'_>, src: &str, imports: &Imports, depth: usize) -> Exits {
    let d = depth + 1;
    let sub = |n: Option<Node<'_>>| n.map_or(Exits::FALL, |n| exits_at(n, src, imports, d));
    match stmt.kind() {
        "raise_statement" => Exits::RAISE,
        "return_statement" => Exits::RETURN,
        "break_statement" => Exits::BREAK,
        "continue_statement" => Exits::CONTINUE,
        "expression_statement" => {
            let raises = stmt.named_child(0).and_then(|c| call_name(c, src)).is_some_and(|n| {
                let resolved = imports.resolve(&n);
                RAISING_CALLS.iter().any(|r| n == *r || resolved == *r || resolved.ends_with(&format!(".{r}")))
            });
            if raises { Exits::RAISE } else { Exits::FALL }
        }
        "if_statement" => {
            let mut acc = sub(block_of(stmt, fields::consequence()));
            let mut has_else = false;
            let mut cursor = stmt.walk();
            for alt in stmt.children_by_field_name("alternative", &mut cursor) {
                has_else |= alt.kind() == "else_clause";
                let body =
                    block_of(alt, if alt.kind() == "else_clause" { fields::body() } else { fields::consequence() });
                acc = acc.with(sub(body));
            }
            if has_else { acc } else { acc.with(Exits::FALL) }
        }
        "try_statement" => try_exits(stmt, src, imports, d),
        "with_statement" => {
            let body = sub(block_of(stmt, fields::body()));
            let clause = named_children(stmt).into_iter().find(|c| c.kind() == "with_clause");
            let mode = clause
                .and_then(|c| named_children(c).into_iter().find_map(|item| save_and_reraise(item, src, imports)));
            match mode {
                None => body,
                // save_and_reraise_exception re-raises on exit unless the body sets `ctx.reraise = False`.
                Some(true) if sets_reraise(stmt, src, "False") => body.with(Exits::RAISE),
                Some(true) => Exits::RAISE,
                // `reraise=False` re-raises only where the body sets `ctx.reraise = True`.
                Some(false) if sets_reraise(stmt, src, "True") => body.with(Exits::RAISE),
                Some(false) => body,
            }
        }
        "while_statement" | "for_statement" => {
            let body = sub(block_of(stmt, fields::body()));
            let infinite = stmt.kind() == "while_statement"
                && block_of(stmt, fields::condition()).is_some_and(|c| matches!(text(c, src), "True" | "1"));
            let mut acc = body.without(Exits::BREAK.with(Exits::CONTINUE).with(Exits::FALL));
            if !infinite || body.contains(Exits::BREAK) {
                let after = match block_of(stmt, fields::alternative()) {
                    Some(alt) if !infinite => sub(block_of(alt, fields::body())),
                    _ => Exits::FALL,
                };
                acc = acc.with(after);
            }
            acc.with(body.without(Exits::all_but_unknown()))
        }
        "match_statement" => {
            let mut acc = Exits::FALL;
            for case in super::descendants_in_scope(stmt).into_iter().filter(|n| n.kind() == "case_clause") {
                acc = acc.with(sub(named_children(case).into_iter().find(|c| c.kind() == "block")));
            }
            acc
        }
        _ => Exits::FALL,
    }
}

impl Exits {
    fn all_but_unknown() -> Exits {
        Exits(31)
    }
}

fn try_exits(stmt: Node<'_>, src: &str, imports: &Imports, d: usize) -> Exits {
    let sub = |n: Option<Node<'_>>| n.map_or(Exits::FALL, |n| exits_at(n, src, imports, d));
    let mut body = sub(block_of(stmt, fields::body()));
    let mut handlers = Exits::NONE;
    let mut finally = None;
    for clause in named_children(stmt) {
        match clause.kind() {
            "except_clause" | "except_group_clause" => handlers = handlers.with(sub(clause_block(clause))),
            // The body's fall-through continues into `else`.
            "else_clause" if body.contains(Exits::FALL) => {
                body = body.without(Exits::FALL).with(sub(block_of(clause, fields::body())));
            }
            "finally_clause" => finally = Some(sub(clause_block(clause))),
            _ => {}
        }
    }
    let acc = body.with(handlers);
    match finally {
        Some(f) if !f.contains(Exits::FALL) => f,
        Some(f) => acc.with(f.without(Exits::FALL)),
        None => acc,
    }
}

/// Does a `with save_and_reraise_exception() as ctx:` body set `ctx.reraise = <value>` anywhere?
fn sets_reraise(with_stmt: Node<'_>, src: &str, value: &str) -> bool {
    super::descendants_in_scope(with_stmt).into_iter().any(|n| {
        n.kind() == "assignment"
            && n.child_by_field_id(fields::left()).is_some_and(|l| text(l, src).ends_with(".reraise"))
            && n.child_by_field_id(fields::right()).is_some_and(|r| text(r, src) == value)
    })
}

/// The ways control leaves the statements `stmts`, run in order (a slice of a block).
pub fn sequence_exits<'t>(stmts: impl Iterator<Item = Node<'t>>, src: &str, imports: &Imports) -> Exits {
    sequence(stmts.filter(|n| n.kind() != "comment"), src, imports, 0)
}

/// The ways control can leave the block `until` once `stmt` (a statement somewhere inside it) has
/// completed normally: the statements after it, then after each enclosing statement (a `try` body
/// continues into its `else` and `finally`), up to the end of `until`. [`Exits::FALL`] means "reaches
/// the end of `until`" (for a loop body: comes round again). If `until` is not an ancestor, the walk
/// stops at the enclosing function and FALL means "falls off the function". Climbs at most
/// [`super::MAX_DEPTH`] levels; past that the result carries [`Exits::UNKNOWN`].
pub fn continuation(stmt: Node<'_>, until: Node<'_>, src: &str, imports: &Imports) -> Exits {
    let mut acc = Exits::NONE;
    let mut cur = stmt;
    for _ in 0..super::MAX_DEPTH {
        let Some(parent) = cur.parent() else { return acc.with(Exits::FALL) };
        match parent.kind() {
            "block" | "module" => {
                // Siblings through the parent's cursor: `next_named_sibling` re-finds the parent each time.
                let id = cur.id();
                let following = named_children(parent).into_iter().skip_while(|n| n.id() != id).skip(1);
                let e = sequence_exits(following, src, imports);
                acc = acc.with(e.without(Exits::FALL));
                if !e.contains(Exits::FALL) || parent.id() == until.id() || parent.kind() == "module" {
                    return if e.contains(Exits::FALL) { acc.with(Exits::FALL) } else { acc };
                }
            }
            "try_statement" => {
                let is_body = parent.child_by_field_id(fields::body()).is_some_and(|b| b.id() == cur.id());
                let mut later: Vec<Node<'_>> = Vec::new();
                for clause in named_children(parent) {
                    match clause.kind() {
                        "else_clause" if is_body => later.extend(block_of(clause, fields::body())),
                        "finally_clause" if cur.kind() != "finally_clause" => {
                            later.extend(named_children(clause).into_iter().find(|c| c.kind() == "block"))
                        }
                        _ => {}
                    }
                }
                for block in later {
                    let e = exits(block, src, imports);
                    acc = acc.with(e.without(Exits::FALL));
                    if !e.contains(Exits::FALL) {
                        return acc;
                    }
                }
            }
            "function_definition" | "class_definition" | "lambda" => return acc.with(Exits::FALL),
            _ => {}
        }
        cur = parent;
    }
    acc.with(Exits::UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> tree_sitter::Tree {
        crate::engine::new_parser().parse(src, None).expect("parses")
    }

    /// The first node of `kind` in pre-order.
    fn first<'t>(root: Node<'t>, kind: &str) -> Node<'t> {
        super::super::descendants_in_scope(root).into_iter().find(|n| n.kind() == kind).expect("node present")
    }

    #[test]
    fn continuation_follows_the_rest_of_the_loop_body() {
        let src =
            "while True:\n    try:\n        f()\n    except E:\n        g()\n    else:\n        pass\n    break\n";
        let tree = parse(src);
        let root = tree.root_node();
        let body = first(root, "while_statement").child_by_field_id(fields::body()).unwrap();
        let try_stmt = first(root, "try_statement");
        let imports = Imports::default();
        assert_eq!(continuation(try_stmt, body, src, &imports), Exits::BREAK);
        // From inside the try body: `else`, then the `break` after the try.
        let call = first(try_stmt, "expression_statement");
        assert_eq!(continuation(call, body, src, &imports), Exits::BREAK);
    }

    #[test]
    fn continuation_reaches_the_end_of_the_block() {
        let src = "for i in x:\n    if a:\n        f()\n    g()\n";
        let tree = parse(src);
        let root = tree.root_node();
        let body = first(root, "for_statement").child_by_field_id(fields::body()).unwrap();
        let call = first(first(root, "if_statement"), "expression_statement");
        assert_eq!(continuation(call, body, src, &Imports::default()), Exits::FALL);
    }

    #[test]
    fn save_and_reraise_with_reraise_false() {
        let src = "try:\n    f()\nexcept E:\n    with excutils.save_and_reraise_exception(reraise=False) as ctx:\n        if last:\n            ctx.reraise = True\n";
        let tree = parse(src);
        let handler = first(tree.root_node(), "except_clause");
        let block = named_children(handler).into_iter().find(|c| c.kind() == "block").unwrap();
        let e = exits(block, src, &Imports::default());
        assert!(e.contains(Exits::RAISE) && e.contains(Exits::FALL), "{e:?}");
    }
}
