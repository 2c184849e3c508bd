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
//! fragments (`Opt`), names the module binds (import aliases, `getLogger` results), and class
//! fragments that keep a whole class when a rule follows calls between its methods (TG401/TG402). A
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
//! stops at the first trigger.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};
use memchr::memmem;

/// What a rule needs kept to report everything it would report on a full parse. A function (with its
/// decorators and nested code) that contains none of the tokens of any enabled rule's triggers is
/// blanked. Matches are lexical: a token in a string or comment keeps its function too.
#[derive(Debug, Clone, Copy)]
pub struct Triggers {
    /// The rule may report anywhere: no function is blanked while it runs.
    pub everywhere: bool,
    /// Identifiers or keywords, matched case-sensitively as whole words (`except`, `LOG`).
    pub words: &'static [&'static str],
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
}

impl Triggers {
    /// Nothing in a function matters to the rule.
    pub const NONE: Triggers = Triggers {
        everywhere: false,
        words: &[],
        fragments: &[],
        class_fragments: &[],
        class_filter: None,
        import_modules: &[],
        module_loggers: false,
    };

    /// The rule may report in any function: selective parsing is off while it runs.
    pub const EVERYWHERE: Triggers = Triggers { everywhere: true, ..Triggers::NONE };
}

/// May a class named `name`, with text `text` (its whole range, methods included), be one the rule
/// analyses? Must answer `true` whenever the rule could.
pub type ClassFilter = fn(name: &str, text: &[u8]) -> bool;

/// Suppression comments (see [`crate::suppress`]) keep their function whatever rules run: they mark or
/// silence findings and may be reported unused or misspelt. Matched ignoring case after a `#`.
const DIRECTIVES: &[&str] = crate::suppress::FRAGMENTS;

/// The union of the enabled rules' triggers, compiled once per scan.
#[derive(Debug)]
pub struct Selector {
    /// Every word and fragment, and where each counts.
    unit: AhoCorasick,
    patterns: Vec<&'static str>,
    counts: Vec<Counts>,
    /// One per rule with class fragments.
    class: Vec<(AhoCorasick, Option<ClassFilter>)>,
    import_modules: Vec<String>,
    module_loggers: bool,
}

/// Where a unit pattern counts as a trigger (the union over the rules that declare it).
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// Anywhere (a fragment).
    anywhere: bool,
    /// As a whole word.
    as_word: bool,
    /// Anywhere in a function that holds a class (a class fragment).
    with_class: bool,
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
    /// Sorted, disjoint byte ranges of `text` that hold nothing but blanks and line breaks and that the
    /// parser may skip without lexing (see [`Pruned::included_ranges`]): the lines of a blanked unit
    /// before its `pass` line, and everything after `pass` up to the unit's last line break.
    pub gaps: Vec<(usize, usize)>,
}

impl Pruned {
    /// The complement of [`Pruned::gaps`] as tree-sitter included ranges (rows counted in `\n`, columns
    /// in bytes, as tree-sitter counts them). Parsing only these gives the tree of the whole blanked
    /// text — the skipped bytes are blanks between a `pass` and its line break, or whole blank lines —
    /// without lexing megabytes of spaces.
    pub fn included_ranges(&self) -> Vec<tree_sitter::Range> {
        let mut out = Vec::with_capacity(self.gaps.len() + 1);
        let mut row = 0;
        let mut row_start = 0;
        let mut at = 0;
        let mut point_of = |byte: usize| {
            for nl in memchr::memchr_iter(b'\n', &self.text[at..byte]) {
                row += 1;
                row_start = at + nl + 1;
            }
            at = byte;
            tree_sitter::Point { row, column: byte - row_start }
        };
        let mut start = 0;
        for &(gap_start, gap_end) in &self.gaps {
            if gap_start > start {
                let (start_point, end_point) = (point_of(start), point_of(gap_start));
                out.push(tree_sitter::Range { start_byte: start, end_byte: gap_start, start_point, end_point });
            }
            start = gap_end;
        }
        let end = self.text.len();
        let (start_point, end_point) = (point_of(start), point_of(end));
        out.push(tree_sitter::Range { start_byte: start, end_byte: end, start_point, end_point });
        out
    }
}

