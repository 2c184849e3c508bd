//! Parse once, walk once: the per-file analysis. Each file is parsed with tree-sitter-python, then one
//! iterative pre-order walk with a `TreeCursor` hands every node to the rules registered for its kind
//! (a dispatch table indexed by node kind id), and to the gatherers the rules name; a gatherer that
//! asks for it hears when the walk has left a node (tracked by depth: no parent lookups). Syntax errors
//! are collected on the same walk.
//!
//! With selective parsing on ([`Engine::with_selective`]), tree-sitter parses the text with every
//! function no enabled rule can report in blanked (see [`crate::prune`]); rules still read the original.

use crate::checker::{Checker, Gatherer, Rule, WalkKinds};
use crate::config::Analysis;
use crate::finding::{Finding, assign_fingerprints};
use crate::model::facts::ModuleFacts;
use crate::model::index::{Deferred, FileFacts};
use crate::python;
use crate::source::SourceFile;
use crate::suppress::{self, Comment};
use tree_sitter::{Node, Parser};

/// A new parser for Python. One per thread: parsers are not shareable.
pub fn new_parser() -> Parser {
    use_mimalloc_in_tree_sitter();
    let mut parser = Parser::new();
    // The grammar crate is built for this tree-sitter version; a mismatch is a build defect.
    parser.set_language(&python::language()).expect("tree-sitter-python matches the tree-sitter ABI");
    parser
}

/// Makes tree-sitter's C core allocate with mimalloc instead of the C library's malloc. Building and
/// freeing a syntax tree is a storm of small allocations (`malloc`/`free` were 11 % of a neutron scan's
/// profile). Runs once, before the first parser exists, so nothing tree-sitter allocated with one
/// allocator is ever freed by the other.
fn use_mimalloc_in_tree_sitter() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};
        // SAFETY: called once, before any parser, tree or cursor exists (every parser is made by
        // `new_parser`, which runs this first); the four functions are a matching malloc family.
        unsafe { tree_sitter::set_allocator(Some(mi_malloc), Some(mi_calloc), Some(mi_realloc), Some(mi_free)) };
    });
}

/// The first syntax error of a file and how many error nodes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyntaxErrors {
    pub first_line: usize,
    pub first_column: usize,
    pub count: usize,
}

/// What analysing one file produced (cached as is: see [`crate::cache`]).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileAnalysis {
    /// Findings in source order, fingerprinted.
    pub findings: Vec<Finding>,
    pub syntax_errors: Option<SyntaxErrors>,
    /// Facts for the project model (see [`crate::model`]); shared, so a cached analysis handed to
    /// the scan does not copy every function's facts.
    pub facts: std::sync::Arc<FileFacts>,
    /// Findings that stand only if the project index confirms their condition; not yet fingerprinted.
    pub deferred: Vec<Deferred>,
    /// Function definitions in the file (see [`SourceFile::function_count`]): the review's scope.
    pub functions: usize,
}

/// The selected rules, indexed by the node kinds they want, and the analysis settings they read.
pub struct Engine {
    dispatch: Vec<Vec<&'static dyn Rule>>,
    /// The gatherers the rules name (each once), by node kind id like `dispatch`.
    gathering: Vec<Vec<&'static dyn Gatherer>>,
    /// The gatherers that want to hear when the walk leaves a node, by its kind id.
    leaving: Vec<Vec<&'static dyn Gatherer>>,
    kinds: WalkKinds,
    rules: Vec<&'static dyn Rule>,
    enabled: Vec<&'static str>,
    analysis: Analysis,
    /// The enabled rules' triggers; `None`: every file is parsed whole.
    selector: Option<crate::prune::Selector>,
}

