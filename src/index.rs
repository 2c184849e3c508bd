//! The project-wide index: facts a rule can only judge once every file has been seen.
//!
//! The engine still parses and walks each file once. During that walk a rule may record facts about
//! the file ([`FileFacts`], e.g. "this file declares the oslo.config option `connection` with
//! `secret=True`") and may emit *deferred* findings ([`Deferred`]) whose validity depends on such a
//! fact elsewhere in the tree. After the parallel scan, `lib::scan` merges every file's facts into a
//! [`ProjectIndex`] and keeps the deferred findings whose condition holds. Merging is a set union, so
//! the result does not depend on file order or thread count.

use crate::finding::Finding;
use std::collections::BTreeSet;

/// Facts one file contributes to the project index.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    /// Names of oslo.config options declared with `secret=True` (dashes normalised to `_`).
    pub secret_options: BTreeSet<String>,
}

/// A finding that stands only if the oslo.config option `option` is declared secret somewhere.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deferred {
    pub option: String,
    pub finding: Finding,
}

/// The union of every scanned file's [`FileFacts`].
#[derive(Debug, Default, Clone)]
pub struct ProjectIndex {
    secret_options: BTreeSet<String>,
}

impl ProjectIndex {
    /// Adds one file's facts.
    pub fn merge(&mut self, facts: &FileFacts) {
        self.secret_options.extend(facts.secret_options.iter().cloned());
    }

    /// Is `name` an option declared `secret=True` anywhere in the scanned tree?
    pub fn is_secret_option(&self, name: &str) -> bool {
        self.secret_options.contains(name)
    }

    /// Does the deferred finding's condition hold?
    pub fn keeps(&self, deferred: &Deferred) -> bool {
        self.is_secret_option(&deferred.option)
    }
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
        index.merge(&a);
        index.merge(&FileFacts::default());
        assert!(index.is_secret_option("admin_password"));
        assert!(!index.is_secret_option("host"));
    }
}
