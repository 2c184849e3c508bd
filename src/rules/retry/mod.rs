//! Retry rules (TG1xx) and what they share: recognising a retry loop, deciding whether it is bounded
//! (and by what), whether it backs off between attempts, whether the error survives the last attempt,
//! and (in [`decorators`]) recognising retry-library decorators.
//!
//! A **retry loop** is a `while`/`for` whose body holds (not in a nested loop, function or class) a
//! `try` with a handler that lets the loop come round again, and whose success path always leaves the
//! loop (`break`, `return`, or setting the `while` condition's flag). Control flow comes from
//! [`crate::python::flow`]. Every scan is bounded by [`SCAN_BUDGET`] nodes; a loop too large or too deep
//! to follow is left alone.

pub mod decorators;
pub mod tg101_unbounded_retry;
pub mod tg102_retry_without_backoff;
pub mod tg103_retry_exhaustion_swallowed;
pub mod tg104_retry_bound_external;
pub mod tg105_retry_decorator_unbounded;
pub mod tg106_retry_decorator_without_wait;

use crate::engine::Checker;
use crate::python::fields;
use crate::python::flow::{self, Exits};
use crate::python::{self, Imports, Visit, named_children, text};
use crate::rules::Triggers;
use std::collections::HashSet;
use tree_sitter::Node;

/// TG101–TG104 judge loops with a `try` of their own ([`analyse`] gives up without one).
pub const LOOP_TRIGGERS: Triggers = Triggers { words: &["try"], ..Triggers::NONE };

/// Callee-name fragments that wait before the next attempt (`time.sleep`, `eventlet.sleep`,
/// `greenthread.sleep`, `asyncio.sleep`, `Event.wait`, `self._backoff()`, `self.delay(attempt)`…).
/// The one list of backoff callees; matched case-insensitively against the last segment of the callee.
pub const WAIT_CALLEES: &[&str] = &["sleep", "backoff", "wait", "delay"];

/// Last segments of calls that read a clock or a timer, making a test a deadline test.
const CLOCK_CALLS: &[&str] = &[
    "time",
    "monotonic",
    "perf_counter",
    "utcnow",
    "now",
    "expired",
    "leftover",
    "elapsed",
    "is_older_than",
    "is_newer_than",
    "delta_seconds",
];

/// Name fragments that mark a deadline variable (`deadline`, `end_time`, `timeout`…).
const DEADLINE_WORDS: &[&str] = &["deadline", "timeout", "expir", "end_time", "endtime", "stop_time"];

/// Most nodes one loop analysis looks at; larger loops are left alone (quiet rather than slow).
pub const SCAN_BUDGET: usize = 20_000;

/// How a retry loop is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    /// `for … in range(n)` / `itertools.repeat(x, n)`.
    Range,
    /// `for` over a finite collection whose items the attempt does not use.
    Iterable,
    /// The `while` condition tests a counter or a deadline.
    Condition,
    /// A `raise`/`break`/`return` on the failure path guarded by a counter or deadline test.
    Guard,
}

/// What ends a bounded retry loop.
#[derive(Debug, Clone, Copy)]
pub struct Bound<'t> {
    pub kind: BoundKind,
    /// Where the bound is written (the `range(…)` call, the condition, the guarding `if` test).
    pub at: Node<'t>,
    /// The limit compared with (the `range` stop argument, the side of the comparison that is not the
    /// counter), when there is one.
    pub limit: Option<Node<'t>>,
}

/// A recognised retry loop.
pub struct RetryLoop<'t> {
    pub node: Node<'t>,
    /// End of the loop header (`for …:` / `while …:`), the primary range.
    pub header_end: usize,
    /// The `except` clauses that let the loop come round.
    pub handlers: Vec<Node<'t>>,
    /// The exceptions those handlers catch, as written (`exc.StaleDataError`), or `any exception`.
    pub exceptions: Vec<String>,
    /// `None` when nothing bounds the attempts.
    pub bound: Option<Bound<'t>>,
    /// The waiting call on the loop's path (`time.sleep`), if any.
    pub backoff: Option<Node<'t>>,
    /// Every retried exception is a timeout, or the attempt passes `timeout=`: each failed attempt has
    /// already waited.
    pub waits_on_timeout: bool,
    /// Each attempt tries a fresh candidate (a random name, a free port): a search, where waiting
    /// would not help.
    pub candidate_search: bool,
    /// The failure path repairs the cause before trying again (logs in anew, reconnects).
    pub repairs: bool,
    /// The bound is a one-shot flag (`if retried_once: raise` … `retried_once = True`): one retry,
    /// typically after repairing the cause.
    pub one_shot: bool,
    /// Counters changed on the failure path that nothing ever compares (`retries += 1` for a log line).
    pub untested_counters: Vec<String>,
    /// Bounded loops only: after the last failed attempt the error vanishes (no re-raise in the
    /// handler, no `for … else: raise`, no raise or failure return right after the loop).
    pub swallowed: bool,
}

