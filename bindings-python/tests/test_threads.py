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


def test_one_sandbox_shared_by_threads_with_callbacks():
    rt = aegis.Runtime()
    sb = rt.sandbox()
    calls = []
    lock = threading.Lock()

    def offset():
        with lock:
            calls.append(threading.get_ident())
        return 1

    sb.register_func("env", "offset", offset, results=["i32"])
    sb.register_func("env", "log", lambda p, n: None, params=["i32", "i32"])
    sb.register_func("env", "fscale", lambda x: x, params=["f64"], results=["f64"])
    sb.load_module(rt.load_wat(HOST_WAT))
    out = []

    def work():
        for k in range(100):
            out.append(sb.call("add_offset", k) - k)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [1] * 400
    assert len(calls) == 400
    assert sb.metrics.calls == 400


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_during_a_guest_run_stops_it():
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
