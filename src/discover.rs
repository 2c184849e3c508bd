//! Which files to scan, in a sorted order. Walks directories without following symlinks, skips the
//! usual non-source directories, `--exclude` globs and (by default) what git ignores — `.gitignore`
//! files, `.git/info/exclude` and the global excludes file, through the `ignore` crate, inside a git
//! repository — and never opens non-regular files (a FIFO named `x.py` would block forever). Files named
//! explicitly are scanned whatever ignores them, unless `force_exclude` is set (pre-commit names files).

use crate::finding::{Level, Notification};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::{Component, Path, PathBuf};

/// Directory names skipped while walking (besides hidden directories).
pub const DEFAULT_SKIPPED_DIRS: &[&str] = &[".git", ".tox", ".venv", "venv", "__pycache__", "build", "node_modules"];

/// Why discovery failed (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("invalid --exclude pattern `{pattern}`: {source}")]
    BadGlob { pattern: String, source: globset::Error },
}

/// One file to scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// Path used to open the file.
    pub path: PathBuf,
    /// Relative to the working directory where possible, `/`-separated (lossy for non-UTF-8 names).
    pub display: String,
    /// Relative to the project root where possible, `/`-separated: what fingerprints and the formats read
    /// by machines (SARIF, GitHub annotations, GitLab) name the file by, so that results and baselines
    /// do not depend on the directory trunkguard ran from.
    pub rel: String,
    /// [`Candidate::rel`] as a percent-encoded URI reference, from the name's raw bytes (lossless),
    /// relative to SARIF's `%SRCROOT%` (the project root).
    pub uri: String,
}

impl Candidate {
    /// A file at `path` (as given or found), displayed relative to `cwd`, named relative to `root`.
    pub fn new(path: &Path, cwd: &Path, root: &Path) -> Candidate {
        let abs = std::path::absolute(cwd.join(path)).unwrap_or_else(|_| path.to_path_buf());
        Candidate {
            path: path.to_path_buf(),
            display: display_path(path, cwd),
            rel: display_path(&abs, root),
            uri: uri_path(&abs, root),
        }
    }
}

/// The project root for `start` (the first path scanned) when no configuration file names one: the
/// nearest directory at or above it holding `.git` (a directory, or a file for worktrees and
/// submodules), else `None`.
pub fn vcs_root(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    let mut dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// The files to scan and what was skipped on the way.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<Candidate>,
    pub notifications: Vec<Notification>,
}

/// Builds the exclusion matcher from `--exclude` globs.
pub fn exclude_set(patterns: &[String]) -> Result<GlobSet, DiscoverError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|source| DiscoverError::BadGlob { pattern: pattern.clone(), source })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| DiscoverError::BadGlob { pattern: patterns.join(", "), source })
}

fn skipped_dir(name: &str) -> bool {
    DEFAULT_SKIPPED_DIRS.contains(&name)
        || name.ends_with(".egg-info")
        || (name.starts_with('.') && name != "." && name != "..")
}

/// Is the file displayed as `display` excluded by `excludes`, itself or through one of its directories
/// (as the walk would have pruned it): each of `a/b/c.py`, `a/b`, `a` and each name `c.py`, `b`, `a`
/// is tried.
pub fn is_excluded_under(excludes: &GlobSet, display: &str) -> bool {
    let mut prefix = display;
    loop {
        let name = prefix.rsplit('/').next().unwrap_or(prefix);
        if excludes.is_match(prefix) || excludes.is_match(name) {
            return true;
        }
        match prefix.rsplit_once('/') {
            Some((parent, _)) if !parent.is_empty() => prefix = parent,
            _ => return false,
        }
    }
}

/// Does an `exclude` glob set match the file or directory at `path` (by its display path or its name)?
pub fn is_excluded(excludes: &GlobSet, path: &Path, display: &str) -> bool {
    !excludes.is_empty() && (excludes.is_match(display) || path.file_name().is_some_and(|n| excludes.is_match(n)))
}

/// Is the display path test code: a `tests`/`test` directory component, or a file named `test_*.py`,
/// `*_test.py` or `conftest.py`? Findings there are dropped unless `include-tests` is set: test
/// fixtures swallow errors in clean-ups and log fake secrets on purpose.
pub fn is_test_path(display: &str) -> bool {
    let mut parts = display.split('/').rev();
    let file = parts.next().unwrap_or("");
    file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
        || parts.any(|d| d == "tests" || d == "test")
}

