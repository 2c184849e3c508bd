//! Lexing for the selective-parsing pre-pass: byte classes and words, the statement a line starts
//! ([`head`]), the next line that holds code ([`next_code_line`]), the end of a logical line with its
//! strings, brackets, comments and continuations ([`logical_line`], [`skip_string`]). Each function
//! reads forward from where it is told and returns `None` wherever it cannot vouch for what it read.

/// Can `b` be part of an identifier (non-ASCII bytes count: Python identifiers may hold letters of any
/// script)?
pub(super) fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Does `text[s..e]` stand as a whole word?
pub(super) fn is_word_at(text: &[u8], s: usize, e: usize) -> bool {
    (s == 0 || !is_ident(text[s - 1])) && text.get(e).is_none_or(|&b| !is_ident(b))
}

/// Is `text[s..e]` a method or attribute name: a whole word with a `.` before it, spaces, tabs and
/// line continuations allowed between (`policy.check`, `context. can`, `x.\` + newline + `y`)?
pub fn is_method_at(text: &[u8], s: usize, e: usize) -> bool {
    let before = text[..s].iter().rev().find(|b| !matches!(b, b' ' | b'\t' | b'\\' | b'\r' | b'\n'));
    before == Some(&b'.') && is_word_at(text, s, e)
}

fn starts_word(b: &[u8], at: usize, word: &[u8]) -> bool {
    b[at..].starts_with(word) && b.get(at + word.len()).is_none_or(|&c| !is_ident(c))
}

/// The kind of statement a logical line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Head {
    Def,
    Class,
    Decorator,
    Other,
}

/// What kind of statement starts at `at` (the first non-blank byte of a logical line).
pub(super) fn head(b: &[u8], at: usize) -> Head {
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

/// The byte range of the name of the class whose `class` keyword starts at `at`, or `None` when the
/// lexer cannot read one.
pub(super) fn class_name(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut s = at + 5;
    while s < b.len() && matches!(b[s], b' ' | b'\t') {
        s += 1;
    }
    let mut e = s;
    while e < b.len() && is_ident(b[e]) {
        e += 1;
    }
    (e > s).then_some((s, e))
}

/// A line that holds code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CodeLine {
    /// Where the line starts.
    pub start: usize,
    /// Its first non-blank byte.
    pub code: usize,
    /// Its indentation in spaces.
    pub indent: usize,
}

/// What [`next_code_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    Code(CodeLine),
    /// Nothing but blank and comment lines up to the end of the text.
    End,
}

