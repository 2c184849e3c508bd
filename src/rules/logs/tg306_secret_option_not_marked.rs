//! TG306 secret-option-not-marked: an oslo.config string option whose name is sensitive but which
//! lacks `secret=True`, so oslo.config logs its value at start-up.

use super::{declares_secret, option_declaration, string_literal, words};
use crate::checker::Checker;
use crate::finding::{Applicability, Fix};
use crate::python;
use crate::rules::{Rule, Triggers};
use tree_sitter::Node;

/// See `rules/TG306.md`.
pub struct SecretOptionNotMarked;

/// Option classes whose values are strings (a password in a `BoolOpt` or `IntOpt` is not a thing).
const STRING_OPTS: &[&str] = &["Opt", "StrOpt", "ListOpt", "DictOpt", "URIOpt", "MultiStrOpt", "MultiOpt"];

impl Rule for SecretOptionNotMarked {
    fn id(&self) -> &'static str {
        "TG306"
    }

    fn node_kinds(&self) -> &'static [&'static str] {
        &["call"]
    }

    fn triggers(&self) -> Triggers {
        super::OPTION_TRIGGERS
    }

    fn check(&self, node: Node<'_>, cx: &mut Checker<'_>) {
        let Some((class, name_node)) = option_declaration(node, cx) else { return };
        if !STRING_OPTS.contains(&class.as_str()) || declares_secret(node, cx) {
            return;
        }
        let Some(name) = string_literal(name_node, cx) else { return };
        let Some(m) =
            words::classify_with(name, &cx.knobs.sensitive).filter(|m| m.class != words::Class::CredentialDict)
        else {
            return;
        };
        if help_says_path(node, cx) {
            return;
        }
        let message = format!(
            "Option `{name}` holds {} (the name says `{}`) but is declared without `secret=True`: oslo.config logs every option's value at start-up and with `log_opt_values()`, masking only secret ones. Add `secret=True` to the `{class}`.",
            m.class.noun(),
            m.word
        );
        let fix = add_secret(node, cx);
        let f = cx.report(self.id(), node, message);
        f.fix = fix;
        f.properties.insert("sensitive-word".into(), m.word.clone());
        f.properties.insert("sensitivity".into(), m.class.as_str().to_string());
        f.properties.insert("option".into(), name.to_string());
    }
}

/// The safe fix: `secret=True` added after the last argument (or a `secret=False` turned into
/// `secret=True`). None when a `**kwargs` splat may already carry `secret`.
fn add_secret(call: Node<'_>, cx: &Checker<'_>) -> Option<Fix> {
    let title = "Add `secret=True`".to_string();
    let applicability = Applicability::Safe;
    if let Some(value) = python::keyword_argument(call, "secret", cx.text()) {
        let edits = vec![cx.edit(value.start_byte(), value.end_byte(), "True")];
        return Some(Fix { title, applicability, edits });
    }
    let args = call.child_by_field_id(python::fields::arguments())?;
    let named: Vec<Node<'_>> = python::named_children(args).into_iter().filter(|a| a.kind() != "comment").collect();
    if named.iter().any(|a| a.kind() == "dictionary_splat") || args.kind() != "argument_list" {
        return None;
    }
    let last = named.last()?;
    let edits = vec![cx.edit(last.end_byte(), last.end_byte(), ", secret=True")];
    Some(Fix { title, applicability, edits })
}

/// Does the option's `help=` text say the value is a file, path or plugin name (`ovn_nb_private_key`: "The PEM
/// file with private key…")? Then it holds where the secret is, not the secret.
fn help_says_path(call: Node<'_>, cx: &Checker<'_>) -> bool {
    let Some(help) = python::keyword_argument(call, "help", cx.text()) else { return false };
    let text: String = python::descendants_in_scope(help)
        .into_iter()
        .filter(|n| n.kind() == "string_content")
        .map(|n| cx.node_text(n))
        .collect::<Vec<_>>()
        .join(" ");
    words::split_words(&text).iter().any(|w| {
        matches!(
            w.as_str(),
            "file"
                | "files"
                | "filename"
                | "path"
                | "directory"
                | "plugin"
                | "module"
                | "driver"
                | "entrypoint"
                | "class"
        )
    })
}
