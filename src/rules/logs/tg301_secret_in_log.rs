//! TG301 secret-in-log: a credential, key or credential-bearing connection string reaches a logger
//! call, `print` or `sys.stdout.write`, directly or through a local; and oslo.log's
//! `@log_method_call` on a function with a sensitive-named parameter; and an oslo.messaging
//! notification whose payload carries a secret. The same secret logged several times in one
//! function is one finding, the other calls its related locations.

use super::{Hit, Kind, argument_hits, notifier_sink, record_secret_option, report_hit, sink, sink_hits, why_secret};
use crate::checker::Checker;
use crate::model::index::{CallRef, Condition};
use crate::python::fields;
use crate::python::{self, named_children};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG301.md`.
pub struct SecretInLog;

/// [`super::SINK_WORDS`] and the decorator's name.
const WORDS: &[&str] =
    &["LOG", "LOGGER", "logger", "log", "_LOG", "_log", "logging", "print", "stdout", "stderr", "log_method_call"];

/// What an argument's text must hold for TG301 to follow it into a helper that may log it: passwords,
/// passphrases and private keys as written (case-sensitively, so selective parsing keeps every
/// function where it looks). `token`, `secret` and `credential` are left out: they name objects (a
/// keystone token, a barbican secret model) far more often than values, and keeping every function
/// that says them doubled the time TG301 takes. Any secret is still found where it reaches a log
/// call itself.
pub const WRAPPER_FRAGMENTS: &[&str] =
    &["password", "Password", "PASSWORD", "passwd", "PASSWD", "passphrase", "private_key", "PRIVATE_KEY"];

/// The longest argument TG301 follows into a helper.
const MAX_ARGUMENT_BYTES: usize = 1024;

/// Fragments of a notifier's name ([`notifier_sink`]: `notifier`, `_notifier`, `get_notifier`),
/// [`super::OPTION_TRIGGERS`]' fragments and [`WRAPPER_FRAGMENTS`].
const FRAGMENTS: &[&str] = &[
    "otifier",
    "OTIFIER",
    "Opt",
    "password",
    "Password",
    "PASSWORD",
    "passwd",
    "PASSWD",
    "passphrase",
    "private_key",
    "PRIVATE_KEY",
];

impl Rule for SecretInLog {
    fn id(&self) -> &'static str {
        "TG301"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call", "decorated_definition"]
    }

    /// Log sinks, `@log_method_call`, option declarations (for the project's secret-option index),
    /// and secrets handed to a helper ([`WRAPPER_FRAGMENTS`]).
    fn triggers(&self) -> Triggers {
        Triggers {
            words: WORDS,
            fragments: FRAGMENTS,
            import_modules: &["sys", "oslo_config", "log_method_call"],
            ..super::SINK_TRIGGERS
        }
    }

    fn gatherers(&self) -> &'static [&'static dyn crate::checker::Gatherer] {
        crate::rules::facts::USES_MODEL
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "decorated_definition" {
            return check_log_method_call(self.id(), node, cx);
        }
        record_secret_option(node, cx);
        let (sink, notifies) = match sink(node, cx) {
            Some(sink) => (sink, false),
            None => match notifier_sink(node, cx) {
                Some(sink) => (sink, true),
                None => return check_helper_call(self.id(), node, cx),
            },
        };
        let hits = sink_hits(node, &sink.args, cx, Kind::Secret);
        let Some(hit) = hits.first() else { return };
        if same_root_cause(node, hit, &sink.name, cx) {
            return;
        }
        let message = if notifies {
            format!(
                "`{}` sends {}, {}, in a notification payload: every consumer of the notification topic (telemetry, audit, billing) receives it. Put an identifier in the payload instead.",
                sink.name,
                hit.describe(),
                why_secret(hit)
            )
        } else {
            format!(
                "`{}` logs {}, {}: anyone who can read the logs can reuse it. Log an identifier instead, or mask the value with `strutils.mask_password()`.",
                sink.name,
                hit.describe(),
                why_secret(hit)
            )
        };
        // The mechanical fix redacts a logged value; a notification's payload needs a design decision.
        let fix = if notifies { None } else { super::redact_fix(hit, cx) };
        report_hit(self.id(), node, hit, message, cx, fix);
        if hit.option.is_none() {
            remember_root_cause(node, hit, cx);
        }
    }
}

/// A secret handed to a project function that logs the parameter it binds (`self._log_call('login',
/// {'password': pw})`): reported at the call once the project model confirms the helper logs it,
/// with the flow through the helpers.
fn check_helper_call(id: &'static str, call: Node<'_>, cx: &mut Checker<'_>) {
    // Most calls hand over nothing that says password: one look at the argument list's text first.
    let Some(args) = call.child_by_field_id(fields::arguments()) else { return };
    if args.end_byte() - args.start_byte() > 4 * MAX_ARGUMENT_BYTES {
        return; // nested or generated: its inner calls are visited on their own
    }
    let listed = cx.node_text(args);
    if !WRAPPER_FRAGMENTS.iter().any(|f| listed.contains(f)) {
        return;
    }
    let Some(callee) = call.child_by_field_id(fields::function()).and_then(|f| python::dotted_name(f, cx.text()))
    else {
        return;
    };
    for (slot, value) in python::argument_slots(call, cx.text()) {
        let Some(slot) = slot else { continue };
        // A secret handed to a helper is a short expression; a long one (nested calls, generated
        // tables) is not read, so the cost per call stays bounded whatever the nesting.
        if value.end_byte() - value.start_byte() > MAX_ARGUMENT_BYTES {
            continue;
        }
        let text = cx.node_text(value);
        if !WRAPPER_FRAGMENTS.iter().any(|f| text.contains(f)) {
            continue;
        }
        let Some(hit) = argument_hits(call, value, cx).into_iter().next() else { continue };
        let message = format!(
            "`{callee}` is given {}, {}, and `{{helper}}` logs its parameter `{{param}}`: anyone who can read the logs can reuse it. Pass an identifier instead, or mask the value with `strutils.mask_password()` before the helper logs it.",
            hit.describe(),
            why_secret(&hit)
        );
        let annotation = hit.annotation(cx);
        let which = crate::rules::facts::arg(slot);
        let condition =
            Condition::IfLogs(CallRef { callee: callee.clone(), span: cx.node_span(call), arg: Some(which) });
        annotation.apply(cx.report_if(condition, id, call.start_byte(), call.end_byte(), message));
        return;
    }
}

/// The TG301 findings of this file by root cause: (enclosing function, the sensitive value as it
/// originates) → the finding's index in the checker's findings.
#[derive(Default)]
struct RootCauses(std::collections::HashMap<(usize, String, usize), usize>);

/// The root-cause key of `hit` at `call`: the same secret logged again in the same function is the
/// same finding. A value reaching the sink directly is keyed by its text, one carried by a local by
/// where it originates.
fn root_key(call: Node<'_>, hit: &Hit, cx: &Checker<'_>) -> (usize, String, usize) {
    let func = cx.enclosing_function(call).map_or(0, |f| f.start_byte());
    let origin = if hit.carrier.is_some() { hit.range.0 } else { usize::MAX };
    (func, hit.value.clone(), origin)
}

/// When this function already has a TG301 finding for the same secret, adds `call` to it as a
/// related location and says so: one finding per root cause.
fn same_root_cause(call: Node<'_>, hit: &Hit, sink: &str, cx: &mut Checker<'_>) -> bool {
    if hit.option.is_some() {
        return false;
    }
    let causes: RootCauses = cx.take_scratch();
    let earlier = causes.0.get(&root_key(call, hit, cx)).copied();
    cx.put_scratch(causes);
    let Some(index) = earlier else { return false };
    let related = cx.related(call, format!("`{sink}` also logs {} here", hit.describe()));
    match cx.findings.get_mut(index) {
        Some(f) if f.rule == "TG301" => {
            f.related.push(related);
            true
        }
        _ => false,
    }
}

/// Records the finding just reported for `hit` at `call` as its root cause's.
fn remember_root_cause(call: Node<'_>, hit: &Hit, cx: &mut Checker<'_>) {
    let Some(index) = cx.findings.len().checked_sub(1) else { return };
    let key = root_key(call, hit, cx);
    let mut causes: RootCauses = cx.take_scratch();
    causes.0.entry(key).or_insert(index);
    cx.put_scratch(causes);
}

/// `@log_helpers.log_method_call` (oslo.log, however imported) logs every argument at DEBUG.
fn check_log_method_call(id: &'static str, node: Node<'_>, cx: &mut Checker<'_>) {
    let Some(def) = node.child_by_field_id(fields::definition()).filter(|d| d.kind() == "function_definition") else {
        return;
    };
    let decorator = named_children(node).into_iter().filter(|d| d.kind() == "decorator").find(|d| {
        d.named_child(0)
            .and_then(|e| python::dotted_name(e, cx.text()))
            .is_some_and(|n| python::last_segment(&cx.imports.resolve(&n)) == "log_method_call")
    });
    let Some(decorator) = decorator else { return };
    let Some(params) = def.child_by_field_id(fields::parameters()) else { return };
    for param in named_children(params) {
        let name_node = match param.kind() {
            "identifier" => Some(param),
            "typed_parameter" => param.named_child(0).filter(|n| n.kind() == "identifier"),
            "default_parameter" | "typed_default_parameter" => param.child_by_field_id(fields::name()),
            _ => None,
        };
        let Some(name_node) = name_node else { continue };
        let name = cx.node_text(name_node);
        let Some(m) = super::sources::sensitive_name(name, cx) else { continue };
        let func = def.child_by_field_id(fields::name()).map(|n| cx.node_text(n)).unwrap_or("?");
        let hit = Hit::new(Kind::Secret, &m.word, m.class.as_str(), name_node, cx);
        let message = format!(
            "`{}` logs every argument of `{func}` at DEBUG, including the parameter `{name}`, {}: anyone who can read the logs can reuse it. Drop the decorator or log the arguments you need yourself.",
            decorator.named_child(0).map_or("log_method_call", |e| cx.node_text(e)),
            why_secret(&hit)
        );
        let related = cx.related(name_node, format!("`{name}` is logged by the decorator"));
        let annotation = hit.annotation(cx);
        let f = cx.report(id, decorator, message);
        f.related.push(related);
        f.properties.extend(annotation.properties);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_cover_sinks_and_options() {
        let t = SecretInLog.triggers();
        assert!(super::super::SINK_WORDS.iter().all(|w| t.words.contains(w)));
        assert!(t.module_loggers);
        assert!(super::super::SINK_TRIGGERS.import_modules.iter().all(|m| t.import_modules.contains(m)));
        assert!(super::super::OPTION_TRIGGERS.import_modules.iter().all(|m| t.import_modules.contains(m)));
    }
}
