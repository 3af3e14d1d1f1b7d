//! Exports looked up once per instance: by name for `call`, and as
//! pre-resolved typed handles ([`TypedExport`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Func;

use crate::error::Result;
use crate::sandbox::Sandbox;
use crate::typed::{CallParams, CallResults};
use crate::value::FuncType;

/// A new number for every instance in the process: handles resolved against
/// one instance are refused by any other (a reset, another sandbox).
pub(crate) fn next_instance_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// FNV-1a: export names are short and chosen by the host, so a fast hash
/// with no per-map key is enough (the map holds only names the host called).
#[derive(Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// One export of the live instance, with what calls learned about it.
pub(crate) struct CachedExport {
    pub func: Func,
    /// Its numeric signature, once a dynamic call needed it (`None` inside:
    /// it has v128 or reference types).
    pub signature: Option<Option<Arc<FuncType>>>,
    /// The last typed view `call` made of it, by the `(P, R)` it was for.
    typed: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
}

impl CachedExport {
    pub fn new(func: Func) -> Self {
        CachedExport {
            func,
            signature: None,
            typed: None,
        }
    }

    /// The typed view for `(P, R)`, if one was cached.
    pub fn typed<P: 'static, R: 'static>(&self) -> Option<&wasmtime::TypedFunc<P, R>> {
        match &self.typed {
            Some((id, typed)) if *id == TypeId::of::<(P, R)>() => typed.downcast_ref(),
            _ => None,
        }
    }

    /// Remembers the typed view for `(P, R)`.
    pub fn set_typed<P: 'static, R: 'static>(&mut self, typed: wasmtime::TypedFunc<P, R>) {
        self.typed = Some((TypeId::of::<(P, R)>(), Box::new(typed)));
    }
}

/// The exports of the live instance looked up so far, by name.
pub(crate) type ExportCache = HashMap<Box<str>, CachedExport, BuildHasherDefault<NameHasher>>;

/// An export resolved once, its signature checked against `P -> R`: the
/// cheapest way to call the same export many times.
///
/// Get one with [`Sandbox::typed_func`]; call it with
/// [`TypedExport::call`]. It belongs to the instance it was resolved
/// against: after `reset` or `load_module` (or on another sandbox) calling it
/// fails with `invalid_argument`, so resolve it again.
///
/// ```
/// # fn main() -> aegis_core::Result<()> {
/// let runtime = aegis_core::Aegis::builder().build()?;
/// let module = runtime.load_wat(
///     r#"(module (func (export "add") (param i32 i32) (result i32)
///           (i32.add (local.get 0) (local.get 1))))"#,
/// )?;
/// let mut sandbox = runtime.sandbox().build()?;
/// sandbox.load_module(&module)?;
/// let add = sandbox.typed_func::<(i32, i32), i32>("add")?;
/// assert_eq!(add.call(&mut sandbox, (2, 3))?, 5);
/// # Ok(())
/// # }
/// ```
pub struct TypedExport<P, R> {
    pub(crate) func: wasmtime::TypedFunc<P, R>,
    pub(crate) instance: u64,
    _types: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedExport<P, R> {
    fn clone(&self) -> Self {
        TypedExport {
            func: self.func.clone(),
            instance: self.instance,
            _types: PhantomData,
        }
    }
}

impl<P, R> std::fmt::Debug for TypedExport<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedExport")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl<P: CallParams + 'static, R: CallResults + 'static> TypedExport<P, R> {
    pub(crate) fn new(func: wasmtime::TypedFunc<P, R>, instance: u64) -> Self {
        TypedExport {
            func,
            instance,
            _types: PhantomData,
        }
    }

    /// Calls the export in `sandbox` under its limits, exactly like
    /// [`Sandbox::call`] but without looking it up again.
    pub fn call(&self, sandbox: &mut Sandbox, args: P) -> Result<R> {
        sandbox.call_export(self, args)
    }
}
