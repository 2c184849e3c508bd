//! What makes a single expression sensitive before the evaluator looks inside it: sensitive names
//! (variables, attributes, subscript and `.get()` keys), reads of oslo.config options (deferred on the
//! project's secret-option index), request contexts as dicts, whole web requests and object dumps —
//! and the real-code look-alikes that are not (requirements named `req`, model objects named `token`,
//! oslo.policy `credentials`, domain objects' `__dict__`).

use super::{Hit, Kind, words};
use crate::checker::Checker;
use crate::python::fields;
use crate::python::{self, named_children};
use tree_sitter::Node;

/// Is this name written as a constant (`PASSWORD`, `AUTH_TOKEN_HEADER`)? Constants hold key names,
/// header names and defaults, not runtime secrets.
fn is_constant(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(|c| c.is_lowercase())
}

/// Is `name` a class's (`Secret`, `models.ContainerSecret`, `SecretStore`): CapWords, no underscore?
/// A class names a kind of thing, not a value that holds one.
fn is_class_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().any(|c| c.is_lowercase()) && !name.contains('_')
}

/// Roots of oslo.config option reads: `CONF.<group>.<name>`, `cfg.CONF.<name>`, `self.conf.<name>`.
const CONF_ROOTS: &[&str] = &["CONF", "cfg.CONF", "conf", "self.conf", "self._conf", "oslo_config.cfg.CONF"];

/// The option read by `node`, when it is `CONF.<name>` or `CONF.<group>.<name>`.
pub fn conf_option<'a>(node: Node<'_>, cx: &Checker<'a>) -> Option<&'a str> {
    if node.kind() != "attribute" {
        return None;
    }
    let object = node.child_by_field_id(fields::object())?;
    let dotted = python::dotted_name(object, cx.text())?;
    let is_root = |d: &str| CONF_ROOTS.contains(&d);
    let under_root = is_root(&dotted) || dotted.rsplit_once('.').is_some_and(|(root, _)| is_root(root));
    if !under_root {
        return None;
    }
    Some(cx.node_text(node.child_by_field_id(fields::attribute())?))
}

/// A string literal's content, when `node` is a plain string (no interpolation).
pub fn string_literal<'a>(node: Node<'_>, cx: &Checker<'a>) -> Option<&'a str> {
    if node.kind() != "string" || named_children(node).iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let content = named_children(node).into_iter().find(|c| c.kind() == "string_content");
    Some(content.map(|c| cx.node_text(c)).unwrap_or(""))
}

/// Is `node` a name for a request context (`context`, `ctx`, `admin_context`, `req.context`)? The
/// module imported as `context` (`from neutron_lib import context`) is shadowed by the `context`
/// parameter in the functions that matter, and has no `to_dict()`, so imports are not excluded.
pub fn is_context_name(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(dotted) = python::dotted_name(node, cx.text()) else { return false };
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
    let Some(func) = cx.enclosing_function(node) else { return false };
    python::descendants_in_scope(func).into_iter().any(|n| {
        n.kind() == "attribute"
            && n.child_by_field_id(fields::object())
                .is_some_and(|o| o.kind() == "identifier" && cx.node_text(o) == name)
            && n.child_by_field_id(fields::attribute()).is_some_and(|a| !CONTAINER_METHODS.contains(&cx.node_text(a)))
    })
}

