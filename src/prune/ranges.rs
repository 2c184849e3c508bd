//! The layout of kept and skipped ranges: which gaps of a blanked text (runs of blanks the parser need
//! not lex) are skipped — at most [`MAX_RANGES`]` - 1`, the largest — and
//! [`Pruned::included_ranges`], the tree-sitter included ranges between them.

use super::Pruned;

/// The most included ranges a blanked text is parsed with. tree-sitter's lexer finds its place in the
/// list by scanning it from the start before every token, so each range costs every later token a
/// little: with 200,000 ranges (a file of 200,000 tiny functions) a parse took 50 s instead of 0.5 s.
/// Past the bound, only the largest gaps are skipped; the other blanked functions stay blank text that
/// tree-sitter lexes (still blanked, with the same tree). 256: on the five-tree corpus (99 % of pruned
/// files have fewer gaps, the largest 2,000) the scan time is the same as unbounded, and in the worst
/// case (256 small functions before a large kept body) parsing costs 1.5× what lexing every blank
/// would (BENCHMARKS.md).
pub const MAX_RANGES: usize = 256;

/// Keeps the `MAX_RANGES - 1` largest of `gaps` (sorted, disjoint), in order; of equal ones the first.
pub(super) fn bounded(mut gaps: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let max = MAX_RANGES - 1;
    if gaps.len() <= max {
        return gaps;
    }
    gaps.select_nth_unstable_by_key(max, |&(s, e)| (std::cmp::Reverse(e - s), s));
    gaps.truncate(max);
    gaps.sort_unstable();
    gaps
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

#[cfg(test)]
mod tests {
    use super::super::Selector;
    use super::super::tests::EXCEPT;
    use super::*;

    #[test]
    fn the_ranges_of_many_tiny_functions_are_bounded() {
        // Every function blanked, each leaving a gap: tree-sitter would scan 200,001 ranges per token.
        let code: String = (0..200_000).map(|i| format!("def f{i}(x):\n    return x + {i}\n\n")).collect();
        let pruned = Selector::new(&[EXCEPT]).unwrap().prune(code.as_bytes()).unwrap();
        assert_eq!(pruned.blanked_units, 200_000);
        assert_eq!(pruned.gaps.len(), MAX_RANGES - 1);
        assert!(pruned.included_ranges().len() <= MAX_RANGES);
    }

    #[test]
    fn past_the_bound_the_largest_gaps_are_kept_in_order() {
        let gaps: Vec<(usize, usize)> = (0..2 * MAX_RANGES).map(|i| (10 * i, 10 * i + 1 + i % 3)).collect();
        let kept = bounded(gaps.clone());
        assert_eq!(kept.len(), MAX_RANGES - 1);
        assert!(kept.windows(2).all(|w| w[0].1 <= w[1].0), "sorted and disjoint");
        // 2 * MAX_RANGES / 3 gaps of each size 1, 2, 3: all of size 3, then the first of size 2.
        let threes = gaps.iter().filter(|g| g.1 - g.0 == 3).count();
        assert_eq!(kept.iter().filter(|g| g.1 - g.0 == 3).count(), threes);
        let twos: Vec<_> = gaps.iter().filter(|g| g.1 - g.0 == 2).take(MAX_RANGES - 1 - threes).collect();
        assert!(twos.iter().all(|g| kept.contains(g)));
        let few = gaps[..10].to_vec();
        assert_eq!(bounded(few.clone()), few);
    }

    #[test]
    fn unskipped_gaps_parse_to_the_tree_of_the_blanked_text() {
        // Past the bound, blanks the parser is not told to skip are lexed: same tree.
        let code: String = (0..3 * MAX_RANGES)
            .map(|i| {
                let body =
                    if i % 7 == 0 { "try:\n        pass\n    except Exception:\n        pass" } else { "return 1" };
                format!("@d\ndef f{i}(x):\n    {body}\n{}\n", " ".repeat(i % 5))
            })
            .collect();
        let pruned = Selector::new(&[EXCEPT]).unwrap().prune(code.as_bytes()).unwrap();
        assert_eq!(pruned.included_ranges().len(), MAX_RANGES);
        let mut parser = crate::engine::new_parser();
        let whole = parser.parse(&pruned.text, None).unwrap();
        let ranged = crate::engine::parse_pruned(&mut parser, &pruned).unwrap();
        assert!(!ranged.root_node().has_error());
        assert_eq!(spans(&ranged), spans(&whole));
    }

    /// Every node of `t`: kind, bytes and points.
    fn spans(t: &tree_sitter::Tree) -> Vec<(&'static str, usize, usize, tree_sitter::Point, tree_sitter::Point)> {
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
        assert_eq!(spans(&ranged), spans(&whole), "every node at the same bytes and points");
        // The parser is left parsing whole documents.
        let again = parser.parse(code, None).unwrap();
        assert_eq!(spans(&again), spans(&crate::engine::new_parser().parse(code, None).unwrap()));
    }
}
