//! `aegis_sandbox_t`: loading a module, calling exports, reset, metrics, output.

use std::ffi::{CString, c_char};
use std::sync::{Arc, Mutex};

use aegis_core::{Error, InterruptHandle, Metrics, Sandbox, SharedSandbox, Value};

use crate::args::{self, borrow, borrow_mut, out_handle, text};
use crate::error::{aegis_error_t, c_string, guard, guard_value, invalid};
use crate::module::aegis_module_t;
use crate::runtime::aegis_runtime_t;
use crate::value::{aegis_val_t, from_value, to_value};

/// An isolated place to run guest code: at most one instance, limits on
/// every call. Freed with `aegis_sandbox_delete`, which also runs the
/// finalizers of its host functions.
///
/// A sandbox runs one call at a time. While a call on it is in progress,
/// any other use of it (from one of its own host callbacks, or from another
/// thread) fails at once with `AEGIS_ERROR_BUSY`: nothing waits, so a
/// callback calling back into its own sandbox cannot deadlock. The one
/// exception is `aegis_sandbox_interrupt_handle`, which works at any time:
/// its handle stops the running call from another thread.
#[allow(non_camel_case_types)]
pub struct aegis_sandbox_t {
    /// The core's busy rule: every function goes through `with`, which
    /// refuses a nested or concurrent use instead of aliasing the running
    /// call's `&mut Sandbox`.
    shared: Arc<SharedSandbox>,
    /// NUL-terminated copies of the recorded denied operations, made on
    /// demand (only inside `with`, so never contended); the core's
    /// cumulative list only grows, and each `CString`'s bytes stay where
    /// they are, so handed-out pointers stay valid.
    denied: Mutex<Vec<[CString; 3]>>,
}

impl aegis_sandbox_t {
    pub(crate) fn new(sandbox: Sandbox) -> Self {
        aegis_sandbox_t {
            shared: Arc::new(SharedSandbox::new(sandbox)),
            denied: Mutex::new(Vec::new()),
        }
    }

    /// A handle that stops this sandbox's calls; works while it is busy.
    pub(crate) fn interrupt_handle(&self) -> InterruptHandle {
        self.shared.interrupt_handle()
    }

    /// Runs `f` on the sandbox, or fails with `AEGIS_ERROR_BUSY` (the
    /// core's `busy`) while a call on it is in progress.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&mut Sandbox) -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.shared.with(f)
    }
}

/// The sandbox behind a handle.
///
/// # Safety
/// `sandbox` is NULL or a live handle from `aegis_sandbox_new` /
/// `aegis_builder_build_sandbox`.
pub(crate) unsafe fn handle<'a>(
    sandbox: *const aegis_sandbox_t,
) -> Result<&'a aegis_sandbox_t, Error> {
    unsafe { borrow(sandbox, "sandbox") }
}

/// One operation the guest attempted and its capabilities refused. The
/// strings are borrowed from the sandbox and valid until it is deleted.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct aegis_denied_t {
    /// The capability involved: "filesystem", "network", "clock", "logging", "module".
    pub capability: *const c_char,
    /// The operation, e.g. "path_open", "tcp_connect", "write".
    pub operation: *const c_char,
    /// What it targeted: a path, an address, a stream.
    pub target: *const c_char,
}

/// What a sandbox used, for one call or summed over its life: the core's
/// metrics, with the same names (the refused operations themselves are
/// read with `aegis_sandbox_denied`). Durations are seconds, sizes bytes.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct aegis_metrics_t {
    /// Calls counted (1 for one call's metrics; failed calls count too).
    pub calls: u64,
    /// Wall-clock time inside the guest, host functions included, in seconds.
    pub wall_time: f64,
    /// Fuel consumed (0 when fuel metering is off).
    pub fuel_consumed: u64,
    /// Linear memory allocated now, in bytes.
    pub memory_current: u64,
    /// Highest linear memory allocated, in bytes.
    pub memory_peak: u64,
    /// Calls the guest made into host functions (WASI calls excluded).
    pub host_calls: u64,
    /// Operations the guest attempted that its capabilities refused.
    pub denied_count: u64,
}

impl From<&Metrics> for aegis_metrics_t {
    fn from(m: &Metrics) -> Self {
        aegis_metrics_t {
            calls: m.calls,
            wall_time: m.wall_time.as_secs_f64(),
            fuel_consumed: m.fuel_consumed,
            memory_current: m.memory_current,
            memory_peak: m.memory_peak,
            host_calls: m.host_calls,
            denied_count: m.denied_count,
        }
    }
}

