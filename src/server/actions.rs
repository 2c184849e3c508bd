//! Code actions, hover and the one command: for a finding under the cursor, its fix (when the rule has
//! one), a suppression comment with a reason placeholder, and the rule's documentation; hovering a rule
//! id (`TG201`, in a suppression comment or anywhere) shows the rule's documentation.

use super::diagnostics::{self, doc_url};
use super::documents::{Encoding, Lines};
use crate::finding::{Applicability, Finding};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, Hover, HoverContents, MarkupContent, MarkupKind,
    Position, Range, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;

/// The command that shows a rule's documentation (arguments: the rule id).
pub const SHOW_RULE: &str = "trunkguard.showRuleDocumentation";

/// The placeholder a suppression's reason starts as: the directive wants a reason after `--`.
pub const REASON_PLACEHOLDER: &str = "<reason>";

/// Do two LSP ranges touch (an empty request range at a finding's edge counts)?
fn touches(a: &Range, b: &Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// The code actions for the findings of a document (computed on `text`) that touch `range`.
pub fn code_actions(
    uri: &Uri,
    text: &str,
    findings: &[Finding],
    range: Range,
    encoding: Encoding,
    root: &std::path::Path,
) -> Vec<CodeActionOrCommand> {
    let lines = Lines::new(text);
    let mut out = Vec::new();
    for f in findings {
        let diagnostic = diagnostics::diagnostic(f, uri, &lines, encoding, root);
        if !touches(&diagnostic.range, &range) {
            continue;
        }
        if let Some(fix) = &f.fix {
            let edits = fix
                .edits
                .iter()
                .map(|e| TextEdit {
                    range: diagnostics::range(&lines, e.span.start_byte, e.span.end_byte, encoding),
                    new_text: e.replacement.clone(),
                })
                .collect();
            let safe = fix.applicability == Applicability::Safe;
            let note = if safe { "" } else { " (unsafe: changes behaviour)" };
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("{}: {}{note}", f.rule, fix.title),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diagnostic.clone()]),
                edit: Some(workspace_edit(uri, edits)),
                is_preferred: Some(safe),
                ..CodeAction::default()
            }));
        }
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("{}: suppress on this line, with a reason", f.rule),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic.clone()]),
            edit: Some(workspace_edit(uri, vec![suppression_edit(&lines, f)])),
            ..CodeAction::default()
        }));
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("{}: show the rule's documentation", f.rule),
            kind: Some(CodeActionKind::EMPTY),
            diagnostics: Some(vec![diagnostic]),
            command: Some(Command {
                title: format!("Show {}", f.rule),
                command: SHOW_RULE.into(),
                arguments: Some(vec![serde_json::json!(f.rule)]),
            }),
            ..CodeAction::default()
        }));
    }
    out
}

/// The code action kind of "apply every safe fix in the file" (what editors run on save).
pub fn fix_all_kind() -> CodeActionKind {
    CodeActionKind::new("source.fixAll.trunkguard")
}

/// Every safe fix of the document's findings at once, as one edit of the whole text (overlapping
/// fixes: the first; the rest after the next analysis). None when there is none.
pub fn fix_all(uri: &Uri, text: &str, findings: &[Finding], encoding: Encoding) -> Option<CodeActionOrCommand> {
    let safe = findings.iter().filter_map(|f| f.fix.as_ref()).filter(|x| x.applicability == Applicability::Safe);
    let (fixed, applied) = crate::finding::apply_fixes(text, safe);
    if applied == 0 {
        return None;
    }
    let whole = Range { start: Position::default(), end: Lines::new(text).position(text.len(), encoding) };
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: format!("trunkguard: apply {applied} safe fix{}", if applied == 1 { "" } else { "es" }),
        kind: Some(fix_all_kind()),
        edit: Some(workspace_edit(uri, vec![TextEdit { range: whole, new_text: fixed }])),
        ..CodeAction::default()
    }))
}

fn workspace_edit(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit { changes: Some(HashMap::from([(uri.clone(), edits)])), ..WorkspaceEdit::default() }
}

/// `# trunkguard: ignore[TGnnn] -- <reason>` alone on a new line above the finding's first line, with
/// that line's indentation (a directive alone on its line covers the line after it).
pub fn suppression_edit(lines: &Lines<'_>, f: &Finding) -> TextEdit {
    let line = f.span.start.line.saturating_sub(1);
    let indent: String = lines.line(line).chars().take_while(|c| matches!(c, ' ' | '\t')).collect();
    let at = Position { line: line as u32, character: 0 };
    TextEdit {
        range: Range { start: at, end: at },
        new_text: format!("{indent}# trunkguard: ignore[{}] -- {REASON_PLACEHOLDER}\n", f.rule),
    }
}