/// `path` relative to `cwd` when under it, `.` components removed, each component rendered by
/// `part` and joined with `/` (an absolute path keeps its leading `/`).
fn joined(path: &Path, cwd: &Path, part: impl Fn(&std::ffi::OsStr) -> String) -> String {
    let rel = path.strip_prefix(cwd).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::RootDir => String::new(),
            other => part(other.as_os_str()),
        })
        .collect();
    parts.join("/")
}

/// The display form of `path`: relative to `cwd` when under it, `.` components removed, `/`-separated
/// (lossy for names that are not UTF-8).
pub fn display_path(path: &Path, cwd: &Path) -> String {
    let shown = joined(path, cwd, |c| c.to_string_lossy().into_owned());
    if shown.is_empty() { ".".to_string() } else { shown }
}

/// Percent-encodes bytes for a URI path: unreserved characters and `/` stay, everything else (spaces,
/// `#`, `%`, non-ASCII and non-UTF-8 bytes) becomes `%XX`.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(s).to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}

/// The URI form of `path` (relative like [`display_path`], absolute ones starting with `/`),
/// percent-encoded from the raw bytes of each component.
pub fn uri_path(path: &Path, cwd: &Path) -> String {
    joined(path, cwd, |c| percent_encode(&os_bytes(c)))
}

/// How to walk: what to leave out.
#[derive(Debug, Clone)]
pub struct WalkOptions<'a> {
    /// `--exclude` globs.
    pub excludes: &'a GlobSet,
    /// Leave out what git ignores (`--no-respect-gitignore` turns it off).
    pub respect_gitignore: bool,
    /// Apply `excludes` to files named explicitly too (`--force-exclude`).
    pub force_exclude: bool,
    /// The project root files are named relative to ([`Candidate::rel`]).
    pub root: &'a Path,
    /// Directories (absolute) not to walk into: already discovered (the paths given, when the rest of
    /// the project is walked for context).
    pub skip: &'a [PathBuf],
}

/// Finds the files to scan below `roots`, respecting `.gitignore`, with `cwd` as the project root (see
/// [`discover_with`]).
pub fn discover(roots: &[PathBuf], excludes: &GlobSet, cwd: &Path) -> Result<Discovery, DiscoverError> {
    let options = WalkOptions { excludes, respect_gitignore: true, force_exclude: false, root: cwd, skip: &[] };
    discover_with(roots, &options, cwd)
}

/// Finds the files to scan below `roots`. A root that does not exist is an error; everything else
/// that goes wrong (unreadable directories, loops, non-regular files) becomes a notification.
pub fn discover_with(roots: &[PathBuf], options: &WalkOptions<'_>, cwd: &Path) -> Result<Discovery, DiscoverError> {
    let mut out = Discovery::default();
    // Each file with its real path, so the same file named twice (`a.py ./a.py`, an absolute path,
    // `d/../a.py`, or a directory and a file in it) is analysed and reported once, under the first
    // display path in sorted order. The walk follows no symlink, so below a root the real path is the
    // root's real path joined with the rest: one `canonicalize` per root, not per file.
    let mut found: Vec<(Candidate, PathBuf)> = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|_| DiscoverError::NotFound(root.display().to_string()))?;
        if meta.is_file() {
            if !(options.force_exclude && is_excluded_under(options.excludes, &display_path(root, cwd))) {
                let real = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                found.push((Candidate::new(root, cwd, options.root), real));
            }
            continue;
        }
        if !meta.is_dir() {
            out.notifications.push(skipped(root, cwd, "not a regular file; skipped"));
            continue;
        }
        let before = out.files.len();
        walk(root, options, cwd, &mut out);
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        for c in out.files.drain(before..) {
            let real = c.path.strip_prefix(root).map_or_else(|_| c.path.clone(), |rest| real_root.join(rest));
            found.push((c, real));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = std::collections::HashSet::new();
    out.files = found.into_iter().filter(|(_, real)| seen.insert(real.clone())).map(|(c, _)| c).collect();
    Ok(out)
}

