//! The `trunkguard` binary: parse the command line, run, map the outcome to an exit status.

use clap::Parser;
use std::process::ExitCode;
use trunkguard::{Exit, cli::Cli, run};

/// mimalloc for Rust's allocations too (tree-sitter's are switched in `engine::new_parser`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    no_transparent_huge_pages();
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

/// Opts this process out of transparent huge pages. mimalloc asks for them on its arenas
/// (`MADV_HUGEPAGE`), and the kernel then backs a half-used 2 MiB range whole and zeroes it: on the
/// corpus, cold, that was 30 MB of peak RSS and half the system time. A warm scan pays in page faults
/// instead (about 20 ms on the corpus). Before any thread starts, so every later page fault sees it;
/// if the kernel refuses, nothing changes.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
