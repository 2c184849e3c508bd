//! The `trunkguard` binary: parse the command line, run, map the outcome to an exit status.

use clap::Parser;
use std::process::ExitCode;
use trunkguard::{Exit, cli::Cli, run};

/// mimalloc for Rust's allocations too (tree-sitter's are switched in `engine::new_parser`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Error as u8 } else { Exit::Clean as u8 });
        }
    };
    match run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            // Errors name paths, which may come from the scanned tree: no control character reaches the terminal.
            eprintln!("trunkguard: error: {}", trunkguard::escape::visible(&format!("{e:#}")));
            ExitCode::from(Exit::Error as u8)
        }
    }
}
