//! The project model: what every file of the project says about its functions, linked into one call
//! graph, with summaries that lift facts through calls.
//!
//! Plain data. Each file's [`facts::ModuleFacts`] are gathered on its single walk and cached with its
//! findings; after the scan, [`ProjectModel::new`] names every module (from its path and the
//! `__init__.py` packages around it) and [`ProjectModel::resolve`] decides the deferred findings whose
//! verdict depends on a callee (see [`index::Condition`]):
//!
//! - **Link**: a call's symbolic callee (`f`, `mod.f`, `self.m`, `self.attr.m`, `super().m`, `Cls.m`)
//!   is resolved through the module's imports (absolute, relative, aliased), module-level aliases, the
//!   class hierarchy across files (bases defined in the project, depth-first), and `self.attr` assigned
//!   from a project class in `__init__`/`start`. What cannot be resolved stays unresolved: the rules
//!   then keep today's verdict — the model never guesses.
//! - **Summaries**: on demand, for the functions reachable from the calls a deferred finding asks
//!   about, by a worklist to the least fixpoint (facts only grow, so the result does not depend on the
//!   order): a function *raises* when every path ends in `raise` or in a call that raises; *re-raises*
//!   parameter `i` when it raises it or passes it to a function that re-raises it; *waits* when it, or
//!   anything it calls, sleeps; *logs* parameter `i` when it logs it or passes it on to a function that
//!   does; *elevates* when it returns an elevated or admin context, or the result of a function that
//!   does; *writes with* context parameter `i` when it hands it to a write or to a function that writes
//!   with it; *checks* parameter `i` when it hands it to an authorization check or to a function that
//!   checks it. Past a work budget every answer is *unknown* and the findings that depend on it are
//!   dropped.
//! - **Completeness**: selective parsing leaves functions no rule reports in unparsed; their names are
//!   known (`blanked`), their facts are not. [`ProjectModel::incomplete`] names the unparsed functions
//!   a question reaches along the calls its answer depends on (a question about a logged parameter
//!   follows only the calls that pass it on: see [`Need`]); `scan` reads them and asks again, so
//!   answers equal a full parse's.

pub mod facts;
pub mod index;

use crate::finding::{Finding, Related, Span};
use facts::{FunctionFacts, ModuleFacts};
use index::{CallRef, Condition, Deferred, ProjectIndex};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How deep a chain of re-exports, aliases or bases is followed.
const MAX_DEPTH: usize = 16;
/// How many classes a class hierarchy may hold before lookups give up.
const MAX_MRO: usize = 64;
/// How many steps a flow through helpers shows.
const MAX_TRAIL: usize = 8;

/// A function of the project: (file index, qualified name).
pub type FnId<'f> = (usize, &'f str);

/// Where a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'f> {
    /// A project function; `bound`: called through an instance or class, so `self`/`cls` is implicit.
    Function(FnId<'f>, bool),
    /// A function selective parsing left unparsed: (file, its qualified name).
    Blanked(usize, &'f str),
    /// A project function with nothing to summarise: every question about it is answered "no".
    Trivial(usize, &'f str),
    /// Not resolved (a library, a builtin, a dynamic call).
    Unknown,
}

/// What a symbolic name resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symbol<'f> {
    Function(FnId<'f>),
    Class(usize, &'f str),
    Blanked(usize, &'f str),
    /// A function with nothing to summarise (see `ModuleFacts::trivial`).
    Trivial(usize, &'f str),
}

/// Why a function has a fact: here, or through one of its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why<'f> {
    Here(Span),
    /// Call number `call` of the function, to `callee`.
    Call(usize, FnId<'f>),
}

/// A function's facts, lifted through its calls.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary<'f> {
    pub raises: Option<Why<'f>>,
    pub reraises: BTreeMap<u8, Why<'f>>,
    pub waits: Option<Why<'f>>,
    pub logs: BTreeMap<u8, Why<'f>>,
    pub elevates: Option<Why<'f>>,
    pub writes: BTreeMap<u8, Why<'f>>,
    pub checks: BTreeMap<u8, Why<'f>>,
}

/// One file as the model sees it.
struct File<'f> {
    display: &'f str,
    module: &'f str,
    facts: &'f ModuleFacts,
}

impl<'f> File<'f> {
    /// The function named `name` that selective parsing left unparsed, if any.
    fn blanked(&self, name: &str) -> Option<&'f str> {
        let facts: &'f ModuleFacts = self.facts;
        facts.blanked_name(name)
    }

    /// The function named `name` that has nothing to summarise, if any.
    fn trivial(&self, name: &str) -> Option<&'f str> {
        let facts: &'f ModuleFacts = self.facts;
        facts.trivial_name(name)
    }
}

/// The dotted module name of every file of a scan, from the paths: a file's package is the chain of
/// directories around it holding an `__init__.py` among the files. Named once per scan; each link of
/// the model (one per completion round) borrows them.
pub struct Modules {
    names: Vec<String>,
    /// Dotted module name → file (`None`: two files claim it, so neither is used).
    files: HashMap<String, Option<usize>>,
}

impl Modules {
    pub fn new(paths: &[&Path]) -> Modules {
        let absolute: Vec<PathBuf> = paths.iter().map(|p| std::path::absolute(p).unwrap_or(p.to_path_buf())).collect();
        let inits: HashSet<&Path> = absolute
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "__init__.py"))
            .filter_map(|p| p.parent())
            .collect();
        let names: Vec<String> = absolute.iter().map(|path| module_name(path, &inits)).collect();
        let mut files: HashMap<String, Option<usize>> = HashMap::new();
        for (i, module) in names.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
            files.entry(module.clone()).and_modify(|m| *m = None).or_insert(Some(i));
        }
        Modules { names, files }
    }
}

