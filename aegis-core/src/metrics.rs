//! What a sandbox used: per call and cumulatively.

use std::time::Duration;

/// Resource usage of one call, or summed over a sandbox's life.
///
/// `memory_current` is the linear memory allocated when the figure was taken;
/// `memory_peak` the highest it has been (for the sandbox's current instance
/// in per-call figures, over every instance in cumulative ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Calls counted (1 for a single call's metrics; failed calls count too).
    pub calls: u64,
    /// Wall-clock time spent inside the guest, host functions included.
    pub wall_time: Duration,
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
    /// The first refused operations (at most [`MAX_DENIED_RECORDED`]).
    pub denied: Vec<DeniedOperation>,
}

/// At most this many refused operations are kept in `Metrics::denied`.
pub const MAX_DENIED_RECORDED: usize = 64;

/// One operation a guest attempted and was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedOperation {
    /// The capability involved.
    pub capability: crate::details::Capability,
    /// The operation, e.g. `path_open`, `tcp_connect`, `clock_time_get`.
    pub operation: crate::details::Operation,
    /// What it targeted: a path, an address, a clock id.
    pub target: String,
}

/// The value of one metric, in the unit its kind has everywhere.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// A count (calls, fuel units, refusals).
    Count(u64),
    /// Bytes.
    Bytes(u64),
    /// A duration: seconds (as a float) in every front-end but Rust.
    Seconds(Duration),
    /// Refused operations.
    Denied(Vec<DeniedOperation>),
}

/// The metric names, in the order [`Metrics::fields`] gives them: the one
/// shape every front-end reports (Node uses their camelCase form).
pub const METRIC_NAMES: &[&str] = &[
    "calls",
    "wall_time",
    "fuel_consumed",
    "memory_current",
    "memory_peak",
    "host_calls",
    "denied_count",
    "denied",
];

impl DeniedOperation {
    /// `{"capability", "operation", "target"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "capability": self.capability.as_str(),
            "operation": self.operation.as_str(),
            "target": self.target,
        })
    }
}

impl Metrics {
    /// Every metric as (name, value), named as in [`METRIC_NAMES`]. The unit
    /// rule: durations are seconds, memory is bytes, fuel is units.
    pub fn fields(&self) -> Vec<(&'static str, MetricValue)> {
        use MetricValue::*;
        vec![
            ("calls", Count(self.calls)),
            ("wall_time", Seconds(self.wall_time)),
            ("fuel_consumed", Count(self.fuel_consumed)),
            ("memory_current", Bytes(self.memory_current)),
            ("memory_peak", Bytes(self.memory_peak)),
            ("host_calls", Count(self.host_calls)),
            ("denied_count", Count(self.denied_count)),
            ("denied", Denied(self.denied.clone())),
        ]
    }

    /// The metrics as a JSON object (durations in seconds).
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .fields()
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    MetricValue::Count(n) | MetricValue::Bytes(n) => n.into(),
                    MetricValue::Seconds(d) => d.as_secs_f64().into(),
                    MetricValue::Denied(list) => {
                        list.iter().map(DeniedOperation::to_json).collect()
                    }
                };
                (name.to_string(), value)
            })
            .collect();
        serde_json::Value::Object(map)
    }

    /// Adds one call's figures to these cumulative ones.
    pub(crate) fn accumulate(&mut self, call: &Metrics) {
        self.calls += call.calls;
        self.wall_time += call.wall_time;
        self.fuel_consumed += call.fuel_consumed;
        self.host_calls += call.host_calls;
        self.memory_current = call.memory_current;
        self.memory_peak = self.memory_peak.max(call.memory_peak);
        self.denied_count += call.denied_count;
        if !call.denied.is_empty() {
            let room = MAX_DENIED_RECORDED.saturating_sub(self.denied.len());
            self.denied.extend(call.denied.iter().take(room).cloned());
        }
    }
}
