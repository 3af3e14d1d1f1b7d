//! What one unit of fuel buys: work whose size the guest chooses costs fuel in
//! proportion to that size, whether wasm code or the host does it.

use aegis_core::{Aegis, Sandbox};

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
