//! `Sandbox`: one isolated instance, its host functions, calls and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aegis_core::{Entered, ExternType, FuncType, SharedSandbox, Value};
use napi::bindgen_prelude::{AsyncTask, Buffer, Function, Unknown};
use napi::{Env, JsValue, ValueType, sys};
use napi_derive::napi;

use crate::errors::{Failure, Fallible, boundary, invalid_argument, to_js_with_cause};
use crate::host::{JsHostFunction, JsThread};
use crate::interrupt::{AbortWatch, CallOptions, InterruptHandle, is_aborted, parse_call_options};
use crate::metrics::MetricsValue;
use crate::module::Module;
use crate::task::{CallTask, Request, promise};
use crate::values::{js_to_arg, parse_types, results_to_js, string_arg, type_name, type_of};

/// The signature of a host function: wasm type names such as `"i32"`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct Signature {
    /// Parameter types (default none).
    pub params: Option<Vec<String>>,
    /// Result types (default none).
    pub results: Option<Vec<String>>,
}

/// An isolated place to run guest code: one instance at a time, every call
/// under the sandbox's limits. It runs one call at a time: a call started
/// while another runs (a `callAsync` in flight, or from one of its own host
/// functions) throws, or rejects, with `AEGIS_BUSY` at once.
#[napi]
pub struct Sandbox {
    /// The core's busy rule; its interrupt handle works while a call runs.
    shared: Arc<SharedSandbox>,
    thread: Arc<JsThread>,
    /// Whether a JS host function was registered: then synchronous calls run
    /// the guest on a helper thread (see `host.rs`).
    js_functions: AtomicBool,
}

impl Sandbox {
    /// Wraps a built sandbox; called on the JS thread.
    pub fn new(env: &Env, sandbox: aegis_core::Sandbox) -> Fallible<Self> {
        Ok(Sandbox {
            shared: Arc::new(SharedSandbox::new(sandbox)),
            js_functions: AtomicBool::new(false),
            thread: JsThread::current(env)?,
        })
    }

