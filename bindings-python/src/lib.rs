//! Python bindings for Aegis: the native module `aegis._aegis`.
//!
//! Translation only: every policy (limits, capabilities, error
//! classification) lives in `aegis-core`. The pure-Python package
//! `python/aegis` re-exports these classes and defines the exceptions.

mod buffers;
mod data;
mod errors;
mod host;
mod interrupts;
mod metrics;
mod module;
mod policy;
mod runtime;
mod sandbox;
#[cfg(unix)]
mod sigint;
mod values;

use aegis_core::ErrorCode;
use aegis_core::policy::{OPTIONS, Scope};
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
    m.add_class::<module::WitFuncType>()?;
    m.add_class::<module::MemoryType>()?;
    m.add_class::<module::TableType>()?;
    m.add_class::<module::GlobalType>()?;
    m.add_class::<sandbox::Sandbox>()?;
    m.add_class::<sandbox::InterruptHandle>()?;
    m.add_class::<interrupts::CallScope>()?;
    m.add_class::<host::Caller>()?;
    m.add_class::<metrics::Metrics>()?;
    m.add_class::<metrics::DeniedOperation>()?;
    m.add_class::<metrics::Limits>()?;
    m.add_function(wrap_pyfunction!(runtime::validate, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_sample_error, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_sample_error_json, m)?)?;
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    m.add("ERROR_CODES", codes)?;
    m.add("DETAIL_NAMES", aegis_core::details::DETAIL_NAMES.to_vec())?;
    m.add("METRIC_NAMES", aegis_core::METRIC_NAMES.to_vec())?;
    let mut options = Vec::new();
    for o in OPTIONS {
        let d = PyDict::new(m.py());
        d.set_item("name", o.name)?;
        d.set_item("doc", o.doc)?;
        d.set_item("default", o.default)?;
        d.set_item("unit", o.unit)?;
        let scope = match o.scope {
            Scope::Both => "both",
            Scope::Runtime => "runtime",
        };
        d.set_item("scope", scope)?;
        options.push(d);
    }
    m.add("OPTIONS", options)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
