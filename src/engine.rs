//! Parse once, walk once: the per-file analysis. Each file is parsed with tree-sitter-python, then one
//! iterative pre-order walk with a `TreeCursor` hands every node to the rules registered for its kind
//! (a dispatch table indexed by node kind id). Syntax errors are collected on the same walk.
//!
//! With selective parsing on ([`Engine::with_selective`]), tree-sitter parses the text with every
//! function no enabled rule can report in blanked (see [`crate::prune`]); rules still read the original.

use crate::config::Settings;
use crate::finding::{Finding, Related, Span, assign_fingerprints};
use crate::index::{Deferred, FileFacts};
use crate::python::fields;
use crate::python::{self, Imports};
use crate::rules::{Rule, docs};
use crate::source::SourceFile;
use crate::suppress::{self, Comment};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use tree_sitter::{Language, Node, Parser};

/// The tree-sitter-python language.
pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

/// A new parser for Python. One per thread: parsers are not shareable.
pub fn new_parser() -> Parser {
    use_mimalloc_in_tree_sitter();
    let mut parser = Parser::new();
    // The grammar crate is built for this tree-sitter version; a mismatch is a build defect.
    parser.set_language(&language()).expect("tree-sitter-python matches the tree-sitter ABI");
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
    /// Facts for the project index (see [`crate::index`]).
    pub facts: FileFacts,
    /// Findings that stand only if the project index confirms their condition; not yet fingerprinted.
    pub deferred: Vec<Deferred>,
}

/// The selected rules, indexed by the node kinds they want, and the settings they read.
pub struct Engine {
    dispatch: Vec<Vec<&'static dyn Rule>>,
    kinds: WalkKinds,
    enabled: Vec<&'static str>,
    settings: Settings,
    /// The enabled rules' triggers; `None`: every file is parsed whole.
    selector: Option<crate::prune::Selector>,
    triggers: Vec<crate::prune::Triggers>,
}

/// Node kind ids the walk tests on every node (ids, not `Node::kind()` strings, which cost a `strlen`,
/// a UTF-8 check and a comparison each).
struct WalkKinds {
    comment: u16,
    function: u16,
    class: u16,
}

/// The rule id of unused-suppression findings, reported by the suppression stage.
pub const UNUSED_SUPPRESSION: &str = "TG001";

