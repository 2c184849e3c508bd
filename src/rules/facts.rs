//! The project model's facts about this module (see [`crate::model::facts`]), gathered on the file's
//! single walk by [`MODEL`]: imports and module-level aliases, classes (bases, attribute classes, RPC
//! targets), and per function its parameters, decorators, calls and local facts. What counts as a
//! wait, a log call, an elevation, a write with a context or an authorization check is each family's
//! own predicate (`retry::backoff`, `python`'s logger recognition, `context::names`), so the model and
//! the rules never disagree about it.

use super::context::names::{
    ContextWrite, admin_context_call, context_write, elevated_receiver, is_context_param, is_guard_call,
};
use super::logs::words;
use super::retry::backoff::is_wait_call;
use crate::checker::{Checker, Gatherer};
use crate::model::facts::{Arg, CallSite, ClassFacts, FunctionFacts, Local, SETUP_METHODS};
use crate::python::{self, Visit, fields, named_children, text};
use std::collections::{BTreeMap, HashSet};
use tree_sitter::Node;

/// The gatherer every rule that asks the model about callees names.
pub static MODEL: ModelFacts = ModelFacts;

/// What a rule that asks the model returns from [`crate::checker::Rule::gatherers`].
pub static USES_MODEL: &[&dyn Gatherer] = &[&MODEL];

/// See the module documentation.
pub struct ModelFacts;

/// Decorators of the definitions met, by the definition's start byte (a `decorated_definition` is
/// visited before the definition it wraps).
#[derive(Default)]
struct Decorators(BTreeMap<usize, Vec<String>>);

impl Gatherer for ModelFacts {
    fn name(&self) -> &'static str {
        "model"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["module", "decorated_definition", "class_definition", "function_definition"]
    }

    fn gather(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        match node.kind() {
            "module" => module(node, cx),
            "decorated_definition" => decorators(node, cx),
            "class_definition" => class(node, cx),
            _ => function(node, cx),
        }
    }
}

