//! `aegis.Sandbox`: calls into the guest with the GIL released.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use aegis_core::{Error, ExternType, FuncType};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::errors::{invalid_argument, to_pyerr};
use crate::host::PyHostFn;
use crate::metrics::{Limits, Metrics};
use crate::module::Module;
use crate::values::{parse_types, results_to_py, to_args};

thread_local! {
    /// Sandboxes whose guest code is running on this thread (to refuse re-entry).
    static RUNNING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Removes a sandbox from `RUNNING` when the call ends.
struct RunningGuard(usize);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|k| *k == self.0) {
                r.remove(i);
            }
        });
    }
}

/// An isolated place to run guest code, made by `Runtime.sandbox()`.
///
/// Every call runs under the sandbox's limits with the GIL released. A
/// sandbox may be shared between threads; calls on it are serialized. Use it
/// as a context manager (`with runtime.sandbox() as sb:`) to free it promptly.
#[pyclass(frozen, module = "aegis")]
pub struct Sandbox {
    inner: Mutex<Option<aegis_core::Sandbox>>,
    module: Mutex<Option<Py<Module>>>,
}

impl Sandbox {
    pub fn new(inner: aegis_core::Sandbox) -> Self {
        Sandbox {
            inner: Mutex::new(Some(inner)),
            module: Mutex::new(None),
        }
    }

    /// Runs `f` on the core sandbox with the GIL released, then raises any
    /// signal (Ctrl-C) that arrived meanwhile before the call's own outcome.
    fn exec<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let _guard = self.enter(py)?;
        let outcome = py.detach(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            match inner.as_mut() {
                Some(sandbox) => f(sandbox),
                None => Err(invalid_argument("the sandbox is closed")),
            }
        });
        // A Ctrl-C that arrived while the guest ran wins over the call's own outcome.
        py.check_signals()?;
        outcome.map_err(|e| to_pyerr(py, e))
    }

    /// Marks the sandbox as in use by this thread, refusing re-entry from a
    /// host function (which would deadlock on the sandbox's lock).
    fn enter(&self, py: Python<'_>) -> PyResult<RunningGuard> {
        let key = self as *const Sandbox as usize;
        if RUNNING.with(|r| r.borrow().contains(&key)) {
            return Err(to_pyerr(
                py,
                invalid_argument(
                    "this sandbox is busy: a host function cannot use its own sandbox",
                ),
            ));
        }
        RUNNING.with(|r| r.borrow_mut().push(key));
        Ok(RunningGuard(key))
    }

    /// Instantiates `module` (see `load_module`).
    pub fn load(&self, py: Python<'_>, module: Py<Module>) -> PyResult<()> {
        let core = module.get().inner.clone();
        *self.module.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.exec(py, move |sb| sb.load_module(&core))?;
        *self.module.lock().unwrap_or_else(|p| p.into_inner()) = Some(module);
        Ok(())
    }

    /// The signature of export `name` from the loaded module, if it is a numeric function.
    fn signature(&self, py: Python<'_>, name: &str) -> Option<FuncType> {
        let module = self.module.lock().unwrap_or_else(|p| p.into_inner());
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
        let results = self.exec(py, move |sb| sb.call_dynamic(&name, &values))?;
        results_to_py(py, results)
    }

    /// Calls an export that takes no arguments, discarding its results
    /// (a WASI `proc_exit(0)` counts as success).
    fn call_void(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.exec(py, move |sb| sb.call_void(&name))
    }

    /// Runs the default entry point (`_start`, else `main`), like a WASI command.
    fn run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let results = self.exec(py, |sb| sb.run())?;
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
        self.exec(py, |sb| sb.reset())
    }

    /// The loaded module, or `None`.
    #[getter]
    fn module(&self, py: Python<'_>) -> Option<Py<Module>> {
        let module = self.module.lock().unwrap_or_else(|p| p.into_inner());
        module.as_ref().map(|m| m.clone_ref(py))
    }

    /// Metrics summed over every call since the sandbox was made.
    #[getter]
    fn metrics(&self, py: Python<'_>) -> PyResult<Metrics> {
        self.exec(py, |sb| Ok(Metrics::from_core(sb.metrics())))
    }

    /// Metrics of the most recent call (or instantiation).
    #[getter]
    fn last_call_metrics(&self, py: Python<'_>) -> PyResult<Metrics> {
        self.exec(py, |sb| Ok(Metrics::from_core(sb.last_call_metrics())))
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

    /// The limits this sandbox runs under.
    #[getter]
    fn limits(&self, py: Python<'_>) -> PyResult<Limits> {
        self.exec(py, |sb| Ok(Limits::from_core(sb.limits())))
    }

    /// Frees the sandbox; any later use raises `InvalidArgumentError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _guard = self.enter(py)?;
        let dropped = py.detach(|| self.inner.lock().unwrap_or_else(|p| p.into_inner()).take());
        drop(dropped);
        *self.module.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// Whether `close` was called (or the `with` block ended).
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| {
            self.inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none()
        })
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