    /// Runs `f` on the sandbox, or fails with `AEGIS_BUSY`.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, aegis_core::Error>,
    ) -> Fallible<T> {
        Ok(self.shared.with(f)?)
    }

    /// Runs guest code synchronously with the sandbox entered: on this
    /// thread, or, if the guest may call JS host functions, on a helper
    /// thread while this thread runs them.
    fn with_guest<T: Send + 'static>(
        &self,
        env: &Env,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, aegis_core::Error> + Send + 'static,
    ) -> Fallible<T> {
        let entered = self.shared.enter()?;
        self.guest(env, entered, f)
    }

    /// `with_guest` for a caller that has entered the sandbox.
    fn guest<T: Send + 'static>(
        &self,
        env: &Env,
        entered: Entered,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, aegis_core::Error> + Send + 'static,
    ) -> Fallible<T> {
        if !self.js_functions.load(Ordering::Acquire) {
            return Ok(f(&mut entered.sandbox())?);
        }
        let outcome = self
            .thread
            .serve(env, move || f(&mut entered.sandbox()))
            .map_err(|e| aegis_core::Error::Io {
                message: format!("cannot start a thread for the call: {e}"),
            })?;
        Ok(outcome?)
    }

    /// Converts JS arguments using the export's parameter types (if it exists).
    fn arguments(
        env: &Env,
        sandbox: &aegis_core::Sandbox,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<Vec<Value>> {
        let sig = match sandbox.module().and_then(|m| m.export(name)) {
            Some(export) => match &export.ty {
                ExternType::Function(sig) => sig.clone(),
                // Not a function: the core's call reports it.
                _ => return Ok(Vec::new()),
            },
            None => return Ok(Vec::new()),
        };
        let args = raw
            .iter()
            .map(|v| js_to_arg(env, *v))
            .collect::<napi::Result<Vec<_>>>()?;
        Ok(aegis_core::coerce_args(name, &sig, &args)?)
    }

    /// `sandbox.call(name, ...args)` (installed on the prototype by `lib.rs`).
    pub(crate) fn call_now(
        &self,
        env: &Env,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<sys::napi_value> {
        let entered = self.shared.enter()?;
        let args = Self::arguments(env, &entered.sandbox(), name, raw)?;
        let name = name.to_string();
        let results = self.guest(env, entered, move |sandbox| {
            sandbox.call_dynamic(&name, &args)
        })?;
        Ok(results_to_js(env, results)?)
    }

    /// `sandbox.callAsync(name, ...args, options?)` (installed on the prototype by `lib.rs`).
    pub(crate) fn call_later(
        &self,
        env: &Env,
        name: &str,
        raw: &[sys::napi_value],
        options: Option<CallOptions>,
    ) -> Fallible<AsyncTask<CallTask>> {
        let signal = Self::live_signal(env, options)?;
        let entered = self.shared.enter()?;
        let args = Self::arguments(env, &entered.sandbox(), name, raw)?;
        self.task(env, entered, Request::Call(name.to_string(), args), signal)
    }

    /// The options' `AbortSignal`, if any; an already-aborted one fails with
    /// `AEGIS_INTERRUPTED` (its `reason` as `cause`) before anything runs.
    fn live_signal(env: &Env, options: Option<CallOptions>) -> Fallible<Option<sys::napi_value>> {
        let Some(signal) = options.and_then(|o| o.signal) else {
            return Ok(None);
        };
        if is_aborted(env, signal)? {
            let err = aegis_core::Error::Interrupted {
                elapsed: Duration::ZERO,
            };
            let reason = crate::interrupt::reason(env, signal)?;
            return Err(Failure::Napi(to_js_with_cause(env, err, reason)));
        }
        Ok(Some(signal))
    }

    fn task(
        &self,
        env: &Env,
        entered: Entered,
        request: Request,
        signal: Option<sys::napi_value>,
    ) -> Fallible<AsyncTask<CallTask>> {
        let watch = signal
            .map(|s| AbortWatch::attach(env, s, self.shared.interrupt_handle()))
            .transpose()?;
        Ok(AsyncTask::new(CallTask {
            entered: Some(entered),
            request,
            watch,
        }))
    }
}

#[napi]
impl Sandbox {
    /// Registers a JS function as the import `module.name` with the given wasm
    /// signature. i64 values arrive and must be returned as BigInt. A thrown
    /// exception traps the guest; the caller gets `AEGIS_HOST_FUNCTION` with the
    /// exception as `cause`. Takes effect for modules loaded afterwards.
    ///
    /// The function gets the wasm arguments only, no context, so it cannot see
    /// that its call was stopped. The guest stops waiting for it at the call's
    /// timeout (`AEGIS_TIMEOUT`) or interrupt (`AEGIS_INTERRUPTED`) and drops
    /// what it returns; a call queued for the event loop that has not started
    /// by then never runs.
    #[napi(
        ts_args_type = "module: string, name: string, func: (...args: any[]) => any, signature?: Signature"
    )]
    pub fn register_func(
        &self,
        env: Env,
        module: Unknown<'_>,
        name: Unknown<'_>,
        func: Unknown<'_>,
        signature: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        boundary(&env, || {
            let module = string_arg(&env, module.raw(), "registerFunc: module")?;
            let name = string_arg(&env, name.raw(), "registerFunc: name")?;
            let kind = type_of(&env, func.raw())?;
            if kind != ValueType::Function {
                return Err(invalid_argument(format!(
                    "registerFunc: func must be a function, got {}",
                    type_name(kind)
                )));
            }
            // SAFETY: checked to be a function of this env.
            let func: Function<'_, Unknown<'static>, Unknown<'static>> = unsafe { func.cast()? };
            let (params, results) = parse_signature(&env, signature.map(|s| s.raw()))?;
            let host = JsHostFunction {
                label: format!("{module}.{name}"),
                callback: Arc::new(func.create_ref()?),
                results: results.clone(),
                thread: Arc::clone(&self.thread),
            };
            let sig = FuncType { params, results };
            self.with(|sandbox| {
                sandbox.register_dynamic(&module, &name, sig, move |caller, args| {
                    host.call(caller, args)
                })?;
                self.js_functions.store(true, Ordering::Release);
                Ok(())
            })
        })
    }

    /// Instantiates `module` in a fresh store (replacing any previous instance)
    /// and runs its start function.
    #[napi(ts_args_type = "module: Module")]
    pub fn load_module(&self, env: Env, module: Unknown<'_>) -> napi::Result<()> {
        boundary(&env, || {
            let module = Module::from_js(&env, module.raw(), "loadModule: module")?;
            self.with_guest(&env, move |sandbox| sandbox.load_module(&module))
        })
    }

    /// Calls an export that takes no arguments, discarding its results; a WASI
    /// `proc_exit(0)` counts as success (the core's rule).
    #[napi(ts_args_type = "name: string")]
    pub fn call_void(&self, env: Env, name: Unknown<'_>) -> napi::Result<()> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "callVoid: name")?;
            self.with_guest(&env, move |sandbox| sandbox.call_void(&name))
        })
    }

    /// Runs the default entry point (`_start`, else `main`) and returns its results.
    #[napi(ts_return_type = "any")]
    pub fn run(&self, env: Env) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let results = self.with_guest(&env, |sandbox| sandbox.run())?;
            let raw = results_to_js(&env, results)?;
            // SAFETY: `raw` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
        })
    }

    /// Like `run`, on a worker thread; the promise settles when the guest
    /// returns. `options.signal` stops it as in `callAsync`. Failures to start
    /// (`AEGIS_BUSY`, bad options) reject.
    #[napi(
        ts_args_type = "options?: CallOptions",
        ts_return_type = "Promise<any>"
    )]
    pub fn run_async(&self, env: Env, options: Option<Unknown<'_>>) -> napi::Result<Unknown<'_>> {
        let started = (|| {
            let options = options
                .map(|o| parse_call_options(&env, o.raw(), "runAsync"))
                .transpose()?;
            let signal = Self::live_signal(&env, options)?;
            let entered = self.shared.enter()?;
            self.task(&env, entered, Request::Run, signal)
        })();
        let raw = promise(&env, started)?;
        // SAFETY: `raw` was just created in `env`.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
    }

    /// Stops the call running in this sandbox, from JS code that runs while
    /// it does: the promise of `callAsync`/`runAsync` rejects with
    /// `AEGIS_INTERRUPTED` within milliseconds, whether the guest computes or
    /// waits in WASI. A host function may call it to end the call it serves.
    /// Never blocks and never throws `AEGIS_BUSY`.
    ///
    /// If no call is running, the request is kept: the sandbox's next call
    /// fails with `AEGIS_INTERRUPTED` at once, without running guest code,
    /// and consumes it (so an interrupt racing with the start of a call is
    /// never lost). Use `interruptHandle().pending` to see whether one waits.
    #[napi]
    pub fn interrupt(&self) {
        self.shared.interrupt_handle().interrupt();
    }

    /// A handle that stops this sandbox's calls like `interrupt()`, to give to
    /// code that should be able to stop calls but not make them.
    #[napi]
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle::new(self.shared.interrupt_handle())
    }

    /// The export `run` calls: `_start` if exported, else `main`.
    #[napi(getter)]
    pub fn default_entry(&self, env: Env) -> napi::Result<String> {
        boundary(&env, || {
            self.with(|sandbox| Ok(sandbox.default_entry()?.to_string()))
        })
    }

    /// Discards the instance and instantiates the same module again: memory,
    /// globals and tables return to their initial state.
    #[napi]
    pub fn reset(&self, env: Env) -> napi::Result<()> {
        boundary(&env, || self.with_guest(&env, |sandbox| sandbox.reset()))
    }

    /// Metrics summed over every call since the sandbox was created.
    #[napi(getter, ts_return_type = "Metrics")]
    pub fn metrics(&self, env: Env) -> napi::Result<MetricsValue> {
        boundary(&env, || {
            self.with(|sandbox| Ok(MetricsValue(sandbox.metrics().clone())))
        })
    }

    /// Metrics of the most recent call (or instantiation).
    #[napi(getter, ts_return_type = "Metrics")]
    pub fn last_call_metrics(&self, env: Env) -> napi::Result<MetricsValue> {
        boundary(&env, || {
            self.with(|sandbox| Ok(MetricsValue(sandbox.last_call_metrics().clone())))
        })
    }

    /// Guest stdout captured so far (empty unless `captureOutput` is set).
    #[napi(getter)]
    pub fn stdout(&self, env: Env) -> napi::Result<Buffer> {
        boundary(&env, || self.with(|sandbox| Ok(sandbox.stdout().into())))
    }

    /// Guest stderr captured so far (empty unless `captureOutput` is set).
    #[napi(getter)]
    pub fn stderr(&self, env: Env) -> napi::Result<Buffer> {
        boundary(&env, || self.with(|sandbox| Ok(sandbox.stderr().into())))
    }

    /// Whether a call is running in this sandbox (an async call, or the call a
    /// host function is running inside): then every other use throws, or
    /// rejects, with `AEGIS_BUSY`.
    #[napi(getter)]
    pub fn busy(&self) -> bool {
        self.shared.is_busy()
    }
}

