//! The expression evaluator: follows a value through formatting (`%` with a tuple or a dict,
//! `str.format`, f-strings, `+`, `str()`/`repr()`, `jsonutils.dumps`, string methods, containers) to
//! the sink, stopping at sanitizers (`mask_password`, hashes, `len`, `type`…), literals and booleans.
//! Depth-bounded by `python::MAX_DEPTH`.

use super::taint::{Binding, Env};
use super::{Eval, Hit, Kind, SourceFn, sources};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, MAX_DEPTH, named_children};
use tree_sitter::Node;

/// Callees whose result no longer carries the secret: oslo.utils' maskers, hashes, sizes, types, and
/// generators of identifiers.
pub fn is_sanitizer(callee: &str) -> bool {
    let last = python::last_segment(callee).to_ascii_lowercase();
    let last = last.trim_start_matches('_');
    ["mask", "redact", "sanitize", "scrub", "sha", "md5", "hmac", "encrypt"].iter().any(|p| last.starts_with(p))
        // A callee that says it makes an identifier (`_random_ident()`): oslo.db's `db_token`.
        || last.split('_').any(|w| matches!(w, "ident" | "identifier"))
        || last.contains("hash")
        || last.contains("digest")
        || matches!(
            last,
            "len"
                | "bool"
                | "type"
                | "id"
                | "int"
                | "float"
                | "isinstance"
                | "callable"
                | "get_logging_values"
                | "bool_from_string"
                | "is_valid_uuid"
                | "count"
                | "keys"
                | "uuid4"
                | "urlparse"
                | "urlsplit"
        )
}

/// Function callees through which a value's text flows into the result.
const PASS_FUNCTIONS: &[&str] = &[
    "str",
    "repr",
    "text_type",
    "unicode",
    "bytes",
    "format",
    "safe_decode",
    "safe_encode",
    "dumps",
    "dict",
    "list",
    "tuple",
    "sorted",
    "_",
    "b64encode",
    "quote",
    "quote_plus",
];

/// String methods through which the receiver's (and the arguments') text flows into the result.
const PASS_METHODS: &[&str] =
    &["format", "join", "encode", "decode", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "title"];

/// Node kinds whose value is a literal or a boolean: clean.
const CLEAN_KINDS: &[&str] =
    &["integer", "float", "true", "false", "none", "comparison_operator", "not_operator", "ellipsis", "lambda"];

/// Evaluates `node` for sensitive values under `source`, following locals through `env`.
pub fn evaluate(node: Node<'_>, cx: &Checker<'_>, env: &Env, source: SourceFn<'_>) -> Eval {
    eval_at(node, cx, env, source, 0)
}

