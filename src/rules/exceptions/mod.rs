//! Exception-handling rules (TG2xx) and what they share: what a handler catches, whether every path
//! through it re-raises (or answers with an error), whether it does anything observable, and a plain
//! description of what it does instead of re-raising. What the swallow costs — fail-open, swallowed,
//! best-effort — is decided in [`consequence`]; each handler is reported by exactly one rule.

pub mod consequence;
pub mod tg201_broad_except_swallowed;
pub mod tg202_broad_except_silent;
pub mod tg203_bare_except;
pub mod tg204_broad_except_fail_open;
pub mod tg205_broad_except_best_effort;

use crate::checker::Checker;
use crate::finding::Finding;
use crate::model::facts::Arg;
use crate::model::index::{CallRef, Condition};
use crate::python::flow::{self, Exits};
use crate::python::{self, fields, named_children, statements};
use crate::rules::Triggers;
use tree_sitter::Node;

/// TG201, TG203, TG204 and TG205 look at `except` clauses only.
pub const TRIGGERS: Triggers = Triggers { words: &["except"], ..Triggers::NONE };

/// TG202, TG204 and TG205 also look at `with contextlib.suppress(...)`, however `suppress` is imported.
pub const SILENT_TRIGGERS: Triggers =
    Triggers { words: &["except", "suppress"], import_modules: &["contextlib"], ..Triggers::NONE };

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
    /// The `try` statement's body.
    pub try_body: Option<Node<'t>>,
    /// The clause's ancestors, outermost first (the `try` statement last).
    pub ancestors: Vec<Node<'t>>,
    /// Calls every path through the handler makes (statements of its block, before any `return`,
    /// `break` or `continue`), with the caught exception's argument: if one of them reaches a helper
    /// that raises, or re-raises what it is given, the handler does not swallow (the project model
    /// decides: see [`report_handler`]).
    pub calls: Vec<CallRef>,
}

/// Reports a handler on its `except …:` header; when the handler calls helpers on every path, the
/// finding stands only if none of them raises (or re-raises the exception it is passed).
pub fn report_handler<'c>(
    cx: &'c mut Checker<'_>,
    rule: &'static str,
    clause: Node<'_>,
    h: &Handler<'_>,
    message: String,
) -> &'c mut Finding {
    if h.calls.is_empty() {
        cx.report_range(rule, clause.start_byte(), h.header_end, message)
    } else {
        cx.report_if(Condition::UnlessRaises(h.calls.clone()), rule, clause.start_byte(), h.header_end, message)
    }
}

/// The calls a handler makes on every path (see [`Handler::calls`]), with the argument that passes
/// the exception bound by `as name`.
fn every_path_calls(body: Node<'_>, name: Option<&str>, cx: &Checker<'_>) -> Vec<CallRef> {
    let src = cx.text();
    let mut out = Vec::new();
    for stmt in statements(body) {
        if matches!(stmt.kind(), "return_statement" | "break_statement" | "continue_statement" | "raise_statement") {
            break;
        }
        let Some(call) = stmt.named_child(0).filter(|c| stmt.kind() == "expression_statement" && c.kind() == "call")
        else {
            continue;
        };
        let Some(callee) = call.child_by_field_id(fields::function()).and_then(|f| python::dotted_name(f, src)) else {
            continue;
        };
        if python::logger_call(call, src, &cx.loggers).is_some() {
            continue;
        }
        let arg = name.and_then(|name| exception_argument(call, name, src));
        out.push(CallRef { callee, span: cx.node_span(call), arg });
    }
    out
}

