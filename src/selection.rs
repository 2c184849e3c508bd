//! Which rules run: `--select` / `--ignore` with rule ids or prefixes (`TG2`, `TG201`, `ALL`).
//! Without `--select`, the rules enabled by default run; an explicit selector also turns on opt-in rules.

use crate::rules::{REGISTRY, Rule, docs};

/// A selector that names no rule.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown rule selector `{selector}`{hint}")]
pub struct UnknownSelector {
    pub selector: String,
    hint: String,
}

fn matches(selector: &str, id: &str) -> bool {
    selector.eq_ignore_ascii_case("ALL") || id.to_ascii_uppercase().starts_with(&selector.to_ascii_uppercase())
}

fn check_known(selectors: &[String]) -> Result<(), UnknownSelector> {
    for s in selectors {
        if !REGISTRY.iter().any(|r| matches(s, r.id())) {
            let ids: Vec<&str> = REGISTRY.iter().map(|r| r.id()).collect();
            let hint = if ids.is_empty() { String::new() } else { format!(" (rules are {})", ids.join(", ")) };
            return Err(UnknownSelector { selector: s.clone(), hint });
        }
    }
    Ok(())
}

/// Resolves the rules to run, sorted by id.
pub fn resolve(select: &[String], ignore: &[String]) -> Result<Vec<&'static dyn Rule>, UnknownSelector> {
    check_known(select)?;
    check_known(ignore)?;
    let enabled = |r: &&'static dyn Rule| {
        if select.is_empty() {
            docs::get(r.id()).is_some_and(|d| d.enabled)
        } else {
            select.iter().any(|s| matches(s, r.id()))
        }
    };
    Ok(REGISTRY.iter().copied().filter(enabled).filter(|r| !ignore.iter().any(|s| matches(s, r.id()))).collect())
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
    }
}
