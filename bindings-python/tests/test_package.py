"""Packaging: docstrings on every public item, stubs in sync with the extension."""

import importlib.metadata
import importlib.util
import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

import aegis

PACKAGE = pathlib.Path(aegis.__file__).resolve().parent
ROOT = pathlib.Path(__file__).resolve().parents[2]


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


def test_the_distribution_is_aegis_wasm_sandbox_and_the_import_aegis():
    dist = importlib.metadata.distribution("aegis-wasm-sandbox")
    assert dist.version == aegis.__version__
    files = {str(f) for f in dist.files or []}
    expected = {"aegis/__init__.py", "aegis/errors.py", "aegis/_aio.py", "aegis/py.typed", "aegis/_aegis.pyi"}
    assert expected <= files, files


WHEEL = os.environ.get("AEGIS_PYTHON_WHEEL")


@pytest.mark.skipif(not WHEEL, reason="set by scripts/test-python.sh: the wheel under test")
def test_the_suite_runs_against_the_installed_abi3_manylinux_wheel():
    name = pathlib.Path(WHEEL).name
    m = re.fullmatch(r"aegis_wasm_sandbox-([^-]+)-cp39-abi3-(manylinux_\d+_\d+_x86_64)\.whl", name)
    assert m, name
    assert m.group(1) == aegis.__version__
    # Imported from the venv's site-packages, not from the source tree.
    site = {pathlib.Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    assert any(PACKAGE.is_relative_to(s) for s in site), PACKAGE
    assert "bindings-python" not in PACKAGE.parts
    # Installed from that wheel: its tag is in the installed metadata.
    meta = importlib.metadata.distribution("aegis-wasm-sandbox").read_text("WHEEL") or ""
    assert f"Tag: cp39-abi3-{m.group(2)}" in meta.splitlines(), meta
    # With no Rust toolchain within reach.
    assert shutil.which("cargo") is None and shutil.which("rustc") is None


def test_typing_files_ship_with_the_package():
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_aegis.pyi").exists()
    assert not list((ROOT / "bindings-python" / "python" / "aegis").glob("_aegis*.so")), (
        "a stale extension in the source tree: scripts/dist-python.sh removes it"
    )


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
    # By module name: a path inside site-packages would make mypy take the
    # neighbouring installed modules for user code.
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "-p", "aegis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(not WHEEL, reason="set by scripts/test-python.sh: builds into target/docs/python")
def test_the_api_reference_builds_from_docstrings_and_stubs():
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docs-python.sh")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    page = (ROOT / "target" / "docs" / "python" / "aegis.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    # The signature from the stubs, the docstring from the extension.
    assert "async def call_async( self, name: str, *args:" in text
    assert "Cancelling the awaiting task" in text
    assert "stdin: Union[" in text
    assert "pdoc printed warnings" not in out.stderr
