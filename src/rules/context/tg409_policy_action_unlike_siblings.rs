//! TG409 policy-action-unlike-siblings: the methods of a class check policy names built from the same
//! template, and one method's template differs from the others' only by a separator
//! (`get_{type}_tags` where the siblings check `get_{type}:tags`): the name it builds is not the one
//! the policies register, and oslo.policy applies its `default` rule to it.

use super::policy::{self, Constants};
use super::unit_functions;
use crate::checker::Checker;
use crate::python::{self, Visit};
use crate::rules::{Rule, Triggers};
use std::collections::HashMap;
use tree_sitter::Node;

/// See `rules/TG409.md`.
pub struct PolicyActionUnlikeSiblings;

/// Sibling checks that must agree on the other spelling before the odd one is reported.
const MIN_SIBLINGS: usize = 2;

/// Characters that join the words of a policy name.
const SEPARATORS: &[u8] = b":_-./";

/// How many sibling checks a finding names as related locations.
const MAX_RELATED: usize = 3;

/// How many template checks of one class are compared at most (the comparison is quadratic in the
/// number of distinct shapes).
const MAX_CHECKS: usize = 512;

/// A checked template: the pattern it builds (`get_*_tags`), the call and its action.
struct Checked<'t> {
    pattern: String,
    call: Node<'t>,
    action: Node<'t>,
}

impl Rule for PolicyActionUnlikeSiblings {
    fn id(&self) -> &'static str {
        "TG409"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["class_definition"]
    }

    /// The rule compares the policy checks of a class's methods, and each method that makes one is
    /// kept by the checks' own triggers: the methods without one do not matter.
    fn triggers(&self) -> Triggers {
        Triggers { fragments: policy::CALL_FRAGMENTS, methods: policy::CALL_METHODS, ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        if dotted_policy_calls(cx.node_text(node).as_bytes()) <= MIN_SIBLINGS {
            return; // fewer checks than an odd one and its siblings: not worth a walk of the class
        }
        let mut constants: Constants = cx.take_scratch();
        constants.collect(cx.root(), src);
        let checked = templates(node, &constants, src);
        cx.put_scratch(constants);
        let groups = by_shape(&checked);
        for odd in &checked {
            let Some((spelling, siblings)) = majority_spelling(odd, &groups) else { continue };
            let message = format!(
                "`{}` checks the policy `{}`, while {} sibling checks in this class join the words the other way (`{spelling}`): the names differ by one separator, so this one is not the name the policies register, and oslo.policy applies its `default` rule to an unknown name instead of failing. Build the name as the siblings do.",
                python::shorten(cx.node_text(odd.call), 80),
                odd.pattern,
                siblings.len(),
            );
            let related: Vec<_> = siblings
                .iter()
                .take(MAX_RELATED)
                .map(|s| cx.related(s.action, format!("a sibling checks `{}` here", s.pattern)))
                .collect();
            let finding = cx.report(self.id(), odd.action, message);
            finding.related = related;
            finding.properties.insert("siblingAction".into(), spelling.to_string());
        }
    }
}

/// How many times a text spells a method named like a policy call (`policy.enforce`, `context.can`,
/// `policy . check`; the pre-pass's own reading of a method name): every [`policy::policy_call`] is
/// one. A cheap count, so that only classes with enough checks to compare are walked.
fn dotted_policy_calls(text: &[u8]) -> usize {
    policy::CALL_NAMES
        .iter()
        .map(|n| {
            memchr::memmem::find_iter(text, n).filter(|&s| crate::prune::is_method_at(text, s, s + n.len())).count()
        })
        .sum()
}

/// The authorization calls in the class's own methods whose action is a partly unknown template
/// anchored on both sides (`get_*_tags`): literal names are judged against the registrations by TG406.
fn templates<'t>(class: Node<'t>, constants: &Constants, src: &str) -> Vec<Checked<'t>> {
    let mut out = Vec::new();
    for func in unit_functions(class) {
        let Some(body) = func.child_by_field_id(crate::python::fields::body()) else { continue };
        python::preorder(body, |n| {
            if n != body && python::is_scope(n) {
                return Visit::Skip;
            }
            if out.len() >= MAX_CHECKS {
                return Visit::Stop;
            }
            if n.kind() == "call"
                && let Some(call) = policy::policy_call(n, src)
                && let [pattern] = constants.values(call.action, src, Some(func)).as_slice()
                && policy::is_unresolved(pattern)
                && policy::is_anchored_pattern(pattern)
            {
                out.push(Checked { pattern: pattern.clone(), call: n, action: call.action });
            }
            Visit::Descend
        });
    }
    out
}

