//! Keyword options (`memory_limit=`, `allow_read=`, ...) applied to the core builders.

use std::path::PathBuf;
use std::time::Duration;

use aegis_core::capability::DEFAULT_CAPTURE_LIMIT;
use aegis_core::{DirAccess, NetRule, RuntimeBuilder, SandboxBuilder};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use crate::errors::{invalid_argument, to_pyerr};

/// The setters the runtime and sandbox builders share.
pub trait Configure: Sized {
    /// `with_memory_limit`.
    fn memory(self, bytes: u64) -> Self;
    /// `with_fuel_limit` / `without_fuel_limit`.
    fn fuel(self, fuel: Option<u64>) -> Self;
    /// `with_timeout` / `without_timeout`.
    fn timeout(self, timeout: Option<Duration>) -> Self;
    /// `with_table_elements_limit`.
    fn table_elements(self, n: u64) -> Self;
    /// `with_handle_limit`.
    fn handles(self, n: usize) -> Self;
    /// `allow_read`.
    fn read(self, dir: PathBuf) -> Self;
    /// `allow_write`.
    fn write(self, dir: PathBuf) -> Self;
    /// `map_dir`.
    fn map(self, host: PathBuf, guest: String, access: DirAccess) -> Self;
    /// `allow_logging`.
    fn logging(self) -> Self;
    /// `capture_output`.
    fn capture(self, limit: usize) -> Self;
    /// `allow_clock`.
    fn clock(self) -> Self;
    /// `with_env`.
    fn env(self, key: String, value: String) -> Self;
    /// `with_args`.
    fn args(self, args: Vec<String>) -> Self;
    /// `allow_net`.
    fn net(self, rule: NetRule) -> Self;
    /// `with_random_seed`.
    fn seed(self, seed: u64) -> Self;
}

macro_rules! impl_configure {
    ($t:ty) => {
        impl Configure for $t {
            fn memory(self, bytes: u64) -> Self {
                self.with_memory_limit(bytes)
            }
            fn fuel(self, fuel: Option<u64>) -> Self {
                match fuel {
                    Some(f) => self.with_fuel_limit(f),
                    None => self.without_fuel_limit(),
                }
            }
            fn timeout(self, timeout: Option<Duration>) -> Self {
                match timeout {
                    Some(t) => self.with_timeout(t),
                    None => self.without_timeout(),
                }
            }
            fn table_elements(self, n: u64) -> Self {
                self.with_table_elements_limit(n)
            }
            fn handles(self, n: usize) -> Self {
                self.with_handle_limit(n)
            }
            fn read(self, dir: PathBuf) -> Self {
                self.allow_read(dir)
            }
            fn write(self, dir: PathBuf) -> Self {
                self.allow_write(dir)
            }
            fn map(self, host: PathBuf, guest: String, access: DirAccess) -> Self {
                self.map_dir(host, guest, access)
            }
            fn logging(self) -> Self {
                self.allow_logging()
            }
            fn capture(self, limit: usize) -> Self {
                self.capture_output(limit)
            }
            fn clock(self) -> Self {
                self.allow_clock()
            }
            fn env(self, key: String, value: String) -> Self {
                self.with_env(key, value)
            }
            fn args(self, args: Vec<String>) -> Self {
                self.with_args(args)
            }
            fn net(self, rule: NetRule) -> Self {
                self.allow_net(rule)
            }
            fn seed(self, seed: u64) -> Self {
                self.with_random_seed(seed)
            }
        }
    };
}
impl_configure!(RuntimeBuilder);
impl_configure!(SandboxBuilder);

/// Option names accepted by both `Runtime(...)` and `runtime.sandbox(...)`.
const SHARED: &[&str] = &[
    "memory_limit",
    "fuel_limit",
    "timeout",
    "table_elements_limit",
    "handle_limit",
    "allow_read",
    "allow_write",
    "map_dirs",
    "allow_logging",
    "capture_output",
    "allow_clock",
    "env",
    "args",
    "allow_net",
    "random_seed",
];

