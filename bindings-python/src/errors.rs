//! Maps `aegis_core::Error` onto the exception classes of `aegis.errors`, by stable code.

use aegis_core::{Error, ErrorCode};
use pyo3::exceptions::{PyBaseException, PyException};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The Python class name raised for each stable error code.
pub fn class_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidModule => "InvalidModuleError",
        ErrorCode::LinkError => "LinkError",
        ErrorCode::ExportNotFound => "ExportNotFoundError",
        ErrorCode::SignatureMismatch => "SignatureMismatchError",
        ErrorCode::OutOfFuel => "OutOfFuelError",
        ErrorCode::Timeout => "AegisTimeoutError",
        ErrorCode::MemoryLimitExceeded => "MemoryLimitExceededError",
        ErrorCode::StackOverflow => "StackOverflowError",
        ErrorCode::Trap => "TrapError",
        ErrorCode::HostFunction => "HostFunctionError",
        ErrorCode::PermissionDenied => "PermissionDeniedError",
        ErrorCode::Io => "AegisIOError",
        ErrorCode::InvalidArgument => "InvalidArgumentError",
        ErrorCode::Exit => "ExitError",
        // `Aegis` prefix like the timeout and I/O classes: `InterruptedError`
        // is a builtin (EINTR); `aegis.InterruptedError` is an alias.
        ErrorCode::Interrupted => "AegisInterruptedError",
        ErrorCode::ModuleTooComplex => "ModuleTooComplexError",
    }
}

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

/// Instantiates `aegis.errors.<Class>(message, **details)`.
fn build<'py>(py: Python<'py>, err: &Error) -> PyResult<Bound<'py, PyAny>> {
    let errors = py.import("aegis.errors")?;
    let class = errors.getattr(class_name(err.code()))?;
    let details = PyDict::new(py);
    add_details(&details, err)?;
    class.call((err.to_string(),), Some(&details))
}

/// The structured fields of each variant, as keyword arguments.
fn add_details(d: &Bound<'_, PyDict>, err: &Error) -> PyResult<()> {
    match err {
        Error::Link {
            module,
            name,
            reason,
        } => {
            d.set_item("module", module)?;
            d.set_item("name", name)?;
            d.set_item("reason", reason)?;
        }
        Error::ExportNotFound { name, available } => {
            d.set_item("name", name)?;
            d.set_item("available", available.clone())?;
        }
        Error::SignatureMismatch {
            name,
            expected,
            given,
        } => {
            d.set_item("name", name)?;
            d.set_item("expected", expected)?;
            d.set_item("given", given)?;
        }
        Error::OutOfFuel { consumed, limit } => {
            d.set_item("consumed", consumed)?;
            d.set_item("limit", limit)?;
        }
        Error::Timeout { elapsed, limit } => {
            d.set_item("elapsed", elapsed.as_secs_f64())?;
            d.set_item("limit", limit.as_secs_f64())?;
        }
        Error::MemoryLimitExceeded {
            resource,
            requested,
            limit,
        } => {
            d.set_item("resource", resource)?;
            d.set_item("requested", requested)?;
            d.set_item("limit", limit)?;
        }
        Error::StackOverflow { limit } => d.set_item("limit", limit)?,
        Error::Trap {
            code,
            message,
            backtrace,
        } => {
            d.set_item("trap_code", code)?;
            d.set_item("trap_message", message)?;
            d.set_item("backtrace", backtrace)?;
        }
        Error::Exit { status } => d.set_item("status", status)?,
        Error::Interrupted { elapsed } => d.set_item("elapsed", elapsed.as_secs_f64())?,
        Error::ModuleTooComplex { what, found, limit } => {
            d.set_item("what", what)?;
            d.set_item("found", found)?;
            d.set_item("limit", limit)?;
        }
        _ => {}
    }
    Ok(())
}

/// Shorthand for an `invalid_argument` error raised by the binding itself.
pub fn invalid_argument(message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        message: message.into(),
    }
}

/// A sample core error for each stable code, so the test suite can check the
/// mapping of codes the guest cannot trigger yet (e.g. `permission_denied`).
#[pyfunction]
pub fn _sample_error(py: Python<'_>, code: &str) -> PyErr {
    use std::time::Duration;
    let err = match code {
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
            resource: "memory",
            requested: 2,
            limit: 1,
        },
        "stack_overflow" => Error::StackOverflow { limit: 4096 },
        "trap" => Error::Trap {
            code: "unreachable",
            message: "wasm `unreachable` instruction executed".into(),
            backtrace: String::new(),
        },
        "host_function" => Error::HostFunction {
            message: "boom".into(),
            payload: None,
        },
        "permission_denied" => Error::PermissionDenied {
            message: "path_open /etc".into(),
        },
        "io" => Error::Io {
            message: "cannot read".into(),
        },
        "invalid_argument" => invalid_argument("bad"),
        "exit" => Error::Exit { status: 3 },
        "interrupted" => Error::Interrupted {
            elapsed: Duration::from_millis(250),
        },
        "module_too_complex" => Error::ModuleTooComplex {
            what: "locals in one function",
            found: 100_000,
            limit: 50_000,
        },
        other => invalid_argument(format!("unknown error code `{other}`")),
    };
    to_pyerr(py, err)
}
