#!/usr/bin/env bash
# Data round trips (issue 16), every front-end against its closest peer, in
# one run: a 1 KiB and a 1 MiB payload through the bytes convention
# (`echo` of examples/guest-rust) and through a component call (`echo-string`
# of tests/guests/components/values).
#
#   ./scripts/bench-data.sh [--quick]
#
# Rust: criterion (aegis-core/benches/data.rs, vs raw wasmtime); Python:
# bindings-python/benches/bench_data.py (vs extism and wasmtime-py); Node:
# bindings-node/benches/bench_data.js (vs @extism/extism and Node's
# WebAssembly); C: tests/c/bench_data.c. Raw results land in
# target/bench/data/; the table replaces the "data round trips" addendum of
# BENCHMARKS.md (between its markers).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-setup.sh "$@"
data="$out/data"
mkdir -p "$data"

log "Rust: criterion (aegis-core/benches/data.rs)"
rm -rf target/criterion/{bytes_round_trip,component_string}
crit=()
[ -n "$quick" ] && crit=(--warm-up-time 1 --measurement-time 2)
cargo bench -q -p aegis-wasm-sandbox --bench data -- --noplot "${crit[@]}" >&2

log "C"
"$out/bench_data" $quick >"$data/c.json"
log "Python"
"$VENV/bin/python" bindings-python/benches/bench_data.py $quick >"$data/python.json"
log "Node"
NAPI_RS_NATIVE_LIBRARY_PATH="$root/target/bench-node/aegis.node" \
    node --no-warnings bindings-node/benches/bench_data.js "$out/wasm" $quick >"$data/node.json"

log "BENCHMARKS.md"
python3 scripts/bench_data_report.py "$data" target/criterion BENCHMARKS.md
echo "updated BENCHMARKS.md (data round trips)" >&2
