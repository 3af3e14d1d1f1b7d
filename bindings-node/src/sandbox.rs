//! `Sandbox`: one isolated instance, its host functions, calls and metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aegis_core::{Data, Entered, ExternType, FuncType, SharedSandbox};
use napi::bindgen_prelude::{
    AsyncTask, BigInt, Buffer, FromNapiValue, Function, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, ValueType, sys};
use napi_derive::napi;

use crate::data::{ByteView, ToData, ToDataError, byte_view};
use crate::errors::{Failure, Fallible, boundary, invalid_argument, to_js_with_cause};
use crate::host::{JsComponentFunction, JsHostFunction, JsThread};
use crate::interrupt::{AbortWatch, CallOptions, InterruptHandle, is_aborted, parse_call_options};
use crate::metrics::MetricsValue;
use crate::module::Module;
use crate::task::{CallTask, Request, promise};
use crate::values::{
    js_to_arg, parse_types, results_to_js, string_arg, type_name, type_of, with_args,
};

/// The signature of a host function: wasm type names such as `"i32"`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct Signature {
    /// Parameter types (default none).
    pub params: Option<Vec<String>>,
    /// Result types (default none).
    pub results: Option<Vec<String>>,
    /// `true`: the function gets a `Caller` (guest-memory access) before the
    /// wasm arguments. Default `false`.
    pub caller: Option<bool>,
}

/// An isolated place to run guest code: one instance at a time, every call
/// under the sandbox's limits. It runs one call at a time: a call started
/// while another runs (a `callAsync` in flight, or from one of its own host
/// functions) throws, or rejects, with `AEGIS_BUSY` at once.
#[napi]
pub struct Sandbox {
    state: Arc<SandboxState>,
}

/// What a `Sandbox` object and the functions bound to its exports
/// (`sandbox.func(name)`) share.
pub struct SandboxState {
    /// The core's busy rule; its interrupt handle works while a call runs.
    shared: Arc<SharedSandbox>,
    thread: Arc<JsThread>,
    /// Whether a JS host function was registered: then a synchronous call
    /// runs on this thread only if the core runs it on this thread's own
    /// stack, else on a helper thread (see `host.rs`).
    js_functions: AtomicBool,
    /// The module loaded last (what `callAsync` reads a component export's
    /// parameter count from without entering the sandbox).
    module: Mutex<Option<aegis_core::Module>>,
}

impl std::ops::Deref for Sandbox {
    type Target = SandboxState;

    fn deref(&self) -> &SandboxState {
        &self.state
    }
}

impl Sandbox {
    /// Wraps a built sandbox; called on the JS thread.
    pub fn new(env: &Env, sandbox: aegis_core::Sandbox) -> Fallible<Self> {
        Ok(Sandbox {
            state: Arc::new(SandboxState {
                shared: Arc::new(SharedSandbox::new(sandbox)),
                js_functions: AtomicBool::new(false),
                thread: JsThread::current(env)?,
                module: Mutex::new(None),
            }),
        })
    }
}

/// The largest wasm stack limit of a guest run inline with JS host
/// functions. V8 gives JS about 984 KB of the JS thread's stack (Node's
/// `--stack-size`), counted from where it started; a guest inline uses the
/// same stack, so with the default 512 KiB limit a host function called from
/// the guest's deepest frames still has room for thousands of JS frames.
/// Guests allowed more stack run on a helper thread, where JS keeps all of it.
const INLINE_STACK_LIMIT: usize = 512 * 1024;

/// Where a synchronous call of a core module's export runs.
enum Placement {
    /// On this thread: no JS host function can be called.
    Here,
    /// On this thread's own stack, with JS host functions called directly.
    Inline,
    /// On a helper thread while this one runs the JS host functions.
    Helper,
}