impl Selector {
    /// The selector for `triggers` (one per enabled rule); `None` when one of them needs every function.
    pub fn new(triggers: &[Triggers]) -> Option<Selector> {
        if triggers.iter().any(|t| t.everywhere) {
            return None;
        }
        let mut patterns: Vec<(&'static str, Counts)> = Vec::new();
        let mut add = |p: &'static str, how: Counts| {
            if p.is_empty() {
                return;
            }
            let at = patterns.iter().position(|(q, _)| *q == p).unwrap_or_else(|| {
                patterns.push((p, Counts::default()));
                patterns.len() - 1
            });
            let c = &mut patterns[at].1;
            c.anywhere |= how.anywhere;
            c.as_word |= how.as_word;
            c.with_class |= how.with_class;
        };
        let mut class = Vec::new();
        let mut import_modules: Vec<String> = Vec::new();
        for t in triggers {
            t.words.iter().for_each(|w| add(w, Counts { as_word: true, ..Counts::default() }));
            t.fragments.iter().for_each(|f| add(f, Counts { anywhere: true, ..Counts::default() }));
            t.class_fragments.iter().for_each(|f| add(f, Counts { with_class: true, ..Counts::default() }));
            if !t.class_fragments.is_empty() {
                let ac = AhoCorasick::new(t.class_fragments).expect("a few short literal patterns always compile");
                class.push((ac, t.class_filter));
            }
            import_modules.extend(t.import_modules.iter().map(|m| m.to_ascii_lowercase()));
        }
        import_modules.sort_unstable();
        import_modules.dedup();
        // Leftmost-first: when a word fails its boundary test, the search goes on one byte further;
        // a pattern that starts at the same byte is looked at directly (see `unit_triggered`).
        let unit = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns.iter().map(|(p, _)| p))
            .expect("a few short literal patterns always compile");
        Some(Selector {
            counts: patterns.iter().map(|(_, c)| *c).collect(),
            patterns: patterns.iter().map(|(p, _)| *p).collect(),
            unit,
            class,
            import_modules,
            module_loggers: triggers.iter().any(|t| t.module_loggers),
        })
    }

    /// The text with every function that holds no trigger blanked, or `None` when nothing can be
    /// blanked or the lexical pass cannot vouch for the cut (the caller parses `text` whole).
    pub fn prune(&self, text: &[u8]) -> Option<Pruned> {
        let marks = |on: bool, word: &str| if on { memmem::find_iter(text, word).collect() } else { Vec::new() };
        let imports: Vec<usize> = marks(!self.import_modules.is_empty(), "import");
        let loggers: Vec<usize> = marks(self.module_loggers, "getLogger");
        let layout = layout(text, &imports, &loggers)?;
        if layout.units.is_empty() {
            return None;
        }
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
        let mut class_kept: Vec<Option<bool>> = vec![None; layout.classes.len()];
        let mut out: Option<Vec<u8>> = None;
        let mut blanked_bytes = 0;
        let mut blanked_units = 0;
        let mut gaps: Vec<(usize, usize)> = Vec::new();
        for u in &layout.units {
            if self.unit_triggered(text, u, &dynamic) {
                continue;
            }
            // A class around the unit, at any depth, that a class trigger keeps whole.
            let mut around = u.class;
            let mut kept = false;
            while let Some(c) = around.filter(|_| !kept) {
                let class = &layout.classes[c];
                kept = *class_kept[c].get_or_insert_with(|| self.class_triggered(text, class));
                around = class.parent;
            }
            if kept {
                continue;
            }
            let buf = out.get_or_insert_with(|| text.to_vec());
            for byte in &mut buf[u.start..u.end] {
                // Branch-free, so the loop vectorises.
                let keep = *byte == b'\n' || *byte == b'\r';
                *byte = if keep { *byte } else { b' ' };
            }
            buf[u.def_at..u.def_at + 4].copy_from_slice(b"pass");
            blanked_bytes += u.end - u.start;
            blanked_units += 1;
            // Skippable: whole blank lines before the `pass` line (blanked decorators)…
            let line_of = |at: usize| buf[..at].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |i| i + 1);
            let (first_line, pass_line) = (line_of(u.start), line_of(u.def_at));
            let blank = |b: &u8| matches!(b, b' ' | b'\n' | b'\r');
            if first_line < pass_line && buf[first_line..pass_line].iter().all(blank) {
                gaps.push((first_line, pass_line));
            }
            // …and the blanks after `pass` up to the unit's last line break.
            let mut last = u.end;
            while last > u.def_at + 4 && matches!(buf[last - 1], b'\n' | b'\r') {
                last -= 1;
            }
            if last > u.def_at + 4 && buf[u.def_at + 4..last].iter().all(blank) {
                gaps.push((u.def_at + 4, last));
            }
        }
        out.map(|text| Pruned { text, blanked_bytes, units: layout.units.len(), blanked_units, gaps })
    }

    fn class_triggered(&self, text: &[u8], class: &Class) -> bool {
        let body = &text[class.start..class.tail];
        let name = std::str::from_utf8(&text[class.name.0..class.name.1]).unwrap_or("");
        self.class.iter().any(|(ac, filter)| filter.is_none_or(|f| f(name, body)) && ac.find(body).is_some())
    }

    fn unit_triggered(&self, text: &[u8], u: &Unit, dynamic: &[&[u8]]) -> bool {
        let (start, end) = (u.start, u.tail);
        let holds = |k: usize, s: usize| {
            let c = self.counts[k];
            c.anywhere
                || (c.with_class && u.has_class)
                || (c.as_word && is_word_at(text, s, s + self.patterns[k].len()))
        };
        let mut from = start;
        while let Some(m) = self.unit.find(Input::new(text).span(from..end)) {
            let (k, s) = (m.pattern().as_usize(), m.start());
            if holds(k, s) {
                return true;
            }
            // `log` failed as a word in `logx`: might another pattern starting here hold?
            let here = &text[s..end];
            if self.patterns.iter().enumerate().any(|(o, p)| o != k && here.starts_with(p.as_bytes()) && holds(o, s)) {
                return true;
            }
            from = s + 1;
        }
        let hay = &text[start..end];
        let directive = memchr::memchr_iter(b'#', hay).any(|at| {
            let comment = &hay[at..];
            let comment = &comment[..memchr::memchr(b'\n', comment).unwrap_or(comment.len())];
            DIRECTIVES.iter().any(|d| comment.windows(d.len()).any(|w| w.eq_ignore_ascii_case(d.as_bytes())))
        });
        if directive {
            return true;
        }
        dynamic.iter().any(|w| memmem::find_iter(hay, w).any(|at| is_word_at(text, start + at, start + at + w.len())))
    }
}

