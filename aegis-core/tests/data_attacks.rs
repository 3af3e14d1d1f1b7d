//! Attacks on the data-exchange promises (SECURITY.md, "Data exchange"):
//! hostile guests and careless host callers, from an adversarial review.
//! Each test is named after the promise it attacks.

use std::time::Duration;

use aegis_core::{Aegis, Data, ErrorCode, HostError, Runtime, Sandbox, WitVal};

fn sandbox(runtime: &Runtime, wat: &str) -> Sandbox {
    let module = runtime.load_wat(wat).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/guests/out");

fn guest(runtime: &Runtime, name: &str) -> Option<Sandbox> {
    let path = format!("{OUT}/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: run scripts/build-guests.sh"
    );
    let module = runtime.load_file(path).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    Some(sandbox)
}

/// A bytes guest; `$BODY` is spliced in (extra functions).
fn bytes_guest(body: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (global $frees (mut i32) (i32.const 0))
  (func (export "aegis_alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))
  (func (export "echo") (param $ptr i32) (param $len i32) (result i64)
    (call $pack (local.get $ptr) (local.get $len)))
  (func (export "frees") (result i32) (global.get $frees))
  {body})"#
    )
}

// ---------------------------------------------------------------------------
// Bytes convention
// ---------------------------------------------------------------------------

/// "Output longer than the result limit → result_too_large": exactly at the
/// limit is fine, one byte over is refused; a limit of 0 still allows an
/// empty output.
#[test]
fn bytes_output_exactly_at_the_result_limit() {
    let runtime = Aegis::builder().with_result_limit(5).build().unwrap();
    let mut sb = sandbox(&runtime, &bytes_guest(""));
    assert_eq!(sb.call_bytes("echo", b"12345").unwrap(), b"12345");
    let err = sb.call_bytes("echo", b"123456").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
    let runtime = Aegis::builder().with_result_limit(0).build().unwrap();
    let mut sb = sandbox(&runtime, &bytes_guest(""));
    assert_eq!(sb.call_bytes("echo", b"").unwrap(), b"");
    let err = sb.call_bytes("echo", b"x").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
}

/// A zero-length output at an out-of-bounds pointer: consistent with the
/// canonical ABI (ptr + 0 must still be within memory).
#[test]
fn bytes_empty_output_at_a_wild_pointer() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(
        &runtime,
        &bytes_guest(
            r#"(func (export "wild_empty") (param i32 i32) (result i64)
                 (i64.const 0xFFFFFFF000000000))"#,
        ),
    );
    let out = sb.call_bytes("wild_empty", b"x");
    eprintln!("wild_empty: {out:?}");
    // Either outcome is defensible; it must not panic and must be typed.
    match out {
        Ok(v) => assert!(v.is_empty()),
        Err(e) => assert_eq!(e.code(), ErrorCode::MemoryOutOfBounds, "{e}"),
    }
}

/// An allocator that returns a wild pointer for an empty input.
#[test]
fn bytes_empty_input_with_a_wild_allocator() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = r#"(module (memory (export "memory") 1)
      (func (export "aegis_alloc") (param i32) (result i32) (i32.const -1))
      (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#;
    let mut sb = sandbox(&runtime, wat);
    let r = sb.call_bytes("run", b"");
    eprintln!("wild alloc, empty input: {r:?}");
    match r {
        Ok(v) => assert!(v.is_empty()),
        Err(e) => assert_eq!(e.code(), ErrorCode::MemoryOutOfBounds, "{e}"),
    }
    // A non-empty input at that pointer is refused.
    let err = sb.call_bytes("run", b"x").unwrap_err();
    assert_eq!(err.code(), ErrorCode::MemoryOutOfBounds, "{err}");
}

/// "The exchange runs as one call, under the call's fuel": an aegis_free
/// that spins runs out of fuel, the call fails out_of_fuel, counted once.
#[test]
fn bytes_free_that_spins_is_out_of_fuel_and_one_call() {
    let runtime = Aegis::builder().with_fuel_limit(100_000).build().unwrap();
    let mut sb = sandbox(
        &runtime,
        &bytes_guest(r#"(func (export "aegis_free") (param i32 i32) (loop $l (br $l)))"#),
    );
    let err = sb.call_bytes("echo", b"hello").unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfFuel, "{err}");
    assert_eq!(sb.last_call_metrics().calls, 1);
    // Empty output: aegis_free is not called, so the call succeeds.
    assert_eq!(sb.call_bytes("echo", b"").unwrap(), b"");
}

/// The same under a timeout: the free phase is interruptible.
#[test]
fn bytes_free_that_spins_times_out() {
    let runtime = Aegis::builder()
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut sb = sandbox(
        &runtime,
        &bytes_guest(r#"(func (export "aegis_free") (param i32 i32) (loop $l (br $l)))"#),
    );
    let err = sb.call_bytes("echo", b"hello").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout, "{err}");
}

