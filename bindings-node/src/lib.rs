//! Node bindings for Aegis (npm package `aegis`): a translation layer over
//! aegis-core. Every policy (limits, capabilities, error classification) lives
//! in the core; this crate converts JS values and callbacks and maps errors to
//! JS `Error`s carrying a stable `code`.

#![deny(clippy::all)]
// napi-derive does not register exports in test builds, so they look unused there.
#![cfg_attr(test, allow(dead_code))]

mod caller;
mod calls;
mod data;
mod errors;
mod host;
mod inline;
mod interrupt;
mod metrics;
mod module;
mod options;
mod runtime;
mod sandbox;
mod task;
mod values;

use napi::bindgen_prelude::{ClassInstance, FunctionCallContext, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::errors::{Fallible, invalid_argument};
use crate::interrupt::parse_call_options;
use crate::sandbox::Sandbox;

/// Every error `code` Aegis can throw (`AEGIS_` + the core's code in upper
/// case, e.g. `AEGIS_OUT_OF_FUEL`), in the core's order.
#[napi]
pub const ERROR_CODES: errors::ErrorCodeList = errors::ErrorCodeList;

/// A new array of `ERROR_CODES`.
#[napi]
pub fn error_codes() -> Vec<String> {
    errors::all_codes()
}

/// Every detail property an Aegis error can carry (the core's detail names
/// in camelCase: `trapCode`, `elapsed`, ...).
#[napi]
pub const DETAIL_NAMES: NameList = NameList(aegis_core::details::DETAIL_NAMES);

/// Every property of `sandbox.metrics` / `lastCallMetrics`, in order (the
/// core's metric names in camelCase: `calls`, `wallTime`, ...).
#[napi]
pub const METRIC_NAMES: NameList = NameList(aegis_core::METRIC_NAMES);

/// Every option of `new Runtime(options)` and `runtime.sandbox(options)`, as
/// the core lists them: camelCase `name`, `coreName` (policy files), `doc`,
/// `default`, `unit` and `scope` (`'runtime'` options are refused on a sandbox).
#[napi]
pub const OPTIONS: options::OptionList = options::OptionList;

/// A list of the core's snake_case names, exported frozen in camelCase.
pub struct NameList(&'static [&'static str]);

impl napi::bindgen_prelude::ToNapiValue for NameList {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        val: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        values::frozen_strings(
            &Env::from_raw(env),
            val.0.iter().map(|n| aegis_core::policy::camel_case(n)),
        )
    }
}

/// Whether `err` is an error Aegis threw (or rejected with): an `Error`
/// whose `code` is one of `ERROR_CODES`. Never throws; in TypeScript it
/// narrows `unknown` (a `catch` variable) to `AegisError`.
#[napi(ts_args_type = "err: unknown", ts_return_type = "err is AegisError")]
pub fn is_aegis_error(env: Env, err: Unknown<'_>) -> bool {
    errors::is_aegis_error(&env, err.raw())
}

/// Splits `(name, ...args)` for the variadic call methods.
fn name_and_args<'a>(
    ctx: &'a FunctionCallContext<'_>,
    method: &str,
) -> Fallible<(String, Vec<Unknown<'a>>)> {
    let args: Vec<Unknown<'a>> = ctx.arguments()?;
    let name = match args.first() {
        Some(first) if first.get_type()? == napi::ValueType::String => {
            // SAFETY: checked to be a string of this env.
            unsafe { first.cast::<String>()? }
        }
        _ => {
            return Err(invalid_argument(format!(
                "{method}(name, ...args): name must be a string"
            )));
        }
    };
    Ok((name, args.into_iter().skip(1).collect()))
}

/// Installs the variadic `Sandbox.prototype.call` and `callAsync`, which
/// `#[napi]` methods cannot express (typed in `header.d.ts`).
#[napi(module_exports)]
pub fn install_variadic_methods(exports: Object, env: Env) -> napi::Result<()> {
    // The class is a function; read its `prototype` through the object API.
    let class: Unknown = exports.get_named_property("Sandbox")?;
    let class = Object::from_raw(env.raw(), class.raw());
    let mut prototype: Object = class.get_named_property("prototype")?;

    calls::install_call(&env, prototype.raw())?;

    let call_async =
        env.create_function_from_closure::<(), Unknown<'static>, _>("callAsync", |ctx| {
            let env = Env::from_raw(ctx.env.raw());
            let started = (|| {
                let this: ClassInstance<Sandbox> = ctx.this()?;
                let (name, mut args) = name_and_args(&ctx, "callAsync")?;
                // A core module's arguments are numbers and BigInts, so a
                // trailing object can only be the options (validated
                // strictly). A component's may be records: there a trailing
                // object is the options only after all its parameters.
                let options_last = match this.component_params(&name) {
                    Some(params) => args.len() == params + 1,
                    None => true,
                };
                let options = match args.last() {
                    Some(last) if options_last && last.get_type()? == napi::ValueType::Object => {
                        let raw = last.raw();
                        args.pop();
                        Some(parse_call_options(&env, raw, "callAsync")?)
                    }
                    _ => None,
                };
                let raw: Vec<_> = args.iter().map(|a| a.raw()).collect();
                this.call_later(&env, &name, &raw, options)
            })();
            // Failures to start (busy sandbox, bad arguments, an aborted
            // signal) reject, like the call's own errors.
            let promise = task::promise(&env, started)?;
            // SAFETY: `promise` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
        })?;
    prototype.set_named_property("callAsync", call_async)?;
    Ok(())
}
