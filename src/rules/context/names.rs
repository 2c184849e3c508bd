//! What the request-context rules recognise by name: request-context parameters, escalation calls,
//! writes and guards. Pure functions over names and single nodes; no data flow here.

use crate::checker::Checker;
use crate::config::ContextSettings;
use crate::python::fields;
use crate::python::{self, call_name, callee_last_name, keyword_argument, text};
use tree_sitter::Node;

/// How an escalated context was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// `X.elevated()` on a request context (TG401).
    Elevated,
    /// `get_admin_context()`, `get_admin_context_without_session()`, `Context(..., is_admin=True)` (TG402).
    Admin,
}

/// Is a parameter with this name a request context? `context`, `ctx`, `req_ctx`, `request_context`
/// or `*_context`; never `self`, and never a name that says it already is admin.
pub fn is_context_param(name: &str, extra: &ContextSettings) -> bool {
    if extra.context_params.iter().any(|p| p == name) {
        return true;
    }
    let name = name.trim_start_matches('_');
    if name.contains("admin") || name.contains("elevated") {
        return false;
    }
    matches!(name, "context" | "ctx" | "req_ctx" | "request_context") || name.ends_with("_context")
}

/// Receivers whose `.context` attribute is the request context: registry callback payloads, API
/// requests.
pub const CONTEXT_CARRIERS: &[&str] = &["payload", "request", "req"];

/// Attributes through which an object handed in as a parameter carries the caller's request context
/// (`task.context`).
pub const CARRIED_CONTEXT_ATTRS: &[&str] = &["context", "_context", "request_context"];

/// Attributes of a request context that are themselves the request context (ML2 `PortContext`).
pub const PLUGIN_CONTEXT_ATTRS: &[&str] = &["_plugin_context", "plugin_context"];

/// Verbs that make a call a write when it receives an escalated context.
const WRITE_VERBS: &[&str] =
    &["create", "update", "delete", "remove", "add", "set", "bind", "unbind", "allocate", "release", "save", "purge"];

/// Methods that write an object fetched with an escalated context.
pub const OBJECT_WRITES: &[&str] = &["update", "create", "delete", "save"];

/// Session methods that write.
pub const SESSION_WRITES: &[&str] = &["add", "delete", "merge", "add_all"];

/// Is `name` (a callee's last name) a write verb: `update_port`, `_delete_trunk`, `add`,
/// `create_or_update_agent`? The verb must be a whole word (`setdefault`, `address_scope` are not).
pub fn is_write_name(name: &str, extra: &ContextSettings) -> bool {
    let name = name.trim_start_matches('_');
    let verb = |v: &str| name == v || name.strip_prefix(v).is_some_and(|rest| rest.starts_with('_'));
    if extra.write_prefixes.iter().any(|p| verb(p)) {
        return true;
    }
    if name.ends_with("_on_error") {
        return false; // clean-up of what the function itself just created
    }
    WRITE_VERBS.iter().any(|v| {
        name == *v || name.strip_prefix(v).is_some_and(|rest| rest.starts_with('_') && !rest.starts_with("_default"))
    })
}

/// How a call writes with a context it is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextWrite<'t> {
    /// A write-named call (`update_port(ctx, …)`, [`is_write_name`]): every argument that is a
    /// context is written with.
    Arguments,
    /// `with db_api.CONTEXT_WRITER.using(ctx):` — a write transaction on its arguments' context.
    Transaction,
    /// `ctx.session.add(…)`: the session of this context writes.
    Session(Node<'t>),
}

/// Does `call` write with a context it receives, and how? The one predicate the TG4 data flow and
/// the project model's "writes with parameter i" fact share.
pub fn context_write<'t>(call: Node<'t>, src: &str, extra: &ContextSettings) -> Option<ContextWrite<'t>> {
    let last = callee_last_name(call, src)?;
    if is_write_name(last, extra) {
        return Some(ContextWrite::Arguments);
    }
    let recv = call.child_by_field_id(fields::function())?.child_by_field_id(fields::object())?;
    if last == "using" && text(recv, src).ends_with("CONTEXT_WRITER") {
        return Some(ContextWrite::Transaction);
    }
    if SESSION_WRITES.contains(&last)
        && recv.kind() == "attribute"
        && recv.child_by_field_id(fields::attribute()).is_some_and(|a| text(a, src) == "session")
    {
        return recv.child_by_field_id(fields::object()).map(ContextWrite::Session);
    }
    None
}