/// An allocator that spins: the interrupt handle stops the alloc phase.
#[test]
fn bytes_interrupt_during_alloc() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = r#"(module (memory (export "memory") 1)
      (func (export "aegis_alloc") (param i32) (result i32) (loop $l (br $l)) (i32.const 0))
      (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#;
    let mut sb = sandbox(&runtime, wat);
    let handle = sb.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.interrupt();
    });
    let err = sb.call_bytes("run", b"abc").unwrap_err();
    t.join().unwrap();
    assert_eq!(err.code(), ErrorCode::Interrupted, "{err}");
    // The interrupt is consumed: the next call runs normally (and spins
    // again only if interrupted again, so use a fresh guest function).
    let err = sb.call_bytes("nope", b"").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ExportNotFound, "{err}");
}

/// aegis_free that grows memory a lot and writes over the output: the host
/// already has its copy.
#[test]
fn bytes_free_that_grows_and_scribbles_does_not_change_the_output() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(
        &runtime,
        &bytes_guest(
            r#"(func (export "aegis_free") (param $p i32) (param $n i32)
                 (drop (memory.grow (i32.const 10)))
                 (memory.fill (local.get $p) (i32.const 0x21) (local.get $n))
                 (global.set $frees (i32.add (global.get $frees) (i32.const 1))))"#,
        ),
    );
    assert_eq!(sb.call_bytes("echo", b"hello").unwrap(), b"hello");
    assert_eq!(sb.call::<(), i32>("frees", ()).unwrap(), 1);
    assert_eq!(sb.memory().unwrap().size(), 11 * 65536);
}

/// aegis_free that traps: the call fails `trap` (the output is dropped)
/// and the sandbox stays usable for core modules.
#[test]
fn bytes_free_that_traps_then_reuse() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(
        &runtime,
        &bytes_guest(r#"(func (export "aegis_free") (param i32 i32) unreachable)"#),
    );
    let err = sb.call_bytes("echo", b"hello").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Trap, "{err}");
    assert_eq!(sb.call_bytes("echo", b"").unwrap(), b"");
}

/// aegis_alloc with the wrong signature, aegis_free that is not a function,
/// a missing allocator: typed errors, no panic.
#[test]
fn bytes_malformed_conventions_are_typed_errors() {
    let runtime = Aegis::builder().build().unwrap();
    let cases = [
        (
            r#"(module (memory (export "memory") 1)
              (func (export "aegis_alloc") (param i64) (result i32) (i32.const 0))
              (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
            ErrorCode::SignatureMismatch,
        ),
        (
            r#"(module (memory (export "memory") 1)
              (global (export "aegis_free") i32 (i32.const 0))
              (func (export "aegis_alloc") (param i32) (result i32) (i32.const 0))
              (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
            ErrorCode::ExportNotFound,
        ),
        (
            r#"(module (memory (export "memory") 1)
              (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
            ErrorCode::ExportNotFound,
        ),
        (
            r#"(module
              (func (export "aegis_alloc") (param i32) (result i32) (i32.const 0))
              (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
            ErrorCode::ExportNotFound,
        ),
        (
            r#"(module (memory (export "a") 1) (memory (export "b") 1)
              (func (export "aegis_alloc") (param i32) (result i32) (i32.const 0))
              (func (export "run") (param i32 i32) (result i64) (i64.const 0)))"#,
            ErrorCode::ExportNotFound,
        ),
    ];
    for (wat, code) in cases {
        let mut sb = sandbox(&runtime, wat);
        let err = sb.call_bytes("run", b"x").unwrap_err();
        assert!(
            err.code() == code || err.code() == ErrorCode::SignatureMismatch,
            "{wat}: {err}"
        );
    }
}

/// A memory64 guest: reads at offsets past 4 GiB are out of bounds, 64-bit
/// offsets do not wrap.
#[test]
fn memory64_offsets_do_not_wrap() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, r#"(module (memory (export "memory") i64 1))"#);
    let mut mem = sb.memory().unwrap();
    assert_eq!(mem.size(), 65536);
    for (off, len) in [
        (1u64 << 32, 1u64),
        (u64::MAX - 1, 4),
        ((1 << 32) + 10, 0),
        (65530, 7),
    ] {
        let err = mem.read(off, len).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MemoryOutOfBounds, "{off} {len}");
        let err = mem.write(off, &vec![0; len as usize]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MemoryOutOfBounds, "{off} {len}");
    }
}

/// call_bytes on a component, memory() on a component: invalid_argument.
#[test]
fn bytes_calls_on_a_component_are_refused() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, ECHO_COMPONENT);
    assert_eq!(
        sb.call_bytes("echo", b"x").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        sb.memory().err().unwrap().code(),
        ErrorCode::InvalidArgument
    );
}

