//! TG406 unregistered-policy-action: an authorization call checks a policy name that no policy module
//! of the project registers; oslo.policy then applies its `default` rule instead of failing.

use super::policy::{self, Constants};
use crate::checker::Checker;
use crate::python;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG406.md`.
pub struct UnregisteredPolicyAction;

/// Text a function holds if it registers a policy or checks one.
const FRAGMENTS: &[&str] = &["RuleDefault", "enforce", "authorize"];

impl Rule for UnregisteredPolicyAction {
    fn id(&self) -> &'static str {
        "TG406"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call"]
    }

    /// Registrations (`RuleDefault`) and checks ([`policy::CALL_FRAGMENTS`], [`policy::CALL_METHODS`]); module constants are
    /// outside functions and never blanked.
    fn triggers(&self) -> Triggers {
        Triggers { fragments: FRAGMENTS, methods: policy::CALL_METHODS, ..Triggers::NONE }
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let src = cx.text();
        let registered = policy::registration(node, src);
        let checked = policy::policy_call(node, src);
        if registered.is_none() && checked.is_none() {
            return;
        }
        let mut constants: Constants = cx.take_scratch();
        constants.collect(cx.root(), src);
        let func = cx.enclosing_function(node);
        if let Some(name) = registered {
            for value in constants.values(name, src, func) {
                cx.declare_policy(value, name);
            }
        } else if let Some(call) = checked {
            let names = constants.values(call.action, src, func);
            if names.iter().all(|n| !policy::is_unresolved(n) || policy::is_anchored_pattern(n)) {
                let message = format!(
                    "`{}` checks the policy {{missing}}, which no policy module of this project registers: oslo.policy applies its `default` rule to an unknown name instead of failing, so this is not the check its author meant.{{nearest}} Register the rule (`policy.DocumentedRuleDefault(name=...)`) or fix the name.",
                    python::shorten(cx.node_text(call.call), 80)
                );
                cx.report_unless_registered(names, self.id(), call.action, message);
            }
        }
        cx.put_scratch(constants);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_cover_registrations_and_every_policy_call() {
        let t = UnregisteredPolicyAction.triggers();
        assert!(t.fragments.contains(&"RuleDefault"));
        assert!(policy::CALL_FRAGMENTS.iter().all(|f| t.fragments.contains(f)));
        assert_eq!(t.methods, policy::CALL_METHODS);
    }
}
