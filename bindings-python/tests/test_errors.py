"""The exception hierarchy: one class per stable code, details as attributes."""

import json
import typing

import pytest

import aegis
from aegis import _aegis

EXPECTED = {
    "invalid_module": aegis.InvalidModuleError,
    "link_error": aegis.LinkError,
    "export_not_found": aegis.ExportNotFoundError,
    "signature_mismatch": aegis.SignatureMismatchError,
    "out_of_fuel": aegis.OutOfFuelError,
    "timeout": aegis.AegisTimeoutError,
    "memory_limit_exceeded": aegis.MemoryLimitExceededError,
    "stack_overflow": aegis.StackOverflowError,
    "trap": aegis.TrapError,
    "host_function": aegis.HostFunctionError,
    "permission_denied": aegis.PermissionDeniedError,
    "io": aegis.AegisIOError,
    "invalid_argument": aegis.InvalidArgumentError,
    "exit": aegis.ExitError,
    "interrupted": aegis.AegisInterruptedError,
    "module_too_complex": aegis.ModuleTooComplexError,
    "busy": aegis.BusyError,
    "memory_out_of_bounds": aegis.MemoryOutOfBoundsError,
    "result_too_large": aegis.ResultTooLargeError,
    "invalid_result": aegis.InvalidResultError,
}


def test_all_errors():
    """Every code of the core's list maps to its own class, and every detail
    the core gives is an attribute of the same name and value (pydantic-core's
    test_all_errors, for Aegis)."""
    codes = aegis.ERROR_CODES
    assert len(codes) == len(set(codes)) == 20
    assert set(codes) == set(aegis.ERROR_CLASSES) == set(EXPECTED)
    classes = [aegis.ERROR_CLASSES[code] for code in codes]
    assert len(set(classes)) == len(classes), "one distinct class per code"
    seen_details = set()
    for code, cls in zip(codes, classes):
        assert cls is EXPECTED[code]
        assert cls.code == code
        assert issubclass(cls, aegis.AegisError) and cls is not aegis.AegisError
        assert cls.__doc__
        assert cls.__name__ in aegis.__all__
        err = _aegis._sample_error(code)
        core = json.loads(_aegis._sample_error_json(code))
        assert type(err) is cls
        assert err.code == core.pop("code") == code
        assert err.message == str(err) == core.pop("message")
        declared = typing.get_type_hints(cls)
        for name, value in core.items():
            assert name in aegis.DETAIL_NAMES, name
            assert getattr(err, name) == value, (code, name)
            assert type(getattr(err, name)) is type(value), (code, name)
            assert name in declared, f"{cls.__name__} does not declare {name}"
            assert name in (cls.__doc__ or ""), f"{cls.__name__} does not document {name}"
        seen_details |= set(core)
    # The samples cover every detail name the core has.
    assert seen_details == set(aegis.DETAIL_NAMES)


def test_details_are_attributes():
    err = _aegis._sample_error("timeout")
    assert (err.elapsed, err.limit) == (1.5, 1.0)  # seconds
    err = _aegis._sample_error("memory_limit_exceeded")
    assert (err.resource, err.requested, err.limit) == ("memory", 2, 1)
    err = _aegis._sample_error("trap")
    assert (err.trap_code, err.backtrace) == ("unreachable", "0: f")
    assert _aegis._sample_error("exit").status == -3
    assert _aegis._sample_error("interrupted").elapsed == 0.25
    err = _aegis._sample_error("permission_denied")
    assert (err.capability, err.operation, err.target) == ("filesystem", "path_open", "/etc")
    err = _aegis._sample_error("busy")
    assert isinstance(err, aegis.BusyError) and err.code == "busy"
    assert "busy" in err.message
    err = _aegis._sample_error("memory_out_of_bounds")
    assert (err.offset, err.len, err.size) == (65530, 16, 65536)
    err = _aegis._sample_error("result_too_large")
    assert (err.size, err.limit) == (2048, 1024)
    err = _aegis._sample_error("invalid_result")
    assert isinstance(err, aegis.InvalidResultError) and "UTF-8" in err.message


def test_an_unknown_code_is_still_an_aegis_error():
    from aegis import errors

    err = errors._make("from_the_future", "m", {"limit": 1})
    assert type(err) is aegis.AegisError
    assert (err.code, err.message, err.limit) == ("from_the_future", "m", 1)