/// Metrics: the whole exchange (alloc, call, free) is one call, and host
/// calls from each phase are counted.
#[test]
fn bytes_exchange_counts_one_call_and_every_host_call() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = r#"(module
      (import "h" "tick" (func $tick))
      (memory (export "memory") 1)
      (func (export "aegis_alloc") (param i32) (result i32) (call $tick) (i32.const 64))
      (func (export "aegis_free") (param i32 i32) (call $tick))
      (func (export "run") (param $p i32) (param $n i32) (result i64)
        (call $tick)
        (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
                (i64.extend_i32_u (local.get $n)))))"#;
    let module = runtime.load_wat(wat).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_func("h", "tick", || {}).unwrap();
    sb.load_module(&module).unwrap();
    let before = sb.metrics().calls;
    assert_eq!(sb.call_bytes("run", b"abc").unwrap(), b"abc");
    let m = sb.last_call_metrics();
    assert_eq!(m.calls, 1);
    assert_eq!(m.host_calls, 3);
    assert_eq!(sb.metrics().calls, before + 1);
}

// ---------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------

/// `echo: func(s: string) -> string` with a bump realloc.
const ECHO_COMPONENT: &str = r#"(component
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
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc")))))"#;

/// A component whose one export `f` has params `params`, result `result`,
/// and whose core function body is `body` (core params/results given).
fn component(
    types: &str,
    params: &str,
    result: &str,
    core_sig: &str,
    body: &str,
    realloc: &str,
    lift_opts: &str,
) -> String {
    format!(
        r#"(component
  {types}
  (core module $m
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) {realloc})
    (func (export "f") {core_sig} {body}))
  (core instance $i (instantiate $m))
  (func (export "f") {params} {result}
    (canon lift (core func $i "f") (memory (core memory $i "memory")) (realloc (core func $i "realloc")) {lift_opts})))"#
    )
}

const BUMP: &str = "(i32.const 1024)";

/// "an allocator returning a bad pointer is invalid_result (a component)":
/// realloc returns a pointer past the end of memory while the host lowers a
/// string argument.
#[test]
fn component_realloc_out_of_bounds_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = component(
        "",
        r#"(param "s" string)"#,
        r#"(result u32)"#,
        "(param i32 i32) (result i32)",
        "(local.get 1)",
        "(i32.const 0x7FFFFFF0)",
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb.call_data("f", &[Data::Str("hello".into())]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResult, "{err}");
}

/// Same with a misaligned pointer for a list<u32> argument.
#[test]
fn component_realloc_misaligned_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = component(
        "",
        r#"(param "l" (list u32))"#,
        r#"(result u32)"#,
        "(param i32 i32) (result i32)",
        "(local.get 1)",
        "(i32.const 1025)",
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb
        .call_data("f", &[Data::List(vec![Data::Int(1), Data::Int(2)])])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResult, "{err}");
}

/// Realloc that traps: the call fails `trap`, not a panic.
#[test]
fn component_realloc_that_traps() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = component(
        "",
        r#"(param "s" string)"#,
        r#"(result u32)"#,
        "(param i32 i32) (result i32)",
        "(local.get 1)",
        "unreachable",
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb.call_data("f", &[Data::Str("hello".into())]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Trap, "{err}");
}

/// "a string that is not UTF-8 ... is invalid_result": a char result that
/// is a surrogate or past 0x10FFFF.
#[test]
fn component_char_not_a_scalar_value_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    for bad in ["0xD800", "0x110000", "-1"] {
        let wat = component(
            "",
            "",
            "(result char)",
            "(result i32)",
            &format!("(i32.const {bad})"),
            BUMP,
            "",
        );
        let mut sb = sandbox(&runtime, &wat);
        let err = sb.call_data("f", &[]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResult, "{bad}: {err}");
    }
}

/// A variant / enum / option / result with a discriminant past its cases.
#[test]
fn component_unknown_discriminant_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    let cases = [
        (
            r#"(type $e (enum "a" "b")) (export $e2 "e" (type $e))"#,
            "(result $e2)",
        ),
        (r#""#, "(result (option u32))"),
        (r#""#, "(result (result u32 (error u32)))"),
    ];
    for (types, result) in cases {
        // Results with a payload go through memory: return a pointer to
        // discriminant 7.
        let wat = component(
            types,
            "",
            result,
            "(result i32)",
            "(i32.store (i32.const 64) (i32.const 7)) (if (result i32) (i32.const 1) (then (i32.const 64)) (else (i32.const 0)))",
            BUMP,
            "",
        );
        let wat = if types.contains("enum") {
            wat.replace(
                "(i32.store (i32.const 64) (i32.const 7)) (if (result i32) (i32.const 1) (then (i32.const 64)) (else (i32.const 0)))",
                "(i32.const 7)",
            )
        } else {
            wat
        };
        let mut sb = sandbox(&runtime, &wat);
        let err = sb.call_data("f", &[]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResult, "{result}: {err}");
    }
}

/// Flags with bits set past the declared flags.
#[test]
fn component_flags_with_unknown_bits() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = component(
        r#"(type $f (flags "r" "w" "x")) (export $f2 "perms" (type $f))"#,
        "",
        "(result $f2)",
        "(result i32)",
        "(i32.const 0xFF)",
        BUMP,
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let r = sb.call_data("f", &[]);
    eprintln!("flags 0xFF: {r:?}");
    match r {
        Ok(v) => assert_eq!(
            v,
            vec![Data::List(vec![
                Data::Str("r".into()),
                Data::Str("w".into()),
                Data::Str("x".into())
            ])]
        ),
        Err(e) => assert_eq!(e.code(), ErrorCode::InvalidResult, "{e}"),
    }
}

/// A string result whose bytes lie outside memory, or whose length wraps.
#[test]
fn component_string_result_out_of_bounds_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    for (ptr, len) in [("0xFFFFFFF0", "0x20"), ("65530", "10"), ("0", "0xFFFFFFFF")] {
        let wat = component(
            "",
            "",
            "(result string)",
            "(result i32)",
            &format!(
                "(i32.store (i32.const 0) (i32.const {ptr})) (i32.store (i32.const 4) (i32.const {len})) (i32.const 0)"
            ),
            BUMP,
            "",
        );
        let mut sb = sandbox(&runtime, &wat);
        let err = sb.call_data("f", &[]).unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::InvalidResult | ErrorCode::ResultTooLarge
            ),
            "{ptr} {len}: {err}"
        );
    }
}

