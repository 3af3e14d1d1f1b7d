//! JS functions as host functions, callable from the JS thread (sync calls)
//! and from worker threads (`callAsync`).
//!
//! Node-API values live on the JS thread. A host function called on that
//! thread runs the JS function directly. Called from a worker, it queues the
//! call on the JS thread through a threadsafe function and blocks until the
//! JS thread has run it; the guest waits meanwhile, its wall-clock budget
//! still running. A JS exception traps the guest with a `HostError` whose
//! payload is the original exception (a `napi::Error` keeping a reference to
//! it), restored as `cause` when the error reaches JS.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::ThreadId;

use aegis_core::{HostCaller, HostError, ValType, Value};
use napi::bindgen_prelude::{Function, FunctionRef, Unknown};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsValue, Status, ValueType, sys};

use crate::errors::Failure;
use crate::values::{js_to_value, type_name, type_of, value_to_js};

/// Work run on the JS thread.
type Job = Box<dyn FnOnce(&Env) + Send>;

/// A weak threadsafe function that runs `Job`s on the JS thread.
type Dispatcher = ThreadsafeFunction<Job, (), (), Status, false, true>;

/// A JS function stored for calls from any thread.
pub type JsCallback = FunctionRef<Unknown<'static>, Unknown<'static>>;

/// The JS thread of one addon instance: its id, env, and a way to run work on it.
pub struct JsThread {
    id: ThreadId,
    env: RawEnv,
    dispatcher: Dispatcher,
}

/// The env pointer, only ever dereferenced on its own thread (`JsThread::id`).
struct RawEnv(sys::napi_env);

// SAFETY: the pointer is used only on the thread that owns it (checked by `JsThread::id`).
unsafe impl Send for RawEnv {}
// SAFETY: as above.
unsafe impl Sync for RawEnv {}

impl JsThread {
    /// Captures the current (JS) thread. Must be called from a JS callback.
    pub fn current(env: &Env) -> napi::Result<Arc<Self>> {
        let noop: Function<'_, (), ()> =
            env.create_function_from_closure("aegisHostDispatch", |_ctx| Ok(()))?;
        let dispatcher = noop
            .build_threadsafe_function::<Job>()
            .weak::<true>()
            .build_callback(|ctx: ThreadsafeCallContext<Job>| {
                (ctx.value)(&ctx.env);
                Ok(())
            })?;
        Ok(Arc::new(JsThread {
            id: std::thread::current().id(),
            env: RawEnv(env.raw()),
            dispatcher,
        }))
    }

    /// Runs `job` on the JS thread and returns its result, blocking a worker
    /// until the JS thread has run it.
    fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&Env) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        if std::thread::current().id() == self.id {
            return Ok(job(&Env::from_raw(self.env.0)));
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let status = self.dispatcher.call(
            Box::new(move |env: &Env| {
                let _ = tx.send(job(env));
            }),
            ThreadsafeFunctionCallMode::Blocking,
        );
        if status != Status::Ok {
            return Err(HostError::new(format!(
                "cannot reach the JavaScript thread ({status})"
            )));
        }
        rx.recv()
            .map_err(|_| HostError::new("the JavaScript thread dropped the host call"))
    }
}

/// A registered JS host function: what aegis-core calls.
pub struct JsHostFunction {
    /// `module.name`, for messages.
    pub label: String,
    /// The JS function.
    pub callback: Arc<JsCallback>,
    /// Declared result types.
    pub results: Vec<ValType>,
    /// The JS thread it belongs to.
    pub thread: Arc<JsThread>,
}

impl JsHostFunction {
    /// Calls the JS function with `args` from whatever thread the guest runs on.
    pub fn call(
        &self,
        _caller: &mut HostCaller<'_>,
        args: &[Value],
    ) -> Result<Vec<Value>, HostError> {
        let callback = Arc::clone(&self.callback);
        let label = self.label.clone();
        let results = self.results.clone();
        let args = args.to_vec();
        self.thread.run(move |env| {
            // A scope per call keeps a long-running guest's host calls from piling up handles.
            env.run_in_scope(|| Ok(invoke(env, &callback, &label, &args, &results)))
                .unwrap_or_else(|e| Err(HostError::new(format!("host function `{label}`: {e}"))))
        })?
    }
}

