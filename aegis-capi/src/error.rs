//! `aegis_error_t`: the owned error every fallible function returns, and the
//! guards that keep panics from crossing the C boundary.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::OnceLock;

use aegis_core::{Detail, Error, ErrorCode};

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
    /// The guest trapped (unreachable, out-of-bounds access, ...). Detail
    /// `trap_code` says how; "cannot_enter_component" means a component
    /// failed in an earlier call and must be reset (`aegis_sandbox_reset`).
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
    /// The sandbox is running a call already: used from one of its own host
    /// callbacks, or from another thread while a call runs. Refused at once,
    /// never waited for.
    AEGIS_ERROR_BUSY = 17,
    /// A host access to guest memory (`aegis_sandbox_memory_read` /
    /// `_write`), or a pointer the guest handed back in the bytes
    /// convention, lies outside the guest's memory. Nothing was copied.
    AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS = 18,
    /// A call's result is larger than the result limit (option
    /// `result_limit`); refused before the host allocated it.
    AEGIS_ERROR_RESULT_TOO_LARGE = 19,
    /// The guest returned a value that breaks its contract: text that is not
    /// UTF-8, a component value that breaks the canonical ABI.
    AEGIS_ERROR_INVALID_RESULT = 20,
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
            ErrorCode::Busy => AEGIS_ERROR_BUSY,
            ErrorCode::MemoryOutOfBounds => AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS,
            ErrorCode::ResultTooLarge => AEGIS_ERROR_RESULT_TOO_LARGE,
            ErrorCode::InvalidResult => AEGIS_ERROR_INVALID_RESULT,
        }
    }
}

/// An error: a stable code, a message and details (named fields such as
/// `limit` or `trap_code`). Owned by the caller, who frees it with
/// `aegis_error_delete`; every string it hands out is borrowed from it and
/// valid until then.
#[allow(non_camel_case_types)]
pub struct aegis_error_t {
    pub(crate) error: Error,
    message: CString,
    /// `Error::details`, with C copies of each, made on first use.
    details: OnceLock<Vec<CDetail>>,
    /// `Error::to_json`, made on first use.
    json: OnceLock<CString>,
}

/// One detail of an error and its NUL-terminated forms.
struct CDetail {
    name: CString,
    value: Detail,
    json: CString,
    /// The text itself, for a text detail.
    text: Option<CString>,
}

impl aegis_error_t {
    /// Moves `error` to the heap and hands ownership to C.
    pub(crate) fn into_raw(error: Error) -> *mut aegis_error_t {
        let message = c_string(&error.to_string());
        Box::into_raw(Box::new(aegis_error_t {
            error,
            message,
            details: OnceLock::new(),
            json: OnceLock::new(),
        }))
    }

    fn details(&self) -> &[CDetail] {
        self.details.get_or_init(|| {
            self.error
                .details()
                .into_iter()
                .map(|(name, value)| CDetail {
                    name: c_string(name),
                    json: c_string(&value.to_json().to_string()),
                    text: match &value {
                        Detail::Text(t) => Some(c_string(t)),
                        _ => None,
                    },
                    value,
                })
                .collect()
        })
    }

    fn detail(&self, name: &str) -> Option<&CDetail> {
        self.details()
            .iter()
            .find(|d| d.name.to_bytes() == name.as_bytes())
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

/// Number of details `error` carries (0 if `error` is NULL). Details are the
/// error's fields beyond its code and message, with the same names in every
/// Aegis front-end; `aegis_error_get` lists them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_detail_count(error: *const aegis_error_t) -> usize {
    guard_value(0, || {
        unsafe { error.as_ref() }.map_or(0, |e| e.details().len())
    })
}

/// Name of detail number `index` of `error`, e.g. "limit". Borrowed: valid
/// until `aegis_error_delete(error)`. NULL if `error` is NULL or `index` is
/// past `aegis_error_detail_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_detail_name(
    error: *const aegis_error_t,
    index: usize,
) -> *const c_char {
    guard_value(ptr::null(), || {
        unsafe { error.as_ref() }
            .and_then(|e| e.details().get(index))
            .map_or(ptr::null(), |d| d.name.as_ptr())
    })
}

