//! The per-file pipeline over a set of files: each file's analysis comes from the result cache or from
//! reading, decoding, parsing and analysing it ([`analyse_bytes`]), in parallel; then the project index
//! decides the deferred findings, and everything is put in a deterministic order. Knows nothing of
//! output formats or of what the triage stage filters afterwards.

use crate::checker::Rule;
use crate::config::{Analysis, Settings};
use crate::finding::{Finding, Level, Notification};
use crate::model::facts::{ModuleFacts, SETUP_METHODS};
use crate::model::{self, index};
use crate::{cache, discover, docs, engine, python, safe_fs, source};
use anyhow::{Context, Result};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// What scanning a set of files produced.
#[derive(Debug, Default)]
pub struct Scan {
    /// (display path, finding), sorted by path, line, column, rule.
    pub findings: Vec<(String, Finding)>,
    /// Sorted by path, line.
    pub notifications: Vec<Notification>,
    pub files_scanned: usize,
    /// Function definitions in the files analysed.
    pub functions_scanned: usize,
    /// Files whose analysis came from the cache.
    pub cached: usize,
    /// Set when the cache could not be written (the results are complete regardless).
    pub cache_warning: Option<String>,
    /// The scan was cancelled ([`ScanOptions::cancel`]): its results are incomplete.
    pub cancelled: bool,
}

/// How a scan runs (none of it changes the findings).
#[derive(Debug, Default, Clone)]
pub struct ScanOptions<'p> {
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
    /// Ticked once per file.
    pub progress: Option<&'p indicatif::ProgressBar>,
    /// Parse every function of every file, even those no selected rule can fire in.
    pub full_parse: bool,
    /// The result cache directory; `None`: no cache.
    pub cache_dir: Option<std::path::PathBuf>,
    /// Set from another thread to stop early (the language server, when the text it analyses has
    /// changed): files not yet analysed are skipped and the scan is marked `cancelled`. What was
    /// analysed still goes into the cache, so the next scan starts from there.
    pub cancel: Option<&'p std::sync::atomic::AtomicBool>,
}

/// How one file's analysis was obtained.
struct Outcome {
    analysis: engine::FileAnalysis,
    notes: Vec<Notification>,
    /// A new or refreshed cache entry (`None`: the cached one stands, or the result is not cacheable).
    update: Option<(String, cache::Entry)>,
    from_cache: bool,
}

/// The rules and settings one group of files is analysed with: the files under one configuration file.
#[derive(Clone)]
pub struct Plan {
    pub rules: Vec<&'static dyn Rule>,
    pub settings: Settings,
}

