//! Sensitive data in logs (TG3xx) and what the rules share: the sinks (logger calls, `print`,
//! `sys.stdout.write`), the sources (sensitive names, request contexts, whole requests, secret
//! oslo.config options), the sanitizers, and an expression evaluator that follows a value through
//! formatting (`%`, `str.format`, f-strings, `+`, `str()`, dicts) to the sink. In-function flow through
//! locals lives in [`taint`], the name classifier in [`words`], the evaluator in [`eval`], the
//! sources in [`sources`], oslo.config declarations in [`options`].

pub mod eval;
pub mod options;
pub mod sources;
pub mod taint;
pub mod tg301_secret_in_log;
pub mod tg302_request_context_in_log;
pub mod tg303_request_dump_in_log;
pub mod tg304_exception_detail_in_log;
pub mod tg305_secret_in_exception;
pub mod tg306_secret_option_not_marked;
pub mod words;

pub use eval::{evaluate, is_sanitizer};
pub use options::{declares_secret, option_declaration, record_secret_option};
pub use sources::{string_literal, value_source};

use crate::checker::Checker;
use crate::finding::{Applicability, Finding, Fix, Related};
use crate::python::fields;
use crate::python::{self, named_children};
use crate::rules::Triggers;
use tree_sitter::Node;

/// Words a log sink's callee contains ([`sink`]): the receivers of [`python::LOGGER_NAMES`] (`self.log`
/// has `log`), `print`, and `sys.stdout`/`sys.stderr` however `sys` is imported.
pub const SINK_WORDS: &[&str] =
    &["LOG", "LOGGER", "logger", "log", "_LOG", "_log", "logging", "print", "stdout", "stderr"];

/// A log sink: [`SINK_WORDS`], module loggers (`_logger = logging.getLogger(...)`, any name) and the
/// aliases of `sys` imports (`from sys import stdout as out`).
pub const SINK_TRIGGERS: Triggers =
    Triggers { words: SINK_WORDS, import_modules: &["sys"], module_loggers: true, ..Triggers::NONE };

