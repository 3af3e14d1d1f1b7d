//! Node bindings for Aegis (npm package `aegis`): a translation layer over
//! aegis-core. Every policy (limits, capabilities, error classification) lives
//! in the core; this crate converts JS values and callbacks and maps errors to
//! JS `Error`s carrying a stable `code`.

#![deny(clippy::all)]
// napi-derive does not register exports in test builds, so they look unused there.
#![cfg_attr(test, allow(dead_code))]

mod errors;
mod host;
mod metrics;
mod module;
mod options;
mod runtime;
mod sandbox;
mod task;
mod values;

use napi::bindgen_prelude::{
    ClassInstance, FunctionCallContext, JsObjectValue, Object, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, sys};
use napi_derive::napi;

use crate::errors::{Fallible, boundary, invalid_argument};
use crate::sandbox::Sandbox;

/// Every error `code` Aegis can throw, e.g. `AEGIS_OUT_OF_FUEL`.
#[napi]
pub fn error_codes() -> Vec<String> {
    errors::all_codes()
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

/// A promise already rejected with `error`.
fn rejected(env: &Env, error: napi::Error) -> napi::Result<sys::napi_value> {
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    // SAFETY: `env` is live; the deferred is settled exactly once, right here.
    unsafe {
        values::check(sys::napi_create_promise(
            env.raw(),
            &mut deferred,
            &mut promise,
        ))?;
        let reason = ToNapiValue::to_napi_value(env.raw(), error)?;
        values::check(sys::napi_reject_deferred(env.raw(), deferred, reason))?;
    }
    Ok(promise)
}

/// Installs the variadic `Sandbox.prototype.call` and `callAsync`, which
/// `#[napi]` methods cannot express (typed in `header.d.ts`).
#[napi(module_exports)]
pub fn install_variadic_methods(exports: Object, env: Env) -> napi::Result<()> {
    // The class is a function; read its `prototype` through the object API.
    let class: Unknown = exports.get_named_property("Sandbox")?;
    let class = Object::from_raw(env.raw(), class.raw());
    let mut prototype: Object = class.get_named_property("prototype")?;

    let call = env.create_function_from_closure::<(), Unknown<'static>, _>("call", |ctx| {
        let env = Env::from_raw(ctx.env.raw());
        boundary(&env, || {
            let this: ClassInstance<Sandbox> = ctx.this()?;
            let (name, args) = name_and_args(&ctx, "call")?;
            let raw: Vec<_> = args.iter().map(|a| a.raw()).collect();
            let out = this.call_now(&env, &name, &raw)?;
            // SAFETY: `out` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), out) })
        })
    })?;
    prototype.set_named_property("call", call)?;

    let call_async =
        env.create_function_from_closure::<(), Unknown<'static>, _>("callAsync", |ctx| {
            let env = Env::from_raw(ctx.env.raw());
            let started = (|| {
                let this: ClassInstance<Sandbox> = ctx.this()?;
                let (name, args) = name_and_args(&ctx, "callAsync")?;
                let raw: Vec<_> = args.iter().map(|a| a.raw()).collect();
                this.call_later(&env, &name, &raw)
            })();
            // Failures to start (busy sandbox, bad arguments) reject, like the call's own errors.
            let promise = match started {
                // SAFETY: `env` is the live env of this callback.
                Ok(task) => unsafe { ToNapiValue::to_napi_value(env.raw(), task)? },
                Err(failure) => rejected(&env, errors::to_js(&env, failure))?,
            };
            // SAFETY: `promise` was just created in `env`.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
        })?;
    prototype.set_named_property("callAsync", call_async)?;
    Ok(())
}
