//! TG407 sibling-guard-skipped: most mutating methods of a class call the same authorization guard
//! before writing (`policy.enforce`, `rules.x_can_be_managed(context, obj)`, an ownership test), and
//! one writes without any guard at all.

use super::unit_functions;
use crate::checker::Checker;
use crate::finding::RANK;
use crate::python::fields;
use crate::python::{self, call_name, callee_last_name, named_children, text};
use crate::rules::{Rule, Triggers};
use std::collections::{BTreeMap, BTreeSet};
use tree_sitter::Node;

/// See `rules/TG407.md`.
pub struct SiblingGuardSkipped;

/// Siblings that must call a guard before its omission is reported.
const MIN_SIBLINGS: usize = 3;

/// Text a class holds if some method of it calls a guard (its selective-parsing class triggers).
const GUARD_FRAGMENTS: &[&str] = &["enforce", "authorize", "can", "_for_caller", "project_id", "tenant_id"];

/// First words of method names that change something.
const MUTATING: &[&str] = &[
    "create",
    "update",
    "delete",
    "add",
    "remove",
    "set",
    "attach",
    "detach",
    "associate",
    "disassociate",
    "bind",
    "unbind",
    "put",
    "patch",
    "destroy",
    "insert",
    "replace",
    "reset",
];

impl Rule for SiblingGuardSkipped {
    fn id(&self) -> &'static str {
        "TG407"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["class_definition"]
    }

    /// The rule compares the methods of a class: a class that mentions a guard is kept whole.
    fn triggers(&self) -> Triggers {
        Triggers { class_fragments: GUARD_FRAGMENTS, ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        if !GUARD_FRAGMENTS.iter().any(|g| cx.node_text(node).contains(g)) {
            return;
        }
        let methods = unit_functions(node);
        let guards = guards_of(&methods, src);
        // mutating public methods that write: (method, its guard keys → the guard node)
        let mutating: Vec<(Node<'_>, &BTreeMap<String, Node<'_>>)> = methods
            .iter()
            .zip(&guards)
            .filter(|(m, _)| is_mutating(**m, src) && writes(**m, src, cx))
            .map(|(m, g)| (*m, g))
            .collect();
        let mut counts: BTreeMap<&str, Vec<Node<'_>>> = BTreeMap::new();
        for (_, g) in &mutating {
            for (key, at) in g.iter() {
                counts.entry(key.as_str()).or_default().push(*at);
            }
        }
        let Some((key, with)) = counts.iter().max_by_key(|(k, v)| (v.len(), std::cmp::Reverse(*k))) else { return };
        let without: Vec<Node<'_>> = mutating
            .iter()
            .filter(|(m, g)| g.is_empty() && !admin_only(*m, src) && !called_by_sibling(*m, node, src))
            .map(|(m, _)| *m)
            .collect();
        if with.len() < MIN_SIBLINGS || without.is_empty() || with.len() < 2 * without.len() {
            return;
        }
        // A create has no existing object for an ownership or state guard to look at.
        let policy_guard = ["enforce", "authorize", ".can", "check"].iter().any(|p| key.ends_with(p));
        let without: Vec<Node<'_>> = without.into_iter().filter(|m| policy_guard || !is_create(*m, src)).collect();
        if without.is_empty() {
            return;
        }
        let total = with.len() + without.len();
        let rank = (100 * with.len() / total).to_string();
        for m in without {
            let name_node = m.child_by_field_id(fields::name()).unwrap_or(m);
            let name = text(name_node, src);
            let message = format!(
                "`{name}` changes state without the guard {} of the {} sibling methods that change state call first (`{}`): the likely missing authorization check. Call it here too, or document why this method needs none.",
                with.len(),
                total - 1,
                python::shorten(key, 60),
            );
            let related: Vec<_> = with
                .iter()
                .take(5)
                .map(|g| cx.related(*g, format!("a sibling calls `{}` here", python::shorten(key, 60))))
                .collect();
            let finding = cx.report(self.id(), name_node, message);
            finding.related = related;
            finding.properties.insert(RANK.into(), rank.clone());
            finding.properties.insert("guard".into(), key.to_string());
        }
    }
}

/// Is the method public and named for a change (`update_port`, `delete`, `add_subports`)?
fn is_mutating(m: Node<'_>, src: &str) -> bool {
    let name = m.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
    if name.starts_with('_') {
        return false;
    }
    let verb = name.split('_').next().unwrap_or("");
    MUTATING.contains(&verb)
}

