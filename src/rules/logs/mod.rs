//! Sensitive data in logs (TG3xx) and what the rules share: the sinks (logger calls, `print`,
//! `sys.stdout.write`), the sources (sensitive names, request contexts, whole requests, secret
//! oslo.config options), the sanitizers, and an expression evaluator that follows a value through
//! formatting (`%`, `str.format`, f-strings, `+`, `str()`, dicts) to the sink. In-function flow through
//! locals lives in [`taint`], the name classifier in [`words`].

pub mod taint;
pub mod tg301_secret_in_log;
pub mod tg302_request_context_in_log;
pub mod tg303_request_dump_in_log;
pub mod tg304_exception_detail_in_log;
pub mod tg305_secret_in_exception;
pub mod tg306_secret_option_not_marked;
pub mod words;

use crate::engine::Checker;
use crate::finding::{Finding, Related};
use crate::python::{self, MAX_DEPTH, named_children};
use taint::{Binding, Env};
use tree_sitter::Node;

/// What kind of sensitive thing a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A credential, key or credential-bearing connection string (TG301, TG305).
    Secret,
    /// A whole request context (TG302).
    Context,
    /// A whole web request, its headers or body, or every local/attribute of an object (TG303).
    Request,
    /// A caught exception object (TG304).
    Exception,
}

/// A sensitive value found in an expression that reaches a sink.
#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: Kind,
    /// The `sensitive-word` property: the word or construct that made it sensitive.
    pub word: String,
    /// The `sensitivity` property: the class.
    pub sensitivity: &'static str,
    /// The sensitive expression as written where it originates.
    pub value: String,
    /// Byte range of that expression.
    pub range: (usize, usize),
    /// When it reached the sink through a local: the local's name, how and on which line.
    pub carrier: Option<Carrier>,
    /// Assignment steps from the source to the sink: (start, end, message).
    pub steps: Vec<(usize, usize, String)>,
    /// Set when the value is sensitive only if this oslo.config option is declared `secret=True`.
    pub option: Option<String>,
}

/// The local that carries a sensitive value to the sink.
#[derive(Debug, Clone)]
pub struct Carrier {
    pub name: String,
    pub line: usize,
    /// "assigned from" or "built from".
    pub how: &'static str,
}

impl Hit {
    fn new(kind: Kind, word: &str, sensitivity: &'static str, node: Node<'_>, cx: &Checker<'_>) -> Hit {
        Hit {
            kind,
            word: word.to_string(),
            sensitivity,
            value: shorten(cx.node_text(node)),
            range: (node.start_byte(), node.end_byte()),
            carrier: None,
            steps: Vec::new(),
            option: None,
        }
    }

    /// How the value is named in a message: "`agent_token`" or "`dsn`, which is built from
    /// `password` on line 12,".
    pub fn describe(&self) -> String {
        match &self.carrier {
            None => format!("`{}`", self.value),
            Some(c) => format!("`{}`, which is {} `{}` on line {}", c.name, c.how, self.value, c.line),
        }
    }

    /// The properties, related location and flow steps a finding about this hit carries. Computed
    /// before reporting (the finding borrows the checker mutably).
    pub fn annotation(&self, cx: &Checker<'_>) -> Annotation {
        let mut properties = vec![
            ("sensitive-word".to_string(), self.word.clone()),
            ("sensitivity".to_string(), self.sensitivity.to_string()),
            ("sensitive-value".to_string(), self.value.clone()),
        ];
        if let Some(option) = &self.option {
            properties.push(("secret-option".into(), option.clone()));
        }
        let mut related = Vec::new();
        let mut flow = Vec::new();
        if self.carrier.is_some() {
            related.push(Related {
                span: cx.span(self.range.0, self.range.1),
                message: format!("`{}` originates here", self.value),
            });
            flow = self.steps.iter().map(|(s, e, m)| Related { span: cx.span(*s, *e), message: m.clone() }).collect();
        }
        Annotation { properties, related, flow }
    }
}

