//! `aegis_builder_t`: limits and capabilities, applied to a runtime or a sandbox.
//!
//! The builder records each setter call in order and replays it on the core's
//! `RuntimeBuilder` or `SandboxBuilder`, so the core decides what every
//! setting means and validates it.

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use aegis_core::{Aegis, DirAccess, Error, Logging, NetRule};

use crate::args::{self, borrow, borrow_mut, out_handle, text};
use crate::error::{aegis_error_t, guard, guard_value, invalid};
use crate::runtime::aegis_runtime_t;
use crate::sandbox::aegis_sandbox_t;

/// How guest stdout/stderr are handled: `AEGIS_LOGGING_DENIED` (discarded,
/// the default), `AEGIS_LOGGING_INHERIT` (host's stdout/stderr) or
/// `AEGIS_LOGGING_CAPTURE` (kept in memory, read with `aegis_sandbox_stdout`).
#[allow(non_camel_case_types)]
pub type aegis_logging_t = u32;
/// Guest output is discarded.
pub const AEGIS_LOGGING_DENIED: aegis_logging_t = 0;
/// Guest output goes to the host process's stdout/stderr.
pub const AEGIS_LOGGING_INHERIT: aegis_logging_t = 1;
/// Guest output is captured in memory, up to a byte limit per stream.
pub const AEGIS_LOGGING_CAPTURE: aegis_logging_t = 2;

/// Access level of a directory grant: `AEGIS_DIR_READ_ONLY` or `AEGIS_DIR_READ_WRITE`.
#[allow(non_camel_case_types)]
pub type aegis_dir_access_t = u32;
/// The guest may list and read, never modify.
pub const AEGIS_DIR_READ_ONLY: aegis_dir_access_t = 0;
/// The guest may read and modify anything below the directory.
pub const AEGIS_DIR_READ_WRITE: aegis_dir_access_t = 1;

/// One recorded setter call.
#[derive(Debug, Clone)]
enum Setting {
    Memory(u64),
    Fuel(Option<u64>),
    Timeout(Option<Duration>),
    Stack(usize),
    TableElements(u64),
    Handles(usize),
    Map(PathBuf, String, DirAccess),
    Read(PathBuf),
    Write(PathBuf),
    Logging(Logging),
    Clock,
    Env(String, String),
    Args(Vec<String>),
    Net(NetRule),
    Seed(u64),
}

/// Configuration for a runtime (engine-wide limits and defaults) or for one
/// sandbox (per-sandbox overrides). Created by `aegis_builder_new`, consumed by
/// `aegis_builder_build` or `aegis_builder_build_sandbox`, or freed unused
/// with `aegis_builder_delete`.
#[allow(non_camel_case_types)]
#[derive(Debug, Default)]
pub struct aegis_builder_t {
    settings: Vec<Setting>,
}

/// Replays the settings on a core builder (runtime or sandbox: same setters).
macro_rules! replay {
    ($builder:expr, $settings:expr, $stack:expr) => {{
        let mut b = $builder;
        for setting in $settings {
            b = match setting {
                Setting::Memory(bytes) => b.with_memory_limit(bytes),
                Setting::Fuel(Some(fuel)) => b.with_fuel_limit(fuel),
                Setting::Fuel(None) => b.without_fuel_limit(),
                Setting::Timeout(Some(t)) => b.with_timeout(t),
                Setting::Timeout(None) => b.without_timeout(),
                Setting::Stack(bytes) => $stack(b, bytes)?,
                Setting::TableElements(n) => b.with_table_elements_limit(n),
                Setting::Handles(n) => b.with_handle_limit(n),
                Setting::Map(host, guest, access) => b.map_dir(host, guest, access),
                Setting::Read(dir) => b.allow_read(dir),
                Setting::Write(dir) => b.allow_write(dir),
                Setting::Logging(logging) => b.with_logging(logging),
                Setting::Clock => b.allow_clock(),
                Setting::Env(k, v) => b.with_env(k, v),
                Setting::Args(a) => b.with_args(a),
                Setting::Net(rule) => b.allow_net(rule),
                Setting::Seed(seed) => b.with_random_seed(seed),
            };
        }
        b
    }};
}

/// Creates an empty builder: every limit at its default, no capabilities.
/// Never returns NULL. Owned by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn aegis_builder_new() -> *mut aegis_builder_t {
    Box::into_raw(Box::default())
}

/// Frees a builder that was not consumed by a build function. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_delete(builder: *mut aegis_builder_t) {
    guard_value((), || unsafe { args::free(builder) });
}

