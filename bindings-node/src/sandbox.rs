//! `Sandbox`: one isolated instance, its host functions, calls and metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aegis_core::{ExternType, FuncType, Value};
use napi::bindgen_prelude::{AsyncTask, Buffer, Function, Unknown};
use napi::{Env, sys};
use napi_derive::napi;

use crate::errors::{Fallible, boundary, invalid_argument};
use crate::host::{JsHostFunction, JsThread};
use crate::metrics::Metrics;
use crate::module::Module;
use crate::task::{CallTask, Request};
use crate::values::{js_to_value, parse_types, results_to_js};

/// The state shared by a JS `Sandbox` and its in-flight async call.
pub struct Shared {
    busy: AtomicBool,
    sandbox: Mutex<aegis_core::Sandbox>,
}

/// Marks the sandbox busy for one operation; dropping it frees the sandbox.
pub struct Busy(Arc<Shared>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

impl Shared {
    /// Claims the sandbox, or fails with `AEGIS_INVALID_ARGUMENT` if a call
    /// (an async one, or the one a host function is running inside) holds it.
    fn enter(self: &Arc<Self>) -> Fallible<Busy> {
        self.busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| Busy(Arc::clone(self)))
            .map_err(|_| {
                invalid_argument(
                    "sandbox is busy: another call is running in it (await callAsync before using the sandbox again)",
                )
            })
    }

    /// The sandbox; uncontended, since only the holder of `Busy` locks it.
    pub fn lock(&self) -> MutexGuard<'_, aegis_core::Sandbox> {
        self.sandbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The signature of a host function: wasm type names such as `"i32"`.
#[napi(object)]
pub struct Signature {
    /// Parameter types (default none).
    pub params: Option<Vec<String>>,
    /// Result types (default none).
    pub results: Option<Vec<String>>,
}

/// An isolated place to run guest code: one instance at a time, every call
/// under the sandbox's limits. Use it from one call at a time.
#[napi]
pub struct Sandbox {
    shared: Arc<Shared>,
    thread: Arc<JsThread>,
}

impl Sandbox {
    /// Wraps a built sandbox; called on the JS thread.
    pub fn new(env: &Env, sandbox: aegis_core::Sandbox) -> Fallible<Self> {
        Ok(Sandbox {
            shared: Arc::new(Shared {
                busy: AtomicBool::new(false),
                sandbox: Mutex::new(sandbox),
            }),
            thread: JsThread::current(env)?,
        })
    }

    /// Runs `f` with the sandbox claimed.
    fn with<T>(&self, f: impl FnOnce(&mut aegis_core::Sandbox) -> Fallible<T>) -> Fallible<T> {
        let _busy = self.shared.enter()?;
        let mut sandbox = self.shared.lock();
        f(&mut sandbox)
    }

    /// Converts JS arguments using the export's parameter types (if it exists).
    fn arguments(
        env: &Env,
        sandbox: &aegis_core::Sandbox,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<Vec<Value>> {
        let params = match sandbox.module().and_then(|m| m.export(name)) {
            Some(export) => match &export.ty {
                ExternType::Function(sig) => sig.params.clone(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        raw.iter()
            .enumerate()
            .map(|(i, v)| {
                let what = format!("argument {i} of `{name}`");
                js_to_value(env, *v, params.get(i).copied(), &what)
            })
            .collect()
    }

    /// `sandbox.call(name, ...args)` (installed on the prototype by `lib.rs`).
    pub(crate) fn call_now(
        &self,
        env: &Env,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<sys::napi_value> {
        let results = self.with(|sandbox| {
            let args = Self::arguments(env, sandbox, name, raw)?;
            Ok(sandbox.call_dynamic(name, &args)?)
        })?;
        Ok(results_to_js(env, results)?)
    }

    /// `sandbox.callAsync(name, ...args)` (installed on the prototype by `lib.rs`).
    pub(crate) fn call_later(
        &self,
        env: &Env,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<AsyncTask<CallTask>> {
        let busy = self.shared.enter()?;
        let args = Self::arguments(env, &self.shared.lock(), name, raw)?;
        Ok(self.task(busy, Request::Call(name.to_string(), args)))
    }

    fn task(&self, busy: Busy, request: Request) -> AsyncTask<CallTask> {
        AsyncTask::new(CallTask {
            shared: Arc::clone(&self.shared),
            busy: Some(busy),
            request,
        })
    }
}

#[napi]
impl Sandbox {
    /// Registers a JS function as the import `module.name` with the given wasm
    /// signature. i64 values arrive and must be returned as BigInt. A thrown
    /// exception traps the guest; the caller gets `AEGIS_HOST_FUNCTION` with the
    /// exception as `cause`. Takes effect for modules loaded afterwards.
    #[napi(
        ts_args_type = "module: string, name: string, func: (...args: any[]) => any, signature?: Signature"
    )]
    pub fn register_func(
        &self,
        env: Env,
        module: String,
        name: String,
        func: Function<'_, Unknown<'static>, Unknown<'static>>,
        signature: Option<Signature>,
    ) -> napi::Result<()> {
        boundary(&env, || {
            let signature = signature.unwrap_or(Signature {
                params: None,
                results: None,
            });
            let params = parse_types(&signature.params.unwrap_or_default())?;
            let results = parse_types(&signature.results.unwrap_or_default())?;
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
                Ok(())
            })
        })
    }

    /// Instantiates `module` in a fresh store (replacing any previous instance)
    /// and runs its start function.
    #[napi]
    pub fn load_module(&self, env: Env, module: &Module) -> napi::Result<()> {
        boundary(&env, || {
            self.with(|sandbox| Ok(sandbox.load_module(&module.inner)?))
        })
    }

    /// Calls an export that takes no arguments, discarding its results; a WASI
    /// `proc_exit(0)` counts as success.
    #[napi]
    pub fn call_void(&self, env: Env, name: String) -> napi::Result<()> {
        boundary(&env, || self.with(|sandbox| Ok(sandbox.call_void(&name)?)))
    }

    /// Runs the default entry point (`_start`, else `main`) and returns its results.
    #[napi(ts_return_type = "any")]
    pub fn run(&self, env: Env) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let results = self.with(|sandbox| Ok(sandbox.run()?))?;
            let raw = results_to_js(&env, results)?;
            // SAFETY: `raw` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
        })
    }

    /// Like `run`, on a worker thread; the promise settles when the guest returns.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn run_async(&self, env: Env) -> napi::Result<AsyncTask<CallTask>> {
        boundary(&env, || Ok(self.task(self.shared.enter()?, Request::Run)))
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
        boundary(&env, || self.with(|sandbox| Ok(sandbox.reset()?)))
    }

    /// Metrics summed over every call since the sandbox was created.
    #[napi(getter)]
    pub fn metrics(&self, env: Env) -> napi::Result<Metrics> {
        boundary(&env, || {
            self.with(|sandbox| Ok(Metrics::from(sandbox.metrics())))
        })
    }

    /// Metrics of the most recent call (or instantiation).
    #[napi(getter)]
    pub fn last_call_metrics(&self, env: Env) -> napi::Result<Metrics> {
        boundary(&env, || {
            self.with(|sandbox| Ok(Metrics::from(sandbox.last_call_metrics())))
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
    /// host function is running inside).
    #[napi(getter)]
    pub fn busy(&self) -> bool {
        self.shared.busy.load(Ordering::Acquire)
    }
}
