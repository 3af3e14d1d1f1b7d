//! Resource limits and the wasmtime `ResourceLimiter` that enforces memory and table caps.

use crate::details::Resource;
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
/// Default maximum number of instances, and of tables, in one sandbox.
pub const DEFAULT_INSTANCE_LIMIT: usize = 100;
/// Default maximum number of linear memories in one sandbox (see
/// [`Limits::memories`]).
pub const DEFAULT_MEMORY_COUNT_LIMIT: usize = 4;
/// Guard region placed before and after each linear memory that has a
/// reservation of its own sized from the memory limit (instance pools; see
/// [`memory_reservation`]), and after each GC heap.
pub const MEMORY_GUARD_SIZE: u64 = 2 * 1024 * 1024;
/// Wasm page size: reservations are whole pages.
const WASM_PAGE: u64 = 65536;
/// Largest 32-bit linear memory, and the reservation wasmtime uses by default.
const FOUR_GIB: u64 = 1 << 32;
/// Default maximum number of WASI handles (open files, directories, streams,
/// sockets) a sandbox may hold at once.
pub const DEFAULT_HANDLE_LIMIT: usize = 1024;
/// Default largest result of one call: 64 MiB, the default memory limit.
pub const DEFAULT_RESULT_LIMIT: u64 = 64 * 1024 * 1024;

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
    /// Maximum instances (also the maximum number of tables).
    pub instances: usize,
    /// Maximum linear memories in one sandbox (a component's core instances
    /// count together). Each memory reserves address space for the whole
    /// memory limit (plus guard regions in an instance pool) even while it
    /// holds no pages (see [`memory_reservation`]), so this count, not only `memory`, bounds
    /// what a sandbox takes from the process's address space. Exceeding it
    /// fails with `memory_limit_exceeded`, resource `memories`. Default 4.
    pub memories: usize,
    /// Maximum WASI handles held at once (each open file is a host descriptor).
    pub handles: usize,
    /// Host memory one result may take, in bytes, checked before the host
    /// allocates it: the output of `call_bytes`/`call_str`; the values a
    /// component export returns, or passes to the host in any one host call
    /// (WASI's included), as wasmtime converts them (a string its length,
    /// each list element, record field or tuple item [`crate::VALUE_SIZE`]
    /// bytes). Larger is `result_too_large`.
    pub result_bytes: u64,
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
            memories: DEFAULT_MEMORY_COUNT_LIMIT,
            handles: DEFAULT_HANDLE_LIMIT,
            result_bytes: DEFAULT_RESULT_LIMIT,
        }
    }
}

/// Address space reserved for each linear memory of a runtime whose memory
/// limit is `memory_limit`: the limit rounded up to whole wasm pages, at
/// most 4 GiB.
///
/// Reservations are virtual address space, not memory, but the process has
/// only 128 TiB of it (47-bit user space on x86-64) and every sandbox's
/// memories share it: with wasmtime's default of 4 GiB plus 32 MiB guards
/// per memory, about 31 000 memories exhaust a process whatever the memory
/// limit. Aegis therefore reserves what the limit allows, and counts
/// memories per sandbox ([`Limits::memories`]).
///
/// How the reservation is laid out depends on the runtime:
///
/// - **Default** (below 4 GiB, no instance pool, Linux): memories are slots
///   of this size in large shared mappings (arenas of up to 64 GiB), with no
///   guard regions, so that a sandbox costs no kernel mapping of its own
///   (Linux allows 65 530 per process by default; a mapping per memory
///   capped a process at about 32 700 sandboxes). Compiled code checks every
///   access against the memory's current size, a released slot is zeroed
///   before it is reused (its resident pages in place, up to 32 MiB per
///   runtime, the others dropped with `madvise(MADV_DONTNEED)`), and a
///   module's data is copied in at instantiation (no copy-on-write image). Where the system
///   refuses overcommitted mappings (`vm.overcommit_memory = 2`), or on
///   other systems, memories are laid out as with an instance pool.
/// - **Instance pool**, or the fallback above: each memory has its own
///   reservation of this size with [`MEMORY_GUARD_SIZE`] before and after,
///   and a copy-on-write image of the module's data.
/// - **4 GiB limit**: wasmtime's defaults (4 GiB reservation, 32 MiB guards,
///   no explicit bounds checks for 32-bit memories).
///
/// Cost: below 4 GiB the 32-bit index space no longer falls entirely into
/// reserved space, so compiled code checks bounds explicitly: per access, a
/// compare of the index (plus the access's offset and size) with the
/// memory's current size, loaded from the instance, and a conditional move
/// (Spectre mitigation). With guard regions, accesses through the same
/// index share one check whatever their offsets; without them (arenas)
/// each distinct offset has its own. `BENCHMARKS.md` gives the measured cost.
///
/// A memory larger than the reservation (its initial size, or a sandbox that
/// raised its own memory limit above the runtime's) gets a mapping of its
/// own and is moved when it grows beyond it, which is done by copying.
pub fn memory_reservation(memory_limit: u64) -> u64 {
    memory_limit
        .div_ceil(WASM_PAGE)
        .saturating_mul(WASM_PAGE)
        .clamp(WASM_PAGE, FOUR_GIB)
}

