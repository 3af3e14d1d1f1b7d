//! Host functions in typed and dynamic form, guest-memory access, failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aegis_core::{Aegis, Error, FuncType, HostCaller, HostError, ValType, Value};

const GREETER: &str = r#"(module
    (import "env" "greet" (func $greet (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "world")
    (func (export "run") (result i32) (call $greet (i32.const 16) (i32.const 5))))"#;

#[test]
fn typed_host_function_is_called_and_counted() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (import "env" "double" (func $d (param i64) (result i64)))
                (func (export "quad") (param i64) (result i64) (call $d (call $d (local.get 0)))))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func("env", "double", |x: i64| x * 2)
        .unwrap();
    sandbox.load_module(&module).unwrap();
    assert_eq!(sandbox.call::<i64, i64>("quad", 21).unwrap(), 84);
    assert_eq!(sandbox.last_call_metrics().host_calls, 2);
}

#[test]
fn typed_host_function_with_caller_reads_and_writes_guest_memory() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(GREETER).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func_with_caller(
            "env",
            "greet",
            |caller: &mut HostCaller<'_>, ptr: i32, len: i32| {
                let name = caller.read_string(ptr as u64, len as usize)?;
                let reply = format!("hello, {name}");
                caller.write_memory(100, reply.as_bytes())?;
                Ok::<i32, HostError>(reply.len() as i32)
            },
        )
        .unwrap();
    sandbox.load_module(&module).unwrap();
    let written: i32 = sandbox.call("run", ()).unwrap();
    assert_eq!(written, 12);
    // Read the reply back through a second host call's view of memory.
    let check = runtime
        .load_wat(
            r#"(module (import "env" "peek" (func $p (param i32 i32)))
                (memory (export "memory") 1)
                (data (i32.const 0) "abc")
                (func (export "go") (call $p (i32.const 0) (i32.const 3))))"#,
        )
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let seen2 = seen.clone();
    let mut other = runtime.sandbox().build().unwrap();
    other
        .register_func_with_caller(
            "env",
            "peek",
            move |c: &mut HostCaller<'_>, p: i32, l: i32| {
                *seen2.lock().unwrap() = c.read_string(p as u64, l as usize)?;
                Ok::<(), HostError>(())
            },
        )
        .unwrap();
    other.load_module(&check).unwrap();
    other.call_void("go").unwrap();
    assert_eq!(*seen.lock().unwrap(), "abc");
}

#[test]
fn dynamic_host_function_sees_values_and_memory() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(GREETER).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    let sig = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    sandbox
        .register_dynamic("env", "greet", sig, |caller, args| {
            let (ptr, len) = (args[0].as_i32().unwrap(), args[1].as_i32().unwrap());
            let bytes = caller.read_memory(ptr as u64, len as usize)?;
            assert_eq!(bytes, b"world");
            caller.write_memory(ptr as u64, b"WORLD")?;
            Ok(vec![Value::I32(caller.memory_size()? as i32)])
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    assert_eq!(
        sandbox.call_dynamic("run", &[]).unwrap(),
        vec![Value::I32(65536)]
    );
}

#[test]
fn panicking_host_function_becomes_a_host_function_error() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "boom" (func $b)) (func (export "go") (call $b)))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func("env", "boom", || -> Result<(), HostError> {
            panic!("kaboom")
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    match sandbox.call::<(), ()>("go", ()) {
        Err(Error::HostFunction { message, .. }) => {
            assert!(message.contains("kaboom"), "{message}")
        }
        other => panic!("expected HostFunction, got {other:?}"),
    }
    // The sandbox and the process survive; the next call fails the same way.
    assert!(matches!(
        sandbox.call::<(), ()>("go", ()),
        Err(Error::HostFunction { .. })
    ));
}

#[test]
fn host_error_carries_its_payload_back_to_the_caller() {
    #[derive(Debug, PartialEq)]
    struct Original(u32);
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "fail" (func $f (result i32))) (func (export "go") (result i32) (call $f)))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func("env", "fail", || -> Result<i32, HostError> {
            Err(HostError::with_payload("refused", Box::new(Original(7))))
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    match sandbox.call::<(), i32>("go", ()) {
        Err(Error::HostFunction { message, payload }) => {
            assert_eq!(message, "refused");
            let payload = payload.expect("payload survives the trap");
            assert_eq!(payload.0.downcast_ref::<Original>(), Some(&Original(7)));
        }
        other => panic!("expected HostFunction, got {other:?}"),
    }
}

#[test]
fn dynamic_host_function_returning_wrong_types_traps_cleanly() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "f" (func $f (result i32))) (func (export "go") (result i32) (call $f)))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_dynamic("env", "f", FuncType::new([], [ValType::I32]), |_, _| {
            Ok(vec![Value::I64(1)])
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    match sandbox.call::<(), i32>("go", ()) {
        Err(Error::HostFunction { message, .. }) => {
            assert!(
                message.contains("returned (i64), expected (i32)"),
                "{message}"
            )
        }
        other => panic!("expected HostFunction, got {other:?}"),
    }
}

#[test]
fn host_memory_access_out_of_bounds_is_an_error_not_a_crash() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (import "env" "peek" (func $p (param i32 i32)))
                (memory (export "memory") 1)
                (func (export "go") (call $p (i32.const 65530) (i32.const 100))))"#,
        )
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func_with_caller("env", "peek", |c: &mut HostCaller<'_>, p: i32, l: i32| {
            c.read_memory(p as u32 as u64, l as usize).map(|_| ())
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    match sandbox.call_void("go") {
        Err(Error::HostFunction { message, .. }) => {
            assert!(message.contains("out of bounds"), "{message}")
        }
        other => panic!("expected HostFunction, got {other:?}"),
    }
}

