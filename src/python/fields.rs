//! Field and node-kind ids of the tree-sitter-python grammar, each resolved once per process.
//! tree-sitter's `Node::child_by_field_name` finds the id with a linear `strncmp` scan of the grammar's
//! field table on every call — 4 % of a neutron scan's time in a profile — so rules ask
//! `child_by_field_id` with these; and `Node::kind()` builds a `&str` (`strlen`, UTF-8 check) that hot
//! helpers avoid by comparing [`kinds`] ids.

/// Defines one function per name returning its id, looked up once with `$lookup`, and `ALL` listing
/// every (name, id function) pair for the test that checks the grammar has them all.
macro_rules! grammar_ids {
    ($what:literal, $lookup:expr; $($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("The id of the `", stringify!($name), "` ", $what, ".")]
            pub fn $name() -> u16 {
                static ID: std::sync::LazyLock<u16> = std::sync::LazyLock::new(|| $lookup(stringify!($name)));
                *ID
            }
        )*

        /// Every id defined here, by name.
        #[cfg(test)]
        pub const ALL: &[(&str, fn() -> u16)] = &[$((stringify!($name), $name)),*];
    };
}

/// The id of field `name` (0, which matches no child, if the grammar has no such field).
fn field_id(name: &str) -> u16 {
    crate::python::language().field_id_for_name(name).map_or(0, |id| id.get())
}

grammar_ids!(
    "field", field_id;
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
    superclasses,
    value,
);

/// Node-kind ids of the kinds hot helpers test (`node.kind_id() == kinds::call()`).
pub mod kinds {
    /// The id of named node kind `kind` (0 if the grammar has no such kind).
    fn kind_id(kind: &str) -> u16 {
        crate::python::language().id_for_node_kind(kind, true)
    }

    grammar_ids!("node kind", kind_id; attribute, call, class_definition, function_definition, identifier, lambda);
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_field_and_kind_exists_in_the_grammar() {
        for (name, id) in super::ALL.iter().chain(super::kinds::ALL) {
            assert_ne!(id(), 0, "`{name}` is not in tree-sitter-python");
        }
        assert_eq!(super::kinds::identifier(), crate::python::language().id_for_node_kind("identifier", true));
        assert_eq!(super::body(), crate::python::language().field_id_for_name("body").unwrap().get());
    }
}
