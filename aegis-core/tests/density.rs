//! Sandboxes whose memories share arena mappings (`aegis-core/src/arena.rs`):
//! more live sandboxes than one kernel mapping per memory would allow, and
//! hostile guests against the bounds checks and the zeroing that the arena
//! relies on (a slot's bytes past the memory's size are mapped; a released
//! slot is reused by the next sandbox).

use aegis_core::{Aegis, Error, Runtime, Sandbox, TrapCode, Value};

const PAGE: i64 = 65536;

/// A guest with memory `memory` (e.g. `1`, `1 1`, `i64 1`) whose exports
/// take addresses of type `idx` (`i32`, or `i64` for memory64).
fn probe(memory: &str, idx: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") {memory})
  (data ({idx}.const 100) "hello")
  (func (export "load8") (param {idx}) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param {idx}) (result i32) (i32.load (local.get 0)))
  (func (export "load64") (param {idx}) (result i64) (i64.load (local.get 0)))
  (func (export "load_off") (param {idx}) (result i32) (i32.load8_u offset=65536 (local.get 0)))
  (func (export "load_huge") (param {idx}) (result i32) (i32.load offset=0xfffffff0 (local.get 0)))
  (func (export "store8") (param {idx} i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "store64") (param {idx} i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "grow") (param {idx}) (result {idx}) (memory.grow (local.get 0)))
  (func (export "size") (result {idx}) (memory.size))
  (func (export "copy") (param {idx} {idx} {idx})
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param {idx} i32 {idx})
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  ;; The number of nonzero bytes in [from, to).
  (func (export "nonzero") (param {idx} {idx}) (result i64) (local i64)
    (block $done (loop $next
      (br_if $done ({idx}.ge_u (local.get 0) (local.get 1)))
      (if (i32.load8_u (local.get 0))
        (then (local.set 2 (i64.add (local.get 2) (i64.const 1)))))
      (local.set 0 ({idx}.add (local.get 0) ({idx}.const 1)))
      (br $next)))
    (local.get 2)))"#
    )
}

/// Every memory shape whose code generation differs: growable, fixed size
/// (wasmtime checks such memories against their reservation instead of
/// their size unless told otherwise), a maximum below the reservation, and
/// memory64.
const SHAPES: [(&str, &str); 4] = [
    ("1", "i32"),
    ("1 1", "i32"),
    ("1 4", "i32"),
    ("i64 1", "i64"),
];

/// A sandbox of `runtime` holding the probe guest of `shape`.
fn sandbox(runtime: &Runtime, (memory, idx): (&str, &str)) -> Sandbox {
    let module = runtime.load_wat(&probe(memory, idx)).unwrap();
    let mut sandbox = runtime.sandbox().build().unwrap();
    sandbox.load_module(&module).unwrap();
    sandbox
}

/// An address argument of the probe's index type.
fn addr(idx: &str, at: i64) -> Value {
    match idx {
        "i64" => Value::I64(at),
        _ => Value::I32(at as i32),
    }
}

/// Calls `name` with addresses `at` (the probe's index type) and `extra`.
fn call(
    sandbox: &mut Sandbox,
    idx: &str,
    name: &str,
    at: &[i64],
    extra: &[Value],
) -> Result<Vec<Value>, Error> {
    let mut args: Vec<Value> = at.iter().map(|&a| addr(idx, a)).collect();
    args.extend_from_slice(extra);
    sandbox.call_dynamic(name, &args)
}

fn assert_oob(result: Result<Vec<Value>, Error>, what: &str) {
    match result {
        Err(Error::Trap {
            code: TrapCode::MemoryOutOfBounds,
            ..
        }) => {}
        other => panic!("{what}: expected memory_out_of_bounds, got {other:?}"),
    }
}

