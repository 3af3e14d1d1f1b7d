#!/usr/bin/env bash
# Explains what Aegis's limits cost on real programs with a `perf` profile
# (software event cpu-clock, which works in a VM), and writes the summary to
# target/bench/perf-programs.txt for scripts/bench_report_programs.py.
#
#   ./scripts/perf-programs.sh [PROGRAM...]     default: imgfilter json
#
# Each program runs for PERF_SECONDS (default 5) under Aegis's default
# runtime, raw wasmtime with no limits and raw wasmtime with Aegis's limits
# (aegis-core/benches/programs.rs --profile). The wasmtime runs write a perf
# map, so their samples name wasm functions, and dump their compiled code;
# wasmtime without fuel, without epochs and with the 4 GiB reservation are
# only compiled and dumped, to count what each limit adds to the hot
# functions. Function names come from a copy of the programs built with
# their name section (target/guests-named; the benchmarked binaries are
# stripped, the code is the same). Installs linux-perf if perf is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(imgfilter json)
secs="${PERF_SECONDS:-5}"
work="$PWD/target/bench/perf-programs"
mkdir -p "$work"

command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; } >&2

CARGO_PROFILE_RELEASE_STRIP=debuginfo cargo build --quiet --release --locked \
    --manifest-path tests/guests/programs/Cargo.toml --target wasm32-wasip1 \
    --target-dir target/guests-named --bins
named="$PWD/target/guests-named/wasm32-wasip1/release"

exe=$(cargo bench -q -p aegis-wasm-sandbox --bench programs --no-run --message-format=json |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and m.get("target", {}).get("name") == "programs":
        print(m["executable"])')

for p in "${programs[@]}"; do
    for v in aegis_default wasmtime_no_limits wasmtime_same_limits; do
        map=()
        [ "$v" = aegis_default ] || map=(--perfmap)
        echo "perf: $p under $v (${secs}s)" >&2
        perf record -q -e cpu-clock -c 200000 -k mono -o "$work/$p-$v.data" -- \
            "$exe" --profile "$p" "$v" "$secs" "${map[@]}" --dir "$named" --out "$work/$p-$v.json" \
            >/dev/null
    done
    for v in wasmtime_fuel_off wasmtime_epochs_off wasmtime_4gib_reservation; do
        "$exe" --profile "$p" "$v" 0 --perfmap --dir "$named" --out "$work/$p-$v.json" 2>/dev/null
    done
done
python3 scripts/bench_report_programs.py perf-summary "$work" "${programs[@]}" \
    >target/bench/perf-programs.txt
echo "wrote target/bench/perf-programs.txt" >&2
