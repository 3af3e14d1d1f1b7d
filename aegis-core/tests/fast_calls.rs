//! The allocation-free call paths: pre-resolved typed handles
//! (`typed_func`), `call_dynamic_into` and `register_dynamic_into`. Each is
//! attacked the way a confused or hostile caller would: handles from another
//! instance or sandbox, wrong result room, host closures that write the
//! wrong types or panic.

use std::time::Duration;

use aegis_core::{Aegis, ErrorCode, FuncType, HostError, ValType, Value};

const ADD: &str = r#"(module
    (global $n (mut i32) (i32.const 0))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "bump") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1))) (global.get $n))
    (func (export "spin") (loop $l (br $l))))"#;

fn sandbox() -> aegis_core::Sandbox {
    let runtime = Aegis::builder()
        .with_fuel_limit(1_000_000)
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let module = runtime.load_wat(ADD).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

#[test]
fn a_typed_handle_calls_under_the_same_limits_and_metrics() {
    let mut sb = sandbox();
    let add = sb.typed_func::<(i32, i32), i32>("add").unwrap();
    assert_eq!(add.call(&mut sb, (2, 3)).unwrap(), 5);
    assert_eq!(sb.last_call_metrics().calls, 1);
    assert!(sb.last_call_metrics().fuel_consumed > 0);
    let spin = sb.typed_func::<(), ()>("spin").unwrap();
    let err = spin.call(&mut sb, ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfFuel);
    assert_eq!(sb.metrics().calls, 2);
}

#[test]
fn a_handle_checks_its_signature_once_when_resolved() {
    let mut sb = sandbox();
    let err = sb.typed_func::<(i64, i64), i64>("add").unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch);
    assert_eq!(
        sb.typed_func::<(), ()>("nope").unwrap_err().code(),
        ErrorCode::ExportNotFound
    );
}

#[test]
fn a_handle_from_before_a_reset_is_refused_not_used() {
    let mut sb = sandbox();
    let bump = sb.typed_func::<(), i32>("bump").unwrap();
    assert_eq!(bump.call(&mut sb, ()).unwrap(), 1);
    sb.reset().unwrap();
    let err = bump.call(&mut sb, ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("typed_func"), "{err}");
    let bump = sb.typed_func::<(), i32>("bump").unwrap();
    assert_eq!(bump.call(&mut sb, ()).unwrap(), 1, "the reset instance");
}

#[test]
fn a_handle_from_another_sandbox_is_refused_not_used() {
    // wasmtime panics when a function is used with a store it does not
    // belong to: the handle must never reach it.
    let (mut a, mut b) = (sandbox(), sandbox());
    let add = a.typed_func::<(i32, i32), i32>("add").unwrap();
    let err = add.call(&mut b, (1, 2)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    let mut empty = Aegis::builder().build().unwrap().sandbox().build().unwrap();
    assert_eq!(
        add.call(&mut empty, (1, 2)).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(add.call(&mut a, (1, 2)).unwrap(), 3);
}

#[test]
fn call_dynamic_into_checks_the_result_room_before_calling() {
    let mut sb = sandbox();
    let mut out = [Value::I32(0)];
    sb.call_dynamic_into("add", &[Value::I32(4), Value::I32(5)], &mut out)
        .unwrap();
    assert_eq!(out, [Value::I32(9)]);
    let calls = sb.metrics().calls;
    for room in [0, 2] {
        let mut out = vec![Value::I32(0); room];
        let err = sb.call_dynamic_into("bump", &[], &mut out).unwrap_err();
        assert_eq!(err.code(), ErrorCode::SignatureMismatch);
        assert!(
            err.to_string()
                .contains(&format!("room for {room} results")),
            "{err}"
        );
    }
    assert_eq!(sb.metrics().calls, calls, "no call ran");
    let mut out = [Value::I32(0)];
    sb.call_dynamic_into("bump", &[], &mut out).unwrap();
    assert_eq!(
        out,
        [Value::I32(1)],
        "the failed attempts did not run the guest"
    );
    let err = sb
        .call_dynamic_into("add", &[Value::I64(1), Value::I32(2)], &mut [Value::I32(0)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch);
}

const CALLS_HOST: &str = r#"(module
    (import "env" "f" (func $f (param i32 f64) (result i64 f32)))
    (func (export "run") (param i32) (result i64)
        (call $f (local.get 0) (f64.const 1.5)) (drop)))"#;

fn host_sandbox(
    f: impl Fn(&mut aegis_core::HostCaller<'_>, &[Value], &mut [Value]) -> Result<(), HostError>
    + Send
    + Sync
    + 'static,
) -> aegis_core::Sandbox {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(CALLS_HOST).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    let sig = FuncType::new([ValType::I32, ValType::F64], [ValType::I64, ValType::F32]);
    sb.register_dynamic_into("env", "f", sig, f).unwrap();
    sb.load_module(&module).unwrap();
    sb
}

#[test]
fn register_dynamic_into_passes_typed_arguments_and_prefilled_results() {
    let mut sb = host_sandbox(|_, args, results| {
        assert_eq!(args, [Value::I32(7), Value::F64(1.5)]);
        assert_eq!(
            results,
            [Value::I64(0), Value::F32(0.0)],
            "zeros of the declared types"
        );
        results[0] = Value::I64(i64::from(args[0].as_i32().unwrap()) * 10);
        Ok(())
    });
    assert_eq!(sb.call::<i32, i64>("run", 7).unwrap(), 70);
    assert_eq!(sb.last_call_metrics().host_calls, 1);
}

#[test]
fn a_result_of_the_wrong_type_traps_as_host_function() {
    let mut sb = host_sandbox(|_, _, results| {
        results[1] = Value::I32(1);
        Ok(())
    });
    let err = sb.call::<i32, i64>("run", 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction);
    assert!(err.to_string().contains("expected (i64, f32)"), "{err}");
}

#[test]
fn a_panicking_or_failing_closure_traps_as_host_function() {
    let mut sb = host_sandbox(|_, _, _| panic!("boom"));
    let err = sb.call::<i32, i64>("run", 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction);
    assert!(err.to_string().contains("boom"), "{err}");
    let mut sb = host_sandbox(|_, _, _| Err(HostError::new("refused")));
    let err = sb.call::<i32, i64>("run", 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction);
    assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn register_dynamic_still_rejects_a_wrong_result_count() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(CALLS_HOST).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    let sig = FuncType::new([ValType::I32, ValType::F64], [ValType::I64, ValType::F32]);
    sb.register_dynamic("env", "f", sig, |_, _| Ok(vec![Value::I64(1)]))
        .unwrap();
    sb.load_module(&module).unwrap();
    let err = sb.call::<i32, i64>("run", 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction);
    assert!(
        err.to_string()
            .contains("returned (i64), expected (i64, f32)"),
        "{err}"
    );
}

#[test]
fn wall_time_is_measured_precisely_on_every_path() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "nap" (func $nap)) (func (export "run") (call $nap)))"#)
        .unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_func("env", "nap", || {
        std::thread::sleep(Duration::from_millis(30))
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    let run = sb.typed_func::<(), ()>("run").unwrap();
    run.call(&mut sb, ()).unwrap();
    let wall = sb.last_call_metrics().wall_time;
    assert!(wall >= Duration::from_millis(30), "{wall:?}");
    assert!(wall < Duration::from_secs(5), "{wall:?}");
}