/// "a component's values by the host memory wasmtime's conversion takes (a
/// string its bytes ...)": with string-encoding=latin1+utf16 (or utf16),
/// the guest's bytes are counted but the host's UTF-8 copy can be larger.
#[test]
fn component_utf16_and_latin1_strings_respect_the_result_limit() {
    // 4096 bytes in guest memory at offset 4096.
    let limit = 4096u64;
    let runtime = Aegis::builder().with_result_limit(limit).build().unwrap();
    // latin1: 4096 bytes of 0xFF -> 8192 bytes of UTF-8.
    let latin1 = component(
        "",
        "",
        "(result string)",
        "(result i32)",
        "(memory.fill (i32.const 4096) (i32.const 0xFF) (i32.const 4096))
         (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 4096)) (i32.const 0)",
        BUMP,
        "string-encoding=latin1+utf16",
    );
    // utf16: 2048 code units of U+FFFF (4096 bytes) -> 6144 bytes of UTF-8.
    let utf16 = component(
        "",
        "",
        "(result string)",
        "(result i32)",
        "(memory.fill (i32.const 4096) (i32.const 0xFF) (i32.const 4096))
         (i32.store (i32.const 0) (i32.const 4096)) (i32.store (i32.const 4) (i32.const 2048)) (i32.const 0)",
        BUMP,
        "string-encoding=utf16",
    );
    let mut report = Vec::new();
    for (name, wat) in [("latin1+utf16", latin1), ("utf16", utf16)] {
        let mut sb = sandbox(&runtime, &wat);
        match sb.call_data("f", &[]) {
            Ok(v) => {
                let Data::Str(s) = &v[0] else { panic!() };
                report.push(format!(
                    "{name}: host holds {} bytes of string under a limit of {limit}",
                    s.len()
                ));
                // SECURITY.md: transcoding to UTF-8 may take up to three
                // times what the guest's encoding counted.
                assert!(s.len() as u64 <= 3 * limit, "{}", report.last().unwrap());
            }
            Err(e) => assert_eq!(e.code(), ErrorCode::ResultTooLarge, "{name}: {e}"),
        }
    }
    eprintln!("{report:?}");
}

