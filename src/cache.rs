//! The persistent result cache: what analysing each file produced, so that a re-scan of unchanged files
//! costs a `stat` each instead of a parse.
//!
//! One folder per (tool build, analysis configuration) under the cache directory (by default
//! `.trunkguard_cache/` in the project root, with its own `.gitignore`), holding 64 JSON buckets read on
//! first use: a scan of one file reads and writes one small bucket. Each entry is keyed by the file's
//! absolute path and holds its size and modification time, a content hash (xxh3), and the analysis:
//! findings, project-index facts, *unresolved* deferred findings and notifications. A file whose metadata
//! matches is not read at all; one whose metadata changed but whose bytes hash the same (a `touch`, a
//! `git checkout` back and forth) is not re-analysed. Project-index facts are cached per file and the
//! index is rebuilt on every run, so editing the file that declares an option `secret=True` changes the
//! findings of every file that logs it without re-analysing them.
//!
//! Correctness guards: the tool's build id (a hash of its sources, see `build.rs`) and the effective
//! analysis configuration (rules, severities, family knobs, parse mode) name the file, so a different
//! build or configuration never reads another's results. A file modified less than two seconds before
//! it was analysed gets no trusted timestamp (it could change again within the clock's granularity), so
//! the next run checks its content hash. The cache never changes what is reported: any problem reading
//! it means an empty cache, and a problem writing it is a warning.

use crate::engine::FileAnalysis;
use crate::finding::Notification;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The default cache directory name, created in the project root.
pub const DEFAULT_DIR: &str = ".trunkguard_cache";

/// The build this binary was made from (version and source hash).
pub const BUILD_ID: &str = env!("TRUNKGUARD_BUILD_ID");

/// Files modified more recently than this before being analysed are re-checked by content next time.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// A file's size, modification time and permissions, as recorded when it was analysed. (A `chmod`
/// that makes the file unreadable changes the stamp, so the next run reports the read error rather
/// than the cached findings.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    secs: u64,
    nanos: u32,
    mode: u32,
}

/// The permission bits of a file (0 where the platform has none).
fn mode(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode()
    }
    #[cfg(not(unix))]
    {
        u32::from(meta.permissions().readonly())
    }
}

impl Stamp {
    /// The stamp of a file, if its modification time is known and old enough to be trusted.
    pub fn of(meta: &std::fs::Metadata, now: SystemTime) -> Option<Stamp> {
        let modified = meta.modified().ok()?;
        if now.duration_since(modified).map_or(true, |age| age < RACY_WINDOW) {
            return None;
        }
        let since = modified.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Some(Stamp { size: meta.len(), secs: since.as_secs(), nanos: since.subsec_nanos(), mode: mode(meta) })
    }

    /// Does `meta` still describe the file this stamp was taken of?
    fn matches(&self, meta: &std::fs::Metadata) -> bool {
        let Some(since) = meta.modified().ok().and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok()) else {
            return false;
        };
        *self == Stamp { size: meta.len(), secs: since.as_secs(), nanos: since.subsec_nanos(), mode: mode(meta) }
    }
}

/// What the cache holds for one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// `None`: not trusted, check the content hash.
    pub stamp: Option<Stamp>,
    /// xxh3 of the file's bytes.
    pub hash: u64,
    /// The project-relative path the findings were fingerprinted with (`Candidate::rel`).
    pub display: String,
    pub analysis: FileAnalysis,
    pub notes: Vec<Notification>,
}

/// The content hash the cache compares.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Entries are spread over this many files by a hash of their path, so a scan of a few files reads and
/// writes a few small files, not the whole cache.
const BUCKETS: usize = 64;

/// The on-disk form of one bucket.
#[derive(Serialize, Deserialize)]
struct Bucket {
    build: String,
    key: String,
    entries: HashMap<String, Entry>,
}

/// An opened cache: the entries of one (build, configuration), read-only during the scan. Buckets are
/// read on first use.
pub struct Cache {
    /// The cache directory (holding `.gitignore`, `CACHEDIR.TAG` and one folder per build and key).
    root: PathBuf,
    /// `<root>/<build tag>-<key hash>`.
    dir: PathBuf,
    key: String,
    buckets: Vec<OnceLock<HashMap<String, Entry>>>,
}

/// Why the cache could not be written (reported as a warning; the scan's results are unaffected).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the cache in {}: {source}", dir.display())]
pub struct CacheError {
    dir: PathBuf,
    source: std::io::Error,
}

fn bucket_of(path: &str) -> usize {
    (content_hash(path.as_bytes()) % BUCKETS as u64) as usize
}

