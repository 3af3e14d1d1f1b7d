//! `aegis.Runtime` and `aegis.validate`.

use std::path::PathBuf;
use std::sync::OnceLock;

use aegis_core::Aegis;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict};

use crate::config::{runtime_builder, sandbox_builder};
use crate::errors::to_pyerr;
use crate::metrics::Limits;
use crate::module::Module;
use crate::sandbox::Sandbox;

/// A configured engine shared by every sandbox made from it.
///
/// `Runtime(memory_limit=..., fuel_limit=..., timeout=..., stack_limit=...,
/// allow_read=[...], allow_write=[...], map_dirs=[...], allow_logging=...,
/// capture_output=..., allow_clock=..., env={...}, args=[...],
/// allow_net=[...], random_seed=...)`. Every option is also a per-sandbox
/// override in `runtime.sandbox(...)` except `stack_limit`. Thread-safe.
#[pyclass(frozen, module = "aegis")]
pub struct Runtime {
    inner: aegis_core::Runtime,
}

#[pymethods]
impl Runtime {
    /// Builds a runtime; unset options keep Aegis's defaults.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let builder = runtime_builder(py, Aegis::builder(), options)?;
        let inner = py.detach(|| builder.build()).map_err(|e| to_pyerr(py, e))?;
        Ok(Runtime { inner })
    }

    /// Compiles a module from binary wasm or WAT text given as bytes.
    fn load_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Module> {
        let bytes = bytes_of(data)?;
        let inner = py
            .detach(|| self.inner.load_bytes(&bytes))
            .map_err(|e| to_pyerr(py, e))?;
        Ok(Module { inner })
    }

    /// Compiles a module from WAT text.
    fn load_wat(&self, py: Python<'_>, text: &str) -> PyResult<Module> {
        let inner = py
            .detach(|| self.inner.load_wat(text))
            .map_err(|e| to_pyerr(py, e))?;
        Ok(Module { inner })
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    fn load_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<Module> {
        let inner = py
            .detach(|| self.inner.load_file(&path))
            .map_err(|e| to_pyerr(py, e))?;
        Ok(Module { inner })
    }

    /// Checks that the bytes are a valid module or component; raises `InvalidModuleError` if not.
    fn validate(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = bytes_of(data)?;
        py.detach(|| self.inner.validate(&bytes))
            .map_err(|e| to_pyerr(py, e))
    }

    /// Makes a sandbox with this runtime's settings, overridden by `options`,
    /// and loads `module` into it if given.
    #[pyo3(signature = (module=None, **options))]
    fn sandbox(
        &self,
        py: Python<'_>,
        module: Option<Py<Module>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Sandbox> {
        let builder = sandbox_builder(py, self.inner.sandbox(), options)?;
        let core = py.detach(|| builder.build()).map_err(|e| to_pyerr(py, e))?;
        let sandbox = Sandbox::new(core);
        if let Some(module) = module {
            sandbox.load(py, module)?;
        }
        Ok(sandbox)
    }

    /// The default limits of this runtime's sandboxes.
    #[getter]
    fn limits(&self) -> Limits {
        Limits::from_core(self.inner.limits())
    }

    fn __repr__(&self) -> String {
        format!(
            "<aegis.Runtime {}>",
            Limits::from_core(self.inner.limits()).__repr__()
        )
    }
}

/// The bytes of a `bytes`, `bytearray` or `memoryview` argument.
fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if data.is_instance_of::<pyo3::types::PyMemoryView>() {
        return Ok(data
            .call_method0("tobytes")?
            .cast::<PyBytes>()?
            .as_bytes()
            .to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "expected bytes, bytearray or memoryview, not {}",
        data.get_type().name()?
    )))
}

/// Checks that `data` is a valid WebAssembly module or component (binary or
/// WAT text as bytes); raises `InvalidModuleError` if not.
#[pyfunction]
pub fn validate(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    static DEFAULT: OnceLock<Result<aegis_core::Runtime, String>> = OnceLock::new();
    let bytes = bytes_of(data)?;
    let runtime = DEFAULT.get_or_init(|| {
        Aegis::builder()
            .without_timeout()
            .build()
            .map_err(|e| e.to_string())
    });
    let runtime = match runtime {
        Ok(r) => r,
        Err(message) => {
            return Err(to_pyerr(
                py,
                crate::errors::invalid_argument(message.clone()),
            ));
        }
    };
    py.detach(|| runtime.validate(&bytes))
        .map_err(|e| to_pyerr(py, e))
}
