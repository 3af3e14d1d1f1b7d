//! Maps wasmtime's errors and traps onto Aegis's error variants.

use crate::details::{Resource, TrapCode};
use std::time::Duration;

use wasmtime::Trap;

use crate::call::Stop;
use crate::error::Error;
use crate::host::{HostPayload, HostTrap};
use crate::limits::{LimitHit, Limits};
use crate::module::error_chain;

/// Classifies an error raised while guest code ran.
pub(crate) fn classify(
    err: wasmtime::Error,
    limits: &Limits,
    instance_pool: Option<u32>,
    elapsed: Duration,
    fuel_consumed: u64,
) -> Error {
    if let Some(hit) = err.downcast_ref::<LimitHit>() {
        return Error::MemoryLimitExceeded {
            resource: hit.resource,
            requested: hit.requested,
            limit: hit.limit,
        };
    }
    if err.is::<wasmtime::PoolConcurrencyLimitError>() {
        let limit = u64::from(instance_pool.unwrap_or(0));
        return Error::MemoryLimitExceeded {
            resource: Resource::Instances,
            requested: limit + 1,
            limit,
        };
    }
    if let Some(wasmtime::component::ResourceTableError::Full) = err.downcast_ref() {
        let limit = limits.handles as u64;
        return Error::MemoryLimitExceeded {
            resource: Resource::Handles,
            requested: limit + 1,
            limit,
        };
    }
    if let Some(host) = err.downcast_ref::<HostTrap>() {
        let payload = host
            .payload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(HostPayload);
        return Error::HostFunction {
            message: host.message.clone(),
            payload,
        };
    }
    if let Some(stop) = err.downcast_ref::<Stop>() {
        return match stop {
            Stop::Timeout => Error::Timeout {
                elapsed,
                limit: limits.timeout.unwrap_or_default(),
            },
            Stop::Interrupted => Error::Interrupted { elapsed },
        };
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Error::Exit { status: exit.0 };
    }
    if let Some(e) = crate::limits::resource_error(&err, limits) {
        return e;
    }
    if crate::component::is_hostcall_fuel_exhausted(&err) {
        // Any host call of a component, WASI's included: the values it
        // hands the host are bounded by the result limit.
        return Error::ResultTooLarge {
            size: limits.result_bytes.saturating_add(1),
            limit: limits.result_bytes,
        };
    }
    let backtrace = err
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(frames)
        .unwrap_or_default();
    if err.is::<wasmtime::ThrownException>() {
        return Error::Trap {
            code: TrapCode::UncaughtException,
            message: "a wasm exception was thrown and not caught".into(),
            backtrace,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Error::OutOfFuel {
            consumed: fuel_consumed.max(limits.fuel.unwrap_or(0)),
            limit: limits.fuel.unwrap_or(0),
        },
        Some(Trap::Interrupt) => Error::Timeout {
            elapsed,
            limit: limits.timeout.unwrap_or_default(),
        },
        Some(Trap::StackOverflow) => Error::StackOverflow {
            limit: limits.stack,
        },
        Some(Trap::CannotEnterComponent) => Error::Trap {
            code: TrapCode::CannotEnterComponent,
            message: "the component trapped in an earlier call and cannot be entered again; reset the sandbox to instantiate it afresh".into(),
            backtrace,
        },
        Some(trap) => Error::Trap {
            code: trap_code(*trap),
            message: trap_message(*trap),
            backtrace,
        },
        None => Error::Trap {
            code: TrapCode::HostError,
            message: error_chain(&err),
            backtrace,
        },
    }
}

/// The frames of a wasm backtrace, one per line, innermost first.
///
/// wasmtime's `Display` starts with its own heading (`error while executing
/// at wasm backtrace:`); [`Error::Trap`]'s text adds one heading of its own,
/// so the frames are kept without wasmtime's.
fn frames(backtrace: &wasmtime::WasmBacktrace) -> String {
    let text = backtrace.to_string();
    match text.split_once('\n') {
        Some((heading, frames)) if heading.ends_with("wasm backtrace:") => frames.to_string(),
        _ => text,
    }
}

/// What a trap did, without wasmtime's `wasm trap: ` prefix:
/// [`Error::Trap`]'s text already starts with `trap: `.
fn trap_message(trap: Trap) -> String {
    let text = trap.to_string();
    match text.strip_prefix("wasm trap: ") {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// A short, stable snake_case name for a trap.
pub(crate) fn trap_code(trap: Trap) -> TrapCode {
    match trap {
        Trap::StackOverflow => TrapCode::StackOverflow,
        Trap::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        Trap::HeapMisaligned => TrapCode::HeapMisaligned,
        Trap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        Trap::BadSignature => TrapCode::BadSignature,
        Trap::IntegerOverflow => TrapCode::IntegerOverflow,
        Trap::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
        Trap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        Trap::UnreachableCodeReached => TrapCode::Unreachable,
        Trap::Interrupt => TrapCode::Interrupt,
        Trap::OutOfFuel => TrapCode::OutOfFuel,
        Trap::NullReference => TrapCode::NullReference,
        Trap::AllocationTooLarge => TrapCode::AllocationTooLarge,
        Trap::CannotEnterComponent => TrapCode::CannotEnterComponent,
        _ => TrapCode::Other,
    }
}
