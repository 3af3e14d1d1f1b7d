//! Python objects <-> `aegis_core::Data`: the one mapping of component
//! (WIT) values, used by component calls and component host functions.
//!
//! | Python in | `Data` | Python out |
//! |---|---|---|
//! | `None` | `Null` | `None` |
//! | `bool` | `Bool` | `bool` |
//! | `int` | `Int` / `BigInt` | `int` |
//! | `float` | `Float` | `float` |
//! | `str` | `Str` | `str` |
//! | `bytes`, `bytearray`, `memoryview` | `Bytes` | `bytes` |
//! | `list`, `set`, `frozenset` | `List` | `list` |
//! | `tuple` | `Tuple` | `tuple` |
//! | `dict` with `str` keys | `Record` | `dict` |
//!
//! What each `Data` kind means for each WIT type is the core's rule
//! (`aegis_core::data`): variants and results are one-key dicts, enums and
//! flags are names, `option<option<T>>` is `None` or `{"some": x}`.

use aegis_core::{Data, Error};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PyMemoryView, PySet,
    PyString, PyTuple,
};

/// Deepest nesting of lists, tuples, sets and dicts converted: a value that
/// contains itself (`a = []; a.append(a)`) or a hostile nesting ends here
/// instead of exhausting the stack.
pub const MAX_DEPTH: usize = 200;

/// Why a Python object has no `Data` form.
pub enum Refusal {
    /// Its kind has no WIT value (`signature_mismatch`).
    Kind {
        /// Where inside the value, e.g. `.label[2]`.
        path: String,
        /// What was found.
        what: String,
    },
    /// An integer beyond 128 bits, text that is not Unicode, or nesting
    /// deeper than [`MAX_DEPTH`] (`invalid_argument`).
    Value { path: String, what: String },
    /// Python raised while the value was read.
    Python(PyErr),
}

impl Refusal {
    fn at(mut self, segment: &str) -> Refusal {
        match &mut self {
            Refusal::Kind { path, .. } | Refusal::Value { path, .. } => {
                path.insert_str(0, segment);
            }
            Refusal::Python(_) => {}
        }
        self
    }

    /// A `TypeError` (or the Python exception) for a refused value; `what`
    /// names it (`result of \`log\``).
    pub fn into_type_error(self, what: &str) -> PyErr {
        match self {
            Refusal::Kind { path, what: found } | Refusal::Value { path, what: found } => {
                pyo3::exceptions::PyTypeError::new_err(format!("{what}{path}: {found}"))
            }
            Refusal::Python(err) => err,
        }
    }

    /// The core error (or the Python exception) for a refused value;
    /// `what` names it (`argument 1 (name)`, `result of \`log\``), `call`
    /// and `expected` fill a `signature_mismatch`.
    pub fn into_error(self, what: &str, call: &str, expected: &str) -> Result<Error, PyErr> {
        match self {
            Refusal::Kind { path, what: found } => Ok(Error::SignatureMismatch {
                name: call.to_string(),
                expected: expected.to_string(),
                given: format!("{what}{path}: {found}"),
            }),
            Refusal::Value { path, what: found } => Ok(Error::InvalidArgument {
                message: format!("{what}{path}: {found}"),
            }),
            Refusal::Python(err) => Err(err),
        }
    }
}

fn kind(obj: &Bound<'_, PyAny>) -> Refusal {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    Refusal::Kind {
        path: String::new(),
        what: format!("a Python {name} has no WIT value"),
    }
}

/// Converts a Python object to `Data` (see the module docs).
pub fn to_data(obj: &Bound<'_, PyAny>) -> Result<Data, Refusal> {
    convert(obj, 0)
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Data, Refusal> {
    if obj.is_none() {
        return Ok(Data::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Data::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Data::Int(v));
        }
        return obj.extract::<i128>().map(Data::BigInt).map_err(|_| {
            let text = obj
                .str()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Refusal::Value {
                path: String::new(),
                what: format!("{text} is out of range (WIT integers are at most 64 bits)"),
            }
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Data::Float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map(|s| Data::Str(s.into_owned()))
            .map_err(|e| Refusal::Value {
                path: String::new(),
                what: format!("the str is not valid Unicode text ({e})"),
            });
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Data::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Data::Bytes(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let bytes = obj.call_method0("tobytes").map_err(Refusal::Python)?;
        let bytes = bytes
            .cast::<PyBytes>()
            .map_err(|e| Refusal::Python(e.into()))?;
        return Ok(Data::Bytes(bytes.as_bytes().to_vec()));
    }
    let nested = obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PyDict>()
        || obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>();
    if !nested {
        return Err(kind(obj));
    }
    if depth >= MAX_DEPTH {
        return Err(Refusal::Value {
            path: String::new(),
            what: format!("the value is nested more than {MAX_DEPTH} levels deep"),
        });
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut fields = Vec::with_capacity(d.len());
        for (key, value) in d.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(Refusal::Kind {
                    path: String::new(),
                    what: format!(
                        "a dict key must be a str (a record field or a case name), not {}",
                        key.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ),
                });
            };
            let key = key.to_cow().map_err(Refusal::Python)?.into_owned();
            let value = convert(&value, depth + 1).map_err(|e| e.at(&format!(".{key}")))?;
            fields.push((key, value));
        }
        return Ok(Data::Record(fields));
    }
    let items = obj
        .try_iter()
        .map_err(Refusal::Python)?
        .enumerate()
        .map(|(i, item)| {
            convert(&item.map_err(Refusal::Python)?, depth + 1).map_err(|e| e.at(&format!("[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if obj.is_instance_of::<PyTuple>() {
        Data::Tuple(items)
    } else {
        Data::List(items)
    })
}

/// Converts `Data` to a Python object (see the module docs).
pub fn from_data<'py>(py: Python<'py>, data: &Data) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data {
        Data::Null => py.None().into_bound(py),
        Data::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Data::Int(v) => v.into_pyobject(py)?.into_any(),
        Data::BigInt(v) => v.into_pyobject(py)?.into_any(),
        Data::Float(v) => v.into_pyobject(py)?.into_any(),
        Data::Str(s) => PyString::new(py, s).into_any(),
        Data::Bytes(b) => PyBytes::new(py, b).into_any(),
        Data::List(items) => PyList::new(
            py,
            items
                .iter()
                .map(|d| from_data(py, d))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        Data::Tuple(items) => PyTuple::new(
            py,
            items
                .iter()
                .map(|d| from_data(py, d))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any(),
        Data::Record(fields) => {
            let dict = PyDict::new(py);
            for (name, value) in fields {
                dict.set_item(name, from_data(py, value)?)?;
            }
            dict.into_any()
        }
    })
}

/// A call's results as Python sees them: `None`, the one value, or a tuple.
pub fn results_to_py<'py>(py: Python<'py>, results: &[Data]) -> PyResult<Bound<'py, PyAny>> {
    match results {
        [] => Ok(py.None().into_bound(py)),
        [one] => from_data(py, one),
        many => Ok(PyTuple::new(
            py,
            many.iter()
                .map(|d| from_data(py, d))
                .collect::<PyResult<Vec<_>>>()?,
        )?
        .into_any()),
    }
}