#[test]
fn host_function_without_guest_memory_reports_it() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "peek" (func $p)) (func (export "go") (call $p)))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func_with_caller("env", "peek", |c: &mut HostCaller<'_>| {
            c.memory_size().map(|_| ())
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    let err = sandbox.call_void("go").unwrap_err();
    assert!(
        err.to_string().contains("no memory named `memory`"),
        "{err}"
    );
}

#[test]
fn registered_signature_mismatch_is_a_link_error() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "f" (func $f (param i32))) (func (export "go") (call $f (i32.const 1))))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.register_func("env", "f", |_: i64| {}).unwrap();
    let err = sandbox.load_module(&module).unwrap_err();
    match &err {
        Error::Link { module, name, .. } => {
            assert_eq!((module.as_str(), name.as_str()), ("env", "f"));
        }
        other => panic!("expected Link, got {other:?}"),
    }
}

#[test]
fn registering_the_same_name_twice_is_rejected() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.register_func("env", "f", || 1i32).unwrap();
    let err = sandbox.register_func("env", "f", || 2i32).unwrap_err();
    assert_eq!(err.code().as_str(), "invalid_argument");
}

#[test]
fn host_state_is_shared_through_captured_arcs() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime
        .load_wat(r#"(module (import "env" "tick" (func $t)) (func (export "go") (call $t) (call $t) (call $t)))"#)
        .unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let c = counter.clone();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox
        .register_func("env", "tick", move || {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox.call_void("go").unwrap();
    sandbox.call_void("go").unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 6);
    assert_eq!(sandbox.metrics().host_calls, 6);
}

#[test]
fn guest_chosen_lengths_never_size_a_host_allocation() {
    // The guest passes a length of 2^40 (and an offset near the end of its
    // memory): the host function gets a typed error, the host lives.
    let wat = r#"(module
        (import "env" "log" (func $log (param i64 i64) (result i32)))
        (memory (export "memory") 1)
        (func (export "go") (result i32)
            (call $log (i64.const 0) (i64.const 1099511627776))))"#;
    let rt = aegis_core::Runtime::new().unwrap();
    let module = rt.load_wat(wat).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.register_func_with_caller(
        "env",
        "log",
        |caller: &mut aegis_core::HostCaller<'_>, offset: i64, len: i64| -> i32 {
            let bytes = caller.read_memory(offset as u64, len as usize);
            let text = caller.read_string(65_000, len as usize);
            i32::from(bytes.is_err() && text.is_err())
        },
    )
    .unwrap();
    sb.load_module(&module).unwrap();
    assert_eq!(sb.call::<(), i32>("go", ()).unwrap(), 1);
}