/// Imports (also in module-level `try`/`if` blocks) and `name = dotted.path` aliases.
fn module(root: Node<'_>, cx: &mut Checker<'_>) {
    let src = cx.text();
    let mut names: HashSet<String> = HashSet::new();
    let mut stack: Vec<(Node<'_>, usize)> = vec![(root, 0)];
    while let Some((node, depth)) = stack.pop() {
        for child in named_children(node) {
            match child.kind() {
                "import_statement" => import(child, src, &mut cx.model.imports),
                "import_from_statement" => from_import(child, src, &mut cx.model.imports),
                "expression_statement" if depth == 0 => {
                    let Some(assign) = child.named_child(0).filter(|a| a.kind() == "assignment") else { continue };
                    let (Some(left), Some(right)) =
                        (assign.child_by_field_id(fields::left()), assign.child_by_field_id(fields::right()))
                    else {
                        continue;
                    };
                    if left.kind() == "identifier"
                        && let Some(target) = python::dotted_name(right, src)
                    {
                        cx.model.aliases.insert(text(left, src).to_string(), target);
                    }
                }
                "function_definition" | "class_definition" | "decorated_definition" => {
                    let def = if child.kind() == "decorated_definition" {
                        child.child_by_field_id(fields::definition())
                    } else {
                        Some(child)
                    };
                    if let Some(name) = def.and_then(|d| d.child_by_field_id(fields::name())) {
                        names.insert(text(name, src).to_string());
                    }
                }
                _ if depth < 4 && child.named_child_count() > 0 => stack.push((child, depth + 1)),
                _ => {}
            }
        }
    }
    // Module-level functions selective parsing left unparsed are not in the tree, but are names the
    // module binds all the same.
    names.extend(cx.model.blanked.iter().filter(|n| !n.contains('.')).cloned());
    names.extend(cx.model.imports.keys().cloned());
    names.extend(cx.model.aliases.keys().cloned());
    names.extend(["self", "cls", "super()"].map(String::from));
    cx.put_scratch(ModuleNames(names));
}

/// The names a call's callee can start with and still reach a project function: `self`, `cls`,
/// `super()`, and the names the module binds at its top level (imports, aliases, functions, classes).
/// A call through a local, a parameter or a builtin is not recorded: the model could not resolve it.
#[derive(Default)]
struct ModuleNames(HashSet<String>);

fn import(stmt: Node<'_>, src: &str, into: &mut BTreeMap<String, String>) {
    for (local, target, aliased) in python::import_bindings(stmt, src) {
        if aliased {
            into.insert(local.to_string(), target.to_string());
        } else {
            into.entry(local.to_string()).or_insert_with(|| target.to_string());
        }
    }
}

fn from_import(stmt: Node<'_>, src: &str, into: &mut BTreeMap<String, String>) {
    into.extend(python::from_import_bindings(stmt, src).into_iter().map(|(local, full)| (local.to_string(), full)));
}

fn decorators(node: Node<'_>, cx: &mut Checker<'_>) {
    let Some(def) = node.child_by_field_id(fields::definition()) else { return };
    let src = cx.text();
    let names = named_children(node)
        .into_iter()
        .filter(|d| d.kind() == "decorator")
        .filter_map(|d| {
            let expr = d.named_child(0)?;
            let expr = if expr.kind() == "call" { expr.child_by_field_id(fields::function())? } else { expr };
            python::dotted_name(expr, src)
        })
        .collect();
    let mut all: Decorators = cx.take_scratch();
    all.0.insert(def.start_byte(), names);
    cx.put_scratch(all);
}

fn class(node: Node<'_>, cx: &mut Checker<'_>) {
    let src = cx.text();
    let name = cx.scope_at(node.start_byte());
    let mut facts = ClassFacts { line: cx.src.position(node.start_byte()).line, ..ClassFacts::default() };
    if let Some(bases) = node.child_by_field_id(fields::superclasses()) {
        facts.bases = named_children(bases).into_iter().filter_map(|b| python::dotted_name(b, src)).collect();
    }
    if let Some(body) = node.child_by_field_id(fields::body()) {
        for stmt in python::statements(body) {
            if let Some((attr, callee)) = constructed(stmt, src, false) {
                facts.rpc_target |= attr == "target" && python::last_segment(&callee) == "Target";
                facts.attrs.entry(attr).or_insert(callee);
            }
        }
    }
    cx.model.classes.insert(name, facts);
}

/// `name = X(...)` (or `self.name = X(...)` when `on_self`): (name, `X` as written).
fn constructed(stmt: Node<'_>, src: &str, on_self: bool) -> Option<(String, String)> {
    let assign =
        if stmt.kind() == "assignment" { stmt } else { stmt.named_child(0).filter(|a| a.kind() == "assignment")? };
    let left = assign.child_by_field_id(fields::left())?;
    let right = python::unparenthesize(assign.child_by_field_id(fields::right())?);
    if right.kind() != "call" {
        return None;
    }
    let callee = python::dotted_name(right.child_by_field_id(fields::function())?, src)?;
    let name = match (on_self, left.kind()) {
        (false, "identifier") => text(left, src).to_string(),
        (true, "attribute") => {
            let object = left.child_by_field_id(fields::object())?;
            if text(object, src) != "self" {
                return None;
            }
            text(left.child_by_field_id(fields::attribute())?, src).to_string()
        }
        _ => return None,
    };
    Some((name, callee))
}

fn function(node: Node<'_>, cx: &mut Checker<'_>) {
    let src = cx.text();
    let qualified = cx.scope_at(node.start_byte());
    let (Some(name), Some(body)) = (node.child_by_field_id(fields::name()), node.child_by_field_id(fields::body()))
    else {
        return;
    };
    let class =
        qualified.rsplit_once('.').map(|(c, _)| c).filter(|c| cx.model.classes.contains_key(*c)).map(str::to_string);
    let params = node.child_by_field_id(fields::parameters()).map(|p| parameters(p, src)).unwrap_or_default();
    let mut decorated: Decorators = cx.take_scratch();
    let decorators = decorated.0.remove(&node.start_byte()).unwrap_or_default();
    cx.put_scratch(decorated);
    let known: ModuleNames = cx.take_scratch();
    let (calls, local, self_attrs) = body_facts(body, &params, &known.0, cx);
    cx.put_scratch(known);
    if let Some(class) = &class
        && SETUP_METHODS.contains(&text(name, src))
        && let Some(facts) = cx.model.classes.get_mut(class)
    {
        for (attr, callee) in self_attrs {
            facts.rpc_target |= attr == "target" && python::last_segment(&callee) == "Target";
            facts.attrs.entry(attr).or_insert(callee);
        }
    }
    if calls.is_empty() && local.is_empty() {
        cx.model.trivial.push(qualified); // nothing to summarise: kept by name only
        return;
    }
    let span = cx.node_span(name);
    cx.model.functions.insert(qualified, FunctionFacts { params, decorators, class, span, calls, local });
}

/// Parameter names in order; `*args` and `**kwargs` keep their stars, a bare `*` is `*`.
fn parameters(params: Node<'_>, src: &str) -> Vec<String> {
    named_children(params)
        .into_iter()
        .filter_map(|p| {
            Some(match p.kind() {
                "identifier" => text(p, src).to_string(),
                "default_parameter" | "typed_default_parameter" => {
                    text(p.child_by_field_id(fields::name())?, src).to_string()
                }
                "typed_parameter" => text(p.named_child(0)?, src).to_string(),
                "list_splat_pattern" | "dictionary_splat_pattern" | "keyword_separator" => text(p, src).to_string(),
                _ => return None,
            })
        })
        .collect()
}

/// One pass over a function body (nested functions, classes and lambdas left to their own visit):
/// its calls, its local facts, and the `self.attr = X(...)` assignments it makes.
fn body_facts(
    body: Node<'_>,
    params: &[String],
    known: &HashSet<String>,
    cx: &Checker<'_>,
) -> (Vec<CallSite>, Local, Vec<(String, String)>) {
    let src = cx.text();
    let param = |n: Node<'_>| -> Option<u8> {
        if n.kind() != "identifier" {
            return None;
        }
        let name = text(n, src);
        params.iter().position(|p| p == name).and_then(|i| u8::try_from(i).ok())
    };
    let top: HashSet<usize> = python::statements(body)
        .filter(|s| s.kind() == "expression_statement")
        .filter_map(|s| s.named_child(0))
        .map(|e| if e.kind() == "await" { e.named_child(0).unwrap_or(e) } else { e })
        .filter(|e| e.kind() == "call")
        .map(|e| e.start_byte())
        .collect();
    let mut returned: HashSet<usize> = HashSet::new();
    let mut calls = Vec::new();
    let mut local = Local::default();
    let mut attrs = Vec::new();
    let mut return_seen = false;
    let mut first_raise = None;
    // The parameters that are request contexts (`context`, `ctx`, `*_context`).
    let contexts: Vec<u8> = (0..params.len().min(usize::from(u8::MAX)))
        .filter(|&i| is_context_param(&params[i], &cx.knobs.context))
        .filter_map(|i| u8::try_from(i).ok())
        .collect();
    let ids = Ids::get();
    python::preorder(body, |n| {
        if !n.is_named() {
            return Visit::Skip; // punctuation and keywords: nothing inside
        }
        if n != body && python::is_scope(n) {
            return Visit::Skip;
        }
        let kind = n.kind_id();
        let kind = if kind == ids.call {
            "call"
        } else if kind == ids.expression_statement {
            "expression_statement"
        } else if kind == ids.return_statement {
            "return_statement"
        } else if kind == ids.raise_statement {
            "raise_statement"
        } else {
            return Visit::Descend;
        };
        match kind {
            "return_statement" => {
                return_seen = true;
                if let Some(value) = n.named_child(0).map(python::unparenthesize)
                    && value.kind() == "call"
                {
                    returned.insert(value.start_byte());
                    let elevates = elevated_receiver(value, src).is_some() || admin_context_call(value, src);
                    if elevates && local.elevates.is_none() {
                        local.elevates = Some(cx.node_span(value));
                    }
                }
            }
            "raise_statement" => {
                first_raise.get_or_insert(n);
                if let Some(p) = n.named_child(0).and_then(param) {
                    local.reraises.entry(p).or_insert_with(|| cx.node_span(n));
                }
            }
            "expression_statement" => attrs.extend(constructed(n, src, true)),
            "call" => {
                if local.waits.is_none() && is_wait_call(n, src, &cx.knobs.retry.wait_functions) {
                    local.waits = Some(cx.node_span(n));
                }
                if python::logger_call(n, src, &cx.loggers).is_some() {
                    // A parameter whose own name says secret is reported where it is logged (TG301
                    // in the helper itself): its callers are not told again.
                    let named_secret = |p: &u8| {
                        params
                            .get(usize::from(*p))
                            .is_some_and(|name| words::classify_with(name, &cx.knobs.sensitive).is_some())
                    };
                    for p in logged_params(n, src, &param).into_iter().filter(|p| !named_secret(p)) {
                        local.logs.entry(p).or_insert_with(|| cx.node_span(n));
                    }
                }
                if !contexts.is_empty() {
                    context_use(n, &contexts, &param, cx, &mut local);
                }
                let reachable = |c: &String| known.contains(c.split('.').next().unwrap_or(c));
                if let Some(callee) = python::callee_path(n, src).filter(reachable) {
                    calls.push(CallSite {
                        callee,
                        span: cx.node_span(n),
                        args: arguments(n, src, &param),
                        every_path: top.contains(&n.start_byte()) && !return_seen,
                        returned: returned.contains(&n.start_byte()),
                    });
                }
            }
            _ => {}
        }
        Visit::Descend
    });
    if let Some(raise) = first_raise
        && python::flow::exits(body, src, &cx.imports).always_raises()
    {
        local.raises = Some(cx.node_span(raise));
    }
    (calls, local, attrs)
}

