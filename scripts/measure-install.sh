#!/usr/bin/env bash
# Measures, in one run, how long installing each prebuilt artifact takes and
# how much it puts on disk, next to the peers installed from their registries
# (wasmtime-py and extism from PyPI, @extism/extism from npm). Needs the
# artifacts (./scripts/dist.sh) and network access to PyPI and npm; not part
# of the test command. Prints a Markdown table.
# Usage: ./scripts/measure-install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$(mktemp -d /tmp/aegis-install.XXXXXX)"
trap 'rm -rf "$work"' EXIT
PYTHON="${PYTHON:-python3}"
nocargo="/usr/bin:/bin"   # no cargo or rustc on PATH while installing

wheel="$(ls target/dist/python/aegis_wasm_sandbox-*.whl)"
node_main="$(ls target/dist/node/aegis-wasm-sandbox-[0-9]*.tgz)"
node_platform="$(ls target/dist/node/aegis-wasm-sandbox-linux-x64-gnu-*.tgz)"
clib="$(ls target/dist/c/libaegis-*.tar.gz)"

# Seconds (one decimal) that "$@" takes.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'
}
size() { du -sh --apparent-size "$@" | awk '{print $1}' | paste -sd+; }
row() { printf '| %s | %s s | %s | %s |\n' "$@"; }

echo "| what | install time | artifact size | installed size |"
echo "|---|---|---|---|"

py() {   # py NAME SPEC... : a fresh venv, then pip install SPEC with no cache
    local name="$1"; shift
    "$PYTHON" -m venv "$work/$name"
    local t
    t=$(PATH="$work/$name/bin:$nocargo" seconds "$work/$name/bin/pip" install --no-cache-dir \
        --disable-pip-version-check -q "$@")
    local site
    site=$("$work/$name/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$t" "$site"
}
read -r t site < <(py aegis "$wheel")
row "Python: aegis-wasm-sandbox wheel (local file)" "$t" "$(size "$wheel")" "$(size "$site"/aegis)"
read -r t site < <(py wasmtime wasmtime)
row "Python: wasmtime (PyPI)" "$t" "-" "$(size "$site"/wasmtime)"
read -r t site < <(py extism extism)
row "Python: extism (PyPI, with its deps)" "$t" "-" "$(size "$site"/extism* "$site"/wasmtime 2>/dev/null || true)"

npmi() {   # npmi NAME SPEC... : a fresh directory and npm cache
    local dir="$work/npm-$1"; shift
    mkdir -p "$dir" && (cd "$dir" && npm init -y >/dev/null)
    local t
    t=$(cd "$dir" && PATH="$(dirname "$(command -v node)"):$nocargo" seconds npm install \
        --no-audit --no-fund --cache "$dir/.npm-cache" "$@")
    echo "$t" "$dir/node_modules"
}
read -r t mods < <(npmi aegis "aegis@file:$root/$node_main" "$root/$node_platform")
row "Node: aegis-wasm-sandbox tarballs (local files)" "$t" "$(size "$node_main" "$node_platform")" "$(size "$mods")"
read -r t mods < <(npmi extism @extism/extism)
row "Node: @extism/extism (npm)" "$t" "-" "$(size "$mods")"

mkdir -p "$work/c"
t=$(PATH="$nocargo" seconds bash -c "cd '$work/c' && tar xzf '$root/$clib' && ./libaegis-*/install.sh --prefix '$work/c/prefix'")
row "C: libaegis tarball, extract + install.sh" "$t" "$(size "$clib")" "$(size "$work/c/prefix")"
