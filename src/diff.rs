//! `--diff-against GIT_REF`: the lines changed since a git revision, so that a pre-merge check reports
//! only findings on lines the change touched. Untracked files count as changed throughout.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Why the changed lines could not be determined (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {what} failed: {stderr}")]
    Git { what: String, stderr: String },
}

/// Changed lines per path (relative to the working directory, `/`-separated).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// (first, last) 1-based line ranges; `None`: the whole file is new.
    files: BTreeMap<String, Option<Vec<(usize, usize)>>>,
}

impl Changes {
    /// Is `line` of `path` changed?
    pub fn contains(&self, path: &str, line: usize) -> bool {
        match self.files.get(path) {
            Some(None) => true,
            Some(Some(ranges)) => ranges.iter().any(|&(a, b)| a <= line && line <= b),
            None => false,
        }
    }
}

fn git(cwd: &Path, args: &[&str]) -> Result<String, DiffError> {
    let out = Command::new("git").current_dir(cwd).args(args).output().map_err(DiffError::Spawn)?;
    if !out.status.success() {
        return Err(DiffError::Git {
            what: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The lines changed in the working tree since `rev`.
pub fn changes_since(cwd: &Path, rev: &str) -> Result<Changes, DiffError> {
    let diff = git(cwd, &["diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", "--relative", rev, "--"])?;
    let mut changes = parse_diff(&diff);
    for path in git(cwd, &["ls-files", "--others", "--exclude-standard"])?.lines() {
        changes.files.insert(path.to_string(), None);
    }
    Ok(changes)
}

/// Parses `git diff -U0` output: `+++ b/path` headers and `@@ -a,b +c,d @@` hunks.
pub fn parse_diff(diff: &str) -> Changes {
    let mut changes = Changes::default();
    let mut current: Option<String> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            current = path.strip_prefix("b/").map(str::to_string);
            if let Some(p) = &current {
                changes.files.entry(p.clone()).or_insert_with(|| Some(Vec::new()));
            }
        } else if let (Some(hunk), Some(path)) = (line.strip_prefix("@@ "), &current) {
            let Some(new) = hunk.split_whitespace().find(|p| p.starts_with('+')) else { continue };
            let mut parts = new[1..].splitn(2, ',');
            let start: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count: usize = parts.next().map_or(Some(1), |s| s.parse().ok()).unwrap_or(1);
            if count > 0
                && let Some(Some(ranges)) = changes.files.get_mut(path)
            {
                ranges.push((start, start + count - 1));
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks() {
        let diff = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -3,0 +4,2 @@ def f():\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n@@ -20,3 +22,0 @@\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,3 @@\n";
        let c = parse_diff(diff);
        assert!(c.contains("x.py", 4) && c.contains("x.py", 5) && !c.contains("x.py", 6));
        assert!(c.contains("x.py", 12) && !c.contains("x.py", 22));
        assert!(c.contains("new.py", 3) && !c.contains("other.py", 1));
    }
}