/// "a component's values ... for an export's results": a list<u8> of 1M
/// elements takes 40 MB of Vals: refused at a 1 MiB limit, before allocating.
#[test]
fn component_huge_list_result_is_refused_before_allocation() {
    let runtime = Aegis::builder().with_result_limit(1 << 20).build().unwrap();
    let wat = component(
        "",
        "",
        "(result (list u8))",
        "(result i32)",
        "(i32.store (i32.const 0) (i32.const 0)) (i32.store (i32.const 4) (i32.const 65536)) (i32.const 0)",
        BUMP,
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb.call_data("f", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
}

/// A list of records: each record field is also counted.
#[test]
fn component_list_of_records_counts_fields() {
    // list<tuple<u8,u8,u8,u8>>, 4096 elements: 4096 * (40 + 4*40) = 800 KiB.
    let runtime = Aegis::builder().with_result_limit(100_000).build().unwrap();
    let wat = component(
        "",
        "",
        "(result (list (tuple u8 u8 u8 u8)))",
        "(result i32)",
        "(i32.store (i32.const 0) (i32.const 0)) (i32.store (i32.const 4) (i32.const 4096)) (i32.const 0)",
        BUMP,
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb.call_data("f", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
}

/// The brief says any error inside a call leaves the component unable to
/// be entered again (`cannot_enter_component`). Observed: a result that
/// fails to lift (invalid_result) does not poison it; the next call runs.
#[test]
fn component_result_abi_violation_does_not_poison_the_instance() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = component(
        "",
        "",
        "(result char)",
        "(result i32)",
        "(i32.const 0xD800)",
        BUMP,
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    assert_eq!(
        sb.call_data("f", &[]).unwrap_err().code(),
        ErrorCode::InvalidResult
    );
    let err = sb.call_data("f", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResult, "second call: {err}");
}

// ---------------------------------------------------------------------------
// Host functions for component imports (guest -> host direction)
// ---------------------------------------------------------------------------

/// A component importing `take: func(s: string) -> u32` and
/// `take-list: func(l: list<u32>) -> u32`; exports `send(ptr, len)`
/// variants calling them with guest-chosen pointers.
const IMPORTER: &str = r#"(component
  (import "take" (func $take (param "s" string) (result u32)))
  (import "take-list" (func $take_list (param "l" (list u32)) (result u32)))
  (core module $mem
    (memory (export "memory") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024)))
  (core instance $mi (instantiate $mem))
  (core func $t (canon lower (func $take) (memory (core memory $mi "memory"))))
  (core func $tl (canon lower (func $take_list) (memory (core memory $mi "memory"))))
  (core module $m
    (import "env" "memory" (memory 1))
    (import "env" "take" (func $take (param i32 i32) (result i32)))
    (import "env" "take_list" (func $take_list (param i32 i32) (result i32)))
    (func (export "send") (param $p i32) (param $n i32) (result i32)
      (call $take (local.get $p) (local.get $n)))
    (func (export "send-list") (param $p i32) (param $n i32) (result i32)
      (call $take_list (local.get $p) (local.get $n)))
    (func (export "bad-utf8") (result i32)
      (i32.store (i32.const 16) (i32.const 0xc080feff))
      (call $take (i32.const 16) (i32.const 4))))
  (core instance $i (instantiate $m (with "env" (instance
    (export "memory" (memory $mi "memory"))
    (export "take" (func $t))
    (export "take_list" (func $tl))))))
  (func (export "send") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $i "send")))
  (func (export "send-list") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $i "send-list")))
  (func (export "bad-utf8") (result u32) (canon lift (core func $i "bad-utf8"))))"#;

fn importer(runtime: &Runtime) -> Sandbox {
    let module = runtime.load_wat(IMPORTER).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("take", |_, args| match args {
        [Data::Str(s)] => Ok(vec![Data::Int(s.len() as i64)]),
        _ => Err(HostError::new("bad")),
    })
    .unwrap();
    sb.register_component_data("take-list", |_, args| match args {
        [Data::List(l)] => Ok(vec![Data::Int(l.len() as i64)]),
        _ => Err(HostError::new("bad")),
    })
    .unwrap();
    sb.load_module(&module).unwrap();
    sb
}

/// Guest -> host: invalid UTF-8 in a host function's string argument.
#[test]
fn component_invalid_utf8_to_a_host_function_is_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = importer(&runtime);
    let err = sb.call_data("bad-utf8", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidResult, "{err}");
    assert_eq!(sb.last_call_metrics().host_calls, 0);
    // Poisoned; reset, then it works.
    let err = sb
        .call_data("send", &[Data::Int(0), Data::Int(3)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Trap, "{err}");
    sb.reset().unwrap();
    assert_eq!(
        sb.call_data("send", &[Data::Int(0), Data::Int(3)]).unwrap(),
        vec![Data::Int(3)]
    );
}

/// Guest -> host: out-of-bounds / wrapping string and list arguments.
#[test]
fn component_wild_pointers_to_a_host_function_are_invalid_result() {
    let runtime = Aegis::builder().build().unwrap();
    for (f, p, n) in [
        ("send", 0xFFFF_FFF0i64, 0x20i64),
        ("send", 65530, 10),
        ("send-list", 0xFFFF_FFF0, 8),
        ("send-list", 65532, 2),
        ("send-list", 2, 1), // misaligned list<u32>
    ] {
        let mut sb = importer(&runtime);
        let err = sb.call_data(f, &[Data::Int(p), Data::Int(n)]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidResult, "{f} {p} {n}: {err}");
    }
}

/// "Also bounds the values a component passes to a host function": a list
/// of 16384 u32 (64 KiB of guest memory, 640 KiB of Vals) at a 100 KB limit.
#[test]
fn component_huge_list_to_a_host_function_is_result_too_large() {
    let runtime = Aegis::builder().with_result_limit(100_000).build().unwrap();
    let mut sb = importer(&runtime);
    let err = sb
        .call_data("send-list", &[Data::Int(0), Data::Int(16384)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
    // A length whose byte size overflows 32 bits.
    let mut sb = importer(&runtime);
    let err = sb
        .call_data("send-list", &[Data::Int(0), Data::Int(0x4000_0001)])
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            ErrorCode::InvalidResult | ErrorCode::ResultTooLarge
        ),
        "{err}"
    );
}