impl SandboxState {
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
        self.on_helper(env, entered, f)
    }

    /// Runs `f` on a helper thread while this thread serves its JS host calls.
    fn on_helper<T: Send + 'static>(
        &self,
        env: &Env,
        entered: Entered,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, aegis_core::Error> + Send + 'static,
    ) -> Fallible<T> {
        let outcome = self
            .thread
            .serve(env, move || f(&mut entered.sandbox()))
            .map_err(|e| aegis_core::Error::Io {
                message: format!("cannot start a thread for the call: {e}"),
            })?;
        Ok(outcome?)
    }

    /// Where a synchronous call of the loaded core module's exports runs: JS
    /// host functions must run on this (the JS) thread's own stack, so with
    /// them the guest stays here only if the core runs it here without a
    /// fiber, and if its stack limit leaves V8 room for JS below the guest's
    /// deepest frames (see [`INLINE_STACK_LIMIT`]).
    fn placement(&self, sandbox: &aegis_core::Sandbox) -> Placement {
        if !self.js_functions.load(Ordering::Acquire) {
            Placement::Here
        } else if sandbox.limits().stack <= INLINE_STACK_LIMIT && sandbox.runs_on_caller_thread() {
            Placement::Inline
        } else {
            Placement::Helper
        }
    }

    /// Runs `f`, a call of the loaded core module's exports, on this thread
    /// (marked inline if it may call JS host functions), or gives it back if
    /// [`Self::placement`] puts it on a helper thread. The inline mark ends
    /// before this returns, so results become JS values outside the scope
    /// the host calls shared.
    fn run_here<T, F: FnOnce(&mut aegis_core::Sandbox) -> T>(
        &self,
        sandbox: &mut aegis_core::Sandbox,
        f: F,
    ) -> Result<T, F> {
        match self.placement(sandbox) {
            Placement::Here => Ok(f(sandbox)),
            Placement::Inline => {
                let _inline = self.thread.inline();
                Ok(f(sandbox))
            }
            Placement::Helper => Err(f),
        }
    }

    /// Runs `f`, a call of the loaded module's exports, where
    /// [`Self::placement`] says; `f` returns the call's results.
    fn export_call<T: Send + 'static>(
        &self,
        env: &Env,
        entered: Entered,
        f: impl FnOnce(&mut aegis_core::Sandbox) -> Result<T, aegis_core::Error> + Send + 'static,
    ) -> Fallible<T> {
        let mut sandbox = entered.sandbox();
        match self.run_here(&mut sandbox, f) {
            Ok(outcome) => Ok(outcome?),
            Err(f) => {
                drop(sandbox);
                self.on_helper(env, entered, f)
            }
        }
    }

    /// Converts JS arguments of a component export to `Data`; a value with
    /// no WIT counterpart (a function, a `Map`, ...) is `AEGIS_SIGNATURE_MISMATCH`.
    fn data_arguments(
        env: &Env,
        sandbox: &aegis_core::Sandbox,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<Vec<Data>> {
        let mut to_data = ToData::new(env);
        raw.iter()
            .enumerate()
            .map(
                |(i, v)| match to_data.convert(*v, &format!("argument {}", i + 1)) {
                    Ok(data) => Ok(data),
                    Err(ToDataError::Napi(e)) => Err(e.into()),
                    Err(ToDataError::Unconvertible(u)) => {
                        Err(Failure::Aegis(aegis_core::Error::SignatureMismatch {
                            name: name.to_string(),
                            expected: sandbox
                                .module()
                                .and_then(|m| m.export(name))
                                .map(|e| e.ty.to_string())
                                .unwrap_or_default(),
                            given: u.message(),
                        }))
                    }
                },
            )
            .collect()
    }

    /// The request of a call: a component's export takes `Data`, a core
    /// module's arguments converted by the core's rule.
    fn request(
        env: &Env,
        sandbox: &aegis_core::Sandbox,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<Request> {
        Ok(if is_component(sandbox) {
            Request::Data(
                name.to_string(),
                Self::data_arguments(env, sandbox, name, raw)?,
            )
        } else {
            let args = raw
                .iter()
                .map(|v| js_to_arg(env, *v))
                .collect::<napi::Result<_>>()?;
            Request::Call(name.to_string(), args)
        })
    }

    /// `sandbox.call(name, ...args)` and the functions `sandbox.func(name)`
    /// returns: the export's results as a JS value.
    pub(crate) fn call_now(
        &self,
        env: &Env,
        name: &str,
        raw: &[sys::napi_value],
    ) -> Fallible<sys::napi_value> {
        let entered = self.shared.enter()?;
        let mut sandbox = entered.sandbox();
        if !is_component(&sandbox) {
            let here = self.run_here(&mut sandbox, |sandbox| {
                with_args(env, raw, |args| sandbox.call_args(name, args))
            });
            if let Ok(values) = here {
                return Ok(results_to_js(env, values??)?);
            }
        }
        // A component, or a guest that must run on a helper thread.
        let request = Self::request(env, &sandbox, name, raw)?;
        drop(sandbox);
        let outcome = self.guest(env, entered, move |sandbox| {
            let mut request = request;
            request.run(sandbox, false)
        })?;
        // SAFETY: `env` is the live env of this callback.
        Ok(unsafe { ToNapiValue::to_napi_value(env.raw(), outcome)? })
    }

    /// The parameter count of the loaded component's export `name`, if the
    /// loaded module is a component that has it.
    pub(crate) fn component_params(&self, name: &str) -> Option<usize> {
        let module = self.module.lock().unwrap_or_else(PoisonError::into_inner);
        match &module.as_ref()?.export(name)?.ty {
            ExternType::ComponentFunction(f) => Some(f.params.len()),
            _ => None,
        }
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
        let request = Self::request(env, &entered.sandbox(), name, raw)?;
        self.task(env, entered, request, signal)
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

    /// Starts `request` on a worker thread with the options of `method`.
    fn start(
        &self,
        env: &Env,
        options: Option<Unknown<'_>>,
        method: &str,
        request: Request,
    ) -> Fallible<AsyncTask<CallTask>> {
        let options = options
            .map(|o| parse_call_options(env, o.raw(), method))
            .transpose()?;
        let signal = Self::live_signal(env, options)?;
        let entered = self.shared.enter()?;
        self.task(env, entered, request, signal)
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
    /// Not for JS code (throws `AEGIS_INVALID_ARGUMENT`): use `runtime.sandbox(options)`.
    #[napi(constructor, skip_typescript)]
    pub fn construct(env: Env) -> napi::Result<Self> {
        crate::errors::not_constructible(&env, "Sandbox", "use runtime.sandbox(options)")
    }

    /// Registers a JS function as the import `module.name` with the given wasm
    /// signature. i64 values arrive and must be returned as BigInt. A thrown
    /// exception traps the guest; the caller gets `AEGIS_HOST_FUNCTION` with the
    /// exception as `cause`. Takes effect for modules loaded afterwards.
    ///
    /// With `caller: true` in the signature, the function gets a `Caller`
    /// first, then the wasm arguments: it reads and writes the guest's
    /// memory (`caller.readString(ptr, len)`) while it runs, and can see
    /// that its call must stop (`caller.isCancelled()`). Without it, the
    /// function gets the wasm arguments only. A call whose timeout passes,
    /// or that is interrupted, while the function runs ends with
    /// `AEGIS_TIMEOUT` (or `AEGIS_INTERRUPTED`) when it returns, dropping
    /// what it returned. A guest on another thread (`callAsync`, a WASI
    /// module) stops waiting for it at once (its `Caller` then stops
    /// working); a call queued for the event loop that has not started by
    /// then never runs.
    #[napi(
        ts_generic_types = "S extends Signature = Signature",
        ts_args_type = "module: string, name: string, func: HostFunction<S>, signature?: S"
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
            let (params, results, with_caller) = parse_signature(&env, signature.map(|s| s.raw()))?;
            let host = JsHostFunction {
                label: format!("{module}.{name}"),
                callback: Arc::new(func.create_ref()?),
                results: results.clone(),
                thread: Arc::clone(&self.thread),
                with_caller,
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

    /// Registers a JS function as the component import `name`: `func` for
    /// an import at the component's root, `interface#func` for a function of
    /// an imported interface (`'aegis:test/host#transform'`). Register before
    /// `loadModule`; a component whose import has no function fails to load
    /// with `AEGIS_LINK_ERROR`.
    ///
    /// The function receives the WIT arguments as JS values and returns the
    /// result (ignored for an import without one), by the mapping of
    /// `call` on a component (`DataValue`: `s64`/`u64` are BigInts,
    /// `list<u8>` a `Buffer`, records plain objects, a variant or result a
    /// one-key object such as `{ ok: 5 }`). A thrown exception, or a result
    /// the import's type cannot take, traps the guest: the call fails with
    /// `AEGIS_HOST_FUNCTION` (a thrown value is its `cause`), and the component
    /// cannot be entered again until `reset()`. The same rules as
    /// `registerFunc` hold otherwise: callbacks are synchronous, their time
    /// counts against the call's timeout, and a call back into this sandbox
    /// throws `AEGIS_BUSY`. A name registered twice throws `AEGIS_INVALID_ARGUMENT`.
    #[napi(ts_args_type = "name: string, func: (...args: any[]) => DataValue | void")]
    pub fn register_component(
        &self,
        env: Env,
        name: Unknown<'_>,
        func: Unknown<'_>,
    ) -> napi::Result<()> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "registerComponent: name")?;
            let kind = type_of(&env, func.raw())?;
            if kind != ValueType::Function {
                return Err(invalid_argument(format!(
                    "registerComponent: func must be a function, got {}",
                    type_name(kind)
                )));
            }
            // SAFETY: checked to be a function of this env.
            let func: Function<'_, Unknown<'static>, Unknown<'static>> = unsafe { func.cast()? };
            let host = JsComponentFunction {
                name: name.clone(),
                callback: Arc::new(func.create_ref()?),
                thread: Arc::clone(&self.thread),
            };
            self.with(|sandbox| {
                sandbox.register_component_data(&name, move |call, args| host.call(call, args))?;
                self.js_functions.store(true, Ordering::Release);
                Ok(())
            })
        })
    }

    /// The size in bytes of the loaded core module's exported memory:
    /// `memory` names it (default: the export named `memory`, else the only
    /// exported memory). A module without one throws `AEGIS_EXPORT_NOT_FOUND`;
    /// a component (whose memories are its own) `AEGIS_INVALID_ARGUMENT`.
    #[napi(ts_args_type = "memory?: string")]
    pub fn memory_size(&self, env: Env, memory: Option<Unknown<'_>>) -> napi::Result<f64> {
        boundary(&env, || {
            let memory = memory_name(&env, memory, "memorySize")?;
            self.with(|sandbox| Ok(guest_memory(sandbox, memory.as_deref())?.size() as f64))
        })
    }

    /// Copies `length` bytes of guest memory at `offset` into a new `Buffer`
    /// (never a view of guest memory, which moves when the guest grows it).
    /// Offsets and lengths are non-negative integers (numbers or BigInts). A
    /// range outside the memory throws `AEGIS_MEMORY_OUT_OF_BOUNDS` (details
    /// `offset`, `len`, `size`) before anything is allocated. `memory` as in
    /// `memorySize`. Not available while a call runs (`AEGIS_BUSY`).
    #[napi(
        ts_args_type = "offset: number | bigint, length: number | bigint, memory?: string",
        ts_return_type = "Buffer"
    )]
    pub fn read_memory(
        &self,
        env: Env,
        offset: Unknown<'_>,
        length: Unknown<'_>,
        memory: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let (offset, length) = range_args(&env, offset, length, "readMemory")?;
            let memory = memory_name(&env, memory, "readMemory")?;
            let buffer = self.with(|sandbox| {
                let mem = guest_memory(sandbox, memory.as_deref())?;
                let in_bounds = offset
                    .checked_add(length)
                    .is_some_and(|end| end <= mem.size());
                if !in_bounds {
                    // The core's error, raised before anything is allocated.
                    return Err(mem.read(offset, length).err().unwrap_or_else(|| {
                        aegis_core::Error::InvalidArgument {
                            message: "memory range check failed".into(),
                        }
                    }));
                }
                // Straight into a new Node buffer: one copy, no finalizer.
                match new_buffer(&env, length as usize, |bytes| mem.read_into(offset, bytes)) {
                    Ok(Ok(buffer)) => Ok(Ok(buffer)),
                    Ok(Err(aegis)) => Err(aegis),
                    Err(napi) => Ok(Err(napi)),
                }
            })??;
            // SAFETY: `buffer` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), buffer) })
        })
    }

    /// Copies `data` (a `Buffer` or `Uint8Array`) into guest memory at
    /// `offset`. A range outside the memory throws
    /// `AEGIS_MEMORY_OUT_OF_BOUNDS` and writes nothing. `memory` as in `memorySize`.
    #[napi(ts_args_type = "offset: number | bigint, data: Uint8Array, memory?: string")]
    pub fn write_memory(
        &self,
        env: Env,
        offset: Unknown<'_>,
        data: Unknown<'_>,
        memory: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        boundary(&env, || {
            let offset = u64_arg(&env, offset.raw(), "writeMemory: offset")?;
            let memory = memory_name(&env, memory, "writeMemory")?;
            let bytes = bytes_view(&env, data.raw(), "writeMemory: data")?;
            // No JS runs until the copy is done, so the view stays valid.
            self.with(|sandbox| guest_memory(sandbox, memory.as_deref())?.write(offset, bytes))
        })
    }

    /// Calls `name` by the bytes convention (README, "Exchanging data"):
    /// `data` is copied into memory the guest allocates with `aegis_alloc`,
    /// and the guest's output comes back as a new `Buffer`. Output larger than
    /// `resultLimit` throws `AEGIS_RESULT_TOO_LARGE` (`size`, `limit`), a
    /// pointer outside guest memory `AEGIS_MEMORY_OUT_OF_BOUNDS`; a guest
    /// without the convention's exports `AEGIS_EXPORT_NOT_FOUND` or
    /// `AEGIS_SIGNATURE_MISMATCH`. One call for limits and metrics.
    #[napi(
        ts_args_type = "name: string, data: Uint8Array",
        ts_return_type = "Buffer"
    )]
    pub fn call_bytes(
        &self,
        env: Env,
        name: Unknown<'_>,
        data: Unknown<'_>,
    ) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "callBytes: name")?;
            let input = bytes_view(&env, data.raw(), "callBytes: data")?;
            let output = if self.js_functions.load(Ordering::Acquire) {
                let input = input.to_vec();
                self.with_guest(&env, move |sandbox| sandbox.call_bytes(&name, &input))?
            } else {
                // No JS runs during the call, so the caller's bytes stay
                // valid: the core copies them into the guest without a
                // copy of our own.
                let entered = self.shared.enter()?;
                let mut sandbox = entered.sandbox();
                sandbox.call_bytes(&name, input)?
            };
            Ok(buffer_copy(&env, &output)?)
        })
    }

    /// `callBytes` with text: `text` goes in as UTF-8 and the output must be
    /// UTF-8 (else `AEGIS_INVALID_RESULT`).
    #[napi(ts_args_type = "name: string, text: string")]
    pub fn call_str(&self, env: Env, name: Unknown<'_>, text: Unknown<'_>) -> napi::Result<String> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "callStr: name")?;
            let text = string_arg(&env, text.raw(), "callStr: text")?;
            self.with_guest(&env, move |sandbox| sandbox.call_str(&name, &text))
        })
    }

    /// `callBytes` on a worker thread, like `callAsync` (`options.signal`
    /// stops it; failures to start reject).
    #[napi(
        ts_args_type = "name: string, data: Uint8Array, options?: CallOptions",
        ts_return_type = "Promise<Buffer>"
    )]
    pub fn call_bytes_async(
        &self,
        env: Env,
        name: Unknown<'_>,
        data: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'_>> {
        let started = (|| {
            let name = string_arg(&env, name.raw(), "callBytesAsync: name")?;
            let input = bytes_view(&env, data.raw(), "callBytesAsync: data")?.to_vec();
            self.start(&env, options, "callBytesAsync", Request::Bytes(name, input))
        })();
        let raw = promise(&env, started)?;
        // SAFETY: `raw` was just created in `env`.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
    }

    /// `callStr` on a worker thread, like `callAsync`.
    #[napi(
        ts_args_type = "name: string, text: string, options?: CallOptions",
        ts_return_type = "Promise<string>"
    )]
    pub fn call_str_async(
        &self,
        env: Env,
        name: Unknown<'_>,
        text: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'_>> {
        let started = (|| {
            let name = string_arg(&env, name.raw(), "callStrAsync: name")?;
            let text = string_arg(&env, text.raw(), "callStrAsync: text")?;
            self.start(&env, options, "callStrAsync", Request::Str(name, text))
        })();
        let raw = promise(&env, started)?;
        // SAFETY: `raw` was just created in `env`.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
    }

    /// A function bound to the export `name`: `sandbox.func('add')(1, 2)`
    /// does what `sandbox.call('add', 1, 2)` does (same arguments, results,
    /// errors, limits and metrics), at less cost per call, for an export
    /// called many times. It stays bound to this sandbox and the name, not to
    /// an instance: after `reset()` it calls the fresh instance, after
    /// `loadModule` the new module's export of that name (a module without
    /// one throws `AEGIS_EXPORT_NOT_FOUND` when it is called, as `call`
    /// does). It keeps the sandbox alive while it is reachable.
    #[napi(
        ts_generic_types = "T = any",
        ts_args_type = "name: string",
        ts_return_type = "ExportFunction<T>"
    )]
    pub fn func(&self, env: Env, name: Unknown<'_>) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "func: name")?;
            let raw = crate::calls::bind(&env, Arc::clone(&self.state), name)?;
            // SAFETY: `raw` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
        })
    }

    /// Instantiates `module` in a fresh store (replacing any previous instance)
    /// and runs its start function.
    #[napi(ts_args_type = "module: Module")]
    pub fn load_module(&self, env: Env, module: Unknown<'_>) -> napi::Result<()> {
        boundary(&env, || {
            let module = Module::from_js(&env, module.raw(), "loadModule: module")?;
            let entered = self.shared.enter()?;
            *self.module.lock().unwrap_or_else(PoisonError::into_inner) = Some(module.clone());
            self.guest(&env, entered, move |sandbox| sandbox.load_module(&module))
        })
    }

    /// Calls an export that takes no arguments, discarding its results; a WASI
    /// `proc_exit(0)` counts as success (the core's rule).
    #[napi(ts_args_type = "name: string")]
    pub fn call_void(&self, env: Env, name: Unknown<'_>) -> napi::Result<()> {
        boundary(&env, || {
            let name = string_arg(&env, name.raw(), "callVoid: name")?;
            let entered = self.shared.enter()?;
            self.export_call(&env, entered, move |sandbox| {
                if is_component(sandbox) {
                    sandbox.call_data(&name, Vec::new()).map(drop)
                } else {
                    sandbox.call_void(&name)
                }
            })
        })
    }

    /// Runs the default entry point (`_start`, else `main`) and returns its results.
    #[napi(ts_return_type = "any")]
    pub fn run(&self, env: Env) -> napi::Result<Unknown<'_>> {
        boundary(&env, || {
            let entered = self.shared.enter()?;
            let results = self.export_call(&env, entered, |sandbox| sandbox.run())?;
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
        let started = self.start(&env, options, "runAsync", Request::Run);
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

/// `{ params, results, caller }` of `registerFunc`: the wasm types (the
/// core parses the type names) and whether the function gets a `Caller`;
/// `undefined` is no parameters, no results and no caller.
fn parse_signature(
    env: &Env,
    raw: Option<sys::napi_value>,
) -> Fallible<(Vec<aegis_core::ValType>, Vec<aegis_core::ValType>, bool)> {
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
    if let Some(key) = map
        .keys()
        .find(|k| !["params", "results", "caller"].contains(&k.as_str()))
    {
        return Err(invalid_argument(format!(
            "registerFunc: unknown signature key `{}` (the keys are params, results and caller)",
            crate::values::bounded(key)
        )));
    }
    let caller = match map.get("caller") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(yes)) => *yes,
        Some(_) => {
            return Err(invalid_argument(
                "registerFunc: signature.caller must be a boolean",
            ));
        }
    };
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
    Ok((types("params")?, types("results")?, caller))
}

