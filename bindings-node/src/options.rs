//! The options object of `new Runtime(...)`, `runtime.sandbox(...)` and
//! `Runtime.fromPolicy(..., overrides)`, turned into the core's `Policy`.
//!
//! The binding interprets nothing: it turns each camelCase key into the
//! core's snake_case name and copies the value into a JSON value,
//! translating only JS idioms (`Infinity` or `null` for an option that can
//! be `"off"`, BigInt for an integer, camelCase keys of nested objects, a
//! `Buffer` as stdin). Every rule (which options exist, types, units,
//! ranges, exclusions, scopes) is the core's, in `Policy::from_value`,
//! `runtime_builder` and `apply_to_sandbox`.

use aegis_core::Policy;
use aegis_core::policy::{OPTIONS, OptionInfo, Scope, camel_case};
use napi::bindgen_prelude::{BigInt, FromNapiValue, ToNapiValue};
use napi::{Env, ValueType, sys};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::data::{ByteView, byte_view};
use crate::errors::{Failure, Fallible, invalid_argument};
use crate::values::{bounded, check, own_key_values, property, type_name, type_of};

/// Limits and capabilities: every option of the core's options list
/// (`OPTIONS`), in camelCase. Each is optional: a missing one keeps Aegis's
/// default (for a runtime) or the runtime's value (for a sandbox). Unknown
/// keys, bad values and runtime options given to a sandbox throw
/// `AEGIS_INVALID_ARGUMENT`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct Options {
    /// Total linear memory of a sandbox. Bytes, or text with a unit
    /// (`'64MiB'`, `'512KiB'`, `'1GiB'`, `'100MB'`); default 64 MiB.
    #[napi(ts_type = "number | string")]
    pub memory_limit: Option<()>,
    /// Fuel per call (about one wasm instruction or one byte moved per unit).
    /// Default 1e9; `Infinity`, `null` or `'off'` turns fuel metering off.
    #[napi(ts_type = "number | 'off' | null")]
    pub fuel_limit: Option<()>,
    /// Wall-clock limit per call. In SECONDS (fractions allowed: `0.25`);
    /// default 30; `Infinity`, `null` or `'off'` turns it off.
    #[napi(ts_type = "number | 'off' | null")]
    pub timeout: Option<()>,
    /// Maximum wasm stack. Bytes or text with a unit, 4 KiB to 256 MiB;
    /// default 512 KiB. Runtime only: refused on a sandbox.
    #[napi(ts_type = "number | string")]
    pub stack_limit: Option<()>,
    /// Total table elements of a sandbox. Default 1e6.
    #[napi(ts_type = "number")]
    pub table_elements_limit: Option<()>,
    /// WASI handles (files, directories, sockets) held at once. Default 1024.
    #[napi(ts_type = "number")]
    pub handle_limit: Option<()>,
    /// Host memory one result may take: call_bytes output, or component
    /// values (40 bytes per list element) from an export or in one host call.
    /// Bytes or text with a
    /// unit (`'1MiB'`); default 64 MiB. Over it, a call throws
    /// `AEGIS_RESULT_TOO_LARGE` before the result is copied out of the guest
    /// (`callBytes` output; strings, lists and records a component returns
    /// or passes to a host function).
    #[napi(ts_type = "number | string")]
    pub result_limit: Option<()>,
    /// Directories the guest may read, at the same path.
    #[napi(ts_type = "string[]")]
    pub allow_read: Option<()>,
    /// Directories the guest may read and write, at the same path.
    #[napi(ts_type = "string[]")]
    pub allow_write: Option<()>,
    /// Host directories shown under other guest paths.
    #[napi(ts_type = "DirMapping[]")]
    pub map_dirs: Option<()>,
    /// Guest stdout/stderr go to the host's stdout/stderr.
    #[napi(ts_type = "boolean")]
    pub allow_logging: Option<()>,
    /// Guest stdout/stderr are kept in memory. Read them as
    /// `sandbox.stdout`/`stderr`; `true` keeps up to 1 MiB per stream, a
    /// number or text with a unit sets the limit per stream.
    #[napi(ts_type = "boolean | number | string")]
    pub capture_output: Option<()>,
    /// The guest may read the real wall and monotonic clocks.
    #[napi(ts_type = "boolean")]
    pub allow_clock: Option<()>,
    /// Outbound network destinations (WASI 0.2 components). Rules such as
    /// `['127.0.0.1:8080', '10.0.0.0/8:443', 'example.com:443']`.
    #[napi(ts_type = "string[]")]
    pub allow_net: Option<()>,
    /// Environment variables the guest sees (none are inherited).
    #[napi(ts_type = "Record<string, string>")]
    pub env: Option<()>,
    /// Command-line arguments of a WASI command. `argv[0]` first.
    #[napi(ts_type = "string[]")]
    pub args: Option<()>,
    /// Fixed seed for the guest's random source. A number or a BigInt.
    #[napi(ts_type = "number | bigint")]
    pub random_seed: Option<()>,
    /// What a denied capability does: an error number for the guest, or a
    /// permission_denied error for the call. `'errno'` (default) or `'error'`
    /// (`AEGIS_PERMISSION_DENIED` with `capability`, `operation`, `target`).
    #[napi(ts_type = "'errno' | 'error'")]
    pub on_denied: Option<()>,
    /// The guest's stdin: end of file at once, the host's stdin, a regular
    /// file, or given text. `'empty'` (default: the guest reads end of
    /// file), `'inherit'` (this process's stdin), `{ file: path }` (a regular
    /// file, read when the sandbox is created: a FIFO, device or directory
    /// is `AEGIS_INVALID_ARGUMENT`), `{ text: string }` (UTF-8), or the
    /// bytes of a `Buffer`/`Uint8Array` (copied when the options are read).
    #[napi(ts_type = "StdinSource")]
    pub stdin: Option<()>,
    /// Pre-allocated instance slots (pooling allocator). Runtime only.
    #[napi(ts_type = "number")]
    pub instance_pool: Option<()>,
    /// On-disk cache of compiled modules. A directory. Runtime only.
    #[napi(ts_type = "string")]
    pub compile_cache: Option<()>,
    /// Largest module accepted, checked before parsing. Bytes or text with a
    /// unit; default 256 MiB. Runtime only.
    #[napi(ts_type = "number | string")]
    pub max_module_size: Option<()>,
    /// Structural limits checked before compiling. Runtime only.
    #[napi(ts_type = "ModuleLimits")]
    pub module_limits: Option<()>,
    /// The exception-handling proposal. Runtime only.
    #[napi(ts_type = "boolean")]
    pub wasm_exceptions: Option<()>,
    /// The garbage-collection proposal. Runtime only.
    #[napi(ts_type = "boolean")]
    pub wasm_gc: Option<()>,
    /// The only modules the runtime may load. SHA-256 digests (hex,
    /// optionally prefixed `sha256:`); any other module is refused with
    /// `AEGIS_PERMISSION_DENIED`. Runtime only.
    #[napi(ts_type = "string[]")]
    pub allowed_modules: Option<()>,
}