/// Does a call with this last name return an object (an OVO) whose `.update()` writes?
pub fn returns_object(name: &str) -> bool {
    let bare = name.trim_start_matches('_');
    matches!(bare, "get_object" | "get_objects" | "get_object_or_none")
        || (bare.starts_with("get_") && bare.ends_with("_obj"))
        || name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// Is `call` an escalation that does not depend on its receiver: `get_admin_context()`,
/// `get_admin_context_without_session()` (any receiver) or `Context(..., is_admin=True)`?
pub fn admin_context_call(call: Node<'_>, src: &str) -> bool {
    let Some(name) = callee_last_name(call, src) else { return false };
    match name {
        "get_admin_context" | "get_admin_context_without_session" => true,
        "Context" | "RequestContext" | "ContextBase" => {
            keyword_argument(call, "is_admin", src).is_some_and(|v| text(v, src) == "True")
        }
        _ => false,
    }
}

/// Fragments of a helper's name that may return an elevated or admin context
/// (`utils.get_elevated_context(ctx)`, `_admin(ctx)`): TG401 asks the project model whether it does.
pub const ELEVATING_HELPER_FRAGMENTS: &[&str] = &["elevat", "Elevat", "admin", "Admin", "ADMIN"];

/// Is `call` a call to a helper whose name says it may return an elevated or admin copy of a context
/// (see [`ELEVATING_HELPER_FRAGMENTS`]) — not `X.elevated()` or `get_admin_context()` themselves, and
/// not an authorization check (`check_is_admin`)? Whether it does is the project model's answer.
pub fn elevating_helper(call: Node<'_>, src: &str) -> bool {
    let Some(name) = callee_last_name(call, src) else { return false };
    ELEVATING_HELPER_FRAGMENTS.iter().any(|f| name.contains(f))
        && elevated_receiver(call, src).is_none()
        && !admin_context_call(call, src)
        && !name.to_ascii_lowercase().starts_with("is_")
        && !name.to_ascii_lowercase().contains("check")
}

/// Is `call` `X.elevated()`? Returns `X`.
pub fn elevated_receiver<'t>(call: Node<'t>, src: &str) -> Option<Node<'t>> {
    let func = call.child_by_field_id(fields::function())?;
    if func.kind() != "attribute"
        || func.child_by_field_id(fields::attribute()).map(|a| text(a, src)) != Some("elevated")
    {
        return None;
    }
    if call.child_by_field_id(fields::arguments()).is_some_and(|a| a.named_child_count() > 0) {
        return None;
    }
    func.child_by_field_id(fields::object())
}

/// Is `call` an authorization check: `policy.enforce(...)`, `policy.check(...)`, `*.enforce(...)`,
/// `authorize(...)`, `check_is_admin(...)`?
pub fn is_guard_call(call: Node<'_>, src: &str, extra: &ContextSettings) -> bool {
    let Some(last) = callee_last_name(call, src) else { return false };
    let full = call_name(call, src);
    if extra.guards.iter().any(|g| g == last || full.as_deref() == Some(g.as_str())) {
        return true;
    }
    let last = last.trim_start_matches('_');
    if matches!(last, "enforce" | "authorize" | "check_is_admin" | "check_is_advsvc" | "check_is_admin_or_advsvc")
        || last.starts_with("enforce_")
        || last.starts_with("authorize_")
    {
        return true;
    }
    full.is_some_and(|n| n == "policy.check" || n.ends_with(".policy.check"))
}

/// Names of entry-point classes end with one of these.
const ENTRY_POINT_SUFFIXES: &[&str] = &["RpcCallback", "RpcCallbacks", "RpcCallbackMixin", "Skeleton", "Controller"];

/// Could a class named `name` whose text is `text` be an entry point ([`is_entry_point_class`])? Judged
/// from the text alone for selective parsing, so it errs towards yes: a class that is not named like
/// one nor a `*Manager` and mentions `Target` anywhere may set `target = Target(...)`.
pub fn may_be_entry_point_class(name: &str, text: &[u8]) -> bool {
    if ENTRY_POINT_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return true;
    }
    // A controller base is named in the class header: from `class` to the next `:` (decorators
    // before it may hold colons of their own). Unsure is yes.
    let keyword = format!("class {name}");
    let header = memchr::memmem::find(text, keyword.as_bytes())
        .map(|at| &text[at..])
        .map_or(text, |h| memchr::memchr(b':', h).map_or(h, |end| &h[..end]));
    if memchr::memmem::find(header, b"Controller").is_some()
        || memchr::memmem::find(text, RESOURCE.as_bytes()).is_some()
    {
        return true;
    }
    !name.ends_with("Manager") && memchr::memmem::find(text, b"Target").is_some()
}

