//! Per-function taint analysis for the request-context rules.
//!
//! One pass over a function body in source order (not entering nested scopes) tracks, per local
//! name, whether it holds the request context, an escalated context, or data read with an escalated
//! context (and whether that data is an object whose `.update()` writes). Assignments take effect
//! after their statement; branches are not merged (the last binding in source order wins), which is
//! what straight-line plugin code needs. Every parameter is also seeded with its own origin so that
//! the same pass yields the function's summary: which parameters, when they hold an escalated
//! context (or an object fetched with one), reach a write. Expression evaluation is iterative and
//! memoised per node, so deep nesting costs neither stack nor quadratic time.

use super::names::{self, Escalation};
use crate::config::ContextSettings;
use crate::python::fields;
use crate::python::flow::{self, Exits};
use crate::python::{self, Imports, callee_last_name, named_children, text, unparenthesize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tree_sitter::Node;

/// Where an escalated value comes from.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Origin {
    /// The function's parameter at this index (`self` not counted): used for summaries.
    Param(usize),
    /// The function's own escalation at this index of [`FnFacts::escalations`].
    Local(usize),
}

/// What a value carries.
#[derive(Clone, Default, Debug, PartialEq)]
struct Taint {
    /// It is the caller's request context.
    req: bool,
    /// It is an escalated context.
    ctx: BTreeSet<Origin>,
    /// It is data read with an escalated context.
    data: BTreeSet<Origin>,
    /// It is an object fetched with an escalated context (its `.update()` writes).
    obj: BTreeSet<Origin>,
}

impl Taint {
    fn union(&mut self, other: &Taint) {
        self.req |= other.req;
        self.ctx.extend(other.ctx.iter().copied());
        self.data.extend(other.data.iter().copied());
        self.obj.extend(other.obj.iter().copied());
    }

    fn absorb_as_data(&mut self, other: &Taint) {
        self.data.extend(other.data.iter().copied());
        self.data.extend(other.obj.iter().copied());
    }
}

/// An escalation call in the function.
#[derive(Debug, Clone, Copy)]
pub struct EscalationSite<'t> {
    pub call: Node<'t>,
    pub kind: Escalation,
}

/// How an escalated value reaches a write or a return: the helper calls it goes through (outermost
/// first) and the sink itself.
#[derive(Debug, Clone)]
pub struct Chain<'t> {
    pub steps: Vec<Node<'t>>,
    pub sink: Node<'t>,
    /// How to name the sink in a message: "the write `self.core_plugin.update_port()`".
    pub what: String,
    pub is_return: bool,
}

/// An escalated value of `origin` reaching a sink.
#[derive(Debug, Clone)]
pub struct Sink<'t> {
    pub origin: Origin,
    /// Reached as an object fetched with the context (not as the context itself).
    pub via_obj: bool,
    pub chain: Chain<'t>,
}

/// What one function does with contexts.
#[derive(Debug)]
pub struct FnFacts<'t> {
    pub name: String,
    pub params: Vec<String>,
    pub escalations: Vec<EscalationSite<'t>>,
    pub sinks: Vec<Sink<'t>>,
    /// Start bytes of authorization checks and ownership tests that raise or return.
    pub guards: Vec<usize>,
    /// Does the function receive a request context (parameter, `payload.context`, `request.context`)?
    pub has_request_context: bool,
    /// `ctx.is_admin = True` / `ctx.roles.append('admin')` on a request context: (node, what).
    pub made_admin: Vec<(Node<'t>, String)>,
    /// Calls outside the unit that receive the escalated context of an origin: whether they write
    /// with it is the project model's answer.
    pub model_sinks: Vec<(Origin, ModelCall<'t>)>,
    /// Calls outside the unit that receive the request context itself: one that checks the caller's
    /// rights on it (the project model says) is a guard.
    pub model_guards: Vec<ModelCall<'t>>,
}

/// A context handed to a call the unit cannot follow, as argument `arg`.
#[derive(Debug, Clone)]
pub struct ModelCall<'t> {
    pub call: Node<'t>,
    /// The callee as a symbolic path (`self.plugin.sync_ports`, `utils.f`).
    pub callee: String,
    pub arg: crate::model::facts::Arg,
}