/// One directory shown to the guest under another path (`mapDirs`).
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct DirMapping {
    /// Directory on the host.
    pub host: String,
    /// Path under which the guest sees it.
    pub guest: String,
    /// `'read'` (default) or `'write'`.
    #[napi(ts_type = "'read' | 'write'")]
    pub access: Option<()>,
}

/// Structural limits checked before compiling (`moduleLimits`); each
/// missing field keeps its default.
#[napi(object, object_from_js = false, object_to_js = false)]
#[allow(dead_code)]
pub struct ModuleLimits {
    /// Functions defined in a module or component.
    pub functions: Option<f64>,
    /// Locals declared in one function.
    pub locals_per_function: Option<f64>,
    /// Bytes of one function body.
    pub function_size: Option<f64>,
    /// Nesting depth of blocks in one function.
    pub block_depth: Option<f64>,
    /// Merge work (branch × local) in one function.
    pub merge_work_per_function: Option<f64>,
    /// Merge work across a module, beyond ordinary code.
    pub merge_work: Option<f64>,
    /// Nesting depth of components and types.
    pub component_depth: Option<f64>,
    /// Instances a component's instantiation creates.
    pub instantiations: Option<f64>,
}

/// One entry of `OPTIONS`: an option as the core describes it.
#[napi(object, object_from_js = false)]
pub struct PolicyOption {
    /// The option's key in an options object, e.g. `memoryLimit`.
    pub name: String,
    /// Its name in policy files and the other front-ends, e.g. `memory_limit`.
    pub core_name: String,
    /// One line of documentation.
    pub doc: String,
    /// The default, as text.
    pub default: String,
    /// The unit of a number, or the value's form.
    pub unit: String,
    /// `'both'` (a runtime or a sandbox) or `'runtime'` (a runtime only).
    #[napi(ts_type = "'both' | 'runtime'")]
    pub scope: String,
}

