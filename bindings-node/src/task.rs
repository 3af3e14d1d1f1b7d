//! `callAsync`/`runAsync`: the guest runs on a libuv worker thread.

use aegis_core::{Arg, Data, Entered, Error, Value};
use napi::JsValue;
use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task, ValueType, sys};

use crate::errors::{Fallible, to_js, to_js_with_cause};
use crate::interrupt::AbortWatch;
use crate::values::{check, results_to_js};

/// What an async call does.
pub enum Request {
    /// `call_args(name, args)`: a core module's export.
    Call(String, Vec<Arg>),
    /// `call_data(name, args)`: a component's export.
    Data(String, Vec<Data>),
    /// `call_bytes(name, input)`.
    Bytes(String, Vec<u8>),
    /// `call_str(name, input)`.
    Str(String, String),
    /// `run()`: the default entry point.
    Run,
}

/// What an async call returns, converted to JS on the JS thread.
pub enum Outcome {
    /// Wasm values (`call`, `run` on a core module).
    Values(Vec<Value>),
    /// Component values.
    Data(Vec<Data>),
    /// A `Buffer`.
    Bytes(Vec<u8>),
    /// A string.
    Str(String),
}

impl Request {
    /// Runs the request. The core takes `Data` arguments by value: they are
    /// moved out, or copied if `again` (the request may have to run again).
    pub(crate) fn run(
        &mut self,
        sandbox: &mut aegis_core::Sandbox,
        again: bool,
    ) -> Result<Outcome, Error> {
        Ok(match self {
            Request::Call(name, args) => Outcome::Values(sandbox.call_args(name, args)?),
            Request::Data(name, args) => {
                let args = if again {
                    args.clone()
                } else {
                    std::mem::take(args)
                };
                Outcome::Data(sandbox.call_data(name, args)?)
            }
            Request::Bytes(name, input) => Outcome::Bytes(sandbox.call_bytes(name, input)?),
            Request::Str(name, input) => Outcome::Str(sandbox.call_str(name, input)?),
            Request::Run => Outcome::Values(sandbox.run()?),
        })
    }
}

impl ToNapiValue for Outcome {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(env);
        match val {
            Outcome::Values(values) => results_to_js(&env, values),
            Outcome::Data(data) => crate::data::results_to_js(&env, data),
            Outcome::Bytes(bytes) => Ok(crate::sandbox::buffer_copy(&env, &bytes)?.raw()),
            Outcome::Str(text) => crate::values::string(&env, &text),
        }
    }
}

/// One guest call on a worker thread. Holds the sandbox entered (the core's
/// busy mark) until the guest returns: meanwhile every other use of the
/// sandbox fails with `AEGIS_BUSY`.
pub struct CallTask {
    /// Taken on the JS thread when the call was made; released once the guest returns.
    pub(crate) entered: Option<Entered>,
    pub(crate) request: Request,
    /// The call's `AbortSignal` wiring, if it was given one.
    pub(crate) watch: Option<AbortWatch>,
}

/// Call results, converted to JS on the JS thread.
pub struct CallResults(Outcome);

impl TypeName for CallResults {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for CallResults {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded from napi with the same live env.
        unsafe { Outcome::to_napi_value(env, val.0) }
    }
}

impl Task for CallTask {
    type Output = Result<Outcome, aegis_core::Error>;
    type JsValue = CallResults;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        if let Some(watch) = &self.watch {
            watch.started();
        }
        let Some(entered) = self.entered.take() else {
            return Ok(Err(Error::Busy));
        };
        let mut sandbox = entered.sandbox();
        let outcome = self.request.run(&mut sandbox, self.watch.is_some());
        let stale = self.watch.as_ref().is_some_and(AbortWatch::finished);
        if stale && !matches!(outcome, Err(Error::Interrupted { .. })) {
            // The signal aborted just as the guest returned: its request
            // would stop the sandbox's next, unrelated call. aegis-core cannot
            // withdraw a request, but a call consumes a pending one before
            // running any guest code, so issuing the same request again
            // (the sandbox still held) uses it up and runs nothing. Its only
            // trace is a call of ~0 ms in the metrics.
            let _ = self.request.run(&mut sandbox, false);
        }
        drop(sandbox);
        drop(entered);
        Ok(outcome)
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<CallResults> {
        output.map(CallResults).map_err(|e| match &self.watch {
            // Stopped by its signal: the signal's reason is the cause.
            Some(watch) if matches!(e, Error::Interrupted { .. }) && watch.aborted() => {
                match watch.reason(&env) {
                    Ok(reason) => to_js_with_cause(&env, e, reason),
                    Err(napi_failure) => napi_failure,
                }
            }
            _ => to_js(&env, e.into()),
        })
    }

    fn finally(self, env: Env) -> napi::Result<()> {
        match self.watch {
            Some(watch) => watch.detach(&env),
            None => Ok(()),
        }
    }
}

/// The promise of an async call: the task's, or one already rejected with
/// the reason it could not start (`AEGIS_BUSY`, bad arguments, aborted signal).
pub fn promise(env: &Env, started: Fallible<AsyncTask<CallTask>>) -> napi::Result<sys::napi_value> {
    match started {
        // SAFETY: `env` is the live env of the calling JS callback.
        Ok(task) => unsafe { ToNapiValue::to_napi_value(env.raw(), task) },
        Err(failure) => rejected(env, to_js(env, failure)),
    }
}

/// A promise already rejected with `error`.
fn rejected(env: &Env, error: napi::Error) -> napi::Result<sys::napi_value> {
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    // SAFETY: `env` is live; the deferred is settled exactly once, right here.
    unsafe {
        check(sys::napi_create_promise(
            env.raw(),
            &mut deferred,
            &mut promise,
        ))?;
        let reason = ToNapiValue::to_napi_value(env.raw(), error)?;
        check(sys::napi_reject_deferred(env.raw(), deferred, reason))?;
    }
    Ok(promise)
}
