//! What a broad handler's swallow costs, so that each one is reported once, by the rule that says so:
//!
//! - **fail-open** (TG204): the failure reads as success — the handler returns `True`, an "allowed"
//!   decision or its input unchanged from a sanitiser, or carries on after the `try` although the `try`
//!   held a policy, authentication, validation or quota call;
//! - **best-effort** (TG205, opt-in): deliberate code that goes on — clean-up, rollback and revert paths
//!   (by the function's name, or nested in error handling), notifications, periodic tasks, driver and
//!   extension loading, probes, and failures turned into a result the caller checks (`return False`, an
//!   error status recorded with a traceback in the log);
//! - **swallowed** (TG201/TG202/TG203): everything else — a failure the caller needs vanishes.
//!
//! Precedence is in that order: a clean-up function that fails open is fail-open.

use super::Handler;
use crate::checker::Checker;
use crate::python::flow::Exits;
use crate::python::{self, Visit, fields, named_children};
use tree_sitter::Node;

/// The consequence of a handler that goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rank {
    /// The failure reads as success; why (`it continues past \`policy.enforce(...)\``).
    FailOpen(String),
    /// Deliberate best-effort code; what kind (`clean-up`, `notification`…).
    BestEffort(&'static str),
    /// A failure the caller needs vanishes.
    Swallowed,
}

/// Where a swallow happens: the protected block, the handler (none for `contextlib.suppress`), the
/// ways it goes on, and the ancestors of the clause (or `with` item), outermost first.
pub struct Site<'s, 't> {
    pub try_body: Option<Node<'t>>,
    pub handler: Option<Node<'t>>,
    pub exits: Exits,
    pub ancestors: &'s [Node<'t>],
}

impl<'s, 't> Site<'s, 't> {
    /// The site of an analysed `except` handler.
    pub fn of(h: &'s Handler<'t>) -> Site<'s, 't> {
        Site { try_body: h.try_body, handler: Some(h.body), exits: h.exits, ancestors: &h.ancestors }
    }
}

/// Ranks a swallow by its consequence.
pub fn rank(site: &Site<'_, '_>, cx: &Checker<'_>) -> Rank {
    if let Some(why) = fail_open(site, cx) {
        return Rank::FailOpen(why);
    }
    best_effort(site, cx).map_or(Rank::Swallowed, Rank::BestEffort)
}

