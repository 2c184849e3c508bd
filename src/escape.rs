//! Terminal-safe text: the one escaping function every human- or CI-facing output uses for text that
//! comes from the scanned tree (file names, source lines, messages quoting source).
//!
//! A pull request controls every byte of the checkout, file names included. Printed raw, a name or a
//! string literal holding ESC, BEL or CR can clear the screen, recolour or rewrite earlier lines, plant
//! OSC 8 hyperlinks, or — with a line feed — start a line of its own that a CI runner reads as a
//! command (`::error file=…` in GitHub Actions). [`visible`] shows such characters instead of sending
//! them, as ruff does: C0 controls and DEL become their Unicode control pictures (`\x1b` → `␛`,
//! `\n` → `␊`, `\x7f` → `␡`; each one column wide, so code-frame carets stay aligned), C1 controls
//! (U+0080–U+009F, which some terminals obey as 8-bit escape sequences) become `\u{9b}`-style escapes.
//! Tab is left alone (harmless, and frames already turn it into a space). Bidirectional formatting
//! characters (U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F and U+061C), which reorder how a
//! line is displayed ("Trojan Source"), are shown as `\u{202e}`-style escapes too.
//!
//! Machine formats keep the exact text: SARIF, JSON and GitLab (JSON escapes controls), JUnit (XML
//! character references, forbidden characters as U+FFFD).

use std::borrow::Cow;

/// Whether `c` is shown escaped by [`visible`].
pub fn is_escaped(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi(c)
}

/// A bidirectional formatting character: it changes how the rest of the line is displayed.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// The visible form of one character: `None` when it is printed as it is.
pub fn picture(c: char) -> Option<Cow<'static, str>> {
    match c {
        '\t' => None,
        '\0'..='\x1f' => char::from_u32(0x2400 + c as u32).map(|p| Cow::Owned(p.to_string())),
        '\x7f' => Some(Cow::Borrowed("\u{2421}")),
        c if c.is_control() || is_bidi(c) => Some(Cow::Owned(format!("\\u{{{:x}}}", c as u32))),
        _ => None,
    }
}

/// `s` with every control character but tab shown as a visible escape (see the module documentation).
/// Borrows when there is nothing to escape.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match picture(c) {
            Some(p) => out.push_str(&p),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_and_the_rest_stays() {
        assert_eq!(visible("plain é 😀\tx"), "plain é 😀\tx");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(visible("a\nb\rc\x1b[2Jd\x07"), "a␊b␍c␛[2Jd␇");
        assert_eq!(visible("\0\x7f\u{9b}"), "␀␡\\u{9b}");
        assert_eq!(visible("ok\u{202e}gnp.exe\u{2066}"), "ok\\u{202e}gnp.exe\\u{2066}");
        assert_eq!(visible("\x1b]8;;http://x\x1b\\link"), "␛]8;;http://x␛\\link");
    }
}