/// Which parameters of a function write when they hold an escalated context (`ctx_writes`) or an
/// object fetched with one (`obj_writes`), with one witness chain each.
#[derive(Debug, Clone, Default)]
pub struct Summary<'t> {
    pub params: Vec<String>,
    pub ctx_writes: BTreeMap<usize, Chain<'t>>,
    pub obj_writes: BTreeMap<usize, Chain<'t>>,
}

impl Summary<'_> {
    /// No parameter reaches a write.
    pub fn is_empty(&self) -> bool {
        self.ctx_writes.is_empty() && self.obj_writes.is_empty()
    }

    /// Same parameters reach writes (witnesses aside)?
    pub fn same_shape(&self, other: &Summary<'_>) -> bool {
        self.ctx_writes.keys().eq(other.ctx_writes.keys()) && self.obj_writes.keys().eq(other.obj_writes.keys())
    }
}

/// How calls to functions of the same unit are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Methods of one class: `self.m(...)`, `cls.m(...)`.
    Class,
    /// Module-level functions: `f(...)`.
    Module,
}

/// Summaries of the unit's functions by name.
pub type Summaries<'t> = HashMap<String, Summary<'t>>;

/// The summary a function's facts imply.
pub fn summary_of<'t>(facts: &FnFacts<'t>) -> Summary<'t> {
    let mut s = Summary { params: facts.params.clone(), ..Summary::default() };
    for sink in facts.sinks.iter().filter(|s| !s.chain.is_return) {
        let Origin::Param(i) = sink.origin else { continue };
        let map = if sink.via_obj { &mut s.obj_writes } else { &mut s.ctx_writes };
        let shorter = map.get(&i).is_none_or(|c| c.steps.len() > sink.chain.steps.len());
        if shorter {
            map.insert(i, sink.chain.clone());
        }
    }
    s
}

/// Parameter names of `func` (without `self`/`cls` for methods); `*args`/`**kwargs` are skipped but
/// keep their position.
pub fn parameters(func: Node<'_>, src: &str, unit: Unit) -> Vec<String> {
    let Some(params) = func.child_by_field_id(fields::parameters()) else { return Vec::new() };
    let mut names: Vec<String> = named_children(params)
        .into_iter()
        .filter_map(|p| match p.kind() {
            "identifier" => Some(text(p, src).to_string()),
            "typed_parameter" => {
                p.named_child(0).filter(|n| n.kind() == "identifier").map(|n| text(n, src).to_string())
            }
            "default_parameter" | "typed_default_parameter" => {
                p.child_by_field_id(fields::name()).map(|n| text(n, src).to_string())
            }
            "list_splat_pattern" | "dictionary_splat_pattern" => Some(String::new()),
            _ => None,
        })
        .collect();
    if unit == Unit::Class && names.first().is_some_and(|n| matches!(n.as_str(), "self" | "cls" | "mcs")) {
        names.remove(0);
    }
    names
}