impl Cache {
    /// Opens the cache in `root` for the analysis configuration `key`. A missing, unreadable, corrupt or
    /// foreign bucket is an empty one.
    pub fn open(root: &Path, key: &str) -> Cache {
        let dir = root.join(format!("{}-{:016x}", build_tag(), content_hash(key.as_bytes())));
        let buckets = (0..BUCKETS).map(|_| OnceLock::new()).collect();
        Cache { root: root.to_path_buf(), dir, key: key.to_string(), buckets }
    }

    fn bucket_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("{i:02x}.json"))
    }

    fn bucket(&self, i: usize) -> &HashMap<String, Entry> {
        self.buckets[i].get_or_init(|| {
            std::fs::read(self.bucket_path(i))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Bucket>(&bytes).ok())
                .filter(|b| b.build == BUILD_ID && b.key == self.key)
                .map(|b| b.entries)
                .unwrap_or_default()
        })
    }

    /// The entry for `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.bucket(bucket_of(path)).get(path)
    }

    /// The entry for `path` if `meta` shows the file unchanged since it was recorded.
    pub fn fresh(&self, path: &str, meta: &std::fs::Metadata) -> Option<&Entry> {
        self.get(path).filter(|e| e.stamp.is_some_and(|s| s.matches(meta)))
    }

    /// Writes back the buckets `updates` touch: updated entries replace or join the old ones; old
    /// entries stay while their file exists. Each bucket is written atomically (a temporary file renamed
    /// over the old one), so concurrent runs never see a torn file. A fully warm run writes nothing.
    pub fn save(self, updates: Vec<(String, Entry)>) -> Result<(), CacheError> {
        if updates.is_empty() {
            return Ok(());
        }
        let err = |source| CacheError { dir: self.root.clone(), source };
        prepare_dir(&self.root, &self.dir).map_err(err)?;
        let mut touched: Vec<Vec<(String, Entry)>> = (0..BUCKETS).map(|_| Vec::new()).collect();
        for (path, entry) in updates {
            touched[bucket_of(&path)].push((path, entry));
        }
        for (i, fresh) in touched.into_iter().enumerate().filter(|(_, u)| !u.is_empty()) {
            let mut entries = self.bucket(i).clone();
            entries.retain(|path, _| Path::new(path).is_file());
            entries.extend(fresh);
            let data = Bucket { build: BUILD_ID.to_string(), key: self.key.clone(), entries };
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(err)?;
            serde_json::to_writer(std::io::BufWriter::new(tmp.as_file_mut()), &data)
                .map_err(std::io::Error::from)
                .map_err(err)?;
            tmp.as_file_mut().flush().map_err(err)?;
            tmp.persist(self.bucket_path(i)).map_err(|e| err(e.error))?;
        }
        Ok(())
    }
}

/// Creates the cache directory with a `.gitignore` (ignore everything) and a `CACHEDIR.TAG`, and the
/// folder of this build and key; removes other builds' folders.
fn prepare_dir(root: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    remove_stale(root);
    let dir = root;
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        std::fs::write(gitignore, "# Created by trunkguard: the result cache is not for version control.\n*\n")?;
    }
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        std::fs::write(
            tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n# trunkguard result cache (http://www.brynosaurus.com/cachedir/)\n",
        )?;
    }
    Ok(())
}

/// The file-name prefix of this build's cache files.
fn build_tag() -> String {
    format!("{:016x}", content_hash(BUILD_ID.as_bytes()))
}

/// Removes the folders other builds wrote (they can never be read again); this build's folders for
/// other configurations stay.
fn remove_stale(root: &Path) {
    let tag = build_tag();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let stale = name.to_str().is_some_and(|n| n.len() == 33 && n.as_bytes()[16] == b'-' && !n.starts_with(&tag));
        if stale && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_sees_size_time_and_permission_changes() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "x = 1\n").unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        file.as_file().set_modified(hour_ago).unwrap();
        let meta = std::fs::metadata(file.path()).unwrap();
        let stamp = Stamp::of(&meta, SystemTime::now()).expect("an hour-old file has a trusted stamp");
        assert!(stamp.matches(&meta));
        assert!(Stamp::of(&meta, hour_ago + Duration::from_secs(1)).is_none(), "too recent to trust");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Made unreadable (for anyone but root): the cached result must not stand for it.
            std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
            assert!(!stamp.matches(&std::fs::metadata(file.path()).unwrap()));
            std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::write(file.path(), "x = 12\n").unwrap();
        file.as_file().set_modified(hour_ago).unwrap();
        assert!(!stamp.matches(&std::fs::metadata(file.path()).unwrap()), "another size");
        std::fs::write(file.path(), "x = 2\n").unwrap();
        file.as_file().set_modified(hour_ago + Duration::from_secs(5)).unwrap();
        assert!(!stamp.matches(&std::fs::metadata(file.path()).unwrap()), "another mtime");
    }
}
