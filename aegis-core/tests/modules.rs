//! Loading, validating and inspecting modules; sharing one runtime across threads.

use std::sync::Arc;

use aegis_core::{Aegis, Error, ErrorCode, ExternType, Runtime, ValType};

#[test]
fn garbage_bytes_are_an_invalid_module() {
    let runtime = Runtime::new().unwrap();
    for bytes in [
        &b""[..],
        b"\0asm",
        b"\0asm\x01\0\0\0\x01",
        b"not wasm at all",
        &[0xff; 64],
    ] {
        match runtime.load_bytes(bytes) {
            Err(Error::InvalidModule { message }) => assert!(!message.is_empty()),
            other => panic!("expected InvalidModule for {bytes:?}, got {other:?}"),
        }
        assert_eq!(
            runtime.validate(bytes).unwrap_err().code(),
            ErrorCode::InvalidModule
        );
    }
}

#[test]
fn bad_wat_reports_the_parser_message() {
    let runtime = Runtime::new().unwrap();
    let err = runtime
        .load_wat("(module (func (export \"f\") (i32.add)))")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule);
    assert!(err.to_string().contains("type mismatch"), "{err}");
    let err = runtime.load_wat("(module (fnc))").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule);
}

#[test]
fn validate_accepts_good_modules_without_instantiating() {
    let runtime = Runtime::new().unwrap();
    let bytes = wat::parse_str(
        r#"(module (import "env" "missing" (func)) (func $s unreachable) (start $s))"#,
    )
    .unwrap();
    runtime.validate(&bytes).unwrap();
}

#[test]
fn missing_file_is_an_io_error() {
    let runtime = Runtime::new().unwrap();
    let err = runtime.load_file("/definitely/not/here.wasm").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    assert!(
        err.to_string().contains("/definitely/not/here.wasm"),
        "{err}"
    );
}