/// Analyses one function with the unit's current summaries.
pub fn analyse_function<'t>(
    func: Node<'t>,
    src: &str,
    imports: &Imports,
    vocab: &ContextSettings,
    unit: Unit,
    summaries: &Summaries<'t>,
) -> FnFacts<'t> {
    let name = func.child_by_field_id(fields::name()).map(|n| text(n, src).to_string()).unwrap_or_default();
    let params = parameters(func, src, unit);
    let mut a = Analyser {
        src,
        imports,
        vocab,
        unit,
        summaries,
        env: HashMap::new(),
        cache: HashMap::new(),
        esc_index: HashMap::new(),
        facts: FnFacts {
            name,
            params: params.clone(),
            escalations: Vec::new(),
            sinks: Vec::new(),
            guards: Vec::new(),
            has_request_context: params.iter().any(|p| names::is_context_param(p, vocab)),
            made_admin: Vec::new(),
            model_sinks: Vec::new(),
            model_guards: Vec::new(),
        },
    };
    for (i, p) in params.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        let origin = BTreeSet::from([Origin::Param(i)]);
        let taint =
            Taint { req: names::is_context_param(p, vocab), ctx: origin.clone(), data: BTreeSet::new(), obj: origin };
        a.env.insert(p.clone(), taint);
    }
    if let Some(body) = func.child_by_field_id(fields::body()) {
        a.walk(body);
    }
    a.facts
}

struct Analyser<'t, 's> {
    src: &'s str,
    imports: &'s Imports,
    /// Configured additions to the context/guard/write vocabulary.
    vocab: &'s ContextSettings,
    unit: Unit,
    summaries: &'s Summaries<'t>,
    env: HashMap<String, Taint>,
    /// Taint of already evaluated expression nodes under the current bindings.
    cache: HashMap<usize, Taint>,
    esc_index: HashMap<usize, usize>,
    facts: FnFacts<'t>,
}

/// Bindings that take effect once the walk passes `end` (the end of their statement or header).
struct Pending {
    end: usize,
    bindings: Vec<(String, Taint)>,
}

