//! Values crossing the sandbox boundary: the four numeric wasm types.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A wasm value type Aegis can pass across the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl ValType {
    /// The wasm text name: `i32`, `i64`, `f32`, `f64`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
        }
    }

    /// Converts a wasmtime type, rejecting v128 and references with a clear error.
    pub(crate) fn from_wasmtime(ty: &wasmtime::ValType) -> Result<Self> {
        match ty {
            wasmtime::ValType::I32 => Ok(ValType::I32),
            wasmtime::ValType::I64 => Ok(ValType::I64),
            wasmtime::ValType::F32 => Ok(ValType::F32),
            wasmtime::ValType::F64 => Ok(ValType::F64),
            other => Err(Error::invalid_argument(format!(
                "value type `{other}` is not supported across the sandbox boundary (only i32, i64, f32, f64)"
            ))),
        }
    }

    pub(crate) fn to_wasmtime(self) -> wasmtime::ValType {
        match self {
            ValType::I32 => wasmtime::ValType::I32,
            ValType::I64 => wasmtime::ValType::I64,
            ValType::F32 => wasmtime::ValType::F32,
            ValType::F64 => wasmtime::ValType::F64,
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ValType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "i32" => Ok(ValType::I32),
            "i64" => Ok(ValType::I64),
            "f32" => Ok(ValType::F32),
            "f64" => Ok(ValType::F64),
            other => Err(Error::invalid_argument(format!(
                "unknown value type `{other}` (expected i32, i64, f32 or f64)"
            ))),
        }
    }
}

/// A wasm value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// 32-bit integer.
    I32(i32),
    /// 64-bit integer.
    I64(i64),
    /// 32-bit float.
    F32(f32),
    /// 64-bit float.
    F64(f64),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
        }
    }

    /// Parses `text` as a value of type `ty`.
    ///
    /// Integers accept decimal, a leading `-`, and `0x` hex; an i32 also
    /// accepts unsigned values up to `u32::MAX` (wrapped, as wasm does), and
    /// likewise i64. Floats accept anything Rust's float parser does, plus
    /// `inf`, `-inf` and `nan`.
    pub fn parse(text: &str, ty: ValType) -> Result<Self> {
        let t = text.trim();
        let bad = || Error::invalid_argument(format!("`{text}` is not a valid {ty}"));
        Ok(match ty {
            ValType::I32 => Value::I32(match parse_int(t) {
                Some(v) if v >= i32::MIN as i128 && v <= u32::MAX as i128 => v as i32,
                _ => return Err(bad()),
            }),
            ValType::I64 => Value::I64(match parse_int(t) {
                Some(v) if v >= i64::MIN as i128 && v <= u64::MAX as i128 => v as i64,
                _ => return Err(bad()),
            }),
            ValType::F32 => Value::F32(t.parse::<f32>().map_err(|_| bad())?),
            ValType::F64 => Value::F64(t.parse::<f64>().map_err(|_| bad())?),
        })
    }

    /// The zero value of a type.
    pub fn default_for(ty: ValType) -> Self {
        match ty {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0.0),
            ValType::F64 => Value::F64(0.0),
        }
    }

    /// The value as i32, if it is one.
    pub fn as_i32(&self) -> Option<i32> {
        match *self {
            Value::I32(v) => Some(v),
            _ => None,
        }
    }

    /// The value as i64, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as f32, if it is one.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The value as f64, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn to_wasmtime(self) -> wasmtime::Val {
        match self {
            Value::I32(v) => wasmtime::Val::I32(v),
            Value::I64(v) => wasmtime::Val::I64(v),
            Value::F32(v) => wasmtime::Val::F32(v.to_bits()),
            Value::F64(v) => wasmtime::Val::F64(v.to_bits()),
        }
    }

    pub(crate) fn from_wasmtime(val: &wasmtime::Val) -> Result<Self> {
        match *val {
            wasmtime::Val::I32(v) => Ok(Value::I32(v)),
            wasmtime::Val::I64(v) => Ok(Value::I64(v)),
            wasmtime::Val::F32(bits) => Ok(Value::F32(f32::from_bits(bits))),
            wasmtime::Val::F64(bits) => Ok(Value::F64(f64::from_bits(bits))),
            _ => Err(Error::invalid_argument(
                "v128 and reference values are not supported across the sandbox boundary",
            )),
        }
    }
}

fn parse_int(t: &str) -> Option<i128> {
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = digits.replace('_', "");
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<i128>().ok()?
        }
    };
    Some(if neg { -magnitude } else { magnitude })
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v)
            }
        }
    )*};
}
value_from!(i32 => I32, i64 => I64, f32 => F32, f64 => F64);

/// A function signature: parameter and result types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Vec<ValType>,
    /// Result types, in order.
    pub results: Vec<ValType>,
}

impl FuncType {
    /// A signature from parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    pub(crate) fn to_wasmtime(&self, engine: &wasmtime::Engine) -> wasmtime::FuncType {
        wasmtime::FuncType::new(
            engine,
            self.params.iter().map(|t| t.to_wasmtime()),
            self.results.iter().map(|t| t.to_wasmtime()),
        )
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::error::format_signature(&self.params, &self.results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_type() {
        assert_eq!(Value::parse("15", ValType::I32).unwrap(), Value::I32(15));
        assert_eq!(Value::parse("-7", ValType::I64).unwrap(), Value::I64(-7));
        assert_eq!(Value::parse("0xff", ValType::I32).unwrap(), Value::I32(255));
        assert_eq!(
            Value::parse("4294967295", ValType::I32).unwrap(),
            Value::I32(-1)
        );
        assert_eq!(Value::parse("1.5", ValType::F32).unwrap(), Value::F32(1.5));
        assert_eq!(
            Value::parse("-2.25", ValType::F64).unwrap(),
            Value::F64(-2.25)
        );
        assert!(
            matches!(Value::parse("inf", ValType::F64).unwrap(), Value::F64(v) if v.is_infinite())
        );
    }

    #[test]
    fn rejects_bad_text_with_invalid_argument() {
        for (text, ty) in [
            ("abc", ValType::I32),
            ("1.5", ValType::I32),
            ("4294967296", ValType::I32),
            ("", ValType::I64),
            ("-", ValType::I64),
            ("x", ValType::F64),
        ] {
            let err = Value::parse(text, ty).unwrap_err();
            assert_eq!(err.code().as_str(), "invalid_argument", "{text} as {ty}");
        }
    }

    #[test]
    fn valtype_round_trips_through_text() {
        for ty in [ValType::I32, ValType::I64, ValType::F32, ValType::F64] {
            assert_eq!(ty.as_str().parse::<ValType>().unwrap(), ty);
        }
        assert!("v128".parse::<ValType>().is_err());
    }

    #[test]
    fn signature_formats_like_the_cli() {
        let sig = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
        assert_eq!(sig.to_string(), "(i32, i32) -> (i32)");
        assert_eq!(FuncType::default().to_string(), "() -> ()");
    }
}
