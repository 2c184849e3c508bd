//! Request-context and privilege rules (TG4xx) and what they share.
//!
//! Neutron authorizes a request in the API layer; inside plugins, lookups with the caller's own
//! context are project-scoped. The danger is a context with more rights than the caller —
//! `context.elevated()` or `get_admin_context()` — reaching a write, or data read with it being
//! returned. [`dataflow`] follows contexts through one function; this module runs it over a whole
//! class (or a module's top-level functions) to a fixpoint, so that handing the escalated context to a
//! helper method that writes with it counts as a write, and picks, for every escalation, the first
//! write (or return) it reaches and whether a guard comes first.
//!
//! ENTRY POINTS. TG401/TG402 report escalations in the methods of RPC endpoint classes (and API
//! controllers) only, see [`names::is_entry_point_class`]. Their callers reach the plugin over the
//! message bus with no policy layer between them and the elevated write. In plugin classes, registry callbacks and module functions
//! the API layer has already authorized the operation on the parent resource, and the elevation
//! manages the system-owned resources that go with it (gateway ports, HA networks, DHCP ports):
//! on neutron 29.0.0 those were by design in every sampled case, so they stay quiet.

pub mod dataflow;
pub mod names;
pub mod policy;
pub mod tg401_unguarded_elevation;
pub mod tg402_admin_context_replaces_caller;
pub mod tg403_context_made_admin;
pub mod tg404_child_by_bare_id;
pub mod tg405_self_referential_policy_target;
pub mod tg406_unregistered_policy_action;
pub mod tg407_sibling_guard_skipped;
pub mod tg408_caller_supplied_owner;
pub mod tg409_policy_action_unlike_siblings;

use crate::checker::Checker;
use crate::finding::Related;
use crate::model::index::{CallRef, Condition};
use crate::python::fields;
use crate::python::named_children;
use dataflow::{Chain, EscalationSite, FnFacts, Origin, Summaries, Unit, analyse_function, summary_of};
pub use names::Escalation;
use tree_sitter::Node;

/// An unguarded escalation that reaches a write or a returned value.
pub struct Escalated<'t> {
    pub site: EscalationSite<'t>,
    pub chain: Chain<'t>,
    /// Calls outside the unit the escalated context is handed to: the finding stands if the project
    /// model finds one that writes with it (the chain's sink is the first of them). Empty when the
    /// write is in the unit.
    pub model: Vec<CallRef>,
    /// Calls before the first of `model` handed the request context: one the project model finds
    /// checking the caller's rights on it is a guard.
    pub guards: Vec<CallRef>,
}

/// Rounds of the summary fixpoint at most (each round can only grow the summaries).
const MAX_ROUNDS: usize = 12;

