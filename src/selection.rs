//! Which rules run: `--select` / `--ignore` with rule ids or prefixes (`TG2`, `TG201`, `ALL`).
//! Without `--select`, the rules enabled by default run; an explicit selector also turns on opt-in rules.

use crate::docs;
use crate::finding::selects as matches;
use crate::rules::{REGISTRY, Rule};

/// A selector that names no rule (exit status 2). An empty selector is one: `--ignore "$UNSET"` must
/// not turn every rule off, nor `--select ""` every rule on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnknownSelector {
    #[error("unknown rule selector `{selector}`{hint}")]
    Unknown { selector: String, hint: String },
    #[error(
        "empty rule selector (in --select, --extend-select or --ignore, or a configuration list): name a rule id, a prefix such as TG2, or ALL"
    )]
    Empty,
}

/// Does `selector` (an id, a prefix or `ALL`) name at least one rule?
pub fn is_known(selector: &str) -> bool {
    REGISTRY.iter().any(|r| matches(selector, r.id()))
}

fn check_known(selectors: &[String]) -> Result<(), UnknownSelector> {
    for s in selectors {
        if s.trim().is_empty() {
            return Err(UnknownSelector::Empty);
        }
        if !REGISTRY.iter().any(|r| matches(s, r.id())) {
            let ids: Vec<&str> = REGISTRY.iter().map(|r| r.id()).collect();
            let hint = if ids.is_empty() { String::new() } else { format!(" (rules are {})", ids.join(", ")) };
            return Err(UnknownSelector::Unknown { selector: s.clone(), hint });
        }
    }
    Ok(())
}

/// Resolves the rules to run, sorted by id: `select` (None: the rules enabled by default) plus
/// `extend`, minus `ignore`.
pub fn resolve_with(
    select: Option<&[String]>,
    extend: &[String],
    ignore: &[String],
) -> Result<Vec<&'static dyn Rule>, UnknownSelector> {
    check_known(select.unwrap_or_default())?;
    check_known(extend)?;
    check_known(ignore)?;
    let enabled = |r: &&'static dyn Rule| {
        let base = match select {
            None => docs::get(r.id()).is_some_and(|d| d.enabled),
            Some(select) => select.iter().any(|s| matches(s, r.id())),
        };
        base || extend.iter().any(|s| matches(s, r.id()))
    };
    Ok(REGISTRY.iter().copied().filter(enabled).filter(|r| !ignore.iter().any(|s| matches(s, r.id()))).collect())
}

/// [`resolve_with`] where an empty `select` means the default set.
pub fn resolve(select: &[String], ignore: &[String]) -> Result<Vec<&'static dyn Rule>, UnknownSelector> {
    resolve_with((!select.is_empty()).then_some(select), &[], ignore)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rules: &[&'static dyn Rule]) -> Vec<&'static str> {
        rules.iter().map(|r| r.id()).collect()
    }

    #[test]
    fn prefixes_and_ignore() {
        let all = resolve(&["ALL".into()], &[]).unwrap();
        assert_eq!(all.len(), REGISTRY.len());
        let tg2 = resolve(&["tg2".into()], &["TG202".into()]).unwrap();
        assert!(ids(&tg2).contains(&"TG201") && !ids(&tg2).contains(&"TG202"));
        assert!(resolve(&["TG9".into()], &[]).is_err());
        assert_eq!(resolve(&["ALL".into()], &["".into()]).err(), Some(UnknownSelector::Empty));
        assert_eq!(resolve(&[" ".into()], &[]).err(), Some(UnknownSelector::Empty));
        let extended = resolve_with(Some(&["TG201".into()]), &["TG203".into()], &[]).unwrap();
        assert_eq!(ids(&extended), ["TG201", "TG203"]);
    }
}
