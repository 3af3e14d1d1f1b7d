"""Guest memory from the host, and bytes and strings through the bytes
convention (call_bytes / call_str), with real guests in Rust and C."""

from __future__ import annotations

import array
import threading
import time
from pathlib import Path

import pytest

import aegis
from conftest import HOST_WAT

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "target" / "guests" / "out"
BYTES_GUESTS = ["bytes-rust.wasm", "bytes-c.wasm"]

# A bytes guest in WAT: bump allocator, `echo`, hostile output pointers, a
# loop, a second memory, and `grow` to move memory between calls.
BYTES_WAT = r"""
(module
  (memory (export "memory") 1)
  (memory (export "scratch") 2)
  (global $bump (mut i32) (i32.const 1024))
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
  (func (export "out_of_bounds") (param i32 i32) (result i64)
    (call $pack (i32.const 65530) (i32.const 16)))
  (func (export "huge") (param i32 i32) (result i64)
    (call $pack (i32.const 0) (i32.const -1)))
  (func (export "not_utf8") (param i32 i32) (result i64)
    (i32.store (i32.const 0) (i32.const 0xc080feff))
    (call $pack (i32.const 0) (i32.const 4)))
  (func (export "spin") (param i32 i32) (result i64)
    (loop $l (br $l))
    (i64.const 0))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""

PAGE = 65536


@pytest.fixture
def wat_sandbox():
    runtime = aegis.Runtime(fuel_limit=10_000_000, timeout=10)
    with runtime.sandbox(runtime.load_wat(BYTES_WAT)) as sb:
        yield sb


def guest(runtime: aegis.Runtime, name: str) -> aegis.Module:
    path = GUESTS / name
    assert path.exists(), f"{path} is missing: run scripts/build-guests.sh"
    return runtime.load_file(path)


# --- guest memory --------------------------------------------------------


def test_memory_round_trips_through_every_bytes_like_type(wat_sandbox):
    sb = wat_sandbox
    assert sb.memory_size() == PAGE
    assert sb.write_memory(100, b"hello") is None
    assert sb.read_memory(100, 5) == b"hello"
    sb.write_memory(200, bytearray(b"from bytearray"))
    sb.write_memory(300, memoryview(b"xx view xx")[3:7])
    sb.write_memory(400, array.array("B", b"array"))
    assert sb.read_memory(200, 14) == b"from bytearray"
    assert sb.read_memory(300, 4) == b"view"
    assert sb.read_memory(400, 5) == b"array"
    assert type(sb.read_memory(0, 0)) is bytes and sb.read_memory(PAGE, 0) == b""


def test_read_memory_into_fills_writable_buffers(wat_sandbox):
    sb = wat_sandbox
    sb.write_memory(10, b"0123456789")
    target = bytearray(4)
    assert sb.read_memory_into(12, target) == 4
    assert target == b"2345"
    backing = bytearray(b"..........")
    assert sb.read_memory_into(10, memoryview(backing)[2:5]) == 3
    assert backing == b"..012....."
    words = array.array("H", [0, 0])
    assert sb.read_memory_into(10, words) == 4
    assert words.tobytes() == b"0123"
    with pytest.raises(TypeError, match="read-only"):
        sb.read_memory_into(0, b"immutable")
    with pytest.raises(TypeError, match="writable bytes-like"):
        sb.read_memory_into(0, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sb.write_memory(0, "text")  # type: ignore[arg-type]


def test_out_of_bounds_accesses_are_typed_and_write_nothing(wat_sandbox):
    sb = wat_sandbox
    sb.write_memory(PAGE - 3, b"abc")
    with pytest.raises(aegis.MemoryOutOfBoundsError) as info:
        sb.write_memory(PAGE - 2, b"xyz")
    err = info.value
    assert (err.code, err.offset, err.len, err.size) == ("memory_out_of_bounds", PAGE - 2, 3, PAGE)
    assert sb.read_memory(PAGE - 3, 3) == b"abc", "a refused write wrote nothing"
    for offset, length in [(PAGE - 1, 2), (PAGE + 1, 0), (2**64 - 1, 2), (0, 2**64 - 1)]:
        with pytest.raises(aegis.MemoryOutOfBoundsError):
            sb.read_memory(offset, length)
    with pytest.raises(aegis.MemoryOutOfBoundsError):
        sb.read_memory_into(PAGE - 1, bytearray(2))
    with pytest.raises(aegis.MemoryOutOfBoundsError):
        sb.read_memory_into(PAGE - 1, array.array("B", b"xx"))
    for offset, length in [(-1, 1), (0, -1), (2**64, 1)]:
        with pytest.raises(aegis.InvalidArgumentError, match="out of range"):
            sb.read_memory(offset, length)
    with pytest.raises(aegis.InvalidArgumentError):
        sb.write_memory(-1, b"x")


def test_a_huge_length_is_refused_before_any_allocation(wat_sandbox):
    # Allocating first would raise MemoryError (or take the machine down);
    # the range is checked against the memory first, at once.
    start = time.monotonic()
    for length in (2**40, 2**63, 2**64 - 1):
        with pytest.raises(aegis.MemoryOutOfBoundsError) as info:
            wat_sandbox.read_memory(0, length)
        assert info.value.len == length
    assert time.monotonic() - start < 1.0


def test_named_memories_and_growth_between_calls(wat_sandbox):
    sb = wat_sandbox
    assert sb.memory_size(memory="scratch") == 2 * PAGE
    sb.write_memory(PAGE + 5, b"second", memory="scratch")
    assert sb.read_memory(PAGE + 5, 6, "scratch") == b"second"
    with pytest.raises(aegis.MemoryOutOfBoundsError):
        sb.read_memory(PAGE + 5, 6)  # the default memory is one page
    with pytest.raises(aegis.ExportNotFoundError):
        sb.memory_size(memory="nope")
    sb.write_memory(PAGE - 4, b"kept")
    assert sb.call("grow", 3) == 1
    # Every access sees the memory's current size (and its moved contents).
    assert sb.memory_size() == 4 * PAGE
    sb.write_memory(3 * PAGE, b"grown")
    assert sb.read_memory(PAGE - 4, 4) == b"kept"
    assert sb.read_memory(3 * PAGE, 5) == b"grown"


def test_memory_needs_a_loaded_core_module_and_a_free_sandbox(runtime):
    sb = runtime.sandbox()
    with pytest.raises(aegis.InvalidArgumentError, match="no module is loaded"):
        sb.memory_size()
    sb.register_func("env", "offset", lambda: sb.memory_size(), results=["i32"])
    sb.register_func("env", "log", lambda p, n: None, params=["i32", "i32"])
    sb.register_func("env", "fscale", lambda x: x, params=["f64"], results=["f64"])
    sb.load_module(runtime.load_wat(HOST_WAT))
    # From inside a call (here its own host function), memory is reached
    # through the Caller; the sandbox itself is busy.
    with pytest.raises(aegis.HostFunctionError) as info:
        sb.call("add_offset", 1)
    assert isinstance(info.value.__cause__, aegis.BusyError)
    sb.close()
    with pytest.raises(aegis.InvalidArgumentError, match="closed"):
        sb.read_memory(0, 1)


def test_components_do_not_export_memory():
    runtime = aegis.Runtime()
    with runtime.sandbox(guest(runtime, "values.wasm")) as sb:
        with pytest.raises(aegis.InvalidArgumentError, match="typed exports"):
            sb.memory_size()
        with pytest.raises(aegis.InvalidArgumentError):
            sb.call_bytes("echo", b"x")


# --- the bytes convention -------------------------------------------------


@pytest.fixture(params=BYTES_GUESTS)
def bytes_guest(request):
    runtime = aegis.Runtime(fuel_limit=50_000_000, timeout=10)
    with runtime.sandbox(guest(runtime, request.param)) as sb:
        yield sb


def test_every_bytes_function_of_the_example_guests(bytes_guest):
    sb = bytes_guest
    assert sb.call_bytes("echo", b"\x00\xffraw") == b"\x00\xffraw"
    assert sb.call_bytes("upper", bytearray(b"hello, aegis")) == b"HELLO, AEGIS"
    assert sb.call_bytes("reverse", memoryview(b"abc")) == b"cba"
    assert sb.call_bytes("greet", array.array("B", b"Ada")) == b"Hello, Ada!"
    assert sb.call_bytes("repeat", b"5") == b"aaaaa"
    assert sb.call_bytes("echo", b"") == b""
    assert sb.call_str("upper", "grüße") == "GRüßE"  # ASCII only, UTF-8 intact
    assert sb.call_str("greet", "wörld") == "Hello, wörld!"
    assert sb.call_str("reverse", "") == ""
    assert type(sb.call_bytes("echo", b"x")) is bytes
    assert type(sb.call_str("echo", "x")) is str


@pytest.mark.parametrize("size", [1024, 1 << 20])
def test_large_payloads_round_trip(bytes_guest, size):
    payload = bytes(range(256)) * (size // 256)
    assert bytes_guest.call_bytes("echo", payload) == payload
    assert bytes_guest.call_bytes("reverse", payload) == payload[::-1]
    assert len(bytes_guest.call_bytes("repeat", str(size).encode())) == size


def test_one_exchange_is_one_call_in_the_metrics(bytes_guest):
    before = bytes_guest.metrics.calls
    bytes_guest.call_bytes("upper", b"abc")
    metrics = bytes_guest.last_call_metrics
    assert metrics.calls == 1 and metrics.fuel_consumed > 0
    assert bytes_guest.metrics.calls == before + 1


def test_a_failing_bytes_guest_traps_and_recovers(bytes_guest):
    with pytest.raises(aegis.TrapError):
        bytes_guest.call_bytes("repeat", b"not a number")
    assert bytes_guest.call_str("upper", "still works") == "STILL WORKS"


def test_output_is_bounded_by_result_limit():
    runtime = aegis.Runtime(result_limit=1024)
    assert runtime.limits.result_bytes == 1024
    for name in BYTES_GUESTS:
        with runtime.sandbox(guest(runtime, name)) as sb:
            assert len(sb.call_bytes("repeat", b"1024")) == 1024
            with pytest.raises(aegis.ResultTooLargeError) as info:
                sb.call_bytes("repeat", b"1025")
            assert (info.value.size, info.value.limit) == (1025, 1024)
        with runtime.sandbox(guest(runtime, name), result_limit="1MiB") as sb:
            assert sb.limits.result_bytes == 1 << 20
            assert len(sb.call_bytes("repeat", b"1025")) == 1025


def test_bytes_calls_run_under_fuel():
    runtime = aegis.Runtime(fuel_limit=100_000)
    for name in BYTES_GUESTS:
        with runtime.sandbox(guest(runtime, name)) as sb:
            with pytest.raises(aegis.OutOfFuelError):
                sb.call_bytes("repeat", b"10000000")


def test_hostile_output_pointers_are_typed_errors(wat_sandbox):
    sb = wat_sandbox
    with pytest.raises(aegis.MemoryOutOfBoundsError) as info:
        sb.call_bytes("out_of_bounds", b"x")
    assert (info.value.offset, info.value.len) == (65530, 16)
    with pytest.raises(aegis.ResultTooLargeError) as too_large:
        sb.call_bytes("huge", b"x")
    assert too_large.value.size == 2**32 - 1
    with pytest.raises(aegis.InvalidResultError, match="not UTF-8"):
        sb.call_str("not_utf8", "x")
    assert sb.call_bytes("not_utf8", b"x") == b"\xff\xfe\x80\xc0"
    with pytest.raises(aegis.SignatureMismatchError):
        sb.call_bytes("add", b"x")
    with pytest.raises(aegis.ExportNotFoundError):
        sb.call_bytes("missing", b"x")
    with pytest.raises(TypeError, match="bytes-like"):
        sb.call_bytes("echo", "text")  # type: ignore[arg-type]
    assert sb.call_str("echo", "ok") == "ok"


def test_bytes_calls_time_out_and_are_interrupted_with_the_gil_released():
    runtime = aegis.Runtime(fuel_limit=None, timeout=0.2)
    with runtime.sandbox(runtime.load_wat(BYTES_WAT)) as sb:
        with pytest.raises(aegis.AegisTimeoutError):
            sb.call_bytes("spin", b"x")
    runtime = aegis.Runtime(fuel_limit=None, timeout=10)
    with runtime.sandbox(runtime.load_wat(BYTES_WAT)) as sb:
        # The timer thread needs the GIL while the call runs.
        threading.Timer(0.1, sb.interrupt).start()
        start = time.monotonic()
        with pytest.raises(aegis.InterruptedError):
            sb.call_str("spin", "x")
        assert time.monotonic() - start < 5
