//! Resource limits and the wasmtime `ResourceLimiter` that enforces memory and table caps.

use std::time::Duration;

/// Default memory limit: 64 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;
/// Default fuel limit per call: one billion units.
pub const DEFAULT_FUEL_LIMIT: u64 = 1_000_000_000;
/// Default wall-clock limit per call: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default maximum wasm stack: 512 KiB.
pub const DEFAULT_STACK_LIMIT: usize = 512 * 1024;
/// Default maximum number of elements across all tables of a sandbox.
pub const DEFAULT_TABLE_ELEMENTS_LIMIT: u64 = 1_000_000;
/// Default maximum number of instances, memories and tables each in one sandbox.
pub const DEFAULT_INSTANCE_LIMIT: usize = 100;
/// Default maximum number of WASI handles (open files, directories, streams,
/// sockets) a sandbox may hold at once.
pub const DEFAULT_HANDLE_LIMIT: usize = 1024;

/// The limits a sandbox runs under.
///
/// `fuel` and `timeout` apply to each call separately (and to instantiation,
/// which runs the start function); `memory` and `table_elements` apply to the
/// sandbox's instance for its whole life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total linear-memory bytes across all memories.
    pub memory: u64,
    /// Fuel per call; `None` disables fuel metering.
    pub fuel: Option<u64>,
    /// Wall-clock limit per call; `None` disables it.
    pub timeout: Option<Duration>,
    /// Maximum wasm stack in bytes.
    pub stack: usize,
    /// Total table elements across all tables.
    pub table_elements: u64,
    /// Maximum instances (also used for memories and tables counts).
    pub instances: usize,
    /// Maximum WASI handles held at once (each open file is a host descriptor).
    pub handles: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: DEFAULT_MEMORY_LIMIT,
            fuel: Some(DEFAULT_FUEL_LIMIT),
            timeout: Some(DEFAULT_TIMEOUT),
            stack: DEFAULT_STACK_LIMIT,
            table_elements: DEFAULT_TABLE_ELEMENTS_LIMIT,
            instances: DEFAULT_INSTANCE_LIMIT,
            handles: DEFAULT_HANDLE_LIMIT,
        }
    }
}

/// Raised (as a trap) by the limiter when the guest asks for more than allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LimitHit {
    pub resource: &'static str,
    pub requested: u64,
    pub limit: u64,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} limit exceeded: requested {}, limit {}",
            self.resource, self.requested, self.limit
        )
    }
}

impl std::error::Error for LimitHit {}

/// Tracks and caps a store's memories and tables.
///
/// Growth past a limit traps the guest with a `LimitHit` (rather than making
/// `memory.grow` return -1), so the embedder gets a precise
/// `MemoryLimitExceeded` error instead of whatever the guest does next.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_limit: u64,
    table_limit: u64,
    instance_limit: usize,
    memory_bytes: u64,
    memory_peak: u64,
    table_elements: u64,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            memory_limit: limits.memory,
            table_limit: limits.table_elements,
            instance_limit: limits.instances,
            memory_bytes: 0,
            memory_peak: 0,
            table_elements: 0,
        }
    }

    /// Bytes of linear memory currently allocated.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// Highest `memory_bytes` seen.
    pub fn memory_peak(&self) -> u64 {
        self.memory_peak
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let others = self.memory_bytes.saturating_sub(current as u64);
        let total = others.saturating_add(desired as u64);
        if total > self.memory_limit {
            return Err(wasmtime::Error::new(LimitHit {
                resource: "memory",
                requested: total,
                limit: self.memory_limit,
            }));
        }
        self.memory_bytes = total;
        self.memory_peak = self.memory_peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let others = self.table_elements.saturating_sub(current as u64);
        let total = others.saturating_add(desired as u64);
        if total > self.table_limit {
            return Err(wasmtime::Error::new(LimitHit {
                resource: "table",
                requested: total,
                limit: self.table_limit,
            }));
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instance_limit
    }

    fn tables(&self) -> usize {
        self.instance_limit
    }

    fn memories(&self) -> usize {
        self.instance_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn tracks_peak_and_refuses_past_limit() {
        let mut l = Limiter::new(&Limits {
            memory: 3 * 65536,
            ..Limits::default()
        });
        assert!(l.memory_growing(0, 65536, None).unwrap());
        assert!(l.memory_growing(65536, 3 * 65536, None).unwrap());
        assert_eq!(l.memory_peak(), 3 * 65536);
        let err = l.memory_growing(3 * 65536, 4 * 65536, None).unwrap_err();
        let hit = err.downcast_ref::<LimitHit>().unwrap();
        assert_eq!(hit.requested, 4 * 65536);
        assert_eq!(hit.limit, 3 * 65536);
        assert_eq!(l.memory_bytes(), 3 * 65536);
    }

    #[test]
    fn caps_table_elements() {
        let mut l = Limiter::new(&Limits {
            table_elements: 10,
            ..Limits::default()
        });
        assert!(l.table_growing(0, 10, None).unwrap());
        assert!(l.table_growing(10, 11, None).is_err());
    }
}
