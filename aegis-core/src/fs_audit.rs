//! Records the filesystem operations wasmtime-wasi refuses.
//!
//! Enforcement stays entirely with wasmtime-wasi (preopens, `FsPerms`,
//! cap-std's path resolution). This module re-registers the path-taking
//! preview-1 functions with thin wrappers that call wasmtime-wasi's own
//! implementation unchanged, then look at the errno it returned: `EACCES`,
//! `EPERM`, `ENOTCAPABLE` or `EROFS` means the capability model said no, and
//! the operation and the guest's path are recorded in the denied log.

use wasmtime::{AsContextMut, Caller, Extern, Linker};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::GuestMemory;

use crate::store::StoreState;

const MODULE: &str = "wasi_snapshot_preview1";

/// Preview-1 errnos that mean "not permitted": ACCES, PERM, ROFS, NOTCAPABLE.
const DENIAL_ERRNOS: [i32; 4] = [2, 63, 69, 76];

/// Records a refusal (`errno` one of [`DENIAL_ERRNOS`]) of a preview-1 call.
///
/// `paths` are the (pointer, length) argument pairs naming guest paths.
fn record_denial(
    caller: &mut Caller<'_, StoreState>,
    operation: &'static str,
    paths: &[(i32, i32)],
    fd: i32,
    errno: i32,
) {
    if DENIAL_ERRNOS.contains(&errno) {
        let target = describe_target(caller, paths, fd);
        caller.data().denied.record("filesystem", operation, target);
    }
}

/// The guest paths of a call as text (`a -> b` for two), or `fd N`.
fn describe_target(caller: &mut Caller<'_, StoreState>, paths: &[(i32, i32)], fd: i32) -> String {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return format!("fd {fd}");
    };
    let base = preopen_base(caller.data(), fd);
    let data = memory.data(&*caller);
    let texts: Vec<String> = paths
        .iter()
        .map(|&(ptr, len)| {
            let (start, len) = (ptr as u32 as usize, (len as u32 as usize).min(4096));
            let path = data
                .get(start..start.saturating_add(len))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| "<invalid pointer>".into());
            match &base {
                Some(base) if !path.starts_with('/') => {
                    format!("{}/{path}", base.trim_end_matches('/'))
                }
                _ => path,
            }
        })
        .collect();
    if texts.is_empty() {
        format!("fd {fd}")
    } else {
        texts.join(" -> ")
    }
}

/// The guest path of the grant behind `fd`, if `fd` is a preopen (preview 1
/// numbers the grants' directories 3, 4, ... in grant order).
fn preopen_base(state: &StoreState, fd: i32) -> Option<String> {
    let index = usize::try_from(fd).ok()?.checked_sub(3)?;
    state.preopens.get(index).cloned()
}

/// Shadows the path-taking preview-1 functions in `linker` with audited ones.
pub(crate) fn add_audited_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    macro_rules! wrap {
        ($name:ident ($($a:ident: $t:ty),*), fd = $fd:ident, paths = [$(($p:ident, $l:ident)),*]) => {
            linker.func_wrap_async(
                MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreState>, ($($a,)*): ($($t,)*)| {
                    Box::new(async move {
                        // Same preamble as wasmtime-wasi's own glue: the
                        // per-call host fuel bounds how much work one WASI
                        // call may do on the guest's behalf.
                        let fuel = caller.as_context_mut().hostcall_fuel();
                        let errno = match caller.get_export("memory") {
                            Some(Extern::Memory(memory)) => {
                                let (data, state) = memory.data_and_store_mut(&mut caller);
                                state.wasi.set_hostcall_fuel(fuel);
                                let mut mem = GuestMemory::Unshared(data);
                                p1::$name(&mut state.wasi, &mut mem, $($a),*).await?
                            }
                            Some(Extern::SharedMemory(memory)) => {
                                let state = caller.data_mut();
                                state.wasi.set_hostcall_fuel(fuel);
                                let mut mem = GuestMemory::Shared(memory.data());
                                p1::$name(&mut state.wasi, &mut mem, $($a),*).await?
                            }
                            _ => return Err(wasmtime::format_err!("missing required memory export")),
                        };
                        record_denial(&mut caller, stringify!($name), &[$(($p, $l)),*], $fd, errno);
                        Ok(errno)
                    })
                },
            )?;
        };
    }
    wrap!(path_open(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i64, a6: i64, a7: i32, a8: i32), fd = a0, paths = [(a2, a3)]);
    wrap!(path_create_directory(a0: i32, a1: i32, a2: i32), fd = a0, paths = [(a1, a2)]);
    wrap!(path_remove_directory(a0: i32, a1: i32, a2: i32), fd = a0, paths = [(a1, a2)]);
    wrap!(path_unlink_file(a0: i32, a1: i32, a2: i32), fd = a0, paths = [(a1, a2)]);
    wrap!(path_rename(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32), fd = a0, paths = [(a1, a2), (a4, a5)]);
    wrap!(path_symlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32), fd = a2, paths = [(a0, a1), (a3, a4)]);
    wrap!(path_link(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32, a6: i32), fd = a0, paths = [(a2, a3), (a5, a6)]);
    wrap!(path_filestat_get(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32), fd = a0, paths = [(a2, a3)]);
    wrap!(path_filestat_set_times(a0: i32, a1: i32, a2: i32, a3: i32, a4: i64, a5: i64, a6: i32), fd = a0, paths = [(a2, a3)]);
    wrap!(path_readlink(a0: i32, a1: i32, a2: i32, a3: i32, a4: i32, a5: i32), fd = a0, paths = [(a1, a2)]);
    wrap!(fd_write(a0: i32, a1: i32, a2: i32, a3: i32), fd = a0, paths = []);
    wrap!(fd_filestat_set_size(a0: i32, a1: i64), fd = a0, paths = []);
    linker.allow_shadowing(false);
    Ok(())
}
