//! The project model on real files: how calls are linked across modules (imports absolute, relative and
//! aliased; module-level aliases; bases in other files; `super()`; attributes assigned in `__init__`),
//! how summaries lift through calls and recursion, what stays unresolved, and that a whole-project run
//! reports only the paths given.

mod common;

use common::trunkguard_in;
use std::fs;
use std::path::Path;
use trunkguard::{ScanOptions, discover, rules, scan};

/// Writes `files` (path, text) under a fresh directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let at = dir.path().join(path);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        fs::write(at, text).unwrap();
    }
    dir
}

/// `trunkguard inspect` of `what` in the project at `dir`.
fn inspect(dir: &Path, what: &str) -> String {
    let found = discover::discover(&[dir.to_path_buf()], &discover::exclude_set(&[]).unwrap(), dir).unwrap();
    let plan = scan::Plan { rules: rules::REGISTRY.to_vec(), settings: Default::default() };
    scan::inspect(&found.files, &[plan], &ScanOptions::default(), what).unwrap().unwrap_or_else(|| panic!("no {what}"))
}

/// The target `inspect` shows for the call on `line`.
fn target_of(report: &str, line: usize) -> String {
    let prefix = format!("    line {line}: ");
    let row =
        report.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no call on line {line}:\n{report}"));
    row.split(" -> ").nth(1).unwrap().split(" (").next().unwrap().to_string()
}

const PACKAGE: &[(&str, &str)] = &[
    ("pkg/__init__.py", ""),
    ("pkg/sub/__init__.py", ""),
    ("pkg/util.py", "import time\n\n\ndef nap(n):\n    time.sleep(n)\n\n\ndef shout(x):\n    raise ValueError(x)\n"),
    (
        "pkg/sub/base.py",
        "from .. import util\n\n\nclass Base(object):\n    def rest(self, n):\n        util.nap(n)\n\n    def hook(self):\n        pass\n",
    ),
    (
        "pkg/sub/impl.py",
        "from ..util import nap as sleep_for\nfrom . import base\nfrom pkg import util\nimport pkg.util\n\nalias = util.shout\n\n\nclass Helper(object):\n    def go(self):\n        sleep_for(1)\n\n\nclass Impl(base.Base):\n    def __init__(self):\n        self.helper = Helper()\n\n    def run(self):\n        sleep_for(1)\n        util.nap(2)\n        pkg.util.nap(3)\n        alias('x')\n        self.rest(4)\n        super().rest(5)\n        self.helper.go()\n        self.hook()\n        self.missing()\n        json.dumps({})\n",
    ),
];

#[test]
fn calls_are_linked_through_imports_aliases_bases_and_attributes() {
    let dir = tree(PACKAGE);
    let report = inspect(dir.path(), "pkg/sub/impl.py::Impl.run");
    assert!(report.starts_with("pkg.sub.impl.Impl.run (pkg/sub/impl.py:18)"), "{report}");
    assert_eq!(target_of(&report, 19), "pkg.util.nap", "relative, aliased `from ..util import nap as sleep_for`");
    assert_eq!(target_of(&report, 20), "pkg.util.nap", "`from pkg import util`");
    assert_eq!(target_of(&report, 21), "pkg.util.nap", "`import pkg.util`");
    assert_eq!(target_of(&report, 22), "pkg.util.shout", "module-level alias");
    assert_eq!(target_of(&report, 23), "pkg.sub.base.Base.rest", "a base class in another module");
    assert_eq!(target_of(&report, 24), "pkg.sub.base.Base.rest", "super()");
    assert_eq!(target_of(&report, 25), "pkg.sub.impl.Helper.go", "self.attr assigned in __init__");
    assert_eq!(target_of(&report, 26), "pkg.sub.base.Base.hook");
    assert_eq!(target_of(&report, 27), "unresolved", "no such method anywhere: never guessed");
    assert!(!report.contains("line 28:"), "`json` is not bound in the module: the call is not even recorded");
    assert!(report.contains("waits: yes"), "{report}");
    // `alias('x')` (util.shout, which always raises) is a statement of the body: every path raises.
    assert!(report.contains("raises on every path: yes"), "{report}");
}

