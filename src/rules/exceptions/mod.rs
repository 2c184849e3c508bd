//! Exception-handling rules (TG2xx) and what they share: what a handler catches, whether every path
//! through it re-raises, whether it does anything observable, and a plain description of what it does
//! instead of re-raising.

pub mod tg201_broad_except_swallowed;
pub mod tg202_broad_except_silent;
pub mod tg203_bare_except;

use crate::checker::Checker;
use crate::python::flow::{self, Exits};
use crate::python::{self, named_children, statements};
use crate::rules::Triggers;
use tree_sitter::Node;

/// TG201 and TG203 look at `except` clauses only.
pub const TRIGGERS: Triggers = Triggers { words: &["except"], ..Triggers::NONE };

/// Names whose catch is "broad".
const BROAD: &[&str] = &["Exception", "BaseException", "builtins.Exception", "builtins.BaseException"];

/// What an `except` clause catches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Catch {
    /// `except:`.
    Bare,
    /// `except Exception`, `except BaseException` or a tuple holding one; the broad name.
    Broad(String),
    /// Anything else.
    Narrow,
}

/// A handler that does not re-raise on every path.
pub struct Handler<'t> {
    pub catch: Catch,
    pub body: Node<'t>,
    pub exits: Exits,
    /// End of the `except …:` header (the colon), for the primary range.
    pub header_end: usize,
}

/// Is `name` (as written) a broad exception class?
pub fn is_broad_name(name: &str) -> bool {
    BROAD.contains(&name)
}

/// What the except clause `clause` catches. Of several broad names, the last one written.
pub fn caught(clause: Node<'_>, src: &str) -> Catch {
    let Some(exceptions) = python::caught_exceptions(clause) else { return Catch::Bare };
    let broad = exceptions.filter_map(|e| python::dotted_name(e, src)).filter(|n| is_broad_name(n)).last();
    broad.map_or(Catch::Narrow, Catch::Broad)
}

/// Analyses an `except` clause: `None` when it catches narrowly, re-raises on every path, or nests
/// too deeply to follow (quiet rather than guess).
pub fn handler<'t>(clause: Node<'t>, cx: &Checker<'_>) -> Option<Handler<'t>> {
    let catch = caught(clause, cx.text());
    if catch == Catch::Narrow {
        return None;
    }
    let body = named_children(clause).into_iter().find(|c| c.kind() == "block")?;
    let exits = flow::exits(body, cx.text(), &cx.imports);
    if exits.contains(Exits::UNKNOWN) || exits.always_raises() {
        return None;
    }
    let header_end = python::colon_end(clause).unwrap_or(body.start_byte());
    Some(Handler { catch, body, exits, header_end })
}

/// Does the block do nothing observable: only `pass`, `...`, `continue` or strings?
pub fn is_silent(body: Node<'_>) -> bool {
    statements(body).all(|s| match s.kind() {
        "pass_statement" | "continue_statement" => true,
        "expression_statement" => {
            python::is_string_statement(s)
                || (s.named_child_count() == 1 && s.named_child(0).is_some_and(|c| c.kind() == "ellipsis"))
        }
        _ => false,
    })
}

/// What the handler does instead of re-raising, as a clause for a message:
/// "logs it with `LOG.error` and continues after the `try`".
pub fn describe(h: &Handler<'_>, cx: &Checker<'_>) -> String {
    let src = cx.text();
    let log = python::calls_within(h.body).into_iter().find_map(|c| python::logger_call(c, src, &cx.loggers));
    let mut ways = Vec::new();
    if h.exits.contains(Exits::RETURN) {
        let value = python::descendants_in_scope(h.body)
            .into_iter()
            .find(|n| n.kind() == "return_statement")
            .and_then(|r| r.named_child(0))
            .map(|v| cx.node_text(v));
        ways.push(match value {
            None | Some("None") => "returns `None`".to_string(),
            Some(v) => format!("returns a default (`{}`)", python::shorten(v, 40)),
        });
    }
    if h.exits.contains(Exits::CONTINUE) {
        ways.push("continues the loop".to_string());
    }
    if h.exits.contains(Exits::BREAK) {
        ways.push("breaks out of the loop".to_string());
    }
    if h.exits.contains(Exits::FALL) {
        ways.push("continues after the `try`".to_string());
    }
    let what = ways.join(" or ");
    let mut out = match log {
        Some(l) => format!("logs it with `{l}` and {what}"),
        None => what,
    };
    if h.exits.contains(Exits::RAISE) {
        out.push_str(" (it re-raises on some paths only)");
    }
    out
}