/// Scans `files` with `rules` and `settings`.
pub fn scan(
    files: &[discover::Candidate],
    rules: &[&'static dyn Rule],
    settings: &Settings,
    options: &ScanOptions<'_>,
) -> Result<Scan> {
    let plan = Plan { rules: rules.to_vec(), settings: settings.clone() };
    scan_plans(files, &vec![0; files.len()], std::slice::from_ref(&plan), options)
}

/// Scans `files`, file `i` with `plans[plan_of[i]]` (each file under its nearest configuration). The
/// project index spans every plan: a `secret=True` option declared under one configuration counts for
/// files under another.
pub fn scan_plans(
    files: &[discover::Candidate],
    plan_of: &[usize],
    plans: &[Plan],
    options: &ScanOptions<'_>,
) -> Result<Scan> {
    scan_project(files, &[], plan_of, plans, options, &Overlay::new())
}

/// Contents that replace files on disk, by absolute path: an editor's unsaved buffers, standard input
/// read as a file (`check --stdin-filename`). An overlaid file need not exist on disk.
pub type Overlay = std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>;

/// Like [`scan_plans`], with the rest of the project as context and some files' contents in memory.
/// `context` files are analysed (from the cache when fresh) and their facts join the project index
/// and model, but only `reported` files are reported — their findings, notifications and counts;
/// `plan_of` covers `reported` then `context`. Files in `overlay` are analysed from their overlaid
/// contents instead of the disk (never from or into the cache). The one entry point of `check`, the
/// editor loop and standard input.
pub fn scan_project(
    reported: &[discover::Candidate],
    context: &[discover::Candidate],
    plan_of: &[usize],
    plans: &[Plan],
    options: &ScanOptions<'_>,
    overlay: &Overlay,
) -> Result<Scan> {
    let all: Vec<discover::Candidate>;
    let files = if context.is_empty() {
        reported
    } else {
        all = reported.iter().chain(context).cloned().collect();
        &all
    };
    let (engines, outcomes, cache_warning) = analyse_files(files, plan_of, plans, options, overlay)?;
    let cancelled = options.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
    let now = std::time::SystemTime::now();
    let mut outcomes = outcomes;
    // Project index and model: every file's facts, linked; then keep the deferred findings whose
    // condition holds (a logged `CONF.database.connection` where some file declares `connection`
    // secret; a handler whose helper re-raises). Built in file order, answers by least fixpoints: the
    // same result whatever the thread count, the cache or the parse mode. First, completion: while a
    // question reaches a function selective parsing left unparsed (along the calls its answer depends
    // on), that function is read (with its file's set-up methods), its facts join its file's, and the
    // model is linked again. Every round reads at least one function, so the loop ends; and a file
    // completed before is read whole, and every unparsed function of the project after
    // `MAX_TARGETED_ROUNDS`, so a chain of helpers costs at most what `--full-parse` does.
    let mut completion = Completion::new(engines.len(), files.len(), options.threads);
    let modules = module_names(files);
    let mut kept: Vec<Vec<Finding>> = loop {
        let model = project_model(files, &modules, &outcomes);
        let questions: Vec<(usize, &index::Deferred)> =
            outcomes.iter().enumerate().flat_map(|(i, o)| o.analysis.deferred.iter().map(move |d| (i, d))).collect();
        let mut missing: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        if !cancelled {
            for (file, name) in model.incomplete(&questions) {
                missing.entry(file).or_default().insert(name.to_string());
            }
        }
        if missing.is_empty() {
            let summaries = model.summaries(&model.question_roots(&questions));
            let resolve = |(i, o): (usize, &Outcome)| {
                o.analysis.deferred.iter().filter_map(|d| model.resolve(i, d.clone(), &summaries)).collect()
            };
            break outcomes.iter().enumerate().map(resolve).collect();
        }
        drop(model);
        if completion.rounds >= MAX_TARGETED_ROUNDS {
            let unparsed = outcomes.iter().enumerate().filter(|(_, o)| !o.analysis.facts.model.blanked.is_empty());
            missing.extend(unparsed.map(|(i, _)| (i, BTreeSet::new())));
        }
        completion.run(&engines, files, plan_of, &mut outcomes, &missing, now, overlay)?;
    };
    let mut scan = Scan { files_scanned: reported.len(), cache_warning, cancelled, ..Scan::default() };
    let mut updates: Vec<Vec<(String, cache::Entry)>> = plans.iter().map(|_| Vec::new()).collect();
    // Every file's facts, freed on a thread of their own: a few hundred thousand small allocations
    // whose freeing would otherwise hold up the report (the process may end before the thread does).
    let mut facts: Vec<std::sync::Arc<index::FileFacts>> = Vec::with_capacity(files.len());
    let rows = files.iter().zip(plan_of).zip(outcomes).zip(kept.iter_mut()).enumerate();
    for (i, (((file, &plan), outcome), kept)) in rows {
        let Outcome { mut analysis, notes, update, from_cache } = outcome;
        facts.push(std::mem::take(&mut analysis.facts));
        updates[plan].extend(update);
        if i >= reported.len() {
            continue; // context: its facts counted, its findings are not asked for
        }
        scan.cached += usize::from(from_cache);
        scan.functions_scanned += analysis.functions;
        if !kept.is_empty() {
            analysis.findings.append(kept);
            engine::finish(&file.rel, &mut analysis.findings);
        }
        scan.findings.extend(analysis.findings.into_iter().map(|f| (file.display.clone(), f)));
        scan.notifications.extend(notes);
    }
    for ((_, cache, _), updates) in engines.into_iter().zip(updates) {
        if let Some(Err(e)) = cache.map(|cache| cache.save(updates)) {
            scan.cache_warning.get_or_insert(e.to_string());
        }
    }
    let _ = std::thread::Builder::new().name("free".into()).spawn(move || drop(facts));
    scan.findings.sort_by(|(pa, a), (pb, b)| {
        (pa, a.span.start.line, a.span.start.column, a.rule).cmp(&(pb, b.span.start.line, b.span.start.column, b.rule))
    });
    scan.notifications.sort_by(|a, b| (&a.path, a.line, a.id).cmp(&(&b.path, b.line, b.id)));
    Ok(scan)
}

/// Engines, caches and size limits, one per plan.
type Engines = Vec<(engine::Engine, Option<cache::Cache>, u64)>;

/// Every file's analysis, from the cache or afresh, in parallel (before the project model links them).
fn analyse_files(
    files: &[discover::Candidate],
    plan_of: &[usize],
    plans: &[Plan],
    options: &ScanOptions<'_>,
    overlay: &Overlay,
) -> Result<(Engines, Vec<Outcome>, Option<String>)> {
    let mut cache_warning = None;
    let engines: Vec<(engine::Engine, Option<cache::Cache>, u64)> = plans
        .iter()
        .map(|plan| {
            let analysis = analysis(&plan.rules, &plan.settings, options.full_parse);
            let cache = options.cache_dir.as_deref().and_then(|dir| {
                cache::Cache::open(dir, &analysis.key()).map_err(|e| cache_warning = Some(e.to_string())).ok()
            });
            let limit = analysis.max_file_size;
            (engine::Engine::new(&plan.rules, analysis), cache, limit)
        })
        .collect();
    let progress = options.progress;
    let cancelled = || options.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let now = std::time::SystemTime::now();
    let outcomes: Vec<Outcome> = pool.install(|| {
        files
            .par_iter()
            .zip(plan_of)
            .map_init(engine::new_parser, |parser, (file, &plan)| {
                if cancelled() {
                    return Outcome {
                        analysis: Default::default(),
                        notes: Vec::new(),
                        update: None,
                        from_cache: false,
                    };
                }
                let (engine, cache, limit) = &engines[plan];
                let outcome = match overlaid(overlay, file) {
                    Some(bytes) => from_overlay(engine, parser, file, bytes, *limit),
                    None => obtain(engine, parser, file, cache.as_ref(), now, *limit, true),
                };
                if let Some(p) = progress {
                    p.inc(1);
                }
                outcome
            })
            .collect()
    });
    Ok((engines, outcomes, cache_warning))
}

/// `trunkguard inspect`: how the project model sees function `what` (`path::Class.method` or
/// `package.module.function`) — its calls and where they go, and its summary. Files are analysed
/// whole, so every function's facts are known. `None`: no such function.
pub fn inspect(
    files: &[discover::Candidate],
    plans: &[Plan],
    options: &ScanOptions<'_>,
    what: &str,
) -> Result<Option<String>> {
    let options = ScanOptions { full_parse: true, ..options.clone() };
    let (_, outcomes, _) = analyse_files(files, &vec![0; files.len()], plans, &options, &Overlay::new())?;
    let modules = module_names(files);
    let model = project_model(files, &modules, &outcomes);
    Ok(model.describe(what))
}

/// The project model over every file's facts (see [`crate::model`]); `modules` names `files`.
fn project_model<'o>(
    files: &'o [discover::Candidate],
    modules: &'o model::Modules,
    outcomes: &'o [Outcome],
) -> model::ProjectModel<'o> {
    let mut index = index::ProjectIndex::default();
    for (file, outcome) in files.iter().zip(outcomes) {
        index.merge(&file.display, &outcome.analysis.facts);
    }
    let facts = files.iter().zip(outcomes).map(|(file, o)| (file.display.as_str(), &o.analysis.facts.model)).collect();
    model::ProjectModel::new(index, modules, facts)
}

