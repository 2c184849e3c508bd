//! Opening and reading files the scanned tree controls: only regular files, never blocking on a FIFO,
//! optionally never through a symlink, and never more than a limit of bytes.
//!
//! A pull request can commit a FIFO (an `open` for reading blocks until a writer comes, forever), a
//! symlink to `/dev/zero` (an unbounded read fills memory) or a file of any size. Every read of such a
//! file goes through [`open_regular`] — `O_NONBLOCK` so opening a FIFO returns at once, then `fstat`
//! on the opened descriptor (no race with a rename) to keep regular files only — and [`read_limited`],
//! which reads at most `limit + 1` bytes, so a file that grows while it is read is caught too.

use crate::finding::{Level, Notification};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Whether [`open_regular`] may follow a symlink in the last path component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symlinks {
    /// Follow it (a file the user named, which may be a link to a regular file).
    Follow,
    /// Refuse it (`O_NOFOLLOW`): files trunkguard itself wrote are never links.
    Refuse,
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{size} bytes, larger than max-file-size ({limit} bytes); skipped")]
    TooLarge { size: u64, limit: u64 },
    #[error("grew past max-file-size ({limit} bytes) while being read; skipped")]
    Grew { limit: u64 },
    #[error("not a regular file (FIFO, socket or device); skipped")]
    NotRegular,
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens `path` for reading if it is a regular file, without ever blocking (a FIFO is opened
/// non-blocking, then refused). With [`Symlinks::Refuse`] a symlink fails to open (`ELOOP`).
pub fn open_regular(path: &Path, symlinks: Symlinks) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if symlinks == Symlinks::Refuse { libc::O_NOFOLLOW } else { 0 };
        options.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    #[cfg(not(unix))]
    if symlinks == Symlinks::Refuse && std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(ReadError::NotRegular);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(ReadError::NotRegular);
    }
    Ok(file)
}

/// Reads all of `file` if it holds at most `limit` bytes: refuses it by its size first, then reads at
/// most `limit + 1` bytes (a file growing while it is read stops there).
pub fn read_limited(mut file: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    (&mut file).take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::Grew { limit });
    }
    Ok(bytes)
}

impl ReadError {
    /// The notification that reports this on the file shown as `display`: `too-large` (warning),
    /// `skipped` (note) or `read-error` (error).
    pub fn notification(&self, display: &str) -> Notification {
        let (id, level) = match self {
            ReadError::TooLarge { .. } | ReadError::Grew { .. } => ("too-large", Level::Warning),
            ReadError::NotRegular => ("skipped", Level::Note),
            ReadError::Io(_) => ("read-error", Level::Error),
        };
        Notification { id, level, path: Some(display.to_string()), line: None, message: self.to_string() }
    }
}

/// [`open_regular`] then [`read_limited`].
pub fn read_regular(path: &Path, symlinks: Symlinks, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_limited(open_regular(path, symlinks)?, limit)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
        assert!(status.success());
    }

    #[test]
    fn fifos_and_links_to_them_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.py");
        mkfifo(&fifo);
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for symlinks in [Symlinks::Follow, Symlinks::Refuse] {
            assert!(matches!(read_regular(&fifo, symlinks, 100), Err(ReadError::NotRegular)));
        }
        assert!(matches!(read_regular(&link, Symlinks::Follow, 100), Err(ReadError::NotRegular)));
        assert!(matches!(read_regular(&link, Symlinks::Refuse, 100), Err(ReadError::Io(_))));
        assert!(matches!(read_regular(dir.path(), Symlinks::Follow, 100), Err(ReadError::NotRegular)));
    }

    #[test]
    fn size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_regular(&file, Symlinks::Refuse, 6).unwrap(), b"x = 1\n");
        assert!(matches!(read_regular(&file, Symlinks::Refuse, 5), Err(ReadError::TooLarge { size: 6, limit: 5 })));
        let link = dir.path().join("b.py");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link, Symlinks::Follow, 6).unwrap(), b"x = 1\n");
        assert!(read_regular(&link, Symlinks::Refuse, 6).is_err());
    }
}
