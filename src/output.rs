//! Atomic report files: the report is written to a temporary file in the destination directory and
//! renamed over the destination only when complete, so an interrupted run never leaves a truncated
//! report and an earlier report at that path survives any failure.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a report could not be written (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// A report file being prepared. Created before the scan so that an unwritable destination fails
/// fast, before any work is done.
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
        Ok(AtomicOutput { path: path.to_path_buf(), temp })
    }

    /// Writes `contents`, syncs, and renames over the destination.
    pub fn commit(mut self, contents: &[u8]) -> Result<(), OutputError> {
        let path = self.path.clone();
        let fail = |source| OutputError::Write { path: path.clone(), source };
        self.temp.write_all(contents).map_err(fail)?;
        self.temp.as_file().sync_all().map_err(fail)?;
        self.temp.persist(&self.path).map_err(|e| OutputError::Write { path: path.clone(), source: e.error })?;
        Ok(())
    }
}
