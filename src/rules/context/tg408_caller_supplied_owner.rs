//! TG408 caller-supplied-owner: a create or update takes an owner (`project_id`, `tenant_id`) or the id
//! of another resource (`device_id`, `router_id`, `network_id`, `qos_policy_id`) from the request body
//! and hands it to a call made with an elevated or admin context, with no admin, policy or ownership
//! check in the function.

use super::dataflow::{Unit, parameters};
use super::names;
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, Visit, callee_last_name, named_children, positional_arguments, text};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG408.md`.
pub struct CallerSuppliedOwner;

/// Request-body keys naming an owner or another resource.
const FOREIGN_KEYS: &[&str] = &["project_id", "tenant_id", "device_id", "router_id", "network_id", "qos_policy_id"];

impl Rule for CallerSuppliedOwner {
    fn id(&self) -> &'static str {
        "TG408"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["function_definition"]
    }

    /// The value reaches a call made with an escalated context.
    fn triggers(&self) -> Triggers {
        Triggers { fragments: &[".elevated(", "get_admin_context"], ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        let name = node.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
        if !matches!(name.split('_').next(), Some("create" | "update")) {
            return;
        }
        let params = parameters(node, src, Unit::Class);
        let Some(body) = node.child_by_field_id(fields::body()) else { return };
        if guarded(body, src, cx) {
            return;
        }
        let admin_vars = escalated_names(body, src);
        let mut reads: Vec<(Node<'_>, &str, Option<&str>)> = Vec::new(); // (read, key, bound to)
        python::preorder(body, |n| {
            if python::is_scope(n) {
                return Visit::Skip;
            }
            if let Some(key) = body_read(n, &params, src) {
                reads.push((n, key, bound_name(n, src)));
            }
            Visit::Descend
        });
        for (read, key, var) in reads {
            let Some(call) = python::calls_within(body).into_iter().find(|c| {
                c.start_byte() >= read.start_byte() && escalated_call(*c, &admin_vars, src) && {
                    let carries = |v: &str| named_children_mention(*c, v, src);
                    (read.start_byte() >= c.start_byte() && read.end_byte() <= c.end_byte()) || var.is_some_and(carries)
                }
            }) else {
                continue;
            };
            let message = format!(
                "`{}` takes `{key}` from the request and hands it to `{}`, made with an elevated or admin context, with no admin, policy or ownership check: the caller chooses an owner or a resource it may not own. Check `context.is_admin`, enforce a policy on the field, or compare it with the caller's project first.",
                python::shorten(text(read, src), 60),
                python::shorten(callee_text(call, src), 60),
            );
            let related = vec![
                cx.related(read, format!("`{key}` comes from the request here")),
                cx.related(call, "and is used with an elevated context here"),
            ];
            let finding = cx.report(self.id(), read, message);
            finding.flow = related.clone();
            finding.related = related;
            return; // one per function
        }
    }
}

/// `body['port']['device_id']` / `port.get('device_id')` where the root is a parameter (not the
/// context): returns the key.
fn body_read<'s>(n: Node<'_>, params: &[String], src: &'s str) -> Option<&'s str> {
    let (object, key) = match n.kind() {
        "subscript" => (n.child_by_field_id(fields::value())?, n.child_by_field_id(fields::subscript())?),
        "call" if callee_last_name(n, src) == Some("get") => {
            let f = n.child_by_field_id(fields::function())?;
            (f.child_by_field_id(fields::object())?, *positional_arguments(n).first()?)
        }
        _ => return None,
    };
    let key = FOREIGN_KEYS.iter().find(|k| text(key, src).trim_matches(['\'', '"']) == **k)?;
    let mut root = object;
    for _ in 0..8 {
        root = match root.kind() {
            "subscript" => root.child_by_field_id(fields::value())?,
            "attribute" => root.child_by_field_id(fields::object())?,
            _ => break,
        };
    }
    let r = text(root, src);
    (root.kind() == "identifier" && params.iter().any(|p| p == r) && !names::is_context_param(r, &Default::default()))
        .then_some(*key)
}

/// `x` in `x = <read>`.
fn bound_name<'s>(read: Node<'_>, src: &'s str) -> Option<&'s str> {
    let a = read.parent().filter(|p| p.kind() == "assignment")?;
    a.child_by_field_id(fields::left()).filter(|l| l.kind() == "identifier").map(|l| text(l, src))
}

/// Names bound to `X.elevated()` or an admin context in the body.
fn escalated_names<'s>(body: Node<'_>, src: &'s str) -> Vec<&'s str> {
    let mut out = Vec::new();
    python::preorder(body, |n| {
        if n.kind() == "assignment"
            && let (Some(l), Some(r)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
            && l.kind() == "identifier"
            && r.kind() == "call"
            && (names::elevated_receiver(r, src).is_some() || names::admin_context_call(r, src))
        {
            out.push(text(l, src));
        }
        Visit::Descend
    });
    out
}

/// Does `call` receive an escalated context (inline or through a name bound to one)?
fn escalated_call(call: Node<'_>, admin_vars: &[&str], src: &str) -> bool {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return false };
    named_children(args).into_iter().any(|a| {
        let v = if a.kind() == "keyword_argument" { a.child_by_field_id(fields::value()) } else { Some(a) };
        v.is_some_and(|v| {
            (v.kind() == "identifier" && admin_vars.contains(&text(v, src)))
                || (v.kind() == "call"
                    && (names::elevated_receiver(v, src).is_some() || names::admin_context_call(v, src)))
        })
    })
}

/// Does an argument of `call` mention the name `v`?
fn named_children_mention(call: Node<'_>, v: &str, src: &str) -> bool {
    call.child_by_field_id(fields::arguments()).is_some_and(|args| {
        python::preorder(
            args,
            |n| if n.kind() == "identifier" && text(n, src) == v { Visit::Stop } else { Visit::Descend },
        )
    })
}

fn callee_text<'s>(call: Node<'_>, src: &'s str) -> &'s str {
    call.child_by_field_id(fields::function()).map_or("", |f| text(f, src))
}

/// Does the function check the caller's rights or ownership anywhere (a policy call, `is_admin`, a
/// comparison with the caller's project)?
fn guarded(body: Node<'_>, src: &str, cx: &Checker<'_>) -> bool {
    let t = text(body, src);
    if t.contains("is_admin") || t.contains("is_advsvc") {
        return true;
    }
    python::calls_within(body).into_iter().any(|c| names::is_guard_call(c, src, &cx.knobs.context))
        || python::preorder(body, |n| {
            if n.kind() == "comparison_operator"
                && (text(n, src).contains("project_id") || text(n, src).contains("tenant_id"))
            {
                Visit::Stop
            } else {
                Visit::Descend
            }
        })
}
