//! `aegis_error_t`: the owned error every fallible function returns, and the
//! guards that keep panics from crossing the C boundary.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use aegis_core::{Error, ErrorCode};

/// Stable error codes; the numeric values mirror `aegis_core::ErrorCode`.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum aegis_error_code_t {
    /// The bytes are not a valid WebAssembly module or component.
    AEGIS_ERROR_INVALID_MODULE = 1,
    /// An import could not be satisfied when instantiating.
    AEGIS_ERROR_LINK_ERROR = 2,
    /// The requested export does not exist or is not a function.
    AEGIS_ERROR_EXPORT_NOT_FOUND = 3,
    /// Arguments or results do not match the export's signature.
    AEGIS_ERROR_SIGNATURE_MISMATCH = 4,
    /// The call used up its fuel budget.
    AEGIS_ERROR_OUT_OF_FUEL = 5,
    /// The call ran past its wall-clock budget.
    AEGIS_ERROR_TIMEOUT = 6,
    /// The guest tried to grow memory or tables past the limit.
    AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED = 7,
    /// The guest exhausted its stack.
    AEGIS_ERROR_STACK_OVERFLOW = 8,
    /// The guest trapped (unreachable, out-of-bounds access, ...).
    AEGIS_ERROR_TRAP = 9,
    /// A host function failed.
    AEGIS_ERROR_HOST_FUNCTION = 10,
    /// The guest attempted something it was not granted.
    AEGIS_ERROR_PERMISSION_DENIED = 11,
    /// A host I/O operation failed (reading a module file, a granted directory, ...).
    AEGIS_ERROR_IO = 12,
    /// An invalid argument: NULL pointer, invalid UTF-8, bad configuration, ...
    AEGIS_ERROR_INVALID_ARGUMENT = 13,
    /// A WASI program called `proc_exit` with a non-zero status.
    AEGIS_ERROR_EXIT = 14,
    /// The call was stopped through an interrupt handle (`aegis_interrupt_handle_interrupt`).
    AEGIS_ERROR_INTERRUPTED = 15,
    /// The module exceeds a complexity limit checked before compiling.
    AEGIS_ERROR_MODULE_TOO_COMPLEX = 16,
}

impl From<ErrorCode> for aegis_error_code_t {
    fn from(code: ErrorCode) -> Self {
        use aegis_error_code_t::*;
        match code {
            ErrorCode::InvalidModule => AEGIS_ERROR_INVALID_MODULE,
            ErrorCode::LinkError => AEGIS_ERROR_LINK_ERROR,
            ErrorCode::ExportNotFound => AEGIS_ERROR_EXPORT_NOT_FOUND,
            ErrorCode::SignatureMismatch => AEGIS_ERROR_SIGNATURE_MISMATCH,
            ErrorCode::OutOfFuel => AEGIS_ERROR_OUT_OF_FUEL,
            ErrorCode::Timeout => AEGIS_ERROR_TIMEOUT,
            ErrorCode::MemoryLimitExceeded => AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED,
            ErrorCode::StackOverflow => AEGIS_ERROR_STACK_OVERFLOW,
            ErrorCode::Trap => AEGIS_ERROR_TRAP,
            ErrorCode::HostFunction => AEGIS_ERROR_HOST_FUNCTION,
            ErrorCode::PermissionDenied => AEGIS_ERROR_PERMISSION_DENIED,
            ErrorCode::Io => AEGIS_ERROR_IO,
            ErrorCode::InvalidArgument => AEGIS_ERROR_INVALID_ARGUMENT,
            ErrorCode::Exit => AEGIS_ERROR_EXIT,
            ErrorCode::Interrupted => AEGIS_ERROR_INTERRUPTED,
            ErrorCode::ModuleTooComplex => AEGIS_ERROR_MODULE_TOO_COMPLEX,
        }
    }
}

/// An error: a stable code plus a message. Owned by the caller, who frees it
/// with `aegis_error_delete`.
#[allow(non_camel_case_types)]
pub struct aegis_error_t {
    pub(crate) error: Error,
    message: CString,
}

impl aegis_error_t {
    /// Moves `error` to the heap and hands ownership to C.
    pub(crate) fn into_raw(error: Error) -> *mut aegis_error_t {
        let message = c_string(&error.to_string());
        Box::into_raw(Box::new(aegis_error_t { error, message }))
    }

    /// The message without the code's prefix when the error came from a host
    /// callback (so it is not wrapped twice).
    pub(crate) fn host_message(&self) -> String {
        match &self.error {
            Error::HostFunction { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// A `CString` from text, replacing any interior NUL with U+FFFD.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{fffd}")).unwrap_or_default()
}

/// An `invalid_argument` error.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        message: message.into(),
    }
}

fn panic_error(function: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    invalid(format!("internal error in {function}: {detail}"))
}

/// Runs `f` under `catch_unwind`; NULL on success, an owned error otherwise.
pub(crate) fn guard(function: &str, f: impl FnOnce() -> Result<(), Error>) -> *mut aegis_error_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ptr::null_mut(),
        Ok(Err(e)) => aegis_error_t::into_raw(e),
        Err(panic) => aegis_error_t::into_raw(panic_error(function, &*panic)),
    }
}