impl From<&OptionInfo> for PolicyOption {
    fn from(o: &OptionInfo) -> Self {
        PolicyOption {
            name: o.camel_name(),
            core_name: o.name.to_string(),
            doc: o.doc.to_string(),
            default: o.default.to_string(),
            unit: o.unit.to_string(),
            scope: match o.scope {
                Scope::Both => "both",
                Scope::Runtime => "runtime",
            }
            .to_string(),
        }
    }
}

/// The options list of `OPTIONS` (converted to a frozen array).
pub struct OptionList;

impl ToNapiValue for OptionList {
    unsafe fn to_napi_value(env: sys::napi_env, _: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(env);
        let items = OPTIONS
            .iter()
            .map(|o| {
                // SAFETY: `env` is the live env of module registration.
                let item =
                    unsafe { PolicyOption::to_napi_value(env.raw(), PolicyOption::from(o))? };
                crate::values::freeze(&env, item)
            })
            .collect::<napi::Result<Vec<_>>>()?;
        crate::values::frozen_array(&env, items)
    }
}

/// How keys of nested objects reach the core.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// camelCase, converted to snake_case (`mapDirs` entries, `moduleLimits`).
    Camel,
    /// As written: the keys are data (`env`'s variable names).
    Verbatim,
}

/// Nesting deeper than this is refused (options are shallow; this stops cycles).
const MAX_DEPTH: usize = 16;

/// What an options object describes: the core's policy, and stdin given as
/// bytes (a `Buffer`/`Uint8Array`, which is no policy value: the core takes
/// it through the builder).
#[derive(Default)]
pub struct JsOptions {
    /// Every option but byte stdin, checked by the core.
    pub policy: Policy,
    /// `stdin` given as bytes.
    pub stdin_bytes: Option<Vec<u8>>,
}

impl JsOptions {
    /// The stdin the builder must get on top of the policy, if any.
    pub fn stdin(&self) -> Option<aegis_core::Stdin> {
        self.stdin_bytes.clone().map(aegis_core::Stdin::bytes)
    }
}