/// A context parameter handed to a write (`update_port(ctx, …)`, `CONTEXT_WRITER.using(ctx)`,
/// `ctx.session.add(…)`) or to an authorization check (`policy.enforce(ctx, …)`): the judgement is
/// the TG4 rules' own (`context::names`).
fn context_use(
    call: Node<'_>,
    contexts: &[u8],
    param: &impl Fn(Node<'_>) -> Option<u8>,
    cx: &Checker<'_>,
    local: &mut Local,
) {
    let src = cx.text();
    let vocab = &cx.knobs.context;
    let handed =
        || python::argument_slots(call, src).into_iter().filter_map(|(_, v)| param(v)).filter(|p| contexts.contains(p));
    let written: Vec<u8> = match context_write(call, src, vocab) {
        Some(ContextWrite::Arguments | ContextWrite::Transaction) => handed().collect(),
        Some(ContextWrite::Session(owner)) => param(owner).filter(|p| contexts.contains(p)).into_iter().collect(),
        None => Vec::new(),
    };
    for p in written {
        local.writes.entry(p).or_insert_with(|| cx.node_span(call));
    }
    if is_guard_call(call, src, vocab) {
        for p in handed() {
            local.checks.entry(p).or_insert_with(|| cx.node_span(call));
        }
    }
}

/// Node-kind ids the body pass compares (`Node::kind()` builds a string for every node).
struct Ids {
    call: u16,
    expression_statement: u16,
    return_statement: u16,
    raise_statement: u16,
}

impl Ids {
    fn get() -> &'static Ids {
        static IDS: std::sync::LazyLock<Ids> = std::sync::LazyLock::new(|| {
            let lang = python::language();
            let id = |k| lang.id_for_node_kind(k, true);
            Ids {
                call: id("call"),
                expression_statement: id("expression_statement"),
                return_statement: id("return_statement"),
                raise_statement: id("raise_statement"),
            }
        });
        &IDS
    }
}

