//! Preview-1 filesystem functions with Aegis's checks in front and its audit
//! behind.
//!
//! Enforcement of the grants stays with wasmtime-wasi (preopens, `FsPerms`,
//! cap-std's path resolution). This module re-registers the path-taking
//! preview-1 functions with wrappers that
//!
//! - apply the rules of [`crate::fs_guard`] first: symlink targets
//!   (`path_symlink`), symlinks moved or linked (`path_rename`, `path_link`),
//!   special files (`path_open`), timestamps (`fd_filestat_get`,
//!   `path_filestat_get`), refusing with `EPERM` and recording the refusal;
//! - call wasmtime-wasi's own implementation;
//! - look at the errno it returned: `EACCES`, `EPERM`, `ENOTCAPABLE` or `EROFS`
//!   means the capability model said no, and the operation and the guest's
//!   path are recorded in the denied log;
//! - keep track of which grant each descriptor came from, through
//!   `path_open`, `fd_renumber` and `fd_close`, to name refusals correctly.
//!
//! Where a wrapper checks an argument, wasmtime-wasi is handed a host-side
//! copy of the guest's arguments (a [`Scratch`] memory), so what is checked is
//! exactly what is used even if guest memory changes meanwhile, and results
//! are copied back to the guest only after the wrapper has finished with them.

use wasmtime::{AsContextMut, Caller, Extern, Linker};
use wasmtime_wasi::p1::types::{Errno, Filetype};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;
use wiggle::{GuestMemory, GuestPtr};

use crate::fs_guard::{FileKind, MAX_PATH_BYTES, openable, symlink_target_refusal};
use crate::store::StoreState;

const MODULE: &str = "wasi_snapshot_preview1";

/// Preview-1 errnos that mean "not permitted".
const DENIAL_ERRNOS: [Errno; 4] = [Errno::Acces, Errno::Perm, Errno::Rofs, Errno::Notcapable];

/// The errno Aegis's own refusals return.
const REFUSED: i32 = Errno::Perm as i32;

/// Size of a preview-1 `filestat`, and where its three timestamps lie.
const FILESTAT_SIZE: usize = 64;
const FILESTAT_TIMES: std::ops::Range<usize> = 40..64;
const FILESTAT_FILETYPE: usize = 16;

/// Lookup flag: follow a symlink in the final path component.
const SYMLINK_FOLLOW: i32 = 1;

fn is_denial(errno: i32) -> bool {
    DENIAL_ERRNOS.iter().any(|&e| e as i32 == errno)
}

/// Runs `$body` with `$state: &mut StoreState`, `$mem: GuestMemory` (the
/// guest's memory) and `$fuel` (this call's host-call fuel), the same
/// preamble as wasmtime-wasi's own glue.
macro_rules! with_memory {
    ($caller:ident, |$state:ident, $mem:ident, $fuel:ident| $body:expr) => {{
        // The per-call host fuel bounds how much work one WASI call may do
        // on the guest's behalf.
        let $fuel = $caller.as_context_mut().hostcall_fuel();
        match $caller.get_export("memory") {
            Some(Extern::Memory(memory)) => {
                let (data, $state) = memory.data_and_store_mut(&mut $caller);
                #[allow(unused_mut)]
                let mut $mem = GuestMemory::Unshared(data);
                $body
            }
            Some(Extern::SharedMemory(memory)) => {
                let $state = $caller.data_mut();
                #[allow(unused_mut)]
                let mut $mem = GuestMemory::Shared(memory.data());
                $body
            }
            _ => Err(wasmtime::format_err!("missing required memory export")),
        }
    }};
}

pub(crate) use with_memory;

/// Copies `len` bytes at `ptr` out of guest memory. An out-of-bounds range
/// traps, as in wasmtime-wasi; a path longer than any OS accepts is refused
/// with `ENAMETOOLONG` before anything is copied.
fn guest_bytes(
    mem: &GuestMemory<'_>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Result<Vec<u8>, i32>> {
    let len = len as u32;
    if len as usize > MAX_PATH_BYTES {
        return Ok(Err(Errno::Nametoolong as i32));
    }
    let bytes = mem.as_cow(GuestPtr::<[u8]>::new((ptr as u32, len)))?;
    Ok(Ok(bytes.into_owned()))
}

/// Unwraps the `Ok` of [`guest_bytes`], returning its errno otherwise.
macro_rules! bytes_or_return {
    ($e:expr) => {
        match $e? {
            Ok(bytes) => bytes,
            Err(errno) => return Ok(errno),
        }
    };
}

