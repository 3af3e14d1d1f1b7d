//! `aegis_builder_t`: an `aegis_core::Policy` filled in by C setters, applied
//! to a runtime or a sandbox by the core (which decides every rule).

use std::ffi::c_char;
use std::path::PathBuf;

use aegis_core::policy::{Access, Capture, DirMap, Off, Size, Switch};
use aegis_core::{Error, NetRule, Policy, Runtime, Stdin, StdinPolicy};

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

/// The options of a runtime (engine-wide limits and defaults) or of one
/// sandbox (per-sandbox overrides): one policy, as in a policy file. Created
/// by `aegis_builder_new` or `aegis_builder_from_policy`, consumed by
/// `aegis_builder_build` or `aegis_builder_build_sandbox`, or freed unused
/// with `aegis_builder_delete`. Each setter sets one option of the policy
/// (the last call wins; the list setters append); the rules that involve
/// several options are checked when building.
#[allow(non_camel_case_types)]
#[derive(Debug, Default)]
pub struct aegis_builder_t {
    policy: Policy,
    /// Stdin bytes from `aegis_builder_stdin_bytes`, given to the core
    /// builder after the policy (a policy holds text, not raw bytes). Any
    /// later setting of option `stdin` clears them: the last call wins.
    stdin_bytes: Option<Stdin>,
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

/// Changes the builder after checking the builder pointer.
unsafe fn edit_builder(
    function: &str,
    builder: *mut aegis_builder_t,
    change: impl FnOnce(&mut aegis_builder_t) -> Result<(), Error>,
) -> *mut aegis_error_t {
    guard(function, || {
        change(unsafe { borrow_mut(builder, "builder") }?)
    })
}

/// Changes the builder's policy after checking the builder pointer.
unsafe fn edit(
    function: &str,
    builder: *mut aegis_builder_t,
    change: impl FnOnce(&mut Policy) -> Result<(), Error>,
) -> *mut aegis_error_t {
    unsafe { edit_builder(function, builder, |b| change(&mut b.policy)) }
}

/// A policy from TOML or JSON text (JSON when it starts with `{`).
///
/// # Safety
/// `text` is NULL or valid for `len` reads.
unsafe fn parse_policy(text: *const c_char, len: usize) -> Result<Policy, Error> {
    let bytes = unsafe { args::slice(text.cast::<u8>(), len, "text") }?;
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("`text` is not valid UTF-8"))?;
    if text.trim_start().starts_with('{') {
        Policy::from_json(text)
    } else {
        Policy::from_toml(text)
    }
}

/// Sets option `name` (one of the names listed by `aegis_option_name`,
/// e.g. "memory_limit") to `json_value`, its value as JSON text, in the
/// form a policy file takes: `"64MiB"` or `67108864`, `2.5` (seconds) or
/// `"off"`, `["/data"]`, `{"functions": 1000}`, `true`, `"error"`, ...;
/// `null` resets an option that has no list or map form to its default.
/// It replaces the option's whole value (for a list, what the dedicated
/// setters appended). An unknown name or a bad value gives
/// `AEGIS_ERROR_INVALID_ARGUMENT` naming it; rules spanning options (e.g.
/// `allow_logging` with `capture_output`, runtime-only options on a
/// sandbox) are checked when building.
///
/// Options (see `aegis_option_doc` for each one's meaning, default and
/// unit): `memory_limit`, `fuel_limit`, `timeout`, `stack_limit`,
/// `table_elements_limit`, `handle_limit`, `allow_read`, `allow_write`,
/// `map_dirs`, `allow_logging`, `capture_output`, `allow_clock`,
/// `allow_net`, `env`, `args`, `random_seed`, `on_denied`, `result_limit`,
/// `stdin` (`"empty"`, `"inherit"` for the host's stdin, `{"file": PATH}`,
/// `{"text": TEXT}`; replaces `aegis_builder_stdin_bytes`), and, for a
/// runtime only, `instance_pool`, `compile_cache`, `max_module_size`,
/// `module_limits`, `wasm_exceptions`, `wasm_gc`, `allowed_modules`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_set(
    builder: *mut aegis_builder_t,
    name: *const c_char,
    json_value: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit_builder("aegis_builder_set", builder, |b| {
            let name = text(name, "name")?;
            let value: serde_json::Value = serde_json::from_str(text(json_value, "json_value")?)
                .map_err(|e| invalid(format!("value of {name} is not JSON: {e}")))?;
            let mut options = serde_json::to_value(&b.policy)
                .map_err(|e| invalid(format!("policy does not serialize: {e}")))?;
            if let Some(map) = options.as_object_mut() {
                map.insert(name.to_string(), value);
            }
            b.policy = Policy::from_value(options)?;
            if name == "stdin" {
                b.stdin_bytes = None;
            }
            Ok(())
        })
    }
}

