//! Aegis errors as JS `Error`s with a stable `code` (`AEGIS_OUT_OF_FUEL`, ...)
//! and detail properties.

use aegis_core::policy::camel_case;
use aegis_core::{Detail, Error, ErrorCode};
use napi::bindgen_prelude::{Object, ToNapiValue, Unknown};
use napi::{Env, JsValue, Status, sys};

/// What can go wrong inside the binding: an Aegis error, or a Node-API failure.
pub enum Failure {
    /// An error of aegis-core (or one the binding raises with an Aegis code).
    Aegis(Error),
    /// A Node-API call failed, or JS code threw while the binding ran it.
    Napi(napi::Error),
}

/// Result alias for binding internals; converted to a thrown JS error at the boundary.
pub type Fallible<T> = Result<T, Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Aegis(e)
    }
}

impl From<napi::Error> for Failure {
    fn from(e: napi::Error) -> Self {
        Failure::Napi(e)
    }
}

/// An `AEGIS_INVALID_ARGUMENT` failure.
pub fn invalid_argument(message: impl Into<String>) -> Failure {
    Failure::Aegis(Error::InvalidArgument {
        message: message.into(),
    })
}

/// The JS `code` of a stable code: `AEGIS_` + upper case.
pub fn js_code(code: ErrorCode) -> String {
    format!("AEGIS_{}", code.as_str().to_ascii_uppercase())
}

/// Converts a failure into the error a `#[napi]` function returns (and so throws
/// or rejects with): for Aegis errors, a JS `Error` carrying `code` and details.
pub fn to_js(env: &Env, failure: Failure) -> napi::Error {
    match failure {
        Failure::Napi(e) => e,
        Failure::Aegis(e) => match build_error(env, e) {
            Ok(obj) => {
                // SAFETY: `obj` is a live object of `env`.
                let unknown = unsafe { Unknown::from_raw_unchecked(env.raw(), obj.raw()) };
                napi::Error::from_unknown_without_coercion(unknown)
            }
            Err(e) => e,
        },
    }
}

/// Like `to_js` for an Aegis error, with `cause` set to `cause` (a live value of `env`).
pub fn to_js_with_cause(env: &Env, err: Error, cause: sys::napi_value) -> napi::Error {
    let built = build_error(env, err).and_then(|mut obj| {
        // SAFETY: `cause` is a live value of `env`.
        obj.set("cause", unsafe {
            Unknown::from_raw_unchecked(env.raw(), cause)
        })?;
        Ok(obj)
    });
    match built {
        Ok(obj) => {
            // SAFETY: `obj` is a live object of `env`.
            let unknown = unsafe { Unknown::from_raw_unchecked(env.raw(), obj.raw()) };
            napi::Error::from_unknown_without_coercion(unknown)
        }
        Err(e) => e,
    }
}

/// What `new X()` throws for a class only Aegis creates: an
/// `AEGIS_INVALID_ARGUMENT` saying how to get one.
pub fn not_constructible<T>(env: &Env, class: &str, how: &str) -> napi::Result<T> {
    Err(to_js(
        env,
        invalid_argument(format!("{class} objects cannot be constructed: {how}")),
    ))
}

/// Runs `f` and converts its failure for the JS boundary.
pub fn boundary<T>(env: &Env, f: impl FnOnce() -> Fallible<T>) -> napi::Result<T> {
    f().map_err(|e| to_js(env, e))
}

/// Builds `Error(message)` with `code`, `aegisCode` and the error's details
/// (`Error::details()`, camelCase: `trapCode`, `elapsed`, ...), one generic
/// mapping for every code. A host function's original exception is the `cause`.
fn build_error(env: &Env, err: Error) -> napi::Result<Object<'_>> {
    let code = err.code();
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, err.to_string()))?;
    obj.set("code", js_code(code))?;
    obj.set("aegisCode", code.as_str())?;
    for (name, value) in err.details() {
        let name = camel_case(name);
        match value {
            Detail::Text(text) => obj.set(name, text)?,
            Detail::Count(n) => obj.set(name, n as f64)?,
            Detail::Int(n) => obj.set(name, n as f64)?,
            Detail::Seconds(d) => obj.set(name, d.as_secs_f64())?,
            Detail::Names(names) => obj.set(name, names)?,
        }
    }
    if let Error::HostFunction {
        payload: Some(payload),
        ..
    } = err
        && let Ok(original) = payload.0.downcast::<napi::Error>()
    {
        // SAFETY: `env` is live; the original value is restored on its own thread.
        let cause = unsafe { napi::Error::to_napi_value(env.raw(), *original)? };
        // SAFETY: `cause` was just produced in `env`.
        obj.set("cause", unsafe {
            Unknown::from_raw_unchecked(env.raw(), cause)
        })?;
    }
    Ok(obj)
}

/// The JS codes of every core code (`ERROR_CODES`), as a frozen array.
pub struct ErrorCodeList;

impl ToNapiValue for ErrorCodeList {
    unsafe fn to_napi_value(env: sys::napi_env, _: Self) -> napi::Result<sys::napi_value> {
        crate::values::frozen_strings(&Env::from_raw(env), all_codes())
    }
}

/// Every JS error code, e.g. `AEGIS_OUT_OF_FUEL`, in the core's order.
pub fn all_codes() -> Vec<String> {
    ErrorCode::ALL.into_iter().map(js_code).collect()
}

/// Whether `raw` is an `Error` whose own or inherited `code` is a JS code
/// of the core (`AEGIS_...`). A getter that throws makes it false (the
/// exception is cleared).
pub fn is_aegis_error(env: &Env, raw: sys::napi_value) -> bool {
    let mut is_error = false;
    // SAFETY (each call): `raw` is a live value of `env`, the current env.
    let status = unsafe { sys::napi_is_error(env.raw(), raw, &mut is_error) };
    if status != sys::Status::napi_ok || !is_error {
        return false;
    }
    let mut code = std::ptr::null_mut();
    let status =
        unsafe { sys::napi_get_named_property(env.raw(), raw, c"code".as_ptr(), &mut code) };
    if status != sys::Status::napi_ok {
        let mut ignored = std::ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut ignored) };
        return false;
    }
    let mut buf = [0u8; 64];
    let mut len = 0;
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            code,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    status == sys::Status::napi_ok
        && std::str::from_utf8(&buf[..len])
            .is_ok_and(|code| ErrorCode::ALL.into_iter().any(|c| js_code(c) == code))
}
