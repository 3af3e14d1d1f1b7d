//! Stopping a call from JS: `sandbox.interrupt()`, `InterruptHandle`, and the
//! `{ signal }` option of `callAsync`/`runAsync`.
//!
//! The core's `InterruptHandle` is kept outside the sandbox's busy mark and
//! mutex, so interrupting never waits for the call it stops. An `AbortSignal`
//! is wired to the same handle by an `abort` listener that lives exactly as
//! long as its call: it is added when the call is queued and removed when
//! the promise settles, so aborting a signal later never touches another call.

use std::sync::{Arc, Mutex, PoisonError};

use napi::{Env, ValueType, sys};
use napi_derive::napi;

use crate::errors::{Fallible, invalid_argument};
use crate::values::{bounded, check, global, own_key_values, property, string, type_name, type_of};

/// Stops the call running in one sandbox. Get one from `sandbox.interruptHandle()`.
///
/// `interrupt()` ends the running call with `AEGIS_INTERRUPTED` within
/// milliseconds, whether the guest computes or waits in WASI (a sleep, a
/// read). If no call is running, the request is kept and the sandbox's next
/// call fails with `AEGIS_INTERRUPTED` at once, without running guest code;
/// that call consumes it. `pending` tells whether a request is waiting.
#[napi]
pub struct InterruptHandle {
    inner: aegis_core::InterruptHandle,
}

impl InterruptHandle {
    pub fn new(inner: aegis_core::InterruptHandle) -> Self {
        InterruptHandle { inner }
    }
}

#[napi]
impl InterruptHandle {
    /// Not for JS code (throws `AEGIS_INVALID_ARGUMENT`): use
    /// `sandbox.interruptHandle()`.
    #[napi(constructor, skip_typescript)]
    pub fn construct(env: Env) -> napi::Result<Self> {
        crate::errors::not_constructible(&env, "InterruptHandle", "use sandbox.interruptHandle()")
    }

    /// Stops the sandbox's running call (or, if none runs, its next call)
    /// with `AEGIS_INTERRUPTED`. Never blocks.
    #[napi]
    pub fn interrupt(&self) {
        self.inner.interrupt();
    }

    /// Whether an interrupt was requested and no call has consumed it yet.
    #[napi(getter)]
    pub fn pending(&self) -> bool {
        self.inner.is_pending()
    }
}

/// The options object of `callAsync(name, ...args, options)` and `runAsync(options)`.
pub struct CallOptions {
    /// The `AbortSignal`, if one was given.
    pub signal: Option<sys::napi_value>,
}

/// Reads `{ signal }`, refusing anything else: the object must be a plain
/// object (so an `AbortSignal` or an array passed by mistake is an error, not
/// an empty options object), its only key `signal`, and `signal` an
/// `AbortSignal` or `undefined`.
pub fn parse_call_options(env: &Env, raw: sys::napi_value, method: &str) -> Fallible<CallOptions> {
    let kind = type_of(env, raw)?;
    if kind != ValueType::Object || !is_plain_object(env, raw)? {
        return Err(invalid_argument(format!(
            "{method}: the options must be a plain object such as {{ signal }}, got {}",
            describe(env, raw, kind)?
        )));
    }
    if let Some(key) = unknown_key(env, raw, "signal")? {
        return Err(invalid_argument(format!(
            "{method}: unknown option `{}` (the options object takes only `signal`)",
            bounded(&key)
        )));
    }
    let signal = property(env, raw, "signal")?;
    let signal = match type_of(env, signal)? {
        ValueType::Undefined => None,
        _ if is_abort_signal(env, signal)? => Some(signal),
        other => {
            return Err(invalid_argument(format!(
                "{method}: `signal` must be an AbortSignal, got {}",
                describe(env, signal, other)?
            )));
        }
    };
    Ok(CallOptions { signal })
}

/// `signal.aborted`.
pub fn is_aborted(env: &Env, signal: sys::napi_value) -> Fallible<bool> {
    let aborted = property(env, signal, "aborted")?;
    let mut value = false;
    // SAFETY: `aborted` is a live value of `env`; a non-boolean is refused by napi.
    check(unsafe { sys::napi_get_value_bool(env.raw(), aborted, &mut value) })?;
    Ok(value)
}

