//! In-function flow: which locals carry a sensitive value at a given point. A local assigned from a
//! sensitive expression (`=`, `+=`, tuple unpacking, f-string or `%`-built strings) is sensitive from
//! there on; reassignment from a known-clean value (a literal, a sanitizer call) clears it, even for
//! a local whose own name is sensitive (`password = strutils.mask_password(password)`).
//!
//! Storing a sensitive value into a local's item (`props['auth_password'] = secret`) taints the
//! local as `+=` does; `(p := password)` binds like `=`.
//!
//! The walk is linear in source order over the enclosing function (branches are not told apart), and
//! stops at nested functions and classes.

use super::{Carrier, Eval, Hit, SourceFn, evaluate};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children, unparenthesize};
use std::collections::HashMap;
use std::rc::Rc;
use tree_sitter::Node;

/// Bounds that keep long assignment chains (`s += token` three thousand times) linear.
const MAX_STEPS: usize = 8;
const MAX_HITS: usize = 8;

/// What a local holds at a point.
#[derive(Debug, Clone)]
pub enum Binding {
    /// Assigned from a known-clean value.
    Clean,
    /// Assigned from (or extended with) sensitive values.
    Tainted(Vec<Hit>),
}

/// What the locals hold at one point. Locals without a binding are judged by their name.
pub enum Env {
    /// Built while walking a function's assignments in order.
    Live(HashMap<String, Binding>),
    /// A function's finished timeline, read at a byte offset.
    At(Rc<Timeline>, usize),
}

impl Env {
    fn new() -> Env {
        Env::Live(HashMap::new())
    }

    /// The binding of local `name` here, if an earlier assignment decided it.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        match self {
            Env::Live(map) => map.get(name),
            Env::At(timeline, at) => timeline
                .get(name)?
                .iter()
                .rev()
                .find(|e| e.start < *at && e.end <= *at)
                .and_then(|e| e.binding.as_ref()),
        }
    }

    fn live(&mut self) -> &mut HashMap<String, Binding> {
        if let Env::At(..) = self {
            *self = Env::new();
        }
        match self {
            Env::Live(map) => map,
            Env::At(..) => unreachable!("just replaced"),
        }
    }
}

/// Each local's assignments in source order.
pub type Timeline = HashMap<String, Vec<Event>>;

/// One assignment's effect on a local: bound to a value (`Some`) or back to "judge by name" (`None`).
#[derive(Debug, Clone)]
pub struct Event {
    start: usize,
    end: usize,
    binding: Option<Binding>,
}

/// Per-file cache of each function's assignment timeline under [`super::value_source`], keyed by
/// the function's start byte.
#[derive(Default)]
struct Timelines(HashMap<usize, Rc<Timeline>>);

/// The bindings under [`super::value_source`] at `at`, computing each function's timeline once.
pub fn value_env_before(at: Node<'_>, cx: &mut Checker<'_>) -> Env {
    let Some(func) = cx.enclosing_function(at) else { return Env::new() };
    let mut cache: Timelines = cx.take_scratch();
    let events = match cache.0.get(&func.start_byte()) {
        Some(events) => events.clone(),
        None => {
            let events = Rc::new(timeline(func, cx, &super::value_source));
            cache.0.insert(func.start_byte(), events.clone());
            events
        }
    };
    cx.put_scratch(cache);
    Env::At(events, at.start_byte())
}

/// [`value_env_before`] `at`, for evaluating `exprs` — or an empty environment when no expression
/// names anything (`LOG.info("Starting")`): only names are looked up in it, so the function's timeline
/// need not be built.
pub fn value_env_for(at: Node<'_>, exprs: &[Node<'_>], cx: &mut Checker<'_>) -> Env {
    if exprs.iter().any(|e| python::contains_identifier(*e)) { value_env_before(at, cx) } else { Env::new() }
}

/// The bindings of the function enclosing `at`, from its start up to (not including) `at`.
pub fn env_before(at: Node<'_>, cx: &Checker<'_>, source: SourceFn<'_>) -> Env {
    match cx.enclosing_function(at) {
        Some(func) => Env::At(Rc::new(timeline(func, cx, source)), at.start_byte()),
        None => Env::new(),
    }
}