/// The options an options object describes; `undefined` and `null` are none.
///
/// Each key goes to the core in snake_case (`memoryLimt` → `memory_limt`),
/// and the core's policy type refuses the unknown ones (its
/// `deny_unknown_fields`): its message comes back with the names in
/// camelCase. A key written in snake_case is refused here, as the core's
/// names are for policy files.
pub fn policy_from_js(env: &Env, raw: Option<sys::napi_value>, what: &str) -> Fallible<JsOptions> {
    let Some(raw) = raw else {
        return Ok(JsOptions::default());
    };
    let kind = type_of(env, raw)?;
    if matches!(kind, ValueType::Undefined | ValueType::Null) {
        return Ok(JsOptions::default());
    }
    if kind != ValueType::Object || is_array(env, raw)? {
        return Err(invalid_argument(format!(
            "{what} must be an object, got {}",
            describe(env, raw, kind)?
        )));
    }
    let mut map = Map::new();
    let mut stdin_bytes = None;
    for key in own_keys(env, raw)? {
        if key.contains('_') {
            return Err(snake_case_option(&key));
        }
        let name = snake_case(&key);
        let value = property(env, raw, &key)?;
        let kind = type_of(env, value)?;
        if name == "stdin"
            && kind == ValueType::Object
            && let Some(ByteView::Bytes(bytes)) = byte_view(env, value)?
        {
            stdin_bytes = Some(bytes.to_vec());
            continue;
        }
        let off = aegis_core::policy::option(&name).is_some_and(|o| o.unit.contains("\"off\""));
        let json = match kind {
            ValueType::Undefined => continue,
            ValueType::Null if off => Value::from("off"),
            ValueType::Number if off && number(env, value)? == f64::INFINITY => Value::from("off"),
            _ => {
                let keys = if name == "env" {
                    Keys::Verbatim
                } else {
                    Keys::Camel
                };
                json_from_js(env, value, &key, keys, 0)?
            }
        };
        map.insert(name, json);
    }
    Ok(JsOptions {
        policy: from_value(map)?,
        stdin_bytes,
    })
}

/// `Policy::from_value`, its message naming options in camelCase.
fn from_value(map: Map<String, Value>) -> Fallible<Policy> {
    Policy::from_value(Value::Object(map)).map_err(|e| match e {
        aegis_core::Error::InvalidArgument { message } => invalid_argument(camel_names(&message)),
        other => other.into(),
    })
}