fn assert_ok(result: Result<Vec<Value>, Error>, what: &str) -> Vec<Value> {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Loads and stores at the last byte, at the size and past it, with huge
/// offsets and huge indices, and bulk operations across the end: in bounds
/// works, the rest traps, for every memory shape.
#[test]
fn accesses_past_the_size_trap() {
    let runtime = Runtime::new().unwrap();
    for shape in SHAPES {
        let (_, idx) = shape;
        let mut s = sandbox(&runtime, shape);
        let c = |s: &mut Sandbox, name: &str, at: &[i64], extra: &[Value]| {
            call(s, idx, name, at, extra)
        };
        let len = PAGE;
        let what = |w: &str| format!("{shape:?} {w}");
        assert_ok(c(&mut s, "load8", &[len - 1], &[]), &what("load8 len-1"));
        assert_ok(c(&mut s, "load32", &[len - 4], &[]), &what("load32 len-4"));
        assert_ok(c(&mut s, "load64", &[len - 8], &[]), &what("load64 len-8"));
        let stored = c(&mut s, "store8", &[len - 1], &[Value::I32(9)]);
        assert_ok(stored, &what("store8 len-1"));
        assert_oob(c(&mut s, "load8", &[len], &[]), &what("load8 len"));
        assert_oob(c(&mut s, "load32", &[len - 3], &[]), &what("load32 len-3"));
        assert_oob(c(&mut s, "load64", &[len - 7], &[]), &what("load64 len-7"));
        let stored = c(&mut s, "store8", &[len], &[Value::I32(9)]);
        assert_oob(stored, &what("store8 len"));
        let stored = c(&mut s, "store64", &[len - 4], &[Value::I64(-1)]);
        assert_oob(stored, &what("store64 across the end"));
        assert_oob(c(&mut s, "load_off", &[0], &[]), &what("load offset=len"));
        assert_oob(c(&mut s, "load_huge", &[0], &[]), &what("huge offset"));
        let top = if idx == "i64" { i64::MAX } else { -1 };
        assert_oob(c(&mut s, "load8", &[top], &[]), &what("largest index"));
        assert_oob(c(&mut s, "load8", &[1 << 20], &[]), &what("1 MiB in"));
        assert_oob(
            c(&mut s, "load8", &[64 << 20], &[]),
            &what("at the reservation"),
        );
        let copied = c(&mut s, "copy", &[len - 8, 0, 16], &[]);
        assert_oob(copied, &what("memory.copy to across the end"));
        let copied = c(&mut s, "copy", &[0, len - 8, 16], &[]);
        assert_oob(copied, &what("memory.copy from across the end"));
        let filled = c(&mut s, "fill", &[len - 8], &[Value::I32(7), addr(idx, 16)]);
        assert_oob(filled, &what("memory.fill across the end"));
        // The last byte holds what was stored, and nothing past it changed:
        // grown, the new page reads zero.
        let last = assert_ok(c(&mut s, "load8", &[len - 1], &[]), &what("reload"));
        assert_eq!(last, [Value::I32(9)], "{shape:?}");
        let grown = assert_ok(c(&mut s, "grow", &[1], &[]), &what("grow"));
        if shape.0 == "1 1" {
            assert_eq!(grown, [addr(idx, -1)], "a full memory cannot grow");
            continue;
        }
        assert_eq!(grown, [addr(idx, 1)], "{shape:?}");
        let len = 2 * PAGE;
        let fresh = c(&mut s, "nonzero", &[PAGE, len], &[]);
        assert_eq!(assert_ok(fresh, &what("new page")), [Value::I64(0)]);
        assert_ok(c(&mut s, "load8", &[len - 1], &[]), &what("grown len-1"));
        assert_oob(c(&mut s, "load8", &[len], &[]), &what("grown len"));
        assert_oob(c(&mut s, "load32", &[len - 2], &[]), &what("grown len-2"));
    }
}

/// A guest fills its memory with a secret and is dropped; the next sandbox
/// (which gets the same slot: released slots are reused last-in first-out)
/// reads only zeros, before and after growing to the same size. A small
/// memory is zeroed in place (its pages stay resident), a large one
/// (40 MiB, past the 32 MiB that free slots may keep) is dropped.
#[test]
fn a_reused_slot_reads_zero() {
    let runtime = Runtime::new().unwrap();
    let shape = ("1", "i32");
    for (round, pages) in [4, 640, 4].into_iter().enumerate() {
        let mut writer = sandbox(&runtime, shape);
        assert_ok(call(&mut writer, "i32", "grow", &[pages - 1], &[]), "grow");
        let size = Value::I32((pages * PAGE) as i32);
        let fill = call(&mut writer, "i32", "fill", &[0], &[Value::I32(0xAB), size]);
        assert_ok(fill, "fill");
        drop(writer);
        let mut reader = sandbox(&runtime, shape);
        // The data segment is there, and nothing else.
        let hello = call(&mut reader, "i32", "nonzero", &[0, PAGE], &[]);
        assert_eq!(assert_ok(hello, "scan"), [Value::I64(5)], "round {round}");
        assert_ok(call(&mut reader, "i32", "grow", &[pages - 1], &[]), "grow");
        let rest = call(&mut reader, "i32", "nonzero", &[PAGE, pages * PAGE], &[]);
        assert_eq!(assert_ok(rest, "scan"), [Value::I64(0)], "round {round}");
    }
}

/// Data segments are copied in (copy-on-write images are off with arenas).
#[test]
fn data_segments_are_initialised() {
    let runtime = Runtime::new().unwrap();
    for shape in SHAPES {
        let mut s = sandbox(&runtime, shape);
        let h = call(&mut s, shape.1, "load8", &[100], &[]);
        assert_eq!(assert_ok(h, "load"), [Value::I32(i32::from(b'h'))]);
    }
}

/// A sandbox that raised its memory limit above the runtime's: a memory
/// that grows past its slot moves, keeping its bytes and its bounds, and
/// one that starts larger than a slot gets a mapping of its own.
#[test]
fn memories_larger_than_a_slot_move_out() {
    let runtime = Aegis::builder().with_memory_limit(1 << 20).build().unwrap();
    let module = runtime.load_wat(&probe("1", "i32")).unwrap();
    let mut s = runtime
        .sandbox()
        .with_memory_limit(8 << 20)
        .build()
        .unwrap();
    s.load_module(&module).unwrap();
    assert_ok(
        call(&mut s, "i32", "store8", &[7], &[Value::I32(42)]),
        "store",
    );
    let grown = call(&mut s, "i32", "grow", &[31], &[]);
    assert_eq!(assert_ok(grown, "grow past the slot"), [Value::I32(1)]);
    let kept = call(&mut s, "i32", "load8", &[7], &[]);
    assert_eq!(assert_ok(kept, "moved byte"), [Value::I32(42)]);
    let len = 32 * PAGE;
    assert_ok(call(&mut s, "i32", "load8", &[len - 1], &[]), "moved len-1");
    assert_oob(call(&mut s, "i32", "load8", &[len], &[]), "moved len");
    let new = call(&mut s, "i32", "nonzero", &[PAGE, len], &[]);
    assert_eq!(assert_ok(new, "scan"), [Value::I64(0)]);

    let large = runtime.load_wat(&probe("20", "i32")).unwrap();
    let mut s = runtime
        .sandbox()
        .with_memory_limit(8 << 20)
        .build()
        .unwrap();
    s.load_module(&large).unwrap();
    let len = 20 * PAGE;
    assert_ok(call(&mut s, "i32", "load8", &[len - 1], &[]), "large len-1");
    assert_oob(call(&mut s, "i32", "load8", &[len], &[]), "large len");
    assert_ok(
        call(&mut s, "i32", "grow", &[1], &[]),
        "grow a large memory",
    );
    assert_oob(
        call(&mut s, "i32", "load8", &[len + PAGE], &[]),
        "large grown len",
    );
}

/// Kernel mappings the process holds.
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|maps| maps.lines().count())
        .unwrap_or(0)
}

