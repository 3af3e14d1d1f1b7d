//! The text of errors people read: a trap's backtrace is headed once, and
//! bytes that are neither wasm nor WAT are named plainly.

use aegis_core::{Error, ErrorCode, Runtime};

const TRAPPING: &str = r#"(module
  (func $inner unreachable)
  (func (export "boom") call $inner))"#;

#[test]
fn a_trap_names_its_backtrace_once() {
    let runtime = Runtime::new().unwrap();
    let module = runtime.load_wat(TRAPPING).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    let err = sandbox.call_dynamic("boom", &[]).unwrap_err();
    let Error::Trap {
        message, backtrace, ..
    } = &err
    else {
        panic!("expected a trap, got {err:?}");
    };
    // The message says what happened once, without wasmtime's own prefix.
    assert_eq!(message, "wasm `unreachable` instruction executed");
    // The backtrace detail is the frames, one per line, innermost first.
    let frames: Vec<&str> = backtrace.lines().collect();
    assert_eq!(frames.len(), 2, "{backtrace}");
    assert!(frames[0].trim_start().starts_with("0:"), "{backtrace}");
    assert!(frames[0].contains("inner"), "{backtrace}");
    assert!(frames[1].trim_start().starts_with("1:"), "{backtrace}");
    // Display: one line of message, one heading, the frames.
    let text = err.to_string();
    assert_eq!(
        text,
        format!("trap: wasm `unreachable` instruction executed\nwasm backtrace:\n{backtrace}")
    );
    assert_eq!(text.matches("backtrace").count(), 1, "{text}");
    assert_eq!(text.matches("trap").count(), 1, "{text}");
    assert!(!text.contains("error while executing"), "{text}");
    assert_eq!(
        err.message(),
        "trap: wasm `unreachable` instruction executed"
    );
}

#[test]
fn bytes_that_are_neither_wasm_nor_wat_are_named_plainly() {
    let runtime = Runtime::new().unwrap();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    for (bytes, expected) in [
        (
            &png[..],
            "starts with bytes 89 50 4e 47 0d 0a 1a 0a … (a PNG image)",
        ),
        (
            b"\x7fELF\x02\x01\x01\0",
            "starts with bytes 7f 45 4c 46 02 01 01 00 (an ELF",
        ),
        (b"", "the input is empty"),
        (&[0xff; 64], "starts with bytes ff ff ff ff ff ff ff ff …"),
        (
            b"hello, world\n",
            "the input is text beginning with \"hello, world\"",
        ),
    ] {
        for err in [
            runtime.load_bytes(bytes).unwrap_err(),
            runtime.validate(bytes).unwrap_err(),
        ] {
            assert_eq!(err.code(), ErrorCode::InvalidModule);
            let text = err.to_string();
            assert!(
                text.starts_with("invalid module: not a WebAssembly module or WAT text: "),
                "{text}"
            );
            assert!(text.contains(expected), "{text}");
            // No WAT parser caret for what is not WAT.
            assert!(!text.contains("-->") && !text.contains('^'), "{text}");
        }
    }
    // The same through a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("picture.wasm");
    std::fs::write(&path, png).unwrap();
    let err = runtime.load_file(&path).unwrap_err();
    assert!(err.to_string().contains("(a PNG image)"), "{err}");
}

#[test]
fn a_wat_syntax_error_keeps_the_parser_caret() {
    let runtime = Runtime::new().unwrap();
    for text in ["(module (fnc))", ";; header\n(module", "\u{feff}(module)"] {
        let err = runtime.load_bytes(text.as_bytes()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidModule);
        let message = err.to_string();
        assert!(
            message.contains("-->") && message.contains('^'),
            "{message}"
        );
        assert!(!message.contains("not a WebAssembly module"), "{message}");
    }
}

#[test]
fn durations_in_messages_are_rounded() {
    let err = Error::Timeout {
        elapsed: std::time::Duration::from_nanos(501_234_567),
        limit: std::time::Duration::from_millis(500),
    };
    assert_eq!(err.to_string(), "timeout: ran for 501 ms, limit 500 ms");
    let err = Error::Interrupted {
        elapsed: std::time::Duration::from_nanos(2_345_678_901),
    };
    assert_eq!(err.to_string(), "interrupted after 2.35 s");
    // Machine-readable details keep the exact value.
    assert_eq!(err.to_json()["elapsed"], serde_json::json!(2.345678901));
}

#[test]
fn a_long_list_of_exports_is_bounded_in_the_message() {
    let available: Vec<String> = (0..1000).map(|i| format!("function_{i}")).collect();
    let err = Error::ExportNotFound {
        name: "main".into(),
        available: available.clone(),
    };
    let text = err.to_string();
    assert!(
        text.contains("(exported functions: function_0, function_1,"),
        "{text}"
    );
    let (listed, more) = text.rsplit_once(", … and ").expect(&text);
    let shown = listed.matches("function_").count();
    assert_eq!(more, format!("{} more)", 1000 - shown), "{text}");
    assert!((50..100).contains(&shown), "{shown}: {text}");
    assert!(text.len() < 1200, "{}", text.len());
    // A few names are listed in full; the detail keeps every name.
    let few = Error::ExportNotFound {
        name: "main".into(),
        available: available[..3].to_vec(),
    };
    assert_eq!(
        few.to_string(),
        "export `main` not found (exported functions: function_0, function_1, function_2)"
    );
    assert_eq!(err.to_json()["available"].as_array().unwrap().len(), 1000);
}