/// `{ params, results }` of `registerFunc` as wasm types (the core parses
/// the type names); `undefined` is no parameters and no results.
fn parse_signature(
    env: &Env,
    raw: Option<sys::napi_value>,
) -> Fallible<(Vec<aegis_core::ValType>, Vec<aegis_core::ValType>)> {
    let value = match raw {
        Some(raw) => crate::options::json_value(env, raw, "registerFunc: signature")?,
        None => serde_json::Value::Null,
    };
    let empty = serde_json::Map::new();
    let map = match &value {
        serde_json::Value::Null => &empty,
        serde_json::Value::Object(map) => map,
        _ => {
            return Err(invalid_argument(
                "registerFunc: signature must be an object such as { params: ['i32'], results: ['i32'] }",
            ));
        }
    };
    if let Some(key) = map.keys().find(|k| *k != "params" && *k != "results") {
        return Err(invalid_argument(format!(
            "registerFunc: unknown signature key `{}` (the keys are params and results)",
            crate::values::bounded(key)
        )));
    }
    let types = |key: &str| -> Fallible<Vec<aegis_core::ValType>> {
        let names: Vec<String> = match map.get(key) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    invalid_argument(format!(
                        "registerFunc: signature.{key} must be an array of type names such as 'i32'"
                    ))
                })?,
            Some(_) => {
                return Err(invalid_argument(format!(
                    "registerFunc: signature.{key} must be an array of type names such as 'i32'"
                )));
            }
        };
        Ok(parse_types(&names)?)
    };
    Ok((types("params")?, types("results")?))
}
