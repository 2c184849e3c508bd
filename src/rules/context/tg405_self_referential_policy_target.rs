//! TG405 self-referential-policy-target: the policy target of a check on an existing object is built
//! from the caller's own identity (`{'project_id': context.project_id}`, `context.to_policy_values()`),
//! so an owner rule compares the caller with the caller and always passes.

use super::dataflow::{Unit, parameters};
use super::policy::{self, PolicyCall};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, Visit, callee_last_name, keyword_argument, named_children, text};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG405.md`.
pub struct SelfReferentialPolicyTarget;

/// Target keys an owner rule (`project_id:%(project_id)s`) reads.
const OWNER_KEYS: &[&str] = &["project_id", "tenant_id", "user_id", "owner", "project", "owner_id"];

impl Rule for SelfReferentialPolicyTarget {
    fn id(&self) -> &'static str {
        "TG405"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["function_definition"]
    }

    /// The rule starts from an authorization call.
    fn triggers(&self) -> Triggers {
        Triggers { fragments: policy::CALL_FRAGMENTS, methods: policy::CALL_METHODS, ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        if !acts_on_existing_object(node, src) {
            return;
        }
        let Some(body) = node.child_by_field_id(fields::body()) else { return };
        if !loads_locally(body, src) {
            return; // proxies to another service, which checks ownership with the same token
        }
        for call in python::calls_within(body) {
            let Some(PolicyCall { call, action, target: Some(target) }) = policy::policy_call(call, src) else {
                continue;
            };
            let built = match python::unparenthesize(target) {
                t if t.kind() == "identifier" => last_assignment(body, text(t, src), call.start_byte(), src),
                t => Some(t),
            };
            let Some(built) = built.filter(|b| from_caller(*b, src)) else { continue };
            let message = format!(
                "The policy target of `{}` in `{}` is built from the caller's own identity (`{}`), not from the object acted on: an owner rule compares the caller with the caller and always passes. Build the target from the loaded object (`{{'project_id': obj.project_id}}`).",
                python::shorten(text(action, src), 60),
                super::function_name(call, cx),
                python::shorten(text(built, src), 60),
            );
            let mut related = vec![cx.related(built, "the target is built from the request context here")];
            related.push(cx.related(call, "and checked here: the caller against itself"));
            let flow = if built.start_byte() != target.start_byte() { related.clone() } else { Vec::new() };
            let finding = cx.report(self.id(), target, message);
            finding.related = related;
            finding.flow = flow;
        }
    }
}

/// Does the function act on an object that may belong to someone else: not a create or a listing,
/// and it takes the id of an existing object or is named for reading, changing or deleting one?
fn acts_on_existing_object(func: Node<'_>, src: &str) -> bool {
    let name = func.child_by_field_id(fields::name()).map_or("", |n| text(n, src)).trim_start_matches('_');
    let verb = name.split('_').next().unwrap_or("");
    if matches!(verb, "create" | "index" | "list" | "detail" | "new" | "post") || name.ends_with("_all") {
        return false; // the caller's project owns what it creates; listings are filtered by project
    }
    let takes_id = parameters(func, src, Unit::Class)
        .iter()
        .any(|p| p == "id" || (p.ends_with("_id") && !OWNER_KEYS.contains(&p.as_str())));
    takes_id || matches!(verb, "update" | "delete" | "get" | "show" | "remove" | "set" | "put" | "patch")
}

/// Does the function load an object itself — through a model class (`objects.InstanceGroup.get_by_uuid`,
/// `pf.PortForwarding.get_object`) or the database API (`db.volume_get`, `self.db.x_get`)? A function
/// that only calls another service's client (`self.network_api.get`, `self.volume_api.get`) leaves the
/// ownership check to that service, with the caller's own token.
fn loads_locally(body: Node<'_>, src: &str) -> bool {
    python::calls_within(body).into_iter().any(|c| {
        let Some(name) = python::call_name(c, src) else { return false };
        let Some((receiver, last)) = name.rsplit_once('.') else { return false };
        let getter =
            ["get", "_get", "find", "destroy", "save"].iter().any(|p| last.starts_with(p)) || last.ends_with("_get");
        let owner = python::last_segment(receiver);
        getter && (owner.starts_with(|c: char| c.is_ascii_uppercase()) || matches!(owner, "db" | "db_api" | "dbapi"))
    })
}

/// The value of the last `name = ...` in `body` before `before`.
fn last_assignment<'t>(body: Node<'t>, name: &str, before: usize, src: &str) -> Option<Node<'t>> {
    let mut found = None;
    python::preorder(body, |n| {
        if n.start_byte() >= before {
            return Visit::Stop;
        }
        if python::is_scope(n) {
            return Visit::Skip;
        }
        if n.kind() == "assignment" && n.child_by_field_id(fields::left()).is_some_and(|l| text(l, src) == name) {
            found = n.child_by_field_id(fields::right());
        }
        Visit::Descend
    });
    found
}

/// Is `expr` a request context's own attribute (`context.project_id`, `req.context.tenant_id`)?
fn is_caller_identity(expr: Node<'_>, src: &str) -> bool {
    let Some(dotted) = python::dotted_name(expr, src) else { return false };
    let Some((object, attr)) = dotted.rsplit_once('.') else { return false };
    let ctx = python::last_segment(object).trim_start_matches('_');
    let is_ctx = matches!(ctx, "context" | "ctx") || ctx.ends_with("_context");
    is_ctx && OWNER_KEYS.contains(&attr)
}

/// Is the target `expr` built from the caller alone: `context.to_policy_values()`, or a dict (literal
/// or `dict(...)`) with at least one owner key, every owner key's value being the caller's identity?
fn from_caller(expr: Node<'_>, src: &str) -> bool {
    let expr = python::unparenthesize(expr);
    if expr.kind() == "call" && callee_last_name(expr, src) == Some("to_policy_values") {
        return true;
    }
    let owners: Vec<(Node<'_>, Node<'_>)> = match expr.kind() {
        "dictionary" => named_children(expr)
            .into_iter()
            .filter(|p| p.kind() == "pair")
            .filter_map(|p| Some((p.named_child(0)?, p.named_child(1)?)))
            .filter(|(k, _)| k.kind() == "string" && OWNER_KEYS.contains(&text(*k, src).trim_matches(['\'', '"'])))
            .collect(),
        "call" if callee_last_name(expr, src) == Some("dict") => {
            OWNER_KEYS.iter().filter_map(|k| keyword_argument(expr, k, src).map(|v| (v, v))).collect()
        }
        _ => return false,
    };
    !owners.is_empty() && owners.iter().all(|(_, v)| is_caller_identity(*v, src))
}
