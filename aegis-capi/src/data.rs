//! Exchanging data with guests: guest memory from the host, the bytes
//! convention (`aegis_sandbox_call_bytes`), component calls with WIT values
//! (`aegis_sandbox_call_component`, `aegis_sandbox_invoke`) and C host
//! functions for component imports (`aegis_sandbox_register_component`).

use std::ffi::{c_char, c_void};
use std::ptr;

use aegis_core::{Error, GuestMemory, HostError, Sandbox, WitVal};

use crate::args::{self, borrow_mut, out_handle, text};
use crate::error::{aegis_error_t, c_string, guard, invalid};
use crate::host::aegis_finalizer_t;
use crate::sandbox::{aegis_sandbox_t, handle};
use crate::witval::{aegis_witval_t, give, give_bytes, take};

/// The memory called `name`, or the default one (`memory`, else the only
/// exported memory) when `name` is NULL.
fn guest_memory<'a>(sb: &'a mut Sandbox, name: Option<&str>) -> Result<GuestMemory<'a>, Error> {
    match name {
        Some(name) => sb.memory_named(name),
        None => sb.memory(),
    }
}

/// An optional NUL-terminated string: NULL is `None`, invalid UTF-8 an error.
///
/// # Safety
/// As for `args::text`.
unsafe fn optional_text<'a>(ptr: *const c_char, what: &str) -> Result<Option<&'a str>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { text(ptr, what) }.map(Some)
    }
}

/// `memory_out_of_bounds` unless `offset..offset + len` lies in `size` bytes.
fn check_bounds(offset: u64, len: usize, size: u64) -> Result<(), Error> {
    let len = len as u64;
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::MemoryOutOfBounds { offset, len, size }),
    }
}

/// Stores in `*size_out` the size in bytes of the loaded core module's
/// exported memory `memory`, or of its default memory when `memory` is NULL
/// (the export named "memory", else its only exported memory). Works
/// between calls, never during one. Errors: `AEGIS_ERROR_EXPORT_NOT_FOUND`
/// (no such memory), `AEGIS_ERROR_INVALID_ARGUMENT` (no module loaded, or a
/// component: components do not export memories; exchange data through
/// their typed exports).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_memory_size(
    sandbox: *const aegis_sandbox_t,
    memory: *const c_char,
    size_out: *mut u64,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_memory_size", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { optional_text(memory, "memory") }?;
        let out = unsafe { borrow_mut(size_out, "size_out") }?;
        *out = sandbox.with(|sb| Ok(guest_memory(sb, name)?.size()))?;
        Ok(())
    })
}

/// Copies `len` bytes of guest memory at `offset` into `buf` (memory
/// `memory`, or the default one when NULL; see `aegis_sandbox_memory_size`).
/// A range outside the memory fails with `AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS`
/// (details `offset`, `len`, `size`) and copies nothing; it is checked
/// before `buf` is touched, so a length read from the guest may be passed
/// as is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_memory_read(
    sandbox: *const aegis_sandbox_t,
    memory: *const c_char,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_memory_read", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { optional_text(memory, "memory") }?;
        if buf.is_null() && len > 0 {
            return Err(invalid(format!("`buf` is NULL but its length is {len}")));
        }
        sandbox.with(|sb| {
            let mem = guest_memory(sb, name)?;
            check_bounds(offset, len, mem.size())?;
            let dest = unsafe { args::slice_mut(buf, len, "buf") }?;
            mem.read_into(offset, dest)
        })
    })
}

/// Copies `data[0..len]` into guest memory at `offset` (memory `memory`, or
/// the default one when NULL). A range outside the memory fails with
/// `AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS` and writes nothing; it is checked
/// before `data` is read.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_memory_write(
    sandbox: *mut aegis_sandbox_t,
    memory: *const c_char,
    offset: u64,
    data: *const u8,
    len: usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_memory_write", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { optional_text(memory, "memory") }?;
        if data.is_null() && len > 0 {
            return Err(invalid(format!("`data` is NULL but its length is {len}")));
        }
        sandbox.with(|sb| {
            let mut mem = guest_memory(sb, name)?;
            check_bounds(offset, len, mem.size())?;
            let src = unsafe { args::slice(data, len, "data") }?;
            mem.write(offset, src)
        })
    })
}

