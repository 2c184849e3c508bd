//! The project model's facts about this module (see [`crate::model::facts`]), gathered on the file's
//! single walk by [`MODEL`]: imports and module-level aliases, classes (bases, attribute classes, RPC
//! targets), and per function its parameters, decorators, calls and local facts. What counts as a
//! wait, a log call, an elevation, a write with a context or an authorization check is each family's
//! own predicate (`retry::backoff`, `python`'s logger recognition, `context::names`), so the model and
//! the rules never disagree about it.
//!
//! A function's body is not read again: the walk hands the gatherer its calls, returns, raises and
//! expression statements (`on_call`, `on_return`, `on_raise`, `on_statement`), each recorded for the
//! innermost open scope if that is a function and the node is in its body (a nested function, class
//! or lambda has its own facts, or none); the function's facts are complete when the walk leaves it.

use super::context::names::{
    ContextWrite, admin_context_call, context_write, elevated_receiver, is_context_param, is_guard_call,
};
use super::logs::words;
use super::retry::backoff::is_wait_call;
use crate::checker::{Checker, Gatherer};
use crate::finding::Span;
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

/// What the gatherer keeps while it walks a file (the checker's scratch).
#[derive(Default)]
struct Walk {
    /// The names a call's callee can start with and still reach a project function (see [`module`]).
    known: HashSet<String>,
    /// Decorators of the definitions met, by the definition's start byte (a `decorated_definition`
    /// is visited before the definition it wraps).
    decorators: BTreeMap<usize, Vec<String>>,
    /// The functions, classes and lambdas the walk is in, innermost last (`None`: not a function
    /// whose facts are recorded).
    scopes: Vec<Option<Box<Open>>>,
    /// Functions with nothing to summarise, in the order the walk met them (`None`: one that has
    /// something, or not finished); moved to the facts when the walk is out of every scope.
    trivial: Vec<Option<String>>,
}

impl Gatherer for ModelFacts {
    fn name(&self) -> &'static str {
        "model"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &[
            "module",
            "decorated_definition",
            "class_definition",
            "function_definition",
            "lambda",
            "call",
            "return_statement",
            "raise_statement",
            "expression_statement",
        ]
    }

    fn gather(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let ids = Ids::get();
        let kind = node.kind_id();
        let mut walk: Walk = cx.take_scratch();
        if kind == ids.module {
            walk.known = module(node, cx);
        } else if kind == ids.decorated_definition {
            decorators(node, &mut walk, cx);
        } else if kind == ids.class_definition {
            class(node, cx);
            walk.scopes.push(None);
        } else if kind == ids.function_definition {
            let open = function(node, &mut walk, cx);
            walk.scopes.push(open);
        } else if kind == ids.lambda {
            walk.scopes.push(None);
        } else if let Some(Some(open)) = walk.scopes.last_mut()
            && open.holds(node)
        {
            let known = &walk.known;
            if kind == ids.call {
                on_call(node, open, known, cx);
            } else if kind == ids.return_statement {
                on_return(node, open, cx);
            } else if kind == ids.raise_statement {
                on_raise(node, open, cx);
            } else if kind == ids.expression_statement {
                on_statement(node, open, cx);
            }
        }
        cx.put_scratch(walk);
    }

    fn leave_kinds(&self) -> &'static [&'static str] {
        &["class_definition", "function_definition", "lambda"]
    }

    fn leave(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let mut walk: Walk = cx.take_scratch();
        if let Some(Some(open)) = walk.scopes.pop() {
            let slot = open.slot;
            if let Some(trivial) = close(node, *open, cx) {
                walk.trivial[slot] = Some(trivial);
            }
        }
        if walk.scopes.is_empty() {
            cx.model.trivial.extend(walk.trivial.drain(..).flatten());
        }
        cx.put_scratch(walk);
    }
}

/// Imports (also in module-level `try`/`if` blocks) and `name = dotted.path` aliases; returns the
/// names a call's callee can start with and still reach a project function: `self`, `cls`,
/// `super()`, and the names the module binds at its top level (imports, aliases, functions, classes).
/// A call through a local, a parameter or a builtin is not recorded: the model could not resolve it.
fn module(root: Node<'_>, cx: &mut Checker<'_>) -> HashSet<String> {
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
    names
}

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