/// Value of detail number `index` of `error` as JSON text, e.g. `100000`,
/// `0.25` (durations are seconds), `"unreachable"` or `["add","sub"]`.
/// Borrowed: valid until `aegis_error_delete(error)`. NULL if `error` is
/// NULL or `index` is past `aegis_error_detail_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_detail_json(
    error: *const aegis_error_t,
    index: usize,
) -> *const c_char {
    guard_value(ptr::null(), || {
        unsafe { error.as_ref() }
            .and_then(|e| e.details().get(index))
            .map_or(ptr::null(), |d| d.json.as_ptr())
    })
}

/// The detail of `error` named `name`, if it has it.
///
/// # Safety
/// `error` is NULL or a live error; `name` is NULL or a NUL-terminated string.
unsafe fn detail_of<'a>(error: *const aegis_error_t, name: *const c_char) -> Option<&'a CDetail> {
    let e = unsafe { error.as_ref() }?;
    let name = unsafe { crate::args::text(name, "name") }.ok()?;
    e.detail(name)
}

/// Value of the detail of `error` named `name` as JSON text (as
/// `aegis_error_detail_json`), or NULL if `error` has no such detail (or
/// an argument is NULL). Borrowed: valid until `aegis_error_delete(error)`.
///
/// The details by code (the same names as the core's `Error::details` and
/// every other front-end):
/// `AEGIS_ERROR_LINK_ERROR`: `module`, `name`, `reason`;
/// `AEGIS_ERROR_EXPORT_NOT_FOUND`: `name`, `available` (list of names);
/// `AEGIS_ERROR_SIGNATURE_MISMATCH`: `name`, `expected`, `given`;
/// `AEGIS_ERROR_OUT_OF_FUEL`: `consumed`, `limit`;
/// `AEGIS_ERROR_TIMEOUT`: `elapsed`, `limit` (seconds);
/// `AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED`: `resource`, `requested`, `limit`;
/// `AEGIS_ERROR_STACK_OVERFLOW`: `limit`;
/// `AEGIS_ERROR_TRAP`: `trap_code`, `backtrace`;
/// `AEGIS_ERROR_PERMISSION_DENIED`: `capability`, `operation`, `target`;
/// `AEGIS_ERROR_EXIT`: `status`;
/// `AEGIS_ERROR_INTERRUPTED`: `elapsed` (seconds);
/// `AEGIS_ERROR_MODULE_TOO_COMPLEX`: `what`, `found`, `limit`;
/// `AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS`: `offset`, `len`, `size` (bytes;
/// `size` is the memory's size at the time);
/// `AEGIS_ERROR_RESULT_TOO_LARGE`: `size`, `limit` (bytes; `size` is a
/// lower bound when counting stopped at the limit);
/// the other codes have none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_get(
    error: *const aegis_error_t,
    name: *const c_char,
) -> *const c_char {
    guard_value(ptr::null(), || {
        unsafe { detail_of(error, name) }.map_or(ptr::null(), |d| d.json.as_ptr())
    })
}

/// The text of the detail of `error` named `name` (no JSON quoting), e.g.
/// "unreachable" for `trap_code`; NULL if there is no such detail or it is
/// not text. Borrowed: valid until `aegis_error_delete(error)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_get_text(
    error: *const aegis_error_t,
    name: *const c_char,
) -> *const c_char {
    guard_value(ptr::null(), || {
        unsafe { detail_of(error, name) }
            .and_then(|d| d.text.as_ref())
            .map_or(ptr::null(), |t| t.as_ptr())
    })
}

