"""asyncio: awaitable calls run the guest off the event loop, and cancelling
the awaiting task interrupts the guest without stopping any later call."""

import asyncio
import concurrent.futures
import random
import sys
import threading
import time

import pytest

import aegis
from conftest import CORE_WAT, SLEEP_WAT, WASI_WAT
from test_memory_bytes import GUESTS

# How far past the cancellation a cancelled call may end.
SLACK = 0.5


def spinner(timeout=10.0):
    rt = aegis.Runtime(fuel_limit=None, timeout=timeout)
    return rt.sandbox(rt.load_wat(CORE_WAT))


def sleeper(ready=lambda: None):
    rt = aegis.Runtime(fuel_limit=None, timeout=10.0)
    sb = rt.sandbox()
    sb.register_func("env", "ready", ready)
    sb.load_module(rt.load_wat(SLEEP_WAT))
    return sb


def test_async_calls_return_what_the_sync_calls_return():
    rt = aegis.Runtime(capture_output=True)
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    wasi = rt.sandbox(rt.load_wat(WASI_WAT))

    async def main():
        assert await sb.call_async("add", 2, 3) == 5
        assert await sb.call_async("swap", 1, 2) == (2, 1)
        assert await sb.call_async("nothing") is None
        assert await wasi.run_async() is None
        return wasi.stdout

    assert asyncio.run(main()) == b"hello\n"
    assert sb.metrics.calls == 3


def test_bytes_and_str_calls_have_async_forms():
    path = GUESTS / "bytes-rust.wasm"
    assert path.exists(), f"{path} is missing: run scripts/build-guests.sh"
    rt = aegis.Runtime()
    sb = rt.sandbox(rt.load_file(path))

    async def main():
        data = bytearray(b"\x01\x02\x03")
        pending = sb.call_bytes_async("reverse", data)
        data[0] = 9  # the call took a copy when it was made
        assert await pending == b"\x03\x02\x01"
        assert await sb.call_bytes_async("reverse", memoryview(b"ab")) == b"ba"
        assert await sb.call_str_async("greet", "asyncio") == "Hello, asyncio!"

    asyncio.run(main())
    with pytest.raises(TypeError, match="call_bytes_async"):
        sb.call_bytes_async("reverse", "not bytes")


def test_errors_reach_the_awaiting_task():
    sb = spinner()

    async def main():
        with pytest.raises(aegis.TrapError):
            await sb.call_async("boom")
        with pytest.raises(aegis.ExportNotFoundError):
            await sb.call_async("nope")
        with pytest.raises(aegis.SignatureMismatchError):
            await sb.call_async("add", 1)
        sb.close()
        with pytest.raises(aegis.InvalidArgumentError, match="closed"):
            await sb.call_async("add", 1, 2)

    asyncio.run(main())


def test_the_loop_keeps_serving_other_tasks_while_the_guest_spins():
    sb = spinner(timeout=0.5)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main():
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        start = time.monotonic()
        with pytest.raises(aegis.AegisTimeoutError):
            await sb.call_async("spin")
        elapsed = time.monotonic() - start
        task.cancel()
        return elapsed

    elapsed = asyncio.run(main())
    assert elapsed >= 0.5
    # A blocked loop would not have ticked at all during the call.
    assert ticks >= 20, ticks


@pytest.mark.parametrize("guest", ["spin", "sleep_forever"])
def test_cancelling_the_task_interrupts_the_guest(guest):
    readies = []
    sb = spinner() if guest == "spin" else sleeper(lambda: readies.append(1))
    handle = sb.interrupt_handle()

    async def main():
        task = asyncio.create_task(sb.call_async(guest))
        await asyncio.sleep(0.2)
        assert not task.done()
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - start
        # The worker had finished: the sandbox is free, and not interrupted.
        assert not handle.pending
        if guest == "spin":
            assert sb.call("add", 1, 2) == 3
        else:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sb.call_async("ready_then_sleep"), 0.2)
            assert readies == [1]  # the next call ran its guest
        return elapsed

    elapsed = asyncio.run(main())
    assert elapsed < SLACK, elapsed


def test_a_wait_for_timeout_interrupts_the_guest():
    sb = spinner()

    async def main():
        start = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sb.call_async("spin"), 0.1)
        elapsed = time.monotonic() - start
        # The sandbox is free at once: the cancelled worker was waited for.
        assert await sb.call_async("add", 2, 2) == 4
        return elapsed

    elapsed = asyncio.run(main())
    assert elapsed < 0.1 + SLACK, elapsed


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")
def test_an_asyncio_timeout_interrupts_the_guest():
    sb = spinner()

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await sb.call_async("spin")
        return sb.call("add", 3, 4)

    assert asyncio.run(main()) == 7


