//! `aegis validate`: `Module is valid` or `Module is invalid: <reason>`.

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
    let verdict = std::fs::read(&args.module)
        .map_err(|e| Error::Io {
            message: format!("cannot read `{}`: {e}", args.module.display()),
        })
        .and_then(|bytes| {
            let runtime = Aegis::builder().without_timeout().build()?;
            Ok(runtime.validate(&bytes))
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

/// The validator's message without the `invalid module: ` prefix.
fn reason(err: &Error) -> String {
    match err {
        Error::InvalidModule { message } => message.clone(),
        other => other.to_string(),
    }
}
