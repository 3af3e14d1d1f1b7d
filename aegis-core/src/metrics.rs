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
    /// The capability involved: `filesystem`, `network`, `clock`, `env`, `logging`.
    pub capability: &'static str,
    /// The operation, e.g. `path_open`, `connect`, `clock_time_get`.
    pub operation: String,
    /// What it targeted: a path, an address, a clock id.
    pub target: String,
}

impl Metrics {
    /// Adds one call's figures to these cumulative ones.
    pub(crate) fn accumulate(&mut self, call: &Metrics) {
        self.calls += call.calls;
        self.wall_time += call.wall_time;
        self.fuel_consumed += call.fuel_consumed;
        self.host_calls += call.host_calls;
        self.memory_current = call.memory_current;
        self.memory_peak = self.memory_peak.max(call.memory_peak);
        self.denied_count += call.denied_count;
        let room = MAX_DENIED_RECORDED.saturating_sub(self.denied.len());
        self.denied.extend(call.denied.iter().take(room).cloned());
    }
}