/// The functions a unit owns: methods directly in a class body, or a module's top-level functions
/// (decorated or not). Nested classes are units of their own; nested functions are not analysed.
pub fn unit_functions(node: Node<'_>) -> Vec<Node<'_>> {
    let body = match node.kind() {
        "class_definition" => node.child_by_field_id(fields::body()),
        "module" => Some(node),
        _ => None,
    };
    let Some(body) = body else { return Vec::new() };
    named_children(body)
        .into_iter()
        .filter_map(|c| match c.kind() {
            "function_definition" => Some(c),
            "decorated_definition" => {
                c.child_by_field_id(fields::definition()).filter(|d| d.kind() == "function_definition")
            }
            _ => None,
        })
        .collect()
}

/// Does the unit's text mention an escalation of this kind at all? (A cheap filter before the analysis.)
/// What a class must mention for TG401 to look at it (also its selective-parsing class trigger).
pub const ELEVATED: &str = ".elevated(";

/// What a class must mention for TG402 to look at it (also its selective-parsing class triggers).
pub const ADMIN: &[&str] = &["get_admin_context", "is_admin"];

fn mentions(text: &str, kind: Escalation) -> bool {
    match kind {
        Escalation::Elevated => {
            text.contains(ELEVATED) || names::ELEVATING_HELPER_FRAGMENTS.iter().any(|f| text.contains(f))
        }
        Escalation::Admin => ADMIN.iter().any(|w| text.contains(w)),
    }
}

/// Every unguarded escalation of `kind` in the unit rooted at `node` (a class or a module) that
/// reaches a write or a value returned to the caller.
pub fn unguarded<'t>(node: Node<'t>, cx: &mut Checker<'_>, kind: Escalation) -> Vec<Escalated<'t>> {
    if node.kind() != "class_definition" || !names::is_entry_point_class(node, cx) {
        return Vec::new(); // see ENTRY POINTS above
    }
    let unit = Unit::Class;
    let functions = unit_functions(node);
    if functions.is_empty() || !mentions(cx.node_text(node), kind) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for facts in fixpoint(&functions, cx, unit) {
        if kind == Escalation::Admin && !facts.has_request_context {
            continue; // periodic tasks, start-up: no caller to replace
        }
        for (idx, site) in facts.escalations.iter().enumerate().filter(|(_, s)| s.kind == kind) {
            if let Some(chain) = first_sink(&facts, idx) {
                out.push(Escalated { site: *site, chain, model: Vec::new(), guards: Vec::new() });
            } else if let Some(e) = model_sink(&facts, idx, *site, cx) {
                out.push(e);
            }
        }
    }
    out
}

/// Facts of every function, computed with summaries iterated until they stop changing.
fn fixpoint<'t>(functions: &[Node<'t>], cx: &Checker<'_>, unit: Unit) -> Vec<FnFacts<'t>> {
    let src = cx.text();
    // Every function of the unit is named (with an empty summary to start), so a call to one is
    // followed here and not asked of the project model.
    let mut summaries: Summaries = functions
        .iter()
        .filter_map(|f| f.child_by_field_id(fields::name()))
        .map(|n| (cx.node_text(n).to_string(), dataflow::Summary::default()))
        .collect();
    let mut facts = Vec::new();
    for _ in 0..MAX_ROUNDS {
        facts = functions
            .iter()
            .map(|f| analyse_function(*f, src, &cx.imports, &cx.knobs.context, unit, &summaries))
            .collect();
        let mut changed = false;
        for f in &facts {
            let s = summary_of(f);
            let same = summaries.get(&f.name).map_or(s.is_empty(), |old| old.same_shape(&s));
            if !same {
                summaries.insert(f.name.clone(), s);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    facts
}

/// The first write the escalation `idx` reaches (else, in a public function, the first return of
/// data read with it), unless a guard comes before it.
fn first_sink<'t>(facts: &FnFacts<'t>, idx: usize) -> Option<Chain<'t>> {
    let mine = || facts.sinks.iter().filter(|s| s.origin == Origin::Local(idx));
    let public = !facts.name.starts_with('_');
    let sink = mine().find(|s| !s.chain.is_return).or_else(|| mine().find(|s| s.chain.is_return && public))?;
    let at = sink.chain.steps.first().map_or(sink.chain.sink.start_byte(), |s| s.start_byte());
    if facts.guards.iter().any(|&g| g < at) {
        return None;
    }
    Some(sink.chain.clone())
}

/// The calls outside the unit that receive the escalation `idx` with no guard before them, as one
/// question to the project model ("does one of them write with it?"); the first is the chain's sink.
/// An escalation through a helper the model must confirm first is left alone (one question per
/// finding).
fn model_sink<'t>(
    facts: &FnFacts<'t>,
    idx: usize,
    site: EscalationSite<'t>,
    cx: &Checker<'_>,
) -> Option<Escalated<'t>> {
    if names::elevating_helper(site.call, cx.text()) {
        return None;
    }
    let calls: Vec<&dataflow::ModelCall<'t>> = facts
        .model_sinks
        .iter()
        .filter(|(o, m)| *o == Origin::Local(idx) && !facts.guards.iter().any(|&g| g < m.call.start_byte()))
        .map(|(_, m)| m)
        .collect();
    let first = calls.first()?.call;
    let call_ref = |m: &dataflow::ModelCall<'_>| CallRef {
        callee: m.callee.clone(),
        span: cx.node_span(m.call),
        arg: Some(m.arg.clone()),
    };
    let model = calls.iter().map(|m| call_ref(m)).collect();
    let guards = facts.model_guards.iter().filter(|g| g.call.start_byte() < first.start_byte()).map(call_ref).collect();
    let what = format!("`{}()`", dataflow::short(&calls[0].callee));
    let chain = Chain { steps: Vec::new(), sink: first, what, is_return: false };
    Some(Escalated { site, chain, model, guards })
}

