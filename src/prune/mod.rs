//! Selective parsing: parse only the functions a selected rule can report in.
//!
//! Before tree-sitter sees a file, one lexical pass over its text cuts it into *units*: the outermost
//! function definitions (with their decorators) wherever they stand — at module level, in class bodies,
//! in module-level `if`/`try` blocks. A unit that holds no trigger token of any enabled rule (see
//! [`Triggers`]) is **blanked in place**: its `def` keyword becomes `pass`, every other byte but line
//! breaks a space. The blanked text has the same length, lines and columns as the original, so every
//! kept node has the byte range it has in a full parse and rules, which read the original text by byte
//! range, see nothing change. Module-level code and class bodies outside methods are never blanked.
//!
//! Triggers come from the enabled rules ([`crate::rules::Rule::triggers`]): words (`except`, `LOG`),
//! method names after a dot (`check` in `policy. check (`), fragments (`Opt`), names the module binds
//! (import aliases, `getLogger` results), and class fragments that keep a whole class when a rule
//! follows calls between its methods (TG401/TG402). A
//! suppression comment keeps its function whatever runs; a rule that declares no triggers turns
//! selective parsing off. Comments after a function's last line are searched with it (tree-sitter may
//! count them in the function) but never blanked.
//!
//! The pass owns its doubts: it tracks string literals (every prefix, triple quotes, escapes,
//! f-string replacement fields), comments, brackets and backslash continuations, and checks the
//! indentation the way Python's tokenizer does. Whenever it cannot vouch for a cut — a tab or form
//! feed in indentation, non-ASCII first character on a line, an unterminated string, unbalanced
//! brackets, an unexpected indent or dedent, a decorator not followed by a definition, a same-quote
//! string nested in an f-string field — it declines ([`Selector::prune`] returns `None`) and the file
//! is parsed whole, as with `--full-parse`.
//!
//! Syntax errors: the lexer catches the lexical and indentation errors above (the file is then parsed
//! whole, so its `syntax-error` notification is the full parse's). The engine also re-parses the whole
//! text when the blanked text parses with an error. What neither catches is a grammar error inside a
//! blanked function (`def f(:`): that function is not parsed, so the file gets no `syntax-error`
//! notification where a full parse would give one. On valid Python both modes give identical findings
//! and notifications.
//!
//! No recursion, no allocation per byte: one forward pass, then one Aho-Corasick search per unit that
//! stops at the first trigger. Cost is linear in the text whatever a pull request puts in it: at most
//! [`MAX_RANGES`] included ranges (tree-sitter scans the list before every token), each comment line
//! searched once for directives, module-bound names looked up in one pass, class searches at most
//! 8 deep (`bench/stress.py` times the hostile cases).
//!
//! Files: [`lex`] reads bytes (strings, brackets, logical lines), [`layout`] finds the units and
//! classes, [`triggers`] decides which units keep, [`blank`] blanks the others, [`ranges`] lays out
//! the ranges tree-sitter parses.

mod blank;
mod layout;
mod lex;
mod ranges;
mod triggers;

use aho_corasick::AhoCorasick;
pub use lex::is_method_at;
use memchr::memmem;
pub use ranges::MAX_RANGES;
use triggers::{Counts, Patterns};

/// What a rule needs kept to report everything it would report on a full parse. A function (with its
/// decorators and nested code) that contains none of the tokens of any enabled rule's triggers is
/// blanked. Matches are lexical: a token in a string or comment keeps its function too.
#[derive(Debug, Clone, Copy)]
pub struct Triggers {
    /// The rule may report anywhere: no function is blanked while it runs.
    pub everywhere: bool,
    /// Identifiers or keywords, matched case-sensitively as whole words (`except`, `LOG`).
    pub words: &'static [&'static str],
    /// Method names, matched as whole words after a `.` (spaces and line continuations allowed
    /// between): `check` in `policy.check(` or `policy. check (`, not in `check=True`.
    pub methods: &'static [&'static str],
    /// Text matched case-sensitively anywhere (`Opt` in `cfg.StrOpt(`).
    pub fragments: &'static [&'static str],
    /// Text that keeps a whole class, every method of it, when it appears anywhere in the class (rules
    /// that follow calls between the methods of a class). Also a trigger for a function that holds a
    /// class of its own.
    pub class_fragments: &'static [&'static str],
    /// Which classes `class_fragments` can keep whole, judged from the class name and text (e.g. only
    /// classes the rule analyses); `None`: every class.
    pub class_filter: Option<ClassFilter>,
    /// Modules whose import aliases are triggers too: in an import statement outside functions that
    /// mentions one of these, every name bound with `as` is a word trigger (`from tenacity import
    /// retry as r` makes `r` one).
    pub import_modules: &'static [&'static str],
    /// Names bound from `getLogger(...)` outside functions are word triggers (module loggers).
    pub module_loggers: bool,
    /// A test on each `def` header in a function (the text from `def` on, at most
    /// [`DEF_HEADER_BYTES`]): a function with a header that passes is kept. For rules that judge
    /// functions by their parameters (TG404: two id parameters), where no single word is rare enough.
    pub def_filter: Option<DefFilter>,
}

