//! `aegis_interrupt_handle_t`: stopping a sandbox's call from any thread.

use aegis_core::InterruptHandle;

use crate::error::guard_value;
use crate::sandbox::aegis_sandbox_t;

/// Stops the calls of one sandbox from any thread. Made by
/// `aegis_sandbox_interrupt_handle`, owned by the caller, freed with
/// `aegis_interrupt_handle_delete`.
///
/// Thread-safe: every function taking a handle may be called from any
/// thread, concurrently, including while the sandbox is busy in a call on
/// another thread. The handle holds no reference to the sandbox: it stays
/// valid (and harmless) after `aegis_sandbox_delete`.
#[allow(non_camel_case_types)]
pub struct aegis_interrupt_handle_t {
    handle: InterruptHandle,
}

/// A new interrupt handle for `sandbox` (borrowed), or NULL if `sandbox` is
/// NULL. Owned by the caller; free it with `aegis_interrupt_handle_delete`.
///
/// Never refused as busy: it may be called while a call on `sandbox` is in
/// progress on another thread (or from one of its host callbacks). Typical
/// use: take the handle before the call, hand it to a watchdog thread.
/// `sandbox` itself must still be alive while this function runs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_interrupt_handle(
    sandbox: *const aegis_sandbox_t,
) -> *mut aegis_interrupt_handle_t {
    guard_value(std::ptr::null_mut(), || match unsafe { sandbox.as_ref() } {
        Some(sb) => Box::into_raw(Box::new(aegis_interrupt_handle_t {
            handle: sb.interrupt_handle(),
        })),
        None => std::ptr::null_mut(),
    })
}

/// Stops the sandbox's call in progress: it returns `AEGIS_ERROR_INTERRUPTED`
/// within a few milliseconds, whether the guest is computing, sleeping in
/// WASI or waiting on the host (a host callback that does not return is
/// waited for; it can check `aegis_caller_is_cancelled`). If no call is in
/// progress, the request is kept and the sandbox's next operation that runs
/// guest code (call, run, load, reset) returns `AEGIS_ERROR_INTERRUPTED`
/// instead; the request is then consumed. Safe from any thread, also after
/// the sandbox was deleted (then it does nothing). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_interrupt_handle_interrupt(handle: *const aegis_interrupt_handle_t) {
    guard_value((), || {
        if let Some(h) = unsafe { handle.as_ref() } {
            h.handle.interrupt();
        }
    })
}

/// Whether an interrupt was requested and not yet consumed by a call
/// (false if `handle` is NULL). Safe from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_interrupt_handle_is_pending(
    handle: *const aegis_interrupt_handle_t,
) -> bool {
    guard_value(false, || {
        unsafe { handle.as_ref() }.is_some_and(|h| h.handle.is_pending())
    })
}

/// Frees an interrupt handle (before or after its sandbox, from any thread;
/// not while another thread still uses this same handle). NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_interrupt_handle_delete(handle: *mut aegis_interrupt_handle_t) {
    guard_value((), || unsafe { crate::args::free(handle) })
}