/// "the write `x()` on line 12 (through `self._a()` → `self._b()`)"; for a write the project model
/// finds in another class or module, "a write in `{helper}`, which `x()` on line 12 hands it to" (the
/// model fills in the helper).
pub fn describe_sink(e: &Escalated<'_>, cx: &Checker<'_>) -> String {
    let chain = &e.chain;
    let line = cx.src.position(chain.sink.start_byte()).line;
    if !e.model.is_empty() {
        return format!("a write in `{{helper}}`, which {} on line {line} hands it to", chain.what);
    }
    let mut out = format!("{} on line {line}", chain.what);
    if !chain.steps.is_empty() {
        let via: Vec<String> = chain
            .steps
            .iter()
            .map(|s| {
                let f = s.child_by_field_id(fields::function()).unwrap_or(*s);
                format!("`{}()`", dataflow::short(cx.node_text(f)))
            })
            .collect();
        out.push_str(&format!(" (through {})", via.join(" → ")));
    }
    out
}

/// The sink as a related location and, for indirect sinks, the flow from the escalation through
/// each helper call to the sink: (related, flow).
pub fn locations(e: &Escalated<'_>, cx: &Checker<'_>, escalated: &str) -> (Vec<Related>, Vec<Related>) {
    let sink_msg = if e.chain.is_return {
        format!("{} hands data read with {escalated} back to the caller", e.chain.what)
    } else if !e.model.is_empty() {
        format!("{} hands {escalated} to a function that writes with it", e.chain.what)
    } else {
        format!("{} uses {escalated}", e.chain.what)
    };
    let created = format!("{escalated} is created here");
    let related = vec![cx.related(e.site.call, created.clone()), cx.related(e.chain.sink, sink_msg.clone())];
    let mut flow = Vec::new();
    if !e.model.is_empty() {
        // The project model adds the way through the helpers to the write.
        flow.push(cx.related(e.site.call, created));
    } else if !e.chain.steps.is_empty() {
        flow.push(cx.related(e.site.call, created));
        for step in &e.chain.steps {
            let f = step.child_by_field_id(fields::function()).unwrap_or(*step);
            flow.push(cx.related(*step, format!("passed to `{}()`", dataflow::short(cx.node_text(f)))));
        }
        flow.push(cx.related(e.chain.sink, sink_msg));
    }
    (related, flow)
}

/// Rank of an escalation whose write also receives an id the caller chose (a confused deputy), and
/// of one whose write does not.
const DEPUTY_RANK: &str = "90";
const ESCALATION_RANK: &str = "60";

/// Reports `e` as a finding of `rule` on the escalation call. When the call that leads to the write
/// also receives an id parameter of the function (`port_id`), the caller chooses what the admin
/// context writes — the confused-deputy shape: the message says so, the id's parameter is a related
/// location and the finding ranks higher.
pub fn report(cx: &mut Checker<'_>, rule: &'static str, e: &Escalated<'_>, escalated: &str, mut message: String) {
    let (mut related, flow) = locations(e, cx, escalated);
    let sink_line = cx.src.position(e.chain.sink.start_byte()).line.to_string();
    let deputy = caller_supplied_id(e, cx);
    if let Some((name, _)) = deputy {
        message.push_str(&format!(
            " The same write receives `{name}`, an id the caller chose: whoever calls this picks which object the admin context changes (a confused deputy)."
        ));
    }
    if let Some((name, param)) = deputy {
        related.push(cx.related(param, format!("`{name}` comes from the caller")));
    }
    let call = e.site.call;
    let finding = if !e.model.is_empty() {
        let condition = Condition::IfWrites { calls: e.model.clone(), guards: e.guards.clone() };
        cx.report_if(condition, rule, call.start_byte(), call.end_byte(), message)
    } else if names::elevating_helper(call, cx.text()) {
        // Through a helper: an elevation only if the project model finds it returns one.
        let callee = call
            .child_by_field_id(fields::function())
            .and_then(|f| crate::python::dotted_name(f, cx.text()))
            .unwrap_or_default();
        let condition = Condition::IfElevates(CallRef { callee, span: cx.node_span(call), arg: None });
        cx.report_if(condition, rule, call.start_byte(), call.end_byte(), message)
    } else {
        cx.report(rule, call, message)
    };
    finding.related = related;
    finding.flow = flow;
    finding.properties.insert("sinkLine".into(), sink_line);
    let rank = if let Some((name, _)) = deputy {
        finding.properties.insert("callerSuppliedId".into(), name.to_string());
        DEPUTY_RANK
    } else {
        ESCALATION_RANK
    };
    finding.properties.insert(crate::finding::RANK.into(), rank.into());
}

