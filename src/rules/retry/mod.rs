//! Retry rules (TG1xx) and what the family shares: the recognised retry loop ([`RetryLoop`], found
//! once per loop and file by [`retry_loop`]), the in-scope node scan and name readers every fact
//! uses, and reporting a loop. Each fact lives next to the rules that use it: recognising a loop in
//! [`loop_shape`], counters and bounds in [`bounds`], backoff in [`backoff`], what happens after the
//! last attempt in [`exhaustion`], and retry-library decorators in [`decorators`].
//!
//! A **retry loop** is a `while`/`for` whose body holds (not in a nested loop, function or class) a
//! `try` with a handler that lets the loop come round again, and whose success path always leaves the
//! loop (`break`, `return`, or setting the `while` condition's flag). Control flow comes from
//! [`crate::python::flow`]. Every scan is bounded by [`SCAN_BUDGET`] nodes; a loop too large or too deep
//! to follow is left alone.

pub mod backoff;
pub mod bounds;
pub mod decorators;
pub mod exhaustion;
pub mod loop_shape;
pub mod tg101_unbounded_retry;
pub mod tg102_retry_without_backoff;
pub mod tg103_retry_exhaustion_swallowed;
pub mod tg104_retry_bound_external;
pub mod tg105_retry_decorator_unbounded;
pub mod tg106_retry_decorator_without_wait;

use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, Visit, named_children, text};
use crate::rules::Triggers;
use bounds::{Attempts, Bound};
use loop_shape::LoopShape;
use std::collections::HashSet;
use tree_sitter::Node;

/// TG101–TG104 judge loops with a `try` of their own ([`analyse`] gives up without one).
pub const LOOP_TRIGGERS: Triggers = Triggers { words: &["try"], ..Triggers::NONE };

/// Most nodes one loop analysis looks at; larger loops are left alone (quiet rather than slow).
pub const SCAN_BUDGET: usize = 20_000;

/// A recognised retry loop: its shape and the facts every retry rule reports.
pub struct RetryLoop<'t> {
    /// The loop's tries, handlers and nodes by path, which the facts of single rules read.
    pub shape: LoopShape<'t>,
    /// End of the loop header (`for …:` / `while …:`), the primary range.
    pub header_end: usize,
    /// The exceptions the retrying handlers catch, as written (`exc.StaleDataError`), or `any exception`.
    pub exceptions: Vec<String>,
    /// `None` when nothing bounds the attempts.
    pub bound: Option<Bound<'t>>,
    /// The waiting call on the loop's path (`time.sleep`), if any.
    pub backoff: Option<Node<'t>>,
}

impl RetryLoop<'_> {
    /// The loop header as written, on one line (`for try_cnt in range(db_api.MAX_RETRIES):`).
    pub fn header(&self, src: &str) -> String {
        let raw = src.get(self.shape.node.start_byte()..self.header_end).unwrap_or("");
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
    let shape = loop_shape::recognise(node, cx)?;
    let bound = match bounds::attempts(&shape, cx)? {
        Attempts::Bounded(b) => Some(b),
        Attempts::Endless => None,
    };
    let src = cx.text();
    let header_end = python::colon_end(node).unwrap_or(shape.body.start_byte());
    let mut exceptions: Vec<String> = Vec::new();
    for h in &shape.handlers {
        for name in caught_names(*h, src) {
            if !exceptions.contains(&name) {
                exceptions.push(name);
            }
        }
    }
    let backoff = backoff::wait_call(&shape, cx);
    Some(RetryLoop { shape, header_end, exceptions, bound, backoff })
}

/// Reports `message` for rule `rule` on the loop header, with the retrying handlers, the bound and
/// the backoff as related locations and properties.
pub fn report_loop(rule: &'static str, r: &RetryLoop<'_>, cx: &mut Checker<'_>, message: String) {
    report_loop_if(rule, r, cx, message, None);
}

/// [`report_loop`], the finding standing only if `condition` holds once the project model is linked.
pub fn report_loop_if(
    rule: &'static str,
    r: &RetryLoop<'_>,
    cx: &mut Checker<'_>,
    message: String,
    condition: Option<crate::model::index::Condition>,
) {
    let src = cx.text();
    let mut related: Vec<crate::finding::Related> =
        r.shape.handlers.iter().map(|h| cx.related(*h, "this handler lets the loop try again")).collect();
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
    let (start, end) = (r.shape.node.start_byte(), r.header_end);
    let finding = match condition {
        Some(c) => cx.report_if(c, rule, start, end, message),
        None => cx.report_range(rule, start, end, message),
    };
    finding.related = related;
    finding.properties = properties;
}

/// Exception names an `except` clause catches, as written (at most nine).
pub fn caught_names(clause: Node<'_>, src: &str) -> Vec<String> {
    let Some(exceptions) = python::caught_exceptions(clause) else { return vec!["any exception".to_string()] };
    exceptions.take(9).map(|e| one_line(text(e, src))).collect()
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

/// Is `n` a `for` or `while` loop?
fn is_loop(n: Node<'_>) -> bool {
    matches!(n.kind(), "for_statement" | "while_statement")
}

/// Is `n` inside the byte range of `outer` (inclusive)?
fn within(n: Node<'_>, outer: (usize, usize)) -> bool {
    n.start_byte() >= outer.0 && n.end_byte() <= outer.1
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

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, new_parser};
    use crate::source::SourceFile;

    fn findings(src: String) -> Vec<&'static str> {
        let rules: Vec<&'static dyn crate::rules::Rule> =
            crate::rules::REGISTRY.iter().copied().filter(|r| r.id().starts_with("TG1")).collect();
        let engine = Engine::new(&rules, crate::scan::analysis(&rules, &Default::default(), true));
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