#[test]
fn summaries_lift_through_recursion_and_stop_at_helpers_that_do_not_do_it() {
    let dir = tree(&[(
        "m.py",
        "import time\n\n\ndef a(n):\n    if n:\n        b(n - 1)\n\n\ndef b(n):\n    a(n)\n    time.sleep(1)\n\n\ndef c(x):\n    return x\n\n\ndef d(exc):\n    if not isinstance(exc, KeyError):\n        raise exc\n\n\ndef e(exc):\n    d(exc)\n\n\ndef f(exc):\n    if exc:\n        d(exc)\n",
    )]);
    assert!(inspect(dir.path(), "m.a").contains("waits: yes"), "through the cycle a → b");
    assert!(inspect(dir.path(), "m.c").contains("answered \"no\""), "calls nothing: nothing to summarise");
    assert!(inspect(dir.path(), "m.d").contains("re-raises parameters: exc"));
    assert!(inspect(dir.path(), "m.e").contains("re-raises parameters: exc"), "a call on every path");
    assert!(inspect(dir.path(), "m.f").contains("re-raises parameters: no"), "a call on some paths only");
}

#[test]
fn a_module_name_two_files_claim_is_not_used() {
    let dir = tree(&[
        ("a/util.py", "import time\n\n\ndef nap():\n    time.sleep(1)\n"),
        ("b/util.py", "def nap():\n    pass\n"),
        ("c/user.py", "import util\n\n\ndef go():\n    util.nap()\n"),
    ]);
    assert_eq!(target_of(&inspect(dir.path(), "c/user.py::go"), 5), "unresolved");
}

const HELPER: &str = "from oslo_log import log as logging\n\nLOG = logging.getLogger(__name__)\n\n\ndef log_call(name, args):\n    LOG.debug('calling %s with %s', name, args)\n";
const CALLER: &str = "from svc import helpers\n\n\ndef login(client, password):\n    helpers.log_call('login', {'password': password})\n    return client.login(password)\n";