/// An id parameter (`id`, `*_id`, `*_ids`, `*uuid`) of the function holding the escalation that the
/// call leading to the write (the write itself, or the first helper call on the way) receives:
/// (name, the parameter's node).
fn caller_supplied_id<'t, 's: 't>(e: &Escalated<'t>, cx: &Checker<'s>) -> Option<(&'s str, Node<'t>)> {
    let src = cx.text();
    let func = cx.enclosing_function(e.site.call)?;
    let first = e.chain.steps.first().copied().unwrap_or(e.chain.sink);
    if e.chain.is_return || first.start_byte() < func.start_byte() || first.end_byte() > func.end_byte() {
        return None;
    }
    let params = func.child_by_field_id(fields::parameters())?;
    // (the name, where the caller supplies it): id parameters, and ids read from `**kwargs`.
    let mut sources: Vec<(&'s str, Node<'t>)> = named_children(params)
        .into_iter()
        .map(|p| if p.kind() == "identifier" { p } else { p.child_by_field_id(fields::name()).unwrap_or(p) })
        .filter(|p| p.kind() == "identifier" && is_id_name(crate::python::text(*p, src)))
        .map(|p| (crate::python::text(p, src), p))
        .collect();
    let splat = named_children(params)
        .into_iter()
        .find(|p| p.kind() == "dictionary_splat_pattern")
        .and_then(|p| p.named_child(0))
        .map(|n| crate::python::text(n, src));
    if let (Some(kwargs), Some(body)) = (splat, func.child_by_field_id(fields::body())) {
        sources.extend(ids_read_from(body, kwargs, first.start_byte(), src));
    }
    let sources: std::collections::HashMap<&'s str, Node<'t>> = sources.into_iter().rev().collect();
    let args = first.child_by_field_id(fields::arguments())?;
    let mut found = None;
    let mut keywords: std::collections::HashSet<usize> = std::collections::HashSet::new();
    crate::python::preorder(args, |n| {
        if n.kind() == "keyword_argument" {
            keywords.extend(n.child_by_field_id(fields::name()).map(|k| k.id()));
        }
        if n.kind() == "identifier"
            && !keywords.contains(&n.id())
            && let Some((name, at)) = sources.get_key_value(crate::python::text(n, src))
        {
            found = Some((*name, *at));
            return crate::python::Visit::Stop;
        }
        crate::python::Visit::Descend
    });
    found
}

