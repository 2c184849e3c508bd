//! The persistent result cache: what analysing each file produced, so that a re-scan of unchanged files
//! costs a `stat` each instead of a parse.
//!
//! One folder per (tool build, analysis configuration) under the cache directory (by default
//! `.trunkguard_cache/` in the project root, with its own `.gitignore`), holding 64 JSON buckets read on
//! first use: a scan of one file reads and writes one small bucket. Each entry is keyed by the file's
//! absolute path and holds its size and modification time, a content hash (BLAKE3), and the analysis:
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
//!
//! The cache lives in a checkout a pull request controls, so nothing in it is trusted: each bucket
//! starts with a BLAKE3 keyed MAC (the `blake3` crate: one fast, audited, dependency-light primitive
//! for both the MAC and the content hash, where `hmac` + `sha2` would be two crates and slower) made
//! with a per-user secret kept outside any checkout ([`secret`]); a bucket that fails it is a miss.
//! Cache files are opened without following symlinks, non-blocking, regular files only, with a size
//! bound; the cache directory is used only when trunkguard created it (its `CACHEDIR.TAG`), is empty
//! or does not exist, and never when it or its build folder is a symlink.

use crate::engine::FileAnalysis;
use crate::finding::Notification;
use crate::safe_fs::Symlinks;
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
    /// BLAKE3 of the file's bytes (hex).
    pub hash: String,
    /// The project-relative path the findings were fingerprinted with (`Candidate::rel`).
    pub display: String,
    pub analysis: FileAnalysis,
    pub notes: Vec<Notification>,
}

/// The content hash the cache compares: BLAKE3, hex. (Cryptographic: a pull request could craft a
/// file whose 64-bit xxh3 equals that of a benign file analysed before, and be answered with the benign
/// file's clean result.)
pub fn content_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A fast non-cryptographic hash for file names (bucket index, folder name).
fn name_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Entries are spread over this many files by a hash of their path, so a scan of a few files reads and
/// writes a few small files, not the whole cache.
const BUCKETS: usize = 64;

/// A bucket larger than this is not read (a bucket is a few kilobytes per file it describes).
const MAX_BUCKET_BYTES: u64 = 64 << 20;

/// Temporary bucket files older than this were left by a killed run and are removed.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// The first line of the `CACHEDIR.TAG` trunkguard writes (the standard signature), and the line that
/// marks the directory as trunkguard's own: only a directory holding both is ever written or cleaned.
const TAG_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55\n";
const TAG_OWNER: &str = "# trunkguard result cache (http://www.brynosaurus.com/cachedir/)\n";

/// The on-disk form of one bucket (after its MAC line).
#[derive(Serialize, Deserialize)]
struct Bucket {
    build: String,
    key: String,
    entries: HashMap<String, Entry>,
}

/// The secret that authenticates cache buckets: 32 random bytes, per user, kept outside any checkout.
pub type Secret = [u8; 32];

/// An opened cache: the entries of one (build, configuration), read-only during the scan. Buckets are
/// read on first use.
pub struct Cache {
    /// The cache directory (holding `.gitignore`, `CACHEDIR.TAG` and one folder per build and key).
    root: PathBuf,
    /// `<root>/<build tag>-<key hash>`.
    dir: PathBuf,
    key: String,
    secret: Secret,
    buckets: Vec<OnceLock<HashMap<String, Entry>>>,
}

/// Why the cache is not used or not written (a warning; the scan's results are unaffected).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot write the cache in {}: {source}; results are complete, the next run starts cold", dir.display())]
    Write { dir: PathBuf, source: std::io::Error },
    #[error("no usable place for the cache key ({reason}); running without the cache")]
    NoKey { reason: String },
    #[error("the cache directory {} is a symlink, which trunkguard never follows; running without the cache", dir.display())]
    Symlink { dir: PathBuf },
    #[error(
        "{} is not a trunkguard cache (not an empty directory, no CACHEDIR.TAG written by trunkguard); running without the cache",
        dir.display()
    )]
    Foreign { dir: PathBuf },
}

