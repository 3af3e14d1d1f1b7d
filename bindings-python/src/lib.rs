//! Python bindings for Aegis: the native module `aegis._aegis`.
//!
//! Translation only: every policy (limits, capabilities, error
//! classification) lives in `aegis-core`. The pure-Python package
//! `python/aegis` re-exports these classes and defines the exceptions.

mod config;
mod errors;
mod host;
mod metrics;
mod module;
mod runtime;
mod sandbox;
#[cfg(unix)]
mod sigint;
mod values;

use aegis_core::ErrorCode;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The native module behind the `aegis` package.
#[pymodule]
fn _aegis(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<runtime::Runtime>()?;
    m.add_class::<module::Module>()?;
    m.add_class::<module::Import>()?;
    m.add_class::<module::Export>()?;
    m.add_class::<module::FuncType>()?;
    m.add_class::<module::MemoryType>()?;
    m.add_class::<module::TableType>()?;
    m.add_class::<module::GlobalType>()?;
    m.add_class::<sandbox::Sandbox>()?;
    m.add_class::<sandbox::InterruptHandle>()?;
    m.add_class::<host::Caller>()?;
    m.add_class::<metrics::Metrics>()?;
    m.add_class::<metrics::DeniedOperation>()?;
    m.add_class::<metrics::Limits>()?;
    m.add_function(wrap_pyfunction!(runtime::validate, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_sample_error, m)?)?;
    let classes = PyDict::new(m.py());
    for code in ErrorCode::ALL {
        classes.set_item(code.as_str(), errors::class_name(code))?;
    }
    m.add("ERROR_CLASSES", classes)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
