//! WASI 0.2 `wasi:filesystem/types` with Aegis's checks in front.
//!
//! The component linker gets wasmtime-wasi's WASI 0.2 implementation, then
//! these functions shadow the `descriptor` methods that need a rule of
//! [`crate::fs_guard`]; each calls wasmtime-wasi's own `HostDescriptor`
//! implementation unless the rule refuses:
//!
//! - `stat`, `stat-at`: timestamps zeroed without the clock grant;
//! - `open-at`: only regular files and directories;
//! - `symlink-at`: only relative targets without `..`;
//! - `link-at`, `rename-at`: no relocating a symlink whose target a guest
//!   could not have created.
//!
//! Refusals (Aegis's, and wasmtime-wasi's `access`, `not-permitted` and
//! `read-only` answers to these functions) are recorded as denied
//! `filesystem` operations. WASI 0.2 descriptors are not mapped back to the
//! grant they came from, so the recorded target is the path as the guest gave
//! it, relative to its descriptor.

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::FsError;
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self as fs, Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, ErrorCode,
    HostDescriptor, OpenFlags, PathFlags,
};

use crate::fs_guard::{FileKind, openable, symlink_target_refusal};
use crate::store::StoreState;

/// The `wasi:filesystem/types` version wasmtime-wasi registers; components
/// importing any 0.2.x version are linked to it. The tests check the
/// shadowing takes effect (a new wasmtime-wasi that moves to another version
/// fails them rather than silently skipping the checks).
pub(crate) const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

type FsResult<T> = wasmtime::Result<(Result<T, ErrorCode>,)>;

/// Another handle to the descriptor behind `fd`, for a call made before the
/// one that consumes `fd`.
fn again(fd: &Resource<Descriptor>) -> Resource<Descriptor> {
    Resource::new_borrow(fd.rep())
}

fn is_denial(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Access | ErrorCode::NotPermitted | ErrorCode::ReadOnly
    )
}

/// wasmtime-wasi's result in the component ABI's terms, recording a refusal.
fn finish<T>(
    state: &mut StoreState,
    result: Result<T, FsError>,
    operation: &'static str,
    target: impl FnOnce() -> String,
) -> FsResult<T> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(e) => {
            let code = fs::Host::convert_error_code(&mut state.filesystem(), e)?;
            if is_denial(&code) {
                state
                    .denied
                    .record(crate::details::Capability::Filesystem, operation, target());
            }
            Ok((Err(code),))
        }
    }
}

/// Aegis's own refusal: recorded, answered with `not-permitted`.
fn refuse<T>(state: &StoreState, operation: &'static str, target: String) -> FsResult<T> {
    state
        .denied
        .record(crate::details::Capability::Filesystem, operation, target);
    Ok((Err(ErrorCode::NotPermitted),))
}

fn hide_times(mut stat: DescriptorStat, clock: bool) -> DescriptorStat {
    if !clock {
        let zero = |t: &mut Option<Datetime>| {
            if let Some(t) = t {
                *t = Datetime {
                    seconds: 0,
                    nanoseconds: 0,
                };
            }
        };
        zero(&mut stat.data_access_timestamp);
        zero(&mut stat.data_modification_timestamp);
        zero(&mut stat.status_change_timestamp);
    }
    stat
}

fn kind(ty: DescriptorType) -> FileKind {
    match ty {
        DescriptorType::RegularFile => FileKind::Regular,
        DescriptorType::Directory => FileKind::Directory,
        DescriptorType::SymbolicLink => FileKind::Symlink,
        _ => FileKind::Special,
    }
}

/// Whether `path` under `fd` is a symlink whose target a guest could not have
/// created (so moving or linking it elsewhere may make it lead outside).
async fn is_foreign_symlink(state: &mut StoreState, fd: &Resource<Descriptor>, path: &str) -> bool {
    match HostDescriptor::readlink_at(&mut state.filesystem(), again(fd), path.to_string()).await {
        Ok(target) => symlink_target_refusal(target.as_bytes()).is_some(),
        // Not a symlink, or not there: the operation itself decides.
        Err(_) => false,
    }
}

