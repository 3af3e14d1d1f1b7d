//! Host functions: typed closures, dynamic closures, and guest-memory access.
//!
//! Every host function runs inside `catch_unwind`: a panic, like a returned
//! [`HostError`], traps the guest and reaches the caller as
//! `Error::HostFunction`. Nothing unwinds through wasm frames.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use std::mem::MaybeUninit;

use wasmtime::{Caller, Linker, ValRaw};

use crate::error::format_types;
use crate::raw_call::{INLINE, scratch};
use crate::store::StoreState;
use crate::value::{FuncType, ValType, Value};

/// An error returned by a host function; it traps the guest.
///
/// `payload` lets a binding carry its language's original exception through
/// the guest and back to the caller (Python's `__cause__`, JS's `cause`).
pub struct HostError {
    message: String,
    payload: Option<Box<dyn Any + Send + Sync>>,
}

impl HostError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        HostError {
            message: message.into(),
            payload: None,
        }
    }

    /// An error carrying an arbitrary value back to the caller of the sandbox.
    pub fn with_payload(message: impl Into<String>, payload: Box<dyn Any + Send + Sync>) -> Self {
        HostError {
            message: message.into(),
            payload: Some(payload),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for HostError {
    fn from(e: E) -> Self {
        HostError::new(e.to_string())
    }
}

impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostError")
            .field("message", &self.message)
            .field("payload", &self.payload.is_some())
            .finish()
    }
}

/// The value a binding attached to a [`HostError`], handed back in `Error::HostFunction`.
pub struct HostPayload(pub Box<dyn Any + Send + Sync>);

impl fmt::Debug for HostPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostPayload(..)")
    }
}

/// The trap a failed host function raises inside wasmtime.
#[derive(Debug)]
pub(crate) struct HostTrap {
    pub message: String,
    pub payload: std::sync::Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostTrap {}

impl From<HostError> for wasmtime::Error {
    fn from(e: HostError) -> Self {
        wasmtime::Error::new(HostTrap {
            message: e.message,
            payload: std::sync::Mutex::new(e.payload),
        })
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("host function panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("host function panicked: {s}")
    } else {
        "host function panicked".to_string()
    }
}

/// Runs a host closure, turning a panic or a `HostError` into a trap.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, HostError>) -> wasmtime::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(panic) => Err(HostError::new(panic_message(&*panic)).into()),
    }
}

/// A host function's outcome, unless the call must stop: a host function that
/// overran the deadline (or returned after an interrupt) ends the call with
/// `timeout` (or `interrupted`) whatever it returned.
fn finish<T>(out: wasmtime::Result<T>, caller: &Caller<'_, StoreState>) -> wasmtime::Result<T> {
    finish_in(out, caller.data())
}

/// [`finish`] for a host function that sees the store's state directly.
pub(crate) fn finish_in<T>(out: wasmtime::Result<T>, state: &StoreState) -> wasmtime::Result<T> {
    match state.control.check_coarse() {
        Some(stop) => Err(wasmtime::Error::new(stop)),
        None => out,
    }
}

/// Access to the calling guest from inside a host function.
pub struct HostCaller<'a> {
    caller: Caller<'a, StoreState>,
}

impl HostCaller<'_> {
    /// Whether the call this host function serves must stop: its deadline
    /// has passed or its sandbox was interrupted. A long-running host
    /// function should check this and return early; whatever it returns
    /// then, the call ends with `timeout` or `interrupted`.
    pub fn is_cancelled(&self) -> bool {
        self.caller.data().control.check().is_some()
    }

    /// Time left before the call's deadline (`None` without a timeout).
    pub fn time_remaining(&self) -> Option<std::time::Duration> {
        self.caller.data().control.time_remaining()
    }

    fn memory(&mut self, name: &str) -> Result<wasmtime::Memory, HostError> {
        match self.caller.get_export(name) {
            Some(wasmtime::Extern::Memory(m)) => Ok(m),
            _ => Err(HostError::new(format!(
                "guest exports no memory named `{name}`"
            ))),
        }
    }

    /// Size in bytes of the guest's exported `memory`.
    pub fn memory_size(&mut self) -> Result<usize, HostError> {
        let mem = self.memory("memory")?;
        Ok(mem.data_size(&self.caller))
    }

    /// Copies `len` bytes at `offset` out of the guest's exported `memory`.
    ///
    /// The range is checked against the memory before anything is
    /// allocated, so a guest-chosen length cannot size a host allocation.
    pub fn read_memory(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, HostError> {
        let mem = self.memory("memory")?;
        crate::memory::read(mem, &self.caller, offset, len as u64).map_err(host_error)
    }

    /// Fills `buf` from the guest's exported `memory` at `offset`.
    pub fn read_memory_into(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), HostError> {
        let mem = self.memory("memory")?;
        crate::memory::read_into(mem, &self.caller, offset, buf).map_err(host_error)
    }

    /// Reads `len` bytes at `offset` as UTF-8 text.
    pub fn read_string(&mut self, offset: u64, len: usize) -> Result<String, HostError> {
        let bytes = self.read_memory(offset, len)?;
        String::from_utf8(bytes).map_err(|_| HostError::new("guest string is not valid UTF-8"))
    }

    /// Writes `data` into the guest's exported `memory` at `offset`.
    pub fn write_memory(&mut self, offset: u64, data: &[u8]) -> Result<(), HostError> {
        let mem = self.memory("memory")?;
        crate::memory::write(mem, &mut self.caller, offset, data).map_err(host_error)
    }
}

