//! The on-disk compile cache: Aegis's own, in a subdirectory only it writes.
//!
//! `with_compile_cache(DIR)` keeps compiled code in `DIR/aegis-compile-cache-v1/`,
//! a directory Aegis creates (mode 0700) and marks with a `CACHEDIR.TAG` file.
//! `DIR` itself may hold anything: Aegis never reads, writes or deletes
//! anything outside its subdirectory, and inside it only touches names of its
//! own making (`<sha256>.cwasm` artifacts and `.<sha256>.<pid>.<n>.tmp` files
//! being written).
//!
//! An artifact is named by the SHA-256 of the module's bytes, its kind (core
//! module or component), the engine's compatibility hash (target, compiler
//! flags, tunables, wasm features, wasmtime version) and the Aegis version.
//! The file holds a header (magic, that key, the SHA-256 of the payload)
//! followed by the bytes of `Module::serialize` / `Component::serialize`.
//!
//! Loading cached code skips validation and runs it as native code, so before
//! every load the whole path is checked, like OpenSSH's `StrictModes`:
//! every directory from `/` down is owned by root or the current user and
//! writable by no one else (a root-owned sticky directory such as `/tmp` is
//! allowed above the cache), the cache subdirectory is the current user's,
//! and the artifact is a regular file (not a symlink) owned by the current
//! user and writable by no one else. The header must name the wanted key and
//! match the payload's hash. When any check fails the module is compiled
//! instead: an untrusted path is neither read nor written, a broken artifact
//! is replaced. The cache is an optimisation, so these cases are not errors;
//! [`CompileCacheStats`] counts them.

use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::runtime::Runtime;

/// The subdirectory of the user's cache directory that Aegis owns.
pub(crate) const SUBDIR: &str = "aegis-compile-cache-v1";
/// The marker file, in the Cache Directory Tagging format (backup tools skip it).
const MARKER: &str = "CACHEDIR.TAG";
const MARKER_TEXT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
    # This directory holds code compiled by Aegis (aegis-core), a cache that\n\
    # may be deleted at any time. Aegis only writes and deletes files it made here.\n";
/// First bytes of every artifact.
const MAGIC: &[u8; 8] = b"AEGISCC1";
/// Magic, key, payload hash.
const HEADER_LEN: usize = 8 + 32 + 32;
const ARTIFACT_EXT: &str = ".cwasm";
/// Artifacts beyond this total size are evicted, least recently used first.
const DEFAULT_MAX_BYTES: u64 = 512 << 20;
/// Temporary files older than this were left by a crashed writer.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// What the compile cache did since the runtime was built
/// ([`Runtime::compile_cache_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompileCacheStats {
    /// Modules loaded from the cache instead of compiled.
    pub hits: u64,
    /// Modules compiled because the cache held no usable artifact for them
    /// (includes the `untrusted` and `invalid` cases).
    pub misses: u64,
    /// Artifacts written to the cache.
    pub stored: u64,
    /// Loads where the cache path or the artifact failed the ownership and
    /// permission checks: the module was compiled and nothing was read or
    /// replaced.
    pub untrusted: u64,
    /// Artifacts found but unusable (truncated, corrupt, for another module
    /// or engine): the module was compiled and the artifact replaced.
    pub invalid: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    stored: AtomicU64,
    untrusted: AtomicU64,
    invalid: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// An open compile cache, held by the runtime.
pub(crate) struct CompileCache {
    /// `DIR/aegis-compile-cache-v1`, with `DIR` made absolute when the
    /// runtime was built.
    root: PathBuf,
    /// The effective user: the only owner (with root, above the cache) Aegis trusts.
    uid: u32,
    max_bytes: u64,
    counters: Counters,
}

