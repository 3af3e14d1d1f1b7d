//! Data exchange with guests: guest memory from the host, the bytes
//! convention, and component calls with WIT values.

use aegis_core::{Aegis, Data, ErrorCode, Runtime, Sandbox, WitVal};

/// A bytes-convention guest in WAT: a bump allocator, `echo`, `upper`, and
/// functions returning hostile output pointers.
const BYTES_GUEST: &str = r#"(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "aegis_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))
  (func (export "aegis_free") (param i32 i32))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "echo") (param $ptr i32) (param $len i32) (result i64)
    (call $pack (local.get $ptr) (local.get $len)))
  (func (export "upper") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32) (local $c i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $c (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (i32.store8 (i32.add (local.get $ptr) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $pack (local.get $ptr) (local.get $len)))
  (func (export "out_of_bounds") (param i32 i32) (result i64)
    (call $pack (i32.const 65530) (i32.const 16)))
  (func (export "wraps") (param i32 i32) (result i64)
    (call $pack (i32.const -16) (i32.const 32)))
  (func (export "huge") (param i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const -1)))
  (func (export "not_utf8") (param i32 i32) (result i64)
    (i32.store (i32.const 0) (i32.const 0xc080feff))
    (call $pack (i32.const 0) (i32.const 4)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

/// A component in WAT: `echo: func(s: string) -> string`, `add`, and an
/// interface `text` with `len`.
const COMPONENT: &str = r#"(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (local.get 3)))
      (local.get $p))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "bad") (param i32 i32) (result i32)
      (i32.store (i32.const 16) (i32.const 0xc080feff))
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.const 4))
      (i32.const 0))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "len") (param i32 i32) (result i32) (local.get 1)))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "bad") (param "s" string) (result string)
    (canon lift (core func $i "bad") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "add") (param "a" s32) (param "b" s32) (result s32)
    (canon lift (core func $i "add")))
  (func $len (param "s" string) (result u32)
    (canon lift (core func $i "len") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (instance $text (export "len" (func $len)))
  (export "aegis:test/text" (instance $text)))"#;

fn sandbox(runtime: &Runtime, wat: &str) -> Sandbox {
    let module = runtime.load_wat(wat).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

#[test]
fn the_host_reads_and_writes_guest_memory_between_calls() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, BYTES_GUEST);
    let mut mem = sb.memory().unwrap();
    assert_eq!(mem.size(), 65536);
    mem.write(100, b"hello").unwrap();
    assert_eq!(mem.read(100, 5).unwrap(), b"hello");
    let mut buf = [0u8; 3];
    mem.read_into(101, &mut buf).unwrap();
    assert_eq!(&buf, b"ell");
    for (offset, len) in [(65535, 2), (u64::MAX, 2), (0, u64::MAX), (65537, 0)] {
        let err = mem.read(offset, len).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MemoryOutOfBounds, "{offset} {len}");
    }
    let err = mem.write(65534, b"abc").unwrap_err();
    assert_eq!(err.code(), ErrorCode::MemoryOutOfBounds);
    assert_eq!(mem.read(65536, 0).unwrap(), b"");
    assert!(sb.memory_named("nope").is_err());
}

#[test]
fn bytes_and_strings_round_trip_through_the_convention() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, BYTES_GUEST);
    assert_eq!(
        sb.call_bytes("echo", b"\x00\xffabc").unwrap(),
        b"\x00\xffabc"
    );
    assert_eq!(
        sb.call_str("upper", "hello, world").unwrap(),
        "HELLO, WORLD"
    );
    assert_eq!(sb.call_bytes("echo", b"").unwrap(), b"");
    let big = vec![7u8; 40_000];
    assert_eq!(sb.call_bytes("echo", &big).unwrap(), big);
    assert_eq!(sb.last_call_metrics().calls, 1);
}

#[test]
fn hostile_bytes_output_is_a_typed_error() {
    let runtime = Aegis::builder().with_result_limit(1 << 20).build().unwrap();
    let mut sb = sandbox(&runtime, BYTES_GUEST);
    let code = |sb: &mut Sandbox, name: &str| sb.call_bytes(name, b"x").unwrap_err().code();
    assert_eq!(code(&mut sb, "out_of_bounds"), ErrorCode::MemoryOutOfBounds);
    assert_eq!(code(&mut sb, "wraps"), ErrorCode::MemoryOutOfBounds);
    assert_eq!(code(&mut sb, "huge"), ErrorCode::ResultTooLarge);
    assert_eq!(
        sb.call_str("not_utf8", "x").unwrap_err().code(),
        ErrorCode::InvalidResult
    );
    assert_eq!(code(&mut sb, "add"), ErrorCode::SignatureMismatch);
    assert_eq!(code(&mut sb, "missing"), ErrorCode::ExportNotFound);
    // The sandbox still works afterwards.
    assert_eq!(sb.call_str("echo", "ok").unwrap(), "ok");
}

