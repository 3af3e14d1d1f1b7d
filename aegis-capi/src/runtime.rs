//! `aegis_runtime_t`: the configured engine shared by modules and sandboxes.

use aegis_core::Runtime;

use crate::args::{self, borrow, out_handle};
use crate::error::{aegis_error_t, guard, guard_value};

/// A configured engine: limits, default capabilities and the timeout ticker.
/// Thread-safe: may be used from several threads at once. Modules and
/// sandboxes made from it keep what they need alive, so the runtime may be
/// deleted before them. Freed with `aegis_runtime_delete`.
#[allow(non_camel_case_types)]
pub struct aegis_runtime_t {
    pub(crate) runtime: Runtime,
}

/// Creates a runtime with every default (64 MiB, 1e9 fuel, 30 s, 512 KiB
/// stack, no capabilities), stored in `*runtime_out` (NULL on error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_runtime_new(
    runtime_out: *mut *mut aegis_runtime_t,
) -> *mut aegis_error_t {
    guard("aegis_runtime_new", || {
        let slot = unsafe { out_handle(runtime_out, "runtime_out") }?;
        args::give(
            slot,
            aegis_runtime_t {
                runtime: Runtime::new()?,
            },
        );
        Ok(())
    })
}

/// Frees a runtime handle. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_runtime_delete(runtime: *mut aegis_runtime_t) {
    guard_value((), || unsafe { args::free(runtime) });
}

/// Checks that `bytes[0..len]` (binary wasm or WAT text) is a valid module
/// or component without compiling or instantiating it.
/// Fails with `AEGIS_ERROR_INVALID_MODULE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_runtime_validate(
    runtime: *const aegis_runtime_t,
    bytes: *const u8,
    len: usize,
) -> *mut aegis_error_t {
    guard("aegis_runtime_validate", || {
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let bytes = unsafe { args::slice(bytes, len, "bytes") }?;
        runtime.runtime.validate(bytes)
    })
}
