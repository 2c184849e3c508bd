//! Exhaustion (TG103): whether the error survives a bounded retry loop's last failed attempt — a
//! re-raise or failure return in the handler, a `for … else: raise`, one last uncaught attempt, or a
//! raise, test failure or failure return right after the loop, or a log at warning level or above
//! followed by a `return` the caller can test.

use super::{RetryLoop, is_loop, scan};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::flow::{self, Exits};
use crate::python::{self, text};
use tree_sitter::Node;

/// TG103, bounded loops: after the last failed attempt, does the error vanish? No re-raise in the
/// handler, no `for … else: raise`, no raise or failure return right after the loop.
pub fn swallowed(r: &RetryLoop<'_>, cx: &Checker<'_>) -> bool {
    let shape = &r.shape;
    let (node, handlers, failure_nodes) = (shape.node, &shape.handlers, &shape.regions.failure);
    let src = cx.text();
    let imports = &cx.imports;
    let success_returns_value = returns_value(shape.attempt.child_by_field_id(fields::body()), src);
    // A handler that re-raises or reports failure on some path (the last attempt's way out).
    for h in handlers {
        let Some(block) = python::clause_block(*h) else { return false };
        let e = flow::exits(block, src, imports);
        if e.contains(Exits::RAISE) || e.contains(Exits::UNKNOWN) {
            return false;
        }
        // `return False` reports failure; a bare `return` does when success returns a value.
        if e.contains(Exits::RETURN) && (returns_value(Some(block), src) || success_returns_value) {
            return false;
        }
    }
    if failure_nodes.iter().any(|n| n.kind() == "raise_statement" && !inside_handler_of_other(*n, handlers)) {
        return false;
    }
    // `for … else: raise` / `while … else: return False`.
    if let Some(alt) = node.child_by_field_id(fields::alternative()).and_then(|a| a.child_by_field_id(fields::body())) {
        let e = flow::exits(alt, src, imports);
        if e.contains(Exits::RAISE) || e.contains(Exits::UNKNOWN) || returns_value(Some(alt), src) {
            return false;
        }
    }
    // "One last shot without catching": the attempt repeated right after the loop (or in its `else`).
    if last_shot_after(node, shape.attempt, cx) {
        return false;
    }
    // Right after the loop: a raise, a test failure (`self.fail(...)`) or a return of a value.
    let func_body = cx.enclosing_function(node).and_then(|f| f.child_by_field_id(fields::body()));
    let until = func_body.unwrap_or(node);
    let after = flow::continuation(node, until, src, imports);
    if after.contains(Exits::RAISE) || after.contains(Exits::UNKNOWN) || fails_after(node, src) {
        return false;
    }
    if following_returns_value(node, until, src) || (after.contains(Exits::RETURN) && success_returns_value) {
        return false;
    }
    !logs_and_returns_after(node, cx)
}

/// Right after the loop, does the function log the failure (warning or above) and `return` — the
/// caller's way to tell (`LOG.error('gave up after %d tries', n); return None`, tested by the only
/// caller)? The exhaustion is reported, not swallowed.
fn logs_and_returns_after(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let mut logged = false;
    let mut next = node.next_named_sibling();
    let mut seen = 0;
    while let Some(n) = next {
        seen += 1;
        if seen > 8 {
            break;
        }
        if n.kind() == "return_statement" {
            return logged;
        }
        logged |= python::calls_within(n).into_iter().any(|c| {
            python::logger_call(c, src, &cx.loggers).is_some_and(|name| {
                matches!(python::last_segment(&name), "error" | "exception" | "critical" | "warning" | "warn")
            })
        });
        next = n.next_named_sibling();
    }
    false
}

/// Do the statements right after the loop call `fail(...)` (`self.fail`, `pytest.fail`), which raises?
fn fails_after(node: Node<'_>, src: &str) -> bool {
    let mut next = node.next_named_sibling();
    let mut seen = 0;
    while let Some(n) = next {
        if python::calls_within(n).into_iter().any(|c| python::callee_last_name(c, src) == Some("fail")) {
            return true;
        }
        seen += 1;
        if seen > 8 {
            break;
        }
        next = n.next_named_sibling();
    }
    false
}

/// Does the statement right after the loop, or the loop's `else`, call what the attempt calls?
fn last_shot_after(node: Node<'_>, attempt: Node<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let Some(try_body) = attempt.child_by_field_id(fields::body()) else { return false };
    let attempted: Vec<String> = python::calls_within(try_body)
        .into_iter()
        .filter(|c| python::logger_call(*c, src, &cx.loggers).is_none())
        .filter_map(|c| python::call_name(c, src))
        .collect();
    let mut next = node.next_named_sibling();
    while let Some(n) = next.filter(|n| n.kind() == "comment") {
        next = n.next_named_sibling();
    }
    let alt = node.child_by_field_id(fields::alternative());
    [next, alt].into_iter().flatten().any(|n| {
        python::calls_within(n).into_iter().filter_map(|c| python::call_name(c, src)).any(|c| attempted.contains(&c))
    })
}

/// Is `n` inside an `except` clause that is not one of the retrying `handlers` (a nested try's
/// handler re-raising is not a last-attempt re-raise)? Conservatively `false`.
fn inside_handler_of_other(n: Node<'_>, handlers: &[Node<'_>]) -> bool {
    let mut cur = n.parent();
    let mut depth = 0;
    while let Some(p) = cur {
        if handlers.iter().any(|h| h.id() == p.id()) {
            return false;
        }
        if matches!(p.kind(), "except_clause" | "except_group_clause") {
            return true;
        }
        if is_loop(p) || python::is_scope(p) || depth > python::MAX_DEPTH {
            return false;
        }
        depth += 1;
        cur = p.parent();
    }
    false
}

/// Does `block` hold a `return` with a value other than `None`?
fn returns_value(block: Option<Node<'_>>, src: &str) -> bool {
    let Some(nodes) = block.and_then(scan) else { return false };
    nodes.iter().any(|n| n.kind() == "return_statement" && n.named_child(0).is_some_and(|v| text(v, src) != "None"))
}

/// Does code after `stmt` (up to the end of `until`) return a value?
fn following_returns_value(stmt: Node<'_>, until: Node<'_>, src: &str) -> bool {
    let mut cur = stmt;
    for _ in 0..python::MAX_DEPTH {
        let mut sib = cur.next_named_sibling();
        while let Some(s) = sib {
            if returns_value(Some(s), src) {
                return true;
            }
            sib = s.next_named_sibling();
        }
        let Some(parent) = cur.parent() else { return false };
        if parent.id() == until.id() || python::is_scope(parent) {
            return false;
        }
        cur = parent;
    }
    false
}
