//! `aegis.Sandbox`: calls into the guest with the GIL released.

use std::sync::{Arc, Mutex};

use aegis_core::{Data, Entered, Error, ExternType, FuncType, GuestMemory, SharedSandbox};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyString, PyTuple};

use crate::buffers::{bytes_like, fill_view, writable_view};
use crate::data::to_data;
use crate::errors::{invalid_argument, to_pyerr};
use crate::host::{PyComponentFn, PyHostFn, memory_arg};
use crate::interrupts::{CallScope, Interrupts, current_scope, lock, py_bool, watch};
use crate::metrics::{Limits, Metrics};
use crate::module::Module;
use crate::values::{parse_types, results_to_py, to_args};

/// An isolated place to run guest code, made by `Runtime.sandbox()`.
///
/// Every call runs under the sandbox's limits with the GIL released. A
/// sandbox runs one call at a time: a call (or any other use but
/// `interrupt()`) while one runs, from another thread or from one of its own
/// host functions, raises `BusyError` at once. Use it as a context manager
/// (`with runtime.sandbox() as sb:`) to free it promptly.
///
/// `interrupt()` stops a call from any thread. Ctrl-C during a call on the
/// main thread stops the guest, then Python's SIGINT handler runs
/// (`KeyboardInterrupt` by default) while Python handles SIGINT.
#[pyclass(frozen, module = "aegis")]
pub struct Sandbox {
    /// `None` once closed; locked only to clone the `Arc`.
    inner: Mutex<Option<Arc<SharedSandbox>>>,
    /// The loaded module; shared with component host functions, which read
    /// their import's type from it.
    module: Arc<Mutex<Option<Py<Module>>>>,
    interrupts: Arc<Interrupts>,
    limits: aegis_core::Limits,
}

impl Sandbox {
    pub fn new(inner: aegis_core::Sandbox) -> Self {
        let limits = inner.limits().clone();
        let shared = SharedSandbox::new(inner);
        let interrupts = Arc::new(Interrupts::new(shared.interrupt_handle()));
        Sandbox {
            inner: Mutex::new(Some(Arc::new(shared))),
            module: Arc::new(Mutex::new(None)),
            interrupts,
            limits,
        }
    }

    /// Marks the sandbox in use, or fails at once: `busy` if a call runs in
    /// it (another thread's, or the one whose host function is asking),
    /// `invalid_argument` if it is closed.
    fn enter(&self, py: Python<'_>) -> PyResult<Entered> {
        let shared = lock(&self.inner).clone();
        shared
            .ok_or_else(|| invalid_argument("the sandbox is closed"))
            .and_then(|s| s.enter())
            .map_err(|e| to_pyerr(py, e))
    }

    /// Runs guest code (`f` may be run twice, see `Interrupts::run`) with the
    /// GIL released. On the main thread a Ctrl-C stops the guest; then the
    /// signal's Python handler runs (raising `KeyboardInterrupt` by default)
    /// before the call's own outcome is reported.
    fn run_guest<T: Send>(
        &self,
        py: Python<'_>,
        f: impl Fn(&mut aegis_core::Sandbox) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let entered = self.enter(py)?;
        self.run_entered(py, entered, f)
    }

    /// `run_guest` on a sandbox already entered.
    fn run_entered<T: Send>(
        &self,
        py: Python<'_>,
        entered: Entered,
        f: impl Fn(&mut aegis_core::Sandbox) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let watch = watch(py, &self.interrupts.handle);
        if watch.is_some() {
            // A Ctrl-C that arrived before the watch began.
            py.check_signals()?;
        }
        let scope = current_scope(&self.interrupts);
        let interrupts = &*self.interrupts;
        let outcome =
            py.detach(move || interrupts.run(&mut entered.sandbox(), watch, scope.as_deref(), f));
        // A Ctrl-C that arrived while the guest ran wins over the call's own outcome.
        py.check_signals()?;
        outcome.map_err(|e| to_pyerr(py, e))
    }