/// Is the method called as `self.<name>(...)` inside its class: a helper of its siblings, which
/// guard before calling it, rather than an entry point?
fn called_by_sibling(m: Node<'_>, class: Node<'_>, src: &str) -> bool {
    let name = m.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
    let class_text = text(class, src);
    class_text.contains(&format!("self.{name}(")) || class_text.contains(&format!("cls.{name}("))
}

/// Is the method a create (`create`, `create_trunk`)?
fn is_create(m: Node<'_>, src: &str) -> bool {
    m.child_by_field_id(fields::name()).is_some_and(|n| text(n, src).split('_').next() == Some("create"))
}

/// Decorated as admin-only (`@admin_only`, `@require_admin_context`, `@policy.admin_required`)?
fn admin_only(m: Node<'_>, src: &str) -> bool {
    m.parent().filter(|p| p.kind() == "decorated_definition").is_some_and(|d| {
        named_children(d).into_iter().any(|c| c.kind() == "decorator" && text(c, src).contains("admin"))
    })
}

/// Does the method (not its helpers) write: call something named for a change (`update_port`,
/// `obj.delete()`, `session.add`)?
fn writes(m: Node<'_>, src: &str, cx: &Checker<'_>) -> bool {
    let Some(body) = m.child_by_field_id(fields::body()) else { return false };
    python::calls_within(body).into_iter().any(|c| {
        callee_last_name(c, src).is_some_and(|n| super::names::is_write_name(n, &cx.knobs.context) || n == "destroy")
    })
}

/// Is `call` an authorization guard? Returns its key (the callee's dotted name, or its last name).
fn guard_key(call: Node<'_>, src: &str) -> Option<String> {
    let last = callee_last_name(call, src)?;
    let bare = last.trim_start_matches('_');
    let guard = super::policy::policy_call(call, src).is_some()
        || matches!(bare, "enforce" | "authorize" | "check_is_admin" | "can")
        || bare.starts_with("enforce_")
        || bare.starts_with("authorize_")
        || bare.contains("can_be_")
        || bare.starts_with("can_")
        || bare.ends_with("_for_caller")
        || bare.contains("_owner")
        || bare.contains("ownership");
    guard.then(|| call_name(call, src).unwrap_or_else(|| last.to_string()))
}

/// An `if` that tests the caller's project against something and raises or returns.
fn ownership_test(n: Node<'_>, src: &str) -> bool {
    if n.kind() != "if_statement" {
        return false;
    }
    let Some(cond) = n.child_by_field_id(fields::condition()) else { return false };
    let t = text(cond, src);
    let owner = t.contains("project_id") || t.contains("tenant_id");
    owner && t.contains("context") && (t.contains("!=") || t.contains("==") || t.contains(" in "))
}

/// The guard keys each method reaches, through `self._helper(...)` calls too (to a fixpoint): key →
/// the node in the method where it is (the guard, or the helper call that leads to it).
fn guards_of<'t>(methods: &[Node<'t>], src: &str) -> Vec<BTreeMap<String, Node<'t>>> {
    let names: Vec<&str> =
        methods.iter().map(|m| m.child_by_field_id(fields::name()).map_or("", |n| text(n, src))).collect();
    let mut direct: Vec<BTreeMap<String, Node<'t>>> = Vec::new();
    let mut helpers: Vec<Vec<(usize, Node<'t>)>> = Vec::new();
    for m in methods {
        let mut g = BTreeMap::new();
        let mut h = Vec::new();
        let Some(body) = m.child_by_field_id(fields::body()) else {
            direct.push(g);
            helpers.push(h);
            continue;
        };
        python::preorder(body, |n| {
            if python::is_scope(n) {
                return python::Visit::Skip;
            }
            if ownership_test(n, src) {
                g.entry("an ownership test".to_string()).or_insert(n);
            }
            if n.kind() == "call" {
                if let Some(k) = guard_key(n, src) {
                    g.entry(k).or_insert(n);
                } else if let Some(name) = call_name(n, src).and_then(|c| c.strip_prefix("self.").map(str::to_string))
                    && let Some(i) = names.iter().position(|m| *m == name)
                {
                    h.push((i, n));
                }
            }
            python::Visit::Descend
        });
        direct.push(g);
        helpers.push(h);
    }
    let mut all = direct.clone();
    for _ in 0..8 {
        let mut changed = false;
        for i in 0..methods.len() {
            let mut add: BTreeSet<(String, usize)> = BTreeSet::new();
            for (j, (callee, _)) in helpers[i].iter().enumerate() {
                for key in all[*callee].keys() {
                    if !all[i].contains_key(key) {
                        add.insert((key.clone(), j));
                    }
                }
            }
            for (key, j) in add {
                all[i].insert(key, helpers[i][j].1);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    all
}