fn bucket_of(path: &str) -> usize {
    (name_hash(path.as_bytes()) % BUCKETS as u64) as usize
}

impl Cache {
    /// Opens the cache in `root` for the analysis configuration `key`, authenticated with the per-user
    /// secret ([`secret`]). Refused — the scan runs without a cache — when there is no secret, or when
    /// `root` or its folder for this build is a symlink, or `root` is a non-empty directory trunkguard
    /// did not create. A missing, unreadable, oversized, corrupt, unauthenticated or foreign bucket is
    /// an empty one.
    pub fn open(root: &Path, key: &str) -> Result<Cache, CacheError> {
        let secret = secret()?;
        Cache::open_with(root, key, secret)
    }

    /// [`Cache::open`] with the given secret.
    pub fn open_with(root: &Path, key: &str, secret: Secret) -> Result<Cache, CacheError> {
        let dir = root.join(format!("{}-{:016x}", build_tag(), name_hash(key.as_bytes())));
        check_root(root)?;
        if is_symlink(&dir) {
            return Err(CacheError::Symlink { dir });
        }
        let buckets = (0..BUCKETS).map(|_| OnceLock::new()).collect();
        Ok(Cache { root: root.to_path_buf(), dir, key: key.to_string(), secret, buckets })
    }

    fn bucket_name(i: usize) -> String {
        format!("{i:02x}.json")
    }

