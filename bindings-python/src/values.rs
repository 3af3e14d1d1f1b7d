//! Python numbers <-> wasm values, driven by a signature's types.

use aegis_core::{Error, FuncType, ValType, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

/// Converts one Python object to a value of type `ty`.
///
/// Integers go through `Value::parse`, so the accepted range is the core's
/// (an i32 takes -2**31 ..= 2**32-1, wrapping the unsigned half). Floats take
/// any `float` or `int`. `Err(None)` means the object has the wrong Python type.
pub fn to_value(obj: &Bound<'_, PyAny>, ty: ValType) -> Result<Value, Option<Error>> {
    match ty {
        ValType::I32 | ValType::I64 => {
            if obj.is_instance_of::<PyBool>() {
                let b: bool = obj.extract().map_err(|_| None)?;
                return Value::parse(if b { "1" } else { "0" }, ty).map_err(Some);
            }
            if !obj.is_instance_of::<PyInt>() {
                return Err(None);
            }
            let text = obj.str().map_err(|_| None)?;
            Value::parse(&text.to_string_lossy(), ty).map_err(Some)
        }
        ValType::F32 | ValType::F64 => {
            if !(obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>()) {
                return Err(None);
            }
            let v: f64 = obj.extract().map_err(|e| {
                Some(Error::InvalidArgument {
                    message: format!("cannot convert to {ty}: {e}"),
                })
            })?;
            Ok(match ty {
                ValType::F32 => Value::F32(v as f32),
                _ => Value::F64(v),
            })
        }
    }
}

/// Converts call arguments for the export `name` with signature `sig`.
///
/// A wrong count or a wrong Python type is a `signature_mismatch`; an integer
/// out of range is the core's `invalid_argument`.
pub fn to_args(name: &str, sig: &FuncType, args: &Bound<'_, PyTuple>) -> Result<Vec<Value>, Error> {
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
        .map(|(arg, ty)| to_value(&arg, *ty).map_err(|e| e.unwrap_or_else(mismatch)))
        .collect()
}

/// `arguments (int, str)`: the Python types the caller supplied.
fn describe(args: &Bound<'_, PyTuple>) -> String {
    let names: Vec<String> = args
        .iter()
        .map(|a| {
            a.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".into())
        })
        .collect();
    format!("arguments ({})", names.join(", "))
}

/// One wasm value as a Python `int` or `float`.
pub fn to_py<'py>(py: Python<'py>, v: Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::I32(x) => x.into_pyobject(py)?.into_any(),
        Value::I64(x) => x.into_pyobject(py)?.into_any(),
        Value::F32(x) => f64::from(x).into_pyobject(py)?.into_any(),
        Value::F64(x) => x.into_pyobject(py)?.into_any(),
    })
}

/// Results as Python sees them: `None`, one number, or a tuple.
pub fn results_to_py<'py>(py: Python<'py>, values: Vec<Value>) -> PyResult<Bound<'py, PyAny>> {
    match values.as_slice() {
        [] => Ok(py.None().into_bound(py)),
        [one] => to_py(py, *one),
        many => {
            let items = many
                .iter()
                .map(|v| to_py(py, *v))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, items)?.into_any())
        }
    }
}

/// Parses a list of type names (`"i32"`, ...) with the core's parser.
pub fn parse_types(names: &[String]) -> Result<Vec<ValType>, Error> {
    names.iter().map(|n| n.parse::<ValType>()).collect()
}

/// Type names of a signature's parameters or results, as Python strings.
pub fn type_names(types: &[ValType]) -> Vec<String> {
    types.iter().map(|t| t.as_str().to_string()).collect()
}