impl Engine {
    /// Builds the dispatch table for `rules`; selective parsing is on unless `analysis.full_parse`.
    pub fn new(rules: &[&'static dyn Rule], analysis: Analysis) -> Engine {
        let lang = python::language();
        let mut dispatch: Vec<Vec<&'static dyn Rule>> =
            vec![Vec::new(); usize::from(lang.node_kind_count() as u16) + 1];
        for &rule in rules {
            for kind in rule.node_kinds() {
                let id = lang.id_for_node_kind(kind, true);
                debug_assert!(id != 0, "{}: unknown node kind `{kind}`", rule.id());
                if let Some(slot) = dispatch.get_mut(usize::from(id)).filter(|_| id != 0) {
                    slot.push(rule);
                }
            }
        }
        let mut gathering: Vec<Vec<&'static dyn Gatherer>> = vec![Vec::new(); dispatch.len()];
        let mut leaving = gathering.clone();
        let mut gatherers: Vec<&'static dyn Gatherer> =
            rules.iter().flat_map(|r| r.gatherers().iter().copied()).collect();
        gatherers.sort_by_key(|g| g.name());
        gatherers.dedup_by_key(|g| g.name());
        for g in gatherers {
            for kind in g.node_kinds() {
                let id = lang.id_for_node_kind(kind, true);
                if let Some(slot) = gathering.get_mut(usize::from(id)).filter(|_| id != 0) {
                    slot.push(g);
                }
            }
            for kind in g.leave_kinds() {
                let id = lang.id_for_node_kind(kind, true);
                if let Some(slot) = leaving.get_mut(usize::from(id)).filter(|_| id != 0) {
                    slot.push(g);
                }
            }
        }
        let kinds = WalkKinds {
            comment: lang.id_for_node_kind("comment", true),
            function: lang.id_for_node_kind("function_definition", true),
            class: lang.id_for_node_kind("class_definition", true),
        };
        let triggers: Vec<crate::prune::Triggers> = rules.iter().map(|r| r.triggers()).collect();
        Engine {
            dispatch,
            gathering,
            leaving,
            kinds,
            rules: rules.to_vec(),
            enabled: rules.iter().map(|r| r.id()).collect(),
            selector: if analysis.full_parse { None } else { crate::prune::Selector::new(&triggers) },
            analysis,
        }
    }

    /// The same engine with selective parsing off: every function parsed, so the project model gets
    /// the facts of all of them.
    pub fn whole(&self) -> Engine {
        Engine::new(&self.rules, Analysis { full_parse: true, ..self.analysis.clone() })
    }

    /// Parses and analyses one file. Returns `None` only if tree-sitter gives up (it does not on
    /// well-formed calls; kept for safety).
    pub fn analyse(&self, parser: &mut Parser, src: &SourceFile) -> Option<FileAnalysis> {
        let parser_text = src.parser_text();
        let pruned = self.selector.as_ref().and_then(|s| s.prune(parser_text.as_bytes()));
        let (tree, blanked) = parse(parser, parser_text.as_bytes(), pruned)?;
        let root = tree.root_node();
        let mut cx = Checker::new(src, root, &self.analysis);
        // Known before the walk: a gatherer counts a call to an unparsed function as one the model
        // can follow, as it would in a whole parse.
        cx.model.blanked = blanked;
        let Walked { syntax, comments } = self.walk(root, &mut cx, true);
        // Deferred findings (kept or dropped by the project index later) are silenced the same way.
        let all = cx.findings.iter_mut().chain(cx.deferred.iter_mut().map(|d| &mut d.finding));
        cx.bad_suppressions = suppress::apply(all, &comments, &self.enabled, &self.analysis.known);
        for rule in &self.rules {
            rule.after_walk(&mut cx);
        }
        for f in cx.findings.iter_mut().chain(cx.deferred.iter_mut().map(|d| &mut d.finding)) {
            f.scope = cx.scopes.qualified_at(f.span.start_byte);
        }
        let mut findings = cx.findings;
        finish(&src.display, &mut findings);
        let mut facts = cx.facts;
        if self.gathering.iter().any(|g| !g.is_empty()) {
            facts.model = cx.model;
            facts.model.sort_names();
        }
        let functions = src.function_count();
        let facts = std::sync::Arc::new(facts);
        Some(FileAnalysis { findings, syntax_errors: syntax, facts, deferred: cx.deferred, functions })
    }

    /// The project model's facts of the functions `keep` picks (outermost definitions, by qualified
    /// name), with every other function left unparsed: no rule runs. What completing the model asks
    /// of a file whose functions a question reaches (see `crate::scan`). Module-level code and class
    /// bodies are parsed as always, so imports, aliases and class bases are the file's own.
    pub fn model_facts(&self, parser: &mut Parser, src: &SourceFile, keep: &dyn Fn(&str) -> bool) -> ModuleFacts {
        let parser_text = src.parser_text();
        let Some((tree, blanked)) =
            parse(parser, parser_text.as_bytes(), crate::prune::keep_only(parser_text.as_bytes(), keep))
        else {
            return ModuleFacts::default();
        };
        let root = tree.root_node();
        let mut cx = Checker::new(src, root, &self.analysis);
        cx.model.blanked = blanked;
        self.walk(root, &mut cx, false);
        cx.model.sort_names();
        cx.model
    }

    /// The one walk over a file's tree: every node to the gatherers that want its kind and, with
    /// `rules`, to the rules; comments and syntax errors noted on the way.
    fn walk<'t>(&self, root: Node<'t>, cx: &mut Checker<'t>, rules: bool) -> Walked {
        let src = cx.src;
        let mut syntax: Option<SyntaxErrors> = None;
        let mut comments: Vec<Comment> = Vec::new();
        let header_end = python::statements(root).next().map_or(usize::MAX, |n| n.start_byte());
        let mut cursor = root.walk();
        // Nodes a gatherer wants to hear the end of, with their depth, innermost last: the walk has
        // left one when it visits a node no deeper than it (a later sibling, or an ancestor's).
        let mut open: Vec<(Node<'_>, usize, &[&dyn Gatherer])> = Vec::new();
        let mut depth = 0usize;
        'walk: loop {
            let node = cursor.node();
            let kind = node.kind_id();
            while let Some(&(left, _, gatherers)) = open.last().filter(|(_, d, _)| *d >= depth) {
                open.pop();
                gatherers.iter().for_each(|g| g.leave(left, cx));
            }
            cx.scopes.enter(node, kind, &self.kinds, &src.text);
            cx.depth = depth;
            if rules {
                if node.is_error() || node.is_missing() {
                    let pos = src.position(node.start_byte());
                    let e =
                        syntax.get_or_insert(SyntaxErrors { first_line: pos.line, first_column: pos.column, count: 0 });
                    e.count += 1;
                }
                if kind == self.kinds.comment {
                    comments.push(comment(node, src, header_end));
                }
            }
            if let Some(gatherers) = self.gathering.get(usize::from(kind)) {
                for g in gatherers {
                    g.gather(node, cx);
                }
            }
            if let Some(rules) = self.dispatch.get(usize::from(kind)).filter(|_| rules) {
                for rule in rules {
                    rule.check(node, cx);
                }
            }
            if let Some(gatherers) = self.leaving.get(usize::from(kind)).filter(|g| !g.is_empty()) {
                open.push((node, depth, gatherers));
            }
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
                depth -= 1;
            }
        }
        while let Some((left, _, gatherers)) = open.pop() {
            gatherers.iter().for_each(|g| g.leave(left, cx));
        }
        Walked { syntax, comments }
    }
}

