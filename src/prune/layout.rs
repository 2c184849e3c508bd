//! Unit discovery: the lexical pass ([`layout`]) that cuts a text into *units* — the outermost function
//! definitions with their decorators — and finds the classes outside functions and the module-level
//! lines that bind trigger names (imports, `getLogger` results). It checks indentation the way
//! Python's tokenizer does and declines (`None`) whenever it cannot vouch for the cut.

use super::lex::{self, CodeLine, Head, Next};

/// One function definition the lexer found: from its first decorator line to the end of its last
/// logical line (line break included); `def_at` is where `def` (or `async`) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unit {
    pub start: usize,
    pub def_at: usize,
    pub end: usize,
    /// Where the next code line starts (or the end of the text): the comment lines between `end` and
    /// `tail` are not blanked, but tree-sitter may count them in the function (a finding on a
    /// suppression comment there gets the function as scope), so they are searched for triggers.
    pub tail: usize,
    /// The innermost class around it (index in [`Layout::classes`]).
    pub class: Option<usize>,
    /// It holds a class statement.
    pub has_class: bool,
}

/// A class outside functions: from its `class` line to where the next code line at its indentation
/// or less starts (or the end of the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Class {
    pub start: usize,
    pub tail: usize,
    /// Byte range of its name.
    pub name: (usize, usize),
    /// The class around it.
    pub parent: Option<usize>,
    /// How many classes are around it.
    pub depth: usize,
}

/// What the lexical pass found.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub units: Vec<Unit>,
    /// Classes outside functions, in source order.
    pub classes: Vec<Class>,
    /// Logical lines outside functions that hold `import`: (start, end).
    pub imports: Vec<(usize, usize)>,
    /// Logical lines outside functions that hold `getLogger`: (start, end).
    pub loggers: Vec<(usize, usize)>,
}

