//! What a rule sees and how it reports: the [`Rule`] trait, the per-file [`Checker`] and the scopes the
//! walk records. This layer sits between the engine (which drives the walk and owns the dispatch table)
//! and the rules (which implement [`Rule`]): both see it, neither sees the other.

use crate::config::{Analysis, Knobs};
use crate::finding::{Edit, Finding, Level, Related, Span};
use crate::model::facts::ModuleFacts;
use crate::model::index::{Condition, Deferred, FileFacts};
pub use crate::prune::Triggers;
use crate::python::{self, Imports, fields};
use crate::source::SourceFile;
use crate::suppress::BadDirective;
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use tree_sitter::Node;

/// A check over one node kind (or a few). Rules know nothing of output formats.
pub trait Rule: Send + Sync {
    /// The rule id, e.g. `TG201`; its document is `rules/TG201.md`.
    fn id(&self) -> &'static str;
    /// The tree-sitter-python node kinds this rule wants to see.
    fn node_kinds(&self) -> &'static [&'static str];
    /// Called once for every node of a wanted kind, in source order.
    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>);
    /// The tokens without which this rule cannot report anything in a function (see
    /// [`crate::prune`]): a function holding none of any enabled rule's triggers is not parsed. The
    /// default keeps every function; a rule that declares triggers must be sure of them (the
    /// selective-parsing equivalence tests hold it to that).
    fn triggers(&self) -> Triggers {
        Triggers::EVERYWHERE
    }

    /// Called once per file after the walk, once suppression comments have been applied (see
    /// [`Checker::take_unused_suppressions`]). Most rules have nothing to do here.
    fn after_walk(&self, _cx: &mut Checker<'_>) {}

    /// The fact gatherers this rule's verdicts depend on (see [`Gatherer`]): the engine runs each one
    /// once per file whenever a rule that names it runs.
    fn gatherers(&self) -> &'static [&'static dyn Gatherer] {
        &[]
    }
}

/// Records facts for the project model (see [`crate::model`]) on the file's single walk: it sees the
/// nodes of its kinds, like a rule, and writes [`Checker::model`] instead of findings. What it
/// records of a function depends on that function's subtree only, so selective parsing may leave a
/// function out (its name is listed in `blanked`) but never changes what is recorded of one it kept.
pub trait Gatherer: Send + Sync {
    /// A name, unique among gatherers.
    fn name(&self) -> &'static str;
    /// The node kinds it wants to see.
    fn node_kinds(&self) -> &'static [&'static str];
    /// Called once for every node of a wanted kind, in source order, before the rules see it.
    fn gather(&self, node: Node<'_>, cx: &mut Checker<'_>);
    /// The node kinds whose end it wants to hear of (see [`Gatherer::leave`]); none by default.
    fn leave_kinds(&self) -> &'static [&'static str] {
        &[]
    }
    /// Called once for every node of a `leave_kinds` kind when the walk has left its subtree (innermost
    /// first; the ones still open when the walk ends, then), before the next node is visited.
    fn leave(&self, _node: Node<'_>, _cx: &mut Checker<'_>) {}
}