/// Creates a builder holding the policy in `text[0..len]` (UTF-8, not
/// necessarily NUL-terminated): JSON if it starts with `{`, TOML otherwise,
/// with the option names of `aegis_builder_set`. Stored in `*builder_out`
/// (NULL on error); setters may then override options before building.
/// An unknown option or a bad value gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_from_policy(
    text: *const c_char,
    len: usize,
    builder_out: *mut *mut aegis_builder_t,
) -> *mut aegis_error_t {
    guard("aegis_builder_from_policy", || {
        let slot = unsafe { out_handle(builder_out, "builder_out") }?;
        let policy = unsafe { parse_policy(text, len) }?;
        args::give(
            slot,
            aegis_builder_t {
                policy,
                stdin_bytes: None,
            },
        );
        Ok(())
    })
}

/// Creates a runtime from the policy in `text[0..len]` (JSON if it starts
/// with `{`, TOML otherwise; see `aegis_builder_from_policy`), stored in
/// `*runtime_out` (NULL on error).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_runtime_from_policy(
    text: *const c_char,
    len: usize,
    runtime_out: *mut *mut aegis_runtime_t,
) -> *mut aegis_error_t {
    guard("aegis_runtime_from_policy", || {
        let slot = unsafe { out_handle(runtime_out, "runtime_out") }?;
        let policy = unsafe { parse_policy(text, len) }?;
        let runtime = Runtime::from_policy(&policy)?;
        args::give(slot, aegis_runtime_t { runtime });
        Ok(())
    })
}

/// Option `memory_limit`: caps the total linear memory of a sandbox, in
/// bytes (default 64 MiB).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_memory_limit(
    builder: *mut aegis_builder_t,
    bytes: u64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_memory_limit", builder, |p| {
            p.memory_limit = Some(Size(bytes));
            Ok(())
        })
    }
}

/// Option `result_limit`: the host memory one call's result may take, in
/// bytes (default 64 MiB): the output of `aegis_sandbox_call_bytes`, and the
/// values of a component call (string bytes plus 40 bytes per list item,
/// record field or tuple item) or passed to a component host function.
/// Checked before anything is allocated: `AEGIS_ERROR_RESULT_TOO_LARGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_result_limit(
    builder: *mut aegis_builder_t,
    bytes: u64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_result_limit", builder, |p| {
            p.result_limit = Some(Size(bytes));
            Ok(())
        })
    }
}

/// Option `fuel_limit`: the fuel each call may consume (default 1 000 000 000).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_fuel_limit(
    builder: *mut aegis_builder_t,
    fuel: u64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_fuel_limit", builder, |p| {
            p.fuel_limit = Some(Switch::On(fuel));
            Ok(())
        })
    }
}

/// Option `fuel_limit` set to "off": no fuel metering (rely on the timeout alone).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_no_fuel_limit(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_no_fuel_limit", builder, |p| {
            p.fuel_limit = Some(Switch::Off(Off::Off));
            Ok(())
        })
    }
}

/// Option `timeout`: the wall-clock limit of each call, in seconds
/// (fractions allowed; default 30). A value that is not a positive, finite
/// number of seconds gives `AEGIS_ERROR_INVALID_ARGUMENT`. The call fails
/// with `AEGIS_ERROR_TIMEOUT` at its deadline whether the guest computes or
/// waits on the host (a WASI sleep, a blocking read); a host callback still
/// running at the deadline is waited for (see `aegis_caller_is_cancelled`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_timeout(
    builder: *mut aegis_builder_t,
    seconds: f64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_timeout", builder, |p| {
            aegis_core::units::seconds("timeout", seconds)?;
            p.timeout = Some(Switch::On(seconds));
            Ok(())
        })
    }
}

/// Option `timeout` set to "off": no wall-clock limit.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_no_timeout(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_no_timeout", builder, |p| {
            p.timeout = Some(Switch::Off(Off::Off));
            Ok(())
        })
    }
}

/// Option `stack_limit` (runtime only): the maximum wasm stack in bytes
/// (default 512 KiB; 4096 to 256 MiB, otherwise building fails with
/// `AEGIS_ERROR_INVALID_ARGUMENT`); `aegis_builder_build_sandbox` refuses
/// it. Guest code runs on a stack of its own (this limit plus room for host
/// callbacks), never on the calling thread's, so any thread may call into a
/// sandbox.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_stack_limit(
    builder: *mut aegis_builder_t,
    bytes: usize,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_stack_limit", builder, |p| {
            p.stack_limit = Some(Size(bytes as u64));
            Ok(())
        })
    }
}

/// Option `table_elements_limit`: caps the total number of table elements
/// (default 1 000 000).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_table_elements_limit(
    builder: *mut aegis_builder_t,
    elements: u64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_table_elements_limit", builder, |p| {
            p.table_elements_limit = Some(elements);
            Ok(())
        })
    }
}

