//! Calling exports: typed and dynamic forms, the error for each mistake, reuse and reset.

use aegis_core::{Aegis, Error, ErrorCode, Value};

const COUNTER: &str = r#"(module
    (global $n (mut i32) (i32.const 0))
    (memory (export "memory") 1)
    (func (export "incr") (result i32)
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (i32.store (i32.const 0) (global.get $n))
        (global.get $n))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "mix") (param i64 f32 f64) (result f64 i64)
        (f64.add (f64.promote_f32 (local.get 1)) (local.get 2))
        (i64.mul (local.get 0) (i64.const 2)))
    (func (export "boom") (unreachable)))"#;

fn counter() -> aegis_core::Sandbox {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(COUNTER).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

#[test]
fn typed_and_dynamic_calls_agree() {
    let mut s = counter();
    assert_eq!(s.call::<(i32, i32), i32>("add", (7, 8)).unwrap(), 15);
    assert_eq!(
        s.call_dynamic("add", &[Value::I32(7), Value::I32(8)])
            .unwrap(),
        vec![Value::I32(15)]
    );
    let (f, i) = s
        .call::<(i64, f32, f64), (f64, i64)>("mix", (21, 1.5, 2.25))
        .unwrap();
    assert_eq!((f, i), (3.75, 42));
    assert_eq!(
        s.call_dynamic("mix", &[Value::I64(21), Value::F32(1.5), Value::F64(2.25)])
            .unwrap(),
        vec![Value::F64(3.75), Value::I64(42)]
    );
}

#[test]
fn state_persists_across_calls_until_reset() {
    let mut s = counter();
    for expected in 1..=100 {
        assert_eq!(s.call::<(), i32>("incr", ()).unwrap(), expected);
    }
    s.reset().unwrap();
    assert_eq!(
        s.call::<(), i32>("incr", ()).unwrap(),
        1,
        "reset gives a fresh instance"
    );
    assert_eq!(s.metrics().calls, 101);
}

#[test]
fn missing_export_names_what_exists() {
    let mut s = counter();
    match s.call::<(), ()>("nope", ()) {
        Err(Error::ExportNotFound { name, available }) => {
            assert_eq!(name, "nope");
            assert!(available.contains(&"add".to_string()));
        }
        other => panic!("expected ExportNotFound, got {other:?}"),
    }
    assert_eq!(
        s.call_dynamic("memory", &[]).unwrap_err().code(),
        ErrorCode::ExportNotFound
    );
}

#[test]
fn signature_mismatch_says_expected_and_given() {
    let mut s = counter();
    match s.call::<i32, i32>("add", 1) {
        Err(Error::SignatureMismatch {
            name,
            expected,
            given,
        }) => {
            assert_eq!(name, "add");
            assert_eq!(expected, "(i32, i32) -> (i32)");
            assert_eq!(given, "(i32) -> (i32)");
        }
        other => panic!("expected SignatureMismatch, got {other:?}"),
    }
    match s.call_dynamic("add", &[Value::I32(1), Value::I64(2)]) {
        Err(Error::SignatureMismatch {
            expected, given, ..
        }) => {
            assert_eq!(expected, "(i32, i32) -> (i32)");
            assert_eq!(given, "arguments (i32, i64)");
        }
        other => panic!("expected SignatureMismatch, got {other:?}"),
    }
    assert_eq!(
        s.call::<(i32, i32), i64>("add", (1, 2)).unwrap_err().code(),
        ErrorCode::SignatureMismatch
    );
}

#[test]
fn trap_reports_code_message_and_backtrace() {
    let mut s = counter();
    match s.call::<(), ()>("boom", ()) {
        Err(Error::Trap {
            code,
            message,
            backtrace,
        }) => {
            assert_eq!(code, "unreachable");
            assert!(message.contains("unreachable"), "{message}");
            assert!(!backtrace.is_empty(), "a wasm backtrace is included");
        }
        other => panic!("expected Trap, got {other:?}"),
    }
    // A trap does not poison the sandbox.
    assert_eq!(s.call::<(i32, i32), i32>("add", (1, 1)).unwrap(), 2);
}

#[test]
fn calling_before_loading_is_an_invalid_argument() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    assert_eq!(
        sandbox.call_void("x").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        sandbox.run().unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn default_entry_prefers_start_then_main() {
    let runtime = Aegis::builder().build().unwrap();
    let both = runtime
        .load_wat(r#"(module (func (export "_start")) (func (export "main") (result i32) (i32.const 3)))"#)
        .unwrap();
    let main_only = runtime
        .load_wat(r#"(module (func (export "main") (result i32) (i32.const 3)))"#)
        .unwrap();
    let neither = runtime
        .load_wat(r#"(module (func (export "other")))"#)
        .unwrap();
    let mut s = runtime.sandbox().build().unwrap();
    s.load_module(&both).unwrap();
    assert_eq!(s.default_entry().unwrap(), "_start");
    assert_eq!(s.run().unwrap(), vec![]);
    s.load_module(&main_only).unwrap();
    assert_eq!(s.run().unwrap(), vec![Value::I32(3)]);
    s.load_module(&neither).unwrap();
    assert_eq!(s.run().unwrap_err().code(), ErrorCode::ExportNotFound);
}

#[test]
fn missing_import_is_a_link_error_naming_it() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "log" (func (param i32))))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    match sandbox.load_module(&module) {
        Err(Error::Link { module, name, .. }) => {
            assert_eq!((module.as_str(), name.as_str()), ("env", "log"))
        }
        other => panic!("expected Link, got {other:?}"),
    }
    let msg = sandbox.load_module(&module).unwrap_err().to_string();
    assert!(msg.contains("env::log"), "{msg}");
}

#[test]
fn wasi_command_exit_status_is_reported() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1)
                (func (export "ok") (call $exit (i32.const 0)))
                (func (export "fail") (call $exit (i32.const 3))))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox.call_void("ok").unwrap();
    match sandbox.call_void("fail") {
        Err(Error::Exit { status }) => assert_eq!(status, 3),
        other => panic!("expected Exit, got {other:?}"),
    }
}

#[test]
fn reactor_initialize_runs_on_load() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (global $g (mut i32) (i32.const 0))
                (func (export "_initialize") (global.set $g (i32.const 42)))
                (func (export "get") (result i32) (global.get $g)))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    assert_eq!(sandbox.call::<(), i32>("get", ()).unwrap(), 42);
}

#[test]
fn metrics_track_memory_and_time() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (memory 2) (func (export "grow") (drop (memory.grow (i32.const 3)))))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox.call_void("grow").unwrap();
    let m = sandbox.last_call_metrics().clone();
    assert_eq!(m.calls, 1);
    assert_eq!(m.memory_current, 5 * 65536);
    assert_eq!(m.memory_peak, 5 * 65536);
    assert!(m.fuel_consumed > 0);
    assert!(m.wall_time > std::time::Duration::ZERO);
    sandbox.reset().unwrap();
    sandbox.call_void("grow").unwrap();
    assert_eq!(sandbox.metrics().calls, 2);
    assert_eq!(sandbox.metrics().memory_peak, 5 * 65536);
}
