//! The project-wide index: facts a rule can only judge once every file has been seen.
//!
//! The engine still parses and walks each file once. During that walk a rule may record facts about
//! the file ([`FileFacts`], e.g. "this file declares the oslo.config option `connection` with
//! `secret=True`", "this file registers the policy `get_port`") and may emit *deferred* findings
//! ([`Deferred`]) whose validity depends on such a fact elsewhere in the tree. After the parallel scan,
//! `scan` merges every file's facts into a [`ProjectIndex`] and resolves the deferred findings
//! ([`ProjectIndex::resolve`]). Merging is a union in file order, so the result does not depend on
//! thread count.

use crate::finding::{Finding, Related, Span, edit_distance};
use std::collections::{BTreeMap, BTreeSet};

/// Facts one file contributes to the project index.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    /// Names of oslo.config options declared with `secret=True` (dashes normalised to `_`).
    pub secret_options: BTreeSet<String>,
    /// oslo.policy rule names the file registers (`RuleDefault(name=...)`), with where. A `*` stands
    /// for a part the file alone cannot resolve (`base.IDENTITY % 'get_user'` gives `*get_user*`).
    pub policies: BTreeMap<String, Span>,
    /// The module's functions, classes and imports for the project model.
    #[serde(default)]
    pub model: super::facts::ModuleFacts,
}

/// What a deferred finding waits for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// The oslo.config option is declared `secret=True` somewhere.
    SecretOption(String),
    /// The project registers some policies, and at least one of these names matches none of them.
    /// The finding's message holds `{missing}` (the unregistered names) and `{nearest}` (a "did you
    /// mean" sentence), filled in when the finding is kept.
    UnregisteredPolicy(Vec<String>),
    /// Stands unless one of these calls reaches a function that raises on every path, or that
    /// re-raises the parameter the call's `arg` binds (see [`crate::model::ProjectModel`]).
    UnlessRaises(Vec<CallRef>),
    /// Stands unless one of these calls reaches a function that waits (sleeps) on some path.
    UnlessWaits(Vec<CallRef>),
    /// Stands only if the call reaches a function that logs the parameter its `arg` binds.
    IfLogs(CallRef),
    /// Stands only if the call reaches a function that returns an elevated or admin context.
    IfElevates(CallRef),
    /// Stands only if one of the `calls` reaches a function that writes with the context parameter its
    /// `arg` binds, and none of the `guards` (calls before them handed the caller's request context)
    /// reaches a function that checks the caller's rights on it. The message's `{helper}` is filled
    /// in with the writing function.
    IfWrites { calls: Vec<CallRef>, guards: Vec<CallRef> },
}

/// A call a [`Condition`] is about, in the function its finding is in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallRef {
    /// The callee as a symbolic path (`self._pause`, `utils.ignore_not_found`).
    pub callee: String,
    /// Where the call is.
    pub span: Span,
    /// The argument the condition follows into the callee.
    pub arg: Option<super::facts::Arg>,
}

/// A finding that stands only if its [`Condition`] holds once every file has been seen.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deferred {
    pub condition: Condition,
    pub finding: Finding,
}

/// The union of every scanned file's [`FileFacts`].
#[derive(Debug, Default, Clone)]
pub struct ProjectIndex {
    secret_options: BTreeSet<String>,
    /// Registered policy names (and `*` patterns) → the first file (display path) and place declaring it.
    policies: BTreeMap<String, (String, Span)>,
}

impl ProjectIndex {
    /// Adds the facts of the file displayed as `path`.
    pub fn merge(&mut self, path: &str, facts: &FileFacts) {
        self.secret_options.extend(facts.secret_options.iter().cloned());
        for (name, span) in &facts.policies {
            self.policies.entry(name.clone()).or_insert_with(|| (path.to_string(), *span));
        }
    }

    /// Is `name` an option declared `secret=True` anywhere in the scanned tree?
    pub fn is_secret_option(&self, name: &str) -> bool {
        self.secret_options.contains(name)
    }

    /// Is `name` a policy some file registers (exactly, or through a pattern)?
    pub fn is_registered_policy(&self, name: &str) -> bool {
        if name.contains('*') {
            // A checked template with unknown parts: registered if it may expand to a registered name.
            return self
                .policies
                .keys()
                .any(|p| if p.contains('*') { globs_overlap(p, name) } else { glob_matches(name, p) });
        }
        self.policies.contains_key(name) || self.policies.keys().any(|p| p.contains('*') && glob_matches(p, name))
    }

    /// The registered policy name nearest to `name`, with where it is declared.
    fn nearest_policy(&self, name: &str) -> Option<(&str, &(String, Span))> {
        self.policies
            .iter()
            .filter(|(p, _)| !p.contains('*'))
            .min_by_key(|(p, _)| (edit_distance(name, p), p.as_str()))
            .map(|(p, at)| (p.as_str(), at))
    }

