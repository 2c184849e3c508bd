//! The open documents: their text as the editor has it (full-text sync), file URIs ↔ paths, and
//! positions: byte offsets ↔ LSP (line, character) in the negotiated encoding (UTF-16 unless the client
//! offers UTF-8 or UTF-32 first). Lines break at `\n`, `\r\n` and a lone `\r`, as in LSP and Python.

use lsp_types::{Position, PositionEncodingKind, Uri};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How LSP counts characters within a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The first encoding the client offers that we support (the client lists them by preference);
    /// UTF-16, the protocol's default, when it offers none.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let ours = |k: &PositionEncodingKind| match k.as_str() {
            "utf-8" => Some(Encoding::Utf8),
            "utf-16" => Some(Encoding::Utf16),
            "utf-32" => Some(Encoding::Utf32),
            _ => None,
        };
        offered.and_then(|o| o.iter().find_map(ours)).unwrap_or(Encoding::Utf16)
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

/// Byte offsets of the start of each line of `text`.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                starts.push(i + 2);
                i += 2;
                continue;
            }
            b'\r' | b'\n' => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

/// A text with its line index, for position conversions.
#[derive(Debug, Clone)]
pub struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Lines<'t> {
        Lines { text, starts: line_starts(text) }
    }

    /// The LSP position of byte `offset` (clamped to the text and to a character boundary).
    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(|c| encoding.width(c)).sum();
        Position { line: line as u32, character: character as u32 }
    }

    /// The byte offset of an LSP position. A character past the end of the line is the line's end
    /// (as the protocol says); a line past the end is the end of the text; a position inside a
    /// character that takes two units is that character's start.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return self.text.len() };
        let end = self.starts.get(position.line as usize + 1).copied().unwrap_or(self.text.len());
        let line = self.text[start..end].trim_end_matches(['\n', '\r']);
        let mut units = 0;
        for (i, c) in line.char_indices() {
            let next = units + encoding.width(c);
            if next > position.character as usize {
                return start + i;
            }
            units = next;
        }
        start + line.len()
    }

    /// The text of 0-based line `line`, without its line break.
    pub fn line(&self, line: usize) -> &'t str {
        let Some(&start) = self.starts.get(line) else { return "" };
        let end = self.starts.get(line + 1).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The byte offset where 0-based line `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }
}

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    pub text: String,
    pub version: i32,
}

/// The open documents, by URI as the client spells it.
#[derive(Debug, Default)]
pub struct Documents {
    open: BTreeMap<String, Document>,
}

impl Documents {
    /// Opens (or reopens) a document; `None` if its URI is not a `file:` URI we can map to a path.
    pub fn open(&mut self, uri: &Uri, text: String, version: i32) -> Option<&Document> {
        let path = uri_to_path(uri)?;
        self.open.insert(uri.as_str().to_string(), Document { path, text, version });
        self.open.get(uri.as_str())
    }

    /// Replaces a document's text (full-text sync). A change to a document not open is ignored.
    pub fn change(&mut self, uri: &Uri, text: String, version: i32) -> bool {
        match self.open.get_mut(uri.as_str()) {
            Some(doc) => {
                doc.text = text;
                doc.version = version;
                true
            }
            None => false,
        }
    }

    pub fn close(&mut self, uri: &Uri) -> Option<Document> {
        self.open.remove(uri.as_str())
    }

    pub fn get(&self, uri: &str) -> Option<&Document> {
        self.open.get(uri)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Document)> {
        self.open.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

/// The local path of a `file:` URI (`file:///a/b%20c.py`, `file://localhost/a.py`), percent-decoded
/// from raw bytes; `None` for other schemes or a relative path.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(i) if &rest[..i] == "localhost" => &rest[i..],
        _ => return None,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let bytes = percent_decode(path.as_bytes())?;
    #[cfg(unix)]
    let path = PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes));
    #[cfg(not(unix))]
    let path = PathBuf::from(String::from_utf8(bytes).ok()?);
    Some(path)
}

/// The `file:` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let absolute = std::path::absolute(path).ok()?;
    let mut uri = String::from("file://");
    for part in absolute.components() {
        if let std::path::Component::Normal(name) = part {
            #[cfg(unix)]
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(name).to_vec();
            #[cfg(not(unix))]
            let bytes = name.to_string_lossy().into_owned().into_bytes();
            uri.push('/');
            uri.push_str(&crate::discover::percent_encode(&bytes));
        }
    }
    uri.parse().ok()
}

fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_positions_count_surrogate_pairs() {
        // `é` is 2 bytes and 1 UTF-16 unit; `𝄞` is 4 bytes and 2 UTF-16 units.
        let text = "a = 'é𝄞'\nLOG.info(x)\n";
        let lines = Lines::new(text);
        let after_clef = text.find("'\n").unwrap();
        assert_eq!(lines.position(after_clef, Encoding::Utf16), pos(0, 8));
        assert_eq!(lines.position(after_clef, Encoding::Utf8), pos(0, 11));
        assert_eq!(lines.position(after_clef, Encoding::Utf32), pos(0, 7));
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            assert_eq!(lines.offset(lines.position(after_clef, enc), enc), after_clef, "{enc:?}");
        }
        let log = text.find("LOG").unwrap();
        assert_eq!(lines.position(log, Encoding::Utf16), pos(1, 0));
        assert_eq!(lines.offset(pos(1, 4), Encoding::Utf16), log + 4);
        // Inside the surrogate pair: the character's start. Past the line's end: the line's end.
        assert_eq!(lines.offset(pos(0, 7), Encoding::Utf16), text.find('𝄞').unwrap());
        assert_eq!(lines.offset(pos(0, 99), Encoding::Utf16), after_clef + 1);
        assert_eq!(lines.offset(pos(9, 0), Encoding::Utf16), text.len());
        // A byte inside a character is clamped to its start.
        assert_eq!(lines.position(text.find('é').unwrap() + 1, Encoding::Utf16), pos(0, 5));
    }

    proptest::proptest! {
        /// Whatever the client sends (positions past the end, inside a surrogate pair) and whatever the
        /// text, conversions land on a character boundary within the text, and round-trip.
        #[test]
        fn conversions_never_panic_and_round_trip(
            text in "[a\\r\\né𝄞 ]{0,40}",
            line in 0u32..8,
            character in 0u32..60,
            byte in 0usize..200,
        ) {
            let lines = Lines::new(&text);
            for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
                let at = lines.offset(Position { line, character }, enc);
                proptest::prop_assert!(at <= text.len() && text.is_char_boundary(at));
                let p = lines.position(byte, enc);
                let back = lines.offset(p, enc);
                proptest::prop_assert!(back <= text.len() && text.is_char_boundary(back));
                if byte <= text.len() && text.is_char_boundary(byte) && !text[..byte].ends_with('\r') {
                    proptest::prop_assert_eq!(back, byte);
                }
            }
        }
    }

    #[test]
    fn lines_break_at_crlf_and_lone_cr() {
        let lines = Lines::new("a\r\nb\rc\nd");
        assert_eq!(lines.line(0), "a");
        assert_eq!(lines.line(1), "b");
        assert_eq!(lines.line(2), "c");
        assert_eq!(lines.line(3), "d");
        assert_eq!(lines.position(8, Encoding::Utf16), pos(3, 1));
    }

    #[test]
    fn negotiation_takes_the_clients_first_supported_encoding() {
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        let offered = [PositionEncodingKind::new("utf-7"), PositionEncodingKind::UTF8, PositionEncodingKind::UTF16];
        assert_eq!(Encoding::negotiate(Some(&offered)), Encoding::Utf8);
        assert_eq!(Encoding::negotiate(Some(&[])), Encoding::Utf16);
    }

    #[test]
    fn file_uris_round_trip() {
        let uri: Uri = "file:///tmp/a%20b/%C3%A9.py".parse().unwrap();
        assert_eq!(uri_to_path(&uri), Some(PathBuf::from("/tmp/a b/é.py")));
        assert_eq!(path_to_uri(Path::new("/tmp/a b/é.py")).unwrap().as_str(), "file:///tmp/a%20b/%C3%A9.py");
        let localhost: Uri = "file://localhost/x.py".parse().unwrap();
        assert_eq!(uri_to_path(&localhost), Some(PathBuf::from("/x.py")));
        for other in ["untitled:Untitled-1", "https://example.org/a.py", "file://host/a.py"] {
            assert_eq!(uri_to_path(&other.parse().unwrap()), None, "{other}");
        }
    }
}
