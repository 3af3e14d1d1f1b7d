"""Packaging: docstrings on every public item, stubs in sync with the extension."""

import importlib.util
import inspect
import pathlib
import subprocess
import sys

import pytest

import aegis

PACKAGE = pathlib.Path(aegis.__file__).resolve().parent


def test_every_public_item_has_a_docstring():
    missing = []
    for name in aegis.__all__:
        obj = getattr(aegis, name)
        if name.startswith("__"):
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if not (getattr(member, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_typing_files_ship_with_the_package():
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_aegis.pyi").exists()


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_stubs_match_the_extension(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "aegis._aegis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_package_type_checks_strictly(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), str(PACKAGE)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