/// Every assignment to a local in `func`, in source order, with what it binds.
fn timeline(func: Node<'_>, cx: &Checker<'_>, source: SourceFn<'_>) -> Timeline {
    let mut env = Env::new();
    let mut events = Timeline::new();
    let Some(body) = func.child_by_field_id(fields::body()) else { return events };
    for n in python::descendants_in_scope(body) {
        if n.kind() == "for_statement" {
            loop_binding(n, cx, source, &mut env, &mut events);
            continue;
        }
        let walrus = n.kind() == "named_expression";
        if !(walrus || matches!(n.kind(), "assignment" | "augmented_assignment")) {
            continue;
        }
        let (left, right) = if walrus {
            (n.child_by_field_id(fields::name()), n.child_by_field_id(fields::value()))
        } else {
            (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
        };
        let (Some(left), Some(mut right)) = (left, right) else {
            continue;
        };
        // `a = b = value`: the value is the innermost right-hand side.
        let mut hops = 0;
        while right.kind() == "assignment" && hops < 64 {
            let Some(r) = right.child_by_field_id(fields::right()) else { break };
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
            let value = values.as_ref().and_then(|vs| vs.get(i).copied()).unwrap_or(right);
            // `props['auth_password'] = chap_secret`: the dict now carries the secret.
            let (name, stored) = match target.kind() {
                "identifier" => (cx.node_text(*target), false),
                "subscript" => match stored_into(*target) {
                    Some(object) => (cx.node_text(object), true),
                    None => continue,
                },
                _ => continue,
            };
            let mut eval = evaluate(value, cx, &env, source);
            if stored {
                eval.hits.extend(source(*target, cx));
                if eval.hits.is_empty() {
                    continue; // storing a clean or unknown value leaves the dict as it was
                }
            }
            bind(&mut env, name, eval, value, n, line, augmented || stored);
            let binding = env.get(name).cloned();
            events.entry(name.to_string()).or_default().push(Event {
                start: n.start_byte(),
                end: n.end_byte(),
                binding,
            });
        }
    }
    events
}

/// `for password in ['NULL', '']:` (or over a local bound to such a literal): every value the loop
/// variable takes is written in the source, so it is clean; over anything else the loop variable is
/// judged by its name again. The event covers the loop's header, so the body sees it.
fn loop_binding(n: Node<'_>, cx: &Checker<'_>, source: SourceFn<'_>, env: &mut Env, events: &mut Timeline) {
    let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right())) else {
        return;
    };
    let left = unparenthesize(left);
    let targets = if matches!(left.kind(), "pattern_list" | "tuple_pattern" | "list_pattern") {
        named_children(left)
    } else {
        vec![left]
    };
    let clean = evaluate(right, cx, env, source).clean;
    for target in targets.into_iter().filter(|t| t.kind() == "identifier") {
        let name = cx.node_text(target);
        let binding = clean.then_some(Binding::Clean);
        match &binding {
            Some(b) => {
                env.live().insert(name.to_string(), b.clone());
            }
            None => {
                env.live().remove(name);
            }
        }
        events.entry(name.to_string()).or_default().push(Event {
            start: n.start_byte(),
            end: right.end_byte(),
            binding,
        });
    }
}

/// The local a subscript assignment stores into: `props` for `props['k']` and
/// `info['data']['auth_password']`.
fn stored_into(target: Node<'_>) -> Option<Node<'_>> {
    let mut object = target.child_by_field_id(fields::value())?;
    for _ in 0..8 {
        match object.kind() {
            "identifier" => return Some(object),
            "subscript" => object = object.child_by_field_id(fields::value())?,
            _ => return None,
        }
    }
    None
}

fn bind(env: &mut Env, name: &str, eval: Eval, value: Node<'_>, stmt: Node<'_>, line: usize, augmented: bool) {
    if eval.hits.is_empty() {
        if augmented {
            return;
        }
        if eval.clean {
            env.live().insert(name.to_string(), Binding::Clean);
        } else {
            env.live().remove(name);
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
            if h.steps.len() >= MAX_STEPS {
                h.steps.remove(0);
            }
            h.steps.push((stmt.start_byte(), stmt.end_byte(), format!("`{name}` is {how} `{}` here", h.value)));
            h.carrier = Some(Carrier { name: name.to_string(), line, how });
            h
        })
        .collect();
    if augmented && let Some(Binding::Tainted(old)) = env.get(name) {
        hits.splice(0..0, old.iter().cloned());
    }
    hits.truncate(MAX_HITS);
    env.live().insert(name.to_string(), Binding::Tainted(hits));
}
