"""Every call ends on time: interrupts from other threads, host functions that
watch for cancellation, and guest-memory reads sized by huge lengths."""

import threading
import time

import pytest

import aegis
from conftest import CORE_WAT, HOST_WAT, SLEEP_WAT, WAIT_WAT

# How far past its limit a call may end (as in aegis-core/tests/deadlines.rs).
SLACK = 0.25


def no_fuel_runtime(timeout=30.0):
    return aegis.Runtime(fuel_limit=None, timeout=timeout)


def sleeper(rt):
    sb = rt.sandbox()
    sb.register_func("env", "ready", lambda: None)
    sb.load_module(rt.load_wat(SLEEP_WAT))
    return sb


def interrupt_later(target, delay=0.2):
    timer = threading.Timer(delay, target)
    timer.start()
    return timer


@pytest.mark.parametrize("guest", ["spin", "sleep_forever"])
def test_interrupt_from_another_thread(guest):
    rt = no_fuel_runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT)) if guest == "spin" else sleeper(rt)
    # The clock starts before the timer, so the interrupt cannot seem early.
    start = time.monotonic()
    timer = interrupt_later(sb.interrupt)
    try:
        with pytest.raises(aegis.InterruptedError) as info:
            sb.call(guest)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed <= 0.2 + 0.1 + SLACK, elapsed
    err = info.value
    assert type(err) is aegis.AegisInterruptedError
    assert err.code == "interrupted"
    assert 0.1 <= err.elapsed <= elapsed  # the timer started just before the call
    # The request was consumed by the call it stopped.
    assert not sb.interrupt_handle().pending
    if guest == "spin":
        assert sb.call("add", 1, 2) == 3


def test_interrupt_handle_from_a_thread_while_the_sandbox_is_busy():
    rt = no_fuel_runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    handle = sb.interrupt_handle()
    assert isinstance(handle, aegis.InterruptHandle)
    assert not handle.pending
    outcome = {}

    def worker():
        start = time.monotonic()
        try:
            sb.call("spin")
        except BaseException as err:  # reported below
            outcome["err"] = err
        outcome["elapsed"] = time.monotonic() - start

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.2)
    # interrupt() neither waits for the call (which holds the sandbox) nor
    # needs the GIL back from it.
    start = time.monotonic()
    handle.interrupt()
    assert time.monotonic() - start < 0.05
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome["err"], aegis.InterruptedError), outcome
    assert outcome["elapsed"] <= 0.2 + 0.1 + SLACK
    assert not handle.pending
    assert "pending=False" in repr(handle)


def test_an_interrupt_with_no_call_running_stops_the_next_call():
    rt = aegis.Runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    handle = sb.interrupt_handle()
    sb.interrupt()
    assert handle.pending
    start = time.monotonic()
    with pytest.raises(aegis.InterruptedError):
        sb.call("add", 1, 2)
    assert time.monotonic() - start < 0.1
    assert not handle.pending
    assert sb.call("add", 1, 2) == 3
    # The next call may also be a (re)instantiation.
    handle.interrupt()
    module = sb.module
    with pytest.raises(aegis.InterruptedError):
        sb.reset()
    # Like any failed instantiation, the interrupted one left no module behind.
    assert sb.module is None
    sb.load_module(module)
    assert sb.call("add", 2, 2) == 4


def test_interrupting_a_closed_sandbox_is_harmless():
    rt = aegis.Runtime()
    sb = rt.sandbox(rt.load_wat(CORE_WAT))
    handle = sb.interrupt_handle()
    sb.close()
    sb.interrupt()
    handle.interrupt()
    with pytest.raises(aegis.InvalidArgumentError):
        sb.call("add", 1, 2)


def test_a_host_function_sees_the_interrupt():
    rt = no_fuel_runtime()
    sb = rt.sandbox()
    seen = {}

    def wait(caller):
        while not caller.is_cancelled():
            time.sleep(0.005)
        seen["cancelled"] = True

    sb.register_func("env", "wait", wait, caller=True)
    sb.load_module(rt.load_wat(WAIT_WAT))
    timer = interrupt_later(sb.interrupt)
    start = time.monotonic()
    try:
        with pytest.raises(aegis.InterruptedError):
            sb.call("go")
    finally:
        timer.cancel()
    assert time.monotonic() - start <= 0.2 + 0.1 + SLACK
    assert seen == {"cancelled": True}


def test_a_host_function_that_watches_for_cancellation_ends_at_the_timeout():
    rt = aegis.Runtime(timeout=0.3)
    sb = rt.sandbox()
    remaining = []

    def wait(caller):
        remaining.append(caller.time_remaining)
        while not caller.is_cancelled():
            time.sleep(0.005)
        remaining.append(caller.time_remaining)

    sb.register_func("env", "wait", wait, caller=True)
    sb.load_module(rt.load_wat(WAIT_WAT))
    start = time.monotonic()
    with pytest.raises(aegis.AegisTimeoutError) as info:
        sb.call("go")
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed <= 0.3 + SLACK, elapsed
    assert info.value.limit == pytest.approx(0.3)
    assert 0.0 < remaining[0] <= 0.3
    assert remaining[1] == 0.0


def test_a_host_function_that_overruns_the_timeout_fails_the_call():
    rt = aegis.Runtime(timeout=0.3)
    sb = rt.sandbox()
    sb.register_func("env", "wait", lambda: time.sleep(2))
    sb.load_module(rt.load_wat(WAIT_WAT))
    start = time.monotonic()
    # The callback cannot be preempted, but its success does not count.
    with pytest.raises(aegis.AegisTimeoutError):
        sb.call("go")
    assert time.monotonic() - start >= 2


def test_time_remaining_without_a_timeout_is_none():
    rt = aegis.Runtime(timeout=None)
    sb = rt.sandbox()
    seen = []
    sb.register_func(
        "env", "wait", lambda c: seen.append((c.time_remaining, c.is_cancelled())), caller=True
    )
    sb.load_module(rt.load_wat(WAIT_WAT))
    sb.call("go")
    assert seen == [(None, False)]


def test_caller_reads_check_bounds_before_allocating():
    rt = aegis.Runtime()
    sb = rt.sandbox()
    outcomes = []

    def log(caller, ptr, length):
        for offset, size in [(0, 2**40), (0, 2**64), (0, 2**70), (0, -1), (2**64, 1), (-1, 1)]:
            for read in (caller.read_memory, caller.read_string):
                try:
                    read(offset, size)
                except aegis.InvalidArgumentError as err:
                    outcomes.append(("refused", str(err)))
                except BaseException as err:  # MemoryError, OverflowError: wrong
                    outcomes.append(("wrong", repr(err)))
                else:
                    outcomes.append(("read", offset, size))
        try:
            caller.write_memory(2**64, b"x")
        except aegis.InvalidArgumentError as err:
            outcomes.append(("refused", str(err)))
        assert caller.read_string(ptr, length) == "hello from wasm"

    sb.register_func("env", "offset", lambda: 0, results=["i32"])
    sb.register_func("env", "log", log, params=["i32", "i32"], caller=True)
    sb.register_func("env", "fscale", lambda x: x, params=["f64"], results=["f64"])
    sb.load_module(rt.load_wat(HOST_WAT))
    sb.call("say")
    assert len(outcomes) == 13
    assert all(kind == "refused" for kind, *_ in outcomes), outcomes
    assert all("out of bounds" in text for _, text in outcomes), outcomes