/// The module names of `files` (see [`model::Modules`]).
fn module_names(files: &[discover::Candidate]) -> model::Modules {
    model::Modules::new(&files.iter().map(|f| f.path.as_path()).collect::<Vec<_>>())
}

/// Completion (see [`scan_project`]): reads the unparsed functions questions reach, in parallel, and
/// adds their facts to their files'. The engines that parse whole files (for a file that changed
/// since it was analysed) are made when first needed.
struct Completion {
    whole: Vec<Option<engine::Engine>>,
    pool: Option<rayon::ThreadPool>,
    threads: Option<usize>,
    /// Rounds run so far.
    rounds: usize,
    /// Files completed before, by index: completed again, they are read whole.
    completed: Vec<bool>,
}

/// Completion rounds that read only the functions asked for; after them, every unparsed function of
/// the project is read (the corpus of BENCHMARKS.md needs three rounds).
const MAX_TARGETED_ROUNDS: usize = 4;

/// What completing one file gave.
enum Completed {
    /// The facts of the functions asked for (and every set-up method), and the key, stamp and hash
    /// for its cache entry.
    Facts(ModuleFacts, Option<(String, Option<cache::Stamp>, String)>),
    /// The file was analysed anew, whole: it is not what was analysed before, or could not be read.
    Whole(Outcome),
}

