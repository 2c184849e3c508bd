//! `--diff-against GIT_REF`: the lines changed since the merge base of a git revision and `HEAD` (what
//! `git diff REF...` compares against), in the working tree, so that a pre-merge check reports only
//! findings on lines the change touched. Untracked files count as changed throughout.
//!
//! git is read through plumbing no user setting can change: explicit `--src-prefix`/`--dst-prefix`
//! (`diff.noprefix` and `diff.mnemonicPrefix` cannot drop or rename them), `core.quotePath=false` and
//! C-unquoting of the names git still quotes, a trailing tab after names with spaces removed, no
//! external diff, textconv, colour, renames or relative paths, no hunks fused by
//! `diff.interHunkContext`, NUL-separated `ls-files -z`, and `--end-of-options` before the revision
//! (which may not start with `-` in any case). Paths are relative to the repository's top level.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Why the changed lines could not be determined (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("--diff-against: cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("--diff-against: {} is not inside a git repository", .0.display())]
    NotARepository(PathBuf),
    #[error("--diff-against: `{0}` is not a git revision (an option-like value is never passed to git)")]
    OptionLike(String),
    #[error("--diff-against: unknown git revision `{0}`")]
    UnknownRevision(String),
    #[error("--diff-against: `{0}` and HEAD have no common ancestor")]
    NoMergeBase(String),
    #[error("--diff-against: `git {what}` failed: {message}")]
    Git { what: String, message: String },
}

/// Changed lines per path relative to the repository's top level (`/`-separated).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The repository's top level (absolute, symbolic links resolved).
    root: PathBuf,
    /// The merge base the working tree was compared with.
    base: String,
    /// (first, last) 1-based line ranges; `None`: the whole file is new.
    files: BTreeMap<String, Option<Vec<(usize, usize)>>>,
}

impl Changes {
    /// Is `line` of `path` (relative to the repository's top level) changed?
    pub fn contains(&self, path: &str, line: usize) -> bool {
        self.overlaps(path, line, line)
    }

    /// Is any line from `first` to `last` of `path` (relative to the top level) changed?
    pub fn overlaps(&self, path: &str, first: usize, last: usize) -> bool {
        match self.files.get(path) {
            Some(None) => true,
            Some(Some(ranges)) => ranges.iter().any(|&(a, b)| a <= last && first <= b),
            None => false,
        }
    }

    /// The path of `file` relative to the repository's top level, if it is inside it. `file` is
    /// absolute, or relative to `cwd` (absolute, symbolic links resolved like the top level's: see
    /// `std::fs::canonicalize`); `.` and `..` are resolved lexically.
    pub fn repo_path(&self, cwd: &Path, file: &Path) -> Option<String> {
        let mut abs = PathBuf::new();
        for c in cwd.join(file).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    abs.pop();
                }
                other => abs.push(other),
            }
        }
        let rel = abs.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        Some(parts.join("/"))
    }

    /// The commit the working tree was compared with.
    pub fn base(&self) -> &str {
        &self.base
    }
}

/// Runs git in `dir` with settings that no user configuration can override; returns its stdout.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, DiffError> {
    let out = Command::new("git")
        .current_dir(dir)
        .env_remove("GIT_EXTERNAL_DIFF")
        .env_remove("GIT_DIFF_OPTS")
        .args(["-c", "core.quotePath=false", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false"])
        .args(["-c", "diff.relative=false", "-c", "diff.interHunkContext=0", "-c", "color.ui=false"])
        .args(args)
        .output()
        .map_err(DiffError::Spawn)?;
    if !out.status.success() {
        // git's first line says what is wrong; the rest is usage text.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message");
        return Err(DiffError::Git { what: args.join(" "), message: first.to_string() });
    }
    Ok(out.stdout)
}

/// A git failure that means `instead` (a failure to run git at all stays what it is).
fn or<T>(result: Result<T, DiffError>, instead: DiffError) -> Result<T, DiffError> {
    result.map_err(|e| if matches!(e, DiffError::Spawn(_)) { e } else { instead })
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap_or("").trim().to_string()
}

/// The lines changed in the working tree of the repository containing `cwd` since the merge base of
/// `rev` and `HEAD`.
pub fn changes_since(cwd: &Path, rev: &str) -> Result<Changes, DiffError> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(DiffError::OptionLike(rev.to_string()));
    }
    let top = or(git(cwd, &["rev-parse", "--show-toplevel"]), DiffError::NotARepository(cwd.to_path_buf()))?;
    let top = PathBuf::from(first_line(&top));
    let root = std::fs::canonicalize(&top).unwrap_or(top);
    let commit = format!("{rev}^{{commit}}");
    let unknown = |r: &str| DiffError::UnknownRevision(r.to_string());
    let resolved = or(git(&root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &commit]), unknown(rev))?;
    let head = or(git(&root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]), unknown("HEAD"))?;
    let base = git(&root, &["merge-base", "--end-of-options", &first_line(&resolved), &first_line(&head)]);
    let base = first_line(&or(base, DiffError::NoMergeBase(rev.to_string()))?);
    let diff = git(
        &root,
        &[
            "diff",
            "-U0",
            "--inter-hunk-context=0",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            "--no-relative",
            "--text",
            "--submodule=short",
            "--end-of-options",
            &base,
            "--",
        ],
    )?;
    let mut changes = parse_diff(&diff);
    changes.root = root.clone();
    changes.base = base;
    let untracked = git(&root, &["ls-files", "-z", "--others", "--exclude-standard", "--full-name"])?;
    for path in untracked.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        changes.files.insert(String::from_utf8_lossy(path).into_owned(), None);
    }
    Ok(changes)
}

