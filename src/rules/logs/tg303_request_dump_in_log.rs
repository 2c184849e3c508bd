//! TG303 request-dump-in-log: a whole web request, its headers, environ or body, or every local
//! (`locals()`, `vars()`, `globals()`, `obj.__dict__`) reaches a log call.

use super::{Hit, Kind, report_hit, sink, sink_hits};
use crate::checker::Checker;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG303.md`.
pub struct RequestDumpInLog;

impl Rule for RequestDumpInLog {
    fn id(&self) -> &'static str {
        "TG303"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call"]
    }

    fn triggers(&self) -> Triggers {
        super::SINK_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some(sink) = sink(node, cx) else { return };
        let hits = sink_hits(node, &sink.args, cx, Kind::Request);
        let Some(hit) = hits.first() else { return };
        let message = format!(
            "`{}` logs {}, {}. Log the method, path and the ids you need instead.",
            sink.name,
            hit.describe(),
            what(hit)
        );
        report_hit(self.id(), node, hit, message, cx, None);
    }
}

fn what(hit: &Hit) -> &'static str {
    match hit.word.as_str() {
        "req" | "request" => "the whole web request: its headers carry `X-Auth-Token` and its body may carry passwords",
        "headers" => "every request header, including `X-Auth-Token`",
        "environ" => {
            "the whole WSGI environ: it holds every request header, `X-Auth-Token` included, and the request context"
        }
        "locals()" => "every local variable: passwords and tokens in scope end up in the log",
        "globals()" => "every module global, credentials loaded at import time included",
        "vars()" | "__dict__" => "every attribute of the object: credentials it holds end up in the log",
        _ => "the whole request body: it may carry passwords, tokens or keys",
    }
}