/// Is the class an entry point with no policy layer in front of it: an RPC endpoint — a class whose
/// body sets `target = oslo_messaging.Target(...)` (or whose `__init__`/`start` sets
/// `self.target = ...`), or whose name says it is one (`*RpcCallback`, `*RpcCallbacks`,
/// `*RpcCallbackMixin`, `*Skeleton`) — or an API controller: a `*Controller`, or a class deriving
/// from one (`wsgi.Controller`, `rest.RestController`)? Service managers (`*Manager` with a `target`)
/// are RPC endpoints too, but their callers are their own API services, which have enforced policy
/// already. A class the module wires into the API through `ResourceExtension` is a controller too,
/// whatever its name.
pub fn is_entry_point_class(class: Node<'_>, cx: &mut Checker<'_>) -> bool {
    let src = cx.text();
    let name = class.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
    if ENTRY_POINT_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return true;
    }
    if name.ends_with("Manager") {
        // nova-compute, cinder-volume, conductor: called by their own API service after policy.
        return false;
    }
    if has_controller_base(class, src) || wired_as_resource(class, name, cx) {
        return true;
    }
    let Some(body) = class.child_by_field_id(fields::body()) else { return false };
    python::statements(body).any(|stmt| sets_target(stmt, "target", src) || sets_target_on_start(stmt, src))
}

/// The API extension class that routes requests to a controller (`extensions.ResourceExtension(name,
/// controller, ...)`).
const RESOURCE: &str = "ResourceExtension";

/// Is the class wired into the API by its module: the module calls `ResourceExtension` and constructs
/// the class (`Name(`) outside its own body? Judged on the text, so it does not depend on which
/// functions selective parsing kept (`get_resources` is rarely one).
fn wired_as_resource(class: Node<'_>, name: &str, cx: &mut Checker<'_>) -> bool {
    if name.is_empty() || !cx.mentions(RESOURCE) {
        return false;
    }
    let mut called: CalledNames = cx.take_scratch();
    let outside = |at: &usize| *at < class.start_byte() || *at >= class.end_byte();
    let wired = called.at(cx.text(), name).iter().any(outside);
    cx.put_scratch(called);
    wired
}

/// Where each name is called in the file's text (`Name(`: the whole name, right before the
/// parenthesis), found in one pass the first time a class asks, so that a module of many classes is
/// read once, not once per class.
#[derive(Default)]
struct CalledNames(Option<std::collections::HashMap<String, Vec<usize>>>);