#[test]
fn component_exports_are_called_with_wit_values() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(COMPONENT).unwrap();
    let names: Vec<String> = module.exports().iter().map(|e| format!("{e}")).collect();
    assert!(
        names.contains(&"echo [function]: func(s: string) -> string".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"aegis:test/text#len [function]: func(s: string) -> u32".to_string()),
        "{names:?}"
    );
    let mut sb = runtime.sandbox().build().unwrap();
    sb.load_module(&module).unwrap();
    let out = sb
        .call_component("echo", &[WitVal::String("héllo".into())])
        .unwrap();
    assert_eq!(out, vec![WitVal::String("héllo".into())]);
    let out = sb
        .call_data("add", &[Data::Int(2), Data::BigInt(40)])
        .unwrap();
    assert_eq!(out, vec![Data::Int(42)]);
    let out = sb
        .call_data("aegis:test/text#len", &[Data::Str("four".into())])
        .unwrap();
    assert_eq!(out, vec![Data::Int(4)]);
    let err = sb
        .call_data("add", &[Data::Str("2".into()), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch, "{err}");
    let err = sb
        .call_data("add", &[Data::BigInt(1 << 40), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    let err = sb.call_data("bad", &[Data::Str("x".into())]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResult, "{err}");
    let err = sb.call_data("nope", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ExportNotFound, "{err}");
    let info = runtime.inspect(COMPONENT.as_bytes()).unwrap();
    assert_eq!(info.exports(), module.exports());
}

#[test]
fn component_results_are_capped() {
    let runtime = Aegis::builder().with_result_limit(8).build().unwrap();
    let mut sb = sandbox(&runtime, COMPONENT);
    assert_eq!(
        sb.call_data("echo", &[Data::Str("12345678".into())])
            .unwrap()
            .len(),
        1
    );
    let err = sb
        .call_data("echo", &[Data::Str("123456789".into())])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
}

#[test]
fn wave_calls_parse_arguments_by_the_export_types() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, COMPONENT);
    let out = sb.invoke(r#"echo("a \"quoted\" word")"#).unwrap();
    assert_eq!(
        aegis_core::wave::to_wave(&out[0]).unwrap(),
        r#""a \"quoted\" word""#
    );
    assert_eq!(sb.invoke("add(2, 3)").unwrap(), vec![WitVal::S32(5)]);
    assert_eq!(
        sb.invoke(r#"aegis:test/text#len("abc")"#).unwrap(),
        vec![WitVal::U32(3)]
    );
    assert_eq!(
        sb.invoke("add(2)").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        sb.invoke("add(\"x\", 1)").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn a_value_takes_the_size_the_docs_say() {
    // README, SECURITY.md and the result_limit option say 40 bytes.
    assert_eq!(aegis_core::VALUE_SIZE, 40);
}

/// A component that imports `double` at its root and `aegis:test/host#add`.
const IMPORTING: &str = r#"(component
  (import "double" (func $double (param "x" u32) (result u32)))
  (import "aegis:test/host" (instance $h (export "add" (func (param "a" s64) (param "b" s64) (result s64)))))
  (alias export $h "add" (func $add))
  (core func $d (canon lower (func $double)))
  (core func $a (canon lower (func $add)))
  (core module $m
    (import "host" "double" (func $double (param i32) (result i32)))
    (import "host" "add" (func $add (param i64 i64) (result i64)))
    (func (export "run") (param i32) (result i32) (call $double (local.get 0)))
    (func (export "sum") (param i64 i64) (result i64) (call $add (local.get 0) (local.get 1))))
  (core instance $i (instantiate $m (with "host" (instance (export "double" (func $d)) (export "add" (func $a))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
  (func (export "sum") (param "a" s64) (param "b" s64) (result s64) (canon lift (core func $i "sum"))))"#;

#[test]
fn host_functions_implement_component_imports() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(IMPORTING).unwrap();
    let imports: Vec<String> = module.imports().iter().map(|i| i.to_string()).collect();
    assert!(
        imports.contains(&"double [function]: func(x: u32) -> u32".to_string()),
        "{imports:?}"
    );
    assert!(
        imports
            .contains(&"aegis:test/host#add [function]: func(a: s64, b: s64) -> s64".to_string()),
        "{imports:?}"
    );

    let mut missing = runtime.sandbox().build().unwrap();
    let err = missing.load_module(&module).unwrap_err();
    assert_eq!(err.code(), ErrorCode::LinkError, "{err}");

    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("double", |_, args| match args {
        [Data::Int(7)] => panic!("seven"),
        [Data::Int(9)] => Ok(vec![Data::Str("nine".into())]),
        [Data::Int(x)] => Ok(vec![Data::Int(x * 2)]),
        _ => Err(aegis_core::HostError::new("bad arguments")),
    })
    .unwrap();
    sb.register_component_func("aegis:test/host#add", |_, args| match args {
        [WitVal::S64(a), WitVal::S64(b)] => Ok(vec![WitVal::S64(a.wrapping_add(*b))]),
        _ => Err(aegis_core::HostError::new("bad arguments")),
    })
    .unwrap();
    let dup = sb.register_component_func("double", |_, _| Ok(vec![]));
    assert_eq!(dup.unwrap_err().code(), ErrorCode::InvalidArgument);
    sb.load_module(&module).unwrap();
    assert_eq!(
        sb.call_data("run", &[Data::Int(21)]).unwrap(),
        vec![Data::Int(42)]
    );
    assert_eq!(sb.last_call_metrics().host_calls, 1);
    assert_eq!(
        sb.call_data("sum", &[Data::BigInt(1 << 40), Data::Int(2)])
            .unwrap(),
        vec![Data::BigInt((1 << 40) + 2)]
    );
    let err = sb.call_data("run", &[Data::Int(7)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
    assert!(err.to_string().contains("seven"), "{err}");
    // A component that trapped stays poisoned until the sandbox is reset.
    let err = sb.call_data("run", &[Data::Int(1)]).unwrap_err();
    assert_eq!(err.details()[0].1, "cannot_enter_component".into(), "{err}");
    sb.reset().unwrap();
    let err = sb.call_data("run", &[Data::Int(9)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
    assert!(err.to_string().contains("expected u32, got str"), "{err}");
    sb.reset().unwrap();
    // The same for a host function on WIT values that returns the wrong kind.
    let mut wrong = runtime.sandbox().build().unwrap();
    wrong
        .register_component_func("double", |_, _| Ok(vec![WitVal::String("x".into())]))
        .unwrap();
    wrong
        .register_component_func("aegis:test/host#add", |_, _| Ok(vec![WitVal::S64(0)]))
        .unwrap();
    wrong.load_module(&module).unwrap();
    let err = wrong.call_data("run", &[Data::Int(1)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
    assert!(
        err.to_string()
            .contains("returned a wrong value: result: expected u32, got string"),
        "{err}"
    );
    sb.reset().unwrap();
    assert_eq!(
        sb.call_data("run", &[Data::Int(1)]).unwrap(),
        vec![Data::Int(2)]
    );
}

#[test]
fn a_deeply_nested_wit_type_is_refused_before_compiling() {
    let runtime = Aegis::builder().build().unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/hostile/corpus/wit_deep_type.wat"
    );
    let err = runtime.load_file(path).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModule, "{err}");
    assert!(
        err.to_string().contains("type nesting is too deep"),
        "{err}"
    );
}

/// Thousands of exports sharing one large record type (wasmparser allows a
/// million units of type size per component, about 8 MB of text): the signatures are
/// bounded as a whole, so a small module cannot make `inspect` or `load`
/// produce text in proportion to exports × type size.
#[test]
fn signature_text_is_bounded_for_the_whole_component() {
    let fields: String = (0..400).map(|i| format!(r#"(field "f{i}" u8)"#)).collect();
    let exports: String = (0..2000)
        .map(|i| {
            format!(
                r#"(func (export "e{i}") (type $ft) (canon lift (core func $i "f") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))"#
            )
        })
        .collect();
    let wat = format!(
        r#"(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
    (func (export "f") (param i32)))
  (core instance $i (instantiate $m))
  (type $r0 (record {fields}))
  (export $r "r" (type $r0))
  (type $ft (func (param "p" $r)))
  {exports})"#
    );
    let runtime = Aegis::builder().build().unwrap();
    let info = runtime.inspect(wat.as_bytes()).unwrap();
    let funcs: Vec<String> = info
        .exports()
        .iter()
        .filter(|e| e.ty.kind() == "function")
        .map(|e| e.ty.to_string())
        .collect();
    assert_eq!(funcs.len(), 2000);
    let text: usize = funcs.iter().map(String::len).sum();
    assert!(
        text < aegis_core::wit::MAX_SIGNATURES_TOTAL + 2000 * 64,
        "{text} bytes of signatures"
    );
    assert!(funcs[0].contains("f399: u8"), "{}", funcs[0]);
    assert_eq!(funcs[1999], "func(p: …)");
}

#[test]
fn a_component_host_function_sees_its_import_and_the_call_ending() {
    let runtime = Aegis::builder()
        .with_timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let module = runtime.load_wat(IMPORTING).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("double", |call, args| {
        assert_eq!(call.import(), "double");
        assert!(call.has_result());
        assert!(call.time_remaining().unwrap() <= std::time::Duration::from_millis(300));
        // Waits for something that never comes, as a binding waiting for
        // its language's thread would, until the call must end.
        while !call.is_cancelled() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(args.to_vec())
    })
    .unwrap();
    sb.register_component_func("aegis:test/host#add", |call, _| {
        assert_eq!(call.import(), "aegis:test/host#add");
        Ok(vec![WitVal::S64(0)])
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    let start = std::time::Instant::now();
    let err = sb.call_data("run", &[Data::Int(1)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    sb.reset().unwrap();
    let handle = sb.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.interrupt();
    });
    let err = sb.call_data("run", &[Data::Int(1)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Interrupted, "{err}");
    t.join().unwrap();
}