    /// Runs `f` on the core sandbox with the GIL released, then raises any
    /// signal (Ctrl-C) that arrived meanwhile before the call's own outcome.
    fn exec<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let entered = self.enter(py)?;
        let outcome = py.detach(move || f(&mut entered.sandbox()));
        // A Ctrl-C that arrived while the guest ran wins over the call's own outcome.
        py.check_signals()?;
        outcome.map_err(|e| to_pyerr(py, e))
    }

    /// An awaitable running `method(*args)` of `slf` on a worker thread, in a
    /// new cancel scope (see `aegis._aio.offload`).
    fn offload<'py>(
        slf: &Bound<'py, Self>,
        method: &str,
        args: Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let scope = CallScope::new(slf.get().interrupts.clone());
        let func = slf.getattr(method)?;
        py.import("aegis._aio")?
            .getattr("offload")?
            .call1((scope, func, args))
    }

    /// Instantiates `module` (see `load_module`).
    pub fn load(&self, py: Python<'_>, module: Py<Module>) -> PyResult<()> {
        let core = module.get().inner.clone();
        let entered = self.enter(py)?;
        *lock(&self.module) = None;
        self.run_entered(py, entered, move |sb| sb.load_module(&core))?;
        *lock(&self.module) = Some(module);
        Ok(())
    }

    /// The type of export `name` of the loaded module, and whether that
    /// module is a component (`None` without a module).
    fn export_type(&self, py: Python<'_>, name: &str) -> Option<(Option<ExternType>, bool)> {
        let module = lock(&self.module);
        let module = module.as_ref()?.bind(py).get();
        let ty = module.inner.export(name).map(|e| e.ty.clone());
        Some((ty, module.inner.is_component()))
    }

    /// Runs `f` on the loaded module's memory (`memory` names it; the
    /// default one otherwise) with the GIL held: `f` may build Python
    /// objects, and the accesses it makes are copies of known size.
    fn with_memory<'py, T>(
        &self,
        py: Python<'py>,
        memory: Option<&str>,
        f: impl FnOnce(&mut GuestMemory<'_>) -> PyResult<T>,
    ) -> PyResult<T> {
        let entered = self.enter(py)?;
        let mut sandbox = entered.sandbox();
        let mut mem = match memory {
            Some(name) => sandbox.memory_named(name),
            None => sandbox.memory(),
        }
        .map_err(|e| to_pyerr(py, e))?;
        f(&mut mem)
    }
}

/// `memory_out_of_bounds` unless `offset..offset + len` lies in a memory of
/// `size` bytes (checked before anything is allocated for the range).
fn check_range(offset: u64, len: u64, size: u64) -> Result<usize, Error> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(len as usize),
        _ => Err(Error::MemoryOutOfBounds { offset, len, size }),
    }
}

/// Converts the arguments of a call to component export `name` (signature
/// `sig`) by the binding's value mapping.
fn data_args(
    py: Python<'_>,
    name: &str,
    sig: &aegis_core::wit::WitFunc,
    args: &Bound<'_, PyTuple>,
) -> PyResult<Vec<Data>> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            to_data(&arg).map_err(|refusal| {
                let what = match sig.params.get(i) {
                    Some((pname, _)) => format!("argument {} ({pname})", i + 1),
                    None => format!("argument {}", i + 1),
                };
                match refusal.into_error(&what, name, &sig.to_string()) {
                    Ok(err) => to_pyerr(py, err),
                    Err(err) => err,
                }
            })
        })
        .collect()
}