/// More live default sandboxes, each with an instantiated memory, than a
/// mapping per memory allows under Linux's default `vm.max_map_count`
/// (65 530, two mappings per memory: about 32 700), at far less than a
/// mapping per sandbox.
#[test]
fn holds_more_sandboxes_than_mappings_allow() {
    let Some(max_map_count) = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|n| n.trim().parse::<usize>().ok())
    else {
        eprintln!("skipped: no /proc/sys/vm/max_map_count (not Linux)");
        return;
    };
    // Past what two mappings per sandbox allow, with room to spare.
    let target = (max_map_count / 2 + 7_500).max(40_000);
    if target > 100_000 {
        eprintln!("skipped: vm.max_map_count is {max_map_count}, far above Linux's default 65530");
        return;
    }
    if std::fs::read_to_string("/proc/sys/vm/overcommit_memory").is_ok_and(|m| m.trim() == "2") {
        eprintln!("skipped: vm.overcommit_memory = 2 (arenas are off, see arena.rs)");
        return;
    }
    let runtime = Runtime::new().unwrap();
    let module = runtime
        .load_wat(r#"(module (memory 1) (func (export "noop")))"#)
        .unwrap();
    let before = mappings();
    let held: Vec<Sandbox> = (0..target)
        .map(|i| {
            let mut sandbox = runtime.sandbox().build().unwrap();
            sandbox
                .load_module(&module)
                .unwrap_or_else(|e| panic!("sandbox {i}: {e}"));
            sandbox
        })
        .collect();
    let added = mappings().saturating_sub(before);
    assert!(
        added < target / 100,
        "{target} sandboxes added {added} mappings"
    );
    let mut last = held.into_iter().last().unwrap();
    last.call::<(), ()>("noop", ()).unwrap();
}
