#!/usr/bin/env bash
# Real programs (issue 17): every program of tests/guests/programs, built
# from source to wasm32-wasip1, run as a WASI command under Aegis's default
# runtime, Aegis without fuel, and raw wasmtime 48 with no limits, with
# Aegis's limits (fuel, epochs, 64 MiB reservation), and with each of those
# limits taken away in turn; measured interleaved in one run
# (aegis-core/benches/programs.rs).
#
#   ./scripts/bench-programs.sh [--quick] [NAME...]
#
# --quick: 5 rounds instead of 21. NAME...: only these programs. Writes
# target/bench/programs.json; scripts/bench_report_programs.py turns it into
# the BENCHMARKS.md section (scripts/perf-programs.sh adds the profile).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-programs.sh >&2
mkdir -p target/bench
cargo bench -q -p aegis-wasm-sandbox --bench programs -- --out "$PWD/target/bench/programs.json" "$@" >&2