impl Completion {
    fn new(plans: usize, files: usize, threads: Option<usize>) -> Completion {
        Completion {
            whole: (0..plans).map(|_| None).collect(),
            pool: None,
            threads,
            rounds: 0,
            completed: vec![false; files],
        }
    }

    /// Reads the functions `missing` names (file index → qualified names; every unparsed function of
    /// a file completed before, or of an empty list) and adds their facts to their files' outcomes,
    /// whose cache entries are brought up to date: same findings, more facts.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        engines: &Engines,
        files: &[discover::Candidate],
        plan_of: &[usize],
        outcomes: &mut [Outcome],
        missing: &BTreeMap<usize, BTreeSet<String>>,
        now: std::time::SystemTime,
        overlay: &Overlay,
    ) -> Result<()> {
        for &i in missing.keys() {
            let plan = plan_of[i];
            self.whole[plan].get_or_insert_with(|| engines[plan].0.whole());
        }
        if self.pool.is_none() {
            let built = rayon::ThreadPoolBuilder::new().num_threads(self.threads.unwrap_or(0)).build();
            self.pool = Some(built.context("cannot start worker threads")?);
        }
        self.rounds += 1;
        let again: Vec<bool> = missing.keys().map(|&i| std::mem::replace(&mut self.completed[i], true)).collect();
        let whole = &self.whole;
        let before: &[Outcome] = outcomes;
        let jobs: Vec<((&usize, &BTreeSet<String>), bool)> = missing.iter().zip(again).collect();
        let done: Vec<(usize, Completed)> = self.pool.as_ref().expect("just built").install(|| {
            jobs.par_iter()
                .map_init(engine::new_parser, |parser, &((&i, names), again)| {
                    let plan = plan_of[i];
                    let (engine, cache, limit) = &engines[plan];
                    let names = (!again && !names.is_empty()).then_some(names);
                    let job = Job { file: &files[i], names, cache: cache.as_ref(), now, limit: *limit, overlay };
                    let whole = whole[plan].as_ref().expect("made above");
                    (i, job.complete(engine, whole, parser, &before[i]))
                })
                .collect()
        });
        for (i, completed) in done {
            match completed {
                Completed::Whole(mut outcome) => {
                    std::sync::Arc::make_mut(&mut outcome.analysis.facts).model.blanked.clear();
                    outcome.from_cache = outcomes[i].from_cache;
                    outcomes[i] = outcome;
                }
                Completed::Facts(part, entry) => {
                    let o = &mut outcomes[i];
                    std::sync::Arc::make_mut(&mut o.analysis.facts).model.complete_with(part);
                    match (&mut o.update, entry) {
                        (Some((_, e)), _) => e.analysis.facts = o.analysis.facts.clone(),
                        (None, Some((key, stamp, hash))) => {
                            let (analysis, notes) = (o.analysis.clone(), o.notes.clone());
                            let display = files[i].rel.clone();
                            o.update = Some((key, cache::Entry { stamp, hash, display, analysis, notes }));
                        }
                        (None, None) => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// One file to complete.
struct Job<'a> {
    file: &'a discover::Candidate,
    /// The functions to read; `None`: every unparsed one.
    names: Option<&'a BTreeSet<String>>,
    cache: Option<&'a cache::Cache>,
    now: std::time::SystemTime,
    limit: u64,
    overlay: &'a Overlay,
}

impl Job<'_> {
    /// The facts of the functions asked for, read from the bytes analysed before (`before`); when the
    /// file is no longer those bytes, or cannot be read, or the reading panics, a whole analysis.
    fn complete(
        &self,
        engine: &engine::Engine,
        whole: &engine::Engine,
        parser: &mut tree_sitter::Parser,
        before: &Outcome,
    ) -> Completed {
        let anew = |parser: &mut tree_sitter::Parser| {
            Completed::Whole(match overlaid(self.overlay, self.file) {
                Some(bytes) => from_overlay(whole, parser, self.file, bytes, self.limit),
                None => obtain(whole, parser, self.file, self.cache, self.now, self.limit, false),
            })
        };
        let overlaid = overlaid(self.overlay, self.file);
        // Looked at before the bytes are read, as `obtain` does: a stamp never vouches for later bytes.
        let meta = self.cache.filter(|_| overlaid.is_none()).and_then(|_| std::fs::metadata(&self.file.path).ok());
        let read;
        let bytes: &[u8] = match overlaid {
            Some(bytes) => bytes,
            None => match safe_fs::read_regular(&self.file.path, safe_fs::Symlinks::Follow, self.limit) {
                Ok(bytes) => {
                    read = bytes;
                    &read
                }
                Err(_) => return anew(parser),
            },
        };
        // The hash of the bytes analysed before, when the cache knows it.
        let key = self.cache.filter(|_| overlaid.is_none()).and_then(|_| cache_key(&self.file.path));
        let known = match &before.update {
            Some((_, e)) => Some(e.hash.clone()),
            None => key.as_deref().and_then(|k| self.cache?.get(k)).map(|e| e.hash.clone()),
        };
        let hash = key.as_ref().map(|_| cache::content_hash(bytes));
        if known.is_some() && hash != known {
            return anew(parser);
        }
        let (src, _) = source::SourceFile::decode(self.file.path.clone(), self.file.rel.clone(), bytes);
        if source::indentation_exceeds(&src.text, source::MAX_INDENT_LEVELS) {
            return anew(parser); // not what was analysed (that is never completed): say why, as a scan does
        }
        let keep = |name: &str| {
            self.names.is_none_or(|names| names.contains(name))
                || name.rsplit_once('.').is_some_and(|(_, m)| SETUP_METHODS.contains(&m))
        };
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.model_facts(parser, &src, &keep)));
        let Ok(part) = read else {
            *parser = engine::new_parser();
            return anew(parser);
        };
        let stamp = meta.and_then(|m| cache::Stamp::of(&m, self.now));
        let entry = key.zip(hash).map(|(key, hash)| (key, stamp, hash));
        Completed::Facts(part, entry)
    }
}

/// What [`parse_only`] measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParseFloor {
    pub files: usize,
    pub bytes: usize,
    pub nodes: usize,
}