/// The enclosing function definitions within the ancestors, innermost first.
fn functions<'a, 't>(ancestors: &'a [Node<'t>]) -> impl Iterator<Item = (usize, Node<'t>)> + 'a {
    ancestors.iter().copied().enumerate().rev().filter(|(_, n)| n.kind() == "function_definition")
}

fn function_name<'a>(f: Node<'_>, src: &'a str) -> &'a str {
    f.child_by_field_id(fields::name()).map_or("", |n| python::text(n, src))
}

// ---- fail-open ---------------------------------------------------------------------------------

/// Callee names (last segment, lower case) of security decisions: policy, authentication and token
/// validation, ownership and ACL checks, input validation, quota checks.
const SECURITY_EXACT: &[&str] = &[
    "enforce",
    "authorize",
    "authorise",
    "authenticate",
    "check_is_admin",
    "has_permission",
    "limit_check",
    "check_deltas",
    "validate",
    "verify",
];

/// Prefixes (after leading underscores) of security-decision callees.
const SECURITY_PREFIXES: &[&str] = &[
    "enforce_",
    "authenticate_",
    "check_policy",
    "policy_check",
    "check_access",
    "check_permission",
    "check_owner",
    "check_acl",
    "check_quota",
    "check_token",
    "validate_",
    "verify_",
];

/// Receivers whose `check(...)` is a policy decision and whose `reserve(...)` is a quota reservation.
fn security_method(receiver: &str, method: &str) -> bool {
    let r = receiver.to_ascii_lowercase();
    (method == "check" && (r.contains("policy") || r.contains("enforcer")))
        || (matches!(method, "reserve" | "check" | "limit_check") && r.contains("quota"))
}

/// Names of functions that give resources back, where a quota call releases rather than admits.
fn releases(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["delete", "destroy", "remove", "cleanup", "rollback", "revert", "release", "terminate", "unmanage", "shrink"]
        .iter()
        .any(|w| n.contains(w))
}

/// The security decision the call makes, as written (`policy.enforce`), if it makes one.
fn security_call(call: Node<'_>, src: &str, function: &str) -> Option<String> {
    let func = call.child_by_field_id(fields::function())?;
    let last = python::callee_last_name(call, src)?;
    let lower = last.to_ascii_lowercase();
    let bare = lower.trim_start_matches('_');
    let receiver = func.child_by_field_id(fields::object()).map_or("", |o| python::text(o, src));
    let receiver_lower = receiver.to_ascii_lowercase();
    // A driver's `validate(task)` checks its configuration, not the caller's input.
    if receiver_lower.contains("driver") {
        return None;
    }
    let quota = receiver_lower.contains("quota") || bare.contains("quota") || bare == "limit_check";
    let hit = SECURITY_EXACT.contains(&bare)
        || SECURITY_PREFIXES.iter().any(|p| bare.starts_with(p))
        || security_method(receiver, bare);
    if !hit || (quota && (releases(function) || negative_delta(call, src))) {
        return None;
    }
    Some(python::shorten(python::text(func, src), 50))
}

/// Does a quota call pass a negative delta (`volumes=-1`): a release, not an admission?
fn negative_delta(call: Node<'_>, src: &str) -> bool {
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return false };
    named_children(args).into_iter().any(|a| {
        let v = if a.kind() == "keyword_argument" { a.child_by_field_id(fields::value()) } else { Some(a) };
        v.is_some_and(|v| v.kind() == "unary_operator" && python::text(v, src).starts_with('-'))
    })
}

/// Names of a success decision returned by value.
const ALLOW_NAMES: &[&str] = &["allowed", "authorized", "authorised", "permitted", "granted", "allow", "accept"];

/// Function names of sanitisers, whose input returned unchanged is unsanitised output.
const SANITISERS: &[&str] = &["sanitiz", "sanitis", "mask", "escape", "scrub", "redact"];

/// Words of function names that make a security decision, where `return True` on failure is a grant.
const DECIDERS: &[&str] = &[
    "authoriz",
    "authoris",
    "authent",
    "allow",
    "permit",
    "policy",
    "enforce",
    "access",
    "is_admin",
    "owner",
    "acl",
    "token",
    "credential",
    "signature",
    "trusted",
    "verify",
    "validat",
];

/// Why the handler fails open, if it does. A handler that records the failure (an error status, a
/// message, a refusal) or hands it on (`…_or_reraise(...)`) does not.
fn fail_open(site: &Site<'_, '_>, cx: &Checker<'_>) -> Option<String> {
    let src = cx.text();
    let function = functions(site.ancestors).next().map(|(_, f)| f);
    let fname = function.map_or("", |f| function_name(f, src));
    let lower = fname.to_ascii_lowercase();
    if let Some(handler) = site.handler {
        if records_failure(handler, cx) || hands_on(handler, src) {
            return None;
        }
        let decider = DECIDERS.iter().any(|w| lower.contains(w));
        for ret in python::descendants_in_scope(handler).into_iter().filter(|n| n.kind() == "return_statement") {
            let Some(value) = ret.named_child(0) else { continue };
            let text = python::text(value, src);
            let last = python::last_segment(text).to_ascii_lowercase();
            let allow = (decider && text == "True")
                || (matches!(value.kind(), "identifier" | "attribute") && ALLOW_NAMES.contains(&last.as_str()));
            let unchanged = value.kind() == "identifier"
                && SANITISERS.iter().any(|s| lower.contains(s))
                && function.is_some_and(|f| parameters(f, src).contains(&text));
            if allow || unchanged {
                return Some(format!("it returns `{}` when the `try` fails", python::shorten(text, 40)));
            }
        }
    }
    if !site.exits.contains(Exits::FALL) || site.handler.is_some_and(|h| assigns_denial(h, src)) {
        return None;
    }
    // The decision must be the last thing the `try` does, with no `else` holding the success path:
    // then what runs after the `try` is what the decision guarded.
    let body = site.try_body?;
    if body.parent().is_some_and(|t| named_children(t).iter().any(|c| c.kind() == "else_clause")) {
        return None;
    }
    let call =
        final_parts(body).into_iter().flat_map(python::calls_within).find_map(|c| security_call(c, src, fname))?;
    if site.handler.is_some_and(|h| body.parent().is_some_and(|t| returns_emptied(h, t, src))) {
        return None;
    }
    Some(format!("it carries on after the `try` although `{call}(...)` in it failed"))
}