/// A component host function that panics, then the sandbox is reused.
#[test]
fn component_host_panic_then_reuse_and_reset() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(IMPORTER).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("take", |_, _| panic!("boom"))
        .unwrap();
    sb.register_component_data("take-list", |_, _| Ok(vec![Data::Int(0)]))
        .unwrap();
    sb.load_module(&module).unwrap();
    let err = sb
        .call_data("send", &[Data::Int(0), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
    let err = sb
        .call_data("send-list", &[Data::Int(0), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.details()[0].1, "cannot_enter_component".into(), "{err}");
    sb.reset().unwrap();
    assert_eq!(
        sb.call_data("send-list", &[Data::Int(0), Data::Int(1)])
            .unwrap(),
        vec![Data::Int(0)]
    );
}

/// A host function returning a value out of range for its result type.
#[test]
fn component_host_result_out_of_range_is_host_function() {
    let runtime = Aegis::builder().build().unwrap();
    let module = runtime.load_wat(IMPORTER).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("take", |_, _| Ok(vec![Data::BigInt(1 << 40)]))
        .unwrap();
    sb.register_component_data("take-list", |_, _| Ok(vec![Data::Float(1.5)]))
        .unwrap();
    sb.load_module(&module).unwrap();
    let err = sb
        .call_data("send", &[Data::Int(0), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
    sb.reset().unwrap();
    let err = sb
        .call_data("send-list", &[Data::Int(0), Data::Int(1)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::HostFunction, "{err}");
}

// ---------------------------------------------------------------------------
// Host-side inputs: Data, Val and WAVE from a careless or hostile caller
// ---------------------------------------------------------------------------

fn nested_list(depth: usize) -> Data {
    let mut d = Data::Int(1);
    for _ in 0..depth {
        d = Data::List(vec![d]);
    }
    d
}

/// A Data value nested 10 000 deep given to call_data: conversion is
/// guided by the WIT type (≤ 100 deep), so it fails fast without recursing.
#[test]
fn call_data_with_a_10000_deep_value_does_not_overflow_the_stack() {
    let values = guest_or_skip();
    let Some(mut sb) = values else { return };
    // call_data takes its arguments by value: the core drops them.
    let err = sb
        .call_data("echo-nested", vec![nested_list(10_000)])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch, "{err}");
}

/// The same for a Val given to call_component.
#[test]
fn call_component_with_a_10000_deep_val_does_not_overflow_the_stack() {
    let Some(mut sb) = guest_or_skip() else {
        return;
    };
    let mut v = WitVal::U32(1);
    for _ in 0..10_000 {
        v = WitVal::List(vec![v]);
    }
    let mut args = [v];
    let err = sb.call_component("echo-nested", &args).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureMismatch, "{err}");
    let mut v = std::mem::replace(&mut args[0], WitVal::Bool(false));
    loop {
        match v {
            WitVal::List(mut l) if !l.is_empty() => v = l.pop().unwrap(),
            _ => break,
        }
    }
}

fn guest_or_skip() -> Option<Sandbox> {
    let runtime = Aegis::builder().build().unwrap();
    guest(&runtime, "values.wasm")
}

/// WAVE text nested 100 000 deep: wasm-wave's parser limits depth to 100.
#[test]
fn invoke_with_deeply_nested_wave_does_not_overflow_the_stack() {
    let Some(mut sb) = guest_or_skip() else {
        return;
    };
    for (open, close) in [("[", "]"), ("(", ")"), ("some(", ")"), ("{x: ", "}")] {
        let text = format!(
            "echo-nested({}1{})",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        let err = sb.invoke(&text).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{open}");
        assert!(err.to_string().len() < 10_000, "bounded message");
    }
    // Unterminated, and typed from_wave.
    let text = format!("echo-nested({}", "[".repeat(1_000_000));
    assert_eq!(
        sb.invoke(&text).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    let ty = sb.component_func_type("echo-nested").unwrap();
    let (_, t) = ty.params().next().unwrap();
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(aegis_core::wave::from_wave(&t, &text).is_err());
}

/// Huge WAVE text (a 20 MB string literal) is parsed and checked against
/// the result limit only on the way back.
#[test]
fn invoke_with_a_huge_string() {
    let Some(mut sb) = guest_or_skip() else {
        return;
    };
    let text = format!("echo-string(\"{}\")", "a".repeat(20 << 20));
    let out = sb.invoke(&text).unwrap();
    assert_eq!(out.len(), 1);
    // Weird names: no panic.
    for call in [
        "",
        "(",
        ")",
        "#",
        "#(",
        "é(",
        "echo-string(\"é",
        "echo-string)(",
        "aegis:test/text#",
        "aegis:test/text#upper(\"a\"",
        "echo-string(\"\\u{D800}\")",
        "echo-char('\\u{110000}')",
    ] {
        let _ = sb.invoke(call);
    }
}

/// option<option<u32>> round-trips through Data: none, some(none),
/// some(some(x)); a bare value for the outer option is some(some(x)).
#[test]
fn nested_options_round_trip() {
    let Some(mut sb) = guest_or_skip() else {
        return;
    };
    let some = |d: Data| Data::Record(vec![("some".into(), d)]);
    for d in [Data::Null, some(Data::Null), some(Data::Int(5))] {
        assert_eq!(
            sb.call_data("echo-nested-option", vec![d.clone()]).unwrap(),
            vec![d]
        );
    }
    assert_eq!(
        sb.call_data("echo-nested-option", vec![Data::Int(5)])
            .unwrap(),
        vec![some(Data::Int(5))]
    );
    // Wrong shapes are typed errors.
    for d in [
        Data::Record(vec![("none".into(), Data::Null)]),
        Data::Record(vec![]),
        Data::Record(vec![
            ("some".into(), Data::Null),
            ("some".into(), Data::Null),
        ]),
        some(some(some(Data::Int(1)))),
    ] {
        let err = sb
            .call_data("echo-nested-option", vec![d.clone()])
            .unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::SignatureMismatch | ErrorCode::InvalidArgument
            ),
            "{d:?}: {err}"
        );
    }
}

/// Host-given values of the wrong shape for variants, enums, flags, chars.
#[test]
fn hostile_host_values_are_typed_errors() {
    let Some(mut sb) = guest_or_skip() else {
        return;
    };
    let bad: Vec<(&str, Data)> = vec![
        ("echo-variant", Data::Str("nope".into())),
        ("echo-variant", Data::Str("circle".into())), // needs a payload
        (
            "echo-variant",
            Data::Record(vec![("empty".into(), Data::Int(1))]),
        ),
        ("echo-enum", Data::Str("x".repeat(1 << 20))),
        ("echo-flags", Data::List(vec![Data::Str("root".into())])),
        ("echo-flags", Data::List(vec![Data::Int(1)])),
        ("echo-char", Data::Str("".into())),
        ("echo-char", Data::Str("ab".into())),
        ("echo-u8", Data::Int(-1)),
        ("echo-u64", Data::BigInt(-1)),
        ("echo-u64", Data::BigInt(i128::MAX)),
        ("echo-s64", Data::BigInt(i128::MIN)),
        ("echo-bytes", Data::List(vec![Data::Int(256)])),
        ("echo-record", Data::Record(vec![])),
        ("echo-tuple", Data::Tuple(vec![Data::Int(1)])),
        (
            "echo-result",
            Data::Record(vec![("maybe".into(), Data::Null)]),
        ),
    ];
    for (f, d) in bad {
        let err = sb.call_data(f, vec![d.clone()]).unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::SignatureMismatch | ErrorCode::InvalidArgument
            ),
            "{f}: {err}"
        );
        assert!(err.to_string().len() < 20_000, "{f}: message is bounded");
    }
    // Duplicated flags are accepted once.
    let out = sb
        .call_data(
            "echo-flags",
            vec![Data::List(vec![
                Data::Str("read".into()),
                Data::Str("read".into()),
            ])],
        )
        .unwrap();
    assert_eq!(out, vec![Data::List(vec![Data::Str("read".into())])]);
    // A Val of an unknown enum case / flag name given to call_component.
    for (f, v) in [
        ("echo-enum", WitVal::Enum("purple".into())),
        ("echo-flags", WitVal::Flags(vec!["root".into()])),
        ("echo-variant", WitVal::Variant("nope".into(), None)),
        (
            "echo-variant",
            WitVal::Variant("empty".into(), Some(Box::new(WitVal::U8(1)))),
        ),
    ] {
        let err = sb.call_component(f, &[v]).unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::SignatureMismatch | ErrorCode::InvalidArgument
            ),
            "{f}: {err}"
        );
    }
    // And the sandbox is not poisoned by host-side refusals.
    assert_eq!(
        sb.call_data("add", vec![Data::Int(1), Data::Int(2)])
            .unwrap(),
        vec![Data::Int(3)]
    );
}