/// Fuel charged for each `throw` and `throw_ref` when exceptions are on
/// (the largest cost wasmtime can charge for one instruction). A throw caught
/// in the same function takes about 1 µs of host time (it allocates an
/// exception object and unwinds through the host), two to three orders of
/// magnitude more than an ordinary instruction.
pub const THROW_FUEL_COST: u8 = u8::MAX;

/// Configures the engine's wasm features and memory reservations from the
/// limits (`pooled`: instances come from a pool); returns the features, for
/// validating without the engine.
///
/// The features are set explicitly, all of them: wasmtime's defaults for
/// this build (the WebAssembly 3.0 set, reference types, the component
/// model; threads are not compiled in) except exceptions and GC, which are
/// on only when asked for.
pub(crate) fn configure_engine(
    config: &mut wasmtime::Config,
    limits: &Limits,
    exceptions: bool,
    gc: bool,
    pooled: bool,
) -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    let mut features = F::WASM3 | F::GC_TYPES | F::COMPONENT_MODEL;
    features.remove(F::THREADS);
    features.set(F::EXCEPTIONS, exceptions);
    features.set(F::GC, gc);
    config.wasm_features(F::all(), false);
    config.wasm_features(features, true);
    if exceptions && limits.fuel.is_some() {
        let mut cost = wasmtime::OperatorCost::new();
        cost.Throw = THROW_FUEL_COST;
        cost.ThrowRef = THROW_FUEL_COST;
        config.operator_cost(cost);
    }
    configure_reservations(config, limits, pooled);
    features
}

/// Sizes wasmtime's linear-memory (and GC heap) reservations from the
/// runtime's memory limit, in arenas unless `pooled`; see
/// [`memory_reservation`].
fn configure_reservations(config: &mut wasmtime::Config, limits: &Limits, pooled: bool) {
    let reservation = memory_reservation(limits.memory);
    if reservation >= FOUR_GIB {
        return;
    }
    config
        .gc_heap_reservation(reservation)
        .gc_heap_guard_size(MEMORY_GUARD_SIZE)
        .gc_heap_reservation_for_growth(reservation);
    if !pooled && crate::arena::configure(config, reservation) {
        return;
    }
    config
        .memory_reservation(reservation)
        .memory_guard_size(MEMORY_GUARD_SIZE)
        .memory_reservation_for_growth(reservation);
}

