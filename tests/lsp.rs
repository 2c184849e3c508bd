//! The language server as an editor uses it: `tests/lsp/test_server.py` drives the real
//! `trunkguard server` binary through a real LSP client (pytest-lsp, built on pygls' client) —
//! initialize, open, edit, diagnostics, a quick fix applied, a suppression, hover, a configuration
//! change, shutdown. The client is pip-installed (pinned, `tests/lsp/requirements.txt`) into a
//! virtualenv under target/, so the test is ignored by default; `.ci/run` runs it with
//! `--include-ignored`.

mod common;

use std::process::Command;

#[test]
#[ignore = "pip-installs pytest-lsp into target/lsp-venv: cargo test --test lsp -- --ignored"]
fn an_lsp_client_drives_the_server_through_open_edit_fix_and_shutdown() {
    let root = common::root();
    let venv = root.join("target/lsp-venv");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if !venv.join("bin/python").exists() {
        let ok = Command::new(&python).args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
        assert!(ok.success(), "cannot create a virtualenv");
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(root.join("tests/lsp/requirements.txt"))
        .output()
        .unwrap();
    assert!(pip.status.success(), "pip install failed:\n{}", String::from_utf8_lossy(&pip.stderr));
    let out = Command::new(venv.join("bin/python"))
        .current_dir(root.join("tests/lsp"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_server.py"])
        .env("TRUNKGUARD_BIN", env!("CARGO_BIN_EXE_trunkguard"))
        .env_remove("TRUNKGUARD_EXTEND_SELECT")
        .env("XDG_CACHE_HOME", common::xdg_cache_home())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the LSP end-to-end test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
