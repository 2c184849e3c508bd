//! In-function flow: which locals carry a sensitive value at a given point. A local assigned from a
//! sensitive expression (`=`, `+=`, tuple unpacking, f-string or `%`-built strings) is sensitive from
//! there on; reassignment from a known-clean value (a literal, a sanitizer call) clears it, even for
//! a local whose own name is sensitive (`password = strutils.mask_password(password)`).
//!
//! The walk is linear in source order over the enclosing function (branches are not told apart), and
//! stops at nested functions and classes.

use super::{Carrier, Eval, Hit, SourceFn, evaluate};
use crate::engine::Checker;
use crate::python::{self, named_children, unparenthesize};
use std::collections::HashMap;
use tree_sitter::Node;

/// What a local holds at a point.
#[derive(Debug, Clone)]
pub enum Binding {
    /// Assigned from a known-clean value.
    Clean,
    /// Assigned from (or extended with) sensitive values.
    Tainted(Vec<Hit>),
}

/// Local name → binding. Locals not in the map are judged by their name.
pub type Env = HashMap<String, Binding>;

/// The bindings of the function enclosing `at`, from its start up to (not including) `at`.
pub fn env_before(at: Node<'_>, cx: &Checker<'_>, source: SourceFn<'_>) -> Env {
    let mut env = Env::new();
    let Some(body) = python::enclosing_function(at).and_then(|f| f.child_by_field_name("body")) else {
        return env;
    };
    for n in python::descendants_in_scope(body) {
        // Pre-order visits nodes in order of their start.
        if n.start_byte() >= at.start_byte() {
            break;
        }
        if n.end_byte() > at.start_byte() || !matches!(n.kind(), "assignment" | "augmented_assignment") {
            continue;
        }
        let (Some(left), Some(mut right)) = (n.child_by_field_name("left"), n.child_by_field_name("right")) else {
            continue;
        };
        // `a = b = value`: the value is the innermost right-hand side.
        let mut hops = 0;
        while right.kind() == "assignment" && hops < 64 {
            let Some(r) = right.child_by_field_name("right") else { break };
            right = r;
            hops += 1;
        }
        let augmented = n.kind() == "augmented_assignment";
        let line = cx.src.position(n.start_byte()).line;
        let left = unparenthesize(left);
        let targets = if matches!(left.kind(), "pattern_list" | "tuple_pattern" | "list_pattern") {
            named_children(left)
        } else {
            vec![left]
        };
        let right_u = unparenthesize(right);
        let values = if targets.len() > 1 && matches!(right_u.kind(), "expression_list" | "tuple" | "list") {
            let vs = named_children(right_u);
            (vs.len() == targets.len()).then_some(vs)
        } else {
            None
        };
        for (i, target) in targets.iter().enumerate() {
            if target.kind() != "identifier" {
                continue;
            }
            let value = values.as_ref().and_then(|vs| vs.get(i).copied()).unwrap_or(right);
            let eval = evaluate(value, cx, &env, source);
            bind(&mut env, cx.node_text(*target), eval, value, n, line, augmented);
        }
    }
    env
}

fn bind(env: &mut Env, name: &str, eval: Eval, value: Node<'_>, stmt: Node<'_>, line: usize, augmented: bool) {
    if eval.hits.is_empty() {
        if augmented {
            return;
        }
        if eval.clean {
            env.insert(name.to_string(), Binding::Clean);
        } else {
            env.remove(name);
        }
        return;
    }
    let direct = matches!(unparenthesize(value).kind(), "identifier" | "attribute" | "subscript" | "call");
    let chained = eval.hits.iter().any(|h| h.carrier.is_some());
    let how = if direct && eval.hits.len() == 1 && !augmented && !chained { "assigned from" } else { "built from" };
    let mut hits: Vec<Hit> = eval
        .hits
        .into_iter()
        .map(|mut h| {
            h.steps.push((stmt.start_byte(), stmt.end_byte(), format!("`{name}` is {how} `{}` here", h.value)));
            h.carrier = Some(Carrier { name: name.to_string(), line, how });
            h
        })
        .collect();
    if augmented && let Some(Binding::Tainted(old)) = env.get(name) {
        hits.splice(0..0, old.iter().cloned());
    }
    env.insert(name.to_string(), Binding::Tainted(hits));
}
