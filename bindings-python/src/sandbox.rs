//! `aegis.Sandbox`: calls into the guest with the GIL released.

use std::sync::{Arc, Mutex, MutexGuard};

use aegis_core::{Entered, Error, ExternType, FuncType, SharedSandbox};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::errors::{invalid_argument, to_pyerr};
use crate::host::PyHostFn;
use crate::metrics::{Limits, Metrics};
use crate::module::Module;
use crate::values::{parse_types, results_to_py, to_args};

#[cfg(unix)]
use crate::sigint::{Watch, watch};

/// Ctrl-C forwarding exists on Unix only (see `sigint.rs`).
#[cfg(not(unix))]
pub struct Watch;

#[cfg(not(unix))]
impl Watch {
    fn fired(&self) -> bool {
        false
    }
    fn finish(self) -> bool {
        false
    }
}

#[cfg(not(unix))]
fn watch(_py: Python<'_>, _handle: &aegis_core::InterruptHandle) -> Option<Watch> {
    None
}

/// The interrupt state of one sandbox, shared with its `InterruptHandle`s
/// and kept outside the sandbox's lock, so that `interrupt()` never waits for
/// the call it stops.
pub struct Interrupts {
    handle: aegis_core::InterruptHandle,
    book: Mutex<Book>,
}

/// Which pending request is whose. A Ctrl-C forwarded to a call (see
/// `sigint.rs`) can reach the core just after that call finished on its own;
/// the core then keeps it for the *next* call, which Python code never asked
/// for. The binding remembers such a leftover and withdraws it at the next
/// call, unless Python code has asked for an interrupt since.
#[derive(Default)]
struct Book {
    /// Requests made by Python code (`interrupt()`), counted.
    requests: u64,
    /// A leftover Ctrl-C request: the value of `requests` when it was left.
    leftover: Option<u64>,
}

impl Interrupts {
    fn new(handle: aegis_core::InterruptHandle) -> Self {
        Interrupts {
            handle,
            book: Mutex::new(Book::default()),
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request from Python code: stops the running call, or the next one.
    pub fn interrupt(&self) {
        let mut book = self.book();
        self.handle.interrupt();
        book.requests += 1;
    }

    /// Whether a request from Python code waits for the next call.
    pub fn pending(&self) -> bool {
        let book = self.book();
        self.handle.is_pending() && book.leftover != Some(book.requests)
    }

    /// Runs a guest-executing `f` (a call, `run`, `load_module`, `reset`)
    /// on `sandbox`, withdrawing a leftover Ctrl-C request first and
    /// recording one the call leaves behind. `watch` is the call's Ctrl-C
    /// watch (main thread only).
    fn run<T>(
        &self,
        sandbox: &mut aegis_core::Sandbox,
        watch: Option<Watch>,
        f: impl Fn(&mut aegis_core::Sandbox) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (withdraw, mut requests) = {
            let mut book = self.book();
            let leftover = book.leftover.take();
            (
                leftover == Some(book.requests) && self.handle.is_pending(),
                book.requests,
            )
        };
        let mut outcome = f(sandbox);
        if withdraw && matches!(outcome, Err(Error::Interrupted { .. })) {
            // The pending request was consumed before any guest code ran
            // (the core checks it first). Run the call for real unless Python
            // code or Ctrl-C asked for an interrupt in the meantime.
            let book = self.book();
            if book.requests == requests && !watch.as_ref().is_some_and(Watch::fired) {
                requests = book.requests;
                drop(book);
                outcome = f(sandbox);
            }
        }
        // A request still pending after a Ctrl-C interrupt, with no request
        // from Python code since the call began, is the Ctrl-C's own: it
        // came after the call had finished (or after the core consumed the
        // request that stopped it).
        let fired = watch.is_some_and(Watch::finish);
        if fired {
            let mut book = self.book();
            if self.handle.is_pending() && book.requests == requests {
                book.leftover = Some(requests);
            }
        }
        outcome
    }
}

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
    module: Mutex<Option<Py<Module>>>,
    interrupts: Arc<Interrupts>,
    limits: aegis_core::Limits,
}

/// Locks a mutex of this module, whose data stays valid after a panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sandbox {
    pub fn new(inner: aegis_core::Sandbox) -> Self {
        let limits = inner.limits().clone();
        let shared = SharedSandbox::new(inner);
        let interrupts = Arc::new(Interrupts::new(shared.interrupt_handle()));
        Sandbox {
            inner: Mutex::new(Some(Arc::new(shared))),
            module: Mutex::new(None),
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
        let interrupts = &*self.interrupts;
        let outcome = py.detach(move || interrupts.run(&mut entered.sandbox(), watch, f));
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

    /// Instantiates `module` (see `load_module`).
    pub fn load(&self, py: Python<'_>, module: Py<Module>) -> PyResult<()> {
        let core = module.get().inner.clone();
        let entered = self.enter(py)?;
        *lock(&self.module) = None;
        self.run_entered(py, entered, move |sb| sb.load_module(&core))?;
        *lock(&self.module) = Some(module);
        Ok(())
    }

    /// The signature of export `name` from the loaded module, if it is a numeric function.
    fn signature(&self, py: Python<'_>, name: &str) -> Option<FuncType> {
        let module = lock(&self.module);
        let module = module.as_ref()?.bind(py).get();
        match module.inner.export(name).map(|e| &e.ty) {
            Some(ExternType::Function(sig)) => Some(sig.clone()),
            _ => None,
        }
    }
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

    /// Instantiates `module`, replacing any previous instance, and runs its start function.
    fn load_module(&self, py: Python<'_>, module: Py<Module>) -> PyResult<()> {
        self.load(py, module)
    }

    /// Calls the export `name` with numbers converted by its signature.
    ///
    /// Returns `None`, one `int`/`float`, or a tuple for several results.
    #[pyo3(signature = (name, *args))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let values = match self.signature(py, name) {
            Some(sig) => to_args(name, &sig, args).map_err(|e| to_pyerr(py, e))?,
            // Not a numeric function export: let the core report why.
            None => Vec::new(),
        };
        let name = name.to_string();
        let results = self.run_guest(py, move |sb| sb.call_dynamic(&name, &values))?;
        results_to_py(py, results)
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
        let pending = if self.pending() { "True" } else { "False" };
        format!("<aegis.InterruptHandle pending={pending}>")
    }
}
