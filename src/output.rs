//! Report files (`--output`), written so that neither an interruption nor a hostile destination can do
//! harm, and standard output checked before anything is promised on it.
//!
//! What a destination is decides how it is written:
//! - **a regular file, or nothing yet**: atomically — a temporary file in the same directory, renamed
//!   over the destination once complete — so an interrupted run never leaves a truncated report and an
//!   earlier report survives any failure. The temporary file is created only when the report is ready
//!   (a `kill -9` during the scan leaves nothing behind); whether the directory accepts new files is
//!   checked up front by creating and removing one, so an unwritable destination still fails before
//!   the scan. On SIGINT/SIGTERM a pending temporary file is removed before the process exits with 130.
//! - **a symlink**: resolved (every level, dangling or not) and its final target written atomically as
//!   above; the link itself stays a link.
//! - **a character device** (`/dev/null`, a terminal) **or a FIFO**: written through, never replaced
//!   (renaming over `/dev/null` as root would replace the device with a file). A FIFO is opened
//!   non-blocking; with no reader yet, the open is retried for up to [`FIFO_WAIT`] and then fails (exit
//!   2), so a FIFO nobody reads cannot hang the run.
//! - **anything else** (a directory, a socket, a block device), and **any file the run scans**: refused
//!   with exit status 2, so a report can never overwrite the source it describes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Temporary report files not yet renamed into place.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Exit status after an interruption (128 + SIGINT), as shells report it.
pub const INTERRUPTED: i32 = 130;

/// How long writing to a FIFO waits for a reader before failing.
pub const FIFO_WAIT: Duration = Duration::from_secs(10);

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
    #[error("cannot write {}: not a regular file, character device or FIFO", path.display())]
    Unsupported { path: PathBuf },
    #[error("cannot write {}: no reader opened the FIFO within {} s", path.display(), FIFO_WAIT.as_secs())]
    NoReader { path: PathBuf },
    #[error("refusing to write the report to {}: it is one of the files being scanned", path.display())]
    Scanned { path: PathBuf },
    #[error("standard output is closed: the report has nowhere to go (use --output FILE)")]
    StdoutClosed,
}

/// How a destination is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Temporary file and rename, at this (symlink-resolved) path.
    Atomic(PathBuf),
    /// Opened and written in place: a character device or a FIFO.
    Through { fifo: bool },
}

/// A report destination, checked before the scan and written when the report is ready. Dropped
/// without [`AtomicOutput::commit`], it leaves nothing behind.
#[derive(Debug)]
pub struct AtomicOutput {
    path: PathBuf,
    kind: Kind,
}

/// Follows `path` through every symlink (at most 40, as the kernel does), whether or not the last
/// target exists yet.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)?;
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file next to `path`, named after it.
fn temp_next_to(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(parent_dir(path))
}