/// The benchmark floor: reads, decodes, parses and walks (with a `TreeCursor`, visiting every node)
/// every file, running no rule. What a tree-sitter front end that parses everything cannot go below.
pub fn parse_only(files: &[discover::Candidate], threads: Option<usize>, limit: u64) -> Result<ParseFloor> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let counts: Vec<ParseFloor> = pool.install(|| {
        files
            .par_iter()
            .map_init(engine::new_parser, |parser, file| {
                let Ok(bytes) = safe_fs::read_regular(&file.path, safe_fs::Symlinks::Follow, limit) else {
                    return ParseFloor::default();
                };
                let (src, _) = source::SourceFile::decode(file.path.clone(), file.rel.clone(), &bytes);
                if source::indentation_exceeds(&src.text, source::MAX_INDENT_LEVELS) {
                    return ParseFloor { files: 1, bytes: bytes.len(), nodes: 0 };
                }
                let nodes = parser.parse(src.parser_text().as_bytes(), None).map_or(0, |tree| count_nodes(&tree));
                ParseFloor { files: 1, bytes: bytes.len(), nodes }
            })
            .collect()
    });
    Ok(counts.iter().fold(ParseFloor::default(), |a, c| ParseFloor {
        files: a.files + c.files,
        bytes: a.bytes + c.bytes,
        nodes: a.nodes + c.nodes,
    }))
}

