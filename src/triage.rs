//! The triage stage: everything between "the rules produced findings" and "a report is written".
//! Per-file ignores, the test-code filter and the diff filter drop findings; the baseline marks the
//! rest `new` or `unchanged` and gives back the `absent` ones; in-source suppressions (applied by the
//! engine) are kept and marked. The result is one [`Report`] whose findings are private behind two views,
//! so every format agrees by construction:
//!
//! - [`Report::all`]: every finding that survived the filters, silenced and `unchanged` ones included,
//!   with their states — for SARIF and JSON, which carry suppressions and baseline states;
//! - [`Report::reported`]: the findings a person or a CI system must act on (neither silenced by a
//!   comment nor `unchanged` against the baseline) — for every other format, the statistics, the
//!   summary line and the exit status.
//!
//! Knows nothing of syntax trees or of output formats.

use crate::baseline::Baseline;
use crate::config::Settings;
use crate::diff::Changes;
use crate::discover;
use crate::docs::RuleDoc;
use crate::finding::{BaselineState, Finding, Level, NOT_ANALYSED, Notification, selects};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Everything a run produced, in deterministic order, after triage.
#[derive(Debug, Default)]
pub struct Report {
    /// Sorted by path, line, column, rule. Private: formats choose a view.
    findings: Vec<(String, Finding)>,
    /// Notifications sorted by path, line.
    pub notifications: Vec<Notification>,
    /// Documents of the rules that ran, sorted by id.
    pub rules: Vec<&'static RuleDoc>,
    pub files_scanned: usize,
    /// Function definitions in the files analysed (the review's scope).
    pub functions_scanned: usize,
    /// The project root: the directory project-relative paths and URIs are relative to (SARIF
    /// `%SRCROOT%`).
    pub srcroot: PathBuf,
    /// Display path → percent-encoded URI path relative to [`Report::srcroot`], made from the raw file
    /// name (lossless where the display path is lossy). Paths not listed are encoded from their display
    /// form.
    pub uris: BTreeMap<String, String>,
    /// Display path → path relative to the project root (what GitHub and GitLab resolve). Paths not
    /// listed are used as they are.
    pub rels: BTreeMap<String, String>,
    /// Show findings silenced by in-source comments in text output ([`Report::shown_in_text`]).
    pub show_suppressed: bool,
    /// Compared with a baseline (`--baseline`).
    pub baselined: bool,
    /// Baseline results no longer found (SARIF results, reported with `baselineState: absent`).
    pub absent: Vec<serde_json::Value>,
    /// With `--diff-against`: how many findings that would have been reported the diff filter left
    /// out (none of their locations is on a changed line).
    pub outside_diff: Option<usize>,
    /// The paths the run was asked to review, as given (the review report's scope).
    pub paths: Vec<String>,
    /// Opt-in rules that did not run but would have reported something, with how many findings (the
    /// review report names them; filled only when a review is written).
    pub not_run: BTreeMap<&'static str, usize>,
}

/// Does a finding call for action: not silenced by a comment and not `unchanged` against the baseline?
fn is_reported(f: &Finding) -> bool {
    f.suppressed.is_none() && f.baseline != Some(BaselineState::Unchanged)
}

impl Report {
    /// A report of `findings` (sorted by path, line, column, rule), with nothing else filled in.
    pub fn new(findings: Vec<(String, Finding)>) -> Report {
        Report { findings, ..Report::default() }
    }

    /// Every finding that survived the filters, silenced and baseline-`unchanged` ones included
    /// (SARIF, JSON).
    pub fn all(&self) -> impl Iterator<Item = &(String, Finding)> {
        self.findings.iter()
    }

    /// The findings to act on: neither silenced by a comment nor `unchanged` against the baseline.
    /// Every format but SARIF and JSON shows these, and they alone decide the exit status.
    pub fn reported(&self) -> impl Iterator<Item = &(String, Finding)> {
        self.findings.iter().filter(|(_, f)| is_reported(f))
    }

    /// What text output shows: [`Report::reported`], plus the silenced findings with
    /// `--show-suppressed` (marked there as silenced; they still never fail the run).
    pub fn shown_in_text(&self) -> impl Iterator<Item = &(String, Finding)> {
        self.findings
            .iter()
            .filter(|(_, f)| is_reported(f) || (self.show_suppressed && f.baseline != Some(BaselineState::Unchanged)))
    }