    /// The deferred finding, completed, if its condition holds; `None` too for a condition about calls,
    /// which the project model decides (see [`crate::model::ProjectModel::resolve`]).
    pub fn resolve(&self, deferred: Deferred) -> Option<Finding> {
        match deferred.condition {
            Condition::SecretOption(option) => self.is_secret_option(&option).then_some(deferred.finding),
            Condition::UnregisteredPolicy(names) => self.unregistered(names, deferred.finding),
            _ => None,
        }
    }

    fn unregistered(&self, names: Vec<String>, mut finding: Finding) -> Option<Finding> {
        if self.policies.is_empty() {
            return None; // a tree that registers no policy: its names are registered elsewhere
        }
        let missing: Vec<String> = names.into_iter().filter(|n| !self.is_registered_policy(n)).collect();
        let first = missing.first()?;
        let list = missing.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let mut hint = String::new();
        if let Some((near, (path, span))) = self.nearest_policy(first) {
            hint = format!(" The nearest registered name is `{near}` ({path}:{}).", span.start.line);
            finding.properties.insert("nearestPolicy".into(), near.to_string());
            finding.related.push(Related {
                span: *span,
                message: format!("the nearest registered policy, `{near}`, is declared here; `{first}` is not"),
                path: Some(path.clone()),
            });
        }
        finding.message = finding.message.replace("{missing}", &list).replace("{nearest}", &hint);
        finding.properties.insert("unregisteredPolicies".into(), missing.join(" "));
        Some(finding)
    }
}

/// Does `pattern` (with `*` matching any run of characters) match `name`?
fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        let Some(at) = rest.find(part) else { return false };
        rest = &rest[at + part.len()..];
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// May two patterns match a common name? Judged on their known prefixes and suffixes, so it errs
/// towards yes. A registration known only in its middle (`*get_user*`, from `base.IDENTITY %
/// 'get_user'`: the unknown part is a prefix constant of another module) can only be a template
/// whose own known text spells that middle.
fn globs_overlap(a: &str, b: &str) -> bool {
    let ((ap, asx), (bp, bsx)) = (pattern_ends(a), pattern_ends(b));
    let floating = |p: &str, s: &str| p.is_empty() && s.is_empty();
    let spells = |pattern: &str, other: &str| pattern.split('*').filter(|c| !c.is_empty()).all(|c| other.contains(c));
    match (floating(ap, asx), floating(bp, bsx)) {
        (true, true) => true,
        (true, false) => spells(a, b),
        (false, true) => spells(b, a),
        (false, false) => (ap.starts_with(bp) || bp.starts_with(ap)) && (asx.ends_with(bsx) || bsx.ends_with(asx)),
    }
}

/// The known text before the first and after the last `*` of a pattern.
fn pattern_ends(p: &str) -> (&str, &str) {
    (p.split('*').next().unwrap_or(""), p.rsplit('*').next().unwrap_or(""))
}

/// The normal form of an option name: `admin-password` is read as `CONF.admin_password`.
pub fn option_key(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_a_union() {
        let mut a = FileFacts::default();
        a.secret_options.insert(option_key("admin-password"));
        let mut index = ProjectIndex::default();
        index.merge("a.py", &a);
        index.merge("b.py", &FileFacts::default());
        assert!(index.is_secret_option("admin_password"));
        assert!(!index.is_secret_option("host"));
    }

    #[test]
    fn policy_patterns() {
        assert!(glob_matches("*get_user*", "identity:get_user"));
        assert!(glob_matches("a:*", "a:b"));
        assert!(!glob_matches("a:*:c", "a:b"));
        assert!(glob_matches("a:*:c", "a:b:c"));
        assert!(!glob_matches("abc", "abcd"));
        let mut facts = FileFacts::default();
        let at = crate::source::Position { line: 1, column: 1 };
        facts.policies.insert("identity:*list_users*".into(), Span { start_byte: 0, end_byte: 1, start: at, end: at });
        let mut index = ProjectIndex::default();
        index.merge("p.py", &facts);
        assert!(index.is_registered_policy("identity:list_users"));
        assert!(!index.is_registered_policy("identity:get_user"));
        facts.policies.insert("get_network:tags".into(), Span { start_byte: 0, end_byte: 1, start: at, end: at });
        index.merge("p.py", &facts);
        assert!(index.is_registered_policy("get_*:tags"));
        assert!(!index.is_registered_policy("get_*_tags"));
        assert!(index.is_registered_policy("identity:*_users"));
        assert!(index.is_registered_policy("ident*list_users"));
        assert!(!index.is_registered_policy("compute:*_users"));
    }
}