/// How many nodes `tree` has, counted on a pre-order cursor walk.
fn count_nodes(tree: &tree_sitter::Tree) -> usize {
    let mut n = 0;
    python::preorder(tree.root_node(), |_| {
        n += 1;
        python::Visit::Descend
    });
    n
}

/// The [`Analysis`] of a run: the rules that run at their levels (the document's, unless `severity`
/// overrides it), the family knobs and the parse mode. (Exclusions, per-file ignores and the test-code
/// filter act after the scan, in [`crate::triage`], and are not part of it.)
pub fn analysis(rules: &[&'static dyn Rule], settings: &Settings, full_parse: bool) -> Analysis {
    let level = |id: &str| settings.severity.get(id).copied().or_else(|| docs::get(id).map(|d| d.level));
    Analysis {
        levels: rules.iter().map(|r| (r.id(), level(r.id()).unwrap_or(Level::Warning))).collect(),
        knobs: settings.knobs.clone(),
        full_parse,
        max_file_size: settings.max_file_size.unwrap_or(source::DEFAULT_MAX_FILE_SIZE),
        known: docs::all().iter().filter_map(|d| crate::finding::rule_id_of(&d.id)).collect(),
    }
}

/// The cache key of a file: its absolute path, so runs from other directories share entries (files
/// whose path is not UTF-8 are not cached).
fn cache_key(path: &std::path::Path) -> Option<String> {
    std::path::absolute(path).ok()?.into_os_string().into_string().ok()
}

/// One file's analysis: from the cache when its metadata or content is unchanged, else by reading and
/// analysing it. An unreadable file becomes a `read-error` notification.
fn obtain(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
    cache: Option<&cache::Cache>,
    now: std::time::SystemTime,
    limit: u64,
    lookup: bool,
) -> Outcome {
    let key = cache.and_then(|_| cache_key(&file.path));
    let key = key.as_deref();
    let meta = key.and_then(|_| std::fs::metadata(&file.path).ok());
    if let (true, Some(cache), Some(key), Some(meta)) = (lookup, cache, key, &meta)
        && let Some(entry) = cache.fresh(key, meta)
    {
        return reuse(entry, file, None);
    }
    let bytes = match safe_fs::read_regular(&file.path, safe_fs::Symlinks::Follow, limit) {
        Ok(bytes) => bytes,
        Err(e) => {
            let notes = vec![e.notification(&file.display)];
            return Outcome { analysis: Default::default(), notes, update: None, from_cache: false };
        }
    };
    let (Some(cache), Some(key)) = (cache, key) else {
        let (analysis, notes) = analyse_bytes(engine, parser, file, &bytes);
        return Outcome { analysis, notes, update: None, from_cache: false };
    };
    let hash = cache::content_hash(&bytes);
    let stamp = meta.as_ref().and_then(|m| cache::Stamp::of(m, now));
    if let Some(entry) = cache.get(key).filter(|e| lookup && e.hash == hash) {
        return reuse(entry, file, Some((key, stamp)));
    }
    let (analysis, notes) = analyse_bytes(engine, parser, file, &bytes);
    // A crash inside a rule is not a result worth keeping: the next run tries again.
    let update = (!notes.iter().any(|n| n.id == "internal-error")).then(|| {
        let entry =
            cache::Entry { stamp, hash, display: file.rel.clone(), analysis: analysis.clone(), notes: notes.clone() };
        (key.to_string(), entry)
    });
    Outcome { analysis, notes, update, from_cache: false }
}

/// The overlaid contents of `file`, if any.
fn overlaid<'o>(overlay: &'o Overlay, file: &discover::Candidate) -> Option<&'o Vec<u8>> {
    if overlay.is_empty() {
        return None;
    }
    std::path::absolute(&file.path).ok().and_then(|p| overlay.get(&p))
}

