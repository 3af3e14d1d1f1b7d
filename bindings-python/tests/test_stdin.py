"""The guest's stdin: end of file by default, or bytes, a file, text, or the
host's stdin, given to ``aegis.Runtime(stdin=...)`` / ``runtime.sandbox(stdin=...)``.

Real WASI guests: ``probe cat`` (Rust, wasm32-wasip1; scripts/build-guests.sh)
copies stdin to stdout, and a WAT guest reads stdin with ``fd_read`` alone.
"""

import os
import pathlib
import subprocess
import sys
import time

import pytest

import aegis
from test_memory_bytes import GUESTS

PROBE = GUESTS / "probe-p1.wasm"

# `count` reads stdin to its end with fd_read (64 KiB at a time) and returns
# the number of bytes read, or -errno.
READ_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "count") (result i32)
    (local $n i32) (local $total i32) (local $err i32)
    (block $done
      (loop $more
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (local.set $err (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
        (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))
        (local.set $n (i32.load (i32.const 16)))
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $more)))
    (local.get $total)))
"""

# Every byte value, several times over.
BINARY = bytes(range(256)) * 300


@pytest.fixture(scope="module")
def rt():
    return aegis.Runtime(capture_output="8MiB")


@pytest.fixture(scope="module")
def probe(rt):
    assert PROBE.exists(), f"{PROBE} is missing: run scripts/build-guests.sh"
    return rt.load_file(PROBE)


def cat(rt, probe, **options):
    """What `probe cat` writes to stdout in a sandbox made with `options`."""
    with rt.sandbox(probe, args=["probe", "cat"], **options) as sb:
        sb.run()
        return sb.stdout


def test_stdin_is_empty_by_default(rt, probe):
    assert cat(rt, probe) == b""
    with rt.sandbox(rt.load_wat(READ_WAT)) as sb:
        assert sb.call("count") == 0  # end of file at once, not an error


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_arrive_exactly(rt, probe, kind):
    assert cat(rt, probe, stdin=kind(BINARY)) == BINARY


def test_the_bytes_are_copied_when_the_sandbox_is_made(rt, probe):
    data = bytearray(b"original")
    with rt.sandbox(probe, args=["probe", "cat"], stdin=data) as sb:
        data[:] = b"changed!"
        sb.run()
        assert sb.stdout == b"original"


def test_a_runtime_stdin_is_read_from_the_start_by_every_sandbox(probe):
    rt = aegis.Runtime(stdin=b"shared input", capture_output=True)
    module = rt.load_file(PROBE)
    assert [cat(rt, module) for _ in range(2)] == [b"shared input"] * 2
    # A sandbox's own stdin replaces the runtime's.
    assert cat(rt, module, stdin="empty") == b""
    assert cat(rt, module, stdin=b"own") == b"own"


def test_text_and_empty_are_policy_forms(rt, probe):
    assert cat(rt, probe, stdin={"text": "héllo ✓"}) == "héllo ✓".encode()
    assert cat(rt, probe, stdin="empty") == b""
    rt2 = aegis.Runtime.from_policy('stdin = { text = "from a policy" }', capture_output=True)
    assert cat(rt2, rt2.load_file(PROBE)) == b"from a policy"
    rt3 = aegis.Runtime.from_policy('stdin = { text = "policy" }', stdin=b"override", capture_output=True)
    assert cat(rt3, rt3.load_file(PROBE)) == b"override"


def test_a_file_arrives(rt, probe, tmp_path):
    path = tmp_path / "input.bin"
    path.write_bytes(BINARY)
    assert cat(rt, probe, stdin=path) == BINARY
    assert cat(rt, probe, stdin={"file": path}) == BINARY
    assert cat(rt, probe, stdin={"file": str(path)}) == BINARY
    # The Runtime's stdin file is opened anew by each sandbox.
    rt2 = aegis.Runtime(stdin=path, capture_output="1MiB")
    module = rt2.load_file(PROBE)
    assert [cat(rt2, module) for _ in range(2)] == [BINARY] * 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(rt, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(aegis.InvalidArgumentError, match="FIFO") as info:
        rt.sandbox(stdin=fifo)
    assert info.value.code == "invalid_argument"
    # A runtime is built (files are checked per sandbox); its sandboxes are refused.
    runtime = aegis.Runtime(stdin=fifo)
    with pytest.raises(aegis.InvalidArgumentError, match="FIFO"):
        runtime.sandbox()
    assert time.monotonic() - start < 2


def test_other_files_and_values_are_refused(rt, tmp_path):
    with pytest.raises(aegis.InvalidArgumentError, match="directory"):
        rt.sandbox(stdin=tmp_path)
    with pytest.raises(aegis.InvalidArgumentError, match="device"):
        rt.sandbox(stdin=pathlib.Path("/dev/zero"))
    with pytest.raises(aegis.AegisIOError):
        rt.sandbox(stdin=tmp_path / "missing")
    for bad in ["input text", 5, ["a"], {"text": b"bytes"}, {"path": "x"}]:
        with pytest.raises(aegis.InvalidArgumentError, match="stdin"):
            rt.sandbox(stdin=bad)


def test_reading_stdin_costs_fuel(rt):
    module = rt.load_wat(READ_WAT)

    def fuel(data):
        with rt.sandbox(module, stdin=data) as sb:
            assert sb.call("count") == len(data)
            return sb.last_call_metrics.fuel_consumed

    small, large = fuel(b"x" * 16), fuel(b"x" * (1 << 20))
    # The guest runs the same few instructions per 64 KiB read: the rest is
    # the read's own charge, about one unit per byte.
    assert large - small >= (1 << 20) - 32, (small, large)
    # And a budget ends a read that would cost more.
    with rt.sandbox(module, stdin=b"x" * (8 << 20), fuel_limit=1_000_000) as sb:
        with pytest.raises(aegis.OutOfFuelError):
            sb.call("count")


def test_inherit_reads_the_host_process_stdin(tmp_path):
    script = (
        "import aegis\n"
        "rt = aegis.Runtime(stdin='inherit', capture_output=True)\n"
        f"sb = rt.sandbox(rt.load_file({str(PROBE)!r}), args=['probe', 'cat'])\n"
        "sb.run()\n"
        "print(sb.stdout.decode(), end='')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=b"from the host's stdin",
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == b"from the host's stdin"
