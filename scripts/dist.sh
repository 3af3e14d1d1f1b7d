#!/usr/bin/env bash
# Builds every distributable artifact into target/dist/, in cargo's release
# profile, compiling wasmtime once for all of them:
#   target/dist/c/libaegis-<v>-x86_64-linux-gnu.tar.gz   (scripts/dist-c.sh)
#   target/dist/python/aegis_wasm_sandbox-<v>-cp39-abi3-manylinux_*.whl   (scripts/dist-python.sh)
#   target/dist/node/aegis-wasm-sandbox-<v>.tgz and the linux-x64-gnu platform package   (scripts/dist-node.sh)
#   target/package/*.crate   (cargo package: the crates published on crates.io)
# Each front-end's suite (scripts/test-<x>.sh) installs and tests its artifact.
# Usage: ./scripts/dist.sh   (run by ./scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n--> %s\n' "$*"; }
timed() {
    local start=$SECONDS
    "$@"
    echo "    ($* took $((SECONDS - start)) s)"
}

# One cargo invocation first: wasmtime and every shared dependency are built
# once in the release profile; each front-end's step below then compiles only
# its own crate (and aegis-core again where the unified features of its
# dependencies differ, e.g. serde_json's). The same package set as
# dist-c.sh's build, so that step finds it done.
step "cargo build --release -p aegis-capi (wasmtime is compiled here, once)"
timed cargo build --release -p aegis-capi

for part in c python node; do
    step "scripts/dist-$part.sh"
    timed bash "scripts/dist-$part.sh"
done

step "cargo package (the crates published on crates.io; a dry run, nothing is uploaded)"
# --no-verify: the packaged sources are the workspace's, which `cargo test`
# already built and tested; verifying would compile wasmtime a third time.
timed cargo package -p aegis-wasm-sandbox -p aegis-wasm-sandbox-cli --allow-dirty --no-verify
ls -l target/dist/*/ target/package/*.crate