/// Option `handle_limit`: caps the WASI handles (open files, directories,
/// streams, sockets) the guest may hold at once (default 1024); opening one
/// more fails the call with `AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_handle_limit(
    builder: *mut aegis_builder_t,
    handles: usize,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_handle_limit", builder, |p| {
            p.handle_limit = Some(handles as u64);
            Ok(())
        })
    }
}

/// Option `allow_read` (appends): grants read-only access to directory
/// `dir`, seen by the guest at the same path.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_read(
    builder: *mut aegis_builder_t,
    dir: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_allow_read", builder, |p| {
            p.allow_read.push(text(dir, "dir")?.into());
            Ok(())
        })
    }
}

/// Option `allow_write` (appends): grants read-write access to directory
/// `dir`, seen by the guest at the same path.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_write(
    builder: *mut aegis_builder_t,
    dir: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_allow_write", builder, |p| {
            p.allow_write.push(text(dir, "dir")?.into());
            Ok(())
        })
    }
}

/// Option `map_dirs` (appends): grants host directory `host_dir` to the
/// guest under the path `guest_path`, with `access` `AEGIS_DIR_READ_ONLY`
/// ("read") or `AEGIS_DIR_READ_WRITE` ("write").
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_map_dir(
    builder: *mut aegis_builder_t,
    host_dir: *const c_char,
    guest_path: *const c_char,
    access: aegis_dir_access_t,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_map_dir", builder, |p| {
            let access = match access {
                AEGIS_DIR_READ_ONLY => Access::Read,
                AEGIS_DIR_READ_WRITE => Access::Write,
                other => return Err(invalid(format!("unknown directory access {other}"))),
            };
            p.map_dirs.push(DirMap {
                host: PathBuf::from(text(host_dir, "host_dir")?),
                guest: text(guest_path, "guest_path")?.to_string(),
                access,
            });
            Ok(())
        })
    }
}

/// Options `allow_logging` and `capture_output` at once: how guest
/// stdout/stderr are handled (`AEGIS_LOGGING_*`); `capture_limit` is the
/// byte cap per stream for `AEGIS_LOGGING_CAPTURE` and is ignored otherwise.
/// On a sandbox builder, `AEGIS_LOGGING_DENIED` keeps the runtime's choice
/// (a policy grants output; it cannot take back what the runtime grants).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_logging(
    builder: *mut aegis_builder_t,
    mode: aegis_logging_t,
    capture_limit: usize,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_logging", builder, |p| {
            let (logging, capture) = match mode {
                AEGIS_LOGGING_DENIED => (false, Capture::Enabled(false)),
                AEGIS_LOGGING_INHERIT => (true, Capture::Enabled(false)),
                AEGIS_LOGGING_CAPTURE => (false, Capture::Limit(Size(capture_limit as u64))),
                other => return Err(invalid(format!("unknown logging mode {other}"))),
            };
            p.allow_logging = Some(logging);
            p.capture_output = Some(capture);
            Ok(())
        })
    }
}

/// Option `allow_clock`: grants the real wall and monotonic clocks
/// (otherwise the guest reads zero).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_clock(
    builder: *mut aegis_builder_t,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_allow_clock", builder, |p| {
            p.allow_clock = Some(true);
            Ok(())
        })
    }
}

/// Option `env` (adds one): an environment variable visible to the guest
/// (none are inherited).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_env(
    builder: *mut aegis_builder_t,
    key: *const c_char,
    value: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_env", builder, |p| {
            let key = text(key, "key")?.to_string();
            p.env.insert(key, text(value, "value")?.to_string());
            Ok(())
        })
    }
}

/// Option `args`: the guest's command-line arguments (`argv[0]` included),
/// copied from `argv[0..argc]`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_args(
    builder: *mut aegis_builder_t,
    argv: *const *const c_char,
    argc: usize,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_args", builder, |p| {
            let items = args::slice(argv, argc, "argv")?;
            let list = items
                .iter()
                .map(|a| text(*a, "argv[i]").map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            p.args = Some(list);
            Ok(())
        })
    }
}

/// Option `allow_net` (appends): one destination of the outbound network
/// allowlist, e.g. "127.0.0.1:8080", "localhost:8080", "10.0.0.0/8:443" or
/// "10.0.0.0/8". A malformed rule gives `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_allow_net(
    builder: *mut aegis_builder_t,
    rule: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_allow_net", builder, |p| {
            let rule = text(rule, "rule")?;
            rule.parse::<NetRule>()?;
            p.allow_net.push(rule.to_string());
            Ok(())
        })
    }
}