/// Runs an infallible accessor under `catch_unwind`, returning `fallback` on panic.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The stable code of `error`; `AEGIS_ERROR_INVALID_ARGUMENT` if `error` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_code(error: *const aegis_error_t) -> aegis_error_code_t {
    guard_value(
        aegis_error_code_t::AEGIS_ERROR_INVALID_ARGUMENT,
        || match unsafe { error.as_ref() } {
            Some(e) => e.error.code().into(),
            None => aegis_error_code_t::AEGIS_ERROR_INVALID_ARGUMENT,
        },
    )
}

/// The human-readable message of `error` (UTF-8, NUL-terminated). Borrowed:
/// valid until `aegis_error_delete(error)`. Returns "" if `error` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_message(error: *const aegis_error_t) -> *const c_char {
    guard_value(c"".as_ptr(), || match unsafe { error.as_ref() } {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    })
}

/// The stable snake_case name of a code, e.g. "out_of_fuel" (static string;
/// "unknown" for a value that is not a code).
#[unsafe(no_mangle)]
pub extern "C" fn aegis_error_code_name(code: u32) -> *const c_char {
    guard_value(c"unknown".as_ptr(), || {
        ErrorCode::ALL
            .iter()
            .find(|c| **c as u32 == code)
            .map(|c| static_name(*c))
            .unwrap_or(c"unknown".as_ptr())
    })
}

fn static_name(code: ErrorCode) -> *const c_char {
    // Built once from the core's names, so the C strings can never drift from them.
    use std::sync::OnceLock;
    static NAMES: OnceLock<Vec<(u32, CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        ErrorCode::ALL
            .iter()
            .map(|c| (*c as u32, c_string(c.as_str())))
            .collect()
    });
    names
        .iter()
        .find(|(n, _)| *n == code as u32)
        .map(|(_, s)| s.as_ptr())
        .unwrap_or(c"unknown".as_ptr())
}

/// If `error` is an `AEGIS_ERROR_EXIT`, stores the guest's exit status in
/// `*status` and returns true; otherwise returns false and leaves `*status` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_exit_status(
    error: *const aegis_error_t,
    status: *mut i32,
) -> bool {
    guard_value(false, || {
        let (Some(e), Some(out)) = (unsafe { error.as_ref() }, unsafe { status.as_mut() }) else {
            return false;
        };
        match e.error {
            Error::Exit { status } => {
                *out = status;
                true
            }
            _ => false,
        }
    })
}

/// If `error` is an `AEGIS_ERROR_TIMEOUT` or an `AEGIS_ERROR_INTERRUPTED`,
/// stores how long the call ran before it was stopped, in nanoseconds, in
/// `*elapsed_ns` and returns true; otherwise returns false and leaves
/// `*elapsed_ns` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_elapsed_ns(
    error: *const aegis_error_t,
    elapsed_ns: *mut u64,
) -> bool {
    guard_value(false, || {
        let (Some(e), Some(out)) = (unsafe { error.as_ref() }, unsafe { elapsed_ns.as_mut() })
        else {
            return false;
        };
        match e.error {
            Error::Timeout { elapsed, .. } | Error::Interrupted { elapsed } => {
                *out = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                true
            }
            _ => false,
        }
    })
}

/// Creates an error carrying `message`, with code `AEGIS_ERROR_HOST_FUNCTION`.
/// A host callback returns it to trap the guest; the caller of the sandbox
/// then gets an `AEGIS_ERROR_HOST_FUNCTION` error with this message. Owned by
/// the caller (returning it from a callback transfers ownership to Aegis).
/// A NULL or non-UTF-8 `message` is replaced by a placeholder text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_new(message: *const c_char) -> *mut aegis_error_t {
    let text = if message.is_null() {
        "(no message)".to_string()
    } else {
        unsafe { std::ffi::CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    };
    let made = guard("aegis_error_new", || {
        Err(Error::HostFunction {
            message: text,
            payload: None,
        })
    });
    debug_assert!(!made.is_null());
    made
}

/// Frees an error. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_delete(error: *mut aegis_error_t) {
    guard_value((), || {
        if !error.is_null() {
            drop(unsafe { Box::from_raw(error) });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_codes_mirror_core_codes() {
        for code in ErrorCode::ALL {
            assert_eq!(aegis_error_code_t::from(code) as u32, code as u32);
            let name = unsafe { std::ffi::CStr::from_ptr(aegis_error_code_name(code as u32)) };
            assert_eq!(name.to_str().unwrap(), code.as_str());
        }
        let unknown = unsafe { std::ffi::CStr::from_ptr(aegis_error_code_name(999)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown");
    }

    #[test]
    fn panics_become_errors() {
        let err = guard("test", || panic!("boom"));
        assert!(!err.is_null());
        unsafe {
            assert_eq!(
                aegis_error_code(err),
                aegis_error_code_t::AEGIS_ERROR_INVALID_ARGUMENT
            );
            let msg = std::ffi::CStr::from_ptr(aegis_error_message(err));
            assert!(msg.to_str().unwrap().contains("boom"));
            aegis_error_delete(err);
        }
    }
}
