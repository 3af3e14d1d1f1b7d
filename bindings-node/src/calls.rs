//! The per-call entry points, on Node-API directly: `Sandbox.prototype.call`
//! and the functions `sandbox.func(name)` returns.
//!
//! napi-rs's closures collect a call's arguments into a new vector and its
//! `this` into a checked class instance; these read the arguments into a
//! stack buffer and the export name into another. A bound function also
//! skips the name's conversion and the class check: its sandbox and name
//! are its own data.

use std::ffi::c_void;
use std::panic::AssertUnwindSafe;
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{ClassInstance, FromNapiValue};
use napi::{Env, JsError, sys};

use crate::errors::{Fallible, invalid_argument, to_js};
use crate::sandbox::{Sandbox, SandboxState};
use crate::values::check;

/// Arguments read without a heap allocation; more take one.
const STACK_ARGS: usize = 8;

/// The arguments, `this` and function data of one JS call.
struct CallInfo {
    stack: [sys::napi_value; STACK_ARGS],
    heap: Vec<sys::napi_value>,
    argc: usize,
    this: sys::napi_value,
    data: *mut c_void,
}

impl CallInfo {
    /// Reads the call `info` of a callback running in `env`.
    fn read(env: &Env, info: sys::napi_callback_info) -> napi::Result<Self> {
        let mut call = CallInfo {
            stack: [ptr::null_mut(); STACK_ARGS],
            heap: Vec::new(),
            argc: STACK_ARGS,
            this: ptr::null_mut(),
            data: ptr::null_mut(),
        };
        // SAFETY: `info` belongs to the running callback; `stack` has room for `argc` values.
        check(unsafe {
            sys::napi_get_cb_info(
                env.raw(),
                info,
                &mut call.argc,
                call.stack.as_mut_ptr(),
                &mut call.this,
                &mut call.data,
            )
        })?;
        if call.argc > STACK_ARGS {
            call.heap = vec![ptr::null_mut(); call.argc];
            let mut argc = call.argc;
            // SAFETY: as above, `heap` has room for all `argc` values.
            check(unsafe {
                sys::napi_get_cb_info(
                    env.raw(),
                    info,
                    &mut argc,
                    call.heap.as_mut_ptr(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            })?;
        }
        Ok(call)
    }

    /// The call's arguments.
    fn args(&self) -> &[sys::napi_value] {
        if self.argc > STACK_ARGS {
            &self.heap
        } else {
            &self.stack[..self.argc]
        }
    }
}

/// Runs the body of a JS-callable function: its failure, or a panic, is
/// thrown as a JS error (a panic never unwinds into Node).
fn entry(
    raw_env: sys::napi_env,
    body: impl FnOnce(&Env) -> Fallible<sys::napi_value>,
) -> sys::napi_value {
    let env = Env::from_raw(raw_env);
    let error = match std::panic::catch_unwind(AssertUnwindSafe(|| body(&env))) {
        Ok(Ok(value)) => return value,
        Ok(Err(failure)) => to_js(&env, failure),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            napi::Error::from_reason(format!("aegis: internal error: {message}"))
        }
    };
    // SAFETY: `raw_env` is the live env of this callback.
    unsafe { JsError::from(error).throw_into(raw_env) };
    ptr::null_mut()
}

/// Calls `f` with the export name `raw`, read into a stack buffer unless
/// it is long; anything but a string is `AEGIS_INVALID_ARGUMENT`.
fn with_name<R>(
    env: &Env,
    raw: sys::napi_value,
    method: &str,
    f: impl FnOnce(&str) -> Fallible<R>,
) -> Fallible<R> {
    let mut buf = [0u8; 128];
    let mut len = 0;
    // SAFETY: `raw` is a live value of `env`; `buf` has room for `buf.len()` bytes.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            raw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    if status == sys::Status::napi_string_expected {
        return Err(invalid_argument(format!(
            "{method}(name, ...args): name must be a string"
        )));
    }
    check(status)?;
    // Node writes whole UTF-8 characters: a name that filled the buffer may
    // have been cut, so it is read again in full.
    match std::str::from_utf8(&buf[..len]) {
        Ok(name) if len < buf.len() - 1 => f(name),
        _ => {
            // SAFETY: `raw` is a live string of `env`.
            let name = unsafe { String::from_napi_value(env.raw(), raw)? };
            f(&name)
        }
    }
}

/// `Sandbox.prototype.call(name, ...args)`.
unsafe extern "C" fn call_method(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    entry(raw_env, |env| {
        let call = CallInfo::read(env, info)?;
        // SAFETY: `this` is a live value of `env`; the class check refuses
        // anything but a `Sandbox`.
        let this = unsafe { ClassInstance::<Sandbox>::from_napi_value(env.raw(), call.this)? };
        let Some((name, args)) = call.args().split_first() else {
            return Err(invalid_argument(
                "call(name, ...args): name must be a string",
            ));
        };
        with_name(env, *name, "call", |name| this.call_now(env, name, args))
    })
}

/// Installs `call` on `prototype` (the `Sandbox` class's).
pub fn install_call(env: &Env, prototype: sys::napi_value) -> napi::Result<()> {
    let name = "call";
    let mut func = ptr::null_mut();
    // SAFETY: `env` is live; `call_method` needs no data.
    unsafe {
        check(sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(call_method),
            ptr::null_mut(),
            &mut func,
        ))?;
        check(sys::napi_set_named_property(
            env.raw(),
            prototype,
            c"call".as_ptr(),
            func,
        ))
    }
}

/// What a function from `sandbox.func(name)` holds.
struct Bound {
    state: Arc<SandboxState>,
    name: String,
}

/// A function bound to export `name` of the sandbox (`sandbox.func(name)`);
/// it holds the sandbox until it is garbage-collected.
pub fn bind(env: &Env, state: Arc<SandboxState>, name: String) -> napi::Result<sys::napi_value> {
    let bound = Box::into_raw(Box::new(Bound { state, name }));
    // SAFETY: `bound` is a valid box until the finalizer (or the failure
    // path, where no function can use it) takes it back.
    unsafe {
        let name = &(*bound).name;
        let mut func = ptr::null_mut();
        let mut status = sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(call_bound),
            bound.cast(),
            &mut func,
        );
        if status == sys::Status::napi_ok {
            status = sys::napi_add_finalizer(
                env.raw(),
                func,
                bound.cast(),
                Some(drop_bound),
                ptr::null_mut(),
                ptr::null_mut(),
            );
        }
        if status != sys::Status::napi_ok {
            // The function, if made, is never returned, so never called.
            drop(Box::from_raw(bound));
        }
        check(status)?;
        Ok(func)
    }
}

/// Calls a bound function's export.
unsafe extern "C" fn call_bound(
    raw_env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    entry(raw_env, |env| {
        let call = CallInfo::read(env, info)?;
        // SAFETY: the data of a function made by `bind` is its live `Bound`.
        let bound = unsafe { &*call.data.cast::<Bound>() };
        bound.state.call_now(env, &bound.name, call.args())
    })
}

/// Frees a bound function's data once the function is collected.
unsafe extern "C" fn drop_bound(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box `bind` leaked, finalized exactly once.
    drop(unsafe { Box::from_raw(data.cast::<Bound>()) });
}
