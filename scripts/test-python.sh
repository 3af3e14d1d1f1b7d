#!/usr/bin/env bash
# Python bindings: build `aegis` into a virtualenv with maturin (dev profile,
# reusing the workspace's compiled dependencies), then run the pytest suite.
# Usage: ./scripts/test-python.sh   (run by ./scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="target/py-venv"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "pytest>=7" "mypy>=1.10"

# `maturin develop` installs the package in editable form into the venv.
VIRTUAL_ENV="$PWD/$VENV" PATH="$PWD/$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop --manifest-path bindings-python/Cargo.toml --quiet

"$VENV/bin/python" -m pytest bindings-python/tests -q "$@"