impl Engine {
    /// Builds the dispatch table for `rules`.
    pub fn new(rules: &[&'static dyn Rule], settings: Settings) -> Engine {
        let lang = language();
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
        let kinds = WalkKinds {
            comment: lang.id_for_node_kind("comment", true),
            function: lang.id_for_node_kind("function_definition", true),
            class: lang.id_for_node_kind("class_definition", true),
        };
        Engine {
            dispatch,
            kinds,
            enabled: rules.iter().map(|r| r.id()).collect(),
            settings,
            selector: None,
            triggers: rules.iter().map(|r| r.triggers()).collect(),
        }
    }

    /// Turns selective parsing on or off (off by default): when on, functions that hold none of the
    /// enabled rules' triggers are blanked before parsing. Findings are the same either way.
    pub fn with_selective(mut self, on: bool) -> Engine {
        self.selector = if on { crate::prune::Selector::new(&self.triggers) } else { None };
        self
    }

    /// Does rule `id` run?
    pub fn is_enabled(&self, id: &str) -> bool {
        self.enabled.contains(&id)
    }

    /// Parses and analyses one file. Returns `None` only if tree-sitter gives up (it does not on
    /// well-formed calls; kept for safety).
    pub fn analyse(&self, parser: &mut Parser, src: &SourceFile) -> Option<FileAnalysis> {
        let parser_text = src.parser_text();
        let pruned = self.selector.as_ref().and_then(|s| s.prune(parser_text.as_bytes()));
        let parsed = match &pruned {
            Some(p) => parse_pruned(parser, p),
            None => parser.parse(parser_text.as_bytes(), None),
        };
        let mut tree = parsed?;
        if pruned.is_some() && tree.root_node().has_error() {
            // The full parse decides what an error means (and reports it where it is).
            tree = parser.parse(parser_text.as_bytes(), None)?;
        }
        let root = tree.root_node();
        let mut cx = Checker::new(src, root, &self.settings);
        let mut syntax: Option<SyntaxErrors> = None;
        let mut comments: Vec<Comment> = Vec::new();
        let header_end = python::statements(root).next().map_or(usize::MAX, |n| n.start_byte());
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            let kind = node.kind_id();
            cx.scopes.enter(node, kind, &self.kinds, &src.text);
            if node.is_error() || node.is_missing() {
                let pos = src.position(node.start_byte());
                let e = syntax.get_or_insert(SyntaxErrors { first_line: pos.line, first_column: pos.column, count: 0 });
                e.count += 1;
            }
            if kind == self.kinds.comment {
                comments.push(comment(node, src, header_end));
            }
            if let Some(rules) = self.dispatch.get(usize::from(kind)) {
                for rule in rules {
                    rule.check(node, &mut cx);
                }
            }
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        // Deferred findings (kept or dropped by the project index later) are silenced the same way.
        let all = cx.findings.iter_mut().chain(cx.deferred.iter_mut().map(|d| &mut d.finding));
        let unused = suppress::apply(all, &comments, &|id| self.is_enabled(id));
        if self.is_enabled(UNUSED_SUPPRESSION) {
            for u in unused {
                let what = if u.selectors == ["ALL"] { "any rule".to_string() } else { u.selectors.join(", ") };
                let message = format!(
                    "`{}` silences nothing: no {what} finding here. Remove the comment, or correct the rule id.",
                    u.directive
                );
                cx.report_range(UNUSED_SUPPRESSION, u.start_byte, u.end_byte, message);
            }
        }
        for f in cx.findings.iter_mut().chain(cx.deferred.iter_mut().map(|d| &mut d.finding)) {
            f.scope = cx.scopes.qualified_at(f.span.start_byte);
        }
        let mut findings = cx.findings;
        finish(&src.display, &mut findings);
        Some(FileAnalysis { findings, syntax_errors: syntax, facts: cx.facts, deferred: cx.deferred })
    }
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

/// A function or class definition met on the walk.
#[derive(Debug, Clone)]
struct ScopeDef {
    start_byte: usize,
    end_byte: usize,
    /// `Class.method.inner`.
    qualified: String,
    /// Index of the enclosing definition in [`Scopes::defs`].
    parent: Option<usize>,
}

/// The function and class definitions of a file, recorded in pre-order on the single walk, so that
/// "which function encloses this byte" never needs `Node::parent()` (which tree-sitter answers by
/// descending from the root: a chain of them is quadratic in the nesting depth).
#[derive(Debug, Default)]
pub struct Scopes {
    defs: Vec<ScopeDef>,
    /// Definitions enclosing the node being visited, innermost last.
    open: Vec<usize>,
}

impl Scopes {
    /// Called for every node in pre-order: closes definitions the walk has left, opens a new one.
    fn enter(&mut self, node: Node<'_>, kind: u16, kinds: &WalkKinds, src: &str) {
        while self.open.last().is_some_and(|&top| node.start_byte() >= self.defs[top].end_byte) {
            self.open.pop();
        }
        if kind != kinds.function && kind != kinds.class {
            return;
        }
        let Some(name) = node.child_by_field_id(fields::name()).map(|n| python::text(n, src)) else { return };
        let parent = self.open.last().copied();
        let qualified = match parent {
            Some(p) => format!("{}.{name}", self.defs[p].qualified),
            None => name.to_string(),
        };
        self.defs.push(ScopeDef { start_byte: node.start_byte(), end_byte: node.end_byte(), qualified, parent });
        self.open.push(self.defs.len() - 1);
    }

    /// The qualified name of the innermost definition containing `byte` among those recorded so far
    /// (after the walk: all of them), or `<module>`.
    pub fn qualified_at(&self, byte: usize) -> String {
        let mut candidate = self.defs.partition_point(|d| d.start_byte <= byte).checked_sub(1);
        while let Some(i) = candidate {
            let d = &self.defs[i];
            if byte < d.end_byte {
                return d.qualified.clone();
            }
            candidate = d.parent;
        }
        "<module>".to_string()
    }
}

/// What a rule sees of the file under analysis, and where it reports.
pub struct Checker<'a> {
    /// The file being analysed.
    pub src: &'a SourceFile,
    /// The module's import aliases.
    pub imports: Imports,
    /// Module-level names bound from `getLogger(...)`.
    pub loggers: Vec<String>,
    /// Function and class definitions met so far (findings' scopes are assigned from it).
    scopes: Scopes,
    /// The run's settings (family knobs, severity overrides).
    pub settings: &'a Settings,
    /// The module node: the start of every descent (see [`python::ancestors`]).
    root: Node<'a>,
    findings: Vec<Finding>,
    facts: FileFacts,
    deferred: Vec<Deferred>,
    /// Per-file scratch space, one value per type: lets a rule family reuse work across `check`
    /// calls on the same file (the TG3xx in-function flow is computed once per function).
    scratch: HashMap<TypeId, Box<dyn Any>>,
}

impl<'a> Checker<'a> {
    fn new(src: &'a SourceFile, root: Node<'a>, settings: &'a Settings) -> Checker<'a> {
        Checker {
            src,
            imports: Imports::collect(root, &src.text),
            loggers: python::module_loggers(root, &src.text),
            scopes: Scopes::default(),
            settings,
            root,
            findings: Vec::new(),
            facts: FileFacts::default(),
            deferred: Vec::new(),
            scratch: HashMap::new(),
        }
    }

    /// Takes this file's scratch value of type `T` (a default one the first time). Put it back with
    /// [`Checker::put_scratch`]; taking it out lets the caller borrow the checker meanwhile.
    pub fn take_scratch<T: Default + 'static>(&mut self) -> T {
        self.scratch.remove(&TypeId::of::<T>()).and_then(|b| b.downcast::<T>().ok()).map_or_else(T::default, |b| *b)
    }