/// One file's analysis from overlaid contents (bounded by the size limit like a file on disk).
fn from_overlay(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
    bytes: &[u8],
    limit: u64,
) -> Outcome {
    if bytes.len() as u64 > limit {
        let e = safe_fs::ReadError::TooLarge { size: bytes.len() as u64, limit };
        let notes = vec![e.notification(&file.display)];
        return Outcome { analysis: Default::default(), notes, update: None, from_cache: false };
    }
    let (analysis, notes) = analyse_bytes(engine, parser, file, bytes);
    Outcome { analysis, notes, update: None, from_cache: false }
}

/// A cached analysis, re-fingerprinted if the file is displayed under another path this time. `restamp`
/// (key, new stamp): the content matched but the metadata changed, so the entry is refreshed.
fn reuse(entry: &cache::Entry, file: &discover::Candidate, restamp: Option<(&str, Option<cache::Stamp>)>) -> Outcome {
    let mut analysis = entry.analysis.clone();
    let mut notes = entry.notes.clone();
    if entry.display != file.rel {
        engine::finish(&file.rel, &mut analysis.findings);
    }
    for n in &mut notes {
        n.path = Some(file.display.clone());
    }
    let update = restamp.map(|(key, stamp)| {
        let entry = cache::Entry {
            stamp,
            display: file.rel.clone(),
            analysis: analysis.clone(),
            notes: notes.clone(),
            ..entry.clone()
        };
        (key.to_string(), entry)
    });
    Outcome { analysis, notes, update, from_cache: true }
}

/// Decodes, parses and analyses the contents of one file. Never panics outward: a panic inside a rule
/// becomes an `internal-error` notification (and a fresh parser), so the scan goes on. Deferred
/// findings (those waiting on the project index) are left in the analysis for [`scan`] to resolve.
pub fn analyse_bytes(
    engine: &engine::Engine,
    parser: &mut tree_sitter::Parser,
    file: &discover::Candidate,
    bytes: &[u8],
) -> (engine::FileAnalysis, Vec<Notification>) {
    let note =
        |id, level, line, message: String| Notification { id, level, path: Some(file.display.clone()), line, message };
    let (src, decode) = source::SourceFile::decode(file.path.clone(), file.rel.clone(), bytes);
    let mut notes = Vec::new();
    match decode {
        Some(source::DecodeNote::InvalidUtf8 { byte_offset }) => notes.push(note(
            "decode-error",
            Level::Warning,
            None,
            format!("not valid UTF-8 (first bad byte at offset {byte_offset}); analysed with replacement characters"),
        )),
        Some(source::DecodeNote::UnknownEncoding { name }) => notes.push(note(
            "decode-error",
            Level::Warning,
            None,
            format!("unknown source encoding `{name}`; analysed as UTF-8 with replacement characters"),
        )),
        None => {}
    }
    if source::indentation_exceeds(&src.text, source::MAX_INDENT_LEVELS) {
        notes.push(note(
            "too-deep",
            Level::Warning,
            None,
            format!(
                "indentation nested more than {} levels deep; not analysed (the Python grammar cannot track it)",
                source::MAX_INDENT_LEVELS
            ),
        ));
        return (Default::default(), notes);
    }
    let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.analyse(parser, &src)));
    match analysed {
        Ok(Some(a)) => {
            if let Some(e) = a.syntax_errors {
                notes.push(note(
                    "syntax-error",
                    Level::Warning,
                    Some(e.first_line),
                    format!(
                        "syntax error at line {}, column {} ({} error node{}); the rest of the file was analysed",
                        e.first_line,
                        e.first_column,
                        e.count,
                        if e.count == 1 { "" } else { "s" }
                    ),
                ));
            }
            (a, notes)
        }
        Ok(None) => {
            notes.push(note("parse-error", Level::Error, None, "the parser gave up on this file".into()));
            (Default::default(), notes)
        }
        Err(panic) => {
            *parser = engine::new_parser();
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            notes.push(note("internal-error", Level::Error, None, format!("internal error while analysing: {what}")));
            (Default::default(), notes)
        }
    }
}
