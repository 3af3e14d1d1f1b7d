//! `callAsync`/`runAsync`: the guest runs on a libuv worker thread.

use std::sync::Arc;

use aegis_core::Value;
use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task, ValueType, sys};

use crate::errors::to_js;
use crate::sandbox::{Busy, Shared};
use crate::values::results_to_js;

/// What an async call does.
pub enum Request {
    /// `call_dynamic(name, args)`.
    Call(String, Vec<Value>),
    /// `run()`: the default entry point.
    Run,
}

/// One guest call on a worker thread. Holds the sandbox's busy mark until the
/// guest returns, so the sandbox is never used by two calls at once.
pub struct CallTask {
    pub(crate) shared: Arc<Shared>,
    pub(crate) busy: Option<Busy>,
    pub(crate) request: Request,
}

/// Call results, converted to JS on the JS thread.
pub struct CallResults(Vec<Value>);

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
        results_to_js(&Env::from_raw(env), val.0)
    }
}

impl Task for CallTask {
    type Output = Result<Vec<Value>, aegis_core::Error>;
    type JsValue = CallResults;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let outcome = {
            let mut sandbox = self.shared.lock();
            match &self.request {
                Request::Call(name, args) => sandbox.call_dynamic(name, args),
                Request::Run => sandbox.run(),
            }
        };
        self.busy = None;
        Ok(outcome)
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<CallResults> {
        output.map(CallResults).map_err(|e| to_js(&env, e.into()))
    }
}