/// What a TG3xx finding carries besides its message.
pub struct Annotation {
    pub properties: Vec<(String, String)>,
    pub related: Vec<Related>,
    pub flow: Vec<Related>,
}

impl Annotation {
    fn apply(self, finding: &mut Finding) {
        finding.properties.extend(self.properties);
        finding.related.extend(self.related);
        finding.flow.extend(self.flow);
    }
}

/// The result of evaluating an expression: the sensitive values in it, and whether it is known clean
/// (a literal, a sanitizer call, a comparison) rather than merely unknown.
#[derive(Debug, Clone, Default)]
pub struct Eval {
    pub hits: Vec<Hit>,
    pub clean: bool,
}

impl Eval {
    fn clean() -> Eval {
        Eval { hits: Vec::new(), clean: true }
    }
    fn unknown() -> Eval {
        Eval::default()
    }
    fn union(parts: impl IntoIterator<Item = Eval>) -> Eval {
        let mut out = Eval::clean();
        for p in parts {
            out.clean &= p.clean;
            out.hits.extend(p.hits);
        }
        out.clean &= out.hits.is_empty();
        out
    }
}

/// Decides whether a single node is a source (before the evaluator looks inside it).
pub type SourceFn<'s> = &'s dyn Fn(Node<'_>, &Checker<'_>) -> Option<Hit>;

/// A logging sink: the callee as written and whether it logs at error level or above.
pub struct Sink<'t> {
    pub name: String,
    pub error_level: bool,
    /// The argument nodes whose values are logged.
    pub args: Vec<Node<'t>>,
}

/// Logger methods at error level or above.
const ERROR_METHODS: &[&str] = &["error", "exception", "critical", "fatal"];

/// Keyword arguments of logger calls that do not carry logged values.
const NON_VALUE_KEYWORDS: &[&str] = &["exc_info", "stack_info", "stacklevel", "file", "flush", "end", "sep"];

/// Is `call` a sink? Logger calls (see [`python::logger_call`]), `print(...)`, `sys.stdout.write(...)`
/// and `sys.stderr.write(...)`.
pub fn sink<'t>(call: Node<'t>, cx: &Checker<'_>) -> Option<Sink<'t>> {
    let src = cx.text();
    let (name, error_level, skip_first) = if let Some(name) = python::logger_call(call, src, &cx.loggers) {
        let method = python::last_segment(&name);
        if method == "log" {
            let level = python::positional_arguments(call).first().map(|a| cx.node_text(*a)).unwrap_or("");
            let error = ["ERROR", "CRITICAL", "FATAL"].iter().any(|l| level.ends_with(l));
            (name, error, true)
        } else {
            let error = ERROR_METHODS.contains(&method);
            (name, error, false)
        }
    } else {
        let name = python::call_name(call, src)?;
        let resolved = cx.imports.resolve(&name);
        if !(name == "print" || matches!(resolved.as_str(), "sys.stdout.write" | "sys.stderr.write")) {
            return None;
        }
        (name, false, false)
    };
    let args_node = call.child_by_field_name("arguments")?;
    let mut args = Vec::new();
    let mut positional = 0;
    for arg in named_children(args_node) {
        match arg.kind() {
            "comment" => {}
            "keyword_argument" => {
                let key = arg.child_by_field_name("name").map(|n| cx.node_text(n)).unwrap_or("");
                if !NON_VALUE_KEYWORDS.contains(&key) {
                    args.extend(arg.child_by_field_name("value"));
                }
            }
            _ => {
                positional += 1;
                if !(skip_first && positional == 1) {
                    args.push(arg);
                }
            }
        }
    }
    Some(Sink { name, error_level, args })
}