/// Which argument of `call` is the bare name `name`.
fn exception_argument(call: Node<'_>, name: &str, src: &str) -> Option<Arg> {
    python::argument_slots(call, src)
        .into_iter()
        .find(|(_, value)| value.kind() == "identifier" && python::text(*value, src) == name)
        .and_then(|(slot, _)| slot.map(crate::rules::facts::arg))
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

/// Analyses an `except` clause: `None` when it catches narrowly, re-raises on every path, nests too
/// deeply to follow (quiet rather than guess), or re-raises in substance:
/// - a *filtered* catch: it re-raises on some path and decides which on the exception itself
///   (`if not isinstance(e, X): raise`, `if is_conflict(e): …; return` then `raise`), or re-raises
///   through `save_and_reraise_exception()` unless a condition turns `reraise` off;
/// - it answers a web request with an error response (`return webob.exc.HTTPBadRequest(...)`,
///   `return faults.Fault(...)`, `return Response(status=500)`): the caller sees the failure;
/// - it cleans up inside error handling that re-raises anyway (an enclosing
///   `with excutils.save_and_reraise_exception():`, an enclosing handler that always raises).
pub fn handler<'t>(clause: Node<'t>, cx: &Checker<'t>) -> Option<Handler<'t>> {
    let catch = caught(clause, cx.text());
    if catch == Catch::Narrow {
        return None;
    }
    let body = named_children(clause).into_iter().find(|c| c.kind() == "block")?;
    let exits = flow::exits(body, cx.text(), &cx.imports);
    if exits.contains(Exits::UNKNOWN) || exits.always_raises() {
        return None;
    }
    if exits.contains(Exits::RAISE) && is_filtered(clause, body, cx) {
        return None;
    }
    if answers_with_error(body, exits, cx) {
        return None;
    }
    let ancestors = cx.ancestors(clause);
    if inside_reraising_handling(&ancestors, cx) {
        return None;
    }
    let try_body = ancestors.last().and_then(|t| t.child_by_field_id(fields::body()));
    let header_end = python::colon_end(clause).unwrap_or(body.start_byte());
    let calls = every_path_calls(body, bound_name(clause, cx.text()), cx);
    Some(Handler { catch, body, exits, header_end, try_body, ancestors, calls })
}

/// The name an `except … as name` clause binds.
fn bound_name<'a>(clause: Node<'_>, src: &'a str) -> Option<&'a str> {
    let mut cursor = clause.walk();
    let value = clause.children_by_field_name("value", &mut cursor).find(|v| v.kind() == "as_pattern")?;
    let target = value.child_by_field_id(fields::alias())?;
    let id = if target.kind() == "identifier" { target } else { target.named_child(0)? };
    (id.kind() == "identifier").then(|| python::text(id, src))
}

/// Does a handler that re-raises on some path choose the path on the exception itself, or re-raise
/// through `save_and_reraise_exception()` unless a condition says otherwise?
fn is_filtered(clause: Node<'_>, body: Node<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let name = bound_name(clause, src);
    let nodes = python::descendants_in_scope(body);
    let on_exception = |cond: Node<'_>| {
        let mut hit = false;
        python::preorder(cond, |n| {
            if n.kind() == "identifier" && Some(python::text(n, src)) == name {
                hit = true;
                return python::Visit::Stop;
            }
            python::Visit::Descend
        });
        hit
    };
    nodes.iter().any(|n| match n.kind() {
        "if_statement" | "elif_clause" => n.child_by_field_id(fields::condition()).is_some_and(on_exception),
        // `ctxt.reraise = False` under a condition: re-raises everything else.
        "assignment" => {
            n.child_by_field_id(fields::left()).is_some_and(|l| python::text(l, src).ends_with(".reraise"))
                && n.child_by_field_id(fields::right()).is_some_and(|r| python::text(r, src) == "False")
                && nodes.iter().any(|c| {
                    matches!(c.kind(), "if_statement" | "elif_clause" | "else_clause")
                        && c.start_byte() < n.start_byte()
                        && n.end_byte() <= c.end_byte()
                })
        }
        _ => false,
    })
}

/// Success and redirect responses among webob's `HTTP…` classes; every other `HTTP…` is an error.
const HTTP_NOT_ERRORS: &[&str] = &[
    "HTTPOk",
    "HTTPCreated",
    "HTTPAccepted",
    "HTTPNonAuthoritativeInformation",
    "HTTPNoContent",
    "HTTPResetContent",
    "HTTPPartialContent",
    "HTTPRedirection",
    "HTTPMultipleChoices",
    "HTTPMovedPermanently",
    "HTTPFound",
    "HTTPSeeOther",
    "HTTPNotModified",
    "HTTPUseProxy",
    "HTTPTemporaryRedirect",
    "HTTPPermanentRedirect",
];

/// Does every way out of the handler return an error response to a web request (or raise)?
fn answers_with_error(body: Node<'_>, exits: Exits, cx: &Checker<'_>) -> bool {
    if !exits.contains(Exits::RETURN) || exits.without(Exits::RETURN.with(Exits::RAISE)) != Exits::NONE {
        return false;
    }
    let src = cx.text();
    python::descendants_in_scope(body)
        .into_iter()
        .filter(|n| n.kind() == "return_statement")
        .all(|r| r.named_child(0).is_some_and(|v| is_error_response(v, src)))
}