/// Option `random_seed`: makes the guest's random source deterministic.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_random_seed(
    builder: *mut aegis_builder_t,
    seed: u64,
) -> *mut aegis_error_t {
    unsafe {
        edit("aegis_builder_random_seed", builder, |p| {
            p.random_seed = Some(seed);
            Ok(())
        })
    }
}

/// Option `stdin` from bytes: the guest reads a copy of `data[0..len]`,
/// then end of file (`data` may be NULL when `len` is 0: end of file at
/// once). The bytes are copied now; the caller keeps `data`. A runtime
/// builder gives them to each of its sandboxes, a sandbox builder to its
/// sandbox. The last stdin setting wins (`aegis_builder_stdin_file`,
/// `aegis_builder_set(b, "stdin", ...)`). Without one, stdin is empty. NULL
/// `data` with a non-zero `len`, or a length over `PTRDIFF_MAX`, gives
/// `AEGIS_ERROR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_stdin_bytes(
    builder: *mut aegis_builder_t,
    data: *const u8,
    len: usize,
) -> *mut aegis_error_t {
    unsafe {
        edit_builder("aegis_builder_stdin_bytes", builder, |b| {
            let data = args::slice(data, len, "data")?;
            b.policy.stdin = None;
            b.stdin_bytes = Some(Stdin::bytes(data));
            Ok(())
        })
    }
}

/// Option `stdin` set to `{"file": path}`: the guest reads the regular file
/// at `path` from its start. The file is opened when a sandbox is built (`aegis_sandbox_new`, or
/// `aegis_builder_build_sandbox`), which fails with
/// `AEGIS_ERROR_INVALID_ARGUMENT` for a FIFO, a socket, a device or a
/// directory, and with `AEGIS_ERROR_IO` if it cannot be opened. The last
/// stdin setting wins.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_stdin_file(
    builder: *mut aegis_builder_t,
    path: *const c_char,
) -> *mut aegis_error_t {
    unsafe {
        edit_builder("aegis_builder_stdin_file", builder, |b| {
            b.policy.stdin = Some(StdinPolicy::File(PathBuf::from(text(path, "path")?)));
            b.stdin_bytes = None;
            Ok(())
        })
    }
}

/// Builds a runtime from `builder`'s policy, storing it in `*runtime_out`
/// (NULL on error). Always consumes `builder`, even on error (NULL builder:
/// error). Fails with `AEGIS_ERROR_INVALID_ARGUMENT` for a bad value or a
/// bad combination (e.g. `allow_logging` with `capture_output`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_build(
    builder: *mut aegis_builder_t,
    runtime_out: *mut *mut aegis_runtime_t,
) -> *mut aegis_error_t {
    guard("aegis_builder_build", || {
        let builder = unsafe { take(builder) }?;
        let slot = unsafe { out_handle(runtime_out, "runtime_out") }?;
        let mut runtime = builder.policy.runtime_builder()?;
        if let Some(stdin) = builder.stdin_bytes {
            runtime = runtime.with_stdin(stdin);
        }
        let runtime = runtime.build()?;
        args::give(slot, aegis_runtime_t { runtime });
        Ok(())
    })
}

/// Builds a sandbox of `runtime`, starting from the runtime's defaults and
/// applying `builder`'s policy as overrides; stores it in `*sandbox_out`
/// (NULL on error). Always consumes `builder`, even on error. A runtime-only
/// option (`stack_limit`, `instance_pool`, ...) gives
/// `AEGIS_ERROR_INVALID_ARGUMENT` naming it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aegis_builder_build_sandbox(
    builder: *mut aegis_builder_t,
    runtime: *const aegis_runtime_t,
    sandbox_out: *mut *mut aegis_sandbox_t,
) -> *mut aegis_error_t {
    guard("aegis_builder_build_sandbox", || {
        let builder = unsafe { take(builder) }?;
        let slot = unsafe { out_handle(sandbox_out, "sandbox_out") }?;
        let runtime = unsafe { borrow(runtime, "runtime") }?;
        let mut sandbox = builder.policy.apply_to_sandbox(runtime.runtime.sandbox())?;
        if let Some(stdin) = builder.stdin_bytes {
            sandbox = sandbox.with_stdin(stdin);
        }
        let sandbox = sandbox.build()?;
        args::give(slot, aegis_sandbox_t::new(sandbox));
        Ok(())
    })
}

/// Takes ownership of a builder.
///
/// # Safety
/// `builder` is NULL or came from `aegis_builder_new` and was not freed yet.
unsafe fn take(builder: *mut aegis_builder_t) -> Result<aegis_builder_t, Error> {
    if builder.is_null() {
        return Err(invalid("`builder` is NULL"));
    }
    // SAFETY: the caller hands over a builder from `aegis_builder_new`.
    Ok(*unsafe { Box::from_raw(builder) })
}
