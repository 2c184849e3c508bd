//! Counters and bounds (TG101, TG104): which names count attempts, what bounds a retry loop (a
//! `range`, the `while` condition, a guard on the failure path) and the limit it compares with, a
//! counter nothing compares, and whether the limit comes from configuration or another module.

use super::loop_shape::{ForIter, LoopShape, TryShape};
use super::{RetryLoop, dotted_reads, names_in, scan, target_names, within};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::flow::{self, Exits};
use crate::python::{self, Imports, named_children, text};
use std::collections::HashSet;
use tree_sitter::Node;

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

/// What ends a retry loop's attempts.
pub enum Attempts<'t> {
    /// Counted, timed or finite: see [`BoundKind`].
    Bounded(Bound<'t>),
    /// Nothing: `while True`, `itertools.count()`, a flag only success sets.
    Endless,
}

/// The bound on a retry loop's attempts: structural first (`range`, an iterable, the `while`
/// condition), then guards on the failure path. `None` when the loop is neither bounded nor endless
/// (a service's `while self._running`: not ours to judge).
pub fn attempts<'t>(shape: &LoopShape<'t>, cx: &Checker<'_>) -> Option<Attempts<'t>> {
    let src = cx.text();
    let mut endless = false;
    let mut bound = match (&shape.for_kind, shape.condition) {
        (Some(ForIter::Range(at, limit)), _) => Some(Bound { kind: BoundKind::Range, at: *at, limit: *limit }),
        (Some(ForIter::Collection), _) => {
            let at = shape.node.child_by_field_id(fields::right())?;
            Some(Bound { kind: BoundKind::Iterable, at, limit: Some(at) })
        }
        (Some(ForIter::Endless), _) => {
            endless = true;
            None
        }
        (None, Some(c)) => match while_condition(c, src, &cx.imports, &shape.counters, &shape.success_assigned) {
            Condition::Endless => {
                endless = true;
                None
            }
            Condition::Bounded(b) => Some(b),
            Condition::Unknown => None,
        },
        (None, None) => return None,
    };
    if bound.is_none() {
        bound = guard(&shape.regions.failure, &shape.tries, shape.body, cx, &shape.counters);
    }
    match bound {
        Some(b) => Some(Attempts::Bounded(b)),
        None if endless => Some(Attempts::Endless),
        None => None,
    }
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

/// Names the nodes update like a counter or a one-shot flag: `n += 1`, `n = n - 1`, `retry = False`,
/// `elapsed = time.time() - start`. A name assigned an arbitrary value (`dpid = get_dpid()`) is not a
/// counter: comparing it bounds nothing.
pub(super) fn counter_names(nodes: &[Node<'_>], src: &str, imports: &Imports) -> Vec<String> {
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

/// TG101: the first counter the failure path changes (`retries += 1`) that no test in the loop reads:
/// counted for a log line, it bounds nothing.
pub fn untested_counter(r: &RetryLoop<'_>, src: &str) -> Option<String> {
    let shape = &r.shape;
    let mut tests: Vec<Node<'_>> = shape.condition.into_iter().collect();
    for n in &shape.regions.all {
        if n.kind() == "if_statement" {
            tests.extend(if_conditions(*n));
        }
    }
    let tested: Vec<String> = tests.iter().flat_map(|t| names_in(*t, src)).collect();
    shape
        .regions
        .failure
        .iter()
        .filter(|n| n.kind() == "augmented_assignment")
        .filter_map(|n| n.child_by_field_id(fields::left()).and_then(|l| python::dotted_name(l, src)))
        .find(|name| !tested.contains(name))
}

/// TG104: a retry bound defined outside the loop's module.
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
    if let Some((name, origin)) = external_in(limit, cx) {
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
            && let Some((name, origin)) = external_in(*value, cx)
        {
            return Some(External { shown: format!("`{local}` (= `{name}`)"), name: local.clone(), origin });
        }
    }
    None
}

/// The maximal dotted names read in `expr` (`self.conf.x`, not `self`), bounded by [`super::SCAN_BUDGET`].
fn limit_names(expr: Node<'_>, src: &str) -> Vec<String> {
    // A call's callee is not a value the bound is compared with (`len(x)` reads `x`).
    dotted_reads(expr, src, false)
}

/// The first external name `expr` reads. A conditional expression (`CONF.x if CONF.x else
/// len(zones)`) is external only when every branch is: its test merely picks a branch, and a local
/// fallback bounds the loop here whatever the configuration says.
fn external_in(expr: Node<'_>, cx: &Checker<'_>) -> Option<(String, String)> {
    let expr = python::unparenthesize(expr);
    if expr.kind() == "conditional_expression" {
        let branches = named_children(expr);
        let yes = external_in(*branches.first()?, cx)?;
        external_in(*branches.get(2)?, cx)?;
        return Some(yes);
    }
    limit_names(expr, cx.text()).iter().find_map(|n| external_name(n, cx))
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