#[test]
fn load_file_accepts_wasm_and_wat() {
    let dir = std::env::temp_dir().join(format!("aegis-modules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = r#"(module (func (export "one") (result i32) (i32.const 1)))"#;
    std::fs::write(dir.join("m.wat"), text).unwrap();
    std::fs::write(dir.join("m.wasm"), wat::parse_str(text).unwrap()).unwrap();
    let runtime = Runtime::new().unwrap();
    for file in ["m.wat", "m.wasm"] {
        let module = runtime.load_file(dir.join(file)).unwrap();
        let mut sandbox = runtime.sandbox().build().unwrap();
        sandbox.load_module(&module).unwrap();
        assert_eq!(sandbox.call::<(), i32>("one", ()).unwrap(), 1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn imports_and_exports_have_full_types() {
    let runtime = Runtime::new().unwrap();
    let module = runtime
        .load_wat(
            r#"(module
                (import "env" "log" (func (param i32)))
                (import "env" "mem" (memory 1 4))
                (import "env" "g" (global i64))
                (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
                (memory (export "memory") 1)
                (table (export "table") 2 funcref)
                (global (export "counter") (mut f64) (f64.const 0))
                (func (export "vec") (param v128)))"#,
        )
        .unwrap();
    let imports: Vec<String> = module.imports().iter().map(|i| i.to_string()).collect();
    assert_eq!(
        imports,
        [
            "env.log [function]: (i32) -> ()",
            "env.mem [memory]: 1 pages (max 4)",
            "env.g [global]: i64",
        ]
    );
    let exports: Vec<String> = module.exports().iter().map(|e| e.to_string()).collect();
    assert_eq!(exports[0], "add [function]: (i32, i32) -> (i32)");
    assert_eq!(exports[1], "memory [memory]: 1 pages");
    assert_eq!(exports[2], "table [table]: 2 funcref");
    assert_eq!(exports[3], "counter [global]: mut f64");
    match &module.exports()[0].ty {
        ExternType::Function(sig) => {
            assert_eq!(sig.params, [ValType::I32, ValType::I32]);
            assert_eq!(sig.results, [ValType::I32]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(module.exports()[4].ty, ExternType::Other(_)),
        "v128 functions are described, not typed"
    );
    assert!(!module.is_component());
}

#[test]
fn v128_exports_are_rejected_with_a_clear_error() {
    let runtime = Runtime::new().unwrap();
    let module = runtime
        .load_wat(r#"(module (func (export "vec") (param v128)))"#)
        .unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    let err = sandbox.call_dynamic("vec", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch);
    assert!(err.to_string().contains("v128"), "{err}");
}

#[test]
fn runtime_and_module_are_send_sync_and_shared_by_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<Runtime>();
    assert_send_sync::<aegis_core::Module>();
    assert_send::<aegis_core::Sandbox>();

    let runtime = Aegis::builder().with_fuel_limit(50_000).build().unwrap();
    let module = runtime
        .load_wat(
            r#"(module (func (export "sum") (param i32) (result i32) (local i32)
                (loop $l (local.set 1 (i32.add (local.get 1) (local.get 0)))
                         (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                         (br_if $l (local.get 0)))
                (local.get 1))
               (func (export "spin") (loop $l (br $l))))"#,
        )
        .unwrap();
    let module = Arc::new(module);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let runtime = runtime.clone();
            let module = module.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut sandbox = runtime.sandbox().build().unwrap();
                    sandbox.load_module(&module).unwrap();
                    let n = 10 + t * 25 + i;
                    assert_eq!(sandbox.call::<i32, i32>("sum", n).unwrap(), n * (n + 1) / 2);
                    assert_eq!(
                        sandbox.call::<(), ()>("spin", ()).unwrap_err().code(),
                        ErrorCode::OutOfFuel
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread finished without panicking");
    }
}

#[test]
fn module_from_another_runtime_is_refused() {
    let a = Runtime::new().unwrap();
    let b = Runtime::new().unwrap();
    let module = a.load_wat("(module)").unwrap();
    let mut sandbox = b.sandbox().build().unwrap();
    assert_eq!(
        sandbox.load_module(&module).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn error_codes_are_stable_strings() {
    let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "invalid_module",
            "link_error",
            "export_not_found",
            "signature_mismatch",
            "out_of_fuel",
            "timeout",
            "memory_limit_exceeded",
            "stack_overflow",
            "trap",
            "host_function",
            "permission_denied",
            "io",
            "invalid_argument",
            "exit",
            "interrupted",
            "module_too_complex",
            "busy",
            "memory_out_of_bounds",
            "result_too_large",
            "invalid_result",
        ]
    );
}

#[test]
fn oversized_modules_are_refused_before_parsing() {
    let runtime = Aegis::builder().with_max_module_size(1024).build().unwrap();
    let big = format!("(module {})", "(func)".repeat(400));
    let err = runtime.load_wat(&big).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule);
    assert!(
        err.to_string()
            .contains("more than the limit of 1024 bytes"),
        "{err}"
    );
    assert_eq!(
        runtime.validate(big.as_bytes()).unwrap_err().code(),
        ErrorCode::InvalidModule
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), vec![0u8; 4096]).unwrap();
    let err = runtime.load_file(file.path()).unwrap_err();
    assert!(err.to_string().contains("4096 bytes"), "{err}");
    runtime
        .load_wat("(module (func))")
        .expect("small modules still load");
}

#[test]
fn a_module_with_many_functions_compiles_in_bounded_time() {
    // 20 000 functions with non-trivial bodies: the default size limit admits
    // it, and compilation is parallel and finishes.
    let body =
        "(local i64) (local.set 0 (i64.const 1)) (drop (i64.mul (local.get 0) (i64.const 3)))";
    let wat = format!("(module {})", format!("(func {body})").repeat(20_000));
    let start = std::time::Instant::now();
    let module = Runtime::new().unwrap().load_wat(&wat).unwrap();
    assert_eq!(module.imports().len(), 0);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn parse_errors_echo_a_bounded_amount_of_the_input() {
    let runtime = Aegis::builder().build().unwrap();
    // One 2 MB line with a syntax error at its end.
    let line = format!("(module (func {} oops)", "(nop) ".repeat(350_000));
    let err = runtime.load_wat(&line).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule);
    let text = err.to_string();
    assert!(text.len() < 5000, "message of {} bytes", text.len());
    assert!(text.lines().all(|l| l.chars().count() <= 260), "{text}");
}