/// Whether the loaded module is a component.
fn is_component(sandbox: &aegis_core::Sandbox) -> bool {
    sandbox.module().is_some_and(|m| m.is_component())
}

/// The sandbox's default memory, or the one named.
fn guest_memory<'a>(
    sandbox: &'a mut aegis_core::Sandbox,
    name: Option<&str>,
) -> Result<aegis_core::GuestMemory<'a>, aegis_core::Error> {
    match name {
        Some(name) => sandbox.memory_named(name),
        None => sandbox.memory(),
    }
}

/// The optional memory name of the memory methods (`undefined` or a string).
fn memory_name(env: &Env, raw: Option<Unknown<'_>>, method: &str) -> Fallible<Option<String>> {
    match raw {
        None => Ok(None),
        Some(v) if type_of(env, v.raw())? == ValueType::Undefined => Ok(None),
        Some(v) => Ok(Some(string_arg(
            env,
            v.raw(),
            &format!("{method}: memory"),
        )?)),
    }
}

/// The `(offset, length)` arguments of `method` (see [`u64_arg`]).
pub(crate) fn range_args(
    env: &Env,
    offset: Unknown<'_>,
    length: Unknown<'_>,
    method: &str,
) -> Fallible<(u64, u64)> {
    Ok((
        u64_arg(env, offset.raw(), &format!("{method}: offset"))?,
        u64_arg(env, length.raw(), &format!("{method}: length"))?,
    ))
}