fn walk(root: &Path, options: &WalkOptions<'_>, cwd: &Path, out: &mut Discovery) {
    let excludes = options.excludes.clone();
    let skip: std::collections::HashSet<PathBuf> = options.skip.iter().cloned().collect();
    let cwd_owned = cwd.to_path_buf();
    let git = options.respect_gitignore;
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(false)
        .hidden(false)
        .ignore(false)
        .parents(git)
        .git_ignore(git)
        .git_exclude(git)
        .git_global(git)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| {
            if e.depth() == 0 {
                return true;
            }
            let display = display_path(e.path(), &cwd_owned);
            let name = e.file_name().to_string_lossy();
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            let given = is_dir && !skip.is_empty() && skip.contains(e.path());
            !(given || is_excluded(&excludes, e.path(), &display) || is_dir && skipped_dir(&name))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = error_path(&err).unwrap_or(root).to_path_buf();
                out.notifications.push(Notification {
                    id: "read-error",
                    level: Level::Warning,
                    path: Some(display_path(&path, cwd)),
                    line: None,
                    message: format!("cannot read directory entry: {err}"),
                });
                continue;
            }
        };
        let is_py = entry.path().extension().is_some_and(|e| e == "py");
        if !is_py {
            continue;
        }
        let Some(ft) = entry.file_type() else { continue };
        if ft.is_file() {
            out.files.push(Candidate::new(entry.path(), cwd, options.root));
        } else if !ft.is_dir() && !ft.is_symlink() {
            out.notifications.push(skipped(entry.path(), cwd, "not a regular file (FIFO, socket or device); skipped"));
        }
    }
}

/// The path an error of the walk is about, if it names one.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    let mut err = err;
    loop {
        match err {
            ignore::Error::WithPath { path, .. } => return Some(path),
            ignore::Error::Loop { child, .. } => return Some(child),
            ignore::Error::WithDepth { err: inner, .. } | ignore::Error::WithLineNumber { err: inner, .. } => {
                err = inner
            }
            _ => return None,
        }
    }
}

fn skipped(path: &Path, cwd: &Path, why: &str) -> Notification {
    Notification {
        id: "skipped",
        level: Level::Note,
        path: Some(display_path(path, cwd)),
        line: None,
        message: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_through_a_directory() {
        let set = exclude_set(&["gen".into(), "*_pb2.py".into(), "vendor/*".into()]).unwrap();
        assert!(is_excluded_under(&set, "sub/gen/c.py"));
        assert!(is_excluded_under(&set, "x/a_pb2.py"));
        assert!(is_excluded_under(&set, "vendor/lib/x.py"));
        assert!(!is_excluded_under(&set, "sub/generated/c.py"));
        assert!(!is_excluded_under(&set, "sub/b.py"));
    }

    #[test]
    fn display_paths_are_relative_and_clean() {
        let cwd = Path::new("/work/repo");
        assert_eq!(display_path(Path::new("./neutron/x.py"), cwd), "neutron/x.py");
        assert_eq!(display_path(Path::new("/work/repo/a/b.py"), cwd), "a/b.py");
        assert_eq!(display_path(Path::new("/elsewhere/b.py"), cwd), "/elsewhere/b.py");
        assert_eq!(display_path(Path::new("."), cwd), ".");
        assert_eq!(uri_path(Path::new("./a b/c#d%e.py"), cwd), "a%20b/c%23d%25e.py");
        assert_eq!(uri_path(Path::new("/elsewhere/é.py"), cwd), "/elsewhere/%C3%A9.py");
    }

    #[test]
    fn test_code() {
        for p in ["neutron/tests/unit/x.py", "test/a.py", "pkg/test_api.py", "api_test.py", "conftest.py"] {
            assert!(is_test_path(p), "{p}");
        }
        for p in ["neutron/services/trunk/plugin.py", "neutron/testing_utils.py", "contest.py", "tests.py"] {
            assert!(!is_test_path(p), "{p}");
        }
    }

    #[test]
    fn default_skips() {
        for name in [".git", ".tox", "venv", "__pycache__", "build", "neutron.egg-info", ".hidden"] {
            assert!(skipped_dir(name), "{name}");
        }
        assert!(!skipped_dir("neutron"));
    }
}