/// May a function whose `def` header starts `header` be one the rule reports in? Must answer `true`
/// whenever the rule could (when unsure: `true`).
pub type DefFilter = fn(header: &[u8]) -> bool;

/// How much of a `def` header a [`DefFilter`] sees.
pub const DEF_HEADER_BYTES: usize = 4096;

impl Triggers {
    /// Nothing in a function matters to the rule.
    pub const NONE: Triggers = Triggers {
        everywhere: false,
        words: &[],
        methods: &[],
        fragments: &[],
        class_fragments: &[],
        class_filter: None,
        import_modules: &[],
        module_loggers: false,
        def_filter: None,
    };

    /// The rule may report in any function: selective parsing is off while it runs.
    pub const EVERYWHERE: Triggers = Triggers { everywhere: true, ..Triggers::NONE };
}

/// May a class named `name`, with text `text` (its whole range, methods included), be one the rule
/// analyses? Must answer `true` whenever the rule could.
pub type ClassFilter = fn(name: &str, text: &[u8]) -> bool;

/// The union of the enabled rules' triggers, compiled once per scan.
#[derive(Debug)]
pub struct Selector {
    /// Every word and fragment, and where each counts.
    patterns: Patterns,
    /// One per rule with class fragments.
    class: Vec<(AhoCorasick, Option<ClassFilter>)>,
    import_modules: Vec<String>,
    module_loggers: bool,
    def_filters: Vec<DefFilter>,
}

/// A blanked text, and how much of it was blanked.
#[derive(Debug)]
pub struct Pruned {
    /// The text to parse: as long as the original, with the same line breaks.
    pub text: Vec<u8>,
    /// Bytes of the blanked functions.
    pub blanked_bytes: usize,
    /// Functions found (outermost, with their decorators).
    pub units: usize,
    /// Functions blanked.
    pub blanked_units: usize,
    /// The qualified names (`Class.method`, `function`) of the functions blanked, in source order.
    pub blanked_names: Vec<String>,
    /// Sorted, disjoint byte ranges of `text` that hold nothing but blanks and line breaks and that the
    /// parser may skip without lexing (see [`Pruned::included_ranges`]): the lines of a blanked unit
    /// before its `pass` line, and everything after `pass` up to the unit's last line break. At most
    /// [`MAX_RANGES`]` - 1` of them, the largest: the others are lexed as blanks.
    pub gaps: Vec<(usize, usize)>,
}

impl Selector {
    /// The selector for `triggers` (one per enabled rule); `None` when one of them needs every function.
    pub fn new(triggers: &[Triggers]) -> Option<Selector> {
        if triggers.iter().any(|t| t.everywhere) {
            return None;
        }
        let how = |anywhere, as_word, with_class, after_dot| Counts { anywhere, as_word, with_class, after_dot };
        let declared = triggers.iter().flat_map(|t| {
            let words = t.words.iter().map(move |w| (*w, how(false, true, false, false)));
            let methods = t.methods.iter().map(move |w| (*w, how(false, false, false, true)));
            let fragments = t.fragments.iter().map(move |f| (*f, how(true, false, false, false)));
            let class_fragments = t.class_fragments.iter().map(move |f| (*f, how(false, false, true, false)));
            words.chain(methods).chain(fragments).chain(class_fragments)
        });
        let patterns = Patterns::new(declared);
        let class = triggers
            .iter()
            .filter(|t| !t.class_fragments.is_empty())
            .map(|t| (triggers::class_automaton(t.class_fragments), t.class_filter))
            .collect();
        let mut import_modules: Vec<String> =
            triggers.iter().flat_map(|t| t.import_modules.iter().map(|m| m.to_ascii_lowercase())).collect();
        import_modules.sort_unstable();
        import_modules.dedup();
        Some(Selector {
            patterns,
            class,
            import_modules,
            module_loggers: triggers.iter().any(|t| t.module_loggers),
            def_filters: triggers.iter().filter_map(|t| t.def_filter).collect(),
        })
    }