/// A non-negative integer (a number or a BigInt) up to 2^64 - 1.
pub(crate) fn u64_arg(env: &Env, raw: sys::napi_value, what: &str) -> Fallible<u64> {
    let bad = || {
        invalid_argument(format!(
            "{what} must be a non-negative integer (a number or a BigInt)"
        ))
    };
    match type_of(env, raw)? {
        ValueType::Number => {
            // SAFETY: `raw` is a live number of `env`.
            let n = unsafe { f64::from_napi_value(env.raw(), raw)? };
            const SAFE: f64 = 9_007_199_254_740_991.0; // Number.MAX_SAFE_INTEGER
            if n.fract() == 0.0 && (0.0..=SAFE).contains(&n) {
                Ok(n as u64)
            } else {
                Err(bad())
            }
        }
        ValueType::BigInt => {
            // SAFETY: `raw` is a live BigInt of `env`.
            let big = unsafe { BigInt::from_napi_value(env.raw(), raw)? };
            match big.get_u64() {
                (false, n, true) => Ok(n),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// The bytes of a `Buffer`/`Uint8Array` argument, borrowed: valid until JS runs again.
pub(crate) fn bytes_view<'a>(env: &Env, raw: sys::napi_value, what: &str) -> Fallible<&'a [u8]> {
    match byte_view(env, raw)? {
        Some(ByteView::Bytes(bytes)) => Ok(bytes),
        _ => Err(invalid_argument(format!(
            "{what} must be a Buffer or a Uint8Array"
        ))),
    }
}

/// A new Node `Buffer` of `len` bytes filled by `fill` (allocated by Node,
/// so it needs no finalizer, unlike a `Buffer` wrapping a Rust `Vec`).
pub(crate) fn new_buffer<E>(
    env: &Env,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
) -> Result<Result<sys::napi_value, E>, napi::Error> {
    let mut data = std::ptr::null_mut();
    let mut buffer = std::ptr::null_mut();
    // SAFETY: `env` is live; Node allocates `len` bytes at `data`.
    crate::values::check(unsafe {
        sys::napi_create_buffer(env.raw(), len, &mut data, &mut buffer)
    })?;
    let bytes = if len == 0 || data.is_null() {
        &mut []
    } else {
        // SAFETY: `data` points at the `len` bytes of the new buffer, which
        // nothing else sees until it is returned.
        unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), len) }
    };
    Ok(fill(bytes).map(|()| buffer))
}

/// A new Node `Buffer` holding a copy of `bytes`.
pub(crate) fn buffer_copy(env: &Env, bytes: &[u8]) -> napi::Result<Unknown<'static>> {
    let buffer = new_buffer(env, bytes.len(), |out| {
        out.copy_from_slice(bytes);
        Ok::<(), std::convert::Infallible>(())
    })?
    .unwrap_or_else(|never| match never {});
    // SAFETY: `buffer` was just created in `env`.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), buffer) })
}