/// A guest-memory error as a host function's error (it fails the call as `host_function`).
fn host_error(err: crate::Error) -> HostError {
    HostError::new(format!("guest {}", err.message()))
}

/// A host function with a run-time signature that writes its results into
/// a slice, prefilled with zeros of the declared result types (see
/// [`Sandbox::register_dynamic_into`](crate::Sandbox::register_dynamic_into)).
pub type DynamicIntoHostFn =
    dyn Fn(&mut HostCaller<'_>, &[Value], &mut [Value]) -> Result<(), HostError> + Send + Sync;

/// Defines a dynamic host function in `linker`.
pub(crate) fn define_dynamic(
    linker: &mut Linker<StoreState>,
    module: &str,
    name: &str,
    sig: FuncType,
    f: std::sync::Arc<DynamicIntoHostFn>,
) -> wasmtime::Result<()> {
    let ty = sig.to_wasmtime(linker.engine());
    let host = move |caller: Caller<'_, StoreState>, slots: &mut [MaybeUninit<ValRaw>]| {
        let mut hc = HostCaller { caller };
        hc.caller.data_mut().host_calls += 1;
        let (mut inline, mut heap) = ([Value::I32(0); INLINE], Vec::new());
        let args = scratch(&mut inline, &mut heap, sig.params.len());
        for ((arg, ty), slot) in args.iter_mut().zip(&sig.params).zip(slots.iter()) {
            // SAFETY: wasmtime wrote one parameter of type `ty` to each slot.
            let raw = unsafe { slot.assume_init() };
            *arg = crate::raw_call::from_raw(raw, *ty);
        }
        let (mut inline_out, mut heap_out) = ([Value::I32(0); INLINE], Vec::new());
        let out = scratch(&mut inline_out, &mut heap_out, sig.results.len());
        for (slot, ty) in out.iter_mut().zip(&sig.results) {
            *slot = Value::default_for(*ty);
        }
        finish(guarded(|| f(&mut hc, args, out)), &hc.caller)?;
        if out.iter().zip(&sig.results).any(|(v, t)| v.ty() != *t) {
            let given: Vec<ValType> = out.iter().map(Value::ty).collect();
            return Err(HostError::new(format!(
                "host function returned {}, expected {}",
                format_types(&given),
                format_types(&sig.results)
            ))
            .into());
        }
        for (slot, v) in slots.iter_mut().zip(out.iter()) {
            slot.write(crate::raw_call::to_raw(*v));
        }
        Ok(())
    };
    // SAFETY: `host` reads exactly the parameters of `ty` from the slots and
    // writes exactly its results, of the declared (numeric) types; wasmtime
    // sized the slots for the larger of the two.
    unsafe { linker.func_new_unchecked(module, name, ty, host) }?;
    Ok(())
}

/// A Rust type usable as a host-function parameter or result.
pub trait HostType: wasmtime::WasmTy + Copy + Send + Sync + 'static {
    /// Its wasm type.
    const TYPE: ValType;
}

impl HostType for i32 {
    const TYPE: ValType = ValType::I32;
}
impl HostType for i64 {
    const TYPE: ValType = ValType::I64;
}
impl HostType for f32 {
    const TYPE: ValType = ValType::F32;
}
impl HostType for f64 {
    const TYPE: ValType = ValType::F64;
}