#[test]
fn one_file_checked_is_linked_with_the_rest_of_its_project() {
    // A configuration file makes the directory a project (as a git root would).
    let dir =
        tree(&[("trunkguard.toml", ""), ("svc/__init__.py", ""), ("svc/helpers.py", HELPER), ("svc/api.py", CALLER)]);
    let run = |args: &[&str]| {
        let out = trunkguard_in(dir.path())
            .args(["check", "--no-cache", "--output-format", "json"])
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let linked = run(&["svc/api.py"]);
    let findings = linked["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{linked:#}");
    assert_eq!(findings[0]["rule"], "TG301");
    assert_eq!(findings[0]["path"], "svc/api.py");
    assert_eq!(linked["summary"]["files_scanned"], 1, "only the path given is reported");
    // The flow goes through the helper, in its own file.
    let flow = findings[0]["flow"].as_array().unwrap();
    assert!(flow.iter().any(|s| s["path"] == "svc/helpers.py" && s["line"] == 7), "{flow:#?}");
    // Alone, the helper is unknown: nothing is claimed.
    let alone = run(&["--no-project", "svc/api.py"]);
    assert_eq!(alone["findings"].as_array().unwrap().len(), 0, "{alone:#}");
}

#[test]
fn a_secret_option_declared_in_another_file_counts_when_one_file_is_checked() {
    let dir = tree(&[
        ("trunkguard.toml", ""),
        ("opts.py", "from oslo_config import cfg\nOPTS = [cfg.StrOpt('connection', secret=True)]\n"),
        (
            "reads.py",
            "from oslo_config import cfg\nfrom oslo_log import log as logging\nLOG = logging.getLogger(__name__)\n\n\ndef show():\n    LOG.info('db: %s', cfg.CONF.database.connection)\n",
        ),
    ]);
    let out = trunkguard_in(dir.path())
        .args(["check", "--no-cache", "--output-format", "concise", "reads.py"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reads.py:7:") && text.contains("TG301"), "{text}");
    let out = trunkguard_in(dir.path())
        .args(["check", "--no-cache", "--no-project", "--output-format", "concise", "reads.py"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TG301"));
    // Without a configuration file or a git root, a lone file is its own project.
    fs::remove_file(dir.path().join("trunkguard.toml")).unwrap();
    let out = trunkguard_in(dir.path())
        .args(["check", "--no-cache", "--output-format", "concise", "reads.py"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TG301"));
}

#[test]
fn inspect_names_a_function_or_says_it_is_not_there() {
    let dir = tree(PACKAGE);
    let out = trunkguard_in(dir.path()).args(["inspect", "pkg.util.nap"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pkg.util.nap (pkg/util.py:4)") && text.contains("waits: yes"), "{text}");
    let out = trunkguard_in(dir.path()).args(["inspect", "pkg.util.nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no function `pkg.util.nope`"));
}

#[test]
fn bases_named_through_themselves_and_alias_cycles_end() {
    // Hostile shapes: a base written through the class's own member, aliases that name each other,
    // a class that is its own base. Resolution must end (and resolve nothing it cannot).
    let dir = tree(&[
        ("pkg/__init__.py", ""),
        (
            "pkg/x.py",
            "from pkg import x\n\na = b\nb = a\n\n\nclass Y(x.Y.Z, Y):\n    def m(self):\n        self.n()\n        a()\n        super().m()\n",
        ),
    ]);
    let report = inspect(dir.path(), "pkg.x.Y.m");
    assert_eq!(target_of(&report, 10), "unresolved");
    assert_eq!(target_of(&report, 11), "unresolved");
}

#[cfg(unix)]
#[test]
fn inspect_shows_names_from_the_checkout_escaped() {
    // A file name is the checkout's to choose: a terminal escape in it must reach stdout as text.
    let name = "m\u{1b}[2J.py";
    let dir = tree(&[(name, "import time\n\n\ndef f():\n    time.sleep(1)\n")]);
    let out = trunkguard_in(dir.path()).args(["inspect", &format!("{name}::f")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("waits: yes"), "{text}");
    assert!(!text.contains('\u{1b}'), "raw escape in {text:?}");
}

const SYNC: &str = "from svc import db\n\n\nclass Syncer(object):\n    def sync(self, ctx, port_id):\n        self._store(ctx, port_id)\n\n    def _store(self, context, port_id):\n        db.update_binding(context, port_id)\n\n    def check(self, context, port_id):\n        policy.enforce(context, 'bind', {'id': port_id})\n\n    def store_other(self, context, port_id):\n        db.update_binding(port_id, {})\n";
const ENDPOINT: &str = "import oslo_messaging\n\nfrom svc import sync\n\n\nclass BindingCallback(object):\n    target = oslo_messaging.Target(version='1.0')\n\n    def __init__(self):\n        self.syncer = sync.Syncer()\n\n    def bind(self, context, port_id):\n        admin = context.elevated()\n        self.syncer.sync(admin, port_id)\n\n    def checked(self, context, port_id):\n        self.syncer.check(context, port_id)\n        admin = context.elevated()\n        self.syncer.sync(admin, port_id)\n\n    def other(self, context, port_id):\n        admin = context.elevated()\n        self.syncer.store_other(admin, port_id)\n";

#[test]
fn a_context_written_with_or_checked_in_another_module_lifts_through_calls() {
    let dir =
        tree(&[("trunkguard.toml", ""), ("svc/__init__.py", ""), ("svc/sync.py", SYNC), ("svc/rpc.py", ENDPOINT)]);
    let sync = inspect(dir.path(), "svc.sync.Syncer.sync");
    assert!(sync.contains("writes with context parameters: ctx"), "through `_store`: {sync}");
    let check = inspect(dir.path(), "svc.sync.Syncer.check");
    assert!(check.contains("checks policy on parameters: context"), "{check}");
    assert!(check.contains("writes with context parameters: no"), "{check}");
    let other = inspect(dir.path(), "svc.sync.Syncer.store_other");
    assert!(other.contains("writes with context parameters: no"), "the context is not handed to the write: {other}");
    // TG401 on the endpoint alone: the elevated context reaches a write in the other module only in
    // `bind` (`checked` checks the caller's rights through the helper first; `other` does not write
    // with it).
    let out = trunkguard_in(dir.path())
        .args(["check", "--no-cache", "--select", "TG401", "--output-format", "json", "svc/rpc.py"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let lines: Vec<_> = findings.iter().map(|f| f["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [13], "{json:#}");
    assert_eq!(findings[0]["properties"]["helper"], "svc.sync.Syncer.sync");
    let flow = findings[0]["flow"].as_array().unwrap();
    assert!(flow.iter().any(|s| s["path"] == "svc/sync.py" && s["line"] == 9), "{flow:#?}");
}
