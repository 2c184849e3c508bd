//! Source files: bytes → text (BOM, PEP 263 coding cookie, invalid UTF-8), a line index, and the
//! byte ↔ (line, UTF-16 column) mapping every report format uses.
//!
//! Line breaks are `\n`, `\r\n` and a lone `\r`, as Python counts them. Text handed to the parser has
//! every lone `\r` replaced by `\n` (same length, so byte offsets agree with [`SourceFile::text`]).

use std::path::PathBuf;

/// A decoded Python source file with its line index.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as discovered (used to open the file).
    pub path: PathBuf,
    /// Display path: relative to the working directory where possible, `/`-separated.
    pub display: String,
    /// Decoded text (BOM removed).
    pub text: String,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    /// Lines that hold only ASCII: there a column is a byte count, with no UTF-16 counting (which on
    /// a long line would make every position cost the line's length).
    ascii_lines: Vec<bool>,
    /// For long lines that are not ASCII: (byte offset, UTF-16 column) every [`CHECKPOINT`] bytes, so
    /// a position counts at most that many bytes.
    checkpoints: std::collections::HashMap<usize, Vec<(usize, usize)>>,
}

/// How decoding went, when it was not plain UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeNote {
    /// The bytes were not valid UTF-8; invalid sequences became U+FFFD.
    InvalidUtf8 { byte_offset: usize },
    /// A coding cookie named an encoding trunkguard does not know; decoded as UTF-8, lossily.
    UnknownEncoding { name: String },
}