/// Compound statements whose last part is what they do last, and the clauses they are made of.
const COMPOUND: &[&str] = &[
    "if_statement",
    "elif_clause",
    "else_clause",
    "while_statement",
    "for_statement",
    "with_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "match_statement",
    "case_clause",
];

/// Bound on the statements [`final_parts`] visits, so a deeply nested block stays linear.
const MAX_FINAL_PARTS: usize = 256;

/// What a block does last: its final statement when that is a simple one; when it is compound
/// (`if`, `for`, `with`, `try`, `match`…), the final statement of each branch, followed down, with
/// what decides the branches (a condition, a loop's iterable, a `with` item). A security call buried
/// earlier in a compound statement is followed by more work (swift's container sync validates the
/// sync target, then syncs rows for a page): it is not what the `try` did last.
fn final_parts(block: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut work: Vec<Node<'_>> = python::statements(block).last().into_iter().collect();
    let mut visited = 0;
    while let Some(stmt) = work.pop() {
        visited += 1;
        if visited > MAX_FINAL_PARTS {
            break;
        }
        let kind = stmt.kind();
        if matches!(kind, "function_definition" | "class_definition" | "decorated_definition") {
            continue; // defining a function does nothing yet
        }
        if !COMPOUND.contains(&kind) {
            out.push(stmt);
            continue;
        }
        for child in named_children(stmt) {
            match child.kind() {
                "comment" => {}
                "block" if kind == "match_statement" => {
                    work.extend(named_children(child).into_iter().filter(|c| c.kind() == "case_clause"));
                }
                "block" => work.extend(python::statements(child).last()),
                k if COMPOUND.contains(&k) => work.push(child),
                _ => out.push(child), // a condition, an iterable, a `with` item, a loop target
            }
        }
    }
    out
}

/// Does the handler empty what the `try` was building, and the function then return only that
/// (`except Exception: node_groups = []` … `return node_groups, clusters`)? The failure then yields
/// nothing — no template loaded, no item accepted — rather than reading as success. (A quota
/// reservation emptied and then used for a create, `return self._create(..., reservations)`, is not.)
fn returns_emptied(handler: Node<'_>, try_stmt: Node<'_>, src: &str) -> bool {
    let emptied: Vec<&str> = python::descendants_in_scope(handler)
        .into_iter()
        .filter(|n| n.kind() == "assignment")
        .filter(|n| n.child_by_field_id(fields::right()).is_some_and(|r| is_empty_value(r, src)))
        .filter_map(|n| n.child_by_field_id(fields::left()).filter(|l| l.kind() == "identifier"))
        .map(|l| python::text(l, src))
        .collect();
    let Some(value) =
        try_stmt.next_named_sibling().filter(|n| n.kind() == "return_statement").and_then(|r| r.named_child(0))
    else {
        return false;
    };
    let mut names = 0;
    let mut only_emptied = true;
    python::preorder(value, |n| {
        if n.kind() == "identifier" {
            names += 1;
            only_emptied &= emptied.contains(&python::text(n, src));
        }
        python::Visit::Descend
    });
    !emptied.is_empty() && names > 0 && only_emptied
}

/// `[]`, `{}`, `()`, `None`, `list()`, `dict()`, `set()`, `tuple()`.
fn is_empty_value(value: Node<'_>, src: &str) -> bool {
    matches!(python::text(value, src), "[]" | "{}" | "()" | "None" | "list()" | "dict()" | "set()" | "tuple()")
}

