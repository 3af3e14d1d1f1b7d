#!/usr/bin/env bash
# Python bindings: install the release wheel (target/dist/python, built by
# scripts/dist-python.sh if missing) into a fresh virtualenv the way a user
# without Rust would, then run the pytest suite against the installed package.
#
# The venv (target/py-venv) is recreated on every run. Everything installed
# into it is a prebuilt wheel (`--only-binary :all:`), under a PATH without
# cargo or rustc (checked), so nothing can be compiled from source. The tests
# import `aegis` from the venv's site-packages, never from bindings-python/python
# (test_package.py checks, given AEGIS_PYTHON_WHEEL).
# Usage: bash scripts/test-python.sh [pytest args...]   (run by scripts/test.sh)
#        bash scripts/test-python.sh --setup-only        (venv only: scripts/docs-python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

PYTHON="${PYTHON:-python3}"
VENV="target/py-venv"
setup_only=false
if [ "${1:-}" = "--setup-only" ]; then
    setup_only=true
    shift
fi

shopt -s nullglob
wheels=(target/dist/python/aegis_wasm_sandbox-*.whl)
if [ "${#wheels[@]}" -eq 0 ]; then
    echo "--> no wheel in target/dist/python: scripts/dist-python.sh"
    bash scripts/dist-python.sh
    wheels=(target/dist/python/aegis_wasm_sandbox-*.whl)
fi
if [ "${#wheels[@]}" -ne 1 ]; then
    echo "expected one wheel in target/dist/python, found: ${wheels[*]:-none}" >&2
    exit 1
fi
wheel="$ROOT/${wheels[0]}"
echo "--> wheel: ${wheels[0]} (built $(date -r "$wheel" '+%Y-%m-%d %H:%M:%S'))"

echo "--> fresh venv $VENV"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
VENV="$ROOT/$VENV"

# PATH without any directory holding cargo or rustc (~/.cargo/bin, a
# toolchain's bin, ...): the venv's bin first, then the rest of PATH.
clean_path="$VENV/bin"
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [ -n "$dir" ] || continue
    if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ] || [ -e "$dir/rustup" ]; then
        continue
    fi
    clean_path="$clean_path:$dir"
done
in_venv() {
    env -u CARGO -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u RUSTC \
        PATH="$clean_path" VIRTUAL_ENV="$VENV" AEGIS_PYTHON_WHEEL="$wheel" "$@"
}
if in_venv sh -c 'command -v cargo || command -v rustc'; then
    echo "cargo or rustc is still on the venv's PATH" >&2
    exit 1
fi
echo "    no cargo or rustc on PATH"

echo "--> pip install the wheel, pytest, mypy and pdoc (prebuilt wheels only)"
in_venv python -m pip install --quiet --disable-pip-version-check --only-binary :all: \
    "$wheel" "pytest>=7" "mypy>=1.10" "pdoc>=15,<17"
in_venv python -c 'import aegis, importlib.metadata as m; v = m.version("aegis-wasm-sandbox"); print(f"    aegis-wasm-sandbox {v}: import aegis from {aegis.__file__}")'

if $setup_only; then
    exit 0
fi

echo "--> pytest bindings-python/tests (against the installed wheel)"
in_venv python -m pytest bindings-python/tests -q -p no:cacheprovider "$@"