/// Can the lexical pass vouch for its cut of `text` (else selective parsing parses it whole)?
pub fn cuttable(text: &[u8]) -> bool {
    layout(text, &[], &[]).is_some()
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Does `text[s..e]` stand as a whole word?
fn is_word_at(text: &[u8], s: usize, e: usize) -> bool {
    (s == 0 || !is_ident(text[s - 1])) && text.get(e).is_none_or(|&b| !is_ident(b))
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

/// One function definition the lexer found: from its first decorator line to the end of its last
/// logical line (line break included); `def_at` is where `def` (or `async`) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unit {
    start: usize,
    def_at: usize,
    end: usize,
    /// Where the next code line starts (or the end of the text): the comment lines between `end` and
    /// `tail` are not blanked, but tree-sitter may count them in the function (a finding on a
    /// suppression comment there gets the function as scope), so they are searched for triggers.
    tail: usize,
    /// The innermost class around it (index in [`Layout::classes`]).
    class: Option<usize>,
    /// It holds a class statement.
    has_class: bool,
}

/// A class outside functions: from its `class` line to where the next code line at its indentation
/// or less starts (or the end of the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Class {
    start: usize,
    tail: usize,
    /// Byte range of its name.
    name: (usize, usize),
    /// The class around it.
    parent: Option<usize>,
}

/// What the lexical pass found.
#[derive(Debug, Default)]
struct Layout {
    units: Vec<Unit>,
    /// Classes outside functions, in source order.
    classes: Vec<Class>,
    /// Logical lines outside functions that hold `import`: (start, end).
    imports: Vec<(usize, usize)>,
    /// Logical lines outside functions that hold `getLogger`: (start, end).
    loggers: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Def,
    Class,
    Decorator,
    Other,
}

fn starts_word(b: &[u8], at: usize, word: &[u8]) -> bool {
    b[at..].starts_with(word) && b.get(at + word.len()).is_none_or(|&c| !is_ident(c))
}

