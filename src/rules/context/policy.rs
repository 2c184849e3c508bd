//! oslo.policy as the TG404–TG408 rules see it: authorization calls and their action and target,
//! policy registrations, and the light constant propagation (one file) that turns an action
//! expression into the names it can take.

use crate::python::fields;
use crate::python::{self, callee_last_name, keyword_argument, named_children, positional_arguments, text};
use std::collections::HashMap;
use tree_sitter::Node;

/// An authorization call: `policy.enforce(context, action, target)`, `policy.authorize(...)`,
/// `policy.check(...)`, `context.can(action, target)`, `context.authorize(action, target_obj=...)`,
/// `ENFORCER.enforce_call(action=...)`.
#[derive(Debug, Clone, Copy)]
pub struct PolicyCall<'t> {
    pub call: Node<'t>,
    pub action: Node<'t>,
    pub target: Option<Node<'t>>,
}

/// Text a function holds if it makes a [`PolicyCall`] (selective-parsing triggers), with
/// [`CALL_METHODS`].
pub const CALL_FRAGMENTS: &[&str] = &["enforce", "authorize"];

/// Names of policy calls too common as text to be fragments (`check`, `can`): method triggers (a
/// whole word after a `.`), so that `context.can (action)` — whitespace before the `(` — is kept as
/// `context.can(action)` is.
pub const CALL_METHODS: &[&str] = &["check", "can"];

/// The last names of every [`PolicyCall`]'s callee.
pub const CALL_NAMES: &[&str] = &["enforce", "enforce_call", "authorize", "can", "check"];

/// Is the receiver named like a request context (`context`, `ctx`, `req.context`, `self._context`)?
fn is_context_receiver(name: &str) -> bool {
    let last = python::last_segment(name).trim_start_matches('_');
    matches!(last, "context" | "ctx") || last.ends_with("_context") || last.ends_with("_ctx")
}

/// Is the receiver named like a policy engine (`policy`, `self.policy`, `ENFORCER`, `_ENFORCER`)?
fn is_policy_receiver(name: &str) -> bool {
    let last = python::last_segment(name).to_ascii_lowercase();
    last.contains("policy") || last.contains("enforcer")
}

/// The authorization call `call` makes, if it is one.
pub fn policy_call<'t>(call: Node<'t>, src: &str) -> Option<PolicyCall<'t>> {
    let last = callee_last_name(call, src)?;
    if !CALL_NAMES.contains(&last) {
        return None; // most calls: before the receiver's name is built
    }
    let func = call.child_by_field_id(fields::function())?;
    let receiver = match func.kind() {
        "attribute" => python::dotted_name(func.child_by_field_id(fields::object())?, src)?,
        _ => String::new(),
    };
    let args = positional_arguments(call);
    let kw = |k: &str| keyword_argument(call, k, src);
    let target_kw = || kw("target").or_else(|| kw("target_obj"));
    let context_like = |n: Option<&Node<'_>>| {
        n.and_then(|n| python::dotted_name(*n, src)).is_some_and(|d| is_context_receiver(&d) || d.ends_with("creds"))
    };
    // (index of the action among the positional arguments)
    let action_at = match last {
        "can" | "authorize" if is_context_receiver(&receiver) => 0,
        "enforce_call" if is_policy_receiver(&receiver) => {
            return kw("action").map(|action| PolicyCall { call, action, target: None });
        }
        // `policy.enforce(context, action, target)`; designate spells it `policy.check(action, context, target)`
        "enforce" | "authorize" | "check" if is_policy_receiver(&receiver) => {
            if context_like(args.first()) || (args.is_empty() && kw("action").is_some()) {
                1
            } else if context_like(args.get(1)) {
                let action = args.first().copied()?;
                return Some(PolicyCall { call, action, target: target_kw().or_else(|| args.get(2).copied()) });
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let action = kw("action").or_else(|| args.get(action_at).copied())?;
    let target = target_kw().or_else(|| args.get(action_at + 1).copied());
    Some(PolicyCall { call, action, target })
}

/// Is `call` a policy registration — `policy.RuleDefault(...)`, `DocumentedRuleDefault(...)`,
/// `base.DocumentedRuleDefault(...)`? Returns the expression of its name.
pub fn registration<'t>(call: Node<'t>, src: &str) -> Option<Node<'t>> {
    let last = callee_last_name(call, src)?;
    if !last.ends_with("RuleDefault") {
        return None;
    }
    keyword_argument(call, "name", src).or_else(|| positional_arguments(call).first().copied())
}