/// What the walk noted besides what the rules and gatherers did.
struct Walked {
    syntax: Option<SyntaxErrors>,
    comments: Vec<Comment>,
}

/// Parses `text`, blanked as `pruned` says when it says anything, and the names of the functions left
/// unparsed. A blanked text that parses with an error is parsed again whole: the full parse decides
/// what an error means (and reports it where it is).
fn parse(
    parser: &mut Parser,
    text: &[u8],
    pruned: Option<crate::prune::Pruned>,
) -> Option<(tree_sitter::Tree, Vec<String>)> {
    let parsed = match &pruned {
        Some(p) => parse_pruned(parser, p),
        None => parser.parse(text, None),
    };
    let tree = parsed?;
    let blanked = pruned.map(|p| p.blanked_names).unwrap_or_default();
    if !blanked.is_empty() && tree.root_node().has_error() {
        return Some((parser.parse(text, None)?, Vec::new()));
    }
    Some((tree, blanked))
}

/// Parses a blanked text, lexing only its included ranges (the blanked functions' spaces are skipped,
/// not lexed: tree-sitter-python's scanner takes about as long over a blank line as over a comment).
/// Leaves the parser set to parse whole documents again.
pub fn parse_pruned(parser: &mut Parser, pruned: &crate::prune::Pruned) -> Option<tree_sitter::Tree> {
    if parser.set_included_ranges(&pruned.included_ranges()).is_err() {
        return parser.parse(&pruned.text, None);
    }
    let tree = parser.parse(&pruned.text, None);
    // An empty list means the whole document, which is always valid.
    let _ = parser.set_included_ranges(&[]);
    tree
}

/// Puts one file's findings in source order and fingerprints them. Run again after kept deferred
/// findings join a file's list, so fingerprints never depend on what the project index dropped.
pub fn finish(display: &str, findings: &mut [Finding]) {
    findings.sort_by(|a, b| (a.span.start_byte, a.rule).cmp(&(b.span.start_byte, b.rule)));
    assign_fingerprints(display, findings);
}

fn comment(node: Node<'_>, src: &SourceFile, header_end: usize) -> Comment {
    let pos = src.position(node.start_byte());
    let before = src.text.get(src.line_start(pos.line)..node.start_byte()).unwrap_or("");
    Comment {
        start_byte: node.start_byte(),
        end_byte: node.end_byte(),
        line: pos.line,
        own_line: before.trim().is_empty(),
        in_header: node.start_byte() < header_end,
        text: python::text(node, &src.text).to_string(),
    }
}
