//! Which units keep: the trigger search of a [`Selector`] over a unit's text (words, fragments,
//! class fragments, suppression comments, the names the module binds from imports and `getLogger`)
//! and over the classes around it ([`Selector::keeps`]).

use super::layout::{Class, Layout, Unit};
use super::lex::{is_ident, is_method_at, is_word_at};
use super::{ClassFilter, Selector};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};
use memchr::memmem;

/// Suppression comments (see [`crate::suppress`]) keep their function whatever rules run: they mark or
/// silence findings and may be reported unused or misspelt. Matched ignoring case after a `#`.
const DIRECTIVES: &[&str] = crate::suppress::FRAGMENTS;

/// Where a unit pattern counts as a trigger (the union over the rules that declare it).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    /// Anywhere (a fragment).
    pub anywhere: bool,
    /// As a whole word.
    pub as_word: bool,
    /// Anywhere in a function that holds a class (a class fragment).
    pub with_class: bool,
    /// As a whole word after a `.`, whitespace allowed between (a method name).
    pub after_dot: bool,
}

/// Every word and fragment of the enabled rules, compiled into one automaton, and where each counts.
#[derive(Debug)]
pub(super) struct Patterns {
    unit: AhoCorasick,
    patterns: Vec<&'static str>,
    counts: Vec<Counts>,
}

impl Patterns {
    /// Merges `(pattern, where it counts)` pairs (a pattern declared twice counts wherever either
    /// declaration does); empty patterns are dropped.
    pub fn new(declared: impl IntoIterator<Item = (&'static str, Counts)>) -> Patterns {
        let mut patterns: Vec<(&'static str, Counts)> = Vec::new();
        for (p, how) in declared {
            if p.is_empty() {
                continue;
            }
            let at = patterns.iter().position(|(q, _)| *q == p).unwrap_or_else(|| {
                patterns.push((p, Counts::default()));
                patterns.len() - 1
            });
            let c = &mut patterns[at].1;
            c.anywhere |= how.anywhere;
            c.as_word |= how.as_word;
            c.with_class |= how.with_class;
            c.after_dot |= how.after_dot;
        }
        // Leftmost-first: when a word fails its boundary test, the search goes on one byte further;
        // a pattern that starts at the same byte is looked at directly (see `unit_triggered`).
        let unit = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns.iter().map(|(p, _)| p))
            .expect("a few short literal patterns always compile");
        Patterns {
            counts: patterns.iter().map(|(_, c)| *c).collect(),
            patterns: patterns.iter().map(|(p, _)| *p).collect(),
            unit,
        }
    }
}

/// The class fragments of one rule, and which classes they can keep whole.
pub(super) fn class_automaton(fragments: &[&'static str]) -> AhoCorasick {
    AhoCorasick::new(fragments).expect("a few short literal patterns always compile")
}

impl Selector {
    /// Names the module binds that are word triggers: every name assigned on a module-level line that
    /// calls `getLogger`, and every `as` alias of an import statement that mentions one of the
    /// selector's import modules. Sorted, without duplicates.
    pub(super) fn dynamic_words<'t>(&self, text: &'t [u8], layout: &Layout) -> Vec<&'t [u8]> {
        let mut dynamic: Vec<&[u8]> = Vec::new();
        for &(s, e) in &layout.loggers {
            assigned(&text[s..e], &mut dynamic);
        }
        for &(s, e) in &layout.imports {
            let line = &text[s..e];
            let mentions =
                self.import_modules.iter().any(|m| line.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m.as_bytes())));
            if mentions {
                aliases(line, &mut dynamic);
            }
        }
        dynamic.sort_unstable();
        dynamic.dedup();
        dynamic
    }

    /// Must unit `u` be kept: does it hold a trigger, or does a class trigger keep a class around it
    /// (at any depth)? `class_kept` memoises the classes' answers (indexed like `layout.classes`).
    pub(super) fn keeps(
        &self,
        text: &[u8],
        layout: &Layout,
        u: &Unit,
        dynamic: &[&[u8]],
        class_kept: &mut [Option<bool>],
    ) -> bool {
        if u.class.is_some_and(|c| layout.classes[c].depth >= MAX_CLASS_DEPTH) {
            return true;
        }
        if self.unit_triggered(text, u, dynamic) {
            return true;
        }
        let mut around = u.class;
        let mut kept = false;
        while let Some(c) = around.filter(|_| !kept) {
            let class = &layout.classes[c];
            kept = *class_kept[c].get_or_insert_with(|| self.class_triggered(text, class));
            around = class.parent;
        }
        kept
    }

    fn class_triggered(&self, text: &[u8], class: &Class) -> bool {
        let body = &text[class.start..class.tail];
        let name = std::str::from_utf8(&text[class.name.0..class.name.1]).unwrap_or("");
        self.class.iter().any(|(ac, filter): &(AhoCorasick, Option<ClassFilter>)| {
            filter.is_none_or(|f| f(name, body)) && ac.find(body).is_some()
        })
    }

    fn unit_triggered(&self, text: &[u8], u: &Unit, dynamic: &[&[u8]]) -> bool {
        let (start, end) = (u.start, u.tail);
        let p = &self.patterns;
        let holds = |k: usize, s: usize| {
            let (c, e) = (p.counts[k], s + p.patterns[k].len());
            c.anywhere
                || (c.with_class && u.has_class)
                || (c.as_word && is_word_at(text, s, e))
                || (c.after_dot && is_method_at(text, s, e))
        };
        let mut from = start;
        while let Some(m) = p.unit.find(Input::new(text).span(from..end)) {
            let (k, s) = (m.pattern().as_usize(), m.start());
            if holds(k, s) {
                return true;
            }
            // `log` failed as a word in `logx`: might another pattern starting here hold?
            let here = &text[s..end];
            if p.patterns.iter().enumerate().any(|(o, q)| o != k && here.starts_with(q.as_bytes()) && holds(o, s)) {
                return true;
            }
            from = s + 1;
        }
        let hay = &text[start..end];
        // From the first `#` of each line to its end (what follows a later `#` of the line is part of
        // that text: searching from each `#` would be quadratic in a line of `#`s).
        let mut at = 0;
        while let Some(hash) = memchr::memchr(b'#', &hay[at..]).map(|p| at + p) {
            at = memchr::memchr(b'\n', &hay[hash..]).map_or(hay.len(), |p| hash + p);
            let comment = &hay[hash..at];
            if DIRECTIVES.iter().any(|d| comment.windows(d.len()).any(|w| w.eq_ignore_ascii_case(d.as_bytes()))) {
                return true;
            }
        }
        if !self.def_filters.is_empty() {
            let headers = memmem::find_iter(hay, "def").filter(|&at| is_word_at(text, start + at, start + at + 3));
            for at in headers {
                let header = &hay[at..hay.len().min(at + super::DEF_HEADER_BYTES)];
                if self.def_filters.iter().any(|f| f(header)) {
                    return true;
                }
            }
        }
        if dynamic.len() <= FEW_WORDS {
            dynamic
                .iter()
                .any(|w| memmem::find_iter(hay, w).any(|at| is_word_at(text, start + at, start + at + w.len())))
        } else {
            // A unit starts at a line start and its tail is one or the end of the text, so the words
            // of `hay` are the words of the text there.
            words(hay).any(|w| dynamic.binary_search(&w).is_ok())
        }
    }
}

