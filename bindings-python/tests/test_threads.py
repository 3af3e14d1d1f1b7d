"""The GIL is released while guest code runs; sandboxes work across threads."""

import os
import signal
import threading
import time

import pytest

import aegis
from conftest import CORE_WAT, HOST_WAT


def test_other_threads_progress_while_guest_spins():
    rt = aegis.Runtime(fuel_limit=None, timeout=0.5)
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    worker = threading.Thread(target=count)
    worker.start()
    try:
        time.sleep(0.05)
        before = ticks
        with pytest.raises(aegis.AegisTimeoutError):
            sb.call("spin")
        during = ticks - before
    finally:
        stop.set()
        worker.join()
    # With the GIL held the counter could not move at all during the call.
    assert during > 1000


def test_sandboxes_in_parallel_threads():
    rt = aegis.Runtime(fuel_limit=200_000)
    module = rt.load_wat(CORE_WAT)
    errors = []
    results = {}

    def work(i):
        try:
            with rt.sandbox(module) as sb:
                total = 0
                for j in range(200):
                    total += sb.call("add", i, j)
                try:
                    sb.call("spin")
                except aegis.OutOfFuelError:
                    pass
                results[i] = (total, sb.call("add", i, i))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(6):
        assert results[i] == (200 * i + sum(range(200)), 2 * i)


def test_a_busy_sandbox_refuses_other_threads_at_once():
    rt = aegis.Runtime(fuel_limit=None, timeout=5)
    sb = rt.sandbox()
    running = threading.Event()
    release = threading.Event()

    def offset():
        running.set()
        release.wait(5)
        return 1

    sb.register_func("env", "offset", offset, results=["i32"])
    sb.register_func("env", "log", lambda p, n: None, params=["i32", "i32"])
    sb.register_func("env", "fscale", lambda x: x, params=["f64"], results=["f64"])
    sb.load_module(rt.load_wat(HOST_WAT))
    outcome = {}

    def work():
        outcome["result"] = sb.call("add_offset", 41)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert running.wait(5)
        # While the worker's call runs, every use from this thread fails at
        # once (it used to wait for the call to end).
        for use in (lambda: sb.call("add_offset", 1), lambda: sb.last_call_metrics, lambda: sb.stdout, sb.close):
            start = time.monotonic()
            with pytest.raises(aegis.BusyError) as info:
                use()
            assert time.monotonic() - start < 0.5
            assert info.value.code == "busy"
        # Limits and interrupt handles do not need the sandbox.
        assert sb.limits.timeout == 5.0
        assert not sb.interrupt_handle().pending
    finally:
        release.set()
        worker.join(5)
    assert outcome == {"result": 42}
    assert sb.call("add_offset", 1) == 2  # free again
    assert sb.metrics.calls == 2


def test_threads_taking_turns_on_one_sandbox():
    rt = aegis.Runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    done = []
    busy = []
    lock = threading.Lock()

    def work():
        for k in range(100):
            while True:
                try:
                    value = sb.call("add", k, 1)
                    break
                except aegis.BusyError:
                    with lock:
                        busy.append(1)
                    time.sleep(0)
            with lock:
                done.append(value - k)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done == [1] * 400
    assert sb.metrics.calls == 400


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_during_a_guest_run_stops_it():
    # Python's own handler, even if this process started with SIGINT ignored
    # (a background job of a non-interactive shell does).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_during_a_guest_run_stops_it()
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_during_a_guest_run_stops_it():
    rt = aegis.Runtime(fuel_limit=None, timeout=5)
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    timer = threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    outcome = None
    try:
        sb.call("spin")
    except KeyboardInterrupt:
        outcome = "interrupted"
    except aegis.AegisTimeoutError:
        outcome = "timeout"
    finally:
        timer.cancel()
    assert outcome == "interrupted"
    # The guest is stopped long before its 5 s timeout (see test_ctrl_c.py).
    assert time.monotonic() - start < 0.1 + 0.4
    assert sb.call("add", 1, 2) == 3