/// Node kind ids the walk tests on every node (ids, not `Node::kind()` strings, which cost a `strlen`,
/// a UTF-8 check and a comparison each).
pub(crate) struct WalkKinds {
    pub(crate) comment: u16,
    pub(crate) function: u16,
    pub(crate) class: u16,
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
    pub(crate) fn enter(&mut self, node: Node<'_>, kind: u16, kinds: &WalkKinds, src: &str) {
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
    pub(crate) scopes: Scopes,
    /// How deep the node being visited is in the tree (the module is 0; see [`Checker::depth`]).
    pub(crate) depth: usize,
    /// The family knobs of the run's configuration.
    pub knobs: &'a Knobs,
    /// The level each running rule reports at.
    levels: &'a BTreeMap<&'static str, Level>,
    /// The module node: the start of every descent (see [`python::ancestors`]).
    root: Node<'a>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) facts: FileFacts,
    /// This module's facts for the project model, written by the [`Gatherer`]s.
    pub model: ModuleFacts,
    pub(crate) deferred: Vec<Deferred>,
    /// Set by the engine after the walk: suppression comments that silence nothing.
    pub(crate) bad_suppressions: Vec<BadDirective>,
    /// Per-file scratch space, one value per type: lets a rule family reuse work across `check`
    /// calls on the same file (the TG3xx in-function flow is computed once per function). A few types
    /// per file, taken and put back on every node some gatherers see: a list, searched by type.
    scratch: Vec<(TypeId, Box<dyn Any>)>,
    /// Answers of [`Checker::mentions`], so each word is searched for once per file.
    mentioned: std::cell::RefCell<HashMap<&'static str, bool>>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(src: &'a SourceFile, root: Node<'a>, analysis: &'a Analysis) -> Checker<'a> {
        Checker {
            src,
            imports: Imports::collect(root, &src.text),
            loggers: python::module_loggers(root, &src.text),
            scopes: Scopes::default(),
            depth: 0,
            knobs: &analysis.knobs,
            levels: &analysis.levels,
            root,
            findings: Vec::new(),
            facts: FileFacts::default(),
            model: ModuleFacts::default(),
            deferred: Vec::new(),
            bad_suppressions: Vec::new(),
            scratch: Vec::new(),
            mentioned: Default::default(),
        }
    }

    /// Takes this file's scratch value of type `T` (a default one the first time). Put it back with
    /// [`Checker::put_scratch`]; taking it out lets the caller borrow the checker meanwhile.
    pub fn take_scratch<T: Default + 'static>(&mut self) -> T {
        self.scratch_slot::<T>().map(std::mem::take).unwrap_or_default()
    }

    /// Stores this file's scratch value of type `T` (in place of the one taken: no allocation).
    pub fn put_scratch<T: 'static>(&mut self, value: T) {
        match self.scratch_slot::<T>() {
            Some(slot) => *slot = value,
            None => self.scratch.push((TypeId::of::<T>(), Box::new(value))),
        }
    }

    fn scratch_slot<T: 'static>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.scratch.iter_mut().find(|(t, _)| *t == id).and_then(|(_, b)| b.downcast_mut::<T>())
    }

    /// Does the file's text contain `word` anywhere? Searched once per file and word (rules that ask
    /// it for every node of a kind stay linear).
    pub fn mentions(&self, word: &'static str) -> bool {
        *self.mentioned.borrow_mut().entry(word).or_insert_with(|| self.src.text.contains(word))
    }

    /// Records that this file declares the oslo.config option `name` with `secret=True`.
    pub fn declare_secret_option(&mut self, name: &str) {
        self.facts.secret_options.insert(crate::model::index::option_key(name));
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
        self.report_if(Condition::SecretOption(crate::model::index::option_key(option)), rule, start, end, message)
    }

    /// Records that this file registers the oslo.policy rule `name` (`*` for parts it cannot resolve)
    /// at `node`.
    pub fn declare_policy(&mut self, name: String, node: Node<'_>) {
        let span = self.node_span(node);
        self.facts.policies.entry(name).or_insert(span);
    }

    /// Like [`Checker::report`], but the finding stands only if the project registers some policy and
    /// one of `names` is not among them; `{missing}` and `{nearest}` in the message are filled in then
    /// (see [`crate::model::index::ProjectIndex::resolve`]).
    pub fn report_unless_registered(
        &mut self,
        names: Vec<String>,
        rule: &'static str,
        node: Node<'_>,
        message: String,
    ) -> &mut Finding {
        self.report_if(Condition::UnregisteredPolicy(names), rule, node.start_byte(), node.end_byte(), message)
    }

    /// The qualified name of the innermost definition around `byte` met so far on the walk (the
    /// function being visited, or its class), or `<module>`.
    pub fn scope_at(&self, byte: usize) -> String {
        self.scopes.qualified_at(byte)
    }

    /// Like [`Checker::report_range`], but the finding's fate is decided once every file has been
    /// seen, by the project index and model (see [`crate::model::ProjectModel::resolve`]).
    pub fn report_if(
        &mut self,
        condition: Condition,
        rule: &'static str,
        start: usize,
        end: usize,
        message: String,
    ) -> &mut Finding {
        self.report_range(rule, start, end, message);
        let finding = self.findings.pop().expect("just pushed");
        self.deferred.push(Deferred { condition, finding });
        &mut self.deferred.last_mut().expect("just pushed").finding
    }

    /// Takes the suppression comments of this file that silence nothing — unused, naming unknown
    /// rules, misspelt (filled in after the walk, for [`Rule::after_walk`]).
    pub fn take_bad_suppressions(&mut self) -> Vec<BadDirective> {
        std::mem::take(&mut self.bad_suppressions)
    }

    /// How deep the node being visited is in the tree: the module is 0, its statements 1. A node's
    /// children are one deeper, so comparing depths tells a direct child from a descendant.
    pub fn depth(&self) -> usize {
        self.depth
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

    /// An edit replacing the bytes `start_byte..end_byte` with `replacement` (for a finding's fix).
    pub fn edit(&self, start_byte: usize, end_byte: usize, replacement: impl Into<String>) -> Edit {
        Edit { span: self.span(start_byte, end_byte), replacement: replacement.into() }
    }

    /// A related location with a message.
    pub fn related(&self, node: Node<'_>, message: impl Into<String>) -> Related {
        Related { span: self.node_span(node), message: message.into(), path: None }
    }

    /// Reports a finding of rule `rule` on the byte range `start..end`. Returns it so the rule can
    /// add related locations or properties. Its scope is the definition enclosing `start`.
    pub fn report_range(&mut self, rule: &'static str, start: usize, end: usize, message: String) -> &mut Finding {
        let level = self.levels.get(rule).copied().unwrap_or(Level::Warning);
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
            fix: None,
        });
        self.findings.last_mut().expect("just pushed")
    }

    /// Reports a finding of rule `rule` covering `node`.
    pub fn report(&mut self, rule: &'static str, node: Node<'_>, message: String) -> &mut Finding {
        self.report_range(rule, node.start_byte(), node.end_byte(), message)
    }
}