/// The linked project: every file's facts, the module names, and the cross-file index.
pub struct ProjectModel<'f> {
    pub index: ProjectIndex,
    files: Vec<File<'f>>,
    /// Dotted module name → file (`None`: two files claim it, so neither is used).
    modules: &'f HashMap<String, Option<usize>>,
}

/// The summaries of the functions reachable from some calls.
pub struct Summaries<'f> {
    summaries: HashMap<FnId<'f>, Summary<'f>>,
    /// The work budget ran out: every answer is unknown.
    pub unknown: bool,
}

impl<'f> ProjectModel<'f> {
    /// Links the files: `files[i]` is (display path, module facts) of the file `modules` names `i`.
    pub fn new(index: ProjectIndex, modules: &'f Modules, files: Vec<(&'f str, &'f ModuleFacts)>) -> ProjectModel<'f> {
        let files = files
            .into_iter()
            .zip(&modules.names)
            .map(|((display, facts), module)| File { display, module, facts })
            .collect();
        ProjectModel { index, files, modules: &modules.files }
    }

    /// The module name of file `file`.
    pub fn module(&self, file: usize) -> &str {
        self.files[file].module
    }

    /// `trunkguard inspect`'s report on `what` (`PATH::func` or `module.func`): see
    /// [`ProjectModel::inspect`]; a function with nothing to summarise gets one line saying so.
    pub fn describe(&self, what: &str) -> Option<String> {
        if let Some(id) = self.find(what) {
            return Some(self.inspect(id));
        }
        let (file, name) = self.locate(what, |f, name| self.files[f].trivial(name))?;
        Some(format!(
            "{} ({})\n  calls nothing the model can follow and does nothing it summarises: every question about it is answered \"no\"\n",
            self.qualified((file, name)),
            self.display(file)
        ))
    }

    /// The function `what` names, found with `get` in the file it names.
    fn locate(&self, what: &str, get: impl Fn(usize, &str) -> Option<&'f str>) -> Option<FnId<'f>> {
        if let Some((path, func)) = what.rsplit_once("::") {
            let file = self.files.iter().position(|f| f.display == path || Path::new(f.display).ends_with(path))?;
            return get(file, func).map(|n| (file, n));
        }
        let parts: Vec<&str> = what.split('.').collect();
        (1..parts.len()).rev().find_map(|k| {
            let file = (*self.modules.get(&parts[..k].join("."))?)?;
            get(file, &parts[k..].join(".")).map(|n| (file, n))
        })
    }

    /// The function `what` names (`PATH::func` or `module.func`), if it has facts.
    pub fn find(&self, what: &str) -> Option<FnId<'f>> {
        self.locate(what, |f, name| self.files[f].facts.functions.get_key_value(name).map(|(k, _)| k.as_str()))
    }

    /// The facts of a function.
    pub fn function(&self, id: FnId<'f>) -> &'f FunctionFacts {
        &self.files[id.0].facts.functions[id.1]
    }

    /// The display path of a file.
    pub fn display(&self, file: usize) -> &'f str {
        self.files[file].display
    }

    fn lookup(&self, file: usize, name: &str) -> Option<Symbol<'f>> {
        let facts = self.files[file].facts;
        if let Some((k, _)) = facts.functions.get_key_value(name) {
            return Some(Symbol::Function((file, k.as_str())));
        }
        if let Some((k, _)) = facts.classes.get_key_value(name) {
            return Some(Symbol::Class(file, k.as_str()));
        }
        if let Some(n) = self.files[file].trivial(name) {
            return Some(Symbol::Trivial(file, n));
        }
        self.files[file].blanked(name).map(|n| Symbol::Blanked(file, n))
    }