    fn bucket(&self, i: usize) -> &HashMap<String, Entry> {
        self.buckets[i].get_or_init(|| {
            crate::safe_fs::read_regular(&self.dir.join(Self::bucket_name(i)), Symlinks::Refuse, MAX_BUCKET_BYTES)
                .ok()
                .and_then(|bytes| decode_bucket(&bytes, &self.secret, &Self::bucket_name(i)))
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
        let err = |source| CacheError::Write { dir: self.root.clone(), source };
        prepare_dir(&self.root, &self.dir)?;
        let mut touched: Vec<Vec<(String, Entry)>> = (0..BUCKETS).map(|_| Vec::new()).collect();
        for (path, entry) in updates {
            touched[bucket_of(&path)].push((path, entry));
        }
        for (i, fresh) in touched.into_iter().enumerate().filter(|(_, u)| !u.is_empty()) {
            let mut entries = self.bucket(i).clone();
            entries.retain(|path, _| Path::new(path).is_file());
            entries.extend(fresh);
            let data = Bucket { build: BUILD_ID.to_string(), key: self.key.clone(), entries };
            let bytes = encode_bucket(&data, &self.secret, &Self::bucket_name(i)).map_err(err)?;
            let mut tmp =
                tempfile::Builder::new().prefix(TEMP_PREFIX).suffix(".tmp").tempfile_in(&self.dir).map_err(err)?;
            tmp.as_file_mut().write_all(&bytes).map_err(err)?;
            tmp.persist(self.dir.join(Self::bucket_name(i))).map_err(|e| err(e.error))?;
        }
        Ok(())
    }
}

/// The prefix of temporary bucket files.
const TEMP_PREFIX: &str = ".bucket-";

/// The MAC of a bucket body: BLAKE3 keyed with the secret, over the bucket's file name and its body.
fn mac(secret: &Secret, name: &str, body: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(secret);
    hasher.update(b"trunkguard cache bucket v1\0");
    hasher.update(name.as_bytes());
    hasher.update(b"\0");
    hasher.update(body);
    hasher.finalize()
}

/// A bucket file: the hex MAC of the body, a line feed, the JSON body.
fn encode_bucket(bucket: &Bucket, secret: &Secret, name: &str) -> std::io::Result<Vec<u8>> {
    let body = serde_json::to_vec(bucket)?;
    let mut out = mac(secret, name, &body).to_hex().as_bytes().to_vec();
    out.push(b'\n');
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads a bucket file back: `None` unless its MAC (compared in constant time) vouches for it and it
/// parses. Never an error: any problem is a cache miss.
fn decode_bucket(bytes: &[u8], secret: &Secret, name: &str) -> Option<Bucket> {
    let newline = memchr::memchr(b'\n', bytes)?;
    let (head, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let claimed = blake3::Hash::from_hex(head).ok()?;
    // `blake3::Hash`'s equality is constant-time.
    if claimed != mac(secret, name, body) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Fuzzing and tests: decodes `bytes` as the bucket file `name`, returning how many entries it holds
/// (`None`: rejected). With `sign`, `bytes` is taken as a body and given a valid MAC first, so the
/// parser behind the MAC is reached too.
pub fn decode_for_fuzzing(bytes: &[u8], secret: &Secret, name: &str, sign: bool) -> Option<usize> {
    let signed;
    let bytes = if sign {
        let mut out = mac(secret, name, bytes).to_hex().as_bytes().to_vec();
        out.push(b'\n');
        out.extend_from_slice(bytes);
        signed = out;
        &signed[..]
    } else {
        bytes
    };
    let bucket = decode_bucket(bytes, secret, name)?;
    let again = encode_bucket(&bucket, secret, name).ok()?;
    let n = bucket.entries.len();
    assert_eq!(decode_bucket(&again, secret, name).map(|b| b.entries.len()), Some(n), "a bucket re-reads as written");
    Some(n)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether `root` holds the `CACHEDIR.TAG` trunkguard writes (read without following a symlink).
fn has_marker(root: &Path) -> bool {
    crate::safe_fs::read_regular(&root.join("CACHEDIR.TAG"), Symlinks::Refuse, 4096).is_ok_and(|tag| {
        tag.starts_with(TAG_SIGNATURE.as_bytes()) && tag.windows(TAG_OWNER.len()).any(|w| w == TAG_OWNER.as_bytes())
    })
}

/// May trunkguard use `root`? Yes if it does not exist yet, is trunkguard's (marked), or is an empty
/// directory; never when it is a symlink.
fn check_root(root: &Path) -> Result<(), CacheError> {
    let meta = match std::fs::symlink_metadata(root) {
        Ok(meta) => meta,
        Err(_) => return Ok(()),
    };
    if meta.file_type().is_symlink() {
        return Err(CacheError::Symlink { dir: root.to_path_buf() });
    }
    let empty = || std::fs::read_dir(root).is_ok_and(|mut d| d.next().is_none());
    if !meta.is_dir() {
        return Err(CacheError::Foreign { dir: root.to_path_buf() });
    }
    // Another trunkguard may be setting the directory up this instant (`prepare_dir`): while it holds
    // only the files set-up writes, wait a little for its marker before calling it foreign.
    for wait in 0..=SETUP_WAITS {
        if has_marker(root) || empty() {
            return Ok(());
        }
        if wait == SETUP_WAITS || !only_setup_files(root) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(CacheError::Foreign { dir: root.to_path_buf() })
}

/// How many times (5 ms apart) a directory that holds only set-up files is looked at again.
const SETUP_WAITS: usize = 20;

/// The temporary name the marker is written under before it is linked into place.
fn tag_temp_name() -> String {
    format!(".CACHEDIR.TAG.{}.tmp", std::process::id())
}

/// Does `root` hold nothing but what [`prepare_dir`] writes before the marker is in place?
fn only_setup_files(root: &Path) -> bool {
    std::fs::read_dir(root).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name == ".gitignore" || (name.starts_with(".CACHEDIR.TAG.") && name.ends_with(".tmp"))
        })
    })
}

/// Creates the cache directory with a `.gitignore` (ignore everything) and the `CACHEDIR.TAG` that marks
/// it as trunkguard's, and the folder of this build and key; removes other builds' folders and stale
/// temporary files. Touches nothing in a directory trunkguard did not create, and follows no symlink.
fn prepare_dir(root: &Path, dir: &Path) -> Result<(), CacheError> {
    let err = |source| CacheError::Write { dir: root.to_path_buf(), source };
    check_root(root)?;
    std::fs::create_dir_all(root).map_err(err)?;
    check_root(root)?;
    let gitignore = "# Created by trunkguard: the result cache is not for version control.\n*\n";
    create_new(&root.join(".gitignore"), gitignore).map_err(err)?;
    // The marker appears whole or not at all: written under a temporary name, then linked into place
    // (a link never replaces a file: the first run's marker stays).
    let temp = root.join(tag_temp_name());
    let _ = std::fs::remove_file(&temp);
    create_new(&temp, &format!("{TAG_SIGNATURE}{TAG_OWNER}")).map_err(err)?;
    let linked = std::fs::hard_link(&temp, root.join("CACHEDIR.TAG"));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        // A file system without hard links: written in place, as a last resort.
        Err(_) => create_new(&root.join("CACHEDIR.TAG"), &format!("{TAG_SIGNATURE}{TAG_OWNER}")).map_err(err)?,
    }
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        other => other.map_err(err)?,
    }
    if is_symlink(dir) || !dir.is_dir() {
        return Err(CacheError::Symlink { dir: dir.to_path_buf() });
    }
    remove_stale(root);
    remove_stale_temps(dir);
    Ok(())
}

/// Writes a file that must not exist yet (never through a symlink); one that exists is left alone.
fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => file.write_all(text.as_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file-name prefix of this build's cache files.
fn build_tag() -> String {
    format!("{:016x}", name_hash(BUILD_ID.as_bytes()))
}

/// Removes the folders other builds wrote (they can never be read again); this build's folders for
/// other configurations stay. Only real directories named like a build folder, inside a directory
/// marked as trunkguard's; `remove_dir_all` does not follow symlinks inside them.
fn remove_stale(root: &Path) {
    if !has_marker(root) || is_symlink(root) {
        return;
    }
    let tag = build_tag();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let stale = name.to_str().is_some_and(|n| {
            n.len() == 33
                && n.as_bytes()[16] == b'-'
                && n.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
                && !n.starts_with(&tag)
        });
        if stale && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes temporary bucket files a killed run left behind (older than an hour, so a concurrent run's
/// are safe).
fn remove_stale_temps(dir: &Path) {
    let now = SystemTime::now();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let ours = entry.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(".tmp"));
        let old = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .is_some_and(|m| now.duration_since(m).is_ok_and(|age| age > STALE_TEMP));
        if ours && old && entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Where the per-user secret lives: `$XDG_CACHE_HOME/trunkguard/key`, else `$HOME/.cache/trunkguard/key`
/// (relative or empty values are ignored, as the XDG specification says), unless
/// [`set_secret_location`] named another.
pub fn secret_location() -> Option<PathBuf> {
    if let Some(path) = SECRET_LOCATION.get() {
        return Some(path.clone());
    }
    let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
    Some(base.join("trunkguard").join("key"))
}

static SECRET_LOCATION: OnceLock<PathBuf> = OnceLock::new();

/// For embedders and tests: keep the secret at `path` instead of the per-user default (first call wins).
pub fn set_secret_location(path: PathBuf) {
    let _ = SECRET_LOCATION.set(path);
}

/// The per-user secret, created on first use (32 bytes from the system's random source, mode 0600, in
/// a directory of mode 0700). Refused unless it is a regular file (not a symlink) of 32 bytes owned by
/// this user and readable by no one else.
pub fn secret() -> Result<Secret, CacheError> {
    let no_key = |reason: String| CacheError::NoKey { reason };
    let path = secret_location().ok_or_else(|| no_key("neither XDG_CACHE_HOME nor HOME is set".into()))?;
    let dir = path.parent().ok_or_else(|| no_key(format!("{} has no parent", path.display())))?;
    let shown = |e: &dyn std::fmt::Display| no_key(format!("{}: {e}", path.display()));
    match read_secret(&path) {
        Ok(secret) => {
            private_dir(dir).map_err(|why| no_key(format!("{}: {why}", dir.display())))?;
            return Ok(secret);
        }
        Err(SecretError::Missing) => {}
        Err(SecretError::Unsafe(why)) => return Err(shown(&why)),
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| shown(&e))?;
    private_dir(dir).map_err(|why| no_key(format!("{}: {why}", dir.display())))?;
    let mut fresh = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut r| std::io::Read::read_exact(&mut r, &mut fresh))
        .map_err(|e| shown(&e))?;
    // Written to a temporary file (mode 0600) and linked into place only if none is there yet, so that
    // concurrent first runs agree on one secret.
    let mut tmp = tempfile::Builder::new().prefix(".key-").tempfile_in(dir).map_err(|e| shown(&e))?;
    tmp.as_file_mut().write_all(&fresh).and_then(|_| tmp.as_file().sync_all()).map_err(|e| shown(&e))?;
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(fresh),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read_secret(&path).map_err(|e| shown(&e)),
        Err(e) => Err(shown(&e.error)),
    }
}

/// Refuses a secret's directory that is a symlink, or that another user owns or can write to.
fn private_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory (or a symlink)".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        if meta.uid() != unsafe { libc::geteuid() } || meta.mode() & 0o022 != 0 {
            return Err("must be owned by this user and writable by no one else".into());
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum SecretError {
    #[error("missing")]
    Missing,
    #[error("{0}")]
    Unsafe(String),
}

fn read_secret(path: &Path) -> Result<Secret, SecretError> {
    use crate::safe_fs::ReadError;
    let file = match crate::safe_fs::open_regular(path, Symlinks::Refuse) {
        Ok(file) => file,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Err(SecretError::Missing),
        Err(e) => return Err(SecretError::Unsafe(format!("not a regular file of its own: {e}"))),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().map_err(|e| SecretError::Unsafe(e.to_string()))?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.mode() & 0o077 != 0 {
            return Err(SecretError::Unsafe(
                "must be owned by this user and readable by no one else (mode 0600)".into(),
            ));
        }
    }
    let bytes = crate::safe_fs::read_limited(file, 32).map_err(|e| SecretError::Unsafe(e.to_string()))?;
    bytes.try_into().map_err(|_| SecretError::Unsafe("not 32 bytes long".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_authenticated() {
        let bucket = Bucket { build: BUILD_ID.into(), key: "k".into(), entries: HashMap::new() };
        let secret = [1u8; 32];
        let bytes = encode_bucket(&bucket, &secret, "00.json").unwrap();
        assert!(decode_bucket(&bytes, &secret, "00.json").is_some());
        assert!(decode_bucket(&bytes, &[2u8; 32], "00.json").is_none(), "another secret");
        assert!(decode_bucket(&bytes, &secret, "01.json").is_none(), "another bucket's place");
        let mut edited = bytes.clone();
        *edited.last_mut().unwrap() = b' ';
        assert!(decode_bucket(&edited, &secret, "00.json").is_none(), "an edited body");
        let body = &bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..];
        assert!(decode_bucket(body, &secret, "00.json").is_none(), "no MAC");
        assert_eq!(decode_for_fuzzing(body, &secret, "00.json", true), Some(0));
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_is_private_and_refused_otherwise() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trunkguard/key");
        assert!(matches!(read_secret(&path), Err(SecretError::Missing)));
        std::fs::create_dir(dir.path().join("trunkguard")).unwrap();
        std::fs::write(&path, [9u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_secret(&path), Err(SecretError::Unsafe(_))), "readable by others");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret(&path).unwrap(), [9u8; 32]);
        std::fs::write(&path, [9u8; 33]).unwrap();
        assert!(matches!(read_secret(&path), Err(SecretError::Unsafe(_))), "wrong length");
        let link = dir.path().join("trunkguard/link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(matches!(read_secret(&link), Err(SecretError::Unsafe(_))), "a symlink");
    }

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