    /// Stores this file's scratch value of type `T`.
    pub fn put_scratch<T: 'static>(&mut self, value: T) {
        self.scratch.insert(TypeId::of::<T>(), Box::new(value));
    }

    /// Records that this file declares the oslo.config option `name` with `secret=True`.
    pub fn declare_secret_option(&mut self, name: &str) {
        self.facts.secret_options.insert(crate::index::option_key(name));
    }

    /// Like [`Checker::report_range`], but the finding stands only if the oslo.config option `option`
    /// is declared `secret=True` somewhere in the scanned tree (decided by `lib::scan`).
    pub fn report_deferred(
        &mut self,
        option: &str,
        rule: &'static str,
        start: usize,
        end: usize,
        message: String,
    ) -> &mut Finding {
        self.report_range(rule, start, end, message);
        let finding = self.findings.pop().expect("just pushed");
        self.deferred.push(Deferred { option: crate::index::option_key(option), finding });
        &mut self.deferred.last_mut().expect("just pushed").finding
    }

    /// The module node of the file under analysis.
    pub fn root(&self) -> Node<'a> {
        self.root
    }

    /// The ancestors of `node`, outermost first (one descent from the root; see [`python::ancestors`]).
    pub fn ancestors<'t>(&self, node: Node<'t>) -> Vec<Node<'t>>
    where
        'a: 't,
    {
        python::ancestors(self.root, node)
    }

    /// The innermost function definition enclosing `node` (one descent from the root).
    pub fn enclosing_function<'t>(&self, node: Node<'t>) -> Option<Node<'t>>
    where
        'a: 't,
    {
        python::enclosing_function(self.root, node)
    }

    /// The file's text (tree byte offsets index into it).
    pub fn text(&self) -> &'a str {
        &self.src.text
    }

    /// The text of `node`.
    pub fn node_text(&self, node: Node<'_>) -> &'a str {
        python::text(node, &self.src.text)
    }

    /// The resolved span of a byte range.
    pub fn span(&self, start_byte: usize, end_byte: usize) -> Span {
        Span { start_byte, end_byte, start: self.src.position(start_byte), end: self.src.position(end_byte) }
    }

    /// The resolved span of a node.
    pub fn node_span(&self, node: Node<'_>) -> Span {
        self.span(node.start_byte(), node.end_byte())
    }

    /// A related location with a message.
    pub fn related(&self, node: Node<'_>, message: impl Into<String>) -> Related {
        Related { span: self.node_span(node), message: message.into() }
    }

    /// Reports a finding of rule `rule` on the byte range `start..end`. Returns it so the rule can
    /// add related locations or properties. Its scope is the definition enclosing `start`.
    pub fn report_range(&mut self, rule: &'static str, start: usize, end: usize, message: String) -> &mut Finding {
        let level = self.settings.severity.get(rule).copied().or_else(|| docs::get(rule).map(|d| d.level));
        let level = level.unwrap_or(crate::finding::Level::Warning);
        let snippet = self.src.text.get(start..end).unwrap_or("").to_string();
        let span = self.span(start, end);
        let last = span.end.line.min(span.start.line + 2);
        let lines = (span.start.line..=last).map(|l| self.src.line_text(l).to_string()).collect();
        self.findings.push(Finding {
            rule,
            level,
            message,
            span,
            snippet,
            lines,
            scope: String::new(), // assigned after the walk, from `scopes`
            related: Vec::new(),
            flow: Vec::new(),
            properties: BTreeMap::new(),
            fingerprint: String::new(),
            suppressed: None,
            baseline: None,
        });
        self.findings.last_mut().expect("just pushed")
    }

    /// Reports a finding of rule `rule` covering `node`.
    pub fn report(&mut self, rule: &'static str, node: Node<'_>, message: String) -> &mut Finding {
        self.report_range(rule, node.start_byte(), node.end_byte(), message)
    }
}