/// Calls `name` through the bytes convention: `input[0..input_len]` in, the
/// guest's output out, in `*output_out` / `*output_len_out` (owned by the
/// caller, freed with `aegis_bytes_free(output, output_len)`; NULL and 0
/// for an empty output or on error).
///
/// The guest exports `memory`, `aegis_alloc(len: i32) -> i32`, optionally
/// `aegis_free(ptr: i32, len: i32)`, and `name(ptr: i32, len: i32) -> i64`
/// returning `(out_ptr << 32) | out_len`. Aegis allocates the input with
/// `aegis_alloc` and writes it (from then on the buffer is the guest's),
/// calls `name`, copies the output out and then calls `aegis_free(out_ptr,
/// out_len)` if the guest exports it. It is one call: fuel, timeout,
/// interrupts and metrics apply to the whole exchange. Errors: an output
/// longer than the result limit (option `result_limit`, default 64 MiB) is
/// `AEGIS_ERROR_RESULT_TOO_LARGE` (details `size`, `limit`), an output or
/// input range outside guest memory `AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS`,
/// both refused before the host allocates anything; a guest trap
/// `AEGIS_ERROR_TRAP`; missing or mistyped exports
/// `AEGIS_ERROR_EXPORT_NOT_FOUND` / `AEGIS_ERROR_SIGNATURE_MISMATCH`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_call_bytes(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
    input: *const u8,
    input_len: usize,
    output_out: *mut *mut u8,
    output_len_out: *mut usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_call_bytes", || {
        let out = unsafe { out_handle(output_out, "output_out") }?;
        let out_len = unsafe { borrow_mut(output_len_out, "output_len_out") }?;
        *out_len = 0;
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        let input = unsafe { args::slice(input, input_len, "input") }?;
        let output = sandbox.with(|sb| sb.call_bytes(name, input))?;
        (*out, *out_len) = give_bytes(output);
        Ok(())
    })
}

/// `aegis_sandbox_call_bytes` with text: `input` is a NUL-terminated UTF-8
/// string, and the output, which must be UTF-8 without NUL bytes (else
/// `AEGIS_ERROR_INVALID_RESULT`; use `aegis_sandbox_call_bytes` for such
/// output), goes to `*output_out` as a NUL-terminated string owned by the
/// caller, freed with `aegis_string_free` (NULL on error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_call_str(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
    input: *const c_char,
    output_out: *mut *mut c_char,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_call_str", || {
        let out = unsafe { out_handle(output_out, "output_out") }?;
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        let input = unsafe { text(input, "input") }?;
        let output = sandbox.with(|sb| sb.call_str(name, input))?;
        let output = std::ffi::CString::new(output).map_err(|e| Error::InvalidResult {
            message: format!(
                "the output of `{name}` contains a NUL byte at offset {}: a C string cannot \
                 hold it (use aegis_sandbox_call_bytes)",
                e.nul_position()
            ),
        })?;
        *out = output.into_raw();
        Ok(())
    })
}

