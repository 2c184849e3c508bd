//! trunkguard: a static security-review analyzer for OpenStack Neutron-style Python code.
//!
//! Stages, each owning one job and knowing only the stages below it: [`discover`] (which files) →
//! [`source`] (bytes → text, line index) → [`prune`] and [`engine`] (one parse, one walk, dispatch to
//! the [`rules`] through [`checker`]) → [`finding`]s → [`scan`] (the per-file pipeline, cache and project
//! index) → [`triage`] (suppressions, baseline, diff, filters) → [`report`] formats. [`commands`] wires
//! them for the command line, [`server`] for editors. `ARCHITECTURE.md` is the map.

pub mod baseline;
pub mod cache;
pub mod checker;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod discover;
pub mod docs;
pub mod engine;
pub mod escape;
pub mod finding;
pub mod model;
pub mod output;
pub mod prune;
pub mod python;
pub mod report;
pub mod rules;
pub mod safe_fs;
pub mod scan;
pub mod selection;
pub mod server;
pub mod source;
pub mod suppress;
pub mod triage;

pub use commands::Exit;

/// Runs a parsed command line: the language server (`trunkguard server`), or a command-line job.
pub fn run(cli: cli::Cli) -> anyhow::Result<Exit> {
    if let cli::Command::Server = cli.command {
        server::run()?;
        return Ok(Exit::Clean);
    }
    commands::run(cli)
}
pub use scan::{Scan, ScanOptions, analyse_bytes, parse_only, scan};
