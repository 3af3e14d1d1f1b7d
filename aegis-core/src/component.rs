//! Component-model calls with WIT values, and host functions that
//! implement a component's imports.
//!
//! An export is named `func` at the component's root or `interface#func`
//! inside an exported interface (`aegis:test/text#upper`), as
//! `wasmtime run --invoke` names them. Calls run under the sandbox's
//! limits like any other call. Converting values between the guest and the
//! host takes host memory, which is counted against the result limit
//! ([`crate::Limits::result_bytes`]) before it is allocated: the results of
//! an export, and the arguments a component passes to a host function. A guest that breaks the
//! canonical ABI (a string that is not UTF-8, a list outside its memory, an
//! allocator returning a bad pointer) fails the call with `invalid_result`.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::types::{ComponentFunc, Type};
use wasmtime::component::{Func, Val};

use crate::data::{Data, from_val, supported, to_val};
use crate::details::TrapCode;
use crate::error::{Error, Result};
use crate::host::{HostError, finish_in, guarded};
use crate::sandbox::Sandbox;
use crate::store::StoreState;

/// A registered host function for a component import.
pub(crate) type TypedHostFn =
    dyn Fn(&ComponentCall<'_>, &[Val]) -> std::result::Result<Vec<Val>, HostError> + Send + Sync;

/// What a component host function knows of the call it serves: the
/// import it implements, with its WIT type, and whether the call must stop.
pub struct ComponentCall<'a> {
    import: &'a str,
    ty: &'a ComponentFunc,
    control: &'a crate::call::CallControl,
}

impl ComponentCall<'_> {
    /// The import's name, `func` or `interface#func`.
    pub fn import(&self) -> &str {
        self.import
    }

    /// The import's WIT type.
    pub fn ty(&self) -> &ComponentFunc {
        self.ty
    }

    /// Whether the import returns a value (WIT functions return at most one).
    pub fn has_result(&self) -> bool {
        self.ty.results().len() > 0
    }

    /// Whether the call must stop: its deadline has passed or its sandbox
    /// was interrupted. A host function that waits for something should
    /// check this and return; the call then ends with `timeout` or
    /// `interrupted` whatever it returns.
    pub fn is_cancelled(&self) -> bool {
        self.control.check().is_some()
    }

    /// Time left before the call's deadline (`None` without a timeout).
    pub fn time_remaining(&self) -> Option<std::time::Duration> {
        self.control.time_remaining()
    }
}

/// Host functions registered for component imports, by import name.
#[derive(Default, Clone)]
pub(crate) struct ComponentHostFns {
    funcs: Vec<(String, Arc<TypedHostFn>)>,
}

impl ComponentHostFns {
    /// Adds every registered function to `linker`.
    pub(crate) fn define_all(
        &self,
        linker: &mut wasmtime::component::Linker<StoreState>,
    ) -> Result<()> {
        for (name, f) in &self.funcs {
            define(linker, name, f.clone())?;
        }
        Ok(())
    }

    /// Adds `f` under `name`, refusing a bad or duplicate name now rather
    /// than when a component is loaded.
    fn add(&mut self, engine: &wasmtime::Engine, name: &str, f: Arc<TypedHostFn>) -> Result<()> {
        let mut scratch = wasmtime::component::Linker::new(engine);
        self.define_all(&mut scratch)?;
        define(&mut scratch, name, f.clone())?;
        self.funcs.push((name.to_string(), f));
        Ok(())
    }
}

/// Host bytes one converted component value takes: each element of a
/// list, field of a record or item of a tuple becomes one `Val`, counted
/// at this size against the result limit (a string counts its bytes).
pub const VALUE_SIZE: usize = std::mem::size_of::<Val>();

/// The hostcall fuel of a store whose result limit is `result_bytes`:
/// wasmtime counts the host memory each conversion takes against it, per
/// call, before allocating.
pub(crate) fn hostcall_fuel(result_bytes: u64) -> usize {
    usize::try_from(result_bytes).unwrap_or(usize::MAX)
}

/// wasmtime's message when a conversion exceeds the hostcall fuel.
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";

/// Whether `err` is wasmtime refusing a conversion past the hostcall fuel
/// (its error type is private: known by its message, anywhere in the chain).
pub(crate) fn is_hostcall_fuel_exhausted(err: &wasmtime::Error) -> bool {
    err.chain()
        .any(|e| e.to_string().contains(HOSTCALL_FUEL_EXHAUSTED))
}

/// A host function's result that does not fit its import's type: the
/// host's fault (`host_function`), named after the import.
fn wrong_value(import: &str, err: Error) -> HostError {
    let why = match err {
        Error::SignatureMismatch { given, .. } => given,
        other => other.message(),
    };
    HostError::new(format!(
        "host function `{import}` returned a wrong value: {why}"
    ))
}

/// Splits `iface#func` into the interface and the function (`None` at the root).
fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('#') {
        Some((iface, func)) => (Some(iface), func),
        None => (None, name),
    }
}