/// The lexical pass. `imports` and `loggers` hold the sorted offsets of `import` and `getLogger` in
/// the text: logical lines outside functions holding one are recorded. One forward pass over the
/// logical lines: check the indentation, close what the line leaves, open what it starts, read to its
/// end.
pub(super) fn layout(b: &[u8], imports: &[usize], loggers: &[usize]) -> Option<Layout> {
    if memchr::memchr(0, b).is_some() {
        return None; // tree-sitter may read a NUL as the end of the input
    }
    let mut pass = Pass::new(b, imports, loggers);
    let mut i = 0;
    while let Next::Code(line) = lex::next_code_line(b, i)? {
        pass.indentation(line.indent)?;
        pass.close_scopes(line);
        pass.statement(line)?;
        let (end, last) = lex::logical_line(b, line.code)?;
        pass.expect_indent = last == b':';
        pass.module_lines(line.start, end);
        pass.last_code_end = end;
        i = end;
    }
    pass.finish()
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

/// The state of the pass between two logical lines.
struct Pass<'b, 'm> {
    b: &'b [u8],
    out: Layout,
    imports: Marks<'m>,
    loggers: Marks<'m>,
    /// Indentation of the open blocks, outermost first.
    indents: Vec<usize>,
    /// The last logical line ended with `:`.
    expect_indent: bool,
    /// The open unit and its indentation.
    unit: Option<(Unit, usize)>,
    /// Open classes outside units: (index in `out.classes`, indent), outermost first.
    classes: Vec<(usize, usize)>,
    /// First decorator line of a run not yet followed by its definition: (start, indent).
    decorators: Option<(usize, usize)>,
    /// Where the last logical line ended.
    last_code_end: usize,
}

impl<'b, 'm> Pass<'b, 'm> {
    fn new(b: &'b [u8], imports: &'m [usize], loggers: &'m [usize]) -> Self {
        Pass {
            b,
            out: Layout::default(),
            imports: Marks { at: imports, next: 0 },
            loggers: Marks { at: loggers, next: 0 },
            indents: vec![0],
            expect_indent: false,
            unit: None,
            classes: Vec::new(),
            decorators: None,
            last_code_end: 0,
        }
    }

    /// Python's indentation rules: one level deeper after a `:` line, else back to an open level.
    fn indentation(&mut self, indent: usize) -> Option<()> {
        let top = *self.indents.last().unwrap_or(&0);
        if self.expect_indent {
            if indent <= top {
                return None;
            }
            self.indents.push(indent);
        } else {
            if indent > top {
                return None;
            }
            while self.indents.last().is_some_and(|&t| indent < t) {
                self.indents.pop();
            }
            if self.indents.last() != Some(&indent) {
                return None;
            }
        }
        Some(())
    }

    /// A line at or left of an open unit or class closes it.
    fn close_scopes(&mut self, line: CodeLine) {
        if let Some((u, ind)) = self.unit
            && line.indent <= ind
        {
            self.out.units.push(Unit { end: self.last_code_end, tail: line.start, ..u });
            self.unit = None;
        }
        while let Some(&(c, ind)) = self.classes.last() {
            if line.indent > ind {
                break;
            }
            self.classes.pop();
            self.out.classes[c].tail = line.start;
        }
    }

    /// Opens what the line starts outside a unit (a decorator run, a unit, a class); inside a unit,
    /// notes a class statement.
    fn statement(&mut self, line: CodeLine) -> Option<()> {
        let kind = lex::head(self.b, line.code);
        if let Some((u, _)) = self.unit.as_mut() {
            u.has_class |= kind == Head::Class;
            return Some(());
        }
        match kind {
            Head::Decorator => match self.decorators {
                Some((_, ind)) if ind != line.indent => return None,
                Some(_) => {}
                None => self.decorators = Some((line.start, line.indent)),
            },
            Head::Def => {
                let start = match self.decorators.take() {
                    Some((s, ind)) if ind == line.indent => s,
                    Some(_) => return None,
                    None => line.start,
                };
                let class = self.classes.last().map(|&(c, _)| c);
                let unit = Unit { start, def_at: line.code, end: 0, tail: 0, class, has_class: false };
                self.unit = Some((unit, line.indent));
            }
            Head::Class => {
                if self.decorators.take().is_some_and(|(_, ind)| ind != line.indent) {
                    return None;
                }
                // A class whose name the lexer cannot read: unsure.
                let name = lex::class_name(self.b, line.code)?;
                let parent = self.classes.last().map(|&(c, _)| c);
                let depth = self.classes.len();
                self.out.classes.push(Class { start: line.start, tail: self.b.len(), name, parent, depth });
                self.classes.push((self.out.classes.len() - 1, line.indent));
            }
            Head::Other => {
                if self.decorators.is_some() {
                    return None;
                }
            }
        }
        Some(())
    }

    /// Records import statements and `getLogger` assignments outside functions, wherever they stand
    /// on the line (`try: import json as js`, `a = 1; _log = getLogger()`).
    fn module_lines(&mut self, start: usize, end: usize) {
        if self.unit.is_some() {
            return;
        }
        if self.imports.contains(start, end) {
            self.out.imports.push((start, end));
        }
        if self.loggers.contains(start, end) {
            self.out.loggers.push((start, end));
        }
    }

    /// Closes the open unit at the end of the text; `None` if a block or a decorator run is left
    /// open, or a `pass` would not fit on some unit's `def` line.
    fn finish(mut self) -> Option<Layout> {
        if self.expect_indent || self.decorators.is_some() {
            return None;
        }
        if let Some((u, _)) = self.unit {
            self.out.units.push(Unit { end: self.last_code_end, tail: self.b.len(), ..u });
        }
        let b = self.b;
        if self
            .out
            .units
            .iter()
            .any(|u| u.def_at + 4 > u.end || b[u.def_at..u.def_at + 4].iter().any(|&c| c == b'\n' || c == b'\r'))
        {
            return None;
        }
        Some(self.out)
    }
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
    fn crlf_lines_are_cut_like_lf_lines() {
        let code = "def f():\r\n    return 1\r\n\r\nx = 1\r\n";
        assert_eq!(units(code), Some(vec![(1, 2)]));
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
    fn deep_nesting_is_no_problem() {
        let n = 50_000;
        let code = format!("def f():\n    x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(units(&code), Some(vec![(1, 2)]));
        let deep: String = (1..=2000).map(|i| format!("{}if x:\n", " ".repeat(i))).collect();
        let code = format!("def f():\n{deep}{}pass\ny = 1\n", " ".repeat(2001));
        assert_eq!(units(&code), Some(vec![(1, 2002)]));
    }
}