/// Applies `options` to a runtime builder (which also takes `stack_limit`).
pub fn runtime_builder(
    py: Python<'_>,
    mut b: RuntimeBuilder,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<RuntimeBuilder> {
    let Some(options) = options else {
        return Ok(b);
    };
    check_names(options, "Runtime()", true)?;
    if let Some(v) = get(options, "stack_limit")? {
        b = b.with_stack_limit(v.extract()?);
    }
    apply(py, b, options)
}

/// Applies `options` to a sandbox builder.
pub fn sandbox_builder(
    py: Python<'_>,
    b: SandboxBuilder,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<SandboxBuilder> {
    match options {
        Some(options) => {
            check_names(options, "sandbox()", false)?;
            apply(py, b, options)
        }
        None => Ok(b),
    }
}

/// Rejects unknown keywords with a `TypeError`, as Python does.
fn check_names(options: &Bound<'_, PyDict>, what: &str, runtime: bool) -> PyResult<()> {
    for key in options.keys() {
        let key: String = key.extract()?;
        let known = SHARED.contains(&key.as_str()) || (runtime && key == "stack_limit");
        if !known {
            let hint = if key == "stack_limit" {
                " (the stack limit is engine-wide: pass it to Runtime())"
            } else {
                ""
            };
            return Err(PyTypeError::new_err(format!(
                "{what} got an unexpected keyword argument '{key}'{hint}"
            )));
        }
    }
    Ok(())
}

/// The option's value, treating an absent key as `None` (explicit `None` is kept).
fn get<'py>(options: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    options.get_item(key)
}

fn apply<B: Configure>(py: Python<'_>, mut b: B, o: &Bound<'_, PyDict>) -> PyResult<B> {
    if let Some(v) = get(o, "memory_limit")? {
        b = b.memory(v.extract()?);
    }
    if let Some(v) = get(o, "fuel_limit")? {
        b = b.fuel(v.extract()?);
    }
    if let Some(v) = get(o, "timeout")? {
        b = b.timeout(duration(py, &v)?);
    }
    if let Some(v) = get(o, "table_elements_limit")? {
        b = b.table_elements(v.extract()?);
    }
    if let Some(v) = get(o, "handle_limit")? {
        b = b.handles(v.extract()?);
    }
    for (key, dir) in [("allow_read", false), ("allow_write", true)] {
        if let Some(v) = get(o, key)? {
            for path in paths(&v, key)? {
                b = if dir { b.write(path) } else { b.read(path) };
            }
        }
    }
    if let Some(v) = get(o, "map_dirs")? {
        for item in v.try_iter()? {
            let (host, guest, access): (PathBuf, String, String) = item?.extract()?;
            let access = match access.as_str() {
                "read" => DirAccess::ReadOnly,
                "write" => DirAccess::ReadWrite,
                other => {
                    return Err(to_pyerr(
                        py,
                        invalid_argument(format!(
                            "map_dirs access must be \"read\" or \"write\", not {other:?}"
                        )),
                    ));
                }
            };
            b = b.map(host, guest, access);
        }
    }
    b = logging(py, b, o)?;
    if flag(o, "allow_clock")? {
        b = b.clock();
    }
    if let Some(v) = get(o, "env")? {
        let env = v
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("env must be a dict of str to str"))?;
        for (key, value) in env.iter() {
            b = b.env(key.extract()?, value.extract()?);
        }
    }
    if let Some(v) = get(o, "args")? {
        if v.is_instance_of::<pyo3::types::PyString>() {
            return Err(PyTypeError::new_err(
                "args must be a list of str, not a str",
            ));
        }
        b = b.args(v.extract()?);
    }
    if let Some(v) = get(o, "allow_net")? {
        for rule in strings(&v, "allow_net")? {
            let rule = rule.parse::<NetRule>().map_err(|e| to_pyerr(py, e))?;
            b = b.net(rule);
        }
    }
    if let Some(v) = get(o, "random_seed")? {
        b = b.seed(v.extract()?);
    }
    Ok(b)
}

/// `allow_logging=True` inherits the host's stdout/stderr; `capture_output=True`
/// (or a byte limit per stream) keeps the output for `sandbox.stdout`/`stderr`.
fn logging<B: Configure>(py: Python<'_>, b: B, o: &Bound<'_, PyDict>) -> PyResult<B> {
    let inherit = flag(o, "allow_logging")?;
    let capture = match get(o, "capture_output")? {
        None => None,
        Some(v) if v.is_instance_of::<PyBool>() => {
            v.extract::<bool>()?.then_some(DEFAULT_CAPTURE_LIMIT)
        }
        Some(v) if v.is_none() => None,
        Some(v) => Some(v.extract::<usize>()?),
    };
    match (inherit, capture) {
        (true, Some(_)) => Err(to_pyerr(
            py,
            invalid_argument("allow_logging and capture_output are exclusive; choose one"),
        )),
        (true, None) => Ok(b.logging()),
        (false, Some(limit)) => Ok(b.capture(limit)),
        (false, None) => Ok(b),
    }
}

/// A boolean option; absent or `None` is false.
fn flag(o: &Bound<'_, PyDict>, key: &str) -> PyResult<bool> {
    match get(o, key)? {
        Some(v) if !v.is_none() => v.extract(),
        _ => Ok(false),
    }
}

/// A list of paths (`str` or `os.PathLike`); a lone path is accepted too.
fn paths(v: &Bound<'_, PyAny>, key: &str) -> PyResult<Vec<PathBuf>> {
    if let Ok(one) = v.extract::<PathBuf>() {
        return Ok(vec![one]);
    }
    v.extract::<Vec<PathBuf>>()
        .map_err(|_| PyTypeError::new_err(format!("{key} must be a list of paths")))
}

/// A list of strings; a lone string is accepted too.
fn strings(v: &Bound<'_, PyAny>, key: &str) -> PyResult<Vec<String>> {
    if let Ok(one) = v.extract::<String>() {
        return Ok(vec![one]);
    }
    v.extract::<Vec<String>>()
        .map_err(|_| PyTypeError::new_err(format!("{key} must be a list of str")))
}

/// Seconds (`int`/`float`) or a `datetime.timedelta`; `None` turns the limit off.
fn duration(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Option<Duration>> {
    if v.is_none() {
        return Ok(None);
    }
    let secs: f64 = if v.hasattr("total_seconds")? {
        v.call_method0("total_seconds")?.extract()?
    } else {
        v.extract()?
    };
    Duration::try_from_secs_f64(secs).map(Some).map_err(|_| {
        to_pyerr(
            py,
            invalid_argument(format!(
                "timeout must be a non-negative number of seconds, not {secs}"
            )),
        )
    })
}