/// Records a setting after checking the builder pointer.
unsafe fn push(
    function: &str,
    builder: *mut aegis_builder_t,
    make: impl FnOnce() -> Result<Setting, Error>,
) -> *mut aegis_error_t {
    guard(function, || {
        let b = unsafe { borrow_mut(builder, "builder") }?;
        b.settings.push(make()?);
        Ok(())
    })
}

/// Caps the total linear memory of a sandbox, in bytes (default 64 MiB).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_memory_limit(
    builder: *mut aegis_builder_t,
    bytes: u64,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_memory_limit", builder, || {
            Ok(Setting::Memory(bytes))
        })
    }
}

/// Sets the fuel each call may consume (default 1 000 000 000).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_fuel_limit(
    builder: *mut aegis_builder_t,
    fuel: u64,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_fuel_limit", builder, || {
            Ok(Setting::Fuel(Some(fuel)))
        })
    }
}

/// Turns fuel metering off (rely on the timeout alone).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_no_fuel_limit(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_no_fuel_limit", builder, || {
            Ok(Setting::Fuel(None))
        })
    }
}

/// Sets the wall-clock limit of each call, in milliseconds (default 30 000;
/// 0 is rejected when building). The call fails with `AEGIS_ERROR_TIMEOUT`
/// at its deadline whether the guest computes or waits on the host (a WASI
/// sleep, a blocking read); a host callback still running at the deadline
/// is waited for (see `aegis_caller_is_cancelled`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_timeout_ms(
    builder: *mut aegis_builder_t,
    millis: u64,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_timeout_ms", builder, || {
            Ok(Setting::Timeout(Some(Duration::from_millis(millis))))
        })
    }
}

/// Turns the wall-clock limit off.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_no_timeout(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_no_timeout", builder, || {
            Ok(Setting::Timeout(None))
        })
    }
}

/// Sets the maximum wasm stack in bytes (default 512 KiB; 4096 to 256 MiB,
/// otherwise building fails with `AEGIS_ERROR_INVALID_ARGUMENT`).
/// Engine-wide: only `aegis_builder_build` accepts it. Guest code runs on a
/// stack of its own (this limit plus room for host callbacks), never on the
/// calling thread's, so any thread may call into a sandbox.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_stack_limit(
    builder: *mut aegis_builder_t,
    bytes: usize,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_stack_limit", builder, || {
            Ok(Setting::Stack(bytes))
        })
    }
}

/// Caps the total number of table elements (default 1 000 000).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_table_elements_limit(
    builder: *mut aegis_builder_t,
    elements: u64,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_table_elements_limit", builder, || {
            Ok(Setting::TableElements(elements))
        })
    }
}

/// Caps the WASI handles (open files, directories, streams, sockets) the
/// guest may hold at once (default 1024); opening one more fails the call
/// with `AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_handle_limit(
    builder: *mut aegis_builder_t,
    handles: usize,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_handle_limit", builder, || {
            Ok(Setting::Handles(handles))
        })
    }
}

/// Grants read-only access to directory `dir`, seen by the guest at the same path.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_read(
    builder: *mut aegis_builder_t,
    dir: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_allow_read", builder, || {
            Ok(Setting::Read(text(dir, "dir")?.into()))
        })
    }
}

/// Grants read-write access to directory `dir`, seen by the guest at the same path.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_write(
    builder: *mut aegis_builder_t,
    dir: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_allow_write", builder, || {
            Ok(Setting::Write(text(dir, "dir")?.into()))
        })
    }
}

/// Grants host directory `host_dir` to the guest under the path `guest_path`,
/// with `access` `AEGIS_DIR_READ_ONLY` or `AEGIS_DIR_READ_WRITE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_map_dir(
    builder: *mut aegis_builder_t,
    host_dir: *const c_char,
    guest_path: *const c_char,
    access: aegis_dir_access_t,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_map_dir", builder, || {
            let access = match access {
                AEGIS_DIR_READ_ONLY => DirAccess::ReadOnly,
                AEGIS_DIR_READ_WRITE => DirAccess::ReadWrite,
                other => return Err(invalid(format!("unknown directory access {other}"))),
            };
            Ok(Setting::Map(
                text(host_dir, "host_dir")?.into(),
                text(guest_path, "guest_path")?.to_string(),
                access,
            ))
        })
    }
}