/// Calls component export `name` (`func`, or `interface#func` for a
/// function of an exported interface, e.g. "aegis:test/text#upper") with
/// `args[0..nargs]` (borrowed; `args` may be NULL when `nargs` is 0). The
/// result goes to `*result_out`, owned by the caller and freed with
/// `aegis_witval_delete`; it is NULL when the function has no result (and
/// on error).
///
/// The arguments are checked against the export's WIT types before
/// anything runs: a wrong count or kind is `AEGIS_ERROR_SIGNATURE_MISMATCH`
/// naming where (`argument 1 (p).label: expected string, got s32`), an
/// unknown case or flag `AEGIS_ERROR_INVALID_ARGUMENT`; record fields must
/// be in the type's order. Functions taking or returning resources,
/// futures or streams are refused (`AEGIS_ERROR_INVALID_ARGUMENT`). The
/// result counts against the result limit (option `result_limit`; string
/// bytes plus 40 bytes per list item, record field or tuple item):
/// `AEGIS_ERROR_RESULT_TOO_LARGE`. A guest that breaks the canonical ABI
/// (text that is not UTF-8, a list outside its memory) gives
/// `AEGIS_ERROR_INVALID_RESULT`. Calling a core module gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
///
/// After a component call fails inside the guest (a trap, a limit, an
/// interrupt, a failing host function), the component cannot be entered
/// again: every later call fails with `AEGIS_ERROR_TRAP` (detail
/// `trap_code` "cannot_enter_component") until `aegis_sandbox_reset`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_call_component(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
    args: *const *const aegis_witval_t,
    nargs: usize,
    result_out: *mut *mut aegis_witval_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_call_component", || {
        let slot = unsafe { out_handle(result_out, "result_out") }?;
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        let list = unsafe { args::slice(args, nargs, "args") }?;
        let values = list
            .iter()
            .enumerate()
            .map(|(i, a)| match unsafe { a.as_ref() } {
                Some(v) => Ok(v.to_val()),
                None => Err(invalid(format!("`args[{i}]` is NULL"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let results = sandbox.with(|sb| sb.call_component(name, &values))?;
        drop(values); // before the result is converted: less memory held at once
        if let Some(result) = one_result(results) {
            *slot = give(aegis_witval_t::from_val(result)?);
        }
        Ok(())
    })
}

/// A WIT function's result: none, or its one value (several, which WIT no
/// longer has, become a tuple).
fn one_result(mut results: Vec<WitVal>) -> Option<WitVal> {
    match results.len() {
        0 => None,
        1 => results.pop(),
        _ => Some(WitVal::Tuple(results)),
    }
}

/// Calls a component export written as a WAVE call (the WebAssembly Value
/// Encoding of `wasmtime run --invoke`): `greet("world")`,
/// `echo-record({x: 1, y: 2, label: "p"})`, `aegis:test/text#upper("a")`;
/// the parentheses may be left out when there are no arguments. The
/// arguments are parsed by the export's types (bad text:
/// `AEGIS_ERROR_INVALID_ARGUMENT`). The result, as WAVE text, goes to
/// `*result_out` (owned, freed with `aegis_string_free`; NULL when the
/// function has no result, and on error). Otherwise as
/// `aegis_sandbox_call_component`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_invoke(
    sandbox: *mut aegis_sandbox_t,
    call: *const c_char,
    result_out: *mut *mut c_char,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_invoke", || {
        let slot = unsafe { out_handle(result_out, "result_out") }?;
        let sandbox = unsafe { handle(sandbox) }?;
        let call = unsafe { text(call, "call") }?;
        let results = sandbox.with(|sb| sb.invoke(call))?;
        if let Some(result) = one_result(results) {
            *slot = c_string(&aegis_core::wave::to_wave(&result)?).into_raw();
        }
        Ok(())
    })
}

/// A host function implementing a component import, in C.
///
/// Receives the `env` given at registration and the arguments
/// `args[0..nargs]` (borrowed, valid during the call only; NULL when
/// `nargs` is 0), checked against the import's WIT types. For an import
/// with a result, store a new value in `*result_out` (ownership passes to
/// Aegis; it is NULL on entry); leave it NULL for an import without one.
/// Return NULL on success, or an error (e.g. `aegis_error_new("...")`,
/// ownership passes to Aegis) to fail: the guest traps and the sandbox call
/// fails with `AEGIS_ERROR_HOST_FUNCTION` carrying the message (a result
/// stored as well is freed). A result of the wrong kind, or a missing or
/// extra one, also fails the call with `AEGIS_ERROR_HOST_FUNCTION`.
///
/// As with `aegis_host_callback_t`: the sandbox is busy during the call
/// (using it from the callback gives `AEGIS_ERROR_BUSY`), the callback runs
/// on the calling thread, and its time counts against the call's timeout,
/// which takes effect when it returns. There is no `aegis_caller_t`: the
/// values arrive converted, and a long callback cannot poll for
/// cancellation. After a failed call the component must be reset (see
/// `aegis_sandbox_call_component`).
#[allow(non_camel_case_types)]
pub type aegis_component_callback_t = Option<
    unsafe extern "C" fn(
        env: *mut c_void,
        args: *const *const aegis_witval_t,
        nargs: usize,
        result_out: *mut *mut aegis_witval_t,
    ) -> *mut aegis_error_t,