/// Most names an expression may expand to before it counts as unresolved.
const MAX_VALUES: usize = 64;

/// The module's constants: string-valued names, and the string keys (dicts) or items (lists, tuples,
/// sets) of constant collections.
#[derive(Debug, Default)]
pub struct Constants {
    ready: bool,
    strings: HashMap<String, String>,
    collections: HashMap<String, Vec<String>>,
}

impl Constants {
    /// Reads the module-level assignments of `root` once (later calls return at once).
    pub fn collect(&mut self, root: Node<'_>, src: &str) {
        if self.ready {
            return;
        }
        self.ready = true;
        for stmt in python::statements(root) {
            let Some(a) =
                stmt.named_child(0).filter(|a| stmt.kind() == "expression_statement" && a.kind() == "assignment")
            else {
                continue;
            };
            let (Some(left), Some(right)) = (a.child_by_field_id(fields::left()), a.child_by_field_id(fields::right()))
            else {
                continue;
            };
            if left.kind() != "identifier" {
                continue;
            }
            let name = text(left, src).to_string();
            let right = python::unparenthesize(right);
            match right.kind() {
                "dictionary" => {
                    let keys = named_children(right)
                        .into_iter()
                        .filter(|p| p.kind() == "pair")
                        .filter_map(|p| p.child_by_field_id(fields_key()).and_then(|k| self.single(k, src)))
                        .collect();
                    self.collections.insert(name, keys);
                }
                "list" | "tuple" | "set" => {
                    let items = named_children(right).into_iter().filter_map(|i| self.single(i, src)).collect();
                    self.collections.insert(name, items);
                }
                _ => {
                    if let Some(v) = self.single(right, src) {
                        self.strings.insert(name, v);
                    }
                }
            }
        }
    }

    /// The one resolved string `node` evaluates to, if it is one.
    fn single(&self, node: Node<'_>, src: &str) -> Option<String> {
        let v = self.values(node, src, None);
        (v.len() == 1 && !v[0].contains('*')).then(|| v[0].clone())
    }

    /// The strings `node` may evaluate to; a part that cannot be resolved is `*`. `func` is the
    /// function the expression is in: its `for` loops over constant collections are followed.
    pub fn values(&self, node: Node<'_>, src: &str, func: Option<Node<'_>>) -> Vec<String> {
        let mut budget = 256usize;
        self.eval(node, src, func, &mut budget)
    }

    fn eval(&self, node: Node<'_>, src: &str, func: Option<Node<'_>>, budget: &mut usize) -> Vec<String> {
        let unknown = || vec!["*".to_string()];
        if *budget == 0 {
            return unknown();
        }
        *budget -= 1;
        let node = python::unparenthesize(node);
        match node.kind() {
            "string" => self.string(node, src, func, budget),
            "concatenated_string" => {
                let parts: Vec<Vec<String>> =
                    named_children(node).into_iter().map(|p| self.eval(p, src, func, budget)).collect();
                product(&parts)
            }
            "identifier" => {
                let name = text(node, src);
                if let Some(v) = self.strings.get(name) {
                    return vec![v.clone()];
                }
                func.and_then(|f| self.loop_values(name, f, src)).unwrap_or_else(unknown)
            }
            "binary_operator" => {
                let (Some(l), Some(r)) =
                    (node.child_by_field_id(fields::left()), node.child_by_field_id(fields::right()))
                else {
                    return unknown();
                };
                let op = node.child_by_field_id(fields::operator()).map_or("", |o| text(o, src));
                let left = self.eval(l, src, func, budget);
                match op {
                    "+" => product(&[left, self.eval(r, src, func, budget)]),
                    "%" => {
                        let r = python::unparenthesize(r);
                        let args: Vec<Vec<String>> = if r.kind() == "tuple" {
                            named_children(r).into_iter().map(|a| self.eval(a, src, func, budget)).collect()
                        } else {
                            vec![self.eval(r, src, func, budget)]
                        };
                        substitute(&left, &args, "%s")
                    }
                    _ => unknown(),
                }
            }
            "call" => {
                let func_node = node.child_by_field_id(fields::function());
                let is_format =
                    callee_last_name(node, src) == Some("format") && func_node.is_some_and(|f| f.kind() == "attribute");
                let Some(object) = func_node.and_then(|f| f.child_by_field_id(fields::object())).filter(|_| is_format)
                else {
                    return unknown();
                };
                let template = self.eval(object, src, func, budget);
                if template.iter().any(|t| t.contains("{") && !t.contains("{}")) {
                    return unknown(); // numbered or named fields: not followed
                }
                let args: Vec<Vec<String>> =
                    positional_arguments(node).into_iter().map(|a| self.eval(a, src, func, budget)).collect();
                substitute(&template, &args, "{}")
            }
            _ => unknown(),
        }
    }

