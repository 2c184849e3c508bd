//! The rule registry: every rule implementation, sorted by id, and the [`Rule`] trait they share.
//!
//! A new rule is one file under a family folder, one entry in [`REGISTRY`], one `rules/ID.md`
//! document and fixture lines with `# expect: ID` markers. A test keeps registry and documents in step.

pub mod context;
pub mod exceptions;
pub mod facts;
pub mod logs;
pub mod retry;
pub mod suppressions;

pub use crate::checker::{Checker, Rule, Triggers};

/// Every rule, sorted by id.
pub static REGISTRY: &[&dyn Rule] = &[
    &suppressions::tg001_unused_suppression::UnusedSuppression,
    &retry::tg101_unbounded_retry::UnboundedRetry,
    &retry::tg102_retry_without_backoff::RetryWithoutBackoff,
    &retry::tg103_retry_exhaustion_swallowed::RetryExhaustionSwallowed,
    &retry::tg104_retry_bound_external::RetryBoundExternal,
    &retry::tg105_retry_decorator_unbounded::RetryDecoratorUnbounded,
    &retry::tg106_retry_decorator_without_wait::RetryDecoratorWithoutWait,
    &exceptions::tg201_broad_except_swallowed::BroadExceptSwallowed,
    &exceptions::tg202_broad_except_silent::BroadExceptSilent,
    &exceptions::tg203_bare_except::BareExcept,
    &exceptions::tg204_broad_except_fail_open::BroadExceptFailOpen,
    &exceptions::tg205_broad_except_best_effort::BroadExceptBestEffort,
    &logs::tg301_secret_in_log::SecretInLog,
    &logs::tg302_request_context_in_log::RequestContextInLog,
    &logs::tg303_request_dump_in_log::RequestDumpInLog,
    &logs::tg304_exception_detail_in_log::ExceptionDetailInLog,
    &logs::tg305_secret_in_exception::SecretInException,
    &logs::tg306_secret_option_not_marked::SecretOptionNotMarked,
    &context::tg401_unguarded_elevation::UnguardedElevation,
    &context::tg402_admin_context_replaces_caller::AdminContextReplacesCaller,
    &context::tg403_context_made_admin::ContextMadeAdmin,
    &context::tg404_child_by_bare_id::ChildByBareId,
    &context::tg405_self_referential_policy_target::SelfReferentialPolicyTarget,
    &context::tg406_unregistered_policy_action::UnregisteredPolicyAction,
    &context::tg407_sibling_guard_skipped::SiblingGuardSkipped,
    &context::tg408_caller_supplied_owner::CallerSuppliedOwner,
    &context::tg409_policy_action_unlike_siblings::PolicyActionUnlikeSiblings,
];

/// The id of every rule, sorted.
pub fn ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| r.id()).collect()
}

/// The rule with id `id` (case-insensitive).
pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    REGISTRY.iter().copied().find(|r| r.id().eq_ignore_ascii_case(id))
}
