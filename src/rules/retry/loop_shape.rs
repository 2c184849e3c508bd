//! Loop shape (TG101–TG104): recognising a retry loop. The `try`s of the loop's own and how they come
//! round on failure and leave on success, the body's nodes split into the success and failure paths,
//! how a `for` iterable bounds the loop, and telling a retry from a search or a walk.

use super::{SCAN_BUDGET, bounds, is_loop, names_in, scan, target_names, within};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::flow::{self, Exits};
use crate::python::{self, Imports, Visit, named_children, text};
use std::collections::HashSet;
use tree_sitter::Node;

/// A loop recognised as a retry loop, before its bound is judged: what every retry fact reads.
pub struct LoopShape<'t> {
    /// The `for`/`while` statement.
    pub node: Node<'t>,
    pub body: Node<'t>,
    /// The `while` condition (`None` for a `for`).
    pub condition: Option<Node<'t>>,
    /// How the `for` iterable bounds the loop (`None` for a `while`).
    pub for_kind: Option<ForIter<'t>>,
    /// The names the `for` target binds.
    pub targets: Vec<String>,
    /// The retrying `try`s whose success leaves the loop.
    pub tries: Vec<TryShape<'t>>,
    /// The first of them: the attempt.
    pub attempt: Node<'t>,
    /// Their `except` clauses that let the loop come round.
    pub handlers: Vec<Node<'t>>,
    pub regions: Regions<'t>,
    /// Names the failure path updates like a counter or a one-shot flag, and the `for` targets.
    pub counters: HashSet<String>,
    /// Names the success path assigns that are not counters (a flag the `while` condition may test).
    pub success_assigned: HashSet<String>,
}

/// Recognises a retry loop's shape: a `try` of the loop's own that comes round on failure and leaves
/// the loop on success, in a loop that is not a search or a walk. `None` otherwise, or when the loop
/// is half-parsed, too large or too deep to judge.
pub fn recognise<'t>(node: Node<'t>, cx: &Checker<'_>) -> Option<LoopShape<'t>> {
    if node.has_error() {
        return None; // a half-parsed loop is no basis for a judgement
    }
    let src = cx.text();
    let imports = &cx.imports;
    let body = node.child_by_field_id(fields::body())?;
    let is_for = node.kind() == "for_statement";

    // The `for` iterable decides whether a per-item loop can be a retry loop at all.
    let (for_kind, targets) = if is_for {
        let iter = node.child_by_field_id(fields::right())?;
        let mut targets = Vec::new();
        target_names(node.child_by_field_id(fields::left())?, src, &mut targets);
        (Some(for_iter(iter, src, imports)), targets)
    } else {
        (None, Vec::new())
    };

    if drives_a_task(body, src) {
        return None;
    }
    let mut tries = Vec::new();
    for t in own_tries(body)? {
        if let Some(kind) = &for_kind {
            let try_body = t.child_by_field_id(fields::body())?;
            let read = names_in(try_body, src);
            let uses_target = targets.iter().any(|n| read.contains(n));
            match kind {
                ForIter::Collection if uses_target => continue,
                // `for i in range(len(items)): … items[i]` walks a collection.
                ForIter::Range(..) if indexes_with(try_body, src, &targets) => continue,
                _ => {}
            }
        }
        if let Some(shape) = try_shape(t, body, src, imports) {
            tries.push(shape);
        }
    }
    if tries.is_empty() {
        return None;
    }

    let all = scan(body)?;
    let success_at: Vec<(usize, usize)> = tries.iter().flat_map(|s| success_ranges(s.node, src)).collect();
    let in_success = |n: Node<'_>| success_at.iter().any(|r| within(n, *r));
    let failure: Vec<Node<'_>> = all.iter().copied().filter(|n| !in_success(*n)).collect();
    let success: Vec<Node<'_>> = all.iter().copied().filter(|n| in_success(*n)).collect();

    let mut counters: HashSet<String> = bounds::counter_names(&failure, src, imports).into_iter().collect();
    counters.extend(targets.iter().cloned());
    let success_assigned: HashSet<String> =
        assigned_names(&success, src).into_iter().filter(|n| !counters.contains(n)).collect();

    // Keep the tries whose success path leaves the loop.
    let condition = if is_for { None } else { node.child_by_field_id(fields::condition()) };
    // `while tosend > 0: … tosend -= sent`: each success advances what the condition tests, a transfer
    // (partial send or read) that goes on with the rest, not a retry of one operation.
    let advanced = advanced_names(&success, src);
    if condition.is_some_and(|c| names_in(c, src).iter().any(|n| advanced.contains(n))) {
        return None;
    }
    let flag_set = condition.is_some_and(|c| names_in(c, src).iter().any(|n| success_assigned.contains(n)));
    tries.retain(|s| {
        let leaves = s.success.contains(Exits::BREAK) || s.success.contains(Exits::RETURN);
        (leaves && !s.success.contains(Exits::FALL)) || flag_set
    });
    let attempt = tries.first()?.node;

    let regions = Regions { all, success, failure };
    if is_search(&regions, &tries, condition, &for_kind, &targets, cx) {
        return None;
    }
    let handlers = tries.iter().flat_map(|s| s.handlers.iter().copied()).collect();
    Some(LoopShape {
        node,
        body,
        condition,
        for_kind,
        targets,
        tries,
        attempt,
        handlers,
        regions,
        counters,
        success_assigned,
    })
}

