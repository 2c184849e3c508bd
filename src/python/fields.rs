//! Field and node-kind ids of the tree-sitter-python grammar, each resolved once per process.
//! tree-sitter's `Node::child_by_field_name` finds the id with a linear `strncmp` scan of the grammar's
//! field table on every call — 4 % of a neutron scan's time in a profile — so rules ask
//! `child_by_field_id` with these; and `Node::kind()` builds a `&str` (`strlen`, UTF-8 check) that hot
//! helpers avoid by comparing [`kinds`] ids.

use std::sync::LazyLock;

/// The id of field `name` (0, which matches no child, if the grammar has no such field).
fn id(name: &str) -> u16 {
    crate::engine::language().field_id_for_name(name).map_or(0, |id| id.get())
}

macro_rules! fields {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("The id of the `", stringify!($name), "` field.")]
            pub fn $name() -> u16 {
                static ID: LazyLock<u16> = LazyLock::new(|| id(stringify!($name)));
                *ID
            }
        )*
    };
}

fields!(
    alias,
    alternative,
    arguments,
    attribute,
    body,
    condition,
    consequence,
    definition,
    expression,
    function,
    left,
    module_name,
    name,
    object,
    operator,
    parameters,
    right,
    subscript,
    value,
);

/// Node-kind ids of the kinds hot helpers test (`node.kind_id() == kinds::call()`).
pub mod kinds {
    use std::sync::LazyLock;

    fn id(kind: &str) -> u16 {
        crate::engine::language().id_for_node_kind(kind, true)
    }

    macro_rules! kinds {
        ($($name:ident),* $(,)?) => {
            $(
                #[doc = concat!("The id of the `", stringify!($name), "` node kind.")]
                pub fn $name() -> u16 {
                    static ID: LazyLock<u16> = LazyLock::new(|| id(stringify!($name)));
                    *ID
                }
            )*
        };
    }

    kinds!(attribute, call, class_definition, function_definition, identifier, lambda);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_exists_in_the_grammar() {
        use super::kinds;
        for id in [
            kinds::attribute(),
            kinds::call(),
            kinds::class_definition(),
            kinds::function_definition(),
            kinds::identifier(),
            kinds::lambda(),
        ] {
            assert_ne!(id, 0);
        }
    }

    #[test]
    fn every_field_exists_in_the_grammar() {
        for id in [
            super::alias(),
            super::alternative(),
            super::arguments(),
            super::attribute(),
            super::body(),
            super::condition(),
            super::consequence(),
            super::definition(),
            super::expression(),
            super::function(),
            super::left(),
            super::module_name(),
            super::name(),
            super::object(),
            super::operator(),
            super::parameters(),
            super::right(),
            super::subscript(),
            super::value(),
        ] {
            assert_ne!(id, 0);
        }
    }
}