fn eval_at(node: Node<'_>, cx: &Checker<'_>, env: &Env, source: SourceFn<'_>, depth: usize) -> Eval {
    if depth > MAX_DEPTH {
        return Eval::unknown();
    }
    let kind = node.kind();
    if CLEAN_KINDS.contains(&kind) {
        return Eval::clean();
    }
    if kind == "call"
        && let Some(callee) =
            python::call_name(node, cx.text()).or_else(|| python::callee_last_name(node, cx.text()).map(str::to_string))
        && is_sanitizer(&callee)
    {
        return Eval::clean();
    }
    if kind == "identifier"
        && let Some(binding) = env.get(cx.node_text(node))
    {
        return match binding {
            Binding::Clean => Eval::clean(),
            Binding::Tainted(hits) => Eval { hits: hits.clone(), clean: false },
        };
    }
    if let Some(hit) = source(node, cx) {
        return Eval { hits: vec![hit], clean: false };
    }
    let sub = |n: Node<'_>| eval_at(n, cx, env, source, depth + 1);
    match kind {
        "string" => {
            let parts = named_children(node).into_iter().filter(|c| c.kind() == "interpolation");
            Eval::union(parts.filter_map(|i| i.child_by_field_id(fields::expression())).map(sub))
        }
        "concatenated_string"
        | "parenthesized_expression"
        | "tuple"
        | "list"
        | "set"
        | "expression_list"
        | "boolean_operator"
        | "argument_list"
        | "keyword_argument"
        | "pair"
        | "dictionary"
        | "await"
        | "list_splat"
        | "dictionary_splat" => {
            let children = named_children(node).into_iter().filter(|c| {
                c.kind() != "comment"
                    && !(kind == "keyword_argument" && c.kind() == "identifier" && c.next_sibling().is_some())
            });
            Eval::union(children.map(sub))
        }
        // `(p := password)` is the value it binds.
        "named_expression" => node.child_by_field_id(fields::value()).map(sub).unwrap_or_default(),
        "conditional_expression" => {
            let children = named_children(node);
            Eval::union([children.first(), children.get(2)].into_iter().flatten().map(|c| sub(*c)))
        }
        "binary_operator" => {
            let op = node.child_by_field_id(fields::operator()).map(|o| cx.node_text(o)).unwrap_or("");
            if !matches!(op, "%" | "+") {
                return Eval::unknown();
            }
            if op == "%"
                && let (Some(fmt), Some(mapping)) =
                    (node.child_by_field_id(fields::left()), node.child_by_field_id(fields::right()))
                && let Some(hits) = format_fields(fmt, mapping, cx)
            {
                return Eval { hits, clean: false };
            }
            Eval::union(
                [node.child_by_field_id(fields::left()), node.child_by_field_id(fields::right())]
                    .into_iter()
                    .flatten()
                    .map(sub),
            )
        }
        "list_comprehension" | "generator_expression" | "set_comprehension" => {
            node.child_by_field_id(fields::body()).map(sub).unwrap_or_default()
        }
        "call" => {
            let Some(func) = node.child_by_field_id(fields::function()) else { return Eval::unknown() };
            let args = node.child_by_field_id(fields::arguments());
            match func.kind() {
                "identifier" if PASS_FUNCTIONS.contains(&cx.node_text(func)) => args.map(sub).unwrap_or_default(),
                "attribute" => {
                    let method = func.child_by_field_id(fields::attribute()).map(|a| cx.node_text(a)).unwrap_or("");
                    let receiver = func.child_by_field_id(fields::object());
                    if PASS_METHODS.contains(&method) {
                        Eval::union([receiver, args].into_iter().flatten().map(sub))
                    } else if PASS_FUNCTIONS.contains(&method)
                        && receiver.and_then(|r| python::dotted_name(r, cx.text())).is_some_and(|r| {
                            matches!(r.as_str(), "six" | "jsonutils" | "json" | "encodeutils" | "base64" | "parse")
                        })
                    {
                        args.map(sub).unwrap_or_default()
                    } else {
                        Eval::unknown()
                    }
                }
                _ => Eval::unknown(),
            }
        }
        _ => Eval::unknown(),
    }
}

/// When `fmt % mapping` (or a logger's `fmt, mapping`) formats a whole-state mapping — `locals()`,
/// `globals()`, `vars(x)`, `x.__dict__`, `context.to_dict()` — through a literal whose placeholders
/// are all named (`'%(remote_pe)s: %(mac)s' % locals()`), only the named entries are logged: the
/// hits are those of the names that are sensitive, reported on the mapping. `None` when the shape
/// differs (a `%s` placeholder formats the whole mapping).
pub fn format_fields(fmt: Node<'_>, mapping: Node<'_>, cx: &Checker<'_>) -> Option<Vec<Hit>> {
    let mut mapping = python::unparenthesize(mapping);
    if mapping.kind() == "dictionary_splat" {
        mapping = python::unparenthesize(mapping.named_child(0)?);
    }
    let whole = sources::value_source(mapping, cx)
        .is_some_and(|h| matches!(h.kind, Kind::Request | Kind::Context) && mapping.kind() != "identifier");
    if !whole {
        return None;
    }
    let names = named_placeholders(&literal_text(python::unparenthesize(fmt), cx)?)?;
    let hits = names
        .iter()
        .filter_map(|name| {
            let m = sources::sensitive_name(name, cx)?;
            let mut hit = Hit::new(Kind::Secret, &m.word, m.class.as_str(), mapping, cx);
            hit.value = name.clone();
            Some(hit)
        })
        .collect();
    Some(hits)
}

/// The text of a plain string literal, or of implicitly concatenated ones (`'a' 'b'`).
fn literal_text(node: Node<'_>, cx: &Checker<'_>) -> Option<String> {
    match node.kind() {
        "string" => sources::string_literal(node, cx).map(str::to_string),
        "concatenated_string" => {
            let parts: Option<Vec<&str>> =
                named_children(node).into_iter().map(|c| sources::string_literal(c, cx)).collect();
            Some(parts?.concat())
        }
        _ => None,
    }
}

/// The names of a `%`-format's placeholders when every placeholder is named (`%(name)s`); `None`
/// when there are none or one is positional (`%s` formats the whole mapping).
fn named_placeholders(text: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            Some('%') => {}
            Some('(') => {
                let name: String = chars.by_ref().take_while(|&c| c != ')').collect();
                names.push(name);
            }
            _ => return None,
        }
    }
    (!names.is_empty()).then_some(names)
}