/// Creates a sandbox with its runtime's default limits and capabilities,
/// stored in `*sandbox_out` (NULL on error). To override settings for one
/// sandbox use `aegis_builder_build_sandbox`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_new(
    runtime: *const aegis_runtime_t,
    sandbox_out: *mut *mut aegis_sandbox_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_new", || {
        let slot = unsafe { out_handle(sandbox_out, "sandbox_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        args::give(
            slot,
            aegis_sandbox_t::new(runtime.runtime.sandbox().build()?),
        );
        Ok(())
    })
}

/// Frees a sandbox, its instance and its host functions; each host
/// function's finalizer runs exactly once here. NULL is ignored, and so is
/// a delete while the sandbox is busy (from inside one of its own host
/// callbacks; delete it after the call returns).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_delete(sandbox: *mut aegis_sandbox_t) {
    guard_value((), || {
        // Freeing a sandbox during one of its own calls would pull the
        // store out from under the running guest: such a delete is ignored.
        // Holding the busy mark while freeing keeps any other use out.
        let Some(sb) = (unsafe { sandbox.as_ref() }) else {
            return;
        };
        let Ok(entered) = sb.shared.enter() else {
            return;
        };
        unsafe { args::free(sandbox) };
        drop(entered); // the last reference: the sandbox and its host functions go
    });
}

/// Instantiates `module` (borrowed; the sandbox keeps its own reference),
/// replacing any previous instance, and runs its start function. Host
/// functions must be registered before. Errors include `AEGIS_ERROR_LINK_ERROR`,
/// every limit and `AEGIS_ERROR_INTERRUPTED`; after an error the sandbox has
/// no module.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_load_module(
    sandbox: *mut aegis_sandbox_t,
    module: *const aegis_module_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_load_module", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let module = unsafe { borrow(module, "module") }?;
        sandbox.with(|sb| sb.load_module(&module.module))
    })
}

/// Calls export `name` with `args[0..nargs]`, writing its results into the
/// caller's `results[0..nresults]`. `nresults` must equal the export's result
/// count and the argument kinds must match its parameters, otherwise
/// `AEGIS_ERROR_SIGNATURE_MISMATCH` (and nothing runs). A WASI
/// `proc_exit(0)` ends an export without results successfully; for an
/// export with results it is `AEGIS_ERROR_EXIT` with status 0.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_call(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
    args: *const aegis_val_t,
    nargs: usize,
    results: *mut aegis_val_t,
    nresults: usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_call", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        let args = unsafe { args::slice(args, nargs, "args") }?;
        let out = unsafe { args::slice_mut(results, nresults, "results") }?;
        let values = args.iter().map(to_value).collect::<Result<Vec<_>, _>>()?;
        let mut got = [Value::I32(0); 16];
        let mut heap = Vec::new();
        let got: &mut [Value] = if out.len() <= got.len() {
            &mut got[..out.len()]
        } else {
            heap.resize(out.len(), Value::I32(0));
            &mut heap
        };
        sandbox.with(|sb| sb.call_dynamic_into(name, &values, got))?;
        for (slot, value) in out.iter_mut().zip(got.iter()) {
            *slot = from_value(*value);
        }
        Ok(())
    })
}

/// Calls export `name`, which takes no arguments, discarding its results.
/// A WASI `proc_exit(0)` counts as success when the export has no results.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_call_void(
    sandbox: *mut aegis_sandbox_t,
    name: *const c_char,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_call_void", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let name = unsafe { text(name, "name") }?;
        sandbox.with(|sb| sb.call_void(name))
    })
}

/// Runs the module's default entry point (`_start` if exported, else
/// `main`), discarding results. A WASI `proc_exit(0)` counts as success; a
/// non-zero status gives `AEGIS_ERROR_EXIT` (detail `status`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_run(sandbox: *mut aegis_sandbox_t) -> *mut aegis_error_t {
    guard("aegis_sandbox_run", || {
        unsafe { handle(sandbox) }?.with(|sb| sb.run().map(|_| ()))
    })
}

/// Discards the instance and instantiates the same module again: memory,
/// globals and tables return to their initial state. This is also how a
/// component that failed in a call (`AEGIS_ERROR_TRAP` with `trap_code`
/// "cannot_enter_component" afterwards) becomes usable again. Instantiation runs
/// guest code (a start function) under the call limits, and a pending
/// interrupt stops it too; if it fails, the sandbox is left with no module
/// (load it again with `aegis_sandbox_load_module`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_reset(sandbox: *mut aegis_sandbox_t) -> *mut aegis_error_t {
    guard("aegis_sandbox_reset", || {
        unsafe { handle(sandbox) }?.with(|sb| sb.reset())
    })
}