def test_builtins_are_not_shadowed():
    import builtins

    ns = {}
    exec("from aegis import *", ns)
    assert "TimeoutError" not in ns and "IOError" not in ns
    assert "InterruptedError" not in ns
    assert aegis.AegisTimeoutError is not builtins.TimeoutError
    # `aegis.InterruptedError` is the Aegis class, spelled as asked for; the
    # builtin (EINTR) stays what `from aegis import *` leaves in place.
    assert aegis.InterruptedError is aegis.AegisInterruptedError
    assert aegis.InterruptedError is not builtins.InterruptedError
    assert not issubclass(aegis.InterruptedError, OSError)


# The same codes raised by real hostile guests.


def test_out_of_fuel(sandbox):
    with pytest.raises(aegis.OutOfFuelError) as info:
        sandbox.call("spin")
    assert info.value.limit == 5_000_000
    assert info.value.consumed >= info.value.limit


def test_timeout():
    rt = aegis.Runtime(fuel_limit=None, timeout=0.2)
    from conftest import CORE_WAT

    with rt.sandbox(rt.load_wat(CORE_WAT)) as sb:
        with pytest.raises(aegis.AegisTimeoutError) as info:
            sb.call("spin")
    assert info.value.code == "timeout"
    assert info.value.limit == pytest.approx(0.2)
    assert info.value.elapsed >= 0.19


def test_memory_limit_exceeded(runtime, core_module):
    with runtime.sandbox(core_module, memory_limit=4 * 65536) as sb:
        assert sb.call("grow", 2) == 1
        with pytest.raises(aegis.MemoryLimitExceededError) as info:
            sb.call("grow", 10)
    assert info.value.resource == "memory"
    assert info.value.requested == 13 * 65536
    assert info.value.limit == 4 * 65536


def test_stack_overflow(sandbox):
    with pytest.raises(aegis.StackOverflowError) as info:
        sandbox.call("recurse", 1)
    assert info.value.limit == 512 * 1024


def test_traps(sandbox):
    with pytest.raises(aegis.TrapError) as info:
        sandbox.call("boom")
    assert info.value.trap_code == "unreachable"
    with pytest.raises(aegis.TrapError) as info:
        sandbox.call("div", 1, 0)
    assert info.value.trap_code == "integer_division_by_zero"
    with pytest.raises(aegis.TrapError) as info:
        sandbox.call("load", 70000)
    assert info.value.trap_code == "memory_out_of_bounds"


def test_export_not_found(sandbox):
    with pytest.raises(aegis.ExportNotFoundError) as info:
        sandbox.call("missing")
    assert info.value.name == "missing"
    assert "add" in info.value.available
    with pytest.raises(aegis.ExportNotFoundError):
        sandbox.call("memory")  # an export, but not a function


def test_link_error(runtime):
    from conftest import HOST_WAT

    with runtime.sandbox() as sb:
        with pytest.raises(aegis.LinkError) as info:
            sb.load_module(runtime.load_wat(HOST_WAT))
    assert info.value.module == "env"
    assert info.value.name in {"offset", "log", "fscale"}


def test_exit(runtime):
    from conftest import WASI_WAT

    with runtime.sandbox(runtime.load_wat(WASI_WAT)) as sb:
        with pytest.raises(aegis.ExitError) as info:
            sb.call("exit", 3)
        assert info.value.status == 3
        # The core's rule: proc_exit(0) ends an export without results successfully.
        assert sb.call("exit", 0) is None


def test_proc_exit_zero_follows_the_core_rule(runtime):
    wat = """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "quit") (call $exit (i32.const 0)))
      (func (export "quit_with_result") (result i32) (call $exit (i32.const 0)) (i32.const 1)))"""
    with runtime.sandbox(runtime.load_wat(wat)) as sb:
        assert sb.call("quit") is None
        assert sb.call_void("quit") is None
        # An export with results cannot produce them: an `exit` error, status 0.
        with pytest.raises(aegis.ExitError) as info:
            sb.call("quit_with_result")
        assert info.value.status == 0
        sb.call_void("quit_with_result")  # call_void wants no results: success
