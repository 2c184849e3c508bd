//! TG301 secret-in-log: a credential, key or credential-bearing connection string reaches a logger
//! call, `print` or `sys.stdout.write`, directly or through a local; and oslo.log's
//! `@log_method_call` on a function with a sensitive-named parameter.

use super::{Hit, Kind, record_secret_option, report_hit, sink, sink_hits, why_secret, words};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG301.md`.
pub struct SecretInLog;

/// [`super::SINK_WORDS`] and the decorator's name.
const WORDS: &[&str] =
    &["LOG", "LOGGER", "logger", "log", "_LOG", "_log", "logging", "print", "stdout", "stderr", "log_method_call"];

impl Rule for SecretInLog {
    fn id(&self) -> &'static str {
        "TG301"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call", "decorated_definition"]
    }

    /// Log sinks, `@log_method_call`, and option declarations (for the project's secret-option index).
    fn triggers(&self) -> Triggers {
        Triggers {
            words: WORDS,
            fragments: super::OPTION_TRIGGERS.fragments,
            import_modules: &["sys", "oslo_config", "log_method_call"],
            ..super::SINK_TRIGGERS
        }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "decorated_definition" {
            return check_log_method_call(self.id(), node, cx);
        }
        record_secret_option(node, cx);
        let Some(sink) = sink(node, cx) else { return };
        let hits = sink_hits(node, &sink.args, cx, Kind::Secret);
        let Some(hit) = hits.first() else { return };
        let message = format!(
            "`{}` logs {}, {}: anyone who can read the logs can reuse it. Log an identifier instead, or mask the value with `strutils.mask_password()`.",
            sink.name,
            hit.describe(),
            why_secret(hit)
        );
        let fix = super::redact_fix(hit, cx);
        report_hit(self.id(), node, hit, message, cx, fix);
    }
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
        let Some(m) = words::classify_with(name, &cx.knobs.sensitive) else { continue };
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
