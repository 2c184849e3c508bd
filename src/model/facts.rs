//! What one file tells the project model, as plain data gathered on the file's single walk (see
//! `rules::facts`) and cached with its findings: its imports, classes and functions, each function's
//! call sites with their callee as a symbolic path, and the local facts the rules ask about (raises,
//! re-raises a parameter, waits, logs a parameter, returns an elevated context, writes with a context
//! parameter, checks policy on a context parameter).

use crate::finding::Span;
use std::collections::BTreeMap;

/// The methods whose `self.attr = X(...)` assignments give the class of an attribute.
pub const SETUP_METHODS: &[&str] = &["__init__", "start", "initialize"];

/// The model's facts of one module.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModuleFacts {
    /// Import bindings: local name → what it names, as written (`neutron.db.api`, `..utils.x`: leading
    /// dots for relative imports).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub imports: BTreeMap<String, String>,
    /// Module-level aliases: `name = dotted.path` (a function or class bound under another name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// Classes outside functions, by qualified name (`Outer.Inner`). Boxed, like `functions`: a
    /// B-tree node holds room for eleven values, and most modules have a few (kept for every file
    /// until the scan ends).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, Box<ClassFacts>>,
    /// Functions and methods, by qualified name (`f`, `Class.method`, `f.inner`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Box<FunctionFacts>>,
    /// Functions with nothing to summarise (no call the model could follow, no local fact), by
    /// qualified name, sorted: a call to one answers every question "no", and a method here hides a
    /// base class's method of the same name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trivial: Vec<String>,
    /// Functions selective parsing left unparsed (qualified names), sorted: their facts are unknown
    /// until they are read (see `ProjectModel::incomplete`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blanked: Vec<String>,
}

impl ModuleFacts {
    /// Sorts the name lists (`trivial`, `blanked`) without duplicates, so that the model looks names
    /// up in them as they are.
    pub fn sort_names(&mut self) {
        for names in [&mut self.trivial, &mut self.blanked] {
            names.sort_unstable();
            names.dedup();
        }
    }

    /// The unparsed function `name`, if there is one.
    pub fn blanked_name(&self, name: &str) -> Option<&str> {
        find(&self.blanked, name)
    }

    /// The function `name` with nothing to summarise, if there is one.
    pub fn trivial_name(&self, name: &str) -> Option<&str> {
        find(&self.trivial, name)
    }

    /// Adds what a later parse of some of the file's unparsed functions found (`part`: the facts of a
    /// parse that read those functions and every set-up method, see `Engine::model_facts`): their
    /// facts, the classes (complete now that every set-up method was read), and fewer unparsed names.
    pub fn complete_with(&mut self, part: ModuleFacts) {
        self.blanked.retain(|name| part.blanked_name(name).is_some());
        self.classes.extend(part.classes);
        for (name, f) in part.functions {
            self.functions.entry(name).or_insert(f);
        }
        self.trivial.extend(part.trivial);
        self.sort_names();
    }
}

/// `name` in the sorted list `names`.
fn find<'n>(names: &'n [String], name: &str) -> Option<&'n str> {
    names.binary_search_by(|n| n.as_str().cmp(name)).ok().map(|i| names[i].as_str())
}

/// A class: its bases and the classes its attributes hold.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassFacts {
    /// Bases as written (`base.Plugin`, `object`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<String>,
    /// `attr` → the callee that constructs it, as written: class-level `attr = X(...)` and
    /// `self.attr = X(...)` in `__init__`/`start`/`initialize`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
    /// Class-level `target = oslo_messaging.Target(...)` or `self.target = …` in `__init__`/`start`:
    /// the class is an RPC endpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rpc_target: bool,
    pub line: usize,
}

/// One function's facts.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunctionFacts {
    /// Parameter names in order (`self` included).
    pub params: Vec<String>,
    /// Decorators as dotted names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decorators: Vec<String>,
    /// The qualified name of the class it is a method of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Where it is defined (its name).
    pub span: Span,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallSite>,
    #[serde(default, skip_serializing_if = "Local::is_empty")]
    pub local: Local,
}

/// A call inside a function (not inside a nested function or lambda).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallSite {
    /// The callee as a symbolic path: `f`, `mod.f`, `self.m`, `self.attr.m`, `super().m`, `Cls.m`.
    pub callee: String,
    /// Where the call is.
    pub span: Span,
    /// Arguments that are one of the caller's parameters, passed as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(Arg, u8)>,
    /// A statement of the function's body itself (not nested in a block), with no `return` before it:
    /// every path through the function reaches it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub every_path: bool,
    /// Its value is what the function returns (`return f(...)`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returned: bool,
}

