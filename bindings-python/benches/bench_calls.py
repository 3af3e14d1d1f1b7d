"""Call and host-callback overhead from Python: Aegis vs wasmtime-py vs Extism.

Run by ``scripts/bench.sh`` inside its private venv (``target/bench-venv``),
which holds a release build of ``aegis`` and the peers from PyPI. Prints one
JSON object: ``{"call": {impl: ns}, "callback": {impl: ns}, "versions": {...}}``
(plus ``idle_bytes``: resident bytes per idle instance) where ``ns`` is the median time of one call (``call``) or of one guest→host
call (``callback``: the guest makes 1000 per call), over many timed batches.

The Extism rows are its cheapest possible calls: Extism exports take no wasm
arguments (input travels as bytes), so its ``add`` takes an empty input and
returns 0, and its host function takes and returns an i64.
"""

import json
import statistics
import subprocess
import sys
import time
from importlib import metadata

import aegis
import extism
import wasmtime

ADD = """(module (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""

CALLBACK = """(module (import "env" "inc" (func $inc (param i32) (result i32)))
  (func (export "loop") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (call $inc (local.get 1)))
             (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))"""

EXTISM_ADD = """(module (func (export "add") (result i32) (i32.const 0)))"""

EXTISM_CALLBACK = """(module (import "extism:host/user" "inc" (func $inc (param i64) (result i64)))
  (func (export "loop") (result i32) (local i64)
    (loop $l (local.set 0 (call $inc (local.get 0)))
             (br_if $l (i64.lt_u (local.get 0) (i64.const 1000))))
    (i32.const 0)))"""

CALLBACKS_PER_CALL = 1000


def median_ns(fn, per_batch, batches, per_op=1):
    """Median over ``batches`` of the time of one op, each batch ``per_batch`` calls of ``fn``."""
    for _ in range(per_batch):  # warm-up
        fn()
    samples = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in range(per_batch):
            fn()
        samples.append((time.perf_counter_ns() - start) / (per_batch * per_op))
    return statistics.median(samples)


def aegis_impls():
    runtime = aegis.Runtime()
    sb = runtime.sandbox(runtime.load_wat(ADD))
    assert sb.call("add", 1, 2) == 3
    cb = runtime.sandbox()
    cb.register_func("env", "inc", lambda x: x + 1, params=["i32"], results=["i32"])
    cb.load_module(runtime.load_wat(CALLBACK))
    assert cb.call("loop", CALLBACKS_PER_CALL) == CALLBACKS_PER_CALL
    return (lambda: sb.call("add", 1, 2)), (lambda: cb.call("loop", CALLBACKS_PER_CALL))


def wasmtime_impls():
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    add = wasmtime.Instance(store, wasmtime.Module(engine, ADD), []).exports(store)["add"]
    assert add(store, 1, 2) == 3
    i32 = wasmtime.ValType.i32()
    inc = wasmtime.Func(store, wasmtime.FuncType([i32], [i32]), lambda x: x + 1)
    loop = wasmtime.Instance(store, wasmtime.Module(engine, CALLBACK), [inc]).exports(store)["loop"]
    assert loop(store, CALLBACKS_PER_CALL) == CALLBACKS_PER_CALL
    return (lambda: add(store, 1, 2)), (lambda: loop(store, CALLBACKS_PER_CALL))


def extism_impls():
    add = extism.Plugin(bytes(wasmtime.wat2wasm(EXTISM_ADD)), wasi=False, functions=[])

    i64 = extism.ValType.I64
    seen = []

    # The explicit-signature form: the raw values, no conversion through
    # Extism memory (the `x: int -> int` inferred form returns its result as
    # bytes written to Extism memory, which is not an i64 result).
    @extism.host_fn(name="inc", signature=([i64], [i64]))
    def inc(_plugin, inputs, outputs, *_user_data):
        seen.append(inputs[0].value)
        outputs[0].value = inputs[0].value + 1

    cb = extism.Plugin(bytes(wasmtime.wat2wasm(EXTISM_CALLBACK)), wasi=False, functions=[inc])
    add.call("add", b"")
    cb.call("loop", b"")
    assert len(seen) == CALLBACKS_PER_CALL, f"extism host function ran {len(seen)} times"
    seen.clear()

    @extism.host_fn(name="inc", signature=([i64], [i64]))
    def inc_fast(_plugin, inputs, outputs, *_user_data):
        outputs[0].value = inputs[0].value + 1

    cb = extism.Plugin(bytes(wasmtime.wat2wasm(EXTISM_CALLBACK)), wasi=False, functions=[inc_fast])
    return (lambda: add.call("add", b"")), (lambda: cb.call("loop", b""))


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def idle_bytes_in_this_process(impl, count):
    """Resident bytes per idle instance of ``add``: an Aegis sandbox or a wasmtime-py store."""
    if impl == "aegis":
        runtime = aegis.Runtime()
        module = runtime.load_wat(ADD)
        make = lambda: runtime.sandbox(module)  # noqa: E731
    else:
        engine = wasmtime.Engine()
        wmodule = wasmtime.Module(engine, ADD)

        def make():
            store = wasmtime.Store(engine)
            return store, wasmtime.Instance(store, wmodule, [])

    make()
    before = resident_bytes()
    keep = [make() for _ in range(count)]
    after = resident_bytes()
    assert len(keep) == count
    return (after - before) / count


def idle_bytes(count):
    """Each implementation measured in a fresh interpreter, so freed memory is not reused."""
    out = {}
    for impl in ["aegis", "wasmtime-py"]:
        text = subprocess.run(
            [sys.executable, __file__, "--idle", impl, str(count)], check=True, capture_output=True, text=True
        ).stdout
        out[impl] = float(text)
    return out


def main():
    if sys.argv[1:2] == ["--idle"]:
        print(idle_bytes_in_this_process(sys.argv[2], int(sys.argv[3])))
        return
    quick = "--quick" in sys.argv
    batches = 5 if quick else 31
    results = {"call": {}, "callback": {}}
    for name, make in [("aegis", aegis_impls), ("wasmtime-py", wasmtime_impls), ("extism", extism_impls)]:
        call, callback = make()
        results["call"][name] = median_ns(call, 2000, batches)
        results["callback"][name] = median_ns(callback, 20, batches, CALLBACKS_PER_CALL)
    results["idle_bytes"] = idle_bytes(100 if quick else 1000)
    results["versions"] = {
        "python": sys.version.split()[0],
        "wasmtime-py": metadata.version("wasmtime"),
        "extism": metadata.version("extism"),
        "extism-sys": metadata.version("extism-sys"),
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