/// Runs `read` on the detail named `name` and stores what it gives in `*out`.
unsafe fn get_into<T>(
    error: *const aegis_error_t,
    name: *const c_char,
    out: *mut T,
    read: impl FnOnce(&Detail) -> Option<T>,
) -> bool {
    guard_value(false, || {
        let Some(out) = (unsafe { out.as_mut() }) else {
            return false;
        };
        match unsafe { detail_of(error, name) }.and_then(|d| read(&d.value)) {
            Some(value) => {
                *out = value;
                true
            }
            None => false,
        }
    })
}

/// If `error` has a detail named `name` that is a count or a non-negative
/// integer (e.g. `limit`, `consumed`, `requested`), stores it in `*out` and
/// returns true; otherwise returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_get_u64(
    error: *const aegis_error_t,
    name: *const c_char,
    out: *mut u64,
) -> bool {
    unsafe {
        get_into(error, name, out, |d| match d {
            Detail::Count(n) => Some(*n),
            Detail::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
    }
}

/// If `error` has a detail named `name` that is an integer or a count that
/// fits (e.g. `status`), stores it in `*out` and returns true; otherwise
/// returns false and leaves `*out` alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_get_i64(
    error: *const aegis_error_t,
    name: *const c_char,
    out: *mut i64,
) -> bool {
    unsafe {
        get_into(error, name, out, |d| match d {
            Detail::Int(n) => Some(*n),
            Detail::Count(n) => i64::try_from(*n).ok(),
            _ => None,
        })
    }
}

/// If `error` has a duration detail named `name` (`elapsed`, and `limit` of
/// a timeout), stores it in seconds in `*seconds_out` and returns true;
/// otherwise returns false and leaves `*seconds_out` alone. E.g. how long a
/// timed-out or interrupted call ran: `aegis_error_get_seconds(err,
/// "elapsed", &s)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_get_seconds(
    error: *const aegis_error_t,
    name: *const c_char,
    seconds_out: *mut f64,
) -> bool {
    unsafe {
        get_into(error, name, seconds_out, |d| match d {
            Detail::Seconds(t) => Some(t.as_secs_f64()),
            _ => None,
        })
    }
}