/// The nodes of a loop body (in scope, in pre-order), split by path.
pub struct Regions<'t> {
    pub all: Vec<Node<'t>>,
    /// The attempt's success path: the `try` bodies (after any leading counter update) and `else`s.
    pub success: Vec<Node<'t>>,
    /// Everything else: handlers, statements around the `try`, leading counter updates.
    pub failure: Vec<Node<'t>>,
}

/// What a `try` inside a candidate loop contributes.
pub struct TryShape<'t> {
    pub node: Node<'t>,
    /// The `except` clauses that let the loop come round.
    pub handlers: Vec<Node<'t>>,
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

/// Byte range of the success part of a `try`: its body from the first statement that does real work
/// (a leading `attempt += 1` or `retries = retries - 1` runs on every attempt, so it belongs to the
/// failure path), plus `else`.
fn success_ranges(try_stmt: Node<'_>, src: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if let Some(body) = try_stmt.child_by_field_id(fields::body()) {
        let first_work = python::statements(body).find(|s| {
            !(s.kind() == "expression_statement" && s.named_child(0).is_some_and(|c| is_counter_step(c, src)))
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

/// Is `n` a counter step: `attempt += 1`, or `retries = retries - 1` (the name on both sides)?
fn is_counter_step(n: Node<'_>, src: &str) -> bool {
    match n.kind() {
        "augmented_assignment" => true,
        "assignment" => {
            let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
            else {
                return false;
            };
            let right = python::unparenthesize(right);
            left.kind() == "identifier"
                && right.kind() == "binary_operator"
                && [right.child_by_field_id(fields::left()), right.child_by_field_id(fields::right())]
                    .into_iter()
                    .flatten()
                    .any(|side| side.kind() == "identifier" && text(side, src) == text(left, src))
        }
        _ => false,
    }
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

/// How a `for` loop's iterable bounds it.
pub enum ForIter<'t> {
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

/// Is the loop a search or a walk rather than a retry? The attempt reads something each failure
/// changes (`for port in range(a, b): bind(port)`, `region = parent(region)`, `excluded.add(lss)`,
/// `ports[index]` with `index` chosen anew), or a per-item `for` uses its item around the `try`.
fn is_search(
    regions: &Regions<'_>,
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
    let mut varying: HashSet<String> = varying_names(&regions.failure, src).into_iter().collect();
    varying.extend(targets.iter().cloned());
    let caught: Vec<String> =
        shapes.iter().flat_map(|s| s.handlers.iter()).filter_map(|h| bound_name(*h, src)).collect();
    derive_varying(&regions.all, &caught, src, &mut varying);
    let mut attempt_reads = reads(regions.success.iter().filter(|n| not_logged(n)), src);
    let outer = regions.all.first().and_then(|b| cx.enclosing_function(*b));
    attempt_reads.extend(reads_in_helpers(regions, outer, src));
    if attempt_reads.iter().any(|n| varying.contains(n)) {
        return true;
    }
    // `except ConnectionError: self._next_host(); continue`: the handler moves on to the next
    // candidate (host, address, endpoint) instead of trying the same one again.
    let handler_nodes = shapes.iter().flat_map(|s| s.handlers.iter()).filter_map(|h| python::clause_block(*h));
    if handler_nodes.filter_map(scan).flatten().any(|n| picks_next_candidate(n, src)) {
        return true;
    }
    // `while region_id is not None: … lookup(region_id) … region_id = parent`.
    let failure_assigned: Vec<String> = assigned_names(&regions.failure, src);
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

/// Grows `varying` with the locals derived from it (`name = '.'.join(labels[i:])`,
/// `criterion['name'] = name`), drawn from an iterator (`curr = next(it)`, `f = listing.pop()`) or
/// taken from the caught exception (`url = redirect.url`): the attempt that reads them tries
/// something new each round. Names of waits and timeouts are left out (a growing timeout is still a
/// retry of the same thing).
fn derive_varying(nodes: &[Node<'_>], caught: &[String], src: &str, varying: &mut HashSet<String>) {
    let mut steps: Vec<(Vec<String>, Vec<String>, bool)> = Vec::new();
    for n in nodes {
        if n.kind() != "assignment" {
            continue;
        }
        let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
        else {
            continue;
        };
        let mut names = Vec::new();
        match left.kind() {
            // `criterion['name'] = name` changes `criterion`.
            "subscript" => {
                names.extend(left.child_by_field_id(fields::value()).and_then(|v| python::dotted_name(v, src)))
            }
            _ => target_names(left, src, &mut names),
        }
        names.retain(|x| !is_timing_name(x));
        if names.is_empty() {
            continue;
        }
        let read = names_in(right, src);
        let draws = scan(right).unwrap_or_default().into_iter().any(|c| {
            c.kind() == "call"
                && python::call_name(c, src).is_some_and(|name| {
                    matches!(python::last_segment(&name), "next" | "pop" | "popleft" | "get_nowait")
                })
        });
        let from_exception = read.iter().any(|r| caught.contains(r));
        steps.push((names, read, draws || from_exception));
    }
    for _ in 0..8 {
        let before = varying.len();
        for (names, read, always) in &steps {
            if *always || read.iter().any(|r| varying.contains(r)) {
                varying.extend(names.iter().cloned());
            }
        }
        if varying.len() == before {
            break;
        }
    }
}

/// Does the name say it holds a wait, a delay or a timeout?
fn is_timing_name(name: &str) -> bool {
    let lower = python::last_segment(name).to_ascii_lowercase();
    ["timeout", "delay", "wait", "interval", "sleep", "backoff", "deadline"].iter().any(|w| lower.contains(w))
}

/// The name an `except … as name` clause binds.
fn bound_name(clause: Node<'_>, src: &str) -> Option<String> {
    let mut cursor = clause.walk();
    let value = clause.children_by_field_name("value", &mut cursor).find(|v| v.kind() == "as_pattern")?;
    let target = value.child_by_field_id(fields::alias())?;
    let id = if target.kind() == "identifier" { target } else { target.named_child(0)? };
    (id.kind() == "identifier").then(|| text(id, src).to_string())
}

/// Names read inside the lambdas and nested functions the attempt uses: a lambda written in the
/// attempt (`do_open(lambda host: Conn(host, pinned_ip=addr))`), or a helper defined in the loop
/// or the enclosing function and called by the attempt (`def _try(): return connect(addr)`).
fn reads_in_helpers(regions: &Regions<'_>, outer: Option<Node<'_>>, src: &str) -> HashSet<String> {
    let called: HashSet<String> =
        regions.success.iter().filter(|n| n.kind() == "call").filter_map(|n| python::call_name(*n, src)).collect();
    let mut out = HashSet::new();
    // Helpers defined at the top of the enclosing function are closures over the loop's names too.
    let outer_defs = outer
        .and_then(|f| f.child_by_field_id(fields::body()))
        .map(|b| python::statements(b).filter(|s| s.kind() == "function_definition").collect::<Vec<_>>())
        .unwrap_or_default();
    for n in regions.all.iter().chain(outer_defs.iter()) {
        let used = match n.kind() {
            "lambda" => regions.success.iter().any(|s| s.id() == n.id()),
            "function_definition" => {
                n.child_by_field_id(fields::name()).is_some_and(|name| called.contains(text(name, src)))
            }
            _ => false,
        };
        if used && let Some(body) = n.child_by_field_id(fields::body()) {
            out.extend(names_in(body, src));
        }
    }
    out
}

/// Words of a call that moves on to the next candidate: `_next_host()`, `switch_endpoint()`,
/// `failover()`, `rotate_server()`.
const PICKER_WORDS: &[&str] = &["next", "failover", "switch", "rotate", "advance"];

/// Is `n` a call that picks the next candidate ([`PICKER_WORDS`])? `next(it)` on an iterator is
/// one too.
fn picks_next_candidate(n: Node<'_>, src: &str) -> bool {
    if n.kind() != "call" {
        return false;
    }
    let Some(name) = python::call_name(n, src) else { return false };
    let last = python::last_segment(&name).to_ascii_lowercase();
    last.split('_').any(|w| PICKER_WORDS.contains(&w))
}

/// Does the loop drive a generator or a task (`yield` in the loop, or an exception thrown into a
/// task with `.throw(…)`)? Its `except` hands the failure to the task; it is not a retry.
fn drives_a_task(body: Node<'_>, src: &str) -> bool {
    let Some(nodes) = scan(body) else { return false };
    nodes.iter().any(|n| {
        n.kind() == "yield"
            || (n.kind() == "call" && python::call_name(*n, src).is_some_and(|c| python::last_segment(&c) == "throw"))
    })
}

/// Names the nodes in `nodes` change by augmented assignment (`tosend -= sent`, `offset += n`).
fn advanced_names(nodes: &[Node<'_>], src: &str) -> HashSet<String> {
    let mut out = Vec::new();
    for n in nodes.iter().filter(|n| n.kind() == "augmented_assignment") {
        if let Some(left) = n.child_by_field_id(fields::left()) {
            target_names(left, src, &mut out);
        }
    }
    out.into_iter().collect()
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