>;

/// The C side of one component host function; runs the finalizer when dropped.
struct CComponentFunction {
    callback: aegis_component_callback_t,
    env: *mut c_void,
    finalizer: aegis_finalizer_t,
    /// The import's name, for messages.
    name: String,
}

// SAFETY: as for core host functions (see `aegis_sandbox_register_func`):
// `env` may be used from whichever thread uses or deletes the sandbox, and a
// sandbox runs one call at a time, so the callback never runs concurrently.
unsafe impl Send for CComponentFunction {}
unsafe impl Sync for CComponentFunction {}

impl Drop for CComponentFunction {
    fn drop(&mut self) {
        if let Some(finalize) = self.finalizer.take() {
            // SAFETY: the finalizer was supplied for exactly this env.
            unsafe { finalize(self.env) };
        }
    }
}

impl CComponentFunction {
    fn invoke(&self, params: &[WitVal]) -> Result<Vec<WitVal>, HostError> {
        let Some(callback) = self.callback else {
            return Err(HostError::new("host callback is NULL"));
        };
        let args = params
            .iter()
            .cloned()
            .map(aegis_witval_t::from_val)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HostError::new(e.message()))?;
        let pointers: Vec<*const aegis_witval_t> =
            args.iter().map(|a| a as *const aegis_witval_t).collect();
        let mut result: *mut aegis_witval_t = ptr::null_mut();
        // SAFETY: every pointer is valid for the duration of the call.
        let err = unsafe {
            callback(
                self.env,
                if pointers.is_empty() {
                    ptr::null()
                } else {
                    pointers.as_ptr()
                },
                pointers.len(),
                &mut result,
            )
        };
        // SAFETY: the callback hands over ownership of what it stored.
        let result = unsafe { take(result) };
        if !err.is_null() {
            // SAFETY: the callback returns ownership of an aegis error.
            let err = unsafe { Box::from_raw(err) };
            return Err(HostError::new(err.host_message()));
        }
        let Some(result) = result else {
            return Ok(Vec::new());
        };
        // The core checks the value against the import's result type.
        Ok(vec![result.to_val()])
    }
}

/// Registers a C host function for the component import `name`: `func` for
/// a function imported at the component's root, `interface#func` for one
/// of an imported interface (e.g. "aegis:test/host#transform"; the import
/// lists of `aegis_module_import` show the interface as `module`). For
/// components loaded afterwards (and on reset): register before
/// `aegis_sandbox_load_module`; an import left without a host function
/// fails the load with `AEGIS_ERROR_LINK_ERROR`. `env` is passed to every
/// call of `callback`; `finalizer` (may be NULL) runs exactly once with
/// `env`: when the sandbox is deleted, or before this function returns if
/// it fails. A name registered twice gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_register_component(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
    callback: aegis_component_callback_t,
    env: *mut c_void,
    finalizer: aegis_finalizer_t,
) -> *mut aegis_error_t {
    // Owns env from here on: any early return drops it, running the finalizer.
    let mut function = CComponentFunction {
        callback,
        env,
        finalizer,
        name: String::new(),
    };
    guard("aegis_sandbox_register_component", move || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        if function.callback.is_none() {
            return Err(invalid("`callback` is NULL"));
        }
        function.name = name.to_string();
        sandbox.with(|sb| {
            sb.register_component_func(name, move |_call, params: &[WitVal]| {
                function.invoke(params)
            })?;
            Ok(())
        })
    })
}
