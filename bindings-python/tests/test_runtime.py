"""Runtime options, loading, validation and module inspection."""

import datetime

import pytest

import aegis
from conftest import CORE_WAT, HOST_WAT


def test_defaults_build_and_run():
    rt = aegis.Runtime()
    with rt.sandbox(rt.load_wat(CORE_WAT)) as sb:
        assert sb.call("add", 1, 2) == 3


def test_every_option_is_accepted(tmp_path):
    # One grant per guest path: the core refuses a path granted twice.
    (tmp_path / "r").mkdir()
    (tmp_path / "w").mkdir()
    rt = aegis.Runtime(
        memory_limit="8MiB",
        fuel_limit=1_000_000,
        timeout=datetime.timedelta(seconds=2),
        stack_limit=256 * 1024,
        table_elements_limit=1000,
        allow_read=[str(tmp_path / "r")],
        allow_write=(tmp_path / "w",),
        map_dirs=[{"host": tmp_path, "guest": "/data", "access": "read"}, {"host": str(tmp_path), "guest": "/d2"}],
        capture_output=4096,
        allow_clock=True,
        env={"A": "1"},
        args=["prog", "x"],
        allow_net=["127.0.0.1:8080", "10.0.0.0/8:443"],
        random_seed=7,
        on_denied="error",
        max_module_size="1MiB",
        module_limits={"functions": 100},
    )
    assert rt.limits.memory == 8 << 20
    assert rt.limits.timeout == 2.0
    with rt.sandbox(rt.load_wat(CORE_WAT), allow_logging=False, memory_limit="1MiB") as sb:
        assert sb.call("add", 2, 2) == 4
        assert sb.limits.memory == 1 << 20


def test_none_turns_fuel_and_timeout_off_and_leaves_other_options_unset():
    rt = aegis.Runtime(fuel_limit=None, timeout=None, memory_limit=None, allow_read=None)
    assert (rt.limits.fuel, rt.limits.timeout) == (None, None)
    assert rt.limits.memory == 64 << 20
    # "off" is the core's own spelling.
    rt = aegis.Runtime(fuel_limit="off", timeout="off")
    assert (rt.limits.fuel, rt.limits.timeout) == (None, None)


def test_limits_repr_reads_as_python():
    rt = aegis.Runtime()
    assert repr(rt.limits) == (
        "Limits(memory=67108864, fuel=1000000000, timeout=30.0, stack=524288, "
        "table_elements=1000000, handles=1024, result_bytes=67108864)"
    )
    assert repr(rt) == f"<aegis.Runtime {rt.limits!r}>"
    # Off limits are None, and floats print as Python prints them.
    off = aegis.Runtime(fuel_limit=None, timeout=None).limits
    assert "fuel=None, timeout=None," in repr(off)
    short = aegis.Runtime(timeout=5e-05).limits  # Rust would print 5e-5
    assert f"timeout={short.timeout!r}," in repr(short)
    assert "Some(" not in repr(off) + repr(short)


def test_unknown_option_is_refused_by_the_core():
    with pytest.raises(aegis.InvalidArgumentError, match="unknown field `memory_limt`") as info:
        aegis.Runtime(memory_limt=1)
    assert info.value.code == "invalid_argument"
    with pytest.raises(aegis.InvalidArgumentError, match="unknown field `nope`"):
        aegis.Runtime().sandbox(nope=1)
    with pytest.raises(aegis.InvalidArgumentError, match="memory_limt"):
        aegis.Runtime(memory_limt=5)


def test_runtime_options_are_refused_on_a_sandbox(runtime):
    for name in [o["name"] for o in aegis.OPTIONS if o["scope"] == "runtime"]:
        value = {
            "module_limits": {"functions": 1},
            "allowed_modules": ["a" * 64],
            "compile_cache": "/tmp",
            "wasm_exceptions": True,
            "wasm_gc": True,
        }.get(name, 65536)
        with pytest.raises(aegis.InvalidArgumentError, match=f"{name} is a runtime option"):
            runtime.sandbox(**{name: value})


def test_bad_option_values_raise_invalid_argument():
    bad = [
        {"stack_limit": 100},
        {"timeout": 0},
        {"timeout": -1},
        {"timeout": float("nan")},
        {"allow_net": ["not a rule"]},
        {"allow_net": "127.0.0.1:80"},  # a list, as the core says
        {"map_dirs": [{"host": "/tmp", "guest": "/t", "access": "execute"}]},
        {"allow_logging": True, "capture_output": True},
        {"memory_limit": -1},
        {"memory_limit": "5 apples"},
        {"memory_limit": 2**70},
        {"env": ["A=1"]},
        {"env": {1: "x"}},
        {"args": "prog"},
        {"allow_read": {"/tmp"}},  # a set: no JSON form
        {"handle_limit": "many"},
        {"on_denied": "ignore"},
        {"allowed_modules": ["zz"]},
    ]
    for options in bad:
        with pytest.raises(aegis.InvalidArgumentError):
            aegis.Runtime(**options)
    with pytest.raises(aegis.InvalidArgumentError, match="allow_logging and capture_output"):
        aegis.Runtime(allow_logging=True, capture_output=1024)


