//! Blanking: a unit no trigger keeps becomes `pass` and spaces, in place, with every line break kept
//! (same length, lines and columns), and the runs of its blanks the parser may skip are recorded as
//! gaps (see [`super::ranges`]).

use super::Pruned;
use super::layout::Unit;

/// The blanked copy of a text, made on the first unit blanked.
pub(super) struct Blanker {
    text: Vec<u8>,
    blanked_bytes: usize,
    blanked_units: usize,
    gaps: Vec<(usize, usize)>,
}

impl Blanker {
    pub fn new(text: &[u8]) -> Blanker {
        Blanker { text: text.to_vec(), blanked_bytes: 0, blanked_units: 0, gaps: Vec::new() }
    }

    /// Blanks unit `u`: `def` (or `async`) becomes `pass`, every other byte but line breaks a space.
    pub fn blank(&mut self, u: &Unit) {
        let buf = &mut self.text;
        for byte in &mut buf[u.start..u.end] {
            // Branch-free, so the loop vectorises.
            let keep = *byte == b'\n' || *byte == b'\r';
            *byte = if keep { *byte } else { b' ' };
        }
        buf[u.def_at..u.def_at + 4].copy_from_slice(b"pass");
        self.blanked_bytes += u.end - u.start;
        self.blanked_units += 1;
        // Skippable: whole blank lines before the `pass` line (blanked decorators)…
        let line_of = |at: usize| buf[..at].iter().rposition(|&b| b == b'\n' || b == b'\r').map_or(0, |i| i + 1);
        let (first_line, pass_line) = (line_of(u.start), line_of(u.def_at));
        let blank = |b: &u8| matches!(b, b' ' | b'\n' | b'\r');
        if first_line < pass_line && buf[first_line..pass_line].iter().all(blank) {
            self.gaps.push((first_line, pass_line));
        }
        // …and the blanks after `pass` up to the unit's last line break.
        let mut last = u.end;
        while last > u.def_at + 4 && matches!(buf[last - 1], b'\n' | b'\r') {
            last -= 1;
        }
        if last > u.def_at + 4 && buf[u.def_at + 4..last].iter().all(blank) {
            self.gaps.push((u.def_at + 4, last));
        }
    }

    /// The blanked text; `units` is the number of units found, `names` those of the units blanked.
    pub fn finish(self, units: usize, names: Vec<String>) -> Pruned {
        Pruned {
            blanked_names: names,
            text: self.text,
            blanked_bytes: self.blanked_bytes,
            units,
            blanked_units: self.blanked_units,
            gaps: super::ranges::bounded(self.gaps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Triggers;
    use super::super::tests::{EXCEPT, parses_cleanly, prune_with};

    #[test]
    fn crlf_lines_are_kept() {
        let code = "def f():\r\n    return 1\r\n\r\nx = 1\r\n";
        let blanked = prune_with(&[EXCEPT], code).unwrap();
        assert_eq!(blanked, "pass    \r\n            \r\n\r\nx = 1\r\n");
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
}
