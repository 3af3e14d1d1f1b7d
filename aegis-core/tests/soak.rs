//! Soak: thousands of sandboxes created, called (with every limit firing) and
//! dropped must not make the process grow.
//!
//! After a warm-up (allocator arenas, wasmtime's lazily built state, the
//! epoch ticker), the resident set size is read from `/proc/self/statm`; the
//! main loop then runs many more iterations and RSS is read again. The growth
//! must stay below [`MAX_GROWTH`], a bound far smaller than what a leak of
//! even one small allocation per sandbox would cost
//! (`ITERATIONS * 1 KiB` = 4.9 MiB). One test per binary so nothing else
//! runs alongside the measurement.

use std::time::{Duration, Instant};

use aegis_core::{Aegis, ErrorCode, HostCaller, HostError, Module, Runtime};

/// Iterations before the first RSS reading.
const WARM_UP: usize = 500;
/// Measured iterations; each builds, loads, calls and drops one sandbox.
const ITERATIONS: usize = 5000;
/// Allowed RSS growth over the measured iterations (bytes): 2 MiB.
const MAX_GROWTH: u64 = 2 << 20;
/// `/proc/self/statm` counts pages; 4 KiB on the Linux targets CI runs.
const PAGE_SIZE: u64 = 4096;

const GUEST: &str = r#"(module
    (import "env" "fail" (func $fail))
    (memory 1)
    (func (export "add") (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1)))
    (func (export "spin") (loop $l (br $l)))
    (func (export "bomb") (result i32) (memory.grow (i32.const 64)) drop
        (memory.grow (i32.const 64)))
    (func (export "crash") unreachable)
    (func $deep (export "deep") (param i32) (result i32)
        (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    (func (export "host") (call $fail)))"#;

/// Resident set size in bytes, from `/proc/self/statm` (second field).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm has a resident field");
    pages * PAGE_SIZE
}

/// One sandbox's life: build, register, load, one call per outcome, drop.
fn one_sandbox(runtime: &Runtime, module: &Module, i: usize) {
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func_with_caller("env", "fail", |_: &mut HostCaller<'_>| {
            Err::<(), _>(HostError::new("refused by the host"))
        })
        .unwrap();
    sandbox.load_module(module).unwrap();
    let sum: i32 = sandbox.call("add", (i as i32, 1)).unwrap();
    assert_eq!(sum, i as i32 + 1);
    let code = |r: aegis_core::Result<()>| r.unwrap_err().code();
    assert_eq!(code(sandbox.call_void("spin")), ErrorCode::OutOfFuel);
    assert_eq!(code(sandbox.call_void("crash")), ErrorCode::Trap);
    assert_eq!(code(sandbox.call_void("host")), ErrorCode::HostFunction);
    let bomb = sandbox.call::<(), i32>("bomb", ()).unwrap_err();
    assert_eq!(bomb.code(), ErrorCode::MemoryLimitExceeded);
    if i.is_multiple_of(10) {
        // Deep recursion is the slowest case; enough to exercise unwinding.
        let deep = sandbox.call::<i32, i32>("deep", 0).unwrap_err();
        assert_eq!(deep.code(), ErrorCode::StackOverflow);
    }
    if i.is_multiple_of(4) {
        sandbox.reset().unwrap();
        assert_eq!(sandbox.call::<(i32, i32), i32>("add", (2, 3)).unwrap(), 5);
    }
}

/// A sandbox whose loop is stopped by the wall clock instead of fuel.
fn one_timeout(runtime: &Runtime, module: &Module) {
    let mut sandbox = runtime
        .sandbox()
        // Fuel that outlasts the timeout. (`without_fuel_limit()` here would
        // leave a fuel-metered store with no fuel at all.)
        .with_fuel_limit(1 << 40)
        .with_timeout(Duration::from_millis(5))
        .build()
        .unwrap();
    sandbox
        .register_func("env", "fail", || Ok::<(), HostError>(()))
        .unwrap();
    sandbox.load_module(module).unwrap();
    let err = sandbox.call_void("spin").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
}

/// A module compiled and dropped: compiled code must be released too.
fn one_module(runtime: &Runtime, i: usize) {
    let text = format!("(module (func (export \"k\") (result i32) (i32.const {i})))");
    let module = runtime.load_wat(&text).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    assert_eq!(sandbox.call::<(), i32>("k", ()).unwrap(), i as i32);
}

fn iteration(runtime: &Runtime, module: &Module, i: usize) {
    one_sandbox(runtime, module, i);
    if i.is_multiple_of(250) {
        one_timeout(runtime, module);
    }
    if i.is_multiple_of(20) {
        one_module(runtime, i);
    }
}

#[test]
fn thousands_of_sandboxes_do_not_grow_rss() {
    let runtime = Aegis::builder()
        .with_memory_limit(4 << 20)
        .with_fuel_limit(200_000)
        // A small stack, so deep recursion overflows before fuel runs out.
        .with_stack_limit(64 << 10)
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let module = runtime.load_wat(GUEST).unwrap();
    let started = Instant::now();
    for i in 0..WARM_UP {
        iteration(&runtime, &module, i);
    }
    let before = rss();
    for i in WARM_UP..WARM_UP + ITERATIONS {
        iteration(&runtime, &module, i);
    }
    let after = rss();
    let growth = after.saturating_sub(before);
    eprintln!(
        "{} sandboxes in {:.1?}: RSS {} KiB -> {} KiB (growth {} KiB, bound {} KiB)",
        WARM_UP + ITERATIONS,
        started.elapsed(),
        before / 1024,
        after / 1024,
        growth / 1024,
        MAX_GROWTH / 1024
    );
    assert!(
        growth < MAX_GROWTH,
        "RSS grew by {growth} bytes over {ITERATIONS} sandboxes (bound {MAX_GROWTH})"
    );
}