def test_a_call_cancelled_before_its_worker_started_never_runs():
    sb = spinner()
    handle = sb.interrupt_handle()
    release = threading.Event()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(executor)
        # The executor's only worker is busy: the call waits in its queue.
        blocker = loop.run_in_executor(None, release.wait)
        task = asyncio.create_task(sb.call_async("spin"))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Not waited for: the worker will not touch the sandbox.
        assert time.monotonic() - start < 0.1
        release.set()
        await blocker

    try:
        asyncio.run(main())
    finally:
        release.set()
        executor.shutdown(wait=True)
    # The queued call, run by the worker after the cancellation, returned
    # without calling the guest, and left no interrupt for the next call.
    assert sb.metrics.calls == 0
    assert not handle.pending
    assert sb.call("add", 1, 2) == 3


def test_a_cancellation_never_stops_a_later_call():
    # Cancel at random moments around a short call: before the worker began
    # it, while it runs, just as it finishes. Whatever the moment, the next
    # call runs normally.
    rt = aegis.Runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    handle = sb.interrupt_handle()
    rng = random.Random(18)
    outcomes = {"cancelled": 0, "finished": 0}

    async def main():
        for i in range(400):
            task = asyncio.create_task(sb.call_async("add", i, 1))
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)
            # Let the worker advance a random few microseconds, loop blocked.
            deadline = time.perf_counter() + rng.uniform(0, 300e-6)
            while time.perf_counter() < deadline:
                pass
            task.cancel()
            try:
                assert await task == i + 1
                outcomes["finished"] += 1
            except asyncio.CancelledError:
                outcomes["cancelled"] += 1
            assert not handle.pending
            assert sb.call("add", i, 2) == i + 2, (i, outcomes)

    asyncio.run(main())
    assert outcomes["cancelled"] > 0, outcomes


# The bytes convention without `aegis_free`: `echo` calls the host's
# `env.mark` and returns; the host then copies the output out of guest
# memory with no guest code left to run.
ECHO_WAT = r"""
(module
  (import "env" "mark" (func $mark))
  (memory (export "memory") 1)
  (func (export "aegis_alloc") (param $len i32) (result i32)
    (local $need i32)
    (local.set $need (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 2)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func (export "echo") (param $ptr i32) (param $len i32) (result i64)
    (call $mark)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len)))))
"""


def test_a_cancellation_as_the_call_finishes_never_stops_the_next_call():
    # The task is cancelled just after `env.mark`, the guest's last act: the
    # cancellation reaches the core during the output's copy, after the
    # call's last interrupt check. The call succeeds, the core keeps the
    # request for the next call, and the binding must withdraw it.
    rt = aegis.Runtime(result_limit="64MiB", memory_limit="128MiB")
    sb = rt.sandbox()
    on_mark = [lambda: None]

    def mark():
        on_mark[0]()

    sb.register_func("env", "mark", mark)
    sb.load_module(rt.load_wat(ECHO_WAT))
    handle = sb.interrupt_handle()
    data = bytes(16 << 20)
    sb.call_bytes("echo", data)  # grows the guest's memory once
    outcomes = {"cancelled": 0, "pending": 0, "stopped": 0}

    async def main():
        loop = asyncio.get_running_loop()
        # The copy takes milliseconds: cancel a little after the guest's end.
        for delay in [0.0005, 0.001, 0.002, 0.004] * 3:
            task = asyncio.create_task(sb.call_bytes_async("echo", data))
            on_mark[0] = lambda: loop.call_soon_threadsafe(loop.call_later, delay, task.cancel)
            try:
                assert await task == data  # done before the cancellation
            except asyncio.CancelledError:
                outcomes["cancelled"] += 1
            on_mark[0] = lambda: None
            outcomes["pending"] += handle.pending
            try:
                assert sb.call_bytes("echo", b"ab") == b"ab"
            except aegis.InterruptedError:
                outcomes["stopped"] += 1

    asyncio.run(main())
    assert outcomes["cancelled"] > 0, outcomes
    assert (outcomes["pending"], outcomes["stopped"]) == (0, 0), outcomes


def test_concurrent_calls_on_one_sandbox_are_busy():
    sb = spinner(timeout=5.0)

    async def main():
        first = asyncio.create_task(sb.call_async("spin"))
        await asyncio.sleep(0.1)
        with pytest.raises(aegis.BusyError):
            await sb.call_async("add", 1, 2)
        with pytest.raises(aegis.BusyError):
            await sb.run_async()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await sb.call_async("add", 1, 2) == 3

    asyncio.run(main())


def test_a_python_interrupt_still_stops_an_awaited_call():
    sb = spinner()

    async def main():
        task = asyncio.create_task(sb.call_async("spin"))
        await asyncio.sleep(0.1)
        sb.interrupt()
        with pytest.raises(aegis.InterruptedError):
            await task

    asyncio.run(main())
    assert sb.call("add", 1, 1) == 2
