//! The per-instance state wasmtime's `Store` carries.

use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::denied::DeniedLog;
use crate::limits::Limiter;

/// Data owned by a sandbox's store: limits bookkeeping, WASI state, counters.
///
/// One WASI context serves both kinds of guest: core modules reach it through
/// the preview-1 functions, components through the WASI 0.2 interfaces.
pub struct StoreState {
    pub(crate) limiter: Limiter,
    pub(crate) wasi: crate::wasi::LazyWasi,
    pub(crate) host_calls: u64,
    pub(crate) denied: DeniedLog,
    /// The filesystem guard's state: the clock grant, descriptor paths.
    pub(crate) fs: crate::fs_guard::FsState,
    /// The running call's deadline and interrupt signal.
    pub(crate) control: crate::call::CallControl,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi.get().ctx()
    }
}
