//! A sandbox: one store, one linker, at most one live instance, limits on every call.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Func, Instance, Linker, Store};
use wasmtime_wasi::p2::bindings::Command;

use crate::call::{CallControl, InterruptHandle, Signal, Stop};
use crate::capability::{Capabilities, Logging};
use crate::denied::DeniedLog;
use crate::error::{Error, Result, format_signature, format_types};
use crate::export::{CachedExport, ExportCache, TypedExport, next_instance_id};
use crate::host::{DynamicIntoHostFn, HostCaller, HostError, IntoHostFunc, IntoHostFuncWithCaller};
use crate::limits::{Limiter, Limits};
use crate::linker::CachedPre;
use crate::metrics::Metrics;
use crate::module::{Module, ModuleKind, func_type};
use crate::runtime::{Runtime, configure_methods};
use crate::store::StoreState;
use crate::trap::classify;
use crate::typed::{CallParams, CallResults};
use crate::value::{FuncType, Value};
use crate::wasi::CapturedOutput;

/// Configures one [`Sandbox`], starting from its runtime's defaults.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    runtime: Runtime,
    limits: Limits,
    capabilities: Capabilities,
}

impl SandboxBuilder {
    configure_methods!();

    pub(crate) fn new(runtime: Runtime) -> Self {
        SandboxBuilder {
            limits: runtime.limits().clone(),
            capabilities: runtime.capabilities().clone(),
            runtime,
        }
    }

    /// Creates the sandbox. Fails if a limit needs an engine feature the
    /// runtime was built without (fuel, timeout) or changes the stack limit.
    pub fn build(self) -> Result<Sandbox> {
        let engine_limits = self.runtime.limits();
        if self.limits.fuel.is_some() && engine_limits.fuel.is_none() {
            return Err(Error::invalid_argument(
                "this runtime was built without fuel metering; set a fuel limit on the runtime builder",
            ));
        }
        if self.limits.timeout.is_some() && engine_limits.timeout.is_none() {
            return Err(Error::invalid_argument(
                "this runtime was built without timeouts; set a timeout on the runtime builder",
            ));
        }
        if self.limits.timeout == Some(Duration::ZERO) {
            return Err(Error::invalid_argument("timeout must be greater than zero"));
        }
        self.capabilities.filesystem.check()?;
        if self.limits.stack != engine_limits.stack {
            return Err(Error::invalid_argument(
                "the stack limit is engine-wide; set it on the runtime builder",
            ));
        }
        let captured = match self.capabilities.logging {
            Logging::Capture { limit } => Some(CapturedOutput::new(limit)),
            _ => None,
        };
        if self.runtime.inner.instance_pool.is_some() && self.limits.memory > engine_limits.memory {
            return Err(Error::invalid_argument(
                "with an instance pool, a sandbox cannot raise the runtime's memory limit",
            ));
        }
        let denied = DeniedLog::default();
        let signal = Arc::new(Signal::default());
        let inherits_output = matches!(self.capabilities.logging, Logging::Inherit);
        let on_denied = self.capabilities.on_denied;
        let store = new_store(
            &self.runtime,
            &self.limits,
            &self.capabilities,
            captured.as_ref(),
            &denied,
            &signal,
        )?;
        Ok(Sandbox {
            capabilities: self.capabilities,
            linker: None,
            custom_pre: None,
            component_linker: None,
            component_host_fns: Default::default(),
            component_funcs: Default::default(),
            store,
            module: None,
            instance: None,
            instance_id: 0,
            funcs: Default::default(),
            params: Vec::new(),
            exchanges: Default::default(),
            store_fresh: true,
            captured,
            denied,
            signal,
            meter: Meter {
                call_fuel: self
                    .limits
                    .fuel
                    .or(engine_limits.fuel.is_some().then_some(u64::MAX)),
                inherits_output,
                on_denied,
                runtime: self.runtime,
                limits: self.limits,
                last: Metrics::default(),
                total: Metrics::default(),
            },
        })
    }
}