    /// What `name` (dotted, as written in file `file`) names.
    fn symbol(&self, file: usize, name: &str, depth: usize) -> Option<Symbol<'f>> {
        self.symbol_of(file, name, depth, true)
    }

    /// [`ProjectModel::symbol`]; with `members` false, a name that goes through a class's member
    /// (`Cls.m`) names nothing — how bases are read, so that looking up a base never looks up a
    /// member, which would look up bases again.
    fn symbol_of(&self, file: usize, name: &str, depth: usize, members: bool) -> Option<Symbol<'f>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let facts = self.files[file].facts;
        let (first, rest) = name.split_once('.').map_or((name, None), |(f, r)| (f, Some(r)));
        if let Some(found) = self.lookup(file, first) {
            return match (found, rest) {
                (found, None) => Some(found),
                (Symbol::Class(f, c), Some(rest)) if members && !rest.contains('.') => self.member(f, c, rest),
                _ => None,
            };
        }
        if let Some(target) = facts.aliases.get(first) {
            let full = rest.map_or(target.clone(), |r| format!("{target}.{r}"));
            return self.symbol_of(file, &full, depth + 1, members);
        }
        let target = facts.imports.get(first)?;
        let absolute = self.absolute(file, target)?;
        let full = rest.map_or(absolute.clone(), |r| format!("{absolute}.{r}"));
        self.global(&full, depth + 1, members)
    }

    /// What a fully qualified dotted name names: the longest module prefix, then a name in it.
    fn global(&self, full: &str, depth: usize, members: bool) -> Option<Symbol<'f>> {
        let mut split = full.len();
        while let Some(at) = full[..split].rfind('.') {
            if let Some(Some(file)) = self.modules.get(&full[..at]) {
                return self.symbol_of(*file, &full[at + 1..], depth + 1, members);
            }
            split = at;
        }
        None
    }

    /// Makes a relative import absolute against file `file`'s package.
    fn absolute(&self, file: usize, target: &str) -> Option<String> {
        let dots = target.len() - target.trim_start_matches('.').len();
        if dots == 0 {
            return Some(target.to_string());
        }
        let f = &self.files[file];
        let is_package = f.facts_is_init();
        let mut package: Vec<&str> = f.module.split('.').collect();
        if !is_package {
            package.pop();
        }
        for _ in 1..dots {
            package.pop()?;
        }
        let rest = &target[dots..];
        if !rest.is_empty() {
            package.push(rest);
        }
        Some(package.join("."))
    }

    /// Method `name` of class `class` (in file `file`), looked up along its bases.
    fn member(&self, file: usize, class: &'f str, name: &str) -> Option<Symbol<'f>> {
        for (f, c) in self.mro(file, class)? {
            if let Some(found) = self.lookup(f, &format!("{c}.{name}")) {
                return Some(found);
            }
        }
        None
    }

    /// The class and its project bases, depth-first left to right (bases outside the project are left
    /// out: a method only they define is not found, so the call stays unresolved); `None` past
    /// [`MAX_MRO`] classes.
    fn mro(&self, file: usize, class: &'f str) -> Option<Vec<(usize, &'f str)>> {
        let mut out: Vec<(usize, &'f str)> = Vec::new();
        let mut stack = vec![(file, class)];
        while let Some((f, c)) = stack.pop() {
            if out.contains(&(f, c)) {
                continue;
            }
            if out.len() >= MAX_MRO {
                return None;
            }
            out.push((f, c));
            let Some(facts) = self.files[f].facts.classes.get(c) else { continue };
            for base in facts.bases.iter().rev() {
                if let Some(Symbol::Class(bf, bc)) = self.symbol_of(f, base, 0, false) {
                    stack.push((bf, bc));
                }
            }
        }
        Some(out)
    }

    /// The class enclosing function `scope` of file `file` (through nested functions), if any.
    fn class_of(&self, file: usize, scope: &str) -> Option<&'f str> {
        let facts = self.files[file].facts;
        let mut prefix = scope;
        loop {
            if let Some(f) = facts.functions.get(prefix) {
                if let Some(c) = &f.class {
                    return facts.classes.get_key_value(c.as_str()).map(|(k, _)| k.as_str());
                }
            } else if let Some((k, _)) = facts.classes.get_key_value(prefix) {
                return Some(k.as_str());
            }
            prefix = &prefix[..prefix.rfind('.')?];
        }
    }

    /// Where the call `callee` made in function `scope` of file `file` goes.
    pub fn target(&self, file: usize, scope: &str, callee: &str) -> Target<'f> {
        let to = |s: Option<Symbol<'f>>, bound: bool| match s {
            Some(Symbol::Function(id)) => {
                let f = self.function(id);
                let classmethod = f.decorators.iter().any(|d| d == "classmethod");
                Target::Function(id, bound || classmethod)
            }
            Some(Symbol::Blanked(f, n)) => Target::Blanked(f, n),
            Some(Symbol::Trivial(f, n)) => Target::Trivial(f, n),
            _ => Target::Unknown,
        };
        let parts: Vec<&str> = callee.split('.').collect();
        match parts.as_slice() {
            ["self" | "cls", m] => match self.class_of(file, scope) {
                Some(c) => to(self.member(file, c, m), true),
                None => Target::Unknown,
            },
            ["super()", m] => {
                let Some(c) = self.class_of(file, scope) else { return Target::Unknown };
                let Some(mro) = self.mro(file, c) else { return Target::Unknown };
                let found = mro.iter().skip(1).find_map(|(f, c)| self.lookup(*f, &format!("{c}.{m}")));
                to(found, true)
            }
            ["self", attr, m] => match self.attr_class(file, scope, attr) {
                Ok(Some((f, c))) => to(self.member(f, c, m), true),
                Ok(None) => Target::Unknown,
                Err((f, n)) => Target::Blanked(f, n),
            },
            [name] => to(self.symbol(file, name, 0), false),
            _ => {
                let symbol = self.symbol(file, callee, 0);
                to(symbol, false)
            }
        }
    }

    /// The project class `self.attr` holds in function `scope` (assigned `X(...)` in the class body or
    /// in `__init__`/`start`/`initialize` of a class along the bases). `Err`: a function the answer
    /// depends on (one of those methods, or what the assignment calls) is unparsed.
    fn attr_class(&self, file: usize, scope: &str, attr: &str) -> Result<Option<(usize, &'f str)>, (usize, &'f str)> {
        let Some(class) = self.class_of(file, scope) else { return Ok(None) };
        let Some(mro) = self.mro(file, class) else { return Ok(None) };
        for (f, c) in mro {
            let facts = self.files[f].facts;
            for init in facts::SETUP_METHODS {
                if let Some(n) = self.files[f].blanked(&format!("{c}.{init}")) {
                    return Err((f, n));
                }
            }
            let Some(written) = facts.classes.get(c).and_then(|k| k.attrs.get(attr)) else { continue };
            return Ok(match self.symbol(f, written, 0) {
                Some(Symbol::Class(cf, cc)) => Some((cf, cc)),
                Some(Symbol::Blanked(b, n)) => return Err((b, n)),
                _ => None,
            });
        }
        Ok(None)
    }

    /// The targets of every call of function `id`, in order.
    fn callees(&self, id: FnId<'f>) -> Vec<Target<'f>> {
        self.function(id).calls.iter().map(|c| self.target(id.0, id.1, &c.callee)).collect()
    }

    /// The unparsed functions (file, qualified name) the calls of `deferred` (file, condition) reach
    /// along the calls their answers depend on: reading them completes the model for these questions.
    pub fn incomplete(&self, deferred: &[(usize, &'f Deferred)]) -> BTreeSet<(usize, &'f str)> {
        let mut missing = BTreeSet::new();
        let roots = self.roots(deferred, &mut missing);
        self.reach(&roots, &mut missing);
        missing
    }

    /// The functions the deferred findings' calls reach directly, each with what its question needs.
    fn roots(
        &self,
        deferred: &[(usize, &Deferred)],
        missing: &mut BTreeSet<(usize, &'f str)>,
    ) -> Vec<(FnId<'f>, Need)> {
        let mut roots = Vec::new();
        for (file, d) in deferred {
            for (call, ask) in questions_of(&d.condition) {
                match self.target(*file, &d.finding.scope, &call.callee) {
                    Target::Function(id, bound) => {
                        let param = || call.arg.as_ref().and_then(|a| self.function(id).param_of(a, bound));
                        roots.extend(ask.of(param).into_iter().map(|n| (id, n)));
                    }
                    Target::Blanked(f, n) => {
                        missing.insert((f, n));
                    }
                    Target::Trivial(..) | Target::Unknown => {}
                }
            }
        }
        roots
    }

    /// The functions reachable from `roots` along the calls their needs depend on (see [`Need`]), with
    /// each one's call targets. A call to an unparsed function on the way adds its file to `missing`.
    fn reach(
        &self,
        roots: &[(FnId<'f>, Need)],
        missing: &mut BTreeSet<(usize, &'f str)>,
    ) -> BTreeMap<FnId<'f>, Vec<Target<'f>>> {
        let mut graph: BTreeMap<FnId<'f>, Vec<Target<'f>>> = BTreeMap::new();
        let mut seen: HashSet<(FnId<'f>, Need)> = HashSet::new();
        let mut stack: Vec<(FnId<'f>, Need)> = roots.to_vec();
        while let Some((id, need)) = stack.pop() {
            if !seen.insert((id, need)) {
                continue;
            }
            let targets = graph.entry(id).or_insert_with(|| self.callees(id));
            for (call, t) in self.function(id).calls.iter().zip(targets.iter()) {
                match t {
                    Target::Function(next, bound) => {
                        let param_of = |arg: &facts::Arg| self.function(*next).param_of(arg, *bound);
                        stack.extend(need.through(call, param_of).into_iter().map(|n| (*next, n)));
                    }
                    Target::Blanked(f, n) if !need.through(call, |_| Some(0)).is_empty() => {
                        missing.insert((*f, *n));
                    }
                    _ => {}
                }
            }
        }
        graph
    }

    /// The summaries of the functions reachable from `roots`: a worklist to the least fixpoint. Exact
    /// for what each root needs (the facts a function has only through calls its need does not follow
    /// may be missing from its summary).
    pub fn summaries(&self, roots: &[(FnId<'f>, Need)]) -> Summaries<'f> {
        let graph = self.reach(roots, &mut BTreeSet::new());
        let mut callers: HashMap<FnId<'f>, Vec<FnId<'f>>> = HashMap::new();
        for (id, targets) in &graph {
            for t in targets {
                if let Target::Function(callee, _) = t {
                    callers.entry(*callee).or_default().push(*id);
                }
            }
        }
        let mut summaries: HashMap<FnId<'f>, Summary<'f>> = HashMap::new();
        let mut work: Vec<FnId<'f>> = graph.keys().copied().collect();
        let mut queued: HashSet<FnId<'f>> = work.iter().copied().collect();
        let mut budget = 64 * graph.len() + 1024;
        while let Some(id) = work.pop() {
            queued.remove(&id);
            if budget == 0 {
                return Summaries { summaries: HashMap::new(), unknown: true };
            }
            budget -= 1;
            let next = self.step(id, &graph[&id], &summaries);
            if summaries.get(&id) != Some(&next) {
                summaries.insert(id, next);
                for caller in callers.get(&id).into_iter().flatten() {
                    if queued.insert(*caller) {
                        work.push(*caller);
                    }
                }
            }
        }
        Summaries { summaries, unknown: false }
    }

    /// One function's summary from its own facts and its callees' current summaries.
    fn step(&self, id: FnId<'f>, targets: &[Target<'f>], known: &HashMap<FnId<'f>, Summary<'f>>) -> Summary<'f> {
        let f = self.function(id);
        let here = |s: &Span| Why::Here(*s);
        let mut s = Summary {
            raises: f.local.raises.as_ref().map(here),
            reraises: f.local.reraises.iter().map(|(p, at)| (*p, here(at))).collect(),
            waits: f.local.waits.as_ref().map(here),
            logs: f.local.logs.iter().map(|(p, at)| (*p, here(at))).collect(),
            elevates: f.local.elevates.as_ref().map(here),
            writes: f.local.writes.iter().map(|(p, at)| (*p, here(at))).collect(),
            checks: f.local.checks.iter().map(|(p, at)| (*p, here(at))).collect(),
        };
        for (i, (call, target)) in f.calls.iter().zip(targets).enumerate() {
            let Target::Function(callee, bound) = target else { continue };
            let Some(c) = known.get(callee) else { continue };
            let via = Why::Call(i, *callee);
            let callee_facts = self.function(*callee);
            if call.every_path && c.raises.is_some() {
                s.raises.get_or_insert(via);
            }
            if c.waits.is_some() {
                s.waits.get_or_insert(via);
            }
            if call.returned && c.elevates.is_some() {
                s.elevates.get_or_insert(via);
            }
            for (arg, param) in &call.args {
                let Some(q) = callee_facts.param_of(arg, *bound) else { continue };
                if call.every_path && c.reraises.contains_key(&q) {
                    s.reraises.entry(*param).or_insert(via);
                }
                if c.logs.contains_key(&q) {
                    s.logs.entry(*param).or_insert(via);
                }
                if c.writes.contains_key(&q) {
                    s.writes.entry(*param).or_insert(via);
                }
                if c.checks.contains_key(&q) {
                    s.checks.entry(*param).or_insert(via);
                }
            }
        }
        s
    }

    /// The deferred finding of file `file`, completed, if its condition holds (`summaries` must cover
    /// its calls: see [`ProjectModel::question_roots`]).
    pub fn resolve(&self, file: usize, deferred: Deferred, summaries: &Summaries<'f>) -> Option<Finding> {
        let Deferred { condition, mut finding } = deferred;
        let target = |call: &CallRef| match self.target(file, &finding.scope, &call.callee) {
            Target::Function(id, bound) => Some((id, bound, summaries.summaries.get(&id)?)),
            _ => None,
        };
        let param = |id: FnId<'f>, bound: bool, call: &CallRef| {
            call.arg.as_ref().and_then(|a| self.function(id).param_of(a, bound))
        };
        match &condition {
            Condition::SecretOption(_) | Condition::UnregisteredPolicy(_) => {
                return self.index.resolve(Deferred { condition, finding });
            }
            _ if summaries.unknown => return None,
            Condition::UnlessRaises(calls) => {
                let stops = calls.iter().any(|call| {
                    target(call).is_some_and(|(id, bound, s)| {
                        s.raises.is_some() || param(id, bound, call).is_some_and(|p| s.reraises.contains_key(&p))
                    })
                });
                if stops {
                    return None;
                }
            }
            Condition::UnlessWaits(calls) => {
                if calls.iter().any(|call| target(call).is_some_and(|(_, _, s)| s.waits.is_some())) {
                    return None;
                }
            }
            Condition::IfLogs(call) => {
                let (id, bound, s) = target(call)?;
                let p = param(id, bound, call)?;
                s.logs.get(&p)?;
                let name = self.function(id).params.get(usize::from(p)).cloned().unwrap_or_default();
                let trail = self.param_trail(call, (id, p), summaries, |s| &s.logs, "logs it here")?;
                self.credit(&mut finding, id, trail);
                finding.message = finding.message.replace("{param}", &name);
            }
            Condition::IfWrites { calls, guards } => {
                let checked = guards.iter().any(|call| {
                    target(call)
                        .is_some_and(|(id, bound, s)| param(id, bound, call).is_some_and(|p| s.checks.contains_key(&p)))
                });
                if checked {
                    return None;
                }
                let (call, id, p) = calls.iter().find_map(|call| {
                    let (id, bound, s) = target(call)?;
                    let p = param(id, bound, call).filter(|p| s.writes.contains_key(p))?;
                    Some((call, id, p))
                })?;
                let trail = self.param_trail(call, (id, p), summaries, |s| &s.writes, "writes with it here")?;
                self.credit(&mut finding, id, trail);
            }
            Condition::IfElevates(call) => {
                let (id, _, s) = target(call)?;
                let why = s.elevates?;
                let next_fact = |_: FnId<'f>, _: usize, next: FnId<'f>| summaries.summaries.get(&next)?.elevates;
                let trail = self.trail(call, id, why, next_fact, "returns an elevated context here");
                self.credit(&mut finding, id, trail);
            }
        }
        Some(finding)
    }

    /// A finding kept because of helper `id`: the flow through the helpers, the `helper` property and
    /// the message's `{helper}`.
    fn credit(&self, finding: &mut Finding, id: FnId<'f>, trail: Vec<Related>) {
        finding.flow.extend(trail);
        finding.properties.insert("helper".into(), self.qualified(id));
        finding.message = finding.message.replace("{helper}", &self.qualified(id));
    }

    /// The code flow of a fact about parameter `param` of `first` (`fact`: which map of the summary),
    /// following the parameter through each call the fact goes through; `None` if `first` lacks it.
    fn param_trail(
        &self,
        call: &CallRef,
        (first, mut param): (FnId<'f>, u8),
        summaries: &Summaries<'f>,
        fact: for<'s> fn(&'s Summary<'f>) -> &'s BTreeMap<u8, Why<'f>>,
        end: &str,
    ) -> Option<Vec<Related>> {
        let why = *fact(summaries.summaries.get(&first)?).get(&param)?;
        let next_fact = |cur: FnId<'f>, i: usize, next: FnId<'f>| {
            let q = self.passed_on(cur, i, next, param)?;
            param = q;
            fact(summaries.summaries.get(&next)?).get(&q).copied()
        };
        Some(self.trail(call, first, why, next_fact, end))
    }

    /// The parameter of `next` that call number `i` of `cur` binds to `cur`'s parameter `param`.
    fn passed_on(&self, cur: FnId<'f>, i: usize, next: FnId<'f>, param: u8) -> Option<u8> {
        let site = &self.function(cur).calls[i];
        let bound = matches!(self.target(cur.0, cur.1, &site.callee), Target::Function(_, true));
        site.args.iter().filter(|(_, a)| *a == param).find_map(|(arg, _)| self.function(next).param_of(arg, bound))
    }

    /// `module.Class.function` of a project function.
    pub fn qualified(&self, id: FnId<'f>) -> String {
        let module = self.files[id.0].module;
        if module.is_empty() { id.1.to_string() } else { format!("{module}.{}", id.1) }
    }

    /// The code flow from the call `call` through helpers to where the fact holds.
    fn trail(
        &self,
        call: &CallRef,
        first: FnId<'f>,
        why: Why<'f>,
        mut next_fact: impl FnMut(FnId<'f>, usize, FnId<'f>) -> Option<Why<'f>>,
        end: &str,
    ) -> Vec<Related> {
        let mut steps =
            vec![Related { span: call.span, message: format!("calls `{}`", self.qualified(first)), path: None }];
        let (mut id, mut why) = (first, why);
        for _ in 0..MAX_TRAIL {
            let path = Some(self.files[id.0].display.to_string());
            match why {
                Why::Here(span) => {
                    steps.push(Related { span, message: format!("`{}` {end}", self.qualified(id)), path });
                    break;
                }
                Why::Call(i, next) => {
                    let span = self.function(id).calls[i].span;
                    steps.push(Related { span, message: format!("which calls `{}`", self.qualified(next)), path });
                    let Some(w) = next_fact(id, i, next) else { break };
                    (id, why) = (next, w);
                }
            }
        }
        steps
    }

    /// The functions the deferred findings' calls reach directly, with what each question needs (the
    /// roots for [`ProjectModel::summaries`]).
    pub fn question_roots(&self, deferred: &[(usize, &Deferred)]) -> Vec<(FnId<'f>, Need)> {
        self.roots(deferred, &mut BTreeSet::new())
    }

    /// A report of one function for `trunkguard inspect`: its calls and where they go, and its summary.
    pub fn inspect(&self, id: FnId<'f>) -> String {
        use std::fmt::Write;
        let f = self.function(id);
        let summaries = self.summaries(&[(id, Need::Everything)]);
        let mut out = String::new();
        let _ = writeln!(out, "{} ({}:{})", self.qualified(id), self.display(id.0), f.span.start.line);
        let _ = writeln!(out, "  parameters: {}", f.params.join(", "));
        let _ = writeln!(out, "  calls:");
        for (call, target) in f.calls.iter().zip(self.callees(id)) {
            let to = match target {
                Target::Function(t, _) => {
                    format!("{} ({}:{})", self.qualified(t), self.display(t.0), self.function(t).span.start.line)
                }
                Target::Blanked(file, _) => format!("unparsed in {}", self.display(file)),
                Target::Trivial(file, name) => {
                    format!("{} ({}; nothing to summarise)", self.qualified((file, name)), self.display(file))
                }
                Target::Unknown => "unresolved".to_string(),
            };
            let _ = writeln!(out, "    line {}: {} -> {to}", call.span.start.line, call.callee);
        }
        let s = summaries.summaries.get(&id).cloned().unwrap_or_default();
        let params = |m: &BTreeMap<u8, Why<'f>>| {
            let names: Vec<&str> = m.keys().filter_map(|p| f.params.get(usize::from(*p)).map(String::as_str)).collect();
            if names.is_empty() { "no".to_string() } else { names.join(", ") }
        };
        let _ = writeln!(out, "  summary:");
        let _ = writeln!(out, "    raises on every path: {}", yes(s.raises.is_some()));
        let _ = writeln!(out, "    re-raises parameters: {}", params(&s.reraises));
        let _ = writeln!(out, "    waits: {}", yes(s.waits.is_some()));
        let _ = writeln!(out, "    logs parameters: {}", params(&s.logs));
        let _ = writeln!(out, "    returns an elevated context: {}", yes(s.elevates.is_some()));
        let _ = writeln!(out, "    writes with context parameters: {}", params(&s.writes));
        let _ = writeln!(out, "    checks policy on parameters: {}", params(&s.checks));
        if summaries.unknown {
            let _ = writeln!(out, "    (work budget exceeded: unknown)");
        }
        out
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl File<'_> {
    fn facts_is_init(&self) -> bool {
        Path::new(self.display).file_name().is_some_and(|n| n == "__init__.py")
    }
}

/// The calls a condition asks about, and what it asks of each (the parameter still to be bound).
fn questions_of(condition: &Condition) -> Vec<(&CallRef, Ask)> {
    fn each(calls: &[CallRef], ask: Ask) -> Vec<(&CallRef, Ask)> {
        calls.iter().map(|c| (c, ask)).collect()
    }
    match condition {
        Condition::UnlessRaises(calls) => each(calls, Ask::Raises),
        Condition::UnlessWaits(calls) => each(calls, Ask::Waits),
        Condition::IfWrites { calls, guards } => [each(calls, Ask::Writes), each(guards, Ask::Checks)].concat(),
        Condition::IfLogs(call) => vec![(call, Ask::Logs)],
        Condition::IfElevates(call) => vec![(call, Ask::Elevates)],
        Condition::SecretOption(_) | Condition::UnregisteredPolicy(_) => Vec::new(),
    }
}

/// What a condition asks of the function a call reaches, before the call's argument is bound to one
/// of its parameters.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// Raises on every path, or re-raises the parameter the argument binds.
    Raises,
    Waits,
    Logs,
    Elevates,
    Writes,
    Checks,
}

impl Ask {
    /// The needs of the question about a function whose parameter `param()` the call's argument binds.
    fn of(self, param: impl Fn() -> Option<u8>) -> Vec<Need> {
        match self {
            Ask::Raises => [Some(Need::Raises), param().map(Need::Reraises)].into_iter().flatten().collect(),
            Ask::Waits => vec![Need::Waits],
            Ask::Elevates => vec![Need::Elevates],
            Ask::Logs => param().map(Need::Logs).into_iter().collect(),
            Ask::Writes => param().map(Need::Writes).into_iter().collect(),
            Ask::Checks => param().map(Need::Checks).into_iter().collect(),
        }
    }
}

/// What a question needs to know of a function, and so which of its calls the answer depends on (the
/// model follows only those, and completes only the files they reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// Every fact (`trunkguard inspect`): every call.
    Everything,
    /// Raises on every path: the calls on every path.
    Raises,
    /// Re-raises parameter `i`: the calls on every path that pass it on.
    Reraises(u8),
    /// Waits on some path: every call.
    Waits,
    /// Logs parameter `i`: the calls that pass it on.
    Logs(u8),
    /// Returns an elevated context: the calls whose value it returns.
    Elevates,
    /// Writes with context parameter `i`: the calls that pass it on.
    Writes(u8),
    /// Checks the caller's rights on parameter `i`: the calls that pass it on.
    Checks(u8),
}

impl Need {
    /// What the answer needs of the function `call` reaches, whose parameter an argument binds as
    /// `param_of` says: nothing if the answer does not depend on the call.
    fn through(self, call: &facts::CallSite, param_of: impl Fn(&facts::Arg) -> Option<u8>) -> Vec<Need> {
        let passed = |p: u8, need: fn(u8) -> Need| {
            call.args.iter().filter(|(_, a)| *a == p).filter_map(|(arg, _)| param_of(arg)).map(need).collect()
        };
        match self {
            Need::Everything => vec![Need::Everything],
            Need::Waits => vec![Need::Waits],
            Need::Raises if call.every_path => vec![Need::Raises],
            Need::Reraises(p) if call.every_path => passed(p, Need::Reraises),
            Need::Logs(p) => passed(p, Need::Logs),
            Need::Elevates if call.returned => vec![Need::Elevates],
            Need::Writes(p) => passed(p, Need::Writes),
            Need::Checks(p) => passed(p, Need::Checks),
            Need::Raises | Need::Reraises(_) | Need::Elevates => Vec::new(),
        }
    }
}

/// `pkg.sub.mod` for `…/pkg/sub/mod.py` when `pkg` and `sub` hold an `__init__.py` (`pkg.sub` for
/// `…/pkg/sub/__init__.py`); a file outside packages is named by its stem.
fn module_name(path: &Path, packages: &HashSet<&Path>) -> String {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { return String::new() };
    let mut parts: Vec<&str> = Vec::new();
    if stem != "__init__" {
        parts.push(stem);
    }
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| packages.contains(d)) {
        let Some(name) = d.file_name().and_then(|n| n.to_str()) else { break };
        parts.push(name);
        dir = d.parent();
        if parts.len() > 64 {
            break;
        }
    }
    parts.reverse();
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_follows_only_the_calls_its_answer_depends_on() {
        use facts::{Arg, CallSite};
        let call = |args: Vec<(Arg, u8)>, every_path: bool, returned: bool| CallSite {
            callee: "h".into(),
            args,
            every_path,
            returned,
            ..CallSite::default()
        };
        let bind = |arg: &Arg| match arg {
            Arg::Position(i) => Some(*i + 10),
            Arg::Keyword(_) => Some(7),
        };
        let passes_1 = call(vec![(Arg::Position(0), 1), (Arg::Keyword("k".into()), 2)], false, false);
        assert_eq!(Need::Logs(1).through(&passes_1, bind), [Need::Logs(10)]);
        assert_eq!(Need::Writes(2).through(&passes_1, bind), [Need::Writes(7)]);
        assert_eq!(Need::Checks(3).through(&passes_1, bind), []);
        assert_eq!(Need::Reraises(1).through(&passes_1, bind), [], "not on every path");
        assert_eq!(Need::Raises.through(&passes_1, bind), []);
        assert_eq!(Need::Elevates.through(&passes_1, bind), []);
        assert_eq!(Need::Waits.through(&passes_1, bind), [Need::Waits]);
        let tail = call(vec![(Arg::Position(1), 0)], true, true);
        assert_eq!(Need::Raises.through(&tail, bind), [Need::Raises]);
        assert_eq!(Need::Reraises(0).through(&tail, bind), [Need::Reraises(11)]);
        assert_eq!(Need::Elevates.through(&tail, bind), [Need::Elevates]);
        assert_eq!(Need::Everything.through(&tail, |_| None), [Need::Everything]);
    }

    #[test]
    fn module_names_follow_packages() {
        let pkg = Path::new("/r/pkg");
        let sub = Path::new("/r/pkg/sub");
        let packages: HashSet<&Path> = [pkg, sub].into_iter().collect();
        assert_eq!(module_name(Path::new("/r/pkg/sub/m.py"), &packages), "pkg.sub.m");
        assert_eq!(module_name(Path::new("/r/pkg/sub/__init__.py"), &packages), "pkg.sub");
        assert_eq!(module_name(Path::new("/r/tools/x.py"), &packages), "x");
    }
}