impl std::fmt::Debug for CompileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileCache")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// Compiled code that can go through the cache.
pub(crate) trait Artifact: Sized {
    /// Part of the key, so that a module and a component never share one.
    const KIND: &'static [u8];
    fn serialize_artifact(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    /// `bytes` must come from `serialize_artifact` of the same kind; the
    /// caller guarantees Aegis wrote them (checked path, owner and hash).
    unsafe fn deserialize_artifact(
        engine: &wasmtime::Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<Self>;
}

impl Artifact for wasmtime::Module {
    const KIND: &'static [u8] = b"core-module";
    fn serialize_artifact(&self) -> wasmtime::Result<Vec<u8>> {
        self.serialize()
    }
    unsafe fn deserialize_artifact(
        engine: &wasmtime::Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        // SAFETY: forwarded to the caller of this function.
        unsafe { wasmtime::Module::deserialize(engine, bytes) }
    }
}

impl Artifact for wasmtime::component::Component {
    const KIND: &'static [u8] = b"component";
    fn serialize_artifact(&self) -> wasmtime::Result<Vec<u8>> {
        self.serialize()
    }
    unsafe fn deserialize_artifact(
        engine: &wasmtime::Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        // SAFETY: forwarded to the caller of this function.
        unsafe { wasmtime::component::Component::deserialize(engine, bytes) }
    }
}

/// Loads the compiled form of `binary` from the cache, or runs `compile` and
/// stores its result. Without a cache, just compiles. Cache problems never
/// fail the load: they fall back to compiling (see the module docs).
///
/// `binary` must be the exact wasm bytes `compile` compiles, and everything
/// that decides whether a module is acceptable (size, validation, complexity
/// limits) must have run before: a hit skips compilation and validation.
pub(crate) fn load_or_compile<T: Artifact>(
    cache: Option<&CompileCache>,
    engine: &wasmtime::Engine,
    binary: &[u8],
    compile: impl FnOnce() -> wasmtime::Result<T>,
) -> wasmtime::Result<T> {
    let Some(cache) = cache else {
        return compile();
    };
    let key = key::<T>(engine, binary);
    let store = match cache.load::<T>(engine, &key) {
        Lookup::Hit(artifact) => {
            bump(&cache.counters.hits);
            return Ok(artifact);
        }
        Lookup::Miss => true,
        Lookup::Invalid => {
            bump(&cache.counters.invalid);
            true
        }
        Lookup::Untrusted => {
            bump(&cache.counters.untrusted);
            false
        }
    };
    bump(&cache.counters.misses);
    let artifact = compile()?;
    if store && cache.store(&key, &artifact).is_ok() {
        bump(&cache.counters.stored);
    }
    Ok(artifact)
}

impl Runtime {
    /// What the compile cache did so far (hits, misses, artifacts written,
    /// artifacts refused), or `None` without
    /// [`with_compile_cache`](crate::RuntimeBuilder::with_compile_cache).
    pub fn compile_cache_stats(&self) -> Option<CompileCacheStats> {
        let c = &self.inner.compile_cache.as_ref()?.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Some(CompileCacheStats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            stored: get(&c.stored),
            untrusted: get(&c.untrusted),
            invalid: get(&c.invalid),
        })
    }
}

type Key = [u8; 32];

/// The artifact's name: everything that decides what the compiled code is.
fn key<T: Artifact>(engine: &wasmtime::Engine, binary: &[u8]) -> Key {
    /// Feeds `Hash` output into SHA-256.
    struct Feed(Sha256);
    impl Hasher for Feed {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0 // Only the digest is used.
        }
    }
    let mut feed = Feed(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut feed);
    let engine_hash = feed.0.finalize();

    let mut h = Sha256::new();
    h.update(SUBDIR.as_bytes());
    h.update([0]);
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(T::KIND);
    h.update([0]);
    h.update(engine_hash);
    h.update(binary);
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn artifact_name(key: &Key) -> String {
    format!("{}{ARTIFACT_EXT}", hex(key))
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `<64 hex>.cwasm`: the only names eviction may delete as artifacts.
fn is_artifact_name(name: &str) -> bool {
    name.strip_suffix(ARTIFACT_EXT).is_some_and(is_hex64)
}

/// `.<64 hex or CACHEDIR.TAG>.<pid>.<n>.tmp`: a file Aegis is (or was) writing.
fn is_tmp_name(name: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = inner.rsplitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(pid), Some(stem)) => {
            digits(n) && digits(pid) && (is_hex64(stem) || stem == MARKER)
        }
        _ => false,
    }
}