/// A small guest memory on the host, 8-byte aligned: arguments are placed
/// here and wasmtime-wasi works on them instead of on the guest's memory.
struct Scratch {
    bytes: Vec<u8>,
    /// Where the aligned region starts in `bytes`.
    start: usize,
    len: usize,
}

/// Lays out a [`Scratch`]: each item at an 8-byte aligned offset.
#[derive(Default)]
struct Layout(Vec<u8>);

impl Layout {
    fn align(&mut self) -> usize {
        let offset = self.0.len().next_multiple_of(8);
        self.0.resize(offset, 0);
        offset
    }

    /// Places `data`; returns its (offset, length) as preview-1 arguments.
    fn put(&mut self, data: &[u8]) -> (i32, i32) {
        let offset = self.align();
        self.0.extend_from_slice(data);
        (offset as i32, data.len() as i32)
    }

    /// Reserves `len` zeroed bytes; returns their offset.
    fn slot(&mut self, len: usize) -> i32 {
        let offset = self.align();
        self.0.resize(offset + len, 0);
        offset as i32
    }

    fn finish(self) -> Scratch {
        let len = self.0.len();
        let mut bytes = vec![0u8; len + 8];
        let start = bytes.as_ptr().align_offset(8);
        bytes[start..start + len].copy_from_slice(&self.0);
        Scratch { bytes, start, len }
    }
}

impl Scratch {
    fn mem(&mut self) -> GuestMemory<'_> {
        GuestMemory::Unshared(&mut self.bytes[self.start..self.start + self.len])
    }

    fn get(&self, offset: i32, len: usize) -> &[u8] {
        &self.bytes[self.start + offset as usize..][..len]
    }

    fn get_mut(&mut self, offset: i32, len: usize) -> &mut [u8] {
        &mut self.bytes[self.start + offset as usize..][..len]
    }
}

/// The guest path `path` (relative to descriptor `fd`) as text for the log.
fn describe(state: &StoreState, fd: i32, path: &[u8]) -> String {
    let path = String::from_utf8_lossy(&path[..path.len().min(4096)]);
    match state.fs.path_of(fd) {
        Some(base) => crate::fs_guard::join(base, &path),
        None => path.into_owned(),
    }
}

/// Records a refusal of `operation` on the given target.
/// The target of an operation on an open descriptor: its path if known.
fn describe_fd(state: &StoreState, fd: i32) -> String {
    match state.fs.path_of(fd) {
        Some(path) => format!("{path} (fd {fd})"),
        None => format!("fd {fd}"),
    }
}

/// Records `operation` on descriptor `fd` as refused if `errno` says so:
/// the audit of a function shadowed elsewhere (`fd_write`, metered by
/// `crate::host_fuel`).
pub(crate) fn audit_fd(state: &StoreState, operation: &'static str, errno: i32, fd: i32) {
    if is_denial(errno) {
        record(state, operation, describe_fd(state, fd));
    }
}

fn record(state: &StoreState, operation: &'static str, target: String) {
    state
        .denied
        .record(crate::details::Capability::Filesystem, operation, target);
}

/// What kind of file `path` (relative to `dirfd`) names, asked the way
/// `path_open` with `lookupflags` would resolve it, or `None` if it cannot be
/// looked at (missing, outside the grant...: the open will say). A stat never
/// opens the file, so it never waits on a FIFO.
async fn file_kind(
    state: &mut StoreState,
    fuel: usize,
    dirfd: i32,
    lookupflags: i32,
    path: &[u8],
) -> wasmtime::Result<Option<FileKind>> {
    let mut layout = Layout::default();
    let stat = layout.slot(FILESTAT_SIZE);
    let (p, l) = layout.put(path);
    let mut scratch = layout.finish();
    state.wasi.get().set_hostcall_fuel(fuel);
    let errno = p1::path_filestat_get(
        state.wasi.get(),
        &mut scratch.mem(),
        dirfd,
        lookupflags & SYMLINK_FOLLOW,
        p,
        l,
        stat,
    )
    .await?;
    if errno != 0 {
        return Ok(None);
    }
    let filetype = scratch.get(stat, FILESTAT_SIZE)[FILESTAT_FILETYPE];
    Ok(Some(match filetype {
        t if t == Filetype::RegularFile as u8 => FileKind::Regular,
        t if t == Filetype::Directory as u8 => FileKind::Directory,
        t if t == Filetype::SymbolicLink as u8 => FileKind::Symlink,
        _ => FileKind::Special,
    }))
}