/// Calls the JS function on the JS thread and converts its return value.
fn invoke(
    env: &Env,
    callback: &JsCallback,
    label: &str,
    args: &[Value],
    results: &[ValType],
) -> Result<Vec<Value>, HostError> {
    let napi_failed = |e: napi::Error| HostError::new(format!("host function `{label}`: {e}"));
    let func = callback.borrow_back(env).map_err(napi_failed)?;
    let argv = args
        .iter()
        .map(|v| value_to_js(env, *v))
        .collect::<napi::Result<Vec<_>>>()
        .map_err(napi_failed)?;
    let mut this = std::ptr::null_mut();
    let mut ret = std::ptr::null_mut();
    // SAFETY: every value belongs to `env`, the live env of this thread.
    let status = unsafe {
        sys::napi_get_undefined(env.raw(), &mut this);
        sys::napi_call_function(
            env.raw(),
            this,
            func.raw(),
            argv.len(),
            argv.as_ptr(),
            &mut ret,
        )
    };
    if status == sys::Status::napi_pending_exception {
        return Err(thrown(env, label));
    }
    if status != sys::Status::napi_ok {
        return Err(HostError::new(format!(
            "host function `{label}` could not be called ({})",
            Status::from(status)
        )));
    }
    returned(env, ret, label, results)
}

/// Takes the pending JS exception and wraps it as the error's payload.
fn thrown(env: &Env, label: &str) -> HostError {
    let mut exception = std::ptr::null_mut();
    // SAFETY: an exception is pending on this live env.
    unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut exception) };
    // SAFETY: `exception` is a live value of `env`.
    let original = napi::Error::from_unknown_without_coercion(unsafe {
        Unknown::from_raw_unchecked(env.raw(), exception)
    });
    let message = format!("host function `{label}` threw: {}", original.reason);
    HostError::with_payload(message, Box::new(original))
}

/// Converts what the JS function returned to the declared result types.
fn returned(
    env: &Env,
    ret: sys::napi_value,
    label: &str,
    results: &[ValType],
) -> Result<Vec<Value>, HostError> {
    match results.len() {
        0 => Ok(Vec::new()),
        1 => Ok(vec![result(env, ret, label, results[0], "the result")?]),
        n => {
            let mut is_array = false;
            // SAFETY: `ret` is a live value of `env`.
            unsafe { sys::napi_is_array(env.raw(), ret, &mut is_array) };
            let mut len = 0;
            if is_array {
                // SAFETY: `ret` is an array of `env`.
                unsafe { sys::napi_get_array_length(env.raw(), ret, &mut len) };
            }
            if !is_array || len as usize != n {
                return Err(HostError::new(format!(
                    "host function `{label}` must return an array of {n} values"
                )));
            }
            (0..n)
                .map(|i| {
                    let mut item = std::ptr::null_mut();
                    // SAFETY: `ret` is an array of `env` with `n` elements.
                    unsafe { sys::napi_get_element(env.raw(), ret, i as u32, &mut item) };
                    result(env, item, label, results[i], &format!("result {i}"))
                })
                .collect()
        }
    }
}

/// One returned value, which must be exactly of the declared type.
fn result(
    env: &Env,
    raw: sys::napi_value,
    label: &str,
    ty: ValType,
    what: &str,
) -> Result<Value, HostError> {
    let wrong = |got: &str| {
        HostError::new(format!(
            "host function `{label}` returned {got} as {what}, expected {} ({ty})",
            if ty == ValType::I64 {
                "a BigInt"
            } else {
                "a number"
            }
        ))
    };
    let kind = type_of(env, raw).map_err(|e| HostError::new(e.to_string()))?;
    let fits = matches!(
        (kind, ty),
        (ValueType::BigInt, ValType::I64)
            | (
                ValueType::Number,
                ValType::I32 | ValType::F32 | ValType::F64
            )
    );
    if !fits {
        return Err(wrong(type_name(kind)));
    }
    js_to_value(
        env,
        raw,
        Some(ty),
        &format!("{what} of host function `{label}`"),
    )
    .map_err(|f| match f {
        Failure::Aegis(e) => HostError::new(e.to_string()),
        Failure::Napi(e) => HostError::new(e.to_string()),
    })
}
