"""The README's Python examples, executed verbatim and type-checked with
``mypy --strict`` against the installed package's stubs."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def python_blocks():
    text = README.read_text(encoding="utf-8")
    section = re.search(r"<!-- section:python -->(.*?)<!-- /section:python -->", text, re.S)
    assert section, "README has no python section"
    blocks = re.findall(r"```python\n(.*?)```", section.group(1), re.S)
    assert blocks, "README's python section has no ```python block"
    return blocks


def test_readme_python_examples_run(capsys, monkeypatch):
    # The examples name guests by their path from the repository root.
    monkeypatch.chdir(ROOT)
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "fuel used" in out
    assert "interrupted after 0.1 s" in out
    assert "timed out after 0.1 s (limit 0.1 s)" in out
    # Exchanging data.
    lines = out.splitlines()
    assert "Hello, Python!" in lines
    assert "greet [function]: func(name: string) -> string" in lines
    assert "{'err': 'division by zero'}" in lines
    assert "WIT" in lines
    assert "QUIET" in lines
    assert "guest says: hello" in lines
    # asyncio.
    assert "sum: 5" in lines
    assert "cancelled after 0.1 s; the sandbox is free: 2" in lines
    # stdin.
    assert "b'hello, stdin\\n'" in lines


def test_readme_python_examples_pass_mypy_strict(tmp_path):
    # Each block is checked on its own, as a user would paste it.
    files = []
    for i, block in enumerate(python_blocks()):
        path = tmp_path / f"readme_example_{i}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), *files],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