/// Callees whose result no longer carries the secret: oslo.utils' maskers, hashes, sizes, types.
pub fn is_sanitizer(callee: &str) -> bool {
    let last = python::last_segment(callee).to_ascii_lowercase();
    let last = last.trim_start_matches('_');
    ["mask", "redact", "sanitize", "scrub", "sha", "md5", "hmac", "encrypt"].iter().any(|p| last.starts_with(p))
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
            Eval::union(parts.filter_map(|i| i.child_by_field_name("expression")).map(sub))
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
        "conditional_expression" => {
            let children = named_children(node);
            Eval::union([children.first(), children.get(2)].into_iter().flatten().map(|c| sub(*c)))
        }
        "binary_operator" => {
            let op = node.child_by_field_name("operator").map(|o| cx.node_text(o)).unwrap_or("");
            if !matches!(op, "%" | "+") {
                return Eval::unknown();
            }
            Eval::union(
                [node.child_by_field_name("left"), node.child_by_field_name("right")].into_iter().flatten().map(sub),
            )
        }
        "list_comprehension" | "generator_expression" | "set_comprehension" => {
            node.child_by_field_name("body").map(sub).unwrap_or_default()
        }
        "call" => {
            let Some(func) = node.child_by_field_name("function") else { return Eval::unknown() };
            let args = node.child_by_field_name("arguments");
            match func.kind() {
                "identifier" if PASS_FUNCTIONS.contains(&cx.node_text(func)) => args.map(sub).unwrap_or_default(),
                "attribute" => {
                    let method = func.child_by_field_name("attribute").map(|a| cx.node_text(a)).unwrap_or("");
                    let receiver = func.child_by_field_name("object");
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

/// Shortens an expression's text for a message: one line, at most 60 characters.
pub fn shorten(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(59).collect::<String>())
    } else {
        one_line
    }
}

/// Is this name written as a constant (`PASSWORD`, `AUTH_TOKEN_HEADER`)? Constants hold key names,
/// header names and defaults, not runtime secrets.
fn is_constant(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(|c| c.is_lowercase())
}

/// Roots of oslo.config option reads: `CONF.<group>.<name>`, `cfg.CONF.<name>`, `self.conf.<name>`.
const CONF_ROOTS: &[&str] = &["CONF", "cfg.CONF", "conf", "self.conf", "self._conf", "oslo_config.cfg.CONF"];

/// The option read by `node`, when it is `CONF.<name>` or `CONF.<group>.<name>`.
pub fn conf_option<'a>(node: Node<'_>, cx: &Checker<'a>) -> Option<&'a str> {
    if node.kind() != "attribute" {
        return None;
    }
    let object = node.child_by_field_name("object")?;
    let dotted = python::dotted_name(object, cx.text())?;
    let is_root = |d: &str| CONF_ROOTS.contains(&d);
    let under_root = is_root(&dotted) || dotted.rsplit_once('.').is_some_and(|(root, _)| is_root(root));
    if !under_root {
        return None;
    }
    Some(cx.node_text(node.child_by_field_name("attribute")?))
}

/// A string literal's content, when `node` is a plain string (no interpolation).
pub fn string_literal<'a>(node: Node<'_>, cx: &Checker<'a>) -> Option<&'a str> {
    if node.kind() != "string" || named_children(node).iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let content = named_children(node).into_iter().find(|c| c.kind() == "string_content");
    Some(content.map(|c| cx.node_text(c)).unwrap_or(""))
}

/// Is `node` a name for a request context (`context`, `ctx`, `admin_context`, `req.context`)? Module
/// aliases (`from neutron_lib import context as n_context`) are not.
pub fn is_context_name(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(dotted) = python::dotted_name(node, cx.text()) else { return false };
    let first = dotted.split('.').next().unwrap_or("");
    if cx.imports.binds(first).is_some() {
        return false;
    }
    let last = python::last_segment(&dotted);
    matches!(last, "context" | "ctx" | "_context" | "_ctx") || last.ends_with("_context") || last.ends_with("_ctx")
}

/// Is `node` a web request (`req`, `request`, `self.request`)?
pub fn is_request_name(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(dotted) = python::dotted_name(node, cx.text()) else { return false };
    if cx.imports.binds(&dotted).is_some() {
        return false;
    }
    matches!(python::last_segment(&dotted), "req" | "request")
}

/// Attributes of a web request that carry credentials or the whole body.
const REQUEST_PARTS: &[&str] = &["headers", "environ", "body", "json_body", "POST", "params"];

/// Web frameworks whose import makes a bare `req`/`request` a web request (elsewhere `req` is as often
/// a requirement, a URL or a request id).
const WEB_FRAMEWORKS: &[&str] = &["webob", "flask", "pecan", "falcon", "werkzeug", "routes", "paste"];

/// Does this module handle incoming web requests?
fn serves_web_requests(cx: &Checker<'_>) -> bool {
    cx.imports.imports_any(WEB_FRAMEWORKS)
}

/// Methods of strings, bytes, dicts and lists: calling them says nothing about the value's type.
const CONTAINER_METHODS: &[&str] = &[
    "strip",
    "lstrip",
    "rstrip",
    "encode",
    "decode",
    "lower",
    "upper",
    "split",
    "rsplit",
    "startswith",
    "endswith",
    "replace",
    "format",
    "join",
    "find",
    "index",
    "count",
    "partition",
    "isdigit",
    "isalnum",
    "items",
    "keys",
    "values",
    "get",
    "pop",
    "update",
    "setdefault",
    "copy",
    "append",
    "extend",
    "__len__",
    "__str__",
];

/// Is local `name` used as a structured object in its function (`token.expires_at`,
/// `token.user_id`)? Then it is a model object whose string form is its class's business (keystone's
/// `TokenModel` prints audit ids only), not the secret string itself.
fn used_as_object(name: &str, node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(func) = python::enclosing_function(node) else { return false };
    python::descendants_in_scope(func).into_iter().any(|n| {
        n.kind() == "attribute"
            && n.child_by_field_name("object").is_some_and(|o| o.kind() == "identifier" && cx.node_text(o) == name)
            && n.child_by_field_name("attribute").is_some_and(|a| !CONTAINER_METHODS.contains(&cx.node_text(a)))
    })
}

/// Does the function enclosing `node` take a `req`/`request` parameter (an API controller method)?
fn takes_request(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(params) = python::enclosing_function(node).and_then(|f| f.child_by_field_name("parameters")) else {
        return false;
    };
    named_children(params).into_iter().any(|p| {
        let name = if p.kind() == "identifier" { Some(p) } else { p.child_by_field_name("name") };
        name.is_some_and(|n| matches!(cx.node_text(n), "req" | "request"))
    })
}

/// Words naming objects that hold credentials when dumped whole: a driver or client (`self`), its
/// configuration, a session, parsed command-line options.
const HOLDER_WORDS: &[&str] = &[
    "self",
    "cls",
    "conf",
    "config",
    "configuration",
    "client",
    "session",
    "driver",
    "args",
    "options",
    "opts",
    "settings",
    "auth",
    "credential",
    "credentials",
    "creds",
    "connection",
    "conn",
    "request",
    "req",
];

/// Is `node` an object whose whole state (`vars(x)`, `x.__dict__`) likely holds credentials? Domain
/// objects (`volume.__dict__`, `port.__dict__`) do not.
fn holds_credentials(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(dotted) = python::dotted_name(node, cx.text()) else { return false };
    words::split_words(python::last_segment(&dotted)).iter().any(|w| HOLDER_WORDS.contains(&w.as_str()))
}

/// Is `name` the policy-enforcement sense of "credentials" — the `to_policy_values()` dict (user,
/// project, roles) passed to `enforce`/`authorize` in the same function — rather than a secret?
fn is_policy_credentials(name: &str, node: Node<'_>, cx: &Checker<'_>) -> bool {
    if !matches!(name, "credentials" | "credential" | "creds") {
        return false;
    }
    let Some(func) = python::enclosing_function(node) else { return false };
    python::calls_within(func).into_iter().any(|c| {
        python::callee_last_name(c, cx.text()).is_some_and(|n| n.contains("enforce") || n.contains("authorize"))
    })
}

/// The source for secrets, request contexts and whole requests: sensitive names, secret options,
/// `context.to_dict()`, `req`, `body`, `locals()`, `obj.__dict__`.
pub fn value_source(node: Node<'_>, cx: &Checker<'_>) -> Option<Hit> {
    match node.kind() {
        "identifier" => {
            let name = cx.node_text(node);
            if is_constant(name) || cx.imports.binds(name).is_some() {
                return None;
            }
            if let Some(m) = words::classify(name)
                .filter(|_| !is_policy_credentials(name, node, cx) && !used_as_object(name, node, cx))
            {
                return Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx));
            }
            if matches!(name, "req" | "request") && serves_web_requests(cx) {
                return Some(Hit::new(Kind::Request, name, "request-data", node, cx));
            }
            if (name == "body" || name.ends_with("_body")) && (serves_web_requests(cx) || takes_request(node, cx)) {
                return Some(Hit::new(Kind::Request, name, "request-data", node, cx));
            }
            None
        }
        "attribute" => {
            let object = node.child_by_field_name("object")?;
            let attr = cx.node_text(node.child_by_field_name("attribute")?);
            if attr == "__dict__" {
                if is_context_name(object, cx) {
                    return Some(Hit::new(Kind::Context, "__dict__", "request-context", node, cx));
                }
                return holds_credentials(object, cx)
                    .then(|| Hit::new(Kind::Request, "__dict__", "object-state", node, cx));
            }
            if is_request_name(object, cx) && REQUEST_PARTS.contains(&attr) {
                return Some(Hit::new(Kind::Request, attr, "request-data", node, cx));
            }
            if is_constant(attr) {
                return None;
            }
            if let Some(m) = words::classify(attr) {
                return Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx));
            }
            if let Some(option) = conf_option(node, cx) {
                let mut hit = Hit::new(Kind::Secret, option, "secret-option", node, cx);
                hit.option = Some(option.to_string());
                return Some(hit);
            }
            None
        }
        "subscript" => {
            let key = node.child_by_field_name("subscript").and_then(|k| string_literal(k, cx))?;
            let m = words::classify(key)?;
            Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx))
        }
        "call" => {
            let func = node.child_by_field_name("function")?;
            let positional = python::positional_arguments(node);
            if func.kind() == "identifier" {
                let name = cx.node_text(func);
                return match (name, positional.first()) {
                    ("locals" | "globals", _) => {
                        Some(Hit::new(Kind::Request, &format!("{name}()"), "object-state", node, cx))
                    }
                    ("vars", None) => Some(Hit::new(Kind::Request, "vars()", "object-state", node, cx)),
                    ("vars", Some(obj)) if is_context_name(*obj, cx) => {
                        Some(Hit::new(Kind::Context, "vars()", "request-context", node, cx))
                    }
                    ("vars", Some(obj)) if holds_credentials(*obj, cx) => {
                        Some(Hit::new(Kind::Request, "vars()", "object-state", node, cx))
                    }
                    _ => None,
                };
            }
            if func.kind() != "attribute" {
                return None;
            }
            let receiver = func.child_by_field_name("object")?;
            let method = cx.node_text(func.child_by_field_name("attribute")?);
            // `to_policy_values()` is left out on purpose: it holds ids and roles, never the token.
            if method == "to_dict" && is_context_name(receiver, cx) {
                return Some(Hit::new(Kind::Context, method, "request-context", node, cx));
            }
            if matches!(method, "get" | "pop") {
                let key = positional.first().and_then(|k| string_literal(*k, cx))?;
                let m = words::classify(key)?;
                return Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx));
            }
            None
        }
        _ => None,
    }
}

