//! Field ids of the tree-sitter-python grammar, each resolved once per process. tree-sitter's
//! `Node::child_by_field_name` finds the id with a linear `strncmp` scan of the grammar's field table on
//! every call — 4 % of a neutron scan's time in a profile — so rules ask `child_by_field_id` with these.

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

#[cfg(test)]
mod tests {
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
