#!/usr/bin/env bash
# Python artifact: the abi3 (CPython >= 3.9) manylinux wheel of
# bindings-python, built by maturin in cargo's release profile into
# target/dist/python/aegis_wasm_sandbox-<version>-cp39-abi3-manylinux_<glibc>_x86_64.whl.
#
# maturin runs `cargo rustc --release` on the workspace (same profile,
# features and target as every other release build, so wasmtime compiles once
# per profile) and prints cargo's progress. It then checks the extension
# against the manylinux policies (its built-in auditwheel): `--compatibility
# pypi` refuses a plain `linux` tag, `--auditwheel check` refuses a wheel that
# would need shared libraries bundled. The tag is the lowest manylinux policy
# whose glibc symbol versions cover the extension's: the host's glibc decides
# (see the summary printed at the end). Idempotent: a rerun replaces the wheel.
# Usage: bash scripts/dist-python.sh   (run by scripts/dist.sh; by
# scripts/test-python.sh when the wheel is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
BUILD_VENV="target/py-build"
OUT="target/dist/python"

if [ ! -x "$BUILD_VENV/bin/maturin" ]; then
    echo "--> build venv $BUILD_VENV (maturin)"
    rm -rf "$BUILD_VENV"
    "$PYTHON" -m venv "$BUILD_VENV"
    "$BUILD_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2"
fi

# A stale extension left in the source tree by an old `maturin develop`
# would be importable from bindings-python/python; the wheel is the only
# build of the extension now.
rm -f bindings-python/python/aegis/_aegis*.so
mkdir -p "$OUT"
rm -f "$OUT"/aegis_wasm_sandbox-*.whl

echo "--> maturin build --release (cargo release profile; the first build compiles wasmtime: several minutes)"
start=$(date +%s)
"$BUILD_VENV/bin/maturin" build --release \
    --manifest-path bindings-python/Cargo.toml \
    --out "$OUT" \
    --compatibility pypi \
    --auditwheel check \
    --strip
elapsed=$(( $(date +%s) - start ))

shopt -s nullglob
wheels=("$OUT"/aegis_wasm_sandbox-*-cp39-abi3-manylinux*_x86_64.whl "$OUT"/aegis_wasm_sandbox-*-cp39-abi3-manylinux*_aarch64.whl)
if [ "${#wheels[@]}" -ne 1 ]; then
    echo "expected one abi3 manylinux wheel in $OUT, found:" >&2
    ls -l "$OUT" >&2
    exit 1
fi
wheel="${wheels[0]}"

# The wheel carries the typing files and nothing from outside the package.
"$BUILD_VENV/bin/python" - "$wheel" <<'PY'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
needed = {"aegis/__init__.py", "aegis/errors.py", "aegis/_aio.py", "aegis/py.typed",
          "aegis/_aegis.pyi", "aegis/_aegis.abi3.so"}
missing = sorted(needed - names)
if missing:
    sys.exit(f"{sys.argv[1]} lacks {missing}")
outside = sorted(n for n in names if not n.startswith(("aegis/", "aegis_wasm_sandbox-")))
if outside:
    sys.exit(f"{sys.argv[1]} has files outside the package: {outside}")
PY

tag="${wheel##*-abi3-}"
tag="${tag%.whl}"
echo "--> $wheel ($(du -k "$wheel" | cut -f1) KiB, built in ${elapsed}s)"
echo "    platform tag: $tag"
if command -v objdump >/dev/null; then
    newest=$("$BUILD_VENV/bin/python" - "$wheel" <<'PY'
import re
import subprocess
import sys
import tempfile
import zipfile

with tempfile.TemporaryDirectory() as tmp:
    so = zipfile.ZipFile(sys.argv[1]).extract("aegis/_aegis.abi3.so", tmp)
    symbols = subprocess.run(["objdump", "-T", so], capture_output=True, text=True, check=True).stdout
versions = {}
for line in symbols.splitlines():
    m = re.search(r"\(GLIBC_([0-9.]+)\)\s+(\S+)$", line)
    if m:
        versions.setdefault(tuple(int(p) for p in m.group(1).split(".")), []).append(m.group(2))
top = max(versions)
print(f"GLIBC_{'.'.join(map(str, top))} ({', '.join(sorted(versions[top])[:4])}, ...)")
PY
)
    echo "    why: the newest glibc symbol version it needs is $newest, from the build host's glibc"
fi