/// Does the handler hand the failure on (`self._reschedule_or_reraise(...)`, `task.fail(...)`)?
fn hands_on(handler: Node<'_>, src: &str) -> bool {
    python::calls_within(handler).into_iter().any(|c| {
        python::callee_last_name(c, src).is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.contains("raise") || n == "fail" || n.contains("abort")
        })
    })
}

/// The parameter names of a function definition.
fn parameters<'a>(f: Node<'_>, src: &'a str) -> Vec<&'a str> {
    let Some(params) = f.child_by_field_id(fields::parameters()) else { return Vec::new() };
    named_children(params)
        .into_iter()
        .filter_map(|p| {
            let id = if p.kind() == "identifier" { Some(p) } else { p.named_child(0) };
            id.filter(|i| i.kind() == "identifier").map(|i| python::text(i, src))
        })
        .collect()
}

/// Does the handler record a refusal (`allowed = False`, `result = None`, `msg = "invalid"`, an error
/// response)?
fn assigns_denial(handler: Node<'_>, src: &str) -> bool {
    python::descendants_in_scope(handler).into_iter().any(|n| {
        n.kind() == "assignment"
            && n.child_by_field_id(fields::right()).is_some_and(|r| {
                let t = python::text(r, src);
                matches!(t, "False" | "None")
                    || matches!(r.kind(), "string" | "concatenated_string" | "binary_operator")
                    || python::callee_last_name(r, src)
                        .is_some_and(|n| n == "_" || n.contains("Error") || n.contains("Fault"))
            })
    })
}

// ---- best-effort -------------------------------------------------------------------------------

/// Function names (leading underscores kept) of clean-up, rollback and revert paths.
fn cleanup_function(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let bare = lower.trim_start_matches('_');
    const WORDS: &[&str] = &["cleanup", "clean_up", "rollback", "roll_back", "revert", "undo", "teardown", "tear_down"];
    const BARE_PREFIXES: &[&str] = &[
        "stop",
        "close",
        "shutdown",
        "terminate",
        "disconnect",
        "release",
        "unlock",
        "kill",
        "safe_",
        "try_",
        "best_effort",
    ];
    const PRIVATE_PREFIXES: &[&str] =
        &["_delete", "_remove", "_destroy", "_unbind", "_unplug", "_detach", "_unregister", "_deregister", "_purge"];
    WORDS.iter().any(|w| lower.contains(w))
        || BARE_PREFIXES.iter().any(|p| bare.starts_with(p))
        || PRIVATE_PREFIXES.iter().any(|p| lower.starts_with(p))
        || matches!(name, "__del__" | "__exit__" | "__aexit__" | "__repr__" | "__str__")
}

/// Function names of probes (a yes/no question about the environment) and loaders.
fn probe_or_loader(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let bare = lower.trim_start_matches('_');
    const PROBES: &[&str] =
        &["is_", "has_", "can_", "supports", "probe", "ping", "detect", "test_", "check_", "get_version", "version"];
    const LOADERS: &[&str] = &["load", "import_", "register_", "discover"];
    if PROBES.iter().any(|p| bare.starts_with(p)) {
        return Some("probe");
    }
    LOADERS.iter().any(|p| bare.starts_with(p)).then_some("loading")
}

/// Is the function decorated as (or named) a periodic task or heartbeat?
fn periodic(ancestors: &[Node<'_>], at: usize, name: &str, src: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if ["periodic", "heartbeat", "report_state"].iter().any(|w| lower.contains(w)) {
        return true;
    }
    let Some(decorated) = at.checked_sub(1).map(|i| ancestors[i]).filter(|d| d.kind() == "decorated_definition") else {
        return false;
    };
    named_children(decorated)
        .into_iter()
        .filter(|d| d.kind() == "decorator")
        .any(|d| python::text(d, src).to_ascii_lowercase().contains("periodic"))
}

/// What a call in the protected block does, for deciding whether the block is only best-effort work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Cleanup,
    Notification,
    Loading,
    /// Logging, builtins, reads, sessions and locks: neither best-effort nor the point of the block.
    Neutral,
    Action,
}

