//! TG404 child-by-bare-id: a sub-resource method checks that the caller may see the parent
//! (`self._get_router(context, router_id)`), then loads, updates or deletes the child by its id alone
//! — not filtered on the parent, not compared with it afterwards — so a child of another parent (of
//! another project) is reachable through a parent the caller owns.

use super::dataflow::{Unit, parameters};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, Visit, callee_last_name, named_children, text};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG404.md`.
pub struct ChildByBareId;

impl Rule for ChildByBareId {
    fn id(&self) -> &'static str {
        "TG404"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["function_definition"]
    }

    /// The function takes two id parameters (`id`, `<noun>_id`): judged on its `def` header.
    fn triggers(&self) -> Triggers {
        Triggers { def_filter: Some(two_id_parameters), ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        let params = parameters(node, src, Unit::Class);
        let ids: Vec<&str> = params.iter().map(String::as_str).filter(|p| *p == "id" || p.ends_with("_id")).collect();
        if ids.len() < 2 {
            return;
        }
        if in_service_manager(node, src) {
            return;
        }
        let Some(body) = node.child_by_field_id(fields::body()) else { return };
        let calls = python::calls_within(body);
        let name = node.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
        let Some(hit) = find(name, &calls, &ids, body, src) else { return };
        let after = match hit.check {
            Some(c) => format!(
                "after checking only the parent `{}` (line {})",
                hit.parent,
                cx.src.position(c.start_byte()).line
            ),
            None => format!("and never uses the parent id `{}` it is given", hit.parent),
        };
        let message = format!(
            "`{}` loads the child `{}` by its id alone {after}: a child of another parent, which the caller may not see, passes. Filter the lookup on the parent (`{p}={p}`) or test `obj.{p} == {p}` and raise.",
            python::shorten(text(hit.lookup, src), 80),
            hit.child,
            p = hit.parent,
        );
        let lookup_msg = format!("the child is looked up by `{}` alone", hit.child);
        let mut related = Vec::new();
        if let Some(c) = hit.check {
            related.push(cx.related(c, format!("only the parent `{}` is checked here", hit.parent)));
        }
        related.push(cx.related(hit.lookup, lookup_msg));
        let flow = if related.len() > 1 { related.clone() } else { Vec::new() };
        let finding = cx.report(self.id(), hit.lookup, message);
        finding.related = related;
        finding.flow = flow;
        finding.properties.insert("parentId".into(), hit.parent.to_string());
        finding.properties.insert("childId".into(), hit.child.to_string());
    }
}

/// May the `def` at the start of `header` take two id parameters (`id` or `<noun>_id`)? Counts such
/// names in its parameter list (defaults included: a over-count only keeps more); unsure — a string or
/// a list that does not close in the header — is yes.
fn two_id_parameters(header: &[u8]) -> bool {
    let Some(open) = memchr::memchr(b'(', header) else { return true };
    let mut depth = 0usize;
    let mut close = None;
    for (i, &b) in header.iter().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b'\'' | b'"' | b'#' | b'\\' => return true,
            _ => {}
        }
    }
    let Some(close) = close else { return true };
    let params = &header[open + 1..close];
    let ids = params
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| *w == b"id" || w.ends_with(b"_id"))
        .count();
    ids >= 2
}

/// Is the method one of a service `*Manager` class (nova-compute, manila-data, cinder-volume)? Those
/// are RPC servers called by their own API service, which has authorized the request; the ids they
/// take are the API's, not the user's (TG401 leaves them out for the same reason).
fn in_service_manager(func: Node<'_>, src: &str) -> bool {
    let holder = func.parent().filter(|p| p.kind() == "decorated_definition").unwrap_or(func);
    holder
        .parent()
        .and_then(|block| block.parent())
        .filter(|c| c.kind() == "class_definition")
        .and_then(|c| c.child_by_field_id(fields::name()))
        .is_some_and(|n| text(n, src).ends_with("Manager"))
}

/// A parent check followed by an unscoped child lookup.
struct Hit<'t, 'p> {
    parent: &'p str,
    child: &'p str,
    /// The parent check, if there is one (else the method ignores its parent id altogether).
    check: Option<Node<'t>>,
    lookup: Node<'t>,
}

/// Other spellings of a parent's noun in the names of the calls that check it.
const SYNONYMS: &[(&str, &str)] = &[("floatingip", "fip"), ("server", "instance"), ("policy", "policy_obj")];

/// Does a callee named `name` check the parent called `noun` (`_get_router` for `router`,
/// `common.get_instance` for `server`)?
fn is_parent_check(name: &str, noun: &str) -> bool {
    let n = name.trim_start_matches('_');
    let verb = n.starts_with("get") || n.starts_with("check") || n.starts_with("validate") || n.starts_with("ensure");
    // The DB API spells the verb last: `db_api.share_network_get(context, share_network_id)`.
    let noun_first = n.strip_prefix(noun).is_some_and(|rest| rest == "_get" || rest.starts_with("_get_"));
    noun_first || (verb && (n.contains(noun) || SYNONYMS.iter().any(|(a, b)| *a == noun && n.contains(b))))
}

/// `self.volume_api.get(context, volume_id)`: a plain getter of the parent's own API object (cinder,
/// manila: `share_api.get`).
fn is_api_get(call: Node<'_>, name: &str, noun: &str, src: &str) -> bool {
    if !matches!(name, "get" | "get_by_id" | "show") {
        return false;
    }
    let receiver = call
        .child_by_field_id(fields::function())
        .and_then(|f| f.child_by_field_id(fields::object()))
        .map(|o| python::last_segment(text(o, src)));
    receiver.is_some_and(|r| r.trim_start_matches('_').strip_prefix(noun).is_some_and(|rest| rest == "_api"))
}

/// Callees that load, update or delete one object by id (not a listing, not a constructor of an
/// exception).
fn is_lookup(name: &str) -> bool {
    let n = name.trim_start_matches('_');
    matches!(n, "get_by_id" | "filter_by" | "get_by_uuid" | "get" | "filter")
        || ["get_", "show_", "update_", "delete_", "remove_"].iter().any(|p| n.starts_with(p))
        || n.ends_with("_get")
        || name.ends_with("_cls")
}

/// A getter of the method's own class, `self._get_conntrack_helper(context, id)`: when the parent id
/// is ignored altogether, the class's lookup helper that takes the child id alone is the lookup.
fn is_own_getter(call: Node<'_>, name: &str, src: &str) -> bool {
    let receiver = call
        .child_by_field_id(fields::function())
        .and_then(|f| f.child_by_field_id(fields::object()))
        .map(|o| text(o, src));
    matches!(receiver, Some("self" | "cls")) && name.trim_start_matches('_').starts_with("get_")
}

/// Object lookups strict enough to report when the parent id is ignored altogether.
fn is_object_lookup(name: &str) -> bool {
    matches!(name.trim_start_matches('_'), "get_object" | "get_objects" | "get_by_id" | "filter_by" | "get_by_uuid")
}

/// The (parent, child) pairs of id parameters a sub-resource method takes: the child is `id`,
/// `<child>_id` where the method's name names the parent before the child (`update_policy_rule`
/// with `rule_id` and `policy_id`), or an id whose noun extends the parent's (`share_network_id` and
/// `share_network_subnet_id` in a controller's `show`). Associations (`add_router_to_l3_agent`) are
/// not sub-resources.
fn pairs<'p>(name: &str, ids: &[&'p str]) -> Vec<(&'p str, &'p str)> {
    if name.starts_with('_') || name.contains("_to_") || name.contains("_from_") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &parent in ids.iter().filter(|p| **p != "id") {
        let pnoun = parent.trim_end_matches("_id");
        for &child in ids.iter().filter(|c| **c != parent) {
            let cnoun = child.trim_end_matches("_id");
            let ok = child == "id"
                || cnoun.strip_prefix(pnoun).is_some_and(|rest| rest.starts_with('_'))
                || matches!((name.find(pnoun), name.rfind(cnoun)), (Some(p), Some(c)) if p + pnoun.len() <= c);
            if ok {
                out.push((parent, child));
            }
        }
    }
    out
}

fn find<'t, 'p>(name: &str, calls: &[Node<'t>], ids: &[&'p str], body: Node<'t>, src: &str) -> Option<Hit<'t, 'p>> {
    for (parent, child) in pairs(name, ids) {
        let pnoun = parent.trim_end_matches("_id");
        let check = calls.iter().copied().find(|&c| {
            callee_last_name(c, src).is_some_and(|n| is_parent_check(n, pnoun) || is_api_get(c, n, pnoun, src))
                && passes(c, parent, src)
                && !passes(c, child, src)
                && !passes_another_id(c, parent, src)
        });
        let parent_vars = check.map(|c| assigned_names(c, src)).unwrap_or_default();
        let from = check.map_or(body.start_byte(), |c| c.end_byte());
        let child_names = aliases(body, child, src);
        let Some(lookup) = calls.iter().copied().find(|&l| {
            l.start_byte() >= from
                && callee_last_name(l, src).is_some_and(|n| {
                    if check.is_some() { is_lookup(n) } else { is_object_lookup(n) || is_own_getter(l, n, src) }
                })
                && child_names.iter().any(|c| passes(l, c, src))
        }) else {
            continue;
        };
        let scoped_by = |v: &str| mentions(top_expression(lookup), v, src) || receiver_built_from(lookup, body, v, src);
        if scoped_by(parent) || parent_vars.iter().any(|v| scoped_by(v)) {
            continue; // scoped by the parent
        }
        let ignored = check.is_none() && child == "id" && name.contains(pnoun) && !uses_variable(body, parent, src);
        if check.is_none() && !ignored {
            continue;
        }
        if compared_after(body, from, parent, &parent_vars, src) {
            continue; // an ownership test
        }
        return Some(Hit { parent, child, check, lookup });
    }
    None
}

/// `child` and the locals bound to it (`port_id = id`).
fn aliases<'s>(body: Node<'_>, child: &'s str, src: &'s str) -> Vec<&'s str> {
    let mut out = vec![child];
    python::preorder(body, |n| {
        if python::is_scope(n) {
            return Visit::Skip;
        }
        if n.kind() == "assignment"
            && let (Some(l), Some(r)) = (n.child_by_field_id(fields::left()), n.child_by_field_id(fields::right()))
            && l.kind() == "identifier"
            && r.kind() == "identifier"
            && text(r, src) == child
        {
            out.push(text(l, src));
        }
        Visit::Descend
    });
    out
}

/// Is the lookup's receiver a local built from `name` (`query = q.filter_by(user_id=user_id)` then
/// `query.filter_by(id=id)`)?
fn receiver_built_from(lookup: Node<'_>, body: Node<'_>, name: &str, src: &str) -> bool {
    let Some(recv) = lookup
        .child_by_field_id(fields::function())
        .and_then(|f| f.child_by_field_id(fields::object()))
        .filter(|o| o.kind() == "identifier")
    else {
        return false;
    };
    let recv = text(recv, src);
    python::preorder(body, |n| {
        if n.kind() == "assignment"
            && n.child_by_field_id(fields::left()).is_some_and(|l| text(l, src) == recv)
            && n.child_by_field_id(fields::right()).is_some_and(|r| mentions(r, name, src))
        {
            return Visit::Stop;
        }
        Visit::Descend
    })
}

/// Does `call` pass the name `id` directly as an argument (`f(ctx, id)`, `f(ctx, id=id)`)?
fn passes(call: Node<'_>, id: &str, src: &str) -> bool {
    python::argument_slots(call, src).into_iter().any(|(_, v)| v.kind() == "identifier" && text(v, src) == id)
}

/// Does `call` also pass an id other than `parent` (`get_by_volume_and_instance(context, volume_id,
/// instance.uuid)`)? Then it looks up what links two objects, not the parent the caller may see.
fn passes_another_id(call: Node<'_>, parent: &str, src: &str) -> bool {
    python::argument_slots(call, src).into_iter().any(|(_, v)| match v.kind() {
        "identifier" => text(v, src) != parent && super::is_id_name(text(v, src)),
        "attribute" => v.child_by_field_id(fields::attribute()).is_some_and(|a| super::is_id_name(text(a, src))),
        _ => false,
    })
}

/// The names `call` is assigned to: `x` in `x = call`, `a`, `b` in `a, b = call`.
fn assigned_names<'s>(call: Node<'_>, src: &'s str) -> Vec<&'s str> {
    let Some(left) =
        call.parent().filter(|p| p.kind() == "assignment").and_then(|a| a.child_by_field_id(fields::left()))
    else {
        return Vec::new();
    };
    match left.kind() {
        "identifier" => vec![text(left, src)],
        "pattern_list" | "tuple_pattern" => {
            named_children(left).into_iter().filter(|n| n.kind() == "identifier").map(|n| text(n, src)).collect()
        }
        _ => Vec::new(),
    }
}

/// The largest expression `call` is part of through calls, attributes and arguments (the whole
/// `query.filter_by(id=id).filter_by(router_id=router_id).one()` chain). Climbs a bounded number of
/// parents.
fn top_expression(call: Node<'_>) -> Node<'_> {
    let mut top = call;
    for _ in 0..32 {
        match top.parent() {
            Some(p)
                if matches!(
                    p.kind(),
                    "call"
                        | "attribute"
                        | "argument_list"
                        | "keyword_argument"
                        | "parenthesized_expression"
                        | "subscript"
                ) =>
            {
                top = p
            }
            _ => break,
        }
    }
    top
}

/// Does the name `name` appear as an identifier in `node`?
fn mentions(node: Node<'_>, name: &str, src: &str) -> bool {
    python::preorder(
        node,
        |n| {
            if n.kind() == "identifier" && text(n, src) == name { Visit::Stop } else { Visit::Descend }
        },
    )
}

/// Is the variable `name` read in `node`? An attribute (`obj.router_id`) or a keyword (`router_id=…`)
/// of that name is not the variable.
fn uses_variable(node: Node<'_>, name: &str, src: &str) -> bool {
    let mut not_variables: std::collections::HashSet<usize> = std::collections::HashSet::new();
    python::preorder(node, |n| {
        match n.kind() {
            "attribute" => not_variables.extend(n.child_by_field_id(fields::attribute()).map(|a| a.id())),
            "keyword_argument" => not_variables.extend(n.child_by_field_id(fields::name()).map(|a| a.id())),
            "identifier" if text(n, src) == name && !not_variables.contains(&n.id()) => return Visit::Stop,
            _ => {}
        }
        Visit::Descend
    })
}

/// Is there, after `from`, a comparison that reads the parent id or the parent object (`port.device_id
/// != router_id`, `rule_id not in policy.rules`) or a call that passes both?
fn compared_after(body: Node<'_>, from: usize, parent: &str, parent_vars: &[&str], src: &str) -> bool {
    python::preorder(body, |n| {
        if n.end_byte() <= from || python::is_scope(n) {
            return Visit::Skip;
        }
        if n.start_byte() >= from
            && n.kind() == "comparison_operator"
            && (mentions(n, parent, src) || parent_vars.iter().any(|v| mentions(n, v, src)))
        {
            return Visit::Stop;
        }
        Visit::Descend
    })
}

#[cfg(test)]
mod tests {
    use super::two_id_parameters;

    #[test]
    fn def_headers_with_two_id_parameters() {
        assert!(two_id_parameters(b"def delete_policy_rule(self, context, rule_id, policy_id):\n"));
        assert!(two_id_parameters(b"def get(self, context,\n        id, router_id=None):"));
        assert!(!two_id_parameters(b"def get_port(self, context, port_id, fields=None):"));
        assert!(!two_id_parameters(b"def f(self, idx, valid):"));
        // Unsure is yes: a string, a comment or a list that does not close.
        assert!(two_id_parameters(b"def f(self, sep=')'):"));
        assert!(two_id_parameters(b"def f(self,  # a comment\n    x):"));
        assert!(two_id_parameters(b"def f(self, x"));
    }
}
