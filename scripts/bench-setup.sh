# Shared by scripts/bench.sh and scripts/bench-data.sh (sourced, from the
# repository root): tools, release builds of every front-end, the peers
# (wasmtime-py, extism, @extism/extism) in private places under target/, the
# C harnesses and the benchmark WATs compiled. Sets root, quick, out, VENV, log.
root="$PWD"
quick=""
[ "${1:-}" = "--quick" ] && quick="--quick"
out="$root/target/bench"
mkdir -p "$out/wasm"
log() { printf '\n==> %s\n' "$*" >&2; }

log "tools"
if ! command -v hyperfine >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
fi
[ -e target/guests/out/cpu.wasm ] || ./scripts/build-guests.sh

log "release builds (aegis CLI, libaegis, Python wheel, Node addon)"
cargo build --release -q -p aegis-wasm-sandbox-cli -p aegis-capi -p aegis-node
mkdir -p target/bench-node
cp target/release/libaegis_node.so target/bench-node/aegis.node
VENV=target/bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "maturin>=1.9.4,<2" wasmtime extism
rm -rf target/bench-wheels
"$VENV/bin/maturin" build --release -q --manifest-path bindings-python/Cargo.toml -o target/bench-wheels >&2
"$VENV/bin/pip" install -q --force-reinstall --no-deps target/bench-wheels/aegis_wasm_sandbox-*.whl
(cd target/bench-node && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
    npm install --no-audit --no-fund --loglevel=error @extism/extism >&2)
# libaegis.so's SONAME is libaegis.so.0: the name the programs will look for.
ln -sf libaegis.so target/release/libaegis.so.0
gcc -O2 -Wall -Wextra -Werror -Iinclude -o "$out/bench_calls" tests/c/bench_calls.c \
    -Ltarget/release -laegis -Wl,-rpath,"$root/target/release"
gcc -O2 -Wall -Wextra -Werror -Iinclude -o "$out/bench_data" tests/c/bench_data.c \
    -Ltarget/release -laegis -Wl,-rpath,"$root/target/release"
gcc -O2 -Wall -Wextra -Werror -o "$out/bench_cpu_native" tests/c/bench_cpu_native.c
"$VENV/bin/python" - "$out/wasm" <<'PY'
import sys
sys.path.insert(0, "bindings-python/benches")
import bench_calls as b, wasmtime
for name, text in [("add", b.ADD), ("callback", b.CALLBACK), ("extism_add", b.EXTISM_ADD),
                   ("extism_callback", b.EXTISM_CALLBACK)]:
    open(f"{sys.argv[1]}/{name}.wasm", "wb").write(bytes(wasmtime.wat2wasm(text)))
echo = open("tests/guests/bench/extism_echo.wat").read()
open(f"{sys.argv[1]}/extism_echo.wasm", "wb").write(bytes(wasmtime.wat2wasm(echo)))
PY