    /// The text with every function that holds no trigger blanked, or `None` when nothing can be
    /// blanked or the lexical pass cannot vouch for the cut (the caller parses `text` whole).
    pub fn prune(&self, text: &[u8]) -> Option<Pruned> {
        let marks = |on: bool, word: &str| if on { memmem::find_iter(text, word).collect() } else { Vec::new() };
        let imports: Vec<usize> = marks(!self.import_modules.is_empty(), "import");
        let loggers: Vec<usize> = marks(self.module_loggers, "getLogger");
        let layout = layout::layout(text, &imports, &loggers)?;
        if layout.units.is_empty() {
            return None;
        }
        let dynamic = self.dynamic_words(text, &layout);
        let mut class_kept: Vec<Option<bool>> = vec![None; layout.classes.len()];
        let mut blanker: Option<blank::Blanker> = None;
        let mut names = Vec::new();
        for u in &layout.units {
            if !self.keeps(text, &layout, u, &dynamic, &mut class_kept) {
                blanker.get_or_insert_with(|| blank::Blanker::new(text)).blank(u);
                names.push(qualified_name(text, &layout, u));
            }
        }
        blanker.map(|b| b.finish(layout.units.len(), names))
    }
}

/// `text` with every function blanked whose qualified name (`Class.method`, `function`: outermost
/// definitions only) `keep` does not pick, whatever triggers it holds; `None` when nothing is blanked
/// or the lexical pass cannot vouch for the cut (the caller parses `text` whole). How the project model
/// reads a few functions of a file that selective parsing left unparsed.
pub fn keep_only(text: &[u8], keep: &dyn Fn(&str) -> bool) -> Option<Pruned> {
    let layout = layout::layout(text, &[], &[])?;
    let mut blanker: Option<blank::Blanker> = None;
    let mut names = Vec::new();
    for u in &layout.units {
        let name = qualified_name(text, &layout, u);
        if !keep(&name) {
            blanker.get_or_insert_with(|| blank::Blanker::new(text)).blank(u);
            names.push(name);
        }
    }
    blanker.map(|b| b.finish(layout.units.len(), names))
}

/// `Outer.Inner.name` of unit `u`: its name (after `def`, or `async def`) behind the names of the
/// classes around it. Bounded by the class depth the layout allows.
fn qualified_name(text: &[u8], layout: &layout::Layout, u: &layout::Unit) -> String {
    let word = |from: usize| {
        let rest = &text[from.min(text.len())..];
        let start = rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len());
        let len = rest[start..].iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80));
        let end = start + len.unwrap_or(rest.len() - start);
        (from + start, from + end)
    };
    let (mut a, mut b) = word(u.def_at);
    if &text[a..b] == b"async" {
        (a, b) = word(b);
    }
    if &text[a..b] == b"def" {
        (a, b) = word(b);
    }
    let mut parts = vec![String::from_utf8_lossy(&text[a..b]).into_owned()];
    let mut class = u.class;
    while let Some(c) = class.and_then(|c| layout.classes.get(c)) {
        parts.push(String::from_utf8_lossy(&text[c.name.0..c.name.1]).into_owned());
        class = c.parent;
    }
    parts.reverse();
    parts.join(".")
}

/// Can the lexical pass vouch for its cut of `text` (else selective parsing parses it whole)?
pub fn cuttable(text: &[u8]) -> bool {
    layout::layout(text, &[], &[]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const EXCEPT: Triggers = Triggers { words: &["except"], ..Triggers::NONE };

    /// The blanked text `triggers` give `text`, checked to be as long as `text`.
    pub(super) fn prune_with(triggers: &[Triggers], text: &str) -> Option<String> {
        let pruned = Selector::new(triggers)?.prune(text.as_bytes())?;
        assert_eq!(pruned.text.len(), text.len());
        Some(String::from_utf8(pruned.text).unwrap())
    }

    pub(super) fn parses_cleanly(text: &str) -> bool {
        !crate::engine::new_parser().parse(text, None).unwrap().root_node().has_error()
    }

    #[test]
    fn keep_only_reads_the_functions_named_whatever_their_triggers() {
        let text = "def a():\n    try:\n        x()\n    except Exception:\n        pass\n\n\nclass C:\n    def __init__(self):\n        self.x = X()\n\n    def m(self):\n        return 1\n\n\ndef b():\n    return 2\n";
        let keep = |name: &str| name == "C.__init__" || name == "b";
        let pruned = keep_only(text.as_bytes(), &keep).unwrap();
        assert_eq!(pruned.text.len(), text.len());
        assert_eq!(pruned.blanked_names, ["a", "C.m"]);
        let blanked = String::from_utf8(pruned.text).unwrap();
        assert!(!blanked.contains("except") && blanked.contains("self.x = X()") && blanked.contains("return 2"));
        assert!(parses_cleanly(&blanked), "{blanked}");
        assert!(keep_only(text.as_bytes(), &|_: &str| true).is_none(), "nothing blanked");
    }
}