    /// The project-relative path of a display path.
    pub fn rel<'a>(&'a self, display: &'a str) -> &'a str {
        self.rels.get(display).map_or(display, String::as_str)
    }

    /// The percent-encoded URI path of a display path.
    pub fn uri(&self, display: &str) -> String {
        self.uris.get(display).cloned().unwrap_or_else(|| discover::percent_encode(display.as_bytes()))
    }

    /// Mutable access to the findings, for building reports by hand (tests, tools); formats read views.
    pub fn findings_mut(&mut self) -> &mut Vec<(String, Finding)> {
        &mut self.findings
    }

    /// Count of reported findings at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.reported().filter(|(_, f)| f.level == level).count()
    }

    /// Number of distinct files with reported findings.
    pub fn files_with_findings(&self) -> usize {
        let mut paths: Vec<&str> = self.reported().map(|(p, _)| p.as_str()).collect();
        paths.dedup();
        paths.len()
    }

    /// Findings silenced by in-source comments.
    pub fn silenced(&self) -> usize {
        self.findings.iter().filter(|(_, f)| f.suppressed.is_some()).count()
    }

    /// With a baseline: the new and unchanged findings that are not silenced, and the absent results.
    pub fn baseline_counts(&self) -> Option<BaselineCounts> {
        if !self.baselined {
            return None;
        }
        let active = self.findings.iter().filter(|(_, f)| f.suppressed.is_none());
        let (new, unchanged) = active.fold((0, 0), |(n, u), (_, f)| match f.baseline {
            Some(BaselineState::Unchanged) => (n, u + 1),
            _ => (n + 1, u),
        });
        Some(BaselineCounts { new, unchanged, absent: self.absent.len() })
    }

    /// Nothing to say but "no findings": nothing reported, and no baseline or diff counts to give.
    pub fn is_clean(&self) -> bool {
        self.reported().next().is_none()
            && self.outside_diff.unwrap_or(0) == 0
            && self.baseline_counts().is_none()
            && !self.notifications.iter().any(|n| n.id == crate::finding::INCOMPLETE)
    }
}

/// A run against a baseline in numbers (the text summary's `N new, M unchanged, K absent`; JSON
/// `summary.baseline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BaselineCounts {
    pub new: usize,
    pub unchanged: usize,
    pub absent: usize,
}

/// A bad per-file-ignores glob (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("per-file-ignores: invalid glob `{glob}`: {message}")]
pub struct GlobError {
    pub glob: String,
    pub message: String,
}

/// Per-file ignores: (glob set, rule selectors) pairs.
#[derive(Debug, Default, Clone)]
pub struct PerFileIgnores(Vec<(GlobSet, Vec<String>)>);

impl PerFileIgnores {
    /// Compiles `(glob, rule selectors)` pairs.
    pub fn new(entries: &[(String, Vec<String>)]) -> Result<PerFileIgnores, GlobError> {
        let mut out = Vec::new();
        for (glob, rules) in entries {
            let error = |e: globset::Error| GlobError { glob: glob.clone(), message: e.kind().to_string() };
            let set = GlobSetBuilder::new().add(Glob::new(glob).map_err(error)?).build().map_err(error)?;
            out.push((set, rules.clone()));
        }
        Ok(PerFileIgnores(out))
    }

    /// Is rule `rule` ignored in the file at `paths` (display path, path relative to the project root)?
    fn ignores(&self, paths: &[&str], rule: &str) -> bool {
        self.0
            .iter()
            .any(|(set, rules)| paths.iter().any(|p| set.is_match(p)) && rules.iter().any(|s| selects(s, rule)))
    }
}

/// The filters of one configuration: they apply to the files under it.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub per_file_ignores: PerFileIgnores,
    /// Keep findings in test code.
    pub include_tests: bool,
    /// The directory per-file-ignores globs are relative to (absolute): the configuration's.
    pub root: PathBuf,
}