/// What kind of statement starts at `at` (the first non-blank byte of a logical line).
fn head(b: &[u8], at: usize) -> Head {
    match b[at] {
        b'@' => Head::Decorator,
        b'd' if starts_word(b, at, b"def") => Head::Def,
        b'c' if starts_word(b, at, b"class") => Head::Class,
        b'a' if starts_word(b, at, b"async") => {
            let mut k = at + 5;
            while k < b.len() && (b[k] == b' ' || b[k] == b'\t') {
                k += 1;
            }
            if k > at + 5 && starts_word(b, k, b"def") { Head::Def } else { Head::Other }
        }
        _ => Head::Other,
    }
}

/// Skips the string literal whose opening quote is at `q`; returns the index just past it, or `None`
/// when unsure (unterminated, a same-quote string inside an f-string field, an unknown prefix).
fn skip_string(b: &[u8], q: usize) -> Option<usize> {
    let quote = b[q];
    // The prefix: the letters right before the quote.
    let mut p = q;
    while p > 0 && b[p - 1].is_ascii_alphabetic() {
        p -= 1;
    }
    if p > 0 && is_ident(b[p - 1]) {
        return None; // `x1"…"` or a non-ASCII letter: not a literal Python knows
    }
    let prefix = &b[p..q];
    if prefix.len() > 3 || !prefix.iter().all(|c| b"rRbBuUfFtT".contains(c)) {
        return None;
    }
    let formatted = prefix.iter().any(|c| b"fFtT".contains(c));
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let mut i = if triple { q + 3 } else { q + 1 };
    let mut depth = 0usize; // replacement-field nesting in an f-string
    loop {
        let c = *b.get(i)?;
        match c {
            b'\\' => {
                // Escapes (and, in raw strings, a kept backslash) never end the literal.
                i += if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') { 3 } else { 2 };
            }
            b'\n' if !triple => return None,
            b'{' if formatted => {
                if depth == 0 && b.get(i + 1) == Some(&b'{') {
                    i += 2;
                } else {
                    depth += 1;
                    i += 1;
                }
            }
            b'}' if formatted => {
                if depth == 0 {
                    i += if b.get(i + 1) == Some(&b'}') { 2 } else { 1 };
                } else {
                    depth -= 1;
                    i += 1;
                }
            }
            _ if c == quote => {
                let closes = !triple || (b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote));
                if depth > 0 && (closes || !triple) {
                    return None; // Python 3.12 nested quotes, or an error: do not guess
                }
                if closes {
                    return Some(if triple { i + 3 } else { i + 1 });
                }
                i += 1;
            }
            _ if !formatted => {
                // Fast path: jump to the next byte that matters.
                i += 1 + memchr::memchr3(quote, b'\\', b'\n', &b[i + 1..]).unwrap_or(b.len() - i - 1);
            }
            _ => i += 1,
        }
    }
}

/// Sorted offsets of a word in the text, visited in order by the lexer.
struct Marks<'m> {
    at: &'m [usize],
    next: usize,
}

impl Marks<'_> {
    /// Is there a mark in `start..end`? Calls must come with growing `start`.
    fn contains(&mut self, start: usize, end: usize) -> bool {
        while self.at.get(self.next).is_some_and(|&p| p < start) {
            self.next += 1;
        }
        self.at.get(self.next).is_some_and(|&p| p < end)
    }
}

/// Bytes that end a run of ordinary code: line breaks, comments, continuations, brackets, quotes.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"\n#\\()[]{}\"'";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

