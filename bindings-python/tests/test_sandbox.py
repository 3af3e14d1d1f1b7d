"""Calls, value conversion, reset, metrics, captured output and capabilities."""

import math

import pytest

import aegis
from conftest import CORE_WAT, WASI_WAT


def test_call_each_value_type(sandbox):
    assert sandbox.call("add", 2, 3) == 3 + 2
    assert sandbox.call("add", -5, 2) == -3
    assert sandbox.call("add64", 2**40, 2**40) == 2**41
    assert sandbox.call("add64", -(2**63), 0) == -(2**63)
    assert sandbox.call("mulf32", 1.5, 2) == 3.0
    assert isinstance(sandbox.call("mulf32", 1.5, 2), float)
    assert sandbox.call("divf64", 1, 4) == 0.25
    assert math.isinf(sandbox.call("divf64", 1.0, 0.0))
    assert sandbox.call("swap", 7, 2**40) == (2**40, 7)
    assert sandbox.call("nothing") is None


def test_integer_wrapping_follows_the_core(sandbox):
    # The core accepts unsigned i32 up to 2**32-1 (wrapped, as wasm does).
    assert sandbox.call("add", 2**32 - 1, 0) == -1
    assert sandbox.call("add", 2**31 - 1, 1) == -(2**31)
    assert sandbox.call("add", True, True) == 2


def test_out_of_range_and_wrong_types(sandbox):
    with pytest.raises(aegis.InvalidArgumentError):
        sandbox.call("add", 2**32, 0)
    with pytest.raises(aegis.InvalidArgumentError):
        sandbox.call("add64", 2**64, 0)
    with pytest.raises(aegis.InvalidArgumentError):
        sandbox.call("add", -(2**31) - 1, 0)
    with pytest.raises(aegis.InvalidArgumentError):
        sandbox.call("divf64", 10**400, 1)
    with pytest.raises(aegis.SignatureMismatchError) as info:
        sandbox.call("add", 1.5, 2)
    assert info.value.expected == "(i32, i32) -> (i32)"
    assert "float" in info.value.given
    with pytest.raises(aegis.SignatureMismatchError):
        sandbox.call("add", "1", 2)
    with pytest.raises(aegis.SignatureMismatchError):
        sandbox.call("add", None, 2)
    with pytest.raises(aegis.SignatureMismatchError) as info:
        sandbox.call("add", 1)
    assert info.value.name == "add"
    with pytest.raises(aegis.SignatureMismatchError):
        sandbox.call("add", 1, 2, 3)
    with pytest.raises(aegis.SignatureMismatchError):
        sandbox.call("mulf32", "x", 1.0)


def test_state_persists_until_reset(sandbox):
    assert [sandbox.call("incr") for _ in range(3)] == [1, 2, 3]
    sandbox.call("store", 64, 1234)
    assert sandbox.call("load", 64) == 1234
    sandbox.reset()
    assert sandbox.call("incr") == 1
    assert sandbox.call("load", 64) == 0


def test_sandbox_recovers_after_hostile_calls(sandbox):
    for name, args in (("spin", ()), ("boom", ()), ("recurse", (0,))):
        with pytest.raises(aegis.AegisError):
            sandbox.call(name, *args)
        assert sandbox.call("add", 1, 1) == 2


def test_call_void(sandbox):
    assert sandbox.call_void("nothing") is None
    assert sandbox.call_void("incr") is None
    with pytest.raises(aegis.SignatureMismatchError):
        sandbox.call_void("add")
    with pytest.raises(aegis.OutOfFuelError):
        sandbox.call_void("spin")


def test_metrics(sandbox):
    sandbox.call("add", 1, 2)
    last = sandbox.last_call_metrics
    assert isinstance(last, aegis.Metrics)
    assert last.calls == 1
    assert last.fuel_consumed > 0
    assert last.wall_time >= 0.0
    assert last.memory_current == 65536
    assert last.memory_peak == 65536
    assert last.host_calls == 0
    assert last.denied_count == 0 and last.denied == []
    with pytest.raises(aegis.OutOfFuelError):
        sandbox.call("spin")
    assert sandbox.last_call_metrics.fuel_consumed == 5_000_000
    total = sandbox.metrics
    assert total.calls == 2
    assert total.fuel_consumed >= 5_000_000 + last.fuel_consumed
    assert "calls=2" in repr(total)


def test_metrics_have_the_core_names_and_units(sandbox):
    sandbox.call("add", 1, 2)
    metrics = sandbox.last_call_metrics
    assert aegis.METRIC_NAMES == [
        "calls", "wall_time", "fuel_consumed", "memory_current",
        "memory_peak", "host_calls", "denied_count", "denied",
    ]
    as_dict = metrics.to_dict()
    assert list(as_dict) == aegis.METRIC_NAMES
    for name in aegis.METRIC_NAMES:
        assert getattr(metrics, name) == as_dict[name]
        assert name in dir(metrics)
    assert isinstance(metrics.wall_time, float)  # seconds
    assert 0.0 < metrics.wall_time < 1.0
    with pytest.raises(AttributeError):
        metrics.wall_time_us


def test_metrics_without_fuel():
    rt = aegis.Runtime(fuel_limit=None, timeout=None)
    assert (rt.limits.fuel, rt.limits.timeout) == (None, None)
    with rt.sandbox(rt.load_wat(CORE_WAT)) as sb:
        sb.call("add", 1, 2)
        assert sb.last_call_metrics.fuel_consumed == 0