/// An oslo.config option declaration ([`option_declaration`]): its class ends in `Opt`, unless imported
/// under another name from `oslo_config`.
pub const OPTION_TRIGGERS: Triggers =
    Triggers { fragments: &["Opt"], import_modules: &["oslo_config"], ..Triggers::NONE };

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
                path: None,
            });
            flow = self
                .steps
                .iter()
                .map(|(s, e, m)| Related { span: cx.span(*s, *e), message: m.clone(), path: None })
                .collect();
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
    let args_node = call.child_by_field_id(fields::arguments())?;
    let mut args = Vec::new();
    let mut positional = 0;
    for arg in named_children(args_node) {
        match arg.kind() {
            "comment" => {}
            "keyword_argument" => {
                let key = arg.child_by_field_id(fields::name()).map(|n| cx.node_text(n)).unwrap_or("");
                if !NON_VALUE_KEYWORDS.contains(&key) {
                    args.extend(arg.child_by_field_id(fields::value()));
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

/// Methods of an oslo.messaging `Notifier` that emit a notification, one per priority.
const NOTIFY_METHODS: &[&str] = &["audit", "debug", "info", "warn", "warning", "error", "critical", "sample"];

/// Is `call` an oslo.messaging notification (`self.notifier.info(context, 'volume.create', payload)`,
/// `rpc.get_notifier('share').error(...)`, `notifier.prepare(...).info(...)`)? Its payload (third
/// positional argument or `payload=`) goes to every consumer of the notification topic — telemetry,
/// audit stores, billing — as a log line does. The context argument is not a payload.
pub fn notifier_sink<'t>(call: Node<'t>, cx: &Checker<'_>) -> Option<Sink<'t>> {
    let func = call.child_by_field_id(fields::function()).filter(|f| f.kind() == "attribute")?;
    let method = cx.node_text(func.child_by_field_id(fields::attribute())?);
    if !NOTIFY_METHODS.contains(&method) {
        return None;
    }
    let mut receiver = func.child_by_field_id(fields::object())?;
    // `get_notifier(...).info`, `notifier.prepare(...).info`: the notifier is the innermost callee.
    let mut hops = 0;
    while receiver.kind() == "call" && hops < 4 {
        receiver = receiver.child_by_field_id(fields::function())?;
        hops += 1;
    }
    let name = python::dotted_name(receiver, cx.text())?;
    let is_notifier = name.split('.').any(|seg| seg.to_ascii_lowercase().trim_start_matches('_').ends_with("notifier"));
    if !is_notifier {
        return None;
    }
    let payload = python::keyword_argument(call, "payload", cx.text())
        .or_else(|| python::positional_arguments(call).get(2).copied())?;
    let shown = if hops == 0 { format!("{name}.{method}") } else { format!("{name}(…).{method}") };
    Some(Sink { name: shown, error_level: false, args: vec![payload] })
}

/// Shortens an expression's text for a message: one line, at most 60 characters.
pub fn shorten(s: &str) -> String {
    python::shorten(s, 60)
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
            let env = taint::value_env_for(call, args, cx);
            // `LOG.debug('%(a)s and %(b)s', locals())`: only the named entries of the mapping are logged.
            let named = match args {
                [fmt, mapping] => eval::format_fields(*fmt, *mapping, cx),
                _ => None,
            };
            let all: Vec<Hit> = match named {
                Some(hits) => evaluate(args[0], cx, &env, &value_source).hits.into_iter().chain(hits).collect(),
                None => args.iter().flat_map(|a| evaluate(*a, cx, &env, &value_source).hits).collect(),
            };
            let all = std::rc::Rc::new(all);
            cache.0.insert(call.start_byte(), all.clone());
            all
        }
    };
    cx.put_scratch(cache);
    // A local whose name says it holds a path (`key_file = os.path.join(keys_dir, secret_key)`) carries
    // where a secret lives, not the secret.
    let carries_a_path = |h: &&Hit| h.carrier.as_ref().is_some_and(|c| words::is_path_name(&c.name));
    let mut hits: Vec<Hit> = all.iter().filter(|h| h.kind == kind).filter(|h| !carries_a_path(h)).cloned().collect();
    hits.sort_by_key(|h| h.option.is_some());
    hits
}

/// The secret hits of one argument of a call that is not a sink (what a logging wrapper is given),
/// definite ones only (not waiting on the option index), paths to secrets left out.
pub fn argument_hits(call: Node<'_>, arg: Node<'_>, cx: &mut Checker<'_>) -> Vec<Hit> {
    let env = taint::value_env_for(call, &[arg], cx);
    evaluate(arg, cx, &env, &value_source)
        .hits
        .into_iter()
        .filter(|h| h.kind == Kind::Secret && h.option.is_none())
        .filter(|h| !h.carrier.as_ref().is_some_and(|c| words::is_path_name(&c.name)))
        .collect()
}

/// Reports `hit` on `node` (deferred on the option index when the hit needs it) and annotates it.
pub fn report_hit(
    rule: &'static str,
    node: Node<'_>,
    hit: &Hit,
    message: String,
    cx: &mut Checker<'_>,
    fix: Option<Fix>,
) {
    let annotation = hit.annotation(cx);
    let (start, end) = (node.start_byte(), node.end_byte());
    let finding = match &hit.option {
        Some(option) => cx.report_deferred(option, rule, start, end, message),
        None => cx.report_range(rule, start, end, message),
    };
    annotation.apply(finding);
    finding.fix = fix;
}

/// TG302's fix: `context.to_dict()` logged directly becomes `context.get_logging_values()` (unsafe: the
/// record shows fewer fields). None when the context reaches the log through a local (the local may
/// have other uses) or is logged some other way (`vars(context)`).
pub fn logging_values_fix(hit: &Hit, cx: &Checker<'_>) -> Option<Fix> {
    const CALL: &str = "to_dict()";
    let (start, end) = hit.range;
    let text = cx.text().get(start..end)?;
    if hit.carrier.is_some() || !text.ends_with(&format!(".{CALL}")) {
        return None;
    }
    Some(Fix {
        title: "Log `get_logging_values()` instead of `to_dict()`".into(),
        applicability: Applicability::Unsafe,
        edits: vec![cx.edit(end - CALL.len(), end, "get_logging_values()")],
    })
}

/// TG301's fix: the secret logged directly becomes the string `'***'` (unsafe: the record no longer
/// shows it). Not `strutils.mask_password(value)`: that masks only `password=…`-shaped text, so a bare
/// secret would pass through it unmasked while the finding went away. None when the value reaches the
/// log through a local (the local may have other uses), sits in an f-string's braces (a quote there
/// is a syntax error before Python 3.12) or is one named entry of a logged mapping.
pub fn redact_fix(hit: &Hit, cx: &Checker<'_>) -> Option<Fix> {
    let (start, end) = hit.range;
    let text = cx.text().get(start..end)?;
    let before = cx.text()[..start].trim_end().chars().next_back();
    // A named entry of a mapping (`'%(password)s', locals()`) is not the text at the range.
    if hit.carrier.is_some() || before == Some('{') || shorten(text) != hit.value {
        return None;
    }
    Some(Fix {
        title: "Log `'***'` instead of the secret".into(),
        applicability: Applicability::Unsafe,
        edits: vec![cx.edit(start, end, "'***'")],
    })
}

/// Why a secret hit is sensitive, for messages: "a credential (the name says `token`)".
pub fn why_secret(hit: &Hit) -> String {
    if let Some(option) = &hit.option {
        return format!("the value of the oslo.config option `{option}`, which is declared `secret=True`");
    }
    let class = match hit.sensitivity {
        "key-material" => words::Class::KeyMaterial,
        "connection-string" => words::Class::ConnectionString,
        "credential-dict" => words::Class::CredentialDict,
        _ => words::Class::Credential,
    };
    format!("{} (the name says `{}`)", class.noun(), hit.word)
}

#[cfg(test)]
mod trigger_tests {
    #[test]
    fn sink_words_cover_every_logger_receiver() {
        for name in crate::python::LOGGER_NAMES {
            let last = crate::python::last_segment(name);
            assert!(super::SINK_WORDS.contains(&last), "{name}");
        }
    }
}
