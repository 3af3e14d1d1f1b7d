//! `aegis.Runtime` and `aegis.validate`.

use std::path::PathBuf;
use std::sync::OnceLock;

use aegis_core::{Aegis, RuntimeBuilder, SandboxBuilder};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::buffers::bytes_like;
use crate::errors::to_pyerr;
use crate::metrics::Limits;
use crate::module::Module;
use crate::policy;
use crate::sandbox::Sandbox;

/// A configured engine shared by every sandbox made from it.
///
/// `Runtime(**options)` takes the options of `aegis.OPTIONS` as keyword
/// arguments (`memory_limit=..., fuel_limit=..., timeout=..., allow_read=[...],
/// ...`); `Runtime.from_policy(source, **overrides)` reads them from TOML or
/// JSON. `runtime.sandbox(**options)` overrides the options whose scope is
/// "both" for one sandbox. The core decides which names and values are
/// valid (`InvalidArgumentError` otherwise). Thread-safe.
///
/// `stdin` also takes the guest's stdin the Python way: bytes (`bytes`,
/// `bytearray`, `memoryview`, copied) or a regular file (`os.PathLike`, read
/// when a sandbox is made), besides the policy's `"empty"` (the default),
/// `"inherit"`, `{"file": path}` and `{"text": str}`.
#[pyclass(frozen, module = "aegis")]
pub struct Runtime {
    inner: aegis_core::Runtime,
}

impl Runtime {
    /// A runtime with `policy`'s settings, and `stdin` if given.
    fn build(
        py: Python<'_>,
        policy: &aegis_core::Policy,
        stdin: Option<aegis_core::Stdin>,
    ) -> PyResult<Self> {
        let inner = py
            .detach(|| {
                let builder = policy.runtime_builder()?;
                stdin
                    .into_iter()
                    .fold(builder, RuntimeBuilder::with_stdin)
                    .build()
            })
            .map_err(|e| to_pyerr(py, e))?;
        Ok(Runtime { inner })
    }
}

#[pymethods]
impl Runtime {
    /// Builds a runtime; unset options keep Aegis's defaults.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let options = policy::from_kwargs(py, options)?;
        Runtime::build(py, &options.policy, options.stdin)
    }

    /// Builds a runtime from a policy: TOML or JSON text (`str`; JSON when it
    /// starts with `{`), or the path of a policy file (`os.PathLike`; JSON
    /// when its name ends in `.json`, TOML otherwise). Keyword `overrides`
    /// replace the policy's settings of the same name.
    #[classmethod]
    #[pyo3(signature = (source, **overrides))]
    fn from_policy(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        overrides: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut policy = policy::from_source(py, source)?;
        let top = policy::from_kwargs(py, overrides)?;
        if overrides.is_some_and(|o| !o.is_empty()) {
            policy = policy
                .overridden_by(&top.policy)
                .map_err(|e| to_pyerr(py, e))?;
        }
        Runtime::build(py, &policy, top.stdin)
    }

    /// Compiles a module from binary wasm or WAT text given as bytes.
    fn load_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Module> {
        let bytes = bytes_like(data, "load_bytes() data")?;
        let bytes = bytes.as_slice();
        let inner = py
            .detach(|| self.inner.load_bytes(bytes))
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
        let bytes = bytes_like(data, "validate() data")?;
        let bytes = bytes.as_slice();
        py.detach(|| self.inner.validate(bytes))
            .map_err(|e| to_pyerr(py, e))
    }

    /// Makes a sandbox with this runtime's settings, overridden by `options`
    /// (runtime-only options are refused), and loads `module` into it if given.
    #[pyo3(signature = (module=None, **options))]
    fn sandbox(
        &self,
        py: Python<'_>,
        module: Option<Py<Module>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Sandbox> {
        let options = policy::from_kwargs(py, options)?;
        let core = py
            .detach(|| {
                let builder = options.policy.apply_to_sandbox(self.inner.sandbox())?;
                let stdin = options.stdin.into_iter();
                stdin.fold(builder, SandboxBuilder::with_stdin).build()
            })
            .map_err(|e| to_pyerr(py, e))?;
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let limits = Limits::from_core(self.inner.limits()).__repr__(py)?;
        Ok(format!("<aegis.Runtime {limits}>"))
    }
}

/// Checks that `data` is a valid WebAssembly module or component (binary or
/// WAT text as bytes); raises `InvalidModuleError` if not.
#[pyfunction]
pub fn validate(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    static DEFAULT: OnceLock<Result<aegis_core::Runtime, String>> = OnceLock::new();
    let bytes = bytes_like(data, "validate() data")?;
    let bytes = bytes.as_slice();
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
    py.detach(|| runtime.validate(bytes))
        .map_err(|e| to_pyerr(py, e))
}
