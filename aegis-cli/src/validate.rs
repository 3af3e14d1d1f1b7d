//! `aegis validate`: `Module is valid` or `Module is invalid: <reason>`.
//!
//! Validation parses and checks the module without compiling it (the
//! complexity limits, then wasmparser's validator with the engine's
//! features), so a module built to make the compiler slow is refused fast.
//! With `--policy`, the module is checked as that policy's runtime would
//! load it.

use std::path::Path;

use aegis_core::{Error, Policy, Runtime};
use serde_json::json;

use crate::args::ValidateArgs;
use crate::exit_code;
use crate::output::{Output, error_object, print_stdout};

/// Runs `aegis validate` and returns the process exit code.
///
/// The verdict goes to stdout (exit 0 or 3); a file that cannot be read, a
/// bad policy, or a module the policy does not allow is an error on stderr
/// (exit 2, 2, 5).
pub fn validate(args: &ValidateArgs, out: Output) -> u8 {
    let verdict = checking_runtime(args.policy.as_deref()).and_then(|(_, runtime)| {
        let bytes = read_module(&args.module, &runtime)?;
        Ok(bytes.and_then(|bytes| runtime.validate(&bytes)))
    });
    let result = match verdict {
        Ok(result) => result,
        Err(e) => return fail(&e, out),
    };
    match (&result, out.is_json()) {
        (Ok(()), true) => out.print_json(&json!({ "ok": true, "valid": true })),
        (Ok(()), false) => print_stdout("Module is valid"),
        (Err(e), true) => {
            out.print_json(&json!({ "ok": false, "valid": false, "error": error_object(e) }))
        }
        (Err(e), false) => print_stdout(&format!("Module is invalid: {}", reason(e))),
    }
    result.map_or_else(|e| exit_code::for_error(&e), |()| exit_code::SUCCESS)
}

/// Reports an error that is not a verdict on the module: `{"ok":false,"error":...}`
/// in JSON, and the error line on stderr.
pub(crate) fn fail(err: &Error, out: Output) -> u8 {
    if out.is_json() {
        out.print_json(&json!({ "ok": false, "error": error_object(err) }));
    }
    out.print_error(err);
    exit_code::for_error(err)
}

/// The runtime that `validate` and `inspect` check modules with: the
/// `--policy` file's (its wasm features, module size and structure limits,
/// pinned modules), or the defaults. Never its compile cache: nothing is
/// compiled, and checking a module must not create a cache directory.
pub(crate) fn checking_runtime(policy: Option<&Path>) -> Result<(Policy, Runtime), Error> {
    let mut policy = match policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    policy.compile_cache = None;
    let runtime = policy.runtime_builder()?.without_timeout().build()?;
    Ok((policy, runtime))
}

/// Reads a module file the way the core loads one: regular files only (a
/// device or FIFO is refused without being opened for blocking reads), at
/// most the module size limit of bytes, and only a module the policy's
/// `allowed_modules` lists (if it lists any).
///
/// The outer error is a file that cannot be read or is not allowed; the
/// inner one a file over the size limit, which is a verdict on the module
/// (`invalid_module`).
pub(crate) fn read_module(path: &Path, runtime: &Runtime) -> Result<Result<Vec<u8>, Error>, Error> {
    let bytes = match runtime.read_module_file(path) {
        Ok(bytes) => bytes,
        Err(e @ Error::InvalidModule { .. }) => return Ok(Err(e)),
        Err(e) => return Err(e),
    };
    runtime.check_allowed(&bytes)?;
    Ok(Ok(bytes))
}

/// The validator's message without the `invalid module: ` prefix.
fn reason(err: &Error) -> String {
    match err {
        Error::InvalidModule { message } => message.clone(),
        other => other.to_string(),
    }
}