/// What a typed host function may return: nothing, a value, a tuple of
/// values, or a `Result` of those with a [`HostError`].
pub trait HostResults: Send + 'static {
    /// The value handed to wasmtime.
    #[doc(hidden)]
    type Native: wasmtime::WasmRet;
    /// Converts, surfacing a host error.
    #[doc(hidden)]
    fn into_native(self) -> Result<Self::Native, HostError>;
    /// Result types.
    fn types() -> Vec<ValType>;
}

impl<T: HostResults> HostResults for Result<T, HostError> {
    type Native = T::Native;
    fn into_native(self) -> Result<Self::Native, HostError> {
        self.and_then(T::into_native)
    }
    fn types() -> Vec<ValType> {
        T::types()
    }
}

macro_rules! host_results_single {
    ($($t:ty),*) => {$(
        impl HostResults for $t {
            type Native = $t;
            fn into_native(self) -> Result<Self::Native, HostError> {
                Ok(self)
            }
            fn types() -> Vec<ValType> {
                vec![<$t as HostType>::TYPE]
            }
        }
    )*};
}
host_results_single!(i32, i64, f32, f64);

macro_rules! host_results_tuple {
    ($($t:ident),*) => {
        impl<$($t: HostType),*> HostResults for ($($t,)*) {
            type Native = ($($t,)*);
            fn into_native(self) -> Result<Self::Native, HostError> {
                Ok(self)
            }
            fn types() -> Vec<ValType> {
                vec![$($t::TYPE),*]
            }
        }
    };
}
host_results_tuple!();
host_results_tuple!(A);
host_results_tuple!(A, B);
host_results_tuple!(A, B, C);
host_results_tuple!(A, B, C, D);

/// A Rust closure `Fn(A1, A2, ...) -> R` usable as a host function.
///
/// Implemented for closures of up to eight [`HostType`] parameters returning
/// any [`HostResults`].
pub trait IntoHostFunc<Params, Results>: Send + Sync + 'static {
    /// The signature the guest must import.
    fn signature() -> FuncType;
    #[doc(hidden)]
    fn define(
        self,
        linker: &mut Linker<StoreState>,
        module: &str,
        name: &str,
    ) -> wasmtime::Result<()>;
}

/// A Rust closure `Fn(&mut HostCaller, A1, A2, ...) -> R` usable as a host
/// function with access to the guest's memory.
pub trait IntoHostFuncWithCaller<Params, Results>: Send + Sync + 'static {
    /// The signature the guest must import.
    fn signature() -> FuncType;
    #[doc(hidden)]
    fn define(
        self,
        linker: &mut Linker<StoreState>,
        module: &str,
        name: &str,
    ) -> wasmtime::Result<()>;
}

macro_rules! into_host_func {
    ($($t:ident $a:ident),*) => {
        impl<F, R, $($t: HostType),*> IntoHostFunc<($($t,)*), R> for F
        where
            F: Fn($($t),*) -> R + Send + Sync + 'static,
            R: HostResults,
        {
            fn signature() -> FuncType {
                FuncType::new([$($t::TYPE),*], R::types())
            }
            fn define(self, linker: &mut Linker<StoreState>, module: &str, name: &str) -> wasmtime::Result<()> {
                linker.func_wrap(module, name, move |mut caller: Caller<'_, StoreState>, $($a: $t),*| {
                    caller.data_mut().host_calls += 1;
                    finish(guarded(|| (self)($($a),*).into_native()), &caller)
                })?;
                Ok(())
            }
        }

        impl<F, R, $($t: HostType),*> IntoHostFuncWithCaller<($($t,)*), R> for F
        where
            F: Fn(&mut HostCaller<'_>, $($t),*) -> R + Send + Sync + 'static,
            R: HostResults,
        {
            fn signature() -> FuncType {
                FuncType::new([$($t::TYPE),*], R::types())
            }
            fn define(self, linker: &mut Linker<StoreState>, module: &str, name: &str) -> wasmtime::Result<()> {
                linker.func_wrap(module, name, move |caller: Caller<'_, StoreState>, $($a: $t),*| {
                    let mut hc = HostCaller { caller };
                    hc.caller.data_mut().host_calls += 1;
                    finish(guarded(|| (self)(&mut hc, $($a),*).into_native()), &hc.caller)
                })?;
                Ok(())
            }
        }
    };
}
into_host_func!();
into_host_func!(A1 a1);
into_host_func!(A1 a1, A2 a2);
into_host_func!(A1 a1, A2 a2, A3 a3);
into_host_func!(A1 a1, A2 a2, A3 a3, A4 a4);
into_host_func!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
into_host_func!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
into_host_func!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
into_host_func!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