/// Does the function enclosing `node` take a `req`/`request` parameter (an API controller method)?
fn takes_request(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(params) = cx.enclosing_function(node).and_then(|f| f.child_by_field_id(fields::parameters())) else {
        return false;
    };
    named_children(params).into_iter().any(|p| {
        let name = if p.kind() == "identifier" { Some(p) } else { p.child_by_field_id(fields::name()) };
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
    let Some(func) = cx.enclosing_function(node) else { return false };
    python::calls_within(func).into_iter().any(|c| {
        python::callee_last_name(c, cx.text()).is_some_and(|n| n.contains("enforce") || n.contains("authorize"))
    })
}

/// Words whose presence in a module says it handles a target's CHAP credentials (and so the
/// `connection_info` it builds or logs carries them).
const CHAP_WORDS: &[&str] = &["auth_password", "chap_secret", "chap_password", "discovery_auth_password"];

/// [`words::classify_with`] under the run's vocabulary, with a connection-info dict sensitive only
/// in a module that puts CHAP credentials in it (a VMDK or NFS driver's `connection_info` holds a
/// path or a moref, nothing secret).
pub fn sensitive_name(name: &str, cx: &Checker<'_>) -> Option<words::Match> {
    let m = words::classify_with(name, &cx.knobs.sensitive)?;
    if m.class == words::Class::CredentialDict && !CHAP_WORDS.iter().any(|w| cx.mentions(w)) {
        return None;
    }
    Some(m)
}

/// Callees whose first argument is a file-system path.
const PATH_CALLEES: &[&str] =
    &["open", "exists", "isfile", "isdir", "getsize", "abspath", "realpath", "expanduser", "basename", "dirname"];

/// First words of a callee that writes its arguments somewhere (`write_file(path, data)`,
/// `save_to_file(key, path)`): its first argument may be the content, not the path.
const WRITER_VERBS: &[&str] = &["write", "save", "dump", "store", "put", "to", "create", "encrypt"];

/// Path keywords written run together (`ssl.wrap_socket(keyfile=…)`, `load_cert_chain(certfile=…)`),
/// which [`words::is_path_name`] does not split.
const RUN_TOGETHER_PATH_KEYWORDS: &[&str] =
    &["keyfile", "certfile", "cafile", "capath", "keypath", "certpath", "pemfile", "crtfile"];

/// Does `callee` take a file-system path in `slot`? The first positional
/// argument of [`PATH_CALLEES`] and of a callee whose name ends in a path word
/// (`ssl_set_private_key_file`, `set_ca_path`, `load_key_file`) unless it names a writer
/// ([`WRITER_VERBS`]); a keyword argument named as a path (`keyfile=`, `key_file=`, `ca_path=`).
fn takes_path(callee: &str, slot: python::Slot<'_>) -> bool {
    match slot {
        python::Slot::Position(0) => {
            let words = words::split_words(callee);
            let writer = words.first().is_some_and(|w| WRITER_VERBS.contains(&w.as_str()));
            PATH_CALLEES.contains(&callee) || (words.len() > 1 && words::is_path_name(callee) && !writer)
        }
        python::Slot::Keyword(key) => {
            let key = key.to_ascii_lowercase();
            words::is_path_name(&key) || RUN_TOGETHER_PATH_KEYWORDS.contains(&key.as_str())
        }
        python::Slot::Position(_) => false,
    }
}

/// Does the function enclosing `node` use the same expression as a path (`open(CONF.x.ca_private_key)`,
/// `os.path.exists(key_file)`, `Stream.ssl_set_private_key_file(CONF.ovn.ovn_sb_private_key)`,
/// `ssl.wrap_socket(sock, keyfile=CONF.ssl.key)`)? Then the value is where the secret lives, not the
/// secret.
fn used_as_path(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(func) = cx.enclosing_function(node) else { return false };
    let written = cx.node_text(node);
    python::calls_within(func).into_iter().any(|c| {
        let Some(callee) = python::callee_last_name(c, cx.text()) else { return false };
        python::argument_slots(c, cx.text())
            .into_iter()
            .any(|(slot, a)| slot.is_some_and(|s| takes_path(callee, s)) && cx.node_text(a) == written)
    })
}

/// Keyword arguments that select records of a listing by their attributes.
const FILTER_KEYWORDS: &[&str] = &["filter", "filters", "search_opts"];

/// Does the function enclosing `node` list records filtered by the same expression
/// (`describe_volumes(context, filter=[{'name': 'client-token', 'value': [client_token]}])`)? A value
/// a listing is filtered by is an attribute the listing shows back — EC2's idempotency `ClientToken` —
/// not a credential: services look credentials up through dedicated validation calls, never filters.
fn used_as_filter(node: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(func) = cx.enclosing_function(node) else { return false };
    let written = cx.node_text(node);
    python::calls_within(func).into_iter().any(|c| {
        python::argument_slots(c, cx.text()).into_iter().any(|(slot, value)| {
            matches!(slot, Some(python::Slot::Keyword(k)) if FILTER_KEYWORDS.contains(&k))
                && python::descendants_in_scope(value).into_iter().any(|d| cx.node_text(d) == written)
        })
    })
}

/// The source for secrets, request contexts and whole requests: sensitive names, secret options,
/// `context.to_dict()`, `req`, `body`, `locals()`, `obj.__dict__`.
pub fn value_source(node: Node<'_>, cx: &Checker<'_>) -> Option<Hit> {
    match node.kind() {
        "identifier" => {
            let name = cx.node_text(node);
            if is_constant(name) || is_class_name(name) || cx.imports.binds(name).is_some() {
                return None;
            }
            if let Some(m) = sensitive_name(name, cx).filter(|_| {
                !is_policy_credentials(name, node, cx)
                    && !used_as_object(name, node, cx)
                    && !used_as_path(node, cx)
                    && !used_as_filter(node, cx)
            }) {
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
            let object = node.child_by_field_id(fields::object())?;
            let attr = cx.node_text(node.child_by_field_id(fields::attribute())?);
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
            if is_constant(attr) || is_class_name(attr) {
                return None;
            }
            if let Some(m) = sensitive_name(attr, cx) {
                return (!used_as_path(node, cx) && !used_as_filter(node, cx))
                    .then(|| Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx));
            }
            if let Some(option) = conf_option(node, cx) {
                let mut hit = Hit::new(Kind::Secret, option, "secret-option", node, cx);
                hit.option = Some(option.to_string());
                return Some(hit);
            }
            None
        }
        "subscript" => {
            let key = node.child_by_field_id(fields::subscript()).and_then(|k| string_literal(k, cx))?;
            let m = sensitive_name(key, cx)?;
            Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx))
        }
        "call" => {
            let func = node.child_by_field_id(fields::function())?;
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
            let receiver = func.child_by_field_id(fields::object())?;
            let method = cx.node_text(func.child_by_field_id(fields::attribute())?);
            // `to_policy_values()` is left out on purpose: it holds ids and roles, never the token.
            if method == "to_dict" && is_context_name(receiver, cx) {
                return Some(Hit::new(Kind::Context, method, "request-context", node, cx));
            }
            if matches!(method, "get" | "pop") {
                let key = positional.first().and_then(|k| string_literal(*k, cx))?;
                let m = sensitive_name(key, cx)?;
                return Some(Hit::new(Kind::Secret, &m.word, m.class.as_str(), node, cx));
            }
            None
        }
        _ => None,
    }
}
