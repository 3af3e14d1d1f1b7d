//! Keyword options and policy files, turned into an `aegis_core::Policy`.
//!
//! Translation only: Python values become a JSON map of option names to
//! values, and the core's `Policy` decides everything else (which names
//! exist, which values are valid, which options a sandbox refuses). The
//! Python idioms translated here: `None` turns `fuel_limit` / `timeout` off
//! (and leaves any other option unset), `os.PathLike` becomes its path text,
//! `datetime.timedelta` its seconds, tuples become lists; a `stdin` of bytes
//! or an `os.PathLike` goes to the builder as `Stdin::bytes` / `Stdin::file`.

use std::path::PathBuf;

use aegis_core::{Policy, Stdin};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

use crate::buffers::bytes_like;
use crate::errors::{invalid_argument, to_pyerr};

/// Options for which `None` means the core's `"off"`.
const NONE_IS_OFF: &[&str] = &["fuel_limit", "timeout"];

/// Keyword options: the policy, and a `stdin` the policy cannot express.
pub struct Options {
    /// Every option but such a `stdin`.
    pub policy: Policy,
    /// `stdin` given as bytes (no policy value) or as an `os.PathLike` (a
    /// path the policy's `{"file": ...}` would need as UTF-8 text); set on
    /// the builder after the policy.
    pub stdin: Option<Stdin>,
}

/// The options given by keyword arguments (none: the empty policy).
pub fn from_kwargs(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut map = Map::new();
    let mut stdin = None;
    for (key, value) in options.into_iter().flat_map(|o| o.iter()) {
        let name: String = key.extract()?;
        if name == "stdin"
            && let Some(native) = native_stdin(&value)?
        {
            stdin = Some(native);
            continue;
        }
        let value = if value.is_none() {
            if !NONE_IS_OFF.contains(&name.as_str()) {
                continue;
            }
            Value::from("off")
        } else {
            to_json(py, &name, &value)?
        };
        map.insert(name, value);
    }
    let policy = Policy::from_value(Value::Object(map)).map_err(|e| to_pyerr(py, e))?;
    Ok(Options { policy, stdin })
}

/// A `stdin` value given the Python way: a bytes-like object (`bytes`,
/// `bytearray`, `memoryview`: its bytes, copied) or an `os.PathLike` (the
/// file at that path). Anything else (`"empty"`, `"inherit"`, the dict
/// forms) is the policy's to judge.
fn native_stdin(v: &Bound<'_, PyAny>) -> PyResult<Option<Stdin>> {
    if v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyByteArray>()
        || v.is_instance_of::<PyMemoryView>()
    {
        let data = bytes_like(v, "stdin")?;
        return Ok(Some(Stdin::bytes(data.as_slice())));
    }
    if v.hasattr("__fspath__")? {
        let path: PathBuf = v.extract()?;
        return Ok(Some(Stdin::file(path)));
    }
    Ok(None)
}

/// The policy in `source`: TOML or JSON text (`str`; JSON when it starts
/// with `{`), or the path of a policy file (`os.PathLike`; JSON when the
/// name ends in `.json`, TOML otherwise).
pub fn from_source(py: Python<'_>, source: &Bound<'_, PyAny>) -> PyResult<Policy> {
    let policy = if let Ok(text) = source.cast::<PyString>() {
        let text = text.to_cow()?;
        if text.trim_start().starts_with('{') {
            Policy::from_json(&text)
        } else {
            Policy::from_toml(&text)
        }
    } else if source.hasattr("__fspath__")? {
        let path: PathBuf = source.extract()?;
        py.detach(|| Policy::from_file(&path))
    } else {
        return Err(PyTypeError::new_err(format!(
            "from_policy() takes policy text (str) or a file path (os.PathLike), not {}",
            source.get_type().name()?
        )));
    };
    policy.map_err(|e| to_pyerr(py, e))
}

/// One option value as JSON. A Python value with no JSON form is an
/// `InvalidArgumentError` naming the option.
fn to_json(py: Python<'_>, option: &str, v: &Bound<'_, PyAny>) -> PyResult<Value> {
    let untranslatable = |what: String| {
        to_pyerr(
            py,
            invalid_argument(format!("invalid option {option}: {what}")),
        )
    };
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if v.is_instance_of::<PyInt>() {
        if let Ok(n) = v.extract::<i64>() {
            return Ok(n.into());
        }
        if let Ok(n) = v.extract::<u64>() {
            return Ok(n.into());
        }
        return Err(untranslatable(format!("the integer {v} is out of range")));
    }
    if v.is_instance_of::<PyFloat>() {
        let x: f64 = v.extract()?;
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| untranslatable(format!("{x} is not a finite number")));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if v.hasattr("__fspath__")? {
        let path: PathBuf = v.extract()?;
        return path
            .into_os_string()
            .into_string()
            .map(Value::String)
            .map_err(|p| untranslatable(format!("the path {p:?} is not valid UTF-8")));
    }
    if v.is_instance(&py.import("datetime")?.getattr("timedelta")?)? {
        let secs = v.call_method0("total_seconds")?;
        return to_json(py, option, &secs);
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, value) in d.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(untranslatable(format!(
                    "dict keys must be str, not {}",
                    key.get_type().name()?
                )));
            };
            map.insert(key.to_cow()?.into_owned(), to_json(py, option, &value)?);
        }
        return Ok(Value::Object(map));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        return v
            .try_iter()?
            .map(|item| to_json(py, option, &item?))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    Err(untranslatable(format!(
        "a {} cannot be an option value",
        v.get_type().name()?
    )))
}
