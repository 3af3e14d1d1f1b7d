"""The exception hierarchy: one class per stable code, details as attributes."""

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
}


def test_every_core_code_has_a_class():
    # ERROR_CLASSES is built from the core's ErrorCode::ALL.
    assert set(_aegis.ERROR_CLASSES) == set(EXPECTED)
    for code, name in _aegis.ERROR_CLASSES.items():
        cls = getattr(aegis, name)
        assert cls is EXPECTED[code]
        assert cls.code == code
        assert issubclass(cls, aegis.AegisError)
        assert cls.__doc__
        assert name in aegis.__all__


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_core_errors_map_to_their_class(code):
    err = _aegis._sample_error(code)
    assert type(err) is EXPECTED[code]
    assert err.code == code
    assert err.message == str(err)


def test_details_are_attributes():
    err = _aegis._sample_error("out_of_fuel")
    assert (err.consumed, err.limit) == (10, 10)
    err = _aegis._sample_error("timeout")
    assert (err.elapsed, err.limit) == (1.5, 1.0)
    err = _aegis._sample_error("memory_limit_exceeded")
    assert (err.resource, err.requested, err.limit) == ("memory", 2, 1)
    err = _aegis._sample_error("link_error")
    assert (err.module, err.name, err.reason) == ("env", "f", "missing")
    err = _aegis._sample_error("export_not_found")
    assert (err.name, err.available) == ("nope", ["add"])
    err = _aegis._sample_error("signature_mismatch")
    assert err.expected == "(i32) -> ()"
    err = _aegis._sample_error("stack_overflow")
    assert err.limit == 4096
    err = _aegis._sample_error("trap")
    assert err.trap_code == "unreachable"
    assert _aegis._sample_error("exit").status == 3
    assert _aegis._sample_error("interrupted").elapsed == 0.25
    err = _aegis._sample_error("module_too_complex")
    assert (err.what, err.found, err.limit) == ("locals in one function", 100_000, 50_000)
    assert "path_open" in _aegis._sample_error("permission_denied").message


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
        # `call` reports every proc_exit; `run` and `call_void` treat status 0 as success.
        with pytest.raises(aegis.ExitError) as info:
            sb.call("exit", 0)
        assert info.value.status == 0