impl RetryLoop<'_> {
    /// The loop header as written, on one line (`for try_cnt in range(db_api.MAX_RETRIES):`).
    pub fn header(&self, src: &str) -> String {
        let raw = src.get(self.node.start_byte()..self.header_end).unwrap_or("");
        one_line(raw)
    }

    /// "`exc.StaleDataError`" / "`A`, `B` and `C`".
    pub fn exception_list(&self) -> String {
        let names: Vec<String> =
            self.exceptions.iter().map(|e| if e == "any exception" { e.clone() } else { format!("`{e}`") }).collect();
        match names.as_slice() {
            [] => "errors".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

/// Collapses whitespace runs so multi-line headers read as one line.
pub fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(" )", ")");
    python::shorten(&joined, 90)
}

/// In-scope named descendants of `node` (not entering nested functions, classes or lambdas), `node`
/// included, in pre-order; `None` past [`SCAN_BUDGET`].
fn scan(node: Node<'_>) -> Option<Vec<Node<'_>>> {
    let mut out = Vec::new();
    let over = python::preorder(node, |n| {
        if n != node && !n.is_named() {
            return Visit::Skip;
        }
        out.push(n);
        if out.len() > SCAN_BUDGET {
            Visit::Stop
        } else if n != node && python::is_scope(n) {
            Visit::Skip
        } else {
            Visit::Descend
        }
    });
    (!over).then_some(out)
}

fn is_loop(n: Node<'_>) -> bool {
    matches!(n.kind(), "for_statement" | "while_statement")
}

/// `try` statements that belong to the loop body `body` itself: not inside nested loops or scopes.
/// `None` past [`SCAN_BUDGET`].
fn own_tries(body: Node<'_>) -> Option<Vec<Node<'_>>> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    let over = python::preorder(body, |n| {
        let nested = !n.is_named() || python::is_scope(n) || is_loop(n) || n.kind() == "decorated_definition";
        if n != body && nested {
            return Visit::Skip;
        }
        seen += 1;
        if seen > SCAN_BUDGET {
            return Visit::Stop;
        }
        if n.kind() == "try_statement" {
            out.push(n);
        }
        Visit::Descend
    });
    (!over).then_some(out)
}

/// Exception names an `except` clause catches, as written (at most nine).
pub fn caught_names(clause: Node<'_>, src: &str) -> Vec<String> {
    let Some(exceptions) = python::caught_exceptions(clause) else { return vec!["any exception".to_string()] };
    exceptions.take(9).map(|e| one_line(text(e, src))).collect()
}

/// Dotted names (`x`, `self.attempts`) read anywhere in `node` (maximal attribute chains; call
/// callees included). Bounded by [`SCAN_BUDGET`].
fn names_in(node: Node<'_>, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for name in dotted_reads(node, src, true) {
        // `self.x.y` also reads `self.x`: keep every prefix so counters on `self` match.
        let mut prefix = String::new();
        for (i, seg) in name.split('.').enumerate() {
            if i > 0 {
                prefix.push('.');
            }
            prefix.push_str(seg);
            out.push(prefix.clone());
        }
    }
    out
}

/// The maximal dotted names in `node`, in source order, not entering nested scopes; a call's callee
/// counts only when `callees` is set. Bounded by [`SCAN_BUDGET`] nodes (a longer walk ends early).
fn dotted_reads(node: Node<'_>, src: &str, callees: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    // Without callees, the callee of the call just visited: the next node, and left out.
    let mut callee = None;
    python::preorder(node, |n| {
        if n != node && !n.is_named() {
            return Visit::Skip;
        }
        if callee.take() == Some(n) {
            return Visit::Skip;
        }
        seen += 1;
        if seen > SCAN_BUDGET {
            return Visit::Stop;
        }
        if matches!(n.kind(), "identifier" | "attribute") {
            out.extend(python::dotted_name(n, src));
            return Visit::Skip;
        }
        if !callees && n.kind() == "call" {
            callee = n.child_by_field_id(fields::function());
            return Visit::Descend;
        }
        if python::is_scope(n) { Visit::Skip } else { Visit::Descend }
    });
    out
}

/// Names written by an assignment target (`x`, `self.x`, each name of a tuple target).
fn target_names(target: Node<'_>, src: &str, out: &mut Vec<String>) {
    let mut stack = vec![target];
    while let Some(t) = stack.pop() {
        match t.kind() {
            "identifier" | "attribute" => out.extend(python::dotted_name(t, src)),
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" | "expression_list" => {
                stack.extend(named_children(t))
            }
            _ => {}
        }
        if out.len() > 64 {
            break;
        }
    }
}

/// Names assigned (`=`, `+=`…) by the nodes in `nodes`.
fn assigned_names(nodes: &[Node<'_>], src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        if matches!(n.kind(), "assignment" | "augmented_assignment")
            && let Some(left) = n.child_by_field_id(fields::left())
        {
            target_names(left, src, &mut out);
        }
    }
    out
}