impl CalledNames {
    fn at(&mut self, src: &str, name: &str) -> &[usize] {
        let calls = self.0.get_or_insert_with(|| {
            let mut calls: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
            for paren in memchr::memchr_iter(b'(', src.as_bytes()) {
                let before = &src[..paren];
                let run: usize =
                    before.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum();
                if run > 0 {
                    calls.entry(before[paren - run..].to_string()).or_default().push(paren - run);
                }
            }
            calls
        });
        calls.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Does the class derive from an API controller base: `wsgi.Controller`, pecan's `rest.RestController`,
/// a service's `base.CyborgController` — any base whose last name ends with `Controller`?
fn has_controller_base(class: Node<'_>, src: &str) -> bool {
    class.child_by_field_id(fields::superclasses()).is_some_and(|bases| {
        python::named_children(bases)
            .into_iter()
            .filter(|b| matches!(b.kind(), "identifier" | "attribute"))
            .any(|b| python::last_segment(text(b, src)).ends_with("Controller"))
    })
}

/// Is `stmt` the assignment `<target> = <…>.Target(...)`?
fn sets_target(stmt: Node<'_>, target: &str, src: &str) -> bool {
    stmt.kind() == "expression_statement"
        && stmt.named_child(0).filter(|a| a.kind() == "assignment").is_some_and(|a| {
            a.child_by_field_id(fields::left()).is_some_and(|l| text(l, src) == target)
                && a.child_by_field_id(fields::right())
                    .and_then(|r| callee_last_name(r, src))
                    .is_some_and(|c| c == "Target")
        })
}

/// Is `stmt` an `__init__` or `start` method that sets `self.target = <…>.Target(...)` (at the top
/// level of its body)?
fn sets_target_on_start(stmt: Node<'_>, src: &str) -> bool {
    let func = match stmt.kind() {
        "function_definition" => stmt,
        "decorated_definition" => match stmt.child_by_field_id(fields::definition()) {
            Some(d) if d.kind() == "function_definition" => d,
            _ => return false,
        },
        _ => return false,
    };
    let name = func.child_by_field_id(fields::name()).map_or("", |n| text(n, src));
    if !matches!(name, "__init__" | "start") {
        return false;
    }
    func.child_by_field_id(fields::body())
        .is_some_and(|body| python::statements(body).any(|s| sets_target(s, "self.target", src)))
}

/// Words in an `if` test that make it an authorization or ownership test.
const GUARD_TESTS: &[&str] = &["is_admin", "is_advsvc", "is_service_role", "project_id", "tenant_id"];

/// Does the `if`/`elif` test `condition` test the caller's rights or ownership?
pub fn is_guard_test(condition: Node<'_>, src: &str) -> bool {
    let t = text(condition, src);
    GUARD_TESTS.iter().any(|w| t.contains(w))
}

/// Is the returned value a yes/no or a count (validation, not data): `x is not None`, `not ports`,
/// `len(ports)`, `bool(...)`, `any(...)`?
pub fn is_verdict(value: Node<'_>, src: &str) -> bool {
    // Iterative: `a and b and …` chains can be tens of thousands of operands deep.
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        let value = python::unparenthesize(value);
        let verdict = match value.kind() {
            "comparison_operator" | "not_operator" | "true" | "false" | "none" | "integer" => true,
            "boolean_operator" => {
                stack.extend(python::named_children(value));
                true
            }
            "call" => callee_last_name(value, src).is_some_and(|n| {
                let n = n.trim_start_matches('_');
                matches!(n, "len" | "bool" | "any" | "all" | "sum" | "count")
                    || n.starts_with("is_")
                    || n.starts_with("has_")
                    || n.ends_with("_count")
            }),
            _ => false,
        };
        if !verdict {
            return false;
        }
    }
    true
}

/// Is `node` inside an `if`/`elif` (in its function) whose test reads `is_admin` — keeping the roles
/// in step with a context that already is admin?
pub fn under_is_admin_test(node: Node<'_>, src: &str) -> bool {
    let mut cur = node.parent();
    let mut depth = 0;
    while let Some(n) = cur {
        if python::is_scope(n) || depth > python::MAX_DEPTH {
            return false;
        }
        if matches!(n.kind(), "if_statement" | "elif_clause")
            && n.child_by_field_id(fields::condition()).is_some_and(|c| text(c, src).contains("is_admin"))
        {
            return true;
        }
        cur = n.parent();
        depth += 1;
    }
    false
}

/// Does `value` (the right side of `roles = …` / argument of `roles.append`) add the `admin` role?
pub fn mentions_admin_role(value: Node<'_>, src: &str) -> bool {
    let t = text(value, src);
    t.contains("'admin'") || t.contains("\"admin\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_names_are_whole_verbs() {
        for w in ["update_port", "_delete_trunk", "add", "create_or_update_agent", "save", "bind_port"] {
            assert!(is_write_name(w, &ContextSettings::default()), "{w}");
        }
        for r in ["setdefault", "address_scope", "get_port", "updated", "settings", "set_default", "removed"] {
            assert!(!is_write_name(r, &ContextSettings::default()), "{r}");
        }
    }

    #[test]
    fn controller_bases_are_seen_in_the_header() {
        assert!(may_be_entry_point_class("Attachments", b"class Attachments(wsgi.Controller):\n    pass"));
        assert!(may_be_entry_point_class("A", b"@add_metaclass(x={'a': 1})\nclass A(rest.RestController):\n    pass"));
        assert!(!may_be_entry_point_class("A", b"class A(object):\n    \"\"\"Not a Controller\"\"\""));
        assert!(!may_be_entry_point_class("FooManager", b"class FooManager(object):\n    target = Target()"));
    }

    #[test]
    fn context_params() {
        for c in ["context", "ctx", "req_ctx", "request_context", "plugin_context", "_context"] {
            assert!(is_context_param(c, &ContextSettings::default()), "{c}");
        }
        for n in ["self", "admin_context", "elevated_context", "contexts", "port"] {
            assert!(!is_context_param(n, &ContextSettings::default()), "{n}");
        }
    }
}