/// Which argument of a call: the `i`-th positional one, or the keyword one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Arg {
    Position(u8),
    Keyword(String),
}

/// What a function does by itself, before any call is followed.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Local {
    /// Every path through the body ends in `raise`: the line of the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raises: Option<Span>,
    /// Parameters it raises (`raise exc`) on some path: parameter index → the `raise`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reraises: BTreeMap<u8, Span>,
    /// The first call that waits (`time.sleep(...)`, `event.wait(...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits: Option<Span>,
    /// Parameters that reach a log call: parameter index → the log call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub logs: BTreeMap<u8, Span>,
    /// It returns an elevated copy of a parameter (`return ctx.elevated()`), or an admin context
    /// (`return context.get_admin_context()`): where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevates: Option<Span>,
    /// Context parameters (`context`, `ctx`, `*_context`) handed to a write (`update_port(ctx, …)`,
    /// `CONTEXT_WRITER.using(ctx)`, `ctx.session.add(…)`): parameter index → the write.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub writes: BTreeMap<u8, Span>,
    /// Context parameters handed to an authorization check (`policy.enforce(ctx, …)`,
    /// `check_is_admin(ctx)`): parameter index → the check.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<u8, Span>,
}

impl Local {
    pub fn is_empty(&self) -> bool {
        *self == Local::default()
    }
}

impl FunctionFacts {
    /// The index of the parameter argument `arg` of a call binds, where the call is made through an
    /// instance or class (`bound`: the first parameter is `self`/`cls`) or not.
    pub fn param_of(&self, arg: &Arg, bound: bool) -> Option<u8> {
        match arg {
            Arg::Position(i) => {
                let skip = usize::from(bound && self.is_method() && !self.is_static());
                let at = usize::from(*i) + skip;
                // Past a `*args` or a bare `*`, positions bind no named parameter.
                if self.params.iter().take(at + 1).any(|p| p.starts_with('*')) {
                    return None;
                }
                u8::try_from(at).ok().filter(|_| at < self.params.len())
            }
            Arg::Keyword(k) => self.params.iter().position(|p| p == k).and_then(|i| u8::try_from(i).ok()),
        }
    }

    /// Is it a method (defined directly in a class)?
    pub fn is_method(&self) -> bool {
        self.class.is_some()
    }

    /// Is it a `@staticmethod`?
    pub fn is_static(&self) -> bool {
        self.decorators.iter().any(|d| d == "staticmethod")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(params: &[&str], class: bool) -> FunctionFacts {
        let params = params.iter().map(|p| p.to_string()).collect();
        FunctionFacts { params, class: class.then(|| "C".to_string()), ..FunctionFacts::default() }
    }

    #[test]
    fn completing_adds_the_functions_read_and_keeps_the_names_sorted() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let mut facts =
            ModuleFacts { blanked: names(&["z", "b", "a"]), trivial: names(&["y", "x"]), ..Default::default() };
        facts.sort_names();
        assert_eq!((facts.blanked_name("b"), facts.blanked_name("c")), (Some("b"), None));
        let mut part =
            ModuleFacts { blanked: names(&["z", "a", "kept"]), trivial: names(&["b", "x"]), ..Default::default() };
        part.functions.insert("f".into(), Box::new(function(&["x"], false)));
        part.classes.insert("C".into(), Box::new(ClassFacts { line: 3, ..Default::default() }));
        part.sort_names();
        facts.complete_with(part);
        assert_eq!(facts.blanked, ["a", "z"], "`b` was read; `kept` was never unparsed here");
        assert_eq!(facts.trivial, ["b", "x", "y"]);
        assert!(facts.functions.contains_key("f") && facts.classes.contains_key("C"));
        assert_eq!(facts.trivial_name("b"), Some("b"));
    }

    #[test]
    fn arguments_bind_parameters_as_python_does() {
        let method = function(&["self", "a", "b"], true);
        assert_eq!(method.param_of(&Arg::Position(0), true), Some(1), "self.m(x): x is a");
        assert_eq!(method.param_of(&Arg::Position(0), false), Some(0), "C.m(obj): obj is self");
        assert_eq!(method.param_of(&Arg::Keyword("b".into()), true), Some(2));
        assert_eq!(method.param_of(&Arg::Position(2), true), None, "too many arguments");
        let star = function(&["a", "*args", "password"], false);
        assert_eq!(star.param_of(&Arg::Position(0), false), Some(0));
        assert_eq!(star.param_of(&Arg::Position(2), false), None, "a third positional goes into *args");
        assert_eq!(star.param_of(&Arg::Keyword("password".into()), false), Some(2));
    }
}
