//! Host functions written in C: registration, the callback bridge, and the
//! `aegis_caller_t` handle for guest-memory access inside a callback.

use std::ffi::{c_char, c_void};

use aegis_core::{Error, FuncType, HostCaller, HostError, ValType, Value};

use crate::args::{self, borrow_mut, text};
use crate::error::{aegis_error_t, guard, guard_value, invalid};
use crate::sandbox::aegis_sandbox_t;
use crate::value::{aegis_val_t, aegis_valkind_t, from_value, to_value, types_of};

/// The guest calling a host function; valid only during the callback.
#[allow(non_camel_case_types)]
pub struct aegis_caller_t {
    caller: *mut HostCaller<'static>,
}

/// A host function implemented in C.
///
/// Receives the `env` given at registration, the calling guest, the
/// arguments (`nargs`, kinds as declared) and the results array (`nresults`,
/// pre-filled with zeros of the declared kinds) to overwrite. Returns NULL on
/// success, or an error (e.g. from `aegis_error_new`, ownership passes to
/// Aegis) that traps the guest: the sandbox call then fails with
/// `AEGIS_ERROR_HOST_FUNCTION` carrying the error's message.
///
/// The sandbox is busy while its call runs: any `aegis_sandbox_*` function
/// the callback (or another thread) calls on that same sandbox (e.g. a
/// re-entrant `aegis_sandbox_call`) does nothing and returns
/// `AEGIS_ERROR_BUSY` at once; returning that error from the callback fails
/// the outer call with `AEGIS_ERROR_HOST_FUNCTION`. Other sandboxes may be
/// used freely. A callback must return: one that
/// crashes, longjmps or exits takes the host process with it.
///
/// Deadlines: Aegis cannot stop C code, so the call's timeout (and an
/// interrupt, see `aegis_interrupt_handle_interrupt`) takes effect when the
/// callback returns: if the deadline passed meanwhile, the call fails with
/// `AEGIS_ERROR_TIMEOUT` (or `AEGIS_ERROR_INTERRUPTED`) whatever the callback
/// returned. A callback that may run long should poll
/// `aegis_caller_is_cancelled` and return early once it is true. The
/// callback runs on the calling thread, on the guest's own stack (the wasm
/// stack limit plus 2 MiB of headroom for host code).
#[allow(non_camel_case_types)]
pub type aegis_host_callback_t = Option<
    unsafe extern "C" fn(
        env: *mut c_void,
        caller: *mut aegis_caller_t,
        args: *const aegis_val_t,
        nargs: usize,
        results: *mut aegis_val_t,
        nresults: usize,
    ) -> *mut aegis_error_t,
>;

/// Frees a host function's `env`; may be NULL.
#[allow(non_camel_case_types)]
pub type aegis_finalizer_t = Option<unsafe extern "C" fn(env: *mut c_void)>;

/// The C side of one registered host function; runs the finalizer when dropped.
struct CFunction {
    callback: aegis_host_callback_t,
    env: *mut c_void,
    finalizer: aegis_finalizer_t,
    results: Vec<ValType>,
}

// SAFETY: the C contract (documented on `aegis_sandbox_register_func`) is that
// `env` may be used from whichever thread uses or deletes the sandbox; Aegis
// never calls the callback concurrently because a sandbox runs one call at a time.
unsafe impl Send for CFunction {}
unsafe impl Sync for CFunction {}

impl Drop for CFunction {
    fn drop(&mut self) {
        if let Some(finalize) = self.finalizer.take() {
            // SAFETY: the finalizer was supplied for exactly this env.
            unsafe { finalize(self.env) };
        }
    }
}

