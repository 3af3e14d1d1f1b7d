//! Python callables as host functions (for core-module and component
//! imports), and `aegis.Caller` for guest-memory access.

use std::sync::Mutex;

use aegis_core::{Data, FuncType, HostCaller, HostError, Value};
use pyo3::exceptions::{PyBaseException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyTuple};

use crate::data::{from_data, to_data};
use crate::errors::{invalid_argument, to_pyerr};
use crate::values::{to_py, to_value};

/// The core's `HostCaller` for the duration of one callback.
struct CallerPtr(*mut HostCaller<'static>);

// SAFETY: the pointer is only dereferenced while the callback that created it
// is running (it is cleared before the callback returns), and every access
// goes through the `Mutex` in `Caller`, so it is never used concurrently.
unsafe impl Send for CallerPtr {}

/// Access to the calling guest's exported `memory`, passed as the first
/// argument of host functions registered with `caller=True`.
///
/// Valid only while the host function runs; using it afterwards raises
/// `InvalidArgumentError`.
#[pyclass(frozen, module = "aegis")]
pub struct Caller {
    ptr: Mutex<Option<CallerPtr>>,
}

impl Caller {
    /// Runs `f` on the live `HostCaller`, or fails if the callback has returned.
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut HostCaller<'_>) -> Result<T, HostError>,
    ) -> PyResult<T> {
        let guard = self.ptr.lock().unwrap_or_else(|p| p.into_inner());
        let Some(ptr) = guard.as_ref() else {
            return Err(to_pyerr(
                py,
                invalid_argument("the Caller is only valid while its host function runs"),
            ));
        };
        // SAFETY: see `CallerPtr`; the callback that owns the `HostCaller`
        // is still running because the pointer has not been cleared.
        let caller = unsafe { &mut *ptr.0 };
        f(caller).map_err(|e| to_pyerr(py, invalid_argument(e.message())))
    }
}

/// A guest-memory offset or length given by Python code: any `int`; one
/// outside `0..2**64` (or a length beyond the address space) is an
/// `InvalidArgumentError` naming it, never an allocation. The core checks the
/// range against the memory before copying anything.
pub(crate) fn memory_arg<T: TryFrom<u64>>(
    py: Python<'_>,
    value: &Bound<'_, PyInt>,
    what: &str,
) -> PyResult<T> {
    value
        .extract::<u64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| {
            to_pyerr(
                py,
                invalid_argument(format!(
                    "guest memory access out of bounds: {what} {value} is out of range"
                )),
            )
        })
}

#[pymethods]
impl Caller {
    /// Size in bytes of the guest's exported `memory`.
    fn memory_size(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |c| c.memory_size())
    }

    /// Copies `length` bytes at `offset` out of the guest's memory.
    ///
    /// The range is checked against the memory before anything is
    /// allocated: a range outside it raises `InvalidArgumentError`.
    fn read_memory<'py>(
        &self,
        py: Python<'py>,
        offset: &Bound<'py, PyInt>,
        length: &Bound<'py, PyInt>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let offset = memory_arg(py, offset, "offset")?;
        let length = memory_arg(py, length, "length")?;
        let data = self.with(py, |c| c.read_memory(offset, length))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Reads `length` bytes at `offset` as UTF-8 text (bounds checked first,
    /// like `read_memory`).
    fn read_string(
        &self,
        py: Python<'_>,
        offset: &Bound<'_, PyInt>,
        length: &Bound<'_, PyInt>,
    ) -> PyResult<String> {
        let offset = memory_arg(py, offset, "offset")?;
        let length = memory_arg(py, length, "length")?;
        self.with(py, |c| c.read_string(offset, length))
    }

    /// Writes `data` into the guest's memory at `offset`.
    fn write_memory(
        &self,
        py: Python<'_>,
        offset: &Bound<'_, PyInt>,
        data: Vec<u8>,
    ) -> PyResult<()> {
        let offset = memory_arg(py, offset, "offset")?;
        self.with(py, |c| c.write_memory(offset, &data))
    }

    /// Whether the call this host function serves must stop: its timeout has
    /// passed or its sandbox was interrupted. A long-running host function
    /// should check it and return early; the call then ends with
    /// `AegisTimeoutError` or `InterruptedError` whatever it returns.
    fn is_cancelled(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |c| Ok(c.is_cancelled()))
    }

    /// Seconds left before the call's timeout (`0.0` once it has passed), or
    /// `None` when the sandbox has no timeout.
    #[getter]
    fn time_remaining(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        self.with(py, |c| Ok(c.time_remaining().map(|d| d.as_secs_f64())))
    }
}

/// A registered Python host function.
pub struct PyHostFn {
    pub callable: Py<PyAny>,
    pub signature: FuncType,
    pub with_caller: bool,
}

