//! The layout of kept and skipped ranges: [`Pruned::included_ranges`] turns the gaps of a blanked text
//! (runs of blanks the parser need not lex) into the tree-sitter included ranges between them.

use super::Pruned;

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

#[cfg(test)]
mod tests {
    use super::super::Selector;
    use super::super::tests::EXCEPT;

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
}