/// The checks grouped by the shape of their names ([`shape`]), in the order first met.
fn by_shape<'c, 't>(checked: &'c [Checked<'t>]) -> Vec<(&'c str, Vec<&'c Checked<'t>>)> {
    let mut groups: Vec<(&str, Vec<&Checked<'t>>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for c in checked {
        let at = *index.entry(shape(&c.pattern)).or_insert_with(|| {
            groups.push((shape(&c.pattern), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(c);
    }
    groups
}

/// The spelling at least [`MIN_SIBLINGS`] other checks agree on, one separator away from `odd`'s
/// once the verbs are set aside, when `odd`'s own spelling is rarer: (`odd`'s name spelt their way,
/// those checks).
fn majority_spelling<'c, 't>(
    odd: &Checked<'t>,
    groups: &'c [(&'c str, Vec<&'c Checked<'t>>)],
) -> Option<(String, &'c [&'c Checked<'t>])> {
    let mine = shape(&odd.pattern);
    let same = groups.iter().find(|(s, _)| *s == mine).map_or(0, |(_, g)| g.len());
    let (at, theirs, siblings) = groups
        .iter()
        .filter(|(_, g)| g.len() >= MIN_SIBLINGS && g.len() > same)
        .filter_map(|(theirs, g)| Some((one_separator_apart(mine, theirs)?, *theirs, g)))
        .max_by_key(|(_, _, g)| g.len())?;
    // The odd name with the siblings' separator: `get_*_tags` → `get_*:tags`.
    let offset = odd.pattern.len() - mine.len() + at;
    let separator = char::from(theirs.as_bytes()[at]);
    let mut spelt = odd.pattern.clone();
    spelt.replace_range(offset..=offset, separator.encode_utf8(&mut [0; 4]));
    Some((spelt, siblings.as_slice()))
}

/// A pattern with the words before its first separator-ended run set aside: `get_*_tags` and
/// `create_*_tags` both have the shape `_*_tags` — the verb differs from method to method, the way
/// the words are joined does not.
fn shape(pattern: &str) -> &str {
    let star = pattern.find('*').unwrap_or(0);
    let head = &pattern[..star];
    let keep = head.bytes().rev().take_while(|b| SEPARATORS.contains(b)).count();
    &pattern[star - keep..]
}

/// Do two shapes differ in exactly one place after their first `*`, where each has a different
/// separator (`_*_tags`, `_*:tags`)? Returns that place.
fn one_separator_apart(a: &str, b: &str) -> Option<usize> {
    if a.len() != b.len() {
        return None;
    }
    let star = a.find('*')?;
    if a.as_bytes()[..star] != b.as_bytes()[..star] {
        return None;
    }
    let mut diffs = a.bytes().zip(b.bytes()).enumerate().filter(|(_, (x, y))| x != y);
    match (diffs.next(), diffs.next()) {
        (Some((at, (x, y))), None) if SEPARATORS.contains(&x) && SEPARATORS.contains(&y) => Some(at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{one_separator_apart, shape};

    #[test]
    fn shapes_set_the_verb_aside() {
        assert_eq!(shape("get_*_tags"), "_*_tags");
        assert_eq!(shape("create_*:tags"), "_*:tags");
        assert_eq!(shape("os_compute_api:os-*:create"), "-*:create");
    }

    #[test]
    fn policy_calls_are_counted_after_a_dot() {
        use super::dotted_policy_calls as count;
        assert_eq!(count(b"policy.enforce(c, a)\nENFORCER.enforce_call(action=a)\ncontext. can (a)"), 3);
        assert_eq!(count(b"self.cancel()\nx.checks\nscan(x)\ncheck(x)"), 0);
    }

    #[test]
    fn separators_only() {
        assert_eq!(one_separator_apart("_*_tags", "_*:tags"), Some(2));
        assert_eq!(one_separator_apart("_*_tags", "_*_tags"), None);
        assert_eq!(one_separator_apart("_*_tags", "_*:tag_"), None);
        assert_eq!(one_separator_apart("_*_tags", "_*xtags"), None, "a letter is not a separator");
        assert_eq!(one_separator_apart("_*_tags", "_*:tagss"), None);
        assert_eq!(one_separator_apart(":*_tags", "_*_tags"), None, "the words before the template are not compared");
        assert_eq!(one_separator_apart("_*é_", "é*:_"), None, "not a character boundary in the other: no panic");
    }
}