/// `signal.reason`.
pub fn reason(env: &Env, signal: sys::napi_value) -> napi::Result<sys::napi_value> {
    property(env, signal, "reason")
}

/// Where an async call is, as seen by its abort listener.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Queued on the thread pool; an interrupt now stops it before guest code runs.
    #[default]
    Queued,
    /// The guest is running.
    Running,
    /// The guest has returned; an interrupt now would hit the *next* call.
    Finished,
}

#[derive(Default)]
struct WatchState {
    phase: Phase,
    /// The signal aborted while the call was queued or running.
    aborted: bool,
}

/// A JS value kept alive across the call; created, read and deleted on the
/// JS thread only (`attach` and the task's `resolve`/`finally`).
struct JsRef(sys::napi_ref);

// SAFETY: the reference is only used on the JS thread that created it; the
// worker thread never touches it (it only moves with the task).
unsafe impl Send for JsRef {}

impl JsRef {
    fn new(env: &Env, value: sys::napi_value) -> napi::Result<Self> {
        let mut reference = std::ptr::null_mut();
        // SAFETY: `value` is a live object of `env`.
        check(unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut reference) })?;
        Ok(JsRef(reference))
    }

    fn get(&self, env: &Env) -> napi::Result<sys::napi_value> {
        let mut value = std::ptr::null_mut();
        // SAFETY: the reference is live until `delete`; strong, so the value is too.
        check(unsafe { sys::napi_get_reference_value(env.raw(), self.0, &mut value) })?;
        Ok(value)
    }

    fn delete(self, env: &Env) -> napi::Result<()> {
        // SAFETY: deleted exactly once, by value, on the JS thread.
        check(unsafe { sys::napi_delete_reference(env.raw(), self.0) })
    }
}

/// An `AbortSignal` wired to one async call.
pub struct AbortWatch {
    state: Arc<Mutex<WatchState>>,
    signal: JsRef,
    listener: JsRef,
    handle: aegis_core::InterruptHandle,
}

impl AbortWatch {
    /// Adds an `abort` listener to `signal` that interrupts the call through
    /// `handle` unless the call has already finished.
    pub fn attach(
        env: &Env,
        signal: sys::napi_value,
        handle: aegis_core::InterruptHandle,
    ) -> Fallible<Self> {
        let state = Arc::new(Mutex::new(WatchState::default()));
        let shared = Arc::clone(&state);
        let interrupt = handle.clone();
        let listener =
            env.create_function_from_closure::<(), (), _>("aegisAbort", move |_ctx| {
                let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                if state.phase != Phase::Finished && !state.aborted {
                    state.aborted = true;
                    interrupt.interrupt();
                }
                Ok(())
            })?;
        let listener = napi::JsValue::raw(&listener);
        let mut once = std::ptr::null_mut();
        let mut yes = std::ptr::null_mut();
        // SAFETY: every value belongs to `env`, the live env of this JS callback.
        unsafe {
            check(sys::napi_create_object(env.raw(), &mut once))?;
            check(sys::napi_get_boolean(env.raw(), true, &mut yes))?;
            check(sys::napi_set_named_property(
                env.raw(),
                once,
                c"once".as_ptr(),
                yes,
            ))?;
        }
        let event = string(env, "abort")?;
        call_method(env, signal, "addEventListener", &[event, listener, once])?;
        Ok(AbortWatch {
            state,
            signal: JsRef::new(env, signal)?,
            listener: JsRef::new(env, listener)?,
            handle,
        })
    }

