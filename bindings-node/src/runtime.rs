//! `Runtime`: a configured engine; compiles modules and creates sandboxes.

use std::sync::OnceLock;

use aegis_core::Aegis;
use napi::Env;
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;

use crate::errors::{Fallible, boundary};
use crate::module::Module;
use crate::options::{Options, apply_options, stack_limit};
use crate::sandbox::Sandbox;

/// A configured engine with default limits and capabilities for its sandboxes.
/// Create one per process and share it.
#[napi]
pub struct Runtime {
    inner: aegis_core::Runtime,
}

/// The limits a runtime's sandboxes start from.
#[napi(object)]
pub struct LimitsInfo {
    /// Total linear memory in bytes.
    pub memory_limit: f64,
    /// Fuel per call; `Infinity` when metering is off.
    pub fuel_limit: f64,
    /// Wall-clock limit per call in milliseconds; `Infinity` when off.
    pub timeout: f64,
    /// Maximum wasm stack in bytes.
    pub stack_limit: f64,
    /// Total table elements.
    pub table_elements_limit: f64,
}

fn build_runtime(options: Options) -> Fallible<aegis_core::Runtime> {
    let stack = stack_limit(options.stack_limit)?;
    let mut builder = apply_options!(Aegis::builder(), options);
    if let Some(stack) = stack {
        builder = builder.with_stack_limit(stack);
    }
    Ok(builder.build()?)
}

#[napi]
impl Runtime {
    /// Builds the engine. Throws `AEGIS_INVALID_ARGUMENT` for bad options.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<Options>) -> napi::Result<Self> {
        boundary(&env, || {
            Ok(Runtime {
                inner: build_runtime(options.unwrap_or_default())?,
            })
        })
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    #[napi]
    pub fn load_file(&self, env: Env, path: String) -> napi::Result<Module> {
        boundary(&env, || {
            Ok(Module {
                inner: self.inner.load_file(&path)?,
            })
        })
    }

    /// Compiles binary wasm (or WAT text given as bytes).
    #[napi]
    pub fn load_bytes(&self, env: Env, bytes: Uint8Array) -> napi::Result<Module> {
        boundary(&env, || {
            Ok(Module {
                inner: self.inner.load_bytes(&bytes)?,
            })
        })
    }

    /// Compiles WAT text.
    #[napi]
    pub fn load_wat(&self, env: Env, text: String) -> napi::Result<Module> {
        boundary(&env, || {
            Ok(Module {
                inner: self.inner.load_wat(&text)?,
            })
        })
    }

    /// Checks the bytes are a valid module without compiling it; throws
    /// `AEGIS_INVALID_MODULE` otherwise.
    #[napi]
    pub fn validate(&self, env: Env, bytes: Uint8Array) -> napi::Result<()> {
        boundary(&env, || Ok(self.inner.validate(&bytes)?))
    }

    /// Creates a sandbox; `options` override this runtime's limits and capabilities.
    #[napi]
    pub fn sandbox(&self, env: Env, options: Option<Options>) -> napi::Result<Sandbox> {
        boundary(&env, || {
            let options = options.unwrap_or_default();
            let stack = stack_limit(options.stack_limit)?;
            let mut builder = self.inner.sandbox();
            if let Some(stack) = stack {
                // The stack is engine-wide: aegis-core refuses a different one here.
                builder = builder.with_limits(aegis_core::Limits {
                    stack,
                    ..self.inner.limits().clone()
                });
            }
            let builder = apply_options!(builder, options);
            Sandbox::new(&env, builder.build()?)
        })
    }

    /// The default limits of this runtime's sandboxes.
    #[napi(getter)]
    pub fn limits(&self) -> LimitsInfo {
        let l = self.inner.limits();
        LimitsInfo {
            memory_limit: l.memory as f64,
            fuel_limit: l.fuel.map_or(f64::INFINITY, |f| f as f64),
            timeout: l
                .timeout
                .map_or(f64::INFINITY, |t| t.as_secs_f64() * 1000.0),
            stack_limit: l.stack as f64,
            table_elements_limit: l.table_elements as f64,
        }
    }
}

/// A runtime without timeouts (no ticker thread), used only to validate.
fn validator() -> Fallible<&'static aegis_core::Runtime> {
    static VALIDATOR: OnceLock<Result<aegis_core::Runtime, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            Aegis::builder()
                .without_timeout()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| crate::errors::invalid_argument(e.clone()))
}

/// Checks that `bytes` is a valid WebAssembly module (or WAT text); throws
/// `AEGIS_INVALID_MODULE` with the validator's message otherwise.
#[napi]
pub fn validate(env: Env, bytes: Uint8Array) -> napi::Result<()> {
    boundary(&env, || Ok(validator()?.validate(&bytes)?))
}