/// Every sink's evaluated arguments, per file, keyed by the call's start byte: TG301, TG302 and TG303
/// look at the same sink and share one evaluation.
#[derive(Default)]
struct SinkCache(std::collections::HashMap<usize, std::rc::Rc<Vec<Hit>>>);

/// Evaluates every argument of a sink under [`value_source`] and returns the hits of `kind`, definite
/// ones (not waiting on the option index) first.
pub fn sink_hits(call: Node<'_>, args: &[Node<'_>], cx: &mut Checker<'_>, kind: Kind) -> Vec<Hit> {
    let mut cache: SinkCache = cx.take_scratch();
    let all = match cache.0.get(&call.start_byte()) {
        Some(all) => all.clone(),
        None => {
            let env = taint::value_env_before(call, cx);
            let all: Vec<Hit> = args.iter().flat_map(|a| evaluate(*a, cx, &env, &value_source).hits).collect();
            let all = std::rc::Rc::new(all);
            cache.0.insert(call.start_byte(), all.clone());
            all
        }
    };
    cx.put_scratch(cache);
    let mut hits: Vec<Hit> = all.iter().filter(|h| h.kind == kind).cloned().collect();
    hits.sort_by_key(|h| h.option.is_some());
    hits
}

/// Reports `hit` on `node` (deferred on the option index when the hit needs it) and annotates it.
pub fn report_hit(rule: &'static str, node: Node<'_>, hit: &Hit, message: String, cx: &mut Checker<'_>) {
    let annotation = hit.annotation(cx);
    let (start, end) = (node.start_byte(), node.end_byte());
    let finding = match &hit.option {
        Some(option) => cx.report_deferred(option, rule, node, start, end, message),
        None => cx.report_range(rule, node, start, end, message),
    };
    annotation.apply(finding);
}