/// The lexical pass. `imports` and `loggers` hold the sorted offsets of `import` and `getLogger` in
/// the text: logical lines outside functions holding one are recorded.
fn layout(b: &[u8], imports: &[usize], loggers: &[usize]) -> Option<Layout> {
    if memchr::memchr(0, b).is_some() {
        return None; // tree-sitter may read a NUL as the end of the input
    }
    let mut imports = Marks { at: imports, next: 0 };
    let mut loggers = Marks { at: loggers, next: 0 };
    let n = b.len();
    let mut out = Layout::default();
    let mut indents: Vec<usize> = vec![0];
    let mut expect_indent = false;
    // The open unit.
    let mut unit: Option<(Unit, usize)> = None;
    // Open classes outside units: (index in `out.classes`, indent), outermost first.
    let mut classes: Vec<(usize, usize)> = Vec::new();
    // First decorator line of a run not yet followed by its definition: (start, indent).
    let mut decorators: Option<(usize, usize)> = None;
    let mut last_code_end = 0;
    let mut i = 0;
    while i < n {
        let line_start = i;
        let mut j = i;
        while j < n && b[j] == b' ' {
            j += 1;
        }
        let indent = j - i;
        // Blank and comment-only lines do not count for indentation.
        let mut k = j;
        while k < n && matches!(b[k], b' ' | b'\t' | b'\x0c') {
            k += 1;
        }
        match b.get(k) {
            None => break,
            Some(b'\n') => {
                i = k + 1;
                continue;
            }
            Some(b'\r') if b.get(k + 1) == Some(&b'\n') => {
                i = k + 2;
                continue;
            }
            Some(b'#') => {
                i = memchr::memchr(b'\n', &b[k..]).map_or(n, |p| k + p + 1);
                continue;
            }
            Some(&c) if k != j || c >= 0x80 || !(c.is_ascii_graphic()) => return None,
            Some(_) => {}
        }
        // Python's indentation rules.
        let top = *indents.last().unwrap_or(&0);
        if expect_indent {
            if indent <= top {
                return None;
            }
            indents.push(indent);
        } else {
            if indent > top {
                return None;
            }
            while indents.last().is_some_and(|&t| indent < t) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                return None;
            }
        }
        // A line at or left of an open unit or class closes it.
        if let Some((u, ind)) = unit
            && indent <= ind
        {
            out.units.push(Unit { end: last_code_end, tail: line_start, ..u });
            unit = None;
        }
        while let Some(&(c, ind)) = classes.last() {
            if indent > ind {
                break;
            }
            classes.pop();
            out.classes[c].tail = line_start;
        }
        let kind = head(b, j);
        if let Some((u, _)) = unit.as_mut() {
            u.has_class |= kind == Head::Class;
        } else {
            match kind {
                Head::Decorator => match decorators {
                    Some((_, ind)) if ind != indent => return None,
                    Some(_) => {}
                    None => decorators = Some((line_start, indent)),
                },
                Head::Def => {
                    let start = match decorators.take() {
                        Some((s, ind)) if ind == indent => s,
                        Some(_) => return None,
                        None => line_start,
                    };
                    let class = classes.last().map(|&(c, _)| c);
                    unit = Some((Unit { start, def_at: j, end: 0, tail: 0, class, has_class: false }, indent));
                }
                Head::Class => {
                    if decorators.take().is_some_and(|(_, ind)| ind != indent) {
                        return None;
                    }
                    let mut s = j + 5;
                    while s < n && matches!(b[s], b' ' | b'\t') {
                        s += 1;
                    }
                    let mut e = s;
                    while e < n && is_ident(b[e]) {
                        e += 1;
                    }
                    if e == s {
                        return None; // a class whose name the lexer cannot read
                    }
                    let parent = classes.last().map(|&(c, _)| c);
                    out.classes.push(Class { start: line_start, tail: n, name: (s, e), parent });
                    classes.push((out.classes.len() - 1, indent));
                }
                Head::Other => {
                    if decorators.is_some() {
                        return None;
                    }
                }
            }
        }
        // The rest of the logical line.
        let mut depth = 0usize;
        let mut last = 0u8;
        let mut k = j;
        let end = loop {
            let Some(&c) = b.get(k) else {
                if depth > 0 {
                    return None;
                }
                break n;
            };
            match c {
                b'\n' => {
                    k += 1;
                    if depth == 0 {
                        break k;
                    }
                }
                b'#' => k = memchr::memchr(b'\n', &b[k..]).map_or(n, |p| k + p),
                b'\\' => {
                    k += match (b.get(k + 1), b.get(k + 2)) {
                        (Some(b'\n'), _) => 2,
                        (Some(b'\r'), Some(b'\n')) => 3,
                        _ => return None,
                    };
                    // A continuation into a blank line, a comment or the end of the text is an error.
                    let rest = b[k..].iter().find(|&&c| !matches!(c, b' ' | b'\t' | b'\x0c'));
                    if matches!(rest, None | Some(b'\n' | b'\r' | b'#')) {
                        return None;
                    }
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    last = c;
                    k += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    last = c;
                    k += 1;
                }
                b'"' | b'\'' => {
                    k = skip_string(b, k)?;
                    last = b'"';
                }
                _ => {
                    // A run of bytes that matter only as the last one of the line.
                    let run = b[k..].iter().position(|&c| SPECIAL[usize::from(c)]).map_or(n, |p| k + p);
                    if let Some(&c) = b[k..run].iter().rev().find(|&&c| !matches!(c, b' ' | b'\t' | b'\x0c' | b'\r')) {
                        last = c;
                    }
                    k = run;
                }
            }
        };
        expect_indent = last == b':';
        if unit.is_none() {
            // Import statements and `getLogger` assignments outside functions, wherever they stand
            // on the line (`try: import json as js`, `a = 1; _log = getLogger()`).
            if imports.contains(line_start, end) {
                out.imports.push((line_start, end));
            }
            if loggers.contains(line_start, end) {
                out.loggers.push((line_start, end));
            }
        }
        last_code_end = end;
        i = end;
    }
    if expect_indent || decorators.is_some() {
        return None;
    }
    if let Some((u, _)) = unit {
        out.units.push(Unit { end: last_code_end, tail: n, ..u });
    }
    // `pass` must fit on the `def` line.
    if out
        .units
        .iter()
        .any(|u| u.def_at + 4 > u.end || b[u.def_at..u.def_at + 4].iter().any(|&c| c == b'\n' || c == b'\r'))
    {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The units of `text` as (first line, last line), 1-based.
    fn units(text: &str) -> Option<Vec<(usize, usize)>> {
        let line = |byte: usize| text[..byte].matches('\n').count() + 1;
        let layout = layout(text.as_bytes(), &[], &[])?;
        Some(layout.units.iter().map(|u| (line(u.start), line(u.end - 1))).collect())
    }

    const EXCEPT: Triggers = Triggers { words: &["except"], ..Triggers::NONE };

    fn prune_with(triggers: &[Triggers], text: &str) -> Option<String> {
        let pruned = Selector::new(triggers)?.prune(text.as_bytes())?;
        assert_eq!(pruned.text.len(), text.len());
        Some(String::from_utf8(pruned.text).unwrap())
    }

    fn parses_cleanly(text: &str) -> bool {
        !crate::engine::new_parser().parse(text, None).unwrap().root_node().has_error()
    }

    #[test]
    fn a_unit_runs_from_its_first_decorator_to_its_last_code_line() {
        let code = "import x\n\n@a.b(\n    c)\n@d\ndef f():\n    return 1\n\n# about g\nasync def g():\n    pass\n";
        assert_eq!(units(code), Some(vec![(3, 7), (10, 11)]));
    }

    #[test]
    fn methods_are_units_and_nested_functions_belong_to_theirs() {
        let code = "class A(object):\n    x = 1\n\n    def f(self):\n        def inner():\n            pass\n        return inner\n\n    @property\n    def g(self):\n        return 2\nclass B:\n    pass\n";
        assert_eq!(units(code), Some(vec![(4, 7), (9, 11)]));
        let layout = layout(code.as_bytes(), &[], &[]).unwrap();
        assert_eq!(layout.classes.len(), 2);
    }

    #[test]
    fn strings_and_comments_do_not_cut() {
        let code = concat!(
            "def f():\n",
            "    '''Docstring.\n",
            "def not_a_function():\n",
            "dedented text\n",
            "'''\n",
            "    x = f\"{a['k']}\" + rb'\\'' + \"\\\"\"\n",
            "# a comment at column 0\n",
            "        # a deeper one\n",
            "    y = (1,\n",
            "2)\n",
            "    z = [\n",
            "  ']'  # ]\n",
            "    ]\n",
            "    w = 1 + \\\n",
            "2\n",
            "    return '''\n",
            "'''\n",
            "def g(): return 1\n",
            "v = 2\n",
        );
        assert_eq!(units(code), Some(vec![(1, 17), (18, 18)]));
    }

    #[test]
    fn crlf_lines_are_kept() {
        let code = "def f():\r\n    return 1\r\n\r\nx = 1\r\n";
        assert_eq!(units(code), Some(vec![(1, 2)]));
        let blanked = prune_with(&[EXCEPT], code).unwrap();
        assert_eq!(blanked, "pass    \r\n            \r\n\r\nx = 1\r\n");
    }

    #[test]
    fn unsure_cuts_fall_back() {
        for code in [
            "def f():\n\treturn 1\n",                 // tab indentation
            "def f():\n    x = '\n",                  // unterminated string
            "def f():\n    x = '''\n",                // unterminated triple-quoted string
            "def f():\n    x = (1,\n",                // unclosed bracket
            "def f():\n    x = 1)\n",                 // unbalanced bracket
            "def f():\n    x = 1\n      y = 2\n",     // unexpected indent
            "def f():\n        x = 1\n    y = 2\n",   // inconsistent dedent
            "def f():\n",                             // a block without a body
            "@dec\nx = 1\n",                          // a decorator on nothing
            "def f():\n    x = f\"{d[\"k\"]}\"\n",    // same quotes nested in an f-string
            "def f():\n    return x\\ y\n",           // a backslash that continues nothing
            "\u{a0}def f():\n    pass\n",             // non-ASCII white space
            "def f():\n\x0c    pass\n",               // form feed in indentation
            "def f():\n    return print\"x\"\n",      // not a string prefix
            "def f():\n    return 1 + \\\n\nx = 1\n", // a continuation into a blank line
            "def f():\n    return 1 + \\\n    # c\n", // a continuation into a comment
            "def f():\n    return 1 + \\\n",          // a continuation into the end of the text
            "def f():\n    return '\0'\n",            // a NUL byte
        ] {
            assert_eq!(units(code), None, "{code:?}");
        }
    }

    #[test]
    fn blanking_keeps_offsets_and_parses() {
        let code = "class A:\n    @d\n    def f(self):\n        return '''\nx'''\n\n    async def g(self):\n        try:\n            pass\n        except Exception:\n            pass\n";
        let blanked = prune_with(&[EXCEPT], code).unwrap();
        assert_eq!(blanked.len(), code.len());
        assert_eq!(blanked.lines().count(), code.lines().count());
        assert!(blanked.starts_with("class A:\n      \n    pass"), "{blanked}");
        assert!(blanked.contains("async def g"), "{blanked}");
        assert!(parses_cleanly(&blanked));
        // Every method blanked: the class still parses.
        let blanked = prune_with(&[Triggers::NONE], code).unwrap();
        assert!(!blanked.contains("def"), "{blanked}");
        assert!(parses_cleanly(&blanked));
    }

    #[test]
    fn skipping_the_gaps_gives_the_tree_of_the_whole_blanked_text() {
        let code = "import x\r\n\r\nclass A:\r\n    @d(1,\r\n       2)\r\n    def f(self):\r\n        return '''\r\nx'''\r\n\r\n    x = 1\r\n\r\n    def g(self):\r\n        try:\r\n            pass\r\n        except Exception:\r\n            pass\r\n# tail\r\n@e\r\nasync def h():\r\n    y = 'ü'\r\n\r\n\r\ndef k(): return 1\r\n";
        let selector = Selector::new(&[EXCEPT]).unwrap();
        let pruned = selector.prune(code.as_bytes()).unwrap();
        assert!(pruned.gaps.len() >= 3, "{:?}", pruned.gaps);
        for &(start, end) in &pruned.gaps {
            assert!(pruned.text[start..end].iter().all(|b| b" \r\n".contains(b)));
        }
        let mut parser = crate::engine::new_parser();
        let whole = parser.parse(&pruned.text, None).unwrap();
        let ranged = crate::engine::parse_pruned(&mut parser, &pruned).unwrap();
        assert!(!ranged.root_node().has_error());
        let spans = |t: &tree_sitter::Tree| {
            let mut out = Vec::new();
            let mut cursor = t.walk();
            'walk: loop {
                let n = cursor.node();
                out.push((n.kind(), n.start_byte(), n.end_byte(), n.start_position(), n.end_position()));
                if cursor.goto_first_child() {
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    if !cursor.goto_parent() {
                        break 'walk;
                    }
                }
            }
            out
        };
        assert_eq!(spans(&ranged), spans(&whole), "every node at the same bytes and points");
        // The parser is left parsing whole documents.
        let again = parser.parse(code, None).unwrap();
        assert_eq!(spans(&again), spans(&crate::engine::new_parser().parse(code, None).unwrap()));
    }

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
    fn deep_nesting_is_no_problem() {
        let n = 50_000;
        let code = format!("def f():\n    x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(units(&code), Some(vec![(1, 2)]));
        let deep: String = (1..=2000).map(|i| format!("{}if x:\n", " ".repeat(i))).collect();
        let code = format!("def f():\n{deep}{}pass\ny = 1\n", " ".repeat(2001));
        assert_eq!(units(&code), Some(vec![(1, 2002)]));
    }
}