// ---------------------------------------------------------------------------
// Refusals, core modules through call_data, error details
// ---------------------------------------------------------------------------

/// on_denied="error" during the free phase: the exchange is one call, so
/// a refusal in aegis_free fails it with permission_denied (the output is
/// dropped); with the default (errno) it succeeds and is recorded.
#[test]
fn bytes_refusal_in_aegis_free_follows_on_denied() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "clock_time_get" (func $t (param i32 i64 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "aegis_alloc") (param i32) (result i32) (i32.const 64))
      (func (export "aegis_free") (param i32 i32)
        (drop (call $t (i32.const 0) (i64.const 1) (i32.const 0))))
      (func (export "run") (param $p i32) (param $n i32) (result i64)
        (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
                (i64.extend_i32_u (local.get $n)))))"#;
    let runtime = Aegis::builder()
        .with_on_denied(aegis_core::OnDenied::Error)
        .build()
        .unwrap();
    let mut sb = sandbox(&runtime, wat);
    let err = sb.call_bytes("run", b"abc").unwrap_err();
    assert_eq!(err.code(), ErrorCode::PermissionDenied, "{err}");
    let runtime = Aegis::builder().build().unwrap();
    let mut sb = sandbox(&runtime, wat);
    assert_eq!(sb.call_bytes("run", b"abc").unwrap(), b"abc");
    assert_eq!(sb.last_call_metrics().denied_count, 1);
}

