//! `aegis.Metrics`: what a call (or a sandbox's whole life) used.

use pyo3::prelude::*;

/// One operation a guest attempted and its capabilities refused.
#[pyclass(frozen, get_all, module = "aegis")]
#[derive(Clone)]
pub struct DeniedOperation {
    /// The capability involved: `"filesystem"`, `"network"`, `"clock"`, `"env"`, `"logging"`.
    pub capability: String,
    /// The operation, e.g. `"path_open"`, `"connect"`.
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
#[pyclass(frozen, get_all, module = "aegis")]
pub struct Metrics {
    /// Calls counted (failed calls count too).
    pub calls: u64,
    /// Seconds spent inside the guest, host functions included.
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
    /// The first refused operations.
    pub denied: Vec<DeniedOperation>,
}

impl Metrics {
    pub fn from_core(m: &aegis_core::Metrics) -> Self {
        Metrics {
            calls: m.calls,
            wall_time: m.wall_time.as_secs_f64(),
            fuel_consumed: m.fuel_consumed,
            memory_current: m.memory_current,
            memory_peak: m.memory_peak,
            host_calls: m.host_calls,
            denied_count: m.denied_count,
            denied: m
                .denied
                .iter()
                .map(|d| DeniedOperation {
                    capability: d.capability.to_string(),
                    operation: d.operation.clone(),
                    target: d.target.clone(),
                })
                .collect(),
        }
    }
}

#[pymethods]
impl Metrics {
    fn __repr__(&self) -> String {
        format!(
            "Metrics(calls={}, wall_time={:.6}, fuel_consumed={}, memory_current={}, memory_peak={}, host_calls={}, denied_count={})",
            self.calls,
            self.wall_time,
            self.fuel_consumed,
            self.memory_current,
            self.memory_peak,
            self.host_calls,
            self.denied_count
        )
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
        }
    }
}

#[pymethods]
impl Limits {
    /// `Limits(memory=..., fuel=..., ...)`.
    pub fn __repr__(&self) -> String {
        format!(
            "Limits(memory={}, fuel={:?}, timeout={:?}, stack={}, table_elements={}, handles={})",
            self.memory, self.fuel, self.timeout, self.stack, self.table_elements, self.handles
        )
    }
}
