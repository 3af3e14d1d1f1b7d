//! Sandbox metrics as a plain JS object.

use napi_derive::napi;

/// Resource usage of one call, or summed over a sandbox's life.
#[napi(object)]
pub struct Metrics {
    /// Calls counted (failed calls count too).
    pub calls: f64,
    /// Wall-clock time inside the guest, host functions included, in milliseconds.
    pub wall_time_ms: f64,
    /// Fuel consumed (0 when fuel metering is off).
    pub fuel_consumed: f64,
    /// Linear memory allocated now, in bytes.
    pub memory_current: f64,
    /// Highest linear memory allocated, in bytes.
    pub memory_peak: f64,
    /// Calls the guest made into host functions.
    pub host_calls: f64,
    /// Operations the guest attempted that its capabilities refused.
    pub denied_count: f64,
    /// The first refused operations.
    pub denied: Vec<DeniedOperation>,
}

/// One refused operation.
#[napi(object)]
pub struct DeniedOperation {
    /// `filesystem`, `network`, `clock`, `env` or `logging`.
    pub capability: String,
    /// The operation, e.g. `path_open`.
    pub operation: String,
    /// What it targeted: a path, an address, a clock id.
    pub target: String,
}

impl From<&aegis_core::Metrics> for Metrics {
    fn from(m: &aegis_core::Metrics) -> Self {
        Metrics {
            calls: m.calls as f64,
            wall_time_ms: m.wall_time.as_secs_f64() * 1000.0,
            fuel_consumed: m.fuel_consumed as f64,
            memory_current: m.memory_current as f64,
            memory_peak: m.memory_peak as f64,
            host_calls: m.host_calls as f64,
            denied_count: m.denied_count as f64,
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