/// The target of the symlink `path` (relative to `dirfd`), `Ok(None)` if it
/// is no symlink (or cannot be read: then the operation itself will fail the
/// same way), `Err(())` if the target is too long to check.
async fn symlink_target(
    state: &mut StoreState,
    fuel: usize,
    dirfd: i32,
    path: &[u8],
) -> wasmtime::Result<Result<Option<Vec<u8>>, ()>> {
    // One byte more than the longest target checked, to see truncation.
    const BUF: usize = 4097;
    let mut layout = Layout::default();
    let used = layout.slot(4);
    let buf = layout.slot(BUF);
    let (p, l) = layout.put(path);
    let mut scratch = layout.finish();
    state.wasi.get().set_hostcall_fuel(fuel);
    let errno = p1::path_readlink(
        state.wasi.get(),
        &mut scratch.mem(),
        dirfd,
        p,
        l,
        buf,
        BUF as i32,
        used,
    )
    .await?;
    if errno != 0 {
        return Ok(Ok(None));
    }
    let used = u32::from_le_bytes(scratch.get(used, 4).try_into().expect("4 bytes")) as usize;
    if used >= BUF {
        return Ok(Err(()));
    }
    Ok(Ok(Some(scratch.get(buf, used).to_vec())))
}

/// Refuses (and records) moving or linking a symlink whose target the guest
/// could not have created itself: relocated, such a link may lead outside.
async fn check_symlink_source(
    state: &mut StoreState,
    fuel: usize,
    operation: &'static str,
    dirfd: i32,
    path: &[u8],
) -> wasmtime::Result<Option<i32>> {
    let refused = match symlink_target(state, fuel, dirfd, path).await? {
        Ok(None) => return Ok(None),
        Ok(Some(target)) => symlink_target_refusal(&target).is_some(),
        Err(()) => true,
    };
    if refused {
        let target = describe(state, dirfd, path);
        record(
            state,
            operation,
            format!("{target} (a symlink that may lead outside)"),
        );
        return Ok(Some(REFUSED));
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
async fn path_open(
    state: &mut StoreState,
    mem: &mut GuestMemory<'_>,
    fuel: usize,
    (dirfd, lookupflags, path_ptr, path_len): (i32, i32, i32, i32),
    oflags: i32,
    rights_base: i64,
    rights_inheriting: i64,
    fdflags: i32,
    result: i32,
) -> wasmtime::Result<i32> {
    let path = bytes_or_return!(guest_bytes(mem, path_ptr, path_len));
    // A result pointer out of bounds or misaligned traps, before anything is opened.
    mem.read(GuestPtr::<u32>::new(result as u32))?;
    if let Some(kind) = file_kind(state, fuel, dirfd, lookupflags, &path).await?
        && !openable(kind)
    {
        let target = describe(state, dirfd, &path);
        record(
            state,
            "path_open",
            format!("{target} (not a regular file or directory)"),
        );
        return Ok(REFUSED);
    }
    let mut layout = Layout::default();
    let fd = layout.slot(4);
    let (p, l) = layout.put(&path);
    let mut scratch = layout.finish();
    state.wasi.get().set_hostcall_fuel(fuel);
    let errno = p1::path_open(
        state.wasi.get(),
        &mut scratch.mem(),
        dirfd,
        lookupflags,
        p,
        l,
        oflags,
        rights_base,
        rights_inheriting,
        fdflags,
        fd,
    )
    .await?;
    if errno != 0 {
        if is_denial(errno) {
            let target = describe(state, dirfd, &path);
            record(state, "path_open", target);
        }
        return Ok(errno);
    }
    let fd = u32::from_le_bytes(scratch.get(fd, 4).try_into().expect("4 bytes"));
    mem.write(GuestPtr::<u32>::new(result as u32), fd)?;
    state.fs.opened(dirfd, &path, fd);
    Ok(0)
}

async fn path_symlink(
    state: &mut StoreState,
    mem: &mut GuestMemory<'_>,
    fuel: usize,
    (target_ptr, target_len): (i32, i32),
    dirfd: i32,
    (link_ptr, link_len): (i32, i32),
) -> wasmtime::Result<i32> {
    let target = bytes_or_return!(guest_bytes(mem, target_ptr, target_len));
    let link = bytes_or_return!(guest_bytes(mem, link_ptr, link_len));
    let describe_link = |state: &StoreState| {
        format!(
            "{} -> {}",
            describe(state, dirfd, &link),
            String::from_utf8_lossy(&target[..target.len().min(4096)])
        )
    };
    if symlink_target_refusal(&target).is_some() {
        record(state, "path_symlink", describe_link(state));
        return Ok(REFUSED);
    }
    let mut layout = Layout::default();
    let (tp, tl) = layout.put(&target);
    let (lp, ll) = layout.put(&link);
    let mut scratch = layout.finish();
    state.wasi.get().set_hostcall_fuel(fuel);
    let errno =
        p1::path_symlink(state.wasi.get(), &mut scratch.mem(), tp, tl, dirfd, lp, ll).await?;
    if is_denial(errno) {
        record(state, "path_symlink", describe_link(state));
    }
    Ok(errno)
}

/// `path_link` and `path_rename`: both move a name, possibly a symlink's.
#[allow(clippy::too_many_arguments)]
async fn path_link_or_rename(
    state: &mut StoreState,
    mem: &mut GuestMemory<'_>,
    fuel: usize,
    operation: &'static str,
    (from_fd, from_ptr, from_len): (i32, i32, i32),
    lookupflags: Option<i32>,
    (to_fd, to_ptr, to_len): (i32, i32, i32),
) -> wasmtime::Result<i32> {
    let from = bytes_or_return!(guest_bytes(mem, from_ptr, from_len));
    let to = bytes_or_return!(guest_bytes(mem, to_ptr, to_len));
    if let Some(errno) = check_symlink_source(state, fuel, operation, from_fd, &from).await? {
        return Ok(errno);
    }
    let mut layout = Layout::default();
    let (fp, fl) = layout.put(&from);
    let (tp, tl) = layout.put(&to);
    let mut scratch = layout.finish();
    state.wasi.get().set_hostcall_fuel(fuel);
    let errno = match lookupflags {
        Some(flags) => {
            p1::path_link(
                state.wasi.get(),
                &mut scratch.mem(),
                from_fd,
                flags,
                fp,
                fl,
                to_fd,
                tp,
                tl,
            )
            .await?
        }
        None => {
            p1::path_rename(
                state.wasi.get(),
                &mut scratch.mem(),
                from_fd,
                fp,
                fl,
                to_fd,
                tp,
                tl,
            )
            .await?
        }
    };
    if is_denial(errno) {
        let target = format!(
            "{} -> {}",
            describe(state, from_fd, &from),
            describe(state, to_fd, &to)
        );
        record(state, operation, target);
    }
    Ok(errno)
}

/// `fd_filestat_get` (`path` is `None`) and `path_filestat_get`: the filestat
/// reaches the guest with its timestamps zeroed unless the clock is granted.
async fn filestat_get(
    state: &mut StoreState,
    mem: &mut GuestMemory<'_>,
    fuel: usize,
    fd: i32,
    path: Option<(i32, i32, i32)>,
    buf: i32,
) -> wasmtime::Result<i32> {
    let out = GuestPtr::<[u8]>::new((buf as u32, FILESTAT_SIZE as u32));
    // A result pointer out of bounds or misaligned traps, as in the glue.
    mem.as_cow(out)?;
    mem.read(GuestPtr::<u64>::new(buf as u32))?;
    let mut layout = Layout::default();
    let stat = layout.slot(FILESTAT_SIZE);
    let (errno, scratch, path) = match path {
        None => {
            let mut scratch = layout.finish();
            state.wasi.get().set_hostcall_fuel(fuel);
            let errno = p1::fd_filestat_get(state.wasi.get(), &mut scratch.mem(), fd, stat).await?;
            (errno, scratch, None)
        }
        Some((flags, ptr, len)) => {
            let path = bytes_or_return!(guest_bytes(mem, ptr, len));
            let (p, l) = layout.put(&path);
            let mut scratch = layout.finish();
            state.wasi.get().set_hostcall_fuel(fuel);
            let errno =
                p1::path_filestat_get(state.wasi.get(), &mut scratch.mem(), fd, flags, p, l, stat)
                    .await?;
            (errno, scratch, Some(path))
        }
    };
    let mut scratch = scratch;
    if errno != 0 {
        if let Some(path) = path.filter(|_| is_denial(errno)) {
            let target = describe(state, fd, &path);
            record(state, "path_filestat_get", target);
        }
        return Ok(errno);
    }
    if !state.fs.clock {
        scratch.get_mut(stat, FILESTAT_SIZE)[FILESTAT_TIMES].fill(0);
    }
    mem.copy_from_slice(scratch.get(stat, FILESTAT_SIZE), out)?;
    Ok(0)
}

/// Shadows the path-taking preview-1 functions in `linker` with guarded,
/// audited ones.
pub(crate) fn add_audited_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    // Audit only: wasmtime-wasi's implementation, then its refusals recorded.
    macro_rules! audited {
        ($name:ident ($($a:ident: $t:ty),*), fd = $fd:ident, path = $path:expr) => {
            linker.func_wrap_async(
                MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreState>, ($($a,)*): ($($t,)*)| {
                    Box::new(async move {
                        with_memory!(caller, |state, mem, fuel| {
                            state.wasi.get().set_hostcall_fuel(fuel);
                            let errno = p1::$name(state.wasi.get(), &mut mem, $($a),*).await?;
                            if is_denial(errno) {
                                let path: Option<(i32, i32)> = $path;
                                let target = match path {
                                    Some((ptr, len)) => {
                                        let len = (len as u32).min(4096);
                                        let bytes = mem
                                            .as_cow(GuestPtr::<[u8]>::new((ptr as u32, len)))
                                            .map(|b| b.into_owned())
                                            .unwrap_or_else(|_| b"<invalid pointer>".to_vec());
                                        describe(state, $fd, &bytes)
                                    }
                                    None => describe_fd(state, $fd),
                                };
                                record(state, stringify!($name), target);
                            }
                            Ok(errno)
                        })
                    })
                },
            )?;
        };
    }
    // Guarded: the function in this module of the same name.
    macro_rules! guarded {
        ($name:ident ($($a:ident: $t:ty),*) => |$state:ident, $mem:ident, $fuel:ident| $body:expr) => {
            linker.func_wrap_async(
                MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreState>, ($($a,)*): ($($t,)*)| {
                    Box::new(async move {
                        with_memory!(caller, |$state, $mem, $fuel| $body)
                    })
                },
            )?;
        };
    }
    guarded!(path_open(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i64, a6: i64, a7: i32, a8: i32)
        => |state, mem, fuel| path_open(state, &mut mem, fuel, (a0, a1, a2, a3), a4, a5, a6, a7, a8).await);
    guarded!(path_symlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32)
        => |state, mem, fuel| path_symlink(state, &mut mem, fuel, (a0, a1), a2, (a3, a4)).await);
    guarded!(path_link(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32)
        => |state, mem, fuel| path_link_or_rename(state, &mut mem, fuel, "path_link", (a0, a2, a3), Some(a1), (a4, a5, a6)).await);
    guarded!(path_rename(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32)
        => |state, mem, fuel| path_link_or_rename(state, &mut mem, fuel, "path_rename", (a0, a1, a2), None, (a3, a4, a5)).await);
    guarded!(fd_filestat_get(a0: i32, a1: i32)
        => |state, mem, fuel| filestat_get(state, &mut mem, fuel, a0, None, a1).await);
    guarded!(path_filestat_get(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32)
        => |state, mem, fuel| filestat_get(state, &mut mem, fuel, a0, Some((a1, a2, a3)), a4).await);
    guarded!(fd_renumber(a0: i32, a1: i32) => |state, mem, fuel| {
        state.wasi.get().set_hostcall_fuel(fuel);
        let errno = p1::fd_renumber(state.wasi.get(), &mut mem, a0, a1).await?;
        if errno == 0 {
            state.fs.renumbered(a0, a1);
        }
        Ok(errno)
    });
    guarded!(fd_close(a0: i32) => |state, mem, fuel| {
        state.wasi.get().set_hostcall_fuel(fuel);
        let errno = p1::fd_close(state.wasi.get(), &mut mem, a0).await?;
        if errno == 0 {
            state.fs.closed(a0);
        }
        Ok(errno)
    });
    audited!(path_create_directory(a0: i32, a1: i32, a2: i32), fd = a0, path = Some((a1, a2)));
    audited!(path_remove_directory(a0: i32, a1: i32, a2: i32), fd = a0, path = Some((a1, a2)));
    audited!(path_unlink_file(a0: i32, a1: i32, a2: i32), fd = a0, path = Some((a1, a2)));
    audited!(path_filestat_set_times(a0: i32, a1: i32, a2: i32, a3: i32, a4: i64, a5: i64, a6: i32), fd = a0, path = Some((a2, a3)));
    audited!(path_readlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32), fd = a0, path = Some((a1, a2)));
    // fd_write is audited by its metered wrapper (crate::host_fuel).
    audited!(fd_filestat_set_size(a0: i32, a1: i64), fd = a0, path = None);
    audited!(fd_filestat_set_times(a0: i32, a1: i64, a2: i64, a3: i32), fd = a0, path = None);
    linker.allow_shadowing(false);
    Ok(())
}