#[pymethods]
impl Sandbox {
    /// Registers a Python callable as the host function `module.name`.
    ///
    /// `params` and `results` list wasm types (`"i32"`, `"i64"`, `"f32"`,
    /// `"f64"`). The callable gets ints/floats and returns `None`, a number, or
    /// a tuple. With `caller=True` it first receives an `aegis.Caller` giving
    /// access to the guest's memory. An exception it raises traps the guest and
    /// reaches the caller of `call` as `HostFunctionError` with the original as
    /// `__cause__`. Takes effect for modules loaded afterwards (and on `reset`).
    #[pyo3(signature = (module, name, func, params=Vec::new(), results=Vec::new(), *, caller=false))]
    #[allow(clippy::too_many_arguments)]
    fn register_func(
        &self,
        py: Python<'_>,
        module: String,
        name: String,
        func: Py<PyAny>,
        params: Vec<String>,
        results: Vec<String>,
        caller: bool,
    ) -> PyResult<()> {
        if !func.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "register_func needs a callable",
            ));
        }
        let signature = parse_types(&params)
            .and_then(|p| parse_types(&results).map(|r| FuncType::new(p, r)))
            .map_err(|e| to_pyerr(py, e))?;
        let host = Arc::new(PyHostFn {
            callable: func,
            signature: signature.clone(),
            with_caller: caller,
        });
        self.exec(py, move |sb| {
            sb.register_dynamic(&module, &name, signature, move |c, args| {
                host.invoke(c, args)
            })
            .map(|_| ())
        })
    }

    /// Registers a Python callable as the host function for the component
    /// import `name`: `"func"` for a function imported at the component's
    /// root, `"interface#func"` for one of an imported interface
    /// (`"aegis:test/host#transform"`).
    ///
    /// The callable receives the import's arguments converted as `call`
    /// returns values (see `call`) and returns the result in the form `call`
    /// accepts arguments: `None` for an import without a result (WIT
    /// functions have at most one; a `tuple<...>` result is a Python tuple).
    /// As for `register_func`: an exception it raises traps the guest and
    /// reaches the caller of `call` as `HostFunctionError` with the original
    /// as `__cause__` (`KeyboardInterrupt` and `SystemExit` as they are); a
    /// result of the wrong type is a `HostFunctionError` too; it cannot call
    /// back into its own sandbox (`BusyError`); its time counts against the
    /// call's timeout. A component that trapped cannot be entered again until
    /// `reset()` (`TrapError`, `trap_code` `"cannot_enter_component"`).
    ///
    /// Register before `load_module` (it takes effect for components loaded
    /// afterwards); a missing import fails the load with `LinkError`. A name
    /// registered twice raises `InvalidArgumentError`.
    fn register_component(&self, py: Python<'_>, name: String, func: Py<PyAny>) -> PyResult<()> {
        if !func.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "register_component needs a callable",
            ));
        }
        let host = Arc::new(PyComponentFn {
            callable: func,
            name: name.clone(),
        });
        self.exec(py, move |sb| {
            sb.register_component_data(&name, move |call, args| {
                host.invoke(call.has_result(), args)
            })
            .map(|_| ())
        })
    }

    /// Instantiates `module`, replacing any previous instance, and runs its start function.
    fn load_module(&self, py: Python<'_>, module: Py<Module>) -> PyResult<()> {
        self.load(py, module)
    }

    /// Calls the export `name`.
    ///
    /// A core module's export takes numbers converted by its signature and
    /// returns `None`, one `int`/`float`, or a tuple for several results.
    ///
    /// A component's export (`"func"`, or `"interface#func"` inside an
    /// exported interface) takes and returns WIT values as Python objects:
    ///
    /// - `bool` ↔ `bool`; `s8`…`u64` ↔ `int` (range-checked:
    ///   `InvalidArgumentError`); `f32`/`f64` ↔ `float` (an `int` is accepted);
    /// - `char`, `string` ↔ `str`; `list<u8>` ↔ `bytes` (also `bytearray`,
    ///   `memoryview`, or a list of ints);
    /// - `list<T>` ↔ `list`; `tuple<…>` ↔ `tuple` (a list is accepted);
    /// - `record` ↔ `dict` of its fields (all of them, any order);
    /// - `variant` ↔ one-key dict `{case: payload}` (payload `None` for a case
    ///   without one; a bare `str` is accepted for such a case);
    /// - `enum` ↔ `str`; `flags` ↔ `list` of the set flags' names (a `set`,
    ///   `frozenset` or `tuple` is accepted);
    /// - `option<T>` ↔ `None` or T's value; `option<option<T>>` ↔ `None` or
    ///   `{"some": inner}`;
    /// - `result<T, E>` ↔ `{"ok": v}` or `{"err": e}` (`None` without a payload);
    /// - resources, futures and streams are refused (`InvalidArgumentError`).
    ///
    /// It returns the result's value, or `None` without one. A value of the
    /// wrong type raises `SignatureMismatchError` naming where it is
    /// (`argument 1 (p).label: expected string, got int`). The result is
    /// bounded by the `result_limit` option (`ResultTooLargeError`); a guest
    /// breaking the canonical ABI raises `InvalidResultError`. A component
    /// that trapped cannot be entered again until `reset()`.
    #[pyo3(signature = (name, *args))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (ty, component) = self.export_type(py, name).unwrap_or((None, false));
        if component {
            let data = match &ty {
                Some(ExternType::ComponentFunction(sig)) => data_args(py, name, sig, args)?,
                // Not a function export: let the core report why.
                _ => Vec::new(),
            };
            // The core takes the arguments by value (a long string moves on
            // into the guest); a copy is kept only if the call may run twice
            // (known once the sandbox is entered).
            let entered = self.enter(py)?;
            let spare = self.interrupts.may_retry().then(|| data.clone());
            let args = Mutex::new((Some(data), spare));
            let results = self.run_entered(py, entered, |sb| {
                let mut args = lock(&args);
                let data = args.0.take().or_else(|| args.1.take()).unwrap_or_default();
                drop(args);
                sb.call_data(name, data)
            })?;
            return crate::data::results_to_py(py, &results);
        }
        let values = match &ty {
            Some(ExternType::Function(sig)) => {
                to_args(name, sig, args).map_err(|e| to_pyerr(py, e))?
            }
            // Not a numeric function export: let the core report why.
            _ => Vec::new(),
        };
        let results = self.run_guest(py, |sb| sb.call_dynamic(name, &values))?;
        results_to_py(py, results)
    }

    /// Calls `name` through the bytes convention: `data` (any bytes-like
    /// object: `bytes`, `bytearray`, `memoryview`, ...) in, the guest's output
    /// out, as one call under the sandbox's limits, with the GIL released.
    ///
    /// The guest (a core module) exports `memory`, `aegis_alloc(len) -> ptr`,
    /// optionally `aegis_free(ptr, len)`, and `name(ptr, len) -> i64`
    /// returning `(out_ptr << 32) | out_len`; see `examples/guest-rust` and
    /// `examples/guest-c`. An output longer than the `result_limit` option
    /// raises `ResultTooLargeError`, a pointer outside the guest's memory
    /// `MemoryOutOfBoundsError`, both before anything is allocated for it; a
    /// guest that fails traps (`TrapError`).
    fn call_bytes<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let input = bytes_like(data, "call_bytes() data")?;
        let input = input.as_slice();
        let output = self.run_guest(py, |sb| sb.call_bytes(name, input))?;
        Ok(PyBytes::new(py, &output))
    }

    /// `call_bytes` with text: `text` goes in as UTF-8, and the output must be
    /// UTF-8 (`InvalidResultError` otherwise).
    fn call_str<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        text: &str,
    ) -> PyResult<Bound<'py, PyString>> {
        let output = self.run_guest(py, |sb| sb.call_str(name, text))?;
        Ok(PyString::new(py, &output))
    }

    /// Size in bytes of the loaded module's memory: `memory` names an exported
    /// memory; by default the export named `"memory"`, else the only exported
    /// memory. No such memory raises `ExportNotFoundError`; a component
    /// (whose memories are not exported) `InvalidArgumentError`.
    #[pyo3(signature = (memory=None))]
    fn memory_size(&self, py: Python<'_>, memory: Option<&str>) -> PyResult<u64> {
        self.with_memory(py, memory, |mem| Ok(mem.size()))
    }

    /// Copies `length` bytes at `offset` out of the guest's memory (see
    /// `memory_size` for `memory`) into a new `bytes`.
    ///
    /// The range is checked against the memory's current size before anything
    /// is allocated: a range past its end raises `MemoryOutOfBoundsError`
    /// (`offset`, `len`, `size`), a negative offset or length
    /// `InvalidArgumentError`. Aegis offers copies only, never a live view of
    /// guest memory: such a view would dangle once the guest grows (and so
    /// moves) its memory.
    #[pyo3(signature = (offset, length, memory=None))]
    fn read_memory<'py>(
        &self,
        py: Python<'py>,
        offset: &Bound<'py, PyInt>,
        length: &Bound<'py, PyInt>,
        memory: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let offset: u64 = memory_arg(py, offset, "offset")?;
        let length: u64 = memory_arg(py, length, "length")?;
        self.with_memory(py, memory, |mem| {
            let len = check_range(offset, length, mem.size()).map_err(|e| to_pyerr(py, e))?;
            PyBytes::new_with(py, len, |buf| {
                mem.read_into(offset, buf).map_err(|e| to_pyerr(py, e))
            })
        })
    }

    /// Fills `buffer` (any writable bytes-like object: `bytearray`, a writable
    /// `memoryview`, `array.array`, ...) with the guest's memory from `offset`
    /// (see `memory_size` for `memory`); returns the number of bytes copied,
    /// `len(buffer)` in bytes. Bounds are checked first, as for `read_memory`.
    #[pyo3(signature = (offset, buffer, memory=None))]
    fn read_memory_into(
        &self,
        py: Python<'_>,
        offset: &Bound<'_, PyInt>,
        buffer: &Bound<'_, PyAny>,
        memory: Option<&str>,
    ) -> PyResult<usize> {
        let offset: u64 = memory_arg(py, offset, "offset")?;
        if let Ok(array) = buffer.cast::<PyByteArray>() {
            return self.with_memory(py, memory, |mem| {
                // SAFETY: the GIL is held and no Python code runs while the
                // slice lives, so nothing can resize the bytearray meanwhile.
                let copied = unsafe {
                    let buf = array.as_bytes_mut();
                    mem.read_into(offset, buf).map(|()| buf.len())
                };
                copied.map_err(|e| to_pyerr(py, e))
            });
        }
        let view = writable_view(buffer, "read_memory_into() buffer")?;
        let length = view.len()?;
        let data = self.with_memory(py, memory, |mem| {
            mem.read(offset, length as u64).map_err(|e| to_pyerr(py, e))
        })?;
        fill_view(&view, &data)?;
        Ok(length)
    }

    /// Writes `data` (any bytes-like object: `bytes`, `bytearray`,
    /// `memoryview`, ...) into the guest's memory at `offset` (see
    /// `memory_size` for `memory`). A range past the memory's end raises
    /// `MemoryOutOfBoundsError` and writes nothing.
    #[pyo3(signature = (offset, data, memory=None))]
    fn write_memory(
        &self,
        py: Python<'_>,
        offset: &Bound<'_, PyInt>,
        data: &Bound<'_, PyAny>,
        memory: Option<&str>,
    ) -> PyResult<()> {
        let offset: u64 = memory_arg(py, offset, "offset")?;
        let data = bytes_like(data, "write_memory() data")?;
        self.with_memory(py, memory, |mem| {
            mem.write(offset, data.as_slice())
                .map_err(|e| to_pyerr(py, e))
        })
    }

    /// Calls an export that takes no arguments, discarding its results.
    fn call_void(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.run_guest(py, move |sb| sb.call_void(&name))
    }

    /// Runs the default entry point (`_start`, else `main`), like a WASI command.
    fn run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let results = self.run_guest(py, |sb| sb.run())?;
        results_to_py(py, results)
    }

    /// `await sandbox.call_async(name, *args)`: `call` off the event loop.
    ///
    /// The call runs on a worker thread of the running loop's default
    /// executor (as `asyncio.to_thread` does), with the GIL released while
    /// the guest runs, so the loop keeps serving other tasks. Cancelling the
    /// awaiting task (`task.cancel()`, a timeout of `asyncio.wait_for` or
    /// `asyncio.timeout`) interrupts the guest, waits for the worker to
    /// finish, and raises `asyncio.CancelledError`; the sandbox stays usable,
    /// and the cancellation never stops a later call (one that was not yet
    /// started is not started at all). The sandbox still runs one call at a
    /// time: another call while this one runs raises `BusyError`. Returns
    /// what `call` returns.
    #[pyo3(signature = (name, *args))]
    fn call_async<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let all: Vec<_> = std::iter::once(name.clone()).chain(args.iter()).collect();
        Sandbox::offload(slf, "call", PyTuple::new(slf.py(), all)?)
    }

    /// `await sandbox.call_bytes_async(name, data)`: `call_bytes` off the
    /// event loop, cancellable like `call_async`. `data` is copied when the
    /// call is made, so the buffer may change while the call runs.
    fn call_bytes_async<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let data = PyBytes::new(py, bytes_like(data, "call_bytes_async() data")?.as_slice());
        let args = PyTuple::new(py, [name.clone(), data.into_any()])?;
        Sandbox::offload(slf, "call_bytes", args)
    }

    /// `await sandbox.call_str_async(name, text)`: `call_str` off the event
    /// loop, cancellable like `call_async`.
    fn call_str_async<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyAny>,
        text: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = PyTuple::new(slf.py(), [name, text])?;
        Sandbox::offload(slf, "call_str", args)
    }

    /// `await sandbox.run_async()`: `run` (the default entry point, like a
    /// WASI command) off the event loop, cancellable like `call_async`.
    fn run_async<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Sandbox::offload(slf, "run", PyTuple::empty(slf.py()))
    }

    /// The export `run` would call: `"_start"` or `"main"`.
    #[getter]
    fn default_entry(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.exec(py, |sb| sb.default_entry())
    }

    /// Re-instantiates the loaded module in a fresh store: memory, globals and
    /// tables return to their initial state.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        // The core's `reset` is `load_module` of the loaded module. Naming
        // that module once, on the first attempt, keeps a retried attempt
        // (see `Interrupts::run`) correct after the first one unloaded it.
        let module = std::sync::OnceLock::new();
        let entered = self.enter(py)?;
        let outcome = self.run_entered(py, entered, move |sb| {
            match module.get_or_init(|| sb.module().cloned()) {
                Some(m) => sb.load_module(m),
                None => sb.reset(),
            }
        });
        if outcome.is_err() {
            // A failed instantiation leaves no module loaded in the core.
            *lock(&self.module) = None;
        }
        outcome
    }

    /// The loaded module, or `None`.
    #[getter]
    fn module(&self, py: Python<'_>) -> Option<Py<Module>> {
        lock(&self.module).as_ref().map(|m| m.clone_ref(py))
    }

    /// Metrics summed over every call since the sandbox was made.
    #[getter]
    fn metrics(&self, py: Python<'_>) -> PyResult<Metrics> {
        let metrics = self.exec(py, |sb| Ok(sb.metrics().clone()))?;
        Metrics::from_core(py, &metrics)
    }

    /// Metrics of the most recent call (or instantiation).
    #[getter]
    fn last_call_metrics(&self, py: Python<'_>) -> PyResult<Metrics> {
        let metrics = self.exec(py, |sb| Ok(sb.last_call_metrics().clone()))?;
        Metrics::from_core(py, &metrics)
    }

    /// Guest stdout captured so far (empty unless `capture_output` was set).
    #[getter]
    fn stdout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.exec(py, |sb| Ok(sb.stdout()))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Guest stderr captured so far (empty unless `capture_output` was set).
    #[getter]
    fn stderr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.exec(py, |sb| Ok(sb.stderr()))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Bytes of (stdout, stderr) dropped because the capture limit was reached.
    #[getter]
    fn output_dropped(&self, py: Python<'_>) -> PyResult<(u64, u64)> {
        self.exec(py, |sb| Ok(sb.output_dropped()))
    }

    /// Empties the captured stdout and stderr.
    fn clear_output(&self, py: Python<'_>) -> PyResult<()> {
        self.exec(py, |sb| {
            sb.clear_output();
            Ok(())
        })
    }

    /// The limits this sandbox runs under (readable while a call runs).
    #[getter]
    fn limits(&self) -> Limits {
        Limits::from_core(&self.limits)
    }

    /// Stops the call running in this sandbox, from any thread.
    ///
    /// The call (in whichever thread runs it, whether the guest computes, sleeps
    /// in WASI or waits in a host function) ends within a few milliseconds
    /// with `aegis.InterruptedError`. If no call is running, the request is
    /// kept and the sandbox's *next* call (or `load_module` / `reset`) ends
    /// immediately with `InterruptedError` instead, so an interrupt racing with
    /// the start of a call is never lost; the call it stops consumes it (see
    /// `interrupt_handle().pending`). Never waits for the call to finish.
    fn interrupt(&self) {
        self.interrupts.interrupt();
    }

    /// A handle that interrupts this sandbox from any thread, like
    /// `interrupt()`, without keeping the sandbox itself reachable.
    fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle {
            interrupts: self.interrupts.clone(),
        }
    }

    /// Frees the sandbox; any later use raises `InvalidArgumentError`.
    /// Closing a sandbox while a call runs in it raises `BusyError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let mut slot = lock(&self.inner);
        let Some(shared) = slot.clone() else {
            return Ok(());
        };
        let entered = match shared.enter() {
            Ok(entered) => entered,
            Err(e) => {
                drop(slot);
                return Err(to_pyerr(py, e));
            }
        };
        *slot = None;
        drop(slot);
        drop(entered);
        py.detach(move || drop(shared));
        *lock(&self.module) = None;
        Ok(())
    }

    /// Whether `close` was called (or the `with` block ended).
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.inner).is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match self.module(py) {
            Some(m) => format!(
                "<aegis.Sandbox module exports=[{}]>",
                m.get().inner.function_names().join(", ")
            ),
            None => "<aegis.Sandbox (no module)>".to_string(),
        }
    }
}

/// Stops the calls of one sandbox from any thread; made by
/// `Sandbox.interrupt_handle()`.
///
/// `interrupt()` ends the sandbox's running call with
/// `aegis.InterruptedError`, or, if none runs, its next call. Thread-safe.
#[pyclass(frozen, module = "aegis")]
pub struct InterruptHandle {
    interrupts: Arc<Interrupts>,
}

#[pymethods]
impl InterruptHandle {
    /// Stops the sandbox's running call, or its next call if none is running
    /// (see `Sandbox.interrupt`). Never waits for the call to finish.
    fn interrupt(&self) {
        self.interrupts.interrupt();
    }

    /// Whether an interrupt was requested and no call has consumed it yet
    /// (the sandbox's next call will end with `InterruptedError`).
    #[getter]
    fn pending(&self) -> bool {
        self.interrupts.pending()
    }

    fn __repr__(&self) -> String {
        format!(
            "<aegis.InterruptHandle pending={}>",
            py_bool(self.pending())
        )
    }
}
