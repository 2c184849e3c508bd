//! Backoff (TG101, TG102): the call that waits between attempts, and why a loop that retries at once
//! may need no wait (each attempt already waits out a timeout, tries a fresh candidate, retries once,
//! or repairs the cause first).

use super::bounds::BoundKind;
use super::loop_shape::LoopShape;
use super::{RetryLoop, names_in, one_line, scan, target_names, within};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, Imports, text};
use tree_sitter::Node;

/// Callee-name fragments that wait before the next attempt (`time.sleep`, `eventlet.sleep`,
/// `greenthread.sleep`, `asyncio.sleep`, `Event.wait`, `self._backoff()`, `self.delay(attempt)`…).
/// The one list of backoff callees; matched case-insensitively against the last segment of the callee.
pub const WAIT_CALLEES: &[&str] = &["sleep", "backoff", "wait", "delay"];

/// Is `n` a call that waits (see [`WAIT_CALLEES`], plus the configured `retry.wait-functions`,
/// matched against the callee's last name or its dotted name)? `sleep(0)` only yields, so it does
/// not count.
pub fn is_wait_call(n: Node<'_>, src: &str, extra: &[String]) -> bool {
    if n.kind() != "call" {
        return false;
    }
    let Some(last) = python::callee_last_name(n, src) else { return false };
    let lower = last.to_ascii_lowercase();
    let configured = extra.iter().any(|w| w == last || python::call_name(n, src).is_some_and(|full| &full == w));
    if !configured && !WAIT_CALLEES.iter().any(|w| lower.contains(w)) {
        return false;
    }
    let args = python::positional_arguments(n);
    !(args.len() == 1 && matches!(text(args[0], src), "0" | "0.0"))
}

/// The first waiting call in the loop body or its condition (see [`is_wait_call`]).
pub(super) fn wait_call<'t>(shape: &LoopShape<'t>, cx: &Checker<'_>) -> Option<Node<'t>> {
    let src = cx.text();
    let in_condition = shape.condition.and_then(scan).unwrap_or_default();
    shape
        .regions
        .all
        .iter()
        .chain(&in_condition)
        .copied()
        .find(|n| is_wait_call(*n, src, &cx.knobs.retry.wait_functions))
}

/// Calls to project helpers a failed attempt makes before the next one (in the handlers and around
/// the `try`; not log calls): if one of them waits, that is the backoff (the project model decides).
pub fn helper_calls(r: &RetryLoop<'_>, cx: &Checker<'_>) -> Vec<crate::model::index::CallRef> {
    let src = cx.text();
    r.shape
        .regions
        .failure
        .iter()
        .filter(|n| n.kind() == "call" && python::logger_call(**n, src, &cx.loggers).is_none())
        .filter_map(|n| {
            let callee = python::dotted_name(n.child_by_field_id(fields::function())?, src)?;
            Some(crate::model::index::CallRef { callee, span: cx.node_span(*n), arg: None })
        })
        .collect()
}

/// The callee of the backoff call, for messages (`time.sleep`).
pub fn backoff_name(r: &RetryLoop<'_>, src: &str) -> Option<String> {
    r.backoff.map(|c| python::call_name(c, src).unwrap_or_else(|| one_line(text(c, src))))
}

/// TG101, TG102: has each failed attempt already waited? Only timeouts are retried, or the attempt
/// passes a `timeout=` (`queue.get(timeout=1)`, `rpc.ping(ctx, timeout=10)`).
pub fn waits_on_timeout(r: &RetryLoop<'_>, src: &str) -> bool {
    let timeouts_only =
        !r.exceptions.is_empty() && r.exceptions.iter().all(|e| e.to_ascii_lowercase().contains("timeout"));
    timeouts_only
        || r.shape.regions.success.iter().any(|n| {
            n.kind() == "call"
                && python::keyword_argument(*n, "timeout", src).is_some_and(|v| !matches!(text(v, src), "None" | "0"))
        })
}

/// TG102: does a bounded loop that retries at once need no backoff? Each attempt already waited
/// ([`waits_on_timeout`]), tries a fresh candidate, retries only once, or repairs the cause first.
pub fn needs_no_backoff(r: &RetryLoop<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    waits_on_timeout(r, src) || candidate_search(r, cx) || one_shot(r, src) || repairs(r, src)
}