/// `message` with each name in backquotes that is in snake_case (lower
/// case, digits, `_`, and `.` or `[n]` of a path; or the start of one,
/// where the core cut a long message with `…`) turned to camelCase, and
/// each name cut to a few dozen characters (a key is the caller's text):
/// the core's ``unknown field `memory_limt`, expected one of `memory_limit`, ...``
/// becomes ``unknown field `memoryLimt`, expected one of `memoryLimit`, ...``.
fn camel_names(message: &str) -> String {
    let snake = |name: &str| {
        let name = name.strip_suffix('…').unwrap_or(name);
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c))
    };
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 && snake(part) {
                bounded(&camel_case(part))
            } else if i % 2 == 1 {
                bounded(part)
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// `AEGIS_INVALID_ARGUMENT` for a key in snake_case: options are camelCase
/// here (the core's names are those of policy files).
fn snake_case_option(key: &str) -> Failure {
    let hint = match aegis_core::policy::option(key) {
        Some(o) => format!(" (did you mean `{}`?)", o.camel_name()),
        None => String::from(" (options are camelCase here)"),
    };
    invalid_argument(format!("unknown option `{}`{hint}", bounded(key)))
}

/// A JS value as JSON, keys as written (see `json_from_js`).
pub fn json_value(env: &Env, raw: sys::napi_value, path: &str) -> Fallible<Value> {
    json_from_js(env, raw, path, Keys::Verbatim, 0)
}

/// A JS value as JSON: strings, booleans, finite numbers (integers stay
/// integers), lossless BigInts, arrays and objects. Keys of objects are
/// converted as `keys` says. Anything else is `AEGIS_INVALID_ARGUMENT`
/// naming `path`.
fn json_from_js(
    env: &Env,
    raw: sys::napi_value,
    path: &str,
    keys: Keys,
    depth: usize,
) -> Fallible<Value> {
    if depth > MAX_DEPTH {
        return Err(invalid_argument(format!("{path}: nested too deeply")));
    }
    let kind = type_of(env, raw)?;
    Ok(match kind {
        ValueType::Undefined | ValueType::Null => Value::Null,
        // SAFETY (each cast below): `raw` is a live value of `env` of the checked type.
        ValueType::Boolean => Value::Bool(unsafe { bool::from_napi_value(env.raw(), raw)? }),
        ValueType::String => Value::String(unsafe { String::from_napi_value(env.raw(), raw)? }),
        ValueType::Number => number_json(number(env, raw)?, path)?,
        ValueType::BigInt => {
            let big = unsafe { BigInt::from_napi_value(env.raw(), raw)? };
            match (big.get_u64(), big.get_i64()) {
                ((false, n, true), _) => Value::from(n),
                (_, (n, true)) => Value::from(n),
                _ => {
                    return Err(invalid_argument(format!(
                        "{path}: the BigInt does not fit in 64 bits"
                    )));
                }
            }
        }
        ValueType::Object if is_array(env, raw)? => {
            let mut len = 0;
            // SAFETY: `raw` is an array of `env`.
            check(unsafe { sys::napi_get_array_length(env.raw(), raw, &mut len) })?;
            let mut items = Vec::with_capacity(len as usize);
            for i in 0..len {
                let mut item = std::ptr::null_mut();
                // SAFETY: `raw` is an array of `env`.
                check(unsafe { sys::napi_get_element(env.raw(), raw, i, &mut item) })?;
                items.push(json_from_js(
                    env,
                    item,
                    &format!("{path}[{i}]"),
                    keys,
                    depth + 1,
                )?);
            }
            Value::Array(items)
        }
        ValueType::Object => {
            let mut map = Map::new();
            for key in own_keys(env, raw)? {
                let value = property(env, raw, &key)?;
                if type_of(env, value)? == ValueType::Undefined {
                    continue;
                }
                let inner = format!("{path}.{}", bounded(&key));
                let name = match keys {
                    Keys::Verbatim => key,
                    Keys::Camel if key.contains('_') => {
                        return Err(invalid_argument(format!(
                            "{inner}: keys are camelCase here (`{}`)",
                            camel_case(&key)
                        )));
                    }
                    Keys::Camel => snake_case(&key),
                };
                map.insert(name, json_from_js(env, value, &inner, keys, depth + 1)?);
            }
            Value::Object(map)
        }
        other => {
            return Err(invalid_argument(format!(
                "{path} cannot be {}",
                describe(env, raw, other)?
            )));
        }
    })
}

/// A JS number as JSON: integers as integers, `NaN` and infinities refused.
fn number_json(n: f64, path: &str) -> Fallible<Value> {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    if !n.is_finite() {
        let shown = if n.is_nan() {
            "NaN"
        } else if n > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        return Err(invalid_argument(format!(
            "{path} must be a finite number, got {shown}"
        )));
    }
    Ok(if n.fract() == 0.0 && (0.0..TWO_64).contains(&n.abs()) {
        if n >= 0.0 {
            Value::from(n as u64)
        } else if n >= i64::MIN as f64 {
            Value::from(n as i64)
        } else {
            Value::from(n)
        }
    } else {
        Value::from(n)
    })
}

/// `blockDepth` → `block_depth`.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn number(env: &Env, raw: sys::napi_value) -> napi::Result<f64> {
    // SAFETY: `raw` is a live number of `env`.
    unsafe { f64::from_napi_value(env.raw(), raw) }
}

fn is_array(env: &Env, raw: sys::napi_value) -> napi::Result<bool> {
    let mut yes = false;
    // SAFETY: `raw` is a live value of `env`.
    check(unsafe { sys::napi_is_array(env.raw(), raw, &mut yes) })?;
    Ok(yes)
}

/// A value's kind for messages.
fn describe(env: &Env, raw: sys::napi_value, kind: ValueType) -> napi::Result<String> {
    Ok(if kind == ValueType::Object && is_array(env, raw)? {
        "an array".to_string()
    } else {
        format!("a {}", type_name(kind))
    })
}

/// The object's own enumerable string keys.
fn own_keys(env: &Env, object: sys::napi_value) -> napi::Result<Vec<String>> {
    own_key_values(env, object)?
        .into_iter()
        // SAFETY: each key is a live string of `env`.
        .map(|key| unsafe { String::from_napi_value(env.raw(), key) })
        .collect()
}
