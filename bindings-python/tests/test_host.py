"""Python host functions: values, guest memory, failures and their causes."""

import pytest

import aegis
from conftest import HOST_WAT


def make(runtime, offset=lambda: 10, log=lambda caller, ptr, n: None, fscale=lambda x: x * 2):
    sb = runtime.sandbox()
    sb.register_func("env", "offset", offset, results=["i32"])
    sb.register_func("env", "log", log, params=["i32", "i32"], caller=True)
    sb.register_func("env", "fscale", fscale, params=["f64"], results=["f64"])
    sb.load_module(runtime.load_wat(HOST_WAT))
    return sb


def test_host_function_values(runtime):
    with make(runtime) as sb:
        assert sb.call("add_offset", 5) == 15
        assert sb.call("scale", 1.25) == 2.5
        assert sb.call("offset_twice") == 20
        assert sb.last_call_metrics.host_calls == 2
        assert sb.metrics.host_calls == 4


def test_caller_reads_and_writes_guest_memory(runtime):
    seen = []

    def log(caller, ptr, length):
        seen.append(caller.read_string(ptr, length))
        assert caller.memory_size() == 65536
        assert caller.read_memory(ptr, 5).lower() == b"hello"
        caller.write_memory(ptr, b"HELLO")

    with make(runtime, log=log) as sb:
        sb.call("say")
        sb.call("say")
    assert seen == ["hello from wasm", "HELLO from wasm"]


def test_caller_is_only_valid_during_the_callback(runtime):
    kept = []

    def log(caller, ptr, length):
        kept.append(caller)

    with make(runtime, log=log) as sb:
        sb.call("say")
    with pytest.raises(aegis.InvalidArgumentError, match="only valid"):
        kept[0].read_memory(0, 1)


def test_caller_out_of_bounds_read_is_an_error(runtime):
    def log(caller, ptr, length):
        caller.read_memory(65530, 100)

    with make(runtime, log=log) as sb:
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("say")
    assert isinstance(info.value.__cause__, aegis.InvalidArgumentError)
    assert "out of bounds" in str(info.value.__cause__)


def test_exception_in_callback_is_the_cause(runtime):
    original = ValueError("no offset for you")

    def offset():
        raise original

    with make(runtime, offset=offset) as sb:
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("add_offset", 1)
        assert info.value.code == "host_function"
        assert info.value.__cause__ is original
        assert "ValueError: no offset for you" in info.value.message
        assert info.value.__cause__.__traceback__ is not None
        # The guest trapped, the sandbox still works.
        sb.reset()


def test_wrong_return_values_trap_with_type_error(runtime):
    for bad in (lambda: None, lambda: "ten", lambda: (1, 2), lambda: 1.5):
        with make(runtime, offset=bad) as sb:
            with pytest.raises(aegis.HostFunctionError) as info:
                sb.call("add_offset", 1)
            assert isinstance(info.value.__cause__, TypeError)


def test_out_of_range_return_value(runtime):
    with make(runtime, offset=lambda: 2**40) as sb:
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("add_offset", 1)
    assert isinstance(info.value.__cause__, TypeError)


def test_multi_value_host_function(runtime):
    wat = """(module
      (import "env" "pair" (func $pair (param i32) (result i32 i64)))
      (func (export "sum") (param i32) (result i64) (local $a i32) (local $b i64)
        (call $pair (local.get 0))
        (local.set $b) (local.set $a)
        (i64.add (i64.extend_i32_s (local.get $a)) (local.get $b))))"""
    with runtime.sandbox() as sb:
        sb.register_func("env", "pair", lambda x: (x, x * 2**33), params=["i32"], results=["i32", "i64"])
        sb.load_module(runtime.load_wat(wat))
        assert sb.call("sum", 3) == 3 + 3 * 2**33


def test_keyboard_interrupt_in_callback_propagates(runtime):
    def offset():
        raise KeyboardInterrupt

    with make(runtime, offset=offset) as sb:
        with pytest.raises(KeyboardInterrupt):
            sb.call("add_offset", 1)


def test_reentrant_use_is_refused_at_once_as_busy(runtime):
    holder = {}
    refusals = []

    def offset():
        sb = holder["sb"]
        for use in (lambda: sb.call("add_offset", 1), lambda: sb.metrics, sb.reset, sb.close):
            try:
                use()
            except aegis.BusyError as err:
                refusals.append(err)
        return 1

    with make(runtime, offset=offset) as sb:
        holder["sb"] = sb
        assert sb.call("add_offset", 1) == 2
        assert [err.code for err in refusals] == ["busy"] * 4
        assert not sb.closed
        assert sb.call("add_offset", 1) == 2  # free again


def test_reentry_refusal_is_the_cause_of_the_host_error(runtime):
    holder = {}

    with make(runtime, offset=lambda: holder["sb"].call("add_offset", 1)) as sb:
        holder["sb"] = sb
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("add_offset", 1)
        assert isinstance(info.value.__cause__, aegis.BusyError)
        assert "busy" in str(info.value.__cause__)


def test_callback_may_use_another_sandbox(runtime, core_module):
    with runtime.sandbox(core_module) as helper:
        with make(runtime, offset=lambda: helper.call("add", 20, 22)) as sb:
            assert sb.call("add_offset", 0) == 42


def test_registration_errors(runtime):
    with runtime.sandbox() as sb:
        with pytest.raises(aegis.InvalidArgumentError):
            sb.register_func("env", "f", lambda: 1, results=["u8"])
        with pytest.raises(TypeError):
            sb.register_func("env", "f", 42)


def test_missing_and_mismatched_imports(runtime):
    module = runtime.load_wat(HOST_WAT)
    with runtime.sandbox() as sb:
        sb.register_func("env", "offset", lambda: 1, results=["i64"])
        sb.register_func("env", "log", lambda p, n: None, params=["i32", "i32"])
        sb.register_func("env", "fscale", lambda x: x, params=["f64"], results=["f64"])
        with pytest.raises(aegis.LinkError) as info:
            sb.load_module(module)
    assert (info.value.module, info.value.name) == ("env", "offset")
    assert "i64" in info.value.reason
