"""Data round trips from Python: Aegis vs Extism (bytes) and vs wasmtime-py (components).

Run inside the private benchmark venv (``target/bench-venv``: a release build
of ``aegis`` plus ``extism`` and ``wasmtime`` from PyPI, as ``scripts/bench.sh``
sets it up), from the repository root, after ``scripts/build-guests.sh``::

    target/bench-venv/bin/python bindings-python/benches/bench_data.py [--quick]

Prints one JSON object::

    {"bytes": {"1KiB": {impl: ns}, "1MiB": {impl: ns}},
     "component": {"1KiB": {impl: ns}, "1MiB": {impl: ns}},
     "malloc_tuned": {"bytes": ..., "component": ...},
     "notes": {...}, "versions": {...}}

where ``ns`` is the median time of one round trip (payload in, the same
payload back, checked equal before timing) over many timed batches.

``malloc_tuned`` repeats the rows in a child process whose glibc malloc keeps
freed memory (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``): by
default each host buffer of 1 MiB or more is a fresh ``mmap`` whose pages
fault in on first touch, which dominates a 1 MiB component round trip (it
copies the string several times on the host) on machines where page faults
are slow, for Aegis and wasmtime-py alike.

- ``bytes``: ``sandbox.call_bytes("echo", payload)`` on
  ``target/guests/out/bytes-rust.wasm`` (examples/guest-rust, which returns its
  input buffer) against ``plugin.call("echo", payload)`` of the Extism Python
  SDK on ``tests/guests/bench/extism_echo.wat`` (copies its input to its output
  through the Extism kernel, 8 bytes per kernel call, as a PDK does).
- ``component``: ``sandbox.call("echo-string", text)`` on
  ``target/guests/out/values.wasm`` against wasmtime-py's component API
  (``wasmtime.component``), if the installed version can call a component with
  a string; otherwise ``notes`` says why and the row has Aegis only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict

import aegis
import extism
import wasmtime
from bench_calls import median_ns  # the same timing as the call benchmarks

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "target" / "guests" / "out"
EXTISM_ECHO = ROOT / "tests" / "guests" / "bench" / "extism_echo.wat"

SIZES = {"1KiB": 1 << 10, "1MiB": 1 << 20}
# Round trips per timed batch, by payload size.
PER_BATCH = {"1KiB": 2000, "1MiB": 20}


def payload_bytes(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


def payload_text(size: int) -> str:
    return ("aegis-" * (size // 6 + 1))[:size]


def aegis_bytes(payload: bytes) -> Callable[[], Any]:
    runtime = aegis.Runtime()
    sandbox = runtime.sandbox(runtime.load_file(GUESTS / "bytes-rust.wasm"))
    assert sandbox.call_bytes("echo", payload) == payload
    return lambda: sandbox.call_bytes("echo", payload)


def extism_bytes(payload: bytes) -> Callable[[], Any]:
    wasm = bytes(wasmtime.wat2wasm(EXTISM_ECHO.read_text()))
    plugin = extism.Plugin(wasm, wasi=False, functions=[])
    assert plugin.call("echo", payload) == payload
    return lambda: plugin.call("echo", payload)


def aegis_component(text: str) -> Callable[[], Any]:
    runtime = aegis.Runtime()
    sandbox = runtime.sandbox(runtime.load_file(GUESTS / "values.wasm"))
    assert sandbox.call("echo-string", text) == text
    return lambda: sandbox.call("echo-string", text)


def wasmtime_component(text: str) -> Callable[[], Any]:
    """wasmtime-py's component API; raises if this version cannot do it."""
    from wasmtime import component  # absent before wasmtime-py grew components

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = component.Linker(engine)
    linker.add_wasip2()  # values.wasm imports the WASI interfaces Rust's std uses
    comp = component.Component.from_file(engine, str(GUESTS / "values.wasm"))
    instance = linker.instantiate(store, comp)
    echo = instance.get_func(store, "echo-string")
    assert echo is not None, "echo-string not found"

    def call() -> Any:
        out = echo(store, text)
        echo.post_return(store)
        return out

    assert call() == text and call() == text
    return call


# glibc settings of the `malloc_tuned` child: no mmap below 256 MiB, no trimming below 1 GiB.
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def measure(quick: bool, notes: Dict[str, str]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Every row: {"bytes": {size: {impl: ns}}, "component": {...}}."""
    batches = 5 if quick else 31
    rows: Dict[str, Dict[str, Dict[str, float]]] = {"bytes": {}, "component": {}}
    for label, size in SIZES.items():
        per_batch = PER_BATCH[label] // (10 if quick else 1)
        data = payload_bytes(size)
        rows["bytes"][label] = {
            "aegis": median_ns(aegis_bytes(data), per_batch, batches),
            "extism": median_ns(extism_bytes(data), per_batch, batches),
        }
        text = payload_text(size)
        row = {"aegis": median_ns(aegis_component(text), per_batch, batches)}
        try:
            peer = wasmtime_component(text)
        except Exception as err:  # noqa: BLE001 - any failure means "cannot"
            notes["wasmtime-py"] = (
                f"wasmtime-py {metadata.version('wasmtime')} cannot call a component with a string: "
                f"{type(err).__name__}: {err}"
            )
        else:
            row["wasmtime-py"] = median_ns(peer, per_batch, batches)
        rows["component"][label] = row
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    notes: Dict[str, str] = {}
    if "--child" in sys.argv:
        print(json.dumps(measure(quick, notes)))
        return
    out: Dict[str, Any] = dict(measure(quick, notes))
    child = subprocess.run(
        [sys.executable, __file__, "--child"] + (["--quick"] if quick else []),
        env={**os.environ, **MALLOC_TUNED},
        check=True,
        capture_output=True,
        text=True,
    )
    out["malloc_tuned"] = json.loads(child.stdout)
    out["notes"] = notes
    out["versions"] = {
        "python": sys.version.split()[0],
        "aegis": aegis.__version__,
        "wasmtime-py": metadata.version("wasmtime"),
        "extism": metadata.version("extism"),
        "extism-sys": metadata.version("extism-sys"),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