impl<'t> Analyser<'t, '_> {
    fn walk(&mut self, body: Node<'t>) {
        let mut pending: Vec<Pending> = Vec::new();
        for n in python::descendants_in_scope(body) {
            if pending.iter().any(|p| p.end <= n.start_byte()) {
                let (due, rest): (Vec<Pending>, Vec<Pending>) =
                    pending.into_iter().partition(|p| p.end <= n.start_byte());
                pending = rest;
                for p in due {
                    for (name, taint) in p.bindings {
                        self.env.insert(name, taint);
                    }
                }
                self.cache.clear();
            }
            match n.kind() {
                "assignment" => self.assignment(n, &mut pending),
                "augmented_assignment" => self.augmented(n),
                "for_statement" | "for_in_clause" => self.for_loop(n, &mut pending),
                "as_pattern" => self.with_alias(n, &mut pending),
                "call" => self.call(n),
                "return_statement" => self.ret(n),
                "if_statement" | "elif_clause" => self.guard_test(n),
                "attribute" if self.is_carried_context(n) => self.facts.has_request_context = true,
                _ => {}
            }
        }
    }

    fn assignment(&mut self, n: Node<'t>, pending: &mut Vec<Pending>) {
        let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
        else {
            return;
        };
        if left.kind() == "attribute" {
            self.made_admin_attr(n, left, right);
        }
        let rt = self.eval(right);
        let bindings = self.bind_targets(left, &rt, false);
        if !bindings.is_empty() {
            pending.push(Pending { end: n.end_byte(), bindings });
        }
    }

    /// Bindings for a target: a name takes the whole taint; names unpacked from a tuple take what
    /// was read (`data`/`obj`), never the context itself. Loop targets are elements.
    fn bind_targets(&self, left: Node<'t>, taint: &Taint, element: bool) -> Vec<(String, Taint)> {
        let left = unparenthesize(left);
        if left.kind() == "identifier" {
            let t = if element {
                Taint {
                    data: taint.data.union(&taint.obj).copied().collect(),
                    obj: taint.obj.clone(),
                    ..Taint::default()
                }
            } else {
                taint.clone()
            };
            return vec![(text(left, self.src).to_string(), t)];
        }
        if !matches!(left.kind(), "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list") {
            return Vec::new();
        }
        let part =
            Taint { data: taint.data.union(&taint.obj).copied().collect(), obj: taint.obj.clone(), ..Taint::default() };
        named_children(left)
            .into_iter()
            .filter(|c| c.kind() == "identifier")
            .map(|c| (text(c, self.src).to_string(), part.clone()))
            .collect()
    }

    fn augmented(&mut self, n: Node<'t>) {
        let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
        else {
            return;
        };
        if left.kind() == "attribute" {
            self.made_admin_attr(n, left, right);
        }
    }

    /// `ctx.is_admin = True`, `ctx.roles = [..., 'admin']`, `ctx.roles += ['admin']` on a request context.
    fn made_admin_attr(&mut self, stmt: Node<'t>, left: Node<'t>, right: Node<'t>) {
        let (Some(obj), Some(attr)) =
            (left.child_by_field_id(fields::object()), left.child_by_field_id(fields::attribute()))
        else {
            return;
        };
        let attr = text(attr, self.src);
        let hit = match attr {
            "is_admin" => stmt.kind() == "assignment" && text(right, self.src) == "True",
            "roles" => names::mentions_admin_role(right, self.src),
            _ => false,
        };
        if hit && self.eval(obj).req && !names::under_is_admin_test(stmt, self.src) {
            let what = format!("`{}`", short(text(stmt, self.src)));
            self.facts.made_admin.push((stmt, what));
        }
    }

    fn for_loop(&mut self, n: Node<'t>, pending: &mut Vec<Pending>) {
        let (Some(left), Some(right)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
        else {
            return;
        };
        let rt = self.eval(right);
        let bindings = self.bind_targets(left, &rt, true);
        if !bindings.is_empty() {
            pending.push(Pending { end: right.end_byte(), bindings });
        }
    }

    /// `with X as y:` binds `y` to `X`.
    fn with_alias(&mut self, n: Node<'t>, pending: &mut Vec<Pending>) {
        if n.parent().is_none_or(|p| p.kind() != "with_item") {
            return;
        }
        let (Some(value), Some(target)) = (n.named_child(0), n.child_by_field_id(fields::alias())) else { return };
        let t = self.eval(value);
        let target = target.named_child(0).unwrap_or(target);
        let bindings = self.bind_targets(target, &t, false);
        if !bindings.is_empty() {
            pending.push(Pending { end: n.end_byte(), bindings });
        }
    }

    fn ret(&mut self, n: Node<'t>) {
        let Some(value) = n.named_child(0) else { return };
        if names::is_verdict(value, self.src) {
            return;
        }
        let t = self.eval(value);
        for origin in t.data.union(&t.obj).copied().collect::<Vec<_>>() {
            let chain = Chain { steps: Vec::new(), sink: n, what: "the `return`".to_string(), is_return: true };
            self.facts.sinks.push(Sink { origin, via_obj: false, chain });
        }
    }

    fn guard_test(&mut self, n: Node<'t>) {
        let (Some(cond), Some(body)) =
            (n.child_by_field_id(fields::condition()), n.child_by_field_id(fields::consequence()))
        else {
            return;
        };
        if !names::is_guard_test(cond, self.src) {
            return;
        }
        let exits = flow::exits(body, self.src, self.imports);
        if !exits.contains(Exits::FALL) && !exits.contains(Exits::UNKNOWN) {
            self.facts.guards.push(n.start_byte());
        }
    }

    fn call(&mut self, call: Node<'t>) {
        let src = self.src;
        if names::is_guard_call(call, src, self.vocab) {
            self.facts.guards.push(call.start_byte());
        }
        let Some(func) = call.child_by_field_id(fields::function()) else { return };
        let last = callee_last_name(call, src).unwrap_or("");
        let args = arguments(call, src);
        let mut ctx_args = BTreeSet::new();
        for (_, arg) in &args {
            ctx_args.extend(self.eval(*arg).ctx);
        }
        let callee = format!("`{}()`", short(text(func, src)));
        // `ctx.roles.append('admin')` on a request context.
        if matches!(last, "append" | "extend" | "add")
            && let Some(roles) = func.child_by_field_id(fields::object()).filter(|o| o.kind() == "attribute")
            && roles.child_by_field_id(fields::attribute()).is_some_and(|a| text(a, src) == "roles")
            && args.iter().any(|(_, a)| names::mentions_admin_role(*a, src))
            && let Some(owner) = roles.child_by_field_id(fields::object())
            && self.eval(owner).req
            && !names::under_is_admin_test(call, src)
        {
            let what = format!("`{}`", short(text(call, src)));
            self.facts.made_admin.push((call, what));
        }
        // A write that receives the escalated context: a write-named call, `with
        // db_api.CONTEXT_WRITER.using(el):`, `el.session.add(...)`.
        let write = names::context_write(call, src, self.vocab);
        match write {
            Some(names::ContextWrite::Arguments) => self.push_sinks(&ctx_args, false, call, &callee),
            Some(names::ContextWrite::Transaction) => {
                let what = format!("`{}`", short(text(call, src)));
                self.push_sinks(&ctx_args, false, call, &what);
            }
            Some(names::ContextWrite::Session(owner)) => {
                let ctxs = self.eval(owner).ctx;
                self.push_sinks(&ctxs, false, call, &callee);
            }
            None => {}
        }
        // `obj.update()` on an object fetched with the escalated context.
        if func.kind() == "attribute"
            && names::OBJECT_WRITES.contains(&last)
            && let Some(recv) = func.child_by_field_id(fields::object())
        {
            let objs = self.eval(recv).obj;
            self.push_sinks(&objs, true, call, &callee);
        }
        if !self.same_unit_call(call, func, &args) && write.is_none() && !names::is_guard_call(call, src, self.vocab) {
            self.model_call(call);
        }
    }

    /// A call the unit cannot follow (another class's method, a mixin's, another module's function)
    /// that receives a context: whether it writes with an escalated one, or checks the caller's
    /// rights on the request context, is the project model's answer.
    fn model_call(&mut self, call: Node<'t>) {
        let src = self.src;
        let Some(callee) = python::callee_path(call, src) else { return };
        for (slot, value) in python::argument_slots(call, src) {
            let Some(slot) = slot else { continue };
            let arg = crate::rules::facts::arg(slot);
            let taint = self.eval(value);
            let handed = || ModelCall { call, callee: callee.clone(), arg: arg.clone() };
            if taint.req {
                self.facts.model_guards.push(handed());
            }
            for origin in taint.ctx.iter().filter(|o| matches!(o, Origin::Local(_))) {
                self.facts.model_sinks.push((*origin, handed()));
            }
        }
    }

    /// A call to a function of the same unit whose summary says the argument reaches a write. Is the
    /// callee a function of the unit (`summaries` names every one)?
    fn same_unit_call(&mut self, call: Node<'t>, func: Node<'t>, args: &[(Option<&str>, Node<'t>)]) -> bool {
        let src = self.src;
        let target = match (self.unit, func.kind()) {
            (Unit::Class, "attribute") => {
                let recv = func.child_by_field_id(fields::object()).map(|o| text(o, src));
                if !matches!(recv, Some("self" | "cls")) {
                    return false;
                }
                func.child_by_field_id(fields::attribute()).map(|a| text(a, src))
            }
            (Unit::Module, "identifier") => Some(text(func, src)),
            _ => None,
        };
        let summaries = self.summaries;
        let Some(summary) = target.and_then(|t| summaries.get(t)) else { return false };
        let mut found: Vec<(BTreeSet<Origin>, bool, Chain<'t>)> = Vec::new();
        for (via_obj, map) in [(false, &summary.ctx_writes), (true, &summary.obj_writes)] {
            for (&i, chain) in map {
                let Some(arg) = argument_for(args, i, &summary.params) else { continue };
                let t = self.eval(arg);
                let origins = if via_obj { t.obj } else { t.ctx };
                if origins.is_empty() {
                    continue;
                }
                let mut steps = Vec::with_capacity(chain.steps.len() + 1);
                steps.push(call);
                steps.extend(chain.steps.iter().copied());
                found.push((origins, via_obj, Chain { steps, ..chain.clone() }));
            }
        }
        for (origins, via_obj, chain) in found {
            for origin in origins {
                self.facts.sinks.push(Sink { origin, via_obj, chain: chain.clone() });
            }
        }
        true
    }

    fn push_sinks(&mut self, origins: &BTreeSet<Origin>, via_obj: bool, sink: Node<'t>, what: &str) {
        for &origin in origins {
            let chain = Chain { steps: Vec::new(), sink, what: format!("the write {what}"), is_return: false };
            self.facts.sinks.push(Sink { origin, via_obj, chain });
        }
    }

    /// `payload.context`, `request.context`; and the context an object handed in as a parameter
    /// carries (`task.context`, `job._context`: ironic's task manager, a conductor's job), which is
    /// the caller's request context too. `self.context` is the object's own, not the caller's.
    fn is_carried_context(&self, attr: Node<'_>) -> bool {
        let src = self.src;
        let Some(attr_name) = attr.child_by_field_id(fields::attribute()).map(|a| text(a, src)) else { return false };
        let Some(owner) = attr.child_by_field_id(fields::object()).filter(|o| o.kind() == "identifier") else {
            return false;
        };
        let owner = text(owner, src);
        if attr_name == "context" && names::CONTEXT_CARRIERS.contains(&owner) {
            return true;
        }
        names::CARRIED_CONTEXT_ATTRS.contains(&attr_name)
            && !matches!(owner, "self" | "cls")
            && !names::is_context_param(owner, self.vocab)
            && self.facts.params.iter().any(|p| p == owner)
    }

    fn register(&mut self, call: Node<'t>, kind: Escalation) -> Origin {
        let next = self.facts.escalations.len();
        let idx = *self.esc_index.entry(call.id()).or_insert(next);
        if idx == next {
            self.facts.escalations.push(EscalationSite { call, kind });
        }
        Origin::Local(idx)
    }

    /// The taint of an expression under the current bindings. Iterative post-order, memoised.
    fn eval(&mut self, root: Node<'t>) -> Taint {
        if let Some(t) = self.cache.get(&root.id()) {
            return t.clone();
        }
        let mut stack = vec![(root, false)];
        while let Some((n, expanded)) = stack.pop() {
            if self.cache.contains_key(&n.id()) {
                continue;
            }
            if !expanded && !python::is_scope(n) {
                stack.push((n, true));
                for c in named_children(n) {
                    if !self.cache.contains_key(&c.id()) {
                        stack.push((c, false));
                    }
                }
                continue;
            }
            let t = if python::is_scope(n) { Taint::default() } else { self.combine(n) };
            self.cache.insert(n.id(), t);
        }
        self.cache.get(&root.id()).cloned().unwrap_or_default()
    }

    fn taint_of(&self, n: Option<Node<'_>>) -> Taint {
        n.and_then(|n| self.cache.get(&n.id())).cloned().unwrap_or_default()
    }

    /// The taint of `n` from its children's (already evaluated).
    fn combine(&mut self, n: Node<'t>) -> Taint {
        let src = self.src;
        match n.kind() {
            "identifier" => self.env.get(text(n, src)).cloned().unwrap_or_default(),
            "parenthesized_expression" | "await" => self.taint_of(n.named_child(0)),
            "keyword_argument" => self.taint_of(n.child_by_field_id(fields::value())),
            "attribute" => {
                let obj = n.child_by_field_id(fields::object());
                let attr = n.child_by_field_id(fields::attribute()).map_or("", |a| text(a, src));
                let ot = self.taint_of(obj);
                let mut t = Taint::default();
                t.absorb_as_data(&ot);
                if self.is_carried_context(n) || (names::PLUGIN_CONTEXT_ATTRS.contains(&attr) && ot.req) {
                    t.req = true;
                }
                if attr == "session" {
                    t.ctx = ot.ctx;
                }
                t
            }
            "call" => self.call_taint(n),
            "conditional_expression" | "boolean_operator" => {
                let mut t = Taint::default();
                for c in named_children(n) {
                    t.union(&self.taint_of(Some(c)));
                }
                t
            }
            "subscript" => {
                let mut t = Taint::default();
                for c in named_children(n) {
                    t.absorb_as_data(&self.taint_of(Some(c)));
                }
                t.obj = self.taint_of(n.child_by_field_id(fields::value())).obj;
                t
            }
            _ => {
                let mut t = Taint::default();
                for c in named_children(n) {
                    t.absorb_as_data(&self.taint_of(Some(c)));
                }
                t
            }
        }
    }

    fn call_taint(&mut self, call: Node<'t>) -> Taint {
        let src = self.src;
        if names::admin_context_call(call, src) {
            let origin = self.register(call, Escalation::Admin);
            return Taint { ctx: BTreeSet::from([origin]), ..Taint::default() };
        }
        if let Some(recv) = names::elevated_receiver(call, src) {
            let rt = self.taint_of(Some(recv));
            if rt.req || !rt.ctx.is_empty() {
                let mut t = Taint { ctx: rt.ctx, ..Taint::default() };
                if rt.req {
                    t.ctx.insert(self.register(call, Escalation::Elevated));
                }
                return t;
            }
        }
        if names::elevating_helper(call, src) {
            let req = arguments(call, src).iter().any(|(_, a)| self.taint_of(Some(*a)).req);
            if req {
                let origin = self.register(call, Escalation::Elevated);
                return Taint { ctx: BTreeSet::from([origin]), ..Taint::default() };
            }
        }
        let last = callee_last_name(call, src).unwrap_or("");
        let mut t = Taint::default();
        for (_, arg) in arguments(call, src) {
            let at = self.taint_of(Some(arg));
            if names::returns_object(last) {
                t.obj.extend(at.ctx.iter().copied());
            }
            t.data.extend(at.ctx.iter().copied());
            t.absorb_as_data(&at);
        }
        if let Some(func) = call.child_by_field_id(fields::function())
            && func.kind() == "attribute"
        {
            let rt = self.taint_of(func.child_by_field_id(fields::object()));
            t.absorb_as_data(&rt);
            t.data.extend(rt.ctx.iter().copied());
        }
        t
    }
}

/// Arguments of a call: (keyword name, value node); splats are included without a name.
fn arguments<'t, 's>(call: Node<'t>, src: &'s str) -> Vec<(Option<&'s str>, Node<'t>)> {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return Vec::new() };
    named_children(args)
        .into_iter()
        .filter(|a| a.kind() != "comment")
        .filter_map(|a| match a.kind() {
            "keyword_argument" => {
                Some((a.child_by_field_id(fields::name()).map(|n| text(n, src)), a.child_by_field_id(fields::value())?))
            }
            "list_splat" | "dictionary_splat" => Some((Some(""), a)),
            _ => Some((None, a)),
        })
        .collect()
}

/// The argument bound to parameter `index` (named `params[index]`).
fn argument_for<'t>(args: &[(Option<&str>, Node<'t>)], index: usize, params: &[String]) -> Option<Node<'t>> {
    if let Some(name) = params.get(index).filter(|n| !n.is_empty())
        && let Some((_, v)) = args.iter().find(|(k, _)| *k == Some(name.as_str()))
    {
        return Some(*v);
    }
    args.iter().filter(|(k, _)| k.is_none()).nth(index).map(|(_, v)| *v)
}

/// One line of at most 60 characters.
pub fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 { format!("{}…", one.chars().take(59).collect::<String>()) } else { one }
}