fn decorators(node: Node<'_>, walk: &mut Walk, cx: &Checker<'_>) {
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
    walk.decorators.insert(def.start_byte(), names);
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
    cx.model.classes.insert(name, Box::new(facts));
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

/// A function the walk is in: what is known of it so far.
struct Open {
    /// Its place in [`Walk::trivial`].
    slot: usize,
    qualified: String,
    /// It is a set-up method (`__init__`…) of a class: its `self.attr = X(...)` go to the class.
    setup: bool,
    class: Option<String>,
    params: Vec<String>,
    /// The parameters that are request contexts (`context`, `ctx`, `*_context`).
    contexts: Vec<u8>,
    decorators: Vec<String>,
    span: Span,
    /// The byte range of its body.
    body: (usize, usize),
    /// The depth of the body's statements in the tree (see [`Checker::depth`]).
    statements: usize,
    /// The start byte of the call that is the last statement of the body itself met so far (a call
    /// starting there is met before the next statement, so the last one is all that is asked about).
    top: Option<usize>,
    /// The start byte of the last call returned as it is (`return f(...)`), likewise.
    returned: Option<usize>,
    return_seen: bool,
    /// The first `raise`.
    first_raise: Option<Span>,
    calls: Vec<CallSite>,
    local: Local,
    self_attrs: Vec<(String, String)>,
}

impl Open {
    /// Is `node`, met while this is the innermost open scope, in its body (not its parameters)?
    fn holds(&self, node: Node<'_>) -> bool {
        self.body.0 <= node.start_byte() && node.end_byte() <= self.body.1
    }
}

/// The index of the parameter `node` is, if it is a bare parameter name.
fn param(params: &[String], node: Node<'_>, src: &str) -> Option<u8> {
    if node.kind_id() != fields::kinds::identifier() {
        return None;
    }
    let name = text(node, src);
    params.iter().position(|p| p == name).and_then(|i| u8::try_from(i).ok())
}

/// A function met on the walk: `None` if it has no name or no body (a scope all the same).
fn function(node: Node<'_>, walk: &mut Walk, cx: &Checker<'_>) -> Option<Box<Open>> {
    let src = cx.text();
    let qualified = cx.scope_at(node.start_byte());
    let (Some(name), Some(body)) = (node.child_by_field_id(fields::name()), node.child_by_field_id(fields::body()))
    else {
        return None;
    };
    let class =
        qualified.rsplit_once('.').map(|(c, _)| c).filter(|c| cx.model.classes.contains_key(*c)).map(str::to_string);
    let params = node.child_by_field_id(fields::parameters()).map(|p| parameters(p, src)).unwrap_or_default();
    let contexts = (0..params.len().min(usize::from(u8::MAX)))
        .filter(|&i| is_context_param(&params[i], &cx.knobs.context))
        .filter_map(|i| u8::try_from(i).ok())
        .collect();
    let decorators = walk.decorators.remove(&node.start_byte()).unwrap_or_default();
    walk.trivial.push(None);
    Some(Box::new(Open {
        slot: walk.trivial.len() - 1,
        setup: class.is_some() && SETUP_METHODS.contains(&text(name, src)),
        qualified,
        class,
        params,
        contexts,
        decorators,
        span: cx.node_span(name),
        body: (body.start_byte(), body.end_byte()),
        statements: cx.depth() + 2,
        top: None,
        returned: None,
        return_seen: false,
        first_raise: None,
        calls: Vec::new(),
        local: Local::default(),
        self_attrs: Vec::new(),
    }))
}

/// The walk has left function `node`: its facts go to the module's (its set-up assignments to its
/// class's). Returns its name if it has nothing to summarise.
fn close(node: Node<'_>, open: Open, cx: &mut Checker<'_>) -> Option<String> {
    let Open { qualified, setup, class, params, decorators, span, mut calls, mut local, self_attrs, .. } = open;
    if let Some(raise) = open.first_raise
        && let Some(body) = node.child_by_field_id(fields::body())
        && python::flow::exits(body, cx.text(), &cx.imports).always_raises()
    {
        local.raises = Some(raise);
    }
    if setup && let Some(facts) = class.as_ref().and_then(|c| cx.model.classes.get_mut(c)) {
        for (attr, callee) in self_attrs {
            facts.rpc_target |= attr == "target" && python::last_segment(&callee) == "Target";
            facts.attrs.entry(attr).or_insert(callee);
        }
    }
    if calls.is_empty() && local.is_empty() {
        return Some(qualified); // nothing to summarise: kept by name only
    }
    calls.shrink_to_fit(); // kept until the scan ends, for every file: no room to grow
    let facts = FunctionFacts { params, decorators, class, span, calls, local };
    cx.model.functions.insert(qualified, Box::new(facts));
    None
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

/// A call in a function's body: a wait, a log call, a call the model can follow.
fn on_call(n: Node<'_>, open: &mut Open, known: &HashSet<String>, cx: &Checker<'_>) {
    let src = cx.text();
    if open.local.waits.is_none() && is_wait_call(n, src, &cx.knobs.retry.wait_functions) {
        open.local.waits = Some(cx.node_span(n));
    }
    let params = &open.params;
    let param = |v: Node<'_>| param(params, v, src);
    if python::logger_call(n, src, &cx.loggers).is_some() {
        // A parameter whose own name says secret is reported where it is logged (TG301 in the
        // helper itself): its callers are not told again.
        let named_secret = |p: &u8| {
            params.get(usize::from(*p)).is_some_and(|name| words::classify_with(name, &cx.knobs.sensitive).is_some())
        };
        for p in logged_params(n, src, &param).into_iter().filter(|p| !named_secret(p)) {
            open.local.logs.entry(p).or_insert_with(|| cx.node_span(n));
        }
    }
    if !open.contexts.is_empty() {
        context_use(n, &open.contexts, &param, cx, &mut open.local);
    }
    let reachable = |c: &String| known.contains(c.split('.').next().unwrap_or(c));
    if let Some(callee) = python::callee_path(n, src).filter(reachable) {
        let start = n.start_byte();
        let site = CallSite {
            callee,
            span: cx.node_span(n),
            args: arguments(n, src, &param),
            every_path: open.top == Some(start) && !open.return_seen,
            returned: open.returned == Some(start),
        };
        open.calls.push(site);
    }
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

/// A `return` in a function's body: what it returns, if a call, and whether that elevates.
fn on_return(n: Node<'_>, open: &mut Open, cx: &Checker<'_>) {
    open.return_seen = true;
    let Some(value) = n.named_child(0).map(python::unparenthesize).filter(|v| v.kind() == "call") else { return };
    open.returned = Some(value.start_byte());
    let src = cx.text();
    let elevates = elevated_receiver(value, src).is_some() || admin_context_call(value, src);
    if elevates && open.local.elevates.is_none() {
        open.local.elevates = Some(cx.node_span(value));
    }
}

/// A `raise` in a function's body: the first one, and a parameter raised as it is.
fn on_raise(n: Node<'_>, open: &mut Open, cx: &Checker<'_>) {
    if open.first_raise.is_none() {
        open.first_raise = Some(cx.node_span(n));
    }
    if let Some(p) = n.named_child(0).and_then(|v| param(&open.params, v, cx.text())) {
        open.local.reraises.entry(p).or_insert_with(|| cx.node_span(n));
    }
}

/// An expression statement in a function's body: a call that is a statement of the body itself
/// (awaited or not), or in a set-up method `self.attr = X(...)`.
fn on_statement(n: Node<'_>, open: &mut Open, cx: &Checker<'_>) {
    let Some(expr) = n.named_child(0) else { return };
    if cx.depth() == open.statements {
        let ids = Ids::get();
        let call = if expr.kind_id() == ids.await_ { expr.named_child(0).unwrap_or(expr) } else { expr };
        if call.kind_id() == ids.call {
            open.top = Some(call.start_byte());
        }
    }
    if open.setup {
        open.self_attrs.extend(constructed(n, cx.text(), true));
    }
}

/// Node-kind ids the gatherer compares (`Node::kind()` builds a string for every node).
struct Ids {
    module: u16,
    decorated_definition: u16,
    class_definition: u16,
    function_definition: u16,
    lambda: u16,
    await_: u16,
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
                module: id("module"),
                decorated_definition: id("decorated_definition"),
                class_definition: id("class_definition"),
                function_definition: id("function_definition"),
                lambda: id("lambda"),
                await_: id("await"),
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
