//! Linkers and pre-linked instances: WASI preview 1 shared by every sandbox,
//! host functions added per sandbox, `InstancePre` reused across instantiations.

use wasmtime::{InstancePre, Linker};

use crate::error::{Error, Result};
use crate::store::StoreState;

/// WASI preview 1 with the filesystem functions audited for refusals.
///
/// The asynchronous form, so that every wait a guest makes the host do is a
/// future the call's deadline can drop (see `crate::call`).
pub(crate) fn base_linker(engine: &wasmtime::Engine) -> Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut StoreState| s.wasi.get())
        .and_then(|()| crate::fs_audit::add_audited_functions(&mut linker))
        .and_then(|()| crate::host_fuel::add_metered_functions(&mut linker))
        .map_err(|e| Error::invalid_argument(format!("cannot link WASI: {e}")))?;
    Ok(linker)
}

/// A pre-linked module remembered with the module it belongs to.
pub(crate) struct CachedPre {
    module: std::sync::Weak<crate::module::ModuleInner>,
    pub pre: InstancePre<StoreState>,
}

impl CachedPre {
    pub fn new(module: &crate::Module, pre: InstancePre<StoreState>) -> Self {
        CachedPre {
            module: std::sync::Arc::downgrade(&module.inner),
            pre,
        }
    }

    /// Whether this was made for `module`.
    pub fn is_for(&self, module: &crate::Module) -> bool {
        std::ptr::eq(self.module.as_ptr(), std::sync::Arc::as_ptr(&module.inner))
    }
}