/// The arguments of a call that are one of the caller's parameters, passed as they are. Positions
/// after a `*args` splat are unknown and left out.
fn arguments(call: Node<'_>, src: &str, param: &impl Fn(Node<'_>) -> Option<u8>) -> Vec<(Arg, u8)> {
    python::argument_slots(call, src)
        .into_iter()
        .filter_map(|(slot, value)| Some((arg(slot?), param(value)?)))
        .collect()
}

/// The model's name for an argument slot.
pub fn arg(slot: python::Slot<'_>) -> Arg {
    match slot {
        python::Slot::Position(i) => Arg::Position(i),
        python::Slot::Keyword(k) => Arg::Keyword(k.to_string()),
    }
}

/// How many nodes of a log call's arguments are read for parameters.
const LOG_ARGUMENT_NODES: usize = 2048;

/// The caller's parameters a log call's arguments mention as values (not as a keyword's name or an
/// attribute's name, not through a masking call).
fn logged_params(call: Node<'_>, src: &str, param: &impl Fn(Node<'_>) -> Option<u8>) -> Vec<u8> {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return Vec::new() };
    let mut out = Vec::new();
    let mut names: HashSet<usize> = HashSet::new();
    let mut budget = LOG_ARGUMENT_NODES;
    python::preorder(args, |n| {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return Visit::Stop; // nested log calls would make this quadratic: what is left is not read
        }
        if python::is_scope(n) || (n.kind() == "call" && masks(n, src)) {
            return Visit::Skip;
        }
        let field = match n.kind() {
            "keyword_argument" => Some(fields::name()),
            "attribute" => Some(fields::attribute()),
            _ => None,
        };
        if let Some(name) = field.and_then(|f| n.child_by_field_id(f)) {
            names.insert(name.start_byte());
        }
        if !names.contains(&n.start_byte()) {
            out.extend(param(n));
        }
        Visit::Descend
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// Does a call hide what it is given (`strutils.mask_password(x)`, `len(x)`, `type(x)`)?
fn masks(call: Node<'_>, src: &str) -> bool {
    python::callee_last_name(call, src).is_some_and(|last| {
        last.to_ascii_lowercase().contains("mask")
            || matches!(last, "len" | "type" | "bool" | "isinstance" | "id" | "hash")
    })
}