/// Names the nodes update like a counter or a one-shot flag: `n += 1`, `n = n - 1`, `retry = False`,
/// `elapsed = time.time() - start`. A name assigned an arbitrary value (`dpid = get_dpid()`) is not a
/// counter: comparing it bounds nothing.
fn counter_names(nodes: &[Node<'_>], src: &str, imports: &Imports) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        let Some(left) = n.child_by_field_id(fields::left()) else { continue };
        match n.kind() {
            "augmented_assignment" => target_names(left, src, &mut out),
            "assignment" => {
                let Some(right) = n.child_by_field_id(fields::right()) else { continue };
                let mut names = Vec::new();
                target_names(left, src, &mut names);
                let literal = matches!(right.kind(), "true" | "false" | "none" | "integer" | "float");
                let reads = names_in(right, src);
                if literal || names.iter().any(|x| reads.contains(x)) || is_deadline_test(right, src, imports) {
                    out.extend(names);
                }
            }
            _ => {}
        }
    }
    out
}

/// Dotted names (with their prefixes) read by the identifier and attribute nodes among `nodes`.
fn reads<'a, 't: 'a>(nodes: impl Iterator<Item = &'a Node<'t>>, src: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for n in nodes {
        if matches!(n.kind(), "identifier" | "attribute")
            && let Some(name) = python::dotted_name(*n, src)
        {
            out.insert(name);
        }
    }
    out
}

/// Methods that change their receiver in place.
const MUTATORS: &[&str] = &["add", "append", "extend", "update", "discard", "remove", "insert", "pop"];

/// Names the failure path changes step by step: `n += 1`, `region = parent(region)`,
/// `excluded.add(x)`. Flags set to a literal are not included.
fn varying_names(nodes: &[Node<'_>], src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        match n.kind() {
            "augmented_assignment" => {
                if let Some(left) = n.child_by_field_id(fields::left()) {
                    target_names(left, src, &mut out);
                }
            }
            "assignment" => {
                let (Some(left), Some(right)) =
                    (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
                else {
                    continue;
                };
                let mut names = Vec::new();
                target_names(left, src, &mut names);
                let read = names_in(right, src);
                out.extend(names.into_iter().filter(|x| read.contains(x)));
            }
            "call" => {
                let Some(name) = python::call_name(*n, src) else { continue };
                if let Some((receiver, method)) = name.rsplit_once('.')
                    && MUTATORS.contains(&method)
                {
                    out.push(receiver.to_string());
                }
            }
            _ => {}
        }
    }
    out
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

/// Does `test` read a clock, a timer or a deadline variable?
fn is_deadline_test(test: Node<'_>, src: &str, imports: &Imports) -> bool {
    let Some(nodes) = scan(test) else { return false };
    nodes.iter().any(|n| match n.kind() {
        "call" => python::call_name(*n, src).is_some_and(|name| {
            let resolved = imports.resolve(&name);
            CLOCK_CALLS.contains(&python::last_segment(&resolved))
        }),
        "identifier" => {
            let lower = text(*n, src).to_ascii_lowercase();
            DEADLINE_WORDS.iter().any(|w| lower.contains(w))
        }
        _ => false,
    })
}

/// Does `test` read one of `counters`?
fn reads_counter(test: Node<'_>, src: &str, counters: &HashSet<String>) -> bool {
    names_in(test, src).iter().any(|n| counters.contains(n))
}

/// The side of a comparison in `test` that does not read a counter: the limit.
fn limit_of<'t>(test: Node<'t>, src: &str, counters: &HashSet<String>) -> Option<Node<'t>> {
    let nodes = scan(test)?;
    let cmp = nodes.into_iter().find(|n| n.kind() == "comparison_operator")?;
    let sides = named_children(cmp);
    if sides.len() != 2 {
        return None;
    }
    let reads = |n: Node<'_>| names_in(n, src).iter().any(|x| counters.contains(x));
    match (reads(sides[0]), reads(sides[1])) {
        (true, false) => Some(sides[1]),
        (false, true) => Some(sides[0]),
        _ => None,
    }
}

/// The test conditions of an `if` statement (its `if` and every `elif`).
fn if_conditions(stmt: Node<'_>) -> Vec<Node<'_>> {
    let mut out: Vec<Node<'_>> = stmt.child_by_field_id(fields::condition()).into_iter().collect();
    let mut cursor = stmt.walk();
    for alt in stmt.children_by_field_name("alternative", &mut cursor) {
        if alt.kind() == "elif_clause" {
            out.extend(alt.child_by_field_id(fields::condition()));
        }
    }
    out
}

/// How a `for` loop's iterable bounds it.
enum ForIter<'t> {
    /// `range(n)` (limit = stop argument) or `itertools.repeat(x, n)`.
    Range(Node<'t>, Option<Node<'t>>),
    /// `itertools.count()`, `itertools.cycle(…)`, `itertools.repeat(x)`: never ends.
    Endless,
    /// Any other iterable: finite, a retry loop only if the attempt ignores the item.
    Collection,
}