/// Each attempt tries a fresh candidate (a random name, a free port) or the handler moves on to
/// another host: a search, where waiting would not help.
fn candidate_search(r: &RetryLoop<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let in_handler = |n: Node<'_>| r.shape.handlers.iter().any(|h| within(n, (h.start_byte(), h.end_byte())));
    r.shape.regions.all.iter().any(|n| {
        n.kind() == "call" && if in_handler(*n) { moves_on(*n, src) } else { picks_candidate(*n, src, &cx.imports) }
    })
}

/// The failure path repairs the cause before trying again (logs in anew, reconnects).
fn repairs(r: &RetryLoop<'_>, src: &str) -> bool {
    r.shape.regions.failure.iter().any(|n| n.kind() == "call" && repairs_cause(*n, src))
}

/// The bound allows one retry: a one-shot flag (`if retried_once: raise` … `retried_once = True`),
/// typically after repairing the cause, or a `range` of at most two.
fn one_shot(r: &RetryLoop<'_>, src: &str) -> bool {
    let Some(b) = r.bound else { return false };
    match b.kind {
        BoundKind::Range => range_len(b.at, src).is_some_and(|n| n <= 2),
        BoundKind::Guard | BoundKind::Condition => {
            let read: Vec<String> = names_in(b.at, src).into_iter().filter(|n| r.shape.counters.contains(n)).collect();
            let flags = bool_flags(&r.shape.regions.failure, src);
            !read.is_empty() && read.iter().all(|n| flags.contains(n))
        }
        BoundKind::Iterable => false,
    }
}

/// Name fragments of calls that pick a fresh candidate for the next attempt.
const CANDIDATE_CALLS: &[&str] = &["rand", "uuid", "free", "choice", "unused"];

/// Callee-name fragments of a handler moving on to another host or candidate.
const MOVE_ON_CALLS: &[&str] = &["next", "failover", "switch"];

/// Callee-name fragments of a handler repairing the cause before the next attempt (a new session).
const REPAIR_CALLS: &[&str] = &["login", "session", "auth", "reconnect"];

fn callee_matches(call: Node<'_>, src: &str, words: &[&str]) -> bool {
    let Some(last) = python::callee_last_name(call, src) else { return false };
    let lower = last.to_ascii_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// Does the handler call move on to another host or candidate (`self._next_host()`)?
fn moves_on(call: Node<'_>, src: &str) -> bool {
    callee_matches(call, src, MOVE_ON_CALLS)
}

/// Does the call repair the cause of the failure (`self.login()`, `self.new_session()`)?
fn repairs_cause(call: Node<'_>, src: &str) -> bool {
    callee_matches(call, src, REPAIR_CALLS)
}

/// Is `call` one that picks a fresh candidate (`random.randint`, `get_rand_name`, `_get_free_port`)?
fn picks_candidate(call: Node<'_>, src: &str, imports: &Imports) -> bool {
    let Some(name) = python::call_name(call, src) else { return false };
    let resolved = imports.resolve(&name);
    let last = python::last_segment(&resolved).to_ascii_lowercase();
    resolved.starts_with("random.") || CANDIDATE_CALLS.iter().any(|w| last.contains(w))
}

/// Names the nodes assign `True` or `False`.
fn bool_flags(nodes: &[Node<'_>], src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        if n.kind() == "assignment"
            && n.child_by_field_id(fields::right()).is_some_and(|r| matches!(r.kind(), "true" | "false"))
            && let Some(left) = n.child_by_field_id(fields::left())
        {
            target_names(left, src, &mut out);
        }
    }
    out
}

/// The number of items of a literal `range(n)` / `range(a, b)`, if it can be read.
fn range_len(call: Node<'_>, src: &str) -> Option<i64> {
    let args = python::positional_arguments(call);
    let int = |n: Node<'_>| text(n, src).parse::<i64>().ok();
    match args.as_slice() {
        [stop] => int(*stop),
        [start, stop] => Some(int(*stop)? - int(*start)?),
        _ => None,
    }
}
