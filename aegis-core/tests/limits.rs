//! Every limit fires with its own error variant, and the host stays usable.

use std::time::{Duration, Instant};

use aegis_core::{Aegis, Error, ErrorCode, Runtime};

const SPIN: &str = r#"(module (func (export "spin") (loop $l (br $l))))"#;

fn sandbox_with(runtime: &Runtime, wat: &str) -> aegis_core::Sandbox {
    let module = runtime.load_wat(wat).expect("guest compiles");
    let mut sandbox = runtime.sandbox().build().expect("sandbox builds");
    sandbox.load_module(&module).expect("guest instantiates");
    sandbox
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let runtime = Aegis::builder().with_fuel_limit(100_000).build().unwrap();
    let mut sandbox = sandbox_with(&runtime, SPIN);
    match sandbox.call::<(), ()>("spin", ()) {
        Err(Error::OutOfFuel { consumed, limit }) => {
            assert_eq!(limit, 100_000);
            assert_eq!(consumed, 100_000);
        }
        other => panic!("expected OutOfFuel, got {other:?}"),
    }
    assert_eq!(sandbox.last_call_metrics().fuel_consumed, 100_000);
}

#[test]
fn fuel_is_per_call_not_cumulative() {
    let runtime = Aegis::builder().with_fuel_limit(10_000).build().unwrap();
    let mut sandbox = sandbox_with(
        &runtime,
        r#"(module (func (export "work") (local i32)
            (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get 0) (i32.const 500))))))"#,
    );
    for _ in 0..50 {
        sandbox
            .call::<(), ()>("work", ())
            .expect("each call fits in its own budget");
    }
    let per_call = sandbox.last_call_metrics().fuel_consumed;
    assert!(per_call > 500 && per_call < 10_000, "{per_call}");
    assert_eq!(sandbox.metrics().fuel_consumed, per_call * 50);
    assert_eq!(sandbox.metrics().calls, 50);
}

#[test]
fn infinite_loop_without_fuel_times_out() {
    let runtime = Aegis::builder()
        .without_fuel_limit()
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut sandbox = sandbox_with(&runtime, SPIN);
    let start = Instant::now();
    match sandbox.call::<(), ()>("spin", ()) {
        Err(Error::Timeout { elapsed, limit }) => {
            assert_eq!(limit, Duration::from_millis(200));
            assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "interrupt took {:?}",
        start.elapsed()
    );
    // The same sandbox is usable again afterwards and times out again.
    let err = sandbox.call::<(), ()>("spin", ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout);
}

#[test]
fn sandbox_can_tighten_the_timeout() {
    let runtime = Aegis::builder().without_fuel_limit().build().unwrap();
    let module = runtime.load_wat(SPIN).unwrap();
    let mut sandbox = runtime
        .sandbox()
        .with_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    sandbox.load_module(&module).unwrap();
    let err = sandbox.call::<(), ()>("spin", ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
}

#[test]
fn memory_grow_bomb_hits_the_memory_limit() {
    let runtime = Aegis::builder()
        .with_memory_limit(2 * 1024 * 1024)
        .build()
        .unwrap();
    let mut sandbox = sandbox_with(
        &runtime,
        r#"(module (memory 1)
            (func (export "bomb") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))"#,
    );
    match sandbox.call::<(), ()>("bomb", ()) {
        Err(Error::MemoryLimitExceeded {
            resource,
            requested,
            limit,
        }) => {
            assert_eq!(resource, "memory");
            assert_eq!(limit, 2 * 1024 * 1024);
            assert_eq!(requested, 2 * 1024 * 1024 + 65536);
        }
        other => panic!("expected MemoryLimitExceeded, got {other:?}"),
    }
    let m = sandbox.last_call_metrics();
    assert_eq!(m.memory_peak, 2 * 1024 * 1024);
    assert_eq!(m.memory_current, 2 * 1024 * 1024);
}

#[test]
fn huge_initial_memory_is_refused_at_instantiation() {
    let runtime = Aegis::builder()
        .with_memory_limit(1024 * 1024)
        .build()
        .unwrap();
    let module = runtime.load_wat(r#"(module (memory 1000))"#).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    let err = sandbox.load_module(&module).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MemoryLimitExceeded, "{err}");
}

#[test]
fn table_grow_bomb_hits_the_table_limit() {
    let runtime = Aegis::builder()
        .with_table_elements_limit(1000)
        .build()
        .unwrap();
    let mut sandbox = sandbox_with(
        &runtime,
        r#"(module (table 1 funcref)
            (func (export "bomb") (loop $l (drop (table.grow (ref.null func) (i32.const 100))) (br $l))))"#,
    );
    match sandbox.call::<(), ()>("bomb", ()) {
        Err(Error::MemoryLimitExceeded {
            resource, limit, ..
        }) => {
            assert_eq!(resource, "table");
            assert_eq!(limit, 1000);
        }
        other => panic!("expected table limit, got {other:?}"),
    }
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let runtime = Aegis::builder()
        .with_stack_limit(64 * 1024)
        .build()
        .unwrap();
    let mut sandbox = sandbox_with(
        &runtime,
        r#"(module (func $r (export "recurse") (param i32) (result i32)
            (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))"#,
    );
    match sandbox.call::<i32, i32>("recurse", 0) {
        Err(Error::StackOverflow { limit }) => assert_eq!(limit, 64 * 1024),
        other => panic!("expected StackOverflow, got {other:?}"),
    }
}

#[test]
fn start_function_is_bounded_too() {
    let runtime = Aegis::builder().with_fuel_limit(10_000).build().unwrap();
    let module = runtime
        .load_wat(r#"(module (func $s (loop $l (br $l))) (start $s))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    let err = sandbox.load_module(&module).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfFuel, "{err}");
}

#[test]
fn defaults_match_the_documented_values() {
    let runtime = Runtime::new().unwrap();
    let limits = runtime.limits();
    assert_eq!(limits.memory, 64 * 1024 * 1024);
    assert_eq!(limits.fuel, Some(1_000_000_000));
    assert_eq!(limits.timeout, Some(Duration::from_secs(30)));
    assert_eq!(limits.stack, 512 * 1024);
    assert_eq!(runtime.capabilities(), &aegis_core::Capabilities::default());
}

#[test]
fn invalid_limit_configuration_is_rejected() {
    assert_eq!(
        Aegis::builder()
            .with_stack_limit(10)
            .build()
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        Aegis::builder()
            .with_timeout(Duration::ZERO)
            .build()
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    let no_fuel = Aegis::builder().without_fuel_limit().build().unwrap();
    let err = no_fuel.sandbox().with_fuel_limit(5).build().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

#[test]
fn a_sandbox_may_turn_fuel_off_on_a_metering_runtime() {
    let runtime = Aegis::builder()
        .with_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let module = runtime
        .load_wat(r#"(module (func (export "one") (result i32) (i32.const 1)) (func (export "spin") (loop $l (br $l))))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().without_fuel_limit().build().unwrap();
    sandbox.load_module(&module).unwrap();
    assert_eq!(sandbox.call::<(), i32>("one", ()).unwrap(), 1);
    assert_eq!(sandbox.last_call_metrics().fuel_consumed, 0);
    // With fuel off, the timeout still stops a runaway guest.
    let err = sandbox.call::<(), ()>("spin", ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
}
