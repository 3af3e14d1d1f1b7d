"""Component-model calls with WIT values as Python objects, and Python host
functions for component imports (real guests: tests/guests/components)."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import aegis

ROOT = Path(__file__).resolve().parents[2]
GUESTS = ROOT / "target" / "guests" / "out"


def guest(runtime: aegis.Runtime, name: str) -> aegis.Module:
    path = GUESTS / name
    assert path.exists(), f"{path} is missing: run scripts/build-guests.sh"
    return runtime.load_file(path)


@pytest.fixture(scope="module")
def values_runtime() -> aegis.Runtime:
    return aegis.Runtime(fuel_limit=50_000_000, timeout=10)


@pytest.fixture(scope="module")
def values_module(values_runtime) -> aegis.Module:
    return guest(values_runtime, "values.wasm")


@pytest.fixture
def values(values_runtime, values_module):
    with values_runtime.sandbox(values_module) as sb:
        yield sb


POINT = {"x": -3, "y": 2**31 - 1, "label": "p ✓"}

# Every echo export with values that must come back equal (and of the same type).
ECHOES = [
    ("echo-bool", [True, False]),
    ("echo-s8", [-128, 0, 127]),
    ("echo-u8", [0, 255]),
    ("echo-s16", [-(2**15), 2**15 - 1]),
    ("echo-u16", [0, 2**16 - 1]),
    ("echo-s32", [-(2**31), 2**31 - 1]),
    ("echo-u32", [0, 2**32 - 1]),
    ("echo-s64", [-(2**63), 2**63 - 1]),
    ("echo-u64", [0, 2**64 - 1]),
    ("echo-f32", [0.0, 1.5, -2.25, float("inf")]),
    ("echo-f64", [0.1, -1e300, float("-inf")]),
    ("echo-char", ["a", "é", "🦀"]),
    ("echo-string", ["", "hello", "héllo wörld 🦀", "x" * 100_000]),
    ("echo-bytes", [b"", b"\x00\x01\xff", bytes(range(256)) * 40]),
    ("echo-strings", [[], ["a", "", "ü"]]),
    ("echo-record", [POINT]),
    ("echo-tuple", [(7, "seven", True)]),
    (
        "echo-variant",
        [{"circle": 1.5}, {"rect": POINT}, {"empty": None}],
    ),
    ("echo-enum", ["red", "green", "blue"]),
    ("echo-option", [None, "", "some text"]),
    ("echo-nested-option", [None, {"some": None}, {"some": 0}, {"some": 7}]),
    ("echo-result", [{"ok": "fine"}, {"err": "broken"}]),
    ("echo-flags", [[], ["read"], ["read", "write", "exec"]]),
    ("echo-points", [[], [POINT, {"x": 0, "y": 0, "label": ""}]]),
    ("echo-nested", [[], [[], [1, 2], [2**32 - 1]]]),
]


@pytest.mark.parametrize("name,samples", ECHOES, ids=[e[0] for e in ECHOES])
def test_every_wit_type_round_trips(values, name, samples):
    for value in samples:
        out = values.call(name, value)
        assert out == value, (name, value, out)
        assert type(out) is type(value), (name, type(out))


def test_every_echo_export_is_covered(values_module):
    echoes = {e.name for e in values_module.exports if e.name.startswith("echo-")}
    assert echoes == {name for name, _ in ECHOES}


def test_results_map_to_python_types(values):
    assert values.call("echo-option", "x") == "x"
    # option<option<T>>: the outer `some` only shows when it wraps none.
    assert values.call("echo-nested-option", 5) == {"some": 5}
    assert values.call("echo-nested-option", {"some": 5}) == {"some": 5}
    assert values.call("echo-f32", 0.1) == pytest.approx(0.1, rel=1e-7)
    assert math.isnan(values.call("echo-f64", float("nan")))
    record = values.call("echo-record", {"label": "l", "y": 2, "x": 1})
    assert list(record) == ["x", "y", "label"], "fields in WIT order"
    assert values.call("nothing") is None
    assert values.call("greet", "world") == "Hello, world!"
    assert values.call("add", 2, 40) == 42
    assert values.call("divide", 7, 2) == {"ok": 3}
    assert values.call("divide", 1, 0) == {"err": "division by zero"}
    assert values.call("make-bytes", 3) == b"aaa"
    assert values.call("make-string", 4) == "aaaa"


def test_interface_exports_are_called_by_interface_and_name(values):
    assert values.call("aegis:test/text#upper", "héllo") == "HÉLLO"
    assert values.call("aegis:test/text#count", "héllo 🦀") == 7


def test_lenient_inputs(values):
    assert values.call("echo-bytes", bytearray(b"ab")) == b"ab"
    assert values.call("echo-bytes", memoryview(b"ab")) == b"ab"
    assert values.call("echo-bytes", [97, 98]) == b"ab"
    assert values.call("echo-tuple", [1, "a", False]) == (1, "a", False)
    assert values.call("echo-strings", ("a", "b")) == ["a", "b"]
    assert sorted(values.call("echo-flags", {"exec", "read"})) == ["exec", "read"]
    assert values.call("echo-flags", frozenset({"write"})) == ["write"]
    assert values.call("echo-flags", ("read", "read")) == ["read"]
    assert values.call("echo-variant", "empty") == {"empty": None}
    assert values.call("echo-f64", 3) == 3.0
    assert values.call("echo-s64", 5) == 5


def test_wrong_types_are_signature_mismatches(values):
    cases = [
        ("echo-string", 5, "argument 1 (v): expected string, got int"),
        ("echo-u8", True, "expected u8, got bool"),
        ("echo-record", {"x": 1, "y": 2, "label": 3}, "argument 1 (v).label: expected string"),
        ("echo-points", [POINT, 7], "argument 1 (v)[1]"),
        ("echo-bool", 1, "expected bool, got int"),
        ("echo-string", object(), "a Python object has no WIT value"),
        ("echo-record", {1: 2}, "a dict key must be a str"),
        ("echo-variant", {"circle": "round"}, "expected f64"),
        ("echo-tuple", (1, "a"), "argument 1 (v)"),
    ]
    for name, value, given in cases:
        with pytest.raises(aegis.SignatureMismatchError) as info:
            values.call(name, value)
        err = info.value
        assert err.code == "signature_mismatch"
        assert err.name == name
        assert err.expected.startswith("func(v: "), err.expected
        assert given in err.given, (name, err.given)
    with pytest.raises(aegis.SignatureMismatchError, match="1 arguments") as arity:
        values.call("add", 1)
    assert arity.value.expected == "func(a: s32, b: s32) -> s32"


def test_bad_values_are_invalid_arguments(values):
    cases = [
        ("echo-u8", 256, "out of range for u8"),
        ("echo-s8", -129, "out of range"),
        ("echo-u64", -1, "out of range"),
        ("echo-u64", 2**64, "out of range"),
        ("echo-s64", 2**200, "out of range"),
        ("echo-char", "ab", "one character"),
        ("echo-enum", "purple", "not a case"),
        ("echo-variant", {"hexagon": None}, "not a case"),
        ("echo-record", {"x": 1, "y": 2}, "missing field `label`"),
        ("echo-record", {**POINT, "z": 0}, "no field `z`"),
        ("echo-flags", ["read", "fly"], "not a case"),
        ("echo-string", "\ud800", "not valid Unicode"),
    ]
    for name, value, message in cases:
        with pytest.raises(aegis.InvalidArgumentError, match=message):
            values.call(name, value)


def test_self_referencing_and_deep_values_are_refused(values):
    loop: List[Any] = []
    loop.append(loop)
    with pytest.raises(aegis.InvalidArgumentError, match="nested more than"):
        values.call("echo-nested", loop)
    deep: List[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(aegis.InvalidArgumentError, match="nested more than"):
        values.call("echo-nested", deep)


def test_unknown_exports_and_core_style_calls(values):
    with pytest.raises(aegis.ExportNotFoundError) as info:
        values.call("missing")
    assert "aegis:test/text#upper" in info.value.available
    with pytest.raises(aegis.ExportNotFoundError):
        values.call("aegis:test/text#missing", "x")


RESOURCE_WAT = r"""(component
  (type $r (resource (rep i32)))
  (export $r2 "r" (type $r))
  (core module $m (func (export "f") (param i32)))
  (core instance $i (instantiate $m))
  (func (export "take") (param "x" (own $r2)) (canon lift (core func $i "f"))))"""


def test_resources_are_refused_with_a_clear_error():
    runtime = aegis.Runtime()
    module = runtime.load_wat(RESOURCE_WAT)
    take = module.export("take")
    assert take is not None and str(take.type) == "func(x: own<resource>)"
    with runtime.sandbox(module) as sb:
        with pytest.raises(aegis.InvalidArgumentError, match="resources, futures and streams"):
            sb.call("take", 1)


def test_exports_and_imports_show_wit_signatures(values_module):
    greet = values_module.export("greet")
    assert greet is not None
    assert greet.kind == "function"
    assert isinstance(greet.type, aegis.WitFuncType)
    assert greet.type.params == [("name", "string")]
    assert greet.type.result == "string"
    assert greet.type.signature == str(greet.type) == "func(name: string) -> string"
    assert str(greet) == "greet [function]: func(name: string) -> string"
    nothing = values_module.export("nothing")
    assert nothing is not None and nothing.type.result is None  # type: ignore[union-attr]
    shown = [str(e) for e in values_module.exports]
    assert "aegis:test/text#upper [function]: func(s: string) -> string" in shown
    assert (
        "echo-record [function]: func(v: record { x: s32, y: s32, label: string })"
        " -> record { x: s32, y: s32, label: string }"
    ) in shown
    assert "aegis:test/text#count" in values_module.function_names
    assert values_module.is_component

    plugin = guest(aegis.Runtime(), "plugin.wasm")
    imports = {f"{i.module}#{i.name}" if i.module else i.name: i for i in plugin.imports}
    transform = imports["aegis:test/host#transform"]
    assert (transform.module, transform.name, transform.kind) == ("aegis:test/host", "transform", "function")
    assert str(transform) == "aegis:test/host#transform [function]: func(s: string) -> string"
    assert imports["log"].module == ""
    assert str(imports["log"].type) == "func(msg: string)"
    assert imports["aegis:test/host#maybe"].type.result == "result<u32, string>"  # type: ignore[union-attr]


def test_component_calls_run_under_the_limits(values_runtime, values_module):
    with values_runtime.sandbox(values_module, fuel_limit=1_000_000) as sb:
        with pytest.raises(aegis.OutOfFuelError):
            sb.call("spin")
    with values_runtime.sandbox(values_module, fuel_limit=None, timeout=0.2) as sb:
        start = time.monotonic()
        with pytest.raises(aegis.AegisTimeoutError):
            sb.call("spin")
        assert time.monotonic() - start < 2
    with values_runtime.sandbox(values_module, fuel_limit=None) as sb:
        threading.Timer(0.1, sb.interrupt).start()  # needs the GIL while the call runs
        with pytest.raises(aegis.InterruptedError):
            sb.call("spin")
    with values_runtime.sandbox(values_module, memory_limit="4MiB") as sb:
        with pytest.raises(aegis.MemoryLimitExceededError):
            sb.call("grow", 100)


def test_a_trapped_component_needs_a_reset(values):
    with pytest.raises(aegis.TrapError):
        values.call("do-panic")
    with pytest.raises(aegis.TrapError) as info:
        values.call("greet", "again")
    assert info.value.trap_code == "cannot_enter_component"
    assert "reset" in info.value.message
    values.reset()
    assert values.call("greet", "again") == "Hello, again!"


def test_component_calls_are_metered(values):
    values.call("greet", "x")
    metrics = values.last_call_metrics
    assert metrics.calls == 1 and metrics.fuel_consumed > 0 and metrics.wall_time > 0
    values.call("add", 1, 2)
    assert values.metrics.calls >= 2


def test_results_are_bounded_by_result_limit(values_runtime, values_module):
    def limited() -> aegis.Sandbox:
        return values_runtime.sandbox(values_module, result_limit=1000)

    with limited() as sb:
        assert sb.limits.result_bytes == 1000
        assert sb.call("make-string", 1000) == "a" * 1000
        # A list<u8> takes 40 bytes per element as wasmtime converts it.
        assert sb.call("make-bytes", 25) == b"a" * 25
    with limited() as sb:
        with pytest.raises(aegis.ResultTooLargeError) as info:
            sb.call("make-string", 1001)
        assert info.value.limit == 1000 and info.value.size > 1000
    with limited() as sb:
        with pytest.raises(aegis.ResultTooLargeError):
            sb.call("make-bytes", 26)
    with values_runtime.sandbox(values_module, result_limit="1MiB") as sb:
        assert sb.call("make-string", 100_000) == "a" * 100_000


# --- host functions for component imports --------------------------------


class Host:
    """Python implementations of every import of plugin.wasm."""

    def __init__(self) -> None:
        self.logged: List[str] = []
        self.seen: List[Any] = []

    def transform(self, s: str) -> str:
        return s.upper()

    def add(self, a: int, b: int) -> int:
        return a + b

    def describe(self, p: Dict[str, Any]) -> str:
        self.seen.append(p)
        return f"{p['label']} at ({p['x']}, {p['y']})"

    def bytes_len(self, b: bytes) -> int:
        self.seen.append(b)
        return len(b)

    def maybe(self, v: Any) -> Any:
        return {"err": "nothing"} if v is None else {"ok": v + 1}

    def log(self, msg: str) -> None:
        self.logged.append(msg)

    def functions(self) -> Dict[str, Callable[..., Any]]:
        return {
            "aegis:test/host#transform": self.transform,
            "aegis:test/host#add": self.add,
            "aegis:test/host#describe": self.describe,
            "aegis:test/host#bytes-len": self.bytes_len,
            "aegis:test/host#maybe": self.maybe,
            "log": self.log,
        }


def plugin(runtime: aegis.Runtime, host: Host, **overrides: Callable[..., Any]) -> aegis.Sandbox:
    sb = runtime.sandbox()
    for name, func in {**host.functions(), **overrides}.items():
        sb.register_component(name, func)
    sb.load_module(guest(runtime, "plugin.wasm"))
    return sb


@pytest.fixture
def plugin_runtime():
    return aegis.Runtime(fuel_limit=50_000_000, timeout=10)


def test_every_import_is_implemented_in_python(plugin_runtime):
    host = Host()
    with plugin(plugin_runtime, host) as sb:
        assert sb.call("call-transform", "héllo") == "HÉLLO"
        assert sb.call("call-add", 2**62, 2**62 - 1) == 2**63 - 1
        assert sb.call("call-describe", {"x": 1, "y": -2, "label": "p"}) == "p at (1, -2)"
        assert sb.call("call-bytes-len", b"\x00" * 1000) == 1000
        assert sb.call("call-maybe", None) == {"err": "nothing"}
        assert sb.call("call-maybe", 41) == {"ok": 42}
        assert sb.call("call-log", "hello host") is None
        assert sb.call("call-transform-n", "ab", 3) == "AB"
        assert sb.last_call_metrics.host_calls == 3
    assert host.logged == ["hello host"]
    # The host receives dicts and bytes, as calls return them.
    assert host.seen == [{"x": 1, "y": -2, "label": "p"}, b"\x00" * 1000]


def test_a_host_exception_is_a_host_function_error_then_a_reset(plugin_runtime):
    class Refused(Exception):
        pass

    def transform(s: str) -> str:
        if s == "bad":
            raise Refused("no thanks")
        return s

    with plugin(plugin_runtime, Host(), **{"aegis:test/host#transform": transform}) as sb:
        with pytest.raises(aegis.HostFunctionError, match="no thanks") as info:
            sb.call("call-transform", "bad")
        assert isinstance(info.value.__cause__, Refused)
        with pytest.raises(aegis.TrapError) as trapped:
            sb.call("call-transform", "good")
        assert trapped.value.trap_code == "cannot_enter_component"
        sb.reset()
        assert sb.call("call-transform", "good") == "good"


def test_host_results_of_the_wrong_type_fail_the_call(plugin_runtime):
    wrong: Dict[str, Callable[..., Any]] = {
        "aegis:test/host#transform": lambda s: 5,
        "aegis:test/host#maybe": lambda v: "neither",
        "log": lambda msg: "unexpected",
        "aegis:test/host#add": lambda a, b: object(),
    }
    calls = {
        "aegis:test/host#transform": ("call-transform", "x"),
        "aegis:test/host#maybe": ("call-maybe", 1),
        "log": ("call-log", "x"),
        "aegis:test/host#add": ("call-add", 1, 2),
    }
    for name, func in wrong.items():
        with plugin(plugin_runtime, Host(), **{name: func}) as sb:
            with pytest.raises(aegis.HostFunctionError):
                sb.call(*calls[name])
    with plugin(plugin_runtime, Host(), log=lambda msg: "unexpected") as sb:
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("call-log", "x")
        assert isinstance(info.value.__cause__, TypeError)
        assert "must return None" in str(info.value.__cause__)


def test_a_host_function_cannot_reenter_its_sandbox(plugin_runtime):
    box: List[aegis.Sandbox] = []

    def transform(s: str) -> str:
        return box[0].call("call-add", 1, 2)  # type: ignore[return-value]

    with plugin(plugin_runtime, Host(), **{"aegis:test/host#transform": transform}) as sb:
        box.append(sb)
        with pytest.raises(aegis.HostFunctionError) as info:
            sb.call("call-transform", "x")
        assert isinstance(info.value.__cause__, aegis.BusyError)


def test_host_time_counts_against_the_timeout():
    runtime = aegis.Runtime(timeout=0.2)

    def slow(s: str) -> str:
        time.sleep(0.1)
        return s

    with plugin(runtime, Host(), **{"aegis:test/host#transform": slow}) as sb:
        start = time.monotonic()
        with pytest.raises(aegis.AegisTimeoutError):
            sb.call("call-transform-n", "x", 10)
        assert time.monotonic() - start < 1.5


def test_values_passed_to_the_host_are_bounded_by_result_limit():
    runtime = aegis.Runtime(result_limit=1000)
    with plugin(runtime, Host()) as sb:
        assert sb.call("call-transform", "x" * 500) == "X" * 500
        with pytest.raises(aegis.ResultTooLargeError):
            sb.call("call-transform", "x" * 5000)


def test_registration_rules(plugin_runtime):
    host = Host()
    sb = plugin_runtime.sandbox()
    with pytest.raises(TypeError, match="callable"):
        sb.register_component("log", "not callable")  # type: ignore[arg-type]
    sb.register_component("log", host.log)
    with pytest.raises(aegis.InvalidArgumentError, match="log"):
        sb.register_component("log", host.log)
    # A missing import fails the load, naming it.
    with pytest.raises(aegis.LinkError, match="aegis:test/host"):
        sb.load_module(guest(plugin_runtime, "plugin.wasm"))
    sb.close()
