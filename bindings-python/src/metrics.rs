//! `aegis.Metrics`: what a call (or a sandbox's whole life) used, built
//! from the core's `Metrics::fields()` (same names, durations in seconds).

use aegis_core::MetricValue;
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList};

/// One operation a guest attempted and its capabilities refused.
#[pyclass(frozen, get_all, module = "aegis")]
#[derive(Clone)]
pub struct DeniedOperation {
    /// The capability involved: `"filesystem"`, `"network"`, `"clock"`, `"logging"`, `"module"`.
    pub capability: String,
    /// The operation, e.g. `"path_open"`, `"tcp_connect"`, `"clock_time_get"`.
    pub operation: String,
    /// What it targeted: a path, an address, a clock id.
    pub target: String,
}

#[pymethods]
impl DeniedOperation {
    fn __repr__(&self) -> String {
        format!(
            "DeniedOperation(capability={:?}, operation={:?}, target={:?})",
            self.capability, self.operation, self.target
        )
    }
}

/// Resource usage of one call, or summed over a sandbox's life.
///
/// One attribute per name of `aegis.METRIC_NAMES`: `calls`, `wall_time`
/// (seconds), `fuel_consumed`, `memory_current` and `memory_peak` (bytes),
/// `host_calls`, `denied_count`, `denied` (a list of `DeniedOperation`).
#[pyclass(frozen, module = "aegis")]
pub struct Metrics {
    fields: Vec<(&'static str, Py<PyAny>)>,
}

impl Metrics {
    pub fn from_core(py: Python<'_>, m: &aegis_core::Metrics) -> PyResult<Self> {
        let fields = m
            .fields()
            .into_iter()
            .map(|(name, value)| Ok((name, metric(py, value)?)))
            .collect::<PyResult<_>>()?;
        Ok(Metrics { fields })
    }
}

/// One metric as a Python value: durations as float seconds.
fn metric(py: Python<'_>, value: MetricValue) -> PyResult<Py<PyAny>> {
    Ok(match value {
        MetricValue::Count(n) | MetricValue::Bytes(n) => n.into_pyobject(py)?.into_any().unbind(),
        MetricValue::Seconds(d) => d.as_secs_f64().into_pyobject(py)?.into_any().unbind(),
        MetricValue::Denied(list) => list
            .iter()
            .map(|d| DeniedOperation {
                capability: d.capability.as_str().to_string(),
                operation: d.operation.as_str().to_string(),
                target: d.target.clone(),
            })
            .collect::<Vec<_>>()
            .into_pyobject(py)?
            .into_any()
            .unbind(),
    })
}

#[pymethods]
impl Metrics {
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone_ref(py))
            .ok_or_else(|| {
                PyAttributeError::new_err(format!("'Metrics' object has no attribute '{name}'"))
            })
    }

    fn __dir__(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.fields.iter().map(|(n, _)| *n).collect();
        names.push("to_dict");
        names
    }

    /// The metrics as a dict, in the order of `aegis.METRIC_NAMES`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.fields {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::new();
        for (name, value) in &self.fields {
            let value = value.bind(py);
            if let Ok(seconds) = value.cast::<PyFloat>() {
                parts.push(format!("{name}={:.6}", seconds.value()));
            } else if !value.is_instance_of::<PyList>() {
                parts.push(format!("{name}={}", value.repr()?));
            }
        }
        Ok(format!("Metrics({})", parts.join(", ")))
    }
}

/// The limits a runtime's sandboxes (or one sandbox) run under.
#[pyclass(frozen, get_all, module = "aegis")]
pub struct Limits {
    /// Total linear-memory bytes.
    pub memory: u64,
    /// Fuel per call, or `None` when metering is off.
    pub fuel: Option<u64>,
    /// Seconds per call, or `None` when the wall-clock limit is off.
    pub timeout: Option<f64>,
    /// Maximum wasm stack in bytes.
    pub stack: usize,
    /// Total table elements.
    pub table_elements: u64,
    /// WASI handles (open files, directories, streams) held at once.
    pub handles: usize,
    /// Bytes one call's result may take in host memory (option `result_limit`).
    pub result_bytes: u64,
}

impl Limits {
    pub fn from_core(l: &aegis_core::Limits) -> Self {
        Limits {
            memory: l.memory,
            fuel: l.fuel,
            timeout: l.timeout.map(|t| t.as_secs_f64()),
            stack: l.stack,
            table_elements: l.table_elements,
            handles: l.handles,
            result_bytes: l.result_bytes,
        }
    }
}

#[pymethods]
impl Limits {
    /// `Limits(memory=67108864, fuel=1000000000, timeout=30.0, ...)`: the
    /// attributes as Python writes them (`None` for a limit that is off).
    pub fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let fuel = self.fuel.into_pyobject(py)?.repr()?;
        let timeout = self.timeout.into_pyobject(py)?.repr()?;
        Ok(format!(
            "Limits(memory={}, fuel={fuel}, timeout={timeout}, stack={}, table_elements={}, handles={}, result_bytes={})",
            self.memory, self.stack, self.table_elements, self.handles, self.result_bytes
        ))
    }
}