/// Sets how guest stdout/stderr are handled (`AEGIS_LOGGING_*`);
/// `capture_limit` is the byte cap per stream for `AEGIS_LOGGING_CAPTURE`
/// and is ignored otherwise.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_logging(
    builder: *mut aegis_builder_t,
    mode: aegis_logging_t,
    capture_limit: usize,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_logging", builder, || {
            Ok(Setting::Logging(match mode {
                AEGIS_LOGGING_DENIED => Logging::Denied,
                AEGIS_LOGGING_INHERIT => Logging::Inherit,
                AEGIS_LOGGING_CAPTURE => Logging::Capture {
                    limit: capture_limit,
                },
                other => return Err(invalid(format!("unknown logging mode {other}"))),
            }))
        })
    }
}

/// Grants the real wall and monotonic clocks (otherwise the guest reads zero).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_clock(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe { push("aegis_builder_allow_clock", builder, || Ok(Setting::Clock)) }
}

/// Adds an environment variable visible to the guest (none are inherited).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_env(
    builder: *mut aegis_builder_t,
    key: *const c_char,
    value: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_env", builder, || {
            Ok(Setting::Env(
                text(key, "key")?.to_string(),
                text(value, "value")?.to_string(),
            ))
        })
    }
}

/// Sets the guest's command-line arguments (argv[0] included), copied from
/// `argv[0..argc]`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_args(
    builder: *mut aegis_builder_t,
    argv: *const *const c_char,
    argc: usize,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_args", builder, || {
            let items = args::slice(argv, argc, "argv")?;
            let list = items
                .iter()
                .map(|a| text(*a, "argv[i]").map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Setting::Args(list))
        })
    }
}

/// Adds one destination to the outbound network allowlist, e.g.
/// "127.0.0.1:8080", "localhost:8080", "10.0.0.0/8:443" or "10.0.0.0/8".
/// A malformed rule gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_net(
    builder: *mut aegis_builder_t,
    rule: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_allow_net", builder, || {
            Ok(Setting::Net(text(rule, "rule")?.parse()?))
        })
    }
}

/// Makes the guest's random source deterministic.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_random_seed(
    builder: *mut aegis_builder_t,
    seed: u64,
) -> *mut aegis_error_t {
    unsafe {
        push("aegis_builder_random_seed", builder, || {
            Ok(Setting::Seed(seed))
        })
    }
}

/// Builds a runtime from `builder`, storing it in `*runtime_out` (NULL on
/// error). Always consumes `builder`, even on error (NULL builder: error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_build(
    builder: *mut aegis_builder_t,
    runtime_out: *mut *mut aegis_runtime_t,
) -> *mut aegis_error_t {
    guard("aegis_builder_build", || {
        let settings = unsafe { take(builder) }?;
        let slot = unsafe { out_handle(runtime_out, "runtime_out") }?;
        let stack = |b: aegis_core::RuntimeBuilder, bytes| -> Result<_, Error> {
            Ok(b.with_stack_limit(bytes))
        };
        let runtime = replay!(Aegis::builder(), settings, stack).build()?;
        args::give(slot, aegis_runtime_t { runtime });
        Ok(())
    })
}

/// Builds a sandbox of `runtime`, starting from the runtime's defaults and
/// applying `builder`'s settings as overrides; stores it in `*sandbox_out`
/// (NULL on error). Always consumes `builder`, even on error. The stack
/// limit is engine-wide: setting it here gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_build_sandbox(
    builder: *mut aegis_builder_t,
    runtime: *const aegis_runtime_t,
    sandbox_out: *mut *mut aegis_sandbox_t,
) -> *mut aegis_error_t {
    guard("aegis_builder_build_sandbox", || {
        let settings = unsafe { take(builder) }?;
        let slot = unsafe { out_handle(sandbox_out, "sandbox_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let stack = |_b, _bytes| -> Result<aegis_core::SandboxBuilder, Error> {
            Err(invalid(
                "the stack limit is engine-wide; set it on the runtime builder",
            ))
        };
        let sandbox = replay!(runtime.runtime.sandbox(), settings, stack).build()?;
        args::give(slot, aegis_sandbox_t::new(sandbox));
        Ok(())
    })
}

/// Takes ownership of a builder's settings and frees it.
///
/// # Safety
/// `builder` is NULL or came from `aegis_builder_new` and was not freed yet.
unsafe fn take(builder: *mut aegis_builder_t) -> Result<Vec<Setting>, Error> {
    if builder.is_null() {
        return Err(invalid("`builder` is NULL"));
    }
    // SAFETY: the caller hands over a builder from `aegis_builder_new`.
    let owned = unsafe { Box::from_raw(builder) };
    Ok(owned.settings)
}