fn for_iter<'t>(iter: Node<'t>, src: &str, imports: &Imports) -> ForIter<'t> {
    let Some(name) = python::call_name(iter, src) else { return ForIter::Collection };
    let resolved = imports.resolve(&name);
    let args = python::positional_arguments(iter);
    match resolved.as_str() {
        "range" | "xrange" | "six.moves.range" | "six.moves.xrange" => {
            let stop = if args.len() >= 2 { args.get(1) } else { args.first() };
            ForIter::Range(iter, stop.copied())
        }
        "itertools.count" | "itertools.cycle" => ForIter::Endless,
        "itertools.repeat" => {
            let times = args.get(1).copied().or_else(|| python::keyword_argument(iter, "times", src));
            match times {
                Some(t) => ForIter::Range(iter, Some(t)),
                None => ForIter::Endless,
            }
        }
        _ => ForIter::Collection,
    }
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

/// Is `n` inside the byte range of `outer` (inclusive)?
fn within(n: Node<'_>, outer: (usize, usize)) -> bool {
    n.start_byte() >= outer.0 && n.end_byte() <= outer.1
}

/// Byte range of the success part of a `try`: its body from the first statement that does real work
/// (a leading `attempt += 1` runs on every attempt, so it belongs to the failure path), plus `else`.
fn success_ranges(try_stmt: Node<'_>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if let Some(body) = try_stmt.child_by_field_id(fields::body()) {
        let first_work = python::statements(body).find(|s| {
            !(s.kind() == "expression_statement"
                && s.named_child(0).is_some_and(|c| matches!(c.kind(), "augmented_assignment")))
        });
        if let Some(s) = first_work {
            out.push((s.start_byte(), body.end_byte()));
        }
    }
    for clause in named_children(try_stmt) {
        if clause.kind() == "else_clause" {
            out.push((clause.start_byte(), clause.end_byte()));
        }
    }
    out
}

/// What a `try` inside a candidate loop contributes.
struct TryShape<'t> {
    node: Node<'t>,
    handlers: Vec<Node<'t>>,
    success: Exits,
}

/// Analyses `try_stmt` inside loop body `body`: the handlers that come round and the success exits.
/// `None` when the flow is too deep to follow.
fn try_shape<'t>(try_stmt: Node<'t>, body: Node<'t>, src: &str, imports: &Imports) -> Option<TryShape<'t>> {
    // Cheap checks first: the continuation climbs parents, which tree-sitter finds from the root.
    let mut success = flow::exits(try_stmt.child_by_field_id(fields::body())?, src, imports);
    if success.contains(Exits::UNKNOWN) {
        return None;
    }
    let mut handler_exits = Vec::new();
    for clause in named_children(try_stmt) {
        if matches!(clause.kind(), "except_clause" | "except_group_clause") {
            let exits = flow::exits(python::clause_block(clause)?, src, imports);
            if exits.contains(Exits::UNKNOWN) {
                return None;
            }
            handler_exits.push((clause, exits));
        }
    }
    if handler_exits.iter().all(|(_, e)| !e.contains(Exits::CONTINUE) && !e.contains(Exits::FALL)) {
        return None;
    }
    let mut after_cache: Option<Exits> = None;
    let mut after = || *after_cache.get_or_insert_with(|| flow::continuation(try_stmt, body, src, imports));
    let mut handlers = Vec::new();
    for (clause, exits) in handler_exits {
        let comes_round = exits.contains(Exits::CONTINUE)
            || (exits.contains(Exits::FALL) && (after().contains(Exits::FALL) || after().contains(Exits::CONTINUE)));
        if comes_round {
            handlers.push(clause);
        }
    }
    if handlers.is_empty() {
        return None;
    }
    if success.contains(Exits::FALL)
        && let Some(else_clause) = named_children(try_stmt).into_iter().find(|c| c.kind() == "else_clause")
    {
        let else_exits =
            else_clause.child_by_field_id(fields::body()).map_or(Exits::FALL, |b| flow::exits(b, src, imports));
        success = success.without(Exits::FALL).with(else_exits);
    }
    if success.contains(Exits::FALL) {
        success = success.without(Exits::FALL).with(after());
    }
    if success.contains(Exits::UNKNOWN) {
        return None;
    }
    Some(TryShape { node: try_stmt, handlers, success })
}

/// How a `while` condition relates to the attempts.
enum Condition<'t> {
    /// `while True:` or a flag only the success path sets: never ends on failure.
    Endless,
    /// Tests a counter changed on the failure path, or a deadline.
    Bounded(Bound<'t>),
    /// Something else (a service's `while self._running`): not ours to judge.
    Unknown,
}

fn while_condition<'t>(
    cond: Node<'t>,
    src: &str,
    imports: &Imports,
    counters: &HashSet<String>,
    success_assigned: &HashSet<String>,
) -> Condition<'t> {
    let cond = python::unparenthesize(cond);
    let t = text(cond, src);
    if t == "True" || (cond.kind() == "integer" && !t.trim_start_matches('0').is_empty()) {
        return Condition::Endless;
    }
    if reads_counter(cond, src, counters) || is_deadline_test(cond, src, imports) {
        let limit = limit_of(cond, src, counters);
        return Condition::Bounded(Bound { kind: BoundKind::Condition, at: cond, limit });
    }
    let names = names_in(cond, src);
    if !names.is_empty() && names.iter().any(|n| success_assigned.contains(n)) {
        return Condition::Endless;
    }
    Condition::Unknown
}