/// Shadows the guarded `descriptor` methods in the WASI 0.2 `linker`.
pub(crate) fn add_guarded_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES)?;

    types.func_wrap_async(
        "[method]descriptor.stat",
        |mut store: StoreContextMut<'_, StoreState>, (fd,): (Resource<Descriptor>,)| {
            Box::new(async move {
                let state = store.data_mut();
                let clock = state.fs.clock;
                let result = HostDescriptor::stat(&mut state.filesystem(), fd).await;
                let (result,) = finish(state, result, "stat", || "descriptor".into())?;
                Ok((result.map(|s| hide_times(s, clock)),))
            })
        },
    )?;

    types.func_wrap_async(
        "[method]descriptor.stat-at",
        |mut store: StoreContextMut<'_, StoreState>,
         (fd, flags, path): (Resource<Descriptor>, PathFlags, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let clock = state.fs.clock;
                let result =
                    HostDescriptor::stat_at(&mut state.filesystem(), fd, flags, path.clone()).await;
                let (result,) = finish(state, result, "stat-at", || path)?;
                Ok((result.map(|s| hide_times(s, clock)),))
            })
        },
    )?;

    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, StoreState>,
         (fd, path_flags, path, oflags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                // Look before opening: a stat never waits on a FIFO; an open may.
                let stat = HostDescriptor::stat_at(
                    &mut state.filesystem(),
                    again(&fd),
                    path_flags,
                    path.clone(),
                )
                .await;
                if let Ok(stat) = stat
                    && !openable(kind(stat.type_))
                {
                    return refuse(
                        state,
                        "open-at",
                        format!("{path} (not a regular file or directory)"),
                    );
                }
                let result = HostDescriptor::open_at(
                    &mut state.filesystem(),
                    fd,
                    path_flags,
                    path.clone(),
                    oflags,
                    flags,
                )
                .await;
                finish(state, result, "open-at", || path)
            })
        },
    )?;

    types.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store: StoreContextMut<'_, StoreState>,
         (fd, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let describe = || format!("{link} -> {target}");
                if symlink_target_refusal(target.as_bytes()).is_some() {
                    return refuse(state, "symlink-at", describe());
                }
                let result = HostDescriptor::symlink_at(
                    &mut state.filesystem(),
                    fd,
                    target.clone(),
                    link.clone(),
                )
                .await;
                finish(state, result, "symlink-at", describe)
            })
        },
    )?;

    types.func_wrap_async(
        "[method]descriptor.link-at",
        |mut store: StoreContextMut<'_, StoreState>,
         (fd, flags, from, to_fd, to): (
            Resource<Descriptor>,
            PathFlags,
            String,
            Resource<Descriptor>,
            String,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                let describe = || format!("{from} -> {to}");
                if is_foreign_symlink(state, &fd, &from).await {
                    return refuse(
                        state,
                        "link-at",
                        format!("{} (a symlink that may lead outside)", describe()),
                    );
                }
                let result = HostDescriptor::link_at(
                    &mut state.filesystem(),
                    fd,
                    flags,
                    from.clone(),
                    to_fd,
                    to.clone(),
                )
                .await;
                finish(state, result, "link-at", describe)
            })
        },
    )?;

    types.func_wrap_async(
        "[method]descriptor.rename-at",
        |mut store: StoreContextMut<'_, StoreState>,
         (fd, from, to_fd, to): (Resource<Descriptor>, String, Resource<Descriptor>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let describe = || format!("{from} -> {to}");
                if is_foreign_symlink(state, &fd, &from).await {
                    return refuse(
                        state,
                        "rename-at",
                        format!("{} (a symlink that may lead outside)", describe()),
                    );
                }
                let result = HostDescriptor::rename_at(
                    &mut state.filesystem(),
                    fd,
                    from.clone(),
                    to_fd,
                    to.clone(),
                )
                .await;
                finish(state, result, "rename-at", describe)
            })
        },
    )?;

    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// If wasmtime-wasi moved to another `wasi:filesystem/types` version, the
    /// shadows would land in a new, unused instance: fail here instead.
    #[test]
    fn the_shadowed_interface_is_the_one_wasmtime_wasi_registers() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::<StoreState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        let mut types = linker.instance(FILESYSTEM_TYPES).unwrap();
        let err = types
            .func_wrap("[method]descriptor.stat", |_, (): ()| Ok(()))
            .expect_err("wasmtime-wasi defines this function");
        assert!(err.to_string().contains("defined twice"), "{err}");
        add_guarded_functions(&mut linker).unwrap();
    }
}
