//! `Runtime`: a configured engine; compiles modules and creates sandboxes.

use std::path::Path;
use std::sync::OnceLock;

use aegis_core::{Aegis, Policy};
use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::errors::{Fallible, boundary};
use crate::module::Module;
use crate::options::policy_from_js;
use crate::sandbox::Sandbox;
use crate::values::{bytes_arg, string_arg};

/// A configured engine with default limits and capabilities for its sandboxes.
/// Create one per process and share it.
#[napi]
pub struct Runtime {
    inner: aegis_core::Runtime,
}

/// The limits a runtime's sandboxes start from.
#[napi(object, object_from_js = false)]
pub struct LimitsInfo {
    /// Total linear memory in bytes.
    pub memory_limit: f64,
    /// Fuel per call; `Infinity` when metering is off.
    pub fuel_limit: f64,
    /// Wall-clock limit per call in seconds; `Infinity` when off.
    pub timeout: f64,
    /// Maximum wasm stack in bytes.
    pub stack_limit: f64,
    /// Total table elements.
    pub table_elements_limit: f64,
}

/// The policy of `Runtime.fromPolicy`'s `source`: an existing file is read
/// (TOML, or JSON if its name ends in `.json`); other text is the policy
/// itself (JSON if it starts with `{`, else TOML), except one line ending
/// in `.toml` or `.json`, which is a file that does not exist (`AEGIS_IO`).
fn policy_source(source: &str) -> Fallible<Policy> {
    let path = Path::new(source);
    let one_line = !source.contains('\n');
    let named_like_a_file = one_line && (source.ends_with(".toml") || source.ends_with(".json"));
    if (one_line && !source.is_empty() && path.is_file()) || named_like_a_file {
        return Ok(Policy::from_file(path)?);
    }
    if source.trim_start().starts_with('{') {
        Ok(Policy::from_json(source)?)
    } else {
        Ok(Policy::from_toml(source)?)
    }
}

#[napi]
impl Runtime {
    /// Builds the engine from options (see `Options` and `OPTIONS`). Throws
    /// `AEGIS_INVALID_ARGUMENT` for unknown keys and bad values.
    #[napi(constructor, ts_args_type = "options?: Options | undefined | null")]
    pub fn new(env: Env, options: Option<Unknown<'_>>) -> napi::Result<Self> {
        boundary(&env, || {
            let options = policy_from_js(&env, options.map(|o| o.raw()), "Runtime options")?;
            let mut builder = options.policy.runtime_builder()?;
            if let Some(stdin) = options.stdin() {
                builder = builder.with_stdin(stdin);
            }
            Ok(Runtime {
                inner: builder.build()?,
            })
        })
    }

    /// Builds the engine from a policy: `source` is the path of an existing
    /// policy file (TOML, or JSON if the name ends in `.json`), or the
    /// policy's text itself (JSON if it starts with `{`, else TOML). A
    /// one-line `source` ending in `.toml` or `.json` is always a path (a
    /// missing file is `AEGIS_IO`). Option names in the policy are the
    /// core's (`memory_limit`); `overrides` is an options object (camelCase,
    /// as for `new Runtime`) whose options replace the policy's.
    #[napi(
        factory,
        ts_args_type = "source: string, overrides?: Options | undefined | null"
    )]
    pub fn from_policy(
        env: Env,
        source: Unknown<'_>,
        overrides: Option<Unknown<'_>>,
    ) -> napi::Result<Self> {
        boundary(&env, || {
            let source = string_arg(&env, source.raw(), "Runtime.fromPolicy: source")?;
            let base = policy_source(&source)?;
            let overrides = policy_from_js(
                &env,
                overrides.map(|o| o.raw()),
                "Runtime.fromPolicy overrides",
            )?;
            let policy = base.overridden_by(&overrides.policy)?;
            let mut builder = policy.runtime_builder()?;
            if let Some(stdin) = overrides.stdin() {
                builder = builder.with_stdin(stdin);
            }
            Ok(Runtime {
                inner: builder.build()?,
            })
        })
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    #[napi(ts_args_type = "path: string")]
    pub fn load_file(&self, env: Env, path: Unknown<'_>) -> napi::Result<Module> {
        boundary(&env, || {
            let path = string_arg(&env, path.raw(), "loadFile: path")?;
            Ok(Module {
                inner: self.inner.load_file(&path)?,
            })
        })
    }

    /// Compiles binary wasm (or WAT text given as bytes).
    #[napi(ts_args_type = "bytes: Uint8Array")]
    pub fn load_bytes(&self, env: Env, bytes: Unknown<'_>) -> napi::Result<Module> {
        boundary(&env, || {
            let bytes = bytes_arg(&env, bytes.raw(), "loadBytes: bytes")?;
            Ok(Module {
                inner: self.inner.load_bytes(&bytes)?,
            })
        })
    }

    /// Compiles WAT text.
    #[napi(ts_args_type = "text: string")]
    pub fn load_wat(&self, env: Env, text: Unknown<'_>) -> napi::Result<Module> {
        boundary(&env, || {
            let text = string_arg(&env, text.raw(), "loadWat: text")?;
            Ok(Module {
                inner: self.inner.load_wat(&text)?,
            })
        })
    }

    /// Checks the bytes are a valid module without compiling it; throws
    /// `AEGIS_INVALID_MODULE` otherwise.
    #[napi(ts_args_type = "bytes: Uint8Array")]
    pub fn validate(&self, env: Env, bytes: Unknown<'_>) -> napi::Result<()> {
        boundary(&env, || {
            let bytes = bytes_arg(&env, bytes.raw(), "validate: bytes")?;
            Ok(self.inner.validate(&bytes)?)
        })
    }

    /// Creates a sandbox; `options` override this runtime's limits and
    /// capabilities (options of scope `'both'` only: a runtime option such as
    /// `stackLimit` throws `AEGIS_INVALID_ARGUMENT`).
    #[napi(ts_args_type = "options?: Options | undefined | null")]
    pub fn sandbox(&self, env: Env, options: Option<Unknown<'_>>) -> napi::Result<Sandbox> {
        boundary(&env, || {
            let options = policy_from_js(&env, options.map(|o| o.raw()), "sandbox options")?;
            let mut builder = options.policy.apply_to_sandbox(self.inner.sandbox())?;
            if let Some(stdin) = options.stdin() {
                builder = builder.with_stdin(stdin);
            }
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
            timeout: l.timeout.map_or(f64::INFINITY, |t| t.as_secs_f64()),
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
#[napi(ts_args_type = "bytes: Uint8Array")]
pub fn validate(env: Env, bytes: Unknown<'_>) -> napi::Result<()> {
    boundary(&env, || {
        let bytes = bytes_arg(&env, bytes.raw(), "validate: bytes")?;
        Ok(validator()?.validate(&bytes)?)
    })
}