impl CFunction {
    /// Runs the C callback for one guest call.
    fn invoke(
        &self,
        caller: &mut HostCaller<'_>,
        args: &[Value],
        results: &mut [Value],
    ) -> Result<(), HostError> {
        let Some(callback) = self.callback else {
            return Err(HostError::new("host callback is NULL"));
        };
        let zero = from_value(Value::I32(0));
        let (mut c_args, mut c_results) = ([zero; INLINE], [zero; INLINE]);
        let (mut heap_args, mut heap_results) = (Vec::new(), Vec::new());
        let c_args = c_slice(&mut c_args, &mut heap_args, args.len());
        let c_results = c_slice(&mut c_results, &mut heap_results, results.len());
        for (slot, arg) in c_args.iter_mut().zip(args) {
            *slot = from_value(*arg);
        }
        for (slot, result) in c_results.iter_mut().zip(results.iter()) {
            *slot = from_value(*result);
        }
        let mut handle = aegis_caller_t {
            caller: (caller as *mut HostCaller<'_>).cast::<HostCaller<'static>>(),
        };
        // SAFETY: every pointer is valid for the duration of the call.
        let err = unsafe {
            callback(
                self.env,
                &mut handle,
                c_args.as_ptr(),
                c_args.len(),
                c_results.as_mut_ptr(),
                c_results.len(),
            )
        };
        if !err.is_null() {
            // SAFETY: the callback returns ownership of an aegis error.
            let err = unsafe { Box::from_raw(err) };
            return Err(HostError::new(err.host_message()));
        }
        for (slot, c) in results.iter_mut().zip(c_results.iter()) {
            *slot = to_value(c)
                .map_err(|e| HostError::new(format!("host callback wrote a bad result: {e}")))?;
        }
        Ok(())
    }
}

/// Values kept on the stack per callback; longer signatures use the heap.
const INLINE: usize = 16;

/// The first `len` slots of `inline`, or of `heap` if `len` does not fit.
fn c_slice<'a>(
    inline: &'a mut [aegis_val_t; INLINE],
    heap: &'a mut Vec<aegis_val_t>,
    len: usize,
) -> &'a mut [aegis_val_t] {
    if len <= INLINE {
        &mut inline[..len]
    } else {
        heap.resize(len, from_value(Value::I32(0)));
        heap
    }
}

/// Registers a C host function `module_name::name` with signature
/// `params[0..nparams] -> results[0..nresults]` for modules loaded afterwards
/// (and on reset). `env` is passed to every call of `callback`; `finalizer`
/// (may be NULL) runs exactly once with `env`: when the sandbox is deleted,
/// or before this function returns if it fails. The callback runs on the
/// thread calling the sandbox; calls it makes back into this sandbox are
/// refused as busy (see `aegis_host_callback_t`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_register_func(
    sandbox: *mut aegis_sandbox_t,
    module_name: *const c_char,
    name: *const c_char,
    params: *const aegis_valkind_t,
    nparams: usize,
    results: *const aegis_valkind_t,
    nresults: usize,
    callback: aegis_host_callback_t,
    env: *mut c_void,
    finalizer: aegis_finalizer_t,
) -> *mut aegis_error_t {
    // Owns env from here on: any early return drops it, running the finalizer.
    let mut function = CFunction {
        callback,
        env,
        finalizer,
        results: Vec::new(),
    };
    guard("aegis_sandbox_register_func", move || {
        let sandbox = unsafe { crate::sandbox::handle(sandbox) }?;
        let module_name = unsafe { text(module_name, "module_name") }?;
        let name = unsafe { text(name, "name") }?;
        let params = types_of(unsafe { args::slice(params, nparams, "params") }?)?;
        let result_types = types_of(unsafe { args::slice(results, nresults, "results") }?)?;
        if function.callback.is_none() {
            return Err(crate::error::invalid("`callback` is NULL"));
        }
        function.results = result_types.clone();
        let signature = FuncType::new(params, result_types);
        sandbox.with(|sb| {
            sb.register_dynamic_into(
                module_name,
                name,
                signature,
                move |caller: &mut HostCaller<'_>, args: &[Value], results: &mut [Value]| {
                    function.invoke(caller, args, results)
                },
            )
            .map(|_| ())
        })
    })
}

/// The host caller behind a handle.
///
/// # Safety
/// `caller` is NULL or the handle passed to a callback that is still running.
unsafe fn host_caller<'a>(
    caller: *mut aegis_caller_t,
) -> Result<&'a mut HostCaller<'static>, Error> {
    let handle = unsafe { borrow_mut(caller, "caller") }?;
    Ok(unsafe { &mut *handle.caller })
}

/// Whether the call this callback serves must stop: its deadline has passed
/// or its sandbox was interrupted. Once true, the call fails with
/// `AEGIS_ERROR_TIMEOUT` or `AEGIS_ERROR_INTERRUPTED` whatever the callback
/// returns, so a long-running callback should check it regularly and return
/// early. False if `caller` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_caller_is_cancelled(caller: *const aegis_caller_t) -> bool {
    guard_value(false, || match unsafe { caller.as_ref() } {
        // SAFETY: `caller` is the handle of a callback that is still running.
        Some(handle) => unsafe { &*handle.caller }.is_cancelled(),
        None => false,
    })
}

