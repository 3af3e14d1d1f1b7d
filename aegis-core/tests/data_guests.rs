//! Data exchange with the real guests built by scripts/build-guests.sh: the
//! Rust and C bytes-convention examples, and the wit-bindgen components
//! `values` (every WIT type) and `plugin` (host functions for its imports).

use std::time::Duration;

use aegis_core::{Aegis, Data, ErrorCode, HostError, Runtime, Sandbox, WitVal};

const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests/out");

fn load(runtime: &Runtime, guest: &str) -> Sandbox {
    let module = runtime.load_file(format!("{OUT}/{guest}")).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

fn s(text: &str) -> Data {
    Data::Str(text.into())
}

fn rec(fields: &[(&str, Data)]) -> Data {
    Data::Record(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

#[test]
fn the_rust_and_c_bytes_examples_speak_the_convention() {
    let runtime = Aegis::builder().build().unwrap();
    for guest in ["bytes-rust.wasm", "bytes-c.wasm"] {
        let mut sb = load(&runtime, guest);
        assert_eq!(
            sb.call_str("upper", "hello, world").unwrap(),
            "HELLO, WORLD",
            "{guest}"
        );
        assert_eq!(
            sb.call_bytes("reverse", &[0, 1, 255]).unwrap(),
            vec![255, 1, 0],
            "{guest}"
        );
        assert_eq!(sb.call_bytes("echo", b"").unwrap(), b"", "{guest}");
        assert_eq!(
            sb.call_str("greet", "Ada").unwrap(),
            "Hello, Ada!",
            "{guest}"
        );
        let big = sb.call_bytes("repeat", b"3000000").unwrap();
        assert_eq!(big.len(), 3_000_000, "{guest}");
        // Many calls: the guest frees what the host hands back.
        let before = sb.memory().unwrap().size();
        let payload = vec![0x5a; 256 * 1024];
        for _ in 0..200 {
            assert_eq!(
                sb.call_bytes("echo", &payload).unwrap().len(),
                payload.len()
            );
        }
        assert!(
            sb.memory().unwrap().size() <= before + (1 << 20),
            "{guest} leaks guest memory"
        );
    }
}

#[test]
fn the_output_limit_is_checked_before_the_host_copies() {
    let runtime = Aegis::builder().with_result_limit(1000).build().unwrap();
    let mut sb = load(&runtime, "bytes-rust.wasm");
    assert_eq!(sb.call_bytes("repeat", b"1000").unwrap().len(), 1000);
    let err = sb.call_bytes("repeat", b"1001").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge);
    assert_eq!(err.details()[0], ("size", 1001u64.into()));
}

/// Each (export, value) pair echoes back unchanged through the Data mapping.
#[test]
fn every_wit_type_round_trips_as_data() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = load(&runtime, "values.wasm");
    let point = rec(&[("x", Data::Int(1)), ("y", Data::Int(-2)), ("label", s("p"))]);
    let cases: Vec<(&str, Data)> = vec![
        ("echo-bool", Data::Bool(true)),
        ("echo-s8", Data::Int(-128)),
        ("echo-u8", Data::Int(255)),
        ("echo-s16", Data::Int(-32768)),
        ("echo-u16", Data::Int(65535)),
        ("echo-s32", Data::Int(i32::MIN.into())),
        ("echo-u32", Data::Int(u32::MAX.into())),
        ("echo-s64", Data::BigInt(i64::MIN.into())),
        ("echo-u64", Data::BigInt(u64::MAX.into())),
        ("echo-f32", Data::Float(1.5)),
        ("echo-f64", Data::Float(-2.25e300)),
        ("echo-char", s("é")),
        ("echo-string", s("héllo\u{0}wörld")),
        ("echo-bytes", Data::Bytes(vec![0, 1, 254, 255])),
        ("echo-strings", Data::List(vec![s("a"), s(""), s("ccc")])),
        ("echo-record", point.clone()),
        (
            "echo-tuple",
            Data::Tuple(vec![Data::Int(7), s("seven"), Data::Bool(false)]),
        ),
        ("echo-variant", rec(&[("circle", Data::Float(2.0))])),
        ("echo-variant", rec(&[("rect", point.clone())])),
        ("echo-variant", rec(&[("empty", Data::Null)])),
        ("echo-enum", s("green")),
        ("echo-option", Data::Null),
        ("echo-option", s("some text")),
        ("echo-nested-option", Data::Null),
        ("echo-nested-option", rec(&[("some", Data::Null)])),
        ("echo-nested-option", rec(&[("some", Data::Int(5))])),
        ("echo-result", rec(&[("ok", s("fine"))])),
        ("echo-result", rec(&[("err", s("bad"))])),
        ("echo-flags", Data::List(vec![s("read"), s("exec")])),
        ("echo-flags", Data::List(vec![])),
        ("echo-points", Data::List(vec![point.clone(), point])),
        (
            "echo-nested",
            Data::List(vec![Data::List(vec![Data::Int(1)]), Data::List(vec![])]),
        ),
    ];
    for (export, value) in cases {
        let out = sb.call_data(export, std::slice::from_ref(&value)).unwrap();
        assert_eq!(out, vec![value], "{export}");
    }
    // Lenient input: a bare case name, a tuple for a list, a list for bytes.
    assert_eq!(
        sb.call_data("echo-variant", &[s("empty")]).unwrap(),
        vec![rec(&[("empty", Data::Null)])]
    );
    assert_eq!(
        sb.call_data(
            "echo-bytes",
            &[Data::List(vec![Data::Int(1), Data::Int(2)])]
        )
        .unwrap(),
        vec![Data::Bytes(vec![1, 2])]
    );
    assert_eq!(
        sb.call_data("greet", &[s("world")]).unwrap(),
        vec![s("Hello, world!")]
    );
    assert_eq!(sb.call_data("nothing", &[]).unwrap(), vec![]);
    assert_eq!(
        sb.call_data("divide", &[Data::Int(1), Data::Int(0)])
            .unwrap(),
        vec![rec(&[("err", s("division by zero"))])]
    );
    assert_eq!(
        sb.call_data("aegis:test/text#upper", &[s("abc")]).unwrap(),
        vec![s("ABC")]
    );
    assert_eq!(
        sb.call_data("aegis:test/text#count", &[s("héllo")])
            .unwrap(),
        vec![Data::Int(5)]
    );
}

#[test]
fn wrong_data_is_a_typed_error() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = load(&runtime, "values.wasm");
    let code =
        |sb: &mut Sandbox, name: &str, args: &[Data]| sb.call_data(name, args).unwrap_err().code();
    assert_eq!(
        code(&mut sb, "echo-u8", &[Data::Int(256)]),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut sb, "echo-u64", &[Data::Int(-1)]),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut sb, "echo-string", &[Data::Int(1)]),
        ErrorCode::SignatureMismatch
    );
    assert_eq!(
        code(&mut sb, "echo-char", &[s("ab")]),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut sb, "echo-enum", &[s("purple")]),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut sb, "echo-flags", &[Data::List(vec![s("fly")])]),
        ErrorCode::InvalidArgument
    );
    let missing = rec(&[("x", Data::Int(1))]);
    assert_eq!(
        code(&mut sb, "echo-record", &[missing]),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut sb, "echo-tuple", &[Data::Tuple(vec![])]),
        ErrorCode::SignatureMismatch
    );
    assert_eq!(
        code(&mut sb, "add", &[Data::Int(1)]),
        ErrorCode::SignatureMismatch
    );
    assert_eq!(code(&mut sb, "nope", &[]), ErrorCode::ExportNotFound);
    let err = sb.call_data("echo-string", &[Data::Int(1)]).unwrap_err();
    assert!(
        err.to_string()
            .contains("argument 1 (v): expected string, got int"),
        "{err}"
    );
    // None of these reached the guest: it still works.
    assert_eq!(
        sb.call_data("add", &[Data::Int(2), Data::Int(3)]).unwrap(),
        vec![Data::Int(5)]
    );
}

