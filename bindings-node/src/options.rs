//! The options object of `new Runtime(...)` and `runtime.sandbox(...)`, applied to
//! aegis-core's builders. Values are translated, never interpreted: aegis-core
//! validates them and decides every policy.

use std::collections::HashMap;
use std::time::Duration;

use aegis_core::{DirAccess, NetRule};
use napi::Either;
use napi_derive::napi;

use crate::errors::{Fallible, invalid_argument};

/// Limits and capabilities. Every field is optional; omitted fields keep the
/// runtime's value (for a sandbox) or Aegis's default (for a runtime).
#[napi(object)]
#[derive(Default)]
pub struct Options {
    /// Total linear memory in bytes (default 64 MiB).
    pub memory_limit: Option<f64>,
    /// Fuel per call (default 1e9); `Infinity` turns fuel metering off.
    pub fuel_limit: Option<f64>,
    /// Wall-clock limit per call in milliseconds (default 30000); `Infinity` turns it off.
    pub timeout: Option<f64>,
    /// Maximum wasm stack in bytes (default 512 KiB). Runtime-wide: a sandbox may not change it.
    pub stack_limit: Option<f64>,
    /// Total table elements (default 1e6).
    pub table_elements_limit: Option<f64>,
    /// WASI handles (open files, directories, streams) held at once (default 1024).
    pub handle_limit: Option<f64>,
    /// Directories the guest may read, seen at the same path.
    pub allow_read: Option<Either<String, Vec<String>>>,
    /// Directories the guest may read and write, seen at the same path.
    pub allow_write: Option<Either<String, Vec<String>>>,
    /// Host directories mapped to other guest paths.
    pub map_dirs: Option<Vec<DirMapping>>,
    /// `true`: guest stdout/stderr go to this process's stdout/stderr.
    pub allow_logging: Option<bool>,
    /// Keep guest stdout/stderr in memory (`sandbox.stdout`/`stderr`): `true` for
    /// up to 1 MiB per stream, or a byte limit.
    pub capture_output: Option<Either<bool, f64>>,
    /// Grant the real wall and monotonic clocks.
    pub allow_clock: Option<bool>,
    /// Outbound network allowlist, e.g. `["127.0.0.1:8080", "10.0.0.0/8:443"]`.
    pub allow_net: Option<Vec<String>>,
    /// Environment variables visible to the guest (none are inherited).
    pub env: Option<HashMap<String, String>>,
    /// Command-line arguments of a WASI command, `argv[0]` included.
    pub args: Option<Vec<String>>,
    /// Fixed seed for the guest's random source.
    pub random_seed: Option<f64>,
}

/// One directory grant under another guest path.
#[napi(object)]
pub struct DirMapping {
    /// Directory on the host.
    pub host: String,
    /// Path under which the guest sees it.
    pub guest: String,
    /// `"read"` (default) or `"write"`.
    pub access: Option<String>,
}

/// Converts a JS number option to an integer, refusing fractions, negatives and NaN.
pub fn integer_option(name: &str, value: f64) -> Fallible<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= u64::MAX as f64 {
        Ok(value as u64)
    } else {
        Err(invalid_argument(format!(
            "{name} must be a non-negative integer, got {value}"
        )))
    }
}

/// `allowRead`/`allowWrite` as a list.
pub fn path_list(list: Either<String, Vec<String>>) -> Vec<String> {
    match list {
        Either::A(one) => vec![one],
        Either::B(many) => many,
    }
}

/// `mapDirs[].access` as a `DirAccess`.
pub fn dir_access(text: Option<&str>) -> Fallible<DirAccess> {
    match text.unwrap_or("read") {
        "read" => Ok(DirAccess::ReadOnly),
        "write" => Ok(DirAccess::ReadWrite),
        other => Err(invalid_argument(format!(
            "mapDirs access must be \"read\" or \"write\", got \"{other}\""
        ))),
    }
}