fn define(
    linker: &mut wasmtime::component::Linker<StoreState>,
    name: &str,
    f: Arc<TypedHostFn>,
) -> Result<()> {
    let (iface, func) = split_name(name);
    let import = name.to_string();
    let body = move |mut store: wasmtime::StoreContextMut<'_, StoreState>,
                     ty: ComponentFunc,
                     params: &[Val],
                     results: &mut [Val]|
          -> wasmtime::Result<()> {
        store.data_mut().host_calls += 1;
        let call = ComponentCall {
            import: &import,
            ty: &ty,
            control: &store.data().control,
        };
        let out = guarded(|| f(&call, params));
        let out = finish_in(out, store.data())?;
        if out.len() != results.len() {
            return Err(HostError::new(format!(
                "host function `{import}` returned {} values, the import has {} results",
                out.len(),
                results.len()
            ))
            .into());
        }
        // A wrong result is the host's fault, not the guest's: check it here
        // rather than let wasmtime refuse it as the guest's value.
        for (v, t) in out.iter().zip(ty.results()) {
            crate::data::check_val(v, &t, "result").map_err(|e| wrong_value(&import, e))?;
        }
        for (slot, v) in results.iter_mut().zip(out) {
            *slot = v;
        }
        Ok(())
    };
    let defined = match iface {
        None => linker.root().func_new(func, body),
        Some(iface) => linker
            .instance(iface)
            .and_then(|mut inst| inst.func_new(func, body)),
    };
    defined.map_err(|e| {
        Error::invalid_argument(format!(
            "cannot register host function `{name}`: {}",
            crate::module::error_chain(&e)
        ))
    })
}

/// Functions of a loaded component, looked up so far.
#[derive(Default)]
pub(crate) struct ComponentFuncs(HashMap<Box<str>, Func>);

impl ComponentFuncs {
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

impl Sandbox {
    /// Calls a component export with WIT values. `name` is `func` or
    /// `interface#func`.
    pub fn call_component(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>> {
        let func = self.component_func(name)?;
        let ty = func.ty(self.store());
        check_supported(name, &ty)?;
        if args.len() != ty.params().len() {
            return Err(arity_mismatch(name, &ty, args.len()));
        }
        args.iter()
            .zip(ty.params())
            .enumerate()
            .try_for_each(|(i, (v, (pname, pty)))| {
                crate::data::check_val(v, &pty, &format!("argument {} ({pname})", i + 1))
            })
            .map_err(|e| named(e, name, &ty))?;
        let mut results = vec![Val::Bool(false); ty.results().len()];
        let outcome =
            self.execute_call(async |store| func.call_async(&mut *store, args, &mut results).await);
        outcome.map_err(abi_violation)?;
        Ok(results)
    }

    /// Calls an export with [`Data`] arguments, converted by the export's
    /// types (see [`crate::data`]); results come back as [`Data`].
    ///
    /// Works for core modules too: integers, floats and booleans go through
    /// [`Sandbox::call_args`], i32 results come back as `Int`, i64 as
    /// `BigInt`, floats as `Float`.
    pub fn call_data(&mut self, name: &str, args: impl Into<Vec<Data>>) -> Result<Vec<Data>> {
        let args: Vec<Data> = args.into();
        if !self.module().is_some_and(|m| m.is_component()) {
            let args: Vec<crate::Arg> = args.iter().map(core_arg).collect();
            let values = self.call_args(name, &args)?;
            return Ok(values.iter().map(core_data).collect());
        }
        let func = self.component_func(name)?;
        let ty = func.ty(self.store());
        check_supported(name, &ty)?;
        if args.len() != ty.params().len() {
            return Err(arity_mismatch(name, &ty, args.len()));
        }
        let vals = args
            .into_iter()
            .zip(ty.params())
            .enumerate()
            .map(|(i, (d, (pname, pty)))| to_val(d, &pty, &format!("argument {} ({pname})", i + 1)))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| named(e, name, &ty))?;
        let results = self.call_component(name, &vals)?;
        results
            .into_iter()
            .zip(ty.results())
            .map(|(v, t)| from_val(v, &t))
            .collect()
    }

    /// The WIT type of a component export.
    pub fn component_func_type(&mut self, name: &str) -> Result<ComponentFunc> {
        let func = self.component_func(name)?;
        Ok(func.ty(self.store()))
    }

    /// Registers a host function on WIT values for a component import
    /// named `func` (a root import) or `interface#func`. Takes effect for
    /// components loaded afterwards. The same rules as core host functions
    /// hold: an error or panic traps the guest (`host_function`), and its
    /// time counts against the call's deadline.
    pub fn register_component_func(
        &mut self,
        name: &str,
        f: impl Fn(&ComponentCall<'_>, &[Val]) -> std::result::Result<Vec<Val>, HostError>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        self.register_component_typed(name, Arc::new(f))
    }

    /// Registers a host function on [`Data`] values for a component import:
    /// arguments are converted from WIT, results to the import's result
    /// types (a result of the wrong kind is a `host_function` error).
    pub fn register_component_data(
        &mut self,
        name: &str,
        f: impl Fn(&ComponentCall<'_>, &[Data]) -> std::result::Result<Vec<Data>, HostError>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self> {
        let import = name.to_string();
        let typed = move |call: &ComponentCall<'_>, params: &[Val]| {
            let ty = call.ty();
            let args = params
                .iter()
                .zip(ty.params())
                .map(|(v, (_, t))| from_val(v.clone(), &t))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| HostError::new(e.message()))?;
            let out = f(call, &args)?;
            let types: Vec<Type> = ty.results().collect();
            if out.len() != types.len() {
                return Err(HostError::new(format!(
                    "host function `{import}` returned {} values, the import has {} results",
                    out.len(),
                    types.len()
                )));
            }
            out.into_iter()
                .zip(&types)
                .map(|(d, t)| to_val(d, t, "result"))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| wrong_value(&import, e))
        };
        self.register_component_typed(name, Arc::new(typed))
    }

