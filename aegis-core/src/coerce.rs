//! Arguments from a host language, checked against an export's signature:
//! one rule and one message for every front-end.
//!
//! A binding turns each of its language's values into an [`Arg`] (Python's
//! `int` → [`Arg::Int`], a JS number with an integral value → [`Arg::Int`],
//! the CLI's text → [`Arg::Text`], ...) and calls [`coerce_args`]:
//!
//! - a wrong number of arguments, or an argument of a kind the parameter
//!   cannot take, is `signature_mismatch` with `given` written as
//!   `arguments (int, float)` in the kinds' names;
//! - an integer parameter takes [`Arg::Int`] and [`Arg::Bool`] (0 or 1); an
//!   i32 takes -2^31 ..= 2^32-1 (the unsigned half wraps, as wasm does), an
//!   i64 -2^63 ..= 2^64-1; out of range is `invalid_argument`;
//! - a float parameter takes [`Arg::Float`] and [`Arg::Int`];
//! - [`Arg::Text`] is parsed for the parameter's type ([`Value::parse`]).

use crate::error::{Error, Result};
use crate::value::{FuncType, ValType, Value};

/// A host-language value on its way to a wasm parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// An integer (any size the language has; the parameter bounds it).
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A boolean, for integer parameters (0 or 1).
    Bool(bool),
    /// Text to parse for the parameter's type (`"42"`, `"0x2a"`, `"1.5"`).
    Text(String),
    /// Anything else, named by the binding (`"str"`, `"object"`) for the
    /// mismatch message.
    Other(String),
}

impl Arg {
    /// The kind's name in a `signature_mismatch` message.
    pub fn kind(&self) -> &str {
        match self {
            Arg::Int(_) => "int",
            Arg::Float(_) => "float",
            Arg::Bool(_) => "bool",
            Arg::Text(_) => "text",
            Arg::Other(name) => name,
        }
    }

    /// The value for a parameter (or host function result) of type `ty`:
    /// `Ok(None)` when this kind cannot be one, `invalid_argument` when it
    /// is out of range or does not parse.
    pub fn value_for(&self, ty: ValType) -> Result<Option<Value>> {
        let int = |v: i128| -> Result<Value> {
            let (min, max) = match ty {
                ValType::I32 => (i128::from(i32::MIN), i128::from(u32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(u64::MAX)),
            };
            if !(min..=max).contains(&v) {
                return Err(Error::invalid_argument(format!(
                    "{v} is out of range for {ty} ({min} to {max})"
                )));
            }
            Ok(match ty {
                ValType::I32 => Value::I32(v as i32),
                _ => Value::I64(v as i64),
            })
        };
        let is_int = matches!(ty, ValType::I32 | ValType::I64);
        Ok(Some(match (self, ty) {
            (Arg::Text(text), _) => parse_finite(text, ty)?,
            (Arg::Int(v), _) if is_int => int(*v)?,
            (Arg::Bool(b), _) if is_int => int(i128::from(*b))?,
            (Arg::Int(v), ValType::F32) => Value::F32(*v as f32),
            (Arg::Int(v), _) if !is_int => Value::F64(*v as f64),
            (Arg::Float(v), ValType::F32) => Value::F32(*v as f32),
            (Arg::Float(v), ValType::F64) => Value::F64(*v),
            _ => return Ok(None),
        }))
    }
}

/// [`Value::parse`], refusing a number too large for a float type unless
/// the text asks for infinity or NaN by name (`1e400` is out of range, `inf`
/// is infinity).
fn parse_finite(text: &str, ty: ValType) -> Result<Value> {
    let value = Value::parse(text, ty)?;
    let finite = match value {
        Value::F32(v) => v.is_finite(),
        Value::F64(v) => v.is_finite(),
        _ => true,
    };
    let named = text
        .trim()
        .trim_start_matches(['+', '-'])
        .eq_ignore_ascii_case("inf")
        || ["infinity", "nan"].iter().any(|n| {
            text.trim()
                .trim_start_matches(['+', '-'])
                .eq_ignore_ascii_case(n)
        });
    if finite || named {
        Ok(value)
    } else {
        Err(Error::invalid_argument(format!(
            "`{}` is out of range for {ty}",
            crate::error::bounded_message(text.to_string())
        )))
    }
}

/// `arguments (int, float)`.
fn describe(args: &[Arg]) -> String {
    let kinds: Vec<&str> = args.iter().map(Arg::kind).collect();
    format!("arguments ({})", kinds.join(", "))
}

/// Converts `args` to the parameters of the export `name`, whose signature
/// is `sig` (see the module doc for the rules).
pub fn coerce_args(name: &str, sig: &FuncType, args: &[Arg]) -> Result<Vec<Value>> {
    let mismatch = || Error::SignatureMismatch {
        name: name.to_string(),
        expected: sig.to_string(),
        given: describe(args),
    };
    if args.len() != sig.params.len() {
        return Err(mismatch());
    }
    args.iter()
        .zip(&sig.params)
        .enumerate()
        .map(|(i, (arg, ty))| {
            arg.value_for(*ty)
                .map_err(|e| match e {
                    Error::InvalidArgument { message } => Error::invalid_argument(format!(
                        "argument {} of `{name}`: {message} (signature {sig})",
                        i + 1
                    )),
                    other => other,
                })?
                .ok_or_else(mismatch)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(params: &[ValType]) -> FuncType {
        FuncType::new(params.to_vec(), vec![])
    }

    #[test]
    fn one_rule_for_every_kind() {
        use ValType::*;
        let s = sig(&[I32, I64, F32, F64]);
        let got = coerce_args(
            "f",
            &s,
            &[Arg::Int(-1), Arg::Bool(true), Arg::Int(2), Arg::Float(0.5)],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                Value::I32(-1),
                Value::I64(1),
                Value::F32(2.0),
                Value::F64(0.5)
            ]
        );
        assert_eq!(
            coerce_args("f", &sig(&[I32]), &[Arg::Int(u32::MAX.into())]).unwrap(),
            [Value::I32(-1)]
        );
        assert_eq!(
            coerce_args("f", &sig(&[I32]), &[Arg::Text("0x10".into())]).unwrap(),
            [Value::I32(16)]
        );
        let f64_text = |t: &str| coerce_args("f", &sig(&[F64]), &[Arg::Text(t.into())]);
        assert!(f64_text("1e400").is_err(), "overflow is out of range");
        assert_eq!(f64_text("-inf").unwrap(), [Value::F64(f64::NEG_INFINITY)]);
        assert!(matches!(f64_text("NaN").unwrap()[..], [Value::F64(v)] if v.is_nan()));
        let e = coerce_args("f", &sig(&[I32]), &[Arg::Int(1 << 32)]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        for bad in [
            vec![Arg::Float(1.0)],
            vec![Arg::Other("str".into())],
            vec![],
        ] {
            match coerce_args("f", &sig(&[I32]), &bad).unwrap_err() {
                Error::SignatureMismatch {
                    given, expected, ..
                } => {
                    assert_eq!(expected, "(i32) -> ()");
                    assert!(given.starts_with("arguments ("), "{given}");
                }
                other => panic!("{other}"),
            }
        }
    }
}