/// A name in a `+++ ` header: `b/path` (with a tab after it when it has a space), `"b/pa\"th"`
/// C-quoted when unusual, or `/dev/null`. Returns the path without its `b/` prefix.
fn header_path(raw: &[u8]) -> Option<String> {
    let name = match raw.strip_prefix(b"\"") {
        Some(quoted) => unquote(quoted)?,
        None => raw.strip_suffix(b"\t").unwrap_or(raw).to_vec(),
    };
    name.strip_prefix(b"b/").map(|p| String::from_utf8_lossy(p).into_owned())
}

/// Undoes git's C-style quoting (the opening quote already removed): `\"`, `\\`, `\t`, `\n`, octal
/// `\303`…; stops at the closing quote.
fn unquote(quoted: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        match quoted[i] {
            b'"' => return Some(out),
            b'\\' => {
                let c = *quoted.get(i + 1)?;
                i += 2;
                let byte = match c {
                    b'a' => 7,
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 11,
                    b'f' => 12,
                    b'r' => b'\r',
                    b'0'..=b'7' => {
                        let digits = quoted.get(i - 1..i + 2)?;
                        i += 2;
                        digits.iter().try_fold(0u8, |n, d| {
                            (b'0'..=b'7').contains(d).then(|| n.wrapping_mul(8).wrapping_add(d - b'0'))
                        })?
                    }
                    other => other,
                };
                out.push(byte);
                continue;
            }
            b => out.push(b),
        }
        i += 1;
    }
    None
}

/// Parses `git diff -U0 --dst-prefix=b/` output: `+++ ` headers and `@@ -a,b +c,d @@` hunks.
pub fn parse_diff(diff: &[u8]) -> Changes {
    let mut changes = Changes::default();
    let mut current: Option<String> = None;
    for line in diff.split(|&b| b == b'\n') {
        if let Some(name) = line.strip_prefix(b"+++ ") {
            current = header_path(name);
            if let Some(p) = &current {
                changes.files.entry(p.clone()).or_insert_with(|| Some(Vec::new()));
            }
        } else if line.starts_with(b"diff ") {
            current = None;
        } else if let (Some(hunk), Some(path)) = (line.strip_prefix(b"@@ "), &current) {
            let hunk = String::from_utf8_lossy(hunk);
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
        let diff = b"diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -3,0 +4,2 @@ def f():\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n@@ -20,3 +22,0 @@\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,3 @@\n";
        let c = parse_diff(diff);
        assert!(c.contains("x.py", 4) && c.contains("x.py", 5) && !c.contains("x.py", 6));
        assert!(c.contains("x.py", 12) && !c.contains("x.py", 22));
        assert!(c.contains("new.py", 3) && !c.contains("other.py", 1));
        assert!(c.overlaps("x.py", 1, 4) && !c.overlaps("x.py", 6, 11));
    }

    #[test]
    fn unusual_names() {
        let diff = "+++ b/a b.py\t\n@@ -1,0 +2 @@\n+++ \"b/q\\\"t\\303\\251.py\"\n@@ -1,0 +3 @@\n+++ /dev/null\n@@ -1 +0,0 @@\n";
        let c = parse_diff(diff.as_bytes());
        assert!(c.contains("a b.py", 2) && c.contains("q\"té.py", 3));
        assert_eq!(c.files.len(), 2);
        assert_eq!(unquote(b"a\\tb\\\\\""), Some(b"a\tb\\".to_vec()));
        assert_eq!(unquote(b"unterminated"), None);
    }

    #[test]
    fn repo_paths_resolve_dots() {
        let c = Changes { root: PathBuf::from("/nonexistent/repo"), ..Changes::default() };
        let cwd = Path::new("/nonexistent/repo/sub");
        assert_eq!(c.repo_path(cwd, Path::new("a.py")).as_deref(), Some("sub/a.py"));
        assert_eq!(c.repo_path(cwd, Path::new("../b/./c.py")).as_deref(), Some("b/c.py"));
        assert_eq!(c.repo_path(cwd, Path::new("/elsewhere/c.py")), None);
    }
}
