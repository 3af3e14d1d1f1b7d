//! The one error type every Aegis front-end reports, with stable codes.

use std::fmt;
use std::time::Duration;

use crate::value::ValType;

/// Result alias used throughout Aegis.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable, machine-readable error codes shared by every front-end.
///
/// The string form (`ErrorCode::as_str`) is part of the public contract: codes
/// are added, never renamed. The C API exposes the same list as an enum, Python
/// as exception classes and Node as the `code` property (`AEGIS_` + upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorCode {
    /// The bytes are not a valid WebAssembly module or component.
    InvalidModule = 1,
    /// An import could not be satisfied when instantiating.
    LinkError = 2,
    /// The requested export does not exist or is not a function.
    ExportNotFound = 3,
    /// Arguments or results do not match the export's signature.
    SignatureMismatch = 4,
    /// The call used up its fuel budget.
    OutOfFuel = 5,
    /// The call ran past its wall-clock budget.
    Timeout = 6,
    /// The guest tried to grow memory or tables past the limit.
    MemoryLimitExceeded = 7,
    /// The guest exhausted its stack.
    StackOverflow = 8,
    /// The guest trapped (unreachable, out-of-bounds access, ...).
    Trap = 9,
    /// A host function failed, panicked or threw.
    HostFunction = 10,
    /// The guest attempted something it was not granted.
    PermissionDenied = 11,
    /// A host I/O operation failed (reading a module file, a grant's directory, ...).
    Io = 12,
    /// The caller passed an invalid argument (bad value text, bad configuration, ...).
    InvalidArgument = 13,
    /// A WASI program called `proc_exit` with a non-zero status.
    Exit = 14,
    /// The call was stopped from outside through its sandbox's interrupt handle.
    Interrupted = 15,
    /// The module's structure would make compilation or instantiation cost
    /// more than the configured complexity limits allow.
    ModuleTooComplex = 16,
    /// The sandbox was already running a call (re-entry from one of its own
    /// host functions, or use from another thread while a call runs).
    Busy = 17,
    /// A host read or write of guest memory fell outside the memory (a
    /// caller's offset, or a pointer the guest handed the host).
    MemoryOutOfBounds = 18,
    /// A call's result was larger than the result limit.
    ResultTooLarge = 19,
    /// The guest returned a value that breaks its contract (a string that
    /// is not UTF-8, a result of the wrong shape).
    InvalidResult = 20,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::InvalidModule,
        ErrorCode::LinkError,
        ErrorCode::ExportNotFound,
        ErrorCode::SignatureMismatch,
        ErrorCode::OutOfFuel,
        ErrorCode::Timeout,
        ErrorCode::MemoryLimitExceeded,
        ErrorCode::StackOverflow,
        ErrorCode::Trap,
        ErrorCode::HostFunction,
        ErrorCode::PermissionDenied,
        ErrorCode::Io,
        ErrorCode::InvalidArgument,
        ErrorCode::Exit,
        ErrorCode::Interrupted,
        ErrorCode::ModuleTooComplex,
        ErrorCode::Busy,
        ErrorCode::MemoryOutOfBounds,
        ErrorCode::ResultTooLarge,
        ErrorCode::InvalidResult,
    ];

    /// The stable snake_case name of the code, e.g. `out_of_fuel`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidModule => "invalid_module",
            ErrorCode::LinkError => "link_error",
            ErrorCode::ExportNotFound => "export_not_found",
            ErrorCode::SignatureMismatch => "signature_mismatch",
            ErrorCode::OutOfFuel => "out_of_fuel",
            ErrorCode::Timeout => "timeout",
            ErrorCode::MemoryLimitExceeded => "memory_limit_exceeded",
            ErrorCode::StackOverflow => "stack_overflow",
            ErrorCode::Trap => "trap",
            ErrorCode::HostFunction => "host_function",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Io => "io",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Exit => "exit",
            ErrorCode::Interrupted => "interrupted",
            ErrorCode::ModuleTooComplex => "module_too_complex",
            ErrorCode::Busy => "busy",
            ErrorCode::MemoryOutOfBounds => "memory_out_of_bounds",
            ErrorCode::ResultTooLarge => "result_too_large",
            ErrorCode::InvalidResult => "invalid_result",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in Aegis, one variant per stable code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module failed to parse or validate; `message` is the parser's.
    #[error("invalid module: {message}")]
    InvalidModule {
        /// The validator's or parser's message.
        message: String,
    },
    /// An import of the module could not be satisfied.
    #[error("cannot link import `{}{name}`: {reason}", if .module.is_empty() { String::new() } else { format!("{}::", .module) })]
    Link {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
        /// Why it could not be linked.
        reason: String,
    },
    /// No exported function of that name exists.
    #[error("export `{name}` not found{}", if .available.is_empty() { String::new() } else { format!(" (exported functions: {})", listed(.available)) })]
    ExportNotFound {
        /// The name asked for.
        name: String,
        /// Names of the functions that are exported, to help the caller.
        available: Vec<String>,
    },
    /// Arguments or results do not match the export's type.
    #[error("signature mismatch calling `{name}`: expected {expected}, given {given}")]
    SignatureMismatch {
        /// The export called.
        name: String,
        /// The export's real signature, e.g. `(i32, i32) -> (i32)`.
        expected: String,
        /// What the caller supplied.
        given: String,
    },
    /// The call used up its fuel.
    #[error("out of fuel: consumed {consumed} of {limit} units")]
    OutOfFuel {
        /// Fuel consumed by the call.
        consumed: u64,
        /// The fuel limit.
        limit: u64,
    },
    /// The call exceeded its wall-clock limit.
    #[error("timeout: ran for {}, limit {}", crate::units::format_duration(*.elapsed), crate::units::format_duration(*.limit))]
    Timeout {
        /// Time the call ran before being interrupted.
        elapsed: Duration,
        /// The configured limit.
        limit: Duration,
    },
    /// The guest tried to allocate memory or table space beyond its limit.
    #[error("memory limit exceeded: {resource} would need {requested} bytes, limit {limit}")]
    MemoryLimitExceeded {
        /// What ran out.
        resource: crate::details::Resource,
        /// Size the guest asked for (bytes for memories, elements for tables).
        requested: u64,
        /// The limit in the same unit.
        limit: u64,
    },
    /// The guest exhausted the wasm stack.
    #[error("stack overflow: wasm stack exhausted (limit {limit} bytes)")]
    StackOverflow {
        /// Configured maximum stack size in bytes.
        limit: usize,
    },
    /// The guest trapped.
    #[error("trap: {message}{}", if .backtrace.is_empty() { String::new() } else { format!("\nwasm backtrace:\n{}", .backtrace) })]
    Trap {
        /// Why it trapped, e.g. `unreachable`, `memory_out_of_bounds`.
        code: crate::details::TrapCode,
        /// Human-readable description.
        message: String,
        /// Wasm frames, innermost first, one per line (may be empty).
        backtrace: String,
    },
    /// A host function returned an error or panicked.
    #[error("host function failed: {message}")]
    HostFunction {
        /// The message from the host function (or its panic payload).
        message: String,
        /// What the host function attached with `HostError::with_payload`.
        payload: Option<crate::host::HostPayload>,
    },
    /// The guest attempted an operation it was not granted.
    #[error("permission denied: {capability} {operation} {target}")]
    PermissionDenied {
        /// The capability the guest lacked.
        capability: crate::details::Capability,
        /// What it tried.
        operation: crate::details::Operation,
        /// On what (a path, an address, a stream, a module digest).
        target: String,
    },
    /// A host I/O operation failed.
    #[error("I/O error: {message}")]
    Io {
        /// What failed, including the path if any.
        message: String,
    },
    /// The caller supplied an invalid argument.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What was wrong.
        message: String,
    },
    /// A WASI program exited with a non-zero status.
    #[error("guest exited with status {status}")]
    Exit {
        /// The exit status passed to `proc_exit`.
        status: i32,
    },
    /// The call was stopped through [`crate::InterruptHandle::interrupt`].
    #[error("interrupted after {}", crate::units::format_duration(*.elapsed))]
    Interrupted {
        /// Time the call ran before it stopped.
        elapsed: Duration,
    },
    /// The sandbox is running a call already (see [`crate::SharedSandbox`]).
    #[error(
        "sandbox is busy: a call is already running in it (a host function calling its own sandbox, or another thread while a call runs)"
    )]
    Busy,
    /// A host access to guest memory fell outside the memory.
    #[error("memory access out of bounds: {len} bytes at offset {offset}, memory is {size} bytes")]
    MemoryOutOfBounds {
        /// First byte of the access.
        offset: u64,
        /// Bytes accessed.
        len: u64,
        /// The memory's size in bytes at the time.
        size: u64,
    },
    /// A call's result exceeded [`crate::Limits::result_bytes`].
    #[error("result too large: {}", if *.size == .limit.saturating_add(1) { format!("more than the limit of {} bytes", .limit) } else { format!("{} bytes, limit {}", .size, .limit) })]
    ResultTooLarge {
        /// The result's size in bytes; `limit + 1` when only known to be
        /// larger (wasmtime stopped converting a component's values).
        size: u64,
        /// The result limit.
        limit: u64,
    },
    /// The guest returned a value that breaks its contract.
    #[error("invalid result: {message}")]
    InvalidResult {
        /// What was wrong.
        message: String,
    },
    /// The module exceeds a complexity limit checked before compiling.
    #[error("module too complex: {what} is {found}, limit {limit}")]
    ModuleTooComplex {
        /// What was counted, e.g. `locals in one function`.
        what: &'static str,
        /// The count found in the module (a lower bound when counting stopped early).
        found: u64,
        /// The configured limit.
        limit: u64,
    },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidModule { .. } => ErrorCode::InvalidModule,
            Error::Link { .. } => ErrorCode::LinkError,
            Error::ExportNotFound { .. } => ErrorCode::ExportNotFound,
            Error::SignatureMismatch { .. } => ErrorCode::SignatureMismatch,
            Error::OutOfFuel { .. } => ErrorCode::OutOfFuel,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::MemoryLimitExceeded { .. } => ErrorCode::MemoryLimitExceeded,
            Error::StackOverflow { .. } => ErrorCode::StackOverflow,
            Error::Trap { .. } => ErrorCode::Trap,
            Error::HostFunction { .. } => ErrorCode::HostFunction,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::Io { .. } => ErrorCode::Io,
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Exit { .. } => ErrorCode::Exit,
            Error::Interrupted { .. } => ErrorCode::Interrupted,
            Error::ModuleTooComplex { .. } => ErrorCode::ModuleTooComplex,
            Error::Busy => ErrorCode::Busy,
            Error::MemoryOutOfBounds { .. } => ErrorCode::MemoryOutOfBounds,
            Error::ResultTooLarge { .. } => ErrorCode::ResultTooLarge,
            Error::InvalidResult { .. } => ErrorCode::InvalidResult,
        }
    }

    /// Whether the error is one of the resource limits firing (fuel, timeout, memory, stack).
    pub fn is_limit(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::OutOfFuel
                | ErrorCode::Timeout
                | ErrorCode::MemoryLimitExceeded
                | ErrorCode::StackOverflow
        )
    }

    /// The error's fields beyond its code and message, as (name, value)
    /// pairs with the same names in every front-end (`snake_case`; Node and
    /// C use the same words in their own casing).
    pub fn details(&self) -> Vec<(&'static str, crate::details::Detail)> {
        use crate::details::Detail;
        match self {
            Error::InvalidModule { .. }
            | Error::Io { .. }
            | Error::InvalidArgument { .. }
            | Error::InvalidResult { .. } => {
                vec![]
            }
            Error::Link {
                module,
                name,
                reason,
            } => vec![
                ("module", module.as_str().into()),
                ("name", name.as_str().into()),
                ("reason", reason.as_str().into()),
            ],
            Error::ExportNotFound { name, available } => vec![
                ("name", name.as_str().into()),
                ("available", Detail::Names(available.clone())),
            ],
            Error::SignatureMismatch {
                name,
                expected,
                given,
            } => vec![
                ("name", name.as_str().into()),
                ("expected", expected.as_str().into()),
                ("given", given.as_str().into()),
            ],
            Error::OutOfFuel { consumed, limit } => {
                vec![("consumed", (*consumed).into()), ("limit", (*limit).into())]
            }
            Error::Timeout { elapsed, limit } => {
                vec![("elapsed", (*elapsed).into()), ("limit", (*limit).into())]
            }
            Error::MemoryLimitExceeded {
                resource,
                requested,
                limit,
            } => vec![
                ("resource", resource.as_str().into()),
                ("requested", (*requested).into()),
                ("limit", (*limit).into()),
            ],
            Error::StackOverflow { limit } => vec![("limit", (*limit as u64).into())],
            Error::Trap {
                code, backtrace, ..
            } => vec![
                ("trap_code", code.as_str().into()),
                ("backtrace", backtrace.as_str().into()),
            ],
            Error::HostFunction { .. } | Error::Busy => vec![],
            Error::PermissionDenied {
                capability,
                operation,
                target,
            } => vec![
                ("capability", capability.as_str().into()),
                ("operation", operation.as_str().into()),
                ("target", target.as_str().into()),
            ],
            Error::Exit { status } => vec![("status", Detail::Int(i64::from(*status)))],
            Error::Interrupted { elapsed } => vec![("elapsed", (*elapsed).into())],
            Error::MemoryOutOfBounds { offset, len, size } => vec![
                ("offset", (*offset).into()),
                ("len", (*len).into()),
                ("size", (*size).into()),
            ],
            Error::ResultTooLarge { size, limit } => {
                vec![("size", (*size).into()), ("limit", (*limit).into())]
            }
            Error::ModuleTooComplex { what, found, limit } => vec![
                ("what", (*what).into()),
                ("found", (*found).into()),
                ("limit", (*limit).into()),
            ],
        }
    }

    /// The error's one-line text: its `Display` without a trap's backtrace,
    /// which is a detail of its own (`backtrace`).
    pub fn message(&self) -> String {
        match self {
            Error::Trap { message, .. } => format!("trap: {message}"),
            other => other.to_string(),
        }
    }

    /// The error as a JSON object: `code`, `message`, then each of
    /// [`details`](Self::details) (durations in seconds).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("code".into(), self.code().as_str().into());
        map.insert("message".into(), self.message().into());
        for (name, value) in self.details() {
            map.insert(name.into(), value.to_json());
        }
        serde_json::Value::Object(map)
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
        }
    }

    pub(crate) fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error::Io {
            message: format!("{context}: {err}"),
        }
    }
}

