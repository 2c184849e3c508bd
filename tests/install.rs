//! `pip install .` builds the binary with maturin and installs it into a fresh virtualenv, where it
//! runs the main job; the pre-commit hook definition names that binary. Slow (a release build), so
//! ignored by default; `.ci/run` runs it with `--include-ignored`.

mod common;

use std::process::Command;

#[test]
#[ignore = "builds a wheel (minutes): cargo test --test install -- --ignored"]
fn pip_install_puts_a_working_binary_in_a_fresh_venv() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python).args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
    assert!(ok.success(), "cannot create a virtualenv");
    let install = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(common::root())
        // Reuse the build between runs; the main target/ stays free for cargo test.
        .env("CARGO_TARGET_DIR", common::root().join("target/wheel"))
        .output()
        .unwrap();
    assert!(install.status.success(), "pip install . failed:\n{}", String::from_utf8_lossy(&install.stderr));
    let bin = venv.join("bin/trunkguard");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("trunkguard {}", env!("CARGO_PKG_VERSION")));
    let check = Command::new(&bin)
        .current_dir(common::root())
        .args(["check", "fixtures/example", "--output-format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1), "the example has findings");
    let sarif: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    common::assert_schema_valid(&sarif);
}

#[test]
fn pre_commit_hook_runs_the_installed_binary_on_python_files() {
    let hooks = std::fs::read_to_string(common::root().join(".pre-commit-hooks.yaml")).unwrap();
    for line in ["- id: trunkguard", "entry: trunkguard check --force-exclude", "language: python", "types: [python]"] {
        assert!(hooks.lines().any(|l| l.trim() == line.trim()), ".pre-commit-hooks.yaml lacks `{line}`");
    }
    let pyproject = std::fs::read_to_string(common::root().join("pyproject.toml")).unwrap();
    assert!(pyproject.contains("build-backend = \"maturin\"") && pyproject.contains("bindings = \"bin\""));
    // pre-commit passes the staged file names after the entry: the entry must accept files.
    common::trunkguard()
        .args(["check", "fixtures/exceptions/handlers.py", "fixtures/example/trunk_plugin/constants.py"])
        .assert()
        .code(1);
}

/// The README's pre-commit recipe, run for real: pre-commit installs the hook from a clone of this
/// repository (at HEAD), runs it on a project's files, fails on a finding and leaves out a file the
/// project's configuration excludes (the hook passes `--force-exclude`).
#[test]
#[ignore = "pip-installs pre-commit and builds the hook's wheel (minutes): cargo test --test install -- --ignored"]
fn pre_commit_installs_and_runs_the_hook_from_a_clone() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    assert!(Command::new(&python).args(["-m", "venv"]).arg(&venv).status().unwrap().success());
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "pre-commit"])
        .output()
        .unwrap();
    assert!(pip.status.success(), "pip install pre-commit failed:\n{}", String::from_utf8_lossy(&pip.stderr));
    let git = |cwd: &std::path::Path, args: &[&str]| {
        let out = Command::new("git")
            .current_dir(cwd)
            .args(["-c", "user.email=ci@example.org", "-c", "user.name=ci"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let rev = git(&common::root(), &["rev-parse", "HEAD"]);
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("gen")).unwrap();
    git(&project, &["init", "-q"]);
    let handler = "def f():\n    try:\n        g()\n    except:\n        pass\n";
    std::fs::write(project.join("plugin.py"), handler).unwrap();
    std::fs::write(project.join("gen/generated.py"), handler).unwrap();
    std::fs::write(project.join("trunkguard.toml"), "exclude = [\"gen\"]\n").unwrap();
    let config =
        format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: trunkguard\n", common::root().display());
    std::fs::write(project.join(".pre-commit-config.yaml"), config).unwrap();
    git(&project, &["add", "."]);
    let run = Command::new(venv.join("bin/pre-commit"))
        .current_dir(&project)
        .args(["run", "--all-files"])
        .env("PRE_COMMIT_HOME", dir.path().join("pre-commit-home"))
        .env("CARGO_TARGET_DIR", common::root().join("target/wheel"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "the hook fails on the finding:\n{out}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.contains("plugin.py:4:5: TG203"), "{out}");
    assert!(!out.contains("generated.py"), "the configuration's exclude applies to files pre-commit names:\n{out}");
}