impl PyHostFn {
    /// Calls the Python function with the GIL, converting arguments and results.
    pub fn invoke(
        &self,
        caller: &mut HostCaller<'_>,
        args: &[Value],
    ) -> Result<Vec<Value>, HostError> {
        Python::attach(|py| {
            let handle = if self.with_caller {
                let ptr = std::ptr::from_mut(caller).cast::<HostCaller<'static>>();
                Some(
                    Py::new(
                        py,
                        Caller {
                            ptr: Mutex::new(Some(CallerPtr(ptr))),
                        },
                    )
                    .map_err(|e| failure(py, e))?,
                )
            } else {
                None
            };
            let outcome = self.call_python(py, handle.as_ref(), args);
            if let Some(handle) = handle {
                *handle.get().ptr.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            outcome.map_err(|e| failure(py, e))
        })
    }

    fn call_python(
        &self,
        py: Python<'_>,
        caller: Option<&Py<Caller>>,
        args: &[Value],
    ) -> PyResult<Vec<Value>> {
        let mut items: Vec<Bound<'_, PyAny>> = Vec::with_capacity(args.len() + 1);
        if let Some(c) = caller {
            items.push(c.bind(py).clone().into_any());
        }
        for v in args {
            items.push(to_py(py, *v)?);
        }
        let out = self.callable.bind(py).call1(PyTuple::new(py, items)?)?;
        self.results(&out)
    }

    /// Converts what the callable returned to the declared result types.
    fn results(&self, out: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
        let types = &self.signature.results;
        let items: Vec<Bound<'_, PyAny>> = match types.len() {
            0 if out.is_none() => Vec::new(),
            1 => vec![out.clone()],
            n if n > 1
                && (out.is_instance_of::<PyTuple>()
                    || out.is_instance_of::<pyo3::types::PyList>()) =>
            {
                out.try_iter()?.collect::<PyResult<_>>()?
            }
            _ => return Err(bad_results(&self.signature, out)),
        };
        if items.len() != types.len() {
            return Err(bad_results(&self.signature, out));
        }
        items
            .iter()
            .zip(types)
            .map(|(item, ty)| {
                to_value(item, *ty).map_err(|e| match e {
                    Some(err) => PyTypeError::new_err(err.to_string()),
                    None => bad_results(&self.signature, out),
                })
            })
            .collect()
    }
}

/// A registered Python host function for a component import, on the
/// binding's value mapping (`crate::data`).
pub struct PyComponentFn {
    pub callable: Py<PyAny>,
    /// The import: `func` or `interface#func`.
    pub name: String,
}

impl PyComponentFn {
    /// Calls the Python function with the GIL, converting arguments and result.
    /// `has_result`: whether the import returns a value (the core knows).
    pub fn invoke(&self, has_result: bool, args: &[Data]) -> Result<Vec<Data>, HostError> {
        Python::attach(|py| {
            self.call_python(py, has_result, args)
                .map_err(|e| failure(py, e))
        })
    }

    fn call_python(&self, py: Python<'_>, has_result: bool, args: &[Data]) -> PyResult<Vec<Data>> {
        let items = args
            .iter()
            .map(|d| from_data(py, d))
            .collect::<PyResult<Vec<_>>>()?;
        let out = self.callable.bind(py).call1(PyTuple::new(py, items)?)?;
        match (has_result, out.is_none()) {
            (false, true) => Ok(Vec::new()),
            (false, false) => Err(PyTypeError::new_err(format!(
                "host function for `{}` must return None (the import has no result), got {}",
                self.name,
                short_repr(&out)
            ))),
            _ => match to_data(&out) {
                Ok(data) => Ok(vec![data]),
                Err(refusal) => Err(refusal.into_type_error(&format!("result of `{}`", self.name))),
            },
        }
    }
}

fn short_repr(out: &Bound<'_, PyAny>) -> String {
    let text = out
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into());
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

fn bad_results(sig: &FuncType, out: &Bound<'_, PyAny>) -> PyErr {
    let given = out
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!(
        "host function must return results of types {} (None for no result, a tuple for several), got {given}",
        sig
    ))
}

/// Turns a Python exception into a `HostError` carrying the exception itself.
pub(crate) fn failure(py: Python<'_>, err: PyErr) -> HostError {
    let value: Py<PyBaseException> = err.into_value(py);
    let message = match value.bind(py).str() {
        Ok(s) if !s.to_string_lossy().is_empty() => {
            format!("{}: {}", type_name(py, &value), s.to_string_lossy())
        }
        _ => type_name(py, &value),
    };
    HostError::with_payload(message, Box::new(value))
}

fn type_name(py: Python<'_>, value: &Py<PyBaseException>) -> String {
    value
        .bind(py)
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "exception".into())
}
