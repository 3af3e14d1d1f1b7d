//! `aegis_val_t`: the tagged value passed to and from guest functions.

use aegis_core::{Error, ValType, Value};

use crate::error::invalid;

/// A value type tag: one of `AEGIS_I32`, `AEGIS_I64`, `AEGIS_F32`, `AEGIS_F64`.
///
/// A plain integer rather than a C enum so that an out-of-range value written
/// by C is reported as `AEGIS_ERROR_INVALID_ARGUMENT` instead of being undefined.
#[allow(non_camel_case_types)]
pub type aegis_valkind_t = u32;

/// 32-bit integer.
pub const AEGIS_I32: aegis_valkind_t = 0;
/// 64-bit integer.
pub const AEGIS_I64: aegis_valkind_t = 1;
/// 32-bit float.
pub const AEGIS_F32: aegis_valkind_t = 2;
/// 64-bit float.
pub const AEGIS_F64: aegis_valkind_t = 3;

/// The payload of an `aegis_val_t`; read the member named by `kind`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub union aegis_val_union_t {
    /// Set when `kind` is `AEGIS_I32`.
    pub i32: i32,
    /// Set when `kind` is `AEGIS_I64`.
    pub i64: i64,
    /// Set when `kind` is `AEGIS_F32`.
    pub f32: f32,
    /// Set when `kind` is `AEGIS_F64`.
    pub f64: f64,
}

/// A wasm value: a type tag and its payload, e.g.
/// `aegis_val_t v = { .kind = AEGIS_I32, .of.i32 = 7 };`
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct aegis_val_t {
    /// Which member of `of` is set.
    pub kind: aegis_valkind_t,
    /// The value.
    pub of: aegis_val_union_t,
}

/// The tag of a core value type.
pub(crate) fn kind_of(ty: ValType) -> aegis_valkind_t {
    match ty {
        ValType::I32 => AEGIS_I32,
        ValType::I64 => AEGIS_I64,
        ValType::F32 => AEGIS_F32,
        ValType::F64 => AEGIS_F64,
    }
}

/// The core value type of a tag, or `invalid_argument`.
pub(crate) fn type_of(kind: aegis_valkind_t) -> Result<ValType, Error> {
    match kind {
        AEGIS_I32 => Ok(ValType::I32),
        AEGIS_I64 => Ok(ValType::I64),
        AEGIS_F32 => Ok(ValType::F32),
        AEGIS_F64 => Ok(ValType::F64),
        other => Err(invalid(format!(
            "unknown value kind {other} (expected AEGIS_I32, AEGIS_I64, AEGIS_F32 or AEGIS_F64)"
        ))),
    }
}

/// Converts a C value to a core value, checking its tag.
pub(crate) fn to_value(v: &aegis_val_t) -> Result<Value, Error> {
    // SAFETY: each arm reads the member the tag names; all bit patterns are valid.
    Ok(match type_of(v.kind)? {
        ValType::I32 => Value::I32(unsafe { v.of.i32 }),
        ValType::I64 => Value::I64(unsafe { v.of.i64 }),
        ValType::F32 => Value::F32(unsafe { v.of.f32 }),
        ValType::F64 => Value::F64(unsafe { v.of.f64 }),
    })
}

/// Converts a core value to a C value (the whole payload is initialised).
pub(crate) fn from_value(v: Value) -> aegis_val_t {
    let mut out = aegis_val_t {
        kind: kind_of(v.ty()),
        of: aegis_val_union_t { i64: 0 },
    };
    match v {
        Value::I32(x) => out.of.i32 = x,
        Value::I64(x) => out.of.i64 = x,
        Value::F32(x) => out.of.f32 = x,
        Value::F64(x) => out.of.f64 = x,
    }
    out
}

/// Converts a list of C type tags.
pub(crate) fn types_of(kinds: &[aegis_valkind_t]) -> Result<Vec<ValType>, Error> {
    kinds.iter().map(|k| type_of(*k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        for v in [
            Value::I32(-5),
            Value::I64(1 << 40),
            Value::F32(1.5),
            Value::F64(-2.25),
        ] {
            assert_eq!(to_value(&from_value(v)).unwrap(), v);
        }
    }

    #[test]
    fn unknown_kind_is_invalid_argument() {
        let bad = aegis_val_t {
            kind: 42,
            of: aegis_val_union_t { i32: 0 },
        };
        let err = to_value(&bad).unwrap_err();
        assert_eq!(err.code().as_str(), "invalid_argument");
    }
}