#[test]
fn component_calls_run_under_the_call_limits() {
    let runtime = Aegis::builder()
        .with_fuel_limit(50_000_000)
        .with_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut sb = load(&runtime, "values.wasm");
    assert_eq!(
        sb.call_data("spin", &[]).unwrap_err().code(),
        ErrorCode::OutOfFuel
    );
    let mut unlimited = runtime.sandbox().without_fuel_limit().build().unwrap();
    unlimited.load_module(sb.module().unwrap()).unwrap();
    let handle = unlimited.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    assert_eq!(
        unlimited.call_data("spin", &[]).unwrap_err().code(),
        ErrorCode::Interrupted
    );
    t.join().unwrap();
    let mut sb = load(&runtime, "values.wasm");
    let err = sb.call_data("grow", &[Data::Int(10_000)]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MemoryLimitExceeded, "{err}");
    sb.reset().unwrap();
    let out = sb.call_data("make-string", &[Data::Int(1000)]).unwrap();
    assert_eq!(out, vec![s(&"a".repeat(1000))]);
    let m = sb.last_call_metrics();
    assert_eq!(m.calls, 1);
    assert!(m.fuel_consumed > 0);
}

#[test]
fn host_functions_serve_the_plugin_imports() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_file(format!("{OUT}/plugin.wasm")).unwrap();
    let names: Vec<String> = module.imports().iter().map(|i| i.to_string()).collect();
    assert!(
        names.contains(
            &"aegis:test/host#maybe [function]: func(v: option<u32>) -> result<u32, string>".into()
        ),
        "{names:?}"
    );
    let mut sb = runtime.sandbox().build().unwrap();
    let logged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = logged.clone();
    sb.register_component_data("log", move |_, args| {
        sink.lock().unwrap().push(args.to_vec());
        Ok(vec![])
    })
    .unwrap()
    .register_component_data("aegis:test/host#transform", |_, args| match args {
        [Data::Str(t)] if t == "panic" => panic!("asked to panic"),
        [Data::Str(t)] if t == "fail" => Err(HostError::new("asked to fail")),
        [Data::Str(t)] => Ok(vec![Data::Str(format!("<{t}>"))]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap()
    .register_component_func("aegis:test/host#add", |_, args| match args {
        [WitVal::S64(a), WitVal::S64(b)] => Ok(vec![WitVal::S64(a.wrapping_add(*b))]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap()
    .register_component_data("aegis:test/host#describe", |_, args| match args {
        [Data::Record(f)] => Ok(vec![Data::Str(format!("{f:?}"))]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap()
    .register_component_data("aegis:test/host#bytes-len", |_, args| match args {
        [Data::Bytes(b)] => Ok(vec![Data::Int(b.len() as i64)]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap()
    .register_component_data("aegis:test/host#maybe", |_, args| match args {
        [Data::Null] => Ok(vec![rec(&[("err", s("none"))])]),
        [Data::Int(v)] => Ok(vec![rec(&[("ok", Data::Int(v + 1))])]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    assert_eq!(
        sb.call_data("call-transform", &[s("x")]).unwrap(),
        vec![s("<x>")]
    );
    assert_eq!(
        sb.call_data("call-transform-n", &[s("x"), Data::Int(3)])
            .unwrap(),
        vec![s("<<<x>>>")]
    );
    assert_eq!(sb.last_call_metrics().host_calls, 3);
    assert_eq!(
        sb.call_data("call-add", &[Data::BigInt(i64::MAX.into()), Data::Int(1)])
            .unwrap(),
        vec![Data::BigInt(i64::MIN.into())]
    );
    let point = rec(&[("x", Data::Int(1)), ("y", Data::Int(2)), ("label", s("p"))]);
    let described = sb.call_data("call-describe", &[point]).unwrap();
    assert!(
        matches!(&described[0], Data::Str(t) if t.contains("label")),
        "{described:?}"
    );
    assert_eq!(
        sb.call_data("call-bytes-len", &[Data::Bytes(vec![0; 5000])])
            .unwrap(),
        vec![Data::Int(5000)]
    );
    assert_eq!(
        sb.call_data("call-maybe", &[Data::Int(41)]).unwrap(),
        vec![rec(&[("ok", Data::Int(42))])]
    );
    assert_eq!(
        sb.call_data("call-maybe", &[Data::Null]).unwrap(),
        vec![rec(&[("err", s("none"))])]
    );
    sb.call_data("call-log", &[s("hello")]).unwrap();
    assert_eq!(*logged.lock().unwrap(), vec![vec![s("hello")]]);

    for (input, message) in [("panic", "asked to panic"), ("fail", "asked to fail")] {
        let err = sb.call_data("call-transform", &[s(input)]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
        assert!(err.to_string().contains(message), "{err}");
        sb.reset().unwrap();
    }
}

#[test]
fn a_host_function_cannot_take_more_than_the_result_limit_from_the_guest() {
    let runtime = Aegis::builder().with_result_limit(4096).build().unwrap();
    let module = runtime.load_file(format!("{OUT}/plugin.wasm")).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    for name in [
        "log",
        "aegis:test/host#transform",
        "aegis:test/host#add",
        "aegis:test/host#describe",
        "aegis:test/host#maybe",
    ] {
        sb.register_component_data(name, |_, _| Err(HostError::new("unused")))
            .unwrap();
    }
    sb.register_component_data("aegis:test/host#bytes-len", |_, args| match args {
        [Data::Bytes(b)] => Ok(vec![Data::Int(b.len() as i64)]),
        _ => Err(HostError::new("bad arguments")),
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    // 100 list elements take 4000 bytes of host values: within the limit.
    assert_eq!(
        sb.call_data("call-bytes-len", &[Data::Bytes(vec![1; 100])])
            .unwrap(),
        vec![Data::Int(100)]
    );
    let err = sb
        .call_data("call-bytes-len", &[Data::Bytes(vec![1; 200])])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
}

#[test]
fn wave_invocations_reach_every_kind_of_export() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = load(&runtime, "values.wasm");
    let wave = |sb: &mut Sandbox, call: &str| {
        let out = sb.invoke(call).unwrap();
        out.iter()
            .map(|v| aegis_core::wave::to_wave(v).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(wave(&mut sb, r#"greet("world")"#), r#""Hello, world!""#);
    assert_eq!(
        wave(&mut sb, r#"echo-record({x: 1, y: 2, label: "p"})"#),
        r#"{x: 1, y: 2, label: "p"}"#
    );
    assert_eq!(
        wave(&mut sb, "echo-variant(rect({x: 0, y: 0, label: \"\"}))"),
        r#"rect({x: 0, y: 0, label: ""})"#
    );
    assert_eq!(wave(&mut sb, "echo-flags({read, exec})"), "{read, exec}");
    assert_eq!(
        wave(&mut sb, "echo-nested-option(some(none))"),
        "some(none)"
    );
    assert_eq!(wave(&mut sb, "divide(7, 0)"), r#"err("division by zero")"#);
    assert_eq!(wave(&mut sb, r#"aegis:test/text#upper("abc")"#), r#""ABC""#);
    assert_eq!(wave(&mut sb, "nothing()"), "");
}
