//! Python numbers <-> wasm values, driven by a signature's types.

use aegis_core::{Arg, Error, FuncType, ValType, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

/// A Python object as the core's [`Arg`]: `bool`, `int` and `float` by
/// their kind (an `int` too large for 128 bits goes as its text, which the
/// core refuses as out of range), anything else named by its type.
fn to_arg(obj: &Bound<'_, PyAny>) -> Arg {
    if obj.is_instance_of::<PyBool>() {
        return obj
            .extract()
            .map(Arg::Bool)
            .unwrap_or(Arg::Other("bool".into()));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i128>() {
            Ok(v) => Arg::Int(v),
            Err(_) => Arg::Text(
                obj.str()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj
            .extract()
            .map(Arg::Float)
            .unwrap_or(Arg::Other("float".into()));
    }
    Arg::Other(
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into()),
    )
}

/// Converts one Python object to a value of type `ty` by the core's rule;
/// `Err(None)` means the object's kind cannot be one.
pub fn to_value(obj: &Bound<'_, PyAny>, ty: ValType) -> Result<Value, Option<Error>> {
    to_arg(obj).value_for(ty).map_err(Some)?.ok_or(None)
}

/// Converts call arguments for the export `name` with signature `sig` (the
/// core's rule and messages: `aegis_core::coerce_args`).
pub fn to_args(name: &str, sig: &FuncType, args: &Bound<'_, PyTuple>) -> Result<Vec<Value>, Error> {
    let args: Vec<Arg> = args.iter().map(|a| to_arg(&a)).collect();
    aegis_core::coerce_args(name, sig, &args)
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
