//! `aegis validate`: `Module is valid` or `Module is invalid: <reason>`.
//!
//! Validation parses and checks the module without compiling it (the
//! complexity limits, then wasmparser's validator with the engine's
//! features), so a module built to make the compiler slow is refused fast.

use std::path::Path;

use aegis_core::{Aegis, Error};
use serde_json::json;

use crate::args::ValidateArgs;
use crate::exit_code;
use crate::output::{Output, error_json, print_stdout};

/// Runs `aegis validate` and returns the process exit code.
///
/// The verdict goes to stdout (exit 0 or 3); a file that cannot be read is an
/// error on stderr (exit 2).
pub fn validate(args: &ValidateArgs, out: Output) -> u8 {
    let verdict = read_module(&args.module).and_then(|bytes| {
        let runtime = Aegis::builder().without_timeout().build()?;
        Ok(bytes.and_then(|bytes| runtime.validate(&bytes)))
    });
    let result = match verdict {
        Ok(result) => result,
        Err(e) => {
            if out.is_json() {
                out.print_json(&json!({ "ok": false, "error": error_json(&e) }));
            }
            out.print_error(&e);
            return exit_code::for_error(&e);
        }
    };
    match (&result, out.is_json()) {
        (Ok(()), true) => out.print_json(&json!({ "ok": true, "valid": true })),
        (Ok(()), false) => print_stdout("Module is valid"),
        (Err(e), true) => {
            out.print_json(&json!({ "ok": false, "valid": false, "error": error_json(e) }))
        }
        (Err(e), false) => print_stdout(&format!("Module is invalid: {}", reason(e))),
    }
    result.map_or_else(|e| exit_code::for_error(&e), |()| exit_code::SUCCESS)
}

/// Reads a module file the way the core loads one: regular files only (a
/// device or FIFO is refused without being opened for blocking reads), at
/// most the module size limit of bytes.
///
/// The outer error is a file that cannot be read; the inner one a file
/// over the size limit, which is a verdict on the module (`invalid_module`).
pub(crate) fn read_module(path: &Path) -> Result<Result<Vec<u8>, Error>, Error> {
    let runtime = Aegis::builder().without_timeout().build()?;
    match runtime.read_module_file(path) {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(e @ Error::InvalidModule { .. }) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}

/// The validator's message without the `invalid module: ` prefix.
fn reason(err: &Error) -> String {
    match err {
        Error::InvalidModule { message } => message.clone(),
        other => other.to_string(),
    }
}
