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
    rt = aegis.Runtime(
        memory_limit=8 * 1024 * 1024,
        fuel_limit=1_000_000,
        timeout=datetime.timedelta(seconds=2),
        stack_limit=256 * 1024,
        table_elements_limit=1000,
        allow_read=[str(tmp_path)],
        allow_write=[tmp_path],
        map_dirs=[(tmp_path, "/data", "read")],
        capture_output=4096,
        allow_clock=True,
        env={"A": "1"},
        args=["prog", "x"],
        allow_net=["127.0.0.1:8080", "10.0.0.0/8:443"],
        random_seed=7,
    )
    with rt.sandbox(rt.load_wat(CORE_WAT), allow_logging=False) as sb:
        assert sb.call("add", 2, 2) == 4


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="memory_limt"):
        aegis.Runtime(memory_limt=1)


def test_stack_limit_is_runtime_only(runtime):
    with pytest.raises(TypeError, match="engine-wide"):
        runtime.sandbox(stack_limit=65536)


def test_bad_option_values_raise_typed_errors():
    with pytest.raises(aegis.InvalidArgumentError) as info:
        aegis.Runtime(stack_limit=100)
    assert info.value.code == "invalid_argument"
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.Runtime(timeout=0)
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.Runtime(timeout=-1)
    with pytest.raises(aegis.InvalidArgumentError, match="network rule"):
        aegis.Runtime(allow_net=["not a rule"])
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.Runtime(map_dirs=[("/tmp", "/t", "execute")])
    with pytest.raises(aegis.InvalidArgumentError):
        aegis.Runtime(allow_logging=True, capture_output=True)
    with pytest.raises(OverflowError):
        aegis.Runtime(memory_limit=-1)
    with pytest.raises(TypeError):
        aegis.Runtime(env=["A=1"])
    with pytest.raises(TypeError):
        aegis.Runtime(args="prog")


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