/// The nodes of a loop body, split by path.
struct Regions<'a, 't> {
    all: &'a [Node<'t>],
    /// The attempt's success path: the `try` bodies (after any leading counter update) and `else`s.
    success: &'a [Node<'t>],
    /// Everything else: handlers, statements around the `try`, leading counter updates.
    failure: &'a [Node<'t>],
}

/// Is the loop a search or a walk rather than a retry? The attempt reads something each failure
/// changes (`for port in range(a, b): bind(port)`, `region = parent(region)`, `excluded.add(lss)`,
/// `ports[index]` with `index` chosen anew), or a per-item `for` uses its item around the `try`.
fn is_search(
    regions: &Regions<'_, '_>,
    shapes: &[TryShape<'_>],
    condition: Option<Node<'_>>,
    for_kind: &Option<ForIter<'_>>,
    targets: &[String],
    cx: &Checker<'_>,
) -> bool {
    let src = cx.text();
    let log_ranges: Vec<(usize, usize)> = regions
        .all
        .iter()
        .filter(|n| n.kind() == "call" && python::logger_call(**n, src, &cx.loggers).is_some())
        .map(|n| (n.start_byte(), n.end_byte()))
        .collect();
    let not_logged = |n: &Node<'_>| !log_ranges.iter().any(|r| within(*n, *r));
    let mut varying: HashSet<String> = varying_names(regions.failure, src).into_iter().collect();
    varying.extend(targets.iter().cloned());
    let attempt_reads = reads(regions.success.iter().filter(|n| not_logged(n)), src);
    if attempt_reads.iter().any(|n| varying.contains(n)) {
        return true;
    }
    // `while region_id is not None: … lookup(region_id) … region_id = parent`.
    let failure_assigned: Vec<String> = assigned_names(regions.failure, src);
    if condition
        .is_some_and(|c| names_in(c, src).iter().any(|n| failure_assigned.contains(n) && attempt_reads.contains(n)))
    {
        return true;
    }
    let mut pickers = failure_assigned;
    pickers.extend(targets.iter().cloned());
    if regions.success.iter().any(|n| is_index_by(*n, src, &pickers)) {
        return true;
    }
    if !matches!(for_kind, Some(ForIter::Collection)) {
        return false;
    }
    let handler_ranges: Vec<(usize, usize)> =
        shapes.iter().flat_map(|s| s.handlers.iter()).map(|h| (h.start_byte(), h.end_byte())).collect();
    let outside = regions.all.iter().filter(|n| not_logged(n) && !handler_ranges.iter().any(|r| within(**n, *r)));
    reads(outside, src).iter().any(|n| targets.contains(n))
}

/// Loops of the current file already found not to be retry loops (by start byte): four rules ask
/// about every loop, and most loops are not retries, so the other three get the answer for free.
#[derive(Default)]
struct NotRetryLoops(HashSet<usize>);

/// [`analyse`], remembering per file which loops are not retry loops.
pub fn retry_loop<'t>(node: Node<'t>, cx: &mut Checker<'_>) -> Option<RetryLoop<'t>> {
    let mut known = cx.take_scratch::<NotRetryLoops>();
    let found = if known.0.contains(&node.start_byte()) { None } else { analyse(node, cx) };
    if found.is_none() {
        known.0.insert(node.start_byte());
    }
    cx.put_scratch(known);
    found
}

/// Recognises and analyses a retry loop. `None` when `node` is not a retry loop (or is too large or
/// deep to judge).
pub fn analyse<'t>(node: Node<'t>, cx: &Checker<'_>) -> Option<RetryLoop<'t>> {
    if node.has_error() {
        return None; // a half-parsed loop is no basis for a judgement
    }
    let src = cx.text();
    let imports = &cx.imports;
    let body = node.child_by_field_id(fields::body())?;
    let header_end = python::colon_end(node).unwrap_or(body.start_byte());
    let is_for = node.kind() == "for_statement";

    // The `for` iterable decides whether a per-item loop can be a retry loop at all.
    let (for_kind, target_names_read) = if is_for {
        let iter = node.child_by_field_id(fields::right())?;
        let mut targets = Vec::new();
        target_names(node.child_by_field_id(fields::left())?, src, &mut targets);
        (Some(for_iter(iter, src, imports)), targets)
    } else {
        (None, Vec::new())
    };

    let mut shapes = Vec::new();
    for t in own_tries(body)? {
        if let Some(kind) = &for_kind {
            let try_body = t.child_by_field_id(fields::body())?;
            let read = names_in(try_body, src);
            let uses_target = target_names_read.iter().any(|n| read.contains(n));
            match kind {
                ForIter::Collection if uses_target => continue,
                // `for i in range(len(items)): … items[i]` walks a collection.
                ForIter::Range(..) if indexes_with(try_body, src, &target_names_read) => continue,
                _ => {}
            }
        }
        if let Some(shape) = try_shape(t, body, src, imports) {
            shapes.push(shape);
        }
    }
    if shapes.is_empty() {
        return None;
    }

    let all = scan(body)?;
    let success: Vec<(usize, usize)> = shapes.iter().flat_map(|s| success_ranges(s.node)).collect();
    let in_success = |n: Node<'_>| success.iter().any(|r| within(n, *r));
    let failure_nodes: Vec<Node<'_>> = all.iter().copied().filter(|n| !in_success(*n)).collect();
    let success_nodes: Vec<Node<'_>> = all.iter().copied().filter(|n| in_success(*n)).collect();

    let mut counters: HashSet<String> = counter_names(&failure_nodes, src, imports).into_iter().collect();
    counters.extend(target_names_read.iter().cloned());
    let success_assigned: HashSet<String> =
        assigned_names(&success_nodes, src).into_iter().filter(|n| !counters.contains(n)).collect();

    // Keep the tries whose success path leaves the loop.
    let condition = if is_for { None } else { node.child_by_field_id(fields::condition()) };
    let flag_set = condition.is_some_and(|c| names_in(c, src).iter().any(|n| success_assigned.contains(n)));
    shapes.retain(|s| {
        let leaves = s.success.contains(Exits::BREAK) || s.success.contains(Exits::RETURN);
        (leaves && !s.success.contains(Exits::FALL)) || flag_set
    });
    let primary = shapes.first()?;

    let regions = Regions { all: &all, success: &success_nodes, failure: &failure_nodes };
    if is_search(&regions, &shapes, condition, &for_kind, &target_names_read, cx) {
        return None;
    }

    // Bound: structural first, then guards on the failure path.
    let mut bound = None;
    let mut endless = false;
    match (&for_kind, condition) {
        (Some(ForIter::Range(at, limit)), _) => bound = Some(Bound { kind: BoundKind::Range, at: *at, limit: *limit }),
        (Some(ForIter::Collection), _) => {
            let at = node.child_by_field_id(fields::right())?;
            bound = Some(Bound { kind: BoundKind::Iterable, at, limit: Some(at) });
        }
        (Some(ForIter::Endless), _) => endless = true,
        (None, Some(c)) => match while_condition(c, src, imports, &counters, &success_assigned) {
            Condition::Endless => endless = true,
            Condition::Bounded(b) => bound = Some(b),
            Condition::Unknown => {}
        },
        (None, None) => return None,
    }
    if bound.is_none() {
        bound = guard(&failure_nodes, &shapes, body, cx, &counters);
    }
    if bound.is_none() && !endless {
        return None;
    }

    let handlers: Vec<Node<'t>> = shapes.iter().flat_map(|s| s.handlers.iter().copied()).collect();
    let mut exceptions: Vec<String> = Vec::new();
    for h in &handlers {
        for name in caught_names(*h, src) {
            if !exceptions.contains(&name) {
                exceptions.push(name);
            }
        }
    }

    let mut loop_nodes = all.clone();
    loop_nodes.extend(condition.and_then(scan).unwrap_or_default());
    let backoff = loop_nodes.iter().copied().find(|n| is_wait_call(*n, src, &cx.settings.retry.wait_functions));

    let tested: Vec<String> = {
        let mut tests: Vec<Node<'_>> = condition.into_iter().collect();
        for n in &all {
            if n.kind() == "if_statement" {
                tests.extend(if_conditions(*n));
            }
        }
        tests.iter().flat_map(|t| names_in(*t, src)).collect()
    };
    let mut untested_counters: Vec<String> = Vec::new();
    for n in &failure_nodes {
        if n.kind() == "augmented_assignment"
            && let Some(name) = n.child_by_field_id(fields::left()).and_then(|l| python::dotted_name(l, src))
            && !tested.contains(&name)
            && !untested_counters.contains(&name)
        {
            untested_counters.push(name);
        }
    }

    // Each failed attempt has already waited: only timeouts are retried, or the attempt passes a
    // `timeout=` (`queue.get(timeout=1)`, `rpc.ping(ctx, timeout=10)`).
    let waits_on_timeout = (!exceptions.is_empty()
        && exceptions.iter().all(|e| e.to_ascii_lowercase().contains("timeout")))
        || success_nodes.iter().any(|n| {
            n.kind() == "call"
                && python::keyword_argument(*n, "timeout", src).is_some_and(|v| !matches!(text(v, src), "None" | "0"))
        });
    let in_handler = |n: Node<'_>| handlers.iter().any(|h| within(n, (h.start_byte(), h.end_byte())));
    let candidate_search = all.iter().any(|n| {
        n.kind() == "call" && if in_handler(*n) { moves_on(*n, src) } else { picks_candidate(*n, src, imports) }
    });
    let repairs = failure_nodes.iter().any(|n| n.kind() == "call" && repairs_cause(*n, src));
    let flag_bound = bound.filter(|b| matches!(b.kind, BoundKind::Guard | BoundKind::Condition)).is_some_and(|b| {
        let read: Vec<String> = names_in(b.at, src).into_iter().filter(|n| counters.contains(n)).collect();
        !read.is_empty() && read.iter().all(|n| bool_flags(&failure_nodes, src).contains(n))
    });
    let one_shot =
        flag_bound || bound.is_some_and(|b| b.kind == BoundKind::Range && range_len(b.at, src).is_some_and(|n| n <= 2));
    let swallowed = bound.is_some() && swallows(node, primary, &handlers, &failure_nodes, cx);
    Some(RetryLoop {
        node,
        header_end,
        handlers,
        exceptions,
        bound,
        backoff,
        waits_on_timeout,
        candidate_search,
        repairs,
        one_shot,
        untested_counters,
        swallowed,
    })
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

/// Does `try_body` subscript something with one of `targets` (`items[i]`)?
fn indexes_with(try_body: Node<'_>, src: &str, targets: &[String]) -> bool {
    let Some(nodes) = scan(try_body) else { return true };
    nodes.iter().any(|n| is_index_by(*n, src, targets))
}

/// Is `n` a subscript by one of `names` (`items[i]`)?
fn is_index_by(n: Node<'_>, src: &str, names: &[String]) -> bool {
    n.kind() == "subscript"
        && n.child_by_field_id(fields::subscript())
            .is_some_and(|s| s.kind() == "identifier" && names.iter().any(|t| t == text(s, src)))
}

/// A `raise`/`break`/`return` on the failure path guarded by a counter or deadline test.
fn guard<'t>(
    failure_nodes: &[Node<'t>],
    shapes: &[TryShape<'t>],
    body: Node<'t>,
    cx: &Checker<'_>,
    counters: &HashSet<String>,
) -> Option<Bound<'t>> {
    let src = cx.text();
    let leaves = |e: Exits| e.contains(Exits::RAISE) || e.contains(Exits::RETURN) || e.contains(Exits::BREAK);
    for n in failure_nodes.iter().copied().filter(|n| n.kind() == "if_statement") {
        let Some(test) = if_conditions(n)
            .into_iter()
            .find(|c| reads_counter(*c, src, counters) || is_deadline_test(*c, src, &cx.imports))
        else {
            continue;
        };
        // The guard leaves the loop itself or, inside a retrying handler, lets control fall on to a
        // statement that does (the `if attempt < n: continue` / `raise` shape). Outside the handlers
        // only its own exits count: what follows it is the next attempt and its success exit.
        let own = flow::exits(n, src, &cx.imports);
        let mut rest = Exits::NONE;
        if own.contains(Exits::FALL)
            && let Some((try_stmt, block)) = enclosing_handler(n, shapes)
        {
            rest = flow::continuation(n, block, src, &cx.imports);
            if rest.contains(Exits::FALL) {
                rest = rest.without(Exits::FALL).with(flow::continuation(try_stmt, body, src, &cx.imports));
            }
        }
        if leaves(own) || leaves(rest) {
            return Some(Bound { kind: BoundKind::Guard, at: test, limit: limit_of(test, src, counters) });
        }
    }
    None
}

/// The retrying `try` and handler block that contain `n`, if any.
fn enclosing_handler<'t>(n: Node<'t>, shapes: &[TryShape<'t>]) -> Option<(Node<'t>, Node<'t>)> {
    shapes.iter().find_map(|s| {
        s.handlers
            .iter()
            .filter_map(|h| python::clause_block(*h))
            .find(|b| within(n, (b.start_byte(), b.end_byte())))
            .map(|b| (s.node, b))
    })
}

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

/// After the last failed attempt of a bounded loop, does the error vanish?
fn swallows(
    node: Node<'_>,
    primary: &TryShape<'_>,
    handlers: &[Node<'_>],
    failure_nodes: &[Node<'_>],
    cx: &Checker<'_>,
) -> bool {
    let src = cx.text();
    let imports = &cx.imports;
    let success_returns_value = returns_value(primary.node.child_by_field_id(fields::body()), src);
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
    if last_shot_after(node, primary, cx) {
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
    true
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
fn last_shot_after(node: Node<'_>, primary: &TryShape<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let Some(try_body) = primary.node.child_by_field_id(fields::body()) else { return false };
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

/// A retry bound defined outside the loop's module.
pub struct External {
    /// The limit as a reader sees it: "`db_api.MAX_RETRIES`", or "`retries` (= `CONF.x.retry_count`)".
    pub shown: String,
    /// The name to clamp (`db_api.MAX_RETRIES`, `retries`).
    pub name: String,
    /// "configuration" or "`neutron_lib.db.api`".
    pub origin: String,
}

/// Where a bound's limit comes from, when it is outside this module. A local variable assigned once
/// in the function before the loop (`retries = max(CONF.x.retry_count, 1)`) is followed one step.
pub fn external_limit(limit: Node<'_>, cx: &Checker<'_>) -> Option<External> {
    let src = cx.text();
    let names = limit_names(limit, src);
    if let Some((name, origin)) = names.iter().find_map(|n| external_name(n, cx)) {
        return Some(External { shown: format!("`{name}`"), name, origin });
    }
    let body = cx.enclosing_function(limit)?.child_by_field_id(fields::body())?;
    let nodes = scan(body)?;
    for local in names.iter().filter(|n| !n.contains('.')) {
        let assigned: Vec<Node<'_>> = nodes
            .iter()
            .filter(|n| n.kind() == "assignment" && n.end_byte() <= limit.start_byte())
            .filter(|n| {
                n.child_by_field_id(fields::left()).is_some_and(|l| l.kind() == "identifier" && text(l, src) == local)
            })
            .filter_map(|n| n.child_by_field_id(fields::right()))
            .collect();
        if let [value] = assigned.as_slice()
            && let Some((name, origin)) = limit_names(*value, src).iter().find_map(|n| external_name(n, cx))
        {
            return Some(External { shown: format!("`{local}` (= `{name}`)"), name: local.clone(), origin });
        }
    }
    None
}

/// The maximal dotted names read in `expr` (`self.conf.x`, not `self`), bounded by [`SCAN_BUDGET`].
fn limit_names(expr: Node<'_>, src: &str) -> Vec<String> {
    // A call's callee is not a value the bound is compared with (`len(x)` reads `x`).
    dotted_reads(expr, src, false)
}

/// Is the dotted `name` configuration or another module's attribute? `(name, origin)` when it is.
fn external_name(name: &str, cx: &Checker<'_>) -> Option<(String, String)> {
    let segments: Vec<&str> = name.split('.').collect();
    let config = segments[..segments.len() - 1].iter().any(|s| {
        let l = s.to_ascii_lowercase();
        l == "conf" || l == "cfg" || l == "configuration" || l.ends_with("_conf")
    });
    if config {
        return Some((name.to_string(), "configuration".to_string()));
    }
    let module = cx.imports.binds(segments[0])?;
    let origin = if segments.len() > 1 { module } else { module.rsplit_once('.').map_or(module, |(m, _)| m) };
    Some((name.to_string(), format!("`{origin}`")))
}

/// Reports `message` for rule `rule` on the loop header, with the retrying handlers, the bound and
/// the backoff as related locations and properties.
pub fn report_loop(rule: &'static str, r: &RetryLoop<'_>, cx: &mut Checker<'_>, message: String) {
    let src = cx.text();
    let mut related: Vec<crate::finding::Related> =
        r.handlers.iter().map(|h| cx.related(*h, "this handler lets the loop try again")).collect();
    if let Some(b) = &r.bound {
        related.push(cx.related(b.at, "the bound on the attempts"));
    }
    if let Some(w) = r.backoff {
        related.push(cx.related(w, "the wait between attempts"));
    }
    let mut properties = std::collections::BTreeMap::new();
    properties.insert("retried".to_string(), r.exceptions.join(", "));
    properties.insert("backoff".to_string(), r.backoff.map_or("none".to_string(), |w| one_line(text(w, src))));
    properties.insert(
        "bound".to_string(),
        r.bound.map_or("none".to_string(), |b| one_line(text(b.limit.unwrap_or(b.at), src))),
    );
    let finding = cx.report_range(rule, r.node.start_byte(), r.header_end, message);
    finding.related = related;
    finding.properties = properties;
}

/// The callee of the backoff call, for messages (`time.sleep`).
pub fn backoff_name(r: &RetryLoop<'_>, src: &str) -> Option<String> {
    r.backoff.map(|c| python::call_name(c, src).unwrap_or_else(|| one_line(text(c, src))))
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, new_parser};
    use crate::source::SourceFile;

    fn findings(src: String) -> Vec<&'static str> {
        let rules: Vec<&'static dyn crate::rules::Rule> =
            crate::rules::REGISTRY.iter().copied().filter(|r| r.id().starts_with("TG1")).collect();
        let engine = Engine::new(&rules, crate::config::Settings::default());
        let file = SourceFile::from_text("deep.py".into(), "deep.py".into(), src);
        let analysis = engine.analyse(&mut new_parser(), &file).expect("parses");
        analysis.findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn deep_expressions_do_not_overflow() {
        let deep = format!("{}x{}", "(".repeat(50_000), ")".repeat(50_000));
        let src = format!(
            "while {deep} < 3:\n    try:\n        y = {deep}\n        break\n    except E:\n        n += {deep}\n"
        );
        let _ = findings(src);
        let src = format!("@tenacity.retry(wait={deep})\ndef f():\n    pass\n");
        let _ = findings(src);
    }

    #[test]
    fn deep_loop_nesting_is_followed_safely() {
        let mut src = String::new();
        // tree-sitter-python parses about 250 indentation levels cleanly; half-parsed loops are skipped.
        let levels = 200;
        for i in 0..levels {
            src.push_str(&format!("{}while True:\n{}try:\n", " ".repeat(2 * i), " ".repeat(2 * i + 1)));
        }
        src.push_str(&format!("{}f()\n{}break\n", " ".repeat(2 * levels), " ".repeat(2 * levels)));
        for i in (0..levels).rev() {
            src.push_str(&format!("{}except E:\n{}continue\n", " ".repeat(2 * i + 1), " ".repeat(2 * i + 2)));
        }
        // Only the innermost loop is a retry loop: each outer one's attempt is an inner endless loop.
        assert_eq!(findings(src), vec!["TG101"]);
    }
}
