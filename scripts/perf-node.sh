#!/usr/bin/env bash
# Where a Node call and a Node host callback spend their time: a `perf`
# profile (software event cpu-clock, which works in a VM) of each Aegis row of
# bindings-node/benches/bench_calls.js (`--profile call|func|callback`) with
# the release addon, summarized by layer (V8 and N-API, wasmtime, aegis-core,
# the binding, libc, ...) into target/bench/perf-node.json for
# scripts/bench_report_node.py.
#
#   ./scripts/perf-node.sh          after scripts/bench-setup.sh (release addon
#                                   in target/bench-node, modules in target/bench/wasm)
#
# Each row runs for PERF_SECONDS (default 3). Installs linux-perf if perf is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${PERF_SECONDS:-3}"
work="$PWD/target/bench/perf-node"
mkdir -p "$work"

command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; } >&2

for row in call func callback; do
    echo "perf: Node $row (${secs}s)" >&2
    NAPI_RS_NATIVE_LIBRARY_PATH="$PWD/target/bench-node/aegis.node" \
        perf record -q -e cpu-clock -c 100000 -o "$work/$row.data" -- \
        node --no-warnings bindings-node/benches/bench_calls.js target/bench/wasm --profile "$row" "$secs"
    perf report -i "$work/$row.data" --stdio --no-children --sort dso,sym -t '|' \
        --percent-limit 0 2>/dev/null >"$work/$row.txt"
done
python3 scripts/bench_report_node.py perf-summary "$work" >target/bench/perf-node.json
echo "wrote target/bench/perf-node.json" >&2
