//! TG001 unused-suppression: a trunkguard suppression comment that silences nothing — it found no
//! finding of a rule that ran, it names a rule trunkguard does not have, or it is a misspelt directive.
//! The engine applies suppression comments after the walk (`crate::suppress`) and hands this rule
//! what is wrong with them.

use crate::rules::{Checker, Rule, Triggers};
use crate::suppress::{BadDirective, Defect};
use tree_sitter::Node;

/// See `rules/TG001.md`.
pub struct UnusedSuppression;

impl Rule for UnusedSuppression {
    fn id(&self) -> &'static str {
        "TG001"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &[]
    }

    /// Suppression comments keep their function whatever rules run (see [`crate::prune`]).
    fn triggers(&self) -> Triggers {
        Triggers::NONE
    }

    fn check(&self, _node: Node<'_>, _cx: &mut Checker<'_>) {}

    fn after_walk(&self, cx: &mut Checker<'_>) {
        for bad in cx.take_bad_suppressions() {
            let message = message(&bad);
            cx.report_range(self.id(), bad.start_byte, bad.end_byte, message);
        }
    }
}

/// What is wrong with the comment, and the fix.
fn message(bad: &BadDirective) -> String {
    let directive = &bad.directive;
    match &bad.defect {
        Defect::Unused(selectors) => {
            let what = if selectors == &["ALL"] { "any rule".to_string() } else { selectors.join(", ") };
            format!(
                "`{directive}` silences nothing: no {what} finding here. Remove the comment, or correct the rule id."
            )
        }
        Defect::UnknownRules(unknown) => {
            let named: Vec<String> = unknown
                .iter()
                .map(|(s, meant)| match meant {
                    Some(m) => format!("`{s}` (did you mean `{m}`?)"),
                    None => format!("`{s}`"),
                })
                .collect();
            format!(
                "`{directive}` names no trunkguard rule: {}. It silences nothing; correct the rule id (`trunkguard rules` lists them).",
                named.join(", ")
            )
        }
        Defect::Misspelt { wrong, meant } => {
            let fix = match meant {
                Some(m) => format!("Write `{m}`."),
                None => {
                    "The directives are `# trunkguard: ignore[RULES]` and `# trunkguard: ignore-file[RULES]`.".into()
                }
            };
            format!("`{directive}` is not a trunkguard directive: {}, so it silences nothing. {fix}", wrong.join("; "))
        }
    }
}