/// Copies the metrics of the most recent call (or instantiation) into `*metrics_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_last_call_metrics(
    sandbox: *const aegis_sandbox_t,
    metrics_out: *mut aegis_metrics_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_last_call_metrics", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let out = unsafe { borrow_mut(metrics_out, "metrics_out") }?;
        *out = sandbox.with(|sb| Ok(sb.last_call_metrics().into()))?;
        Ok(())
    })
}

/// Copies the metrics summed over the sandbox's life into `*metrics_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_metrics(
    sandbox: *const aegis_sandbox_t,
    metrics_out: *mut aegis_metrics_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_metrics", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let out = unsafe { borrow_mut(metrics_out, "metrics_out") }?;
        *out = sandbox.with(|sb| Ok(sb.metrics().into()))?;
        Ok(())
    })
}

/// Copies up to `capacity` bytes of captured output into `buf` and stores
/// the full length in `*len_out` (call with `capacity` 0 to ask the size).
///
/// # Safety
/// `buf` is NULL or valid for `capacity` writes; `len_out` is NULL or valid for a write.
unsafe fn copy_out(
    data: &[u8],
    buf: *mut u8,
    capacity: usize,
    len_out: *mut usize,
) -> Result<(), Error> {
    let len = unsafe { borrow_mut(len_out, "len_out") }?;
    let dest = unsafe { args::slice_mut(buf, capacity, "buf") }?;
    let n = data.len().min(dest.len());
    dest[..n].copy_from_slice(&data[..n]);
    *len = data.len();
    Ok(())
}

/// Guest stdout captured so far (`AEGIS_LOGGING_CAPTURE`; empty otherwise):
/// copies at most `capacity` bytes into `buf` (not NUL-terminated) and stores
/// the total captured length in `*len_out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_stdout(
    sandbox: *const aegis_sandbox_t,
    buf: *mut u8,
    capacity: usize,
    len_out: *mut usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_stdout", || {
        unsafe { handle(sandbox) }?
            .with(|sb| unsafe { copy_out(&sb.stdout(), buf, capacity, len_out) })
    })
}

/// Guest stderr captured so far; same contract as `aegis_sandbox_stdout`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_stderr(
    sandbox: *const aegis_sandbox_t,
    buf: *mut u8,
    capacity: usize,
    len_out: *mut usize,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_stderr", || {
        unsafe { handle(sandbox) }?
            .with(|sb| unsafe { copy_out(&sb.stderr(), buf, capacity, len_out) })
    })
}

/// Number of refused operations recorded over the sandbox's life (at most
/// 64 are kept; `aegis_metrics_t.denied_count` counts them all). 0 if
/// `sandbox` is NULL or busy (asked while one of its calls runs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_denied_recorded(sandbox: *const aegis_sandbox_t) -> usize {
    guard_value(0, || {
        unsafe { handle(sandbox) }
            .and_then(|h| h.with(|sb| Ok(sb.metrics().denied.len())))
            .unwrap_or(0)
    })
}

/// Describes recorded refused operation number `index` (oldest first) in
/// `*denied_out`. An index past `aegis_sandbox_denied_recorded` gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_sandbox_denied(
    sandbox: *mut aegis_sandbox_t,
    index: usize,
    denied_out: *mut aegis_denied_t,
) -> *mut aegis_error_t {
    guard("aegis_sandbox_denied", || {
        let sandbox = unsafe { handle(sandbox) }?;
        let out = unsafe { borrow_mut(denied_out, "denied_out") }?;
        sandbox.with(|sb| {
            let mut copies = sandbox.denied.lock().unwrap_or_else(|p| p.into_inner());
            let recorded = &sb.metrics().denied;
            for op in recorded.iter().skip(copies.len()) {
                copies.push([
                    c_string(op.capability.as_str()),
                    c_string(op.operation.as_str()),
                    c_string(&op.target),
                ]);
            }
            let [capability, operation, target] = copies.get(index).ok_or_else(|| {
                invalid(format!(
                    "denied-operation index {index} out of range ({} recorded)",
                    recorded.len()
                ))
            })?;
            *out = aegis_denied_t {
                capability: capability.as_ptr(),
                operation: operation.as_ptr(),
                target: target.as_ptr(),
            };
            Ok(())
        })
    })
}