fn new_store(
    runtime: &Runtime,
    limits: &Limits,
    caps: &Capabilities,
    captured: Option<&CapturedOutput>,
    denied: &DeniedLog,
    signal: &Arc<Signal>,
) -> Result<Store<StoreState>> {
    let state = StoreState {
        limiter: Limiter::new(limits),
        wasi: crate::wasi::LazyWasi::new(caps, captured, denied, limits.handles)?,
        host_calls: 0,
        denied: denied.clone(),
        fs: crate::fs_guard::FsState::new(caps),
        control: CallControl::new(signal.clone()),
    };
    let mut store = Store::new(runtime.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_callback(crate::call::epoch_check);
    // wasmtime counts the host memory a component value takes as it is
    // converted ("hostcall fuel", per call): the result limit bounds it.
    store.set_hostcall_fuel(crate::component::hostcall_fuel(limits.result_bytes));
    Ok(store)
}

/// An isolated place to run guest code.
///
/// Holds one instance at a time; every call runs under the sandbox's limits
/// (fuel and timeout per call, memory for the instance's life). `Send`, used
/// by one thread at a time.
pub struct Sandbox {
    capabilities: Capabilities,
    /// The sandbox's own linker once it registers host functions; until then
    /// it uses the runtime's shared one.
    linker: Option<Linker<StoreState>>,
    /// The last module pre-linked against `linker`.
    custom_pre: Option<CachedPre>,
    component_linker: Option<wasmtime::component::Linker<StoreState>>,
    /// Host functions for component imports.
    component_host_fns: crate::component::ComponentHostFns,
    /// Component exports looked up so far.
    component_funcs: crate::component::ComponentFuncs,
    store: Store<StoreState>,
    module: Option<Module>,
    instance: Option<Loaded>,
    /// Unique in the process: which instance a [`TypedExport`] belongs to.
    instance_id: u64,
    /// Exported functions of `instance` looked up so far.
    funcs: ExportCache,
    /// Scratch space for the arguments of dynamic calls.
    params: Vec<wasmtime::Val>,
    /// Bytes-convention functions of `instance` looked up so far.
    exchanges: std::collections::HashMap<Box<str>, crate::bytes::Exchange>,
    /// Whether `store` has never held an instance (so loading can reuse it).
    store_fresh: bool,
    captured: Option<CapturedOutput>,
    denied: DeniedLog,
    /// Shared with every [`InterruptHandle`] of this sandbox.
    signal: Arc<Signal>,
    meter: Meter,
}

/// The live instance: a core module's or a component's.
enum Loaded {
    Core(Instance),
    Component(wasmtime::component::Instance),
}

/// Applies the per-call limits around guest code and records what it used.
struct Meter {
    runtime: Runtime,
    /// Fuel each call starts with (`None`: the engine does not meter fuel;
    /// `u64::MAX` for a sandbox without a fuel limit on an engine that does).
    call_fuel: Option<u64>,
    limits: Limits,
    /// Whether guest output goes to the host's stdout/stderr.
    inherits_output: bool,
    /// Whether a refused operation fails the call.
    on_denied: crate::policy::OnDenied,
    last: Metrics,
    total: Metrics,
}

impl Sandbox {
    /// Registers a typed host function, e.g. `|a: i32, b: i32| a + b`.
    ///
    /// Takes effect for modules loaded afterwards (and on `reset`).
    pub fn register_func<P, R>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoHostFunc<P, R>,
    ) -> Result<&mut Self> {
        f.define(self.own_linker(), module, name)
            .map_err(|e| define_error(module, name, e))?;
        Ok(self)
    }

    /// Registers a typed host function that also receives a [`HostCaller`]
    /// for reading and writing guest memory.
    pub fn register_func_with_caller<P, R>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoHostFuncWithCaller<P, R>,
    ) -> Result<&mut Self> {
        f.define(self.own_linker(), module, name)
            .map_err(|e| define_error(module, name, e))?;
        Ok(self)
    }

    /// Registers a host function with a signature known only at run time.
    ///
    /// The closure gets the arguments as [`Value`]s and must return values of
    /// exactly the declared result types (otherwise the guest traps with a
    /// `host_function` error).
    pub fn register_dynamic(
        &mut self,
        module: &str,
        name: &str,
        signature: FuncType,
        f: impl Fn(&mut HostCaller<'_>, &[Value]) -> std::result::Result<Vec<Value>, HostError>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        let declared = signature.results.clone();
        self.register_dynamic_into(module, name, signature, move |caller, args, results| {
            let out = f(caller, args)?;
            if out.len() != results.len() {
                let given: Vec<_> = out.iter().map(Value::ty).collect();
                return Err(HostError::new(format!(
                    "host function returned {}, expected {}",
                    format_types(&given),
                    format_types(&declared)
                )));
            }
            results.copy_from_slice(&out);
            Ok(())
        })
    }

    /// [`Sandbox::register_dynamic`] for a closure that writes its results
    /// into `results` (prefilled with zeros of the declared result types)
    /// instead of returning a vector: a call allocates nothing. A result of
    /// the wrong type traps the guest with a `host_function` error.
    pub fn register_dynamic_into(
        &mut self,
        module: &str,
        name: &str,
        signature: FuncType,
        f: impl Fn(&mut HostCaller<'_>, &[Value], &mut [Value]) -> std::result::Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        let f: Arc<DynamicIntoHostFn> = Arc::new(f);
        crate::host::define_dynamic(self.own_linker(), module, name, signature, f)
            .map_err(|e| define_error(module, name, e))?;
        Ok(self)
    }

    /// Instantiates `module` in a fresh store, replacing any previous instance,
    /// then runs its start function and, for WASI reactors, `_initialize`.
    ///
    /// A WASI 0.2 command component is instantiated with the WASI 0.2
    /// interfaces (host functions registered on the sandbox do not apply to
    /// components); run it with [`Sandbox::run`].
    pub fn load_module(&mut self, module: &Module) -> Result<()> {
        self.instance = None;
        self.instance_id = 0;
        self.module = None;
        self.funcs.clear();
        self.exchanges.clear();
        self.component_funcs.clear();
        if !std::mem::replace(&mut self.store_fresh, false) {
            self.store = self.fresh_store()?;
        }
        let loaded = match &module.inner.kind {
            ModuleKind::Core(core) => {
                self.check_engine(core.engine())?;
                let pre = self.instance_pre(module, core)?;
                // A start function runs guest code: on this thread only when
                // the module cannot make the host wait (as for calls).
                Loaded::Core(if self.meter.can_run_on_thread(Some(module)) {
                    self.meter
                        .execute_on_thread(&mut self.store, false, |store| pre.instantiate(store))?
                } else {
                    self.meter
                        .execute(&mut self.store, false, async move |store| {
                            pre.instantiate_async(store).await
                        })?
                })
            }
            ModuleKind::Component(component) => {
                self.check_engine(component.engine())?;
                let linker = self.component_linker()?;
                let pre = linker
                    .instantiate_pre(component)
                    .map_err(|e| component_link_error(module, &e))?;
                Loaded::Component(self.meter.execute(
                    &mut self.store,
                    false,
                    async move |store| pre.instantiate_async(store).await,
                )?)
            }
        };
        self.instance = Some(loaded);
        self.instance_id = next_instance_id();
        self.module = Some(module.clone());
        if module.export("_initialize").is_some() && !module.is_component() {
            self.call_void("_initialize")?;
        }
        Ok(())
    }

    /// The sandbox's own linker, copied from the runtime's on first use.
    fn own_linker(&mut self) -> &mut Linker<StoreState> {
        self.custom_pre = None;
        let base = &self.meter.runtime.inner.base_linker;
        self.linker.get_or_insert_with(|| base.clone())
    }

    /// The module pre-linked against this sandbox's linker, cached: on the
    /// module for the shared linker, on the sandbox for its own.
    fn instance_pre(
        &mut self,
        module: &Module,
        core: &wasmtime::Module,
    ) -> Result<wasmtime::InstancePre<StoreState>> {
        let cached = match &self.linker {
            None => module.inner.base_pre.get().cloned(),
            Some(_) => self
                .custom_pre
                .as_ref()
                .filter(|c| c.is_for(module))
                .map(|c| c.pre.clone()),
        };
        if let Some(pre) = cached {
            return Ok(pre);
        }
        self.check_imports(core)?;
        let linker = self
            .linker
            .as_ref()
            .unwrap_or(&self.meter.runtime.inner.base_linker);
        let pre = linker.instantiate_pre(core).map_err(|e| Error::Link {
            module: String::new(),
            name: String::new(),
            reason: crate::module::error_chain(&e),
        })?;
        match &self.linker {
            None => {
                let _ = module.inner.base_pre.set(pre.clone());
            }
            Some(_) => self.custom_pre = Some(CachedPre::new(module, pre.clone())),
        }
        Ok(pre)
    }

    fn check_engine(&self, engine: &wasmtime::Engine) -> Result<()> {
        if wasmtime::Engine::same(engine, self.meter.runtime.engine()) {
            Ok(())
        } else {
            Err(Error::invalid_argument(
                "the module was compiled by a different runtime",
            ))
        }
    }

    /// The WASI 0.2 linker, built on first use.
    fn component_linker(&mut self) -> Result<wasmtime::component::Linker<StoreState>> {
        if self.component_linker.is_none() {
            let mut linker = wasmtime::component::Linker::new(self.meter.runtime.engine());
            wasmtime_wasi::p2::add_to_linker_async(&mut linker)
                .and_then(|()| crate::p2_guard::add_guarded_functions(&mut linker))
                .and_then(|()| crate::p2_fuel::add_metered_functions(&mut linker))
                .map_err(|e| Error::invalid_argument(format!("cannot link WASI 0.2: {e}")))?;
            self.component_host_fns.define_all(&mut linker)?;
            self.component_linker = Some(linker);
        }
        Ok(self.component_linker.clone().expect("initialized above"))
    }

    /// Fails with `Error::Link` naming the first import the linker cannot satisfy.
    fn check_imports(&mut self, module: &wasmtime::Module) -> Result<()> {
        for import in module.imports() {
            let link_error = |reason: String| Error::Link {
                module: import.module().to_string(),
                name: import.name().to_string(),
                reason,
            };
            let linker = self
                .linker
                .as_ref()
                .unwrap_or(&self.meter.runtime.inner.base_linker);
            match (linker.get_by_import(&mut self.store, &import), import.ty()) {
                (None, _) if import.module().starts_with("wasi") => {
                    return Err(link_error("this WASI function is not provided".into()));
                }
                (None, _) => {
                    return Err(link_error(
                        "no host function or value with this name is registered".into(),
                    ));
                }
                (Some(wasmtime::Extern::Func(func)), wasmtime::ExternType::Func(wanted)) => {
                    let have = func.ty(&self.store);
                    if !have.matches(&wanted) {
                        return Err(link_error(format!(
                            "the guest imports `{wanted}` but the host function is `{have}`"
                        )));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Discards the instance and instantiates the same module again in a fresh
    /// store: memory, globals and tables return to their initial state.
    pub fn reset(&mut self) -> Result<()> {
        match self.module.clone() {
            Some(module) => self.load_module(&module),
            None => {
                self.store = self.fresh_store()?;
                self.store_fresh = true;
                Ok(())
            }
        }
    }

    /// The loaded module, if any.
    pub fn module(&self) -> Option<&Module> {
        self.module.as_ref()
    }

    /// Calls an export with typed arguments and results, e.g.
    /// `sandbox.call::<(i32, i32), i32>("add", (2, 3))`.
    ///
    /// A WASI `proc_exit(0)` ends a call successfully when the export has no
    /// results (see `clean_exit`); with results it is an `exit` error with
    /// status 0, since there are none to return. The same rule holds for
    /// every way of calling, in every front-end.
    pub fn call<P: CallParams + 'static, R: CallResults + 'static>(
        &mut self,
        name: &str,
        args: P,
    ) -> Result<R> {
        if self
            .funcs
            .get(name)
            .and_then(CachedExport::typed::<P, R>)
            .is_none()
        {
            self.typed_view::<P, R>(name)?;
        }
        let typed = self.funcs.get(name).and_then(CachedExport::typed::<P, R>);
        let typed = typed.expect("cached by typed_view");
        run_typed(
            &mut self.meter,
            &mut self.store,
            self.module.as_ref(),
            typed,
            args,
        )
    }

    /// Resolves an export once, checking its signature against `P -> R`, for
    /// calling it many times without a lookup ([`TypedExport::call`]).
    pub fn typed_func<P: CallParams + 'static, R: CallResults + 'static>(
        &mut self,
        name: &str,
    ) -> Result<TypedExport<P, R>> {
        let typed = self.typed_view::<P, R>(name)?;
        Ok(TypedExport::new(typed, self.instance_id))
    }

    /// Calls a [`TypedExport`] resolved against this sandbox's live instance.
    pub(crate) fn call_export<P: CallParams + 'static, R: CallResults + 'static>(
        &mut self,
        export: &TypedExport<P, R>,
        args: P,
    ) -> Result<R> {
        if export.instance != self.instance_id {
            return Err(Error::invalid_argument(
                "this function handle belongs to another instance (the sandbox was reset or reloaded, or it is another sandbox's); resolve it again with typed_func",
            ));
        }
        run_typed(
            &mut self.meter,
            &mut self.store,
            self.module.as_ref(),
            &export.func,
            args,
        )
    }

    /// The typed view of export `name`, cached per `(P, R)`.
    fn typed_view<P: CallParams + 'static, R: CallResults + 'static>(
        &mut self,
        name: &str,
    ) -> Result<wasmtime::TypedFunc<P, R>> {
        if let Some(typed) = self.funcs.get(name).and_then(CachedExport::typed::<P, R>) {
            return Ok(typed.clone());
        }
        let func = self.func(name)?;
        let typed = match func.typed::<P, R>(&self.store) {
            Ok(t) => t,
            Err(_) => {
                return Err(self.mismatch(name, &func, format_signature(&P::types(), &R::types())));
            }
        };
        if let Some(cached) = self.funcs.get_mut(name) {
            cached.set_typed(typed.clone());
        }
        Ok(typed)
    }

    /// Whether a call into the loaded core module's exports, made from the
    /// current thread, runs on this thread's own stack (no fiber): the
    /// module cannot make the host wait and the stack has room for the wasm
    /// stack limit plus host functions. A binding whose host language cannot
    /// run on a fiber's stack (V8) asks before a synchronous call.
    pub fn runs_on_caller_thread(&self) -> bool {
        self.meter.can_run_on_thread(self.module.as_ref())
    }

    /// Calls an export with arguments checked against its signature at run time.
    pub fn call_dynamic(&mut self, name: &str, args: &[Value]) -> Result<Vec<Value>> {
        let mut results = match self.func_with_signature(name)? {
            (_, Some(sig)) => sig.results.iter().map(|t| Value::default_for(*t)).collect(),
            (_, None) => Vec::new(),
        };
        self.call_dynamic_into(name, args, &mut results)?;
        Ok(results)
    }

    /// [`Sandbox::call_dynamic`] writing the results into `results`, which
    /// must have room for exactly as many as the export returns (otherwise
    /// `signature_mismatch`, before the call). Allocates nothing.
    pub fn call_dynamic_into(
        &mut self,
        name: &str,
        args: &[Value],
        results: &mut [Value],
    ) -> Result<()> {
        let (func, sig) = self.func_with_signature(name)?;
        let Some(sig) = sig else {
            return Err(self.mismatch(
                name,
                &func,
                "numeric arguments (the export uses v128 or reference types)".into(),
            ));
        };
        if args.len() != sig.params.len() || args.iter().zip(&sig.params).any(|(a, t)| a.ty() != *t)
        {
            let given: Vec<_> = args.iter().map(Value::ty).collect();
            return Err(Error::SignatureMismatch {
                name: name.to_string(),
                expected: sig.to_string(),
                given: format!("arguments {}", format_types(&given)),
            });
        }
        if results.len() != sig.results.len() {
            return Err(Error::SignatureMismatch {
                name: name.to_string(),
                expected: sig.to_string(),
                given: format!("room for {} results", results.len()),
            });
        }
        let outcome = if self.meter.can_run_on_thread(self.module.as_ref()) {
            self.meter
                .execute_on_thread(&mut self.store, true, |store| {
                    crate::raw_call::call(func, store, &sig, args, results)
                })
        } else {
            let mut params = std::mem::take(&mut self.params);
            params.clear();
            params.extend(args.iter().map(|v| v.to_wasmtime()));
            let mut out: Vec<wasmtime::Val> = results.iter().map(|v| v.to_wasmtime()).collect();
            let outcome = self.meter.execute(&mut self.store, true, async |store| {
                func.call_async(store, &params, &mut out).await
            });
            self.params = params;
            if outcome.is_ok() {
                for (slot, val) in results.iter_mut().zip(&out) {
                    *slot = Value::from_wasmtime(val)?;
                }
            }
            outcome
        };
        clean_exit(outcome, || sig.results.is_empty().then_some(()))
    }

    /// Export `name` and its numeric signature (`None`: v128 or reference
    /// types), both looked up once per instance.
    fn func_with_signature(
        &mut self,
        name: &str,
    ) -> Result<(Func, Option<std::sync::Arc<FuncType>>)> {
        let func = self.func(name)?;
        let cached = self.funcs.get_mut(name).expect("looked up above");
        let sig = match &cached.signature {
            Some(sig) => sig.clone(),
            None => {
                let sig = func_type(&func.ty(&self.store)).map(std::sync::Arc::new);
                cached.signature = Some(sig.clone());
                sig
            }
        };
        Ok((func, sig))
    }

    /// Calls an export with host-language arguments, converted by the one
    /// rule every front-end shares ([`coerce_args`](crate::coerce_args)).
    pub fn call_args(&mut self, name: &str, args: &[crate::Arg]) -> Result<Vec<Value>> {
        let values = match self.func_with_signature(name)?.1 {
            Some(sig) => crate::coerce::coerce_args(name, &sig, args)?,
            // v128 or reference parameters: call_dynamic reports the mismatch.
            None => Vec::new(),
        };
        self.call_dynamic(name, &values)
    }

    /// Calls an export that takes no arguments, discarding its results.
    /// A WASI `proc_exit(0)` counts as success.
    pub fn call_void(&mut self, name: &str) -> Result<()> {
        // No results are wanted, so `proc_exit(0)` is success whatever the export returns.
        clean_exit(self.call_dynamic(name, &[]).map(drop), || Some(()))
    }

    /// Runs the module's default entry point: `_start` if exported, else `main`.
    /// A WASI `proc_exit(0)` counts as success.
    pub fn run(&mut self) -> Result<Vec<Value>> {
        if let Some(Loaded::Component(instance)) = &self.instance {
            let command =
                Command::new(&mut self.store, instance).map_err(|_| Error::ExportNotFound {
                    name: "wasi:cli/run".into(),
                    available: Vec::new(),
                })?;
            let outcome = self.meter.execute(&mut self.store, true, async |store| {
                command.wasi_cli_run().call_run(store).await
            });
            return match outcome {
                Ok(Ok(())) | Err(Error::Exit { status: 0 }) => Ok(Vec::new()),
                Ok(Err(())) => Err(Error::Exit { status: 1 }),
                Err(e) => Err(e),
            };
        }
        let entry = self.default_entry()?;
        clean_exit(self.call_dynamic(entry, &[]), || Some(Vec::new()))
    }

    /// The name `run` would call: `_start` if exported, else `main`.
    pub fn default_entry(&self) -> Result<&'static str> {
        let module = self.loaded_module()?;
        ["_start", "main"]
            .into_iter()
            .find(|n| matches!(module.export(n), Some(e) if e.ty.kind() == "function"))
            .ok_or_else(|| Error::ExportNotFound {
                name: "_start or main".into(),
                available: module.function_names(),
            })
    }

    /// A handle that stops this sandbox's running call from any thread
    /// (see [`InterruptHandle`]).
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle::new(self.signal.clone())
    }

    /// Metrics of the most recent call (or instantiation).
    pub fn last_call_metrics(&self) -> &Metrics {
        &self.meter.last
    }

    /// Metrics summed over every call since the sandbox was built (resets included).
    pub fn metrics(&self) -> &Metrics {
        &self.meter.total
    }

    /// The limits this sandbox runs under.
    pub fn limits(&self) -> &Limits {
        &self.meter.limits
    }

    /// The capabilities this sandbox was granted.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Guest stdout captured so far (empty unless logging is `Capture`).
    pub fn stdout(&self) -> Vec<u8> {
        self.captured
            .as_ref()
            .map(|c| c.stdout.contents())
            .unwrap_or_default()
    }

    /// Guest stderr captured so far (empty unless logging is `Capture`).
    pub fn stderr(&self) -> Vec<u8> {
        self.captured
            .as_ref()
            .map(|c| c.stderr.contents())
            .unwrap_or_default()
    }

    /// Bytes of stdout and stderr dropped because the capture limit was reached.
    pub fn output_dropped(&self) -> (u64, u64) {
        self.captured
            .as_ref()
            .map(|c| (c.stdout.dropped(), c.stderr.dropped()))
            .unwrap_or_default()
    }

    /// Empties the captured stdout and stderr.
    pub fn clear_output(&self) {
        if let Some(c) = &self.captured {
            c.stdout.clear();
            c.stderr.clear();
        }
    }

    /// The store (for the data-exchange modules).
    pub(crate) fn store(&self) -> &Store<StoreState> {
        &self.store
    }

    pub(crate) fn store_mut(&mut self) -> &mut Store<StoreState> {
        &mut self.store
    }

    pub(crate) fn exchanges(
        &mut self,
    ) -> &mut std::collections::HashMap<Box<str>, crate::bytes::Exchange> {
        &mut self.exchanges
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.meter.runtime
    }

    pub(crate) fn component_host_fns_mut(&mut self) -> &mut crate::component::ComponentHostFns {
        &mut self.component_host_fns
    }

    /// Forgets the WASI 0.2 linker so the next load includes new host functions.
    pub(crate) fn reset_component_linker(&mut self) {
        self.component_linker = None;
    }

    pub(crate) fn component_funcs(&self) -> &crate::component::ComponentFuncs {
        &self.component_funcs
    }

    pub(crate) fn component_funcs_mut(&mut self) -> &mut crate::component::ComponentFuncs {
        &mut self.component_funcs
    }

    /// The live component instance; `None` for a core module.
    pub(crate) fn component_instance(&self) -> Result<Option<wasmtime::component::Instance>> {
        match &self.instance {
            Some(Loaded::Component(i)) => Ok(Some(*i)),
            Some(Loaded::Core(_)) => Ok(None),
            None => Err(Error::invalid_argument(
                "no module is loaded; call load_module first",
            )),
        }
    }

    /// Runs guest code as one call under the sandbox's limits (see [`Meter::execute`]).
    pub(crate) fn execute_call<T>(
        &mut self,
        f: impl AsyncFnOnce(&mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        self.meter.execute(&mut self.store, true, f)
    }

    /// The export `name` as a typed function of signature `P -> R`
    /// (`wanted` is that signature's text, for the mismatch message).
    pub(crate) fn typed_export<P, R>(
        &mut self,
        name: &str,
        wanted: &str,
    ) -> Result<wasmtime::TypedFunc<P, R>>
    where
        P: wasmtime::WasmParams,
        R: wasmtime::WasmResults,
    {
        let func = self.func(name)?;
        func.typed::<P, R>(&self.store)
            .map_err(|_| self.mismatch(name, &func, format!("a function of type {wanted}")))
    }

    /// The exported memory `name` of the live core instance.
    pub(crate) fn exported_memory(&mut self, name: &str) -> Result<wasmtime::Memory> {
        let instance = match &self.instance {
            Some(Loaded::Core(i)) => *i,
            Some(Loaded::Component(_)) => {
                return Err(Error::invalid_argument(
                    "a component does not export its memory; exchange data through its typed exports",
                ));
            }
            None => {
                return Err(Error::invalid_argument(
                    "no module is loaded; call load_module first",
                ));
            }
        };
        instance
            .get_memory(&mut self.store, name)
            .ok_or_else(|| Error::ExportNotFound {
                name: name.to_string(),
                available: self
                    .module
                    .as_ref()
                    .map(Module::memory_names)
                    .unwrap_or_default(),
            })
    }

    pub(crate) fn loaded_module(&self) -> Result<&Module> {
        self.module
            .as_ref()
            .ok_or_else(|| Error::invalid_argument("no module is loaded; call load_module first"))
    }

    fn func(&mut self, name: &str) -> Result<Func> {
        let instance = match &self.instance {
            Some(Loaded::Core(i)) => *i,
            Some(Loaded::Component(_)) => {
                return Err(Error::invalid_argument(format!(
                    "`{name}`: the loaded module is a component; call its exports with WIT values (`call_component`, `call_data`)"
                )));
            }
            None => {
                return Err(Error::invalid_argument(
                    "no module is loaded; call load_module first",
                ));
            }
        };
        if let Some(cached) = self.funcs.get(name) {
            return Ok(cached.func);
        }
        let func =
            instance
                .get_func(&mut self.store, name)
                .ok_or_else(|| Error::ExportNotFound {
                    name: name.to_string(),
                    available: self
                        .module
                        .as_ref()
                        .map(Module::function_names)
                        .unwrap_or_default(),
                })?;
        self.funcs.insert(name.into(), CachedExport::new(func));
        Ok(func)
    }

    fn mismatch(&self, name: &str, func: &Func, given: String) -> Error {
        let ty = func.ty(&self.store);
        let expected = func_type(&ty)
            .map(|s| s.to_string())
            .unwrap_or_else(|| ty.to_string());
        Error::SignatureMismatch {
            name: name.to_string(),
            expected,
            given,
        }
    }

    fn fresh_store(&self) -> Result<Store<StoreState>> {
        new_store(
            &self.meter.runtime,
            &self.meter.limits,
            &self.capabilities,
            self.captured.as_ref(),
            &self.denied,
            &self.signal,
        )
    }
}

/// What a call needs at its end.
struct Started {
    /// When it began, on [`crate::clock`]'s scale.
    start: u64,
    host_calls_before: u64,
}

impl Meter {
    /// Runs guest code on a fiber under the per-call limits and records its
    /// metrics: `f` starts it through a wasmtime `*_async` entry point, and
    /// [`crate::call::drive`] runs it on this thread until it finishes, its
    /// deadline passes, or the sandbox is interrupted, even while the guest
    /// makes the host wait.
    fn execute<T>(
        &mut self,
        store: &mut Store<StoreState>,
        is_call: bool,
        f: impl AsyncFnOnce(&mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        let inherits_output = self.inherits_output;
        self.guarded(store, is_call, |store| {
            let control = &store.data().control;
            let (deadline, signal) = (control.deadline(), control.signal.clone());
            let outcome = crate::call::drive(f(store), deadline, &signal)
                .unwrap_or_else(|stop| Err(wasmtime::Error::new(stop)));
            if inherits_output {
                crate::output::drain_host_pipes(store.data().control.deadline());
            }
            outcome
        })
    }

    /// Like [`Meter::execute`], but runs the guest directly on this thread:
    /// only for guests that cannot make the host wait, on a thread with room
    /// for the wasm stack (see [`Meter::can_run_on_thread`]). The epoch
    /// callback still enforces the deadline and interrupts.
    fn execute_on_thread<T>(
        &mut self,
        store: &mut Store<StoreState>,
        is_call: bool,
        f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        self.guarded(store, is_call, f)
    }

    /// Sets up the call's limits, runs `run` unless an interrupt is already
    /// pending, keeps the ticker going meanwhile, and records the outcome.
    fn guarded<T>(
        &mut self,
        store: &mut Store<StoreState>,
        is_call: bool,
        run: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        let busy = self.runtime.inner.ticker.enter();
        let started = self.begin(store)?;
        let outcome = if store.data().control.signal.take() {
            Err(wasmtime::Error::new(Stop::Interrupted))
        } else {
            run(store)
        };
        drop(busy);
        self.end(store, is_call, started, outcome)
    }

    /// Whether a call into `module` may skip the fiber: the module cannot
    /// make the host wait, and this thread's stack has room for the wasm
    /// stack limit plus host functions.
    fn can_run_on_thread(&self, module: Option<&Module>) -> bool {
        module.is_some_and(|m| !m.inner.host_waits)
            && crate::stack::has_room(self.limits.stack + crate::call::HOST_STACK_HEADROOM)
    }

    /// Sets the call's fuel, deadline and epoch check.
    fn begin(&mut self, store: &mut Store<StoreState>) -> Result<Started> {
        if let Some(fuel) = self.call_fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| Error::invalid_argument(e.to_string()))?;
        }
        let start = crate::clock::now();
        store.data_mut().control.begin(start, self.limits.timeout);
        store.set_epoch_deadline(1);
        Ok(Started {
            start,
            host_calls_before: store.data().host_calls,
        })
    }

    /// Records the call's metrics and classifies its error.
    fn end<T>(
        &mut self,
        store: &mut Store<StoreState>,
        is_call: bool,
        started: Started,
        outcome: wasmtime::Result<T>,
    ) -> Result<T> {
        let wall_time = crate::clock::between(started.start, crate::clock::now());
        store.data_mut().control.finish();
        let fuel_limit = self.limits.fuel;
        let fuel_consumed = match fuel_limit {
            Some(limit) => limit - store.get_fuel().unwrap_or(0),
            None => 0,
        };
        let state = store.data();
        let (denied_count, denied) = state.denied.drain();
        // Field by field: the common case allocates and frees nothing.
        let last = &mut self.last;
        last.calls = u64::from(is_call);
        last.wall_time = wall_time;
        last.fuel_consumed = fuel_consumed;
        last.memory_current = state.limiter.memory_bytes();
        last.memory_peak = state.limiter.memory_peak();
        last.host_calls = state.host_calls - started.host_calls_before;
        last.denied_count = denied_count;
        if !(denied.is_empty() && last.denied.is_empty()) {
            last.denied = denied;
        }
        self.total.accumulate(&self.last);
        if self.on_denied == crate::policy::OnDenied::Error
            && let Some(first) = self.last.denied.first()
        {
            // The first refusal is the cause, whatever the guest did next.
            return Err(Error::PermissionDenied {
                capability: first.capability,
                operation: first.operation,
                target: first.target.clone(),
            });
        }
        match outcome {
            Ok(value) => Ok(value),
            Err(err) => {
                let pool = self.runtime.inner.instance_pool;
                let err = classify(err, &self.limits, pool, wall_time, fuel_consumed);
                if matches!(err, Error::Interrupted { .. }) {
                    state.control.signal.take();
                }
                Err(err)
            }
        }
    }
}

/// Runs a typed call under the limits: on this thread when the module cannot
/// make the host wait and the stack has room, else on a fiber.
fn run_typed<P: CallParams + 'static, R: CallResults + 'static>(
    meter: &mut Meter,
    store: &mut Store<StoreState>,
    module: Option<&Module>,
    typed: &wasmtime::TypedFunc<P, R>,
    args: P,
) -> Result<R> {
    let outcome = if meter.can_run_on_thread(module) {
        meter.execute_on_thread(store, true, |store| typed.call(store, args))
    } else {
        meter.execute(store, true, async move |store| {
            typed.call_async(store, args).await
        })
    };
    clean_exit(outcome, || {
        let unit: Box<dyn std::any::Any> = Box::new(());
        unit.downcast::<R>().ok().map(|r| *r)
    })
}

/// The rule for WASI `proc_exit(0)`: it ends a call successfully with the
/// value `no_results` gives when the export has no results (`Some`); with
/// results it stays an `exit` error with status 0.
pub(crate) fn clean_exit<T>(
    outcome: Result<T>,
    no_results: impl FnOnce() -> Option<T>,
) -> Result<T> {
    match outcome {
        Err(Error::Exit { status: 0 }) => no_results().ok_or(Error::Exit { status: 0 }),
        other => other,
    }
}

/// A component import the linker cannot satisfy, named when the message
/// names one of the component's imports.
fn component_link_error(module: &Module, err: &wasmtime::Error) -> Error {
    let reason = crate::module::error_chain(err);
    let import = module.imports().iter().find(|i| {
        reason.contains(&format!("`{}`", i.name)) || reason.contains(&format!("`{}`", i.module))
    });
    Error::Link {
        module: import.map(|i| i.module.clone()).unwrap_or_default(),
        name: import.map(|i| i.name.clone()).unwrap_or_default(),
        reason,
    }
}

fn define_error(module: &str, name: &str, err: wasmtime::Error) -> Error {
    Error::invalid_argument(format!(
        "cannot register host function `{module}::{name}`: {}",
        crate::module::error_chain(&err)
    ))
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.meter.limits)
            .field("capabilities", &self.capabilities)
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}
