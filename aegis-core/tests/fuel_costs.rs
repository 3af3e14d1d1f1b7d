//! What one unit of fuel buys: work whose size the guest chooses costs fuel in
//! proportion to that size, whether wasm code or the host does it.

use std::time::{Duration, Instant};

use aegis_core::{Aegis, ErrorCode, Sandbox};

mod common;

/// A guest whose `work(n)` makes one operation of `n` bytes, through wasm's
/// bulk-memory instructions or through WASI.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 64)
  (data $seed "0123456789abcdef")
  (func (export "fill") (param $n i32)
    (memory.fill (i32.const 64) (i32.const 7) (local.get $n)))
  (func (export "copy") (param $n i32)
    (memory.copy (i32.const 64) (i32.const 1048640) (local.get $n)))
  (func (export "write") (param $n i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "random") (param $n i32)
    (drop (call $random (i32.const 64) (local.get $n)))))"#;

fn sandbox() -> Sandbox {
    let rt = Aegis::builder().build().unwrap();
    let module = rt.load_wat(GUEST).unwrap();
    let mut sb = rt.sandbox().build().unwrap();
    sb.load_module(&module).unwrap();
    sb
}

/// Fuel the call `op(n)` consumed.
fn fuel(sb: &mut Sandbox, op: &str, n: i32) -> u64 {
    sb.call::<i32, ()>(op, n).unwrap();
    sb.last_call_metrics().fuel_consumed
}

/// Fuel per byte of `op`, from the difference between a 1 MiB and a 16 byte
/// operation (which removes the call's fixed cost).
fn per_byte(op: &str) -> f64 {
    let mut sb = sandbox();
    let small = fuel(&mut sb, op, 16);
    let big = fuel(&mut sb, op, 1 << 20);
    (big - small) as f64 / f64::from((1 << 20) - 16)
}

#[test]
fn bulk_memory_instructions_cost_one_unit_per_byte() {
    for op in ["fill", "copy"] {
        let cost = per_byte(op);
        assert!((0.99..1.01).contains(&cost), "{op}: {cost} fuel per byte");
    }
}

#[test]
fn writes_cost_one_unit_per_byte_even_to_a_discarded_stdout() {
    let cost = per_byte("write");
    assert!(
        (0.99..1.01).contains(&cost),
        "fd_write: {cost} fuel per byte"
    );
}

#[test]
fn randomness_costs_sixteen_units_per_byte() {
    let cost = per_byte("random");
    assert!(
        (15.9..16.1).contains(&cost),
        "random_get: {cost} fuel per byte"
    );
}

#[test]
fn every_metered_host_call_has_a_fixed_cost() {
    let mut sb = sandbox();
    let wasm_only = fuel(&mut sb, "fill", 0);
    let write = fuel(&mut sb, "write", 0);
    assert!(
        write >= wasm_only + 100,
        "fd_write of 0 bytes: {write} fuel"
    );
}

/// Runs the WASI 0.2 probe with `args` under the default fuel and a 20 s
/// timeout, after `grant` has added capabilities: its outcome, the fuel it
/// used and how long it took.
fn run_component(
    args: &[&str],
    grant: impl FnOnce(aegis_core::SandboxBuilder) -> aegis_core::SandboxBuilder,
) -> (aegis_core::Result<()>, u64, Duration) {
    let rt = Aegis::builder()
        .with_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let module = rt.load_file(common::guest("probe-p2.wasm")).unwrap();
    let argv = std::iter::once("probe").chain(args.iter().copied());
    let mut sb = grant(rt.sandbox().with_args(argv)).build().unwrap();
    sb.load_module(&module).unwrap();
    let start = Instant::now();
    let result = sb.run().map(|_| ());
    (
        result,
        sb.last_call_metrics().fuel_consumed,
        start.elapsed(),
    )
}

/// Endless component loops whose work the host does (1 MiB of randomness,
/// secure or not, per call; 1 MiB writes to a discarded stdout) run out of
/// fuel instead of lasting until the timeout: the default budget for
/// randomness (62 MiB of it), a fifth of it for writes (200 MB, about 3 s in
/// a debug build, whose host copies guest bytes at some 70 MB/s).
#[test]
fn component_host_work_loops_run_out_of_fuel() {
    let default = aegis_core::limits::DEFAULT_FUEL_LIMIT;
    for (op, budget) in [
        ("random", default),
        ("insecure", default),
        ("spam", default / 5),
    ] {
        let (result, fuel, took) = run_component(&[op, "1048576"], |b| b.with_fuel_limit(budget));
        let err = result.expect_err("an endless loop cannot succeed");
        assert_eq!(
            err.code(),
            ErrorCode::OutOfFuel,
            "{op}: {err} after {took:?}"
        );
        assert_eq!(fuel, budget, "{op}");
    }
}

/// Fuel per byte of the component's `op N COUNT`, from the difference between
/// 9 and 1 operations of 1 MiB (which removes the run's fixed cost).
fn component_per_byte(op: &str) -> f64 {
    let n = (1u64 << 20).to_string();
    let fuel = |count: &str| {
        let (result, fuel, _) = run_component(&[op, &n, count], |b| b);
        result.unwrap_or_else(|e| panic!("{op} {n} {count}: {e}"));
        fuel
    };
    let (one, nine) = (fuel("1"), fuel("9"));
    (nine - one) as f64 / (8u64 << 20) as f64
}

#[test]
fn component_randomness_costs_sixteen_units_per_byte() {
    for op in ["random", "insecure"] {
        let cost = component_per_byte(op);
        assert!((15.9..16.2).contains(&cost), "{op}: {cost} fuel per byte");
    }
}

#[test]
fn component_writes_cost_one_unit_per_byte_even_to_a_discarded_stdout() {
    let cost = component_per_byte("spam");
    assert!((0.99..1.2).contains(&cost), "stdout: {cost} fuel per byte");
}

#[test]
fn component_file_reads_cost_one_unit_per_byte() {
    let dir = tempfile::tempdir().unwrap();
    let fuel = |len: usize| {
        let path = dir.path().join(format!("{len}"));
        std::fs::write(&path, vec![b'x'; len]).unwrap();
        let path = path.display().to_string();
        let (result, fuel, _) = run_component(&["size", &path], |b| b.allow_read(dir.path()));
        result.unwrap();
        fuel
    };
    let cost = (fuel((1 << 20) + 16) - fuel(16)) as f64 / f64::from(1 << 20);
    // One unit for the host's read, one for the copy wasi-libc makes from
    // the stream's buffer into the guest's (`memory.copy`).
    assert!(
        (1.95..2.2).contains(&cost),
        "file read: {cost} fuel per byte"
    );
}

#[test]
fn components_without_a_fuel_limit_are_not_charged() {
    // 100 MiB of randomness: 1.6e9 units at the metered rate.
    let (result, _, _) = run_component(&["random", "1048576", "100"], |b| b.without_fuel_limit());
    result.unwrap();
}
