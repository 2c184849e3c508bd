//! TG305 secret-in-exception: a sensitive value formatted into the message of a raised exception,
//! or of an HTTP error response a WSGI controller returns to the API caller.

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
        &["raise_statement", "return_statement", "call"]
    }

    /// `raise`, a returned `HTTP…` error or `Fault`, and option declarations (for the project's
    /// secret-option index).
    fn triggers(&self) -> Triggers {
        Triggers { words: &["raise"], fragments: &["Opt", "HTTP", "Fault"], ..super::OPTION_TRIGGERS }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        if node.kind() == "call" {
            return record_secret_option(node, cx);
        }
        let Some(call) = node.named_child(0).map(python::unparenthesize).filter(|c| c.kind() == "call") else {
            return;
        };
        let returned = node.kind() == "return_statement";
        let args = if returned {
            error_response_arguments(call, cx)
        } else {
            call.child_by_field_id(fields::arguments()).into_iter().collect()
        };
        if args.is_empty() {
            return;
        }
        let env = taint::value_env_for(node, &args, cx);
        let mut hits: Vec<_> = args
            .iter()
            .flat_map(|a| evaluate(*a, cx, &env, &value_source).hits)
            .filter(|h| h.kind == Kind::Secret)
            .collect();
        hits.sort_by_key(|h| h.option.is_some());
        let Some(hit) = hits.first() else { return };
        let exc = python::call_name(call, cx.text()).unwrap_or_else(|| "the exception".into());
        let message = if returned {
            format!(
                "`return {exc}(…)` sends {}, {}, back to the API caller in the error response. Name the thing that failed by its id instead.",
                hit.describe(),
                why_secret(hit)
            )
        } else {
            format!(
                "`raise {exc}(…)` puts {}, {}, into the exception's message: OpenStack services return exception messages to API callers and log them. Name the thing that failed by its id instead.",
                hit.describe(),
                why_secret(hit)
            )
        };
        report_hit(self.id(), node, hit, message, cx, None);
    }
}

/// Is `call` a webob HTTP error (`webob.exc.HTTPBadRequest(…)`, `exc.HTTPNotFound(…)`, any
/// `HTTP…(explanation=…)`)? `requests.auth.HTTPBasicAuth(user, password)` is not.
fn is_http_error(call: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(name) = python::call_name(call, cx.text()) else { return false };
    if !python::last_segment(&name).starts_with("HTTP") {
        return false;
    }
    let resolved = cx.imports.resolve(&name);
    let from_exc = resolved.split('.').any(|s| matches!(s, "exc" | "webob_exc" | "wexc" | "webob"));
    from_exc || ["explanation", "detail"].iter().any(|k| python::keyword_argument(call, k, cx.text()).is_some())
}

/// The arguments of an error response a WSGI controller returns to its caller: `HTTPBadRequest(…)`
/// (webob's `HTTP…` exceptions, however imported) or `Fault(HTTPBadRequest(…))`. Empty for any
/// other returned call.
fn error_response_arguments<'t>(call: Node<'t>, cx: &Checker<'_>) -> Vec<Node<'t>> {
    let is_http = |c: Node<'_>| is_http_error(c, cx);
    let mut out = Vec::new();
    if is_http(call) {
        out.extend(call.child_by_field_id(fields::arguments()));
    } else if python::callee_last_name(call, cx.text()) == Some("Fault") {
        for inner in python::positional_arguments(call).into_iter().map(python::unparenthesize) {
            if inner.kind() == "call" && is_http(inner) {
                out.extend(inner.child_by_field_id(fields::arguments()));
            }
        }
    }
    out
}