fn call_kind(call: Node<'_>, cx: &Checker<'_>) -> CallKind {
    let src = cx.text();
    if python::logger_call(call, src, &cx.loggers).is_some() {
        return CallKind::Neutral;
    }
    let Some(last) = python::callee_last_name(call, src) else { return CallKind::Action };
    let lower = last.to_ascii_lowercase();
    let bare = lower.trim_start_matches('_');
    let receiver = call
        .child_by_field_id(fields::function())
        .and_then(|f| f.child_by_field_id(fields::object()))
        .map_or(String::new(), |o| python::text(o, src).to_ascii_lowercase());
    if bare.contains("notif") || receiver.contains("notifier") || bare.starts_with("send_event") {
        return CallKind::Notification;
    }
    let imported = python::call_name(call, src).map(|n| cx.imports.resolve(&n)).unwrap_or_default();
    if ["stevedore", "importutils", "importlib", "pkg_resources", "entry_points"]
        .iter()
        .any(|m| receiver.contains(m) || imported.contains(m))
        || ["import_", "load_", "drivermanager", "extensionmanager", "hookmanager", "__import__"]
            .iter()
            .any(|p| bare.starts_with(p) || lower == *p)
    {
        return CallKind::Loading;
    }
    const CLEANUP: &[&str] = &[
        "delete",
        "remove",
        "cleanup",
        "clean_up",
        "close",
        "stop",
        "release",
        "unlock",
        "disconnect",
        "rollback",
        "destroy",
        "kill",
        "terminate",
        "detach",
        "unplug",
        "unbind",
        "unregister",
        "deregister",
        "shutdown",
        "rmtree",
        "unlink",
        "revert",
        "purge",
        "unmount",
        "umount",
        "deallocate",
        "teardown",
        "cancel",
        "discard",
        "rmdir",
        "prune",
    ];
    if CLEANUP.iter().any(|w| bare.contains(w)) {
        return CallKind::Cleanup;
    }
    const NEUTRAL: &[&str] = &[
        "len",
        "str",
        "int",
        "float",
        "bool",
        "dict",
        "list",
        "set",
        "tuple",
        "isinstance",
        "getattr",
        "hasattr",
        "setattr",
        "sorted",
        "format",
        "_",
        "begin",
        "session",
        "get_session",
        "get_admin_context",
        "elevated",
        "lock",
        "synchronized",
        "using",
        "join",
        "exists",
        "isdir",
        "isfile",
    ];
    if NEUTRAL.contains(&lower.as_str()) || bare.starts_with("get") || bare.starts_with("find") {
        return CallKind::Neutral;
    }
    CallKind::Action
}

/// The best-effort kind of the calls of the protected block when all of them are best-effort work
/// (or neutral), at least one is, and the kind allows it here (`in_cleanup`: the clean-up kind only
/// counts in a clean-up path).
fn block_kind(body: Node<'_>, in_cleanup: bool, cx: &Checker<'_>) -> Option<&'static str> {
    let mut kind = None;
    // Outermost calls: arguments of a call are part of that call's work.
    let mut calls = Vec::new();
    python::preorder(body, |n| {
        if n != body && (!n.is_named() || python::is_scope(n)) {
            return Visit::Skip;
        }
        if n.kind() == "call" {
            calls.push(n);
            return Visit::Skip;
        }
        Visit::Descend
    });
    for call in calls {
        let k = match call_kind(call, cx) {
            CallKind::Neutral => continue,
            CallKind::Action => return None,
            CallKind::Cleanup if !in_cleanup => return None,
            CallKind::Cleanup => "clean-up",
            CallKind::Notification => "notification",
            CallKind::Loading => "loading",
        };
        kind = kind.or(Some(k));
    }
    kind
}

/// Does the handler log with a traceback (`LOG.exception`, `exc_info=True`, `traceback.format_exc()`)?
pub fn logs_traceback(handler: Node<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    python::calls_within(handler).into_iter().any(|c| {
        if let Some(name) = python::logger_call(c, src, &cx.loggers) {
            return name.ends_with(".exception")
                || python::keyword_argument(c, "exc_info", src).is_some_and(|v| python::text(v, src) != "False");
        }
        python::call_name(c, src).is_some_and(|n| n.starts_with("traceback."))
    })
}

