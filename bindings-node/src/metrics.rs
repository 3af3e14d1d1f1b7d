//! Sandbox metrics as a plain JS object, from the core's `Metrics::fields()`:
//! camelCase names of `METRIC_NAMES`, durations in seconds.

use aegis_core::MetricValue;
use aegis_core::policy::camel_case;
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, sys};
use napi_derive::napi;

/// Resource usage of one call, or summed over a sandbox's life: the core's
/// metrics (`METRIC_NAMES`, camelCase). Durations are seconds, memory is
/// bytes, fuel is units.
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct Metrics {
    /// Calls counted (failed calls count too).
    pub calls: f64,
    /// Wall-clock time inside the guest, host functions included, in SECONDS.
    pub wall_time: f64,
    /// Fuel consumed (0 when fuel metering is off).
    pub fuel_consumed: f64,
    /// Linear memory allocated now, in bytes.
    pub memory_current: f64,
    /// Highest linear memory allocated, in bytes.
    pub memory_peak: f64,
    /// Calls the guest made into host functions (WASI calls excluded).
    pub host_calls: f64,
    /// Operations the guest attempted that its capabilities refused.
    pub denied_count: f64,
    /// The first refused operations (at most 64).
    pub denied: Vec<DeniedOperation>,
}

/// One refused operation.
#[napi(object, object_from_js = false)]
pub struct DeniedOperation {
    /// The capability involved: `filesystem`, `network`, `clock`, `logging` or `module`.
    pub capability: String,
    /// The operation, e.g. `path_open`, `tcp_connect`, `clock_time_get`.
    pub operation: String,
    /// What it targeted: a path, an address, a clock id.
    pub target: String,
}

/// The core's metrics, converted to JS on the JS thread.
pub struct MetricsValue(pub aegis_core::Metrics);

impl ToNapiValue for MetricsValue {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(env);
        let mut obj = Object::new(&env)?;
        for (name, value) in val.0.fields() {
            let name = camel_case(name);
            match value {
                MetricValue::Count(n) | MetricValue::Bytes(n) => obj.set(name, n as f64)?,
                MetricValue::Seconds(d) => obj.set(name, d.as_secs_f64())?,
                MetricValue::Denied(list) => obj.set(
                    name,
                    list.iter()
                        .map(|d| DeniedOperation {
                            capability: d.capability.as_str().to_string(),
                            operation: d.operation.as_str().to_string(),
                            target: d.target.clone(),
                        })
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        // SAFETY: `obj` is a live object of `env`.
        unsafe { Object::to_napi_value(env.raw(), obj) }
    }
}