/// A name for a temporary file next to `final_name`, unique in this process.
fn tmp_name(final_name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stem = final_name.strip_suffix(ARTIFACT_EXT).unwrap_or(final_name);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(".{stem}.{}.{n}.tmp", std::process::id())
}

enum Lookup<T> {
    Hit(T),
    Miss,
    /// Present, ours, but unusable: compile and replace it.
    Invalid,
    /// The path or the file fails the ownership checks: compile, touch nothing.
    Untrusted,
}

/// Why a path is not trusted.
#[derive(Debug)]
struct Untrusted(String);

impl CompileCache {
    /// Opens the cache in `dir` (creating `dir` with mode 0700 if missing, and
    /// Aegis's subdirectory in it), refusing a path others could change.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        Self::open_with_limit(dir, DEFAULT_MAX_BYTES)
    }

    fn open_with_limit(dir: &Path, max_bytes: u64) -> Result<Self> {
        let io = |e: io::Error| Error::io(format!("compile cache `{}`", dir.display()), e);
        let refuse = |Untrusted(why): Untrusted| {
            Error::invalid_argument(format!(
                "compile cache `{}` is not safe to use: {why}",
                dir.display()
            ))
        };
        let uid = current_uid();
        if fs::symlink_metadata(dir).is_err() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let dir_abs = fs::canonicalize(dir).map_err(io)?;
        if !fs::metadata(&dir_abs).map_err(io)?.is_dir() {
            return Err(Error::invalid_argument(format!(
                "compile cache `{}` is not a directory",
                dir.display()
            )));
        }
        check_ancestors(&dir_abs, uid).map_err(refuse)?;
        let root = dir_abs.join(SUBDIR);
        match fs::DirBuilder::new().mode(0o700).create(&root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let cache = CompileCache {
            root,
            uid,
            max_bytes,
            counters: Counters::default(),
        };
        cache.trusted_root().map_err(refuse)?;
        cache.ensure_marker().map_err(|e| match e {
            MarkerError::Io(e) => io(e),
            MarkerError::Foreign(why) => refuse(Untrusted(why)),
        })?;
        Ok(cache)
    }

    /// Writes the marker into a new (empty) subdirectory, or checks that an
    /// existing subdirectory carries it: a directory of that name that Aegis
    /// did not create is left alone.
    fn ensure_marker(&self) -> std::result::Result<(), MarkerError> {
        let marker = self.root.join(MARKER);
        for _ in 0..2 {
            match fs::symlink_metadata(&marker) {
                Ok(meta) => {
                    let mut text = String::new();
                    let ours = meta.is_file()
                        && meta.uid() == self.uid
                        && File::open(&marker)
                            .and_then(|f| f.take(4096).read_to_string(&mut text))
                            .is_ok()
                        && text == MARKER_TEXT;
                    return if ours {
                        Ok(())
                    } else {
                        Err(MarkerError::Foreign(format!(
                            "`{}` is not the marker Aegis writes",
                            marker.display()
                        )))
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(MarkerError::Io(e)),
            }
            // No marker: only an empty directory (or one holding our own
            // temporary files) is taken over.
            let foreign = fs::read_dir(&self.root)
                .map_err(MarkerError::Io)?
                .flatten()
                .any(|e| !e.file_name().to_str().is_some_and(is_tmp_name));
            if foreign {
                return Err(MarkerError::Foreign(format!(
                    "`{}` exists, holds files and has no `{MARKER}`: Aegis did not create it",
                    self.root.display()
                )));
            }
            let tmp = self.root.join(tmp_name(MARKER));
            let written = write_new(&tmp, &[MARKER_TEXT.as_bytes()]).and_then(|()| {
                // A link fails if another process wrote the marker meanwhile;
                // the loop then checks theirs.
                match fs::hard_link(&tmp, &marker) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                    _ => Ok(()),
                }
            });
            let _ = fs::remove_file(&tmp);
            written.map_err(MarkerError::Io)?;
        }
        Err(MarkerError::Io(io::Error::other("marker vanished")))
    }

    /// The cache subdirectory, after checking that every directory on its
    /// real path is trusted. Called before every read and write.
    fn trusted_root(&self) -> std::result::Result<PathBuf, Untrusted> {
        let root = fs::canonicalize(&self.root)
            .map_err(|e| Untrusted(format!("`{}`: {e}", self.root.display())))?;
        let parent = root
            .parent()
            .ok_or_else(|| Untrusted("the cache cannot be `/`".into()))?;
        check_ancestors(parent, self.uid)?;
        // The subdirectory itself, not what a symlink in its place points to.
        let meta = fs::symlink_metadata(&self.root)
            .map_err(|e| Untrusted(format!("`{}`: {e}", self.root.display())))?;
        if !meta.is_dir() || meta.uid() != self.uid || meta.mode() & 0o022 != 0 {
            return Err(Untrusted(format!(
                "`{}` must be a directory (not a symlink) owned by the current user \
                 and not writable by others",
                self.root.display()
            )));
        }
        Ok(root)
    }

    fn load<T: Artifact>(&self, engine: &wasmtime::Engine, key: &Key) -> Lookup<T> {
        let Ok(root) = self.trusted_root() else {
            return Lookup::Untrusted;
        };
        let path = root.join(artifact_name(key));
        // lstat, then open, then fstat the open file and compare: a symlink,
        // FIFO or device is never opened, and a swap in between is noticed.
        let linked = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Lookup::Miss,
            Err(_) => return Lookup::Untrusted,
        };
        if !self.is_trusted_file(&linked) {
            return Lookup::Untrusted;
        }
        let Ok(mut file) = File::open(&path) else {
            return Lookup::Untrusted;
        };
        let Ok(meta) = file.metadata() else {
            return Lookup::Untrusted;
        };
        if !self.is_trusted_file(&meta) || (meta.dev(), meta.ino()) != (linked.dev(), linked.ino())
        {
            return Lookup::Untrusted;
        }
        let Ok(len) = usize::try_from(meta.len()) else {
            return Lookup::Invalid;
        };
        if len < HEADER_LEN {
            return Lookup::Invalid;
        }
        let mut bytes = Vec::new();
        if bytes.try_reserve_exact(len).is_err()
            || (&mut file)
                .take(len as u64)
                .read_to_end(&mut bytes)
                .is_err()
            || bytes.len() != len
        {
            return Lookup::Invalid;
        }
        let (header, payload) = bytes.split_at(HEADER_LEN);
        if header[..8] != MAGIC[..]
            || header[8..40] != key[..]
            || header[40..72] != Sha256::digest(payload)[..]
        {
            return Lookup::Invalid;
        }
        // SAFETY: the payload is what `serialize_artifact` wrote for this
        // key: the file sits on a path only this user or root can change, is
        // this user's regular file, and its header and hash check out.
        match unsafe { T::deserialize_artifact(engine, payload) } {
            Ok(artifact) => {
                // Eviction is least recently used first.
                let _ = file.set_modified(SystemTime::now());
                Lookup::Hit(artifact)
            }
            Err(_) => Lookup::Invalid,
        }
    }

    /// A regular file of the current user that no one else can write.
    fn is_trusted_file(&self, meta: &fs::Metadata) -> bool {
        meta.file_type().is_file() && meta.uid() == self.uid && meta.mode() & 0o022 == 0
    }

    /// Writes the artifact to a temporary file and renames it into place,
    /// replacing only an artifact of our own.
    fn store<T: Artifact>(&self, key: &Key, artifact: &T) -> io::Result<()> {
        let root = self
            .trusted_root()
            .map_err(|Untrusted(why)| io::Error::other(why))?;
        let payload = artifact
            .serialize_artifact()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let hash = Sha256::digest(&payload);
        let name = artifact_name(key);
        let path = root.join(&name);
        let tmp = root.join(tmp_name(&name));
        let result = write_new(&tmp, &[MAGIC, key, &hash, &payload]).and_then(|()| {
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Ok(meta) if meta.file_type().is_file() && meta.uid() == self.uid => {}
                Ok(_) => return Err(io::Error::other("not an artifact of ours")),
                Err(e) => return Err(e),
            }
            fs::rename(&tmp, &path)
        });
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
            return result;
        }
        self.evict(&root, &name);
        Ok(())
    }

    /// Deletes the least recently used artifacts while they total more than
    /// the limit, and temporary files a crashed writer left behind. Only
    /// regular files of this user with Aegis's own names are candidates.
    fn evict(&self, root: &Path, keep: &str) {
        let Ok(entries) = fs::read_dir(root) else {
            return;
        };
        let now = SystemTime::now();
        let mut artifacts = Vec::new();
        let mut total = 0u64;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let (artifact, tmp) = (is_artifact_name(name), is_tmp_name(name));
            if !artifact && !tmp {
                continue;
            }
            // `DirEntry::metadata` does not follow symlinks.
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.file_type().is_file() || meta.uid() != self.uid {
                continue;
            }
            let modified = meta.modified().unwrap_or(now);
            if tmp {
                if now.duration_since(modified).unwrap_or_default() > STALE_TMP {
                    let _ = fs::remove_file(root.join(name));
                }
                continue;
            }
            total = total.saturating_add(meta.len());
            if name != keep {
                artifacts.push((modified, meta.len(), name.to_owned()));
            }
        }
        artifacts.sort();
        for (_, len, name) in artifacts {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(root.join(name)).is_ok() {
                total -= len;
            }
        }
    }
}