/// Does the handler record the failure where someone will see it: an error status or a call named
/// after the error (`_set_error_state`, `status=constants.ERROR`)?
fn records_failure(handler: Node<'_>, cx: &Checker<'_>) -> bool {
    let src = cx.text();
    let errorish = |t: &str| {
        let upper = t.to_ascii_uppercase();
        (upper.contains("ERROR") || upper.contains("FAIL")) && !t.contains("LOG")
    };
    let collects = |call: Node<'_>| {
        let Some(func) = call.child_by_field_id(fields::function()) else { return false };
        let method = func.child_by_field_id(fields::attribute()).map(|a| python::text(a, src));
        let receiver = func
            .child_by_field_id(fields::object())
            .map_or(String::new(), |o| python::text(o, src).to_ascii_lowercase());
        matches!(method, Some("append" | "add" | "extend" | "update"))
            && ["fail", "error", "bad", "invalid", "broken", "unhealthy"].iter().any(|w| receiver.contains(w))
    };
    python::descendants_in_scope(handler).into_iter().any(|n| match n.kind() {
        "call" if collects(n) => true,
        "call" if python::logger_call(n, src, &cx.loggers).is_none() => {
            python::callee_last_name(n, src).is_some_and(errorish)
                || n.child_by_field_id(fields::arguments()).is_some_and(|a| {
                    python::descendants_in_scope(a).into_iter().any(|v| {
                        (v.kind() == "attribute"
                            || (v.kind() == "identifier"
                                && python::text(v, src).chars().all(|c| !c.is_ascii_lowercase())))
                            && errorish(python::last_segment(python::text(v, src)))
                            || (v.kind() == "string"
                                && matches!(
                                    python::text(v, src).trim_matches(['\'', '"']),
                                    "error" | "ERROR" | "failed" | "FAILED"
                                ))
                    })
                })
        }
        "assignment" => n
            .child_by_field_id(fields::right())
            .is_some_and(|r| r.kind() != "call" && errorish(python::last_segment(python::text(r, src)))),
        _ => false,
    })
}

/// Does every way out of the handler return a failure result (`return False`) the caller checks?
fn returns_failure(handler: Node<'_>, exits: Exits, src: &str) -> bool {
    if !exits.contains(Exits::RETURN) || exits.without(Exits::RETURN.with(Exits::RAISE)) != Exits::NONE {
        return false;
    }
    python::descendants_in_scope(handler).into_iter().filter(|n| n.kind() == "return_statement").all(|r| {
        r.named_child(0).is_some_and(|v| {
            let t = python::text(v, src);
            let upper = python::last_segment(t).to_ascii_uppercase();
            t == "False"
                || upper.contains("FAIL")
                || upper.contains("ERR")
                || (v.kind() == "identifier" && matches!(t, "msg" | "message" | "error" | "err" | "reason"))
                || (v.kind() == "tuple" && v.named_child(0).is_some_and(|c| python::text(c, src) == "False"))
        })
    })
}

