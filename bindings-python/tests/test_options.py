"""Parity with the core's one list of options (`aegis.OPTIONS`): every option
is accepted where its scope says, typed in the stubs, and in the README's table."""

import ast
import pathlib
import re

import pytest

import aegis

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = pathlib.Path(aegis.__file__).resolve().parent / "_aegis.pyi"
NAMES = [o["name"] for o in aegis.OPTIONS]
BOTH = [o["name"] for o in aegis.OPTIONS if o["scope"] == "both"]


def sample(name, tmp_path):
    """A valid Python value for each option (a new option must be added here)."""
    return {
        "memory_limit": "8MiB",
        "fuel_limit": None,
        "timeout": 1.5,
        "stack_limit": 256 * 1024,
        "table_elements_limit": 1000,
        "handle_limit": 64,
        "result_limit": "1MiB",
        "allow_read": [tmp_path],
        "allow_write": (str(tmp_path),),
        "map_dirs": [{"host": tmp_path, "guest": "/data", "access": "write"}],
        "allow_logging": False,
        "capture_output": True,
        "allow_clock": True,
        "allow_net": ["127.0.0.1:8080"],
        "env": {"A": "1"},
        "args": ["prog"],
        "random_seed": 7,
        "on_denied": "error",
        "stdin": b"input",
        "instance_pool": 2,
        "compile_cache": tmp_path / "cache",
        "max_module_size": "1MiB",
        "module_limits": {"functions": 100},
        "wasm_exceptions": True,
        "wasm_gc": False,
        "allowed_modules": ["sha256:" + "a" * 64],
    }[name]


def test_options_come_from_the_core():
    assert NAMES and len(NAMES) == len(set(NAMES))
    for option in aegis.OPTIONS:
        assert set(option) == {"name", "doc", "default", "unit", "scope"}
        assert option["scope"] in ("both", "runtime")
        assert option["doc"] and option["unit"] and option["default"]
    assert {"memory_limit", "fuel_limit", "timeout", "stack_limit"} <= set(NAMES)
    assert "stack_limit" not in BOTH


@pytest.mark.parametrize("name", NAMES)
def test_every_option_is_accepted_where_its_scope_says(name, tmp_path):
    value = sample(name, tmp_path)
    runtime = aegis.Runtime(**{name: value})
    if name in BOTH:
        runtime.sandbox(**{name: value}).close()
    else:
        with pytest.raises(aegis.InvalidArgumentError, match=f"{name} is a runtime option"):
            runtime.sandbox(**{name: value})


def _keyword_only(function):
    return [a.arg for a in function.args.kwonlyargs]


def test_every_option_is_in_the_stub_signatures():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    runtime = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Runtime")
    methods = {n.name: n for n in runtime.body if isinstance(n, ast.FunctionDef)}
    assert _keyword_only(methods["__new__"]) == NAMES
    assert _keyword_only(methods["sandbox"]) == BOTH


def test_every_option_is_in_the_readme_table():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- options:begin -->(.*?)<!-- options:end -->", text, re.S)
    assert table, "README has no options table"
    rows = {}
    for line in table.group(1).splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert list(rows) == NAMES
    for option in aegis.OPTIONS:
        _, scope, default, *_ = rows[option["name"]]
        assert (scope, default) == (option["scope"], option["default"]), option["name"]
    # The Python section points at that table rather than keeping its own list.
    python = re.search(r"<!-- section:python -->(.*?)<!-- /section:python -->", text, re.S)
    assert python and "(#options-and-policy-files)" in python.group(1)
