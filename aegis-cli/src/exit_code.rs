//! The process exit codes of `aegis`, one per class of outcome.

use aegis_core::{Error, ErrorCode};

/// The command succeeded (for `validate`: the module is valid).
pub const SUCCESS: u8 = 0;
/// The guest trapped, a host function failed, or the guest broke the
/// contract of its results (`trap`, `host_function`, `memory_out_of_bounds`:
/// an output pointer outside its memory, `invalid_result`: a string that is
/// not UTF-8, a list outside its memory); also `busy`, which a one-shot
/// `aegis run` (one sandbox, one call) cannot meet.
pub const GUEST_ERROR: u8 = 1;
/// Bad usage: unknown flag, bad option or argument value, wrong argument count
/// or type, unknown export, unreadable file (`invalid_argument`,
/// `signature_mismatch`, `export_not_found`, `io`). Clap's own usage errors use 2 too.
pub const USAGE: u8 = 2;
/// The module is invalid or cannot be instantiated (`invalid_module`,
/// `module_too_complex`, `link_error`).
pub const INVALID_MODULE: u8 = 3;
/// A resource limit fired (`out_of_fuel`, `timeout`, `memory_limit_exceeded`,
/// `stack_overflow`, `result_too_large`: the result limit, `--result-limit`).
pub const LIMIT_EXCEEDED: u8 = 4;
/// The guest attempted something it was not granted, with `--on-denied error`,
/// or the module is not one of `--allowed-modules` (`permission_denied`).
pub const PERMISSION_DENIED: u8 = 5;

/// `aegis run` was stopped by SIGINT (Ctrl-C): 128 + 2, the shell's convention.
pub const SIGINT_EXIT: u8 = 130;
/// The exit code after a signal stopped the guest: 128 + the signal number.
pub fn for_signal(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(SIGINT_EXIT)
}

/// The table printed by `aegis --help` and copied in the README.
pub const TABLE: &str = "\
Exit codes:
  0    success (validate: the module is valid)
  1    the guest trapped, a host function failed, or the guest returned a
       broken result (trap, host_function, memory_out_of_bounds,
       invalid_result; busy, which one-shot aegis run cannot meet)
  2    bad usage: unknown flag, bad value, wrong argument count or type,
       unknown export, unreadable file (invalid_argument, signature_mismatch,
       export_not_found, io)
  3    invalid module, or an import Aegis cannot provide (invalid_module,
       module_too_complex, link_error)
  4    limit exceeded (out_of_fuel, timeout, memory_limit_exceeded,
       stack_overflow, result_too_large)
  5    permission denied: a refusal with --on-denied error, or a module not
       in --allowed-modules (permission_denied)
  130  aegis run stopped by Ctrl-C (SIGINT); 143: by SIGTERM (interrupted)
  N    a WASI command called proc_exit(N) with N in 1..=255: N is passed
       through (exit; any other status, such as proc_exit(0) from an export
       with results, exits with 1)";

/// The exit code for an error, by its stable code.
///
/// A WASI `proc_exit(N)` is passed through as `N` (as wasmtime does), clamped
/// to 1..=255 so that it never reads as success. Every code is listed, so a
/// new one is a compile error here until it has a class.
pub fn for_error(err: &Error) -> u8 {
    if let Error::Exit { status } = err {
        return u8::try_from(*status)
            .ok()
            .filter(|s| *s != 0)
            .unwrap_or(GUEST_ERROR);
    }
    match err.code() {
        ErrorCode::Trap
        | ErrorCode::HostFunction
        | ErrorCode::MemoryOutOfBounds
        | ErrorCode::InvalidResult
        | ErrorCode::Busy
        | ErrorCode::Exit => GUEST_ERROR,
        ErrorCode::InvalidArgument
        | ErrorCode::SignatureMismatch
        | ErrorCode::ExportNotFound
        | ErrorCode::Io => USAGE,
        ErrorCode::InvalidModule | ErrorCode::LinkError | ErrorCode::ModuleTooComplex => {
            INVALID_MODULE
        }
        ErrorCode::OutOfFuel
        | ErrorCode::Timeout
        | ErrorCode::MemoryLimitExceeded
        | ErrorCode::StackOverflow
        | ErrorCode::ResultTooLarge => LIMIT_EXCEEDED,
        ErrorCode::PermissionDenied => PERMISSION_DENIED,
        ErrorCode::Interrupted => SIGINT_EXIT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_exit_with_the_shell_convention() {
        assert_eq!(for_signal(2), SIGINT_EXIT);
        assert_eq!(for_signal(15), 143);
    }

    #[test]
    fn every_code_has_a_class() {
        let limit = Error::OutOfFuel {
            consumed: 10,
            limit: 10,
        };
        assert_eq!(for_error(&limit), LIMIT_EXCEEDED);
        let denied = Error::PermissionDenied {
            capability: aegis_core::Capability::Clock,
            operation: aegis_core::Operation::ClockTimeGet,
            target: "realtime".into(),
        };
        assert_eq!(for_error(&denied), PERMISSION_DENIED);
        assert_eq!(for_error(&Error::Busy), GUEST_ERROR);
        let result = Error::ResultTooLarge { size: 9, limit: 8 };
        assert_eq!(for_error(&result), LIMIT_EXCEEDED);
        let oob = Error::MemoryOutOfBounds {
            offset: 65530,
            len: 16,
            size: 65536,
        };
        assert_eq!(for_error(&oob), GUEST_ERROR);
        let invalid = Error::InvalidResult {
            message: "not UTF-8".into(),
        };
        assert_eq!(for_error(&invalid), GUEST_ERROR);
        assert_eq!(for_error(&Error::Exit { status: 7 }), 7);
        assert_eq!(for_error(&Error::Exit { status: 0 }), GUEST_ERROR);
        assert_eq!(for_error(&Error::Exit { status: 300 }), GUEST_ERROR);
        assert_eq!(for_error(&Error::Exit { status: -1 }), GUEST_ERROR);
    }

    #[test]
    fn the_table_names_every_code() {
        let words: Vec<&str> = TABLE
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .collect();
        for code in ErrorCode::ALL {
            assert!(
                words.contains(&code.as_str()),
                "{code} missing from the table"
            );
        }
    }
}
