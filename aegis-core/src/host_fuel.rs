//! Fuel for the work WASI does on the guest's behalf.
//!
//! Wasmtime charges fuel for wasm code only: a `random_get` of 60 MiB, a
//! write of 60 MiB to a discarded stdout or a read of a large file costs the
//! guest a handful of units while the host does all the work. The preview-1
//! functions whose cost grows with a guest-chosen size are shadowed here by
//! wrappers that call wasmtime-wasi's own implementation and charge
//! [`HOST_CALL_FUEL`] plus one unit per byte read or written
//! ([`RANDOM_FUEL_PER_BYTE`] per byte of randomness). Randomness is charged
//! *before* it is generated, so a guest without the fuel for it gets
//! `out_of_fuel` and no work is done.
//!
//! One unit of fuel is about one wasm instruction, or one byte of data moved
//! for the guest: wasmtime's own metering charges bulk-memory and table
//! instructions (`memory.fill`, `memory.copy`, `memory.init`, `table.*`) one
//! unit per byte or element on top of the instruction, and this module does
//! the same for the host's reads and writes.

use wasmtime::{AsContextMut, Caller, Extern, Linker, Trap};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
use wiggle::GuestMemory;

use crate::store::StoreState;

/// Fuel every metered WASI call costs on top of its bytes.
pub(crate) const HOST_CALL_FUEL: u64 = 100;

/// Fuel per byte of randomness: a cryptographic generator spends about as
/// long on one byte as wasm code spends on a dozen instructions.
pub(crate) const RANDOM_FUEL_PER_BYTE: u64 = 16;

const MODULE: &str = "wasi_snapshot_preview1";

/// Takes `units` of fuel from the store (a preview-1 `Caller` or a
/// component's `StoreContextMut`); `out_of_fuel` if it has fewer left. A
/// store without fuel metering is not charged.
pub(crate) fn charge(store: &mut impl AsContextMut, units: u64) -> wasmtime::Result<()> {
    let mut store = store.as_context_mut();
    let Ok(left) = store.get_fuel() else {
        return Ok(());
    };
    if left < units {
        store.set_fuel(0)?;
        return Err(wasmtime::Error::new(Trap::OutOfFuel));
    }
    store.set_fuel(left - units)
}

/// The little-endian u32 the guest's memory holds at `ptr` (0 if out of bounds).
fn read_u32(caller: &mut Caller<'_, StoreState>, ptr: i32) -> u64 {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return 0;
    };
    let start = ptr as u32 as usize;
    memory
        .data(&*caller)
        .get(start..start.saturating_add(4))
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .unwrap_or(0)
}

/// Shadows the size-dependent preview-1 functions with metered ones.
pub(crate) fn add_metered_functions(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    macro_rules! call {
        (async $e:expr) => {
            $e.await
        };
        (sync $e:expr) => {
            $e
        };
    }
    macro_rules! metered {
        ($mode:ident $name:ident ($($a:ident: $t:ty),*), before = $before:expr, after = $after:expr) => {
            linker.func_wrap_async(
                MODULE,
                stringify!($name),
                |mut caller: Caller<'_, StoreState>, ($($a,)*): ($($t,)*)| {
                    Box::new(async move {
                        let before: u64 = $before;
                        charge(&mut caller, HOST_CALL_FUEL + before)?;
                        let errno = crate::fs_audit::with_memory!(caller, |state, mem, fuel| {
                            state.wasi.get().set_hostcall_fuel(fuel);
                            Ok(call!($mode p1::$name(state.wasi.get(), &mut mem, $($a),*))?)
                        })?;
                        let after: fn(&mut Caller<'_, StoreState>, i32, &[i32]) -> u64 = $after;
                        let used = after(&mut caller, errno, &[$($a as i32),*]);
                        charge(&mut caller, used)?;
                        Ok(errno)
                    })
                },
            )?;
        };
    }
    // Bytes moved, read back from the result pointer after a successful call.
    fn moved(at: usize) -> fn(&mut Caller<'_, StoreState>, i32, &[i32]) -> u64 {
        match at {
            3 => |c, errno, a| if errno == 0 { read_u32(c, a[3]) } else { 0 },
            _ => |c, errno, a| if errno == 0 { read_u32(c, a[4]) } else { 0 },
        }
    }
    metered!(sync random_get(a0: i32, a1: i32), before = RANDOM_FUEL_PER_BYTE * u64::from(a1 as u32), after = |_, _, _| 0);
    metered!(async fd_read(a0: i32, a1: i32, a2: i32, a3: i32), before = 0, after = moved(3));
    // Shadows fs_audit's fd_write too, so it also audits.
    metered!(async fd_write(a0: i32, a1: i32, a2: i32, a3: i32), before = 0, after = |c, errno, a| {
        crate::fs_audit::audit_fd(c.data(), "fd_write", errno, a[0]);
        moved(3)(c, errno, a)
    });
    metered!(async fd_pread(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32), before = 0, after = moved(4));
    metered!(async fd_pwrite(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32), before = 0, after = moved(4));
    metered!(async fd_readdir(a0: i32, a1: i32, a2: i32, a3: i64, a4: i32), before = 0, after = moved(4));
    linker.allow_shadowing(false);
    Ok(())
}
