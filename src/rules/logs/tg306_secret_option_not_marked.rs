//! TG306 secret-option-not-marked: an oslo.config string option whose name is sensitive but which
//! lacks `secret=True`, so oslo.config logs its value at start-up.

use super::{declares_secret, option_declaration, string_literal, words};
use crate::checker::Checker;
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
        let f = cx.report(self.id(), node, message);
        f.properties.insert("sensitive-word".into(), m.word.clone());
        f.properties.insert("sensitivity".into(), m.class.as_str().to_string());
        f.properties.insert("option".into(), name.to_string());
    }
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
