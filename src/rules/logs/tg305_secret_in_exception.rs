//! TG305 secret-in-exception: a sensitive value formatted into the message of a raised exception.

use super::{Kind, evaluate, record_secret_option, report_hit, taint, value_source, why_secret};
use crate::checker::Checker;
use crate::python;
use crate::python::fields;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG305.md`.
pub struct SecretInException;

impl Rule for SecretInException {
    fn id(&self) -> &'static str {
        "TG305"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["raise_statement", "call"]
    }

    /// `raise`, and option declarations (for the project's secret-option index).
    fn triggers(&self) -> Triggers {
        Triggers { words: &["raise"], ..super::OPTION_TRIGGERS }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "call" {
            return record_secret_option(node, cx);
        }
        let Some(call) = node.named_child(0).map(python::unparenthesize).filter(|c| c.kind() == "call") else {
            return;
        };
        let Some(args) = call.child_by_field_id(fields::arguments()) else { return };
        let env = taint::value_env_for(node, &[args], cx);
        let mut hits: Vec<_> =
            evaluate(args, cx, &env, &value_source).hits.into_iter().filter(|h| h.kind == Kind::Secret).collect();
        hits.sort_by_key(|h| h.option.is_some());
        let Some(hit) = hits.first() else { return };
        let exc = python::call_name(call, cx.text()).unwrap_or_else(|| "the exception".into());
        let message = format!(
            "`raise {exc}(…)` puts {}, {}, into the exception's message: Neutron returns exception messages to API callers and logs them. Name the thing that failed by its id instead.",
            hit.describe(),
            why_secret(hit)
        );
        report_hit(self.id(), node, hit, message, cx, None);
    }
}