impl AtomicOutput {
    /// Checks the destination `path`: what it is and, for a file, that its directory accepts new files
    /// (by creating and removing a temporary file). Nothing stays on disk.
    pub fn create(path: &Path) -> Result<AtomicOutput, OutputError> {
        let create = |source| OutputError::Create { path: path.to_path_buf(), source };
        let kind = match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Kind::Atomic(resolve(path).map_err(create)?),
            Ok(meta) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::FileTypeExt;
                    let t = meta.file_type();
                    if t.is_char_device() || t.is_fifo() {
                        return Ok(AtomicOutput {
                            path: path.to_path_buf(),
                            kind: Kind::Through { fifo: t.is_fifo() },
                        });
                    }
                }
                let _ = meta;
                return Err(OutputError::Unsupported { path: path.to_path_buf() });
            }
            Err(_) => Kind::Atomic(resolve(path).map_err(create)?),
        };
        if let Kind::Atomic(target) = &kind {
            drop(temp_next_to(target).map_err(create)?);
        }
        Ok(AtomicOutput { path: path.to_path_buf(), kind })
    }

    /// The destination as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses the destination if it is one of `scanned` (the same file, however it is spelt or linked).
    pub fn check_not_scanned<'a>(&self, scanned: impl IntoIterator<Item = &'a Path>) -> Result<(), OutputError> {
        let Some(me) = identity(&self.path) else { return Ok(()) };
        if scanned.into_iter().any(|p| identity(p) == Some(me)) {
            return Err(OutputError::Scanned { path: self.path.clone() });
        }
        Ok(())
    }

    /// Writes `contents`: atomically for a file (temporary file, sync, rename), in place for a device
    /// or a FIFO.
    pub fn commit(self, contents: &[u8]) -> Result<(), OutputError> {
        let AtomicOutput { path, kind } = self;
        let fail = |source| OutputError::Write { path: path.clone(), source };
        match kind {
            Kind::Through { fifo } => {
                let mut file = if fifo { open_fifo(&path)? } else { open_device(&path).map_err(fail)? };
                file.write_all(contents).and_then(|_| file.flush()).map_err(fail)
            }
            Kind::Atomic(target) => {
                let mut temp =
                    temp_next_to(&target).map_err(|source| OutputError::Create { path: path.clone(), source })?;
                let temp_path = temp.path().to_path_buf();
                pending(&temp_path, true);
                let result = temp
                    .write_all(contents)
                    .and_then(|_| temp.as_file().sync_all())
                    .map_err(fail)
                    .and_then(|_| temp.persist(&target).map(drop).map_err(|e| fail(e.error)));
                pending(&temp_path, false);
                result
            }
        }
    }
}

/// (device, inode) of the file at `path`, following symlinks.
fn identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn open_device(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).open(path)
}

/// Opens a FIFO for writing without blocking: retried until a reader comes, for at most [`FIFO_WAIT`];
/// then the descriptor is made blocking again for the write.
#[cfg(unix)]
fn open_fifo(path: &Path) -> Result<std::fs::File, OutputError> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let started = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path) {
            Ok(file) => {
                // SAFETY: fcntl on a descriptor this function owns, with plain integer arguments.
                unsafe {
                    let fd = file.as_raw_fd();
                    let flags = libc::fcntl(fd, libc::F_GETFL);
                    if flags != -1 {
                        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                    }
                }
                return Ok(file);
            }
            // ENXIO: no reader yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && started.elapsed() < FIFO_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                return Err(OutputError::NoReader { path: path.to_path_buf() });
            }
            Err(source) => return Err(OutputError::Write { path: path.to_path_buf(), source }),
        }
    }
}

#[cfg(not(unix))]
fn open_fifo(path: &Path) -> Result<std::fs::File, OutputError> {
    open_device(path).map_err(|source| OutputError::Write { path: path.to_path_buf(), source })
}

/// Whether standard output was open when trunkguard started (`trunkguard check . >&-` closes it).
///
/// Rust's runtime opens `/dev/null` read-write on a standard descriptor that is closed at start-up, so
/// a closed standard output looks like `/dev/null` opened `O_RDWR`; a shell's `> /dev/null` opens it
/// write-only, and stays a valid destination (for a run that only wants the exit status).
pub fn stdout_is_open() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: F_GETFD and F_GETFL on descriptor 1 only query its flags; fstat fills a zeroed struct.
        let (flags, rdev, is_char) = unsafe {
            if libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) == -1 {
                return false;
            }
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(libc::STDOUT_FILENO, &mut st) != 0 {
                return false;
            }
            (libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL), st.st_rdev, st.st_mode & libc::S_IFMT == libc::S_IFCHR)
        };
        let dev_null = std::fs::metadata("/dev/null").map(|m| m.rdev()).ok();
        !(is_char && Some(rdev) == dev_null && flags != -1 && flags & libc::O_ACCMODE == libc::O_RDWR)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_to_their_final_target_even_dangling() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("sub/c", dir.path().join("b")).unwrap();
        assert_eq!(resolve(&dir.path().join("a")).unwrap(), dir.path().join("sub/c"));
        std::os::unix::fs::symlink("loop", dir.path().join("loop")).unwrap();
        assert!(resolve(&dir.path().join("loop")).is_err());
    }
}