/// call_data on a core module: kinds a core function cannot take are
/// signature_mismatch, integers out of range invalid_argument, no panic.
#[test]
fn call_data_on_a_core_module_is_typed() {
    let runtime = Aegis::builder().build().unwrap();
    let wat = r#"(module
      (func (export "i32") (param i32) (result i32) (local.get 0))
      (func (export "i64") (param i64) (result i64) (local.get 0))
      (func (export "f32") (param f32) (result f32) (local.get 0))
      (func (export "v128") (result v128) (v128.const i64x2 0 0))
      (func (export "ref") (param externref)))"#;
    let mut sb = sandbox(&runtime, wat);
    assert_eq!(
        sb.call_data("i64", vec![Data::BigInt(-5)]).unwrap(),
        vec![Data::BigInt(-5)]
    );
    for (f, d) in [
        ("i32", Data::Str("1".into())),
        ("i32", Data::Null),
        ("i32", Data::List(vec![])),
        ("i32", Data::BigInt(i128::MAX)),
        ("i32", Data::BigInt(1 << 40)),
        ("i64", Data::BigInt(i128::MIN)),
        ("f32", Data::Bytes(vec![1])),
        ("ref", Data::Null),
    ] {
        let err = sb.call_data(f, vec![d.clone()]).unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::SignatureMismatch | ErrorCode::InvalidArgument
            ),
            "{f} {d:?}: {err}"
        );
    }
    let err = sb.call_data("v128", vec![]).unwrap_err();
    assert!(
        matches!(
            err.code(),
            ErrorCode::SignatureMismatch | ErrorCode::InvalidArgument
        ),
        "{err}"
    );
}

/// A component result over the limit reports size = limit + 1, not the
/// real size (which wasmtime never computes): the message "67108865 bytes"
/// looks exact. Documented here; cosmetic.
#[test]
fn component_result_too_large_reports_a_lower_bound() {
    let runtime = Aegis::builder().with_result_limit(1000).build().unwrap();
    let wat = component(
        "",
        "",
        "(result (list u8))",
        "(result i32)",
        "(i32.store (i32.const 0) (i32.const 0)) (i32.store (i32.const 4) (i32.const 60000)) (i32.const 0)",
        BUMP,
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    let err = sb.call_data("f", &[]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
    eprintln!("reported: {err} / details {:?}", err.details());
}

/// A component host function returning a huge value (host -> guest) is not
/// limited (the host already holds it); a component that takes one from a
/// host function and returns it to the host is limited on the way out.
#[test]
fn host_to_guest_values_are_not_limited_but_results_are() {
    let runtime = Aegis::builder().with_result_limit(1 << 20).build().unwrap();
    let module = runtime.load_wat(IMPORTER).unwrap();
    let mut sb = runtime.sandbox().build().unwrap();
    sb.register_component_data("take", |_, _| Ok(vec![Data::Int(1)]))
        .unwrap();
    sb.register_component_data("take-list", |_, _| Ok(vec![Data::Int(1)]))
        .unwrap();
    sb.load_module(&module).unwrap();
    // A 4 MB string argument (host -> guest) is fine at a 1 MiB limit.
    let wat = component(
        "",
        r#"(param "s" string)"#,
        "(result u32)",
        "(param i32 i32) (result i32)",
        "(local.get 1)",
        "(local $p i32) (drop (memory.grow (i32.add (i32.const 1) (i32.shr_u (local.get 3) (i32.const 16))))) (i32.const 65536)",
        "",
    );
    let mut sb = sandbox(&runtime, &wat);
    assert_eq!(
        sb.call_data("f", vec![Data::Str("x".repeat(4 << 20))])
            .unwrap(),
        vec![Data::Int(4 << 20)]
    );
}

/// SECURITY.md: the result limit bounds every value a component hands the
/// host in one host call, WASI's included (a stream write of N bytes takes
/// N), and exceeding it is `result_too_large`.
#[test]
fn result_limit_also_caps_wasi_p2_calls() {
    let path = format!("{OUT}/probe-p2.wasm");
    let run = |limit: u64| {
        let runtime = Aegis::builder()
            .with_result_limit(limit)
            .with_args(["probe", "env", "some", "arguments", "to", "print"])
            .build()
            .unwrap();
        let module = runtime.load_file(&path).unwrap();
        let mut sb = runtime.sandbox().build().unwrap();
        sb.load_module(&module).unwrap();
        sb.run()
    };
    assert!(run(1 << 20).is_ok());
    let err = run(16).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResultTooLarge, "{err}");
    assert!(
        err.to_string().contains("more than the limit of 16 bytes"),
        "{err}"
    );
}