    /// A string literal, f-strings included.
    fn string(&self, node: Node<'_>, src: &str, func: Option<Node<'_>>, budget: &mut usize) -> Vec<String> {
        let mut parts: Vec<Vec<String>> = Vec::new();
        for c in named_children(node) {
            match c.kind() {
                "string_content" => parts.push(vec![text(c, src).to_string()]),
                "interpolation" => {
                    let v = c.child_by_field_id(fields::expression()).map(|e| self.eval(e, src, func, budget));
                    parts.push(v.unwrap_or_else(|| vec!["*".to_string()]));
                }
                "escape_sequence" => parts.push(vec!["*".to_string()]),
                _ => {}
            }
        }
        product(&parts)
    }

    /// The values a loop variable takes: `for name in CONST`, `CONST.keys()`, `CONST.items()` (first
    /// element) in `func`, when `CONST` is a constant collection.
    fn loop_values(&self, name: &str, func: Node<'_>, src: &str) -> Option<Vec<String>> {
        let mut found = None;
        python::preorder(func, |n| {
            if !matches!(n.kind(), "for_statement" | "for_in_clause") {
                return python::Visit::Descend;
            }
            let left = n.child_by_field_id(fields::left());
            let var = left
                .map(|l| if matches!(l.kind(), "pattern_list" | "tuple_pattern") { l.named_child(0) } else { Some(l) });
            if var.flatten().map(|v| text(v, src)) != Some(name) {
                return python::Visit::Descend;
            }
            let Some(mut right) = n.child_by_field_id(fields::right()) else { return python::Visit::Descend };
            if right.kind() == "call"
                && matches!(callee_last_name(right, src), Some("keys" | "items"))
                && let Some(obj) =
                    right.child_by_field_id(fields::function()).and_then(|f| f.child_by_field_id(fields::object()))
            {
                right = obj;
            }
            found = self.collections.get(text(right, src)).cloned();
            python::Visit::Stop
        });
        found.filter(|v| !v.is_empty())
    }
}

/// The `key` field id (not among the hot ones in [`fields`]).
fn fields_key() -> u16 {
    static ID: std::sync::LazyLock<u16> =
        std::sync::LazyLock::new(|| python::language().field_id_for_name("key").map_or(0, |id| id.get()));
    *ID
}

/// Every concatenation of one value from each part (unresolved past [`MAX_VALUES`]).
fn product(parts: &[Vec<String>]) -> Vec<String> {
    let mut out = vec![String::new()];
    for part in parts {
        if out.len() * part.len() > MAX_VALUES {
            return vec!["*".to_string()];
        }
        out = out.iter().flat_map(|prefix| part.iter().map(move |p| format!("{prefix}{p}"))).collect();
    }
    out
}

