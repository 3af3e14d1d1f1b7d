#!/usr/bin/env bash
# The one benchmark command: Aegis side by side with its peers, measured in
# one run, written to BENCHMARKS.md (tables, ratios, targets, machine, versions).
#
#   ./scripts/bench.sh           full run (release builds; ~20-40 min on 2 cores)
#   ./scripts/bench.sh --quick   fewer samples, to check the script itself
#
# Installs what it needs: hyperfine (apt), the wasmtime CLI 48.0.8 (cargo
# install into /opt/wasmtime-cli; item 5's peer is skipped with a note if that
# fails), wasmtime-py and extism (PyPI, private venv target/bench-venv) and
# @extism/extism (npm, target/bench-node). Raw results land in target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-setup.sh "$@"

log "real programs (built from source: tests/guests/programs)"
./scripts/build-programs.sh >&2

log "1-4 Rust: criterion (aegis-core/benches/sandbox.rs)"
rm -rf target/criterion/{fresh_sandbox,fresh_program,call,host_callback,cpu_heavy}
crit=()
[ -n "$quick" ] && crit=(--warm-up-time 1 --measurement-time 2)
cargo bench -q -p aegis-wasm-sandbox --bench sandbox -- --noplot "${crit[@]}" >&2

log "2 where a Rust call's time goes (perf, self time per symbol)"
bench_bin=$(ls -t target/release/deps/sandbox-* | grep -v '\.d$' | head -1)
if command -v perf >/dev/null || { apt-get install -y -qq linux-perf >/dev/null 2>&1 && command -v perf >/dev/null; }; then
    perf record -q -e cpu-clock -F 10000 -o "$out/perf-call.data" \
        "$bench_bin" --bench --profile-time 5 "call/aegis_typed_handle" >/dev/null 2>&1 || true
    perf report -i "$out/perf-call.data" --no-children --stdio --sort sym 2>/dev/null |
        grep -E '^ +[0-9]' | grep -v -E 'regalloc2|cranelift|criterion' | head -14 |
        sed -E 's/ +/ /g; s/^ //' >"$out/perf-call.txt" || true
else
    echo "perf unavailable: no profile for the call path" >"$out/perf-call.txt"
fi

log "6-7 density and throughput (aegis-core/benches/{density,throughput}.rs)"
cargo bench -q -p aegis-wasm-sandbox --bench density -- $quick >&2
cargo bench -q -p aegis-wasm-sandbox --bench throughput -- $quick >&2

log "8 real programs (scripts/bench-programs.sh)"
./scripts/bench-programs.sh $quick >&2

log "2, 3, 6 C"
"$out/bench_calls" $quick >"$out/c.json"
log "4 native C"
"$out/bench_cpu_native" $quick >"$out/native.json"
log "2, 3, 6 Python"
"$VENV/bin/python" bindings-python/benches/bench_calls.py $quick >"$out/python.json"
log "2, 3 Node"
NAPI_RS_NATIVE_LIBRARY_PATH="$root/target/bench-node/aegis.node" \
    node --no-warnings bindings-node/benches/bench_calls.js "$out/wasm" $quick >"$out/node.json"

log "5 CLI start (hyperfine)"
WASMTIME="${WASMTIME:-/opt/wasmtime-cli/bin/wasmtime}"
# An install already under way (same command) is awaited rather than raced.
while [ ! -x "$WASMTIME" ] && pgrep -f "cargo install wasmtime-cli" >/dev/null; do sleep 15; done
if [ ! -x "$WASMTIME" ]; then
    cargo install wasmtime-cli --version 48.0.8 --locked --root /opt/wasmtime-cli >&2 || true
fi
[ -x "$WASMTIME" ] || { echo "wasmtime CLI unavailable: item 5 runs without its peer" >&2; WASMTIME=""; }
runs=(--warmup 3 --min-runs 30)
[ -n "$quick" ] && runs=(--warmup 1 --runs 5)
aegis_cache="$(mktemp -d)/aegis"
"$root/target/release/aegis" compile "$root/target/guests/out/cpu.wasm" --cache-dir "$aegis_cache" >&2
cmds=("$root/target/release/aegis run $root/target/guests/out/cpu.wasm --no-cache --allow-logging -- 1024"
    "$root/target/release/aegis run $root/target/guests/out/cpu.wasm --cache-dir $aegis_cache --allow-logging -- 1024")
names=(aegis-cold aegis-warm)
if [ -n "$WASMTIME" ]; then
    cache_dir="$(mktemp -d)"
    printf '[cache]\ndirectory = "%s"\n' "$cache_dir" >"$out/wasmtime-cache.toml"
    cmds+=("$WASMTIME run -C cache=n $root/target/guests/out/cpu.wasm 1024"
        "$WASMTIME run -C cache-config=$out/wasmtime-cache.toml $root/target/guests/out/cpu.wasm 1024")
    names+=(wasmtime-cold wasmtime-warm)
fi
hf=()
for i in "${!cmds[@]}"; do hf+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N "${runs[@]}" --export-json "$out/cli.json" "${hf[@]}" >&2
[ -n "${cache_dir:-}" ] && rm -rf "$cache_dir"
rm -rf "$(dirname "$aegis_cache")"

log "versions and machine"
{
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_total_gib=$(free -g | awk '/^Mem:/ {print $2}')"
    echo "mem_free_gib=$(free -g | awk '/^Mem:/ {print $4}')"
    echo "kernel=$(uname -r)"
    echo "rustc=$(rustc --version)"
    echo "gcc=$(gcc --version | head -1)"
    echo "hyperfine=$(hyperfine --version)"
    echo "wasmtime_cli=$([ -n "$WASMTIME" ] && "$WASMTIME" --version || echo unavailable)"
    echo "wasmtime_crate=$(grep -A1 '^name = "wasmtime"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | head -1)"
    echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "quick=${quick:-no}"
} >"$out/machine.env"

log "BENCHMARKS.md"
"$VENV/bin/python" scripts/bench_report.py "$out" >BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