/// Locals bound, before `before`, to an id the caller passed through `**kwargs`: `network_id =
/// kwargs.get('network_id')`, `port_id = kwargs['port_id']` (RPC handlers receive their arguments so).
/// Returns (the local, the read).
fn ids_read_from<'t, 's>(body: Node<'t>, kwargs: &str, before: usize, src: &'s str) -> Vec<(&'s str, Node<'t>)> {
    let mut out = Vec::new();
    crate::python::preorder(body, |n| {
        if crate::python::is_scope(n) || n.start_byte() >= before {
            return crate::python::Visit::Skip;
        }
        if n.kind() == "assignment"
            && let (Some(left), Some(right)) =
                (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
            && left.kind() == "identifier"
            && is_id_name(crate::python::text(left, src))
            && reads_from(right, kwargs, src)
        {
            out.push((crate::python::text(left, src), right));
        }
        crate::python::Visit::Descend
    });
    out
}

/// Is `value` `kwargs.get(...)` or `kwargs[...]` on the dict named `kwargs`?
fn reads_from(value: Node<'_>, kwargs: &str, src: &str) -> bool {
    let receiver = match value.kind() {
        "subscript" => value.child_by_field_id(fields::value()),
        "call" if crate::python::callee_last_name(value, src) == Some("get") => {
            value.child_by_field_id(fields::function()).and_then(|f| f.child_by_field_id(fields::object()))
        }
        _ => None,
    };
    receiver.is_some_and(|r| r.kind() == "identifier" && crate::python::text(r, src) == kwargs)
}

/// Does a parameter name say it holds the id of an object: `id`, `port_id`, `port_ids`, `uuid`,
/// `instance_uuid`?
pub(super) fn is_id_name(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("_ids") || name.ends_with("uuid")
}

/// The name of the function enclosing `node`, for messages.
pub fn function_name(node: Node<'_>, cx: &Checker<'_>) -> String {
    cx.enclosing_function(node)
        .and_then(|f| f.child_by_field_id(fields::name()))
        .map_or_else(|| "<module>".to_string(), |n| cx.node_text(n).to_string())
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, new_parser};
    use crate::finding::Finding;
    use crate::rules::REGISTRY;
    use crate::source::SourceFile;

    fn run(code: &str) -> Vec<Finding> {
        let rules: Vec<_> = REGISTRY.iter().copied().filter(|r| r.id().starts_with("TG4")).collect();
        let engine = Engine::new(&rules, crate::scan::analysis(&rules, &Default::default(), true));
        let src = SourceFile::from_text("t.py".into(), "t.py".into(), code.to_string());
        engine.analyse(&mut new_parser(), &src).expect("parsed").findings
    }

    #[test]
    fn nested_endpoint_classes_are_analysed_once() {
        let code = "class ARpcCallback:\n    class BRpcCallback:\n        class CRpcCallback:\n            def f(self, context, p):\n                self.plugin.delete_port(context.elevated(), p)\n";
        let found = run(code);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "TG401");
        assert_eq!(found[0].scope, "ARpcCallback.BRpcCallback.CRpcCallback.f");
    }

    #[test]
    fn indirect_write_carries_a_flow() {
        let code = "class ARpcCallback:\n    def f(self, context, p):\n        el = context.elevated()\n        self._g(el, p)\n    def _g(self, ctx, p):\n        self._h(p, ctx=ctx)\n    def _h(self, p, ctx=None):\n        self.plugin.update_port(ctx, p, {})\n";
        let found = run(code);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.span.start.line, 3);
        assert!(f.message.contains("on line 8"), "{}", f.message);
        assert_eq!(f.flow.len(), 4);
        assert_eq!(f.related.len(), 2);
    }

    #[test]
    fn an_id_from_the_caller_at_the_write_is_a_confused_deputy() {
        let code = "class ARpcCallback:\n    def f(self, context, port_id, host):\n        el = context.elevated()\n        self._g(el, port_id=port_id)\n    def _g(self, ctx, port_id=None):\n        self.plugin.update_port(ctx, port_id, {})\n    def h(self, context, port_id, host):\n        el = context.elevated()\n        self.plugin.update_port(el, self.lookup(host), {})\n";
        let found = run(code);
        assert_eq!(found.len(), 2, "{found:?}");
        let deputy = &found[0];
        assert_eq!(deputy.properties.get("callerSuppliedId").map(String::as_str), Some("port_id"));
        assert_eq!(deputy.properties.get("rank").map(String::as_str), Some("90"));
        assert!(deputy.message.contains("confused deputy"), "{}", deputy.message);
        assert_eq!(deputy.related.len(), 3);
        let plain = &found[1];
        assert!(!plain.properties.contains_key("callerSuppliedId"));
        assert_eq!(plain.properties.get("rank").map(String::as_str), Some("60"));
        assert!(!plain.message.contains("confused deputy"));
    }

    #[test]
    fn an_id_read_from_kwargs_is_the_callers_too() {
        let code = "class ARpcCallback:\n    def f(self, context, **kwargs):\n        network_id = kwargs.get('network_id')\n        host = kwargs['host']\n        admin = n_context.get_admin_context()\n        self.plugin.create_gw_port(admin, network_id, host)\n    def g(self, context, **kwargs):\n        host = kwargs.get('host')\n        admin = n_context.get_admin_context()\n        self.plugin.create_gw_port(admin, host)\n";
        let found = run(code);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].properties.get("callerSuppliedId").map(String::as_str), Some("network_id"));
        assert!(!found[1].properties.contains_key("callerSuppliedId"), "{:?}", found[1]);
    }

    #[test]
    fn recursive_helpers_reach_a_fixpoint() {
        let code = "class ARpcCallback:\n    def f(self, context, p):\n        self._a(context.elevated(), p)\n    def _a(self, c, p):\n        self._b(c, p)\n    def _b(self, c, p):\n        if p:\n            self._a(c, p[1:])\n        self.plugin.remove_port(c, p)\n";
        let found = run(code);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("on line 9"), "{}", found[0].message);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let n = 50_000;
        let deep = format!("{}context{}", "f(".repeat(n), ")".repeat(n));
        let code = format!(
            "class ARpcCallback:\n    def f(self, context):\n        context.is_admin = True\n        el = context.elevated()\n        x = {deep}\n        self.plugin.update_port(el, x)\n"
        );
        let found = run(&code);
        let rules: Vec<_> = found.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["TG403", "TG401"]);
    }
}