impl Scope {
    /// The filters of `settings`, read from a configuration in `root`.
    pub fn new(settings: &Settings, root: &Path) -> Result<Scope, GlobError> {
        Ok(Scope {
            per_file_ignores: PerFileIgnores::new(&settings.per_file_ignores)?,
            include_tests: settings.include_tests,
            root: std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()),
        })
    }

    /// Does this scope keep a finding of `rule` in the file displayed as `path`?
    fn keeps(&self, cwd: &Path, path: &str, rule: &str) -> bool {
        if !self.include_tests && discover::is_test_path(path) {
            return false;
        }
        let rel = std::path::absolute(cwd.join(path))
            .ok()
            .and_then(|a| a.strip_prefix(&self.root).ok().map(Path::to_path_buf))
            .map(|r| discover::display_path(&r, Path::new("")));
        let paths: Vec<&str> = [Some(path), rel.as_deref()].into_iter().flatten().collect();
        !self.per_file_ignores.ignores(&paths, rule)
    }
}

/// What the triage stage applies to a scan's findings.
#[derive(Debug, Default)]
pub struct Triage {
    /// The filters of each configuration in play (at least one).
    pub scopes: Vec<Scope>,
    /// Display path → index in `scopes` (files not listed: the first).
    pub scope_of: BTreeMap<String, usize>,
    /// `--diff-against`: keep only findings on changed lines.
    pub changes: Option<Changes>,
    /// `--baseline`: mark findings `new`/`unchanged`, give back the `absent` ones.
    pub baseline: Option<Baseline>,
    /// Display paths of the files the scan read. Only their baseline results can be `absent` (a file
    /// left out by `--exclude` or by the paths given was not looked at); `None`: every file counts.
    pub scanned: Option<BTreeSet<String>>,
    /// The working directory display paths are relative to.
    pub cwd: PathBuf,
}

impl Triage {
    /// The triage of a run with one configuration: `settings`, rooted at `root` (its directory).
    pub fn new(settings: &Settings, root: &Path, cwd: &Path) -> Result<Triage, GlobError> {
        Ok(Triage { scopes: vec![Scope::new(settings, root)?], cwd: cwd.to_path_buf(), ..Triage::default() })
    }

    /// Filters and marks the report's findings, fills in `absent`, and puts the notifications in order.
    pub fn apply(self, report: &mut Report) {
        let Triage { scopes, scope_of, changes, baseline, scanned, cwd } = self;
        report.findings.retain(|(path, f)| {
            let scope = scope_of.get(path).and_then(|&i| scopes.get(i)).or(scopes.first());
            scope.is_none_or(|s| s.keeps(&cwd, path, f.rule))
        });
        // The baseline sees every finding of the files scanned, so that the diff filter below does not
        // make the findings on untouched lines `absent`.
        if let Some(baseline) = baseline {
            let not_analysed: BTreeSet<&str> = report
                .notifications
                .iter()
                .filter(|n| NOT_ANALYSED.contains(&n.id))
                .filter_map(|n| n.path.as_deref())
                .collect();
            let looked_at: Option<BTreeSet<String>> = scanned.as_ref().map(|paths| {
                paths.iter().filter(|p| !not_analysed.contains(p.as_str())).map(|p| report.uri(p)).collect()
            });
            let in_scope = |uri: &str| looked_at.as_ref().is_none_or(|uris| uris.contains(uri));
            report.absent = baseline.apply(report.findings.iter_mut().map(|(_, f)| f), in_scope);
            report.baselined = true;
        }
        if let Some(changes) = &changes {
            // Diff paths are relative to the repository's top level, display paths to the working directory.
            let real_cwd = std::fs::canonicalize(&cwd).unwrap_or_else(|_| cwd.clone());
            let mut outside = 0;
            report.findings.retain(|(path, f)| {
                // Changed when any location is: the escalation, the write it reaches, a step between.
                // A step in another file (a helper the flow goes through) counts there.
                let changed = f.places().any(|(other, span)| {
                    changes
                        .repo_path(&real_cwd, Path::new(other.unwrap_or(path)))
                        .is_some_and(|p| changes.overlaps(&p, span.start.line, span.last_line()))
                });
                outside += usize::from(!changed && is_reported(f));
                changed
            });
            report.outside_diff = Some(outside);
        }
        report.notifications.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    }
}