/// Longest line kept in a message built from guest-controlled text.
const MAX_MESSAGE_LINE: usize = 240;
/// Longest message built from guest-controlled text.
const MAX_MESSAGE: usize = 4096;

/// Bounds a message that may echo guest input (a WAT source line, an import
/// name): each line is cut to [`MAX_MESSAGE_LINE`] characters and the whole
/// to [`MAX_MESSAGE`] bytes, on character boundaries, marked with `…`.
pub(crate) fn bounded_message(message: String) -> String {
    let fits = message.len() <= MAX_MESSAGE && message.lines().all(|l| l.len() <= MAX_MESSAGE_LINE);
    if fits {
        return message;
    }
    let mut out = String::new();
    for (i, line) in message.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.char_indices().nth(MAX_MESSAGE_LINE) {
            Some((cut, _)) => {
                out.push_str(&line[..cut]);
                out.push('…');
            }
            None => out.push_str(line),
        }
        if out.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

/// Longest list of names a message shows (export names are guest-chosen;
/// the rest are counted: `… and 120 more`).
const MAX_LISTED: usize = 1000;

/// Names separated by commas, as many as fit in [`MAX_LISTED`] bytes.
fn listed(names: &[String]) -> String {
    let mut shown = String::new();
    for (i, name) in names.iter().enumerate() {
        if !shown.is_empty() && shown.len() + name.len() > MAX_LISTED {
            return format!("{shown}, … and {} more", names.len() - i);
        }
        if !shown.is_empty() {
            shown.push_str(", ");
        }
        shown.push_str(&bounded_message(name.clone()));
    }
    shown
}

/// Formats a signature as `(i32, i32) -> (i64)`.
pub(crate) fn format_signature(params: &[ValType], results: &[ValType]) -> String {
    format!("{} -> {}", format_types(params), format_types(results))
}

/// Formats a list of types as `(i32, f64)`.
pub(crate) fn format_types(types: &[ValType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    format!("({})", names.join(", "))
}