/// The whole error as a JSON object: `code` (its name), `message`, then
/// each detail, e.g. `{"code":"out_of_fuel","message":"...","consumed":5,
/// "limit":5}`. Borrowed: valid until `aegis_error_delete(error)`. Returns
/// "{}" if `error` is NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_error_to_json(error: *const aegis_error_t) -> *const c_char {
    guard_value(c"{}".as_ptr(), || match unsafe { error.as_ref() } {
        Some(e) => e
            .json
            .get_or_init(|| c_string(&e.error.to_json().to_string()))
            .as_ptr(),
        None => c"{}".as_ptr(),
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

    /// One error of every code, with every detail filled in.
    fn one_of_each() -> Vec<Error> {
        use aegis_core::{Capability, Operation, Resource, TrapCode};
        use std::time::Duration;
        vec![
            Error::InvalidModule {
                message: "m".into(),
            },
            Error::Link {
                module: "env".into(),
                name: "f".into(),
                reason: "missing".into(),
            },
            Error::ExportNotFound {
                name: "x".into(),
                available: vec!["add".into(), "sub".into()],
            },
            Error::SignatureMismatch {
                name: "add".into(),
                expected: "(i32) -> ()".into(),
                given: "()".into(),
            },
            Error::OutOfFuel {
                consumed: 5,
                limit: 5,
            },
            Error::Timeout {
                elapsed: Duration::from_millis(250),
                limit: Duration::from_millis(200),
            },
            Error::MemoryLimitExceeded {
                resource: Resource::Memory,
                requested: 1 << 20,
                limit: 1000,
            },
            Error::StackOverflow { limit: 65536 },
            Error::Trap {
                code: TrapCode::Unreachable,
                message: "unreachable".into(),
                backtrace: "0: f".into(),
            },
            Error::HostFunction {
                message: "h".into(),
                payload: None,
            },
            Error::PermissionDenied {
                capability: Capability::Module,
                operation: Operation::Load,
                target: "sha256:00".into(),
            },
            Error::Io {
                message: "io".into(),
            },
            invalid("bad"),
            Error::Exit { status: -3 },
            Error::Interrupted {
                elapsed: Duration::from_millis(1500),
            },
            Error::ModuleTooComplex {
                what: "functions",
                found: 10,
                limit: 1,
            },
            Error::Busy,
            Error::MemoryOutOfBounds {
                offset: 65530,
                len: 16,
                size: 65536,
            },
            Error::ResultTooLarge {
                size: 1 << 20,
                limit: 4,
            },
            Error::InvalidResult {
                message: "not UTF-8".into(),
            },
        ]
    }

    fn text(ptr: *const c_char) -> String {
        assert!(!ptr.is_null());
        unsafe { std::ffi::CStr::from_ptr(ptr) }
            .to_str()
            .unwrap()
            .to_string()
    }

    /// Every core code has a sample here, every detail name of the core is
    /// reachable through the C accessors with the core's value, and the
    /// header documents each name.
    #[test]
    fn every_detail_is_reachable_by_name() {
        let errors = one_of_each();
        let codes: Vec<ErrorCode> = errors.iter().map(Error::code).collect();
        assert_eq!(codes, ErrorCode::ALL, "one sample per code, in order");
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/aegis.h"))
                .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for error in errors {
            let core_json = error.to_json();
            let core_details = error.details();
            let raw = aegis_error_t::into_raw(error);
            unsafe {
                assert_eq!(aegis_error_detail_count(raw), core_details.len());
                for (i, (name, value)) in core_details.iter().enumerate() {
                    assert!(
                        aegis_core::details::DETAIL_NAMES.contains(name),
                        "{name} is not in DETAIL_NAMES"
                    );
                    assert!(
                        header.contains(&format!("`{name}`")),
                        "header lacks `{name}`"
                    );
                    seen.insert(*name);
                    assert_eq!(text(aegis_error_detail_name(raw, i)), *name);
                    let json = value.to_json().to_string();
                    assert_eq!(text(aegis_error_detail_json(raw, i)), json);
                    let cname = std::ffi::CString::new(*name).unwrap();
                    assert_eq!(text(aegis_error_get(raw, cname.as_ptr())), json);
                    let (mut u, mut i64_, mut secs) = (0u64, 0i64, 0f64);
                    match value {
                        Detail::Text(t) => {
                            assert_eq!(&text(aegis_error_get_text(raw, cname.as_ptr())), t)
                        }
                        Detail::Count(n) => {
                            assert!(aegis_error_get_u64(raw, cname.as_ptr(), &mut u));
                            assert_eq!(u, *n);
                            assert!(aegis_error_get_i64(raw, cname.as_ptr(), &mut i64_));
                        }
                        Detail::Int(n) => {
                            assert!(aegis_error_get_i64(raw, cname.as_ptr(), &mut i64_));
                            assert_eq!(i64_, *n);
                        }
                        Detail::Seconds(d) => {
                            assert!(aegis_error_get_seconds(raw, cname.as_ptr(), &mut secs));
                            assert_eq!(secs, d.as_secs_f64());
                            assert!(!aegis_error_get_u64(raw, cname.as_ptr(), &mut u));
                        }
                        Detail::Names(_) => {
                            assert!(aegis_error_get_text(raw, cname.as_ptr()).is_null())
                        }
                    }
                }
                assert!(aegis_error_detail_name(raw, core_details.len()).is_null());
                assert!(aegis_error_detail_json(raw, core_details.len()).is_null());
                assert!(aegis_error_get(raw, c"no_such_detail".as_ptr()).is_null());
                let json: serde_json::Value =
                    serde_json::from_str(&text(aegis_error_to_json(raw))).unwrap();
                assert_eq!(json, core_json);
                aegis_error_delete(raw);
            }
        }
        let all: std::collections::BTreeSet<&str> =
            aegis_core::details::DETAIL_NAMES.iter().copied().collect();
        assert_eq!(seen, all, "every detail name is reachable");
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
