//! `aegis validate`: `Module is valid` or `Module is invalid: <reason>`.
//!
//! Validation parses and checks the module without compiling it (the
//! complexity limits, then wasmparser's validator with the engine's
//! features), so a module built to make the compiler slow is refused fast.

use std::io::Read;
use std::path::Path;

use aegis_core::{Aegis, DEFAULT_MAX_MODULE_SIZE, Error};
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

/// Reads a module file, at most the module size limit of bytes (a device
/// or FIFO is never read to its end).
///
/// The outer error is a file that cannot be read; the inner one a file
/// over the size limit, which is a verdict on the module (`invalid_module`).
pub(crate) fn read_module(path: &Path) -> Result<Result<Vec<u8>, Error>, Error> {
    let io = |e: std::io::Error| Error::Io {
        message: format!("cannot read `{}`: {e}", path.display()),
    };
    let limit = DEFAULT_MAX_MODULE_SIZE as u64;
    let too_large = |size: u64| Error::InvalidModule {
        message: format!(
            "`{}` is {size} bytes, more than the limit of {limit} bytes",
            path.display()
        ),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > limit
    {
        return Ok(Err(too_large(meta.len())));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Ok(Err(too_large(bytes.len() as u64)));
    }
    Ok(Ok(bytes))
}

/// The validator's message without the `invalid module: ` prefix.
fn reason(err: &Error) -> String {
    match err {
        Error::InvalidModule { message } => message.clone(),
        other => other.to_string(),
    }
}
