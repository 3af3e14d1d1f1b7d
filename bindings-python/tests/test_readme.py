"""The README's Python examples, executed verbatim."""

import pathlib
import re

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