def test_from_policy_text_file_and_overrides(tmp_path):
    toml = 'memory_limit = "16MiB"\nfuel_limit = 1000\ntimeout = 2.5\n[env]\nA = "1"\n'
    rt = aegis.Runtime.from_policy(toml)
    assert (rt.limits.memory, rt.limits.fuel, rt.limits.timeout) == (16 << 20, 1000, 2.5)
    rt = aegis.Runtime.from_policy('{"fuel_limit": "off", "timeout": 1}')
    assert (rt.limits.fuel, rt.limits.timeout) == (None, 1.0)
    path = tmp_path / "policy.toml"
    path.write_text(toml)
    rt = aegis.Runtime.from_policy(path, timeout=2, fuel_limit=None)
    assert (rt.limits.memory, rt.limits.fuel, rt.limits.timeout) == (16 << 20, None, 2.0)
    json_path = tmp_path / "policy.json"
    json_path.write_text('{"memory_limit": 1048576}')
    assert aegis.Runtime.from_policy(json_path).limits.memory == 1 << 20
    rt = aegis.Runtime.from_policy(toml)
    with rt.sandbox(rt.load_wat(CORE_WAT)) as sb:
        assert sb.call("add", 1, 2) == 3
        assert sb.limits.fuel == 1000


def test_from_policy_errors(tmp_path):
    with pytest.raises(aegis.InvalidArgumentError, match="unknown field `memory_limt`"):
        aegis.Runtime.from_policy("memory_limt = 5")
    with pytest.raises(aegis.InvalidArgumentError, match="unknown field"):
        aegis.Runtime.from_policy('{"nope": 1}')
    with pytest.raises(aegis.InvalidArgumentError, match="unknown field `nope`"):
        aegis.Runtime.from_policy("", nope=1)
    with pytest.raises(aegis.InvalidArgumentError, match="allow_logging and capture_output"):
        aegis.Runtime.from_policy("allow_logging = true", capture_output=True)
    with pytest.raises(aegis.AegisIOError, match="missing.toml"):
        aegis.Runtime.from_policy(tmp_path / "missing.toml")
    with pytest.raises(TypeError):
        aegis.Runtime.from_policy(b"fuel_limit = 1")


def test_sandbox_cannot_enable_what_the_engine_lacks():
    rt = aegis.Runtime(fuel_limit=None, timeout=None)
    with pytest.raises(aegis.InvalidArgumentError, match="fuel"):
        rt.sandbox(fuel_limit=10)
    with pytest.raises(aegis.InvalidArgumentError, match="timeout"):
        rt.sandbox(timeout=1)


def test_load_bytes_file_and_wat(runtime, tmp_path):
    wat_path = tmp_path / "m.wat"
    wat_path.write_text(CORE_WAT)
    for module in (
        runtime.load_wat(CORE_WAT),
        runtime.load_bytes(CORE_WAT.encode()),
        runtime.load_bytes(bytearray(CORE_WAT.encode())),
        runtime.load_file(wat_path),
        runtime.load_file(str(wat_path)),
    ):
        assert "add" in module.function_names
        assert not module.is_component


def test_load_errors(runtime, tmp_path):
    with pytest.raises(aegis.InvalidModuleError) as info:
        runtime.load_bytes(b"\0asm\x01\0\0\0garbage")
    assert info.value.code == "invalid_module"
    with pytest.raises(aegis.InvalidModuleError):
        runtime.load_wat("(module (func (export \"f\") (result i32)))")
    with pytest.raises(aegis.InvalidModuleError):
        runtime.load_bytes(b"")
    with pytest.raises(aegis.AegisIOError) as info:
        runtime.load_file(tmp_path / "missing.wasm")
    assert info.value.code == "io"
    assert "missing.wasm" in info.value.message
    with pytest.raises(TypeError):
        runtime.load_bytes("a str is not bytes")


def test_validate(runtime):
    good = CORE_WAT.encode()
    assert aegis.validate(good) is None
    assert runtime.validate(good) is None
    assert aegis.validate(memoryview(good)) is None
    for bad in (b"", b"\0asm\x01\0\0\0\xff", b"(module (func (result i32)))"):
        with pytest.raises(aegis.InvalidModuleError):
            aegis.validate(bad)
        with pytest.raises(aegis.InvalidModuleError):
            runtime.validate(bad)


def test_exports_with_types(core_module):
    exports = {e.name: e for e in core_module.exports}
    add = exports["add"]
    assert add.kind == "function"
    assert isinstance(add.type, aegis.FuncType)
    assert add.type.params == ["i32", "i32"]
    assert add.type.results == ["i32"]
    assert str(add) == "add [function]: (i32, i32) -> (i32)"
    assert str(add.type) == "(i32, i32) -> (i32)"
    assert exports["swap"].type.results == ["i64", "i32"]
    memory = exports["memory"]
    assert memory.kind == "memory"
    assert isinstance(memory.type, aegis.MemoryType)
    assert (memory.type.minimum, memory.type.maximum) == (1, None)
    assert not memory.type.memory64 and not memory.type.shared
    answer = exports["answer"]
    assert isinstance(answer.type, aegis.GlobalType)
    assert (answer.type.content, answer.type.mutable) == ("i64", False)
    table = exports["table"]
    assert isinstance(table.type, aegis.TableType)
    assert (table.type.element, table.type.minimum) == ("funcref", 2)
    assert core_module.export("add").name == "add"
    assert core_module.export("nope") is None
    assert "add" in repr(core_module)


def test_imports_with_types(runtime):
    module = runtime.load_wat(HOST_WAT)
    imports = {(i.module, i.name): i for i in module.imports}
    log = imports[("env", "log")]
    assert log.kind == "function"
    assert log.type == aegis.FuncType(["i32", "i32"], [])
    assert str(log) == "env.log [function]: (i32, i32) -> ()"
    assert imports[("env", "offset")].type.results == ["i32"]


def test_functype_rejects_unknown_types():
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.FuncType(["i8"], [])
