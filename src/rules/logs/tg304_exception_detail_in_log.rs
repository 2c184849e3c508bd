//! TG304 exception-detail-in-log (opt-in): inside a broad `except Exception as e:` handler, `e` (its
//! text, `str(e)`, `e.args`…) is formatted into a log call at error level or above.

use super::{Hit, Kind, evaluate, sink, taint};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children};
use crate::rules::exceptions::{Catch, caught};
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG304.md`.
pub struct ExceptionDetailInLog;

/// Attributes of an exception that carry its text.
const TEXT_ATTRIBUTES: &[&str] = &["args", "message", "msg", "strerror", "kwargs", "detail", "details"];

impl Rule for ExceptionDetailInLog {
    fn id(&self) -> &'static str {
        "TG304"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call"]
    }

    fn triggers(&self) -> Triggers {
        super::SINK_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(sink) = sink(node, cx).filter(|s| s.error_level) else { return };
        for (clause, name, broad) in broad_handlers_around(node, cx) {
            let source = |n: Node<'_>, cx: &Checker<'_>| -> Option<Hit> {
                let is_exc = |x: Node<'_>| x.kind() == "identifier" && cx.node_text(x) == name;
                let hit = match n.kind() {
                    "identifier" => is_exc(n),
                    "attribute" => {
                        n.child_by_field_id(fields::object()).is_some_and(is_exc)
                            && n.child_by_field_id(fields::attribute())
                                .is_some_and(|a| TEXT_ATTRIBUTES.contains(&cx.node_text(a)))
                    }
                    _ => false,
                };
                hit.then(|| Hit::new(Kind::Exception, &name, "exception-detail", n, cx))
            };
            let env = taint::env_before(node, cx, &source);
            let hit = sink.args.iter().flat_map(|a| evaluate(*a, cx, &env, &source).hits).next();
            let Some(hit) = hit else { continue };
            let message = format!(
                "`{}` formats {} — the exception caught by the broad `except {broad} as {name}` — into an error-level log: its text can carry internals (SQL, hostnames, file paths, credentials from a connection string). Log a message of your own and the ids involved; keep the detail at DEBUG or in the traceback.",
                sink.name,
                hit.describe(),
            );
            let related = cx.related(clause, format!("`{name}` is caught here"));
            let annotation = hit.annotation(cx);
            let f = cx.report(self.id(), node, message);
            f.related.push(related);
            f.properties.extend(annotation.properties);
            f.flow.extend(annotation.flow);
            return;
        }
    }
}

/// The broad `except … as name` clauses whose body holds `node` (innermost first, stopping at the
/// enclosing function): (clause, bound name, broad class as written).
fn broad_handlers_around<'t>(node: Node<'t>, cx: &Checker<'t>) -> Vec<(Node<'t>, String, String)> {
    let mut out = Vec::new();
    for n in cx.ancestors(node).into_iter().rev() {
        if python::is_scope(n) {
            break;
        }
        if n.kind() == "except_clause"
            && let Catch::Broad(broad) = caught(n, cx.text())
            && let Some(name) = bound_name(n, cx)
        {
            out.push((n, name, broad));
        }
    }
    out
}

/// The name an `except X as name:` clause binds.
fn bound_name(clause: Node<'_>, cx: &Checker<'_>) -> Option<String> {
    let mut cursor = clause.walk();
    let values: Vec<Node<'_>> = clause.children_by_field_name("value", &mut cursor).collect();
    for v in values {
        if v.kind() == "as_pattern" {
            let target = v.child_by_field_id(fields::alias()).or_else(|| named_children(v).into_iter().nth(1))?;
            let target = if target.kind() == "as_pattern_target" { target.named_child(0)? } else { target };
            return Some(cx.node_text(target).to_string());
        }
    }
    // Older grammars put the alias as a sibling identifier after `as`.
    let mut cursor = clause.walk();
    let children: Vec<Node<'_>> = clause.children(&mut cursor).collect();
    let as_at = children.iter().position(|c| c.kind() == "as")?;
    children.get(as_at + 1).filter(|c| c.kind() == "identifier").map(|c| cx.node_text(*c).to_string())
}