/// `webob.exc.HTTPBadRequest(...)`, `faults.Fault(...)`, `Response(..., status=500)`, `body, 500`.
fn is_error_response(value: Node<'_>, src: &str) -> bool {
    let value = python::unparenthesize(value);
    if matches!(value.kind(), "tuple" | "expression_list") {
        let last = named_children(value).into_iter().last();
        return last
            .is_some_and(|l| l.kind() == "integer" && python::text(l, src).parse::<u32>().is_ok_and(|c| c >= 400));
    }
    let Some(name) = python::callee_last_name(value, src) else { return false };
    // `self._make_problem_detail(msg, 500)`, `raise_exc(parent_exc=e)`: an error status or a raiser.
    let lower = name.to_ascii_lowercase();
    let status_argument = value.child_by_field_id(fields::arguments()).is_some_and(|args| {
        named_children(args).into_iter().any(|a| {
            let v = if a.kind() == "keyword_argument" { a.child_by_field_id(fields::value()) } else { Some(a) };
            v.is_some_and(|v| {
                v.kind() == "integer" && python::text(v, src).parse::<u32>().is_ok_and(|c| (400..600).contains(&c))
            })
        })
    });
    if status_argument || lower.contains("raise") || lower.contains("problem") {
        return true;
    }
    if name.starts_with("HTTP") && name[4..].starts_with(|c: char| c.is_ascii_uppercase()) {
        return !HTTP_NOT_ERRORS.contains(&name);
    }
    if name == "Fault" || name.ends_with("error_response") || name.ends_with("ErrorResponse") {
        return true;
    }
    if name.ends_with("Response") {
        let status = python::keyword_argument(value, "status", src)
            .or_else(|| python::keyword_argument(value, "status_code", src));
        return status.is_some_and(|s| {
            let t = python::text(s, src);
            t.parse::<u32>().is_ok_and(|c| c >= 400)
                || t.contains("ERROR")
                || t.starts_with("'4")
                || t.starts_with("'5")
        });
    }
    false
}

/// Is the clause nested (within its function) in error handling that re-raises whatever happens: an
/// enclosing `with excutils.save_and_reraise_exception():`, handler or `finally` that always raises?
fn inside_reraising_handling(ancestors: &[Node<'_>], cx: &Checker<'_>) -> bool {
    let src = cx.text();
    for a in ancestors.iter().rev() {
        let block = match a.kind() {
            "function_definition" | "class_definition" | "lambda" => return false,
            "with_statement" => Some(*a),
            "except_clause" | "finally_clause" => python::clause_block(*a),
            _ => None,
        };
        if block.is_some_and(|b| flow::exits(b, src, &cx.imports).always_raises()) {
            return true;
        }
    }
    false
}

/// Does the block do nothing observable: only `pass`, `...`, `continue` or strings? (A function
/// selective parsing blanked reads as `pass` in the tree: [`python::is_pass`] tells them apart.)
pub fn is_silent(body: Node<'_>, src: &str) -> bool {
    statements(body).all(|s| match s.kind() {
        "pass_statement" => python::is_pass(s, src),
        "continue_statement" => true,
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

/// A `with contextlib.suppress(Exception):` item (however `suppress` is imported, any broad name among
/// its arguments): the `suppress(...)` call and the statement's ancestors, the `with` statement last.
pub struct Suppress<'t> {
    pub call: Node<'t>,
    pub ancestors: Vec<Node<'t>>,
}

impl Suppress<'_> {
    /// Where the swallow happens, for [`consequence::rank`]: the `with` body goes on after any error.
    pub fn site(&self) -> consequence::Site<'_, '_> {
        let body = self.ancestors.last().and_then(|w| w.child_by_field_id(fields::body()));
        consequence::Site { try_body: body, handler: None, exits: Exits::FALL, ancestors: &self.ancestors }
    }
}

/// The broad `contextlib.suppress(...)` of a `with_item`, if it is one.
pub fn broad_suppress<'t>(item: Node<'t>, cx: &Checker<'t>) -> Option<Suppress<'t>> {
    let value = item.child_by_field_id(fields::value())?;
    let call = if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
    let name = python::call_name(call, cx.text())?;
    if cx.imports.resolve(&name) != "contextlib.suppress" {
        return None;
    }
    let args = call.child_by_field_id(fields::arguments())?;
    let broad =
        named_children(args).into_iter().any(|a| python::dotted_name(a, cx.text()).is_some_and(|n| is_broad_name(&n)));
    if !broad {
        return None;
    }
    let mut ancestors = cx.ancestors(item);
    while ancestors.last().is_some_and(|a| a.kind() != "with_statement") {
        ancestors.pop();
    }
    Some(Suppress { call, ancestors })
}

/// A broad `contextlib.suppress(...)` item ranked by consequence: the `suppress(...)` call and its rank.
pub fn ranked_suppress<'t>(item: Node<'t>, cx: &Checker<'t>) -> Option<(Node<'t>, consequence::Rank)> {
    let s = broad_suppress(item, cx)?;
    let rank = consequence::rank(&s.site(), cx);
    Some((s.call, rank))
}