def test_context_manager_closes(runtime, core_module):
    with runtime.sandbox(core_module) as sb:
        assert not sb.closed
        assert sb.module is not None
    assert sb.closed
    with pytest.raises(aegis.InvalidArgumentError, match="closed"):
        sb.call("add", 1, 2)
    sb.close()  # closing twice is harmless


def test_no_module_loaded(runtime):
    with runtime.sandbox() as sb:
        assert sb.module is None
        with pytest.raises(aegis.InvalidArgumentError, match="no module"):
            sb.call("add", 1, 2)
        sb.reset()  # nothing to re-instantiate, still fine


def test_load_module_replaces_instance(runtime, core_module):
    with runtime.sandbox() as sb:
        sb.load_module(core_module)
        assert sb.call("incr") == 1
        sb.load_module(core_module)
        assert sb.call("incr") == 1


def test_module_from_other_runtime_is_refused(runtime):
    other = aegis.Runtime().load_wat(CORE_WAT)
    with runtime.sandbox() as sb:
        with pytest.raises(aegis.InvalidArgumentError, match="different runtime"):
            sb.load_module(other)


def test_captured_output_and_run(runtime):
    module = runtime.load_wat(WASI_WAT)
    with runtime.sandbox(module, capture_output=True) as sb:
        assert sb.default_entry == "_start"
        assert sb.run() is None
        sb.call("complain")
        assert sb.stdout == b"hello\n"
        assert sb.stderr == b"oops\n"


def test_output_denied_by_default(runtime, capfd):
    with runtime.sandbox(runtime.load_wat(WASI_WAT)) as sb:
        sb.run()
        assert sb.stdout == b""
        denied = sb.last_call_metrics.denied
        assert sb.last_call_metrics.denied_count == 1
        assert isinstance(denied[0], aegis.DeniedOperation)
        assert (denied[0].capability, denied[0].operation) == ("logging", "write")
        assert "stdout" in denied[0].target
        assert all(isinstance(v, str) for v in (denied[0].capability, denied[0].operation, denied[0].target))
        assert sb.metrics.denied_count == 1
    assert "hello" not in capfd.readouterr().out


def test_capture_limit(runtime):
    with runtime.sandbox(runtime.load_wat(WASI_WAT), capture_output=3) as sb:
        sb.run()
        assert sb.stdout == b"hel"
        assert sb.output_dropped == (3, 0)
        sb.clear_output()
        assert (sb.stdout, sb.output_dropped) == (b"", (0, 0))


def test_env_and_clock_grants(runtime):
    module = runtime.load_wat(WASI_WAT)
    with runtime.sandbox(module) as sb:
        assert sb.call("env_count") == 0
        assert sb.call("now") == 0  # no clock grant: a frozen clock
        assert sb.last_call_metrics.denied[0].capability == "clock"
    with runtime.sandbox(module, env={"A": "1", "B": "2"}, allow_clock=True) as sb:
        assert sb.call("env_count") == 2
        assert sb.call("now") > 0


def test_directory_grants(runtime, tmp_path):
    module = runtime.load_wat(WASI_WAT)
    ebadf = 8
    with runtime.sandbox(module) as sb:
        assert sb.call("prestat", 3) == ebadf
    with runtime.sandbox(module, allow_read=[tmp_path]) as sb:
        assert sb.call("prestat", 3) == 0
    with runtime.sandbox(module, map_dirs=[{"host": tmp_path, "guest": "/data", "access": "write"}]) as sb:
        assert sb.call("prestat", 3) == 0
    with pytest.raises(aegis.AegisIOError):
        runtime.sandbox(module, allow_read=[tmp_path / "missing"])


def test_per_sandbox_limits_override_runtime(runtime, core_module):
    assert runtime.limits.fuel == 5_000_000
    assert runtime.limits.timeout == 10.0
    assert runtime.limits.memory == 64 * 1024 * 1024
    assert runtime.limits.stack == 512 * 1024
    with runtime.sandbox(core_module, fuel_limit=1000, memory_limit=1 << 20) as sb:
        assert (sb.limits.fuel, sb.limits.memory) == (1000, 1 << 20)
        with pytest.raises(aegis.OutOfFuelError) as info:
            sb.call("spin")
        assert info.value.limit == 1000


def test_on_denied_error_fails_the_call_naming_the_refusal(runtime):
    module = runtime.load_wat(WASI_WAT)
    with runtime.sandbox(module, on_denied="error") as sb:
        with pytest.raises(aegis.PermissionDeniedError) as info:
            sb.call("now")
        err = info.value
        assert err.code == "permission_denied"
        assert (err.capability, err.operation) == ("clock", "clock_time_get")
        assert isinstance(err.target, str)
        assert sb.last_call_metrics.denied_count == 1


def test_allowed_modules_refuse_other_modules():
    import hashlib

    digest = hashlib.sha256(CORE_WAT.encode()).hexdigest()
    rt = aegis.Runtime(allowed_modules=[f"sha256:{digest}"])
    rt.load_bytes(CORE_WAT.encode())
    with pytest.raises(aegis.PermissionDeniedError) as info:
        rt.load_wat("(module)")
    assert (info.value.capability, info.value.operation) == ("module", "load")
    assert info.value.target.startswith("sha256:")