/// Maps wasmtime's resource errors that are not a [`LimitHit`] (instance,
/// memory and table counts; a failed reservation of address space; a full
/// GC heap) to `memory_limit_exceeded`.
pub(crate) fn resource_error(err: &wasmtime::Error, limits: &Limits) -> Option<crate::Error> {
    let exceeded = |resource, requested, limit| {
        Some(crate::Error::MemoryLimitExceeded {
            resource,
            requested,
            limit,
        })
    };
    if let Some(oom) = err.downcast_ref::<wasmtime::GcHeapOutOfMemory<()>>() {
        // "GC heap out of memory: no capacity for allocation of N bytes"
        let text = oom.to_string();
        let needed = text
            .rsplit(' ')
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        return exceeded(Resource::GcHeap, needed, limits.memory);
    }
    for cause in err.chain() {
        let text = cause.to_string();
        // wasmtime: "resource limit exceeded: memory count too high at 5"
        if let Some(rest) = text.strip_prefix("resource limit exceeded: ") {
            let (what, at) = rest.split_once(" count too high at ")?;
            let at = at.trim().parse().unwrap_or(0);
            return match what {
                "memory" => exceeded(Resource::Memories, at, limits.memories as u64),
                "table" => exceeded(Resource::Tables, at, limits.instances as u64),
                _ => exceeded(Resource::Instances, at, limits.instances as u64),
            };
        }
        // wasmtime: "mmap failed to reserve 0x104000000 bytes"
        if let Some(rest) = text.strip_prefix("mmap failed to ") {
            let bytes = rest
                .split(' ')
                .nth(1)
                .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            return exceeded(Resource::AddressSpace, bytes, limits.memory);
        }
    }
    None
}

/// With an instance pool, wasmtime refuses at compile time a module whose
/// memories could never fit a slot. Without a pool the same module fails when
/// it is instantiated, with `memory_limit_exceeded`: this check gives the
/// pooled runtime that same error, naming the resource, before compiling.
pub(crate) fn check_fits_pool(binary: &[u8], limits: &Limits) -> crate::error::Result<()> {
    let mut defined = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(binary) {
        let Ok(wasmparser::Payload::MemorySection(memories)) = payload else {
            continue;
        };
        for memory in memories.into_iter().flatten() {
            defined += 1;
            let page = 1u64 << memory.page_size_log2.unwrap_or(16);
            let bytes = memory.initial.saturating_mul(page);
            if bytes > limits.memory {
                return Err(crate::error::Error::MemoryLimitExceeded {
                    resource: Resource::Memory,
                    requested: bytes,
                    limit: limits.memory,
                });
            }
        }
    }
    let most = limits.memories as u64;
    if defined > most {
        return Err(crate::error::Error::MemoryLimitExceeded {
            resource: Resource::Memories,
            requested: defined,
            limit: most,
        });
    }
    Ok(())
}

/// Raised (as a trap) by the limiter when the guest asks for more than allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LimitHit {
    pub resource: crate::details::Resource,
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
    memory_count_limit: usize,
    memory_bytes: u64,
    memory_peak: u64,
    table_elements: u64,
    /// The last growth approved (total before, total after), undone if
    /// wasmtime then fails to carry it out.
    last_growth: Option<(u64, u64)>,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        Limiter {
            memory_limit: limits.memory,
            table_limit: limits.table_elements,
            instance_limit: limits.instances,
            memory_count_limit: limits.memories,
            memory_bytes: 0,
            memory_peak: 0,
            table_elements: 0,
            last_growth: None,
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
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            // Past the memory's own declared maximum: `memory.grow` fails
            // with -1, as the spec says; nothing is allocated.
            return Ok(false);
        }
        let others = self.memory_bytes.saturating_sub(current as u64);
        let total = others.saturating_add(desired as u64);
        if total > self.memory_limit {
            return Err(wasmtime::Error::new(LimitHit {
                resource: Resource::Memory,
                requested: total,
                limit: self.memory_limit,
            }));
        }
        self.last_growth = Some((self.memory_bytes, total));
        self.memory_bytes = total;
        self.memory_peak = self.memory_peak.max(total);
        Ok(true)
    }

    /// Wasmtime could not carry out a growth the limiter approved: the host
    /// could not map the memory (address space or memory exhausted). Undo
    /// the accounting and stop the guest with `memory_limit_exceeded`
    /// (resource `address_space`) rather than let it see -1 and carry on.
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        let Some((before, after)) = self.last_growth.take() else {
            // Refused by the memory's type before reaching the limiter
            // (custom page sizes): an ordinary failed `memory.grow`.
            return Ok(());
        };
        self.memory_bytes = before;
        Err(wasmtime::Error::new(LimitHit {
            resource: Resource::AddressSpace,
            requested: after,
            limit: self.memory_limit,
        }))
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
                resource: Resource::Table,
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
        self.memory_count_limit
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