/// Applies `Options` to a builder; both Aegis builders share these setter names.
macro_rules! apply_options {
    ($builder:expr, $opts:expr) => {{
        let opts: $crate::options::Options = $opts;
        let mut b = $builder;
        if let Some(v) = opts.memory_limit {
            b = b.with_memory_limit($crate::options::integer_option("memoryLimit", v)?);
        }
        if let Some(v) = opts.fuel_limit {
            b = match v {
                f64::INFINITY => b.without_fuel_limit(),
                v => b.with_fuel_limit($crate::options::integer_option("fuelLimit", v)?),
            };
        }
        if let Some(v) = opts.timeout {
            b = match $crate::options::timeout(v)? {
                Some(d) => b.with_timeout(d),
                None => b.without_timeout(),
            };
        }
        if let Some(v) = opts.table_elements_limit {
            b = b.with_table_elements_limit($crate::options::integer_option(
                "tableElementsLimit",
                v,
            )?);
        }
        if let Some(v) = opts.handle_limit {
            b = b.with_handle_limit($crate::options::integer_option("handleLimit", v)? as usize);
        }
        for dir in opts
            .allow_read
            .map($crate::options::path_list)
            .unwrap_or_default()
        {
            b = b.allow_read(dir);
        }
        for dir in opts
            .allow_write
            .map($crate::options::path_list)
            .unwrap_or_default()
        {
            b = b.allow_write(dir);
        }
        for m in opts.map_dirs.unwrap_or_default() {
            let access = $crate::options::dir_access(m.access.as_deref())?;
            b = b.map_dir(m.host, m.guest, access);
        }
        if opts.allow_logging == Some(true) {
            b = b.allow_logging();
        }
        if let Some(limit) = $crate::options::capture_limit(opts.capture_output)? {
            if opts.allow_logging == Some(true) {
                return Err($crate::errors::invalid_argument(
                    "allowLogging and captureOutput cannot both be set",
                ));
            }
            b = b.capture_output(limit);
        }
        if opts.allow_clock == Some(true) {
            b = b.allow_clock();
        }
        for rule in $crate::options::net_rules(opts.allow_net)? {
            b = b.allow_net(rule);
        }
        let mut env: Vec<(String, String)> = opts.env.unwrap_or_default().into_iter().collect();
        env.sort();
        for (k, v) in env {
            b = b.with_env(k, v);
        }
        if let Some(args) = opts.args {
            b = b.with_args(args);
        }
        if let Some(seed) = opts.random_seed {
            b = b.with_random_seed($crate::options::integer_option("randomSeed", seed)?);
        }
        b
    }};
}
pub(crate) use apply_options;

/// `timeout` in milliseconds; `Infinity` means none.
pub fn timeout(ms: f64) -> Fallible<Option<Duration>> {
    if ms == f64::INFINITY {
        return Ok(None);
    }
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid_argument(format!(
            "timeout must be a non-negative number of milliseconds or Infinity, got {ms}"
        )));
    }
    Ok(Some(Duration::from_secs_f64(ms / 1000.0)))
}

/// `captureOutput` as a byte limit, if capture is on.
pub fn capture_limit(value: Option<Either<bool, f64>>) -> Fallible<Option<usize>> {
    Ok(match value {
        None | Some(Either::A(false)) => None,
        Some(Either::A(true)) => Some(aegis_core::capability::DEFAULT_CAPTURE_LIMIT),
        Some(Either::B(n)) => Some(integer_option("captureOutput", n)? as usize),
    })
}

/// `allowNet` parsed by aegis-core's rule parser.
pub fn net_rules(rules: Option<Vec<String>>) -> Fallible<Vec<NetRule>> {
    Ok(rules
        .unwrap_or_default()
        .iter()
        .map(|r| r.parse::<NetRule>())
        .collect::<Result<Vec<_>, _>>()?)
}

/// `stackLimit` in bytes.
pub fn stack_limit(value: Option<f64>) -> Fallible<Option<usize>> {
    value
        .map(|v| integer_option("stackLimit", v).map(|n| n as usize))
        .transpose()
}