    fn register_component_typed(&mut self, name: &str, f: Arc<TypedHostFn>) -> Result<&mut Self> {
        let engine = self.runtime().engine().clone();
        self.component_host_fns_mut().add(&engine, name, f)?;
        self.reset_component_linker();
        Ok(self)
    }

    /// Looks up (and caches) a component export.
    fn component_func(&mut self, name: &str) -> Result<Func> {
        if let Some(f) = self.component_funcs().0.get(name) {
            return Ok(*f);
        }
        let not_found = |sandbox: &Sandbox| Error::ExportNotFound {
            name: name.to_string(),
            available: sandbox
                .module()
                .map(crate::Module::function_names)
                .unwrap_or_default(),
        };
        let Some(instance) = self.component_instance()? else {
            return Err(Error::invalid_argument(format!(
                "`{name}`: the loaded module is a core module; call it with `call`, `call_args` or `call_bytes`"
            )));
        };
        let (iface, func_name) = split_name(name);
        let component = self.module().and_then(|m| m.component()).cloned();
        let Some(component) = component else {
            return Err(not_found(self));
        };
        let parent = match iface {
            Some(iface) => match component.get_export_index(None, iface) {
                Some(idx) => Some(idx),
                None => return Err(not_found(self)),
            },
            None => None,
        };
        let Some(idx) = component.get_export_index(parent.as_ref(), func_name) else {
            return Err(not_found(self));
        };
        let Some(func) = instance.get_func(self.store_mut(), idx) else {
            return Err(not_found(self));
        };
        self.component_funcs_mut().0.insert(name.into(), func);
        Ok(func)
    }
}

fn check_supported(name: &str, ty: &ComponentFunc) -> Result<()> {
    let bad = ty
        .params()
        .map(|(_, t)| t)
        .chain(ty.results())
        .find(|t| !supported(t));
    match bad {
        Some(t) => Err(Error::invalid_argument(format!(
            "`{name}` takes or returns a {}: resources, futures and streams cannot cross between a host and a component in Aegis",
            crate::data::type_name(&t)
        ))),
        None => Ok(()),
    }
}

fn signature(ty: &ComponentFunc) -> String {
    let params: Vec<String> = ty
        .params()
        .map(|(n, t)| format!("{n}: {}", crate::data::type_name(&t)))
        .collect();
    let results: Vec<String> = ty.results().map(|t| crate::data::type_name(&t)).collect();
    match results.as_slice() {
        [] => format!("func({})", params.join(", ")),
        _ => format!("func({}) -> {}", params.join(", "), results.join(", ")),
    }
}

fn arity_mismatch(name: &str, ty: &ComponentFunc, given: usize) -> Error {
    Error::SignatureMismatch {
        name: name.to_string(),
        expected: signature(ty),
        given: format!("{given} arguments"),
    }
}

/// Fills in the function's name and signature in a conversion error.
fn named(err: Error, name: &str, ty: &ComponentFunc) -> Error {
    match err {
        Error::SignatureMismatch { given, .. } => Error::SignatureMismatch {
            name: name.to_string(),
            expected: signature(ty),
            given,
        },
        other => other,
    }
}

/// A component call's failure that is not a wasm trap or a limit is the
/// guest breaking the canonical ABI (wasmtime refused to lift its values).
/// (A conversion past the result limit is classified as `result_too_large`
/// with every other error, see `trap::classify`.)
fn abi_violation(err: Error) -> Error {
    match err {
        Error::Trap {
            code: TrapCode::HostError,
            message,
            ..
        } => Error::InvalidResult { message },
        other => other,
    }
}

fn core_arg(data: &Data) -> crate::Arg {
    match data {
        Data::Int(v) => crate::Arg::Int((*v).into()),
        Data::BigInt(v) => crate::Arg::Int(*v),
        Data::Float(v) => crate::Arg::Float(*v),
        Data::Bool(b) => crate::Arg::Bool(*b),
        other => crate::Arg::Other(other.kind().to_string()),
    }
}

fn core_data(value: &crate::Value) -> Data {
    match value {
        crate::Value::I32(v) => Data::Int((*v).into()),
        crate::Value::I64(v) => Data::BigInt((*v).into()),
        crate::Value::F32(v) => Data::Float((*v).into()),
        crate::Value::F64(v) => Data::Float(*v),
    }
}