/// The best-effort kind of the site, if it is deliberate best-effort code.
fn best_effort(site: &Site<'_, '_>, cx: &Checker<'_>) -> Option<&'static str> {
    let src = cx.text();
    let mut in_cleanup = false;
    let mut kind = None;
    // Enclosing functions (innermost first) and error handling within the innermost one.
    for (at, f) in functions(site.ancestors) {
        let name = function_name(f, src);
        let lower = name.to_ascii_lowercase();
        if cleanup_function(name) {
            in_cleanup = true;
            kind = kind.or(Some("clean-up"));
        } else if lower.contains("notif") {
            kind = kind.or(Some("notification"));
        } else if lower.contains("error")
            || lower.ends_with("_err")
            || (lower.contains("fail") && !lower.contains("failover") && !lower.contains("failback"))
        {
            in_cleanup = true;
            kind = kind.or(Some("failure-path"));
        } else if periodic(site.ancestors, at, name, src) {
            kind = kind.or(Some("periodic-task"));
        } else if let Some(k) = probe_or_loader(name) {
            kind = kind.or(Some(k));
        }
    }
    let innermost = functions(site.ancestors).next().map_or(0, |(at, _)| at);
    let local = &site.ancestors[innermost..];
    if local.iter().any(|a| matches!(a.kind(), "except_clause" | "finally_clause")) {
        in_cleanup = true;
        kind = kind.or(Some("clean-up"));
    }
    if local.iter().any(|a| a.kind() == "while_statement" && sleeps(*a, src)) {
        kind = kind.or(Some("periodic-task"));
    }
    if kind.is_some() {
        return kind;
    }
    let traceback = site.handler.is_some_and(|h| logs_traceback(h, cx));
    if let Some(k) = site.try_body.and_then(|b| block_kind(b, in_cleanup || traceback, cx)) {
        return Some(k);
    }
    let handler = site.handler?;
    if traceback && site.try_body.is_some_and(|b| runs_a_callable(b, site.ancestors, src)) {
        return Some("task-runner");
    }
    if returns_failure(handler, site.exits, src) || (records_failure(handler, cx) && traceback) {
        return Some("failure-result");
    }
    if site.try_body.is_some_and(|b| falls_back(b, handler, src)) || returns_input(handler, site.ancestors, src) {
        return Some("fallback-value");
    }
    if python::calls_within(handler).into_iter().any(|c| python::call_name(c, src).is_some_and(|n| n == "print")) {
        return Some("command-line report");
    }
    None
}

/// Does the handler return one of the function's parameters (`return value` after
/// `return ast.literal_eval(value)` failed): the input as its own fallback?
fn returns_input(handler: Node<'_>, ancestors: &[Node<'_>], src: &str) -> bool {
    let Some((_, f)) = functions(ancestors).next() else { return false };
    let params = parameters(f, src);
    python::descendants_in_scope(handler).into_iter().any(|r| {
        r.kind() == "return_statement"
            && r.named_child(0).is_some_and(|v| v.kind() == "identifier" && params.contains(&python::text(v, src)))
    })
}

/// Does the loop's body wait between rounds (`time.sleep(...)`, `event.wait(...)`): a polling loop?
fn sleeps(loop_stmt: Node<'_>, src: &str) -> bool {
    loop_stmt.child_by_field_id(fields::body()).is_some_and(|b| {
        python::calls_within(b)
            .into_iter()
            .any(|c| python::callee_last_name(c, src).is_some_and(|n| matches!(n, "sleep" | "wait" | "_wait")))
    })
}

/// Does the protected block call something it was handed (`fn(*args)`, `getattr(obj, name)(...)`):
/// a task runner, which logs what its tasks raise and goes on to the next?
fn runs_a_callable(body: Node<'_>, ancestors: &[Node<'_>], src: &str) -> bool {
    let params: Vec<&str> = functions(ancestors).flat_map(|(_, f)| parameters(f, src)).collect();
    python::calls_within(body).into_iter().any(|c| {
        c.child_by_field_id(fields::function()).is_some_and(|f| {
            let name = python::text(f, src);
            f.kind() == "call"
                || (f.kind() == "identifier"
                    && (params.contains(&name)
                        || matches!(
                            name,
                            "func" | "fn" | "f" | "callback" | "cb" | "task" | "job" | "handler" | "method"
                        )))
        })
    })
}

/// Does the handler assign the variable the protected block computes (`x = json.loads(s)` /
/// `x = s`): a fallback value, and nothing else of consequence?
fn falls_back(body: Node<'_>, handler: Node<'_>, src: &str) -> bool {
    let targets = |n: Node<'_>| -> Vec<String> {
        python::descendants_in_scope(n)
            .into_iter()
            .filter(|a| a.kind() == "assignment")
            .filter_map(|a| a.child_by_field_id(fields::left()))
            .filter(|l| l.kind() == "identifier")
            .map(|l| python::text(l, src).to_string())
            .collect()
    };
    let computed = targets(body);
    targets(handler).iter().any(|t| computed.contains(t))
}
