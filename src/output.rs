//! Atomic report files: the report is written to a temporary file in the destination directory and
//! renamed over the destination only when complete, so an interrupted run never leaves a truncated
//! report and an earlier report at that path survives any failure. On SIGINT/SIGTERM the pending
//! temporary files are removed before the process exits with status 130.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary report files not yet renamed into place.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Exit status after an interruption (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;

/// Installs the SIGINT/SIGTERM handler that removes pending temporary files and exits with
/// [`INTERRUPTED`]. Idempotent; failure to install (another handler present) is ignored.
pub fn install_interrupt_cleanup() {
    let _ = ctrlc::set_handler(|| {
        if let Ok(pending) = PENDING.lock() {
            for path in pending.iter() {
                let _ = std::fs::remove_file(path);
            }
        }
        eprintln!("trunkguard: interrupted; no report written, any earlier report is untouched");
        std::process::exit(INTERRUPTED);
    });
}

fn pending(path: &Path, add: bool) {
    if let Ok(mut list) = PENDING.lock() {
        if add {
            list.push(path.to_path_buf());
        } else {
            list.retain(|p| p != path);
        }
    }
}

/// Why a report could not be written (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// A report file being prepared. Created before the scan so that an unwritable destination fails
/// fast, before any work is done. Dropped without [`AtomicOutput::commit`], its temporary file is
/// removed (by tempfile) and the destination is untouched.
pub struct AtomicOutput {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicOutput {
    /// Prepares a temporary file next to `path`.
    pub fn create(path: &Path) -> Result<AtomicOutput, OutputError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let temp =
            builder.tempfile_in(dir).map_err(|source| OutputError::Create { path: path.to_path_buf(), source })?;
        pending(temp.path(), true);
        Ok(AtomicOutput { path: path.to_path_buf(), temp })
    }

    /// Writes `contents`, syncs, and renames over the destination.
    pub fn commit(self, contents: &[u8]) -> Result<(), OutputError> {
        let AtomicOutput { path, mut temp } = self;
        let temp_path = temp.path().to_path_buf();
        let fail = |source| OutputError::Write { path: path.clone(), source };
        let result = temp.write_all(contents).and_then(|_| temp.as_file().sync_all()).map_err(fail).and_then(|_| {
            temp.persist(&path).map(drop).map_err(|e| OutputError::Write { path: path.clone(), source: e.error })
        });
        pending(&temp_path, false);
        result
    }
}