/// Classes nested deeper than this keep every method unsearched: each byte is searched at most this
/// many times for class triggers (each class's search covers the classes inside it).
const MAX_CLASS_DEPTH: usize = 8;

/// Up to this many names bound by the module are searched for one by one (each a pass over the unit);
/// more, and the unit's words are looked up among them instead (one pass, whatever their number).
const FEW_WORDS: usize = 4;

/// The whole words (maximal runs of identifier bytes) of `hay`.
fn words(hay: &[u8]) -> impl Iterator<Item = &[u8]> {
    hay.split(|&b| !is_ident(b)).filter(|w| !w.is_empty())
}

/// Plain names assigned on a logical line (`name =`, not `==`): where `module_loggers` finds them.
fn assigned<'t>(line: &'t [u8], out: &mut Vec<&'t [u8]>) {
    let mut i = 0;
    while i < line.len() {
        if !is_ident(line[i]) || (i > 0 && (is_ident(line[i - 1]) || line[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let s = i;
        while i < line.len() && is_ident(line[i]) {
            i += 1;
        }
        let mut k = i;
        while k < line.len() && (line[k] == b' ' || line[k] == b'\t') {
            k += 1;
        }
        if line.get(k) == Some(&b'=') && line.get(k + 1) != Some(&b'=') {
            out.push(&line[s..i]);
        }
    }
}

/// Names bound with `as` in one import statement (`import a.b as c`, `from a import (b as c, d as e)`).
fn aliases<'t>(line: &'t [u8], out: &mut Vec<&'t [u8]>) {
    let mut i = 0;
    let mut after_as = false;
    while i < line.len() {
        let c = line[i];
        if c == b'#' {
            while i < line.len() && line[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if !is_ident(c) {
            i += 1;
            continue;
        }
        let s = i;
        while i < line.len() && is_ident(line[i]) {
            i += 1;
        }
        let word = &line[s..i];
        if after_as {
            out.push(word);
        }
        after_as = word == b"as";
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{EXCEPT, prune_with};
    use super::super::{Selector, Triggers};
    use super::*;

    #[test]
    fn words_fragments_and_case() {
        let t = Triggers { words: &["LOG"], fragments: &["Opt", "retry", "Retry"], ..Triggers::NONE };
        let kept = |body: &str| {
            let code = format!("def f():\n    {body}\n");
            prune_with(&[t], &code).is_none()
        };
        assert!(kept("LOG.info(x)"));
        assert!(kept("self.LOG.info(x)"));
        assert!(!kept("CATALOG.info(x)"));
        assert!(!kept("log.info(x)"));
        assert!(!kept("LOGGING = 1"));
        assert!(kept("cfg.StrOpt('a')"));
        assert!(!kept("cfg.stropt('a')"));
        assert!(kept("tenacity.Retrying()"));
        assert!(kept("@retry"));
        assert!(kept("x = 1  # noqa"), "suppression comments keep their function");
        assert!(kept("x = 1  # TrunkGuard: ignore"));
        assert!(!kept("x = 1  # a comment"));
    }

    #[test]
    fn methods_are_words_after_a_dot() {
        let t = Triggers { methods: &["can", "check"], ..Triggers::NONE };
        let kept = |body: &str| prune_with(&[t], &format!("def f():\n    {body}\n")).is_none();
        assert!(kept("context.can(a)"));
        assert!(kept("context. can  (a)"));
        assert!(kept("policy.\\\n        check(a)"));
        assert!(!kept("subprocess.run(a, check=True)"));
        assert!(!kept("can = 1"));
        assert!(!kept("self.cancel()"));
    }

    #[test]
    fn comments_after_a_function_count_as_its_own() {
        // tree-sitter may end `f` after the comment: a TG001 finding there is scoped `f`.
        let code = "def f():\n    pass\n    # trunkguard: ignore[TG201]\ndef g():\n    pass\n";
        let blanked = prune_with(&[EXCEPT], code).unwrap();
        assert!(blanked.starts_with("def f():\n    pass\n    # trunkguard"), "{blanked}");
        assert!(!blanked.contains("def g"), "{blanked}");
    }

    #[test]
    fn words_that_overlap_do_not_hide_each_other() {
        let t = Triggers { words: &["log", "LOG", "logging"], ..Triggers::NONE };
        for body in ["log.x()", "LOG.x()", "logging.x()", "dialog; log"] {
            let code = format!("def f():\n    {body}\n");
            assert!(prune_with(&[t], &code).is_none(), "{body}");
        }
    }

    #[test]
    fn a_class_trigger_keeps_every_method_of_its_class() {
        let t = Triggers { class_fragments: &[".elevated("], ..Triggers::NONE };
        let code = "class A:\n    def f(self, c):\n        self._g(c.elevated())\n    def _g(self, c):\n        pass\n\ndef h():\n    pass\n";
        let blanked = prune_with(&[t], code).unwrap();
        assert!(blanked.contains("def _g"), "{blanked}");
        assert!(!blanked.contains("def h"), "{blanked}");
    }

    #[test]
    fn a_class_trigger_keeps_a_function_only_if_it_holds_a_class() {
        let t = Triggers { class_fragments: &[".elevated("], ..Triggers::NONE };
        let code = "def f(c):\n    return c.elevated()\n\ndef g(c):\n    class A:\n        x = c.elevated()\n";
        let blanked = prune_with(&[t], code).unwrap();
        assert!(!blanked.contains("def f") && blanked.contains("def g"), "{blanked}");
        // The same text as a plain fragment of another rule counts anywhere.
        let plain = Triggers { fragments: &[".elevated("], ..Triggers::NONE };
        assert!(prune_with(&[t, plain], code).is_none());
    }

    #[test]
    fn a_class_filter_limits_the_classes_kept_whole() {
        let t = Triggers {
            class_fragments: &[".elevated("],
            class_filter: Some(|name, _| name.ends_with("RpcCallback")),
            ..Triggers::NONE
        };
        let code = concat!(
            "class Outer:\n",
            "    def a(self):\n",
            "        pass\n",
            "    class InnerRpcCallback:\n",
            "        def b(self, c):\n",
            "            self._g(c.elevated())\n",
            "        def _g(self, c):\n",
            "            pass\n",
            "class PortManager:\n",
            "    def d(self, c):\n",
            "        self._h(c.elevated())\n",
            "    def _h(self, c):\n",
            "        pass\n",
        );
        let blanked = prune_with(&[t], code).unwrap();
        for (name, kept) in [("a", false), ("b", true), ("_g", true), ("d", false), ("_h", false)] {
            assert_eq!(blanked.contains(&format!("def {name}(")), kept, "{name}: {blanked}");
        }
    }

    #[test]
    fn import_aliases_and_module_loggers_are_triggers() {
        let t = Triggers { words: &["LOG"], import_modules: &["tenacity"], module_loggers: true, ..Triggers::NONE };
        let code = "from tenacity import (retry as again,\n    stop_never)\nfrom x import y as z\nn = 1; _lg = logging.getLogger(__name__)\ntry: import tenacity as ten\nexcept ImportError: pass\n\ndef a():\n    again()\n\ndef b():\n    _lg.info(1)\n\ndef c():\n    z()\n    x == 1\n\ndef d():\n    ten()\n";
        let blanked = prune_with(&[t], code).unwrap();
        assert!(blanked.contains("def a") && blanked.contains("def b") && blanked.contains("def d"), "{blanked}");
        assert!(!blanked.contains("def c"), "{blanked}");
    }

    #[test]
    fn a_rule_without_triggers_turns_pruning_off() {
        assert!(Selector::new(&[EXCEPT, Triggers::EVERYWHERE]).is_none());
    }

    #[test]
    fn a_directive_after_many_hashes_keeps_its_function() {
        let hashes = "#".repeat(10_000);
        let kept = |line: &str| prune_with(&[EXCEPT], &format!("def f():\n    {line}\n")).is_none();
        assert!(kept(&format!("x = '{hashes}'  # noqa")));
        assert!(kept(&format!("x = 1  # {hashes} NOSEC")));
        assert!(!kept(&format!("x = 1  # {hashes} no qa")));
        assert!(kept(&format!("x = '#'\n    y = 1  # {hashes}\n    z = 1  # pylint: disable")));
    }

    #[test]
    fn many_names_bound_by_the_module_are_all_triggers() {
        let t = Triggers { import_modules: &["tenacity"], module_loggers: true, ..Triggers::NONE };
        for n in [1, FEW_WORDS, FEW_WORDS + 1, 1000] {
            let names: Vec<String> = (0..n).map(|i| format!("lg{i}")).collect();
            let aliases: Vec<String> = (0..n).map(|i| format!("r as ré{i}")).collect();
            let code = format!(
                "{} = logging.getLogger(__name__)\nfrom tenacity import ({})\n\ndef a():\n    lg{last}.info(1)\n\ndef b():\n    ré{last}()\n\ndef c():\n    xlg{last}.info(1); lg{last}x(); ré{last}é(); _lg0 = 1\n",
                names.join(" = "),
                aliases.join(", "),
                last = n - 1,
            );
            let blanked = prune_with(&[t], &code).unwrap();
            assert!(blanked.contains("def a") && blanked.contains("def b"), "{n}: {blanked}");
            assert!(!blanked.contains("def c"), "{n}: {blanked}");
        }
    }

    #[test]
    fn methods_of_classes_nested_past_the_bound_are_kept() {
        let t = Triggers { class_fragments: &[".elevated("], ..Triggers::NONE };
        let nest = |depth: usize| -> String {
            let classes: String = (0..depth).map(|d| format!("{}class C{d}:\n", " ".repeat(d))).collect();
            let inner = " ".repeat(depth);
            format!("{classes}{inner}def f(self):\n{inner} return 1\n")
        };
        assert!(prune_with(&[t], &nest(MAX_CLASS_DEPTH)).is_some(), "searched, no trigger: blanked");
        assert!(prune_with(&[t], &nest(MAX_CLASS_DEPTH + 1)).is_none(), "kept unsearched");
    }

    #[test]
    fn assigned_names_and_aliases() {
        let mut out = Vec::new();
        assigned(b"a = b.c = d == e; f\t= getLogger()", &mut out);
        assert_eq!(out, [&b"a"[..], b"f"]);
        out.clear();
        aliases(b"from a import (b as c,  # x as y\n d as e)", &mut out);
        assert_eq!(out, [&b"c"[..], b"e"]);
    }
}
