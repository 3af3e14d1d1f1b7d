#!/usr/bin/env bash
# Builds the real programs of tests/guests/programs/ (Rust, wasm32-wasip1 WASI commands:
# deflate, regex, markdown, sha256, sort, json, interp) into target/guests/out/programs/<name>.wasm,
# for load-time measurements and benchmark workloads. Each takes an optional size in argv[1].
# Installs the rustup target if it is missing; prints the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/guests/out/programs
mkdir -p "$out"

rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

manifest=tests/guests/programs/Cargo.toml
cargo build --quiet --release --locked --manifest-path "$manifest" \
    --target wasm32-wasip1 --target-dir target/guests --bins

names=()
for src in tests/guests/programs/src/bin/*.rs; do
    name=$(basename "$src" .rs)
    cp target/guests/wasm32-wasip1/release/"$name".wasm "$out/$name.wasm"
    names+=("$name")
done
echo "programs built in $out:$(for n in "${names[@]}"; do
    printf ' %s=%sK' "$n" $(( $(stat -c %s "$out/$n.wasm") / 1024 ))
done)"
