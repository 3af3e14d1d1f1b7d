//! Dynamic calls (and dynamic host functions) without wasmtime's per-call
//! type check: the arguments were
//! already checked against the export's cached numeric signature, so the
//! call goes through `Func::call_unchecked` with raw values.

use wasmtime::{Func, Store, ValRaw};

use crate::store::StoreState;
use crate::value::{FuncType, ValType, Value};

/// Slots kept on the stack; longer signatures use the heap.
pub(crate) const INLINE: usize = 16;

/// Calls `func` (of numeric signature `sig`, owned by `store`) with `args`,
/// writing `results`. The caller has checked that `args` and `results` match
/// `sig` exactly.
pub(crate) fn call(
    func: Func,
    store: &mut Store<StoreState>,
    sig: &FuncType,
    args: &[Value],
    results: &mut [Value],
) -> wasmtime::Result<()> {
    debug_assert!(args.len() == sig.params.len() && results.len() == sig.results.len());
    let len = args.len().max(results.len());
    let mut inline = [ValRaw::i32(0); INLINE];
    let mut heap = Vec::new();
    let slots = scratch(&mut inline, &mut heap, len);
    for (slot, arg) in slots.iter_mut().zip(args) {
        *slot = to_raw(*arg);
    }
    // SAFETY: `func` belongs to `store`'s instance; `slots` has room for every
    // parameter and result; the parameters were checked against the
    // function's type and are numbers (no references to keep alive); and
    // this is not a call from inside an async call on the same store.
    unsafe { func.call_unchecked(&mut *store, slots as *mut [ValRaw]) }?;
    for ((slot, ty), raw) in results.iter_mut().zip(&sig.results).zip(slots.iter()) {
        *slot = from_raw(*raw, *ty);
    }
    Ok(())
}

/// `len` slots of `inline` when they fit, else of `heap` (grown to `len`):
/// per-call buffers that stay on the stack for ordinary signatures.
pub(crate) fn scratch<'a, T: Copy>(
    inline: &'a mut [T; INLINE],
    heap: &'a mut Vec<T>,
    len: usize,
) -> &'a mut [T] {
    if len <= INLINE {
        &mut inline[..len]
    } else {
        heap.resize(len, inline[0]);
        heap
    }
}

/// A number as wasmtime's raw value.
pub(crate) fn to_raw(value: Value) -> ValRaw {
    match value {
        Value::I32(v) => ValRaw::i32(v),
        Value::I64(v) => ValRaw::i64(v),
        Value::F32(v) => ValRaw::f32(v.to_bits()),
        Value::F64(v) => ValRaw::f64(v.to_bits()),
    }
}

/// A raw value known to be of type `ty`.
pub(crate) fn from_raw(raw: ValRaw, ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(raw.get_i32()),
        ValType::I64 => Value::I64(raw.get_i64()),
        ValType::F32 => Value::F32(f32::from_bits(raw.get_f32())),
        ValType::F64 => Value::F64(f64::from_bits(raw.get_f64())),
    }
}