/// Fills the `%s`-style (or `{}`) holes of each template with each combination of arguments; holes
/// of another kind (`%(name)s`, `%d`) make that part `*`.
fn substitute(templates: &[String], args: &[Vec<String>], hole: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in templates {
        if t == "*" {
            // An unknown template around known arguments: `base.IDENTITY % 'get_user'` → `*get_user*`.
            let mut parts = vec![vec!["*".to_string()]];
            for a in args {
                parts.push(a.clone());
                parts.push(vec!["*".to_string()]);
            }
            out.extend(product(&parts));
            continue;
        }
        let pieces: Vec<&str> = t.split(hole).collect();
        if pieces.len() != args.len() + 1 || (hole == "%s" && pieces.iter().any(|p| p.contains('%'))) {
            out.push("*".to_string());
            continue;
        }
        let mut parts: Vec<Vec<String>> = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            parts.push(vec![piece.to_string()]);
            if let Some(a) = args.get(i) {
                parts.push(a.clone());
            }
        }
        out.extend(product(&parts));
        if out.len() > MAX_VALUES {
            return vec!["*".to_string()];
        }
    }
    out
}

/// Does the value (from [`Constants::values`]) hold a part that could not be resolved?
pub fn is_unresolved(value: &str) -> bool {
    value.contains('*')
}

/// Is a partly unresolved value still specific enough to judge: known text on both sides of every
/// unknown part (`get_*_tags` from `f'get_{rinfo.obj_type}_{TAGS}'`), so that it either matches some
/// registered name or none can be meant? `os_compute_api:*` or `*:get` are not.
pub fn is_anchored_pattern(value: &str) -> bool {
    let (Some(first), Some(last)) = (value.split('*').next(), value.rsplit('*').next()) else { return false };
    !first.is_empty() && !last.is_empty() && value.split('*').all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_call_name_is_a_trigger() {
        for name in CALL_NAMES {
            assert!(CALL_FRAGMENTS.iter().any(|f| name.contains(f)) || CALL_METHODS.contains(name), "{name}");
        }
    }

    fn values(code: &str) -> Vec<String> {
        let tree = crate::engine::new_parser().parse(code, None).expect("parses");
        let root = tree.root_node();
        let mut c = Constants::default();
        c.collect(root, code);
        let last = root.named_child(root.named_child_count() - 1).unwrap();
        let func = (last.kind() == "function_definition").then_some(last);
        let mut call = None;
        python::preorder(last, |n| {
            if n.kind() == "call" && callee_last_name(n, code) == Some("enforce") {
                call = Some(n);
                return python::Visit::Stop;
            }
            python::Visit::Descend
        });
        let call = policy_call(call.unwrap(), code).unwrap();
        c.values(call.action, code, func)
    }

    #[test]
    fn templates_over_constants() {
        assert_eq!(values("R = 'a:%s'\npolicy.enforce(context, R % 'get', t)\n"), ["a:get"]);
        assert_eq!(values("R = 'a:{}'\npolicy.enforce(context, R.format('x'), t)\n"), ["a:x"]);
        assert_eq!(values("P = 'p'\npolicy.enforce(context, f'{P}:get_x', t)\n"), ["p:get_x"]);
        assert_eq!(values("policy.enforce(context, 'a' 'b', t)\n"), ["ab"]);
        assert_eq!(values("policy.enforce(context, x.R % 'get', t)\n"), ["*get*"]);
        assert_eq!(values("policy.enforce(context, '%(a)s' % d, t)\n"), ["*"]);
        let over_dict = "A = {'get': 1, 'delete': 2}\ndef f(context):\n    for a in A.items():\n        pass\n    for a, _ in A.items():\n        policy.enforce(context, 'x_%s' % a, {})\n";
        assert_eq!(values(over_dict), ["x_get", "x_delete"]);
    }

    #[test]
    fn anchored_patterns() {
        assert_eq!(values("TAGS = 'tag' + 's'\npolicy.enforce(ctx, f'get_{r.obj_type}_{TAGS}', t)\n"), ["get_*_tags"]);
        assert!(is_anchored_pattern("get_*_tags"));
        assert!(is_anchored_pattern("a:*:b*c"));
        assert!(!is_anchored_pattern("os_compute_api:*"));
        assert!(!is_anchored_pattern("*:get"));
        assert!(!is_anchored_pattern("a**b"));
        assert!(!is_anchored_pattern("*"));
    }
}
