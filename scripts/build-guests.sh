#!/usr/bin/env bash
# Builds the compiled test guests into target/guests/out/ (sources in tests/guests/):
#   probe-p1.wasm   Rust, wasm32-wasip1 (core module, WASI preview 1)
#   probe-p2.wasm   Rust, wasm32-wasip2 (WASI 0.2 component, wasi:sockets)
#   <name>.wasm     every tests/guests/{c,bench}/<name>.c, C with wasi-libc
#   values.wasm     Rust + wit-bindgen, wasm32-wasip2 component: every WIT type
#   plugin.wasm     Rust + wit-bindgen, wasm32-wasip2 component: calls host imports
#                   (both from tests/guests/components, WIT package aegis:test)
#   bytes-rust.wasm examples/guest-rust, wasm32-wasip1: the bytes convention in Rust
#   bytes-c.wasm    examples/guest-c/bytes.c, a wasi-libc reactor: the same in C
# Installs what is missing: the rustup targets, and clang/lld/wasi-libc from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/guests/out
mkdir -p "$out"

installed_targets=$(rustup target list --installed)
for t in wasm32-wasip1 wasm32-wasip2; do
    grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done

if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null || [ ! -e /usr/lib/wasm32-wasi/libc.a ] \
    || ! ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq clang lld wasi-libc libclang-rt-14-dev-wasm32 >/dev/null
fi

cargo build --quiet --release --manifest-path tests/guests/probe/Cargo.toml \
    --target wasm32-wasip1 --target wasm32-wasip2 --target-dir target/guests
cp target/guests/wasm32-wasip1/release/probe.wasm "$out/probe-p1.wasm"
cp target/guests/wasm32-wasip2/release/probe.wasm "$out/probe-p2.wasm"

for src in tests/guests/c/*.c tests/guests/bench/*.c; do
    name=$(basename "$src" .c)
    clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror -o "$out/$name.wasm" "$src"
done

# Component guests (typed calls with WIT values).
cargo build --quiet --release --manifest-path tests/guests/components/Cargo.toml \
    --target wasm32-wasip2 --target-dir target/guests
for name in values plugin; do
    cp "target/guests/wasm32-wasip2/release/$name.wasm" "$out/$name.wasm"
done

# The bytes-convention examples users copy.
cargo build --quiet --release --manifest-path examples/guest-rust/Cargo.toml \
    --target wasm32-wasip1 --target-dir target/guests
cp target/guests/wasm32-wasip1/release/aegis_guest_example.wasm "$out/bytes-rust.wasm"
clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wall -Wextra -Werror \
    -o "$out/bytes-c.wasm" examples/guest-c/bytes.c
echo "guests built in $out: $(ls "$out" | tr '\n' ' ')"

# Real programs (a JavaScript interpreter among them), for the load tests.
./scripts/build-programs.sh