    fn set_phase(&self, phase: Phase) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .phase = phase;
    }

    /// The guest is about to run (worker thread).
    pub fn started(&self) {
        self.set_phase(Phase::Running);
    }

    /// The guest has returned (worker thread); aborting now does nothing.
    ///
    /// Returns whether this watch's abort left an interrupt request that the
    /// call did not consume: the signal aborted after the guest's last check
    /// but before this point. The core keeps such a request for the *next*
    /// call, and offers no way to withdraw it, so the caller must consume it
    /// (see `CallTask::compute`).
    pub fn finished(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.phase = Phase::Finished;
        state.aborted && self.handle.is_pending()
    }

    /// Whether the signal aborted while the call was queued or running.
    pub fn aborted(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .aborted
    }

    /// `signal.reason` (JS thread).
    pub fn reason(&self, env: &Env) -> napi::Result<sys::napi_value> {
        reason(env, self.signal.get(env)?)
    }

    /// Removes the listener and drops the references (JS thread, once the call settled).
    pub fn detach(self, env: &Env) -> napi::Result<()> {
        let removed = (|| {
            let signal = self.signal.get(env)?;
            let listener = self.listener.get(env)?;
            let event = string(env, "abort")?;
            call_method(env, signal, "removeEventListener", &[event, listener])
        })();
        let signal = self.signal.delete(env);
        let listener = self.listener.delete(env);
        removed.and(signal).and(listener)
    }
}

/// `object[name](...args)`.
fn call_method(
    env: &Env,
    object: sys::napi_value,
    name: &str,
    args: &[sys::napi_value],
) -> napi::Result<()> {
    let method = property(env, object, name)?;
    let mut ret = std::ptr::null_mut();
    // SAFETY: every value is a live value of `env`.
    check(unsafe {
        sys::napi_call_function(
            env.raw(),
            object,
            method,
            args.len(),
            args.as_ptr(),
            &mut ret,
        )
    })
}

/// Whether `value` is an `AbortSignal` of this realm.
fn is_abort_signal(env: &Env, value: sys::napi_value) -> napi::Result<bool> {
    if type_of(env, value)? != ValueType::Object {
        return Ok(false);
    }
    let class = global(env, "AbortSignal")?;
    let mut yes = false;
    // SAFETY: `value` is an object and `class` a live value of `env`.
    check(unsafe { sys::napi_instanceof(env.raw(), value, class, &mut yes) })?;
    Ok(yes)
}

/// Whether the object's prototype is `Object.prototype` or `null`.
fn is_plain_object(env: &Env, object: sys::napi_value) -> napi::Result<bool> {
    let mut proto = std::ptr::null_mut();
    // SAFETY: `object` is a live object of `env`.
    check(unsafe { sys::napi_get_prototype(env.raw(), object, &mut proto) })?;
    if type_of(env, proto)? == ValueType::Null {
        return Ok(true);
    }
    let object_proto = property(env, global(env, "Object")?, "prototype")?;
    let mut same = false;
    // SAFETY: both are live values of `env`.
    check(unsafe { sys::napi_strict_equals(env.raw(), proto, object_proto, &mut same) })?;
    Ok(same)
}

/// The first of the object's own enumerable string keys that is not
/// `allowed`, if any. Reads at most a short prefix of each key, so a huge
/// options object or key costs nothing before it is refused.
fn unknown_key(env: &Env, object: sys::napi_value, allowed: &str) -> napi::Result<Option<String>> {
    for key in own_key_values(env, object)? {
        let mut buf = [0u8; 80];
        let mut written = 0;
        // SAFETY: `key` is a live string of `env`; napi writes at most
        // `buf.len() - 1` bytes and a NUL.
        check(unsafe {
            sys::napi_get_value_string_utf8(
                env.raw(),
                key,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut written,
            )
        })?;
        let text = String::from_utf8_lossy(&buf[..written]);
        if text != allowed {
            return Ok(Some(text.into_owned()));
        }
    }
    Ok(None)
}

/// A value's kind for messages (reads no property, so runs no getter).
fn describe(env: &Env, value: sys::napi_value, kind: ValueType) -> napi::Result<String> {
    if kind != ValueType::Object {
        return Ok(type_name(kind).to_string());
    }
    let mut is_array = false;
    // SAFETY: `value` is a live value of `env`.
    check(unsafe { sys::napi_is_array(env.raw(), value, &mut is_array) })?;
    Ok(if is_array {
        "an array".to_string()
    } else if is_abort_signal(env, value)? {
        "an AbortSignal (pass it as { signal })".to_string()
    } else if is_plain_object(env, value)? {
        "a plain object".to_string()
    } else {
        "an object whose prototype is not Object.prototype".to_string()
    })
}