/// The rule id (`TGnnn`) under `position`, if any.
pub fn rule_at(text: &str, position: Position, encoding: Encoding) -> Option<&'static str> {
    let lines = Lines::new(text);
    let at = lines.offset(position, encoding);
    let start = lines.line_start(position.line as usize);
    let line = lines.line(position.line as usize);
    let col = at.checked_sub(start)?;
    let word = |c: char| c.is_ascii_alphanumeric();
    let from = line[..col.min(line.len())].rfind(|c: char| !word(c)).map_or(0, |i| i + 1);
    let to = line[from..].find(|c: char| !word(c)).map_or(line.len(), |i| from + i);
    let id = crate::finding::rule_id_of(&line[from..to])?;
    crate::docs::get(id).map(|_| id)
}

/// The hover for a rule id: its documentation, in Markdown.
pub fn hover(text: &str, position: Position, encoding: Encoding) -> Option<Hover> {
    let id = rule_at(text, position, encoding)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: rule_markdown(id)? }),
        range: None,
    })
}

/// A rule's documentation as Markdown: name, summary, level and precision, the body, the link.
pub fn rule_markdown(id: &str) -> Option<String> {
    let doc = crate::docs::get(id)?;
    let on = if doc.enabled { "on by default" } else { "opt-in" };
    let precision = doc.measured_precision.as_deref().unwrap_or(&doc.precision);
    Some(format!(
        "**{} {}**: {}\n\n*{}, {on}, precision {precision}*\n\n{}\n\n[Documentation]({})",
        doc.id,
        doc.name,
        doc.summary,
        doc.level.as_str(),
        doc.body.trim(),
        doc_url(&doc.id)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Edit, Fix, Span};
    use crate::source::Position as SrcPosition;

    fn finding(text: &str, rule: &'static str, start: usize, end: usize, fix: Option<Fix>) -> Finding {
        let src = crate::source::SourceFile::from_text("a.py".into(), "a.py".into(), text.to_string());
        Finding {
            rule,
            level: crate::finding::Level::Warning,
            message: "m".into(),
            span: Span { start_byte: start, end_byte: end, start: src.position(start), end: src.position(end) },
            snippet: text[start..end].into(),
            lines: vec![],
            scope: "f".into(),
            related: vec![],
            flow: vec![],
            properties: Default::default(),
            fingerprint: String::new(),
            suppressed: None,
            baseline: None,
            fix,
        }
    }

    fn span(text: &str, s: usize, t: usize) -> Span {
        let src = crate::source::SourceFile::from_text("a.py".into(), "a.py".into(), text.to_string());
        let _: SrcPosition = src.position(s);
        Span { start_byte: s, end_byte: t, start: src.position(s), end: src.position(t) }
    }

    fn edits_of(action: &CodeActionOrCommand) -> Vec<TextEdit> {
        let CodeActionOrCommand::CodeAction(a) = action else { panic!("a code action") };
        a.edit
            .as_ref()
            .and_then(|e| e.changes.as_ref())
            .map(|c| c.values().flatten().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_fix_a_suppression_and_the_docs_for_a_finding_under_the_cursor() {
        let text = "def f():\n    try:\n        g()\n    except:\n        pass\n";
        let start = text.find("except").unwrap();
        let keyword = start + "except".len();
        let fix = Fix {
            title: "Catch `Exception`".into(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit { span: span(text, keyword, keyword), replacement: " Exception".into() }],
        };
        let f = finding(text, "TG203", start, start + "except:".len(), Some(fix));
        let uri: Uri = "file:///w/a.py".parse().unwrap();
        let cursor = Range { start: Position { line: 3, character: 6 }, end: Position { line: 3, character: 6 } };
        let actions = code_actions(&uri, text, &[f], cursor, Encoding::Utf16, std::path::Path::new("/w"));
        assert_eq!(actions.len(), 3);
        let fix = &edits_of(&actions[0])[0];
        assert_eq!(fix.range.start, Position { line: 3, character: 10 });
        assert_eq!(fix.new_text, " Exception");
        let suppress = &edits_of(&actions[1])[0];
        assert_eq!(suppress.range.start, Position { line: 3, character: 0 });
        assert_eq!(suppress.new_text, "    # trunkguard: ignore[TG203] -- <reason>\n");
        let CodeActionOrCommand::CodeAction(docs) = &actions[2] else { panic!() };
        assert_eq!(docs.command.as_ref().unwrap().arguments, Some(vec![serde_json::json!("TG203")]));
        // Elsewhere in the file: nothing.
        let away = Range { start: Position { line: 0, character: 0 }, end: Position { line: 0, character: 3 } };
        let f = finding(text, "TG203", start, start + 7, None);
        assert!(code_actions(&uri, text, &[f], away, Encoding::Utf16, std::path::Path::new("/w")).is_empty());
    }

    #[test]
    fn fix_all_applies_the_safe_fixes_only() {
        let text = "opts = [cfg.StrOpt('password')]\ntry:\n    g()\nexcept:\n    pass\n";
        let call_end = text.find(")]").unwrap();
        let safe = Fix {
            title: "Add `secret=True`".into(),
            applicability: Applicability::Safe,
            edits: vec![Edit { span: span(text, call_end, call_end), replacement: ", secret=True".into() }],
        };
        let at = text.find("except").unwrap() + 6;
        let unsafe_ = Fix {
            title: "Catch `Exception`".into(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit { span: span(text, at, at), replacement: " Exception".into() }],
        };
        let findings = [
            finding(text, "TG306", 8, call_end + 1, Some(safe)),
            finding(text, "TG203", at - 6, at + 1, Some(unsafe_)),
        ];
        let uri: Uri = "file:///w/a.py".parse().unwrap();
        let Some(CodeActionOrCommand::CodeAction(action)) = fix_all(&uri, text, &findings, Encoding::Utf16) else {
            panic!("a fix-all action")
        };
        assert_eq!(action.kind, Some(fix_all_kind()));
        let edit = &edits_of(&CodeActionOrCommand::CodeAction(action))[0];
        assert_eq!(edit.range.end, Position { line: 5, character: 0 });
        assert_eq!(edit.new_text, text.replace("('password')", "('password', secret=True)"));
        assert!(fix_all(&uri, text, &findings[1..], Encoding::Utf16).is_none(), "unsafe fixes are not applied on save");
    }

    #[test]
    fn the_suppression_comment_is_one_the_suppression_stage_honours() {
        let text = "def f():\n    try:\n        g()\n    except:\n        pass\n";
        let start = text.find("except").unwrap();
        let f = finding(text, "TG203", start, start + 7, None);
        let edit = suppression_edit(&Lines::new(text), &f);
        let fixed = format!(
            "{}{}{}",
            &text[..text.find("    except").unwrap()],
            edit.new_text,
            &text[text.find("    except").unwrap()..]
        );
        let comment = fixed.lines().nth(3).unwrap().trim().to_string();
        let c = crate::suppress::Comment {
            start_byte: 0,
            end_byte: comment.len(),
            line: 4,
            own_line: true,
            in_header: false,
            text: comment,
        };
        let mut moved =
            finding(&fixed, "TG203", fixed.find("except").unwrap(), fixed.find("except").unwrap() + 7, None);
        let bad = crate::suppress::apply(std::iter::once(&mut moved), &[c], &["TG203"], &["TG203"]);
        assert!(moved.suppressed.is_some(), "the inserted directive silences the finding");
        assert!(bad.is_empty());
    }

    #[test]
    fn hover_on_a_rule_id_in_a_suppression_comment() {
        let text = "x = 1  # trunkguard: ignore[TG203] -- reviewed\n";
        let at = |c: u32| Position { line: 0, character: c };
        let col = text.find("TG203").unwrap() as u32;
        assert_eq!(rule_at(text, at(col + 2), Encoding::Utf16), Some("TG203"));
        assert_eq!(rule_at(text, at(col + 5), Encoding::Utf16), Some("TG203"), "at its end");
        assert_eq!(rule_at(text, at(2), Encoding::Utf16), None);
        let Some(Hover { contents: HoverContents::Markup(m), .. }) = hover(text, at(col), Encoding::Utf16) else {
            panic!("a hover")
        };
        assert!(m.value.starts_with("**TG203 bare-except**"), "{}", m.value);
        assert!(rule_at("# trunkguard: ignore[TG999]", at(22), Encoding::Utf16).is_none(), "no such rule");
    }
}