/// The first line at or after `i` (a line start) that holds code: blank and comment-only lines do not
/// count for indentation and are passed over. `None` when the line's indentation is not plain spaces
/// (a tab or form feed before code), or its first byte is not printable ASCII.
pub(super) fn next_code_line(b: &[u8], mut i: usize) -> Option<Next> {
    let n = b.len();
    while i < n {
        let mut j = i;
        while j < n && b[j] == b' ' {
            j += 1;
        }
        let mut k = j;
        while k < n && matches!(b[k], b' ' | b'\t' | b'\x0c') {
            k += 1;
        }
        match b.get(k) {
            None => break,
            Some(b'\n') => i = k + 1,
            Some(b'\r') if b.get(k + 1) == Some(&b'\n') => i = k + 2,
            Some(b'#') => i = memchr::memchr(b'\n', &b[k..]).map_or(n, |p| k + p + 1),
            Some(&c) if k != j || c >= 0x80 || !(c.is_ascii_graphic()) => return None,
            Some(_) => return Some(Next::Code(CodeLine { start: i, code: j, indent: j - i })),
        }
    }
    Some(Next::End)
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

/// Reads the logical line whose code starts at `from`, through brackets, strings, comments and
/// backslash continuations. Returns where it ends (just past its line break, or the end of the text)
/// and its last significant byte (`:` opens a block; a string counts as `"`). `None` when unsure:
/// unbalanced brackets, an unterminated or unknown string, a backslash that continues nothing or
/// continues into a blank line, a comment or the end of the text.
pub(super) fn logical_line(b: &[u8], from: usize) -> Option<(usize, u8)> {
    let n = b.len();
    let mut depth = 0usize;
    let mut last = 0u8;
    let mut k = from;
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
    Some((end, last))
}

/// Skips the string literal whose opening quote is at `q`; returns the index just past it, or `None`
/// when unsure (unterminated, a same-quote string inside an f-string field, an unknown prefix).
pub(super) fn skip_string(b: &[u8], q: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of_string(code: &str) -> Option<&str> {
        let q = code.find(['"', '\'']).unwrap();
        skip_string(code.as_bytes(), q).map(|e| &code[e..])
    }

    #[test]
    fn strings_of_every_kind_are_skipped_whole() {
        assert_eq!(end_of_string("'a' + 1"), Some(" + 1"));
        assert_eq!(end_of_string("rb'\\'' x"), Some(" x"));
        assert_eq!(end_of_string("'''a\n'b'\n''' x"), Some(" x"));
        assert_eq!(end_of_string("f\"{d['k']}{{\" x"), Some(" x"));
        assert_eq!(end_of_string("f'{a:{w}}' x"), Some(" x"));
        assert_eq!(end_of_string("'a\\\r\nb' x"), Some(" x"));
    }

    #[test]
    fn unsure_strings_are_none() {
        assert_eq!(end_of_string("'a\n'"), None, "a line break in a one-line string");
        assert_eq!(end_of_string("'''a"), None, "unterminated");
        assert_eq!(end_of_string("f\"{d[\"k\"]}\""), None, "same quotes nested in an f-string field");
        assert_eq!(end_of_string("print'x'"), None, "not a string prefix");
        assert_eq!(end_of_string("x1'a'"), None, "a prefix glued to an identifier");
    }

    #[test]
    fn a_logical_line_runs_through_brackets_and_continuations() {
        fn line(code: &str) -> Option<(&str, char)> {
            logical_line(code.as_bytes(), 0).map(|(end, last)| (&code[..end], last as char))
        }
        assert_eq!(line("x = (1,\n2)\ny"), Some(("x = (1,\n2)\n", ')')));
        assert_eq!(line("if x:  # c\n    y"), Some(("if x:  # c\n", ':')));
        assert_eq!(line("x = 1 + \\\n  2\n"), Some(("x = 1 + \\\n  2\n", '2')));
        assert_eq!(line("x = ')'\n"), Some(("x = ')'\n", '"')));
        assert_eq!(line("x = (1,\n"), None);
        assert_eq!(line("x = 1)\n"), None);
        assert_eq!(line("x = 1 + \\\n\n"), None);
    }

    #[test]
    fn blank_and_comment_lines_are_passed_over() {
        let code = b"\n  \n# c\n    # d\r\n\r\n  x = 1\n";
        assert_eq!(next_code_line(code, 0), Some(Next::Code(CodeLine { start: 19, code: 21, indent: 2 })));
        assert_eq!(next_code_line(b"\n# only\n", 0), Some(Next::End));
        assert_eq!(next_code_line(b"\tx\n", 0), None);
        assert_eq!(next_code_line(b"\xc2\xa0x\n", 0), None);
    }

    #[test]
    fn heads() {
        let h = |code: &str| head(code.as_bytes(), 0);
        assert_eq!(h("def f():"), Head::Def);
        assert_eq!(h("async  def f():"), Head::Def);
        assert_eq!(h("asyncdef = 1"), Head::Other);
        assert_eq!(h("define = 1"), Head::Other);
        assert_eq!(h("class A:"), Head::Class);
        assert_eq!(h("@d"), Head::Decorator);
        assert_eq!(class_name(b"class  Abc(x):", 0), Some((7, 10)));
        assert_eq!(class_name(b"class (x):", 0), None);
    }
}
