//! Maps `aegis_core::Error` onto the exception classes of `aegis.errors`:
//! the class by stable code, the attributes from `Error::details()`.

use aegis_core::{Detail, Error};
use pyo3::exceptions::{PyBaseException, PyException};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Converts a core error into the matching `aegis` exception.
///
/// A host-function error whose payload is the Python exception a callback
/// raised gets that exception as `__cause__`; a `BaseException` that is not an
/// `Exception` (`KeyboardInterrupt`, `SystemExit`) is re-raised as it was.
pub fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    let mut cause: Option<Py<PyBaseException>> = None;
    if let Error::HostFunction {
        payload: Some(payload),
        ..
    } = &err
        && let Some(original) = payload.0.downcast_ref::<Py<PyBaseException>>()
    {
        let original = original.clone_ref(py);
        if !original.bind(py).is_instance_of::<PyException>() {
            return PyErr::from_value(original.into_bound(py).into_any());
        }
        cause = Some(original);
    }
    match build(py, &err) {
        Ok(exc) => {
            let exc = PyErr::from_value(exc);
            if let Some(cause) = cause {
                exc.set_cause(py, Some(PyErr::from_value(cause.into_bound(py).into_any())));
            }
            exc
        }
        Err(e) => e,
    }
}

/// `aegis.errors._make(code, message, details)`: the class of `code` with
/// each of the core's details as an attribute.
fn build<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let details = PyDict::new(py);
    for (name, value) in err.details() {
        details.set_item(name, detail(py, value)?)?;
    }
    py.import("aegis.errors")?.getattr("_make")?.call1((
        err.code().as_str(),
        err.message(),
        details,
    ))
}

/// One detail as a Python value: durations as float seconds.
fn detail(py: Python<'_>, value: Detail) -> PyResult<Bound<'_, PyAny>> {
    Ok(match value {
        Detail::Text(t) => t.into_pyobject(py)?.into_any(),
        Detail::Count(n) => n.into_pyobject(py)?.into_any(),
        Detail::Int(n) => n.into_pyobject(py)?.into_any(),
        Detail::Seconds(d) => d.as_secs_f64().into_pyobject(py)?.into_any(),
        Detail::Names(names) => names.into_pyobject(py)?.into_any(),
    })
}

/// Shorthand for an `invalid_argument` error raised by the binding itself.
pub fn invalid_argument(message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        message: message.into(),
    }
}

/// A sample core error of each stable code (test hook).
fn sample(code: &str) -> Error {
    use aegis_core::{Capability, Operation, Resource, TrapCode};
    use std::time::Duration;
    match code {
        "invalid_module" => Error::InvalidModule {
            message: "bad magic".into(),
        },
        "link_error" => Error::Link {
            module: "env".into(),
            name: "f".into(),
            reason: "missing".into(),
        },
        "export_not_found" => Error::ExportNotFound {
            name: "nope".into(),
            available: vec!["add".into()],
        },
        "signature_mismatch" => Error::SignatureMismatch {
            name: "add".into(),
            expected: "(i32) -> ()".into(),
            given: "arguments ()".into(),
        },
        "out_of_fuel" => Error::OutOfFuel {
            consumed: 10,
            limit: 10,
        },
        "timeout" => Error::Timeout {
            elapsed: Duration::from_millis(1500),
            limit: Duration::from_secs(1),
        },
        "memory_limit_exceeded" => Error::MemoryLimitExceeded {
            resource: Resource::Memory,
            requested: 2,
            limit: 1,
        },
        "stack_overflow" => Error::StackOverflow { limit: 4096 },
        "trap" => Error::Trap {
            code: TrapCode::Unreachable,
            message: "wasm `unreachable` instruction executed".into(),
            backtrace: "0: f".into(),
        },
        "host_function" => Error::HostFunction {
            message: "boom".into(),
            payload: None,
        },
        "permission_denied" => Error::PermissionDenied {
            capability: Capability::Filesystem,
            operation: Operation::PathOpen,
            target: "/etc".into(),
        },
        "io" => Error::Io {
            message: "cannot read".into(),
        },
        "invalid_argument" => invalid_argument("bad"),
        "exit" => Error::Exit { status: -3 },
        "interrupted" => Error::Interrupted {
            elapsed: Duration::from_millis(250),
        },
        "module_too_complex" => Error::ModuleTooComplex {
            what: "locals in one function",
            found: 100_000,
            limit: 50_000,
        },
        "busy" => Error::Busy,
        "memory_out_of_bounds" => Error::MemoryOutOfBounds {
            offset: 65530,
            len: 16,
            size: 65536,
        },
        "result_too_large" => Error::ResultTooLarge {
            size: 2048,
            limit: 1024,
        },
        "invalid_result" => Error::InvalidResult {
            message: "the output of `greet` is not UTF-8 (invalid byte at offset 3)".into(),
        },
        other => invalid_argument(format!("unknown error code `{other}`")),
    }
}

/// The exception Aegis raises for a sample error of `code` (test hook).
#[pyfunction]
pub fn _sample_error(py: Python<'_>, code: &str) -> PyErr {
    to_pyerr(py, sample(code))
}

/// The core's `Error::to_json()` of the same sample, as JSON text (test hook).
#[pyfunction]
pub fn _sample_error_json(code: &str) -> String {
    sample(code).to_json().to_string()
}
