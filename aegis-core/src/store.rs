//! The per-instance state wasmtime's `Store` carries.

use wasmtime_wasi::p1::WasiP1Ctx;

use crate::limits::Limiter;

/// Data owned by a sandbox's store: limits bookkeeping, WASI state, counters.
pub struct StoreState {
    pub(crate) limiter: Limiter,
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) host_calls: u64,
}