/// A resolved position: 1-based line, 1-based column in UTF-16 code units.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    /// How many function definitions the file has: lines whose first word is `def` (or `async def`).
    /// Counted on the text, not the tree, so that it is the same whether or not selective parsing
    /// skipped a function (a `def` at the start of a line inside a string counts too: rare, harmless).
    pub fn function_count(&self) -> usize {
        // Each `def` and a blank at the first word of its line, or at the second after `async` and a
        // blank (what a `trim_start` reading of every line picks), found with memchr. Every byte is
        // looked at a bounded number of times, however many `def`s a line holds.
        let (text, bytes) = (self.text.as_str(), self.text.as_bytes());
        let blanks = |from: usize| {
            let run = text[from..].chars().take_while(|c| c.is_whitespace() && *c != '\n');
            from + run.map(char::len_utf8).sum::<usize>()
        };
        let (mut scanned, mut line_start, mut starts) = (0, 0, None);
        let mut count = 0;
        for at in memchr::memmem::find_iter(bytes, "def") {
            if let Some(n) = memchr::memrchr(b'\n', &bytes[scanned..at]) {
                (line_start, starts) = (scanned + n + 1, None);
            }
            scanned = at;
            if !bytes.get(at + 3).is_some_and(|b| matches!(b, b' ' | b'\t')) {
                continue;
            }
            // Where a line's first word, and the word after a leading `async`, start: once per line.
            let (first, after_async) = *starts.get_or_insert_with(|| {
                let first = blanks(line_start);
                let spaced = text[first..].strip_prefix("async").is_some_and(|r| r.starts_with([' ', '\t']));
                (first, spaced.then(|| blanks(first + "async".len())))
            });
            count += usize::from(at == first || Some(at) == after_async);
        }
        count
    }

    /// Decodes `bytes` and builds the line index. Never fails: undecodable input is decoded lossily and
    /// the returned note says so.
    pub fn decode(path: PathBuf, display: String, bytes: &[u8]) -> (SourceFile, Option<DecodeNote>) {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (text, note) = match coding_cookie(bytes).as_deref() {
            None | Some("utf-8") => decode_utf8(bytes),
            Some("latin-1") => (bytes.iter().map(|&b| b as char).collect(), None),
            Some(other) => {
                let (text, _) = decode_utf8(bytes);
                (text, Some(DecodeNote::UnknownEncoding { name: other.to_string() }))
            }
        };
        (SourceFile::from_text(path, display, text), note)
    }

    /// Builds a source file from text that is already decoded.
    pub fn from_text(path: PathBuf, display: String, text: String) -> SourceFile {
        let line_starts = line_starts(&text);
        let ends = line_starts.iter().skip(1).copied().chain(std::iter::once(text.len()));
        let mut checkpoints = std::collections::HashMap::new();
        let ascii_lines = line_starts
            .iter()
            .zip(ends)
            .enumerate()
            .map(|(line, (&a, b))| {
                let ascii = text.as_bytes()[a..b].is_ascii();
                if !ascii && b - a > CHECKPOINT {
                    checkpoints.insert(line, line_checkpoints(&text, a, b));
                }
                ascii
            })
            .collect();
        SourceFile { path, display, text, line_starts, ascii_lines, checkpoints }
    }

    /// The text as the parser should see it: lone `\r` line breaks turned into `\n`.
    pub fn parser_text(&self) -> std::borrow::Cow<'_, str> {
        let b = self.text.as_bytes();
        let lone_cr = |i: usize| b[i] == b'\r' && b.get(i + 1) != Some(&b'\n');
        if !memchr::memchr_iter(b'\r', b).any(lone_cr) {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        let fixed: Vec<u8> = (0..b.len()).map(|i| if lone_cr(i) { b'\n' } else { b[i] }).collect();
        // Replacing one ASCII byte by another keeps the text valid UTF-8.
        std::borrow::Cow::Owned(
            String::from_utf8(fixed).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 0-based line index containing `byte`.
    fn line_index(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The position of a byte offset (clamped to the text).
    pub fn position(&self, byte: usize) -> Position {
        let byte = floor_char_boundary(&self.text, byte.min(self.text.len()));
        let line = self.line_index(byte);
        let start = self.line_starts[line];
        let ascii = self.ascii_lines.get(line).copied().unwrap_or(false);
        let (from, counted) = match self.checkpoints.get(&line) {
            Some(marks) => marks[marks.partition_point(|&(at, _)| at <= byte).saturating_sub(1)],
            None => (start, 0),
        };
        let column = if ascii { byte - start } else { counted + self.text[from..byte].encode_utf16().count() } + 1;
        Position { line: line + 1, column }
    }

    /// The text of 1-based line `line`, without its line break (empty past the end).
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else { return "" };
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset where 1-based line `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line.wrapping_sub(1)).copied().unwrap_or(self.text.len())
    }
}

/// Bytes between two UTF-16 column checkpoints on a long non-ASCII line.
const CHECKPOINT: usize = 4096;

/// (byte offset, UTF-16 units from `start`) at `start` and then every [`CHECKPOINT`] bytes (on char
/// boundaries) up to `end`.
fn line_checkpoints(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut marks = vec![(start, 0)];
    let mut at = start;
    while at + CHECKPOINT < end {
        // A char is at most 4 bytes: the boundary is past `at`.
        let next = floor_char_boundary(text, at + CHECKPOINT);
        let units = marks.last().map_or(0, |m| m.1) + text[at..next].encode_utf16().count();
        marks.push((next, units));
        at = next;
    }
    marks
}

/// The default `max-file-size`: 4 MiB. The largest Python file in the OpenStack releases trunkguard is
/// measured on (nova's `test_driver.py`) is 1.5 MB; a larger file is generated or hostile. Analysing a
/// file costs about 20 MB of memory per MB of ordinary code, and up to 200 MB per MB of the densest
/// (one huge list literal), per file in flight (see the README): 4 MiB bounds that at ~0.8 GB a thread.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// Deepest indentation nesting trunkguard hands to the parser. tree-sitter-python's external scanner
/// serialises its indent stack (two bytes a level) plus open string delimiters into tree-sitter's
/// 1024-byte state buffer; past about 500 levels it overflows it and the C runtime aborts the process.
/// Real code stays far below this; deeper files are reported and skipped.
pub const MAX_INDENT_LEVELS: usize = 300;

/// Does the text open more than `limit` nested indentation levels (as Python's tokenizer counts
/// them: tabs to the next multiple of 8; blank and comment lines ignored)? One pass, no recursion.
pub fn indentation_exceeds(text: &str, limit: usize) -> bool {
    // Each level is at least one column deeper than the one it opens in, so text whose widest
    // indentation is at most `limit` columns cannot nest deeper: one pass over the bytes decides.
    if max_indent_width(text.as_bytes()) <= limit {
        return false;
    }
    let mut stack: Vec<usize> = vec![0];
    for line in text.split(['\n', '\r']) {
        let mut width = 0;
        let mut rest = line;
        while let Some(c) = rest.chars().next().filter(|c| matches!(c, ' ' | '\t' | '\x0c')) {
            width = if c == '\t' { (width / 8 + 1) * 8 } else { width + 1 };
            rest = &rest[1..];
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        while stack.len() > 1 && width < stack[stack.len() - 1] {
            stack.pop();
        }
        if width > stack[stack.len() - 1] {
            stack.push(width);
            if stack.len() > limit + 1 {
                return true;
            }
        }
    }
    false
}

/// The widest leading whitespace of any line, in columns (tabs to the next multiple of 8).
fn max_indent_width(bytes: &[u8]) -> usize {
    let width = |start: usize| {
        let mut width = 0;
        for &b in &bytes[start..] {
            match b {
                b' ' | b'\x0c' => width += 1,
                b'\t' => width = (width / 8 + 1) * 8,
                _ => break,
            }
        }
        width
    };
    let line_starts = std::iter::once(0).chain(memchr::memchr2_iter(b'\n', b'\r', bytes).map(|i| i + 1));
    line_starts.map(width).max().unwrap_or(0)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = vec![0];
    for i in memchr::memchr2_iter(b'\n', b'\r', b) {
        // `\r\n` is one break: its `\n` records the start of the next line.
        if b[i] == b'\n' || b.get(i + 1) != Some(&b'\n') {
            starts.push(i + 1);
        }
    }
    starts
}

fn decode_utf8(bytes: &[u8]) -> (String, Option<DecodeNote>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(e) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(DecodeNote::InvalidUtf8 { byte_offset: e.valid_up_to() }),
        ),
    }
}

/// The normalised encoding named by a PEP 263 cookie on line 1 or 2, if any.
fn coding_cookie(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|&b| b == b'\n' || b == b'\r').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        if !trimmed.starts_with('#') {
            continue;
        }
        let Some(at) = trimmed.find("coding") else { continue };
        let rest = &trimmed[at + "coding".len()..];
        let Some(rest) = rest.strip_prefix([':', '=']) else { continue };
        let name: String = rest
            .trim_start_matches([' ', '\t'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if name.is_empty() {
            continue;
        }
        return Some(normalise_encoding(&name));
    }
    None
}

fn normalise_encoding(name: &str) -> String {
    let n = name.to_ascii_lowercase().replace('_', "-");
    match n.as_str() {
        "utf-8" | "utf8" | "utf-8-sig" | "ascii" | "us-ascii" => "utf-8".into(),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "iso-latin-1" | "l1" => "latin-1".into(),
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_counted_on_the_text() {
        let src = SourceFile::from_text(
            "a.py".into(),
            "a.py".into(),
            "def f():\n    def g(): pass\nasync  def h():\n    pass\nclass C:\n\tdef m(self): ...\ndefault = 1\n# def x\n".into(),
        );
        assert_eq!(src.function_count(), 4);
        let src = SourceFile::from_text(
            "b.py".into(),
            "b.py".into(),
            "asyncdef f():\nx = 1\rdef g(): pass\r\n  \u{a0}def h(): pass\nasync\tdef i(): pass\ndef\tj(): pass\ndef"
                .into(),
        );
        assert_eq!(src.function_count(), 3, "h, i and j");
        let src = SourceFile::from_text(
            "c.py".into(),
            "c.py".into(),
            "  def a(): pass; def b(): pass\nx = 'def def '\n".into(),
        );
        assert_eq!(src.function_count(), 1, "one per line, at its first word");
    }

    #[test]
    fn columns_on_long_lines_match_a_plain_count() {
        let line = "é😀a".repeat(3000) + "x";
        let text = format!("ab\n{line}\n{}\n", "a".repeat(9000));
        let src = src(&text);
        let second = text.find('é').unwrap();
        for byte in (second..second + line.len()).filter(|b| text.is_char_boundary(*b)).step_by(7) {
            let want = text[second..byte].encode_utf16().count() + 1;
            assert_eq!(src.position(byte), Position { line: 2, column: want }, "at {byte}");
        }
        let third = second + line.len() + 1;
        assert_eq!(src.position(third + 8000), Position { line: 3, column: 8001 });
    }

    fn src(text: &str) -> SourceFile {
        SourceFile::from_text(PathBuf::from("x.py"), "x.py".into(), text.into())
    }

    #[test]
    fn line_breaks_are_lf_crlf_and_lone_cr() {
        assert_eq!(line_starts("a\r\nb\rc\n\nd"), [0, 3, 5, 7, 8]);
        assert_eq!(line_starts("\r"), [0, 1]);
        assert_eq!(line_starts(""), [0]);
        assert_eq!(src("a\rb\r\nc").parser_text(), "a\nb\r\nc");
        assert!(matches!(src("a\r\nb").parser_text(), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn the_widest_indentation_bounds_the_depth() {
        assert_eq!(max_indent_width(b"x\n    y\r\n\tz\r  w"), 8);
        assert_eq!(max_indent_width(b"   "), 3);
        let deep: String = (0..400).map(|i| format!("{}if x:\n", " ".repeat(i))).collect();
        assert!(indentation_exceeds(&deep, 300));
        assert!(!indentation_exceeds(&deep, 400));
    }

    #[test]
    fn utf16_columns_count_code_units() {
        // 'é' is one UTF-16 unit, '𝄞' (U+1D11E) is two.
        let s = src("a = 'é𝄞'; b\n");
        let b = s.text.find('b').unwrap();
        assert_eq!(s.position(b), Position { line: 1, column: 12 });
    }

    #[test]
    fn crlf_and_lone_cr_are_line_breaks() {
        let s = src("a\r\nb\rc\nd");
        assert_eq!(s.line_count(), 4);
        assert_eq!(s.position(s.text.find('c').unwrap()), Position { line: 3, column: 1 });
        assert_eq!(s.line_text(1), "a");
        assert_eq!(s.line_text(2), "b");
        assert_eq!(s.parser_text(), "a\r\nb\nc\nd");
    }

    #[test]
    fn indentation_depth() {
        let nested: String = (0..10).map(|i| format!("{}if x:\n", " ".repeat(i))).collect();
        assert!(indentation_exceeds(&nested, 5));
        assert!(!indentation_exceeds(&nested, 10));
        let flat = "if x:\n    y()\nif z:\n    w()\n    # comment\n\n";
        assert!(!indentation_exceeds(flat, 1));
        assert!(indentation_exceeds("a\n\tb\n\t c\n", 1), "tabs count to the next multiple of 8");
    }

    #[test]
    fn bom_and_cookies() {
        let (s, note) = SourceFile::decode("x".into(), "x".into(), b"\xEF\xBB\xBFx = 1\n");
        assert_eq!(s.text, "x = 1\n");
        assert!(note.is_none());
        let (s, note) = SourceFile::decode("x".into(), "x".into(), b"# -*- coding: latin-1 -*-\nx = '\xe9'\n");
        assert!(s.text.contains("'é'"));
        assert!(note.is_none());
        let (s, note) = SourceFile::decode("x".into(), "x".into(), b"x = '\xff'\n");
        assert!(s.text.contains('\u{FFFD}'));
        assert_eq!(note, Some(DecodeNote::InvalidUtf8 { byte_offset: 5 }));
    }
}