enum MarkerError {
    Io(io::Error),
    Foreign(String),
}

/// Creates `path` (which must not exist; a symlink there is not followed)
/// with mode 0600 and writes `parts` to it.
fn write_new(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    for part in parts {
        file.write_all(part)?;
    }
    Ok(())
}

/// Checks `dir` (absolute, without symlinks) and every directory above it:
/// each is owned by root or `uid` and writable by no one else, except a
/// root-owned sticky directory such as `/tmp`.
fn check_ancestors(dir: &Path, uid: u32) -> std::result::Result<(), Untrusted> {
    for path in dir.ancestors() {
        let meta = fs::symlink_metadata(path)
            .map_err(|e| Untrusted(format!("`{}`: {e}", path.display())))?;
        let mode = meta.mode();
        let owner_ok = meta.uid() == 0 || meta.uid() == uid;
        let sticky_root = meta.uid() == 0 && mode & 0o1000 != 0;
        if !meta.is_dir() || !owner_ok || (mode & 0o022 != 0 && !sticky_root) {
            return Err(Untrusted(format!(
                "`{}` must be a directory owned by root or the current user and not writable by others",
                path.display()
            )));
        }
    }
    Ok(())
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const WAT: &str = r#"(module (func (export "f") (result i32) i32.const 7))"#;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn load(cache: &CompileCache, engine: &wasmtime::Engine, wat: &str) -> wasmtime::Module {
        let binary = wat::parse_str(wat).unwrap();
        load_or_compile(Some(cache), engine, &binary, || {
            wasmtime::Module::new(engine, &binary)
        })
        .unwrap()
    }

    #[test]
    fn creates_a_private_marked_subdirectory_and_refuses_a_shared_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        CompileCache::open(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let sub = dir.join(SUBDIR);
        assert_eq!(fs::metadata(&sub).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::read_to_string(sub.join(MARKER)).unwrap(), MARKER_TEXT);
        // Opening again accepts its own marker.
        CompileCache::open(&dir).unwrap();
        chmod(&dir, 0o777);
        let err = CompileCache::open(&dir).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_argument");
        assert!(err.to_string().contains("not writable by others"), "{err}");
    }

    #[test]
    fn a_subdirectory_aegis_did_not_create_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let sub = tmp.path().join(SUBDIR);
        fs::create_dir(&sub).unwrap();
        let file = sub.join(format!("{}.cwasm", "a".repeat(64)));
        fs::write(&file, "not ours").unwrap();
        let err = CompileCache::open(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("did not create"), "{err}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "not ours");
        assert!(!sub.join(MARKER).exists());
        // So is a symlink in its place, even to an empty private directory.
        let elsewhere = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(SUBDIR)).unwrap();
        let err = CompileCache::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a symlink"), "{err}");
        assert!(!elsewhere.path().join(MARKER).exists());
        // A foreign marker is refused too.
        fs::remove_file(&file).unwrap();
        fs::write(sub.join(MARKER), "Signature: something else\n").unwrap();
        CompileCache::open(tmp.path()).unwrap_err();
    }

    #[test]
    fn names_eviction_may_touch() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(is_artifact_name(&format!("{hex}.cwasm")));
        assert!(!is_artifact_name(&format!("{hex}.cwasm.bak")));
        assert!(!is_artifact_name(&format!("{}.cwasm", hex.to_uppercase())));
        assert!(!is_artifact_name("thesis.cwasm"));
        assert!(!is_artifact_name(".cwasm"));
        assert!(is_tmp_name(&tmp_name(&format!("{hex}.cwasm"))));
        assert!(is_tmp_name(&tmp_name(MARKER)));
        assert!(!is_tmp_name(".thesis.1.2.tmp"));
        assert!(!is_tmp_name(&format!(".{hex}.1.tmp")));
        assert!(!is_tmp_name(&format!(".{hex}.1.2.3.tmp")));
        assert!(!is_tmp_name(&format!("{hex}.1.2.tmp")));
    }

    #[test]
    fn eviction_deletes_only_old_artifacts_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = wasmtime::Engine::default();
        // A limit of one byte: every store evicts all other artifacts.
        let cache = CompileCache::open_with_limit(tmp.path(), 1).unwrap();
        let root = tmp.path().join(SUBDIR);
        let outside = tmp.path().join("outside.txt");
        fs::write(&outside, "keep").unwrap();
        let lookalike = format!("{}.cwasm", "b".repeat(64));
        let foreign = [
            ("notes.txt", "keep"),
            ("thesis.cwasm", "keep"),
            (&format!("{}.cwasm.orig", "c".repeat(64)), "keep"),
        ];
        for (name, text) in foreign {
            fs::write(root.join(name), text).unwrap();
        }
        std::os::unix::fs::symlink(&outside, root.join(&lookalike)).unwrap();
        fs::create_dir(root.join(format!("{}.cwasm", "d".repeat(64)))).unwrap();

        load(&cache, &engine, WAT);
        load(&cache, &engine, "(module)");
        let names: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| {
                is_artifact_name(n) && fs::symlink_metadata(root.join(n)).unwrap().is_file()
            })
            .collect();
        assert_eq!(
            names.len(),
            1,
            "only the newest artifact is left: {names:?}"
        );
        for (name, text) in foreign {
            assert_eq!(fs::read_to_string(root.join(name)).unwrap(), text);
        }
        assert!(
            fs::symlink_metadata(root.join(&lookalike))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
        assert!(root.join(format!("{}.cwasm", "d".repeat(64))).is_dir());
        assert!(root.join(MARKER).is_file());
    }

    #[test]
    fn a_world_writable_artifact_is_not_loaded_or_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let engine = wasmtime::Engine::default();
        let cache = CompileCache::open(tmp.path()).unwrap();
        load(&cache, &engine, WAT);
        let binary = wat::parse_str(WAT).unwrap();
        let path = tmp
            .path()
            .join(SUBDIR)
            .join(artifact_name(&key::<wasmtime::Module>(&engine, &binary)));
        chmod(&path, 0o666);
        let module = load(&cache, &engine, WAT);
        assert_eq!(module.exports().count(), 1);
        let stats = |c: &CompileCache| {
            (
                c.counters.hits.load(Ordering::Relaxed),
                c.counters.untrusted.load(Ordering::Relaxed),
                c.counters.stored.load(Ordering::Relaxed),
            )
        };
        assert_eq!(stats(&cache), (0, 1, 1));
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o666);
        chmod(&path, 0o600);
        load(&cache, &engine, WAT);
        assert_eq!(stats(&cache), (1, 1, 1));
    }

    #[test]
    fn keys_separate_kinds_engines_and_bytes() {
        let a = wasmtime::Engine::default();
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        let b = wasmtime::Engine::new(&config).unwrap();
        let m = wat::parse_str(WAT).unwrap();
        let k = key::<wasmtime::Module>(&a, &m);
        assert_eq!(k, key::<wasmtime::Module>(&a, &m));
        assert_ne!(k, key::<wasmtime::Module>(&b, &m));
        assert_ne!(k, key::<wasmtime::component::Component>(&a, &m));
        assert_ne!(k, key::<wasmtime::Module>(&a, &[&m[..], &[0]].concat()));
    }
}