/// If the call this callback serves has a timeout, stores the time left
/// before its deadline in `*seconds_out` (in seconds, 0 once it has passed)
/// and returns true; otherwise (no timeout, or a NULL argument) returns
/// false and leaves `*seconds_out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_caller_time_remaining(
    caller: *const aegis_caller_t,
    seconds_out: *mut f64,
) -> bool {
    guard_value(false, || {
        let (Some(handle), Some(out)) =
            (unsafe { caller.as_ref() }, unsafe { seconds_out.as_mut() })
        else {
            return false;
        };
        // SAFETY: `caller` is the handle of a callback that is still running.
        match unsafe { &*handle.caller }.time_remaining() {
            Some(left) => {
                *out = left.as_secs_f64();
                true
            }
            None => false,
        }
    })
}

/// Fails unless `offset..offset + len` lies inside the guest's `memory`.
/// Checked before any C buffer of `len` bytes is looked at, so a length
/// chosen by the guest (say 2^40) is refused without touching (or needing)
/// a buffer that large.
fn check_range(c: &mut HostCaller<'static>, offset: u64, len: usize) -> Result<(), Error> {
    let size = c.memory_size().map_err(memory_error)?;
    let fits = usize::try_from(offset)
        .ok()
        .and_then(|start| start.checked_add(len))
        .is_some_and(|end| end <= size);
    if fits {
        Ok(())
    } else {
        Err(Error::HostFunction {
            message: format!(
                "guest memory access out of bounds: {len} bytes at offset {offset} \
                 (memory is {size} bytes)"
            ),
            payload: None,
        })
    }
}

/// A guest-memory failure as an error a callback can return.
fn memory_error(e: HostError) -> Error {
    Error::HostFunction {
        message: e.message().to_string(),
        payload: None,
    }
}

/// Stores the size in bytes of the guest's exported `memory` in `*size_out`.
/// Fails with `AEGIS_ERROR_HOST_FUNCTION` if the guest exports no memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_caller_memory_size(
    caller: *mut aegis_caller_t,
    size_out: *mut usize,
) -> *mut aegis_error_t {
    guard("aegis_caller_memory_size", || {
        let c = unsafe { host_caller(caller) }?;
        let out = unsafe { borrow_mut(size_out, "size_out") }?;
        *out = c.memory_size().map_err(memory_error)?;
        Ok(())
    })
}

/// Copies `len` bytes at guest address `offset` into `buf`. Out-of-bounds
/// reads fail with `AEGIS_ERROR_HOST_FUNCTION` and copy nothing. The range
/// is checked against the guest's memory before `buf` is touched, so a
/// length taken from the guest may be passed as is; still, never size a
/// host allocation by a guest's length before this (or
/// `aegis_caller_memory_size`) has accepted it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_caller_memory_read(
    caller: *mut aegis_caller_t,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> *mut aegis_error_t {
    guard("aegis_caller_memory_read", || {
        let c = unsafe { host_caller(caller) }?;
        if buf.is_null() && len > 0 {
            return Err(invalid(format!("`buf` is NULL but its length is {len}")));
        }
        check_range(c, offset, len)?;
        let dest = unsafe { args::slice_mut(buf, len, "buf") }?;
        c.read_memory_into(offset, dest).map_err(memory_error)
    })
}

/// Copies `data[0..len]` into guest memory at `offset`. Out-of-bounds
/// writes fail with `AEGIS_ERROR_HOST_FUNCTION` and write nothing; the
/// range is checked before `data` is read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_caller_memory_write(
    caller: *mut aegis_caller_t,
    offset: u64,
    data: *const u8,
    len: usize,
) -> *mut aegis_error_t {
    guard("aegis_caller_memory_write", || {
        let c = unsafe { host_caller(caller) }?;
        if data.is_null() && len > 0 {
            return Err(invalid(format!("`data` is NULL but its length is {len}")));
        }
        check_range(c, offset, len)?;
        let src = unsafe { args::slice(data, len, "data") }?;
        c.write_memory(offset, src).map_err(memory_error)
    })
}