/// An oslo.config option declaration (`cfg.StrOpt('name', …)`, however `cfg` is imported): the class
/// name and the option-name string node.
pub fn option_declaration<'t>(call: Node<'t>, cx: &Checker<'_>) -> Option<(String, Node<'t>)> {
    let name = python::call_name(call, cx.text())?;
    let resolved = cx.imports.resolve(&name);
    let class = python::last_segment(&resolved);
    let from_cfg = resolved.starts_with("oslo_config.cfg.") || name.starts_with("cfg.");
    if !from_cfg || !class.ends_with("Opt") {
        return None;
    }
    let name_node = python::positional_arguments(call)
        .first()
        .copied()
        .or_else(|| python::keyword_argument(call, "name", cx.text()))
        .filter(|n| string_literal(*n, cx).is_some())?;
    Some((class.to_string(), name_node))
}

/// Does the option declaration pass `secret=True`?
pub fn declares_secret(call: Node<'_>, cx: &Checker<'_>) -> bool {
    python::keyword_argument(call, "secret", cx.text()).is_some_and(|v| cx.node_text(v) == "True")
}

/// Records `call` in the project index when it declares an oslo.config option with `secret=True`.
/// Called by every rule that reads the index, so any selection of them sees the whole index.
pub fn record_secret_option(call: Node<'_>, cx: &mut Checker<'_>) {
    let Some((_, name_node)) = option_declaration(call, cx) else { return };
    if !declares_secret(call, cx) {
        return;
    }
    if let Some(name) = string_literal(name_node, cx) {
        cx.declare_secret_option(name);
    }
}

/// Why a secret hit is sensitive, for messages: "a credential (the name says `token`)".
pub fn why_secret(hit: &Hit) -> String {
    if let Some(option) = &hit.option {
        return format!("the value of the oslo.config option `{option}`, which is declared `secret=True`");
    }
    let class = match hit.sensitivity {
        "key-material" => words::Class::KeyMaterial,
        "connection-string" => words::Class::ConnectionString,
        _ => words::Class::Credential,
    };
    format!("{} (the name says `{}`)", class.noun(), hit.word)
}
